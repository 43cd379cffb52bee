r"""Neighbours and pairs that a fingerprint's smooth cutoff weights hide.

A neighbour (or pair) whose weight scales the features' response to turning it by
:math:`w` (the fingerprint's ``response_weights``: :math:`c^2` for the OM's weight
:math:`c`, :math:`f_c` for an ACSF neighbour) gives a motion that only turns it a
singular value :math:`s = w g s_1`. The weight is the cause of such a zero when it
accounts for at least half of its smallness, :math:`w \le \sqrt{s / s_1}`
(:func:`unseen_response`). :func:`unseen_pairs_of` names the pairs a fingerprint weighs
out for a frame, :func:`faint_neighbors` the neighbours whose weight could explain a
zero at all, and :class:`WeighedOutNeighbor` where such a neighbour sits
(:class:`WeighedOutPair`: two neighbours whose own distance's weight hides them, ACSF's G4
of a pair nearly a cutoff apart).

Of a span of zeros, each may be explained only by what its own size allows: the j-th
largest of its n spurious zeros by the pairs below its own bound :math:`b_j`, so that
:math:`m_j`, the motions the pairs below :math:`b_j` explain, must be at least
:math:`n - j + 1` (:func:`_graded_count`). An exact zero beside a faint neighbour's
(ACSF's G4 with H4 at 2.49 Å: H4 turning about C–H1 only moves the pairs H2-H4, H3-H4,
2.7–3.5 Å apart, beyond the cutoff) then no longer hides the weight that explains the
others. The span's values are its own
(:func:`~degeneracy.sensitivity.trades.span_singular_values`): beside a symmetry's forced
zeros at round-off (benzene's H environment, the ortho Hs 18 mÅ inside the cutoff) the
frame's last value is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..representations.base import UNSEEN_WEIGHT, Representation, weighed_out_pairs
from ..structures import neighbor_array, vector_lengths
from .spectrum import ZERO_RTOL, frame_values, roundoff_floor, zero_rtol_value


@dataclass(frozen=True)
class WeighedOutNeighbor:
    """A neighbour whose smooth cutoff weight hides its pairs (:func:`explain_zero`):
    ``index`` (atom index − 1), ``radius`` (Å), ``weight`` and the fingerprint's
    ``cutoff`` (Å; None when it has no ``cutoff`` attribute)."""

    index: int
    radius: float
    weight: float
    cutoff: float | None

    def label(self, symbols: Sequence[str]) -> str:
        """``"H1 at 2.49 Å, 0.01 Å inside the cutoff, where its weight 6.4e-05 nearly
        vanishes"``."""
        where = f"{symbols[self.index]}{self.index + 1} at {self.radius:.6g} Å"
        where += _from_the_cutoff(self.radius, self.cutoff)
        return f"{where}, where its weight {self.weight:.1e} nearly vanishes"


def _from_the_cutoff(distance: float, cutoff: float | None) -> str:
    """``", 0.01 Å inside the cutoff"``, ``", at or beyond the cutoff"``, or ``""``
    without a cutoff: where a weighed-out distance sits."""
    if cutoff is None:
        return ""
    if distance < cutoff:
        return f", {cutoff - distance:.2g} Å inside the cutoff"
    return ", at or beyond the cutoff"


@dataclass(frozen=True)
class WeighedOutPair:
    """Two neighbours whose own distance's cutoff weight, nearly vanishing, hides their
    pair (:func:`explain_zero`; the fingerprint's ``pair_cutoff_weights``, e.g. ACSF's G4
    :math:`f_c(r_{jk})`): ``pair`` (atom indices − 1, i < j), ``distance`` (Å) between
    them, ``weight`` (> 0; a pair at or beyond the cutoff, of weight 0, is not named) and
    the fingerprint's ``cutoff`` (Å; None when it has no ``cutoff`` attribute)."""

    pair: tuple[int, int]
    distance: float
    weight: float
    cutoff: float | None

    def label(self, symbols: Sequence[str]) -> str:
        """``"C4-C5 2.44875 Å apart, 0.051 Å inside the cutoff, where their pair weight
        1.0e-03 nearly vanishes"``."""
        i, j = self.pair
        where = f"{symbols[i]}{i + 1}-{symbols[j]}{j + 1} {self.distance:.6g} Å apart"
        where += _from_the_cutoff(self.distance, self.cutoff)
        return f"{where}, where their pair weight {self.weight:.1e} nearly vanishes"


