"""The ``Representation`` protocol every fingerprint backend implements."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import ase
import ase.data
import numpy as np
from tqdm.auto import tqdm

from ..checks import positive_float
from ..errors import DegeneracyError
from ..structures import check_finite_coordinates, frame_list, one_frame, vector_lengths


@runtime_checkable
class Representation(Protocol):
    r"""A fingerprint of the environment of atom 0 with its dense Jacobian.

    Frames are environments (:mod:`degeneracy.structures`): atom 0 is the centre, atoms
    1..N its neighbours; all frames of one call have the same N.

    ``features(frames)`` returns an array of shape ``(n_frames, n_features)``.

    ``jacobian(frames)`` returns ``(features, jacobian)`` with ``features`` as above and
    ``jacobian`` of shape ``(n_frames, n_features, 3 * N)``:

    .. math:: J_{f,\,i,\,3(a-1)+k} = \frac{\partial x_i}{\partial r_{a,k}}

    for neighbour ``a = 1..N`` (its index in the frame) and Cartesian direction
    ``k`` ∈ {x, y, z}, the centre held fixed. Neither call modifies its input.

    Optional: ``diagnose(frames, *, jacobian=True) -> list[str]``, warnings about frames
    this fingerprint is blind to for reasons of its settings (e.g.
    :meth:`degeneracy.Acsf.diagnose`); :func:`degeneracy.scan_dataset` collects them from
    its workers and reports each subject once. With ``jacobian=False`` only those that
    concern the features themselves (a caller that computes no Jacobian, e.g.
    :func:`degeneracy.verify_pairs`): the overlap matrix's kinks are about its
    derivative alone (:func:`~degeneracy.sensitivity.call_notes`, which also calls a
    ``diagnose(frames)`` without the keyword).
    ``unseen_pairs(neighbors) -> list[tuple[int, int]]``, the neighbour pairs whose angle
    it does not see there (:func:`weighed_out_pairs`, e.g.
    :meth:`degeneracy.Acsf.unseen_pairs`), which
    :func:`~degeneracy.sensitivity.explain_zero` takes into account.
    ``response_weights(neighbors) -> (array (N,), array (N(N−1)/2,) or None)``, for a
    smooth cutoff: the factors by which its cutoff weights scale the features' response
    to turning each neighbour and each pair's terms (1 well inside, 0 at the cutoff; e.g.
    c² for the OM's weight c), with which :func:`~degeneracy.sensitivity.explain_zero`
    names the pairs a given zero is too small for the fingerprint to see
    (:func:`~degeneracy.sensitivity.unseen_response`) instead of ``unseen_pairs``.
    ``neighbor_weights(neighbors) -> array (N,)``, for a smooth cutoff: each neighbour's
    cutoff weight (1 well inside, 0 at the cutoff), with which a zero is explained where
    no spectrum says how small it is (below :data:`UNSEEN_WEIGHT`);
    :func:`~degeneracy.find_singular` refuses the steps that reach a zero by fading a
    neighbour (:func:`~degeneracy.sensitivity.faint_neighbors`: a zero of no interest).
    ``kinks(frames) -> array of bool (n_frames,)``, for a fingerprint that is not
    differentiable everywhere: the frames where it has no Jacobian, the one ``jacobian``
    returns being one one-sided derivative (e.g. :meth:`degeneracy.OverlapMatrix.kinks`:
    coinciding overlap-matrix eigenvalues); :func:`~degeneracy.sensitivity.analyse_frames`,
    :func:`~degeneracy.scan.describe_singular` and :func:`~degeneracy.find_singular` give
    those frames the verdict ``"kink"`` instead of reading their singular values
    (:func:`~degeneracy.sensitivity.kinks_of`; without the hook no frame is a kink).
    ``first_order_invariants(neighbors, species) -> array (M, 3N) | None``, for a
    fingerprint that sees neighbours at one distance per species (:func:`species_distances`)
    to first order only through a few scalars: their gradients with respect to the
    neighbour positions (e.g. :meth:`degeneracy.SoapPowerSpectrum.first_order_invariants`:
    sums of :math:`P_l(\hat{\mathbf r}_i \cdot \hat{\mathbf r}_j)` over angles and
    along bonds; :meth:`degeneracy.Bispectrum.first_order_invariants`: sums over
    neighbour triples), None elsewhere; every motion of their null space beside the rotations is
    a zero, and :func:`~degeneracy.sensitivity.explain_zero` puts a zero motion in that
    blind subspace down to them (``truncation``,
    :func:`~degeneracy.sensitivity.truncation_zeros`).
    """

    name: str

    def hypers(self) -> dict[str, Any]:
        """The hyperparameters, JSON-serialisable: the constructor's keyword arguments
        (:func:`~degeneracy.make_representation` takes them) except fitted data. A SOAP
        with a given fitted ``optimal_basis`` is not rebuilt from them: the rebuilt one
        takes the built-in basis of the same settings, and computes other features; pass
        the basis again (:meth:`~degeneracy.OptimalBasis.save`, ``load``), which
        ``basis_identity()`` names by its digest."""
        ...

    def features(self, frames: Sequence[ase.Atoms]) -> np.ndarray:
        """Features, shape ``(n_frames, n_features)``."""
        ...

    def jacobian(self, frames: Sequence[ase.Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n_frames, n_features)`` and Jacobian ``(n_frames, n_features, 3N)``."""
        ...


