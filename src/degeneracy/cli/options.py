"""Options shared by the subcommands, and turning them into library objects."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence

import ase

from ..errors import DegeneracyError
from ..files import atomic_open
from ..learning.datasets import SAMPLERS
from ..representations import REPRESENTATIONS, OptimalBasis, Representation, make_representation
from ..structures import BUILTINS, UNITS, builtin_environment, read_environments


def add_input_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """FILE or --builtin NAME, plus --units."""
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="structure file readable by ase (extxyz, xyz, ...); centre first (C), then 4 H",
    )
    parser.add_argument(
        "--builtin",
        metavar="NAME",
        help=f"built-in structure instead of FILE: {', '.join(sorted(BUILTINS))}",
    )
    parser.add_argument(
        "--units",
        choices=sorted(UNITS),
        default="angstrom",
        help="length unit of FILE's positions (default: angstrom)",
    )
    parser.set_defaults(input_required=required)


def add_soap_arguments(parser: argparse.ArgumentParser) -> None:
    """SOAP hyperparameters (also the cutoff used to validate environments)."""
    group = parser.add_argument_group("SOAP options")
    group.add_argument("--sigma", type=float, default=0.3, help="Gaussian width σ in Å (0.3)")
    group.add_argument("--n-max", type=int, default=8, help="radial functions (8)")
    group.add_argument("--l-max", type=int, default=8, help="largest angular channel (8)")
    group.add_argument(
        "--cutoff", type=float, default=2.5, help="cutoff radius in Å, hard step (2.5)"
    )
    group.add_argument(
        "--basis",
        choices=["gto", "optimal"],
        default="gto",
        help="radial basis: featomic's GTO or the data-driven optimal basis (gto)",
    )
    group.add_argument(
        "--basis-file",
        metavar="PATH",
        help="optimal basis saved by `degeneracy fit-basis` (implies --basis optimal)",
    )


#: Fingerprints in ``--rep`` order of the help text; the default list of multi-fingerprint commands.
REPRESENTATION_ORDER = ("soap", "bispectrum", "acsf", "om")


def representation_names(text: str) -> list[str]:
    """Parse a comma-separated ``--rep`` list (argparse type): known names, no repeats."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in REPRESENTATIONS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fingerprint {', '.join(unknown) or repr(text)}; "
            f"choose from {','.join(REPRESENTATION_ORDER)}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"fingerprint listed twice in {text!r}")
    return names


def add_other_representation_arguments(parser: argparse.ArgumentParser) -> None:
    """Hyperparameters of the bispectrum, ACSF and overlap-matrix fingerprints."""
    group = parser.add_argument_group(
        "bispectrum options (ν = 3; uses --sigma and --cutoff, GTO radial basis)"
    )
    group.add_argument("--bispectrum-n-max", type=int, default=4, help="radial functions (4)")
    group.add_argument(
        "--bispectrum-l-max", type=int, default=4, help="band limit: largest l coupled (4)"
    )
    group = parser.add_argument_group("ACSF options (Behler G2 + G4; uses --cutoff)")
    group.add_argument(
        "--acsf-set",
        choices=["tight", "loose", "scaled"],
        default="tight",
        help="parameter set: dense 'tight' (57 functions, for C-H bonds at cutoff 2.5 A), "
        "sparse 'loose' (11), or 'scaled' (tight in units of the cutoff, radial centres "
        "at 0.28-0.68 x cutoff: e.g. --cutoff 3.5 for Si-Si 2.35 A) (tight)",
    )
    group.add_argument(
        "--acsf-angular",
        choices=["g4", "g5"],
        default="g4",
        help="angular functions: Behler G4 (with the neighbour-neighbour cutoff) or G5 "
        "(without it) (g4)",
    )
    group = parser.add_argument_group("overlap-matrix options (Sadeghi et al.; uses --cutoff)")
    group.add_argument(
        "--om-orbitals",
        choices=["sp", "s"],
        default="sp",
        help="Gaussian orbitals per atom: s and p, or s only (sp)",
    )
    group.add_argument(
        "--om-width",
        type=float,
        default=1.5,
        help="Gaussian width as a multiple of the covalent radius (1.5)",
    )


