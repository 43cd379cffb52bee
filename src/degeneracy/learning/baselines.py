r"""Reference models on the network's own features: how hard is the target to learn?

A network's validation error means little alone. Two classical regressors on exactly the
same inputs and training frames frame it:

* **ridge** (linear): :math:`\hat y = w\cdot\tilde X + b` on standardised features, the
  regularisation chosen by efficient leave-one-out cross-validation on the training set
  (scikit-learn's ``RidgeCV``; never by the validation set). A target that is (nearly)
  linear in the features, like the four-body E4 in the ν = 3 bispectrum, is learned by
  ridge already; one that is not, like E4 in the ν = 2 power spectrum, needs the
  network's non-linearity and many samples.
* **nearest neighbour** (local): the target of the closest training frame in the
  RMS-normalised feature space of the network (scikit-learn's ``NearestNeighbors``,
  brute force). Its error grows with the distance to that neighbour; the distance
  itself, :math:`d_{\mathrm{NN}} \propto n^{-1/D}` for data on a D-dimensional manifold
  (D = 9 for the internal coordinates of CH4), says how slowly more data helps.

For a multi-centre featurizer the per-centre features of each species are summed over
the centres and concatenated over species: the linear atomic-sum model
:math:`\sum_i w_{s_i}\cdot x_i = \sum_s w_s\cdot\sum_{i\in s} x_i` is then exactly a ridge
model of those sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import DegeneracyError
from .trainer import rmse

#: Regularisation strengths tried by the ridge baseline (leave-one-out on training data).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-6, 4, 11))


def pooled_features(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-species sums over centres, concatenated in sorted species order: (n, Σ d_s).

    ``inputs`` maps centre species to arrays (n_frames, n_centres, n_features), as a
    :class:`~degeneracy.learning.datasets.Featurizer` returns them.
    """
    if not inputs:
        raise DegeneracyError("no features to pool")
    parts = []
    for species in sorted(inputs):
        values = np.asarray(inputs[species], dtype=np.float64)
        if values.ndim != 3:
            raise DegeneracyError(
                f"features of the {species} centres must have shape (frames, centres, "
                f"features), got {values.shape}"
            )
        parts.append(values.sum(axis=1))
    return np.concatenate(parts, axis=1)


def _training_set(train_x: Any, train_y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The training features (n, d) and targets (n,), n ≥ 1, finite; else named."""
    x, y = _named_set("training", train_x, train_y)
    if not len(y):
        raise DegeneracyError("no training frames: the baselines need at least one")
    return x, y


def _evaluated_sets(evaluate: Any, width: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each evaluated set's features (n, ``width``) and targets (n,), finite; else named."""
    if not isinstance(evaluate, Mapping):
        raise DegeneracyError(
            f"evaluate must map set names to (features, targets), got {type(evaluate).__name__}"
        )
    sets = {}
    for name, pair in evaluate.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise DegeneracyError(f"evaluate[{name!r}] must be a (features, targets) pair")
        x, y = _named_set(str(name), *pair)
        if len(y) and x.shape[1] != width:
            raise DegeneracyError(
                f"{name} set: {x.shape[1]} features per frame, but the training frames have {width}"
            )
        sets[name] = (x, y)
    return sets


def _named_set(name: str, features: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    """``features`` (n, d) and ``targets`` (n,) as finite float arrays (float ones kept in
    their precision, as given); an empty set's features are not looked at. Else
    :class:`DegeneracyError` naming the set."""
    try:
        x, y = _float_array(features), _float_array(targets)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(
            f"{name} set: features and targets must be numbers ({error})"
        ) from error
    if y.ndim != 1:
        raise DegeneracyError(f"{name} set: targets must be one per frame, got shape {y.shape}")
    if not len(y) and not x.size:
        return x, y
    if x.ndim != 2:
        raise DegeneracyError(
            f"{name} set: features must have shape (frames, features), got {x.shape}"
        )
    if len(x) != len(y):
        raise DegeneracyError(f"{name} set: {len(x)} rows of features but {len(y)} targets")
    for what, values in (("features", x), ("targets", y)):
        bad = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1))
        if bad.size:
            raise DegeneracyError(
                f"{name} set: {what} of frame {bad[0]} are not finite "
                f"({bad.size} of {len(values)} frames)"
            )
    return x, y


def _float_array(values: Any) -> np.ndarray:
    """``values`` as an array: as it is when of floats, else converted to float64."""
    array = np.asarray(values)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def _rmse(prediction: np.ndarray, target: np.ndarray) -> float | None:
    """:func:`~degeneracy.learning.trainer.rmse`, ``None`` for an empty set (JSON null)."""
    return rmse(prediction, target) if len(target) else None


