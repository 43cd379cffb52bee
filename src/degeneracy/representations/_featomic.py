"""The one place where featomic's sparse per-atom gradients become dense Jacobians."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import ase
import featomic
import numpy as np
from metatensor import Labels, TensorBlock, TensorMap

from ..errors import DegeneracyError
from .base import MAX_CUTOFF_OVER_SIGMA as MAX_CUTOFF_OVER_SIGMA  # re-exported

#: What featomic says when it cannot spline its radial integrals to their accuracy, and
#: what to change then (measured for the GTO basis: :data:`~.base.GTO_SPLINE_FAILURES`,
#: refused before featomic is called, outside of which this is not met in featomic 0.6.7).
SPLINE_FAILURE = "in spline interpolation"
SPLINE_HINT = (
    "featomic's splines fail only for the most radial and angular functions (n_max or "
    "n_primitive 19–22 with l_max 17–20) at cutoff/sigma between about 11.5 and 26: "
    "give fewer of them, or sigma larger (or smaller) to move cutoff/sigma out of there"
)

#: Only the centre (atom 0) of every frame is described.
CENTER_SAMPLE = Labels(["atom"], np.array([[0]], dtype=np.int32))


def new_calculator(kind: type, settings: str, **hypers: Any) -> featomic.CalculatorBase:
    """Build the featomic calculator ``kind(**hypers)``; a refusal names ``settings``.

    featomic checks some hyperparameters only when it builds the calculator;
    ``settings`` (e.g. ``"sigma 0.3 Å, cutoff 11 Å"``) says which values it refused, in one
    line (its panic message and backtrace note on file descriptor 2 are dropped). The
    fingerprints check what it would refuse before (a cutoff beyond
    :data:`MAX_CUTOFF_OVER_SIGMA` × σ, where its GTO radial integrals fail:
    :func:`~degeneracy.representations.base.density_width`).
    """
    with _stderr_held() as held:
        try:
            return kind(**hypers)
        except featomic.FeatomicError as error:
            held.discard()  # featomic's Rust panic message and backtrace: the reason is below
            reason = str(error).removeprefix("internal featomic error: ").splitlines()[0]
            if SPLINE_FAILURE in reason:  # its errors' sizes after the comma say nothing
                reason = f"{reason.split(',')[0]}; {SPLINE_HINT}"
            raise DegeneracyError(f"featomic refused {settings}: {reason}") from error


class PicklableCalculatorCache:
    """For a fingerprint that caches its featomic calculator in ``_calculator``: the state
    :mod:`pickle` and :func:`copy.deepcopy` copy is everything but that cache (it holds
    a ctypes handle), which the copy rebuilds on first use from the same settings, so
    that it computes bitwise the same."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_calculator"] = None
        return state


class _HeldStream:
    def __init__(self) -> None:
        self.keep = True

    def discard(self) -> None:
        self.keep = False


@contextlib.contextmanager
def _stderr_held() -> Iterator[_HeldStream]:
    """Hold what native code writes to file descriptor 2, and write it out afterwards
    unless discarded.

    featomic reports a refused hyperparameter as a Rust panic, whose hook prints the panic
    and a backtrace note to the process's stderr before Python sees the error; Python's
    ``contextlib.redirect_stderr`` cannot catch that, only the file descriptor can.
    """
    held = _HeldStream()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr to hold (closed, detached)
        yield held
        return
    with tempfile.TemporaryFile() as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield held
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if held.keep:
                buffer.seek(0)
                text = buffer.read()
                if text:
                    sys.stderr.write(text.decode(errors="replace"))
                    sys.stderr.flush()


def compute_centre(
    calculator: featomic.CalculatorBase,
    frames: Sequence[ase.Atoms],
    *,
    selected_keys: Labels,
    gradients: bool,
) -> TensorMap:
    """Run a featomic calculator on the centre atom of every frame, keys as selected.

    Frames are finite environments (:func:`~degeneracy.representations.base.check_frames`
    refuses periodic ones); a cell left on one is dropped here, where featomic would
    warn about it for every call.
    """
    try:
        return calculator.compute(
            [_without_cell(atoms) for atoms in frames],
            gradients=["positions"] if gradients else [],
            selected_keys=selected_keys,
            selected_samples=CENTER_SAMPLE,
        )
    except featomic.FeatomicError as error:
        raise DegeneracyError(f"featomic failed: {error}") from error


