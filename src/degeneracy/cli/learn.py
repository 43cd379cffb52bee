"""``degeneracy learn``: the learnability experiment of the Comment's Fig. 2.

The torch- and featomic-backed names are imported in the functions that use them, so
that building the parser (``--help``, argument errors) stays light.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..checks import bounded_int, positive_float
from ..errors import DegeneracyError
from ..files import exclusive_output, json_text, write_json
from ..learning.datasets import N_TEST, N_TRAIN, N_VAL, QUICK_SIZES, SAMPLERS, default_datasets
from ..learning.specs import PROTOCOLS, RMSE_KEYS
from ..structures import DEFAULT_CUTOFF
from . import PARAMETER_OPTIONS
from .options import (
    RecordedStore,
    add_representation_arguments,
    add_sampler_argument,
    add_units_argument,
    check_options_apply,
    in_hyper_option_terms,
    option_of,
    refuse_options,
    representation_from_args,
    results_folder,
    reworded,
    seed_value,
    set_default,
    soap_hypers_from_args,
)

if TYPE_CHECKING:
    import torch

    from ..learning import TrainSettings


def featurizer_from_args(args: argparse.Namespace):
    """C-centred fingerprint from ``--rep`` (single model) or the multi-centre SOAP."""
    from ..learning import CentreFeaturizer, MultiCentreSoap

    if args.model == "multicentre":
        if args.rep != "soap":
            refuse_options(
                args, ["rep"], f"{args.rep} does not apply to --model multicentre (SOAP)"
            )
        check_options_apply(args, ["soap"])
        with in_hyper_option_terms("soap"):  # "cutoff 20 Å is 66.7 times sigma 0.3 Å"
            return MultiCentreSoap(**soap_hypers_from_args(args))
    return CentreFeaturizer(representation_from_args(args))


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    """Training settings: defaults (or --quick / --comment-settings) plus explicit options."""
    from ..learning import TrainSettings
    from ..learning.trainer import gradient_weight_value

    changes = {
        "max_epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "lr_patience": args.lr_patience,
        "stop_patience": args.stop_patience,
        "max_seconds": None
        if args.max_minutes is None
        else 60.0 * positive_float("--max-minutes", args.max_minutes),
        "device": args.device,
        "threads": args.threads,
        "gradient_weight": None
        if args.gradient_weight is None
        else gradient_weight_value(args.gradient_weight, "--gradient-weight"),
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.quick and args.comment_settings:
        raise DegeneracyError(
            "--comment-settings does not apply with --quick (a short run on small data)"
        )
    if args.no_time_limit:
        changes["max_seconds"] = None
    if args.comment_settings:
        return TrainSettings.comment(**changes)
    if args.quick:
        return TrainSettings.quick(**changes)
    return TrainSettings(**changes)


#: Options that shape the traced orbit: meaningless with ``--orbit FILE``.
TRACED_ORBIT_OPTIONS = ("orbit_sigma", "orbit_c", "orbit_basis")


def check_orbit_options(args: argparse.Namespace) -> None:
    """Refuse orbit options that the orbit's source (FILE or traced) would ignore."""
    if args.orbit is not None:
        refuse_options(
            args,
            TRACED_ORBIT_OPTIONS,
            "shapes the traced orbit; it does not apply with --orbit FILE",
        )
    else:
        refuse_options(
            args, ["orbit_units"], "is the length unit of --orbit FILE, and none is given"
        )


#: Options of the data set sizes (``sizes`` of :func:`~degeneracy.learning.default_datasets`).
SIZE_OPTIONS = {"train": "n_train", "val": "n_val", "test": "n_test"}

#: Largest ``--n-train``/``--n-val``/``--n-test``: the structures and their features are
#: held in memory (the default SOAP's 576 float32 features take ~2.3 GB per million
#: frames before the network's own copies; 192 000 frames is the largest run measured).
MAX_SET_SIZE = 1_000_000

#: TrainSettings' fields that options of another name set: their errors name the option.
SETTINGS_OPTIONS = {"max_epochs": "--epochs", "learning_rate": "--lr"}

