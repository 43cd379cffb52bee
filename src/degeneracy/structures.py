"""Atomic environments: readers, writers, validation, built-in structures and samplers.

An *environment* is an :class:`ase.Atoms` whose atom 0 is the centre and whose other
atoms are its neighbours (CH4 by default: C first, then 4 H). Positions are in Å and
the centre is placed at the origin when an environment is read or built, which removes
translations; cell and periodic boundary conditions are dropped.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ase
import ase.data
import ase.io
import ase.units
import numpy as np
from ase.geometry import complete_cell, find_mic, minkowski_reduce
from ase.io.extxyz import XYZError
from ase.io.formats import (
    UnknownFileTypeError,
    filetype,
    ioformats,
    open_with_compression,
    string2index,
)
from ase.neighborlist import neighbor_list

from . import checks
from .checks import (
    bounded_int,
    existing_file,
    finite_float,
    non_negative_float,
    number_array,
    positive_float,
    seeded_generator,
    structure_count,
    text_beside,
    true_or_false,
)
from .errors import BEYOND_CUTOFF, SPEC_MISMATCH, DegeneracyError, DegeneracyWarning
from .files import EXTXYZ_SUFFIXES, atomic_path, output_file

#: Length units accepted by the readers, as the factor that converts them to Å.
UNITS: dict[str, float] = {"angstrom": 1.0, "bohr": ase.units.Bohr}

#: Default cutoff radius (Å) of the fingerprints; neighbours must lie strictly inside.
DEFAULT_CUTOFF = 2.5

#: Default smallest allowed interatomic distance (Å) when validating environments.
DEFAULT_MIN_DISTANCE = 0.5

#: C–H bond length (Å) of the built-in structures.
CH_BOND = 1.09


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment must contain: a centre species and ``n_neighbors`` neighbours.

    ``None`` leaves a field open: :data:`ANY_ENVIRONMENT` (all three ``None``) accepts any
    centre followed by any number (at least one) of neighbours of any species.
    """

    center: str | None = "C"
    neighbor: str | None = "H"
    n_neighbors: int | None = 4

    def __post_init__(self) -> None:
        for label, symbol in (("center", self.center), ("neighbor", self.neighbor)):
            if symbol is not None and ase.data.atomic_numbers.get(symbol, 0) < 1:
                raise DegeneracyError(f"unknown {label} element {symbol!r}")
        if self.n_neighbors is not None:  # numpy integers too (frozen: set through object)
            count = bounded_int("n_neighbors", self.n_neighbors, minimum=1)
            object.__setattr__(self, "n_neighbors", count)

    @property
    def complete(self) -> bool:
        """Whether centre, neighbour species and count are all fixed (an environment can be
        built from neighbour positions alone)."""
        return None not in (self.center, self.neighbor, self.n_neighbors)

    @property
    def symbols(self) -> str:
        """Chemical formula in environment order (centre first), e.g. ``'CH4'``; open
        fields read ``*`` (``'C*'``: a C centre and any neighbours)."""
        if self == ANY_ENVIRONMENT:
            return "any"
        count = "" if self.n_neighbors is None or self.n_neighbors == 1 else str(self.n_neighbors)
        return f"{self.center or '*'}{self.neighbor or '*'}{count}"


#: Methane: C centre followed by four H neighbours.
CH4 = EnvironmentSpec()

#: Any centre followed by any number of neighbours of any species.
ANY_ENVIRONMENT = EnvironmentSpec(center=None, neighbor=None, n_neighbors=None)

#: ``CH4``, ``SiO4``, ``OH2``: a centre element, a neighbour element, a count (default 1).
_ENVIRONMENT_FORMULA = re.compile(r"([A-Z][a-z]?)([A-Z][a-z]?)(\d*)")


def parse_environment(text: str) -> EnvironmentSpec:
    """The environment named by ``text``: ``"any"``, or centre element, neighbour element and
    neighbour count, e.g. ``"CH4"`` (C and 4 H), ``"SiO4"``, ``"OH2"``.

    A hand-written pattern rather than :class:`ase.formula.Formula`, which merges repeated
    elements (``"SiSi4"`` would be ``Si5``) and does not keep which one is the centre.

    Parameters
    ----------
    text : str
        ``"any"`` (any case, surrounding spaces ignored) or a formula such as ``"CH4"``.

    Returns
    -------
    EnvironmentSpec
        :data:`ANY_ENVIRONMENT` for ``"any"``, else the centre, neighbour element and
        count (1 when the count is omitted).

    Raises
    ------
    DegeneracyError
        When ``text`` is not a string, does not match the pattern, names an unknown
        element, or gives a count of 0.
    """
    if not isinstance(text, str):
        raise DegeneracyError(f"environment must be a string such as 'CH4' or 'any', got {text!r}")
    if text.strip().lower() == "any":
        return ANY_ENVIRONMENT
    match = _ENVIRONMENT_FORMULA.fullmatch(text.strip())
    if match is None:
        raise DegeneracyError(
            f"environment {text!r}: expected 'any' or a centre element, a neighbour element "
            "and a count, e.g. CH4, SiO4, OH2"
        )
    center, neighbor, count = match.groups()
    try:
        return EnvironmentSpec(center=center, neighbor=neighbor, n_neighbors=int(count or 1))
    except DegeneracyError as error:  # an unknown element or a count of 0: name the text
        raise DegeneracyError(f"environment {text!r}: {error}") from error


def environment_spec(spec: EnvironmentSpec | str) -> EnvironmentSpec:
    """``spec`` itself, or the environment its name gives (:func:`parse_environment`)."""
    if isinstance(spec, EnvironmentSpec):
        return spec
    if isinstance(spec, str):
        return parse_environment(spec)
    raise DegeneracyError(
        f"spec must be an EnvironmentSpec or a name such as 'CH4' or 'any', got {spec!r}"
    )


def environment_from_neighbors(
    neighbors: np.ndarray, spec: EnvironmentSpec | str = CH4, *, info: dict | None = None
) -> ase.Atoms:
    """Build an environment with the centre at the origin from neighbour positions (Å).

    Parameters
    ----------
    neighbors : array of shape (n_neighbors, 3)
        Neighbour positions relative to the centre.
    spec : EnvironmentSpec or str
        Species of the centre and neighbours (or a name: ``"CH4"``, ``"SiO4"``).
    info : dict, optional
        Copied into ``atoms.info``.

    Returns
    -------
    ase.Atoms
        The centre (at the origin) followed by the neighbours, species from ``spec``, no
        periodicity.

    Raises
    ------
    DegeneracyError
        When ``spec`` is not an environment (or its name), does not fix the centre,
        neighbour species and count, or ``neighbors`` is not one environment's positions
        of ``spec.n_neighbors`` neighbours.
    """
    spec = environment_spec(spec)
    if not spec.complete:
        raise DegeneracyError(
            f"environment {spec.symbols}: building one from positions needs the centre, "
            "neighbour species and count"
        )
    neighbors = neighbor_array(neighbors, "environment_from_neighbors")
    if len(neighbors) != spec.n_neighbors:
        raise DegeneracyError(
            f"expected {spec.n_neighbors} neighbour positions, got {len(neighbors)}"
        )
    if info is not None and not isinstance(info, Mapping):
        raise DegeneracyError(f"info must be a mapping (a dict), got {info!r}")
    atoms = ase.Atoms(spec.symbols, positions=np.vstack([np.zeros(3), neighbors]), pbc=False)
    if info:
        atoms.info.update(info)
    return atoms


def frame_list(frames: Any, *, name: str = "") -> list[ase.Atoms]:
    """``frames`` as a list of :class:`ase.Atoms`, refused with a line naming the mistake:
    one ``ase.Atoms`` (iterating it would give ``ase.Atom`` objects) or an item that is
    not one. ``name`` (the fingerprint or function) starts the message."""
    prefix = f"{name}: " if name else ""
    if isinstance(frames, ase.Atoms):
        raise DegeneracyError(f"{prefix}give a list of frames, e.g. [atoms], not one ase.Atoms")
    try:
        frames = list(frames)
    except TypeError:
        raise DegeneracyError(
            f"{prefix}frames must be a list of ase.Atoms, got {type(frames).__name__}"
        ) from None
    for index, atoms in enumerate(frames):
        if not isinstance(atoms, ase.Atoms):
            raise DegeneracyError(
                f"{prefix}frame {index} is a {type(atoms).__name__}, not an ase.Atoms"
            )
    return frames


def one_frame(atoms: Any, *, name: str) -> ase.Atoms:
    """``atoms`` if it is one :class:`ase.Atoms` (the start of ``name``), else named."""
    if not isinstance(atoms, ase.Atoms):
        raise DegeneracyError(
            f"{name} takes one frame (an ase.Atoms), got a {type(atoms).__name__}"
        )
    return atoms


def neighbor_positions(frames: Sequence[ase.Atoms] | ase.Atoms) -> np.ndarray:
    """Neighbour positions relative to the centre.

    Parameters
    ----------
    frames : list of ase.Atoms or ase.Atoms
        Environments (centre first, positions in Å), all with the same number of atoms;
        or one environment.

    Returns
    -------
    numpy.ndarray of shape (n_frames, n_neighbors, 3)
        For a single :class:`ase.Atoms`, shape (n_neighbors, 3).

    Raises
    ------
    DegeneracyError
        For a list: when it is empty, holds something other than :class:`ase.Atoms`, or
        its frames have different numbers of atoms; an environment without atoms (no
        centre).
    """
    if isinstance(frames, ase.Atoms):
        check_has_centre(frames, "neighbor_positions")
        return frames.positions[1:] - frames.positions[0]
    frames = frame_list(frames)
    if not frames:
        raise DegeneracyError("no frames: neighbour positions of an empty list")
    check_has_centre(frames[0], "neighbor_positions: frame 0")
    check_same_size(frames)
    return np.stack([atoms.positions[1:] - atoms.positions[0] for atoms in frames])


