r"""The three training protocols of the Comment's Fig. 2, and saved models.

Pozdnyakov et al. (2022) trained the same network on P&G's random CH4 training set plus

* ``none``: no frame of the low-sensitivity orbit (σ = 0.3 Å, c = 1, 201 frames);
* ``subset``: 20 random orbit frames (10 %), each once;
* ``full``: all 201 orbit frames, each repeated 10 times,

and reported the RMSE of E4 on the validation set and on the orbit frames *not* used in
training. Published (E4 unitless, validation spread 0.117, orbit spread 0.095): validation
0.0133 / 0.0134 / 0.0146; held-out orbit 0.144 / 0.072 / —; full orbit when trained on it
0.033. A ν = 2 fingerprint that barely changes along the orbit cannot separate its frames,
so the network can only interpolate there once it has seen some of them.

:func:`run_protocol` does one protocol for any featurizer and writes to a folder:
``metrics.json``, ``model.pt`` (+ ``basis.npz``; a multi-centre model's H-centred basis in
``basis-H.npz``), ``predictions.npz``,
``orbit_predictions.csv``, ``history.csv`` and ``checkpoint.pt``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ase
import featomic
import numpy as np
import torch

from ..checks import bounded_int, check_not_a_stream, path_value, seeded_generator, true_or_false
from ..errors import DegeneracyError, DegeneracyWarning
from ..files import NPZ_READ_ERRORS, atomic_open, atomic_path, exclusive_output, write_json
from ..orbits import comment_orbit
from ..pairs import best_alignment
from ..provenance import software_versions
from ..structures import (
    DEFAULT_CUTOFF,
    neighbor_positions,
    read_environments,
    recorded_arc_lengths,
    vector_lengths,
)
from ..targets import fourbody_flat_motions, fourbody_torsion_gradient
from .baselines import baseline_errors
from .datasets import (
    Dataset,
    Featurizer,
    cached_inputs,
    check_featurizer,
    compute_input_jacobians,
    with_targets,
)
from .domain import ApplicabilityDomain, fit_domain
from .features import CENTRE_BASIS_FILES, featurizer_cutoff, featurizer_from_spec
from .model import AtomicSumModel, network_shape
from .probe import check_probe, probe_features
from .specs import MAX_SEED, PROTOCOLS, RMSE_KEYS, Protocol, get_protocol, training_seed
from .trainer import (
    TensorSet,
    Trainer,
    TrainResult,
    TrainSettings,
    checkpoint_run_info,
    mae,
    predict,
    predict_gradients,
    rmse,
    train_settings,
    training_device,
)

_MODEL_FORMAT = 1

#: What a model file of :data:`_MODEL_FORMAT` holds besides its format and the optional
#: ``versions``, ``probe`` (:mod:`.probe`) and ``domain`` (:func:`save_model`).
_MODEL_KEYS = ("featurizer", "model", "state_dict", "metadata")

#: Entries of ``model.pt`` that older models lack, each a dictionary where present.
_OPTIONAL_DICT_KEYS = ("versions", "probe", "domain")


def orbit_split(
    n_orbit: int, protocol: str | Protocol, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the orbit frames in training and held out (random, by ``seed``).

    ``protocol`` is a :class:`~.specs.Protocol` or its name in :data:`PROTOCOLS`, as for
    :func:`run_protocol`; ``n_orbit`` an integer ≥ 0.
    """
    n_orbit = bounded_int("n_orbit", n_orbit, minimum=0)
    protocol = protocol_value(protocol)
    order = seeded_generator(seed).permutation(n_orbit)
    k = protocol.n_train(n_orbit)
    return np.sort(order[:k]), np.sort(order[k:])


def load_orbit(
    path: str | os.PathLike | None = None,
    *,
    units: str = "angstrom",
    sigma: float = 0.3,
    c: float = 1.0,
    basis: str = "optimal",
    quick: bool = False,
    cutoff: float = DEFAULT_CUTOFF,
) -> Dataset:
    """The orbit frames with E4: from ``path``, else traced by ``orbits.comment_orbit``.

    ``cutoff`` (Å) is the fingerprint's: frames with a neighbour at or beyond it are
    refused (:func:`check_within_cutoff`), whether read or traced.
    """
    if path is not None:
        frames = read_environments(path, units=units, cutoff=cutoff)
        source = str(path)
    else:
        frames = comment_orbit(sigma, c, basis=basis, quick=quick)
        source = f"comment_orbit(sigma={sigma}, c={c}, basis={basis!r}, quick={quick})"
    if len(frames) < 2:
        raise DegeneracyError(f"{source}: the orbit needs at least 2 frames, got {len(frames)}")
    location = Path(path) if path is not None else None
    settings = {"orbit": source} if path is None else {"orbit": source, "units": units}
    orbit = Dataset("orbit", with_targets(frames), location, settings)
    check_within_cutoff({"orbit": orbit}, cutoff)
    return orbit


def _frame_name(dataset: Dataset, index: int) -> str:
    """``"val set FILE, frame 7"`` (its number in the file) or ``"orbit set, frame 7"``."""
    if dataset.path is None:
        return f"{dataset.name} set, frame {index}"
    number = dataset.frames[index].info.get("source_frame", index)
    return f"{dataset.name} set {dataset.path}, frame {number}"


def check_within_cutoff(data: Mapping[str, Dataset], cutoff: float | None) -> None:
    """Refuse data sets with a neighbour at or beyond the fingerprint's ``cutoff`` (Å).

    The fingerprint does not see such a neighbour, so a network trained or scored on
    those frames would learn E4 from truncated environments (``predict`` refuses them).
    Raises :class:`DegeneracyError` naming the first such data set, its first frame and
    atom outside, and how many of its frames have a neighbour outside; ``None``: no check.
    """
    if cutoff is None:
        return
    for dataset in data.values():
        if not dataset.frames:
            continue
        found = first_neighbour_beyond(dataset.frames, cutoff)
        if found is not None:
            index, atom, radius, count = found
            raise DegeneracyError(
                f"{_frame_name(dataset, index)}, atom {atom}: {radius:.4g} Å "
                f"from the centre, at or beyond the fingerprint's cutoff {cutoff} Å, which "
                f"cannot see it ({count} of {len(dataset)} frames have such a "
                "neighbour): use a larger cutoff"
            )


def first_neighbour_beyond(
    frames: Sequence[ase.Atoms], cutoff: float
) -> tuple[int, int, float, int] | None:
    """``(frame, atom, its distance, frames with one)`` of the first neighbour at or beyond
    ``cutoff`` (Å) from its centre, atoms numbered from 1 (the centre is 0); None if none."""
    radii = vector_lengths(neighbor_positions(frames))
    beyond = radii >= cutoff
    frames_beyond = np.flatnonzero(beyond.any(axis=1))
    if not frames_beyond.size:
        return None
    index = int(frames_beyond[0])
    atom = int(np.argmax(beyond[index])) + 1
    return index, atom, float(radii[index, atom - 1]), int(frames_beyond.size)


def warn_about_frames(
    frames_by_source: Mapping[str, Sequence[ase.Atoms]], featurizer: Featurizer
) -> None:
    """Warn, naming the source (``"train set"``, a file), what the featurizer's
    ``diagnose(frames)`` finds (e.g. :meth:`~.multicentre.MultiCentreSoap.diagnose`);
    nothing for featurizers without one."""
    diagnose = getattr(featurizer, "diagnose", None)
    if diagnose is None:
        return
    for source, frames in frames_by_source.items():
        for note in diagnose(frames) if len(frames) else []:
            warnings.warn(DegeneracyWarning(f"{source}: {note}"), stacklevel=3)


# --- saved models -----------------------------------------------------------------------


def save_model(
    folder: str | os.PathLike,
    model: AtomicSumModel,
    featurizer: Featurizer,
    metadata: dict[str, Any] | None = None,
    domain: ApplicabilityDomain | None = None,
) -> Path:
    """Write ``model.pt`` (+ the radial basis) so :func:`load_model` can rebuild everything,
    and :func:`load_domain` the model's applicability domain when ``domain`` is given."""
    folder = Path(folder)
    featurizer.save(folder)
    payload = {
        "format": _MODEL_FORMAT,
        "featurizer": featurizer.spec(),
        "model": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": metadata or {},
        "versions": library_versions(),
    }
    probe = probe_features(featurizer)  # checked against a recomputation when loaded
    if probe is not None:
        payload["probe"] = probe
    if domain is not None:
        payload["domain"] = domain.payload()
    path = folder / "model.pt"
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def library_versions() -> dict[str, str]:
    """Versions of the libraries that compute a saved model's features and weights."""
    return {"featomic": str(featomic.__version__), "torch": str(torch.__version__)}


def load_model(folder: str | os.PathLike) -> tuple[AtomicSumModel, Any, dict[str, Any]]:
    """``(model, featurizer, metadata)`` from a folder written by :func:`save_model`.

    Parameters
    ----------
    folder : path-like
        A run's folder (holding ``model.pt`` and its basis files), or its ``model.pt``.

    Returns
    -------
    model : AtomicSumModel
        The network with its saved weights, on the CPU, in evaluation mode.
    featurizer : CentreFeaturizer or MultiCentreSoap
        The featurizer it was trained with, its optimal bases loaded from the folder.
    metadata : dict
        What :func:`save_model` was given (``protocol``, ``val_rmse``, ``seed`` for a
        :func:`run_protocol` run).

    Raises
    ------
    DegeneracyError
        When ``folder`` is not a file name or does not exist, holds no ``model.pt`` (or
        several runs' models instead), or the file is not a readable degeneracy model, or
        a damaged one (an entry missing, weights that do not fit its layer sizes, NaN or
        infinite weights, a feature scale that is not positive, fingerprint settings out
        of range, or settings that give other features than it was saved with: a probe
        frame's features are recomputed, :func:`~.probe.check_probe`); each names the file.

    Warns
    -----
    DegeneracyWarning
        When the model was saved with another featomic version and the probe's features
        moved (or, for a model saved without a probe, on the version alone).
    """
    path, payload = _read_model_file(folder)
    model, featurizer = _saved_model(path, payload)
    return model, featurizer, payload["metadata"]


