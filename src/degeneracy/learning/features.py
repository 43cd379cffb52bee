"""Featurizers: model inputs from environments, and how to rebuild them for ``predict``.

:class:`CentreFeaturizer` wraps any :class:`~degeneracy.representations.Representation`
(the C-centred fingerprint of the Comment's experiment); :class:`~.multicentre.
MultiCentreSoap` describes every atom. Both give ``{species: (n_frames, n_centres, d)}``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ase
import ase.data
import featomic
import numpy as np

from ..errors import DegeneracyError
from ..representations import OptimalBasis, Representation, make_representation
from ..representations.base import fingerprint

#: File name of a saved optimal radial basis inside a model folder.
BASIS_FILE = "basis.npz"

#: The optimal bases of a saved multi-centre model, by centre species (C's is
#: :data:`BASIS_FILE`, as a single-centre model's).
CENTRE_BASIS_FILES = {"C": BASIS_FILE, "H": "basis-H.npz"}


@functools.lru_cache(maxsize=1)
def fingerprint_code_digest() -> str:
    """A short hash of the source of ``degeneracy.representations``, for cache keys.

    ACSF, the overlap matrix, the bispectrum's coupling and the SOAP adapter are this
    package's own arithmetic: a change there changes the features under the same
    hyperparameters and featomic version, and a cache keyed by those alone would keep
    serving the old features. Any edit of the package's modules makes new keys (a
    docstring's too: features are cheap to compute again, stale ones are wrong numbers).
    """
    from .. import representations

    digest = hashlib.sha256()
    for module in sorted(Path(representations.__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()[:16]


def basis_digest(basis: OptimalBasis | None) -> str | None:
    """A short hash of an optimal basis' projections (None without one)."""
    return None if basis is None else basis.digest()


def representation_identity(representation: Representation) -> dict[str, Any]:
    """Name, hyperparameters and (SOAP with the optimal basis) the basis' hash."""
    identity = {"name": representation.name, "hypers": representation.hypers()}
    basis = getattr(representation, "optimal_basis", None)
    if basis is not None:
        identity["basis"] = basis_digest(basis)
    return json.loads(json.dumps(identity, default=str))


def featurizer_cutoff(featurizer: Any, *, default: float | None = None) -> float | None:
    """The cutoff radius (Å) of a featurizer's fingerprint; ``default`` if its key has none.

    Read from the hyperparameters in :meth:`~.datasets.Featurizer.key`, which
    :class:`CentreFeaturizer` and the multi-centre SOAP both record. A neighbour at or
    beyond it does not enter the features.

    Raises :class:`DegeneracyError` for an object without a ``key()`` method giving a
    dict (not a featurizer: a fingerprint needs wrapping, e.g. in ``CentreFeaturizer``)
    or a recorded cutoff that is not a number.
    """
    key = getattr(featurizer, "key", None)
    identity = key() if callable(key) else None
    if not isinstance(identity, Mapping):
        raise DegeneracyError(
            f"not a featurizer: {featurizer!r} (its key() must give its settings); build one, "
            "e.g. CentreFeaturizer(dg.SoapPowerSpectrum()) or MultiCentreSoap()"
        )
    hypers = identity.get("hypers", {})
    if not isinstance(hypers, Mapping):
        raise DegeneracyError(f"{featurizer!r}: the hypers of its key() are not a dict: {hypers!r}")
    cutoff = hypers.get("cutoff")
    if cutoff is None:
        return default
    try:
        return float(cutoff)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"{featurizer!r}: its cutoff {cutoff!r} is not a number") from error


