"""``degeneracy scan``: CN and s_min of every environment of a data set, on Dask."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import bounded_int
from ..dask_connection import scheduler_address
from ..environments import parse_species
from ..errors import DegeneracyError
from ..figures.viewer import check_chemiscope_path
from ..files import EXTXYZ_SUFFIXES, output_file, write_json
from ..scan import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    MAX_CONNECT_TIMEOUT,
    OUTPUT_FORMATS,
    ChunkStore,
    Dataset,
    RepresentationRecipe,
    ScanSummary,
    chemiscope_selection,
    collect_structures,
    connect_timeout_value,
    default_workers,
    describe_singular,
    environments_at,
    import_uninterrupted,
    most_singular,
    output_format,
    read_results,
    scan_dataset,
    without_kinks,
)
from ..sensitivity import NEAR_SWAP_KEYS, ZERO_RTOL, explained_verdict, near_swap_text
from ..species import species_text
from ..structures import write_environments
from .options import (
    DEFAULT_WRITER,
    RecordedStore,
    add_representation_arguments,
    add_units_argument,
    aligned_table,
    describe_representation,
    output_file_argument,
    refuse_options,
    refuse_overwriting_inputs,
    representation_from_args,
    species_argument,
)

#: Environments (map points) written to the chemiscope file by default, in whole
#: structures (the viewer stays responsive).
DEFAULT_CHEMISCOPE_LIMIT = 20000

#: What :func:`~degeneracy.scan.describe_singular` adds to a most-singular row.
VERDICT_KEYS = (
    "symmetric",
    "symmetry_residual",
    "verdict",
    "near_symmetry_distance",
    "near_symmetry_zero_distance",
    "pair_swap",
    "unseen_pairs",
    "truncation",
    "n_spurious_zeros",
    "n_explained_zeros",
    *NEAR_SWAP_KEYS,
)


#: Local worker processes allowed per CPU this process may use (``--workers``): each is
#: one single-threaded process, so more than one per CPU only share them, and each
#: costs memory and start-up (1000 workers on 2 CPUs hung for minutes).
WORKERS_PER_CPU = 4

#: Suffixes of the files written next to ``RESULTS.parquet`` unless other names are given.
COMPANION_SUFFIXES = (".singular.extxyz", ".histogram.png", ".chemiscope.json.gz", ".summary.json")


def companion(output: Path, suffix: str) -> Path:
    """``RESULTS.parquet`` → ``RESULTS<suffix>`` (figure, chemiscope, summary files)."""
    return output.with_name(output.stem + suffix)


def report_paths(args: argparse.Namespace, output: Path) -> tuple[Path, ...]:
    """The report files, in the order of :data:`COMPANION_SUFFIXES`: the names given
    (``--singular``, ``--plot``, ``--chemiscope``, ``--summary``), else the companions."""
    given = (args.singular, args.plot, args.chemiscope, args.summary)
    return tuple(
        Path(name or companion(output, suffix))
        for name, suffix in zip(given, COMPANION_SUFFIXES, strict=True)
    )


def remove_stale_companions(output: Path, written: set[Path]) -> list[Path]:
    """Delete the default-named companions of ``output`` that this run does not write.

    They describe an earlier scan's results, which the new ``output`` replaced (e.g. the
    most singular environments of a scan that now has none with a finite CN). Only the
    names derived from ``output`` are touched, never a name the user gave.

    Parameters
    ----------
    output : Path
        The results file, already written.
    written : set of Path
        The files this run writes.

    Returns
    -------
    list of Path
        The files deleted.
    """
    owner = companions_owner(output)
    if owner is not None and owner != output.name:
        return []  # another results file's reports (check_companions_are_ours)
    kept = {path.resolve() for path in written}
    removed = []
    for suffix in COMPANION_SUFFIXES:
        path = companion(output, suffix)
        if path.resolve() not in kept and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def format_rate(per_second: float) -> str:
    """Environments per second, whole above 10 and to 2 significant digits below
    (``"1955"``, ``"37"``, ``"0.38"``): a small scan must not read as 0 env/s."""
    if per_second >= 10:
        return f"{per_second:.0f}"
    return np.format_float_positional(
        per_second, precision=2, unique=False, fractional=False, trim="-"
    )


def _residual_text(residual: float | None) -> str:
    """The symmetry residual (Å) in 2 significant digits, ``n/a`` where not computed."""
    return "n/a" if residual is None else f"{residual:.2g}"


def format_top(rows: list[dict[str, Any]]) -> str:
    """The most singular environments as an aligned table.

    ``Δsym Å``: the RMS residual of the best point operation other than the identity
    (``symmetry_residual``, :func:`~degeneracy.sensitivity.point_symmetry`): 0 for a
    symmetric environment, about the noise for one merely near a symmetric one (CH4
    rattled by 0.03 Å), so that such a row does not read as a discovery.
    """
    table = [
        [
            "rank",
            "structure",
            "atom",
            "species",
            "N",
            "CN",
            "s_min",
            "symmetric",
            "Δsym Å",
            "zeros",
            "nearest equal pairs",
        ]
    ]
    for rank, row in enumerate(rows, start=1):
        symmetric = row.get("symmetric")
        table.append(
            [
                str(rank),
                str(row["structure"]),
                str(row["atom"]),
                row["species"],
                str(row["n_neighbors"]),
                f"{row['cn']:.3e}",
                f"{row['s_min']:.3e}",
                "n/a" if symmetric is None else ("yes" if symmetric else "no"),
                _residual_text(row.get("symmetry_residual")),
                explained_verdict(
                    row.get("verdict") or "n/a",
                    row.get("pair_swap"),
                    row.get("unseen_pairs"),
                    row.get("near_symmetry_distance"),
                    row.get("truncation"),
                    n_explained=row.get("n_explained_zeros"),
                    n_spurious=row.get("n_spurious_zeros"),
                    near_symmetry_zero_distance=row.get("near_symmetry_zero_distance"),
                ),
                near_swap_text(row),
            ]
        )
    return aligned_table(table).rstrip("\n")


def quantiles(results: Any) -> dict[str, float]:
    """Min, median, 99th percentile and max of the finite CNs, kinks left out
    (:func:`~degeneracy.scan.without_kinks`: their CN is one one-sided derivative's)."""
    cn = np.asarray(without_kinks(results).column("cn"), dtype=float)
    cn = cn[np.isfinite(cn)]
    if not cn.size:
        return {}
    return {
        "min": float(cn.min()),
        "median": float(np.median(cn)),
        "p99": float(np.quantile(cn, 0.99)),
        "max": float(cn.max()),
    }


def _plural(count: int, noun: str) -> str:
    """``"1 structure"``, ``"2 structures"``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def format_summary(summary: ScanSummary, stats: dict[str, float]) -> str:
    """Two lines: what was scanned and how fast, with how many environments are
    undefined, have a zero singular value, an infinite CN or a kink; the CN distribution
    (kinks left out)."""
    centers = ",".join(summary.centers) if summary.centers else "all atoms"
    scanned = ",".join(summary.centers_scanned)
    if summary.centers_scanned and not summary.centers:
        centers += f": {scanned}"
    elif summary.centers_scanned and summary.centers_scanned != summary.centers:
        centers += f"; only {scanned} found"
    resumed = (
        f", {summary.n_resumed_chunks} of {_plural(summary.n_chunks, 'chunk')} resumed"
        if summary.n_resumed_chunks
        else f", {_plural(summary.n_chunks, 'chunk')}"
    )
    speed = (
        f"{format_rate(summary.throughput)} env/s on {_plural(summary.n_threads, 'worker thread')}"
        if summary.n_resumed_chunks < summary.n_chunks
        else "nothing left to compute"
    )
    lines = [
        f"scanned {_plural(summary.n_environments, 'environment')} (centres: {centers}) of "
        f"{_plural(summary.n_structures, 'structure')} in {summary.seconds:.1f} s, "
        f"{summary.startup_seconds:.1f} s of it starting Dask ({speed}{resumed}); "
        f"{summary.n_undefined} undefined"
        + (
            f", {summary.n_with_zeros} with a zero singular value (s_min < {ZERO_RTOL:g} s1)"
            if summary.n_with_zeros
            else ""
        )
        + (
            f", {summary.n_infinite} with infinite CN (s_min zero or at round-off)"
            if summary.n_infinite
            else ""
        )
        + (
            f", {_plural(summary.n_kinks, 'kink')} (no derivative there: "
            "left out of the CN statistics and histogram)"
            if summary.n_kinks
            else ""
        ),
    ]
    if stats:
        lines.append(
            "CN: min {min:.3g}, median {median:.3g}, 99th percentile {p99:.3g}, "
            "max {max:.3g}".format(**stats)
        )
    return "\n".join(lines)


#: ``info`` keys of ``X.singular.extxyz``, every frame all of them: the results row's
#: numbers (``cn``, ``s_max``, ``s_min``: the scan's own, as in the table and the results
#: file), then the verdict of :func:`~degeneracy.scan.describe_singular`.
SINGULAR_INFO_KEYS = ("rank", "structure", "atom", "cn", "s_max", "s_min", *VERDICT_KEYS)

#: What ``X.singular.extxyz`` holds where a value is missing (None): extxyz has no empty
#: value (ase writes a key without a value, which it reads back as True), so text keys
#: get ``"none"`` and the others NaN, which ase writes as ``nan`` and reads back.
MISSING_TEXT = "none"

#: The ``info`` keys of ``X.singular.extxyz`` whose values are text.
SINGULAR_TEXT_KEYS = (
    "verdict",
    "pair_swap",
    "unseen_pairs",
    "truncation",
    "nearest_coincidence",
    "near_swap_unseen",
)


def singular_info(rank: int, row: dict[str, Any]) -> dict[str, Any]:
    """The ``info`` of one frame of ``X.singular.extxyz``: :data:`SINGULAR_INFO_KEYS`,
    from a most-singular results row with its verdict keys, missing values as
    :data:`MISSING_TEXT` or NaN."""
    info: dict[str, Any] = {}
    for key in SINGULAR_INFO_KEYS:
        value = rank if key == "rank" else row.get(key)
        if value is None:
            value = MISSING_TEXT if key in SINGULAR_TEXT_KEYS else float("nan")
        info[key] = value
    return info


def write_singular(path: Path, environments: list, rows: list[dict[str, Any]]) -> None:
    """The most singular environments as extended XYZ (atomically), each frame with
    :func:`singular_info` of its results row: the same s_min, s_max and CN as the table
    and the results file, and the same keys in every frame."""
    frames = []
    for rank, (atoms, row) in enumerate(zip(environments, rows, strict=True), start=1):
        atoms = atoms.copy()
        atoms.info = singular_info(rank, row)
        frames.append(atoms)
    write_environments(path, frames)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad numbers and file names before any work is done."""
    output_format(args.output)
    bounded_int("--top", args.top, minimum=0)
    bounded_int("--chemiscope-limit", args.chemiscope_limit, minimum=0)
    bounded_int("--chunk-size", args.chunk_size, minimum=1)
    bounded_int("--batch-size", args.batch_size, minimum=1)
    if args.workers is not None:
        check_workers(args.workers)
    connect_timeout_value(args.connect_timeout, "--connect-timeout")  # the library's bound
    if args.scheduler is not None:
        scheduler_address(args.scheduler, "--scheduler")
    if args.chemiscope:
        check_chemiscope_path(args.chemiscope)
    reports = {
        "--summary": (args.summary, (".json",)),
        "--plot": (args.plot, (".png",)),
        "--singular": (args.singular, EXTXYZ_SUFFIXES),
    }
    for option, (path, suffixes) in reports.items():
        if path:
            output_file(path, option, suffixes=suffixes)
    # the default names too (a folder in the way was found after the scan, with half
    # of the reports written)
    for writer, path in output_writers(args).items():
        if writer.startswith(DEFAULT_WRITER):
            output_file(path, writer)
    check_companions_are_ours(args)
    check_moot_options(args)
    refuse_overwriting_inputs(args, output_writers(args))


def output_writers(args: argparse.Namespace) -> dict[str, Path]:
    """Every file the scan writes (or removes as an earlier scan's report), by the option
    that names it: ``--output``, each report's option, or "the default --singular" for a
    report named after the results file (:func:`report_paths`)."""
    options = ("--singular", "--plot", "--chemiscope", "--summary")
    given = (args.singular, args.plot, args.chemiscope, args.summary)
    reports = report_paths(args, Path(args.output))
    writers = {"--output": Path(args.output)}
    for option, name, path in zip(options, given, reports, strict=True):
        writers[option if name else f"{DEFAULT_WRITER}{option}"] = path
    return writers


def check_workers(workers: int) -> int:
    """``--workers``: 1 to :data:`WORKERS_PER_CPU` per CPU this process may use."""
    cpus = default_workers()
    return bounded_int(
        "--workers",
        workers,
        minimum=1,
        maximum=WORKERS_PER_CPU * cpus,
        why=f"{WORKERS_PER_CPU} per CPU of the {cpus} this process may use: each worker is "
        "a single-threaded process, and more only share the CPUs",
    )


def check_companions_are_ours(args: argparse.Namespace) -> None:
    """Refuse default report names that another results file's scan wrote: ``X.csv`` and
    ``X.parquet`` share ``X.summary.json`` and the rest, and a scan of one would replace
    (or remove) the reports of the other. The default summary records its results file;
    without one that records this output, a results file of the other format beside it
    is taken to own them (its summary may have been named elsewhere)."""
    output = Path(args.output)
    if not any(writer.startswith(DEFAULT_WRITER) for writer in output_writers(args)):
        return  # no default name is written (nor an earlier one removed: companions_owner)
    summary = companion(output, ".summary.json")
    owner = companions_owner(output)
    if owner is None or owner == output.name:
        return
    reason = (
        f"{summary} holds the reports of the scan of {owner}"
        if _recorded_output(summary)
        else f"{owner} beside it shares its default report names ({summary.name}, …)"
    )
    raise DegeneracyError(
        f"{reason}, which this scan into {output.name} would replace: choose another "
        "--output, or name the reports (--summary, --plot, --singular, --chemiscope)"
    )


def _recorded_output(summary: Path) -> str | None:
    """The results file's name that a default summary records, None without one."""
    try:
        recorded = json.loads(summary.read_text()).get("output")
    except (OSError, ValueError, AttributeError):
        return None  # none, or not ours to judge
    return Path(recorded).name if recorded else None


def companions_owner(output: Path) -> str | None:
    """Whose the default-named reports beside ``output`` are (a results file's name): the
    one its default summary records, else a results file of the other format beside it
    (``X.parquet`` for ``X.csv``), else None (nobody's else: this output's)."""
    recorded = _recorded_output(companion(output, ".summary.json"))
    if recorded is not None:
        return recorded
    siblings = [output.with_suffix(suffix) for suffix in OUTPUT_FORMATS if suffix != output.suffix]
    return next((sibling.name for sibling in siblings if sibling.is_file()), None)


def check_moot_options(args: argparse.Namespace) -> None:
    """Refuse options that the rest of the command line would silently ignore."""
    if args.scheduler is not None and args.workers is not None:
        raise DegeneracyError("--workers sizes the local cluster; a --scheduler has its own")
    if args.scheduler is None:
        refuse_options(args, ["connect_timeout"], "applies to --scheduler only")
    if args.chemiscope and args.chemiscope_limit == 0:
        raise DegeneracyError("--chemiscope with --chemiscope-limit 0: no file would be written")
    if args.singular and args.top == 0:
        raise DegeneracyError("--singular with --top 0: no environment would be written")


class InterruptsKept:
    """A context in which no Ctrl-C (or SIGTERM) is lost: one raised where it cannot
    propagate — in a weakref callback or a ``__del__``, e.g. matplotlib's or a WeakSet's,
    which Python reports as "Exception ignored in: ..." with a traceback and then goes on —
    is kept, unprinted, and raised again by :meth:`check`."""

    def __enter__(self) -> InterruptsKept:
        self.lost: KeyboardInterrupt | None = None
        self._previous = sys.unraisablehook
        sys.unraisablehook = self._keep
        return self

    def _keep(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.lost = self.lost or unraisable.exc_value
        else:
            self._previous(unraisable)

    def check(self) -> None:
        """Raise the interrupt kept, if there is one."""
        if self.lost is not None:
            lost, self.lost = self.lost, None
            raise lost

    def __exit__(self, *exc: object) -> None:
        sys.unraisablehook = self._previous


@dataclass(frozen=True)
class ScanCommand:
    """What the steps of one ``degeneracy scan`` share."""

    args: argparse.Namespace
    dataset: Dataset
    representation: Any
    recipe: RepresentationRecipe
    output: Path
    interrupts: InterruptsKept


def run(args: argparse.Namespace) -> None:
    check_arguments(args)
    output = Path(args.output)
    representation = representation_from_args(args)
    dataset = Dataset(args.dataset, units=args.units, read_format=args.read_format)
    recipe = RepresentationRecipe.of(representation)
    with InterruptsKept() as interrupts:
        command = ScanCommand(args, dataset, representation, recipe, output, interrupts)
        summary = run_scan(command)
        try:
            write_reports(command, summary)
        except KeyboardInterrupt:
            print(
                f"degeneracy scan: reports interrupted; {output} and its chunks in "
                f"{ChunkStore(output).folder} are kept: rerun the same command to "
                "finish the reports (nothing is computed again)",
                file=sys.stderr,
            )
            raise
        ChunkStore(output).remove()  # the reports are written: nothing left to resume
        interrupts.check()


def run_scan(command: ScanCommand) -> ScanSummary:
    """Scan the data set into the output, keeping its chunks for the reports
    (:func:`~degeneracy.scan.scan_dataset` with ``keep_parts``); an interruption says
    whether finished chunks were kept."""
    args = command.args
    try:
        summary = scan_dataset(
            command.dataset,
            command.recipe,
            output=command.output,
            centers=args.centers,
            neighbors=args.neighbors,
            chunk_size=args.chunk_size,
            batch_size=args.batch_size,
            scheduler=args.scheduler,
            workers=args.workers,
            connect_timeout=args.connect_timeout,
            restart=args.restart,
            progress=not args.no_progress and sys.stderr.isatty(),
            keep_parts=True,
        )
        command.interrupts.check()
        return summary
    except KeyboardInterrupt:
        store = ChunkStore(command.output)
        if store.chunk_files():
            print(
                f"degeneracy scan: finished chunks are kept in {store.folder}; "
                "rerun the same command to resume",
                file=sys.stderr,
            )
        raise


def write_reports(command: ScanCommand, summary: ScanSummary) -> None:
    """The summary lines, the most singular environments and the report files of a scan.

    Every file is written atomically, so an interruption leaves each report either
    complete (of this run or an earlier one) or absent; one that a library swallowed is
    raised after the step it came in (:meth:`InterruptsKept.check`).
    """
    args, interrupts = command.args, command.interrupts
    cn_histogram, _ = figure_writers()
    results = read_results(command.output)
    stats = quantiles(results)
    print(format_summary(summary, stats))
    top = most_singular(results, args.top)
    shown = chemiscope_selection(results, args.chemiscope_limit) if args.chemiscope_limit else []
    singular, plot, viewer, report = report_paths(args, command.output)
    written = {plot, report, *([singular] if top else []), *([viewer] if len(shown) else [])}
    for stale in remove_stale_companions(command.output, written):
        print(f"removed {stale}: an earlier scan's, this one writes no such file")
    structures = collect_structures(command.dataset, {*shown, *(row["structure"] for row in top)})
    interrupts.check()
    if top:
        report_most_singular(command, top, structures, singular, summary.settings["cutoff"])
        interrupts.check()
    cn_histogram(without_kinks(results), plot, title=histogram_title(command, summary))
    print(f"wrote {plot}")
    interrupts.check()
    if args.chemiscope_limit:
        shown_structures = {i: structures[int(i)] for i in shown}
        report_chemiscope(command, viewer, shown_structures, results, summary.settings)
        interrupts.check()
    document = {**summary.to_dict(), "cn": stats, "most_singular": top}
    document["output"] = str(command.output)
    write_json(report, document)
    print(f"wrote {report}")


def report_title(command: ScanCommand) -> str:
    """``"data.xyz: SOAP (...)"``: the data set and the fingerprint, for the figures."""
    return f"{Path(command.dataset.label).name}: {describe_representation(command.representation)}"


def histogram_title(command: ScanCommand, summary: ScanSummary) -> str:
    """:func:`report_title`, and how many kinks the histogram leaves out (if any)."""
    title = report_title(command)
    if summary.n_kinks:
        title += f" ({_plural(summary.n_kinks, 'kink')} left out: no derivative there)"
    return title


def environment_text(settings: dict[str, Any]) -> str:
    """Which environments a scan of ``settings`` (its summary's) describes, in words:
    ``"C centres, H neighbours only, within 2.5 Å; read in bohr, shown in Å"``."""
    centres, neighbours = settings.get("centers"), settings.get("neighbors")
    text = f"{species_text(centres)} centres" if centres else "every centre"
    text += f", {species_text(neighbours)} neighbours only" if neighbours else ", all neighbours"
    text += f", within {settings['cutoff']:g} Å"
    units = (settings.get("dataset") or {}).get("units", "angstrom")
    return text if units == "angstrom" else f"{text}; read in {units}, shown in Å"


def report_chemiscope(
    command: ScanCommand,
    path: Path,
    structures: dict[int, Any],
    results: Any,
    summary_settings: dict[str, Any],
) -> None:
    """Write the chemiscope file of ``structures``, environments within the scan's
    cutoff (none if no environment has a finite spectrum), described with the scan's
    ``summary_settings``: fingerprint, centres, neighbours and units."""
    cutoff = summary_settings["cutoff"]
    if not structures:
        print("no environment has a finite spectrum: no chemiscope file written")
        return
    _, write_chemiscope = figure_writers()
    n_shown = write_chemiscope(
        path,
        structures,
        results,
        cutoff=cutoff,
        title=f"degeneracy scan of {Path(command.dataset.label).name}",
        description=f"{report_title(command)}; {environment_text(summary_settings)}",
    )
    n_structures = _plural(len(structures), "structure")
    print(f"wrote {path} ({_plural(n_shown, 'environment')} of {n_structures})")


def figure_writers() -> tuple[Any, Any]:
    """:func:`~degeneracy.figures.scan.cn_histogram` and
    :func:`~degeneracy.figures.scan.write_chemiscope`, their module imported with Ctrl-C
    held back (:func:`~degeneracy.scan.import_uninterrupted`): matplotlib and chemiscope,
    imported only once the scan is done, load compiled extensions, and a Ctrl-C inside
    one's initialisation (matplotlib's ``ft2font``) raised "ImportError: initialization
    failed" and then a fatal error about the GIL as the interpreter exited."""
    import_uninterrupted(["degeneracy.figures.scan"])
    from ..figures.scan import cn_histogram, write_chemiscope

    return cn_histogram, write_chemiscope


def report_most_singular(
    command: ScanCommand,
    top: list[dict[str, Any]],
    structures: dict[int, Any],
    path: Path,
    cutoff: float,
) -> None:
    """Describe the ``top`` rows (verdict, nearest equal pairs: added to each row), print
    them as a table and write their environments to ``path``."""
    neighbors = command.args.neighbors
    neighbor_species = None if neighbors in (None, "all") else parse_species(neighbors)
    environments = environments_at(
        structures,
        [(row["structure"], row["atom"]) for row in top],
        cutoff=cutoff,
        neighbor_species=neighbor_species,
    )
    progress = not command.args.no_progress and sys.stderr.isatty()
    described = describe_singular(environments, command.recipe, progress=progress)
    for row, entry in zip(top, described, strict=True):
        row.update({k: entry.get(k) for k in VERDICT_KEYS})
    print(f"\nmost singular environments (largest CN, top {len(top)}):")
    print(format_top(top))
    write_singular(path, environments, top)
    print(f"\nwrote {path}")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "scan",
        help="condition number of every environment of a data set (Dask, resumable)",
        description="For every chosen centre of every structure of DATASET (any file ase "
        "reads): the environment within the cutoff, the largest and smallest singular "
        "value of the fingerprint's rotation-purified Jacobian and CN = s1/s_min. Runs "
        "in chunks on a Dask cluster (a local one by default), streams finished chunks "
        "to RESULTS.parts/ and merges them into --output at the end; rerunning a killed "
        "scan skips finished chunks. Also writes a CN histogram (RESULTS.histogram.png), the "
        "most singular environments (RESULTS.singular.extxyz), a chemiscope file "
        "(RESULTS.chemiscope.json.gz) and RESULTS.summary.json.",
    )
    parser.add_argument("dataset", metavar="DATASET", help="structure file readable by ase")
    parser.add_argument(
        "--output",
        required=True,
        type=output_file_argument,
        metavar="RESULTS",
        help="results file, RESULTS.parquet or RESULTS.csv (written atomically at the end)",
    )
    add_representation_arguments(parser)
    group = parser.add_argument_group("environments")
    group.add_argument(
        "--centers",
        type=species_argument,
        metavar="SPECIES",
        help="centre species, e.g. C or C,H, or 'all' (default: the fingerprint's centre "
        "species, C for soap)",
    )
    group.add_argument(
        "--neighbors",
        type=species_argument,
        metavar="SPECIES",
        help="count only these neighbour species (default: all atoms within the cutoff)",
    )
    add_units_argument(group, "DATASET")
    group.add_argument(
        "--read-format", metavar="FMT", help="ase file format, if not clear from the name"
    )
    group = parser.add_argument_group("Dask")
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler (default: start a local cluster)",
    )
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster, one thread each, at most "
        f"{WORKERS_PER_CPU} per CPU (default: CPU count)",
    )
    group.add_argument(
        "--connect-timeout",
        action=RecordedStore,
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for --scheduler, for its first worker and for a worker when "
        f"none is left, at most {MAX_CONNECT_TIMEOUT:g} (10)",
    )
    group.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"environments per chunk, the unit of work and of resume ({DEFAULT_CHUNK_SIZE})",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"environments per fingerprint call inside a chunk ({DEFAULT_BATCH_SIZE})",
    )
    group.add_argument(
        "--restart",
        action="store_true",
        help="discard partial results of an earlier scan with other settings",
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = parser.add_argument_group("reports")
    group.add_argument(
        "--top", type=int, default=10, metavar="K", help="most singular environments shown (10)"
    )
    group.add_argument("--plot", metavar="PNG", help="CN histogram (RESULTS.histogram.png)")
    group.add_argument(
        "--singular",
        metavar="EXTXYZ",
        help="most singular environments (RESULTS.singular.extxyz)",
    )
    group.add_argument(
        "--chemiscope",
        metavar="JSON",
        help="chemiscope file, .json or .json.gz (RESULTS.chemiscope.json.gz)",
    )
    group.add_argument(
        "--chemiscope-limit",
        type=int,
        default=DEFAULT_CHEMISCOPE_LIMIT,
        metavar="N",
        help="at most N environments (map points, in whole structures) in the chemiscope "
        "file: half the most singular structures, half a random sample; 0 writes none "
        f"({DEFAULT_CHEMISCOPE_LIMIT})",
    )
    group.add_argument("--summary", metavar="JSON", help="summary file (RESULTS.summary.json)")
    parser.set_defaults(func=run)
