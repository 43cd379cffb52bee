r"""Sensitivity of several fingerprints on the same structures, side by side.

For every frame and fingerprint: the singular values :math:`s_1 \ge \dots \ge s_{3N-3}` of
the rotation-purified Jacobian (:func:`degeneracy.sensitivity.singular_spectrum`), the
condition number :math:`\mathrm{CN} = s_1 / s_{3N-3}` and the smallest singular value.
CN is scale-free and comparable across fingerprints; :math:`s_{3N-3}` depends on each
fingerprint's scale, so it is also reported relative to the feature norm,
:math:`s_{3N-3} / |x|` (Å⁻¹: the relative feature change per Å along the least visible
motion).

A fingerprint with fewer features than internal coordinates (d < 3N − 3, e.g. the s-only
overlap matrix for CH4) has :math:`3N - 3 - d` exact zeros: they are included, so its
CN is infinite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ase
import numpy as np

from .checks import bounded_int
from .errors import DegeneracyError
from .files import json_safe
from .representations.base import Representation, batches
from .sensitivity import check_analysable, singular_spectrum
from .structures import frame_list, neighbor_positions


@dataclass(frozen=True)
class Comparison:
    """Per-frame sensitivity of several fingerprints.

    Attributes
    ----------
    names : list of str
        Fingerprint names, the column order of every array.
    singular_values : array (n_frames, n_fingerprints, 3N-3)
        Purified singular values, descending (zeros appended when d < 3N − 3).
    feature_norms : array (n_frames, n_fingerprints)
        :math:`|x|` per frame.
    """

    names: list[str]
    singular_values: np.ndarray
    feature_norms: np.ndarray

    @property
    def s_max(self) -> np.ndarray:
        """Largest singular value s_1, (n_frames, n_fingerprints)."""
        return self.singular_values[..., 0]

    @property
    def s_min(self) -> np.ndarray:
        """Smallest singular value s_{3N-3}, (n_frames, n_fingerprints)."""
        return self.singular_values[..., -1]

    @property
    def cn(self) -> np.ndarray:
        """Condition numbers s_1 / s_{3N-3} (``inf`` for an exact zero, ``nan`` when all
        singular values are zero)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.s_max / self.s_min

    @property
    def relative_s_min(self) -> np.ndarray:
        """s_{3N-3} / |x| in Å⁻¹."""
        return self.s_min / self.feature_norms

    def records(self) -> list[dict]:
        """One JSON-ready mapping per frame: ``{"frame", name: {"cn", "s_min", ...}}``.

        An infinite CN (s_min = 0) is ``None`` (JSON null), keeping the output strict JSON.
        """
        out = []
        for f in range(self.singular_values.shape[0]):
            row: dict = {"frame": f}
            for k, name in enumerate(self.names):
                row[name] = {
                    "cn": json_safe(self.cn[f, k]),
                    "s_min": float(self.s_min[f, k]),
                    "s_max": float(self.s_max[f, k]),
                    "relative_s_min": float(self.relative_s_min[f, k]),
                }
            out.append(row)
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        """Median, smallest and largest CN per fingerprint (``None`` for infinite)."""
        return {
            name: {
                "cn_median": json_safe(np.median(self.cn[:, k])),
                "cn_min": json_safe(np.min(self.cn[:, k])),
                "cn_max": json_safe(np.max(self.cn[:, k])),
            }
            for k, name in enumerate(self.names)
        }


def compare_fingerprints(
    frames: Sequence[ase.Atoms],
    representations: Mapping[str, Representation],
    *,
    batch_size: int = 200,
    progress: bool = False,
) -> Comparison:
    """Purified spectra of every fingerprint on every frame.

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first), all with the same number of neighbours.
    representations : mapping
        Fingerprint name -> :class:`Representation`.
    batch_size : int
        Frames per Jacobian call (bounds memory for large fingerprints).
    progress : bool
        Show a progress bar.
    """
    frames = frame_list(frames)
    if not frames:
        raise DegeneracyError("no frames to compare")
    if not representations:
        raise DegeneracyError("no fingerprints to compare")
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    for representation in representations.values():
        check_analysable(frames, representation)
    spectra, norms = [], []
    for name, representation in representations.items():
        values, norm = [], []
        for chunk in batches(frames, batch_size, progress=progress, desc=name):
            features, jacobian = representation.jacobian(chunk)
            spectrum = singular_spectrum(
                jacobian, neighbor_positions(chunk), first_frame=sum(map(len, values))
            )
            values.append(spectrum.values)
            norm.append(np.linalg.norm(features, axis=1))
        spectra.append(np.concatenate(values))
        norms.append(np.concatenate(norm))
    return Comparison(
        names=list(representations),
        singular_values=np.stack(spectra, axis=1),
        feature_norms=np.stack(norms, axis=1),
    )
