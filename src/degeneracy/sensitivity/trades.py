r"""Pair-triple rates along a motion, and how far the motion is from a trade of equal pairs.

Along a neighbour motion every pair's triple :math:`t_p = (r_i, r_j, \bar r\,\theta_{ij})`
changes at a rate :math:`\dot t_p` (:func:`pair_triple_rates`). With the pairs grouped by
their coincidences, :func:`pair_swap_residual` is the part of these changes that no trade
within a group explains,

.. math:: \rho = \Big(\sum_{G} \big|P_G \sum_{p \in G} \dot t'_p\big|^2\Big)^{1/2}
          \Big/ \Big(\sum_p |\dot t_p|^2\Big)^{1/2},

0 exactly for a motion that every ν = 2 fingerprint misses (the pairs a fingerprint
weighs out left out; below :data:`PAIR_SWAP_TOL` a zero counts as such a swap); of a
subspace of motions, the smallest over it. :func:`trade_scale` tells how equal the pairs
must be for a motion to be mostly their trade, and :func:`near_swap` how much of a
frame's softest motions (:func:`softest_motions`) trades its two nearest-equal pairs.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import ase
import numpy as np

from ..checks import bounded_int, number_array, positive_float
from ..errors import DegeneracyError
from ..representations.base import Representation
from ..structures import neighbor_array, neighbor_positions, one_frame
from .coincidences import (
    CoincidentPairs,
    _arc_scale,
    _pair_tree,
    _PairForest,
    _radius_gaps,
    nearest_coincidence,
    pair_labels,
    pair_triples,
)
from .spectrum import ROUNDOFF_EPS, ZERO_RTOL, frame_values, zero_rtol_value
from .symmetry import _neighbor_species
from .weighed_out import unseen_pairs_of

#: Largest :func:`pair_swap_residual` of a zero motion that counts as a swap of equal pairs.
PAIR_SWAP_TOL = 1e-3

#: A pair whose triple changes faster than this along a unit motion (Å per Å, rad · Å per
#: Å) counts as moved by it (:func:`explain_motion`, :func:`near_swap`).
MOVING_RATE = 1e-6

#: The keys of :func:`near_swap`.
NEAR_SWAP_KEYS = (
    "nearest_coincidence",
    "coincidence_distance",
    "near_swap_residual",
    "near_swap_unseen",
)


def softest_motions(
    values: np.ndarray, motions: np.ndarray, *, zero_rtol: float = ZERO_RTOL
) -> np.ndarray:
    r"""The motions of a frame's smallest singular value, all of them when it is not
    alone: the subspace :func:`near_swap` and :func:`trade_scale` are asked about, (k, 3N).

    With :math:`s_1 \ge \dots \ge s_{3N-3} = s_\min` the frame's purified singular values
    and :math:`m_k` their motions (``Spectrum.motions[f]``), the rows are

    .. math:: \{\, m_k : s_k - s_\min < \epsilon_0\, s_1 \,\}, \qquad
              \epsilon_0 = \mathtt{zero\_rtol},

    every motion when :math:`s_1 = 0` (blind to all). The zeros of :func:`zero_verdict`
    (:math:`s_k < \epsilon_0 s_1`) are among them, as :math:`s_\min \ge 0`; a non-zero
    :math:`s_\min` takes the values tied with it at the resolution at which a value is
    told from zero. Within such a cluster the singular vectors are not determined: an
    exact zero of multiplicity k (SOAP at l_max = 0 on CH4 sees only the 4 distances: 5
    zeros) comes out of the SVD as an arbitrary orthonormal basis of its null space,
    and a perturbation :math:`E` of the Jacobian turns singular vectors by up to
    :math:`\|E\|_2 / \mathrm{gap}` (Wedin's :math:`\sin\Theta` theorem, Stewart & Sun,
    *Matrix Perturbation Theory*, §V.4), i.e. arbitrarily within a cluster narrower
    than :math:`\|E\|_2`. Only the span is a property of the fingerprint, so callers
    report what is basis-independent over it (the smallest :math:`\rho`,
    :func:`pair_swap_residual`). k = 1 when :math:`s_\min` is alone.

    Parameters
    ----------
    values : array (3N-3,)
        One frame's purified singular values, descending (``Spectrum.values[f]``).
    motions : array (3N-3, 3N)
        Their Cartesian motions (``Spectrum.motions[f]``).
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero, in
        [:data:`MIN_ZERO_RTOL`, 1): also the width of a tie.

    Returns
    -------
    array (k, 3N)
        The rows of ``motions`` that belong, in the order of ``values`` (the last that of
        :math:`s_\min`), 1 ≤ k ≤ 3N − 3.

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not in [:data:`MIN_ZERO_RTOL`, 1), ``values`` is not one
        frame's non-empty spectrum (3N-3,), or ``motions`` is not of shape (3N-3, 3N).
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    values = frame_values(values, "softest_motions")
    motions = np.asarray(motions, dtype=float)
    if motions.shape != (len(values), len(values) + 3):
        raise DegeneracyError(
            f"softest_motions: {len(values)} singular values need motions "
            f"({len(values)}, {len(values) + 3}), got shape {motions.shape}"
        )
    if not values[0] > 0:  # blind to every motion
        return motions.copy()
    return motions[values - values[-1] < zero_rtol * values[0]].copy()


