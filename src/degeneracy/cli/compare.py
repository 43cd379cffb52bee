"""``degeneracy compare``: CN and smallest singular value of several fingerprints per frame."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compare import Comparison, compare_fingerprints
from ..compositions import composition_hypers
from ..errors import DegeneracyError
from ..files import atomic_paths, json_text, output_file
from ..representations.base import every_hyper
from ..structures import recorded_arc_lengths
from .options import (
    SUFFIX_FORMATS,
    add_input_arguments,
    add_output_arguments,
    add_representation_arguments,
    aligned_table,
    check_input_analysable,
    check_output_suffix,
    csv_text,
    frames_cutoff,
    frames_from_args,
    naming_input_file,
    number_text,
    refuse_overwriting_inputs,
    representations_from_args,
)


def format_comparison(comparison: Comparison, fmt: str, hypers: dict) -> str:
    """Render a :class:`Comparison` as a table, CSV or JSON."""
    if fmt == "json":
        payload = {
            "fingerprints": hypers,
            "summary": comparison.summary(),
            "frames": comparison.records(),
        }
        return json_text(payload)
    names = comparison.names
    header = ["frame"]
    for name in names:
        header += [f"cn_{name}", f"verdict_{name}", f"s_min_{name}", f"rel_s_min_{name}"]
        header += [f"rho_{name}", f"trade_scale_{name}"]
    header += ["coincidence_distance", "nearest_coincidence"]
    rows = []
    exact = fmt == "csv"  # CSV in full precision, the table readable
    verdicts = comparison.verdicts
    for f in range(len(comparison.cn)):
        row = [str(f)]
        for k in range(len(names)):
            row += [
                number_text(comparison.cn[f, k], ".4e", exact=exact),
                str(verdicts[f, k]),
                number_text(comparison.s_min[f, k], ".4e", exact=exact),
                number_text(comparison.relative_s_min[f, k], ".4e", exact=exact),
                number_text(comparison.near_swap_residuals[f, k], ".3g", exact=exact),
                number_text(comparison.trade_scales[f, k], ".3g", exact=exact),
            ]
        row += [
            number_text(comparison.coincidence_distances[f], ".4g", exact=exact),
            comparison.nearest_coincidences[f] or "",
        ]
        rows.append(row)
    if fmt == "csv":
        return csv_text([header, *rows])
    lines = aligned_table([header, *rows]).splitlines()
    lines += [_summary_line(comparison, k) for k in range(len(names))]
    return "\n".join(lines) + "\n"


def _summary_line(comparison: Comparison, k: int) -> str:
    """The table's closing line on fingerprint ``k``: its CN, kinks left out as ``scan``
    does (their CN is one one-sided derivative's), rho and trade scale."""
    cn = comparison.cn_without_kinks(k)
    n_kinks = len(comparison.cn) - cn.size
    if not cn.size:
        what = f"all {n_kinks} frames are kinks" if n_kinks > 1 else "its one frame is a kink"
        statistics = f"CN n/a ({what}: no derivative there)"
    else:
        statistics = f"CN median {np.median(cn):.3e}, min {cn.min():.3e}, max {cn.max():.3e}"
        if n_kinks:
            left = f"{n_kinks} kink" + ("s" if n_kinks > 1 else "")
            statistics += f" ({left} left out: no derivative there)"
    return (
        f"# {comparison.names[k]}: {statistics}; "
        f"rho median {_summary_value(comparison.median_residual(k), '.3g')}"
        f", trade scale median {_summary_value(comparison.median_trade_scale(k), '.3g', ' Å')}"
    )


def _summary_value(value: float, spec: str, unit: str = "") -> str:
    """``value`` formatted with ``spec`` and followed by ``unit``, or "n/a" when there is
    none (NaN: blank in the table, null in JSON); ``inf`` stays ``inf``, as in the table."""
    return "n/a" if np.isnan(value) else f"{value:{spec}}{unit}"


#: Image formats other than PNG and PDF (matplotlib's and the usual others): a --plot
#: PREFIX named for one would be written as ``f.jpg.png`` and ``f.jpg.pdf``.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".eps", ".ps", ".svgz"}
    | {".pgf", ".raw", ".rgba", ".avif", ".heic"}
)


