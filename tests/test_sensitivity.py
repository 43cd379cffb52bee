"""Purified spectrum, symmetry test, and the published singular point A0."""

from __future__ import annotations

import itertools
import warnings

import ase
import numpy as np
import pytest
from conftest import counted_calls, fcc_shell, published_a0
from scipy.spatial.transform import Rotation

import degeneracy as dg
import degeneracy.sensitivity as sensitivity
from degeneracy.sensitivity import (
    ZERO_RTOL,
    anchored_superpositions,
    near_symmetric,
    superpositions,
)

SIGMAS = (0.1, 0.2, 0.3, 0.5)


def _analyse(neighbors, **hypers):
    atoms = dg.environment_from_neighbors(neighbors)
    return dg.analyse_frames([atoms], dg.SoapPowerSpectrum(**hypers))[0]


def test_complement_is_orthonormal_and_orthogonal_to_rotations():
    neighbors = dg.neighbor_positions(dg.sample_methane(3, seed=2))
    complement = dg.rotation_complement(neighbors)
    assert complement.shape == (3, 12, 9)
    np.testing.assert_allclose(
        np.swapaxes(complement, 1, 2) @ complement,
        np.broadcast_to(np.eye(9), (3, 9, 9)),
        atol=1e-12,
    )
    generators = dg.rotation_generators(neighbors)
    assert np.abs(np.swapaxes(generators, 1, 2) @ complement).max() < 1e-12


def test_spectrum_independent_of_complement_choice():
    """DESIGN §2: the Comment's QR-built complement gives the same singular values."""
    frames = dg.sample_methane(3, seed=5)
    neighbors = dg.neighbor_positions(frames)
    _, jacobian = dg.SoapPowerSpectrum().jacobian(frames)
    ours = dg.singular_spectrum(jacobian, neighbors)
    grid = np.linspace(0, 1, 12)
    base = (np.diag(1 + grid) + np.outer(grid, grid))[:, :9]
    for f in range(3):
        u, _, _ = np.linalg.svd(dg.rotation_generators(neighbors[f]), full_matrices=False)
        complement, _ = np.linalg.qr(base - u @ (u.T @ base))
        theirs = np.linalg.svd(jacobian[f] @ complement, compute_uv=False)
        np.testing.assert_allclose(ours.values[f], theirs, rtol=1e-10)
        # the motion of s_k is a unit vector with |J u_k| = s_k, orthogonal to rotations
        motions = ours.motions[f]
        np.testing.assert_allclose(
            np.linalg.norm(jacobian[f] @ motions.T, axis=0), ours.values[f], rtol=1e-9
        )
        assert np.abs(motions @ u).max() < 1e-12


@pytest.mark.parametrize("basis", ["gto", "optimal"])
def test_tetrahedron_is_rank_one_and_explained_by_symmetry(basis):
    for sigma in SIGMAS:
        result = _analyse(
            dg.neighbor_positions(dg.builtin_environment("td")), sigma=sigma, basis=basis
        )
        values = result.singular_values
        assert values[1] < 1e-12 * values[0]
        assert result.symmetric and result.n_symmetry_zeros == 8
        assert result.verdict == "symmetry"


def test_pg_start_condition_number():
    result = _analyse(dg.neighbor_positions(dg.builtin_environment("pg-start")))
    assert 1.5e3 < result.cn < 3.5e3  # measured with featomic directly: 2.3e3
    assert not result.symmetric and result.verdict == "regular"


def _with_point_group(kind: str) -> np.ndarray:
    rng = np.random.default_rng(11)
    if kind == "C3v":
        ring = [dg.spherical_point(-20.0, phi, 1.1) for phi in (0.0, 120.0, 240.0)]
        return np.array([[0.0, 0.0, 1.0], *ring])
    if kind == "D2d":
        corners = np.array([[1, 1, 1.3], [-1, -1, 1.3], [1, -1, -1.3], [-1, 1, -1.3]])
        return corners / np.linalg.norm(corners[0]) * 1.1
    if kind == "C2":  # rotation by π about z
        a, b = rng.normal(size=(2, 3))
        a, b = a / np.linalg.norm(a) * 1.0, b / np.linalg.norm(b) * 1.2
        return np.array([a, b, a * [-1, -1, 1], b * [-1, -1, 1]])
    if kind == "Cs":  # mirror y -> -y
        a, b = rng.normal(size=(2, 3))
        a, b = a / np.linalg.norm(a) * 1.0, b / np.linalg.norm(b) * 1.2
        return np.array([a, b, a * [1, -1, 1], b * [1, -1, 1]])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["C3v", "D2d", "C2", "Cs"])
def test_symmetry_predicts_the_number_of_zeros(kind):
    """J (G − I) = 0 at a fixed point: the predicted null space is the observed one."""
    neighbors = _with_point_group(kind)
    neighbors = neighbors @ Rotation.random(random_state=2).as_matrix().T
    result = _analyse(neighbors)
    values = result.singular_values
    observed = int((values < 1e-10 * values[0]).sum())
    assert result.symmetric
    assert result.n_symmetry_zeros == observed > 0
    assert result.verdict == "symmetry"
    # the next singular value is a genuine, finite one
    assert values[8 - observed] > 1e-4 * values[0]


def test_symmetry_residual_of_a_random_structure():
    neighbors = dg.neighbor_positions(dg.sample_methane(1, seed=4))[0]
    verdict = dg.point_symmetry(neighbors)
    assert not verdict.symmetric and verdict.residual > 0.01
    assert verdict.n_symmetry_zeros == 0


def _symmetries(operations, tol=1e-3):
    """(permutation, proper) of the operations below ``tol``, the identity excluded."""
    found = [(op.permutation, op.proper) for op in operations if op.residual < tol]
    return sorted(key for key in found if not (key[1] and key[0] == tuple(range(len(key[0])))))


@pytest.mark.parametrize("kind", ["Td", "C3v", "D2d", "C2", "Cs", "cube", "random"])
def test_anchored_search_finds_what_the_enumeration_finds(kind):
    """Below the enumeration limit both searches must give the same symmetry operations;
    without symmetry the anchored search's best residual bounds the true one from above."""
    if kind == "Td":
        neighbors = dg.neighbor_positions(dg.builtin_environment("td"))
    elif kind == "cube":
        neighbors = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    elif kind == "random":
        neighbors = np.random.default_rng(5).normal(size=(7, 3))
    else:
        neighbors = _with_point_group(kind)
    neighbors = neighbors @ Rotation.random(random_state=4).as_matrix().T
    exact = superpositions(neighbors, neighbors)
    anchored = anchored_superpositions(neighbors, neighbors)
    assert _symmetries(anchored) == _symmetries(exact)
    identity = tuple(range(len(neighbors)))
    best = min(op.residual for op in exact if not (op.proper and op.permutation == identity))
    found = min(op.residual for op in anchored if not (op.proper and op.permutation == identity))
    assert found >= best - 1e-12
    if kind == "random":
        assert not _symmetries(anchored)
    else:
        assert _symmetries(anchored)


def _shuffled_copy(neighbors, species, *, seed, reflect):
    """``neighbors`` rotated (and reflected), permuted within species: (copy, permutation)."""
    rng = np.random.default_rng(seed)
    species = np.asarray(species)
    permutation = np.arange(len(neighbors))
    for z in np.unique(species):
        where = np.flatnonzero(species == z)
        permutation[where] = rng.permutation(where)
    rotation = Rotation.random(random_state=seed).as_matrix() * (-1.0 if reflect else 1.0)
    copy = np.empty_like(neighbors)
    copy[permutation] = neighbors @ rotation.T  # copy[π(i)] = R a_i
    return copy, permutation


@pytest.mark.parametrize("case", ["congruent", "mirror", "near", "different"])
def test_anchored_superposition_of_two_environments(case):
    """Onto another environment: a congruent copy (rotated or reflected, permuted within
    species) is found exactly, with its permutation; a slightly displaced one with the
    enumeration's best residual; otherwise the best found bounds the enumeration's."""
    rng = np.random.default_rng(11)
    reference = rng.normal(size=(7, 3))
    species = [1, 1, 1, 1, 8, 8, 8]
    other, permutation = _shuffled_copy(reference, species, seed=5, reflect=case == "mirror")
    if case == "near":
        other += rng.normal(scale=0.01, size=other.shape)
    elif case == "different":
        other = rng.normal(size=(7, 3))
    exact = min(superpositions(reference, other, species), key=lambda op: op.residual)
    anchored = min(anchored_superpositions(reference, other, species), key=lambda op: op.residual)
    if case in ("congruent", "mirror"):
        assert anchored.residual < 1e-12 and exact.residual < 1e-12
        assert anchored.permutation == tuple(permutation)
        assert anchored.proper == (case == "congruent")
    elif case == "near":
        assert anchored.residual == pytest.approx(exact.residual, abs=1e-12)
        assert anchored.permutation == exact.permutation == tuple(permutation)
    else:
        assert anchored.residual >= exact.residual - 1e-12


