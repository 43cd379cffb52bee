"""Every subcommand that reads structures refuses bad files in one line, with exit 2.

A table of bad files crossed with the subcommands that read a structure file. Each
combination must end with exit status 2 and exactly one line on stderr,
``degeneracy COMMAND: error: ...`` naming the file, with no traceback, no stray numpy
warning (RuntimeWarnings are errors here) and no output file left behind. The cases come
from a fuzz of the command line (2026-12-01) that found a traceback (featomic), ``inf Å``
with overflow warnings (1e300 coordinates) and messages naming temporary files.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import ase.build
import ase.io
import pytest
from conftest import exit_status

import degeneracy as dg
from degeneracy.cli import main

_CH4 = "C 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\n"
_CH4_FRAME = f"5\n\n{_CH4}H 0.63 -0.63 -0.63\n"

#: name -> (file contents or None for a folder / a missing file, part of the message)
BAD_FILES: dict[str, tuple[str | bytes | None, str]] = {
    "empty": ("", "cannot read"),
    "garbage": ("hello world\nthis is not xyz\n", "cannot read"),
    "binary": (bytes(range(256)) * 4, "cannot read"),
    "truncated": ("5\n\nC 0 0 0\nH 1.09 0 0\nH 0 1.09 0\n", "cannot read"),
    # ase skipped 99999999999 lines one by one: hours for a 20-byte file
    "huge-count": ("99999999999\n\nC 0 0 0\n", "frame 0 declares 99999999999 atoms"),
    "second-frame-cut": (_CH4_FRAME + "5\n\nC 0 0 0\n", "frame 1 declares 5 atoms"),
    "negative-count": ("-5\n\nC 0 0 0\n", "cannot read"),
    # extxyz's VEC lattice lines after a frame stopped the count check (ase then hung)
    "count-after-vec": ("1\nc\nH 0 0 0\nVEC1 1 0 0\n99999999999\nc\n", "frame 1 declares 99999"),
    # ase stopped at the blank line and read one frame of two, without a word
    "blank-between": (f"{_CH4_FRAME}\n{_CH4_FRAME}", "line 8 is blank, after frame 0, and more"),
    # ase named no frame: "could not convert string to float: 'abc'", "Expected xyz header"
    "bad-number": (
        _CH4_FRAME + _CH4_FRAME.replace("H 0.63 -0.63", "H abc -0.63"),
        "could not convert string to float: 'abc'",
    ),
    "uncounted-atom": (
        f"{_CH4_FRAME}H 0 0 0.9\n{_CH4_FRAME}",
        "line 8, where frame 1's atom count would be, reads 'H 0 0 0.9': frame 0 declares 5",
    ),
    # ase's KeyError read "cannot read structures ('Xx')"
    "unknown-element": (_CH4_FRAME.replace("C 0", "Xx 0"), "no element or column named 'Xx'"),
    "nan": (f"5\n\n{_CH4}H 0 nan 0.5\n", "atom 4: non-finite coordinates"),
    "huge": (f"5\n\n{_CH4}H 1e300 0 0\n", "1e+300 Å from the centre"),
    "overlap": (f"5\n\n{_CH4}H 0.63 0.63 0.63\n", "atoms 1 and 4 are 0 Å apart"),
    "far": (f"5\n\n{_CH4}H 0 0 -3.5\n", "atom 4: 3.5 Å from the centre"),
    "three-neighbours": (f"4\n\n{_CH4}", "expected 5 atoms (CH4), got 4"),
    "folder": (None, "is a folder"),
    "missing": (None, "no such file"),
}

#: Bad for every command; the rest is a fine data set for ``scan`` (any structures).
UNREADABLE = {
    "empty",
    "garbage",
    "binary",
    "truncated",
    "huge-count",
    "second-frame-cut",
    "negative-count",
    "count-after-vec",
    "blank-between",
    "bad-number",
    "uncounted-atom",
    "nan",
    "overlap",
    "folder",
    "missing",
}


def _commands(path: str, out: Path) -> dict[str, list[str]]:
    return {
        "spectrum": ["spectrum", path, "--output", str(out / "s.json")],
        "compare": ["compare", path, "--output", str(out / "c.json")],
        "pairs": ["pairs", "--verify", path, "--output", str(out / "p.json")],
        "orbit": ["orbit", path, "--output", str(out / "o.extxyz"), "--length", "0.01"],
        "singular": ["singular", path, "--output", str(out / "g.extxyz")],
        "scan": ["scan", path, "--output", str(out / "r.csv"), "--workers", "1"],
        "learn": ["learn", "--protocol", "none", "--quick", "--orbit", path, "--output", str(out)],
    }


def _bad_file(folder: Path, name: str) -> str:
    contents, _ = BAD_FILES[name]
    path = folder / f"{name}.xyz"
    if name == "folder":
        path.mkdir()
    elif isinstance(contents, bytes):
        path.write_bytes(contents)
    elif contents is not None:
        path.write_text(contents)
    return str(path)


CASES = [
    (command, name)
    for command in ("spectrum", "compare", "pairs", "orbit", "singular", "scan", "learn")
    for name in BAD_FILES
    if command != "scan" or name in UNREADABLE
]


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(("command", "name"), CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_bad_file_is_one_line_exit_2_no_output(command, name, tmp_path, capsys):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    path = _bad_file(inputs, name)
    assert main(_commands(path, out)[command]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith(f"degeneracy {command}: error: ") and "Traceback" not in err
    assert Path(path).name in err and BAD_FILES[name][1] in err, err
    assert not list(out.iterdir()), "an output (or its temporary file) was left behind"


_COLLINEAR = "5\n\nC 0 0 0\nH 1.1 0 0\nH -1.1 0 0\nH 2.0 0 0\nH -2.0 0 0\n"


@pytest.mark.parametrize("command", ["spectrum", "compare", "orbit", "singular"])
def test_collinear_input_is_refused_naming_the_file(command, tmp_path, capsys):
    # a valid CH4 by count, distances and cutoff, but with no purified Jacobian: the
    # library's check (inside the analysis) names only the frame; the CLI adds the file
    path = tmp_path / "line.xyz"
    path.write_text(_CH4_FRAME + _COLLINEAR)
    out = tmp_path / "out"
    out.mkdir()
    argv = _commands(str(path), out)[command]
    if command == "orbit":
        argv = [*argv, "--frame", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"degeneracy {command}: error: {path}, frame 1: the neighbours are collinear with "
        "the centre (rotations are degenerate: no purified Jacobian)"
    )
    assert not list(out.iterdir())


def test_orbit_checks_only_the_frame_it_traces(tmp_path, capsys):
    path = tmp_path / "line.xyz"
    path.write_text(_CH4_FRAME + _COLLINEAR)
    argv = ["orbit", str(path), "--output", str(tmp_path / "o.extxyz"), "--length", "0.01"]
    assert main([*argv, "--quiet"]) == 0, capsys.readouterr().err  # frame 0 is fine
    far = tmp_path / "far.xyz"  # frame 1 has a neighbour beyond the cutoff: not read
    far.write_text(_CH4_FRAME + BAD_FILES["far"][0])
    argv = ["orbit", str(far), "--output", str(tmp_path / "o.extxyz"), "--length", "0.01"]
    assert main([*argv, "--quiet", "--restart"]) == 0, capsys.readouterr().err
    assert main([*argv, "--frame", "1"]) == 2
    assert "far.xyz, frame 1, atom 4: 3.5 Å from the centre" in capsys.readouterr().err
    assert main([*argv, "--frame", "2"]) == 2
    assert capsys.readouterr().err.strip().endswith("far.xyz: no frame 2 (it has 2)")


def test_a_bad_orbit_checkpoint_is_one_line(tmp_path, capsys):
    checkpoint = tmp_path / "run.npz"
    checkpoint.write_text("5\n\nC 0 0 0\n")  # another kind of file, given as --checkpoint
    argv = ["orbit", "--builtin", "pg-start", "--output", str(tmp_path / "o.extxyz")]
    assert main([*argv, "--length", "0.01", "--checkpoint", str(checkpoint)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"degeneracy orbit: error: {checkpoint}: not a checkpoint (.npz) file; delete it, "
        "rerun with --restart, or choose another --checkpoint"
    )


#: option -> (command line with OUT for the output folder, expected message end)
WRONG_SUFFIXES = {
    # text formats: any name but one that says another format
    "spectrum-table-png": (
        ["spectrum", "IN", "--output", "OUT/s.png"],
        "s.png: --output is named for an image (.png), but --format is table",
    ),
    "compare-csv-json": (
        ["compare", "IN", "--rep", "acsf", "--format", "csv", "--output", "OUT/c.json"],
        "c.json: --output is named for json (.json), but --format is csv",
    ),
    "verify-json-csv": (
        ["pairs", "--verify", "IN", "--format", "json", "--output", "OUT/v.csv"],
        "v.csv: --output is named for csv (.csv), but --format is json",
    ),
    "spectrum-json-gz": (  # text is not compressed: a .gz name would hold plain text
        ["spectrum", "IN", "--output", "OUT/s.json.gz"],
        "s.json.gz: --output is named for compressed data (.gz), but the table output is "
        "written uncompressed; drop the .gz",
    ),
    # no command writes tab-separated values: a space-aligned table named x.tsv was a trap
    "spectrum-table-tsv": (
        ["spectrum", "IN", "--output", "OUT/s.tsv"],
        "s.tsv: --output is named for tab-separated values (.tsv), but --format is table",
    ),
    "compare-csv-xz": (
        ["compare", "IN", "--rep", "acsf", "--format", "csv", "--output", "OUT/c.csv.xz"],
        "c.csv.xz: --output is named for compressed data (.xz), but the csv output is "
        "written uncompressed; drop the .xz",
    ),
    "orbit-output": (
        ["orbit", "--builtin", "pg-start", "--length", "0.01", "--output", "OUT/o.txt"],
        "o.txt: --output must end with .extxyz or .xyz (its format is fixed)",
    ),
    "orbit-checkpoint": (
        ["orbit", "--builtin", "pg-start", "--output", "OUT/o.xyz", "--checkpoint", "OUT/c"],
        "c: --checkpoint must end with .npz (its format is fixed)",
    ),
    "singular-output": (
        ["singular", "--builtin", "pg-start", "--output", "OUT/g.json"],
        "g.json: --output must end with .extxyz or .xyz (its format is fixed)",
    ),
    "fit-basis-output": (
        ["fit-basis", "--n-frames", "10", "--output", "OUT/basis.txt"],
        "basis.txt: --output must end with .npz (its format is fixed)",
    ),
    "scan-plot": (
        ["scan", "IN", "--output", "OUT/r.csv", "--plot", "OUT/p.pdf"],
        "p.pdf: --plot must end with .png (its format is fixed)",
    ),
    "scan-singular": (
        ["scan", "IN", "--output", "OUT/r.csv", "--singular", "OUT/s.pdb"],
        "s.pdb: --singular must end with .extxyz or .xyz (its format is fixed)",
    ),
    "scan-summary": (
        ["scan", "IN", "--output", "OUT/r.csv", "--summary", "OUT/s.txt"],
        "s.txt: --summary must end with .json (its format is fixed)",
    ),
    "scan-chemiscope": (
        ["scan", "IN", "--output", "OUT/r.csv", "--chemiscope", "OUT/v.html"],
        "v.html: chemiscope output must end with .json or .json.gz (its format is fixed)",
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_SUFFIXES))
def test_an_output_named_for_another_format_is_refused_before_work(case, tmp_path, capsys):
    """Writers whose format is fixed (PNG, extxyz, npz, JSON) refuse a name that says
    otherwise, before any computation, instead of writing e.g. a PNG called p.pdf."""
    structures, out = tmp_path / "ch4.xyz", tmp_path / "out"
    structures.write_text(_CH4_FRAME)
    out.mkdir()
    argv, message = WRONG_SUFFIXES[case]
    argv = [a.replace("OUT", str(out)).replace("IN", str(structures)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith(message), err
    assert not list(out.iterdir())


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["spectrum", "--builtin", "td", "--basis-file", ""], "--basis-file"),
        (["spectrum", ""], "FILE"),
        (["spectrum", "--builtin", "td", "--output", " "], "--output"),
        (["scan", "", "--output", "r.csv"], "DATASET"),
        (["orbit", "--builtin", "td", "--output", "o.extxyz", "--checkpoint", ""], "--checkpoint"),
        (["learn", "--quick", "--orbit", "", "--output", "run"], "--orbit"),
        (["predict", "--model", "", "--builtin", "td"], "--model"),
        (["compare", "--builtin", "td", "--rep", ""], "--rep"),  # was "unknown fingerprint ''"
    ],
)
def test_an_empty_file_name_is_refused(argv, named, tmp_path, capsys, monkeypatch):
    # "" once meant "not given" where an option was tested for truth (--basis-file "" gave
    # the GTO spectrum without a word)
    monkeypatch.chdir(tmp_path)
    assert exit_status(argv) == 2
    err = capsys.readouterr().err
    assert err == f"degeneracy {argv[0]}: error: argument {named}: empty value\n"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("command", "target"),
    [
        ("spectrum", "degeneracy.cli.spectrum.analyse_by_composition"),
        ("compare", "degeneracy.cli.compare.compare_fingerprints"),
    ],
)
def test_an_error_mid_analysis_names_the_file(command, target, tmp_path, capsys, monkeypatch):
    """The analyses number frames in the whole file but do not know its name."""
    import degeneracy as dg
    from degeneracy.errors import DegeneracyError

    path = tmp_path / "ch4.xyz"
    dg.write_environments(path, dg.sample_methane(4, seed=1))

    def failing(*args, **kwargs):
        raise DegeneracyError("frame 3: the Jacobian has non-finite entries")

    monkeypatch.setattr(target, failing)
    assert main([command, str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"degeneracy {command}: error: {path}, frame 3: the Jacobian has non-finite entries"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["spectrum", "IN", "--output", "OUT"],
        ["compare", "IN", "--output", "OUT"],
        ["pairs", "--grid", "--output", "OUT"],
        ["singular", "--builtin", "pg-start", "--output", "OUT"],
        ["orbit", "--builtin", "pg-start", "--length", "0.02", "--output", "OUT"],
        ["fit-basis", "--output", "OUT"],
    ],
)
def test_an_output_file_that_is_a_folder_is_refused_before_work(argv, tmp_path, capsys):
    """Once found only when the result was moved into place, naming the temporary file."""
    structures, out = tmp_path / "ch4.xyz", tmp_path / "out.extxyz"
    structures.write_text(_CH4_FRAME)
    out.mkdir()
    if argv[0] == "fit-basis":
        out = out.rename(tmp_path / "basis.npz")
    argv = [a.replace("OUT", str(out)).replace("IN", str(structures)) for a in argv]
    status = exit_status(argv)
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith(f"{out}: --output is a folder, not a file"), err
    assert not list(out.iterdir()) and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["ch4.xyz", out.name]
    )


def test_a_contradictory_basis_is_refused(capsys):
    assert main(["spectrum", "--builtin", "td", "--basis", "gto", "--basis-file", "b.npz"]) == 2
    assert "--basis gto contradicts --basis-file" in capsys.readouterr().err


def test_traceback_may_follow_the_subcommand(tmp_path):
    from degeneracy.errors import DegeneracyError

    with pytest.raises(DegeneracyError, match="no such file"):
        main(["spectrum", str(tmp_path / "missing.xyz"), "--traceback"])
    assert main(["spectrum", str(tmp_path / "missing.xyz")]) == 2


def test_ctrl_c_while_the_subcommands_load_is_one_line(capsys, monkeypatch):
    """Loading the subcommands imports scipy (~2 s); Ctrl-C then printed a traceback."""
    import degeneracy.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["spectrum", "x.xyz"]) == 130
    assert capsys.readouterr().err == "degeneracy: interrupted\n"


@pytest.mark.parametrize("kind", ["fifo", "symlink", "dangling-symlink"])
def test_an_output_path_that_is_not_a_regular_file(kind, tmp_path, capsys):
    """The atomic rename replaced whatever was at the path: a FIFO (or, as root, a device
    such as /dev/full) became a regular file, a symlink a file beside its target."""
    structures = tmp_path / "ch4.xyz"
    structures.write_text(_CH4_FRAME)
    out = tmp_path / "out.csv"
    target = tmp_path / "results" / "target.csv"
    target.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(out)
    else:
        if kind == "symlink":
            target.write_text("old\n")
        out.symlink_to(target)
    status = exit_status(["spectrum", str(structures), "--format", "csv", "--output", str(out)])
    err = capsys.readouterr().err.strip()
    if kind == "fifo":
        assert status == 2 and err.endswith(
            f"{out}: --output is not a regular file (a device, pipe or socket); name a file"
        ), err
        assert stat.S_ISFIFO(out.lstat().st_mode)
        return
    assert status == 0, err
    assert out.is_symlink() and out.resolve() == target  # written through the link
    assert target.read_text().startswith("frame,")
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.csv"]


def test_sigterm_takes_ctrl_c_s_way_out(tmp_path, capsys, monkeypatch):
    """SIGTERM used to kill at once, leaving the hidden temporary file of an output being
    written; it now ends like Ctrl-C: temporary file removed, one line, status 143."""
    import ase.io

    real_write = ase.io.write

    def terminated_mid_write(path, frames, **kwargs):
        real_write(path, frames[:1], **kwargs)  # half written
        os.kill(os.getpid(), signal.SIGTERM)
        real_write(path, frames, **kwargs)

    monkeypatch.setattr(ase.io, "write", terminated_mid_write)
    out = tmp_path / "pairs.extxyz"

    def unhandled(signum, frame):  # without main's handler: fail, not kill pytest
        raise RuntimeError("SIGTERM reached the previous handler")

    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        assert main(["pairs", "--grid", "--output", str(out)]) == 143
        assert signal.getsignal(signal.SIGTERM) is unhandled  # restored
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert capsys.readouterr().err.strip().endswith("degeneracy pairs: terminated")
    assert not list(tmp_path.iterdir())


def test_a_non_positive_cutoff_is_named_before_the_file_is_read(tmp_path, capsys):
    """It used to read: 'atom 1: 1.12 Å from the centre, outside the cutoff -1.0 Å'."""
    structures = tmp_path / "ch4.xyz"
    structures.write_text(_CH4_FRAME)
    for value in ("-1", "0"):
        assert main(["spectrum", str(structures), "--cutoff", value]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith(f"cutoff must be a positive number, got {float(value)}"), err


def test_a_symlinked_output_is_checked_where_it_is_written(tmp_path, capsys, monkeypatch):
    """The folder the file lands in is the link's target's, not the link's."""
    import degeneracy.files as files

    target_folder = tmp_path / "results"
    target_folder.mkdir()
    link = tmp_path / "s.csv"
    link.symlink_to(target_folder / "s.csv")
    monkeypatch.setattr(files.os, "access", lambda path, mode: Path(path) != target_folder)
    status = exit_status(["spectrum", "--builtin", "td", "--output", str(link)])
    assert status == 2
    assert f"{link}: --output folder {target_folder} is not writable" in capsys.readouterr().err


