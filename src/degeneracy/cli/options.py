"""Options shared by the subcommands, and turning them into library objects."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import ase

from ..errors import DegeneracyError
from ..files import atomic_open
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


def add_representation_arguments(parser: argparse.ArgumentParser) -> None:
    """--rep and the hyperparameters of every representation."""
    parser.add_argument(
        "--rep",
        choices=sorted(REPRESENTATIONS),
        default="soap",
        help="fingerprint (soap)",
    )
    add_soap_arguments(parser)


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


def representation_from_args(args: argparse.Namespace, name: str | None = None) -> Representation:
    """The representation selected by ``--rep`` (or ``name``) with its options."""
    name = name or getattr(args, "rep", "soap")
    if name == "soap":
        return make_representation("soap", **soap_hypers_from_args(args))
    return make_representation(name)


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
