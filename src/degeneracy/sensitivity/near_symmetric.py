r"""Zeros of a frame near a symmetric environment: its forced zeros, lifted.

Moving a distance d away from a symmetric environment lifts the zeros its symmetry
forces as :math:`d^p`, p ≥ 1, so a frame a few mÅ from a symmetric one can still have
singular values below ``zero_rtol`` :math:`s_1` while no operation holds within the
symmetry tolerance. :func:`near_symmetry` symmetrises the frame over its operations
within :data:`NEAR_SYMMETRY_REACH` and takes the zeros for that environment's when the
small singular values vanish at least linearly on the straight path to it,

.. math:: s_k(x(t)) \le 1.25\, t\, s_k(x) \quad (t = 1/2, 1/4),

unless a configuration with an exact zero and no symmetry lies within a tenth of the
distance (a fold of ν = 2 degenerate pairs passing near the symmetric frame): a
:func:`~degeneracy.singular.find_singular` search, then, for up to
:data:`NEWTON_ZERO_NEIGHBORS` neighbours, Newton's method on :math:`(s_\min / s_1)^2`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import ase
import numpy as np

from ..checks import positive_float
from ..errors import DegeneracyError
from ..representations.base import Representation
from ..structures import neighbor_positions
from .spectrum import (
    ZERO_RTOL,
    at_roundoff,
    frame_values,
    roundoff_floor,
    singular_spectrum,
    zero_rtol_value,
)
from .symmetry import (
    PointOperation,
    SymmetryVerdict,
    _refitted,
    _rms_distance,
    candidate_superpositions,
    point_symmetry,
    symmetrized,
    symmetry_forced_motions,
)

#: RMS distance (Å) within which :func:`near_symmetry` looks for a symmetric environment
#: whose forced zeros a frame's small singular values continue: a search radius, not a
#: tolerance (the decision is the path test there), 50 × :data:`SYMMETRY_TOL`.
NEAR_SYMMETRY_REACH = 0.05

#: Where on the path from the symmetric environment (t = 0) to the frame (t = 1)
#: :func:`near_symmetry` evaluates the spectrum, and the factor above t that the small
#: singular values may keep there: s(t) ≤ 1.25 t s(1), i.e. they vanish at least
#: linearly on the way to the symmetric frame (forced zeros lifted at first order give
#: s(t) = t s(1), at second order, as near T_d CH4, t² s(1)).
NEAR_SYMMETRY_PATH = (0.5, 0.25)
NEAR_SYMMETRY_SLACK = 1.25

#: At most this many nested groups of near operations are tried per frame (two Jacobians
#: each); the closest first.
NEAR_SYMMETRY_TRIES = 4


@dataclass(frozen=True)
class NearSymmetry:
    """A symmetric environment near a frame whose forced zeros the frame's small
    singular values continue (:func:`near_symmetry`).

    Attributes
    ----------
    distance : float
        RMS distance (Å) of the frame's neighbours from those of the symmetric
        environment.
    n_forced : int
        Zeros its symmetry forces on every invariant fingerprint.
    ratios : tuple of float
        Largest :math:`s_k(t) / s_k(1)` of the small singular values at each point t of
        :data:`NEAR_SYMMETRY_PATH`.
    """

    distance: float
    n_forced: int
    ratios: tuple[float, ...]


def near_symmetry(
    atoms: ase.Atoms,
    values: np.ndarray,
    representation: Representation,
    *,
    zero_rtol: float = ZERO_RTOL,
    reach: float = NEAR_SYMMETRY_REACH,
) -> NearSymmetry | None:
    r"""The symmetric environment within ``reach`` whose forced zeros explain the zeros of
    a frame that has no symmetry within the tolerance, or None.

    Point symmetry forces zeros on every invariant fingerprint (:func:`zero_verdict`);
    moving a distance d away lifts them as :math:`d^p`, p ≥ 1 (near :math:`T_d` CH4 the
    smallest four as :math:`d^2`), so a frame a few mÅ from a symmetric one can still
    have singular values below ``zero_rtol`` :math:`s_1` while its residual is above the
    symmetry tolerance: a zero of the data's near-symmetry, not a blindness of the
    fingerprint. The test: symmetrise the frame over its operations within ``reach``
    (nested groups by residual, closest first, :func:`symmetrized`) to
    :math:`x_0`, which must force at least as many zeros as the frame has, and evaluate
    the spectrum on the straight path :math:`x(t) = x_0 + t (x - x_0)`: the zeros are
    :math:`x_0`'s if the small singular values vanish at least linearly on the way,

    .. math:: s_k(x(t)) \le 1.25\, t\, s_k(x) \quad (t = 1/2, 1/4).

    A zero that the frame has for another reason (a degenerate-pair branch point such as
    the Comment's A0) is a minimum of :math:`s_k` at the frame itself: moving towards
    any symmetric environment raises it (by 10⁶ for A0 and the closest symmetric frames).

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    values : array (3N-3,)
        Its purified singular values, descending.
    representation : Representation
        The fingerprint (two Jacobians per group tried).
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero.
    reach : float
        Largest residual (Å, RMS) of the operations tried.

    Returns
    -------
    NearSymmetry or None
        The closest symmetric environment that passes; None without zeros, with a zero
        at round-off (:func:`roundoff_floor`: exact at the frame, not lifted by a
        distance) or without such an environment.

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not a number in (0, 1), ``reach`` not a positive number or
        ``values`` not one frame's non-empty spectrum.
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    reach = positive_float("reach", reach)
    values = frame_values(values, "near_symmetry")
    n_small = int((values < zero_rtol * values[0]).sum()) if values[0] > 0 else 0
    if n_small == 0:
        return None
    if values[-1] <= roundoff_floor(values[0], len(values)):
        return None  # an exact zero at the frame itself is no lifted forced zero
    neighbors = neighbor_positions(atoms)
    identity = tuple(range(len(neighbors)))
    near = sorted(
        (
            op
            for op in candidate_superpositions(neighbors, neighbors, atoms.numbers[1:])
            if op.residual <= reach and not (op.proper and op.permutation == identity)
        ),
        key=lambda op: op.residual,
    )
    tried, seen = 0, []
    for size in range(1, len(near) + 1):
        if size < len(near) and near[size].residual <= near[size - 1].residual * (1 + 1e-9):
            continue  # a group is all operations up to a residual
        symmetric, exact = symmetrized(neighbors, near[:size])
        if max(op.residual for op in exact) > 1e-10:
            continue  # these operations do not close into a symmetry
        if _seen_before(near[:size], seen):
            continue  # a smaller set's symmetric frame has this group already: no new try
        seen.append(symmetric)
        n_forced, _ = symmetry_forced_motions(symmetric, exact)
        if n_forced < n_small:
            continue
        tail = np.arange(len(values)) >= len(values) - n_small  # the n_small smallest
        ratios = _path_ratios(atoms, symmetric, values, tail, representation)
        if _vanish_on_the_path(ratios):
            distance = float(_rms_distance(neighbors, symmetric))
            if _exact_zero_nearby(atoms, values, representation, distance):
                return None
            return NearSymmetry(distance=distance, n_forced=n_forced, ratios=ratios)
        tried += 1
        if tried == NEAR_SYMMETRY_TRIES:
            break
    return None


#: RMS distance (Å) from the symmetric environment at which
#: :func:`exact_zeros_beside_symmetry` probes the spectrum (at least twice the frame's):
#: forced zeros are lifted there to 1e-12 s1 or more even at fourth order.
BESIDE_SYMMETRY_PROBE = 1e-3

#: Largest residual (Å) of an operation that holds exactly (to round-off).
EXACT_SYMMETRY_RESIDUAL = 1e-12


def exact_zeros_beside_symmetry(
    atoms: ase.Atoms,
    values: np.ndarray,
    symmetry: SymmetryVerdict,
    representation: Representation,
    *,
    seen: int,
) -> int:
    r"""How many of a symmetric frame's zeros at round-off are not its symmetry's: exact
    zeros of the fingerprint beside a symmetry that holds only within the tolerance.

    A point operation that holds to a residual :math:`\rho` only lifts the zeros it forces
    (linearly or faster in the distance d from the symmetrised frame :math:`x_0`), so it
    cannot account for zeros at round-off (:func:`roundoff_floor`) unless they persist for
    another reason. The spectrum is probed at
    :math:`x_0 + t (x - x_0)`, :math:`t = \max(2, 10^{-3}\,\text{Å} / d)`
    (:data:`BESIDE_SYMMETRY_PROBE`): forced zeros are lifted there, a zero of the
    fingerprint along a set that contains the path (a fold of ν = 2 degenerate pairs
    beside a mirror) stays at round-off. Those that stay, beyond the zeros of the
    operations that hold exactly and of the feature deficit :math:`3N - 3 - d_\text{seen}`,
    are counted. Measured (helper audit, 2026-12-06): an A± fold 0.35–0.46 mÅ from a
    mirror-symmetric shape (residual 0.7–0.9 mÅ, SOAP and ACSF) keeps its zero at 5e-17 s1
    at the probe, while the mirror's three forced zeros are at 1e-5–2e-3 s1; T_d CH4
    distorted by 1e-8–5e-4 Å keeps none (SOAP, ACSF, bispectrum). A fold whose set does not
    contain the path (the same fold 4e-9–4e-6 Å from the mirror) is lifted at the probe and
    stays ``symmetry``: the test errs towards the symmetry.

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    values : array (3N-3,)
        Its purified singular values, descending.
    symmetry : SymmetryVerdict
        Its :func:`point_symmetry`.
    representation : Representation
        The fingerprint (one Jacobian).
    seen : int
        The most motions the fingerprint sees (:func:`~.verdicts.seen_dimension`).
    """
    n_exact = int(at_roundoff(values).sum())
    inexact = [op for op in symmetry.operations if op.residual > EXACT_SYMMETRY_RESIDUAL]
    if not n_exact or not symmetry.symmetric or not inexact:
        return 0
    neighbors = neighbor_positions(atoms)
    exact_ops = [op for op in symmetry.operations if op.residual <= EXACT_SYMMETRY_RESIDUAL]
    n_held = symmetry_forced_motions(neighbors, exact_ops)[0] if exact_ops else 0
    accounted = n_held + max(0, len(values) - seen)
    if n_exact <= accounted:
        return 0
    symmetric, _ = symmetrized(neighbors, symmetry.operations)
    distance = float(_rms_distance(neighbors, symmetric))
    if distance <= EXACT_SYMMETRY_RESIDUAL:
        return 0
    t = max(2.0, BESIDE_SYMMETRY_PROBE / distance)
    try:
        probed = _spectra_at(atoms, [symmetric + t * (neighbors - symmetric)], representation)[0]
    except DegeneracyError:  # a probe the fingerprint refuses (beyond its cutoff): no test
        return 0
    staying = int(at_roundoff(probed).sum())
    return max(0, min(n_exact, staying) - accounted)


def near_linear(
    atoms: ase.Atoms,
    values: np.ndarray,
    representation: Representation,
    *,
    zero_rtol: float = ZERO_RTOL,
    reach: float = NEAR_SYMMETRY_REACH,
) -> NearSymmetry | None:
    r"""The straight (linear) environment within ``reach`` whose forced bend zeros explain
    a frame's small singular values, or None.

    At a linear environment :math:`x_0` (every neighbour on one line through the centre)
    the rotation by :math:`\pi` about that line maps :math:`x_0 + \delta` onto
    :math:`x_0 - \delta` for every motion :math:`\delta` perpendicular to it, so every
    invariant fingerprint is stationary in those 2N motions, three of which become the
    rotations nearby: :math:`2N - 3` forced zeros (the bend of a triatomic; with
    :math:`d \cos\theta / d\theta = 0` at 180°). :func:`near_symmetry` cannot test
    them, as :math:`x_0` has no purified Jacobian (two rotations only). Here :math:`x_0`
    is the projection of the neighbours on their best line through the centre, and the
    small singular values above round-off (those at round-off are the frame's own exact
    zeros, e.g. the antisymmetric stretch of O=C=O) must be at most :math:`2N - 3` and
    vanish at least linearly on the straight path to it, as in :func:`near_symmetry`:
    :math:`s_k(x(t)) \le 1.25\, t\, s_k(x)` at t = 1/2 and 1/4. Measured: CO2 and
    HCN bent by 1e-7 rad (SOAP, the bispectrum, ACSF) give s(t) = t s(1).

    Returns
    -------
    NearSymmetry or None
        ``n_forced`` is :math:`2N - 3`; None when the frame has no such small values, is
        not within ``reach`` (RMS, Å) of a line, or fails the path test.
    """
    zero_rtol = zero_rtol_value(zero_rtol)
    reach = positive_float("reach", reach)
    values = frame_values(values, "near_linear")
    neighbors = neighbor_positions(atoms)
    n_forced = 2 * len(neighbors) - 3
    if values[0] <= 0 or n_forced < 1:
        return None
    small = (values < zero_rtol * values[0]) & ~at_roundoff(values)
    if not small.any() or small.sum() > n_forced:
        return None
    axis = np.linalg.svd(neighbors)[2][0]
    straight = np.outer(neighbors @ axis, axis)
    distance = float(_rms_distance(neighbors, straight))
    if distance > reach:
        return None
    try:
        ratios = _path_ratios(atoms, straight, values, small, representation)
    except DegeneracyError:  # a point the fingerprint refuses: no test
        return None
    if _vanish_on_the_path(ratios):
        return NearSymmetry(distance=distance, n_forced=n_forced, ratios=ratios)
    return None


#: RMS residual (Å) under which a symmetric frame already tried counts as invariant under
#: an operation (:func:`_seen_before`). Measured (frames 1–40 mÅ from T_d, C3v, C2v, D2d
#: and Cs CH4, T_d SiO4, O_h SiO6 and fcc shells): its group's operations hold there to
#: 3e-10 Å, the others are 8e-5 Å or more off.
SAME_GROUP_TOL = 1e-7


def _seen_before(operations: Sequence[PointOperation], seen: Sequence[np.ndarray]) -> bool:
    """Whether a symmetric frame in ``seen`` is already invariant under all ``operations``
    (refitted there, to :data:`SAME_GROUP_TOL`): it has the group they generate, and
    symmetrising over them gives the same frame up to the weights of the average.

    Two operation sets that generate the same group average to fixed points up to 0.0062 d
    apart (d the RMS distance from the frame; growing as d², the shapes above; frames of
    different groups are 0.036 d or more apart), so a test of the frames to 1e-6 Å took
    one group for two, and near an fcc shell the repeats used up the
    :data:`NEAR_SYMMETRY_TRIES` before O_h's own frame was reached.
    Comparing the groups needs no such scale (a test of the frames to 0.015 d would: it
    held on those shapes, but not 0.475 Å from A0 with a reach of 1 Å).
    """
    return any(
        all(_refitted(op, other).residual < SAME_GROUP_TOL for op in reversed(operations))
        for other in seen
    )


def _exact_zero_nearby(
    atoms: ase.Atoms, values: np.ndarray, representation: Representation, distance: float
) -> bool:
    r"""Whether a configuration with an exact zero and no symmetry lies within a tenth of
    ``distance`` (the RMS distance to the symmetric frame) of ``atoms``.

    The path test cannot tell a lifted forced zero from the zero of a fold of ν = 2
    degenerate pairs that passes near a symmetric frame: along a fold made a few mÅ from
    a mirror-symmetric shape, the straight path to it scales the distance from the fold
    too, and s(t) = t s(1) exactly, as for a forced zero lifted at first order. The
    nearest exact zero tells them apart (:func:`~degeneracy.singular.find_singular`,
    8 iterations, to 1000 × the frame's CN): for such folds it lies at 5e-6–0.075 of the
    distance, for lifted forced zeros near T_d, C3v, C2v, D2d, O_h and fcc shells at
    0.12 or more (or the search ends at the symmetric frame).

    That search does not always find a zero that is there: from folds rounded to 1e-5 Å
    it often converges to another exact zero beyond a tenth of the distance (its
    Levenberg–Marquardt step moves the motion :math:`u` and the positions together).
    For environments of up to :data:`NEWTON_ZERO_NEIGHBORS` neighbours a Newton search
    on :math:`(s_\min/s_1)^2` within that tenth follows (:func:`_newton_zero_within`),
    unless its target CN is within 10× of round-off (:func:`roundoff_floor`): from an
    O_h SiO6 frame at CN 2.5e13 (ACSF, 1.8 mÅ from the octahedron) it reached the
    round-off floor 0.09 d away, where no zero can be told from noise.
    """
    from ..singular import find_singular  # singular builds on this module

    target = min(1e15, 1e3 * values[0] / values[-1])
    try:
        found = find_singular(
            atoms, representation, pull=1.0, max_iterations=8, cn_target=target,
            check_near_symmetry=False,  # this is that check
        )  # fmt: skip
    except DegeneracyError:
        return False
    moved = float(_rms_distance(neighbor_positions(found.atoms), neighbor_positions(atoms)))
    if found.converged and not found.symmetry.symmetric and moved < 0.1 * distance:
        return True
    if len(atoms) - 1 > NEWTON_ZERO_NEIGHBORS:
        return False
    if target * roundoff_floor(values[0], len(values)) > 0.1 * values[0]:
        return False  # the target CN is within 10× of round-off: noise could reach it
    try:
        return _newton_zero_within(atoms, representation, 0.1 * distance, target)
    except DegeneracyError:  # a trial frame the fingerprint refuses (a neighbour at its cutoff)
        return False


#: :func:`_newton_zero_within` runs for environments of at most this many neighbours: its
#: Hessian costs :math:`2 (3N)^2` Jacobians per iteration (649 for N = 6).
NEWTON_ZERO_NEIGHBORS = 6

#: Iterations of :func:`_newton_zero_within` at most.
NEWTON_ZERO_ITERATIONS = 8

#: A first Newton step that raises the CN less than this many times means no zero is near:
#: measured from folds 2–10 mÅ from a Cs shape rounded to 1e-5 Å (ACSF and SOAP) it was
#: 1.6–250, from frames 1–40 mÅ from T_d, C3v, C2v, D2d CH4, T_d SiO4 and O_h SiO6
#: (ACSF, SOAP, bispectrum, OM) at most 1.2; later steps of a converging search can gain
#: only 1.1.
NEWTON_ZERO_FIRST_GAIN = 1.4


def _spectra_at(
    atoms: ase.Atoms, points: Sequence[np.ndarray], representation: Representation
) -> np.ndarray:
    """Purified singular values, (len(points), 3N − 3), of ``atoms`` with its neighbours
    at each of ``points`` (relative to the centre): one batch of Jacobians."""
    frames = []
    for neighbors in points:
        frame = atoms.copy()
        frame.positions[1:] = frame.positions[0] + neighbors
        frames.append(frame)
    _, jacobian = representation.jacobian(frames)
    return singular_spectrum(jacobian, neighbor_positions(frames)).values


def _squared_ratios(
    atoms: ase.Atoms, points: Sequence[np.ndarray], representation: Representation
) -> np.ndarray:
    r""":math:`(s_\min / s_1)^2` of ``atoms`` with its neighbours at each of ``points``
    (:func:`_spectra_at`)."""
    values = _spectra_at(atoms, points, representation)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values[:, 0] > 0, (values[:, -1] / values[:, 0]) ** 2, np.inf)


