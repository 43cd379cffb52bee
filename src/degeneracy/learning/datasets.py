r"""Data sets for the learnability experiment: random CH4, the E4 target, cached features.

Parsaeifard & Goedecker's (P&G, J. Chem. Phys. 156, 034302, 2022) training and validation
structures are snapshots of a hot molecular-dynamics run of CH4: C–H 0.90–1.47 Å, H–C–H
47–175°, but concentrated near the tetrahedron (four-body target E4 = 0.667–1.837,
validation standard deviation 0.117). Those files are not ours to ship, so we generate
look-alikes:

* :class:`ThermalMethaneSampler` (training and validation, the default): harmonic "thermal"
  Gaussian displacements of the H atoms of a tetrahedron, stiffer along the bonds than across
  them, randomly oriented, kept only inside P&G's ranges. Calibrated on E4: mean 0.79,
  standard deviation 0.12, like P&G's data.
* :class:`TiltedMethaneSampler` (the *independent* test set): a different generator over the
  same ranges: bond lengths uniform, bond directions tilted away from the tetrahedron by
  exact rotations with uniformly distributed tilt angles.
* :class:`TrajectoryMethaneSampler` (``"trajectory"``): the thermal ensemble as Langevin
  trajectories, split at random into training and validation frames the way P&G's
  molecular-dynamics frames were (neighbouring frames are correlated, so validation
  becomes partly interpolation).
* :class:`degeneracy.structures.MethaneSampler` (``"uniform"``): uniform bond directions.
  It covers P&G's *ranges* but not their *distribution* (E4 spread 1.7, 14× P&G's; most
  of its structures are nearly flat and far from the orbits), so it is offered, not used.

Features of a frame list are cached on disk keyed by the featurizer's hyperparameters and a
hash of the positions (:func:`cached_inputs`), so repeated runs skip featomic.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ase
import numpy as np
from tqdm.auto import tqdm

from ..checks import (
    bounded_int,
    non_negative_float,
    positive_float,
    seeded_generator,
    structure_count,
)
from ..errors import DegeneracyError
from ..files import NPZ_READ_ERRORS, atomic_path, cache_dir, cache_key
from ..structures import (
    MethaneSampler,
    environment_from_neighbors,
    neighbor_positions,
    read_environments,
    rejection_rounds,
    write_environments,
)
from ..targets import fourbody_torsion

#: Unit vectors from C to the H atoms of a regular tetrahedron.
TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float) / np.sqrt(
    3.0
)

#: Sizes of P&G's data sets (they had one more frame in each).
N_TRAIN = 24000
N_VAL = 6000
#: Size of the independent test set.
N_TEST = 3000

#: Sizes used by ``--quick`` runs.
QUICK_SIZES = {"train": 1500, "val": 500, "test": 500}

# 2: the E modes are the same on every CPU (data sets cached by format 1 may hold
# structures drawn with another basis of E; see symmetry_modes)
DATASET_FORMAT = 2


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random rotation matrices, shape (n, 3, 3) (QR of Gaussian matrices)."""
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    det = np.linalg.det(q)
    q[det < 0, :, 0] *= -1.0
    return q


def in_ranges(neighbors: np.ndarray, ranges: MethaneSampler) -> np.ndarray:
    """Which structures (n, 4, 3) lie inside the C–H, H–C–H and H–H ranges of ``ranges``."""
    radii = np.linalg.norm(neighbors, axis=-1)
    directions = neighbors / radii[..., None]
    i, j = np.triu_indices(4, k=1)
    cosines = np.einsum("bid,bjd->bij", directions, directions)[:, i, j]
    separations = np.linalg.norm(neighbors[:, i] - neighbors[:, j], axis=-1)
    cos_lo, cos_hi = np.cos(np.radians([ranges.angle_max, ranges.angle_min]))
    return (
        ((radii >= ranges.r_min) & (radii <= ranges.r_max)).all(axis=1)
        & ((cosines >= cos_lo) & (cosines <= cos_hi)).all(axis=1)
        & (separations >= ranges.hh_min).all(axis=1)
    )


def _rejection_sample(sampler: Any, n: int, seed: int) -> np.ndarray:
    """``n`` structures from ``sampler._draw(rng, batch)`` inside ``sampler.ranges``
    (:func:`in_ranges`); refused after
    :data:`~degeneracy.structures.MAX_REJECTION_ROUNDS` rounds of candidates."""
    n = structure_count(n)
    rng = seeded_generator(seed)
    accepted: list[np.ndarray] = []

    def total() -> int:
        return sum(len(block) for block in accepted)

    for _ in rejection_rounds(sampler, n, total):
        batch = sampler._draw(rng, max(64, int(1.2 * (n - total()))))
        accepted.append(batch[in_ranges(batch, sampler.ranges)])
    return np.concatenate(accepted)[:n] if accepted else np.zeros((0, 4, 3))


