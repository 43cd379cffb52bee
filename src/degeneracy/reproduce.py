"""One command for everything in the Comment: A0, the 16 orbits, Fig. 1, Fig. 2, a report.

Pozdnyakov, Willatt, Bartók, Ortner, Csányi, Ceriotti, Comment on "Manifolds of
quasi-constant SOAP and ACSF fingerprints and the resulting failure to machine learn
four-body interactions" (2022). Steps, each cached in ``DIR/steps/<name>.json`` and
skipped on a re-run with the same settings (``force`` redoes them all):

1. ``orbits``: A0 by our singular search from the mean of the traced ``pg-start`` orbit,
   and the 16 orbits from A0 + c (P0 − A0), c ∈ {0.1, 0.5, 1, 1.5}, σ ∈ {0.1, 0.2, 0.3,
   0.5} Å (:func:`degeneracy.orbits.run_family`).
2. ``figure1``: Fig. 1a (orbits and degenerate-pair lines) and Fig. 1b (CN along them).
3. ``learning``: the three protocols of Fig. 2 on the σ = 0.3 Å, c = 1 orbit.
4. ``figure2`` and ``report``: parity plots, ``report.html`` and ``summary.json``.

All intermediate data (orbits, datasets, features, fitted bases) goes to ``DIR/cache``,
so the folder is self-contained and ``force`` starts from nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .checks import bounded_int, one_of, positive_float
from .errors import DegeneracyError, DegeneracyWarning
from .files import (
    OUTPUT_LOCK,
    atomic_open,
    cache_key,
    exclusive_output,
    json_safe,
    output_folder,
    write_json,
)
from .learning.datasets import DATASET_FORMAT
from .learning.specs import MAX_SEED, PROTOCOLS, training_seed
from .orbits import MAX_WORKERS
from .provenance import software_versions
from .report import Figure, Section, Table, format_cell, render_report, write_report
from .sensitivity import roundoff_floor

#: The Comment's published learning results (DESIGN.md §3; E4 is unitless).
PUBLISHED_LEARNING = {
    "none": {"val_rmse": 0.0133, "orbit_heldout_rmse": 0.144, "orbit_rmse": None},
    "subset": {"val_rmse": 0.0134, "orbit_heldout_rmse": 0.072, "orbit_rmse": None},
    "full": {"val_rmse": 0.0146, "orbit_heldout_rmse": None, "orbit_rmse": 0.033},
}

#: The Comment's condition number at its A0, for every σ: "CN ≈ 1e14", an order of
#: magnitude (printed as such, never as 1.000e+14).
COMMENT_A0_CN = 1e14

#: ρ (:func:`~degeneracy.sensitivity.near_swap`'s ``near_swap_residual``) under which a
#: softest motion counts as mostly the trade of two equal pairs: the default ``residual``
#: of :func:`~degeneracy.sensitivity.trade_scale` (sensitivity/trades.py names no constant for
#: it; its PAIR_SWAP_TOL, 1e-3, is for an exact zero's swap, not a near-singular frame's).
MOSTLY_TRADE_RHO = 0.5

#: Distance (Å) from equal neighbour pairs under which a frame counts as near a ν = 2
#: branch point. sensitivity/coincidences.py's COINCIDENCE_TOL (1e-3 Å) is where pairs count
#: as equal, not near; over random CH4 the nearest equal pairs are a median 0.167 Å away,
#: 0.038 Å for the 1 % SOAP sees worst (docs/concepts.md, "Which configurations a
#: fingerprint sees worst").
NEAR_COINCIDENCE_DISTANCE = 0.04

#: Bumped when the numbers the orbits step stores change meaning, so that a folder made
#: before recomputes them (its orbits and A0 stay cached in DIR/cache): 2 = a CN whose
#: s_min is at round-off is inf (:func:`~degeneracy.sensitivity.condition_number`);
#: 3 = A0 refined to round-off at every σ (a new A0, so new c ≠ 1 orbits), the orbits'
#: shape distance and smallest gap, A0's s_min/s_1 per σ; 4 = ``a0_distance_to_published``
#: the distance of the 12 coordinates (it was the largest coordinate difference); 5 = the
#: step records ``orbits/summary.json`` and ``orbits/a0.extxyz`` (one deleted redoes it),
#: and each orbit the part a published orbit that ends early covers.
ORBITS_STEP_FORMAT = 5

#: Orbit frames used by the learning experiment (the Comment's Fig. 2 orbit).
LEARNING_ORBIT = (0.3, 1.0)
LEARNING_PROTOCOLS = tuple(PROTOCOLS)


@dataclass(frozen=True)
class ReproduceSettings:
    """What ``degeneracy reproduce`` runs; ``quick`` shrinks every step.

    Attributes
    ----------
    quick : bool
        Adaptive orbits instead of the 20 000-step Euler protocol, and a smaller, shorter
        learning experiment.
    basis : {"gto", "optimal"}
        SOAP radial basis of the orbits.
    workers : int
        Parallel orbit tracers, 1 to :data:`MAX_WORKERS`.
    train_frames, val_frames, test_frames : int or None
        Learning data-set sizes (None: the experiment's defaults); the test set is the
        independent one from a different generator.
    train_minutes : float or None
        Wall-time cap per learning protocol (None: the trainer's default stopping).
    seed : int
        Seed of the learning experiment: data sets (seeds ``seed``, ``seed + 1``,
        ``seed + 2`` for training, validation, test) and training (orbit split, initial
        weights, batch order).
    repeats : int
        Train the three protocols with seeds ``seed … seed + repeats − 1`` (data fixed);
        the report then gives each error as mean ± standard deviation and decides the
        Comment's ordering on the none − subset gap paired by seed. Fig. 2 shows the
        first seed.
    sampler : str
        Generator of the learning's training and validation structures
        (:data:`degeneracy.learning.SAMPLERS`): ``"thermal"`` (independent frames, the
        default) or ``"trajectory"`` (the Comment's random split of correlated
        molecular-dynamics frames).
    orbit_length : float or None
        Arc length (Å) of every orbit (None: the Comment's 2 Å); shorter only for tests.
    """

    quick: bool = False
    basis: str = "gto"
    workers: int = 2
    train_frames: int | None = None
    val_frames: int | None = None
    test_frames: int | None = None
    train_minutes: float | None = None
    seed: int = 0
    repeats: int = 1
    sampler: str = "thermal"
    orbit_length: float | None = None

    def __post_init__(self) -> None:
        from .learning.datasets import SAMPLERS

        one_of("sampler", self.sampler, sorted(SAMPLERS))
        one_of("basis", self.basis, ("gto", "optimal"))
        bounded_int("workers", self.workers, minimum=1, maximum=MAX_WORKERS)
        seed = training_seed("seed", self.seed)
        repeats = bounded_int("repeats", self.repeats, minimum=1)
        if seed + repeats - 1 > MAX_SEED:
            # refused here, not after the orbits step when the learning reaches that seed
            raise DegeneracyError(
                f"repeats {repeats} from seed {seed} would reach seed {seed + repeats - 1}, "
                f"above 2**64 - 1 = {MAX_SEED}"
            )
        for name in ("train_frames", "val_frames", "test_frames"):
            if getattr(self, name) is not None:
                bounded_int(name, getattr(self, name), minimum=1)
        if self.orbit_length is not None:
            positive_float("orbit_length", self.orbit_length)
        if self.train_minutes is not None:
            # in seconds it must stay finite (the trainer refuses an infinite cap)
            positive_float("train_minutes", self.train_minutes, below=sys.float_info.max / 60)

    @classmethod
    def for_mode(cls, quick: bool, **changes: Any) -> ReproduceSettings:
        """Defaults of the full run or of ``--quick`` (under 5 minutes on 2 cores)."""
        if quick:
            base = {
                "quick": True,
                "train_frames": 4000,
                "val_frames": 1000,
                "test_frames": 1000,
                "train_minutes": 0.6,
            }
        else:
            # the learn command's own stopping (patience, at most 4 min per protocol)
            base = {"quick": False, "train_minutes": None}
        return cls(**{**base, **changes})


@contextlib.contextmanager
def _cache_in(folder: Path) -> Iterator[None]:
    """Point :func:`degeneracy.files.cache_dir` at ``folder`` for the duration."""
    previous = os.environ.get("DEGENERACY_CACHE")
    os.environ["DEGENERACY_CACHE"] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DEGENERACY_CACHE", None)
        else:
            os.environ["DEGENERACY_CACHE"] = previous


def _rounded(value: float | None) -> str:
    """``value`` with 2 significant digits for a sentence, "—" if there is none."""
    return "—" if value is None else f"{value:.2g}"


def recorded_files(result: Any) -> list[str]:
    """The paths a step's result records: every ``"file"`` string and ``"files"`` list,
    at any depth (relative to the output folder)."""
    if isinstance(result, list):
        return [path for item in result for path in recorded_files(item)]
    if not isinstance(result, dict):
        return []
    paths = [result["file"]] if isinstance(result.get("file"), str) else []
    paths += [p for p in result.get("files", []) if isinstance(p, str)]
    for key, value in result.items():
        if key not in ("file", "files"):
            paths += recorded_files(value)
    return paths


#: The learning's files in each run folder (:func:`~degeneracy.learning.run_protocol`'s
#: results, history and checkpoint; its ``RESULT_FILES``, ``basis-H.npz`` for a
#: multi-centre model's H basis).
LEARNING_FOLDER_FILES = (
    "metrics.json",
    "model.pt",
    "basis.npz",
    "basis-H.npz",
    "predictions.npz",
    "orbit_predictions.csv",
    "history.csv",
    "checkpoint.pt",
)

_CACHE_KEY = "[0-9a-f]" * 16  # files.cache_key's 16 hex digits

#: What reproduce writes in each folder of DIR that it removes (a step's outputs before
#: the step is redone; every one with ``force``), as glob patterns of paths within the
#: folder, ``*`` never crossing a ``/``. Beside them only lock files
#: (:data:`~degeneracy.files.OUTPUT_LOCK`) and the atomic writers' temporary files of those
#: names; anything else there is someone else's, and the folder is not removed.
REPRODUCE_FILES = {
    "orbits": ("summary.json", "a0.extxyz", "orbit_sigma*_c*.extxyz"),
    "learning": tuple(
        f"{seed}{protocol}/{name}"
        for seed in ("", "seed-*/")
        for protocol in PROTOCOLS
        for name in LEARNING_FOLDER_FILES
    ),
    "figures": (
        "fig1[ab].png",
        "fig1[ab].pdf",
        "fig2.png",
        "fig2-orbit.png",
        "fig2.json",
        "orbit_sigma*_c*.chemiscope.json.gz",
    ),
    "steps": tuple(
        f"{step}.{kind}"
        for step in ("orbits", "figure1", "learning", "figure2")
        for kind in ("json", "running")
    ),
    # cache files are named by their key: dataset-thermal-n4000-seed0-<key>.extxyz,
    # orbits/orbit-<key>.extxyz and its .checkpoint.npz, features-<key>.npz, ...
    "cache": (f"*-{_CACHE_KEY}.*", f"orbits/orbit-{_CACHE_KEY}.*"),
}

#: An atomic writer's temporary file (:func:`~degeneracy.files.atomic_path`), left behind
#: by a killed run: ``.NAME.XXXXXXXX`` (mkstemp's 8 characters) and its suffix, ``.part``
#: or the end of NAME (a writer that picks the format by it: ``.json.gz``).
_TEMPORARY_FILE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>(?:\.[A-Za-z0-9]+)+)$")


def _matches(relative: PurePosixPath, pattern: str) -> bool:
    """Whether ``relative`` matches the glob ``pattern`` part by part."""
    wanted = PurePosixPath(pattern).parts
    return len(relative.parts) == len(wanted) and all(
        fnmatchcase(part, kind) for part, kind in zip(relative.parts, wanted, strict=True)
    )


def _written_by_reproduce(relative: PurePosixPath, kinds: Sequence[str]) -> bool:
    """Whether a file at ``relative`` is of the ``kinds`` reproduce writes, a lock file or
    an atomic writer's temporary file of one of them."""
    if relative.name == OUTPUT_LOCK:
        return True
    temporary = _TEMPORARY_FILE.match(relative.name)
    if temporary is not None and (
        temporary["suffix"] == ".part" or temporary["name"].endswith(temporary["suffix"])
    ):
        relative = relative.with_name(temporary["name"])
    return any(_matches(relative, kind) for kind in kinds)


def folder_files(folder: Path) -> list[PurePosixPath]:
    """Every file (and symbolic link) under ``folder``, relative to it; [] for no folder.
    Symbolic links to folders are not followed."""
    found = []
    for root, folders, files in os.walk(folder):
        links = [name for name in folders if os.path.islink(os.path.join(root, name))]
        for name in sorted([*files, *links]):
            path = Path(root, name).relative_to(folder)
            found.append(PurePosixPath(path.as_posix()))
    return sorted(found)


def foreign_files(folder: Path, kinds: Sequence[str]) -> list[str]:
    """The files under ``folder`` (relative paths) that are not of the ``kinds`` (glob
    patterns, :data:`REPRODUCE_FILES`) reproduce writes there."""
    return [str(path) for path in folder_files(folder) if not _written_by_reproduce(path, kinds)]


def _refuse_removing(folder: Path, files: Sequence[str], why: str) -> None:
    """Raise: ``folder`` holds ``files``, which reproduce would remove though ``why``."""
    shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
    them = "it" if len(files) == 1 else "them"
    raise DegeneracyError(
        f"{folder} holds {shown}, {why}: move {them}, or choose another output=..."
    )


def check_removable(folder: Path, kinds: Sequence[str]) -> None:
    """Refuse to go on when ``folder`` holds a file reproduce does not write there
    (:func:`foreign_files`): removing the folder would delete it."""
    foreign = foreign_files(folder, kinds)
    if foreign:
        _refuse_removing(folder, foreign, "which reproduce did not write")


def check_step_recorded(folder: Path, steps: Path, name: str) -> None:
    """Refuse to go on when the outputs ``folder`` of step ``name`` holds files but
    ``steps`` has no record of that step (``NAME.json`` or ``NAME.running``): files of
    the kinds reproduce writes that it did not write (e.g. a ``degeneracy family`` run),
    which redoing the step would delete. A lock file alone holds nothing of anyone's."""
    files = [str(path) for path in folder_files(folder) if path.name != OUTPUT_LOCK]
    recorded = (steps / f"{name}.json").exists() or (steps / f"{name}.running").exists()
    if files and not recorded:
        _refuse_removing(
            folder, files, f"which reproduce did not write (it has no record of its {name} step)"
        )


class StepRunner:
    """Runs named steps once per key; results are JSON in ``DIR/steps``.

    A step's key hashes the settings it depends on and the runs of the steps it reads
    (by default the step before it): their keys and the seconds of the run that made
    their results, so changing, e.g., the learning seed reruns the learning and what
    follows, not the orbits, and a step run again for the same key (after an
    interruption) reruns what reads it (Fig. 2 was kept from the training before).
    ``timings`` holds each step's seconds (of the run that computed it, for a reused
    result) and ``status`` how this run got it:
    ``"ran"``, ``"resumed"`` (an interrupted run's outputs continued) or ``"cached"``
    (an earlier result reused).
    """

    def __init__(
        self,
        folder: Path,
        *,
        log: Callable[[str], None],
        before_run: Callable[[], None] | None = None,
    ):
        self.folder = folder / "steps"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = log
        #: called before a step is (re)run, before it removes anything (reproduce removes
        #: the report there, which would describe results about to change)
        self.before_run = before_run
        self.timings: dict[str, float] = {}
        self.status: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        #: per step, its key and the seconds of the run that made its result
        self.runs: dict[str, str] = {}

    def run(
        self,
        name: str,
        function: Callable[[], dict],
        *,
        outputs: Path | None = None,
        kinds: Sequence[str] = (),
        after: Sequence[str] | None = None,
        **depends: Any,
    ) -> dict:
        """``function()`` unless a result for this name and key exists.

        ``after`` names the steps whose results this one reads (default: the step run
        just before it). Before a step runs, its key is recorded in
        ``steps/<name>.running`` and any result of another key is removed, so a run
        interrupted midway is never taken for a finished one. Its ``outputs`` folder is
        kept only when it was being written for the same key (an interrupted step then
        resumes); otherwise it is removed first (so, e.g., training checkpoints of other
        settings are not resumed, nor orbits of another length read) — unless it holds a
        file not of the ``kinds`` (glob patterns of paths within it) the step writes, or
        any file while this folder has no record of the step: that is refused
        (:func:`check_removable`, :func:`check_step_recorded`), before anything is removed.
        A step without ``outputs`` has nothing to resume: it is run afresh, status "ran".
        """
        previous = list(self.keys)[-1:] if after is None else list(after)
        key = cache_key(step=name, after={n: self.runs[n] for n in previous}, **depends)
        self.keys[name] = key
        stamp = self.folder / f"{name}.json"
        running = self.folder / f"{name}.running"
        saved = self._read_stamp(stamp) if stamp.exists() else None
        if saved is not None:
            missing = [
                path
                for path in recorded_files(saved.get("result"))
                if not (self.folder.parent / path).exists()
            ]
            if saved.get("key") == key and not missing:
                self.log(f"[{name}] done before, skipped")
                self.timings[name] = saved.get("seconds", 0.0)
                self.status[name] = "cached"
                self.runs[name] = cache_key(key=key, seconds=self.timings[name])
                return saved["result"]
            if saved.get("key") == key:
                self.log(f"[{name}] done before, but {missing[0]} is missing: redone")
        resuming = (
            outputs is not None
            and running.exists()
            and running.read_text(errors="replace").strip() == key
        )
        if outputs is not None and not resuming:
            check_step_recorded(outputs, self.folder, name)
            check_removable(outputs, kinds)
        if self.before_run is not None:
            self.before_run()
        if not resuming:
            # a record of the step while its outputs are removed: a removal interrupted
            # midway leaves reproduce's own files, which the next run removes, not refuses
            self._write_running(running, "removing")
        stamp.unlink(missing_ok=True)
        if outputs is not None and not resuming:
            shutil.rmtree(outputs, ignore_errors=True)
        self._write_running(running, key)
        self.log(f"[{name}] {'resuming' if resuming else 'running'}")
        start = time.monotonic()
        result = function()
        seconds = time.monotonic() - start
        self.timings[name] = seconds
        self.status[name] = "resumed" if resuming else "ran"
        self.runs[name] = cache_key(key=key, seconds=seconds)
        with atomic_open(stamp) as handle:
            # internal cache read back only by this module: Python's JSON keeps inf and NaN
            # exactly here; user-facing files go through files.write_json (strict JSON)
            json.dump({"key": key, "seconds": seconds, "result": result}, handle, indent=1)
        running.unlink()
        self.log(f"[{name}] finished in {seconds:.0f} s")
        return result

    @staticmethod
    def _write_running(running: Path, text: str) -> None:
        """Mark a step as being run: ``text`` is its key (or "removing" while its old
        outputs are removed, which resumes nothing)."""
        with atomic_open(running) as handle:
            handle.write(text + "\n")

    @staticmethod
    def _read_stamp(stamp: Path) -> dict | None:
        """A step's saved result, or None (the step is redone) if the file is damaged."""
        try:
            saved = json.loads(stamp.read_text())
        except json.JSONDecodeError as error:
            reason = f"not JSON: {error.msg}, line {error.lineno}"
        except (OSError, UnicodeDecodeError) as error:
            reason = f"unreadable: {error}"
        else:
            if isinstance(saved, dict) and isinstance(saved.get("key"), str) and "result" in saved:
                return saved
            reason = "not a step record"
        warnings.warn(
            f"{stamp}: damaged ({reason}); the step is redone", DegeneracyWarning, stacklevel=3
        )
        return None


def _family_frames(folder: Path) -> tuple[dict[tuple[float, float], list], Any]:
    from .orbits import family_file_name
    from .structures import read_environments

    summary = json.loads((folder / "summary.json").read_text())
    frames = {
        (row["sigma"], row["c"]): read_environments(  # written by this run, in Å
            folder / family_file_name(row["sigma"], row["c"]), check_bonds=False
        )
        for row in summary["orbits"]
    }
    return frames, read_environments(folder / "a0.extxyz", check_bonds=False)[0]


def _orbits_step(
    output: Path, settings: ReproduceSettings, reference: Path | None, progress: bool
) -> dict:
    from .orbits import COMMENT_SIGMAS, run_family
    from .representations import SoapPowerSpectrum
    from .sensitivity import NEAR_SWAP_KEYS, analyse_frames, point_symmetry
    from .structures import builtin_environment, environment_from_neighbors, neighbor_positions

    folder = output / "orbits"
    members = run_family(
        folder,
        basis=settings.basis,
        quick=settings.quick,
        workers=settings.workers,
        reference=reference,
        progress=progress,
        length=settings.orbit_length,
    )
    summary = json.loads((folder / "summary.json").read_text())
    a0 = np.array(summary["a0"])
    # from summary.json's full-precision A0: extxyz keeps 8 decimals, which caps CN ~3e9
    a0_atoms = environment_from_neighbors(a0)
    a0_analyses = {
        str(sigma): analyse_frames(
            [a0_atoms], SoapPowerSpectrum(sigma=sigma, basis=settings.basis)
        )[0]
        for sigma in COMMENT_SIGMAS
    }
    # why the orbits' start is ill-conditioned (CN ~2e3): its nearest ν = 2 branch point
    [start] = analyse_frames(
        [builtin_environment("pg-start")], SoapPowerSpectrum(sigma=0.3, basis=settings.basis)
    )
    result = {
        "pg_start_near_swap": {"cn": start.cn}
        | {key: getattr(start, key) for key in NEAR_SWAP_KEYS},
        "a0": a0.tolist(),
        "a0_cn": {sigma: analysis.cn for sigma, analysis in a0_analyses.items()},
        # s9/s1 per σ: what an infinite CN (s9 at round-off) was
        "a0_relative_s_min": {
            sigma: float(analysis.singular_values[-1] / analysis.singular_values[0])
            for sigma, analysis in a0_analyses.items()
        },
        "a0_symmetry_residual": point_symmetry(neighbor_positions(a0_atoms)).residual,
        "a0_pair_swap": a0_analyses["0.3"].pair_swap,
        "a0_info": summary.get("a0_info", {}),
        "protocol": summary["protocol"],
        "orbits": [m.row() | {"file": str(m.path.relative_to(output))} for m in members],
        # recorded, so that a step whose family summary or A0 was deleted is redone: Fig. 1
        # and the learning read them
        "files": [str((folder / name).relative_to(output)) for name in ORBITS_FAMILY_FILES],
    }
    if reference is not None and (reference / "README.md").is_file():
        published = _published_a0(reference / "README.md")
        if published is not None:
            # the 12 coordinates' distance, as orbits.md and family's start_distance
            result["a0_distance_to_published"] = float(np.linalg.norm(a0 - published))
    return result


#: The family's own files in ``DIR/orbits`` that later steps read (besides the orbits).
ORBITS_FAMILY_FILES = ("summary.json", "a0.extxyz")


def _published_a0(readme: Path) -> np.ndarray | None:
    """The published A0 (4 × 3 Å) from the ``H1 x y z`` lines of the reference folder's
    README.md, None without four such lines; refused, naming the file and line, where a
    coordinate is not a finite number."""
    import re

    text = readme.read_text(errors="replace")
    rows = []
    for match in re.finditer(r"^H\d\s+(\S+)\s+(\S+)\s+(\S+)\s*$", text, flags=re.M):
        line = text.count("\n", 0, match.start()) + 1
        try:
            row = [float(value) for value in match.groups()]
        except ValueError:
            row = [float("nan")]
        if not all(np.isfinite(row)):
            raise DegeneracyError(
                f"{readme}, line {line}: published A0 coordinates "
                f"{' '.join(match.groups())!r} are not finite numbers"
            )
        rows.append(row)
    return np.array(rows) if len(rows) == 4 else None


def _orbit_protocol_text(folder: Path) -> str:
    """How the family's orbits were traced, from its ``summary.json``: ``"SOAP, gto
    basis; adaptive (tol 1e-06), 2 Å of arc"``."""
    summary = json.loads((folder / "summary.json").read_text())
    protocol = summary["protocol"]
    method = protocol["method"]
    if "tol" in protocol and method == "adaptive":
        method += f" (tol {protocol['tol']:g})"
    elif "step" in protocol:
        method += f" (step {protocol['step']:g} Å)"
    return f"SOAP, {summary['basis']} basis; {method}, {protocol['length']:g} Å of arc"


def _figure1_step(output: Path) -> dict:
    from .figures.fig1 import make_fig1
    from .figures.orbit import write_orbit_chemiscope

    frames, a0 = _family_frames(output / "orbits")
    figures = output_folder(output / "figures")  # a file of that name: said so
    figures.mkdir(exist_ok=True)
    paths = make_fig1(frames, a0, figures)
    sigma, c = LEARNING_ORBIT  # the orbit of Fig. 2, to watch in chemiscope
    view = figures / f"orbit_sigma{sigma}_c{c}.chemiscope.json.gz"
    write_orbit_chemiscope(
        view,
        frames[LEARNING_ORBIT],
        # c = 1 starts at P0 (A0 + c (P0 - A0)), not at A0
        title=f"orbit σ = {sigma} Å, c = {c:g} (from P&G's start P0)",
        description="the Comment's low-sensitivity orbit, as learned in Fig. 2: "
        f"{_orbit_protocol_text(output / 'orbits')}",
    )
    return {"files": [str(p.relative_to(output)) for p in [*paths, view]]}


def _learning_step(output: Path, settings: ReproduceSettings, progress: bool) -> dict:
    """The three protocols per seed: the first seed's metrics by protocol, and with
    repeats ``"repeats"``: :func:`~degeneracy.learning.repeat_summary` over the seeds."""
    from .learning import (
        CentreFeaturizer,
        Dataset,
        TrainSettings,
        default_datasets,
        repeat_folders,
        repeat_summary,
        run_protocol,
    )
    from .learning.datasets import with_targets
    from .learning.protocols import path_arc_length
    from .orbits import family_file_name
    from .representations import SoapPowerSpectrum
    from .structures import read_environments

    sizes = {
        "train": settings.train_frames,
        "val": settings.val_frames,
        "test": settings.test_frames,
    }
    data = default_datasets(quick=False, seed=settings.seed, sizes=sizes, sampler=settings.sampler)
    sigma, c = LEARNING_ORBIT
    orbit_path = output / "orbits" / family_file_name(sigma, c)
    data["orbit"] = Dataset(
        "orbit",
        with_targets(read_environments(orbit_path, check_bonds=False)),  # this run's, in Å
        orbit_path,
        {"orbit": f"{orbit_path} (the family's sigma={sigma}, c={c} orbit of this run)"},
    )
    featurizer = CentreFeaturizer(SoapPowerSpectrum(sigma=0.3, basis="optimal"))
    limit = None if settings.train_minutes is None else 60.0 * settings.train_minutes
    train = TrainSettings(max_seconds=limit) if limit else TrainSettings()
    folders = repeat_folders(output / "learning", settings.seed, settings.repeats)
    seeds = list(folders)
    runs: dict[str, list[dict]] = {name: [] for name in LEARNING_PROTOCOLS}
    arc = path_arc_length(data["orbit"].frames)  # once for every run on this orbit
    for seed, folder in folders.items():
        for name in LEARNING_PROTOCOLS:
            result = run_protocol(
                name,
                featurizer,
                data,
                output=folder / name,
                settings=train,
                seed=seed,
                progress=progress,
                orbit_arc_length=arc,
            )
            runs[name].append(json_safe(result.metrics))
    results: dict[str, Any] = {name: metrics[0] for name, metrics in runs.items()}
    if settings.repeats > 1:
        results["repeats"] = json_safe(repeat_summary(seeds, runs))
    # recorded, so that a run whose files were deleted is redone, not trusted
    results["files"] = [
        str((folder / name / file).relative_to(output))
        for folder in folders.values()
        for name in LEARNING_PROTOCOLS
        for file in LEARNING_RUN_FILES
    ]
    return results


#: The files of each learning run that the report and Fig. 2 read (:func:`_learning_step`
#: records them: one deleted reruns the step).
LEARNING_RUN_FILES = ("metrics.json", "model.pt", "predictions.npz", "orbit_predictions.csv")


def _figure2_step(output: Path, settings: ReproduceSettings) -> dict:
    from .figures.fig2 import make_fig2
    from .learning import repeat_folders

    # Fig. 2 shows the first seed's runs
    first = repeat_folders(output / "learning", settings.seed, settings.repeats)[settings.seed]
    folders = {name: first / name for name in LEARNING_PROTOCOLS}
    files = make_fig2(folders, output / "figures")
    return {"files": [str(path.relative_to(output)) for path in files]}


#: What decides a learning run's round-off: where a cached run differs, the report says.
_MACHINE_KEYS = ("cpu", "blas", "numpy_simd", "torch")


def _learning_machine(results: dict[str, Any]) -> dict[str, str]:
    """``{"learning ran on": ...}`` when the learning step's (possibly cached) runs were
    made on another CPU, BLAS, numpy SIMD target or torch than this report; else empty."""
    machine = (results.get("learning") or {}).get("none", {}).get("machine")
    if not isinstance(machine, dict):  # runs from before machines were recorded
        return {}
    current = results["versions"]
    if all(machine.get(key) == current.get(key) for key in _MACHINE_KEYS):
        return {}
    return {"learning ran on": "; ".join(f"{key} {machine.get(key)}" for key in _MACHINE_KEYS)}


def trend_checks(orbits: list[dict]) -> dict[str, bool]:
    """The Comment's Fig. 1b trends, on our median condition numbers.

    ``near_higher``: at every σ, the median CN of every orbit with c ≤ 0.5 exceeds that
    of every orbit with c ≥ 1. ``wide_sigma_higher``: for every c, the median CN at
    σ = 0.5 Å is at least ten times that at σ = 0.1 Å.
    """
    cn = {(row["sigma"], row["c"]): row["median_cn"] for row in orbits}
    sigmas = sorted({s for s, _ in cn})
    near_higher = all(
        min(cn[s, c] for c in (0.1, 0.5) if (s, c) in cn)
        > max(cn[s, c] for c in (1.0, 1.5) if (s, c) in cn)
        for s in sigmas
    )
    wide = all(cn[0.5, c] >= 10 * cn[0.1, c] for c in (0.1, 0.5, 1.0, 1.5) if (0.1, c) in cn)
    return {"near_higher": bool(near_higher), "wide_sigma_higher": bool(wide)}


def learning_checks(learning: dict) -> dict[str, bool]:
    """The Comment's Fig. 2 conclusions on our metrics.

    One seed: the held-out orbit RMSE of ``subset`` is below that of ``none``, and
    ``full`` has the lowest orbit RMSE. With repeats (``learning["repeats"]``): the
    none − subset gap paired by seed is positive for every seed with a paired t
    significant at the one-sided 5 % level (:func:`~degeneracy.learning.clear_heldout_gap`),
    and ``full``'s *mean* orbit RMSE
    is the lowest.
    """
    repeats = learning.get("repeats")
    if repeats:
        from .learning import clear_heldout_gap

        mean = {
            name: repeats["protocols"][name]["orbit_rmse"]["mean"] for name in LEARNING_PROTOCOLS
        }
        return {
            "subset_beats_none_on_heldout_orbit": clear_heldout_gap(
                repeats["heldout_orbit_none_minus_subset"]
            ),
            "full_lowest_orbit_rmse": mean["full"] <= min(mean["none"], mean["subset"]),
        }
    none, subset, full = (learning[name] for name in LEARNING_PROTOCOLS)
    return {
        "subset_beats_none_on_heldout_orbit": subset["orbit_heldout_rmse"]
        < none["orbit_heldout_rmse"],
        "full_lowest_orbit_rmse": full["orbit_rmse"]
        <= min(none["orbit_rmse"], subset["orbit_rmse"]),
    }


def _report_sections(output: Path, results: dict) -> list[Section]:
    """The report's sections: A0, the orbits (Fig. 1), the learning (Fig. 2), run time."""
    return [
        _a0_section(results["orbits"]),
        _orbits_section(output, results),
        _learning_section(output, results),
        Section("Run time", tables=[_run_time_table(results)]),
    ]


def _orbits_section(output: Path, results: dict) -> Section:
    """The orbits against the published ones, the trends of their CN, and Fig. 1."""
    orbits = results["orbits"]
    rows = [
        [
            r["sigma"],
            r["c"],
            r["frames"],
            r["jacobian_evaluations"],
            r["median_cn"],
            r.get("reference_median_cn"),
            *_covered_part_cells(r),
            r.get("start_distance"),
            r.get("smallest_gap"),
        ]
        for r in orbits["orbits"]
    ]
    trends = results["trends"]
    figures = [
        Figure(output / p, caption)
        for p, caption in zip(
            [p for p in results["figure1"]["files"] if p.endswith(".png")],
            [
                "Fig. 1a: orbits around A0 and the degenerate-pair lines (projection in fig1.py).",
                "Fig. 1b: condition number along the orbits.",
            ],
            strict=False,
        )
    ]
    return Section(
        "Low-sensitivity orbits (Fig. 1)",
        paragraphs=[
            f"Protocol: {json.dumps(orbits['protocol'])}.",
            "Published columns come from the Comment's stored orbits in "
            + (
                f"{results['settings']['reference']} (--reference)"
                if results["settings"]["reference"]
                else "a folder given with --reference (none was: —)"
            )
            + "; deviation is the largest distance (Å) from the published orbit at "
            "equal arc length, which adds a lag along the path to any difference of shape "
            "(the published Euler orbits lag behind the ODE's solution on the tight "
            "c = 0.1 loops, by up to 0.07 Å); the shape distance is the largest "
            "distance (Å) of a frame of either orbit from the other's polyline, whatever "
            "the pace along it (degeneracy.orbits.orbit_shape_distance); the start "
            "distance is that of the first frames, (1 − c)·|A0 − A0 published| for a "
            "start off A0, which an orbit keeps as it winds. The published CN "
            "is read at our frames' arc lengths. The smallest gap is the least "
            "(s8 − s9)/s9 over our frames: where it is small the followed direction turns "
            "fast.",
            *[
                f"Interactive view of the σ = 0.3 Å, c = 1 orbit (chemiscope.org or "
                f"chemiscope.show): {p}."
                for p in results["figure1"]["files"]
                if p.endswith(".chemiscope.json.gz")
            ],
            f"Median CN higher for c ≤ 0.5 than for c ≥ 1 at every σ: "
            f"{'yes' if trends['near_higher'] else 'NO'}. σ = 0.5 at least 10× σ = 0.1 for "
            f"every c: {'yes' if trends['wide_sigma_higher'] else 'NO'}.",
        ],
        tables=[
            Table(
                "Orbits",
                [
                    "σ (Å)",
                    "c",
                    "frames",
                    "Jacobians",
                    "median CN",
                    "published median CN",
                    "ratio",
                    "deviation at equal arc length (Å)",
                    "shape distance (Å)",
                    "start distance (Å)",
                    "smallest (s8 − s9)/s9",
                ],
                rows,
                note=_covered_part_note(orbits["orbits"], orbits["protocol"].get("length")),
            )
        ],
        figures=figures,
    )


#: The mark of a comparison that covers part of an orbit only (:func:`_covered_part_note`).
PART_MARK = "*"


def _covered_part_cells(row: dict) -> list[Any]:
    """An orbit row's ratio, deviation and shape distance, each marked with
    :data:`PART_MARK` where the published orbit ends early and they cover its part only."""
    cells = [row.get("cn_ratio"), row.get("deviation"), row.get("shape_distance")]
    if row.get("covered_arc_length") is None:
        return cells
    return [value if value is None else f"{format_cell(value)}{PART_MARK}" for value in cells]


def _covered_part_note(rows: list[dict], length: float | None) -> str:
    """The orbit table's footnote: per orbit whose published one ends early, where it
    ends, and our median CN over that part, which the ratio is taken with."""
    notes = []
    for row in rows:
        end = row.get("covered_arc_length")
        if end is None:
            continue
        of = "" if length is None else f" of {length:g} Å"
        ours = row.get("covered_median_cn")
        median = "none" if ours is None else f"{format_cell(ours)}"
        notes.append(
            f"{PART_MARK} σ = {row['sigma']} Å, c = {row['c']:g}: the published orbit stops at "
            f"{end:.3g} Å{of} (a truncated file?); the ratio, deviation and shape distance "
            f"are over that part only, where our median CN is {median} (the median CN column "
            "is over the whole orbit)."
        )
    return " ".join(notes)


def _learning_section(output: Path, results: dict) -> Section:
    """The learning errors against the Comment's, with the checks' sentences and Fig. 2."""
    learning = results["learning"]
    val_std = learning.get("none", {}).get("val_std")
    val_std = "—" if val_std is None else f"{val_std:.3f}"  # 3 digits: 0.116 vs 0.117
    gradient_rms = _rounded(learning.get("none", {}).get("val_gradient_rms"))
    keys = [
        ("val_rmse", "validation RMSE"),
        ("test_rmse", f"independent test RMSE ({_test_set_origin(learning, results)})"),
        ("orbit_heldout_rmse", "held-out orbit RMSE"),
        ("orbit_rmse", "orbit RMSE (all frames)"),
        ("orbit_slope_corr", "slope along the orbit: correlation with E4's (beyond the Comment)"),
        (
            "val_gradient_rmse",
            f"validation ∇E4 RMSE, 1/Å (∇E4's RMS per component {gradient_rms}; beyond the "
            "Comment)",
        ),
    ]
    repeats = learning.get("repeats")
    learn_rows = []
    for name in LEARNING_PROTOCOLS:
        for key, label in keys:
            published = PUBLISHED_LEARNING[name].get(key)
            spread = [_mean_and_std(repeats, name, key)] if repeats else []
            learn_rows.append([name, label, learning[name].get(key), *spread, published])
    header = ["protocol", "metric", "ours"]
    if repeats:
        seeds = repeats["seeds"]
        header = [*header[:2], f"ours (seed {seeds[0]})", f"mean ± std ({len(seeds)} seeds)"]
    checks = results["learning_checks"]
    fig2 = [p for p in results["figure2"]["files"] if p.endswith(".png")]
    return Section(
        "Learning E4 along the orbit (Fig. 2)",
        paragraphs=[
            f"Protocols: {_protocol_descriptions(learning)}. SOAP σ = 0.3 Å, optimal "
            f"basis, the Comment's network; E4 validation spread {val_std} (P&G's: "
            "0.117 over all their 6001 frames).",
            _ordering_sentence(checks, repeats),
            _validation_caveat(results["settings"]["sampler"]),
            *_lookup_sentence(learning.get("none", {})),
        ],
        tables=[
            Table("Errors (E4 is unitless)", [*header, "Comment"], learn_rows),
            *_error_by_quantile_table(learning),
            *_baseline_table(learning),
        ],
        figures=[Figure(output / p, _FIG2_CAPTIONS[Path(p).name]) for p in fig2],
    )


def _run_time_table(results: dict) -> Table:
    """Seconds per step; a step whose earlier result was reused shows "cached" instead of
    the seconds the earlier run took (``results["step_status"]``, :class:`StepRunner`)."""
    status = results.get("step_status", {})
    rows = [
        _run_time_row(name, seconds, status.get(name, "ran"))
        for name, seconds in results["seconds"].items()
    ]
    return Table("Seconds per step", ["step", "s (this run)", "note"], rows)


def _run_time_row(name: str, seconds: float, status: str) -> list[Any]:
    """One step's row: its seconds in this run, or "cached" and the earlier run's."""
    if status == "cached":
        return [name, "cached", f"result reused from an earlier run that took {seconds:.3g} s"]
    if status == "resumed":
        return [name, seconds, "resumed: the part an interrupted earlier run did is not counted"]
    return [name, seconds, ""]


def _a0_section(orbits: dict) -> Section:
    """A0: how it was found, its CN beside the Comment's, the zero it has, pg-start."""
    a0 = np.array(orbits["a0"])
    a0_rows = [[f"H{i + 1}", *[f"{v:.6f}" for v in row]] for i, row in enumerate(a0)]
    comment = _order_of_magnitude(COMMENT_A0_CN)
    relative = orbits.get("a0_relative_s_min", {})
    a0_cn = [
        [
            f"σ = {s} Å",
            cn if _finite_cn(cn) else "inf (s9 at round-off)",
            relative.get(s),
            comment,
            cn / COMMENT_A0_CN if _finite_cn(cn) else "at round-off",
        ]
        for s, cn in orbits["a0_cn"].items()
    ]
    intro = [
        "A0 is found by our singular-configuration search started from the mean of the "
        "traced pg-start orbit (σ = 0.3 Å). " + _a0_cn_sentence(orbits["a0_cn"]),
        f"Best symmetry residual of A0: {orbits['a0_symmetry_residual']:.3f} Å (not symmetric "
        "when well above 1e-3 Å).",
    ]
    if orbits.get("a0_pair_swap"):
        intro.append(
            f"At A0 the zero motion (σ = 0.3 Å) swaps neighbour pairs with equal (r, r′, θ), "
            f"{orbits['a0_pair_swap']}: a zero that every ν = 2 fingerprint has there."
        )
    intro += _pg_start_sentence(orbits.get("pg_start_near_swap") or {})
    if "a0_distance_to_published" in orbits:
        intro.append(
            f"Distance from the published A0 (its 12 coordinates, no rotation taken out): "
            f"{orbits['a0_distance_to_published']:.3g} Å."
        )
    header = ["SOAP", "ours", "ours: s9/s1", "Comment", "ours / Comment"]
    return Section(
        "Singular configuration A0",
        paragraphs=intro,
        tables=[
            Table("A0 (Å, C at the origin)", ["atom", "x", "y", "z"], a0_rows),
            Table("Condition number at A0", header, a0_cn),
        ],
    )


def _order_of_magnitude(value: float) -> str:
    """``"≈ 1e14"``: a published value known only to its order of magnitude."""
    return f"≈ 1e{round(np.log10(value))}"


#: Two numbers within this factor of each other are called about equal in the report.
ABOUT_EQUAL_FACTOR = 1.1

#: The lookup's validation RMSE must be below this fraction of its independent-test RMSE
#: for the report to read it as a sign of near-copies in the validation frames.
NEAR_COPY_RATIO = 0.8


def _times(value: float, reference: float) -> str:
    """``"33× lower than"``, ``"2.9× higher than"`` or ``"about equal to"`` (within
    :data:`ABOUT_EQUAL_FACTOR`): ``value`` against ``reference``."""
    if not (np.isfinite(value) and np.isfinite(reference) and value > 0 and reference > 0):
        return "not comparable with"
    factor = max(value, reference) / min(value, reference)
    if factor < ABOUT_EQUAL_FACTOR:
        return "about equal to"
    factor = f"{factor:.1f}" if factor < 10 else f"{factor:.0f}"  # 1.1, 5.4, 33
    return f"{factor}× {'lower' if value < reference else 'higher'} than"


#: The largest CN float64 tells from a zero for CH4 (3N − 3 = 9 motions): 1/(9 ε) = 5.0e14,
#: s_1 over :func:`~degeneracy.sensitivity.roundoff_floor` (where
#: :func:`~degeneracy.sensitivity.condition_number` becomes ``inf``).
ROUNDOFF_CN_CH4 = 1.0 / float(roundoff_floor(1.0, 9))


def _finite_cn(cn: float | None) -> bool:
    """Whether a CN is a number, not ``inf`` (s_min at round-off; ``None`` in strict JSON)."""
    return cn is not None and bool(np.isfinite(cn))


def _a0_cn_sentence(a0_cn: dict[str, float]) -> str:
    """The Comment's CN at its A0 and ours at each σ, with how many times lower/higher; a
    CN at round-off (``inf``) is said to be so."""
    ours = ", ".join(
        f"{cn:.1e} at σ = {sigma} Å ({_times(cn, COMMENT_A0_CN)} it)"
        if _finite_cn(cn)
        else f"inf at σ = {sigma} Å"
        for sigma, cn in a0_cn.items()
    )
    if a0_cn and not any(_finite_cn(cn) for cn in a0_cn.values()):
        ours = f"inf at every σ ({', '.join(a0_cn)} Å)"
    sentence = (
        f"The Comment reports CN {_order_of_magnitude(COMMENT_A0_CN)} at its A0 for every σ; "
        f"ours is {ours}."
    )
    if not all(_finite_cn(cn) for cn in a0_cn.values()):
        sentence += (
            f" An infinite CN is s9 at the round-off floor (s9/s1 at most 9ε = 2.0e-15): zero "
            f"as far as float64 can tell, above the largest CN it resolves for CH4 "
            f"({ROUNDOFF_CN_CH4:.1e}) and so at least the Comment's."
        )
    return sentence


def _starts_near_branch_point(near: dict) -> tuple[bool, bool]:
    """Whether pg-start's softest motion is mostly the trade of its nearest equal pairs
    (ρ below :data:`MOSTLY_TRADE_RHO`) and whether those pairs are near-equal (closer than
    :data:`NEAR_COINCIDENCE_DISTANCE`); a NaN or missing ρ is not a trade."""
    rho = near.get("near_swap_residual")
    mostly_trade = rho is not None and bool(rho < MOSTLY_TRADE_RHO)  # False for NaN
    return mostly_trade, bool(near["coincidence_distance"] < NEAR_COINCIDENCE_DISTANCE)


def _pg_start_sentence(near: dict) -> list[str]:
    """Where pg-start lies from its nearest equal neighbour pairs (``orbits.pg_start_near_swap``,
    :func:`~degeneracy.sensitivity.near_swap`); "near a ν = 2 branch point" only when
    :func:`_starts_near_branch_point` holds on both counts."""
    if not near.get("nearest_coincidence"):
        return []
    rho = near.get("near_swap_residual")
    rho = "undefined" if rho is None or not np.isfinite(rho) else f"{rho:.2f}"
    where = (
        f"pg-start itself (CN {near['cn']:.2g} at σ = 0.3 Å) lies "
        f"{near['coincidence_distance']:.3f} Å from a point where two neighbour pairs have "
        f"equal (r, r′, θ), {near['nearest_coincidence']}"
    )
    mostly_trade, near_equal = _starts_near_branch_point(near)
    if mostly_trade and near_equal:
        return [
            f"{where}, and its softest motion is mostly the trade of the two (ρ = {rho}; 0 "
            "for a pure trade, 1 for none): it starts near a ν = 2 branch point."
        ]
    unmet = [f"ρ not below {MOSTLY_TRADE_RHO}"] if not mostly_trade else []
    if not near_equal:
        unmet.append(f"pairs not within {NEAR_COINCIDENCE_DISTANCE} Å")
    return [
        f"{where}; the part of its softest motion that is not the trade of the two is ρ = "
        f"{rho} (0 for a pure trade, 1 for none). That does not place it near a ν = 2 "
        f"branch point ({' and '.join(unmet)})."
    ]


_FIG2_CAPTIONS = {
    "fig2.png": "Fig. 2: parity plots of the three protocols.",
    "fig2-orbit.png": "E4 and the predictions along the orbit (beyond the Comment): a flat "
    "prediction means the model does not see the orbit's motion.",
}


def _mean_and_std(repeats: dict, name: str, key: str) -> str:
    """``mean ± std`` of one metric over the seeds, ``—`` when not measured."""
    row = repeats["protocols"][name].get(key)
    if row is None:
        return "—"
    return f"{row['mean']:.4f} ± {row['std']:.4f}" if row["std"] is not None else "—"


def _ordering_sentence(checks: dict[str, bool], repeats: dict | None) -> str:
    """The Comment's Fig. 2 ordering, decided by :func:`learning_checks`."""

    def verdict(key: str) -> str:
        return "yes" if checks[key] else "NO"

    full = (
        "Training on the full orbit gives the lowest orbit error: "
        f"{verdict('full_lowest_orbit_rmse')}"
    )
    if not repeats:
        return (
            "Held-out orbit error lower with 20 orbit frames than without: "
            f"{verdict('subset_beats_none_on_heldout_orbit')} (one seed; --repeats K decides it "
            f"over K seeds). {full}."
        )
    gap = repeats["heldout_orbit_none_minus_subset"]
    measured = ""
    if gap and gap["n"]:
        from .learning.protocols import paired_t_text

        t = paired_t_text(gap)
        measured = (
            f" (none − subset {gap['mean']:.4f} ± {gap['stderr']:.4f} standard error{t}; "
            f"positive for {'every' if gap['all_positive'] else 'NOT every'} seed)"
        )
    return (
        f"Held-out orbit error clearly lower with 20 orbit frames than without, over "
        f"{len(repeats['seeds'])} seeds (positive for every seed, paired t significant at "
        "the one-sided 5 % level): "
        f"{verdict('subset_beats_none_on_heldout_orbit')}{measured}. {full} (mean over seeds)."
    )


def _error_by_quantile_table(learning: dict) -> list[Table]:
    """Validation error per E4 quantile bin of each protocol (none if not recorded)."""
    rows = []
    for name in LEARNING_PROTOCOLS:
        for row in learning.get(name, {}).get("val_by_target_quantile") or []:
            lower, upper = round(100 * row["quantile_min"]), round(100 * row["quantile"])
            rows.append(
                [
                    name,
                    f"{lower}–{upper} %",
                    f"{row['target_min']:.3f}–{row['target_max']:.3f}",
                    row["rmse"],
                    row["bias"],
                    f"{row['share']:.0%}",
                ]
            )
    if not rows:
        return []
    title = "Validation error by E4 quantile (where the error lives)"
    header = ["protocol", "quantile", "E4 range", "RMSE", "bias", "share of squared error"]
    return [Table(title, header, rows)]


def _baseline_table(learning: dict) -> list[Table]:
    """The network against ridge and nearest neighbour on its own features (if recorded)."""
    rows = []
    for name in LEARNING_PROTOCOLS:
        metrics = learning.get(name, {})
        baselines = metrics.get("baselines")
        if not baselines:
            continue
        for key, label in (("val_rmse", "validation"), ("orbit_heldout_rmse", "held-out orbit")):
            rows.append(
                [
                    name,
                    label,
                    metrics.get(key),
                    baselines["ridge"].get(key),
                    baselines["nearest_neighbour"].get(key),
                ]
            )
    if not rows:
        return []
    title = "The network against baselines on the same features and training frames (RMSE)"
    header = ["protocol", "set", "network", "ridge (linear)", "nearest neighbour"]
    return [Table(title, header, rows)]


def _lookup_sentence(metrics: dict) -> list[str]:
    """What a nearest-neighbour lookup scores on validation and independent frames, against
    the network (protocol ``none``'s ``metrics``), and what that says of the validation."""
    neighbour = (metrics.get("baselines") or {}).get("nearest_neighbour") or {}
    val, test = neighbour.get("val_rmse"), neighbour.get("test_rmse")
    if val is None or test is None:
        return []
    scores = (
        f"A nearest-neighbour lookup on the same features and training frames (protocol "
        f"none) scores {val:.4f} on the validation frames and {test:.4f} on the "
        f"independent test frames"
    )
    network = metrics.get("val_rmse"), metrics.get("test_rmse")
    if None not in network and min(network) > 0:
        scores += (
            f", against the network's {network[0]:.4f} and {network[1]:.4f}: the network's "
            f"error is {_times(network[0], val)} the lookup's on validation and "
            f"{_times(network[1], test)} it on the independent test"
        )
    return [f"{scores}. {_near_copy_verdict(val, test)}"]


def _near_copy_verdict(val: float, test: float) -> str:
    """What the lookup's validation and independent-test RMSE say of near-copies: a sign
    of them only when validation is clearly better (below :data:`NEAR_COPY_RATIO`)."""
    if val < NEAR_COPY_RATIO * test:
        return (
            f"The lookup does clearly better on validation than on independent frames (ratio "
            f"{val / test:.2f}), as it does when validation frames have near-copies among "
            "the training frames (a random split of trajectory frames): this run's "
            "validation RMSE may then partly measure interpolation, not generalisation."
        )
    return (
        f"The lookup does not do clearly better on validation than on independent frames "
        f"(ratio "
        f"{val / test:.2f}): no sign that validation frames have near-copies among the "
        "training frames (as a random split of trajectory frames gives), which would make "
        "this run's validation RMSE partly an interpolation error."
    )


def _report_settings(results: dict) -> dict[str, Any]:
    """The report's settings table: :class:`ReproduceSettings` and the reference folder,
    then what the learning used, read from its metrics (the test set's generator, the
    learning fingerprint, each protocol's stop reason and epochs)."""
    settings = results["settings"]
    learning = results["learning"]
    first = learning.get("none", {})
    rows = {**settings, "reference": settings["reference"] or "none"}
    rows["test set generator"] = _test_generator(first)
    rows["learning fingerprint"] = (
        f"{_fingerprint_text(first.get('featurizer'))} (orbits and A0: {settings['basis']} "
        "radial basis, the basis setting)"
    )
    seed = " (first seed)" if learning.get("repeats") else ""
    for name in LEARNING_PROTOCOLS:
        rows[f"training stop, {name}{seed}"] = _stop_text(learning.get(name, {}))
    return rows


def _test_source(metrics: dict) -> dict:
    """How a protocol's independent test set was drawn (``dataset_sources.test``), or {}."""
    return (metrics.get("dataset_sources") or {}).get("test") or {}


def _test_generator(metrics: dict) -> str:
    """``"tilted (seed 2, 1000 frames)"``: the independent test set's sampler."""
    test = _test_source(metrics)
    if "name" not in test:
        return "not recorded"
    return f"{test['name']} (seed {test.get('seed', '—')}, {test.get('n', '—')} frames)"


def _fingerprint_text(key: dict | None) -> str:
    """``"soap σ = 0.3 Å, optimal radial basis, n_max 8, l_max 8, cutoff 2.5 Å"`` from a
    featurizer's ``key()`` as recorded in the metrics."""
    hypers = (key or {}).get("hypers")
    if not hypers:
        return "not recorded"
    return (
        f"{key.get('name', '?')} σ = {hypers.get('sigma')} Å, {hypers.get('basis')} radial "
        f"basis, n_max {hypers.get('n_max')}, l_max {hypers.get('l_max')}, cutoff "
        f"{hypers.get('cutoff')} Å"
    )


def _stop_text(metrics: dict) -> str:
    """``"early-stop after 276 epochs (best 176)"``: why and when a protocol's training
    stopped (the trainer's ``stopped``: early-stop, time-limit or max-epochs)."""
    if metrics.get("stopped") is None or metrics.get("epochs") is None:
        return "not recorded"
    text = f"{metrics['stopped'] or 'not stopped'} after {metrics['epochs']} epochs"
    if metrics.get("best_epoch") is not None:
        text += f" (best {metrics['best_epoch']})"
    resumed = metrics.get("resumed_from_epoch")
    if resumed and resumed >= metrics["epochs"]:  # its checkpoint already held the end
        text += ", finished before an interrupt (read back from its checkpoint)"
    elif resumed:
        text += f", resumed from epoch {resumed}"
    return text


def _protocol_descriptions(learning: dict) -> str:
    """``none = no orbit frames in training; subset = ...`` from this run's metrics (the
    orbit's frame count and repeats were literals, stale for another orbit length)."""
    return "; ".join(
        f"{name} = {learning[name].get('protocol_description', '—')}"
        for name in LEARNING_PROTOCOLS
        if name in learning
    )


def _test_set_origin(learning: dict, results: dict) -> str:
    """Whether the independent test set came from another generator than the training
    data (``other generator: tilted``) or the same one with another seed."""
    test = _test_source(learning.get("none", {})).get("name")
    if test is None:
        return "other seed"
    if test == results["settings"]["sampler"]:
        return f"same generator, {test}, another seed"
    return f"other generator: {test}"


def _validation_caveat(sampler: str) -> str:
    """What the validation RMSE of this run measures, by the sampler of its data."""
    from .learning.datasets import is_correlated

    if is_correlated(sampler):
        return (
            f"Validation here is a random split of correlated trajectory frames ({sampler} "
            "sampler), as the Comment split P&G's molecular-dynamics frames: most "
            "validation frames have a training frame a few steps away, so the validation "
            "RMSE is partly an interpolation error. The independent test row (other "
            "generator) measures generalisation."
        )
    return (
        f"Validation here means independent random structures ({sampler} sampler). The "
        "Comment's validation frames were a random split of P&G's molecular-dynamics "
        "frames, correlated with training frames a few steps away. "
        '"degeneracy reproduce --sampler trajectory" rebuilds that split; it brings the '
        "validation RMSE of this network near the Comment's, but not its error on "
        "independent structures (measured in full runs, not in this one: validation 0.018 "
        "against the Comment's 0.0133, independent test 0.047; docs/learnability.md)."
    )


#: What ``degeneracy learn --output DIR`` writes at the top of DIR (a run of one protocol,
#: the summaries of ``--protocol all`` and ``--repeats``); reproduce keeps its own learning
#: runs under ``DIR/learning/`` and never writes these there.
LEARN_RUN_FILES = ("metrics.json", "model.pt", "checkpoint.pt", "fig2.json", "repeats.json")


def check_not_a_learn_folder(output: Path) -> None:
    """Refuse an ``output`` folder that holds a ``degeneracy learn`` run at its top.

    Its files (:data:`LEARN_RUN_FILES`, or ``none/``, ``subset/``, ``full/`` and
    ``seed-*/`` run folders beside them) are no part of a reproduction, which would mix
    its report, orbits and learning runs in with them. Reproduce's own runs are under
    ``learning/``, so a folder reproduce wrote is never refused.
    """
    if not output.is_dir():
        return
    found = [name for name in LEARN_RUN_FILES if (output / name).is_file()]
    for folder in sorted(output.iterdir()):
        if folder.is_dir() and (folder.name in PROTOCOLS or folder.name.startswith("seed-")):
            runs = [folder / "model.pt", folder / "checkpoint.pt"]
            runs += [folder / name / "model.pt" for name in PROTOCOLS]
            found += [str(run.relative_to(output)) for run in runs if run.is_file()]
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise DegeneracyError(
            f"{output} holds a `degeneracy learn` run ({shown}), not a reproduction "
            "(reproduce writes its learning runs under learning/ in its own folder): "
            "choose another --output"
        )


#: The folders of DIR that ``force`` removes, the step records last: an interrupted
#: ``force`` leaves records of whatever is left, which the next run may then remove.
FORCE_REMOVES = ("orbits", "learning", "figures", "cache", "steps")

#: The steps whose outputs folder (of that name) is removed when the step is redone.
_STEP_OUTPUTS = ("orbits", "learning")


def check_own_folders(output: Path, *, force: bool) -> None:
    """Refuse, before any work, a reproduction folder ``output`` whose folders that this
    run would remove hold files reproduce did not write.

    With ``force`` every folder of :data:`FORCE_REMOVES` is checked for files not of the
    kinds reproduce writes there (:data:`REPRODUCE_FILES`); without, the outputs folder of
    a step with no record in ``steps/`` (which the step would remove) must be empty. The
    step runner checks a step's outputs again before it removes them
    (:meth:`StepRunner.run`).
    """
    if force:
        for name in FORCE_REMOVES:
            check_removable(output / name, REPRODUCE_FILES[name])
        return
    for name in _STEP_OUTPUTS:
        check_step_recorded(output / name, output / "steps", name)


def remove_own_folders(output: Path) -> None:
    """Remove the folders ``force`` starts afresh (:data:`FORCE_REMOVES`, in that order),
    once :func:`check_own_folders` has found only reproduce's files in them."""
    for name in FORCE_REMOVES:
        shutil.rmtree(output / name, ignore_errors=True)


def reproduce(
    output: str | os.PathLike,
    *,
    quick: bool = False,
    force: bool = False,
    reference: str | os.PathLike | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
    **changes: Any,
) -> dict:
    """Regenerate the Comment's results into ``output``; returns the summary.

    Writes ``output/report.html`` (self-contained) and ``output/summary.json``, with
    ``orbits/``, ``figures/``, ``learning/``, ``steps/`` and ``cache/`` beside them.
    ``changes`` override :class:`ReproduceSettings` fields. An ``output`` holding a
    ``degeneracy learn`` run is refused (:func:`check_not_a_learn_folder`), and so is one
    whose folders that this run would remove hold files reproduce did not write
    (:func:`check_own_folders`). ``force`` removes ``orbits/``, ``learning/``,
    ``figures/``, ``cache/`` and ``steps/``, the report and the summary first.
    """
    # absolute, so that every path recorded below (data sets, orbit, figures) means one
    # thing whatever the working directory of whoever reads the summary
    given = output_folder(output)
    check_not_a_learn_folder(given)  # before any step can write beside its files
    output = given.resolve()
    settings = ReproduceSettings.for_mode(quick, **changes)
    from .orbits import published_reference_digest

    reference = Path(reference).resolve() if reference is not None else None
    # checked before any step can remove outputs; the digest keys the orbits step, so
    # files added to or changed in the folder are compared again
    reference_digest = None if reference is None else published_reference_digest(reference)
    if reference is not None and (reference / "README.md").is_file():
        _published_a0(reference / "README.md")  # a damaged A0 refused before any work

    def remove_report() -> None:
        # results are about to be removed or redone: the old report describes them, and
        # an interrupted run must not leave a folder that looks finished
        for name in ("report.html", "summary.json"):
            (output / name).unlink(missing_ok=True)

    output.mkdir(exist_ok=True)
    # one run at a time: a second one took the first's live step for an interrupted
    # one, 'resumed' it and failed when the first removed its marker
    with exclusive_output(output, "reproduce"):
        check_own_folders(output, force=force)  # before anything is removed
        if force:
            remove_report()
            remove_own_folders(output)
        steps = StepRunner(output, log=log, before_run=remove_report)
        orbit_settings = {k: getattr(settings, k) for k in ("quick", "basis", "orbit_length")}
        learn_settings = {
            k: getattr(settings, k)
            for k in (
                "train_frames",
                "val_frames",
                "test_frames",
                "train_minutes",
                "seed",
                "repeats",
                "sampler",
            )
        }
        start = time.monotonic()
        with _cache_in(output / "cache"):
            results = {
                "orbits": steps.run(
                    "orbits",
                    lambda: _orbits_step(output, settings, reference, progress),
                    outputs=output / "orbits",
                    kinds=REPRODUCE_FILES["orbits"],
                    reference=None if reference is None else str(reference),
                    reference_files=reference_digest,
                    format=ORBITS_STEP_FORMAT,
                    **orbit_settings,
                ),
                "figure1": steps.run("figure1", lambda: _figure1_step(output)),
                # reads one orbit file, which depends on the orbit settings only (not on the
                # published data the orbits step compares with)
                "learning": steps.run(
                    "learning",
                    lambda: _learning_step(output, settings, progress),
                    outputs=output / "learning",
                    kinds=REPRODUCE_FILES["learning"],
                    after=(),
                    # data sets of another format hold other structures (the E modes of
                    # format 1 followed the CPU's LAPACK kernels): learn again on the new ones
                    dataset_format=DATASET_FORMAT,
                    **orbit_settings,
                    **learn_settings,
                ),
                "figure2": steps.run("figure2", lambda: _figure2_step(output, settings)),
            }
        results["trends"] = trend_checks(results["orbits"]["orbits"])
        results["learning_checks"] = learning_checks(results["learning"])
        results["seconds"] = dict(steps.timings)
        results["step_status"] = dict(steps.status)
        results["settings"] = {
            **asdict(settings),
            "reference": None if reference is None else str(reference),
        }
        results["versions"] = software_versions()
        results["versions"].update(_learning_machine(results))
        document = render_report(
            "degeneracy: reproduction of the Comment (Pozdnyakov et al., 2022)",
            _report_sections(output, results),
            settings=_report_settings(results),
            versions=results["versions"],
            introduction="Everything below was recomputed by `degeneracy reproduce"
            + (" --quick" if quick else "")
            + "`; published values are shown beside ours.",
        )
        write_report(output / "report.html", document)
        results["total_seconds"] = time.monotonic() - start
        write_json(output / "summary.json", results)
        log(f"report: {output / 'report.html'} ({results['total_seconds']:.0f} s)")
        return results
