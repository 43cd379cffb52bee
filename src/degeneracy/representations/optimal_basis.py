r"""The data-driven "optimal" radial basis for SOAP.

Goscinski, Musil, Pozdnyakov, Nigam, Ceriotti, J. Chem. Phys. 155, 104106 (2021). For
each angular channel :math:`l`, expand the neighbour density of a training set on a large
orthonormal GTO basis of :math:`n_\mathrm{prim}` functions, form the (uncentred)
covariance of the coefficients summed over :math:`m`,

.. math:: C^{(l)}_{nn'} = \sum_{A} \sum_{m=-l}^{l} c^{A}_{nlm}\, c^{A}_{n'lm},

and keep its top :math:`n_\mathrm{max}` eigenvectors :math:`U^{(l)}` as the new radial
functions :math:`R'_{kl}(r) = \sum_n U^{(l)}_{nk} R_{nl}(r)`.

featomic takes such a basis as tabulated radial integrals: the integrals of the
primitive GTO basis (:func:`primitive_radial_tables`) are contracted with
:math:`U^{(l)}` — values and derivatives alike, which is exact because the contraction
is linear — and handed to ``featomic.basis.Explicit``.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ase
import ase.data
import featomic
import numpy as np
from featomic import basis as fbasis
from featomic import cutoff as fcutoff
from featomic import density as fdensity
from featomic.splines import Spline, SplinedRadialBasis
from metatensor import Labels

from ..checks import bounded_int, check_not_a_stream, existing_file
from ..environments import structure_environments
from ..errors import DegeneracyError, DegeneracyWarning
from ..files import atomic_path, cache_dir, cache_key
from ..species import atomic_number, species_numbers, species_text
from ..structures import DEFAULT_CUTOFF, MethaneSampler, check_finite_coordinates, frame_list
from ._featomic import compute_centre, dense_block, new_calculator
from .base import check_gto_splines, cutoff_radius, density_width, periodic_frame_error

#: Number of primitive GTO functions per angular channel that the PCA contracts: 20, as
#: the Comment's SOAP did (PCA of a 20-function expansion). The optimal basis depends on
#: it (featomic's GTO widths scale with the number of functions), most at σ = 0.1 Å: on
#: the published σ = 0.1 Å orbit frames our median condition number is 0.998× the
#: published with 20 (normalised spectrum within 1.4–3.2 %), 0.96× with 16 (4.8–7.5 %),
#: 0.98× with 18 and 1.02× with 22; at σ ≥ 0.2 Å 16 and 20 agree to 3e-5. featomic's
#: GTO overlap matrix is singular from 23 functions on.
DEFAULT_N_PRIMITIVE = 20

#: Size and seed of the built-in fitting set (random CH4 from :class:`MethaneSampler`).
DEFAULT_FIT_FRAMES = 2000
DEFAULT_FIT_SEED = 0

#: Centre species of the built-in bases and the neighbour species each is fitted with:
#: the C- and H-centred environments of random CH4 (:func:`default_optimal_basis`).
BUILTIN_SPECIES: dict[str, tuple[str, ...]] = {"C": ("H",), "H": ("C", "H")}

_FORMAT_VERSION = 1

RadialTables = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _soap_cutoff(cutoff: float) -> fcutoff.Cutoff:
    return fcutoff.Cutoff(radius=cutoff, smoothing=fcutoff.Step())


def primitive_radial_tables(
    *, sigma: float, cutoff: float, l_max: int, n_primitive: int, n_points: int = 1025
) -> RadialTables:
    r"""Radial integrals :math:`I_{nl}(r)` of featomic's GTO basis for a Gaussian density.

    featomic evaluates them natively (analytically, then splined to 1e-8) but does not
    expose them, so they are read back from its spherical expansion of a single
    neighbour on the z axis at distance :math:`r`, where only :math:`m = 0` survives:

    .. math:: c_{nl0}(r\hat z) = I_{nl}(r)\, Y_l^0(\hat z), \qquad
              \frac{\partial c_{nl0}}{\partial z} = I'_{nl}(r)\, Y_l^0(\hat z),

    with :math:`Y_l^0(\hat z) = \sqrt{(2l+1)/4\pi}` (the angular derivative vanishes
    on the axis). ``n_points`` evenly spaced radii on :math:`[0, r_c]` take ~1–2 s for
    20 functions; cubic Hermite interpolation between them is then exact to ~1e-10 at
    σ = 0.3 Å (the features of an identity contraction match featomic's GTO ones to
    3e-16 there, to 7e-9 at σ = 0.1 Å, whose integrals are sharper).

    Returns ``{l: (positions, values, derivatives)}``, arrays ``(n_points, n_primitive)``.
    """
    cutoff = cutoff_radius(cutoff)  # before featomic, which hangs on a huge cutoff
    sigma = density_width(sigma, cutoff=cutoff)
    calculator = new_calculator(
        featomic.SphericalExpansion,
        f"GTO radial integrals for sigma {sigma:g} Å, cutoff {cutoff:g} Å, {n_primitive} functions",
        cutoff={"radius": cutoff, "smoothing": {"type": "Step"}},
        density={"type": "Gaussian", "width": sigma},
        basis={
            "type": "TensorProduct",
            "max_angular": l_max,
            "radial": {"type": "Gto", "max_radial": n_primitive - 1},
        },
    )
    positions = np.linspace(0.0, cutoff, n_points)
    # The end points are nudged inside (0, r_c): a neighbour must be distinct from the
    # centre and strictly inside the cutoff.
    radii = np.clip(positions, 1e-9, cutoff * (1.0 - 1e-12))
    frames = [ase.Atoms("CH", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, r]]) for r in radii]
    keys = Labels(
        ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"],
        np.array([[l, 1, 6, 1] for l in range(l_max + 1)], dtype=np.int32),
    )
    # featomic warns about the near-zero radius, through the module-level
    # logging.warning(), which also installs a stderr handler on the root logger
    # (logging.basicConfig) that would then print every INFO record of e.g. Dask
    handlers = list(logging.root.handlers)
    logging.disable(logging.WARNING)
    try:
        expansion = compute_centre(calculator, frames, selected_keys=keys, gradients=True)
    finally:
        logging.disable(logging.NOTSET)
        logging.root.handlers[:] = handlers
    tables = {}
    for l in range(l_max + 1):
        values, jacobian = dense_block(expansion.block(l), len(frames), 1, gradients=True)
        y_l0 = np.sqrt((2 * l + 1) / (4 * np.pi))
        # values: (n_points, 2l+1, n_primitive); m = 0 is the middle component.
        tables[l] = (positions, values[:, l, :] / y_l0, jacobian[:, l, :, 2] / y_l0)
    return tables


def tabulated_hypers(
    tables: RadialTables, *, cutoff: float, projections: Sequence[np.ndarray] | None = None
) -> dict[str, Any]:
    """featomic hyperparameters (cutoff, density, basis) for tabulated radial integrals.

    With ``projections`` (one ``(n_primitive, n_max)`` matrix per ``l``), the tables are
    contracted to the optimal basis first.
    """
    by_angular = {}
    for l, (positions, values, derivatives) in tables.items():
        if projections is not None:
            values, derivatives = values @ projections[l], derivatives @ projections[l]
        spline = Spline(start=0.0, stop=cutoff)
        spline.add_points(positions, values, derivatives)
        by_angular[l] = SplinedRadialBasis(
            spline=spline, max_radial=values.shape[1] - 1, radius=cutoff
        )
    return {
        "cutoff": _soap_cutoff(cutoff),
        "density": fdensity.DiracDelta(),
        "basis": fbasis.Explicit(by_angular=by_angular, spline_accuracy=None),
    }


#: Relative covariance eigenvalue (of a channel's largest) at or below which a component
#: carries no variance: ~500 float64 epsilons. The built-in σ = 0.3 Å bases keep components
#: down to 6e-13 (resolved); at σ = 0.5 Å, or fitted on a handful of frames, some of the 8
#: sit at 1e-15, round-off.
ROUNDOFF_VARIANCE = 1e-13


@dataclass(frozen=True, eq=False)
class OptimalBasis:
    """A fitted optimal radial basis: per-``l`` projections of a primitive GTO basis.

    Attributes
    ----------
    sigma, cutoff : float
        Gaussian density width and cutoff radius (Å) it was fitted for.
    n_max, l_max, n_primitive : int
        Kept functions per channel, largest angular channel, primitive GTO functions.
    projections : tuple of arrays (n_primitive, n_max), one per l
        Columns are the eigenvectors of the coefficient covariance, largest first.
    variances : tuple of arrays (n_primitive,), one per l
        All eigenvalues of the covariance, descending (how much each component carries).
    provenance : dict
        How it was fitted: number of frames, centre and neighbour species (the basis
        is valid for any species, optimal only for these), sampler, seed, ...
    """

    sigma: float
    cutoff: float
    n_max: int
    l_max: int
    n_primitive: int
    projections: tuple[np.ndarray, ...]
    variances: tuple[np.ndarray, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A damaged or hand-edited file would otherwise reach featomic's splines (NaN: an
        # internal error) or silently contract with a wrong shape.
        channels = self.l_max + 1
        if len(self.projections) != channels or len(self.variances) != channels:
            raise DegeneracyError(
                f"an optimal basis with l_max {self.l_max} needs {channels} projections and "
                f"variances, got {len(self.projections)} and {len(self.variances)}"
            )
        for l, (projection, variance) in enumerate(
            zip(self.projections, self.variances, strict=True)
        ):
            projection, variance = np.asarray(projection), np.asarray(variance)
            for name, array in (("projection", projection), ("variance", variance)):
                # a complex or string array passed the checks below (P.T @ P does not
                # conjugate), then failed deep inside with a traceback
                if array.dtype.kind not in "fiu":
                    raise DegeneracyError(
                        f"{name} {l} holds {array.dtype} values, not real numbers"
                    )
            if projection.shape != (self.n_primitive, self.n_max):
                # its own settings in words: a command line would read the parameter
                # names as its options (--n-max), which may hold other values
                raise DegeneracyError(
                    f"projection {l} has shape {projection.shape}, expected "
                    f"({self.n_primitive}, {self.n_max}): the basis records {self.n_primitive} "
                    f"primitives and {self.n_max} radial functions"
                )
            if variance.shape != (self.n_primitive,):
                raise DegeneracyError(
                    f"variance {l} has shape {variance.shape}, expected ({self.n_primitive},)"
                )
            if not (np.isfinite(projection).all() and np.isfinite(variance).all()):
                raise DegeneracyError(f"projection or variance {l} has non-finite entries")
            overlap = projection.T @ projection
            if np.abs(overlap - np.eye(self.n_max)).max() > 1e-6:
                raise DegeneracyError(f"projection {l}: its columns are not orthonormal")
        self._check_variances_are_a_spectrum()

    def _check_variances_are_a_spectrum(self) -> None:
        """Covariance eigenvalues: non-negative and descending, up to round-off.

        A negated or shuffled variance file loaded and then gave wrong counts of carrying
        components (``v > rtol * v[0]`` holds everywhere when ``v[0] < 0``). Round-off
        eigenvalues of a covariance can be slightly negative (-1e-18), so the tolerance is
        :data:`ROUNDOFF_VARIANCE` of the largest variance of the whole basis: an empty
        channel's ±1e-30 compares against the basis' scale, not its own.
        """
        variances = [np.asarray(v, dtype=float) for v in self.variances]
        scale = max(float(np.abs(v).max(initial=0.0)) for v in variances)
        slack = ROUNDOFF_VARIANCE * scale
        for l, variance in enumerate(variances):
            if variance.size and variance.min() < -slack:
                raise DegeneracyError(
                    f"variance {l} has a negative entry {variance.min():.3g}: covariance "
                    "eigenvalues are non-negative"
                )
            if np.any(np.diff(variance) > slack):
                raise DegeneracyError(
                    f"variance {l} is not in descending order: the eigenvalues must be "
                    "listed largest first, as their projection's columns are"
                )

    def settings(self) -> dict[str, Any]:
        """The SOAP settings this basis belongs to."""
        return {
            "sigma": self.sigma,
            "cutoff": self.cutoff,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "n_primitive": self.n_primitive,
        }

    def digest(self) -> str:
        """A short hash of the settings and projections: which basis this is (two bases
        of the same settings, e.g. built-in and ``--basis-file``, differ here)."""
        return cache_key(
            settings=self.settings(),
            projections=[p.round(12).tolist() for p in self.projections],
        )

    def fitted_species(self) -> tuple[str, tuple[str, ...]] | None:
        """The centre and neighbour species it was fitted on, from its provenance (None
        for a basis saved before they were recorded)."""
        center = self.provenance.get("center_species")
        neighbors = self.provenance.get("neighbor_species")
        if center is None or neighbors is None:
            return None
        return str(center), tuple(str(s) for s in neighbors)

    def retained_variance(self) -> np.ndarray:
        """Fraction of the coefficient variance kept in each channel, shape (l_max + 1,).

        NaN for a channel without variance in the fitted frames (:func:`empty_channels`).
        """
        empty = set(empty_channels(self.variances))
        return np.array(
            [np.nan if l in empty else v[: self.n_max].sum() / v.sum()
             for l, v in enumerate(self.variances)]
        )  # fmt: skip

    def carrying_components(self, rtol: float = ROUNDOFF_VARIANCE) -> np.ndarray:
        """How many of each channel's ``n_max`` functions carry variance, shape
        (l_max + 1,).

        Those whose eigenvalue is above ``rtol`` × the channel's largest, in a channel
        with variance; none in a channel without (:func:`empty_channels`, which
        :func:`fit_optimal_basis` warns about), where even the largest eigenvalue is
        round-off. The others are directions of a numerically null covariance, set by
        round-off (and so by the CPU, the units, the order of the frames), not by the
        fitting frames.
        """
        return carrying_counts(self.variances, self.n_max, rtol=rtol)

    def save(self, path: str | os.PathLike) -> None:
        """Save to ``.npz`` (atomically); :meth:`load` gives back identical arrays."""
        arrays = {f"projection_{l}": p for l, p in enumerate(self.projections)}
        arrays.update({f"variance_{l}": v for l, v in enumerate(self.variances)})
        meta = {**self.settings(), "format": _FORMAT_VERSION, "provenance": self.provenance}
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> OptimalBasis:
        """Load a basis written by :meth:`save`."""
        path = existing_file(path, "basis file")
        check_not_a_stream(path, "an optimal basis")  # np.load would wait on a pipe
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                l_max = int(meta["l_max"])
                projections = tuple(data[f"projection_{l}"] for l in range(l_max + 1))
                variances = tuple(data[f"variance_{l}"] for l in range(l_max + 1))
            settings = {
                "sigma": float(meta["sigma"]),
                "cutoff": float(meta["cutoff"]),
                "n_max": int(meta["n_max"]),
                "l_max": l_max,
                "n_primitive": int(meta["n_primitive"]),
            }
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as error:
            # numpy reads a file that is no zip archive as a pickle, which it then refuses
            if os.path.getsize(path) == 0:
                reason = "an empty file"
            elif "pickle" in str(error):
                reason = "not an .npz archive"
            elif isinstance(error, KeyError):  # another .npz, or a zip (torch's model.pt)
                reason = f"an archive without the basis' arrays: {error.args[0]}"
            else:
                reason = repr(error)
            raise DegeneracyError(
                f"{path}: not a degeneracy optimal-basis file ({reason})"
            ) from error
        if meta.get("format") != _FORMAT_VERSION:
            raise DegeneracyError(f"{path}: unsupported basis file format {meta.get('format')!r}")
        provenance = meta.get("provenance", {})
        counts = {name: settings[name] for name in ("n_max", "l_max", "n_primitive")}
        try:
            if not isinstance(provenance, dict):
                raise DegeneracyError(f"its provenance is not a mapping: {provenance!r}")
            for name, value in counts.items():  # 4.7 was read as 4, -1 as no channels
                if meta[name] != value or value < (0 if name == "l_max" else 1):
                    raise DegeneracyError(f"its {name} {meta[name]!r} is not a count")
            return cls(
                **settings, projections=projections, variances=variances, provenance=provenance
            )
        except DegeneracyError as error:
            raise DegeneracyError(f"{path}: not a usable optimal basis ({error})") from error


def _sign_fixed(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors with their largest-magnitude entry positive (a reproducible sign)."""
    largest = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[largest, np.arange(vectors.shape[1])])
    return vectors * signs