def check_has_centre(atoms: ase.Atoms, where: str) -> None:
    """Refuse an :class:`ase.Atoms` without atoms (no centre), naming ``where``."""
    if not len(atoms):
        raise DegeneracyError(f"{where}: an empty ase.Atoms, no centre (atom 0)")


def rotation_generators(neighbors: np.ndarray) -> np.ndarray:
    r"""Infinitesimal rotations of the neighbours about x, y, z: shape (..., 3N, 3).

    Column :math:`k` is :math:`(e_k \times p_1, \dots, e_k \times p_N)`.

    Parameters
    ----------
    neighbors : array (..., N, 3)
        Neighbour positions :math:`p_i` relative to the centre (Å): one environment or a
        batch.

    Returns
    -------
    array (..., 3N, 3)
        The generators :math:`t_x, t_y, t_z` as columns (not normalised).

    Raises
    ------
    DegeneracyError
        When ``neighbors`` is not of shape (..., N, 3) with N ≥ 1 or not finite
        (:func:`neighbor_batch`).
    """
    neighbors = neighbor_batch(neighbors, "rotation_generators")
    axes = np.eye(3)
    columns = [np.cross(axes[k], neighbors).reshape(*neighbors.shape[:-2], -1) for k in range(3)]
    return np.stack(columns, axis=-1)


def check_same_size(frames: Sequence[ase.Atoms]) -> None:
    """Refuse frames with different numbers of atoms, naming the first that differs
    from frame 0 (a batch of Jacobians needs one shape)."""
    for index, atoms in enumerate(frames):
        if len(atoms) != len(frames[0]):
            raise DegeneracyError(
                f"frames have different numbers of atoms: frame {index} has {len(atoms)}, "
                f"frame 0 has {len(frames[0])}"
            )


def check_finite_positions(
    frames: Sequence[ase.Atoms] | ase.Atoms, *, where: str = "", first_frame: int = 0
) -> None:
    """Raise :class:`DegeneracyError` naming the first frame and atom with a non-finite
    coordinate (NaN or inf would otherwise surface as an SVD failure deep inside).
    ``where`` (e.g. the file) starts the message; frames are numbered from
    ``first_frame``."""
    frames = [frames] if isinstance(frames, ase.Atoms) else frames
    prefix = f"{where}, " if where else ""
    first_frame = bounded_int("first_frame", first_frame, minimum=0)
    for frame, atoms in enumerate(frames, start=first_frame):
        check_finite_coordinates(atoms.positions, f"{prefix}frame {frame}")


def check_no_dummy_atoms(atoms: ase.Atoms, where: str) -> None:
    """Refuse a dummy atom X (Z = 0: ase's ghost atoms, Wannier centres), naming ``where``
    and the atom: no fingerprint has a species channel for it."""
    dummies = np.flatnonzero(atoms.numbers == 0)
    if dummies.size:
        raise DegeneracyError(
            f"{where}, atom {int(dummies[0])}: a dummy atom X (atomic number 0), not a "
            "chemical species; remove it"
        )


def check_finite_coordinates(positions: np.ndarray, where: str) -> None:
    """Raise ``{where}, atom {i}: non-finite coordinates [...]`` for the first such atom."""
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        index = int(bad[0])
        raise DegeneracyError(
            f"{where}, atom {index}: non-finite coordinates {positions[index].tolist()}"
        )


#: Largest coordinate (Å, in size) of a whole structure's atom: 100 m, far beyond any
#: structure's, and far below where ase's neighbour search, which bins space by the
#: cutoff in 64-bit integers, overflows (1e19 Å: a numpy RuntimeWarning and bins made of
#: an invalid cast).
MAX_COORDINATE = 1e12


def check_coordinates_in_range(positions: np.ndarray, where: str) -> None:
    """Raise ``{where}, atom {i}: coordinate 1e+300 Å is beyond ...`` for the first atom
    with a coordinate larger in size than :data:`MAX_COORDINATE` (finite ones: see
    :func:`check_finite_coordinates`)."""
    beyond = np.abs(np.asarray(positions, dtype=float)) > MAX_COORDINATE
    bad = np.flatnonzero(beyond.any(axis=1))
    if bad.size:
        index = int(bad[0])
        value = float(positions[index][np.argmax(beyond[index])])
        raise DegeneracyError(
            f"{where}, atom {index}: coordinate {value:g} Å is beyond ±{MAX_COORDINATE:g} Å "
            "(100 m), no structure's"
        )


def neighbor_array(neighbors: Any, caller: str) -> np.ndarray:
    """One environment's neighbour positions as a float array (N, 3), from (N, 3) or a
    flat (3N,); a batch (n, N, 3), an ase.Atoms, a length not a multiple of 3 or a
    non-finite coordinate (:func:`check_finite_neighbors`) is refused naming ``caller``
    (reshaping a batch would analyse all its frames as one environment of n·N
    neighbours, without a word)."""
    array = _position_numbers(neighbors, caller)
    if (array.ndim == 2 and array.shape[1] == 3) or (array.ndim == 1 and array.size % 3 == 0):
        array = array.reshape(-1, 3)
        check_finite_neighbors(array, caller)
        return array
    raise DegeneracyError(
        f"{caller} takes one environment's neighbour positions, shape (N, 3) or (3N,); got "
        f"{array.shape} (for several frames, call it per frame)"
    )


def neighbor_batch(neighbors: Any, caller: str, *, first_frame: int = 0) -> np.ndarray:
    """Neighbour positions of one environment (N, 3) or a batch (..., N, 3), N ≥ 1, as a
    float array; an ase.Atoms, another shape or a non-finite coordinate
    (:func:`check_finite_neighbors`, frames counted from ``first_frame``) is refused
    naming ``caller``."""
    array = _position_numbers(neighbors, caller)
    if array.ndim < 2 or array.shape[-1] != 3 or array.shape[-2] == 0:
        raise DegeneracyError(
            f"{caller} takes neighbour positions of shape (N, 3) or (n_frames, N, 3) with "
            f"N ≥ 1, got {array.shape}"
        )
    check_finite_neighbors(array, caller, first_frame=first_frame)
    return array


def _position_numbers(neighbors: Any, caller: str) -> np.ndarray:
    """``neighbors`` as a float array; an ase.Atoms or something not numbers refused."""
    if isinstance(neighbors, (ase.Atoms, ase.Atom)):
        raise DegeneracyError(
            f"{caller} takes neighbour positions relative to the centre, e.g. "
            "dg.neighbor_positions(atoms), not an ase.Atoms"
        )
    return number_array(neighbors, f"{caller}: neighbour positions")


def check_finite_neighbors(neighbors: np.ndarray, caller: str, *, first_frame: int = 0) -> None:
    """Refuse a NaN or inf in neighbour positions (..., N, 3), naming ``caller``, the
    frame of a batch (counted from ``first_frame``) and the neighbour (its row, 0 for the
    first neighbour): numpy's SVD would fail with "did not converge", naming nothing,
    and other analyses would return NaN or a silent answer."""
    finite = np.isfinite(neighbors).all(axis=-1)
    if finite.all():
        return
    *batch, neighbor = (int(k) for k in np.unravel_index(int(np.argmin(finite)), finite.shape))
    frame = ""
    if batch:
        frame = f"frame {first_frame + batch[0] if len(batch) == 1 else tuple(batch)}, "
    value = neighbors[(*batch, neighbor)].tolist()
    raise DegeneracyError(f"{caller}: {frame}neighbour {neighbor}: non-finite coordinates {value}")


def recorded_arc_lengths(frames: Sequence[ase.Atoms]) -> np.ndarray | None:
    """The frames' ``arc_length`` info (Å, as orbit files record it) when every frame
    has a finite number there, else None."""
    try:
        values = np.array([float(atoms.info["arc_length"]) for atoms in frames])
    except (KeyError, TypeError, ValueError):
        return None
    return values if np.isfinite(values).all() else None


def vector_lengths(vectors: np.ndarray) -> np.ndarray:
    """Euclidean lengths over the last axis (of 3) without overflow: a coordinate of 1e300
    gives 1e300, not inf and a RuntimeWarning (:func:`numpy.hypot` scales internally)."""
    vectors = np.asarray(vectors, dtype=float)
    return np.hypot(np.hypot(vectors[..., 0], vectors[..., 1]), vectors[..., 2])


