r"""Low-sensitivity orbits ("quasi-constant manifolds") and the Comment's orbit family.

Parsaeifard & Goedecker (J. Chem. Phys. 156, 034302, 2022) followed the direction in
which the fingerprint changes least; Pozdnyakov et al.'s Comment (2022) showed that the
resulting curves are orbits around an exact singular configuration A0. The orbit is the
solution of the ODE in arc length :math:`s`

.. math:: \frac{dr}{ds} = u(r), \qquad u = O\,w_{\min}, \qquad u(r(s)) \cdot u(r(s-ds)) > 0,

where :math:`w_{\min}` is the right singular vector of the smallest singular value of the
rotation-purified Jacobian :math:`\tilde J = J O` (:func:`degeneracy.singular_spectrum`,
``motions[:, -1]``). The sign of a singular vector is arbitrary, so it is chosen to be
continuous along the path; the very first sign follows the Comment's code (the first
neighbour moves towards +x), ``reverse=True`` flips it. :math:`u` is orthogonal to the
rigid rotations, so the orbit does not drift by rotation.

Two integrators:

- ``"euler"``: the Comment's reference protocol, :math:`r_{k+1} = r_k + h\,u(r_k)` with
  :math:`h = 10^{-4}` Å, 20 000 steps for 2 Å, a frame every 100 steps.
- ``"adaptive"``: the Dormand–Prince 5(4) embedded Runge–Kutta pair (coefficients from
  :class:`scipy.integrate.RK45`) with error control on the local error in Å, FSAL, and
  its 4th-order dense output for the frames. The stepping loop is written here rather
  than calling :func:`scipy.integrate.solve_ivp`, because (i) the sign of :math:`u` must be
  fixed against the direction at the start of each *accepted* step, which ``solve_ivp``'s
  right-hand side cannot know, (ii) a step over which :math:`u` turns by more than 60° must
  be rejected, and (iii) the state after each accepted step is checkpointed so that an
  interrupted run resumes bit-for-bit.

Each frame stores ``arc_length``, ``singular_values``, ``cn``, ``fourbody`` (for 4
neighbours), ``feature_distance`` :math:`|x(r) - x(r_0)|`; the last frame also
``jacobian_evaluations`` (all single-frame Jacobians, including those evaluated only for
the frames' diagnostics).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import InvalidStateError, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ase
import numpy as np
from scipy.integrate import RK45
from tqdm.auto import tqdm

from .checks import (
    bounded_int,
    non_negative_float,
    one_of,
    optional_callable,
    positive_float,
    text_beside,
    true_or_false,
)
from .errors import DegeneracyError, DegeneracyWarning
from .files import (
    EXTXYZ_SUFFIXES,
    NPZ_READ_ERRORS,
    atomic_open,
    cache_dir,
    cache_key,
    exclusive_output,
    json_text,
    output_file,
    output_folder,
    write_json,
)
from .processes import sigint_blocked, silence_stderr, use_one_blas_thread
from .representations.base import Representation, fingerprint
from .sensitivity import (
    ZERO_RTOL,
    analyse_frames,
    check_analysable,
    check_enough_features,
    condition_number,
    farthest_beyond_cutoff,
    point_symmetry,
    roundoff_floor,
)
from .singular import CountingJacobian, find_singular
from .structures import (
    DEFAULT_CUTOFF,
    DEFAULT_MIN_DISTANCE,
    builtin_environment,
    closest_allowed_distance,
    environment_atom_distances,
    environment_from_neighbors,
    frame_list,
    neighbor_positions,
    one_frame,
    read_environments,
    recorded_arc_lengths,
    validate_environment,
)
from .structures import write_environments as _write_frames
from .targets import fourbody_torsion

ORBIT_METHODS = ("euler", "adaptive")

#: Default tolerance (Å) on the local error of one adaptive step.
DEFAULT_TOL = 1e-6

#: Euler's step (Å) unless given: the Comment's protocol.
DEFAULT_STEP = 1e-4

#: Longest adaptive step (Å).
DEFAULT_MAX_STEP = 0.05

#: Shortest adaptive step (Å) before the integrator gives up.
MIN_STEP = 1e-9

#: Smallest cosine allowed between the directions within one adaptive step.
MIN_ALIGNMENT = 0.5

_CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- tracing


#: Most frames an orbit keeps (each is an ase.Atoms in memory; the Comment's have 201).
MAX_FRAMES = 1_000_000

#: Most Euler steps of one orbit (the Comment's: 20 000; each costs a Jacobian and an SVD).
MAX_EULER_STEPS = 1_000_000_000

#: Most adaptive (Dormand–Prince) steps of one orbit, counted as length / max_step, the
#: fewest it can take: each costs six or seven Jacobians and SVDs, so about as long as
#: :data:`MAX_EULER_STEPS` Euler steps.
MAX_ADAPTIVE_STEPS = MAX_EULER_STEPS // 7


def _count_text(count: float) -> str:
    """A count of frames or steps in 3 significant digits; one that overflowed (inf) as
    beyond the largest float."""
    return f"{count:.3g}" if math.isfinite(count) else f"over {sys.float_info.max:.3g}"


def check_orbit_size(
    length: float,
    save_every: float,
    step: float,
    method: str,
    max_step: float = DEFAULT_MAX_STEP,
    *,
    frames_advice: str = "shorten the length or save less often",
) -> None:
    """Refuse an orbit of more than :data:`MAX_FRAMES` frames (``frames_advice`` says
    what to change: a family's spacing is fixed, so only its length), or, for ``method``
    ``"euler"``, more than :data:`MAX_EULER_STEPS` steps, for ``"adaptive"`` more than
    :data:`MAX_ADAPTIVE_STEPS` steps of at most ``max_step``, from the ratios in floating
    point, before either is rounded to a count: ``length`` 1e308 Å over ``save_every``
    0.01 Å, or 0.01 Å over a ``step`` of 1e-320 Å, is infinite, which has no whole
    number (``round`` raised OverflowError).

    Raises
    ------
    DegeneracyError
        Naming the length, the spacing or step and the count.
    """
    frames = length / save_every
    if not frames < MAX_FRAMES:
        raise DegeneracyError(
            f"length {length:g} Å saved every {save_every:g} Å is {_count_text(frames)} "
            f"frames, more than {MAX_FRAMES:.0e} kept in memory; {frames_advice}"
        )
    steps = length / step
    if method == "euler" and not steps <= MAX_EULER_STEPS:
        raise DegeneracyError(
            f"length {length:g} Å in Euler steps of {step:g} Å is {_count_text(steps)} "
            f"steps, more than {MAX_EULER_STEPS:.0e} (days at ~1 ms a step); take a longer "
            "step or the adaptive method"
        )
    fewest = length / max_step
    if method == "adaptive" and not fewest <= MAX_ADAPTIVE_STEPS:
        raise DegeneracyError(
            f"length {length:g} Å in adaptive steps of at most max_step {max_step:g} Å is at "
            f"least {_count_text(fewest)} steps, more than {MAX_ADAPTIVE_STEPS:.1e} (days at "
            "~7 ms a step); give a larger max_step"
        )


@dataclass(frozen=True)
class OrbitSettings:
    """How an orbit is traced (validated at construction).

    ``length`` is snapped to ``(n_frames - 1) * save_every``: the ratio is accepted to
    1e-6 relative, and the last frame must lie exactly at the end of the traced arc.
    """

    length: float = 2.0
    method: str = "euler"
    step: float = DEFAULT_STEP
    tol: float = DEFAULT_TOL
    save_every: float = 0.01
    max_step: float = DEFAULT_MAX_STEP
    reverse: bool = False

    def __post_init__(self) -> None:
        for name in ("length", "step", "tol", "save_every", "max_step"):
            object.__setattr__(self, name, positive_float(name, getattr(self, name)))
        one_of("method", self.method, ORBIT_METHODS)
        object.__setattr__(self, "reverse", true_or_false("reverse", self.reverse))
        if self.max_step < MIN_STEP:
            raise DegeneracyError(
                f"max_step must be at least {MIN_STEP:g} Å (the shortest adaptive step), "
                f"got {self.max_step:g}"
            )
        if self.method == "adaptive" and self.tol > self.max_step:
            raise DegeneracyError(
                f"tol {self.tol:g} Å must be at most max_step {self.max_step:g} Å: a local "
                "error per step as large as the longest step controls nothing"
            )
        check_orbit_size(self.length, self.save_every, self.step, self.method, self.max_step)
        object.__setattr__(self, "length", (self.n_frames - 1) * self.save_every)
        if self.method == "euler":
            _ = self.steps_per_frame  # refuses a step that does not divide save_every

    @staticmethod
    def _ratio(numerator: float, denominator: float, problem: str) -> int:
        """``numerator / denominator`` as a whole number ≥ 1 (to 1e-6 relative), else
        ``problem``; an infinite ratio (1e308 / 1e-4 overflows) too, not an OverflowError."""
        ratio = numerator / denominator
        if not math.isfinite(ratio):
            raise DegeneracyError(f"{problem} (ratio {ratio:g})")
        count = round(ratio)
        if count < 1 or abs(ratio - count) > 1e-6 * max(1.0, ratio):
            raise DegeneracyError(f"{problem} (ratio {ratio:.6g})")
        return count

    @property
    def n_frames(self) -> int:
        """Frames saved, the start included: length / save_every + 1."""
        problem = (
            f"length {self.length:g} Å must be a whole multiple of save_every "
            f"{self.save_every:g} Å, the spacing of the saved frames"
        )
        return self._ratio(self.length, self.save_every, problem) + 1

    @property
    def steps_per_frame(self) -> int:
        """Euler steps between two frames."""
        problem = (
            f"the Euler step {self.step:g} Å must divide save_every {self.save_every:g} Å, "
            "the spacing of the saved frames, a whole number of times"
        )
        return self._ratio(self.save_every, self.step, problem)

    def to_dict(self) -> dict:
        return {
            "length": self.length,
            "method": self.method,
            "step": self.step,
            "tol": self.tol,
            "save_every": self.save_every,
            "max_step": self.max_step,
            "reverse": self.reverse,
        }


@dataclass
class Orbit:
    """A traced orbit: its frames and what it cost.

    ``stopped`` says why a trace with ``keep_partial`` ended before ``settings.length``
    (the orbit left the environments the fingerprint describes: a collision or a
    neighbour at the cutoff, :func:`trace_orbit`'s ``min_distance``); None for a whole
    orbit."""

    frames: list[ase.Atoms]
    jacobian_evaluations: int
    steps: int
    rejected_steps: int
    settings: OrbitSettings
    stopped: str | None = None

    @property
    def positions(self) -> np.ndarray:
        """Neighbour positions of the frames, (n_frames, N, 3)."""
        return neighbor_positions(self.frames)

    @property
    def arc_length(self) -> np.ndarray:
        return np.array([f.info["arc_length"] for f in self.frames])

    @property
    def cn(self) -> np.ndarray:
        return np.array([f.info["cn"] for f in self.frames])


def _spectrum_cn(values: np.ndarray) -> float:
    """CN of one frame's singular values, descending (``inf`` at round-off)."""
    return float(condition_number(values[0], values[-1], len(values)))


def _cn_text(values: np.ndarray) -> str:
    """The progress bar's CN of one frame's singular values."""
    return f"{_spectrum_cn(values):.3g}"


class _Field:
    """The direction field u(r) with sign alignment, per-frame diagnostics, and the
    environments it may reach (:meth:`leaving`)."""

    def __init__(
        self,
        representation: Representation,
        template: ase.Atoms,
        *,
        name: str = "",
        min_distance: float = DEFAULT_MIN_DISTANCE,
    ) -> None:
        self.evaluate = CountingJacobian(representation, template)
        self.name = name  # where the start comes from, for warnings
        self.cutoff = getattr(representation, "cutoff", None)
        self.min_distance = min_distance
        self.closest_allowed = closest_allowed_distance(neighbor_positions(template), min_distance)

    def leaving(self, r: np.ndarray, s: float) -> str | None:
        """Why a frame at arc length ``s`` (Å) is not one of the environments the
        fingerprint describes: a neighbour has reached its cutoff (it no longer sees the
        neighbour move: the zeros from there on are the data's) or two atoms are closer
        than :attr:`closest_allowed`; None for a frame that is. The trace ends before
        such a frame (:func:`trace_orbit`)."""
        vectors = np.reshape(r, (-1, 3))
        far = farthest_beyond_cutoff(vectors, self.cutoff)
        apart = environment_atom_distances(vectors[None])[0]
        if far is not None:
            reason = (
                f"atom {far + 1} is {np.linalg.norm(vectors[far]):.4g} Å from the centre, "
                f"at or beyond the cutoff {self.cutoff} Å (the fingerprint no longer sees it)"
            )
        elif apart.min() < self.closest_allowed:
            i, j = sorted(int(v) for v in np.unravel_index(np.argmin(apart), apart.shape))
            reason = (
                f"atoms {i} and {j} are {text_beside(apart[i, j], self.closest_allowed, 3)} "
                "Å apart, closer than "
                f"{self.closest_allowed:.3g} Å (the minimum distance {self.min_distance:g} Å "
                "or half the start's closest pair, whichever is less)"
            )
        else:
            return None
        return f"the orbit leaves the environments at arc length {s:.6g} Å: {reason}"

    def direction(self, r: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, dict]:
        """Unit motion of s_min at ``r`` with ``u · reference >= 0``, and the diagnostics."""
        features, _, spectrum = self.evaluate(r)
        u = spectrum.motions[0, -1]
        if u @ reference < 0:
            u = -u
        return u, {"features": features[0], "values": spectrum.values[0]}

    def diagnostics(self, points: np.ndarray) -> list[dict]:
        """Features and singular values at several points (one batch)."""
        features, _, spectrum = self.evaluate(points)
        return [{"features": features[k], "values": spectrum.values[k]} for k in range(len(points))]


class _Frames:
    """Frames saved so far, as arrays (what a checkpoint stores)."""

    def __init__(self, start_features: np.ndarray | None = None) -> None:
        self.start_features = start_features
        self.positions: list[np.ndarray] = []
        self.arc_length: list[float] = []
        self.values: list[np.ndarray] = []
        self.feature_distance: list[float] = []

    def add(self, r: np.ndarray, s: float, diagnostics: dict) -> None:
        if self.start_features is None:
            self.start_features = np.array(diagnostics["features"], dtype=float)
        self.positions.append(np.array(r, dtype=float))
        self.arc_length.append(float(s))
        self.values.append(np.array(diagnostics["values"], dtype=float))
        self.feature_distance.append(
            float(np.linalg.norm(diagnostics["features"] - self.start_features))
        )

    def __len__(self) -> int:
        return len(self.positions)

    def state(self) -> dict[str, np.ndarray]:
        return {
            "start_features": self.start_features,
            "frame_positions": np.array(self.positions).reshape(len(self), -1),
            "frame_arc_length": np.array(self.arc_length),
            "frame_values": np.array(self.values).reshape(len(self), -1),
            "frame_feature_distance": np.array(self.feature_distance),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> _Frames:
        frames = cls(np.array(state["start_features"]))
        frames.positions = list(state["frame_positions"])
        frames.arc_length = [float(v) for v in state["frame_arc_length"]]
        frames.values = list(state["frame_values"])
        frames.feature_distance = [float(v) for v in state["frame_feature_distance"]]
        return frames

    def atoms(self, evaluate: CountingJacobian, info: dict) -> list[ase.Atoms]:
        result = []
        for index in range(len(self)):
            atoms = evaluate.frame(self.positions[index])
            values = self.values[index]
            atoms.info.update(info)
            atoms.info.update(
                {
                    "frame": index,
                    "arc_length": self.arc_length[index],
                    "singular_values": values.copy(),
                    "cn": _spectrum_cn(values),
                    "feature_distance": self.feature_distance[index],
                }
            )
            if len(atoms) == 5:
                atoms.info["fourbody"] = float(fourbody_torsion(atoms))
            result.append(atoms)
        return result


#: Arrays of a checkpoint: the frames so far, and the stepper's state per method.
_FRAME_STATE = (
    "start_features",
    "frame_positions",
    "frame_arc_length",
    "frame_values",
    "frame_feature_distance",
)
_STEPPER_STATE = {
    "euler": ("r", "u", "k", "evaluations"),
    "adaptive": ("r", "u", "s", "h", "steps", "rejected", "evaluations"),
}


class CheckpointError(DegeneracyError):
    """A checkpoint that cannot be resumed (damaged, foreign or incomplete).

    ``problem`` is what is wrong (``PATH: unreadable checkpoint (...)``); the message adds
    what a library caller can do (delete it, or give :func:`trace_orbit` another
    ``checkpoint``), which ``degeneracy orbit`` words as its options (``--restart``).
    """

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; delete it, or choose another checkpoint")
        self.problem = problem


class _Checkpoint:
    """State of an interrupted run, in one .npz file written atomically.

    Parameters
    ----------
    path : path or None
        The file (None: no checkpointing).
    key : str
        Identity of the run (:func:`_run_key`); a file of another run is refused.
    required : sequence of str
        Arrays a resumable file must hold.
    check : callable, optional
        What is wrong with a loaded state (:func:`_state_problem`), None when nothing.
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        key: str,
        required=(),
        check: Callable[[dict[str, np.ndarray]], str | None] | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.key = key
        self.required = tuple(required)
        self.check = check

    def load(self) -> dict[str, np.ndarray] | None:
        """The saved state, None without a file; refuses an unreadable or foreign one."""
        if self.path is None or not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                state = {name: data[name] for name in data.files}
        except ValueError as error:  # numpy's "pickled data" for a file that is not .npz
            raise CheckpointError(f"{self.path}: not a checkpoint (.npz) file") from error
        except (OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
            raise CheckpointError(f"{self.path}: unreadable checkpoint ({error})") from error
        if str(state.get("key")) != self.key:
            raise CheckpointError(
                f"{self.path}: checkpoint of a different run (other start, representation, basis "
                "or settings)"
            )
        missing = [name for name in self.required if name not in state]
        if missing:
            raise CheckpointError(f"{self.path}: incomplete checkpoint (no {', '.join(missing)})")
        problem = None if self.check is None else self.check(state)
        if problem is not None:  # the run's key with other contents: edited, or a bug
            raise CheckpointError(f"{self.path}: damaged checkpoint ({problem})")
        return state

    def save(self, **state: np.ndarray) -> None:
        if self.path is None:
            return
        with atomic_open(self.path, "wb") as handle:
            np.savez(handle, key=np.array(self.key), **state)

    def remove(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _array_problem(state: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> str | None:
    """What is wrong with the real array ``state[name]`` of ``shape``, None when nothing."""
    value = state[name]
    if value.dtype.kind not in "iuf":
        return f"{name} holds {value.dtype} values, not numbers"
    if value.shape != shape:
        return f"{name} has shape {value.shape}, expected {shape}"
    if not np.all(np.isfinite(value)):
        return f"{name} holds non-finite values"
    return None


def _count_problem(
    state: dict[str, np.ndarray], name: str, low: int, high: int | None = None
) -> str | None:
    """What is wrong with the whole number ``state[name]`` in [low, high], None when nothing."""
    problem = _array_problem(state, name, ())
    if problem is not None:
        return problem
    value = float(state[name])
    if value != int(value) or value < low or (high is not None and value > high):
        bounds = f"of at least {low}" if high is None else f"from {low} to {high}"
        return f"{name} = {state[name]!s} is not a whole number {bounds}"
    return None


def _state_problem(
    state: dict[str, np.ndarray],
    settings: OrbitSettings,
    start: np.ndarray,
    n_features: Callable[[], int],
) -> str | None:
    """What makes a checkpoint's state one no run from ``start`` with ``settings`` can have
    written (shapes, finiteness, ranges, frames that do not match the stepper's progress),
    None when nothing: such a state would fail with a traceback or, worse, trace another
    orbit than asked (a step counter past the end stops it short)."""
    size, n_total = start.size, settings.n_frames
    arc = state["frame_arc_length"]
    n = len(arc) if arc.ndim == 1 else -1
    if not 1 <= n <= n_total:
        return f"frame_arc_length has shape {arc.shape}, expected 1 to {n_total} frames"
    shapes = {
        "start_features": (n_features(),),
        "frame_positions": (n, size),
        "frame_arc_length": (n,),
        "frame_values": (n, size - 3),
        "frame_feature_distance": (n,),
        "r": (size,),
        "u": (size,),
    }
    for name, shape in shapes.items():
        problem = _array_problem(state, name, shape)
        if problem is not None:
            return problem
    if np.any(state["frame_values"] < 0) or np.any(state["frame_feature_distance"] < 0):
        return "negative singular values or feature distances"
    save = settings.save_every
    if not np.allclose(state["frame_arc_length"], np.arange(n) * save, rtol=0, atol=1e-9):
        return f"frame arc lengths are not 0, {save:g}, {2 * save:g}, ... Å"
    if state["frame_feature_distance"][0] != 0:
        return "frame 0 is at a feature distance from the start"
    if not np.allclose(state["frame_positions"][0], start, rtol=0, atol=1e-9):
        return "frame 0 is not the start"
    if abs(np.linalg.norm(state["u"]) - 1) > 1e-6:
        return f"u has length {np.linalg.norm(state['u']):.6g}, not 1"
    stepper_problem = (
        _euler_state_problem if settings.method == "euler" else _adaptive_state_problem
    )
    problem = stepper_problem(state, settings, n)
    if problem is not None:
        return problem
    return _count_problem(state, "evaluations", n)  # one Jacobian at least per frame


def _euler_state_problem(
    state: dict[str, np.ndarray], settings: OrbitSettings, n: int
) -> str | None:
    """:func:`_state_problem` of the Euler stepper's own entries, with ``n`` frames saved:
    the step counter, the frame count it implies, ``r`` the last frame or (saved between
    frames, :data:`EULER_CHECKPOINT_SECONDS`) within the steps taken since."""
    per_frame = settings.steps_per_frame
    n_steps = per_frame * (settings.n_frames - 1)
    problem = _count_problem(state, "k", 0, n_steps)
    if problem is not None:
        return problem
    k = int(state["k"])
    if k // per_frame + 1 != n:
        return (
            f"{n} frames saved at step k = {k}, expected {k // per_frame + 1} "
            f"({per_frame} steps a frame)"
        )
    since = k % per_frame  # steps since the last frame (saved between frames by time)
    moved = float(np.linalg.norm(state["r"] - state["frame_positions"][-1]))
    if since == 0 and moved != 0.0:
        return "r is not the last frame's positions"
    if moved > since * settings.step * (1 + 1e-9):
        return (
            f"r is {moved:.3g} Å from the last frame, more than its {since} "
            f"step{'' if since == 1 else 's'} of {settings.step:g} Å"
        )
    return None


def _adaptive_state_problem(
    state: dict[str, np.ndarray], settings: OrbitSettings, n: int
) -> str | None:
    """:func:`_state_problem` of the adaptive stepper's own entries, with ``n`` frames
    saved: the arc length reached and the frames it implies, the step, the counts."""
    for name in ("s", "h"):
        problem = _array_problem(state, name, ())
        if problem is not None:
            return problem
    s, h = float(state["s"]), float(state["h"])
    if not 0 <= s <= settings.length:
        return f"arc length s = {s:g} Å is outside 0 to {settings.length:g} Å"
    if not h > 0:
        return f"step h = {h:g} Å is not positive"
    save = settings.save_every
    expected = sum(k * save <= s + 1e-12 for k in range(settings.n_frames))  # as _trace_adaptive
    if n != expected:
        return (
            f"{n} frames saved at arc length s = {s:g} Å, expected {expected} "
            f"(a frame every {save:g} Å)"
        )
    for name in ("steps", "rejected"):
        problem = _count_problem(state, name, 0)
        if problem is not None:
            return problem
    return None


def _basis_digest(representation: Representation) -> str | None:
    """Hash of the representation's optimal radial basis (None without one).

    ``hypers()`` is the same for every optimal basis of given settings (built-in or
    ``--basis-file``); the basis itself tells them apart.
    """
    basis = getattr(representation, "optimal_basis", None)
    return None if basis is None else basis.digest()


def _run_key(atoms: ase.Atoms, representation: Representation, settings: OrbitSettings) -> str:
    """Identity of a run for its checkpoint: start, representation (and basis), settings."""
    identity = {
        "version": _CHECKPOINT_VERSION,
        "representation": representation.name,
        "hypers": representation.hypers(),
        "settings": settings.to_dict(),
        "numbers": [int(z) for z in atoms.numbers],
        "start": [float(f"{v:.12e}") for v in neighbor_positions(atoms).ravel()],
    }
    basis = _basis_digest(representation)
    if basis is not None:  # without one, the key is unchanged
        identity["basis"] = basis
    return cache_key(**identity)


def _first_reference(n_coordinates: int, reverse: bool) -> np.ndarray:
    # The Comment's code aligned the first direction with +x of the first neighbour.
    reference = np.zeros(n_coordinates)
    reference[0] = -1.0 if reverse else 1.0
    return reference


def _first_frame(field, start, settings, frames) -> tuple[np.ndarray, np.ndarray]:
    """Position and direction at the start, saved as frame 0; warns at once (before the
    trace, which may take hours) when the start's direction is not unique."""
    r = start.copy()
    u, diagnostics = field.direction(r, _first_reference(r.size, settings.reverse))
    frames.add(r, 0.0, diagnostics)
    if not warn_if_direction_not_unique(diagnostics["values"], name=field.name):
        warn_if_sense_arbitrary(u, name=field.name)
        warn_if_start_symmetric(r, field.evaluate.numbers[1:], name=field.name)
    return r, u


def _trace_euler(field, start, settings, frames, checkpoint, state, bar, callback):
    h = settings.step
    per_frame = settings.steps_per_frame
    n_steps = per_frame * (settings.n_frames - 1)
    if state is None:
        r, u = _first_frame(field, start, settings, frames)
        k = 0
    else:
        r, u, k = state["r"].copy(), state["u"].copy(), int(state["k"])
    bar.update(k * h)
    saved = time.monotonic()
    # a start whose direction is tied turns anywhere at once, and was warned about
    kink = _KinkWarning(field, quiet=bool(tied_with_smallest(frames.values[0])))
    while k < n_steps:
        r = r + h * u
        k += 1
        previous = u
        u, diagnostics = field.direction(r, u)
        kink.check(previous, u, k * h, diagnostics["values"])
        if k % per_frame and time.monotonic() - saved > EULER_CHECKPOINT_SECONDS:
            # frames far apart (--save-every 0.3 Å: 3000 steps) lost every step to Ctrl-C
            saved = _save_euler_state(checkpoint, field, frames, r, u, k)
        if k % per_frame == 0:
            left = field.leaving(r, k // per_frame * settings.save_every)
            if left is not None:
                return k, 0, left
            frames.add(r, k // per_frame * settings.save_every, diagnostics)
            saved = _save_euler_state(checkpoint, field, frames, r, u, k)
            bar.update(per_frame * h)
            bar.set_postfix(cn=_cn_text(diagnostics["values"]))
            if callback is not None:
                callback(k * h)
    return n_steps, 0, None


class _KinkWarning:
    """Warns once when one Euler step turns the followed direction by more than the
    adaptive integrator allows within a step (acos :data:`MIN_ALIGNMENT`, 60°).

    Where the two smallest singular values nearly meet, the softest motion swaps to
    the other one within a step: from a 6-neighbour start Euler turned by ~100° between
    two frames ((s14 − s15)/s15 = 0.0034 at 0.2 Å) and went on along another branch
    than a tighter trace, without a word (helper audit, 2026-12-07). The adaptive
    integrator stops there (its step vanishes).
    """

    def __init__(self, field, *, quiet: bool = False) -> None:
        self.field, self.done = field, quiet

    def check(self, before: np.ndarray, after: np.ndarray, s: float, values: np.ndarray) -> None:
        """Warn (once) if the step that reached arc length ``s`` turned ``before`` into
        ``after`` (unit directions) by more than 60°; ``values`` the spectrum there."""
        cosine = float(before @ after)
        if self.done or cosine >= MIN_ALIGNMENT:
            return
        self.done = True
        gap = (values[-2] - values[-1]) / values[-1] if values[-1] > 0 else float("inf")
        name = f" ({self.field.name})" if self.field.name else ""
        warnings.warn(
            f"orbit{name}: at arc length {s:.4g} Å one Euler step turned the followed "
            f"direction by {np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))):.0f}° (the two "
            f"smallest singular values {gap:.2g} apart, relative): past it the path may "
            "follow another branch; a smaller step, or method adaptive, which stops there, "
            "tells",
            DegeneracyWarning,
            stacklevel=2,
        )


#: Wall time (s) after which an Euler trace saves its state between two frames: with
#: frames far apart every step since the last frame was lost to an interruption.
EULER_CHECKPOINT_SECONDS = 10.0


def _save_euler_state(checkpoint, field, frames, r, u, k) -> float:
    """Save an Euler trace's state at step ``k``; the time it was saved."""
    checkpoint.save(
        r=r, u=u, k=np.array(k), evaluations=np.array(field.evaluate.evaluations),
        **frames.state(),
    )  # fmt: skip
    return time.monotonic()


# Dormand–Prince 5(4) tableau and dense-output matrix, as used by scipy's RK45.
_DP_A, _DP_B, _DP_C, _DP_E, _DP_P = RK45.A, RK45.B, RK45.C, RK45.E, RK45.P


def _dp_step(field, r, u, h):
    """One Dormand–Prince attempt from (r, u): new point, local error, stages, last direction.

    Returns ``None`` when the direction turns by more than acos(MIN_ALIGNMENT) within it.
    """
    stages = np.zeros((len(_DP_C) + 1, r.size))
    stages[0] = u
    for i in range(1, len(_DP_C)):
        point = r + h * (_DP_A[i, :i] @ stages[:i])
        stages[i], _ = field.direction(point, u)
        if stages[i] @ u < MIN_ALIGNMENT:
            return None
    new = r + h * (_DP_B @ stages[:-1])
    stages[-1], diagnostics = field.direction(new, u)
    if stages[-1] @ u < MIN_ALIGNMENT:
        return None
    error = h * (_DP_E @ stages)
    return new, float(np.linalg.norm(error)), stages, diagnostics


class _Stopped(str):
    """Why a trace ended before its length (:attr:`Orbit.stopped`), and whether its
    checkpoint resumes it: not where the adaptive step vanished, as a rerun from there
    stops at the same place."""

    def __new__(cls, text: str, resumable: bool = True) -> _Stopped:
        stopped = super().__new__(cls, text)
        stopped.resumable = resumable
        return stopped


def _vanishing_step_text(s: float, tol: float, last_error: tuple[float, float] | None) -> str:
    """Why the adaptive step fell below :data:`MIN_STEP` at arc length ``s``: the last
    refusals were for ``tol`` (``last_error``: a step and its local error; a tol below
    the round-off of the directions is never met), or for the direction turning."""
    text = f"adaptive step below {MIN_STEP:g} Å at arc length {s:.6g} Å: "
    if last_error is not None:
        step, error = last_error
        return text + (
            f"a step of {step:.3g} Å still erred by {error:.3g} Å, more than tol {tol:g} Å "
            "(a tol below the directions' round-off is never met): give a larger tol"
        )
    return text + (
        "the lowest singular direction turns too fast there (nearly equal smallest singular "
        "values?)"
    )


def _dense(r, h, stages, theta):
    """Dormand–Prince 4th-order continuous extension at fraction ``theta`` of the step."""
    q = stages.T @ _DP_P
    powers = np.cumprod(np.full(q.shape[1], theta))
    return r + h * (q @ powers)


#: Jacobians an adaptive trace may spend per Jacobian Euler would need at its default
#: step before :class:`_CrawlWarning` warns (and at least :data:`CRAWL_MIN_EVALUATIONS`).
CRAWL_FACTOR = 10.0
CRAWL_MIN_EVALUATIONS = 2000


class _CrawlWarning:
    """Warns once when an adaptive trace spends far more Jacobians per Å than Euler at its
    default step would: next to a symmetric start the direction field is at round-off,
    the 60° turn check keeps quartering the step, and 0.02 Å took 36 505 Jacobians
    (3 min 36 s) where Euler took 201 (5 s); 0.2 Å would have taken hours, without a
    word (helper audit, 2026-12-07)."""

    def __init__(self, field) -> None:
        self.field, self.done = field, False

    def check(self, s: float) -> None:
        """Warn (once) if the trace has crawled to arc length ``s`` (Å)."""
        evaluations = self.field.evaluate.evaluations
        euler = s / DEFAULT_STEP + 1
        if self.done or evaluations < max(CRAWL_MIN_EVALUATIONS, CRAWL_FACTOR * euler):
            return
        self.done = True
        name = f" ({self.field.name})" if self.field.name else ""
        warnings.warn(
            f"orbit{name}: the adaptive trace has used {evaluations} Jacobians for "
            f"{s:.3g} Å of arc, over {CRAWL_FACTOR:g}× what Euler at step "
            f"{DEFAULT_STEP:g} Å would ({euler:.0f}): the followed direction turns "
            "at every step (a start next to a symmetry?); method euler is far cheaper here",
            DegeneracyWarning,
            stacklevel=2,
        )


def _trace_adaptive(field, start, settings, frames, checkpoint, state, bar, callback):
    tol, save = settings.tol, settings.save_every
    n_frames, length = settings.n_frames, settings.length
    if state is None:
        (r, u), s = _first_frame(field, start, settings, frames), 0.0
        h = min(settings.max_step, save, 1e-3)
        steps = rejected = 0
    else:
        r, u, s, h = state["r"].copy(), state["u"].copy(), float(state["s"]), float(state["h"])
        steps, rejected = int(state["steps"]), int(state["rejected"])
    bar.update(s)
    last_error = None  # (step, its local error) of the last step refused for tol
    crawling = _CrawlWarning(field)
    while len(frames) < n_frames:
        crawling.check(s)
        # s < length here: the step that reaches the end adds the last frame
        remaining = length - s
        h = min(h, settings.max_step, remaining)
        if h < min(MIN_STEP, remaining):  # never a zero or vanishing step
            text = _vanishing_step_text(s, tol, last_error)
            if last_error is not None:  # a tol never met: the setting's fault, not the path's
                raise DegeneracyError(text)
            # the direction turns too fast (two smallest values nearly equal): the frames
            # so far are kept with keep_partial; a rerun would stop here again
            return steps, rejected, _Stopped(text, resumable=False)
        attempt = _dp_step(field, r, u, h)
        if attempt is None:
            rejected += 1
            h /= 4.0
            last_error = None
            continue
        new, error, stages, diagnostics = attempt
        factor = 5.0 if error == 0 else min(5.0, max(0.2, 0.9 * (tol / error) ** 0.2))
        if error > tol:
            rejected += 1
            h *= factor
            last_error = (h / factor, error)
            continue
        steps += 1
        # the last step ends exactly on the last frame, length = (n_frames - 1) * save
        end = length if h == remaining else s + h
        # frames inside (s, end] come from the dense output; one at the end is exact
        inside = [k for k in range(len(frames), n_frames) if k * save <= end + 1e-12]
        exact = [k for k in inside if abs(k * save - end) <= 1e-12]
        dense = [k for k in inside if k not in exact]
        if dense:
            points = np.stack([_dense(r, h, stages, (k * save - s) / h) for k in dense])
            for k, point, values in zip(dense, points, field.diagnostics(points), strict=True):
                left = field.leaving(point, k * save)
                if left is not None:
                    return steps, rejected, left
                frames.add(point, k * save, values)
        for k in exact:
            left = field.leaving(new, k * save)
            if left is not None:
                return steps, rejected, left
            frames.add(new, k * save, diagnostics)
        r, u, s = new, stages[-1], end
        h *= factor
        checkpoint.save(
            r=r, u=u, s=np.array(s), h=np.array(h), steps=np.array(steps),
            rejected=np.array(rejected), evaluations=np.array(field.evaluate.evaluations),
            **frames.state(),
        )  # fmt: skip
        bar.update(end - bar.n)
        bar.set_postfix(cn=_cn_text(diagnostics["values"]), h=h)
        if callback is not None:
            callback(s)
    return steps, rejected, None


def trace_orbit(
    atoms: ase.Atoms,
    representation: Representation,
    *,
    length: float = 2.0,
    method: str = "euler",
    step: float = 1e-4,
    tol: float = DEFAULT_TOL,
    save_every: float = 0.01,
    max_step: float = DEFAULT_MAX_STEP,
    reverse: bool = False,
    checkpoint: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    progress: bool = False,
    callback: Callable[[float], None] | None = None,
    start_name: str = "",
    min_distance: float = DEFAULT_MIN_DISTANCE,
    keep_partial: bool = False,
) -> Orbit:
    r"""Follow the lowest-sensitivity direction from ``atoms`` for ``length`` Å of arc.

    Parameters
    ----------
    atoms : ase.Atoms
        Start environment (centre first); not modified.
    representation : Representation
        Fingerprint whose purified Jacobian defines :math:`u`.
    length : float
        Arc length (Å) to trace; a whole multiple of ``save_every``.
    method : {"euler", "adaptive"}
        Explicit Euler with fixed ``step``, or Dormand–Prince 5(4) with local error ``tol``.
    step : float
        Euler step (Å); ``save_every`` must be a whole multiple of it.
    tol : float
        Adaptive: largest local error (Å, Euclidean over all neighbour coordinates)
        of an accepted step.
    save_every : float
        Arc length (Å) between saved frames.
    max_step : float
        Adaptive: longest step (Å).
    reverse : bool
        Start in the opposite direction.
    checkpoint : path, optional
        State file: written as the run goes, read to resume a run with the same start,
        representation (optimal basis included) and settings, deleted when the run
        completes and ``output`` (if given) is written.
    output : path, optional
        Also write the frames there (extended XYZ, atomically; named .extxyz or .xyz).
        Its folder and name, and the checkpoint's folder, are checked before any work.
    progress : bool
        Show a tqdm progress bar (in Å of arc).
    callback : callable, optional
        Called with the arc length after every checkpoint (e.g. to stop a run).
    start_name : str
        Where the start comes from, for warnings (e.g. ``"start.xyz, frame 3"``).
    min_distance : float
        The trace stops with an error (or, with ``keep_partial``, returns the frames
        before it) at a saved frame where two atoms (the centre included) are closer
        than ``min_distance`` or half their closest distance at the start, whichever is
        less (Å), or where a neighbour has reached the fingerprint's ``cutoff``: from
        there on the path is not one of environments the fingerprint describes. Orbits
        keep clear of both in practice (43 starts of CH4 and of ten Cu with four
        fingerprints over 2–6 Å of arc, none reached either: docs/orbits.md),
        so this is a guard, not a limit paths run into.
    keep_partial : bool
        Where the path leaves the environments (``min_distance``), end the trace there
        and return (and write) the frames before it, with a warning, ``Orbit.stopped``
        and the last frame's ``info["stopped"]`` saying why, instead of raising. A run
        that stopped with the error resumes from its ``checkpoint`` with this set, so the
        frames traced are not traced again.

    Returns
    -------
    Orbit
        ``n = length / save_every + 1`` frames at arc lengths ``0, save_every, ...``
        (fewer with ``keep_partial``, when the path left the environments).

    Raises
    ------
    DegeneracyError
        Bad settings, a missing output folder, a checkpoint that is unreadable or of
        another run, or a path that leaves the environments (``min_distance``; not with
        ``keep_partial``).
    """
    settings = OrbitSettings(
        length=length,
        method=method,
        step=step,
        tol=tol,
        save_every=save_every,
        max_step=max_step,
        reverse=reverse,
    )
    callback = optional_callable("callback", callback)
    min_distance = non_negative_float("min_distance", min_distance)
    keep_partial = true_or_false("keep_partial", keep_partial)
    atoms = one_frame(atoms, name="trace_orbit")
    check_analysable([atoms], fingerprint(representation))  # finite, inside the cutoff
    check_enough_features(atoms, representation, task="single softest direction to follow")
    output = None if output is None else output_file(output, suffixes=EXTXYZ_SUFFIXES)
    checkpoint = None if checkpoint is None else output_file(checkpoint, "checkpoint")
    field = _Field(representation, atoms, name=start_name, min_distance=min_distance)
    start = neighbor_positions(atoms).ravel().astype(float)
    required = _FRAME_STATE + _STEPPER_STATE[settings.method]

    def problem(state: dict[str, np.ndarray]) -> str | None:
        def n_features() -> int:  # only when resuming: one evaluation of the features
            return int(representation.features([field.evaluate.frame(start)]).shape[-1])

        return _state_problem(state, settings, start, n_features)

    store = _Checkpoint(checkpoint, _run_key(atoms, representation, settings), required, problem)
    state = store.load()
    if state is None:
        frames = _Frames()
    else:
        frames = _Frames.from_state(state)
        field.evaluate.evaluations = int(state["evaluations"])
        if not warn_if_direction_not_unique(frames.values[0], name=start_name):
            warn_if_start_symmetric(start, atoms.numbers[1:], name=start_name)
    trace = _trace_euler if settings.method == "euler" else _trace_adaptive
    with tqdm(
        total=settings.length, unit="Å", desc=f"orbit ({settings.method})", disable=not progress
    ) as bar:
        steps, rejected, stopped = trace(
            field, start, settings, frames, store, state, bar, callback
        )
    if stopped is not None:
        resumable = checkpoint is not None and getattr(stopped, "resumable", True)
        _stop_or_refuse(stopped, frames, keep_partial, start_name, resumable=resumable)
        stopped = str(stopped)
    info = {"method": settings.method}
    result = frames.atoms(field.evaluate, info)
    result[-1].info["jacobian_evaluations"] = field.evaluate.evaluations
    if stopped is not None:
        result[-1].info["stopped"] = stopped
    if output is not None:
        write_orbit(output, result)
    store.remove()  # only now: a failed write leaves the run resumable
    return Orbit(
        frames=result,
        jacobian_evaluations=field.evaluate.evaluations,
        steps=steps,
        rejected_steps=rejected,
        settings=settings,
        stopped=stopped,
    )


def _stop_or_refuse(
    stopped: str, frames: _Frames, keep_partial: bool, name: str, *, resumable: bool
) -> None:
    """A trace that left the environments (``stopped``, :meth:`_Field.leaving`): warn
    that the frames before it are kept (``keep_partial``) or raise, saying how to keep
    them and whether the ``resumable`` checkpoint spares tracing them again."""
    where = f"{name}: " if name else ""
    count = "frame" if len(frames) == 1 else f"{len(frames)} frames"
    kept = f"the {count} before it (arc length 0 to {frames.arc_length[-1]:.6g} Å)"
    if keep_partial:
        warnings.warn(f"{where}{stopped}; kept {kept}", DegeneracyWarning, stacklevel=3)
        return
    resume = " (its checkpoint resumes the run there)" if resumable else ""
    raise DegeneracyError(
        f"{where}{stopped}; trace a shorter length, or keep {kept} with keep_partial{resume}"
    )


#: Largest rotation (rad) that float64 round-off may give the start's direction for it to
#: count as determined: over the adaptive integrator's first step (1e-3 Å) it moves the
#: path by 1e-8 Å, 1 % of the default local tolerance :data:`DEFAULT_TOL`. For CH4 (9
#: motions) it makes a gap of 2e-10 s_1 or less a tie (:func:`direction_tie_width`).
DIRECTION_ANGLE_TOL = 1e-5


def direction_tie_width(values: np.ndarray) -> float:
    r"""Largest gap :math:`s_k - s_n` at which :math:`s_k` is tied with :math:`s_n = s_\min`
    for the orbit's direction: round-off could turn the direction by more than
    :data:`DIRECTION_ANGLE_TOL`.

    The orbit follows :math:`w_n`, the right singular vector of :math:`s_n` of the purified
    Jacobian :math:`\tilde J`. The computed one is that of :math:`\tilde J + E`, and by
    Wedin's :math:`\sin\Theta` theorem (Stewart & Sun, *Matrix Perturbation Theory*, §V.4;
    Davis–Kahan for the symmetric :math:`\tilde J^\top \tilde J`)

    .. math:: \sin\theta(w_n, \tilde w_n) \le \frac{\|E\|_2}{s_{n-1} - s_n},
              \qquad \|E\|_2 \lesssim (3N-3)\,\varepsilon\, s_1

    with the round-off of :func:`~degeneracy.sensitivity.roundoff_floor`: the noise is
    relative to :math:`s_1`, the size of the Jacobian's entries, so the gap that decides
    is relative to :math:`s_1` too. A tie is then

    .. math:: s_k - s_n \le \frac{(3N-3)\,\varepsilon\, s_1}{\theta_\mathrm{tol}},
              \qquad \theta_\mathrm{tol} = \mathtt{DIRECTION\_ANGLE\_TOL},

    2e-10 :math:`s_1` for CH4. A gap relative to :math:`s_n` (:func:`smallest_gap`'s)
    cannot tell a tie: at the regular tetrahedron :math:`s_2 \dots s_9` are round-off
    (gap 3e-18 :math:`s_1`) and :math:`(s_8 - s_9)/s_9` is 0.34, a ratio of two
    round-off numbers. Measured (SOAP σ = 0.3 Å; directions :math:`u = O w_9` with the
    Jacobian's entries perturbed by :math:`\varepsilon` relative, and at two starts 1e-9
    Å apart): at T_d and 1e-7 Å from it (gaps 3e-18 to 5e-16 :math:`s_1`) the direction
    turns by 0.02–1.4 rad, undetermined; 1e-5 Å from it (2e-12–9e-12 :math:`s_1`, bound
    2e-4–9e-4 rad) by 2e-6 rad from the noise and 5e-4 rad between the two starts: tied;
    1e-3 Å away (4e-8–1e-7 :math:`s_1`) by 3e-8 rad: determined, though it turns fast
    there (0.3 rad over 1e-4 Å, a shape of the path that :func:`smallest_gap` and the
    adaptive integrator's turn check watch). Ordinary frames are far from it: over 2000
    random CH4 the smallest gap is 8.6e-4 :math:`s_1` (SOAP σ = 0.3 Å), 6.7e-6 (σ = 1
    Å), 5e-8 (σ = 2 Å) and 1.3e-8 (σ = 2.4 Å, where the l-channels the weakest motions
    are seen through are damped, docs/fingerprints.md; a tie width of 1e-8 :math:`s_1`,
    used before, came within 30 % of them there while round-off turns their direction by
    at most 2e-7 rad), 9e-4 (bispectrum), 9e-6 (ACSF), 5e-4 (OM).

    The Jacobian's own error is not noise of this kind: featomic's splined radial
    integrals (accuracy 1e-8) turn the direction of random frames by up to 8e-5 / 2e-4 /
    1e-2 rad at σ = 0.3 / 1 / 2 Å against unsplined ones, a smooth change of the
    fingerprint (the same on every machine) that changes which orbit is traced, not
    whether it is one.

    Parameters
    ----------
    values : array (3N-3,)
        One frame's purified singular values, descending.

    Returns
    -------
    float
        The width (in the units of ``values``).
    """
    values = np.asarray(values, dtype=float)
    return float(roundoff_floor(values[0], len(values))) / DIRECTION_ANGLE_TOL


def tied_with_smallest(values: np.ndarray) -> int:
    """How many singular values besides s_min are tied with it for the orbit's direction
    (within :func:`direction_tie_width`); 0 with fewer than two values or s_1 = 0."""
    values = np.asarray(values, dtype=float).ravel()
    if len(values) < 2 or not values[0] > 0:
        return 0
    return int(np.sum(values[:-1] - values[-1] <= direction_tie_width(values)))


def warn_if_direction_not_unique(values: np.ndarray, *, name: str = "") -> bool:
    """Warn when the start's smallest singular value is tied with the next one
    (:func:`tied_with_smallest`; the warning names the start by ``name``, where it comes
    from).

    The orbit follows the motion of s_min; where s_{k-1} = s_k that motion is any vector of
    a subspace (e.g. the 8 symmetry zeros of a T_d start) and the traced orbit is one of
    many. :func:`direction_tie_width` says why the gap is measured against s_1, and what
    the frames measured give.
    """
    values = np.asarray(values, dtype=float).ravel()
    tied = tied_with_smallest(values)
    if tied:
        gap = (values[-2] - values[-1]) / values[0]
        warnings.warn(
            f"orbit start{f' ({name})' if name else ''}: the smallest singular value is tied with "
            f"{tied} others (gap {gap:.1e} of s_1, within round-off of it): the direction of the "
            "orbit is not unique there (a symmetric start? see `degeneracy spectrum`)",
            DegeneracyWarning,
            stacklevel=3,
        )
    return bool(tied)


def warn_if_sense_arbitrary(u: np.ndarray, *, name: str = "") -> bool:
    """Warn when the start's direction ``u`` (unit) barely moves neighbour 1 along x.

    Which way the orbit goes is a convention (neighbour 1 towards +x, as in the Comment's
    code; ``reverse`` the other way), so it follows the start's orientation and labels:
    a rotated or relabelled copy may trace the other half of the same orbit. Where the
    x component is below :data:`DIRECTION_ANGLE_TOL` the choice rests on it alone: a
    start rotated by 1e-9 rad traced the other half (E4 at 0.2 Å 1.0999 against 0.9908).
    Returns whether it warned.
    """
    component = abs(float(np.asarray(u).ravel()[0]))
    if component >= DIRECTION_ANGLE_TOL:
        return False
    warnings.warn(
        f"orbit start{f' ({name})' if name else ''}: its direction moves neighbour 1 along x "
        f"by only {component:.1e} of its length, which alone decides which way the orbit "
        "goes (neighbour 1 towards +x, or -x with reverse): a start turned slightly may "
        "trace the other half",
        DegeneracyWarning,
        stacklevel=3,
    )
    return True


def warn_if_start_symmetric(neighbors: np.ndarray, species: np.ndarray, *, name: str = "") -> bool:
    """Warn when the start has a point symmetry that forces zero singular values
    (:func:`~degeneracy.sensitivity.point_symmetry`, within its default tolerance): its
    softest direction is then a zero forced by that symmetry, and the orbit leaves the
    symmetric shape along it rather than tracing a quasi-constant manifold. Called when
    :func:`warn_if_direction_not_unique` did not warn (one warning per run); the traced
    numbers are unchanged. Returns whether it warned."""
    verdict = point_symmetry(np.asarray(neighbors, dtype=float).reshape(-1, 3), species)
    if not (verdict.symmetric and verdict.n_symmetry_zeros > 0):
        return False
    warnings.warn(
        f"orbit start{f' ({name})' if name else ''}: the start is symmetric (residual "
        f"{verdict.residual:.1e} Å, {verdict.n_symmetry_zeros} zero(s) forced by its symmetry): "
        "its softest direction is forced by that symmetry, so the orbit leaves the symmetric "
        "shape rather than tracing a quasi-constant manifold (start from a distorted frame, "
        "or see `degeneracy spectrum`)",
        DegeneracyWarning,
        stacklevel=3,
    )
    return True


def write_orbit(path: str | os.PathLike, frames: Sequence[ase.Atoms]) -> None:
    """Write orbit frames as extended XYZ, atomically."""
    _write_frames(path, frames)


# --------------------------------------------------------------------- comparisons


def median_cn(frames: Sequence[ase.Atoms]) -> float:
    """Median condition number over the frames past the start (``arc_length > 0``).

    Uses ``info["cn"]`` or else ``info["singular_values"]`` (as in the published files,
    whose first frame has no singular values).

    Parameters
    ----------
    frames : list of ase.Atoms
        Orbit frames; a frame without ``info["arc_length"]`` counts as past the start.

    Returns
    -------
    float
        The median CN (an infinite CN counts as the largest).

    Raises
    ------
    DegeneracyError
        When no frame past the start has a condition number.
    """
    values = _arc_cn(frame_list(frames, name="median_cn"))[1]
    if not values.size:
        raise DegeneracyError("no frame with a condition number (info 'cn' or 'singular_values')")
    return float(np.median(values))


def frame_cn(atoms: ase.Atoms) -> float | None:
    """A frame's recorded CN: ``info["cn"]``, else s_1/s_min of ``info["singular_values"]``."""
    if "cn" in atoms.info:
        return float(atoms.info["cn"])
    if "singular_values" in atoms.info:
        values = np.asarray(atoms.info["singular_values"], dtype=float)
        return _spectrum_cn(values)
    return None


def orbit_deviation(frames: Sequence[ase.Atoms], reference: Sequence[ase.Atoms]) -> float:
    r"""Largest distance (Å) between two orbits at equal arc length.

    .. math:: \max_k \bigl|r(s_k) - r^\mathrm{ref}_k\bigr|

    over the reference frames :math:`k` whose arc length :math:`s_k` lies within ``frames``;
    :math:`r(s)` interpolates ``frames`` linearly in arc length, and the norm runs over all
    neighbour coordinates (the metric in which arc length is measured).

    Parameters
    ----------
    frames : list of ase.Atoms
        The orbit, each frame with ``info["arc_length"]`` (Å), increasing or
        decreasing.
    reference : list of ase.Atoms
        The orbit to compare with (e.g. the published one), each frame with
        ``info["arc_length"]``; the same number of neighbours, in the same order.

    Returns
    -------
    float
        The largest distance (Å).

    Raises
    ------
    DegeneracyError
        When the orbits share no arc length, either is empty, has frames of different
        sizes or a frame without ``arc_length``, the two have different numbers of
        neighbours, or the orbit's arc lengths are not monotonic.
    """
    s, ours, s_ref, theirs = _orbit_pair(frames, reference)
    inside = (s_ref >= s[0] - 1e-12) & (s_ref <= s[-1] + 1e-12)
    if not inside.any():
        raise DegeneracyError("the orbits share no arc length")
    interpolated = np.stack(
        [np.interp(s_ref[inside], s, ours[:, j]) for j in range(ours.shape[1])], axis=1
    )
    return float(np.linalg.norm(interpolated - theirs[inside], axis=1).max())


def orbit_shape_distance(frames: Sequence[ase.Atoms], reference: Sequence[ase.Atoms]) -> float:
    r"""Largest distance (Å) between two orbits as curves, whatever the pace along them.

    .. math:: \max\Bigl(\max_k d\bigl(r_k, \Gamma^\mathrm{ref}\bigr),\
              \max_k d\bigl(r^\mathrm{ref}_k, \Gamma\bigr)\Bigr)

    where :math:`d(p, \Gamma)` is the distance from a frame :math:`p` of one orbit to the
    polyline :math:`\Gamma` through the other's frames, over the frames of each whose
    arc length lies within the other's (as in :func:`orbit_deviation`, no rotation is
    taken out, and the norm runs over all neighbour coordinates). It is symmetric, and
    a Hausdorff distance between the two polylines except at their ends: there each
    polyline is continued along its first and last segment (a ray), so that a frame
    that is past the other orbit's end only by a lag along the path, or by the other's
    last frame lying a little short of the arc length (the published orbits' last frame
    is at 1.9901 Å, ours at 2 Å), is compared with where the other would have gone on.

    :func:`orbit_deviation` compares points at *equal arc length*: it adds up an error
    of the shape and a lag along the path. An explicit Euler orbit lags behind the
    ODE's solution on a tight loop (the polygon drifts outwards and covers less angle per
    arc length): at σ = 0.1 Å, c = 0.1 the published (Euler 1e-4 Å) orbit and our
    adaptive one from its start are 0.065 Å apart at equal arc length but 4e-3 Å apart
    as curves (docs/orbits.md, "Adaptive versus Euler"). Two orbits that lie on the same
    curve, at different paces or with frames at other arc lengths, are 0 apart here (to
    the polylines' chord error), while their equal-arc-length deviation is the lag.

    Parameters
    ----------
    frames, reference : list of ase.Atoms
        The two orbits, as for :func:`orbit_deviation` (each frame with
        ``info["arc_length"]``, the same neighbours in the same order).

    Returns
    -------
    float
        The largest distance (Å); the same with the two orbits swapped.

    Raises
    ------
    DegeneracyError
        As :func:`orbit_deviation`, and when the reference's arc lengths are not
        monotonic either.
    """
    s, ours, s_ref, theirs = _orbit_pair(frames, reference)
    s_ref, theirs = _increasing(s_ref, theirs, "the reference")  # a polyline too, here
    start, end = max(s[0], s_ref[0]) - 1e-12, min(s[-1], s_ref[-1]) + 1e-12
    if start > end:
        raise DegeneracyError("the orbits share no arc length")
    mine = ours[(s >= start) & (s <= end)]
    others = theirs[(s_ref >= start) & (s_ref <= end)]
    return float(
        max(_polyline_distances(mine, theirs).max(), _polyline_distances(others, ours).max())
    )


def _polyline_distances(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Distance of each of ``points`` (n, d) to the polyline through ``polyline`` (m, d),
    its first and last segments continued as rays beyond its ends (one vertex: the
    distance to it)."""
    if len(polyline) == 1:
        return np.linalg.norm(points - polyline[0], axis=1)
    origins, edges = polyline[:-1], np.diff(polyline, axis=0)
    lengths = np.einsum("ij,ij->i", edges, edges)
    low, high = np.zeros(len(edges)), np.ones(len(edges))
    low[0], high[-1] = -np.inf, np.inf  # the rays beyond the two ends
    result = np.empty(len(points))
    for k, point in enumerate(points):  # one point at a time: (m, d) memory
        offsets = point - origins
        along = np.einsum("ij,ij->i", offsets, edges)
        t = np.divide(along, lengths, out=np.zeros_like(along), where=lengths > 0)
        result[k] = np.linalg.norm(offsets - np.clip(t, low, high)[:, None] * edges, axis=1).min()
    return result


def _orbit_pair(
    frames: Sequence[ase.Atoms], reference: Sequence[ase.Atoms]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arc lengths and flattened neighbour positions of an orbit (in increasing arc
    length) and of a reference, checked as :func:`orbit_deviation` documents."""
    frames, reference = frame_list(frames, name="frames"), frame_list(reference, name="reference")
    ours = neighbor_positions(frames).reshape(len(frames), -1)
    theirs = neighbor_positions(reference).reshape(len(reference), -1)
    if ours.shape[1] != theirs.shape[1]:
        raise DegeneracyError(
            f"the orbits have {ours.shape[1] // 3} and {theirs.shape[1] // 3} neighbours"
        )
    s, s_ref = _arc_lengths(frames, "the orbit"), _arc_lengths(reference, "the reference")
    s, ours = _increasing(s, ours, "the orbit")
    return s, ours, s_ref, theirs


def _increasing(s: np.ndarray, positions: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """An orbit's arc lengths and positions in increasing arc length (reversed if traced
    backwards, which path_arc_length allows); refused if they go back and forth."""
    if len(s) > 1 and s[0] > s[-1]:
        s, positions = s[::-1], positions[::-1]
    if np.any(np.diff(s) < 0):
        raise DegeneracyError(f"{what}'s arc lengths go back and forth; is it one orbit?")
    return s, positions


def smallest_gap(frames: Sequence[ase.Atoms]) -> tuple[float, float] | None:
    r"""Where the two smallest singular values come nearest along an orbit.

    The orbit follows the motion of :math:`s_n`; where :math:`s_{n-1}` nearly meets it
    that motion turns fast, and where they cross it is not defined. Only the start is
    watched (:func:`warn_if_direction_not_unique`), so this tells how near the rest of the
    path comes: the smallest

    .. math:: g = \frac{s_{n-1} - s_n}{s_n}

    over the frames that record ``singular_values`` (at the saved frames only, not at
    every step), 0 at a frame where the two are tied as the start's warning counts a
    tie (:func:`tied_with_smallest`: within round-off of each other, where the ratio
    would be one of two round-off numbers, 0.34 at T_d). The Comment's σ = 0.1 Å,
    c = 0.1 orbit comes to 0.11.

    The start's test measures the gap against :math:`s_1`, the scale of the round-off
    that decides whether the direction is determined at all
    (:func:`direction_tie_width`); this one, once the two are told apart, against
    :math:`s_n`: a shape of the spectrum, which the density's width σ, damping the
    weakest motions of every frame together, leaves alone. Over 2000 random CH4 (SOAP)
    the median of :math:`g` is 0.93 at σ = 0.3 Å and 3.7 at σ = 2.4 Å, while that of
    :math:`(s_{n-1} - s_n)/s_1` falls from 3.7e-2 to 1.4e-6; yet the direction turns no
    faster (directions 1e-6 Å apart: at most 3e-5 rad at σ = 0.3 Å, 7e-5 rad at σ =
    2 Å, 200 frames each), so a gap against :math:`s_1` would rank σ, not crossings.

    Returns
    -------
    (float, float) or None
        The smallest relative gap (0 at a tie, ``inf`` where :math:`s_n = 0` alone) and
        the ``arc_length`` of its frame (nan without one); None when no frame has two
        singular values.
    """
    best = None
    for atoms in frame_list(frames, name="smallest_gap"):
        values = np.asarray(atoms.info.get("singular_values", ()), dtype=float).ravel()
        if values.size < 2:
            continue
        gap = _relative_gap(values)
        if best is None or gap < best[0]:
            arc = atoms.info.get("arc_length", float("nan"))
            best = (gap, float(arc))
    return best


def _relative_gap(values: np.ndarray) -> float:
    """:func:`smallest_gap`'s (s_{n-1} − s_n)/s_n of one frame's values (0 at a tie,
    inf where s_n = 0 alone)."""
    low, next_low = values[-1], values[-2]
    if tied_with_smallest(values):
        return 0.0
    return float("inf") if low <= 0 else float((next_low - low) / low)


def _arc_lengths(frames: Sequence[ase.Atoms], what: str) -> np.ndarray:
    """:func:`recorded_arc_lengths`, or an error naming the first frame without one."""
    values = recorded_arc_lengths(frames)
    if values is not None:
        return values
    recorded = [recorded_arc_lengths([atoms]) is not None for atoms in frames]
    raise DegeneracyError(f"{what}, frame {recorded.index(False)}: no finite arc_length")


# ------------------------------------------------------------- the Comment's family

#: Gaussian widths σ (Å) and distance scales c of the Comment's Fig. 1.
COMMENT_SIGMAS = (0.1, 0.2, 0.3, 0.5)
COMMENT_DISTANCES = (0.1, 0.5, 1.0, 1.5)

#: Protocols: the Comment's Euler reference, and the quick adaptive variant.
FULL_PROTOCOL = {"method": "euler", "step": 1e-4, "length": 2.0, "save_every": 0.01}
QUICK_PROTOCOL = {"method": "adaptive", "tol": 1e-6, "length": 2.0, "save_every": 0.01}

#: σ (Å) at which the c = 1 orbit whose mean starts the A0 search is traced.
A0_SIGMA = 0.3

#: CN target of the A0 search: none short of round-off. The search goes on until s_min
#: is at the round-off floor (:func:`~degeneracy.sensitivity.condition_number` is then
#: ``inf``, which meets any finite target), stops decreasing, or runs out of iterations.
A0_CN_TARGET = float(np.finfo(float).max)

#: Most iterations of one refinement of A0 at one σ (each costs 3 Jacobians and the line
#: search's few): from CN 3e12 the round-off floor took 2–5.
A0_REFINE_ITERATIONS = 10

#: Most refinements of A0 (one σ each, the one farthest from round-off first).
A0_REFINE_ROUNDS = 2 * len(COMMENT_SIGMAS)

#: Version of the A0 search, part of its cache key: 3 = :func:`find_singular` descends
#: on s_min/s_1 (A0 moved 9e-6 Å); 2 = refined to round-off at every σ of
#: :data:`COMMENT_SIGMAS` (1: stopped at CN 1e13 at σ = 0.3 Å, CN 3e12 at σ = 0.1 Å).
A0_SEARCH_VERSION = 3


def family_protocol(
    quick: bool = False, *, method: str | None = None, length: float | None = None
) -> dict:
    """The integrator settings of the family's orbits, validated before any work.

    Parameters
    ----------
    quick : bool
        The adaptive integrator (:data:`QUICK_PROTOCOL`) instead of the Comment's Euler
        one (:data:`FULL_PROTOCOL`) when ``method`` is not given.
    method : {"euler", "adaptive"}, optional
        The integrator, with that protocol's settings (Euler: the reference step 1e-4 Å;
        adaptive: tol 1e-6 Å), so that one method and length always make one protocol
        (and one cache entry) whatever ``quick`` says.
    length : float, optional
        Override the arc length (Å).

    Returns
    -------
    dict
        Keyword arguments of :func:`trace_orbit`.
    """
    method = method if method is not None else ("adaptive" if quick else "euler")
    one_of("method", method, ORBIT_METHODS)
    protocol = dict(QUICK_PROTOCOL if method == "adaptive" else FULL_PROTOCOL)
    if length is not None:
        protocol["length"] = positive_float("length", length)
        check_orbit_size(  # as OrbitSettings does, with the advice the family can take
            protocol["length"],
            protocol["save_every"],
            protocol.get("step", FULL_PROTOCOL["step"]),  # Euler's; adaptive: max_step
            method,
            frames_advice="shorten the length (the family's spacing is fixed)",
        )
    try:
        OrbitSettings(**protocol)  # refuses a bad length
    except DegeneracyError as error:  # the family's spacing is fixed: not an option
        every = f"{protocol['save_every']:g} Å"
        raise DegeneracyError(
            str(error).replace(
                f"save_every {every}, the spacing of the saved frames",
                f"{every}, the spacing of the family's frames",
            )
        ) from error
    return protocol


def comment_representation(sigma: float, basis: str = "gto"):
    """The Comment's SOAP: cutoff 2.5 Å (hard), n_max = l_max = 8, width ``sigma``."""
    from .representations import SoapPowerSpectrum

    return SoapPowerSpectrum(sigma=sigma, basis=basis)


def orbit_start(a0: np.ndarray, p0: np.ndarray, c: float) -> np.ndarray:
    r"""Start of the orbit at distance scale ``c``: :math:`A_0 + c\,(P_0 - A_0)`.

    Exactly P0 at c = 1, so that orbit does not depend on A0.
    """
    a0, p0 = np.asarray(a0, dtype=float), np.asarray(p0, dtype=float)
    return p0.copy() if c == 1 else a0 + c * (p0 - a0)


def _orbit_cache_path(start: np.ndarray, sigma: float, basis: str, protocol: dict) -> Path:
    key = cache_key(
        kind="orbit",
        version=_CHECKPOINT_VERSION,
        sigma=sigma,
        basis=basis,
        protocol=protocol,
        start=[float(f"{v:.12e}") for v in np.ravel(start)],
        **_basis_identity(sigma, basis),
    )
    folder = cache_dir() / "orbits"
    folder.mkdir(exist_ok=True)
    return folder / f"orbit-{key}.extxyz"


def cached_orbit(
    start: np.ndarray,
    sigma: float,
    *,
    basis: str = "gto",
    protocol: dict | None = None,
    progress: bool = False,
    info: dict | None = None,
) -> list[ase.Atoms]:
    """Trace (or load from the cache folder) the orbit from neighbour positions ``start``.

    The run checkpoints into the cache folder, so an interrupted call resumes. A damaged
    cache file or checkpoint is discarded with a warning and the orbit traced again.
    """
    protocol = dict(FULL_PROTOCOL if protocol is None else protocol)
    path = _orbit_cache_path(start, sigma, basis, protocol)
    labels = {"sigma": sigma, "basis": basis, **(info or {})}
    checkpoint = path.with_name(path.name + ".checkpoint.npz")

    def traced() -> None:
        def trace() -> None:
            trace_orbit(
                environment_from_neighbors(start),
                comment_representation(sigma, basis),
                checkpoint=checkpoint,
                output=path,
                progress=progress,
                **protocol,
            )

        try:
            trace()
        except CheckpointError as error:  # the cache's own file: discard it, not fatal
            reason = error.problem.removeprefix(f"{checkpoint}: ")
            if reason.startswith("damaged checkpoint (") and reason.endswith(")"):
                reason = reason.removeprefix("damaged checkpoint (")[:-1]  # said once below
            warnings.warn(
                f"{checkpoint}: damaged cache checkpoint ({reason}); "
                "deleted it, tracing the orbit again",
                DegeneracyWarning,
                stacklevel=4,
            )
            with contextlib.suppress(FileNotFoundError):
                checkpoint.unlink()
            trace()

    if not path.exists():
        traced()
    # always the frames as stored (8 decimals), so that a first call and a cached one agree
    try:  # the package's own file, in Å: no units heuristic (its start was warned about)
        frames = read_environments(path, check_bonds=False)
        check_cached_orbit(frames, start, OrbitSettings(**protocol))
    except DegeneracyError as error:  # a damaged cache file is traced again, not fatal
        reason = str(error).removeprefix(f"{path}: ")
        warnings.warn(
            f"{path}: damaged cache file ({reason}); tracing the orbit again",
            DegeneracyWarning,
            stacklevel=2,
        )
        path.unlink(missing_ok=True)  # another process may have found it first
        traced()
        frames = read_environments(path, check_bonds=False)
    for atoms in frames:
        atoms.info.pop("source_frame", None)
        atoms.info.update(labels)
    return frames


def check_cached_orbit(
    frames: Sequence[ase.Atoms], start: np.ndarray, settings: OrbitSettings
) -> None:
    """Refuse a cached orbit that is not the whole trace from ``start``: another number
    of frames than ``settings`` saves (a file cut at a frame boundary still reads), a
    first frame elsewhere than ``start`` (8 decimals), or arc lengths off the spacing.

    :func:`cached_orbit` keeps whole traces only; a file cut short, or another orbit's
    under this name, gave shorter or wrong orbits without a word.
    """
    if len(frames) != settings.n_frames:
        raise DegeneracyError(f"{len(frames)} frames, not the {settings.n_frames} of the trace")
    first = neighbor_positions(frames[0])
    if first.shape != np.shape(start) or not np.allclose(first, start, rtol=0, atol=1e-7):
        raise DegeneracyError("its first frame is not the start of this orbit")
    arcs = np.array([float(f.info.get("arc_length", np.nan)) for f in frames])
    expected = np.arange(settings.n_frames) * settings.save_every
    if not np.allclose(arcs, expected, rtol=0, atol=1e-6):
        raise DegeneracyError(f"arc lengths are not 0, {settings.save_every:g}, ... Å")


def _basis_identity(sigma: float, basis: str) -> dict:
    """``{"basis_identity": ...}`` for a cache key of results computed with the optimal
    basis (:meth:`~degeneracy.representations.SoapPowerSpectrum.basis_identity`: which
    built-in fit, so that a change of its settings, e.g. its number of primitive GTOs, is
    a new entry); ``{}`` for the GTO basis, whose keys stay what they were."""
    identity = comment_representation(sigma, basis).basis_identity()
    return {} if identity is None else {"basis_identity": identity}


def _comment_cns(atoms: ase.Atoms, representations: Mapping[float, Representation]) -> dict:
    """CN of ``atoms`` by σ (``inf`` at round-off), one Jacobian each."""
    r = neighbor_positions(atoms).ravel()
    return {
        sigma: float(CountingJacobian(representation, atoms)(r)[2].cn[0])
        for sigma, representation in representations.items()
    }


def search_a0(
    start: ase.Atoms, *, basis: str = "gto", sigmas: Sequence[float] = COMMENT_SIGMAS
) -> ase.Atoms:
    r"""The singular configuration nearest ``start`` (pull 1), with s_min at round-off at
    every σ of ``sigmas``.

    The zero at A0 is geometric (two neighbour pairs become equal: three equal C–H
    distances, the fourth H at equal angles to them), so it is a zero of the Comment's SOAP
    at every σ, and every σ's s_min can reach its round-off floor there. A search at one σ
    stops when *its* s_min does, which leaves the others short: stopped at CN 1e13 at
    σ = 0.3 Å (the earlier target), A0 had CN 3.0e12, 5.9e12, 1.9e13, 2.9e14 at σ = 0.1,
    0.2, 0.3, 0.5 Å against the Comment's ≈1e14 for every σ. Here
    :func:`~degeneracy.singular.find_singular` (pull 1) runs at σ = :data:`A0_SIGMA` to
    :data:`A0_CN_TARGET` (round-off), then refines at the σ whose CN is lowest (at most
    :data:`A0_REFINE_ITERATIONS` iterations, :data:`A0_REFINE_ROUNDS` rounds) until every
    σ's s_min is at round-off (CN ``inf``) or no longer decreases; last, the σ =
    :data:`A0_SIGMA` search from the point reached gives the result's analysis.

    Parameters
    ----------
    start : ase.Atoms
        Where the search starts (CH4, C first).
    basis : {"gto", "optimal"}
        SOAP radial basis.
    sigmas : sequence of float
        The widths (Å) at which s_min is brought to round-off.

    Returns
    -------
    ase.Atoms
        ``info`` of the last search (:class:`~degeneracy.singular.SingularResult`:
        ``cn`` and ``singular_values`` at σ = :data:`A0_SIGMA`, ``symmetric``, ...), with
        ``distance`` from ``start``, ``iterations`` and ``jacobian_evaluations`` of all the
        searches, plus ``cn_sigmas`` (the σ), ``cn_at_sigmas`` (CN at each, ``inf`` at
        round-off) and ``refinements`` (how many searches at one σ moved it after the
        first).
    """
    sigmas = tuple(dict.fromkeys(float(s) for s in sigmas))
    representations = {
        sigma: comment_representation(sigma, basis) for sigma in dict.fromkeys((A0_SIGMA, *sigmas))
    }
    origin = neighbor_positions(start).ravel()
    evaluations = iterations = 0

    def search(atoms: ase.Atoms, sigma: float, max_iterations: int = 60):
        nonlocal evaluations, iterations
        result = find_singular(
            atoms,
            representations[sigma],
            pull=1.0,
            cn_target=A0_CN_TARGET,
            max_iterations=max_iterations,
            check_near_symmetry=sigma == A0_SIGMA,
        )
        evaluations += result.jacobian_evaluations
        iterations += result.iterations
        return result

    atoms = search(start, A0_SIGMA).atoms
    refined: list[float] = []
    stalled: set[float] = set()
    for _ in range(A0_REFINE_ROUNDS):
        cns = _comment_cns(atoms, {s: representations[s] for s in sigmas})
        evaluations += len(cns)
        pending = [s for s in sigmas if np.isfinite(cns[s]) and s not in stalled]
        if not pending:
            break
        sigma = min(pending, key=cns.__getitem__)
        result = search(atoms, sigma, A0_REFINE_ITERATIONS)
        if result.iterations == 0:  # s_min no longer decreases at this σ
            stalled.add(sigma)
            continue
        atoms = result.atoms
        refined.append(sigma)
    if refined:  # the σ = A0_SIGMA analysis of the point reached
        atoms = search(atoms, A0_SIGMA, A0_REFINE_ITERATIONS).atoms
    cns = _comment_cns(atoms, {s: representations[s] for s in sigmas})
    evaluations += len(cns)
    atoms.info.update(
        {
            "distance": float(np.linalg.norm(neighbor_positions(atoms).ravel() - origin)),
            "iterations": iterations,
            "jacobian_evaluations": evaluations,
            "cn_sigmas": np.array(sigmas),
            "cn_at_sigmas": np.array([cns[s] for s in sigmas]),
            "refinements": len(refined),
        }
    )
    return atoms


def comment_a0(
    *, basis: str = "gto", quick: bool = False, method: str | None = None, progress: bool = False
) -> ase.Atoms:
    """The singular configuration A0 as the Comment defined it, found by our search.

    Trace the c = 1 orbit from P0 (built-in ``pg-start``) at σ = 0.3 Å over the full
    2 Å, take the mean of its frames, and search from there with ``pull=1`` (the nearest
    singular configuration) until s_min is at round-off at every σ of the family
    (:func:`search_a0`). Cached in the cache folder. ``quick`` and ``method`` select the
    integrator (:func:`family_protocol`).

    Parameters
    ----------
    basis : {"gto", "optimal"}
        SOAP radial basis.
    quick : bool
        The adaptive integrator instead of the Comment's Euler protocol.
    method : {"euler", "adaptive"}, optional
        The integrator, overriding ``quick``.
    progress : bool
        Show a progress bar while the orbit is traced.

    Returns
    -------
    ase.Atoms
        A0 as CH4 (C at the origin); ``info`` holds the ``info`` of the search's result
        (:func:`search_a0`: ``cn``, ``singular_values`` at σ = 0.3 Å, ``cn_sigmas`` and
        ``cn_at_sigmas``, the CN at every σ of the family, ...) plus ``sigma`` (0.3),
        ``basis`` and ``search_start``.

    Raises
    ------
    DegeneracyError
        When ``method`` or ``basis`` is unknown, or the cache folder cannot be created.
    """
    quick = true_or_false("quick", quick)
    progress = true_or_false("progress", progress)
    p0 = neighbor_positions(builtin_environment("pg-start"))
    protocol = family_protocol(quick, method=method)
    key = cache_key(
        kind="comment-a0",
        basis=basis,
        protocol=protocol,
        sigma=A0_SIGMA,
        pull=1.0,
        version=A0_SEARCH_VERSION,
        refine_sigmas=list(COMMENT_SIGMAS),
        **_basis_identity(A0_SIGMA, basis),
    )
    # .npz, not extxyz: extxyz keeps 8 decimals, and s_min grows linearly off the zero
    path = cache_dir() / f"comment-a0-{key}.npz"

    def search() -> None:
        frames = cached_orbit(p0, A0_SIGMA, basis=basis, protocol=protocol, progress=progress)
        mean = neighbor_positions(frames).mean(axis=0)
        found = search_a0(environment_from_neighbors(mean), basis=basis)
        info = {k: _jsonable(v) for k, v in found.info.items()}
        info.update({"sigma": A0_SIGMA, "basis": basis, "search_start": "orbit mean"})
        with atomic_open(path, "wb") as handle:
            np.savez(handle, neighbors=neighbor_positions(found), info=np.array(json.dumps(info)))

    def load() -> tuple[np.ndarray, dict]:
        with np.load(path, allow_pickle=False) as data:
            neighbors, info = data["neighbors"], json.loads(str(data["info"]))
        if (
            np.shape(neighbors) != (4, 3)
            or not np.all(np.isfinite(neighbors))
            or not isinstance(info, dict)
            or "singular_values" not in info
        ):
            raise ValueError("not a cached A0")
        return neighbors, info

    if not path.exists():
        search()
    try:
        neighbors, info = load()
    except (*NPZ_READ_ERRORS, TypeError, AttributeError) as error:  # JSONDecodeError: ValueError
        warnings.warn(
            f"{path}: damaged cache file ({error}); searching A0 again",
            DegeneracyWarning,
            stacklevel=2,
        )
        path.unlink(missing_ok=True)  # another process may have found it first
        search()
        neighbors, info = load()
    info["singular_values"] = np.array(info["singular_values"])
    return environment_from_neighbors(neighbors, info=info)


def comment_orbit(
    sigma: float, c: float, *, basis: str = "gto", quick: bool = False
) -> list[ase.Atoms]:
    r"""The Comment's orbit at width ``sigma`` starting at :math:`A_0 + c\,(P_0 - A_0)`.

    A0 comes from :func:`comment_a0` (same ``basis`` and ``quick``; not searched at
    c = 1, which starts at P0), P0 is the built-in ``pg-start``. Full protocol: Euler,
    step 1e-4 Å, 2 Å, a frame every 0.01 Å (201 frames); ``quick``: the adaptive
    integrator (tol 1e-6 Å) over the same 2 Å and frames.
    Both are cached on disk (:func:`degeneracy.files.cache_dir`).

    Parameters
    ----------
    sigma : float
        Gaussian width (Å) of the Comment's SOAP (cutoff 2.5 Å, n_max = l_max = 8).
    c : float
        Distance scale of the start (1: exactly P0).
    basis : {"gto", "optimal"}
        SOAP radial basis.
    quick : bool
        Adaptive integrator instead of the Comment's Euler protocol (for A0 too).

    Returns
    -------
    list of ase.Atoms
        The 201 frames as stored in the cache (8 decimals), at arc lengths 0, 0.01, ...,
        2 Å; ``info`` holds what :func:`trace_orbit` records plus ``sigma``, ``basis``
        and ``c``.

    Raises
    ------
    DegeneracyError
        When ``sigma`` or ``c`` is not a positive number, ``sigma`` is outside SOAP's
        range, ``basis`` is unknown, the cache folder cannot be created, or the start is
        refused (e.g. a neighbour at or beyond the cutoff).
    """
    quick = true_or_false("quick", quick)
    sigma = positive_float("sigma", sigma)
    c = positive_float("c", c)
    p0 = neighbor_positions(builtin_environment("pg-start"))
    # c = 1 starts at P0 exactly: no A0 search (minutes, when it is not cached)
    a0 = p0 if c == 1 else neighbor_positions(comment_a0(basis=basis, quick=quick))
    start = orbit_start(a0, p0, c)
    return cached_orbit(start, sigma, basis=basis, protocol=family_protocol(quick), info={"c": c})


@dataclass
class FamilyMember:
    """One orbit of the family and its summary."""

    sigma: float
    c: float
    path: Path
    frames: list[ase.Atoms]
    jacobian_evaluations: int
    median_cn: float
    deviation: float | None = None
    reference_median_cn: float | None = None
    shape_distance: float | None = None
    start_distance: float | None = None
    #: this orbit's median CN over the arc lengths the published one covers, where it
    #: ends before this one (:func:`_family_member`); None where it covers all of it
    covered_median_cn: float | None = None
    #: the arc length (Å) where the published orbit ends, where it ends before this one:
    #: the deviation, shape distance and CN ratio cover this part only; None where it
    #: covers all of it
    covered_arc_length: float | None = None

    @property
    def cn_ratio(self) -> float | None:
        """This orbit's median CN over the published one's, over the same arc lengths."""
        if self.reference_median_cn is None:
            return None
        ours = self.median_cn if self.covered_median_cn is None else self.covered_median_cn
        return ours / self.reference_median_cn

    def row(self) -> dict:
        """The member's summary row; ``covered_arc_length`` and ``covered_median_cn`` say
        what a comparison with a published orbit that ends early covered (both None where
        it covers the whole orbit), so that ``cn_ratio`` can be read against them."""
        return {
            "sigma": self.sigma,
            "c": self.c,
            "frames": len(self.frames),
            "jacobian_evaluations": self.jacobian_evaluations,
            "median_cn": self.median_cn,
            "reference_median_cn": self.reference_median_cn,
            "cn_ratio": self.cn_ratio,
            "deviation": self.deviation,
            "shape_distance": self.shape_distance,
            "start_distance": self.start_distance,
            "covered_arc_length": self.covered_arc_length,
            "covered_median_cn": self.covered_median_cn,
            **_gap_row(self.frames),
            "file": self.path.name,
        }


def _gap_row(frames: Sequence[ase.Atoms]) -> dict:
    """``smallest_gap`` and ``smallest_gap_arc`` of :func:`smallest_gap` (None without
    singular values)."""
    gap = smallest_gap(frames)
    return {
        "smallest_gap": None if gap is None else gap[0],
        "smallest_gap_arc": None if gap is None else gap[1],
    }


def family_file_name(sigma: float, c: float) -> str:
    """File name of one family member, as in the published data."""
    return f"orbit_sigma{sigma}_c{c}.extxyz"


class _Terminated(BaseException):
    """SIGTERM in a pool worker (:func:`_stop_pool`), raised so that ``finally`` blocks
    (the atomic writers' removal of their temporary files) run before it exits."""


def _terminated(signum, frame) -> None:
    # asked for by the main process: the exception may surface where nobody catches it
    # (a __del__, a featomic callback), each printing a traceback about it
    silence_stderr()
    raise _Terminated


#: Set in pool workers (:func:`_worker_init`), which turn SIGTERM into :class:`_Terminated`.
_IN_POOL_WORKER = False


def _family_worker(task: dict) -> Any:
    """Trace one family member (runs in a worker process, or in the main one).

    In a pool worker it returns the member's summary and the warnings raised meanwhile
    (message, category), for the parent to warn again: a worker's own warnings would be
    printed in Python's two-line format, not the command's one line.
    """
    if not _IN_POOL_WORKER:
        return _trace_member(task)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _trace_member(task)
        return result, [(str(item.message), item.category) for item in caught]
    except _Terminated:
        os._exit(128 + signal.SIGTERM)  # the finally blocks have run; take no next task
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _trace_member(task: dict) -> tuple[float, float, int]:
    frames = cached_orbit(
        np.array(task["start"]),
        task["sigma"],
        basis=task["basis"],
        protocol=task["protocol"],
        info={"c": task["c"]},
    )
    write_orbit(task["path"], frames)
    return task["sigma"], task["c"], int(frames[-1].info.get("jacobian_evaluations", 0))


def _worker_init(parent: int | None = None) -> None:
    """Set up a pool worker of the process ``parent`` (its pid; :func:`exit_with_parent`)."""
    global _IN_POOL_WORKER
    _IN_POOL_WORKER = True
    # one featomic and one BLAS thread per worker: the workers already use the cores
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    use_one_blas_thread()
    # Ctrl-C reaches the whole process group: the parent stops the pool (_stop_pool);
    # a worker catching it would only fail its orbit and start the next one
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing semaphore: one left by a terminated worker
    # makes the resource tracker warn about it at exit; a worker needs only a thread lock
    tqdm.set_lock(threading.RLock())
    exit_with_parent(parent)


#: Seconds between a pool worker's checks that the process that started it is alive.
PARENT_CHECK_SECONDS = 1.0


def exit_with_parent(
    parent: int | None = None, interval: float = PARENT_CHECK_SECONDS
) -> threading.Thread:
    """End this process within ``interval`` seconds of the death of ``parent`` (the pid
    of the process that started it; default its parent now).

    A spawn worker holds both ends of its own pipes, so a parent killed with SIGKILL
    (which cleans nothing up) left its orbit workers running for good, tracing into a
    folder whose lock had gone with the parent (helper-157). The orphan is re-parented
    (to init or a subreaper): a daemon thread polls :func:`os.getppid` and exits the
    process at once when it changes. Polling, not Linux's ``PR_SET_PDEATHSIG``, which
    fires when the *thread* that started the worker ends, not its process. The starting
    process gives its pid (a parent that died while the worker was importing would
    otherwise be missed: the worker would watch its new parent). An orbit's checkpoint
    is written atomically, so a worker ended mid-step loses that step only.
    """
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # the parent is gone: no one reads this worker's results

    watcher = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    watcher.start()
    return watcher


def published_file_name(sigma: float, c: float) -> str:
    """File name of one orbit of the Comment's published data (``--reference``)."""
    return f"comment-orbit_sigma{sigma}_c{c}.extxyz"


def _published_orbits(
    reference: str | os.PathLike | None, sigmas: Sequence[float], distances: Sequence[float]
) -> dict[tuple[float, float], list[ase.Atoms]]:
    """The published orbits in folder ``reference`` by (σ, c), read and checked before
    any work.

    A missing folder, or one without any of the files, is refused; a single missing file
    is warned about (its member gets no deviation and no CN ratio).
    """
    if reference is None:
        return {}
    paths, found = _published_paths(reference, sigmas, distances)
    for path in sorted(set(paths.values()) - set(found.values())):
        warnings.warn(
            f"{path}: published orbit missing; no deviation or CN ratio for it",
            DegeneracyWarning,
            stacklevel=3,
        )
    return {key: _published_orbit(path) for key, path in found.items()}


def _published_paths(
    reference: str | os.PathLike, sigmas: Sequence[float], distances: Sequence[float]
) -> tuple[dict[tuple[float, float], Path], dict[tuple[float, float], Path]]:
    """Every published orbit's path in folder ``reference`` by (σ, c), and those present;
    a missing folder, or one without any of the files, is refused."""
    folder = Path(reference)
    if not folder.is_dir():
        raise DegeneracyError(f"{folder}: reference folder does not exist or is not a folder")
    paths = {(s, c): folder / published_file_name(s, c) for s in sigmas for c in distances}
    found = {key: path for key, path in paths.items() if path.is_file()}
    if not found:
        raise DegeneracyError(
            f"{folder}: no published orbit files ({published_file_name('S', 'C')})"
        )
    return paths, found


def published_reference_digest(reference: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of each file of the Comment's family in folder ``reference`` that is there,
    and of its README.md (which holds the published A0), by file name.

    The identity of what a comparison with the published data read: a result cached
    under it is redone when a file is added, removed or changed, not only when the
    folder's name changes. Refused like :func:`run_family`'s ``reference`` (a missing
    folder, one with none of the orbit files, or a damaged one: each file is read and
    checked as the comparison reads it) — before any work.
    """
    _, found = _published_paths(reference, COMMENT_SIGMAS, COMMENT_DISTANCES)
    for path in found.values():
        _published_orbit(path)  # a damaged file refused now, not after the orbits
    readme = Path(reference) / "README.md"
    files = sorted([*found.values(), *([readme] if readme.is_file() else [])])
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def _published_orbit(path: Path) -> list[ase.Atoms]:
    """The frames of a published orbit, refused without what the comparison reads:
    ``arc_length`` in every frame (the deviation interpolates in it) and a condition
    number (``cn`` or ``singular_values``) in some frame."""
    frames = read_environments(path)
    for index, atoms in enumerate(frames):
        if "arc_length" not in atoms.info:
            raise DegeneracyError(f"{path}, frame {index}: no arc_length (published orbit)")
    if not any("cn" in a.info or "singular_values" in a.info for a in frames):
        raise DegeneracyError(
            f"{path}: no frame with a condition number (info cn or singular_values)"
        )
    previous = None
    for index, atoms in enumerate(frames):
        where = f"{path}, frame {index}"
        try:
            arc = float(atoms.info["arc_length"])
        except (TypeError, ValueError):
            raise DegeneracyError(f"{where}: arc_length is not a number") from None
        if not np.isfinite(arc):
            raise DegeneracyError(f"{where}: arc_length {arc} is not finite")
        if previous is not None and arc <= previous:
            raise DegeneracyError(
                f"{where}: arc_length {arc} does not increase (previous frame: {previous})"
            )
        previous = arc
        for name in ("singular_values", "cn"):
            if name in atoms.info:
                try:
                    values = np.asarray(atoms.info[name], dtype=float)
                except (TypeError, ValueError):
                    raise DegeneracyError(f"{where}: {name} are not numbers") from None
                if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
                    raise DegeneracyError(f"{where}: {name} must be finite and positive")
    return frames


def published_median_cn(
    frames: Sequence[ase.Atoms], published: Sequence[ase.Atoms]
) -> float | None:
    """Median CN of the ``published`` orbit at the arc lengths of ``frames``.

    The published CN (log-linear in arc length between its frames) is read at each of
    ``frames``' arc lengths past the start that the published orbit covers, so that
    both medians are over the same points of the path. Taking the published frames up
    to the same arc length instead counted P&G's first frame, 1e-4 Å from the start
    where the CN is still that of the start, against ours 0.01 Å out: over 0.05 Å the
    ratio of two orbits 3e-5 Å apart came out 0.72. None if no such arc length.
    """
    ours = np.array([float(a.info["arc_length"]) for a in frames])
    ours = ours[ours > 0]
    arcs, cns = _arc_cn(published)
    if not arcs.size:
        return None
    inside = ours[(ours >= arcs[0]) & (ours <= arcs[-1])]
    if not inside.size:
        return None
    return float(np.median(np.exp(np.interp(inside, arcs, np.log(cns)))))


def _arc_cn(frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
    """Arc lengths and CNs (:func:`frame_cn`) of the frames past the start that have a
    CN; a frame without ``arc_length`` counts as past the start."""
    rows = [
        (arc, cn)
        for atoms in frames
        if (arc := float(atoms.info.get("arc_length", 1.0))) > 0
        and (cn := frame_cn(atoms)) is not None
    ]
    table = np.array(rows, dtype=float).reshape(-1, 2)
    return table[:, 0], table[:, 1]


def _family_values(name: str, values: Any, check: Callable[[str, Any], float]) -> tuple[float, ...]:
    """The family's σ or c values (``name``), each ``check``-ed and named by its place
    (``sigmas[0] must be a positive number, got -1.0``), as floats to 10 digits (``c1.0``
    in the file names, as published, for a ``1``; ``0.3`` for 0.30000000000000004);
    refused when empty or with a value twice (two members would write one file)."""
    if (
        isinstance(values, str | bytes | Mapping)
        or not isinstance(values, Sequence | np.ndarray)
        or (isinstance(values, np.ndarray) and values.ndim != 1)
    ):
        raise DegeneracyError(f"{name} must be a sequence of numbers, got {values!r}")
    # to 10 digits: np.arange(0.1, 0.4, 0.1)'s 0.30000000000000004 is the published 0.3
    checked = tuple(float(f"{check(f'{name}[{i}]', value):.10g}") for i, value in enumerate(values))
    if not checked:
        raise DegeneracyError(f"{name} is empty: give at least one value")
    repeated = sorted({value for value in checked if checked.count(value) > 1})
    if repeated:
        raise DegeneracyError(f"{name} holds {repeated[0]:g} twice: give each value once")
    return checked


def _check_family_starts(a0: np.ndarray, p0: np.ndarray, distances: Sequence[float]) -> None:
    """Refuse a family whose start A0 + c (P0 − A0) at some c is not a valid environment
    (an H past the cutoff, two atoms too close), naming c."""
    for c in distances:
        validate_environment(
            environment_from_neighbors(orbit_start(a0, p0, c)),
            where=f"orbit start A0 + c (P0 − A0) at c = {c}",
        )


def _family_sigma(name: str, value: Any) -> float:
    """A family member's σ, as the Comment's SOAP (:func:`comment_representation`) takes it."""
    from .representations.base import density_width

    return density_width(value, cutoff=DEFAULT_CUTOFF, name=name, cutoff_name=None)


def _given_a0(a0: Any) -> ase.Atoms:
    """A given A0's environment (neighbour positions, Å), its errors naming ``a0``."""
    try:
        atoms = environment_from_neighbors(a0)
    except DegeneracyError as error:
        raise DegeneracyError(f"a0: {error}") from error
    atoms.info["search_start"] = "given"
    return atoms


def _family_a0(
    a0: ase.Atoms | None, *, basis: str, quick: bool, method: str | None, progress: bool
) -> tuple[ase.Atoms, dict | None]:
    """A0 (given, as its environment, or :func:`comment_a0` with the family's integrator)
    and its protocol (None for a given one)."""
    if a0 is not None:
        return a0, None
    atoms = comment_a0(basis=basis, quick=quick, method=method, progress=progress)
    return atoms, family_protocol(quick, method=method)


def warn_unless_singular_a0(atoms: ase.Atoms, basis: str) -> None:
    """Warn (:class:`DegeneracyWarning`) when a given A0 is not what the family is about:
    a spurious singular configuration of the Comment's SOAP (σ = 0.3 Å), i.e. unless its
    verdict is ``"spurious"``. A (near-)symmetric one has zeros forced by symmetry; a
    ``"regular"`` one has no zero (the published A0, at six decimals: CN ~1e7)."""
    (analysis,) = analyse_frames([atoms], comment_representation(A0_SIGMA, basis))
    if analysis.verdict == "spurious":
        return
    cn = f"{analysis.cn:.3g}"  # "inf" at round-off
    if analysis.verdict in ("symmetry", "near-symmetry"):
        problem = (
            f"{analysis.verdict} (residual {analysis.symmetry_residual:.2g} Å): its zeros "
            "are forced by symmetry, not the Comment's spurious zero"
        )
    else:
        problem = (
            f"{analysis.verdict}, not singular (s_min/s1 not below {ZERO_RTOL:g}; the "
            "published A0: CN ~1e7); its orbits start from an ordinary configuration"
        )
    warnings.warn(
        f"given A0: CN {cn} with the σ = {A0_SIGMA} Å SOAP, {problem}",
        DegeneracyWarning,
        stacklevel=3,
    )


def _family_a0_source(a0: np.ndarray | None, source: Mapping[str, Any] | None) -> dict:
    """``summary.json``'s ``a0_source``: ``source`` (checked before any work: only with a
    given ``a0``, a mapping with string keys that is plain JSON), else where A0 comes
    from — ``{"array": ...}`` for a given ``a0``, ``{"search": "comment_a0"}``."""
    if source is None:
        return {"search": "comment_a0"} if a0 is None else {"array": "run_family(a0=...)"}
    if a0 is None:
        raise DegeneracyError("a0_source describes a given A0: give a0 as well")
    if not isinstance(source, Mapping) or not all(isinstance(k, str) for k in source):
        raise DegeneracyError(
            f"a0_source must be a mapping with string keys, not {type(source).__name__}"
        )
    try:
        return json.loads(json_text(dict(source)))
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"a0_source is not plain JSON data: {error}") from None


def _run_tasks(tasks: list[dict], workers: int, progress: bool) -> None:
    """Run :func:`_family_worker` on every task, in a spawn pool if ``workers > 1``.

    Interrupted (Ctrl-C, a failed orbit), it removes the temporary files an atomic
    writer of a member's file may have left (a worker killed mid-write).
    """
    bar = tqdm(total=len(tasks), desc="family", unit="orbit", disable=not progress)
    try:
        if workers == 1:
            for task in tasks:
                _family_worker(task)
                bar.update()
        else:
            import multiprocessing

            context = multiprocessing.get_context("spawn")  # featomic's threads and fork
            pool = ProcessPoolExecutor(
                workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
            )
            try:
                with sigint_blocked():  # map() spawns the workers: not one sees Ctrl-C
                    results = pool.map(_family_worker, tasks)
                for _, caught in results:
                    for message, category in caught:
                        warnings.warn(message, category, stacklevel=2)
                    bar.update()
            except BaseException:  # Ctrl-C or a failed orbit: stop now, not after the queue
                _stop_pool(pool)
                raise
            pool.shutdown()
    except BaseException:
        _remove_partial_files(tasks)
        raise
    bar.close()


def _remove_partial_files(tasks: list[dict]) -> None:
    """Remove the temporary files of :func:`degeneracy.files.atomic_path`
    (``.{name}.XXXX.part``) next to each task's member file."""
    for task in tasks:
        path = Path(task["path"])
        for partial in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
            with contextlib.suppress(OSError):
                partial.unlink()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued tasks and terminate the workers of ``pool``.

    ``shutdown(cancel_futures=True)`` cancels only tasks not yet handed to a worker and
    then waits for the running ones, each a whole orbit (minutes). The workers ignore
    SIGINT (:func:`_worker_init`) and checkpoint every step atomically, so terminating
    them loses at most the current step. concurrent.futures has no public way to stop a
    running task, hence its process table.
    """
    processes = list(getattr(pool, "_processes", {}).values())
    previous_hook = threading.excepthook
    threading.excepthook = _without_cancelled_future_errors(previous_hook)
    try:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        for process in processes:  # stuck in a long native call: SIGTERM waits for it
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
        pool.shutdown(wait=True)  # the pool's queues and locks go with its manager thread
    finally:
        threading.excepthook = previous_hook


def _without_cancelled_future_errors(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``threading.excepthook`` ``hook`` but for :class:`~concurrent.futures.InvalidStateError`.

    Workers terminated right after ``shutdown(cancel_futures=True)`` leave the pool
    broken, and the pool's manager thread then sets an exception on every pending
    future, including those just cancelled, which raises InvalidStateError in that
    thread (Python 3.11's ``terminate_broken``): a traceback printed after "interrupted"
    about futures nobody waits for.
    """

    def quiet(args: Any) -> Any:
        if isinstance(args.exc_value, InvalidStateError):
            return None
        return hook(args)

    return quiet


def _family_member(task: dict, published: list[ase.Atoms] | None) -> FamilyMember:
    """The summary of one traced member, compared with its ``published`` orbit if given."""
    frames = read_environments(task["path"], check_bonds=False)  # written here, in Å
    member = FamilyMember(
        sigma=task["sigma"],
        c=task["c"],
        path=Path(task["path"]),
        frames=frames,
        jacobian_evaluations=int(frames[-1].info.get("jacobian_evaluations", 0)),
        median_cn=median_cn(frames),
    )
    if published is not None:
        member.deviation = orbit_deviation(frames, published)
        member.shape_distance = orbit_shape_distance(frames, published)
        # the first frames (arc length 0): (1 − c)·|A0 − A0_published| for a start off A0
        first = neighbor_positions([frames[0], published[0]]).reshape(2, -1)
        member.start_distance = float(np.linalg.norm(first[0] - first[1]))
        member.reference_median_cn = published_median_cn(frames, published)
        _compare_covered_part(member, published)
    return member


#: Least share of an orbit's arc length its published counterpart must cover for the two
#: to be compared whole (the published files end one frame early, at 1.99 of 2 Å).
PUBLISHED_COVERAGE = 0.95


def _compare_covered_part(member: FamilyMember, published: Sequence[ase.Atoms]) -> None:
    """Where the ``published`` orbit ends before ``member``'s (a shorter or truncated
    file), warn that the comparison covers that part only, and take this orbit's median
    CN over it for the ratio: over the whole orbit against the published median over
    0.48 Å of a truncated file, the ratio came out 0.82 instead of 0.94."""
    ours, cns = _arc_cn(member.frames)
    end = max(float(a.info["arc_length"]) for a in published)
    # the published files end a frame early (1.99 of 2 Å): less than 95 % is short
    if not ours.size or end >= PUBLISHED_COVERAGE * ours[-1]:
        return
    warnings.warn(
        f"σ {member.sigma:g}, c {member.c:g}: the published orbit ends at arc length "
        f"{end:.4g} Å, this one at {ours[-1]:.4g} Å: the deviation and the CN ratio "
        "compare that part only",
        DegeneracyWarning,
        stacklevel=3,
    )
    covered = cns[ours <= end + 1e-9]
    member.covered_arc_length = end
    member.covered_median_cn = float(np.median(covered)) if covered.size else None


#: Most worker processes :func:`run_family` (``degeneracy family --workers``) and
#: ``reproduce`` accept: the family has 16 orbits, so more never help (and a huge count
#: overflowed the process pool with a traceback).
MAX_WORKERS = 64

#: The files a family run writes into its folder besides the members' (``degeneracy
#: family`` adds Fig. 1); removed from an existing folder before a new run writes.
FAMILY_OUTPUTS = (
    "summary.json",
    "a0.extxyz",
    "fig1a.png",
    "fig1a.pdf",
    "fig1b.png",
    "fig1b.pdf",
)


def check_workers(workers: Any) -> int:
    """``workers`` as an int in 1..:data:`MAX_WORKERS`, else DegeneracyError."""
    return bounded_int("workers", workers, minimum=1, maximum=MAX_WORKERS)


def family_output_names(
    sigmas: Sequence[float] = COMMENT_SIGMAS, distances: Sequence[float] = COMMENT_DISTANCES
) -> list[str]:
    """The files a family run writes in its folder, and removes there first as a previous
    run's: :data:`FAMILY_OUTPUTS` and the members' files, the Comment's and those of
    ``sigmas`` × ``distances``."""
    names = list(FAMILY_OUTPUTS)
    names += [
        family_file_name(s, c)
        for s in dict.fromkeys([*COMMENT_SIGMAS, *sigmas])
        for c in dict.fromkeys([*COMMENT_DISTANCES, *distances])
    ]
    return names


def _clear_family_folder(output: Path, sigmas, distances) -> None:
    """Remove a previous run's results (:func:`family_output_names`, by those names
    only) so that the folder never mixes two runs' results, and an interrupted run never
    looks finished (summary.json is removed first)."""
    for name in family_output_names(sigmas, distances):
        path = output / name
        if path.is_file() or path.is_symlink():
            try:
                path.unlink()
            except OSError as error:
                raise DegeneracyError(
                    f"{path}: cannot remove the previous run's file ({error.strerror or error})"
                ) from error


def run_family(
    output: str | os.PathLike,
    *,
    basis: str = "gto",
    quick: bool = False,
    method: str | None = None,
    length: float | None = None,
    workers: int = 2,
    a0: np.ndarray | None = None,
    a0_source: Mapping[str, Any] | None = None,
    reference: str | os.PathLike | None = None,
    sigmas: Sequence[float] = COMMENT_SIGMAS,
    distances: Sequence[float] = COMMENT_DISTANCES,
    progress: bool = False,
    before_summary: Callable[[list[FamilyMember]], Any] | None = None,
) -> list[FamilyMember]:
    """Trace the Comment's orbit family in parallel and save it in ``output``.

    Writes ``a0.extxyz`` (the singular configuration used), one
    ``orbit_sigma{σ}_c{c}.extxyz`` per member and ``summary.json`` (with the
    ``protocol`` of the members, the ``a0_protocol`` of A0's orbit and the
    ``a0_source``). Orbits are cached and checkpointed (:func:`cached_orbit`), so an
    interrupted family resumes. ``summary.json`` names the members' files relative to
    ``output`` (``orbits[i]["file"]``, a bare file name) and records no path of the
    results, so the folder can be moved or copied whole.

    An existing ``output`` folder is reused, but first the previous run's results are
    removed — ``summary.json``, ``a0.extxyz``, the members' files and Fig. 1
    (:data:`FAMILY_OUTPUTS`), by those names only; other files are left alone — so the
    folder never mixes results of different settings, and a folder without
    ``summary.json`` is an unfinished run.

    Parameters
    ----------
    output : path
        Folder for the results (created if missing; its parent must exist).
    basis : {"gto", "optimal"}
        SOAP radial basis.
    quick : bool
        Adaptive integrator instead of the Comment's Euler protocol.
    method : {"euler", "adaptive"}, optional
        Override the integrator, of the members and of A0's orbit alike.
    length : float, optional
        Override the members' arc length (Å); A0's orbit keeps its 2 Å.
    workers : int
        Parallel worker processes, 1 to :data:`MAX_WORKERS` (64).
    a0 : array (4, 3), optional
        Use this A0 instead of :func:`comment_a0`.
    a0_source : mapping, optional
        Where the given ``a0`` came from, recorded as ``summary.json``'s ``a0_source``
        (``degeneracy family --a0 FILE``: ``{"file": FILE as given, "frame": 0,
        "units": ...}``); only with ``a0``. Without it a given ``a0`` is recorded as
        ``{"array": "run_family(a0=...)"}``, a searched one as ``{"search":
        "comment_a0"}`` (its settings are ``a0_protocol`` and ``a0_info``).
    reference : path, optional
        Folder with the published ``comment-orbit_sigma{σ}_c{c}.extxyz``: adds the
        deviation at equal arc length, the shape distance (:func:`orbit_shape_distance`),
        the distance of the first frames and the median-CN ratio (over the shared arc
        length) to the summary. Every row has the smallest relative gap between the two
        smallest singular values along the orbit (:func:`smallest_gap`).
    sigmas, distances : sequences of float
        The family's σ (Å, as SOAP takes it with the 2.5 Å cutoff) and c values (> 0),
        each once; taken to 10 significant digits (``np.arange``'s 0.30000000000000004
        is 0.3, the published σ). Checked, with ``a0`` and the starts it gives, before
        the folder is touched.
    progress : bool
        Show progress bars.
    before_summary : callable, optional
        Called with the members once they are traced, before ``summary.json`` is
        written: what it writes (``degeneracy family``'s Fig. 1) is then part of a
        finished run, and an interrupted one has no ``summary.json``.

    Returns
    -------
    list of FamilyMember
        One per (σ, c), σ-major.
    """
    quick = true_or_false("quick", quick)
    progress = true_or_false("progress", progress)
    output = output_folder(output)
    before_summary = optional_callable("before_summary", before_summary)
    one_of("basis", basis, ("gto", "optimal"))
    # every argument checked before the folder is cleared of the previous run's results
    sigmas = _family_values("sigmas", sigmas, _family_sigma)
    distances = _family_values("distances", distances, positive_float)
    given_a0 = None if a0 is None else _given_a0(a0)
    p0 = neighbor_positions(builtin_environment("pg-start"))
    if given_a0 is not None:  # a given A0 can put a start astray: refused before any work
        _check_family_starts(neighbor_positions(given_a0), p0, distances)
    a0_source = _family_a0_source(a0, a0_source)
    protocol = family_protocol(quick, method=method, length=length)
    published = _published_orbits(reference, sigmas, distances)
    workers = check_workers(workers)
    output.mkdir(exist_ok=True)
    # one run at a time: a second one cleared the first's results as it wrote them
    with exclusive_output(output, "family"):
        _clear_family_folder(output, sigmas, distances)
        if basis == "optimal":  # fit (or load) the bases once, before the workers need them
            for sigma in sigmas:
                _ = comment_representation(sigma, basis).optimal_basis
        a0_atoms, a0_protocol = _family_a0(
            given_a0, basis=basis, quick=quick, method=method, progress=progress
        )
        a0 = neighbor_positions(a0_atoms)
        if given_a0 is None:  # searched: checked before any orbit is traced
            _check_family_starts(a0, p0, distances)
        _write_frames(output / "a0.extxyz", [a0_atoms])
        if a0_protocol is None:  # given, not searched
            warn_unless_singular_a0(a0_atoms, basis)
        tasks = [
            {
                "sigma": sigma,
                "c": c,
                "basis": basis,
                "protocol": protocol,
                "start": orbit_start(a0, p0, c).tolist(),
                "path": str(output / family_file_name(sigma, c)),
            }
            for sigma in sigmas
            for c in distances
        ]
        _run_tasks(tasks, workers, progress)
        members = [
            _family_member(task, published.get((task["sigma"], task["c"]))) for task in tasks
        ]
        summary = {
            "basis": basis,
            "protocol": protocol,
            "a0_protocol": a0_protocol,
            "a0_source": a0_source,
            "a0": a0.tolist(),
            "a0_info": dict(a0_atoms.info),  # write_json makes it plain JSON
            "orbits": [m.row() for m in members],
        }
        if before_summary is not None:
            before_summary(members)
        write_json(output / "summary.json", summary)
        return members


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value
