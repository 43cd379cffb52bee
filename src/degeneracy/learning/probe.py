"""A probe of a saved model's fingerprint: the features of one fixed frame, stored with the
model and recomputed when it is loaded.

A network's weights mean something only on the features it was trained on. The saved
settings, basis digests and featomic version say which fingerprint that was, but not
whether the one rebuilt at loading computes the same numbers: a settings entry edited to
another of the same feature count, or another featomic whose radial integrals changed,
gives a fingerprint that builds and runs, and a network that silently predicts from inputs
it never saw. Recomputing one frame's features measures it directly, through the
featurizer's own ``inputs``; torch's saved state holds the weights, not what they apply to.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ase
import featomic
import numpy as np
import torch

from ..errors import DegeneracyError, DegeneracyWarning
from .datasets import Featurizer
from .features import featurizer_cutoff

#: Relative RMS change of the probe's features above which they count as different.
#: Reruns on one machine agree bit for bit and other CPUs' kernels to ~1e-14; another
#: fingerprint setting moves them by ~1e-2 to 1.
PROBE_RTOL = 1e-6

#: The probe's neighbour directions (CH4 bent away from T_d, no symmetry) and C–H
#: distances (Å), before scaling inside the cutoff (:func:`probe_frame`).
_PROBE_DIRECTIONS = np.array(
    [[1.0, 1.1, 0.9], [-1.05, -0.95, 1.0], [-0.9, 1.0, -1.1], [1.1, -1.0, -0.95]]
)
_PROBE_LENGTHS = np.array([1.05, 1.12, 0.98, 1.17])

#: The longest C–H distance of the probe as a share of the cutoff: its H–H distances
#: (at most twice that) stay inside it too, for H-centred environments.
_PROBE_REACH = 0.45


def probe_frame(cutoff: float | None) -> ase.Atoms:
    """The probe: CH4 with C at the origin and four C–H bonds of 0.98–1.17 Å in
    directions of no symmetry, scaled down when needed so that every interatomic
    distance lies inside ``cutoff`` (Å; None: not scaled)."""
    directions = _PROBE_DIRECTIONS / np.linalg.norm(_PROBE_DIRECTIONS, axis=1)[:, None]
    scale = 1.0 if cutoff is None else min(1.0, _PROBE_REACH * cutoff / _PROBE_LENGTHS.max())
    neighbors = directions * (_PROBE_LENGTHS * scale)[:, None]
    return ase.Atoms("CH4", positions=np.vstack([np.zeros(3), neighbors]), pbc=False)


def probe_features(featurizer: Featurizer) -> dict[str, Any] | None:
    """What :func:`~.protocols.save_model` stores: the probe's positions, atomic numbers
    and input features per centre species (float64 tensors, which ``torch.load`` reads
    with ``weights_only``); None when the featurizer refuses the probe (e.g. a centre
    species other than C)."""
    frame = probe_frame(featurizer_cutoff(featurizer))
    try:
        inputs = featurizer.inputs([frame])
    except DegeneracyError:
        return None
    return {
        "positions": torch.from_numpy(frame.positions.copy()),
        "numbers": torch.from_numpy(frame.numbers.astype(np.int64)),
        "inputs": {s: torch.from_numpy(np.asarray(v, dtype=np.float64)) for s, v in inputs.items()},
    }


def _widths(inputs: Mapping[str, Any]) -> dict[str, int]:
    """Features per centre species of ``inputs`` (arrays or tensors, features last)."""
    return {s: int(v.shape[-1]) for s, v in inputs.items()}


def _check_network_takes(path: Path, given: dict[str, int], n_features: Mapping[str, int]) -> None:
    """Refuse fingerprint settings that give other features than the network takes."""
    if given != dict(n_features):
        raise DegeneracyError(
            f"{path}: damaged model: its fingerprint settings give features {given}, its "
            f"network takes {dict(n_features)}"
        )


def recomputed_probe(featurizer: Featurizer, stored: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The stored probe's input features as ``featurizer`` computes them now."""
    frame = ase.Atoms(
        numbers=np.asarray(stored["numbers"]), positions=np.asarray(stored["positions"])
    )
    return {s: np.asarray(v, dtype=np.float64) for s, v in featurizer.inputs([frame]).items()}


