r"""Zeros of a truncated fingerprint at neighbours at one distance per species.

Where the neighbours of each species sit at one distance, a fingerprint may see their
motions, to first order, only through a few scalars: the rows of its optional
``first_order_invariants`` :math:`G` (e.g. SOAP's angular and radial sums). Every motion
of the blind subspace :math:`B = O \operatorname{null}(G O)` (:func:`blind_motions`) is
then a zero of the purified Jacobian, and a zero motion is explained when it lies within
:data:`~degeneracy.sensitivity.trades.PAIR_SWAP_TOL` of :math:`B`
(:func:`truncation_zeros`), provided the fingerprint is truncated for that shell: the
same neighbours in random directions (each keeping its species and distance) leave a
blind subspace too (:func:`generic_blind_dimension`). Otherwise :math:`B` is the special
geometry's (e.g. two equal pairs, a fold) and explains nothing as truncation.
:func:`equidistant_blind_counts` counts the motions missed in a shell of N neighbours,
:math:`\max(\dim B, 3N - 3 - F)` for a fingerprint of F features.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ase
import ase.data
import numpy as np

from ..checks import bounded_float, bounded_int, positive_float, seeded_generator
from ..errors import DegeneracyError
from ..representations.base import (
    Representation,
    fingerprint,
    neighbor_species_numbers,
    species_distances,
)
from ..species import atomic_number
from ..structures import neighbor_array, vector_lengths
from .spectrum import rotation_complement
from .trades import PAIR_SWAP_TOL, _motion_basis, _spurious_count

#: Singular values of :math:`G O` at most this times the largest count as zero in
#: :func:`blind_motions` (G the gradients of a fingerprint's ``first_order_invariants``).
#: G is exact algebra of the neighbour directions, so its null singular values are
#: round-off: at most 2e-16 of the largest, the smallest kept 5e-8 (SOAP, 950 random
#: equidistant frames of 4–12 neighbours, one or two species, l_max 1–8), and 7e-16,
#: 2.7e-6 (the bispectrum, 1000 such frames, l_max 1–6; measured 2026-12-05).
BLIND_RTOL = 1e-10


@dataclass(frozen=True)
class TruncationZeros:
    r"""Neighbours at one distance per species whose motions a fingerprint sees, to first
    order, through fewer sums than there are motions (:func:`truncation_zeros`).

    ``distances``: (symbol, distance in Å) per species; ``n_motions``: the :math:`3N - 3`
    motions left beside the rotations; ``n_sums``: the rank of the fingerprint's
    ``first_order_invariants`` :math:`G` on them, :math:`\operatorname{rank}(G O)`, in
    generic directions: :math:`3N - 3 - d` with d the :func:`generic_blind_dimension` of
    the shell, fewer than the motions (e.g.
    :meth:`degeneracy.SoapPowerSpectrum.first_order_invariants`: CH4 at :math:`l_\max` 4
    has 4 angular and 4 radial sums for 9 motions). It is what raising :math:`l_\max`
    can add to; a special geometry (e.g. two equal pairs) may lower the frame's own rank
    further, and those extra blind motions are the geometry's, not the truncation's.
    """

    distances: tuple[tuple[str, float], ...]
    n_motions: int
    n_sums: int

    def label(self) -> str:
        """``"H at 1.09 Å: 9 motions seen through 8 sums"`` (distances to 4 digits: they are
        equal to :data:`~degeneracy.representations.base.EQUIDISTANT_RTOL`)."""
        where = ", ".join(f"{symbol} at {distance:.4g} Å" for symbol, distance in self.distances)
        sums = "sum" if self.n_sums == 1 else "sums"
        return f"{where}: {self.n_motions} motions seen through {self.n_sums} {sums}"


@dataclass(frozen=True)
class _BlindSpan:
    """How the blind subspace of equidistant neighbours explains a span of motions
    (:func:`_blind_span`): its ``dimension`` k, the principal sines of its angles with
    :math:`B` ascending (``sines``), orthonormal rows (t, 3N) spanning its motions within
    :data:`PAIR_SWAP_TOL` of :math:`B` (``explained``) and the :class:`TruncationZeros`."""

    dimension: int
    sines: np.ndarray
    explained: np.ndarray
    truncation: TruncationZeros


def _blind_span(
    representation: Representation | None,
    neighbors: np.ndarray,
    species: Sequence[int],
    motion: Any,
) -> _BlindSpan | None:
    r""":class:`_BlindSpan` of ``motion`` (3N,), (N, 3) or rows (k, 3N); None without the
    fingerprint's ``first_order_invariants``, where it says None, for an empty
    :math:`B`, where the neighbours are not at one distance per species, or where the
    fingerprint is not truncated for the shell (its :func:`generic_blind_dimension` is
    0: :math:`B` is then the special geometry's, e.g. two equal pairs,
    :func:`truncation_zeros`). The sines are the singular values of
    :math:`(I - B B^\top) V`, V an orthonormal basis of the span (columns)."""
    invariants = getattr(representation, "first_order_invariants", None)
    if invariants is None:
        return None
    gradients = invariants(neighbors, species)
    if gradients is None:
        return None
    blind = blind_motions(gradients, neighbors)
    if not blind.shape[1]:
        return None
    distances = species_distances(neighbors, species)
    if distances is None:  # another fingerprint's hook may judge "one distance" otherwise
        return None
    generic = generic_blind_dimension(representation, neighbors, species)
    if not generic:  # None: the hook says None in the random directions (not expected)
        return None
    basis = _motion_basis(neighbors, motion).reshape(-1, neighbors.size).T  # (3N, k)
    n_motions = 3 * len(neighbors) - 3
    truncation = TruncationZeros(
        distances=tuple((ase.data.chemical_symbols[z], r) for z, r in distances.items()),
        n_motions=n_motions,
        n_sums=n_motions - min(generic, blind.shape[1]),  # the frame is a shell too
    )
    if not basis.shape[1]:
        return _BlindSpan(0, np.zeros(0), np.zeros((0, neighbors.size)), truncation)
    outside = basis - blind @ (blind.T @ basis)
    _, sines, right = np.linalg.svd(outside, full_matrices=False)  # descending
    within = sines < PAIR_SWAP_TOL
    return _BlindSpan(
        dimension=basis.shape[1],
        sines=sines[::-1],
        explained=(basis @ right[within].T).T,
        truncation=truncation,
    )


def truncation_zeros(
    representation: Representation | None,
    neighbors: np.ndarray,
    species: Sequence[int],
    motion: np.ndarray,
    *,
    n_spurious: int | None = None,
) -> TruncationZeros | None:
    r"""Whether zero ``motion`` (or ``n_spurious`` independent motions of a span of them)
    only moves neighbours at one distance per species in ways ``representation`` does
    not see at first order.

    Where the neighbours of each species sit at one distance, a fingerprint may see the
    motions only through a few scalars, the rows of its optional
    ``first_order_invariants(neighbors, species)`` :math:`G` (M, 3N), their gradients
    (SOAP's power spectrum: the angular sums :math:`\sum_{i,j} P_l(\hat{\mathbf r}_i \cdot
    \hat{\mathbf r}_j)` and the radial ones :math:`\sum_k \delta r_k \sum_j
    P_l(\hat{\mathbf r}_k \cdot \hat{\mathbf r}_j)`,
    :meth:`~degeneracy.SoapPowerSpectrum.first_order_invariants`). Every motion of the
    blind subspace :math:`B` (:func:`blind_motions`, :math:`O \operatorname{null}(G O)`)
    is then a zero, and a zero motion :math:`m` is explained by it when

    .. math:: \|m - B B^\top m\| / \|m\| < \mathrm{PAIR\_SWAP\_TOL}

    (:data:`PAIR_SWAP_TOL`, as a swap's :func:`pair_swap_residual`: the part the
    explanation leaves out) and :math:`B` is not empty, provided the fingerprint is
    truncated for the shell: the same neighbours in random directions, each keeping its
    species and distance, leave a blind subspace too (:func:`generic_blind_dimension`
    d > 0). Where they do not, :math:`B` is the special geometry's (at the A± fold of
    CH4 with four equal C–H, two equal pairs H2-H4 = H3-H4: rank(G O) 8 there, 9 in
    random directions, measured at :math:`l_\max` 5, 8 and 12) and raising
    :math:`l_\max` would not lift the zero, so it is not named here (the swap explains
    it). Where d > 0, all of :math:`B` explains, and ``n_sums`` is :math:`3N - 3 - d`,
    the sums in generic directions: the frame's own rank may be lower, the extra blind
    motions being the geometry's (the same fold with O, two H and F, each species at
    one distance, at :math:`l_\max` 1: rank 7 there, 8 in random directions; its two
    zeros are named as the swap H2-F4 = H3-F4 and "9 motions seen through 8 sums"). A
    span of k motions with an orthonormal basis :math:`V` (3N, k) is explained when the
    n-th smallest singular value of :math:`(I - B B^\top) V` (the sine of its n-th
    principal angle with :math:`B`) is below the same tolerance: n = ``n_spurious``
    independent motions of it lie in :math:`B` (n = k, the whole span, by default).

    Parameters
    ----------
    representation : Representation or None
        The fingerprint, for its optional ``first_order_invariants``.
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    species : sequence of int (N,)
        Their atomic numbers.
    motion : array (3N,), (N, 3) or (k, 3N)
        The zero motion, or k rows spanning the zero motions.
    n_spurious : int, optional
        How many independent motions of the span must lie in :math:`B`, 1 to k (k by
        default).

    Returns
    -------
    TruncationZeros or None
        The neighbours' distances per species, :math:`3N - 3` and
        :math:`\operatorname{rank}(G O)` in generic directions; None without the hook,
        where it says None (not at one distance per species), for an empty :math:`B`, a
        shell the fingerprint is not truncated for (:func:`generic_blind_dimension` 0),
        or a motion outside :math:`B`.

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions, ``species`` not one
        atomic number per neighbour, or ``motion`` does not have 3N components (or rows
        of 3N) or a finite one, or ``n_spurious`` is not an integer in [1, k] (checked
        only when :math:`B` is not empty).
    """
    neighbors = neighbor_array(neighbors, "truncation_zeros")
    species = neighbor_species_numbers(species, len(neighbors))  # also without the hook
    blind = _blind_span(representation, neighbors, species, motion)
    if blind is None or not blind.dimension:
        return None
    n_spurious = _spurious_count(n_spurious, blind.dimension)
    return blind.truncation if blind.sines[n_spurious - 1] < PAIR_SWAP_TOL else None


#: Largest shell :func:`equidistant_blind_counts` builds (3N columns of G per shell).
MAX_SHELL = 64

#: Smallest shell radius (Å) :func:`equidistant_blind_counts` takes. G's angular rows grow
#: as 1/r while its radial rows stay of order 1, so at a tiny radius the relative rank
#: cut :data:`BLIND_RTOL` drops radial rows that count: measured, the default SOAP's
#: count at N = 8 is 5 down to 1e-7 Å, 6 at 1e-8 and 11 at 1e-9 (helper audit,
#: 2026-12-06). No neighbour sits within 0.01 Å of its centre.
MIN_SHELL_RADIUS = 0.01


def shell_feature_count(representation: Representation, species: int | str | None = None) -> int:
    """The number of features F of ``representation`` for one centre and neighbours of
    ``species`` (its first density channel by default): a fingerprint of F features sees
    at most F of the 3N − 3 motions of N neighbours, anywhere."""
    representation = fingerprint(representation)
    number = int(representation.neighbors[0]) if species is None else atomic_number(species)
    center = int(getattr(representation, "center", number))
    frame = ase.Atoms(
        numbers=[center, number], positions=[[0.0, 0.0, 0.0], [0.5 * representation.cutoff, 0, 0]]
    )
    return int(representation.features([frame]).shape[1])


def default_shell_radius(representation: Representation) -> float:
    """The distance (Å) of :func:`equidistant_blind_counts`' shells when none is given:
    half the fingerprint's cutoff (the counts do not depend on it)."""
    return 0.5 * float(representation.cutoff)


#: Most random shells :func:`equidistant_blind_counts` draws per N (~2 s at N = 4 for
#: SOAP n = l = 4; a count of 1e300 ran for ever).
MAX_RANDOM_SHELLS = 1000


def equidistant_blind_counts(
    representation: Representation,
    counts: Sequence[int],
    *,
    species: int | str | None = None,
    radius: float | None = None,
    shells: int = 3,
    seed: int | np.random.Generator = 0,
) -> dict[int, int]:
    r"""How many motions a fingerprint misses, to first order, in a shell of N neighbours
    of one species at one distance: :math:`\dim B = 3N - 3 - \operatorname{rank}(G O)`
    (:func:`blind_motions` of its ``first_order_invariants`` :math:`G`), the least over
    ``shells`` shells in random directions (special directions, e.g. symmetric ones, miss
    more), or :math:`3N - 3 - F` where the fingerprint has fewer features F than that
    (:func:`shell_feature_count`; the ``dimension`` verdict: missed everywhere, e.g. with
    n_max = 1, where each l gives one feature for its two sums):

    .. math:: \text{missed}(N) = \max\left(\dim B,\; 3N - 3 - F\right).

    Both bound the zeros of the purified Jacobian from below; measured, they are its
    zeros (SOAP at l_max 0–16 and the bispectrum at l_max 0–6, n_max 1–8, N = 2–64, σ
    0.1–1 Å, radii 0.2–2.49 Å, H, C and O shells; helper audit, 2026-12-06).

    Every such motion is an exact zero of the purified Jacobian wherever a shell sits at
    one distance (data made with fixed bond lengths, or an ideal first shell), whatever
    n_max, σ or the radial basis; measured, the zeros are exactly these from n_max 2 on
    (n_max 1 has fewer features than motions: the second term)
    (docs/concepts.md, "A truncated fingerprint at equidistant neighbours"): SOAP at the
    default :math:`l_\max` 8 misses 0 for N = 3–5, then 1, 3, 5, 7, 10, 13, 16 for
    N = 6–12; the default bispectrum 0 for N = 3–8, then 2, 4, 6, 8. Both miss 1 at
    N = 2: two neighbours at one distance are always mirror images of each other, and
    that symmetry forces the zero. No Jacobian is computed: G is algebra of the
    directions.

    Parameters
    ----------
    representation : Representation
        A fingerprint with a ``first_order_invariants`` hook
        (:class:`~degeneracy.SoapPowerSpectrum`, :class:`~degeneracy.Bispectrum`).
    counts : sequence of int
        Shell sizes N, 2 to :data:`MAX_SHELL`.
    species : int or str, optional
        The neighbours' species; the fingerprint's first density channel by default.
    radius : float, optional
        Their distance (Å), from :data:`MIN_SHELL_RADIUS` to below the cutoff;
        :func:`default_shell_radius` by default.
    shells : int
        Random shells per N (1 to :data:`MAX_RANDOM_SHELLS`).
    seed : int or numpy.random.Generator
        For the random directions.

    Returns
    -------
    dict
        ``{N: dim B}`` in the order of ``counts``.

    Raises
    ------
    DegeneracyError
        For a fingerprint without the hook, a species it has no density channel for, a
        radius below :data:`MIN_SHELL_RADIUS` or not below its cutoff, or a bad count,
        ``shells`` or ``seed``.
    """
    representation = fingerprint(representation)
    invariants = getattr(representation, "first_order_invariants", None)
    if invariants is None:
        raise DegeneracyError(
            f"{getattr(representation, 'name', type(representation).__name__)} has no "
            "first_order_invariants: its equidistant shells are not analysed"
        )
    shells = bounded_int("shells", shells, minimum=1, maximum=MAX_RANDOM_SHELLS)
    rng = seeded_generator(seed)
    number = int(representation.neighbors[0]) if species is None else atomic_number(species)
    cutoff = float(representation.cutoff)
    if radius is None:
        radius = default_shell_radius(representation)
    else:
        radius = bounded_float(
            "radius",
            positive_float("radius", radius, below=cutoff),
            at_least=MIN_SHELL_RADIUS,
            unit=" Å",
            why="closer, the angular sums drown the radial ones in round-off",
        )
    if isinstance(counts, int | np.integer) or not hasattr(counts, "__iter__"):
        raise DegeneracyError(f"counts must be a sequence of shell sizes, e.g. [{counts!r}]")
    blind = {}
    n_features = None
    for count in counts:
        count = bounded_int("shell size", count, minimum=2, maximum=MAX_SHELL)
        least = _least_blind_dimension(invariants, [number] * count, [radius] * count, shells, rng)
        if least is None:
            raise DegeneracyError(
                f"{representation.name} has no density channel for "
                f"{ase.data.chemical_symbols[number]}: its shells are not seen"
            )
        if n_features is None:
            n_features = shell_feature_count(representation, number)
        blind[count] = max(least, 3 * count - 3 - n_features)
    return blind


def _least_blind_dimension(
    invariants: Callable[[np.ndarray, Sequence[int]], np.ndarray | None],
    species: Sequence[int],
    radii: Sequence[float],
    shells: int,
    rng: np.random.Generator,
) -> int | None:
    r"""The least :math:`\dim B` (:func:`blind_motions` of ``invariants``) over ``shells``
    shells in random directions from ``rng``, neighbour i of ``species[i]`` at
    ``radii[i]`` Å; None where the hook says None."""
    radii = np.asarray(radii, dtype=float)
    least = None
    for _ in range(shells):
        directions = rng.normal(size=(len(radii), 3))
        neighbors = radii[:, None] * directions / vector_lengths(directions)[:, None]
        gradients = invariants(neighbors, species)
        if gradients is None:
            return None
        size = blind_motions(gradients, neighbors).shape[1]
        least = size if least is None else min(least, size)
    return least


#: Random shells :func:`generic_blind_dimension` takes the least over, and their seed.
GENERIC_SHELLS = 3
GENERIC_SEED = 0

#: Shell compositions :func:`generic_blind_dimension` remembers per fingerprint.
GENERIC_CACHE_SIZE = 256

_generic_cache: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, int | None]] = (
    weakref.WeakKeyDictionary()
)


def generic_blind_dimension(
    representation: Representation | None, neighbors: np.ndarray, species: Sequence[int]
) -> int | None:
    r"""How many motions the fingerprint misses, to first order, in a shell of the same
    composition as ``neighbors`` in generic directions: :math:`\dim B` (:func:`blind_motions`
    of its ``first_order_invariants``) least over :data:`GENERIC_SHELLS` shells whose
    neighbours keep their species and their species' distance (:func:`species_distances`)
    in random directions (seeded with :data:`GENERIC_SEED`, so the same composition always
    gets the same count).

    Positive where the fingerprint is truncated for the shell (:func:`truncation_zeros`);
    a frame's own :math:`\dim B` exceeds it at special geometry (equal pairs, symmetry).
    For one species it is :func:`equidistant_blind_counts` without the feature-count term.
    No Jacobian is computed; counts are kept per fingerprint object (whose settings are
    fixed once made, as its cached featomic calculator assumes) and composition (species,
    counts and distances; the last :data:`GENERIC_CACHE_SIZE` of them).

    Parameters
    ----------
    representation : Representation or None
        The fingerprint, for its optional ``first_order_invariants``.
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å); only their distances are used.
    species : sequence of int (N,)
        Their atomic numbers.

    Returns
    -------
    int or None
        :math:`\dim B` in generic directions; None without the hook, where the neighbours
        are not at one distance per species, or where the hook says None.

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions or ``species`` not one
        atomic number per neighbour.
    """
    neighbors = neighbor_array(neighbors, "generic_blind_dimension")
    species = neighbor_species_numbers(species, len(neighbors))
    invariants = getattr(representation, "first_order_invariants", None)
    if invariants is None:
        return None
    distances = species_distances(neighbors, species)
    if distances is None:
        return None
    counts = {z: int(np.count_nonzero(species == z)) for z in distances}
    key = tuple((z, counts[z], r) for z, r in distances.items())
    try:
        cache = _generic_cache.setdefault(representation, OrderedDict())
    except TypeError:  # neither hashable nor weakly referenced: not kept
        cache = OrderedDict()
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    numbers = [z for z, count, _ in key for _ in range(count)]
    radii = [r for _, count, r in key for _ in range(count)]
    rng = np.random.default_rng(GENERIC_SEED)
    cache[key] = _least_blind_dimension(invariants, numbers, radii, GENERIC_SHELLS, rng)
    if len(cache) > GENERIC_CACHE_SIZE:
        cache.popitem(last=False)
    return cache[key]


def blind_motions(gradients: np.ndarray, neighbors: np.ndarray) -> np.ndarray:
    r"""Orthonormal basis (3N, d) of the motions, rotations left out, that the scalars with
    gradients ``gradients`` (M, 3N) do not change to first order: :math:`B = O
    \operatorname{null}(G O)`.

    :math:`O` is the :func:`rotation_complement`; the null space is spanned by the right
    singular vectors of :math:`G O` whose singular values are at most
    :data:`BLIND_RTOL` times the largest (all of them for :math:`G = 0`), so
    :math:`d = 3N - 3 - \operatorname{rank}(G O)`.

    Parameters
    ----------
    gradients : array (M, 3N)
        :math:`G` (e.g. :meth:`degeneracy.SoapPowerSpectrum.first_order_invariants`).
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).

    Returns
    -------
    array (3N, d)
        :math:`B`, :math:`B^\top B = I_d`, orthogonal to the rotations.

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions or collinear with the centre
        (:func:`rotation_complement`), or ``gradients`` does not have 3N columns.
    """
    neighbors = neighbor_array(neighbors, "blind_motions")
    gradients = np.asarray(gradients, dtype=float)
    if gradients.ndim != 2 or gradients.shape[1] != neighbors.size:
        raise DegeneracyError(
            f"gradients of scalars of {len(neighbors)} neighbours have shape (M, "
            f"{neighbors.size}), got {gradients.shape}"
        )
    complement = rotation_complement(neighbors)
    if not gradients.size:
        return complement
    _, values, right = np.linalg.svd(gradients @ complement, full_matrices=True)
    rank = int(np.count_nonzero(values > BLIND_RTOL * values[0])) if values[0] > 0 else 0
    return complement @ right[rank:].T