def load_model_and_domain(
    folder: str | os.PathLike,
) -> tuple[AtomicSumModel, Any, dict[str, Any], ApplicabilityDomain | None]:
    """``(model, featurizer, metadata, domain)`` from one read of ``model.pt``: what
    :func:`load_model` and :func:`load_domain` (for the model's feature counts) give, with
    their errors and warnings in that order, without reading the file twice (``predict``:
    which read and unpickled it with ``torch.load`` once for each)."""
    path, payload = _read_model_file(folder)
    model, featurizer = _saved_model(path, payload)
    domain = _saved_domain(path, payload, model.config["n_features"])
    return model, featurizer, payload["metadata"], domain


def _saved_model(path: Path, payload: dict[str, Any]) -> tuple[AtomicSumModel, Any]:
    """The network and featurizer of the model file ``path`` from its ``payload``
    (:func:`_read_model_file`), the featurizer's features checked against the saved probe
    (:func:`~.probe.check_probe`)."""
    model = _saved_network(path, payload["model"], payload["state_dict"])
    featurizer = _saved_featurizer(path, payload["featurizer"])
    check_probe(
        path,
        featurizer,
        payload.get("probe"),
        payload.get("versions"),
        n_features=model.config["n_features"],
    )
    return model, featurizer


def _saved_network(path: Path, config: Any, weights: Any) -> AtomicSumModel:
    """The network of the model file ``path`` from its layer sizes ``config`` and its
    ``weights``, in evaluation mode; refused, naming the file, unless the weights fit the
    layers and are finite (with positive feature scales)."""
    try:
        model = AtomicSumModel.from_config(config)
    except DegeneracyError as error:  # e.g. "width must be at least 1 ...": of the file
        raise DegeneracyError(f"{path}: damaged model: {error}") from error
    except (KeyError, TypeError, AttributeError) as error:
        raise DegeneracyError(
            f"{path}: damaged model: its layer sizes ('model') are unreadable ({error!r})"
        ) from error
    _check_weight_shapes(path, model, weights)
    model.load_state_dict(weights)
    _check_weight_values(path, model)
    return model.eval()


