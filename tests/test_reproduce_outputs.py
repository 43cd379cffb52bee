"""What `degeneracy reproduce` removes: only its own files (helper-157), and what the
orbit table says of a comparison with a published orbit that ends early."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import arc_frames

import degeneracy.reproduce as reproducing
from degeneracy.errors import DegeneracyError
from degeneracy.reproduce import (
    FORCE_REMOVES,
    LEARNING_FOLDER_FILES,
    PART_MARK,
    REPRODUCE_FILES,
    StepRunner,
    check_own_folders,
    foreign_files,
    remove_own_folders,
)

KINDS = ("result-*.txt",)


def _step(outputs: Path, name: str):
    """A step that writes ``result-NAME.txt`` into ``outputs`` and returns the names
    it found there before."""

    def step() -> dict:
        before = sorted(p.name for p in outputs.iterdir()) if outputs.is_dir() else []
        outputs.mkdir(exist_ok=True)
        (outputs / f"result-{name}.txt").write_text(name)
        return {"before": before}

    return step


def _interrupted(outputs: Path):
    """A step interrupted midway, leaving its partial result, an atomic writer's
    temporary file and a lock file."""

    def step() -> dict:
        outputs.mkdir(exist_ok=True)
        (outputs / "result-2.txt").write_text("partial")
        (outputs / ".result-2.txt.k3x_9a0q.part").write_text("partial")
        (outputs / ".degeneracy.lock").write_text("1")
        raise KeyboardInterrupt

    return step


def test_a_step_never_removes_a_file_it_did_not_write(tmp_path):
    """StepRunner removed a step's outputs folder whole, a user's notes with it."""
    outputs = tmp_path / "orbits"
    StepRunner(tmp_path, log=lambda m: None).run(
        "s", _step(outputs, "1"), outputs=outputs, kinds=KINDS, seed=0
    )
    (outputs / "my_notes.txt").write_text("mine")
    calls = []
    with pytest.raises(DegeneracyError) as refused:
        StepRunner(tmp_path, log=calls.append).run(
            "s", _step(outputs, "2"), outputs=outputs, kinds=KINDS, seed=1
        )
    assert str(refused.value) == (
        f"{outputs} holds my_notes.txt, which reproduce did not write: move it, or choose "
        "another output=..."
    )
    assert calls == []  # refused before the step ran
    assert sorted(p.name for p in outputs.iterdir()) == ["my_notes.txt", "result-1.txt"]
    assert (tmp_path / "steps" / "s.json").is_file()  # the old result is still claimed


def test_outputs_of_a_step_reproduce_has_no_record_of_are_refused(tmp_path):
    """Files of the kinds a step writes (a `degeneracy family` run in DIR/orbits) are not
    reproduce's when it never ran that step there."""
    outputs = tmp_path / "orbits"
    outputs.mkdir()
    (outputs / "result-0.txt").write_text("someone else's")
    with pytest.raises(
        DegeneracyError, match=r"orbits holds result-0.txt, which reproduce did not"
    ):
        StepRunner(tmp_path, log=lambda m: None).run(
            "s", _step(outputs, "1"), outputs=outputs, kinds=KINDS, seed=0
        )
    assert (outputs / "result-0.txt").read_text() == "someone else's"
    assert not (tmp_path / "steps" / "s.running").exists()


def test_an_interrupted_steps_own_leftovers_are_removed_not_refused(tmp_path):
    outputs = tmp_path / "learning"
    runner = StepRunner(tmp_path, log=lambda m: None)
    runner.run("s", _step(outputs, "1"), outputs=outputs, kinds=KINDS, seed=0)
    with pytest.raises(KeyboardInterrupt):
        StepRunner(tmp_path, log=lambda m: None).run(
            "s", _interrupted(outputs), outputs=outputs, kinds=KINDS, seed=1
        )
    messages: list[str] = []
    runner = StepRunner(tmp_path, log=messages.append)
    # other settings: the partial result, its temporary file and the lock go
    result = runner.run("s", _step(outputs, "3"), outputs=outputs, kinds=KINDS, seed=2)
    assert result == {"before": []}
    assert messages[0] == "[s] running"
    assert sorted(p.name for p in outputs.iterdir()) == ["result-3.txt"]


