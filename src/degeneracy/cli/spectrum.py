"""``degeneracy spectrum``: singular spectrum per frame."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..checks import MAX_SYMMETRY_TOL, symmetry_tolerance_value
from ..compositions import analyse_by_composition
from ..files import json_text
from ..sensitivity import (
    MIN_ZERO_RTOL,
    SYMMETRY_TOL,
    ZERO_RTOL,
    FrameAnalysis,
    explained_verdict,
    near_swap_text,
)
from .options import (
    add_input_arguments,
    add_output_arguments,
    add_representation_arguments,
    aligned_table,
    check_input_analysable,
    check_output_suffix,
    csv_text,
    emit,
    frames_from_args,
    naming_input_file,
    number_text,
    refuse_overwriting_inputs,
    representation_from_args,
)


def format_spectrum(results: Sequence[FrameAnalysis], fmt: str) -> str:
    """Render :func:`~degeneracy.sensitivity.analyse_frames` results as a table, CSV or JSON."""
    if fmt == "json":
        return json_text([r.to_dict() for r in results])
    names = [f"s{k + 1}" for k in range(len(results[0].singular_values))]
    if fmt == "csv":
        return _spectrum_csv(results, names)
    return _spectrum_table(results, names)


def _spectrum_csv(results: Sequence[FrameAnalysis], names: list[str]) -> str:
    """Every field of each frame at full precision, one CSV row per frame."""
    header = [
        "frame",
        *names,
        "cn",
        "symmetric",
        "symmetry_residual",
        "verdict",
        "pair_swap",
        "unseen_pairs",
        "truncation",
        "n_spurious_zeros",
        "n_explained_zeros",
        "nearest_coincidence",
        "coincidence_distance",
        "near_swap_residual",
        "near_swap_unseen",
        "near_symmetry_distance",
        "near_symmetry_zero_distance",
        "fourbody",
    ]
    rows = [
        [
            # full precision, as compare and pairs write theirs (s_min of 1e-10
            # beside s_1 of 2: six digits would not say how far from a zero it is)
            r.frame,
            *[number_text(v, "", exact=True) for v in r.singular_values],
            number_text(r.cn, "", exact=True),
            r.symmetric,
            number_text(r.symmetry_residual, "", exact=True),
            r.verdict,
            r.pair_swap or "",
            r.unseen_pairs or "",
            r.truncation or "",
            "" if r.n_spurious_zeros is None else r.n_spurious_zeros,
            "" if r.n_explained_zeros is None else r.n_explained_zeros,
            r.nearest_coincidence or "",
            number_text(r.coincidence_distance, "", exact=True),
            number_text(r.near_swap_residual, "", exact=True),
            r.near_swap_unseen or "",
            number_text(r.near_symmetry_distance, "", exact=True),
            number_text(r.near_symmetry_zero_distance, "", exact=True),
            number_text(r.fourbody, "", exact=True),
        ]
        for r in results
    ]
    return csv_text([header, *rows])


def _spectrum_table(results: Sequence[FrameAnalysis], names: list[str]) -> str:
    """The aligned table ``spectrum`` prints: singular values and CN to 4 significant
    digits, the verdict explained, E4 to 4 decimals."""
    header = ["frame", *names, "CN", "symmetric", "zeros", "nearest equal pairs", "E4"]
    rows = [
        [
            r.frame,
            *[f"{v:.3e}" for v in r.singular_values],
            f"{r.cn:.3e}",
            "yes" if r.symmetric else "no",
            explained_verdict(
                r.verdict,
                r.pair_swap,
                r.unseen_pairs,
                r.near_symmetry_distance,
                r.truncation,
                n_explained=r.n_explained_zeros,
                n_spurious=r.n_spurious_zeros,
                near_symmetry_zero_distance=r.near_symmetry_zero_distance,
            ),
            near_swap_text(r.to_dict()),
            "" if r.fourbody is None else f"{r.fourbody:.4f}",
        ]
        for r in results
    ]
    return aligned_table([header, *rows])


def run(args: argparse.Namespace) -> None:
    check_output_suffix(args)
    refuse_overwriting_inputs(args, {"--output": args.output})
    symmetry_tolerance_value("--symmetry-tol", args.symmetry_tol)
    frames = frames_from_args(args)
    representation = representation_from_args(args, frames)
    check_input_analysable(args, frames, [representation])
    with naming_input_file(args):
        results = analyse_by_composition(
            frames,
            representation,
            symmetry_tol=args.symmetry_tol,
            zero_rtol=args.zero_rtol,
            progress=len(frames) > 1000 and sys.stderr.isatty(),
        )
    emit(format_spectrum(results, args.format), args.output)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "spectrum",
        help="singular spectrum of the rotation-purified Jacobian per frame",
        description="Per frame: singular values s1..s9 of the rotation-purified Jacobian "
        "(3N − 3 of them for N neighbours: see --environment), "
        "condition number CN = s1/s9, whether the environment has a point symmetry and "
        "whether its near-zero singular values are explained by it ('zeros': kink (the "
        "fingerprint has no derivative here, e.g. coinciding OM eigenvalues at a symmetric "
        "frame: the spectrum is one one-sided derivative and says nothing), regular, "
        "symmetry, near-symmetry (the forced zeros of a symmetric environment nearby, "
        "beyond --symmetry-tol and within 0.15 Å of its operations, which vanish on the way "
        "there; its distance in Å), "
        "dimension (no more zeros than a fingerprint with fewer features than "
        "motions has everywhere) or spurious; a spurious zero whose motion swaps neighbour "
        "pairs with equal (r, r', angle), which no ν = 2 fingerprint sees, or turns pairs the "
        "fingerprint ignores (ACSF's G4 beyond the cutoff), names them, as it names "
        "neighbours at one distance whose motions the fingerprint sees through too few sums "
        "(SOAP with l_max ≤ 4 for CH4 at one C–H distance, or six or more at the default "
        "l_max 8; the default bispectrum for nine or more)), the two "
        "neighbour pairs nearest to equal (r, r', angle) with their distance in Å and rho, "
        "the part of the softest motion that does not just trade them (near 0: a "
        "near-singular frame sits by a branch point of ν = 2 degenerate pairs), and the "
        "four-body target E4.",
    )
    add_input_arguments(parser)
    add_representation_arguments(parser)
    parser.add_argument(
        "--symmetry-tol",
        type=float,
        default=SYMMETRY_TOL,
        help="RMS residual (Å) under which a point operation is a symmetry, at most "
        f"{MAX_SYMMETRY_TOL} ({SYMMETRY_TOL})",
    )
    parser.add_argument(
        "--zero-rtol",
        type=float,
        default=ZERO_RTOL,
        help=f"s_k/s_1 under which a singular value counts as zero, {MIN_ZERO_RTOL:g} to "
        f"below 1 ({ZERO_RTOL})",
    )
    add_output_arguments(parser, ["table", "csv", "json"])
    parser.set_defaults(func=run)