def _check_weight_shapes(path: Path, model: AtomicSumModel, weights: Any) -> None:
    """Refuse saved ``weights`` that are not a tensor of the right shape for every layer
    of ``model`` (torch's own error is a traceback of every mismatch)."""
    if not isinstance(weights, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise DegeneracyError(f"{path}: damaged model: its weights ('state_dict') are unreadable")
    expected = model.state_dict()
    for name in [*expected, *(n for n in weights if n not in expected)]:
        if name not in weights:
            problem = f"no {name}"
        elif name not in expected:
            problem = f"{name} belongs to no layer"
        elif weights[name].shape != expected[name].shape:
            problem = f"{name} is {list(weights[name].shape)}, not {list(expected[name].shape)}"
        else:
            continue
        config = model.config
        raise DegeneracyError(
            f"{path}: its weights do not fit its layer sizes (features {config['n_features']}, "
            f"width {config['width']}, depth {config['depth']}): {problem}"
        )


def _check_weight_values(path: Path, model: AtomicSumModel) -> None:
    """Refuse NaN or infinite weights and feature scales that are not positive: every
    prediction of such a model would be NaN."""
    for name, tensor in model.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise DegeneracyError(f"{path}: damaged model: {name} holds NaN or infinite values")
    for species in model.species:
        scale = float(getattr(model, f"scale_{species}"))
        if not scale > 0:
            raise DegeneracyError(
                f"{path}: damaged model: its feature scale scale_{species} is {scale:g}, "
                "not positive"
            )


def _saved_featurizer(path: Path, spec: Any):
    """The featurizer of the model file ``path`` from its settings ``spec``; errors in
    those settings name the file."""
    try:
        return featurizer_from_spec(spec, path.parent, source=path)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise DegeneracyError(
            f"{path}: damaged model: its fingerprint settings ('featurizer') are unreadable "
            f"({error!r})"
        ) from error


def _read_model_file(folder: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """``(path of model.pt, its payload)`` for :func:`load_model` and :func:`load_domain`."""
    folder = path_value("model folder", folder)
    if not folder.exists():
        raise DegeneracyError(
            f"{folder}: no such model file or folder (train one with `degeneracy learn`)"
        )
    path = folder / "model.pt" if folder.is_dir() else folder
    if not path.exists():
        check_one_run(path.parent)
        raise DegeneracyError(f"{path}: no such model file (train one with `degeneracy learn`)")
    check_not_a_stream(path, "a model")  # torch.load would wait on a pipe
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file
        raise DegeneracyError(
            f"{path}: not a degeneracy model ({_unreadable_reason(path, error)})"
        ) from error
    if isinstance(payload, dict) and "run_key" in payload and "optimiser" in payload:
        raise DegeneracyError(
            f"{path}: a training checkpoint (for resuming `degeneracy learn`), not a model: "
            f"give the run's folder or its model.pt"
        )
    if not isinstance(payload, dict) or payload.get("format") != _MODEL_FORMAT:
        raise DegeneracyError(
            f"{path}: not a model saved by `degeneracy learn` ({_payload_kind(payload)})"
        )
    missing = [key for key in _MODEL_KEYS if key not in payload]
    if missing:
        raise DegeneracyError(f"{path}: damaged model: missing {', '.join(map(repr, missing))}")
    for key in _OPTIONAL_DICT_KEYS:  # optional, but dictionaries where present
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            found = type(payload[key]).__name__
            raise DegeneracyError(f"{path}: damaged model: its {key!r} is a {found}, not a dict")
    return path, payload


def _unreadable_reason(path: Path, error: Exception) -> str:
    """Why torch.load could not read ``path``, in words: its internals' messages
    (``[enforce fail at inline_container.cc:180]``, "Weights only load failed") say
    nothing to a user who gave the wrong file."""
    if path.stat().st_size == 0:
        return "an empty file"
    with path.open("rb") as handle:
        start = handle.read(4)
    # torch writes a zip archive holding a data.pkl (before torch 1.6, a bare pickle)
    if start.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if not any(name.endswith("data.pkl") for name in names):
            return "a zip archive not written by torch.save (a numpy .npz is one)"
    elif not start.startswith(b"\x80"):
        return "not a file written by torch.save"
    reason = str(error).split(". ")[0]  # torch's advice on weights_only does not apply
    if not any(c.isalpha() for c in reason) or "Weights only load failed" in reason:
        reason = f"torch.load cannot read it: {type(error).__name__}"
    return reason


def _payload_kind(payload: Any) -> str:
    """What a torch file that is no degeneracy model holds, against what a model is."""
    if not isinstance(payload, dict):
        return f"a torch file holding a {type(payload).__name__}, where a model is a dictionary"
    if "format" not in payload:
        return "a torch file holding a dictionary without the 'format' entry every model has"
    found = payload["format"]
    return f"model format {found!r}; this version of degeneracy reads format {_MODEL_FORMAT}"


def load_domain(
    folder: str | os.PathLike, n_features: Mapping[str, int] | None = None
) -> ApplicabilityDomain | None:
    """The applicability domain stored with a model (:mod:`.domain`), ``None`` for a
    model saved before degeneracy stored one.

    ``folder`` is as for :func:`load_model`, which raises the same errors; with
    ``n_features`` (the model's ``config["n_features"]``) the stored references must be
    of those widths and centre species.
    """
    path, payload = _read_model_file(folder)
    return _saved_domain(path, payload, n_features)


def _saved_domain(
    path: Path, payload: dict[str, Any], n_features: Mapping[str, int] | None
) -> ApplicabilityDomain | None:
    """The applicability domain of the model file ``path`` from its ``payload``, checked
    as :func:`load_domain` says; None when it stores none."""
    stored = payload.get("domain")
    if stored is None:
        return None
    try:
        domain = ApplicabilityDomain.from_payload(stored)
        if n_features is not None:
            domain.check_fits(n_features)
    except (KeyError, TypeError, AttributeError, ValueError, DegeneracyError) as error:
        reason = f"missing {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
        raise DegeneracyError(f"{path}: its applicability domain is damaged ({reason})") from error
    return domain


def check_one_run(folder: Path) -> None:
    """Refuse a folder of several runs (``learn --protocol all`` or ``--repeats``), naming one.

    ``folder`` holds no ``model.pt`` itself; its runs are its sub-folders that do
    (``<protocol>/``, ``seed-<k>/`` or ``seed-<k>/<protocol>/``).
    """
    runs = sorted(str(m.parent) for m in folder.glob("*/model.pt"))
    runs += sorted(str(m.parent) for m in folder.glob("seed-*/*/model.pt"))
    if len(runs) == 1:
        raise DegeneracyError(f"{folder} is not a model folder, but holds one: give {runs[0]}")
    if runs:
        raise DegeneracyError(
            f"{folder} holds {len(runs)} trained models, not one: give one of them, e.g. {runs[0]}"
        )


def predict_frames(
    model: AtomicSumModel,
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    inputs: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Predicted target for every frame; ``inputs`` are their features (computed when not given).

    ``frames`` are CH4 environments (C first, then 4 H: the target, E4, is of CH4);
    ``inputs`` maps the model's centre species to arrays (frames, centres, features) of
    ``len(frames)`` rows and the network's feature counts, as
    :meth:`~.datasets.Featurizer.inputs` gives them (else :class:`DegeneracyError`).
    Predicted on the CPU; a model on another device is moved back there afterwards.
    """
    from .multicentre import checked_methane_frames

    # a CH3 or CH5 got a number (the network sums whatever centres it is given)
    frames = checked_methane_frames(frames, name="predict_frames")
    _check_within_cutoff(frames, featurizer_cutoff(featurizer))
    if inputs is None:
        inputs = featurizer.inputs(frames)
    elif not isinstance(inputs, Mapping):
        raise DegeneracyError(
            f"inputs must map centre species to feature arrays, got {type(inputs).__name__}"
        )
    takes = dict(model.config["n_features"])
    if set(inputs) != set(takes):  # was a KeyError (missing) or ignored (extra)
        raise DegeneracyError(
            f"inputs are for centre species {sorted(inputs)}, the model takes {sorted(takes)}"
        )
    tensors = {}
    for species, values in inputs.items():
        array = np.ascontiguousarray(values, dtype=np.float32)
        if array.ndim == 0 or len(array) != len(frames):
            rows = "no rows" if array.ndim == 0 else f"{len(array)} rows"
            raise DegeneracyError(
                f"inputs of the {species} centres have {rows} but there are {len(frames)} "
                "frames: give the features of these frames (or none, to compute them)"
            )
        if array.ndim != 3 or array.shape[-1] != takes[species]:  # torch's GroupNorm error
            raise DegeneracyError(
                f"inputs of the {species} centres have shape {array.shape}, not (frames, "
                f"centres, {takes[species]}) as the model takes"
            )
        tensors[species] = torch.from_numpy(array)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        return predict(model.cpu(), tensors)
    finally:
        if device.type != "cpu":
            model.to(device)


def _check_within_cutoff(frames: Sequence[ase.Atoms], cutoff: float | None) -> None:
    """Refuse a neighbour at or beyond ``cutoff`` (Å) of its centre: the fingerprint does
    not see it, and a CH4 with an H 3.5 Å away was predicted as the CH3 left."""
    found = None if cutoff is None else first_neighbour_beyond(frames, cutoff)
    if found is not None:
        frame, atom, radius, _ = found
        raise DegeneracyError(
            f"predict_frames: frame {frame}, atom {atom} is {radius:.4g} Å "
            f"from the centre, not inside the cutoff {cutoff:g} Å: the model would not see it"
        )


# --- one protocol --------------------------------------------------------------------------


def _concat(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {s: np.concatenate([p[s] for p in parts]) for s in parts[0]}


def _take(inputs: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {s: v[index] for s, v in inputs.items()}


def feature_scales(inputs: dict[str, np.ndarray]) -> dict[str, float]:
    r"""Root-mean-squared feature norm per centre species, :math:`\sqrt{\langle|x|^2\rangle}`."""
    scales = {}
    for species, values in inputs.items():
        flat = values.reshape(-1, values.shape[-1]).astype(np.float64)
        scale = float(np.sqrt(np.mean(np.sum(flat**2, axis=1))))
        if not math.isfinite(scale) or scale <= 0:
            raise DegeneracyError(f"features of the {species} centres are all zero")
        scales[species] = scale
    return scales


def _errors(name: str, prediction: np.ndarray, target: np.ndarray) -> dict[str, float | None]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    return {
        f"{name}_rmse": clean(rmse(prediction, target)),
        f"{name}_mae": clean(mae(prediction, target)),
    }


#: Upper edges (quantiles of the target) of the bins of :func:`errors_by_target_quantile`.
TARGET_QUANTILES = (0.5, 0.8, 0.95, 1.0)


def errors_by_target_quantile(
    prediction: np.ndarray, target: np.ndarray, quantiles: Sequence[float] = TARGET_QUANTILES
) -> list[dict[str, float | int]]:
    r"""Where the error lives: RMSE, bias and share of the squared error per target bin.

    The frames are binned by their target's quantile, :math:`q_{k-1} < F(y) \le q_k` with
    :math:`q_0 = 0`; per bin: its quantile edges ``quantile_min`` (:math:`q_{k-1}`) and
    ``quantile`` (:math:`q_k`), its target range, the number of frames, the RMSE, the bias
    :math:`\langle \hat y - y\rangle` and the bin's share of :math:`\sum (\hat y - y)^2`.
    For E4 over thermal CH4 (most frames near the tetrahedron, a tail of distorted ones) a
    validation RMSE dominated by the top bins, with a negative bias there, means the
    network misses the distorted tail rather than the common structures.
    """
    prediction, target = _prediction_and_target(prediction, target)
    quantiles = _quantile_edges(quantiles)
    if len(target) == 0:
        return []
    rank = np.argsort(np.argsort(target, kind="stable"), kind="stable")
    level = (rank + 1) / len(target)
    squared = (prediction - target) ** 2
    total = float(squared.sum()) or 1.0
    bins, lower = [], 0.0
    for upper in quantiles:
        inside = (level > lower) & (level <= upper)
        edge, lower = lower, upper
        if not inside.any():
            continue
        bins.append(
            {
                "quantile_min": float(edge),
                "quantile": float(upper),
                "target_min": float(target[inside].min()),
                "target_max": float(target[inside].max()),
                "n": int(inside.sum()),
                "rmse": float(np.sqrt(squared[inside].mean())),
                "bias": float(np.mean(prediction[inside] - target[inside])),
                "share": float(squared[inside].sum() / total),
            }
        )
    return bins


def _prediction_and_target(prediction: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite 1-D float arrays of equal length; else :class:`DegeneracyError` naming them."""
    arrays = []
    for name, values in (("prediction", prediction), ("target", target)):
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as error:
            raise DegeneracyError(f"{name} must be an array of numbers ({error})") from error
        if array.ndim != 1:
            raise DegeneracyError(f"{name} must be one value per frame, got shape {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise DegeneracyError(
                f"{name} of frame {bad[0]} is not finite ({array[bad[0]]}; "
                f"{bad.size} of {array.size} frames)"
            )
        arrays.append(array)
    if len(arrays[0]) != len(arrays[1]):
        raise DegeneracyError(
            f"{len(arrays[0])} predictions for {len(arrays[1])} targets: give one per frame"
        )
    return arrays[0], arrays[1]


def _quantile_edges(quantiles: Any) -> list[float]:
    """``quantiles`` as increasing numbers in (0, 1]; else :class:`DegeneracyError`."""
    try:
        edges = [float(q) for q in quantiles]
    except (TypeError, ValueError) as error:
        raise DegeneracyError(
            f"quantiles must be a sequence of numbers, got {quantiles!r}"
        ) from error
    if not edges or any(not 0 < q <= 1 for q in edges) or bool(np.any(np.diff(edges) <= 0)):
        raise DegeneracyError(
            f"quantiles must be increasing numbers in (0, 1], e.g. {TARGET_QUANTILES}, "
            f"got {quantiles!r}"
        )
    return edges


def _tracking(name: str, prediction: np.ndarray, target: np.ndarray) -> dict[str, float | None]:
    """Does the model follow the target along the orbit? Bias, spread and correlation.

    A fingerprint that cannot tell the orbit's frames apart gives a constant prediction
    (spread 0, correlation undefined); one that can gives a correlation near 1 even when
    an offset (extrapolation) makes the RMSE large.
    """
    if len(target) < 2:
        return {f"{name}_bias": None, f"{name}_prediction_std": None, f"{name}_corr": None}
    spread = float(np.std(prediction))
    correlated = spread > 1e-12 * max(1.0, float(np.abs(prediction).max()))
    corr = float(np.corrcoef(prediction, target)[0, 1]) if correlated else None
    return {
        f"{name}_bias": float(np.mean(prediction - target)),
        f"{name}_prediction_std": spread,
        f"{name}_corr": corr,
    }


#: Largest ratio of the longest step between consecutive orbit frames to the median step
#: for which :func:`orbit_slopes` treats the frames as samples of one path (shorter steps
#: are fine: the published orbits start with a 1e-4 Å step, then 0.01 Å).
MAX_STEP_OVER_MEDIAN = 4.0

#: Smallest ratio of the median distance between frames two apart to the median step
#: between consecutive frames for which :func:`orbit_slopes` treats the frames as samples
#: of one path. Along a path the distance over k steps grows with k: the ratio is 2 when
#: the path is sampled finely enough for central differences (on a curve turning by an
#: angle t per step, 2 cos(t/2): 1.5 is a turn of 83° per step); between unrelated or
#: shuffled frames every distance is alike and the ratio is about 1. Measured
#: (2026-12-04, distances after superposition as in :func:`aligned_steps`): the 16
#: published orbits 1.959-2.000 (the c = 0.1 orbits, which turn back, lowest), their
#: first 11 frames 1.67-2.00, comment_orbit(0.3, 1, "optimal", quick=True) 1.999, P&G's
#: manifold 2.000, a TrajectoryMethaneSampler run 1.995; random frames of
#: ThermalMethaneSampler, over 200 seeds: median 1.0, largest 1.08 (201 frames), 1.33
#: (20), 1.53 (10; 0.5 % of seeds at 1.5 or more), 1.70 (5; 2 %) and 1.83 (3 frames, one
#: ratio; 9.5 %); tilted 1.01 and uniform 1.03 (201 frames); the 16 published orbits
#: shuffled 0.91-1.10, and kept every 10th frame (0.1 Å steps, no longer following the
#: c = 0.1 orbits' turns) 0.46-0.65 for c = 0.1, which is refused too.
MIN_TWO_STEPS_OVER_STEP = 1.5


#: What a finished run leaves besides its checkpoint and history (written at its end).
RESULT_FILES = (
    "metrics.json",
    "model.pt",
    *CENTRE_BASIS_FILES.values(),
    "predictions.npz",
    "orbit_predictions.csv",
)


def _remove_results(output: Path, *, checkpoint: bool = False) -> None:
    """Remove a previous run's results before training, so that a run stopped before its
    end (Ctrl-C, an error) leaves its checkpoint and no results of another run (e.g. the
    model that ``--restart`` replaces) for ``predict`` to use, nor its history (a
    ``--restart`` interrupted left the old run's ``history.csv`` beside the new
    checkpoint; the run's own history is in its checkpoint); with ``checkpoint`` (a
    restart), the old run's checkpoint too."""
    names = (*RESULT_FILES, "history.csv", *(["checkpoint.pt"] if checkpoint else []))
    for name in names:
        (output / name).unlink(missing_ok=True)


def path_arc_length(frames: Sequence[ase.Atoms]) -> tuple[np.ndarray | None, str | None]:
    """Arc length (Å) at each frame of a path of frames, or ``None`` and why not a path.

    Distances between consecutive frames' neighbour positions (centre fixed), each after
    superposing the frame on the one before (:func:`aligned_steps`), summed. Not
    a path: fewer than 3 frames, a repeated frame, a step more than
    :data:`MAX_STEP_OVER_MEDIAN` times the median step; when every frame records its
    ``arc_length`` (as orbit files do), arc lengths that neither all increase nor all
    decrease (a file in reverse order is a path, its arc measured from its first frame),
    or a step that does not fit the arc between its frames (longer than it, or shorter
    than a :data:`MAX_STEP_OVER_MEDIAN`-th of it); and frames two apart a median distance
    less than :data:`MIN_TWO_STEPS_OVER_STEP` times the median step (along a path the
    distance over k steps grows with k; between unrelated or shuffled frames every
    distance is alike). The last two catch unrelated or unordered frames, whose steps
    are all alike; the nearest frames need not be neighbours on a path (the Comment's
    c = 0.1 orbits turn back close to themselves).
    """
    if len(frames) < 3:
        return None, f"{len(frames)} frames"
    steps = aligned_steps(frames)
    if steps.min() <= 1e-9 or steps.max() > MAX_STEP_OVER_MEDIAN * np.median(steps):
        return None, (
            f"the frames do not sample a path (steps {steps.min():.3g}-{steps.max():.3g} Å, "
            f"median {np.median(steps):.3g} Å, between consecutive frames)"
        )
    recorded = recorded_arc_lengths(frames)
    if recorded is not None:
        arcs = np.diff(recorded)
        if (arcs < 0).all():  # a file written from the end (a reversed orbit) is a path too
            arcs = -arcs
        misfit = (arcs <= 0) | (steps > arcs * (1 + 1e-3) + 1e-6)  # files keep 8 decimals
        misfit |= steps * MAX_STEP_OVER_MEDIAN < arcs
        if misfit.any():
            k = int(np.argmax(misfit))
            return None, (
                f"the frames are not in path order (frames {k} and {k + 1}: arc_length "
                f"{recorded[k]:.4g} and {recorded[k + 1]:.4g} Å, {steps[k]:.3g} Å apart)"
            )
    reach = np.median(aligned_steps(frames, lag=2)) / np.median(steps)
    if reach < MIN_TWO_STEPS_OVER_STEP:
        return None, (
            "the frames do not sample a path (frames two apart are a median "
            f"{reach:.2f} steps apart, along a path {MIN_TWO_STEPS_OVER_STEP:g} to 2: "
            "unrelated or shuffled frames, or too few to follow the curve)"
        )
    return np.concatenate([[0.0], np.cumsum(steps)]), None


def _arc_length_value(
    arc_length: Any, frames: Sequence[ase.Atoms]
) -> tuple[np.ndarray | None, str | None]:
    """``arc_length``, the ``(arc, note)`` of :func:`path_arc_length` for ``frames`` given
    by a caller that computed it once for several runs, checked; computed when None."""
    if arc_length is None:
        return path_arc_length(frames)
    arc, note = arc_length if isinstance(arc_length, tuple) and len(arc_length) == 2 else (0, 0)
    path = isinstance(arc, np.ndarray) and arc.shape == (len(frames),) and note is None
    if not (path or (arc is None and isinstance(note, str))):
        raise DegeneracyError(
            "orbit arc length must be path_arc_length(frames) of the orbit's "
            f"{len(frames)} frames: (arc, None) or (None, note), got {arc_length!r}"
        )
    return arc, note


def aligned_steps(frames: Sequence[ase.Atoms], *, lag: int = 1) -> np.ndarray:
    """Distance (Å, over all neighbour coordinates) from each frame to the ``lag``-th next
    after the best superposition (:func:`~degeneracy.pairs.best_alignment`: rotation and
    reflection, permutation of equal neighbours), shape (n_frames - lag,).

    Every fingerprint and E4 are invariant under these, so an orbit file whose frames were
    each rotated, or had their H atoms relabelled, is the same path (raw Cartesian steps
    called it "not in path order"). For frames already aligned, as traced, the steps
    equal the raw ones to second order in the step (an orbit moves orthogonally to
    rotations).
    """
    path = neighbor_positions(list(frames))
    species = frames[0].numbers[1:]
    scale = math.sqrt(path.shape[1])  # best_alignment's residual is an RMS per neighbour
    return np.array(
        [
            best_alignment(a, b, species).residual * scale
            for a, b in zip(path[:-lag], path[lag:], strict=True)
        ]
    )


def orbit_slopes(
    frames: Sequence[ase.Atoms],
    prediction: np.ndarray,
    target: np.ndarray,
    *,
    arc_length: tuple[np.ndarray | None, str | None] | None = None,
) -> dict[str, Any]:
    r"""Does the model change along the orbit as the target does? Slopes in arc length.

    The frames are taken in order as samples of a path :math:`r(s)` in the space of the
    neighbour positions relative to the centre (centre fixed), with arc length
    :math:`s_i = \sum_{j<i} \min_{R, \pi} \lVert R\,r_{j+1}^{\pi} - r_j \rVert` (Å; rotations
    and reflections R, permutations π of equal neighbours: :func:`aligned_steps`); the slopes
    :math:`\mathrm d\hat E/\mathrm ds` and :math:`\mathrm dE/\mathrm ds` are central
    differences on that grid (:func:`numpy.gradient`, second order, uneven steps
    allowed). A model whose fingerprint is blind along the orbit (Pozdnyakov et al.,
    2022) has slope ≈ 0 however well it fits the orbit's mean level, and one that
    memorised the orbit's values through a nearly blind fingerprint has wrong slopes
    however small its RMSE; the RMSE, bias and correlation of :func:`_tracking` do not
    separate these. For the Comment's orbit (201 frames 0.01 Å apart) the differences
    agree with the analytic :math:`\nabla E_4 \cdot \hat t` to 0.02 Å⁻¹ (slope RMS 0.94).

    Returns ``orbit_length`` (Å), ``orbit_slope_rms`` (target), ``orbit_slope_prediction_rms``,
    ``orbit_slope_rmse`` and ``orbit_slope_corr``; all ``None`` (with ``orbit_slope_note``)
    when the frames do not sample a path (:func:`path_arc_length`). ``arc_length`` is
    ``path_arc_length(frames)`` when computed already (half a second for 201 frames).
    """
    keys = ("orbit_length", "orbit_slope_rms", "orbit_slope_prediction_rms")
    keys += ("orbit_slope_rmse", "orbit_slope_corr")
    arc, problem = _arc_length_value(arc_length, frames)
    if arc is None:
        return {**dict.fromkeys(keys), "orbit_slope_note": f"{problem}: no slope"}
    true_slope = np.gradient(np.asarray(target, dtype=float), arc)
    slope = np.gradient(np.asarray(prediction, dtype=float), arc)
    moving = np.std(slope) > 1e-12 and np.std(true_slope) > 1e-12
    return {
        "orbit_length": float(arc[-1]),
        "orbit_slope_rms": float(np.sqrt(np.mean(true_slope**2))),
        "orbit_slope_prediction_rms": float(np.sqrt(np.mean(slope**2))),
        "orbit_slope_rmse": rmse(slope, true_slope),
        "orbit_slope_corr": float(np.corrcoef(slope, true_slope)[0, 1]) if moving else None,
    }


def protocol_value(protocol: Any) -> Protocol:
    """``protocol`` as a :class:`~.specs.Protocol`: one, or its name in :data:`PROTOCOLS`."""
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str):
        return get_protocol(protocol)
    raise DegeneracyError(
        f"protocol must be one of {list(PROTOCOLS)} or a Protocol, got {protocol!r}"
    )


def _check_data(data: Any) -> None:
    """Refuse ``data`` of :func:`run_protocol` unless a dict of Dataset with the sets it needs."""
    if not isinstance(data, Mapping):
        raise DegeneracyError(f"data must be a dict of Dataset by name, got {type(data).__name__}")
    for name in ("train", "val", "orbit"):
        if name not in data:
            raise DegeneracyError(f"run_protocol needs a {name!r} data set")
    for name, dataset in data.items():
        if not isinstance(dataset, Dataset):
            raise DegeneracyError(f"data[{name!r}] must be a Dataset, got {type(dataset).__name__}")


@dataclass
class ProtocolResult:
    """Metrics and predictions of one protocol run."""

    metrics: dict[str, Any]
    predictions: dict[str, np.ndarray]
    output: Path


def run_protocol(
    protocol: str | Protocol,
    featurizer: Featurizer,
    data: dict[str, Dataset],
    *,
    output: str | os.PathLike,
    settings: TrainSettings | None = None,
    width: int = 80,
    depth: int = 2,
    seed: int = 0,
    restart: bool = False,
    cache: bool = True,
    progress: bool = False,
    baselines: bool = True,
    gradient_errors: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    device: torch.device | None = None,
    orbit_arc_length: tuple[np.ndarray | None, str | None] | None = None,
) -> ProtocolResult:
    """Train on ``data["train"]`` (+ orbit frames per ``protocol``) and evaluate everything.

    Parameters
    ----------
    protocol : {"none", "subset", "full"} or Protocol
    featurizer : Featurizer
        E.g. ``CentreFeaturizer(SoapPowerSpectrum(sigma=0.3, basis="optimal"))``.
    data : dict of Dataset
        ``"train"``, ``"val"``, ``"orbit"`` and optionally ``"test"`` (an independent set).
    output : path
        Folder for the results (created); a ``checkpoint.pt`` there is resumed unless
        ``restart``.
    settings : TrainSettings
        Optimiser and stopping settings; its seed is replaced by ``seed``.
    width, depth : int
        Hidden layer size and count of the network(s).
    seed : int
        Chooses the orbit frames, the initial weights and the shuffling.
    restart : bool
        Delete a ``checkpoint.pt`` in ``output`` and train from scratch.
    cache : bool
        Reuse (and store) the data sets' features in the cache folder.
    progress : bool
        Show progress bars.
    baselines : bool
        Also fit ridge and nearest-neighbour regressors on the same features and training
        frames (:mod:`degeneracy.learning.baselines`; a few seconds) into
        ``metrics["baselines"]``.
    gradient_errors : bool
        Also record the error of the predicted E4 gradient on the validation, test and
        orbit frames (``*_gradient_*``; their Jacobians in batches: ~15 s for 9000 frames
        with the C-centred SOAP, ~75 s with the multi-centre SOAP at n = l = 8); the
        training frames' too under gradient training.
    callback : callable, optional
        Called as ``callback(epoch, metrics)`` after every epoch (:meth:`Trainer.fit`).
    device : torch.device, optional
        Where to train, ``settings.device`` resolved already
        (:func:`~.trainer.training_device`; ``learn`` resolves it once for all its runs);
        default: resolved here.
    orbit_arc_length : tuple, optional
        :func:`path_arc_length` of ``data["orbit"].frames``, ``(arc, None)`` or ``(None,
        note)``, when computed already (``learn`` computes it once for all its runs on the
        same orbit: half a second for 201 frames); default: computed here.

    Returns
    -------
    ProtocolResult
        ``metrics`` (also written to ``metrics.json``), ``predictions`` (the arrays of
        ``predictions.npz``: ``<set>_prediction`` and ``<set>_target`` per data set,
        ``orbit_in_training`` and, for orbit frames that sample a path,
        ``orbit_arc_length``) and the ``output`` folder.

    Raises
    ------
    DegeneracyError
        For an unknown protocol, a featurizer that is not one
        (:func:`~.datasets.check_featurizer`), a missing ``"train"``, ``"val"`` or
        ``"orbit"`` data set, ``settings`` that are not :class:`TrainSettings`, a ``width``
        or ``depth`` out of range (:func:`~.model.network_shape`), a ``seed`` that is not
        an integer from 0 to 2**64 − 1, an unavailable device or a ``device`` that is not
        a :class:`torch.device`, data with a neighbour at or beyond the featurizer's
        cutoff, a checkpoint that cannot be resumed (see Notes), or a training that
        diverges (a NaN or infinite loss, :meth:`~.trainer.Trainer.fit`): then nothing of
        the run is left in ``output``, neither results nor checkpoint.

    Notes
    -----
    Refused before any work: data with a neighbour at or beyond the featurizer's cutoff
    (:func:`check_within_cutoff`) and an unavailable device. The results of a previous
    run in ``output`` are removed only once :meth:`Trainer.fit` has accepted the
    checkpoint (its ``before_training``; the checkpoint is read once), so a rerun it
    refuses leaves them in place.

    Features are divided by the RMS feature norm of the training set (orbit repeats
    included, as in the Comment's code) and the target is centred on the mean of the
    random training structures (both stored in the model).
    """
    restart = true_or_false("restart", restart)
    cache = true_or_false("cache", cache)
    progress = true_or_false("progress", progress)
    baselines = true_or_false("baselines", baselines)
    gradient_errors = true_or_false("gradient_errors", gradient_errors)
    start = time.monotonic()
    protocol = protocol_value(protocol)
    featurizer = check_featurizer(featurizer)
    _check_data(data)
    settings = TrainSettings(**{**asdict(train_settings(settings)), "seed": seed})
    seed = settings.seed
    width, depth = network_shape(width, depth)
    output = path_value("output", output)
    device = training_device(settings, device)  # before the folder is touched
    if orbit_arc_length is not None:  # checked before any work
        orbit_arc_length = _arc_length_value(orbit_arc_length, data["orbit"].frames)
    check_within_cutoff(data, featurizer_cutoff(featurizer))
    warn_about_frames({f"{name} set": ds.frames for name, ds in data.items()}, featurizer)
    output.mkdir(parents=True, exist_ok=True)
    with exclusive_output(output, "learn run"):  # another run's results would interleave
        checkpoint = output / "checkpoint.pt"

        orbit = data["orbit"]
        orbit_train, orbit_heldout = orbit_split(len(orbit), protocol, seed=seed)
        repeated = np.tile(orbit_train, protocol.repeats)
        inputs = {
            name: cached_inputs(featurizer, ds.frames, cache=cache, progress=progress, desc=name)
            for name, ds in data.items()
        }
        targets = {name: ds.targets for name, ds in data.items()}
        train_inputs = _concat([inputs["train"], _take(inputs["orbit"], repeated)])
        train_targets = np.concatenate([targets["train"], targets["orbit"][repeated]])

        gradients = {}
        if settings.gradient_weight:
            gradients = _gradient_training_set(featurizer, data, repeated, progress=progress)

        torch.manual_seed(seed)
        n_features = {s: v.shape[-1] for s, v in train_inputs.items()}
        model = AtomicSumModel(n_features, width=width, depth=depth)
        scales = feature_scales(train_inputs)
        model.set_normalisation(scales, float(np.mean(targets["train"])))
        train_set = TensorSet.from_numpy(train_inputs, train_targets, **gradients)
        val_set = TensorSet.from_numpy(inputs["val"], targets["val"])
        # a rerun the checkpoint refuses (another run, past max_epochs) keeps the old results:
        # they are removed once fit has read and accepted it
        result = Trainer(settings, device=device).fit(
            model,
            train_set,
            val_set,
            checkpoint=checkpoint,
            progress=progress,
            callback=callback,
            # a restart keeps the old run (checkpoint and results) until training starts
            before_training=lambda: _remove_results(output, checkpoint=restart),
            # for check_same_protocol, check_same_orbit and check_same_training of an
            # interrupted run
            run_info={
                "protocol": protocol.name,
                "orbit": orbit_digest(orbit),
                **training_identity(settings, width, depth),
            },
            resume=not restart,
        )

        model.cpu()
        predictions = {
            name: predict(model, TensorSet.from_numpy(inputs[name], targets[name]).inputs)
            for name in data
        }
        orbit_arc = _arc_length_value(orbit_arc_length, orbit.frames)
        metrics = _metrics(protocol, data, predictions, orbit_train, orbit_heldout, orbit_arc)
        domain = fit_domain(
            inputs["train"],
            inputs["val"],
            scales,
            kept=_take(inputs["orbit"], orbit_train),
            seed=seed,
        )
        metrics["domain"] = domain_metrics(domain, inputs)
        if gradient_errors:
            metrics.update(
                _gradient_errors(
                    model, featurizer, data, inputs, train_set if settings.gradient_weight else None
                )
            )
        if baselines:
            metrics["baselines"] = _baselines(
                train_inputs, train_targets, inputs, targets, orbit_heldout
            )
        metrics.update(
            _run_description(
                protocol,
                featurizer,
                data,
                model,
                settings,
                device,
                result,
                n_train_total=len(train_targets),
                n_orbit_train=len(orbit_train),
                seed=seed,
            )
        )
        arrays = _prediction_arrays(predictions, targets, orbit_train, orbit_arc)
        _write_outputs(output, model, featurizer, metrics, arrays, result, domain)
        metrics["seconds"] = time.monotonic() - start
        write_json(output / "metrics.json", metrics)
        return ProtocolResult(metrics, arrays, output)


def _gradient_training_set(
    featurizer: Featurizer,
    data: dict[str, Dataset],
    repeated: np.ndarray,
    *,
    progress: bool,
) -> dict[str, Any]:
    """:func:`training_gradients` of the training set's random frames followed by the orbit
    frames ``repeated`` (indices, each orbit frame computed once and repeated like its
    inputs): the gradient keywords of :meth:`TensorSet.from_numpy`."""
    random_part = training_gradients(featurizer, data["train"].frames, progress=progress)
    orbit_part = training_gradients(featurizer, data["orbit"].frames)
    return {
        "jacobians": _concat([random_part["jacobians"], _take(orbit_part["jacobians"], repeated)]),
        "gradients": np.concatenate([random_part["gradients"], orbit_part["gradients"][repeated]]),
    }


def _run_description(
    protocol: Protocol,
    featurizer: Featurizer,
    data: dict[str, Dataset],
    model: AtomicSumModel,
    settings: TrainSettings,
    device: torch.device,
    result: TrainResult,
    *,
    n_train_total: int,
    n_orbit_train: int,
    seed: int,
) -> dict[str, Any]:
    """What ``metrics.json`` says about a run besides its errors: the protocol, featurizer,
    model, settings and machine, the data sets' sizes and sources, and how training
    went (``result``, :meth:`~.trainer.Trainer.fit`'s)."""
    return {
        "protocol": protocol.name,
        "protocol_description": protocol.describe(len(data["orbit"])),
        "featurizer": featurizer.key(),
        "model": model.config,
        "settings": asdict(settings),
        "device": str(device),
        "machine": software_versions(),  # round-off digits follow CPU and kernels
        "n_train": len(data["train"]),
        "n_train_total": n_train_total,
        "n_val": len(data["val"]),
        "n_test": len(data["test"]) if "test" in data else 0,
        "n_orbit": len(data["orbit"]),
        "n_orbit_train": n_orbit_train,
        "orbit_repeats": protocol.repeats,
        "seed": seed,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "stopped": result.stopped,
        "resumed_from_epoch": result.resumed_from,
        "train_seconds": result.seconds,
        "datasets": {n: str(ds.path) if ds.path else None for n, ds in data.items()},
        "dataset_sources": {n: ds.source for n, ds in data.items()},
        "orbit_digest": orbit_digest(data["orbit"]),
    }


def training_gradients(
    featurizer: Featurizer, frames: Sequence[ase.Atoms], *, progress: bool = False
) -> dict[str, Any]:
    """Input Jacobians and E4 gradients of ``frames`` for gradient training.

    Returns ``{"jacobians": {species: (n, n_centres, d, 12)}, "gradients": (n, 12)}``
    (:func:`compute_input_jacobians`, :func:`degeneracy.targets.fourbody_torsion_gradient`;
    both with respect to the four H positions, C fixed), the keywords of
    :meth:`TensorSet.from_numpy`.
    """
    jacobians = compute_input_jacobians(featurizer, frames, progress=progress)
    gradients = fourbody_torsion_gradient(list(frames)).reshape(len(frames), -1)
    return {"jacobians": jacobians, "gradients": gradients}


def model_gradients(
    model: AtomicSumModel,
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    batch_size: int = 500,
) -> np.ndarray:
    r"""The model's gradient w.r.t. the neighbour positions (centre fixed), (n, 3N) in 1/Å.

    :math:`J^{\mathsf T}\nabla_x \hat E` through the featurizer's input Jacobians, computed
    batch by batch and not kept (6000 frames of the multi-centre SOAP at n = l = 8 would
    need 2 GB at once); ``inputs`` are the frames' features (computed when not given).
    The negative is the force the model predicts on each neighbour.
    """
    frames = list(frames)
    out = []
    for start in range(0, len(frames), batch_size):
        chunk = frames[start : start + batch_size]
        jacobians = compute_input_jacobians(featurizer, chunk)
        if inputs is None:
            batch = featurizer.inputs(chunk)
        else:
            batch = {s: v[start : start + batch_size] for s, v in inputs.items()}
        n, k = len(chunk), next(iter(jacobians.values())).shape[-1]
        # targets and target gradients are placeholders: only the Jacobians are used
        data = TensorSet.from_numpy(
            batch, np.zeros(n), jacobians=jacobians, gradients=np.zeros((n, k))
        )
        out.append(predict_gradients(model, data))
    return np.concatenate(out)


def predicted_target_gradients(
    model: AtomicSumModel,
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    batch_size: int = 500,
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (:func:`model_gradients`) and true E4 gradients, (n, 3N) each."""
    frames = list(frames)
    predicted = model_gradients(model, featurizer, frames, inputs, batch_size=batch_size)
    return predicted, fourbody_torsion_gradient(frames).reshape(len(frames), -1)


def _gradient_errors(model, featurizer, data, inputs, train_set=None) -> dict[str, float | None]:
    """Errors of the predicted E4 gradient (1/Å), split by E4's flat and shape directions.

    For the validation, test and orbit frames of every run whose featurizer gives input
    Jacobians (~15 s for 9000 frames), and for the random training frames under gradient
    training (``train_set``: their Jacobians are in memory already). Per set:
    ``_gradient_rmse`` (per Cartesian component) and ``_gradient_rms`` (E4's), and with
    the frames' :func:`~degeneracy.targets.fourbody_flat_motions` :math:`F`:
    ``_gradient_flat_rms``, the predicted gradient's RMS per direction of :math:`F`,
    where E4's is exactly zero (spurious), and ``_gradient_shape_rmse``, the error's RMS
    per direction in the 5 others (the cage's shape).
    """
    if not hasattr(featurizer, "input_jacobians"):
        return {}
    found = {}
    if train_set is not None:
        n = len(data["train"])
        train = TensorSet(
            {s: v[:n] for s, v in train_set.inputs.items()},
            train_set.targets[:n],
            {s: v[:n] for s, v in train_set.jacobians.items()},
            train_set.gradients[:n],
        )
        found["train"] = (predict_gradients(model, train), train.gradients.double().numpy())
    for name in ("val", "test", "orbit"):
        if name in data:
            found[name] = predicted_target_gradients(
                model, featurizer, data[name].frames, inputs[name]
            )
    metrics: dict[str, float | None] = {}
    for name, (predicted, true) in found.items():
        frames = data[name].frames
        flat = np.einsum("fck,fc->fk", fourbody_flat_motions(frames), predicted - true)
        error = np.sum((predicted - true) ** 2, axis=1)
        shape = np.maximum(error - np.sum(flat**2, axis=1), 0.0)  # no rotation part
        metrics[f"{name}_gradient_rmse"] = rmse(predicted.ravel(), true.ravel())
        metrics[f"{name}_gradient_rms"] = float(np.sqrt(np.mean(true**2)))
        metrics[f"{name}_gradient_flat_rms"] = float(np.sqrt(np.mean(flat**2)))
        metrics[f"{name}_gradient_shape_rmse"] = float(np.sqrt(np.mean(shape) / 5))
    return metrics


def _baselines(train_inputs, train_targets, inputs, targets, orbit_heldout) -> dict[str, Any]:
    """Ridge and nearest-neighbour errors on the sets the network is scored on."""
    evaluate = {name: (inputs[name], targets[name]) for name in ("val", "test") if name in inputs}
    evaluate["orbit_heldout"] = (
        _take(inputs["orbit"], orbit_heldout),
        targets["orbit"][orbit_heldout],
    )
    evaluate["orbit"] = (inputs["orbit"], targets["orbit"])
    return baseline_errors(train_inputs, train_targets, evaluate)


def _metrics(protocol, data, predictions, orbit_train, orbit_heldout, arc) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for name, ds in data.items():
        target = ds.targets
        metrics[f"{name}_std"] = float(np.std(target))
        if name == "orbit":
            metrics.update(_errors("orbit", predictions[name], target))
            metrics.update(
                _errors("orbit_train", predictions[name][orbit_train], target[orbit_train])
            )
            metrics.update(
                _errors("orbit_heldout", predictions[name][orbit_heldout], target[orbit_heldout])
            )
            metrics.update(
                _tracking("orbit_heldout", predictions[name][orbit_heldout], target[orbit_heldout])
            )
            metrics.update(orbit_slopes(ds.frames, predictions[name], target, arc_length=arc))
        else:
            metrics.update(_errors(name, predictions[name], target))
    if "val" in data:
        metrics["val_by_target_quantile"] = errors_by_target_quantile(
            predictions["val"], data["val"].targets
        )
    if metrics.get("test_rmse") is not None and metrics["val_rmse"]:
        metrics["test_over_val"] = metrics["test_rmse"] / metrics["val_rmse"]
    return metrics


def _prediction_arrays(predictions, targets, orbit_train, orbit_arc) -> dict[str, np.ndarray]:
    arrays = {}
    for name in predictions:
        arrays[f"{name}_prediction"] = predictions[name]
        arrays[f"{name}_target"] = targets[name]
    in_training = np.zeros(len(targets["orbit"]), dtype=bool)
    in_training[orbit_train] = True
    arrays["orbit_in_training"] = in_training
    arc, _ = orbit_arc
    if arc is not None:  # for plots along the orbit (figures.fig2)
        arrays["orbit_arc_length"] = arc
    return arrays


def _write_outputs(output, model, featurizer, metrics, arrays, result, domain):
    with atomic_path(output / "predictions.npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    with atomic_open(output / "orbit_predictions.csv") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["frame", "fourbody", "prediction", "in_training"])
        columns = (arrays["orbit_target"], arrays["orbit_prediction"], arrays["orbit_in_training"])
        for i, (t, p, used) in enumerate(zip(*columns, strict=True)):
            writer.writerow([i, f"{t:.8f}", f"{p:.8f}", int(used)])
    with atomic_open(output / "history.csv") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["epoch", "train_rmse", "val_rmse", "lr"])
        for row in result.history:
            writer.writerow([row["epoch"], row["train_rmse"], row["val_rmse"], row["lr"]])
    save_model(
        output,
        model,
        featurizer,
        {k: metrics[k] for k in ("protocol", "val_rmse", "seed") if k in metrics},
        domain,
    )


def domain_metrics(
    domain: ApplicabilityDomain, inputs: Mapping[str, Mapping[str, np.ndarray]]
) -> dict[str, Any]:
    """The applicability domain's thresholds and, per data set, the share of its frames
    outside the domain (``"<set>_outside"``; about 1 − quantile for validation)."""
    summary: dict[str, Any] = {
        "quantile": domain.quantile,
        "thresholds": dict(domain.thresholds),
        "n_reference": {s: len(v) for s, v in domain.references.items()},
    }
    for name, values in inputs.items():
        if name == "train":  # the references are drawn from it
            continue
        ratios = domain.ratios(values)
        summary[f"{name}_outside"] = float(np.mean(ratios > 1.0)) if len(ratios) else None
    return summary


#: The metrics :func:`summarise_repeats` summarises over seeds: the errors, and the
#: slope along the orbit and the validation gradient error that the reproduce report
#: tabulates beside them (it showed "—", "not measured", for these two).
REPEATED_KEYS = (*RMSE_KEYS, "orbit_slope_corr", "orbit_slope_rmse", "val_gradient_rmse")


def summarise_repeats(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    r"""Mean, sample standard deviation, range and values of each metric over repeated runs.

    ``runs`` are the ``metrics.json`` mappings of one protocol trained with different seeds
    (orbit split, initial weights, shuffling; the data sets fixed). Per metric of
    :data:`REPEATED_KEYS` present in every run: ``mean``, ``std`` (:math:`n-1`
    denominator; ``None`` for a single run), ``min``, ``max`` and ``values`` in run order.
    """
    summary: dict[str, dict[str, Any]] = {}
    for key in REPEATED_KEYS:
        values = [run.get(key) for run in runs]
        if not values or any(v is None for v in values):
            continue
        array = np.asarray(values, dtype=float)
        summary[key] = {
            "mean": float(array.mean()),
            "std": float(array.std(ddof=1)) if len(array) > 1 else None,
            "min": float(array.min()),
            "max": float(array.max()),
            "values": [float(v) for v in array],
        }
    return summary


def heldout_orbit_gap(
    none_runs: Sequence[dict[str, Any]], subset_runs: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    r"""How clearly 20 orbit frames lower the held-out orbit error, over paired seeds.

    Differences :math:`d_k = e^{\text{none}}_k - e^{\text{subset}}_k` of the held-out orbit
    RMSE for the same seed :math:`k`; returns their mean, the standard error
    :math:`s_d/\sqrt{n}`, the ratio of the two (a paired t statistic, ``None`` for fewer
    than two seeds or zero spread) and whether every seed had :math:`d_k > 0`.
    """
    pairs = [
        (a["orbit_heldout_rmse"], b["orbit_heldout_rmse"])
        for a, b in zip(none_runs, subset_runs, strict=True)
        if a.get("orbit_heldout_rmse") is not None and b.get("orbit_heldout_rmse") is not None
    ]
    if not pairs:
        return {"n": 0, "mean": None, "stderr": None, "t": None, "all_positive": None}
    differences = np.array([a - b for a, b in pairs])
    stderr = float(differences.std(ddof=1) / np.sqrt(len(differences))) if len(pairs) > 1 else None
    t = float(differences.mean() / stderr) if stderr else None
    return {
        "n": len(pairs),
        "mean": float(differences.mean()),
        "stderr": stderr,
        "t": t,
        "all_positive": bool((differences > 0).all()),
    }


#: One-sided significance level of :func:`clear_heldout_gap`'s paired t test.
CLEAR_GAP_LEVEL = 0.05


def clear_gap_t(n: int) -> float:
    """The paired t statistic above which :func:`clear_heldout_gap` calls a gap over ``n``
    seeds clear: Student's t quantile 1 − :data:`CLEAR_GAP_LEVEL` with n − 1 degrees of
    freedom (2.35 for 4 seeds, 6.31 for 2)."""
    from scipy.stats import t as student

    return float(student.ppf(1 - CLEAR_GAP_LEVEL, bounded_int("n", n, minimum=2) - 1))


def clear_heldout_gap(gap: Mapping[str, Any] | None) -> bool:
    """Whether 20 orbit frames *clearly* lower the held-out orbit error over paired seeds.

    True when the none − subset difference of :func:`heldout_orbit_gap` is positive for
    every seed and its paired t statistic is significant at the one-sided 5 % level
    (:func:`clear_gap_t`; so at least two seeds). It was t > 2 whatever the number of
    seeds: with two (one degree of freedom) that is p ≈ 0.15, not "clearly".
    """
    if not gap or not gap.get("n"):
        return False
    t = gap.get("t")
    return bool(gap["all_positive"] and t is not None and t > clear_gap_t(gap["n"]))


def paired_t_text(gap: Mapping[str, Any]) -> str:
    """ ", paired t = 6.26 < 6.31 (the one-sided 5 % point, 1 degree of freedom)" for a
    :func:`heldout_orbit_gap`, empty without a t. The threshold is shown because a t
    rounded to one decimal (6.3) read as passing the 6.31 it fell short of."""
    t = gap.get("t")
    if t is None:
        return ""
    n = int(gap["n"])
    threshold = clear_gap_t(n)
    sign = ">" if t > threshold else "≤"
    degrees = f"{n - 1} degree{'' if n == 2 else 's'} of freedom"
    return f", paired t = {t:.2f} {sign} {threshold:.2f} (the one-sided 5 % point, {degrees})"


def repeat_folders(output: str | os.PathLike, seed: int, repeats: int) -> dict[int, Path]:
    """Where each seed of a repeated run writes: ``{seed + k: folder}`` for ``k < repeats``.

    One repeat writes into ``output`` itself; several into ``output/seed-<seed + k>/``
    (the layout :func:`load_model` recognises when asked for a folder of runs). Refused
    before any work when the last seed is above :data:`~.specs.MAX_SEED`.
    """
    output = Path(output)
    repeats = bounded_int("repeats", repeats, minimum=1)
    seed = training_seed("seed", seed)
    if seed + repeats - 1 > MAX_SEED:
        raise DegeneracyError(
            f"seed {seed} with {repeats} repeats reaches seed {seed + repeats - 1}, above "
            f"the largest seed 2**64 - 1 = {MAX_SEED}"
        )
    seeds = range(seed, seed + repeats)
    return {s: output if repeats == 1 else output / f"seed-{s}" for s in seeds}


def check_same_layout(
    output: str | os.PathLike,
    *,
    all_protocols: bool,
    repeats: int,
    protocol: str | None = None,
) -> None:
    """Refuse an ``output`` holding results of another kind of ``learn`` run.

    The error names the run found (its protocol, from its ``metrics.json``, for a run of
    one protocol) and the run asked for (``protocol``, the one protocol asked, if given),
    in this function's keywords (``learn all_protocols=True repeats=...``; ``learn``
    shows them as its options, ``--protocol all --repeats``).

    A run of one protocol writes ``model.pt`` into ``output``, ``all_protocols`` into
    ``output/<protocol>/`` (with ``fig2.json``), ``repeats`` > 1 into
    ``output/seed-<k>/`` (with ``repeats.json``). A run of another kind would leave the
    old results beside its own, summaries that disagree with them (``fig2.json`` of one
    seed, ``repeats.json`` of others) and ``predict --model`` guesses that find either.
    """
    output = Path(output)
    if not output.is_dir():
        return
    wanted = (repeats > 1, all_protocols)
    found, kinds = [], []
    for model in (
        sorted(output.glob("model.pt"))
        + sorted(output.glob("*/model.pt"))
        + sorted(output.glob("*/*/model.pt"))
    ):
        parts = model.parent.relative_to(output).parts
        seeded = bool(parts) and parts[0].startswith("seed-")
        by_protocol = bool(parts) and parts[-1] in PROTOCOLS
        if (len(parts) == 1 and not (seeded or by_protocol)) or (
            len(parts) == 2 and not (seeded and by_protocol)
        ):
            continue  # not a folder learn writes (the user's own)
        if (seeded, by_protocol) != wanted:
            found.append(str(model.relative_to(output)))
            kinds.append((seeded, by_protocol, model.parent))
    if not all_protocols and (output / "fig2.json").exists():
        found.append("fig2.json")
        kinds.append((False, True, output))  # repeats.json would say more; models say it first
    if repeats == 1 and (output / "repeats.json").exists():
        found.append("repeats.json")
        kinds.append((True, None, output))
    if found:
        seeded, by_protocol, folder = kinds[0]
        if by_protocol is None:
            held = "learn repeats=..."
        else:
            held = "learn " + _protocol_keyword(folder, by_protocol)
            held += " repeats=..." if seeded else ""
        kind = " ".join(
            [_protocol_keyword(None, all_protocols, protocol)]
            + (["repeats=..."] if repeats > 1 else [])
        )
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise DegeneracyError(
            f"{output} holds the results of another kind of run, {held} ({shown}); a run "
            f"of {kind} would leave them beside its own: choose another output=..., or "
            "remove them"
        )


def check_not_a_reproduction(output: str | os.PathLike) -> None:
    """Refuse an ``output`` that holds a ``degeneracy reproduce`` run.

    Reproduce marks its folder with ``steps/`` (a ``NAME.json`` or ``NAME.running`` per
    step) and, once finished, ``report.html`` beside ``summary.json``; a learn run there
    would mix its results in with the reproduction's (the counterpart of
    :func:`degeneracy.reproduce.check_not_a_learn_folder`).
    """
    output = Path(output)
    steps = output / "steps"
    found = [
        f"steps/{stamp.name}"
        for pattern in ("*.json", "*.running")
        for stamp in sorted(steps.glob(pattern))
    ]
    if (output / "report.html").is_file() and (output / "summary.json").is_file():
        found[:0] = ["report.html", "summary.json"]
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise DegeneracyError(
            f"{output} holds a `degeneracy reproduce` run ({shown}), not a learn run: "
            "choose another output=..."
        )


def _protocol_keyword(folder: Path | None, all_protocols: bool, name: str | None = None) -> str:
    """``"all_protocols=True"``, or ``'protocol="NAME"'`` with ``name`` or the protocol of
    ``folder/metrics.json``, else ``"(one protocol)"`` (``learn``: ``--protocol all``,
    ``--protocol NAME``)."""
    if all_protocols:
        return "all_protocols=True"
    if name is None and folder is not None:
        name = saved_protocol(folder)
    return f'protocol="{name}"' if name is not None else "(one protocol)"


def finished_metrics(folder: Path) -> dict[str, Any] | None:
    """``folder/metrics.json`` (a finished run's) as a dict; None without a readable one.
    What :func:`saved_protocol`, :func:`recorded_orbit` and :func:`recorded_training` read
    of a finished run."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) else None


def saved_protocol(folder: Path) -> str | None:
    """The protocol recorded in ``folder/metrics.json`` (a finished run's); None without a
    readable one."""
    saved = (finished_metrics(folder) or {}).get("protocol")
    return saved if isinstance(saved, str) else None


def interrupted_protocol(folder: Path) -> str | None:
    """The protocol recorded in ``folder/checkpoint.pt`` (by :func:`run_protocol`); None
    without one, or a checkpoint that is unreadable (which :meth:`Trainer.fit` names when
    it reads it) or from before protocols were recorded."""
    checkpoint = folder / "checkpoint.pt"
    if not checkpoint.is_file():
        return None
    saved = (checkpoint_run_info(checkpoint) or {}).get("protocol")
    return saved if isinstance(saved, str) else None


def orbit_digest(orbit: Dataset) -> str:
    """A digest of the orbit frames a run is evaluated on (neighbour positions and
    targets, 16 hex digits), recorded in ``metrics.json`` and the checkpoint's
    ``run_info`` (:func:`check_same_orbit`)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(neighbor_positions(orbit.frames), dtype=float).tobytes())
    digest.update(np.ascontiguousarray(orbit.targets, dtype=float).tobytes())
    return digest.hexdigest()[:16]


def recorded_orbit(folder: Path) -> str | None:
    """The orbit digest of the run in ``folder``: its ``metrics.json``'s, else its
    checkpoint's (an interrupted run); None for neither, or a run from before the digest
    was recorded."""
    saved = (finished_metrics(folder) or {}).get("orbit_digest")
    if saved is None and (folder / "checkpoint.pt").is_file():
        saved = (checkpoint_run_info(folder / "checkpoint.pt") or {}).get("orbit")
    return saved if isinstance(saved, str) else None


def check_same_orbit(folders: Sequence[Path], orbit: Dataset) -> None:
    """Refuse to rerun the protocols of ``learn --protocol all`` in ``folders`` (one per
    protocol) when one of them holds a run on another orbit (advising ``restart=True``,
    :func:`run_protocol`'s, or another ``output``).

    A rerun on another orbit (``--orbit FILE``, ``--orbit-sigma``, ...) resumes ``none``
    (its training set has no orbit frame, so its checkpoint is the same run) and
    re-evaluates it on the new orbit, but ``subset``'s and ``full``'s checkpoints refuse
    it: the folder would hold ``none`` on the new orbit beside the others on the old one.
    """
    digest = orbit_digest(orbit)
    for folder in folders:
        recorded = recorded_orbit(folder)
        if recorded is not None and recorded != digest:
            raise DegeneracyError(
                f"{folder} holds a run on another orbit than this run's (its orbit frames "
                "or their targets differ): add restart=True to replace the runs, or choose "
                "another output=..."
            )


#: The settings that make a learning run another run (its checkpoint refuses a rerun
#: with others), by their keywords (:func:`run_protocol`'s ``seed``, ``width`` and
#: ``depth``, the rest :class:`~.trainer.TrainSettings`'); ``learn`` names each by the
#: option that sets it (``cli.in_option_terms`` with its ``PARAMETER_OPTIONS``).
TRAINING_SETTINGS = (
    "seed",
    "width",
    "depth",
    "batch_size",
    "learning_rate",
    "lr_patience",
    "gradient_weight",
    "lr_factor",
    "min_learning_rate",
)


def training_identity(settings: TrainSettings, width: int, depth: int) -> dict[str, Any]:
    """The settings of :data:`TRAINING_SETTINGS` of a run (``gradient_weight`` 0.0 when not
    set), as its checkpoint records them."""
    identity = {"gradient_weight": 0.0, **settings.trajectory(), "width": width, "depth": depth}
    return {key: identity[key] for key in TRAINING_SETTINGS}


def recorded_training(folder: Path) -> dict[str, Any] | None:
    """The :func:`training_identity` of the run in ``folder``: from its ``metrics.json``
    (``settings`` and ``model``), else its checkpoint's ``run_info`` (an interrupted run);
    None for neither, or a checkpoint from before the settings were recorded."""
    metrics = finished_metrics(folder)
    try:
        settings, model = dict(metrics["settings"]), dict(metrics["model"])
        recorded = {"gradient_weight": 0.0, **settings, **model}
        return {key: recorded[key] for key in TRAINING_SETTINGS}
    except (TypeError, ValueError, KeyError):  # no metrics, or not a finished run's
        pass
    if not (folder / "checkpoint.pt").is_file():
        return None
    info = checkpoint_run_info(folder / "checkpoint.pt") or {}
    if not all(key in info for key in TRAINING_SETTINGS):
        return None
    return {key: info[key] for key in TRAINING_SETTINGS}


def check_same_training(
    folder: Path, settings: TrainSettings, width: int, depth: int, *, restart: bool = False
) -> None:
    """Refuse, before any work, to rerun into ``folder`` a run whose settings of
    :data:`TRAINING_SETTINGS` differ, naming the first by its keyword ("with seed=0;
    this run asks for seed=1"; its checkpoint refused it only after the data and
    features were made, "checkpoint belongs to a different run (settings, model or data
    changed)"; helper-148); unless ``restart``."""
    if restart:
        return
    recorded = recorded_training(folder)
    if recorded is None:
        return
    wanted = training_identity(settings, width, depth)
    for key in TRAINING_SETTINGS:
        if recorded[key] != wanted[key]:
            kind = "finished" if (folder / "metrics.json").is_file() else "interrupted"
            raise DegeneracyError(
                f"{folder} holds a {kind} learn run with {key}={recorded[key]}; this run "
                f"asks for {key}={wanted[key]}: choose another output=..., or add "
                "restart=True to replace it"
            )


def check_same_protocol(
    output: str | os.PathLike, protocol: str | Protocol, *, restart: bool = False
) -> None:
    """Refuse an ``output`` holding a run of another protocol, unless ``restart``.

    ``learn`` calls it before any work: the run's checkpoint would refuse the rerun too,
    but only after the data and features were made, and in general words ("settings,
    model or data changed"). The run is a finished one, by the protocol of its
    ``metrics.json``, else an interrupted one, by the protocol its ``checkpoint.pt``
    records (:func:`interrupted_protocol`; one that records none, or cannot be read, is
    left to the checkpoint's own check). The error names the protocols by this function's
    keyword (``protocol="none"``; ``learn``: ``--protocol none``).
    """
    if restart:
        return
    protocol = protocol_value(protocol)
    output = Path(output)
    saved = saved_protocol(output)
    if saved is not None and saved != protocol.name:
        raise DegeneracyError(
            f'{output} holds a finished learn protocol="{saved}" run (metrics.json); this '
            f'run asks for protocol="{protocol.name}": choose another output=..., or add '
            "restart=True to replace it"
        )
    interrupted = interrupted_protocol(output) if saved is None else None
    if interrupted is not None and interrupted != protocol.name:
        raise DegeneracyError(
            f'{output} holds an interrupted learn protocol="{interrupted}" run '
            f'(checkpoint.pt); this run asks for protocol="{protocol.name}": choose another '
            f'output=..., add restart=True to replace it, or rerun with protocol="{interrupted}" '
            "to resume it"
        )


def repeat_summary(seeds: Sequence[int], runs: Mapping[str, Sequence[dict[str, Any]]]) -> dict:
    """Everything ``repeats.json`` holds for protocols trained with several seeds.

    ``runs`` maps a protocol name to its ``metrics.json`` mappings in the order of
    ``seeds``. Returns ``{"seeds", "protocols": {name: summarise_repeats(...)},
    "heldout_orbit_none_minus_subset": heldout_orbit_gap(...)}`` (the gap ``None`` unless
    both ``none`` and ``subset`` ran).
    """
    for name, metrics in runs.items():
        if len(metrics) != len(seeds):
            raise DegeneracyError(f"protocol {name}: {len(metrics)} runs for {len(seeds)} seeds")
    gap = None
    if {"none", "subset"} <= set(runs):
        gap = heldout_orbit_gap(runs["none"], runs["subset"])
    return {
        "seeds": list(seeds),
        "protocols": {name: summarise_repeats(metrics) for name, metrics in runs.items()},
        "heldout_orbit_none_minus_subset": gap,
    }


def load_run(folder: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(metrics, prediction arrays)`` of a folder written by :func:`run_protocol`."""
    folder = Path(folder)
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
        with np.load(folder / "predictions.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except NPZ_READ_ERRORS as error:
        raise DegeneracyError(f"{folder}: not a finished learn run ({error})") from error
    return metrics, arrays
