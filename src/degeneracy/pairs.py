r"""Degenerate pairs A±: different environments that every ν = 2 fingerprint confuses.

Pozdnyakov, Willatt, Bartók, Ortner, Csányi, Ceriotti, Phys. Rev. Lett. 125, 166001
(2020). With the centre at the origin,

.. math::

    \mathbf r_1 = (x_1, 0, z_1),\quad \mathbf r_2 = (x_2, y_2, z_2),\quad
    \mathbf r_3 = (x_2, -y_2, -z_2),\quad \mathbf r_4^\pm = (x_4, \pm y_4, 0).

:math:`\mathbf r_3` is the two-fold rotation of :math:`\mathbf r_2` about x. The members
share the multiset of neighbour-pair triplets :math:`(r_i, r_j, \hat{\mathbf r}_i \cdot
\hat{\mathbf r}_j)`: :math:`\mathbf r_4^\pm \cdot \mathbf r_1 = x_4 x_1` for both, and
:math:`\mathbf r_4^- \cdot \mathbf r_2 = x_4 x_2 - y_4 y_2 = \mathbf r_4^+ \cdot
\mathbf r_3` (and vice versa), with :math:`|\mathbf r_2| = |\mathbf r_3|`. Every function of
neighbour pairs (SOAP power spectrum, ACSF G2/G4) is therefore identical for A+ and A−,
while four-body quantities (the torsion target, the bispectrum, the overlap-matrix
fingerprint) are not, and for generic parameters A+ and A− are not related by any
rotation, reflection or permutation.

**Fold.** Because :math:`x(y_4) = x(-y_4)` for every ν = 2 fingerprint :math:`x`,
:math:`\partial x / \partial y_4 = 0` at :math:`y_4 = 0`: the ν = 2 Jacobian gets an extra
zero singular value (the y motion of H4) at a configuration that is in general not
symmetric — a spurious zero. ν = 3 fingerprints do not have it.

**The PRL 2020 CH4 grid.** H1 = h(67.5°, 180°), H2 = h(−30°, −36°), H3 = h(30°, 36°),
H4 = h(β, ±α), all C–H = 1.09 Å (:func:`degeneracy.structures.prl2020_methane`). H1 lies
in the y = 0 plane and H3 is the two-fold rotation of H2 about x, so the construction is
the family above exactly when H4 lies in the z = 0 plane, i.e. β = 0; then
h(0, α) and h(0, −α) are an exact pair. For β ≠ 0 the two members h(β, ±α) differ in
their ν = 2 features (relative SOAP distance 6 % at β = 4.5°, α = −130.5°), and
:func:`equal_radius_partner_residual` shows that for these H1–H3 no ν = 2 partner exists
at all off β = 0 (whatever the construction): :func:`prl2020_grid` therefore writes the
9 × 9 grid of (h(β, α), h(β, −α)) members as specified, flagged ``exact`` only on the
β = 0 row. See docs/pairs.md, "The PRL 2020 grid", for the numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import ase
import numpy as np

from .checks import (
    bounded_int,
    finite_float,
    non_negative_float,
    residual_tolerance_value,
    seeded_generator,
    true_or_false,
)
from .compare import fingerprints_by_name
from .errors import DegeneracyError, numbered_as_given
from .representations.base import Representation, batches, fingerprint
from .sensitivity import (
    SYMMETRY_TOL,
    best_superposition,
    point_symmetry,
    warn_call_notes,
)
from .structures import (
    MethaneSampler,
    check_same_size,
    check_sampler_ranges,
    environment_from_neighbors,
    frame_list,
    neighbor_array,
    neighbor_positions,
    prl2020_methane,
    rejection_rounds,
)
from .targets import fourbody_torsion

#: The PRL 2020 grid: β (elevation) and α (azimuth) of H4 in degrees, 4.5° steps.
PRL_BETAS = tuple(float(b) for b in np.arange(-18.0, 18.01, 4.5))
PRL_ALPHAS = tuple(float(a) for a in np.arange(-162.0, -125.99, 4.5))

#: Member labels of a pair, in file order.
MEMBERS = ("+", "-")

#: Most pairs (or folds) drawn at once: a million pairs are 2 million frames, ~0.7 GB
#: (a command line asking for 1e12 failed allocating 87 TiB, 1e7 took 7 GB).
MAX_PAIRS = 1_000_000


@dataclass(frozen=True)
class PairParameters:
    r"""Parameters (Å) of one A± pair (module docstring)."""

    x1: float
    z1: float
    x2: float
    y2: float
    z2: float
    x4: float
    y4: float

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self)):
            object.__setattr__(
                self, name, finite_float(f"PairParameters.{name}", getattr(self, name))
            )

    def members(self) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour positions of A+ and A−, two arrays of shape (4, 3)."""
        common = [
            [self.x1, 0.0, self.z1],
            [self.x2, self.y2, self.z2],
            [self.x2, -self.y2, -self.z2],
        ]
        plus = np.array([*common, [self.x4, self.y4, 0.0]])
        minus = np.array([*common, [self.x4, -self.y4, 0.0]])
        return plus, minus

    def fold(self) -> PairParameters:
        """The fold of this pair: r4 turned within the xy plane onto the x axis (y4 = 0).

        |r4| and the sign of x4 are kept; A+ and A− coincide there.
        """
        radius = float(np.hypot(self.x4, self.y4))
        return PairParameters(
            **{**asdict(self), "x4": radius if self.x4 >= 0 else -radius, "y4": 0.0}
        )

    @classmethod
    def from_neighbors(cls, neighbors: np.ndarray, *, tol: float = 1e-8) -> PairParameters:
        """Read the parameters back from an A+ member; refuse a structure outside the family."""
        r = np.asarray(neighbors, dtype=float)
        if r.shape != (4, 3):
            raise DegeneracyError(f"an A± member has 4 neighbours, got shape {r.shape}")
        residual = max(
            abs(r[0, 1]),
            abs(r[3, 2]),
            float(np.abs(r[2] - r[1] * np.array([1.0, -1.0, -1.0])).max()),
        )
        if residual > tol:
            raise DegeneracyError(
                f"not a member of the A± family (deviation {residual:.3g} Å from its constraints)"
            )
        values = (r[0, 0], r[0, 2], r[1, 0], r[1, 1], r[1, 2], r[3, 0], r[3, 1])
        return cls(*(float(v) for v in values))