def near_swap(
    atoms: ase.Atoms,
    motion: np.ndarray,
    representation: Representation | None = None,
    *,
    values: np.ndarray | None = None,
) -> dict[str, Any]:
    r"""How near environment ``atoms`` is to a branch point of ν = 2 degenerate pairs,
    and how much of ``motion`` (3N,) (e.g. its softest), or of the most trade-like motion
    of a subspace (k, 3N) (:func:`softest_motions`), trades the two pairs there.

    ``nearest_coincidence``: the label of :func:`nearest_coincidence` ("H2-H3 = H4-H3"),
    ``coincidence_distance``: its distance :math:`|t_{ij} - t_{kl}|` (Å) and
    ``near_swap_residual``: :func:`pair_swap_residual` of ``motion`` with the two pairs
    grouped and the pairs ``representation`` weighs out left out, as
    :func:`explain_zero` leaves them (:func:`unseen_pairs_of` with the frame's singular
    ``values``: ACSF's G4 of two neighbours a cutoff apart, a neighbour at a smooth
    cutoff) — near 0 when the motion is mostly their trade, 1 when it does not move
    them (up to √2 when it changes the two alike); ``near_swap_unseen``: those of the
    weighed-out pairs that the motion turns ("H3-H4"), or None. All None with fewer than
    two pairs of equal species. In random CH4 the environments a ν = 2 fingerprint sees
    worst are of this kind, the ones the ν = 3 bispectrum sees worst are near a point
    symmetry instead (docs/concepts.md, "Which configurations a fingerprint sees
    worst"). A search for a zero that ends with a pair at ACSF's G4 cutoff, where its
    guard stops it, shows such a trade with the pair left out (docs/concepts.md).

    Given k > 1 motions, :math:`\rho` is the smallest over their span (the most
    trade-like of the motions, e.g. of a multiple zero, :func:`trade_residual`), which
    does not depend on the basis the SVD happened to return; ``near_swap_unseen`` names
    the weighed-out pairs that some motion of the span turns.

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    motion : array (3N,), (N, 3) or (k, 3N)
        Neighbour displacement direction (e.g. ``Spectrum.motions[f, -1]``), or k rows
        spanning a subspace of them (e.g. :func:`softest_motions`).
    representation : Representation, optional
        The fingerprint, for the pairs it weighs out (none without it, or without its
        ``response_weights`` or ``unseen_pairs``).
    values : array (3N-3,), optional
        The frame's purified singular values, descending: the bound under which a weight
        hides a pair (:func:`unseen_response`); without them the fixed
        :data:`~degeneracy.representations.base.UNSEEN_WEIGHT`.

    Returns
    -------
    dict
        The keys :data:`NEAR_SWAP_KEYS`: ``nearest_coincidence`` (str),
        ``coincidence_distance`` (float, Å), ``near_swap_residual`` (float) and
        ``near_swap_unseen`` (str or None), or all None.

    Raises
    ------
    DegeneracyError
        When ``motion`` does not have 3N components (or rows of 3N), has none, or has a
        non-finite one (checked only when there are two pairs of equal species).
    """
    atoms = one_frame(atoms, name="near_swap")
    neighbors = neighbor_positions(atoms)
    nearest = nearest_coincidence(neighbors, atoms.numbers[1:])
    if nearest is None:
        return dict.fromkeys(NEAR_SWAP_KEYS)
    weighed_out = unseen_pairs_of(representation, neighbors, values)
    residual, unseen = trade_residual(neighbors, motion, nearest, weighed_out, atoms.numbers[1:])
    symbols = atoms.get_chemical_symbols()[1:]
    return {
        "nearest_coincidence": nearest.label(symbols),
        "coincidence_distance": nearest.mismatch,
        "near_swap_residual": residual,
        "near_swap_unseen": pair_labels(unseen, symbols) or None,
    }


def trade_residual(
    neighbors: np.ndarray,
    motion: np.ndarray,
    nearest: CoincidentPairs,
    weighed_out: Sequence[tuple[int, int]] = (),
    species: Sequence[int] | None = None,
) -> tuple[float, list[tuple[int, int]]]:
    r""":func:`near_swap`'s ρ and the weighed-out pairs it leaves out, for ``compare``'s
    loop too (one rule: every caller reports the same ρ for a frame).

    :func:`pair_swap_residual` of ``motion`` (3N,), (N, 3) or (k, 3N), the smallest over
    its span, with the two pairs of ``nearest`` (:func:`nearest_coincidence`) grouped and
    those of the ``weighed_out`` pairs (:func:`unseen_pairs_of`, i < j) left out that some
    unit motion of the span turns faster than :data:`MOVING_RATE` (as
    :func:`moved_pairs` says of one motion). Where one of the two pairs equals its own
    reverse as closely as the other pair (same ``species``, all equal if omitted, and
    :math:`\sqrt 2\,|r_i - r_j| \le` the mismatch), the two are grouped as
    ``self_reverse``: only the symmetric part of their radii's rates counts, the same in
    both orders of matching them (the labels picked one: ρ 0.97 or 1.02 for
    relabellings of one CH4).

    Returns
    -------
    residual : float
        :math:`\rho`.
    unseen : list of (i, j)
        The weighed-out pairs left out.

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions, or ``motion`` does not fit
        them (:func:`pair_swap_residual`).
    """
    neighbors = neighbor_array(neighbors, "trade_residual")
    pairs, rates = _span_rates(neighbors, motion)
    turned = _moved_by_span(pairs, rates)
    unseen = [pair for pair in weighed_out if pair in turned]
    species = _neighbor_species(neighbors, species, "trade_residual")
    group = _symmetric_if_reversible(neighbors, nearest, species)
    return _least_unexplained(neighbors, pairs, rates, [group], unseen), unseen