def test_two_species_are_not_enumerated_beyond_the_limit():
    """8 H and 8 O would be 8!² = 1.6e9 permutations: the anchored search takes over
    (O_h of a cube of H inside a cube of O: 47 operations), and the enumeration refuses."""
    cube = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    neighbors = np.vstack([cube, 1.6 * cube]) @ Rotation.random(random_state=2).as_matrix().T
    species = [1] * 8 + [8] * 8
    assert len(dg.point_symmetry(neighbors, species).operations) == 47
    with pytest.raises(dg.DegeneracyError, match=r"at most 40320 \(8!\), got 1.63e\+09"):
        superpositions(neighbors, neighbors, species)


def test_twelve_equal_neighbours_symmetry_explains_the_zeros():
    """Beyond the enumeration limit (12! permutations): the fcc shell's O_h is found whole
    (47 operations besides the identity) and predicts the 32 zeros that SOAP shows."""
    neighbors = fcc_shell() @ Rotation.random(random_state=3).as_matrix().T
    atoms = ase.Atoms("C" + "H" * 12, positions=np.vstack([np.zeros(3), neighbors]))
    result = dg.analyse_frames([atoms], dg.SoapPowerSpectrum())[0]
    values = result.singular_values
    assert result.symmetric and result.verdict == "symmetry"
    assert len(dg.point_symmetry(neighbors).operations) == 47
    assert result.n_symmetry_zeros == int((values < 1e-10 * values[0]).sum()) == 32
    # a distorted shell is not symmetric, with a residual of the distortion's size
    noisy = neighbors + np.random.default_rng(1).normal(scale=0.05, size=neighbors.shape)
    verdict = dg.point_symmetry(noisy)
    assert not verdict.symmetric and 0.01 < verdict.residual < 0.2
    assert verdict.n_symmetry_zeros == 0
    line = np.outer(np.arange(1, 10), [0.3, 0.1, 0.2])  # 9 neighbours on a line
    with pytest.raises(dg.DegeneracyError, match="collinear with the centre"):
        anchored_superpositions(line, line)
    # onto a line, or onto another number of neighbours: refused by name, for both searches
    with pytest.raises(dg.DegeneracyError, match="no pair of the second environment's"):
        dg.best_alignment(neighbors[:9], line)
    for search in (superpositions, anchored_superpositions):
        with pytest.raises(dg.DegeneracyError, match=r"shapes \(12, 3\) and \(9, 3\)"):
            search(neighbors, line)


def _snap_to_equiangular(a0: np.ndarray) -> np.ndarray:
    """Nearest point of the exactly singular set around A0 (see docs/orbits.md).

    Three H (1, 2, 4) at one distance from C, the fourth at equal angles to them.
    """
    radii = np.linalg.norm(a0, axis=1)
    units = a0 / radii[:, None]
    snapped = a0.copy()
    triple = [0, 1, 3]
    snapped[triple] = units[triple] * radii[triple].mean()
    direction = np.linalg.solve(units[triple], np.ones(3))
    direction *= np.sign(direction @ units[2]) / np.linalg.norm(direction)
    snapped[2] = direction * radii[2]
    return snapped


def test_published_a0_is_a_spurious_singular_point():
    a0 = published_a0()
    verdict = dg.point_symmetry(a0)
    assert not verdict.symmetric and verdict.residual > 0.1  # DESIGN: best residual 0.13 Å
    snapped = _snap_to_equiangular(a0)
    assert np.abs(snapped - a0).max() < 5e-7  # within the six printed decimals
    for sigma in SIGMAS:
        rounded = _analyse(a0, sigma=sigma)
        exact = _analyse(snapped, sigma=sigma)
        # six printed decimals limit CN to ~1e7: s_min grows linearly off the singular set
        assert rounded.cn > 1e6 and rounded.verdict == "spurious"
        assert exact.cn > 1e12, f"sigma={sigma}: CN {exact.cn:.3g}"
        assert not exact.symmetric and exact.verdict == "spurious"


def test_smallest_singular_value_grows_linearly_off_a0():
    snapped = _snap_to_equiangular(published_a0())
    rng = np.random.default_rng(0)
    direction = rng.normal(size=snapped.shape)
    direction /= np.linalg.norm(direction)
    smallest = [
        _analyse(snapped + step * direction).singular_values[-1] for step in (1e-5, 1e-4, 1e-3)
    ]
    ratios = np.array(smallest[1:]) / np.array(smallest[:-1])
    np.testing.assert_allclose(ratios, 10.0, rtol=0.05)


def test_fewer_features_than_motions_are_padded_with_zeros():
    frames = dg.sample_methane(2, seed=8)
    neighbors = dg.neighbor_positions(frames)
    _, jacobian = dg.SoapPowerSpectrum().jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian[:, :5], neighbors)
    assert spectrum.values.shape == (2, 9) and spectrum.motions.shape == (2, 9, 12)
    assert np.all(spectrum.values[:, 5:] == 0) and np.all(spectrum.values[:, 4] > 0)
    assert np.all(np.isinf(spectrum.cn))
    assert dg.analyse_frames(frames[:1], _FiveFeatures())[0].to_dict()["cn"] is None


def test_condition_number_treats_values_at_round_off_as_zero():
    from degeneracy.sensitivity import ROUNDOFF_EPS, condition_number, roundoff_floor

    floor = 9 * ROUNDOFF_EPS * 2.0
    np.testing.assert_allclose(roundoff_floor(2.0, 9), floor)
    values = condition_number(
        np.array([2.0, 2.0, 2.0, 2.0, 0.0, np.nan]),
        np.array([floor, 1.01 * floor, 1e-3, 0.0, 0.0, 1.0]),
        9,
    )
    assert np.isinf(values[0]) and np.isinf(values[3])
    np.testing.assert_allclose(values[1:3], [2.0 / (1.01 * floor), 2e3])
    assert np.isnan(values[4]) and np.isnan(values[5])
    # per-environment motion counts (scan): the floor grows with 3N - 3
    cn = condition_number(1.0, np.full(2, 20 * ROUNDOFF_EPS), np.array([9, 33]))
    assert cn[0] == 1.0 / (20 * ROUNDOFF_EPS) and np.isinf(cn[1])


@pytest.mark.parametrize(
    "name, neighbors, species",
    [("td", None, ("C", "H")), ("octahedron", "octahedron", ("S", "F")),
     ("cuboctahedron", "fcc", ("Cu", "Cu"))],
)  # fmt: skip
def test_symmetry_forced_zeros_fall_below_the_round_off_floor(name, neighbors, species):
    """At the exact zeros a point symmetry forces, s_min comes out of float64 well under
    the floor (3N - 3)·eps·s_1, in any orientation, and the CN is infinite (it was 1e17 at
    Td, a number set by the summation order); 1e-3 Å of noise makes it finite."""
    from scipy.spatial.transform import Rotation

    from degeneracy.sensitivity import ROUNDOFF_EPS

    center, other = species
    if neighbors is None:
        atoms = dg.builtin_environment(name)
    else:
        octahedron = np.concatenate([1.6 * np.eye(3), -1.6 * np.eye(3)])
        points = octahedron if neighbors == "octahedron" else fcc_shell(2.0)
        atoms = ase.Atoms(center + other * len(points), np.vstack([np.zeros(3), points]))
    fingerprints = [
        dg.SoapPowerSpectrum(cutoff=3.0, center=center, neighbors=[other]),
        dg.Bispectrum(cutoff=3.0, center=center, neighbors=[other]),
    ]
    rotated = []
    for rotation in Rotation.random(4, random_state=1):
        turned = atoms.copy()
        turned.positions = rotation.apply(atoms.positions)
        rotated.append(turned)
    forced = point_symmetry_zeros(atoms)
    for representation in fingerprints:
        _, jacobian = representation.jacobian([atoms, *rotated])
        spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions([atoms, *rotated]))
        values = spectrum.values
        # the other forced zeros (not s_min) can reach ~1.5x the floor when rotated
        assert forced > 0 and np.all(np.sum(values < 1e-10 * values[:, :1], axis=1) >= forced)
        s_min = values[:, -1] / values[:, 0]
        assert s_min.max() < values.shape[1] * ROUNDOFF_EPS / 2, (name, s_min.max())
        assert np.all(np.isinf(spectrum.cn))
        noisy = atoms.copy()
        noise = np.random.default_rng(0).normal(scale=1e-3, size=(len(atoms) - 1, 3))
        noisy.positions[1:] += noise
        _, jacobian = representation.jacobian([noisy])
        assert np.isfinite(dg.singular_spectrum(jacobian, dg.neighbor_positions([noisy])).cn[0])


def point_symmetry_zeros(atoms: ase.Atoms) -> int:
    return dg.point_symmetry(dg.neighbor_positions(atoms), atoms.numbers[1:]).n_symmetry_zeros


