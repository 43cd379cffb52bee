r"""What a spurious zero moves that the fingerprint cannot see.

A zero motion, or a span of them, is explained when it only trades equal neighbour pairs
against each other (:mod:`~degeneracy.sensitivity.coincidences`), turns pairs the
fingerprint weighs out (:mod:`~degeneracy.sensitivity.weighed_out`), both with
:math:`\rho <` :data:`~degeneracy.sensitivity.trades.PAIR_SWAP_TOL`, or lies in the
blind subspace of equidistant neighbours (:mod:`~degeneracy.sensitivity.truncation`).
Of a span of k zeros, ``n_spurious`` independent motions must be,

.. math:: \dim\big(E_\mathrm{pairs} + E_\mathrm{trunc}\big) \ge n_\mathrm{spurious},

which depends on the span only, not on the basis the SVD returned
(:func:`explain_zero`, the rule's one place :func:`explain_zero_motion`); where the
trades of distinct pairs fall short, a pair traded with its own reverse is tried too.
:class:`ZeroExplanation` holds the result, :func:`zero_reason` and
:func:`explained_verdict` the text of the 'zeros' column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial as partial_function
from typing import Any

import ase
import numpy as np

from ..checks import true_or_false
from ..errors import DegeneracyError
from ..representations.base import Representation, fingerprint
from ..structures import neighbor_array, neighbor_positions, one_frame
from .coincidences import (
    COINCIDENCE_TOL,
    CoincidentPairs,
    _self_reverse_pairs,
    coincidence_labels,
    coincident_pairs,
    pair_labels,
    pair_triples,
)
from .spectrum import frame_values
from .symmetry import _neighbor_species
from .trades import (
    MOVING_RATE,
    PAIR_SWAP_TOL,
    _motion_basis,
    _moved_by_span,
    _scaled_rates,
    _span_size,
    _spurious_count,
    _triple_rates,
    _unexplained_rates,
    _whitening,
    span_singular_values,
)
from .truncation import TruncationZeros, _blind_span, _BlindSpan
from .weighed_out import (
    WeighedOutNeighbor,
    WeighedOutPair,
    _CutoffResponse,
    _graded_count,
    _span_responses,
    _unseen_pairs,
    _weighed_out_neighbors,
)


@dataclass(frozen=True)
class ZeroExplanation:
    """What a zero motion, or a span of them, moves unseen (:func:`explain_zero`).

    ``swapped``: the groups of equal pairs it trades against each other (one marked
    ``self_reverse`` also, or only, a pair's radii against each other); ``unseen``: the
    pairs whose angle it turns although the fingerprint cannot see them; ``residual``:
    its :func:`pair_swap_residual` (of a span, ρ_n: the smallest ρ that the n motions
    asked about all stay within); ``weighed_out``: the neighbours of ``unseen`` pairs
    whose own cutoff weight hides them, then the pairs of neither that the weight of
    their own distance hides (:class:`WeighedOutPair`: ACSF's G4 of two neighbours nearly
    a cutoff apart; none a cutoff or more apart, or when not known); ``truncation``: when it
    lies among the motions of neighbours at one distance per species that the fingerprint
    sees through too few sums, those (:func:`truncation_zeros`). Of a span, the groups
    and pairs are those some motion of it with ρ below :data:`PAIR_SWAP_TOL` moves, and
    ``truncation`` is set when some motion of it lies in the blind subspace.
    ``n_explained``: None when every motion asked about is explained; the number m of
    independent ones that are when fewer are (``partial`` of :func:`explain_zero`; ρ is
    then :math:`\rho_m` and the labels are of those m).
    """

    swapped: list[CoincidentPairs]
    unseen: list[tuple[int, int]]
    residual: float
    weighed_out: tuple[WeighedOutNeighbor | WeighedOutPair, ...] = ()
    truncation: TruncationZeros | None = None
    n_explained: int | None = None

    def labels(self, symbols: Sequence[str]) -> tuple[str | None, str | None]:
        """``swapped`` and ``unseen`` as text (``"H2-H3 = H4-H3"``, ``"H1-H2, H1-H4"``),
        None where empty; with ``weighed_out`` neighbours, ``unseen`` ends with what
        hides them: ``"H1-H2, H1-H3 (H1 at 2.49 Å, 0.01 Å inside the cutoff, where its
        weight 6.4e-05 nearly vanishes)"``."""
        swapped = coincidence_labels(self.swapped, symbols) if self.swapped else None
        unseen = pair_labels(self.unseen, symbols)
        if unseen and self.weighed_out:
            unseen += f" ({'; '.join(n.label(symbols) for n in self.weighed_out)})"
        return swapped, unseen or None

    @property
    def truncation_label(self) -> str | None:
        """``truncation`` as text (``"H at 1.09 Å: 9 motions seen through 8 sums"``), or
        None."""
        return None if self.truncation is None else self.truncation.label()

    def reason(self, symbols: Sequence[str]) -> str:
        """:func:`zero_reason` of :meth:`labels` and :attr:`truncation_label`."""
        return zero_reason(*self.labels(symbols), self.truncation_label)


