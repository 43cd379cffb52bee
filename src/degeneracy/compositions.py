"""Analyses of frames of several compositions, each described with its own species.

A species-aware fingerprint (SOAP, the bispectrum, ACSF) is built for one centre species
and a list of neighbour species. Built for the union of the species of frames of several
compositions, it would give a frame another spectrum than the frame has alone: SOAP's
and the bispectrum's channel of the centre's own species holds the centre's density as
well as its neighbours', so a CH4 frame's spectrum changes when the list has C (measured:
CN 2271 alone, 2920 with C added, for the ``pg-start`` environment), and every species a
frame lacks adds zero features, which count as features where a fingerprint has fewer
of them than motions (the ``dimension`` verdict). Here, as in ``scan``
(:class:`~degeneracy.scan.RepresentationRecipe`), frames are grouped by their species
(:func:`species_of`), each group is analysed with the fingerprint rebuilt for its own
species, and the results come back in the order of the frames, numbered as given: a
frame's result is a property of the frame, not of the frames beside it.

A fingerprint that is not species-aware (the overlap matrix) is used as given, on all
frames at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ase
import numpy as np

from .checks import bounded_int, symmetry_tolerance_value, true_or_false
from .compare import Comparison, compare_fingerprints, fingerprints_by_name
from .errors import numbered_as_given
from .pairs import PairVerdict, pair_distances, split_pairs, verify_pairs
from .representations.base import Representation, fingerprint
from .sensitivity import SYMMETRY_TOL, ZERO_RTOL, FrameAnalysis, analyse_frames
from .species import symbols_of
from .structures import check_same_size, frame_list

#: A group's species: the centre's atomic number and its neighbours' (sorted, no repeats).
Species = tuple[int, tuple[int, ...]]


def species_of(atoms: ase.Atoms) -> Species:
    """The species a fingerprint of ``atoms`` (centre first) is built for: the centre's
    atomic number and the neighbours' atomic numbers, sorted, without repeats."""
    numbers = atoms.numbers
    return int(numbers[0]), tuple(sorted({int(z) for z in numbers[1:]}))


def composition_groups(frames: Sequence[ase.Atoms]) -> dict[Species, np.ndarray]:
    """Indices of ``frames`` by their species (:func:`species_of`), in increasing order,
    the groups in the order of their first frame."""
    groups: dict[Species, list[int]] = {}
    for index, atoms in enumerate(frame_list(frames, name="composition_groups")):
        groups.setdefault(species_of(atoms), []).append(index)
    return {species: np.array(rows, dtype=int) for species, rows in groups.items()}


def _is_species_aware(representation: Representation) -> bool:
    from .representations.registry import species_aware  # featomic: only now

    return species_aware(type(fingerprint(representation)))


def _built_for(representation: Representation, species: Species) -> bool:
    """Whether ``representation`` already describes exactly ``species``."""
    hypers = representation.hypers()
    center, neighbors = symbols_of([species[0]])[0], set(symbols_of(species[1]))
    return hypers.get("center") == center and set(hypers.get("neighbors", ())) == neighbors


def specialiser(representation: Representation) -> Callable[[Species], Representation]:
    """A function of species giving ``representation`` for those species: as given when it
    is not species-aware or already built for them, else rebuilt with its other
    hyperparameters for that centre and those neighbours
    (:class:`~degeneracy.scan.RepresentationRecipe`, built once per species)."""
    fingerprint(representation)
    if not _is_species_aware(representation):
        return lambda species: representation
    recipe = None

    def build(species: Species) -> Representation:
        nonlocal recipe
        if _built_for(representation, species):
            return representation
        if recipe is None:
            from .scan import RepresentationRecipe  # pyarrow: only for several compositions

            recipe = RepresentationRecipe.of(representation)
        return recipe.build(*species)

    return build


def representations_for(
    frames: Sequence[ase.Atoms], representation: Representation
) -> list[Representation]:
    """``representation`` for each of ``frames``, built for the frame's own species
    (:func:`specialiser`; one object per species).

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first).
    representation : Representation
        The fingerprint; a species-aware one's ``center`` and ``neighbors`` are replaced
        by each frame's own.

    Returns
    -------
    list of Representation
        One per frame, in order.
    """
    frames = frame_list(frames)
    build = specialiser(representation)
    return [build(species_of(atoms)) for atoms in frames]


def composition_parts(
    frames: Sequence[ase.Atoms], representation: Representation
) -> list[tuple[np.ndarray, Representation]]:
    """The frames (indices) each fingerprint describes: all of them with
    ``representation`` if it is not species-aware, else each group of
    :func:`composition_groups` with the fingerprint built for its species."""
    if not _is_species_aware(representation):
        return [(np.arange(len(frames)), representation)]
    build = specialiser(representation)
    return [(rows, build(species)) for species, rows in composition_groups(frames).items()]


