r"""SOAP power spectrum (ν = 2) through featomic, with its analytic Jacobian.

Bartók, Kondor, Csányi, Phys. Rev. B 87, 184115 (2013). With the neighbour density of
species :math:`a` around the centre expanded as
:math:`\rho_a(\mathbf r) = \sum_{nlm} c^{a}_{nlm} R_{nl}(r) Y_l^m(\hat{\mathbf r})`,

.. math:: p^{ab}_{n n' l} = \frac{(-1)^l}{\sqrt{2l+1}} \sum_{m=-l}^{l} c^{a}_{nlm}\,
          c^{b}_{n'lm},

featomic's convention (its coupling of two l-channels to l = 0 carries the
:math:`(-1)^l`; the sign of a feature changes no singular value).

Only the centre's environment is described (C-centred, H-density channels by default,
as in Pozdnyakov et al.'s Comment, 2022); the cutoff is a hard step.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import ase
import ase.data
import featomic
import numpy as np
import numpy.polynomial.legendre as legendre_series
from metatensor import Labels

from ..checks import one_of
from ..errors import DegeneracyError, DegeneracyWarning
from ..species import atomic_number, species_numbers
from ..structures import vector_lengths
from ._featomic import (
    PicklableCalculatorCache,
    blocks_by_key,
    compute_centre,
    dense_block,
    joined,
    new_calculator,
)
from .base import (
    check_frames,
    expansion_invariants_bound,
    seen_at_one_distance,
    species_members,
)
from .optimal_basis import (
    BUILTIN_SPECIES,
    DEFAULT_N_PRIMITIVE,
    OptimalBasis,
    builtin_basis_key,
    default_optimal_basis,
    primitive_radial_tables,
    radial_settings,
    tabulated_hypers,
    unfitted_species_note,
)

RADIAL_BASES = ("gto", "optimal")


class SoapPowerSpectrum(PicklableCalculatorCache):
    """SOAP power spectrum of the centre atom with a dense Jacobian (featomic backend).

    Parameters
    ----------
    sigma : float
        Gaussian density width σ (Å): at least :data:`~.base.MIN_SIGMA` (0.01) and
        cutoff / :data:`~.base.MAX_CUTOFF_OVER_SIGMA` (cutoff/35), below the cutoff
        (:func:`~.base.density_width`, checked here).
    cutoff : float
        Cutoff radius r_c (Å), hard step (no smoothing), at most :data:`~.base.MAX_CUTOFF`
        (100) and 35 σ.
    n_max, l_max : int
        Radial functions per channel (at most 22; with the built-in optimal basis at most
        ``n_primitive``) and largest angular channel (at most 20).
    basis : {"gto", "optimal"}
        featomic's orthonormal GTO radial basis, or the data-driven optimal basis
        (:mod:`.optimal_basis`): ``optimal_basis`` if given, else the cached built-in fit
        for the centre species (C- or H-centred CH4; other centres get the C-centred one).
    optimal_basis : OptimalBasis, optional
        A fitted basis; its σ, cutoff, n_max and l_max must match. A basis fitted on
        other centre or neighbour species is used, with a one-time
        :class:`~degeneracy.errors.DegeneracyWarning` (see :meth:`diagnose`).
    n_primitive : int, optional
        Primitive GTO functions of the built-in optimal basis (at most 22; default
        :data:`~.optimal_basis.DEFAULT_N_PRIMITIVE`). Refused with the GTO basis, which
        has none, and when it differs from a given ``optimal_basis``'s (whose are used):
        it would change the label, not the features.
    center : str
        Species of the centre atom (atom 0).
    neighbors : sequence of str, or str
        Neighbour species whose density channels are used; one string is one species or
        a comma-separated list (:func:`~degeneracy.species.species_items`).

    Notes
    -----
    Features: one block per neighbour-species pair (a ≤ b), each of size
    ``n_max² (l_max+1)``, concatenated in that order.
    """

    name = "soap"

    def __init__(
        self,
        *,
        sigma: float = 0.3,
        cutoff: float = 2.5,
        n_max: int = 8,
        l_max: int = 8,
        basis: str = "gto",
        optimal_basis: OptimalBasis | None = None,
        n_primitive: int | None = None,
        center: str = "C",
        neighbors: Sequence[str] = ("H",),
    ) -> None:
        self.basis = one_of("basis", basis, RADIAL_BASES)
        if n_primitive is not None and self.basis != "optimal":
            raise DegeneracyError(
                f"n_primitive sets the optimal basis's primitives, and basis is {self.basis}, "
                "which has none (give basis=optimal, or leave n_primitive out)"
            )
        # n_max ≤ n_primitive only for the built-in optimal basis: a given one brings its
        # own n_primitive (its settings are compared below), the GTO basis has none
        self.sigma, self.cutoff, self.n_max, self.l_max, self.n_primitive = radial_settings(
            sigma=sigma,
            cutoff=cutoff,
            n_max=n_max,
            l_max=l_max,
            n_primitive=DEFAULT_N_PRIMITIVE if n_primitive is None else n_primitive,
            optimal=self.basis == "optimal" and optimal_basis is None,
            soap=True,
        )
        self.center = atomic_number(center, name="center")
        self.neighbors = species_numbers(neighbors, name="neighbors")
        if optimal_basis is not None:
            if not isinstance(optimal_basis, OptimalBasis):
                raise DegeneracyError(
                    f"optimal_basis must be an OptimalBasis (e.g. OptimalBasis.load(path)), "
                    f"got {optimal_basis!r}"
                )
            if basis != "optimal":
                raise DegeneracyError("an optimal_basis was given but basis is not 'optimal'")
            mine = {
                "sigma": self.sigma,
                "cutoff": self.cutoff,
                "n_max": self.n_max,
                "l_max": self.l_max,
            }
            theirs = {k: optimal_basis.settings()[k] for k in mine}
            if mine != theirs:
                differ = ", ".join(
                    f"{k} {theirs[k]:g} (not {mine[k]:g})" for k in mine if mine[k] != theirs[k]
                )
                raise DegeneracyError(
                    f"optimal_basis: fitted for {differ}; fit one for these settings "
                    "(dg.fit_optimal_basis, or `degeneracy fit-basis`) or use the ones it was "
                    "fitted for"
                )
            if n_primitive is not None and self.n_primitive != optimal_basis.n_primitive:
                raise DegeneracyError(
                    f"optimal_basis: fitted for n_primitive {optimal_basis.n_primitive} (not "
                    f"{self.n_primitive}); fit one for these settings (dg.fit_optimal_basis, "
                    "or `degeneracy fit-basis`) or use the ones it was fitted for"
                )
            self.n_primitive = optimal_basis.n_primitive
        self._optimal_basis = self._given_basis = optimal_basis
        self._basis_note = self._unfitted_basis_note()
        self._warned = False
        self._calculator: featomic.SoapPowerSpectrum | None = None
        pairs = itertools.combinations_with_replacement(self.neighbors, 2)
        self._keys = Labels(
            ["center_type", "neighbor_1_type", "neighbor_2_type"],
            np.array([[self.center, a, b] for a, b in pairs], dtype=np.int32),
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hypers().items())
        return f"SoapPowerSpectrum({args})"

    @property
    def n_features(self) -> int:
        """Length of the feature vector."""
        return len(self._keys) * self.n_max**2 * (self.l_max + 1)

    def hypers(self) -> dict[str, Any]:
        """Hyperparameters (JSON-serialisable): the constructor's keyword arguments
        (``n_primitive`` with the optimal basis only), not ``optimal_basis``. They
        rebuild this fingerprint (:func:`~degeneracy.make_representation`) unless it was
        given a fitted basis: the rebuilt one takes the built-in basis of the same
        settings and computes other features, so pass the basis again
        (:attr:`given_basis`; :meth:`basis_identity` tells the two apart)."""
        hypers = {
            "sigma": self.sigma,
            "cutoff": self.cutoff,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "basis": self.basis,
            "center": ase.data.chemical_symbols[self.center],
            "neighbors": [ase.data.chemical_symbols[z] for z in self.neighbors],
        }
        if self.basis == "optimal":
            hypers["n_primitive"] = self.n_primitive
        return hypers

    @property
    def optimal_basis(self) -> OptimalBasis | None:
        """The radial basis in use when ``basis == "optimal"`` (fitted or loaded lazily)."""
        if self.basis == "optimal" and self._optimal_basis is None:
            self._optimal_basis = default_optimal_basis(
                sigma=self.sigma,
                cutoff=self.cutoff,
                n_max=self.n_max,
                l_max=self.l_max,
                n_primitive=self.n_primitive,
                center=self._builtin_centre(),
            )
        return self._optimal_basis

    @property
    def given_basis(self) -> OptimalBasis | None:
        """The optimal basis given to the constructor (None for the built-in or GTO)."""
        return self._given_basis

    def basis_identity(self) -> str | dict[str, str] | None:
        """Which radial basis this computes with, without fitting one: a given basis'
        digest, the built-in bases' cache keys by centre species (a scan rebuilds this
        representation for each centre species), or None for the GTO basis."""
        if self.basis != "optimal":
            return None
        if self._given_basis is not None:
            return self._given_basis.digest()
        settings = {**self.hypers(), "n_primitive": self.n_primitive}
        return {centre: builtin_basis_key(settings, center=centre) for centre in BUILTIN_SPECIES}

    def _builtin_centre(self) -> str:
        """The centre species of the built-in basis used: this one's, if there is one."""
        symbol = ase.data.chemical_symbols[self.center]
        return symbol if symbol in BUILTIN_SPECIES else "C"

    def _unfitted_basis_note(self) -> str | None:
        """Why the optimal basis does not suit this centre and these neighbours, if so."""
        if self.basis != "optimal":
            return None
        if self._optimal_basis is None:
            centre = self._builtin_centre()
            fitted = (centre, BUILTIN_SPECIES[centre])
            source = "the built-in optimal basis"
        else:
            fitted = self._optimal_basis.fitted_species()
            source = "the given optimal basis"
        return unfitted_species_note(
            fitted,
            ase.data.chemical_symbols[self.center],
            [ase.data.chemical_symbols[z] for z in self.neighbors],
            source=source,
        )

    def diagnose(self, frames: Sequence[ase.Atoms], *, jacobian: bool = True) -> list[str]:
        """Warnings that make the results less than they seem (empty if none).

        An optimal basis fitted on other centre or neighbour species: valid, but not
        optimal for these densities. A caller that reports them itself (``scan``, from its
        workers) takes over: this instance then no longer warns on its own, which it
        otherwise does once, as a :class:`~degeneracy.errors.DegeneracyWarning`, on its
        first computation.
        These concern the features themselves, with or without ``jacobian``.
        """
        self._warned = True
        return [] if self._basis_note is None else [self._basis_note]

    def warn_if_basis_unfitted(self, stacklevel: int = 3) -> None:
        """Warn, once per instance and unless :meth:`diagnose` took over, that the optimal
        basis was fitted on other species (for callers that run :attr:`calculator`
        themselves, e.g. the multi-centre model)."""
        if self._basis_note is not None and not self._warned:
            self._warned = True
            warnings.warn(DegeneracyWarning(self._basis_note), stacklevel=stacklevel + 1)

    @property
    def calculator(self) -> featomic.SoapPowerSpectrum:
        """The featomic calculator, built on first use."""
        if self._calculator is None:
            self._calculator = new_calculator(
                featomic.SoapPowerSpectrum, self._settings_text(), **self._featomic_hypers()
            )
        return self._calculator

    def _settings_text(self) -> str:
        return (
            f"SOAP sigma {self.sigma:g} Å, cutoff {self.cutoff:g} Å, n_max {self.n_max}, "
            f"l_max {self.l_max}, {self.basis} basis"
        )

    def _featomic_hypers(self) -> dict[str, Any]:
        if self.basis == "gto":
            return {
                "cutoff": {"radius": self.cutoff, "smoothing": {"type": "Step"}},
                "density": {"type": "Gaussian", "width": self.sigma},
                "basis": {
                    "type": "TensorProduct",
                    "max_angular": self.l_max,
                    "radial": {"type": "Gto", "max_radial": self.n_max - 1},
                },
            }
        basis = self.optimal_basis
        tables = primitive_radial_tables(
            sigma=self.sigma, cutoff=self.cutoff, l_max=self.l_max, n_primitive=basis.n_primitive
        )
        return tabulated_hypers(tables, cutoff=self.cutoff, projections=basis.projections)

    def _compute(
        self, frames: Sequence[ase.Atoms], gradients: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        frames = check_frames(frames, name=self.name, center=self.center, neighbors=self.neighbors)
        self.warn_if_basis_unfitted(stacklevel=4)
        n_neighbors = len(frames[0]) - 1
        tensor = compute_centre(
            self.calculator, frames, selected_keys=self._keys, gradients=gradients
        )
        dense = [
            dense_block(block, len(frames), n_neighbors, gradients=gradients)
            for block in blocks_by_key(tensor, self._keys)
        ]
        features = joined([values for values, _ in dense])
        if not gradients:
            return features, None
        return features, joined([jacobian for _, jacobian in dense])

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Power-spectrum features, shape ``(n_frames, n_features)``."""
        return self._compute(frames, gradients=False)[0]

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        return self._compute(frames, gradients=True)

    def motions_seen_at_most(self, n_neighbors: int) -> int | None:
        """The most internal motions of ``n_neighbors`` neighbours this fingerprint can
        see anywhere: the independent invariants of its expansion coefficients
        (:func:`~.base.expansion_invariants_bound`; at l_max 0 only the neighbours'
        distances), which may be fewer than its features
        (:func:`~degeneracy.sensitivity.seen_dimension`)."""
        return expansion_invariants_bound(
            n_max=self.n_max,
            l_max=self.l_max,
            n_species=len(self.neighbors),
            n_neighbors=int(n_neighbors),
            power_spectrum=True,
        )

    def first_order_invariants(
        self, neighbors: np.ndarray, species: Sequence[int]
    ) -> np.ndarray | None:
        r"""The gradients of the few scalars through which the power spectrum sees, to first
        order, neighbours that sit at one distance per species; None when they do not.

        With the neighbours of species :math:`a` all at one distance :math:`r_a`
        (:func:`~.base.species_distances`, to :data:`~.base.EQUIDISTANT_RTOL`), each density
        coefficient factorises, :math:`c^a_{nlm} = I^a_{nl}(r_a) \sum_{i \in a}
        Y_l^m(\hat{\mathbf r}_i)`, and by the addition theorem

        .. math:: p^{ab}_{nn'l} = (-1)^l \frac{\sqrt{2l+1}}{4\pi}\, I^a_{nl}(r_a)\,
            I^b_{n'l}(r_b)\, A^{ab}_l, \qquad A^{ab}_l = \sum_{i \in a,\, j \in b}
            P_l(\hat{\mathbf r}_i \cdot \hat{\mathbf r}_j).

        A motion :math:`\delta\mathbf r` changes it, to first order, only through the
        angular sums :math:`A^{ab}_l`, :math:`1 \le l \le l_\max`, one per unordered
        species pair :math:`a \le b` (:math:`A^{ab}_0 = N_a N_b` is constant), and the
        radial sums, one per ordered species pair :math:`(a, b)`,

        .. math:: R^{a \to b}_l = \sum_{k \in a} \delta r_k\, Q^b_l(k), \qquad
            Q^b_l(k) = \sum_{j \in b} P_l(\hat{\mathbf r}_k \cdot \hat{\mathbf r}_j),
            \quad 0 \le l \le l_\max

        (:math:`j = k` included for :math:`b = a`; from :math:`\partial I^a_{nl} /
        \partial r_k`):

        .. math:: \delta p^{ab}_{nn'l} \propto I^a_{nl} I^b_{n'l}\, \delta A^{ab}_l
            + I'^a_{nl} I^b_{n'l}\, R^{a \to b}_l + I^a_{nl} I'^b_{n'l}\, R^{b \to a}_l.

        This returns the gradients :math:`G` of those scalars with respect to the
        neighbour positions: :math:`\partial A^{ab}_l / \partial \mathbf r_k = [k \in a]
        \sum_{j \in b} P_l'(c_{kj})\, (1 - \hat{\mathbf r}_k \hat{\mathbf r}_k^\top)
        \hat{\mathbf r}_j / r_k + [k \in b] \sum_{i \in a} (\ldots)` and :math:`\partial
        R^{a \to b}_l / \partial \mathbf r_k = [k \in a]\, Q^b_l(k)\, \hat{\mathbf r}_k`.
        Every motion in the null space of :math:`G` is unseen at first order, whatever
        n_max, σ or the radial basis, so the purified Jacobian has at least
        :math:`\dim \operatorname{null}(G O)` zeros (:math:`O` the rotation complement,
        :func:`~degeneracy.sensitivity.blind_motions`): for one species at most
        :math:`l_\max` angular sums for :math:`2N - 3` motions that keep the distances
        and :math:`l_\max + 1` radial ones for :math:`N` that change them, so
        :math:`\max(0, 2N - 3 - l_\max) + \max(0, N - l_\max - 1)` zeros (CH4: 1 for
        :math:`l_\max` 4; 12 neighbours: 16 at the default :math:`l_\max` 8). Measured
        (2026-12-05, GTO, σ 0.3 Å, random directions): the purified Jacobian has exactly
        that many zeros and they lie in that null space (docs/concepts.md, "A truncated
        fingerprint at equidistant neighbours").

        The bispectrum (ν = 3) sees such neighbours through more scalars, one triple sum
        per angular triple (:meth:`degeneracy.Bispectrum.first_order_invariants`), and
        has fewer of these zeros.

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        species : sequence of int (N,)
            Their atomic numbers.

        Returns
        -------
        array (M, 3N) or None
            :math:`G`, the angular rows first (:math:`l_\max` per unordered species
            pair), then the radial ones (:math:`l_\max + 1` per ordered pair); None when
            some species' neighbours are not at one distance, a neighbour is at or
            beyond the cutoff (it is not seen at all) or of a species without a density
            channel here.
        """
        neighbors = np.asarray(neighbors, dtype=float).reshape(-1, 3)
        if not seen_at_one_distance(
            neighbors, species, channels=self.neighbors, cutoff=self.cutoff
        ):
            return None
        return invariant_gradients(neighbors, species, self.l_max)


def legendre(l_max: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Legendre polynomials :math:`P_l(x)` and their derivatives :math:`P_l'(x)`,
    :math:`0 \le l \le l_\max`, each of shape ``(l_max + 1, *x.shape)``
    (:mod:`numpy.polynomial.legendre`)."""
    x = np.asarray(x, dtype=float)
    values = np.moveaxis(legendre_series.legvander(x, l_max), -1, 0)
    basis = np.eye(l_max + 1)
    slopes = np.stack([legendre_series.legval(x, legendre_series.legder(c)) for c in basis])
    return values, slopes


def invariant_gradients(neighbors: np.ndarray, species: Sequence[int], l_max: int) -> np.ndarray:
    r"""The gradients (M, 3N) of the angular sums :math:`A^{ab}_l` (:math:`1 \le l \le
    l_\max`, :math:`a \le b`) and the radial sums :math:`R^{a \to b}_l` (:math:`0 \le l
    \le l_\max`, every ordered pair) of neighbours at one distance per species, with
    respect to their positions (:meth:`SoapPowerSpectrum.first_order_invariants`, which
    checks that they are)."""
    neighbors = np.asarray(neighbors, dtype=float).reshape(-1, 3)
    radii = vector_lengths(neighbors)
    units = neighbors / radii[:, None]
    values, slopes = legendre(l_max, np.clip(units @ units.T, -1.0, 1.0))
    # turned[k, j]: the change of r̂_k · r̂_j per displacement of neighbour k
    turned = (units[None, :, :] - (units @ units.T)[:, :, None] * units[:, None, :]) / radii[
        :, None, None
    ]
    members = species_members(species)
    angular = []
    for a, b in itertools.combinations_with_replacement(range(len(members)), 2):
        in_a, in_b = members[a], members[b]
        towards_b = np.einsum("lkj,j,kjc->lkc", slopes[1:], in_b, turned) * in_a[:, None]
        towards_a = np.einsum("lkj,j,kjc->lkc", slopes[1:], in_a, turned) * in_b[:, None]
        # (l_max, 3N): explicit, as l_max = 0 leaves no angular sums, and reshape(0, -1)
        # of an empty array is undefined
        angular.append((towards_b + towards_a).reshape(l_max, neighbors.size))
    radial = []
    for in_a, in_b in itertools.product(members, repeat=2):
        sums = np.einsum("lkj,j->lk", values, in_b) * in_a
        radial.append((sums[:, :, None] * units[None]).reshape(l_max + 1, -1))
    return np.vstack(angular + radial)
