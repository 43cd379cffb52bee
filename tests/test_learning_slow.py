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
    default_datasets,
    load_orbit,
    run_protocol,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def protocols(tmp_path_factory):
    data = default_datasets()
    data["orbit"] = load_orbit()
    featurizer = CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, basis="optimal"))
    output = tmp_path_factory.mktemp("fig2")
    return {
        name: run_protocol(name, featurizer, data, output=output / name).metrics
        for name in PROTOCOLS
    }


def test_orbit_frames_in_training_teach_the_orbit(protocols):
    none, subset, full = (protocols[name] for name in ("none", "subset", "full"))
    # the Comment: 0.144 without orbit frames, 0.072 with 20 of them, 0.033 trained on all
    assert subset["orbit_heldout_rmse"] < 0.75 * none["orbit_heldout_rmse"]
    assert full["orbit_rmse"] < min(none["orbit_rmse"], subset["orbit_rmse"])
    assert full["orbit_rmse"] < 0.5 * protocols["none"]["orbit_std"]


def test_generalises_to_an_independent_generator(protocols):
    for metrics in protocols.values():
        assert metrics["test_rmse"] <= 2 * metrics["val_rmse"]


def test_validation_rmse_target(protocols):
    # Issue 5 asks for <= 0.02 (the Comment: 0.0133 on P&G's MD snapshots). On independent
    # random structures this setup reaches ~0.029 in 4 CPU minutes (README, issue 5).
    assert protocols["none"]["val_rmse"] <= 0.02