def unseen_response(values: np.ndarray) -> float:
    r"""The response factor under which a fingerprint's cutoff weights explain the zero
    ``values[-1]``: :math:`\sqrt{\max(s, (3N-3)\,\varepsilon\, s_1) / s_1}`.

    A neighbour (or pair) whose weights scale the features' response to turning it by
    :math:`w` (its ``response_weights``: :math:`c^2` for the OM's weight :math:`c`,
    :math:`f_c` for an ACSF neighbour) gives a motion that only turns it a singular value
    :math:`s = w g s_1`, with :math:`g` what the same motion would do at full weight. The
    weight is the cause when it accounts for at least half of that smallness (in
    decades), :math:`w \le g`, i.e. :math:`w \le \sqrt{s/s_1}`; the floor of
    :func:`roundoff_floor` stands in for a zero at round-off.

    The bound follows the zero: as a zero has :math:`s/s_1 <` ``zero_rtol``, it stays
    below :math:`\sqrt{\mathtt{zero\_rtol}}`, 1e-3 for the default (an OM weight of
    0.032, 2.27 Å for a 2.5 Å cutoff; an ACSF neighbour weight of 1e-3, 2.45 Å). A
    neighbour turning at full weight has :math:`g` = 0.006–0.12 with the OM and
    6e-4–0.06 with ACSF G5 (measured, docs/concepts.md): where :math:`g \ge
    \sqrt{\mathtt{zero\_rtol}}` (every OM frame measured) the zeros a weight causes
    are named from where they appear on, else once :math:`w \le g`. A zero far smaller
    than the weight allows (exact, beside an ACSF weight of 1e-5, which would leave
    ~1e-7) is the geometry's, and is not.

    Parameters
    ----------
    values : array (3N-3,)
        One frame's purified singular values, descending.

    Returns
    -------
    float
        The bound on the response factor; 0 when :math:`s_1 = 0` (no weight explains a
        fingerprint blind to everything).

    Raises
    ------
    DegeneracyError
        When ``values`` is not one frame's spectrum.
    """
    values = frame_values(values, "unseen_response")
    if not values[0] > 0:
        return 0.0
    floor = float(roundoff_floor(values[0], len(values)))
    return _response_bound(max(float(values[-1]), floor) / float(values[0]))


def _response_bound(ratio: float) -> float:
    """The response factor under which a weight accounts for at least half of the decades
    of a zero of relative size ``ratio`` = s/s_1: √ratio (:func:`unseen_response`)."""
    return float(np.sqrt(ratio))


