"""ρ and the trade scale of a subspace of motions: where s_min is a multiple zero (or tied
with other values) its singular vectors are an arbitrary basis of their span, so
``near_swap``, ``trade_scale`` and ``compare`` report the span's most trade-like motion
(``softest_motions``), the same whatever basis the SVD returned."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import ortho_group

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.scan import describe_singular
from degeneracy.sensitivity import (
    ZERO_RTOL,
    analyse_frames,
    coincident_pairs,
    near_swap,
    nearest_coincidence,
    pair_swap_residual,
    pair_triple_rates,
    pair_triples,
    softest_motions,
    trade_scale,
    zero_verdict,
)


def _spectrum(frames, representation):
    _, jacobian = representation.jacobian(frames)
    return dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))


@pytest.fixture(scope="module")
def l_max_0():
    """Random CH4 and SOAP at l_max = 0, which sees only the 4 C–H distances: 5 exact
    zeros per frame, the SVD's basis of the motions that keep every distance arbitrary."""
    frames = dg.sample_methane(5, seed=21)
    soap = dg.SoapPowerSpectrum(l_max=0)
    return frames, soap, _spectrum(frames, soap)


def _rho_of_one_motion(neighbors, motion, nearest):
    """ρ of one motion with the two pairs of ``nearest`` grouped, straight from the
    formula of ``pair_swap_residual`` (as the code computed it before subspaces); the
    sum's radii averaged (P_sym) where one of the pairs equals its own reverse as closely
    as the other pair (√2 |r_i − r_j| ≤ the mismatch: all neighbours are H here)."""
    pairs, rates = pair_triple_rates(neighbors, motion)
    rates = np.nan_to_num(rates) * [1.0, 1.0, np.linalg.norm(neighbors, axis=1).mean()]
    rows = [pairs.tolist().index(sorted(pair)) for pair in nearest.pairs]
    oriented = [
        rates[row] if i < j else rates[row][[1, 0, 2]]
        for row, (i, j) in zip(rows, nearest.pairs, strict=True)
    ]
    totals = rates.copy()
    totals[rows[0]], totals[rows[1]] = oriented[0] + oriented[1], 0.0
    radii = np.linalg.norm(neighbors, axis=1)
    if any(np.sqrt(2) * abs(radii[i] - radii[j]) <= nearest.mismatch for i, j in nearest.pairs):
        totals[rows[0], :2] = totals[rows[0], :2].mean()
    return float(np.linalg.norm(totals) / np.linalg.norm(rates))


def _link_differences(neighbors):
    """Every max-norm difference of two pairs' (r_i, r_j, r̄θ_ij), in the order of the
    second that matches the first best: the tolerances at which single linkage merges."""
    _, triples = pair_triples(neighbors)
    triples = triples * [1.0, 1.0, np.linalg.norm(neighbors, axis=1).mean()]
    return sorted(
        {
            min(np.abs(a - b).max(), np.abs(a - b[[1, 0, 2]]).max())
            for k, a in enumerate(triples)
            for b in triples[k + 1 :]
        }
    )


def test_softest_motions_are_the_zeros_or_the_values_tied_with_s_min():
    motions = np.eye(6)[:3]  # stands in for a frame's (3N-3, 3N), N = 2
    values = np.array([1.0, 0.5, 0.25])
    np.testing.assert_array_equal(softest_motions(values, motions), motions[[2]])  # alone
    values = np.array([1.0, 3e-7, 1e-16])  # two zeros, as zero_verdict counts them
    assert zero_verdict(values, 0) == "spurious"
    np.testing.assert_array_equal(softest_motions(values, motions), motions[[1, 2]])
    values = np.array([1.0, 0.2 + 5e-7, 0.2])  # tied at the resolution of a zero
    np.testing.assert_array_equal(softest_motions(values, motions), motions[[1, 2]])
    assert softest_motions(values, motions, zero_rtol=1e-7).shape == (1, 6)
    np.testing.assert_array_equal(softest_motions(np.zeros(3), motions), motions)  # blind
    with pytest.raises(dg.DegeneracyError, match=r"need motions \(3, 6\)"):
        softest_motions(values, motions[:, :5])
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        softest_motions(values, motions, zero_rtol=2.0)
    with pytest.raises(dg.DegeneracyError, match="one frame's singular values"):
        softest_motions(np.ones((2, 3)), motions)