#: Largest number of GTO radial functions featomic 0.6.7 builds (SOAP's ``n_max`` with the
#: GTO basis, an optimal basis' ``n_primitive``): from 23 on it refuses them at any cutoff
#: and σ ("radial overlap matrix is singular"; the GTO overlap matrix' condition number is
#: 6e10 at 16, 9e13 at 20 and 2e16 at 23 functions).
MAX_GTO_FUNCTIONS = 22

#: Largest number of primitive GTO functions of an optimal basis.
MAX_N_PRIMITIVE = MAX_GTO_FUNCTIONS

#: How :func:`radial_settings` tells a SOAP fingerprint's caller whose built-in optimal
#: basis has fewer primitive functions than ``n_max`` what to do. The command line, whose
#: single-fingerprint commands have no ``n_primitive``, says its own way instead
#: (:func:`degeneracy.cli.options.in_hyper_option_terms`, which looks for this text).
SOAP_MORE_PRIMITIVES = (
    f"give n_primitive a larger value (at most {MAX_N_PRIMITIVE}) or use the GTO basis"
)


def radial_settings(
    *,
    sigma: Any,
    cutoff: Any,
    n_max: Any,
    l_max: Any,
    n_primitive: Any,
    optimal: bool = True,
    soap: bool = False,
) -> tuple[float, float, int, int, int]:
    """``(sigma, cutoff, n_max, l_max, n_primitive)`` validated, the one check shared by
    :class:`~degeneracy.representations.SoapPowerSpectrum` and :func:`fit_optimal_basis`.

    MIN_SIGMA ≤ σ < cutoff ≤ MAX_CUTOFF and cutoff/σ ≤ MAX_CUTOFF_OVER_SIGMA (35) (the
    check of σ against the cutoff, :func:`~.base.density_width`), 1 ≤ n_max ≤ 22,
    0 ≤ l_max ≤ 20, 1 ≤ n_primitive ≤ 22 (featomic hangs on a zero or huge cutoff, fails
    with an internal error on the others, and refuses more than :data:`MAX_GTO_FUNCTIONS`
    GTO functions)
    and, when the basis is to be ``optimal`` (contracted from the n_primitive functions),
    n_max ≤ n_primitive; the GTO basis has no primitives. Last, the GTO functions
    featomic splines (n_primitive for an ``optimal`` basis, else n_max) with l_max at
    this cutoff/σ, where it cannot for a few of the largest settings
    (:func:`~.base.check_gto_splines`).

    A refusal of n_max > n_primitive advises a larger n_primitive or a smaller n_max;
    for ``soap`` (a SOAP fingerprint's built-in basis), a larger n_primitive or the GTO
    basis (:data:`SOAP_MORE_PRIMITIVES`).
    """
    cutoff = cutoff_radius(cutoff)
    sigma = density_width(sigma, cutoff=cutoff)
    n_max = bounded_int("n_max", n_max, minimum=1, maximum=MAX_GTO_FUNCTIONS)
    l_max = bounded_int("l_max", l_max, minimum=0, maximum=20)
    n_primitive = bounded_int("n_primitive", n_primitive, minimum=1, maximum=MAX_N_PRIMITIVE)
    if optimal and n_max > n_primitive:
        advice = (
            SOAP_MORE_PRIMITIVES
            if soap
            else f"give n_primitive a larger value (at most {MAX_N_PRIMITIVE}) or n_max a "
            "smaller one"
        )
        raise DegeneracyError(
            f"n_max={n_max} cannot exceed n_primitive={n_primitive}: the optimal basis keeps "
            f"n_max combinations of n_primitive primitive GTO functions; {advice}"
        )
    check_gto_splines(
        sigma=sigma,
        cutoff=cutoff,
        l_max=l_max,
        n_radial=n_primitive if optimal else n_max,
        radial_name="n_primitive" if optimal else "n_max",
        advise_fewer=not (optimal and soap),  # a fit's n_primitive is its own to change
    )
    return sigma, cutoff, n_max, l_max, n_primitive


