"""Search for singular configurations (``degeneracy.singular``, ``degeneracy singular``)."""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pytest
from conftest import published_a0, reference_path
from scipy.spatial.transform import Rotation

import degeneracy as dg
import degeneracy.cli.singular as singular_cli
import degeneracy.sensitivity as sensitivity
from degeneracy.cli import main
from degeneracy.sensitivity import (
    analyse_frames,
    coincident_pairs,
    near_swap,
    nearest_coincidence,
    pair_triple_rates,
    pair_triples,
    trade_scale,
)
from degeneracy.singular import CountingJacobian, bordered_system, find_singular

#: Nelder–Mead on CN from pg-start took about this many Jacobians (the Comment's script).
NELDER_MEAD_JACOBIANS = 45_000

#: A C(H2O2) environment (Å, C at the origin; H, H, O, O) with a ν = 2 singular point
#: 0.11 Å away.
C_H2O2 = np.array(
    [[0.874, -0.654, 0.195], [-0.631, 0.846, -0.013], [-0.21, -0.969, 0.949], [0.663, 0.664, 1.002]]
)


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(sigma=0.3)


@pytest.fixture(scope="module")
def from_pg_start(soap):
    return find_singular(dg.builtin_environment("pg-start"), soap)


def test_the_found_configuration_keeps_no_stale_info_of_the_start(soap):
    """An orbit frame's E4, arc length and frame number describe the start, not the
    configuration found; only its provenance (source_frame) is kept."""
    start = dg.builtin_environment("pg-start")
    start.info.update(fourbody=9.0, arc_length=0.5, frame=50, source_frame=3, method="adaptive")
    info = find_singular(start, soap, max_iterations=1).atoms.info
    assert info["source_frame"] == 3
    assert not {"fourbody", "arc_length", "frame", "method"} & set(info)
    assert start.info["fourbody"] == 9.0  # the input is not touched


def _geometric_residual(neighbors: np.ndarray) -> float:
    """How far from 'three equal radii (H1, H2, H4), H3 at equal angles to them' (the
    singular set near A0 found by the lead; independent of SOAP's numerics)."""
    radii = np.linalg.norm(neighbors, axis=1)
    units = neighbors / radii[:, None]
    cosines = units[[0, 1, 3]] @ units[2]
    return float(np.ptp(radii[[0, 1, 3]]) + np.ptp(cosines))


def test_bordered_system_derivative_matches_finite_differences(soap):
    atoms = dg.sample_methane(1, seed=7)[0]
    evaluate = CountingJacobian(soap, atoms)
    r = dg.neighbor_positions(atoms).ravel()
    _, jacobian, spectrum = evaluate(r)
    u = spectrum.motions[0, -1] + 0.01 * np.arange(12) / 12  # also off the constraints
    h = 1e-4
    _, pair, _ = evaluate(np.stack([r + h * u, r - h * u]))
    directional = (pair[0] - pair[1]) / (2 * h)
    _, derivative = bordered_system(r, u, jacobian[0], directional, spectrum.values[0, 0])

    def residual(z):
        _, j, _ = evaluate(z[:12])
        return bordered_system(z[:12], z[12:], j[0], directional, spectrum.values[0, 0])[0]

    z = np.concatenate([r, u])
    numeric = np.empty_like(derivative)
    step = 1e-5
    for k in range(24):
        dz = np.zeros(24)
        dz[k] = step
        numeric[:, k] = (residual(z + dz) - residual(z - dz)) / (2 * step)
    error = np.linalg.norm(derivative - numeric) / np.linalg.norm(numeric)
    assert error < 1e-5


def test_search_from_pg_start_is_cheap_and_exact(from_pg_start):
    result = from_pg_start
    assert result.converged and result.cn > 1e13
    assert result.jacobian_evaluations < 200 < NELDER_MEAD_JACOBIANS
    assert not result.symmetric and result.symmetry.residual > 0.1
    assert 0.01 < result.distance < 0.1
    # an isolated zero: s_min grows linearly away from it (0.18 Å from A0: another branch)
    neighbors = dg.neighbor_positions(result.atoms)
    rng = np.random.default_rng(3)
    soap = dg.SoapPowerSpectrum(sigma=0.3)
    for scale in (1e-4, 1e-3):
        displaced = neighbors + scale * rng.normal(size=(4, 3))
        _, jacobian = soap.jacobian([dg.environment_from_neighbors(displaced)])
        assert dg.singular_spectrum(jacobian, displaced[None]).cn[0] < 1e9


def test_zero_from_pg_start_swaps_two_equal_pairs(from_pg_start):
    """Its motion trades the angles of H2-H3 and H4-H3, which have equal (r, r', θ): the
    ν = 2 sum over pairs sees only their total."""
    result = from_pg_start
    assert result.pair_swap and result.pair_swap_residual < 1e-9
    [group] = result.coincidences
    assert group.pairs == ((1, 2), (3, 2)) and group.mismatch < 1e-9
    assert result.atoms.info["coincident_pairs"] == "H2-H3 = H4-H3"
    neighbors = dg.neighbor_positions(result.atoms)
    _, jacobian = dg.SoapPowerSpectrum(sigma=0.3).jacobian([result.atoms])
    motion = dg.singular_spectrum(jacobian, neighbors[None]).motions[0, -1]
    pairs, rates = pair_triple_rates(neighbors, motion)
    moving = np.abs(rates).max(axis=1) > 1e-6
    assert pairs[moving].tolist() == [[1, 2], [2, 3]]  # only the two angles change
    np.testing.assert_allclose(rates[moving][:, 2].sum(), 0.0, atol=1e-9)
    assert abs(rates[moving][0, 2]) > 1.0


