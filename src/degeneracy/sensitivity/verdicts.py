r"""The verdict on a frame's small singular values.

``kink`` where the fingerprint has no Jacobian (:func:`kinks_of`), before anything else;
else ``regular`` without a singular value below ``zero_rtol`` :math:`s_1`, ``symmetry``
when point symmetry forces every zero, ``dimension`` when the feature count does
(:func:`seen_dimension`), ``spurious`` otherwise (:func:`zero_verdict`).
:func:`classify_zeros` tests a ``spurious`` verdict against the symmetric environments
nearby (``near-symmetry``, :func:`~degeneracy.sensitivity.near_symmetric.near_symmetry`)
and explains the zeros the symmetry leaves free, of which

.. math:: n_\mathrm{spurious} = \max\big(1, \min(k,\; n_\mathrm{zeros} - \max(0, 3N - 3 - d))\big)

must be explained (:func:`spurious_zero_count`). :func:`spectrum_verdicts` is the part
that needs nothing but :math:`s_1`, :math:`s_\min` and the kinks (``scan``, ``compare``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ase
import numpy as np

from ..checks import bounded_int, true_or_false
from ..errors import DegeneracyError
from ..representations.base import Representation, fingerprint
from ..structures import frame_list
from .explanations import ZeroExplanation, explain_zero
from .near_symmetric import (
    NearSymmetry,
    exact_zeros_beside_symmetry,
    near_linear,
    near_symmetry,
)
from .spectrum import (
    ZERO_RTOL,
    at_roundoff,
    check_spectrum_extremes,
    frame_values,
    zero_rtol_value,
)
from .symmetry import SymmetryVerdict, _frame_motions, free_zero_motions, unexplained_zeros

#: Verdict of :func:`spectrum_verdicts` (and :func:`zero_verdict`): the fingerprint has no
#: Jacobian there (:func:`kinks_of`), its spectrum and CN are one one-sided derivative's.
VERDICT_KINK = "kink"
#: Verdict of :func:`spectrum_verdicts`: no singular value below :data:`ZERO_RTOL` of s_1
#: (:func:`zero_verdict`'s ``regular`` too).
VERDICT_REGULAR = "regular"
#: Verdict of :func:`spectrum_verdicts`: some singular value below :data:`ZERO_RTOL` of
#: s_1 (CN above 1e6), or s_1 = 0: :func:`zero_verdict` would tell ``symmetry``,
#: ``dimension`` or ``spurious`` apart (:func:`classify_zeros` also ``near-symmetry``),
#: which takes the symmetry tests.
VERDICT_ZERO = "zero"


def kinks_of(representation: Representation, frames: Sequence[ase.Atoms]) -> np.ndarray:
    """Which ``frames`` are kinks of ``representation``: where it reports, through its
    optional ``kinks(frames)`` hook (e.g. :meth:`degeneracy.OverlapMatrix.kinks`), that it
    has no Jacobian, the one it returns being one one-sided derivative.

    Parameters
    ----------
    representation : Representation
        The fingerprint.
    frames : list of ase.Atoms
        Environments (centre first), as for its ``jacobian``.

    Returns
    -------
    array of bool (n_frames,)
        All False for a fingerprint without the hook (SOAP, the bispectrum, ACSF: smooth
        everywhere analysed).

    Raises
    ------
    DegeneracyError
        When the hook does not return one truth value per frame.
    """
    frames = frame_list(frames)
    find_kinks = getattr(representation, "kinks", None)
    if find_kinks is None:
        return np.zeros(len(frames), dtype=bool)
    found = np.asarray(find_kinks(frames))
    if found.shape != (len(frames),) or found.dtype != bool:
        raise DegeneracyError(
            f"{fingerprint(representation).name}: kinks(frames) must return one bool per "
            f"frame, shape ({len(frames)},), got {found.dtype} of shape {found.shape}"
        )
    return found


def spectrum_verdicts(
    s_max: np.ndarray,
    s_min: np.ndarray,
    kink: np.ndarray,
    *,
    zero_rtol: float = ZERO_RTOL,
) -> np.ndarray:
    r"""The verdicts that need nothing but s_1, s_min and the kinks: the part of
    :func:`zero_verdict` that costs nothing beside the Jacobian (``scan``,
    ``compare``).

    .. math::

        \text{verdict} = \begin{cases}
            \texttt{kink} & \text{no Jacobian there (} \mathtt{kink} \text{ true)} \\
            \texttt{regular} & s_1 > 0 \text{ and } s_{\min} \ge
                \mathtt{zero\_rtol}\, s_1 \\
            \texttt{zero} & \text{otherwise (} s_1, s_{\min} \text{ not NaN)}
        \end{cases}

    :data:`VERDICT_KINK` comes first, whatever the values, as in :func:`zero_verdict`:
    at a kink the values are one one-sided derivative's. :data:`VERDICT_REGULAR` is
    :func:`zero_verdict`'s ``regular``; :data:`VERDICT_ZERO` is any of its verdicts with
    a zero (``symmetry``, ``dimension``, ``spurious``, the last including s_1 = 0, a
    fingerprint blind to every motion), which take the symmetry tests to tell apart.
    ``""`` where a value is NaN (no spectrum).

    Parameters
    ----------
    s_max, s_min : array
        Largest and smallest purified singular values, of one shape.
    kink : array of bool
        Where the fingerprint has no Jacobian (:func:`kinks_of`), of the same shape.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero, in
        (0, 1).

    Returns
    -------
    numpy.ndarray of str
        ``"kink"``, ``"regular"``, ``"zero"`` or ``""``, of the shape of the arguments.

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not a number in (0, 1), the three arguments are not of
        one shape, or a value that is not NaN is infinite or negative, or an s_min
        exceeds its s_max (:func:`check_spectrum_extremes`).
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    try:
        s_max, s_min = np.asarray(s_max, dtype=float), np.asarray(s_min, dtype=float)
        kink = np.asarray(kink)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"s_max, s_min and kink must be arrays of numbers: {error}") from None
    flags = kink.dtype == bool or (kink.dtype.kind in "iuf" and np.isin(kink, (0, 1)).all())
    if not flags:  # "no" would be True, 0.5 too
        raise DegeneracyError(
            f"kink must be True or False (or 1 or 0) per value, got {kink.dtype} values"
        )
    kink = kink.astype(bool)
    if not s_max.shape == s_min.shape == kink.shape:
        raise DegeneracyError(
            f"s_max, s_min and kink must have one shape, got {s_max.shape}, {s_min.shape} "
            f"and {kink.shape}"
        )
    check_spectrum_extremes(s_max, s_min, 1, caller="spectrum_verdicts")
    regular = (s_max > 0) & (s_min >= zero_rtol * s_max)
    verdicts = np.where(regular, VERDICT_REGULAR, VERDICT_ZERO)
    verdicts[np.isnan(s_max) | np.isnan(s_min)] = ""
    verdicts[kink] = VERDICT_KINK
    return verdicts