class _FiveFeatures:
    """A representation with fewer features than internal motions."""

    name = "soap-5"

    def __init__(self):
        self._soap = dg.SoapPowerSpectrum()

    def hypers(self):
        return {}

    def features(self, frames):
        return self._soap.features(frames)[:, :5]

    def jacobian(self, frames):
        x, j = self._soap.jacobian(frames)
        return x[:, :5], j[:, :5]


@pytest.mark.parametrize("zero_rtol", [-1.0, 0.0, 1.0, float("nan")])
def test_zero_rtol_must_lie_between_0_and_1(zero_rtol):
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        dg.zero_verdict(np.array([1.0, 1e-9]), 0, zero_rtol=zero_rtol)
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        dg.analyse_frames([dg.builtin_environment("td")], dg.Acsf(), zero_rtol=zero_rtol)
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        dg.unexplained_zeros(np.array([1.0, 1e-9]), np.eye(2, 6), None, zero_rtol=zero_rtol)


@pytest.mark.parametrize(
    "representation", [dg.SoapPowerSpectrum(), dg.Acsf()], ids=["soap", "acsf"]
)
def test_a_neighbour_beyond_the_cutoff_is_refused_not_called_spurious(representation):
    """Its Jacobian columns vanish: a zero singular value that is a data problem."""
    frames = dg.sample_methane(3, seed=2)
    far = frames[2].copy()
    far.positions[4] *= 2.6 / np.linalg.norm(far.positions[4])
    match = r"frame 2, atom 4: 2\.6 Å from the centre, at or beyond the \w+ cutoff 2\.5 Å"
    with pytest.raises(dg.DegeneracyError, match=match):
        dg.analyse_frames([*frames[:2], far], representation)
    with pytest.raises(dg.DegeneracyError, match=match):
        dg.compare_fingerprints([*frames[:2], far], {"x": representation})
    with pytest.raises(dg.DegeneracyError, match="frame 0, atom 4"):
        dg.find_singular(far, representation)


def test_collinear_and_empty_environments_are_named():
    frames = dg.sample_methane(2, seed=2)
    line = frames[1].copy()
    line.positions[1:] = np.outer([1.0, -1.1, 1.2, -0.9], [0.0, 0.6, 0.8])
    with pytest.raises(dg.DegeneracyError, match="frame 1: the neighbours are collinear"):
        dg.analyse_frames([frames[0], line], dg.Acsf())
    with pytest.raises(dg.DegeneracyError, match="frame 1: neighbours are collinear"):
        dg.rotation_complement(dg.neighbor_positions([frames[0], line]))
    with pytest.raises(dg.DegeneracyError, match="frame 0: no neighbours"):
        dg.check_analysable([frames[0][:1]], dg.Acsf())


def test_settings_and_sizes_are_checked_before_any_jacobian(monkeypatch):
    """Frames of different sizes used to pass when they fell in different batches, and
    a bad symmetry tolerance was found only after the search or the first batch."""
    representation = dg.Acsf()

    def never(*args, **kwargs):
        raise AssertionError("a Jacobian was computed before the input was checked")

    monkeypatch.setattr(representation, "jacobian", never)
    frames = dg.sample_methane(3, seed=1)
    frames[2] = frames[2][:4]
    with pytest.raises(dg.DegeneracyError, match="frame 2 has 4, frame 0 has 5"):
        dg.analyse_frames(frames, representation, batch_size=2)
    with pytest.raises(dg.DegeneracyError, match="symmetry_tol must be"):
        dg.analyse_frames(frames[:1], representation, symmetry_tol=-1.0)
    with pytest.raises(dg.DegeneracyError, match="symmetry_tol must be"):
        dg.find_singular(frames[0], representation, symmetry_tol=0.0)


def test_errors_of_a_later_batch_count_frames_from_its_first():
    """Every refusal numbers the frame within the whole file (``first_frame``), not the
    batch, and starts with ``where`` (the non-finite and collinear ones did not)."""
    frames = dg.sample_methane(2, seed=2)
    broken = frames[1].copy()
    broken.positions[2, 1] = np.nan
    with pytest.raises(dg.DegeneracyError, match=r"^f\.xyz, frame 11, atom 2: non-finite"):
        dg.check_analysable([frames[0], broken], dg.Acsf(), where="f.xyz", first_frame=10)
    line = frames[1].copy()
    line.positions[1:] = np.outer([1.0, -1.1, 1.2, -0.9], [0.0, 0.6, 0.8])
    batch = [frames[0], line]
    _, jacobian = dg.Acsf().jacobian(batch)
    with pytest.raises(dg.DegeneracyError, match=r"^frame 11: neighbours are collinear"):
        dg.singular_spectrum(jacobian, dg.neighbor_positions(batch), first_frame=10)


def test_an_all_zero_spectrum_is_spurious_with_a_nan_condition_number():
    import warnings

    assert dg.zero_verdict(np.zeros(9), 0) == "spurious"
    assert dg.zero_verdict(np.zeros(9), 8) == "spurious"
    spectrum = dg.Spectrum(values=np.zeros((1, 9)), motions=np.zeros((1, 9, 12)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(spectrum.cn[0])


def test_shapes_and_batch_sizes_are_checked():
    frames = dg.sample_methane(2, seed=2)
    _, jacobian = dg.Acsf().jacobian(frames)
    neighbors = dg.neighbor_positions(frames)
    with pytest.raises(dg.DegeneracyError, match="does not belong to neighbours"):
        dg.singular_spectrum(jacobian, neighbors[:1])
    with pytest.raises(dg.DegeneracyError, match=r"got shapes \(\d+, 12\) and \(4, 3\)"):
        dg.singular_spectrum(jacobian[0], neighbors[0])
    broken = jacobian.copy()
    broken[1, 0, 0] = np.nan  # else numpy's SVD "did not converge", naming no frame
    with pytest.raises(dg.DegeneracyError, match="frame 1: the Jacobian has non-finite entries"):
        dg.singular_spectrum(broken, neighbors)
    with pytest.raises(dg.DegeneracyError, match="frame 6: the Jacobian has non-finite"):
        dg.singular_spectrum(broken, neighbors, first_frame=5)  # a batch from frame 5 on
    with pytest.raises(dg.DegeneracyError, match="no frames"):
        dg.neighbor_positions([])
    with pytest.raises(dg.DegeneracyError, match=r"N species, got shape .* and 3 species"):
        dg.point_symmetry(neighbors[0], [1, 1, 1])
    for size in (0, -1):
        with pytest.raises(dg.DegeneracyError, match="batch_size"):
            dg.analyse_frames(frames, dg.Acsf(), batch_size=size)
        with pytest.raises(dg.DegeneracyError, match="batch_size"):
            dg.compare_fingerprints(frames, {"acsf": dg.Acsf()}, batch_size=size)


def test_analyses_name_a_wrong_argument():
    """One ase.Atoms instead of a list, or a name instead of a fingerprint: a named
    refusal, not ``AttributeError: 'Atom' object has no attribute 'positions'``."""
    td = dg.builtin_environment("td")
    with pytest.raises(dg.DegeneracyError, match=r"give a list of frames, e\.g\. \[atoms\]"):
        dg.analyse_frames(td, dg.SoapPowerSpectrum())
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint: 'soap'; build one"):
        dg.analyse_frames([td], "soap")
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint: None"):
        dg.compare_fingerprints([td], {"soap": None})
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint"):
        dg.find_singular(td, "soap")
    with pytest.raises(dg.DegeneracyError, match="find_singular takes one frame"):
        dg.find_singular([td], dg.SoapPowerSpectrum())
    with pytest.raises(dg.DegeneracyError, match=r"trace_orbit takes one frame .*got a list"):
        dg.trace_orbit([td], dg.SoapPowerSpectrum(), length=0.01)
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint"):
        dg.trace_orbit(td, "soap", length=0.01)
    with pytest.raises(dg.DegeneracyError, match="environment_spectra: give a list"):
        dg.environment_spectra(td, dg.SoapPowerSpectrum())
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint"):
        dg.environment_spectra([td], "soap")
    with pytest.raises(dg.DegeneracyError, match="verify_pairs: give a list"):
        dg.verify_pairs(td, {"soap": dg.SoapPowerSpectrum()})
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint: 'soap'"):
        dg.verify_pairs([td, td], {"soap": "soap"})
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint"):
        dg.finite_difference_jacobian("soap", td)
    with pytest.raises(dg.DegeneracyError, match=r"takes neighbour positions \(N, 3\)"):
        dg.point_symmetry(td)
    with pytest.raises(dg.DegeneracyError, match=r"soap: frame 1 is a str, not an ase\.Atoms"):
        dg.SoapPowerSpectrum().features([td, "td"])
    with pytest.raises(dg.DegeneracyError, match=r"frames must be a list of ase\.Atoms, got int"):
        dg.Acsf().jacobian(5)
    # any iterable of frames is fine
    rows = dg.analyse_frames((atoms for atoms in [td, td]), dg.SoapPowerSpectrum())
    assert len(rows) == 2


class _BrokenOnFrame:
    """ACSF whose Jacobian is NaN for one given environment (a fingerprint failing mid-run)."""

    def __init__(self, broken):
        self.inner, self.broken, self.name = dg.Acsf(), broken, "acsf"
        self.cutoff = self.inner.cutoff

    def hypers(self):
        return self.inner.hypers()

    def features(self, frames):
        return self.inner.features(frames)

    def jacobian(self, frames):
        features, jacobian = self.inner.jacobian(frames)
        for k, atoms in enumerate(frames):
            if np.array_equal(atoms.positions, self.broken.positions):
                jacobian[k, 0, 0] = np.nan
        return features, jacobian


@pytest.mark.parametrize("batch_size", [1, 2, 500])
def test_a_failure_mid_run_names_the_frame_in_the_whole_sequence(batch_size):
    frames = dg.sample_methane(5, seed=4)
    broken = _BrokenOnFrame(frames[3])
    with pytest.raises(dg.DegeneracyError, match=r"^frame 3: the Jacobian has non-finite"):
        dg.analyse_frames(frames, broken, batch_size=batch_size)
    with pytest.raises(dg.DegeneracyError, match=r"^frame 3: the Jacobian has non-finite"):
        dg.compare_fingerprints(frames, {"acsf": broken}, batch_size=batch_size)


@pytest.mark.parametrize(
    ("shape", "zeros"),
    [
        ([(40, 0, 1.0), (-10, 90, 1.1), (-10, -90, 1.1), (-40, 180, 1.3)], 3),  # Cs
        ([(40, 0, 1.1), (40, 180, 1.1), (-30, 90, 1.0), (-30, -90, 1.0)], 5),  # C2v
        ([(90, 0, 1.0), (-19.47, 0, 1.2), (-19.47, 120, 1.2), (-19.47, 240, 1.2)], 6),  # C3v
    ],
)
def test_a_nearly_symmetric_frame_forces_the_zeros_of_its_symmetry(shape, zeros):
    """Operations found within the tolerance are approximate; counted on the raw frame,
    their residual leaked into extra 'forced' zeros (C3v with 1e-5 Å of noise gave 7 or
    8 instead of 6), which could turn a spurious verdict into 'symmetry'."""
    exact = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in shape])
    rng = np.random.default_rng(5)
    for noise in (0.0, 1e-6, 1e-5, 1e-4):
        verdict = dg.point_symmetry(exact + noise * rng.standard_normal(exact.shape))
        assert verdict.symmetric and verdict.n_symmetry_zeros == zeros, noise
    a = np.radians(104.5)
    for r in (0.96, 0.9601):  # water, and 1e-4 Å from C2v
        water = np.array([[0.96, 0, 0], [r * np.cos(a), r * np.sin(a), 0]])
        assert dg.point_symmetry(water).n_symmetry_zeros == 1