def _squared_ratio_derivatives(
    atoms: ase.Atoms, x: np.ndarray, representation: Representation, step: float
) -> tuple[float, np.ndarray, np.ndarray]:
    r""":math:`f = (s_\min / s_1)^2` at neighbour positions ``x`` (N, 3), its gradient
    and Hessian (3N,), (3N, 3N) by central differences of ``step`` Å.

    Written out rather than ``scipy.differentiate.hessian``, which nests two first
    derivatives: at its lowest order and one step it evaluates 1296 points for CH4
    (n = 12) against these :math:`1 + 2n + 2n(n-1)` = 289, which go to the fingerprint
    as one batch of Jacobians.
    """
    n = x.size
    shifts = np.eye(n).reshape(n, *x.shape) * step
    pairs = list(itertools.combinations(range(n), 2))
    points = [x, *(x + e for e in shifts), *(x - e for e in shifts)]
    for i, j in pairs:
        a, b = shifts[i], shifts[j]
        points += [x + a + b, x + a - b, x - a + b, x - a - b]
    f = _squared_ratios(atoms, points, representation)
    f0, plus, minus = f[0], f[1 : n + 1], f[n + 1 : 2 * n + 1]
    gradient = (plus - minus) / (2 * step)
    hessian = np.diag((plus - 2 * f0 + minus) / step**2)
    mixed = f[2 * n + 1 :].reshape(-1, 4) @ np.array([1.0, -1.0, -1.0, 1.0]) / (4 * step**2)
    if pairs:
        rows, cols = np.array(pairs).T
        hessian[rows, cols] = hessian[cols, rows] = mixed
    return float(f0), gradient, hessian


