"""The learning protocols and headline metrics by name, importable without torch.

The command line builds its choices from these before it loads the models
(:mod:`.protocols` runs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checks import bounded_int
from ..errors import DegeneracyError

#: Largest seed of a training run: :func:`torch.manual_seed` takes a 64-bit integer.
MAX_SEED = 2**64 - 1


def training_seed(name: str, value: Any) -> int:
    """``value`` as the seed ``name`` of a training run: an integer from 0 to :data:`MAX_SEED`.

    numpy's generators refuse negative seeds and torch's refuse larger ones (with a
    traceback); both are refused here, naming ``name``.
    """
    seed = bounded_int(name, value, minimum=0)
    if seed > MAX_SEED:
        raise DegeneracyError(f"{name} must be at most 2**64 - 1 = {MAX_SEED}, got {seed}")
    return seed


@dataclass(frozen=True)
class Protocol:
    """How many orbit frames go into training, and how often each is repeated."""

    name: str
    fraction: float
    repeats: int
    description: str

    def describe(self, n_orbit: int) -> str:
        """:attr:`description` for an orbit of ``n_orbit`` frames (``{k}``: frames used,
        ``{n}``: all, ``{percent}``: their share, which rounding moves off the nominal
        fraction for a short orbit: 1 of 2 is 50 %)."""
        k = self.n_train(n_orbit)
        percent = f"{100 * k / n_orbit:.0f}" if n_orbit else "0"
        return self.description.format(k=k, n=n_orbit, s="" if k == 1 else "s", percent=percent)

    def n_train(self, n_orbit: int) -> int:
        """Orbit frames used for training: 0, round(10 %) (20 of 201), or all."""
        if self.fraction <= 0:
            return 0
        if self.fraction >= 1:
            return n_orbit
        return max(1, min(n_orbit - 1, round(self.fraction * n_orbit)))


PROTOCOLS: dict[str, Protocol] = {
    "none": Protocol("none", 0.0, 0, "no orbit frames in training"),
    "subset": Protocol(
        "subset", 0.1, 1, "{k} random orbit frame{s} of {n} ({percent} %) in training"
    ),
    "full": Protocol("full", 1.0, 10, "all {n} orbit frames in training, repeated 10 times"),
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise DegeneracyError(f"unknown protocol {name!r}; choose one of {list(PROTOCOLS)}")
    return PROTOCOLS[name]


#: The headline errors of a protocol run: printed by ``degeneracy learn`` and summarised
#: over repeated runs by :func:`summarise_repeats`.
RMSE_KEYS = (
    "train_rmse",
    "val_rmse",
    "test_rmse",
    "orbit_train_rmse",
    "orbit_heldout_rmse",
    "orbit_rmse",
)
