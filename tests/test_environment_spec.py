"""Environments other than CH4: ``--environment`` and the species the fingerprints take."""

from __future__ import annotations

import json

import ase
import ase.build
import ase.io
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.errors import DegeneracyError


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


#: Unit vectors to the corners of a regular tetrahedron.
CORNERS = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0)


def _tetrahedra(
    symbols: str, n: int, bond: float, seed: int = 0, noise: float = 0.08
) -> list[ase.Atoms]:
    """``n`` tetrahedral environments (centre + 4 neighbours) of ``symbols``, neighbours
    displaced by Gaussian ``noise`` (Å)."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        neighbors = bond * CORNERS + rng.normal(scale=noise, size=(4, 3))
        frames.append(ase.Atoms(symbols, positions=np.vstack([np.zeros(3), neighbors])))
    return frames


@pytest.fixture
def silica(tmp_path):
    """Three distorted SiO4 tetrahedra (Si–O 1.61 Å)."""
    path = tmp_path / "sio4.extxyz"
    ase.io.write(path, _tetrahedra("SiO4", 3, 1.61))
    return path


@pytest.fixture
def mixed(tmp_path):
    """Two C environments with 2 H and 2 O neighbours."""
    path = tmp_path / "ch2o2.extxyz"
    ase.io.write(path, _tetrahedra("CH2O2", 2, 1.2, seed=1))
    return path


# --------------------------------------------------------------------------------------
# Library


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CH4", dg.CH4),
        ("SiO4", dg.EnvironmentSpec(center="Si", neighbor="O", n_neighbors=4)),
        ("OH2", dg.EnvironmentSpec(center="O", neighbor="H", n_neighbors=2)),
        ("CH", dg.EnvironmentSpec(center="C", neighbor="H", n_neighbors=1)),
        ("SiSi12", dg.EnvironmentSpec(center="Si", neighbor="Si", n_neighbors=12)),
        (" any ", dg.ANY_ENVIRONMENT),
        ("ANY", dg.ANY_ENVIRONMENT),
    ],
)
def test_parse_environment(text, expected):
    assert dg.parse_environment(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CH4x", "expected 'any' or a centre element"),
        ("ch4", "expected 'any' or a centre element"),
        ("C", "expected 'any' or a centre element"),
        ("XH4", "unknown center element 'X'"),
        ("CQ4", "unknown neighbor element 'Q'"),
        ("CH0", "n_neighbors must be at least 1, got 0"),
        (4, "environment must be a string such as 'CH4' or 'any', got 4"),
    ],
)
def test_parse_environment_refuses(text, message):
    with pytest.raises(DegeneracyError, match=message):
        dg.parse_environment(text)


def test_a_spec_takes_numpy_integers_and_refuses_bools():
    assert dg.EnvironmentSpec(n_neighbors=np.int64(4)) == dg.CH4
    with pytest.raises(DegeneracyError, match="n_neighbors must be an integer, got True"):
        dg.EnvironmentSpec(n_neighbors=True)


def test_spec_symbols_and_completeness():
    assert dg.CH4.symbols == "CH4" and dg.CH4.complete
    assert dg.parse_environment("OH2").symbols == "OH2"
    assert dg.ANY_ENVIRONMENT.symbols == "any" and not dg.ANY_ENVIRONMENT.complete
    assert dg.EnvironmentSpec(neighbor=None).symbols == "C*4"


def test_validate_any_environment():
    for atoms in (*_tetrahedra("SiO4", 1, 1.61), *_tetrahedra("CH2O2", 1, 1.2)):
        dg.validate_environment(atoms, spec=dg.ANY_ENVIRONMENT)
    with pytest.raises(DegeneracyError, match="frame 0: 1 atom"):
        dg.validate_environment(ase.Atoms("C"), spec=dg.ANY_ENVIRONMENT)
    # the geometric checks stay
    close = ase.Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [1.7, 0, 0]])
    with pytest.raises(DegeneracyError, match=r"atoms 1 and 2 are 0\.1 Å apart"):
        dg.validate_environment(close, spec=dg.ANY_ENVIRONMENT)
    far = ase.Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [0, 2.6, 0]])
    with pytest.raises(DegeneracyError, match=r"atom 2: 2\.6 Å from the centre"):
        dg.validate_environment(far, spec=dg.ANY_ENVIRONMENT)
    # a fixed spec still refuses other species and counts
    with pytest.raises(DegeneracyError, match="atom 0: the centre must be C, got Si"):
        dg.validate_environment(_tetrahedra("SiO4", 1, 1.61)[0])
    with pytest.raises(DegeneracyError, match=r"expected 3 atoms \(OH2\), got 5"):
        dg.validate_environment(_tetrahedra("SiO4", 1, 1.61)[0], spec=dg.parse_environment("OH2"))


def test_environment_from_neighbors_needs_a_complete_spec():
    neighbors = 1.61 * np.eye(4, 3)
    atoms = dg.environment_from_neighbors(neighbors[:3], dg.parse_environment("SiO3"))
    assert atoms.get_chemical_symbols() == ["Si", "O", "O", "O"]
    with pytest.raises(DegeneracyError, match="environment any: building one from positions"):
        dg.environment_from_neighbors(neighbors, dg.ANY_ENVIRONMENT)


def test_environment_species():
    frames = _tetrahedra("CH2O2", 2, 1.2)
    frames[1].numbers[1:] = [8, 8, 8, 1]  # another mix of the same species
    assert dg.environment_species(frames) == ("C", ("H", "O"))
    assert dg.environment_species(_tetrahedra("SiO4", 2, 1.6)) == ("Si", ("O",))
    other_size = [*frames, ase.Atoms("CH3", positions=1.1 * np.eye(4, 3))]
    with pytest.raises(DegeneracyError, match=r"f\.xyz, frame 2: 4 atoms, but frame 0 has 5"):
        dg.environment_species(other_size, where="f.xyz")
    other_centre = [*frames, *_tetrahedra("SiO4", 1, 1.6)]
    with pytest.raises(DegeneracyError, match="frame 2, atom 0: centre Si, but frame 0's is C"):
        dg.environment_species(other_centre)
    with pytest.raises(DegeneracyError, match="no environments"):
        dg.environment_species([])
    with pytest.raises(DegeneracyError, match=r"f\.xyz: give a list of frames"):
        dg.environment_species(frames[0], where="f.xyz")


def test_species_aware():
    assert dg.species_aware("soap") and dg.species_aware("bispectrum")
    assert dg.species_aware("acsf") and dg.species_aware(dg.SoapPowerSpectrum)
    assert not dg.species_aware("om")
    with pytest.raises(DegeneracyError, match="unknown representation 'x'"):
        dg.species_aware("x")


# --------------------------------------------------------------------------------------
# Command line


def test_default_stays_ch4(capsys, silica):
    status, out, err = _run(capsys, "spectrum", silica)
    assert status == 2 and out == ""
    assert "frame 0, atom 0: the centre must be C, got Si; for other environments give" in err


@pytest.mark.parametrize(
    ("rep", "options", "hypers"),
    [
        ("soap", [], {}),
        ("bispectrum", [], {}),
        # O–O 2.6 Å: beyond the cutoff, so G4 would see no angles (and warn)
        ("acsf", ["--acsf-angular", "g5"], {"angular": "g5"}),
        ("om", [], {}),
    ],
)
def test_spectrum_of_silica_matches_the_library(capsys, silica, rep, options, hypers):
    status, out, err = _run(
        capsys, "spectrum", silica, "--environment", "SiO4", "--rep", rep, *options,
        "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    rows = [row["singular_values"] for row in json.loads(out)]
    frames = dg.read_environments(silica, spec=dg.parse_environment("SiO4"))
    species = {"center": "Si", "neighbors": ["O"]} if dg.species_aware(rep) else {}
    representation = dg.make_representation(rep, **hypers, **species)
    expected = [r.singular_values for r in dg.analyse_frames(frames, representation)]
    np.testing.assert_allclose(rows, expected, rtol=1e-10, atol=1e-14)
    assert np.shape(rows) == (3, 9) and min(min(r) for r in rows) > 0


def test_any_environment_sees_every_neighbour_species(capsys, mixed):
    status, out, err = _run(capsys, "spectrum", mixed, "--environment", "any", "--format", "json")
    assert status == 0, err
    rows = json.loads(out)
    frames = dg.read_environments(mixed, spec=dg.ANY_ENVIRONMENT)
    both = dg.SoapPowerSpectrum(center="C", neighbors=["H", "O"])
    expected = [r.singular_values for r in dg.analyse_frames(frames, both)]
    np.testing.assert_allclose([r["singular_values"] for r in rows], expected, rtol=1e-10)
    # an H-only SOAP would not see the O atoms: the library refuses it rather than
    # reporting their zero Jacobian columns as a blindness
    with pytest.raises(DegeneracyError, match="no channel for neighbour species O"):
        dg.analyse_frames(frames, dg.SoapPowerSpectrum())


def test_any_environment_refusals(capsys, tmp_path, mixed):
    path = tmp_path / "sizes.extxyz"
    ase.io.write(path, [*_tetrahedra("CH4", 1, 1.1), ase.Atoms("CH2", positions=np.eye(3))])
    status, _, err = _run(capsys, "spectrum", path, "--environment", "any")
    assert status == 2 and f"{path}, frame 1: 3 atoms, but frame 0 has 5" in err
    status, _, err = _run(capsys, "spectrum", "--builtin", "td", "--environment", "any")
    assert status == 2 and "--environment describes FILE's frames; not with --builtin" in err
    with pytest.raises(SystemExit) as stop:
        main(["spectrum", str(mixed), "--environment", "CH4x"])
    assert stop.value.code == 2
    assert "argument --environment: environment 'CH4x'" in capsys.readouterr().err
    # predict's model is for CH4: no such option
    assert main(["predict", "--model", str(tmp_path), str(mixed), "--environment", "any"]) == 2
    assert "degeneracy predict: error: unrecognized arguments: --environment" in (
        capsys.readouterr().err
    )


def test_pairs_verify_any_environment(capsys, tmp_path):
    rng = np.random.default_rng(3)
    octahedron = 1.2 * np.vstack([np.eye(3), -np.eye(3)]) + rng.normal(scale=0.1, size=(6, 3))
    first = ase.Atoms("CH6", positions=np.vstack([np.zeros(3), octahedron]))
    second = first.copy()
    second.rotate(40, "z", center=(0, 0, 0))
    second.positions[1:] = second.positions[[2, 1, 3, 4, 5, 6]]  # permuted neighbours
    path = tmp_path / "pairs.extxyz"
    ase.io.write(path, [first, second])
    status, _, err = _run(capsys, "pairs", "--verify", path)
    assert status == 2 and "expected 5 atoms (CH4), got 7" in err
    status, out, err = _run(
        capsys, "pairs", "--verify", path, "--environment", "CH6", "--format", "json"
    )
    assert status == 0, err
    (verdict,) = json.loads(out)
    assert verdict["related"] and max(verdict["distance"].values()) < 1e-7
    status, _, err = _run(capsys, "pairs", "--environment", "CH6")
    assert status == 2 and "--environment applies to --verify FILE only" in err


def test_orbit_and_singular_keep_the_species(capsys, tmp_path, silica):
    orbit = tmp_path / "orbit.extxyz"
    status, _, err = _run(
        capsys, "orbit", silica, "--environment", "SiO4", "--length", "0.02", "--step", "0.002",
        "--output", orbit, "--quiet",
    )  # fmt: skip
    assert status == 0, err
    frames = ase.io.read(orbit, ":")
    assert len(frames) > 1
    assert all(atoms.get_chemical_symbols() == ["Si", "O", "O", "O", "O"] for atoms in frames)
    found = tmp_path / "singular.extxyz"
    status, _, err = _run(
        capsys, "singular", silica, "--environment", "SiO4", "--max-iterations", "3",
        "--output", found,
    )  # fmt: skip
    assert status == 0, err
    frames = ase.io.read(found, ":")
    assert len(frames) == 3 and all(atoms.get_chemical_symbols()[0] == "Si" for atoms in frames)


def test_fit_basis_on_silica(capsys, tmp_path, silica):
    target = tmp_path / "basis.npz"
    status, _, err = _run(
        capsys, "fit-basis", silica, "--environment", "SiO4", "--n-max", "4", "--l-max", "3",
        "--output", target,
    )  # fmt: skip
    assert status == 0, err
    # fitted on the Si-centred O density: channels with density have variance
    basis = dg.OptimalBasis.load(target)
    kept = basis.retained_variance()
    assert np.isfinite(kept).sum() >= 3 and np.nanmin(kept) > 0.9
    # and the C-centred default finds no C centre in these frames
    status, _, err = _run(capsys, "fit-basis", silica, "--output", target)
    assert status == 2 and "the centre must be C, got Si" in err
    status, _, err = _run(capsys, "fit-basis", "--environment", "SiO4", "--output", target)
    assert status == 2 and "--environment describes FILE's frames; not with random frames" in err


def _water(angle: float = 104.5, bonds: tuple[float, float] = (0.96, 0.96)) -> ase.Atoms:
    half = np.radians(angle / 2)
    directions = np.array([[np.sin(half), 0, np.cos(half)], [-np.sin(half), 0, np.cos(half)]])
    neighbors = np.array(bonds)[:, None] * directions
    return ase.Atoms("OH2", positions=np.vstack([np.zeros(3), neighbors]))


@pytest.mark.parametrize(
    ("atoms", "spec", "n_values", "forced", "verdict"),
    [
        # regular SiO4: rank 1, the 8 other zeros forced by T_d (as for CH4 `td`)
        (_tetrahedra("SiO4", 1, 1.61, noise=0.0)[0], "SiO4", 9, 8, "symmetry"),
        # C2v water: the antisymmetric stretch is a symmetry zero
        (_water(), "OH2", 3, 1, "symmetry"),
        # unequal bonds: only the molecular plane is left (Cs), which forces no zero
        (_water(bonds=(0.96, 1.01)), "OH2", 3, 0, "regular"),
    ],
)
def test_symmetry_zeros_of_other_environments(
    capsys, tmp_path, atoms, spec, n_values, forced, verdict
):
    path = tmp_path / "one.extxyz"
    ase.io.write(path, atoms)
    status, out, err = _run(capsys, "spectrum", path, "--environment", spec, "--format", "json")
    assert status == 0, err
    (row,) = json.loads(out)
    assert len(row["singular_values"]) == n_values and row["symmetric"]
    assert row["n_symmetry_zeros"] == forced and row["verdict"] == verdict
    values = np.array(row["singular_values"])
    assert np.all(values[: n_values - forced] > 1e-3 * values[0])
    assert np.all(values[n_values - forced :] < 1e-12 * values[0])


def test_spectrum_agrees_with_the_scan_on_mixed_species(capsys, mixed):
    # two routes to the species-specialised fingerprint: the CLI's --environment any, and
    # the scan's RepresentationRecipe (which regroups environments by composition)
    status, out, err = _run(capsys, "spectrum", mixed, "--environment", "any", "--format", "json")
    assert status == 0, err
    rows = json.loads(out)
    frames = dg.read_environments(mixed, spec=dg.ANY_ENVIRONMENT)
    scanned = dg.environment_spectra(frames, dg.SoapPowerSpectrum())
    np.testing.assert_allclose(scanned.s_min, [r["singular_values"][-1] for r in rows], rtol=1e-8)
    np.testing.assert_allclose(scanned.s_max, [r["singular_values"][0] for r in rows], rtol=1e-8)


def test_pairs_verify_relates_members_listing_species_in_another_order(capsys, tmp_path):
    first = _tetrahedra("CH2O2", 1, 1.2, seed=4)[0]
    second = first.copy()
    second.rotate(70, "x", center=(0, 0, 0))
    second = second[[0, 3, 1, 4, 2]]  # O, H, O, H: the same atoms, listed otherwise
    other = first.copy()
    other.positions[1] *= 1.1  # not the same structure
    path = tmp_path / "pairs.extxyz"
    ase.io.write(path, [first, second, first, other])
    status, out, err = _run(
        capsys, "pairs", "--verify", path, "--environment", "any", "--format", "json"
    )
    assert status == 0, err
    same, different = json.loads(out)
    assert same["related"] and same["residual"] < 1e-6  # extxyz keeps 8 decimals
    assert not different["related"] and different["residual"] > 1e-3
    # a pair whose members have other species is refused by name
    swapped = first.copy()
    swapped.numbers[1] = 8  # C with H O3
    ase.io.write(path, [first, swapped])
    status, _, err = _run(capsys, "pairs", "--verify", path, "--environment", "any")
    assert status == 2 and f"{path}, pair 0: the two members have different species" in err
    # an odd number of frames: named with the file
    ase.io.write(path, [first, first, first])
    status, _, err = _run(capsys, "pairs", "--verify", path, "--environment", "any")
    assert status == 2 and f"{path}: a pair file needs an even, non-zero number" in err


@pytest.mark.parametrize("rep", ["soap", "bispectrum", "acsf", "om"])
def test_spectrum_of_frames_listing_species_in_other_orders(capsys, tmp_path, rep):
    # one file, the same C(H2O2) environment listed as H, H, O, O and as O, H, O, H: every
    # fingerprint (the overlap matrix included) gives both frames the same spectrum
    first = _tetrahedra("CH2O2", 1, 1.2, seed=6)[0]
    path = tmp_path / "orders.extxyz"
    ase.io.write(path, [first, first[[0, 3, 1, 4, 2]]])
    status, out, err = _run(
        capsys, "spectrum", path, "--environment", "any", "--rep", rep, "--format", "json"
    )
    assert status == 0, err
    rows = json.loads(out)
    np.testing.assert_allclose(rows[1]["singular_values"], rows[0]["singular_values"], rtol=1e-8)


# --------------------------------------------------------------------------------------
# Cutting environments out of structures: inputs refused by name


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: dg.structure_environments(
                ase.build.bulk("Si", "diamond", a=5.43), cutoff=1000.0
            ),
            "cutoff must be at most 100 Å",
        ),
        (
            lambda: dg.structure_environments(
                ase.Atoms("Si2", positions=[[0, 0, 0], [1, 1, 1]], pbc=True), cutoff=2.5
            ),
            r"periodic along axis 0, but cell vector 0 is zero \(pbc without a cell\?\)",
        ),
        (
            lambda: dg.environments_of(
                ase.Atoms("Si2", positions=[[0, 0, 0], [1, 1, 1]], cell=[5, 5, 0.1], pbc=True),
                [0],
                cutoff=2.5,
            ),
            "periodic along cell vector 2 .* 0.1 Å thick",
        ),
        (
            lambda: dg.structure_environments([dg.regular_tetrahedron()], cutoff=2.5),
            "structure_environments takes one frame",
        ),
        (
            lambda: dg.environments_of([dg.regular_tetrahedron()], [0], cutoff=2.5),
            "environments_of takes one frame",
        ),
    ],
    ids=["huge-cutoff", "pbc-without-cell", "thin-cell", "list", "list-environments_of"],
)
def test_structure_environments_refuses_what_it_cannot_cut(call, message):
    """A 1000 Å cutoff in bulk Si ran out of memory, pbc without a cell gave 162 images
    0 Å away per atom, a list failed with an AttributeError."""
    with pytest.raises(DegeneracyError, match=message):
        call()


def test_structure_environments_of_a_crystal_and_a_molecule():
    """A proper cell and a molecule without one still give their environments."""
    silicon = dg.structure_environments(ase.build.bulk("Si", "diamond", a=5.43), cutoff=2.5)
    assert [len(atoms) - 1 for atoms in silicon] == [4, 4]
    molecule = ase.Atoms("CH4", positions=np.vstack([np.zeros(3), 1.09 * CORNERS]))
    assert len(dg.structure_environments(molecule, cutoff=2.5, centers="C")[0]) == 5
