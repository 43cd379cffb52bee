"""Fingerprints behind one :class:`Representation` protocol, one adapter module each."""

import inspect

from ..errors import DegeneracyError
from .acsf import ACSF_SETS, Acsf, acsf_parameters
from .base import Representation, batches, finite_difference_jacobian
from .bispectrum import Bispectrum
from .om import OverlapMatrix
from .optimal_basis import OptimalBasis, default_optimal_basis, fit_optimal_basis
from .soap import SoapPowerSpectrum

#: Representation classes by the name the command line uses (``--rep``).
REPRESENTATIONS: dict[str, type] = {
    "soap": SoapPowerSpectrum,
    "bispectrum": Bispectrum,
    "acsf": Acsf,
    "om": OverlapMatrix,
}


def make_representation(name: str, **hypers) -> Representation:
    """Build the representation called ``name`` with keyword hyperparameters."""
    if name not in REPRESENTATIONS:
        raise DegeneracyError(
            f"unknown representation {name!r}; choose one of {sorted(REPRESENTATIONS)}"
        )
    known = set(inspect.signature(REPRESENTATIONS[name]).parameters)
    unknown = sorted(set(hypers) - known)
    if unknown:
        raise DegeneracyError(
            f"{name}: unknown hyperparameter {unknown[0]!r}; it takes {', '.join(sorted(known))}"
        )
    return REPRESENTATIONS[name](**hypers)


__all__ = [
    "ACSF_SETS",
    "REPRESENTATIONS",
    "Acsf",
    "Bispectrum",
    "OptimalBasis",
    "OverlapMatrix",
    "Representation",
    "SoapPowerSpectrum",
    "acsf_parameters",
    "batches",
    "default_optimal_basis",
    "finite_difference_jacobian",
    "fit_optimal_basis",
    "make_representation",
]
