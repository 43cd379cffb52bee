r"""Data-set scans: condition number and smallest singular value of every environment.

For every chosen centre of every structure of a data set, the environment (centre and
its neighbours within the cutoff, :mod:`degeneracy.environments`) goes through the
fingerprint's Jacobian and the rotation-purified singular spectrum
(:mod:`degeneracy.sensitivity`, Pozdnyakov et al., Comment on J. Chem. Phys. 156,
034302, 2022):

.. math:: \tilde J = J O, \qquad s_1 \ge \dots \ge s_{3N-3}, \qquad
          \mathrm{CN} = s_1 / s_{3N-3}.

A large CN (small :math:`s_\min`) marks an environment near a singular configuration,
where the fingerprint barely sees some motion of the atoms.

How a scan runs
---------------
The main process streams the data set with :func:`ase.io.iread`, refuses structures
whose environments would be meaningless (:func:`check_structure`: dummy atoms X,
non-finite coordinates, a periodic axis without a proper cell, atoms closer than
0.5 Å), and cuts it into
*chunks* of ``chunk_size`` environments (a chunk is a compact, picklable
:class:`StructureBlock`; a large structure may be split over chunks). The chunk
boundaries depend only on the data set and the settings, so they are the same in every
run. Chunks are computed on a Dask cluster (a :class:`distributed.LocalCluster` of
single-threaded worker processes by default) with a bounded number in flight; a worker
cuts out the environments, groups them by composition and computes them in batches.

Resume: results go to a sidecar folder ``RESULTS.parts/`` next to the output — a
``manifest.json`` with the settings and the data set's SHA-256, and one Parquet file per
finished chunk, each written to a temporary name and renamed (atomic). A rerun with the
same settings skips the chunks whose files exist; with different settings, or a
manifest that cannot be read as a JSON object, it refuses (``restart=True`` discards
them). Chunk files that cannot be trusted are deleted with a warning and computed again:
unreadable ones (e.g. 0 bytes after a crash), and those of a folder without a manifest
(they belong to no known settings). A scan holds an exclusive ``flock`` on
``RESULTS.parts/lock`` from before it reads the data set to its end (with ``keep_parts``,
to :meth:`ChunkStore.remove`): a second scan into the same output is refused
(:meth:`ChunkStore.lock`); the operating system releases it if the process dies. When
every chunk is done they are concatenated in chunk order into a temporary file that is
renamed onto ``RESULTS.parquet`` or ``RESULTS.csv``, and the sidecar folder is removed,
chunk files first and the manifest last, Ctrl-C held back meanwhile (``keep_parts=True``
leaves that to the caller, after its reports). A killed scan therefore never leaves a
partial results file, and its rerun ends with the same rows as an uninterrupted run.

Notes: a representation's ``diagnose`` (e.g. an ACSF set blind to the bond lengths)
is asked on the workers which environments each of its notes holds for; the chunks store
them by structure and atom, and the main process words each note once for the data set
(:func:`dataset_notes`), so that warnings are the same whatever the chunk size and for a
resumed scan.

Environments whose purified spectrum is undefined (fewer than two neighbours,
neighbours collinear with the centre, a non-finite Jacobian, or a fingerprint blind to
every motion: all singular values 0) get NaN values and a ``reason``; the scan goes on.

Verdicts: every row gets the part of ``spectrum``'s verdict
(:func:`~degeneracy.sensitivity.zero_verdict`) that costs nothing beside its Jacobian
(:func:`row_verdicts`): ``kink`` where the fingerprint has no Jacobian (its ``kinks``
hook, :func:`~degeneracy.sensitivity.kinks_of`; the CN is then one one-sided
derivative's and is left out of the CN statistics), ``regular`` where no singular value
is below :data:`~degeneracy.sensitivity.ZERO_RTOL` of s_1, else ``zero``. Which of
``symmetry``, ``near-symmetry``, ``dimension`` or ``spurious`` a zero is takes the
symmetry tests (up to ~20 s per environment for the near-symmetry one on large
environments): :func:`describe_singular` runs them for the most singular rows only.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ase
import ase.data
import ase.io
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from ase.io.formats import ioformats
from ase.neighborlist import neighbor_list
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

try:
    import fcntl
except ImportError:  # not POSIX: scans into one output are not kept apart (ChunkStore.lock)
    fcntl = None  # type: ignore[assignment]

from .checks import (
    bounded_float,
    bounded_int,
    check_not_a_stream,
    existing_file,
    positive_float,
    seeded_generator,
    symmetry_tolerance_value,
    text_beside,
    true_or_false,
)
from .dask_connection import (
    OTHER_CODE,
    check_task_source,
    check_worker_code,
    probe_scheduler,
    scheduler_address,
)
from .environments import environments_of, forget_neighbour_pairs, parse_species
from .errors import DegeneracyError, DegeneracyWarning, warning_subject
from .errors import first_line as _first_line
from .files import atomic_path, cache_key, lock_owner, output_file, record_lock_owner
from .processes import ONE_BLAS_THREAD, KeptResults, sigint_blocked
from .representations.base import Representation, every_hyper, fingerprint
from .sensitivity import (
    SYMMETRY_TOL,
    VERDICT_KINK,
    VERDICT_REGULAR,  # noqa: F401  (kept as degeneracy.scan.VERDICT_REGULAR)
    VERDICT_ZERO,
    ZERO_RTOL,
    blind_by_dimension,
    classify_zeros,
    condition_number,
    kinks_of,
    near_swap,
    point_symmetry,
    purified_singular_values,
    rotation_complement,
    showable_spectra,
    singular_spectrum,
    softest_motions,
    spectrum_verdicts,
)
from .species import species_text, symbols_of
from .structures import (
    DEFAULT_CUTOFF,
    DEFAULT_MIN_DISTANCE,
    SURVEY_STRUCTURES,
    bond_units_note,
    check_cell,
    check_coordinates_in_range,
    check_finite_coordinates,
    check_no_dummy_atoms,
    check_regular_file,
    check_units,
    check_xyz_atom_counts,
    frame_list,
    holds_nothing,
    in_angstrom,
    neighbor_positions,
    read_failure,
    structure_units_hint,
    survey_structure_bonds,
    with_reduced_cell,
)

#: Schema-metadata key of the warnings a chunk's representation raised.
NOTES_KEY = b"degeneracy.notes"

#: Schema-metadata key of the species a chunk's fingerprints were built for
#: (:attr:`EnvironmentSpectra.fingerprints`).
FINGERPRINTS_KEY = b"degeneracy.fingerprints"

#: Columns of a scan's results, in file order.
RESULT_SCHEMA = pa.schema(
    [
        ("structure", pa.int64()),
        ("atom", pa.int64()),
        ("species", pa.string()),
        ("n_neighbors", pa.int32()),
        ("s_max", pa.float64()),
        ("s_min", pa.float64()),
        ("cn", pa.float64()),
        ("verdict", pa.string()),
        ("reason", pa.string()),
    ]
)

#: Columns of a scan's results added after its first format, with the date: a results
#: file without them was written by an older version of degeneracy (:func:`read_results`).
ADDED_COLUMNS = {"verdict": "2026-12-05"}

# A results row's ``verdict`` (:func:`row_verdicts`; empty where the spectrum is undefined,
# its ``reason`` says why) is one of VERDICT_KINK, VERDICT_REGULAR and VERDICT_ZERO, defined
# with their rule in degeneracy.sensitivity (spectrum_verdicts) and imported here, so that
# degeneracy.scan.VERDICT_* still name them.


#: Output file formats by extension.
OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}

#: Environments per chunk (the unit of work, of checkpointing and of resume).
DEFAULT_CHUNK_SIZE = 1000

#: A representation's note about a data set is worded (its ``diagnose``) for at most this
#: many of the environments it holds for, the first in the data set (:func:`dataset_notes`).
NOTE_SAMPLE = 1000

#: Environments per call of the representation inside a chunk.
DEFAULT_BATCH_SIZE = 500

#: Reasons recorded for environments whose purified spectrum is undefined.
REASON_FEW_NEIGHBORS = "fewer than 2 neighbours"
REASON_COLLINEAR = "neighbours collinear with the centre"
REASON_NONFINITE = "non-finite Jacobian"
#: s_max = s_min = 0: no CN (0/0), the fingerprint sees none of the environment's motions.
REASON_BLIND = "blind: every singular value is 0"

#: Environment of the worker processes of the default local cluster: one thread each
#: (featomic's rayon pool and BLAS), the workers themselves provide the parallelism.
WORKER_ENV = {"RAYON_NUM_THREADS": "1", **ONE_BLAS_THREAD}

#: Structures of up to this many atoms (without periodicity) are checked for atoms too
#: close together with every pairwise distance; larger ones with a k-d tree.
_DIRECT_PAIRS = 100

_MANIFEST = "manifest.json"
#: 2: a CN whose s_min is at round-off is inf (:func:`~degeneracy.sensitivity.condition_number`);
#: chunks of format 1 hold it as a finite ratio, so they are not resumed into one table.
#: 3: chunks record the species their fingerprints were built for (:data:`FINGERPRINTS_KEY`),
#: and a species-aware representation is described without the ``center`` and
#: ``neighbors`` that each environment sets; chunks of format 2 lack that record.
#: 4: a chunk's notes record the environments they hold for (:func:`chunk_notes`), so that
#: a scan words them for the data set; those of format 3 are texts of their chunk only.
#: 5: rows have a ``verdict`` (:func:`row_verdicts`), which chunks of format 4 lack; the
#: manifest records the ``zero_rtol`` it was judged with.
_MANIFEST_VERSION = 5

#: The file in ``RESULTS.parts/`` that a running scan holds an exclusive ``flock`` on
#: (:meth:`ChunkStore.lock`); it holds the scan's process id.
_LOCK = "lock"

#: Tries to lock a parts folder that other scans keep removing as they finish.
_LOCK_ATTEMPTS = 20

#: What a species-aware representation's description says in place of the ``center`` and
#: ``neighbors`` keyword arguments (:meth:`RepresentationRecipe.describe`).
PER_ENVIRONMENT_SPECIES = (
    "center and neighbors set per environment: its centre's species and its neighbours' "
    "species (the scan summary's fingerprints list them)"
)


# --------------------------------------------------------------------------------------
# Representations rebuilt per species, on any worker


class RepresentationRecipe:
    """A representation as a picklable recipe, specialised to each environment's species.

    featomic calculators cannot be pickled, so workers rebuild the representation from
    its class and :meth:`Representation.hypers` (plus the ``optimal_basis`` it was given,
    if the class takes one; a built-in basis is chosen for each centre species). A class
    whose constructor takes ``center`` and ``neighbors`` is rebuilt for each environment's
    centre species and the species of its neighbours, so that the fingerprint sees every
    neighbour: an atom it ignored would add a zero column to the Jacobian and a spurious
    zero singular value. Other classes are used as given.
    Built representations are cached per process and thread.

    The constructor checks the recipe by building the representation once, here, from
    ``kwargs`` as given (a representation's constructor only checks its settings: the
    featomic calculators are built on first use), so that a bad class or hyperparameter
    is refused before any work is handed to a worker.

    Raises
    ------
    DegeneracyError
        When ``cls`` is not a class whose constructor can be read, ``kwargs`` is not a
        mapping of keyword arguments, ``name`` is not a string, or ``cls(**kwargs)`` fails
        or does not build a fingerprint.
    """

    def __init__(
        self, cls: type, kwargs: dict[str, Any], *, name: str, basis_identity: Any = None
    ) -> None:
        self._setup(cls, kwargs, name, basis_identity, source="the recipe's kwargs")

    def _setup(
        self, cls: type, kwargs: dict[str, Any], name: str, basis_identity: Any, *, source: str
    ) -> None:
        """The constructor's work; ``source`` says where ``kwargs`` came from, for its
        refusal (:meth:`of`: the representation's ``hypers()``)."""
        if not isinstance(name, str):
            raise DegeneracyError(f"a representation recipe's name must be a string, got {name!r}")
        if not isinstance(cls, type):
            raise DegeneracyError(
                f"representation recipe {name!r}: cls must be a representation class "
                f"(e.g. dg.SoapPowerSpectrum), got {cls!r}"
            )
        if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
            raise DegeneracyError(
                f"representation recipe {name!r}: kwargs must be a mapping of keyword arguments "
                f"of {cls.__qualname__}, got {kwargs!r}"
            )
        self.cls = cls
        self.kwargs = dict(kwargs)
        self.name = name
        # the radial basis' identity where kwargs do not hold it (the built-in bases' cache
        # keys, which name the featomic version): part of the token, so a scan does not
        # resume with chunks of another basis
        self.basis_identity = basis_identity
        from .representations.registry import species_aware  # featomic: not at import

        try:
            self.species_aware = species_aware(cls)
        except (TypeError, ValueError) as error:  # a builtin type has no signature
            raise DegeneracyError(
                f"representation recipe {name!r}: {cls.__qualname__} is not a representation "
                f"class (cannot read its constructor: {_first_line(error)})"
            ) from error
        try:
            built = cls(**self.kwargs)  # the workers rebuild it: refuse a bad recipe here
        except Exception as error:
            raise DegeneracyError(
                f"cannot build representation {name!r} ({cls.__qualname__}) from {source}: "
                f"{_first_line(error)}"
            ) from error
        if not isinstance(built, Representation):
            raise DegeneracyError(
                f"representation recipe {name!r}: {cls.__qualname__} does not build a "
                f"fingerprint (no features and jacobian), got {built!r}"
            )
        self.token = cache_key(
            cls=f"{cls.__module__}.{cls.__qualname__}",
            kwargs={k: _describe(v) for k, v in sorted(self.kwargs.items())},
            basis=basis_identity,
        )

    @classmethod
    def of(cls, representation: Representation | RepresentationRecipe) -> RepresentationRecipe:
        """The recipe of ``representation`` (checked by rebuilding it once)."""
        if isinstance(representation, RepresentationRecipe):
            return representation
        klass = type(fingerprint(representation))
        parameters = inspect.signature(klass).parameters
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        kwargs = {k: v for k, v in representation.hypers().items() if open_ended or k in parameters}
        # a given basis travels with the recipe; the built-in one is chosen per centre
        if hasattr(representation, "given_basis"):
            basis = representation.given_basis
        else:
            basis = getattr(representation, "optimal_basis", None)
        if "optimal_basis" in parameters and basis is not None:
            kwargs["optimal_basis"] = basis
        identity = getattr(representation, "basis_identity", None)
        recipe = cls.__new__(cls)
        recipe._setup(  # checked by rebuilding it once
            klass,
            kwargs,
            getattr(representation, "name", klass.__name__),
            identity() if identity is not None else None,
            source="its hypers()",
        )
        return recipe

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (name, class, keyword arguments, radial basis).

        A species-aware representation's ``center`` and ``neighbors`` are left out of
        ``kwargs``: :meth:`build` sets them for each environment, so the given ones are
        not what was computed; ``species`` says so instead
        (:data:`PER_ENVIRONMENT_SPECIES`).
        """
        kwargs = {
            k: _describe(v)
            for k, v in sorted(self.kwargs.items())
            if not (self.species_aware and k in ("center", "neighbors"))
        }
        description = {
            "name": self.name,
            "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
            "kwargs": kwargs,
        }
        if self.species_aware:
            description["species"] = PER_ENVIRONMENT_SPECIES
        if self.basis_identity is not None:
            description["basis"] = self.basis_identity
        return description

    @property
    def cutoff(self) -> float | None:
        """The representation's cutoff radius, if it has one."""
        value = self.kwargs.get("cutoff")
        return None if value is None else float(value)

    def build(self, center: int | None = None, neighbors: Sequence[int] = ()) -> Representation:
        """A representation for environments with this centre and these neighbour species."""
        key = (self.token, threading.get_ident(), center, tuple(neighbors))
        if not self.species_aware:
            key = (self.token, threading.get_ident(), None, ())
        built = _BUILT.get(key)
        if built is not None:
            return built
        kwargs = dict(self.kwargs)
        if self.species_aware and center is not None:
            kwargs["center"] = symbols_of([center])[0]
            kwargs["neighbors"] = list(symbols_of(sorted(set(neighbors))))
        return _BUILT.put(key, self.cls(**kwargs))


#: Representations kept built per process: a data set's compositions times its worker
#: threads, with room (one more is built again, in milliseconds).
MAX_BUILT = 256

#: Representations built in this process, by (recipe token, thread, centre, neighbours):
#: at most :data:`MAX_BUILT`, the least recently used going first, as a long-lived Dask
#: worker serves scan after scan (each a featomic calculator; it kept every one,
#: helper-149).
_BUILT = KeptResults(MAX_BUILT)


def _describe(value: Any) -> Any:
    """JSON-ready stand-in for a hyperparameter (arrays by content hash)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"array{list(value.shape)}:{digest}"
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    state = getattr(value, "__dict__", None)
    if state is not None:
        return {"type": type(value).__name__, **_describe(state)}
    return repr(value)


# --------------------------------------------------------------------------------------
# The computation on one list of environments (what every worker runs)


@dataclass(frozen=True)
class EnvironmentNote:
    """A representation's note about some environments (its optional ``diagnose``).

    Attributes
    ----------
    text : str
        The note as the representation words it for the first of these environments
        alone; for a note it gives only about a group, as worded for the group.
    rows : tuple of int
        The environments it holds for: their indices in the list given, in order.
    """

    text: str
    rows: tuple[int, ...]

    @property
    def subject(self) -> str:
        """What the note is about (:func:`~degeneracy.errors.warning_subject`)."""
        return warning_subject(self.text)


@dataclass(frozen=True)
class EnvironmentSpectra:
    """Largest and smallest purified singular values of a list of environments.

    ``cn = s_max / s_min``; undefined entries are NaN with a non-empty ``reason``
    (:data:`REASON_BLIND` where every singular value is 0: ``s_max = s_min = 0``).
    ``kink``: where the fingerprint reports it has no Jacobian (its optional ``kinks``
    hook, :func:`~degeneracy.sensitivity.kinks_of`; False where the spectrum is undefined).
    ``notes``: the representations' warnings about these environments (their optional
    ``diagnose(frames)``, e.g. :meth:`degeneracy.Acsf.diagnose`), one
    :class:`EnvironmentNote` per subject with the environments it holds for, ordered by
    the first of them.
    ``fingerprints``: for a species-aware representation, the species it was built for,
    ``(centre, neighbours, environments)``: element symbols and how many environments
    (those with at least two neighbours) it described, in order of first use; empty for
    a representation used as given.
    """

    n_neighbors: np.ndarray
    s_max: np.ndarray
    s_min: np.ndarray
    reason: list[str]
    kink: np.ndarray
    notes: tuple[EnvironmentNote, ...] = ()
    fingerprints: tuple[tuple[str, tuple[str, ...], int], ...] = ()

    @property
    def cn(self) -> np.ndarray:
        """Condition numbers (``inf`` where s_min is zero or at round-off, NaN where
        undefined; :func:`~degeneracy.sensitivity.condition_number`)."""
        return condition_number(self.s_max, self.s_min, 3 * self.n_neighbors - 3)

    @property
    def verdict(self) -> list[str]:
        """Each environment's verdict (:func:`row_verdicts`)."""
        return row_verdicts(self.s_max, self.s_min, self.kink, self.reason)