def _without_cell(atoms: ase.Atoms) -> ase.Atoms:
    """``atoms``, or a copy without its cell if it has one (positions and species only)."""
    if not atoms.cell.any():
        return atoms
    return ase.Atoms(atoms.numbers, positions=atoms.positions)


def label_columns(labels: Labels, *names: str) -> tuple[np.ndarray, ...]:
    """Copies of the columns ``names`` of ``labels`` taken from a block, then the labels'
    native memory freed (:func:`free_labels`). ``labels`` must not be used afterwards."""
    columns = tuple(np.array(labels.column(name), copy=True) for name in names)
    free_labels(labels)
    return columns


def free_labels(labels: Labels) -> None:
    """Free the native memory of ``labels``, a :class:`~metatensor.Labels` that
    metatensor handed out (``block.samples``, ``tensor.keys``); it must not be used
    afterwards.

    Written by hand because metatensor-core 0.2.x (0.2.6 installed) never frees a
    :class:`~metatensor.Labels`: its ``__del__`` frees only when the object has a
    ``_labels`` attribute, which no constructor sets. Every ``block.samples``,
    ``block.properties``, ``tensor.keys`` and selection (``tensor.blocks()``,
    ``tensor.block({...})``) stays in memory for the process's life (16 KB per SOAP
    n = l = 8 Jacobian through ``block.properties``: an orbit worker tracing 20 001
    Euler steps grew by ~3 GB; 7.8 KB per bispectrum Jacobian through its selections).
    ``labels.release()`` is metatensor's own way to hand the pointer back, and
    ``mts_labels_free`` its way to drop it; with a metatensor whose ``__del__`` works
    this is still correct (``release`` leaves ``__del__`` nothing to free). Patching
    ``Labels.__del__`` instead would change every metatensor user's process on import.
    """
    from metatensor._c_lib import _get_library

    labels._cached_values = None  # an array view into the memory about to be freed
    _get_library().mts_labels_free(labels.release())


def blocks_by_key(tensor: TensorMap, keys: Labels) -> list[TensorBlock]:
    """The blocks of ``tensor``, computed with ``selected_keys=keys``, one per entry of
    ``keys`` in their order, taken by position: ``tensor.blocks()`` and
    ``tensor.block({...})`` make a selection :class:`~metatensor.Labels` each call,
    which metatensor-core 0.2.x never frees (:func:`free_labels`)."""
    returned = tensor.keys
    same = returned.names == keys.names and np.array_equal(
        np.asarray(returned.values), np.asarray(keys.values)
    )
    free_labels(returned)
    if not same:
        raise DegeneracyError("featomic returned other blocks than the keys selected")
    return [_block_by_id(tensor, k) for k in range(len(keys))]


def _block_by_id(tensor: TensorMap, index: int) -> TensorBlock:
    """``tensor.block_by_id(index)`` for an index known to be in range, as metatensor
    takes it, without its bound check: that check makes ``tensor.keys`` (``len``), one
    more Labels never freed per block (:func:`free_labels`)."""
    from metatensor._c_api import mts_block_t
    from metatensor._status import check_pointer

    block = ctypes.POINTER(mts_block_t)()
    tensor._lib.mts_tensormap_block_by_id(tensor._ptr, block, index)
    check_pointer(block)
    return TensorBlock.unsafe_view_from_ptr(block, parent=tensor)


def joined(blocks: list[np.ndarray]) -> np.ndarray:
    """Dense blocks side by side along the feature axis (1); one block is not copied."""
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)


