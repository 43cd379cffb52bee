"""`degeneracy reproduce`: the whole pipeline on tiny settings, caching, --force."""

from __future__ import annotations

import gzip
import html
import inspect
import json
import shutil

import ase.io
import numpy as np
import pytest
from conftest import reference_path

from degeneracy.cli import main
from degeneracy.errors import DegeneracyError, DegeneracyWarning
from degeneracy.report import render_report
from degeneracy.reproduce import (
    MAX_WORKERS,
    MOSTLY_TRADE_RHO,
    ReproduceSettings,
    StepRunner,
    _a0_section,
    _lookup_sentence,
    _pg_start_sentence,
    _published_a0,
    _report_settings,
    _run_time_table,
    _stop_text,
    learning_checks,
    reproduce,
    trend_checks,
)

TINY = {
    "orbit_length": 0.3,
    "train_frames": 300,
    "val_frames": 100,
    "test_frames": 100,
    "train_minutes": 0.05,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("reproduce") / "out"
    messages: list[str] = []
    summary = reproduce(output, quick=True, log=messages.append, **TINY)
    return output, summary, messages


def _copy_of(tiny_run, tmp_path):
    """A copy of the fixture's folder for a test that reruns it with other settings.

    The fixture's folder then keeps TINY's results: no test has to put them back for the
    next one (each such rerun trained the three protocols again, or traced the orbits).
    Step keys and recorded files are relative to the folder, so the copy's steps are
    the fixture's, skipped the same way.
    """
    output, _, _ = tiny_run
    copy = tmp_path / "out"
    shutil.copytree(output, copy)
    return copy


def test_outputs(tiny_run):
    output, summary, _ = tiny_run
    document = (output / "report.html").read_text()
    assert document.count("data:image/png;base64,") == 4  # Fig. 1a, 1b, 2 and along the orbit
    assert "a flat prediction means the model does not see" in document
    assert "slope along the orbit: correlation with E4" in document
    assert "validation ∇E4 RMSE" in document
    for heading in ("Singular configuration A0", "Low-sensitivity orbits", "Learning E4"):
        assert heading in document
    saved = json.loads((output / "summary.json").read_text())
    assert len(saved["orbits"]["orbits"]) == 16
    assert all(row["frames"] == 31 for row in saved["orbits"]["orbits"])
    # no published orbit: nothing compared over a part only
    assert all(row["covered_arc_length"] is None for row in saved["orbits"]["orbits"])
    assert set(saved["learning"]) == {"none", "subset", "full", "files"}
    assert all((output / path).is_file() for path in saved["learning"]["files"])
    assert "Validation error by E4 quantile" in document
    assert "The network against baselines" in document
    assert "A nearest-neighbour lookup on the same features" in document
    bins = saved["learning"]["none"]["val_by_target_quantile"]
    assert [b["quantile"] for b in bins] == [0.5, 0.8, 0.95, 1.0]
    assert saved["settings"]["orbit_length"] == 0.3
    assert saved["versions"]["featomic"] == "0.6.7"
    assert (output / "cache").is_dir() and (output / "figures" / "fig1a.pdf").exists()
    view = output / "figures" / "orbit_sigma0.3_c1.0.chemiscope.json.gz"
    viewed = json.loads(gzip.decompress(view.read_bytes()))
    assert len(viewed["structures"]) == 31
    # c = 1 starts at P0, not at A0; the description says how it was traced
    assert viewed["meta"]["name"] == "orbit σ = 0.3 Å, c = 1 (from P&G's start P0)"
    assert viewed["meta"]["description"].endswith("adaptive (tol 1e-06), 0.3 Å of arc")
    assert "figures/orbit_sigma0.3_c1.0.chemiscope.json.gz" in document
    assert summary["orbits"]["a0_symmetry_residual"] > 0.01
    # A0's branch: three equal radii, the fourth H at equal angles to them
    assert summary["orbits"]["a0_pair_swap"] == "H1-H3 = H2-H3 = H4-H3"
    assert "swaps neighbour pairs with equal (r, r′, θ), H1-H3 = H2-H3 = H4-H3" in document
    near = summary["orbits"]["pg_start_near_swap"]
    assert near["nearest_coincidence"] == "H2-H3 = H3-H4" and near["near_swap_residual"] < 0.2
    assert "pg-start itself (CN 2.3e+03 at σ = 0.3 Å) lies 0.011 Å from" in document
    # ρ 0.10 at 0.011 Å: the numbers support the branch-point claim
    assert "it starts near a ν = 2 branch point" in document
    # the Comment's CN at A0 as it states it, ours beside it in the text
    assert "1.000e+14" not in document and "CN ≈ 1e14 at its A0 for every σ; ours is" in document
    test = summary["learning"]["none"]["dataset_sources"]["test"]
    assert f"<td>test set generator</td><td>{test['name']} (seed" in document


def test_changed_learning_settings_rerun_only_learning(tiny_run, tmp_path):
    output = _copy_of(tiny_run, tmp_path)
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **{**TINY, "seed": 1})
    skipped = [m.split("]")[0].strip("[") for m in messages if "skipped" in m]
    assert skipped == ["orbits", "figure1"]


def test_published_data_do_not_rerun_the_learning(tiny_run, tmp_path):
    """--reference changes the orbit table, not the orbit the learning reads."""
    reference = reference_path("README.md").parent
    output = _copy_of(tiny_run, tmp_path)  # TINY's results, as the fixture made them
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, reference=reference, **TINY)
    skipped = [m.split("]")[0].strip("[") for m in messages if "skipped" in m]
    assert skipped == ["learning", "figure2"]