def test_singular_for_every_sigma(from_pg_start):
    """The singular set is geometric: the point found at σ = 0.3 is singular at every σ."""
    frames = [from_pg_start.atoms]
    for sigma in (0.1, 0.5):
        rep = dg.SoapPowerSpectrum(sigma=sigma)
        _, jacobian = rep.jacobian(frames)
        cn = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames)).cn[0]
        assert cn > 1e10, f"sigma={sigma}: CN {cn:.3g}"


def test_pair_triple_rates_match_finite_differences():
    neighbors = dg.neighbor_positions(dg.sample_methane(1, seed=3)[0])
    motion = np.random.default_rng(4).normal(size=(4, 3))
    _, rates = pair_triple_rates(neighbors, motion)
    h = 1e-6
    _, plus = pair_triples(neighbors + h * motion)
    _, minus = pair_triples(neighbors - h * motion)
    np.testing.assert_allclose(rates, (plus - minus) / (2 * h), rtol=1e-6, atol=1e-8)


def test_a_pair_at_180_degrees_does_not_hide_a_trade():
    """An octahedron has pairs at 180°, where the angle has no rate (NaN); the residual of
    a radial motion (no angle moves, at any angle) must be the same there as with that
    pair a micro-radian off 180° — it used to be 1.0 whenever a pair sat at 0° or 180°."""
    octahedron = 1.1 * np.vstack([np.eye(3), -np.eye(3)])
    tilted = octahedron.copy()
    tilted[3] = 1.1 * np.array([-np.cos(1e-6), np.sin(1e-6), 0.0])
    motion = np.zeros((6, 3))
    motion[0, 0], motion[1, 1] = 1.0, -1.0  # H1 out, H2 in: 2 of 12 equal 90° pairs
    _, rates = pair_triple_rates(octahedron, motion)
    assert np.isnan(rates[:, 2]).sum() == 3  # the three 180° pairs
    residuals = []
    for neighbors in (octahedron, tilted):
        groups = coincident_pairs(neighbors)
        assert sorted(len(g.pairs) for g in groups) == [3, 12]
        residuals.append(dg.pair_swap_residual(neighbors, motion, groups))
    assert 0.1 < residuals[0] < 0.99
    assert residuals[0] == pytest.approx(residuals[1], rel=1e-9)


def test_coincident_pairs_need_equal_triples_and_species():
    """A fold of a degenerate pair (A+ = A-): H3 = C2x(H2) and H4 on the x axis, so
    H2-H4 and H3-H4 have equal (r, r', θ)."""
    neighbors = dg.neighbor_positions(dg.fold_frames(dg.PairSampler().folds(1, seed=2))[0])
    [group] = coincident_pairs(neighbors)
    assert group.pairs == ((1, 3), (2, 3)) and group.mismatch < 1e-12
    assert group.label(["H"] * 4) == "H2-H4 = H3-H4" and group.label() == "2-4 = 3-4"
    assert coincident_pairs(neighbors, [1, 1, 8, 1]) == []  # H2-H4 is not O3-H4
    moved = neighbors.copy()
    moved[2, 0] += 0.01  # H3 off C2x(H2)
    assert coincident_pairs(moved) == [] and coincident_pairs(moved, tol=0.1)
    generic = dg.neighbor_positions(dg.sample_methane(1, seed=3)[0])
    assert coincident_pairs(generic) == []
    with pytest.raises(dg.DegeneracyError, match="coincidence tolerance"):
        coincident_pairs(generic, tol=0)
    with pytest.raises(
        dg.DegeneracyError, match="N species for N neighbours, got 3 species and 4 neighbours"
    ):
        coincident_pairs(generic, [1, 1, 1])


def _closest_pairs_by_brute_force(neighbors, species):
    """Every two pairs in both orders: the closest (r_i, r_j, r̄θ) with equal species."""
    pairs, triples = pair_triples(neighbors)
    triples = triples * [1.0, 1.0, np.linalg.norm(neighbors, axis=1).mean()]
    best = None
    for a in range(len(pairs)):
        for b in range(a + 1, len(pairs)):
            for order, triple in ((pairs[b], triples[b]), (pairs[b][::-1], triples[b][[1, 0, 2]])):
                if list(species[order]) != list(species[pairs[a]]):
                    continue
                distance = np.linalg.norm(triples[a] - triple)
                if best is None or distance < best[1]:
                    best = ((tuple(pairs[a].tolist()), tuple(order.tolist())), distance)
    return best


@pytest.mark.parametrize("dense_limit", [sensitivity.DENSE_PAIR_POINTS, 0])
def test_nearest_coincidence_is_the_closest_pair_of_pairs(monkeypatch, dense_limit):
    """Against every pairing, for the all-pairs comparison and the k-d tree alike."""
    monkeypatch.setattr(sensitivity.coincidences, "DENSE_PAIR_POINTS", dense_limit)
    rng = np.random.default_rng(8)
    for n in [2, 3, 4, 4, 5, 7, 9, 12, 16]:
        neighbors = rng.normal(size=(n, 3))
        species = rng.integers(1, 3, size=n)
        found = nearest_coincidence(neighbors, species)
        expected = _closest_pairs_by_brute_force(neighbors, species)
        if expected is None:
            assert found is None
            continue
        assert found.pairs == expected[0], n
        assert found.mismatch == pytest.approx(expected[1], rel=1e-12)