C3V_SHAPE = [(90, 0, 1.0), (-19.47, 0, 1.2), (-19.47, 120, 1.2), (-19.47, 240, 1.2)]


def _radial_only_acsf():
    """Ten G2 functions and no angular ones: blind to every angle, 5 zeros everywhere."""
    return dg.Acsf(parameter_set="custom", g2=[(4.0, 0.8 + 0.1 * k) for k in range(10)], g4=[])


@pytest.mark.parametrize("noise", [0.0, 1e-5, 1e-4])
def test_a_zero_along_a_motion_the_symmetry_leaves_free_is_spurious(noise):
    """Near C3v the radial-only ACSF has 5 exact zeros (it sees only the 4 radii), no
    more than the 6 the symmetry forces once the noise lifts them; counted, they read
    'symmetry'. But one of them turns the cone angle, a motion C3v leaves free."""
    exact = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in C3V_SHAPE])
    neighbors = exact + noise * np.random.default_rng(2).standard_normal(exact.shape)
    atoms = dg.environment_from_neighbors(neighbors)
    representation = _radial_only_acsf()
    _, jacobian = representation.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, neighbors[None])
    symmetry = dg.point_symmetry(neighbors)
    values, motions = spectrum.values[0], spectrum.motions[0]
    assert symmetry.symmetric and symmetry.n_symmetry_zeros == 6
    n_small = int((values < ZERO_RTOL * values[0]).sum())
    assert n_small == (7 if noise == 0 else 6)  # the noise lifts forced zeros, not the 5
    counted = dg.zero_verdict(values, 6, n_features=10)
    assert counted == ("spurious" if noise == 0 else "symmetry")  # the count is fooled
    assert dg.unexplained_zeros(values, motions, symmetry.forced_motions) == 1
    verdict = dg.zero_verdict(
        values, 6, n_features=10, motions=motions, forced_motions=symmetry.forced_motions
    )
    assert verdict == "spurious"
    assert dg.analyse_frames([atoms], representation)[0].verdict == "spurious"


@pytest.mark.parametrize("noise", [0.0, 1e-6, 1e-5, 1e-4])
def test_forced_zeros_stay_symmetry_near_symmetric_frames(noise):
    rng = np.random.default_rng(3)
    td = dg.neighbor_positions(dg.regular_tetrahedron())
    c3v = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in C3V_SHAPE])
    for exact in (td, c3v):
        atoms = dg.environment_from_neighbors(exact + noise * rng.standard_normal(exact.shape))
        for representation in (dg.SoapPowerSpectrum(), dg.Acsf(), dg.Bispectrum()):
            result = dg.analyse_frames([atoms], representation)[0]
            assert result.verdict in ("symmetry", "regular"), (noise, representation)
            if noise == 0:
                assert result.verdict == "symmetry"


@pytest.mark.parametrize("shape", ["td", "c3v", "water"])
def test_forced_motions_are_stationary_motions_of_every_fingerprint(shape):
    """J (G - 1) = 0 at a fixed point: every invariant fingerprint's Jacobian vanishes
    along the forced motions, which are orthonormal and orthogonal to rotations."""
    if shape == "td":
        neighbors = dg.neighbor_positions(dg.regular_tetrahedron())
    elif shape == "c3v":
        neighbors = np.array([dg.spherical_point(b, a, r) for b, a, r in C3V_SHAPE])
    else:
        a = np.radians(104.5)
        neighbors = np.array([[0.96, 0, 0], [0.96 * np.cos(a), 0.96 * np.sin(a), 0]])
    symmetry = dg.point_symmetry(neighbors)
    forced = symmetry.forced_motions
    assert forced.shape == (neighbors.size, symmetry.n_symmetry_zeros)
    np.testing.assert_allclose(forced.T @ forced, np.eye(forced.shape[1]), atol=1e-12)
    generators = dg.rotation_generators(neighbors)
    assert np.abs(generators.T @ forced).max() < 1e-12
    if shape != "water":
        atoms = dg.environment_from_neighbors(neighbors)
        for representation in (dg.SoapPowerSpectrum(), dg.Acsf(), dg.Bispectrum()):
            _, jacobian = representation.jacobian([atoms])
            scale = np.linalg.norm(jacobian[0], 2)
            assert np.abs(jacobian[0] @ forced).max() < 1e-9 * scale, representation
    asymmetric = dg.neighbor_positions(dg.sample_methane(1, seed=0))[0]
    assert dg.point_symmetry(asymmetric).forced_motions is None
    n_zeros, none_forced = dg.symmetry_forced_motions(asymmetric, [])  # was a ValueError
    assert n_zeros == 0 and none_forced.shape == (12, 0)


def test_purified_jacobian_gives_the_spectrum_and_checks_shapes():
    frames = dg.sample_methane(3, seed=4)
    neighbors = dg.neighbor_positions(frames)
    _, jacobian = dg.Acsf().jacobian(frames)
    purified = dg.purified_jacobian(jacobian, neighbors)
    assert purified.shape == (3, jacobian.shape[1], 9)
    np.testing.assert_allclose(
        dg.purified_singular_values(purified),
        dg.singular_spectrum(jacobian, neighbors).values,
        rtol=1e-10,
    )
    # J O loses nothing but rotations: |J|_F^2 = |J O|_F^2 + |J T|_F^2 (T: unit rotations)
    generators = dg.rotation_generators(neighbors)
    rotations = np.linalg.qr(generators)[0]
    np.testing.assert_allclose(
        np.linalg.norm(jacobian, axis=(1, 2)) ** 2,
        np.linalg.norm(purified, axis=(1, 2)) ** 2
        + np.linalg.norm(jacobian @ rotations, axis=(1, 2)) ** 2,
        rtol=1e-10,
    )
    with pytest.raises(dg.DegeneracyError, match=r"does not fit neighbours of shape \(3, 3, 3\)"):
        dg.purified_jacobian(jacobian, neighbors[:, :3])