def test_changed_reference_files_redo_the_comparison_only(tiny_run, tmp_path):
    """The orbits step was keyed by the reference folder's path: files added to it later
    were never compared (stale "—" columns). Its key now holds the files' digests."""
    source = reference_path("README.md").parent
    output = _copy_of(tiny_run, tmp_path)
    partial = tmp_path / "ref"
    partial.mkdir()
    shutil.copy(source / "comment-orbit_sigma0.3_c1.0.extxyz", partial)
    with pytest.warns(UserWarning, match="published orbit missing"):
        first = reproduce(output, quick=True, log=lambda m: None, reference=partial, **TINY)
    compared = [r for r in first["orbits"]["orbits"] if r.get("deviation") is not None]
    assert len(compared) == 1 and "a0_distance_to_published" not in first["orbits"]
    for path in source.glob("comment-orbit_*.extxyz"):
        shutil.copy(path, partial)
    shutil.copy(source / "README.md", partial)
    messages: list[str] = []
    second = reproduce(output, quick=True, log=messages.append, reference=partial, **TINY)
    assert all(r.get("deviation") is not None for r in second["orbits"]["orbits"])
    # the distance of A0's 12 coordinates (it was their largest difference)
    published = _published_a0(partial / "README.md")
    ours = np.asarray(second["orbits"]["a0"], dtype=float)
    assert second["orbits"]["a0_distance_to_published"] == pytest.approx(
        np.linalg.norm(ours - published)
    )
    skipped = [m.split("]")[0].strip("[") for m in messages if "skipped" in m]
    assert skipped == ["learning", "figure2"]
    assert f"{partial.resolve()} (--reference)" in (output / "report.html").read_text()


def test_a_reference_folder_without_orbits_is_refused_before_any_work(tiny_run, tmp_path):
    """It was refused only inside the orbits step, after the step had removed orbits/."""
    output, _, _ = tiny_run
    (tmp_path / "empty").mkdir()
    before = sorted(p.name for p in (output / "orbits").iterdir())
    with pytest.raises(DegeneracyError, match="empty: no published orbit files"):
        reproduce(output, quick=True, log=lambda m: None, reference=tmp_path / "empty", **TINY)
    assert sorted(p.name for p in (output / "orbits").iterdir()) == before
    assert (output / "steps" / "orbits.json").exists()


def test_a_second_run_into_a_folder_being_written_is_refused(tiny_run, tmp_path):
    """Two runs into one folder: the second took the first's live step for an interrupted
    one ("[orbits] resuming"), then failed when the first removed its marker."""
    import fcntl
    import os

    from degeneracy.files import OUTPUT_LOCK, record_lock_owner

    output = _copy_of(tiny_run, tmp_path)
    # the first run, still writing: its lock as another process holds it (flock is per
    # open file; this process's own exclusive_output would enter the folder again)
    with open(output / OUTPUT_LOCK, "w") as first:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        record_lock_owner(first.fileno())
        before = {p.name: p.stat().st_mtime_ns for p in output.iterdir()}
        with pytest.raises(DegeneracyError) as refused:
            reproduce(output, quick=True, log=lambda m: None, **TINY)
        after = {p.name: p.stat().st_mtime_ns for p in output.iterdir()}
    assert after == before
    assert str(refused.value) == (
        f"another reproduce is writing {output} (pid {os.getpid()}); wait for it or choose "
        "another output=..."
    )
    # the lock ends with its holder: the next run goes ahead (every step cached)
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **TINY)
    assert not any("resuming" in m for m in messages), messages


def test_a_learning_run_whose_files_are_gone_is_redone(tiny_run, tmp_path):
    """The learning step recorded no files: deleted metrics and models stayed deleted,
    the step "done before", and the report quoted them (helper-127)."""
    output = _copy_of(tiny_run, tmp_path)
    recorded = json.loads((output / "steps" / "learning.json").read_text())["result"]["files"]
    assert len(recorded) == 3 * 4 and all((output / path).is_file() for path in recorded)
    (output / "learning" / "subset" / "metrics.json").unlink()
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **TINY)
    assert "[learning] done before, but learning/subset/metrics.json is missing: redone" in messages
    assert (output / "learning" / "subset" / "metrics.json").is_file()
    assert "[figure2] running" in messages  # what reads the learning is redone with it


def test_a_damaged_reference_file_is_refused_before_any_work(tiny_run, tmp_path):
    """A NaN in a published orbit was found in the orbits step, which had begun (and
    left steps/orbits.running)."""
    source = reference_path("README.md").parent
    damaged = tmp_path / "reference"
    shutil.copytree(source, damaged)
    path = damaged / "comment-orbit_sigma0.3_c1.0.extxyz"
    frames = ase.io.read(path, ":")
    frames[1].info["singular_values"] = np.full(9, np.nan)
    ase.io.write(path, frames, format="extxyz")
    output, _, _ = tiny_run
    before = sorted(p.name for p in (output / "steps").iterdir())
    with pytest.raises(DegeneracyError, match="frame 1: singular_values must be finite"):
        reproduce(output, quick=True, log=lambda m: None, reference=damaged, **TINY)
    assert sorted(p.name for p in (output / "steps").iterdir()) == before


def test_a_skipped_step_whose_files_are_gone_is_redone(tiny_run):
    """A deleted figure made every rerun fail on the missing file (only --force helped)."""
    output, _, _ = tiny_run
    reproduce(output, quick=True, log=lambda m: None, **TINY)  # back to TINY if changed
    (output / "figures" / "fig1a.png").unlink()
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **TINY)
    assert "[figure1] done before, but figures/fig1a.png is missing: redone" in messages
    assert (output / "figures" / "fig1a.png").exists()
    assert sum("skipped" in m for m in messages) == 3


def test_the_report_quotes_this_runs_spreads(tiny_run):
    """The E4 spread and gradient RMS were fixed strings (0.12, 0.33) for any sampler."""
    output, summary, _ = tiny_run
    document = html.unescape((output / "report.html").read_text())
    none = summary["learning"]["none"]
    assert f"E4 validation spread {none['val_std']:.3f} (P&G's: 0.117" in document
    gradient = f"∇E4's RMS per component {none['val_gradient_rms']:.2g}; beyond the Comment"
    assert gradient in document
    # the protocols and the test set as this run made them, not literals (201 frames,
    # "other generator" also when the training sampler was the test set's)
    subset = summary["learning"]["subset"]["protocol_description"]
    assert f"; subset = {subset};" in document
    test = none["dataset_sources"]["test"]["name"]
    assert summary["settings"]["sampler"] != test
    assert f"independent test RMSE (other generator: {test})" in document
    folders = json.loads((output / "figures" / "fig2.json").read_text())["folders"]
    assert all(
        (output / "figures" / folder / "metrics.json").exists() for folder in folders.values()
    )


