"""``degeneracy reproduce``: everything in the Comment, one folder, one HTML report."""

from __future__ import annotations

import argparse
import sys

from ..checks import bounded_int
from ..reproduce import MAX_WORKERS, ReproduceSettings, reproduce
from . import PARAMETER_OPTIONS
from .learn import MAX_REPEATS
from .options import add_sampler_argument, seed_value


def run(args: argparse.Namespace) -> None:
    # learn's bound and words: each repeat trains the three protocols again
    bounded_int("--repeats", args.repeats, minimum=1, maximum=MAX_REPEATS)
    changes = {
        "workers": args.workers,
        "sampler": args.sampler,
        "seed": args.seed,
        "repeats": args.repeats,
    }
    if args.train_minutes is not None:
        changes["train_minutes"] = args.train_minutes
    # refused before any work; the error names the field, which is the option's dest
    # (main() then says the option: "--train-minutes must be ...")
    ReproduceSettings.for_mode(args.quick, **changes)
    reproduce(
        args.output,
        quick=args.quick,
        force=args.force,
        reference=args.reference,
        progress=sys.stderr.isatty(),
        log=lambda message: print(message, file=sys.stderr, flush=True),
        **changes,
    )
    print(f"{args.output}/report.html\n{args.output}/summary.json")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reproduce",
        help="regenerate A0, the 16 orbits, Fig. 1, the learning protocols and Fig. 2",
        description="Regenerate everything in Pozdnyakov et al.'s Comment (2022) into one "
        "folder with a self-contained report.html and summary.json. Finished steps are "
        "skipped on a re-run with the same settings unless --force.",
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="result folder")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="adaptive orbits and a small learning run (under 5 minutes on 2 cores)",
    )
    parser.add_argument("--force", action="store_true", help="redo every step from scratch")
    parser.add_argument(
        "--reference",
        metavar="DIR",
        help="folder with the Comment's published orbits (e.g. ../shared/reference) to "
        "compare against; optional",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help=f"parallel orbit tracers, at most {MAX_WORKERS} (2)",
    )
    parser.add_argument(
        "--train-minutes",
        type=float,
        help="wall-time cap per learning protocol (quick 0.6; else learn's own, 4)",
    )
    parser.add_argument(
        "--seed",
        type=seed_value,
        default=0,
        help="seed of the learning: its data sets (SEED, SEED+1, SEED+2 for training, "
        "validation, test) and the training (orbit split, weights, batches) (0)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="train the protocols with seeds SEED..SEED+K-1 on the same data and report "
        "mean ± std and the paired none - subset gap (1; at most "
        f"{MAX_REPEATS}; each repeat adds the learning time again)",
    )
    add_sampler_argument(parser)
    # the learning runs' advice "rerun with restart=True" is --force here
    parser.set_defaults(func=run, **{PARAMETER_OPTIONS: {"restart": "--force"}})