def _symmetric_if_reversible(
    neighbors: np.ndarray, nearest: CoincidentPairs, species: np.ndarray
) -> CoincidentPairs:
    r"""``nearest`` (two pairs, :func:`nearest_coincidence`), marked ``self_reverse`` when
    one of them equals its own reverse as closely as it equals the other (:math:`s_i =
    s_j`, :math:`\sqrt 2\,|r_i - r_j| \le` the mismatch, the Euclidean distance of its
    triple from its reverse): both orders of matching the other pair are then as close,
    the labels chose one (ρ 0.97 or 1.02 for relabellings of one CH4), and only the
    symmetric part of their sum, the same in both orders, is seen
    (:class:`_SymmetricMerges`)."""
    radii = np.linalg.norm(neighbors, axis=1)
    for i, j in nearest.pairs:
        if species[i] == species[j] and math.sqrt(2.0) * abs(radii[i] - radii[j]) <= (
            nearest.mismatch
        ):
            return dataclasses.replace(nearest, self_reverse=True)
    return nearest


def near_swap_text(near: Mapping[str, Any]) -> str:
    """``"H2-H3 = H4-H3 (0.021 Å, ρ 0.14)"`` from the keys of :func:`near_swap`, ending
    ``"; H3-H4 unseen)"`` when ρ leaves weighed-out pairs out; "" without a coincidence
    (the 'nearest equal pairs' column of ``spectrum`` and ``scan``)."""
    if near.get("nearest_coincidence") is None:
        return ""
    unseen = near.get("near_swap_unseen")
    return (
        f"{near['nearest_coincidence']} ({near['coincidence_distance']:.2g} Å, "
        f"ρ {near['near_swap_residual']:.2g}{f'; {unseen} unseen' if unseen else ''})"
    )


def _spurious_count(n_spurious: Any, dimension: int) -> int:
    """``n_spurious`` as the number of motions of a span of ``dimension`` that must be
    explained, 1 to ``dimension``; ``dimension`` (every motion) for None."""
    if n_spurious is None:
        return dimension
    return bounded_int("n_spurious", n_spurious, minimum=1, maximum=dimension)


def neighbor_motion(neighbors: np.ndarray, motion: Any) -> np.ndarray:
    """``motion`` (3N,) or (N, 3) as an (N, 3) array of the ``neighbors`` (N, 3); a
    :class:`DegeneracyError` when it does not have 3N components."""
    motion = number_array(motion, "a motion's components")
    if motion.size != neighbors.size:
        raise DegeneracyError(
            f"a motion of {len(neighbors)} neighbours has {neighbors.size} components, got "
            f"{motion.size}"
        )
    return motion.reshape(neighbors.shape)


def moved_pairs(pairs: np.ndarray, rates: np.ndarray) -> set[tuple[int, int]]:
    """The neighbour pairs ``(i, j)`` of :func:`pair_triple_rates` whose triple changes
    faster than :data:`MOVING_RATE` along the motion (a pair at 0° or 180°, whose angle
    rate is NaN, counts as not moved)."""
    speed = np.abs(rates).max(axis=1)
    return {tuple(pair) for pair, v in zip(pairs.tolist(), speed, strict=True) if v > MOVING_RATE}