@pytest.mark.parametrize("representation", [dg.Acsf(), dg.OverlapMatrix()], ids=["acsf", "om"])
def test_a_neighbour_at_the_cutoff_explains_its_three_zeros(representation):
    """Its whole pair terms are weighed out (radius too, the weight's slope vanishing):
    only the angles used to be set aside, so ACSF's radial zero stayed unexplained."""
    atoms = dg.sample_methane(1, seed=3)[0]
    atoms.positions[4] *= (representation.cutoff - 1e-4) / np.linalg.norm(atoms.positions[4])
    # the OM's weighed-out neighbour leaves tiny eigenvalues, apart for their size: no kink
    [result] = dg.analyse_frames([atoms], representation)
    assert result.verdict == "spurious"
    assert result.pair_swap is None
    assert result.unseen_pairs.startswith(
        "H1-H4, H2-H4, H3-H4 (H4 at 2.4999 Å, 0.0001 Å inside the cutoff, where its weight"
    )


# --------------------------------------------------------------------------------------
# Input validation (black-box hunt): named refusals instead of numpy errors or silence

_TD = dg.neighbor_positions(dg.regular_tetrahedron())
_NAN_NEIGHBOR = np.vstack([_TD[:3], [np.nan, 0.0, 0.0]])


def _acsf_batch(n=3, seed=0):
    frames = dg.sample_methane(n, seed=seed)
    return dg.Acsf().jacobian(frames)[1], dg.neighbor_positions(frames)


def _td_spectrum():
    jacobian, neighbors = _acsf_batch(1)
    return dg.singular_spectrum(jacobian, neighbors)


@pytest.mark.parametrize("n_jacobians, n_neighbors", [(2, 1), (3, 2), (1, 2)])
def test_purified_jacobian_refuses_neighbours_of_other_frames(n_jacobians, n_neighbors):
    """One frame's neighbours were broadcast over the others' Jacobians without a word."""
    jacobian, neighbors = _acsf_batch()
    with pytest.raises(dg.DegeneracyError, match="of the same frames"):
        dg.purified_jacobian(jacobian[:n_jacobians], neighbors[:n_neighbors])


@pytest.mark.parametrize(
    "call",
    [
        lambda zeros: dg.singular_spectrum(_acsf_batch(1)[0], zeros[None]),
        lambda zeros: dg.rotation_complement(zeros),
        lambda zeros: dg.point_symmetry(zeros),
        lambda zeros: dg.check_analysable([dg.environment_from_neighbors(zeros)], dg.Acsf()),
    ],
    ids=["singular_spectrum", "rotation_complement", "point_symmetry", "check_analysable"],
)
def test_neighbours_all_at_the_centre_are_collinear(call):
    """s_min < 1e-8 s_1 was false for 0 < 0: a spectrum, a symmetry, a pass."""
    with pytest.raises(dg.DegeneracyError, match="collinear with the centre"):
        call(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "call",
    [
        lambda nb: dg.singular_spectrum(_acsf_batch(1)[0], nb[None]),
        lambda nb: dg.purified_jacobian(_acsf_batch(1)[0], nb[None]),
        lambda nb: dg.rotation_complement(nb),
        lambda nb: dg.rotation_generators(nb),
        lambda nb: dg.point_symmetry(nb),
        lambda nb: dg.best_alignment(nb, _TD),
        lambda nb: dg.best_alignment(_TD, nb),
        lambda nb: dg.aligned_distance(nb, _TD),
        lambda nb: dg.coincident_pairs(nb),
        lambda nb: dg.nearest_coincidence(nb),
        lambda nb: dg.pair_swap_residual(nb, np.ones(12), []),
        lambda nb: dg.trade_scale(nb, np.ones(12)),
        lambda nb: dg.pair_triples(nb),
        lambda nb: dg.pair_triple_rates(nb, np.ones(12)),
        lambda nb: dg.environment_from_neighbors(nb),
    ],
)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_non_finite_neighbour_is_named(call, value):
    """It failed inside numpy ("SVD did not converge", "data must be finite") or gave an
    answer (None, 1.0, inf, NaN angles, an Atoms)."""
    neighbors = np.vstack([_TD[:3], [value, 0.0, 0.0]])
    with pytest.raises(dg.DegeneracyError, match=r"neighbour 3: non-finite coordinates"):
        call(neighbors)


def test_a_non_finite_neighbour_of_a_batch_names_the_frame():
    jacobian, neighbors = _acsf_batch()
    neighbors[2, 1, 0] = np.nan
    with pytest.raises(dg.DegeneracyError, match=r"frame 12, neighbour 1: non-finite"):
        dg.singular_spectrum(jacobian, neighbors, first_frame=10)


@pytest.mark.parametrize(
    "call", [dg.coincident_pairs, dg.nearest_coincidence, dg.pair_triples, dg.trade_scale]
)
def test_a_neighbour_on_the_centre_has_no_pair_angle(call):
    """Its direction was 0/0: scipy's "data must be finite" or NaN angles."""
    neighbors = np.vstack([_TD[:3], np.zeros(3)])
    args = (neighbors, np.ones(12)) if call is dg.trade_scale else (neighbors,)
    with pytest.raises(dg.DegeneracyError, match="neighbour 3 is 0 Å from the centre"):
        call(*args)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda j, nb: dg.singular_spectrum(j[:0], nb[:0]), "no frames"),
        (lambda j, nb: dg.rotation_complement(np.zeros((0, 3))), r"N ≥ 1, got \(0, 3\)"),
        (lambda j, nb: dg.rotation_complement(nb[:, :0]), r"N ≥ 1, got \(3, 0, 3\)"),
        (lambda j, nb: dg.point_symmetry(np.zeros((0, 3))), r"got shape \(0, 3\)"),
        (
            lambda j, nb: dg.unexplained_zeros(np.zeros(0), np.zeros((0, 12)), None),
            r"singular values \(3N-3,\), got shape \(0,\)",
        ),
        (lambda j, nb: dg.zero_verdict(np.zeros(0), 0), r"got shape \(0,\)"),
        (lambda j, nb: dg.purified_singular_values(np.zeros((3, 0))), r"got shape \(3, 0\)"),
    ],
)
def test_empty_inputs_are_refused(call, message):
    """They failed with an IndexError."""
    jacobian, neighbors = _acsf_batch()
    with pytest.raises(dg.DegeneracyError, match=message):
        call(jacobian, neighbors)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: dg.best_alignment(_TD, _TD, [1, 1]), "2 species and 4 neighbours"),
        (lambda s: dg.best_alignment(_TD[None], _TD[None]), r"got \(1, 4, 3\)"),
        (lambda s: dg.best_alignment(np.zeros((4, 2)), np.zeros((4, 2))), r"got \(4, 2\)"),
        (lambda s: dg.best_alignment(dg.regular_tetrahedron(), _TD), "not an ase.Atoms"),
        (lambda s: dg.purified_singular_values(np.ones(5)), r"got shape \(5,\)"),
        (
            lambda s: dg.unexplained_zeros(s.values[0], s.motions[0][:, :5], None),
            r"motions \(9, 12\) .* got \(9, 5\)",
        ),
        (
            lambda s: dg.unexplained_zeros(s.values[0][:5], s.motions[0], None),
            r"5 singular values need motions \(5, 8\)",
        ),
        (
            lambda s: dg.unexplained_zeros(s.values[0], s.motions[0], np.ones((12, 10))),
            r"forced motions \(12, ≤ 9\), got \(9, 12\) and \(12, 10\)",
        ),
        (lambda s: dg.unexplained_zeros(s.values, s.motions[0], None), r"got shape \(1, 9\)"),
        (lambda s: dg.zero_verdict(s.values, 0), r"got shape \(1, 9\)"),
        (
            lambda s: dg.symmetry_forced_motions(_TD[:3], dg.point_symmetry(_TD).operations),
            "an operation on 4 neighbours for an environment of 3",
        ),
        (lambda s: dg.rotation_generators(np.ones((4, 2))), r"got \(4, 2\)"),
    ],
)
def test_shapes_that_do_not_fit_are_named(call, message):
    """numpy's einsum, matmul or broadcast errors, an unpacking error, an ambiguous truth
    value; rotation_generators of 2-D points and unexplained_zeros of 5 of 9 values
    answered."""
    with pytest.raises(dg.DegeneracyError, match=message):
        call(_td_spectrum())


