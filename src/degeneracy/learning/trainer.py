r"""Training loop: Adam, ReduceLROnPlateau, best-by-validation, checkpoints, early stopping.

As in the Comment (Pozdnyakov et al., 2022): minimise the mean squared error

.. math:: L = \frac{1}{|B|}\sum_{A \in B} \bigl(\hat E(A) - E(A)\bigr)^2

over shuffled mini-batches with Adam; after every epoch the learning rate is multiplied by
``lr_factor`` when the training RMSE has not improved for ``lr_patience`` epochs, and the
weights with the lowest validation RMSE are kept. The original ran 40 000 epochs of batch
4096 on a GPU (:meth:`TrainSettings.comment`); the defaults here (batch 256, Adam 1e-3,
patience 10, early stopping after 100 epochs without improvement, at most 4 minutes) were
chosen by comparing recipes at equal CPU time (240 s, 1 thread, on a first, isotropic
version of the training sampler): batch 256 / 1e-3 / patience 10 reached a validation RMSE
of 0.0288, batch 512 / 2e-3 / 5 0.0306, batch 1024 / 3e-3 / 5 0.0330; batch 4096 / 1e-3 was
still at 0.034 after 120 s.

Gradient training (``gradient_weight`` :math:`w > 0`, beyond the Comment) adds the error
of the target's gradient with respect to the :math:`3N` neighbour positions (centre fixed),
predicted through the fingerprint's Jacobian :math:`J = \partial x / \partial r`,

.. math:: L = \frac{1}{|B|}\sum_{A \in B} \Bigl[\bigl(\hat E(A) - E(A)\bigr)^2
    + \frac{w}{3N} \bigl\lVert J(A)^{\mathsf T} \nabla_x \hat E(A)
    - \nabla_r E(A) \bigr\rVert^2\Bigr],

the "force matching" of machine-learned potentials (e.g. Chmiela et al., Sci. Adv. 3,
e1603015, 2017) with :math:`w` in Å² (E4 is unitless, its gradient in 1/Å). Each
structure then constrains the model in :math:`3N` directions besides its value.

A run writes a checkpoint (weights, optimiser, scheduler, shuffling RNG, best weights,
history) every ``checkpoint_seconds`` and when interrupted, always of the last *finished*
epoch (an interrupt mid-epoch leaves half-updated weights, which are not saved; a run
whose loss diverges to NaN or infinity stops with an error and leaves none); calling
:meth:`Trainer.fit` again with the same checkpoint continues where it stopped, reproducing
the uninterrupted run epoch for epoch (shuffling uses its own saved generator). A
checkpoint is used only by the same run: same settings, model and the same data, input
features included (a digest of the tensors, so another fingerprint or radial basis with
as many features does not resume stale weights). It also holds what the caller says about
the run (``fit(run_info=...)``, e.g. ``learn``'s protocol), which
:func:`checkpoint_run_info` reads without resuming, to name the run a folder holds.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..checks import bounded_float, bounded_int, non_negative_float, positive_float, true_or_false
from ..errors import DegeneracyError
from ..files import atomic_path, cache_key
from .model import AtomicSumModel
from .specs import training_seed

_CHECKPOINT_FORMAT = 2

#: Most torch CPU threads of a run (:attr:`TrainSettings.threads`). More threads than
#: cores only slow the small network down (they spin against each other), so a number
#: like ``10**6`` is a mistake, refused by name rather than handed to OpenMP. A fixed
#: bound, not the CPU count: settings that work on one machine are not refused on another.
MAX_THREADS = 1024

#: Largest initial learning rate (:attr:`TrainSettings.learning_rate`). An Adam step moves
#: every weight by about the learning rate whatever the gradient's size, so rates above ~1
#: throw the weights (of order 1) about at random (``learn --quick --lr 10`` still trains,
#: to a validation RMSE of 0.11 against 0.085 at 1e-3; 1e30 diverged to NaN); a larger
#: number is a typo, and beyond 3.4e38 torch cannot even store it in the float32 weights.
MAX_LEARNING_RATE = 10.0

#: Largest weight (Å²) of the target-gradient term (:attr:`TrainSettings.gradient_weight`).
#: The weight that balances the two terms is the target's variance over the mean square
#: of a gradient component, the square of the length over which the target changes by its
#: spread (E4: 0.0144 / 0.099 Å⁻² = 0.145 Å²); 1e4 Å² is (100 Å)², beyond any
#: environment's size. Measured with ``learn --protocol none --quick`` (2026-12-06;
#: validation RMSE 0.085 energy-only): W = 1, 10, 100, 1000 all reached 0.062; from 1e4 on
#: the energy term no longer counts (1e4, 1e5, 1e12, 1e20: the same gradient errors,
#: validation 0.092, early-stopped at epoch 6, worse than ridge); from 1e25 the float32
#: loss no longer moved (validation 0.20); above 3.4e38, float32's largest number, the
#: weight is infinite and the loss NaN in the first epoch.
MAX_GRADIENT_WEIGHT = 1e4


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Optimiser, schedule and stopping settings (keyword-only, validated at construction).

    Numbers are stored as checked: ints for counts, floats for rates and times (``"1e-3"``
    becomes ``0.001``, ``batch_size=64.0`` becomes ``64``).

    Attributes
    ----------
    max_epochs : int
        Hard limit on epochs.
    batch_size : int
        Structures per mini-batch.
    learning_rate : float
        Initial Adam learning rate, at most :data:`MAX_LEARNING_RATE`.
    lr_factor, lr_patience : float, int
        ReduceLROnPlateau on the training RMSE: multiply by ``lr_factor`` after
        ``lr_patience`` epochs without improvement.
    min_learning_rate : float
        The schedule does not go below this; at or above ``learning_rate`` the rate stays
        constant (``learn --lr 1e-6`` with the default 1e-5).
    stop_patience : int
        Stop when the validation RMSE has not improved for this many epochs.
    max_seconds : float or None
        Stop after this much training time (summed over resumed sessions); the default
        4 minutes keeps the three protocols within 15 minutes on 2 CPU cores.
    seed : int
        Seeds the weights (set by the caller before building the model) and the shuffling;
        0 to :data:`~.specs.MAX_SEED` (2**64 − 1, torch's limit).
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``.
    threads : int
        torch CPU threads, 1 to :data:`MAX_THREADS`. Default 1: the network is small, and
        on a shared machine two OpenMP threads were measured 10–20× *slower* per epoch
        than one (spinning threads fighting other jobs for the cores); 2 gains < 2× on an
        idle machine.
    checkpoint_seconds : float
        Minimum time between checkpoints (≥ 0; 0 writes one after every epoch).
    gradient_weight : float
        :math:`w` (Å²) of the target-gradient term of the loss (module docstring), at most
        :data:`MAX_GRADIENT_WEIGHT`; 0, the Comment's energy-only loss, by default. Needs
        a training :class:`TensorSet` with input Jacobians and target gradients.
    """

    max_epochs: int = 1000
    batch_size: int = 256
    learning_rate: float = 1e-3
    lr_factor: float = 0.8
    lr_patience: int = 10
    min_learning_rate: float = 1e-5
    stop_patience: int = 100
    max_seconds: float | None = 240.0
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    checkpoint_seconds: float = 10.0
    gradient_weight: float = 0.0

    def __post_init__(self) -> None:
        for name, value in self._normalised().items():
            object.__setattr__(self, name, value)
        if self.device not in ("auto", "cpu", "cuda"):
            raise DegeneracyError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def _normalised(self) -> dict[str, Any]:
        """Every numeric field checked, as an int or a float (a refused one is named)."""
        counts = {"max_epochs": 1, "batch_size": 1, "lr_patience": 0, "stop_patience": 1}
        values: dict[str, Any] = {
            name: bounded_int(name, getattr(self, name), minimum=minimum)
            for name, minimum in counts.items()
        }
        values["learning_rate"] = learning_rate_value(self.learning_rate)
        values["min_learning_rate"] = positive_float("min_learning_rate", self.min_learning_rate)
        values["lr_factor"] = positive_float("lr_factor", self.lr_factor, below=1.0)
        if self.max_seconds is not None:
            values["max_seconds"] = positive_float("max_seconds", self.max_seconds)
        values["threads"] = bounded_int("threads", self.threads, minimum=1, maximum=MAX_THREADS)
        values["seed"] = training_seed("seed", self.seed)
        values["checkpoint_seconds"] = non_negative_float(
            "checkpoint_seconds", self.checkpoint_seconds
        )
        values["gradient_weight"] = gradient_weight_value(self.gradient_weight)
        return values

    @classmethod
    def comment(cls, **changes: Any) -> TrainSettings:
        """The Comment's published settings: 40 000 epochs, batch 4096, Adam 1e-3, patience 200."""
        published = {
            "max_epochs": 40000,
            "batch_size": 4096,
            "learning_rate": 1e-3,
            "lr_patience": 200,
            "min_learning_rate": 1e-8,
            "stop_patience": 40000,
            "max_seconds": None,
        }
        return cls(**{**published, **changes})

    @classmethod
    def quick(cls, **changes: Any) -> TrainSettings:
        """A short run for tests and ``--quick``: at most 40 epochs or 30 s."""
        short = {"max_epochs": 40, "stop_patience": 20, "max_seconds": 30.0, "lr_patience": 3}
        return cls(**{**short, **changes})

    def trajectory(self) -> dict[str, Any]:
        """Settings that change the optimisation path (the checkpoint must match them)."""
        keys = ("batch_size", "learning_rate", "lr_factor", "lr_patience", "min_learning_rate")
        path = {k: getattr(self, k) for k in keys} | {"seed": self.seed}
        if self.gradient_weight:  # absent at 0: energy-only checkpoints keep their key
            path["gradient_weight"] = self.gradient_weight
        return path