def test_nearest_coincidence_at_a_fold_and_off_it():
    neighbors = dg.neighbor_positions(dg.fold_frames(dg.PairSampler().folds(1, seed=2))[0])
    at_fold = nearest_coincidence(neighbors)
    assert at_fold.pairs == ((1, 3), (2, 3)) and at_fold.mismatch < 1e-12
    moved = neighbors.copy()
    moved[2] *= 1.01  # H3 1 % farther out: r_3 and the arc r̄θ change, nothing else
    off = nearest_coincidence(moved)
    assert off.pairs == at_fold.pairs
    assert 0.5 * 0.01 * np.linalg.norm(neighbors[2]) < off.mismatch
    assert off.mismatch < 2 * 0.01 * np.linalg.norm(neighbors[2])
    assert nearest_coincidence(neighbors, [1, 1, 8, 1]).pairs != at_fold.pairs  # O3
    assert nearest_coincidence(neighbors[:2]) is None  # one pair
    assert nearest_coincidence(neighbors[:1]) is None  # no pair (was a ValueError)
    assert nearest_coincidence(neighbors[:3], [1, 6, 8]) is None  # no two of one kind
    with pytest.raises(dg.DegeneracyError, match="nearest_coincidence needs N species"):
        nearest_coincidence(neighbors, [1, 1])


def test_near_a_nu2_zero_the_softest_motion_trades_the_nearest_equal_pairs(from_pg_start):
    """On the line from pg-start to the zero its search finds: the distance to the
    coincidence H2-H3 = H4-H3 falls 10× per step, SOAP's CN grows as its inverse and the
    softest motion becomes the trade of the two pairs (ρ ∝ distance); the ν = 3
    bispectrum stays regular there and its softest motion is something else."""
    start = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    end = dg.neighbor_positions(from_pg_start.atoms)
    rows = []
    for t in (0.9, 0.99, 0.999):
        neighbors = start + t * (end - start)
        atoms = dg.environment_from_neighbors(neighbors)
        [soap], [bispectrum] = (
            analyse_frames([atoms], rep)
            for rep in (dg.SoapPowerSpectrum(sigma=0.3), dg.make_representation("bispectrum"))
        )
        assert soap.nearest_coincidence == "H2-H3 = H4-H3"
        assert bispectrum.cn < 100 and bispectrum.near_swap_residual > 0.5
        rows.append((soap.coincidence_distance, soap.cn, soap.near_swap_residual))
        _, jacobian = dg.SoapPowerSpectrum(sigma=0.3).jacobian([atoms])
        motion = dg.singular_spectrum(jacobian, neighbors[None]).motions[0, -1]
        assert trade_scale(neighbors, motion) <= 2 * soap.coincidence_distance
    distance, cn, residual = np.array(rows).T
    np.testing.assert_allclose(distance[1:] / distance[:-1], 0.1, rtol=0.01)
    np.testing.assert_allclose(cn * distance, cn[0] * distance[0], rtol=0.05)
    assert np.all(residual < 20 * distance) and residual[-1] < 1e-3


def test_trade_scale_falls_with_the_distance_to_a_three_pair_point():
    """Near A0 (H1-H3 = H2-H3 = H4-H3) SOAP's softest motion trades three pairs: grouping
    the nearest two leaves ρ ≈ 0.5, the scale at which the three count as equal falls with
    the distance to A0; at pg-start's zero it is 0, and a breathing motion (every radius
    grows) is no trade at any scale."""
    a0 = dg.neighbor_positions(dg.comment_a0())
    direction = np.random.default_rng(3).normal(size=(4, 3))
    direction /= np.linalg.norm(direction)
    soap = dg.SoapPowerSpectrum(sigma=0.3)
    scales = []
    for distance in (1e-3, 1e-4):
        neighbors = a0 + distance * direction
        atoms = dg.environment_from_neighbors(neighbors)
        _, jacobian = soap.jacobian([atoms])
        motion = dg.singular_spectrum(jacobian, neighbors[None]).motions[0, -1]
        assert near_swap(atoms, motion)["near_swap_residual"] > 0.3
        scales.append(trade_scale(neighbors, motion))
    assert scales[0] < 3e-3 and scales[1] < 3e-4 and scales[1] < 0.3 * scales[0]
    neighbors = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    assert trade_scale(neighbors, neighbors) == np.inf  # breathing
    with pytest.raises(dg.DegeneracyError, match="residual"):
        trade_scale(neighbors, neighbors, residual=1.5)


def _pair_links_by_brute_force(neighbors, species):
    """{(a, b): (difference, order of b that matches a)} for every two pairs (a < b) with
    matching species in some order, the max-norm difference of (r_i, r_j, r̄θ)."""
    pairs, triples = pair_triples(neighbors)
    triples = triples * [1, 1, np.linalg.norm(neighbors, axis=1).mean()]
    links = {}
    for a in range(len(pairs)):
        for b in range(a + 1, len(pairs)):
            for order, triple in ((pairs[b], triples[b]), (pairs[b][::-1], triples[b][[1, 0, 2]])):
                if list(species[order]) == list(species[pairs[a]]):
                    difference = np.abs(triples[a] - triple).max()
                    if (a, b) not in links or difference < links[(a, b)][0]:
                        links[(a, b)] = (difference, tuple(order.tolist()))
    return pairs, links


def _components(count, links, tol):
    """Connected components (sets of pair indices, two or more) of the links below tol."""
    label = list(range(count))
    for (a, b), (difference, _) in links.items():
        if difference < tol:
            old, new = label[b], label[a]
            label = [new if v == old else v for v in label]
    groups = {}
    for p, v in enumerate(label):
        groups.setdefault(v, set()).add(p)
    return sorted((g for g in groups.values() if len(g) > 1), key=min)