def zero_reason(
    swapped: str | None,
    unseen: str | None,
    truncation: str | None = None,
    *,
    plural: bool = False,
) -> str:
    """``"swaps equal pairs H2-H3 = H4-H3"``, ``"turns pairs it cannot see H1-H2"``,
    ``"moves equidistant neighbours (H at 1.09 Å: 9 motions seen through 8 sums)"``, those
    that apply joined by "and", or "" (the labels of :meth:`ZeroExplanation.labels` and
    :attr:`ZeroExplanation.truncation_label`); with ``plural``, "swap", "turn", "move"
    (after "2 of 3 zeros", :func:`explained_verdict`)."""
    ending = "" if plural else "s"
    parts = [f"swap{ending} equal pairs {swapped}"] if swapped else []
    if unseen:
        parts.append(f"turn{ending} pairs it cannot see {unseen}")
    if truncation:
        parts.append(f"move{ending} equidistant neighbours ({truncation})")
    return " and ".join(parts)


#: The 'zeros' column's text for the verdict ``"kink"`` (:func:`explained_verdict`).
KINK_TEXT = "kink: no derivative here, the spectrum is one-sided"


def explained_verdict(
    verdict: str,
    swapped: str | None,
    unseen: str | None,
    near_symmetry_distance: float | None = None,
    truncation: str | None = None,
    *,
    n_explained: int | None = None,
    n_spurious: int | None = None,
    near_symmetry_zero_distance: float | None = None,
) -> str:
    """``"spurious: swaps equal pairs H2-H3 = H4-H3"``: a verdict with :func:`zero_reason`
    when there is one, ``"near-symmetry: 0.0021 Å"`` with the distance to the symmetric
    environment (:func:`near_symmetry`, and the margin when the guard reached a zero
    without symmetry: :func:`near_symmetry_text`), or :data:`KINK_TEXT` for ``"kink"``:
    the 'zeros' column of ``spectrum`` and ``scan``.

    When the reason explains only ``n_explained`` of the ``n_spurious`` spurious zeros
    (:attr:`FrameAnalysis.n_explained_zeros`, :attr:`FrameAnalysis.n_spurious_zeros`),
    it says so: ``"spurious: 1 of 2 zeros turns pairs it cannot see H1-H3, H2-H3; 1
    unexplained"``. Without the counts, or with all of them explained, as above.
    """
    if verdict == "kink":
        return KINK_TEXT
    if near_symmetry_distance is not None:
        return f"{verdict}: " + near_symmetry_text(
            near_symmetry_distance, near_symmetry_zero_distance
        )
    reason = zero_reason(swapped, unseen, truncation)
    if not reason:
        return verdict
    partial = partial_reason(swapped, unseen, truncation, n_explained, n_spurious)
    return f"{verdict}: {partial or reason}"


def near_symmetry_text(distance: float, zero_distance: float | None = None) -> str:
    """``"0.0073 Å"``, the distance to the symmetric environment of a ``near-symmetry``
    verdict, or ``"0.0073 Å, a zero without symmetry 0.0059 Å away"`` with its margin
    (:attr:`NearSymmetry.zero_distance`, at least 0.1 of the distance: a nearer zero
    makes the frame ``spurious``). Near the fcc and hcp 12-shells and the icosahedron
    ACSF has such zeros at 0.08–0.12 of the distance (docs/concepts.md): a margin near
    0.1 says the verdict is close to ``spurious``."""
    text = f"{distance:.2g} Å"
    if zero_distance is None:
        return text
    return f"{text}, {near_symmetry_margin(zero_distance)}"


def near_symmetry_margin(zero_distance: float) -> str:
    """``"a zero without symmetry 0.0059 Å away"``: the margin of a ``near-symmetry``
    verdict (:func:`near_symmetry_text`; ``singular``'s verdict line)."""
    return f"a zero without symmetry {zero_distance:.2g} Å away"


