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
from typing import Any

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
    series = [
        (train_t, train_p, "0.75", 4, f"train ({fmt('train_rmse')})"),
        (val_t, val_p, "C0", 4, f"validation ({fmt('val_rmse')})"),
        (orbit_t[used], orbit_p[used], "C2", 14, f"orbit, in training ({fmt('orbit_train_rmse')})"),
        (orbit_t[~used], orbit_p[~used], "C3", 14, heldout),
    ]
    for target, prediction, colour, size, label in series:
        if len(target):
            ax.scatter(target, prediction, s=size, c=colour, lw=0, alpha=0.8, label=label)
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


def make_fig2(
    folders: Mapping[str, str | os.PathLike], output: str | os.PathLike
) -> tuple[Path, Path]:
    """Draw ``fig2.png`` and write ``fig2.json`` in folder ``output``.

    ``folders`` maps protocol names (``none``, ``subset``, ``full``) to the result folders
    of :func:`degeneracy.learning.run_protocol`. The JSON holds the main metrics of every
    protocol and the Comment's published values.
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
        "folders": {name: str(folder) for name, folder in folders.items()},
    }
    path = output / "fig2.json"
    write_json(path, table)
    return png, path
