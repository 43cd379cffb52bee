"""Applicability domain of trained models (``learning.domain``), and ``predict``'s
per-frame ``in_domain`` and its warning."""

from __future__ import annotations

import io
import json
import shutil

import ase
import numpy as np
import pytest
import torch
from conftest import package_warnings

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.errors import DegeneracyError
from degeneracy.learning import (
    CentreFeaturizer,
    Dataset,
    MultiCentreSoap,
    ThermalMethaneSampler,
    TiltedMethaneSampler,
    TrainSettings,
    run_protocol,
    with_targets,
)
from degeneracy.learning.domain import ApplicabilityDomain, check_domain, fit_domain
from degeneracy.learning.protocols import load_domain

# --- the check on synthetic features ------------------------------------------------------


def gaussian_inputs(n: int, seed: int, centres: dict[str, int]) -> dict[str, np.ndarray]:
    """Standard normal features, 6 per centre, ``centres`` per species per frame."""
    rng = np.random.default_rng(seed)
    return {s: rng.normal(size=(n, k, 6)) for s, k in centres.items()}


def test_a_tenth_of_a_percent_quantile_flags_that_share_of_validation_frames():
    """The threshold is the quantile of the validation frames' distances: by construction
    1 − q of them lie outside; a far point lies outside, a training frame inside."""
    train, val = gaussian_inputs(800, 0, {"C": 1}), gaussian_inputs(400, 1, {"C": 1})
    scales = {"C": 2.0}
    domain = fit_domain(train, val, scales, seed=0, n_reference=500)
    assert domain.references["C"].shape == (500, 6) and domain.n_frames == 800
    assert domain.references["C"].dtype == np.float16  # a few thousand rows stay small
    ratios = domain.ratios(val)
    assert np.sum(ratios > 1) == 4  # 1 % of 400
    # the threshold is in the model's normalised units: the 99 % quantile of the distances
    distances = domain.centre_distances(val)["C"][:, 0]
    assert domain.thresholds["C"] == pytest.approx(np.quantile(distances, 0.99))
    references = domain.references["C"].astype(np.float64)
    nearest = np.linalg.norm(references - val["C"][0, 0] / 2.0, axis=1).min()
    assert distances[0] == pytest.approx(nearest)
    far = {"C": np.full((1, 1, 6), 10.0)}
    assert domain.ratios(far)[0] > 3
    # another seed draws other references: the same share of validation frames outside
    other = fit_domain(train, val, scales, seed=1, n_reference=500, quantile=0.95)
    assert np.sum(other.ratios(val) > 1) == 20
    with pytest.raises(DegeneracyError, match="domain quantile must be between 0 and 1, got 1"):
        fit_domain(train, val, scales, quantile=1)


def test_kept_frames_are_always_references():
    """The orbit frames trained on are 20 of 24 000: the random subsample of references
    dropped them in 8 seeds of 20, and the frames the model had learned were flagged
    outside its domain. Kept frames are references whatever the seed."""
    train, val = gaussian_inputs(3000, 0, {"C": 1}), gaussian_inputs(400, 1, {"C": 1})
    kept = {"C": np.full((20, 1, 6), 5.0) + np.arange(20)[:, None, None] * 0.01}
    for seed in range(5):
        domain = fit_domain(train, val, {"C": 1.0}, kept=kept, seed=seed, n_reference=100)
        assert domain.references["C"].shape == (120, 6) and domain.n_frames == 3020
        assert np.all(domain.ratios(kept) < 0.05)
    alone = fit_domain(train, val, {"C": 1.0}, seed=0, n_reference=100)
    assert np.all(alone.ratios(kept) > 1)  # far from the random frames: outside
    empty = {"C": np.zeros((0, 1, 6))}  # protocol none: no orbit frame trained on
    assert fit_domain(train, val, {"C": 1.0}, kept=empty, n_reference=100).n_frames == 3000


def test_every_centre_is_checked_against_its_own_species():
    """A multi-centre model sums per-centre networks: one unusual H environment puts the
    frame outside the domain although its C environment is a training one."""
    train = gaussian_inputs(600, 0, {"C": 1, "H": 4})
    val = gaussian_inputs(500, 1, {"C": 1, "H": 4})
    domain = fit_domain(train, val, {"C": 1.0, "H": 3.0}, seed=0, n_reference=1000)
    assert domain.references["C"].shape == (600, 6)  # all of them: fewer than 1000
    assert domain.references["H"].shape == (1000, 6)  # 1000 of the 2400 H centres
    assert np.sum(domain.ratios(val) > 1) == 5  # 1 % of the frames, all centres counted
    frame = {s: v[:1].copy() for s, v in train.items()}
    assert domain.ratios(frame)[0] < 1
    frame["H"][0, 2] = 40.0  # one H environment far away, in units of its scale 3
    assert domain.ratios(frame)[0] > 1
    stored = torch.load(_saved(domain), weights_only=True)
    again = ApplicabilityDomain.from_payload(stored)
    np.testing.assert_array_equal(again.ratios(val), domain.ratios(val))


def _saved(domain: ApplicabilityDomain) -> io.BytesIO:
    """``domain`` as ``model.pt`` stores it, in memory."""
    buffer = io.BytesIO()
    torch.save(domain.payload(), buffer)
    buffer.seek(0)
    return buffer


