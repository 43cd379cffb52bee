r"""Neighbour pairs that a ν = 2 fingerprint cannot tell apart.

A ν = 2 fingerprint (SOAP power spectrum, ACSF) is a sum over neighbour pairs of one
function of their triples with its species pair,
:math:`x = \sum_{i,j} g_{s_i s_j}(r_i, r_j, \theta_{ij})` (:func:`pair_triples`). Where
two pairs have equal species and equal triples it sees only the sum of their changes, so
a motion that trades them against each other is invisible to first order: where a
family of ν = 2 degenerate pairs closes (Pozdnyakov et al., PRL 125, 166001, 2020).
:func:`coincident_pairs` groups the pairs equal to a tolerance (single linkage, each
member in the order that matches the group's first pair; optionally a pair with its own
reverse), :func:`nearest_coincidence` tells how far an environment is from the nearest
such coincidence, and :func:`pair_labels`, :func:`coincidence_labels` name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from ..checks import positive_float, true_or_false
from ..errors import DegeneracyError
from ..structures import neighbor_array
from .spectrum import DEGENERATE_RTOL
from .symmetry import _neighbor_species

#: Largest difference (Å) of two neighbour pairs' (r_i, r_j, r̄ θ_ij) that counts as equal.
COINCIDENCE_TOL = 1e-3

#: Up to this many ordered pairs (2M), :func:`nearest_coincidence` compares all of them at
#: once (a 2M × 2M distance matrix); beyond, a k-d tree per species pair.
DENSE_PAIR_POINTS = 200


@dataclass(frozen=True)
class CoincidentPairs:
    r"""Neighbour pairs with equal species and equal :math:`(r_i, r_j, \theta_{ij})`.

    ``pairs`` holds neighbour indices (atom index − 1), each pair ordered to match the
    first: ``pairs[m][k]`` has the species and distance of ``pairs[0][k]``. ``mismatch`` is
    the largest difference from the first pair of :math:`r_i`, :math:`r_j` or
    :math:`\bar r\,\theta_{ij}` (Å) from :func:`coincident_pairs`, the Euclidean distance
    of the two triples from :func:`nearest_coincidence`.

    ``self_reverse``: the group also equals itself reversed (``coincident_pairs(...,
    self_reverse=True)``): a member :math:`(i, j)` has :math:`s_i = s_j` and
    :math:`r_i = r_j`, so every member's :math:`(r_j, r_i, \theta_{ij})` is in the group
    too, and a trade of the members' :math:`r_i` against their :math:`r_j` is unseen
    (:func:`pair_swap_residual`). Such a group may hold one pair: ``pairs`` has no
    member twice, and ``mismatch`` covers the reversed first pair,
    :math:`|r_i - r_j|`.
    """

    pairs: tuple[tuple[int, int], ...]
    mismatch: float
    self_reverse: bool = False

    def label(self, symbols: Sequence[str] | None = None) -> str:
        """``"H1-O3 = H2-O4"``: atom indices (centre 0) with ``symbols`` of the neighbours;
        a ``self_reverse`` group ends with its first pair reversed, ``"H2-H3 = H3-H2"``
        (one pair with :math:`r_2 = r_3`), ``"H1-H2 = H3-H4 = H2-H1"``."""
        pairs = (*self.pairs, self.pairs[0][::-1]) if self.self_reverse else self.pairs
        names = [f"{'' if symbols is None else symbols[i]}{i + 1}" for pair in pairs for i in pair]
        return " = ".join(f"{a}-{b}" for a, b in zip(names[::2], names[1::2], strict=True))


def pair_triples(neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Every neighbour pair :math:`i < j` and its :math:`(r_i, r_j, \theta_{ij})`.

    A ν = 2 fingerprint (SOAP power spectrum, ACSF) is a sum over neighbour pairs of one
    function of these triples, with its species pair,
    :math:`x = \sum_{i,j} g_{s_i s_j}(r_i, r_j, \theta_{ij})`.

    Parameters
    ----------
    neighbors : array (N, 3) or (3N,)
        Neighbour positions relative to the centre (Å) of one environment.

    Returns
    -------
    pairs : int array (M, 2)
        Neighbour indices, M = N(N − 1)/2.
    triples : array (M, 3)
        :math:`r_i`, :math:`r_j` (Å) and :math:`\theta_{ij}` (radians).

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is an :class:`ase.Atoms`, not numbers, not finite, or not one
        environment's positions of shape (N, 3) or (3N,), or a neighbour is at the
        centre (it has no direction, so no angle: within :data:`DEGENERATE_RTOL` of the
        largest neighbour distance).
    """
    neighbors = neighbor_array(neighbors, "pair_triples")
    pairs = np.array(np.triu_indices(len(neighbors), k=1)).T.reshape(-1, 2)
    radii = np.linalg.norm(neighbors, axis=1)
    on_centre = np.flatnonzero(radii <= DEGENERATE_RTOL * radii.max(initial=0.0))
    if on_centre.size:
        index = int(on_centre[0])
        raise DegeneracyError(
            f"pair_triples: neighbour {index} is {radii[index]:.3g} Å from the centre, on "
            "it: it has no direction, so its pairs have no angle"
        )
    units = neighbors / radii[:, None]
    cosines = np.einsum("pa,pa->p", units[pairs[:, 0]], units[pairs[:, 1]])
    angles = np.arccos(np.clip(cosines, -1.0, 1.0))
    return pairs, np.column_stack([radii[pairs[:, 0]], radii[pairs[:, 1]], angles])


