"""Edge cases of ``singular`` and ``orbit``: a search that meets a straight environment, a
per-frame failure named by file and frame, and an orbit started at a symmetric shape."""

from __future__ import annotations

import warnings

import ase
import ase.build
import ase.io
import numpy as np
import pytest

import degeneracy as dg
import degeneracy.cli.singular as singular_cli
from degeneracy.cli import main
from degeneracy.errors import COLLINEAR, DegeneracyError


def near_linear_co2(bend: float, far: float = 1.16) -> ase.Atoms:
    return ase.Atoms("COO", positions=[[0, 0, 0], [0, 0, -1.16], [bend, 0, far]])


def bent_unequal_co2(bend: float = 1e-6) -> ase.Atoms:
    """CO2 bent by ``bend`` Å with bonds of 1.16 and 1.25 Å: its smallest singular value is
    the bend's, so the search straightens it, on every machine. With equal bonds the
    exchange of the two O (1e-12 s1 apart at 1e-6 Å) competed, and which one the search
    took depended on the BLAS kernels (AVX-512: straight; Haswell: the equal bonds)."""
    return near_linear_co2(bend, far=1.25)


def test_a_straight_environment_is_refused_with_its_own_kind():
    # singular recognises the refusal by this kind, not by the message's wording
    with pytest.raises(DegeneracyError, match="collinear") as error:
        dg.rotation_complement(dg.neighbor_positions(near_linear_co2(0.0)))
    assert error.value.kind == COLLINEAR
    assert dg.rotation_complement(dg.neighbor_positions(near_linear_co2(0.1))).shape == (6, 3)


@pytest.fixture
def co2_file(tmp_path):
    path = tmp_path / "co2_two.extxyz"
    ase.io.write(path, [near_linear_co2(1e-3), near_linear_co2(1e-3), bent_unequal_co2()])
    return path