def analyse_by_composition(
    frames: Sequence[ase.Atoms],
    representation: Representation,
    *,
    batch_size: int = 500,
    symmetry_tol: float = SYMMETRY_TOL,
    zero_rtol: float = ZERO_RTOL,
    progress: bool = False,
) -> list[FrameAnalysis]:
    """:func:`~degeneracy.sensitivity.analyse_frames` with each frame described by a
    fingerprint of its own species.

    Frames are grouped by species (:func:`composition_groups`); a species-aware
    ``representation`` is rebuilt for each group's centre and neighbour species
    (:func:`specialiser`) and each group analysed on its own, so that a frame's
    spectrum, CN and verdict do not depend on the frames beside it. Frames of one
    species set (and fingerprints that are not species-aware) are analysed in one call,
    as :func:`~degeneracy.sensitivity.analyse_frames` does. The representation's notes
    (its ``diagnose``) are issued per group.

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first), all with the same number of atoms.
    representation : Representation
        The fingerprint; a species-aware one's ``center`` and ``neighbors`` are replaced
        by each group's own.
    batch_size, symmetry_tol, zero_rtol, progress
        As :func:`~degeneracy.sensitivity.analyse_frames`.

    Returns
    -------
    list of FrameAnalysis
        One per frame, in the order of ``frames``, ``frame`` its index there.

    Raises
    ------
    DegeneracyError
        As :func:`~degeneracy.sensitivity.analyse_frames`, a frame named by its index
        in ``frames``.
    """
    progress = true_or_false("progress", progress)
    options = {
        "batch_size": batch_size,
        # checked before the groups' fingerprints are built (analyse_frames checks again)
        "symmetry_tol": symmetry_tolerance_value("symmetry_tol", symmetry_tol),
        "zero_rtol": zero_rtol,
        "progress": progress,
    }
    frames = frame_list(frames)
    check_same_size(frames)
    parts = composition_parts(frames, representation) if frames else []
    if len(parts) <= 1:
        built = parts[0][1] if parts else representation
        return analyse_frames(frames, built, **options)
    results: list[Any] = [None] * len(frames)
    for rows, built in parts:
        with numbered_as_given(rows):
            analysed = analyse_frames([frames[k] for k in rows], built, **options)
        for k, result in zip(rows, analysed, strict=True):
            results[k] = dataclasses.replace(result, frame=int(k))
    return results


def compare_by_composition(
    frames: Sequence[ase.Atoms],
    representations: Mapping[str, Representation] | Sequence[Representation],
    *,
    batch_size: int = 200,
    progress: bool = False,
) -> Comparison:
    """:func:`~degeneracy.compare.compare_fingerprints` with each frame described by
    fingerprints of its own species (as :func:`analyse_by_composition`).

    Fingerprints that are not species-aware are computed on all frames in one call;
    species-aware ones on each group of :func:`composition_groups`, rebuilt for its
    species.

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first), all with the same number of atoms.
    representations : mapping or sequence
        As :func:`~degeneracy.compare.compare_fingerprints`.
    batch_size, progress
        As :func:`~degeneracy.compare.compare_fingerprints`.

    Returns
    -------
    Comparison
        Frames in the order given, fingerprints in the order given.

    Raises
    ------
    DegeneracyError
        As :func:`~degeneracy.compare.compare_fingerprints`, a frame named by its index
        in ``frames``.
    """
    progress = true_or_false("progress", progress)
    frames = frame_list(frames)
    named = fingerprints_by_name(representations)
    if not frames or not named:  # compare_fingerprints says which is missing
        return compare_fingerprints(frames, named, batch_size=batch_size, progress=progress)
    check_same_size(frames)
    parts = {name: composition_parts(frames, rep) for name, rep in named.items()}
    whole = {name: p[0][1] for name, p in parts.items() if len(p) == 1}
    if len(whole) == len(named):
        return compare_fingerprints(frames, whole, batch_size=batch_size, progress=progress)
    calls = []  # (rows, Comparison)
    if whole:
        calls.append(
            (
                np.arange(len(frames)),
                compare_fingerprints(frames, whole, batch_size=batch_size, progress=progress),
            )
        )
    grouped = [name for name in named if name not in whole]  # the same groups for each
    for g, (rows, _) in enumerate(parts[grouped[0]]):
        built = {name: parts[name][g][1] for name in grouped}
        with numbered_as_given(rows):
            comparison = compare_fingerprints(
                [frames[k] for k in rows], built, batch_size=batch_size, progress=progress
            )
        calls.append((rows, comparison))
    return _merged(calls, list(named), len(frames))