def gradient_weight_value(value: Any, name: str = "gradient_weight") -> float:
    """``value`` as a float ≥ 0 and at most :data:`MAX_GRADIENT_WEIGHT`; else named."""
    return bounded_float(
        name,
        value,
        at_most=MAX_GRADIENT_WEIGHT,
        unit=" Å²",
        why="(100 Å)²; a larger weight drowns the energy term in the gradient term",
        zero=True,
    )


def learning_rate_value(value: Any) -> float:
    """``value`` as a float > 0 and at most :data:`MAX_LEARNING_RATE`; else named."""
    return bounded_float(
        "learning_rate",
        value,
        at_most=MAX_LEARNING_RATE,
        why="an Adam step moves every weight by about the learning rate, and the weights "
        "are of order 1",
    )


def train_settings(settings: Any) -> TrainSettings:
    """``settings`` if it is a :class:`TrainSettings`, the defaults for ``None``; else named
    (a dict of them is refused: ``TrainSettings(**changes)`` builds one)."""
    if settings is None:
        return TrainSettings()
    if not isinstance(settings, TrainSettings):
        raise DegeneracyError(
            f"settings must be a TrainSettings, e.g. TrainSettings(max_epochs=2), got "
            f"{type(settings).__name__} {settings!r}"
        )
    return settings


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DegeneracyError("device cuda requested but torch sees no CUDA device")
    return torch.device(name)