def _normalise(instance: Any, check, names: Sequence[str], **options: Any) -> None:
    """Replace each field ``names`` of the frozen dataclass ``instance`` by
    ``check(name, value, **options)`` (e.g. :func:`~degeneracy.checks.positive_float`)."""
    for name in names:
        object.__setattr__(instance, name, check(name, getattr(instance, name), **options))


def _check_instance(owner: Any, name: str, expected: type) -> None:
    """Refuse a field ``name`` of ``owner`` that is not an ``expected`` (named, with its type)."""
    value = getattr(owner, name)
    if not isinstance(value, expected):
        raise DegeneracyError(
            f"{type(owner).__name__}.{name} must be a {expected.__name__}, "
            f"got {type(value).__name__} {value!r}"
        )


def symmetry_modes(tetrahedron: np.ndarray = TETRAHEDRON) -> dict[str, np.ndarray]:
    r"""Orthonormal displacement modes of the 4 H of a regular tetrahedron, C held fixed.

    The 12 H coordinates split, under the point group T_d, into rigid rotations (F1, 3),
    the breathing mode ``"A1"`` (1), the bend ``"E"`` (2) and two F2 triplets, here
    ``"F2_stretch"`` (radial) and ``"F2_bend"`` (tangential): the radial and tangential
    parts of a rigid translation of the H cage, i.e. of the C atom rattling inside it.

    .. math:: (\mathrm{A1})_a = \hat t_a / 2,\quad
              (\mathrm{F2_s})^{(k)}_a \propto (\hat t_a\cdot e_k)\,\hat t_a,\quad
              (\mathrm{F2_b})^{(k)}_a \propto e_k - (\hat t_a\cdot e_k)\,\hat t_a

    and E spans the tangential, non-rotational rest. Returns ``{name: (12, k)}`` with
    coordinate ``3a + i`` for atom ``a``, direction ``i``.
    """
    # Written out by hand: four lines of projections, no library builds these for us.
    t = np.asarray(tetrahedron, dtype=float)
    eye = np.eye(3)
    radial = np.einsum("ak,al->akl", t, t)  # (4, 3, 3): projector on each bond
    modes = {
        "A1": (t / 2.0).reshape(12, 1),
        # column k: the radial / tangential part of every H moving along e_k
        "F2_stretch": radial.reshape(12, 3),
        "F2_bend": (eye - radial).reshape(12, 3),
    }
    rotations = np.stack([np.cross(eye[k], t) for k in range(3)], axis=-1).reshape(12, 3)
    for name in ("F2_stretch", "F2_bend"):
        modes[name] = modes[name] / np.linalg.norm(modes[name], axis=0)
    tangential = np.zeros((12, 12))
    for a in range(4):
        tangential[3 * a : 3 * a + 3, 3 * a : 3 * a + 3] = eye - radial[a]
    taken = np.hstack([rotations / np.linalg.norm(rotations, axis=0), modes["F2_bend"]])
    # the projector on E; its basis is Gram-Schmidt of its columns in order, the same on
    # every machine (eigh's basis of this doubly degenerate eigenspace depends on the
    # LAPACK kernels, and with it every structure a seed draws)
    modes["E"] = _range_basis(tangential - taken @ taken.T, rank=2)
    return modes


def _range_basis(projector: np.ndarray, *, rank: int, tol: float = 1e-8) -> np.ndarray:
    """Orthonormal basis (columns) of an orthogonal projector's range: Gram–Schmidt of its
    columns in order, skipping those already spanned; each vector has a positive overlap
    with the column it came from.

    Written by hand: library orthonormalisations (QR with pivoting, SVD, eigh) choose the
    basis of a degenerate subspace by their kernels' round-off, so it differs between CPUs.
    """
    trace = float(np.trace(projector))
    idempotence = float(np.abs(projector @ projector - projector).max())
    if round(trace) != rank or idempotence > tol or not np.allclose(projector, projector.T):
        raise DegeneracyError(
            f"not an orthogonal projector of rank {rank} (trace {trace:.3g}, "
            f"|P² − P| {idempotence:.2g}): is the tetrahedron regular?"
        )
    basis: list[np.ndarray] = []
    for column in projector.T:
        residual = column - sum((vector @ column) * vector for vector in basis)
        if np.linalg.norm(residual) > tol:
            basis.append(residual / np.linalg.norm(residual))
        if len(basis) == rank:
            return np.stack(basis, axis=1)
    # unreachable after the checks above, unless tol is far too large for the projector
    raise DegeneracyError(f"the projector's columns span {len(basis)} dimensions, not {rank}")


_MODES = symmetry_modes()


