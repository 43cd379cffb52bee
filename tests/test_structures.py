"""Environments: builtins, sampler, readers, units, validation errors, E4."""

from __future__ import annotations

import json

import ase
import ase.io
import numpy as np
import pytest
from conftest import reference_path
from scipy.spatial.transform import Rotation

import degeneracy as dg
from degeneracy.errors import BEYOND_CUTOFF
from degeneracy.structures import UNITS


def test_pg_start_matches_published_first_frame():
    frames = dg.read_environments(reference_path("pg-manifold_bohr.xyz"), units="bohr", index=0)
    built = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    assert np.abs(dg.neighbor_positions(frames[0]) - built).max() < 5e-5


def test_tetrahedron_is_regular():
    neighbors = dg.neighbor_positions(dg.builtin_environment("td"))
    np.testing.assert_allclose(np.linalg.norm(neighbors, axis=1), 1.09)
    cosines = (neighbors @ neighbors.T)[np.triu_indices(4, 1)] / 1.09**2
    np.testing.assert_allclose(cosines, -1.0 / 3.0)


def test_unknown_builtin():
    with pytest.raises(dg.DegeneracyError, match="unknown builtin structure 'nope'"):
        dg.builtin_environment("nope")


def test_sampler_respects_ranges_and_seed():
    sampler = dg.MethaneSampler()
    neighbors = sampler.neighbors(500, seed=7)
    assert neighbors.shape == (500, 4, 3)
    radii = np.linalg.norm(neighbors, axis=-1)
    assert radii.min() >= 0.90 and radii.max() <= 1.47
    i, j = np.triu_indices(4, 1)
    unit = neighbors / radii[..., None]
    angles = np.degrees(np.arccos(np.einsum("bid,bid->bi", unit[:, i], unit[:, j])))
    assert angles.min() >= 47.0 and angles.max() <= 175.0
    assert np.linalg.norm(neighbors[:, i] - neighbors[:, j], axis=-1).min() >= 0.7
    np.testing.assert_array_equal(neighbors, sampler.neighbors(500, seed=7))
    assert not np.array_equal(neighbors, sampler.neighbors(500, seed=8))
    # the ranges are filled, not just respected
    assert angles.min() < 60.0 and angles.max() > 160.0
    assert sampler.neighbors(0, seed=7).shape == (0, 4, 3) and dg.sample_methane(0, seed=7) == []
    for bad in (-1, True, 2.0):
        with pytest.raises(dg.DegeneracyError, match=f"non-negative integer, got {bad!r}"):
            sampler.neighbors(bad, seed=7)