def probe_change(now: Mapping[str, np.ndarray], saved: Mapping[str, np.ndarray]) -> float:
    r"""Relative RMS change of the probe's features, ``saved`` → ``now``,

    .. math:: \delta = \frac{\lVert x' - x \rVert}{\lVert x \rVert},

    over every centre species' features together (the same species and shapes).
    """
    difference = np.sqrt(sum(np.sum((now[s] - saved[s]) ** 2) for s in saved))
    norm = np.sqrt(sum(np.sum(saved[s] ** 2) for s in saved))
    if norm > 0:
        return float(difference / norm)
    return 0.0 if difference == 0 else float("inf")


def check_probe(
    path: Path,
    featurizer: Featurizer,
    stored: Mapping[str, Any] | None,
    versions: Mapping[str, str] | None,
    n_features: Mapping[str, int] | None = None,
) -> None:
    """Refuse a model whose rebuilt fingerprint computes other features than it was saved
    with under the same featomic (its settings or basis were changed: a damaged model),
    and warn when another featomic does; without a stored probe (models saved before
    2026-12-06), warn on another featomic version alone.

    Raises
    ------
    DegeneracyError
        Naming the file: when the fingerprint now refuses the probe, gives another number
        of features than the network takes (``n_features``, per centre species; checked
        on a fresh probe for a model saved without one) or than the stored probe holds,
        or, under the featomic the model was saved with, features that moved by more
        than :data:`PROBE_RTOL` (relative).

    Warns
    -----
    DegeneracyWarning
        Under another featomic: when the probe's features moved, or, without a probe,
        always.
    """
    saved_version = (versions or {}).get("featomic")
    running = featomic.__version__
    other_featomic = saved_version is not None and saved_version != running
    if stored is None:
        fresh = probe_features(featurizer) if n_features is not None else None
        if fresh is not None:  # an edited n_max failed inside torch, far from the file
            _check_network_takes(path, _widths(fresh["inputs"]), n_features)
        if other_featomic:
            warnings.warn(
                DegeneracyWarning(
                    f"{path}: saved with featomic {saved_version}, running {running}: its "
                    "features may differ from those it was trained on"
                ),
                stacklevel=3,
            )
        return
    try:
        saved = {s: np.asarray(v, dtype=np.float64) for s, v in stored["inputs"].items()}
        now = recomputed_probe(featurizer, stored)
    except DegeneracyError as error:
        raise DegeneracyError(
            f"{path}: damaged model: its fingerprint settings refuse the probe CH4 it was "
            f"saved with ({error})"
        ) from error
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise DegeneracyError(
            f"{path}: damaged model: its probe is unreadable ({error!r})"
        ) from error
    given = _widths(now)
    if n_features is not None:
        _check_network_takes(path, given, n_features)
    held = _widths(saved)
    if given != held or any(now[s].shape != saved[s].shape for s in saved):
        # the probe is what is damaged here (the network's sizes were checked above):
        # this said "its network takes" the probe's width
        raise DegeneracyError(
            f"{path}: damaged model: its stored probe holds features {held}, where its "
            f"fingerprint settings give {given}"
        )
    change = probe_change(now, saved)
    if not change > PROBE_RTOL:
        return
    if other_featomic:
        warnings.warn(
            DegeneracyWarning(
                f"{path}: saved with featomic {saved_version}, running {running}: the "
                f"features of a probe CH4 differ from those it was saved with by {change:.1e} "
                "(relative), so its predictions may be off: train again under this featomic"
            ),
            stacklevel=3,
        )
        return
    raise DegeneracyError(
        f"{path}: damaged model: its fingerprint settings give features that differ from "
        f"those it was saved with by {change:.1e} (relative, a probe CH4 recomputed); restore "
        "the model's files or train again"
    )
