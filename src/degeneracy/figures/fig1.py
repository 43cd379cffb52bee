r"""The Comment's Fig. 1: low-sensitivity orbits around A0 (a) and their condition numbers (b).

**Projection of Fig. 1a.** Every frame is a point :math:`r \in \mathbb R^{12}` (the four
neighbour positions, C at the origin). The plot shows the coordinates

.. math:: (\,(r - A_0)\cdot e_1,\ (r - A_0)\cdot e_2\,)

where :math:`e_1, e_2` are the first two right singular vectors of the matrix of all
orbit displacements :math:`r - A_0` (all σ and c pooled): a PCA *about A0* (not about the
mean), so A0 is the origin and the plane is the one the orbits loop in (for the σ = 0.3,
c = 1 orbit the first two axes hold 98 % of the variance). Rotations of the molecule are
not removed because the orbits never rotate (the orbit direction is orthogonal to them).

**The degenerate-pair lines A±.** The CH4 pairs of Pozdnyakov et al. (PRL 125, 166001,
2020): H1 = h(67.5°, 180°), H2 = h(−30°, −36°), H3 = h(30°, 36°), H4 = h(0°, ±α) with
:math:`h(\beta,\alpha)` of :func:`degeneracy.structures.spherical_point`. For every α the
two members have identical ν = 2 features; P&G's start P0 is H4 = h(4.5°, 130.5°), i.e.
0.086 Å from the A+ line. Both lines are drawn for α ∈ [110°, 150°] in the same
projection; the legend gives their distance from the plane (A− lies far out of it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import ase
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..errors import DegeneracyError
from ..files import atomic_paths
from ..structures import (
    builtin_environment,
    first_frame,
    neighbor_positions,
    prl2020_methane,
)

#: α range (degrees) of the drawn degenerate-pair lines.
PAIR_ALPHAS = np.linspace(110.0, 150.0, 81)


def _orbits(members) -> dict[tuple[float, float], list[ase.Atoms]]:
    if isinstance(members, Mapping):
        return {(float(s), float(c)): list(f) for (s, c), f in members.items()}
    return {(float(m.sigma), float(m.c)): list(m.frames) for m in members}


def _a0(a0) -> np.ndarray:
    """A0's neighbour positions (12,) from an array, an environment or a file's first
    frame. The file is read for its positions only: a family's own ``a0.extxyz`` (8
    decimals) may put an H given at 2.4999999996 Å past the cutoff, and the figure would
    refuse what the orbits were traced from (nor warn about units of a file written in Å)."""
    if isinstance(a0, (str, os.PathLike)):
        a0 = first_frame(a0)
    if isinstance(a0, ase.Atoms):
        a0 = neighbor_positions(a0)
    return np.asarray(a0, dtype=float).ravel()


def projection_axes(
    orbits: Mapping[tuple[float, float], Sequence[ase.Atoms]], a0: np.ndarray
) -> np.ndarray:
    """The two unit axes (2, 12) of Fig. 1a: PCA about A0 of all orbit displacements."""
    displacements = np.concatenate(
        [neighbor_positions(list(f)).reshape(len(f), -1) - a0 for f in orbits.values()]
    )
    _, _, vt = np.linalg.svd(displacements, full_matrices=False)
    axes = vt[:2].copy()
    # fix the arbitrary signs: P0 - A0 has positive coordinates
    p0 = neighbor_positions(builtin_environment("pg-start")).ravel() - a0
    axes *= np.where(axes @ p0 < 0, -1.0, 1.0)[:, None]
    return axes


def pair_lines() -> tuple[np.ndarray, np.ndarray]:
    """A+ and A− lines: neighbour positions (n, 12) of H4 = h(0°, ±α), α in PAIR_ALPHAS."""
    plus = np.array([neighbor_positions(prl2020_methane(0.0, a)).ravel() for a in PAIR_ALPHAS])
    minus = np.array([neighbor_positions(prl2020_methane(0.0, -a)).ravel() for a in PAIR_ALPHAS])
    return plus, minus


def _save(figure, stem: Path) -> list[Path]:
    """Save ``figure`` as ``stem``.png and .pdf, both or neither, and close it."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    try:
        with atomic_paths(paths) as temporary:
            for path, tmp in zip(paths, temporary, strict=True):
                figure.savefig(tmp, format=path.suffix[1:], dpi=200, bbox_inches="tight")
    finally:
        plt.close(figure)
    return paths


def _colours(distances: Sequence[float]) -> dict[float, tuple]:
    cmap = plt.get_cmap("viridis")
    ordered = sorted(set(distances))
    return {c: cmap(k / max(1, len(ordered) - 1) * 0.9) for k, c in enumerate(ordered)}