@dataclass(frozen=True, kw_only=True)
class ThermalMethaneSampler:
    r"""CH4 like hot molecular-dynamics snapshots: harmonic symmetry-mode displacements.

    P&G's structures are MD snapshots (their files say ``Step=``). Here the H atoms of a
    tetrahedron with C–H ``r0`` are displaced along the T_d symmetry modes of
    :func:`symmetry_modes` with independent Gaussian amplitudes, one standard deviation
    per mode type (Å), as in a classical harmonic ensemble; the structure is then rotated
    at random and rejected if outside ``ranges`` (P&G's C–H, H–C–H and H–H limits):

    .. math:: \mathbf r = R\,\Bigl(r_0 \hat{\mathbf t}
              + \sum_{\mu \in \{A1, F2_s, E, F2_b\}} \sigma_\mu\, Q_\mu \boldsymbol\xi_\mu
              \Bigr), \qquad \boldsymbol\xi_\mu \sim N(0, I).

    E4 depends only on the H cage, so the F2 modes (the C rattling in the cage) spread the
    C–H distances and H–C–H angles much more than E4, the E bend the other way round. The
    five defaults were fitted (Nelder–Mead) to 49 of P&G's validation frames and their
    published E4 spread 0.117: C–H 1.125 ± 0.068 Å, mean sorted H–C–H angles
    87.7 / 95.5 / 101.3 / 110.5 / 118.6 / 129.6°, E4 quartiles 0.722 / 0.756 / 0.839.
    This sampler gives 1.125 ± 0.068 Å, 86.6 / 96.5 / 103.6 / 111.1 / 118.8 / 130.2°,
    0.718 / 0.763 / 0.836 and E4 spread 0.115 (three draws of 100 000: 0.1153–0.1158).
    (Independent isotropic displacements of each H matched E4 too but spread the angles
    only ± 11° against P&G's ± 16°, which left the Comment's orbit, with angles from 70°
    to 152°, far outside the training data.)
    """

    r0: float = 1.094
    breathing: float = 0.060
    stretch: float = 0.064
    e_bend: float = 0.152
    f2_bend: float = 0.276
    ranges: MethaneSampler = field(default_factory=MethaneSampler)

    def __post_init__(self) -> None:
        _normalise(self, positive_float, ["r0"])
        _normalise(self, non_negative_float, ["breathing", "stretch", "e_bend", "f2_bend"])
        _check_instance(self, "ranges", MethaneSampler)

    def mode_widths(self) -> dict[str, float]:
        """Standard deviation (Å) of the amplitude of each mode type of :func:`symmetry_modes`."""
        return {
            "A1": self.breathing,
            "F2_stretch": self.stretch,
            "E": self.e_bend,
            "F2_bend": self.f2_bend,
        }

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        displacement = np.zeros((n, 12))
        for name, width in self.mode_widths().items():
            modes = _MODES[name]
            displacement += rng.normal(scale=width, size=(n, modes.shape[1])) @ modes.T
        local = self.r0 * TETRAHEDRON + displacement.reshape(n, 4, 3)
        return np.einsum("bkd,bid->bik", random_rotations(n, rng), local)

    def neighbors(self, n: int, *, seed: int) -> np.ndarray:
        """Neighbour positions of ``n`` accepted structures, shape (n, 4, 3)."""
        return _rejection_sample(self, n, seed)

    def sample(self, n: int, *, seed: int) -> list[ase.Atoms]:
        """``n`` environments, reproducible by ``seed``."""
        return _environments(self.neighbors(n, seed=seed), seed)


