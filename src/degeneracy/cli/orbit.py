"""``degeneracy orbit``: follow the lowest-sensitivity direction in arc length."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys

import numpy as np

from ..checks import positive_float
from ..errors import DegeneracyError
from ..figures.viewer import check_chemiscope_path
from ..files import EXTXYZ_SUFFIXES, output_file
from ..orbits import (
    DEFAULT_MAX_STEP,
    DEFAULT_TOL,
    ORBIT_METHODS,
    CheckpointError,
    Orbit,
    OrbitSettings,
    check_orbit_size,
    smallest_gap,
    trace_orbit,
)
from .options import (
    RecordedStore,
    add_input_arguments,
    add_representation_arguments,
    check_input_analysable,
    describe_representation,
    frames_from_args,
    refuse_options,
    refuse_overwriting_inputs,
)
from .options import representation_from_args as _representation


def format_orbit(orbit: Orbit) -> str:
    """A short summary of a traced orbit."""
    cn = orbit.cn[1:] if len(orbit.frames) > 1 else orbit.cn
    fourbody = [f.info["fourbody"] for f in orbit.frames if "fourbody" in f.info]
    lines = [
        f"method            {orbit.settings.method}",
        f"frames            {len(orbit.frames)} (arc length 0 to {orbit.arc_length[-1]:.4g} Å)",
        f"CN                median {np.median(cn):.4g}, min {cn.min():.4g}, max {cn.max():.4g}"
        + (" (past the start)" if len(orbit.frames) > 1 else ""),
        f"jacobians         {orbit.jacobian_evaluations}",
        f"steps             {orbit.steps} accepted, {orbit.rejected_steps} rejected",
        f"feature distance  {orbit.frames[-1].info['feature_distance']:.4g} at the end",
    ]
    gap = smallest_gap(orbit.frames)
    if gap is not None:
        n = len(orbit.frames[0].info["singular_values"])
        lines.append(
            f"smallest gap      (s{n - 1} − s{n})/s{n} {gap[0]:.3g} at {gap[1]:.4g} Å "
            "(the direction turns fast where it is small)"
        )
    if fourbody:
        lines.append(f"E4                {min(fourbody):.4f} to {max(fourbody):.4f}")
    if orbit.stopped is not None:
        lines.append(f"stopped           {orbit.stopped}")
    return "\n".join(lines) + "\n"


#: The stepping options of each --method; the others would be ignored.
METHOD_OPTIONS = {"euler": ("step",), "adaptive": ("tol", "max_step")}


def check_method_options(args: argparse.Namespace) -> None:
    """Refuse stepping options of the --method that is not selected."""
    for method, dests in METHOD_OPTIONS.items():
        if method != args.method:
            refuse_options(args, dests, f"applies to --method {method}, not {args.method}")


def check_euler_step(args: argparse.Namespace) -> None:
    """``--step`` that does not divide ``--save-every``, refused in the options' words
    before any work (the library's OrbitSettings says "the Euler step"), by the library's
    own test (:meth:`OrbitSettings._ratio`), after the library's limits on the frames
    and steps (:func:`~degeneracy.orbits.check_orbit_size`: a ratio that overflows has
    no whole number)."""
    if args.method != "euler":
        return
    step = positive_float("--step", args.step)
    save_every = positive_float("--save-every", args.save_every)
    length = positive_float("--length", args.length)
    check_orbit_size(length, save_every, step, args.method)
    if save_every > length:  # no whole number of frames: OrbitSettings says so in its words
        return
    OrbitSettings._ratio(
        save_every,
        step,
        f"--step {step:g} Å must divide --save-every {save_every:g} Å, the spacing of the "
        "saved frames, a whole number of times",
    )


def orbit_settings(args: argparse.Namespace) -> OrbitSettings:
    """The tracing options, refused before any frame is read: the Euler step in the
    options' words (:func:`check_euler_step`), then the rest as the library's
    :class:`~degeneracy.orbits.OrbitSettings` checks them; what :func:`trace_orbit` is
    given."""
    check_euler_step(args)
    return OrbitSettings(
        length=args.length,
        method=args.method,
        step=args.step,
        tol=args.tol,
        save_every=args.save_every,
        max_step=args.max_step,
        reverse=args.reverse,
    )


def run(args: argparse.Namespace) -> None:
    check_method_options(args)
    settings = orbit_settings(args)
    # every output's folder before the tracing, not after
    if args.chemiscope is not None:
        check_chemiscope_path(args.chemiscope)
    output_file(args.output, "--output", suffixes=EXTXYZ_SUFFIXES)
    checkpoint = output_file(
        args.checkpoint or f"{args.output}.checkpoint.npz", "--checkpoint", suffixes=(".npz",)
    )
    refuse_overwriting_inputs(
        args,
        {
            "--output": args.output,
            "--checkpoint" if args.checkpoint else "the default --checkpoint": checkpoint,
            "--chemiscope": args.chemiscope,
        },
    )
    if args.frame < 0:
        raise DegeneracyError(f"--frame {args.frame}: frames are numbered from 0")
    if args.builtin is not None and args.frame != 0:
        raise DegeneracyError(f"--frame {args.frame}: --builtin has one frame (0)")
    [start] = frames_from_args(args, index=args.frame)  # read and checked: that frame only
    representation = _representation(args, [start])
    check_input_analysable(args, [start], [representation], first_frame=args.frame)
    if args.restart:
        with contextlib.suppress(FileNotFoundError):
            checkpoint.unlink()
    resuming = checkpoint.exists()  # said after tracing: the file may yet be refused
    try:
        orbit = trace_orbit(
            start,
            representation,
            **dataclasses.asdict(settings),
            checkpoint=checkpoint,
            output=args.output,  # written before the checkpoint is deleted
            progress=not args.quiet and sys.stderr.isatty(),
            start_name=args.builtin or f"{args.file}, frame {args.frame}",
            keep_partial=args.keep_partial,
        )
    except CheckpointError as error:  # what to do, in this command's options
        raise DegeneracyError(
            f"{error.problem}; delete it, rerun with --restart, or choose another --checkpoint"
        ) from error
    if resuming:
        print(f"resumed from {checkpoint}", file=sys.stderr)
    sys.stdout.write(format_orbit(orbit))
    if args.chemiscope is not None:
        # Imported here: chemiscope is only needed once the orbit is traced.
        from ..figures.orbit import write_orbit_chemiscope

        source = args.builtin or f"{args.file} frame {args.frame}"
        n = write_orbit_chemiscope(
            args.chemiscope,
            orbit.frames,
            title=f"degeneracy orbit from {source}",
            description=orbit_description(orbit, describe_representation(representation), args),
        )
        sys.stdout.write(f"chemiscope: {args.chemiscope} ({_frames_text(n)})\n")


def orbit_description(orbit: Orbit, fingerprint: str, args: argparse.Namespace) -> str:
    """What the chemiscope file shows: the fingerprint, how it was traced, the arc
    length actually traced (a stopped trace's, not ``--length``), and, for a FILE read in
    bohr, that the frames are shown in Å (as ``scan``'s view says)."""
    traced = float(orbit.arc_length[-1])
    how = f"{args.method}{', reversed start' if args.reverse else ''}"
    text = f"{fingerprint}; {how}, {traced:.6g} Å of arc"
    if orbit.stopped is not None:
        text += f" (of {args.length:g} asked: stopped)"
    units = getattr(args, "units", None) or "angstrom"
    return text if units == "angstrom" else f"{text}; read in {units}, shown in Å"


def _frames_text(n: int) -> str:
    return "1 frame" if n == 1 else f"{n} frames"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "orbit",
        help="trace a low-sensitivity orbit (follow the smallest singular direction)",
        description="Follow u = O w_min, the motion of the smallest singular value of the "
        "rotation-purified Jacobian, in arc length with a continuous sign. Euler is the "
        "Comment's protocol (step 1e-4 Å); adaptive is Dormand-Prince 5(4) with error "
        "control. Frames every --save-every Å carry info arc_length, singular_values, cn, "
        "fourbody, feature_distance; the last one jacobian_evaluations. The summary gives "
        "the smallest relative gap between the two smallest singular values over the "
        "frames. The run checkpoints to OUT.extxyz.checkpoint.npz and resumes from it when "
        "rerun; the checkpoint is deleted once OUT.extxyz is written.",
    )
    add_input_arguments(parser)
    add_representation_arguments(parser)
    parser.add_argument("--frame", type=int, default=0, help="frame of FILE to start from (0)")
    parser.add_argument("--length", type=float, default=2.0, help="arc length in Å (2.0)")
    parser.add_argument(
        "--method",
        choices=ORBIT_METHODS,
        default="euler",
        help="integrator: euler = the Comment's fixed-step protocol (one Jacobian per "
        "--step: 20 001 for 2 Å, ~40 s for CH4 SOAP), or an adaptive ODE solver (~40x "
        "fewer Jacobians, the same orbit to ~1e-2 Å) (euler)",
    )
    parser.add_argument(
        "--step", action=RecordedStore, type=float, default=1e-4, help="Euler step in Å (1e-4)"
    )
    parser.add_argument(
        "--tol",
        action=RecordedStore,
        type=float,
        default=DEFAULT_TOL,
        help=f"adaptive: local error per step in Å ({DEFAULT_TOL:g})",
    )
    parser.add_argument(
        "--max-step",
        action=RecordedStore,
        type=float,
        default=DEFAULT_MAX_STEP,
        help=f"adaptive: longest step in Å ({DEFAULT_MAX_STEP:g})",
    )
    parser.add_argument(
        "--save-every", type=float, default=0.01, help="arc length between frames in Å (0.01)"
    )
    parser.add_argument("--reverse", action="store_true", help="start in the opposite direction")
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint file (default: OUT.extxyz.checkpoint.npz, beside --output)",
    )
    parser.add_argument(
        "--restart", action="store_true", help="ignore and delete an existing checkpoint"
    )
    parser.add_argument(
        "--chemiscope",
        metavar="JSON",
        help="also write an interactive chemiscope view (.json or .json.gz): the motion as "
        "a trajectory, log10 CN against arc length coloured by E4",
    )
    parser.add_argument(
        "--keep-partial",
        action="store_true",
        help="where the path leaves the environments (two atoms closer than 0.5 Å or half "
        "the start's closest pair, or a neighbour at the cutoff), write the frames traced "
        "before it, with a warning, instead of stopping with an error; a run stopped by "
        "that error resumes from its checkpoint",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--output", required=True, metavar="OUT.extxyz", help="where to write the frames"
    )
    parser.set_defaults(func=run)
