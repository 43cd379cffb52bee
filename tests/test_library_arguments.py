"""The library's arguments as a notebook user gives them (helpers 147 and 150,
2026-12-07): each refusal names the argument, and comes before any work or any file is
touched."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.orbits import _family_sigma, _family_values, family_protocol
from degeneracy.structures import first_frame

P0 = dg.builtin_environment("pg-start")


def _previous_family(folder):
    """A folder holding what a finished family leaves (by name)."""
    folder.mkdir()
    for name in ("summary.json", "a0.extxyz", "orbit_sigma0.3_c1.0.extxyz"):
        (folder / name).write_text("finished\n")
    return {p.name: p.read_text() for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sigmas": [-1.0]}, r"^sigmas\[0\] must be a positive number, got -1.0$"),
        ({"sigmas": [0.3, 0.01]}, r"give sigmas\[1\] at least 0.0715 Å$"),
        ({"sigmas": [0.3, 0.3]}, r"^sigmas holds 0.3 twice"),
        ({"sigmas": []}, r"^sigmas is empty"),
        ({"sigmas": 0.3}, r"^sigmas must be a sequence of numbers, got 0.3$"),
        ({"distances": [1.0, float("nan")]}, r"^distances\[1\] must be a positive number"),
        ({"distances": "1"}, r"^distances must be a sequence"),
        ({"sigmas": np.array(0.3)}, r"^sigmas must be a sequence of numbers"),
        ({"a0": np.zeros(3)}, r"^a0: expected 4 neighbour positions, got 1$"),
    ],
)
def test_run_family_refuses_its_grid_and_a0_before_the_folder_is_touched(
    tmp_path, arguments, message
):
    """sigmas=[-1.0] was refused by a worker after the previous run's results had been
    removed and A0 searched (7.7 s)."""
    before = _previous_family(tmp_path / "family")
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.run_family(tmp_path / "family", quick=True, workers=1, **arguments)
    after = {p.name: p.read_text() for p in (tmp_path / "family").iterdir()}
    assert after == before


def test_run_family_refuses_a_given_a0_whose_start_is_astray_before_clearing(tmp_path):
    """A given A0 with H1 far along its bond put the c = 0.5 start's H1 on the centre:
    it was refused after the folder was cleared and the bad A0 written as a0.extxyz."""
    a0 = dg.neighbor_positions(P0).copy()
    a0[0] *= -2.0 / np.linalg.norm(a0[0])
    before = _previous_family(tmp_path / "family")
    with pytest.raises(dg.DegeneracyError, match=r"^orbit start A0 \+ c \(P0 − A0\) at c = "):
        dg.run_family(tmp_path / "family", quick=True, workers=1, a0=a0)
    assert {p.name: p.read_text() for p in (tmp_path / "family").iterdir()} == before


def test_the_family_grid_is_taken_to_ten_digits_as_floats():
    """np.arange's 0.30000000000000004 wrote orbit_sigma0.30000000000000004_c1.0 and
    missed the published σ 0.3 orbit; a c of 1 wrote c1, not the published c1.0."""
    assert _family_values("sigmas", np.arange(0.1, 0.35, 0.1), _family_sigma) == (0.1, 0.2, 0.3)
    assert _family_values("distances", [1, 0.5], dg.orbits.positive_float) == (1.0, 0.5)
    assert dg.orbits.family_file_name(*_family_values("x", [0.3, 1], _family_sigma)) == (
        "orbit_sigma0.3_c1.0.extxyz"
    )


def test_a_family_too_long_to_keep_is_told_to_shorten_its_length():
    """It said "or save less often", which the family cannot: its spacing is fixed."""
    with pytest.raises(dg.DegeneracyError, match=r"shorten the length \(the family's spacing"):
        family_protocol(True, length=1e9)


def test_fig1_reads_a0_as_written_without_the_environment_checks(tmp_path):
    """A given A0 with an H at 2.4999999996 Å was written to a0.extxyz with 8 decimals,
    2.5 Å: re-read for Fig. 1 with the cutoff check, it failed the run after its 16
    orbits."""
    atoms = P0.copy()
    atoms.positions[1] = [2.4999999996, 0.0, 0.0]  # inside the cutoff; 2.5 at 8 decimals
    path = tmp_path / "a0.extxyz"
    ase.io.write(path, atoms, format="extxyz")
    with pytest.raises(dg.DegeneracyError, match=r"at the cutoff|outside the cutoff"):
        dg.read_environments(path)
    np.testing.assert_allclose(first_frame(path).positions, atoms.positions, atol=1e-8)
    with pytest.raises(dg.DegeneracyError, match=r"no such file|does not exist"):
        first_frame(tmp_path / "missing.extxyz")


@pytest.mark.parametrize(
    "call",
    [
        lambda tmp: dg.scan_dataset(
            [P0], dg.SoapPowerSpectrum(), output=tmp / "s.csv", restart="no"
        ),
        lambda tmp: dg.scan_dataset(
            [P0], dg.SoapPowerSpectrum(), output=tmp / "s.csv", keep_parts=1
        ),
        lambda tmp: dg.read_environments(tmp / "e.xyz", check_bonds="no"),
        lambda tmp: dg.read_environments(tmp / "e.xyz", images_of_every_atom=None),
        lambda tmp: dg.comment_orbit(0.3, 1.0, quick="no"),
        lambda tmp: dg.analyse_frames([P0], dg.SoapPowerSpectrum(), progress="yes"),
        lambda tmp: dg.run_family(tmp / "f", quick="no"),
    ],
)
def test_true_or_false_keywords_refuse_anything_else(tmp_path, call):
    """scan_dataset(restart="no") discarded a resumable scan's finished chunks."""
    ase.io.write(tmp_path / "e.xyz", P0, format="extxyz")
    with pytest.raises(dg.DegeneracyError, match=r"must be True or False, got "):
        call(tmp_path)
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "f").exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: dg.analyse_frames([P0], c),
        lambda c: dg.explain_zero(P0, np.ones(12), c),
        lambda c: dg.near_symmetry(P0, np.ones(9), c),
        lambda c: dg.equidistant_blind_counts(c, [4]),
        lambda c: dg.CentreFeaturizer(c),
        lambda c: dg.check_analysable([P0], c),
    ],
)
def test_a_fingerprint_class_is_not_a_fingerprint(call):
    """dg.SoapPowerSpectrum without () passed the protocol check (a class has the
    attributes) and failed later with a TypeError, or returned None."""
    with pytest.raises(dg.DegeneracyError, match=r"the class SoapPowerSpectrum; build one, e\.g\."):
        call(dg.SoapPowerSpectrum)