def environment_atom_distances(vectors: np.ndarray) -> np.ndarray:
    """Distances (n, N + 1, N + 1) between the atoms of environments with neighbours
    ``vectors`` (n, N, 3) around the centre (atom 0, at the origin), inf on the diagonal,
    without overflow (:func:`vector_lengths`)."""
    vectors = np.asarray(vectors, dtype=float)
    points = np.concatenate([np.zeros_like(vectors[:, :1]), vectors], axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        apart = vector_lengths(points[:, :, None] - points[:, None])
    diagonal = np.arange(points.shape[1])
    apart[:, diagonal, diagonal] = np.inf
    return apart


def closest_atom_distance(neighbors: np.ndarray) -> float:
    """The smallest distance (Å) between two atoms of an environment, the centre (at the
    origin) included, from its neighbour positions ((N, 3) or flat (3N,))."""
    return float(environment_atom_distances(np.reshape(neighbors, (1, -1, 3))).min())


def closest_allowed_distance(start: np.ndarray, min_distance: float) -> float:
    """How close two atoms may come (Å) as a search or an orbit moves the neighbours from
    ``start`` ((N, 3) or flat): ``min_distance``, or half the closest distance at the
    start if that is already closer (two atoms on top of each other give a zero no
    fingerprint can avoid).

    A start that the readers accept (no pair closer than ``min_distance``) thus gives
    frames they accept: half of a start's 0.71 Å let ``singular`` write a frame with two
    atoms 0.47 Å apart, which ``spectrum`` then refused."""
    closest = closest_atom_distance(start)
    return min_distance if closest >= min_distance else closest / 2


def validate_environment(
    atoms: ase.Atoms,
    *,
    spec: EnvironmentSpec | str = CH4,
    cutoff: float = DEFAULT_CUTOFF,
    min_distance: float = DEFAULT_MIN_DISTANCE,
    where: str = "frame 0",
) -> None:
    """Check that ``atoms`` is a valid environment; raise :class:`DegeneracyError` if not.

    Checks, in order: atom count and species (centre first, no dummy atoms X), finite
    coordinates, no two atoms closer than ``min_distance``, every neighbour strictly
    inside ``cutoff`` of the centre. ``where`` (e.g. ``"file.xyz, frame 3"``) starts the
    error message.

    Parameters
    ----------
    atoms : ase.Atoms
        The environment (centre first).
    spec : EnvironmentSpec or str
        What it must contain (or its name: ``"CH4"``, ``"any"``).
    cutoff : float
        Every neighbour must lie strictly closer to the centre than this (Å).
    min_distance : float
        Smallest allowed distance between any two atoms (Å).
    where : str
        Start of the error message.

    Raises
    ------
    DegeneracyError
        At the first failed check, naming the atom (and ``where``); also when ``atoms``
        is not an :class:`ase.Atoms`, ``spec`` is not an environment or its name,
        ``cutoff`` is not a positive number or ``min_distance`` not a number ≥ 0.
    """
    atoms = one_frame(atoms, name="validate_environment")
    spec = environment_spec(spec)
    cutoff = positive_float("cutoff", cutoff)
    min_distance = non_negative_float("min_distance", min_distance)
    symbols = atoms.get_chemical_symbols()
    if spec.n_neighbors is not None and len(symbols) != spec.n_neighbors + 1:
        raise DegeneracyError(
            f"{where}: expected {spec.n_neighbors + 1} atoms ({spec.symbols}), got {len(symbols)}",
            kind=SPEC_MISMATCH,
        )
    if len(symbols) < 2:
        raise DegeneracyError(
            f"{where}: {len(symbols)} atom(s); an environment is a centre and at least one "
            "neighbour"
        )
    if spec.center is not None and symbols[0] != spec.center:
        raise DegeneracyError(
            f"{where}, atom 0: the centre must be {spec.center}, got {symbols[0]}",
            kind=SPEC_MISMATCH,
        )
    for index, symbol in enumerate(symbols[1:], start=1):
        if spec.neighbor is not None and symbol != spec.neighbor:
            raise DegeneracyError(
                f"{where}, atom {index}: expected neighbour {spec.neighbor}, got {symbol}",
                kind=SPEC_MISMATCH,
            )
    check_no_dummy_atoms(atoms, where)
    positions = atoms.positions
    check_finite_coordinates(positions, where)
    with np.errstate(over="ignore"):  # coordinates near 1e308: inf, reported as such
        distances = vector_lengths(positions[:, None] - positions[None])
    distances[np.diag_indices_from(distances)] = np.inf
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    if distances[i, j] < min_distance:
        i, j = sorted((int(i), int(j)))
        raise DegeneracyError(
            f"{where}: atoms {i} and {j} are {text_beside(distances[i, j], min_distance, 4)} "
            "Å apart, "
            f"closer than the minimum distance {min_distance} Å"
        )
    with np.errstate(over="ignore"):
        radii = vector_lengths(positions[1:] - positions[0])
    outside = np.flatnonzero(radii >= cutoff)
    if outside.size:
        index = int(outside[0]) + 1
        raise DegeneracyError(
            f"{where}, atom {index}: {_beyond_cutoff(radii[index - 1], cutoff)}",
            kind=BEYOND_CUTOFF,
        )


def _beyond_cutoff(radius: float, cutoff: float) -> str:
    """ "2.6 Å from the centre, outside the cutoff 2.5 Å"; an atom within 0.05 % of the
    cutoff is given to 10 digits (its 4 digits rounded 1.08966 Å to 1.09, past a cutoff of
    1.08966), and one exactly at it is "at the cutoff"."""
    if radius == cutoff:
        return f"{radius:.10g} Å from the centre, at the cutoff {cutoff} Å (it must be inside)"
    digits = 10 if radius - cutoff < 5e-4 * cutoff else 4
    return f"{radius:.{digits}g} Å from the centre, outside the cutoff {cutoff} Å"


def environment_species(
    frames: Sequence[ase.Atoms], *, where: str = ""
) -> tuple[str, tuple[str, ...]]:
    """The centre species of ``frames`` and their neighbours' species (sorted, no repeats).

    One fingerprint describes one centre species and one run computes one Jacobian shape,
    so every frame must have frame 0's centre species and number of atoms; refused with
    one line naming the first frame that differs (``where``, e.g. the file, starts it).

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first).
    where : str
        Where the frames come from (e.g. the file), to start error messages.

    Returns
    -------
    center : str
        Element symbol of the centres.
    neighbors : tuple of str
        Element symbols of all neighbours, without repeats, sorted by atomic number.

    Raises
    ------
    DegeneracyError
        When ``frames`` is not a list of :class:`ase.Atoms`, is empty, frame 0 has no
        atoms, or a frame has another number of atoms or another centre species than
        frame 0.
    """
    frames = frame_list(frames, name=where)
    if not frames:
        raise DegeneracyError(f"{where or 'frames'}: no environments")
    prefix = f"{where}, " if where else ""
    check_has_centre(frames[0], f"{prefix}frame 0")
    first = frames[0].get_chemical_symbols()
    neighbors = set(first[1:])
    for index, atoms in enumerate(frames[1:], start=1):
        symbols = atoms.get_chemical_symbols()
        if len(symbols) != len(first):
            raise DegeneracyError(
                f"{prefix}frame {index}: {len(symbols)} atoms, but frame 0 has {len(first)}; "
                "environments of one size are analysed together"
            )
        if symbols[0] != first[0]:
            raise DegeneracyError(
                f"{prefix}frame {index}, atom 0: centre {symbols[0]}, but frame 0's is "
                f"{first[0]}; environments of one centre species are analysed together"
            )
        neighbors.update(symbols[1:])
    return first[0], tuple(sorted(neighbors, key=ase.data.atomic_numbers.__getitem__))


def centered(atoms: ase.Atoms) -> ase.Atoms:
    """A copy of ``atoms`` with the centre at the origin, no cell and no periodicity."""
    copy = ase.Atoms(atoms.numbers, positions=atoms.positions - atoms.positions[0], pbc=False)
    copy.info.update(atoms.info)
    return copy


def check_unwrapped(
    atoms: ase.Atoms, *, where: str, cutoff: float | None = None, every_atom: bool = False
) -> None:
    """Refuse a periodic frame in which a neighbour is stored across the cell boundary,
    or (with ``cutoff``) a periodic image of an atom lies within the cutoff of the centre
    (of any atom with ``every_atom``).

    An environment is the centre and its neighbours *as placed*; the cell is dropped
    (:func:`centered`). If a neighbour's periodic image lies closer to the centre than
    the neighbour itself, the file holds a wrapped environment and dropping the cell
    would put that neighbour far away, so it is refused, naming the atom and both
    distances. An image within ``cutoff`` of the centre would be a neighbour the file
    does not list, which dropping the cell would silently ignore: refused too. Frames
    without a periodic axis pass unchecked; a periodic axis without a cell is refused
    (:func:`check_cell`).
    """
    periodic = np.asarray(atoms.pbc, dtype=bool)
    if not periodic.any():
        return
    vectors = atoms.positions[1:] - atoms.positions[0]
    cell = np.asarray(atoms.cell[:], dtype=float)
    if not (np.all(np.isfinite(vectors)) and np.all(np.isfinite(cell))):
        return  # reported by validate_environment (coordinates) or meaningless (cell)
    check_cell(atoms, where)  # a zero-volume cell made find_mic raise LinAlgError
    _, nearest_lengths = find_mic(vectors, cell, periodic)
    lengths = vector_lengths(vectors)
    wrapped = np.flatnonzero(nearest_lengths < lengths - 1e-6)
    if wrapped.size:
        atom = int(wrapped[0]) + 1
        raise DegeneracyError(
            f"{where}, atom {atom}: periodic frame, and this neighbour's image is "
            f"{nearest_lengths[atom - 1]:.4g} Å from the centre where the atom is "
            f"{lengths[atom - 1]:.4g} Å; an environment lists its neighbours as placed "
            "around the centre (unwrap them; cut environments from periodic structures "
            "with `degeneracy scan` or degeneracy.structure_environments)"
        )
    if cutoff is not None:
        check_no_images_within(atoms, cutoff, where=where, every_atom=every_atom)


def check_cell(atoms: ase.Atoms, where: str) -> None:
    """Refuse a non-finite cell, a zero vector or zero volume along a periodic axis (pbc
    without a cell: ase would find every atom's images 0 Å away, or make a 1 Å crystal of
    it), or a lattice thinner than :data:`DEFAULT_MIN_DISTANCE`, naming ``where`` and the
    cell vector.

    The lattice is judged, not the basis it is stored in: a skewed basis (a LAMMPS
    triclinic tilt, a cell sheared during MD) can be thin along a vector of a sound
    lattice, so a cell thinner than the minimum distance is judged again by the heights of
    its Minkowski-reduced basis (:func:`reduced_lattice`; only the periodic vectors, as a
    slab's out-of-plane vector is no period). Either way of passing keeps an atom and its
    own images at least the minimum distance apart (every lattice vector is at least as
    long as the smallest height of any of its bases).
    """
    periodic = np.flatnonzero(atoms.pbc)
    if not periodic.size:
        return
    cell = np.asarray(atoms.cell[:], dtype=float)
    finite = np.isfinite(cell).all(axis=1)
    if not finite.all():
        axis = int(np.argmin(finite))
        raise DegeneracyError(f"{where}: non-finite cell vector {axis} {cell[axis].tolist()}")
    for axis in periodic:
        if not cell[axis].any():
            raise DegeneracyError(
                f"{where}: periodic along axis {axis}, but cell vector {axis} is zero "
                "(pbc without a cell?)"
            )
    heights = cell_heights(cell, periodic)
    if heights.max() == 0:
        axis = int(periodic[0])
        raise DegeneracyError(
            f"{where}: periodic along cell vector {axis} {cell[axis].tolist()}, but the "
            f"cell is 0 Å thick along it (its vectors are coplanar: zero volume), less than "
            f"the minimum distance {DEFAULT_MIN_DISTANCE} Å (pbc without a cell?)"
        )
    if heights[periodic].min() >= DEFAULT_MIN_DISTANCE:
        return
    try:
        reduced, op = reduced_lattice(cell, atoms.pbc)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):  # a near-singular cell
        reduced, op = cell, np.eye(3, dtype=int)
    lattice = lattice_heights(reduced, atoms.pbc)
    if lattice[periodic].min() >= DEFAULT_MIN_DISTANCE:
        return
    k = int(periodic[np.argmin(lattice[periodic])])
    same = np.flatnonzero((np.abs(op[k]) == 1) & (np.count_nonzero(op[k]) == 1))
    if same.size:  # a vector of the basis as stored (the basis may be reduced already)
        axis = int(same[0])
        raise DegeneracyError(
            f"{where}: periodic along cell vector {axis} {cell[axis].tolist()}, but the "
            f"cell is {lattice[k]:.3g} Å thick along it, less than the minimum distance "
            f"{DEFAULT_MIN_DISTANCE} Å (pbc without a cell?)"
        )
    raise DegeneracyError(
        f"{where}: periodic, but its lattice is {lattice[k]:.3g} Å thick along the reduced "
        f"cell vector {_vector_text(reduced[k])} ({_combination(op[k])}), less than the "
        f"minimum distance {DEFAULT_MIN_DISTANCE} Å (pbc without a cell?)"
    )


