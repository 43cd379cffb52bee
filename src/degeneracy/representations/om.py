r"""Overlap-matrix (OM) fingerprint with its analytic (Hellmann–Feynman) Jacobian.

Sadeghi, Ghasemi, Schaefer, Mohr, Lill, Goedecker, J. Chem. Phys. 139, 184118 (2013); the
environment form with cutoff weights follows Zhu et al., J. Chem. Phys. 144, 034203 (2016).
Every atom :math:`A` of the environment (centre included) carries normalised Gaussian
orbitals — an s orbital and, with ``orbitals="sp"``, three p orbitals —

.. math:: \phi^s_A \propto e^{-\alpha_A |\mathbf r - \mathbf R_A|^2},\qquad
          \phi^{p_k}_A \propto (\mathbf r - \mathbf R_A)_k\,
          e^{-\alpha_A |\mathbf r - \mathbf R_A|^2},\qquad
          \alpha_A = \frac{1}{2 (w\, r^\mathrm{cov}_A)^2},

with :math:`r^\mathrm{cov}` the covalent radius (ase) and :math:`w` the ``width`` factor.
With :math:`\mathbf d = \mathbf R_A - \mathbf R_B`, :math:`\gamma = \alpha_A + \alpha_B`,
:math:`\mu = \alpha_A \alpha_B / \gamma` the overlaps are (Gaussian product theorem)

.. math::

    S^{ss}_{AB} = \Bigl(\tfrac{2\sqrt{\alpha_A\alpha_B}}{\gamma}\Bigr)^{3/2} e^{-\mu d^2},\quad
    S^{s p_k}_{AB} = S^{ss}_{AB}\,\frac{2\sqrt{\alpha_B}\,\alpha_A d_k}{\gamma},\quad
    S^{p_k s}_{AB} = -S^{ss}_{AB}\,\frac{2\sqrt{\alpha_A}\,\alpha_B d_k}{\gamma},

    S^{p_i p_j}_{AB} = S^{ss}_{AB}\, 4\sqrt{\alpha_A\alpha_B}\,
        \Bigl(\frac{\delta_{ij}}{2\gamma} - \frac{\alpha_A\alpha_B\, d_i d_j}{\gamma^2}\Bigr).

Neighbour orbitals are weighted by :math:`c(r_A) = (1 - r_A^2/r_c^2)^2` (zero with zero
slope at the cutoff; the centre has weight 1): :math:`\tilde S_{AB} = c_A c_B S_{AB}`. The
fingerprint is the eigenvalues of :math:`\tilde S`, sorted in descending order. They are
invariant under rotations, reflections and permutations of equal atoms (which act on
:math:`\tilde S` by an orthogonal similarity) and, through products of overlaps around
closed loops, carry many-body information: the OM fingerprint tells the A± pairs apart.

Jacobian (Hellmann–Feynman), for a non-degenerate eigenvalue with unit eigenvector
:math:`v_k`:

.. math:: \frac{\partial \lambda_k}{\partial \mathbf R_C} = v_k^{\mathsf T}\,
          \frac{\partial \tilde S}{\partial \mathbf R_C}\, v_k .

**Degenerate eigenvalues.** Where two eigenvalues coincide the sorted eigenvalues are
continuous but not differentiable (they cross with a kink), so no Jacobian exists there;
the formula is then evaluated with whichever eigenvectors LAPACK returns in the degenerate
subspace, i.e. one one-sided derivative. Symmetric environments (e.g. the regular
tetrahedron, where the p orbitals form degenerate triplets) are such points.
:meth:`OverlapMatrix.eigenvalue_gaps` reports the smallest relative gap per frame so a
caller can tell, and :meth:`OverlapMatrix.kinks` which frames are such kinks (the
``kinks`` hook of the :class:`~degeneracy.representations.base.Representation`
protocol): there :func:`~degeneracy.sensitivity.analyse_frames` gives the verdict
``"kink"`` instead of reading the one-sided derivative's singular values. With
``orbitals="s"`` there are only N + 1 eigenvalues, fewer than the 3N − 3 internal
coordinates for CH4 (5 < 9): the purified Jacobian then always has zero
singular values and its condition number is infinite.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import ase
import ase.data
import numpy as np

from ..checks import one_of, positive_float
from ..errors import DegeneracyError, DegeneracyWarning
from ..structures import frame_list, neighbor_array, vector_lengths
from .base import batches, check_frames, cutoff_radius, weighed_out_pairs

ORBITAL_SETS = ("s", "sp")

#: Frames per eigen-decomposition in :meth:`OverlapMatrix.diagnose` (bounds its memory).
DIAGNOSE_BATCH = 500

#: Relative eigenvalue gap under which two OM eigenvalues count as coinciding: the sorted
#: eigenvalues have a kink there and the OM fingerprint no Jacobian: relative to the
#: larger of the two (:meth:`OverlapMatrix.kinks`, :func:`_kink_gaps`, the warning);
#: :meth:`OverlapMatrix.eigenvalue_gaps` measures gaps against the largest eigenvalue.
DEGENERATE_GAP = 1e-8

#: Range of the orbital ``width`` factor w (a multiple of the covalent radius, not Å).
#: Below ~0.3 bonded atoms' orbitals no longer overlap (for CH4 the eigenvalues are then
#: the cutoff weights alone, the same from w = 1e-20 to 0.3); above ~30 every orbital
#: covers the whole environment and the smallest eigenvalues fall to rounding noise
#: (CH4: 1.6e-5 at w = 10, 2e-8 at 30, 1e-11 at 100, ±1e-16 from 1000). Far outside,
#: the exponents over- or underflow: RuntimeWarnings, then NaN or a LinAlgError, from
#: w = 1e-100 down and 1e100 up.
WIDTH_RANGE = (0.1, 10.0)

#: Overlap of two atoms' s orbitals that every atom should have with some other for the
#: eigenvalues not to coincide: the width advice of :meth:`OverlapMatrix.diagnose`
#: (:func:`overlapping_width`). Narrower orbitals make kinks: an atom that overlaps no
#: other keeps its four orbitals' eigenvalues together, one that overlaps a single other
#: keeps two p orbitals together (the bond's axial symmetry), split by the others only
#: through longer paths of small overlaps. Measured on 400 random CH4 (sp): kinks in
#: 400, 400, 400, 382, 283 and 33 of them at w = 0.1, 0.2, 0.3, 0.4, 0.45 and 0.5, none
#: from 0.55 to 10; every atom overlaps another by 1e-2 from w = 0.63 on (0.43–0.63 per
#: frame), and at 0.63 none is a kink.
OVERLAP_FLOOR = 1e-2


def _pair_blocks(
    displacement: np.ndarray,
    alpha_a: np.ndarray,
    alpha_b: np.ndarray,
    with_p: bool,
    derivatives: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Overlap blocks S_AB(d) and their derivatives w.r.t. d.

    Returns arrays of shape (..., o, o) and (..., o, o, 3) with o = 1 or 4 orbitals; the
    second is None without ``derivatives`` (the features alone need none).
    """
    gamma = alpha_a + alpha_b
    mu = alpha_a * alpha_b / gamma
    d2 = (displacement**2).sum(axis=-1)
    ss = (2.0 * np.sqrt(alpha_a * alpha_b) / gamma) ** 1.5 * np.exp(-mu * d2)
    d_ss = -2.0 * mu[..., None] * displacement * ss[..., None]  # (..., 3)
    if not with_p:
        return ss[..., None, None], d_ss[..., None, None, :] if derivatives else None
    eye = np.eye(3)
    c_sp = 2.0 * np.sqrt(alpha_b) * alpha_a / gamma
    c_ps = -2.0 * np.sqrt(alpha_a) * alpha_b / gamma
    c_pp = 4.0 * np.sqrt(alpha_a * alpha_b)
    bracket = eye / (2.0 * gamma[..., None, None]) - (alpha_a * alpha_b / gamma**2)[
        ..., None, None
    ] * np.einsum("...i,...j->...ij", displacement, displacement)
    shape = (*displacement.shape[:-1], 4, 4)
    block = np.empty(shape)
    block[..., 0, 0] = ss
    block[..., 0, 1:] = (c_sp * ss)[..., None] * displacement
    block[..., 1:, 0] = (c_ps * ss)[..., None] * displacement
    block[..., 1:, 1:] = (c_pp * ss)[..., None, None] * bracket
    if not derivatives:
        return block, None
    derivative = np.empty((*shape, 3))
    derivative[..., 0, 0, :] = d_ss
    # d(c ss d_k)/d d_c = c (d_ss_c d_k + ss δ_kc)
    for target, coeff in (((0, slice(1, None)), c_sp), ((slice(1, None), 0), c_ps)):
        derivative[(Ellipsis, *target, slice(None))] = coeff[..., None, None] * (
            np.einsum("...k,...c->...kc", displacement, d_ss) + ss[..., None, None] * eye
        )
    d_bracket = -(alpha_a * alpha_b / gamma**2)[..., None, None, None] * (
        np.einsum("ic,...j->...ijc", eye, displacement)
        + np.einsum("...i,jc->...ijc", displacement, eye)
    )
    derivative[..., 1:, 1:, :] = c_pp[..., None, None, None] * (
        bracket[..., None] * d_ss[..., None, None, :] + ss[..., None, None, None] * d_bracket
    )
    return block, derivative


