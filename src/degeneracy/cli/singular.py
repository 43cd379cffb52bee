"""``degeneracy singular``: find a nearby singular configuration (s_min = 0)."""

from __future__ import annotations

import argparse
import sys

from ..checks import MAX_SYMMETRY_TOL, bounded_float, symmetry_tolerance_value, text_beside
from ..compositions import representations_for
from ..errors import DegeneracyError
from ..files import EXTXYZ_SUFFIXES, output_file
from ..sensitivity import (
    KINK_TEXT,
    SYMMETRY_TOL,
    ZERO_RTOL,
    near_swap_text,
    near_symmetry_margin,
    partial_reason,
)
from ..singular import (
    DEFAULT_CN_TARGET,
    DEFAULT_FD_STEP,
    SingularResult,
    find_singular,
    search_parameters,
)
from ..structures import write_environments
from .options import (
    add_input_arguments,
    add_representation_arguments,
    check_input_analysable,
    fingerprint_warning,
    frames_from_args,
    input_name,
    refuse_overwriting_inputs,
    reworded,
)
from .options import representation_from_args as _representation


def format_results(results: list[SingularResult]) -> str:
    """One line per frame: CN before and after, distance moved, cost, symmetry verdict."""
    header = "frame  CN_start    CN_found    moved_Å   jacobians  converged  symmetry"
    lines = [header]
    for index, result in enumerate(results):
        lines.append(
            f"{index:5d}  {result.history[0].cn:9.3e}  {result.cn:10.3e}  {result.distance:8.4f}"
            f"  {result.jacobian_evaluations:9d}  {'yes' if result.converged else 'NO':>9}  "
            f"{zero_verdict(result)}"
        )
    return "\n".join(lines) + "\n"


def zero_verdict(result: SingularResult) -> str:
    """Why the zero is there: a point symmetry, a motion of neighbour pairs the
    fingerprint cannot see (equal pairs swapped: every ν = 2 fingerprint's blind spot;
    pairs it ignores), or neither; without a zero (s_min/s1 not below ``ZERO_RTOL``, as
    in ``spectrum``), how near the end point is to equal pairs and how much of its
    softest motion trades them. A zero reached below ``--cn-target`` says so. Where the
    fingerprint has no Jacobian (``result.kink``), :data:`KINK_TEXT`: its spectrum is
    one one-sided derivative, and no zero in it is explained."""
    near = near_swap_text(result.near_swap)
    nearest = f"; nearest equal pairs {near}" if near else ""
    if result.kink:
        return KINK_TEXT + nearest
    if result.straight:
        return (
            "STRAIGHT: the search reached a linear environment (neighbours collinear with "
            "the centre), whose bend is a zero forced by its axial symmetry"
            + ("" if result.converged else " (search stopped there)")
        )
    if not result.has_zero:
        if not result.converged:
            return "no zero reached" + nearest
        # a --cn-target below 1/ZERO_RTOL: reached, but no zero by spectrum's rule
        ratio = text_beside(1 / result.cn, ZERO_RTOL, 2)
        return (
            f"--cn-target reached, but no zero (s_min/s1 {ratio} is not below {ZERO_RTOL:g})"
            + nearest
        )
    unmet = "" if result.converged else " (short of --cn-target)"
    if result.symmetric:
        return (
            f"SYMMETRIC (residual {result.symmetry.residual:.2g} Å): zeros forced by "
            f"symmetry{unmet}"
        )
    if result.near_symmetry is not None:
        lifted = result.near_symmetry
        margin = (
            ""
            if lifted.zero_distance is None
            else f" ({near_symmetry_margin(lifted.zero_distance)})"
        )
        return (
            f"not symmetric (best residual {result.symmetry.residual:.3f} Å), but "
            f"{lifted.distance:.2g} Å from a symmetric one{margin}: zeros forced by "
            f"near-symmetry{unmet}"
        )
    if result.n_beside_symmetry:
        verdict = (
            f"symmetric only within --symmetry-tol (residual {result.symmetry.residual:.2g} "
            f"Å), but {result.n_beside_symmetry} zero(s) stay at round-off beside it, which "
            "such a symmetry cannot force: spurious zero"
        )
    elif result.symmetry.symmetric:
        verdict = (
            f"symmetric (residual {result.symmetry.residual:.2g} Å), but "
            f"{result.n_unexplained} zero(s) along motions the symmetry leaves free: "
            "spurious zero"
        )
    else:
        verdict = f"not symmetric (best residual {result.symmetry.residual:.3f} Å): spurious zero"
    if result.explanation is not None:
        symbols = result.atoms.get_chemical_symbols()[1:]
        partial = partial_reason(  # as spectrum says it: "1 of 2 zeros turns pairs ..."
            *result.explanation.labels(symbols),
            result.explanation.truncation_label,
            result.n_explained,
            result.n_spurious,
        )
        verdict += (
            f", {partial}" if partial else f", its motion {result.explanation.reason(symbols)}"
        )
    return verdict + unmet