def _parameter_list(values: Any, name: str) -> list[PairParameters]:
    """``values`` as a list of :class:`PairParameters`, else named (``name``: the argument)."""
    if isinstance(values, PairParameters):
        raise DegeneracyError(f"{name}: give a list of PairParameters, e.g. [p], not one")
    if not isinstance(values, Iterable) or isinstance(values, str | Mapping):
        raise DegeneracyError(
            f"{name} must be a list of PairParameters, got {type(values).__name__}"
        )
    values = list(values)
    for index, item in enumerate(values):
        if not isinstance(item, PairParameters):
            raise DegeneracyError(
                f"{name}: item {index} is a {type(item).__name__}, not a PairParameters"
            )
    return values


def _pair_info(info: Any, n_pairs: int) -> list[dict]:
    """``info`` of :func:`pair_frames` as one dict per pair (empty ones when ``None``)."""
    if info is None:
        return [{} for _ in range(n_pairs)]
    if not isinstance(info, Iterable) or isinstance(info, str | Mapping):
        raise DegeneracyError(
            f"info must be a list of mappings, one per pair, got {type(info).__name__}"
        )
    info = list(info)
    if len(info) != n_pairs:
        raise DegeneracyError(
            f"info has {len(info)} entries for {n_pairs} pairs: give one per pair"
        )
    for index, entry in enumerate(info):
        if not isinstance(entry, Mapping):
            raise DegeneracyError(f"info: entry {index} must be a mapping, got {entry!r}")
    return [dict(entry) for entry in info]


