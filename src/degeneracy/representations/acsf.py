r"""Atom-centred symmetry functions (Behler G2 and G4) with their analytic Jacobian.

Behler, J. Chem. Phys. 134, 074106 (2011). For the centre :math:`i` and neighbours
:math:`j, k` at :math:`\mathbf r_j` (relative to the centre, :math:`r_j = |\mathbf r_j|`,
:math:`r_{jk} = |\mathbf r_j - \mathbf r_k|`, :math:`\cos\theta_{jk} = \hat{\mathbf r}_j
\cdot \hat{\mathbf r}_k`), with the cosine cutoff
:math:`f_c(r) = \tfrac12[\cos(\pi r / r_c) + 1]` for :math:`r < r_c` and 0 beyond,

.. math::

    G^2_{\eta, R_s} = \sum_j e^{-\eta (r_j - R_s)^2} f_c(r_j),

    G^4_{\eta, \zeta, \lambda} = 2^{1-\zeta} \sum_{j<k} (1 + \lambda\cos\theta_{jk})^\zeta\,
        e^{-\eta (r_j^2 + r_k^2 + r_{jk}^2)}\, f_c(r_j)\, f_c(r_k)\, f_c(r_{jk}).

``angular="g5"`` replaces G4 by Behler's G5, which drops the neighbour–neighbour terms:

.. math::

    G^5_{\eta, \zeta, \lambda} = 2^{1-\zeta} \sum_{j<k} (1 + \lambda\cos\theta_{jk})^\zeta\,
        e^{-\eta (r_j^2 + r_k^2)}\, f_c(r_j)\, f_c(r_k),

so two neighbours see their angle even when they are farther apart than :math:`r_c`
(tetrahedral Si at a first-shell cutoff: G4 all vanish, G5 do not).

G2 is summed per neighbour species, G4 (G5) per unordered pair of neighbour species. Both are
functions of neighbour pairs (two distances and an angle), i.e. ν = 2 like the SOAP power
spectrum: they cannot tell the degenerate pairs A± apart. The definitions are those of
dscribe (which the tests check against); dscribe only offers numerical derivatives, so the
Jacobian is written out here by the chain rule.

Parameter sets (``parameter_set``; η in Å⁻², R_s in Å):

- ``"tight"`` (dense, 57 functions for one neighbour species): G2 with η = 50 (width
  0.1 Å) centred every 0.05 Å from 0.70 to 1.70 Å (21), G4 with η ∈ {0.005, 0.05, 0.2},
  ζ ∈ {1, 2, 4, 8, 16, 32}, λ = ±1 (36).
- ``"loose"`` (sparse, 11 functions): G2 with η = 1 at R_s ∈ {0, 1, 2} (3), G4 with
  η = 0.01, ζ ∈ {1, 2, 4, 16}, λ = ±1 (8).

- ``"scaled"``: the tight set in units of the cutoff, for other systems: R_s multiplied
  and η divided by :math:`(r_c / 2.5\,\text{Å})` and its square. Its features at cutoff
  :math:`r_c` of a structure scaled by :math:`r_c / 2.5` equal the tight features at
  2.5 Å of the unscaled one. Its G2 centres span 0.28–0.68 :math:`r_c`: choose
  :math:`r_c` so the bonds of interest fall inside (2.5 Å for C–H 1.09 Å; 3.5 Å for
  Si–Si 2.35 Å, which keeps the first shell only).

These are this project's choices (dense radial grid over the C–H range 0.9–1.47 Å of the
Parsaeifard–Goedecker data; broad functions for the sparse set), not published sets.
With neighbours that no G2 function reaches (the tight set at Si–Si 2.35 Å), the
Jacobian is nearly blind to bond stretching and the condition numbers say more about the
parameter set than about the fingerprint: :class:`Acsf` then warns
(:class:`~degeneracy.errors.DegeneracyWarning`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import ase
import ase.data
import numpy as np

from ..checks import one_of
from ..errors import DegeneracyError, DegeneracyWarning
from ..species import atomic_number, species_numbers
from ..structures import neighbor_array, neighbor_positions, vector_lengths
from .base import MAX_CUTOFF, check_frames, cutoff_radius, weighed_out_pairs


def _tight_set() -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
    g2 = [(50.0, float(r)) for r in np.round(np.arange(0.70, 1.7001, 0.05), 2)]
    g4 = [
        (eta, zeta, lam)
        for eta in (0.005, 0.05, 0.2)
        for zeta in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
        for lam in (-1.0, 1.0)
    ]
    return g2, g4


def _loose_set() -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
    g2 = [(1.0, 0.0), (1.0, 1.0), (1.0, 2.0)]
    g4 = [(0.01, zeta, lam) for zeta in (1.0, 2.0, 4.0, 16.0) for lam in (-1.0, 1.0)]
    return g2, g4


#: Named parameter sets: name -> (G2 [(η, R_s)], G4 [(η, ζ, λ)]); "scaled" also exists
#: (:func:`acsf_parameters`: the tight set in units of the cutoff).
ACSF_SETS = {"tight": _tight_set(), "loose": _loose_set()}

#: Cutoff (Å) the tight set was chosen for; "scaled" is the tight set at this cutoff.
TIGHT_CUTOFF = 2.5

#: A G2 Gaussian below this value at a neighbour distance does not "reach" it.
G2_REACH = 1e-3

#: Where the scaled set's G2 grid ends (last centre + one width), as a fraction of r_c.
_SCALED_REACH = (
    max(shift + 1.0 / np.sqrt(2.0 * eta) for eta, shift in ACSF_SETS["tight"][0]) / TIGHT_CUTOFF
)

#: Where the scaled set's G2 grid starts (first centre − one width), as a fraction of r_c:
#: a bond shorter than this of the cutoff is reached only by the first function's tail
#: (below :data:`G2_REACH` from 0.13 r_c down), so a *smaller* cutoff reaches it.
_SCALED_START = (
    min(shift - 1.0 / np.sqrt(2.0 * eta) for eta, shift in ACSF_SETS["tight"][0]) / TIGHT_CUTOFF
)


#: Smallest cutoff (Å) of the ``"scaled"`` set: its largest η, 50 Å⁻² × (2.5 Å / r_c)²,
#: is 3e302 Å⁻² there and not a finite number (``inf``) from about 1.3e-153 Å down; at
#: 1e-162 Å the scale's square is 0. Features and Jacobians stay finite at this bound
#: (measured 2026-12-06, CH4 scaled to it: the features of the unscaled one at 2.5 Å to
#: 1.3e-15, Jacobian entries up to 6e150 Å⁻¹).
MIN_SCALED_CUTOFF = 1e-150


def acsf_parameters(
    name: str, cutoff: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
    r"""G2 [(η, R_s)] and G4 [(η, ζ, λ)] of a named set at ``cutoff`` (Å).

    ``"scaled"`` is the tight set with lengths in units of :math:`s = r_c / 2.5` Å:

    .. math::

        R_s \to s R_s, \qquad \eta \to \eta / s^2,

    which leaves every function of :math:`r / r_c` unchanged.

    Parameters
    ----------
    name : {"tight", "loose", "scaled"}
        A key of :data:`ACSF_SETS`, or ``"scaled"``.
    cutoff : float
        Cutoff radius :math:`r_c` (Å), at most :data:`~.base.MAX_CUTOFF`; used by
        ``"scaled"`` only (at least :data:`MIN_SCALED_CUTOFF` there), checked for every
        set.

    Returns
    -------
    g2 : list of (float, float)
        Radial functions (η in Å⁻², R_s in Å).
    g4 : list of (float, float, float)
        Angular functions (η in Å⁻², ζ, λ); new lists, which the caller may change.

    Raises
    ------
    DegeneracyError
        When ``name`` is not a set, or ``cutoff`` is not a positive number of at most
        :data:`~.base.MAX_CUTOFF` Å (and, for ``"scaled"``, at least
        :data:`MIN_SCALED_CUTOFF` Å).
    """
    name = one_of("ACSF parameter set", name, [*ACSF_SETS, "scaled"])
    cutoff = cutoff_radius(cutoff)
    if name != "scaled":
        g2, g4 = ACSF_SETS[name]
        return list(g2), list(g4)  # copies: a caller's change must not alter the set
    if cutoff < MIN_SCALED_CUTOFF:
        raise DegeneracyError(
            f"ACSF parameter set 'scaled': cutoff {cutoff!r} Å is below its smallest, "
            f"{MIN_SCALED_CUTOFF:g} Å: its largest η, 50 Å⁻² × ({TIGHT_CUTOFF:g} Å / cutoff)², "
            "overflows to inf from 1.3e-153 Å down"
        )
    scale = cutoff / TIGHT_CUTOFF
    g2, g4 = ACSF_SETS["tight"]
    return (
        [(eta / scale**2, shift * scale) for eta, shift in g2],
        [(eta / scale**2, zeta, lam) for eta, zeta, lam in g4],
    )


def cosine_cutoff(r: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Behler's cutoff :math:`f_c(r)` and its derivative :math:`f_c'(r)` (zero beyond r_c)."""
    inside = r < cutoff
    phase = np.pi * np.where(inside, r, 0.0) / cutoff
    value = np.where(inside, 0.5 * (np.cos(phase) + 1.0), 0.0)
    slope = np.where(inside, -0.5 * np.pi / cutoff * np.sin(phase), 0.0)
    return value, slope