def trade_scale(
    neighbors: np.ndarray,
    motion: np.ndarray,
    species: Sequence[int] | None = None,
    *,
    residual: float = 0.5,
) -> float:
    r"""How equal neighbour pairs must be for ``motion`` to be mostly a trade among them (Å).

    The smallest tolerance :math:`s` at which the pairs that :func:`coincident_pairs`
    groups as equal leave less than ``residual`` of the motion's change of pair triples
    unexplained, :math:`\rho_s <` ``residual`` (:func:`pair_swap_residual`), ``inf`` when
    no grouping does. The groups are single linkage, so they change only at the links of
    a minimum spanning forest of the pairs' mutual differences; :math:`\rho_s` is updated
    as they merge in increasing order (O(M²) time and O(M) memory for M pairs: ~1 ms for
    CH4, seconds for 100 neighbours). It tends to 0 as a configuration
    approaches a point where pairs coincide and the motion is their trade, whatever the
    number of pairs involved: 1e-3 Å from A0 (three pairs H1-H3 = H2-H3 = H4-H3) in a
    random direction it is ~1e-3 Å, where :func:`near_swap`, which groups only the
    nearest two, leaves ρ ≈ 0.5. Distinct pairs only, as :func:`coincident_pairs` groups
    them by default: a pair alone is not grouped with its own reverse (at SOAP's median
    scale of 0.21 Å, 60 % of the H-H pairs of ``sample_methane(2000, seed=7)`` would be),
    so the scale says how near the frame is to a coincidence of two pairs. A group of two
    or more pairs, one of which equals its own reverse at the tolerance (:math:`s_i =
    s_j`, :math:`|r_i - r_j| \le s`), counts as ``coincident_pairs(..., self_reverse=True)``
    marks it: only the symmetric part of its radii's rates (:func:`pair_swap_residual`'s
    :math:`P_\mathrm{sym}`). Its members match that pair in both orders equally well, and
    until 2026-12-07 the labels chose one: relabellings of pg-start gave inf, 0.86 or
    0.28 Å (the bispectrum; now 0.28 Å for all 24).

    Given a subspace :math:`\mathcal S` (k rows, e.g. :func:`softest_motions` of a
    multiple zero), the scale is that of its most trade-like motion at every tolerance,

    .. math:: s(\mathcal S) = \min\{\, s : \min_{m \in \mathcal S} \rho_s(m) <
              \mathtt{residual} \,\} = \min_{m \in \mathcal S} s(m),

    the two equal as the groups only grow with :math:`s`: the scale at which *some*
    motion of the subspace is mostly a trade. It does not depend on the basis of
    :math:`\mathcal S`, and for k = 1 it is the motion's own. :math:`\min_m \rho_s(m)^2`
    is the smallest eigenvalue of the unexplained part's Gram matrix in whitened
    coordinates (:func:`pair_swap_residual`), a k × k problem per tolerance.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    motion : array (3N,), (N, 3) or (k, 3N)
        Neighbour displacement direction (e.g. ``Spectrum.motions[f, -1]``), or k rows
        spanning a subspace of them (e.g. :func:`softest_motions`).
    species : sequence of int, optional
        Neighbour species; all equal if omitted.
    residual : float
        The :math:`\rho` below which the motion counts as mostly a trade, in (0, 1).

    Returns
    -------
    float
        The scale (Å): the largest difference of pair triples
        :math:`(r_i, r_j, \bar r\,\theta_{ij})` (max-norm) among the links merged when
        :math:`\rho_s` first falls below ``residual``; ``inf`` when it never does, when
        the motion changes no pair triple, or when a pair is at 0° or 180° (its angle
        rate is NaN).

    Raises
    ------
    DegeneracyError
        When ``residual`` is not in (0, 1), ``neighbors`` is not one environment's
        positions (N, 3) or (3N,), ``species`` does not have N entries, or ``motion``
        does not have 3N components (or rows of 3N), has none, or has a non-finite one.
    """
    residual = positive_float("residual", residual, below=1.0)
    neighbors = neighbor_array(neighbors, "trade_scale")
    species = _neighbor_species(neighbors, species, "trade_scale")
    pairs, triples = pair_triples(neighbors)
    scale = _arc_scale(neighbors)
    rates = _triple_rates(neighbors, pairs, triples, _motion_basis(neighbors, motion)) * scale
    if np.isnan(rates).any():  # a pair at 0° or 180°
        return float("inf")
    whitening = _whitening(rates)
    if not whitening.shape[1]:  # no change of any pair triple
        return float("inf")
    # ρ² = min over the span of Σ_G |P_G Σ_{p∈G} ṫ_p|² / Σ_p |ṫ_p|²: in whitened
    # coordinates (Σ_p ṫ_pᵀ ṫ_p = I) the smallest eigenvalue of the unexplained Gram
    # matrix, which is updated as single linkage merges groups
    merging = _SymmetricMerges(
        list(np.einsum("kmc,kr->mcr", rates, whitening)), _radius_gaps(pairs, triples, species)
    )
    groups = _PairForest(len(pairs))
    links = sorted(_pair_tree(pairs, triples * scale, species))
    for k, (difference, _, a, b, flipped) in enumerate(links):
        merging.join(*groups.join(a, b, flipped), difference)
        last_at_this_difference = k + 1 == len(links) or links[k + 1][0] > difference
        if last_at_this_difference:
            merging.symmetrise_up_to(difference, groups)
            if _smallest_eigenvalue(merging.unexplained) < residual**2:
                return difference
    return float("inf")


