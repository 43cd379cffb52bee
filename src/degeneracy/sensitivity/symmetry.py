r"""Point symmetry of an environment and the zeros it forces.

A small :math:`s_k` is *physical* when the environment is mapped onto itself by a point
operation :math:`g` (proper or improper rotation :math:`R` plus a permutation
:math:`\pi` of equal neighbours): differentiating :math:`x(g\,r) = x(r)` at the fixed
point gives :math:`J (G - I) = 0`, so every direction in :math:`\mathrm{range}(G - I)`
is a zero of :math:`J`. :func:`point_symmetry` finds the operations and the dimension of
the null space they force; a zero beyond that is *spurious*, a defect of the fingerprint.

The operations come from superposing the environment onto itself: every permutation of
equal neighbours with the best proper and improper rotation (Kabsch,
:func:`superpositions`), or, beyond :data:`MAX_PERMUTATIONS` permutations, one candidate
per image of an anchor pair (:func:`anchored_superpositions`). Operations found within a
tolerance are made exact on the nearby symmetric environment (:func:`symmetrized`)
before the zeros they force are counted (:func:`symmetry_forced_motions`).
:func:`unexplained_zeros` counts, and :func:`free_zero_motions` spans, the zeros along
the motions the symmetry leaves free.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ase
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..checks import number_array, positive_float
from ..errors import DegeneracyError
from ..processes import KeptResults, arrays_digest
from ..species import atomic_number
from ..structures import check_finite_neighbors, neighbor_array, vector_lengths
from .spectrum import ZERO_RTOL, frame_values, rotation_complement, zero_rtol_value

#: Default RMS residual (Å) under which a point operation counts as a symmetry.
SYMMETRY_TOL = 1e-3

#: Most neighbours of one species whose permutations are all enumerated (alone).
MAX_PERMUTED_NEIGHBORS = 8

#: Most permutations of equal neighbours enumerated (8!, ~0.1 s); e.g. 8 H and 8 O would
#: be 8!² = 1.6e9, so the limit is on the product over species, not on one species.
MAX_PERMUTATIONS = math.factorial(MAX_PERMUTED_NEIGHBORS)


@dataclass(frozen=True)
class PointOperation:
    r"""A point operation :math:`p_i \mapsto R\,p_{\pi(i)}` and how well it maps the environment.

    ``residual`` is the RMS over neighbours of :math:`|R\,p_{\pi(i)} - p_i|` (Å).
    """

    permutation: tuple[int, ...]
    rotation: np.ndarray
    residual: float

    @property
    def proper(self) -> bool:
        """True for a proper rotation (det R = +1)."""
        return bool(np.linalg.det(self.rotation) > 0)

    def matrix(self) -> np.ndarray:
        """Its linear action G on the 3N neighbour coordinates: (G v)_i = R v_π(i)."""
        n = len(self.permutation)
        permutation = np.zeros((n, n))
        permutation[np.arange(n), self.permutation] = 1.0
        return np.kron(permutation, self.rotation)


@dataclass(frozen=True)
class SymmetryVerdict:
    """Result of :func:`point_symmetry`.

    Attributes
    ----------
    residual : float
        Smallest RMS residual (Å) over all operations except the identity.
    best : PointOperation
        The operation reaching it.
    symmetric : bool
        Whether ``residual < tol``.
    operations : list of PointOperation
        All non-identity operations with residual below ``tol``.
    n_symmetry_zeros : int
        Dimension of the zero space these operations force on the purified Jacobian of
        any invariant fingerprint.
    forced_motions : array (3N, n_symmetry_zeros) or None
        Orthonormal basis of that zero space: Cartesian neighbour motions (centre fixed,
        orthogonal to rotations, at the symmetrised environment) along which every
        invariant fingerprint is stationary. None without a symmetry.
    """

    residual: float
    best: PointOperation
    symmetric: bool
    operations: list[PointOperation] = field(default_factory=list)
    n_symmetry_zeros: int = 0
    forced_motions: np.ndarray | None = None


def permutation_count(species: Sequence[int]) -> int:
    """Number of permutations that only exchange neighbours of the same species."""
    counts = np.unique(np.asarray(species), return_counts=True)[1]
    return math.prod(math.factorial(int(c)) for c in counts)


def equal_species_permutations(species: Sequence[int]) -> np.ndarray:
    """All permutations that only exchange neighbours of the same species, (n_perm, N),
    read-only (cached by species: 40 320 rows for 8 equal neighbours take 0.16 s)."""
    return _equal_species_permutations(tuple(int(z) for z in species))


@functools.lru_cache(maxsize=16)
def _equal_species_permutations(species: tuple[int, ...]) -> np.ndarray:
    species = list(species)
    groups: dict[int, list[int]] = {}
    for index, z in enumerate(species):
        groups.setdefault(z, []).append(index)
    count = permutation_count(species)
    if count > MAX_PERMUTATIONS:
        sizes = " + ".join(str(len(g)) for g in groups.values())
        raise DegeneracyError(
            f"symmetry test enumerates permutations: at most {MAX_PERMUTATIONS} "
            f"({MAX_PERMUTED_NEIGHBORS}!), got {count:.3g} for {sizes} equal neighbours"
        )
    per_group = [list(itertools.permutations(g)) for g in groups.values()]
    result = []
    for choice in itertools.product(*per_group):
        permutation = np.arange(len(species))
        for group, image in zip(groups.values(), choice, strict=True):
            permutation[group] = image
        result.append(permutation)
    permutations = np.array(result)
    permutations.setflags(write=False)
    return permutations


def best_orthogonal(targets: np.ndarray, sources: np.ndarray, proper: bool) -> np.ndarray:
    """Kabsch: R (det +1 if ``proper`` else −1) minimising Σ|R s_i − t_i|², batched."""
    covariance = np.einsum("...ia,...ib->...ab", targets, sources)
    u, _, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0, 1.0, sign) * (1.0 if proper else -1.0)
    diagonal = np.ones((*covariance.shape[:-2], 3))
    diagonal[..., 2] = sign
    return (u * diagonal[..., None, :]) @ vt


def _rms_distance(mapped: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """RMS over neighbours of |mapped_i − reference_i| (Å), over the last two axes (N, 3)."""
    return np.sqrt(np.mean(np.sum((mapped - reference) ** 2, axis=-1), axis=-1))


def _superposable(
    reference: np.ndarray, other: np.ndarray, species: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both environments as float arrays (N, 3) of one shape, and the species (all 0 if
    None), refused as :func:`~degeneracy.structures.neighbor_array` and
    :func:`_neighbor_species` say (an ase.Atoms, a batch, NaN, N species for M ≠ N)."""
    reference = neighbor_array(reference, "superposition (reference)")
    other = neighbor_array(other, "superposition (other)")
    if reference.shape != other.shape:
        raise DegeneracyError(
            f"cannot superpose environments of shapes {reference.shape} and {other.shape}"
        )
    return reference, other, _neighbor_species(reference, species, "superposition")


