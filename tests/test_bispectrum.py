"""Bispectrum (ν = 3): coupling convention, reduction to SOAP, Jacobian, band limit.

Finite differences and invariances of the standard cases run in the shared suite
(``conftest.REPRESENTATION_CASES``); these tests check what is specific to ν = 3.
"""

from __future__ import annotations

import ase
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.representations.bispectrum import angular_triples, real_coupling


@pytest.fixture(scope="module")
def bispectrum():
    return dg.Bispectrum(n_max=4, l_max=4)


def test_triples_are_the_even_triangles():
    triples = angular_triples(3)
    assert (0, 0, 0) in triples and (1, 1, 2) in triples and (1, 2, 3) in triples
    assert (1, 1, 1) not in triples  # odd: a pseudoscalar, flips sign under inversion
    assert (0, 1, 2) not in triples  # violates the triangle rule
    assert all(l1 <= l2 <= l3 <= l1 + l2 and (l1 + l2 + l3) % 2 == 0 for l1, l2, l3 in triples)


def test_coupling_is_real_and_orthonormal():
    # real-basis CG: for fixed l3 the (m1 m2) -> m3 map has orthonormal columns
    for (l1, l2, l3), cg in real_coupling(4).items():
        gram = np.einsum("abc,abd->cd", cg, cg)
        np.testing.assert_allclose(gram, np.eye(2 * l3 + 1), atol=1e-12, err_msg=str((l1, l2, l3)))


def test_l1_zero_reduces_to_the_power_spectrum(bispectrum):
    # b(0 l l) = c_{n0,00} Σ_m c_{n1 l m} c_{n2 l m}; featomic's power spectrum is
    # p_{n1 n2 l} = (−1)^l / sqrt(2l+1) Σ_m c c (measured convention, see test below).
    frames = dg.sample_methane(3, seed=8)
    features = bispectrum.features(frames)
    labels = bispectrum.labels()
    coefficients, _ = bispectrum.expansion(frames, gradients=False)
    soap = dg.SoapPowerSpectrum(sigma=0.3, n_max=4, l_max=4).features(frames)
    soap = soap.reshape(len(frames), 5, 4, 4)  # (l, n1, n2), featomic's property order
    c00 = coefficients[0][:, 0, :]  # (frames, n)
    for l in range(5):
        rows = np.flatnonzero((labels[:, 0] == 0) & (labels[:, 1] == l) & (labels[:, 2] == l))
        for row in rows:
            _, _, _, n0, n1, n2 = labels[row]
            expected = c00[:, n0] * (-1) ** l * np.sqrt(2 * l + 1) * soap[:, l, n1, n2]
            np.testing.assert_allclose(features[:, row], expected, rtol=1e-10, atol=1e-14)


def test_power_spectrum_sign_convention(bispectrum):
    frames = dg.sample_methane(2, seed=9)
    coefficients, _ = bispectrum.expansion(frames, gradients=False)
    soap = dg.SoapPowerSpectrum(sigma=0.3, n_max=4, l_max=4).features(frames)
    soap = soap.reshape(len(frames), 5, 4, 4)
    for l in range(5):
        mine = np.einsum("fmn,fmk->fnk", coefficients[l], coefficients[l]) / np.sqrt(2 * l + 1)
        np.testing.assert_allclose(soap[:, l], (-1) ** l * mine, rtol=1e-10, atol=1e-14)


def test_feature_count_and_labels():
    rep = dg.Bispectrum(n_max=3, l_max=0)
    # only (0,0,0) with n1 <= n2 <= n3: C(3+2, 3) = 10
    assert rep.n_features == 10 == len(rep.labels())
    rep = dg.Bispectrum(n_max=4, l_max=4)
    assert (
        rep.n_features == len(rep.labels()) == rep.features([dg.builtin_environment("td")]).shape[1]
    )


def test_band_limit_changes_features():
    small = dg.Bispectrum(n_max=3, l_max=2)
    large = dg.Bispectrum(n_max=3, l_max=4)
    assert large.n_features > small.n_features
    frames = [dg.builtin_environment("pg-start")]
    # the l <= 2 part is shared: every small feature appears among the large ones
    small_x = small.features(frames)[0]
    large_x = large.features(frames)[0]
    keep = np.all(large.labels()[:, :3] <= 2, axis=1)
    np.testing.assert_allclose(large_x[keep], small_x, rtol=1e-10)


def test_jacobian_matches_central_differences_two_species():
    # a C centre with H and O neighbours: the stacked radial index of several species
    rng = np.random.default_rng(4)
    positions = np.vstack([np.zeros(3), rng.normal(size=(4, 3))])
    positions[1:] *= (rng.uniform(0.9, 1.6, 4) / np.linalg.norm(positions[1:], axis=1))[:, None]
    atoms = ase.Atoms("CHHOO", positions=positions)
    rep = dg.Bispectrum(n_max=2, l_max=3, neighbors=("H", "O"))
    _, jacobian = rep.jacobian([atoms])
    numeric = dg.finite_difference_jacobian(rep, atoms, step=1e-5)
    assert np.linalg.norm(jacobian[0] - numeric) / np.linalg.norm(jacobian[0]) < 1e-6


def test_hypers_rebuild_and_validation():
    rep = dg.Bispectrum(sigma=0.4, n_max=3, l_max=2)
    again = dg.make_representation("bispectrum", **rep.hypers())
    frames = [dg.builtin_environment("pg-start")]
    np.testing.assert_array_equal(rep.features(frames), again.features(frames))
    with pytest.raises(dg.DegeneracyError, match="n_max"):
        dg.Bispectrum(n_max=0)
    with pytest.raises(dg.DegeneracyError, match="sigma"):
        dg.Bispectrum(sigma=3.0)
    with pytest.raises(dg.DegeneracyError, match="element"):
        dg.Bispectrum(neighbors=("Xx",))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"l_max": 100}, "bispectrum l_max must be at least 0 and at most 10, got 100"),
        ({"l_max": 11}, "bispectrum l_max must be at least 0 and at most 10, got 11"),
        ({"n_max": 13}, "bispectrum n_max must be at least 1 and at most 12, got 13"),
    ],
)
def test_limits_name_the_bispectrum(kwargs, message):
    """Its limits are below SOAP's (l_max 20, n_max 22): the message says whose they are."""
    with pytest.raises(dg.DegeneracyError, match=f"^{message}$"):
        dg.Bispectrum(**kwargs)
    assert dg.Bispectrum(l_max=10, n_max=1).l_max == 10