def empty_channels(variances: Sequence[np.ndarray], rtol: float = 1e-12) -> list[int]:
    """Angular channels ``l`` whose total variance is at most ``rtol`` × the largest one's.

    A single T_d CH4, for instance, has no l = 1 density at all: the PCA of such a channel
    returns an arbitrary orthonormal set, not a fitted basis.
    """
    totals = np.array([float(np.sum(v)) for v in variances])
    return [int(l) for l in np.flatnonzero(totals <= rtol * totals.max())]


def carrying_counts(
    variances: Sequence[np.ndarray], n_max: int, rtol: float = ROUNDOFF_VARIANCE
) -> np.ndarray:
    """How many of the first ``n_max`` components of each channel carry variance.

    Parameters
    ----------
    variances : sequence of arrays
        Each channel's covariance eigenvalues, descending.
    n_max : int
        Components kept per channel.
    rtol : float
        Eigenvalue, relative to the channel's largest, at or below which a component is
        round-off.

    Returns
    -------
    numpy.ndarray of int, shape (len(variances),)
        0 for a channel without variance (:func:`empty_channels`); otherwise the
        eigenvalues above ``rtol`` × the channel's largest.
    """
    empty = set(empty_channels(variances))
    counts = [int((v[:n_max] > rtol * v[0]).sum()) for v in variances]
    return np.array([0 if l in empty else k for l, k in enumerate(counts)], dtype=int)