def test_check_domain_warns_once_naming_the_first_frame_outside():
    train, val = gaussian_inputs(300, 0, {"C": 1}), gaussian_inputs(200, 1, {"C": 1})
    domain = fit_domain(train, val, {"C": 1.0})
    queries = {"C": np.concatenate([val["C"][:3] * 0, np.full((2, 1, 6), 9.0)])}
    with pytest.warns(dg.DegeneracyWarning) as caught:
        result = check_domain(domain, queries, source="f.xyz", model="run")
    (message,) = package_warnings(caught)
    assert message.startswith("f.xyz: 2 of 5 frames lie outside the model's applicability")
    assert "(first: frame 3, " in message and "extrapolations" in message
    assert result.inside.tolist() == [True, True, True, False, False]
    with pytest.warns(dg.DegeneracyWarning) as caught:
        result = check_domain(None, queries, source="f.xyz", model="run")
    (message,) = package_warnings(caught)
    assert message.startswith("run: saved without its training features")
    assert result.ratios is None and result.inside is None


# --- trained models and predict ------------------------------------------------------------


def small_data() -> dict[str, Dataset]:
    """Small thermal training/validation sets, a tilted test set and a short orbit."""
    thermal = ThermalMethaneSampler()
    return {
        "train": Dataset("train", with_targets(thermal.sample(300, seed=1))),
        "val": Dataset("val", with_targets(thermal.sample(100, seed=2))),
        "test": Dataset("test", with_targets(TiltedMethaneSampler().sample(100, seed=3))),
        "orbit": Dataset("orbit", with_targets(thermal.sample(10, seed=4))),
    }


def square_planar() -> ase.Atoms:
    """CH4 flattened to a square (E4 6.0): far outside thermal training data."""
    return ase.Atoms(
        "CH4", positions=[[0, 0, 0], [1.09, 0, 0], [-1.09, 0, 0], [0, 1.09, 0], [0, -1.09, 0]]
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A C-centred model trained briefly (without feature cache) and its folder."""
    folder = tmp_path_factory.mktemp("applicability") / "run"
    featurizer = CentreFeaturizer(dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=2))
    settings = TrainSettings(max_epochs=3, batch_size=64)
    result = run_protocol(
        "none", featurizer, small_data(), output=folder, settings=settings, cache=False,
        baselines=False, gradient_errors=False,
    )  # fmt: skip
    return folder, result


def test_a_trained_model_stores_its_domain(trained):
    folder, result = trained
    domain = load_domain(folder)
    assert set(domain.references) == {"C"} and domain.references["C"].shape == (300, 27)
    summary = result.metrics["domain"]
    assert summary["val_outside"] == pytest.approx(0.01)  # 1 of 100, by construction
    assert summary["thresholds"]["C"] == pytest.approx(domain.thresholds["C"])
    assert 0 <= summary["test_outside"] <= 1 and 0 <= summary["orbit_outside"] <= 1
    assert json.loads((folder / "metrics.json").read_text())["domain"] == summary


def test_predict_flags_frames_outside_the_domain(trained, tmp_path, capsys):
    folder, _ = trained
    frames = [square_planar(), *ThermalMethaneSampler().sample(3, seed=2)]  # validation frames
    dg.write_environments(tmp_path / "mixed.extxyz", frames)
    argv = ["predict", "--model", str(folder), str(tmp_path / "mixed.extxyz")]
    assert main([*argv, "--format", "json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [row["frame"] for row in rows] == [0, 1, 2, 3]
    assert all(isinstance(row["prediction"], float) for row in rows)
    assert [row["in_domain"] for row in rows] == [False, True, True, True]
    assert rows[0]["domain_ratio"] > 2 and all(row["domain_ratio"] <= 1 for row in rows[1:])
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"degeneracy predict: warning: {tmp_path / 'mixed.extxyz'}: 1 of 4")
    assert "(first: frame 0, " in line
    assert main([*argv, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "frame,prediction,in_domain,domain_ratio"
    assert [line.split(",")[2] for line in lines[1:]] == ["0", "1", "1", "1"]
    assert main([*argv, "--with-target"]) == 0  # the table: columns aligned under the header
    header, first = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["frame", "prediction", "in_domain", "domain_ratio", "fourbody"]
    assert len(header) == len(first) and first.split()[2] == "0"
    # validation frames alone: no warning
    dg.write_environments(tmp_path / "val.extxyz", frames[1:])
    assert main(["predict", "--model", str(folder), str(tmp_path / "val.extxyz")]) == 0
    assert capsys.readouterr().err == ""


def test_an_older_model_without_its_domain_predicts_with_one_note(trained, tmp_path, capsys):
    folder, _ = trained
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    payload = torch.load(old / "model.pt", weights_only=True)
    del payload["domain"]  # as saved before the check existed
    torch.save(payload, old / "model.pt")
    assert load_domain(old) is None
    dg.write_environments(tmp_path / "sq.extxyz", [square_planar()])
    argv = ["predict", "--model", str(old), str(tmp_path / "sq.extxyz"), "--format", "json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    assert set(row) == {"frame", "prediction"}
    (line,) = captured.err.strip().splitlines()
    assert "saved without its training features" in line and "not checked" in line


def test_a_multicentre_model_checks_its_h_centres(tmp_path):
    featurizer = MultiCentreSoap(sigma=0.3, n_max=3, l_max=2, basis="gto")
    settings = TrainSettings(max_epochs=2, batch_size=64)
    result = run_protocol(
        "none", featurizer, small_data(), output=tmp_path / "mc", settings=settings,
        cache=False, baselines=False, gradient_errors=False,
    )  # fmt: skip
    domain = load_domain(tmp_path / "mc")
    assert domain.references["C"].shape == (300, 27)
    assert domain.references["H"].shape == (1200, 81)  # 4 H centres per training frame
    assert result.metrics["domain"]["val_outside"] == pytest.approx(0.01)
    with pytest.warns(dg.DegeneracyWarning, match="1 of 1 frames lie outside"):
        check_domain(domain, featurizer.inputs([square_planar()]), source="sq", model="mc")
