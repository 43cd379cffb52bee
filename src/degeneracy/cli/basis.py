"""``degeneracy fit-basis``: fit and save an optimal radial basis."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from ase.data import atomic_numbers

from ..checks import bounded_int
from ..errors import DegeneracyError, DegeneracyWarning
from ..files import output_file
from ..species import species_text
from ..structures import environment_species
from .options import (
    RecordedStore,
    add_input_arguments,
    add_soap_arguments,
    frames_from_args,
    in_hyper_option_terms,
    refuse_options,
    refuse_overwriting_inputs,
    seed_value,
)

#: Most environments a fit on random CH4 expands. All their expansions are held in memory
#: at once: at the default settings about 32 kB per C-centred environment, 60 kB per
#: H-centred one (two neighbour species); 20 000 structures took 1 GB (C) and 5 GB (H),
#: and --n-frames 1e8 was killed for want of memory at 24 GB. 1e5: a few GB, minutes.
MAX_FIT_ENVIRONMENTS = 100_000

#: The environments each random CH4 gives, by --center.
ENVIRONMENTS_PER_STRUCTURE = {"C": 1, "H": 4}


def run(args: argparse.Namespace) -> None:
    refuse_overwriting_inputs(args, {"--output": args.output})
    output_file(args.output, "--output", suffixes=(".npz",))  # before featomic and the fit
    from ..representations import fit_optimal_basis  # featomic: at run time, not for --help
    from ..representations.optimal_basis import radial_settings

    with in_hyper_option_terms("soap"):  # the settings, before any frame is made or read
        radial_settings(
            sigma=args.sigma,
            cutoff=args.cutoff,
            n_max=args.n_max,
            l_max=args.l_max,
            n_primitive=args.n_primitive,
        )

    if args.file is not None or args.builtin is not None:
        frames, provenance, species = _given_frames(args)
    else:
        frames, provenance, species = _random_methane_environments(args)
    basis = fit_optimal_basis(
        frames,
        sigma=args.sigma,
        cutoff=args.cutoff,
        n_max=args.n_max,
        l_max=args.l_max,
        n_primitive=args.n_primitive,
        provenance=provenance,
        **species,
    )
    basis.save(args.output)
    kept = ", ".join("n/a" if np.isnan(v) else f"{v:.6f}" for v in basis.retained_variance())
    fitted_on = (
        f"{basis.provenance['center_species']} centres, "
        f"{species_text(basis.provenance['neighbor_species'])} neighbours"
    )
    source = f"{len(frames)} frame" if len(frames) == 1 else f"{len(frames)} frames"
    if len(frames) != basis.provenance.get("n_structures", len(frames)):
        source = f"{len(frames)} environments of {basis.provenance['n_structures']} random CH4"
    print(
        f"optimal basis from {source} ({fitted_on}) written to {args.output}; "
        f"variance kept per l: {kept}"
    )
    carrying = basis.carrying_components()
    short = [(l, int(k)) for l, k in enumerate(carrying) if 0 < k < basis.n_max]
    if short:
        counts = ", ".join(f"{k} at l = {l}" for l, k in short)
        # a warning (stderr), as fit_optimal_basis's on channels without any variance
        warnings.warn(
            f"of the {basis.n_max} functions per channel only {counts} carry variance in "
            "these frames; the others are set by round-off (they change with the CPU or the "
            "units): fit on more, more varied frames, or lower --n-max",
            DegeneracyWarning,
            stacklevel=2,
        )


def _given_frames(args: argparse.Namespace) -> tuple[list, dict, dict]:
    """FILE's or --builtin's frames, their provenance and species: the union of the
    frames' neighbour species. One basis is fitted over the whole file (a property of
    the file, not of a frame): every frame's densities in every species channel of the
    file, so that the basis suits each of the fingerprints the analyses build per
    composition (:mod:`degeneracy.compositions`: their species are subsets of the union,
    which :func:`~degeneracy.representations.optimal_basis.unfitted_species_note` accepts
    without a note)."""
    refuse_options(
        args, ["n_frames", "seed", "center"], "is for random frames; not with FILE, --builtin"
    )
    frames = frames_from_args(args)
    center, neighbors = environment_species(frames)
    species = {
        "center_species": atomic_numbers[center],
        "neighbor_species": [atomic_numbers[s] for s in neighbors],
    }
    source = {"source": str(args.file or args.builtin)}
    if args.file is not None:  # which units the file was read in (as scan's summary says)
        source["units"] = args.units
    return frames, source, species


def _random_methane_environments(args: argparse.Namespace) -> tuple[list, dict, dict]:
    """The --center environments of --n-frames random CH4, their provenance and species."""
    from ..representations.optimal_basis import (
        BUILTIN_SPECIES,
        builtin_species,
        methane_fitting_environments,
    )

    refuse_options(args, ["units"], "is the length unit of FILE; not with random frames")
    refuse_options(args, ["environment"], "describes FILE's frames; not with random frames")
    if args.center not in BUILTIN_SPECIES:
        raise DegeneracyError(
            f"--center {args.center}: the random frames are CH4, centred on "
            f"{' or '.join(BUILTIN_SPECIES)}; for other centres give FILE"
        )
    n_structures = random_structure_count(args.n_frames, args.center)
    frames = methane_fitting_environments(
        n_structures, seed=args.seed, center=args.center, cutoff=args.cutoff
    )
    _refuse_empty_environments(frames, args.center, args.cutoff)
    provenance = {"source": "MethaneSampler", "seed": args.seed, "n_structures": n_structures}
    return frames, provenance, builtin_species(args.center)


def random_structure_count(n_frames: int, center: str) -> int:
    """``--n-frames``: 1 to as many random CH4 as give :data:`MAX_FIT_ENVIRONMENTS`
    environments centred on ``center`` (one each for C, four for H)."""
    per_structure = ENVIRONMENTS_PER_STRUCTURE[center]
    each = f"; with --center {center}, {per_structure} environments each" * (per_structure > 1)
    return bounded_int(
        "--n-frames",
        n_frames,
        minimum=1,
        maximum=MAX_FIT_ENVIRONMENTS // per_structure,
        why="the fit holds every environment's expansion in memory: at most "
        f"{MAX_FIT_ENVIRONMENTS} environments{each}",
    )


def _refuse_empty_environments(frames: list, center: str, cutoff: float) -> None:
    """Refuse a cutoff inside which no random environment has a neighbour: the fit would
    see no density at all (featomic expands nothing) and return an arbitrary basis."""
    for atoms in frames:
        if np.any(np.linalg.norm(atoms.positions[1:] - atoms.positions[0], axis=1) < cutoff):
            return
    raise DegeneracyError(
        f"--cutoff {cutoff:g}: no {center}-centred environment of the random CH4 has a "
        "neighbour within it (C-H bonds are 0.9 Å or longer)"
    )


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "fit-basis",
        help="fit and save a data-driven optimal radial basis",
        description="Per-l PCA of a large GTO expansion over FILE (or --builtin, or "
        "--n-frames random CH4 drawn with --seed), saved as .npz for --basis-file.",
    )
    add_input_arguments(parser)
    add_soap_arguments(parser, radial_basis=False)
    parser.add_argument(
        "--n-primitive",
        type=int,
        default=20,
        help="primitive GTO functions (20, as the Comment's; at most 22)",
    )
    parser.add_argument(
        "--n-frames",
        action=RecordedStore,
        type=int,
        default=2000,
        help="random CH4 structures when no FILE is given, at most "
        f"{MAX_FIT_ENVIRONMENTS} ({MAX_FIT_ENVIRONMENTS // 4} with --center H) (2000)",
    )
    parser.add_argument(
        "--seed",
        action=RecordedStore,
        type=seed_value,
        default=0,
        help="seed of the random frames (0)",
    )
    parser.add_argument(
        "--center",
        action=RecordedStore,
        default="C",
        metavar="SPECIES",
        help="centre species of the random CH4 environments: C (H neighbours) or H (its four "
        "H-centred environments, C and H neighbours within --cutoff) (C)",
    )
    parser.add_argument("--output", required=True, metavar="PATH", help="basis file (.npz)")
    parser.set_defaults(func=run)
