"""Small command-line defects: how `--rep` entry values are read, where `fit-basis` says
that functions carry no variance, and what an interrupted `compare --plot` leaves."""

from __future__ import annotations

import json
import os
import signal

import pytest
from conftest import exit_status

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.cli.options import hyper_value
from degeneracy.errors import DegeneracyError

# --- 1. `--rep NAME:key=value`: only plainly written numbers -----------------------------


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (int, "8", 8),
        (int, "-1", -1),  # read; the fingerprint refuses it in its own words
        (int, "08", 8),
        (float, "0.3", 0.3),
        (float, "3e-1", 0.3),
        (float, "3E-1", 0.3),
        (float, ".3", 0.3),
        (float, "3.", 3.0),
        (float, "2", 2.0),
        (float, "-0.5", -0.5),
        (str, "gto", "gto"),
        (str, "true", "true"),  # text is the fingerprint's to check
    ],
)
def test_plainly_written_values_are_read_as_the_keywords_type(kind, text, value):
    read = hyper_value("key", text, kind)
    assert read == value and type(read) is kind


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        *(
            (int, text)
            for text in ["1_0", "+8", " 8", "8 ", "8.0", "0x8", "1e1", "٣", "true", "", "-"]
        ),
        *(
            (float, text)
            for text in ["1_0", "1_0.5", "+0.3", " 0.3", "0x1p-2", "٠.٣", "nan", "inf",
                         "-inf", "infinity", "true", "1e", ".", "", "0.3\n"]
        ),
    ],
)  # fmt: skip
def test_values_python_would_read_but_nobody_writes_are_refused(kind, text):
    what = "an integer" if kind is int else "a number"
    with pytest.raises(DegeneracyError) as error:
        hyper_value("n_max", text, kind)
    assert str(error.value) == f"n_max must be {what}, got {text!r}"


def test_an_integer_of_more_digits_than_python_reads_is_refused_in_one_line():
    with pytest.raises(DegeneracyError, match=r"^n_max is too large: 5000 digits$"):
        hyper_value("n_max", "9" * 5000, int)


@pytest.mark.parametrize(
    ("rep", "line"),
    [
        ("soap:n_max=1_0", "soap:n_max=1_0: n_max must be an integer, got '1_0'"),
        ("soap:n_max=+8", "soap:n_max=+8: n_max must be an integer, got '+8'"),
        ("soap:n_max=٣", "soap:n_max=٣: n_max must be an integer, got '٣'"),
        ("soap:sigma=0.3_0", "soap:sigma=0.3_0: sigma must be a number, got '0.3_0'"),
    ],
)
def test_compare_refuses_a_rep_value_not_plainly_written(rep, line, capsys):
    from conftest import exit_status

    assert exit_status(["compare", "--builtin", "td", "--rep", rep]) == 2
    err = capsys.readouterr().err
    assert err == f"degeneracy compare: error: argument --rep: {line}\n", err


# --- 2. fit-basis: every note on the basis on stderr ------------------------------------


@pytest.mark.parametrize(
    ("argv", "summary"),
    [
        # given frames: channels without variance (the library's warning) and channels
        # with fewer carrying functions than --n-max (the command's note)
        (["--builtin", "td"], "optimal basis from 1 frame (C centres, H neighbours)"),
        # random frames
        (["--n-frames", "2"], "optimal basis from 2 frames (C centres, H neighbours)"),
    ],
)
def test_fit_basis_says_which_functions_are_round_off_on_stderr(capsys, tmp_path, argv, summary):
    """The note "of the N functions per channel only ... carry variance" was printed on
    stdout, the warning on channels with no variance at all on stderr."""
    target = tmp_path / "b.npz"
    assert main(["fit-basis", *argv, "--output", str(target)]) == 0
    captured = capsys.readouterr()
    carrying = dg.OptimalBasis.load(target).carrying_components()
    assert 0 < carrying[0] < 8  # the note is due
    assert captured.out.startswith(summary) and len(captured.out.splitlines()) == 1
    assert "carry variance" not in captured.out and "variance in the" not in captured.out
    note = (
        f"degeneracy fit-basis: warning: of the 8 functions per channel only {carrying[0]} at l = 0"
    )
    lines = captured.err.splitlines()
    assert any(line.startswith(note) and "set by round-off" in line for line in lines), lines
    assert all(line.startswith("degeneracy fit-basis: warning: ") for line in lines), lines
    if argv[0] == "--builtin":
        assert "degeneracy fit-basis: warning: optimal basis: the 1 fitting frame has no " in (
            captured.err
        )


# --- 3. compare --plot: the table and the figure as one result ---------------------------