def add_representation_arguments(
    parser: argparse.ArgumentParser, *, multiple: bool = False
) -> None:
    """--rep and the hyperparameters of every representation.

    With ``multiple``, ``--rep`` takes a comma-separated list (default: all fingerprints)
    and :func:`representations_from_args` builds each of them.
    """
    if multiple:
        parser.add_argument(
            "--rep",
            type=representation_names,
            default=list(REPRESENTATION_ORDER),
            metavar="NAMES",
            help=f"comma-separated fingerprints ({','.join(REPRESENTATION_ORDER)})",
        )
    else:
        parser.add_argument(
            "--rep",
            choices=list(REPRESENTATION_ORDER),
            default="soap",
            help=f"fingerprint: {'|'.join(REPRESENTATION_ORDER)} (soap)",
        )
    add_soap_arguments(parser)
    add_other_representation_arguments(parser)


def add_sampler_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--sampler``: the generator of the learning's training and validation structures."""
    parser.add_argument(
        "--sampler",
        choices=sorted(SAMPLERS),
        default="thermal",
        help="training/validation structures of the learning: thermal (independent frames, "
        "default), trajectory (Langevin frames split at random, as P&G's MD frames and the "
        "Comment's were), tilted, uniform",
    )


def add_output_arguments(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """--format and --output."""
    parser.add_argument(
        "--format", choices=list(formats), default=formats[0], help=f"output format ({formats[0]})"
    )
    parser.add_argument(
        "--output", metavar="PATH", help="write here instead of stdout (atomically)"
    )


def soap_hypers_from_args(args: argparse.Namespace) -> dict:
    """Keyword arguments of :class:`SoapPowerSpectrum` from the SOAP options."""
    optimal = OptimalBasis.load(args.basis_file) if args.basis_file else None
    return {
        "sigma": args.sigma,
        "cutoff": args.cutoff,
        "n_max": args.n_max,
        "l_max": args.l_max,
        "basis": "optimal" if optimal is not None else args.basis,
        "optimal_basis": optimal,
    }


def representation_hypers_from_args(args: argparse.Namespace, name: str) -> dict:
    """Keyword hyperparameters of representation ``name`` from the options.

    Options a subcommand does not define take the representation's defaults.
    """
    cutoff = getattr(args, "cutoff", 2.5)
    if name == "soap":
        return soap_hypers_from_args(args)
    if name == "bispectrum":
        return {
            "sigma": getattr(args, "sigma", 0.3),
            "cutoff": cutoff,
            "n_max": getattr(args, "bispectrum_n_max", 4),
            "l_max": getattr(args, "bispectrum_l_max", 4),
        }
    if name == "acsf":
        return {
            "parameter_set": getattr(args, "acsf_set", "tight"),
            "angular": getattr(args, "acsf_angular", "g4"),
            "cutoff": cutoff,
        }
    if name == "om":
        return {
            "orbitals": getattr(args, "om_orbitals", "sp"),
            "width": getattr(args, "om_width", 1.5),
            "cutoff": cutoff,
        }
    return {}


def representation_from_args(args: argparse.Namespace, name: str | None = None) -> Representation:
    """The representation selected by ``--rep`` (or ``name``) with its options."""
    name = name or getattr(args, "rep", "soap")
    if isinstance(name, list):
        if len(name) != 1:
            raise DegeneracyError(f"expected one fingerprint, got {','.join(name)}")
        name = name[0]
    return make_representation(name, **representation_hypers_from_args(args, name))


def representations_from_args(args: argparse.Namespace) -> dict[str, Representation]:
    """Every representation listed by ``--rep`` (a list or one name), by name."""
    names = getattr(args, "rep", "soap")
    names = [names] if isinstance(names, str) else list(names)
    return {name: representation_from_args(args, name) for name in names}


def frames_from_args(args: argparse.Namespace) -> list[ase.Atoms]:
    """Frames from FILE or --builtin (exactly one of them)."""
    if (args.file is None) == (args.builtin is None):
        raise DegeneracyError("give either a structure FILE or --builtin NAME")
    if args.builtin is not None:
        return [builtin_environment(args.builtin)]
    return read_environments(args.file, units=args.units, cutoff=args.cutoff)


def emit(text: str, output: str | None) -> None:
    """Print ``text`` or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
    else:
        with atomic_open(output) as handle:
            handle.write(text)


def aligned_table(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as right-aligned columns, one line each."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines) + "\n"


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
