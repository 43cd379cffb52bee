"""What a black-box test of the command line found (h95): warnings about one file that
hid each other, two outputs of one command in one file, ``reproduce --repeats`` without
a bound, ``compare --plot f.jpg``, ``predict``'s columns in the docs, ACSF's angular
functions missing from the reported settings."""

from __future__ import annotations

import argparse
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import exit_status, one_error_line

import degeneracy as dg
from degeneracy.cli import _warning_printer
from degeneracy.cli.compare import figure_paths
from degeneracy.cli.options import refuse_shared_outputs
from degeneracy.cli.predict import format_predictions
from degeneracy.errors import DegeneracyError, DegeneracyWarning, warning_subject
from degeneracy.representations.base import every_hyper

DOCS = Path(__file__).resolve().parents[1] / "docs"

_CH4_FRAME = (
    "5\n\nC 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\nH 0.63 -0.63 -0.63\n"
)

#: Two different warnings about one file (scan's), as the scan words them.
NO_NEIGHBOUR = "in/mols.extxyz: no atom of neighbour species N in the data set (it has H, C, O)"
FEW_NEIGHBOURS = (
    "in/mols.extxyz: 33 of 40 environments (82 %) have fewer than 2 neighbours within the "
    "cutoff 1.2 Å, so their spectrum is undefined: is the cutoff below the nearest-neighbour "
    "distance (--cutoff), or is the file in bohr (--units bohr)?"
)
#: predict's two warnings about its input file.
UNITS = (
    "in/ch4_bohr.extxyz: median C–H distance 1.92 Å with units angstrom, 1.8× the sum of "
    "the two atoms' covalent radii (bonded atoms: about 1×); unless the nearest neighbours are "
    "not bonded (a noble gas, water's O–O), is the file in bohr? (--units bohr)"
)
OUT_OF_DOMAIN = (
    "in/ch4_bohr.extxyz: 5 of 5 frames lie outside the model's applicability domain (first: "
    "frame 0, 11 times the distance to the training frames that 99 % of validation frames "
    "stay within): their predictions are extrapolations"
)


# --- 1. every distinct warning once -----------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"), [(NO_NEIGHBOUR, FEW_NEIGHBOURS), (UNITS, OUT_OF_DOMAIN)]
)
def test_two_things_said_of_one_file_are_two_subjects(first, second):
    assert warning_subject(first) != warning_subject(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # one file's warning again with other numbers (another chunk, another sample)
        (FEW_NEIGHBOURS, FEW_NEIGHBOURS.replace("33 of 40", "7 of 9").replace("82", "78")),
        (UNITS, UNITS.replace("1.92", "1.96").replace("1.8×", "1.9×")),
        # a fingerprint's note from scan's workers and again for the most singular ones
        (
            "ACSF set 'tight' (cutoff 3 Å) is nearly blind to bond stretching here: no radial "
            "function reaches the nearest-neighbour distances 2.30–2.40 Å; use parameter_set "
            "'scaled' with a cutoff of at least 3.3 Å, or a custom set (scan: in 24 of the 24 "
            "environments scanned, from structure 0, atom 0)",
            "ACSF set 'tight' (cutoff 3 Å) is nearly blind to bond stretching here: no radial "
            "function reaches the nearest-neighbour distances 2.31–2.33 Å; use parameter_set "
            "'scaled' with a cutoff of at least 3.2 Å, or a custom set",
        ),
        (
            "om width 0.5 is too narrow here: in 1 frame at a kink",
            "om width 0.5 is too narrow here: in 3 frames at a kink",
        ),
        # a source's note about its frames, with the fingerprint's own subject
        (
            "train set: ACSF (cutoff 3 Å) sees no bond angles here: in 3 of the 8",
            "train set: ACSF (cutoff 3 Å) sees no bond angles here: in 5 of the 9",
        ),
    ],
)
def test_the_same_warning_with_other_numbers_is_one_subject(first, second):
    assert warning_subject(first) == warning_subject(second)