def partial_reason(
    swapped: str | None,
    unseen: str | None,
    truncation: str | None,
    n_explained: int | None,
    n_spurious: int | None,
) -> str | None:
    """``"1 of 2 zeros turns pairs it cannot see H1-H3, H2-H3; 1 unexplained"``, ``"2 of
    3 zeros swap equal pairs ...; 1 unexplained"``: the :func:`zero_reason` of a label
    that explains some but not all of ``n_spurious`` zeros; None when both counts are
    not given, or none or all of the zeros are explained (:func:`explained_verdict`,
    ``singular``'s verdict)."""
    if n_explained is None or n_spurious is None or not 0 < n_explained < n_spurious:
        return None
    reason = zero_reason(swapped, unseen, truncation, plural=n_explained > 1)
    return f"{n_explained} of {n_spurious} zeros {reason}; {n_spurious - n_explained} unexplained"


def explain_zero(
    atoms: ase.Atoms,
    motion: np.ndarray,
    representation: Representation | None = None,
    *,
    values: np.ndarray | None = None,
    n_spurious: int | None = None,
    partial: bool = False,
) -> ZeroExplanation | None:
    r"""Whether the zero motion (3N,), or the span of zero motions (k, 3N), of environment
    ``atoms`` only moves neighbour pairs that ``representation`` cannot see there, and which.

    Such pairs are equal pairs traded against each other (:func:`coincident_pairs`; every
    ν = 2 fingerprint), including, where those trades do not explain the motion, a pair
    of equidistant neighbours of one species traded with its own reverse (its radii
    against each other, ``"H2-H3 = H3-H2"``: :func:`explain_zero_motion`), and pairs whose
    term the fingerprint weighs out
    (:func:`unseen_pairs_of`: ACSF's G4 beyond the cutoff, or a neighbour near a smooth
    cutoff); given the frame's singular ``values``, those whose weights account for at
    least half of the zero's smallness (:func:`unseen_response`). None when the motion
    does more (:func:`pair_swap_residual` ≥ :data:`PAIR_SWAP_TOL`) or no such pair exists,
    unless it only moves neighbours that sit at one distance per species in ways the
    fingerprint sees through too few sums (:func:`truncation_zeros`: SOAP's power
    spectrum at l_max ≤ 4 for CH4 at one C–H distance, or at the default l_max 8 for six
    or more; the default bispectrum for nine or more).
    :func:`explain_zero_motion` with the frame's equal pairs, the rule's one place
    (:func:`~degeneracy.find_singular` labels its zeros with it too).

    **A span of zeros.** Where several singular values are zero the SVD returns an
    arbitrary orthonormal basis of their span (:func:`free_zero_motions`), so a verdict
    read off one of its vectors depended on which the SVD returned. Given k rows, the
    span is explained when ``n_spurious`` independent motions of it are (all k by
    default: every motion of the span), each by a trade of the equal and unseen pairs or
    by the equidistant neighbours' blind subspace :math:`B`:

    .. math:: \dim\big(E_\mathrm{pairs} + E_\mathrm{trunc}\big) \ge n_\mathrm{spurious},

    with :math:`E_\mathrm{pairs}` the motions of the span whose :math:`\rho` is below
    :data:`PAIR_SWAP_TOL` (the generalized singular vectors of
    :func:`pair_swap_residual`'s pencil on the span, whose values :math:`\rho_1 \le \dots
    \le \rho_k` satisfy :math:`\rho_j = \min_{\dim S = j} \max_{m \in S} \rho(m)`,
    Courant–Fischer) and :math:`E_\mathrm{trunc}` those within :data:`PAIR_SWAP_TOL` of
    :math:`B` (the principal vectors of the span and :math:`B` whose angle's sine is
    below it); two explained directions less than
    :math:`\arccos(1 - \mathtt{PAIR\_SWAP\_TOL})` (2.6°) apart count once. The labels
    name what some motion of :math:`E_\mathrm{pairs}` moves (faster than
    :data:`MOVING_RATE` along a unit motion) and the truncation whenever
    :math:`E_\mathrm{trunc}` is not empty. All of it depends on the span only, not on
    its basis; for k = 1 it is the motion's own test. :func:`classify_zeros` asks it about
    the zeros the symmetry leaves free, with ``n_spurious`` the number of them the
    feature count does not account for: "explained" is said of every spurious zero, not
    of one, so that a named blind spot cannot hide another zero beside it.

    **Part of a span.** With ``partial``, when fewer than ``n_spurious`` independent
    motions are explained, the explanation of the largest number m ≥ 1 that are (the
    dimension of :math:`E_\mathrm{pairs} + E_\mathrm{trunc}`, the labels theirs, ρ
    :math:`\rho_m`) comes back with ``n_explained`` m, so that a blind spot beside an
    unexplained zero is still named (:func:`classify_zeros`: ``"spurious: 1 of 2 zeros
    turns pairs it cannot see H1-H3, H2-H3; 1 unexplained"``). It is looked for only
    where the whole span's test fails; of the two pair models
    (:func:`explain_zero_motion`) the one that explains more, the first on a tie.

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    motion : array (3N,), (N, 3) or (k, 3N)
        The zero motion (e.g. ``Spectrum.motions[f, -1]``), or k rows spanning the zero
        motions (e.g. :func:`free_zero_motions`).
    representation : Representation, optional
        The fingerprint, for its optional ``unseen_pairs``, ``response_weights``,
        ``neighbor_weights``, ``first_order_invariants`` and ``cutoff``; without it only equal
        pairs (:func:`coincident_pairs`, default tolerance) explain a zero.
    values : array (3N-3,), optional
        The frame's purified singular values, descending (``Spectrum.values[f]``); without
        them a fixed weight (:data:`~degeneracy.representations.base.UNSEEN_WEIGHT`)
        decides. With a fingerprint that has ``response_weights``, each zero of the span
        is held to the bound of its own singular value: the last k of ``values`` when the
        span has as many motions as the frame has zeros, else measured on the
        fingerprint's Jacobian at ``atoms`` (one more Jacobian; the free zeros beside a
        symmetry's forced ones).
    n_spurious : int, optional
        How many independent motions of the span must be explained, 1 ≤ n ≤ k; k (every
        motion) by default.
    partial : bool
        Whether to explain the most motions of the span that can be explained when fewer
        than ``n_spurious`` are (``n_explained`` of the result), rather than return None.

    Returns
    -------
    ZeroExplanation or None
        The groups of equal pairs the motions trade and the unseen pairs they turn, with
        :math:`\rho_{n}` (``residual``), the neighbours whose weight hides their pairs
        (``weighed_out``) and the equidistant neighbours they move (``truncation``); None
        as above. With ``partial``, that of the m < n explained motions when fewer are
        (``n_explained`` m, ``residual`` :math:`\rho_m`); None only when none is.

    Raises
    ------
    DegeneracyError
        When ``motion`` does not have 3N components (or rows of 3N) or a finite one
        (checked only when there are equal or unseen pairs, or equidistant neighbours the
        fingerprint sees through too few sums), ``n_spurious`` is not an integer in
        [1, k], or ``values`` is not one frame's spectrum.
    """
    partial = true_or_false("partial", partial)
    atoms = one_frame(atoms, name="explain_zero")
    representation = None if representation is None else fingerprint(representation)
    neighbors = neighbor_positions(atoms)
    species = atoms.numbers[1:]
    groups = coincident_pairs(neighbors, species)
    return explain_zero_motion(
        neighbors,
        motion,
        groups,
        representation,
        values=values,
        species=species,
        n_spurious=n_spurious,
        partial=partial,
        span_values=span_singular_values(representation, atoms, motion, values),
    )[1]


