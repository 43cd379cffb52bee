"""``degeneracy pairs``: build degenerate A± pairs, or verify a file of pairs."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence

import ase.io

from ..checks import MAX_RESIDUAL_TOL, bounded_int, residual_tolerance_value
from ..compositions import verify_pairs_by_composition
from ..files import EXTXYZ_SUFFIXES, json_text, output_file
from ..pairs import (
    MAX_PAIRS,
    PairSampler,
    PairVerdict,
    fold_frames,
    pair_frames,
    prl2020_grid,
)
from ..sensitivity import SYMMETRY_TOL
from ..structures import write_environments
from .options import (
    REPRESENTATION_DESTS,
    RecordedStore,
    add_environment_argument,
    add_representation_arguments,
    add_units_argument,
    aligned_table,
    check_output_suffix,
    csv_text,
    emit,
    environments_from_file,
    frames_cutoff,
    number_text,
    output_file_argument,
    refuse_options,
    refuse_overwriting_inputs,
    representations_from_args,
    seed_value,
)


def format_verdicts(verdicts: Sequence[PairVerdict], fmt: str) -> str:
    """Render :func:`~degeneracy.pairs.verify_pairs` results as a table, CSV or JSON (a
    list of objects)."""
    if fmt == "json":
        return json_text([v.to_dict() for v in verdicts])
    names = list(verdicts[0].distance)
    header = ["pair", *[f"d_{name}" for name in names], "E4_a", "E4_b", "related", "residual"]
    exact = fmt == "csv"  # CSV in full precision, the table readable
    rows = [
        [
            str(v.pair),
            *[number_text(v.distance[name], ".3e", exact=exact) for name in names],
            number_text(v.fourbody[0], ".6f", exact=exact),
            number_text(v.fourbody[1], ".6f", exact=exact),
            str(v.related) if exact else ("yes" if v.related else "no"),  # CSV as spectrum's
            number_text(v.residual, ".4g", exact=exact),
        ]
        for v in verdicts
    ]
    if fmt == "csv":
        return csv_text([header, *rows])
    return aligned_table([header, *rows])


def _write_frames(frames: list, output: str | None) -> None:
    if output is None:
        buffer = io.StringIO()
        ase.io.write(buffer, frames, format="extxyz")
        sys.stdout.write(buffer.getvalue())
    else:
        write_environments(output, frames)
        print(f"wrote {len(frames)} frames to {output}", file=sys.stderr)


#: Options of --verify only (the fingerprints compared, how the verdict is printed).
VERIFY_DESTS = ("units", "environment", "relation_tol", "format", *REPRESENTATION_DESTS)


def check_mode_options(args: argparse.Namespace) -> None:
    """Refuse the options that the chosen mode (build, --grid or --verify) would ignore."""
    if args.verify is None:
        refuse_options(args, VERIFY_DESTS, "applies to --verify FILE only")
    if args.verify is not None or args.grid:
        mode = "--grid" if args.grid else "--verify"
        refuse_options(args, ("n", "seed"), f"sets the random pairs or folds; not with {mode}")


def run(args: argparse.Namespace) -> None:
    check_mode_options(args)
    if args.verify is None and args.output:  # frames are written as extended XYZ
        output_file(args.output, "--output", suffixes=EXTXYZ_SUFFIXES)
    if args.verify is not None:
        check_output_suffix(args)
        refuse_overwriting_inputs(args, {"--output": args.output})
        residual_tolerance_value("--relation-tol", args.relation_tol)  # before reading the frames
        frames = environments_from_file(args.verify, args, cutoff=frames_cutoff(args))
        representations = representations_from_args(args, frames=frames)
        verdicts = verify_pairs_by_composition(
            frames,
            representations,
            tol=args.relation_tol,
            where=str(args.verify),
            # a bar where it lasts (> one batch), on a terminal, as compare's
            progress=len(frames) > 200 and sys.stderr.isatty(),
        )
        emit(format_verdicts(verdicts, args.format), args.output)
        return
    if args.grid:
        _write_frames(prl2020_grid(), args.output)
        return
    n = bounded_int("--n", args.n, minimum=1, maximum=MAX_PAIRS)
    sampler = PairSampler()
    if args.fold:
        frames = fold_frames(sampler.folds(n, seed=args.seed))
    else:
        frames = pair_frames(sampler.parameters(n, seed=args.seed))
    _write_frames(frames, args.output)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pairs",
        help="degenerate A± pairs: build them, or verify a file of pairs",
        description="Build pairs of CH4 environments that every ν = 2 fingerprint (SOAP, "
        "ACSF) confuses: random members of the A± family (--n, --seed), their fold "
        "structures at y4 = 0 (--fold, where the ν = 2 Jacobian has a spurious zero; "
        "inspect with `degeneracy spectrum`), or the PRL 2020 grid (--grid; exact pairs "
        "only on its β = 0 row). Pairs are written as consecutive extxyz frames. With "
        "--verify FILE: per pair, the relative feature distance |x_a − x_b|/|x_a| of each "
        "fingerprint, the four-body target of both members, and whether they are the "
        "same structure up to rotation, reflection and permutation (CH4 pairs unless "
        "--environment says otherwise; E4 is computed for 4 neighbours only).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--verify", metavar="FILE", help="verify the pairs in FILE")
    mode.add_argument("--grid", action="store_true", help="the PRL 2020 CH4 grid (81 pairs)")
    mode.add_argument(
        "--fold", action="store_true", help="random fold structures (y4 = 0) instead of pairs"
    )
    parser.add_argument(
        "--n",
        action=RecordedStore,
        type=int,
        default=100,
        help="number of random pairs, or of folds with --fold (100)",
    )
    parser.add_argument(
        "--seed", action=RecordedStore, type=seed_value, default=0, help="random seed (0)"
    )
    add_units_argument(parser, "the --verify FILE")
    add_environment_argument(parser, "the --verify FILE's frames")
    parser.add_argument(
        "--relation-tol",
        action=RecordedStore,
        type=float,
        default=SYMMETRY_TOL,
        help="RMS residual (Å) under which two members are the same structure, at most "
        f"{MAX_RESIDUAL_TOL} ({SYMMETRY_TOL})",
    )
    add_representation_arguments(parser, multiple=True)
    parser.add_argument(
        "--format",
        action=RecordedStore,
        choices=["table", "csv", "json"],
        help="output format of --verify (table; with --output X.json or X.csv, that format)",
    )
    parser.set_defaults(default_format="table")
    parser.add_argument(
        "--output",
        metavar="PATH",
        type=output_file_argument,
        help="write here instead of stdout (atomically)",
    )
    parser.set_defaults(func=run)