def test_a_fingerprint_s_subject_is_its_text_before_the_first_colon():
    """What scan groups its workers' notes by is unchanged for a fingerprint's notes."""
    note = "ACSF (cutoff 3.5 Å) sees no bond angles here: in 3 of the 8 environments checked"
    assert warning_subject(note) == "ACSF (cutoff 3.5 Å) sees no bond angles here"
    assert warning_subject("train set: ACSF (cutoff 3 Å) sees no bond angles here: in 3") != (
        warning_subject("train set: ACSF set 'tight' (cutoff 3 Å) is nearly blind: no radial")
    )


def test_the_printer_shows_each_distinct_warning_once(capsys):
    args = argparse.Namespace(command="scan", option_names={})
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(args)
        warnings.simplefilter("always", DegeneracyWarning)
        for message in (NO_NEIGHBOUR, FEW_NEIGHBOURS, FEW_NEIGHBOURS.replace("33", "34")):
            warnings.warn(DegeneracyWarning(message), stacklevel=1)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"degeneracy scan: warning: {m}" for m in (NO_NEIGHBOUR, FEW_NEIGHBOURS)]


def test_scan_prints_both_warnings_about_its_data_set(tmp_path, capsys):
    data = tmp_path / "ch4.extxyz"
    data.write_text(_CH4_FRAME * 2)
    argv = ["scan", str(data), "--output", str(tmp_path / "w.csv"), "--workers", "1"]
    argv += ["--no-progress", "--centers", "all", "--cutoff", "1.2", "--neighbors", "C,H,N"]
    assert exit_status(argv) == 0
    err = capsys.readouterr().err
    assert "no atom of neighbour species N" in err, err
    assert "have fewer than 2 neighbours of species H, C, N within the cutoff 1.2 Å" in err, err
    summary = json.loads((tmp_path / "w.summary.json").read_text())
    assert len(summary["warnings"]) == err.count("warning: ") == 2, err


