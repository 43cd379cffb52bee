"""``find_singular`` descends on s_min / s_1, not on s_min: a scale-free objective."""

from __future__ import annotations

import numpy as np
import pytest

import degeneracy as dg
from degeneracy.singular import (
    CountingJacobian,
    bordered_system,
    find_singular,
    levenberg_marquardt_step,
    log_scale_gradient,
    ratio_system,
)

FD_STEP = 1e-4


class Weighted:
    """A fingerprint times a weight: a constant, or exp(−Σ|r_i|²/L²), which fades every
    neighbour at once and so lowers every singular value by about one common factor."""

    name = "weighted"

    def __init__(self, representation, *, factor: float = 1.0, length: float | None = None):
        self.representation, self.factor, self.length = representation, factor, length

    def hypers(self) -> dict:
        return {"factor": self.factor, "length": self.length}

    def features(self, frames):
        return self.jacobian(frames)[0]

    def jacobian(self, frames):
        features, jacobian = self.representation.jacobian(frames)
        if self.length is None:
            return self.factor * features, self.factor * jacobian
        neighbors = dg.neighbor_positions(frames).reshape(len(frames), -1)
        weight = self.factor * np.exp(-(neighbors**2).sum(axis=1) / self.length**2)
        slope = -2.0 * neighbors / self.length**2 * weight[:, None]
        return (
            weight[:, None] * features,
            weight[:, None, None] * jacobian + features[:, :, None] * slope[:, None, :],
        )


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(sigma=0.3)


def _derivatives(evaluate, r):
    """J, the spectrum, D_u J (central) and D_{b_1} J (central) at r."""
    _, jacobian, spectrum = evaluate(r)
    u, top = spectrum.motions[0, -1], spectrum.motions[0, 0]
    _, shifted, _ = evaluate(
        np.stack([r + FD_STEP * u, r - FD_STEP * u, r + FD_STEP * top, r - FD_STEP * top])
    )
    return (
        jacobian[0],
        spectrum,
        (shifted[0] - shifted[1]) / (2 * FD_STEP),
        (shifted[2] - shifted[3]) / (2 * FD_STEP),
    )


def test_log_scale_gradient_matches_finite_differences_of_log_s1(soap):
    atoms = dg.sample_methane(1, seed=7)[0]
    evaluate = CountingJacobian(soap, atoms)
    r = dg.neighbor_positions(atoms).ravel()
    jacobian, spectrum, _, top_directional = _derivatives(evaluate, r)
    gradient = log_scale_gradient(jacobian, spectrum.motions[0, 0], top_directional)
    numeric = np.empty(12)
    for k in range(12):
        dr = np.zeros(12)
        dr[k] = 1e-5
        _, _, plus = evaluate(r + dr)
        _, _, minus = evaluate(r - dr)
        numeric[k] = (np.log(plus.values[0, 0]) - np.log(minus.values[0, 0])) / 2e-5
    assert np.linalg.norm(gradient - numeric) < 1e-5 * np.linalg.norm(numeric)


def test_ratio_system_derivative_matches_finite_differences(soap):
    """The first block J u / s_1(r) is differentiated with s_1 too."""
    atoms = dg.sample_methane(1, seed=7)[0]
    evaluate = CountingJacobian(soap, atoms)
    r = dg.neighbor_positions(atoms).ravel()
    jacobian, spectrum, directional, top_directional = _derivatives(evaluate, r)
    u = spectrum.motions[0, -1] + 0.01 * np.arange(12) / 12  # also off the constraints
    _, pair, _ = evaluate(np.stack([r + FD_STEP * u, r - FD_STEP * u]))
    directional = (pair[0] - pair[1]) / (2 * FD_STEP)
    gradient = log_scale_gradient(jacobian, spectrum.motions[0, 0], top_directional)
    _, derivative = ratio_system(r, u, jacobian, directional, spectrum.values[0, 0], gradient)

    def residual(z):
        _, j, s = evaluate(z[:12])
        return ratio_system(z[:12], z[12:], j[0], directional, s.values[0, 0], gradient)[0]

    z = np.concatenate([r, u])
    numeric = np.empty_like(derivative)
    for k in range(24):
        dz = np.zeros(24)
        dz[k] = 1e-5
        numeric[:, k] = (residual(z + dz) - residual(z - dz)) / 2e-5
    assert np.linalg.norm(derivative - numeric) < 1e-5 * np.linalg.norm(numeric)


def _mean_radius(r: np.ndarray) -> float:
    return float(np.linalg.norm(r.reshape(-1, 3), axis=1).mean())