def test_an_output_folder_that_is_not_writable_is_refused_before_work(
    tmp_path, capsys, monkeypatch
):
    """Found only when the result was moved into place, after the work. (Tests run as
    root, for whom a mode-555 folder is writable: os.access is what decides.)"""
    import degeneracy.files as files

    monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    out = tmp_path / "s.csv"
    status = exit_status(["spectrum", "--builtin", "td", "--output", str(out)])
    assert status == 2
    assert f"{out}: --output folder {tmp_path} is not writable" in capsys.readouterr().err


def test_a_results_folder_that_is_not_writable_is_refused_before_work(tmp_path, monkeypatch):
    """family found an existing read-only --output folder only when it wrote a0.extxyz,
    after the A0 search."""
    import degeneracy.files as files

    existing = tmp_path / "out"
    existing.mkdir()
    monkeypatch.setattr(files.os, "access", lambda path, mode: Path(path) != existing)
    with pytest.raises(files.DegeneracyError, match=f"{existing}: folder {existing} is not"):
        files.output_folder(existing)
    # a new folder is made in the nearest existing one: that one must be writable
    monkeypatch.setattr(files.os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(files.DegeneracyError, match=f"folder {tmp_path} is not writable"):
        files.output_folder(tmp_path / "new" / "deeper", parents=True)
    assert files.output_folder(existing) == existing


def test_a_file_type_ase_does_not_know_is_named(tmp_path, capsys):
    structures = tmp_path / "ch4.txt"
    structures.write_text(_CH4_FRAME)
    assert main(["spectrum", str(structures)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "ch4.txt: cannot read structures (ase knows no structure format 'txt'; name the file "
            ".xyz or .extxyz)"
        )
    )


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.xyz", "", " (an empty file)"),
        ("x.JSON", '[{"a": 1}]', ": read as json (from its name), not a valid json file (Does "
         "not resemble ASE JSON database); if it is an (extended) XYZ file, name it .xyz or "
         ".extxyz"),
    ],
)  # fmt: skip
def test_a_file_ase_cannot_type_says_why(tmp_path, capsys, name, content, reason):
    """ase's sentence was quoted as a format name: "ase knows no structure format 'Empty
    file: empty.xyz'; name the file .xyz or .extxyz" for a file named .xyz."""
    structures = tmp_path / name
    structures.write_text(content)
    assert main(["spectrum", str(structures)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"{name}: cannot read structures{reason}"), err


_RENAME = "; if it is an (extended) XYZ file, name it .xyz or .extxyz"


@pytest.mark.parametrize(
    ("suffix", "said"),
    [
        # ase's own words say nothing: "('NoneType' object has no attribute 'copy')"
        ("dat", "cannot read structures: read as gamess-us-punch (from its name), not a valid "
         "gamess-us-punch file (ase's reader stopped with AttributeError)"),
        ("cif", "cannot read structures: read as cif (from its name), not a valid cif file "
         "(ase's reader stopped with AssertionError)"),
        # they do: kept
        ("json", "cannot read structures: read as json (from its name), not a valid json file "
         "(Extra data: line 2 column 1 (char 2))"),
        ("traj", "cannot read structures: read as traj (from its name), not a valid traj file "
         "(This is not an ULM formatted file)"),
        # read as no atoms at all: it said "frame 0: expected 5 atoms (CH4), got 0"
        ("pdb", "read as proteindatabank (from its name), it holds no atoms"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["spectrum", "pairs"])
def test_an_xyz_file_under_another_name_says_how_it_was_read(
    tmp_path, capsys, suffix, said, command
):
    """An ordinary XYZ file copied to another suffix: the error names the ase format its
    name chose, keeps ase's reason where it says something, and says how to fix it."""
    right = tmp_path / "m.xyz"
    ase.io.write(right, ase.build.molecule("CH4"))
    wrong = tmp_path / f"m.{suffix}"
    wrong.write_bytes(right.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    assert main(_commands(str(wrong), out)[command]) == 2
    err = capsys.readouterr().err
    assert err == f"degeneracy {command}: error: {wrong}: {said}{_RENAME}\n", err
    assert not list(out.iterdir())


def test_a_bad_xyz_file_is_not_told_to_be_renamed(tmp_path, capsys):
    """The rename advice is for files read in another format than (ext)xyz, and so is
    "read as extxyz ..., not a valid extxyz file": for a .xyz file ase's reason says it."""
    path = tmp_path / "bad.xyz"
    path.write_text("junk\n")
    assert main(["spectrum", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}: cannot read structures (ase.io.extxyz: Expected xyz header" in err
    assert "name it" not in err and "read as" not in err and err.count("\n") == 0


@pytest.mark.parametrize("value", ["-1e-3", "-1E+2", "-.5e1", "-2.e-1"])
def test_a_negative_number_in_exponent_form_is_a_value(value, capsys):
    """argparse took --sigma -1e-3 for an option: 'expected one argument'."""
    assert main(["spectrum", "--builtin", "td", "--sigma", value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"sigma must be a positive number, got {float(value)}"), err


@pytest.mark.parametrize(
    ("value", "said"),
    [("-inf", "finite positive number, got -inf"), ("-NaN", "positive number, got nan")],
)
def test_a_negative_infinity_or_nan_is_a_value(value, said, capsys):
    """`--sigma -inf` was "expected one argument", where `--sigma=-inf` was named."""
    assert main(["spectrum", "--builtin", "td", "--sigma", value]) == 2
    assert capsys.readouterr().err.strip().endswith(f"--sigma must be a {said}")


def test_an_abbreviated_option_is_not_expanded(capsys):
    """`spectrum --n 4` ran with --n-max 4 (pairs' --n is its number of pairs)."""
    assert exit_status(["spectrum", "--builtin", "td", "--n", "4"]) == 2
    assert "unrecognized arguments: --n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--sigma", "0.3", "--sigma=0.5"], "argument --sigma: given twice ('0.3', then '0.5')"),
        (["--output", "a.json", "--output", "b.csv"], "--output: given twice ('a.json', then"),
    ],
)
def test_an_option_given_twice_is_refused(argv, said, tmp_path, capsys, monkeypatch):
    """argparse kept the last value and dropped the first: `--output a.json --output b.csv`
    wrote b.csv only, exit 0."""
    monkeypatch.chdir(tmp_path)
    assert exit_status(["spectrum", "--builtin", "td", *argv]) == 2
    err = capsys.readouterr().err
    assert said in err and err.strip().endswith("give it once"), err
    assert not list(tmp_path.iterdir())
    # an option without a value may repeat; after "--" nothing is an option
    assert main(["spectrum", "--builtin", "td", "--traceback", "--traceback"]) == 0


def test_an_unknown_option_names_the_subcommand(capsys):
    """argparse reported it for the top-level parser: 'degeneracy: error: ...'."""
    assert main(["predict", "--model", "m", "--builtin", "td", "--rep", "soap"]) == 2
    assert capsys.readouterr().err == "degeneracy predict: error: unrecognized arguments: --rep\n"
    assert main(["--bogus"]) == 2
    assert capsys.readouterr().err == "degeneracy: error: unrecognized arguments: --bogus\n"


def test_a_link_into_a_missing_folder_says_so(tmp_path, capsys):
    """The writability test ran first and called the missing folder 'not writable'."""
    link = tmp_path / "s.csv"
    link.symlink_to(tmp_path / "gone" / "s.csv")
    status = exit_status(["spectrum", "--builtin", "td", "--output", str(link)])
    assert status == 2
    assert f"links into folder {tmp_path / 'gone'}, which does not exist" in capsys.readouterr().err


def test_a_fingerprint_list_with_an_empty_name_is_refused(capsys):
    """`--rep soap,` was taken for `--rep soap`."""
    assert exit_status(["compare", "--builtin", "td", "--rep", "soap,"]) == 2
    assert "argument --rep: an empty name in 'soap,'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["spectrum", "--builtin", "td", "--sigma", "-1"], "--sigma must be a positive number"),
        (["spectrum", "--builtin", "td", "--n-max", "0"], "--n-max must be at least 1"),
        (["spectrum", "--builtin", "td", "--l-max", "99"], "--l-max must be at least 0"),
        (["reproduce", "--output", "OUT", "--train-minutes", "-1"], "--train-minutes must be"),
        (["reproduce", "--output", "OUT", "--workers", "0"], "--workers must be at least 1"),
        (["family", "--output", "OUT", "--workers", "0"], "--workers must be at least 1"),
        # helper-56: these said "symmetry tolerance", "OM width", "relation tolerance",
        # "save_every" and (for the bispectrum) would have said --n-max, SOAP's option
        (["spectrum", "--builtin", "td", "--symmetry-tol", "0"], "--symmetry-tol must be"),
        (["singular", "--builtin", "td", "--symmetry-tol", "0", "--output", "OUT.xyz"],
         "--symmetry-tol must be"),
        (["spectrum", "--builtin", "td", "--rep", "om", "--om-width", "0.01"],
         "--om-width must be between 0.1 and 10"),
        (["spectrum", "--builtin", "td", "--rep", "bispectrum", "--bispectrum-n-max", "0"],
         "--bispectrum-n-max must be at least 1"),
        (["compare", "--builtin", "td", "--rep", "soap,bispectrum", "--bispectrum-l-max", "-1"],
         "--bispectrum-l-max must be at least 0"),
        (["pairs", "--verify", "missing.xyz", "--relation-tol", "-1"],
         "--relation-tol must be a positive number"),
        (["orbit", "--builtin", "pg-start", "--length", "0.015", "--output", "OUT.xyz"],
         "--length 0.015 Å must be a whole multiple of --save-every 0.01 Å"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_by_the_option_that_set_it(argv, line, tmp_path, capsys):
    """The library names its parameters (``n_max``); the user typed ``--n-max``. Before,
    some commands said one and some the other (``spectrum``: "n_max must be ...")."""
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"degeneracy {argv[0]}: error: {line}"), err


def test_a_hyperparameter_is_named_by_its_option_without_a_repeated_fingerprint_name():
    """The library says "bispectrum n_max must be"; the CLI said "bispectrum
    --bispectrum-n-max must be" (the fingerprint named twice)."""
    from degeneracy.cli.options import HYPER_OPTIONS, with_hyper_options

    bispectrum, om = HYPER_OPTIONS["bispectrum"], HYPER_OPTIONS["om"]
    said = with_hyper_options("bispectrum n_max must be 1", bispectrum, name="bispectrum")
    assert said == "--bispectrum-n-max must be 1"
    # a name its option does not repeat stays: "bispectrum --sigma" says whose sigma
    said = with_hyper_options("bispectrum sigma must be", bispectrum, name="bispectrum")
    assert said == "bispectrum --sigma must be"
    assert with_hyper_options("om width 0", om, name="om") == "--om-width 0"
    # only the whole word "om" goes
    assert with_hyper_options("atom width 0", om, name="om") == "atom --om-width 0"


def test_every_fingerprint_option_reaches_its_fingerprint():
    """One table says which option sets which keyword: every option that applies to a
    fingerprint is one the command line defines, and sets a keyword of that fingerprint."""
    import inspect

    from degeneracy.cli import build_parser
    from degeneracy.cli.options import FINGERPRINT_OPTIONS, OPTION_REPRESENTATIONS, option_of
    from degeneracy.representations.registry import REPRESENTATIONS

    parser = build_parser()
    spectrum = parser._subparsers._group_actions[0].choices["spectrum"]
    defined = {action.dest for action in spectrum._actions}
    for name, hypers in FINGERPRINT_OPTIONS.items():
        keywords = inspect.signature(REPRESENTATIONS[name]).parameters
        for hyper, dest in hypers.items():
            assert hyper in keywords, (name, hyper)
            assert dest in defined, option_of(dest)
    assert OPTION_REPRESENTATIONS["sigma"] == ("soap", "bispectrum")
    assert OPTION_REPRESENTATIONS["om_width"] == ("om",)
    assert "cutoff" not in OPTION_REPRESENTATIONS  # it sets them all


def test_only_a_parameter_named_first_is_renamed():
    from degeneracy.cli import in_option_terms

    names = {"n_max": "--n-max", "sigma": "--sigma"}
    assert in_option_terms("n_max must be at least 1", names) == "--n-max must be at least 1"
    assert in_option_terms("sigma: too wide", names) == "--sigma: too wide"
    assert in_option_terms("sigmas must be", names) == "sigmas must be"
    assert in_option_terms("f.xyz: the sigma must", names) == "f.xyz: the sigma must"
    assert in_option_terms("sigma", names) == "sigma"


def test_a_trailing_slash_names_a_folder(tmp_path, capsys, monkeypatch):
    """pathlib drops it: `--output results/` was written as the file `results`, and
    `spectrum f.xyz/` read the file, where the OS says "not a directory"."""
    monkeypatch.chdir(tmp_path)
    Path("ch4.xyz").write_text(_CH4_FRAME)
    assert exit_status(["spectrum", "ch4.xyz", "--output", "results/"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "results/: --output ends with '/', which names a folder, not a file; give a file name"
        )
    )
    assert main(["singular", "ch4.xyz", "--output", "s.extxyz/"]) == 2
    assert "s.extxyz/: --output ends with '/'" in capsys.readouterr().err
    assert main(["spectrum", "ch4.xyz/"]) == 2
    assert capsys.readouterr().err.strip().endswith("ch4.xyz/: not a folder (ch4.xyz is a file)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ch4.xyz"]


def test_a_file_named_like_a_parameter_keeps_its_name(tmp_path, capsys, monkeypatch):
    """``spectrum sigma`` (no such file) said "--sigma: no such file", and a learn run in a
    folder ``model`` was "--model holds a finished learn ... run": the user typed them."""
    from degeneracy.cli import in_option_terms, typed_values

    monkeypatch.chdir(tmp_path)
    assert main(["spectrum", "sigma"]) == 2
    assert capsys.readouterr().err.endswith("error: sigma: no such file\n")
    assert main(["fit-basis", "n_max", "--output", "b.npz"]) == 2
    assert "error: n_max: no such file" in capsys.readouterr().err
    names = {"model": "--model", "n_max": "--n-max"}
    typed = typed_values(["learn", "--output=model", "--n-max", "3"])
    assert typed == {"learn", "model", "3"}
    assert in_option_terms("model holds a run", names, typed) == "model holds a run"
    assert in_option_terms("n_max must be", names, typed) == "--n-max must be"


def test_a_snake_case_parameter_is_renamed_wherever_it_stands():
    from degeneracy.cli import in_option_terms

    names = {"save_every": "--save-every", "n_max": "--n-max", "length": "--length"}
    line = "length 0.015 Å must be a whole multiple of save_every 0.01 Å"
    assert in_option_terms(line, names) == (
        "--length 0.015 Å must be a whole multiple of --save-every 0.01 Å"
    )
    # file names and longer words are not parameters; unknown ones stay
    for kept in ("save_every.xyz: no frame", "my_save_every 1", "a/save_every: x", "l_max 3"):
        assert in_option_terms(kept, names) == kept
    assert in_option_terms("x: n_max 8 (not 6).", names) == "x: --n-max 8 (not 6)."


def test_a_basis_fitted_for_other_settings_names_them_as_options():
    from degeneracy.cli.options import HYPER_OPTIONS, with_hyper_options

    message = "optimal_basis: fitted for sigma 0.3 (not 0.4), n_max 8 (not 6); fit one"
    assert with_hyper_options(message, HYPER_OPTIONS["soap"]) == (
        "--basis-file: fitted for --sigma 0.3 (not 0.4), --n-max 8 (not 6); fit one"
    )
    assert with_hyper_options("sigmas, n_max_extra", HYPER_OPTIONS["soap"]) == (
        "sigmas, n_max_extra"
    )


_SIO4_FRAME = (
    "5\n\nSi 0 0 0\nO 0.93 0.93 0.93\nO -0.93 -0.93 0.93\nO -0.93 0.93 -0.93\nO 0.93 -0.93 -0.93\n"
)

#: Every command that reads a FILE of environments with the --environment option.
_ENVIRONMENT_COMMANDS = ["spectrum", "compare", "pairs", "orbit", "singular", "fit-basis"]


def _environment_command(command: str, path: str, out: Path) -> list[str]:
    if command == "fit-basis":
        return ["fit-basis", path, "--output", str(out / "b.npz")]
    return _commands(path, out)[command]


@pytest.mark.parametrize("command", _ENVIRONMENT_COMMANDS)
def test_a_file_of_other_environments_hints_at_the_environment_option(command, tmp_path, capsys):
    """A newcomer's SiO4 file was refused with "the centre must be C, got Si", which did
    not say that CH4 is only the default, nor what to do."""
    path = tmp_path / "sio4.xyz"
    path.write_text(_SIO4_FRAME)
    out = tmp_path / "out"
    out.mkdir()
    argv = _environment_command(command, str(path), out)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"degeneracy {command}: error: {path}, frame 0, atom 0: the centre must be C, got Si; "
        "for other environments give --environment any (centre atom first) or e.g. SiO4; "
        "for whole structures use degeneracy scan"
    )
    # asked for CH4 (or another spec): the mismatch is the user's, no hint
    for spec in ("CH4", "SiO3"):
        assert main([*argv, "--environment", spec]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--environment any" not in err, err
    assert not list(out.iterdir())


def test_the_environment_hint_is_added_once_and_to_spec_mismatches_only():
    import argparse

    import ase

    import degeneracy as dg
    from degeneracy.cli.options import ENVIRONMENT_HINT, with_environment_hint
    from degeneracy.errors import SPEC_MISMATCH, DegeneracyError
    from degeneracy.structures import CH4

    args = argparse.Namespace(environment=CH4)
    frames = {
        "m.xyz, frame 2: expected 5 atoms (CH4), got 8": ase.Atoms("CH7"),
        "m.xyz, frame 0, atom 0: the centre must be C, got O": ase.Atoms("OH4"),
        "m.xyz, frame 0, atom 3: expected neighbour H, got O": ase.Atoms("CH2OH"),
    }
    for message, atoms in frames.items():
        with pytest.raises(DegeneracyError) as raised:
            dg.validate_environment(
                atoms, spec="CH4", where=message.split(", atom")[0].split(":")[0]
            )
        assert str(raised.value) == message and raised.value.kind == SPEC_MISMATCH
        hinted = with_environment_hint(raised.value, args)
        assert str(hinted) == message + ENVIRONMENT_HINT
        assert with_environment_hint(hinted, args) is hinted  # once
    # the same words in another error are no mismatch (the kind decides, not the text)
    lookalike = DegeneracyError("m.xyz, frame 2: expected 5 atoms (CH4), got 8")
    assert with_environment_hint(lookalike, args) is lookalike
    mismatch = DegeneracyError("m.xyz, frame 2: expected 5 atoms (CH4), got 8", kind=SPEC_MISMATCH)
    # predict has no --environment (its model is for CH4): nothing to hint at
    assert with_environment_hint(mismatch, argparse.Namespace()) is mismatch


# --- helper-70: a new user's review ---------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["spectrum", "--builtin", "td", "--cutoff", "20"],
         "--cutoff 20 Å is 66.7 times --sigma 0.3 Å, more than the 35 up to which featomic "
         "computes its GTO radial integrals: give --cutoff at most 10.5 Å or --sigma at "
         "least 0.572 Å"),
        (["spectrum", "--builtin", "td", "--rep", "bispectrum", "--cutoff", "20"],
         "--cutoff 20 Å is 66.7 times --sigma 0.3 Å, more than the 35"),
        (["compare", "--builtin", "td", "--rep", "acsf,soap", "--cutoff", "50"],
         "--cutoff 50 Å is 167 times --sigma 0.3 Å, more than the 35"),
        (["spectrum", "--builtin", "td", "--sigma", "5"],
         "--sigma must be smaller than --cutoff 2.5 Å, got 5"),
        (["spectrum", "--builtin", "td", "--sigma", "3", "--cutoff", "3"],
         "--sigma must be smaller than --cutoff 3 Å, got 3"),
        (["learn", "--quick", "--model", "multicentre", "--sigma", "5", "--output", "OUT"],
         "--sigma must be smaller than --cutoff 2.5 Å, got 5"),
        # the fingerprint's own refusals stay (featomic is not asked about a σ it refuses)
        (["spectrum", "--builtin", "td", "--sigma", "0.001"], "--sigma must be at least 0.01 Å"),
        (["spectrum", "--builtin", "td", "--cutoff", "101"], "--cutoff must be at most 100 Å"),
    ],
)  # fmt: skip
def test_a_cutoff_too_large_for_sigma_is_refused_before_featomic(argv, line, tmp_path, capfd):
    """`--cutoff 20` reached featomic, which said "featomic refused SOAP sigma 0.3 Å, cutoff
    20 Å, ...: Failed to compute radial integral with GTO basis. Try increasing decreasing
    the `cutoff`, ..."; `--sigma 5` said "--sigma must be smaller than 2.5" without saying
    what 2.5 is."""
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    assert exit_status(argv) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"degeneracy {argv[0]}: error: {line}"), err
    assert err.count("\n") == 1 and "featomic refused" not in err and "Try" not in err
    assert not (tmp_path / "out").exists()