@pytest.mark.parametrize(
    "s_max, s_min, n_motions, message",
    [
        (1.0, 2.0, 9, "s_min 2 exceeds s_max 1"),
        (-1.0, 0.5, 9, "finite and ≥ 0, got s_max -1"),
        (1.0, -0.5, 9, "finite and ≥ 0, got s_max 1, s_min -0.5"),
        (np.inf, 0.5, 9, "finite and ≥ 0"),
        (2.0, 1.0, 0, "whole number ≥ 1 .* got 0"),
        (2.0, 1.0, -3, "got -3"),
        (2.0, 1.0, 2.5, "got 2.5"),
        ("a", 1.0, 9, "s_max must be numbers, got 'a'"),
        (np.ones(3), np.ones(2), 9, r"shapes \(3,\), \(2,\), \(\) do not broadcast"),
        (np.ones(3), np.array([0.5, 2.0, 0.5]), 9, r"at index \(1,\): s_min 2 exceeds"),
    ],
)
def test_condition_number_refuses_what_is_not_a_spectrum(s_max, s_min, n_motions, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.condition_number(s_max, s_min, n_motions)


def test_condition_number_takes_undefined_spectra_and_round_off():
    """A scan's environments of 0 or 1 neighbour have no spectrum (NaN) and 3N − 3 of -3
    or 0; s_min above s_max by round-off (from another computation) is a CN just under 1."""
    cn = dg.condition_number(np.array([np.nan, 1.0]), np.array([np.nan, 0.5]), np.array([-3, 9]))
    assert np.isnan(cn[0]) and cn[1] == 2.0
    assert 0.999 < dg.condition_number(1.0, 1.0 + 2e-15, 9) < 1.0


@pytest.mark.parametrize(
    "n_symmetry_zeros, options, message",
    [
        (-1, {}, "n_symmetry_zeros must be at least 0 and at most 9, got -1"),
        (100, {}, "at most 9, got 100"),
        (1.5, {}, "n_symmetry_zeros must be an integer, got 1.5"),
        ("a", {}, "n_symmetry_zeros must be an integer"),
        (True, {}, "n_symmetry_zeros must be an integer"),
        (0, {"n_features": 0}, "n_features must be at least 1, got 0"),
        (0, {"n_features": -1}, "n_features must be at least 1, got -1"),
        (0, {"n_features": 2.5}, "n_features must be an integer"),
    ],
)
def test_zero_verdict_checks_its_counts(n_symmetry_zeros, options, message):
    """They were used as given: -1 or 'a' zeros, 0 features gave a verdict."""
    values = _td_spectrum().values[0]
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.zero_verdict(values, n_symmetry_zeros, **options)


def _on_centre(atoms):
    atoms.positions[4] = atoms.positions[0]


def _on_neighbour(atoms):
    atoms.positions[4] = atoms.positions[3]


@pytest.mark.parametrize(
    "edit, atoms",
    [(_on_centre, "atoms 0 and 4"), (_on_neighbour, "atoms 3 and 4")],
    ids=["on-centre", "on-neighbour"],
)
def test_atoms_on_top_of_each_other_are_refused_naming_them(edit, atoms):
    """A neighbour on the centre gave ACSF NaN columns ("the Jacobian has non-finite
    entries"); two coincident neighbours passed and were called 'spurious'."""
    frames = dg.sample_methane(3, seed=2)
    edit(frames[2])
    match = rf"^f\.xyz, frame 12: {atoms} are 0 Å apart, on top of each other"
    with pytest.raises(dg.DegeneracyError, match=match):
        dg.check_analysable(frames, dg.Acsf(), where="f.xyz", first_frame=10)
    with pytest.raises(dg.DegeneracyError, match=rf"frame 2: {atoms} are 0 Å apart"):
        dg.analyse_frames(frames, dg.Acsf())


def test_frames_of_several_sizes_are_checked_in_order():
    """Checked by size in arrays, the first failing frame is named whatever its size."""
    frames = dg.sample_methane(4, seed=2)
    frames[1] = frames[1][:4]  # 3 neighbours
    frames[3].positions[4] = frames[3].positions[2]
    frames[1].positions[1:] = np.outer([1.0, -1.1, 0.9], [0.0, 0.6, 0.8])
    with pytest.raises(dg.DegeneracyError, match=r"^frame 1: the neighbours are collinear"):
        dg.check_analysable(frames, dg.Acsf())
    with pytest.raises(dg.DegeneracyError, match=r"^frame 3: atoms 2 and 4"):
        dg.check_analysable([frames[k] for k in (0, 2, 3)], dg.Acsf(), first_frame=1)
    near = dg.sample_methane(1, seed=2)[0]
    near.positions[4] = near.positions[3] + 1e-6  # close, but an environment
    dg.check_analysable([near], dg.Acsf())


# --------------------------------------------------------------------------------------
# Zeros of a near-symmetric frame beyond the symmetry tolerance (near_symmetry)

_TD = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3) * 1.09


def _near_td(distance: float) -> ase.Atoms:
    noise = np.random.default_rng(3).standard_normal((4, 3))
    return dg.environment_from_neighbors(_TD + distance * noise)


def test_zeros_a_few_ma_from_td_are_near_symmetry_not_spurious():
    """A user's CH4 relaxed to ~1 mÅ of T_d: its smallest singular value (lifted as d²)
    is still below 1e-6 s1 while the symmetry residual is above the 1e-3 Å tolerance; it
    was reported as a defect of the fingerprint ("spurious")."""
    (result,) = dg.analyse_frames([_near_td(1e-3)], dg.SoapPowerSpectrum())
    values = result.singular_values
    assert not result.symmetric and result.symmetry_residual > dg.sensitivity.SYMMETRY_TOL
    assert values[-1] < ZERO_RTOL * values[0]  # a zero, as the old verdict counted it
    assert result.verdict == "near-symmetry" and result.pair_swap is None
    assert 5e-4 < result.near_symmetry_distance < 2e-3
    assert result.to_dict()["near_symmetry_distance"] == result.near_symmetry_distance


def test_near_symmetry_sweeps_from_symmetry_to_regular_without_spurious():
    """ACSF's forced zeros near T_d stay below 1e-6 s1 out to ~10 mÅ:
    every frame on the way is symmetry, near-symmetry or regular, never spurious."""
    acsf = dg.Acsf()
    verdicts = [
        dg.analyse_frames([_near_td(d)], acsf)[0].verdict for d in (5e-4, 1e-3, 2e-3, 3e-3, 2e-2)
    ]
    assert verdicts == ["symmetry", "near-symmetry", "near-symmetry", "near-symmetry", "regular"]


def test_the_path_test_measures_how_the_zeros_vanish():
    """Near T_d the small singular value is lifted as d²: a quarter of it halfway to
    the symmetric frame; within the bound 1.25 t at both points."""
    atoms = _near_td(1e-3)
    soap = dg.SoapPowerSpectrum()
    (result,) = dg.analyse_frames([atoms], soap)
    near = dg.near_symmetry(atoms, result.singular_values, soap)
    assert near is not None and near.n_forced >= 1
    np.testing.assert_allclose(near.ratios[0], 0.25, rtol=0.1)
    assert all(r <= 1.25 * t for r, t in zip(near.ratios, (0.5, 0.25), strict=True))
    assert dg.near_symmetry(atoms, result.singular_values, soap, zero_rtol=1e-9) is None


def test_a0_is_a_zero_of_its_own_not_of_a_nearby_symmetry():
    """The Comment's A0 has no symmetric frame within reach, and one found farther away
    does not explain its zero: s_min rises by orders of magnitude on the way there."""
    atoms = dg.environment_from_neighbors(published_a0())
    soap = dg.SoapPowerSpectrum()
    (result,) = dg.analyse_frames([atoms], soap)
    assert result.verdict == "spurious" and result.near_symmetry_distance is None
    near = dg.near_symmetry(atoms, result.singular_values, soap, reach=1.0)
    assert near is None


def test_an_exact_zero_is_not_a_lifted_one():
    """The radial-only ACSF is blind to the cone angle everywhere: a zero at round-off at
    the frame itself, which no nearby symmetry lifts."""
    exact = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in C3V_SHAPE])
    atoms = dg.environment_from_neighbors(exact + 3e-3)
    representation = _radial_only_acsf()
    (result,) = dg.analyse_frames([atoms], representation)
    assert dg.near_symmetry(atoms, result.singular_values, representation) is None


def _fold_near_cs(delta: float, eps: float) -> np.ndarray:
    """A fold of ν = 2 degenerate pairs (H4's y = 0; ``eps`` off it) built ``delta`` from a
    mirror-symmetric shape (the y = 0 plane at ``delta`` = 0)."""
    b, tilt, azimuth = 1.09, np.radians(50), np.radians(100)
    xy = np.sqrt(b**2 - delta**2)
    return np.array(
        [
            [b * np.sin(tilt), 0, b * np.cos(tilt)],
            [xy * np.cos(azimuth), xy * np.sin(azimuth), delta],
            [xy * np.cos(azimuth), -xy * np.sin(azimuth), -delta],
            [-b, eps, 0.0],
        ]
    )