def row_verdicts(
    s_max: np.ndarray,
    s_min: np.ndarray,
    kink: np.ndarray,
    reason: Sequence[str],
    *,
    zero_rtol: float = ZERO_RTOL,
) -> list[str]:
    """The verdicts of a scan's rows: what ``spectrum``'s
    (:func:`~degeneracy.sensitivity.zero_verdict`) says from s_1, s_min and the kinks.

    The rule of :func:`~degeneracy.sensitivity.spectrum_verdicts`:
    :data:`~degeneracy.sensitivity.VERDICT_KINK` first, as there; then
    :data:`~degeneracy.sensitivity.VERDICT_REGULAR` where ``s_max > 0`` and
    ``s_min >= zero_rtol * s_max`` (no zero: the full verdict too), else
    :data:`~degeneracy.sensitivity.VERDICT_ZERO` (one of the verdicts that need the
    symmetry tests); ``""`` where the spectrum is undefined (a non-empty ``reason``).

    Parameters
    ----------
    s_max, s_min : array (n,)
        Largest and smallest purified singular values (NaN where undefined).
    kink : array of bool (n,)
        Where the fingerprint has no Jacobian (:func:`~degeneracy.sensitivity.kinks_of`).
    reason : sequence of str (n,)
        Why the spectrum is undefined, empty where it is not.
    zero_rtol : float
        Relative size :math:`s_k / s_1` under which a singular value counts as zero.

    Returns
    -------
    list of str

    Raises
    ------
    DegeneracyError
        When ``zero_rtol`` is not a number in (0, 1), or ``s_max``, ``s_min``, ``kink``
        and ``reason`` do not have one entry a row each (1-D, of one length).
    """
    verdicts = spectrum_verdicts(s_max, s_min, kink, zero_rtol=zero_rtol)  # one shape
    if verdicts.ndim != 1:
        raise DegeneracyError(
            f"s_max, s_min and kink must be 1-D, one entry a row, got shape {verdicts.shape}"
        )
    if isinstance(reason, str) or not hasattr(reason, "__len__"):
        raise DegeneracyError(
            f"reason must be a sequence of strings, one a row, got {type(reason).__name__}"
        )
    if len(reason) != len(verdicts):
        raise DegeneracyError(
            f"reason must have one entry a row: {len(reason)} reasons for {len(verdicts)} "
            "rows of s_max, s_min and kink"
        )
    verdicts[np.asarray([bool(r) for r in reason], dtype=bool)] = ""
    return [str(v) for v in verdicts]