def _frames_count(n_frames: int) -> str:
    """``"1 fitting frame has"`` or ``"n fitting frames have"``."""
    return "1 fitting frame has" if n_frames == 1 else f"{n_frames} fitting frames have"


def fit_optimal_basis(
    frames: Sequence[ase.Atoms],
    *,
    sigma: float,
    cutoff: float = 2.5,
    n_max: int = 8,
    l_max: int = 8,
    n_primitive: int = DEFAULT_N_PRIMITIVE,
    center_species: int | str = 6,
    neighbor_species: Sequence[int | str] | int | str = (1,),
    provenance: dict[str, Any] | None = None,
) -> OptimalBasis:
    r"""Fit the optimal radial basis on ``frames`` (per-``l`` PCA, see the module docstring).

    The coefficients :math:`c^A_{nlm}` of every centre :math:`A` of ``frames`` on the
    primitive GTO basis (for each of the ``neighbor_species`` densities) give

    .. math:: C^{(l)}_{nn'} = \sum_{A} \sum_{m=-l}^{l} c^{A}_{nlm}\, c^{A}_{n'lm},

    summed over the neighbour species, and the ``n_max`` eigenvectors of largest
    eigenvalue are kept, each with its largest-magnitude entry positive (Goscinski,
    Musil, Pozdnyakov, Nigam, Ceriotti, J. Chem. Phys. 155, 104106, 2021).

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments whose centre (atom 0) is ``center_species``, not periodic, with
        finite coordinates; of any sizes.
    sigma : float
        Gaussian density width (Å), at least 0.01 Å and ``cutoff``/35, below ``cutoff``.
    cutoff : float
        Cutoff radius (Å), at most 100 Å and 35 ``sigma``.
    n_max : int
        Radial functions kept per channel, 1 to 22 and at most ``n_primitive``.
    l_max : int
        Largest angular channel, 0 to 20.
    n_primitive : int
        Primitive GTO functions per channel, 1 to 22.
    center_species : int or str
        Atomic number (or symbol) of the centres.
    neighbor_species : sequence of int or str
        Atomic numbers (or symbols) of the neighbour densities expanded; one number or
        symbol is one species.
    provenance : dict, optional
        Added to (and overriding) the recorded ``provenance``.

    Returns
    -------
    OptimalBasis
        The projections and all eigenvalues per channel; ``provenance`` records
        ``n_frames`` and the centre and neighbour species (as symbols).

    Raises
    ------
    DegeneracyError
        When a setting is out of range, a species is unknown, ``provenance`` is not a
        dict, ``frames`` is not a non-empty list of :class:`ase.Atoms`, or a frame is
        periodic, has non-finite coordinates or a centre other than ``center_species``.

    Warns
    -----
    DegeneracyWarning
        When a channel has no variance in the frames (its radial functions are
        arbitrary).
    """
    sigma, cutoff, n_max, l_max, n_primitive = radial_settings(
        sigma=sigma, cutoff=cutoff, n_max=n_max, l_max=l_max, n_primitive=n_primitive
    )
    center_species = _species_number("center_species", center_species)
    neighbor_species = _species_numbers("neighbor_species", neighbor_species)
    if provenance is not None and not isinstance(provenance, Mapping):
        raise DegeneracyError(f"provenance must be a dict, got {provenance!r}")
    try:  # saved as JSON: refused now, not when the basis is saved
        json.dumps(dict(provenance or {}), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"provenance is not plain JSON data: {error}") from None
    frames = _fitting_frames(frames, center_species)
    present = {int(z) for atoms in frames for z in atoms.numbers[1:]}
    if not present & set(neighbor_species):  # every density zero: an arbitrary basis
        raise DegeneracyError(
            f"the {len(frames)} fitting frames have no neighbour of species "
            f"{species_text(ase.data.chemical_symbols[int(z)] for z in neighbor_species)} "
            f"(they have {species_text(ase.data.chemical_symbols[z] for z in present) or 'none'})"
        )
    tables = primitive_radial_tables(
        sigma=sigma, cutoff=cutoff, l_max=l_max, n_primitive=n_primitive
    )
    calculator = new_calculator(
        featomic.SphericalExpansion,
        f"the optimal-basis expansion for sigma {sigma:g} Å, cutoff {cutoff:g} Å",
        **tabulated_hypers(tables, cutoff=cutoff),
    )
    keys = Labels(
        ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"],
        np.array(
            [[l, 1, center_species, s] for l in range(l_max + 1) for s in neighbor_species],
            dtype=np.int32,
        ),
    )
    expansion = compute_centre(calculator, frames, selected_keys=keys, gradients=False)
    covariances = [np.zeros((n_primitive, n_primitive)) for _ in range(l_max + 1)]
    for key, block in expansion.items():
        coefficients = block.values  # (n_samples, 2l+1, n_primitive)
        covariances[int(key["o3_lambda"])] += np.einsum("smn,smk->nk", coefficients, coefficients)
    projections, variances = [], []
    for covariance in covariances:
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        variances.append(eigenvalues[order])
        projections.append(_sign_fixed(eigenvectors[:, order[:n_max]]))
    empty = [l for l, k in enumerate(carrying_counts(variances, n_max)) if k == 0]
    if empty:
        warnings.warn(
            f"optimal basis: the {_frames_count(len(frames))} no variance in the "
            f"l = {', '.join(map(str, empty))} channel(s) (too few or too symmetric frames): "
            "their radial functions are arbitrary; fit on more varied frames",
            DegeneracyWarning,
            stacklevel=2,
        )
    return OptimalBasis(
        sigma=float(sigma),
        cutoff=float(cutoff),
        n_max=int(n_max),
        l_max=int(l_max),
        n_primitive=int(n_primitive),
        projections=tuple(projections),
        variances=tuple(variances),
        provenance={
            "n_frames": len(frames),
            # what it was fitted on: valid for other species, optimal only for these
            "center_species": ase.data.chemical_symbols[int(center_species)],
            "neighbor_species": [ase.data.chemical_symbols[int(z)] for z in neighbor_species],
            **(provenance or {}),
        },
    )


