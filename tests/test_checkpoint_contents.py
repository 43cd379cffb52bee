"""Checkpoints with the run's key but damaged contents: ``orbit`` and ``learn`` refuse them
in one line naming the file and what to do, instead of a traceback or a silently wrong
result; an undamaged checkpoint still resumes bit for bit."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from conftest import StopTracing, exit_status, one_error_line, stop_after

import degeneracy as dg
from degeneracy.errors import DegeneracyError
from degeneracy.learning import AtomicSumModel, Trainer, TrainSettings
from degeneracy.learning.trainer import TensorSet
from degeneracy.orbits import trace_orbit

EULER = {"method": "euler", "length": 0.05, "step": 5e-3}
ADAPTIVE = {"method": "adaptive", "length": 0.05, "tol": 1e-6}


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=4)  # l_max 3: a tied start


@pytest.fixture(scope="module")
def pg_start():
    return dg.builtin_environment("pg-start")


def _interrupted(tmp_path, soap, pg_start, options, frames=None) -> dict[str, np.ndarray]:
    """The state of a run stopped after ``frames`` checkpoints (its key included): by
    default with 3 of its 6 frames saved (Euler: 2 steps a frame; adaptive: at s = 0.001,
    0.006, 0.031 Å)."""
    frames = frames or {"euler": 2, "adaptive": 3}[options["method"]]
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(StopTracing):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, callback=stop_after(frames), **options)
    with np.load(checkpoint) as data:
        state = {name: data[name] for name in data.files}
    checkpoint.unlink()
    return state


def _with(state, **changes) -> dict[str, np.ndarray]:
    return {**state, **{name: np.asarray(value) for name, value in changes.items()}}


def _nan_at_0(array):
    array = np.array(array, dtype=float)
    array.flat[0] = np.nan
    return array


def _damages(state):
    """(what, damaged state, what the refusal says) for a checkpoint of either method."""
    n = len(state["frame_arc_length"])
    return [
        ("r cut", _with(state, r=state["r"][:9]), r"r has shape \(9,\), expected \(12,\)"),
        ("u cut", _with(state, u=state["u"][:6]), r"u has shape \(6,\), expected \(12,\)"),
        ("r NaN", _with(state, r=_nan_at_0(state["r"])), "r holds non-finite values"),
        ("u zero", _with(state, u=np.zeros(12)), "u has length 0, not 1"),
        (
            "positions cut",
            _with(state, frame_positions=state["frame_positions"][:1]),
            rf"frame_positions has shape \(1, 12\), expected \({n}, 12\)",
        ),
        (
            "values cut",
            _with(state, frame_values=state["frame_values"][:, :4]),
            rf"frame_values has shape \({n}, 4\), expected \({n}, 9\)",
        ),
        (
            "features cut",
            _with(state, start_features=state["start_features"][:1]),
            r"start_features has shape \(1,\)",
        ),
        (
            "one frame fewer",
            _with(
                state,
                **{name: state[name][:-1] for name in state if name.startswith("frame_")},
            ),
            "frames saved at",
        ),
        (
            "arc lengths",
            _with(state, frame_arc_length=state["frame_arc_length"] * 2),
            "frame arc lengths are not 0, 0.01, 0.02",
        ),
        (
            "start moved",
            _with(state, frame_positions=state["frame_positions"] + 0.1),
            "frame 0 is not the start",
        ),
        ("text", _with(state, evaluations=np.array("many")), "evaluations holds <U4 values"),
        (
            "evaluations",
            _with(state, evaluations=-1),
            r"evaluations = -1 is not a whole number of at least \d",
        ),
    ]


def _refused(checkpoint, soap, pg_start, options, state, message):
    np.savez(checkpoint, **state)
    with pytest.raises(DegeneracyError) as error:
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(f"{checkpoint}: damaged checkpoint (")
    assert text.endswith("; delete it, or choose another checkpoint")  # the library's terms
    assert re.search(message, text), text
    assert checkpoint.exists()  # refused, not deleted


@pytest.mark.parametrize("options", [EULER, ADAPTIVE], ids=["euler", "adaptive"])
def test_an_orbit_checkpoint_with_damaged_contents_is_refused(tmp_path, soap, pg_start, options):
    state = _interrupted(tmp_path, soap, pg_start, options)
    checkpoint = tmp_path / "run.checkpoint.npz"
    for what, damaged, message in _damages(state):
        try:
            _refused(checkpoint, soap, pg_start, options, damaged, message)
        except BaseException as error:
            raise AssertionError(what) from error


def test_euler_step_counter_out_of_range_is_refused(tmp_path, soap, pg_start):
    """The hunt's cases: k = 10**12 ended the orbit short with exit 0, k = -5 gave too
    many frames; a k between frames does not match the frames saved either."""
    state = _interrupted(tmp_path, soap, pg_start, EULER)
    checkpoint = tmp_path / "run.checkpoint.npz"
    cases = [
        (10**12, r"k = 1000000000000 is not a whole number from 0 to 10"),
        (-5, r"k = -5 is not a whole number from 0 to 10"),
        (3, r"3 frames saved at step k = 3, expected 2 \(2 steps a frame\)"),
        (6, r"3 frames saved at step k = 6, expected 4 \(2 steps a frame\)"),
        (2.5, r"k = 2.5 is not a whole number"),
    ]
    for k, message in cases:
        _refused(checkpoint, soap, pg_start, EULER, _with(state, k=k), message)
    _refused(checkpoint, soap, pg_start, EULER, _with(state, k=[4]), r"k has shape \(1,\)")
    moved = _with(state, r=state["r"] + 1e-3)  # r is where the last frame was saved
    _refused(checkpoint, soap, pg_start, EULER, moved, "r is not the last frame's positions")
    # saved between frames (every 10 s): r within the steps taken since the last frame
    between = _with(state, k=5, r=state["r"] + 0.01)
    _refused(checkpoint, soap, pg_start, EULER, between, r"more than its 1 step of 0.005 Å")


def test_adaptive_arc_length_and_step_out_of_range_are_refused(tmp_path, soap, pg_start):
    state = _interrupted(tmp_path, soap, pg_start, ADAPTIVE)
    checkpoint = tmp_path / "run.checkpoint.npz"
    s = float(state["s"])
    cases = [
        ({"s": -1.0}, r"arc length s = -1 Å is outside 0 to 0.05 Å"),
        ({"s": 7.0}, r"arc length s = 7 Å is outside 0 to 0.05 Å"),
        (
            {"s": s - 0.015},
            r"4 frames saved at arc length s = 0.016 Å, expected 2 \(a frame every 0.01 Å\)",
        ),
        ({"h": 0.0}, r"step h = 0 Å is not positive"),
        ({"h": -1e-3}, r"step h = -0.001 Å is not positive"),
        ({"h": np.inf}, r"h holds non-finite values"),
        ({"steps": -3}, r"steps = -3 is not a whole number of at least 0"),
        ({"rejected": 0.5}, r"rejected = 0.5 is not a whole number"),
    ]
    for change, message in cases:
        _refused(checkpoint, soap, pg_start, ADAPTIVE, _with(state, **change), message)


@pytest.mark.parametrize("options", [EULER, ADAPTIVE], ids=["euler", "adaptive"])
def test_an_undamaged_checkpoint_still_resumes_bit_for_bit(tmp_path, soap, pg_start, options):
    reference = trace_orbit(pg_start, soap, **options)
    state = _interrupted(tmp_path, soap, pg_start, options)
    checkpoint = tmp_path / "run.checkpoint.npz"
    np.savez(checkpoint, **state)  # rewritten as read: the same arrays
    resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    assert not checkpoint.exists()
    np.testing.assert_array_equal(resumed.positions, reference.positions)
    assert resumed.jacobian_evaluations == reference.jacobian_evaluations
    assert (resumed.steps, resumed.rejected_steps) == (reference.steps, reference.rejected_steps)
    for ours, theirs in zip(resumed.frames, reference.frames, strict=True):
        np.testing.assert_array_equal(ours.info["singular_values"], theirs.info["singular_values"])
        assert ours.info["feature_distance"] == theirs.info["feature_distance"]


def test_a_finished_checkpoint_left_by_a_failed_write_still_resumes(tmp_path, soap, pg_start):
    """All frames saved (k at the end): valid, the rerun only writes the output."""
    options = {**EULER, "length": 0.02}
    reference = trace_orbit(pg_start, soap, **options)
    state = _interrupted(tmp_path, soap, pg_start, options, frames=2)
    assert int(state["k"]) == 4 and len(state["frame_arc_length"]) == 3
    checkpoint = tmp_path / "run.checkpoint.npz"
    np.savez(checkpoint, **state)
    resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    np.testing.assert_array_equal(resumed.positions, reference.positions)


def test_the_orbit_command_refuses_a_damaged_checkpoint_in_one_line(tmp_path, capsys):
    out = tmp_path / "orbit.extxyz"
    checkpoint = tmp_path / "orbit.extxyz.checkpoint.npz"
    args = ["orbit", "--builtin", "pg-start", "--n-max", "3", "--l-max", "4"]
    args += ["--length", "0.05", "--step", "5e-3", "--quiet", "--output", str(out)]
    assert exit_status(args) == 0
    reference = out.read_bytes()
    # the command's run, interrupted: its checkpoint, with the step counter edited
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=4)
    state = _interrupted(tmp_path, soap, dg.builtin_environment("pg-start"), EULER)
    np.savez(checkpoint, **_with(state, k=10**12))
    capsys.readouterr()
    assert exit_status(args) == 2
    line = one_error_line(capsys, "orbit")
    assert line == (
        f"{checkpoint}: damaged checkpoint (k = 1000000000000 is not a whole number from 0 "
        "to 10); delete it, rerun with --restart, or choose another --checkpoint"
    )
    assert exit_status([*args, "--restart"]) == 0 and out.read_bytes() == reference


# --- learn ---------------------------------------------------------------------------


def _sets() -> tuple[TensorSet, TensorSet]:
    rng = np.random.default_rng(0)

    def make(n):
        x = rng.normal(size=(n, 1, 8))
        return TensorSet.from_numpy({"C": x}, np.tanh(x[:, 0].sum(-1) / 3))

    return make(96), make(32)


def _model() -> AtomicSumModel:
    torch.manual_seed(0)
    return AtomicSumModel({"C": 8}, width=8)


SETTINGS = TrainSettings(max_epochs=4, batch_size=32, stop_patience=50, lr_patience=1)


def _interrupted_training(tmp_path):
    train, val = _sets()

    def interrupt(epoch, metrics):
        if epoch == 2:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        Trainer(SETTINGS).fit(_model(), train, val, checkpoint=checkpoint, callback=interrupt)
    return checkpoint


DAMAGED = (
    r"checkpoint\.pt: cannot read checkpoint, the file is damaged or not a training "
    r"checkpoint; remove it or rerun with restart=True$"
)


def _edited(payload, path, edit):
    payload = {**payload, "state": dict(payload["state"])}
    edit(payload)
    torch.save(payload, path)


def test_a_damaged_training_checkpoint_is_refused_in_one_line(tmp_path):
    checkpoint = _interrupted_training(tmp_path)
    complete = checkpoint.read_bytes()
    payload = torch.load(io.BytesIO(complete), weights_only=True)
    train, val = _sets()

    def refused():
        with pytest.raises(DegeneracyError, match=DAMAGED) as error:
            Trainer(SETTINGS).fit(_model(), train, val, checkpoint=checkpoint)
        assert "\n" not in str(error.value)

    damages = [
        lambda: checkpoint.write_bytes(complete[: len(complete) // 2]),  # truncated
        lambda: checkpoint.write_bytes(complete[:100]),
        lambda: checkpoint.write_bytes(b""),
        lambda: checkpoint.write_text("174812789\n"),  # another kind of file
        lambda: checkpoint.write_text("epoch,train_rmse\n1,0.5\n"),
        lambda: torch.save([1, 2, 3], checkpoint),  # not a dict
    ]
    edits = [  # the run's key kept, contents edited
        lambda p: p.pop("model"),
        lambda p: p.update(model={"nonsense": torch.zeros(3)}),
        lambda p: p.update(optimiser={}),
        lambda p: p.update(generator=torch.zeros(3)),
        lambda p: p.update(state={"epoch": 2, "colour": "blue"}),
        lambda p: p["state"].update(epoch=-1),
        lambda p: p["state"].update(epoch=3),  # one history row fewer than epochs
        lambda p: p["state"].update(best_epoch=7),
        lambda p: p["state"].update(elapsed=float("nan")),
        lambda p: p["state"].update(history="none"),
    ]
    for damage in damages:
        damage()
        refused()
    for edit in edits:
        _edited(payload, checkpoint, edit)
        refused()
    # the undamaged file resumes to the uninterrupted run, bit for bit
    checkpoint.write_bytes(complete)
    resumed_model, reference_model = _model(), _model()
    resumed = Trainer(SETTINGS).fit(resumed_model, train, val, checkpoint=checkpoint)
    reference = Trainer(SETTINGS).fit(reference_model, train, val)
    assert resumed.resumed_from == 2 and resumed.history == reference.history
    for name, value in reference_model.state_dict().items():
        torch.testing.assert_close(resumed_model.state_dict()[name], value, rtol=0, atol=0)


def test_an_unreadable_training_checkpoint_is_not_called_damaged(tmp_path):
    (tmp_path / "checkpoint.pt").mkdir()
    train, val = _sets()
    with pytest.raises(DegeneracyError, match=r"checkpoint\.pt: cannot read checkpoint \(Is a"):
        Trainer(SETTINGS).fit(_model(), train, val, checkpoint=tmp_path / "checkpoint.pt")
