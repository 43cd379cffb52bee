"""Gradient training: fitting E4 and its gradient through the fingerprint's Jacobian."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.cli.learn import format_summary
from degeneracy.errors import DegeneracyError, DegeneracyWarning
from degeneracy.learning import (
    AtomicSumModel,
    CentreFeaturizer,
    Dataset,
    MultiCentreSoap,
    TensorSet,
    ThermalMethaneSampler,
    Trainer,
    TrainSettings,
    load_model,
    predict_frames,
    predicted_target_gradients,
    run_protocol,
    with_targets,
)
from degeneracy.learning.datasets import compute_input_jacobians


def small_featurizer() -> CentreFeaturizer:
    return CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=2))


def float64_set(featurizer, frames) -> TensorSet:
    """Inputs, Jacobians, E4 and its gradient in double precision (for finite differences)."""
    inputs = featurizer.inputs(frames)
    jacobians = featurizer.input_jacobians(frames)
    gradients = dg.fourbody_torsion_gradient(frames).reshape(len(frames), -1)
    return TensorSet(
        {s: torch.as_tensor(v) for s, v in inputs.items()},
        torch.as_tensor(dg.fourbody_torsion(frames)),
        {s: torch.as_tensor(v) for s, v in jacobians.items()},
        torch.as_tensor(gradients),
    )


FEATURIZERS = {
    "centre": small_featurizer,
    "multicentre": lambda: MultiCentreSoap(sigma=0.3, n_max=3, l_max=2, basis="gto"),
}


def displaced_frames(frames, step: float) -> list:
    """Each frame with each H coordinate moved by +step and -step, in that order."""
    displaced = []
    for atoms in frames:
        for coordinate in range(12):
            for sign in (1.0, -1.0):
                moved = atoms.copy()
                moved.positions[1 + coordinate // 3, coordinate % 3] += sign * step
                displaced.append(moved)
    return displaced


@pytest.mark.parametrize("kind", FEATURIZERS)
def test_input_jacobians_are_central_differences(kind):
    frames = ThermalMethaneSampler().sample(3, seed=8)
    featurizer = FEATURIZERS[kind]()
    jacobians = featurizer.input_jacobians(frames)
    step = 1e-5
    moved = featurizer.inputs(displaced_frames(frames, step))
    for species, values in featurizer.inputs(frames).items():
        assert jacobians[species].shape == (*values.shape, 12)
        pairs = moved[species].reshape(3, 12, 2, *values.shape[1:])
        finite = np.moveaxis((pairs[:, :, 0] - pairs[:, :, 1]) / (2 * step), 1, -1)
        np.testing.assert_allclose(jacobians[species], finite, rtol=1e-5, atol=1e-7)
        assert np.abs(finite).max() > 1e-2  # the features do move


@pytest.mark.parametrize("kind", FEATURIZERS)
def test_predicted_gradient_is_the_derivative_of_the_prediction(kind):
    frames = ThermalMethaneSampler().sample(4, seed=4)
    featurizer = FEATURIZERS[kind]()
    data = float64_set(featurizer, frames)
    torch.manual_seed(1)
    n_features = {s: v.shape[-1] for s, v in data.inputs.items()}
    model = AtomicSumModel(n_features, width=8).double()
    model.set_normalisation(dict.fromkeys(n_features, 2.5), 0.7)  # inside the derivative
    _, predicted = data.predicted_gradients(model, torch.arange(len(frames)))
    assert predicted.shape == (4, 12)

    step = 1e-5
    displaced = displaced_frames(frames, step)
    inputs = {s: torch.as_tensor(v) for s, v in featurizer.inputs(displaced).items()}
    with torch.no_grad():
        values = model(inputs).numpy().reshape(4, 12, 2)
    finite = (values[..., 0] - values[..., 1]) / (2 * step)
    np.testing.assert_allclose(predicted.detach().numpy(), finite, rtol=1e-5, atol=1e-8)
    assert np.abs(finite).max() > 1e-3  # a real check: the prediction does move


def synthetic_set(featurizer, frames) -> TensorSet:
    """A target the network can represent, E = tanh(3 a·x/λ), and its exact gradient."""
    x = featurizer.inputs(frames)["C"][:, 0]
    jacobian = featurizer.input_jacobians(frames)["C"][:, 0]
    a = np.random.default_rng(0).normal(size=x.shape[1]) / np.sqrt(x.shape[1])
    slope = 3.0 * a / np.sqrt(np.mean(np.sum(x**2, axis=1)))
    z = x @ slope
    gradients = np.einsum("n,d,ndk->nk", 1.0 - np.tanh(z) ** 2, slope, jacobian)
    return TensorSet.from_numpy(
        {"C": x[:, None]}, np.tanh(z), jacobians={"C": jacobian[:, None]}, gradients=gradients
    )


def test_gradient_training_learns_the_gradient():
    sampler = ThermalMethaneSampler()
    featurizer = CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, n_max=4, l_max=4))
    train = synthetic_set(featurizer, sampler.sample(400, seed=5))
    val = synthetic_set(featurizer, sampler.sample(100, seed=6))

    def gradient_rmse(weight: float) -> float:
        torch.manual_seed(0)
        model = AtomicSumModel({"C": train.inputs["C"].shape[-1]}, width=16)
        scale = float(torch.sqrt(torch.mean(train.inputs["C"].pow(2).sum(-1))))
        model.set_normalisation({"C": scale}, float(train.targets.mean()))
        settings = TrainSettings(
            max_epochs=60, batch_size=50, learning_rate=3e-3, stop_patience=60,
            max_seconds=None, gradient_weight=weight,
        )  # fmt: skip
        Trainer(settings).fit(model, train, val)
        _, predicted = val.predicted_gradients(model, torch.arange(len(val)))
        return float(torch.sqrt(torch.mean((predicted.detach() - val.gradients) ** 2)))

    energies_only, with_gradients = gradient_rmse(0.0), gradient_rmse(1.0)
    assert with_gradients < 0.7 * energies_only  # measured 0.017 against 0.030


def test_gradient_training_checks_its_inputs():
    with pytest.raises(DegeneracyError, match="gradient_weight"):
        TrainSettings(gradient_weight=-1.0)
    # the energy-only checkpoint key is unchanged; a weight changes it
    assert "gradient_weight" not in TrainSettings().trajectory()
    assert TrainSettings(gradient_weight=0.01).trajectory()["gradient_weight"] == 0.01
    inputs, targets = {"C": np.zeros((3, 1, 8))}, np.zeros(3)
    with pytest.raises(DegeneracyError, match="both input Jacobians and gradients"):
        TensorSet.from_numpy(inputs, targets, jacobians={"C": np.zeros((3, 1, 8, 12))})
    with pytest.raises(DegeneracyError, match="do not match"):
        TensorSet.from_numpy(
            inputs, targets, jacobians={"C": np.zeros((3, 1, 8, 12))}, gradients=np.zeros((3, 9))
        )
    with pytest.raises(DegeneracyError, match="do not match its inputs"):
        TensorSet.from_numpy(
            inputs, targets, jacobians={"C": np.zeros((3, 1, 7, 12))}, gradients=np.zeros((3, 12))
        )
    plain = TensorSet.from_numpy(inputs, targets)
    model = AtomicSumModel({"C": 8}, width=4)
    with pytest.raises(DegeneracyError, match="needs input Jacobians"):
        Trainer(TrainSettings(gradient_weight=0.1)).fit(model, plain, plain)
    frames = ThermalMethaneSampler().sample(2, seed=0)

    class FeaturesOnly:  # a featurizer without input_jacobians
        inputs = small_featurizer().inputs

    with pytest.raises(DegeneracyError, match="FeaturesOnly gives no input Jacobians"):
        compute_input_jacobians(FeaturesOnly(), frames)


def test_input_jacobians_too_large_for_memory_are_refused(monkeypatch):
    frames = ThermalMethaneSampler().sample(100, seed=0)
    sizes = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 10_000}  # a 41 MB machine
    monkeypatch.setattr("degeneracy.learning.datasets.os.sysconf", lambda name: sizes[name])
    featurizer = MultiCentreSoap(sigma=0.3, n_max=3, l_max=2, basis="gto")
    # 100 frames x (1 x 27 + 4 x 81 features) x 12 x 4 bytes = 1.7 MB: fits
    assert compute_input_jacobians(featurizer, frames)["H"].shape == (100, 4, 81, 12)
    many = frames * 10  # 17 MB, above a quarter of 41 MB
    with pytest.raises(DegeneracyError, match=r"Jacobians of 1000 frames would take 0\.02 GB"):
        compute_input_jacobians(featurizer, many)


def test_run_protocol_with_gradient_training(tmp_path, cache):
    sampler = ThermalMethaneSampler()
    data = {
        name: Dataset(name, with_targets(sampler.sample(n, seed=seed)))
        for name, n, seed in (("train", 120, 1), ("val", 40, 2), ("orbit", 20, 3))
    }
    settings = TrainSettings(max_epochs=3, batch_size=40, max_seconds=None, gradient_weight=0.01)
    output = tmp_path / "run"
    result = run_protocol("subset", small_featurizer(), data, output=output, settings=settings)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["settings"]["gradient_weight"] == 0.01 and metrics["epochs"] == 3
    assert "kernels" in metrics["machine"]["blas"] and metrics["machine"]["torch"]
    assert metrics["n_train_total"] == 122 and np.isfinite(metrics["val_rmse"])
    # the gradient errors: the saved model's E4 gradient by central differences
    model, featurizer, _ = load_model(output)
    frames = data["val"].frames
    fd = np.zeros((len(frames), 12))
    for k in range(12):
        moved = {}
        for sign in (1, -1):
            shifted = [atoms.copy() for atoms in frames]
            for atoms in shifted:
                atoms.positions[1 + k // 3, k % 3] += sign * 1e-3
            moved[sign] = predict_frames(model, featurizer, shifted)
        fd[:, k] = (moved[1] - moved[-1]) / 2e-3
    true = dg.fourbody_torsion_gradient(frames).reshape(len(frames), -1)
    expected = np.sqrt(np.mean((fd - true) ** 2))
    inputs = featurizer.inputs(frames)
    whole = predicted_target_gradients(model, featurizer, frames, inputs)
    batched = predicted_target_gradients(model, featurizer, frames, inputs, batch_size=7)
    np.testing.assert_allclose(batched[0], whole[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(batched[1], true)
    np.testing.assert_allclose(whole[0], fd, atol=2e-3 * np.abs(fd).max())
    assert metrics["val_gradient_rmse"] == pytest.approx(expected, rel=1e-2)
    assert metrics["val_gradient_rms"] == pytest.approx(np.sqrt(np.mean(true**2)))
    flat = np.einsum("fck,fc->fk", dg.fourbody_flat_motions(frames), fd)  # E4's is zero
    assert metrics["val_gradient_flat_rms"] == pytest.approx(np.sqrt(np.mean(flat**2)), rel=2e-2)
    shape = np.sum((fd - true) ** 2, axis=1) - np.sum(flat**2, axis=1)
    assert metrics["val_gradient_shape_rmse"] == pytest.approx(
        np.sqrt(np.mean(shape) / 5), rel=2e-2
    )
    for name in ("train", "orbit"):
        assert 0 < metrics[f"{name}_gradient_rmse"] and 0 < metrics[f"{name}_gradient_rms"]
    summary = format_summary(metrics)  # what `learn` prints
    assert "gradient RMSE (1/Å; train RMS" in summary and "where E4 is flat" in summary
    # the same settings resume; energy-only training on the same data is another run
    again = run_protocol("subset", small_featurizer(), data, output=output, settings=settings)
    assert again.metrics["resumed_from_epoch"] == 3
    assert again.metrics["val_rmse"] == pytest.approx(result.metrics["val_rmse"])
    energies = TrainSettings(max_epochs=3, batch_size=40, max_seconds=None)
    with pytest.raises(DegeneracyError, match="different run"):
        run_protocol("subset", small_featurizer(), data, output=output, settings=energies)
    # the multi-centre model fits gradients too: E4's gradient, summed over its centres
    # (one validation frame has two H 2.5 Å apart, which its H centres do not see)
    with pytest.warns(DegeneracyWarning, match="val set: in 1 of 40 frames two atoms"):
        multicentre = run_protocol(
            "none", FEATURIZERS["multicentre"](), data, output=tmp_path / "mc", settings=settings
        )
    assert multicentre.metrics["epochs"] == 3
    assert 0 < multicentre.metrics["val_gradient_rmse"] < 10 * metrics["val_gradient_rms"]


def test_cli_trains_the_multicentre_model_with_gradients(tmp_path, cache, capsys):
    from test_learning_inputs import _straight_orbit  # the Comment's orbit costs 25 s

    orbit_file = tmp_path / "orbit.extxyz"
    _straight_orbit(orbit_file)
    argv = ["learn", "--protocol", "none", "--quick", "--model", "multicentre"]
    argv += ["--orbit", str(orbit_file)]
    argv += ["--n-max", "3", "--l-max", "2", "--basis", "gto", "--epochs", "2", "--n-train"]
    argv += ["200", "--n-val", "50", "--n-test", "50", "--no-progress", "--gradient-weight"]
    assert main([*argv, "0.01", "--output", str(tmp_path / "run")]) == 0
    assert "gradient RMSE (1/Å; train RMS" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["featurizer"]["kind"] == "multicentre" and metrics["test_gradient_rmse"] > 0


def test_cli_names_a_negative_gradient_weight(tmp_path, capsys):
    argv = ["learn", "--protocol", "none", "--quick", "--gradient-weight", "-1"]
    assert main([*argv, "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--gradient-weight must be a number ≥ 0, got -1.0" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()
