"""Options shared by the subcommands, and turning them into library objects."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ase
import ase.data

from ..checks import positive_float
from ..environments import parse_species
from ..errors import OPTION_TERMS, SPEC_MISMATCH, DegeneracyError, DegeneracyWarning
from ..files import atomic_open, output_file, output_folder
from ..learning.datasets import SAMPLERS
from ..learning.specs import training_seed
from ..representations.base import every_hyper
from ..species import SPELLINGS, atomic_number, species_items
from ..structures import (
    BUILTINS,
    CH4,
    UNITS,
    EnvironmentSpec,
    builtin_environment,
    environment_species,
    parse_environment,
    read_environments,
)

if TYPE_CHECKING:
    from ..representations import Representation


def seed_value(text: str) -> int:
    """argparse ``type`` of a random seed: an integer from 0 (numpy's generators refuse less)
    to 2**64 − 1 (torch's refuse more), refused in the library's words
    (:func:`~degeneracy.learning.specs.training_seed`)."""
    try:
        return training_seed("seed", plain_int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    except DegeneracyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def species_argument(text: str) -> str:
    """argparse ``type`` of ``--centers`` and ``--neighbors``: ``all`` or element symbols
    (``C,H``). An atomic number is refused with its symbol: the library's words invite
    atomic numbers, which its Python callers give as integers, not as text."""
    if text == "all":
        return text
    symbols = "element symbols such as C,H"
    for item in species_items(text):
        if item.isdigit():
            which = ""
            with contextlib.suppress(DegeneracyError):
                which = f" ({item} is {ase.data.chemical_symbols[atomic_number(int(item))]})"
            raise argparse.ArgumentTypeError(f"unknown element {item!r}; give {symbols}{which}")
    try:
        parse_species(text)
    except DegeneracyError as error:
        raise argparse.ArgumentTypeError(str(error).replace(SPELLINGS, symbols)) from None
    return text


def element_argument(text: str) -> str:
    """argparse ``type`` of an option naming one species (``shells --species``): one
    element symbol, refused as :func:`species_argument` refuses its items."""
    if text == "all" or len(species_items(text)) != 1:
        raise argparse.ArgumentTypeError(f"give one element symbol, got {text!r}")
    return species_argument(text)


def environment_value(text: str) -> EnvironmentSpec:
    """argparse ``type`` of ``--environment``: ``any`` or e.g. ``CH4``, ``SiO4``; a refusal
    names the value as given (argparse names the option)."""
    try:
        return parse_environment(text)
    except DegeneracyError as error:  # the spec's field name is not the user's word
        reason = str(error).replace("n_neighbors must", "the neighbour count must")
        raise argparse.ArgumentTypeError(reason) from None


#: Namespace attribute holding the options given on the command line (dest → option string).
EXPLICIT_OPTIONS = "explicit_options"

#: Each fingerprint's hyperparameters that options set: keyword -> the option's destination
#: (``--bispectrum-n-max`` stores ``bispectrum_n_max``). The one table of which option sets
#: what: the keywords built from the options (:func:`representation_hypers_from_args`), the
#: fingerprints an option applies to (:data:`OPTION_REPRESENTATIONS`) and the option named
#: in an error about a keyword (:data:`HYPER_OPTIONS`) derive from it.
FINGERPRINT_OPTIONS = {
    "soap": {
        "sigma": "sigma",
        "cutoff": "cutoff",
        "n_max": "n_max",
        "l_max": "l_max",
        "basis": "basis",
        "optimal_basis": "basis_file",
    },
    "bispectrum": {
        "sigma": "sigma",
        "cutoff": "cutoff",
        "n_max": "bispectrum_n_max",
        "l_max": "bispectrum_l_max",
    },
    "acsf": {"parameter_set": "acsf_set", "angular": "acsf_angular", "cutoff": "cutoff"},
    "om": {"orbitals": "om_orbitals", "width": "om_width", "cutoff": "cutoff"},
}


def option_of(dest: str) -> str:
    """The option that stores ``dest`` (``bispectrum_n_max`` -> ``--bispectrum-n-max``)."""
    return "--" + dest.replace("_", "-")


#: The fingerprints each fingerprint-specific option configures (``--cutoff`` sets them all).
OPTION_REPRESENTATIONS = {
    dest: tuple(name for name, hypers in FINGERPRINT_OPTIONS.items() if dest in hypers.values())
    for dest in dict.fromkeys(d for hypers in FINGERPRINT_OPTIONS.values() for d in hypers.values())
    if dest != "cutoff"
}


class RecordedStore(argparse.Action):
    """argparse's ``store`` that also records that the option was given (not defaulted).

    argparse cannot tell a default from an explicit value equal to it; the record lets
    :func:`check_options_apply` refuse options of a fingerprint that is not selected.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        recorded = dict(getattr(namespace, EXPLICIT_OPTIONS, {}))
        recorded[self.dest] = option_string
        setattr(namespace, EXPLICIT_OPTIONS, recorded)


def refuse_options(args: argparse.Namespace, dests: Sequence[str], reason: str) -> None:
    """Refuse any of the options ``dests`` given on the command line: ``OPTION reason``.

    For options that the rest of the command line makes moot (recorded by
    :class:`RecordedStore`), which would otherwise be silently ignored.
    """
    explicit = getattr(args, EXPLICIT_OPTIONS, {})
    given = [explicit[dest] for dest in dests if dest in explicit]
    if given:
        raise DegeneracyError(f"{given[0]} {reason}")


#: Destinations of every fingerprint option (``--rep``, ``--cutoff`` and the specific ones).
REPRESENTATION_DESTS = ("rep", "cutoff", *OPTION_REPRESENTATIONS)


def check_options_apply(args: argparse.Namespace, names: Sequence[str]) -> None:
    """Refuse fingerprint options given for none of the selected fingerprints ``names``
    (base names: an entry's own settings do not make another fingerprint's option apply).

    E.g. ``--rep acsf --sigma 0.5`` would otherwise compute ACSF and silently drop σ.
    """
    names = list(dict.fromkeys(names))
    for dest, option in getattr(args, EXPLICIT_OPTIONS, {}).items():
        applies_to = OPTION_REPRESENTATIONS.get(dest)
        if applies_to is not None and not set(applies_to) & set(names):
            selected, sets = ",".join(names), ", ".join(applies_to)
            raise DegeneracyError(f"{option} does not apply to --rep {selected} (it sets {sets})")


def check_options_not_overridden(
    args: argparse.Namespace, entries: Sequence[FingerprintEntry]
) -> None:
    """Refuse a fingerprint option given on the command line whose hyperparameter every
    ``--rep`` entry it would configure sets itself: ``--rep soap:n_max=6 --n-max 4``
    would otherwise drop ``--n-max`` silently. Options of none of the fingerprints are
    :func:`check_options_apply`'s."""
    for dest, option in getattr(args, EXPLICIT_OPTIONS, {}).items():
        configured = [
            (entry, hyper)
            for entry in entries
            for hyper, hyper_dest in FINGERPRINT_OPTIONS.get(entry.name, {}).items()
            if hyper_dest == dest
        ]
        if configured and all(hyper in entry.overridden() for entry, hyper in configured):
            labels = ",".join(entry.label for entry, _ in configured)
            hyper = configured[0][1]
            setting = "basis=gto" if hyper == "optimal_basis" else hyper  # as the entry says
            raise DegeneracyError(
                f"{option} does not apply to --rep {labels} (each of them sets {setting} itself)",
                kind=OPTION_TERMS,
            )


def add_input_arguments(
    parser: argparse.ArgumentParser, *, required: bool = True, environment: bool = True
) -> None:
    """FILE or --builtin NAME, plus --units (and --environment unless ``environment`` is
    false: commands whose model or basis is for CH4)."""
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="structure file readable by ase (extxyz, xyz, ...), a frame per environment: "
        "centre first, then its neighbours (C and 4 H"
        + (" unless --environment)" if environment else ")"),
    )
    parser.add_argument(
        "--builtin",
        metavar="NAME",
        help=f"built-in structure instead of FILE: {', '.join(sorted(BUILTINS))}",
    )
    add_units_argument(parser, "FILE's positions")
    if environment:
        add_environment_argument(parser, "FILE's frames")
    parser.set_defaults(input_required=required)


def add_environment_argument(parser: Any, of: str) -> None:
    """``--environment``: what each of the input's frames must be (default CH4)."""
    parser.add_argument(
        "--environment",
        action=RecordedStore,
        type=environment_value,
        default=CH4,
        metavar="SPEC",
        help=f"what {of} are: a centre element, a neighbour element and their count "
        "(CH4, SiO4, OH2), or 'any' (any centre, any neighbours; every frame the same "
        "centre species and size); species-aware fingerprints (SOAP, bispectrum, ACSF) "
        "describe each frame with its own centre and neighbour species (CH4)",
    )


def add_units_argument(parser: Any, of: str, *, flag: str = "--units") -> None:
    """The length-unit option of an input file (``angstrom``, ``bohr``), recorded when given
    (so a command can refuse it where no such file is read)."""
    parser.add_argument(
        flag,
        action=RecordedStore,
        choices=sorted(UNITS),
        default="angstrom",
        help=f"length unit of {of} (default: angstrom)",
    )


def add_soap_arguments(parser: argparse.ArgumentParser, *, radial_basis: bool = True) -> None:
    """SOAP hyperparameters (also the cutoff used to validate environments).

    Without ``radial_basis``, no ``--basis``/``--basis-file`` (``fit-basis`` makes one).
    """
    group = parser.add_argument_group("SOAP options")
    add = _recording(group)
    add("--sigma", type=float, default=0.3, help="Gaussian width σ in Å (0.3)")
    add("--n-max", type=int, default=8, help="radial functions (8)")
    add("--l-max", type=int, default=8, help="largest angular channel (8)")
    add("--cutoff", type=float, default=2.5, help="cutoff radius in Å, hard step (2.5)")
    if not radial_basis:
        return
    add(
        "--basis",
        choices=["gto", "optimal"],
        default="gto",
        help="radial basis: featomic's GTO or the data-driven optimal basis (gto)",
    )
    add(
        "--basis-file",
        metavar="PATH",
        help="optimal basis saved by `degeneracy fit-basis` (implies --basis optimal)",
    )


def _recording(group: argparse._ActionsContainer):
    """``group.add_argument`` with :class:`RecordedStore` as the action."""

    def add(*flags: str, **kwargs):
        return group.add_argument(*flags, action=RecordedStore, **kwargs)

    return add


#: Fingerprints in ``--rep`` order of the help text; the default list of multi-fingerprint commands.
REPRESENTATION_ORDER = ("soap", "bispectrum", "acsf", "om")


#: The keywords a ``--rep`` entry may set (``soap:n_max=6:l_max=6``), by fingerprint, with
#: the type their text is read as: the constructor's keyword hyperparameters
#: (:func:`~degeneracy.representations.make_representation`), but for the species (each
#: frame's own), and those that take an object or lists (SOAP's ``optimal_basis``:
#: ``--basis-file``; ACSF's custom ``g2`` and ``g4``). The constructors check the values.
ENTRY_KEYS: dict[str, dict[str, type]] = {
    "soap": {
        "sigma": float,
        "cutoff": float,
        "n_max": int,
        "l_max": int,
        "basis": str,
        "n_primitive": int,
    },
    "bispectrum": {"sigma": float, "cutoff": float, "n_max": int, "l_max": int},
    "acsf": {"parameter_set": str, "angular": str, "cutoff": float},
    "om": {"orbitals": str, "width": float, "cutoff": float},
}


@dataclass(frozen=True)
class FingerprintEntry:
    """One entry of a ``--rep`` list: a fingerprint, the settings it sets itself, its label.

    Attributes
    ----------
    name : str
        The fingerprint (``soap``, ``bispectrum``, ``acsf``, ``om``).
    overrides : dict
        Keyword hyperparameters this entry sets, over the shared options
        (``{"n_max": 6}`` for ``soap:n_max=6``).
    label : str
        What names the entry's results (``cn_LABEL``, JSON keys, the figure's legend): the
        entry as written, without spaces (``soap:n_max=6``); ``name`` when it sets nothing.
    """

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def overridden(self) -> set[str]:
        """The keyword hyperparameters this entry's own settings decide: those it sets,
        and SOAP's ``optimal_basis`` (``--basis-file``) when it sets ``basis=gto``."""
        keys = set(self.overrides)
        if self.overrides.get("basis") == "gto":
            keys.add("optimal_basis")
        return keys


#: How a whole-number hyperparameter is written on the command line: decimal digits 0-9,
#: a minus sign allowed (refused by the fingerprint, in its own words).
_INTEGER_TEXT = re.compile(r"-?[0-9]+")

#: How a real-number hyperparameter is written: decimals with an optional exponent
#: (``0.3``, ``.3``, ``3e-1``, ``2``), a minus sign allowed.
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


#: Non-finite values that real-number options pass on (``--lr inf``), for the library to
#: refuse in its own words (``--lr must be a positive number, got inf``).
_NON_FINITE_TEXT = re.compile(r"-?(?:nan|inf|infinity)", re.IGNORECASE)


def plain_int(text: str) -> int:
    """argparse's reading of ``type=int`` options (:class:`~degeneracy.cli.OneLineParser`
    registers it): decimal digits 0-9 and a minus sign, as :func:`hyper_value` reads an
    integer; ``int`` alone took ``--n-max 1_0`` as 10 and non-ASCII digits. A ValueError
    becomes argparse's ``invalid int value: '1_0'``."""
    if not _INTEGER_TEXT.fullmatch(text):
        raise ValueError(text)
    return int(text)


def plain_float(text: str) -> float:
    """argparse's reading of ``type=float`` options: decimals with an optional exponent, as
    :func:`hyper_value` reads a number, and nan or inf for the checks that name them;
    ``float`` alone took ``1_0.5`` and non-ASCII digits."""
    if _NON_FINITE_TEXT.fullmatch(text):
        return float(text)
    if not _NUMBER_TEXT.fullmatch(text):
        raise ValueError(text)
    try:
        return double_of_number_text(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def double_of_number_text(text: str) -> float:
    """``float(text)`` for a number written as :data:`_NUMBER_TEXT`, refusing what double
    precision cannot hold: ``1e400`` became inf and ``1e-400`` 0, which the checks then
    echoed as "got inf" or "got 0.0", not what was typed.

    Raises
    ------
    ValueError
        ``"1e-400 is 0 in double precision (its smallest is 5e-324)"``.
    """
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is beyond double precision (its largest is 1.8e308)")
    mantissa = re.split("[eE]", text)[0]
    if value == 0.0 and re.search("[1-9]", mantissa):
        raise ValueError(f"{text} is 0 in double precision (its smallest is 5e-324)")
    return value


def hyper_value(key: str, text: str, kind: type) -> Any:
    """A keyword hyperparameter's value as written on the command line (``--rep
    soap:n_max=6``), read as ``kind``; the constructor checks it further.

    Only plainly written numbers are read as numbers: for ``int``, decimal digits
    (``6``, ``-1``); for ``float``, decimals with an optional exponent (``0.3``, ``.3``,
    ``3e-1``, ``2``). Python's ``int`` and ``float`` also take ``1_0`` (10), ``+8``,
    ``٣`` (non-ASCII digits), surrounding spaces, and ``float`` ``nan``, ``inf`` and
    ``1_0.5``: all refused here. Any other ``kind`` (``str``) takes the text as it is.

    Parameters
    ----------
    key : str
        The keyword (``n_max``), for the error.
    text : str
        The value as written.
    kind : type
        ``int``, ``float`` or ``str``.

    Returns
    -------
    int, float or str

    Raises
    ------
    DegeneracyError
        ``"n_max must be an integer, got '1_0'"``, ``"sigma must be a number, got
        'nan'"``.
    """
    if kind is int or kind is float:
        plain = _INTEGER_TEXT if kind is int else _NUMBER_TEXT
        if not isinstance(text, str) or not plain.fullmatch(text):
            what = "an integer" if kind is int else "a number"
            raise DegeneracyError(f"{key} must be {what}, got {text!r}")
        if kind is float:
            try:
                return double_of_number_text(text)
            except ValueError as error:
                raise DegeneracyError(f"{key}: {error}") from None
        try:
            return int(text)
        except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
            raise DegeneracyError(f"{key} is too large: {len(text)} digits") from None
    return text


def entry_setting(entry: str, name: str, part: str) -> tuple[str, Any]:
    """The ``(key, value)`` of one ``key=value`` of ``--rep`` entry ``entry`` of fingerprint
    ``name``, the value read as the keyword's type (:data:`ENTRY_KEYS`); the constructor
    checks it further. Refusals (argparse type errors) name the entry and the key."""
    key, equals, value = (text.strip() for text in part.partition("="))
    if not equals or not key or not value:
        raise argparse.ArgumentTypeError(f"{entry}: a setting is key=value, got {part!r}")
    keys = ENTRY_KEYS[name]
    if key not in keys:
        raise argparse.ArgumentTypeError(
            f"{entry}: {name} has no setting {key!r}; it takes {', '.join(keys)}"
        )
    try:
        return key, hyper_value(key, value, keys[key])
    except DegeneracyError as error:
        raise argparse.ArgumentTypeError(f"{entry}: {error}") from None


def fingerprint_entry(text: str) -> FingerprintEntry:
    """One ``--rep`` entry: ``NAME`` or ``NAME:key=value:key=value`` (:data:`ENTRY_KEYS`),
    labelled as written without spaces."""
    name, *parts = (part.strip() for part in text.split(":"))
    if name not in REPRESENTATION_ORDER:
        choices = ",".join(REPRESENTATION_ORDER)
        # soap:n_max=6,l_max=2 splits at the comma into soap:n_max=6 and l_max=2
        hint = "; an entry's settings are separated by ':' (soap:n_max=6:l_max=6)"
        raise argparse.ArgumentTypeError(
            f"unknown fingerprint {name or repr(text)}; choose from {choices}"
            + (hint if "=" in name else "")
        )
    label = ":".join([name, *("=".join(s.strip() for s in part.split("=")) for part in parts)])
    overrides: dict[str, Any] = {}
    for part in parts:
        key, value = entry_setting(label, name, part)
        if key in overrides:
            raise argparse.ArgumentTypeError(f"{label}: {key} given twice")
        overrides[key] = value
    return FingerprintEntry(name, overrides, label)


def representation_entries(text: str) -> list[FingerprintEntry]:
    """Parse a comma-separated ``--rep`` list (argparse type): known fingerprints, each
    plain (``soap``) or with its own settings (``soap:n_max=6:l_max=6``), no entry twice.

    Entries whose settings differ only by the shared options (``soap,soap:n_max=8``
    with ``--n-max 8``) are refused when built (:func:`check_distinct_settings`).
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("empty value")
    texts = [entry.strip() for entry in text.split(",")]
    if "" in texts:
        raise argparse.ArgumentTypeError(f"an empty name in {text!r}")
    entries = [fingerprint_entry(entry) for entry in texts]
    labels = [entry.label for entry in entries]
    if len(set(labels)) != len(labels):
        raise argparse.ArgumentTypeError(f"fingerprint listed twice in {text!r}")
    return entries


def rep_entries(args: argparse.Namespace) -> list[FingerprintEntry]:
    """The ``--rep`` entries of ``args``: a parsed list, or one name or a list of names
    (single-fingerprint commands, namespaces made by hand) as plain entries."""
    rep = getattr(args, "rep", "soap")
    items = [rep] if isinstance(rep, str) else list(rep)
    return [
        item if isinstance(item, FingerprintEntry) else FingerprintEntry(item) for item in items
    ]


def add_other_representation_arguments(parser: argparse.ArgumentParser) -> None:
    """Hyperparameters of the bispectrum, ACSF and overlap-matrix fingerprints."""
    group = parser.add_argument_group(
        "bispectrum options (ν = 3; uses --sigma and --cutoff, GTO radial basis)"
    )
    add = _recording(group)
    add("--bispectrum-n-max", type=int, default=4, help="radial functions (4)")
    add("--bispectrum-l-max", type=int, default=4, help="band limit: largest l coupled (4)")
    group = parser.add_argument_group("ACSF options (Behler G2 + G4/G5; uses --cutoff)")
    add = _recording(group)
    add(
        "--acsf-set",
        choices=["tight", "loose", "scaled"],
        default="tight",
        help="parameter set: dense 'tight' (57 functions, for C-H bonds at cutoff 2.5 Å), "
        "sparse 'loose' (11), or 'scaled' (tight in units of the cutoff, radial centres "
        "at 0.28-0.68 x cutoff: e.g. --cutoff 3.5 for Si-Si 2.35 Å) (tight)",
    )
    add(
        "--acsf-angular",
        choices=["g4", "g5"],
        default="g4",
        help="angular functions: Behler G4 (with the neighbour-neighbour cutoff) or G5 "
        "(without it) (g4)",
    )
    group = parser.add_argument_group("overlap-matrix options (Sadeghi et al.; uses --cutoff)")
    add = _recording(group)
    add(
        "--om-orbitals",
        choices=["sp", "s"],
        default="sp",
        help="Gaussian orbitals per atom: s and p, or s only (sp)",
    )
    add(
        "--om-width",
        type=float,
        default=1.5,
        help="Gaussian width as a multiple of the covalent radius (1.5)",
    )


def set_default(parser: argparse.ArgumentParser, dest: str, value: Any) -> None:
    """Change the default of option ``dest`` and the ``(default)`` that ends its help."""
    parser.set_defaults(**{dest: value})
    for action in parser._actions:  # argparse has no public lookup of an option by dest
        if action.dest == dest and action.help and action.help.endswith(")"):
            action.help = action.help[: action.help.rindex("(")] + f"({value})"


def add_representation_arguments(
    parser: argparse.ArgumentParser,
    *,
    multiple: bool = False,
    names: Sequence[str] = REPRESENTATION_ORDER,
) -> None:
    """--rep and the hyperparameters of every representation.

    With ``multiple``, ``--rep`` takes a comma-separated list (default: ``names``, the
    fingerprints the command takes; all of them unless given) and
    :func:`representations_from_args` builds each of them.
    """
    if multiple:
        parser.add_argument(
            "--rep",
            action=RecordedStore,
            type=representation_entries,
            default=[FingerprintEntry(name) for name in names],
            metavar="NAMES",
            help=f"comma-separated fingerprints, of {', '.join(names)} (default "
            f"{','.join(names)}); an entry "
            "NAME:key=value:... sets that entry's own hyperparameters over the shared options "
            "(the fingerprint's keywords: "
            + "; ".join(f"{name} {', '.join(keys)}" for name, keys in ENTRY_KEYS.items())
            + "), so one fingerprint can be listed with several settings, e.g. "
            "soap,soap:n_max=4:l_max=4,soap:sigma=0.5; results are named by the entry",
        )
    else:
        parser.add_argument(
            "--rep",
            action=RecordedStore,
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
        "--format",
        choices=list(formats),
        help=f"output format ({formats[0]}; with --output X.json or X.csv, that format)",
    )
    parser.set_defaults(default_format=formats[0])
    parser.add_argument(
        "--output",
        metavar="PATH",
        type=output_file_argument,
        help="write here instead of stdout (atomically)",
    )


#: Output names that say a format: a text --format must not be written under another's.
SUFFIX_FORMATS = {
    ".json": "json",
    ".csv": "csv",
    # no command writes tab-separated values: a space-aligned table there would be a trap
    ".tsv": "tab-separated values",
    ".png": "an image",
    ".pdf": "an image",
    ".svg": "an image",
    ".npz": "numpy arrays",
    ".pt": "a torch model",
    ".pth": "a torch model",
    ".parquet": "Parquet",
    ".extxyz": "structures",
    ".xyz": "structures",
    # text is written as is: a compressed name would hold plain text
    ".gz": "compressed data",
    ".bz2": "compressed data",
    ".xz": "compressed data",
    ".zst": "compressed data",
    ".zip": "compressed data",
}


def check_output_suffix(args: argparse.Namespace) -> None:
    """Settle ``args.format``: ``--format``, else the one ``--output``'s name says (``.json``,
    ``.csv``), else the default; refuse a name that says another format (a CSV table named
    ``x.png`` or ``x.json``), before the work. Other names (``.txt``, none) suit every text
    format."""
    # a name that is only a suffix (".json") has none for pathlib, but says as much
    suffix = (Path(args.output).suffix or Path(args.output).name).lower() if args.output else ""
    said = SUFFIX_FORMATS.get(suffix)
    if args.format is None:
        args.format = said if said in ("json", "csv") else args.default_format
    if said == "compressed data":
        raise DegeneracyError(
            f"{args.output}: --output is named for compressed data ({suffix}), but the "
            f"{args.format} output is written uncompressed; drop the {suffix}"
        )
    if said is not None and said != args.format:
        raise DegeneracyError(
            f"{args.output}: --output is named for {said} ({suffix}), but --format is {args.format}"
        )


#: What ``--output -`` says: no command writes to stdout through ``-``.
STDOUT_DASH = (
    "'-' would be a file named '-', not stdout; name a file (a command that prints does so "
    "without --output)"
)


def output_file_argument(text: str) -> str:
    """``--output`` checked when the command line is read (its folder exists, it is not a
    folder, it is not ``-``), not after the work; an empty value is left to
    :func:`empty_argument`.

    ``-`` is refused rather than taken for stdout: a command that prints writes to stdout
    without ``--output``, and the others (``scan``) write files that stdout cannot hold.
    """
    if text.strip() == "-":
        raise argparse.ArgumentTypeError(STDOUT_DASH)
    if text:
        try:
            output_file(text, "--output")
        except DegeneracyError as error:
            raise argparse.ArgumentTypeError(str(error)) from error
    return text


#: The arguments (dest → how an error names them) that name files a command reads: an
#: output must not be one of them (:func:`refuse_overwriting_inputs`).
INPUT_FILE_ARGUMENTS = {
    "file": "FILE",
    "dataset": "DATASET",
    "verify": "--verify FILE",
    "basis_file": "--basis-file",
    "a0": "--a0 FILE",
}


def same_file(path: str | os.PathLike, other: str | os.PathLike) -> bool:
    """Whether ``path`` and ``other`` name one file: the same once resolved (symbolic
    links, ``..`` and the working folder followed), or, when both exist, the same file
    by :func:`os.path.samefile` (hard links too)."""
    if Path(path).resolve() == Path(other).resolve():
        return True
    try:
        return os.path.samefile(path, other)
    except (OSError, ValueError):  # one is missing (or not a path the system takes)
        return False


def refuse_overwriting_inputs(
    args: argparse.Namespace,
    outputs: Mapping[str, str | os.PathLike | None]
    | Iterable[tuple[str, str | os.PathLike | None]],
) -> None:
    """Refuse, before any work, an output that is one of the files the command reads
    (:data:`INPUT_FILE_ARGUMENTS`): ``singular x.extxyz --output x.extxyz`` replaced the
    user's structures by the results, atomically but for good.

    Parameters
    ----------
    args : argparse.Namespace
        The command line; its input files are read from it.
    outputs : mapping or iterable of pairs
        What names each output (``"--output"``, ``"--checkpoint"``; ``"the default
        --singular"`` for a name derived from another) → its path; None or "" for one
        not written. Pairs when one option names several outputs (``--plot``'s PNG and
        PDF).

    Raises
    ------
    DegeneracyError
        ``--output x.extxyz is the input FILE: it would be overwritten; choose another
        path`` (the input's own name added when it is written otherwise); or two
        outputs in one file (:func:`refuse_shared_outputs`).
    """
    pairs = list(outputs.items() if isinstance(outputs, Mapping) else outputs)
    for writer, output in pairs:
        if not output:
            continue
        for dest, name in INPUT_FILE_ARGUMENTS.items():
            source = getattr(args, dest, None)
            if source and same_file(output, source):
                spelled = "" if str(source) == str(output) else f" {source}"
                raise DegeneracyError(
                    f"{writer} {output} is the input {name}{spelled}: it would be "
                    "overwritten; choose another path"
                )
    refuse_shared_outputs(pairs)


#: How :func:`refuse_overwriting_inputs` names an output the user did not name: one
#: derived from another (``the default --summary`` of ``--output x.csv``).
DEFAULT_WRITER = "the default "


def refuse_shared_outputs(
    outputs: Iterable[tuple[str, str | os.PathLike | None]],
) -> None:
    """Refuse, before any work, two outputs of one command in one file (:func:`same_file`):
    ``scan --summary r.json --chemiscope r.json`` wrote both and kept the last, and
    ``scan --output x.csv --chemiscope x.summary.json`` lost the chemiscope file to the
    default summary.

    Parameters
    ----------
    outputs : iterable of pairs
        What names each output → its path, as :func:`refuse_overwriting_inputs` takes
        them; None or "" for one not written.

    Raises
    ------
    DegeneracyError
        ``--summary r.json is also --chemiscope: one would overwrite the other; choose
        another path``: an option the user gave named first, the other's path added
        when it is spelled otherwise (or is a default).
    """
    seen: list[tuple[str, str | os.PathLike]] = []
    for writer, output in outputs:
        if not output:
            continue
        for earlier, path in seen:
            if same_file(output, path):
                (first, named), (other, its) = sorted(
                    [(writer, output), (earlier, path)],
                    key=lambda pair: pair[0].startswith(DEFAULT_WRITER),
                )
                spelled = (
                    f" {its}" if str(its) != str(named) or other.startswith(DEFAULT_WRITER) else ""
                )
                raise DegeneracyError(
                    f"{first} {named} is also {other}{spelled}: one would overwrite the "
                    "other; choose another path"
                )
        seen.append((writer, output))


def results_folder(path: str, option: str = "--output") -> Path:
    """``path``, a results folder that the command may create, checked before any work
    (:func:`~degeneracy.files.output_folder`: its parent must exist), a refusal naming
    ``option`` (``--output nodir/run: parent folder nodir does not exist``)."""
    try:
        return output_folder(path)
    except DegeneracyError as error:
        raise DegeneracyError(f"{option} {error}") from error


def soap_hypers_from_args(args: argparse.Namespace) -> dict:
    """Keyword arguments of :class:`SoapPowerSpectrum` from the SOAP options (``--sigma``
    is checked against ``--cutoff`` when the fingerprint is built:
    :func:`~degeneracy.representations.base.density_width`)."""
    from ..representations import OptimalBasis

    explicit = getattr(args, EXPLICIT_OPTIONS, {})
    if args.basis_file is not None and args.basis == "gto" and "basis" in explicit:
        raise DegeneracyError("--basis gto contradicts --basis-file (an optimal basis)")
    optimal = None if args.basis_file is None else OptimalBasis.load(args.basis_file)
    return {
        "sigma": args.sigma,
        "cutoff": args.cutoff,
        "n_max": args.n_max,
        "l_max": args.l_max,
        "basis": "optimal" if optimal is not None else args.basis,
        "optimal_basis": optimal,
    }


#: By representation, the option of each hyperparameter: an error that names one
#: (``width must be ...``) names the option instead (``--om-width``).
HYPER_OPTIONS = {
    name: {hyper: option_of(dest) for hyper, dest in hypers.items() if hyper != "basis"}
    for name, hypers in FINGERPRINT_OPTIONS.items()
}
# ("basis" is left out: an everyday word in the library's messages, "optimal basis", and
# --basis is checked by the command line itself.)


def representation_hypers_from_args(args: argparse.Namespace, name: str) -> dict:
    """Keyword hyperparameters of representation ``name`` from the options.

    Options a subcommand does not define take the representation's defaults.
    """
    if name == "soap":
        return soap_hypers_from_args(args)
    hypers = FINGERPRINT_OPTIONS.get(name, {})
    return {hyper: getattr(args, dest) for hyper, dest in hypers.items() if hasattr(args, dest)}


def entry_hypers(args: argparse.Namespace, entry: FingerprintEntry) -> dict:
    """Keyword hyperparameters of ``--rep`` entry ``entry``: the shared options
    (:func:`representation_hypers_from_args`) with the entry's own settings over them; a
    SOAP entry's ``basis=gto`` drops ``--basis-file``'s optimal basis (an entry's
    ``n_primitive`` that the basis would not use is refused by the fingerprint)."""
    hypers = representation_hypers_from_args(args, entry.name)
    hypers.update(entry.overrides)
    if "optimal_basis" in entry.overridden():
        hypers["optimal_basis"] = None
    return hypers


def entry_cutoffs(args: argparse.Namespace) -> list[float]:
    """The cutoff (Å) of each ``--rep`` entry: ``--cutoff``, or the entry's own
    ``cutoff=``, refused here in the entry's terms if it is not a positive number."""
    cutoffs = []
    for entry in rep_entries(args):
        if "cutoff" not in entry.overrides:
            cutoffs.append(args.cutoff)
            continue
        with in_hyper_option_terms(entry.name, entry):  # "--rep soap:cutoff=-1: cutoff ..."
            cutoffs.append(positive_float("cutoff", entry.overrides["cutoff"]))
    return cutoffs


def frames_cutoff(args: argparse.Namespace) -> float:
    """The cutoff (Å) to read a multi-fingerprint command's frames within: the smallest of
    the ``--rep`` entries' (:func:`entry_cutoffs`); every entry checks its own when it
    is built (:func:`check_input_analysable`). Periodic images are looked for within the
    largest (:func:`images_cutoff`)."""
    return min(entry_cutoffs(args))


def images_cutoff(args: argparse.Namespace, cutoff: float) -> float:
    """The radius (Å) within which FILE's periodic frames may hold no periodic image of
    an atom, for frames read within ``cutoff``: the largest ``--rep`` entry's cutoff
    with a ``--rep`` list (an image inside it is a neighbour that entry would miss once
    the cell is dropped, though inside none of the smaller ones), else ``cutoff``."""
    if isinstance(getattr(args, "rep", "soap"), str):
        return cutoff
    return max(cutoff, *entry_cutoffs(args))


def representation_from_args(
    args: argparse.Namespace, frames: Sequence[ase.Atoms] | None = None
) -> Representation:
    """The one representation selected by ``--rep``, with its options (species from
    ``frames``, as :func:`representations_from_args`)."""
    (representation,) = representations_from_args(args, single=True, frames=frames).values()
    return representation


def representations_from_args(
    args: argparse.Namespace, *, single: bool = False, frames: Sequence[ase.Atoms] | None = None
) -> dict[str, Representation]:
    """Every representation listed by ``--rep`` (a list of entries or one name), by the
    entry's label (:class:`FingerprintEntry`: ``soap``, ``soap:n_max=6``).

    Each entry has the shared options' hyperparameters with its own settings over them
    (:func:`entry_hypers`). Options that configure none of the entries are refused
    (:func:`check_options_apply`, :func:`check_options_not_overridden`), and so are two
    entries of the same settings (:func:`check_distinct_settings`); with ``single``, so
    is more than one entry. With ``frames``, species-aware fingerprints describe the
    frames' centre species and all their neighbours' species
    (:func:`~degeneracy.structures.environment_species`); CH4 frames give the defaults.
    Over frames of several species the commands rebuild them for each frame's own
    species (:mod:`degeneracy.compositions`), keeping each entry's settings: these are
    the shared hyperparameters.
    """
    entries = rep_entries(args)
    if single and len(entries) != 1:
        raise DegeneracyError(f"expected one fingerprint, got {','.join(e.label for e in entries)}")
    check_options_apply(args, [entry.name for entry in entries])
    check_options_not_overridden(args, entries)
    from ..representations import make_representation, species_aware  # featomic: only now

    species = {}
    if frames is not None:
        center, neighbors = environment_species(frames)
        species = {"center": center, "neighbors": list(neighbors)}
    listed = not isinstance(getattr(args, "rep", "soap"), str)  # a --rep list, not one name
    representations = {}
    for entry in entries:
        hypers = entry_hypers(args, entry)
        # "width must be ..." is --om-width's
        with in_hyper_option_terms(entry.name, entry, listed=listed):
            representations[entry.label] = make_representation(
                entry.name, **hypers, **(species if species_aware(entry.name) else {})
            )
    check_distinct_settings(entries, list(representations.values()))
    return representations


def check_distinct_settings(
    entries: Sequence[FingerprintEntry], representations: Sequence[Representation]
) -> None:
    """Refuse two ``--rep`` entries whose fingerprints (built from them, in order) have
    the same settings (``hypers()``): ``soap,soap:n_max=8`` where ``--n-max`` is 8."""
    seen: list[tuple[FingerprintEntry, dict]] = []
    for entry, representation in zip(entries, representations, strict=True):
        hypers = representation.hypers()
        for other, settings in seen:
            if other.name == entry.name and settings == hypers:
                raise DegeneracyError(
                    f"--rep {other.label} and {entry.label} have the same settings "
                    "(the shared options give the rest); drop one or change its settings",
                    kind=OPTION_TERMS,
                )
        seen.append((entry, hypers))


@contextlib.contextmanager
def in_hyper_option_terms(
    name: str, entry: FingerprintEntry | None = None, *, listed: bool = False
) -> Iterator[None]:
    """Errors of representation ``name`` raised inside, with its hyperparameters named as
    options (:func:`with_hyper_options`: "cutoff 20 Å is 66.7 times sigma 0.3 Å" becomes
    "--cutoff 20 Å is 66.7 times --sigma 0.3 Å"); an error that names none as it is.

    For a ``--rep`` ``entry`` with settings of its own, those keep their names and the
    error starts with the entry ("--rep soap:n_max=0: n_max must be at least 1"): the
    user typed the entry, not ``--n-max``. Otherwise, advice that names a keyword no
    option sets is replaced by what the command line offers (:func:`with_option_advice`;
    ``listed``: the command takes a ``--rep`` list, whose entries may set it).
    """
    try:
        yield
    except DegeneracyError as error:
        entries = [entry] if entry is not None else []
        named, entry_named = in_fingerprint_terms(str(error), name, entries, listed=listed)
        if entry_named:  # its keys as typed, not as options
            raise DegeneracyError(named, kind=OPTION_TERMS) from error
        if named == str(error):
            raise
        raise DegeneracyError(named, kind=error.kind) from error


def in_fingerprint_terms(
    message: str,
    name: str,
    entries: Sequence[FingerprintEntry] = (),
    *,
    listed: bool = False,
    stated: str = "",
) -> tuple[str, bool]:
    """A message of representation ``name`` (an error, a warning) in the command line's
    terms, and whether it now names ``--rep`` entries: the one translation of the
    fingerprints' keyword hyperparameters into options, for :func:`in_hyper_option_terms`
    (errors of a fingerprint built or computed inside) and :func:`fingerprint_warning`.

    ``entries``: the ``--rep`` entries the message is about. Those with settings of their
    own start it (``--rep soap:n_max=0: n_max must be at least 1``), and those settings
    keep their names (the user typed the entry, not ``--n-max``); the other
    hyperparameters are named as options (:func:`with_hyper_options`). With no entry of
    settings of its own, advice that names a keyword no option sets is replaced by what
    the command line offers (:func:`with_option_advice`; ``listed``: the command takes a
    ``--rep`` list, whose entries may set it). ``stated``, a start of ``message``, is kept
    as it is (a warning's subject: the settings in use, ``ACSF set 'tight' (cutoff 3
    Å)``, as the errors' ``the soap cutoff 2.5 Å``; the rest says what to change).
    """
    stated, message = message[: len(stated)], message[len(stated) :]
    own = [entry for entry in entries if entry.overrides]
    overridden = set().union(*(entry.overridden() for entry in own))
    options = {
        hyper: option
        for hyper, option in HYPER_OPTIONS.get(name, {}).items()
        if hyper not in overridden
    }
    if not own:
        message = with_option_advice(message, name, listed=listed)
    named = stated + with_hyper_options(message, options, name=name)
    if own:
        return f"--rep {','.join(entry.label for entry in own)}: {named}", True
    return named, False


def fingerprint_warning(message: str, args: argparse.Namespace) -> str:
    """A fingerprint's warning (:class:`~degeneracy.errors.DegeneracyWarning`) in the
    command line's terms (:func:`in_fingerprint_terms`), as its errors are: the library
    names the hyperparameters (``give a width of at least 0.63``), the command line the
    options (``give a --om-width of at least 0.63``) or, for a ``--rep`` entry that sets them
    itself, the entry and its keys. The subject (before the first ``:``), which states
    the settings in use (``om width 0.3 is too narrow here``), is kept as it is. Other
    warnings as they are.

    The warning is the fingerprint's when its subject starts with the fingerprint's name
    (``ACSF set 'tight' (cutoff 3 Å) is nearly blind ...``, ``om width 0.3 is too
    narrow here: ...``), as the fingerprints' notes do; of a command's ``--rep`` entries
    of that fingerprint, it is about those whose settings agree with the ones its
    subject states (:func:`states_other_settings`), all of them if none does. When one of
    these sets nothing of its own, the options are named (the warning is, or may be,
    about that entry).
    """
    name = message.split(" ", 1)[0].removesuffix(":").lower()
    if name not in FINGERPRINT_OPTIONS or not hasattr(args, "rep"):
        return message
    entries = [entry for entry in rep_entries(args) if entry.name == name]
    if not entries:
        return message
    subject = message.split(":", 1)[0]
    agreeing = [e for e in entries if not states_other_settings(subject, args, e)] or entries
    if any(not entry.overrides for entry in agreeing):
        agreeing = []
    return in_fingerprint_terms(message, name, agreeing, listed=True, stated=subject)[0]


def states_other_settings(text: str, args: argparse.Namespace, entry: FingerprintEntry) -> bool:
    """Whether ``text`` states a setting of ``entry``'s fingerprint (a ``--rep`` keyword,
    by its name or its last word: ``cutoff 3 Å``, ``width 0.3``, ``set 'tight'``) at a
    value other than the entry's (the shared options with its own settings over them)."""
    hypers = representation_hypers_from_args(args, entry.name) if entry.name != "soap" else {}
    hypers.update(entry.overrides)
    for key in ENTRY_KEYS[entry.name]:
        if key not in hypers or not isinstance(hypers[key], (str, int, float)):
            continue
        words = "|".join(dict.fromkeys(map(re.escape, (key, key.rsplit("_", 1)[-1]))))
        stated = re.search(rf"(?<![\w-])(?:{words}) '?([\w.+-]+)'?", text)
        if stated is None:
            continue
        value = hypers[key]
        said = f"{value:g}" if isinstance(value, float) else str(value)
        if stated.group(1) != said:
            return True
    return False


def with_option_advice(message: str, name: str, *, listed: bool = False) -> str:
    """``message`` of representation ``name`` with the library's advice to give SOAP's
    built-in optimal basis more primitive functions
    (:data:`~degeneracy.representations.optimal_basis.SOAP_MORE_PRIMITIVES`: "give
    n_primitive a larger value") replaced by the command line's ways to them: a basis
    fitted with ``fit-basis --n-primitive`` given with ``--basis-file``, and with a
    ``--rep`` list (``listed``) an entry's own ``n_primitive=``; only those commands set
    it. Other messages as they are."""
    if name != "soap":
        return message
    from ..representations.optimal_basis import MAX_N_PRIMITIVE, SOAP_MORE_PRIMITIVES

    if SOAP_MORE_PRIMITIVES not in message:
        return message
    fitted = "a basis fitted with degeneracy fit-basis --n-primitive N (same SOAP options)"
    where = (
        f"as the entry's own (--rep soap:n_primitive=N) or in {fitted}"
        if listed
        else (f"in {fitted}")
    )
    return message.replace(
        SOAP_MORE_PRIMITIVES,
        f"give N from --n-max to {MAX_N_PRIMITIVE} primitive functions {where} given with "
        "--basis-file, or use --basis gto",
    )


def with_hyper_options(message: str, options: dict[str, str], *, name: str = "") -> str:
    """``message`` with every whole-word hyperparameter of ``options`` replaced by its
    option (``width`` → ``--om-width``): the names are the representation's own. The
    representation's ``name`` before a hyperparameter goes when its option names it
    already (``bispectrum n_max`` → ``--bispectrum-n-max``); a quoted value after it is
    given as it is typed (``parameter_set 'scaled'`` → ``--acsf-set scaled``). ``the
    cutoff`` stays: the library's words for the one in use, not a setting to change."""
    if not options:
        return message
    prefix = rf"(?:{re.escape(name)} )?" if name else ""
    # "the cutoff" is prose: the one in use, which the message does not ask to change
    pattern = (
        r"(?<![\w-])(?<!\bthe )"
        + prefix
        + "("
        + "|".join(map(re.escape, options))
        + r")(?![\w-])( '[\w.-]+'(?![\w-]))?"
    )

    def option(match: re.Match) -> str:
        said = options[match.group(1)]
        kept = match.group(0)[: match.start(1) - match.start(0)]
        value = f" {match.group(2).strip()[1:-1]}" if match.group(2) else ""  # typed unquoted
        return (said if name and name in said else kept + said) + value

    return re.sub(pattern, option, message)


def frames_from_args(
    args: argparse.Namespace,
    *,
    cutoff: float | None = None,
    index: str | int = ":",
    images_of_every_atom: bool = False,
) -> list[ase.Atoms]:
    """Frames from FILE (:func:`environments_from_file`, only frame ``index`` if an int) or
    --builtin, exactly one of them."""
    if (args.file is None) == (args.builtin is None):
        raise DegeneracyError("give either a structure FILE or --builtin NAME")
    if args.builtin is not None:
        refuse_options(args, ["units"], "is the length unit of FILE; not with --builtin")
        refuse_options(args, ["environment"], "describes FILE's frames; not with --builtin")
        return [builtin_environment(args.builtin)]
    return environments_from_file(
        args.file, args, cutoff=cutoff, index=index, images_of_every_atom=images_of_every_atom
    )


#: A frame that is not the environment the spec asks for: the atom count, the centre's or
#: a neighbour's species (:func:`~degeneracy.structures.validate_environment`'s words).
#: Appended to a frame's mismatch with the default CH4 spec when ``--environment`` was
#: not given: the file may hold other environments, or whole structures.
ENVIRONMENT_HINT = (
    "; for other environments give --environment any (centre atom first) or e.g. SiO4; "
    "for whole structures use degeneracy scan"
)


def with_environment_hint(error: DegeneracyError, args: argparse.Namespace) -> DegeneracyError:
    """``error`` with :data:`ENVIRONMENT_HINT` after its first line, if it is a frame's
    mismatch with the default CH4 spec (``kind`` :data:`~degeneracy.errors.SPEC_MISMATCH`)
    of a command that has ``--environment`` and was not given it (once: the hinted error
    has no ``kind``); else ``error``."""
    if (
        error.kind != SPEC_MISMATCH
        or not hasattr(args, "environment")  # predict: its model is for CH4, no such option
        or "environment" in getattr(args, EXPLICIT_OPTIONS, {})
        or args.environment != CH4
    ):
        return error
    first, newline, rest = str(error).partition("\n")
    return DegeneracyError(f"{first}{ENVIRONMENT_HINT}{newline}{rest}")


def environments_from_file(
    path: str,
    args: argparse.Namespace,
    *,
    cutoff: float | None = None,
    index: str | int = ":",
    images_of_every_atom: bool = False,
) -> list[ase.Atoms]:
    """The frames of ``path`` in ``--units``, validated as ``--environment`` says (CH4
    where the command has no such option) within ``cutoff`` (default ``--cutoff``), all
    of one centre species and size; periodic ones with no periodic image of an atom
    within the largest ``--rep`` entry's cutoff (:func:`images_cutoff`) of the centre
    (of any atom with ``images_of_every_atom``: a model centred on every atom).

    A frame that is not a CH4 environment, with ``--environment`` not given, is refused
    with a hint at that option and at ``degeneracy scan`` (:func:`with_environment_hint`).
    """
    cutoff = args.cutoff if cutoff is None else cutoff
    images = images_cutoff(args, cutoff)
    spec = getattr(args, "environment", CH4)
    try:
        frames = read_environments(
            path,
            units=args.units,
            cutoff=cutoff,
            spec=spec,
            index=index,
            images_cutoff=images,
            images_of_every_atom=images_of_every_atom,
        )
    except DegeneracyError as error:
        hinted = with_cutoff_entries(with_environment_hint(error, args), args, cutoff)
        if hinted is error and images != cutoff:  # an image inside a larger entry's cutoff
            hinted = with_cutoff_entries(error, args, images)
        if hinted is error:
            raise
        raise hinted from error
    environment_species(frames, where=str(path))
    return frames


def check_input_analysable(
    args: argparse.Namespace,
    frames: Sequence[ase.Atoms],
    representations: Iterable[Representation],
    *,
    first_frame: int = 0,
) -> None:
    """:func:`~degeneracy.sensitivity.check_analysable` for every fingerprint before the
    work, naming FILE (the analyses check again, but do not know the file)."""
    from ..sensitivity import check_analysable

    where = "" if args.file is None else str(args.file)
    for representation in representations:
        try:
            check_analysable(frames, representation, where=where, first_frame=first_frame)
        except DegeneracyError as error:
            cutoff = getattr(representation, "cutoff", None)
            named = with_cutoff_entries(error, args, cutoff, name=representation.name)
            if named is error:
                raise
            raise named from error


def cutoff_entries(
    args: argparse.Namespace, cutoff: float, name: str | None = None
) -> list[FingerprintEntry]:
    """The ``--rep`` entries (of fingerprint ``name``, if given) whose cutoff is ``cutoff``,
    where that says something: those that set it as their own (``soap:cutoff=0.5``), and
    those of the shared ``--cutoff`` when other entries have another (``--rep
    soap:cutoff=3,acsf``: the 2.5 Å is acsf's, which the refusal did not say); none when
    every entry has it and one from the shared ``--cutoff`` (the option's own refusal),
    none for a command without ``--rep`` (``predict``: the cutoff is the model's)."""
    if not hasattr(args, "rep"):
        return []
    every = rep_entries(args)
    has_it = [e.overrides.get("cutoff", args.cutoff) == cutoff for e in every]
    if all(has_it) and any("cutoff" not in e.overrides for e in every):
        return []
    return [e for e, at in zip(every, has_it, strict=True) if at and name in (None, e.name)]


def with_cutoff_entries(
    error: DegeneracyError, args: argparse.Namespace, cutoff: float | None, name: str = ""
) -> DegeneracyError:
    """``error`` started with the ``--rep`` entries whose own cutoff it refuses a frame for
    (:func:`cutoff_entries`), as their other refusals are (``--rep soap:cutoff=0.5: frame
    0, atom 1: 1.09 Å from the centre, at or beyond the soap cutoff 0.5 Å``); else
    ``error``. The refusal names the cutoff as the frames' reading (``the cutoff 0.5 Å``)
    or :func:`~degeneracy.sensitivity.check_analysable` (``the soap cutoff 0.5 Å``) do."""
    if cutoff is None:
        return error
    said = f"the {name} cutoff" if name else "the cutoff"
    if not any(f"{said} {value} Å" in str(error) for value in (cutoff, f"{cutoff:g}")):
        return error
    entries = cutoff_entries(args, cutoff, name or None)
    if not entries:
        return error
    labels = ",".join(entry.label for entry in entries)
    return DegeneracyError(f"--rep {labels}: {error}", kind=OPTION_TERMS)


@contextlib.contextmanager
def reworded(
    warning: Callable[[str], str] | None = None, error: Callable[[str], str] | None = None
) -> Iterator[None]:
    """The package's warnings and errors raised inside, their text rewritten by
    ``warning`` and ``error`` (left as they are when None): what a library call says in
    its own context, said in the command's (``singular``'s searches name the file's
    frame, ``learn --orbit`` its own units option). Other warnings pass unchanged."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    except DegeneracyError as raised:
        _warn_again(caught, warning)
        if error is None:
            raise
        raise DegeneracyError(error(str(raised)), kind=raised.kind) from raised
    _warn_again(caught, warning)


def _warn_again(
    caught: list[warnings.WarningMessage], warning: Callable[[str], str] | None
) -> None:
    """Issue the warnings :func:`reworded` caught again, the package's rewritten."""
    for item in caught:
        if warning is not None and issubclass(item.category, DegeneracyWarning):
            warnings.warn(warning(str(item.message)), item.category, stacklevel=3)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def input_name(args: argparse.Namespace) -> str:
    """What the frames came from, to start a message: FILE, or ``--builtin NAME``."""
    return str(args.file) if args.file is not None else f"--builtin {args.builtin}"


@contextlib.contextmanager
def naming_input_file(args: argparse.Namespace) -> Iterator[None]:
    """Errors of an analysis over all of FILE's frames ("frame 7: ...") name FILE too."""
    try:
        yield
    except DegeneracyError as error:
        if args.file is None or not str(error).startswith("frame "):
            raise
        raise DegeneracyError(f"{args.file}, {error}") from error


def emit(text: str, output: str | None) -> None:
    """Print ``text`` or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
    else:
        with atomic_open(output) as handle:
            handle.write(text)


def describe_representation(representation: Any, width: int = 90) -> str:
    """``soap sigma=0.3 cutoff=2.5 ...`` (species left out: they follow each centre)."""
    hypers = every_hyper(representation)
    text = " ".join(
        [representation.name]
        + [f"{k}={v}" for k, v in hypers.items() if k not in ("center", "neighbors")]
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def aligned_table(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as right-aligned columns, one line each."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines) + "\n"


def number_text(value: float | None, spec: str, *, exact: bool = False) -> str:
    """``value`` formatted with ``spec`` (tables), or in full when ``exact`` (CSV: the
    shortest text that reads back as the same float); "" for None or NaN."""
    if value is None or math.isnan(value):
        return ""
    return repr(float(value)) if exact else format(value, spec)


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
