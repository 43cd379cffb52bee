r"""The checks of the input and the per-frame driver.

:func:`check_analysable` refuses frames whose spectrum would describe the input, not the
fingerprint (non-finite coordinates, a neighbour at or beyond the cutoff, neighbours
collinear with the centre, two atoms on top of each other);
:func:`check_enough_features` a fingerprint that sees fewer motions than there are.
:func:`analyse_frames` then computes, per frame, the spectrum and CN, the point symmetry,
the verdict and its explanation (:func:`~degeneracy.sensitivity.verdicts.classify_zeros`),
the near swap of the softest motions and the four-body target E4, as a
:class:`FrameAnalysis`; the representation's notes are asked once per call
(:func:`call_notes`).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ase
import numpy as np

from ..checks import bounded_int, symmetry_tolerance_value, true_or_false
from ..errors import COLLINEAR, DegeneracyError, DegeneracyWarning
from ..files import json_safe
from ..representations.base import Representation, batches, fingerprint
from ..structures import (
    check_finite_positions,
    check_same_size,
    environment_atom_distances,
    frame_list,
    neighbor_positions,
    vector_lengths,
)
from ..targets import fourbody_torsion
from .spectrum import DEGENERATE_RTOL, ZERO_RTOL, singular_spectrum, zero_rtol_value
from .symmetry import SYMMETRY_TOL, point_symmetry
from .trades import near_swap, softest_motions
from .verdicts import classify_zeros, kinks_of, seen_dimension


@dataclass(frozen=True)
class FrameAnalysis:
    """Sensitivity of one frame: spectrum, symmetry and the four-body target.

    ``verdict`` is that of :func:`classify_zeros`: ``"kink"`` where the fingerprint has no
    Jacobian (:func:`kinks_of`), the singular values and CN then being those of one
    one-sided derivative. When the verdict is ``"spurious"`` and every spurious zero's
    motion moves only neighbour pairs the fingerprint cannot see (:func:`explain_zero` of
    the span of the zeros the symmetry leaves free, :func:`free_zero_motions`, whatever
    basis of it the SVD returned; :func:`classify_zeros` says how many of them must be
    explained), ``pair_swap`` labels the equal
    pairs they trade (the zero every ν = 2 fingerprint has there) and ``unseen_pairs`` the
    pairs whose ignored angle they turn, followed, when a neighbour's own cutoff weight
    hides them, by where that neighbour is (``"H1-H2, H1-H3, H1-H4 (H1 at 2.49 Å, 0.01 Å
    inside the cutoff, where its weight 6.4e-05 nearly vanishes)"``); None otherwise.
    ``truncation`` names neighbours at one distance per species whose motions the zeros
    move and the fingerprint sees through too few sums (``"H at 1.09 Å: 9 motions seen
    through 8 sums"``, :func:`truncation_zeros`), else None. Where only some of the
    spurious zeros are explained, these labels are of the most of them that are
    (:func:`classify_zeros`): ``n_spurious_zeros`` counts the spurious zeros and
    ``n_explained_zeros`` how many of them the labels explain (all, fewer, or 0 without
    labels), both None unless the verdict is ``"spurious"``;
    :func:`explained_verdict` with them reads ``"spurious: 1 of 2 zeros turns pairs it
    cannot see H1-H3, H2-H3; 1 unexplained"``.
    ``nearest_coincidence``, ``coincidence_distance``, ``near_swap_residual`` and
    ``near_swap_unseen`` (:func:`near_swap` of the softest motions,
    :func:`softest_motions`: the motion of s_min, or the span of all the motions of a
    multiple or tied s_min, of which ρ is the smallest) tell how near the frame is to
    the closest branch point of ν = 2 degenerate pairs and how much of its softest motion
    (the most trade-like of them) trades the two pairs there, the pairs the fingerprint
    weighs out left out. For ``"near-symmetry"``, ``near_symmetry_distance`` is the RMS
    distance (Å) to the symmetric environment and ``near_symmetry_zero_distance`` that to
    the exact zero without symmetry the guard's search reached, at least a tenth of it
    (the verdict's margin, :attr:`NearSymmetry.zero_distance`); None otherwise.
    """

    frame: int
    singular_values: np.ndarray
    cn: float
    symmetric: bool
    symmetry_residual: float
    n_symmetry_zeros: int
    verdict: str
    fourbody: float | None
    pair_swap: str | None = None
    unseen_pairs: str | None = None
    nearest_coincidence: str | None = None
    coincidence_distance: float | None = None
    near_swap_residual: float | None = None
    near_swap_unseen: str | None = None
    near_symmetry_distance: float | None = None
    near_symmetry_zero_distance: float | None = None
    truncation: str | None = None
    n_spurious_zeros: int | None = None
    n_explained_zeros: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready mapping (``singular_values`` as a list, descending)."""
        return {
            "frame": self.frame,
            "singular_values": [float(v) for v in self.singular_values],
            "cn": json_safe(self.cn),  # None when infinite: strict JSON
            "symmetric": self.symmetric,
            "symmetry_residual": self.symmetry_residual,
            "n_symmetry_zeros": self.n_symmetry_zeros,
            "verdict": self.verdict,
            "pair_swap": self.pair_swap,
            "unseen_pairs": self.unseen_pairs,
            "truncation": self.truncation,
            "n_spurious_zeros": self.n_spurious_zeros,
            "n_explained_zeros": self.n_explained_zeros,
            "nearest_coincidence": self.nearest_coincidence,
            "coincidence_distance": self.coincidence_distance,
            "near_swap_residual": json_safe(self.near_swap_residual),
            "near_swap_unseen": self.near_swap_unseen,
            "near_symmetry_distance": self.near_symmetry_distance,
            "near_symmetry_zero_distance": self.near_symmetry_zero_distance,
            "fourbody": self.fourbody,
        }


def farthest_beyond_cutoff(vectors: np.ndarray, cutoff: float | None) -> int | None:
    """Index of the farthest of the neighbour ``vectors`` (n, 3) at or beyond ``cutoff``.

    None when all are inside (or there is no cutoff). At the cutoff a neighbour's Jacobian
    columns vanish: the fingerprint cannot see it move.
    """
    radii = vector_lengths(np.asarray(vectors).reshape(-1, 3))  # 1e300, not inf
    if cutoff is None or not len(radii) or radii.max() < cutoff:
        return None
    return int(np.argmax(radii))


def check_enough_features(atoms: ase.Atoms, representation: Representation, *, task: str) -> None:
    """Refuse a fingerprint that sees fewer motions than ``atoms`` has internal motions.

    d < 3N − 3 features (or a fingerprint that sees only d of them anywhere,
    :func:`seen_dimension`: l_max 0, or too few invariants of a small expansion) leave
    3N − 3 − d zero singular values at every configuration (the ``"dimension"`` verdict
    of :func:`zero_verdict`), so a search for a singular configuration, or for the
    softest direction to follow, has nothing to find: every start already is one, and
    the soft directions are a whole space.
    ``task`` ("a singular configuration to search for") ends the message.
    """
    n_features = fingerprint(representation).features([atoms]).shape[1]
    blind = blind_by_dimension(representation, n_features, len(atoms) - 1)
    if blind is not None:
        raise DegeneracyError(f"{representation.name}: {blind}, so there is no {task}")


def blind_by_dimension(
    representation: Representation, n_features: int, n_neighbors: int
) -> str | None:
    """What leaves zero singular values at every configuration of ``n_neighbors``
    neighbours (``"576 features for the 81 internal motions of 28 neighbours leave 5 zero
    singular values at every configuration"``), or None where the fingerprint can see
    every motion (:func:`seen_dimension` ≥ 3N − 3)."""
    n_motions = 3 * n_neighbors - 3
    seen = seen_dimension(representation, n_features, n_neighbors)
    if seen >= n_motions:
        return None
    if seen == n_features:  # (l_max is not named: the options' terms would rename it)
        what = f"{n_features} features for the {n_motions} internal motions"
    elif (representation.hypers().get("l_max") or 0) > 0:  # a small expansion
        what = (
            f"{n_features} features, functions of only {seen} invariants of the "
            f"expansion, for the {n_motions} internal motions"
        )
    else:  # l_max 0, or an ACSF without angular functions
        what = (
            f"without angular channels, only the {seen} distances of the {n_motions} "
            "internal motions"
        )
    zeros = n_motions - seen
    return (
        f"{what} of {n_neighbors} neighbours leave {zeros} zero singular "
        f"value{'' if zeros == 1 else 's'} at every configuration"
    )


def check_analysable(
    frames: Sequence[ase.Atoms],
    representation: Representation,
    *,
    where: str = "",
    first_frame: int = 0,
) -> None:
    """Refuse frames whose singular spectrum would describe the input, not the fingerprint.

    Raises :class:`DegeneracyError` naming the first frame (and atom) with non-finite
    coordinates, a neighbour at or beyond the fingerprint's ``cutoff`` (its Jacobian
    columns vanish there: a zero singular value that is a data problem, not a defect of
    the fingerprint), all neighbours on one line through the centre (rotations are
    then degenerate and there is no purified Jacobian), or two atoms on top of each
    other (a neighbour on the centre, where ACSF's Jacobian is NaN, or two coincident
    neighbours, whose opposite motions no fingerprint sees). ``where`` (e.g. the file)
    starts the message; frames are numbered from ``first_frame``.

    Frames of one size are checked together, in arrays (:func:`_unanalysable`).

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first).
    representation : Representation
        The fingerprint; its ``cutoff`` (Å), if it has one, is checked.
    where : str
        Where the frames come from (e.g. the file), to start error messages.
    first_frame : int
        Number of the first frame in error messages.

    Raises
    ------
    DegeneracyError
        As above, the checks in that order for the first frame that fails one; also
        when ``frames`` is not a list of :class:`ase.Atoms`, ``representation`` is not a
        :class:`Representation`, or a frame has no neighbours. Collinear means the
        second singular value of the neighbour positions is at most
        :data:`DEGENERATE_RTOL` times the first; on top of each other, at most
        :data:`DEGENERATE_RTOL` times the largest neighbour distance apart.
    """
    frames = frame_list(frames)
    name = fingerprint(representation).name  # the protocol has a name
    check_finite_positions(frames, where=where, first_frame=first_frame)
    cutoff = getattr(representation, "cutoff", None)
    failures = []
    for rows in _rows_by_size(frames):
        failure = _unanalysable([frames[k] for k in rows], cutoff, name)
        if failure is not None:
            failures.append((int(rows[failure[0]]), failure[1]))
    if failures:
        index, problem = min(failures)
        prefix = f"{where}, " if where else ""
        kind = COLLINEAR if problem == _COLLINEAR_PROBLEM else None
        raise DegeneracyError(f"{prefix}frame {first_frame + index}{problem}", kind=kind)


#: :func:`check_analysable`'s refusal of a straight environment (after "frame k"), of
#: :attr:`~degeneracy.errors.DegeneracyError.kind` :data:`~degeneracy.errors.COLLINEAR`.
_COLLINEAR_PROBLEM = (
    ": the neighbours are collinear with the centre (rotations are degenerate: no "
    "purified Jacobian)"
)


#: Most atom pairs :func:`check_analysable` holds at once (frames × (N + 1)²), ~24 MB
#: of differences: 40 000 CH4 frames, 100 frames of 100 neighbours.
_CHECKED_PAIRS = 1 << 20


def _collinear_with_centre(vectors: np.ndarray) -> np.ndarray:
    """Which environments' neighbours (n, N, 3) lie on one line through the centre (second
    singular value at most :data:`DEGENERATE_RTOL` times the first; one neighbour
    always): a boolean (n,)."""
    spread = np.linalg.svd(vectors, compute_uv=False)
    if spread.shape[1] < 2:
        return np.ones(len(vectors), bool)
    return spread[:, 1] <= DEGENERATE_RTOL * spread[:, 0]


def _rows_by_size(frames: Sequence[ase.Atoms]) -> Iterator[np.ndarray]:
    """Indices of frames of one size, in increasing order, at most
    :data:`_CHECKED_PAIRS` atom pairs at a time."""
    sizes = np.fromiter((len(atoms) for atoms in frames), dtype=int, count=len(frames))
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        step = max(1, _CHECKED_PAIRS // max(size, 1) ** 2)
        for start in range(0, len(rows), step):
            yield rows[start : start + step]


def _unanalysable(
    frames: Sequence[ase.Atoms], cutoff: float | None, name: str
) -> tuple[int, str] | None:
    """The first of ``frames`` (all of one size, finite) that :func:`check_analysable`
    refuses, and the rest of its message after "frame k"; None when all pass."""
    positions = np.stack([atoms.positions for atoms in frames])  # (n, N + 1, 3)
    vectors = positions[:, 1:] - positions[:, :1]
    if not vectors.shape[1]:
        return 0, ": no neighbours, nothing to move"
    radii = vector_lengths(vectors)  # (n, N), as farthest_beyond_cutoff
    beyond = (radii >= cutoff).any(axis=1) if cutoff is not None else np.zeros(len(radii), bool)
    collinear = _collinear_with_centre(vectors)
    apart = environment_atom_distances(vectors)
    on_top = apart.min(axis=(1, 2)) <= DEGENERATE_RTOL * radii.max(axis=1)
    failing = np.flatnonzero(beyond | collinear | on_top)
    if not failing.size:
        return None
    k = int(failing[0])
    if beyond[k]:
        atom = int(np.argmax(radii[k])) + 1
        return k, (
            f", atom {atom}: {radii[k, atom - 1]:.4g} Å from the centre, at or beyond the "
            f"{name} cutoff {cutoff} Å (the fingerprint cannot see it move)"
        )
    if collinear[k]:
        return k, _COLLINEAR_PROBLEM
    i, j = sorted(int(v) for v in np.unravel_index(np.argmin(apart[k]), apart[k].shape))
    return k, (
        f": atoms {i} and {j} are {apart[k, i, j]:.3g} Å apart, on top of each other (at "
        f"most {DEGENERATE_RTOL:g} of the largest neighbour distance {radii[k].max():.4g} "
        "Å: a degeneracy of the input, not of the fingerprint)"
    )


def call_notes(
    representation: Representation, frames: Sequence[ase.Atoms], *, jacobian: bool = True
) -> list[str]:
    """The representation's notes about ``frames`` as one call (its optional
    ``diagnose``; none without it), which the caller then issues: asking takes them over,
    the representation no longer warns on its own (about the first Jacobian batch only).

    Parameters
    ----------
    representation : Representation
        The fingerprint.
    frames : list of ase.Atoms
        Every frame the caller computes, in its order: a note's "frame K of this call"
        is ``frames[K]``, and its counts are of all of them.
    jacobian : bool
        Whether the caller computes Jacobians; without, only the notes about the features
        themselves (``diagnose(frames, jacobian=False)``: not the overlap matrix's kinks,
        where only its derivative fails). A ``diagnose`` without the keyword is asked
        as it is.

    Returns
    -------
    list of str
        One note per subject (e.g. "om degenerate eigenvalues: 2 of 1200 frames (first:
        frame 700 of this call, ...)").
    """
    diagnose = getattr(representation, "diagnose", None)
    if diagnose is None or not len(frames):
        return []
    if jacobian or not _takes_keyword(diagnose, "jacobian"):
        return list(diagnose(frames))
    return list(diagnose(frames, jacobian=False))


def warn_call_notes(
    representation: Representation,
    frames: Sequence[ase.Atoms],
    *,
    jacobian: bool = True,
    stacklevel: int = 2,
) -> None:
    """Issue :func:`call_notes` as :class:`~degeneracy.errors.DegeneracyWarning`, each
    pointing ``stacklevel`` frames above this function's caller (2: the caller's
    caller), as :func:`analyse_frames`, :func:`~degeneracy.compare_fingerprints` and
    :func:`~degeneracy.pairs.pair_distances` do before their batches."""
    for note in call_notes(representation, frames, jacobian=jacobian):
        warnings.warn(DegeneracyWarning(note), stacklevel=stacklevel + 1)


def _takes_keyword(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` accepts the keyword argument ``name`` (a user's fingerprint
    may implement the protocol's older ``diagnose(frames)``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): ask as it is
        return False
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == name and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in parameters
    )


def analyse_frames(
    frames: Sequence[ase.Atoms],
    representation: Representation,
    *,
    batch_size: int = 500,
    symmetry_tol: float = SYMMETRY_TOL,
    zero_rtol: float = ZERO_RTOL,
    progress: bool = False,
) -> list[FrameAnalysis]:
    """Spectrum, condition number, symmetry verdict and E4 for every frame.

    Frames are checked first (:func:`check_analysable`). The representation's notes
    about them (its optional ``diagnose``, e.g. the overlap matrix's coinciding
    eigenvalues) are asked for all frames at once (:func:`call_notes`) and issued as
    :class:`~degeneracy.errors.DegeneracyWarning`, so that they count every frame of
    the call and name them by their place in ``frames``: the representation, which
    otherwise warns on its own about the first Jacobian batch that has such a frame
    ("frame K of this call" then counted from that batch's start, later batches not
    counted), no longer does.

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first), all with the same number of atoms.
    representation : Representation
        The fingerprint.
    batch_size : int
        Frames per Jacobian call (at least 1).
    symmetry_tol : float
        RMS residual (Å) under which a point operation counts as a symmetry
        (:func:`point_symmetry`), at most :data:`~degeneracy.checks.MAX_SYMMETRY_TOL`.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero
        (:func:`zero_verdict`), in (0, 1).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of FrameAnalysis
        One per frame, in order, numbered from 0; ``fourbody`` (E4) only for frames with
        4 neighbours, else None; the verdict ``"kink"`` for the frames the
        representation's optional ``kinks`` hook flags (:func:`kinks_of`, asked once per
        batch). The labels of a spurious zero explain the span of the free zeros
        (:func:`classify_zeros`), and ``near_swap_residual`` is the smallest ρ over the
        softest motions (:func:`near_swap` of :func:`softest_motions` with
        ``zero_rtol``): neither depends on the basis the SVD returns for a multiple zero.

    Raises
    ------
    DegeneracyError
        For a bad ``batch_size``, ``zero_rtol`` or ``symmetry_tol``, frames refused by
        :func:`check_analysable`, frames of different sizes in one batch, or a Jacobian
        with non-finite entries (:func:`singular_spectrum`).
    """
    progress = true_or_false("progress", progress)
    zero_rtol = zero_rtol_value(zero_rtol)
    symmetry_tol = symmetry_tolerance_value("symmetry_tol", symmetry_tol)
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    frames = frame_list(frames)
    check_same_size(frames)  # in every batch, whatever batch_size
    check_analysable(frames, representation)
    warn_call_notes(representation, frames)
    results = []
    for chunk in batches(frames, batch_size, progress=progress, desc="spectrum"):
        neighbors = neighbor_positions(chunk)
        _, jacobian = representation.jacobian(chunk)
        spectrum = singular_spectrum(jacobian, neighbors, first_frame=len(results))
        fourbody = fourbody_torsion(neighbors) if neighbors.shape[1] == 4 else None
        kinks = kinks_of(representation, chunk)
        for k, atoms in enumerate(chunk):
            symmetry = point_symmetry(neighbors[k], atoms.numbers[1:], tol=symmetry_tol)
            values = spectrum.values[k]
            zeros = classify_zeros(
                atoms,
                values,
                spectrum.motions[k],
                symmetry,
                representation,
                n_features=jacobian.shape[1],
                zero_rtol=zero_rtol,
                kink=bool(kinks[k]),
            )
            swapped, unseen = zeros.labels(atoms)
            results.append(
                FrameAnalysis(
                    frame=len(results),
                    singular_values=values,
                    cn=float(spectrum.cn[k]),
                    symmetric=symmetry.symmetric,
                    symmetry_residual=symmetry.residual,
                    n_symmetry_zeros=symmetry.n_symmetry_zeros,
                    verdict=zeros.verdict,
                    fourbody=None if fourbody is None else float(fourbody[k]),
                    pair_swap=swapped,
                    unseen_pairs=unseen,
                    **near_swap(
                        atoms,
                        softest_motions(values, spectrum.motions[k], zero_rtol=zero_rtol),
                        representation,
                        values=values,
                    ),
                    near_symmetry_distance=zeros.near_symmetry_distance,
                    near_symmetry_zero_distance=zeros.near_symmetry_zero_distance,
                    truncation=zeros.truncation,
                    n_spurious_zeros=zeros.n_spurious,
                    n_explained_zeros=zeros.n_explained,
                )
            )
    return results
