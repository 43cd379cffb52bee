"""Fig. 2 of the Comment: parity plots of the three learning protocols.

One panel per protocol (none, subset, full): predicted against true E4 for the random
training structures, the validation structures, the orbit frames used in training and the
orbit frames held out, with their RMSEs. Reads the folders written by
:func:`degeneracy.learning.run_protocol`; computes nothing but the plot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.figure import Figure

from ..errors import DegeneracyError
from ..files import atomic_path, write_json
from ..learning import load_run

#: Published RMSEs (recomputed from the Comment's stored predictions; DESIGN.md §3).
PUBLISHED = {
    "none": {"val_rmse": 0.0133, "orbit_heldout_rmse": 0.144},
    "subset": {"val_rmse": 0.0134, "orbit_heldout_rmse": 0.072},
    "full": {"val_rmse": 0.0146, "orbit_rmse": 0.033},
}

#: Metrics copied into ``fig2.json`` for every protocol.
TABLE_KEYS = (
    "train_rmse",
    "train_mae",
    "val_rmse",
    "val_mae",
    "test_rmse",
    "test_mae",
    "test_over_val",
    "orbit_train_rmse",
    "orbit_heldout_rmse",
    "orbit_heldout_mae",
    "orbit_heldout_bias",
    "orbit_heldout_prediction_std",
    "orbit_heldout_corr",
    "orbit_rmse",
    "orbit_mae",
    "orbit_slope_rms",
    "orbit_slope_prediction_rms",
    "orbit_slope_corr",
    "val_gradient_rmse",
    "val_gradient_flat_rms",
    "val_gradient_shape_rmse",
    "orbit_gradient_rmse",
    "val_std",
    "orbit_std",
    "n_orbit_train",
    "epochs",
    "best_epoch",
    "stopped",
    "seconds",
    "baselines",
)

_TRAIN_POINTS = 4000


def _panel(ax, name: str, metrics: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    train_t, train_p = arrays["train_target"], arrays["train_prediction"]
    if len(train_t) > _TRAIN_POINTS:  # a readable sample of the training cloud
        keep = rng.choice(len(train_t), _TRAIN_POINTS, replace=False)
        train_t, train_p = train_t[keep], train_p[keep]
    used = arrays["orbit_in_training"].astype(bool)
    orbit_t, orbit_p = arrays["orbit_target"], arrays["orbit_prediction"]

    def fmt(key: str) -> str:
        value = metrics.get(key)
        return "–" if value is None else f"{value:.3f}"

    val_t, val_p = arrays["val_target"], arrays["val_prediction"]
    heldout = f"orbit, held out ({fmt('orbit_heldout_rmse')})"
    in_training = f"orbit, in training ({fmt('orbit_train_rmse')})"
    # legend in the Comment's order; the 20 orbit frames in training drawn on top of the
    # 181 held out around them (zorder), which hid most of them
    series = [
        (train_t, train_p, "0.75", 4, f"train ({fmt('train_rmse')})", 1),
        (val_t, val_p, "C0", 4, f"validation ({fmt('val_rmse')})", 1),
        (orbit_t[used], orbit_p[used], "C2", 14, in_training, 3),
        (orbit_t[~used], orbit_p[~used], "C3", 14, heldout, 2),
    ]
    for target, prediction, colour, size, label, order in series:
        if len(target):
            ax.scatter(
                target, prediction, s=size, c=colour, lw=0, alpha=0.8, label=label, zorder=order
            )
    # the bulk of the validation set, and every orbit point (targets and predictions)
    low, high = np.quantile(arrays["val_target"], [0.0, 0.995])
    low, high = min(low, orbit_t.min(), orbit_p.min()), max(high, orbit_t.max(), orbit_p.max())
    pad = 0.05 * (high - low)
    limits = (low - pad, high + pad)
    ax.plot(limits, limits, color="k", lw=0.8)
    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_aspect("equal")
    ax.set_xlabel("E4 (true)")
    ax.set_title(f"{name}: {metrics.get('n_orbit_train', 0)} orbit frames in training")
    ax.legend(loc="upper left", fontsize=7, title="RMSE", title_fontsize=7)


def _orbit_panel(ax, name: str, metrics: Mapping[str, Any], arrays: Mapping[str, np.ndarray]):
    target, prediction = arrays["orbit_target"], arrays["orbit_prediction"]
    used = arrays["orbit_in_training"].astype(bool)
    if "orbit_arc_length" in arrays:
        position, label = arrays["orbit_arc_length"], "arc length along the orbit (Å)"
    else:  # not a path, or a run saved before arc lengths were
        position, label = np.arange(len(target), dtype=float), "orbit frame"
    ax.plot(position, target, color="k", lw=1.2, label="E4 (true)")
    # the frames in training on top of the held-out ones 0.01 Å beside them, which hid
    # 18 of the 20 (as in the parity panels)
    for mask, colour, kind, order in ((used, "C2", "in training", 3), (~used, "C3", "held out", 2)):
        if mask.any():
            ax.scatter(
                position[mask],
                prediction[mask],
                s=8,
                c=colour,
                lw=0,
                label=f"predicted, {kind}",
                zorder=order,
            )
    ax.set_xlabel(label)
    slope, corr = metrics.get("orbit_slope_prediction_rms"), metrics.get("orbit_slope_corr")
    title = f"{name}: {int(used.sum())} orbit frames in training"
    if slope is not None:
        title += f"\nslope RMS {slope:.3f} (E4 {metrics['orbit_slope_rms']:.3f}) 1/Å"
        title += f", corr {'–' if corr is None else f'{corr:.2f}'}"
    ax.set_title(title, fontsize=9)
    ax.legend(loc="best", fontsize=7)


def plot_orbit_profiles(
    runs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, np.ndarray]]], path: Path
) -> Path:
    """E4 and each protocol's prediction along the orbit, one panel per protocol.

    Beyond the Comment's parity plots: a model whose fingerprint is blind along the orbit
    predicts a flat line there, whatever its RMSE; the panel titles give the slope metrics
    of :func:`degeneracy.learning.orbit_slopes`.
    """
    figure = Figure(figsize=(4.2 * len(runs), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(runs), sharey=True))
    for ax, (name, (metrics, arrays)) in zip(axes, runs.items(), strict=True):
        _orbit_panel(ax, name, metrics, arrays)
    axes[0].set_ylabel("E4")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=150, format="png")
    return path


class Fig2Files(NamedTuple):
    """What :func:`make_fig2` wrote."""

    figure: Path  #: fig2.png, the Comment's parity plots
    table: Path  #: fig2.json
    orbit_figure: Path  #: fig2-orbit.png, E4 and the predictions along the orbit


def make_fig2(folders: Mapping[str, str | os.PathLike], output: str | os.PathLike) -> Fig2Files:
    """Draw ``fig2.png`` and ``fig2-orbit.png`` and write ``fig2.json`` in folder ``output``.

    ``folders`` maps protocol names (``none``, ``subset``, ``full``) to the result folders
    of :func:`degeneracy.learning.run_protocol`. The JSON holds the main metrics of every
    protocol and the Comment's published values; ``fig2-orbit.png`` shows the predictions
    along the orbit (:func:`plot_orbit_profiles`).
    """
    if not folders:
        raise DegeneracyError("make_fig2 needs at least one protocol folder")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    runs = {name: load_run(folder) for name, folder in folders.items()}
    figure = Figure(figsize=(4.2 * len(runs), 4.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(runs)))
    for ax, (name, (metrics, arrays)) in zip(axes, runs.items(), strict=True):
        _panel(ax, name, metrics, arrays)
    axes[0].set_ylabel("E4 (predicted)")
    png = output / "fig2.png"
    with atomic_path(png) as tmp:
        figure.savefig(tmp, dpi=150, format="png")
    table = {
        "protocols": {
            name: {k: metrics.get(k) for k in TABLE_KEYS} for name, (metrics, _) in runs.items()
        },
        "published": PUBLISHED,
        # relative to fig2.json's own folder, so that the record holds wherever it is read
        "folders": {
            name: os.path.relpath(Path(folder).resolve(), output.resolve())
            for name, folder in folders.items()
        },
    }
    path = output / "fig2.json"
    write_json(path, table)
    return Fig2Files(png, path, plot_orbit_profiles(runs, output / "fig2-orbit.png"))