def training_device(settings: TrainSettings, device: Any = None) -> torch.device:
    """Where to train: ``device`` when given, else :func:`resolve_device` of the settings'.

    Parameters
    ----------
    settings : TrainSettings
        Their ``device`` (``"auto"``, ``"cpu"`` or ``"cuda"``) is resolved when ``device``
        is None.
    device : torch.device, optional
        A device resolved already (e.g. once for several runs of the same settings).

    Returns
    -------
    torch.device
        The device to train on.

    Raises
    ------
    DegeneracyError
        When ``device`` is neither None nor a :class:`torch.device`, or the settings ask
        for CUDA where torch sees none.
    """
    if device is None:
        return resolve_device(settings.device)
    if not isinstance(device, torch.device):
        raise DegeneracyError(
            f"device must be a torch.device (e.g. resolve_device('auto')), got {device!r}"
        )
    return device


def _float32(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float32))


@dataclass
class TensorSet:
    """Model inputs (per species, (n, n_centres, d)) and targets (n,) as float32 tensors.

    For gradient training also ``jacobians`` (per species, (n, n_centres, d, k): the
    inputs' derivatives with respect to the k = 3N neighbour coordinates) and
    ``gradients`` (n, k): the target's derivatives with respect to the same coordinates.
    """

    inputs: dict[str, torch.Tensor]
    targets: torch.Tensor
    jacobians: dict[str, torch.Tensor] | None = None
    gradients: torch.Tensor | None = None

    @classmethod
    def from_numpy(
        cls,
        inputs: Mapping[str, np.ndarray],
        targets: np.ndarray,
        *,
        jacobians: Mapping[str, np.ndarray] | None = None,
        gradients: np.ndarray | None = None,
    ) -> TensorSet:
        tensors = {s: _float32(v) for s, v in inputs.items()}
        sizes = {len(v) for v in tensors.values()} | {len(targets)}
        if len(sizes) != 1:
            raise DegeneracyError(f"inputs and targets have different lengths: {sorted(sizes)}")
        if (jacobians is None) != (gradients is None):
            raise DegeneracyError("gradient training needs both input Jacobians and gradients")
        if jacobians is None:
            return cls(tensors, _float32(targets))
        gradients = _float32(gradients)
        jacobians = {s: _float32(v) for s, v in jacobians.items()}
        for s, tensor in tensors.items():
            if s not in jacobians or jacobians[s].shape[:3] != tensor.shape:
                raise DegeneracyError(f"input Jacobians of {s} do not match its inputs")
            if jacobians[s].shape[3:] != gradients.shape[1:] or len(gradients) != len(targets):
                raise DegeneracyError(
                    f"input Jacobians {tuple(jacobians[s].shape)} and target gradients "
                    f"{tuple(gradients.shape)} do not match"
                )
        return cls(tensors, _float32(targets), jacobians, gradients)

    def __len__(self) -> int:
        return len(self.targets)

    def to(self, device: torch.device) -> TensorSet:
        jacobians = None
        if self.jacobians is not None:
            jacobians = {s: v.to(device) for s, v in self.jacobians.items()}
        gradients = None if self.gradients is None else self.gradients.to(device)
        inputs = {s: v.to(device) for s, v in self.inputs.items()}
        return TensorSet(inputs, self.targets.to(device), jacobians, gradients)

    def take(self, index: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return {s: v[index] for s, v in self.inputs.items()}, self.targets[index]

    def require_gradients(self, what: str) -> None:
        """Raise unless this set holds input Jacobians and target gradients: ``what needs ...``."""
        if self.jacobians is None or self.gradients is None:
            raise DegeneracyError(
                f"{what} needs input Jacobians and target gradients in its data set "
                "(TensorSet.from_numpy(..., jacobians=, gradients=))"
            )

    def predicted_gradients(
        self, model: AtomicSumModel, index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Predictions (b,) and their gradients (b, k) on frames ``index`` of this set.

        The gradient with respect to the k neighbour coordinates is
        :math:`J^{\mathsf T}\nabla_x \hat E`, summed over centres and species, and stays
        in the autograd graph (so it can be fitted).
        """
        self.require_gradients("gradient training")
        inputs = {s: v[index].detach().requires_grad_(True) for s, v in self.inputs.items()}
        prediction = model(inputs)
        slopes = torch.autograd.grad(prediction.sum(), list(inputs.values()), create_graph=True)
        gradients = sum(
            torch.einsum("bcd,bcdk->bk", slope, self.jacobians[s][index])
            for s, slope in zip(inputs, slopes, strict=True)
        )
        return prediction, gradients

    def digest(self) -> str:
        """SHA-256 of the inputs (by species, shapes included) and targets: which data."""
        sha = hashlib.sha256()
        tensors = [*sorted(self.inputs.items()), ("targets", self.targets)]
        if self.jacobians is not None and self.gradients is not None:
            tensors += [(f"d{s}", v) for s, v in sorted(self.jacobians.items())]
            tensors.append(("gradients", self.gradients))
        for name, tensor in tensors:
            array = np.ascontiguousarray(tensor.detach().cpu().numpy())
            sha.update(f"{name}{array.shape}{array.dtype}".encode())
            sha.update(array.tobytes())
        return sha.hexdigest()


@torch.no_grad()
def predict(
    model: AtomicSumModel, inputs: Mapping[str, torch.Tensor], *, batch_size: int = 8192
) -> np.ndarray:
    """Model predictions in evaluation mode, batched, as a float64 numpy array."""
    model.eval()
    n = len(next(iter(inputs.values())))
    out = [
        model({s: v[i : i + batch_size] for s, v in inputs.items()}).double().cpu().numpy()
        for i in range(0, n, batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(0)


def predict_gradients(
    model: AtomicSumModel, data: TensorSet, *, batch_size: int = 2048
) -> np.ndarray:
    r"""Predicted target gradients :math:`J^{\mathsf T}\nabla_x \hat E`, (n, k) float64.

    In evaluation mode and batched, for a set built with input Jacobians
    (:meth:`TensorSet.predicted_gradients`, detached).
    """
    data.require_gradients("predicted gradients")
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)))
        _, gradients = data.predicted_gradients(model, index)
        out.append(gradients.detach().double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def rmse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Root-mean-squared error (NaN for empty arrays)."""
    if len(target) == 0:
        return math.nan
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2)))