def explain_zero_motion(
    neighbors: np.ndarray,
    motion: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    representation: Representation | None = None,
    *,
    values: np.ndarray | None = None,
    species: Sequence[int] | None = None,
    n_spurious: int | None = None,
    partial: bool = False,
    span_values: np.ndarray | None = None,
) -> tuple[float, ZeroExplanation | None]:
    r""":func:`explain_zero` of an environment whose equal pairs are already found, with
    the motion's :func:`pair_swap_residual` (:math:`\rho_n` of a span).

    The one place of the rule: the pairs the fingerprint weighs out are those of
    :func:`unseen_pairs_of` (with ``values``, a response factor below
    :func:`unseen_response`, :math:`w \le \sqrt{\max(s, (3N-3)\varepsilon s_1)/s_1}`;
    without, a weight below :data:`~degeneracy.representations.base.UNSEEN_WEIGHT`; of a
    span, each of its ``n_spurious`` zeros held to its own such bound, the largest zero to
    the largest: :func:`~degeneracy.sensitivity.weighed_out._graded_count`), and
    the motion is explained when it moves nothing else (:func:`explain_motion`,
    ρ < :data:`PAIR_SWAP_TOL`), or, with ``species``, when it lies among the motions of
    equidistant neighbours the fingerprint sees through too few sums
    (:func:`truncation_zeros`); a span of k motions when ``n_spurious`` independent
    motions of it are, either way (:func:`explain_zero`).
    :func:`~degeneracy.find_singular` labels its zeros with it (and guards its steps with
    the same bound at the largest zero, :func:`faint_neighbors`).

    **A pair traded with its own reverse.** With ``species``, when this falls short and
    some pair of neighbours of one species has :math:`|r_i - r_j| <`
    :data:`COINCIDENCE_TOL`, the rule is asked again with those pairs grouped with their
    own reverses (``coincidences`` with each such pair's group marked ``self_reverse``, or
    the pair a group of its own: :func:`coincident_pairs`), whose :math:`r_i - r_j` rate
    :func:`pair_swap_residual` then leaves out. ρ can only fall by it (its quotient's
    numerator shrinks), so this decides as the larger model alone would; asking the
    smaller first keeps the explanation, its labels and ρ those of the trades of distinct
    pairs where they suffice. (Asked at once, ACSF's two zeros with H2-H4 = H3-H4 and
    r_3 - r_2 = 1.6e-5 Å, ``tests/test_zero_labels_subspace.py``, would also name
    "H2-H3 = H3-H2", for a stretch of 3e-5 Å/Å in the trade's motion, and ρ_2 would fall
    from 3.9e-5 to 1.9e-5.) A pair alone with its reverse is named when the explained
    motions change its :math:`r_i - r_j`, not merely its triple. Example (ACSF, 1e-7 Å
    from that mirror, three zeros, ``tests/test_self_reverse_pairs.py``): "swaps equal
    pairs H2-H3 = H3-H2; H2-H4 = H3-H4 and turns pairs it cannot see H1-H2, H1-H3".

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    motion : array (3N,), (N, 3) or (k, 3N)
        The zero motion (e.g. ``Spectrum.motions[f, -1]``), or k rows spanning the zero
        motions (e.g. :func:`free_zero_motions`).
    coincidences : sequence of CoincidentPairs
        The environment's equal pairs (:func:`coincident_pairs`).
    representation : Representation, optional
        The fingerprint (see :func:`explain_zero`).
    values : array (3N-3,), optional
        The frame's purified singular values, descending, the last that of ``motion``.
    species : sequence of int (N,), optional
        The neighbours' atomic numbers, for the fingerprint's ``first_order_invariants``
        and the pairs equal to their own reverse; without them no truncation and no such
        pair explains a zero.
    n_spurious : int, optional
        How many independent motions of the span must be explained (k by default).
    partial : bool
        Explain the most motions that can be when fewer than ``n_spurious`` are
        (:func:`explain_zero`).
    span_values : array (k,), optional
        The span's own singular values (:func:`explain_zero` measures them on the
        fingerprint's Jacobian), for the bounds of its zeros; without them the last k of
        ``values``, the span of the last singular motions.

    Returns
    -------
    residual : float
        :math:`\rho_n` (:func:`explain_zero`; for one motion its
        :func:`pair_swap_residual`) with the equal and the unseen pairs (and the pairs'
        own reverses when those are what explain it); 1.0 without either (``motion``
        then unchecked by the pairs) or for a zero motion. Of the n motions also when
        the explanation is partial (its own ``residual`` is then :math:`\rho_m`).
    explanation : ZeroExplanation or None
        As :func:`explain_zero` returns it.

    Raises
    ------
    DegeneracyError
        As :func:`explain_zero`.
    """
    neighbors = neighbor_array(neighbors, "explain_zero_motion")
    if values is not None:
        values = frame_values(values, "explain_zero")
        if len(values) != 3 * len(neighbors) - 3:
            raise DegeneracyError(
                f"explain_zero: {len(neighbors)} neighbours have {3 * len(neighbors) - 3} "
                f"singular values (3N-3), got {len(values)}"
            )
    # one cutoff response per spurious zero of the span, the largest zero's first
    size = _span_size(neighbors, motion) if span_values is None else len(span_values)
    responses = _span_responses(representation, neighbors, values, size, n_spurious, span_values)
    response = responses[0]
    unseen = _unseen_pairs(representation, neighbors, response)
    stricter = [_unseen_pairs(representation, neighbors, r) for r in responses[1:]]
    blind = None if species is None else _blind_span(representation, neighbors, species, motion)
    models = [list(coincidences)]
    if species is not None:  # the pairs' own reverses, where the trades above fall short
        own = _with_own_reverses(
            neighbors, coincidences, _neighbor_species(neighbors, species, "explain_zero_motion")
        )
        if any(group.self_reverse for group in own):
            models.append(own)
    residual = 1.0  # ρ_n of the first model: reported when neither explains the motion
    best: ZeroExplanation | None = None  # the partial explanation of the most motions
    for model, groups in enumerate(models):
        paired = _pair_span(neighbors, motion, groups, unseen) if groups or unseen else None
        if paired is None and blind is None:
            continue
        dimension = len(paired.residuals) if paired is not None else blind.dimension
        if not dimension:  # a zero motion explains nothing
            return 1.0, None
        n = _spurious_count(n_spurious, dimension)
        rho = 1.0 if paired is None else float(paired.residuals[n - 1])
        residual = rho if model == 0 else residual
        with_pairs = partial_function(_explained_dimension, neighbors, motion, groups, blind)
        explained = _span_explanation(
            representation,
            neighbors,
            response,
            paired,
            blind,
            n,
            partial=partial,
            graded=partial_function(_graded_count, stricter=stricter, explained_with=with_pairs),
        )
        if explained is not None and explained.n_explained is None:
            return rho, explained
        if explained is not None and (best is None or explained.n_explained > best.n_explained):
            best = explained
    return residual, best


