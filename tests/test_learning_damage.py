"""Bad learning rates, diverging training and damaged saved models: one-line errors.

A training whose loss becomes NaN was saved as a model that predicted NaN with exit 0;
``learn --lr 1e308`` was a torch traceback; a ``model.pt`` that loads but is damaged (an
entry missing, weights of other layer sizes, NaN weights, a zero feature scale) was a
traceback or NaN predictions with exit 0.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.errors import DegeneracyError
from degeneracy.learning import (
    AtomicSumModel,
    CentreFeaturizer,
    Dataset,
    TensorSet,
    ThermalMethaneSampler,
    Trainer,
    TrainSettings,
    run_protocol,
    with_targets,
)
from degeneracy.learning.probe import probe_change, probe_frame, recomputed_probe
from degeneracy.learning.protocols import RESULT_FILES


def thermal_set(name: str, n: int, seed: int) -> Dataset:
    return Dataset(name, with_targets(ThermalMethaneSampler().sample(n, seed=seed)))


def small_data() -> dict[str, Dataset]:
    """Training, validation and "orbit" frames, a few of each (no path: no slopes)."""
    return {
        "train": thermal_set("train", 60, 1),
        "val": thermal_set("val", 20, 2),
        "orbit": thermal_set("orbit", 10, 3),
    }


def train_small(output, restart: bool = False, **changes):
    """A 2-epoch run of a small GTO SOAP into ``output``."""
    settings = TrainSettings(max_epochs=2, batch_size=32, **changes)
    soap = dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=2)
    return run_protocol(
        "none", CentreFeaturizer(soap), small_data(), output=output, settings=settings,
        restart=restart, baselines=False, gradient_errors=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small trained run folder, shared (each test damages a copy of its model.pt)."""
    folder = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEGENERACY_CACHE", str(folder / "cache"))
        train_small(folder / "run")
    return folder / "run"


@pytest.fixture
def frames_file(tmp_path):
    path = tmp_path / "frames.extxyz"
    dg.write_environments(path, ThermalMethaneSampler().sample(3, seed=5))
    return path


def damaged_copy(trained, tmp_path, damage) -> str:
    """A copy of the run's model folder whose model.pt ``damage(payload)`` changed."""
    folder = tmp_path / "damaged"
    folder.mkdir(parents=True)
    for name in ("model.pt", "metrics.json"):
        (folder / name).write_bytes((trained / name).read_bytes())
    payload = torch.load(folder / "model.pt", weights_only=True)
    torch.save(damage(payload) or payload, folder / "model.pt")
    return str(folder)