def physical_zero(result: SingularResult) -> bool:
    """Whether the search ended at a zero that a (near-)symmetry explains (not at a kink,
    whose one-sided spectrum explains nothing)."""
    return (
        result.has_zero
        and not result.kink
        and (result.symmetric or result.near_symmetry is not None or result.straight)
    )


def symmetric_text(result: SingularResult) -> str:
    """How near the result is to a symmetry: "symmetric (residual … Å)" or "… Å from a
    symmetric environment"."""
    if result.straight:
        return "a straight (linear, axially symmetric) environment"
    if result.near_symmetry is not None:
        return f"{result.near_symmetry.distance:.2g} Å from a symmetric environment"
    return f"symmetric (residual {result.symmetry.residual:.2g} Å)"


#: Smallest ``--fd-step`` (Å). The central difference's round-off is about 1e-16 Å (the
#: positions' last digit) over the step, relative to the derivative: 1e-6 at 1e-10 Å,
#: the ratio under which a singular value counts as zero (ZERO_RTOL). Below it the
#: search follows noise (at 1e-300 Å it never moved).
MIN_FD_STEP = 1e-10


def check_search_options(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output that is an input, a ``--fd-step`` below
    :data:`MIN_FD_STEP`, a meaningless ``--symmetry-tol``, and every search option the
    library refuses (:func:`~degeneracy.singular.search_parameters`, in its words, which
    are the options' through the command line), not when frame 0's search starts."""
    refuse_overwriting_inputs(args, {"--output": args.output})
    bounded_float(
        "--fd-step",
        args.fd_step,
        unit=" Å",
        at_least=MIN_FD_STEP,
        why="below it the finite difference drowns in round-off",
    )
    symmetry_tolerance_value("--symmetry-tol", args.symmetry_tol)
    search_parameters(
        pull=args.pull,
        cn_target=args.cn_target,
        max_iterations=args.max_iterations,
        fd_step=args.fd_step,
        symmetry_tol=args.symmetry_tol,
    )


def run(args: argparse.Namespace) -> None:
    check_search_options(args)
    output_file(args.output, "--output", suffixes=EXTXYZ_SUFFIXES)  # before the search
    frames = frames_from_args(args)
    representation = _representation(args, frames)
    check_input_analysable(args, frames, [representation])
    results = []
    # each frame's search with a fingerprint of its own species, as spectrum's
    own = representations_for(frames, representation)
    for index, (atoms, built) in enumerate(zip(frames, own, strict=True)):
        try:
            searching = f"{input_name(args)}, frame {index}, during the search: "

            def during_the_search(message: str, searching: str = searching) -> str:
                # in the options' terms first: behind this prefix the printer would not
                # see the fingerprint's name ("give a width" for "give a --om-width")
                return searching + fingerprint_warning(message, args)

            with reworded(warning=during_the_search):
                result = find_singular(
                    atoms,
                    built,
                    pull=args.pull,
                    cn_target=args.cn_target,
                    max_iterations=args.max_iterations,
                    fd_step=args.fd_step,
                    symmetry_tol=args.symmetry_tol,
                )
        except DegeneracyError as error:  # name the file and this frame, not the batch's
            raise DegeneracyError(
                f"{input_name(args)}, frame {index}: {error}".replace(": frame 0: ", ": ", 1)
            ) from error
        if args.reject_symmetric and physical_zero(result):
            raise DegeneracyError(
                f"{input_name(args)}, frame {index}: the configuration found is "
                f"{symmetric_text(result)}, so its zero is physical, not spurious"
            )
        results.append(result)
    write_environments(args.output, [r.atoms for r in results])
    sys.stdout.write(format_results(results))
    warning = f"degeneracy singular: warning: {input_name(args)}, "
    for index, result in enumerate(results):
        if physical_zero(result) and result.straight:
            print(
                f"{warning}frame {index}: the search reached a straight (linear) "
                "environment; its zero is the bend, forced by the axial symmetry "
                "(info straight=True)",
                file=sys.stderr,
            )
        elif physical_zero(result) and result.symmetric:
            print(
                f"{warning}frame {index}: the configuration found is symmetric; its zero "
                "singular value is forced by symmetry (info symmetric=True)",
                file=sys.stderr,
            )
        elif physical_zero(result):
            print(
                f"{warning}frame {index}: the configuration found is "
                f"{symmetric_text(result)}; its zeros are that symmetry's forced zeros, "
                "lifted (info near_symmetry_distance)",
                file=sys.stderr,
            )
        if not result.converged:
            print(
                f"{warning}frame {index}: CN {result.cn:.3g} did not reach --cn-target "
                f"{args.cn_target:.3g} (info converged=False)",
                file=sys.stderr,
            )


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "singular",
        help="find a nearby configuration where the smallest purified singular value vanishes",
        description="From each start structure, find a nearby configuration whose "
        "rotation-purified Jacobian (--rep, SOAP by default) has a zero singular value "
        "(Levenberg-Marquardt on J(r)u = 0; 3 Jacobians per iteration). Reports the condition "
        "number, the distance moved and what explains the zero: a point symmetry, or a "
        "motion that swaps neighbour pairs with equal (r, r', angle), which no ν = 2 "
        "fingerprint sees, or turns pairs the fingerprint ignores (ACSF's G4 beyond the "
        "cutoff, or a neighbour whose OM or ACSF cutoff weight nearly vanishes; steps that "
        "would reach a zero by fading a neighbour towards the cutoff are refused), or "
        "a kink where the fingerprint has no derivative (coinciding OM eigenvalues), whose "
        "one-sided spectrum explains nothing. Output: extxyz with info keys cn, symmetric, "
        "coincident_pairs, pair_swap_residual, unseen_pairs, truncation, n_spurious_zeros and "
        "n_explained_zeros (when the zeros are spurious: how many, and how many of them the "
        "labels explain), nearest_coincidence, "
        "coincidence_distance, near_swap_residual, near_swap_unseen (when it leaves out "
        "a pair the fingerprint weighs out), near_symmetry_distance (when "
        "near-symmetric), kink (when at a kink), jacobian_evaluations, distance, converged.",
    )
    add_input_arguments(parser)
    add_representation_arguments(parser)
    parser.add_argument(
        "--pull",
        type=float,
        default=1.0,
        metavar="ALPHA",
        help="pull towards the start, 0 <= ALPHA <= 1: each damped step aims at "
        "ALPHA x (start - current); "
        "1 converges to about the nearest singular configuration, 0 to wherever the "
        "damped steps lead (1.0)",
    )
    parser.add_argument(
        "--cn-target",
        type=float,
        default=DEFAULT_CN_TARGET,
        help=f"stop when the condition number exceeds this ({DEFAULT_CN_TARGET:g})",
    )
    parser.add_argument("--max-iterations", type=int, default=60, help="iterations at most (60)")
    parser.add_argument(
        "--fd-step",
        type=float,
        default=DEFAULT_FD_STEP,
        help="finite-difference step (Å) of the Jacobian along the motion, "
        f"{MIN_FD_STEP:g} to below 0.1 ({DEFAULT_FD_STEP:g})",
    )
    parser.add_argument(
        "--symmetry-tol",
        type=float,
        default=SYMMETRY_TOL,
        help="RMS residual (Å) under which a point operation is a symmetry, at most "
        f"{MAX_SYMMETRY_TOL} ({SYMMETRY_TOL})",
    )
    parser.add_argument(
        "--reject-symmetric",
        action="store_true",
        help="fail (exit 2) instead of flagging when the configuration found is symmetric, "
        "or so near a symmetric environment that its zeros are that symmetry's",
    )
    parser.add_argument(
        "--output", required=True, metavar="OUT.extxyz", help="where to write the result"
    )
    parser.set_defaults(func=run)