class _SymmetricMerges:
    r""":func:`trade_scale`'s unexplained Gram matrix :math:`\sum_G T_G^\top P_G T_G` as
    single linkage merges groups (:math:`T_G` the whitened sum of a group's triple
    rates, (3, r)).

    A group of two or more pairs one of which equals its own reverse at the tolerance
    reached (:math:`s_i = s_j`, :math:`|r_i - r_j| \le s`) counts with
    :math:`P_G = P_\mathrm{sym}` (:func:`pair_swap_residual`): its pairs' terms are
    symmetric in their two radii, so the trade of the members' :math:`r_i` against their
    :math:`r_j` is unseen, and the order in which the other members were matched to that
    pair (both orders equally close: a tie the labels used to decide, giving ρ 0.97 or
    1.02 and a scale of inf, 0.86 or 0.28 Å for relabellings of one CH4) does not change
    :math:`P_\mathrm{sym} T_G`. A pair alone is not symmetrised: the scale is of
    coincidences of distinct pairs.
    """

    def __init__(self, totals: list[np.ndarray], gaps: np.ndarray) -> None:
        self.totals = totals  # per group root (3, r)
        self.gaps = list(gaps)  # per group root: the smallest radius gap of its members
        self.symmetric = [False] * len(totals)
        self.waiting: list[tuple[float, int]] = []  # (gap, root) of groups not yet symmetric
        self.unexplained = sum(total.T @ total for total in totals)

    def _part(self, root: int) -> np.ndarray:
        total = _radii_averaged(self.totals[root]) if self.symmetric[root] else self.totals[root]
        return total.T @ total

    def join(self, kept: int, joined: int, reversed_: bool, difference: float) -> None:
        """Merge group ``joined`` (reversed if ``reversed_``) into ``kept`` at tolerance
        ``difference``."""
        self.unexplained = self.unexplained - self._part(kept) - self._part(joined)
        added = self.totals[joined][[1, 0, 2]] if reversed_ else self.totals[joined]
        self.totals[kept] = self.totals[kept] + added
        self.gaps[kept] = min(self.gaps[kept], self.gaps[joined])
        self.symmetric[kept] = self.symmetric[kept] or self.symmetric[joined]
        self.unexplained = self.unexplained + self._part(kept)
        if not self.symmetric[kept] and np.isfinite(self.gaps[kept]):
            heapq.heappush(self.waiting, (self.gaps[kept], kept))

    def symmetrise_up_to(self, difference: float, groups: Any) -> None:
        r"""Count every group of two or more pairs with a member equal to its own reverse
        at tolerance ``difference`` with :math:`P_\mathrm{sym}`."""
        while self.waiting and self.waiting[0][0] <= difference:
            _, root = heapq.heappop(self.waiting)
            if groups.parent[root] != root or self.symmetric[root]:
                continue  # merged into another group since, or done
            self.unexplained = self.unexplained - self._part(root)
            self.symmetric[root] = True
            self.unexplained = self.unexplained + self._part(root)


def pair_swap_residual(
    neighbors: np.ndarray,
    motion: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    unseen: Sequence[tuple[int, int]] = (),
) -> float:
    r"""How far a neighbour motion is from only trading equal pairs against each other.

    With :math:`\dot t_p = \frac{d}{ds}(r_i, r_j, \bar r\,\theta_{ij})` the rates of the
    pair triples along the motion, :math:`\dot t'_p` the same with the whole triple's rate
    set to zero for the ``unseen`` pairs (whose term the fingerprint weighs out: a
    neighbour at a smooth cutoff, or ACSF's G4 of a pair a cutoff apart), and the
    pairs grouped by ``coincidences`` (each other pair a group of its own),

    .. math:: \rho = \Big(\sum_{G} \big|P_G \sum_{p \in G} \dot t'_p\big|^2\Big)^{1/2}
              \Big/ \Big(\sum_p |\dot t_p|^2\Big)^{1/2}

    (the unseen pairs count in the whole, not in what is left unexplained), with
    :math:`P_G` the identity, or, for a group that equals its own reverse (``self_reverse``,
    :func:`coincident_pairs`: a pair with :math:`s_i = s_j`, :math:`r_i = r_j`),
    :math:`P_\mathrm{sym}(a, b, c) = (\frac{a+b}{2}, \frac{a+b}{2}, c)`: its term
    :math:`g(r_i, r_j, \theta_{ij}) + g(r_j, r_i, \theta_{ij})` is symmetric in the two
    radii, so the trade of :math:`r_i` against :math:`r_j` is unseen too.

    :math:`\rho = 0` exactly when the motion changes no pair's triple except by trading
    it within a group of equal pairs, the change that :math:`\sum_{i,j} g(r_i, r_j,
    \theta_{ij})` does not see: such a zero singular value belongs to every ν = 2
    fingerprint, whatever its basis or width. :math:`\rho = 1` when no group is involved.
    A pair is grouped with its own reverse only by groups marked so
    (``coincident_pairs(..., self_reverse=True)``; :func:`explain_zero` adds them where
    the trades of distinct pairs leave a zero unexplained): otherwise, where two
    neighbours of one species have equal radii, their opposite changes count in ``ρ``.

    **A subspace.** The rates are linear in the motion, :math:`\dot t = R\,m`, and the
    grouping with the unseen pairs left out is a linear map :math:`A` of them, so
    :math:`\rho(m)^2 = |A R m|^2 / |R m|^2` is a ratio of quadratic forms. Given k rows
    spanning a subspace, with :math:`V` (3N × k) an orthonormal basis of it (from the
    SVD of the rows), the result is the smallest :math:`\rho` over it, the generalized
    symmetric eigenproblem

    .. math:: \rho_\min^2 = \min_{c:\, RVc \ne 0}
              \frac{c^\top (ARV)^\top (ARV)\, c}{c^\top (RV)^\top (RV)\, c}
              = \sigma_\min\big(A R V W \Sigma^{-1}\big)^2,

    solved on the range of :math:`RV = U \Sigma W^\top` (singular values above
    :math:`\max(3M, k)\,\varepsilon\,\sigma_1`, the rank rule of numpy's
    ``matrix_rank``): a motion :math:`c` in the null space of :math:`RV` changes no
    triple and adds nothing to either form, and whitening by :math:`W \Sigma^{-1}` turns
    the pencil into an ordinary singular value problem, solved without forming the
    Gram matrices (accurate to round-off of :math:`\rho`, not of :math:`\rho^2`). It is
    the :math:`\rho` of the most trade-like motion of the subspace, and depends on the
    subspace only, not on its basis; for k = 1 it is the motion's own :math:`\rho`.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    motion : array (3N,), (N, 3) or (k, 3N)
        Neighbour displacement direction (e.g. ``Spectrum.motions[f, -1]``), or k rows
        spanning a subspace of them (e.g. :func:`softest_motions`).
    coincidences : sequence of CoincidentPairs
        From :func:`coincident_pairs`.
    unseen : sequence of (i, j), optional
        Neighbour pairs whose term does not count (e.g. ``Acsf.unseen_pairs``).

    Returns
    -------
    float
        :math:`\rho \ge 0` (the smallest over a subspace); 1.0 when no motion changes a
        pair triple. The angle of a pair at 0° or 180° counts as not moving
        (:func:`pair_triple_rates` gives NaN there, but :math:`\cos\theta`, through which
        the fingerprint sees the angle, has a zero rate).

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions (N, 3) or (3N,), or
        ``motion`` does not have 3N components (or rows of 3N), has none, or has a
        non-finite one.
    """
    neighbors = neighbor_array(neighbors, "pair_swap_residual")
    coincidences, unseen = _coincidence_groups(coincidences), _pair_list(unseen)
    pairs, rates = _span_rates(neighbors, motion)
    return _least_unexplained(neighbors, pairs, rates, coincidences, unseen)