def _rotation_complements(neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation complements of the environments where it exists, and where that is."""
    try:
        return rotation_complement(neighbors), np.ones(len(neighbors), dtype=bool)
    except DegeneracyError:
        pass
    defined = np.ones(len(neighbors), dtype=bool)
    complements = []
    for k, one in enumerate(neighbors):
        try:
            complements.append(rotation_complement(one))
        except DegeneracyError:
            defined[k] = False
    width = 3 * neighbors.shape[1]
    empty = np.zeros((0, width, width - 3))
    return (np.stack(complements) if complements else empty), defined


def _batch_extremes(
    frames: Sequence[ase.Atoms], representation: Representation
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """s_max, s_min, kinks (:func:`~degeneracy.sensitivity.kinks_of`) and reasons for
    frames of one composition."""
    n = len(frames)
    s_max, s_min = np.full(n, np.nan), np.full(n, np.nan)
    kinks = np.zeros(n, dtype=bool)
    reasons = [""] * n
    complements, defined = _rotation_complements(neighbor_positions(frames))
    for k in np.flatnonzero(~defined):
        reasons[k] = REASON_COLLINEAR
    rows = np.flatnonzero(defined)
    if rows.size == 0:
        return s_max, s_min, kinks, reasons
    _, jacobian = representation.jacobian([frames[k] for k in rows])
    finite = np.isfinite(jacobian).all(axis=(1, 2))
    for k in rows[~finite]:
        reasons[k] = REASON_NONFINITE
    # Only the singular values are needed: skip the singular vectors (and the motions
    # that sensitivity.singular_spectrum builds from them).
    values = purified_singular_values(jacobian[finite] @ complements[finite])
    computed = rows[finite]
    s_max[computed] = values[:, 0]
    s_min[computed] = values[:, -1]
    for k in computed[values[:, 0] == 0]:  # cn = 0/0: undefined, not a number to rank
        reasons[k] = REASON_BLIND
    if computed.size:
        kinks[computed] = kinks_of(representation, [frames[k] for k in computed])
    return s_max, s_min, kinks, reasons


def environment_spectra(
    environments: Sequence[ase.Atoms],
    representation: Representation | RepresentationRecipe,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> EnvironmentSpectra:
    """Largest and smallest singular value of the purified Jacobian of each environment.

    Environments (centre at index 0, at the origin) may differ in size and species: they
    are grouped by composition and computed ``batch_size`` at a time, with the
    representation specialised to each composition (:class:`RepresentationRecipe`).

    Parameters
    ----------
    environments : sequence of ase.Atoms
    representation : Representation or RepresentationRecipe
    batch_size : int
        Environments per call of the representation.

    Returns
    -------
    EnvironmentSpectra
        In the order of ``environments``, with each one's verdict
        (:attr:`EnvironmentSpectra.verdict`).
    """
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    environments = frame_list(environments, name="environment_spectra")
    recipe = RepresentationRecipe.of(representation)
    n = len(environments)
    n_neighbors = np.array([len(atoms) - 1 for atoms in environments], dtype=np.int32)
    s_max, s_min = np.full(n, np.nan), np.full(n, np.nan)
    kinks = np.zeros(n, dtype=bool)
    reasons = [""] * n
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for k, atoms in enumerate(environments):
        # not labelled undefined: a NaN frame would pass as "collinear"
        check_finite_coordinates(
            atoms.positions, f"environment_spectra: {environment_label(atoms, k)}"
        )
        if n_neighbors[k] < 2:
            reasons[k] = REASON_FEW_NEIGHBORS
            continue
        groups.setdefault(composition(atoms), []).append(k)
    notes = _NoteRows()
    used: dict[tuple[int, tuple[int, ...]], int] = {}
    for (center, neighbors), members in groups.items():
        species = (center, tuple(sorted(set(neighbors))))
        used[species] = used.get(species, 0) + len(members)
        built = recipe.build(*species)
        diagnose = getattr(built, "diagnose", None)
        if diagnose is not None:
            notes.add(diagnose, environments, members)
        blind = dimension_note(built, len(neighbors))
        if blind is not None:
            notes.add(lambda group, text=blind: [text] if group else [], environments, members)
        for start in range(0, len(members), batch_size):
            rows = members[start : start + batch_size]
            high, low, kinked, why = _labelled_batch_extremes(environments, rows, built)
            s_max[rows], s_min[rows], kinks[rows] = high, low, kinked
            for k, reason in zip(rows, why, strict=True):
                reasons[k] = reason
    fingerprints = tuple(
        (symbols_of([center])[0], tuple(symbols_of(neighbors)), count)
        for (center, neighbors), count in used.items()
        if recipe.species_aware
    )
    return EnvironmentSpectra(
        n_neighbors=n_neighbors,
        s_max=s_max,
        s_min=s_min,
        reason=reasons,
        kink=kinks,
        notes=notes.notes(),
        fingerprints=fingerprints,
    )


#: The subject of :func:`dimension_note` (:func:`~degeneracy.errors.warning_subject`).
BLIND_BY_DIMENSION = "blind by dimension"


def dimension_note(built: Representation, n_neighbors: int) -> str | None:
    """A note for environments of ``n_neighbors`` neighbours whose internal motions
    outnumber what ``built`` can see (:func:`~degeneracy.sensitivity.blind_by_dimension`):
    their zeros (``s_min = 0``, CN inf) are the fingerprint's size, not the data's, and
    every such row looked singular without a word (helper-155: SOAP n_max = l_max = 4,
    80 features, on Si with 28 neighbours, 81 motions). None for a fingerprint whose
    feature count is not known before computing (the overlap matrix's grows with N)."""
    n_features = getattr(built, "n_features", None)
    if not isinstance(n_features, int) or isinstance(n_features, bool):
        return None
    blind = blind_by_dimension(built, n_features, n_neighbors)
    if blind is None:
        return None
    expansion = "n_max" in built.hypers()
    more = "a larger n_max=... or l_max=..." if expansion else "a fingerprint with more features"
    return (
        f"{BLIND_BY_DIMENSION}: for {built.name}, {blind} (verdict dimension): {more}, or "
        "fewer neighbours (a smaller cutoff=...)"
    )


def composition(atoms: ase.Atoms) -> tuple[int, tuple[int, ...]]:
    """An environment's centre and neighbour atomic numbers, in order: environments of one
    composition are computed together (and a ``diagnose`` words its notes for them)."""
    numbers = atoms.numbers
    return int(numbers[0]), tuple(int(z) for z in numbers[1:])


def environment_label(atoms: ase.Atoms, index: int) -> str:
    """``"structure 12, atom 3"`` for an environment cut from a data set (its ``info``
    has both indices), else ``"environment {index}"`` (its place in the list given)."""
    if "structure" in atoms.info and "atom" in atoms.info:
        return f"structure {atoms.info['structure']}, atom {atoms.info['atom']}"
    return f"environment {index}"


#: A representation's words for the K-th of the frames it was given (e.g. the OM's
#: "frame 11 of this call"), and for atom J of it, which :func:`in_dataset_terms` replaces.
_CALL_FRAME = re.compile(r"\bframe (\d+)(?: of this call)?(?:, atom (\d+))?\b")


def in_dataset_terms(message: str, environments: Sequence[ase.Atoms]) -> str:
    """``message`` of a representation given ``environments``, each "frame K" (of this
    call) replaced by the K-th environment's :func:`environment_label`, so that it names
    the structure and centre atom in the data set whatever chunk or batch it was in; an
    atom J of that frame becomes "neighbour J" (numbered within the environment, as the
    scan's tables and ``X.singular.extxyz`` do) or "its centre" (J = 0)."""

    def label(match: re.Match) -> str:
        k = int(match.group(1))
        if k >= len(environments):
            return match[0]
        text = environment_label(environments[k], k)
        if match.group(2) is not None:
            j = int(match.group(2))
            text += ", its centre" if j == 0 else f", neighbour {j}"
        return text

    return _CALL_FRAME.sub(label, message)


def _labelled_batch_extremes(
    environments: Sequence[ase.Atoms], rows: Sequence[int], built: Representation
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """:func:`_batch_extremes` of ``environments[rows]``; an error names the environment
    that causes it (:func:`environment_label`), found by computing them one by one, unless
    another environment fails alike (the process's own problem: a worker whose
    ``$DEGENERACY_CACHE`` is a file was blamed on "structure 0, atom 0", helper-149)."""
    frames = [environments[k] for k in rows]
    try:
        return _batch_extremes(frames, built)
    except Exception as error:  # any error of a representation: name the environment
        for place, k in enumerate(rows):
            try:
                _batch_extremes([environments[k]], built)
            except Exception as single:
                text = in_dataset_terms(_first_line(single), [environments[k]])
                if _fails_alike(environments, rows[place + 1 :], built, _first_line(single)):
                    raise DegeneracyError(text) from single
                label = environment_label(environments[k], k)
                if label not in text:
                    text = f"{label}: {text}"
                raise DegeneracyError(text) from single
        if not isinstance(error, DegeneracyError):
            raise  # the batch fails, none alone (memory?): not one environment's doing
        raise DegeneracyError(in_dataset_terms(_first_line(error), frames)) from error


def _fails_alike(
    environments: Sequence[ase.Atoms], rows: Sequence[int], built: Representation, said: str
) -> bool:
    """Whether the next of ``rows`` fails with the same first line ``said`` (the error is
    not that environment's); False when there is none to try."""
    if not len(rows):
        return False
    try:
        _batch_extremes([environments[rows[0]]], built)
    except Exception as other:
        return _first_line(other) == said
    return False


class _NoteRows:
    """The notes of a representation's ``diagnose`` per subject, and which environments
    each holds for: ``diagnose`` of a group finds whether there is any (cheap, the usual
    answer is none), then of each member alone which ones, and how it words them."""

    def __init__(self) -> None:
        # subject -> [(first row, place in its notes), text, rows]
        self._found: dict[str, list] = {}

    def add(self, diagnose: Any, environments: Sequence[ase.Atoms], members: Sequence[int]) -> None:
        """The notes of ``diagnose`` about ``environments[members]`` (one composition)."""
        group = diagnose([environments[k] for k in members])
        if not group:
            return
        alone: set[str] = set()
        for k in members:
            for place, text in enumerate(diagnose([environments[k]])):
                alone.add(warning_subject(text))
                self._record(text, (k, place), [k])
        for place, text in enumerate(group):  # one about the group only: all of it
            if warning_subject(text) not in alone:
                self._record(text, (members[0], place), list(members))

    def _record(self, text: str, first: tuple[int, int], rows: list[int]) -> None:
        entry = self._found.setdefault(warning_subject(text), [first, text, []])
        if first < entry[0]:
            entry[0], entry[1] = first, text
        entry[2].extend(rows)

    def notes(self) -> tuple[EnvironmentNote, ...]:
        """One note per subject, ordered by the first environment it holds for."""
        entries = sorted(self._found.values(), key=lambda entry: entry[0])
        return tuple(EnvironmentNote(text, tuple(sorted(set(rows)))) for _, text, rows in entries)


# --------------------------------------------------------------------------------------
# Chunks of a data set


@dataclass(frozen=True)
class StructureBlock:
    """A chunk of work: some structures of a data set and the centres to scan in them.

    Flat arrays (cheap to pickle); structure ``r`` has atoms
    ``offsets[r]:offsets[r+1]`` and centres ``centers[center_offsets[r]:center_offsets[r+1]]``.
    """

    index: int
    structures: np.ndarray
    offsets: np.ndarray
    numbers: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    pbc: np.ndarray
    center_offsets: np.ndarray
    centers: np.ndarray

    @property
    def n_environments(self) -> int:
        """Number of environments (centres) in the chunk."""
        return len(self.centers)

    def atoms(self, row: int) -> ase.Atoms:
        """Structure ``row`` of the block."""
        start, stop = self.offsets[row], self.offsets[row + 1]
        return ase.Atoms(
            numbers=self.numbers[start:stop],
            positions=self.positions[start:stop],
            cell=self.cells[row],
            pbc=self.pbc[row],
        )

    def environments(
        self, *, cutoff: float, neighbor_species: Sequence[int] | None = None
    ) -> list[ase.Atoms]:
        """The chunk's environments, structure by structure, centres in the given order."""
        result = []
        for row, structure in enumerate(self.structures):
            centers = self.centers[self.center_offsets[row] : self.center_offsets[row + 1]]
            try:
                found = environments_of(
                    self.atoms(row), centers, cutoff=cutoff, neighbor_species=neighbor_species
                )
            except Exception as error:  # name the structure: this runs on a worker
                raise DegeneracyError(
                    f"structure {int(structure)}: cannot find the neighbours of its centres "
                    f"({_first_line(error)})"
                ) from error
            for atoms in found:
                atoms.info["structure"] = int(structure)
            result.extend(found)
        return result


class _BlockBuilder:
    """Accumulates (structure, centres) pieces into a :class:`StructureBlock`."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, ase.Atoms, np.ndarray]] = []
        self.size = 0

    def add(self, index: int, atoms: ase.Atoms, centers: np.ndarray) -> None:
        self.pieces.append((index, atoms, centers))
        self.size += len(centers)

    def build(self, chunk: int) -> StructureBlock:
        sizes = [len(atoms) for _, atoms, _ in self.pieces]
        block = StructureBlock(
            index=chunk,
            structures=np.array([i for i, _, _ in self.pieces], dtype=np.int64),
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            numbers=np.concatenate([a.numbers for _, a, _ in self.pieces]).astype(np.int32),
            positions=np.concatenate([a.positions for _, a, _ in self.pieces]),
            cells=np.stack([np.asarray(a.cell[:]) for _, a, _ in self.pieces]),
            pbc=np.stack([np.asarray(a.pbc) for _, a, _ in self.pieces]),
            center_offsets=np.concatenate(
                [[0], np.cumsum([len(c) for _, _, c in self.pieces])]
            ).astype(np.int64),
            centers=np.concatenate([c for _, _, c in self.pieces]).astype(np.int64),
        )
        self.pieces, self.size = [], 0
        return block


def plan_chunks(
    structures: Iterable[tuple[int, ase.Atoms]],
    *,
    centers: Sequence[int] | None,
    chunk_size: int,
    species_seen: set[int] | None = None,
) -> Iterator[StructureBlock]:
    """Cut a stream of ``(index, structure)`` into chunks of ``chunk_size`` environments.

    ``centers`` are atomic numbers (``None``: every atom). The boundaries depend only on
    the stream, so every run of the same scan makes the same chunks. Species met are
    added to ``species_seen``.
    """
    builder = _BlockBuilder()
    chunk = 0
    # A lookup table by atomic number: np.isin costs more than the rest of the planning
    # on small molecules.
    is_center = np.zeros(len(ase.data.chemical_symbols), dtype=bool)
    if centers is not None:
        is_center[np.asarray(centers, dtype=int)] = True
    for index, atoms in structures:
        if species_seen is not None:
            species_seen.update(atoms.numbers.tolist())
        if centers is None:
            chosen = np.arange(len(atoms))
        else:
            chosen = np.flatnonzero(is_center[atoms.numbers])
        while chosen.size:
            room = chunk_size - builder.size
            builder.add(index, atoms, chosen[:room])
            chosen = chosen[room:]
            if builder.size == chunk_size:
                yield builder.build(chunk)
                chunk += 1
    if builder.size:
        yield builder.build(chunk)


def scan_block(
    recipe: RepresentationRecipe,
    block: StructureBlock,
    *,
    cutoff: float,
    neighbor_species: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> pa.Table:
    """Results of one chunk, as a table with :data:`RESULT_SCHEMA` (runs on a worker).

    The representation's warnings (:attr:`EnvironmentSpectra.notes`) and the species its
    fingerprints were built for (:attr:`EnvironmentSpectra.fingerprints`) travel back in
    the schema metadata (:data:`NOTES_KEY`, :data:`FINGERPRINTS_KEY`, JSON lists), for the
    main process to report.
    """
    environments = block.environments(cutoff=cutoff, neighbor_species=neighbor_species)
    spectra = environment_spectra(environments, recipe, batch_size=batch_size)
    table = pa.table(
        {
            "structure": [atoms.info["structure"] for atoms in environments],
            "atom": [atoms.info["atom"] for atoms in environments],
            "species": list(symbols_of(atoms.numbers[0] for atoms in environments)),
            "n_neighbors": spectra.n_neighbors,
            "s_max": spectra.s_max,
            "s_min": spectra.s_min,
            "cn": spectra.cn,
            "verdict": spectra.verdict,
            "reason": spectra.reason,
        },
        schema=RESULT_SCHEMA,
    )
    metadata = {}
    if spectra.notes:
        metadata[NOTES_KEY] = json.dumps(
            [_stored_note(note, environments) for note in spectra.notes]
        )
    if spectra.fingerprints:
        metadata[FINGERPRINTS_KEY] = json.dumps(
            [[center, list(neighbors), count] for center, neighbors, count in spectra.fingerprints]
        )
    if metadata:
        table = table.replace_schema_metadata(metadata)
    return table


def scan_chunk(source: Mapping[str, str | None], *args: Any, **kwargs: Any) -> pa.Table:
    """The task a scan submits for each chunk: :func:`scan_block` (``args``,
    ``kwargs``), on a worker whose degeneracy code and featomic / metatensor-core
    versions are the client's, ``source``
    (:func:`~degeneracy.worker_source.source_identity`;
    :func:`~degeneracy.dask_connection.check_task_source`, whenever the worker joined
    the cluster). Its name and first parameter stay as they are, so that a worker with
    other degeneracy code still refuses the chunk."""
    check_task_source(source)
    return scan_block(*args, **kwargs)


def _stored_note(note: EnvironmentNote, environments: Sequence[ase.Atoms]) -> dict[str, Any]:
    """A chunk's note as stored with it: its text (as worded for its first environment),
    how many of the chunk's environments it holds for, and the first
    :data:`NOTE_SAMPLE` of them as ``[structure, atom]`` in the data set."""
    first = environments[note.rows[0]]
    return {
        "text": in_dataset_terms(note.text, [first]),
        "count": len(note.rows),
        "environments": [
            [int(environments[k].info["structure"]), int(environments[k].info["atom"])]
            for k in note.rows[:NOTE_SAMPLE]
        ],
    }


def chunk_notes(schema: pa.Schema) -> list[dict[str, Any]]:
    """The notes :func:`scan_block` attached to a chunk's table (or its stored file's)
    schema: ``{"text", "count", "environments"}`` each (:func:`_stored_note`)."""
    metadata = schema.metadata or {}
    return json.loads(metadata[NOTES_KEY]) if NOTES_KEY in metadata else []


def chunk_fingerprints(schema: pa.Schema) -> list[tuple[str, tuple[str, ...], int]]:
    """The species :func:`scan_block` recorded its fingerprints were built for, from a
    chunk's table (or its stored file's) schema: ``(centre, neighbours, environments)``
    (none for a representation used as given)."""
    metadata = schema.metadata or {}
    if FINGERPRINTS_KEY not in metadata:
        return []
    return [
        (str(center), tuple(str(s) for s in neighbors), int(count))
        for center, neighbors, count in json.loads(metadata[FINGERPRINTS_KEY])
    ]


class _FingerprintTally:
    """The species a scan's fingerprints were built for, summed over its chunks."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, tuple[str, ...]], int] = {}

    def add(self, fingerprints: Iterable[tuple[str, tuple[str, ...], int]]) -> None:
        for center, neighbors, count in fingerprints:
            key = (center, tuple(neighbors))
            self.counts[key] = self.counts.get(key, 0) + count

    def entries(self) -> list[dict[str, Any]]:
        """``{"center", "neighbors", "environments"}`` by centre, then neighbours, each in
        order of atomic number."""
        numbers = ase.data.atomic_numbers

        def order(key: tuple[str, tuple[str, ...]]) -> tuple[int, list[int]]:
            center, neighbors = key
            return numbers[center], [numbers[s] for s in neighbors]

        return [
            {"center": center, "neighbors": list(neighbors), "environments": count}
            for (center, neighbors), count in sorted(
                self.counts.items(), key=lambda item: order(item[0])
            )
        ]


# --------------------------------------------------------------------------------------
# Data sets


class Dataset:
    """A data set to scan: an ase-readable file or a list of structures.

    Parameters
    ----------
    source : path-like, ase.Atoms or sequence of ase.Atoms
    units : {"angstrom", "bohr"}
        Length unit of the positions and cells; converted to Å.
    read_format : str, optional
        ase format name, if it cannot be guessed from the file name.
    """

    def __init__(
        self,
        source: str | os.PathLike | Sequence[ase.Atoms],
        *,
        units: str = "angstrom",
        read_format: str | None = None,
    ) -> None:
        check_units(units)
        self.units = units
        if read_format is not None and read_format not in ioformats:
            raise DegeneracyError(
                f"read format {read_format!r}: ase knows no such format (e.g. extxyz, xyz, "
                "traj, cif, vasp)"
            )
        self.read_format = read_format
        if isinstance(source, (str, os.PathLike)):
            self.path: Path | None = existing_file(source, "structure file")
            check_regular_file(self.path)  # before the resume hash reads a pipe to its end
            self.frames: Sequence[ase.Atoms] | None = None
        elif isinstance(source, ase.Atoms):  # one structure (a crystal, a molecule)
            self.path, self.frames = None, [source]
        else:
            self.path, self.frames = None, frame_list(source, name="data set")

    @property
    def label(self) -> str:
        """The file name, or how many structures were given."""
        return str(self.path) if self.path is not None else f"{len(self.frames)} structures"

    def fingerprint(self) -> dict[str, Any]:
        """Identity of the data set for the resume manifest (SHA-256 of its content)."""
        digest = hashlib.sha256()
        if self.path is not None:
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return {
                "file": self.path.name,
                "bytes": self.path.stat().st_size,
                "sha256": digest.hexdigest(),
                "units": self.units,
                "read_format": self.read_format,
            }
        for atoms in self.frames:
            for array in (atoms.numbers, atoms.positions, atoms.cell[:], atoms.pbc):
                digest.update(np.ascontiguousarray(array).tobytes())
        return {"frames": len(self.frames), "sha256": digest.hexdigest(), "units": self.units}

    def _raw(self) -> Iterator[ase.Atoms]:
        """The structures as read, unchecked.

        A reader may index the whole file before it yields anything (ase's extxyz does), so
        a failure names no structure when none was read yet, and otherwise only bounds it.
        """
        if self.frames is not None:
            yield from self.frames
            return
        check_xyz_atom_counts(self.path, self.read_format)
        index = 0
        try:
            for atoms in ase.io.iread(self.path, index=":", format=self.read_format):
                yield atoms
                index += 1
        except DegeneracyError:
            raise
        except Exception as error:  # ase raises many types for unreadable files
            where = (
                "while indexing or reading the file, before its first structure"
                if index == 0
                else f"at or after structure {index}"
            )
            raise DegeneracyError(
                read_failure(
                    self.path,
                    error,
                    read_format=self.read_format,
                    option="read_format",
                    what=f"cannot read it: failed {where}",
                )
            ) from error

    def structures(self, wanted: set[int] | None = None) -> Iterator[tuple[int, ase.Atoms]]:
        """``(index, structure)`` pairs, positions and cell in Å (only ``wanted`` if given).

        Each structure is checked (:func:`check_structure`) before it is yielded.
        """
        if wanted is not None and not wanted:
            return
        last = max(wanted) if wanted else None
        for index, atoms in enumerate(self._raw()):
            if wanted is not None and index not in wanted:
                if last is not None and index > last:
                    return
                continue
            if self.units != "angstrom":
                atoms = in_angstrom(atoms, self.units)
            check_structure(atoms, f"{self.label}, structure {index}", units=self.units)
            yield index, atoms


def check_structure(atoms: ase.Atoms, where: str, *, units: str | None = None) -> None:
    """Refuse a structure whose environments would be meaningless, naming the problem.

    Checks for dummy atoms (X), finite coordinates, a proper cell along every periodic
    axis (finite, and at least :data:`~degeneracy.structures.DEFAULT_MIN_DISTANCE`
    thick: a frame with pbc but no cell would otherwise become a 1 Å crystal), and no
    two atoms (periodic images included) closer than that distance (they would give a
    huge, meaningless CN).

    Parameters
    ----------
    atoms : ase.Atoms
        A whole structure, positions and cell in Å.
    where : str
        Start of the error message, e.g. ``"data.xyz, structure 3"``.
    units : str, optional
        The units the file was read in: atoms too close then ask whether the file is in
        the other ones, when the structure's bonds say so (a file in Å read as bohr).

    Raises
    ------
    DegeneracyError
        Naming ``where`` and the atom, cell vector or pair of atoms.
    """
    check_no_dummy_atoms(atoms, where)
    check_finite_coordinates(atoms.positions, where)
    check_coordinates_in_range(atoms.positions, where)
    check_cell(atoms, where)
    _check_min_distance(atoms, where, units)


def _check_min_distance(atoms: ase.Atoms, where: str, units: str | None) -> None:
    """Refuse two atoms, or an atom and a periodic image, closer than the minimum distance
    (with :func:`~degeneracy.structures.structure_units_hint` in ``units``, if given)."""
    if np.any(atoms.pbc):
        # in the lattice's reduced basis: seconds per call for a sound lattice stored with a
        # large tilt; whether a shift is non-zero does not depend on the basis
        searched = with_reduced_cell(atoms)[0]
        first, second, distances, shifts = neighbor_list("ijdS", searched, DEFAULT_MIN_DISTANCE)
        image = shifts.any(axis=1)
    else:
        first, second, distances = _close_pairs(atoms.positions)
        image = np.zeros(len(distances), dtype=bool)
    if not distances.size:
        return
    # (not an atom and its own image: the cell check keeps those the minimum distance apart)
    k = int(np.argmin(distances))
    i, j = sorted((int(first[k]), int(second[k])))
    across = " (across the periodic boundary)" if image[k] else ""
    hint = "" if units is None else structure_units_hint(atoms, units)
    raise DegeneracyError(
        f"{where}: atoms {i} and {j} are {text_beside(distances[k], DEFAULT_MIN_DISTANCE, 4)} "
        f"Å apart{across}, closer than the "
        f"minimum distance {DEFAULT_MIN_DISTANCE} Å" + (f"; {hint}" if hint else "")
    )


def _close_pairs(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of atoms (no periodicity; a pair may be listed in both orders) closer than the
    minimum distance, and their distances.

    ase's neighbour list costs ~20x more than this on small molecules, which would slow
    the main process of a scan down; large structures use a k-d tree.
    """
    if len(positions) > _DIRECT_PAIRS:
        pairs = cKDTree(positions).query_pairs(DEFAULT_MIN_DISTANCE, output_type="ndarray")
        first, second = pairs.T
    else:
        differences = positions[:, None] - positions[None]
        with np.errstate(over="ignore"):  # far apart (1e300 Å) is inf here: not close
            close = np.einsum("ijk,ijk->ij", differences, differences) < DEFAULT_MIN_DISTANCE**2
        np.fill_diagonal(close, False)
        first, second = np.nonzero(close)
    if not first.size:  # the usual case, kept cheap
        return first, second, np.zeros(0)
    distances = np.linalg.norm(positions[first] - positions[second], axis=1)
    close = distances < DEFAULT_MIN_DISTANCE
    return first[close], second[close], distances[close]


def collect_structures(dataset: Dataset, indices: Iterable[int]) -> dict[int, ase.Atoms]:
    """Structures of the data set by index (one more pass over the file), positions in Å."""
    wanted = {int(i) for i in indices}
    found = dict(dataset.structures(wanted))
    missing = sorted(wanted - set(found))
    if missing:
        raise DegeneracyError(f"{dataset.label}: no structure {missing[0]} in the data set")
    return found


def environments_at(
    structures: dict[int, ase.Atoms],
    picks: Sequence[tuple[int, int]],
    *,
    cutoff: float,
    neighbor_species: Sequence[int] | None = None,
) -> list[ase.Atoms]:
    """The environments of ``(structure, atom)`` pairs; ``info`` has both indices."""
    result = []
    for structure, atom in picks:
        if int(structure) not in structures:
            raise DegeneracyError(f"structure {structure} was not collected")
        (environment,) = environments_of(
            structures[int(structure)],
            [int(atom)],
            cutoff=cutoff,
            neighbor_species=neighbor_species,
        )
        environment.info["structure"] = int(structure)
        result.append(environment)
    return result


# --------------------------------------------------------------------------------------
# Chunk files, manifest and the final merge


def output_format(path: str | os.PathLike) -> str:
    """``"parquet"`` or ``"csv"`` from the output's extension, else a one-line error.

    Also refused: an output in a missing folder, or one that is a folder
    (:func:`~degeneracy.files.output_file`), before any work rather than at the merge.
    """
    fmt = results_format(path)
    output_file(path, "output")
    return fmt


def results_format(path: str | os.PathLike) -> str:
    """``"parquet"`` or ``"csv"`` from a results file's extension, else a one-line error."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise DegeneracyError(
            f"{path}: unknown results format {suffix or '(no extension)'!r}; "
            f"use {' or '.join(sorted(OUTPUT_FORMATS))}"
        )
    return OUTPUT_FORMATS[suffix]


#: What reading or writing a damaged Parquet file raises (ArrowInvalid is a ValueError).
_ARROW_ERRORS = (pa.ArrowException, OSError)


@contextlib.contextmanager
def _chunk_file_errors(path: Path, action: str, hint: str = "") -> Iterator[None]:
    """Arrow and OS errors on a chunk file as a one-line DegeneracyError naming it."""
    try:
        yield
    except _ARROW_ERRORS as error:
        raise DegeneracyError(
            f"{path}: cannot {action} this chunk file ({_first_line(error)}){hint}"
        ) from error


def _chunk_file_problem(path: Path) -> str | None:
    """Why a chunk file cannot be used (unreadable, or not scan results), or None."""
    try:
        schema = pq.read_schema(path)
    except _ARROW_ERRORS as error:
        return f"unreadable: {_first_line(error)}"
    if not schema.remove_metadata().equals(RESULT_SCHEMA):
        return f"not scan results: columns {', '.join(schema.names) or 'none'}"
    return None


def _fsync(path: Path) -> None:
    """Flush a written file to the disk (before it is renamed into place)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (after a rename into it), so the new name survives a crash.

    Best effort: some file systems (network, FUSE) refuse to fsync a folder (EINVAL);
    the chunk itself is already flushed and in place, so that is no reason to stop.
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class ChunkStore:
    """The sidecar folder ``RESULTS.parts/``: manifest plus one Parquet file per chunk."""

    def __init__(self, output: str | os.PathLike) -> None:
        self.output = Path(output)
        self.format = output_format(self.output)
        self.folder = self.output.with_name(self.output.name + ".parts")

    def chunk_path(self, chunk: int) -> Path:
        """File of one finished chunk."""
        return self.folder / f"chunk-{chunk:07d}.parquet"

    def open(self, manifest: dict[str, Any], *, restart: bool = False) -> set[int]:
        """Create or reuse the folder for ``manifest``; the finished chunks' indices.

        Chunk files that cannot be trusted are deleted, with a
        :class:`~degeneracy.errors.DegeneracyWarning`, so that they are computed again:
        those of a folder without a manifest (they belong to no known settings) and
        unreadable ones (e.g. 0 bytes after a crash). A manifest of other settings, or one
        that cannot be read as a JSON object, is refused in one line. Other scans are kept
        out by :meth:`lock`, which :func:`scan_dataset` takes first.
        """
        manifest = json.loads(json.dumps(manifest))
        path = self.folder / _MANIFEST
        if self.folder.exists() and restart:
            # the folder and its lock file stay: a scan holding the lock (lock) keeps it
            self._empty() if self.folder.is_dir() else self.remove()
        if path.exists():
            self._check_manifest(manifest)
        else:
            self.folder.mkdir(exist_ok=True)
            self._discard_orphan_chunks()  # before the manifest that would adopt them
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        for stale in self.folder.glob(".*.part"):  # temp files of a killed run
            stale.unlink()
        self._discard_unusable_chunks()
        return {int(p.stem.split("-")[1]) for p in self.chunk_files()}

    def _check_manifest(self, manifest: dict[str, Any]) -> None:
        """Refuse a folder whose manifest records other settings, or cannot be read."""
        old = self._read_manifest()
        if old != manifest:
            changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
            version = (
                "; written by another version of degeneracy"
                if old.get("format") != manifest.get("format")
                else ""
            )
            raise DegeneracyError(
                f"{self.folder} holds partial results of a different scan (changed: "
                f"{', '.join(changed)}{version}); rerun with restart=True to discard them"
            )

    def _read_manifest(self) -> dict[str, Any]:
        """The settings the folder's manifest records, as a dict; refused in one line if it
        cannot be read as a JSON object.

        Its chunks then belong to no known settings, as those of a folder without a
        manifest, but they are not deleted: a manifest is written whole (atomically) or
        not at all, so a damaged one was damaged by something else (the disk, an edit, a
        copy), and deleting hours of chunks on a guess is left to ``--restart``.
        """
        path = self.folder / _MANIFEST
        try:
            text = path.read_bytes().decode("utf-8")
            old = json.loads(text)
        except OSError as error:  # e.g. a folder
            problem = f"unreadable: {error.strerror or _first_line(error)}"
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except json.JSONDecodeError as error:  # a ValueError, as UnicodeDecodeError
            problem = "empty file" if not text.strip() else f"not JSON: {_first_line(error)}"
        except RecursionError:
            problem = "not JSON: nested too deeply"
        else:
            if isinstance(old, dict):
                return old
            problem = f"a JSON {_json_type(old)}, not an object"
        raise DegeneracyError(
            f"{path}: damaged manifest ({problem}), the settings of the partial results in "
            f"{self.folder} are unknown; rerun with restart=True to discard them"
        )

    def _discard_orphan_chunks(self) -> None:
        """Delete chunk files found without a manifest: no settings vouch for them."""
        orphans = self.chunk_files()
        for orphan in orphans:
            orphan.unlink()
        if orphans:
            files = "file" if len(orphans) == 1 else "files"
            warnings.warn(
                DegeneracyWarning(
                    f"{self.folder}: no {_MANIFEST} to say which scan its {len(orphans)} "
                    f"chunk {files} belong to (an interrupted clean-up?); deleted them, "
                    "they are computed again"
                ),
                stacklevel=4,
            )

    def _discard_unusable_chunks(self) -> None:
        """Delete chunk files that cannot be read back, so that they are computed again."""
        for chunk in self.chunk_files():
            problem = _chunk_file_problem(chunk)
            if problem is not None:
                chunk.unlink()
                warnings.warn(
                    DegeneracyWarning(
                        f"{chunk}: damaged chunk file ({problem}); deleted, it is computed again"
                    ),
                    stacklevel=4,
                )

    def write_chunk(self, chunk: int, table: pa.Table) -> None:
        """Write one chunk's results atomically (with its notes in the schema metadata).

        The file is flushed to the disk before it is renamed into place, and the folder
        after, so that a crash of the machine leaves the chunk either complete or missing.
        """
        path = self.chunk_path(chunk)
        with atomic_path(path) as tmp, _chunk_file_errors(path, "write"):
            pq.write_table(table, str(tmp))
            _fsync(tmp)
        _fsync_folder(self.folder)

    def read_chunk(self, chunk: int) -> pa.Table:
        """The results of one finished chunk."""
        path = self.chunk_path(chunk)
        with _chunk_file_errors(path, "read", "; delete it to have it computed again"):
            return pq.read_table(path, schema=RESULT_SCHEMA)

    def finished_schema(self, block: StructureBlock) -> pa.Schema | None:
        """The schema of ``block``'s finished chunk, with the notes and fingerprints stored
        in its metadata, so that a resumed scan reports them too; None if its file does not
        hold the rows of ``block`` (its structures and centres, in order): a readable file
        copied over another chunk's would otherwise be merged, some structures twice and
        others never.

        One read of the file: the two index columns and the schema with the metadata.
        """
        path = self.chunk_path(block.index)
        with _chunk_file_errors(path, "read", "; delete it to have it computed again"):
            table = pq.read_table(path, columns=["structure", "atom"])
        expected = np.repeat(block.structures, np.diff(block.center_offsets))
        same_rows = np.array_equal(
            np.asarray(table.column("structure")), expected
        ) and np.array_equal(np.asarray(table.column("atom")), block.centers)
        return table.schema if same_rows else None

    def chunk_files(self) -> list[Path]:
        """The finished chunks' files, in chunk order (none if there is no folder)."""
        return sorted(self.folder.glob("chunk-*.parquet")) if self.folder.exists() else []

    def discard_if_empty(self) -> None:
        """Remove the folder if no chunk was finished (e.g. the cluster never started)."""
        if self.folder.exists() and not self.chunk_files():
            shutil.rmtree(self.folder, ignore_errors=True)

    def remove(self) -> None:
        """Delete the folder: the chunk files first, the manifest last.

        Ctrl-C waits until it is gone (:func:`interrupts_deferred`): an interrupted removal
        would leave some chunks beside the manifest, and a rerun would compute the others
        again. A crash midway never leaves chunk files without the manifest that says
        which scan they belong to (:meth:`open` would not trust them anyway).
        """
        with interrupts_deferred():
            for chunk in self.chunk_files():
                chunk.unlink(missing_ok=True)
            (self.folder / _MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.unlock()  # if this process holds it (keep_parts): nothing left to guard

    def _empty(self) -> None:
        """Delete what the folder holds but its lock file (``restart``): the chunk files
        first and the manifest last, as :meth:`remove`; the folder stays, so that the lock
        a scan holds on it (:meth:`lock`) goes on guarding it."""
        with interrupts_deferred():
            for chunk in self.chunk_files():
                chunk.unlink(missing_ok=True)
            for entry in sorted(self.folder.iterdir(), key=lambda p: p.name == _MANIFEST):
                if entry.name == _LOCK:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    # -- the lock: one scan at a time into an output

    @property
    def lock_path(self) -> Path:
        """The lock file of a running scan (:meth:`lock`)."""
        return self.folder / _LOCK

    def _lock_key(self) -> str:
        """The folder's name in :data:`_HELD_LOCKS`: the same for every path to it."""
        return os.path.join(os.path.realpath(self.folder.parent), self.folder.name)

    def lock(self) -> None:
        """Keep other scans out of this output until :meth:`unlock` (or :meth:`remove`).

        An exclusive, non-blocking ``flock`` on ``RESULTS.parts/lock`` (created with the
        folder, and holding this process's id): a second scan into the output, in another
        process or in this one, is refused in one line naming the process that holds it.
        A scan that adopted the first's folder used to fail, once the first had merged
        and removed it, with "chunk 0 is missing, cannot merge". The operating system
        releases the lock when the process ends, even killed: a stale lock file blocks
        nothing. Only this process (never the Dask workers) holds it.

        Held by a finished scan of this process (``keep_parts``), it is taken over. Where
        there is no ``fcntl`` (not POSIX) or the file system has no locks, nothing is
        locked (with a :class:`~degeneracy.errors.DegeneracyWarning` in the latter case).
        """
        if fcntl is None:
            return
        key = self._lock_key()
        with interrupts_deferred(), _HELD_LOCKS_GUARD:
            held = _HELD_LOCKS.get(key)
            if held is not None:
                if held.active:
                    raise DegeneracyError(self._busy(os.getpid()))
                if _same_file(held.descriptor, self.lock_path):
                    held.active = True
                    return
                _release_lock(key)  # its folder was removed meanwhile
            descriptor = self._acquire()
            if descriptor is not None:
                _HELD_LOCKS[key] = _HeldLock(descriptor, Path(key) / _LOCK, os.getpid())
                _release_locks_at_exit()

    def _acquire(self) -> int | None:
        """A descriptor of the lock file, locked; None if the file system cannot lock."""
        for _ in range(_LOCK_ATTEMPTS):
            try:
                self.folder.mkdir(exist_ok=True)
            except OSError as error:  # e.g. RESULTS.parts is a file
                raise DegeneracyError(
                    f"{self.folder}: cannot make the folder of the partial results there "
                    f"({error.strerror or _first_line(error)})"
                ) from error
            try:
                descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except FileNotFoundError:
                continue  # the folder was removed meanwhile, by a scan that finished
            except OSError as error:
                raise DegeneracyError(
                    f"{self.lock_path}: cannot create the lock file of the scan "
                    f"({error.strerror or _first_line(error)})"
                ) from error
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = lock_owner(descriptor)
                os.close(descriptor)
                raise DegeneracyError(self._busy(owner)) from None
            except OSError as error:  # a file system without flock (some NFS, Lustre)
                os.close(descriptor)
                self.lock_path.unlink(missing_ok=True)
                warnings.warn(
                    DegeneracyWarning(
                        f"{self.lock_path}: cannot lock it ({error.strerror or error}); "
                        f"another scan into {self.output} at the same time would not be "
                        "refused"
                    ),
                    stacklevel=4,
                )
                return None
            if _same_file(descriptor, self.lock_path):
                record_lock_owner(descriptor)
                return descriptor
            os.close(descriptor)  # removed, by the scan that held it as it finished: again
        raise DegeneracyError(
            f"{self.lock_path}: cannot lock it, it keeps being removed (other scans "
            f"finishing into {self.output}?); try again"
        )

    def _busy(self, owner: int | None) -> str:
        """The refusal of a scan into an output that another scan holds."""
        pid = "" if owner is None else f" (pid {owner})"
        return (
            f"another scan is writing {self.output}{pid}; wait for it or choose another output=..."
        )

    def unlock(self) -> None:
        """Let other scans into the output (:meth:`lock`); nothing if not held here.

        The lock file is deleted first, and the folder too if that leaves it empty.
        """
        with interrupts_deferred(), _HELD_LOCKS_GUARD:
            _release_lock(self._lock_key())

    def keep_lock(self) -> None:
        """Hold the lock past the scan, for a caller that has more to do with the chunks
        (``keep_parts``): until :meth:`remove` or the end of the process; a next scan of
        this process into the output takes it over."""
        with _HELD_LOCKS_GUARD:
            held = _HELD_LOCKS.get(self._lock_key())
            if held is not None:
                held.active = False

    @contextlib.contextmanager
    def locked(self, *, keep: bool = False) -> Iterator[None]:
        """:meth:`lock` for the block; released when it ends, by an exception too, or kept
        after a success if ``keep`` (:meth:`keep_lock`)."""
        self.lock()
        try:
            yield
        except BaseException:
            self.unlock()
            raise
        if keep:
            self.keep_lock()
        else:
            self.unlock()

    def merge(self, n_chunks: int, *, remove: bool = True) -> int:
        """Concatenate chunks ``0..n_chunks-1`` atomically into the output; rows written.

        The folder is removed afterwards (:meth:`remove`) unless ``remove`` is false.
        """
        missing = [k for k in range(n_chunks) if not self.chunk_path(k).exists()]
        if missing:
            raise DegeneracyError(f"{self.folder}: chunk {missing[0]} is missing, cannot merge")
        rows = 0
        writer_class = pq.ParquetWriter if self.format == "parquet" else pacsv.CSVWriter
        with atomic_path(self.output) as tmp, writer_class(str(tmp), RESULT_SCHEMA) as writer:
            for k in range(n_chunks):
                table = self.read_chunk(k)
                writer.write_table(table)
                rows += table.num_rows
        if remove:
            self.remove()
        return rows


def _json_type(value: Any) -> str:
    """The JSON name of a parsed JSON value's type (for messages)."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


@dataclass
class _HeldLock:
    """The lock of one parts folder that this process holds (:meth:`ChunkStore.lock`)."""

    descriptor: int
    path: Path  # absolute: the working folder may change meanwhile
    pid: int  # of the process that took it: a forked child's copy is not its own
    active: bool = True  # False: kept after its scan (keep_parts), for a next one to take


#: The parts folders' locks this process holds, by :meth:`ChunkStore._lock_key`: a flock
#: conflicts with another descriptor of the same file even in the same process.
_HELD_LOCKS: dict[str, _HeldLock] = {}
_HELD_LOCKS_GUARD = threading.Lock()
_EXIT_RELEASE: list[bool] = []


def _same_file(descriptor: int, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``descriptor`` (not removed or replaced)."""
    try:
        here, there = os.fstat(descriptor), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _release_lock(key: str) -> None:
    """Release the lock of :data:`_HELD_LOCKS` ``key`` (caller holds the guard): delete
    the lock file while it is still ours, and its folder if that leaves it empty, then
    close it. A scan that opened the file meanwhile finds it gone once it has the lock
    (:func:`_same_file`) and makes a new one."""
    held = _HELD_LOCKS.pop(key, None)
    if held is None:
        return
    try:
        if held.pid == os.getpid() and _same_file(held.descriptor, held.path):
            held.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: chunks kept for a rerun
                held.path.parent.rmdir()
    finally:
        os.close(held.descriptor)


def _release_every_lock() -> None:
    """Release the locks this process holds (at its exit: kept ones, ``keep_parts``)."""
    with _HELD_LOCKS_GUARD:
        for key in list(_HELD_LOCKS):
            _release_lock(key)


def _release_locks_at_exit() -> None:
    """Have the interpreter's exit release the locks (:func:`_release_every_lock`): the
    operating system would too, but leave their files in the kept parts folders."""
    if not _EXIT_RELEASE:
        atexit.register(_release_every_lock)
        _EXIT_RELEASE.append(True)


def _forget_locks_after_fork() -> None:
    """In a forked child: close its copies of the parent's locks, unreleased (the parent
    holds them; a worker that outlived it would keep its folder locked)."""
    global _HELD_LOCKS_GUARD
    _HELD_LOCKS_GUARD = threading.Lock()
    for held in _HELD_LOCKS.values():
        with contextlib.suppress(OSError):
            os.close(held.descriptor)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_after_fork)


#: The signals :func:`interrupts_deferred` holds back: Ctrl-C, and SIGTERM, which the
#: command line turns into the same interruption (``cli.Terminated``).
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back until the block is done, then act on them.

    For short steps that must not stop halfway. A signal received meanwhile is raised
    again once the block completes, for the handler that was in place (Python's SIGINT
    handler raises KeyboardInterrupt, the command line's SIGTERM handler
    ``cli.Terminated``; SIGTERM's default action ends the process); if the block raises,
    that exception goes on instead. Outside the main thread, where no handler can be set,
    nothing is held back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        number: signal.signal(number, lambda signum, frame: received.append(signum))
        for number in DEFERRED_SIGNALS
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for number in dict.fromkeys(received):  # each once, in the order they came
        signal.raise_signal(number)


#: Modules a scan imports on first use that load compiled extensions (msgpack, psutil,
#: tornado's, pyarrow's datasets): :func:`scan_dataset` imports them up front.
SCAN_MODULES = ("distributed", "pyarrow.dataset")


def import_uninterrupted(modules: Iterable[str]) -> None:
    """Import ``modules`` with Ctrl-C held back (:func:`interrupts_deferred`).

    A KeyboardInterrupt raised inside the initialisation of a compiled extension leaves
    it half made ("ImportError: initialization failed"): matplotlib's ``ft2font`` then
    ended the interpreter's exit with a fatal error about the GIL.
    """
    with interrupts_deferred():
        for name in modules:
            importlib.import_module(name)


def read_results(path: str | os.PathLike) -> pa.Table:
    """A scan's results file (Parquet or CSV) as a table with :data:`RESULT_SCHEMA`.

    Parameters
    ----------
    path : path-like
        The results file; its format is chosen by its extension, ``.parquet`` or ``.csv``.

    Returns
    -------
    pyarrow.Table
        One row per environment, the columns of :data:`RESULT_SCHEMA` in its order (a CSV
        file's ``nan`` stays NaN, not null).

    Raises
    ------
    DegeneracyError
        When ``path`` is not a file name, does not exist, is a folder, does not end in
        ``.parquet`` or ``.csv``, cannot be read, or lacks a results column (the message
        says so when only the :data:`ADDED_COLUMNS` are missing: results of an older
        version of degeneracy).
    """
    path = existing_file(path, "scan results file")
    check_not_a_stream(path, "scan results")
    fmt = results_format(path)  # read only: the folder need not be writable
    try:
        if fmt == "parquet":
            # read_table with a schema fills the columns a file lacks with nulls
            _check_columns(path, pq.read_schema(path).names)
            return pq.read_table(path, schema=RESULT_SCHEMA)
        # No null values: pyarrow's defaults would read the undefined rows' "nan" as null,
        # unlike the same rows of a Parquet file.
        options = pacsv.ConvertOptions(
            column_types={f.name: f.type for f in RESULT_SCHEMA},
            null_values=[],
            strings_can_be_null=False,
        )
        table = pacsv.read_csv(path, convert_options=options)
        _check_columns(path, table.column_names)
        return table.select(RESULT_SCHEMA.names)
    except (*_ARROW_ERRORS, KeyError) as error:
        raise DegeneracyError(
            f"{path}: cannot read it as scan results ({_first_line(error)})"
        ) from error


def _check_columns(path: Path, names: Sequence[str]) -> None:
    """Refuse a results file without every column of :data:`RESULT_SCHEMA`, naming them;
    one without only :data:`ADDED_COLUMNS` as results of an older version."""
    missing = [n for n in RESULT_SCHEMA.names if n not in names]
    if not missing:
        return
    if set(missing) <= set(ADDED_COLUMNS):
        since = max(ADDED_COLUMNS[n] for n in missing)
        raise DegeneracyError(
            f"{path}: scan results of an older version of degeneracy (no column "
            f"{', '.join(missing)}, added on {since}); scan the data set again"
        )
    raise DegeneracyError(
        f"{path}: not scan results (no column {', '.join(missing[:3])}"
        f"{', ...' if len(missing) > 3 else ''})"
    )


def _results_table(results: Any, columns: Sequence[str]) -> pa.Table:
    """``results`` if it is a pyarrow Table with these columns (of :data:`RESULT_SCHEMA`),
    else a :class:`~degeneracy.errors.DegeneracyError` naming what it is or lacks."""
    if not isinstance(results, pa.Table):
        raise DegeneracyError(
            "results must be a pyarrow Table of scan results (read_results), got "
            f"{type(results).__name__}"
        )
    missing = [name for name in columns if name not in results.column_names]
    if missing:
        wanted = f"a {missing[0]} column" if len(missing) == 1 else f"columns {', '.join(missing)}"
        raise DegeneracyError(
            f"results must be a pyarrow Table of scan results with {wanted} (read_results); "
            f"it has {', '.join(results.column_names) or 'no columns'}"
        )
    return results


def without_kinks(results: pa.Table) -> pa.Table:
    """The rows of scan results whose verdict is not ``kink`` (:data:`VERDICT_KINK`):
    where the fingerprint has no Jacobian the CN is one one-sided derivative's, so the CN
    statistics (quantiles, histogram, ``n_infinite``) leave them out.

    Parameters
    ----------
    results : pyarrow.Table
        Scan results with the ``verdict`` column of :data:`RESULT_SCHEMA` (e.g. from
        :func:`read_results`).

    Returns
    -------
    pyarrow.Table
        The other rows, in order.

    Raises
    ------
    DegeneracyError
        When ``results`` is not a table with a ``verdict`` column.
    """
    results = _results_table(results, ["verdict"])
    kink = np.asarray(results.column("verdict")) == VERDICT_KINK
    return results.filter(pa.array(~kink)) if kink.any() else results


# --------------------------------------------------------------------------------------
# Dask

#: Longest ``connect_timeout`` (s; ``scan --connect-timeout``): an hour, far beyond any
#: scheduler's start; 1e308 waited for a closed port until killed. The local cluster's
#: wait for its first worker is the larger of it and 30 s (:class:`_LazyClient`).
MAX_CONNECT_TIMEOUT = 3600.0

#: Why :data:`MAX_CONNECT_TIMEOUT` is there, in its refusals.
CONNECT_TIMEOUT_REASON = "an hour; a scheduler that is not up by then is not coming"


def connect_timeout_value(value: Any, name: str = "connect_timeout") -> float:
    """``value`` as seconds to wait for a Dask scheduler, in (0,
    :data:`MAX_CONNECT_TIMEOUT`]; else named, with the bound and its reason."""
    return bounded_float(
        name, value, at_most=MAX_CONNECT_TIMEOUT, unit=" s", why=CONNECT_TIMEOUT_REASON
    )


@contextlib.contextmanager
def _neighbour_pairs_forgotten() -> Iterator[None]:
    """Drop the neighbour pairs this process kept for large structures when the chunks are
    done (:func:`~degeneracy.environments.forget_neighbour_pairs`)."""
    try:
        yield
    finally:
        forget_neighbour_pairs()


def check_one_cluster(client: Any, scheduler: str | None, workers: int | None) -> None:
    """Refuse a scan told of two clusters: a ``client`` has its own scheduler and
    workers, and ``workers`` sizes the local cluster a ``scheduler`` replaces (either
    was ignored before)."""
    given = [
        name
        for name, value in (("client", client), ("scheduler", scheduler), ("workers", workers))
        if value is not None
    ]
    if len(given) > 1:
        raise DegeneracyError(
            f"{' and '.join(given)}: give one of them (a client or a scheduler has its own "
            "workers; workers sizes a new local cluster)"
        )


@contextlib.contextmanager
def dask_client(
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    connect_timeout: float = 10.0,
) -> Iterator[Any]:
    """A Dask client: to the scheduler at ``scheduler``, or to a new local cluster.

    The local cluster has ``workers`` single-threaded workers (default: the CPUs this
    process may use), each a separate process with :data:`WORKER_ENV` (one featomic and
    BLAS thread each) unless ``processes`` is false. Its worker processes do not see
    Ctrl-C (:func:`sigint_blocked`): the main process gets the KeyboardInterrupt and shuts
    the cluster down, with distributed's loggers silenced meanwhile.
    """
    from distributed import Client

    if scheduler is not None:
        with (
            _logger_levels_restored("distributed"),
            _scheduler_client(scheduler, connect_timeout) as client,
        ):
            yield client
        return
    workers = default_workers() if workers is None else bounded_int("workers", workers, minimum=1)
    with (
        _logger_levels_restored("distributed"),
        _SigintIgnoredOnRequest() as sigint,
        contextlib.ExitStack() as stack,
    ):
        try:
            cluster = _start_local_cluster(stack, workers=workers, processes=processes)
            yield stack.enter_context(Client(cluster))
        except KeyboardInterrupt:
            # Ctrl-C: the cluster is shut down with tasks running; its complaints are noise,
            # and a second Ctrl-C would cut the shutdown short (distributed's exit hook then
            # waits 10 s for the half-closed cluster).
            _set_logger_levels("distributed", logging.CRITICAL)
            sigint.ignore()
            raise


@contextlib.contextmanager
def _scheduler_client(scheduler: str, connect_timeout: float) -> Iterator[Any]:
    """A client of the Dask scheduler at ``scheduler``, asked first whether it is one
    (:func:`~degeneracy.dask_connection.probe_scheduler`, within about
    ``connect_timeout``). distributed's loggers are silenced while it is open: the
    scan reports a lost scheduler or worker in one line, and their records (with
    tracebacks) would only repeat it."""
    from distributed import Client

    scheduler = scheduler_address(scheduler)
    connect_timeout = connect_timeout_value(connect_timeout)
    probe_scheduler(scheduler, connect_timeout)
    _set_logger_levels("distributed", logging.CRITICAL)
    try:
        client = Client(scheduler, timeout=connect_timeout)
    except Exception as error:  # OSError, TimeoutError
        raise DegeneracyError(
            f"cannot connect to the Dask scheduler at {scheduler!r}: {_first_line(error)}"
        ) from error
    try:
        yield client
    finally:
        _close_after_the_scan(client)


def _close_after_the_scan(client: Any) -> None:
    """Close ``client``; a connection already lost makes closing fail too (distributed's
    reconnect: "RuntimeError: ConnectionPool is closed"), which would replace the scan's
    own one-line error (or its result) with that traceback."""
    try:
        client.close()
    except Exception:
        pass


def _start_local_cluster(stack: contextlib.ExitStack, *, workers: int, processes: bool) -> Any:
    """A :class:`distributed.LocalCluster` (closed by ``stack``) whose worker processes
    do not see Ctrl-C (:func:`sigint_blocked`)."""
    from distributed import LocalCluster

    from .worker_logging import QuietWhileClosing

    with warnings.catch_warnings(), sigint_blocked(processes):
        # The scheduler's HTTP server falls back to a free port when 8787 is taken.
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            **({"env": WORKER_ENV, "plugins": (QuietWhileClosing(),)} if processes else {}),
        )
        # in the stack before SIGINT is unblocked: a Ctrl-C during the start closes it
        return stack.enter_context(cluster)


class _SigintIgnoredOnRequest:
    """A context in which :meth:`ignore` ignores SIGINT until the context ends (main
    thread only; elsewhere nothing is done)."""

    def __enter__(self) -> _SigintIgnoredOnRequest:
        self._previous: Any = None
        return self

    def ignore(self) -> None:
        """Ignore SIGINT from now until the context exits."""
        if threading.current_thread() is threading.main_thread() and self._previous is None:
            self._previous = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _logger_names(root: str) -> list[str]:
    """The logger ``root`` and its existing descendants."""
    return [root] + [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(f"{root}.")
    ]


def _set_logger_levels(root: str, level: int) -> None:
    """Set the level of the logger ``root`` and of its existing descendants."""
    for name in _logger_names(root):
        logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _logger_levels_restored(root: str) -> Iterator[None]:
    """Restore the levels of the logger ``root`` and its descendants at the end."""
    levels = {name: logging.getLogger(name).level for name in _logger_names(root)}
    try:
        yield
    finally:
        for name in _logger_names(root):  # loggers created meanwhile inherit again
            logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


def default_workers() -> int:
    """CPUs available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------
# The scan


@dataclass
class ScanSummary:
    """What a scan did: where the results are, how many environments, how long."""

    output: Path
    format: str
    n_structures: int
    n_environments: int
    n_undefined: int
    n_chunks: int
    n_resumed_chunks: int
    n_computed: int
    n_threads: int
    seconds: float
    startup_seconds: float
    centers: list[str] | None
    settings: dict[str, Any] = field(default_factory=dict)
    #: Environments with an infinite CN: s_min is zero (the fingerprint has fewer features
    #: than the environment has internal motions) or at round-off
    #: (:func:`~degeneracy.sensitivity.condition_number`); kinks not counted.
    n_infinite: int = 0
    #: Environments with the verdict ``zero`` (:data:`VERDICT_ZERO`): a singular value
    #: below :data:`~degeneracy.sensitivity.ZERO_RTOL` of s_1, infinite CNs included.
    n_with_zeros: int = 0
    #: Environments with the verdict ``kink`` (:data:`VERDICT_KINK`): the fingerprint has
    #: no Jacobian there, and their CN (one one-sided derivative's) is left out of the CN
    #: statistics (:func:`without_kinks`).
    n_kinks: int = 0
    #: The representation's warnings about the scanned environments (e.g. an ACSF set
    #: blind to the bond lengths), one per subject, from computed and resumed chunks alike:
    #: as the lowest chunk with that subject words it, so a resumed scan has the same.
    warnings: list[str] = field(default_factory=list)
    #: Species of the centres scanned (those with a row in the results), by atomic number;
    #: ``centers`` is what was asked (None: every atom).
    centers_scanned: list[str] = field(default_factory=list)
    #: For a species-aware representation, which it is rebuilt for each environment's
    #: species (:class:`RepresentationRecipe`): the species each fingerprint was built for,
    #: ``{"center", "neighbors", "environments"}`` (the other keyword arguments are those
    #: of ``settings["representation"]``); None for a representation used as given.
    fingerprints: list[dict[str, Any]] | None = None

    @property
    def throughput(self) -> float:
        """Environments computed per second in this run (resumed chunks excluded)."""
        return self.n_computed / max(self.seconds, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "output": str(self.output),
            "format": self.format,
            "n_structures": self.n_structures,
            "n_environments": self.n_environments,
            "n_undefined": self.n_undefined,
            "n_infinite": self.n_infinite,
            "n_with_zeros": self.n_with_zeros,
            "n_kinks": self.n_kinks,
            "n_chunks": self.n_chunks,
            "n_resumed_chunks": self.n_resumed_chunks,
            "n_computed": self.n_computed,
            "n_threads": self.n_threads,
            "seconds": self.seconds,
            "startup_seconds": self.startup_seconds,
            "environments_per_second": self.throughput,
            "centers": self.centers,
            "centers_scanned": self.centers_scanned,
            "settings": self.settings,
            "fingerprints": self.fingerprints,
            "warnings": self.warnings,
        }


def reported_settings(manifest: dict[str, Any], recipe: RepresentationRecipe) -> dict[str, Any]:
    """The manifest's settings as the summary reports them: the representation's keyword
    arguments with every setting ``hypers()`` leaves at its default written out
    (:func:`~degeneracy.representations.base.every_hyper`, ACSF's ``angular: g4``). The
    manifest itself keeps ``hypers()``: it is the resume token of scans already on disk."""
    settings = json.loads(json.dumps(manifest))
    described = settings["representation"]
    described["kwargs"] = every_hyper(recipe, described["kwargs"])
    return settings


def scan_dataset(
    source: str | os.PathLike | Sequence[ase.Atoms] | Dataset,
    representation: Representation | RepresentationRecipe,
    *,
    output: str | os.PathLike,
    centers: str | Sequence[str | int] | None = None,
    neighbors: str | Sequence[str | int] | None = None,
    cutoff: float | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    connect_timeout: float = 10.0,
    restart: bool = False,
    progress: bool = False,
    keep_parts: bool = False,
    units: str = "angstrom",
    read_format: str | None = None,
) -> ScanSummary:
    r"""Scan every environment of a data set on Dask; results to Parquet or CSV, resumable.

    Parameters
    ----------
    source : path-like, ase.Atoms, sequence of ase.Atoms or Dataset
        Any file :func:`ase.io.iread` reads (positions in ``units``), or structures (one
        or more).
    representation : Representation
        The fingerprint; rebuilt on the workers (:class:`RepresentationRecipe`).
    output : path-like
        ``*.parquet`` or ``*.csv``; written once, atomically, when every chunk is done.
    centers : species, optional
        Centre species (``"C"``, ``"C,H"``, ``["C"]``) or ``"all"`` (every atom). Default:
        the representation's own ``center`` hyperparameter if it has one, else every atom.
    neighbors : species, optional
        Keep only neighbours of these species (default: every atom within the cutoff).
        A data set with none of them is refused before any work
        (:func:`check_neighbor_species`); one lacking only some is scanned with a warning.
    cutoff : float, optional
        Neighbour cutoff (Å); default the representation's ``cutoff``, else 2.5 Å. A
        representation with a cutoff must be given its own: a larger one would add
        neighbours that the fingerprint ignores (spurious zero singular values), a smaller
        one would leave out neighbours it sees.
    chunk_size, batch_size : int
        Environments per chunk (unit of work and of resume) and per representation call.
    client : distributed.Client, optional
        Use this client (not closed). Else ``scheduler`` (address of a running Dask
        scheduler) or a new local cluster of ``workers`` processes.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786`` or ``host:8786``) whose
        workers scan; not with ``client`` or ``workers``. Its workers must run this
        degeneracy code (checked before the first chunk, and by every chunk's task on
        its worker: a worker that joins later with other code stops the scan).
    workers : int, optional
        Processes (threads with ``processes=False``) of the local cluster made when
        neither ``client`` nor ``scheduler`` is given; default the CPUs this process may
        use (:func:`default_workers`).
    processes : bool
        Local cluster of processes (default) or of threads in this process.
    connect_timeout : float
        Seconds to wait for ``scheduler`` to answer, for its first worker and, during the
        scan, for a worker when none is left; at most :data:`MAX_CONNECT_TIMEOUT`. A local
        cluster or ``client`` waits at least :data:`LOCAL_WORKER_WAIT` for workers.
    restart : bool
        Discard partial results of an earlier, different scan to the same output.
    progress : bool
        Show a tqdm progress bar on stderr.
    keep_parts : bool
        Keep the chunk files (``OUTPUT.parts/``) after the merge into ``output``, so that
        a rerun after an interruption of what the caller does next (e.g. writing reports)
        computes nothing again; the caller removes them
        (:meth:`ChunkStore.remove`) when done. Until then the output stays locked
        against scans of other processes (:meth:`ChunkStore.lock`; released at the end
        of this process at the latest); a next scan of this process takes it over.
    units : {"angstrom", "bohr"}
        Length unit of the positions (and cells) of ``source`` (``--units``); a
        :class:`Dataset` carries its own.
    read_format : str, optional
        ase's format name, if not clear from the file's name (``--read-format``).

    Returns
    -------
    ScanSummary

    Notes
    -----
    Each row of the results is one environment: ``structure`` (index in the data set),
    ``atom`` (index of the centre), ``species``, ``n_neighbors``, ``s_max`` :math:`= s_1`,
    ``s_min`` :math:`= s_{3N-3}`, ``cn`` :math:`= s_1/s_{3N-3}` of the rotation-purified
    Jacobian, ``verdict`` (``kink``, ``regular`` or ``zero``, :func:`row_verdicts`; empty
    where undefined) and ``reason`` (empty, or why the spectrum is undefined).
    """
    processes = true_or_false("processes", processes)
    restart = true_or_false("restart", restart)
    progress = true_or_false("progress", progress)
    keep_parts = true_or_false("keep_parts", keep_parts)
    started = time.perf_counter()
    store = ChunkStore(output)
    chunk_size = bounded_int("chunk_size", chunk_size, minimum=1)
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    connect_timeout = connect_timeout_value(connect_timeout)
    if scheduler is not None:
        scheduler = scheduler_address(scheduler)
    check_one_cluster(client, scheduler, workers)
    if isinstance(source, Dataset):
        if units != "angstrom" or read_format is not None:
            raise DegeneracyError(
                "units and read_format describe a file or structures; a Dataset has its own "
                f"(units {source.units!r})"
            )
        dataset = source
    else:
        dataset = Dataset(source, units=units, read_format=read_format)
    recipe = RepresentationRecipe.of(representation)
    cutoff = scan_cutoff(cutoff, recipe)
    if centers is None:
        centers = recipe.kwargs.get("center", "all")
    center_numbers = None if centers == "all" else parse_species(centers)
    neighbor_numbers = None if neighbors in (None, "all") else parse_species(neighbors)
    # before any work; held until the end, or past it for the caller (keep_parts)
    with store.locked(keep=keep_parts):
        check_neighbor_species(dataset, neighbor_numbers)
        manifest = {
            "format": _MANIFEST_VERSION,
            "package": _package_version(),
            "dataset": dataset.fingerprint(),
            "representation": recipe.describe(),
            "centers": None if center_numbers is None else list(symbols_of(center_numbers)),
            "neighbors": None if neighbor_numbers is None else list(symbols_of(neighbor_numbers)),
            "cutoff": cutoff,
            "chunk_size": chunk_size,
            "zero_rtol": ZERO_RTOL,
        }
        species_seen: set[int] = set()
        counts = {"structures": 0, "environments": 0, "computed": 0, "chunks": 0}
        tally = _NoteTally()
        fingerprints = _FingerprintTally()
        structures = _SurveyedStructures(dataset, counts)
        blocks = plan_chunks(
            structures.read(),
            centers=center_numbers,
            chunk_size=chunk_size,
            species_seen=species_seen,
        )
        import_uninterrupted(SCAN_MODULES)
        done = store.open(manifest, restart=restart)
        cluster = _LazyClient(
            client,
            scheduler=scheduler,
            workers=workers,
            processes=processes,
            connect_timeout=connect_timeout,
        )
        # a scan in threads keeps a large crystal's neighbour pairs in this process
        with _finished_chunks_named(store), cluster, _neighbour_pairs_forgotten():
            _run_chunks(
                cluster,
                recipe,
                blocks,
                store,
                done,
                counts,
                tally,
                fingerprints,
                cutoff=cutoff,
                neighbor_species=neighbor_numbers,
                batch_size=batch_size,
                progress=progress,
            )
        if counts["environments"] == 0:
            store.remove()
            raise _nothing_to_scan(dataset, species_seen, center_numbers)
        notes = dataset_notes(
            tally.notes(),
            dataset,
            recipe,
            cutoff=cutoff,
            neighbor_species=neighbor_numbers,
            n_environments=counts["environments"],
        )
        absent = sorted(set(neighbor_numbers or ()) - species_seen)
        if absent:  # a typo in the neighbour species would scan only undefined environments
            notes.append(
                f"{dataset.label}: no atom of neighbour species {species_text(symbols_of(absent))} "
                f"in the data set (it has {species_text(symbols_of(species_seen))})"
            )
        for note in notes:
            warnings.warn(DegeneracyWarning(note), stacklevel=2)
        store.merge(counts["chunks"], remove=not keep_parts)
        results = read_results(store.output)
        reasons = np.asarray(results.column("reason"))
        note = few_neighbours_note(
            dataset.label,
            reasons,
            cutoff,
            neighbors=neighbor_numbers,
            units=dataset.units,
            from_file=dataset.path is not None,
        )
        if note is not None:
            notes.append(note)
            warnings.warn(DegeneracyWarning(note), stacklevel=2)
        return ScanSummary(
            output=store.output,
            format=store.format,
            n_structures=counts["structures"],
            n_environments=counts["environments"],
            n_chunks=counts["chunks"],
            n_resumed_chunks=len(done & set(range(counts["chunks"]))),
            n_computed=counts["computed"],
            n_threads=cluster.n_threads,
            seconds=time.perf_counter() - started,
            startup_seconds=cluster.startup_seconds,
            centers=None if center_numbers is None else list(symbols_of(center_numbers)),
            settings=reported_settings(manifest, recipe),
            warnings=structures.units_notes + notes,
            fingerprints=fingerprints.entries() if recipe.species_aware else None,
            **_result_counts(results, reasons),
        )


class _SurveyedStructures:
    """A data set's structures as a scan reads them: counted in ``counts["structures"]``,
    and the first :data:`SURVEY_STRUCTURES` checked for a slip of units
    (:func:`warn_of_units`, whose notes are kept in ``units_notes``) as soon as they are
    read: a unit slip is not worth a scan."""

    def __init__(self, dataset: Dataset, counts: dict[str, int]) -> None:
        self.dataset = dataset
        self.counts = counts
        self.first: list[ase.Atoms] = []
        self.units_notes: list[str] = []

    def read(self) -> Iterator[tuple[int, ase.Atoms]]:
        """``(index, structure)`` pairs of the data set, counted and surveyed."""
        for index, atoms in self.dataset.structures():
            self.counts["structures"] = index + 1
            if len(self.first) < SURVEY_STRUCTURES:
                self.first.append(atoms)
                if len(self.first) == SURVEY_STRUCTURES:
                    self.units_notes.extend(warn_of_units(self.dataset, self.first))
            yield index, atoms
        if len(self.first) < SURVEY_STRUCTURES:
            self.units_notes.extend(warn_of_units(self.dataset, self.first))


@contextlib.contextmanager
def _finished_chunks_named(store: ChunkStore) -> Iterator[None]:
    """Remove an output folder that kept no chunk when the block fails; a
    :class:`DegeneracyError` with finished chunks kept says where they are and how the
    scan resumes from them."""
    try:
        yield
    except DegeneracyError as error:
        store.discard_if_empty()
        kept = len(store.chunk_files())
        if not kept:
            raise
        raise DegeneracyError(
            f"{_first_line(error)} ({kept} finished chunk{'' if kept == 1 else 's'} kept in "
            f"{store.folder}: the same scan of the same input resumes from them; a changed "
            "input needs restart=True)"
        ) from error
    except BaseException:
        store.discard_if_empty()
        raise


def _nothing_to_scan(
    dataset: Dataset, species_seen: set[int], center_numbers: Sequence[int] | None
) -> DegeneracyError:
    """The error of a scan that found no environment: the file held no structure that
    ase could read as such (e.g. an XYZ file named .pdb), or no centre of the species
    asked for."""
    if not species_seen and dataset.path is not None:
        empty = holds_nothing(
            dataset.path, [ase.Atoms()], read_format=dataset.read_format, option="read_format"
        )
        label = f"{dataset.path}: "
        return DegeneracyError(label + "no environments to scan: " + empty.removeprefix(label))
    wanted = "any atom" if center_numbers is None else species_text(symbols_of(center_numbers))
    return DegeneracyError(
        f"{dataset.label}: no environments to scan: no centre of species {wanted} "
        f"(the data set has {species_text(symbols_of(species_seen)) or 'no atoms'})"
    )


def _result_counts(results: pa.Table, reasons: np.ndarray) -> dict[str, Any]:
    """What :class:`ScanSummary` counts in a scan's results table (``reasons``: its
    ``reason`` column as an array): environments with an undefined spectrum, an infinite
    CN (kinks left out), a zero and a kink, and the centre species scanned (in order of
    atomic number)."""
    verdicts = np.asarray(results.column("verdict"))
    smooth = without_kinks(results)
    return {
        "n_undefined": int(np.count_nonzero(reasons != "")),
        "n_infinite": int(np.count_nonzero(np.isinf(np.asarray(smooth.column("cn"), dtype=float)))),
        "n_with_zeros": int(np.count_nonzero(verdicts == VERDICT_ZERO)),
        "n_kinks": int(np.count_nonzero(verdicts == VERDICT_KINK)),
        "centers_scanned": sorted(
            set(results.column("species").to_pylist()), key=ase.data.atomic_numbers.get
        ),
    }


def check_neighbor_species(dataset: Dataset, neighbors: Sequence[int] | None) -> None:
    """Refuse neighbour species (atomic numbers) of which the data set has no atom at all,
    before any work: every environment would have fewer than 2 neighbours and an
    undefined spectrum, as a scan of centres the data set lacks has nothing to scan.

    The structures are read, unchecked, only until one holds a species of ``neighbors``
    (as a rule the first: one file index and one structure, 0.16 s for 5000 structures
    of 64 Si atoms, 17 MB); only a data set without any is read to its end (1.1 s for
    those, a tenth of the checked reading of the scan). Some of the species missing is
    not refused: the scan warns of them at its end. An empty data set is left to the
    scan's own refusal, which says why it is empty.
    """
    if not neighbors:
        return
    wanted = set(neighbors)
    present: set[int] = set()
    for atoms in dataset._raw():
        numbers = set(atoms.numbers.tolist())
        if numbers & wanted:
            return
        present |= numbers
    if present:
        raise DegeneracyError(
            f"{dataset.label}: no neighbours to count: no atom of neighbour species "
            f"{species_text(symbols_of(wanted))} (the data set has "
            f"{species_text(symbols_of(present))})"
        )


def warn_of_units(dataset: Dataset, structures: Sequence[ase.Atoms]) -> list[str]:
    """Warn (:class:`DegeneracyWarning`) when the bonds of the data set's first
    ``structures`` say its units are the other ones (:func:`survey_structure_bonds`,
    :func:`bond_units_note`); the note as a list of none or one."""
    note = bond_units_note(survey_structure_bonds(structures), dataset.label, dataset.units)
    if note is None:
        return []
    warnings.warn(DegeneracyWarning(note), stacklevel=2)
    return [note]


#: Share of environments with fewer than two neighbours above which a scan warns that its
#: cutoff likely misses the first shell (fcc Cu at 2.5 Å: 74 %).
FEW_NEIGHBOURS_SHARE = 0.25


def few_neighbours_note(
    label: str,
    reasons: np.ndarray,
    cutoff: float,
    *,
    neighbors: Sequence[int] | None = None,
    units: str = "angstrom",
    from_file: bool = True,
) -> str | None:
    """A warning when more than :data:`FEW_NEIGHBOURS_SHARE` of the environments have
    fewer than two neighbours within ``cutoff`` (their spectrum is undefined): a cutoff
    below the nearest-neighbour distance, a file in bohr read as Å (asked only when
    ``units`` is Å: read as bohr, a file shrinks), or a filter to ``neighbors`` (atomic
    numbers) that leaves out the atoms around the centres, says nothing about the
    fingerprint. ``from_file``: the structures were read from a file (else given as
    objects, whose positions are asked about)."""
    few = int(np.count_nonzero(reasons == REASON_FEW_NEIGHBORS))
    if few == 0 or few <= FEW_NEIGHBOURS_SHARE * len(reasons):
        return None
    counted = "" if neighbors is None else f" of species {species_text(symbols_of(neighbors))}"
    causes = ["is the cutoff below the nearest-neighbour distance (cutoff=...)"]
    if neighbors is not None:
        causes.append("are the centres' neighbours of other species (neighbors=...)")
    if units == "angstrom":
        asked_of = "is the file" if from_file else "are the positions"
        causes.append(f'{asked_of} in bohr (units="bohr")')
    asked = causes[0] if len(causes) == 1 else f"{', '.join(causes[:-1])}, or {causes[-1]}"
    return (
        f"{label}: {few} of {len(reasons)} environments ({100 * few / len(reasons):.0f} %) have "
        f"fewer than 2 neighbours{counted} within the cutoff {cutoff:g} Å, so their spectrum "
        f"is undefined: {asked}?"
    )


def scan_cutoff(cutoff: float | None, recipe: RepresentationRecipe) -> float:
    """The neighbour cutoff of a scan: ``cutoff`` if given, else the representation's own,
    else :data:`~degeneracy.structures.DEFAULT_CUTOFF`.

    Raises
    ------
    DegeneracyError
        If ``cutoff`` is not a positive number, or differs from the representation's own.
    """
    own = recipe.cutoff
    if cutoff is None:
        return positive_float("cutoff", DEFAULT_CUTOFF if own is None else own)
    cutoff = positive_float("cutoff", cutoff)
    if own is not None and cutoff != own:
        raise DegeneracyError(
            f"cutoff {cutoff:g} Å differs from the cutoff {own:g} Å of representation "
            f"{recipe.name!r}: its environments must hold exactly the neighbours it sees; "
            "give the representation that cutoff instead"
        )
    return cutoff


def _package_version() -> str:
    try:
        return f"degeneracy {importlib.metadata.version('degeneracy')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree
        return "degeneracy (source tree)"


#: A local cluster's (or a given client's) wait for its first worker, at least (s): its
#: worker processes import featomic and torch before they register. A ``scheduler``'s
#: wait is ``connect_timeout`` (:class:`_LazyClient`).
LOCAL_WORKER_WAIT = 30.0

#: Seconds between the checks that the cluster still has workers and the scheduler still
#: answers, while no chunk ends.
WORKER_POLL_SECONDS = 1.0

#: The reason distributed gives futures cancelled when the scheduler's connection is lost.
_CONNECTION_LOST = "scheduler-connection-lost"


class _LazyClient:
    """A Dask client made on first use, so that a scan with nothing left to compute (all
    chunks resumed, or no environments) starts no cluster.

    It waits for the first worker ``worker_wait`` seconds: ``connect_timeout`` for a
    ``scheduler``, at least :data:`LOCAL_WORKER_WAIT` for a local cluster or a given
    client; refuses workers without this process's degeneracy code
    (:func:`~degeneracy.dask_connection.check_worker_code`; ``source`` is this process's
    code digest and library versions, which every chunk task checks again on its
    worker, :func:`scan_chunk`); and, while
    the scan waits for chunks, refuses a cluster left without workers for as long.
    """

    def __init__(self, client: Any, **options: Any) -> None:
        self._client = client
        self._options = options
        self._stack = contextlib.ExitStack()
        self.n_threads = 0
        self.startup_seconds = 0.0
        connect_timeout = options.get("connect_timeout", 10.0)
        external = options.get("scheduler") is not None
        self.worker_wait = connect_timeout if external else max(connect_timeout, LOCAL_WORKER_WAIT)
        self._no_workers_since: float | None = None
        self._given = client is not None
        self.source: Mapping[str, str | None] | None = None

    def __enter__(self) -> _LazyClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        # the exception goes in: dask_client handles a Ctrl-C (quiet loggers, SIGINT
        # ignored while the cluster closes), which close() would hide from it
        self._stack.__exit__(*exc)

    @property
    def where(self) -> str:
        """The cluster as messages name it: ``the Dask scheduler at tcp://…``."""
        address = self._options.get("scheduler")
        if address is None and self._given:  # None once a given client is closed
            address = getattr(getattr(self._client, "scheduler", None), "address", None)
            if address is None:
                return "the given client's Dask cluster"
        return "the local Dask cluster" if address is None else f"the Dask scheduler at {address}"

    def get(self) -> Any:
        """The client, connected (or the cluster started) on the first call."""
        if self.n_threads == 0:
            started = time.perf_counter()
            if self._client is None:
                self._client = self._stack.enter_context(dask_client(**self._options))
            self._wait_for_first_worker()
            self.source = check_worker_code(self._client, self.where, self.worker_wait)
            self.n_threads = max(1, sum(self._client.nthreads().values()))
            self.startup_seconds = time.perf_counter() - started
        return self._client

    def _wait_for_first_worker(self) -> None:
        try:
            self._client.wait_for_workers(1, timeout=self.worker_wait)
        except TimeoutError as error:
            raise DegeneracyError(
                f"{self.where} has no workers after {self.worker_wait:g} s"
            ) from error
        except Exception as error:
            raise self.connection_lost(error) from error

    def connection_lost(self, error: BaseException) -> DegeneracyError:
        """The error of a scan whose scheduler stopped answering (``error``: how)."""
        how = (  # one event, however distributed learns of it first
            "the chunks in flight were cancelled"
            if isinstance(error, concurrent.futures.CancelledError)
            or self._client.status != "running"
            else _first_line(error)
        )
        return DegeneracyError(f"lost the connection to {self.where}: {how}")

    def is_lost(self, error: BaseException) -> bool:
        """Whether chunks failed with ``error`` because the scheduler went away."""
        return (
            self._client.status != "running"
            or _CONNECTION_LOST in str(error)
            or type(error).__name__ == "CommClosedError"
        )

    def check_workers_left(self) -> None:
        """Refuse a cluster without workers for :attr:`worker_wait` seconds (the last
        one killed, or every one dead of a failed import), or whose scheduler is gone."""
        if self._client.status != "running":
            raise self.connection_lost(ConnectionError(f"client {self._client.status}"))
        try:
            workers = self._client.nthreads()
        except Exception as error:  # OSError, CommClosedError: the scheduler is gone
            raise self.connection_lost(error) from error
        if workers:
            self._no_workers_since = None
            return
        now = time.monotonic()
        if self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since >= self.worker_wait:
            raise DegeneracyError(
                f"{self.where} has no workers left, none for {self.worker_wait:g} s (a worker "
                "that cannot import degeneracy dies at its first task)"
            )

    def finished(self, futures: Sequence[Any]) -> list[Any]:
        """The first of ``futures`` to finish (all that have by then), checking every
        :data:`WORKER_POLL_SECONDS` meanwhile that the cluster still has workers."""
        from distributed import wait

        while True:
            try:
                with self._client.as_current():  # not distributed's default client
                    done, _ = wait(
                        list(futures), timeout=WORKER_POLL_SECONDS, return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                self.check_workers_left()
                continue
            except Exception as error:  # FuturesCancelledError: the scheduler is gone
                if self.is_lost(error):
                    raise self.connection_lost(error) from error
                raise DegeneracyError(
                    f"chunks were cancelled on {self.where}: {_first_line(error)}"
                ) from error
            return [future for future in futures if future in done]


def _run_chunks(
    cluster: _LazyClient,
    recipe: RepresentationRecipe,
    blocks: Iterator[StructureBlock],
    store: ChunkStore,
    done: set[int],
    counts: dict[str, int],
    notes: _NoteTally,
    fingerprints: _FingerprintTally,
    *,
    cutoff: float,
    neighbor_species: Sequence[int] | None,
    batch_size: int,
    progress: bool,
) -> None:
    """Submit the unfinished chunks (a bounded number in flight); write each as it ends.

    The chunks' notes, computed or resumed, are added to ``notes``; the species their
    fingerprints were built for to ``fingerprints``.
    """
    pending: list[Any] = []  # the chunks' futures in flight
    run = uuid.uuid4().hex[:12]  # task keys unique to this run, even on a shared cluster
    sizes: dict[str, tuple[int, str, int]] = {}
    bar = _progress_bar(progress)

    def collect() -> None:
        for future in cluster.finished(pending):
            pending.remove(future)
            chunk, structures, size = sizes.pop(future.key)
            table = _chunk_result(cluster, future, f"{structures} (chunk {chunk})")
            notes.add(chunk, chunk_notes(table.schema))
            fingerprints.add(chunk_fingerprints(table.schema))
            store.write_chunk(chunk, table)
            counts["computed"] += size
            bar.update(size)

    try:
        for block in blocks:
            counts["chunks"] = block.index + 1
            counts["environments"] += block.n_environments
            bar.total = counts["environments"]
            bar.refresh()
            schema = store.finished_schema(block) if block.index in done else None
            if block.index in done and schema is None:
                warnings.warn(
                    DegeneracyWarning(
                        f"{store.chunk_path(block.index)}: holds other rows than chunk "
                        f"{block.index} of this data set; computing it again"
                    ),
                    stacklevel=2,
                )
                store.chunk_path(block.index).unlink()
                done.discard(block.index)
            if block.index in done:
                notes.add(block.index, chunk_notes(schema))
                fingerprints.add(chunk_fingerprints(schema))
                bar.update(block.n_environments)
                continue
            client = cluster.get()
            while len(pending) >= 2 * cluster.n_threads + 1:
                collect()
            future = client.submit(
                scan_chunk,
                cluster.source,
                recipe,
                block,
                cutoff=cutoff,
                neighbor_species=neighbor_species,
                batch_size=batch_size,
                key=f"degeneracy-scan-{run}-{block.index}",
                pure=False,
            )
            sizes[future.key] = (block.index, _structure_range(block), block.n_environments)
            pending.append(future)
        while pending:
            collect()
    finally:
        bar.close()


def _chunk_result(cluster: _LazyClient, future: Any, chunk: str) -> pa.Table:
    """The table a finished chunk's ``future`` holds (released); its failure as a
    :class:`DegeneracyError` naming the ``chunk``, or the lost scheduler, or the worker
    with other degeneracy code that refused it (:func:`scan_chunk`).

    Dask does not retry a task that raised: the scan stops with its error, and the
    chunks written so far are kept for a rerun. It does retry a chunk whose worker died
    (``distributed.scheduler.allowed-failures``, 3), then fails it with ``KilledWorker``:
    a worker that cannot import degeneracy dies so at its first task.
    """
    try:
        return future.result()
    except DegeneracyError as error:
        if error.kind == OTHER_CODE:
            raise DegeneracyError(
                f"{cluster.where}: {_first_line(error)}", kind=OTHER_CODE
            ) from error
        raise
    except Exception as error:
        if cluster.is_lost(error):
            raise cluster.connection_lost(error) from error
        if type(error).__name__ == "KilledWorker":
            raise _workers_died(chunk, error) from error
        raise DegeneracyError(f"{chunk}: failed on a worker: {error!r}") from error
    finally:
        future.release()


def _workers_died(chunk: str, error: BaseException) -> DegeneracyError:
    """The error of a ``chunk`` whose workers died one after another while they had it
    (distributed's ``KilledWorker``, whose text sent the user to a web page)."""
    args = getattr(error, "args", ())
    last = getattr(args[1], "address", None) if len(args) == 3 else None
    died = f"{args[2] + 1} workers" if len(args) == 3 and isinstance(args[2], int) else "workers"
    return DegeneracyError(
        f"{chunk}: {died} died one after another while they had it"
        + (f" (the last {last})" if last else "")
        + ": a worker that cannot import degeneracy dies at its first task, see the workers' logs"
    )


def _progress_bar(progress: bool, *, desc: str = "scan", total: int = 0) -> Any:
    """A tqdm bar on stderr, or a stand-in that does nothing.

    Not a disabled tqdm: creating any tqdm starts its monitor thread, which only the
    closing of an enabled bar stops; the thread, waking every 10 s, would outlive the
    scan into the reports and the interpreter's shutdown.
    """
    if progress:
        return tqdm(total=total, desc=desc, unit="env", file=sys.stderr, smoothing=0.05)
    return _NoProgress()


class _NoProgress:
    """What :func:`_progress_bar` returns without a progress bar."""

    total = 0

    def update(self, n: int = 1) -> None:
        """Nothing."""

    def refresh(self) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


def _structure_range(block: StructureBlock) -> str:
    """``"structure 12"`` or ``"structures 12–40"``: the structures of a chunk."""
    first, last = int(block.structures[0]), int(block.structures[-1])
    return f"structure {first}" if first == last else f"structures {first}–{last}"


@dataclass
class DatasetNote:
    """A representation's note about a data set: its subject over every chunk.

    Attributes
    ----------
    text : str
        As worded for the first environment it holds for (in data-set order).
    count : int
        How many environments of the data set it holds for.
    environments : list of (int, int)
        The first :data:`NOTE_SAMPLE` of them, ``(structure, atom)`` in data-set order.
    """

    text: str
    count: int = 0
    environments: list[tuple[int, int]] = field(default_factory=list)


class _NoteTally:
    """The chunks' notes (:func:`chunk_notes`), summed per subject over the data set.

    Chunks end in any order and a resumed scan reads some back; the tally orders them by
    chunk, so that the result depends only on the data set: each subject once, worded as
    for the first environment it holds for, with how many it holds for and the first
    :data:`NOTE_SAMPLE` of them, subjects in data-set order of their first environment.
    """

    def __init__(self) -> None:
        self._chunks: dict[int, list[dict[str, Any]]] = {}

    def add(self, chunk: int, notes: Sequence[dict[str, Any]]) -> None:
        """The notes of chunk ``chunk``."""
        if notes:
            self._chunks[chunk] = list(notes)

    def notes(self) -> list[DatasetNote]:
        """One :class:`DatasetNote` per subject."""
        combined: dict[str, DatasetNote] = {}
        for chunk in sorted(self._chunks):
            for stored in self._chunks[chunk]:
                note = combined.setdefault(
                    warning_subject(stored["text"]), DatasetNote(stored["text"])
                )
                note.count += int(stored["count"])
                room = NOTE_SAMPLE - len(note.environments)
                note.environments.extend(
                    (int(structure), int(atom)) for structure, atom in stored["environments"][:room]
                )
        return list(combined.values())


def dataset_notes(
    notes: Sequence[DatasetNote],
    dataset: Dataset,
    recipe: RepresentationRecipe,
    *,
    cutoff: float,
    neighbor_species: Sequence[int] | None,
    n_environments: int,
) -> list[str]:
    """The warnings of a scan about its data set, one per :class:`DatasetNote`.

    Each is worded by the representation (its ``diagnose``) for the first
    :data:`NOTE_SAMPLE` environments it holds for of the first one's composition, cut
    again from the data set (one more pass over the file, up to the last of them), and
    ends with how many of the data set's environments it holds for and the first one's
    structure and atom. It names environments by their structure and atom in the data
    set (:func:`in_dataset_terms`), so it is the same whatever the chunk size, and for a
    resumed scan.
    """
    if not notes:
        return []
    wanted = {structure for note in notes for structure, _ in note.environments}
    structures = collect_structures(dataset, wanted)
    worded = []
    for note in notes:
        environments = environments_at(
            structures, note.environments, cutoff=cutoff, neighbor_species=neighbor_species
        )
        text, described = _worded_for(note, environments, recipe)
        structure, atom = note.environments[0]
        where = (
            f"in {note.count} of the {n_environments} environments scanned, from structure "
            f"{structure}, atom {atom}"
        )
        worded.append(f"{text} (scan: {where}{_numbers_of(described, note)})")
    return worded


def _numbers_of(described: int, note: DatasetNote) -> str:
    """What the numbers in a note's wording are of, when not of every environment it holds
    for (:func:`dataset_notes`)."""
    sampled = len(note.environments)
    if described == note.count:
        return ""
    if described == 1:
        return "; its numbers are of the first one"
    if described == sampled:
        return f"; its numbers are of the first {described}"
    among = f" among the first {sampled}" if sampled < note.count else ""
    return f"; its numbers are of the {described} with the first one's composition{among}"


def _worded_for(
    note: DatasetNote, environments: list[ase.Atoms], recipe: RepresentationRecipe
) -> tuple[str, int]:
    """The representation's wording of ``note`` for those of ``environments`` of the first
    one's composition, and how many that is (1: the stored wording, when it words the
    note otherwise)."""
    first = composition(environments[0])
    group = [atoms for atoms in environments if composition(atoms) == first]
    built = recipe.build(first[0], sorted(set(first[1])))
    diagnose = getattr(built, "diagnose", None)
    subject = warning_subject(note.text)
    for text in diagnose(group) if diagnose is not None else []:
        if warning_subject(text) == subject:
            return in_dataset_terms(text, group), len(group)
    return note.text, 1


# --------------------------------------------------------------------------------------
# After the scan


def most_singular(results: pa.Table, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` environments with the largest CN (undefined ones skipped), largest first;
    infinite CNs by s_min / s_max, an exact zero first, then the smallest at round-off.

    Parameters
    ----------
    results : pyarrow.Table
        Scan results with the ``cn``, ``s_max`` and ``s_min`` columns of
        :data:`RESULT_SCHEMA` (e.g. from :func:`read_results`).
    k : int
        How many environments (at most), ≥ 0.

    Returns
    -------
    list of dict
        Their rows, column name to value; fewer than ``k`` when fewer have a CN.

    Raises
    ------
    DegeneracyError
        When ``k`` is not an integer ≥ 0, or ``results`` is not a table with those
        columns.
    """
    k = bounded_int("k", k, minimum=0)
    results = _results_table(results, ["cn", "s_max", "s_min"])
    cn = np.asarray(results.column("cn"), dtype=float)
    s_max = np.asarray(results.column("s_max"), dtype=float)
    s_min = np.asarray(results.column("s_min"), dtype=float)
    defined = np.flatnonzero(~np.isnan(cn))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = s_min[defined] / s_max[defined]
    order = defined[np.lexsort((relative, -cn[defined]))][:k]
    rows = results.take(pa.array(order)).to_pylist()
    return rows


def describe_singular(
    environments: Sequence[ase.Atoms],
    representation: Representation | RepresentationRecipe,
    *,
    symmetry_tol: float = SYMMETRY_TOL,
    zero_rtol: float = ZERO_RTOL,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Full spectrum and symmetry verdict of a few environments (e.g. the most singular).

    :func:`~degeneracy.sensitivity.point_symmetry` for any number of neighbours (an
    anchored search above 8! permutations of equal ones); ``symmetric`` is ``None`` only
    for an environment whose neighbours are collinear with the centre (no purified
    Jacobian). ``verdict`` is that of :func:`~degeneracy.sensitivity.classify_zeros`,
    ``"kink"`` where the fingerprint reports it has no Jacobian (its optional ``kinks``
    hook, e.g. coinciding OM eigenvalues at a symmetric environment: the CN is then of
    one one-sided derivative). A spurious zero whose motion only moves neighbour pairs the
    fingerprint cannot see (:func:`~degeneracy.sensitivity.explain_zero`) gets their labels:
    ``pair_swap``, equal pairs it trades, and ``unseen_pairs``, pairs whose ignored angle
    it turns (None otherwise); ``truncation``, neighbours at one distance per species
    whose motions it moves and the fingerprint sees through too few sums
    (:func:`~degeneracy.sensitivity.truncation_zeros`, None otherwise).
    ``nearest_coincidence``, ``coincidence_distance``, ``near_swap_residual`` and
    ``near_swap_unseen`` (:func:`~degeneracy.sensitivity.near_swap` of the motions of
    s_min: all those of a zero or tied s_min,
    :func:`~degeneracy.sensitivity.softest_motions` with ``zero_rtol``): the two neighbour
    pairs nearest to being equal, their distance (Å), how much of the softest motion (the
    most trade-like of them) is not their trade, and the pairs the fingerprint weighs out
    that it leaves out of that (None when none). ``symmetry_tol`` (Å) is at most
    :data:`~degeneracy.checks.MAX_SYMMETRY_TOL`. ``progress``: a bar on stderr, one step
    per environment (the symmetry search grows steeply with the neighbours: ~1 s at 46,
    ~10 s at 98, minutes at 190).
    """
    symmetry_tol = symmetry_tolerance_value("symmetry_tol", symmetry_tol)
    progress = true_or_false("progress", progress)
    recipe = RepresentationRecipe.of(representation)
    described = []
    bar = _progress_bar(
        progress and len(environments) > 1, desc="verdicts", total=len(environments)
    )
    try:
        for atoms in environments:
            described.append(
                _described_environment(
                    atoms, recipe, symmetry_tol=symmetry_tol, zero_rtol=zero_rtol
                )
            )
            bar.update()
    finally:
        bar.close()
    return described


def _described_environment(
    atoms: ase.Atoms, recipe: RepresentationRecipe, *, symmetry_tol: float, zero_rtol: float
) -> dict[str, Any]:
    """:func:`describe_singular` of one environment."""
    entry: dict[str, Any] = {
        "structure": atoms.info.get("structure"),
        "atom": atoms.info.get("atom"),
        "species": atoms.get_chemical_symbols()[0],
        "n_neighbors": len(atoms) - 1,
    }
    neighbors = neighbor_positions(atoms)
    numbers = atoms.numbers[1:]
    try:
        rotation_complement(neighbors)
    except DegeneracyError:
        return {**entry, "singular_values": None, "symmetric": None}
    built = recipe.build(int(atoms.numbers[0]), sorted(set(int(z) for z in numbers)))
    _make_calculator(built)
    _take_over_notes(built, atoms)
    _, jacobian = built.jacobian([atoms])
    spectrum = singular_spectrum(jacobian, neighbors[None])
    values = spectrum.values[0]
    entry["singular_values"] = [float(v) for v in values]
    entry["cn"] = float(spectrum.cn[0])
    verdict = point_symmetry(neighbors, numbers, tol=symmetry_tol)
    entry["symmetric"] = verdict.symmetric
    entry["symmetry_residual"] = verdict.residual
    zeros = classify_zeros(
        atoms,
        values,
        spectrum.motions[0],
        verdict,
        built,
        n_features=jacobian.shape[1],
        zero_rtol=zero_rtol,
    )
    entry["verdict"] = zeros.verdict
    entry["near_symmetry_distance"] = zeros.near_symmetry_distance
    entry["near_symmetry_zero_distance"] = zeros.near_symmetry_zero_distance
    entry["pair_swap"], entry["unseen_pairs"] = zeros.labels(atoms)
    entry["truncation"] = zeros.truncation
    entry["n_spurious_zeros"] = zeros.n_spurious
    entry["n_explained_zeros"] = zeros.n_explained
    softest = softest_motions(values, spectrum.motions[0], zero_rtol=zero_rtol)
    entry.update(near_swap(atoms, softest, built, values=values))
    return entry


def _make_calculator(built: Representation) -> None:
    """Make ``built``'s featomic calculator (if it has one; made on first use) with Ctrl-C
    held back: one inside featomic's constructor left an object whose ``__del__`` printed
    "Exception ignored in: <function CalculatorBase.__del__ ...>" and a traceback as the
    interpreter exited after the interruption."""
    with interrupts_deferred():
        getattr(built, "calculator", None)


def _take_over_notes(built: Representation, atoms: ase.Atoms) -> None:
    """Ask ``built`` for its notes about ``atoms`` (and drop them), so that it does not
    warn on its own: the scan has reported them for the whole data set, and the
    representation would word them for this one call ("frame 0 of this call")."""
    diagnose = getattr(built, "diagnose", None)
    if diagnose is not None:
        diagnose([atoms])


def chemiscope_selection(results: pa.Table, limit: int, *, seed: int = 0) -> np.ndarray:
    """Structure indices to show in chemiscope: all, or as many as keep the map's points
    (the structures' environments that can be shown, :func:`showable_spectra`) within
    ``limit``.

    Only structures with such an environment are candidates. Above the limit: the most
    singular structures, by the largest CN of any of their environments that is not at
    a kink (where the CN has no meaning), until they hold half the limit's points (at
    least the most singular one, whatever its size: ``--chemiscope-limit 1`` shows it),
    then a random (seeded) sample of the others while they fit, sorted by index. The
    limit counts points, not structures: 20 000 crystals of 64 centres each made a map
    of 1.3 million points (69 s to write, 244 MB of JSON; helper-156).
    """
    limit = bounded_int("limit", limit, minimum=0)
    cn = np.asarray(results.column("cn"), dtype=float)
    shown = showable_spectra(results.column("s_max"), results.column("s_min"))
    structures = np.asarray(results.column("structure"))[shown]
    unique, inverse = np.unique(structures, return_inverse=True)
    points = np.bincount(inverse, minlength=len(unique))
    if points.sum() <= limit:
        return unique
    worst = np.full(len(unique), -np.inf)
    if "verdict" in results.column_names:
        kink = np.asarray(results.column("verdict").to_pylist(), dtype=object)[shown] == "kink"
    else:
        kink = np.zeros(len(structures), dtype=bool)
    np.maximum.at(worst, inverse, np.where(kink, -np.inf, cn[shown]))
    ranked = np.argsort(-worst, kind="stable")
    top = _while_they_fit(ranked, points, (limit + 1) // 2, at_least_one=limit > 0)
    rest = np.setdiff1d(np.arange(len(unique)), top)
    shuffled = seeded_generator(seed).permutation(rest)
    sample = _while_they_fit(shuffled, points, limit - int(points[top].sum()))
    return np.sort(unique[np.concatenate([top, sample])])


def _while_they_fit(
    candidates: np.ndarray, points: np.ndarray, room: int, *, at_least_one: bool = False
) -> np.ndarray:
    """The ``candidates`` (in order) whose ``points`` fit into ``room``, skipping any that
    would overflow it (the first one taken regardless with ``at_least_one``)."""
    chosen, used = [], 0
    for k in candidates:
        if used + points[k] <= room or (at_least_one and not chosen):
            chosen.append(int(k))
            used += int(points[k])
        if used >= room:
            break
    return np.asarray(chosen, dtype=np.intp)