@dataclass(frozen=True)
class Alignment:
    """Best superposition of one environment onto another (rotation, reflection, permutation).

    ``residual`` is the RMS over neighbours of :math:`|R\\,b_{\\pi(i)} - a_i|` (Å).
    """

    residual: float
    permutation: tuple[int, ...]
    rotation: np.ndarray


def best_alignment(
    reference: np.ndarray, other: np.ndarray, species: Sequence[int] | None = None
) -> Alignment:
    r"""Superpose ``other`` onto ``reference``: permutations of equal neighbours, Kabsch.

    Both are neighbour positions (N, 3) relative to the centre; proper and improper
    rotations are tried (:func:`degeneracy.sensitivity.best_superposition`: every
    permutation up to 8! of them that a lower bound does not exclude, above that one per
    image of an anchor pair,
    where a congruent pair is still found exactly and ``residual`` otherwise bounds the
    best from above).

    Parameters
    ----------
    reference : array (N, 3)
        Neighbour positions :math:`a_i` relative to the centre (Å).
    other : array (N, 3)
        Neighbour positions :math:`b_i` to superpose onto them (Å).
    species : sequence of int, optional
        Neighbour species, the same order in both; all equal if omitted.

    Returns
    -------
    Alignment
        The superposition of smallest RMS residual (Å): permutation :math:`\pi` and
        orthogonal :math:`R` (det ±1) with :math:`R\,b_{\pi(i)} \approx a_i`.

    Raises
    ------
    DegeneracyError
        When the two have different shapes or, above 8! permutations, when the
        neighbours of either are collinear with the centre (no anchor pair).
    """
    best = best_superposition(reference, other, species)
    return Alignment(best.residual, best.permutation, best.rotation)


def equal_radius_partner_residual(neighbors: np.ndarray) -> float:
    r"""How far an equal-radius environment is from having any ν = 2-degenerate partner.

    With all :math:`|\mathbf r_i|` equal, two environments have the same ν = 2 features
    exactly when their multisets of pair angles agree, i.e. when the partner's Gram matrix
    :math:`G'` of unit vectors is the original :math:`G` with its six off-diagonal values
    rearranged over the edges of the tetrahedron. A rearrangement not induced by
    relabelling the neighbours is realised by real vectors in 3D iff :math:`G'` is positive
    semi-definite with a zero eigenvalue. Returns the smallest :math:`|\lambda_{\min}(G')|`
    over all such rearrangements with :math:`\lambda_2(G') \ge 0`: ~1e-16 when a partner
    exists, clearly positive when none does. Only for 4 neighbours.

    Parameters
    ----------
    neighbors : array (4, 3)
        Neighbour positions relative to the centre (Å), all at the same distance (to
        1e-9 relative).

    Returns
    -------
    float
        :math:`\min |\lambda_{\min}(G')|` over the rearrangements with
        :math:`\lambda_2(G') > -10^{-12}`; ``inf`` when there is none.

    Raises
    ------
    DegeneracyError
        When there are not 4 neighbours at equal distances.
    """
    neighbors = neighbor_array(neighbors, "equal_radius_partner_residual")
    radii = np.linalg.norm(neighbors, axis=1)
    if neighbors.shape != (4, 3) or np.ptp(radii) > 1e-9 * radii.max() or not radii.min() > 0:
        raise DegeneracyError(
            "the partner test needs 4 neighbours at equal distances, away from the centre"
        )
    units = neighbors / radii[:, None]
    gram = units @ units.T
    edges = list(itertools.combinations(range(4), 2))
    values = np.array([gram[a, b] for a, b in edges])
    induced = {
        tuple(edges.index(tuple(sorted((p[a], p[b])))) for a, b in edges)
        for p in itertools.permutations(range(4))
    }
    rearranged = np.array([s for s in itertools.permutations(range(6)) if s not in induced])
    matrices = np.tile(np.eye(4), (len(rearranged), 1, 1))
    rows, cols = np.array(edges).T
    matrices[:, rows, cols] = values[rearranged]
    matrices[:, cols, rows] = values[rearranged]
    eigenvalues = np.linalg.eigvalsh(matrices)
    realisable = eigenvalues[:, 1] > -1e-12
    if not np.any(realisable):
        return float("inf")
    return float(np.abs(eigenvalues[realisable, 0]).min())