def superpositions(
    reference: np.ndarray,
    other: np.ndarray,
    species: Sequence[int] | None = None,
    *,
    within: float | None = None,
) -> list[PointOperation]:
    r"""Best superposition of ``other`` onto ``reference`` for every permutation.

    For each permutation :math:`\pi` of equal neighbours, the best proper and the best
    improper rotation :math:`R` (Kabsch) of :math:`p_i \mapsto R\,b_{\pi(i)}` onto
    :math:`a_i`, with its RMS residual. Both arguments are neighbour positions (N, 3)
    relative to the centre.

    With ``within`` (Å), only the operations of residual at most ``within`` and, of each
    handedness, the one of least residual other than the proper identity (the candidates
    of a symmetry when ``other`` is ``reference``), in the same order. Only permutations
    whose lower bound (:func:`superposition_lower_bounds`) does not exclude them are
    superposed, in order of that bound, until it passes ``within`` and both best
    residuals: for 8 equal neighbours the 80 640 operations cost 0.3 s to superpose and
    build, a bcc or cube site ~0.03 s this way, with the same result.
    """
    reference, other, species = _superposable(reference, other, species)
    permutations = equal_species_permutations(species)
    if within is None:
        superposed = {
            proper: _superposed(reference, other[permutations], proper) for proper in (True, False)
        }
    else:
        chosen, superposed = _unexcluded_superpositions(reference, other, permutations, within)
        permutations = permutations[chosen]
    identity = np.all(permutations == np.arange(permutations.shape[1]), axis=1)
    operations = []
    for proper in (True, False):
        rotations, residuals = superposed[proper]
        keep = np.arange(len(permutations))
        if within is not None:
            others = np.where(identity, np.inf, residuals) if proper else residuals
            keep = np.union1d(np.flatnonzero(residuals <= within), [np.argmin(others)])
        operations.extend(  # lists, not numpy scalars: thousands of them
            PointOperation(tuple(permutation), rotation, residual)
            for permutation, rotation, residual in zip(
                permutations[keep].tolist(), rotations[keep], residuals[keep].tolist(), strict=True
            )
        )
    return operations


