"""``superpositions(within=)`` builds only the operations a symmetry test can use, and
gives the same symmetry verdicts as the full list; the lower bounds that let it skip
permutations never exceed a residual."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fcc_shell

import degeneracy as dg
from degeneracy.sensitivity import best_superposition, equal_species_permutations, superpositions
from degeneracy.sensitivity.symmetry import superposition_lower_bounds


def _cube(distortion: float, seed: int) -> np.ndarray:
    """Seven corners of a cube (C3v: 5040 permutations, 10 080 operations), distorted."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)[1:]
    noise = np.random.default_rng(seed).standard_normal(corners.shape)
    return corners * 1.3 / np.sqrt(3) + distortion * noise


def _full_cube(distortion: float, seed: int) -> np.ndarray:
    """The eight corners of a cube (a bcc site: 40 320 permutations), distorted."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    noise = np.random.default_rng(seed).standard_normal(corners.shape)
    return corners * 2.48 / np.sqrt(3) + distortion * noise


def _key(op) -> tuple:
    return op.permutation, op.proper, round(op.residual, 12)


@pytest.mark.parametrize("within", [0.0, 0.3])
@pytest.mark.parametrize(("distortion", "seed"), [(0.0, 0), (0.01, 1), (0.2, 2)])
def test_within_keeps_the_operations_inside_and_the_best_of_each_handedness(
    within, distortion, seed
):
    neighbors = _cube(distortion, seed)
    every = superpositions(neighbors, neighbors)
    kept = superpositions(neighbors, neighbors, within=within)
    identity = tuple(range(len(neighbors)))
    expected = {_key(op) for op in every if op.residual <= within}
    for proper in (True, False):
        others = [op for op in every if op.proper == proper and op.permutation != identity]
        expected.add(_key(min(others, key=lambda op: op.residual)))
    assert {_key(op) for op in kept} == expected
    assert len(kept) < len(every) // 50
    position = {_key(op): k for k, op in enumerate(every)}
    order = [position[_key(op)] for op in kept]
    assert order == sorted(order)  # the same order as the full list


@pytest.mark.parametrize(("distortion", "seed"), [(0.0, 0), (5e-4, 3), (0.01, 1), (0.2, 2)])
def test_point_symmetry_is_that_of_every_operation(distortion, seed, monkeypatch):
    """The verdict, its best operation and the forced zeros, with and without ``within``."""
    neighbors = _cube(distortion, seed)
    fast = dg.point_symmetry(neighbors)
    full = superpositions(neighbors, neighbors)
    monkeypatch.setattr(
        "degeneracy.sensitivity.symmetry.superpositions",
        lambda reference, other, species=None, within=None: full,
    )
    slow = dg.point_symmetry(neighbors)
    assert (fast.symmetric, fast.n_symmetry_zeros) == (slow.symmetric, slow.n_symmetry_zeros)
    assert fast.residual == slow.residual and _key(fast.best) == _key(slow.best)
    assert [_key(op) for op in fast.operations] == [_key(op) for op in slow.operations]


def test_permutations_are_cached_read_only_and_take_any_sequence():
    first = equal_species_permutations([6, 6, 1])
    assert equal_species_permutations(np.array([6, 6, 1])) is first
    assert first.shape == (2, 3) and not first.flags.writeable
    with pytest.raises(ValueError):
        first[0, 0] = 1


def test_the_fcc_shell_keeps_every_symmetry():
    """12 neighbours go to the anchored search, whatever ``within``."""
    verdict = dg.point_symmetry(fcc_shell())
    assert verdict.symmetric and len(verdict.operations) == 47


def _kept_from_the_full_list(reference, other, species, within) -> set:
    every = superpositions(reference, other, species)
    identity = tuple(range(len(reference)))
    expected = {_key(op) for op in every if op.residual <= within}
    for proper in (True, False):
        others = [op for op in every if op.proper == proper and op.permutation != identity]
        expected.add(_key(min(others, key=lambda op: op.residual)))
    return expected


@pytest.mark.parametrize("within", [1e-3, 0.05])
@pytest.mark.parametrize(("distortion", "seed"), [(0.0, 0), (0.005, 4), (0.05, 5), (0.4, 6)])
def test_eight_equal_neighbours_skip_permutations_and_keep_the_same(within, distortion, seed):
    """A bcc site: the bounds leave out nearly every permutation, none that counts."""
    neighbors = _full_cube(distortion, seed)
    kept = superpositions(neighbors, neighbors, within=within)
    assert {_key(op) for op in kept} == _kept_from_the_full_list(neighbors, neighbors, None, within)
    keys = [(op.proper, op.permutation) for op in kept]
    assert keys == sorted(keys, key=lambda k: (not k[0], k[1]))  # the full list's order


def test_two_species_skip_permutations_and_keep_the_same():
    """Four and four neighbours of two species on a distorted cube (576 permutations)."""
    neighbors = _full_cube(0.02, 7)
    species = [1, 8, 8, 1, 8, 1, 1, 8]
    kept = superpositions(neighbors, neighbors, species, within=0.05)
    assert {_key(op) for op in kept} == _kept_from_the_full_list(
        neighbors, neighbors, species, 0.05
    )


@pytest.mark.parametrize("seed", range(4))
def test_lower_bounds_never_exceed_a_residual(seed):
    """Random pairs of environments, equal and not, one and two species."""
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(7, 3)) * 1.5
    for other in (
        reference,
        reference + rng.normal(scale=0.1, size=(7, 3)),
        rng.normal(size=(7, 3)),
    ):
        for species in (None, [1, 1, 6, 6, 6, 1, 8]):
            permutations = equal_species_permutations(species or [0] * 7)
            bounds = superposition_lower_bounds(reference, other, permutations)
            residuals = {
                op.permutation: op.residual
                for op in superpositions(reference, other, species)
                if op.proper
            }
            improper = {
                op.permutation: op.residual
                for op in superpositions(reference, other, species)
                if not op.proper
            }
            for permutation, bound in zip(permutations.tolist(), bounds, strict=True):
                least = min(residuals[tuple(permutation)], improper[tuple(permutation)])
                assert bound <= least


def test_the_bounds_of_a_rattled_bcc_site_leave_its_48_operations():
    """Only the permutations of O_h's operations come within 0.05 Å; the rest are
    excluded by a mismatched distance, which is why the search is fast."""
    neighbors = _full_cube(0.005, 8)
    bounds = superposition_lower_bounds(neighbors, neighbors, equal_species_permutations([26] * 8))
    assert (bounds < 0.05).sum() == 48
    assert np.sort(bounds)[48] > 0.25  # an edge for a face diagonal: 1.2 Å / 4


@pytest.mark.parametrize("seed", range(3))
def test_the_best_superposition_is_that_of_the_full_list(seed):
    """Two environments, congruent (a rotated, reflected, relabelled copy) or not: the
    bounded search finds the full list's best operation, identity included."""
    rng = np.random.default_rng(seed)
    reference = _full_cube(0.05, seed)
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    copies = {
        "congruent": reference[rng.permutation(8)] @ rotation.T,
        "displaced": reference + rng.normal(scale=0.03, size=(8, 3)),
        "other": _full_cube(0.3, seed + 10),
        "itself": reference,
    }
    for name, other in copies.items():
        full = min(superpositions(reference, other), key=lambda op: op.residual)
        best = best_superposition(reference, other)
        assert _key(best) == _key(full), name
    assert best_superposition(reference, copies["congruent"]).residual < 1e-12
