"""Ridge and nearest-neighbour baselines on a featurizer's inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import degeneracy as dg
from degeneracy.errors import DegeneracyError
from degeneracy.learning import ThermalMethaneSampler, TrajectoryMethaneSampler, with_targets
from degeneracy.learning.baselines import (
    baseline_errors,
    nearest_neighbour_baseline,
    pooled_features,
    ridge_baseline,
)


def test_pooled_features_sum_centres_and_concatenate_species_in_order():
    rng = np.random.default_rng(0)
    inputs = {"H": rng.normal(size=(5, 4, 3)), "C": rng.normal(size=(5, 1, 2))}
    pooled = pooled_features(inputs)
    assert pooled.shape == (5, 5)
    np.testing.assert_allclose(pooled[:, :2], inputs["C"][:, 0])
    np.testing.assert_allclose(pooled[:, 2:], inputs["H"].sum(axis=1))
    with pytest.raises(DegeneracyError, match="H centres must have shape"):
        pooled_features({"H": np.zeros((5, 3))})
    with pytest.raises(DegeneracyError, match="no features"):
        pooled_features({})


def test_ridge_recovers_a_linear_target_and_not_a_nonlinear_one():
    rng = np.random.default_rng(1)
    x, v = rng.normal(size=(400, 10)), rng.normal(size=(200, 10))
    weights = rng.normal(size=10)
    linear = ridge_baseline(x, x @ weights + 3.0, {"val": (v, v @ weights + 3.0)})
    assert linear["val_rmse"] < 1e-3 and linear["alpha"] <= 1e-2
    curved = ridge_baseline(x, np.sin(3 * x[:, 0]), {"val": (v, np.sin(3 * v[:, 0]))})
    assert curved["val_rmse"] > 0.3


def test_ridge_on_one_distinct_frame_predicts_its_target_without_a_warning():
    """Leave-one-out of one frame divided by zero in sklearn (a RuntimeWarning printed by
    `learn --n-train 1`) and picked α from NaN errors: every α fits the one target."""
    x, v = np.ones((3, 4)), np.arange(8.0).reshape(2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = ridge_baseline(x, np.full(3, 2.5), {"val": (v, np.array([2.5, 3.5]))})
    assert one["alpha"] is None and one["train_rmse"] == 0
    assert one["val_rmse"] == pytest.approx(np.sqrt(0.5))


def test_ridge_leaves_all_copies_of_a_repeated_frame_out():
    """Protocol full repeats the orbit 10×: leave-one-out over copies kept 9 of them in
    the fit and picked the smallest α (memorising). Fitted once with weight 10, the
    objective is 10× that of the distinct frames, so α is exactly 10× theirs and the
    model the same."""
    rng = np.random.default_rng(4)
    x, v = rng.normal(size=(60, 30)), rng.normal(size=(100, 30))
    target = lambda f: f[:, 0] + 0.5 * np.tanh(f[:, 1] * f[:, 2])  # noqa: E731
    y = target(x) + 0.3 * rng.normal(size=60)
    distinct = ridge_baseline(x, y, {"val": (v, target(v))})
    repeated = ridge_baseline(np.repeat(x, 10, axis=0), np.repeat(y, 10), {"val": (v, target(v))})
    assert 1e-6 < distinct["alpha"] < 1e3
    assert repeated["alpha"] == pytest.approx(10 * distinct["alpha"])
    assert repeated["val_rmse"] == pytest.approx(distinct["val_rmse"], rel=1e-9)
    assert repeated["train_rmse"] == pytest.approx(distinct["train_rmse"], rel=1e-9)
    # equal features with different targets (a degenerate pair) stay two frames
    twins = ridge_baseline(np.vstack([x, x[:1]]), np.append(y, y[0] + 1.0), {})
    assert twins["train_rmse"] > 0


def test_linear_atomic_sum_target_is_exact_for_ridge_on_pooled_features():
    rng = np.random.default_rng(2)
    w = {"C": rng.normal(size=3), "H": rng.normal(size=4)}

    def sample(n):
        inputs = {"C": rng.normal(size=(n, 1, 3)), "H": rng.normal(size=(n, 4, 4))}
        target = sum(np.einsum("nad,d->n", inputs[s], w[s]) for s in inputs)
        return inputs, target

    train, val = sample(300), sample(100)
    errors = baseline_errors(
        *train,
        {"val": val, "empty": ({"C": np.zeros((0, 1, 3)), "H": np.zeros((0, 4, 4))}, np.zeros(0))},
    )
    assert errors["ridge"]["val_rmse"] < 1e-3
    assert errors["ridge"]["empty_rmse"] is None
    assert errors["nearest_neighbour"]["empty_rmse"] is None
    assert errors["nearest_neighbour"]["val_rmse"] > errors["ridge"]["val_rmse"]


def test_nearest_neighbour_returns_the_closest_training_target():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 6))
    y = rng.normal(size=50)
    same = nearest_neighbour_baseline(x, y, {"train": (x, y)})
    assert same["train_rmse"] == 0.0 and same["train_median_distance"] == 0.0
    near = x[:10] + 1e-3 * rng.normal(size=(10, 6))
    moved = nearest_neighbour_baseline(x, y, {"near": (near, y[:10])})
    assert moved["near_rmse"] == 0.0 and 0 < moved["near_median_distance"] < 1e-2
    scaled = nearest_neighbour_baseline(10 * x, y, {"near": (10 * near, y[:10])})
    assert scaled["near_median_distance"] == pytest.approx(moved["near_median_distance"])
    with pytest.raises(DegeneracyError, match="all zero"):
        nearest_neighbour_baseline(np.zeros((3, 2)), np.zeros(3), {})


def test_e4_is_nearly_linear_in_the_bispectrum_but_not_in_the_power_spectrum():
    """A four-body target from four-body (ν = 3) features is close to linear; from
    three-body (ν = 2) features a linear model misses most of it (24 000 thermal frames:
    ridge 0.018 against 0.090, E4 spread 0.12)."""
    sampler = ThermalMethaneSampler()
    train, val = (
        with_targets(sampler.sample(1500, seed=0)),
        with_targets(sampler.sample(500, seed=1)),
    )
    y, yv = (np.array([a.info["fourbody"] for a in frames]) for frames in (train, val))
    errors = {}
    for name, rep in {
        "nu2": dg.SoapPowerSpectrum(sigma=0.3, n_max=4, l_max=4),
        "nu3": dg.Bispectrum(sigma=0.3, n_max=3, l_max=3),
    }.items():
        errors[name] = ridge_baseline(rep.features(train), y, {"val": (rep.features(val), yv)})
    assert errors["nu2"]["val_rmse"] > 0.5 * np.std(yv)
    assert errors["nu3"]["val_rmse"] < 0.5 * errors["nu2"]["val_rmse"]


def test_nearest_neighbour_exposes_a_random_split_of_trajectory_frames():
    """Validation frames split at random from trajectories have near-copies in training:
    a lookup table scores far better on them than on independent frames (24 000 frames:
    0.044 against 0.090); on independently drawn validation frames it does not."""
    rep = dg.SoapPowerSpectrum(sigma=0.3, n_max=4, l_max=4)
    pool = with_targets(TrajectoryMethaneSampler().sample(2000, seed=0))
    order = np.random.default_rng(1).permutation(len(pool))
    train = [pool[i] for i in order[:1600]]
    split = [pool[i] for i in order[1600:]]
    independent = with_targets(ThermalMethaneSampler().sample(400, seed=2))

    def data(frames):
        return rep.features(frames), np.array([a.info["fourbody"] for a in frames])

    errors = nearest_neighbour_baseline(
        *data(train), {"split": data(split), "independent": data(independent)}
    )
    assert errors["split_rmse"] < 0.5 * errors["independent_rmse"]
    assert errors["split_median_distance"] < 0.7 * errors["independent_median_distance"]


def _baselines(ridge_val, neighbour_val):
    return {
        "ridge": {"alpha": 1.0, "val_rmse": ridge_val, "orbit_heldout_rmse": None},
        "nearest_neighbour": {"val_rmse": neighbour_val, "orbit_heldout_rmse": None},
    }


def test_learn_summary_warns_when_a_baseline_beats_the_network():
    from degeneracy.cli.learn import _baseline_lines

    beaten = "\n".join(_baseline_lines(_baselines(0.018, 0.057), network_val=0.049))
    assert (
        "warning" in beaten
        and "ridge 0.0180" in beaten
        and "nearest" not in beaten.split("warning")[1]
    )
    both = "\n".join(_baseline_lines(_baselines(0.018, 0.030), network_val=0.049))
    assert "ridge 0.0180 and nearest neighbour 0.0300" in both
    fine = "\n".join(_baseline_lines(_baselines(0.090, 0.092), network_val=0.049))
    assert "warning" not in fine and "ridge (alpha 1e+00)" in fine
    assert "warning" not in "\n".join(_baseline_lines(_baselines(0.01, 0.01), network_val=None))