def test_the_cutoff_over_sigma_limit_is_safe_and_its_advice_holds():
    """featomic computes the GTO integrals up to cutoff/σ 35 for every n_max and l_max the
    fingerprints allow, at the smallest σ (where its limit is lowest, 35.67); the advice
    of the refusal is accepted; beyond 37.7 featomic refuses any setting, in one line
    (only callers of featomic itself get there: the fingerprints refuse beyond 35 when
    they are built, tests/test_representations.py)."""
    import featomic

    from degeneracy.errors import DegeneracyError
    from degeneracy.representations._featomic import MAX_CUTOFF_OVER_SIGMA, new_calculator
    from degeneracy.representations.base import density_width

    def expansion(sigma, cutoff, n_max, l_max):
        return new_calculator(
            featomic.SphericalExpansion,
            f"sigma {sigma} Å, cutoff {cutoff} Å",
            cutoff={"radius": cutoff, "smoothing": {"type": "Step"}},
            density={"type": "Gaussian", "width": sigma},
            basis={
                "type": "TensorProduct",
                "max_angular": l_max,
                "radial": {"type": "Gto", "max_radial": n_max - 1},
            },
        )

    for sigma in (0.01, 0.3):
        expansion(sigma, MAX_CUTOFF_OVER_SIGMA * sigma, 22, 20)
    with pytest.raises(DegeneracyError) as refused:
        expansion(0.3, 11.4, 1, 0)
    said = str(refused.value)
    assert said.startswith("featomic refused sigma 0.3 Å, cutoff 11.4 Å: "), said
    assert "\n" not in said
    density_width(0.3, cutoff=10.5)  # the advice for --cutoff 20 --sigma 0.3
    density_width(0.572, cutoff=20.0)
    density_width(0.01, cutoff=0.35)
    with pytest.raises(DegeneracyError, match=r"sigma at least 0\.0715 Å"):
        density_width(0.0714, cutoff=2.5)


