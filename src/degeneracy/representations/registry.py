"""The representations by the name the command line uses, and building one from keywords."""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import DegeneracyError
from .acsf import Acsf
from .base import Representation
from .bispectrum import Bispectrum
from .om import OverlapMatrix
from .soap import SoapPowerSpectrum

#: Representation classes by the name the command line uses (``--rep``).
REPRESENTATIONS: dict[str, type] = {
    "soap": SoapPowerSpectrum,
    "bispectrum": Bispectrum,
    "acsf": Acsf,
    "om": OverlapMatrix,
}


def representation_class(name: str) -> type:
    """The representation class called ``name`` on the command line (``--rep``)."""
    if not isinstance(name, str) or name not in REPRESENTATIONS:  # a list is unhashable
        raise DegeneracyError(
            f"unknown representation {name!r}; choose one of {sorted(REPRESENTATIONS)}"
        )
    return REPRESENTATIONS[name]


def species_aware(representation: str | type) -> bool:
    """Whether a representation (a ``--rep`` name or a class) is built for one centre
    species and a list of neighbour species (takes ``center`` and ``neighbors``).

    Parameters
    ----------
    representation : str or type
        A key of :data:`REPRESENTATIONS` (``"soap"``, ``"bispectrum"``, ``"acsf"``,
        ``"om"``) or a representation class.

    Returns
    -------
    bool
        Whether its constructor has both a ``center`` and a ``neighbors`` parameter.

    Raises
    ------
    DegeneracyError
        For an unknown name, or a value that is neither a name nor a class.
    """
    cls = (
        representation if isinstance(representation, type) else representation_class(representation)
    )
    parameters = inspect.signature(cls).parameters
    return "center" in parameters and "neighbors" in parameters


def make_representation(name: str, **hypers: Any) -> Representation:
    """Build the representation called ``name`` with keyword hyperparameters.

    Parameters
    ----------
    name : {"soap", "bispectrum", "acsf", "om"}
        A key of :data:`REPRESENTATIONS` (the command line's ``--rep``).
    **hypers
        Keyword arguments of that class's constructor (e.g. ``sigma=0.3`` for SOAP).

    Returns
    -------
    Representation
        A new instance of the class.

    Raises
    ------
    DegeneracyError
        For an unknown name or hyperparameter, or a value the class refuses.
    """
    cls = representation_class(name)
    known = set(inspect.signature(cls).parameters)
    unknown = sorted(set(hypers) - known)
    if unknown:
        raise DegeneracyError(
            f"{name}: unknown hyperparameter {unknown[0]!r}; it takes {', '.join(sorted(known))}"
        )
    return cls(**hypers)
