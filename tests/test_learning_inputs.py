"""Input checks of the learnability experiment: samplers, training settings, model, protocol.

All fast: each refusal comes at construction or before any work (no training here).
"""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest

import degeneracy as dg
from degeneracy.errors import DegeneracyError
from degeneracy.learning import (
    AtomicSumModel,
    CentreFeaturizer,
    Dataset,
    ThermalMethaneSampler,
    TiltedMethaneSampler,
    Trainer,
    TrainSettings,
    TrajectoryMethaneSampler,
    run_protocol,
)

# --- samplers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sampler",
    [
        ThermalMethaneSampler(r0=100),
        # no four bonds can all be 120° or more apart
        TiltedMethaneSampler(ranges=dg.MethaneSampler(angle_min=120.0)),
    ],
)
def test_samplers_give_up_on_ranges_they_cannot_meet(sampler):
    with pytest.raises(DegeneracyError, match="only 0 of 2 accepted after 1000 rounds"):
        sampler.sample(2, seed=0)


@pytest.mark.parametrize(("r_low", "r_high"), [(2.0, 3.0), (0.1, 0.5)])
def test_tilted_sampler_refuses_bond_lengths_outside_its_ranges(r_low, r_high):
    with pytest.raises(DegeneracyError, match=r"lie outside the ranges' 0\.9–1\.47 Å"):
        TiltedMethaneSampler(r_low=r_low, r_high=r_high)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ThermalMethaneSampler(ranges="x"), "ranges must be a MethaneSampler, got str"),
        (lambda: TiltedMethaneSampler(ranges=None), "ranges must be a MethaneSampler, got None"),
        (
            lambda: TrajectoryMethaneSampler(thermal="x"),
            "thermal must be a ThermalMethaneSampler, got str",
        ),
        (lambda: ThermalMethaneSampler(breathing="x"), "breathing must be a number, got 'x'"),
        (lambda: ThermalMethaneSampler(f2_bend=math.nan), "f2_bend must be a number ≥ 0"),
    ],
)
def test_sampler_parts_are_checked_when_built(build, message):
    with pytest.raises(DegeneracyError, match=message):
        build()


def test_sampler_numbers_are_stored_as_checked():
    trajectory = TrajectoryMethaneSampler(n_trajectories=2.0, stride=1.0)
    assert (trajectory.n_trajectories, trajectory.stride) == (2, 1)
    assert trajectory.neighbors(5, seed=0).shape == (5, 4, 3)
    tilted = TiltedMethaneSampler(r_low="1.0", r_high=1.2)
    assert tilted.r_low == 1.0
    assert tilted.neighbors(3, seed=0).shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (dg.PairSampler, (0.9, 1.47)),
        (TrainSettings, (5, 16)),
        (ThermalMethaneSampler, (1.0,)),
        (TiltedMethaneSampler, (0.9, 1.3)),
        (TrajectoryMethaneSampler, (ThermalMethaneSampler(),)),
    ],
)
def test_hyperparameters_are_keyword_only(kind, values):
    with pytest.raises(TypeError, match="positional argument"):
        kind(*values)


# --- training settings ------------------------------------------------------------------


def test_train_settings_keep_the_checked_values():
    settings = TrainSettings(learning_rate="0.001", batch_size=4.0, max_seconds=60)
    assert settings.learning_rate == 0.001 and type(settings.learning_rate) is float
    assert settings.batch_size == 4 and type(settings.batch_size) is int
    assert type(settings.max_seconds) is float
    # valid settings serialise as before: counts as ints, rates and times as floats
    for preset in (TrainSettings(), TrainSettings.quick(), TrainSettings.comment()):
        for name, value in asdict(preset).items():
            kind = type(getattr(TrainSettings, name, value))
            assert type(value) is kind or value is None, name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"checkpoint_seconds": -1}, "checkpoint_seconds must be a number ≥ 0, got -1"),
        ({"checkpoint_seconds": math.nan}, "checkpoint_seconds must be a number ≥ 0, got nan"),
        ({"threads": 10**6}, "threads must be at least 1 and at most"),
        ({"threads": 1.5}, "threads must be an integer, got 1.5"),
        ({"learning_rate": "fast"}, "learning_rate must be a number, got 'fast'"),
        ({"max_epochs": "10"}, "max_epochs must be an integer"),
    ],
)
def test_train_settings_refuse_bad_values(changes, message):
    with pytest.raises(DegeneracyError, match=message):
        TrainSettings(**changes)


def test_a_trainer_refuses_settings_that_are_not_train_settings():
    with pytest.raises(DegeneracyError, match="settings must be a TrainSettings"):
        Trainer({"max_epochs": 2})


# --- model and protocol -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_features", "changes", "message"),
    [
        (5, {}, "n_features must be a mapping centre species -> feature length"),
        ({"C": 1.5}, {}, r"n_features\['C'\] must be an integer, got 1\.5"),
        ({"Xx": 3}, {}, "n_features: 'Xx' is not a chemical symbol"),
        ({"X": 3}, {}, "n_features: 'X' is not a chemical symbol"),
        ({}, {}, "at least one centre species"),
        ({"C": 4}, {"width": "wide"}, "width must be an integer"),
        ({"C": 4}, {"depth": 0}, "depth must be at least 1"),
    ],
)
def test_atomic_sum_model_names_a_bad_argument(n_features, changes, message):
    with pytest.raises(DegeneracyError, match=message):
        AtomicSumModel(n_features, **changes)


def test_atomic_sum_model_config_holds_the_checked_values():
    model = AtomicSumModel({"C": 4.0}, width=8.0)
    assert model.config == {"n_features": {"C": 4}, "width": 8, "depth": 2}


def _empty_sets():
    return {name: Dataset(name, []) for name in ("train", "val", "orbit")}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"settings": {"max_epochs": 2}}, "settings must be a TrainSettings"),
        ({"featurizer": "soap"}, "not a featurizer: 'soap'"),
        ({"featurizer": dg.SoapPowerSpectrum()}, "not a featurizer: SoapPowerSpectrum"),
        ({"protocol": 5}, r"protocol must be one of \['none', 'subset', 'full'\]"),
        ({"data": [1]}, "data must be a dict of Dataset by name, got list"),
        ({"data": {**_empty_sets(), "test": [1]}}, r"data\['test'\] must be a Dataset"),
        ({"width": 0}, "width must be at least 1"),
        ({"device": "cpu"}, r"device must be a torch\.device \(e\.g\. resolve_device"),
    ],
)
def test_run_protocol_names_a_bad_argument_before_any_work(arguments, message, tmp_path):
    featurizer = CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=2))
    call = {"protocol": "none", "featurizer": featurizer, "data": _empty_sets(), **arguments}
    output = tmp_path / "run"
    with pytest.raises(DegeneracyError, match=message):
        run_protocol(call.pop("protocol"), call.pop("featurizer"), output=output, **call)
    assert not output.exists()