@pytest.mark.parametrize("delta", [3e-3, 1e-2])
def test_a_fold_beside_a_mirror_stays_spurious(delta):
    """helper-54's counterexample: 1e-7 Å from a fold made a few mÅ from a Cs shape, the
    straight path to the Cs frame scales the fold distance too (s(t) = t s(1), as a
    forced zero lifted at first order); the exact, non-symmetric zero 1e-7 Å away keeps
    the verdict spurious."""
    atoms = dg.environment_from_neighbors(_fold_near_cs(delta, 1e-7))
    (result,) = dg.analyse_frames([atoms], dg.SoapPowerSpectrum())
    values = result.singular_values
    assert values[-1] < ZERO_RTOL * values[0] and not result.symmetric
    assert result.verdict == "spurious" and result.near_symmetry_distance is None
    assert result.pair_swap == "H2-H4 = H3-H4"


def test_a_repeated_symmetric_frame_does_not_use_up_a_try(monkeypatch):
    """10 mÅ from an fcc shell, two operation sets that generate the same group average
    to symmetric frames ~1e-5 Å apart (0.0058 d at most, docs/concepts.md): taken for two
    frames (the old test of the frames to 1e-6 Å), they used up the tries before O_h's
    own was reached, and the verdict stayed spurious (helper-55; the OM frame there, too,
    but its eigenvalues are degenerate at the shell, a kink). The groups are compared now.
    """
    noise = np.random.default_rng(0).standard_normal((12, 3))
    noise *= 0.01 / np.sqrt(np.mean(np.sum(noise**2, axis=1)))
    neighbors = fcc_shell(1.3) + noise
    atoms = dg.environment_from_neighbors(neighbors, "CuCu12")
    representation = dg.Acsf(center="Cu", neighbors=["Cu"])
    (result,) = dg.analyse_frames([atoms], representation)
    assert result.verdict == "near-symmetry"
    assert result.near_symmetry_distance == pytest.approx(0.0079, abs=1e-4)

    def frames_within_1e_6(operations, seen):  # the rule before
        symmetric, _ = sensitivity.symmetrized(neighbors, operations)
        return any(np.abs(symmetric - other).max() < 1e-6 for other in seen)

    monkeypatch.setattr(near_symmetric, "_seen_before", frames_within_1e_6)
    (before,) = dg.analyse_frames([atoms], representation)
    assert before.verdict == "spurious"


def test_seen_before_compares_groups_not_frames():
    """Near an fcc shell, a larger set of operations that generates a group already seen
    gives a symmetric frame more than 1e-6 Å from that group's: it still counts as seen."""
    noise = np.random.default_rng(0).standard_normal((12, 3))
    noise *= 0.01 / np.sqrt(np.mean(np.sum(noise**2, axis=1)))
    neighbors = fcc_shell(1.3) + noise
    identity = tuple(range(12))
    near = sorted(
        (
            op
            for op in sensitivity.candidate_superpositions(neighbors, neighbors)
            if op.residual <= sensitivity.NEAR_SYMMETRY_REACH
            and not (op.proper and op.permutation == identity)
        ),
        key=lambda op: op.residual,
    )
    seen = []
    for size in range(1, len(near) + 1):
        symmetric, exact = sensitivity.symmetrized(neighbors, near[:size])
        if max(op.residual for op in exact) > 1e-10:
            continue
        if near_symmetric._seen_before(near[:size], seen):
            if min(np.abs(symmetric - other).max() for other in seen) > 1e-6:
                break
        else:
            seen.append(symmetric)
    else:
        pytest.fail("no repeated group more than 1e-6 Å from its first frame")
    same = dg.point_symmetry(symmetric, tol=1e-7).operations
    assert not near_symmetric._seen_before(near[:size], [])
    assert any(
        {(op.permutation, op.proper) for op in same}
        == {(op.permutation, op.proper) for op in dg.point_symmetry(other, tol=1e-7).operations}
        for other in seen
    )


#: H4 of helper-55's fold, along x at b cos(170°) (x, y in units of b).
_HELPER_55_H4 = (np.cos(np.radians(170)), 0.0)


def _rounded_fold(delta, tilt, azimuth, seed, h4=_HELPER_55_H4):
    """A fold of ν = 2 degenerate pairs ``delta`` Å from a Cs shape (the y = 0 plane),
    rotated at random (``seed``) and rounded to 1e-5 Å, and the exact fold."""
    b = 1.09
    tilt, azimuth, xy = np.radians(tilt), np.radians(azimuth), np.sqrt(b**2 - delta**2)
    fold = np.array(
        [
            [b * np.sin(tilt), 0, b * np.cos(tilt)],
            [xy * np.cos(azimuth), xy * np.sin(azimuth), delta],
            [xy * np.cos(azimuth), -xy * np.sin(azimuth), -delta],
            [b * h4[0], b * h4[1], 0.0],
        ]
    )
    rotated = fold @ Rotation.random(random_state=seed).as_matrix().T
    return np.round(rotated, 5), rotated


@pytest.mark.parametrize(
    ("representation", "fold"),
    [
        (dg.Acsf(), (5e-3, 60, 110, 100)),  # helper-55's counterexample
        (dg.Acsf(), (1e-2, 70, 100, 100, (-1.0, 0.0))),
        (dg.SoapPowerSpectrum(), (5e-3, 70, 100, 101, (-1.0, 0.0))),
    ],
    ids=["acsf-helper-55", "acsf", "soap"],
)
def test_a_rounded_fold_beside_a_mirror_stays_spurious(representation, fold):
    """Folds a few mÅ from Cs, rounded to 1e-5 Å: their zero passes the path test to the
    Cs frame, and the guard's find_singular search converges to another zero 0.3–0.5 d
    away (or to none), not to the fold ~5e-6 Å away: the Newton search on (s_min/s1)² finds
    it (the known leak of docs/concepts.md until 2026-12-05)."""
    neighbors, exact = _rounded_fold(*fold)
    (at_fold,) = dg.analyse_frames([dg.environment_from_neighbors(exact)], representation)
    assert at_fold.verdict == "spurious" and at_fold.cn > 1e13  # the fold itself
    atoms = dg.environment_from_neighbors(neighbors)
    (result,) = dg.analyse_frames([atoms], representation)
    assert result.verdict == "spurious" and result.near_symmetry_distance is None
    assert result.cn < 1e8  # a zero 5e-6 Å from an exact one, lifted by the rounding


def test_the_newton_search_finds_a_fold_but_no_zero_near_td():
    """The Newton stage alone: from the rounded fold it reaches 1000 × the CN within a
    tenth of the distance to the Cs frame; from frames 2.6 and 5.2 mÅ from T_d (zeros lifted as
    d²) its first step gains less than NEWTON_ZERO_FIRST_GAIN and it gives up."""
    acsf = dg.Acsf()
    neighbors, _ = _rounded_fold(5e-3, 60, 110, 100)
    atoms = dg.environment_from_neighbors(neighbors)
    (result,) = dg.analyse_frames([atoms], acsf)
    values = result.singular_values
    target = 1e3 * values[0] / values[-1]
    assert near_symmetric._newton_zero_within(atoms, acsf, 1.1e-4, target)  # 0.1 × 1.1 mÅ
    for distance in (1e-3, 2e-3):
        near_td = _near_td(distance)
        (lifted,) = dg.analyse_frames([near_td], acsf)
        assert lifted.verdict == "near-symmetry"
        cn_target = 1e3 * lifted.cn
        radius = 0.1 * lifted.near_symmetry_distance
        assert not near_symmetric._newton_zero_within(near_td, acsf, radius, cn_target)


def test_the_newton_search_is_skipped_for_large_environments(monkeypatch):
    """Beyond NEWTON_ZERO_NEIGHBORS neighbours the Hessian is too dear: near an fcc shell
    (12 neighbours) the verdict is the find_singular search's alone."""
    calls = []
    monkeypatch.setattr(near_symmetric, "_newton_zero_within", lambda *args: calls.append(1))
    noise = np.random.default_rng(0).standard_normal((12, 3))
    noise *= 0.01 / np.sqrt(np.mean(np.sum(noise**2, axis=1)))
    atoms = dg.environment_from_neighbors(fcc_shell(1.3) + noise, "CuCu12")
    (result,) = dg.analyse_frames([atoms], dg.Acsf(center="Cu", neighbors=["Cu"]))
    assert result.verdict == "near-symmetry" and calls == []


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"reach": -0.1}, "reach must be a positive number, got -0.1"),
        ({"reach": "far"}, "reach must be a number, got 'far'"),
        ({"zero_rtol": 2.0}, "zero_rtol must be smaller than 1.0, got 2.0"),
    ],
)
def test_near_symmetry_names_a_bad_argument(keywords, message):
    atoms = _near_td(1e-3)
    values = np.linspace(2.0, 1e-7, 9)
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.near_symmetry(atoms, values, dg.SoapPowerSpectrum(), **keywords)


