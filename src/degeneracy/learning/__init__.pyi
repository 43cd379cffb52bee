"""Public names of this package, for type checkers and the lazy loader (SPEC 1)."""

# Submodules, also reachable as attributes (``dg.orbits``), loaded on first use.
from . import baselines, datasets, features, model, multicentre, protocols, specs, trainer
from .baselines import baseline_errors, nearest_neighbour_baseline, ridge_baseline
from .datasets import (
    SAMPLERS,
    Dataset,
    ThermalMethaneSampler,
    TiltedMethaneSampler,
    TrajectoryMethaneSampler,
    cached_inputs,
    compute_input_jacobians,
    compute_inputs,
    default_datasets,
    generate_dataset,
    langevin_mode_paths,
    make_sampler,
    random_split,
    with_targets,
)
from .features import CentreFeaturizer, featurizer_from_spec
from .model import AtomicSumModel, comment_mlp
from .multicentre import MultiCentreSoap
from .protocols import (
    ProtocolResult,
    clear_heldout_gap,
    errors_by_target_quantile,
    heldout_orbit_gap,
    load_model,
    load_orbit,
    load_run,
    orbit_split,
    predict_frames,
    repeat_folders,
    repeat_summary,
    run_protocol,
    save_model,
    summarise_repeats,
    training_gradients,
)
from .specs import PROTOCOLS, Protocol
from .trainer import TensorSet, Trainer, TrainResult, TrainSettings

__all__ = [
    "PROTOCOLS",
    "SAMPLERS",
    "AtomicSumModel",
    "CentreFeaturizer",
    "Dataset",
    "MultiCentreSoap",
    "Protocol",
    "ProtocolResult",
    "TensorSet",
    "ThermalMethaneSampler",
    "TiltedMethaneSampler",
    "TrainResult",
    "TrainSettings",
    "Trainer",
    "TrajectoryMethaneSampler",
    "baseline_errors",
    "cached_inputs",
    "clear_heldout_gap",
    "comment_mlp",
    "compute_input_jacobians",
    "compute_inputs",
    "default_datasets",
    "errors_by_target_quantile",
    "featurizer_from_spec",
    "generate_dataset",
    "heldout_orbit_gap",
    "langevin_mode_paths",
    "load_model",
    "load_orbit",
    "load_run",
    "make_sampler",
    "nearest_neighbour_baseline",
    "orbit_split",
    "predict_frames",
    "random_split",
    "repeat_folders",
    "repeat_summary",
    "ridge_baseline",
    "run_protocol",
    "save_model",
    "summarise_repeats",
    "training_gradients",
    "with_targets",
]