def test_rerun_skips_finished_steps(tiny_run):
    output, _, _ = tiny_run
    reproduce(output, quick=True, log=lambda m: None, **TINY)  # back to TINY if changed
    messages: list[str] = []
    summary = reproduce(output, quick=True, log=messages.append, **TINY)
    assert sum("skipped" in m for m in messages) == 4
    # the run-time table said each reused step took the seconds of the run that made it
    assert summary["step_status"] == dict.fromkeys(summary["seconds"], "cached")
    document = (output / "report.html").read_text()
    for name in summary["seconds"]:
        assert f"<td>{name}</td><td>cached</td><td>result reused from an earlier run" in document


@pytest.mark.parametrize(
    ("format_name", "kept"),
    [
        # CNs stored under other rules (before round-off CNs were inf): orbits and Fig. 1
        ("ORBITS_STEP_FORMAT", {"learning", "figure2"}),
        # data sets of format 1 (other structures on AVX2 CPUs): learning and Fig. 2
        ("DATASET_FORMAT", {"orbits", "figure1"}),
    ],
)
def test_steps_rerun_when_their_format_changes(tiny_run, tmp_path, monkeypatch, format_name, kept):
    """A folder whose steps were made under another format recomputes those steps only."""
    import degeneracy.reproduce as reproducing

    output = _copy_of(tiny_run, tmp_path)  # TINY's steps, made under the current formats
    monkeypatch.setattr(reproducing, format_name, getattr(reproducing, format_name) + 1)
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **TINY)
    skipped = {m.split("]")[0].lstrip("[") for m in messages if "skipped" in m}
    assert skipped == kept, messages


def test_report_says_where_cached_learning_ran_when_it_was_elsewhere(tiny_run, monkeypatch):
    """The Software table describes this machine; learning reused from a run on another
    CPU or BLAS computed its round-off digits there, and the report says so."""
    import degeneracy.reproduce as reproducing

    output, summary, _ = tiny_run
    assert "learning ran on" not in summary["versions"]  # learned here
    here = reproducing.software_versions()
    monkeypatch.setattr(reproducing, "software_versions", lambda: {**here, "cpu": "another CPU"})
    again = reproduce(output, quick=True, log=lambda m: None, **TINY)
    assert again["step_status"]["learning"] == "cached"
    ran_on = again["versions"]["learning ran on"]
    assert ran_on.startswith(f"cpu {here['cpu']}; blas {here['blas']}; numpy_simd ")
    assert "<td>learning ran on</td>" in (output / "report.html").read_text()
    assert reproducing._learning_machine({"learning": {"none": {}}, "versions": here}) == {}


def test_run_time_table_marks_reused_steps(tmp_path):
    """A step skipped because its result was cached was shown with the seconds the
    earlier run took, as if it had run again in that time."""
    runner = StepRunner(tmp_path, log=lambda m: None)
    runner.run("a", lambda: {"x": 1}, setting=1)
    seconds = runner.timings["a"]
    runner = StepRunner(tmp_path, log=lambda m: None)
    runner.run("a", lambda: {"x": 1}, setting=1)
    runner.run("b", lambda: {})
    assert runner.status == {"a": "cached", "b": "ran"}
    table = _run_time_table({"seconds": runner.timings, "step_status": runner.status})
    assert table.columns == ["step", "s (this run)", "note"]
    cached, ran = table.rows
    assert cached[:2] == ["a", "cached"] and f"took {seconds:.3g} s" in cached[2]
    assert ran == ["b", runner.timings["b"], ""]
    resumed = _run_time_table({"seconds": {"c": 5.0}, "step_status": {"c": "resumed"}})
    assert resumed.rows[0][:2] == ["c", 5.0] and "resumed" in resumed.rows[0][2]


PG_START = {
    "cn": 2270.6,
    "nearest_coincidence": "H2-H3 = H3-H4",
    "coincidence_distance": 0.0112,
    "near_swap_residual": 0.0993,
}


@pytest.mark.parametrize(
    "change, unmet",
    [
        ({"near_swap_residual": 0.8}, ["ρ not below 0.5"]),
        ({"coincidence_distance": 0.3}, ["pairs not within 0.04 Å"]),
        ({"near_swap_residual": float("nan")}, ["ρ not below 0.5", "ρ = undefined"]),
        ({"near_swap_residual": None}, ["ρ not below 0.5"]),
    ],
)
def test_pg_start_is_called_near_a_branch_point_only_when_the_numbers_say_so(change, unmet):
    """The sentence claimed "mostly the trade … near a ν = 2 branch point" for any ρ and
    distance; it now states the numbers alone when ρ or the distance is too large."""
    [claimed] = _pg_start_sentence(PG_START)
    assert "ρ = 0.10; 0 for a pure trade" in claimed
    assert claimed.endswith("it starts near a ν = 2 branch point.")
    [plain] = _pg_start_sentence({**PG_START, **change})
    assert "mostly the trade" not in plain and "it starts near" not in plain
    assert plain.startswith("pg-start itself (CN 2.3e+03 at σ = 0.3 Å) lies")
    assert all(text in plain for text in unmet)
    assert _pg_start_sentence({"nearest_coincidence": None}) == []


def test_mostly_trade_threshold_is_trade_scales():
    from degeneracy.sensitivity import trade_scale

    assert inspect.signature(trade_scale).parameters["residual"].default == MOSTLY_TRADE_RHO