def test_a_ch4_file_in_other_units_is_warned_about(tmp_path, recwarn):
    """helper-56: a bohr file read as Å (C–H 2.06 Å) and an Å file read as bohr
    (0.58 Å) were analysed without a word."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(3):
        atoms = dg.regular_tetrahedron()  # C–H 1.09 Å
        atoms.positions[1:] += 0.02 * rng.normal(size=(4, 3))
        frames.append(atoms)
    angstrom, bohr = tmp_path / "a.xyz", tmp_path / "b.xyz"
    ase.io.write(angstrom, frames)
    in_bohr = [a.copy() for a in frames]
    for atoms in in_bohr:
        atoms.positions /= UNITS["bohr"]
    ase.io.write(bohr, in_bohr)
    dg.read_environments(angstrom)
    dg.read_environments(bohr, units="bohr")
    assert not [w for w in recwarn if issubclass(w.category, dg.DegeneracyWarning)]
    with pytest.warns(
        dg.DegeneracyWarning, match=r"median C–H distance 2.0\d Å with units angstrom, 1.9× the sum"
    ):
        dg.read_environments(bohr, spec="any")  # judged by covalent radii, not by "CH4"
    with pytest.warns(
        dg.DegeneracyWarning,
        match=r'b.xyz: median C–H distance 2.0\d Å .*in bohr\? \(units="bohr"\)',
    ):
        dg.read_environments(bohr)
    with pytest.warns(
        dg.DegeneracyWarning, match=r"a.xyz: median C–H distance 0.5\d+ Å with units bohr"
    ):
        dg.read_environments(angstrom, units="bohr")


def test_files_of_any_species_in_other_units_are_warned_about(tmp_path, recwarn):
    """An SiO4 file in bohr read as Å, and a file whose centres have neighbours of two
    species, were analysed without a word: only CH4 was judged, by its C–H distance."""
    rng = np.random.default_rng(1)
    frames = []
    for k in range(4):
        atoms = dg.regular_tetrahedron(1.61)  # Si–O 1.61 Å: 0.91× the covalent radii
        atoms.numbers[0], atoms.numbers[1:] = 14, 8
        if k % 2:  # another composition: an H nearest (O–H 0.97 Å, 1.0×)
            atoms.numbers[0], atoms.numbers[1:] = 8, [1, 6, 6, 6]
            atoms.positions[1] *= 0.97 / 1.61
        atoms.positions[1:] += 0.01 * rng.normal(size=(4, 3))
        frames.append(atoms)
    angstrom, bohr = tmp_path / "a.xyz", tmp_path / "b.xyz"
    ase.io.write(angstrom, frames[::2])
    ase.io.write(tmp_path / "mixed.xyz", frames)
    in_bohr = [a.copy() for a in frames]
    for atoms in in_bohr:
        atoms.positions /= UNITS["bohr"]
    ase.io.write(bohr, in_bohr[::2])
    ase.io.write(tmp_path / "mixed-bohr.xyz", in_bohr)
    dg.read_environments(angstrom, spec="SiO4")
    dg.read_environments(bohr, spec="SiO4", units="bohr")
    dg.read_environments(tmp_path / "mixed.xyz", spec="any")
    assert not [w for w in recwarn if issubclass(w.category, dg.DegeneracyWarning)]
    with pytest.warns(
        dg.DegeneracyWarning,
        match=r"b.xyz: median Si–O distance 3[.\d]* Å with units angstrom, 1.7× the sum of "
        r"the two atoms' covalent radii \(bonded atoms: about 1×\); unless the nearest "
        r"neighbours are not bonded \(a noble gas, water's O–O\), is the file in bohr\? "
        r'\(units="bohr"\)',
    ):
        dg.read_environments(bohr, spec="SiO4", cutoff=4.0)
    with pytest.raises(  # at the default cutoff: refused, with the same hint and the cutoff
        dg.DegeneracyError,
        match=r"b.xyz, frame 0, atom \d: 3[.\d]* Å from the centre, outside the cutoff 2.5 Å; "
        r'a larger cutoff, or is the file in bohr\? \(units="bohr"\)$',
    ):
        dg.read_environments(bohr, spec="SiO4")
    with pytest.raises(dg.DegeneracyError, match=r"outside the cutoff 1.0 Å$") as refused:
        dg.read_environments(angstrom, spec="SiO4", cutoff=1.0)  # plausible bonds: no hint
    assert refused.value.kind == BEYOND_CUTOFF  # a caller can react without the text
    with pytest.warns(
        dg.DegeneracyWarning,
        match=r"mixed-bohr.xyz: median distance from the atoms to their nearest neighbours "
        r"with units angstrom, 1.\d× the sum",
    ):
        dg.read_environments(tmp_path / "mixed-bohr.xyz", spec="any", cutoff=4.0)
    with pytest.warns(
        dg.DegeneracyWarning, match=r"median Si–O distance 0.8\d+ Å with units bohr, 0.4\d×"
    ):
        dg.read_environments(angstrom, spec="SiO4", units="bohr")
    squeezed = [a.copy() for a in frames[::2]]
    for atoms in squeezed:  # too short in Å, and shorter still in bohr: not a unit slip
        atoms.positions *= 0.6
    ase.io.write(tmp_path / "squeezed.xyz", squeezed)
    recwarn.clear()
    dg.read_environments(tmp_path / "squeezed.xyz", spec="SiO4")
    assert not [w for w in recwarn if issubclass(w.category, dg.DegeneracyWarning)]


def test_read_extxyz_roundtrip_and_bohr(tmp_path):
    frames = dg.sample_methane(3, seed=1)
    path = tmp_path / "frames.extxyz"
    dg.write_environments(path, frames)
    back = dg.read_environments(path)
    # extxyz stores 8 decimals
    np.testing.assert_allclose(
        dg.neighbor_positions(back), dg.neighbor_positions(frames), atol=1e-8
    )
    scaled = [a.copy() for a in frames]
    for atoms in scaled:
        atoms.positions /= UNITS["bohr"]
        atoms.positions += [1.0, 2.0, 3.0]  # translated: readers centre on atom 0
    ase.io.write(tmp_path / "bohr.xyz", scaled, format="xyz")
    back = dg.read_environments(tmp_path / "bohr.xyz", units="bohr")
    np.testing.assert_allclose(
        dg.neighbor_positions(back), dg.neighbor_positions(frames), atol=1e-6
    )
    np.testing.assert_allclose(back[0].positions[0], 0.0)


def _write(tmp_path, symbols, positions, name="bad.xyz"):
    path = tmp_path / name
    ase.io.write(path, ase.Atoms(symbols, positions=positions), format="extxyz")
    return path


def _methane_positions():
    return np.vstack([np.zeros(3), dg.neighbor_positions(dg.builtin_environment("td"))])


@pytest.mark.parametrize(
    ("symbols", "edit", "message"),
    [
        ("CH3", lambda p: p[:4], r"frame 0: expected 5 atoms \(CH4\), got 4"),
        ("HCH3", lambda p: p, r"frame 0, atom 0: the centre must be C, got H"),
        ("CH3O", lambda p: p, r"frame 0, atom 4: expected neighbour H, got O"),
        (
            "CH4",
            lambda p: np.where(np.arange(15).reshape(5, 3) == 7, np.nan, p),
            r"frame 0, atom 2: non-finite coordinates",
        ),
        (
            "CH4",
            lambda p: np.vstack([p[:4], p[3] + [0.1, 0.0, 0.0]]),
            r"frame 0: atoms 3 and 4 are 0\.1 Å apart",
        ),
        (
            "CH4",
            lambda p: np.vstack([p[:4], [3.0, 0.0, 0.0]]),
            r"frame 0, atom 4: 3 Å from the centre, outside the cutoff 2\.5 Å",
        ),
    ],
    ids=["atom-count", "centre", "species", "nan", "overlap", "cutoff"],
)
def test_validation_errors_name_file_frame_atom(tmp_path, symbols, edit, message):
    path = _write(tmp_path, symbols, edit(_methane_positions()))
    with pytest.raises(dg.DegeneracyError, match=message) as info:
        dg.read_environments(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(dg.DegeneracyError, match="no such file"):
        dg.read_environments(tmp_path / "missing.xyz")
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("this is not\na structure file\n")
    with pytest.raises(dg.DegeneracyError, match="cannot read structures"):
        dg.read_environments(garbage)
    with pytest.raises(dg.DegeneracyError, match="unknown units"):
        dg.read_environments(garbage, units="furlong")
    with pytest.raises(dg.DegeneracyError, match="is a folder, not a structure file"):
        dg.read_environments(tmp_path)
    # not a file name at all: named, not pathlib's "expected str, bytes or os.PathLike"
    for value in (5, None, ""):
        with pytest.raises(dg.DegeneracyError, match="structure file must be a file name"):
            dg.read_environments(value)
    with pytest.raises(dg.DegeneracyError, match="basis file must be a file name, got 5"):
        dg.OptimalBasis.load(5)
    with pytest.raises(dg.DegeneracyError, match="scan results file must be a file name"):
        dg.read_results(3.5)
    with pytest.raises(dg.DegeneracyError, match="output file must be a file name, got 5"):
        dg.write_environments(5, [dg.builtin_environment("td")])
    with pytest.raises(dg.DegeneracyError, match="write_environments: give a list of frames"):
        dg.write_environments(tmp_path / "one.xyz", dg.builtin_environment("td"))
    with pytest.raises(dg.DegeneracyError, match="frame 1 is a str, not an ase"):
        dg.neighbor_positions([dg.builtin_environment("td"), "x"])
    assert not list(tmp_path.glob("one.xyz*"))


def test_write_is_atomic(tmp_path):
    target = tmp_path / "out.extxyz"
    target.write_text("previous content\n")
    with pytest.raises(Exception):  # noqa: B017 - any failure while writing
        dg.write_environments(target, [object()])
    assert target.read_text() == "previous content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.extxyz"]


def test_fourbody_values_and_invariance():
    assert dg.fourbody_torsion(dg.builtin_environment("td")) == pytest.approx(2.0 / 3.0)
    frames = dg.sample_methane(50, seed=3)
    values = dg.fourbody_torsion(frames)
    assert values.shape == (50,)
    assert values.min() >= 2.0 / 3.0 - 1e-12  # the regular tetrahedron is the minimum
    neighbors = dg.neighbor_positions(frames)
    rotation = Rotation.random(random_state=1).as_matrix() * -1.0  # improper
    moved = neighbors @ rotation.T * 1.7  # and scaled: E4 is scale-free
    np.testing.assert_allclose(dg.fourbody_torsion(moved), values, rtol=1e-12)
    np.testing.assert_allclose(dg.fourbody_torsion(neighbors[:, [2, 0, 3, 1]]), values, rtol=1e-12)


def test_fourbody_is_nan_without_a_warning_for_collinear_hydrogens():
    import warnings

    neighbors = dg.neighbor_positions(dg.builtin_environment("td")).copy()
    neighbors[2] = 2.0 * neighbors[1] - neighbors[0]  # H0, H1, H2 on one line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(dg.fourbody_torsion(neighbors))


def test_samplers_refuse_ranges_no_structure_meets(monkeypatch):
    """Rejection sampling would never stop: refused when built, or after a bounded number
    of rounds when the limits are only nearly impossible (20 here, as the 1000 of
    ``MAX_REJECTION_ROUNDS`` took 18 s)."""
    from degeneracy.pairs import PairSampler

    for sampler, kwargs, message in [
        (dg.MethaneSampler, {"r_min": 2.0}, "r_min 2.0 Å exceeds r_max 1.47 Å"),
        (dg.MethaneSampler, {"angle_min": 100, "angle_max": 90}, "angle_min < angle_max"),
        (dg.MethaneSampler, {"hh_min": float("nan")}, "hh_min must be a number ≥ 0, got nan"),
        (dg.MethaneSampler, {"hh_min": 3.0}, "out of reach of two H"),
        (PairSampler, {"y4_min": 2.0}, "y4_min 2.0 Å is out of reach"),
        (PairSampler, {"separation_min": -1}, "separation_min must be a number ≥ 0"),
    ]:
        with pytest.raises(dg.DegeneracyError, match=message):
            sampler(**kwargs)
    monkeypatch.setattr(dg.structures, "MAX_REJECTION_ROUNDS", 20)
    with pytest.raises(dg.DegeneracyError, match="only 0 of 3 accepted after 20 rounds"):
        dg.MethaneSampler(angle_min=170, angle_max=171).neighbors(3, seed=0)
    with pytest.raises(dg.DegeneracyError, match="only 0 of 2 accepted after 20 rounds"):
        PairSampler(separation_min=1.0).parameters(2, seed=0)


def test_fourbody_published_values():
    frames = dg.read_environments(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"))
    published = np.array([atoms.info["fourbody"] for atoms in frames])
    ours = dg.fourbody_torsion(frames)
    # The published values lag the stored positions by one Euler step (1e-4 Å): frame 1
    # (arc length 1e-4) carries frame 0's value, and later frames differ by |dE4/ds|·1e-4.
    assert ours[0] == pytest.approx(published[0], abs=1e-8)  # positions have 8 decimals
    assert published[1] == pytest.approx(ours[0], abs=1e-8)
    assert ours[1] != pytest.approx(published[1], abs=1e-6)
    lag = 1e-4 * np.gradient(ours, 0.01)  # first-order change over one Euler step
    assert np.abs(ours[2:] - published[2:] - lag[2:]).max() < 2e-5  # vs offsets up to 1.9e-4


def test_written_files_have_ordinary_permissions(tmp_path):
    import os

    path = tmp_path / "frames.extxyz"
    dg.write_environments(path, dg.sample_methane(1, seed=0))
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


def test_json_output_is_strict_with_one_policy_for_non_finite_numbers(tmp_path):
    from pathlib import Path

    from degeneracy.files import json_text, write_json

    value = {
        "cn": np.inf,
        "s": [np.float32(0.5), -np.inf, np.nan],
        "n": np.int64(3),
        "p": Path("a"),
    }
    assert json.loads(json_text(value)) == {"cn": None, "s": [0.5, None, None], "n": 3, "p": "a"}
    path = tmp_path / "out.json"
    path.write_text("previous\n")
    with pytest.raises(TypeError):  # not JSON data: nothing written, old file kept
        write_json(path, {"x": object()})
    assert path.read_text() == "previous\n"
    write_json(path, value)
    assert json.loads(path.read_text())["cn"] is None


@pytest.mark.parametrize(
    "analysis",
    [
        lambda frames: dg.analyse_frames(frames, dg.SoapPowerSpectrum(n_max=4, l_max=4)),
        lambda frames: dg.compare_fingerprints(frames, {"acsf": dg.Acsf()}),
        lambda frames: dg.trace_orbit(frames[-1], dg.Acsf(), length=0.01),
        lambda frames: dg.find_singular(frames[-1], dg.Acsf()),
    ],
)
def test_analyses_name_a_non_finite_coordinate(analysis):
    """Library callers get the frame and atom, not an SVD failure from deep inside."""
    bad = dg.builtin_environment("pg-start")
    bad.positions[3, 1] = np.inf
    frames = [dg.builtin_environment("td"), bad]
    with pytest.raises(dg.DegeneracyError, match=r"frame \d, atom 3: non-finite coordinates"):
        analysis(frames)


SEEDED = {
    "sample_methane": lambda seed: dg.neighbor_positions(dg.sample_methane(3, seed=seed)),
    "PairSampler.parameters": lambda seed: [
        p.members() for p in dg.PairSampler().parameters(2, seed=seed)
    ],
    "orbit_split": lambda seed: np.concatenate(
        dg.learning.orbit_split(201, dg.learning.PROTOCOLS["subset"], seed=seed)
    ),
    "TrainSettings": lambda seed: dg.TrainSettings(seed=seed).seed,
}


@pytest.mark.parametrize("entry", sorted(SEEDED))
def test_every_seed_is_checked_by_name_and_numpy_integers_work(entry):
    """A seed is an integer ≥ 0 (numpy's own errors do not say which argument), and a numpy
    integer (from an array of seeds) gives what the same Python integer gives."""
    draw = SEEDED[entry]
    for bad, message in (
        (0.5, "must be an integer, got 0.5"),
        (True, "must be an integer, got True"),
    ):
        with pytest.raises(dg.DegeneracyError, match=f"seed {message}"):
            draw(bad)
    with pytest.raises(dg.DegeneracyError, match="seed must be at least 0, got -1"):
        draw(-1)
    np.testing.assert_equal(draw(np.int64(7)), draw(7))


def test_a_frame_selection_keeps_the_frame_numbers_and_checks_only_those(tmp_path):
    path = tmp_path / "ch4.extxyz"
    frames = dg.sample_methane(3, seed=1)
    frames[0].positions[1] *= 5  # frame 0 has a neighbour beyond the cutoff
    ase.io.write(path, frames)
    for index, numbers in [(-1, [2]), ("1:", [1, 2]), ("::2", None), (2, [2]), ("-2", [1])]:
        if numbers is None:
            with pytest.raises(dg.DegeneracyError, match=r"frame 0, atom 1: .* outside"):
                dg.read_environments(path, index=index)
            continue
        read = dg.read_environments(path, index=index)
        assert [atoms.info["source_frame"] for atoms in read] == numbers, index
    for index, message in [(-99, "no frame -99 .it has 3."), ("5:", "selects none"),
                           ("abc", "not a frame number"), (1.5, "not a frame number")]:  # fmt: skip
        with pytest.raises(dg.DegeneracyError, match=message):
            dg.read_environments(path, index=index)


def test_an_environment_may_be_named_by_text(tmp_path):
    neighbors = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    assert dg.environment_from_neighbors(neighbors, "CH4").get_chemical_formula() == "CH4"
    path = tmp_path / "ch4.extxyz"
    dg.write_environments(path, [dg.builtin_environment("pg-start")])
    assert len(dg.read_environments(path, spec="CH4")) == 1
    with pytest.raises(dg.DegeneracyError, match="the centre must be Si, got C"):
        dg.read_environments(path, spec="SiO4")
    with pytest.raises(dg.DegeneracyError, match="spec must be an EnvironmentSpec"):
        dg.environment_from_neighbors(neighbors, 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda nb, atoms: dg.nearest_coincidence(nb),
        lambda nb, atoms: dg.coincident_pairs(nb),
        lambda nb, atoms: dg.trade_scale(nb, np.ones(np.size(nb))),
        lambda nb, atoms: dg.pair_swap_residual(nb, np.ones(np.size(nb)), []),
        lambda nb, atoms: dg.pair_triples(nb),
        lambda nb, atoms: dg.environment_from_neighbors(nb),
    ],
)
def test_pair_analyses_take_one_environment_not_a_batch(call):
    """A batch (n, N, 3) reshaped to (n·N, 3) was analysed as one environment of n·N
    neighbours without a word."""
    frames = dg.sample_methane(2, seed=2)
    batch = dg.neighbor_positions(frames)
    with pytest.raises(dg.DegeneracyError, match=r"one environment's neighbour positions"):
        call(batch, frames)
    with pytest.raises(dg.DegeneracyError, match=r"not an ase\.Atoms"):
        call(frames[0], frames)
    call(batch[0].ravel(), frames)  # a flat (3N,) vector is one environment


def test_a_motion_must_fit_the_neighbours():
    neighbors = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    with pytest.raises(dg.DegeneracyError, match="4 neighbours has 12 components, got 5"):
        dg.trade_scale(neighbors, np.zeros(5))


def test_a_wrapped_periodic_environment_is_refused_and_an_unwrapped_one_read(tmp_path):
    """Dropping the cell of a frame whose neighbour is stored across the boundary would
    put that neighbour a cell away: refused, naming the atom and both distances."""
    frame = dg.builtin_environment("pg-start")
    frame.positions += [0.5, 2.0, 2.0]  # a neighbour at x < 0, outside the 4 Å box
    frame.cell = [4.0, 4.0, 4.0]
    frame.pbc = True
    wrapped = frame.copy()
    wrapped.wrap()  # a neighbour at x < 0 moves to the far side
    path = tmp_path / "periodic.xyz"
    ase.io.write(path, [frame, wrapped], format="extxyz")
    [read] = dg.read_environments(path, index=0)
    assert np.allclose(read.positions, frame.positions - frame.positions[0])
    assert not read.pbc.any()
    with pytest.raises(
        dg.DegeneracyError,
        match=r"periodic\.xyz, frame 1, atom \d: periodic frame, and this neighbour's image "
        r"is 1\.\d+ Å from the centre where the atom is [23]\.\d+ Å",
    ):
        dg.read_environments(path)
    # the same file in bohr: the cell is converted with the positions (it was not, and
    # the image search in a cell 1.89x too large let the wrapped frame through)
    in_bohr = [atoms.copy() for atoms in (frame, wrapped)]
    for atoms in in_bohr:
        atoms.set_cell(atoms.cell[:] / UNITS["bohr"], scale_atoms=True)
    bohr = tmp_path / "periodic-bohr.xyz"
    ase.io.write(bohr, in_bohr, format="extxyz")
    [read_bohr] = dg.read_environments(bohr, index=0, units="bohr")
    np.testing.assert_allclose(read_bohr.positions, read.positions, atol=1e-12)
    with pytest.raises(dg.DegeneracyError, match=r"frame 1, atom \d: periodic frame"):
        dg.read_environments(bohr, units="bohr")


def test_a_periodic_frame_with_images_inside_the_cutoff_is_refused(tmp_path):
    """Unwrapped, but in a 3 Å cell: images of the atoms are neighbours the frame does not
    list, and dropping the cell ignored them without a word."""
    frame = dg.sample_methane(1, seed=3)[0]
    frame.cell, frame.pbc = [3.0, 3.0, 3.0], True
    path = tmp_path / "small-cell.xyz"
    ase.io.write(path, frame, format="extxyz")
    with pytest.raises(
        dg.DegeneracyError,
        match=r"small-cell\.xyz, frame 0, atom \d: periodic frame, and this atom's image "
        r"\(.*\) cells away is \d\.\d+ Å from the centre, inside the cutoff 2\.5 Å",
    ):
        dg.read_environments(path)
    frame.cell = [8.0, 8.0, 8.0]  # images 5 Å or more away: read
    ase.io.write(path, frame, format="extxyz")
    [read] = dg.read_environments(path)
    assert not read.pbc.any()


@pytest.mark.parametrize(
    ("cell", "pbc", "message"),
    [
        ([[1, 0, 0], [2, 0, 0], [0, 0, 1]], True, r"cell vector 0 .* coplanar: zero volume"),
        ([[3, 0, 0], [0, 3, 0], [0, 0, 0]], True, r"axis 2, but cell vector 2 is zero"),
        (None, True, r"axis 0, but cell vector 0 is zero \(pbc without a cell\?\)"),
    ],
    ids=["coplanar", "zero-vector", "no-cell"],
)
def test_a_periodic_frame_without_a_proper_cell_is_refused_when_read(tmp_path, cell, pbc, message):
    """A zero-volume cell made the unwrapping check's find_mic raise LinAlgError (a
    traceback from `degeneracy spectrum`); pbc without a cell was reported as an image
    in ase's 1 Å stand-in cell. Both named now, as `scan` names them."""
    frame = dg.builtin_environment("pg-start")
    if cell is not None:
        frame.cell = cell
    frame.pbc = pbc
    path = tmp_path / "cell.xyz"
    ase.io.write(path, frame, format="extxyz")
    with pytest.raises(dg.DegeneracyError, match=r"cell\.xyz, frame 0: periodic along " + message):
        dg.read_environments(path)