def predict_error(model: str, frames_file, capsys, *extra: str) -> str:
    """The one error line of ``predict --model model frames_file`` (exit status 2)."""
    assert main(["predict", "--model", model, str(frames_file), "--quiet", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    return captured.err.removeprefix("degeneracy predict: error: ").rstrip("\n")


# --- the learning rate and diverging training -------------------------------------------


@pytest.mark.parametrize("rate", [10.5, 1e30, 1e308])
def test_train_settings_refuse_a_learning_rate_above_ten(rate):
    with pytest.raises(DegeneracyError, match=r"^learning_rate must be at most 10 \(an Adam"):
        TrainSettings(learning_rate=rate)
    assert TrainSettings(learning_rate=10).learning_rate == 10.0


def test_learn_refuses_a_huge_lr_before_any_work(tmp_path, capsys):
    """`learn --lr 1e308` was a torch traceback (overflow) that left checkpoint.pt."""
    output = tmp_path / "run"
    assert main(["learn", "--quick", "--output", str(output), "--lr", "1e308"]) == 2
    assert capsys.readouterr().err == (
        "degeneracy learn: error: --lr must be at most 10 (an Adam step moves every weight "
        "by about the learning rate, and the weights are of order 1), got 1e+308\n"
    )
    assert not output.exists()


def overflowing_sets() -> tuple[TensorSet, TensorSet]:
    """Targets of 1e20: their squared error overflows float32, the loss is infinite."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(64, 1, 8))
    huge = TensorSet.from_numpy({"C": inputs}, np.full(64, 1e20))
    return huge, TensorSet.from_numpy({"C": inputs[:16]}, np.zeros(16))


def test_a_diverging_training_stops_and_leaves_no_checkpoint(tmp_path):
    train, val = overflowing_sets()
    torch.manual_seed(0)
    checkpoint = tmp_path / "checkpoint.pt"
    settings = TrainSettings(max_epochs=5, batch_size=16, checkpoint_seconds=0)
    with pytest.raises(DegeneracyError) as error:
        Trainer(settings).fit(AtomicSumModel({"C": 8}, width=4), train, val, checkpoint=checkpoint)
    assert re.fullmatch(
        r"training diverged at epoch 1 \(training RMSE inf, validation RMSE [0-9.]+\), nothing "
        r"of the run is kept: train again with a smaller learning_rate than 0\.001",
        str(error.value),
    )
    assert not checkpoint.exists()  # resumed, it would diverge again at the same epoch


def nan_from_epoch(epoch: int, monkeypatch) -> None:
    """Make the training RMSE of ``epoch`` and later NaN (as under too large a rate)."""
    run_epoch, done = Trainer._epoch, []

    def diverging(self, *args, **kwargs):
        done.append(1)
        value = run_epoch(self, *args, **kwargs)
        return math.nan if len(done) >= epoch else value

    monkeypatch.setattr(Trainer, "_epoch", diverging)


def test_a_diverged_run_leaves_no_model_and_no_metrics(tmp_path, cache, monkeypatch):
    """A run whose loss became NaN wrote model.pt and metrics.json of NaN, exit 0; it
    removes the previous run's results, as every run that starts, and keeps none."""
    output = tmp_path / "run"
    train_small(output)
    nan_from_epoch(2, monkeypatch)
    with pytest.raises(DegeneracyError, match=r"^training diverged at epoch 2 \(training RMSE"):
        train_small(output, restart=True)
    left = {p.name for p in output.iterdir()} & {*RESULT_FILES, "checkpoint.pt"}
    assert left == set()


def test_learn_says_in_one_line_that_the_training_diverged(tmp_path, cache, capsys, monkeypatch):
    from test_learning_inputs import _quick_learn, _straight_orbit

    orbit_file, output = tmp_path / "orbit.extxyz", tmp_path / "out"
    _straight_orbit(orbit_file)
    nan_from_epoch(1, monkeypatch)
    assert main([*_quick_learn(orbit_file, output), "--lr", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("degeneracy learn: error: training diverged at epoch 1 (training ")
    assert err.endswith("nothing of the run is kept: train again with a smaller --lr than 0.5\n")
    assert err.count("\n") == 1
    assert not {p.name for p in output.iterdir()} & {*RESULT_FILES, "checkpoint.pt"}


# --- damaged models -----------------------------------------------------------------------


def _drop_featurizer(payload):
    del payload["featurizer"]


def _narrow(payload):
    payload["model"]["width"] = 7


def _nan_weight(payload):
    payload["state_dict"]["networks.C.1.weight"][0, 0] = math.nan


def _zero_scale(payload):
    payload["state_dict"]["scale_C"].zero_()


def _bad_n_max(payload):
    payload["featurizer"]["hypers"]["n_max"] = -3


def _extra_weight(payload):
    payload["state_dict"]["networks.C.9.weight"] = torch.ones(2)


def _no_offset(payload):
    del payload["state_dict"]["offset"]


def _spec_not_a_dict(payload):
    payload["featurizer"] = ["soap"]


def _width_zero(payload):
    payload["model"]["width"] = 0


def _not_a_model(payload):
    return {"weights": torch.zeros(2)}


def _other_format(payload):
    payload["format"] = 7


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_drop_featurizer, "damaged model: missing 'featurizer'"),
        (_narrow, "its weights do not fit its layer sizes (features {'C': 27}, width 7, "
                  "depth 2): networks.C.1.weight is [80, 27], not [7, 27]"),
        (_nan_weight, "damaged model: networks.C.1.weight holds NaN or infinite values"),
        (_zero_scale, "damaged model: its feature scale scale_C is 0, not positive"),
        (_bad_n_max, "n_max must be at least 1"),
        (_extra_weight, "its weights do not fit its layer sizes (features {'C': 27}, width 80, "
                        "depth 2): networks.C.9.weight belongs to no layer"),
        (_no_offset, "its weights do not fit its layer sizes (features {'C': 27}, width 80, "
                     "depth 2): no offset"),
        (_spec_not_a_dict, "damaged model: its fingerprint settings ('featurizer') are "
                           "unreadable (AttributeError("),
        (_width_zero, "damaged model: width must be at least 1 and at most 4096, got 0"),
        (_not_a_model, "not a model saved by `degeneracy learn` (a torch file holding a "
                       "dictionary without the 'format' entry every model has)"),
        (_other_format, "not a model saved by `degeneracy learn` (model format 7; this "
                        "version of degeneracy reads format 1)"),
    ],
)  # fmt: skip
def test_predict_names_the_damaged_model_file_in_one_line(
    damage, message, trained, tmp_path, frames_file, capsys
):
    model = damaged_copy(trained, tmp_path, damage)
    line = predict_error(model, frames_file, capsys)
    assert line.startswith(f"{model}/model.pt: {message}"), line


def test_predict_refuses_fingerprint_settings_the_network_does_not_take(
    trained, tmp_path, frames_file, capsys
):
    """A valid n_max of another feature count was a torch traceback (GroupNorm)."""

    def other_n_max(payload):
        payload["featurizer"]["hypers"]["n_max"] = 2

    model = damaged_copy(trained, tmp_path, other_n_max)
    assert predict_error(model, frames_file, capsys) == (
        f"{model}/model.pt: damaged model: its fingerprint settings give features {{'C': 12}}, "
        "its network takes {'C': 27}"
    )


def _other_sigma(payload):
    payload["featurizer"]["hypers"]["sigma"] = 0.4  # the same feature count


def _other_featomic(payload):
    payload["versions"]["featomic"] = "0.0.1"


def test_predict_refuses_settings_of_the_same_size_that_give_other_features(
    trained, tmp_path, frames_file, capsys
):
    """Another σ keeps the feature count, so the network took the features and predicted
    silently; the probe CH4 saved with the model, recomputed at loading, tells."""
    model = damaged_copy(trained, tmp_path, _other_sigma)
    line = predict_error(model, frames_file, capsys)
    assert re.fullmatch(
        rf"{re.escape(model)}/model\.pt: damaged model: its fingerprint settings give features "
        r"that differ from those it was saved with by \d\.\de-0[1-3] \(relative, a probe CH4 "
        r"recomputed\); restore the model's files or train again",
        line,
    ), line


def test_another_featomic_warns_only_when_the_probe_moved(trained, tmp_path, frames_file, capsys):
    argv = ["predict", "--model", None, str(frames_file), "--quiet", "--format", "csv"]
    assert main([a or str(trained) for a in argv]) == 0
    reference = capsys.readouterr()
    # another version, the same features: nothing to say
    same = damaged_copy(trained, tmp_path / "same", _other_featomic)
    assert main([a or same for a in argv]) == 0
    assert capsys.readouterr() == reference

    def moved(payload):
        _other_featomic(payload)
        payload["probe"]["inputs"]["C"] *= 1.001

    shifted = damaged_copy(trained, tmp_path / "moved", moved)
    assert main([a or shifted for a in argv]) == 0
    captured = capsys.readouterr()
    assert captured.out == reference.out  # it still predicts
    warning = captured.err.replace(reference.err, "")
    assert warning.count("\n") == 1 and "warning:" in warning
    assert f"{shifted}/model.pt: saved with featomic 0.0.1, running " in warning
    assert "the features of a probe CH4 differ from those it was saved with by 1.0e-03" in warning

    def without_probe(payload):  # a model saved before probes: the version alone
        _other_featomic(payload)
        del payload["probe"]

    older = damaged_copy(trained, tmp_path / "older", without_probe)
    assert main([a or older for a in argv]) == 0
    warning = capsys.readouterr().err.replace(reference.err, "")
    assert warning.count("\n") == 1
    assert "saved with featomic 0.0.1" in warning and "may differ" in warning


def test_the_probe_is_saved_and_recomputed_exactly(trained):
    payload = torch.load(trained / "model.pt", weights_only=True)
    probe = payload["probe"]
    assert probe["inputs"]["C"].shape == (1, 1, payload["model"]["n_features"]["C"])
    _, featurizer, _ = dg.learning.load_model(trained)
    now = recomputed_probe(featurizer, probe)
    assert probe_change(now, {"C": probe["inputs"]["C"].numpy()}) == 0.0
    assert probe_change({"C": 1.5 * now["C"]}, {"C": now["C"]}) == pytest.approx(0.5)


@pytest.mark.parametrize("cutoff", [1.2, 2.5, 6.0])
def test_the_probe_lies_inside_the_cutoff_and_has_no_symmetry(cutoff):
    frame = probe_frame(cutoff)
    distances = frame.get_all_distances()
    assert distances.max() < cutoff
    assert distances[0, 1:].max() == pytest.approx(min(1.17, 0.45 * cutoff))
    verdict = dg.point_symmetry(frame.positions[1:], frame.numbers[1:])
    assert not verdict.symmetric


def test_predict_refuses_predictions_that_are_not_finite(trained, frames_file, capsys, monkeypatch):
    """A sound model (finite weights, positive scales) maps finite features to finite
    values: a NaN is a damaged model, refused naming the first frame, not printed."""
    real = dg.learning.predict_frames
    assert main(["predict", "--model", str(trained), str(frames_file), "--quiet"]) == 0
    capsys.readouterr()

    def half_nan(*args, **kwargs):
        values = real(*args, **kwargs)
        values[1:] = math.nan
        return values

    monkeypatch.setattr("degeneracy.learning.predict_frames", half_nan)
    assert predict_error(str(trained), frames_file, capsys) == (
        f"{trained}/model.pt: its prediction for frame 1 of {frames_file} is not finite "
        "(2 of 3 frames): its weights are not sound"
    )


# --- predict's output and input files ----------------------------------------------------


def test_predict_refuses_an_output_that_is_the_model_or_the_input(
    trained, frames_file, tmp_path, capsys
):
    """``--output run/model.pt`` replaced the trained model by the table (exit 0)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "model.pt").write_bytes((trained / "model.pt").read_bytes())
    model_bytes = (folder / "model.pt").read_bytes()
    plain = tmp_path / "mymodel"  # a model file under a name that says no format
    plain.write_bytes(model_bytes)
    said = predict_error(str(folder), frames_file, capsys, "--output", str(folder / "model.pt"))
    pt = folder / "model.pt"
    assert said == f"{pt}: --output is named for a torch model (.pt), but --format is table"
    said = predict_error(str(plain), frames_file, capsys, "--output", str(plain))
    assert (
        said
        == f"--output {plain} is the model's {plain}: it would be overwritten; choose another path"
    )
    unnamed = tmp_path / "frames"  # an input under a name that says no format
    unnamed.write_bytes(frames_file.read_bytes())
    said = predict_error(str(folder), unnamed, capsys, "--output", str(unnamed))
    assert said.startswith(f"--output {unnamed} is the input FILE: it would be overwritten")
    basis = folder / "basis.npz"  # the basis files beside it too, whatever the suffix says
    basis.write_bytes(b"x")
    link = tmp_path / "basis-link"
    link.symlink_to(basis)
    said = predict_error(str(folder), frames_file, capsys, "--output", str(link))
    assert (
        said
        == f"--output {link} is the model's {basis}: it would be overwritten; choose another path"
    )
    # the run's own record too (helper-144: --output run/metrics.json replaced it)
    metrics = folder / "metrics.json"
    metrics.write_text("{}\n")
    said = predict_error(str(folder), frames_file, capsys, "--output", str(metrics))
    assert said == (
        f"--output {metrics} is the model's {metrics}: it would be overwritten; choose another path"
    )
    assert (folder / "model.pt").read_bytes() == model_bytes == plain.read_bytes()
    assert basis.read_bytes() == b"x" and metrics.read_text() == "{}\n"


def test_predict_refuses_a_frame_beyond_the_cutoff_in_one_line(trained, tmp_path, capsys):
    """A file in bohr read as Å: the frames' own refusal with the units question, not an
    AttributeError (predict has no --cutoff or --rep for the refusal to name)."""
    frames = ThermalMethaneSampler().sample(2, seed=5)
    for atoms in frames:
        atoms.positions *= 2.4  # C–H 2.6 Å: beyond the cutoff in Å, 1.4 Å if it were bohr
    path = tmp_path / "bohr.extxyz"
    dg.write_environments(path, frames)
    said = predict_error(str(trained), path, capsys)
    assert said.startswith(f"{path}, frame 0, atom ") and "outside the cutoff" in said
    assert said.endswith("is the file in bohr? (--units bohr)")


# --- damaged domain, optional entries, other files given as the model (helper-144) -------


def _domain_entry(key, change):
    def damage(payload):
        entry = payload["domain"][key]
        payload["domain"][key] = change(entry) if callable(change) else change

    return damage


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_domain_entry("thresholds", {}), "thresholds are for species [], the references for"),
        (_domain_entry("references", {}), "no reference centres"),
        (
            _domain_entry("references", lambda r: {"C": r["C"][:, :10]}),
            "its references have features {'C': 10}, its network takes {'C': 27}",
        ),
        (
            _domain_entry("references", lambda r: {"C": r["C"] * float("nan")}),
            "references of C have non-finite features",
        ),
        (_domain_entry("thresholds", {"C": -1.0}), "thresholds of C: -1.0, not a finite"),
        (_domain_entry("thresholds", {"C": float("inf")}), "thresholds of C: inf, not a finite"),
        (_domain_entry("thresholds", {"C": 0.0}), "thresholds of C: 0.0, not a finite"),
        (_domain_entry("scales", {"C": 0.0}), "scales of C: 0.0, not a finite positive"),
        (_domain_entry("quantile", 5.0), "quantile 5.0, not in (0, 1)"),
    ],
)
def test_a_damaged_domain_is_refused_in_one_line(
    damage, message, trained, tmp_path, frames_file, capsys
):
    """Were tracebacks from scikit-learn (KeyError, NaN, cut references) or ratios without
    meaning with exit 0 (a threshold of -1, 0 or inf)."""
    model = damaged_copy(trained, tmp_path, damage)
    line = predict_error(model, frames_file, capsys)
    assert line.startswith(f"{model}/model.pt: its applicability domain is damaged ("), line
    assert message in line, line


def test_optional_entries_of_another_type_are_refused(trained, tmp_path, frames_file, capsys):
    """A 'versions' entry that is no dict was an AttributeError traceback."""

    def text_versions(payload):
        payload["versions"] = "featomic 0.6"

    model = damaged_copy(trained, tmp_path, text_versions)
    assert predict_error(model, frames_file, capsys) == (
        f"{model}/model.pt: damaged model: its 'versions' is a str, not a dict"
    )


def test_a_damaged_probe_is_named_not_the_network(trained, tmp_path, frames_file, capsys):
    """The probe's width was reported as what the network takes."""

    def narrow_probe(payload):
        payload["probe"]["inputs"]["C"] = payload["probe"]["inputs"]["C"][..., :10]

    model = damaged_copy(trained, tmp_path, narrow_probe)
    assert predict_error(model, frames_file, capsys) == (
        f"{model}/model.pt: damaged model: its stored probe holds features {{'C': 10}}, "
        "where its fingerprint settings give {'C': 27}"
    )


def test_an_old_model_without_a_probe_still_checks_its_feature_count(
    trained, tmp_path, frames_file, capsys
):
    """Without a probe (models before 2026-12-06) an edited n_max loaded, and the library's
    predict_frames then failed inside torch."""

    def old_and_edited(payload):
        del payload["probe"]
        payload["featurizer"]["hypers"]["n_max"] = 2

    model = damaged_copy(trained, tmp_path, old_and_edited)
    assert predict_error(model, frames_file, capsys) == (
        f"{model}/model.pt: damaged model: its fingerprint settings give features {{'C': 12}}, "
        "its network takes {'C': 27}"
    )


def test_other_files_given_as_the_model_are_named_for_what_they_are(trained, tmp_path, capsys):
    """A checkpoint read as "model format 2; this version reads format 1" (a newer
    degeneracy?), an .npz or a JSON file as torch's internal messages."""
    from degeneracy.learning.protocols import load_model

    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"format": 2, "run_key": "k", "optimiser": {}, "model": {}}, checkpoint)
    with pytest.raises(DegeneracyError, match=r"a training checkpoint \(for resuming"):
        load_model(checkpoint)
    archive = tmp_path / "basis.npz"
    np.savez(archive, a=np.zeros(2))
    with pytest.raises(DegeneracyError, match=r"a zip archive not written by torch\.save"):
        load_model(archive)
    text = tmp_path / "metrics.json"
    text.write_text('{"val_rmse": 0.05}\n')
    with pytest.raises(
        DegeneracyError, match=r"metrics\.json: not a degeneracy model \(not a file"
    ):
        load_model(text)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(
        DegeneracyError, match=r"empty\.pt: not a degeneracy model \(an empty file\)"
    ):
        load_model(empty)