#: The library's keywords that ``learn`` sets otherwise than by an option of their name,
#: as its errors say them (with :data:`SETTINGS_OPTIONS`, its ``PARAMETER_OPTIONS``):
#: :func:`~degeneracy.learning.protocols.check_same_layout`'s ``all_protocols=True`` is
#: ``--protocol all``; TrainSettings' ``lr_factor`` and ``min_learning_rate`` are chosen
#: by ``--quick`` or ``--comment-settings``.
LIBRARY_KEYWORDS = {
    "all_protocols": "--protocol all",
    "lr_factor": "lr_factor (of --quick or --comment-settings)",
    "min_learning_rate": "min_learning_rate (of --quick or --comment-settings)",
}


def check_learn_numbers(args: argparse.Namespace) -> None:
    """The numbers of the command line that the library would refuse in its own words
    ("number of structures must be ...", "sigma must be ..." about the orbit's σ, which
    ``--sigma`` does not set), refused before any work, each naming its option.

    The training settings' numbers are TrainSettings' to check (its field names are
    mapped to the options: :data:`SETTINGS_OPTIONS`); ``--max-minutes`` and
    ``--gradient-weight``, which are converted or optional, are checked where they are read
    (:func:`settings_from_args`).
    """
    for dest in SIZE_OPTIONS.values():
        if getattr(args, dest) is not None:
            bounded_int(
                option_of(dest),
                getattr(args, dest),
                minimum=1,
                maximum=MAX_SET_SIZE,
                why="each set's structures and features are held in memory",
            )
    if args.orbit is None:  # the traced orbit's; with --orbit FILE they are refused as moot
        from ..representations.base import density_width

        # traced with the Comment's SOAP, whose cutoff is fixed (orbits.comment_representation)
        try:
            density_width(
                args.orbit_sigma, cutoff=DEFAULT_CUTOFF, name="--orbit-sigma", cutoff_name=None
            )
        except DegeneracyError as error:  # which cutoff: not --cutoff, the model's
            raise DegeneracyError(f"{error} (the traced orbit's cutoff is fixed)") from error
        positive_float("--orbit-c", args.orbit_c)


def orbit_units_terms(text: str) -> str:
    """A message about the ``--orbit`` file with its units question in ``learn``'s option:
    '(units="bohr")' is "(--orbit-units bohr)"."""
    return re.sub(r'\(units="(\w+)"\)', r"(--orbit-units \1)", text)


def datasets_from_args(args: argparse.Namespace, featurizer) -> dict:
    """Training, validation and independent test sets (cached), and the orbit.

    Each is refused, before the orbit is traced, when a frame has a neighbour at or beyond
    the ``featurizer``'s cutoff (:func:`~degeneracy.learning.protocols.check_within_cutoff`).
    """
    from ..learning import load_orbit
    from ..learning.features import featurizer_cutoff
    from ..learning.protocols import check_within_cutoff

    data = default_datasets(
        quick=args.quick,
        seed=args.data_seed,
        sampler=args.sampler,
        test_sampler=args.test_sampler,
        sizes={name: getattr(args, dest) for name, dest in SIZE_OPTIONS.items()},
    )
    check_within_cutoff(data, featurizer_cutoff(featurizer))
    try:
        # the file's units question in learn's option ('is the file in bohr?
        # (units="bohr")' is --orbit-units here)
        with reworded(warning=orbit_units_terms, error=orbit_units_terms):
            data["orbit"] = load_orbit(
                args.orbit,
                units=args.orbit_units,
                sigma=args.orbit_sigma,
                c=args.orbit_c,
                basis=args.orbit_basis,
                quick=args.quick,
                cutoff=featurizer_cutoff(featurizer, default=DEFAULT_CUTOFF),
            )
    except DegeneracyError as error:
        if args.orbit is not None:
            raise
        # a traced orbit's frames come from these options: name them, not a bare "frame 0"
        raise DegeneracyError(
            f"the orbit traced with --orbit-sigma {args.orbit_sigma:g} --orbit-c "
            f"{args.orbit_c:g}: {error}"
        ) from error
    return data


def _error_text(value: float | None) -> str:
    """An error to 4 decimals, ``-`` when not measured (e.g. no held-out orbit frames)."""
    return "-" if value is None else f"{value:.4f}"