def zero_verdict(
    values: np.ndarray,
    n_symmetry_zeros: int,
    *,
    n_features: int | None = None,
    zero_rtol: float = ZERO_RTOL,
    motions: np.ndarray | None = None,
    forced_motions: np.ndarray | None = None,
    kink: bool = False,
) -> str:
    """Classify the small singular values of one frame.

    Returns ``"kink"`` when the fingerprint has no Jacobian at the frame (``kink``, from
    its optional ``kinks`` hook, :func:`kinks_of`: e.g. coinciding OM eigenvalues),
    whatever the values; else ``"regular"`` (no s_k below ``zero_rtol * s_1``),
    ``"symmetry"`` (all of them
    forced by point symmetry: with the frame's ``motions`` (3N − 3, 3N) and the symmetry's
    ``forced_motions`` (:attr:`SymmetryVerdict.forced_motions`), none along the motions
    the symmetry leaves free, :func:`unexplained_zeros`; without them, no more than
    ``n_symmetry_zeros``), ``"dimension"`` (more than the symmetry forces, but no
    more than the feature count does: ``n_features`` = d < 3N − 3 features have at most
    d non-zero singular values, so 3N − 3 − d zeros hold at every configuration, e.g. the
    s-orbital overlap matrix of CH4, 5 features for 9 motions) or ``"spurious"`` (more
    zeros than either explains, including a spectrum that is zero throughout: a
    fingerprint blind to every motion).

    The two forced null spaces overlap rather than add: a fingerprint's gradients at a
    symmetric frame lie in the motions the symmetry keeps, so its rank is at most the
    smaller of d and their number, and the zeros they force the larger of the two counts.

    ``"kink"`` comes first, before any of the others: every other verdict reads the
    Jacobian's zeros as the motions the fingerprint does not see at first order, and at a
    kink there is no Jacobian to read. The values are then those of one one-sided
    derivative (the OM's for whichever eigenvectors LAPACK returns in a degenerate
    subspace): no zero says the fingerprint is blind to a motion (``"symmetry"``,
    ``"spurious"``), and their absence does not say it sees every one at first order
    (``"regular"``). The regular tetrahedron shows both: the OM's spectrum has no zero
    (CN 87) where a differentiable fingerprint has 8 forced ones, because its eigenvalues
    split linearly along those motions, which a Jacobian cannot describe.

    Parameters
    ----------
    values : array (3N-3,)
        Purified singular values of the frame, descending (``Spectrum.values[f]``).
    n_symmetry_zeros : int
        Zeros forced by point symmetry (:attr:`SymmetryVerdict.n_symmetry_zeros`).
    n_features : int, optional
        The fingerprint's feature count d; without it no zero counts as ``"dimension"``.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero, in
        (0, 1).
    motions : array (3N-3, 3N), optional
        The frame's Cartesian singular motions (``Spectrum.motions[f]``).
    forced_motions : array (3N, n_symmetry_zeros), optional
        The symmetry's forced zero motions (:attr:`SymmetryVerdict.forced_motions`).
    kink : bool
        Whether the fingerprint has no Jacobian at the frame (:func:`kinks_of`).

    Returns
    -------
    str
        ``"kink"``, ``"regular"``, ``"symmetry"``, ``"dimension"`` or ``"spurious"``.

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not a number in (0, 1), ``values`` is not one frame's
        non-empty spectrum (3N-3,), ``n_symmetry_zeros`` is not an integer in
        [0, 3N-3], ``n_features`` is not an integer ≥ 1, or ``motions`` and
        ``forced_motions`` do not fit the values (:func:`unexplained_zeros`).
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    values = frame_values(values, "zero_verdict")
    n_symmetry_zeros = bounded_int(
        "n_symmetry_zeros", n_symmetry_zeros, minimum=0, maximum=len(values)
    )
    if n_features is not None:
        n_features = bounded_int("n_features", n_features, minimum=1)
    if motions is not None:  # checked even where only the count is used
        motions, _ = _frame_motions(values, motions, forced_motions, caller="zero_verdict")
    if true_or_false("kink", kink):  # "no" is not False
        return VERDICT_KINK
    if not values[0] > 0:
        return "spurious"
    n_small = int((values < zero_rtol * values[0]).sum())
    if n_small == 0:
        return VERDICT_REGULAR
    if motions is not None and forced_motions is not None:
        if unexplained_zeros(values, motions, forced_motions, zero_rtol=zero_rtol) == 0:
            return "symmetry"
    elif n_small <= n_symmetry_zeros:
        return "symmetry"
    n_dimension_zeros = 0 if n_features is None else max(0, len(values) - n_features)
    return "dimension" if n_small <= n_dimension_zeros else "spurious"


@dataclass(frozen=True)
class ZeroClassification:
    """Why a frame's small singular values are there (:func:`classify_zeros`).

    Attributes
    ----------
    verdict : str
        ``"kink"``, ``"regular"``, ``"symmetry"``, ``"near-symmetry"``, ``"dimension"``
        or ``"spurious"``.
    near_symmetry : NearSymmetry or None
        For ``"near-symmetry"``: the symmetric environment whose forced zeros they are.
    explanation : ZeroExplanation or None
        For ``"spurious"``: the neighbour pairs the zero motions trade or turn unseen,
        when that is all every spurious zero does (:func:`explain_zero` of the span of
        the free zeros, :func:`free_zero_motions`; :func:`classify_zeros`), or all that
        some of them do (its ``n_explained`` then says how many).
    n_spurious : int or None
        For ``"spurious"``: how many zeros are spurious (:func:`classify_zeros`), the
        number an explanation of them all explains.
    """

    verdict: str
    near_symmetry: NearSymmetry | None = None
    explanation: ZeroExplanation | None = None
    n_spurious: int | None = None

    @property
    def n_explained(self) -> int | None:
        """How many of the ``n_spurious`` zeros the explanation explains: all of them, m
        (:attr:`ZeroExplanation.n_explained`) or 0 without an explanation; None without
        ``n_spurious``."""
        if self.n_spurious is None:
            return None
        if self.explanation is None:
            return 0
        return self.explanation.n_explained or self.n_spurious

    @property
    def near_symmetry_distance(self) -> float | None:
        """RMS distance (Å) to the symmetric environment, for ``"near-symmetry"``."""
        return None if self.near_symmetry is None else self.near_symmetry.distance

    @property
    def near_symmetry_zero_distance(self) -> float | None:
        """For ``"near-symmetry"``: RMS distance (Å) to the exact zero without symmetry
        that the guard's search reached (:attr:`NearSymmetry.zero_distance`), None when
        it reached none."""
        return None if self.near_symmetry is None else self.near_symmetry.zero_distance

    def labels(self, atoms: ase.Atoms) -> tuple[str | None, str | None]:
        """``pair_swap`` and ``unseen_pairs`` labels of the explanation, partial or not
        (:attr:`n_explained` says), (None, None) without one."""
        if self.explanation is None:
            return None, None
        return self.explanation.labels(atoms.get_chemical_symbols()[1:])

    @property
    def truncation(self) -> str | None:
        """``truncation`` label of the explanation
        (:attr:`ZeroExplanation.truncation_label`), or None."""
        return None if self.explanation is None else self.explanation.truncation_label


def spurious_zero_count(
    values: np.ndarray,
    n_free: int,
    representation: Representation,
    n_features: int,
    n_neighbors: int,
    *,
    zero_rtol: float = ZERO_RTOL,
) -> int:
    r"""How many of the ``n_free`` zeros a symmetry leaves free are spurious: those the
    fingerprint's feature count does not account for, at least 1,

    .. math:: n = \max\bigl(1, \min(n_\mathrm{free},\; n_0 - \max(0, 3N - 3 - d))\bigr),

    with :math:`n_0` the singular ``values`` below ``zero_rtol`` :math:`s_1` (all when
    :math:`s_1 = 0`) and :math:`d` the most motions the fingerprint sees
    (:func:`seen_dimension`). The number of motions of the free span that an explanation
    must explain (:func:`classify_zeros`, :func:`~degeneracy.find_singular`)."""
    n_zeros = int((values < zero_rtol * values[0]).sum()) if values[0] > 0 else len(values)
    seen = seen_dimension(representation, n_features, n_neighbors)
    return max(1, min(n_free, n_zeros - max(0, len(values) - seen)))


def classify_zeros(
    atoms: ase.Atoms,
    values: np.ndarray,
    motions: np.ndarray,
    symmetry: SymmetryVerdict,
    representation: Representation,
    *,
    n_features: int,
    zero_rtol: float = ZERO_RTOL,
    kink: bool | None = None,
) -> ZeroClassification:
    r"""The verdict on a frame's small singular values, and what explains them.

    :func:`zero_verdict` with the frame's own symmetry and whether the fingerprint has a
    Jacobian there (``"kink"`` when it has none, and nothing more is asked); a
    ``"spurious"`` verdict is then tested against the symmetric environments within reach
    (:func:`near_symmetry`, ``"near-symmetry"`` when one explains the zeros) and, when it
    stands, explained by the pairs its motions trade (:func:`explain_zero`).

    What is explained is the span of the zeros the symmetry leaves free
    (:func:`free_zero_motions`, of dimension k = :func:`unexplained_zeros`), not one
    vector of it: a multiple zero's singular vectors are an arbitrary basis of it, and
    the labels and the decision do not depend on which the SVD returned. Of those k,
    the feature count may account for some (:func:`seen_dimension` :math:`d`: at least
    :math:`3N - 3 - d` zeros everywhere, which overlap the :math:`n_\mathrm{forced}`
    forced ones rather than add to them); the rest are spurious,

    .. math:: n_\mathrm{spurious} = \min\big(k,\; n_\mathrm{zeros} - \max(0, 3N - 3 - d)\big)
              \ge 1,

    with :math:`n_\mathrm{zeros}` the values below ``zero_rtol`` :math:`s_1` (all of them
    for :math:`s_1 = 0`), and the frame is explained when that many independent free
    zero motions are (``n_spurious`` of :func:`explain_zero`): every spurious zero, so
    that a named blind spot cannot stand for another zero beside it. Without a symmetry
    or a feature deficit that is every zero. When fewer are, the explanation is of the
    most of them that are (``partial`` of :func:`explain_zero`, ``n_explained`` m < n),
    so that a blind spot beside an unexplained zero is still named, with the count
    (:attr:`ZeroClassification.n_explained` of :attr:`ZeroClassification.n_spurious`);
    the verdict stays ``"spurious"``. Example: ACSF's loose set at frame 1308 of
    ``sample_methane(3000, seed=7)``, an exact zero turning the unseen pairs H1-H3,
    H2-H3 and a second value at 8.6e-7 s1 that nothing explains.

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    values, motions : arrays (3N-3,), (3N-3, 3N)
        Its purified singular values and motions (``Spectrum.values[f]``,
        ``Spectrum.motions[f]``).
    symmetry : SymmetryVerdict
        Its :func:`point_symmetry`.
    representation : Representation
        The fingerprint.
    n_features : int
        The fingerprint's feature count (for ``"dimension"``, with
        :func:`seen_dimension`'s bound).
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero.
    kink : bool, optional
        Whether the frame is a kink of the fingerprint (:func:`kinks_of`, e.g. of a
        whole batch at once); None asks the representation about ``atoms``.

    Returns
    -------
    ZeroClassification

    Raises
    ------
    DegeneracyError
        When ``representation`` is not a fingerprint, ``symmetry`` not a
        :class:`SymmetryVerdict`, or the values and motions not one frame's spectrum
        (:func:`zero_verdict`).
    """
    representation = fingerprint(representation)
    if not isinstance(symmetry, SymmetryVerdict):
        raise DegeneracyError(
            f"classify_zeros takes the frame's point_symmetry (a SymmetryVerdict), got {symmetry!r}"
        )
    if kink is None:
        kink = bool(kinks_of(representation, [atoms])[0])
    seen = seen_dimension(representation, n_features, len(atoms) - 1)
    verdict = zero_verdict(
        values,
        symmetry.n_symmetry_zeros,
        n_features=seen,
        zero_rtol=zero_rtol,
        motions=motions,
        forced_motions=symmetry.forced_motions,
        kink=kink,
    )
    if verdict == "symmetry":
        return _symmetry_or_exact_zeros(atoms, values, motions, symmetry, representation, seen)
    if verdict != "spurious":
        return ZeroClassification(verdict)
    near = near_symmetry(atoms, values, representation, zero_rtol=zero_rtol)
    if near is None:  # the straight environments near_symmetry cannot evaluate
        near = near_linear(
            atoms,
            values,
            representation,
            zero_rtol=zero_rtol,
            n_symmetry_zeros=symmetry.n_symmetry_zeros,
        )
    if near is not None:
        return ZeroClassification("near-symmetry", near_symmetry=near)
    free = free_zero_motions(values, motions, symmetry.forced_motions, zero_rtol=zero_rtol)
    if not len(free):  # cannot be: "spurious" has a free zero (unexplained_zeros)
        return ZeroClassification(verdict)
    n_spurious = spurious_zero_count(
        values, len(free), representation, n_features, len(atoms) - 1, zero_rtol=zero_rtol
    )
    explanation = explain_zero(
        atoms, free, representation, values=values, n_spurious=n_spurious, partial=True
    )
    return ZeroClassification(verdict, explanation=explanation, n_spurious=n_spurious)


def _symmetry_or_exact_zeros(
    atoms: ase.Atoms,
    values: np.ndarray,
    motions: np.ndarray,
    symmetry: SymmetryVerdict,
    representation: Representation,
    seen: int,
) -> ZeroClassification:
    """``symmetry``, unless zeros at round-off beside a symmetry that holds only within
    the tolerance are the fingerprint's own (:func:`exact_zeros_beside_symmetry`): then
    ``spurious``, explained by what the motions of the zeros at round-off do."""
    n_spurious = exact_zeros_beside_symmetry(atoms, values, symmetry, representation, seen=seen)
    if not n_spurious:
        return ZeroClassification("symmetry")
    exact = np.asarray(motions)[at_roundoff(values)]
    explanation = explain_zero(
        atoms, exact, representation, values=values, n_spurious=n_spurious, partial=True
    )
    return ZeroClassification("spurious", explanation=explanation, n_spurious=n_spurious)


def seen_dimension(representation: Representation, n_features: int, n_neighbors: int) -> int:
    r"""The most of the :math:`3N - 3` internal motions of ``n_neighbors`` neighbours that
    ``representation`` can see at any configuration: its feature count d, or fewer where
    its optional ``motions_seen_at_most`` hook bounds them (SOAP and the bispectrum at
    l_max 0 see only the N distances: measured, a generic CH4 has 5 exact zeros).

    .. math:: d_\text{seen} = \min(d, \text{bound}(N))
    """
    bound = getattr(representation, "motions_seen_at_most", None)
    limit = None if bound is None else bound(n_neighbors)
    return n_features if limit is None else min(n_features, limit)
