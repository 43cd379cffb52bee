"""Public names of this package, for type checkers and the lazy loader (SPEC 1)."""

# Submodules, also reachable as attributes (``dg.orbits``), loaded on first use.
from . import acsf, base, bispectrum, om, optimal_basis, registry, soap
from .acsf import ACSF_SETS, Acsf, acsf_parameters
from .base import Representation, batches, finite_difference_jacobian
from .bispectrum import Bispectrum
from .om import OverlapMatrix
from .optimal_basis import OptimalBasis, default_optimal_basis, fit_optimal_basis
from .registry import REPRESENTATIONS, make_representation, species_aware
from .soap import SoapPowerSpectrum

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
    "species_aware",
]
