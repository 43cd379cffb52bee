"""Targets to learn: the four-body torsion energy of Parsaeifard & Goedecker."""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np

from .errors import DegeneracyError
from .structures import neighbor_positions

#: The four H triangles of CH4 (0-based neighbour indices) used by the torsion target.
TRIANGLES = ((0, 1, 2), (0, 1, 3), (1, 2, 3), (0, 2, 3))


def triangle_normals(neighbors: np.ndarray) -> np.ndarray:
    r"""Unit normals of the four H triangles, shape (..., 4, 3).

    .. math:: n_T = \frac{(r_B - r_A)\times(r_C - r_A)}{|(r_B - r_A)\times(r_C - r_A)|}

    NaN for a triangle of three collinear H (it has no normal), without a warning.
    """
    neighbors = np.asarray(neighbors, dtype=float)
    if neighbors.shape[-2:] != (4, 3):
        raise DegeneracyError(
            f"the four-body target needs 4 neighbours, got shape {neighbors.shape[-2:]}"
        )
    a, b, c = (neighbors[..., [t[k] for t in TRIANGLES], :] for k in range(3))
    normals = np.cross(b - a, c - a)
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
    """
    if isinstance(frames, np.ndarray):
        neighbors = frames
    else:
        neighbors = neighbor_positions(frames)
    normals = triangle_normals(neighbors)
    overlaps = np.einsum("...id,...jd->...ij", normals, normals)
    upper = np.triu_indices(4, k=1)
    values = (overlaps[..., upper[0], upper[1]] ** 2).sum(axis=-1)
    return float(values) if values.ndim == 0 else values