class CentreFeaturizer:
    """The features of the centre atom (atom 0) from one representation.

    Inputs are ``{"C": (n_frames, 1, d)}`` (the centre's chemical symbol as key).
    """

    kind = "centre"

    def __init__(self, representation: Representation) -> None:
        self.representation = fingerprint(representation)

    def __repr__(self) -> str:
        return f"CentreFeaturizer({self.representation!r})"

    @property
    def species(self) -> str:
        centre = self.representation.hypers().get("center", "C")
        if isinstance(centre, (int, np.integer)):
            centre = ase.data.chemical_symbols[int(centre)]
        return str(centre)

    def key(self) -> dict[str, Any]:
        identity = representation_identity(self.representation)
        return {
            "kind": self.kind,
            "featomic": featomic.__version__,
            "code": fingerprint_code_digest(),
            **identity,
        }

    def inputs(self, frames: Sequence[ase.Atoms]) -> dict[str, np.ndarray]:
        features = np.asarray(self.representation.features(list(frames)))
        return {self.species: features[:, None, :]}

    def input_jacobians(self, frames: Sequence[ase.Atoms]) -> dict[str, np.ndarray]:
        """``{"C": (n_frames, 1, d, 3N)}``: the representation's Jacobian (centre fixed)."""
        _, jacobian = self.representation.jacobian(list(frames))
        return {self.species: np.asarray(jacobian)[:, None]}

    def spec(self) -> dict[str, Any]:
        basis = getattr(self.representation, "optimal_basis", None)
        return {
            "kind": self.kind,
            "representation": self.representation.name,
            "hypers": json.loads(json.dumps(self.representation.hypers(), default=str)),
            "basis_file": BASIS_FILE if basis is not None else None,
            "basis_digest": basis_digest(basis),  # checked when the model is loaded
        }

    def save(self, folder: Path) -> None:
        basis = getattr(self.representation, "optimal_basis", None)
        if basis is not None:
            basis.save(Path(folder) / BASIS_FILE)


def _load_basis(spec: dict[str, Any], folder: Path) -> OptimalBasis | None:
    if not spec.get("basis_file"):
        return None
    return load_trained_basis(Path(folder) / spec["basis_file"], spec.get("basis_digest"))


def load_trained_basis(path: Path, digest: str | None) -> OptimalBasis:
    """The optimal basis of a saved model, refused when it is not the one the model was
    trained with (``digest`` recorded at saving; models saved before it are not checked).
    Another basis of the same settings gives other features, and the network's weights
    mean nothing on them."""
    if not path.exists():  # was "PATH: no such file", which did not say whose file it is
        raise DegeneracyError(
            f"{path}: missing, the optimal basis the model beside it was trained with "
            "(copy it with model.pt)"
        )
    basis = OptimalBasis.load(path)
    if digest is not None and basis.digest() != digest:
        raise DegeneracyError(
            f"{path}: not the optimal basis this model was trained with (digest "
            f"{basis.digest()}, the model recorded {digest}); restore it or train again"
        )
    return basis


def featurizer_from_spec(
    spec: dict[str, Any], folder: str | Path, *, source: str | Path | None = None
):
    """Rebuild the featurizer saved in a model folder (see :func:`save_model`).

    Its basis files are read from ``folder``; an error in the settings of ``spec`` (an
    unknown kind, a hyperparameter out of range) names ``source`` (e.g. the model file;
    default ``folder``).
    """
    folder = Path(folder)
    source = folder if source is None else source
    kind = spec.get("kind")
    if kind == "centre":
        hypers = dict(spec["hypers"])
        basis = _load_basis(spec, folder)
        if basis is not None:
            hypers["optimal_basis"] = basis
        with _settings_of(source):
            return CentreFeaturizer(make_representation(spec["representation"], **hypers))
    if kind == "multicentre":
        from .multicentre import MultiCentreSoap

        files = spec.get("basis_files")
        if files:  # one basis per centre species
            digests = spec.get("basis_digests") or {}
            bases = {
                c: load_trained_basis(folder / name, digests.get(c)) for c, name in files.items()
            }
        else:  # a model saved before each centre had its own basis: one for both, or none
            bases = _load_basis(spec, folder)
        with _settings_of(source):
            return MultiCentreSoap(**spec["hypers"], optimal_basis=bases)
    raise DegeneracyError(f"{source}: unknown featurizer kind {kind!r}")


@contextmanager
def _settings_of(source: str | Path) -> Iterator[None]:
    """Errors of saved settings prefixed with where they were read (``source: n_max ...``)."""
    try:
        yield
    except DegeneracyError as error:
        raise DegeneracyError(f"{source}: {error}", kind=error.kind) from error