def format_summary(metrics: dict) -> str:
    """One line per metric, ``name value``."""
    lines = [f"protocol {metrics['protocol']}: {metrics['protocol_description']}"]
    for key in RMSE_KEYS:
        lines.append(f"  {key:20s} {_error_text(metrics.get(key))}")
    bins = metrics.get("val_by_target_quantile") or []
    if bins:
        lines.append("  validation by E4 quantile (range: RMSE, share of squared error)")
        for row in bins:
            lower, upper = round(100 * row["quantile_min"]), round(100 * row["quantile"])
            lines.append(
                f"    {lower:3d}-{upper:3d} %  E4 {row['target_min']:.3f}-{row['target_max']:.3f}: "
                f"{row['rmse']:.4f}, {row['share']:.0%}"
            )
    lines.extend(_slope_and_gradient_lines(metrics))
    lines.extend(_baseline_lines(metrics.get("baselines"), metrics.get("val_rmse")))
    lines.append(
        f"  epochs {metrics['epochs']} (best {metrics['best_epoch']}, {metrics['stopped']}), "
        f"{metrics['seconds']:.0f} s"
    )
    return "\n".join(lines) + "\n"


def _slope_and_gradient_lines(metrics: dict) -> list[str]:
    """The slope along the orbit and the errors of the predicted E4 gradient."""
    lines = []
    if metrics.get("orbit_slope_rms") is not None:
        corr = metrics.get("orbit_slope_corr")
        lines.append(
            f"  slope along the orbit (1/Å): E4 RMS {metrics['orbit_slope_rms']:.3f}, "
            f"predicted RMS {metrics['orbit_slope_prediction_rms']:.3f}, "
            f"correlation {'-' if corr is None else f'{corr:.2f}'}"
        )
    names = [n for n in ("train", "val", "test", "orbit") if f"{n}_gradient_rmse" in metrics]
    if names:
        errors = ", ".join(f"{n} {_error_text(metrics[f'{n}_gradient_rmse'])}" for n in names)
        spread = metrics.get(f"{names[0]}_gradient_rms")
        lines.append(f"  gradient RMSE (1/Å; {names[0]} RMS {spread:.3f}): {errors}")
        if metrics.get("val_gradient_flat_rms") is not None:
            lines.append(
                f"    validation: {metrics['val_gradient_flat_rms']:.4f} per direction where "
                "E4 is flat (all of it wrong: E4's is 0), error "
                f"{metrics['val_gradient_shape_rmse']:.4f} per shape direction"
            )
    return lines


def _ridge_label(alpha: float | None) -> str:
    """``ridge (alpha 1e-02)``; without α (one distinct training frame), saying so."""
    return "ridge (one training frame)" if alpha is None else f"ridge (alpha {alpha:.0e})"


def _baseline_lines(baselines: dict | None, network_val: float | None) -> list[str]:
    """The ridge and nearest-neighbour errors on the network's features, if recorded.

    Ends with a warning when a baseline's validation error is below the network's: the
    network is under-trained (``--quick``, a short ``--max-minutes``) and its errors say
    little about the fingerprint.
    """
    if not baselines:
        return []
    lines = [f"  {'baselines on the same features':32s} {'val':>8s} {'orbit held out':>15s}"]
    labels = {
        "ridge": _ridge_label(baselines["ridge"]["alpha"]),
        "nearest_neighbour": "nearest neighbour",
    }
    for model, label in labels.items():
        val, orbit = (baselines[model].get(f"{k}_rmse") for k in ("val", "orbit_heldout"))
        lines.append(f"    {label:30s} {_error_text(val):>8s} {_error_text(orbit):>15s}")
    beaten_by = [
        f"{model.replace('_', ' ')} {baselines[model]['val_rmse']:.4f}"
        for model in labels
        if network_val is not None
        and baselines[model].get("val_rmse") is not None
        and baselines[model]["val_rmse"] < network_val
    ]
    if beaten_by:
        verb = "beats" if len(beaten_by) == 1 else "beat"
        lines.append(
            f"  warning: {' and '.join(beaten_by)} {verb} the network (validation "
            f"{network_val:.4f}): it is likely under-trained;\n"
            "    train longer (no --quick, a larger --max-minutes) before comparing fingerprints"
        )
    return lines