def _vector_text(vector: np.ndarray) -> str:
    """``"[1.2, 0, 0]"``: a vector to 6 significant digits (no float noise of a sum)."""
    return "[" + ", ".join(f"{float(v):.6g}" for v in vector) + "]"


def _combination(row: np.ndarray) -> str:
    """``"cell vector 1 - 3 × cell vector 0"``: a reduced vector in the stored ones."""
    terms = []
    for axis, factor in enumerate(int(v) for v in row):
        if factor:
            size = "" if abs(factor) == 1 else f"{abs(factor)} × "
            sign = ("- " if factor < 0 else "+ ") if terms else ("-" if factor < 0 else "")
            terms.append(f"{sign}{size}cell vector {axis}")
    return " ".join(terms)


def reduced_lattice(cell: Any, pbc: Any) -> tuple[np.ndarray, np.ndarray]:
    """The Minkowski-reduced basis of ``cell``'s lattice and the integer matrix ``op``
    with ``reduced = op @ cell`` (:func:`ase.geometry.minkowski_reduce`).

    Only the periodic vectors (``pbc``) are reduced; the others are kept. ``op`` is the
    identity for a basis that is reduced already (most cells), and for no periodic axis.
    A lattice vector with integer coordinates ``s`` in the reduced basis has ``s @ op``
    in the stored one. Raises ase's RuntimeError for a (near-)singular cell.
    """
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    cell = np.asarray(cell, dtype=float)
    if not pbc.any():
        return cell, np.eye(3, dtype=int)
    reduced, op = minkowski_reduce(cell, pbc)
    return np.asarray(reduced, dtype=float), np.asarray(op).astype(int)


def lattice_heights(cell: np.ndarray, pbc: Any) -> np.ndarray:
    """Distance between the lattice planes of ``cell`` along each periodic axis, the
    non-periodic vectors left out (0 on those axes): a vector's distance from the span of
    the other periodic vectors, its length when it is the only one."""
    periodic = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    lattice = np.where(periodic[:, None], cell, 0.0)
    heights = cell_heights(lattice, np.flatnonzero(periodic))
    return np.where(periodic, heights, 0.0)


def with_reduced_cell(atoms: ase.Atoms) -> tuple[ase.Atoms, np.ndarray]:
    """``atoms`` (numbers, positions, pbc) with its cell replaced by the Minkowski-reduced
    basis of the same lattice, and ``op`` (:func:`reduced_lattice`); ``atoms`` itself and
    the identity when the basis is reduced already or cannot be reduced.

    ase's neighbour list is right in any basis, but it searches a number of cells that
    grows with the inverse of the basis's heights: 5 s per call for a cell of a sound
    lattice with a 4000 Å tilt, milliseconds in the reduced basis. Image shifts ``S``
    found in the reduced basis are ``S @ op`` in the stored one.
    """
    identity = np.eye(3, dtype=int)
    if not np.any(atoms.pbc):
        return atoms, identity
    try:
        reduced, op = reduced_lattice(atoms.cell[:], atoms.pbc)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return atoms, identity
    if np.array_equal(op, identity):
        return atoms, identity
    copy = ase.Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=reduced, pbc=atoms.pbc)
    return copy, op