def test_an_atom_at_the_cutoff_is_named_with_its_digits(tmp_path):
    """'1.09 Å from the centre, outside the cutoff 1.0896643 Å' looked wrong: an atom at
    the cutoff is "at" it, and one just past it is given to 10 digits."""
    frame = dg.builtin_environment("pg-start")
    path = tmp_path / "ch4.xyz"
    ase.io.write(path, frame, format="extxyz")
    stored = ase.io.read(path).positions  # as written: 8 decimals
    farthest = float(np.max(np.linalg.norm(stored[1:] - stored[0], axis=1)))
    with pytest.raises(
        dg.DegeneracyError, match=rf"at the cutoff {farthest} Å \(it must be inside\)"
    ):
        dg.read_environments(path, cutoff=farthest)
    just_inside = farthest * (1 - 1e-5)
    with pytest.raises(dg.DegeneracyError, match=r"atom \d: 1\.\d{8,9} Å from the centre, outside"):
        dg.read_environments(path, cutoff=just_inside)


def test_a_dummy_atom_asks_no_question_about_units(tmp_path):
    """ase's placeholder covalent radius of X (0.2 Å) made its C–X 'bond' look 2× too long
    and the refusal ask "is the file in bohr?" of a file whose C–H bonds were fine."""
    frame = dg.builtin_environment("pg-start")
    frame.numbers[0] = 0
    path = tmp_path / "x.xyz"
    ase.io.write(path, frame, format="extxyz")
    for spec in (None, "any"):
        keywords = {} if spec is None else {"spec": spec}
        with pytest.raises(dg.DegeneracyError) as error:
            dg.read_environments(path, **keywords)
        assert "bohr" not in str(error.value), str(error.value)