def _newton_zero_within(
    atoms: ase.Atoms, representation: Representation, radius: float, cn_target: float
) -> bool:
    r"""Whether Newton's method on :math:`f = (s_\min / s_1)^2` reaches a CN of
    ``cn_target`` at a frame without symmetry within ``radius`` (Å, RMS) of ``atoms``.

    Near a fold :math:`s_\min` is the norm of a few coordinates normal to the zero set,
    so :math:`f` is quadratic there and a Newton step
    :math:`\delta = -H^+ \nabla f` lands close to the zero set; the pseudo-inverse drops
    the directions whose curvature is below 1e-4 of the largest, where the forced zeros
    of the nearby symmetric frame lift (moving along them leads to that frame). Steps
    are halved until :math:`f` falls and the frame stays within ``radius``; a first step
    that raises the CN less than :data:`NEWTON_ZERO_FIRST_GAIN` times ends the search.
    Differences of 1 % of ``radius``, and no longer than the last step
    (:func:`_squared_ratio_derivatives`). Measured on the folds of
    :data:`NEWTON_ZERO_FIRST_GAIN`: all 18 that the search of
    :func:`~degeneracy.singular.find_singular` missed are found, and none of the
    near-symmetric frames changes its verdict. Zeros whose normal directions enter only
    at second order (f quartic along them, their curvature below the cut) can be
    missed (docs/concepts.md).
    """
    start = neighbor_positions(atoms)
    x, target, step_size = start.copy(), 1.0 / cn_target**2, 0.01 * radius
    f0, gradient, hessian = _squared_ratio_derivatives(atoms, x, representation, step_size)
    for iteration in range(NEWTON_ZERO_ITERATIONS):
        step = -(np.linalg.pinv(hessian, rcond=1e-4, hermitian=True) @ gradient).reshape(x.shape)
        for _ in range(6):  # halve the step until f falls within the radius
            trial = x + step
            if float(_rms_distance(trial, start)) <= radius:
                f_trial = float(_squared_ratios(atoms, [trial], representation)[0])
                if f_trial < f0:
                    break
            step = step / 2.0
        else:
            return False
        if iteration == 0 and f0 < NEWTON_ZERO_FIRST_GAIN**2 * f_trial:
            return False  # CN up less than NEWTON_ZERO_FIRST_GAIN times: no zero near
        x, f0 = trial, f_trial
        if f0 <= target:
            break
        if iteration + 1 < NEWTON_ZERO_ITERATIONS:
            # differences no longer than the last step: near the zero set f is quadratic
            # only on the scale of the distance to it
            step_size = min(step_size, max(float(np.linalg.norm(step)), 1e-9))
            f0, gradient, hessian = _squared_ratio_derivatives(atoms, x, representation, step_size)
    return f0 <= target and not point_symmetry(x, atoms.numbers[1:]).symmetric


