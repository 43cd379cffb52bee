"""`degeneracy spectrum` / `fit-basis`: output contract, errors, atomic output."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import ase
import ase.io
import numpy as np
import pytest
from conftest import exit_status

import degeneracy as dg
from degeneracy.cli import COMMAND_MODULES, build_parser, main
from degeneracy.structures import vector_lengths


def _run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_contract(capsys, tmp_path):
    path = tmp_path / "two.extxyz"
    dg.write_environments(path, [dg.builtin_environment("pg-start"), dg.builtin_environment("td")])
    status, out, err = _run(capsys, "spectrum", str(path), "--format", "json")
    assert status == 0, err
    records = json.loads(out)
    assert [r["frame"] for r in records] == [0, 1]
    for record in records:
        values = record["singular_values"]
        assert len(values) == 9 and values == sorted(values, reverse=True)
        assert isinstance(record["symmetric"], bool)
    values = records[0]["singular_values"]
    assert records[0]["cn"] == pytest.approx(values[0] / values[-1], rel=1e-12)
    assert records[0]["symmetric"] is False and 1.5e3 < records[0]["cn"] < 3.5e3
    assert records[1]["symmetric"] is True and records[1]["verdict"] == "symmetry"
    # Td's s9 is round-off (~1e-17 s1): the CN is infinite, null in strict JSON
    assert records[1]["cn"] is None and records[1]["singular_values"][-1] > 0
    assert records[1]["fourbody"] == pytest.approx(2 / 3)


def test_a_spurious_zero_names_the_equal_pairs_its_motion_swaps(capsys, tmp_path):
    """The fold of a degenerate pair (A+ = A-): SOAP's zero trades H2-H4 against H3-H4."""
    path = tmp_path / "folds.extxyz"
    dg.write_environments(path, dg.fold_frames(dg.PairSampler().folds(2, seed=5)))
    _, out, _ = _run(capsys, "spectrum", str(path), "--format", "json")
    assert [(r["verdict"], r["pair_swap"]) for r in json.loads(out)] == [
        ("spurious", "H2-H4 = H3-H4")
    ] * 2
    _, out, _ = _run(capsys, "spectrum", str(path), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["pair_swap"] for row in rows] == ["H2-H4 = H3-H4"] * 2
    _, out, _ = _run(capsys, "spectrum", str(path))
    assert out.count("spurious: swaps equal pairs H2-H4 = H3-H4") == 2
    _, out, _ = _run(capsys, "spectrum", str(path), "--rep", "bispectrum", "--format", "json")
    assert [(r["verdict"], r["pair_swap"]) for r in json.loads(out)] == [("regular", None)] * 2
    _, out, _ = _run(capsys, "spectrum", "--builtin", "td", "--format", "json")
    assert json.loads(out)[0]["pair_swap"] is None  # a symmetry zero is not called a swap