def test_dummy_atoms_are_refused(tmp_path):
    frame = dg.builtin_environment("pg-start")
    frame.numbers[3] = 0
    path = tmp_path / "dummy.xyz"
    ase.io.write(path, [frame], format="extxyz")
    with pytest.raises(
        dg.DegeneracyError, match=r"dummy\.xyz, frame 0, atom 3: a dummy atom X \(atomic"
    ):
        dg.read_environments(path, spec="any")


def test_a_generator_seed_is_not_recorded_in_info(tmp_path):
    """An integer seed is recorded and survives a file; a Generator is not a value."""
    [seeded] = dg.sample_methane(1, seed=np.int64(7))
    assert seeded.info == {"sample_seed": 7, "sample_index": 0}
    assert type(seeded.info["sample_seed"]) is int
    [drawn] = dg.sample_methane(1, seed=np.random.default_rng(7))
    assert drawn.info == {"sample_index": 0}
    np.testing.assert_allclose(drawn.positions, seeded.positions)


def test_a_cache_folder_that_cannot_be_made_is_named(tmp_path, monkeypatch):
    """$DEGENERACY_CACHE naming a file read as '<the input file>: File exists'."""
    from degeneracy.files import cache_dir

    blocker = tmp_path / "cache"
    blocker.write_text("")
    monkeypatch.setenv("DEGENERACY_CACHE", str(blocker))
    with pytest.raises(dg.DegeneracyError, match=r"cache folder .*cache \(\$DEGENERACY_CACHE\): "):
        cache_dir()