def cell_heights(cell: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Distance between the cell's opposite faces along each axis (0 if degenerate).

    Zero vectors on non-periodic axes are completed as ase's neighbour list does; a zero
    vector on a periodic axis (indices ``periodic``) is kept, so that its height is 0.
    """
    filled = complete_cell(cell)
    filled[periodic] = cell[periodic]
    volume = abs(np.linalg.det(filled))
    areas = np.linalg.norm(np.cross(filled[[1, 2, 0]], filled[[2, 0, 1]]), axis=1)
    heights = np.zeros(3)
    np.divide(volume, areas, out=heights, where=areas > 0)
    return heights


def check_no_images_within(
    atoms: ase.Atoms, cutoff: float, *, where: str, every_atom: bool = False
) -> None:
    """Refuse a periodic frame with an atom's image (another cell) within ``cutoff`` of
    the centre (of any atom with ``every_atom``), naming the atoms and the distance."""
    searched, op = with_reduced_cell(atoms)  # fast in a skewed basis too
    try:
        first, second, shifts, distances = neighbor_list("ijSd", searched, cutoff)
    except (ValueError, RuntimeError, ZeroDivisionError, np.linalg.LinAlgError):
        return  # a degenerate cell: nothing periodic to speak of
    shifts = shifts @ op  # in the file's cell vectors
    of_centre = np.ones(len(first), dtype=bool) if every_atom else first == 0
    images = np.flatnonzero(of_centre & np.any(shifts != 0, axis=1))
    if images.size:
        nearest = images[np.argmin(distances[images])]
        if first[nearest] != 0:
            raise DegeneracyError(
                f"{where}, atom {int(second[nearest])}: periodic frame, and this atom's image "
                f"{tuple(int(v) for v in shifts[nearest])} cells away is "
                f"{distances[nearest]:.4g} Å from atom {int(first[nearest])}, inside the "
                f"cutoff {cutoff:g} Å of that atom's environment (the model centres one on "
                "every atom): a neighbour the frame does not list (drop the cell, or cut "
                "the structure to an isolated molecule)"
            )
        raise DegeneracyError(
            f"{where}, atom {int(second[nearest])}: periodic frame, and this atom's image "
            f"{tuple(int(v) for v in shifts[nearest])} cells away is {distances[nearest]:.4g} "
            f"Å from the centre, inside the cutoff {cutoff:g} Å: a neighbour the frame does "
            "not list (cut environments from periodic structures with `degeneracy scan` or "
            "degeneracy.structure_environments, or drop the cell)"
        )


def read_error_reason(error: BaseException) -> str:
    """One line on why ase could not read a structure file.

    ase's own texts are kept where they say something; four that do not are reworded:
    an unknown file type (``txt``), an empty file, an unknown element symbol or column (a
    bare ``'Xx'`` from a KeyError) and an error without text (its type).
    """
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    if isinstance(error, UnknownFileTypeError):
        if text.startswith("Empty file"):
            return "an empty file"
        if " " in text:  # a sentence (the file is not what its name says), not a type name
            return text
        return f"ase knows no structure format {text!r}; name the file .xyz or .extxyz"
    if isinstance(error, KeyError) and error.args:
        return f"no element or column named {error.args[0]!r}"
    return text or type(error).__name__


#: Errors that come from inside an ase reader given a file not in its format (e.g. the
#: gamess-us-punch reader, ase's guess for ``.dat``: "'NoneType' object has no attribute
#: 'copy'"; the cif reader: a bare AssertionError): their text says nothing to the user.
_READER_INTERNAL_ERRORS = (
    AssertionError,
    AttributeError,
    IndexError,
    NameError,
    StopIteration,
    TypeError,
    ZeroDivisionError,
)


def guessed_read_format(
    path: str | os.PathLike, read_format: str | None = None
) -> tuple[str | None, str]:
    """The ase format a structure file is read as, and how it was chosen.

    ``(read_format, "as given")`` when given; else what :func:`ase.io.read` uses
    (:func:`ase.io.formats.filetype`) with ``"from its name"`` when the name alone gives it
    (its suffix or a known file name), ``"from its content"`` otherwise; ``(None, "")``
    when ase cannot tell (an empty file).
    """
    if read_format is not None:
        return read_format, "as given"
    path = os.fspath(path)
    try:
        fmt = filetype(path, read=True)
    except Exception:  # an empty or unreadable file: ase says why when it reads it
        return None, ""
    try:
        by_name = filetype(path, read=False)
    except Exception:  # no suffix
        by_name = None
    return fmt, "from its name" if by_name == fmt else "from its content"


def _read_as(
    path: str | os.PathLike, read_format: str | None, option: str | None
) -> tuple[str | None, str]:
    """:func:`guessed_read_format`; a format given by ``option`` is said to be so (``"as
    --read-format asks"``)."""
    fmt, how = guessed_read_format(path, read_format)
    if read_format is not None and option:
        how = f"as {option} asks"
    return fmt, how


def _xyz_advice(fmt: str, read_format: str | None, option: str | None) -> str:
    """``"; if it is an XYZ file, name it .xyz or .extxyz"`` for a file read in another
    format by its name (``option``: the command's read-format option, also named)."""
    if read_format is not None or fmt in XYZ_FORMATS:
        return ""
    alternative = f", or give {option} extxyz" if option else ""
    return f"; if it is an (extended) XYZ file, name it .xyz or .extxyz{alternative}"


def read_failure(
    path: str | os.PathLike,
    error: BaseException,
    *,
    read_format: str | None = None,
    option: str | None = None,
    what: str = "cannot read structures",
    frame: int | None = None,
) -> str:
    """One line on why ase could not read the structure file ``path``.

    ``frame``, where known, is the frame ase failed at, named before its reason.

    ``"PATH: WHAT: read as FORMAT (from its name), not a valid FORMAT file (REASON); if it
    is an (extended) XYZ file, name it .xyz or .extxyz"``: the ase format the file was
    read as and how ase chose it (:func:`guessed_read_format`), ase's reason
    (:func:`read_error_reason`; for an error from inside ase's reader, which says nothing,
    its type) and, unless the file was read as (ext)xyz or in the format asked
    (``read_format``), the fix for an XYZ file given another name (``option``: the
    command's read-format option, e.g. ``"--read-format"``, named too). Where ase could not
    choose a format (an empty file, an unknown suffix), or read an (ext)XYZ file by its
    name: ``"PATH: WHAT (REASON)"``.
    """
    reason = read_error_reason(error)
    if frame is not None:
        reason = f"frame {frame}: {reason}"
    fmt, how = _read_as(path, read_format, option)
    if fmt is None or fmt not in ioformats or (fmt in XYZ_FORMATS and read_format is None):
        # (an XYZ file read as one: that it is not a valid XYZ file goes without saying)
        if isinstance(error, UnknownFileTypeError) and option and "; name the file" in reason:
            reason += f", or give {option} FORMAT"
        return f"{path}: {what} ({reason})"
    if isinstance(error, _READER_INTERNAL_ERRORS):
        reason = f"ase's reader stopped with {type(error).__name__}"
    reason = reason.rstrip(".")
    return (
        f"{path}: {what}: read as {fmt} ({how}), not a valid {fmt} file ({reason})"
        + _xyz_advice(fmt, read_format, option)
    )


def holds_nothing(
    path: str | os.PathLike,
    frames: Sequence[ase.Atoms],
    *,
    read_format: str | None = None,
    option: str | None = None,
) -> str | None:
    """Why ``frames``, all that ase read from ``path``, hold nothing to work on, or None.

    ase reads some files in a format they are not in as no frames or frames without
    atoms (an XYZ file named ``.pdb``): ``"PATH: read as FORMAT (from its name), it holds
    no atoms; if it is ..."``, rather than a wrong atom count in its first frame.
    """
    if frames and any(len(atoms) for atoms in frames):
        return None
    fmt, how = _read_as(path, read_format, option)
    held = "no structures" if not frames else "no atoms"
    if fmt is None:
        return f"{path}: it holds {held}"
    return f"{path}: read as {fmt} ({how}), it holds {held}" + _xyz_advice(fmt, read_format, option)


#: Formats whose files :func:`check_xyz_atom_counts` scans (ase indexes them line by line).
XYZ_FORMATS = ("xyz", "extxyz")


def check_xyz_atom_counts(path: str | os.PathLike, read_format: str | None = None) -> None:
    """Refuse an (ext)xyz file with a frame that declares more atoms than the file holds.

    ase's extxyz reader indexes a file by skipping each frame's declared atom count one
    line at a time, even past the end: a 20-byte file declaring 99999999999 atoms kept
    it busy for hours. The same scan here (C-speed skipping) stops at the first count
    larger than the lines left. It reads what ase reads as (ext)xyz: by ``read_format``,
    else as :func:`guessed_read_format` (the name, or the content of a file without a
    suffix), compressed files decompressed (a ``.xyz.gz`` or a file without a suffix
    declaring 99999999999 atoms hung). A frame's count that does not match its atom lines
    shows as a header that is not a number where the next frame's should be: refused,
    naming that line and frame. A first header that is not a number (perhaps not an xyz
    file at all) and negative counts are left to ase, which names them.

    ase also stops reading at a blank line where a frame's header should be, and reports
    the frames before it as the whole file: a blank line between two frames (a file
    written by hand, or concatenated) silently dropped every frame after it. One followed
    by more content is refused here, naming its line; blank lines at the end are fine.

    A pipe or device is refused first (:func:`check_regular_file`): every reader of a
    structure file goes through here.
    """
    path = os.fspath(path)
    check_regular_file(path)
    fmt = guessed_read_format(path, read_format)[0]
    if fmt not in XYZ_FORMATS:
        return
    total = _line_count(path)
    with open_with_compression(path, "rb") as handle:
        consumed, frame, previous = 0, 0, 0
        for header in handle:
            if header.lstrip().startswith(b"VEC"):  # extxyz lattice lines after the atoms
                consumed += 1
                continue
            if not header.strip():
                if any(line.strip() for line in handle):
                    raise DegeneracyError(
                        f"{path}: line {consumed + 1} is blank, "
                        f"{f'after frame {frame - 1}' if frame else 'before the first frame'}, "
                        "and more follows: ase stops reading at a blank line, so the frames "
                        "after it would be dropped without a word; remove it"
                    )
                return
            try:
                natoms = int(header)
            except ValueError:
                if frame == 0:  # not an xyz file at all, perhaps: ase names it
                    return
                text = header.decode(errors="replace").strip()
                raise DegeneracyError(
                    f"{path}: cannot read structures (line {consumed + 1}, where frame "
                    f"{frame}'s atom count would be, reads {text[:40]!r}: frame "
                    f"{frame - 1} declares {previous} atoms, which do not match its atom lines)"
                ) from None
            if natoms < 0:  # ase names it
                return
            previous = natoms
            left = max(total - consumed - 2, 0)
            if natoms > left:
                raise DegeneracyError(
                    f"{path}: cannot read structures (frame {frame} declares {natoms} atoms, "
                    f"but only {_lines_follow(left)} its comment line: a damaged or "
                    "truncated file)"
                )
            skipped = sum(1 for _ in itertools.islice(handle, natoms + 1))
            consumed += 1 + skipped
            frame += 1


def check_regular_file(path: str | os.PathLike) -> None:
    """Refuse a structure file that is a pipe (``/dev/stdin`` fed by ``cat``, ``<(...)``),
    a socket or a device, in one line (:func:`degeneracy.checks.check_not_a_stream`).

    A structure file is read more than once: ase reads its start to tell its format, then
    opens it again to read its frames, and the checks here and the error messages read it
    too. A pipe gives its content to the first reader only, so the file seemed to hold no
    structures. ``/dev/stdin`` redirected from a file (``< file``) is that file, and is
    read.
    """
    checks.check_not_a_stream(
        path,
        "structures",
        " (it is read more than once: its start to tell its format, then its frames)",
    )


def _lines_follow(count: int) -> str:
    """``"1 line follows"`` or ``"n lines follow"``."""
    return "1 line follows" if count == 1 else f"{count} lines follow"


def _failing_xyz_frame(path: str | os.PathLike, error: BaseException) -> int | None:
    """The frame of an (ext)xyz file at which ase's reader fails with ``error``'s kind of
    error, found by reading the frames one by one (only on failure: the file is read
    again up to that frame); None for another format or where the frames cannot be told
    apart (ase's index of the file fails before the first frame is parsed).

    ase's own messages name no frame: "could not convert string to float: 'abc'" left a
    user to search a large file for the line.
    """
    if guessed_read_format(path)[0] not in XYZ_FORMATS or isinstance(error, XYZError):
        return None
    count = 0
    try:
        for _ in ase.io.iread(path, index=":"):
            count += 1
    except type(error):
        return count
    except Exception:  # another failure: no frame to name for this one
        return None
    return None


def _line_count(path: str) -> int:
    """Lines of the file ``path`` (decompressed, as ase reads it), a last line without its
    newline (a cut file) included."""
    count, last = 0, b""
    with open_with_compression(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count, last = count + block.count(b"\n"), block
    return count + int(bool(last) and not last.endswith(b"\n"))


def first_frame(path: str | os.PathLike) -> ase.Atoms:
    """The first frame of a structure file, as ase reads it: positions as stored, no
    environment checks and no units (for a file the package wrote itself, in Å, whose
    positions are all that is wanted, e.g. a family's ``a0.extxyz`` for Fig. 1).

    Raises
    ------
    DegeneracyError
        When ``path`` is missing or ase cannot read it.
    """
    path = existing_file(path, "structure file")
    check_xyz_atom_counts(path)  # ase's index of an (ext)xyz file could hang on a bad count
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as error:  # ase raises many types for unreadable files
        raise DegeneracyError(read_failure(path, error)) from error
    empty = holds_nothing(path, [atoms])
    if empty is not None:
        raise DegeneracyError(empty)
    return atoms


def read_environments(
    path: str | os.PathLike,
    *,
    units: str = "angstrom",
    index: str | int = ":",
    spec: EnvironmentSpec | str = CH4,
    cutoff: float = DEFAULT_CUTOFF,
    min_distance: float = DEFAULT_MIN_DISTANCE,
    images_cutoff: float | None = None,
    images_of_every_atom: bool = False,
    check_bonds: bool = True,
) -> list[ase.Atoms]:
    """Read and validate environments from any file :func:`ase.io.read` understands.

    Parameters
    ----------
    path : path-like
        Structure file (extxyz, xyz, ...), format guessed by ase from the name.
    units : {"angstrom", "bohr"}
        Length unit of the file's positions; converted to Å.
    index : str, int or slice
        Frame selection as ase writes it (``":"`` all, ``3``, ``-1``, ``"1:"``, ``"::2"``,
        or ``slice(1, None)``);
        only the selected frames are checked, and they keep their numbers in the file.
    spec, cutoff, min_distance
        Passed to :func:`validate_environment` for every frame.
    images_cutoff : float, optional
        The radius (Å) within which a periodic frame may hold no periodic image of an
        atom (:func:`check_unwrapped`); default, and at least, ``cutoff``. Frames read
        for several fingerprints within the smallest of their cutoffs (every neighbour
        inside each of them) give the largest here: an image inside any of them would be
        a neighbour that fingerprint misses once the cell is dropped.
    images_of_every_atom : bool
        Refuse a periodic image within ``images_cutoff`` of *any* atom, not only of the
        centre: for a model with every atom as a centre (the multi-centre model), whose
        H-centred environments would miss such an image once the cell is dropped.
    check_bonds : bool
        Warn when the bonds say the file is in the other units
        (:func:`warn_if_bonds_implausible`); False for a file the package wrote itself
        (an orbit, a cached one), in Å by construction, whose bonds are those of the
        structures it was made from, warned about (if at all) where they were read.

    Returns
    -------
    list of ase.Atoms
        Centred copies (centre at the origin), positions in Å; ``info`` keeps the file's
        per-frame metadata plus ``source_frame``.

    Raises
    ------
    DegeneracyError
        For unknown ``units``, a ``cutoff`` that is not a positive number, a
        ``min_distance`` that is not a number ≥ 0, an ``index`` that is not a frame
        number or slice (a bool too) or selects no frame, a missing or unreadable file,
        or a frame refused by :func:`validate_environment` (naming it).
    """
    images_of_every_atom = true_or_false("images_of_every_atom", images_of_every_atom)
    check_bonds = true_or_false("check_bonds", check_bonds)
    check_units(units)
    spec = environment_spec(spec)  # a name parsed once, not for every frame
    radius = positive_float("cutoff", cutoff)  # before the file: not "outside cutoff -1 Å"
    if images_cutoff is not None:  # never less than the cutoff: its images are neighbours
        radius = max(radius, positive_float("images_cutoff", images_cutoff))
    non_negative_float("min_distance", min_distance)
    path = existing_file(path, "structure file")
    check_xyz_atom_counts(path)
    if isinstance(index, bool | np.bool_):  # operator.index(True) is frame 1
        raise DegeneracyError(f"index {index!r}: not a frame number or slice")
    try:
        if isinstance(index, slice):  # as string2index makes of "0:2"
            selection = slice(
                *(
                    None if v is None else operator.index(v)
                    for v in (index.start, index.stop, index.step)
                )
            )
        else:
            selection = string2index(index) if isinstance(index, str) else operator.index(index)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"index {index!r}: not a frame number or slice") from error
    if not isinstance(selection, (int, slice)):  # string2index passes other text through
        raise DegeneracyError(f"index {index!r}: not a frame number or slice")
    if isinstance(selection, slice) and selection.step == 0:
        raise DegeneracyError(f"index {index!r}: a slice's step cannot be zero")
    try:  # every frame, so that a selection keeps the frames' numbers in the file
        frames = ase.io.read(path, index=":")
    except Exception as error:  # ase raises many types for unreadable files
        frame = _failing_xyz_frame(path, error)
        raise DegeneracyError(read_failure(path, error, frame=frame)) from error
    empty = holds_nothing(path, frames)
    if empty is not None:  # e.g. an XYZ file named .pdb: not "frame 0: got 0 atoms"
        raise DegeneracyError(empty)
    numbers = range(len(frames))
    try:
        numbers = [numbers[selection]] if isinstance(selection, int) else numbers[selection]
    except IndexError as error:
        raise DegeneracyError(f"{path}: no frame {index} (it has {len(frames)})") from error
    if not numbers:
        raise DegeneracyError(f"{path}: index {index!r} selects none of its {len(frames)} frames")
    environments = []
    for number in numbers:
        atoms = in_angstrom(frames[number], units)
        try:  # a periodic image inside the cutoff, too, may be a file in the other units
            check_unwrapped(
                atoms,
                where=f"{path}, frame {number}",
                cutoff=radius,
                every_atom=images_of_every_atom,
            )
            validate_environment(
                atoms,
                spec=spec,
                cutoff=cutoff,
                min_distance=min_distance,
                where=f"{path}, frame {number}",
            )
        except DegeneracyError as error:  # "outside the cutoff" from a file in bohr
            hint = other_units_hint([atoms], units)
            if not hint:
                raise
            if error.kind == BEYOND_CUTOFF:  # or unbonded neighbours (O–O 2.8 Å)
                hint = f"a larger cutoff, or {hint}"
            raise DegeneracyError(f"{error}; {hint}", kind=error.kind) from error
        environment = centered(atoms)
        environment.info["source_frame"] = number
        environments.append(environment)
    if check_bonds:
        warn_if_bonds_implausible(environments, path, units)
    return environments


#: Range of the median ratio of a centre's nearest-neighbour distance to the sum of the
#: two atoms' covalent radii (:data:`ase.data.covalent_radii`) outside which a file is
#: likely in other units. Bonded neighbours sit at 0.85–1.15× (C–H 1.09 Å: 1.02×; Si–O,
#: Na–Cl, metals); a file in bohr read as Å puts them at ≥ 1.6×, one in Å read as bohr at
#: ≤ 0.61×. For CH4 the range is C–H 0.80–1.61 Å (P&G's data: 0.90–1.47 Å).
PLAUSIBLE_BOND_RATIO = (0.75, 1.5)


@dataclass(frozen=True)
class BondSurvey:
    """The centres' nearest bonds over some environments (:func:`survey_bonds`)."""

    #: Median over environments of the nearest-neighbour distance over the sum of the
    #: two atoms' covalent radii.
    median_ratio: float
    #: Median nearest-neighbour distance (Å) and the pair's species ("C–H") when every
    #: environment's nearest pair is of the same species, else None and "".
    median_distance: float | None
    pair: str

    def other_units(self, units: str) -> str | None:
        """The other unit of :data:`UNITS` when :attr:`median_ratio` lies outside
        :data:`PLAUSIBLE_BOND_RATIO` in ``units`` and inside it in the other unit (a file
        in bohr read as Å, or the reverse), else None: bonds too short in Å are not a file
        in bohr."""
        low, high = PLAUSIBLE_BOND_RATIO
        if low <= self.median_ratio <= high:
            return None
        other = "bohr" if units == "angstrom" else "angstrom"
        converted = self.median_ratio * UNITS[other] / UNITS[units]
        return other if low <= converted <= high else None


def survey_bonds(environments: Sequence[ase.Atoms]) -> BondSurvey | None:
    r"""Each environment's (centre first) nearest neighbour, its distance over the sum of
    the two atoms' covalent radii, summarised by the median:

    .. math:: q = \frac{\min_j |\mathbf r_j - \mathbf r_0|}{R_{Z_0} + R_{Z_j}}

    with :math:`R` ase's covalent radii (Cordero et al., Dalton Trans. 2008). Environments
    without neighbours, or with coordinates too large to measure, are left out, and so
    are dummy atoms X (ase's placeholder radius 0.2 Å asked "is the file in bohr?" of a
    file whose C–H bonds were fine); None when none is left.
    """
    distances, centres, nearest_numbers = [], [], []
    for atoms in environments:
        if len(atoms) < 2:
            continue
        with np.errstate(over="ignore", invalid="ignore"):  # a refused frame's 1e300
            lengths = vector_lengths(atoms.positions[1:] - atoms.positions[0])
        if not np.isfinite(lengths).all():
            continue
        lengths[atoms.numbers[1:] == 0] = np.inf  # a dummy atom X has no covalent radius
        if atoms.numbers[0] == 0 or not np.isfinite(lengths).any():
            continue
        nearest = int(np.argmin(lengths))
        distances.append(lengths[nearest])
        centres.append(atoms.numbers[0])
        nearest_numbers.append(atoms.numbers[nearest + 1])
    return _bond_survey(np.asarray(distances), np.asarray(centres), np.asarray(nearest_numbers))


#: Structures (and atoms) :func:`survey_structure_bonds` looks at: the first ones of a
#: data set tell its units, and a neighbour list of a few thousand atoms takes ~10 ms.
SURVEY_STRUCTURES = 10
SURVEY_ATOMS = 2000


def survey_structure_bonds(structures: Sequence[ase.Atoms]) -> BondSurvey | None:
    r""":func:`survey_bonds` for whole structures: every atom's nearest neighbour, periodic
    images included, in the first :data:`SURVEY_STRUCTURES` structures (until
    :data:`SURVEY_ATOMS` atoms are seen).

    An atom without a neighbour within the plausible range in either unit
    (:func:`nearest_neighbours`) is left out.
    """
    distances, centres, nearest_numbers = [], [], []
    seen = 0
    for atoms in itertools.islice(structures, SURVEY_STRUCTURES):
        if seen >= SURVEY_ATOMS:
            break
        seen += len(atoms)
        if len(atoms) < 2 and not atoms.pbc.any():
            continue
        found = nearest_neighbours(atoms)
        if found is not None:
            distances.append(found[2])
            centres.append(atoms.numbers[found[0]])
            nearest_numbers.append(atoms.numbers[found[1]])
    if not distances:
        return None
    return _bond_survey(*(np.concatenate(x) for x in (distances, centres, nearest_numbers)))


def nearest_neighbours(atoms: ase.Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(atom, its nearest neighbour, their distance)`` for every atom of a structure
    with a neighbour (periodic images included) within twice the largest covalent radius
    times the top of :data:`PLAUSIBLE_BOND_RATIO` in either unit; None when none has one.

    First within the top in Å, which finds every atom's nearest neighbour in a structure
    in Å (a 2000-atom Si cell: 0.1 s), and only if some atom has none, within the top in
    bohr (1.7 s: ase's neighbour list grows with the cube of the reach).
    """
    if not np.isfinite(atoms.positions).all():
        return None  # the structure checks name the atom
    if not atoms.pbc.any():
        # the cell plays no part, as for the fingerprints (check_cell ignores it): ase's
        # neighbour list still inverts it, and a stored cell of inf spun in LAPACK
        # beyond Ctrl-C's reach, one of NaN raised "SVD did not converge"
        atoms = ase.Atoms(numbers=atoms.numbers, positions=atoms.positions)
    elif not np.isfinite(atoms.cell[:]).all():
        return None  # check_cell names the cell vector
    top = 2 * PLAUSIBLE_BOND_RATIO[1] * ase.data.covalent_radii[atoms.numbers].max()
    slip = max(UNITS.values()) / min(UNITS.values())  # Å per bohr
    for reach in (top, top * slip):
        first, second, lengths = neighbor_list("ijd", atoms, reach)
        if len(np.unique(first)) == len(atoms):
            break
    if not len(first):
        return None
    order = np.lexsort((lengths, first))  # by atom, then distance
    first, second, lengths = first[order], second[order], lengths[order]
    nearest = np.flatnonzero(np.r_[True, first[1:] != first[:-1]])
    return first[nearest], second[nearest], lengths[nearest]


def _bond_survey(
    distances: np.ndarray, centres: np.ndarray, nearest: np.ndarray
) -> BondSurvey | None:
    """The :class:`BondSurvey` of nearest-neighbour ``distances`` (Å) between atoms of
    atomic numbers ``centres`` and ``nearest``; None when there are none."""
    if not len(distances):
        return None
    radii = ase.data.covalent_radii[centres] + ase.data.covalent_radii[nearest]
    symbols = ase.data.chemical_symbols
    kinds = {frozenset((a, b)) for a, b in zip(centres, nearest, strict=True)}
    # one kind of pair (C–H from the centre C or the centre H): named as the first is
    pair = f"{symbols[centres[0]]}–{symbols[nearest[0]]}" if len(kinds) == 1 else ""
    return BondSurvey(
        median_ratio=float(np.median(distances / radii)),
        median_distance=float(np.median(distances)) if pair else None,
        pair=pair,
    )


def other_units_hint(environments: Sequence[ase.Atoms], units: str) -> str:
    """'is the file in bohr? (units="bohr")' (``--units bohr`` on the command line)
    when the environments' bonds say so (:meth:`BondSurvey.other_units`), else ""."""
    survey = survey_bonds(environments)
    other = None if survey is None else survey.other_units(units)
    return "" if other is None else _units_question(other)


def structure_units_hint(structure: ase.Atoms, units: str) -> str:
    """:func:`other_units_hint` for a whole structure (:func:`survey_structure_bonds`)."""
    survey = survey_structure_bonds([structure])
    other = None if survey is None else survey.other_units(units)
    return "" if other is None else _units_question(other)


def _units_question(other: str) -> str:
    return f'is the file in {other}? (units="{other}")'


def warn_if_bonds_implausible(
    environments: Sequence[ase.Atoms], path: str | os.PathLike, units: str
) -> None:
    """Warn (:class:`DegeneracyWarning`) with :func:`bond_units_note` of the environments
    (:func:`survey_bonds`) when there is one."""
    note = bond_units_note(survey_bonds(environments), path, units)
    if note is not None:
        warnings.warn(note, DegeneracyWarning, stacklevel=3)


def bond_units_note(survey: BondSurvey | None, label: str | os.PathLike, units: str) -> str | None:
    """ "label: median C–H distance 2.06 Å with units angstrom, 1.9× the sum of the two
    atoms' covalent radii (bonded atoms: about 1×); is the file in bohr? (units="bohr")"
    when the surveyed bonds are implausible in ``units`` and plausible in the other
    (:meth:`BondSurvey.other_units`), else None. The distance itself is named when every
    nearest pair is of the same species."""
    other = None if survey is None else survey.other_units(units)
    if other is None:
        return None
    if survey.pair:
        what = f"median {survey.pair} distance {survey.median_distance:.3g} Å"
    else:
        what = "median distance from the atoms to their nearest neighbours"
    # long distances are also what unbonded nearest neighbours give (fcc Ar 3.7 Å, an
    # ice-like O–O shell 2.8 Å: 2.1× the radii), where the units are right
    unless = "unless the nearest neighbours are not bonded (a noble gas, water's O–O), "
    return (
        f"{label}: {what} with units {units}, {survey.median_ratio:.2g}× the sum of the two "
        f"atoms' covalent radii (bonded atoms: about 1×); "
        f"{unless if other == 'bohr' else ''}{_units_question(other)}"
    )


def check_units(units: str) -> None:
    """Refuse a length unit other than those of :data:`UNITS`."""
    if units not in UNITS:
        raise DegeneracyError(f"unknown units {units!r}; choose one of {sorted(UNITS)}")


def in_angstrom(atoms: ase.Atoms, units: str) -> ase.Atoms:
    """A copy of ``atoms`` with positions *and cell* converted from ``units`` to Å (a cell
    left in bohr would put periodic images 1.89× too far away), and the ``arc_length``
    that orbit files record beside the positions, in their units (:func:`recorded_arc_lengths`;
    `compare --plot` drew a bohr orbit's arc under "Å")."""
    factor = UNITS[units]
    atoms = atoms.copy()
    if factor != 1.0:
        atoms.set_cell(atoms.cell[:] * factor, scale_atoms=False)
        atoms.positions = atoms.positions * factor
        arc = atoms.info.get("arc_length")
        if isinstance(arc, (int, float, np.number)) and not isinstance(arc, bool):
            atoms.info["arc_length"] = float(arc) * factor
    return atoms


def write_environments(path: str | os.PathLike, frames: Sequence[ase.Atoms]) -> None:
    """Write frames as extended XYZ atomically (a failure leaves no partial file).

    Parameters
    ----------
    path : path-like
        The file to write (replaced if it exists), named ``.extxyz`` or ``.xyz``
        (:data:`~degeneracy.files.EXTXYZ_SUFFIXES`, any case): the names
        :func:`read_environments` reads back as extended XYZ. Its folder must exist.
    frames : list of ase.Atoms
        The environments, ``info`` included.

    Raises
    ------
    DegeneracyError
        When ``frames`` is not a list of :class:`ase.Atoms`, ``path`` is not a file name
        or has another suffix (extended XYZ under a ``.cif`` name would be read back as
        CIF, or not at all), its folder is missing or not writable, it is a folder, or it
        cannot be written; nothing is written then.
    """
    frames = frame_list(frames, name="write_environments")
    target = output_file(path, "output file", suffixes=EXTXYZ_SUFFIXES)
    with atomic_path(target) as tmp:
        ase.io.write(tmp, frames, format="extxyz")


def spherical_point(beta_deg: float, alpha_deg: float, radius: float = CH_BOND) -> np.ndarray:
    r"""Point at elevation :math:`\beta` and azimuth :math:`\alpha` (degrees).

    .. math:: h(\beta, \alpha) = r\,(\cos\beta\cos\alpha,\ \cos\beta\sin\alpha,\ \sin\beta)

    Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020), CH4 example.

    Parameters
    ----------
    beta_deg : float
        Elevation :math:`\beta` above the xy plane (degrees).
    alpha_deg : float
        Azimuth :math:`\alpha` from the x axis (degrees).
    radius : float
        Distance :math:`r` from the origin (Å); the C–H bond 1.09 Å by default.

    Returns
    -------
    numpy.ndarray of shape (3,)
        Cartesian coordinates (Å).

    Raises
    ------
    DegeneracyError
        When an angle is not a finite number or ``radius`` not a positive number.
    """
    beta, alpha = (
        np.radians(finite_float("beta", beta_deg, "angle (degrees)")),
        np.radians(finite_float("alpha", alpha_deg, "angle (degrees)")),
    )
    radius = positive_float("radius", radius)
    return radius * np.array(
        [np.cos(beta) * np.cos(alpha), np.cos(beta) * np.sin(alpha), np.sin(beta)]
    )


def prl2020_methane(beta_deg: float, alpha_deg: float, radius: float = CH_BOND) -> ase.Atoms:
    r"""The PRL 2020 CH4 construction with H4 at :math:`h(\beta, \alpha)`.

    H1 = h(67.5°, 180°), H2 = h(−30°, −36°), H3 = h(30°, 36°), all C–H = ``radius``.

    Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020) (:func:`spherical_point`).

    Parameters
    ----------
    beta_deg, alpha_deg : float
        Elevation and azimuth of H4 (degrees).
    radius : float
        C–H distance (Å) of all four H.

    Returns
    -------
    ase.Atoms
        CH4, C at the origin, then H1–H4.

    Raises
    ------
    DegeneracyError
        When an angle is not a finite number or ``radius`` not a positive number
        (:func:`spherical_point`).
    """
    neighbors = [
        spherical_point(67.5, 180.0, radius),
        spherical_point(-30.0, -36.0, radius),
        spherical_point(30.0, 36.0, radius),
        spherical_point(beta_deg, alpha_deg, radius),
    ]
    return environment_from_neighbors(np.array(neighbors))


def regular_tetrahedron(radius: float = CH_BOND) -> ase.Atoms:
    """Regular tetrahedral CH4 with C–H distance ``radius`` (Å).

    Parameters
    ----------
    radius : float
        C–H distance (Å).

    Returns
    -------
    ase.Atoms
        CH4, C at the origin and the H along (1, 1, 1), (1, −1, −1), (−1, 1, −1) and
        (−1, −1, 1).

    Raises
    ------
    DegeneracyError
        When ``radius`` is not a positive number.
    """
    radius = positive_float("radius", radius)
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    return environment_from_neighbors(corners / np.sqrt(3.0) * radius)


def _pg_start() -> ase.Atoms:
    # Parsaeifard & Goedecker's start structure is, to 3e-5 Å, the PRL 2020 member with
    # H4 at beta = 4.5 deg, alpha = 130.5 deg (DESIGN.md §2).
    return prl2020_methane(4.5, 130.5)


BUILTINS = {
    "pg-start": (
        _pg_start,
        "Parsaeifard & Goedecker's start structure (PRL 2020 CH4, H4 at β=4.5°, α=130.5°)",
    ),
    "td": (regular_tetrahedron, "regular tetrahedral CH4, C–H 1.09 Å"),
}


def builtin_environment(name: str) -> ase.Atoms:
    """A built-in environment by name (see :data:`BUILTINS`).

    Parameters
    ----------
    name : {"pg-start", "td"}
        Parsaeifard & Goedecker's start structure or the regular tetrahedron.

    Returns
    -------
    ase.Atoms
        A new CH4 environment with ``info["builtin"] = name``.

    Raises
    ------
    DegeneracyError
        For an unknown ``name``.
    """
    if not isinstance(name, str) or name not in BUILTINS:
        raise DegeneracyError(
            f"unknown builtin structure {name!r}; choose one of {sorted(BUILTINS)}"
        )
    atoms = BUILTINS[name][0]()
    atoms.info["builtin"] = name
    return atoms


@dataclass(frozen=True, kw_only=True)
class MethaneSampler:
    r"""Random CH4 environments matching the ranges of Parsaeifard & Goedecker's data.

    C at the origin; each C–H distance uniform in ``[r_min, r_max]`` (0.90–1.47 Å), each
    H direction uniform on the sphere. A structure is kept only if every H–C–H angle
    lies in ``[angle_min, angle_max]`` (47°–175°) and every H–H distance is at least
    ``hh_min`` (0.7 Å, about the shortest H–H distance the angle and radius ranges allow:
    :math:`2 r_\min \sin(47°/2) = 0.72` Å). Rejection sampling, reproducible by ``seed``.
    The limits are keyword-only: ``MethaneSampler(r_min=0.95)``.
    """

    r_min: float = 0.90
    r_max: float = 1.47
    angle_min: float = 47.0
    angle_max: float = 175.0
    hh_min: float = 0.7

    def __post_init__(self) -> None:
        check_sampler_ranges(self)

    def neighbors(self, n: int, *, seed: int) -> np.ndarray:
        """Neighbour positions of ``n`` accepted structures, shape (n, 4, 3)."""
        n = structure_count(n)
        rng = seeded_generator(seed)
        accepted: list[np.ndarray] = [np.empty((0, 4, 3))]

        def total() -> int:
            return sum(len(block) for block in accepted)

        pairs = np.triu_indices(4, k=1)
        cos_lo, cos_hi = np.cos(np.radians(self.angle_max)), np.cos(np.radians(self.angle_min))
        for _ in rejection_rounds(self, n, total):
            batch = max(64, 2 * (n - total()))
            directions = rng.normal(size=(batch, 4, 3))
            directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
            radii = rng.uniform(self.r_min, self.r_max, size=(batch, 4, 1))
            positions = directions * radii
            cosines = np.einsum("bid,bjd->bij", directions, directions)[:, pairs[0], pairs[1]]
            separation = np.linalg.norm(positions[:, pairs[0]] - positions[:, pairs[1]], axis=-1)
            keep = ((cosines >= cos_lo) & (cosines <= cos_hi)).all(axis=1) & (
                separation >= self.hh_min
            ).all(axis=1)
            accepted.append(positions[keep])
        return np.concatenate(accepted)[:n]

    def sample(self, n: int, *, seed: int) -> list[ase.Atoms]:
        """``n`` random CH4 environments (see the class docstring), reproducible by ``seed``.

        ``info`` holds ``sample_index`` and, for an integer seed, ``sample_seed`` (a
        :class:`numpy.random.Generator` given as the seed is not a value a file can keep).
        """
        drawn = self.neighbors(n, seed=seed)  # checks the seed
        recorded = {} if isinstance(seed, np.random.Generator) else {"sample_seed": int(seed)}
        return [
            environment_from_neighbors(neighbors, info={**recorded, "sample_index": i})
            for i, neighbors in enumerate(drawn)
        ]


#: Rounds of candidates a rejection sampler draws before it calls its limits too tight.
MAX_REJECTION_ROUNDS = 1000


def check_sampler_ranges(sampler: Any) -> None:
    """Refuse limits no CH4 environment can meet (rejection sampling would never stop).

    ``sampler`` has ``r_min``, ``r_max`` (Å), ``angle_min``, ``angle_max`` (degrees) and
    ``hh_min`` (Å), as :class:`MethaneSampler` and :class:`~degeneracy.pairs.PairSampler`.
    """
    name = type(sampler).__name__
    for field in ("r_min", "r_max", "angle_max"):
        positive_float(f"{name}.{field}", getattr(sampler, field))
    for field in ("angle_min", "hh_min"):
        non_negative_float(f"{name}.{field}", getattr(sampler, field))
    if not sampler.r_min <= sampler.r_max:
        raise DegeneracyError(f"{name}: r_min {sampler.r_min} Å exceeds r_max {sampler.r_max} Å")
    if not sampler.angle_min < sampler.angle_max <= 180.0:
        raise DegeneracyError(
            f"{name}: the H–C–H angles need angle_min < angle_max ≤ 180°, got "
            f"{sampler.angle_min}° and {sampler.angle_max}°"
        )
    if sampler.hh_min >= 2.0 * sampler.r_max:
        raise DegeneracyError(
            f"{name}: hh_min {sampler.hh_min} Å is out of reach of two H at most r_max "
            f"{sampler.r_max} Å from the centre"
        )


def rejection_rounds(sampler: Any, wanted: int, accepted: Callable[[], int]) -> Iterator[int]:
    """Rounds of a rejection sampler: yields until ``accepted()`` reaches ``wanted``, and
    raises after :data:`MAX_REJECTION_ROUNDS` rounds (its limits leave almost no room)."""
    for rounds in itertools.count():
        if accepted() >= wanted:
            return
        if rounds >= MAX_REJECTION_ROUNDS:
            raise DegeneracyError(
                f"{sampler!r}: only {accepted()} of {wanted} accepted after {rounds} rounds of "
                "candidates; the limits leave (almost) no room, widen them"
            )
        yield rounds


def sample_methane(n: int, *, seed: int) -> list[ase.Atoms]:
    """``n`` random CH4 environments from :class:`MethaneSampler` with default ranges.

    Parameters
    ----------
    n : int
        Number of environments (≥ 0).
    seed : int
        Seed of the draw (a :class:`numpy.random.Generator` is also taken, as by
        :meth:`MethaneSampler.sample`).

    Returns
    -------
    list of ase.Atoms
        ``n`` CH4 environments (C at the origin, positions in Å); ``info`` holds
        ``sample_index`` and, for an integer seed, ``sample_seed``.

    Raises
    ------
    DegeneracyError
        When ``n`` is not a non-negative integer or ``seed`` not an integer ≥ 0.
    """
    return MethaneSampler().sample(n, seed=seed)