def test_coincident_pairs_are_the_single_linkage_groups():
    """Against connected components of every pairwise link, with species; members keep
    the species order of the first pair, and a link that matches in one order only shows
    that order."""
    rng = np.random.default_rng(11)
    for n in [4, 5, 6, 7, 8]:
        neighbors = rng.normal(size=(n, 3))
        species = rng.integers(1, 3, size=n)
        pairs, links = _pair_links_by_brute_force(neighbors, species)
        differences = sorted(d for d, _ in links.values())
        for tol in (differences[0] * 1.5, float(np.quantile(differences, 0.2))):
            groups = coincident_pairs(neighbors, species, tol=tol)
            index = {tuple(sorted(p)): k for k, p in enumerate(pairs.tolist())}
            found = [{index[tuple(sorted(p))] for p in g.pairs} for g in groups]
            assert found == _components(len(pairs), links, tol), (n, tol)
            for group in groups:
                assert all(
                    list(species[list(p)]) == list(species[list(group.pairs[0])])
                    for p in group.pairs
                )
                # the members, in the orders shown, are linked below tol as one group
                oriented = [_oriented_triple(neighbors, p) for p in group.pairs]
                reached = {0}
                for _ in group.pairs:
                    reached |= {
                        k
                        for k, t in enumerate(oriented)
                        for r in reached
                        if np.abs(t - oriented[r]).max() < tol
                    }
                assert reached == set(range(len(group.pairs)))


def _oriented_triple(neighbors, pair):
    """(r_i, r_j, r̄θ_ij) of the neighbour pair (i, j) in that order."""
    i, j = pair
    radii = np.linalg.norm(neighbors, axis=1)
    cosine = neighbors[i] @ neighbors[j] / (radii[i] * radii[j])
    return np.array([radii[i], radii[j], radii.mean() * np.arccos(np.clip(cosine, -1, 1))])


def test_trade_scale_is_the_first_single_linkage_tolerance_with_a_small_residual():
    """Against trying every pairwise difference as the tolerance with the public
    coincident_pairs and pair_swap_residual, with species, for random motions and for
    the softest SOAP motion near pg-start's zero. The groups of two or more pairs are
    those of coincident_pairs(self_reverse=True) at that tolerance (a member equal to
    its own reverse: only the symmetric part of the radii's rates counts); a pair alone
    is no group."""
    rng = np.random.default_rng(12)
    cases = []
    for n in [4, 4, 5, 6, 7]:
        neighbors = rng.normal(size=(n, 3))
        cases.append((neighbors, rng.integers(1, 3, size=n), rng.normal(size=3 * n)))
    finite = 0
    for neighbors, species, motion in cases:
        _, links = _pair_links_by_brute_force(neighbors, species)
        for residual in (0.5, 0.9):
            expected = np.inf
            for difference in sorted({d for d, _ in links.values()}):
                tol = float(np.nextafter(difference, np.inf))
                groups = [
                    group
                    for group in coincident_pairs(neighbors, species, tol=tol, self_reverse=True)
                    if len(group.pairs) > 1
                ]
                if dg.pair_swap_residual(neighbors, motion, groups) < residual:
                    expected = difference
                    break
            found = trade_scale(neighbors, motion, species, residual=residual)
            assert found == pytest.approx(expected, rel=1e-12), (len(neighbors), residual)
            finite += np.isfinite(expected)
    assert finite >= 3


def test_the_worst_seen_random_methane_is_near_equal_pairs_for_nu2_only():
    """Random CH4: the environments SOAP sees worst (top 2 % CN) sit close to a
    coincidence of two pairs and their softest motion is mostly the trade of the two;
    those the ν = 3 bispectrum sees worst are farther from one, and their softest motion
    is not that trade (seeds 7–10: median ρ 0.19–0.38 against 0.64–0.72)."""
    frames = dg.sample_methane(1000, seed=7)
    summary = {}
    for name in ("soap", "bispectrum"):
        results = analyse_frames(frames, dg.make_representation(name))
        worst = sorted(results, key=lambda r: -r.cn)[:20]
        summary[name] = (
            np.median([r.coincidence_distance for r in worst]),
            np.median([r.near_swap_residual for r in worst]),
        )
    assert summary["soap"][1] < 0.5 < summary["bispectrum"][1], summary
    assert summary["soap"][0] < summary["bispectrum"][0], summary  # closer, too


def test_near_swap_without_two_equal_pairs():
    atoms = ase.Atoms("CHO", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.2, 0.1]])
    assert near_swap(atoms, np.ones(6)) == dict.fromkeys(sensitivity.NEAR_SWAP_KEYS)


def test_mixed_species_zero_is_a_pair_swap_that_every_nu2_fingerprint_shares():
    """Not only CH4: near a generic C(H2O2) environment the search finds a non-symmetric
    zero whose motion swaps H1-O4 and H2-O4. It is geometric: SOAP at another σ and ACSF
    are singular there too, the ν = 3 bispectrum and the overlap matrix are not."""
    start = ase.Atoms("CHHOO", positions=np.vstack([np.zeros(3), C_H2O2]))
    species = {"center": "C", "neighbors": ["H", "O"]}
    result = find_singular(start, dg.SoapPowerSpectrum(sigma=0.3, **species))
    assert result.converged and not result.symmetric and result.symmetry.residual > 0.1
    assert result.pair_swap and result.atoms.info["coincident_pairs"] == "H1-O4 = H2-O4"
    assert 0.05 < result.distance < 0.2
    neighbors = dg.neighbor_positions(result.atoms)[None]
    cn = {}
    for name, rep in {
        "soap 0.1": dg.SoapPowerSpectrum(sigma=0.1, **species),
        "acsf": dg.make_representation("acsf", **species),
        "bispectrum": dg.make_representation("bispectrum", **species),
        "om": dg.make_representation("om"),
    }.items():
        _, jacobian = rep.jacobian([result.atoms])
        cn[name] = dg.singular_spectrum(jacobian, neighbors).cn[0]
    assert cn["soap 0.1"] > 1e11 and cn["acsf"] > 1e11, cn
    assert cn["bispectrum"] < 1e3 and cn["om"] < 1e3, cn


