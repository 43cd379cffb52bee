"""Command lines that would destroy an input or run away: an output that is an input file,
counts and ratios beyond any use, tolerances that mean nothing (a CLI audit, s31).

Each is refused before any work with one line naming the option and the value, exit
status 2, the input untouched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import exit_status, one_error_line

from degeneracy.checks import text_beside
from degeneracy.errors import DegeneracyError
from degeneracy.orbits import OrbitSettings

_CH4_FRAME = (
    "5\n\nC 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\nH 0.63 -0.63 -0.63\n"
)


def _link(kind: str, target: Path, link: Path) -> None:
    if kind == "symlink":
        link.symlink_to(target)
    else:
        os.link(target, link)


#: (id, argv with IN for the input file and DIR for the folder, the option refused, the
#: input's name in the error, how the output is the input: "same" name, or a "symlink"
#: or "hardlink" named OUT)
OVERWRITES = [
    ("singular", ["singular", "IN", "--output", "IN"], "--output", "FILE", "same"),
    ("singular-hardlink", ["singular", "IN", "--output", "OUT"], "--output", "FILE", "hardlink"),
    ("orbit", ["orbit", "IN", "--output", "IN", "--length", "0.02"], "--output", "FILE", "same"),
    ("orbit-chemiscope", ["orbit", "IN", "--output", "DIR/o.extxyz", "--chemiscope", "OUT"],
     "--chemiscope", "FILE", "symlink"),
    ("spectrum-symlink", ["spectrum", "IN", "--output", "OUT"], "--output", "FILE", "symlink"),
    ("compare", ["compare", "IN", "--output", "OUT"], "--output", "FILE", "symlink"),
    ("compare-plot", ["compare", "IN", "--plot", "DIR/p"], "--plot", "FILE", "plot"),
    ("pairs-verify", ["pairs", "--verify", "IN", "--output", "OUT"], "--output", "--verify FILE",
     "symlink"),
    ("fit-basis", ["fit-basis", "IN", "--output", "OUT"], "--output", "FILE", "hardlink"),
    ("scan-singular", ["scan", "IN", "--output", "DIR/r.csv", "--singular", "IN"], "--singular",
     "DATASET", "same"),
    ("scan-output", ["scan", "IN", "--output", "OUT"], "--output", "DATASET", "symlink"),
    ("family-a0", ["family", "--output", "DIR", "--a0", "DIR/a0.extxyz"], "--output", "--a0 FILE",
     "family"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "option", "name", "how"),
    [case[1:] for case in OVERWRITES],
    ids=[case[0] for case in OVERWRITES],
)
def test_an_output_that_is_an_input_is_refused_before_work(
    argv, option, name, how, tmp_path, capsys
):
    """`singular IN --output IN` (and orbit's, scan's --singular) replaced the user's
    structures by the results; a link to the input is the input too."""
    source = tmp_path / ("a0.extxyz" if how == "family" else "in.extxyz")
    source.write_text(_CH4_FRAME)
    suffix = {"spectrum": ".json", "compare": ".csv", "pairs": ".csv", "fit-basis": ".npz",
              "orbit": ".json", "scan": ".csv"}.get(argv[0], ".extxyz")  # fmt: skip
    out = tmp_path / f"out{suffix}"
    if how in ("symlink", "hardlink"):
        _link(how, source, out)
    if how == "plot":
        _link("symlink", source, tmp_path / "p.png")
    argv = [
        a.replace("IN", str(source)).replace("OUT", str(out)).replace("DIR", str(tmp_path))
        for a in argv
    ]
    before = sorted(tmp_path.iterdir())
    assert exit_status(argv) == 2
    line = one_error_line(capsys, argv[0])
    assert line.startswith(f"{option} "), line
    assert f" is the input {name}" in line and line.endswith(
        ": it would be overwritten; choose another path"
    ), line
    assert source.read_text() == _CH4_FRAME
    assert sorted(tmp_path.iterdir()) == before


def test_the_default_report_name_of_a_scan_may_not_be_its_data_set(tmp_path, capsys):
    """`scan r.singular.extxyz --output r.csv` would write (or, with --top 0, remove as an
    earlier scan's) its own data set."""
    source = tmp_path / "r.singular.extxyz"
    source.write_text(_CH4_FRAME)
    argv = ["scan", str(source), "--output", str(tmp_path / "r.csv"), "--top", "0"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "scan") == (
        f"the default --singular {source} is the input DATASET: it would be overwritten; "
        "choose another path"
    )
    assert source.read_text() == _CH4_FRAME


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--length", "1e308"],
         "--length 1e+308 Å saved every 0.01 Å is over 1.8e+308 frames, more than 1e+06"),
        (["--length", "0.02", "--step", "1e-320"],
         "--length 0.02 Å in Euler steps of 9.99989e-321 Å is over 1.8e+308 steps"),
        (["--length", "0.02", "--save-every", "1e308"],
         "--length 0.02 Å must be a whole multiple of --save-every 1e+308 Å"),
        (["--method", "adaptive", "--length", "0.02", "--save-every", "1e-320"],
         "--length 0.02 Å saved every 9.99989e-321 Å is over 1.8e+308 frames"),
        (["--method", "adaptive", "--tol", "1e308"],
         "--tol 1e+308 Å must be at most --max-step 0.05 Å"),
        # ran on for ever: 2e9 steps at the least, where Euler's were refused
        (["--method", "adaptive", "--length", "2", "--max-step", "1e-9", "--tol", "1e-9"],
         "--length 2 Å in adaptive steps of at most --max-step 1e-09 Å is at least 2e+09 "
         "steps, more than 1.4e+08 (days at ~7 ms a step); give a larger --max-step"),
    ],
)  # fmt: skip
def test_an_orbit_ratio_that_overflows_is_one_line(options, line, tmp_path, capsys):
    """`orbit --length 1e308` (or --step 1e-320, --save-every 1e308) ended in an
    OverflowError traceback: round() of an infinite ratio."""
    out = tmp_path / "o.extxyz"
    assert exit_status(["orbit", "--builtin", "pg-start", "--output", str(out), *options]) == 2
    said = one_error_line(capsys, "orbit")
    assert said.startswith(line), said
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"length": 1e308}, r"is over 1\.8e\+308 frames"),
        ({"length": 0.02, "step": 1e-320}, r"is over 1\.8e\+308 steps"),
        ({"length": 0.02, "save_every": 1e308}, "must be a whole multiple of save_every"),
        ({"method": "adaptive", "tol": 0.1}, "tol 0.1 Å must be at most max_step 0.05 Å"),
        ({"method": "adaptive", "max_step": 1e-9, "tol": 1e-9}, r"at least 2e\+09 steps"),
    ],
)
def test_orbit_settings_refuse_overflowing_ratios(settings, match):
    with pytest.raises(DegeneracyError, match=match):
        OrbitSettings(**settings)