def test_one_frame_functions_refuse_a_list():
    with pytest.raises(dg.DegeneracyError, match="explain_zero"):
        dg.explain_zero([P0], np.ones(12), dg.SoapPowerSpectrum())
    with pytest.raises(dg.DegeneracyError, match="near_swap"):
        dg.near_swap([P0], np.ones(12))


def test_near_symmetry_needs_the_whole_spectrum():
    """A slice of the spectrum (v[:3]) returned None, its zeros unseen."""
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=3)
    with pytest.raises(dg.DegeneracyError, match=r"3N - 3 = 9 singular values .* got 3$"):
        dg.near_symmetry(P0, np.ones(3), soap)


def test_environment_info_must_be_a_mapping():
    with pytest.raises(dg.DegeneracyError, match=r"^info must be a mapping \(a dict\), got 5$"):
        dg.environment_from_neighbors(dg.neighbor_positions(P0), info=5)


def test_an_optimal_basis_needs_a_neighbour_of_its_species_and_json_provenance():
    """neighbor_species=["O"] on CH4 gave an all-zero basis and a warning about too
    symmetric frames; a provenance that is not JSON failed only at save()."""
    frames = dg.sample_methane(8, seed=0)
    settings = {"sigma": 0.3, "n_max": 2, "l_max": 2, "n_primitive": 4}
    with pytest.raises(dg.DegeneracyError, match=r"no neighbour of species O \(they have H\)"):
        dg.fit_optimal_basis(frames, neighbor_species=["O"], **settings)
    with pytest.raises(dg.DegeneracyError, match=r"^provenance is not plain JSON data"):
        dg.fit_optimal_basis(frames, provenance={"x": object()}, **settings)


def test_acsf_eta_is_bounded_by_the_cutoff():
    """η = 1e308 gave finite features and a G2 Jacobian row of NaN (inf · 0)."""
    with pytest.raises(dg.DegeneracyError, match=r"G2 parameters: η must be at most 1.6e\+07"):
        dg.Acsf(parameter_set="custom", g2=[[1e308, 1.0]], g4=[[0.1, 1, 1]])
    with pytest.raises(dg.DegeneracyError, match=r"G4 parameters: η .* in row 1$"):
        dg.Acsf(parameter_set="custom", g2=[[1.0, 1.0]], g4=[[0.1, 1, 1], [1e9, 1, 1]])
    for cutoff in (1e-150, 1e-3, 2.5, 100.0):  # the scaled set, scaled: accepted
        assert np.isfinite(dg.Acsf(parameter_set="scaled", cutoff=cutoff).g2).all()


def test_read_environments_takes_a_slice(tmp_path):
    """index=slice(0, 2) said "not a frame number or slice"."""
    path = tmp_path / "e.xyz"
    ase.io.write(path, dg.sample_methane(4, seed=0), format="extxyz")
    frames = dg.read_environments(path, index=slice(0, 2))
    assert [f.info["source_frame"] for f in frames] == [0, 1]
    assert [
        f.info["source_frame"] for f in dg.read_environments(path, index=slice(None, None, -2))
    ] == [3, 1]
    for index in (slice(0, 2, 0), "::0"):
        with pytest.raises(dg.DegeneracyError, match=r"a slice's step cannot be zero$"):
            dg.read_environments(path, index=index)


def test_a_symmetry_tolerance_is_at_most_the_near_symmetry_reach(tmp_path):
    """`singular --symmetry-tol 0.2` took A0 (C2v to 0.18 Å, one zero where C2v forces
    8) for "SYMMETRIC: zeros forced by symmetry" (helper-153): beyond 0.15 Å an operation
    forces no zero at the frame, and the tolerance stops there."""
    soap = dg.SoapPowerSpectrum()
    a0 = dg.find_singular(P0, soap).atoms
    with pytest.raises(dg.DegeneracyError, match=r"^symmetry_tol must be at most 0\.15 Å"):
        dg.analyse_frames([a0], soap, symmetry_tol=0.2)
    (widest,) = dg.analyse_frames([a0], soap, symmetry_tol=0.15)
    assert not widest.symmetric and widest.verdict == "spurious"
    (td,) = dg.analyse_frames([dg.builtin_environment("td")], soap, symmetry_tol=0.15)
    assert td.verdict == "symmetry"