def result_files(output: Path) -> list[str]:
    """The files a one-protocol run left in ``output``: its results, history and
    checkpoint."""
    from ..learning.protocols import RESULT_FILES

    names = [*RESULT_FILES, "history.csv", "checkpoint.pt"]
    return [name for name in names if (output / name).is_file()]


def run_seed(
    args: argparse.Namespace,
    featurizer,
    settings: TrainSettings,
    device: torch.device,
    data: dict,
    output: Path,
    seed: int,
    progress: bool,
    orbit_arc_length: tuple | None = None,
) -> dict:
    """The chosen protocol(s) with one seed into ``output``; ``{protocol: (folder, metrics)}``.

    ``device`` is ``settings.device`` resolved and ``orbit_arc_length`` the orbit's
    :func:`~degeneracy.learning.protocols.path_arc_length` (both once for every protocol
    and seed; the arc length computed by each run when None).
    """
    from ..learning import run_protocol

    names = list(PROTOCOLS) if args.protocol == "all" else [args.protocol]
    runs = {}
    for name in names:
        folder = output / name if args.protocol == "all" else output
        result = run_protocol(
            name,
            featurizer,
            data,
            output=folder,
            settings=settings,
            width=args.width,
            depth=args.depth,
            seed=seed,
            restart=args.restart,
            progress=progress,
            device=device,
            orbit_arc_length=orbit_arc_length,
        )
        runs[name] = (folder, result.metrics)
        sys.stdout.write(format_summary(result.metrics))
        sys.stdout.flush()
    return runs


def format_repeats(repeats: dict) -> str:
    """``metric: mean ± std [min, max]`` per protocol, and the paired none − subset gap.

    ``repeats`` as returned by :func:`~degeneracy.learning.repeat_summary`.
    """
    lines = []
    gap = repeats["heldout_orbit_none_minus_subset"]
    for name, metrics in repeats["protocols"].items():
        lines.append(f"protocol {name} over {len(repeats['seeds'])} seeds:")
        for key, row in metrics.items():
            spread = "" if row["std"] is None else f" ± {row['std']:.4f}"
            lines.append(
                f"  {key:20s} {row['mean']:.4f}{spread} [{row['min']:.4f}, {row['max']:.4f}]"
            )
    if gap and gap["n"]:
        from ..learning.protocols import paired_t_text

        t = paired_t_text(gap)
        every = "every seed" if gap["all_positive"] else "NOT every seed"
        lines.append(
            f"held-out orbit RMSE, none − subset (paired by seed): {gap['mean']:.4f}"
            + ("" if gap["stderr"] is None else f" ± {gap['stderr']:.4f} (standard error)")
            + f"{t}; lower with the 20 orbit frames in {every}"
        )
    return "\n".join(lines) + "\n"


#: Largest ``--repeats``: seeds enough for a mean ± std of the metrics (10 give a standard
#: error of a third of the spread), while a typo (1000) would queue days of training (a
#: default run stops after 4 minutes per protocol: 100 repeats of ``--protocol all`` are
#: 20 hours) and fill DIR with a model per seed and protocol.
MAX_REPEATS = 100