def coincident_pairs(
    neighbors: np.ndarray,
    species: Sequence[int] | None = None,
    *,
    tol: float = COINCIDENCE_TOL,
    self_reverse: bool = False,
) -> list[CoincidentPairs]:
    r"""Groups of neighbour pairs that a ν = 2 fingerprint cannot tell apart.

    Pairs :math:`(i, j)` and :math:`(k, l)` coincide when, in one of the two orders,
    :math:`s_i = s_k`, :math:`s_j = s_l`, :math:`r_i = r_k`, :math:`r_j = r_l` and
    :math:`\theta_{ij} = \theta_{kl}` (to ``tol`` Å, the angle as arc length at the mean
    radius). At such a configuration :math:`\sum_{i,j} g(r_i, r_j, \theta_{ij})` sees only
    the sum of the two pairs' changes, so a motion that trades them against each other is
    invisible to first order: this is where a family of ν = 2 degenerate pairs closes
    (Pozdnyakov et al., PRL 125, 166001, 2020: A+ and A− meet at :math:`y_4 = 0`).
    A group holds the pairs linked by such coincidences (single linkage: a chain of
    pairs each within ``tol`` of the next, so its ``mismatch`` can exceed ``tol``), each
    in the order that matches its first pair.

    **A pair and its own reverse.** With ``self_reverse``, a pair :math:`(i, j)` with
    :math:`s_i = s_j` and :math:`|r_i - r_j| <` ``tol`` also coincides with
    :math:`(j, i)`: the sum over ordered pairs holds
    :math:`g(r_i, r_j, \theta_{ij}) + g(r_j, r_i, \theta_{ij})`, symmetric under
    :math:`r_i \leftrightarrow r_j`, so the pair's own antisymmetric stretch
    (:math:`\dot r_i = -\dot r_j`, :math:`\theta_{ij}` fixed) changes it only at
    second order. Its group is marked ``self_reverse`` (a group of one pair when nothing
    else coincides with it; label ``"H2-H3 = H3-H2"``). Off by default: wherever two
    neighbours of one species are equidistant (every pair of an equidistant CH4), this
    adds a group per pair, and the trades of distinct pairs are what ``singular``'s
    ``coincident_pairs`` column and :func:`trade_scale` report; :func:`explain_zero`
    adds the reverses only where those trades leave a zero unexplained.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    species : sequence of int, optional
        Neighbour species; all equal if omitted.
    tol : float
        Largest difference (Å) that counts as equal.
    self_reverse : bool
        Whether a pair also coincides with its own reverse (above).

    Returns
    -------
    list of CoincidentPairs
        One per group of two or more pairs (or, with ``self_reverse``, of one pair equal
        to its reverse), in the order of each group's first pair (:func:`pair_triples`
        order); ``mismatch`` is the largest difference of a member from the first pair
        (Å). Empty when no two pairs coincide.

    Raises
    ------
    DegeneracyError
        When ``tol`` is not a positive number, ``neighbors`` is not one environment's
        positions (N, 3) or (3N,), or ``species`` does not have N entries.
    """
    tol = positive_float("coincidence tolerance", tol)
    self_reverse = true_or_false("self_reverse", self_reverse)
    neighbors = neighbor_array(neighbors, "coincident_pairs")
    species = _neighbor_species(neighbors, species, "coincident_pairs")
    pairs, triples = pair_triples(neighbors)
    return _equal_pair_groups(
        pairs, triples * _arc_scale(neighbors), species, tol, self_reverse=self_reverse
    )


