r"""The neural networks of the learnability experiment.

The Comment's model (Pozdnyakov et al., 2022; ``nn_fitting.py`` of lab-cosmo/
ch4-manifold-training) is a small perceptron on the C-centred SOAP power spectrum:

    GroupNorm(4) → Linear(d, 80) → GroupNorm(2) → tanh → Linear(80, 80) → GroupNorm(2)
    → tanh → Linear(80, 1)

:class:`AtomicSumModel` generalises it to a sum of per-atom contributions, one such network
per centre species,

.. math:: \hat E = \bar E + \sum_{s} \sum_{i \in s} f_s\!\left(x_i / \lambda_s\right),

where :math:`\lambda_s` is the root-mean-squared feature norm of species :math:`s` over the
training set and :math:`\bar E` the training mean of the target. With only the C centre it
*is* the Comment's model; with C and H centres it is the multi-centre model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ase.data
import torch
from torch import nn

from ..checks import bounded_int
from ..errors import DegeneracyError

#: Largest hidden layer size and number of hidden layers of a species network.
MAX_WIDTH = 4096
MAX_DEPTH = 16


def network_shape(width: Any, depth: Any) -> tuple[int, int]:
    """``width`` and ``depth`` of the species networks as ints, 1 to :data:`MAX_WIDTH` and
    1 to :data:`MAX_DEPTH`; else named."""
    return (
        bounded_int("width", width, minimum=1, maximum=MAX_WIDTH),
        bounded_int("depth", depth, minimum=1, maximum=MAX_DEPTH),
    )


def feature_lengths(n_features: Any) -> dict[str, int]:
    """``n_features`` as ``{species symbol: feature length ≥ 1}``; else named.

    Keys are chemical symbols (``"C"``, not ``6``, ``"c"`` or the dummy ``"X"``), the
    centre species of the featurizer's inputs.
    """
    if not isinstance(n_features, Mapping):
        raise DegeneracyError(
            'n_features must be a mapping centre species -> feature length, e.g. {"C": 576}, '
            f"got {type(n_features).__name__} {n_features!r}"
        )
    if not n_features:
        raise DegeneracyError("the model needs at least one centre species")
    for species in n_features:
        if species not in ase.data.chemical_symbols[1:]:
            raise DegeneracyError(
                f"n_features: {species!r} is not a chemical symbol (e.g. 'C', 'H')"
            )
    return {
        str(species): bounded_int(f"n_features[{species!r}]", length, minimum=1)
        for species, length in n_features.items()
    }


def largest_divisor(n: int, at_most: int) -> int:
    """The largest divisor of ``n`` that is ≤ ``at_most`` (GroupNorm needs one)."""
    return max(k for k in range(1, min(n, at_most) + 1) if n % k == 0)


def comment_mlp(
    n_features: int,
    *,
    width: int = 80,
    depth: int = 2,
    input_groups: int = 4,
    hidden_groups: int = 2,
) -> nn.Sequential:
    """The Comment's perceptron: GroupNorm-normalised input, ``depth`` tanh layers of ``width``.

    ``depth=2, width=80`` is the published model. Group counts are reduced to the largest
    divisor of the layer size when it is not divisible (e.g. 4 groups need ``n_features``
    divisible by 4).
    """
    n_features = bounded_int("n_features", n_features, minimum=1)
    width, depth = network_shape(width, depth)
    layers: list[nn.Module] = [nn.GroupNorm(largest_divisor(n_features, input_groups), n_features)]
    size = n_features
    for _ in range(depth):
        layers += [
            nn.Linear(size, width),
            nn.GroupNorm(largest_divisor(width, hidden_groups), width),
            nn.Tanh(),
        ]
        size = width
    layers.append(nn.Linear(size, 1))
    return nn.Sequential(*layers)


class AtomicSumModel(nn.Module):
    """Sum over centres of per-species network outputs, plus the target offset.

    Parameters
    ----------
    n_features : mapping species -> int
        Feature length of every centre species, keyed by chemical symbol (e.g.
        ``{"C": 576}`` or ``{"C": 576, "H": 1728}``).
    width, depth : int
        Hidden layer size (≤ :data:`MAX_WIDTH`) and number of hidden layers
        (≤ :data:`MAX_DEPTH`) of every species network.

    Raises
    ------
    DegeneracyError
        When ``n_features`` is not such a mapping (a species that is not a chemical
        symbol, a length that is not an integer ≥ 1) or ``width`` or ``depth`` is out of
        range.

    Buffers ``scale_<species>`` (feature normalisation λ) and ``offset`` (target mean) are
    set by :meth:`set_normalisation` and saved with the weights, so the model maps raw
    features to the target.
    """

    def __init__(self, n_features: Mapping[str, int], *, width: int = 80, depth: int = 2):
        super().__init__()
        width, depth = network_shape(width, depth)
        self.config: dict[str, Any] = {
            "n_features": feature_lengths(n_features),
            "width": width,
            "depth": depth,
        }
        self.species = sorted(self.config["n_features"])
        self.networks = nn.ModuleDict(
            {
                s: comment_mlp(self.config["n_features"][s], width=width, depth=depth)
                for s in self.species
            }
        )
        for s in self.species:
            self.register_buffer(f"scale_{s}", torch.ones(()))
        self.register_buffer("offset", torch.zeros(()))

    def set_normalisation(self, scales: Mapping[str, float], offset: float) -> None:
        """Set the feature scales λ_s and the target offset Ē."""
        for s in self.species:
            getattr(self, f"scale_{s}").fill_(float(scales[s]))
        self.offset.fill_(float(offset))

    def contributions(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-centre outputs ``{species: (batch, n_centres)}`` (without the offset)."""
        out = {}
        for s in self.species:
            x = inputs[s]
            batch, n_centres, n_features = x.shape
            scaled = x.reshape(batch * n_centres, n_features) / getattr(self, f"scale_{s}")
            out[s] = self.networks[s](scaled).reshape(batch, n_centres)
        return out

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Predicted target, shape (batch,)."""
        total = self.offset
        for values in self.contributions(inputs).values():
            total = total + values.sum(dim=1)
        return total

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AtomicSumModel:
        """Rebuild (untrained) from :attr:`config`."""
        return cls(config["n_features"], width=config["width"], depth=config["depth"])