def run(args: argparse.Namespace) -> None:
    repeats = bounded_int("--repeats", args.repeats, minimum=1, maximum=MAX_REPEATS)
    bounded_int("--width", args.width, minimum=1, maximum=4096)  # before any work
    bounded_int("--depth", args.depth, minimum=1, maximum=16)
    if args.print_json and (args.protocol == "all" or repeats > 1):
        raise DegeneracyError(
            "--print-json prints one run's metrics.json; with --protocol all or --repeats "
            "read DIR/fig2.json or DIR/repeats.json"
        )
    check_orbit_options(args)
    check_learn_numbers(args)
    # torch and featomic (~2 s) only after the checks that need neither
    from ..learning import repeat_folders
    from ..learning.model import network_shape
    from ..learning.protocols import (
        check_not_a_reproduction,
        check_same_layout,
        check_same_orbit,
        check_same_protocol,
        check_same_training,
        path_arc_length,
    )
    from ..learning.trainer import resolve_device

    output = results_folder(args.output)  # DIR may be new, its parent must exist
    folders = repeat_folders(output, args.seed, repeats)  # refuses seeds past 2**64 - 1
    # the checks of what DIR holds speak in the library's keywords (protocol="none",
    # seed=0, restart=True), which main says in learn's options (PARAMETER_OPTIONS)
    check_not_a_reproduction(output)
    check_same_layout(
        output, all_protocols=args.protocol == "all", repeats=repeats, protocol=args.protocol
    )
    for _, name, where in run_folders(args, folders):  # another protocol: named, before work
        check_same_protocol(where, name, restart=args.restart)
    settings = settings_from_args(args)
    width, depth = network_shape(args.width, args.depth)
    for seed, _, where in run_folders(args, folders):  # another seed, width, ...: before work
        check_same_training(where, replace(settings, seed=seed), width, depth, restart=args.restart)
    device = resolve_device(settings.device)  # before the slow work, once for every run
    featurizer = featurizer_from_args(args)
    data = datasets_from_args(args, featurizer)
    if args.protocol == "all" and not args.restart:  # none would resume on a new orbit
        check_same_orbit([where for _, _, where in run_folders(args, folders)], data["orbit"])
    arc = path_arc_length(data["orbit"].frames)  # once for every run on this orbit (~0.5 s)
    output.mkdir(exist_ok=True)
    # one run at a time, from the first write on: a second one's results (seed 1 into
    # seed 0's DIR) replaced the first's file by file, both reporting success
    with exclusive_output(output, "learn"):
        write_runs(
            args, output, folders, repeats,
            settings=settings, device=device, featurizer=featurizer, data=data, arc=arc,
        )  # fmt: skip


def run_folders(args: argparse.Namespace, folders: dict) -> Iterator[tuple[int, str, Path]]:
    """``(seed, protocol, folder)`` of every run ``learn`` makes: one per seed's folder,
    or with ``--protocol all`` one per protocol inside it."""
    for seed, folder in folders.items():
        for name in list(PROTOCOLS) if args.protocol == "all" else [args.protocol]:
            yield seed, name, folder / name if args.protocol == "all" else folder