def _span_explanation(
    representation: Representation | None,
    neighbors: np.ndarray,
    response: _CutoffResponse | None,
    paired: _PairSpan | None,
    blind: _BlindSpan | None,
    n: int,
    *,
    partial: bool,
    graded: Any = None,
) -> ZeroExplanation | None:
    """:func:`explain_zero_motion`'s explanation of one pair model: of the ``n`` motions
    asked about when the span's explained motions (``paired``'s and ``blind``'s) reach
    ``n`` dimensions; with ``partial``, of the m they reach when 0 < m < n
    (``n_explained`` m, ρ_m); else None. ``graded`` lowers m to what the zeros' own
    bounds allow (:func:`~degeneracy.sensitivity.weighed_out._graded_count`)."""
    empty = np.zeros((0, neighbors.size))
    by_pairs = empty if paired is None else paired.explained
    by_truncation = empty if blind is None else blind.explained
    m = min(_joint_dimension(by_pairs, by_truncation), n)
    if m and graded is not None:
        m = graded(m)
    if not m or (m < n and not partial):
        return None
    swapped, turned = (paired.swapped, paired.unseen) if len(by_pairs) else ([], [])
    hidden = _weighed_out_neighbors(representation, neighbors, turned, response) if turned else ()
    rho = 1.0 if paired is None else float(paired.residuals[m - 1])
    return ZeroExplanation(
        swapped=swapped,
        unseen=turned,
        residual=rho,
        weighed_out=hidden,
        truncation=blind.truncation if len(by_truncation) else None,
        n_explained=None if m == n else m,
    )


