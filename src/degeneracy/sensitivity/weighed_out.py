r"""Neighbours and pairs that a fingerprint's smooth cutoff weights hide.

A neighbour (or pair) whose weight scales the features' response to turning it by
:math:`w` (the fingerprint's ``response_weights``: :math:`c^2` for the OM's weight
:math:`c`, :math:`f_c` for an ACSF neighbour) gives a motion that only turns it a
singular value :math:`s = w g s_1`. The weight is the cause of such a zero when it
accounts for at least half of its smallness, :math:`w \le \sqrt{s / s_1}`
(:func:`unseen_response`). :func:`unseen_pairs_of` names the pairs a fingerprint weighs
out for a frame, :func:`faint_neighbors` the neighbours whose weight could explain a
zero at all, and :class:`WeighedOutNeighbor` where such a neighbour sits.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        if self.cutoff is not None and self.radius < self.cutoff:
            where += f", {self.cutoff - self.radius:.2g} Å inside the cutoff"
        elif self.cutoff is not None:
            where += ", at or beyond the cutoff"
        return f"{where}, where its weight {self.weight:.1e} nearly vanishes"


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
) -> tuple[WeighedOutNeighbor, ...]:
    """The neighbours of the ``unseen`` pairs that their own weight hides: response factor
    below the bound (``response``, the frame's :func:`_cutoff_response`), else a
    ``neighbor_weights`` below :data:`UNSEEN_WEIGHT`."""
    weights_of = getattr(representation, "neighbor_weights", None)
    if weights_of is None:
        return ()
    weights = np.asarray(weights_of(neighbors), dtype=float)
    hidden = weights < UNSEEN_WEIGHT if response is None else response[0] < response[2]
    radii = vector_lengths(neighbors)
    cutoff = getattr(representation, "cutoff", None)
    return tuple(
        WeighedOutNeighbor(
            index=k,
            radius=float(radii[k]),
            weight=float(weights[k]),
            cutoff=None if cutoff is None else float(cutoff),
        )
        for k in sorted({k for pair in unseen for k in pair})
        if hidden[k]
    )
