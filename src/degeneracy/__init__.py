"""degeneracy: where, and how badly, does an atomic fingerprint fail to see atoms move?

Data flow: structures → representation → Jacobian → spectrum → analyses → figures.
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import DegeneracyError
from .representations import (
    REPRESENTATIONS,
    OptimalBasis,
    Representation,
    SoapPowerSpectrum,
    default_optimal_basis,
    finite_difference_jacobian,
    fit_optimal_basis,
    make_representation,
)
from .sensitivity import (
    FrameAnalysis,
    PointOperation,
    Spectrum,
    SymmetryVerdict,
    analyse_frames,
    point_symmetry,
    purified_jacobian,
    rotation_complement,
    rotation_generators,
    singular_spectrum,
    zero_verdict,
)
from .structures import (
    BUILTINS,
    CH4,
    EnvironmentSpec,
    MethaneSampler,
    builtin_environment,
    environment_from_neighbors,
    neighbor_positions,
    prl2020_methane,
    read_environments,
    regular_tetrahedron,
    sample_methane,
    spherical_point,
    validate_environment,
    write_environments,
)
from .targets import fourbody_torsion

try:
    __version__ = version("degeneracy")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "BUILTINS",
    "CH4",
    "REPRESENTATIONS",
    "DegeneracyError",
    "EnvironmentSpec",
    "FrameAnalysis",
    "MethaneSampler",
    "OptimalBasis",
    "PointOperation",
    "Representation",
    "SoapPowerSpectrum",
    "Spectrum",
    "SymmetryVerdict",
    "__version__",
    "analyse_frames",
    "builtin_environment",
    "default_optimal_basis",
    "environment_from_neighbors",
    "finite_difference_jacobian",
    "fit_optimal_basis",
    "fourbody_torsion",
    "make_representation",
    "neighbor_positions",
    "point_symmetry",
    "prl2020_methane",
    "purified_jacobian",
    "read_environments",
    "regular_tetrahedron",
    "rotation_complement",
    "rotation_generators",
    "sample_methane",
    "singular_spectrum",
    "spherical_point",
    "validate_environment",
    "write_environments",
    "zero_verdict",
]