def test_orbit_settings_accept_a_tol_up_to_the_longest_step():
    assert OrbitSettings(method="adaptive", tol=0.05).tol == 0.05
    assert OrbitSettings(method="euler", tol=1.0, length=0.02).tol == 1.0  # not its setting


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["fit-basis", "--n-frames", "100000000"],
         "--n-frames must be at least 1 and at most 100000, got 100000000 (the fit holds"),
        (["fit-basis", "--n-frames", "25001", "--center", "H"],
         "--n-frames must be at least 1 and at most 25000, got 25001"),
        (["fit-basis", "--n-frames", "0"],
         "--n-frames must be at least 1 and at most 100000, got 0"),
        (["singular", "--builtin", "pg-start", "--fd-step", "1e-300"],
         "--fd-step must be at least 1e-10 Å (below it the finite difference drowns in "
         "round-off), got 1e-300"),
        (["singular", "--builtin", "pg-start", "--symmetry-tol", "0.6"],
         "--symmetry-tol must be at most 0.15 Å"),
        (["spectrum", "--builtin", "td", "--symmetry-tol", "1e308"],
         "--symmetry-tol must be at most 0.15 Å (beyond it an operation forces no zero"),
        (["spectrum", "--builtin", "td", "--symmetry-tol", "0"],
         "--symmetry-tol must be a positive number"),
        (["pairs", "--verify", "IN", "--relation-tol", "1e308"],
         "--relation-tol must be at most 0.5 Å"),
        (["scan", "IN", "--output", "DIR/r.csv", "--scheduler", "tcp://127.0.0.1:1",
          "--connect-timeout", "1e308"], "--connect-timeout must be at most 3600 s"),
        (["scan", "IN", "--output", "DIR/r.csv", "--workers", "9"],
         "--workers must be at least 1 and at most 8, got 9 (4 per CPU of the 2"),
    ],
)  # fmt: skip
def test_a_value_beyond_any_use_is_refused(argv, line, tmp_path, capsys, monkeypatch):
    """Unbounded options: --n-frames 1e8 was killed for want of memory, --workers 1000
    hung, --fd-step 1e-300 never moved, --relation-tol 1e308 called unrelated pairs
    related, --connect-timeout 1e308 waited for ever."""
    monkeypatch.setattr("degeneracy.cli.scan.default_workers", lambda: 2, raising=False)
    source = tmp_path / "in.extxyz"
    source.write_text(_CH4_FRAME * 2)
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("IN", str(source)).replace("DIR", str(out)) for a in argv]
    if argv[0] in ("fit-basis", "singular"):
        argv += ["--output", str(out / ("b.npz" if argv[0] == "fit-basis" else "s.extxyz"))]
    assert exit_status(argv) == 2
    said = one_error_line(capsys, argv[0])
    assert said.startswith(line), said
    assert not list(out.iterdir())


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        ("--centers", "6", "unknown element '6'; give element symbols such as C,H (6 is C)"),
        ("--neighbors", "H,8", "unknown element '8'; give element symbols such as C,H (8 is O)"),
        ("--centers", "999", "unknown element '999'; give element symbols such as C,H"),
        ("--centers", "Q", "unknown element 'Q'; give element symbols such as C,H"),
    ],
)
def test_scan_species_are_symbols_and_the_error_says_so(option, value, line, tmp_path, capsys):
    """`--centers 6` said "give element symbols such as C,H or atomic numbers", then
    refused the atomic number."""
    argv = ["scan", "in.xyz", "--output", str(tmp_path / "r.csv"), option, value]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "scan") == f"argument {option}: {line}"