def _species_number(name: str, species: Any) -> int:
    """The atomic number of one species ``species`` (a symbol or an atomic number), or an
    error naming the argument ``name``."""
    if not isinstance(species, str | int | np.integer):
        raise DegeneracyError(
            f"{name} must be one species, a symbol or an atomic number, got {species!r}"
        )
    return atomic_number(species, name=name)


def _species_numbers(name: str, species: Any) -> tuple[int, ...]:
    """The atomic numbers of ``species`` (symbols or atomic numbers, or one of them), in
    their order without repeats (featomic refuses a repeated key), or an error naming
    the argument ``name``."""
    return species_numbers(species, name=name, ordered=True)


def _fitting_frames(frames: Any, center_species: int) -> list[ase.Atoms]:
    """``frames`` as a list, refused (naming the frame) when empty, periodic (featomic
    would add the periodic images, which the fingerprints refuse), with a non-finite
    coordinate (featomic would drop the atom) or another centre species. Their sizes may
    differ."""
    name = "fit_optimal_basis"
    frames = frame_list(frames, name=name)
    if not frames:
        raise DegeneracyError("cannot fit an optimal basis on zero frames")
    for index, atoms in enumerate(frames):
        if atoms.pbc.any():
            raise periodic_frame_error(name, index, atoms)
        check_finite_coordinates(atoms.positions, f"{name}: frame {index}")
    _check_centre_species(frames, center_species)
    return frames


