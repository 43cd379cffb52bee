"""Targets to learn: the four-body torsion energy of Parsaeifard & Goedecker."""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np

from .errors import DegeneracyError
from .structures import check_finite_neighbors, neighbor_positions, rotation_generators

#: The four H triangles of CH4 (0-based neighbour indices) used by the torsion target.
TRIANGLES = ((0, 1, 2), (0, 1, 3), (1, 2, 3), (0, 2, 3))

#: One-hot (triangle, neighbour) incidence of the vertices A, B, C of each triangle.
_VERTEX_INCIDENCE = np.eye(4)[np.array(TRIANGLES).T]


def _four_neighbors(neighbors: np.ndarray, caller: str) -> np.ndarray:
    """``neighbors`` as floats, shape (..., 4, 3), or the error naming the shape found, or
    ``caller``, the frame and the neighbour of a non-finite coordinate
    (:func:`~degeneracy.structures.check_finite_neighbors`): E4 and its gradient would be
    NaN there, like at three collinear H."""
    neighbors = np.asarray(neighbors, dtype=float)
    if neighbors.shape[-2:] != (4, 3):
        raise DegeneracyError(
            f"the four-body target needs 4 neighbours, got shape {neighbors.shape[-2:]}"
        )
    check_finite_neighbors(neighbors, caller)
    return neighbors