def _explained_dimension(
    neighbors: np.ndarray,
    motion: Any,
    coincidences: Sequence[CoincidentPairs],
    blind: _BlindSpan | None,
    unseen: list[tuple[int, int]],
) -> int:
    """The dimension of the motions of the span ``motion`` that the equal pairs and the
    ``unseen`` ones (:func:`_pair_span`) or the blind subspace (``blind``) explain."""
    by_truncation = np.zeros((0, neighbors.size)) if blind is None else blind.explained
    if not (coincidences or unseen):
        return len(by_truncation)
    by_pairs = _pair_span(neighbors, motion, coincidences, unseen).explained
    return _joint_dimension(by_pairs, by_truncation)


def _joint_dimension(first: np.ndarray, second: np.ndarray) -> int:
    r"""The dimension of the sum of two spans with orthonormal rows (p, 3N) and (q, 3N):
    the eigenvalues of :math:`\Pi_1 + \Pi_2` above :data:`PAIR_SWAP_TOL`, i.e. two
    directions at an angle :math:`\theta` count twice when :math:`1 - \cos\theta`
    exceeds it (each span is known to that tolerance)."""
    if not len(first) or not len(second):
        return len(first) + len(second)
    values = np.linalg.svd(np.vstack([first, second]), compute_uv=False)
    return int(np.count_nonzero(values**2 > PAIR_SWAP_TOL))


