r"""Search for singular configurations: where the smallest purified singular value vanishes.

A *singular configuration* (Pozdnyakov et al., Comment on J. Chem. Phys. 156, 034302,
2022) is an environment whose rotation-purified Jacobian :math:`\tilde J = J O` has a
zero singular value :math:`s_{3N-3} = 0` without a point symmetry forcing it. The
Comment found one (A0) by minimising :math:`\alpha |x - x_\mathrm{ref}| + (1-\alpha)/
\mathrm{CN}` with Nelder–Mead, which takes tens of thousands of Jacobians.

Here the zero is found as a root of the *bordered* system in the neighbour coordinates
:math:`r \in \mathbb R^{3N}` and a unit motion :math:`u \in \mathbb R^{3N}`

.. math::

    F(r, u) = \begin{pmatrix} J(r)\,u \\ s_1 \sum_i p_i \times u_i \\
              s_1 (u\cdot u - 1) \end{pmatrix} = 0,

(the second block keeps :math:`u` orthogonal to the rigid rotations
:math:`t_k = (e_k \times p_1, \dots)`, which are exact zeros of every invariant
fingerprint; :math:`s_1` only balances the units). The derivative of :math:`J u` with
respect to :math:`r` is a Hessian contracted with :math:`u`; by the symmetry of second
derivatives it equals the directional derivative of the Jacobian along :math:`u`,

.. math:: \frac{\partial (J u)_i}{\partial r_k} = \sum_j \frac{\partial^2 x_i}
          {\partial r_k \partial r_j} u_j = (D_u J)_{ik} \approx
          \frac{J(r + h u) - J(r - h u)}{2h}{}_{ik},

The objective is the ratio :math:`s_{\min}/s_1 = 1/\mathrm{CN}`, not :math:`s_{\min}`
itself: with a smooth cutoff, moving every neighbour outwards shrinks all singular values
together and so lowers :math:`s_{\min}` without nearing a zero (the search on
:math:`s_{\min}` drew SOAP times :math:`e^{-\sum |r_i|^2 / L^2}`, L = 0.7 Å, out to
1.9 Å with :math:`s_1` down 2e4×). The iteration solves :math:`\tilde F = F / s_1(r)`
(:func:`ratio_system`), whose first block has the derivative
:math:`D_u J / s_1 - (J u / s_1) \otimes \nabla \log s_1`, with

.. math:: \nabla \log s_1 = \frac{(J b_1)^\top D_{b_1} J}{|J b_1|^2}

(:func:`log_scale_gradient`; :math:`b_1` the top right singular vector), so one iteration
costs three analytic Jacobians in one batch (the central difference along :math:`u`, a
forward one along :math:`b_1`) besides its trial points (the accepted one serves the
next iteration). Each iteration restarts
:math:`u` at the exact smallest right singular vector of :math:`\tilde J(r)`. A
fingerprint times a constant gives the same path (to round-off).

The step is Levenberg–Marquardt with damping :math:`\mu = s_{\min}/s_1` (Yamashita &
Fukushima's choice, which keeps fast local convergence when the roots are not isolated),

.. math:: \delta = \arg\min_\delta\ |\tilde F + \tilde G\delta|^2
          + \mu^2\,|\delta_r - \alpha\,(r_0 - r)|^2,

where :math:`\tilde G = \partial \tilde F / \partial (r, u)` and the *pull*
:math:`\alpha \in [0, 1]` aims the damped part of the step at the start :math:`r_0`. The
singular set is a manifold (near A0 it has codimension 4 among the 9 internal
coordinates: three equal radii and two equal angles, where the zero motion trades equal
neighbour pairs, :func:`~degeneracy.sensitivity.pair_swap_residual`), so the root is not
unique: :math:`\alpha = 1` lands about on the nearest singular point, :math:`\alpha = 0`
wherever the damped steps lead. The pull acts only while :math:`s_{\min}/s_1` exceeds
``pull_cutoff`` (1e-7): against a tangential pull the line search stalls. A trust radius
and backtracking on :math:`s_{\min}/s_1` globalise the iteration. Two of the four normal
directions enter only at second order, so the final convergence is linear
(:math:`s_{\min}/s_1` shrinks about 4× per iteration): typically 4–20 iterations reach
CN ~ 1e13 from CN ~ 1e2–1e3.

The ratio does not make a fading neighbour harmless: the OM's cutoff weight :math:`c`
enters its features as :math:`c` and :math:`c^2`, so fading every neighbour lowers
:math:`s_{\min}/s_1` too, and from some random CH4 starts (H at 1.1–1.44 Å) the OM
search still drifts outwards without reaching a zero (docs/orbits.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ase
import numpy as np

from .checks import (
    bounded_int,
    non_negative_float,
    optional_callable,
    positive_float,
    symmetry_tolerance_value,
    true_or_false,
)
from .errors import COLLINEAR, DegeneracyError
from .representations.base import Representation
from .sensitivity import (
    SYMMETRY_TOL,
    ZERO_RTOL,
    CoincidentPairs,
    NearSymmetry,
    Spectrum,
    SymmetryVerdict,
    ZeroExplanation,
    at_roundoff,
    check_analysable,
    check_enough_features,
    coincidence_labels,
    coincident_pairs,
    exact_zeros_beside_symmetry,
    explain_zero_motion,
    faint_neighbors,
    farthest_beyond_cutoff,
    free_zero_motions,
    kinks_of,
    near_linear,
    near_swap,
    near_symmetry,
    point_symmetry,
    seen_dimension,
    singular_spectrum,
    softest_motions,
    spurious_zero_count,
)
from .sensitivity.trades import span_singular_values  # the zeros' own sizes: spectrum's rule
from .structures import (
    DEFAULT_MIN_DISTANCE,
    closest_allowed_distance,
    closest_atom_distance,
    neighbor_array,
    neighbor_positions,
    one_frame,
)

#: Default condition number at which the search stops.
DEFAULT_CN_TARGET = 1e13

#: The pull acts while s_min / s_1 is above this; the last iterations converge without it.
DEFAULT_PULL_CUTOFF = 1e-7

#: Default step (Å) of the central difference of the Jacobian along the motion.
DEFAULT_FD_STEP = 1e-4

#: Default trust radius (Å) of a search step.
DEFAULT_MAX_STEP = 0.05


def _is_zero(cn: float) -> bool:
    """Whether a frame of condition number ``cn`` has a zero by ``spectrum``'s rule: s_min
    / s_1 below :data:`~degeneracy.sensitivity.ZERO_RTOL`."""
    return bool(cn * ZERO_RTOL > 1.0)


class CountingJacobian:
    """Evaluate a representation's Jacobian at given neighbour positions, counting calls.

    Parameters
    ----------
    representation : Representation
        The fingerprint.
    template : ase.Atoms
        Environment whose species (and ``info``) the evaluated frames copy.

    Attributes
    ----------
    evaluations : int
        Number of single-frame Jacobians computed so far (a batch of k frames counts k).
    """

    def __init__(self, representation: Representation, template: ase.Atoms) -> None:
        self.representation = representation
        self.numbers = np.array(template.numbers)
        self.evaluations = 0

    def frame(self, neighbors: np.ndarray) -> ase.Atoms:
        """An environment with the template's species and these neighbour positions."""
        neighbors = np.asarray(neighbors, dtype=float).reshape(-1, 3)
        positions = np.vstack([np.zeros(3), neighbors])
        return ase.Atoms(self.numbers, positions=positions, pbc=False)

    def __call__(self, neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray, Spectrum]:
        """Features, Jacobians and purified spectra for positions of shape (k, 3N) or (3N,).

        Returns arrays with a leading frame axis of length k.
        """
        neighbors = np.asarray(neighbors, dtype=float)
        batch = neighbors.reshape(-1, len(self.numbers) - 1, 3)
        if not np.all(np.isfinite(batch)):
            raise DegeneracyError("non-finite neighbour positions during the search")
        features, jacobian = self.representation.jacobian([self.frame(p) for p in batch])
        self.evaluations += len(batch)
        return features, jacobian, singular_spectrum(jacobian, batch)