def _coincidence_groups(value: Any) -> list[CoincidentPairs]:
    """``coincidences`` as a list of :class:`CoincidentPairs`; else named (an int or an
    array ended in a TypeError or an AttributeError)."""
    if isinstance(value, (str, bytes, CoincidentPairs)) or not isinstance(value, Sequence):
        groups = None
    else:
        groups = list(value)
    if groups is None or not all(isinstance(group, CoincidentPairs) for group in groups):
        raise DegeneracyError(
            "pair_swap_residual: coincidences must be a sequence of CoincidentPairs "
            f"(from coincident_pairs), got {value!r}"
        )
    return groups


def _pair_list(value: Any) -> list[tuple[int, int]]:
    """``unseen`` as a list of neighbour pairs (i, j); else named."""
    try:
        return [(operator.index(i), operator.index(j)) for i, j in value]
    except (TypeError, ValueError) as error:
        raise DegeneracyError(
            f"pair_swap_residual: unseen must be a sequence of neighbour pairs (i, j), got "
            f"{value!r}"
        ) from error


def _scaled_rates(neighbors: np.ndarray, rates: np.ndarray) -> np.ndarray:
    r"""Pair rates (..., M, 3) of :func:`pair_triple_rates` with the angle's as arc length
    at the mean radius (:func:`_arc_scale`), as :math:`\rho` weighs them; NaN (a pair at
    0° or 180°) as 0."""
    # A pair at 0° or 180° has no angle rate (NaN), but a ν = 2 fingerprint sees its
    # angle through cos θ, whose rate p̂_j·dp̂_i/ds + p̂_i·dp̂_j/ds vanishes there for
    # every motion: to first order, the order of the Jacobian, the angle does not move.
    return np.nan_to_num(rates, nan=0.0) * _arc_scale(neighbors)


def _least_unexplained(
    neighbors: np.ndarray,
    pairs: np.ndarray,
    rates: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    unseen: Sequence[tuple[int, int]],
) -> float:
    """:func:`pair_swap_residual` over a subspace, from the pair rates (k, M, 3) of an
    orthonormal basis of it (:func:`_span_rates`): the smallest singular value of the
    unexplained rates in whitened coordinates; 1.0 when no motion changes a triple."""
    rates = _scaled_rates(neighbors, rates)
    whitening = _whitening(rates)
    if not whitening.shape[1]:
        return 1.0
    totals = _unexplained_rates(pairs, rates, coincidences, unseen)
    whitened = totals.reshape(len(totals), -1).T @ whitening  # (3M, r), r ≤ 3M
    return float(np.linalg.svd(whitened, compute_uv=False)[-1])


