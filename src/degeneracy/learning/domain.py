r"""Applicability domain of a trained model: does a frame lie near its training frames?

A network fitted on thermal CH4 predicts something for any CH4, and far from its training
frames that something is an extrapolation (a square-planar CH4 gets E4 0.55, its E4 is
6.0). The check here is the distance-to-training-set criterion of QSAR and atomistic ML
(e.g. Sheridan et al., J. Chem. Inf. Comput. Sci. 44, 1912, 2004; Tetko et al., J. Chem.
Inf. Model. 48, 1733, 2008): in the network's own input space — each centre's features
divided by the model's normalisation :math:`\lambda_s` — the distance :math:`d` from a
centre to its nearest training centre of the same species, compared with a threshold
:math:`t_s` taken from the training data itself.

* **References**: per centre species, a seeded random subsample (:data:`N_REFERENCE` at
  most) of the centres of the random training frames, and every centre of the frames
  given as ``kept`` (the orbit frames trained on: 20 or 201 among 24 000, which a random
  subsample dropped in 8 seeds of 20, and the frames the model was trained on were then
  flagged outside its domain), stored as
  float16 (the distances are computed in float64 from them; rounding moves a distance by
  about 1e-4 of the feature norm, far below the thresholds).
* **Threshold**: calibrated on the validation frames, which the network never trained
  on, against those same references. Per species, :math:`s_s` is the
  :data:`DOMAIN_QUANTILE` quantile of the validation centres' distances; a frame's score
  is :math:`\max_i d_i / s_{s_i}` over its centres (an atomic-sum model extrapolates
  wherever one centre does); :math:`t_s = s_s\,q`, with :math:`q` the same quantile of the
  validation frames' scores. So the **distance ratio** :math:`r = \max_i d_i / t_{s_i}`
  exceeds 1 for 1 % of the validation frames by construction, and a frame with
  :math:`r > 1` is *outside the domain*. With one centre (the C-centred models)
  :math:`t` is simply the 99 % quantile of the validation frames' distances.

For the multi-centre model every centre is checked against training centres of its own
species (C against C, H against H): the network is a sum of per-centre networks, each of
which can extrapolate; an unusual H environment is an extrapolation even where the C
environment looks familiar.

Nearest neighbours by brute force (scikit-learn's ``NearestNeighbors``, as in
:mod:`.baselines`): in several hundred dimensions a k-d tree is no faster.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from ..checks import seeded_generator
from ..errors import DegeneracyError, DegeneracyWarning

#: Largest number of training centres per species whose features a model stores.
N_REFERENCE = 2000

#: Share of the validation frames inside the domain, by construction.
DOMAIN_QUANTILE = 0.99

#: Queries per block of nearest-neighbour distances (bounded memory: block × references).
QUERY_BLOCK = 2000


@dataclass(frozen=True)
class ApplicabilityDomain:
    """Stored training features and thresholds of a model (see the module doc).

    Attributes
    ----------
    references : dict of species -> ndarray (k, d)
        Normalised features of the reference training centres, float16.
    scales : dict of species -> float
        The model's feature normalisation λ_s (features are divided by it).
    thresholds : dict of species -> float
        Distance t_s (normalised units) beyond which a centre lies outside the domain.
    quantile : float
        Share of validation frames inside the domain by construction.
    n_frames : int
        Training frames the references were drawn from.
    """

    references: dict[str, np.ndarray]
    scales: dict[str, float]
    thresholds: dict[str, float]
    quantile: float
    n_frames: int

    def __post_init__(self) -> None:
        # a damaged model.pt gave tracebacks deep in scikit-learn (NaN, empty or cut
        # references) or ratios without meaning (a threshold of -1, 0, NaN or inf)
        species = set(self.references)
        if not species:
            raise DegeneracyError("no reference centres")
        for name, values in (("scales", self.scales), ("thresholds", self.thresholds)):
            if set(values) != species:
                raise DegeneracyError(
                    f"{name} are for species {sorted(values)}, the references for {sorted(species)}"
                )
            for centre, value in values.items():
                if not (math.isfinite(value) and value > 0):
                    raise DegeneracyError(
                        f"{name} of {centre}: {value}, not a finite positive number"
                    )
        for centre, features in self.references.items():
            if features.ndim != 2 or not len(features) or not features.shape[1]:
                raise DegeneracyError(
                    f"references of {centre} have shape {features.shape}, not (centres, features)"
                )
            if not np.isfinite(features).all():
                raise DegeneracyError(f"references of {centre} have non-finite features")
        if not 0 < self.quantile < 1:
            raise DegeneracyError(f"quantile {self.quantile}, not in (0, 1)")
        if self.n_frames < 1:
            raise DegeneracyError(f"n_frames {self.n_frames}, not a positive count")

    def check_fits(self, n_features: Mapping[str, int]) -> None:
        """Refuse references that are not of the network's inputs: other centre species,
        or another number of features (``n_features``: the model's, per species)."""
        widths = {centre: int(v.shape[1]) for centre, v in self.references.items()}
        if widths != dict(n_features):
            raise DegeneracyError(
                f"its references have features {widths}, its network takes {dict(n_features)}"
            )

    def payload(self) -> dict[str, Any]:
        """What ``model.pt`` stores (tensors and plain values: ``weights_only`` loading)."""
        return {
            "references": {s: torch.from_numpy(v) for s, v in self.references.items()},
            "scales": dict(self.scales),
            "thresholds": dict(self.thresholds),
            "quantile": self.quantile,
            "n_frames": self.n_frames,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ApplicabilityDomain:
        """Rebuild from :meth:`payload`."""
        return cls(
            references={s: v.numpy() for s, v in payload["references"].items()},
            scales={s: float(v) for s, v in payload["scales"].items()},
            thresholds={s: float(v) for s, v in payload["thresholds"].items()},
            quantile=float(payload["quantile"]),
            n_frames=int(payload["n_frames"]),
        )

    def centre_distances(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Distance (normalised units) of every centre to its nearest reference centre of
        its species: ``{species: (n_frames, n_centres)}``."""
        return _centre_distances(self.references, self.scales, inputs)

    def ratios(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Distance ratio r of every frame: its largest centre distance over the threshold;
        ``r > 1``: outside the domain. ``inputs`` are the featurizer's (raw) features."""
        distances = self.centre_distances(inputs)
        return _frame_scores(distances, self.thresholds)


def _centre_distances(
    references: Mapping[str, np.ndarray],
    scales: Mapping[str, float],
    inputs: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """:meth:`ApplicabilityDomain.centre_distances` of ``references`` (normalised by
    ``scales``), before any threshold exists (:func:`fit_domain` sets them from these)."""
    return {
        s: nearest_distances(references[s], _centres(inputs, s) / scales[s])
        for s in sorted(references)
    }


def _centres(inputs: Mapping[str, np.ndarray], species: str) -> np.ndarray:
    """Features of the ``species`` centres, (n_frames, n_centres, d), as float64."""
    if species not in inputs:
        raise DegeneracyError(f"no features of the {species} centres to check the domain with")
    values = np.asarray(inputs[species], dtype=np.float64)
    if values.ndim != 3:
        raise DegeneracyError(
            f"features of the {species} centres must have shape (frames, centres, "
            f"features), got {values.shape}"
        )
    return values


def nearest_distances(references: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distance of each query row to its nearest reference row.

    ``queries`` (..., d), ``references`` (k, d); returns shape ``queries.shape[:-1]``.
    """
    references = np.asarray(references, dtype=np.float64)
    shape = queries.shape[:-1]
    flat = np.asarray(queries, dtype=np.float64).reshape(-1, queries.shape[-1])
    if not len(flat):
        return np.zeros(shape)
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(references)
    parts = [
        index.kneighbors(flat[start : start + QUERY_BLOCK])[0][:, 0]
        for start in range(0, len(flat), QUERY_BLOCK)
    ]
    return np.concatenate(parts).reshape(shape)


def _frame_scores(distances: Mapping[str, np.ndarray], scales: Mapping[str, float]) -> np.ndarray:
    """Per frame, the largest centre distance divided by its species' scale."""
    return np.max(np.column_stack([distances[s] / scales[s] for s in sorted(distances)]), axis=1)


def fit_domain(
    train_inputs: Mapping[str, np.ndarray],
    val_inputs: Mapping[str, np.ndarray],
    scales: Mapping[str, float],
    *,
    kept: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    n_reference: int = N_REFERENCE,
    quantile: float = DOMAIN_QUANTILE,
) -> ApplicabilityDomain:
    """The applicability domain of a model trained on ``train_inputs`` (see the module doc).

    Parameters
    ----------
    train_inputs, val_inputs : dict of species -> ndarray (n, n_centres, d)
        Features of the distinct training frames and of the validation frames.
    kept : dict of species -> ndarray (m, n_centres, d), optional
        Features of more training frames, every one kept as a reference (few and rare
        among the others: the orbit frames trained on), beside the subsample of
        ``train_inputs``.
    scales : dict of species -> float
        The model's feature normalisation (:func:`~.protocols.feature_scales`).
    seed : int
        Chooses the reference frames.
    n_reference : int
        Largest number of reference centres stored per species.
    quantile : float
        Share of validation frames inside the domain, in (0, 1).

    Returns
    -------
    ApplicabilityDomain

    Raises
    ------
    DegeneracyError
        When there are no training or validation frames, or ``quantile`` is not in (0, 1).
    """
    if not 0 < quantile < 1:
        raise DegeneracyError(f"domain quantile must be between 0 and 1, got {quantile}")
    species = sorted(scales)
    n_train = len(_centres(train_inputs, species[0]))
    if n_train == 0 or len(_centres(val_inputs, species[0])) == 0:
        raise DegeneracyError("the applicability domain needs training and validation frames")
    generator = seeded_generator(seed)
    references = {}
    for s in species:
        centres = _centres(train_inputs, s).reshape(-1, train_inputs[s].shape[-1])
        chosen = centres[np.sort(generator.permutation(len(centres))[:n_reference])]
        if kept is not None:  # every one of them, after the draw
            chosen = np.concatenate([chosen, _centres(kept, s).reshape(-1, chosen.shape[-1])])
        references[s] = (chosen / scales[s]).astype(np.float16)
    if kept is not None:
        n_train += len(kept[species[0]])
    scales = {s: float(scales[s]) for s in species}
    distances = _centre_distances(references, scales, val_inputs)
    spreads = {s: _positive(np.quantile(distances[s], quantile)) for s in species}
    factor = _positive(np.quantile(_frame_scores(distances, spreads), quantile))
    thresholds = {s: spreads[s] * factor for s in species}
    return ApplicabilityDomain(references, scales, thresholds, quantile, n_train)


def _positive(value: float) -> float:
    """``value``, or the smallest positive float for 0 (validation frames that are
    training frames): a threshold divides."""
    return max(float(value), float(np.finfo(np.float64).tiny))


@dataclass(frozen=True)
class DomainCheck:
    """Where frames lie relative to a model's applicability domain.

    ``ratios``: distance ratio per frame (``None``: not checked, the model stores no
    training features); ``inside``: ``ratios <= 1``.
    """

    ratios: np.ndarray | None

    @property
    def inside(self) -> np.ndarray | None:
        """Per frame, whether it lies inside the domain (``None``: not checked)."""
        return None if self.ratios is None else self.ratios <= 1.0


def check_domain(
    domain: ApplicabilityDomain | None,
    inputs: Mapping[str, np.ndarray],
    *,
    source: str,
    model: str,
) -> DomainCheck:
    """Distance ratios of ``inputs`` to ``domain``; warn about frames outside it.

    Warns
    -----
    DegeneracyWarning
        Once, naming ``source``, how many frames lie outside the domain and the first of
        them; or, when ``domain`` is ``None`` (a model saved before the check existed),
        once that ``model`` cannot be checked.
    """
    if domain is None:
        warnings.warn(
            DegeneracyWarning(
                f"{model}: saved without its training features (an older degeneracy): "
                "whether frames lie in its applicability domain is not checked"
            ),
            stacklevel=2,
        )
        return DomainCheck(None)
    result = DomainCheck(domain.ratios(inputs))
    outside = np.flatnonzero(~result.inside)
    if outside.size:
        first = int(outside[0])
        warnings.warn(
            DegeneracyWarning(
                f"{source}: {outside.size} of {len(result.ratios)} frames lie outside the "
                f"model's applicability domain (first: frame {first}, "
                f"{result.ratios[first]:.3g} times the distance to the training frames that "
                f"{100 * domain.quantile:g} % of validation frames stay within): "
                "their predictions are extrapolations"
            ),
            stacklevel=2,
        )
    return result
