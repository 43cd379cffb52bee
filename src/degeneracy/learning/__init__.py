"""The learnability experiment (Comment Fig. 2): can a network learn E4 along an orbit?

Data flow: random CH4 (:mod:`.datasets`) and an orbit → features of any fingerprint
(:mod:`.features`, :mod:`.multicentre`; cached) → the Comment's network (:mod:`.model`)
trained with checkpoints and early stopping (:mod:`.trainer`) → the three protocols and
their metrics (:mod:`.protocols`), against ridge and nearest-neighbour regressors on the
same features (:mod:`.baselines`).
"""

from .baselines import baseline_errors, nearest_neighbour_baseline, ridge_baseline
from .datasets import (
    SAMPLERS,
    Dataset,
    ThermalMethaneSampler,
    TiltedMethaneSampler,
    TrajectoryMethaneSampler,
    cached_inputs,
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
    PROTOCOLS,
    Protocol,
    ProtocolResult,
    clear_heldout_gap,
    errors_by_target_quantile,
    heldout_orbit_gap,
    load_model,
    load_orbit,
    load_run,
    orbit_split,
    predict_frames,
    repeat_summary,
    run_protocol,
    save_model,
    summarise_repeats,
)
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
    "repeat_summary",
    "ridge_baseline",
    "run_protocol",
    "save_model",
    "summarise_repeats",
    "with_targets",
]