def _check_centre_species(frames: Sequence[ase.Atoms], center_species: int) -> None:
    """Refuse frames whose centre (atom 0) is not ``center_species``: featomic would
    expand nothing for them, and the fit would see no variance at all."""
    for index, atoms in enumerate(frames):
        if len(atoms) == 0 or int(atoms.numbers[0]) != int(center_species):
            found = "no atoms" if len(atoms) == 0 else f"a {atoms.get_chemical_symbols()[0]}"
            raise DegeneracyError(
                f"frame {index}: the centre (atom 0) is {found}, but the basis is fitted "
                f"for {ase.data.chemical_symbols[int(center_species)]} centres (give "
                "environments centred on that species, e.g. from structure_environments)"
            )


def unfitted_species_note(
    fitted: tuple[str, Sequence[str]] | None,
    center: str,
    neighbors: Sequence[str],
    *,
    source: str,
) -> str | None:
    """Why a basis fitted on ``fitted`` = (centre, neighbours) does not suit these species.

    None when it suits them: the same centre, and no neighbour species it was not fitted
    with, or when the species it was fitted on are not recorded. Any basis is a valid
    basis; it is *optimal* (keeps the most of the density's variance in ``n_max``
    functions) only for the densities it was fitted on. The C-centred basis of CH4, for
    instance, keeps about half of the l = 0 variance of H-centred CH4 environments at
    n_max = 4, where an H-centred fit keeps 99.6 %.
    """
    if fitted is None:
        return None
    fitted_center, fitted_neighbors = fitted
    unfitted = [s for s in neighbors if s not in fitted_neighbors]
    if center == fitted_center and not unfitted:
        return None
    return (
        f"{source} was fitted on {fitted_center}-centred environments with "
        f"{species_text(fitted_neighbors)} neighbours, and is used for {center}-centred "
        f"ones with {species_text(neighbors)} neighbours: a valid basis, but not fitted to "
        "these densities; fit one on them (dg.fit_optimal_basis, or `degeneracy fit-basis`)"
    )