def test_the_atom_count_check_reads_extxyz_lattice_lines(tmp_path):
    """VEC1-3 lines after a frame's atoms (ase's extxyz) are skipped, not taken for the
    next frame's header: a valid file passes, a bad count after them is still caught."""
    from degeneracy.structures import check_xyz_atom_counts

    frame = "5\nc\nC 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\n"
    frame += "H 0.63 -0.63 -0.63\nVEC1 10 0 0\nVEC2 0 10 0\nVEC3 0 0 10\n"
    good = tmp_path / "good.xyz"
    good.write_text(frame * 2)
    check_xyz_atom_counts(good)
    bad = tmp_path / "bad.xyz"
    bad.write_text(frame + "7\nc\nC 0 0 0\n")
    with pytest.raises(dg.DegeneracyError, match="frame 1 declares 7 atoms, but only 1 line "):
        check_xyz_atom_counts(bad)


def test_the_atom_count_check_counts_a_cut_last_line(tmp_path):
    """A file cut inside an atom line (a C line, then half an H line) was said to have
    "only 1 lines" after the comment: the cut line was not counted."""
    from degeneracy.structures import check_xyz_atom_counts

    cut = tmp_path / "cut.extxyz"
    cut.write_text("5\nc\nC 0 0 0\nH 0.63 0.6")
    with pytest.raises(dg.DegeneracyError, match=r"declares 5 atoms, but only 2 lines follow its"):
        check_xyz_atom_counts(cut)
    complete = tmp_path / "complete.extxyz"  # a last line without its newline is a line
    complete.write_text("2\nc\nC 0 0 0\nH 0.63 0.63 0.63")
    check_xyz_atom_counts(complete)