def _collinear_error(error: DegeneracyError) -> bool:
    """Whether ``error`` is :func:`~degeneracy.sensitivity.rotation_complement`'s refusal
    of a straight (collinear) environment, met by a step of the search."""
    return error.kind == COLLINEAR


def _cross_matrix(v: np.ndarray) -> np.ndarray:
    """Matrices [v]_× with [v]_× w = v × w, for v of shape (..., 3)."""
    zero = np.zeros(v.shape[:-1])
    return np.stack(
        [
            np.stack([zero, -v[..., 2], v[..., 1]], axis=-1),
            np.stack([v[..., 2], zero, -v[..., 0]], axis=-1),
            np.stack([-v[..., 1], v[..., 0], zero], axis=-1),
        ],
        axis=-2,
    )


def bordered_system(
    r: np.ndarray, u: np.ndarray, jacobian: np.ndarray, directional: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Residual :math:`F(r, u)` and its Jacobian :math:`G` (see the module docstring).

    Parameters
    ----------
    r, u : arrays (3N,)
        Neighbour positions and the unit motion.
    jacobian : array (d, 3N)
        :math:`J(r)`.
    directional : array (d, 3N)
        :math:`D_u J`, the derivative of the Jacobian along ``u``.
    scale : float
        Weight of the two constraint blocks (:math:`s_1`).

    Returns
    -------
    residual : array (d + 4,)
    derivative : array (d + 4, 6N), columns ``[δr, δu]``.
    """
    n = r.size
    p, v = r.reshape(-1, 3), u.reshape(-1, 3)
    d = jacobian.shape[0]
    residual = np.concatenate(
        [jacobian @ u, scale * np.cross(p, v).sum(axis=0), [scale * (u @ u - 1.0)]]
    )
    derivative = np.zeros((d + 4, 2 * n))
    derivative[:d, :n] = directional
    derivative[:d, n:] = jacobian
    # d(p_i × u_i)/dp_i = -[u_i]_×, d(p_i × u_i)/du_i = [p_i]_×
    derivative[d : d + 3, :n] = -scale * np.concatenate(list(_cross_matrix(v)), axis=1)
    derivative[d : d + 3, n:] = scale * np.concatenate(list(_cross_matrix(p)), axis=1)
    derivative[d + 3, n:] = 2.0 * scale * u
    return residual, derivative


def log_scale_gradient(
    jacobian: np.ndarray, top_motion: np.ndarray, top_directional: np.ndarray
) -> np.ndarray:
    r"""Gradient of :math:`\log s_1` in the neighbour coordinates, (3N,).

    With :math:`b_1` the top right singular vector and :math:`a_1 = J b_1 / s_1` the left
    one, :math:`\partial s_1 / \partial r_k = a_1^\top (\partial J / \partial r_k)\, b_1
    = (a_1^\top D_{b_1} J)_k` by the symmetry of second derivatives (as for
    :math:`D_u J` in the module docstring), so

    .. math:: \nabla \log s_1 = \frac{(J b_1)^\top D_{b_1} J}{|J b_1|^2}.

    Parameters
    ----------
    jacobian : array (d, 3N)
        :math:`J(r)`.
    top_motion : array (3N,)
        :math:`b_1`, the unit motion of the largest purified singular value.
    top_directional : array (d, 3N)
        :math:`D_{b_1} J`, the derivative of the Jacobian along :math:`b_1`.

    Returns
    -------
    array (3N,)
        Zero when :math:`J b_1` vanishes (every singular value zero).
    """
    image = jacobian @ top_motion
    norm2 = float(image @ image)
    if norm2 == 0.0:
        return np.zeros(jacobian.shape[1])
    return (image @ top_directional) / norm2


def ratio_system(
    r: np.ndarray,
    u: np.ndarray,
    jacobian: np.ndarray,
    directional: np.ndarray,
    s_1: float,
    log_s1_gradient: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The bordered system divided by :math:`s_1(r)`: :math:`\tilde F = F / s_1` and
    its Jacobian.

    Its first block :math:`J u / s_1` has the norm :math:`s_\min / s_1` at the smallest
    singular vector, a ratio that a common factor of every singular value (a smooth
    cutoff fading all neighbours at once) does not lower. Its derivative in :math:`r`
    is :math:`D_u J / s_1 - (J u / s_1) \otimes \nabla \log s_1`; the constraint
    blocks are those of :func:`bordered_system` with unit weight.

    Parameters
    ----------
    r, u : arrays (3N,)
        Neighbour positions and the unit motion.
    jacobian, directional : arrays (d, 3N)
        :math:`J(r)` and :math:`D_u J`.
    s_1 : float
        The largest purified singular value at ``r`` (positive).
    log_s1_gradient : array (3N,)
        :func:`log_scale_gradient`.

    Returns
    -------
    residual : array (d + 4,)
    derivative : array (d + 4, 6N), columns ``[δr, δu]``.
    """
    residual, derivative = bordered_system(r, u, jacobian / s_1, directional / s_1, 1.0)
    d = jacobian.shape[0]
    derivative[:d, : r.size] -= np.outer(residual[:d], log_s1_gradient)
    return residual, derivative


def levenberg_marquardt_step(
    residual: np.ndarray,
    derivative: np.ndarray,
    *,
    damping: float,
    towards: np.ndarray,
) -> np.ndarray:
    r"""Levenberg–Marquardt step :math:`\delta` minimising
    :math:`|F + G\delta|^2 + \mu^2 |\delta_r - \Delta|^2`.

    ``damping`` is :math:`\mu`, ``towards`` is :math:`\Delta` (where the damping pulls
    the position step; zero for plain Levenberg–Marquardt).
    """
    n = towards.size
    rows = np.zeros((n, derivative.shape[1]))
    rows[:, :n] = damping * np.eye(n)
    derivative = np.vstack([derivative, rows])
    residual = np.concatenate([residual, -damping * towards])
    step, *_ = np.linalg.lstsq(derivative, -residual, rcond=None)
    return step


@dataclass(frozen=True)
class SearchStep:
    """One accepted iterate of :func:`find_singular`."""

    cn: float
    s_min: float
    distance: float
    jacobian_evaluations: int


@dataclass(frozen=True)
class SingularResult:
    """Outcome of :func:`find_singular`.

    Attributes
    ----------
    atoms : ase.Atoms
        The configuration found; ``info`` holds ``cn``, ``symmetric``,
        ``symmetry_residual``, ``coincident_pairs`` (e.g. ``"H2-H3 = H4-H3"`` with atom
        indices, or ``"none"``), ``pair_swap_residual``, ``unseen_pairs`` (the pairs
        whose unseen angle the zero motion turns, with the neighbour whose weight hides
        them as ``spectrum`` writes it, or ``"none"``; see ``explanation``),
        ``truncation`` (equidistant neighbours whose motions the zero moves and the
        fingerprint sees through too few sums, as ``spectrum`` writes them, or
        ``"none"``), ``distance``,
        ``jacobian_evaluations``, ``iterations``, ``converged`` and ``singular_values``;
        for spurious zeros (``n_spurious``) also ``n_spurious_zeros`` and
        ``n_explained_zeros``.
    singular_values : array (3N-3,)
        Purified singular values there, descending.
    cn : float
        Condition number s_1 / s_min.
    distance : float
        Distance moved from the start, :math:`|r - r_\\mathrm{start}|` over all neighbour
        coordinates (Å).
    symmetry : SymmetryVerdict
        Point-symmetry test of the result.
    n_unexplained : int
        Zero singular values (below ``ZERO_RTOL`` s_1) along motions that the symmetry
        found leaves free (:func:`~degeneracy.sensitivity.unexplained_zeros`; every zero
        when there is none). A result within the symmetry tolerance can still have
        such a zero: then the zero is spurious, not forced.
    n_beside_symmetry : int
        Zeros at round-off that stay so beside a symmetry holding only within the
        tolerance (:func:`~degeneracy.sensitivity.exact_zeros_beside_symmetry`, as
        ``spectrum`` counts them): the fingerprint's own, spurious, not forced.
    coincidences : list of CoincidentPairs
        Groups of neighbour pairs with equal :math:`(r_i, r_j, \theta_{ij})` there
        (:func:`coincident_pairs`).
    pair_swap_residual : float
        :func:`pair_swap_residual` of the zero motion: near 0 when it only trades the
        angles or radii of equal pairs against each other (or turns pairs the
        fingerprint does not see, its ``unseen_pairs``). Of several zeros, those the
        symmetry leaves free (:func:`~degeneracy.sensitivity.free_zero_motions`), the
        largest ρ over their span (ρ_k of :func:`~degeneracy.sensitivity.explain_zero`:
        below :data:`~degeneracy.sensitivity.PAIR_SWAP_TOL` when every motion of it is
        a trade); without such a zero, that of the softest motions
        (:func:`~degeneracy.sensitivity.softest_motions`; one motion unless s_min is
        tied). Neither depends on the basis the SVD returned.
    explanation : ZeroExplanation or None
        :func:`~degeneracy.sensitivity.explain_zero` of the same motions: the equal pairs
        they swap and the unseen pairs they turn, when that is all every one of them
        does, with the neighbours whose cutoff weight hides them (``weighed_out``), or
        the equidistant neighbours they move (``truncation``). For a result with a
        zero the unseen pairs are decided with its singular values, as ``spectrum``
        decides them (:func:`~degeneracy.sensitivity.unseen_response`); without one,
        by the fixed weight :data:`~degeneracy.representations.base.UNSEEN_WEIGHT`.
        Of spurious zeros only some of which are explained, the explanation of the most
        that are (its ``n_explained``; ``partial`` of
        :func:`~degeneracy.sensitivity.explain_zero`), as ``spectrum`` labels them.
    n_spurious : int or None
        For a result whose zeros are spurious (a zero the symmetry leaves free, neither
        lifted, ``near_symmetry``, nor at a ``kink``): how many, as
        :func:`~degeneracy.sensitivity.classify_zeros` counts them; :attr:`n_explained`
        says how many of them ``explanation`` explains (``spectrum``'s
        ``n_spurious_zeros`` and ``n_explained_zeros``, also in ``info``). None otherwise.
    near_swap : dict
        :func:`~degeneracy.sensitivity.near_swap` of the softest motion there: the two
        pairs nearest to being equal, their distance (Å) and ρ; for a search that did
        not converge, whether it was heading for a ν = 2 branch point. Also in ``info``
        (keys with a value only).
    near_symmetry : NearSymmetry or None
        For a search that ends at a zero (below ``ZERO_RTOL`` s_1, whether or not it
        reached ``cn_target``) within
        :data:`~degeneracy.sensitivity.NEAR_SYMMETRY_REACH` of a symmetric environment
        but outside ``symmetry_tol``, when the zeros there are that environment's forced
        zeros, lifted (:func:`~degeneracy.sensitivity.near_symmetry`): then they are not
        spurious. ``info["near_symmetry_distance"]`` (Å) when set, and
        ``info["near_symmetry_zero_distance"]`` (Å) when the guard reached a zero without
        symmetry farther out (:attr:`~degeneracy.sensitivity.NearSymmetry.zero_distance`).
    straight : bool
        The search stopped because its next step met a straight environment (neighbours
        collinear with the centre, where the rotations are degenerate and no spectrum
        exists): a near-linear environment's softest motion is its bend, which vanishes
        at the straight, axially symmetric shape. ``info["straight"]`` when set.
    kink : bool
        Whether the fingerprint has no Jacobian there (its optional ``kinks`` hook,
        :func:`~degeneracy.sensitivity.kinks_of`: e.g. coinciding OM eigenvalues), so
        that the singular values and CN are those of one one-sided derivative and no
        zero among them is explained (``spectrum``'s verdict ``"kink"``);
        ``info["kink"]`` (True) when set.
    converged : bool
        Whether ``cn`` reached the target.
    iterations, jacobian_evaluations : int
    history : list of SearchStep
    """

    atoms: ase.Atoms
    singular_values: np.ndarray
    cn: float
    distance: float
    symmetry: SymmetryVerdict
    converged: bool
    iterations: int
    jacobian_evaluations: int
    history: list[SearchStep] = field(default_factory=list)
    coincidences: list[CoincidentPairs] = field(default_factory=list)
    pair_swap_residual: float = 1.0
    explanation: ZeroExplanation | None = None
    near_swap: dict[str, Any] = field(default_factory=dict)
    n_unexplained: int = 0
    near_symmetry: NearSymmetry | None = None
    straight: bool = False
    n_beside_symmetry: int = 0
    kink: bool = False
    n_spurious: int | None = None

    @property
    def n_explained(self) -> int | None:
        """How many of the ``n_spurious`` zeros ``explanation`` explains: all of them, m
        (its ``n_explained``) or 0 without one; None without ``n_spurious``
        (:attr:`~degeneracy.sensitivity.ZeroClassification.n_explained`)."""
        if self.n_spurious is None:
            return None
        if self.explanation is None:
            return 0
        return self.explanation.n_explained or self.n_spurious

    @property
    def has_zero(self) -> bool:
        """Whether it ends at a zero by ``spectrum``'s rule: s_min / s_1 below
        :data:`~degeneracy.sensitivity.ZERO_RTOL`, whether or not ``cn_target`` was reached."""
        return _is_zero(self.cn)

    @property
    def symmetric(self) -> bool:
        """True when a point symmetry explains the zero (not a spurious singularity): the
        result is symmetric within the tolerance and no zero lies along a motion that the
        symmetry leaves free, nor stays at round-off beside a symmetry that holds only
        within the tolerance (``n_beside_symmetry``)."""
        return self.symmetry.symmetric and self.n_unexplained == 0 and not self.n_beside_symmetry

    @property
    def pair_swap(self) -> bool:
        """True when the zero motion swaps equal neighbour pairs (and moves nothing else
        the fingerprint sees): the zero that every ν = 2 fingerprint has there (some of
        the zeros, when :attr:`n_explained` is fewer than ``n_spurious``)."""
        return self.explanation is not None and bool(self.explanation.swapped)


def find_singular(
    atoms: ase.Atoms,
    representation: Representation,
    *,
    pull: float = 1.0,
    cn_target: float = DEFAULT_CN_TARGET,
    max_iterations: int = 60,
    fd_step: float = DEFAULT_FD_STEP,
    max_step: float = DEFAULT_MAX_STEP,
    pull_cutoff: float = DEFAULT_PULL_CUTOFF,
    symmetry_tol: float = SYMMETRY_TOL,
    callback: Callable[[SearchStep], None] | None = None,
    check_near_symmetry: bool = True,
    min_distance: float = DEFAULT_MIN_DISTANCE,
) -> SingularResult:
    r"""Find a configuration near ``atoms`` where the smallest purified singular value vanishes.

    Levenberg–Marquardt on the bordered system of the module docstring divided by
    :math:`s_1` (:func:`ratio_system`: the objective is :math:`s_\min / s_1`, which a
    common factor of the singular values leaves unchanged), with a backtracking line
    search on :math:`s_\min / s_1`. Stops when CN reaches ``cn_target``, when
    :math:`s_\min / s_1` no longer decreases, or after ``max_iterations``.

    A step is refused (halved) when it takes a neighbour to or beyond the fingerprint's
    ``cutoff``; when it brings two atoms (the centre included) closer than ``min_distance``
    or than half the closest distance at the start (whichever is less): two neighbours on
    top of each other give a zero that no fingerprint can avoid (their opposite motions;
    :func:`~degeneracy.sensitivity.check_analysable` refuses such a frame), and a SOAP
    search from ten neighbours 0.4 Å apart rode it down, pulling two of them to 2e-12 Å for
    a "converged" CN of 1.2e14; or, for a smooth cutoff (ACSF, the OM: their optional
    ``response_weights``), when it ends at a zero (:math:`s_\min/s_1 <`
    :data:`~degeneracy.sensitivity.ZERO_RTOL`) with a neighbour faded since the start (lower
    response factor) to where its weight could explain a zero
    (:func:`~degeneracy.sensitivity.faint_neighbors`: response factor below
    :math:`\sqrt{\mathtt{ZERO\_RTOL}}` = 1e-3, the bound of
    :func:`~degeneracy.sensitivity.unseen_response` for the largest zero; an OM neighbour
    beyond 2.27 Å, an ACSF one beyond 2.45 Å at a 2.5 Å cutoff). Such a zero is the
    neighbour leaving, not a defect of the fingerprint. So a zero found is never one that
    :func:`~degeneracy.sensitivity.explain_zero` puts down to the weight of a neighbour the
    search faded; one it puts down to a weight the start already had stays (the search
    cannot lower that weight) and is named. The zero's own bound :math:`\sqrt{s_\min/s_1}`
    would not do for the guard: it falls with :math:`s_\min`, and the search rode it down
    (ACSF G4 from a neighbour at 2.3 Å to :math:`f_c` = 3e-7; with the motion test too, G5
    ended at ρ = 1.00e-3, just past :data:`~degeneracy.sensitivity.PAIR_SWAP_TOL`). Steps
    that fade a neighbour while :math:`s_\min` is not yet a zero are taken: from CH4 with H1
    at 2.2–2.35 Å the OM search stops short of a zero (CN ~1e6, H1 at 2.38–2.40 Å); with the
    former floor of 1e-5 on the weight it went on to 2.496 Å, CN 5e11.

    Parameters
    ----------
    atoms : ase.Atoms
        Start environment (centre first); not modified.
    representation : Representation
        Fingerprint whose Jacobian is made singular.
    pull : float
        :math:`\alpha \in [0, 1]`: the damped part of each step aims at
        :math:`\alpha (r_0 - r)` (1: about the nearest singular point; 0: no pull).
    cn_target : float
        Stop once :math:`s_1/s_\min` exceeds this.
    max_iterations : int
        Iterations at most.
    fd_step : float
        Step (Å) of the central difference :math:`D_u J`.
    max_step : float
        Trust radius (Å): longer steps are shortened to this.
    pull_cutoff : float
        The pull acts only while :math:`s_\min / s_1` exceeds this.
    symmetry_tol : float
        RMS residual (Å) under which the result counts as symmetric, at most
        :data:`~degeneracy.checks.MAX_SYMMETRY_TOL`.
    callback : callable, optional
        Called with every accepted :class:`SearchStep`.
    min_distance : float
        The closest (Å) a step may bring two atoms, or half the closest distance at the
        start if that is less; :data:`~degeneracy.structures.DEFAULT_MIN_DISTANCE` by
        default, the distance below which the readers refuse a frame.
    check_near_symmetry : bool
        Test the zeros of a result that is not symmetric with
        :func:`~degeneracy.sensitivity.near_symmetry` (``SingularResult.near_symmetry``;
        two Jacobians, and a short search when the path test passes). With a
        ``cn_target`` near :data:`~degeneracy.sensitivity.ZERO_RTOL`'s inverse the search
        can stop a few mÅ from a symmetric environment (ACSF near T_d CH4 from 3 mÅ).

    Returns
    -------
    SingularResult
        The configuration where the search stopped (``converged`` tells whether CN
        reached ``cn_target``), its spectrum, point-symmetry test, coincident pairs and
        the explanation of its zero motions (for a zero, that of ``spectrum``:
        :func:`~degeneracy.sensitivity.explain_zero` with the singular values, of the span
        of every zero the symmetry leaves free, whatever basis of it the SVD returned),
        and the accepted iterates in ``history``.

    Raises
    ------
    DegeneracyError
        When ``pull`` is not in [0, 1], ``cn_target`` does not exceed 1,
        ``max_iterations`` is not an integer ≥ 1, ``fd_step`` is not in (0, 0.1),
        ``max_step`` is not positive, ``min_distance`` is negative, ``pull_cutoff`` is
        not in (0, 1) or
        ``symmetry_tol`` is not in (0, 0.15] Å; when ``atoms`` is
        not one :class:`ase.Atoms`, is refused by
        :func:`~degeneracy.sensitivity.check_analysable`, or the fingerprint has fewer
        features than the 3N − 3 internal motions; or when positions become non-finite.
    """
    pull, cn_target, max_iterations, fd_step, max_step, pull_cutoff, symmetry_tol, min_distance = (
        search_parameters(
            pull=pull,
            cn_target=cn_target,
            max_iterations=max_iterations,
            fd_step=fd_step,
            max_step=max_step,
            pull_cutoff=pull_cutoff,
            symmetry_tol=symmetry_tol,
            min_distance=min_distance,
        )
    )
    callback = optional_callable("callback", callback)
    check_near_symmetry = true_or_false("check_near_symmetry", check_near_symmetry)
    check_analysable([one_frame(atoms, name="find_singular")], representation)
    check_enough_features(atoms, representation, task="singular configuration to search for")
    descent = _Descent.at_start(CountingJacobian(representation, atoms), atoms, callback)
    guard = _StepGuard.for_search(representation, descent.start, min_distance)
    while descent.iterations < max_iterations and descent.spectrum.cn[0] < cn_target:
        descent.iterations += 1
        step = _damped_step(descent, fd_step=fd_step, pull=pull, pull_cutoff=pull_cutoff)
        if step is None:
            break  # the search reached a straight environment: stop where it is
        length = float(np.linalg.norm(step))
        if length > max_step:  # trust region: the linearisation is only locally valid
            step = step * (max_step / length)
        trial = _backtracked_trial(descent, step, guard)
        if trial is None:
            break
        descent.accept(*trial)
    return _singular_result(
        atoms,
        representation,
        descent,
        symmetry_tol=symmetry_tol,
        check_near_symmetry=check_near_symmetry,
        cn_target=cn_target,
        pull=pull,
    )


def search_parameters(
    *,
    pull: float,
    cn_target: float,
    max_iterations: int,
    fd_step: float,
    symmetry_tol: float,
    max_step: float = DEFAULT_MAX_STEP,
    pull_cutoff: float = DEFAULT_PULL_CUTOFF,
    min_distance: float = DEFAULT_MIN_DISTANCE,
) -> tuple[float, float, int, float, float, float, float, float]:
    """:func:`find_singular`'s numerical parameters (its defaults are there), checked
    (each named when refused: see its Raises) and in this order: ``pull, cn_target,
    max_iterations, fd_step, max_step, pull_cutoff, symmetry_tol, min_distance``. The
    command line calls it before it reads a frame, so that a bad option is refused at
    once, as itself (the last three it has no options for)."""
    try:
        pull = float(pull)
    except (TypeError, ValueError):
        raise DegeneracyError(f"pull must be a number, got {pull!r}") from None
    if not 0.0 <= pull <= 1.0:  # also refuses nan
        raise DegeneracyError(f"pull must be between 0 and 1, got {pull!r}")
    cn_target = positive_float("cn_target", cn_target)
    if cn_target <= 1:
        raise DegeneracyError(f"cn_target must exceed 1 (CN = s1/s_min >= 1), got {cn_target:g}")
    return (
        pull,
        cn_target,
        bounded_int("max_iterations", max_iterations, minimum=1),
        positive_float("fd_step", fd_step, below=0.1),
        positive_float("max_step", max_step),
        positive_float("pull_cutoff", pull_cutoff, below=1.0),
        symmetry_tolerance_value("symmetry_tol", symmetry_tol),
        non_negative_float("min_distance", min_distance),
    )


@dataclass
class _Descent:
    """Where :func:`find_singular`'s descent stands: the neighbour positions ``r`` (3N,),
    their Jacobian (1, F, 3N) and spectrum, the accepted iterates, and whether the last
    iterations met a straight environment."""

    evaluate: CountingJacobian
    start: np.ndarray
    r: np.ndarray
    jacobian: np.ndarray
    spectrum: Spectrum
    callback: Callable[[SearchStep], None] | None
    history: list[SearchStep] = field(default_factory=list)
    iterations: int = 0
    straight: bool = False

    @classmethod
    def at_start(
        cls,
        evaluate: CountingJacobian,
        atoms: ase.Atoms,
        callback: Callable[[SearchStep], None] | None,
    ) -> _Descent:
        """The descent before its first step, that start recorded."""
        start = neighbor_positions(atoms).ravel().copy()
        _, jacobian, spectrum = evaluate(start)
        descent = cls(evaluate, start, start.copy(), jacobian, spectrum, callback)
        descent.record()
        return descent

    @property
    def distance(self) -> float:
        """How far (Å) the search has moved the neighbours from the start, :math:`|r - r_0|`."""
        return float(np.linalg.norm(self.r - self.start))

    def record(self) -> None:
        """Append the current iterate to ``history`` and pass it to the callback."""
        step = SearchStep(
            cn=float(self.spectrum.cn[0]),
            s_min=float(self.spectrum.values[0][-1]),
            distance=self.distance,
            jacobian_evaluations=self.evaluate.evaluations,
        )
        self.history.append(step)
        if self.callback is not None:
            self.callback(step)

    def accept(self, r: np.ndarray, jacobian: np.ndarray, spectrum: Spectrum) -> None:
        """Move to an accepted trial (which passed by any straight trial) and record it."""
        self.r, self.jacobian, self.spectrum = r, jacobian, spectrum
        self.straight = False
        self.record()


@dataclass(frozen=True)
class _StepGuard:
    """The trial positions :func:`find_singular` refuses: a neighbour at or beyond the
    fingerprint's cutoff, two atoms closer than ``closest_allowed``, or, for a smooth
    cutoff (``response_weights``), a zero reached by fading a neighbour."""

    representation: Representation
    cutoff: float | None
    closest_allowed: float
    start_response: np.ndarray | None

    @classmethod
    def for_search(
        cls, representation: Representation, start: np.ndarray, min_distance: float
    ) -> _StepGuard:
        """The guard of a search from neighbour positions ``start`` (3N,)."""
        respond = getattr(representation, "response_weights", None)
        return cls(
            representation,
            getattr(representation, "cutoff", None),
            closest_allowed_distance(start, min_distance),
            None if respond is None else respond(start.reshape(-1, 3))[0],
        )

    def refuses_positions(self, trial: np.ndarray) -> bool:
        """Whether ``trial`` (3N,) leaves the environment or brings two atoms together."""
        # outside, a neighbour's Jacobian columns vanish: s_min drops for the wrong reason
        # (and the OM refuses the frame); two atoms meeting give a zero of every
        # fingerprint, not a defect of this one
        return (
            farthest_beyond_cutoff(trial, self.cutoff) is not None
            or closest_atom_distance(trial) < self.closest_allowed
        )

    def weighs_out(self, positions: np.ndarray, frame: Spectrum) -> bool:
        """Whether ``frame`` is a zero reached by fading a neighbour to where its weight
        could explain a zero: the neighbour leaving through a smooth cutoff, not a
        singular configuration."""
        if self.start_response is None or not _is_zero(frame.cn[0]):
            return False
        neighbors = positions.reshape(-1, 3)
        response = np.asarray(self.representation.response_weights(neighbors)[0])
        faded = response < self.start_response
        return bool(np.any(faded & faint_neighbors(self.representation, neighbors)))


def _damped_step(
    descent: _Descent, *, fd_step: float, pull: float, pull_cutoff: float
) -> np.ndarray | None:
    """The Levenberg–Marquardt step (3N,) of the ratio system from ``descent``'s
    position, before the trust radius; None when the finite differences meet a straight
    environment (``descent.straight`` is then set).

    One batch of Jacobians: :math:`D_u J` by a central difference along the softest
    motion :math:`u`, :math:`D_{b_1} J` by a forward one along the top motion.
    """
    r, spectrum = descent.r, descent.spectrum
    values, u, top = spectrum.values[0], spectrum.motions[0, -1], spectrum.motions[0, 0]
    try:
        _, shifted, _ = descent.evaluate(
            np.stack([r + fd_step * u, r - fd_step * u, r + fd_step * top])
        )
    except DegeneracyError as error:
        if not _collinear_error(error):
            raise
        descent.straight = True
        return None
    jacobian = descent.jacobian[0]
    directional = (shifted[0] - shifted[1]) / (2.0 * fd_step)
    top_directional = (shifted[2] - jacobian) / fd_step
    residual, derivative = ratio_system(
        r, u, jacobian, directional, values[0], log_scale_gradient(jacobian, top, top_directional)
    )
    ratio = values[-1] / values[0]
    return levenberg_marquardt_step(
        residual,
        derivative,
        damping=ratio,
        towards=(pull if ratio > pull_cutoff else 0.0) * (descent.start - r),
    )[: r.size]


def _backtracked_trial(
    descent: _Descent, step: np.ndarray, guard: _StepGuard, halvings: int = 8
) -> tuple[np.ndarray, np.ndarray, Spectrum] | None:
    r"""Positions, Jacobian and spectrum of ``descent.r + step``, the step halved (at most
    ``halvings`` tries) until :math:`s_\min / s_1` decreases at a position ``guard``
    allows; None when no try does."""
    ratio = descent.spectrum.values[0][-1] / descent.spectrum.values[0][0]
    for _ in range(halvings):
        trial = descent.r + step
        step = step / 2.0
        if guard.refuses_positions(trial):
            continue
        try:
            _, jacobian, spectrum = descent.evaluate(trial)
        except DegeneracyError as error:
            if not _collinear_error(error):
                raise
            # a trial on (or next to) a straight environment: its rotations are
            # degenerate there; reject it like any step that does not help
            descent.straight = True
            continue
        values = spectrum.values[0]
        if (
            values[0] > 0
            and values[-1] < ratio * values[0]
            and not guard.weighs_out(trial, spectrum)
        ):
            return trial, jacobian, spectrum
    return None


class _ZeroAccount(NamedTuple):
    """How :func:`find_singular` accounts for the softest motions of what it found."""

    n_unexplained: int
    lifted: NearSymmetry | None
    kink: bool
    n_spurious: int | None
    swap: float
    explanation: ZeroExplanation | None
    near: dict
    n_beside_symmetry: int = 0


def _zero_account(
    found: ase.Atoms,
    neighbors: np.ndarray,
    representation: Representation,
    spectrum: Spectrum,
    jacobian: np.ndarray,
    symmetry: SymmetryVerdict,
    coincidences: list[CoincidentPairs],
    *,
    check_near_symmetry: bool,
) -> _ZeroAccount:
    """The zeros of ``found`` (its ``neighbors`` (N, 3), ``spectrum`` and Jacobian
    (F, 3N)) as ``spectrum`` accounts for them: free of ``symmetry``, lifted, at a kink or
    spurious, with the explanation of their motions and the nearest swap of the softest
    one."""
    values = spectrum.values[0]
    cn = float(spectrum.cn[0])
    # a zero is explained as spectrum explains it (the bound of unseen_response follows
    # its size): the span of the zeros the symmetry leaves free, every one of them (no
    # fingerprint with a feature deficit gets here), whatever basis the SVD returned, or
    # of spurious ones the most that are (partial, with the count); without such a zero,
    # the softest motions, and the fixed UNSEEN_WEIGHT names the pairs weighed out
    # (no zero below ZERO_RTOL s1, no free zero: the restricted values are >= s_min)
    motions = spectrum.motions[0]
    free = free_zero_motions(values, motions, symmetry.forced_motions)
    softest = softest_motions(values, motions)
    n_unexplained = len(free)  # unexplained_zeros' count, from the same SVD
    lifted = None
    if check_near_symmetry and n_unexplained > 0:
        lifted = near_symmetry(found, values, representation)
        if lifted is None:  # the straight environments near_symmetry cannot evaluate
            lifted = near_linear(
                found, values, representation, n_symmetry_zeros=symmetry.n_symmetry_zeros
            )
    kink = bool(kinks_of(representation, [found])[0])
    # spurious zeros as spectrum counts them (classify_zeros: free, neither lifted nor at
    # a kink), of which the labels name the most that are explained, with the count
    n_spurious, beside = None, 0
    if n_unexplained and lifted is None and not kink:
        n_spurious = spurious_zero_count(
            values, n_unexplained, representation, jacobian.shape[0], len(neighbors)
        )
    elif symmetry.symmetric and not n_unexplained and not kink:
        # zeros at round-off beside a symmetry that holds only within the tolerance are
        # the fingerprint's own, as spectrum says (_symmetry_or_exact_zeros): an A± fold
        # 1.5 mÅ from a mirror was "SYMMETRIC: zeros forced by symmetry" here, `spurious`
        # there
        seen = seen_dimension(representation, jacobian.shape[0], len(neighbors))
        beside = exact_zeros_beside_symmetry(found, values, symmetry, representation, seen=seen)
        if beside:
            n_spurious, free = beside, motions[at_roundoff(values)]
    explained = free if len(free) else softest
    swap, explanation = explain_zero_motion(
        neighbors,
        explained,
        coincidences,
        representation,
        values=values if _is_zero(cn) else None,
        species=found.numbers[1:],
        n_spurious=n_spurious,
        partial=n_spurious is not None,
        span_values=(
            span_singular_values(representation, found, explained, values, jacobian)
            if _is_zero(cn)
            else None
        ),
    )
    near = near_swap(found, softest, representation, values=values)
    return _ZeroAccount(n_unexplained, lifted, kink, n_spurious, swap, explanation, near, beside)


def _singular_result(
    atoms: ase.Atoms,
    representation: Representation,
    descent: _Descent,
    *,
    symmetry_tol: float,
    check_near_symmetry: bool,
    cn_target: float,
    pull: float,
) -> SingularResult:
    """What :func:`find_singular` returns for where ``descent`` stopped, its ``info``
    filled in."""
    found = descent.evaluate.frame(descent.r)
    if "source_frame" in atoms.info:  # the rest describes the start, not what was found
        found.info["source_frame"] = atoms.info["source_frame"]
    neighbors = descent.r.reshape(-1, 3)
    symmetry = point_symmetry(neighbors, found.numbers[1:], tol=symmetry_tol)
    coincidences = coincident_pairs(neighbors, found.numbers[1:])
    account = _zero_account(
        found,
        neighbors,
        representation,
        descent.spectrum,
        descent.jacobian[0],
        symmetry,
        coincidences,
        check_near_symmetry=check_near_symmetry,
    )
    values = descent.spectrum.values[0]
    cn = float(descent.spectrum.cn[0])
    symbols = found.get_chemical_symbols()[1:]
    explanation = account.explanation
    unseen_label = None if explanation is None else explanation.labels(symbols)[1]
    truncation = None if explanation is None else explanation.truncation_label
    distance = descent.distance
    found.info.update({key: value for key, value in account.near.items() if value is not None})
    converged = bool(cn >= cn_target)
    if account.lifted is not None:
        found.info["near_symmetry_distance"] = account.lifted.distance
        if account.lifted.zero_distance is not None:
            found.info["near_symmetry_zero_distance"] = account.lifted.zero_distance
    if account.kink:
        found.info["kink"] = True
    if descent.straight:
        found.info["straight"] = True
    result = SingularResult(
        atoms=found,
        singular_values=values,
        cn=cn,
        distance=distance,
        symmetry=symmetry,
        converged=converged,
        iterations=descent.iterations,
        jacobian_evaluations=descent.evaluate.evaluations,
        history=descent.history,
        coincidences=coincidences,
        pair_swap_residual=account.swap,
        explanation=explanation,
        near_swap=account.near,
        n_unexplained=account.n_unexplained,
        n_beside_symmetry=account.n_beside_symmetry,
        near_symmetry=account.lifted,
        kink=account.kink,
        n_spurious=account.n_spurious,
        straight=descent.straight,
    )
    # (filled once the result can say whether a symmetry explains the zero: one rule)
    found.info.update(
        {
            "cn": cn,
            "singular_values": values.copy(),
            "symmetric": result.symmetric,
            "symmetry_residual": float(symmetry.residual),
            "coincident_pairs": coincidence_labels(coincidences, symbols),
            "pair_swap_residual": account.swap,
            "unseen_pairs": unseen_label or "none",
            "truncation": truncation or "none",
            "distance": distance,
            "jacobian_evaluations": descent.evaluate.evaluations,
            "iterations": descent.iterations,
            "converged": converged,
            "pull": pull,
        }
    )
    if account.n_spurious is not None:
        found.info["n_spurious_zeros"] = account.n_spurious
        found.info["n_explained_zeros"] = result.n_explained
    return result


def aligned_distance(a: np.ndarray, b: np.ndarray) -> float:
    r"""Distance between two neighbour sets (N, 3) after the best rotation of ``a`` (Kabsch).

    Rotations about the centre leave every fingerprint unchanged, so this is the distance
    that matters when comparing singular configurations found from different starts.

    .. math:: d(a, b) = \min_{R \in SO(3)} \bigl\| a R^\top - b \bigr\|_F

    over proper rotations only, the neighbours kept in their order (no permutation, no
    reflection).

    Parameters
    ----------
    a, b : array (N, 3) or (3N,)
        Neighbour positions relative to the centre (Å), in corresponding order.

    Returns
    -------
    float
        :math:`d(a, b)` in Å, the Euclidean norm over all neighbour coordinates (not an
        RMS per neighbour).

    Raises
    ------
    DegeneracyError
        When either is not one environment's positions, or they have different numbers
        of neighbours.
    """
    a, b = neighbor_array(a, "aligned_distance"), neighbor_array(b, "aligned_distance")
    if a.shape != b.shape:
        raise DegeneracyError(
            f"aligned_distance compares environments of {len(a)} and {len(b)} neighbours"
        )
    u, _, vt = np.linalg.svd(b.T @ a)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag([1.0, 1.0, sign]) @ vt
    return float(np.linalg.norm(a @ rotation.T - b))


def search_frames(
    frames: Sequence[ase.Atoms], representation: Representation, **options
) -> list[SingularResult]:
    """:func:`find_singular` for every frame."""
    return [find_singular(atoms, representation, **options) for atoms in frames]