# --- 2. two outputs in one file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--summary", "DIR/same.json", "--chemiscope", "DIR/same.json"],
            "--summary DIR/same.json is also --chemiscope: one would overwrite the other; "
            "choose another path",
        ),
        (
            ["--chemiscope", "DIR/out.summary.json"],
            "--chemiscope DIR/out.summary.json is also the default --summary "
            "DIR/out.summary.json: one would overwrite the other; choose another path",
        ),
    ],
)
def test_scan_refuses_two_reports_in_one_file_before_work(tmp_path, capsys, options, line):
    data = tmp_path / "ch4.extxyz"
    data.write_text(_CH4_FRAME)
    folder = str(tmp_path)
    argv = ["scan", str(data), "--output", f"{folder}/out.csv", "--workers", "1"]
    argv += [option.replace("DIR", folder) for option in options]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "scan") == line.replace("DIR", folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ch4.extxyz"]  # nothing written


def test_outputs_in_one_file_are_refused_through_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(DegeneracyError, match=r"^--plot .* is also --output "):
        refuse_shared_outputs(
            [("--output", tmp_path / "real" / "x.png"), ("--plot", tmp_path / "link" / "x.png")]
        )
    refuse_shared_outputs([("--output", "a.csv"), ("--plot", None), ("--summary", "b.json")])


# --- 3. reproduce --repeats -------------------------------------------------------------


def test_reproduce_repeats_has_learn_s_bound(tmp_path, capsys, monkeypatch):
    def started(*args, **kwargs):
        raise AssertionError("reproduce started its work")

    monkeypatch.setattr("degeneracy.cli.reproduce.reproduce", started)
    output = tmp_path / "rx"
    repeats = ["--quick", "--repeats", "1000000"]
    assert exit_status(["reproduce", "--output", str(output), *repeats]) == 2
    line = one_error_line(capsys, "reproduce")
    assert line == "--repeats must be at least 1 and at most 100, got 1000000"
    assert not output.exists()
    assert exit_status(["learn", "--output", str(output), *repeats]) == 2
    assert one_error_line(capsys, "learn") == line


# --- 4. compare --plot's suffix ---------------------------------------------------------


@pytest.mark.parametrize("name", ["p.jpg", "p.JPEG", "p.svg", "p.json", "p.gz"])
def test_compare_plot_refuses_a_format_it_does_not_write(tmp_path, capsys, name):
    data = tmp_path / "ch4.extxyz"
    data.write_text(_CH4_FRAME)
    prefix = tmp_path / name
    assert exit_status(["compare", str(data), "--plot", str(prefix)]) == 2
    suffix = Path(name).suffix
    assert one_error_line(capsys, "compare") == (
        f"--plot {prefix}: names a {suffix} file, which --plot does not write; --plot is the "
        f"PREFIX of PREFIX.png and PREFIX.pdf, e.g. {tmp_path / 'p'}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ch4.extxyz"]


@pytest.mark.parametrize(
    ("name", "written"),
    [("f.png", "f"), ("f.PDF", "f"), ("f", "f"), ("run.v2", "run.v2"), ("sigma0.3", "sigma0.3")],
)
def test_compare_plot_keeps_png_pdf_and_other_suffixes(tmp_path, name, written):
    assert figure_paths(str(tmp_path / name)) == [
        f"{tmp_path / written}.png",
        f"{tmp_path / written}.pdf",
    ]


# --- 5a. predict's columns --------------------------------------------------------------


def test_the_docs_list_every_predict_column():
    section = (DOCS / "cli.md").read_text().split("## predict", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_0-9]+)`", section, flags=re.MULTILINE))
    table = format_predictions(
        np.array([0.5]),
        "csv",
        targets=np.array([0.4]),
        gradients=np.zeros((1, 4, 3)),
        domain_ratios=np.array([2.0]),
    )
    header, row = table.splitlines()
    columns = [c for c in header.split(",") if not c.startswith("grad_")]
    assert set(columns) <= documented, set(columns) - documented
    assert "`grad_1x` … `grad_4z`" in section
    assert dict(zip(header.split(","), row.split(","), strict=True))["in_domain"] == "0"
    assert "`1` or `0` in the table and CSV, `true` or `false` in JSON" in section


# --- 5c. every ACSF setting reported ----------------------------------------------------


def test_acsf_settings_name_the_default_angular_functions(tmp_path, capsys):
    assert every_hyper(dg.Acsf())["angular"] == "g4"
    assert every_hyper(dg.Acsf(angular="g5"))["angular"] == "g5"
    assert "angular" not in dg.Acsf().hypers()  # the identity of cached results: unchanged
    data = tmp_path / "ch4.extxyz"
    data.write_text(_CH4_FRAME.replace("0.63 0.63 0.63", "0.64 0.62 0.63"))
    assert exit_status(["compare", str(data), "--rep", "acsf,soap", "--format", "json"]) == 0
    settings = json.loads(capsys.readouterr().out)["fingerprints"]
    assert settings["acsf"]["angular"] == "g4"
    assert "angular" not in settings["soap"]


# --- 5b. the package's own files are not second-guessed for units -----------------------


def test_family_warns_about_units_of_its_a0_file_only(tmp_path, capsys, monkeypatch):
    """An A0 file in bohr read as Å: one warning, about it; the orbits the run wrote (and
    cached) from it are in Å by construction and were each warned about too (9 lines)."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))
    # Any A0 shows it: the adaptive search's (~1 s) is within 0.001 Å of the Euler search's
    # (45 s of tracing in this fresh cache), and its C–H distances in bohr, 1.9× the
    # bonded ones, trip the unit check the same way in the file and the orbits from it.
    a0 = dg.comment_a0(quick=True).copy()
    a0.positions /= 0.529177
    dg.write_environments(tmp_path / "a0_bohr.extxyz", [a0])
    argv = ["family", "--output", str(tmp_path / "fam"), "--quick", "--no-figures"]
    argv += ["--a0", str(tmp_path / "a0_bohr.extxyz"), "--length", "0.02"]
    for _ in range(2):  # traced, then from the cache
        assert exit_status(argv) == 0
        warned = [x for x in capsys.readouterr().err.splitlines() if "is the file in bohr" in x]
        assert len(warned) == 1 and "a0_bohr.extxyz: median C–H distance" in warned[0]