@dataclass(frozen=True, kw_only=True)
class TiltedMethaneSampler:
    r"""An independent CH4 generator: uniform bond lengths and uniform tilts of the bonds.

    Each C–H length is uniform in ``[r_low, r_high]``; each bond direction is the
    tetrahedral one rotated by an angle uniform in ``[0, max_tilt]`` (degrees) about a
    random axis perpendicular to it (an exact rotation, not a linear displacement); the
    whole structure is rotated at random and kept only inside ``ranges``. Radii and angles
    are thus distributed differently from :class:`ThermalMethaneSampler` (flat instead of
    Gaussian) while covering the same region: for the defaults C–H 1.125 ± 0.10 Å,
    H–C–H 109 ± 11.5°, E4 0.79 ± 0.12.
    """

    r_low: float = 0.95
    r_high: float = 1.30
    max_tilt: float = 20.0
    ranges: MethaneSampler = field(default_factory=MethaneSampler)

    def __post_init__(self) -> None:
        _normalise(self, positive_float, ["r_low", "r_high"])
        _normalise(self, positive_float, ["max_tilt"], below=90.0)
        if self.r_high <= self.r_low:
            raise DegeneracyError(f"r_high must exceed r_low, got {self.r_low}–{self.r_high}")
        _check_instance(self, "ranges", MethaneSampler)
        self._check_radii_reach_ranges()

    def _check_radii_reach_ranges(self) -> None:
        """Refuse bond lengths that all lie outside the C–H range of ``ranges``."""
        low, high = self.ranges.r_min, self.ranges.r_max
        if self.r_low >= high or self.r_high <= low:
            raise DegeneracyError(
                f"TiltedMethaneSampler: C–H lengths {self.r_low}–{self.r_high} Å lie outside "
                f"the ranges' {low}–{high} Å, so no structure would be accepted"
            )

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        axis = rng.normal(size=(n, 4, 3))
        axis -= np.einsum("bid,id->bi", axis, TETRAHEDRON)[..., None] * TETRAHEDRON
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        tilt = np.radians(rng.uniform(0.0, self.max_tilt, size=(n, 4, 1)))
        # Rotating t about an axis perpendicular to it: t cos θ + (axis × t) sin θ.
        directions = np.cos(tilt) * TETRAHEDRON + np.sin(tilt) * np.cross(axis, TETRAHEDRON)
        radii = rng.uniform(self.r_low, self.r_high, size=(n, 4, 1))
        return np.einsum("bkd,bid->bik", random_rotations(n, rng), radii * directions)

    def neighbors(self, n: int, *, seed: int) -> np.ndarray:
        """Neighbour positions of ``n`` accepted structures, shape (n, 4, 3)."""
        return _rejection_sample(self, n, seed)

    def sample(self, n: int, *, seed: int) -> list[ase.Atoms]:
        """``n`` environments, reproducible by ``seed``."""
        return _environments(self.neighbors(n, seed=seed), seed)


#: Fundamental wavenumbers (cm⁻¹) of gas-phase CH4 by symmetry mode (Herzberg): ν1 (A1),
#: ν3 (F2 stretch), ν2 (E bend), ν4 (F2 bend).
CH4_WAVENUMBERS = {"A1": 2917.0, "F2_stretch": 3019.0, "E": 1534.0, "F2_bend": 1306.0}

#: Speed of light in cm/fs (converts wavenumbers to angular frequencies in 1/fs).
_C_CM_PER_FS = 2.99792458e-5


def langevin_mode_paths(
    n_modes: int, n_steps: int, omega: np.ndarray, *, timestep: float, friction: float, rng
) -> np.ndarray:
    r"""Unit-variance harmonic oscillators under Langevin dynamics, shape (n_steps, n_modes).

    Each coordinate obeys :math:`\ddot x = -\omega^2 x - \gamma \dot x + \sqrt{2\gamma}\,
    \omega\, \xi(t)`, whose stationary distribution is :math:`x \sim N(0, 1)`,
    :math:`\dot x \sim N(0, \omega^2)`. Integrated with BAOAB (Leimkuhler & Matthews,
    Appl. Math. Res. Express 2013, 34), which samples the configurational distribution
    of a harmonic oscillator exactly for any stable step (:math:`\omega h < 2`); started
    from that distribution, so no equilibration is needed.
    """
    # Written by hand: a dozen lines for decoupled linear oscillators; ase's Langevin
    # needs a calculator and per-atom forces, and would sample the same thing slower.
    omega = np.broadcast_to(np.asarray(omega, dtype=float), (n_modes,))
    if np.any(omega * timestep >= 2.0):
        raise DegeneracyError(
            f"timestep {timestep} fs is unstable for the fastest mode (ω h = "
            f"{float(np.max(omega * timestep)):.2f} ≥ 2)"
        )
    half = 0.5 * timestep
    force = half * omega**2  # half-step velocity change per unit x (B)
    damping = np.exp(-friction * timestep)
    kick = np.sqrt(1.0 - damping**2) * omega
    x = rng.normal(size=n_modes)
    v = rng.normal(size=n_modes) * omega
    path = np.empty((n_steps, n_modes))
    for step in range(n_steps):
        path[step] = x
        v -= force * x  # B
        x = x + half * v  # A
        v = damping * v + kick * rng.normal(size=n_modes)  # O
        x = x + half * v  # A
        v -= force * x  # B
    return path