def test_spectrum_names_the_nearest_equal_pairs(capsys):
    """pg-start (CN ~2e3 for SOAP) is 0.011 Å from a coincidence of two pairs, and its
    softest motion is mostly their trade (ρ 0.1); for the bispectrum it is not (ρ ~1)."""
    _, out, _ = _run(capsys, "spectrum", "--builtin", "pg-start", "--format", "json")
    [record] = json.loads(out)
    assert record["nearest_coincidence"] == "H2-H3 = H3-H4"
    assert 0.005 < record["coincidence_distance"] < 0.02
    assert 0.02 < record["near_swap_residual"] < 0.3
    _, out, _ = _run(capsys, "spectrum", "--builtin", "pg-start", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["nearest_coincidence"] == "H2-H3 = H3-H4"
    assert float(row["coincidence_distance"]) == pytest.approx(
        record["coincidence_distance"], rel=1e-3
    )
    _, out, _ = _run(capsys, "spectrum", "--builtin", "pg-start")
    assert "nearest equal pairs" in out.splitlines()[0]
    assert "H2-H3 = H3-H4 (0.011 Å, ρ 0.099)" in out
    _, out, _ = _run(capsys, "spectrum", "--builtin", "pg-start", "--rep", "bispectrum")
    residual = float(out.splitlines()[1].split("ρ ")[1].split(")")[0])
    assert residual > 0.5


def test_table_csv_and_units(capsys, tmp_path):
    status, table, _ = _run(capsys, "spectrum", "--builtin", "pg-start")
    assert status == 0
    header = table.splitlines()[0].split()
    assert header[:2] == ["frame", "s1"] and "CN" in header and "E4" in header
    atoms = dg.builtin_environment("pg-start")
    atoms.positions /= ase.units.Bohr
    ase.io.write(tmp_path / "bohr.xyz", atoms, format="xyz")
    status, csv_text, _ = _run(
        capsys, "spectrum", str(tmp_path / "bohr.xyz"), "--units", "bohr", "--format", "csv"
    )
    assert status == 0
    row = csv_text.splitlines()[1].split(",")
    assert float(row[10]) == pytest.approx(float(table.splitlines()[1].split()[10]), rel=1e-3)


def test_output_file_is_written(capsys, tmp_path):
    target = tmp_path / "spectrum.json"
    status, out, _ = _run(
        capsys, "spectrum", "--builtin", "td", "--format", "json", "--output", str(target)
    )
    assert status == 0 and out == ""
    assert json.loads(target.read_text())[0]["symmetric"] is True


def _write(tmp_path, symbols, positions, name="bad.xyz"):
    path = tmp_path / name
    ase.io.write(path, ase.Atoms(symbols, positions=positions), format="extxyz")
    return str(path)


def _td():
    return np.vstack([np.zeros(3), dg.neighbor_positions(dg.builtin_environment("td"))])


BAD_INPUTS = {
    "missing-file": (lambda tmp: [str(tmp / "missing.xyz")], "missing.xyz: no such file"),
    "unreadable-file": (
        lambda tmp: [str((tmp / "junk.xyz", (tmp / "junk.xyz").write_text("junk\n"))[0])],
        "cannot read structures",
    ),
    "nan": (
        lambda tmp: [_write(tmp, "CH4", np.where(np.arange(15).reshape(5, 3) == 4, np.nan, _td()))],
        "frame 0, atom 1: non-finite coordinates",
    ),
    "atom-count": (lambda tmp: [_write(tmp, "CH3", _td()[:4])], "expected 5 atoms (CH4), got 4"),
    "overlap": (
        lambda tmp: [_write(tmp, "CH4", np.vstack([_td()[:4], _td()[3] + [0.2, 0, 0]]))],
        "atoms 3 and 4 are 0.2 Å apart",
    ),
    "outside-cutoff": (
        lambda tmp: [_write(tmp, "CH4", np.vstack([_td()[:4], [2.6, 0, 0]]))],
        "frame 0, atom 4: 2.6 Å from the centre, outside the cutoff 2.5 Å",
    ),
    "unknown-builtin": (lambda tmp: ["--builtin", "ch5"], "unknown builtin structure 'ch5'"),
    "no-input": (lambda tmp: [], "give either a structure FILE or --builtin NAME"),
    "negative-sigma": (
        lambda tmp: ["--builtin", "td", "--sigma", "-0.3"],
        "sigma must be a positive number, got -0.3",
    ),
    "sigma-not-a-number": (
        lambda tmp: ["--builtin", "td", "--sigma", "wide"],
        "argument --sigma: invalid float value: 'wide'",
    ),
    "zero-n-max": (lambda tmp: ["--builtin", "td", "--n-max", "0"], "--n-max must be at least 1"),
    "bad-basis": (lambda tmp: ["--builtin", "td", "--basis", "bessel"], "invalid choice: 'bessel'"),
    "bad-basis-file": (
        lambda tmp: ["--builtin", "td", "--basis-file", str(tmp / "none.npz")],
        "none.npz: no such file",
    ),
    "huge-coordinate": (
        lambda tmp: [_write(tmp, "CH4", np.vstack([_td()[:4], [1e300, 0, 0]]))],
        "frame 0, atom 4: 1e+300 Å from the centre",  # not "inf Å"
    ),
    "output-not-writable": (
        lambda tmp: ["--builtin", "td", "--output", "/proc/result.json"],
        "/proc/result.json: cannot write",  # the file asked for, not its temporary name
    ),
    "output-folder-missing": (
        lambda tmp: ["--builtin", "td", "--output", str(tmp / "nowhere" / "out.json")],
        "output folder",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2_no_output(case, tmp_path, capsys):
    make_args, message = BAD_INPUTS[case]
    target = tmp_path / "result.json"
    args = make_args(tmp_path)
    if "--output" not in args:
        args = [*args, "--output", str(target)]
    assert exit_status(["spectrum", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".result")]


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_huge_coordinates_do_not_overflow(tmp_path, capsys):
    path = _write(tmp_path, "CH4", np.vstack([_td()[:4], [1e300, 0, 0]]))
    assert exit_status(["spectrum", path]) == 2  # a RuntimeWarning would raise here
    assert "1e+300 Å from the centre" in capsys.readouterr().err
    np.testing.assert_allclose(vector_lengths(np.array([[3e300, 4e300, 0.0]])), [5e300])


@pytest.mark.parametrize("extra", [[], ["--basis", "optimal"], ["--rep", "bispectrum"]])
def test_a_cutoff_featomic_would_refuse_is_one_line_naming_the_options(extra, capfd):
    # featomic refuses when it builds the calculator, through a Rust panic that prints a
    # backtrace note on file descriptor 2; the command line refuses first, in its terms
    assert exit_status(["spectrum", "--builtin", "td", "--cutoff", "100", *extra]) == 2
    err = capfd.readouterr().err
    assert "error: --cutoff 100 Å is 333 times --sigma 0.3 Å, more than the 35" in err
    assert err.count("\n") == 1 and "panicked" not in err and "Traceback" not in err


def test_real_process_exit_code_and_traceback_flag(tmp_path):
    command = [sys.executable, "-m", "degeneracy", "spectrum", str(tmp_path / "missing.xyz")]
    plain = subprocess.run(command, capture_output=True, text=True)
    assert plain.returncode == 2
    assert (
        plain.stderr.strip()
        == f"degeneracy spectrum: error: {tmp_path / 'missing.xyz'}: no such file"
    )
    verbose = subprocess.run(
        [sys.executable, "-m", "degeneracy", "--traceback", *command[3:]],
        capture_output=True,
        text=True,
    )
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr


def test_existing_output_survives_an_error(capsys, tmp_path):
    target = tmp_path / "keep.json"
    target.write_text("old\n")
    assert main(["spectrum", str(tmp_path / "missing.xyz"), "--output", str(target)]) == 2
    assert target.read_text() == "old\n"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["spectrum", "--builtin", "td", "--rep", "acsf", "--sigma", "0.3"], "--sigma"),
        (["spectrum", "--builtin", "td", "--acsf-angular", "g5"], "--acsf-angular"),
        (
            ["orbit", "--builtin", "td", "--rep", "om", "--n-max", "4", "--output", "o.xyz"],
            "--n-max",
        ),
        (["compare", "--builtin", "td", "--rep", "soap,acsf", "--om-width", "2"], "--om-width"),
        (["learn", "--model", "multicentre", "--rep", "acsf", "--output", "x"], "--rep acsf"),
        (["learn", "--model", "multicentre", "--acsf-set", "loose", "--output", "x"], "--acsf-set"),
    ],
)
def test_options_of_an_unselected_fingerprint_are_refused(
    argv, named, capsys, tmp_path, monkeypatch
):
    """An option that configures none of the selected fingerprints is an error, not ignored
    (even when its value equals the default), raised before any output is written."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and named in err and "does not apply" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--orbit", "orbit.xyz", "--orbit-sigma", "0.3"], "--orbit-sigma"),
        (["--orbit", "orbit.xyz", "--orbit-basis", "gto"], "--orbit-basis"),
        (["--orbit-units", "bohr"], "--orbit-units"),
        (["--max-minutes", "3", "--no-time-limit"], "--no-time-limit"),
    ],
)
def test_learn_refuses_orbit_and_time_options_it_would_ignore(
    argv, named, tmp_path, monkeypatch, capsys
):
    """--orbit FILE makes the traced orbit's options moot, and --orbit-units needs a FILE;
    a time limit and no time limit contradict each other."""
    monkeypatch.chdir(tmp_path)
    assert exit_status(["learn", "--output", "run", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and named in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["learn", "reproduce", "family"])
def test_a_file_in_place_of_the_results_folder_is_refused_first(command, tmp_path, capsys):
    target = tmp_path / "results"
    target.write_text("keep\n")
    assert main([command, "--quick", "--output", str(target)]) == 2
    assert f"{target}: exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep\n"


def test_units_are_refused_with_a_builtin(capsys):
    assert main(["spectrum", "--builtin", "td", "--units", "bohr"]) == 2
    assert "--units is the length unit of FILE; not with --builtin" in capsys.readouterr().err


def test_options_of_any_selected_fingerprint_are_accepted(capsys):
    argv = ["compare", "--builtin", "pg-start", "--rep", "soap,acsf", "--acsf-set", "loose"]
    status, out, err = _run(capsys, *argv, "--sigma", "0.4", "--format", "json")
    assert status == 0, err
    assert set(json.loads(out)["fingerprints"]) == {"soap", "acsf"}
    status, _, err = _run(
        capsys, "spectrum", "--builtin", "td", "--rep", "bispectrum", "--sigma", "0.4"
    )
    assert status == 0, err


def test_building_the_parser_loads_neither_featomic_nor_torch():
    """``degeneracy --help`` and argument errors stay fast: the package's names load on
    first use (``__init__.pyi`` stubs) and the subcommands import heavy code when they run."""
    code = (
        "import sys, degeneracy.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in ('featomic', 'torch', 'metatensor') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # submodules stay reachable as attributes of a freshly imported package
    code = (
        "import degeneracy as dg; "
        "print(dg.orbits.trace_orbit.__name__, dg.learning.specs.RMSE_KEYS[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["trace_orbit", "train_rmse"]


@pytest.mark.parametrize(
    "argv",
    [
        ["learn", "--quick", "--depth", "0", "--output", "L"],
        ["learn", "--orbit", "o.extxyz", "--orbit-sigma", "0.3", "--output", "L"],
    ],
)
def test_learn_refuses_bad_options_before_loading_torch_and_featomic(argv, tmp_path):
    """Such refusals took 3-4 s: ``learn`` imported its models before checking options."""
    code = (
        "import sys\nfrom degeneracy.cli import main\ntry:\n"
        f"    code = main({argv!r})\nexcept SystemExit as stop:\n    code = stop.code\n"
        "print(code)\nprint(sorted(m for m in ('featomic', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split("\n")[:2] == ["2", "[]"], out.stdout + out.stderr
    assert not (tmp_path / "L").exists()


def test_every_public_name_resolves_and_the_registries_agree():
    from degeneracy.cli.options import REPRESENTATION_ORDER
    from degeneracy.learning import PROTOCOLS
    from degeneracy.learning.protocols import run_protocol

    for package in (dg, dg.learning, dg.representations):
        assert all(getattr(package, name) is not None for name in package.__all__)
    assert "__version__" in dg.__all__ and "SoapPowerSpectrum" in dir(dg)
    assert sorted(REPRESENTATION_ORDER) == sorted(dg.REPRESENTATIONS)
    assert list(PROTOCOLS) == ["none", "subset", "full"] and callable(run_protocol)
    with pytest.raises(AttributeError):
        dg.no_such_name  # noqa: B018


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    assert len(subparsers) >= len(COMMAND_MODULES)
    for name in subparsers:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert "usage: degeneracy" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert dg.__version__ in capsys.readouterr().out


def test_fit_basis_command(capsys, tmp_path):
    target = tmp_path / "basis.npz"
    status, out, err = _run(
        capsys, "fit-basis", "--n-frames", "200", "--seed", "3", "--output", str(target)
    )
    assert status == 0, err
    basis = dg.OptimalBasis.load(target)
    assert basis.provenance["seed"] == 3 and basis.provenance["n_frames"] == 200
    assert "from 200 frames (C centres, H neighbours) written to" in out
    assert "note:" not in out and all(basis.carrying_components() == 8)
    status, out, err = _run(
        capsys, "spectrum", "--builtin", "pg-start", "--basis-file", str(target), "--format", "json"
    )
    assert status == 0, err
    assert json.loads(out)[0]["cn"] > 100
    # random-frame options with given frames, and a radial basis for the basis fit: refused
    status, _, err = _run(
        capsys, "fit-basis", "--builtin", "td", "--seed", "3", "--output", "b.npz"
    )
    assert status == 2 and "--seed is for random frames" in err
    status, _, err = _run(capsys, "fit-basis", "--units", "bohr", "--output", str(target))
    assert status == 2 and "--units is the length unit of FILE; not with random frames" in err
    assert exit_status(["fit-basis", "--basis", "gto", "--output", str(target)]) == 2
    status, _, err = _run(capsys, "fit-basis", "--n-frames", "0", "--output", str(target))
    assert status == 2 and err.strip().endswith(
        "--n-frames must be at least 1 and at most 100000, got 0"
    ), err


def test_fit_basis_on_few_frames_says_which_functions_are_round_off(capsys, tmp_path):
    """Six CH4 span only 3 of the 8 l = 0 functions; the other 5 were kept silently,
    directions set by round-off (a bohr copy of the file gave another basis)."""
    frames = tmp_path / "few.xyz"
    ase.io.write(frames, dg.sample_methane(6, seed=1), format="extxyz")
    target = tmp_path / "few.npz"
    status, out, err = _run(capsys, "fit-basis", str(frames), "--output", str(target))
    assert status == 0, err
    basis = dg.OptimalBasis.load(target)
    assert basis.provenance["source"] == str(frames) and basis.provenance["units"] == "angstrom"
    carrying = basis.carrying_components()
    assert 0 < carrying[0] < 8
    assert f"only {carrying[0]} at l = 0" in err and "set by round-off" in err  # a note: stderr
    assert "only" not in out


def test_fit_basis_on_h_centred_random_methane_is_the_builtin_h_basis(capsys, tmp_path, cache):
    target = tmp_path / "h.npz"
    argv = ["fit-basis", "--center", "H", "--n-frames", "30", "--seed", "4", "--n-max", "4"]
    status, out, err = _run(capsys, *argv, "--l-max", "3", "--output", str(target))
    assert status == 0, err
    assert "from 120 environments of 30 random CH4 (H centres, H, C neighbours)" in out
    basis = dg.OptimalBasis.load(target)
    assert basis.fitted_species() == ("H", ("C", "H"))
    assert basis.provenance["n_frames"] == 120 and basis.provenance["n_structures"] == 30
    builtin = dg.default_optimal_basis(sigma=0.3, n_max=4, l_max=3, n_frames=30, seed=4, center="H")
    for mine, theirs in zip(basis.projections, builtin.projections, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-12)
    # the C centre is the default and is what fit-basis did before --center
    status, out, err = _run(capsys, "fit-basis", "--n-frames", "30", "--output", str(target))
    assert status == 0 and "from 30 frames (C centres, H neighbours)" in out, err
    status, _, err = _run(capsys, *argv[:3], "--cutoff", "0.5", "--output", str(target))
    assert status == 2 and "--cutoff 0.5: no H-centred environment of the random CH4" in err
    status, _, err = _run(capsys, "fit-basis", "--center", "Si", "--output", str(target))
    assert status == 2 and "--center Si: the random frames are CH4, centred on C or H" in err
    status, _, err = _run(
        capsys, "fit-basis", "--builtin", "td", "--center", "H", "--output", str(target)
    )
    assert status == 2 and "--center is for random frames; not with FILE, --builtin" in err


def test_info_prints_what_reports_record_of_the_machine(capsys):
    status, out, err = _run(capsys, "info", "--format", "json")
    assert status == 0, err
    recorded = json.loads(out)
    assert {"degeneracy", "numpy", "featomic", "torch", "cpu", "blas", "numpy_simd"} <= set(
        recorded
    )
    assert recorded["degeneracy"] == dg.__version__ and "kernels" in recorded["blas"]
    status, out, err = _run(capsys, "info")
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert status == 0 and lines["blas"] == recorded["blas"] and lines["cpu"] == recorded["cpu"]


def test_os_errors_print_path_and_reason_without_errno():
    from degeneracy.cli import error_line

    error = FileNotFoundError(2, "No such file or directory", "/proc/x")
    assert error_line(error) == "/proc/x: No such file or directory"
    assert error_line(dg.DegeneracyError("a\nb")) == "a"
    assert error_line(OSError()) == "OSError"


def test_the_output_name_chooses_the_format_unless_format_is_given(tmp_path, capsys):
    """A table written to s.json or s.csv was a trap; the name now says the format."""
    for name, first in (("s.json", "["), ("s.csv", "frame,"), ("s.txt", "frame ")):
        assert main(["spectrum", "--builtin", "td", "--output", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_text().startswith(first), name
    explicit = ["spectrum", "--builtin", "td", "--format", "table"]
    assert main([*explicit, "--output", str(tmp_path / "t.json")]) == 2
    assert "t.json: --output is named for json (.json), but --format is table" in (
        capsys.readouterr().err
    )


def test_a_file_of_whole_molecules_hints_at_environment_and_scan(tmp_path, capsys):
    """`degeneracy spectrum mols.extxyz` (whole molecules) said only "expected 5 atoms
    (CH4), got 8": no word of --environment, nor of scan for whole structures."""
    from ase.build import molecule

    frames = []
    for seed, name in enumerate(["CH4", "C2H6", "CH3OH", "H2O"]):
        atoms = molecule(name)
        atoms.rattle(0.03, seed=seed)
        frames.append(atoms)
    path = tmp_path / "mols.extxyz"
    ase.io.write(path, frames)
    status, out, err = _run(capsys, "spectrum", str(path))
    assert status == 2 and out == ""
    assert err == (
        f"degeneracy spectrum: error: {path}, frame 1: expected 5 atoms (CH4), got 8; for other "
        "environments give --environment any (centre atom first) or e.g. SiO4; for whole "
        "structures use degeneracy scan\n"
    )
    status, _, err = _run(capsys, "spectrum", str(path), "--environment", "CH4")
    assert status == 2 and err.endswith("expected 5 atoms (CH4), got 8\n"), err
    # any: the frames must still be of one centre species and size, and that says so
    status, _, err = _run(capsys, "spectrum", str(path), "--environment", "any")
    assert status == 2 and "frame 1: 8 atoms, but frame 0 has 5" in err
    assert "degeneracy scan" not in err


def test_the_om_at_td_is_a_kink_in_every_format(capsys):
    """`symmetric yes` with `regular` (CN 87): the OM has no Jacobian at T_d, and the
    one-sided derivative's spectrum read as a fingerprint seeing every motion."""
    status, out, err = _run(
        capsys, "spectrum", "--builtin", "td", "--rep", "om", "--format", "json"
    )
    assert status == 0, err
    assert "their verdict is 'kink'" in err
    (record,) = json.loads(out)
    assert record["symmetric"] is True and record["n_symmetry_zeros"] == 8
    assert record["verdict"] == "kink" and 30 < record["cn"] < 1000  # follows the BLAS kernels
    _, out, _ = _run(capsys, "spectrum", "--builtin", "td", "--rep", "om", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["verdict"] == "kink" and row["pair_swap"] == ""
    _, out, _ = _run(capsys, "spectrum", "--builtin", "td", "--rep", "om")
    assert "yes  kink: no derivative here, the spectrum is one-sided" in out
    _, out, _ = _run(capsys, "spectrum", "--builtin", "pg-start", "--rep", "om", "--format", "json")
    assert json.loads(out)[0]["verdict"] == "regular"
