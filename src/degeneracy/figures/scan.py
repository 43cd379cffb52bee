"""Figures of a data-set scan: CN histogram and an interactive chemiscope file.

Both take the results of :func:`degeneracy.scan.scan_dataset` (a table with ``cn``, ``s_min``,
``s_max`` ... per environment); nothing here computes fingerprints. Importing this module
imports every compiled extension the two need (matplotlib's Agg backend included), so
that a caller can import it with Ctrl-C held back (``scan`` does): an interrupt inside
the initialisation of such an extension (matplotlib's ``ft2font``) ended in a fatal
error about the GIL at the interpreter's exit.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import ase
import chemiscope
import numpy as np
import pyarrow as pa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import DegeneracyError
from ..files import atomic_path
from ..sensitivity import capped_cn, floored_s_min, showable_spectra
from .viewer import check_chemiscope_path, write_chemiscope_file

#: Below this spread (in decades) the values are drawn in one bin of a fixed range: numpy
#: cannot cut a range of a few ulps (e.g. symmetry-equivalent centres) into bins.
MIN_LOG_SPREAD = 1e-6

#: Width (decades) of the range drawn around values that are all (nearly) equal.
FIXED_LOG_RANGE = 1.0


def _finite_log10(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(values)
    return logs[np.isfinite(logs)]


def _histogram_range(logs: np.ndarray) -> tuple[float, float] | None:
    """A fixed range centred on the values if they are (nearly) all equal, else ``None``."""
    low, high = float(logs.min()), float(logs.max())
    if high - low >= MIN_LOG_SPREAD:
        return None
    middle = 0.5 * (low + high)
    return middle - 0.5 * FIXED_LOG_RANGE, middle + 0.5 * FIXED_LOG_RANGE


def cn_histogram(results: pa.Table, path: str | os.PathLike, *, title: str = "") -> None:
    r"""Histograms of :math:`\log_{10}\mathrm{CN}` and :math:`\log_{10} s_\min`, as a PNG.

    Environments whose spectrum is undefined (NaN) are counted in the legend, not drawn;
    an infinite CN (:math:`s_\min` zero or at round-off,
    :func:`~degeneracy.sensitivity.condition_number`) likewise in both panels (an
    :math:`s_\min` at round-off is 0 for one site and 1e-33 for another: drawn, it
    would spread the panel over decades of round-off). Values that are all (nearly)
    equal are drawn in a fixed range of :data:`FIXED_LOG_RANGE` decades around them.
    """
    cn = np.asarray(results.column("cn"), dtype=float)
    s_min = np.asarray(results.column("s_min"), dtype=float)
    n_undefined = int(np.isnan(cn).sum())
    n_infinite = int(np.isinf(cn).sum())
    figure = Figure(figsize=(9.0, 3.6), layout="constrained")
    FigureCanvasAgg(figure)  # imported with this module, not on the first savefig
    axes = figure.subplots(1, 2)
    for ax, values, label in (
        (axes[0], cn, r"$\log_{10}$ CN = $\log_{10}(s_1/s_\mathrm{min})$"),
        (axes[1], np.where(np.isinf(cn), np.nan, s_min), r"$\log_{10} s_\mathrm{min}$"),
    ):
        logs = _finite_log10(values)
        if logs.size:
            bins = min(80, max(10, int(np.sqrt(logs.size))))
            ax.hist(logs, bins=bins, range=_histogram_range(logs), color="C0")
            ax.axvline(np.median(logs), color="C3", lw=1, label=f"median {np.median(logs):.2f}")
            ax.legend(loc="best", fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel("environments")
        ax.set_yscale("log")
    extra = []
    if n_undefined:
        extra.append(f"{n_undefined} undefined")
    if n_infinite:
        extra.append(f"{n_infinite} with s_min ≈ 0 (CN inf)")
    summary = f"{len(cn)} environments" + (f" ({', '.join(extra)})" if extra else "")
    figure.suptitle(f"{title}\n{summary}" if title else summary, fontsize=10)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)


def write_chemiscope(
    path: str | os.PathLike,
    structures: dict[int, ase.Atoms],
    results: pa.Table,
    *,
    cutoff: float,
    title: str = "degeneracy scan",
    description: str = "",
) -> int:
    r"""Interactive chemiscope file of the scanned structures, coloured by :math:`\log_{10}`CN.

    Each point of the map is one environment (x: :math:`\log_{10} s_1`, y:
    :math:`\log_{10} s_\min`, colour: :math:`\log_{10}` CN); the viewer shows its
    structure with the environment (``cutoff``) highlighted. Only environments of
    ``structures`` (data-set index → structure) whose s_1 is positive and s_min not
    negative are included; an s_min at round-off (zero, or a CN that is infinite) is
    drawn at the round-off floor (3N − 3)ε s_1, its CN coloured at the largest CN float64
    resolves, 1/((3N − 3)ε) (:func:`~degeneracy.sensitivity.floored_s_min`,
    :func:`~degeneracy.sensitivity.capped_cn`): equally singular sites in one place. When
    a structure is periodic the viewer draws the cells, replicated 3×3×3, so that the
    neighbours across a cell's faces are seen; a structure periodic along some axes only
    (a slab) is drawn with its images one cell away along those, as atoms (chemiscope has
    no partial periodicity); non-periodic structures are drawn without their cell. Written
    with :func:`chemiscope.write_input` (``.json`` or ``.json.gz``) to a temporary file
    that replaces ``path``. Returns the number of environments written.
    """
    path = check_chemiscope_path(path)
    table = results.to_pydict()
    shown = showable_spectra(table["s_max"], table["s_min"])
    keep = [k for k in np.flatnonzero(shown) if table["structure"][k] in structures]
    if not keep:
        raise DegeneracyError("no environment with a finite spectrum to show in chemiscope")
    order = sorted({table["structure"][k] for k in keep})
    position = {index: i for i, index in enumerate(order)}
    frames = [_as_viewed(structures[index], cutoff) for index in order]
    environments = [(position[table["structure"][k]], table["atom"][k], cutoff) for k in keep]

    def column(name: str) -> np.ndarray:
        return np.asarray([table[name][k] for k in keep], dtype=float)

    capped = "; at round-off, capped at 1/((3N - 3) eps)"
    n_motions = 3 * column("n_neighbors") - 3
    cn = capped_cn(column("cn"), n_motions)
    s_min = floored_s_min(column("s_max"), column("s_min"), n_motions)
    properties = {
        "log10(CN)": _atom_property(np.log10(cn), f"log10 of s_1 / s_min{capped}"),
        "log10(s_min)": _atom_property(
            np.log10(s_min), "smallest singular value; at round-off, (3N - 3) eps s_1"
        ),
        "log10(s_max)": _atom_property(np.log10(column("s_max")), "largest singular value"),
        "CN": _atom_property(cn, f"condition number of the purified Jacobian{capped}"),
        "neighbours": _atom_property(
            column("n_neighbors"), "neighbours within the cutoff, of the scan's neighbour species"
        ),
        "structure": _atom_property(column("structure"), "structure index in the data set"),
        "species": {
            "target": "atom",
            "values": [table["species"][k] for k in keep],
            "description": "centre species",
        },
        "verdict": {  # kinks keep a one-sided CN: the colour alone would not say so
            "target": "atom",
            "values": [table["verdict"][k] for k in keep],
            "description": "kink (no derivative: CN meaningless) / regular / zero "
            "(a singular value below the zero threshold)",
        },
    }
    # periodic: the cell drawn and replicated 3×3×3, so that the neighbours an environment
    # counts across the cell's faces are drawn (only the cell's own atoms were)
    periodic = any(frame.pbc.any() for frame in frames)
    settings = chemiscope.quick_settings(
        x="log10(s_max)",
        y="log10(s_min)",
        map_color="log10(CN)",
        target="atom",
        periodic=periodic,
    )
    write_chemiscope_file(
        path,
        structures=frames,
        properties=properties,
        environments=environments,
        settings=settings,
        metadata={"name": title, "description": description},
    )
    return len(keep)


def _as_viewed(atoms: ase.Atoms, cutoff: float) -> ase.Atoms:
    """``atoms`` as chemiscope should draw it: a crystal with its cell (replicated by the
    viewer), a molecule without its cell, a structure periodic along some axes only
    with its images along those (:func:`_with_periodic_images`).

    chemiscope has no periodic flag: a molecule read with a cell (extxyz ``Lattice`` and
    ``pbc="F F F"``) would be drawn in that cell and replicated like a crystal."""
    if atoms.pbc.all():
        return atoms
    if atoms.pbc.any():
        return _with_periodic_images(atoms, cutoff)
    if not atoms.cell.any():
        return atoms
    shown = atoms.copy()
    shown.set_cell(np.zeros((3, 3)))
    return shown


def _with_periodic_images(atoms: ase.Atoms, cutoff: float) -> ase.Atoms:
    """A structure periodic along some axes (a slab, a wire) as atoms without a cell: its
    own atoms first (the environments' centres keep their index), then its images along
    each periodic axis, as many cells away as the cutoff reaches (one for a cell longer
    than the cutoff: 3×3 cells for a slab, 3 for a wire).

    chemiscope replicates a cell along all three axes or none: a slab's images along its
    normal, across the vacuum, were drawn as atoms it does not have, and a slab stored
    without a normal vector (``ase.build.graphene(vacuum=None)``: zero) got no cell, so
    the neighbours its environments count across the edges were not drawn (helper-156).
    """
    axes = np.flatnonzero(atoms.pbc)
    cell = atoms.cell[:]
    reach = [int(np.ceil(cutoff / _periodic_height(cell, axis, axes))) for axis in axes]
    ranges = [sorted(range(-k, k + 1), key=abs) for k in reach]  # 0 first
    steps = np.array(list(itertools.product(*ranges)))[1:]  # not (0, …): the atoms themselves
    shifts = steps @ cell[axes]  # (images, 3)
    positions = np.concatenate([atoms.positions, *(atoms.positions + shift for shift in shifts)])
    return ase.Atoms(numbers=np.tile(atoms.numbers, len(shifts) + 1), positions=positions)


def _periodic_height(cell: np.ndarray, axis: int, axes: np.ndarray) -> float:
    """The spacing of ``axis``'s images across the other periodic ``axes`` (a wire's: its
    cell vector's length; a slab's: the vector's part across the other in-plane one)."""
    vector = cell[axis]
    for other in axes[axes != axis]:
        unit = cell[other] / np.linalg.norm(cell[other])
        vector = vector - (vector @ unit) * unit
    return float(np.linalg.norm(vector))


def _atom_property(values: Sequence[float], description: str) -> dict:
    return {"target": "atom", "values": np.asarray(values, dtype=float), "description": description}
