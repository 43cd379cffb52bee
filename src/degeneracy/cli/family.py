"""``degeneracy family``: the Comment's 16 orbits (σ × c), in parallel, with Fig. 1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..orbits import (
    COMMENT_DISTANCES,
    COMMENT_SIGMAS,
    MAX_WORKERS,
    ORBIT_METHODS,
    FamilyMember,
    check_workers,
    family_output_names,
    run_family,
    smallest_gap,
)
from ..structures import neighbor_positions, read_environments
from .options import add_units_argument, refuse_options, refuse_overwriting_inputs


def format_family(members: list[FamilyMember]) -> str:
    """Table: σ, c, median CN, Jacobians, the smallest relative gap (s8 − s9)/s9 along the
    orbit, and (with a reference) the published median CN, the CN ratio, the deviation
    at equal arc length, the shape distance and the distance of the starts."""
    with_reference = any(m.deviation is not None for m in members)
    header = "sigma    c  median_CN  jacobians  min_gap"
    if with_reference:
        header += "  published_CN  CN_ratio  deviation_Å  shape_Å  start_Å"
    lines = [header]
    for m in members:
        gap = smallest_gap(m.frames)
        gap_text = "—" if gap is None else f"{gap[0]:.3g}"
        line = f"{m.sigma:5.2f} {m.c:4.1f} {m.median_cn:10.4g} {m.jacobian_evaluations:10d}"
        line += f"  {gap_text:>7}"
        if with_reference and m.deviation is not None:
            published = "—" if m.reference_median_cn is None else f"{m.reference_median_cn:.4g}"
            ratio = "—" if m.cn_ratio is None else f"{m.cn_ratio:.3f}"
            shape = "—" if m.shape_distance is None else f"{m.shape_distance:.4f}"
            start = "—" if m.start_distance is None else f"{m.start_distance:.4f}"
            line += f"  {published:>12}  {ratio:>8}  {m.deviation:11.4f}  {shape:>7}  {start:>7}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    check_workers(args.workers)
    # every file the run writes: an earlier run's a0.extxyz, say, is replaced
    refuse_overwriting_inputs(
        args, [("--output", Path(args.output) / name) for name in family_output_names()]
    )
    a0 = a0_source = None
    if args.a0 is None:
        refuse_options(args, ["units"], "is the length unit of --a0 FILE; give --a0")
    else:
        # the first frame is used, the rest only read (ase indexes the whole file)
        a0 = neighbor_positions(read_environments(args.a0, units=args.units, index=0)[0])
        # the path as given (not resolved): summary.json records no absolute path itself
        a0_source = {"file": args.a0, "frame": 0, "units": args.units}
    progress = sys.stderr.isatty() and not args.quiet
    figures: list[Path] = []

    def draw_fig1(members: list) -> None:  # before summary.json: a finished run has them
        from ..figures.fig1 import make_fig1

        output = Path(args.output)
        figures.extend(make_fig1(members, output / "a0.extxyz", output))

    members = run_family(
        args.output,
        basis=args.basis,
        quick=args.quick,
        method=args.method,
        length=args.length,
        workers=args.workers,
        a0=a0,
        a0_source=a0_source,
        reference=args.reference,
        progress=progress,
        before_summary=None if args.no_figures else draw_fig1,
    )
    sys.stdout.write(format_family(members))
    if figures:
        sys.stdout.write("figures: " + ", ".join(str(p) for p in figures) + "\n")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "family",
        help="the Comment's orbit family: A0 search, 16 orbits in parallel, Fig. 1",
        description="Find A0 (search from the mean of the traced pg-start orbit at σ=0.3 Å), "
        f"trace the orbits from A0 + c (P0 - A0) for c in {list(COMMENT_DISTANCES)} and "
        f"σ in {list(COMMENT_SIGMAS)} Å in parallel (Euler, step 1e-4 Å, 2 Å; --quick: "
        "adaptive integrator), save them with a summary and Fig. 1a/1b (PNG and PDF). "
        "Orbits are cached and checkpointed, so an interrupted run resumes.",
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="results folder")
    parser.add_argument("--quick", action="store_true", help="adaptive integrator (fast)")
    parser.add_argument(
        "--basis", choices=["gto", "optimal"], default="gto", help="SOAP radial basis (gto)"
    )
    parser.add_argument("--method", choices=ORBIT_METHODS, help="override the integrator")
    parser.add_argument("--length", type=float, help="override the arc length in Å (2.0)")
    parser.add_argument(
        "--workers", type=int, default=2, help=f"parallel processes, 1 to {MAX_WORKERS} (2)"
    )
    parser.add_argument(
        "--a0",
        metavar="FILE",
        help="use the A0 in FILE (first frame) instead of searching; summary.json's "
        "a0_source records FILE as given, the frame and --units",
    )
    add_units_argument(parser, "the --a0 FILE's positions")
    parser.add_argument(
        "--reference",
        metavar="DIR",
        help="folder with the published comment-orbit_sigma{S}_c{C}.extxyz: adds the "
        "deviation at equal arc length (shape and lag along the path), the shape distance "
        "(the curves apart, whatever the pace) and the median-CN ratio (over the arc length "
        "traced); a missing folder is refused, a missing file warned about",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip Fig. 1")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