def test_l_max_0_has_five_exact_zeros_whose_motions_keep_every_distance(l_max_0):
    frames, _, spectrum = l_max_0
    for f, atoms in enumerate(frames):
        softest = softest_motions(spectrum.values[f], spectrum.motions[f])
        assert softest.shape == (5, 12)
        _, rates = pair_triple_rates(dg.neighbor_positions(atoms), softest[0])
        assert np.abs(rates[:, :2]).max() < 1e-10  # no radius moves


def test_one_motion_gives_that_motions_rho_and_trade_scale():
    """(a) Where s_min is alone (default SOAP, random CH4) the subspace is its one motion:
    ρ is the single vector's, from the formula, whatever shape the motion is given in,
    and every caller reports it; the trade scale is the motion's own."""
    frames = dg.sample_methane(12, seed=4)
    soap = dg.SoapPowerSpectrum()
    spectrum = _spectrum(frames, soap)
    analysed = analyse_frames(frames, soap)
    compared = dg.compare_fingerprints(frames, {"soap": soap})
    for f, atoms in enumerate(frames):
        neighbors = dg.neighbor_positions(atoms)
        motion = spectrum.motions[f, -1]
        softest = softest_motions(spectrum.values[f], spectrum.motions[f])
        np.testing.assert_array_equal(softest, motion[None])
        expected = _rho_of_one_motion(neighbors, motion, nearest_coincidence(neighbors))
        for given in (motion, motion.reshape(4, 3), softest, -3.0 * softest):
            near = near_swap(atoms, given, soap, values=spectrum.values[f])
            assert near["near_swap_residual"] == pytest.approx(expected, rel=1e-12)
            assert trade_scale(neighbors, given) == trade_scale(neighbors, motion)
        assert analysed[f].near_swap_residual == pytest.approx(expected, rel=1e-12)
        assert compared.near_swap_residuals[f, 0] == pytest.approx(expected, rel=1e-12)
        assert compared.trade_scales[f, 0] == trade_scale(neighbors, motion)


def test_the_subspace_rho_and_scale_do_not_depend_on_its_basis(l_max_0):
    """(b) Another orthonormal basis of the five zeros (a random orthogonal 5 × 5 mix), or
    any basis of their span, gives the same ρ and trade scale; the last vector of each
    basis, what was reported before, does not."""
    frames, soap, spectrum = l_max_0
    rng = np.random.default_rng(8)
    changed = []
    for f, atoms in enumerate(frames):
        neighbors = dg.neighbor_positions(atoms)
        softest = softest_motions(spectrum.values[f], spectrum.motions[f])
        rotated = ortho_group.rvs(len(softest), random_state=rng) @ softest
        mixed = rng.normal(size=(len(softest), len(softest))) @ softest  # not orthonormal
        rho, scale = (
            near_swap(atoms, softest, soap, values=spectrum.values[f])["near_swap_residual"],
            trade_scale(neighbors, softest),
        )
        for basis in (rotated, mixed, softest[::-1]):
            again = near_swap(atoms, basis, soap, values=spectrum.values[f])
            assert abs(again["near_swap_residual"] - rho) < 1e-10
            assert trade_scale(neighbors, basis) == pytest.approx(scale, rel=1e-12)
        single = [near_swap(atoms, basis[-1])["near_swap_residual"] for basis in (softest, rotated)]
        changed.append(abs(single[0] - single[1]))
    assert max(changed) > 0.01  # one arbitrary vector's ρ


def test_the_subspace_rho_is_the_smallest_over_it_and_attained(l_max_0):
    """(c) ρ of the subspace is at most that of any motion in it (random combinations),
    and a minimisation over the combinations reaches it; the trade scale is at most that
    of any of them, and is the first tolerance at which some motion is mostly a trade."""
    frames, _, spectrum = l_max_0
    rng = np.random.default_rng(9)
    finite = 0
    for f, atoms in enumerate(frames):
        neighbors = dg.neighbor_positions(atoms)
        nearest = [nearest_coincidence(neighbors)]
        softest = softest_motions(spectrum.values[f], spectrum.motions[f])
        least = pair_swap_residual(neighbors, softest, nearest)
        combinations = rng.normal(size=(100, len(softest)))
        sampled = [pair_swap_residual(neighbors, c @ softest, nearest) for c in combinations]
        assert least <= min(sampled) + 1e-12
        start = combinations[int(np.argmin(sampled))]
        found = minimize(
            lambda c, n=neighbors, s=softest, g=nearest: pair_swap_residual(n, c @ s, g),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000},
        )
        assert least <= found.fun + 1e-12 and found.fun == pytest.approx(least, abs=1e-6)
        scale = trade_scale(neighbors, softest)
        for c in combinations[:10]:
            assert scale <= trade_scale(neighbors, c @ softest)
        expected = np.inf
        for difference in _link_differences(neighbors):
            groups = coincident_pairs(neighbors, tol=float(np.nextafter(difference, np.inf)))
            if pair_swap_residual(neighbors, softest, groups) < 0.5:
                expected = difference
                break
        assert scale == pytest.approx(expected, rel=1e-12)
        finite += np.isfinite(scale)
    assert finite >= 3