def _builtin_basis_as_asked(
    basis: OptimalBasis, settings: dict[str, Any], seed: int, center: str
) -> OptimalBasis:
    """``basis``, read from the cache, if it was fitted for ``settings`` (σ, cutoff, n_max,
    l_max, n_primitive), ``seed`` and ``center``; else refused as another basis.

    A readable file of other settings under this key (copied, or written by another
    version) was used: the σ = 0.3 basis gave σ = 0.4's features without a word.
    """
    theirs = basis.settings()
    differ = [
        f"{name} {theirs[name]:g} (not {float(value):g})"
        for name, value in settings.items()
        if float(theirs[name]) != float(value)
    ]
    fitted = basis.provenance or {}
    if fitted.get("seed", seed) != seed:
        differ.append(f"seed {fitted['seed']} (not {seed})")
    if fitted.get("center", "C") != center:
        differ.append(f"centre {fitted['center']} (not {center})")
    if differ:
        raise DegeneracyError(f"a basis fitted for {', '.join(differ)}")
    return basis


def _builtin_provenance(n_frames: int, seed: int, center: str) -> dict[str, Any]:
    """What identifies a built-in basis besides its settings (part of its cache key)."""
    provenance = {"sampler": repr(MethaneSampler()), "n_frames": n_frames, "seed": seed}
    if center != "C":  # the C-centred basis keeps the cache key it had before H's existed
        provenance["center"] = center
    return provenance


def builtin_basis_key(
    settings: dict[str, Any],
    *,
    n_frames: int = DEFAULT_FIT_FRAMES,
    seed: int = DEFAULT_FIT_SEED,
    center: str = "C",
) -> str:
    """The cache key of a built-in basis (:func:`default_optimal_basis`), without fitting
    it: which basis these ``settings`` (sigma, cutoff, n_max, l_max, n_primitive) give with
    this featomic (a refit after an upgrade may differ)."""
    return cache_key(
        kind="optimal-basis",
        **{name: settings[name] for name in ("sigma", "cutoff", "n_max", "l_max", "n_primitive")},
        featomic=featomic.__version__,
        **_builtin_provenance(n_frames, seed, center),
    )