#: A cutoff weight below this counts as zero where no spectrum says how small a zero is
#: (``unseen_pairs``, a search result without a zero); a zero of a frame's
#: spectrum is explained with a bound that follows its size instead
#: (:func:`~degeneracy.sensitivity.unseen_response`).
UNSEEN_WEIGHT = 1e-5

#: Largest spread of one species' neighbour distances, relative to the largest of them,
#: under which they sit at one distance (:func:`species_distances`): 1e-3 Å for 1 Å bonds,
#: :data:`~degeneracy.sensitivity.COINCIDENCE_TOL`'s size. The zeros that equal distances
#: force lift only linearly with the spread and slowly: SOAP n_max = l_max = 4 at random
#: CH4 with the four C–H distances spread by δ (relative) has s9/s1 ≈ (5e-5 – 2e-2)·δ
#: (three directions, δ = 1e-9 – 1e-3, measured 2026-12-05), so a zero (below 1e-6)
#: survives to δ ≈ 1e-4 – 1e-3; the zero motion's part outside the blind subspace (which
#: the explanation also bounds, by :data:`~degeneracy.sensitivity.PAIR_SWAP_TOL`) grows
#: as 4–19 δ (three random directions, measured 2026-12-05).
EQUIDISTANT_RTOL = 1e-3

#: Largest cutoff radius (Å) of every fingerprint (:func:`cutoff_radius`), ample for
#: atomic environments. featomic 0.6.7's GTO radial integrals hang, uninterruptibly and
#: inside the calculator's constructor, from a cutoff of ~1e19 Å on (1e19, 3e19, 1e20 Å:
#: no return in 15 s; 1e20 Å: > 10 min), and the OM's ``cutoff**2`` overflows at 1e155 Å.
#: Measured (SOAP n_max = l_max = 8, calculator built + one CH4 with gradients, σ large
#: enough for featomic to accept cutoff/σ): 10 Å 0.04 + 0.05 s (σ 0.3), 30 Å 0.05 + 0.05 s
#: (σ 1), 100 Å 0.05 + 0.06 s (σ 3), 300 Å 0.02 + 0.03 s (σ 30), 1000 Å 0.05 + 0.05 s
#: (σ 30); a refused cutoff (cutoff/σ ≳ 35, up to 1e18 Å) fails in 0.1 s.
MAX_CUTOFF = 100.0

#: Smallest Gaussian density width σ (Å) of SOAP and the bispectrum (:func:`density_width`).
#: featomic 0.6.7 asserts σ > 1e-16 ("internal featomic error") and refuses cutoff/σ ≳ 35
#: (σ 0.07 Å works at cutoff 2.5 Å, 0.05 Å does not; 0.01 Å at 0.3 Å, not at 0.5 Å): a
#: smaller σ could only describe environments narrower than a third of an ångström.
MIN_SIGMA = 0.01