def test_a_file_read_as_nothing_is_refused_as_such(tmp_path):
    """An XYZ file named .pdb is read by ase as one frame of 0 atoms: it said "frame 0:
    expected 5 atoms (CH4), got 0"; an empty trajectory said "contains no structures"."""
    from ase.io.trajectory import Trajectory

    xyz = tmp_path / "m.xyz"
    ase.io.write(xyz, dg.builtin_environment("td"))
    pdb = tmp_path / "m.pdb"
    pdb.write_bytes(xyz.read_bytes())
    with pytest.raises(dg.DegeneracyError) as info:
        dg.read_environments(pdb, spec="any")
    assert str(info.value) == (
        f"{pdb}: read as proteindatabank (from its name), it holds no atoms; if it is an "
        "(extended) XYZ file, name it .xyz or .extxyz"
    )
    Trajectory(tmp_path / "empty.traj", "w").close()
    with pytest.raises(dg.DegeneracyError, match=r"empty\.traj: read as traj \(from its name\), "
                       "it holds no structures; if it is"):  # fmt: skip
        dg.read_environments(tmp_path / "empty.traj")


def test_the_read_format_is_named_with_how_ase_chose_it(tmp_path):
    from ase.io.formats import UnknownFileTypeError

    from degeneracy.structures import guessed_read_format, holds_nothing, read_failure

    trajectory = tmp_path / "t.traj"
    ase.io.write(trajectory, dg.builtin_environment("td"))
    disguised = tmp_path / "t.xyz"  # a trajectory named .xyz: ase knows it by its bytes
    disguised.write_bytes(trajectory.read_bytes())
    assert guessed_read_format(trajectory) == ("traj", "from its name")
    assert guessed_read_format(disguised) == ("traj", "from its content")
    assert len(dg.read_environments(disguised)) == 1
    assert guessed_read_format(trajectory, "cif") == ("cif", "as given")
    (tmp_path / "e.xyz").write_text("")
    assert guessed_read_format(tmp_path / "e.xyz") == (None, "")
    # scan's wording: the command's --read-format is the other fix, and names a given format
    dat = tmp_path / "m.dat"
    dat.write_text("junk\n")
    said = read_failure(dat, AttributeError("x"), option="--read-format", what="cannot read it")
    assert said == (
        f"{dat}: cannot read it: read as gamess-us-punch (from its name), not a valid "
        "gamess-us-punch file (ase's reader stopped with AttributeError); if it is an "
        "(extended) XYZ file, name it .xyz or .extxyz, or give --read-format extxyz"
    )
    said = read_failure(dat, ValueError("bad header."), read_format="cif", option="--read-format")
    assert said == (
        f"{dat}: cannot read structures: read as cif (as --read-format asks), not a valid cif "
        "file (bad header)"
    )
    txt = tmp_path / "m.txt"
    txt.write_text("junk\n")
    said = read_failure(txt, UnknownFileTypeError("txt"), option="--read-format")
    assert said == (
        f"{txt}: cannot read structures (ase knows no structure format 'txt'; name the file "
        ".xyz or .extxyz, or give --read-format FORMAT)"
    )
    assert holds_nothing(dat, [ase.Atoms("H")]) is None
    assert holds_nothing(dat, [ase.Atoms(), ase.Atoms()], read_format="xyz") == (
        f"{dat}: read as xyz (as given), it holds no atoms"
    )