def _parameter_rows(values: Any, width: int, name: str, columns: str) -> np.ndarray:
    """Custom symmetry-function parameters as a float array (rows, ``width``), or an error
    naming them (``columns``: what a row holds)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(
            f"{name} parameters must be rows {columns}, got {values!r}"
        ) from error
    if array.size == 0:
        return np.zeros((0, width))
    if array.ndim != 2 or array.shape[1] != width:
        raise DegeneracyError(f"{name} parameters must be rows {columns}, got {values!r}")
    return array


#: Largest :math:`\eta r_c^2` of a parameter set: a Gaussian :math:`1/\sqrt{2\eta}` of
#: 7e-5 cutoffs (0.2 mÅ at 2.5 Å), finer than any structure file resolves (the named
#: sets reach 312). Far beyond it the Jacobian's :math:`\eta (r - R_s)` overflows where
#: the Gaussian underflows (η = 1e308 Å⁻² gave NaN rows, inf · 0, beside finite features).
MAX_ETA_CUTOFF2 = 1e8


def _check_eta(name: str, array: np.ndarray, cutoff: float) -> None:
    """Refuse an η (column 0) above :data:`MAX_ETA_CUTOFF2` / ``cutoff``², naming the row."""
    largest = MAX_ETA_CUTOFF2 / cutoff**2
    too_large = np.flatnonzero(array[:, 0] > largest)
    if too_large.size:
        row = int(too_large[0])
        raise DegeneracyError(
            f"{name} parameters: η must be at most {largest:.3g} Å⁻² with the cutoff "
            f"{cutoff:g} Å (a Gaussian {1 / np.sqrt(2 * largest):.2g} Å wide), got "
            f"{array[row, 0]:g} in row {row}"
        )


def _validated_g2(g2: Sequence[Sequence[float]], cutoff: float) -> np.ndarray:
    array = _parameter_rows(g2, 2, "G2", "(η, R_s)")
    if np.any(array[:, 0] <= 0) or not np.all(np.isfinite(array)):
        raise DegeneracyError(f"G2 parameters need η > 0 and finite R_s, got {array.tolist()}")
    _check_eta("G2", array, cutoff)
    return array


def _validated_g4(g4: Sequence[Sequence[float]], cutoff: float) -> np.ndarray:
    array = _parameter_rows(g4, 3, "G4", "(η, ζ, λ)")
    bad = (array[:, 0] <= 0) | (array[:, 1] < 1) | ~np.isin(array[:, 2], (-1.0, 1.0))
    if np.any(bad) or not np.all(np.isfinite(array)):
        raise DegeneracyError(f"G4 parameters need η > 0, ζ ≥ 1, λ = ±1, got {array.tolist()}")
    _check_eta("G4", array, cutoff)
    return array


class Acsf:
    r"""Behler G2 + G4 symmetry functions of the centre atom with an analytic Jacobian.

    Parameters
    ----------
    parameter_set : {"tight", "loose", "scaled", "custom"}
        A named set (module docstring) or ``"custom"`` with ``g2`` and ``g4`` given.
    cutoff : float
        Cutoff radius r_c (Å) of :func:`cosine_cutoff`, at most :data:`~.base.MAX_CUTOFF`
        (100); with ``"scaled"``, at least :data:`MIN_SCALED_CUTOFF` (1e-150).
    g2 : sequence of (η, R_s), optional
        Radial functions (η in Å⁻², R_s in Å); only with ``parameter_set="custom"``.
    g4 : sequence of (η, ζ, λ), optional
        Angular functions; only with ``parameter_set="custom"``.
    angular : {"g4", "g5"}
        Behler's G4 (with :math:`f_c(r_{jk})` and :math:`r_{jk}^2` in the exponent, the
        default) or G5 (without them) for the angular functions of ``g4``'s parameters.
    center : str
        Species of the centre atom (atom 0); frames with another centre are refused.
    neighbors : sequence of str, or str
        Neighbour species; G2 per species, G4 per unordered species pair. One string is
        one species or a comma-separated list (:func:`~degeneracy.species.species_items`).

    Notes
    -----
    Feature order: all G2 of the first species, of the second, ...; then all G4 of each
    species pair (a ≤ b; pairs ordered by b, then a) — dscribe's ACSF order without its G1
    block (species sorted by atomic number).
    """

    name = "acsf"

    def __init__(
        self,
        *,
        parameter_set: str = "tight",
        cutoff: float = 2.5,
        g2: Sequence[Sequence[float]] | None = None,
        g4: Sequence[Sequence[float]] | None = None,
        angular: str = "g4",
        center: str = "C",
        neighbors: Sequence[str] = ("H",),
    ) -> None:
        self.parameter_set = one_of(
            "ACSF parameter set", parameter_set, [*ACSF_SETS, "scaled", "custom"]
        )
        self.cutoff = cutoff_radius(cutoff)
        self.angular = one_of("ACSF angular functions", angular, ("g4", "g5"))
        if parameter_set == "custom":
            if g2 is None or g4 is None:
                raise DegeneracyError(
                    "a custom ACSF parameter set needs both g2 and g4, lists of (η, r_s) and "
                    "(η, ζ, λ): Acsf(parameter_set='custom', g2=..., g4=...) in Python (the "
                    "command line has the sets tight, loose and scaled)"
                )
        elif g2 is not None or g4 is not None:
            raise DegeneracyError("g2/g4 can only be given with parameter_set='custom'")
        else:
            g2, g4 = acsf_parameters(parameter_set, self.cutoff)
        self.g2 = _validated_g2(g2, self.cutoff)
        self.g4 = _validated_g4(g4, self.cutoff)
        if len(self.g2) + len(self.g4) == 0:
            raise DegeneracyError("the ACSF parameter set has no functions")
        self.center = atomic_number(center, name="center")
        self.neighbors = species_numbers(neighbors, name="neighbors")
        # dscribe's order of species pairs: (a, b) with a <= b, b outer
        self._species_pairs = [
            (a, b) for k, b in enumerate(self.neighbors) for a in self.neighbors[: k + 1]
        ]
        self._warned = False

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hypers().items())
        return f"Acsf({args})"

    @property
    def n_features(self) -> int:
        """Length of the feature vector."""
        return len(self.neighbors) * len(self.g2) + len(self._species_pairs) * len(self.g4)

    def hypers(self) -> dict[str, Any]:
        """Hyperparameters (JSON-serialisable); G2/G4 lists only for a custom set, the
        angular kind only when it is not the default G4."""
        hypers: dict[str, Any] = {
            "parameter_set": self.parameter_set,
            "cutoff": self.cutoff,
            "center": ase.data.chemical_symbols[self.center],
            "neighbors": [ase.data.chemical_symbols[z] for z in self.neighbors],
        }
        if self.parameter_set == "custom":
            hypers["g2"] = self.g2.tolist()
            hypers["g4"] = self.g4.tolist()
        if self.angular != "g4":
            hypers["angular"] = self.angular
        return hypers

    def _neighbors(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        frames = check_frames(frames, name=self.name, center=self.center, neighbors=self.neighbors)
        species = np.array([atoms.numbers[1:] for atoms in frames])
        return neighbor_positions(frames), species

    def neighbor_weights(self, neighbors: np.ndarray) -> np.ndarray:
        r"""Each neighbour's cutoff weight :math:`f_c(r)` (:func:`cosine_cutoff`), (N,).

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        radii = np.linalg.norm(neighbor_array(neighbors, "neighbor_weights"), axis=1)
        return cosine_cutoff(radii, self.cutoff)[0]

    def unseen_pairs(self, neighbors: np.ndarray) -> list[tuple[int, int]]:
        r"""Neighbour pairs whose angle no feature sees (:func:`weighed_out_pairs`).

        Every term carries :math:`f_c(r_j) f_c(r_k)`, G4 also :math:`f_c(r_{jk})`, which
        vanish with their slopes at :math:`r_c`: a neighbour at the cutoff, or (G4) two
        neighbours a cutoff or more apart, can turn without changing any feature.

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        neighbors = neighbor_array(neighbors, "unseen_pairs")
        weights = self.neighbor_weights(neighbors)
        return weighed_out_pairs(weights, self.angle_pair_weights(neighbors))

    def angle_pair_weights(self, neighbors: np.ndarray) -> np.ndarray | None:
        r"""The weight of each neighbour pair's own in the angular terms, (N(N−1)/2,) in
        ``numpy.triu_indices`` order: G4's :math:`f_c(r_{jk})`, zeros without angular
        functions (no angle is seen), None for G5 (no such factor)."""
        if len(self.g4) == 0:
            return np.zeros(len(neighbors) * (len(neighbors) - 1) // 2)
        return self.pair_cutoff_weights(neighbors)

    def pair_cutoff_weights(self, neighbors: np.ndarray) -> np.ndarray | None:
        r"""The cutoff weight :math:`f_c(r_{jk})` of each neighbour pair's own distance,
        (N(N−1)/2,) in ``numpy.triu_indices`` order, by which G4 weights the pair's terms;
        None when no feature weights a pair by its distance (G5, or no angular functions).

        Two neighbours well inside the cutoff but nearly a cutoff apart are faint in G4:
        a motion that only turns them is seen through :math:`f_c(r_{jk})` and its slope
        alone (:meth:`response_weights`), and such a pair is named by its distance
        (:class:`~degeneracy.sensitivity.weighed_out.WeighedOutPair`).

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        if self.angular != "g4" or len(self.g4) == 0:
            return None
        neighbors = neighbor_array(neighbors, "pair_cutoff_weights")
        j, k = np.triu_indices(len(neighbors), k=1)
        distances = np.linalg.norm(neighbors[j] - neighbors[k], axis=-1)
        return cosine_cutoff(distances, self.cutoff)[0]

    def motions_seen_at_most(self, n_neighbors: int) -> int | None:
        """The most internal motions of ``n_neighbors`` neighbours this fingerprint can
        see anywhere beyond what its feature count allows: without angular functions
        (``g4=[]``) only the neighbours' distances, so ``n_neighbors``, as for SOAP at
        l_max 0; None (no such bound) otherwise
        (:func:`~degeneracy.sensitivity.seen_dimension`)."""
        return int(n_neighbors) if len(self.g4) == 0 else None

    def response_weights(self, neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""The factors by which the cutoff weights scale the features' response to turning
        each neighbour, (N,), and each neighbour pair's terms, (N(N−1)/2,) in
        ``numpy.triu_indices`` order.

        A neighbour: :math:`f_c(r_j)`, by which every term it is in is multiplied (a turn
        leaves :math:`r_j` alone). A pair: :math:`f_c(r_j) f_c(r_k)`, with G4 also
        :math:`\sqrt{f_c(r_{jk})}` (a turn changes :math:`r_{jk}`, and
        :math:`f_c'(r) = -(\pi/r_c)\sqrt{f_c(r)\,(1 - f_c(r))}` vanishes only as the
        root); 0 without angular functions (no angle is seen). Measured with G5 and a
        neighbour moved out from 2.2 Å to 2.4999 Å in 40 random 4–8-neighbour
        environments: the turn's singular value is 6e-4–0.06 :math:`f_c s_1`, the radial
        motion's ∝ :math:`\sqrt{f_c}` (docs/concepts.md).

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        """
        neighbors = neighbor_array(neighbors, "response_weights")
        weights = self.neighbor_weights(neighbors)
        j, k = np.triu_indices(len(neighbors), k=1)
        pair_weights = weights[j] * weights[k]
        own = self.angle_pair_weights(neighbors)
        if own is not None:
            pair_weights = pair_weights * np.sqrt(own)
        return weights, pair_weights

    def unreached_distances(self, distances: np.ndarray) -> np.ndarray:
        r"""The neighbour distances inside the cutoff that no G2 function reaches.

        A distance :math:`r < r_c` is unreached when
        :math:`\max_k e^{-\eta_k (r - R_{s,k})^2} <` :data:`G2_REACH`: the radial
        functions, and so the Jacobian, barely change when that bond stretches.
        """
        r = np.asarray(distances, dtype=float).ravel()
        r = r[r < self.cutoff]
        if len(self.g2) == 0 or len(r) == 0:
            return r[:0]
        eta, shift = self.g2[:, :1], self.g2[:, 1:]
        reach = np.exp(-eta * (r[None] - shift) ** 2).max(axis=0)
        return r[reach < G2_REACH]

    def _blindness(self, positions: np.ndarray) -> list[str]:
        """The warnings of :meth:`diagnose` for neighbour positions (frames, N, 3)."""
        distances = vector_lengths(positions)  # (frames, N)
        return [
            *self._unreached_bonds(distances),
            *self._no_angles(positions, distances),
        ]

    def _unreached_bonds(self, distances: np.ndarray) -> list[str]:
        """Environments whose *nearest* neighbour no G2 function reaches.

        Farther neighbours near the cutoff are left to f_c and the broad G4 by design
        (the named sets' G2 grids end at about 0.7 r_c).
        """
        unreached = self.unreached_distances(distances.min(axis=1))
        if len(unreached) == 0:
            return []
        return [
            f"ACSF set {self.parameter_set!r} (cutoff {self.cutoff:g} Å) is nearly blind "
            f"to bond stretching here: no radial function reaches the nearest-neighbour distances "
            f"{unreached.min():.2f}–{unreached.max():.2f} Å; {self._reach_advice(distances)}"
        ]

    def _reach_advice(self, distances: np.ndarray) -> str:
        """What reaches the nearest-neighbour distances (frames, N) with G2: the scaled
        set, for the other sets; for the scaled set, whose G2 grid (0.24–0.72 r_c, first
        centre − one width to last centre + one width) moves with the cutoff, the
        cutoffs that put every nearest distance on it (a smaller one for short bonds, a
        larger one for long bonds), or a custom set when none does (nearest distances
        more than 3× apart)."""
        nearest = distances.min(axis=1)
        nearest = nearest[nearest < self.cutoff]
        shortest, longest = float(nearest.min()), float(nearest.max())
        if self.parameter_set != "scaled":
            return (
                f"use parameter_set 'scaled' with a cutoff of at least "
                f"{longest / _SCALED_REACH:.1f} Å, or a custom set"
            )
        low = math.ceil(10 * longest / _SCALED_REACH) / 10
        high = min(math.floor(10 * shortest / _SCALED_START) / 10, MAX_CUTOFF)
        grid = f"its G2 grid is {_SCALED_START:.2f}–{_SCALED_REACH:.2f} × the cutoff"
        if low > high:
            return (
                f"{grid}, and no cutoff puts {shortest:.2f}–{longest:.2f} Å on it: use a custom set"
            )
        change = "a smaller cutoff" if self.cutoff > high else "a larger cutoff"
        return f"{grid}: give {change}, {low:.1f}–{high:.1f} Å, or use a custom set"

    def _no_angles(self, positions: np.ndarray, distances: np.ndarray) -> list[str]:
        r"""Frames whose G4 are all zero: every neighbour pair is a cutoff or more apart.

        G4 carries :math:`f_c(r_{jk})`, so a pair of neighbours farther apart than
        :math:`r_c` adds nothing (e.g. a tetrahedral Si centre, Si–Si 2.35 Å and
        neighbour–neighbour 3.84 Å, at a first-shell cutoff of 3 Å).
        """
        if self.angular != "g4" or len(self.g4) == 0 or positions.shape[1] < 2:
            return []
        j, k = np.triu_indices(positions.shape[1], k=1)
        within = distances < self.cutoff
        inside = within[:, j] & within[:, k]
        pair = vector_lengths(positions[:, j] - positions[:, k])
        closest = np.where(inside, pair, np.inf).min(axis=1)  # per frame
        blind = np.isfinite(closest) & (closest >= self.cutoff)
        if not blind.any():
            return []
        return [
            f"ACSF (cutoff {self.cutoff:g} Å) sees no bond angles here: in "
            f"{int(blind.sum())} of the {len(blind)} environments checked every neighbour "
            f"pair is {closest[blind].min():.2f} Å or more apart, beyond the cutoff, and G4 "
            f"carries f_c(r_jk); use G5 (angular 'g5'), or a cutoff above "
            f"{closest[blind].max():.2f} Å (with more neighbours)"
        ]

    def diagnose(self, frames: Sequence[ase.Atoms], *, jacobian: bool = True) -> list[str]:
        """Warnings about these frames that make the results misleading (empty if none).

        Neighbour distances that no G2 function reaches (:meth:`unreached_distances`), and
        environments whose G4 all vanish because every neighbour pair is farther apart
        than the cutoff. A caller that reports them itself (``scan``, from
        its workers) takes over: this instance then no longer warns on its own, which it
        otherwise does once, as a :class:`~degeneracy.errors.DegeneracyWarning`, on its
        first such computation.
        These concern the features themselves, with or without ``jacobian``.
        """
        self._warned = True
        positions, _ = self._neighbors(frames)
        return self._blindness(positions)

    def _warn_if_blind(self, positions: np.ndarray) -> None:
        if self._warned:
            return
        self._warned = True
        for message in self._blindness(positions):
            warnings.warn(DegeneracyWarning(message), stacklevel=4)

    def _radial(
        self, positions: np.ndarray, species: np.ndarray, gradients: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """G2 values (f, S·K2) and, with ``gradients``, their gradients (f, S·K2, N, 3)."""
        r = np.linalg.norm(positions, axis=-1)  # (f, N)
        unit = positions / r[..., None]
        fc, dfc = cosine_cutoff(r, self.cutoff)
        eta, shift = self.g2[:, 0, None, None], self.g2[:, 1, None, None]  # (K2, 1, 1)
        gauss = np.exp(-eta * (r[None] - shift) ** 2)  # (K2, f, N)
        terms = gauss * fc[None]
        masks = [(species == z)[None] for z in self.neighbors]  # (1, f, N) each
        values = [np.where(mask, terms, 0.0).sum(axis=-1).T for mask in masks]  # (f, K2)
        if not gradients:  # features alone: the gradients cost most of the time and memory
            return np.concatenate(values, axis=1), None
        slopes = gauss * (dfc[None] - 2.0 * eta * (r[None] - shift) * fc[None])
        grads = []
        for mask in masks:
            grad = np.where(mask, slopes, 0.0)[..., None] * unit[None]  # (K2, f, N, 3)
            grads.append(np.moveaxis(grad, 0, 1))
        return np.concatenate(values, axis=1), np.concatenate(grads, axis=1)

    def _angular(
        self, positions: np.ndarray, species: np.ndarray, gradients: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """G4 (or G5) values (f, P·K4) and, with ``gradients``, their gradients
        (f, P·K4, N, 3)."""
        n_neighbors = positions.shape[1]
        j, k = np.triu_indices(n_neighbors, k=1)
        pj, pk = positions[:, j], positions[:, k]  # (f, p, 3)
        rj, rk = np.linalg.norm(pj, axis=-1), np.linalg.norm(pk, axis=-1)
        uj, uk = pj / rj[..., None], pk / rk[..., None]
        diff = pj - pk
        rjk = np.linalg.norm(diff, axis=-1)
        ujk = diff / rjk[..., None]
        cos = np.einsum("fpa,fpa->fp", uj, uk)
        grad_cos_j = (uk - cos[..., None] * uj) / rj[..., None]
        grad_cos_k = (uj - cos[..., None] * uk) / rk[..., None]
        (fj, dfj), (fk, dfk) = (cosine_cutoff(x, self.cutoff) for x in (rj, rk))
        if self.angular == "g4":
            fjk, dfjk = cosine_cutoff(rjk, self.cutoff)
            pair_squares, pair_term = rjk**2, diff
        else:  # G5: no neighbour-neighbour cutoff, no r_jk² in the exponent
            fjk, dfjk = np.ones_like(rjk), np.zeros_like(rjk)
            pair_squares, pair_term = 0.0, np.zeros_like(diff)
        cut = fj * fk * fjk
        grad_cut_j = (dfj * fk * fjk)[..., None] * uj + (fj * fk * dfjk)[..., None] * ujk
        grad_cut_k = (fj * dfk * fjk)[..., None] * uk - (fj * fk * dfjk)[..., None] * ujk
        squares = rj**2 + rk**2 + pair_squares
        grad_sq_j = 2.0 * (pj + pair_term)
        grad_sq_k = 2.0 * (pk - pair_term)

        eta, zeta, lam = (self.g4[:, c, None, None] for c in range(3))  # (K4, 1, 1)
        # 2^(1−ζ) (1 + λ cos)^ζ = 2 h^ζ with h = (1 + λ cos)/2 in [0, 1] (clipped: |cos|
        # may pass 1 by round-off): bounded for every ζ, where 2^(1−ζ) underflowed to 0
        # and (1 + λ cos)^ζ overflowed from ζ ≈ 1100 (NaN features and Jacobian)
        half = np.clip((1.0 + lam * cos[None]) / 2.0, 0.0, 1.0)  # (K4, f, p)
        angular = 2.0 * half**zeta
        radial = np.exp(-eta * squares[None])
        terms = angular * radial * cut[None]  # (K4, f, p)
        masks = []
        for a, b in self._species_pairs:
            sa, sb = species[:, j], species[:, k]
            masks.append((((sa == a) & (sb == b)) | ((sa == b) & (sb == a)))[None])  # (1, f, p)
        values = [np.where(mask, terms, 0.0).sum(axis=-1).T for mask in masks]
        if not gradients:  # features alone: the gradients cost most of the time and memory
            return np.concatenate(values, axis=1), None
        d_angular = zeta * lam * half ** (zeta - 1.0)  # d/dcos of 2 h^ζ

        def gradient(grad_cos, grad_sq, grad_cut):
            # d/dr of 2h^ζ·exp(−η s)·F, shape (K4, f, p, 3)
            return (
                (d_angular * radial * cut[None])[..., None] * grad_cos[None]
                - (eta * terms)[..., None] * grad_sq[None]
                + (angular * radial)[..., None] * grad_cut[None]
            )

        grad_j = gradient(grad_cos_j, grad_sq_j, grad_cut_j)
        grad_k = gradient(grad_cos_k, grad_sq_k, grad_cut_k)
        scatter = np.zeros((len(j), n_neighbors))
        grads = []
        for mask in masks:
            gj = np.where(mask[..., None], grad_j, 0.0)
            gk = np.where(mask[..., None], grad_k, 0.0)
            # accumulate pair gradients onto their two atoms: (K4, f, p, 3) -> (f, K4, N, 3)
            scatter_j = scatter.copy()
            scatter_j[np.arange(len(j)), j] = 1.0
            scatter_k = scatter.copy()
            scatter_k[np.arange(len(k)), k] = 1.0
            total = np.einsum("gfpa,pn->fgna", gj, scatter_j) + np.einsum(
                "gfpa,pn->fgna", gk, scatter_k
            )
            grads.append(total)
        return np.concatenate(values, axis=1), np.concatenate(grads, axis=1)

    def _compute(
        self, frames: Sequence[ase.Atoms], gradients: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        positions, species = self._neighbors(frames)
        n_frames, n_neighbors, _ = positions.shape  # at least 1 neighbour (check_frames)
        self._warn_if_blind(positions)
        positions = _far_neighbors_brought_in(positions, self.cutoff)
        radial, d_radial = self._radial(positions, species, gradients)
        angular, d_angular = self._angular(positions, species, gradients)
        features = np.concatenate([radial, angular], axis=1)
        if not gradients:
            return features, None
        jacobian = np.concatenate([d_radial, d_angular], axis=1)
        return features, jacobian.reshape(n_frames, features.shape[1], 3 * n_neighbors)

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """G2 then G4 values, shape ``(n_frames, n_features)``."""
        return self._compute(frames, gradients=False)[0]

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        return self._compute(frames, gradients=True)


def _far_neighbors_brought_in(positions: np.ndarray, cutoff: float) -> np.ndarray:
    """``positions`` (f, N, 3) with each neighbour beyond ``cutoff`` moved along its
    direction to 2 cutoffs from the centre. Every term with such a neighbour is 0 with
    its slopes (:func:`cosine_cutoff` and its derivative vanish there), wherever it is,
    but far out r² overflowed and r · 0 became NaN (from 1e154 Å)."""
    radii = vector_lengths(positions)[..., None]
    far = radii >= cutoff
    if not far.any():
        return positions
    directions = np.divide(positions, radii, where=far, out=np.zeros_like(positions))
    return np.where(far, directions * (2.0 * cutoff), positions)