def test_lookup_sentence_says_what_this_run_shows():
    """It stated a general rule about lookup tables and drew nothing from the numbers."""
    metrics = {
        "val_rmse": 0.0624,
        "test_rmse": 0.0414,
        "baselines": {"nearest_neighbour": {"val_rmse": 0.1097, "test_rmse": 0.0899}},
    }
    [independent] = _lookup_sentence(metrics)
    assert "against the network's 0.0624 and 0.0414" in independent
    assert "error is 1.8× lower than the lookup's on validation and 2.2× lower than it on " in (
        independent
    )
    assert (
        "does not do clearly better on validation than on independent frames (ratio 1.22)"
        in independent
    )
    assert "would make this run's validation RMSE partly an interpolation error" in independent
    metrics["baselines"]["nearest_neighbour"]["val_rmse"] = 0.02  # a trajectory split's
    [split] = _lookup_sentence(metrics)
    assert "error is 3.1× higher than the lookup's on validation" in split
    assert "does clearly better on validation than on independent frames (ratio 0.22)" in split
    assert "partly measure interpolation" in split
    del metrics["test_rmse"]  # the network's independent error not recorded
    [alone] = _lookup_sentence(metrics)
    assert "the network" not in alone and "scores 0.0200 on the validation" in alone
    assert _lookup_sentence({"val_rmse": 0.06}) == []
    # within noise (ratio 1.00, networks alike): no claim of better or worse either way
    metrics["baselines"]["nearest_neighbour"].update(val_rmse=0.0849, test_rmse=0.085)
    metrics.update(val_rmse=0.0849, test_rmse=0.0414)
    [tie] = _lookup_sentence(metrics)
    assert "error is about equal to the lookup's on validation" in tie
    assert "does not do clearly better on validation" in tie and "(ratio 1.00)" in tie