def test_read_error_reason_skips_blank_lines():
    """A message starting with a blank line was reported as its type's name only."""
    from degeneracy.structures import read_error_reason

    assert read_error_reason(ValueError("\n  bad line 3\nmore")) == "bad line 3"
    assert read_error_reason(ValueError("")) == "ValueError"
    assert read_error_reason(KeyError("Xx")) == "no element or column named 'Xx'"


# --------------------------------------------------------------------------------------
# Input validation (black-box hunt): named refusals instead of Python errors or silence


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dg.neighbor_positions(ase.Atoms()), "empty ase.Atoms, no centre"),
        (lambda: dg.neighbor_positions([ase.Atoms()]), "frame 0: an empty ase.Atoms"),
        (lambda: dg.environment_species([ase.Atoms()]), "frame 0: an empty ase.Atoms"),
        (lambda: dg.environment_species([ase.Atoms()], where="f.xyz"), "^f.xyz, frame 0"),
    ],
)
def test_an_empty_atoms_is_refused(call, message):
    """IndexError: no atom 0."""
    with pytest.raises(dg.DegeneracyError, match=message):
        call()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"cutoff": float("nan")}, "cutoff must be a positive number, got nan"),
        ({"cutoff": -1.0}, "cutoff must be a positive number"),
        ({"min_distance": -1}, "min_distance must be a number ≥ 0, got -1"),
        ({"min_distance": float("nan")}, "min_distance must be a number ≥ 0, got nan"),
        ({"min_distance": "a"}, "min_distance must be a number, got 'a'"),
    ],
)
def test_validate_environment_checks_its_limits(options, message):
    """A NaN cutoff skipped the cutoff check; -1 or NaN minimum distances were taken;
    'a' failed inside numpy."""
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.validate_environment(dg.regular_tetrahedron(), **options)


@pytest.mark.parametrize("atoms", [np.zeros((5, 3)), [dg.regular_tetrahedron()]])
def test_validate_environment_takes_one_atoms(atoms):
    """AttributeError: no get_chemical_symbols."""
    with pytest.raises(dg.DegeneracyError, match="validate_environment takes one frame"):
        dg.validate_environment(atoms)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"min_distance": -1}, "min_distance must be a number ≥ 0, got -1"),
        ({"index": True}, "index True: not a frame number or slice"),
        ({"index": np.bool_(False)}, r"index .*False_?: not a frame number or slice"),
    ],
)
def test_read_environments_checks_min_distance_and_a_bool_index(tmp_path, options, message):
    """min_distance=-1 was taken, index=True read frame 1."""
    path = tmp_path / "ch4.extxyz"
    dg.write_environments(path, dg.sample_methane(2, seed=0))
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.read_environments(path, **options)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dg.regular_tetrahedron(-1), "radius must be a positive number, got -1"),
        (lambda: dg.regular_tetrahedron(0), "radius must be a positive number, got 0"),
        (lambda: dg.regular_tetrahedron(float("nan")), "radius must be a positive number"),
        (lambda: dg.regular_tetrahedron("a"), "radius must be a number, got 'a'"),
        (lambda: dg.prl2020_methane(4.5, 130.5, 0), "radius must be a positive number"),
        (lambda: dg.prl2020_methane(np.inf, 130.5), "beta must be a finite angle"),
        (lambda: dg.spherical_point(float("nan"), 0), "beta must be a finite angle"),
        (lambda: dg.spherical_point(0, "x"), "alpha must be a number, got 'x'"),
    ],
)
def test_built_structures_check_their_parameters(call, message):
    """Negative, zero and NaN radii built CH4 (all H on C at 0); NaN angles gave NaNs."""
    with pytest.raises(dg.DegeneracyError, match=message):
        call()