class OverlapMatrix:
    r"""Overlap-matrix fingerprint (sorted eigenvalues) with a Hellmann–Feynman Jacobian.

    Parameters
    ----------
    orbitals : {"sp", "s"}
        Orbitals per atom: s and three p (4 per atom) or s only (1 per atom).
    width : float
        Factor w on the covalent radii that set the Gaussian exponents
        :math:`\alpha = 1/(2 (w\,r^\mathrm{cov})^2)`, relative (not Å): the orbital of
        an atom has width :math:`w\,r^\mathrm{cov}`. 1 is Sadeghi et al.'s choice; from
        0.1 to 10 (:data:`WIDTH_RANGE`: beyond, the orbitals of bonded atoms do not
        overlap at all or every orbital covers the whole environment).
    cutoff : float
        Radius r_c (Å) of the orbital weights :math:`(1 - r^2/r_c^2)^2`, at most
        :data:`~.base.MAX_CUTOFF` (100).

    Notes
    -----
    Features: ``n_orbitals × (N + 1)`` eigenvalues, descending (20 for CH4 with "sp").
    """

    name = "om"

    def __init__(self, *, orbitals: str = "sp", width: float = 1.5, cutoff: float = 2.5) -> None:
        self.orbitals = one_of("orbitals", orbitals, ORBITAL_SETS)
        self.width = positive_float("width", width)
        low, high = WIDTH_RANGE
        if not low <= self.width <= high:
            raise DegeneracyError(
                f"width must be between {low:g} and {high:g} (a multiple of the covalent "
                f"radius), got {width!r}"
            )
        self.cutoff = cutoff_radius(cutoff)
        self._warned = False

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hypers().items())
        return f"OverlapMatrix({args})"

    def hypers(self) -> dict[str, Any]:
        """Hyperparameters (JSON-serialisable)."""
        return {"orbitals": self.orbitals, "width": self.width, "cutoff": self.cutoff}

    @property
    def orbitals_per_atom(self) -> int:
        """1 for "s", 4 for "sp"."""
        return 4 if self.orbitals == "sp" else 1

    def exponents(self, numbers: np.ndarray) -> np.ndarray:
        """Gaussian exponents α (Å⁻²) for atomic numbers."""
        radii = ase.data.covalent_radii[np.asarray(numbers)] * self.width
        return 1.0 / (2.0 * radii**2)

    def unseen_pairs(self, neighbors: np.ndarray) -> list[tuple[int, int]]:
        r"""Neighbour pairs with a neighbour the OM does not see (:func:`weighed_out_pairs`):
        its weight :math:`(1 - r^2/r_c^2)^2` vanishes with its slope at the cutoff.

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        return weighed_out_pairs(self.neighbor_weights(neighbors))

    def response_weights(self, neighbors: np.ndarray) -> tuple[np.ndarray, None]:
        r"""The factor :math:`c^2` by which each neighbour's weight :math:`c` scales the
        features' response to turning it, (N,); no pair factors (None).

        An eigenvalue's derivative :math:`v_k^\mathsf{T} (\partial \tilde S) v_k` takes
        one :math:`c` from :math:`\partial \tilde S` and one from the eigenvector's share of
        the neighbour's orbitals. Measured with a neighbour moved out from 2.2 Å to
        2.499 Å in 40 random 4–8-neighbour environments: the two turns' singular values
        are 0.006–0.12 :math:`c^2 s_1`, the radial motion's ~4 :math:`c^{1.5} s_1`
        (docs/concepts.md). A pair's term is as small as its smaller neighbour factor
        (:func:`~degeneracy.sensitivity.unseen_pairs_of`).

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        return self.neighbor_weights(neighbors) ** 2, None

    def neighbor_weights(self, neighbors: np.ndarray) -> np.ndarray:
        r"""Each neighbour's weight :math:`(1 - r^2/r_c^2)^2`, 0 beyond the cutoff, (N,).

        (:meth:`_weights` computes the same with its gradient, and refuses neighbours
        beyond the cutoff.)

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        neighbors = neighbor_array(neighbors, "neighbor_weights")
        base = np.clip(1.0 - (neighbors**2).sum(axis=1) / self.cutoff**2, 0.0, None)
        return base**2

    def _weights(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights c(r) and dc/dR (f, A) and (f, A, 3); the centre has weight 1."""
        vectors = positions - positions[:, :1]
        radii = vector_lengths(vectors)  # 1e300 Å is 1e300, not inf with a warning
        outside = np.argwhere(radii[:, 1:] >= self.cutoff)
        if outside.size:
            frame, atom = int(outside[0, 0]), int(outside[0, 1]) + 1
            raise DegeneracyError(
                f"om: frame {frame}, atom {atom}: {radii[frame, atom]:.4g} Å from the "
                f"centre, outside the OM cutoff {self.cutoff} Å"
            )
        r2 = (vectors**2).sum(axis=-1)
        base = 1.0 - r2 / self.cutoff**2
        weights = base**2
        slopes = (-4.0 * base / self.cutoff**2)[..., None] * vectors  # d c / d R
        weights[:, 0] = 1.0
        slopes[:, 0] = 0.0
        return weights, slopes

    def _matrix(
        self, frames: Sequence[ase.Atoms], derivatives: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        frames = check_frames(frames, name=self.name)
        numbers = np.stack([atoms.numbers for atoms in frames])
        if (numbers == 0).any():  # ase's table gives X a radius of 0.2 Å: orbitals of nothing
            frame, atom = (int(i) for i in np.argwhere(numbers == 0)[0])
            raise DegeneracyError(
                f"{self.name}: frame {frame}, atom {atom}: a dummy atom X has no orbitals; "
                "remove it"
            )
        # exponents per frame and atom: frames may list their species in any order
        alpha = self.exponents(numbers)  # (f, A)
        positions = np.stack([atoms.positions for atoms in frames])  # (f, A, 3)
        weights, slopes = self._weights(positions)  # first: it refuses atoms beyond the cutoff
        displacement = positions[:, :, None] - positions[:, None, :]  # (f, A, A, 3)
        block, d_block = _pair_blocks(
            displacement, alpha[:, :, None], alpha[:, None, :], self.orbitals == "sp", derivatives
        )
        return block, d_block, weights, slopes, positions

    @staticmethod
    def _assemble(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
        n_frames, n_atoms, _, o, _ = block.shape
        weighted = block * (weights[:, :, None] * weights[:, None, :])[..., None, None]
        return weighted.transpose(0, 1, 3, 2, 4).reshape(n_frames, n_atoms * o, n_atoms * o)

    def _eigen(self, frames: Sequence[ase.Atoms], derivatives: bool = True):
        block, d_block, weights, slopes, _ = self._matrix(frames, derivatives)
        values, vectors = np.linalg.eigh(self._assemble(block, weights))
        # descending order, as contiguous copies (a reversed view has negative strides,
        # which torch and other consumers refuse)
        values = np.ascontiguousarray(values[:, ::-1])
        vectors = np.ascontiguousarray(vectors[:, :, ::-1])
        return values, vectors, block, d_block, weights, slopes

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Eigenvalues of the weighted overlap matrix, descending, ``(n_frames, n_orb (N+1))``."""
        return self._eigen(frames, derivatives=False)[0]

    def eigenvalue_gaps(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Smallest gap between consecutive eigenvalues relative to the largest, per frame.

        Near zero, the sorted eigenvalues are not differentiable (module docstring).
        """
        return _relative_gaps(self.features(frames))

    def kinks(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        r"""Which frames are at a kink of the sorted eigenvalues, where the OM fingerprint
        has no Jacobian: a boolean array (n_frames,).

        A frame is one when two consecutive eigenvalues are apart by less than
        :data:`DEGENERATE_GAP` of the larger of the two (:func:`_kink_gaps`), i.e. they
        coincide up to round-off (regular tetrahedron: 0; C3v CH4: 4e-16; 200 random
        CH4: none below 8e-4). The gap is taken relative to the pair itself, not to the
        largest eigenvalue as in :meth:`eigenvalue_gaps`: the tiny eigenvalues of a
        neighbour fading at the cutoff (:math:`\sim c^2`, 6.5e-12 with H1 2 mÅ inside
        it) are 4e-15 of the largest apart but 6e-4 of their own size, and the Jacobian
        there matches central differences to 1.5e-9. Pairs of eigenvalues both at
        round-off (at most (n − 1) ε of the largest) are not compared.

        The ``kinks`` hook of the
        :class:`~degeneracy.representations.base.Representation` protocol: at such a
        frame :func:`~degeneracy.sensitivity.analyse_frames` gives the verdict
        ``"kink"``.

        Parameters
        ----------
        frames : list of ase.Atoms
            Environments (centre first), all of one size.
        """
        return _kink_gaps(self.features(frames)) < DEGENERATE_GAP

    def diagnose(self, frames: Sequence[ase.Atoms], *, jacobian: bool = True) -> list[str]:
        """Warnings about frames with coinciding eigenvalues (empty if none).

        At a kink (:meth:`kinks`) the OM fingerprint is not differentiable (module
        docstring): a symmetric environment's spectrum then shows one one-sided
        derivative, not the zeros its symmetry forces on a smooth fingerprint. Tiny
        eigenvalues that coincide only relative to the largest (:meth:`eigenvalue_gaps`),
        being apart by more than :data:`DEGENERATE_GAP` of their own size (those of a
        neighbour fading at the cutoff), are no kink: the Jacobian holds there, and
        nothing is said. A caller that reports these itself (``scan``;
        :func:`~degeneracy.sensitivity.analyse_frames`, which computes its frames in
        batches, asks once for all of them) takes over: this instance then no longer warns
        on its own, which it otherwise does once, as a
        :class:`~degeneracy.errors.DegeneracyWarning`, on the first Jacobian with such a
        frame, counting and numbering the frames of that Jacobian call only. With
        ``jacobian=False`` (a caller of :meth:`features` alone) there is nothing to say:
        the eigenvalues are continuous at a kink, only their derivative is not; the
        instance still warns about its own Jacobians then.
        """
        if not jacobian:
            return []
        self._warned = True
        frames = frame_list(frames, name=self.name)  # read twice (a generator, once)
        # in batches: a caller that computes its Jacobians in batches (compare) asks for
        # all its frames at once, and the (frames, M, M) overlap matrices of 20 000 CH4
        # frames took ~190 MB at once
        values = [self.features(chunk) for chunk in batches(frames, DIAGNOSE_BATCH)]
        return self._notes(frames, np.concatenate(values) if values else np.zeros((0, 0)))

    def _notes(self, frames: Sequence[ase.Atoms], values: np.ndarray) -> list[str]:
        """:meth:`diagnose`'s warnings for ``frames`` of eigenvalues ``values``: their
        kinks, and the width that would lift those that narrow orbitals make."""
        return [*_degeneracy_notes(values), *self._narrow_width_notes(frames, values)]

    def _narrow_width_notes(self, frames: Sequence[ase.Atoms], values: np.ndarray) -> list[str]:
        """A warning naming the width when the frames at a kink have atoms whose orbitals
        overlap no other atom's by :data:`OVERLAP_FLOOR`, and the width at which they all
        do (:func:`overlapping_width`) lifts some of those kinks (checked here); empty
        otherwise (e.g. a symmetric frame, a kink at any width)."""
        kinks = np.flatnonzero(_kink_gaps(values) < DEGENERATE_GAP)
        needed = overlapping_width([frames[int(k)] for k in kinks])
        narrow = [
            frames[int(k)] for k, width in zip(kinks, needed, strict=True) if width > self.width
        ]
        if not narrow:
            return []
        wider = math.ceil(100 * max(overlapping_width(narrow))) / 100
        if wider > WIDTH_RANGE[1]:
            return []
        lifted = OverlapMatrix(orbitals=self.orbitals, width=wider, cutoff=self.cutoff)
        cleared = int(np.count_nonzero(~lifted.kinks(narrow)))
        if not cleared:
            return []
        frames_text = "1 frame" if len(narrow) == 1 else f"{len(narrow)} frames"
        verb = "is" if cleared == 1 else "are"
        return [
            f"om width {self.width:g} is too narrow here: in {frames_text} at a kink "
            f"(coinciding eigenvalues) some atom's s orbital overlaps no other atom's by "
            f"{OVERLAP_FLOOR:g}; at width {wider:g}, where every atom's does, {cleared} of them "
            f"{verb} not at a kink: give a width of at least {wider:g}"
        ]

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        frames = frame_list(frames, name=self.name)  # read twice (a generator, once)
        values, vectors, block, d_block, weights, slopes = self._eigen(frames)
        if not self._warned:
            notes = self._notes(frames, values)
            self._warned = bool(notes)
            for note in notes:
                warnings.warn(DegeneracyWarning(note), stacklevel=2)
        n_frames, n_atoms, _, o, _ = block.shape
        v = vectors.reshape(n_frames, n_atoms, o, -1)  # (f, A, o, K)
        pair_weight = weights[:, :, None] * weights[:, None, :]
        # Q[f,k,A,B,c] = c_A c_B v_kA^T dS_AB/dd_c v_kB ;  P[f,k,A,B] = v_kA^T S_AB v_kB
        q = np.einsum("faik,fabijc,fbjk->fkabc", v, d_block, v, optimize=True)
        q *= pair_weight[:, None, :, :, None]
        p = np.einsum("faik,fabij,fbjk->fkab", v, block, v, optimize=True)
        # dS_AB/dR_C = c_A c_B dS/dd (δ_AC − δ_BC) + (δ_AC c'_A c_B + δ_BC c_A c'_B) S_AB
        from_distance = q.sum(axis=3) - q.sum(axis=2)  # (f, k, C, 3)
        from_weight = 2.0 * np.einsum("fkcb,fb,fcx->fkcx", p, weights, slopes)
        jacobian = (from_distance + from_weight)[:, :, 1:, :]  # the centre is held fixed
        return values, jacobian.reshape(n_frames, values.shape[1], 3 * (n_atoms - 1))


def overlapping_width(frames: Sequence[ase.Atoms]) -> np.ndarray:
    r"""Per frame, the smallest width factor at which every atom's s orbital overlaps some
    other atom's by at least :data:`OVERLAP_FLOOR`, shape (n_frames,).

    The s–s overlap of atoms A and B at distance d is
    :math:`S = P\, e^{-d^2 / (2 w^2 (r_A^2 + r_B^2))}` with
    :math:`P = (2 r_A r_B / (r_A^2 + r_B^2))^{3/2}` (covalent radii :math:`r`; the
    module docstring's :math:`S^{ss}` with :math:`\alpha = 1/(2 (w r)^2)`), so it reaches
    :math:`S_0` from :math:`w = d / \sqrt{2 (r_A^2 + r_B^2) \ln(P / S_0)}` on.
    """
    widths = []
    for atoms in frames:
        radii = ase.data.covalent_radii[atoms.numbers]
        apart = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
        squares = radii[:, None] ** 2 + radii[None] ** 2
        prefactor = (2.0 * radii[:, None] * radii[None] / squares) ** 1.5
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(prefactor / OVERLAP_FLOOR)
            needed = np.where(logs > 0, apart / np.sqrt(2.0 * squares * logs), np.inf)
        np.fill_diagonal(needed, np.inf)
        widths.append(needed.min(axis=1).max())
    return np.array(widths, dtype=float)


def _relative_gaps(values: np.ndarray) -> np.ndarray:
    """Smallest gap between consecutive descending eigenvalues over the largest, per frame."""
    # values[k] − values[k+1], not −diff: equal eigenvalues give 0, not −0 ("-0.0e+00")
    return np.min(values[:, :-1] - values[:, 1:], axis=1) / np.abs(values[:, 0])


def _kink_gaps(values: np.ndarray) -> np.ndarray:
    """Smallest gap between consecutive descending eigenvalues over the larger of the two,
    per frame (:meth:`OverlapMatrix.kinks`); pairs both at round-off, at most
    (n − 1) ε of the largest in size, are left out (inf when every pair is)."""
    values = np.asarray(values, dtype=float)
    gaps = values[:, :-1] - values[:, 1:]
    size = np.maximum(np.abs(values[:, :-1]), np.abs(values[:, 1:]))
    floor = (values.shape[1] - 1) * np.finfo(float).eps * np.abs(values[:, :1])
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(size > floor, gaps / size, np.inf)
    return relative.min(axis=1, initial=np.inf)


def _degeneracy_notes(values: np.ndarray) -> list[str]:
    """One warning naming the frames at a kink (eigenvalues ``values``, descending,
    (n_frames, n); :func:`_kink_gaps` below :data:`DEGENERATE_GAP`)."""
    gaps = _kink_gaps(values)
    bad = np.flatnonzero(gaps < DEGENERATE_GAP)
    if not bad.size:
        return []
    return [
        f"om degenerate eigenvalues: {bad.size} of {len(gaps)} frames (first: frame "
        f"{bad[0]} of this call, relative gap {gaps[bad[0]]:.1e}) have coinciding "
        "overlap-matrix eigenvalues, where the OM fingerprint has no Jacobian (a kink): "
        "their spectrum describes one one-sided derivative, and their verdict is 'kink'"
    ]