#: Largest cutoff/σ (cutoff radius over Gaussian density width) of SOAP, the bispectrum and
#: the optimal basis (:func:`density_width`, checked when they are built): featomic 0.6.7
#: computes its GTO radial integrals up to it for every n_max ≤ 22, l_max ≤ 20 and σ ≥
#: :data:`MIN_SIGMA`. Measured 2026-12-05: at cutoff/σ = 35 every calculator builds (all
#: 462 (n_max, l_max) at σ 0.01, 0.02, 0.3 and 30 Å, a 10 × 10 grid of them at 0.05–10 Å:
#: 2348 settings); featomic refuses ("Failed to compute radial integral with GTO basis")
#: from cutoff/σ 37.69 (n_max 1, l_max 0), 36.54 (n_max 8, l_max 20), 36.14 (n_max 22,
#: any l_max; 36.10 at σ 0.02 Å, 35.67 at σ 0.01 Å) on, the same ratios at σ 0.3 and
#: 30 Å: a limit of the ratio alone (37.69 is about where exp(cutoff²/2σ²) leaves double
#: precision), slightly lower for more radial functions. Inside it, featomic's splines of
#: these integrals miss their 1e-8 accuracy for a few of the largest settings
#: (:data:`GTO_SPLINE_FAILURES`).
MAX_CUTOFF_OVER_SIGMA = 35.0

#: Where featomic 0.6.7 cannot spline its GTO radial integrals to their 1e-8 accuracy and
#: refuses the calculator ("failed to reach requested accuracy (1e-8) in spline
#: interpolation"): by (GTO functions, l_max), the cutoff/σ between which it fails
#: (:func:`check_gto_splines`). Inside, it fails throughout but near the ends, where
#: failures and successes alternate from one 0.01 to the next (n_max 19, l_max 20: at
#: 36 of the 81 ratios from 15.74 to 16.54, and nowhere else); the bounds are the
#: outermost failures, 0.05 further out. Measured 2026-12-06 (σ 0.3 Å) with the SOAP
#: power spectrum and the spherical expansion (the optimal basis' primitive tables),
#: which fail at the same ratios to 0.01: every n_max 16–22, l_max 10–20 at cutoff/σ 2–35
#: in steps of 1; n_max 19–22, l_max 16–20 from 10 to 27 in steps of 0.25; the settings
#: next to these from 13 to 20 in steps of 0.05; every other n_max, l_max at 12, 14, ...,
#: 24; each bound ± 0.5 in steps of 0.01. A ratio alone: n_max 22, l_max 20 fails from
#: 11.5 to 25.5 (steps of 0.5) at σ 0.02, 0.1, 0.3, 1 and 3 Å alike.
GTO_SPLINE_FAILURES: dict[tuple[int, int], tuple[float, float]] = {
    (19, 20): (15.69, 16.59),
    (20, 18): (15.13, 16.92),
    (20, 19): (13.51, 19.62),
    (20, 20): (12.88, 21.32),
    (21, 18): (14.27, 18.64),
    (21, 19): (13.14, 20.75),
    (21, 20): (12.6, 22.4),
    (22, 17): (15.27, 19.09),
    (22, 18): (12.9, 22.13),
    (22, 19): (11.96, 24.14),
    (22, 20): (11.44, 25.91),
}


def cutoff_radius(value: Any, name: str = "cutoff") -> float:
    """``value`` as a cutoff radius (Å): a finite number in (0, :data:`MAX_CUTOFF`]."""
    cutoff = positive_float(name, value)
    if cutoff > MAX_CUTOFF:
        raise DegeneracyError(
            f"{name} must be at most {MAX_CUTOFF:g} Å (a radius for atomic environments), "
            f"got {value!r}"
        )
    return cutoff