def _path_ratios(
    atoms: ase.Atoms,
    symmetric: np.ndarray,
    values: np.ndarray,
    small: np.ndarray,
    representation: Representation,
) -> tuple[float, ...]:
    """Largest ratio of the singular values the mask ``small`` picks at each point of
    :data:`NEAR_SYMMETRY_PATH` (from ``symmetric``, t = 0, to the frame, t = 1) to the
    frame's own, ``values[small]``."""
    neighbors = neighbor_positions(atoms)
    points = [symmetric + t * (neighbors - symmetric) for t in NEAR_SYMMETRY_PATH]
    spectra = _spectra_at(atoms, points, representation)
    return tuple(float(np.max(row[small] / values[small])) for row in spectra)


def _vanish_on_the_path(ratios: Sequence[float]) -> bool:
    r"""The path test of :func:`near_symmetry` and :func:`near_linear`:
    :math:`s(t) \le 1.25\, t\, s(1)` at every point of :data:`NEAR_SYMMETRY_PATH`
    (:data:`NEAR_SYMMETRY_SLACK`), the small values vanishing at least linearly."""
    bounds = [NEAR_SYMMETRY_SLACK * t for t in NEAR_SYMMETRY_PATH]
    return all(r <= b for r, b in zip(ratios, bounds, strict=True))