def test_a0_condition_number_is_quoted_as_an_order_of_magnitude():
    """The Comment's "CN ≈ 1e14" printed as 1.000e+14, and ours ~33× lower only in the
    table."""
    orbits = {
        "a0": [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
        "a0_cn": {"0.1": 2.9989e12, "0.5": 2.8845e14},
        "a0_symmetry_residual": 0.116,
    }
    section = _a0_section(orbits)
    text = " ".join(section.paragraphs)
    assert (
        "The Comment reports CN ≈ 1e14 at its A0 for every σ; ours is 3.0e+12 at σ = 0.1 Å "
        "(33× lower than it), 2.9e+14 at σ = 0.5 Å (2.9× higher than it)." in text
    )
    table = section.tables[1]
    assert table.columns == ["SOAP", "ours", "ours: s9/s1", "Comment", "ours / Comment"]
    assert [row[3] for row in table.rows] == ["≈ 1e14", "≈ 1e14"]
    assert table.rows[0][4] == pytest.approx(0.029989)
    document = html.unescape(render_report("t", [section], settings={}, versions={}))
    assert "1.000e+14" not in document and "<td>≈ 1e14</td>" in document


@pytest.mark.parametrize("infinite", [float("inf"), None])  # None: inf in strict JSON
def test_a0_condition_number_at_round_off_is_said_to_be_so(infinite):
    """An A0 whose s9 is at the round-off floor has CN inf: the report says what that is
    (with s9/s1), not "inf (not comparable with it)"."""
    orbits = {
        "a0": [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
        "a0_cn": {"0.1": infinite, "0.5": 2.8845e14},
        "a0_relative_s_min": {"0.1": 1.4e-16, "0.5": 3.5e-15},
        "a0_symmetry_residual": 0.116,
    }
    section = _a0_section(orbits)
    text = " ".join(section.paragraphs)
    assert "ours is inf at σ = 0.1 Å, 2.9e+14 at σ = 0.5 Å (2.9× higher than it)." in text
    assert "An infinite CN is s9 at the round-off floor" in text and "5.0e+14" in text
    assert "not comparable" not in text
    table = section.tables[1]
    assert table.rows[0][1:3] == ["inf (s9 at round-off)", 1.4e-16]
    assert table.rows[0][4] == "at round-off"
    render_report("t", [section], settings={}, versions={})
    orbits["a0_cn"]["0.5"] = infinite
    text = " ".join(_a0_section(orbits).paragraphs)
    assert "ours is inf at every σ (0.1, 0.5 Å)." in text


def test_settings_name_what_the_learning_used(tiny_run):
    """The settings table gave the orbits' basis only: not the test set's generator, the
    learning fingerprint's (optimal) basis, nor why and when each protocol stopped."""
    _, summary, _ = tiny_run
    settings = _report_settings(summary)
    none = summary["learning"]["none"]
    test = none["dataset_sources"]["test"]
    frames = TINY["test_frames"]
    assert (
        settings["test set generator"] == f"{test['name']} (seed {test['seed']}, {frames} frames)"
    )
    assert settings["learning fingerprint"].startswith("soap σ = 0.3 Å, optimal radial basis")
    assert settings["learning fingerprint"].endswith(
        "(orbits and A0: gto radial basis, the basis setting)"
    )
    for name in ("none", "subset", "full"):
        metrics = summary["learning"][name]
        assert settings[f"training stop, {name}"].startswith(
            f"{metrics['stopped']} after {metrics['epochs']} epochs (best "
        )
    assert settings["reference"] == "none" and settings["basis"] == "gto"
    bare = {"settings": summary["settings"], "learning": {"none": {}, "repeats": {"seeds": [0]}}}
    settings = _report_settings(bare)
    assert settings["test set generator"] == "not recorded"
    assert settings["training stop, full (first seed)"] == "not recorded"


def test_step_runner_keys_chain_and_stale_outputs(tmp_path):
    calls: list[str] = []
    runner = StepRunner(tmp_path, log=lambda m: None)
    assert runner.run("a", lambda: calls.append("a") or {"x": 1}, setting=1) == {"x": 1}
    runner.run("b", lambda: calls.append("b") or {})
    runner = StepRunner(tmp_path, log=lambda m: None)
    runner.run("a", lambda: calls.append("a") or {"x": 1}, setting=1)
    runner.run("b", lambda: calls.append("b") or {})
    assert calls == ["a", "b"]  # both cached
    stale = tmp_path / "b-outputs"
    stale.mkdir()
    runner = StepRunner(tmp_path, log=lambda m: None)
    runner.run("a", lambda: calls.append("a") or {"x": 2}, setting=2)
    runner.run("b", lambda: calls.append("b") or {}, outputs=stale)
    assert calls == ["a", "b", "a", "b"]  # a changed, so b (after it) reruns
    assert not stale.exists()  # outputs of the other settings removed first


def test_a_step_run_again_for_the_same_key_reruns_what_reads_it(tmp_path):
    """An interrupted rerun removed the learning's record but kept Fig. 2's, whose key
    chained only the learning's *settings*: the learning ran again (a time-limited
    training comes out otherwise) and Fig. 2 stayed that of the training before
    (helper-127). A step's run now keys what follows."""
    calls: list[str] = []

    def steps() -> None:
        runner = StepRunner(tmp_path, log=lambda m: None)
        runner.run("learning", lambda: calls.append("learning") or {}, seed=0)
        runner.run("figure2", lambda: calls.append("figure2") or {})

    steps()
    steps()
    assert calls == ["learning", "figure2"]  # cached: the same run, read back
    (tmp_path / "steps" / "learning.json").unlink()  # as an interrupted rerun leaves it
    steps()
    assert calls == ["learning", "figure2"] * 2


def test_step_runner_never_trusts_an_interrupted_step(tmp_path):
    """A step of new settings interrupted midway: its old result is gone (a rerun of the
    old settings recomputes instead of reading half-overwritten files), the same settings
    resume their outputs, other settings start them afresh."""
    outputs = tmp_path / "out"

    def interrupted():
        outputs.mkdir(exist_ok=True)
        (outputs / "partial").write_text("x")
        raise KeyboardInterrupt

    def finish(value):
        def step():
            outputs.mkdir(exist_ok=True)
            kept = (outputs / "partial").exists()
            return {"value": value, "resumed": kept}

        return step

    kinds = ("partial",)  # what the step writes: its own, removed for other settings
    runner = StepRunner(tmp_path, log=lambda m: None)
    assert runner.run("s", finish(1), outputs=outputs, kinds=kinds, seed=0) == {
        "value": 1,
        "resumed": False,
    }
    with pytest.raises(KeyboardInterrupt):
        StepRunner(tmp_path, log=lambda m: None).run(
            "s", interrupted, outputs=outputs, kinds=kinds, seed=1
        )
    assert not (tmp_path / "steps" / "s.json").exists()  # seed 0's result no longer claimed
    messages: list[str] = []
    runner = StepRunner(tmp_path, log=messages.append)
    assert runner.run("s", finish(1), outputs=outputs, kinds=kinds, seed=0)["resumed"] is False
    assert messages[0] == "[s] running"
    with pytest.raises(KeyboardInterrupt):
        StepRunner(tmp_path, log=lambda m: None).run(
            "s", interrupted, outputs=outputs, kinds=kinds, seed=1
        )
    runner = StepRunner(tmp_path, log=messages.append)
    assert runner.run("s", finish(2), outputs=outputs, kinds=kinds, seed=1)["resumed"] is True
    assert "[s] resuming" in messages
    # a step that names what it reads does not rerun when an unrelated earlier step does
    calls: list[str] = []
    for setting in (1, 2):
        runner = StepRunner(tmp_path, log=lambda m: None)
        runner.run("a", lambda: calls.append("a") or {}, setting=setting)
        runner.run("b", lambda: calls.append("b") or {}, after=())
    assert calls == ["a", "b", "a"]


def test_force_starts_from_nothing(tiny_run, tmp_path, monkeypatch):
    output = _copy_of(tiny_run, tmp_path)
    import degeneracy.reproduce as module

    ran: list[str] = []
    for name in ("_figure1_step", "_learning_step", "_figure2_step"):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _n=name: ran.append(_n) or _r(*a))
    stale = output / "cache" / "features-0123456789abcdef.npz"  # a cache file's name
    stale.write_text("stale")
    monkeypatch.setattr(module, "_orbits_step", _cached_orbits(output, ran))
    reproduce(output, quick=True, force=True, log=lambda m: None, **TINY)
    assert ran == ["_orbits_step", "_figure1_step", "_learning_step", "_figure2_step"]
    assert not stale.exists()


def test_an_interrupted_force_leaves_no_finished_looking_report(tiny_run, monkeypatch):
    """--force removed the steps and the learning but kept the old report beside them."""
    output, _, _ = tiny_run
    import degeneracy.reproduce as module

    copy = output.parent / "forced"
    shutil.copytree(output, copy)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_orbits_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reproduce(copy, quick=True, force=True, log=lambda m: None, **TINY)
    assert not (copy / "report.html").exists() and not (copy / "summary.json").exists()
    # nothing of the earlier run is left to be taken for this one's (every figure was)
    assert sorted(p.name for p in copy.iterdir()) == [".degeneracy.lock", "steps"]
    assert sorted(p.name for p in (copy / "steps").iterdir()) == ["orbits.running"]


def test_an_interrupted_rerun_with_new_settings_leaves_no_finished_looking_report(
    tiny_run, monkeypatch
):
    """A re-run of another seed, interrupted in the learning, removed the learning but kept
    the old report and summary.json, which described the removed results."""
    output, _, _ = tiny_run
    import degeneracy.reproduce as module

    copy = output.parent / "reseeded"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(output, copy)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_learning_step", interrupted)
    messages: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        reproduce(copy, quick=True, log=messages.append, **{**TINY, "seed": 1})
    assert [m for m in messages if "skipped" in m][:2] == [
        "[orbits] done before, skipped",
        "[figure1] done before, skipped",
    ]
    assert not (copy / "report.html").exists() and not (copy / "summary.json").exists()


def test_step_runner_calls_before_run_only_when_a_step_runs(tmp_path):
    calls: list[str] = []

    def runner():
        return StepRunner(tmp_path, log=lambda m: None, before_run=lambda: calls.append("x"))

    runner().run("a", lambda: {}, setting=1)
    assert calls == ["x"]
    runner().run("a", lambda: {}, setting=1)  # cached: the report stays
    assert calls == ["x"]
    runner().run("a", lambda: {}, setting=2)
    assert calls == ["x", "x"]


@pytest.mark.parametrize("damage", ['{"key": ', "[1, 2]", '{"key": 3}', "\udcff"])
def test_a_damaged_step_record_is_redone_with_a_warning(tmp_path, damage):
    calls: list[str] = []
    StepRunner(tmp_path, log=lambda m: None).run("a", lambda: calls.append("a") or {}, s=1)
    stamp = tmp_path / "steps" / "a.json"
    if damage == "\udcff":
        stamp.write_bytes(b"\xff\xfe\x00garbage")
    else:
        stamp.write_text(damage)
    with pytest.warns(DegeneracyWarning, match=f"{stamp}: damaged"):
        StepRunner(tmp_path, log=lambda m: None).run("a", lambda: calls.append("a") or {}, s=1)
    assert calls == ["a", "a"]
    assert json.loads(stamp.read_text())["result"] == {}


@pytest.mark.parametrize("value", ["0.799692x", "nan", "inf"])
def test_a_damaged_published_a0_is_refused_naming_the_file_and_line(tmp_path, value):
    readme = tmp_path / "README.md"
    readme.write_text(
        "A0:\n\nH1 -0.48 -0.01 0.98\nH2 " + value + " -0.54 -0.50\nH3 0.78 0.62 0.45\n"
        "H4 -0.66 0.86 0.09\n"
    )
    with pytest.raises(DegeneracyError, match=f"{readme}, line 4: published A0"):
        _published_a0(readme)
    readme.write_text(readme.read_text().replace(value, "0.799692"))
    assert _published_a0(readme)[1, 0] == 0.799692


def test_a_damaged_published_a0_is_refused_before_any_work(tiny_run, tmp_path):
    """It was read after the orbits step: a traceback, or "difference … nan Å"."""
    output, _, _ = tiny_run
    source = reference_path("README.md").parent
    damaged = tmp_path / "ref"
    shutil.copytree(source, damaged)
    readme = damaged / "README.md"
    readme.write_text(readme.read_text().replace("0.799692", "0.79969x"))
    before = (output / "steps" / "orbits.json").read_text()
    with pytest.raises(DegeneracyError, match=r"README.md, line \d+: published A0"):
        reproduce(output, quick=True, log=lambda m: None, reference=damaged, **TINY)
    assert (output / "steps" / "orbits.json").read_text() == before
    assert (output / "report.html").exists()


def _cached_orbits(output, ran):
    """Stand-in for the orbit step that returns the previous result and restores its
    files (the step runner removes them before a rerun; saves ~40 s)."""
    previous = json.loads((output / "steps" / "orbits.json").read_text())["result"]
    saved = output.parent / "orbits-saved"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(output / "orbits", saved)

    def step(*args):
        ran.append("_orbits_step")
        shutil.rmtree(output / "orbits", ignore_errors=True)
        shutil.copytree(saved, output / "orbits")
        return previous

    return step


def test_trajectory_sampler_reruns_learning_and_says_so(tiny_run, tmp_path):
    output = _copy_of(tiny_run, tmp_path)
    messages: list[str] = []
    summary = reproduce(output, quick=True, log=messages.append, **TINY, sampler="trajectory")
    skipped = [m.split("]")[0].strip("[") for m in messages if "skipped" in m]
    assert skipped == ["orbits", "figure1"]
    metrics = summary["learning"]["none"]
    assert metrics["dataset_sources"]["val"]["random_split_of_pool"] is True
    assert metrics["dataset_sources"]["val"]["name"] == "trajectory"
    assert metrics["dataset_sources"]["test"]["name"] == "tilted"
    document = (output / "report.html").read_text()
    assert "random split of correlated trajectory frames (trajectory sampler)" in document
    reproduce(output, quick=True, log=lambda m: None, **TINY)  # back to the default
    assert "independent random structures (thermal sampler)" in (output / "report.html").read_text()


def test_repeats_report_each_error_over_seeds_and_the_paired_gap(tiny_run, tmp_path):
    output = _copy_of(tiny_run, tmp_path)
    messages: list[str] = []
    short = {**TINY, "train_minutes": 0.02}
    summary = reproduce(output, quick=True, log=messages.append, **short, repeats=2, seed=3)
    skipped = [m.split("]")[0].strip("[") for m in messages if "skipped" in m]
    assert skipped == ["orbits", "figure1"]
    repeats = summary["learning"]["repeats"]
    assert repeats["seeds"] == [3, 4]
    for name in ("none", "subset", "full"):
        values = repeats["protocols"][name]["val_rmse"]["values"]
        first = json.loads((output / "learning" / "seed-3" / name / "metrics.json").read_text())
        second = json.loads((output / "learning" / "seed-4" / name / "metrics.json").read_text())
        assert values == [first["val_rmse"], second["val_rmse"]]
        assert summary["learning"][name]["val_rmse"] == first["val_rmse"]  # Fig. 2: first seed
    gap = repeats["heldout_orbit_none_minus_subset"]
    assert gap["n"] == 2 and gap["stderr"] is not None
    document = (output / "report.html").read_text()
    assert "mean ± std (2 seeds)" in document and "ours (seed 3)" in document
    assert (
        "over 2 seeds (positive for every seed, paired t significant at the one-sided 5 % level)"
        in document
    )
    assert not (output / "learning" / "none").exists()  # the one-seed layout was replaced
    reproduce(output, quick=True, log=lambda m: None, **TINY)  # back to one seed
    assert "repeats" not in json.loads((output / "summary.json").read_text())["learning"]


def test_repeated_checks_need_every_seed_and_t_above_two():
    def protocol(orbit):
        return {"orbit_rmse": {"mean": orbit}}

    repeats = {
        "seeds": [0, 1, 2],
        "protocols": {"none": protocol(0.2), "subset": protocol(0.1), "full": protocol(0.08)},
        "heldout_orbit_none_minus_subset": {"n": 3, "t": 4.4, "all_positive": True},
    }
    one_seed = {"orbit_heldout_rmse": 0.0, "orbit_rmse": 0.0}  # ignored with repeats
    learning = {"none": one_seed, "subset": one_seed, "full": one_seed, "repeats": repeats}
    assert learning_checks(learning) == {
        "subset_beats_none_on_heldout_orbit": True,
        "full_lowest_orbit_rmse": True,
    }
    repeats["heldout_orbit_none_minus_subset"]["t"] = 1.5
    assert not learning_checks(learning)["subset_beats_none_on_heldout_orbit"]
    repeats["heldout_orbit_none_minus_subset"].update(t=9.0, all_positive=False)
    assert not learning_checks(learning)["subset_beats_none_on_heldout_orbit"]
    repeats["protocols"]["full"] = protocol(0.15)
    assert not learning_checks(learning)["full_lowest_orbit_rmse"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sampler": "md"}, r"sampler.*'md'"),
        ({"train_minutes": -3.0}, r"train_minutes must be a positive number, got -3.0"),
        ({"workers": 0}, r"workers must be at least 1 and at most \d+, got 0"),
        ({"train_frames": 2.5}, r"train_frames must be an integer, got 2.5"),
        ({"basis": "plane-waves"}, r"basis must be one of .*'plane-waves'"),
        ({"orbit_length": float("nan")}, r"orbit_length must be a positive number"),
        ({"repeats": 0}, r"repeats must be at least 1, got 0"),
        ({"train_minutes": 1e308}, r"train_minutes must be smaller than .*, got 1e\+308"),
        ({"workers": 3_000_000_000}, rf"workers must be at least 1 and at most {MAX_WORKERS}"),
        ({"seed": 2**64}, r"seed must be at most 2\*\*64 - 1"),
        ({"seed": 2**64 - 1, "repeats": 2}, r"repeats 2 from seed 18446744073709551615 would"),
    ],
)
def test_bad_settings_are_refused_when_built(change, message):
    with pytest.raises(DegeneracyError, match=message):
        ReproduceSettings(**change)


