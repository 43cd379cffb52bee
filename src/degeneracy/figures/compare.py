"""Fingerprint comparison figure: CN and relative smallest singular value per frame.

Plots a :class:`degeneracy.compare.Comparison`; nothing here computes fingerprints.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..compare import Comparison
from ..errors import DegeneracyError
from ..files import atomic_paths
from ..sensitivity import VERDICT_ZERO, capped_cn
from .styles import EntryStyle, entry_style

#: Up to this many frames each frame is marked on the lines; beyond, plain lines.
MARKED_FRAMES = 30

#: How a frame is marked whose verdict is ``zero`` (a ring around it) or that is a kink (×).
ZERO_MARK = {"marker": "o", "ms": 9, "mfc": "none", "mew": 1.2, "linestyle": ""}
KINK_MARK = {"marker": "x", "ms": 7, "mew": 1.5, "linestyle": ""}


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
    """:func:`comparison_figure`, written atomically as ``prefix.png`` and ``prefix.pdf``;
    returns the paths."""
    figure = comparison_figure(comparison, x=x, xlabel=xlabel, title=title)
    png, pdf = comparison_paths(prefix)
    with atomic_paths([png, pdf]) as (png_tmp, pdf_tmp):
        figure.savefig(png_tmp, format="png", dpi=120)
        figure.savefig(pdf_tmp, format="pdf", dpi=120)
    return png, pdf


def comparison_figure(
    comparison: Comparison,
    *,
    x: np.ndarray | None = None,
    xlabel: str = "frame",
    title: str = "",
) -> Figure:
    r"""Two panels over the frames: :math:`\log` CN and :math:`s_\min / |x|` per fingerprint.

    Each fingerprint is drawn in its own :func:`~degeneracy.figures.styles.entry_style`
    (colour, then line style, then marker: no two alike up to 200 of them). A frame whose
    verdict is ``zero`` in the table (:attr:`~degeneracy.compare.Comparison.verdicts`,
    the rule of :func:`~degeneracy.sensitivity.spectrum_verdicts`: some
    :math:`s_k` below :data:`~degeneracy.sensitivity.ZERO_RTOL` of :math:`s_1`) is
    ringed, and the legend counts them as the table does. Where its :math:`s_\min` is
    at round-off (infinite CN, :func:`~degeneracy.sensitivity.condition_number`) the CN
    panel rings it at the largest CN float64 resolves,
    :math:`1/((3N-3)\varepsilon)` (:func:`~degeneracy.sensitivity.capped_cn`, dotted
    line), and the :math:`s_\min / |x|` panel leaves it out (its :math:`s_\min` is
    noise). Kinks (:attr:`~degeneracy.compare.Comparison.kinks`: no Jacobian there, the
    CN one one-sided derivative's) are marked × and counted there.

    Raises
    ------
    DegeneracyError
        When ``x`` does not have one value per frame.
    """
    n_frames, _, n_motions = comparison.singular_values.shape
    integer_x = x is None
    x = np.arange(n_frames) if x is None else np.asarray(x, dtype=float)
    if x.shape != (n_frames,):
        raise DegeneracyError(f"x has {x.size} values for {n_frames} frames")
    figure = Figure(figsize=(9.0, 3.8), layout="constrained")
    axes = figure.subplots(1, 2)
    verdicts = comparison.verdicts
    at_roundoff = False
    for k, name in enumerate(comparison.names):
        zero = verdicts[:, k] == VERDICT_ZERO
        kink = comparison.kink_mask[:, k]
        cn = comparison.cn[:, k]
        finite = np.isfinite(cn)
        label = _entry_label(name, zero, kink, finite)
        style = entry_style(k)
        _draw_entry(axes[0], x, cn, finite, style, n_frames, label=label)
        relative = comparison.relative_s_min[:, k]
        positive = finite & (relative > 0)
        _draw_entry(axes[1], x, relative, positive, style, n_frames)
        shown_cn = capped_cn(cn, n_motions)
        for ax, y, shown in ((axes[0], shown_cn, ~np.isnan(cn)), (axes[1], relative, positive)):
            _mark(ax, x, y, zero & shown, style, ZERO_MARK)
            _mark(ax, x, y, kink & shown, style, KINK_MARK)
        at_roundoff |= bool((zero & np.isinf(cn)).any())
    if at_roundoff:
        cap = float(capped_cn(np.inf, n_motions))
        axes[0].axhline(cap, color="0.5", lw=0.8, linestyle=":", label="round-off: CN inf")
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"CN = $s_1 / s_\mathrm{min}$")
    axes[0].legend(loc="best", fontsize=8)
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$s_\mathrm{min} / |x|$  (Å$^{-1}$)")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        if integer_x:  # frame numbers: no ticks at 0.5, 1.5 for a few frames
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def _entry_label(name: str, zero: np.ndarray, kink: np.ndarray, finite: np.ndarray) -> str:
    """``"soap (2 zero ○, 1 at round-off; 1 kink ×)"``: the legend entry of a fingerprint,
    its frames of verdict ``zero`` counted as the table counts them, and its kinks."""
    notes = []
    if zero.any():
        n_roundoff = int((zero & ~finite).sum())
        roundoff = f", {n_roundoff} at round-off" if n_roundoff else ""
        notes.append(f"{int(zero.sum())} zero ○{roundoff}")
    if kink.any():
        notes.append(f"{int(kink.sum())} kink{'s' if kink.sum() > 1 else ''} ×")
    return f"{name} ({'; '.join(notes)})" if notes else name


def _draw_entry(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    shown: np.ndarray,
    style: EntryStyle,
    n_frames: int,
    *,
    label: str | None = None,
) -> None:
    """One fingerprint's line over the ``shown`` frames (an empty one, for the legend,
    when there are none); each frame marked when there are at most
    :data:`MARKED_FRAMES`."""
    line = style.line(markers=n_frames <= MARKED_FRAMES)
    ax.plot(x[shown], y[shown], ms=3, lw=1.2, label=label, **line)


def _mark(
    ax: Axes, x: np.ndarray, y: np.ndarray, where: np.ndarray, style: EntryStyle, mark: dict
) -> None:
    """Mark the frames ``where`` with ``mark`` in the fingerprint's colour."""
    if where.any():
        ax.plot(x[where], y[where], color=style.color, **mark)
