"""``superpositions(within=)`` builds only the operations a symmetry test can use, and
gives the same symmetry verdicts as the full list."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fcc_shell

import degeneracy as dg
from degeneracy.sensitivity import equal_species_permutations, superpositions


def _cube(distortion: float, seed: int) -> np.ndarray:
    """Seven corners of a cube (C3v: 5040 permutations, 10 080 operations), distorted."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)[1:]
    noise = np.random.default_rng(seed).standard_normal(corners.shape)
    return corners * 1.3 / np.sqrt(3) + distortion * noise


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