def test_bad_sampler_is_refused(tmp_path, capsys):
    assert main(["reproduce", "--output", str(tmp_path / "y"), "--train-minutes", "-3"]) == 2
    assert "error: --train-minutes must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
    with pytest.raises(SystemExit):
        main(["reproduce", "--output", str(tmp_path / "x"), "--sampler", "md"])
    assert "invalid choice: 'md'" in capsys.readouterr().err


def test_checks_read_the_tables():
    rows = [
        {"sigma": s, "c": c, "median_cn": (10 if s == 0.5 else 1) * (50 if c < 1 else 20)}
        for s in (0.1, 0.5)
        for c in (0.1, 0.5, 1.0, 1.5)
    ]
    assert trend_checks(rows) == {"near_higher": True, "wide_sigma_higher": True}
    rows[0]["median_cn"] = 5
    assert trend_checks(rows)["near_higher"] is False
    learning = {
        "none": {"orbit_heldout_rmse": 0.14, "orbit_rmse": 0.14},
        "subset": {"orbit_heldout_rmse": 0.07, "orbit_rmse": 0.06},
        "full": {"orbit_heldout_rmse": None, "orbit_rmse": 0.03},
    }
    assert all(learning_checks(learning).values())


def test_quick_settings():
    quick = ReproduceSettings.for_mode(True)
    assert quick.quick and quick.train_minutes is not None
    assert not ReproduceSettings.for_mode(False).quick