def density_width(
    value: Any, *, cutoff: float, name: str = "sigma", cutoff_name: str | None = "cutoff"
) -> float:
    """``value`` as a Gaussian density width σ (Å) for the cutoff radius ``cutoff`` (Å).

    The one check of σ against the cutoff, shared by SOAP, the bispectrum and the optimal
    basis: :data:`MIN_SIGMA` ≤ σ < ``cutoff`` and ``cutoff``/σ ≤
    :data:`MAX_CUTOFF_OVER_SIGMA` (beyond it featomic cannot compute its GTO radial
    integrals). A refusal names the parameters and gives the range that works: ``cutoff
    20 Å is 66.7 times sigma 0.3 Å, more than the 35 up to which featomic computes its GTO
    radial integrals: give cutoff at most 10.5 Å or sigma at least 0.572 Å``.

    Parameters
    ----------
    value : Any
        The width σ to check.
    cutoff : float
        The cutoff radius, already checked (:func:`cutoff_radius`).
    name : str
        The parameter that sets σ, as the refusal names it.
    cutoff_name : str or None
        The parameter that sets the cutoff; ``None`` when the caller cannot change it (the
        refusal then says "the cutoff" and advises on σ alone).

    Returns
    -------
    float
        σ.

    Raises
    ------
    DegeneracyError
        When σ is not a positive number, below :data:`MIN_SIGMA`, not below the cutoff, or
        narrower than ``cutoff`` / :data:`MAX_CUTOFF_OVER_SIGMA`.
    """
    sigma = positive_float(name, value)
    if sigma < MIN_SIGMA:
        raise DegeneracyError(f"{name} must be at least {MIN_SIGMA:g} Å, got {value!r}")
    cutoff_text = (
        f"the cutoff {cutoff:g} Å" if cutoff_name is None else f"{cutoff_name} {cutoff:g} Å"
    )
    if sigma >= cutoff:
        raise DegeneracyError(f"{name} must be smaller than {cutoff_text}, got {sigma:g}")
    ratio = cutoff / sigma
    if ratio > MAX_CUTOFF_OVER_SIGMA * (1 + 1e-12):  # 35 σ, however it was rounded
        advice = f"{name} at least {_three_digits(cutoff / MAX_CUTOFF_OVER_SIGMA, up=True):g} Å"
        if cutoff_name is not None:
            largest = _three_digits(MAX_CUTOFF_OVER_SIGMA * sigma, up=False)
            advice = f"{cutoff_name} at most {largest:g} Å or {advice}"
        raise DegeneracyError(
            f"{cutoff_text} is {_ratio_text(ratio)} times {name} {sigma:g} Å, more than the "
            f"{MAX_CUTOFF_OVER_SIGMA:g} up to which featomic computes its GTO radial "
            f"integrals: give {advice}"
        )
    return sigma


def gto_splines_fail(n_radial: int, l_max: int, ratio: float) -> bool:
    """Whether featomic fails to spline the GTO radial integrals of ``n_radial`` functions
    and ``l_max`` at cutoff/σ ``ratio`` (between the bounds of
    :data:`GTO_SPLINE_FAILURES`: near them, at some ratios only)."""
    bounds = GTO_SPLINE_FAILURES.get((n_radial, l_max))
    return bounds is not None and bounds[0] < ratio < bounds[1]


def check_gto_splines(
    *,
    sigma: float,
    cutoff: float,
    l_max: int,
    n_radial: int,
    radial_name: str = "n_max",
    advise_fewer: bool | None = None,
) -> None:
    """Refuse settings whose GTO radial integrals featomic cannot spline to 1e-8
    (:func:`gto_splines_fail`), before featomic is called, with the changes that work.

    Parameters
    ----------
    sigma, cutoff : float
        Gaussian density width and cutoff radius (Å), already checked
        (:func:`density_width`).
    l_max : int
        Largest angular channel.
    n_radial : int
        GTO functions featomic builds (SOAP's or the bispectrum's n_max, an optimal
        basis' n_primitive).
    radial_name : str
        The parameter that sets ``n_radial``.
    advise_fewer : bool, optional
        Whether to advise a smaller ``radial_name``; by default for ``"n_max"`` only: a
        SOAP fingerprint's built-in optimal basis has its n_primitive fixed where
        single-fingerprint commands build it, while ``fit-basis`` has ``--n-primitive``.

    Raises
    ------
    DegeneracyError
        ``featomic cannot spline its GTO radial integrals to 1e-8 for n_max 22 and l_max
        20 at cutoff 3.5 Å, 11.7 times sigma 0.3 Å (it fails between 11.44 and 25.91
        times): give sigma at least 0.306 Å or at most 0.135 Å, cutoff at most 3.43 Å,
        l_max at most 19 or n_max at most 21``.
    """
    ratio = cutoff / sigma
    if not gto_splines_fail(n_radial, l_max, ratio):
        return
    low, high = GTO_SPLINE_FAILURES[(n_radial, l_max)]
    sigma_advice = f"sigma at least {_three_digits(cutoff / low, up=True):g} Å"
    narrow = _three_digits(cutoff / high, up=False)
    if narrow >= max(MIN_SIGMA, cutoff / MAX_CUTOFF_OVER_SIGMA):
        sigma_advice += f" or at most {narrow:g} Å"
    advice = [sigma_advice, f"cutoff at most {_three_digits(low * sigma, up=False):g} Å"]
    fewer_l = _largest_building(l_max, lambda l: gto_splines_fail(n_radial, l, ratio))
    if fewer_l is not None:
        advice.append(f"l_max at most {fewer_l}")
    fewer_n = _largest_building(n_radial, lambda n: gto_splines_fail(n, l_max, ratio))
    if advise_fewer is None:
        advise_fewer = radial_name == "n_max"
    if advise_fewer and fewer_n is not None:
        advice.append(f"{radial_name} at most {fewer_n}")
    raise DegeneracyError(
        f"featomic cannot spline its GTO radial integrals to 1e-8 for {radial_name} "
        f"{n_radial} and l_max {l_max} at cutoff {cutoff:g} Å, {ratio:.3g} times sigma "
        f"{sigma:g} Å (it fails between {low:g} and {high:g} times): give "
        f"{', '.join(advice[:-1])} or {advice[-1]}"
    )