@dataclass(frozen=True, kw_only=True)
class TrajectoryMethaneSampler:
    r"""CH4 snapshots of Langevin trajectories in the harmonic ensemble of the thermal sampler.

    P&G made their 30 002 structures by molecular dynamics and the Comment split them at
    random into training and validation frames, so most validation frames have a
    training frame a few steps away. This sampler reproduces that construction: each of
    ``n_trajectories`` runs moves the symmetry-mode amplitudes of
    :class:`ThermalMethaneSampler` as Langevin oscillators
    (:func:`langevin_mode_paths`) with CH4's fundamental frequencies
    (:data:`CH4_WAVENUMBERS`), time step ``timestep`` fs and friction ``friction`` 1/fs,
    saving every ``stride``-th step; each run has one random orientation. The stationary
    distribution of a frame is exactly that of :class:`ThermalMethaneSampler`; only the
    correlation between frames differs. Frames outside ``thermal.ranges`` (0.14 %) are
    dropped.

    P&G's step counters run from 0 to about 10 000, so the defaults make 3 runs of
    10 000 steps for their 30 000 frames; their time step is not published. With 0.25 fs
    (the default; E4 correlation 0.995 between neighbouring frames) the Comment's network
    reaches a validation RMSE of 0.019 on the random split, near the Comment's 0.0133,
    but 0.046 on independent frames; with 0.3 fs 0.021 and 0.051; with 0.5 fs 0.038 and
    0.044; with 1 fs (0.92) 0.044 and 0.034; on independent thermal frames 0.049 and 0.040
    (3 minutes of training each, 1 thread). More, shorter
    runs for the same frames keep both (30 × 1000 steps: 0.020 and 0.054; 300 × 100 steps:
    0.020 and 0.046): the low validation error comes from frames a step away, not from a
    narrow training distribution.

    :func:`default_datasets` draws the training and validation sets as one pool from this
    sampler and splits it at random, as P&G and the Comment did (``correlated = True``).
    """

    thermal: ThermalMethaneSampler = field(default_factory=ThermalMethaneSampler)
    n_trajectories: int = 3
    timestep: float = 0.25
    friction: float = 0.01
    stride: int = 1

    correlated = True

    def __post_init__(self) -> None:
        _check_instance(self, "thermal", ThermalMethaneSampler)
        _normalise(self, bounded_int, ["n_trajectories", "stride"], minimum=1)
        _normalise(self, positive_float, ["timestep", "friction"])

    @property
    def ranges(self) -> MethaneSampler:
        return self.thermal.ranges

    def _trajectory(self, rng: np.random.Generator, n_frames: int) -> np.ndarray:
        widths = self.thermal.mode_widths()
        names = list(widths)
        counts = [_MODES[name].shape[1] for name in names]
        omega = np.repeat(
            [2 * np.pi * _C_CM_PER_FS * CH4_WAVENUMBERS[name] for name in names], counts
        )
        scale = np.repeat([widths[name] for name in names], counts)
        basis = np.hstack([_MODES[name] for name in names])  # (12, 9)
        paths = langevin_mode_paths(
            len(omega),
            n_frames * self.stride,
            omega,
            timestep=self.timestep,
            friction=self.friction,
            rng=rng,
        )[:: self.stride]
        local = self.thermal.r0 * TETRAHEDRON + ((paths * scale) @ basis.T).reshape(-1, 4, 3)
        return local @ random_rotations(1, rng)[0].T

    def neighbors(self, n: int, *, seed: int) -> np.ndarray:
        """``n`` in-range frames of the trajectories, in trajectory order, (n, 4, 3)."""
        n = bounded_int("number of structures", n, minimum=0)
        rng = seeded_generator(seed)
        per_run = -(-int(1.01 * n + 8) // self.n_trajectories)
        runs = [self._trajectory(rng, per_run) for _ in range(self.n_trajectories)]
        frames = np.concatenate(runs)
        frames = frames[in_ranges(frames, self.ranges)]
        if len(frames) < n:
            raise DegeneracyError(f"trajectories gave {len(frames)} in-range frames, need {n}")
        return frames[:n]

    def sample(self, n: int, *, seed: int) -> list[ase.Atoms]:
        """``n`` environments, reproducible by ``seed``."""
        return _environments(self.neighbors(n, seed=seed), seed)


def _environments(neighbors: np.ndarray, seed: int) -> list[ase.Atoms]:
    return [
        environment_from_neighbors(x, info={"sample_seed": seed, "sample_index": i})
        for i, x in enumerate(neighbors)
    ]


#: Structure generators by name (``degeneracy learn --sampler``).
SAMPLERS: dict[str, type] = {
    "thermal": ThermalMethaneSampler,
    "tilted": TiltedMethaneSampler,
    "trajectory": TrajectoryMethaneSampler,
    "uniform": MethaneSampler,
}


def make_sampler(name: str):
    """A structure generator from :data:`SAMPLERS` with its default settings."""
    if name not in SAMPLERS:
        raise DegeneracyError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[name]()


@dataclass
class Dataset:
    """Environments with their four-body target.

    Attributes
    ----------
    name : str
        ``"train"``, ``"val"``, ``"test"``, ``"orbit"``, ...
    frames : list of ase.Atoms
        Environments (C at the origin); ``info["fourbody"]`` holds the target.
    path : Path or None
        The extxyz file the frames were read from or written to.
    source : dict or None
        How the frames were made (:func:`describe_sampler` and seed), for the metrics.
    """

    name: str
    frames: list[ase.Atoms]
    path: Path | None = None
    source: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def targets(self) -> np.ndarray:
        """E4 of every frame, shape (n,)."""
        return fourbody_torsion(self.frames) if self.frames else np.zeros(0)

    def subset(self, indices: Sequence[int], name: str | None = None) -> Dataset:
        """The frames at ``indices`` (in that order, repeats allowed)."""
        frames = [self.frames[int(i)] for i in indices]
        return Dataset(name or self.name, frames, self.path, self.source)


def with_targets(frames: Sequence[ase.Atoms]) -> list[ase.Atoms]:
    """Copies of ``frames`` with ``info["fourbody"]`` set to E4."""
    copies = [atoms.copy() for atoms in frames]
    for atoms, value in zip(copies, np.atleast_1d(fourbody_torsion(copies)), strict=True):
        atoms.info["fourbody"] = float(value)
    return copies


def generate_dataset(
    name: str, n: int, *, seed: int, sampler: str = "thermal", cache: bool = True
) -> Dataset:
    """``n`` random CH4 from sampler ``sampler`` with E4, as a cached extxyz file.

    The first call writes ``dataset-<sampler>-n<n>-seed<seed>-<key>.extxyz`` (atomically)
    into :func:`degeneracy.files.cache_dir`; every call, the first included, returns the
    frames read back from that file (positions to 1e-8 Å), so a run on freshly generated
    data is the same run as one on the cached file (and resumes from its checkpoint).
    """
    n = bounded_int("number of structures", n, minimum=1)
    generator = make_sampler(sampler)
    key = cache_key(kind="dataset", format=DATASET_FORMAT, sampler=repr(generator), n=n, seed=seed)
    path = cache_dir() / f"dataset-{sampler}-n{n}-seed{seed}-{key}.extxyz"
    source = {**describe_sampler(sampler, generator), "seed": seed, "n": n}
    if cache and path.exists():
        try:
            frames = read_environments(path)
        except DegeneracyError:
            frames = []  # unreadable cache file (e.g. cut short): generate it again
        if len(frames) == n and drawn_by_this_code(frames, generator, seed):
            return Dataset(name, frames, path, source)
    frames = with_targets(generator.sample(n, seed=seed))
    if cache:
        write_environments(path, frames)
        frames = read_environments(path)
    return Dataset(name, frames, path if cache else None, source)


def drawn_by_this_code(frames: Sequence[ase.Atoms], generator: Any, seed: int) -> bool:
    """Whether cached ``frames`` are what ``generator`` draws with ``seed`` now (to the
    file's 8 decimals; 0.15 s for 24 000).

    The cache key holds the sampler's settings and :data:`DATASET_FORMAT`, not its code: a
    change in the sampler would otherwise keep serving the old structures (helper-148
    scaled them by 0.98: the cache kept the old ones). The targets need no such check:
    :attr:`Dataset.targets` computes E4 from the positions.
    """
    drawn = generator.neighbors(len(frames), seed=seed)
    return bool(np.allclose(neighbor_positions(frames), drawn, rtol=0.0, atol=1e-7))


def is_correlated(sampler: str) -> bool:
    """Whether sampler ``sampler`` draws correlated frames (trajectories) that are split at
    random into training and validation frames (``correlated = True``, e.g. ``"trajectory"``)."""
    return bool(getattr(make_sampler(sampler), "correlated", False))


def default_datasets(
    *,
    quick: bool = False,
    seed: int = 0,
    sampler: str = "thermal",
    test_sampler: str = "tilted",
    sizes: dict[str, int] | None = None,
) -> dict[str, Dataset]:
    """Training, validation and independent test sets of the experiment (cached).

    Seeds ``seed``, ``seed + 1`` and ``seed + 2``; sizes :data:`N_TRAIN`, :data:`N_VAL` and
    :data:`N_TEST` (:data:`QUICK_SIZES` with ``quick``), each overridable by ``sizes``. The
    test set comes from ``test_sampler``, the others from ``sampler``. A sampler of
    correlated frames (``correlated = True``, e.g. ``"trajectory"``) gives one pool of
    training + validation frames (seed ``seed``) split at random with seed ``seed + 1``,
    as P&G's molecular-dynamics frames were split (:func:`random_split`).
    """
    defaults = QUICK_SIZES if quick else {"train": N_TRAIN, "val": N_VAL, "test": N_TEST}
    sizes = {**defaults, **{k: v for k, v in (sizes or {}).items() if v is not None}}
    test = generate_dataset("test", sizes["test"], seed=seed + 2, sampler=test_sampler)
    if is_correlated(sampler):
        pool = generate_dataset("pool", sizes["train"] + sizes["val"], seed=seed, sampler=sampler)
        train, val = random_split(pool, sizes["train"], seed=seed + 1)
        return {"train": train, "val": val, "test": test}
    return {
        "train": generate_dataset("train", sizes["train"], seed=seed, sampler=sampler),
        "val": generate_dataset("val", sizes["val"], seed=seed + 1, sampler=sampler),
        "test": test,
    }


def random_split(pool: Dataset, n_train: int, *, seed: int) -> tuple[Dataset, Dataset]:
    """``pool`` split at random into ``n_train`` training frames and the rest (validation).

    Raises :class:`DegeneracyError` unless ``n_train`` is an integer from 1 to
    ``len(pool) - 1`` (neither set may be empty), naming it and the pool's size.
    """
    n_train = split_size(n_train, len(pool))
    order = seeded_generator(seed).permutation(len(pool))
    train, val = pool.subset(order[:n_train], "train"), pool.subset(order[n_train:], "val")
    for part in (train, val):
        part.source = {**(pool.source or {}), "random_split_of_pool": True, "split_seed": seed}
    return train, val


def split_size(n_train: Any, n_pool: int) -> int:
    """``n_train`` of :func:`random_split` as an int from 1 to ``n_pool - 1``; else named."""
    try:
        value = bounded_int("n_train", n_train, minimum=1)
    except DegeneracyError as error:
        raise DegeneracyError(f"{error} (a pool of {n_pool} frames to split)") from error
    if value >= n_pool:
        frames = "frame" if n_pool == 1 else "frames"
        raise DegeneracyError(
            f"n_train must be less than the pool's {n_pool} {frames} (the rest is the "
            f"validation set, which must not be empty), got {value}"
        )
    return value


# --- features -------------------------------------------------------------------------


class Featurizer(Protocol):
    """Turns environments into model inputs: per centre species, (n_frames, n_centres, d).

    ``spec()`` is JSON-serialisable and, with the files written by ``save(folder)``, enough
    for :func:`degeneracy.learning.featurizer_from_spec` to rebuild it.
    """

    def key(self) -> dict[str, Any]:
        """Everything the features depend on (for the cache key)."""
        ...

    def inputs(self, frames: Sequence[ase.Atoms]) -> dict[str, np.ndarray]:
        """Features by centre species, arrays of shape (n_frames, n_centres, n_features)."""
        ...

    # Optional (gradient training, :attr:`TrainSettings.gradient_weight`):
    # ``input_jacobians(frames)`` -> {species: (n_frames, n_centres, n_features, 3N)},
    # the derivatives of ``inputs`` with respect to the N neighbour positions (centre fixed).

    def spec(self) -> dict[str, Any]: ...

    def save(self, folder: Path) -> None: ...


#: The methods every :class:`Featurizer` has.
FEATURIZER_METHODS = ("key", "inputs", "spec", "save")


def check_featurizer(featurizer: Any) -> Featurizer:
    """``featurizer`` if it has the methods of a :class:`Featurizer`; else named (a
    fingerprint or its name is not one: it needs wrapping, e.g. in ``CentreFeaturizer``)."""
    if all(callable(getattr(featurizer, name, None)) for name in FEATURIZER_METHODS):
        return featurizer
    raise DegeneracyError(
        f"not a featurizer: {featurizer!r} (it needs {', '.join(FEATURIZER_METHODS)}); "
        "build one, e.g. CentreFeaturizer(dg.SoapPowerSpectrum()) or MultiCentreSoap()"
    )


def positions_digest(frames: Sequence[ase.Atoms]) -> str:
    """SHA-256 of the species and neighbour positions of ``frames`` (the data's identity)."""
    digest = hashlib.sha256()
    numbers = [np.asarray(atoms.numbers, dtype=np.int64) for atoms in frames]
    digest.update(np.concatenate(numbers).tobytes() if numbers else b"")
    digest.update(np.ascontiguousarray(neighbor_positions(frames), dtype=np.float64).tobytes())
    return digest.hexdigest()[:20]


def compute_inputs(
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    *,
    batch_size: int = 1000,
    progress: bool = False,
    desc: str = "features",
) -> dict[str, np.ndarray]:
    """Features of ``frames`` in batches of ``batch_size`` (an integer ≥ 1), with a
    progress bar."""
    return _batched(featurizer.inputs, frames, batch_size, progress, desc, "features")


def compute_input_jacobians(
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    *,
    batch_size: int = 1000,
    progress: bool = False,
    desc: str = "jacobians",
) -> dict[str, np.ndarray]:
    """Jacobians of the inputs, ``{species: (n, n_centres, d, 3N)}`` (float32), in batches.

    Not cached: 24 000 CH4 take ~0.7 GB and ~30 s (2 cores) to compute again with the
    C-centred SOAP (n = l = 8), ~1.2 GB with the multi-centre SOAP at n = l = 4. A set
    that would take more than a quarter of this machine's memory is refused before any
    work, naming its size (the multi-centre SOAP at n = l = 8: ~8.6 GB).
    """
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    method = getattr(featurizer, "input_jacobians", None)
    if method is None:
        raise DegeneracyError(
            f"{type(featurizer).__name__} gives no input Jacobians (input_jacobians): "
            "gradient training and predicted gradients need them"
        )
    frames = list(frames)
    if frames:
        per_frame = sum(v.size for v in method(frames[:1]).values()) * 4  # float32
        _check_fits_in_memory(per_frame * len(frames), f"input Jacobians of {len(frames)} frames")
    return _batched(method, frames, batch_size, progress, desc, "input Jacobians")


def _check_fits_in_memory(size: int, what: str) -> None:
    """Refuse an array of ``size`` bytes above a quarter of the physical memory.

    A quarter, because assembling the batches holds the array twice for a moment, and the
    training set's features, the model and the other sets need room too.
    """
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform: do not guess
        return
    if size > memory / 4:
        raise DegeneracyError(
            f"{what} would take {size / 1e9:.2f} GB, more than a quarter of this machine's "
            f"{memory / 1e9:.0f} GB: use fewer frames or a smaller fingerprint "
            "(e.g. a smaller n_max or l_max)"
        )


def _batched(compute, frames, batch_size, progress, desc, what) -> dict[str, np.ndarray]:
    """``compute(chunk)`` per batch of frames, concatenated by species as float32."""
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    frames = list(frames)
    if not frames:
        raise DegeneracyError(f"no frames to compute {what} for")
    parts: dict[str, list[np.ndarray]] = {}
    with tqdm(total=len(frames), desc=desc, unit="frame", disable=not progress) as bar:
        for start in range(0, len(frames), batch_size):
            chunk = frames[start : start + batch_size]
            for species, values in compute(chunk).items():
                parts.setdefault(species, []).append(values.astype(np.float32))
            bar.update(len(chunk))
    return {species: np.concatenate(values) for species, values in parts.items()}


def cached_inputs(
    featurizer: Featurizer,
    frames: Sequence[ase.Atoms],
    *,
    cache: bool = True,
    progress: bool = False,
    desc: str = "features",
    batch_size: int = 1000,
) -> dict[str, np.ndarray]:
    """:func:`compute_inputs`, cached in ``cache_dir()/features-<key>.npz`` (float32).

    The key hashes the featurizer's :meth:`~Featurizer.key` (name, hyperparameters, radial
    basis, featomic's version and a hash of the fingerprints' source code,
    :func:`~.features.fingerprint_code_digest`) and :func:`positions_digest` of the
    frames, so any change recomputes.
    """
    if not cache:
        return compute_inputs(
            featurizer, frames, batch_size=batch_size, progress=progress, desc=desc
        )
    key = cache_key(kind="features", featurizer=featurizer.key(), data=positions_digest(frames))
    path = cache_dir() / f"features-{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                loaded = {name: data[name] for name in data.files}
            if _cached_inputs_fit(loaded, featurizer, frames):
                return loaded
        except NPZ_READ_ERRORS:
            pass  # unreadable cache file: recompute and overwrite it
    inputs = compute_inputs(featurizer, frames, batch_size=batch_size, progress=progress, desc=desc)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **inputs)
    return inputs