def test_equivalent_l_max_0_fingerprints_report_one_rho(l_max_0):
    """(d) The old bug: SOAP at l_max = 0 with other n_max or σ has the same five zeros
    (the motions that keep every distance), but the SVD returned another basis of them and
    ρ of its last vector came out 0.956 against 0.974 for one frame. Now every entry, and
    every caller (analyse_frames, scan's describe_singular, compare), reports the same."""
    frames, _, _ = l_max_0
    entries = {
        "soap": dg.SoapPowerSpectrum(l_max=0),
        "n_max=6": dg.SoapPowerSpectrum(l_max=0, n_max=6),
        "sigma=0.2": dg.SoapPowerSpectrum(l_max=0, sigma=0.2),
    }
    compared = dg.compare_fingerprints(frames, entries)
    rho = compared.near_swap_residuals
    np.testing.assert_allclose(rho, rho[:, [0]].repeat(3, axis=1), rtol=1e-8)
    np.testing.assert_allclose(compared.trade_scales, compared.trade_scales[:, [0]].repeat(3, 1))
    for k, representation in enumerate(entries.values()):
        analysed = analyse_frames(frames, representation)
        described = describe_singular(frames[:2], representation)
        for f in range(len(frames)):
            assert analysed[f].near_swap_residual == pytest.approx(rho[f, k], rel=1e-12)
        for f, entry in enumerate(described):
            assert entry["near_swap_residual"] == pytest.approx(rho[f, k], rel=1e-12)


def test_compare_gives_equivalent_entries_one_rho_and_trade_scale(tmp_path, capsys):
    """(e) ``degeneracy compare`` with equivalent entries (SOAP at l_max = 0 with two
    n_max) and ``compare_fingerprints`` with one fingerprint twice: the same ρ and trade
    scale per frame, and the same medians."""
    path = tmp_path / "frames.extxyz"
    dg.write_environments(path, [dg.builtin_environment("pg-start"), *dg.sample_methane(3, seed=2)])
    rep = "soap:l_max=0,soap:l_max=0:n_max=6"
    assert main(["compare", str(path), "--rep", rep, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    first, second = (out["summary"][name] for name in rep.split(","))
    for key in ("near_swap_residual_median", "trade_scale_median"):
        assert first[key] == pytest.approx(second[key], rel=1e-8), key
    for frame in out["frames"]:
        a, b = (frame[name] for name in rep.split(","))
        assert a["near_swap_residual"] == pytest.approx(b["near_swap_residual"], rel=1e-8)
        assert a["trade_scale"] == pytest.approx(b["trade_scale"], rel=1e-8)
    assert out["frames"][0]["soap:l_max=0"]["near_swap_residual"] < 0.05  # pg-start's trade
    soap = dg.SoapPowerSpectrum(l_max=0)
    twice = dg.compare_fingerprints(dg.read_environments(path), {"a": soap, "b": soap})
    np.testing.assert_array_equal(twice.near_swap_residuals[:, 0], twice.near_swap_residuals[:, 1])
    np.testing.assert_array_equal(twice.trade_scales[:, 0], twice.trade_scales[:, 1])
    summary = twice.summary()
    assert summary["a"] == summary["b"]


def test_a_subspace_must_be_motions_of_the_frame():
    atoms = dg.builtin_environment("pg-start")
    neighbors = dg.neighbor_positions(atoms)
    with pytest.raises(dg.DegeneracyError, match="at least one row"):
        near_swap(atoms, np.zeros((0, 12)))
    with pytest.raises(dg.DegeneracyError, match="non-finite"):
        trade_scale(neighbors, np.full((2, 12), np.nan))
    with pytest.raises(dg.DegeneracyError, match="4 neighbours has 12 components, got 10"):
        pair_swap_residual(neighbors, np.ones((2, 5)), [])
    assert pair_swap_residual(neighbors, np.zeros((2, 12)), []) == 1.0  # moves nothing
    assert trade_scale(neighbors, np.zeros((2, 12))) == np.inf
    assert ZERO_RTOL == 1e-6  # the width of a tie in softest_motions' default
