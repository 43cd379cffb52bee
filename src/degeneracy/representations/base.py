"""The ``Representation`` protocol every fingerprint backend implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import ase
import numpy as np
from tqdm.auto import tqdm


@runtime_checkable
class Representation(Protocol):
    r"""A fingerprint of the environment of atom 0 with its dense Jacobian.

    Frames are environments (:mod:`degeneracy.structures`): atom 0 is the centre, atoms
    1..N its neighbours; all frames of one call have the same N.

    ``features(frames)`` returns an array of shape ``(n_frames, n_features)``.

    ``jacobian(frames)`` returns ``(features, jacobian)`` with ``features`` as above and
    ``jacobian`` of shape ``(n_frames, n_features, 3 * N)``:

    .. math:: J_{f,\,i,\,3(a-1)+k} = \frac{\partial x_i}{\partial r_{a,k}}

    for neighbour ``a = 1..N`` (its index in the frame) and Cartesian direction
    ``k`` ∈ {x, y, z}, the centre held fixed. Neither call modifies its input.

    Optional: ``diagnose(frames) -> list[str]``, warnings about frames this fingerprint
    is blind to for reasons of its settings (e.g. :meth:`degeneracy.Acsf.diagnose`);
    :func:`degeneracy.scan_dataset` collects them from its workers and reports each
    subject once.
    """

    name: str

    def hypers(self) -> dict[str, Any]:
        """The hyperparameters, JSON-serialisable, enough to rebuild the representation."""
        ...

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Features, shape ``(n_frames, n_features)``."""
        ...

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        ...


def batches(
    frames: Sequence[ase.Atoms], size: int, *, progress: bool = False, desc: str = ""
) -> Iterator[Sequence[ase.Atoms]]:
    """Consecutive slices of ``frames`` of at most ``size`` frames, with a progress bar."""
    bar = tqdm(total=len(frames), desc=desc, unit="frame", disable=not progress, leave=False)
    for start in range(0, len(frames), size):
        chunk = frames[start : start + size]
        yield chunk
        bar.update(len(chunk))
    bar.close()


def finite_difference_jacobian(
    representation: Representation, atoms: ase.Atoms, *, step: float = 1e-5
) -> np.ndarray:
    r"""Central finite-difference Jacobian of one frame, shape ``(n_features, 3N)``.

    .. math:: J_{:,3(a-1)+k} \approx \frac{x(r + h e_{ak}) - x(r - h e_{ak})}{2h}

    The reference against which every analytic Jacobian is tested; ``atoms`` is not
    modified (displaced copies are evaluated in one batch).
    """
    n_neighbors = len(atoms) - 1
    displaced = []
    for column in range(3 * n_neighbors):
        atom, axis = divmod(column, 3)
        for sign in (1.0, -1.0):
            copy = atoms.copy()
            copy.positions[atom + 1, axis] += sign * step
            displaced.append(copy)
    features = representation.features(displaced)
    return ((features[0::2] - features[1::2]) / (2.0 * step)).T