def test_from_random_methane_nu2_zeros_are_pair_swaps_and_the_bispectrum_has_none(soap):
    """Six random CH4 starts: every non-symmetric zero SOAP's search finds is a swap of
    equal pairs (4 here), while every zero of the ν = 3 bispectrum is a symmetry's."""
    frames = dg.sample_methane(6, seed=11)

    def outcomes(rep):
        results = [find_singular(atoms, rep) for atoms in frames]
        return [
            "symmetric" if r.symmetric else ("swap" if r.pair_swap else "other")
            for r in results
            if r.converged
        ]

    soap_zeros = outcomes(soap)
    assert "other" not in soap_zeros and soap_zeros.count("swap") >= 3, soap_zeros
    assert set(outcomes(dg.make_representation("bispectrum"))) == {"symmetric"}


def test_an_acsf_zero_that_turns_a_pair_beyond_the_g4_cutoff_is_named():
    """From this random start ACSF's search stops where H1 and H2 are r_c apart: G4 no
    longer sees their angle, and the zero motion turns only it."""
    start = dg.sample_methane(30, seed=11)[14]
    result = find_singular(start, dg.Acsf())
    assert result.converged and not result.symmetric and not result.pair_swap
    assert result.explanation.unseen == [(0, 1)] and result.explanation.swapped == []
    assert result.atoms.info["unseen_pairs"] == "H1-H2"
    neighbors = dg.neighbor_positions(result.atoms)
    assert np.linalg.norm(neighbors[0] - neighbors[1]) == pytest.approx(2.5, abs=1e-3)


