"""degeneracy: where, and how badly, does an atomic fingerprint fail to see atoms move?

Data flow: structures → representation → Jacobian → spectrum → analyses → figures.
"""

from importlib.metadata import PackageNotFoundError, version

from .compare import Comparison, compare_fingerprints
from .environments import environments_of, structure_environments
from .errors import DegeneracyError
from .orbits import (
    Orbit,
    comment_a0,
    comment_orbit,
    median_cn,
    orbit_deviation,
    run_family,
    trace_orbit,
)
from .pairs import (
    PairParameters,
    PairSampler,
    PairVerdict,
    best_alignment,
    equal_radius_partner_residual,
    fold_frames,
    pair_frames,
    prl2020_grid,
    random_pairs,
    verify_pairs,
)
from .representations import (
    ACSF_SETS,
    REPRESENTATIONS,
    Acsf,
    Bispectrum,
    OptimalBasis,
    OverlapMatrix,
    Representation,
    SoapPowerSpectrum,
    default_optimal_basis,
    finite_difference_jacobian,
    fit_optimal_basis,
    make_representation,
)
from .scan import (
    EnvironmentSpectra,
    RepresentationRecipe,
    ScanSummary,
    environment_spectra,
    most_singular,
    read_results,
    scan_dataset,
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
from .singular import SingularResult, aligned_distance, find_singular
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
    "ACSF_SETS",
    "BUILTINS",
    "CH4",
    "REPRESENTATIONS",
    "Acsf",
    "Bispectrum",
    "Comparison",
    "DegeneracyError",
    "EnvironmentSpec",
    "EnvironmentSpectra",
    "FrameAnalysis",
    "MethaneSampler",
    "OptimalBasis",
    "Orbit",
    "OverlapMatrix",
    "PairParameters",
    "PairSampler",
    "PairVerdict",
    "PointOperation",
    "Representation",
    "RepresentationRecipe",
    "ScanSummary",
    "SingularResult",
    "SoapPowerSpectrum",
    "Spectrum",
    "SymmetryVerdict",
    "__version__",
    "aligned_distance",
    "analyse_frames",
    "best_alignment",
    "builtin_environment",
    "comment_a0",
    "comment_orbit",
    "compare_fingerprints",
    "default_optimal_basis",
    "environment_from_neighbors",
    "environment_spectra",
    "environments_of",
    "equal_radius_partner_residual",
    "find_singular",
    "finite_difference_jacobian",
    "fit_optimal_basis",
    "fold_frames",
    "fourbody_torsion",
    "make_representation",
    "median_cn",
    "most_singular",
    "neighbor_positions",
    "orbit_deviation",
    "pair_frames",
    "point_symmetry",
    "prl2020_grid",
    "prl2020_methane",
    "purified_jacobian",
    "random_pairs",
    "read_environments",
    "read_results",
    "regular_tetrahedron",
    "rotation_complement",
    "rotation_generators",
    "run_family",
    "sample_methane",
    "scan_dataset",
    "singular_spectrum",
    "spherical_point",
    "structure_environments",
    "trace_orbit",
    "validate_environment",
    "verify_pairs",
    "write_environments",
    "zero_verdict",
]