def unseen_pairs_of(
    representation: Representation | None,
    neighbors: np.ndarray,
    values: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """The neighbour pairs ``representation`` weighs out, ``[(i, j), ...]`` with i < j.

    With a frame's singular ``values``, from the fingerprint's optional
    ``response_weights``: the pairs whose response factor (or either neighbour's) is
    below :func:`unseen_response` (:func:`weighed_out_pairs`); else, and for a
    fingerprint without them, its optional ``unseen_pairs(neighbors)`` (a weight below
    :data:`~degeneracy.representations.base.UNSEEN_WEIGHT`). Empty for one with neither
    (e.g. SOAP, with a hard cutoff and every angle seen).
    """
    return _unseen_pairs(
        representation, neighbors, _cutoff_response(representation, neighbors, values)
    )


#: A fingerprint's ``response_weights(neighbors)`` (per neighbour, per pair or None) and
#: the :func:`unseen_response` bound below which they hide a neighbour or pair.
_CutoffResponse = tuple[np.ndarray, np.ndarray | None, float]


def _cutoff_response(
    representation: Representation | None, neighbors: np.ndarray, values: np.ndarray | None
) -> _CutoffResponse | None:
    """:data:`_CutoffResponse` of a frame; None without ``values`` or without the
    fingerprint's optional ``response_weights``."""
    respond = getattr(representation, "response_weights", None)
    if values is None or respond is None:
        return None
    per_neighbor, per_pair = respond(neighbors)
    return np.asarray(per_neighbor, dtype=float), per_pair, unseen_response(values)


def _span_bounds(
    values: np.ndarray,
    n_motions: int,
    n_spurious: int | None,
    span_values: np.ndarray | None = None,
) -> np.ndarray:
    r"""The :func:`unseen_response` bound of each of the ``n_spurious`` zeros of a span of
    ``n_motions`` zero motions, largest first, (n,): :math:`\sqrt{\max(\sigma_j,
    (3N-3)\varepsilon s_1)/s_1}` of its n largest values :math:`\sigma_j` (the feature
    count's zeros, exact everywhere, are its smallest).

    The span's values are ``span_values`` (its own singular values,
    :func:`~degeneracy.sensitivity.trades.span_singular_values`) when given, else the last
    ``n_motions`` of the frame's ``values``: the span of the last singular motions, as
    ``values``' contract has it (its last value that of the motion, the smallest of a
    span). They are at most its own
    (Cauchy interlacing), so the bounds are never looser than they should be. ``n_spurious``
    None (or not an integer in [1, ``n_motions``]) is taken as ``n_motions``.
    """
    values = np.asarray(values, dtype=float)
    size = max(1, min(int(n_motions), len(values)))
    try:
        count = int(n_spurious) if n_spurious is not None else size
    except (TypeError, ValueError):  # refused with its own message by explain_zero
        count = size
    count = count if 1 <= count <= size else size
    if not values[0] > 0:
        return np.zeros(count)
    if span_values is None:
        span = values[len(values) - size :]
    else:
        span = np.sort(np.asarray(span_values, dtype=float))[::-1]
    floor = float(roundoff_floor(values[0], len(values)))
    ratios = [max(float(value), floor) / float(values[0]) for value in span[:count]]
    return np.array([_response_bound(ratio) for ratio in ratios])


def _span_responses(
    representation: Representation | None,
    neighbors: np.ndarray,
    values: np.ndarray | None,
    size: int,
    n_spurious: int | None,
    span_values: np.ndarray | None = None,
) -> list[_CutoffResponse | None]:
    """The frame's :func:`_cutoff_response` at the bound of each spurious zero of a span of
    ``size`` motions (:func:`_span_bounds`), the largest bound first; ``[None]`` without
    ``values`` or the fingerprint's ``response_weights``."""
    respond = getattr(representation, "response_weights", None)
    if values is None or respond is None:
        return [None]
    per_neighbor, per_pair = respond(neighbors)
    per_neighbor = np.asarray(per_neighbor, dtype=float)
    bounds = _span_bounds(values, size, n_spurious, span_values)
    return [(per_neighbor, per_pair, float(bound)) for bound in bounds]


def _graded_count(
    first: int,
    stricter: Sequence[Sequence[tuple[int, int]]],
    explained_with: Callable[[list[tuple[int, int]]], int],
) -> int:
    r"""How many of a span's spurious zeros the weighed-out pairs explain when each zero
    may only use the pairs its own bound hides.

    With :math:`b_1 \ge \dots \ge b_n` the bounds of the n spurious zeros
    (:func:`_span_bounds`) and :math:`m_j` the independent motions of the span explained
    with the pairs below :math:`b_j` (``first`` :math:`= \min(m_1, n)`; ``stricter`` the
    pairs of :math:`b_2, \dots, b_n`, ``explained_with`` their :math:`m_j`), the j
    smallest zeros can only use the pairs of :math:`b_j` and fewer, so at most

    .. math:: c = \min\big(m_1,\; \min_{j \ge 2} (m_j + j - 1)\big)

    of them are explained; all n when :math:`m_j \ge n - j + 1` for every j. One bound
    (the span's smallest value, as before) gives :math:`c = m_1`.
    """
    count = first
    known: dict[tuple[tuple[int, int], ...], int] = {}
    for j, pairs in enumerate(stricter, start=2):
        if j - 1 >= count:  # m_j + j - 1 cannot go below the count any more
            break
        key = tuple(pairs)
        if key not in known:
            known[key] = int(explained_with(list(pairs)))
        count = min(count, known[key] + j - 1)
    return count


def _unseen_pairs(
    representation: Representation | None,
    neighbors: np.ndarray,
    response: _CutoffResponse | None,
) -> list[tuple[int, int]]:
    """:func:`unseen_pairs_of`, the frame's :func:`_cutoff_response` computed."""
    if response is not None:
        per_neighbor, per_pair, bound = response
        return weighed_out_pairs(per_neighbor, per_pair, below=bound)
    find_unseen = getattr(representation, "unseen_pairs", None)
    return list(find_unseen(neighbors)) if find_unseen is not None else []


def faint_neighbors(
    representation: Representation | None,
    neighbors: np.ndarray,
    *,
    zero_rtol: float = ZERO_RTOL,
) -> np.ndarray:
    r"""Which neighbours' own cutoff weight is small enough to explain a zero.

    Their response factor (the fingerprint's ``response_weights``: :math:`c^2` for the
    OM, :math:`f_c` for ACSF) is below :math:`\sqrt{\mathtt{zero\_rtol}}`, the bound
    :func:`unseen_response` gives the largest zero, :math:`s = \mathtt{zero\_rtol}\,
    s_1` (1e-3 by default: an OM neighbour beyond 2.27 Å, an ACSF one beyond 2.45 Å for
    a 2.5 Å cutoff). A zero's own bound is lower (:func:`explain_zero` names such a
    neighbour only when its weight is below that and the zero motion only turns it);
    :func:`~degeneracy.find_singular` refuses the steps to a zero that fade one.

    Parameters
    ----------
    representation : Representation or None
        The fingerprint, for its optional ``response_weights``.
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    zero_rtol : float
        Relative size :math:`s/s_1` under which a singular value counts as zero, in
        (0, 1).

    Returns
    -------
    array of bool (N,)
        All False for a fingerprint without ``response_weights`` (e.g. SOAP's hard
        cutoff).

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not one environment's positions or ``zero_rtol`` is not in
        (0, 1).
    """
    neighbors = neighbor_array(neighbors, "faint_neighbors")
    zero_rtol = zero_rtol_value(zero_rtol)
    respond = getattr(representation, "response_weights", None)
    if respond is None:
        return np.zeros(len(neighbors), dtype=bool)
    return np.asarray(respond(neighbors)[0], dtype=float) < _response_bound(zero_rtol)


def _weighed_out_neighbors(
    representation: Representation | None,
    neighbors: np.ndarray,
    unseen: Sequence[tuple[int, int]],
    response: _CutoffResponse | None,
) -> tuple[WeighedOutNeighbor | WeighedOutPair, ...]:
    """The neighbours of the ``unseen`` pairs that their own weight hides: response factor
    below the bound (``response``, the frame's :func:`_cutoff_response`), else a
    ``neighbor_weights`` below :data:`UNSEEN_WEIGHT`; then the pairs of neither such
    neighbour that their own distance's weight hides (:func:`_weighed_out_pairs`)."""
    weights_of = getattr(representation, "neighbor_weights", None)
    if weights_of is None:
        return ()
    weights = np.asarray(weights_of(neighbors), dtype=float)
    hidden = weights < UNSEEN_WEIGHT if response is None else response[0] < response[2]
    radii = vector_lengths(neighbors)
    cutoff = getattr(representation, "cutoff", None)
    cutoff = None if cutoff is None else float(cutoff)
    named = tuple(
        WeighedOutNeighbor(
            index=k,
            radius=float(radii[k]),
            weight=float(weights[k]),
            cutoff=cutoff,
        )
        for k in sorted({k for pair in unseen for k in pair})
        if hidden[k]
    )
    rest = [(i, j) for i, j in unseen if not (hidden[i] or hidden[j])]
    return named + _weighed_out_pairs(representation, neighbors, rest, response, cutoff)


def _weighed_out_pairs(
    representation: Representation | None,
    neighbors: np.ndarray,
    unseen: Sequence[tuple[int, int]],
    response: _CutoffResponse | None,
    cutoff: float | None,
) -> tuple[WeighedOutPair, ...]:
    r"""Of the ``unseen`` pairs, those the fingerprint's ``pair_cutoff_weights`` (the weight
    of their own distance, e.g. ACSF's G4 :math:`f_c(r_{jk})`) hides on its own, as a
    neighbour's hides it: the factor that weight puts in the pair's response (the pair's
    response factor over its neighbours', :math:`\sqrt{f_c(r_{jk})}` for ACSF) is below
    the bound (``response``), else (no ``response``) that weight is below
    :data:`UNSEEN_WEIGHT`. A pair whose weight is 0 (at or beyond the cutoff, e.g. G4 of
    two neighbours a cutoff apart) is left unnamed, as before: it is in the pair list."""
    own_of = getattr(representation, "pair_cutoff_weights", None)
    own = None if own_of is None or not unseen else own_of(neighbors)
    if own is None:
        return ()
    own = np.asarray(own, dtype=float)
    first, second = np.triu_indices(len(neighbors), k=1)
    index = {(int(i), int(j)): p for p, (i, j) in enumerate(zip(first, second, strict=True))}
    named = []
    for i, j in sorted(unseen):
        p = index[(i, j)]
        if not own[p] > 0:
            continue
        if response is None:
            faint = own[p] < UNSEEN_WEIGHT
        else:
            per_neighbor, per_pair, bound = response
            faint = per_pair is not None and float(per_pair[p]) < bound * float(
                per_neighbor[i] * per_neighbor[j]
            )
        if faint:
            distance = float(np.linalg.norm(neighbors[i] - neighbors[j]))
            named.append(WeighedOutPair((i, j), distance, float(own[p]), cutoff))
    return tuple(named)