def _unexplained_rates(
    pairs: np.ndarray,
    rates: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    unseen: Sequence[tuple[int, int]],
) -> np.ndarray:
    r"""The part of pair rates (..., M, 3) that a trade within ``coincidences`` does not
    explain: the ``unseen`` pairs' rates set to zero (their whole term is weighed out),
    then each group's rates summed (each member in the order that matches the first) into
    its first pair, the others zero; of a ``self_reverse`` group the sum's symmetric part
    :math:`P_\mathrm{sym}(a, b, c) = (\frac{a+b}{2}, \frac{a+b}{2}, c)`, the trade of
    its :math:`r_i` against its :math:`r_j` being unseen too."""
    index = {tuple(pair): p for p, pair in enumerate(pairs.tolist())}
    rates = rates.copy()
    for i, j in unseen:
        rates[..., _pair_row(index, i, j, "unseen"), :] = 0.0
    totals = rates.copy()
    for group in coincidences:
        total = np.zeros_like(rates[..., 0, :])
        for i, j in group.pairs:
            p = _pair_row(index, i, j, "coincidences")
            total += rates[..., p, :] if i < j else rates[..., p, [1, 0, 2]]
            totals[..., p, :] = 0.0
        if group.self_reverse:
            total = _radii_averaged(total, axis=-1)
        totals[..., _pair_row(index, *group.pairs[0], "coincidences"), :] = total
    return totals


def _radii_averaged(rates: np.ndarray, axis: int = 0) -> np.ndarray:
    r""":math:`P_\mathrm{sym}` of triple rates (the two radii's rates, along ``axis`` the
    first two entries, replaced by their mean; the angle's kept): the part a pair equal to
    its own reverse shows, its :math:`g(r_i, r_j, \theta) + g(r_j, r_i, \theta)` being
    symmetric in the two radii. A copy."""
    averaged = np.array(rates, dtype=float)
    radii = np.moveaxis(averaged, axis, 0)[:2]  # a view into the copy
    radii[...] = radii.mean(axis=0, keepdims=True)
    return averaged


def _pair_row(index: dict[tuple[int, int], int], i: int, j: int, argument: str) -> int:
    """The row of neighbour pair (i, j) in ``index``; a pair of one neighbour with itself
    or of a neighbour the environment does not have is refused naming ``argument``."""
    key = (min(i, j), max(i, j))
    if key not in index:
        n = 1 + max((b for _, b in index), default=0)
        raise DegeneracyError(
            f"pair_swap_residual: {argument} names the pair ({i}, {j}), not two distinct "
            f"neighbours among {n} (numbered from 0)"
        )
    return index[key]


def _whitening(rates: np.ndarray) -> np.ndarray:
    r""":math:`W \Sigma^{-1}` (k, r) of the scaled pair rates (k, M, 3) of k orthonormal
    motions, :math:`RV = U \Sigma W^\top` flattened to (3M, k): the combinations
    :math:`c` with :math:`RVc` orthonormal, r the numerical rank (singular values above
    :math:`\max(3M, k)\,\varepsilon\,\sigma_1`); r = 0 when no motion changes a triple."""
    matrix = rates.reshape(len(rates), math.prod(rates.shape[1:])).T
    if not matrix.size:
        return np.zeros((len(rates), 0))
    _, values, right = np.linalg.svd(matrix, full_matrices=False)
    if not values[0] > 0:
        return np.zeros((len(rates), 0))
    rank = int(np.count_nonzero(values > max(matrix.shape) * ROUNDOFF_EPS * values[0]))
    return right[:rank].T / values[:rank]


def _smallest_eigenvalue(gram: np.ndarray) -> float:
    """The smallest eigenvalue of a symmetric (r, r) matrix (its one entry for r = 1)."""
    return float(gram[0, 0]) if gram.shape == (1, 1) else float(np.linalg.eigvalsh(gram)[0])


def _given_as_rows(neighbors: np.ndarray, motion: Any) -> bool:
    """Whether ``motion`` is k rows (k, 3N) of motions of the ``neighbors`` (N, 3), not one
    motion (3N,) or (N, 3)."""
    shape = np.shape(motion)
    return len(shape) == 2 and shape[1] == neighbors.size and shape != neighbors.shape


def _motion_basis(neighbors: np.ndarray, motion: Any) -> np.ndarray:
    """An orthonormal basis (r, N, 3) of the span of ``motion``: one motion (3N,) or
    (N, 3) of the ``neighbors`` (N, 3), or k rows (k, 3N); r = 0 for a zero motion.
    Refused (:class:`DegeneracyError`) when it does not have 3N components or rows of
    3N, has no row, or has a non-finite component."""
    motion = number_array(motion, "a motion's components")
    size = neighbors.size
    if _given_as_rows(neighbors, motion):
        rows = motion
    else:
        rows = neighbor_motion(neighbors, motion).reshape(1, size)
    if not len(rows):
        raise DegeneracyError(f"a subspace of motions needs at least one row, got {rows.shape}")
    if not np.isfinite(rows).all():
        raise DegeneracyError("a motion has a non-finite component")
    _, values, right = np.linalg.svd(rows, full_matrices=False)
    if not values[0] > 0:
        return np.zeros((0, *neighbors.shape))
    rank = int(np.count_nonzero(values > max(rows.shape) * ROUNDOFF_EPS * values[0]))
    return right[:rank].reshape(rank, *neighbors.shape)