def _merged(calls: list[tuple[np.ndarray, Comparison]], names: list[str], n: int) -> Comparison:
    """One :class:`Comparison` of ``n`` frames and fingerprints ``names`` from comparisons
    of some of the frames (``rows``) and some of the fingerprints each."""
    n_values = calls[0][1].singular_values.shape[-1]
    values = np.full((n, len(names), n_values), np.nan)
    norms, residuals, scales = (np.full((n, len(names)), np.nan) for _ in range(3))
    kinks = np.zeros((n, len(names)), dtype=bool)  # not recorded: no kink (Comparison)
    nearest: list[str | None] = [None] * n
    distances = np.full(n, np.nan)
    for rows, comparison in calls:
        for j, name in enumerate(comparison.names):
            k = names.index(name)
            values[rows, k] = comparison.singular_values[:, j]
            norms[rows, k] = comparison.feature_norms[:, j]
            residuals[rows, k] = comparison.near_swap_residuals[:, j]
            scales[rows, k] = comparison.trade_scales[:, j]
            kinks[rows, k] = comparison.kink_mask[:, j]
        distances[rows] = comparison.coincidence_distances  # the geometry's: equal in all
        for k, label in zip(rows, comparison.nearest_coincidences, strict=True):
            nearest[k] = label
    return Comparison(
        names=names,
        singular_values=values,
        feature_norms=norms,
        nearest_coincidences=nearest,
        coincidence_distances=distances,
        near_swap_residuals=residuals,
        trade_scales=scales,
        kinks=kinks,
    )


def verify_pairs_by_composition(
    frames: Sequence[ase.Atoms],
    representations: Mapping[str, Representation] | Sequence[Representation],
    *,
    tol: float = SYMMETRY_TOL,
    where: str = "",
    batch_size: int = 200,
    progress: bool = False,
) -> list[PairVerdict]:
    """:func:`~degeneracy.pairs.verify_pairs` with each pair described by fingerprints of
    its own species (those of both members: the same in a valid pair).

    Pairs are grouped by species; a species-aware fingerprint is rebuilt for each group
    (:func:`specialiser`), so that a pair's feature distance does not depend on the
    pairs beside it. Fingerprints that are not species-aware, the relation of the
    members and E4 are computed on all pairs at once. Features are computed
    ``batch_size`` frames at a time in either case
    (:func:`~degeneracy.pairs.pair_distances`); a fingerprint's notes (its
    ``diagnose``) count every frame it describes: all of them, or its group's.

    Parameters
    ----------
    frames, representations, tol, where, batch_size, progress
        As :func:`~degeneracy.pairs.verify_pairs`.

    Returns
    -------
    list of PairVerdict
        One per pair, in order, with the fingerprints' distances in the order given.

    Raises
    ------
    DegeneracyError
        As :func:`~degeneracy.pairs.verify_pairs`.
    """
    progress = true_or_false("progress", progress)
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    options = {"tol": tol, "where": where, "batch_size": batch_size, "progress": progress}
    frames = frame_list(frames, name="verify_pairs")
    named = fingerprints_by_name(representations)
    first, second = split_pairs(frames, where=where)
    # a pair's species: both members' (the same in a valid pair; verify_pairs says if not)
    groups = composition_groups([a + b[1:] for a, b in zip(first, second, strict=True)])
    aware = {name: rep for name, rep in named.items() if _is_species_aware(rep)}
    if len(groups) <= 1:
        ((species, _),) = groups.items()
        built = {
            name: specialiser(rep)(species) if name in aware else rep for name, rep in named.items()
        }
        return verify_pairs(frames, built, **options)
    whole = {name: rep for name, rep in named.items() if name not in aware}
    verdicts = verify_pairs(frames, whole, **options)  # checks every pair first
    distances = {name: np.full(len(first), np.nan) for name in aware}
    for name, rep in aware.items():
        build = specialiser(rep)
        for species, rows in groups.items():
            given = np.column_stack([2 * rows, 2 * rows + 1]).ravel()  # members in pairs
            with numbered_as_given(given):
                distances[name][rows] = pair_distances(
                    build(species),
                    [frames[k] for k in given],
                    batch_size=batch_size,
                    progress=progress,
                    desc=name,
                )
    return [
        dataclasses.replace(
            verdict,
            distance={
                name: verdict.distance[name] if name in whole else float(distances[name][k])
                for name in named
            },
        )
        for k, verdict in enumerate(verdicts)
    ]


def composition_hypers(representation: Representation, frames: Sequence[ase.Atoms]) -> dict:
    """``representation``'s hyperparameters as used on ``frames`` by the analyses here.

    Those of the fingerprint of the frames' species when they have one set of species (or
    it is not species-aware); else its shared hyperparameters, without ``center`` and
    ``neighbors``, and ``species``: per group of :func:`composition_groups`, ``center``,
    ``neighbors`` (symbols) and the number of ``frames`` its fingerprint was built for.
    """
    frames = frame_list(frames)
    if not frames or not _is_species_aware(representation):
        return representation.hypers()
    groups = composition_groups(frames)
    if len(groups) == 1:
        return specialiser(representation)(next(iter(groups))).hypers()
    hypers = {
        key: value
        for key, value in representation.hypers().items()
        if key not in ("center", "neighbors")
    }
    hypers["species"] = [
        {
            "center": symbols_of([center])[0],
            "neighbors": list(symbols_of(neighbors)),
            "frames": len(rows),
        }
        for (center, neighbors), rows in groups.items()
    ]
    return hypers