def _triangle_edges(neighbors: np.ndarray, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``r_B - r_A`` and ``r_C - r_A`` of the four H triangles, each (..., 4, 3)."""
    neighbors = _four_neighbors(neighbors, caller)
    a, b, c = (neighbors[..., [t[k] for t in TRIANGLES], :] for k in range(3))
    return b - a, c - a


def _neighbors(frames: Sequence[ase.Atoms] | ase.Atoms | np.ndarray) -> np.ndarray:
    """Neighbour positions relative to the centre: an array as given, else from the frames."""
    return frames if isinstance(frames, np.ndarray) else neighbor_positions(frames)


def triangle_normals(neighbors: np.ndarray) -> np.ndarray:
    r"""Unit normals of the four H triangles, shape (..., 4, 3).

    .. math:: n_T = \frac{(r_B - r_A)\times(r_C - r_A)}{|(r_B - r_A)\times(r_C - r_A)|}

    NaN for a triangle of three collinear H (it has no normal), without a warning.
    A non-finite coordinate is refused (:class:`~degeneracy.errors.DegeneracyError`
    naming the frame and neighbour).
    """
    return _unit_normals(neighbors, "triangle_normals")


def _unit_normals(neighbors: np.ndarray, caller: str) -> np.ndarray:
    """:func:`triangle_normals`, a non-finite coordinate refused naming ``caller``."""
    normals = np.cross(*_triangle_edges(neighbors, caller))
    with np.errstate(invalid="ignore", divide="ignore"):
        return normals / np.linalg.norm(normals, axis=-1, keepdims=True)


def fourbody_torsion(frames: Sequence[ase.Atoms] | ase.Atoms | np.ndarray) -> np.ndarray:
    r"""Four-body torsion target of Parsaeifard & Goedecker (J. Chem. Phys. 156, 034302, 2022).

    .. math:: E_4 = \sum_{T < T'} (n_T \cdot n_{T'})^2

    over the unit normals of the four H triangles (:func:`triangle_normals`). Scale-free,
    2/3 at a regular tetrahedron.

    Parameters
    ----------
    frames : list of ase.Atoms, ase.Atoms, or array of shape (..., 4, 3)
        Environments (centre first) or neighbour positions relative to the centre.

    Returns
    -------
    numpy.ndarray
        One value per frame (a float for a single structure); NaN where three H are
        collinear (a triangle without a normal, :func:`triangle_normals`).

    Raises
    ------
    DegeneracyError
        When the environments do not have 4 neighbours, a coordinate is NaN or infinite
        (naming the frame and neighbour), or a list of frames is empty, holds something
        other than :class:`ase.Atoms` or frames of different sizes.
    """
    neighbors = _neighbors(frames)
    normals = _unit_normals(neighbors, "fourbody_torsion")
    overlaps = np.einsum("...id,...jd->...ij", normals, normals)
    upper = np.triu_indices(4, k=1)
    values = (overlaps[..., upper[0], upper[1]] ** 2).sum(axis=-1)
    return float(values) if values.ndim == 0 else values


def fourbody_torsion_gradient(
    frames: Sequence[ase.Atoms] | ase.Atoms | np.ndarray,
) -> np.ndarray:
    r"""Analytic gradient of the four-body torsion target with respect to the H positions.

    The gradient of :func:`fourbody_torsion` (Parsaeifard & Goedecker, J. Chem. Phys. 156,
    034302, 2022) with respect to the four neighbour positions, the centre held fixed.
    With the unnormalised triangle normals :math:`m_T = (r_B - r_A)\times(r_C - r_A)` of
    the triangles :math:`T = (A, B, C)` in :data:`TRIANGLES` and
    :math:`n_T = m_T / |m_T|`,

    .. math::

        E_4 = \sum_{T < T'} (n_T \cdot n_{T'})^2, \qquad
        g_T = \frac{\partial E_4}{\partial n_T} = 2 \sum_{T' \ne T} (n_T \cdot n_{T'})\, n_{T'},

        v_T = \frac{\partial E_4}{\partial m_T}
            = \frac{(I - n_T n_T^\top)\, g_T}{|m_T|},

        \frac{\partial E_4}{\partial r_B} \mathrel{+}= (r_C - r_A) \times v_T, \quad
        \frac{\partial E_4}{\partial r_C} \mathrel{+}= v_T \times (r_B - r_A), \quad
        \frac{\partial E_4}{\partial r_A} \mathrel{-}= (r_C - r_A) \times v_T
            + v_T \times (r_B - r_A),

    summed over the four triangles. E4 depends only on the H cage and is scale-free, so the
    gradient sums to zero over the H, is torque-free, and :math:`\sum_i r_i \cdot
    \partial E_4 / \partial r_i = 0`; it vanishes at the regular tetrahedron (the minimum).

    Parameters
    ----------
    frames : list of ase.Atoms, ase.Atoms, or array of shape (..., 4, 3)
        Environments (centre first) or neighbour positions relative to the centre.

    Returns
    -------
    numpy.ndarray
        Shape (..., 4, 3) for an array, (n_frames, 4, 3) for a list of frames and (4, 3)
        for a single structure, in 1/Å when positions are in Å. All NaN for a frame where
        three H are collinear (a triangle without a normal), without a warning.

    Raises
    ------
    DegeneracyError
        When the environments do not have 4 neighbours, a coordinate is NaN or infinite
        (naming the frame and neighbour), or a list of frames is empty, holds something
        other than :class:`ase.Atoms` or frames of different sizes.
    """
    neighbors = _neighbors(frames)
    edge_b, edge_c = _triangle_edges(
        neighbors, "fourbody_torsion_gradient"
    )  # r_B - r_A, r_C - r_A: (..., 4, 3)
    normals = np.cross(edge_b, edge_c)
    lengths = np.linalg.norm(normals, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = normals / lengths
        overlaps = np.einsum("...id,...jd->...ij", normals, normals) * (1.0 - np.eye(4))
        d_normals = 2.0 * np.einsum("...ij,...jd->...id", overlaps, normals)
        radial = np.einsum("...id,...id->...i", normals, d_normals)[..., None]
        d_m = (d_normals - radial * normals) / lengths
        d_b = np.cross(edge_c, d_m)  # dE4/dr_B of each triangle
        d_c = np.cross(d_m, edge_b)  # dE4/dr_C; dE4/dr_A = -(d_b + d_c)
        vertex_a, vertex_b, vertex_c = _VERTEX_INCIDENCE
        return (
            np.einsum("ti,...td->...id", vertex_b, d_b)
            + np.einsum("ti,...td->...id", vertex_c, d_c)
            - np.einsum("ti,...td->...id", vertex_a, d_b + d_c)
        )


def fourbody_flat_motions(frames: Sequence[ase.Atoms] | ase.Atoms | np.ndarray) -> np.ndarray:
    r"""The four internal motions along which the four-body target is exactly flat.

    :func:`fourbody_torsion` depends only on the shape of the H cage, so besides the
    rotations it does not change when the four H move together (the centre moving inside
    the cage: 3 motions) or scale about the centre (1): with the centre fixed, these span

    .. math:: F = (I - P_R)\,\mathrm{span}\{(e_k, e_k, e_k, e_k)_{k=1..3},\;
              (r_1, r_2, r_3, r_4)\},

    where :math:`P_R` projects on the rotations (:func:`rotation_generators`), so that
    :math:`F` is orthogonal to them, like every gradient of a rotation-invariant function.
    E4 varies only in the other 5 internal directions (the cage's shape). A model's
    predicted gradient should vanish on :math:`F`; what it has there is spurious.

    Parameters
    ----------
    frames : list of ase.Atoms, ase.Atoms, or array of shape (..., 4, 3)
        Environments (centre first) or neighbour positions relative to the centre (Å).

    Returns
    -------
    numpy.ndarray
        Orthonormal columns, shape (n_frames, 12, 4) for frames or (..., 12, 4) for an
        array of neighbour positions (..., 4, 3).

    Raises
    ------
    DegeneracyError
        When the environments do not have 4 neighbours, a coordinate is NaN or infinite
        (naming the frame and neighbour), or a list of frames is empty, holds something
        other than :class:`ase.Atoms` or frames of different sizes.
    """
    neighbors = _four_neighbors(_neighbors(frames), "fourbody_flat_motions")
    if not neighbors.size:  # no environments: none of their motions (as fourbody_torsion)
        return np.zeros((*neighbors.shape[:-2], 12, 4))
    translations = np.broadcast_to(np.tile(np.eye(3), (4, 1)), (*neighbors.shape[:-2], 12, 3))
    scaling = neighbors.reshape(*neighbors.shape[:-2], 12, 1)
    rotations, _ = np.linalg.qr(rotation_generators(neighbors))
    motions = np.concatenate([translations, scaling], axis=-1)
    motions = motions - rotations @ (np.swapaxes(rotations, -1, -2) @ motions)
    basis, _ = np.linalg.qr(motions)
    return basis