def ridge_baseline(
    train_x: np.ndarray,
    train_y: np.ndarray,
    evaluate: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    alphas: tuple[float, ...] = RIDGE_ALPHAS,
) -> dict[str, float | None]:
    r"""Linear ridge regression on standardised features; RMSE on each evaluated set.

    .. math:: \min_w \sum_i (y_i - w\cdot\tilde x_i - b)^2 + \alpha |w|^2, \qquad
              \tilde x = (x - \mu)/s \text{ per component},

    with :math:`\alpha` from ``alphas`` by leave-one-out error on the training frames.
    Repeated training frames (protocol ``full`` repeats the orbit 10×) are fitted once
    with their count as weight, the same model, so that leaving one out leaves all its
    copies out: otherwise the left-out frame is still in the fit 9 times over and the
    cross-validation rewards memorising (the smallest α).
    Returns ``{"alpha": α, "train_rmse": ..., "<name>_rmse": ...}``; α is None with one
    distinct training frame (no leave-one-out; every α fits its target).

    Raises :class:`DegeneracyError` for no training frames, features and targets of
    different lengths, non-finite values, or an evaluated set of another feature width.
    """
    train_x, train_y = _training_set(train_x, train_y)
    evaluate = _evaluated_sets(evaluate, train_x.shape[1])
    rows, counts = _distinct_rows(train_x, train_y)
    if len(rows) < 2:
        # leave-one-out needs two distinct frames (sklearn divided by zero, warned, and
        # picked α from NaN errors); one frame's standardised features are all zero, so
        # every α gives the same model, its target: α is None
        model = make_pipeline(StandardScaler(), Ridge(alpha=max(alphas)))
        model.fit(np.asarray(train_x)[rows], np.asarray(train_y)[rows])
        return _evaluated(model, None, train_x, train_y, evaluate)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
    if len(rows) == len(train_y):
        model.fit(train_x, train_y)
    else:
        weights = counts.astype(np.float64)
        model.fit(
            np.asarray(train_x)[rows],
            np.asarray(train_y)[rows],
            standardscaler__sample_weight=weights,
            ridgecv__sample_weight=weights,
        )
    return _evaluated(model, float(model[-1].alpha_), train_x, train_y, evaluate)


def _evaluated(
    model: Any,
    alpha: float | None,
    train_x: np.ndarray,
    train_y: np.ndarray,
    evaluate: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, float | None]:
    """``{"alpha": α, "train_rmse": ..., "<name>_rmse": ...}`` of a fitted ridge."""
    result: dict[str, float | None] = {
        "alpha": alpha,
        "train_rmse": _rmse(model.predict(train_x), train_y),
    }
    for name, (x, y) in evaluate.items():
        result[f"{name}_rmse"] = _rmse(model.predict(x), y) if len(y) else None
    return result


def _distinct_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first of each distinct (features, target) row, and their counts."""
    table = np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
    _, first, counts = np.unique(table, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first)
    return first[order], counts[order]


def nearest_neighbour_baseline(
    train_x: np.ndarray,
    train_y: np.ndarray,
    evaluate: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, float | None]:
    r"""The target of the nearest training frame in RMS-normalised feature space.

    Features are divided by :math:`\sqrt{\langle |x|^2\rangle}` over the training frames
    (for a single centre, the network's normalisation; for several, that of the pooled
    sums of :func:`pooled_features`). Returns ``"<name>_rmse"`` and the median distance to
    the nearest training frame, ``"<name>_median_distance"``, per evaluated set.

    Raises :class:`DegeneracyError` as :func:`ridge_baseline` does, and for training
    features that are all zero.
    """
    train_x, train_y = _training_set(train_x, train_y)
    evaluate = _evaluated_sets(evaluate, train_x.shape[1])
    scale = float(np.sqrt(np.mean(np.sum(np.asarray(train_x, dtype=np.float64) ** 2, axis=1))))
    if not scale > 0:
        raise DegeneracyError("training features are all zero")
    train_y = np.asarray(train_y)
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(
        np.asarray(train_x, dtype=np.float64) / scale
    )
    result: dict[str, float | None] = {}
    for name, (x, y) in evaluate.items():
        if not len(y):
            result[f"{name}_rmse"] = result[f"{name}_median_distance"] = None
            continue
        distance, nearest = index.kneighbors(np.asarray(x, dtype=np.float64) / scale)
        result[f"{name}_rmse"] = _rmse(train_y[nearest[:, 0]], y)
        result[f"{name}_median_distance"] = float(np.median(distance[:, 0]))
    return result


def baseline_errors(
    train_inputs: Mapping[str, np.ndarray],
    train_y: np.ndarray,
    evaluate: Mapping[str, tuple[Mapping[str, np.ndarray], np.ndarray]],
) -> dict[str, dict[str, float | None]]:
    """Ridge and nearest-neighbour baselines on featurizer inputs (see the module doc).

    ``evaluate`` maps a set name to ``(inputs, targets)``; returns
    ``{"ridge": {...}, "nearest_neighbour": {...}}``.
    """
    train_x = pooled_features(train_inputs)
    sets = {name: (pooled_features(x), np.asarray(y)) for name, (x, y) in evaluate.items()}
    return {
        "ridge": ridge_baseline(train_x, np.asarray(train_y), sets),
        "nearest_neighbour": nearest_neighbour_baseline(train_x, np.asarray(train_y), sets),
    }
