"""An interactive chemiscope view of a traced orbit: play the motion, read the spectrum.

Takes the frames :func:`degeneracy.orbits.trace_orbit` wrote (``info``: ``arc_length``,
``singular_values``, ``cn``, ``fourbody``, ``feature_distance``); nothing here computes a
fingerprint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import ase
import chemiscope
import numpy as np

from ..errors import DegeneracyError
from ..sensitivity import capped_cn, floored_s_min, showable_spectra
from .viewer import write_chemiscope_file

#: Per-frame keys an orbit frame must carry.
ORBIT_KEYS = ("arc_length", "cn", "singular_values", "feature_distance")


def write_orbit_chemiscope(
    path: str | os.PathLike,
    frames: Sequence[ase.Atoms],
    *,
    title: str = "degeneracy orbit",
    description: str = "",
) -> int:
    r"""chemiscope file of an orbit as a trajectory: the map is :math:`\log_{10}` CN
    against arc length, coloured by the four-body target E4 (when every frame has a finite one).

    Along a low-sensitivity orbit (Parsaeifard & Goedecker, 2022) the structure changes
    visibly while the fingerprint barely moves: the viewer plays the motion with the
    feature distance :math:`|x(r) - x(r_0)|`, :math:`\log_{10} s_\min`, CN and E4 of each
    frame. Frames whose spectrum is not finite are left out; an s_min at round-off is
    drawn at the round-off floor (3N − 3)ε s_1, its CN at the largest CN float64
    resolves, 1/((3N − 3)ε) (:func:`~degeneracy.sensitivity.floored_s_min`,
    :func:`~degeneracy.sensitivity.capped_cn`). Returns the number of frames written.
    """
    missing = [key for key in ORBIT_KEYS if any(key not in f.info for f in frames)]
    if missing:
        raise DegeneracyError(f"not orbit frames: info key {missing[0]!r} missing")
    spectra = [np.asarray(f.info["singular_values"], dtype=float) for f in frames]
    s_max, s_min = (np.array([v[k] for v in spectra]) for k in (0, -1))
    keep = np.flatnonzero(showable_spectra(s_max, s_min))
    if not keep.size:
        raise DegeneracyError("no orbit frame with a finite spectrum to show in chemiscope")

    def values(name: str) -> np.ndarray:
        return np.array([float(frames[k].info[name]) for k in keep])

    n_motions = np.array([spectra[k].size for k in keep])
    cn = capped_cn(values("cn"), n_motions)
    properties = {
        "arc length (Å)": _property(values("arc_length"), "arc length along the orbit", units="Å"),
        "log10(CN)": _property(
            np.log10(cn), "log10 of s_1 / s_min; at round-off, capped at 1/((3N - 3) eps)"
        ),
        "log10(s_min)": _property(
            np.log10(floored_s_min(s_max[keep], s_min[keep], n_motions)),
            "smallest singular value; at round-off, (3N - 3) eps s_1",
        ),
        "feature distance": _property(values("feature_distance"), "|x(r) - x(r_0)|"),
    }
    color = None
    # E4 is NaN where three H atoms are collinear (a triangle without a normal): a NaN is
    # no JSON (strict readers, chemiscope's JavaScript among them, refuse the file)
    if all("fourbody" in frames[k].info for k in keep) and np.isfinite(values("fourbody")).all():
        properties["E4"] = _property(values("fourbody"), "four-body target, learned in Fig. 2")
        color = "E4"
    settings = chemiscope.quick_settings(
        x="arc length (Å)", y="log10(CN)", map_color=color, trajectory=True
    )
    write_chemiscope_file(
        Path(path),
        structures=[frames[k] for k in keep],
        properties=properties,
        settings=settings,
        metadata={"name": title, "description": description},
    )
    return len(keep)


def _property(values: np.ndarray, description: str, *, units: str | None = None) -> dict:
    shown = {
        "target": "structure",
        "values": np.asarray(values, dtype=float),
        "description": description,
    }
    if units is not None:
        shown["units"] = units
    return shown