def test_unseen_response_is_the_root_of_the_zero():
    """The weights explain a zero s when their response factor is at most √(s/s1): they
    account for at least half of its smallness; round-off counts as (3N − 3) ε s1."""
    assert sensitivity.unseen_response([2.0, 1.0, 2e-8]) == pytest.approx(1e-4, rel=1e-12)
    floor = np.sqrt(3 * np.finfo(float).eps)
    assert sensitivity.unseen_response([1.0, 0.5, 0.0]) == pytest.approx(floor, rel=1e-12)
    assert sensitivity.unseen_response([0.0, 0.0, 0.0]) == 0.0  # blind to everything
    with pytest.raises(dg.DegeneracyError, match=r"unseen_response takes one frame's"):
        sensitivity.unseen_response(np.ones((2, 3)))


def test_soap_has_no_weighed_out_pairs():
    """A hard cutoff: SOAP names no unseen pairs, with or without a spectrum."""
    neighbors = np.array([[2.49, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    soap = dg.SoapPowerSpectrum()
    for values in (None, np.array([1.0, 1e-7, 1e-12])):
        assert sensitivity.unseen_pairs_of(soap, neighbors, values) == []


def test_weighed_out_pairs_follow_the_size_of_the_zero():
    """With a spectrum the OM's pairs of H1 (weight 6.4e-05 at 2.49 Å, response c² = 4e-9)
    are named for a zero of s/s1 ≥ c⁴ = 1.6e-17, i.e. any; H1 at 2.3 Å (c² = 5.6e-4)
    only for one of s/s1 ≥ 3.1e-7. Without one, the fixed weight 1e-5 decides."""
    om = dg.OverlapMatrix()
    near = np.array([[2.49, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    h1 = [(0, 1), (0, 2), (0, 3)]
    assert sensitivity.unseen_pairs_of(om, near) == []  # 6.4e-05 > 1e-5
    assert sensitivity.unseen_pairs_of(om, near, np.array([1.0, 0.5, 1e-12])) == h1
    far = near * np.array([[2.3 / 2.49], [1], [1], [1]])
    assert sensitivity.unseen_pairs_of(om, far, np.array([1.0, 0.5, 2e-7])) == []
    assert sensitivity.unseen_pairs_of(om, far, np.array([1.0, 0.5, 4e-7])) == h1


# --------------------------------------------------------------------------------------
# Kinks: a fingerprint without a Jacobian at the frame gets the verdict "kink"


@pytest.mark.parametrize(
    "representation",
    [dg.SoapPowerSpectrum(), dg.Bispectrum(), dg.Acsf()],
    ids=["soap", "bispectrum", "acsf"],
)
def test_smooth_fingerprints_keep_the_symmetry_verdict_at_td(representation):
    """No ``kinks`` hook: T_d is still `symmetry`, its zeros those the symmetry forces."""
    td = dg.builtin_environment("td")
    assert not hasattr(representation, "kinks")
    assert sensitivity.kinks_of(representation, [td]).tolist() == [False]
    [result] = dg.analyse_frames([td], representation)
    assert result.symmetric and result.verdict == "symmetry" and np.isinf(result.cn)


def test_a_kink_comes_before_every_other_verdict():
    values = np.r_[1.0, 0.5, 0.2, 0.1]
    assert dg.zero_verdict(values, 0) == "regular"
    assert dg.zero_verdict(values, 0, kink=True) == "kink"
    assert dg.zero_verdict(np.r_[1.0, np.zeros(3)], 3, kink=True) == "kink"  # not symmetry
    assert dg.zero_verdict(np.r_[1.0, np.zeros(3)], 0, kink=True) == "kink"  # not spurious
    assert dg.zero_verdict(np.r_[1.0, 0.5, np.zeros(2)], 0, n_features=2, kink=True) == "kink"
    assert dg.zero_verdict(np.zeros(4), 0, kink=True) == "kink"
    with pytest.raises(dg.DegeneracyError):  # the values are still checked
        dg.zero_verdict(np.zeros((2, 4)), 0, kink=True)
    assert sensitivity.explained_verdict("kink", None, None) == sensitivity.KINK_TEXT
    assert sensitivity.KINK_TEXT.startswith("kink: ")


class _KinkedSoap(dg.SoapPowerSpectrum):
    """SOAP that says it has no Jacobian at the frames marked ``info["kinked"]``."""

    def kinks(self, frames):
        return np.array([bool(atoms.info.get("kinked")) for atoms in frames])


def test_the_kinks_hook_sets_the_verdict_of_any_fingerprint():
    frames = [dg.builtin_environment("pg-start"), dg.builtin_environment("td")]
    frames[1].info["kinked"] = True
    representation = _KinkedSoap()
    assert sensitivity.kinks_of(representation, frames).tolist() == [False, True]
    assert [r.verdict for r in dg.analyse_frames(frames, representation)] == ["regular", "kink"]
    neighbors = dg.neighbor_positions(frames[1])
    symmetry = dg.point_symmetry(neighbors, frames[1].numbers[1:])
    _, jacobian = representation.jacobian(frames[1:])
    spectrum = dg.singular_spectrum(jacobian, neighbors[None])
    args = (frames[1], spectrum.values[0], spectrum.motions[0], symmetry, representation)
    n_features = jacobian.shape[1]
    assert sensitivity.classify_zeros(*args, n_features=n_features).verdict == "kink"
    told = sensitivity.classify_zeros(*args, n_features=n_features, kink=False)
    assert told.verdict == "symmetry"  # the caller's answer for a batch is taken as given


def _degeneracy_warnings(frames, representation, **options):
    """analyse_frames' results and the texts of every DegeneracyWarning it issued (each
    time, not once per text)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = dg.analyse_frames(frames, representation, **options)
    texts = [str(w.message) for w in caught if issubclass(w.category, dg.DegeneracyWarning)]
    return results, texts


def test_the_om_kink_warning_names_the_frame_of_the_call_not_of_its_batch():
    """analyse_frames computes 500 frames per Jacobian call, and the OM warned about the
    first batch with a kink in its own terms: frames 550 and 590 were "2 of 100 frames
    (first: frame 50 of this call", a frame of the second batch, not of the call."""
    frames = dg.sample_methane(600, seed=1)
    frames[550] = dg.builtin_environment("td")
    frames[590] = dg.builtin_environment("td")
    results, texts = _degeneracy_warnings(frames, dg.OverlapMatrix())
    assert [r.frame for r in results if r.verdict == "kink"] == [550, 590]
    (text,) = texts
    assert text.startswith(
        "om degenerate eigenvalues: 2 of 600 frames (first: frame 550 of this call, relative"
    )


def test_the_om_kink_warning_counts_the_kinks_of_every_batch():
    """The OM warned once per instance, about its first batch with a kink: those of later
    batches were never counted ("1 of 2 frames", then nothing)."""
    frames = dg.sample_methane(6, seed=1)
    frames[1] = dg.builtin_environment("td")
    frames[4] = dg.builtin_environment("td")
    results, texts = _degeneracy_warnings(frames, dg.OverlapMatrix(), batch_size=2)
    assert [r.frame for r in results if r.verdict == "kink"] == [1, 4]
    (text,) = texts
    assert text.startswith("om degenerate eigenvalues: 2 of 6 frames (first: frame 1 of")
    _, none = _degeneracy_warnings(dg.sample_methane(6, seed=1), dg.OverlapMatrix(), batch_size=2)
    assert none == []


@pytest.mark.parametrize(
    "answer", [[True], np.array([1, 0]), np.array([[True, False]]), np.array([0.0, 1.0])]
)
def test_a_kinks_hook_of_the_wrong_shape_is_refused(answer):
    class Odd(dg.SoapPowerSpectrum):
        def kinks(self, frames):
            return answer

    frames = dg.sample_methane(2, seed=1)
    with pytest.raises(dg.DegeneracyError, match=r"kinks\(frames\) must return one bool per"):
        sensitivity.kinks_of(Odd(n_max=2, l_max=2), frames)


def test_a_frame_s_anchored_search_is_done_once(monkeypatch):
    """A verdict searched a large frame's symmetries in point_symmetry and again in
    near_symmetry (helper-161: a third of the verdict's time): the operations of the
    latest frames are kept, shared read-only, and another frame is searched anew."""
    from degeneracy.sensitivity import symmetry

    monkeypatch.setattr(symmetry, "_SEARCHED", symmetry.KeptResults(4))
    searches = counted_calls(monkeypatch, symmetry, "_anchored_search")
    shell = np.array([p for p in itertools.product((-1.0, 0.0, 1.0), repeat=3)
                      if sum(abs(x) for x in p) == 2]) * 1.8  # fmt: skip
    first = anchored_superpositions(shell, shell)
    first.clear()  # the caller's list: the kept operations are unchanged
    again = anchored_superpositions(shell.copy(), shell.copy())
    assert len(searches) == 1
    assert sum(op.residual < 1e-9 for op in again) == 48  # O_h of the fcc shell
    assert all(not op.rotation.flags.writeable for op in again)
    moved = shell.copy()
    moved[0] += 1e-3
    anchored_superpositions(moved, moved)
    assert len(searches) == 2