def _arc_scale(neighbors: np.ndarray) -> np.ndarray:
    """Factors (1, 1, r̄) that turn a pair's (r_i, r_j, θ_ij), or its rates, into Å: the
    angle as arc length at the neighbours' mean radius r̄."""
    return np.array([1.0, 1.0, float(np.linalg.norm(neighbors, axis=1).mean())])


def _equal_pair_groups(
    pairs: np.ndarray,
    triples: np.ndarray,
    species: np.ndarray,
    tol: float,
    *,
    self_reverse: bool = False,
) -> list[CoincidentPairs]:
    """:func:`coincident_pairs` from the pairs and their triples in Å (:func:`_arc_scale`):
    single linkage of the pairs equal to below ``tol`` in one of their two orders; with
    ``self_reverse``, groups with a pair equal to its own reverse
    (:func:`_self_reverse_pairs`) are marked, and such a pair alone is a group."""
    links = _pair_links_below(pairs, triples, species, tol)
    groups = _PairForest(len(pairs))
    for _, _, a, b, flipped in sorted(links):
        groups.join(a, b, flipped)
    reversible = _self_reverse_pairs(pairs, triples, species, tol) if self_reverse else None
    return groups.coincidences(pairs, triples, reversible)


def _self_reverse_pairs(
    pairs: np.ndarray, triples: np.ndarray, species: np.ndarray, tol: float
) -> np.ndarray:
    r"""Which pairs (M,) equal their own reverse to below ``tol`` (Å): :math:`s_i = s_j`
    and :math:`|r_i - r_j| <` ``tol``, the max-norm difference of :math:`(r_i, r_j,
    \theta_{ij})` and :math:`(r_j, r_i, \theta_{ij})`, as :func:`_pair_links_below`
    measures two pairs."""
    return _radius_gaps(pairs, triples, species) < tol


def _radius_gaps(pairs: np.ndarray, triples: np.ndarray, species: np.ndarray) -> np.ndarray:
    r"""Per pair (M,), :math:`|r_i - r_j|` (Å) where :math:`s_i = s_j`, ``inf`` otherwise:
    the tolerance from which the pair equals its own reverse (:func:`_self_reverse_pairs`,
    :func:`~degeneracy.sensitivity.trade_scale`)."""
    same = species[pairs[:, 0]] == species[pairs[:, 1]]
    return np.where(same, np.abs(triples[:, 0] - triples[:, 1]), np.inf)