def write_runs(
    args: argparse.Namespace,
    output: Path,
    folders: dict,
    repeats: int,
    *,
    settings,
    device,
    featurizer,
    data: dict,
    arc: tuple,
) -> None:
    """Train every seed's protocols into ``folders`` and write the summaries into
    ``output`` (locked), from the ``settings``, ``device``, ``featurizer``, ``data`` and
    orbit ``arc`` length made once for every run."""
    from ..learning import repeat_summary

    progress = not args.no_progress and sys.stderr.isatty()
    seeds = list(folders)
    by_seed = [
        run_seed(args, featurizer, settings, device, data, folder, seed, progress, arc)
        for seed, folder in folders.items()
    ]
    first = by_seed[0]
    if args.protocol == "all":
        from ..figures.fig2 import make_fig2

        files = make_fig2({name: folder for name, (folder, _) in first.items()}, output)
        sys.stdout.write(
            f"figure: {files.figure}\nalong the orbit: {files.orbit_figure}\n"
            f"metrics: {files.table}\n"
        )
    elif repeats == 1:
        sys.stdout.write(f"results in {output}: {', '.join(result_files(output))}\n")
    if repeats > 1:
        runs = {name: [one_seed[name][1] for one_seed in by_seed] for name in first}
        repeats_json = repeat_summary(seeds, runs)
        write_json(output / "repeats.json", repeats_json)
        sys.stdout.write(format_repeats(repeats_json))
        sys.stdout.write(
            f"per-seed runs in {output}/seed-*/, summary in {output / 'repeats.json'}\n"
        )
    if args.print_json:
        sys.stdout.write(json_text(first[args.protocol][1]))


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "learn",
        help="can a network learn E4 along a low-sensitivity orbit? (Comment Fig. 2)",
        description="Train the Comment's network on random CH4 (P&G-like thermal "
        "distortions, E4 target) plus 0 (none), 20 (subset) or all 201 orbit frames "
        "repeated 10x (full); report train/validation/independent-test errors and the "
        "error on the orbit frames held out. 'all' runs the three and draws Fig. 2. A "
        "folder with a checkpoint is resumed.",
    )
    parser.add_argument(
        "--protocol",
        choices=[*PROTOCOLS, "all"],
        default="none",
        help="orbit frames in training: none, subset (10%%), full (x10), or all three (none)",
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="results folder")
    parser.add_argument(
        "--model",
        choices=["single", "multicentre"],
        default="single",
        help="single: the Comment's network on the C-centred --rep fingerprint; "
        "multicentre: sum of C- and H-centred SOAP networks (single)",
    )
    add_representation_arguments(parser)
    set_default(parser, "basis", "optimal")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small data ({QUICK_SIZES['train']}/{QUICK_SIZES['val']}/{QUICK_SIZES['test']} "
        "training/validation/test structures) and a short run (40 epochs or 30 s)",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--orbit", metavar="FILE", help="orbit frames (default: traced)")
    add_units_argument(data, "--orbit FILE", flag="--orbit-units")
    data.add_argument(
        "--orbit-sigma",
        action=RecordedStore,
        type=float,
        default=0.3,
        help="σ in Å of the traced orbit (0.3)",
    )
    data.add_argument(
        "--orbit-c",
        action=RecordedStore,
        type=float,
        default=1.0,
        help="distance scale c of the traced orbit (1)",
    )
    data.add_argument(
        "--orbit-basis",
        action=RecordedStore,
        choices=["gto", "optimal"],
        default="optimal",
        help="radial basis the orbit is traced with (optimal)",
    )
    add_sampler_argument(data)
    data.add_argument(
        "--test-sampler",
        choices=sorted(SAMPLERS),
        default="tilted",
        help="generator of the independent test set (tilted)",
    )
    data.add_argument("--n-train", type=int, help=f"training structures ({N_TRAIN})")
    data.add_argument("--n-val", type=int, help=f"validation structures ({N_VAL})")
    data.add_argument("--n-test", type=int, help=f"independent test structures ({N_TEST})")
    data.add_argument("--data-seed", type=seed_value, default=0, help="seed of the data sets (0)")
    train = parser.add_argument_group("training")
    train.add_argument(
        "--seed", type=seed_value, default=0, help="orbit split, weights, shuffling (0)"
    )
    train.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="train with seeds SEED .. SEED+K-1 into DIR/seed-*/ and summarise them "
        f"(mean ± std, paired none − subset held-out orbit gap) in DIR/repeats.json "
        f"(1; at most {MAX_REPEATS})",
    )
    train.add_argument("--width", type=int, default=80, help="hidden layer size (80)")
    train.add_argument("--depth", type=int, default=2, help="hidden layers (2)")
    # TrainSettings' defaults, written out: importing it here would pull torch into every
    # command line's start (a test ties the two)
    train.add_argument("--epochs", type=int, help="maximum epochs (1000; quick 40)")
    train.add_argument("--batch-size", type=int, help="structures per batch (256)")
    train.add_argument("--lr", type=float, help="initial Adam learning rate (0.001)")
    train.add_argument(
        "--lr-patience", type=int, help="ReduceLROnPlateau patience in epochs (10; quick 3)"
    )
    train.add_argument(
        "--stop-patience",
        type=int,
        help="stop after this many epochs without improvement (100; quick 20)",
    )
    limit = train.add_mutually_exclusive_group()
    limit.add_argument(
        "--max-minutes", type=float, help="training time limit per protocol (4; quick 0.5)"
    )
    limit.add_argument("--no-time-limit", action="store_true", help="train until early stop")
    train.add_argument(
        "--comment-settings",
        action="store_true",
        help="the Comment's settings: 40000 epochs, batch 4096, learning-rate patience 200, "
        "no early stop (GPU-sized; not with --quick)",
    )
    train.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="where to train: auto = CUDA when available, else CPU (auto)",
    )
    train.add_argument("--threads", type=int, help="torch CPU threads (1)")
    train.add_argument(
        "--gradient-weight",
        type=float,
        action=RecordedStore,
        metavar="W",
        help="also fit the E4 gradient through the fingerprint's Jacobian, loss weight W "
        "in Å^2 (beyond the Comment; 0: energies only, the default)",
    )
    train.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--print-json", action="store_true", help="also print metrics.json")
    parser.set_defaults(func=run, **{PARAMETER_OPTIONS: {**SETTINGS_OPTIONS, **LIBRARY_KEYWORDS}})
