r"""Centre + neighbour environments cut out of arbitrary structures.

A data set holds whole structures (molecules, clusters, periodic crystals); the
:class:`~degeneracy.representations.Representation` protocol describes one environment:
an :class:`ase.Atoms` with the centre at index 0, at the origin, followed by its
neighbours. For a centre :math:`i` the neighbours are every atom :math:`j` (periodic
images included) with

.. math:: 0 < |\mathbf r_j + \mathbf S \mathbf h - \mathbf r_i| < r_c,

where :math:`\mathbf h` is the cell matrix and :math:`\mathbf S` the integer image shift.
Each environment is an isolated cluster: its Jacobian moves every neighbour (and every
periodic image) independently, which is what the fingerprint of the centre sees. The
centre's power spectrum only depends on centre–neighbour vectors, so the cluster has the
same features as the centre in the full structure.

Neighbours are ordered by species (atomic number), then by atom index and image shift,
so environments of the same composition line up column by column.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import ase
import ase.data
import numpy as np
from ase.neighborlist import neighbor_list
from scipy.spatial import cKDTree

from .errors import DegeneracyError
from .processes import KeptResults, arrays_digest
from .representations.base import cutoff_radius
from .species import species_numbers
from .structures import (
    check_cell,
    check_coordinates_in_range,
    check_finite_coordinates,
    one_frame,
    vector_lengths,
    with_reduced_cell,
)


def parse_species(species: str | Iterable[str | int]) -> tuple[int, ...]:
    """Atomic numbers of ``"C,H"``, ``"C H"``, ``["C", "H"]`` or ``[6, 1]``, sorted, unique
    (:func:`~degeneracy.species.species_numbers`).

    Raises :class:`DegeneracyError` naming an unknown element.
    """
    return species_numbers(species)


#: Clusters of at least this many atoms find each centre's neighbours with a k-d tree
#: (:func:`_neighbors_isolated`).
TREE_FROM_ATOMS = 500


def _neighbors_isolated(
    positions: np.ndarray, centers: np.ndarray, cutoff: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    # Without periodicity the neighbours of a centre are the other atoms inside the cutoff;
    # a direct distance test is ~15x faster than ase's cell-list for small molecules, and
    # a k-d tree (scipy's) narrows the candidates of a large cluster, whose test of every
    # atom for every centre grew with the square of its size.
    candidates = None
    if len(positions) >= TREE_FROM_ATOMS:
        tree = cKDTree(positions)
        # a little wider than the cutoff: the exact test below decides, as for a molecule
        candidates = tree.query_ball_point(
            positions[centers], r=cutoff * (1 + 1e-9), return_sorted=True
        )
    result = []
    for k, center in enumerate(centers):
        if candidates is None:
            near = np.arange(len(positions))
        else:
            near = np.asarray(candidates[k], dtype=np.intp)
        vectors = positions[near] - positions[center]
        distances = vector_lengths(vectors)
        keep = (distances < cutoff) & (near != center)
        result.append((near[keep], vectors[keep]))
    return result


#: Structures of at least this many atoms keep their neighbour list for the next call
#: (:func:`_periodic_pairs`).
KEEP_PAIRS_FROM_ATOMS = 500

#: The neighbour pairs of the latest large structures searched: at most 2 (each thread's
#: scan chunk reads one structure at a time) and 256 MB together (a 16 000-atom crystal at
#: 6 Å: 82 MB).
_KEPT = KeptResults(2, size=lambda pairs: sum(array.nbytes for array in pairs), budget=2**28)


def _periodic_pairs(atoms: ase.Atoms, cutoff: float) -> tuple[np.ndarray, ...]:
    """Every neighbour pair of ``atoms`` within ``cutoff``: ``i`` (sorted), ``j``, the
    vectors and the image shifts in the stored basis of the cell.

    ase's search covers the whole structure and takes no subset of centres, and a scan
    cuts a large crystal's environments chunk by chunk: each chunk searched the whole
    structure again (helper-155: 7 ms per environment of a 22 000-atom crystal at 5 Å,
    more than the fingerprint). So the pairs of a large structure (from
    :data:`KEEP_PAIRS_FROM_ATOMS` atoms) are kept, under a digest of everything they
    depend on, for the next chunk of the same structure.
    """
    key = None
    if len(atoms) >= KEEP_PAIRS_FROM_ATOMS:
        key = arrays_digest(np.float64(cutoff), atoms.positions, atoms.cell[:], atoms.pbc)
        kept = _KEPT.get(key)
        if kept is not None:
            return kept
    # searched in the reduced basis of the lattice: ase's search grows with the inverse of
    # the basis's heights (seconds for a sound lattice stored with a large tilt); the
    # shifts are turned back into the stored basis, which orders the neighbours
    searched, op = with_reduced_cell(atoms)
    i, j, vectors, shifts = neighbor_list("ijDS", searched, cutoff, self_interaction=False)
    order = np.argsort(i, kind="stable")  # sorted by i already (ase's documentation)
    pairs = (i[order], j[order], vectors[order], shifts[order] @ op)
    for array in pairs:  # shared by later calls: read-only
        array.flags.writeable = False
    return pairs if key is None else _KEPT.put(key, pairs)


def forget_neighbour_pairs() -> None:
    """Drop the neighbour pairs kept for large structures (:func:`_periodic_pairs`): a scan
    does when it ends, so that a process that goes on (a notebook, a scan in threads)
    does not hold them."""
    _KEPT.clear()


def _neighbors_periodic(
    atoms: ase.Atoms, centers: np.ndarray, cutoff: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    i, j, vectors, shifts = _periodic_pairs(atoms, cutoff)
    starts = np.searchsorted(i, centers, side="left")
    stops = np.searchsorted(i, centers, side="right")
    result = []
    for start, stop in zip(starts, stops, strict=True):
        mine = slice(start, stop)
        order = np.lexsort((*shifts[mine].T[::-1], j[mine]))
        result.append((j[mine][order], vectors[mine][order]))
    return result


def environments_of(
    atoms: ase.Atoms,
    centers: Sequence[int] | np.ndarray,
    *,
    cutoff: float,
    neighbor_species: Collection[int] | None = None,
) -> list[ase.Atoms]:
    """Environments of the atoms ``centers`` (indices into ``atoms``).

    Parameters
    ----------
    atoms : ase.Atoms
        A whole structure; periodic along the axes where ``atoms.pbc`` is true.
    centers : sequence of int
        Indices of the centre atoms.
    cutoff : float
        Neighbours lie strictly closer than ``cutoff`` (Å), at most
        :data:`~degeneracy.representations.base.MAX_CUTOFF` (the fingerprints' limit;
        a crystal has ~0.05 atoms per Å³ of neighbours, 2e5 within it).
    neighbor_species : collection of int or str, optional
        Keep only neighbours of these species, atomic numbers or symbols (default: all).

    Returns
    -------
    list of ase.Atoms
        One per centre: centre at index 0 at the origin, neighbours after it (ordered by
        species, then index and image), no cell, no periodicity, ``info["atom"]`` the
        centre's index in ``atoms``.

    Raises
    ------
    DegeneracyError
        When ``atoms`` is not an :class:`ase.Atoms`, ``cutoff`` is not a number in
        (0, MAX_CUTOFF], a centre index is not an index of ``atoms``, a species is
        unknown, an atom's position is NaN or infinite (naming the atom: it would fail
        every distance test and be left out of every environment without a word) or
        beyond :data:`~degeneracy.structures.MAX_COORDINATE` (1e12 Å), an atom sits at
        the place of a centre (or of its periodic image), or
        ``atoms`` is periodic along an axis without a proper, finite cell
        (:func:`~degeneracy.structures.check_cell`).
    """
    atoms = one_frame(atoms, name="environments_of")
    cutoff = cutoff_radius(cutoff)
    check_cell(atoms, "structure")
    check_finite_coordinates(atoms.positions, "structure")
    check_coordinates_in_range(atoms.positions, "structure")
    centers = _centre_indices(centers, len(atoms))
    if neighbor_species is not None:
        neighbor_species = parse_species(neighbor_species)
    if np.any(atoms.pbc):
        found = _neighbors_periodic(atoms, centers, cutoff)
    else:
        found = _neighbors_isolated(atoms.positions, centers, cutoff)
    numbers = atoms.numbers
    environments = []
    for center, (indices, vectors) in zip(centers, found, strict=True):
        _refuse_atom_on_centre(indices, vectors, int(center))
        species = numbers[indices]
        if neighbor_species is not None:
            keep = np.isin(species, list(neighbor_species))
            indices, vectors, species = indices[keep], vectors[keep], species[keep]
        order = np.argsort(species, kind="stable")
        environment = ase.Atoms(
            numbers=np.concatenate([[numbers[center]], species[order]]),
            positions=np.vstack([np.zeros((1, 3)), vectors[order]]),
            pbc=False,
        )
        environment.info["atom"] = int(center)
        environments.append(environment)
    return environments


def _refuse_atom_on_centre(indices: np.ndarray, vectors: np.ndarray, center: int) -> None:
    """Refuse a neighbour at 0 Å from its centre (or from the centre's periodic image):
    neighbours lie at 0 < r < r_c, and an environment with two atoms in one place has no
    Jacobian (nearly coinciding ones are refused where it is computed,
    :func:`~degeneracy.sensitivity.check_analysable`)."""
    on_centre = np.flatnonzero(~np.any(vectors, axis=1))
    if on_centre.size:
        raise DegeneracyError(
            f"structure, atom {int(indices[on_centre[0]])}: at the place of centre atom "
            f"{center} (0 Å apart): two atoms in one place"
        )


def _centre_indices(centers: Sequence[int], n_atoms: int) -> np.ndarray:
    """``centers`` as an integer array, refusing a non-integer or out-of-range index."""
    values = np.asarray(centers).reshape(-1)
    if values.size and (values.dtype == bool or not np.issubdtype(values.dtype, np.integer)):
        raise DegeneracyError(f"centre indices must be integers, got {values.tolist()}")
    outside = values[(values < 0) | (values >= n_atoms)]
    if outside.size:
        raise DegeneracyError(
            f"centre index {int(outside[0])} out of range for a structure of {n_atoms} atoms"
        )
    return values.astype(int)


def structure_environments(
    atoms: ase.Atoms,
    *,
    cutoff: float,
    centers: Collection[int] | None = None,
    neighbor_species: Collection[int] | None = None,
) -> list[ase.Atoms]:
    """Environments of every atom of ``atoms`` whose atomic number is in ``centers``.

    ``centers=None`` takes every atom as a centre; see :func:`environments_of`.

    Parameters
    ----------
    atoms : ase.Atoms
        A whole structure; periodic along the axes where ``atoms.pbc`` is true.
    cutoff : float
        Neighbours lie strictly closer than ``cutoff`` (Å), at most ``MAX_CUTOFF``
        (100 Å).
    centers : collection of int or str, optional
        Species of the centres, atomic numbers or symbols (or ``"C,H"``); default: all
        atoms.
    neighbor_species : collection of int or str, optional
        Keep only neighbours of these species, atomic numbers or symbols (default: all).

    Returns
    -------
    list of ase.Atoms
        One per centre, in the order of the atoms in ``atoms``, as
        :func:`environments_of` returns them (``info["atom"]``: the centre's index).

    Raises
    ------
    DegeneracyError
        When ``atoms`` is not an :class:`ase.Atoms`, ``cutoff`` is not a number in
        (0, :data:`~degeneracy.representations.base.MAX_CUTOFF`], a species is unknown
        (or none is given), an atom's position is NaN or infinite, or ``atoms`` is
        periodic along an axis without a proper, finite cell (:func:`environments_of`).
    """
    atoms = one_frame(atoms, name="structure_environments")
    if centers is None:
        chosen = np.arange(len(atoms))
    else:
        chosen = np.flatnonzero(np.isin(atoms.numbers, parse_species(centers)))
    return environments_of(atoms, chosen, cutoff=cutoff, neighbor_species=neighbor_species)