@dataclass(frozen=True)
class _PairSpan:
    r"""How the equal and unseen pairs explain a span of motions (:func:`_pair_span`).

    ``residuals``: :math:`\rho_1 \le \dots \le \rho_k` (:func:`explain_zero`);
    ``explained``: orthonormal rows (p, 3N) spanning its motions with :math:`\rho` below
    :data:`PAIR_SWAP_TOL`; ``swapped`` and ``unseen``: the groups and unseen pairs some
    unit motion of those moves faster than :data:`MOVING_RATE`."""

    residuals: np.ndarray
    explained: np.ndarray
    swapped: list[CoincidentPairs]
    unseen: list[tuple[int, int]]


def _pair_span(
    neighbors: np.ndarray,
    motion: Any,
    coincidences: Sequence[CoincidentPairs],
    unseen: Sequence[tuple[int, int]],
) -> _PairSpan:
    """:class:`_PairSpan` of ``motion`` (3N,), (N, 3) or rows (k, 3N): the generalized
    singular values and vectors of :func:`pair_swap_residual`'s pencil on its span
    (:func:`_least_unexplained` keeps only the smallest); a motion that changes no pair
    triple counts as ρ = 1, as :func:`pair_swap_residual` has it."""
    basis = _motion_basis(neighbors, motion)  # (k, N, 3), orthonormal
    size = neighbors.size
    pairs, triples = pair_triples(neighbors)
    rates = _triple_rates(neighbors, pairs, triples, basis)
    scaled = _scaled_rates(neighbors, rates)
    whitening = _whitening(scaled)  # (k, r)
    residuals = np.ones(len(basis))  # ρ = 1 along motions that change no triple
    explained = np.zeros((0, size))
    if whitening.shape[1]:
        totals = _unexplained_rates(pairs, scaled, coincidences, unseen)
        whitened = totals.reshape(len(totals), -1).T @ whitening  # (3M, r)
        _, rho, right = np.linalg.svd(whitened, full_matrices=False)  # ρ descending
        residuals = np.sort(np.concatenate([rho, np.ones(len(basis) - len(rho))]))
        below = rho < PAIR_SWAP_TOL
        if below.any():  # their motions: coefficients on the basis, then orthonormal rows
            combined = (whitening @ right[below].T).T @ basis.reshape(len(basis), size)
            explained = _motion_basis(neighbors, combined).reshape(-1, size)
    moving: set[tuple[int, int]] = set()
    stretched: set[tuple[int, int]] = set()
    if len(explained):
        along = explained.reshape(len(explained), *neighbors.shape)
        explained_rates = _triple_rates(neighbors, pairs, triples, along)
        moving = _moved_by_span(pairs, explained_rates)
        stretched = _stretched_by_span(pairs, explained_rates)
    return _PairSpan(
        residuals=residuals,
        explained=explained,
        swapped=[g for g in coincidences if _traded(g, moving, stretched)],
        unseen=[pair for pair in unseen if pair in moving],
    )


def _traded(
    group: CoincidentPairs, moving: set[tuple[int, int]], stretched: set[tuple[int, int]]
) -> bool:
    """Whether a span trades within ``group``: it moves a member (``moving``,
    :func:`_moved_by_span`); a pair alone with its own reverse only through the trade of
    its two radii (``stretched``, :func:`_stretched_by_span`), as its symmetric change is
    no trade."""
    if group.self_reverse and len(group.pairs) == 1:
        return tuple(sorted(group.pairs[0])) in stretched
    return any(tuple(sorted(pair)) in moving for pair in group.pairs)


def _stretched_by_span(pairs: np.ndarray, rates: np.ndarray) -> set[tuple[int, int]]:
    r"""The pairs whose :math:`(r_i - r_j)/\sqrt 2` some unit motion of a span changes
    faster than :data:`MOVING_RATE`, from the rates (k, M, 3) of an orthonormal basis (the
    norm of its k rates, as :func:`_moved_by_span`): the part of a pair's change that a
    trade with its own reverse explains (:func:`_unexplained_rates`)."""
    speed = np.sqrt(np.sum((rates[..., 0] - rates[..., 1]) ** 2 / 2.0, axis=0))
    return {tuple(pair) for pair, v in zip(pairs.tolist(), speed, strict=True) if v > MOVING_RATE}