def test_a_search_reaching_a_straight_environment_keeps_every_frame(co2_file, tmp_path, capsys):
    # frame 2's trial steps land on (or next to) the straight CO2: rejected, not an error
    out = tmp_path / "out.extxyz"
    argv = ["singular", str(co2_file), "--environment", "any", "--output", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "error" not in captured.err
    found = ase.io.read(out, ":")
    assert len(found) == 3
    assert found[2].info.get("straight") is True
    assert "STRAIGHT" in captured.out.splitlines()[3]
    assert f"{co2_file}, frame 2: the search reached a straight (linear)" in captured.err


def test_reject_symmetric_refuses_a_straight_result(tmp_path, capsys):
    path = tmp_path / "straight.extxyz"
    ase.io.write(path, [bent_unequal_co2()])
    out = tmp_path / "out.extxyz"
    argv = ["singular", str(path), "--environment", "any", "--output", str(out)]
    assert main([*argv, "--reject-symmetric"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"{path}, frame 0: the configuration found is a straight" in err[0]
    assert not out.exists()


def test_a_failing_frame_is_named_with_its_file_and_number(co2_file, tmp_path, capsys, monkeypatch):
    calls = []

    def failing(atoms, representation, **options):
        calls.append(atoms)
        if len(calls) == 3:
            raise DegeneracyError("frame 0: something went wrong")
        raise AssertionError("only the third frame is searched in this test")

    def first_two_fine(atoms, representation, **options):
        if len(calls) < 2:
            calls.append(atoms)
            return original(atoms, representation, **options)
        return failing(atoms, representation, **options)

    original = singular_cli.find_singular
    monkeypatch.setattr(singular_cli, "find_singular", first_two_fine)
    out = tmp_path / "out.extxyz"
    argv = ["singular", str(co2_file), "--environment", "any", "--output", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"degeneracy singular: error: {co2_file}, frame 2: something went wrong"]


def test_find_singular_does_not_raise_at_a_straight_environment():
    soap = dg.SoapPowerSpectrum(center="C", neighbors=("O",))
    result = dg.find_singular(bent_unequal_co2(), soap)
    assert result.straight
    assert result.atoms.info["straight"] is True
    assert np.all(np.isfinite(result.atoms.positions))


def water() -> ase.Atoms:
    return ase.build.molecule("H2O")[[0, 1, 2]]


def test_an_orbit_from_a_symmetric_start_warns_once(tmp_path):
    soap = dg.SoapPowerSpectrum(center="O", neighbors=("H",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        orbit = dg.trace_orbit(water(), soap, length=0.002, step=1e-3, save_every=0.001)
    messages = [str(w.message) for w in caught if issubclass(w.category, dg.DegeneracyWarning)]
    symmetric = [m for m in messages if "the start is symmetric" in m]
    assert len(symmetric) == 1
    assert "1 zero(s) forced by its symmetry" in symmetric[0]
    assert "leaves the symmetric shape" in symmetric[0]
    assert not any("tied with" in m for m in messages)  # one warning per run
    # the traced numbers do not depend on the warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = dg.trace_orbit(water(), soap, length=0.002, step=1e-3, save_every=0.001)
    for a, b in zip(orbit.frames, again.frames, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)


def test_an_orbit_from_a_distorted_start_does_not_warn():
    bent = water()
    bent.positions[1] += [0.0, 0.03, 0.01]
    soap = dg.SoapPowerSpectrum(center="O", neighbors=("H",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.trace_orbit(bent, soap, length=0.002, step=1e-3, save_every=0.001)
    assert not any("the start is symmetric" in str(w.message) for w in caught)


def test_the_orbit_command_warns_of_a_symmetric_start(tmp_path, capsys):
    path = tmp_path / "h2o.extxyz"
    ase.io.write(path, water())
    out = tmp_path / "orbit.extxyz"
    argv = ["orbit", str(path), "--environment", "any", "--length", "0.002", "--step", "1e-3"]
    assert main([*argv, "--save-every", "0.001", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "the start is symmetric" in line]
    assert len(lines) == 1
    assert lines[0].startswith("degeneracy orbit: warning: orbit start (")


def test_a_search_never_writes_atoms_closer_than_the_readers_accept(tmp_path, capsys):
    """From a start with two atoms 0.71 Å apart the search could bring atoms to half
    that: it wrote H and N 0.47 Å apart ("symmetric"), which spectrum then refused."""
    from degeneracy.structures import closest_allowed_distance, closest_atom_distance

    assert closest_allowed_distance(np.array([[0.71, 0, 0], [0, 1, 0]]), 0.5) == 0.5
    assert closest_allowed_distance(np.array([[0.4, 0, 0], [0, 1, 0]]), 0.5) == 0.2
    rng = np.random.default_rng(3)
    neighbours = rng.normal(size=(5, 3))
    neighbours *= rng.uniform(1.0, 1.6, size=(5, 1)) / np.linalg.norm(neighbours, axis=1)[:, None]
    start = tmp_path / "c5.xyz"
    ase.io.write(start, ase.Atoms("CHHOHN", positions=np.vstack([np.zeros(3), neighbours])))
    found = tmp_path / "found.extxyz"
    argv = ["singular", str(start), "--environment", "any", "--output", str(found)]
    assert main(argv) == 0
    assert main(["spectrum", str(found), "--environment", "any"]) == 0, capsys.readouterr().err
    assert closest_atom_distance(ase.io.read(found).positions[1:]) >= 0.5


def test_a_fingerprint_warning_during_the_search_names_the_options(tmp_path, monkeypatch, capsys):
    """Behind "FILE, frame 0, during the search: " the printer did not see the
    fingerprint's name: `singular` said "give a width", `spectrum` "give a --om-width"."""
    searched = singular_cli.find_singular

    def warning_search(atoms, representation, **kwargs):
        warnings.warn(
            dg.DegeneracyWarning(
                "om width 0.3 is too narrow here: the overlaps vanish; give a width of at "
                "least 0.49"
            ),
            stacklevel=2,
        )
        return searched(atoms, representation, **kwargs)

    monkeypatch.setattr(singular_cli, "find_singular", warning_search)
    argv = ["singular", "--builtin", "pg-start", "--rep", "om", "--om-width", "0.3"]
    argv += ["--max-iterations", "1", "--output", str(tmp_path / "found.extxyz")]
    main(argv)
    err = capsys.readouterr().err
    assert (
        "warning: --builtin pg-start, frame 0, during the search: om width 0.3 is too narrow "
        "here: the overlaps vanish; give a --om-width of at least 0.49"
    ) in err, err