def test_a_euler_step_that_does_not_divide_the_frame_spacing_names_step(tmp_path, capsys):
    """It said "the Euler step 0.03 Å must divide --save-every", not naming --step."""
    out = tmp_path / "o.extxyz"
    argv = ["orbit", "--builtin", "pg-start", "--step", "0.03", "--output", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "degeneracy orbit: error: --step 0.03 Å must divide --save-every 0.01 Å, the spacing "
        "of the saved frames, a whole number of times (ratio 0.333333)\n"
    )
    assert main([*argv[:3], "--step", "0.002", "--save-every", "0.005", "--output", str(out)]) == 2
    assert "--step 0.002 Å must divide --save-every 0.005 Å" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("CH0", "environment 'CH0': the neighbour count must be at least 1, got 0"),
        ("SiO00", "environment 'SiO00': the neighbour count must be at least 1, got 0"),
        ("CQ4", "environment 'CQ4': unknown neighbor element 'Q'"),
        ("QH0", "environment 'QH0': unknown center element 'Q'"),
        ("CH-1", "environment 'CH-1': expected 'any' or a centre element"),
    ],
)
def test_an_environment_refusal_names_the_value(value, reason, capsys):
    """`--environment CH0` said "n_neighbors must be at least 1, got 0"."""
    assert exit_status(["spectrum", "--builtin", "td", "--environment", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"degeneracy spectrum: error: argument --environment: {reason}"), err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["spectrum", "--builtin", "td", "--output", "-"],
        ["compare", "--builtin", "td", "--output", "-"],
        ["pairs", "--verify", "pairs.xyz", "--output", "-"],
        ["scan", "in.xyz", "--output", "-"],
    ],
)
def test_an_output_named_dash_is_refused(argv, tmp_path, capsys, monkeypatch):
    """`spectrum --output -` wrote a file named "-" (no command reads "-" as stdout)."""
    monkeypatch.chdir(tmp_path)
    assert exit_status(argv) == 2
    assert capsys.readouterr().err == (
        f"degeneracy {argv[0]}: error: argument --output: '-' would be a file named '-', not "
        "stdout; name a file (a command that prints does so without --output)\n"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("command", "option"), [("spectrum", "--units"), ("learn", "--orbit-units")]
)
def test_the_units_question_names_the_commands_own_option(command, option, tmp_path, capsys):
    """CH4 with C–H 2.6 Å, beyond the cutoff in Å (1.4 Å if it were bohr): learn reads
    its --orbit FILE in --orbit-units, and asked about --units, which it does not have."""
    frames = dg.ThermalMethaneSampler().sample(2, seed=5)
    for atoms in frames:
        atoms.positions *= 2.4
    path = tmp_path / "bohr.extxyz"
    dg.write_environments(path, frames)
    out = tmp_path / "out"
    out.mkdir()
    assert main(_commands(str(path), out)[command]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "outside the cutoff" in err, err
    assert err.endswith(f"is the file in bohr? ({option} bohr)"), err


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_scan_refuses_a_coordinate_beyond_any_structure(tmp_path, capsys):
    """ase's neighbour search overflowed its bins at 1e300 Å (two numpy RuntimeWarnings,
    and the scan went on)."""
    path = tmp_path / "huge.extxyz"
    path.write_text(f"5\n\n{_CH4}H 0.63 -0.63 -0.63\n" + f"5\n\n{_CH4}H 1e300 0 0\n")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["scan", str(path), "--output", str(out / "r.csv"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"degeneracy scan: error: {path}, structure 1, atom 4: coordinate 1e+300 Å is beyond "
        "±1e+12 Å (100 m), no structure's"
    )
    assert not list(out.iterdir())
    with pytest.raises(dg.DegeneracyError, match=r"^structure, atom 4: coordinate 1e\+300 Å"):
        dg.environments_of(ase.io.read(path, 1), [0], cutoff=2.5)


@pytest.mark.parametrize("name", ["huge.xyz.gz", "huge"])
def test_a_huge_atom_count_is_refused_in_compressed_and_unsuffixed_files(name, tmp_path, capsys):
    """The guard looked at the suffix only: ase reads .xyz.gz and (by its content) a file
    without a suffix as xyz, and spun there for hours."""
    import gzip

    contents = b"99999999999\n\nC 0 0 0\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(contents) if name.endswith(".gz") else contents)
    assert main(["spectrum", str(path)]) == 2
    assert "frame 0 declares 99999999999 atoms" in capsys.readouterr().err


def test_blank_lines_at_the_end_of_a_file_are_fine(tmp_path):
    path = tmp_path / "tail.xyz"
    path.write_text(f"{_CH4_FRAME}{_CH4_FRAME}\n\n  \n")
    assert len(dg.read_environments(path)) == 2


def test_a_frame_ase_cannot_parse_is_named(tmp_path, capsys):
    """ase's "could not convert string to float: 'abc'" named no frame in a large file."""
    path = tmp_path / "bad.xyz"
    path.write_text(BAD_FILES["bad-number"][0])
    assert main(["spectrum", str(path)]) == 2
    assert "(frame 1: could not convert string to float: 'abc')" in capsys.readouterr().err