def _with_own_reverses(
    neighbors: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    species: np.ndarray,
    tol: float = COINCIDENCE_TOL,
) -> list[CoincidentPairs]:
    r"""``coincidences`` with every pair that equals its own reverse added: as
    ``coincident_pairs(..., self_reverse=True)`` does it, but to given groups (whatever
    tolerance made them).

    A pair :math:`(i, j)` with :math:`s_i = s_j` and :math:`|r_i - r_j| <` ``tol``
    coincides with :math:`(j, i)` (:func:`coincident_pairs`): a group holding one is marked
    ``self_reverse`` (its ``mismatch`` at least :math:`|r_i - r_j|` of its first pair),
    and such a pair in no group becomes a group of its own. :func:`pair_swap_residual`
    then leaves each marked group only the symmetric part of its summed rates
    unexplained,

    .. math:: P_\mathrm{sym}\Big(\sum_{p \in G} \dot t_p\Big), \qquad
              P_\mathrm{sym}(a, b, c) = \Big(\frac{a+b}{2}, \frac{a+b}{2}, c\Big),

    as its members' summed term :math:`G(t) = g(r_i, r_j, \theta) + g(r_j, r_i, \theta)`
    is symmetric in :math:`r_i, r_j`, so at :math:`r_i = r_j` its gradient is of the form
    :math:`(a, a, c)` and sees only that part.

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å), checked.
    coincidences : sequence of CoincidentPairs
        Groups of distinct pairs (:func:`coincident_pairs`).
    species : int array (N,)
        Neighbour species (:func:`_neighbor_species`).
    tol : float
        Largest :math:`|r_i - r_j|` (Å) that counts as equal.

    Returns
    -------
    list of CoincidentPairs
        The groups, ordered by their lowest pair (:func:`pair_triples` order, as
        :func:`coincident_pairs` orders them); the given ones unchanged where none of
        their pairs equals its reverse.
    """
    pairs, triples = pair_triples(neighbors)
    reversible = _self_reverse_pairs(pairs, triples, species, tol)
    index = {tuple(pair): p for p, pair in enumerate(pairs.tolist())}
    grouped: set[int] = set()
    groups: list[tuple[int, CoincidentPairs]] = []
    for group in coincidences:
        members = [index[(min(i, j), max(i, j))] for i, j in group.pairs]
        grouped.update(members)
        if reversible[members].any() and not group.self_reverse:
            first = members[0]
            own = float(abs(triples[first, 0] - triples[first, 1]))
            group = replace(group, mismatch=max(group.mismatch, own), self_reverse=True)
        groups.append((min(members), group))
    for p in np.flatnonzero(reversible):
        if int(p) not in grouped:
            own = float(abs(triples[p, 0] - triples[p, 1]))
            pair = (int(pairs[p, 0]), int(pairs[p, 1]))
            groups.append((int(p), CoincidentPairs(pairs=(pair,), mismatch=own, self_reverse=True)))
    return [group for _, group in sorted(groups, key=lambda item: item[0])]


def explain_motion(
    neighbors: np.ndarray,
    motion: np.ndarray,
    coincidences: Sequence[CoincidentPairs],
    unseen: Sequence[tuple[int, int]],
    *,
    n_spurious: int | None = None,
) -> tuple[float, ZeroExplanation | None]:
    r""":func:`pair_swap_residual` of ``motion`` and, when it is below
    :data:`PAIR_SWAP_TOL` with some equal or unseen pairs, the :class:`ZeroExplanation`
    (the groups and unseen pairs it moves along a unit motion); the pair rates are
    computed once. Of a span of k rows, :math:`\rho_n` with n = ``n_spurious`` (k by
    default): the smallest :math:`\rho` that n independent motions of it all stay within
    (:func:`explain_zero`), and the groups and pairs some motion of it with
    :math:`\rho` below the tolerance moves; 1.0 for a zero motion."""
    neighbors = neighbor_array(neighbors, "explain_motion")
    paired = _pair_span(neighbors, motion, coincidences, unseen)
    if not len(paired.residuals):
        return 1.0, None
    residual = float(paired.residuals[_spurious_count(n_spurious, len(paired.residuals)) - 1])
    if not (coincidences or unseen) or not residual < PAIR_SWAP_TOL:
        return residual, None
    return residual, ZeroExplanation(paired.swapped, paired.unseen, residual)