@pytest.mark.parametrize("prefix", ["FOLDER", "FOLDER/", "NEW/"])
def test_a_plot_prefix_that_is_a_folder_is_refused(prefix, tmp_path, capsys):
    """`compare --plot outdir/` wrote outdir.png and outdir.pdf beside the folder."""
    folder = tmp_path / "figures"
    folder.mkdir()
    prefix = prefix.replace("FOLDER", str(folder)).replace("NEW", str(tmp_path / "new"))
    assert exit_status(["compare", "--builtin", "td", "--plot", prefix]) == 2
    said = one_error_line(capsys, "compare")
    assert said.startswith(f"--plot {prefix}: names a folder; --plot is the PREFIX"), said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]
    assert not list(folder.iterdir())


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--pull", "2"], "--pull must be between 0 and 1, got 2.0"),
        (["--cn-target", "0.5"], "--cn-target must exceed 1 (CN = s1/s_min >= 1), got 0.5"),
        (["--max-iterations", "0"], "--max-iterations must be at least 1"),
        (["--fd-step", "0.2"], "--fd-step must be"),
    ],
)
def test_singular_refuses_a_search_option_before_reading_a_frame(
    options, line, tmp_path, capsys, monkeypatch
):
    """They were refused when frame 0's search started, seconds later and as that frame's
    fault ("in.extxyz, frame 0: pull must be ...")."""

    def no_frames(*args, **kwargs):
        raise AssertionError("a frame was read")

    monkeypatch.setattr("degeneracy.cli.singular.frames_from_args", no_frames)
    source = tmp_path / "in.extxyz"
    source.write_text(_CH4_FRAME * 2)
    argv = ["singular", str(source), *options, "--output", str(tmp_path / "s.extxyz")]
    assert exit_status(argv) == 2
    said = one_error_line(capsys, "singular")
    assert said.startswith(line), said
    assert "frame" not in said and not (tmp_path / "s.extxyz").exists()


def test_an_output_named_only_by_its_suffix_gets_that_format(tmp_path, capsys):
    """``--output .json`` has no suffix for pathlib (a hidden file): it got a table."""
    out = tmp_path / ".json"
    assert exit_status(["spectrum", "--builtin", "td", "--output", str(out)]) == 0
    assert json.loads(out.read_text())[0]["verdict"] == "symmetry"
    assert exit_status(["spectrum", "--builtin", "td", "--output", str(tmp_path / ".png")]) == 2
    assert one_error_line(capsys, "spectrum").endswith(
        "is named for an image (.png), but --format is table"
    )


def test_a_value_beside_its_limit_is_not_rounded_onto_it(tmp_path, capsys):
    """Not "atoms 3 and 4 are 0.5 Å apart, closer than the minimum distance 0.5 Å"."""
    assert text_beside(0.4999999, 0.5, 4) == "0.4999999"
    assert text_beside(0.4321, 0.5, 4) == "0.4321"
    assert text_beside(1.000004e-6, 1e-6, 2) == "1.000004e-06"
    path = tmp_path / "close.xyz"
    path.write_text("5\n\nC 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\n"
                    "H -0.1300001 0.63 -0.63\n")  # fmt: skip
    assert exit_status(["spectrum", str(path)]) == 2
    said = one_error_line(capsys, "spectrum")
    assert "atoms 3 and 4 are 0.4999999 Å apart, closer than the minimum distance 0.5 Å" in said


@pytest.mark.parametrize("command", [["spectrum"], ["scan", "--output", "r.csv"]])
def test_a_dash_for_the_input_is_not_standard_input(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_status([command[0], "-", *command[1:]]) == 2
    said = one_error_line(capsys, command[0])
    assert said == "-: no such file; standard input is not read ('-' names a file): name one"


def test_a_tol_below_round_off_is_named_when_the_step_vanishes(tmp_path, capsys):
    """`orbit --tol 1e-300` blamed the structure ("the lowest singular direction turns too
    fast there"): the steps were refused for their error, never below such a tol."""
    out = tmp_path / "o.extxyz"
    argv = ["orbit", "--builtin", "pg-start", "--output", str(out), "--method", "adaptive"]
    assert exit_status([*argv, "--length", "0.02", "--tol", "1e-300"]) == 2
    said = one_error_line(capsys, "orbit")
    assert said.startswith("adaptive step below 1e-09 Å at arc length 0 Å: a step of "), said
    assert said.endswith(
        "more than tol 1e-300 Å (a tol below the directions' round-off is never met): give a "
        "larger tol"
    ), said