def test_cli_errors(tmp_path, capsys):
    assert main(["reproduce", "--output", str(tmp_path / "a" / "b")]) == 2
    assert "parent folder" in capsys.readouterr().err
    assert (
        main(
            ["reproduce", "--output", str(tmp_path / "x"), "--reference", str(tmp_path / "nowhere")]
        )
        == 2
    )
    assert "reference folder does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["reproduce", "--output", str(tmp_path / "file")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_a_folder_holding_a_learn_run_is_refused(tmp_path, capsys, monkeypatch):
    """reproduce --output DIR wrote its orbits, steps and report beside the metrics.json
    and model.pt of a `learn --output DIR` run, without a word."""
    import degeneracy as dg

    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))
    start = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    orbit = tmp_path / "orbit.extxyz"
    dg.write_environments(
        orbit, [dg.environment_from_neighbors(start * (1 + t)) for t in (0, 0.01, 0.02, 0.03)]
    )
    learned = tmp_path / "learned"
    argv = ["learn", "--protocol", "none", "--quick", "--orbit", str(orbit), "--output",
            str(learned), "--basis", "gto", "--n-max", "3", "--l-max", "2", "--n-train", "200",
            "--n-val", "60", "--n-test", "60", "--epochs", "2", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    before = sorted(path.name for path in learned.iterdir())
    assert main(["reproduce", "--quick", "--output", str(learned)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"degeneracy reproduce: error: {learned} holds a `degeneracy learn` run (metrics.json, "
        "model.pt, checkpoint.pt), not a reproduction (reproduce writes its learning runs "
        "under learning/ in its own folder): choose another --output\n"
    )
    assert sorted(path.name for path in learned.iterdir()) == before  # no steps/, cache/
    # a --protocol all run: its protocol folders and fig2.json
    every = tmp_path / "all"
    for name in ("none/model.pt", "subset/checkpoint.pt", "fig2.json"):
        (every / name).parent.mkdir(parents=True, exist_ok=True)
        (every / name).write_bytes(b"")
    with pytest.raises(DegeneracyError, match=r"all holds a `degeneracy learn` run \(fig2\.json, "
                       r"none/model\.pt, subset/checkpoint\.pt\)"):  # fmt: skip
        reproduce(every, quick=True, log=lambda m: None, **TINY)
    assert sorted(path.name for path in every.iterdir()) == ["fig2.json", "none", "subset"]


def test_a_folder_reproduce_wrote_is_not_a_learn_run(tiny_run):
    """Its learning runs are under learning/: the same files there are its own."""
    from degeneracy.reproduce import check_not_a_learn_folder

    output, _, _ = tiny_run
    assert (output / "learning" / "none" / "model.pt").is_file()
    check_not_a_learn_folder(output)


def test_a_learn_run_into_a_reproduction_is_refused(tiny_run, capsys):
    """learn --output DIR wrote metrics.json and model.pt beside a reproduction's
    report.html, summary.json and steps/ (the counterpart of the test above)."""
    output, _, _ = tiny_run
    before = sorted(path.name for path in output.iterdir())
    argv = ["learn", "--protocol", "none", "--quick", "--output", str(output), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"degeneracy learn: error: {output} holds a `degeneracy reproduce` run (report.html, "
        "summary.json, steps/"
    ), err
    assert err.rstrip().endswith("not a learn run: choose another --output")
    assert sorted(path.name for path in output.iterdir()) == before
    # an interrupted reproduction (no report yet) is one too
    from degeneracy.learning.protocols import check_not_a_reproduction

    stamp = next((output / "steps").glob("*.json"))
    scratch = output.parent / "interrupted"
    (scratch / "steps").mkdir(parents=True)
    (scratch / "steps" / stamp.name.replace(".json", ".running")).write_text("{}")
    with pytest.raises(DegeneracyError, match=r"interrupted holds a `degeneracy reproduce` run"):
        check_not_a_reproduction(scratch)
    check_not_a_reproduction(output.parent / "elsewhere")  # a new folder is fine


@pytest.mark.parametrize(
    "options, message",
    [
        (["--train-minutes", "1e308"], "--train-minutes must be smaller than"),
        (["--seed", str(2**64 - 1), "--repeats", "2"], "--repeats 2 from seed"),
        (["--workers", "3000000000"], f"--workers must be at least 1 and at most {MAX_WORKERS}"),
    ],
)
def test_cli_refuses_late_failing_settings_naming_the_option(tmp_path, capsys, options, message):
    """They passed validation and failed after the orbits step (or with a traceback)."""
    assert main(["reproduce", "--output", str(tmp_path / "x"), *options]) == 2
    err = capsys.readouterr().err
    assert f"degeneracy reproduce: error: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_quick_reproduction_keeps_the_conclusions(tmp_path):
    summary = reproduce(tmp_path / "quick", quick=True, log=lambda m: None)
    assert all(summary["trends"].values())
    assert all(summary["learning_checks"].values())
    assert summary["total_seconds"] < 300


@pytest.mark.parametrize(
    ("resumed", "ending"),
    [
        (0, "early-stop after 255 epochs (best 155)"),
        (120, "early-stop after 255 epochs (best 155), resumed from epoch 120"),
        # a protocol that had finished before the interrupt: nothing was resumed
        (255, "(best 155), finished before an interrupt (read back from its checkpoint)"),
    ],
)
def test_stop_text_tells_a_resumed_training_from_one_read_back(resumed, ending):
    metrics = {"stopped": "early-stop", "epochs": 255, "best_epoch": 155}
    text = _stop_text({**metrics, "resumed_from_epoch": resumed})
    assert text.endswith(ending), text


def test_user_files_in_a_steps_outputs_are_refused_before_any_work(tmp_path):
    """Files in DIR/orbits and DIR/learning that reproduce did not write were deleted
    without a word when its steps ran (helper-157)."""
    output = tmp_path / "out"
    (output / "orbits").mkdir(parents=True)
    (output / "learning").mkdir()
    (output / "orbits" / "my_notes.txt").write_text("mine")
    (output / "learning" / "my_log.txt").write_text("mine")
    with pytest.raises(DegeneracyError) as refused:
        reproduce(output, quick=True, log=lambda m: None, **TINY)
    assert str(refused.value) == (
        f"{output.resolve() / 'orbits'} holds my_notes.txt, which reproduce did not write "
        "(it has no record of its orbits step): move it, or choose another output=..."
    )
    assert (output / "orbits" / "my_notes.txt").read_text() == "mine"
    assert (output / "learning" / "my_log.txt").read_text() == "mine"
    assert not (output / "steps").exists() and not (output / "cache").exists()


def test_a_user_file_in_a_reproduction_is_never_removed(tiny_run, tmp_path):
    """A step redone for new settings removed its outputs folder whole; --force removed
    cache/, learning/ and steps/ whoever wrote into them."""
    output = _copy_of(tiny_run, tmp_path)
    (output / "orbits" / "my_notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(DegeneracyError, match=r"orbits holds my_notes\.txt, which reproduce"):
            reproduce(
                output, quick=True, force=force, log=lambda m: None, **{**TINY, "orbit_length": 0.2}
            )
        # refused before anything went: the report, the steps, the orbits
        assert (output / "report.html").is_file()
        assert (output / "steps" / "orbits.json").is_file()
        assert len(list((output / "orbits").glob("orbit_sigma*.extxyz"))) == 16
    (output / "orbits" / "my_notes.txt").unlink()
    (output / "figures" / "my_plot.png").write_text("mine")
    with pytest.raises(DegeneracyError, match=r"figures holds my_plot\.png, which reproduce"):
        reproduce(output, quick=True, force=True, log=lambda m: None, **TINY)
    assert (output / "figures" / "fig1a.png").is_file() and (output / "cache").is_dir()


def test_an_orbits_step_whose_family_files_are_gone_is_redone(tiny_run, tmp_path):
    """The orbits step recorded only the orbits: without orbits/summary.json (or
    a0.extxyz) it was trusted, and Fig. 1 failed on every rerun (helper-157)."""
    output = _copy_of(tiny_run, tmp_path)
    recorded = json.loads((output / "steps" / "orbits.json").read_text())["result"]["files"]
    assert recorded == ["orbits/summary.json", "orbits/a0.extxyz"]
    (output / "orbits" / "summary.json").unlink()
    (output / "figures" / "fig1a.png").unlink()
    messages: list[str] = []
    reproduce(output, quick=True, log=messages.append, **TINY)
    assert "[orbits] done before, but orbits/summary.json is missing: redone" in messages
    assert "[figure1] running" in messages
    assert (output / "orbits" / "summary.json").is_file()
    assert (output / "figures" / "fig1a.png").is_file() and (output / "report.html").is_file()