def test_an_acsf_search_does_not_make_a_zero_by_weighing_a_neighbour_out():
    """ACSF with G5 (no pair weight: near the cutoff only a neighbour's own f_c hides it),
    H1 2.2 Å out (CN 3.6e3): the search moved H1 on to 2.495 Å, where f_c met the floor
    of 1e-5, and ended at CN 4e7 with ``unseen_pairs`` "none", a zero that spectrum puts
    down to H1's weight. Now it stops short of such a zero (CN ~1e6, f_c ≥ 4e-4)."""
    neighbors = np.array([[2.2, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    acsf = dg.Acsf(angular="g5")
    result = find_singular(dg.environment_from_neighbors(neighbors), acsf)
    found = dg.neighbor_positions(result.atoms)
    assert not result.has_zero and not result.converged and result.cn > 1e5
    assert acsf.neighbor_weights(found).min() > 1e-4
    assert result.atoms.info["unseen_pairs"] == "none"
    [analysis] = analyse_frames([result.atoms], acsf)
    assert analysis.verdict == "regular"


#: Six H around C, H1 2.3 Å out (ACSF f_c 0.016), the others 1.0-1.5 Å (Å, C at the origin).
SIX_H_ONE_FAR = [
    [-1.176, -1.943, -0.364],
    [0.356, 0.962, 0.093],
    [-0.58, -0.824, 0.786],
    [0.899, 0.15, -0.678],
    [-0.735, 1.228, 0.156],
    [-0.856, -0.041, -0.575],
]


@pytest.mark.parametrize("angular", ["g5", "g4"])
def test_no_zero_is_reached_by_fading_a_neighbour_below_where_it_could_explain_one(angular):
    """H1 at 2.3 Å: the search faded it to f_c = 1e-5 (the former floor) and ended at a
    zero (G5 CN 8e6, G4 8e8) labelled "none". A guard on the zero's own bound, weight ≤
    √(s/s1) with the motion moving nothing else (explain_zero), is ridden: G5 ended at a
    zero with ρ = 1.001e-3, just past PAIR_SWAP_TOL, G4 with f_c 1.3e-4. With the bound of
    the largest zero (faint_neighbors, √ZERO_RTOL) G5 stops short of a zero and G4 ends
    at its zero with H1 at f_c = 1e-3, its pairs named."""
    acsf = dg.Acsf(angular=angular)
    neighbors = np.array(SIX_H_ONE_FAR)
    start = ase.Atoms("CH6", positions=np.vstack([np.zeros(3), neighbors]))
    result = find_singular(start, acsf)
    found = dg.neighbor_positions(result.atoms)
    faded = acsf.response_weights(found)[0] < acsf.response_weights(neighbors)[0]
    assert faded[0] and not result.converged
    assert not (result.has_zero and np.any(faded & sensitivity.faint_neighbors(acsf, found)))
    if angular == "g5":
        assert not result.has_zero and result.cn > 1e5
    else:
        assert result.has_zero and result.atoms.info["unseen_pairs"].startswith("H1-H2, H1-H3")


def test_the_search_explains_its_zero_with_the_rule_of_explain_zero():
    """One rule: ``explain_zero_motion`` is ``explain_zero`` given the equal pairs, with
    the motion's residual (1.0, and the motion unchecked, without equal or unseen
    pairs)."""
    om = dg.OverlapMatrix()
    neighbors = np.array([[2.49, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    atoms = dg.environment_from_neighbors(neighbors)
    evaluate = CountingJacobian(om, atoms)
    _, _, spectrum = evaluate(neighbors.ravel())  # no kink: no warning
    values, motion = spectrum.values[0], spectrum.motions[0, -1]
    for given in (values, None):
        residual, explanation = sensitivity.explain_zero_motion(
            neighbors, motion, coincident_pairs(neighbors, atoms.numbers[1:]), om, values=given
        )
        assert explanation == sensitivity.explain_zero(atoms, motion, om, values=given)
    assert residual == 1.0 and explanation is None  # H1's weight 6.4e-05 > the fixed 1e-5
    residual, explanation = sensitivity.explain_zero_motion(
        neighbors, motion, [], om, values=values
    )
    assert residual < sensitivity.PAIR_SWAP_TOL
    assert [n.index for n in explanation.weighed_out] == [0]
    soap = dg.SoapPowerSpectrum()  # neither equal nor unseen pairs: a wrong motion passes
    assert sensitivity.explain_zero_motion(neighbors, np.zeros(2), [], soap) == (1.0, None)


def test_a_zero_without_equal_pairs_is_no_swap(soap, tmp_path):
    result = find_singular(dg.builtin_environment("pg-start"), soap, cn_target=1.5)
    assert result.coincidences == [] and not result.pair_swap
    assert result.pair_swap_residual == 1.0
    path = tmp_path / "start.extxyz"
    dg.write_environments(path, [result.atoms])
    info = ase.io.read(path).info
    assert info["coincident_pairs"] == "none" and info["pair_swap_residual"] == 1.0
    assert info["unseen_pairs"] == "none" and result.explanation is None


def test_info_keys_and_input_untouched(soap):
    atoms = dg.builtin_environment("pg-start")
    before = atoms.positions.copy()
    result = find_singular(atoms, soap, cn_target=1e8)
    np.testing.assert_array_equal(atoms.positions, before)
    info = result.atoms.info
    for key in ("cn", "symmetric", "jacobian_evaluations", "distance", "converged"):
        assert key in info
    assert info["cn"] == pytest.approx(result.cn)
    assert info["jacobian_evaluations"] == result.jacobian_evaluations
    assert [h.jacobian_evaluations for h in result.history] == sorted(
        h.jacobian_evaluations for h in result.history
    )


def test_symmetric_result_is_flagged(soap):
    rng = np.random.default_rng(0)
    td = dg.neighbor_positions(dg.regular_tetrahedron())
    start = dg.environment_from_neighbors(td + 1e-3 * rng.normal(size=td.shape))
    result = find_singular(start, soap)
    assert result.symmetric
    assert result.atoms.info["symmetric"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("pull", -1.0),
        ("pull", 1.5),
        ("pull", float("nan")),
        ("cn_target", 0),
        ("cn_target", 0.5),  # CN >= 1 always: "reached" before the first step
        ("max_iterations", 0),
        ("min_distance", -0.1),
        ("callback", 5),  # a TypeError at the first step, after its Jacobians
    ],
)
def test_bad_options(soap, option, value):
    with pytest.raises(dg.DegeneracyError, match=option):
        find_singular(dg.builtin_environment("pg-start"), soap, **{option: value})


def test_search_from_orbit_mean_lands_near_published_a0(soap):
    """The Comment's recipe on the *published* c = 1 orbit (our own orbit: test_family)."""
    frames = ase.io.read(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"), ":")
    mean = dg.neighbor_positions(frames).mean(axis=0)
    result = find_singular(dg.environment_from_neighbors(mean), soap)
    a0 = dg.neighbor_positions(result.atoms)
    assert result.cn > 1e10 and not result.symmetric
    assert np.linalg.norm(a0 - published_a0()) < 0.05
    assert dg.aligned_distance(a0, published_a0()) < 0.03
    # the same branch as A0: three equal radii and an equiangular fourth H
    assert _geometric_residual(a0) < 1e-5 < _geometric_residual(mean)


def test_cli_writes_contract_keys(tmp_path, capsys):
    out = tmp_path / "a0.extxyz"
    assert main(["singular", "--builtin", "pg-start", "--output", str(out)]) == 0
    frames = ase.io.read(out, ":")
    assert len(frames) == 1
    info = frames[0].info
    assert info["cn"] > 1e13
    assert info["symmetric"] is False or info["symmetric"] == np.False_
    assert 0 < info["jacobian_evaluations"] < 200
    assert info["coincident_pairs"] == "H2-H3 = H4-H3" and info["pair_swap_residual"] < 1e-9
    text = capsys.readouterr().out
    assert "not symmetric" in text and "CN_found" in text
    assert "spurious zero, its motion swaps equal pairs H2-H3 = H4-H3" in text
    assert info["nearest_coincidence"] == "H2-H3 = H4-H3"
    assert info["coincidence_distance"] < 1e-9 and info["near_swap_residual"] < 1e-9


def test_cli_says_no_zero_was_reached_and_where_it_was_heading(tmp_path, capsys):
    """Stopped after 3 iterations: no zero, so no verdict on one; the end point is
    already 0.3 mÅ from the equal pairs H2-H3 = H4-H3 and its softest motion trades them."""
    out = tmp_path / "part.extxyz"
    argv = ["singular", "--builtin", "pg-start", "--max-iterations", "3", "--output", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "no zero reached; nearest equal pairs H2-H3 = H4-H3 (" in captured.out
    assert "spurious" not in captured.out
    assert "degeneracy singular: warning: --builtin pg-start, frame 0: CN " in captured.err
    info = ase.io.read(out).info
    assert info["converged"] is False or info["converged"] == np.False_
    assert info["coincidence_distance"] < 1e-3 and info["near_swap_residual"] < 0.01


def test_cli_calls_nothing_a_zero_that_spectrum_calls_regular(tmp_path, capsys):
    """A --cn-target the start already meets (2271 > 100) was reported "converged ...
    spurious zero", while `spectrum` calls pg-start regular (s9/s1 4.4e-4)."""
    out = tmp_path / "met.extxyz"
    argv = ["singular", "--builtin", "pg-start", "--cn-target", "100", "--output", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr().out
    assert "--cn-target reached, but no zero (s_min/s1 0.00044 is not below 1e-06)" in captured
    assert "spurious" not in captured
    assert main(["spectrum", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "regular"


def test_cli_rejects_symmetric_on_request(tmp_path, capsys):
    start = tmp_path / "near-td.xyz"
    rng = np.random.default_rng(1)
    td = dg.regular_tetrahedron()
    td.positions[1:] += 1e-3 * rng.normal(size=(4, 3))
    ase.io.write(start, td)
    out = tmp_path / "out.extxyz"
    assert main(["singular", str(start), "--reject-symmetric", "--output", str(out)]) == 2
    assert f"error: {start}, frame 0: the configuration found is symmetric" in (
        capsys.readouterr().err
    )
    assert not out.exists()
    assert main(["singular", str(start), "--output", str(out)]) == 0
    assert "warning" in capsys.readouterr().err
    assert ase.io.read(out).info["symmetric"]


def _near_td_ch4(tmp_path, distance: float = 0.01, n: int = 3):
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(n):
        frame = dg.regular_tetrahedron()
        step = rng.normal(size=(4, 3))
        frame.positions[1:] += distance * step / np.sqrt((step**2).sum(1).mean())
        frames.append(frame)
    path = tmp_path / "near-td.xyz"
    ase.io.write(path, frames)
    return path


def test_a_search_stopped_mm_from_a_symmetry_is_not_called_spurious(tmp_path, capsys):
    """ACSF CH4 10 mÅ from T_d has CN ~3e6: a --cn-target of 1.2e6 stops at the start,
    1.7-3.8 mÅ (RMS) from its T_d symmetrisation, outside the 1 mÅ tolerance. Its zeros
    are T_d's forced zeros, lifted (docs/concepts.md, the near-symmetry verdict)."""
    start = _near_td_ch4(tmp_path)
    out = tmp_path / "out.extxyz"
    argv = ["singular", str(start), "--rep", "acsf", "--cn-target", "1.2e6", "--output", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    rows = captured.out.splitlines()[1:]
    assert len(rows) == 3 and "spurious" not in captured.out
    assert all("zeros forced by near-symmetry" in row for row in rows), captured.out
    assert captured.err.count("from a symmetric environment; its zeros are") == 3
    margins = []
    for atoms, row in zip(ase.io.read(out, ":"), rows, strict=True):
        assert not atoms.info["symmetric"] and atoms.info["converged"]
        assert 1e-3 < atoms.info["near_symmetry_distance"] < 0.01
        # the margin, where the guard's search reached a zero without symmetry
        zero = atoms.info.get("near_symmetry_zero_distance")
        margin = "" if zero is None else f" (a zero without symmetry {zero:.2g} Å away)"
        assert f"from a symmetric one{margin}: zeros" in row
        margins.append(margin)
    assert sum(bool(margin) for margin in margins) == 2  # frames 1 and 2: 0.0052, 0.0034 Å
    assert main([*argv, "--reject-symmetric"]) == 2
    assert "Å from a symmetric environment, so its zero is physical" in capsys.readouterr().err
    # the library's switch: without the check the same result is a plain spurious zero
    acsf = dg.Acsf()
    frame = ase.io.read(start, 0)
    checked = find_singular(frame, acsf, cn_target=1.2e6)
    unchecked = find_singular(frame, acsf, cn_target=1.2e6, check_near_symmetry=False)
    assert checked.near_symmetry is not None and unchecked.near_symmetry is None
    assert unchecked.n_unexplained > 0 and not unchecked.symmetric
    assert "near_symmetry_distance" not in unchecked.atoms.info


def test_a_zero_reached_short_of_the_cn_target_is_still_explained(tmp_path, capsys):
    """Two iterations from 10 mÅ off T_d: CN 6.3e6 and 1.3e6 are zeros by spectrum's rule
    (s_min/s1 below 1e-6), 8.9e5 is not; none reaches --cn-target 1e15 (helper-56: a
    zero short of the target was printed "no zero reached" while the warning called it
    symmetric)."""
    start = _near_td_ch4(tmp_path)
    out = tmp_path / "out.extxyz"
    argv = ["singular", str(start), "--cn-target", "1e15", "--max-iterations", "2"]
    assert main([*argv, "--output", str(out)]) == 0
    captured = capsys.readouterr()
    rows = captured.out.splitlines()[1:]
    assert "NO  SYMMETRIC" in rows[0] and "forced by symmetry (short of --cn-target)" in rows[0]
    assert "no zero reached" in rows[1] and "short of" not in rows[1]
    assert "forced by near-symmetry (short of --cn-target)" in rows[2]
    assert captured.err.count("did not reach --cn-target") == 3
    assert "frame 0: the configuration found is symmetric" in captured.err
    assert "frame 1: the configuration found" not in captured.err
    found = ase.io.read(out, ":")
    assert [atoms.info["converged"] for atoms in found] == [False] * 3
    assert "near_symmetry_distance" in found[2].info


def test_a_spurious_zero_is_not_taken_for_a_near_symmetry(from_pg_start):
    """The ν = 2 zero found from pg-start (CN ~1e14, not at round-off, so the check runs)
    has no symmetric shape within reach: it stays spurious."""
    assert from_pg_start.converged and from_pg_start.n_unexplained > 0
    assert from_pg_start.near_symmetry is None


def test_steps_that_push_a_neighbour_out_of_the_cutoff_are_not_taken(soap, monkeypatch):
    """Outside the cutoff a neighbour's Jacobian columns vanish and s_min drops for the
    wrong reason: a step that would leave the cutoff is shortened until it stays inside."""
    import degeneracy.singular as singular

    start = dg.builtin_environment("pg-start")
    radial = np.zeros((4, 3))
    radial[0] = 2.0 * start.positions[1] / np.linalg.norm(start.positions[1])

    def outward(residual, derivative, **kwargs):
        return np.concatenate([radial.ravel(), [0.0]])  # H1 2 Å outwards: 3.1 Å > 2.5

    monkeypatch.setattr(singular, "levenberg_marquardt_step", outward)
    result = find_singular(start, soap, max_step=5.0, max_iterations=3)
    radii = np.linalg.norm(result.atoms.positions[1:], axis=1)
    assert radii.max() < soap.cutoff


def test_steps_that_bring_two_neighbours_together_are_not_taken(soap, monkeypatch):
    """Two atoms on top of each other make a zero of every fingerprint: a step that
    brings a pair closer than 0.5 Å (the readers' minimum distance) is shortened before
    the fingerprint sees it."""
    import degeneracy.singular as singular

    start = dg.builtin_environment("pg-start")
    onto = np.zeros((4, 3))
    onto[1] = start.positions[1] - start.positions[2]  # H2 onto H1

    def together(residual, derivative, **kwargs):
        return np.concatenate([onto.ravel(), [0.0]])

    seen = []
    evaluate = singular.CountingJacobian.__call__

    def recording(self, neighbors):
        seen.extend(np.reshape(neighbors, (-1, 4, 3)))
        return evaluate(self, neighbors)

    monkeypatch.setattr(singular, "levenberg_marquardt_step", together)
    monkeypatch.setattr(singular.CountingJacobian, "__call__", recording)
    for floor in (0.5, 0.2):
        seen.clear()
        options = {} if floor == 0.5 else {"min_distance": floor}
        find_singular(start, soap, max_step=5.0, max_iterations=5, **options)
        closest = min(dg.structures.closest_atom_distance(frame) for frame in seen)
        assert floor - 1e-3 <= closest < 1.0  # trials went towards the floor, not past it


# ten Cu neighbours of a mirror-symmetric test shape 1.1–1.6 Å from the centre, two of them
# 0.41 Å apart, displaced 0.15 Å (benchmarks/bench_near_symmetry.py --large, seed 1)
_CLOSE_PAIR_START = [
    [1.052651, -0.950467, 0.412024], [0.768224, -0.952419, -0.270706],
    [-0.096113, -0.159388, 1.11968], [-0.313387, -0.208077, -1.149094],
    [-0.302244, 1.159572, 0.332725], [-0.347383, 1.257992, -0.261066],
    [-0.234184, -0.791837, 1.31168], [-0.37171, -0.700239, -1.418489],
    [0.97907, -0.49757, -0.002031], [-0.061262, 1.280832, 0.027424],
]  # fmt: skip


def test_a_search_does_not_ride_a_collision_down():
    """From this start SOAP's search used to pull neighbours 6 and 10 to 2e-12 Å of each
    other and call CN 1.2e14 there "converged"; now no pair comes closer than half its
    start distance (0.41 → 0.20 Å)."""
    start = np.array(_CLOSE_PAIR_START)
    soap = dg.SoapPowerSpectrum(center="Cu", neighbors=["Cu"], cutoff=2.5)
    result = find_singular(dg.environment_from_neighbors(start, "CuCu10"), soap)
    closest = dg.structures.closest_atom_distance(dg.neighbor_positions(result.atoms))
    assert closest >= dg.structures.closest_atom_distance(start) / 2


class _UndeclaredRadialAcsf(dg.Acsf):
    """A radial-only ACSF that does not declare that it sees only the distances (since
    2026-12-06 the ACSF's own hook does, and the search refuses it as SOAP at l_max 0):
    singular at every frame, which makes a zero near C3v that the symmetry leaves free."""

    def motions_seen_at_most(self, n_neighbors: int) -> None:
        return None


def test_a_zero_the_symmetry_does_not_force_is_not_called_symmetric(tmp_path, capsys):
    """Near C3v (1e-5 Å) the radial-only ACSF is singular already (blind to angles): the
    start is symmetric within the tolerance, but one zero turns the cone angle, which
    C3v leaves free, so the zero is spurious, not forced."""
    shape = [(90, 0, 1.0), (-19.47, 0, 1.2), (-19.47, 120, 1.2), (-19.47, 240, 1.2)]
    exact = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in shape])
    noisy = exact + 1e-5 * np.random.default_rng(2).standard_normal(exact.shape)
    start = dg.environment_from_neighbors(noisy)
    radial = _UndeclaredRadialAcsf(
        parameter_set="custom", g2=[(4.0, 0.8 + 0.1 * k) for k in range(10)], g4=[]
    )
    result = find_singular(start, radial)
    assert result.converged and result.symmetry.symmetric
    assert result.n_unexplained == 1 and not result.symmetric
    assert result.atoms.info["symmetric"] is False
    assert "but 1 zero(s) along motions the symmetry leaves free: spurious zero" in (
        singular_cli.zero_verdict(result)
    )
    # the Td start of test_symmetric_result_is_flagged: every zero forced
    td = find_singular(dg.regular_tetrahedron(), radial)
    assert td.symmetric and td.n_unexplained == 0


def test_aligned_distance_ignores_rotations_and_refuses_other_sizes():
    neighbors = dg.neighbor_positions(dg.sample_methane(1, seed=3)[0])
    rotation = Rotation.random(random_state=5).as_matrix()
    moved = neighbors @ rotation.T
    assert dg.aligned_distance(moved, neighbors) < 1e-12
    mirrored = neighbors * [1, 1, -1]  # proper rotations only
    assert dg.aligned_distance(mirrored, neighbors) > 0.1
    with pytest.raises(dg.DegeneracyError, match="environments of 4 and 3 neighbours"):
        dg.aligned_distance(neighbors, neighbors[:3])
    with pytest.raises(dg.DegeneracyError, match="one environment's neighbour positions"):
        dg.aligned_distance(neighbors[None], neighbors)


def test_a_warning_met_during_a_search_names_the_frame_of_the_file(tmp_path, capsys):
    """The OM warns of coinciding eigenvalues at an iterate, a call of one frame ("frame 0
    of this call"); ``singular`` says which frame of the file the search started from."""
    angle = np.radians(175.0)
    other = [1.25 * np.cos(angle), 1.25 * np.sin(angle), 0]
    bent = ase.Atoms("COO", positions=[[0, 0, 0], [1.16, 0, 0], other])  # near-linear CO2
    path = tmp_path / "co2.extxyz"
    ase.io.write(path, bent)
    argv = ["singular", str(path), "--environment", "any", "--rep", "om"]
    assert main([*argv, "--output", str(tmp_path / "out.extxyz")]) == 0
    err = capsys.readouterr().err
    assert (
        f"degeneracy singular: warning: {path}, frame 0, during the search: om degenerate "
        "eigenvalues: 1 of 1 frames"
    ) in err, err