def _outputs(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _interrupt(signum):
    """A stand-in for drawing or saving the figure, stopped by ``signum`` (the handlers of
    :func:`~degeneracy.cli.main` raise KeyboardInterrupt or Terminated)."""

    def stop(*args, **kwargs):
        os.kill(os.getpid(), signum)
        raise AssertionError("the signal did not stop the command")

    return stop


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_an_interrupted_rerun_leaves_no_new_table_beside_the_old_figure(
    tmp_path, capsys, monkeypatch, signum, status, word
):
    """The table was written before the figure was drawn: a rerun interrupted while
    drawing left its new JSON beside the figure of the earlier run."""
    import degeneracy.figures.compare as figures

    out = tmp_path / "out"
    out.mkdir()
    argv = ["compare", "--builtin", "td", "--format", "json"]
    paths = ["--plot", str(out / "fig"), "--output", str(out / "r.json")]
    assert main([*argv, "--rep", "soap", *paths]) == 0
    capsys.readouterr()
    before = _outputs(out)
    assert sorted(before) == ["fig.pdf", "fig.png", "r.json"]
    assert list(json.loads(before["r.json"])["fingerprints"]) == ["soap"]

    monkeypatch.setattr(figures, "plot_comparison", _interrupt(signum))
    assert main([*argv, "--rep", "acsf", *paths]) == status
    assert capsys.readouterr().err == f"degeneracy compare: {word}\n"
    assert _outputs(out) == before  # nothing new, no temporary file left


def test_an_interrupt_while_saving_the_figure_leaves_no_file(tmp_path, capsys, monkeypatch):
    """Stopped between the PNG and the PDF of the real figure: no output, no stray file,
    and no table printed."""
    from matplotlib.figure import Figure

    save = Figure.savefig

    def png_then_interrupt(self, path, *args, **kwargs):
        if kwargs.get("format") == "pdf":
            _interrupt(signal.SIGINT)()
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", png_then_interrupt)
    assert (
        main(["compare", "--builtin", "td", "--rep", "soap", "--plot", str(tmp_path / "f")]) == 130
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "degeneracy compare: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_compare_writes_the_table_and_a_png_prefix_figure(tmp_path, capsys):
    """`--plot f.png` writes f.png and f.pdf (the library drops the suffix), and the
    paths checked before the work are those."""
    from degeneracy.cli.compare import figure_paths

    assert figure_paths(str(tmp_path / "f.png")) == [
        str(tmp_path / "f.png"),
        str(tmp_path / "f.pdf"),
    ]
    assert figure_paths(str(tmp_path / "f.PDF")) == [
        str(tmp_path / "f.png"),
        str(tmp_path / "f.pdf"),
    ]
    assert figure_paths(str(tmp_path / "f")) == [str(tmp_path / "f.png"), str(tmp_path / "f.pdf")]
    table = tmp_path / "t.csv"
    argv = ["compare", "--builtin", "td", "--rep", "soap", "--output", str(table)]
    assert main([*argv, "--plot", str(tmp_path / "f.png")]) == 0
    assert capsys.readouterr().err == f"wrote {tmp_path / 'f.png'} and {tmp_path / 'f.pdf'}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f.pdf", "f.png", "t.csv"]
    assert table.read_text().startswith("frame,cn_soap,")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


# --- every type=int / type=float option reads numbers as --rep entries do ----------------


@pytest.mark.parametrize(
    ("option", "text", "line"),
    [
        ("--n-max", "1_0", "argument --n-max: invalid int value: '1_0'"),
        ("--n-max", "+8", "argument --n-max: invalid int value: '+8'"),
        ("--n-max", "٣", "argument --n-max: invalid int value: '٣'"),
        ("--n-max", "8.0", "argument --n-max: invalid int value: '8.0'"),
        ("--sigma", "0.3_0", "argument --sigma: invalid float value: '0.3_0'"),
        ("--sigma", "٠.٣", "argument --sigma: invalid float value: '٠.٣'"),
        ("--sigma", "nan", "--sigma must be a positive number, got nan"),  # the library's
        ("--sigma", "-1e-3", "--sigma must be a positive number, got -0.001"),
        # were "got 0.0" and "got inf": not what was typed
        (
            "--sigma",
            "1e-400",
            "argument --sigma: 1e-400 is 0 in double precision (its smallest is 5e-324)",
        ),
        (
            "--cutoff",
            "1e400",
            "argument --cutoff: 1e400 is beyond double precision (its largest is 1.8e308)",
        ),
    ],
)
def test_numeric_options_read_plainly_written_numbers(capsys, option, text, line):
    assert exit_status(["spectrum", "--builtin", "td", option, text]) == 2
    err = capsys.readouterr().err
    assert err == f"degeneracy spectrum: error: {line}\n"


def test_plainly_written_numbers_are_read_as_before(capsys):
    assert main(["spectrum", "--builtin", "td", "--n-max", "4", "--sigma", "3e-1"]) == 0
    assert "symmetry" in capsys.readouterr().out