def test_predict_frames_refuses_what_the_model_cannot_describe(trained):
    """CH3, CH5 and a CH4 with an H beyond the cutoff got a number; inputs of a missing
    species or another width were KeyError or torch's GroupNorm errors."""
    from degeneracy.learning import load_model, predict_frames

    model, featurizer, _ = load_model(trained)
    methane = ThermalMethaneSampler().sample(2, seed=5)
    with pytest.raises(DegeneracyError, match="predict_frames: frame 0 has 4 atoms"):
        predict_frames(model, featurizer, [atoms[:4] for atoms in methane])
    far = [atoms.copy() for atoms in methane]
    far[1].positions[3] *= 3.5 / np.linalg.norm(far[1].positions[3])
    with pytest.raises(DegeneracyError, match=r"frame 1, atom 3 is 3\.5 Å from the centre"):
        predict_frames(model, featurizer, far)
    inputs = featurizer.inputs(methane)
    with pytest.raises(DegeneracyError, match=r"inputs are for centre species \['H'\]"):
        predict_frames(model, featurizer, methane, {"H": inputs["C"]})
    with pytest.raises(
        DegeneracyError, match=r"have shape \(2, 1, 10\), not \(frames, centres, 27\)"
    ):
        predict_frames(model, featurizer, methane, {"C": inputs["C"][..., :10]})


def test_a_model_copied_without_its_basis_says_whose_file_is_missing(tmp_path):
    """Was "basis.npz: no such file", which did not say the model needs it."""
    from degeneracy.learning.features import load_trained_basis

    with pytest.raises(DegeneracyError, match=r"basis\.npz: missing, the optimal basis the model"):
        load_trained_basis(tmp_path / "basis.npz", None)