def _largest_building(value: int, fails: Any) -> int | None:
    """The largest integer from ``value`` − 1 down to 0 for which ``fails`` is false."""
    return next((smaller for smaller in range(value - 1, -1, -1) if not fails(smaller)), None)


def _ratio_text(ratio: float) -> str:
    """``ratio`` (> :data:`MAX_CUTOFF_OVER_SIGMA`) to 3 significant digits, or as many more
    as show it above the limit (35.01, not 35)."""
    for digits in range(3, 13):
        text = f"{ratio:.{digits}g}"
        if float(text) > MAX_CUTOFF_OVER_SIGMA:
            return text
    return f"{ratio!r}"


def _three_digits(value: float, *, up: bool) -> float:
    """``value`` rounded up or down to 3 significant digits (a bound that holds as said)."""
    scale = 10.0 ** (math.floor(math.log10(value)) - 2)
    steps = value / scale
    return (math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * scale


def weighed_out_pairs(
    weights: np.ndarray, pair_weights: np.ndarray | None = None, *, below: float = UNSEEN_WEIGHT
) -> list[tuple[int, int]]:
    """Neighbour pairs ``i < j`` that a fingerprint with smooth cutoff weights does not see.

    A pair is weighed out when a neighbour's weight (``weights``, (N,)) or the pair's own
    (``pair_weights``, (N(N−1)/2,) in ``numpy.triu_indices`` order, e.g. ACSF's
    :math:`f_c(r_{jk})`) is below ``below``: the features then change neither with the
    pair's angle nor, the weight's slope vanishing with it, at all. The same test on a
    fingerprint's ``response_weights`` with ``below`` from
    :func:`~degeneracy.sensitivity.unseen_response` names the pairs a given zero is too
    small to see.
    """
    weights = np.asarray(weights, dtype=float)
    i, j = np.triu_indices(len(weights), k=1)
    low = np.minimum(weights[i], weights[j])
    if pair_weights is not None:
        low = np.minimum(low, np.asarray(pair_weights, dtype=float))
    unseen = low < below
    return [(int(a), int(b)) for a, b in zip(i[unseen], j[unseen], strict=True)]


def expansion_invariants_bound(
    *, n_max: int, l_max: int, n_species: int, n_neighbors: int, power_spectrum: bool
) -> int:
    r"""The most internal motions a rotation-invariant fingerprint of a density expansion
    can see anywhere: the number of independent invariants of its coefficients.

    The coefficients :math:`c^a_{nlm}` of ``n_species`` neighbour species form, for each
    l, :math:`K = n_\max\, n_\text{species}` vectors in :math:`\mathbb R^{2l+1}`.
    Rotations act on them all at once, so their invariants number at most

    .. math:: \sum_{l=0}^{l_\max} K (2l + 1) - o,

    o the dimension of a generic rotation orbit (0 at l_max 0, 2 for one vector at
    l_max 1, else 3): the bispectrum's bound, and the complete fingerprint's. The power
    spectrum keeps only each l's Gram matrix :math:`p_{nn'l} = c_{nl} \cdot c_{n'l}`, of
    dimension :math:`K m - m(m-1)/2` for K ≥ m = 2l + 1 vectors, else
    :math:`K(K+1)/2`, summed over l. At l_max 0 the features depend on the N distances
    alone, so at most ``n_neighbors``. SOAP at n_max = l_max = 2 (12 features, 8
    invariants) has one zero in every CH4, and at n_max 2, l_max 1 (8 features, 5
    invariants) four, as the bispectrum at n_max 2, l_max 1 (10 features, 5): measured,
    exact zeros at every random CH4, which were called spurious (helper audit,
    2026-12-07).
    """
    k = n_max * min(n_species, n_neighbors)  # a species absent here adds no coefficients
    sizes = [2 * l + 1 for l in range(l_max + 1)]
    orbit = 0 if l_max == 0 else 2 if (l_max == 1 and k == 1) else 3
    bound = sum(k * m for m in sizes) - orbit
    if power_spectrum:
        gram = sum(k * m - m * (m - 1) // 2 if k >= m else k * (k + 1) // 2 for m in sizes)
        bound = min(bound, gram)
    return min(bound, n_neighbors) if l_max == 0 else bound


def species_distances(
    neighbors: np.ndarray, species: Sequence[int], *, rtol: float = EQUIDISTANT_RTOL
) -> dict[int, float] | None:
    """The one distance (Å) at which each species' neighbours sit, or None when they do not.

    The neighbours of species :math:`a` sit at one distance :math:`r_a` when their
    distances from the centre spread by at most ``rtol`` of the largest
    (:data:`EQUIDISTANT_RTOL`); :math:`r_a` is their mean. The condition under which a
    density expansion factorises into a radial and an angular part per species
    (:meth:`degeneracy.SoapPowerSpectrum.first_order_invariants`).

    Parameters
    ----------
    neighbors : array (N, 3)
        Neighbour positions relative to the centre (Å).
    species : sequence of int (N,)
        Their atomic numbers.
    rtol : float
        Largest relative spread of one species' distances.

    Returns
    -------
    dict or None
        :math:`r_a` by atomic number, in increasing atomic number; None when some species'
        distances spread more.

    Raises
    ------
    DegeneracyError
        When ``species`` is not one atomic number per neighbour
        (:func:`neighbor_species_numbers`).
    """
    radii = vector_lengths(neighbors)
    species = neighbor_species_numbers(species, len(radii))
    distances = {}
    for number in np.unique(species):
        own = radii[species == number]
        if own.max() - own.min() > rtol * own.max():
            return None
        distances[int(number)] = float(own.mean())
    return distances


def neighbor_species_numbers(species: Any, n_neighbors: int | None = None) -> np.ndarray:
    """``species``, the neighbours' atomic numbers (e.g. ``atoms.numbers[1:]``), as an int
    array (N,). Refused, naming the value, when it is not a flat sequence of whole numbers
    from 1 to 118 (element symbols included) or, given ``n_neighbors``, not one per
    neighbour: numpy would otherwise fail with a raw IndexError or ValueError."""
    try:
        values = np.asarray(species)
    except (TypeError, ValueError) as error:  # ragged nesting
        raise DegeneracyError(
            f"species must be atomic numbers, one per neighbour, got {species!r}"
        ) from error
    if values.ndim != 1 or values.dtype == bool or values.dtype.kind not in "iuf":
        raise DegeneracyError(
            f"species must be atomic numbers, one per neighbour (e.g. atoms.numbers[1:]), "
            f"got {species!r}"
        )
    top = len(ase.data.chemical_symbols) - 1
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 1) | (values > top)
    if bad.any():
        index = int(np.argmax(bad))
        raise DegeneracyError(
            f"species: neighbour {index} has {values[index].item()!r}, not an atomic number "
            f"from 1 to {top}"
        )
    if n_neighbors is not None and len(values) != n_neighbors:
        raise DegeneracyError(
            f"species: {len(values)} atomic numbers {values.tolist()} for {n_neighbors} "
            "neighbours; give one per neighbour"
        )
    return values.astype(int)


def species_members(species: Sequence[int]) -> list[np.ndarray]:
    """Per species present, in increasing atomic number (as :func:`species_distances`),
    the indicator (N,) of its neighbours among ``species``, as floats (to weight sums)."""
    numbers = neighbor_species_numbers(species)
    return [(numbers == z).astype(float) for z in np.unique(numbers)]


def seen_at_one_distance(
    neighbors: np.ndarray, species: Sequence[int], *, channels: Sequence[int], cutoff: float
) -> bool:
    """Whether a density expansion with density ``channels`` (atomic numbers) and a step
    ``cutoff`` (Å) sees every neighbour, each species at one distance
    (:func:`species_distances`): where its ``first_order_invariants`` hook applies
    (:meth:`degeneracy.SoapPowerSpectrum.first_order_invariants`,
    :meth:`degeneracy.Bispectrum.first_order_invariants`)."""
    distances = species_distances(neighbors, species)
    if distances is None or not set(distances) <= set(channels):
        return False
    return bool(vector_lengths(neighbors).max() < cutoff)


def check_frames(
    frames: Sequence[ase.Atoms],
    *,
    name: str,
    center: int | None = None,
    neighbors: Collection[int] | None = None,
) -> list[ase.Atoms]:
    """``frames`` as a list, after the checks every backend needs before computing.

    Refused with one line naming the frame (and atom): no frames; a frame without
    neighbours; frames of different sizes (one call computes one Jacobian shape); a
    periodic frame; non-finite coordinates; a centre (atom 0) other than ``center``; a
    neighbour of a species not in ``neighbors``. A backend has no density channel for
    such atoms, so it would otherwise return zero features or zero Jacobian columns and
    every analysis would report a spurious blindness; the featomic backends drop an atom
    at NaN or inf the same way, the others return NaN or fail inside numpy. A periodic
    frame would give the featomic backends the neighbours' periodic images too, but not
    the others, so the same frame would be two different environments.
    """
    frames = frame_list(frames, name=name)
    if not frames:
        raise DegeneracyError("no frames to compute")
    size = len(frames[0])
    if size < 2:
        raise DegeneracyError(
            f"{name}: frame 0 has {size} atom(s); an environment needs at least one neighbour"
        )
    sizes = np.fromiter((len(atoms) for atoms in frames), dtype=int, count=len(frames))
    other_size = np.flatnonzero(sizes != size)
    # the frames before the first of another size, checked together (a loop with np.isin
    # per frame cost 0.02 ms/frame, 5 % of a SOAP Jacobian); the first bad frame is named
    same = len(frames) if other_size.size == 0 else int(other_size[0])
    if same:
        _check_frame_contents(frames[:same], name=name, center=center, neighbors=neighbors)
    if other_size.size:
        index = int(other_size[0])
        raise DegeneracyError(
            f"{name}: frame {index} has {len(frames[index])} atoms, frame 0 has {size}; "
            "all frames of one call need the same number of neighbours"
        )
    return frames


def _check_frame_contents(
    frames: list[ase.Atoms],
    *,
    name: str,
    center: int | None,
    neighbors: Collection[int] | None,
) -> None:
    """:func:`check_frames`' checks of frames of one size: the first frame (then the first
    check, in the order periodic, non-finite, centre, neighbour) that fails is named."""
    periodic = np.array([atoms.pbc for atoms in frames]).any(axis=1)
    # concatenated, then one isfinite: 0.3 ms for 2000 CH4 (np.stack takes twice as long)
    positions = np.concatenate([atoms.positions for atoms in frames]).reshape(len(frames), -1)
    nonfinite = ~np.isfinite(positions).all(axis=1)
    numbers = np.concatenate([atoms.numbers for atoms in frames]).reshape(len(frames), -1)
    wrong_center = numbers[:, 0] != center if center is not None else np.zeros(len(frames), bool)
    unknown = (
        ~np.isin(numbers[:, 1:], list(neighbors))
        if neighbors is not None
        else np.zeros((len(frames), numbers.shape[1] - 1), dtype=bool)
    )
    failing = np.flatnonzero(periodic | nonfinite | wrong_center | unknown.any(axis=1))
    if not failing.size:
        return
    index = int(failing[0])
    if periodic[index]:
        raise periodic_frame_error(name, index, frames[index])
    check_finite_coordinates(frames[index].positions, f"{name}: frame {index}")
    if wrong_center[index]:
        raise DegeneracyError(
            f"{name}: frame {index}, atom 0: the centre is {_symbol(numbers[index, 0])}, "
            f"but this fingerprint describes {_symbol(center)} centres"
        )
    atom = int(np.flatnonzero(unknown[index])[0]) + 1
    known = ", ".join(_symbol(z) for z in neighbors)
    raise DegeneracyError(
        f"{name}: frame {index}, atom {atom}: no channel for neighbour species "
        f"{_symbol(numbers[index, atom])} (it describes {known})"
    )


def periodic_frame_error(name: str, index: int, atoms: ase.Atoms) -> DegeneracyError:
    """The refusal of periodic frame ``index`` (``atoms``) by ``name``, with what to do."""
    return DegeneracyError(
        f"{name}: frame {index} is periodic (pbc={atoms.pbc.tolist()}); an environment is "
        "atom 0 and the neighbours listed after it: cut environments from a periodic "
        "structure with degeneracy.structure_environments, or set pbc=False"
    )


def fingerprint(representation: Any) -> Representation:
    """``representation`` if it implements :class:`Representation`, else named, with how to
    build one (a name such as ``"soap"`` is not enough: it has no hyperparameters; nor is
    the class, ``dg.SoapPowerSpectrum`` without ``()``, whose methods would then lack
    their ``self``)."""
    if isinstance(representation, type):  # a class has the protocol's attributes too
        raise DegeneracyError(
            f"not a fingerprint: the class {representation.__name__}; build one, e.g. "
            f"{representation.__name__}()"
        )
    if not isinstance(representation, Representation):
        raise DegeneracyError(
            f"not a fingerprint: {representation!r}; build one, e.g. dg.SoapPowerSpectrum() "
            "or dg.make_representation('soap')"
        )
    return representation


def _symbol(number: int) -> str:
    return ase.data.chemical_symbols[int(number)]


def batches(
    frames: Sequence[ase.Atoms], size: int, *, progress: bool = False, desc: str = ""
) -> Iterator[Sequence[ase.Atoms]]:
    """Consecutive slices of ``frames`` of at most ``size`` frames, with a progress bar."""
    bar = tqdm(total=len(frames), desc=desc, unit="frame", disable=not progress, leave=False)
    for start in range(0, len(frames), size):
        chunk = frames[start : start + size]
        yield chunk
        bar.update(len(chunk))
    bar.close()


def finite_difference_jacobian(
    representation: Representation, atoms: ase.Atoms, *, step: float = 1e-5
) -> np.ndarray:
    r"""Central finite-difference Jacobian of one frame, shape ``(n_features, 3N)``.

    .. math:: J_{:,3(a-1)+k} \approx \frac{x(r + h e_{ak}) - x(r - h e_{ak})}{2h}

    The reference against which every analytic Jacobian is tested; ``atoms`` is not
    modified (displaced copies are evaluated in one batch).

    Parameters
    ----------
    representation : Representation
        The fingerprint.
    atoms : ase.Atoms
        One environment (centre first), N neighbours.
    step : float
        The displacement :math:`h` (Å) of each neighbour coordinate.

    Returns
    -------
    numpy.ndarray of shape (n_features, 3N)
        Column :math:`3(a-1)+k` is the derivative along coordinate :math:`k` of neighbour
        :math:`a`, the centre fixed (the convention of :meth:`Representation.jacobian`).

    Raises
    ------
    DegeneracyError
        When ``atoms`` is not one :class:`ase.Atoms`, ``representation`` is not a
        :class:`Representation`, ``step`` is not a positive number, or the fingerprint
        refuses the frame.
    """
    atoms = one_frame(atoms, name="finite_difference_jacobian")
    representation = fingerprint(representation)
    step = positive_float("step", step)
    n_neighbors = len(atoms) - 1
    displaced = []
    for column in range(3 * n_neighbors):
        atom, axis = divmod(column, 3)
        for sign in (1.0, -1.0):
            copy = atoms.copy()
            copy.positions[atom + 1, axis] += sign * step
            displaced.append(copy)
    features = representation.features(displaced)
    return ((features[0::2] - features[1::2]) / (2.0 * step)).T


#: Settings a fingerprint's ``hypers()`` leaves out at their default, by its name: ACSF's
#: angular functions (G5 came after G4, and ``hypers()`` is also the identity of cached
#: results: the scans' resume token, the orbits' checkpoint keys, the learned features'
#: cache keys, which would all change with it).
IMPLIED_HYPERS: dict[str, dict[str, Any]] = {"acsf": {"angular": "g4"}}


def every_hyper(representation: Any, hypers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``hypers`` (by default ``representation.hypers()``) with every setting it leaves at
    its default (:data:`IMPLIED_HYPERS`) written out, for what a command or a summary file reports:
    ``angular: g4`` as well as ``angular: g5``."""
    hypers = dict(representation.hypers() if hypers is None else hypers)
    for key, value in IMPLIED_HYPERS.get(getattr(representation, "name", ""), {}).items():
        hypers.setdefault(key, value)
    return hypers
