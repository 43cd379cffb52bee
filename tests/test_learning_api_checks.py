"""Checks of the learning subpackage's public functions on bad input (hunt of helper-101).

Each refusal is one :class:`DegeneracyError` naming the value, before any work; valid
input gives the numbers it gave before. All fast: a few CH4 frames, SOAP at n = l = 3 and
a network of width 8.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import degeneracy as dg
from degeneracy.errors import DegeneracyError
from degeneracy.learning import (
    PROTOCOLS,
    AtomicSumModel,
    CentreFeaturizer,
    Dataset,
    TrainSettings,
    compute_input_jacobians,
    compute_inputs,
    errors_by_target_quantile,
    featurizer_cutoff,
    nearest_neighbour_baseline,
    orbit_split,
    predict_frames,
    random_split,
    ridge_baseline,
)
from degeneracy.learning.trainer import predict


@pytest.fixture(scope="module")
def frames():
    return dg.sample_methane(4, seed=0)


@pytest.fixture(scope="module")
def featurizer():
    return CentreFeaturizer(dg.SoapPowerSpectrum(n_max=3, l_max=3))


@pytest.fixture(scope="module")
def inputs(featurizer, frames):
    return compute_inputs(featurizer, frames)


@pytest.fixture
def model(inputs):
    torch.manual_seed(0)
    return AtomicSumModel({"C": inputs["C"].shape[-1]}, width=8, depth=1)


# --- random_split (P4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_train", "message"),
    [
        (-1, r"n_train must be at least 1, got -1 \(a pool of 4 frames to split\)"),
        (0, r"n_train must be at least 1, got 0 \(a pool of 4 frames to split\)"),
        (2.5, r"n_train must be an integer, got 2\.5 \(a pool of 4 frames to split\)"),
        (True, r"n_train must be an integer, got True"),
        (4, r"n_train must be less than the pool's 4 frames .*must not be empty\), got 4"),
        (100, r"n_train must be less than the pool's 4 frames .*, got 100"),
    ],
)
def test_random_split_refuses_a_training_size_that_leaves_a_set_empty(frames, n_train, message):
    with pytest.raises(DegeneracyError, match=message):
        random_split(Dataset("pool", frames), n_train, seed=0)


def test_random_split_of_valid_sizes_is_unchanged(frames):
    pool = Dataset("pool", frames)
    for n_train in (1, 3):
        train, val = random_split(pool, n_train, seed=0)
        assert (len(train), len(val)) == (n_train, 4 - n_train)
        order = np.random.default_rng(0).permutation(4)
        assert all(a is frames[i] for a, i in zip(train.frames, order[:n_train], strict=True))
        assert all(a is frames[i] for a, i in zip(val.frames, order[n_train:], strict=True))
    # an integral float is the integer (bounded_int), as before
    assert [len(p) for p in random_split(pool, 2.0, seed=0)] == [2, 2]


# --- predict_frames (P5) ----------------------------------------------------------------


def test_predict_frames_refuses_inputs_of_other_frames(model, featurizer, frames, inputs):
    with pytest.raises(
        DegeneracyError, match="inputs of the C centres have 4 rows but there are 2 frames"
    ):
        predict_frames(model, featurizer, frames[:2], inputs)
    with pytest.raises(DegeneracyError, match="inputs must map centre species"):
        predict_frames(model, featurizer, frames, [inputs["C"]])


def test_predict_frames_on_the_cpu_gives_what_predict_gives(model, featurizer, frames, inputs):
    given = predict_frames(model, featurizer, frames, inputs)
    computed = predict_frames(model, featurizer, frames)
    direct = predict(model, {"C": torch.from_numpy(inputs["C"])})
    assert given.shape == (4,)
    np.testing.assert_array_equal(given, direct)
    np.testing.assert_array_equal(computed, direct)
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_predict_frames_puts_a_model_back_on_its_device(model, featurizer, frames, inputs):
    """A model on a GPU was left on the CPU (``model.cpu()``). No GPU here: the model
    says it is on ``cuda`` and records where it is sent back."""
    moves = []
    parameters = model.parameters

    class OnCuda:
        device = torch.device("cuda")

    model.parameters = lambda recurse=True: iter([OnCuda()])  # type: ignore[method-assign]
    model.to = lambda device: moves.append(device)  # type: ignore[method-assign]
    values = predict_frames(model, featurizer, frames, inputs)
    assert moves == [torch.device("cuda")]
    model.parameters = parameters  # type: ignore[method-assign]
    np.testing.assert_array_equal(values, predict(model, {"C": torch.from_numpy(inputs["C"])}))


# --- batch sizes, featurizer_cutoff, orbit_split (P6) -----------------------------------


@pytest.mark.parametrize(
    ("batch_size", "message"),
    [(0, "batch_size must be at least 1, got 0"), (2.5, "batch_size must be an integer")],
)
@pytest.mark.parametrize("compute", [compute_inputs, compute_input_jacobians])
def test_feature_batches_must_hold_a_frame(featurizer, frames, compute, batch_size, message):
    with pytest.raises(DegeneracyError, match=message):
        compute(featurizer, frames, batch_size=batch_size)


def test_feature_batches_do_not_change_the_features(featurizer, frames, inputs):
    in_ones = compute_inputs(featurizer, frames, batch_size=1)
    np.testing.assert_array_equal(in_ones["C"], inputs["C"])


def test_featurizer_cutoff_refuses_what_is_not_a_featurizer(featurizer):
    assert featurizer_cutoff(featurizer) == 2.5
    for thing in (object(), dg.SoapPowerSpectrum(n_max=3, l_max=3)):
        with pytest.raises(DegeneracyError, match=r"not a featurizer: .*CentreFeaturizer"):
            featurizer_cutoff(thing)


def test_orbit_split_takes_a_protocol_by_name_as_run_protocol_does():
    for name, protocol in PROTOCOLS.items():
        by_name, by_protocol = orbit_split(10, name, seed=0), orbit_split(10, protocol, seed=0)
        for a, b in zip(by_name, by_protocol, strict=True):
            np.testing.assert_array_equal(a, b)
    assert len(orbit_split(10, "subset", seed=0)[0]) == 1
    with pytest.raises(DegeneracyError, match="unknown protocol 'sub'"):
        orbit_split(10, "sub", seed=0)
    with pytest.raises(DegeneracyError, match="protocol must be one of"):
        orbit_split(10, 1, seed=0)
    with pytest.raises(DegeneracyError, match="n_orbit must be at least 0, got -1"):
        orbit_split(-1, "subset", seed=0)


# --- errors_by_target_quantile (P6) -----------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "target", "quantiles", "message"),
    [
        (np.zeros(4), np.arange(5.0), None, "4 predictions for 5 targets"),
        (np.zeros((4, 1)), np.arange(4.0), None, r"prediction must be one value per frame"),
        (
            np.array([0.0, math.nan, 0.0, math.inf]),
            np.arange(4.0),
            None,
            r"prediction of frame 1 is not finite \(nan; 2 of 4 frames\)",
        ),
        (np.zeros(4), np.array([0.0, 1.0, math.nan, 2.0]), None, "target of frame 2"),
        (np.zeros(4), np.arange(4.0), (2,), r"quantiles must be increasing numbers in \(0, 1\]"),
        (np.zeros(4), np.arange(4.0), (0.8, 0.5), "quantiles must be increasing"),
        (np.zeros(4), np.arange(4.0), (0.0, 1.0), "quantiles must be increasing"),
        (np.zeros(4), np.arange(4.0), (), "quantiles must be increasing"),
        (np.zeros(4), np.arange(4.0), 0.5, "quantiles must be a sequence of numbers, got 0.5"),
    ],
)
def test_errors_by_target_quantile_refuses_mismatched_or_non_finite_values(
    prediction, target, quantiles, message
):
    extra = {} if quantiles is None else {"quantiles": quantiles}
    with pytest.raises(DegeneracyError, match=message):
        errors_by_target_quantile(prediction, target, **extra)


def test_errors_by_target_quantile_of_valid_values_is_unchanged():
    target = np.arange(10.0)
    prediction = target + np.linspace(-1, 1, 10)
    bins = errors_by_target_quantile(prediction, target, quantiles=[0.5, 1.0])
    assert [b["n"] for b in bins] == [5, 5]
    assert bins[1]["bias"] == pytest.approx(np.mean(np.linspace(-1, 1, 10)[5:]))
    assert sum(b["share"] for b in bins) == pytest.approx(1.0)
    assert errors_by_target_quantile([], []) == []


# --- baselines (P6) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def features():
    x = np.random.default_rng(0).normal(size=(10, 3))
    return x, x[:, 0] + 0.1 * x[:, 1] ** 2


@pytest.mark.parametrize("baseline", [ridge_baseline, nearest_neighbour_baseline])
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("nan features", r"training set: features of frame 0 are not finite \(10 of 10"),
        ("inf target", r"training set: targets of frame 3 are not finite \(1 of 10"),
        ("short target", "training set: 10 rows of features but 5 targets"),
        ("empty", "no training frames"),
        ("1-d features", r"training set: features must have shape \(frames, features\)"),
        ("narrow set", "val set: 2 features per frame, but the training frames have 3"),
        ("short set", "val set: 10 rows of features but 3 targets"),
        ("nan set", "val set: features of frame 0 are not finite"),
        ("not a pair", r"evaluate\['val'\] must be a \(features, targets\) pair"),
    ],
)
def test_baselines_refuse_bad_features_by_name(features, baseline, case, message):
    x, y = features
    bad_y = y.copy()
    bad_y[3] = math.inf
    train, evaluate = {
        "nan features": ((x * math.nan, y), {}),
        "inf target": ((x, bad_y), {}),
        "short target": ((x, y[:5]), {}),
        "empty": ((x[:0], y[:0]), {}),
        "1-d features": ((x[:, 0], y), {}),
        "narrow set": ((x, y), {"val": (x[:, :2], y)}),
        "short set": ((x, y), {"val": (x, y[:3])}),
        "nan set": ((x, y), {"val": (x * math.nan, y)}),
        "not a pair": ((x, y), {"val": x}),
    }[case]
    with pytest.raises(DegeneracyError, match=message):
        baseline(*train, evaluate)


@pytest.mark.parametrize("baseline", [ridge_baseline, nearest_neighbour_baseline])
def test_baselines_of_valid_features_are_unchanged(features, baseline):
    """Float32 features stay float32 (the fit is sklearn's in that precision, as before);
    an empty evaluated set gives None whatever the shape of its features."""
    x, y = features
    v = x[:4] + 0.01
    result = baseline(x, y, {"val": (v, y[:4] + 0.5), "none": (x[:0], y[:0]), "flat": ([], [])})
    assert result["none_rmse"] is None and result["flat_rmse"] is None
    if baseline is nearest_neighbour_baseline:  # each shifted frame's neighbour is itself
        assert result["val_rmse"] == pytest.approx(0.5)
    else:
        assert result["val_rmse"] > 0.1
    single = baseline(x.astype(np.float32), y.astype(np.float32), {"val": (v, y[:4] + 0.5)})
    double = baseline(x, y, {"val": (v, y[:4] + 0.5)})
    assert single["val_rmse"] == pytest.approx(double["val_rmse"], rel=1e-4)
    if baseline is ridge_baseline:
        assert single["val_rmse"] != double["val_rmse"]  # computed in float32, not cast


# --- TrainSettings (P10: left as documented) ---------------------------------------------


def test_a_floor_above_the_learning_rate_keeps_the_rate_constant_as_documented():
    """TrainSettings documents ``min_learning_rate`` at or above ``learning_rate`` as a
    constant rate: ``learn --lr 1e-6`` (there is no option for the floor) keeps the
    default floor 1e-5, so refusing it would refuse that command."""
    settings = TrainSettings(learning_rate=1e-6)
    assert (settings.learning_rate, settings.min_learning_rate) == (1e-6, 1e-5)
    assert TrainSettings(learning_rate=10).min_learning_rate == 1e-5
    model = torch.nn.Linear(1, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, factor=0.8, patience=0, min_lr=settings.min_learning_rate
    )
    for _ in range(5):
        scheduler.step(1.0)  # no improvement: the schedule would lower the rate
    assert optimiser.param_groups[0]["lr"] == 1e-6
