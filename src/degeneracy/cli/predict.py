"""``degeneracy predict``: a trained ``degeneracy learn`` model applied to structures."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from ..checks import existing_file
from ..errors import DegeneracyError
from ..files import json_text
from ..structures import DEFAULT_CUTOFF
from ..targets import fourbody_torsion
from .options import (
    add_input_arguments,
    add_output_arguments,
    check_output_suffix,
    emit,
    frames_from_args,
    refuse_overwriting_inputs,
    same_file,
)

#: Frames per feature batch of ``predict``.
FEATURE_BATCH = 1000


def format_predictions(
    predictions: np.ndarray,
    fmt: str,
    targets: np.ndarray | None = None,
    gradients: np.ndarray | None = None,
    domain_ratios: np.ndarray | None = None,
) -> str:
    """Render predictions per frame as JSON (a list of objects), CSV or a table.

    ``gradients`` (n, N, 3): the model's gradient w.r.t. each neighbour (1/Å), as a list
    of [x, y, z] per neighbour under ``"gradient"`` in JSON, columns ``grad_<i><axis>``
    (neighbour i = 1 … N) in CSV and the table. ``domain_ratios`` (n,): each frame's
    distance ratio to the model's applicability domain
    (:class:`~degeneracy.learning.domain.ApplicabilityDomain`), as ``"in_domain"`` (true
    when the ratio is at most 1; 1 or 0 in CSV and the table) and ``"domain_ratio"``.
    """
    rows = []
    for i, value in enumerate(predictions):
        row: dict = {"frame": i, "prediction": float(value)}
        if domain_ratios is not None:
            inside = bool(domain_ratios[i] <= 1.0)
            row["in_domain"] = inside if fmt == "json" else int(inside)
            row["domain_ratio"] = float(domain_ratios[i])
        if targets is not None:
            row["fourbody"] = float(targets[i])
        if gradients is not None and fmt == "json":
            row["gradient"] = gradients[i].tolist()
        elif gradients is not None:
            for atom, vector in enumerate(gradients[i], start=1):
                row.update(
                    {f"grad_{atom}{axis}": float(v) for axis, v in zip("xyz", vector, strict=True)}
                )
        rows.append(row)
    if fmt == "json":
        return "[\n" + ",\n".join(json_text(row, indent=None).rstrip() for row in rows) + "\n]\n"
    names = list(rows[0])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    widths = [max(10, len(n)) for n in names]
    lines = ["  ".join(f"{n:>{w}s}" for n, w in zip(names, widths, strict=True))]
    for row in rows:
        cells = [_cell(row[n], w) for n, w in zip(names, widths, strict=True)]
        lines.append("  ".join(cells))
    return "\n".join(lines) + "\n"


def _cell(value: float | int, width: int) -> str:
    """A table cell: an integer (``frame``, ``in_domain``) as it is, a float to 6 decimals."""
    return f"{value:>{width}d}" if isinstance(value, int) else f"{value:>{width}.6f}"


def saved_model_file(model: str) -> str:
    """The model file that ``--model`` names: DIR/model.pt for a folder (as load_model)."""
    path = Path(model)
    return str(path / "model.pt" if path.is_dir() else path)


def refuse_overwriting_the_model(args: argparse.Namespace) -> None:
    """Refuse, before any work, an ``--output`` that is FILE or one of the files of the
    run ``--model`` names (its ``model.pt``, the basis files beside it, its metrics and
    predictions): ``--output run/model.pt`` replaced the trained model by the table of
    predictions, ``--output run/metrics.json`` the run's record."""
    from ..learning.protocols import RESULT_FILES  # torch: at run time, not for --help

    refuse_overwriting_inputs(args, {"--output": args.output})
    if not args.output:
        return
    model = Path(saved_model_file(args.model))
    for path in [model, *(model.parent / name for name in RESULT_FILES)]:
        if same_file(args.output, path):
            raise DegeneracyError(
                f"--output {args.output} is the model's {path}: it would be overwritten; "
                "choose another path"
            )