def mae(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error (NaN for empty arrays)."""
    if len(target) == 0:
        return math.nan
    return float(np.mean(np.abs(np.asarray(prediction) - np.asarray(target))))


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`; the model holds the best weights afterwards."""

    best_epoch: int
    best_val_rmse: float
    epochs: int
    seconds: float
    stopped: str
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0


@dataclass
class _State:
    epoch: int = 0
    elapsed: float = 0.0
    best_val: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = ""


#: The fields of :class:`_State`, in a checkpoint's ``state``.
_STATE_FIELDS = tuple(item.name for item in fields(_State))


@dataclass
class _Snapshot:
    """What a checkpoint saves of the live training objects, and whose run it is."""

    run_key: str
    run_info: dict[str, Any]
    model: AtomicSumModel
    optimiser: torch.optim.Optimizer
    scheduler: Any
    generator: torch.Generator

    def payload(self, state: _State) -> dict[str, Any]:
        """A checkpoint's contents, copied (training goes on changing the live objects).

        Built after every epoch, so it is cheap: tensors cloned (:func:`_cloned_tree`) and
        the history copied as a list (its rows are never changed once appended). With
        ``copy.deepcopy`` and ``dataclasses.asdict`` it took 11 ms an epoch of a small
        network, growing with the history, about half the time of a short training.
        """
        plain_state = {name: getattr(state, name) for name in _STATE_FIELDS}
        return {
            "format": _CHECKPOINT_FORMAT,
            "run_key": self.run_key,
            "run_info": self.run_info,
            "model": _cloned_tree(self.model.state_dict()),
            "optimiser": _cloned_tree(self.optimiser.state_dict()),
            "scheduler": copy.deepcopy(self.scheduler.state_dict()),
            "generator": self.generator.get_state(),
            "state": plain_state | {"best_state": None, "history": list(state.history)},
            "best_state": state.best_state,  # replaced, never modified in place
        }


def _cloned_tree(tree: Any) -> Any:
    """A copy of a torch state dict: its dicts, lists and tuples rebuilt, its tensors
    cloned (detached), other values (numbers, strings, None: immutable) shared.

    Hand-written: ``copy.deepcopy`` does the same through tensors' ``__deepcopy__`` at
    ~80 µs a tensor, and torch's tree utilities are private (``torch.utils._pytree``).
    """
    if isinstance(tree, torch.Tensor):
        return tree.detach().clone()
    if isinstance(tree, dict):
        return {key: _cloned_tree(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_cloned_tree(value) for value in tree]
    if isinstance(tree, tuple):
        return tuple(_cloned_tree(value) for value in tree)
    return tree


def _run_info(run_info: Any) -> dict[str, Any]:
    """``run_info`` of :meth:`Trainer.fit` as a dict of plain values (what a checkpoint
    read with ``weights_only`` may hold); else named."""
    if run_info is None:
        return {}
    plain = (str, int, float, bool, type(None))
    if not isinstance(run_info, Mapping) or not all(
        isinstance(k, str) and isinstance(v, plain) for k, v in run_info.items()
    ):
        raise DegeneracyError(
            "run_info must map names to plain values (str, int, float, bool, None), "
            f"e.g. {{'protocol': 'none'}}, got {run_info!r}"
        )
    return dict(run_info)


def _damaged(path: Path) -> DegeneracyError:
    """The error of a checkpoint file that cannot be resumed (truncated, overwritten, or
    another kind of file): torch's own message names its internals, not the file's fault."""
    return DegeneracyError(
        f"{path}: cannot read checkpoint, the file is damaged or not a training checkpoint; "
        "remove it or rerun with restart=True"
    )


def _consistent(state: _State) -> bool:
    """Whether a loaded training state is one a run can have written: whole epochs, the best
    one among them, one history row each, a finite elapsed time."""

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    return (
        whole(state.epoch)
        and whole(state.best_epoch)
        and state.best_epoch <= state.epoch
        and number(state.elapsed)
        and math.isfinite(state.elapsed)
        and state.elapsed >= 0
        and number(state.best_val)
        and not math.isnan(state.best_val)
        and isinstance(state.history, list)
        and len(state.history) == state.epoch
        and (state.best_state is None or isinstance(state.best_state, dict))
        and isinstance(state.stopped, str)
    )


def checkpoint_run_info(path: str | os.PathLike) -> dict[str, Any] | None:
    """What ``fit(run_info=...)`` recorded in the checkpoint at ``path``; None when there
    is none, or the file is no readable checkpoint (:meth:`Trainer.fit` names why when it
    reads it)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises many types for a bad file
        return None
    if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
        return None
    info = payload.get("run_info")
    return info if isinstance(info, dict) else None


class Trainer:
    """Fits an :class:`AtomicSumModel` (see the module docstring for the procedure).

    Parameters
    ----------
    settings : TrainSettings, optional
        Optimiser, schedule and stopping settings (default: :class:`TrainSettings`).
    device : torch.device, optional
        Where to train, resolved already (:func:`training_device`); default: the settings'
        ``device``, resolved on first use.
    """

    def __init__(
        self, settings: TrainSettings | None = None, *, device: torch.device | None = None
    ) -> None:
        self.settings = train_settings(settings)
        self._device = None if device is None else training_device(self.settings, device)

    @property
    def device(self) -> torch.device:
        """Where to train: the ``device`` given, else the settings' resolved on first use."""
        if self._device is None:
            self._device = resolve_device(self.settings.device)
        return self._device

    def _run_key(self, model: AtomicSumModel, train: TensorSet, val: TensorSet) -> str:
        return cache_key(
            trajectory=self.settings.trajectory(),
            model=model.config,
            train=train.digest(),
            val=val.digest(),
        )

    def _check_inputs(self, train: TensorSet) -> None:
        """Refuse gradient training on a set without input Jacobians and target gradients."""
        if self.settings.gradient_weight:
            train.require_gradients(f"gradient_weight {self.settings.gradient_weight}")

    def _check_epoch(self, path: Path, epoch: int) -> None:
        """Refuse a checkpoint at an epoch past ``max_epochs`` (it cannot be continued)."""
        if epoch > self.settings.max_epochs:
            raise DegeneracyError(
                f"{path}: the checkpoint is at epoch {epoch}, past max_epochs "
                f"{self.settings.max_epochs}; give at least {epoch} or restart=True"
            )

    def fit(
        self,
        model: AtomicSumModel,
        train: TensorSet,
        val: TensorSet,
        *,
        checkpoint: str | os.PathLike | None = None,
        progress: bool = False,
        callback: Callable[[int, dict[str, float]], None] | None = None,
        before_training: Callable[[], None] | None = None,
        run_info: Mapping[str, str | int | float | bool | None] | None = None,
        resume: bool = True,
    ) -> TrainResult:
        """Train ``model`` in place; afterwards it holds the best-validation weights.

        ``checkpoint`` (a file path) is read when it exists and belongs to the same run
        (same settings, model and data), unless ``resume`` is False (a restart: it is
        then left alone until the first epoch's overwrites it, or ``before_training``
        removes it), and written during training, with ``run_info``
        (plain values naming the run for :func:`checkpoint_run_info`, e.g. ``{"protocol":
        "none"}``; not part of what makes it the same run). ``callback(epoch,
        metrics)`` is called after every epoch (after any checkpoint is written).
        ``before_training()`` is called once everything ``fit`` refuses before training
        has passed (the device, gradient training without gradients in ``train``, and a
        checkpoint that is unreadable, belongs to another run or is past ``max_epochs``;
        the checkpoint is read once), before the first epoch: e.g. to remove a previous
        run's results only when this run goes ahead (:func:`~.protocols.run_protocol`).

        A training RMSE or validation RMSE that becomes NaN or infinite (the weights
        diverged, e.g. under too large a learning rate or gradient weight) raises
        :class:`DegeneracyError` naming the epoch and what to make smaller, and removes the
        checkpoint rather than write one: resumed, the run would diverge again at the same
        epoch, and a smaller learning rate or gradient weight is another run. The best
        weights before the divergence are not kept either (the run did not finish).
        """
        settings = self.settings
        resume = true_or_false("resume", resume)
        self._check_inputs(train)
        info = _run_info(run_info)
        torch.set_num_threads(settings.threads)
        device = self.device
        model.to(device)
        train, val = train.to(device), val.to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimiser,
            factor=settings.lr_factor,
            patience=settings.lr_patience,
            min_lr=settings.min_learning_rate,
        )
        generator = torch.Generator().manual_seed(settings.seed)
        run_key = self._run_key(model, train, val)
        path = Path(checkpoint) if checkpoint is not None else None
        state = _State()
        if resume and path is not None and path.exists():
            state = self._load(path, run_key, model, optimiser, scheduler, generator, device)
            self._check_epoch(path, state.epoch)
        snapshot = _Snapshot(run_key, info, model, optimiser, scheduler, generator)
        if before_training is not None:
            before_training()
        resumed_from = state.epoch
        # The stopping rule is re-evaluated on resume: a finished run returns at once, a
        # run given more epochs or time continues.
        self._loop(train, val, snapshot, state, path, progress, callback)
        if state.best_state is not None:
            model.load_state_dict(state.best_state)
        return TrainResult(
            best_epoch=state.best_epoch,
            best_val_rmse=state.best_val,
            epochs=state.epoch,
            seconds=state.elapsed,
            stopped=state.stopped,
            history=state.history,
            resumed_from=resumed_from,
        )

    def _stop_reason(self, state: _State) -> str:
        settings = self.settings
        if state.epoch >= settings.max_epochs:
            return "max-epochs"
        if state.epoch - state.best_epoch >= settings.stop_patience:
            return "early-stop"
        if settings.max_seconds is not None and state.elapsed >= settings.max_seconds:
            return "time-limit"
        return ""

    def _loop(self, train, val, snapshot, state, path, progress, callback) -> None:
        settings = self.settings
        model, optimiser = snapshot.model, snapshot.optimiser
        scheduler, generator = snapshot.scheduler, snapshot.generator
        last_save = time.monotonic()
        # What a checkpoint holds: the state after the last finished epoch, never the
        # half-updated weights of an epoch an interrupt stops midway.
        finished = None
        if path is not None:
            finished = snapshot.payload(state)
        bar = tqdm(
            total=settings.max_epochs, initial=state.epoch, desc="training", unit="epoch",
            disable=not progress, leave=False,
        )  # fmt: skip
        try:
            while not (stop := self._stop_reason(state)):
                start = time.monotonic()
                train_rmse = self._epoch(model, train, optimiser, generator)
                val_rmse = rmse(predict(model, val.inputs), val.targets.double().cpu().numpy())
                if not math.isfinite(train_rmse + val_rmse):
                    finished = None  # resumed, it would diverge again, bit for bit
                    if path is not None:
                        path.unlink(missing_ok=True)
                    raise self._diverged(state.epoch + 1, train_rmse, val_rmse)
                scheduler.step(train_rmse)
                state.epoch += 1
                state.elapsed += time.monotonic() - start
                if val_rmse < state.best_val:
                    state.best_val, state.best_epoch = val_rmse, state.epoch
                    state.best_state = _cloned_tree(model.state_dict())
                lr = optimiser.param_groups[0]["lr"]
                metrics = {"epoch": state.epoch, "train_rmse": train_rmse, "val_rmse": val_rmse}
                state.history.append(metrics | {"lr": lr})
                bar.update(1)
                bar.set_postfix(
                    train=f"{train_rmse:.4f}", val=f"{val_rmse:.4f}",
                    best=f"{state.best_val:.4f}", lr=f"{lr:.1e}",
                )  # fmt: skip
                if path is not None:
                    finished = snapshot.payload(state)
                if path is not None and time.monotonic() - last_save >= settings.checkpoint_seconds:
                    self._save(path, finished)
                    last_save = time.monotonic()
                if callback is not None:
                    callback(state.epoch, metrics)
            state.stopped = stop
            if path is not None:
                finished = snapshot.payload(state)
        finally:
            bar.close()
            if finished is not None:
                self._save(path, finished)

    def _diverged(self, epoch: int, train_rmse: float, val_rmse: float) -> DegeneracyError:
        """The error of a training whose loss or validation error became NaN or infinite,
        suggesting a smaller ``learning_rate``, and first a smaller ``gradient_weight``
        when the loss has a gradient term (which the weight scales)."""
        settings = self.settings
        remedy = f"a smaller learning_rate than {settings.learning_rate:g}"
        if settings.gradient_weight:
            remedy = f"a smaller gradient_weight than {settings.gradient_weight:g}, or " + remedy
        return DegeneracyError(
            f"training diverged at epoch {epoch} (training RMSE {train_rmse:.4g}, validation "
            f"RMSE {val_rmse:.4g}), nothing of the run is kept: train again with {remedy}"
        )

    def _epoch(self, model, data: TensorSet, optimiser, generator) -> float:
        """One pass over shuffled mini-batches; returns the training RMSE seen in the pass.

        With gradient training it is the root of the whole loss (energy + weighted
        gradient term), which the learning-rate schedule follows.
        """
        model.train()
        order = torch.randperm(len(data), generator=generator).to(data.targets.device)
        weight = self.settings.gradient_weight
        squared, count = 0.0, 0
        for start in range(0, len(data), self.settings.batch_size):
            index = order[start : start + self.settings.batch_size]
            targets = data.targets[index]
            if weight:
                prediction, gradients = data.predicted_gradients(model, index)
                gradient_error = torch.mean((gradients - data.gradients[index]) ** 2)
            else:
                prediction, gradient_error = model(data.take(index)[0]), 0.0
            loss = torch.mean((prediction - targets) ** 2) + weight * gradient_error
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            squared += float(loss.detach()) * len(targets)
            count += len(targets)
        return math.sqrt(squared / count)

    @staticmethod
    def _save(path: Path, payload: dict[str, Any]) -> None:
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @staticmethod
    def _read(path: Path, run_key: str, device: torch.device) -> dict[str, Any]:
        """The checkpoint at ``path``, refused unless readable and of the run ``run_key``."""
        try:
            payload = torch.load(path, map_location=device, weights_only=True)
        except (PermissionError, IsADirectoryError) as error:  # the file is fine, or none
            raise DegeneracyError(
                f"{path}: cannot read checkpoint ({error.strerror or error})"
            ) from error
        except Exception as error:  # torch raises many types (with its internals) for one
            raise _damaged(path) from error
        if not isinstance(payload, dict):
            raise _damaged(path)
        if payload.get("format") != _CHECKPOINT_FORMAT or payload.get("run_key") != run_key:
            raise DegeneracyError(
                f"{path}: checkpoint belongs to a different run (settings, model or data "
                "changed); remove it or rerun with restart=True"
            )
        return payload

    def _load(self, path, run_key, model, optimiser, scheduler, generator, device) -> _State:
        payload = self._read(path, run_key, device)
        try:  # the run's key with other contents: a file edited or partly overwritten
            model.load_state_dict(payload["model"])
            optimiser.load_state_dict(payload["optimiser"])
            scheduler.load_state_dict(payload["scheduler"])
            generator.set_state(payload["generator"].cpu())
            state = _State(**payload["state"])
            state.best_state = payload["best_state"]
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
            raise _damaged(path) from error
        if not _consistent(state):
            raise _damaged(path)
        return state