def _complete_centre_gradients(
    gradient: TensorBlock,
    systems: np.ndarray,
    rows: np.ndarray,
    atoms: np.ndarray,
    shape: tuple[int, ...],
    n_frames: int,
    n_neighbors: int,
) -> np.ndarray | None:
    """:func:`dense_block`'s Jacobian when every frame has one sample (its centre, in
    frame order: ``systems``) with gradients for all its atoms in order (the gradient
    samples' ``rows`` and ``atoms``), else ``None``.

    The usual case (every neighbour inside the cutoff) is then one transposing copy of
    featomic's gradient array instead of a scatter into zeros (0.03 ms per CH4 frame of
    SOAP n = l = 8, 7 % of the Jacobian's time).
    """
    per_frame = n_neighbors + 1
    if len(rows) != n_frames * per_frame or len(systems) != n_frames:
        return None
    expected = np.arange(n_frames)
    if not (
        np.array_equal(systems, expected)
        and np.array_equal(rows, np.repeat(expected, per_frame))
        and np.array_equal(atoms, np.tile(np.arange(per_frame), n_frames))
    ):
        return None
    values = gradient.values.reshape(n_frames, per_frame, 3, *shape)[:, 1:]
    # (frame, neighbour, xyz, *shape) -> (frame, *shape, neighbour, xyz), the centre dropped
    order = (0, *range(3, 3 + len(shape)), 1, 2)
    # copied (C order), never a view of featomic's buffer
    return values.transpose(order).copy().reshape(n_frames, *shape, -1)


def dense_block(
    block: TensorBlock,
    n_frames: int,
    n_neighbors: int,
    *,
    gradients: bool,
    centres: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense values and Jacobian of one block, per frame (and per centre atom).

    Parameters
    ----------
    block : TensorBlock
        Samples ``(system, atom)``; with ``centres=None`` one per frame, its centre.
    n_frames, n_neighbors : int
        Frames and atoms besides atom 0 (the fixed one) in each frame.
    gradients : bool
        Also densify the block's ``positions`` gradients.
    centres : array of int, optional
        The atoms whose samples are kept, in this order (e.g. every H atom); default:
        the single centre of each frame.

    Returns
    -------
    values : array of shape (n_frames, *components, n_properties)
        With ``centres``: (n_frames, len(centres), *components, n_properties).
    jacobian : array of shape (n_frames, *components, n_properties, 3 * n_neighbors)
        With ``centres``: (n_frames, len(centres), ...). ``None`` unless ``gradients``.
        Column ``3(a-1)+k`` is the derivative with respect to coordinate ``k`` of atom
        ``a``; the gradient with respect to atom 0 is dropped because atom 0 (the
        centre of a C-centred environment) is held fixed.
    """
    # components and properties from the values' shape: no Labels made (label_columns)
    shape = block.values.shape[1:]
    systems, sample_atoms = label_columns(block.samples, "system", "atom")
    if centres is None:
        slots = np.zeros(len(systems), dtype=int)
    else:
        lookup = np.full(n_neighbors + 1, -1)
        lookup[np.asarray(centres)] = np.arange(len(centres))
        slots = lookup[sample_atoms]
        if np.any(slots < 0):
            raise DegeneracyError("featomic returned a sample for an atom that was not asked for")
    n_slots = 1 if centres is None else len(centres)
    values = np.zeros((n_frames, n_slots, *shape))
    values[systems, slots] = block.values
    if not gradients:
        return (values[:, 0], None) if centres is None else (values, None)
    gradient = block.gradient("positions")
    rows, atoms = label_columns(gradient.samples, "sample", "atom")
    if centres is None:
        jacobian = _complete_centre_gradients(
            gradient, systems, rows, atoms, shape, n_frames, n_neighbors
        )
        if jacobian is not None:
            return values[:, 0], jacobian
    keep = atoms > 0
    if np.any(atoms > n_neighbors):
        raise DegeneracyError("featomic returned a gradient for an atom outside the environment")
    # (n_grad, 3, *shape) -> (n_grad, *shape, 3)
    moved = np.moveaxis(gradient.values[keep], 1, -1)
    jacobian = np.zeros((n_frames, n_slots, *shape, n_neighbors, 3))
    at = rows[keep]
    jacobian[systems[at], slots[at], ..., atoms[keep] - 1, :] = moved
    jacobian = jacobian.reshape(n_frames, n_slots, *shape, 3 * n_neighbors)
    return (values[:, 0], jacobian[:, 0]) if centres is None else (values, jacobian)