@dataclass(frozen=True, kw_only=True)
class PairSampler:
    r"""Random A± pairs that are valid CH4 environments and clearly distinct.

    Radii of r1, r2, r4 uniform in ``[r_min, r_max]``; r1 at a uniform angle in the xz
    plane, r2 uniform on the sphere, r4 at a uniform azimuth in the upper half (y4 > 0) of
    the xy plane. A pair is kept when A+ (hence A−, which has the same distances and
    angles) has every H–C–H angle in ``[angle_min, angle_max]`` and every H–H distance at
    least ``hh_min`` (the ranges of :class:`~degeneracy.structures.MethaneSampler`), when
    ``y4 ≥ y4_min`` (away from the fold) and when the best superposition of A− onto A+
    (:func:`best_alignment`) leaves an RMS residual of at least ``separation_min`` Å.
    """

    r_min: float = MethaneSampler.r_min
    r_max: float = MethaneSampler.r_max
    angle_min: float = MethaneSampler.angle_min
    angle_max: float = MethaneSampler.angle_max
    hh_min: float = MethaneSampler.hh_min
    y4_min: float = 0.2
    separation_min: float = 0.1

    def __post_init__(self) -> None:
        check_sampler_ranges(self)
        for field in ("y4_min", "separation_min"):
            non_negative_float(f"PairSampler.{field}", getattr(self, field))
        if self.y4_min >= self.r_max:
            raise DegeneracyError(
                f"PairSampler: y4_min {self.y4_min} Å is out of reach of r4 ≤ r_max {self.r_max} Å"
            )

    def _candidates(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Parameter rows (x1, z1, x2, y2, z2, x4, y4), shape (size, 7)."""
        radii = rng.uniform(self.r_min, self.r_max, size=(size, 3))
        phi1 = rng.uniform(0.0, 2.0 * np.pi, size)
        direction = rng.normal(size=(size, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        phi4 = rng.uniform(0.0, np.pi, size)
        return np.column_stack(
            [
                radii[:, 0] * np.cos(phi1),
                radii[:, 0] * np.sin(phi1),
                radii[:, 1, None] * direction,
                radii[:, 2] * np.cos(phi4),
                radii[:, 2] * np.sin(phi4),
            ]
        )

    def valid(self, neighbors: np.ndarray) -> np.ndarray:
        """Which environments (n, 4, 3) satisfy the radius, angle and H–H limits."""
        radii = np.linalg.norm(neighbors, axis=-1)
        units = neighbors / radii[..., None]
        i, j = np.triu_indices(neighbors.shape[1], k=1)
        cosines = np.einsum("nia,nia->ni", units[:, i], units[:, j])
        separation = np.linalg.norm(neighbors[:, i] - neighbors[:, j], axis=-1)
        cos_lo, cos_hi = np.cos(np.radians(self.angle_max)), np.cos(np.radians(self.angle_min))
        return (
            ((radii >= self.r_min - 1e-12) & (radii <= self.r_max + 1e-12)).all(axis=1)
            & ((cosines >= cos_lo) & (cosines <= cos_hi)).all(axis=1)
            & (separation >= self.hh_min).all(axis=1)
        )

    def parameters(self, n: int, *, seed: int | np.random.Generator) -> list[PairParameters]:
        """``n`` accepted pairs, reproducible by ``seed``."""
        n = bounded_int("number of pairs", n, minimum=0, maximum=MAX_PAIRS)
        rng = seeded_generator(seed)
        accepted: list[PairParameters] = []
        for _ in rejection_rounds(self, n, lambda: len(accepted)):
            rows = self._candidates(rng, max(64, 4 * (n - len(accepted))))
            rows = rows[rows[:, 6] >= self.y4_min]
            members = [PairParameters(*row).members() for row in rows]
            if not members:
                continue
            plus = np.array([m[0] for m in members])
            for row, (a, b), ok in zip(rows, members, self.valid(plus), strict=True):
                if ok and best_alignment(a, b).residual >= self.separation_min:
                    accepted.append(PairParameters(*(float(v) for v in row)))
                    if len(accepted) == n:
                        break
        return accepted

    def folds(self, n: int, *, seed: int) -> list[PairParameters]:
        """``n`` fold points (y4 = 0) of accepted pairs, reproducible by ``seed``.

        A fold is kept when it is itself a valid environment and not symmetric: its best
        self-superposition other than the identity
        (:func:`~degeneracy.sensitivity.point_symmetry`) leaves at least
        ``separation_min`` Å, so its extra ν = 2 zero is spurious.
        """
        n = bounded_int("number of folds", n, minimum=0, maximum=MAX_PAIRS)
        rng = seeded_generator(seed)
        accepted: list[PairParameters] = []
        for _ in rejection_rounds(self, n, lambda: len(accepted)):
            batch = [p.fold() for p in self.parameters(max(16, n - len(accepted)), seed=rng)]
            plus = np.array([p.members()[0] for p in batch])
            for parameters, neighbors, ok in zip(batch, plus, self.valid(plus), strict=True):
                if ok and point_symmetry(neighbors).residual >= self.separation_min:
                    accepted.append(parameters)
                    if len(accepted) == n:
                        break
        return accepted


def pair_frames(
    pairs: Sequence[PairParameters], *, info: Sequence[Mapping] | None = None
) -> list[ase.Atoms]:
    """Environments A+, A− of every pair as consecutive frames (``info``: pair, member, params).

    Parameters
    ----------
    pairs : sequence of PairParameters
        The pairs.
    info : sequence of mapping, optional
        One mapping per pair, added to the ``info`` of both of its members.

    Returns
    -------
    list of ase.Atoms
        ``2 len(pairs)`` CH4 environments, A+ then A− of each pair; ``info`` holds
        ``pair`` (its index), ``member`` (``"+"`` or ``"-"``) and the parameters
        ``x1`` ... ``y4`` (Å).

    Raises
    ------
    DegeneracyError
        When ``pairs`` is not a list of PairParameters, or ``info`` is not a list of
        mappings with one per pair.
    """
    pairs = _parameter_list(pairs, "pairs")
    extras = _pair_info(info, len(pairs))
    frames = []
    for k, (parameters, extra) in enumerate(zip(pairs, extras, strict=True)):
        for member, neighbors in zip(MEMBERS, parameters.members(), strict=True):
            frames.append(
                environment_from_neighbors(
                    neighbors, info={"pair": k, "member": member, **asdict(parameters), **extra}
                )
            )
    return frames


def random_pairs(n: int, *, seed: int, sampler: PairSampler | None = None) -> list[ase.Atoms]:
    """``n`` random A± pairs as ``2n`` consecutive frames (:class:`PairSampler`).

    Parameters
    ----------
    n : int
        Number of pairs, 0 to :data:`MAX_PAIRS`.
    seed : int
        Seed of the draw.
    sampler : PairSampler, optional
        The sampler and its limits (default: ``PairSampler()``).

    Returns
    -------
    list of ase.Atoms
        The pairs as :func:`pair_frames` writes them.

    Raises
    ------
    DegeneracyError
        When ``n`` or ``seed`` is not an allowed integer, ``sampler`` is not a
        :class:`PairSampler`, or the sampler's limits leave (almost) no room
        (:data:`~degeneracy.structures.MAX_REJECTION_ROUNDS` rounds).
    """
    if sampler is not None and not isinstance(sampler, PairSampler):
        raise DegeneracyError(
            f"sampler must be a PairSampler, got {type(sampler).__name__} {sampler!r}"
        )
    return pair_frames((sampler or PairSampler()).parameters(n, seed=seed))


def fold_frames(folds: Sequence[PairParameters]) -> list[ase.Atoms]:
    """One environment per fold point (``info``: fold index and parameters).

    ``folds`` have y4 = 0 (:meth:`PairSampler.folds`, :meth:`PairParameters.fold`).

    Parameters
    ----------
    folds : sequence of PairParameters
        Fold points, each with ``y4 == 0``.

    Returns
    -------
    list of ase.Atoms
        One CH4 environment per fold (its A+ member, equal to A−); ``info`` holds
        ``fold`` (its index) and the parameters ``x1`` ... ``y4`` (Å).

    Raises
    ------
    DegeneracyError
        When ``folds`` is not a list of PairParameters or a fold has ``y4 != 0``.
    """
    frames = []
    for k, parameters in enumerate(_parameter_list(folds, "folds")):
        if parameters.y4 != 0:
            raise DegeneracyError(f"fold {k}: y4 = {parameters.y4} is not 0")
        frames.append(
            environment_from_neighbors(
                parameters.members()[0], info={"fold": k, **asdict(parameters)}
            )
        )
    return frames


def _angle_list(name: str, values: Any) -> list[float]:
    """``values`` (a sequence of numbers) as floats; else named."""
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise DegeneracyError(f"{name} must be a sequence of angles, got {values!r}")
    return [finite_float(name, value, "angle") for value in values]


def prl2020_grid(
    betas: Sequence[float] = PRL_BETAS, alphas: Sequence[float] = PRL_ALPHAS
) -> list[ase.Atoms]:
    r"""The PRL 2020 CH4 grid as consecutive frames: H4 = h(β, α) then h(β, −α).

    ``info``: pair, member, beta, alpha (of the + member, degrees) and ``exact`` — True
    only for β = 0, the members that are exact ν = 2 pairs (module docstring).

    Parameters
    ----------
    betas : sequence of float
        Elevations β of H4 (degrees); default the PRL 2020 grid, −18° to 18° in 4.5° steps.
    alphas : sequence of float
        Azimuths α of H4 (degrees); default −162° to −126° in 4.5° steps.

    Returns
    -------
    list of ase.Atoms
        ``2 len(betas) len(alphas)`` CH4 environments
        (:func:`~degeneracy.structures.prl2020_methane`), pair ``k`` running over β, then
        α within each β.
    """
    betas, alphas = _angle_list("betas", betas), _angle_list("alphas", alphas)
    frames = []
    for k, (beta, alpha) in enumerate(itertools.product(betas, alphas)):
        for member, sign in zip(MEMBERS, (1.0, -1.0), strict=True):
            atoms = prl2020_methane(beta, sign * alpha)
            atoms.info.update(
                {"pair": k, "member": member, "beta": beta, "alpha": alpha, "exact": beta == 0}
            )
            frames.append(atoms)
    return frames


@dataclass(frozen=True)
class PairVerdict:
    """Verification of one pair: feature distances, four-body targets, relation.

    Attributes
    ----------
    pair : int
        Index of the pair (frames ``2·pair`` and ``2·pair + 1``).
    distance : dict
        Fingerprint name -> relative distance :math:`|x_a - x_b| / |x_a|`.
    fourbody : tuple of float
        E4 of both members.
    related : bool
        Whether a rotation/reflection plus permutation maps one onto the other.
    residual : float
        RMS residual (Å) of the best such superposition.
    """

    pair: int
    distance: dict[str, float]
    fourbody: tuple[float, float]
    related: bool
    residual: float

    def to_dict(self) -> dict:
        """JSON-ready mapping."""
        return {
            "pair": self.pair,
            "distance": dict(self.distance),
            "fourbody": list(self.fourbody),
            "related": self.related,
            "residual": self.residual,
        }


def split_pairs(
    frames: Sequence[ase.Atoms], *, where: str = ""
) -> tuple[list[ase.Atoms], list[ase.Atoms]]:
    """Consecutive frames (A+, A−, A+, A−, ...) into the lists of first and second members.

    ``where`` (e.g. the file) starts the error message.
    """
    frames = list(frames)
    if not frames or len(frames) % 2:
        prefix = f"{where}: " if where else ""
        raise DegeneracyError(
            f"{prefix}a pair file needs an even, non-zero number of frames, got {len(frames)}"
        )
    return frames[0::2], frames[1::2]


def relative_distances(x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
    r""":math:`|x_a - x_b| / |x_a|` row by row, each row's the same to the last bit
    whatever the rows beside it.

    The rows are summed as C-ordered rows (numpy's pairwise sum along each): summed
    as they come, a column-major array (ACSF's and the bispectrum's features) of several
    rows is summed term after term across its columns, one row pairwise, so that a
    pair's distance moved in its last bits (3e-16 relative) with the pairs in the same
    ``features`` call (:func:`pair_distances`' batches, or the file).
    """
    x_a, x_b = np.ascontiguousarray(x_a), np.ascontiguousarray(x_b)
    return np.linalg.norm(x_a - x_b, axis=1) / np.linalg.norm(x_a, axis=1)


def _neighbors_by_species(atoms: ase.Atoms) -> ase.Atoms:
    """A copy of ``atoms`` with the neighbours (not the centre) sorted by atomic number,
    equal species in their original order."""
    order = np.argsort(atoms.numbers[1:], kind="stable") + 1
    return atoms[[0, *order.tolist()]]


def pair_distances(
    representation: Representation,
    frames: Sequence[ase.Atoms],
    *,
    batch_size: int = 200,
    progress: bool = False,
    desc: str = "",
) -> np.ndarray:
    r""":func:`relative_distances` of the features of frames ``2k`` and ``2k + 1``, one per
    pair, computed ``batch_size`` frames at a time.

    The representation's notes about the frames' features (its optional ``diagnose``,
    ``jacobian=False``: not the overlap matrix's kinks) are asked for all of them at
    once (:func:`~degeneracy.sensitivity.call_notes`, as
    :func:`~degeneracy.sensitivity.analyse_frames` does) and issued as
    :class:`~degeneracy.errors.DegeneracyWarning`, so that they count every frame, as
    one call would: the representation, which otherwise warns on its own about its
    first batch only, no longer does. At most ``batch_size`` frames' features (and one
    member held over when a pair straddles two batches) are held at once; a batch's
    error names the frame by its place in ``frames``.

    Parameters
    ----------
    representation : Representation
        The fingerprint.
    frames : list of ase.Atoms
        Pairs as consecutive frames, an even number of them, all of one size.
    batch_size : int
        Frames per ``features`` call (at least 1).
    progress : bool
        Show a progress bar.
    desc : str
        The progress bar's label.

    Returns
    -------
    array (len(frames) // 2,)
        :math:`|x_a - x_b| / |x_a|` per pair.
    """
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    frames = frame_list(frames)
    warn_call_notes(representation, frames, jacobian=False, stacklevel=3)
    distances = []
    held = None  # the features of a first member whose partner is in the next batch
    start = 0
    for chunk in batches(frames, batch_size, progress=progress, desc=desc):
        with numbered_as_given(np.arange(start, start + len(chunk))):
            features = representation.features(chunk)
        start += len(chunk)
        if held is not None:
            features = np.concatenate([held, features])
        paired = len(features) - len(features) % 2
        distances.append(relative_distances(features[0:paired:2], features[1:paired:2]))
        held = features[paired:] if paired < len(features) else None
    return np.concatenate(distances) if distances else np.zeros(0)


def verify_pairs(
    frames: Sequence[ase.Atoms],
    representations: Mapping[str, Representation],
    *,
    tol: float = SYMMETRY_TOL,
    where: str = "",
    batch_size: int = 200,
    progress: bool = False,
) -> list[PairVerdict]:
    """Check each consecutive pair of frames: distances per fingerprint, E4, relation.

    Features are computed ``batch_size`` frames at a time (:func:`pair_distances`), so
    that memory does not grow with the number of frames times the features; a
    fingerprint's warnings still count every frame.

    Parameters
    ----------
    frames : list of ase.Atoms
        Pairs as consecutive frames (``degeneracy pairs`` output).
    representations : mapping or sequence
        Fingerprint name -> :class:`Representation`, or the representations (named by
        their ``name``, as in :func:`~degeneracy.compare_fingerprints`).
    tol : float
        RMS residual (Å) under which the members count as the same structure.
    where : str
        Where the frames come from (e.g. the file), to start error messages.
    batch_size : int
        Frames per ``features`` call (bounds memory; a pair may straddle two batches).
    progress : bool
        Show a progress bar per fingerprint.

    Returns
    -------
    list of PairVerdict
        One per pair, in order; E4 is NaN for members without 4 neighbours.

    Raises
    ------
    DegeneracyError
        When ``tol`` is not a positive number of at most
        :data:`~degeneracy.checks.MAX_RESIDUAL_TOL` Å, ``batch_size`` is not an integer
        ≥ 1, ``frames`` is not a list of
        :class:`ase.Atoms` or not an even, non-zero number of them, ``representations``
        is neither a mapping nor a sequence of :class:`Representation` (or one refuses
        the frames), two of a sequence share a name,
        the frames have different numbers of atoms, or the members of a pair have
        different species.
    """
    tol = residual_tolerance_value("tol", tol)
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    progress = true_or_false("progress", progress)
    frames = frame_list(frames, name="verify_pairs")
    representations = fingerprints_by_name(representations)
    for representation in representations.values():
        fingerprint(representation)
    # Members (and pairs) may list the same species in other orders; fingerprints and the
    # superposition search do not depend on the order, so sort by species once here
    # (the members are compared atom by atom).
    first, second = split_pairs([_neighbors_by_species(atoms) for atoms in frames], where=where)
    check_same_size(frames)  # in every batch, whatever batch_size
    distances = {}
    for name, rep in representations.items():
        # both members in the same batches, a fingerprint's warnings counting every frame
        # (pair_distances), on the frames as given (its features do not depend on the
        # order of the neighbours): an error names the caller's frame and atom, not those
        # of the sorted copies
        distances[name] = pair_distances(
            rep, frames, batch_size=batch_size, progress=progress, desc=name
        )
    a, b = neighbor_positions(first), neighbor_positions(second)
    fourbody_a = fourbody_torsion(a) if a.shape[1] == 4 else np.full(len(a), np.nan)
    fourbody_b = fourbody_torsion(b) if b.shape[1] == 4 else np.full(len(b), np.nan)
    verdicts = []
    for k in range(len(first)):
        if not np.array_equal(first[k].numbers, second[k].numbers):
            prefix = f"{where}, " if where else ""
            raise DegeneracyError(f"{prefix}pair {k}: the two members have different species")
        alignment = best_alignment(a[k], b[k], first[k].numbers[1:])
        verdicts.append(
            PairVerdict(
                pair=k,
                distance={name: float(d[k]) for name, d in distances.items()},
                fourbody=(float(fourbody_a[k]), float(fourbody_b[k])),
                related=alignment.residual < tol,
                residual=alignment.residual,
            )
        )
    return verdicts