def test_methane_sampler_limits_are_keyword_only():
    """MethaneSampler(0.9, 1.47) read as r_min, r_max by position."""
    with pytest.raises(TypeError, match="positional"):
        dg.MethaneSampler(0.9, 1.47)
    assert dg.MethaneSampler(r_min=0.95).r_min == 0.95


def test_a_structure_read_in_the_wrong_units_is_asked_about(tmp_path):
    """`scan --units bohr` of a file in Å: its C–H bonds shrink to 0.58 Å and two H atoms
    come closer than 0.5 Å; the refusal now asks whether the file is in Å, as the
    environment readers' refusals do."""
    from degeneracy import scan as scanning

    frames = dg.sample_methane(5, seed=3)
    path = tmp_path / "ds.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(
        dg.DegeneracyError,
        match=r"closer than the minimum distance 0\.5 Å; is the file in angstrom\? "
        r'\(units="angstrom"\)$',
    ):
        list(scanning.Dataset(path, units="bohr").structures())
    assert len(list(scanning.Dataset(path).structures())) == 5


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_the_bond_survey_ignores_a_molecule_s_cell(bad):
    """scan's units survey ran ase's neighbour list on a non-periodic molecule's stored
    cell: a cell of inf spun in LAPACK beyond Ctrl-C's reach, one of NaN raised "SVD did
    not converge" (helper-143); the cell plays no part without periodicity."""
    from ase.build import molecule

    from degeneracy.structures import nearest_neighbours, survey_structure_bonds

    methane = molecule("CH4")
    expected = nearest_neighbours(methane)
    methane.set_cell([[bad, 0, 0], [0, 10, 0], [0, 0, 10]])
    found = nearest_neighbours(methane)
    assert all(np.array_equal(a, b) for a, b in zip(found, expected, strict=True))
    assert survey_structure_bonds([methane]) is not None
    crystal = ase.Atoms("C", cell=[[bad, 0, 0], [0, 2, 0], [0, 0, 2]], pbc=True)
    assert nearest_neighbours(crystal) is None  # left to check_cell, which names it


def test_images_of_every_atom_are_checked_for_a_model_centred_on_every_atom(tmp_path):
    """CH4 in a 3.3 Å periodic cell: no image within 2.5 Å of the C, but H–H images at
    2.3 Å, inside the H-centred environments of the multi-centre model, which predicted
    the isolated molecule's value (helper-144)."""
    from ase.build import molecule

    methane = molecule("CH4")
    methane.set_cell([3.3, 20.0, 20.0])
    methane.pbc = True
    path = tmp_path / "periodic.extxyz"
    ase.io.write(path, methane)
    assert len(dg.read_environments(path)) == 1  # the C-centred reading: nothing near C
    said = r"frame 0, atom \d: periodic frame, and this atom's image \(-?1, 0, 0\) cells away"
    with pytest.raises(dg.DegeneracyError, match=said + r" is 2\.\d+ Å from atom \d"):
        dg.read_environments(path, images_of_every_atom=True)


def test_a_periodic_image_refusal_asks_about_the_units(tmp_path):
    """An Å periodic frame read as bohr was refused for an image inside the cutoff with
    no word on the units, where the cutoff and too-close refusals ask (helper-146)."""
    frame = dg.builtin_environment("pg-start")
    frame.set_cell([5.0, 5.0, 5.0])
    frame.pbc = True
    frame.positions += 2.5
    path = tmp_path / "periodic.extxyz"
    ase.io.write(path, frame)
    assert len(dg.read_environments(path)) == 1
    with pytest.raises(dg.DegeneracyError, match=r"periodic frame, .* is the file in angstrom\?"):
        dg.read_environments(path, units="bohr")


def test_an_orbit_file_in_bohr_has_its_arc_length_read_in_angstrom(tmp_path):
    """The arc length an orbit file records is in the file's units: `compare --plot` drew
    a bohr orbit's 0.05 Å as 0.0945 "Å" (helper-146)."""
    from ase.units import Bohr

    frames = []
    for k in range(3):
        frame = dg.builtin_environment("pg-start")
        frame.positions /= Bohr
        frame.info["arc_length"] = 0.01 * k / Bohr
        frames.append(frame)
    path = tmp_path / "orbit_bohr.extxyz"
    ase.io.write(path, frames)
    read = dg.read_environments(path, units="bohr")
    np.testing.assert_allclose([f.info["arc_length"] for f in read], [0.0, 0.01, 0.02])