def default_optimal_basis(
    *,
    sigma: float,
    cutoff: float = 2.5,
    n_max: int = 8,
    l_max: int = 8,
    n_primitive: int = DEFAULT_N_PRIMITIVE,
    n_frames: int = DEFAULT_FIT_FRAMES,
    seed: int = DEFAULT_FIT_SEED,
    center: str = "C",
) -> OptimalBasis:
    """The built-in optimal basis: fitted on ``n_frames`` random CH4 (``seed``), cached.

    The fitting set comes from :class:`degeneracy.structures.MethaneSampler` (the P&G
    data ranges): the C-centred environments (H neighbours), or with ``center="H"`` the
    four H-centred environments of each structure (C and H neighbours within ``cutoff``;
    :data:`BUILTIN_SPECIES`). The first call for a setting fits and saves the basis in
    the cache folder; later calls load it, bit for bit.

    Parameters
    ----------
    sigma, cutoff, n_max, l_max, n_primitive
        The basis settings, as for :func:`fit_optimal_basis`.
    n_frames : int
        Random CH4 structures drawn for the fit.
    seed : int
        Seed of the draw.
    center : {"C", "H"}
        Centre species of the environments fitted on.

    Returns
    -------
    OptimalBasis
        The cached basis, or the one fitted now (and saved in the cache).

    Raises
    ------
    DegeneracyError
        For a centre with no built-in basis, a setting out of range, ``n_frames`` not an
        integer ≥ 1, a bad ``seed``, or a cache folder that cannot be created or written.

    Warns
    -----
    DegeneracyWarning
        When the cached file is damaged (the basis is fitted again), or as
        :func:`fit_optimal_basis` does.
    """
    species = builtin_species(center)  # refuses a centre with no built-in basis, first
    settings = {"sigma": sigma, "cutoff": cutoff, "n_max": n_max, "l_max": l_max}
    key = builtin_basis_key(
        {**settings, "n_primitive": n_primitive}, n_frames=n_frames, seed=seed, center=center
    )
    path = cache_dir() / f"optimal-basis-{key}.npz"
    if path.exists():
        try:
            return _builtin_basis_as_asked(
                OptimalBasis.load(path), {**settings, "n_primitive": n_primitive}, seed, center
            )
        except DegeneracyError as error:  # a damaged cache file is made again, not fatal
            reason = str(error).removeprefix(f"{path}: ")
            warnings.warn(
                f"{path}: damaged cache file ({reason}); fitting the basis again",
                DegeneracyWarning,
                stacklevel=2,
            )
    frames = methane_fitting_environments(n_frames, seed=seed, center=center, cutoff=cutoff)
    provenance = _builtin_provenance(n_frames, seed, center)
    if center != "C":
        provenance.update(n_frames=len(frames), n_structures=n_frames)
    basis = fit_optimal_basis(
        frames,
        **settings,
        n_primitive=n_primitive,
        provenance=provenance,
        **species,
    )
    basis.save(path)
    return basis


def methane_fitting_environments(
    n_structures: int, *, seed: int, center: str = "C", cutoff: float = DEFAULT_CUTOFF
) -> list[ase.Atoms]:
    """The environments a built-in basis is fitted on.

    Parameters
    ----------
    n_structures : int
        Random CH4 drawn from :class:`degeneracy.structures.MethaneSampler` (P&G's ranges).
    seed : int
        Seed of the draw.
    center : {"C", "H"}
        ``"C"``: the structures themselves (C-centred, H neighbours); ``"H"``: the four
        H-centred environments of each (C and H neighbours within ``cutoff``).
    cutoff : float
        Neighbour cutoff (Å) of the H-centred environments.

    Returns
    -------
    list of ase.Atoms
        ``n_structures`` environments, or ``4 n_structures`` for ``"H"``.

    Raises
    ------
    DegeneracyError
        For a centre with no built-in basis (:data:`BUILTIN_SPECIES`).
    """
    builtin_species(center)  # refuses a centre with no built-in basis
    structures = MethaneSampler().sample(n_structures, seed=seed)
    if center == "C":
        return structures
    return [
        environment
        for atoms in structures
        for environment in structure_environments(atoms, cutoff=cutoff, centers=[center])
    ]


def builtin_species(center: str) -> dict[str, Any]:
    """The species a built-in basis is fitted for, as :func:`fit_optimal_basis` takes them.

    Parameters
    ----------
    center : str
        Centre species symbol, a key of :data:`BUILTIN_SPECIES`.

    Returns
    -------
    dict
        ``center_species`` (atomic number) and ``neighbor_species`` (list of atomic
        numbers) of ``center``-centred CH4 environments.

    Raises
    ------
    DegeneracyError
        For a centre with no built-in basis.
    """
    if center not in BUILTIN_SPECIES:
        raise DegeneracyError(
            f"no built-in optimal basis for {center}-centred environments (built in: "
            f"{', '.join(BUILTIN_SPECIES)} of CH4); fit one (dg.fit_optimal_basis, or "
            "`degeneracy fit-basis`)"
        )
    return {
        "center_species": ase.data.atomic_numbers[center],
        "neighbor_species": [ase.data.atomic_numbers[s] for s in BUILTIN_SPECIES[center]],
    }
