"""The one place where featomic's sparse per-atom gradients become dense Jacobians."""

from __future__ import annotations

from collections.abc import Sequence

import ase
import featomic
import numpy as np
from metatensor import Labels, TensorBlock, TensorMap

from ..errors import DegeneracyError

#: Only the centre (atom 0) of every frame is described.
CENTER_SAMPLE = Labels(["atom"], np.array([[0]], dtype=np.int32))


def compute_centre(
    calculator: featomic.CalculatorBase,
    frames: Sequence[ase.Atoms],
    *,
    selected_keys: Labels,
    gradients: bool,
) -> TensorMap:
    """Run a featomic calculator on the centre atom of every frame, keys as selected."""
    try:
        return calculator.compute(
            list(frames),
            gradients=["positions"] if gradients else [],
            selected_keys=selected_keys,
            selected_samples=CENTER_SAMPLE,
        )
    except featomic.FeatomicError as error:
        raise DegeneracyError(f"featomic failed: {error}") from error


def dense_block(
    block: TensorBlock, n_frames: int, n_neighbors: int, *, gradients: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense values and Jacobian of one block whose samples are the frames' centres.

    Returns
    -------
    values : array of shape (n_frames, *components, n_properties)
    jacobian : array of shape (n_frames, *components, n_properties, 3 * n_neighbors)
        ``None`` unless ``gradients``. Column ``3(a-1)+k`` is the derivative with respect
        to coordinate ``k`` of atom ``a``; the centre's own gradient (atom 0) is dropped
        because the centre is held fixed.
    """
    shape = (*tuple(len(c) for c in block.components), len(block.properties))
    systems = np.asarray(block.samples.column("system"))
    values = np.zeros((n_frames, *shape))
    values[systems] = block.values
    if not gradients:
        return values, None
    gradient = block.gradient("positions")
    rows = np.asarray(gradient.samples.column("sample"))
    atoms = np.asarray(gradient.samples.column("atom"))
    keep = atoms > 0
    if np.any(atoms > n_neighbors):
        raise DegeneracyError("featomic returned a gradient for an atom outside the environment")
    # (n_grad, 3, *shape) -> (n_grad, *shape, 3)
    moved = np.moveaxis(gradient.values[keep], 1, -1)
    jacobian = np.zeros((n_frames, *shape, n_neighbors, 3))
    jacobian[systems[rows[keep]], ..., atoms[keep] - 1, :] = moved
    return values, jacobian.reshape(n_frames, *shape, 3 * n_neighbors)