def _superposed(
    reference: np.ndarray, sources: np.ndarray, proper: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Best rotations (n, 3, 3) of one handedness of each of ``sources`` (n, N, 3) onto
    ``reference`` (N, 3), and their RMS residuals (n,)."""
    rotations = best_orthogonal(reference[None], sources, proper)
    mapped = np.einsum("pab,pib->pia", rotations, sources)
    return rotations, _rms_distance(mapped, reference)


def superposition_lower_bounds(
    reference: np.ndarray, other: np.ndarray, permutations: np.ndarray
) -> np.ndarray:
    r"""Lower bounds of the RMS residual of superposing ``other`` onto ``reference``, per
    permutation (n_perm,), without superposing.

    An orthogonal :math:`R` keeps lengths, so with :math:`e_i = |R\,b_{\pi(i)} - a_i|`,
    :math:`e_i \ge \rho_i = \big||b_{\pi(i)}| - |a_i|\big|` and
    :math:`e_i + e_j \ge \delta_{ij} = \big||b_{\pi(i)} - b_{\pi(j)}| - |a_i - a_j|\big|`,
    so :math:`e_i^2 + e_j^2 \ge \max(\rho_i^2 + \rho_j^2, \delta_{ij}^2 / 2)` and

    .. math:: \frac{1}{N}\sum_k e_k^2 \ge \frac{1}{N}\Big(\sum_k \rho_k^2
        + \max_{ij}\big(\delta_{ij}^2/2 - \rho_i^2 - \rho_j^2\big)^+\Big).

    Lowered by a relative 1e-9 and 1e-12 Å against round-off. A wrong permutation of a
    near-symmetric shell mismatches some distance by a fraction of an ångström, so it is
    excluded without a 3×3 SVD. Hand-written: a bound for the permutation search of a
    point-group test is in no library we use.
    """
    n = len(reference)
    radial = (vector_lengths(other)[permutations] - vector_lengths(reference)) ** 2  # ρ_i²
    first, second = np.triu_indices(n, k=1)
    distances = vector_lengths(reference[first] - reference[second])
    other_distances = vector_lengths(other[:, None] - other[None]).ravel()
    gain = np.zeros(len(permutations))  # max over pairs of δ_ij²/2 − ρ_i² − ρ_j²
    chunk = max(1, 2**20 // max(len(first), 1))  # ~8 MB of gathered distances at a time
    for start in range(0, len(permutations) if len(first) else 0, chunk):
        p, rho = permutations[start : start + chunk], radial[start : start + chunk]
        mismatch = np.take(other_distances, p[:, first] * n + p[:, second]) - distances
        excess = mismatch**2 / 2 - rho[:, first] - rho[:, second]
        gain[start : start + chunk] = excess.max(axis=1)
    bound = np.sqrt((radial.sum(axis=1) + np.maximum(gain, 0.0)) / n)
    return bound * (1 - 1e-9) - 1e-12


def _unexcluded_superpositions(
    reference: np.ndarray,
    other: np.ndarray,
    permutations: np.ndarray,
    within: float,
    *,
    symmetry: bool = True,
) -> tuple[np.ndarray, dict[bool, tuple[np.ndarray, np.ndarray]]]:
    """The permutations not excluded by their lower bound (:func:`superposition_lower_bounds`):
    their indices (sorted) and, per handedness (``True``: proper), their superpositions
    (:func:`_superposed`: rotations and RMS residuals, in the same order).

    Superposes in order of the bound, in growing batches, until the next bound exceeds what
    could still be kept, so that none left out could be: with ``symmetry``
    (:func:`superpositions` with ``within``) ``within`` and the best residual of each
    handedness, the proper identity left out; else the best residual of all
    (:func:`best_superposition`)."""
    bounds = superposition_lower_bounds(reference, other, permutations)
    order = np.argsort(bounds, kind="stable")
    identity = np.all(permutations == np.arange(permutations.shape[1]), axis=1) & symmetry
    best = {True: np.inf, False: np.inf}
    batches: dict[bool, list[tuple[np.ndarray, np.ndarray]]] = {True: [], False: []}
    done, size = 0, 64
    while done < len(order):
        chosen = order[done : done + size]
        for proper in (True, False):
            rotations, residuals = _superposed(reference, other[permutations[chosen]], proper)
            batches[proper].append((rotations, residuals))
            candidates = np.where(identity[chosen], np.inf, residuals) if proper else residuals
            best[proper] = min(best[proper], float(candidates.min()))
        done, size = done + len(chosen), 2 * size
        keep = max(within, *best.values()) if symmetry else min(best.values())
        if done < len(order) and bounds[order[done]] > keep:
            break
    by_index = np.argsort(order[:done])
    superposed = {}
    for proper, parts in batches.items():
        rotations = np.concatenate([rotation for rotation, _ in parts])[by_index]
        residuals = np.concatenate([residual for _, residual in parts])[by_index]
        superposed[proper] = (rotations, residuals)
    return order[:done][by_index], superposed


def _orthonormal_frames(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Right-handed orthonormal frames (..., 3, 3), columns e1 ∥ first, e2 in the plane."""
    e1 = first / np.linalg.norm(first, axis=-1, keepdims=True)
    e2 = second - np.sum(second * e1, axis=-1, keepdims=True) * e1
    e2 = e2 / np.linalg.norm(e2, axis=-1, keepdims=True)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def anchored_superpositions(
    reference: np.ndarray,
    other: np.ndarray,
    species: Sequence[int] | None = None,
    *,
    chunk: int = 256,
) -> list[PointOperation]:
    r"""Superpositions of ``other`` onto ``reference``, one per image of an anchor pair.

    For many equal neighbours (more than :data:`MAX_PERMUTATIONS` permutations)
    enumerating them (:func:`superpositions`) is out of reach (12! for an fcc shell). A point
    operation is fixed by the images of two non-collinear neighbours, so with the anchor
    pair :math:`(i, j)` of ``reference`` of largest :math:`|a_i \times a_j|`, every ordered
    pair :math:`(k, l)` of ``other`` of the same species gives two candidates, the proper
    and the improper :math:`R'` with :math:`R' a_i \parallel b_k` and :math:`R' a_j` in the
    plane of :math:`b_k, b_l`. Each :math:`a_n` goes to the nearest :math:`b_m` of its
    species under :math:`R'` (when two go to one, the best one-to-one assignment instead,
    scipy's ``linear_sum_assignment``), giving :math:`\pi`; :math:`R` is then refitted on
    all neighbours (Kabsch, :func:`best_orthogonal`), in the convention of
    :func:`superpositions`: :math:`R\,b_{\pi(n)} \approx a_n`.

    Every exact superposition maps the anchor pair onto some :math:`(k, l)`, so none is
    missed (with ``other = reference``: every symmetry operation); otherwise the
    smallest residual returned bounds the true best (all permutations) from above.
    Hand-written: a permutation-free superposition search is not in ase
    (``ase.spacegroup`` wants a crystal) or scipy (``Rotation.align_vectors`` needs the
    correspondence).
    """
    reference, other, species = _superposable(reference, other, species)
    key = arrays_digest(reference, other, species, np.int64(chunk))
    kept = _SEARCHED.get(key)
    if kept is None:
        kept = _SEARCHED.put(key, tuple(_anchored_search(reference, other, species, chunk)))
    return list(kept)


#: The latest :func:`anchored_superpositions` results (4): a frame's verdict searches its
#: own symmetries in :func:`point_symmetry` and again in
#: :func:`~degeneracy.sensitivity.near_symmetry` (a third of the cost of a large
#: environment's verdict, helper-161; the search grows as N³ in its neighbours).
_SEARCHED = KeptResults(4)


def _anchored_search(
    reference: np.ndarray, other: np.ndarray, species: np.ndarray, chunk: int
) -> list[PointOperation]:
    """:func:`anchored_superpositions` of validated arrays, not looked up."""
    n = len(reference)
    anchor_cross, anchor_spanning = _spanning_pairs(reference)
    if not anchor_spanning.any():
        raise DegeneracyError("neighbours are collinear with the centre: no anchor pair")
    i, j = np.unravel_index(np.argmax(anchor_cross), anchor_cross.shape)
    # image pairs of the anchor's species
    same = (species[:, None] == species[i]) & (species[None] == species[j])
    k, l = np.nonzero(same & _spanning_pairs(other)[1])
    if len(k) == 0:
        raise DegeneracyError(
            "cannot superpose: no pair of the second environment's neighbours spans a plane "
            "with the centre"
        )
    anchor = _orthonormal_frames(reference[i], reference[j])
    images = _orthonormal_frames(other[k], other[l])  # (P, 3, 3)
    mirror = np.diag([1.0, 1.0, -1.0])
    other_species = species[:, None] != species[None]
    found: dict[tuple[tuple[int, ...], bool], PointOperation] = {}
    for proper in (True, False):
        frames = images if proper else images @ mirror
        candidates = frames @ anchor.T  # R' a_i ∥ b_k: (P, 3, 3)
        for start in range(0, len(candidates), chunk):
            moved = np.einsum("pab,nb->pna", candidates[start : start + chunk], reference)
            distance = _pairwise_distances(moved, other)  # (P, N, N)
            distance[:, other_species] = np.inf
            for nearest, cost in zip(np.argmin(distance, axis=-1), distance, strict=True):
                if len(set(nearest.tolist())) < n:  # two go to one: the best one-to-one
                    cost = np.where(np.isfinite(cost), cost, 1e6)
                    nearest = linear_sum_assignment(cost)[1]
                key = (tuple(int(q) for q in nearest), proper)
                if key in found:
                    continue
                sources = other[np.asarray(key[0])]
                rotation = best_orthogonal(reference[None], sources[None], proper)[0]
                residual = float(_rms_distance(sources @ rotation.T, reference))
                rotation.flags.writeable = False  # shared by later look-ups
                found[key] = PointOperation(key[0], rotation, residual)
    return list(found.values())


def _pairwise_distances(moved: np.ndarray, other: np.ndarray) -> np.ndarray:
    """|moved[p, n] − other[m]| (P, N, M), through |x|² + |y|² − 2 x·y (a matrix product):
    the differences' (P, N, M, 3) array cost most of a large environment's search
    (helper-155: 98 neighbours, 18 s). Round-off ~1e-16 of |x|²: an exact image (distance
    0) stays apart from any other neighbour."""
    squared = (
        np.einsum("pna,pna->pn", moved, moved)[:, :, None]
        + np.einsum("ma,ma->m", other, other)[None, None]
        - 2.0 * (moved @ other.T)
    )
    return np.sqrt(np.maximum(squared, 0.0))


def _spanning_pairs(neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|p_i × p_j| (N, N) and which pairs are not collinear with the centre (fix a frame)."""
    lengths = vector_lengths(neighbors)
    cross = vector_lengths(np.cross(neighbors[:, None], neighbors[None]))
    return cross, cross > 1e-8 * np.outer(lengths, lengths)


def candidate_superpositions(
    reference: np.ndarray,
    other: np.ndarray,
    species: Sequence[int] | None = None,
    *,
    within: float | None = None,
) -> list[PointOperation]:
    """Superpositions of ``other`` onto ``reference`` to take the best of.

    Every permutation of equal neighbours (:func:`superpositions`, with ``within``: only
    those within it and the best of each handedness other than the proper identity) up
    to :data:`MAX_PERMUTATIONS` of them, :func:`anchored_superpositions` above (all it
    finds): exact superpositions (and symmetries) are found either way; without one, the
    best residual is exact below the limit and an upper bound above it.
    """
    reference, other, species = _superposable(reference, other, species)
    if permutation_count(species) <= MAX_PERMUTATIONS:
        return superpositions(reference, other, species, within=within)
    return anchored_superpositions(reference, other, species)


def best_superposition(
    reference: np.ndarray, other: np.ndarray, species: Sequence[int] | None = None
) -> PointOperation:
    """The superposition of ``other`` onto ``reference`` of least RMS residual, of either
    handedness, the identity included: the first of :func:`candidate_superpositions`'
    list with that residual, found without superposing the permutations whose lower
    bound (:func:`superposition_lower_bounds`) exceeds it (up to
    :data:`MAX_PERMUTATIONS` of them; above, the best of :func:`anchored_superpositions`,
    an upper bound of the best over all permutations unless the two are congruent)."""
    reference, other, species = _superposable(reference, other, species)
    if permutation_count(species) > MAX_PERMUTATIONS:
        operations = anchored_superpositions(reference, other, species)
    else:
        permutations = equal_species_permutations(species)
        chosen, superposed = _unexcluded_superpositions(
            reference, other, permutations, 0.0, symmetry=False
        )
        operations = []
        for proper in (True, False):
            rotations, residuals = superposed[proper]
            k = int(np.argmin(residuals))
            operations.append(
                PointOperation(
                    tuple(permutations[chosen[k]].tolist()), rotations[k], float(residuals[k])
                )
            )
    return min(operations, key=lambda op: op.residual)


def symmetrized(
    neighbors: np.ndarray, operations: Sequence[PointOperation], *, max_rounds: int = 200
) -> tuple[np.ndarray, list[PointOperation]]:
    r"""The nearby environment that ``operations`` map onto itself exactly, and them there.

    Each round averages the environment over the operations and the identity,

    .. math:: p_i \leftarrow \frac{1}{|F| + 1}\Big(p_i + \sum_{g \in F} R_g\,p_{\pi_g(i)}\Big),

    and refits every :math:`R_g` (Kabsch, same permutation and handedness), until the
    largest residual is below 1e-13 Å (or ``max_rounds``). An operation found within a
    tolerance is only approximately orthogonal to what it should fix: counting the
    zeros it forces from the raw frame lets the residual (up to ``tol``) leak into
    directions that the exact operation leaves alone, so a water molecule 1e-4 Å from
    C2v counted 2 zeros instead of 1.
    """
    positions = np.asarray(neighbors, dtype=float)
    operations = list(operations)
    for _ in range(max_rounds):
        if max(op.residual for op in operations) < 1e-13:
            break
        images = [positions[list(op.permutation)] @ op.rotation.T for op in operations]
        positions = (positions + np.sum(images, axis=0)) / (len(operations) + 1)
        operations = [_refitted(op, positions) for op in operations]
    return positions, operations


def _refitted(operation: PointOperation, positions: np.ndarray) -> PointOperation:
    """``operation``'s permutation and handedness with R refitted on ``positions``."""
    sources = positions[list(operation.permutation)]
    rotation = best_orthogonal(positions[None], sources[None], operation.proper)[0]
    residual = float(_rms_distance(sources @ rotation.T, positions))
    return PointOperation(operation.permutation, rotation, residual)


def _species_per_neighbor(species: Any) -> np.ndarray:
    """One atomic number per neighbour from ``species``: numbers or symbols, one each
    (a string of symbols such as ``"HHHH"`` is not split, and a single number is not
    a list)."""
    if isinstance(species, str | int | np.integer) or not hasattr(species, "__len__"):
        raise DegeneracyError(
            f"point_symmetry: species must be a sequence with one atomic number or symbol "
            f"per neighbour, got {species!r}"
        )
    return np.array([atomic_number(item, name="point_symmetry") for item in species], dtype=int)


def point_symmetry(
    neighbors: np.ndarray, species: Sequence[int] | None = None, *, tol: float = SYMMETRY_TOL
) -> SymmetryVerdict:
    """Find the point operations that map an environment onto itself.

    Every permutation of equal neighbours is tried with the best proper and the best
    improper rotation (:func:`superpositions`); the identity is excluded. With more than
    :data:`MAX_PERMUTATIONS` such permutations the candidates come from
    :func:`anchored_superpositions` instead: every exact symmetry is still found,
    and ``residual`` of an environment without symmetry is the best found (an upper
    bound of the best over all permutations).

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    species : sequence of int, optional
        Neighbour species; all equal if omitted.
    tol : float
        RMS residual (Å) under which an operation counts as a symmetry.

    Returns
    -------
    SymmetryVerdict
        The best operation other than the identity and its residual, the operations
        below ``tol`` and, when there are any, the dimension and a basis of the zero
        space they force (:func:`symmetry_forced_motions`); 0 and None without them.

    Raises
    ------
    DegeneracyError
        When ``tol`` is not a positive number, ``neighbors`` is an :class:`ase.Atoms`,
        not of shape (N, 3) with N ≥ 1 or not finite, ``species`` does not have N
        entries, or the neighbours are collinear with the centre (rotations are then
        degenerate; all at the centre included).
    """
    tol = positive_float("symmetry tolerance", tol)
    if isinstance(neighbors, ase.Atoms):
        raise DegeneracyError(
            "point_symmetry takes neighbour positions (N, 3), e.g. "
            "dg.neighbor_positions(atoms), not an ase.Atoms"
        )
    neighbors = number_array(neighbors, "point_symmetry: neighbour positions")
    n = len(neighbors) if neighbors.ndim else 0
    if species is not None:
        species = _species_per_neighbor(species)
    if not n or neighbors.shape != (n, 3) or (species is not None and len(species) != n):
        n_species = "no" if species is None else len(species)
        raise DegeneracyError(
            f"point_symmetry needs neighbours (N, 3), N ≥ 1, and N species, got shape "
            f"{neighbors.shape} and {n_species} species"
        )
    check_finite_neighbors(neighbors, "point_symmetry")
    identity = tuple(range(n))
    candidates = candidate_superpositions(neighbors, neighbors, species, within=tol)
    # the permutation first: `proper` takes a determinant
    operations = [op for op in candidates if op.permutation != identity or not op.proper]
    best = min(operations, key=lambda op: op.residual)
    found = [op for op in operations if op.residual < tol]
    n_zeros, forced_motions = 0, None
    if found:
        n_zeros, forced_motions = symmetry_forced_motions(neighbors, found)
    return SymmetryVerdict(
        residual=best.residual,
        best=best,
        symmetric=bool(found),
        operations=found,
        n_symmetry_zeros=n_zeros,
        forced_motions=forced_motions,
    )


def symmetry_forced_motions(
    neighbors: np.ndarray, operations: Sequence[PointOperation]
) -> tuple[int, np.ndarray]:
    r"""The motions along which a point symmetry forces every invariant fingerprint to stand still.

    An invariant fingerprint :math:`f(Gx) = f(x)` differentiated at a fixed point
    :math:`Gx = x` gives :math:`J\,(G - 1) = 0`: the Jacobian vanishes on the range of
    :math:`G - 1` for every operation, and on rotations. Projected on the motions
    orthogonal to rotations (:func:`rotation_complement` :math:`O`), the forced zero space
    is the range of :math:`[O^T(G_1 - 1), O^T(G_2 - 1), \dots]`.

    The space is that of the environment :func:`symmetrized` over ``operations`` (each
    found within a tolerance), where they hold exactly. Returns its dimension and an
    orthonormal basis (3N, dim) in Cartesian neighbour coordinates.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    operations : sequence of PointOperation
        The symmetries found (e.g. :attr:`SymmetryVerdict.operations`); none forces
        nothing.

    Returns
    -------
    n_zeros : int
        Dimension of the forced zero space: the number of singular values of the stacked
        :math:`O^T(G_i - 1)` above :math:`10^{-6} \max(\sigma_1, 1)`.
    motions : array (3N, n_zeros)
        Orthonormal basis of that space (unit Cartesian neighbour motions, centre fixed).

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's finite positions (N, 3), an operation
        permutes another number of neighbours, or the symmetrised neighbours are
        collinear with the centre (:func:`rotation_complement`).
    """
    neighbors = neighbor_array(neighbors, "symmetry_forced_motions")
    operations = list(operations)
    for operation in operations:
        if not isinstance(operation, PointOperation):
            raise DegeneracyError(
                f"symmetry_forced_motions takes PointOperation objects (e.g. "
                f"SymmetryVerdict.operations), got {operation!r}"
            )
        if len(operation.permutation) != len(neighbors):
            raise DegeneracyError(
                f"symmetry_forced_motions: an operation on {len(operation.permutation)} "
                f"neighbours for an environment of {len(neighbors)}"
            )
    if not operations:
        return 0, np.zeros((np.size(neighbors), 0))
    symmetric, exact = symmetrized(neighbors, operations)
    complement = rotation_complement(symmetric)
    unit = np.eye(symmetric.size)
    forced = np.hstack([complement.T @ (op.matrix() - unit) for op in exact])
    left, singular, _ = np.linalg.svd(forced, full_matrices=False)
    n_zeros = int((singular > 1e-6 * max(singular[0], 1.0)).sum())
    return n_zeros, complement @ left[:, :n_zeros]


def unexplained_zeros(
    values: np.ndarray,
    motions: np.ndarray,
    forced_motions: np.ndarray | None,
    *,
    zero_rtol: float = ZERO_RTOL,
) -> int:
    r"""How many zero singular values a point symmetry does not force.

    With the purified Jacobian :math:`JO = U S V^T` (``values`` :math:`S`, ``motions``
    the Cartesian :math:`OV`), the fingerprint restricted to the motions :math:`M_\perp`
    orthogonal to the forced ones (``forced_motions``, :func:`symmetry_forced_motions`)
    and to rotations has singular values those of :math:`S\,V^T O^T M_\perp`; those
    below ``zero_rtol`` :math:`s_1` are zeros along motions the symmetry leaves free.
    Counting small values alone cannot tell them apart: near a symmetric frame (within
    the symmetry tolerance) the forced zeros are lifted and a spurious zero elsewhere
    takes their place in the count. Without ``forced_motions``: every zero.

    Parameters
    ----------
    values : array (3N-3,)
        Purified singular values of one frame, descending (``Spectrum.values[f]``).
    motions : array (3N-3, 3N)
        Their Cartesian motions (``Spectrum.motions[f]``).
    forced_motions : array (3N, n_forced) or None
        Orthonormal basis of the motions the symmetry forces to zero
        (:attr:`SymmetryVerdict.forced_motions`); None without a symmetry.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero.

    Returns
    -------
    int
        The number of zeros along motions the symmetry leaves free; ``3N - 3 - n_forced``
        when :math:`s_1` is not positive (blind to every motion).

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not a number in (0, 1), ``values`` is not one frame's
        non-empty spectrum (3N-3,), or ``motions`` (3N-3, 3N) or ``forced_motions``
        (3N, at most 3N-3) does not fit it.
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    values = frame_values(values, "unexplained_zeros")
    motions, forced_motions = _frame_motions(values, motions, forced_motions)
    n_forced = 0 if forced_motions is None else forced_motions.shape[1]
    if not values[0] > 0:  # blind to every motion: none of the free ones is seen
        return len(values) - n_forced
    if not n_forced:
        return int((values < zero_rtol * values[0]).sum())
    return len(_restricted_zeros(values, _free_coordinates(motions, forced_motions), zero_rtol))


def free_zero_motions(
    values: np.ndarray,
    motions: np.ndarray,
    forced_motions: np.ndarray | None = None,
    *,
    zero_rtol: float = ZERO_RTOL,
) -> np.ndarray:
    r"""The zero motions a point symmetry does not force: an orthonormal basis (k, 3N) of
    the span whose dimension :func:`unexplained_zeros` counts, the subspace
    :func:`classify_zeros` explains.

    With the purified Jacobian :math:`JO = U S V^\top` (``values`` :math:`S`,
    ``motions`` the Cartesian rows :math:`(OV)^\top`) and :math:`F` the free coordinates,
    an orthonormal basis (in the singular basis) of the complement of the forced motions
    (``forced_motions``, :func:`symmetry_forced_motions`), the fingerprint restricted to
    the free motions is :math:`S F = P \Sigma W^\top`, and the rows are

    .. math:: \{\, (F w_j)^\top (OV)^\top : \Sigma_j < \epsilon_0\, s_1 \,\}, \qquad
              \epsilon_0 = \mathtt{zero\_rtol},

    the motions orthogonal to the forced ones along which it vanishes. Without
    ``forced_motions`` (no symmetry) these are the motions of the zeros themselves,
    :math:`\{\, m_k : s_k < \epsilon_0 s_1 \,\}`; every free motion when :math:`s_1 = 0`.
    Within a multiple zero the SVD returns an arbitrary basis, but the span does not
    depend on it: what is said about the zeros is said about the span.

    Parameters
    ----------
    values : array (3N-3,)
        Purified singular values of one frame, descending (``Spectrum.values[f]``).
    motions : array (3N-3, 3N)
        Their Cartesian motions (``Spectrum.motions[f]``).
    forced_motions : array (3N, n_forced) or None
        Orthonormal basis of the motions the symmetry forces to zero
        (:attr:`SymmetryVerdict.forced_motions`); None without a symmetry.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero.

    Returns
    -------
    array (k, 3N)
        Orthonormal rows, k = :func:`unexplained_zeros` (0 when every zero is forced).

    Raises
    ------
    DegeneracyError
        As :func:`unexplained_zeros`.
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    values = frame_values(values, "free_zero_motions")
    motions, forced_motions = _frame_motions(
        values, motions, forced_motions, caller="free_zero_motions"
    )
    n_forced = 0 if forced_motions is None else forced_motions.shape[1]
    if not n_forced:
        if not values[0] > 0:
            return motions.copy()
        return motions[values < zero_rtol * values[0]].copy()
    free = _free_coordinates(motions, forced_motions)
    if not values[0] > 0:
        return free.T @ motions
    return _restricted_zeros(values, free, zero_rtol) @ free.T @ motions


def _restricted_zeros(values: np.ndarray, free: np.ndarray, zero_rtol: float) -> np.ndarray:
    """The zeros of the spectrum ``values`` restricted to the ``free`` coordinates
    (3N-3, r): the right singular vectors (k, r) of ``values[:, None] * free`` whose
    singular values are below ``zero_rtol`` s_1, from one SVD, so that
    :func:`unexplained_zeros` counts exactly the rows :func:`free_zero_motions` returns."""
    _, restricted, right = np.linalg.svd(values[:, None] * free, full_matrices=False)
    return right[restricted < zero_rtol * values[0]]


def _free_coordinates(motions: np.ndarray, forced_motions: np.ndarray) -> np.ndarray:
    """An orthonormal basis (3N-3, 3N-3-n_forced), in the singular basis of ``motions``
    (3N-3, 3N), of the complement of the ``forced_motions`` (3N, n_forced)."""
    inside = motions @ forced_motions  # the forced motions in the singular basis
    return np.linalg.svd(inside, full_matrices=True)[0][:, forced_motions.shape[1] :]


def _frame_motions(
    values: np.ndarray, motions: Any, forced_motions: Any, *, caller: str = "unexplained_zeros"
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`unexplained_zeros`' motions (3N-3, 3N) and forced motions (3N, ≤ 3N-3, or
    None) as float arrays that fit ``values`` (3N-3,), else refused naming ``caller`` and
    the shapes."""
    n_motions = len(values)
    motions = np.asarray(motions, dtype=float)
    forced = None if forced_motions is None else np.asarray(forced_motions, dtype=float)
    if motions.shape != (n_motions, n_motions + 3) or (
        forced is not None
        and (forced.ndim != 2 or forced.shape[0] != n_motions + 3 or forced.shape[1] > n_motions)
    ):
        forced_shape = None if forced is None else forced.shape
        raise DegeneracyError(
            f"{caller}: {n_motions} singular values need motions "
            f"({n_motions}, {n_motions + 3}) and forced motions ({n_motions + 3}, ≤ "
            f"{n_motions}), got {motions.shape} and {forced_shape}"
        )
    return motions, forced


def _neighbor_species(
    neighbors: np.ndarray, species: Sequence[int] | None, caller: str
) -> np.ndarray:
    """``species`` as an array, all 0 when omitted; one per neighbour or an error."""
    species = np.zeros(len(neighbors), int) if species is None else np.asarray(species)
    if species.shape != (len(neighbors),):
        raise DegeneracyError(
            f"{caller} needs N species for N neighbours, got {species.size} "
            f"species and {len(neighbors)} neighbours"
        )
    return species