def _both_orders(
    pairs: np.ndarray, triples: np.ndarray, species: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair in both orders: points (2M, 3) (point p < M is pair p as (i, j), p >= M
    as (j, i)), the ordered pairs (2M, 2), the owning pair of each point, and its kind:
    one integer per species pair in that order (two points can match only if equal)."""
    points = np.vstack([triples, triples[:, [1, 0, 2]]])
    ordered = np.vstack([pairs, pairs[:, ::-1]])
    owner = np.tile(np.arange(len(pairs)), 2)
    kind = np.unique(species[ordered], axis=0, return_inverse=True)[1].reshape(-1)
    return points, ordered, owner, kind


def _pair_links_below(
    pairs: np.ndarray, triples: np.ndarray, species: np.ndarray, tol: float
) -> list[tuple[float, int, int, bool]]:
    """Two pairs (a < b) whose triples differ by less than ``tol`` (max-norm, Å) with the
    same species at each place in one order: (difference, its Euclidean norm, a, b,
    whether b is reversed). A k-d tree finds them in the 2M points of
    :func:`_both_orders`.

    Sorted, the links of one pair of pairs in both orders put the closer order first,
    by the max-norm and, where that ties (the angle's difference the largest in both),
    by the Euclidean norm: the order of the labels decided such ties, and with it the
    trade scale of some frames (inf for one labelling of a CH4, 0.55 Å for another)."""
    points, _, owner, kind = _both_orders(pairs, triples, species)
    found = cKDTree(points).query_pairs(tol, p=np.inf, output_type="ndarray").reshape(-1, 2)
    u, v = found[:, 0], found[:, 1]
    first = np.where(owner[u] < owner[v], u, v)
    second = np.where(owner[u] < owner[v], v, u)
    keep = (
        (owner[first] != owner[second])
        & (first < len(pairs))  # of each mirror image (a, b) / (a reversed, b reversed)
        & (kind[first] == kind[second])
    )
    first, second = first[keep], second[keep]
    steps = np.abs(points[first] - points[second])
    differences, norms = steps.max(axis=1), np.linalg.norm(steps, axis=1)
    return [
        (float(d), float(e), int(owner[a]), int(owner[b]), bool(b >= len(pairs)))
        for d, e, a, b in zip(differences, norms, first, second, strict=True)
        if d < tol
    ]


def _pair_tree(
    pairs: np.ndarray, triples: np.ndarray, species: np.ndarray
) -> list[tuple[float, int, int, bool]]:
    """The links (as :func:`_pair_links_below`) of a minimum spanning forest of all pairs
    with matching species: single linkage at every tolerance merges along these only.

    Prim's algorithm on the complete graph, one pair's row of differences at a time
    (O(M²) time, O(M) memory): scipy's spanning tree and single linkage need all M²
    differences at once (gigabytes for 100 neighbours) and do not say which order of the
    two pairs matched. Ties of the max-norm (the angle's difference the largest in both
    orders of a pair, or from two pairs of the tree) are broken by the Euclidean norm,
    not by the labels' order (:func:`_pair_links_below`).
    """
    points, _, _, kind = _both_orders(pairs, triples, species)
    m = len(pairs)
    columns = points.T.copy()  # (3, 2M): elementwise work on contiguous rows
    best = np.full(m, np.inf)  # smallest difference from the tree so far
    best_norm = np.full(m, np.inf)  # its Euclidean norm, to break ties
    nearest = np.zeros(m, int)  # the tree's pair that gives it
    flipped = np.zeros(m, bool)  # whether it matches that pair reversed
    in_tree = np.zeros(m, bool)
    links = []
    current = 0
    for _ in range(m - 1):
        in_tree[current] = True
        differences, norms = [], []
        for other in (slice(0, m), slice(m, 2 * m)):  # the pairs as (i, j), then (j, i)
            steps = np.abs(columns[:, other] - columns[:, current, None])
            gaps = steps.max(axis=0)
            gaps[kind[other] != kind[current]] = np.inf
            differences.append(gaps)
            norms.append(np.sqrt(np.einsum("cm,cm->m", steps, steps)))
        reverse = _closer(differences[1], norms[1], differences[0], norms[0])
        smallest = np.where(reverse, differences[1], differences[0])
        norm = np.where(reverse, norms[1], norms[0])
        closer = ~in_tree & _closer(smallest, norm, best, best_norm)
        best[closer], best_norm[closer] = smallest[closer], norm[closer]
        nearest[closer] = current
        flipped[closer] = reverse[closer]
        candidates = np.where(in_tree, np.inf, best)
        current = int(np.lexsort((best_norm, candidates))[0])
        if np.isfinite(candidates[current]):
            links.append(
                (
                    float(best[current]),
                    float(best_norm[current]),
                    int(nearest[current]),
                    current,
                    bool(flipped[current]),
                )
            )
        else:  # no pair left with matching species: start another tree
            current = int(np.flatnonzero(~in_tree)[0])
    return links


def _closer(
    difference: np.ndarray, norm: np.ndarray, other: np.ndarray, other_norm: np.ndarray
) -> np.ndarray:
    """Where (difference, norm) is below (other, other_norm) in that order of keys."""
    return (difference < other) | ((difference == other) & (norm < other_norm))


class _PairForest:
    """Union–find over neighbour pairs that also keeps each pair's order relative to its
    group's first pair (the parity of the path of links), so a group lists its members in
    the order that matches the first."""

    def __init__(self, count: int) -> None:
        self.parent = list(range(count))
        self.flipped = [False] * count  # order relative to the parent

    def root(self, pair: int) -> tuple[int, bool]:
        """The group's first pair and whether ``pair`` is reversed relative to it."""
        path = []
        while self.parent[pair] != pair:
            path.append(pair)
            pair = self.parent[pair]
        flipped = False
        for step in reversed(path):  # point the path at the root (path compression)
            flipped ^= self.flipped[step]
            self.parent[step], self.flipped[step] = pair, flipped
        return pair, flipped

    def join(self, a: int, b: int, flipped: bool) -> tuple[int, int, bool] | None:
        """Link pair ``b`` (reversed if ``flipped``) to pair ``a``: (kept root, joined
        root, whether the joined group is reversed), None when already one group."""
        (root_a, flip_a), (root_b, flip_b) = self.root(a), self.root(b)
        if root_a == root_b:
            return None
        relative = flip_a ^ flip_b ^ flipped
        kept, joined = min(root_a, root_b), max(root_a, root_b)
        self.parent[joined], self.flipped[joined] = kept, relative
        return kept, joined, relative

    def coincidences(
        self, pairs: np.ndarray, triples: np.ndarray, reversible: np.ndarray | None = None
    ) -> list[CoincidentPairs]:
        """The groups of two or more pairs, members in pair order, each in the order that
        matches the first; mismatch: the largest difference from the first (Å). With
        ``reversible`` (M,), the pairs equal to their own reverse: their groups are
        ``self_reverse`` (also of one pair), the mismatch covering the reversed first."""
        members: dict[int, list[tuple[int, bool]]] = {}
        for p in range(len(pairs)):
            root, flipped = self.root(p)
            members.setdefault(root, []).append((p, flipped))
        groups = []
        for root, group in sorted(members.items()):
            self_reverse = reversible is not None and bool(reversible[[p for p, _ in group]].any())
            if len(group) < 2 and not self_reverse:
                continue
            ordered = [tuple(int(v) for v in pairs[p][:: -1 if f else 1]) for p, f in group]
            oriented = [triples[p][[1, 0, 2]] if f else triples[p] for p, f in group]
            if self_reverse:
                oriented.append(triples[root][[1, 0, 2]])
            mismatch = max(float(np.abs(t - triples[root]).max()) for t in oriented)
            groups.append(
                CoincidentPairs(pairs=tuple(ordered), mismatch=mismatch, self_reverse=self_reverse)
            )
        return groups


def nearest_coincidence(
    neighbors: np.ndarray, species: Sequence[int] | None = None
) -> CoincidentPairs | None:
    r"""The two neighbour pairs closest to coinciding, and how close (Å).

    Of all pairs :math:`(i, j)`, :math:`(k, l)` with equal species in one of the two
    orders, the two whose triples :math:`t = (r_i, r_j, \bar r\,\theta_{ij})` (the
    angle as arc length at the mean radius, as in :func:`coincident_pairs`) are closest,
    :math:`\min |t_{ij} - t_{kl}|` (Euclidean; the max-norm of :func:`coincident_pairs`'
    tolerance would tie all pairs whose largest difference is the same radius): how far
    the environment is from a coincidence (0 for pairs that coincide). A near-singular
    environment of a ν = 2 fingerprint is near such a branch point when its softest
    motion trades these two pairs (:func:`pair_swap_residual` against the result well
    below 1). None with fewer than two pairs of equal species.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    species : sequence of int, optional
        Neighbour species; all equal if omitted.

    Returns
    -------
    CoincidentPairs or None
        ``pairs``: the first pair (lower index) in increasing order, the second in the
        order that matches it; ``mismatch``: :math:`|t_{ij} - t_{kl}|` (Å).
    """
    neighbors = neighbor_array(neighbors, "nearest_coincidence")
    species = _neighbor_species(neighbors, species, "nearest_coincidence")
    pairs, triples = pair_triples(neighbors)
    if len(pairs) < 2:  # one neighbour: no pair at all
        return None
    points, ordered, owner, kind = _both_orders(pairs, triples * _arc_scale(neighbors), species)
    distance, first, second = (
        _closest_points_dense(points, owner, kind)
        if len(points) <= DENSE_PAIR_POINTS
        else _closest_points_tree(points, owner, kind)
    )
    if first < 0:
        return None
    if owner[first] > owner[second]:
        first, second = second, first
    if first >= len(pairs):  # both reversed: the same distance, the first pair in order
        first, second = first - len(pairs), (second + len(pairs)) % (2 * len(pairs))
    return CoincidentPairs(
        pairs=(tuple(int(v) for v in ordered[first]), tuple(int(v) for v in ordered[second])),
        mismatch=distance,
    )


def _closest_points_dense(
    points: np.ndarray, owner: np.ndarray, kind: np.ndarray
) -> tuple[float, int, int]:
    """Closest two of ``points`` with another ``owner`` and the same ``kind``:
    (distance, index, index), or (inf, -1, -1) when there are none."""
    distances = cdist(points, points)
    allowed = (owner[:, None] != owner[None, :]) & (kind[:, None] == kind[None, :])
    distances = np.where(allowed, distances, np.inf)
    first, second = np.unravel_index(np.argmin(distances), distances.shape)
    if not np.isfinite(distances[first, second]):
        return np.inf, -1, -1
    return float(distances[first, second]), int(first), int(second)


def _closest_points_tree(
    points: np.ndarray, owner: np.ndarray, kind: np.ndarray
) -> tuple[float, int, int]:
    """:func:`_closest_points_dense` with a k-d tree per kind, for many points."""
    best = (np.inf, -1, -1)
    for value in np.unique(kind):
        members = np.flatnonzero(kind == value)
        if len(np.unique(owner[members])) < 2:
            continue
        k = min(3, len(members))  # a pair's own two orders, then another pair
        distances, found = cKDTree(points[members]).query(points[members], k=k)
        distances = np.where(owner[members][found] != owner[members][:, None], distances, np.inf)
        row, column = np.unravel_index(np.argmin(distances), distances.shape)
        if distances[row, column] < best[0]:
            best = (float(distances[row, column]), members[row], members[found[row, column]])
    return best


def pair_labels(pairs: Sequence[tuple[int, int]], symbols: Sequence[str]) -> str:
    """``"H1-H2, H3-H4"``: neighbour pairs (0-based indices) by symbol and 1-based index."""
    return ", ".join(f"{symbols[i]}{i + 1}-{symbols[j]}{j + 1}" for i, j in pairs)


def coincidence_labels(groups: Sequence[CoincidentPairs], symbols: Sequence[str]) -> str:
    """``"H2-H3 = H4-H3; ..."`` for ``groups`` of an environment whose neighbours have
    ``symbols``; ``"none"`` when there are none (not "": ase's extxyz reader would take
    the next key for an empty value)."""
    return "; ".join(group.label(symbols) for group in groups) or "none"
