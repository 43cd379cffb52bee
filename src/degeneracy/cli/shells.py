"""``degeneracy shells``: motions a fingerprint misses where N neighbours sit at one distance."""

from __future__ import annotations

import argparse
import re

import ase
import ase.data

from ..checks import bounded_int, positive_float
from ..errors import DegeneracyError
from ..files import json_text
from ..representations.base import every_hyper
from ..sensitivity import (
    MAX_SHELL,
    default_shell_radius,
    equidistant_blind_counts,
    shell_feature_count,
)
from ..species import atomic_number
from .options import (
    add_output_arguments,
    add_representation_arguments,
    aligned_table,
    check_output_suffix,
    csv_text,
    element_argument,
    emit,
    refuse_overwriting_inputs,
    representations_from_args,
    seed_value,
)

#: ``--rep`` default: the fingerprints with a first-order analysis of equidistant shells.
SHELL_FINGERPRINTS = ("soap", "bispectrum")

#: Most ``--shells`` per size: a hundred random shells already find the generic count.
MAX_SHELLS = 100

#: ``--sizes`` default: from a pair to a close-packed first shell.
DEFAULT_SIZES = "2-12"


def shell_sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated sizes and ranges (``2-12``, ``4,6,12``, ``4-8,12``), each
    from 2 to :data:`~degeneracy.sensitivity.MAX_SHELL`, in the order given, no repeats."""
    sizes: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise argparse.ArgumentTypeError(f"an empty size in {text!r} (e.g. 2-12 or 4,6,12)")
        match = re.fullmatch(r"([0-9]+)(?:\s*-\s*([0-9]+))?", part)  # ASCII digits only
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a size or a range of sizes (e.g. 2-12 or 4,6,12)"
            )
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise argparse.ArgumentTypeError(f"{part}: the range runs backwards")
        for size in (first, last):
            if not 2 <= size <= MAX_SHELL:
                raise argparse.ArgumentTypeError(
                    f"{part}: a shell holds 2 to {MAX_SHELL} neighbours, got {size}"
                )
        sizes += [n for n in range(first, last + 1) if n not in sizes]
    return sizes


def shell_frame(center: int, species: int) -> list[ase.Atoms]:
    """A one-frame stand-in for the shells (centre and one neighbour), from which the
    fingerprints take their centre and neighbour species, as every command's do from its
    frames."""
    return [ase.Atoms(numbers=[center, species], positions=[[0, 0, 0], [1, 0, 0]])]


def blind_table(args: argparse.Namespace) -> dict:
    """The counts of every ``--rep`` entry, with what they were computed for. Every entry
    is checked (the analysis, ``--radius`` inside its cutoff) before any is counted."""
    center = atomic_number(args.center, name="--center")
    species = atomic_number(args.species, name="--species")
    representations = representations_from_args(args, frames=shell_frame(center, species))
    radius = {}
    for label, representation in representations.items():
        if getattr(representation, "first_order_invariants", None) is None:
            raise DegeneracyError(
                f"--rep {label}: {representation.name} has no first-order analysis of "
                f"equidistant shells; choose from {', '.join(SHELL_FINGERPRINTS)}"
            )
        cutoff = float(representation.cutoff)
        if args.radius is not None and args.radius >= cutoff:
            raise DegeneracyError(
                f"--radius {args.radius} Å is not inside the cutoff of --rep {label} "
                f"({cutoff} Å): its shells would not be seen at all"
            )
        radius[label] = default_shell_radius(representation) if args.radius is None else args.radius
    missed = {
        label: equidistant_blind_counts(
            representation,
            args.sizes,
            species=species,
            radius=radius[label],
            shells=args.shells,
            seed=args.seed,
        )
        for label, representation in representations.items()
    }
    return {
        "center": ase.data.chemical_symbols[center],
        "species": ase.data.chemical_symbols[species],
        "radius": radius,
        "shells": args.shells,
        "seed": args.seed,
        "motions": {n: 3 * n - 3 for n in args.sizes},
        "missed": missed,
        "features": {
            label: shell_feature_count(r, species) for label, r in representations.items()
        },
        "settings": {label: every_hyper(r) for label, r in representations.items()},
    }


def _article(symbol: str) -> str:
    """ "a" or "an" before an element symbol read by its letters (an O, an H, a C)."""
    return "an" if symbol[0] in "AEFHILMNORSX" else "a"


def format_shells(table: dict, fmt: str) -> str:
    """:func:`blind_table` as a table (N, motions, missed per fingerprint), CSV or JSON."""
    if fmt == "json":
        return json_text(table)
    labels = list(table["missed"])
    if fmt == "csv":
        rows = [
            [n, motions, *(table["missed"][label][n] for label in labels)]
            for n, motions in table["motions"].items()
        ]
        return csv_text([["neighbors", "motions", *labels], *rows])
    header = ["N", "motions", *labels]
    short = {label: table["features"][label] for label in labels}

    def cell(label: str, n: int) -> str:  # * : fewer features than motions
        count = table["missed"][label][n]
        return f"{count}*" if 3 * n - 3 > short[label] else str(count)

    rows = [
        [n, motions, *(cell(label, n) for label in labels)]
        for n, motions in table["motions"].items()
    ]
    lines = [
        f"motions missed to first order by a fingerprint of {_article(table['center'])} "
        f"{table['center']} centre with "
        f"N {table['species']} neighbours at one distance",
        f"(least over {table['shells']} shells in random directions, seed {table['seed']})",
        "",
        aligned_table([header, *rows]).rstrip("\n"),
    ]
    if 2 in table["motions"]:
        lines += [
            "",
            "N = 2: two neighbours at one distance are always swapped by a mirror, so every "
            "fingerprint misses r1 - r2 there, by symmetry; only what it misses beyond that "
            "is its own",
        ]
    limited = [label for label in labels if any(3 * n - 3 > short[label] for n in table["motions"])]
    if limited:
        features = ", ".join(f"{short[label]} for {label}" for label in limited)
        lines += [
            "",
            f"*: more motions than the fingerprint has features (F = {features}): at least "
            "3N - 3 - F of them are missed at every configuration, not only at one distance "
            "(spectrum's 'dimension' verdict)",
        ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    check_output_suffix(args)
    refuse_overwriting_inputs(args, {"--output": args.output})
    args.shells = bounded_int("--shells", args.shells, minimum=1, maximum=MAX_SHELLS)
    if args.radius is not None:
        args.radius = positive_float("--radius", args.radius)
    emit(format_shells(blind_table(args), args.format), args.output)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "shells",
        help="motions a fingerprint misses where N neighbours sit at one distance "
        "(choose l_max before a scan)",
        description="For shells of N neighbours of one species at one distance from the "
        "centre (data made with fixed bond lengths, an ideal first shell), how many of the "
        "3N − 3 motions the fingerprint does not see to first order: exact zeros of the "
        "purified Jacobian wherever such a shell occurs, whatever n_max, sigma or the "
        "radial basis (they depend on l_max). Computed from the few sums through which "
        "the fingerprint sees such a shell, without a Jacobian; random directions, the "
        "least over --shells shells (symmetric shells miss more). A fingerprint with "
        "fewer features F than motions (n_max 1) misses at least 3N − 3 − F everywhere: "
        "those counts are marked *. SOAP and the bispectrum (docs/concepts.md, 'A "
        "truncated fingerprint at equidistant neighbours').",
    )
    parser.add_argument(
        "--sizes",
        type=shell_sizes,
        default=shell_sizes(DEFAULT_SIZES),
        metavar="N",
        help=f"shell sizes: e.g. 4,6,12 or 2-12 or 4-8,12, from 2 to {MAX_SHELL} ({DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--species", type=element_argument, default="H", help="the neighbours' element (H)"
    )
    parser.add_argument(
        "--center", type=element_argument, default="C", help="the centre's element (C)"
    )
    parser.add_argument(
        "--radius",
        type=float,
        help="their distance in Å, from 0.01 to inside every fingerprint's cutoff (half "
        "the cutoff; the counts do not depend on it)",
    )
    parser.add_argument(
        "--shells", type=int, default=3, help=f"random shells per size, 1 to {MAX_SHELLS} (3)"
    )
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="seed of the random directions (0)"
    )
    add_representation_arguments(parser, multiple=True, names=SHELL_FINGERPRINTS)
    add_output_arguments(parser, ["table", "csv", "json"])
    parser.set_defaults(func=run)
