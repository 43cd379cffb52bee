r"""SOAP bispectrum (ν = 3) from featomic's spherical expansion, with its analytic Jacobian.

Bartók, Kondor, Csányi, Phys. Rev. B 87, 184115 (2013). With the neighbour density
expanded on real spherical harmonics, :math:`\rho(\mathbf r) = \sum_{nlm} c_{nlm}
R_{nl}(r) Y_{lm}(\hat{\mathbf r})`, the bispectrum couples three coefficient vectors with
the real-basis Clebsch–Gordan coefficients :math:`C^{l_1 l_2 l_3}_{m_1 m_2 m_3}`:

.. math:: b_{n_1 l_1,\, n_2 l_2,\, n_3 l_3} = \sum_{m_1 m_2 m_3}
          C^{l_1 l_2 l_3}_{m_1 m_2 m_3}\; c_{n_1 l_1 m_1}\, c_{n_2 l_2 m_2}\, c_{n_3 l_3 m_3}.

It is invariant under rotations for every triangle :math:`(l_1, l_2, l_3)`; under
inversion it picks up :math:`(-1)^{l_1+l_2+l_3}`, so only even :math:`l_1+l_2+l_3` are
kept (the O(3) invariants). Being a four-body (ν = 3) correlation it tells apart the
degenerate pairs A± of Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020), that every
ν = 2 fingerprint confuses.

Jacobian by the product rule, from featomic's coefficient gradients
:math:`\partial c_{nlm} / \partial \mathbf r_a`:

.. math:: \frac{\partial b}{\partial \mathbf r_a} = \sum_{m_1 m_2 m_3} C\,\bigl(
          \partial c_1\, c_2\, c_3 + c_1\, \partial c_2\, c_3 + c_1\, c_2\, \partial c_3\bigr).

featomic's numpy path has no ν = 3 gradients (DESIGN.md §4), hence this module. The
real-basis coupling coefficients come from :func:`featomic.clebsch_gordan.
calculate_cg_coefficients` (complex Clebsch–Gordan coefficients of the ``wigners`` library,
transformed to featomic's real harmonics), so they match the coefficients' convention.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import ase
import ase.data
import featomic
import numpy as np
import sphericart
from featomic.clebsch_gordan import calculate_cg_coefficients
from metatensor import Labels

from ..checks import bounded_int
from ..species import atomic_number, species_numbers
from ..structures import vector_lengths
from ._featomic import (
    PicklableCalculatorCache,
    blocks_by_key,
    compute_centre,
    dense_block,
    new_calculator,
)
from .base import (
    check_frames,
    cutoff_radius,
    density_width,
    expansion_invariants_bound,
    seen_at_one_distance,
    species_members,
)


def angular_triples(l_max: int) -> list[tuple[int, int, int]]:
    r"""Angular triples :math:`l_1 \le l_2 \le l_3 \le l_\max` with :math:`l_3 \le l_1 + l_2`.

    Only even :math:`l_1 + l_2 + l_3` (inversion-invariant) are listed.
    """
    return [
        (l1, l2, l3)
        for l1 in range(l_max + 1)
        for l2 in range(l1, l_max + 1)
        for l3 in range(l2, min(l1 + l2, l_max) + 1)
        if (l1 + l2 + l3) % 2 == 0
    ]


@functools.lru_cache(maxsize=8)
def real_coupling(l_max: int) -> dict[tuple[int, int, int], np.ndarray]:
    r"""Real-basis Clebsch–Gordan arrays :math:`C^{l_1 l_2 l_3}`, shape (2l₁+1, 2l₂+1, 2l₃+1).

    From featomic (``python-dense`` layout), for the triples of :func:`angular_triples`.
    """
    tensor = calculate_cg_coefficients(l_max, "python-dense", "numpy", np.float64, "cpu")
    coupling = {}
    for triple in angular_triples(l_max):
        l1, l2, l3 = triple
        block = tensor.block({"l1": l1, "l2": l2, "lambda": l3})
        coupling[triple] = np.ascontiguousarray(block.values[0, :, :, :, 0])
    return coupling


def _unique_radial_mask(triple: tuple[int, int, int], n: int) -> np.ndarray:
    """Which (n1, n2, n3) to keep: b is symmetric under swapping equal-l factors."""
    n1, n2, n3 = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    keep = np.ones((n, n, n), dtype=bool)
    if triple[0] == triple[1]:
        keep &= n1 <= n2
    if triple[1] == triple[2]:
        keep &= n2 <= n3
    return keep.reshape(-1)


def _couple_two(cg: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """T[f, a, n, k] = Σ_{b c} cg[a, b, c] x[f, b, n] y[f, c, k], by two matrix products."""
    a, b, c = cg.shape
    # u[f, a, b, k] = Σ_c cg[a, b, c] y[f, c, k]
    u = np.matmul(cg.reshape(a * b, c), y).reshape(y.shape[0], a, b, y.shape[2])
    return np.matmul(x.transpose(0, 2, 1)[:, None], u)


def _contract_m(gradient: np.ndarray, partial: np.ndarray) -> np.ndarray:
    """Σ_m gradient[f, m, n, x] partial[f, m, p, q] as an array (f, n, x, p, q) (BLAS)."""
    f, m, n, x = gradient.shape
    _, _, p, q = partial.shape
    product = np.matmul(
        gradient.reshape(f, m, n * x).transpose(0, 2, 1), partial.reshape(f, m, p * q)
    )
    return product.reshape(f, n, x, p, q)


class Bispectrum(PicklableCalculatorCache):
    r"""SOAP bispectrum (ν = 3) of the centre atom with its analytic Jacobian.

    Parameters
    ----------
    sigma : float
        Gaussian density width σ (Å): at least :data:`~.base.MIN_SIGMA` (0.01) and
        cutoff / :data:`~.base.MAX_CUTOFF_OVER_SIGMA` (cutoff/35), below the cutoff
        (:func:`~.base.density_width`, checked here).
    cutoff : float
        Cutoff radius (Å), hard step as for :class:`SoapPowerSpectrum`, at most
        :data:`~.base.MAX_CUTOFF` (100) and 35 σ.
    n_max : int
        Radial GTO functions per neighbour species (1 to 12).
    l_max : int
        Band limit: largest angular channel of the expansion and of every coupled triple
        (0 to 10; the cost grows like its cube).
    center : str
        Species of the centre atom (atom 0).
    neighbors : sequence of str, or str
        Neighbour species whose density channels are used; several species are stacked
        into one radial index (species-major). One string is one species or a
        comma-separated list (:func:`~degeneracy.species.species_items`).

    Notes
    -----
    Features: for every triple of :func:`angular_triples` the values over radial indices
    :math:`(n_1, n_2, n_3)`, duplicates under the exchange of equal-:math:`l` factors
    removed, concatenated in the order of the triples. ``n_max = l_max = 4`` gives
    548 features; the cost grows like :math:`n_\max^3 l_\max^{\,3}`.

    Neighbours at one distance per species are seen through one sum over neighbour
    triples per angular triple (:meth:`first_order_invariants`), as the power spectrum
    sees them through one per :math:`l`
    (:meth:`~degeneracy.SoapPowerSpectrum.first_order_invariants`), but there are many
    more: 13 non-constant for :math:`l_\max` 4, 7 for 3 (one species), more than the 5
    angles of CH4. Equidistant CH4 (1.1 Å, random directions, n_max 4) has no zero for
    :math:`l_\max` 4 (s9/s1 median 0.046, ≥ 6e-5 over 100) or 3 (0.018, ≥ 3e-5), while
    :math:`l_\max` 2 has one and 1 has six; shells of 9 or more neighbours have zeros at
    the default :math:`l_\max` 4 (docs/concepts.md, "A truncated fingerprint at
    equidistant neighbours").
    """

    name = "bispectrum"

    def __init__(
        self,
        *,
        sigma: float = 0.3,
        cutoff: float = 2.5,
        n_max: int = 4,
        l_max: int = 4,
        center: str = "C",
        neighbors: Sequence[str] = ("H",),
    ) -> None:
        self.cutoff = cutoff_radius(cutoff)  # before featomic, which hangs on a huge one
        self.sigma = density_width(sigma, cutoff=self.cutoff)
        # named: the bispectrum's limits are lower than SOAP's (n_max 22, l_max 20)
        self.n_max = bounded_int("bispectrum n_max", n_max, minimum=1, maximum=12)
        self.l_max = bounded_int("bispectrum l_max", l_max, minimum=0, maximum=10)
        self.center = atomic_number(center, name="center")
        self.neighbors = species_numbers(neighbors, name="neighbors")
        self._triples = angular_triples(self.l_max)
        n = self.n_max * len(self.neighbors)
        self._masks = {triple: _unique_radial_mask(triple, n) for triple in self._triples}
        self._keys = Labels(
            ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"],
            np.array(
                [[l, 1, self.center, z] for l in range(self.l_max + 1) for z in self.neighbors],
                dtype=np.int32,
            ),
        )
        self._calculator: featomic.SphericalExpansion | None = None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hypers().items())
        return f"Bispectrum({args})"

    @property
    def n_features(self) -> int:
        """Length of the feature vector."""
        return int(sum(mask.sum() for mask in self._masks.values()))

    def labels(self) -> np.ndarray:
        """``(l1, l2, l3, n1, n2, n3)`` of every feature, shape (n_features, 6).

        ``n`` is the stacked radial index ``species_index * n_max + n``.
        """
        n = self.n_max * len(self.neighbors)
        radial = np.array(list(np.ndindex(n, n, n)))
        rows = [
            np.column_stack([np.tile(triple, (int(mask.sum()), 1)), radial[mask]])
            for triple, mask in self._masks.items()
        ]
        return np.concatenate(rows)

    def hypers(self) -> dict[str, Any]:
        """Hyperparameters (JSON-serialisable)."""
        return {
            "sigma": self.sigma,
            "cutoff": self.cutoff,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "center": ase.data.chemical_symbols[self.center],
            "neighbors": [ase.data.chemical_symbols[z] for z in self.neighbors],
        }

    @property
    def calculator(self) -> featomic.SphericalExpansion:
        """featomic's spherical expansion (GTO basis, step cutoff), built on first use."""
        if self._calculator is None:
            self._calculator = new_calculator(
                featomic.SphericalExpansion,
                f"bispectrum sigma {self.sigma:g} Å, cutoff {self.cutoff:g} Å, "
                f"n_max {self.n_max}, l_max {self.l_max}",
                cutoff={"radius": self.cutoff, "smoothing": {"type": "Step"}},
                density={"type": "Gaussian", "width": self.sigma},
                basis={
                    "type": "TensorProduct",
                    "max_angular": self.l_max,
                    "radial": {"type": "Gto", "max_radial": self.n_max - 1},
                },
            )
        return self._calculator

    def expansion(
        self, frames: Sequence[ase.Atoms], *, gradients: bool
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray] | None]:
        """Coefficients per l, ``(n_frames, 2l+1, n)``, and gradients ``(n_frames, 2l+1, n, 3N)``.

        ``n = n_max × len(neighbors)``, species-major.
        """
        frames = check_frames(frames, name=self.name, center=self.center, neighbors=self.neighbors)
        n_neighbors = len(frames[0]) - 1  # at least 1 (check_frames)
        tensor = compute_centre(
            self.calculator, frames, selected_keys=self._keys, gradients=gradients
        )
        values: dict[int, list[np.ndarray]] = {l: [] for l in range(self.l_max + 1)}
        jacobians: dict[int, list[np.ndarray]] = {l: [] for l in range(self.l_max + 1)}
        blocks = iter(blocks_by_key(tensor, self._keys))  # l-major, then z, as the keys
        for l in range(self.l_max + 1):
            for _ in self.neighbors:
                block = next(blocks)
                value, jacobian = dense_block(block, len(frames), n_neighbors, gradients=gradients)
                values[l].append(value)
                jacobians[l].append(jacobian)
        coefficients = {l: np.concatenate(v, axis=2) for l, v in values.items()}
        if not gradients:
            return coefficients, None
        return coefficients, {l: np.concatenate(j, axis=2) for l, j in jacobians.items()}

    def _couple(
        self,
        coefficients: dict[int, np.ndarray],
        jacobians: dict[int, np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        coupling = real_coupling(self.l_max)
        n_frames = next(iter(coefficients.values())).shape[0]
        features, derivatives = [], []
        for triple in self._triples:
            l1, l2, l3 = triple
            cg = coupling[triple]
            c1, c2, c3 = coefficients[l1], coefficients[l2], coefficients[l3]
            # t23[f, m1, n2, n3] = sum_{m2 m3} C c2 c3, then contract with c1 over m1.
            t23 = _couple_two(cg, c2, c3)
            mask = self._masks[triple]
            value = _contract_m(c1[..., None], t23).reshape(n_frames, -1)
            features.append(value[:, mask])
            if jacobians is None:
                continue
            d1, d2, d3 = jacobians[l1], jacobians[l2], jacobians[l3]
            t13 = _couple_two(cg.transpose(1, 0, 2), c1, c3)
            t12 = _couple_two(cg.transpose(2, 0, 1), c1, c2)
            # the three product-rule terms, each a batched matrix product over one m
            derivative = _contract_m(d1, t23).transpose(0, 1, 3, 4, 2)
            derivative += _contract_m(d2, t13).transpose(0, 3, 1, 4, 2)
            derivative += _contract_m(d3, t12).transpose(0, 3, 4, 1, 2)
            derivatives.append(derivative.reshape(n_frames, -1, derivative.shape[-1])[:, mask])
        values = np.concatenate(features, axis=1)
        if jacobians is None:
            return values, None
        return values, np.concatenate(derivatives, axis=1)

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
            power_spectrum=False,
        )

    def first_order_invariants(
        self, neighbors: np.ndarray, species: Sequence[int]
    ) -> np.ndarray | None:
        r"""The gradients of the few scalars through which the bispectrum sees, to first
        order, neighbours that sit at one distance per species; None when they do not.

        With the neighbours of species :math:`a` all at one distance :math:`r_a`
        (:func:`~.base.species_distances`, to :data:`~.base.EQUIDISTANT_RTOL`), each
        density coefficient factorises, :math:`c^a_{nlm} = I^a_{nl}(r_a)\, Y^a_{lm}` with
        :math:`Y^a_{lm} = \sum_{i \in a} Y_l^m(\hat{\mathbf r}_i)`, so every feature of the
        angular triple :math:`(l_1, l_2, l_3)` and species :math:`(a, b, c)` is

        .. math:: b = I^a_{n_1 l_1} I^b_{n_2 l_2} I^c_{n_3 l_3}\, T^{abc}_{l_1 l_2 l_3},
            \qquad T^{abc}_{l_1 l_2 l_3} = \sum_{m_1 m_2 m_3}
            C^{l_1 l_2 l_3}_{m_1 m_2 m_3}\, Y^a_{l_1 m_1} Y^b_{l_2 m_2} Y^c_{l_3 m_3},

        a sum over neighbour triples. A motion changes it, to first order, only through
        the angular sum :math:`T` and three radial ones, one per factor (from
        :math:`\partial I / \partial r_k`), e.g. for the first

        .. math:: R^{abc,1}_{l_1 l_2 l_3} = \sum_{k \in a} \delta r_k \sum_{m_1 m_2 m_3}
            C^{l_1 l_2 l_3}_{m_1 m_2 m_3}\, Y_{l_1}^{m_1}(\hat{\mathbf r}_k)\,
            Y^b_{l_2 m_2} Y^c_{l_3 m_3},

        .. math:: \delta b \propto I I I\, \delta T + I' I I\, R^1 + I I' I\, R^2
            + I I I'\, R^3.

        This returns the gradients :math:`G` of those scalars with respect to the
        neighbour positions (the real harmonics and their gradients from sphericart,
        featomic's convention, which the coupling :func:`real_coupling` shares). Every
        motion in the null space of :math:`G` beside the rotations is unseen at first
        order, whatever n_max, σ or the radial basis, so the purified Jacobian has at
        least :math:`\dim \operatorname{null}(G O)` zeros
        (:func:`~degeneracy.sensitivity.blind_motions`). Unlike the power spectrum's
        (:meth:`~degeneracy.SoapPowerSpectrum.first_order_invariants`) the count has no
        closed form: measured (2026-12-05, GTO, σ 0.3 Å, random directions) it is
        attained with every zero in that null space, e.g. 0, 2, 4, 6, 8 zeros for 8–12
        H at the default :math:`l_\max` 4, and 6, 1, 0 for CH4 at :math:`l_\max` 1, 2,
        3 (docs/concepts.md, "A truncated fingerprint at equidistant neighbours"). With
        fewer features than motions (n_max 1) the Jacobian has more zeros than that.

        Parameters
        ----------
        neighbors : array (N, 3)
            Neighbour positions relative to the centre (Å).
        species : sequence of int (N,)
            Their atomic numbers.

        Returns
        -------
        array (M, 3N) or None
            :math:`G`: per angular triple of :func:`angular_triples` and ordered species
            triple, :math:`T` then :math:`R^1, R^2, R^3`; None when some species'
            neighbours are not at one distance, a neighbour is at or beyond the cutoff
            (it is not seen at all) or of a species without a density channel here.
        """
        neighbors = np.asarray(neighbors, dtype=float).reshape(-1, 3)
        if not seen_at_one_distance(
            neighbors, species, channels=self.neighbors, cutoff=self.cutoff
        ):
            return None
        return triple_invariant_gradients(neighbors, species, self.l_max)

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Bispectrum features, shape ``(n_frames, n_features)``."""
        coefficients, _ = self.expansion(frames, gradients=False)
        return self._couple(coefficients, None)[0]

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        coefficients, jacobians = self.expansion(frames, gradients=True)
        return self._couple(coefficients, jacobians)


@functools.lru_cache(maxsize=8)
def _harmonics_calculator(l_max: int) -> sphericart.SphericalHarmonics:
    return sphericart.SphericalHarmonics(l_max)


def real_harmonics(l_max: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Real spherical harmonics :math:`Y_l^m(\hat{\mathbf r})`, shape ``(N, (l_max+1)²)``
    (index :math:`l^2 + l + m`), and their gradients with respect to the positions
    ``(N, 3, (l_max+1)²)``, at ``positions`` (N, 3) away from the origin.

    From sphericart (Bigi et al., J. Chem. Phys. 159, 064802, 2023), the harmonics
    featomic expands densities on, so they match :func:`real_coupling`.
    """
    positions = np.ascontiguousarray(positions, dtype=float).reshape(-1, 3)
    return _harmonics_calculator(l_max).compute_with_gradients(positions)


def triple_invariant_gradients(
    neighbors: np.ndarray, species: Sequence[int], l_max: int
) -> np.ndarray:
    r"""The gradients (M, 3N) of the bispectrum's first-order scalars of neighbours at one
    distance per species: per angular triple of :func:`angular_triples` and ordered
    species triple, the triple sum :math:`T` and the radial sums :math:`R^1, R^2, R^3`
    (:meth:`Bispectrum.first_order_invariants`, which checks that they are)."""
    neighbors = np.asarray(neighbors, dtype=float).reshape(-1, 3)
    units = neighbors / vector_lengths(neighbors)[:, None]
    values, slopes = real_harmonics(l_max, neighbors)
    members = species_members(species)
    coupling = real_coupling(l_max)
    rows = []
    for triple in angular_triples(l_max):
        bands = [slice(l * l, (l + 1) ** 2) for l in triple]
        for owners in itertools.product(members, repeat=3):
            sums = [owner @ values[:, band] for owner, band in zip(owners, bands, strict=True)]
            angular = np.zeros_like(neighbors)
            radial = []
            for slot, (owner, band) in enumerate(zip(owners, bands, strict=True)):
                # the coupling contracted with the other two factors' sums, (2l + 1,)
                others = [sums[other] for other in range(3) if other != slot]
                partial = np.einsum("abc,b,c->a", np.moveaxis(coupling[triple], slot, 0), *others)
                angular += owner[:, None] * (slopes[:, :, band] @ partial)
                radial.append(((owner * (values[:, band] @ partial))[:, None] * units).ravel())
            rows += [angular.ravel(), *radial]
    return np.array(rows)