def check_features_fit(model, inputs: dict[str, np.ndarray], source: str) -> None:
    """Refuse features that are not what the network of the model file ``source`` takes
    (its settings changed after training: another ``n_max``, a missing centre species)."""
    given = {species: values.shape[-1] for species, values in inputs.items()}
    if given != model.config["n_features"]:
        raise DegeneracyError(
            f"{source}: damaged model: its fingerprint settings give features "
            f"{given}, its network takes {model.config['n_features']}"
        )


def check_finite(values: np.ndarray, what: str, source: str, model: str) -> None:
    """Refuse non-finite ``values`` (one row per frame of ``source``), naming the first frame.

    A network with finite weights maps finite features to finite values (every layer is
    bounded or linear, and load_model refuses non-finite weights), so only a damaged model
    gives NaN or infinity: an error, not a column of nan.
    """
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise DegeneracyError(
            f"{model}: its {what} for frame {first} of {source} is not finite "
            f"({int(bad.sum())} of {len(values)} frames): its weights are not sound"
        )


def run(args: argparse.Namespace) -> None:
    if args.file is not None:  # a missing FILE named at once, not after torch and the model
        existing_file(args.file, "structure file")
    # torch: at run time, not for --help
    from ..learning import compute_inputs, model_gradients, predict_frames
    from ..learning.domain import check_domain
    from ..learning.features import featurizer_cutoff
    from ..learning.protocols import load_model_and_domain, warn_about_frames

    check_output_suffix(args)
    refuse_overwriting_the_model(args)
    # model.pt read once (load_model and load_domain read it each); the domain before the
    # features: a damaged one was found only after all of them
    model, featurizer, _, stored_domain = load_model_and_domain(args.model)
    frames = frames_from_args(
        args,
        cutoff=featurizer_cutoff(featurizer, default=DEFAULT_CUTOFF),
        images_of_every_atom=len(model.config["n_features"]) > 1,  # H centres too
    )
    source = str(args.file or args.builtin)
    warn_about_frames({source: frames}, featurizer)
    # in batches (bounded featomic memory); a bar only where it lasts (> one batch), on a
    # terminal (as every command: a redirected stderr got the bar's carriage returns)
    progress = not args.quiet and len(frames) > FEATURE_BATCH and sys.stderr.isatty()
    inputs = compute_inputs(featurizer, frames, batch_size=FEATURE_BATCH, progress=progress)
    model_file = saved_model_file(args.model)
    check_features_fit(model, inputs, model_file)
    predictions = predict_frames(model, featurizer, frames, inputs)
    check_finite(predictions, "prediction", source, model_file)
    gradients = None
    if args.gradient:
        gradients = model_gradients(model, featurizer, frames, inputs)
        gradients = gradients.reshape(len(frames), -1, 3)
        check_finite(gradients, "gradient", source, model_file)
    domain = check_domain(stored_domain, inputs, source=source, model=str(args.model))
    targets = np.atleast_1d(fourbody_torsion(frames)) if args.with_target else None
    emit(
        format_predictions(predictions, args.format, targets, gradients, domain.ratios),
        args.output,
    )


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict",
        help="predict E4 with a model trained by `degeneracy learn`",
        description="Rebuild the fingerprint and normalisation stored in a `degeneracy learn` "
        "results folder and print the model's prediction for every frame of FILE, with "
        "whether the frame lies in the model's applicability domain (in_domain: its "
        "distance to the nearest training frame in the model's feature space at most "
        "the distance that 99 % of validation frames stay within; domain_ratio: that "
        "distance over the threshold). Frames outside get one warning on stderr.",
    )
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="results folder of `degeneracy learn`"
    )
    add_input_arguments(parser, environment=False)
    parser.add_argument(
        "--with-target", action="store_true", help="also print the exact E4 ('fourbody')"
    )
    parser.add_argument(
        "--gradient",
        action="store_true",
        help="also print the model's gradient w.r.t. each neighbour, centre fixed, in 1/Å "
        "(minus the predicted force)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_output_arguments(parser, ["table", "json", "csv"])
    parser.set_defaults(func=run)