def span_singular_values(
    representation: Representation | None,
    atoms: ase.Atoms,
    motion: object,
    values: np.ndarray | None,
    jacobian: np.ndarray | None = None,
) -> np.ndarray | None:
    """The singular values of the fingerprint's Jacobian at ``atoms`` (``jacobian`` (F,
    3N) where it is known, else computed) on the span of
    ``motion`` (rows (k, 3N), or one motion), descending: the span's own zeros, which the
    frame's ``values`` do not give when the span is not its last singular motions (the
    zeros a symmetry leaves free, :func:`~degeneracy.sensitivity.free_zero_motions`,
    beside forced zeros at round-off). None, and no Jacobian computed, without ``values``,
    for a fingerprint without ``response_weights`` (no weight to bound), when the span has
    as many motions as the frame has zeros (below
    :data:`~degeneracy.sensitivity.spectrum.ZERO_RTOL` :math:`s_1`: it is theirs, and
    ``values`` gives them), or for a motion that is not one of ``atoms``' neighbours
    (refused where it is used)."""
    if values is None or getattr(representation, "response_weights", None) is None:
        return None
    neighbors = neighbor_positions(atoms)
    try:
        basis = _motion_basis(neighbors, motion)
        values = frame_values(values, "explain_zero")
    except DegeneracyError:
        return None
    n_zeros = int(np.count_nonzero(values < ZERO_RTOL * values[0])) if values[0] > 0 else 0
    if not len(basis) or len(basis) == n_zeros:
        return None
    if jacobian is None:
        jacobian = representation.jacobian([atoms])[1][0]
    rows = basis.reshape(len(basis), -1)
    return np.linalg.svd(jacobian @ rows.T, compute_uv=False)


def _span_size(neighbors: np.ndarray, motion: object) -> int:
    """The number of motions in ``motion``: k for rows (k, 3N), else 1 (one motion, (3N,)
    or (N, 3)); checked where the motion is used."""
    return max(1, len(motion)) if _given_as_rows(neighbors, motion) else 1


def _span_rates(neighbors: np.ndarray, motion: Any) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (M, 2) and the rates (r, M, 3) of :func:`pair_triple_rates` along an
    orthonormal basis of the span of ``motion`` (:func:`_motion_basis`)."""
    basis = _motion_basis(neighbors, motion)
    pairs, triples = pair_triples(neighbors)
    return pairs, _triple_rates(neighbors, pairs, triples, basis)


def _moved_by_span(pairs: np.ndarray, rates: np.ndarray) -> set[tuple[int, int]]:
    """The pairs some unit motion of a span turns faster than :data:`MOVING_RATE`, from
    the rates (k, M, 3) of an orthonormal basis: the largest rate of a component over the
    unit motions is the norm of its k rates (:func:`moved_pairs` for k = 1; NaN, a pair
    at 0° or 180°, counts as not moved)."""
    speed = np.sqrt(np.sum(rates**2, axis=0)).max(axis=1)
    return {tuple(pair) for pair, v in zip(pairs.tolist(), speed, strict=True) if v > MOVING_RATE}


def pair_triple_rates(neighbors: np.ndarray, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Rates :math:`\frac{d}{ds}(r_i, r_j, \theta_{ij})` of every pair along a motion.

    With :math:`\hat p_i = p_i / r_i` and :math:`m_i` the motion of neighbour :math:`i`,
    :math:`\dot r_i = \hat p_i \cdot m_i` and

    .. math:: \dot\theta_{ij} = -\frac{1}{\sin\theta_{ij}} \Big(
              \frac{m_i - \dot r_i \hat p_i}{r_i}\cdot\hat p_j +
              \frac{m_j - \dot r_j \hat p_j}{r_j}\cdot\hat p_i\Big)

    (NaN for a pair at 0° or 180°, where :math:`\theta` is not differentiable).

    Parameters
    ----------
    neighbors : array (N, 3) or (3N,)
        Neighbour positions :math:`p_i` relative to the centre (Å) of one environment.
    motion : array (3N,) or (N, 3)
        Neighbour displacements :math:`m_i` (Å per unit of :math:`s`).

    Returns
    -------
    pairs : int array (M, 2)
        Neighbour indices :math:`i < j`, as in :func:`pair_triples`.
    rates : array (M, 3)
        Å/Å for the radii, radians/Å for the angle.

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions (N, 3) or (3N,), or
        ``motion`` does not have 3N components.
    """
    neighbors = neighbor_array(neighbors, "pair_triple_rates")
    motion = neighbor_motion(neighbors, motion)
    pairs, triples = pair_triples(neighbors)
    return pairs, _triple_rates(neighbors, pairs, triples, motion)


def _triple_rates(
    neighbors: np.ndarray, pairs: np.ndarray, triples: np.ndarray, motions: np.ndarray
) -> np.ndarray:
    """:func:`pair_triple_rates` (..., M, 3) along motions (..., N, 3) at once."""
    radii = np.linalg.norm(neighbors, axis=1)
    units = neighbors / radii[:, None]
    radial = np.einsum("na,...na->...n", units, motions)
    turning = (motions - radial[..., None] * units) / radii[:, None]  # d p̂_i / ds
    i, j = pairs[:, 0], pairs[:, 1]
    cosine_rate = np.einsum("...pa,pa->...p", turning[..., i, :], units[j]) + np.einsum(
        "...pa,pa->...p", turning[..., j, :], units[i]
    )
    sines = np.sin(triples[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        angle_rate = np.where(sines > 1e-12, -cosine_rate / sines, np.nan)
    return np.stack([radial[..., i], radial[..., j], angle_rate], axis=-1)
