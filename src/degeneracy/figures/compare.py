"""Fingerprint comparison figure: CN and relative smallest singular value per frame.

Plots a :class:`degeneracy.compare.Comparison`; nothing here computes fingerprints.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..compare import Comparison
from ..errors import DegeneracyError
from ..files import atomic_paths


def comparison_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """The PNG and PDF paths for ``prefix`` (a trailing .png or .pdf is dropped)."""
    prefix = Path(prefix)
    if prefix.suffix.lower() in (".png", ".pdf"):
        prefix = prefix.with_suffix("")
    return prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".pdf")


def plot_comparison(
    comparison: Comparison,
    prefix: str | os.PathLike,
    *,
    x: np.ndarray | None = None,
    xlabel: str = "frame",
    title: str = "",
) -> tuple[Path, Path]:
    r"""Two panels over the frames: :math:`\log` CN and :math:`s_\min / |x|` per fingerprint.

    Frames whose :math:`s_\min` is zero or at round-off (infinite CN,
    :func:`~degeneracy.sensitivity.condition_number`) are left out of both panels and
    counted in the legend. Kinks (:attr:`~degeneracy.compare.Comparison.kinks`: no
    Jacobian there, the CN one one-sided derivative's) are marked × and counted there.
    Written atomically as ``prefix.png`` and ``prefix.pdf``; returns the paths.
    """
    n_frames = comparison.singular_values.shape[0]
    x = np.arange(n_frames) if x is None else np.asarray(x, dtype=float)
    if x.shape != (n_frames,):
        raise DegeneracyError(f"x has {x.size} values for {n_frames} frames")
    figure = Figure(figsize=(9.0, 3.8), layout="constrained")
    axes = figure.subplots(1, 2)
    style = "o-" if n_frames <= 30 else "-"
    for k, name in enumerate(comparison.names):
        cn = comparison.cn[:, k]
        finite = np.isfinite(cn)
        kink = comparison.kink_mask[:, k]
        notes = [] if finite.all() else [f"{(~finite).sum()} with s_min ≈ 0"]
        notes += [f"{kink.sum()} kink{'s' if kink.sum() > 1 else ''} ×"] if kink.any() else []
        label = f"{name} ({', '.join(notes)})" if notes else name
        if finite.any():
            axes[0].plot(x[finite], cn[finite], style, ms=3, lw=1.2, color=f"C{k}", label=label)
        else:
            axes[0].plot([], [], color=f"C{k}", label=label)
        relative = comparison.relative_s_min[:, k]
        positive = finite & (relative > 0)
        axes[1].plot(x[positive], relative[positive], style, ms=3, lw=1.2, color=f"C{k}")
        for ax, y, shown in ((axes[0], cn, finite), (axes[1], relative, positive)):
            marked = kink & shown
            if marked.any():
                ax.plot(x[marked], y[marked], "x", ms=7, mew=1.5, color=f"C{k}")
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"CN = $s_1 / s_\mathrm{min}$")
    axes[0].legend(loc="best", fontsize=8)
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$s_\mathrm{min} / |x|$  (Å$^{-1}$)")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    png, pdf = comparison_paths(prefix)
    with atomic_paths([png, pdf]) as (png_tmp, pdf_tmp):
        figure.savefig(png_tmp, format="png", dpi=120)
        figure.savefig(pdf_tmp, format="pdf", dpi=120)
    return png, pdf