def _cached_inputs_fit(
    loaded: dict[str, np.ndarray], featurizer: Featurizer, frames: Sequence[ase.Atoms]
) -> bool:
    """Whether cached inputs are this featurizer's for these frames, as far as one frame
    computed now tells: the same centre species, float32 arrays of one row per frame and
    the first frame's shape, all finite, the first frame's values to float32 round-off.

    A readable file of the right length was trusted: another species' key, another width
    or NaN ended in a KeyError traceback, or in "features of the C centres are all zero".
    """
    probe = compute_inputs(featurizer, frames[:1], batch_size=1)
    if set(loaded) != set(probe):
        return False
    for species, values in loaded.items():
        first = probe[species]
        if (
            values.dtype != np.float32
            or values.shape != (len(frames), *first.shape[1:])
            or not np.all(np.isfinite(values))
        ):
            return False
        scale = float(np.abs(first).max(initial=0.0))
        if not np.allclose(values[0], first[0], rtol=1e-5, atol=1e-6 * scale):
            return False
    return True


def describe_sampler(name: str, sampler: Any = None) -> dict[str, Any]:
    """The settings of sampler ``name`` (for metrics and the tables of docs/learnability.md).

    ``sampler`` is the instance to describe when already built (else the default one).
    """
    settings = asdict(sampler if sampler is not None else make_sampler(name))
    return {"name": name, **json.loads(json.dumps(settings, default=str))}
