"""The full learnability experiment (Comment Fig. 2): minutes of CPU, marked slow.

Runs the three protocols with the default data (24 000 / 6000 / 3000 CH4), SOAP σ = 0.3 Å
with the optimal basis and the default training settings (4 minutes each at most), on the
orbit σ = 0.3 Å, c = 1 traced by :func:`degeneracy.orbits.comment_orbit`.
"""

from __future__ import annotations

import pytest

import degeneracy as dg
from degeneracy.learning import (
    PROTOCOLS,
    CentreFeaturizer,
    TrainSettings,
    clear_heldout_gap,
    default_datasets,
    heldout_orbit_gap,
    load_orbit,
    run_protocol,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def experiment():
    """The default data, the Comment's orbit and the default featurizer."""
    data = default_datasets()
    data["orbit"] = load_orbit()
    return CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, basis="optimal")), data


@pytest.fixture(scope="module")
def protocols(experiment, tmp_path_factory):
    featurizer, data = experiment
    output = tmp_path_factory.mktemp("fig2")
    return {
        name: run_protocol(name, featurizer, data, output=output / name).metrics
        for name in PROTOCOLS
    }


#: Seeds besides 0 for the paired held-out orbit gap (``learn --repeats 4``).
OTHER_SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def other_seeds(experiment, tmp_path_factory):
    """``none`` and ``subset`` with seeds 1–3: ``{protocol: [metrics per seed]}``."""
    featurizer, data = experiment
    output = tmp_path_factory.mktemp("seeds")
    return {
        name: [
            run_protocol(
                name,
                featurizer,
                data,
                output=output / f"{name}-{seed}",
                settings=TrainSettings(max_seconds=None),  # early stopping, not the load
                seed=seed,
            ).metrics
            for seed in OTHER_SEEDS
        ]
        for name in ("none", "subset")
    }


def test_orbit_frames_in_training_teach_the_orbit(protocols, other_seeds):
    none, subset, full = (protocols[name] for name in ("none", "subset", "full"))
    # the Comment: 0.144 without orbit frames, 0.072 with 20 of them, 0.033 trained on all.
    # Without orbit frames the prediction is flat along the orbit and its level is
    # wherever the network's extrapolation puts it (docs: 0.11–0.28 over seeds 0–3), so
    # "clearly below" is judged over seeds, paired: positive for every seed and t > 2.
    gap = heldout_orbit_gap([none, *other_seeds["none"]], [subset, *other_seeds["subset"]])
    assert gap["n"] == 1 + len(OTHER_SEEDS)
    assert clear_heldout_gap(gap), gap
    assert full["orbit_rmse"] < min(none["orbit_rmse"], subset["orbit_rmse"])
    assert full["orbit_rmse"] < full["orbit_std"]  # some of the orbit's shape, not only its level
    # ... through a fingerprint nearly blind along the orbit: flat without orbit frames,
    # wrong slopes with all of them (docs: slope RMS 0.004 and 0.57, corr 0.28; E4 0.94)
    assert none["orbit_slope_prediction_rms"] < 0.1 * none["orbit_slope_rms"]
    assert full["orbit_slope_rmse"] > 0.5 * full["orbit_slope_rms"]


def test_generalises_to_an_independent_generator(protocols):
    for metrics in protocols.values():
        assert metrics["test_rmse"] <= 2 * metrics["val_rmse"]


@pytest.mark.xfail(
    reason="issue 5 asks for <= 0.02 (the Comment: 0.0133, validated on MD snapshots "
    "correlated with its training set); on independent P&G-like structures the C-centred "
    "SOAP network reaches ~0.05 (docs/learnability.md); "
    "test_trajectory_split_reaches_the_comment shows "
    "the correlated split",
    strict=False,
)
def test_validation_rmse_target(protocols):
    assert protocols["none"]["val_rmse"] <= 0.02


def test_other_models_learn_the_random_structures_far_better(experiment, protocols, tmp_path):
    # Beyond the Comment: the same network on nu = 3 or all-centre features.
    _, data = experiment
    bispectrum = CentreFeaturizer(dg.make_representation("bispectrum"))
    metrics = run_protocol("none", bispectrum, data, output=tmp_path / "bispectrum").metrics
    assert metrics["val_rmse"] < 0.5 * protocols["none"]["val_rmse"]
    assert metrics["orbit_heldout_corr"] > 0.5  # it sees the orbit's motion
    assert protocols["none"]["orbit_heldout_prediction_std"] < 0.01  # SOAP does not
    assert metrics["orbit_slope_corr"] > 0.8  # docs: 0.90, without orbit frames
    # E4's gradient (docs: 0.029 against 0.281; spurious where E4 is flat 0.028 / 0.296)
    assert metrics["val_gradient_rmse"] < 0.3 * protocols["none"]["val_gradient_rmse"]
    assert protocols["none"]["val_gradient_flat_rms"] > 0.5 * metrics["val_gradient_rms"]


def test_trajectory_split_reaches_the_comment_but_not_on_independent_frames(tmp_path):
    # P&G's construction: MD frames split at random (docs: validation 0.018, test 0.047).
    data = default_datasets(sampler="trajectory")
    data["orbit"] = load_orbit()
    featurizer = CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, basis="optimal"))
    # An epoch budget, not the 4-minute cap: the documented run stopped at the cap after
    # ~700 epochs on an idle machine, and a loaded one got fewer (0.02007 once). With a
    # fixed seed the best validation error can only fall with more epochs.
    settings = TrainSettings(max_epochs=800, max_seconds=None)
    output = tmp_path / "none"
    metrics = run_protocol("none", featurizer, data, output=output, settings=settings).metrics
    assert metrics["val_rmse"] <= 0.02  # the target, the Comment's regime
    assert metrics["test_rmse"] > 1.5 * metrics["val_rmse"]  # an interpolation number