def figure_paths(prefix: str) -> list[str]:
    """``PREFIX.png`` and ``PREFIX.pdf`` (a trailing .png or .pdf of PREFIX is dropped,
    as :func:`~degeneracy.figures.compare.comparison_paths` drops it: ``--plot f.png``
    writes f.png and f.pdf), checked before the work: their folder exists and can be
    written, ``prefix`` is no folder (``--plot outdir/`` wrote ``outdir.png`` beside
    it), and it is not named for another format (``--plot f.jpg`` wrote ``f.jpg.png``
    and ``f.jpg.pdf``; any suffix of :data:`~.options.SUFFIX_FORMATS` or
    :data:`IMAGE_SUFFIXES`), as ``--output`` refuses one; another suffix is part of the
    prefix (``--plot run.v2``: ``run.v2.png``)."""
    if Path(prefix).is_dir() or prefix.endswith(("/", os.sep)):
        raise DegeneracyError(
            f"--plot {prefix}: names a folder; --plot is the PREFIX of PREFIX.png and "
            f"PREFIX.pdf, e.g. {Path(prefix) / 'compare'}"
        )
    if Path(prefix).exists() and not Path(prefix).is_file():  # /dev/null: /dev/null.png
        raise DegeneracyError(
            f"--plot {prefix}: names a device, pipe or socket, not a prefix; --plot is the "
            "PREFIX of PREFIX.png and PREFIX.pdf (leave it out for no figure)"
        )
    suffix = Path(prefix).suffix
    if suffix.lower() in (".png", ".pdf"):
        prefix = prefix[: -len(suffix)]
    elif suffix.lower() in SUFFIX_FORMATS or suffix.lower() in IMAGE_SUFFIXES:
        raise DegeneracyError(
            f"--plot {prefix}: names a {suffix} file, which --plot does not write; --plot "
            f"is the PREFIX of PREFIX.png and PREFIX.pdf, e.g. {prefix[: -len(suffix)]}"
        )
    paths = [f"{prefix}{ext}" for ext in (".png", ".pdf")]
    for path in paths:
        output_file(path, "--plot")
    return paths


def run(args: argparse.Namespace) -> None:
    check_output_suffix(args)
    figures = figure_paths(args.plot) if args.plot else []
    refuse_overwriting_inputs(
        args, [("--output", args.output), *(("--plot", path) for path in figures)]
    )
    frames = frames_from_args(args, cutoff=frames_cutoff(args))  # an entry may set its own
    representations = representations_from_args(args, frames=frames)
    check_input_analysable(args, frames, representations.values())
    with naming_input_file(args):
        comparison = compare_fingerprints(
            frames,
            representations,
            progress=len(frames) > 200 and sys.stderr.isatty(),
            per_composition=True,  # each frame with its own species, as scan
        )
    hypers = {
        name: every_hyper(rep, composition_hypers(rep, frames))
        for name, rep in representations.items()
    }
    text = format_comparison(comparison, args.format, hypers)
    x = recorded_arc_lengths(frames)
    plot = {
        "x": x,
        "xlabel": "frame" if x is None else "arc length (Å)",
        "title": Path(args.file).name if args.file else args.builtin,
    }
    write_results(text, args.output, comparison, figures, **plot)
    if figures:
        print(f"wrote {figures[0]} and {figures[1]}", file=sys.stderr)


def write_results(
    text: str,
    output: str | None,
    comparison: Comparison,
    figures: Sequence[str],
    **plot: Any,
) -> None:
    """The table (to ``output``, or printed) and the figure (``figures``: PNG and PDF) as
    one result: the figure is drawn into temporary files beside its own, and the files
    are moved into place together once all are written, the table printed after. An
    interruption or error before then (drawing takes seconds) leaves every earlier
    output as it was: the table of a new run never stands beside the figure of an
    earlier one (the table used to be written first, the figure then drawn)."""
    targets = ([output] if output is not None else []) + list(figures)
    with atomic_paths(targets) as temporary:
        if output is not None:
            with open(temporary[0], "w") as handle:
                handle.write(text)
        if figures:
            from ..figures.compare import comparison_paths, plot_comparison

            png, pdf = temporary[-2:]
            prefix = f"{png}-figure"
            drawn = comparison_paths(prefix)
            try:
                plot_comparison(comparison, prefix, **plot)
                for path, place in zip(drawn, (png, pdf), strict=True):
                    shutil.move(path, place)  # a --plot link may point to another disk
            finally:
                for path in drawn:
                    path.unlink(missing_ok=True)
    if output is None:
        sys.stdout.write(text)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare",
        help="condition number and smallest singular value of several fingerprints",
        description="For every frame and fingerprint: condition number CN = s1/s_min of "
        "the rotation-purified Jacobian, verdict_NAME (kink: no Jacobian there, CN one "
        "one-sided derivative's and left out of the summary; regular: no s_k below 1e-6 "
        "s1; zero: some), its smallest singular value s_min, and s_min/|x| "
        "(comparable across fingerprints), rho_NAME: how much of its softest motion is "
        "not the trade of the frame's two neighbour pairs nearest to equal (r, r', angle) "
        "(near 0: the ν = 2 blind spot), trade_scale_NAME: how equal (in Å) pairs must be "
        "for that motion to be mostly their trade, any number of pairs (inf: none), and "
        "per frame those pairs and their distance in Å; a summary per fingerprint, and "
        "with --plot a figure (PNG and PDF) over the "
        "frames (x: arc_length when every frame has it).",
    )
    add_input_arguments(parser)
    add_representation_arguments(parser, multiple=True)
    parser.add_argument(
        "--plot", metavar="PREFIX", help="write PREFIX.png and PREFIX.pdf of the comparison"
    )
    add_output_arguments(parser, ["table", "csv", "json"])
    parser.set_defaults(func=run)