def test_a_removal_interrupted_midway_is_finished_by_the_next_run(tmp_path, monkeypatch):
    """While a step's old outputs are removed its record says so: a removal interrupted
    midway leaves reproduce's files and a record of the step, never an unrecorded folder
    (which would be refused), nor one taken for the new settings' (resumed)."""
    outputs = tmp_path / "orbits"
    StepRunner(tmp_path, log=lambda m: None).run(
        "s", _step(outputs, "1"), outputs=outputs, kinds=KINDS, seed=0
    )

    def interrupted_removal(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(reproducing.shutil, "rmtree", interrupted_removal)
        with pytest.raises(KeyboardInterrupt):
            StepRunner(tmp_path, log=lambda m: None).run(
                "s", _step(outputs, "2"), outputs=outputs, kinds=KINDS, seed=1
            )
    assert (tmp_path / "steps" / "s.running").read_text() == "removing\n"
    assert not (tmp_path / "steps" / "s.json").exists()
    messages: list[str] = []
    runner = StepRunner(tmp_path, log=messages.append)
    assert runner.run("s", _step(outputs, "2"), outputs=outputs, kinds=KINDS, seed=1) == {
        "before": []
    }
    assert messages[0] == "[s] running" and runner.status["s"] == "ran"


def test_a_step_without_outputs_is_run_afresh_not_resumed(tmp_path):
    """figure1, interrupted, said "[figure1] resuming" and "resumed" though it has nothing
    to resume."""

    def interrupted() -> dict:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        StepRunner(tmp_path, log=lambda m: None).run("figure1", interrupted, setting=1)
    assert (tmp_path / "steps" / "figure1.running").is_file()
    messages: list[str] = []
    runner = StepRunner(tmp_path, log=messages.append)
    runner.run("figure1", lambda: {}, setting=1)
    assert messages[0] == "[figure1] running"
    assert runner.status["figure1"] == "ran"


def test_learning_folder_files_are_every_file_a_learning_run_writes():
    from degeneracy.learning.features import CENTRE_BASIS_FILES
    from degeneracy.learning.protocols import RESULT_FILES

    written = {*RESULT_FILES, *CENTRE_BASIS_FILES.values(), "history.csv", "checkpoint.pt"}
    assert written == set(LEARNING_FOLDER_FILES)


def _tree(root: Path, paths: list[str]) -> None:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")


#: Files of each folder as reproduce runs leave them (a quick run, --repeats, a killed one).
OWN_FILES = {
    "orbits": [
        "summary.json",
        "a0.extxyz",
        "orbit_sigma0.3_c1.0.extxyz",
        ".degeneracy.lock",
        ".orbit_sigma0.1_c0.1.extxyz.ab_3kz91.part",
    ],
    "learning": [
        "none/metrics.json",
        "subset/checkpoint.pt",
        "full/basis.npz",
        "full/.degeneracy.lock",
        "seed-3/none/orbit_predictions.csv",
        "seed-4/full/history.csv",
        "none/.predictions.npz.q0w9e8r7.part",
    ],
    "figures": [
        "fig1a.png",
        "fig1b.pdf",
        "fig2.png",
        "fig2-orbit.png",
        "fig2.json",
        "orbit_sigma0.3_c1.0.chemiscope.json.gz",
        ".orbit_sigma0.3_c1.0.chemiscope.json.gz.k3j_h5g6.json.gz",  # the viewer's writer
        ".fig2.json.abcdefgh.part",
    ],
    "steps": ["orbits.json", "learning.running", "figure2.json"],
    "cache": [
        "dataset-thermal-n4000-seed0-6f858bd786caf988.extxyz",
        "features-ba6174becad2e625.npz",
        "optimal-basis-59bc858f56d95685.npz",
        "comment-a0-1944472fa408dffa.npz",
        "orbits/orbit-2b5cba32724f87e6.extxyz",
        "orbits/orbit-2b5cba32724f87e6.extxyz.checkpoint.npz",
    ],
}

#: Files of the same names as reproduce's, but elsewhere or otherwise named: a user's.
USER_FILES = {
    # hidden backups a user made: not an atomic writer's names (helper-160)
    "orbits": [
        "my_notes.txt",
        "old/summary.json",
        ".summary.json.20261207",
        ".a0.extxyz.original",
        ".a0.extxyz.backup_1.old",
    ],
    "learning": ["my_log.txt", "none/notes.md", "seed-x/none/extra/model.pt"],
    "figures": ["my_plot.png", "fig3.png"],
    "steps": ["notes.json"],
    "cache": ["my_cache.npz", "orbits/mine.extxyz"],
}


@pytest.mark.parametrize("name", FORCE_REMOVES)
def test_only_reproduces_own_files_count_as_its_own(tmp_path, name):
    _tree(tmp_path, OWN_FILES[name])
    assert foreign_files(tmp_path, REPRODUCE_FILES[name]) == []
    _tree(tmp_path, USER_FILES[name])
    assert foreign_files(tmp_path, REPRODUCE_FILES[name]) == sorted(USER_FILES[name])


def test_force_refuses_a_user_file_before_removing_anything(tmp_path):
    for name in FORCE_REMOVES:
        _tree(tmp_path / name, OWN_FILES[name])
    check_own_folders(tmp_path, force=True)  # reproduce's own files only
    (tmp_path / "figures" / "my_plot.png").write_text("mine")
    with pytest.raises(DegeneracyError) as refused:
        check_own_folders(tmp_path, force=True)
    assert str(refused.value) == (
        f"{tmp_path / 'figures'} holds my_plot.png, which reproduce did not write: move it, "
        "or choose another output=..."
    )
    (tmp_path / "figures" / "my_plot.png").unlink()
    remove_own_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert FORCE_REMOVES[-1] == "steps"  # records last: an interrupted force leaves them


def test_an_unrecorded_steps_outputs_are_refused_before_any_work(tmp_path):
    _tree(tmp_path, ["orbits/.degeneracy.lock"])
    check_own_folders(tmp_path, force=False)  # a lock file alone is nobody's data
    _tree(tmp_path, ["orbits/my_notes.txt", "learning/my_log.txt"])
    with pytest.raises(DegeneracyError, match=r"orbits holds my_notes.txt, which reproduce did"):
        check_own_folders(tmp_path, force=False)
    _tree(tmp_path, ["steps/orbits.json"])  # recorded: the step runner decides on it
    with pytest.raises(DegeneracyError, match=r"learning holds my_log.txt, .* of its learning"):
        check_own_folders(tmp_path, force=False)


def _member_rows():
    """Summary rows of two members: one compared with a published orbit cut at 0.49 of
    2 Å, one with a whole one."""
    from degeneracy.orbits import FamilyMember, _compare_covered_part

    arcs = np.linspace(0, 2, 201)
    ours = arc_frames(arcs, 10.0 ** (1 + arcs))  # CN rises along the orbit
    rows = []
    for sigma, published in ((0.3, 50), (0.5, 200)):
        member = FamilyMember(
            sigma=sigma, c=1.0, path=Path("x"), frames=ours, jacobian_evaluations=0, median_cn=1e2
        )
        member.reference_median_cn = 10.0
        member.deviation = member.shape_distance = 0.001
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _compare_covered_part(member, arc_frames(arcs[:published], np.ones(published)))
        rows.append(member.row())
    return rows


def test_a_row_says_what_its_comparison_covered():
    """A truncated published orbit was compared over its part, and neither the row nor
    the summary said so: its ratio disagreed with the two CN columns beside it."""
    short, whole = _member_rows()
    assert short["covered_arc_length"] == pytest.approx(0.49)
    covered = np.median(10.0 ** (1 + np.linspace(0, 2, 201)[1:50]))
    assert short["covered_median_cn"] == pytest.approx(covered)
    assert short["cn_ratio"] == pytest.approx(short["covered_median_cn"] / 10.0)
    assert short["cn_ratio"] != pytest.approx(short["median_cn"] / 10.0)
    assert whole["covered_arc_length"] is None and whole["covered_median_cn"] is None


def test_the_report_marks_a_comparison_over_part_of_an_orbit(tmp_path):
    short, whole = _member_rows()
    results = {
        "orbits": {"orbits": [short, whole], "protocol": {"length": 2.0}},
        "trends": {"near_higher": True, "wide_sigma_higher": True},
        "figure1": {"files": []},
        "settings": {"reference": "ref"},
    }
    [table] = reproducing._orbits_section(tmp_path, results).tables
    ratio, deviation, shape = (
        table.columns.index(c)
        for c in ("ratio", "deviation at equal arc length (Å)", "shape distance (Å)")
    )
    marked, unmarked = table.rows
    assert [marked[i] for i in (ratio, deviation, shape)] == [
        f"{short['cn_ratio']:.4g}{PART_MARK}",
        f"0.001{PART_MARK}",
        f"0.001{PART_MARK}",
    ]
    assert unmarked[ratio] == whole["cn_ratio"] and unmarked[deviation] == 0.001
    assert table.note == (
        f"{PART_MARK} σ = 0.3 Å, c = 1: the published orbit stops at 0.49 Å of 2 Å (a "
        "truncated file?); the ratio, deviation and shape distance are over that part only, "
        f"where our median CN is {short['covered_median_cn']:.4g} (the median CN column is "
        "over the whole orbit)."
    )
    results["orbits"]["orbits"] = [whole]
    assert reproducing._orbits_section(tmp_path, results).tables[0].note == ""