def test_a_common_fade_does_not_draw_the_search_outwards(soap):
    """SOAP times exp(−Σ|r_i|²/(0.7 Å)²): moving every neighbour out lowers s_min with
    s_1, without nearing a zero. The first Levenberg–Marquardt step on s_min (the former
    objective) moves the neighbours out and shrinks s_1; the step on s_min / s_1 does
    not. The former search (no pull) ended with s_1 down 2e4× and H up to 1.94 Å; now
    s_1 ends above its start, and the neighbours where the unweighted search puts them."""
    faded = Weighted(soap, length=0.7)
    atoms = dg.sample_methane(1, seed=0)[0]
    evaluate = CountingJacobian(faded, atoms)
    r = dg.neighbor_positions(atoms).ravel()
    jacobian, spectrum, directional, top_directional = _derivatives(evaluate, r)
    values, u = spectrum.values[0], spectrum.motions[0, -1]
    absolute = bordered_system(r, u, jacobian, directional, values[0])
    gradient = log_scale_gradient(jacobian, spectrum.motions[0, 0], top_directional)
    relative = ratio_system(r, u, jacobian, directional, values[0], gradient)
    no_pull = np.zeros(12)
    old = levenberg_marquardt_step(*absolute, damping=values[-1], towards=no_pull)[:12]
    new = levenberg_marquardt_step(*relative, damping=values[-1] / values[0], towards=no_pull)[:12]
    after = {}
    for name, step in (("old", old), ("new", new)):
        step = step * min(1.0, 0.05 / np.linalg.norm(step))  # the trust radius
        trial = evaluate(r + step)[2].values[0]
        after[name] = (_mean_radius(r + step) - _mean_radius(r), trial[0] / values[0])
        after[name] += ((trial[-1] / trial[0]) / (values[-1] / values[0]),)
    # (Δ mean radius, s_1 after / before, s_min/s_1 after / before): old (0.022 Å, 0.60,
    # 0.988), new (−0.006 Å, 1.17, 0.82)
    assert after["old"][0] > 0.01 and after["old"][1] < 0.7 and after["old"][2] > 0.95
    assert after["new"][0] < 0.0 and after["new"][1] > 1.0 and after["new"][2] < 0.9

    result = find_singular(atoms, faded, pull=0.0)
    assert result.converged
    assert result.singular_values[0] > values[0]
    plain = find_singular(atoms, soap, pull=0.0)
    radii = np.linalg.norm(dg.neighbor_positions(result.atoms), axis=1)
    plain_radii = np.linalg.norm(dg.neighbor_positions(plain.atoms), axis=1)
    assert radii.max() < 1.5
    np.testing.assert_allclose(np.sort(radii), np.sort(plain_radii), atol=0.05)


@pytest.mark.parametrize("name", ["soap", "acsf"])
def test_the_search_does_not_depend_on_the_fingerprint_s_units(name):
    """Features and Jacobian times 1e3: the same path, iterate by iterate and trial by
    trial, to round-off while CN < 1e7 (amplified by the damping s_min/s_1 of the least
    squares step: the iterates agree to 3e-7 there, 1.1e-7 at the last, CN 6.7e6, with
    ACSF's G4 term of 2026-12-07, s_min and CN to 1e-7 while CN < 1e5). Beyond,
    the amplified round-off decides the backtracking: on a plateau at CN 6e9 the ACSF
    search took 429 Jacobians in one unit and 461 in the other with Haswell BLAS kernels
    (the same number with AVX-512 ones), ending 1e-3 Å apart; both still end there."""
    representation = dg.make_representation(name)
    atoms = dg.sample_methane(3, seed=5)[2]
    plain = find_singular(atoms, representation)
    scaled = find_singular(atoms, Weighted(representation, factor=1e3))
    pairs = [(a, b) for a, b in zip(plain.history, scaled.history, strict=False) if a.cn < 1e7]
    assert sum(a.cn < 1e5 for a, _ in pairs) > 5 and len(pairs) > 10
    for a, b in pairs:
        assert b.jacobian_evaluations == a.jacobian_evaluations
        assert b.distance == pytest.approx(a.distance, rel=3e-7, abs=1e-12)
        if a.cn < 1e5:
            assert b.s_min == pytest.approx(1e3 * a.s_min, rel=1e-7)
            assert b.cn == pytest.approx(a.cn, rel=1e-7)
    assert min(plain.cn, scaled.cn) > 1e9
    np.testing.assert_allclose(
        dg.neighbor_positions(scaled.atoms), dg.neighbor_positions(plain.atoms), atol=1e-2
    )