def plot_fig1a(orbits, a0, output_stem: str | os.PathLike) -> list[Path]:
    """Fig. 1a: orbits (one panel per σ, colour by c), A0, P0 and the A± lines."""
    orbits = _orbits(orbits)
    if not orbits:
        raise DegeneracyError("no orbits to plot")
    a0 = _a0(a0)
    axes = projection_axes(orbits, a0)
    sigmas = sorted({s for s, _ in orbits})
    colours = _colours([c for _, c in orbits])
    plus, minus = pair_lines()
    n = len(sigmas)
    columns = min(n, 2)
    rows = (n + columns - 1) // columns
    figure, panels = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 4.0 * rows), squeeze=False, sharex=True, sharey=True
    )
    p0 = neighbor_positions(builtin_environment("pg-start")).ravel() - a0
    for panel, sigma in zip(panels.ravel(), sigmas, strict=False):
        for (s, c), frames in sorted(orbits.items()):
            if s != sigma:
                continue
            xy = (neighbor_positions(frames).reshape(len(frames), -1) - a0) @ axes.T
            panel.plot(xy[:, 0], xy[:, 1], color=colours[c], lw=1.2, label=f"c = {c:g}")
            panel.plot(xy[0, 0], xy[0, 1], "o", color=colours[c], ms=3)
        for line, name, style in ((plus, "A+", "--"), (minus, "A−", ":")):
            shifted = line - a0
            xy = shifted @ axes.T
            off_plane = np.linalg.norm(shifted - xy @ axes, axis=1).min()
            panel.plot(
                xy[:, 0],
                xy[:, 1],
                style,
                color="0.4",
                lw=1,
                label=f"{name} (≥{off_plane:.2f} Å off)",
            )
        panel.plot(0, 0, "k*", ms=9, label="A0")
        panel.plot(*(p0 @ axes.T), "kx", ms=7, label="P0")
        panel.set_title(f"σ = {sigma:g} Å")
        panel.set_aspect("equal", adjustable="box")
    # frame the orbits (the pair lines extend far beyond them and are clipped)
    points = np.concatenate(
        [(neighbor_positions(f).reshape(len(f), -1) - a0) @ axes.T for f in orbits.values()]
        + [np.zeros((1, 2)), (p0 @ axes.T)[None]]
    )
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * (high - low).max()
    centre, half = (low + high) / 2, (high - low).max() / 2 + margin
    panels[0, 0].set_xlim(centre[0] - half, centre[0] + half)
    panels[0, 0].set_ylim(centre[1] - half, centre[1] + half)
    for panel in panels.ravel()[n:]:
        panel.axis("off")
    for panel in panels[-1]:
        panel.set_xlabel("$(r-A_0)\\cdot e_1$ (Å)")
    for panel in panels[:, 0]:
        panel.set_ylabel("$(r-A_0)\\cdot e_2$ (Å)")
    panels.ravel()[0].legend(fontsize=7, loc="best")
    figure.suptitle("Low-sensitivity orbits around A0 (PCA about A0 of all orbit frames)")
    return _save(figure, Path(output_stem))


def plot_fig1b(orbits, output_stem: str | os.PathLike, sigmas=(0.1, 0.5)) -> list[Path]:
    """Fig. 1b: condition number along the orbits (log scale), one panel per σ in ``sigmas``."""
    orbits = _orbits(orbits)
    chosen = [s for s in sigmas if any(np.isclose(k[0], s) for k in orbits)]
    if not chosen:
        raise DegeneracyError(f"no orbits with sigma in {list(sigmas)} to plot")
    colours = _colours([c for _, c in orbits])
    figure, panels = plt.subplots(
        1, len(chosen), figsize=(4.5 * len(chosen), 3.8), squeeze=False, sharey=True
    )
    for panel, sigma in zip(panels[0], chosen, strict=True):
        for (s, c), frames in sorted(orbits.items()):
            if not np.isclose(s, sigma):
                continue
            arc = np.array([f.info["arc_length"] for f in frames])
            cn = np.array([f.info["cn"] for f in frames])
            panel.semilogy(arc, cn, color=colours[c], lw=1.2, label=f"c = {c:g}")
        panel.set_title(f"σ = {sigma:g} Å")
        panel.set_xlabel("arc length (Å)")
    panels[0, 0].set_ylabel("condition number $s_1/s_9$")
    panels[0, 0].legend(fontsize=7)
    figure.suptitle("Condition number along the orbits", y=1.02)
    return _save(figure, Path(output_stem))


def make_fig1(orbits, a0, output_dir: str | os.PathLike) -> list[Path]:
    """Fig. 1a and 1b as PNG and PDF in ``output_dir`` (``fig1a.*``, ``fig1b.*``)."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise DegeneracyError(f"{output_dir}: output folder does not exist")
    paths = plot_fig1a(orbits, a0, output_dir / "fig1a")
    orbits = _orbits(orbits)
    available = sorted({s for s, _ in orbits})
    wanted = [s for s in (0.1, 0.5) if any(np.isclose(s, a) for a in available)] or available[:2]
    paths += plot_fig1b(orbits, output_dir / "fig1b", sigmas=wanted)
    return paths
