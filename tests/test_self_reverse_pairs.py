"""A neighbour pair with equal radii and species trades with its own reverse.

A ν = 2 fingerprint sums g(r_i, r_j, θ_ij) + g(r_j, r_i, θ_ij) over each pair; at
r_i = r_j (s_i = s_j) that is symmetric in the two radii, so the pair's own antisymmetric
stretch (ṙ_i = −ṙ_j, θ_ij fixed) changes it only at second order. ρ
(``pair_swap_residual``) models this with groups marked ``self_reverse``
(``coincident_pairs(..., self_reverse=True)``: the group's summed rates keep only their
symmetric part, P_sym(a, b, c) = ((a+b)/2, (a+b)/2, c)); ``explain_zero`` adds such
groups where the trades of distinct pairs leave a zero unexplained, and labels such a
pair ``"H2-H3 = H3-H2"``. Before, ACSF's frame with H2 and H3 mirror images to 1e-7 Å
(a third zero, the stretch of H2-H3) was ``spurious`` without a reason.
"""

import itertools

import numpy as np
import pytest
from conftest import zero_outcome

import degeneracy as dg
from degeneracy import sensitivity

ZERO_RTOL = sensitivity.ZERO_RTOL
SYMBOLS = ["H"] * 4

#: ACSF (tight): H1 beyond G4's cutoff from H2 and H3 (an exact zero turning those two
#: angles), H2 and H3 mirror images about the plane of H4 to 1e-7 Å (r3 − r2 = 3.2e-8 Å):
#: H2-H4 = H3-H4 (their trade, a zero at 3e-10 s1) and H2-H3 = H3-H2 (its stretch, 1e-7 s1).
THREE_ZEROS = np.array(
    [[1.35, 0.3, 0.1], [-1.2, 0.4, 0.0], [-1.2, -0.4000001, 0.0], [0.1, 0.0, 1.1]]
)

#: The same 5e-5 Å from the mirror (r3 − r2 = 1.6e-5 Å): two zeros, which the trade of
#: H2-H4 and H3-H4 and the unseen turn explain without the pair's reverse.
TWO_MECHANISMS = np.array(
    [[1.35, 0.3, 0.1], [-1.2, 0.4, 0.0], [-1.2, -0.40005, 0.0], [0.1, 0.0, 1.1]]
)

THREE_ZEROS_LABELS = ("H2-H3 = H3-H2; H2-H4 = H3-H4", "H1-H2, H1-H3")


def _spectrum(atoms, representation):
    _, jacobian = representation.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(atoms)[None])
    return spectrum.values[0], spectrum.motions[0], jacobian


def _stretch(neighbors, i, j):
    """The unit antisymmetric stretch of neighbours i and j: ṙ_i = −ṙ_j, nothing else."""
    motion = np.zeros_like(neighbors)
    motion[i] = neighbors[i] / np.linalg.norm(neighbors[i])
    motion[j] = -neighbors[j] / np.linalg.norm(neighbors[j])
    return motion.reshape(-1) / np.sqrt(2.0)


def test_the_third_zero_is_the_stretch_of_the_equidistant_pair():
    """The diagnosis: the reproducer has three zeros, their span holds the antisymmetric
    stretch of H2-H3 (to 1e-6), and the fingerprint changes along it at ~1e-7 s1."""
    atoms = dg.environment_from_neighbors(THREE_ZEROS)
    values, motions, jacobian = _spectrum(atoms, dg.Acsf())
    zero = motions[values < ZERO_RTOL * values[0]]
    assert len(zero) == 3
    stretch = _stretch(THREE_ZEROS, 1, 2)
    basis = np.linalg.qr(zero.T)[0]
    assert np.linalg.norm(basis.T @ stretch) == pytest.approx(1.0, abs=1e-6)
    assert np.linalg.norm(jacobian[0] @ stretch) < 1e-6 * values[0]
    # and it is none of the two zeros of the frame 5e-5 Å from the mirror
    values, motions, _ = _spectrum(dg.environment_from_neighbors(TWO_MECHANISMS), dg.Acsf())
    zero = motions[values < ZERO_RTOL * values[0]]
    basis = np.linalg.qr(zero.T)[0]
    assert len(zero) == 2 and np.linalg.norm(basis.T @ _stretch(TWO_MECHANISMS, 1, 2)) < 1e-3


def test_the_reproducer_is_explained_whatever_the_basis():
    """``spurious`` with its reason, for the SVD's basis and six random ones of the zeros."""
    atoms = dg.environment_from_neighbors(THREE_ZEROS)
    acsf = dg.Acsf()
    values, motions, jacobian = _spectrum(atoms, acsf)
    zero = np.flatnonzero(values < ZERO_RTOL * values[0])
    rng = np.random.default_rng(11)
    for trial in range(7):
        basis = motions.copy()
        if trial:
            q, r = np.linalg.qr(rng.standard_normal((len(zero), len(zero))))
            basis[zero] = (q * np.sign(np.diag(r))) @ motions[zero]
        outcome = zero_outcome(atoms, acsf, values, basis, jacobian.shape[1])
        assert outcome == ("spurious", THREE_ZEROS_LABELS, None), trial
    [analysis] = dg.analyse_frames([atoms], acsf)
    assert (analysis.verdict, analysis.pair_swap, analysis.unseen_pairs) == (
        "spurious",
        *THREE_ZEROS_LABELS,
    )


def test_explain_zero_names_the_pair_and_its_reverse():
    atoms = dg.environment_from_neighbors(THREE_ZEROS)
    acsf = dg.Acsf()
    values, motions, _ = _spectrum(atoms, acsf)
    span = sensitivity.free_zero_motions(values, motions)
    explanation = sensitivity.explain_zero(atoms, span, acsf, values=values)
    assert explanation.reason(SYMBOLS) == (
        "swaps equal pairs H2-H3 = H3-H2; H2-H4 = H3-H4 and turns pairs it cannot see H1-H2, H1-H3"
    )
    assert [group.self_reverse for group in explanation.swapped] == [True, False]
    # ρ_3, all three zeros: a trade to 2e-7 (it was 0.58 without the reverse)
    assert explanation.residual < 1e-5
    # two of them are the distinct pairs' trade and the turn, named as before
    two = sensitivity.explain_zero(atoms, span, acsf, values=values, n_spurious=2)
    assert two.labels(SYMBOLS) == ("H2-H4 = H3-H4", "H1-H2, H1-H3")
    assert not any(group.self_reverse for group in two.swapped)
    # without species (as before) the reverse is not asked about
    residual, none = sensitivity.explain_zero_motion(
        THREE_ZEROS, span, dg.coincident_pairs(THREE_ZEROS), acsf, values=values
    )
    assert none is None and residual > 0.1
    residual, found = sensitivity.explain_zero_motion(
        THREE_ZEROS,
        span,
        dg.coincident_pairs(THREE_ZEROS),
        acsf,
        values=values,
        species=atoms.numbers[1:],
    )
    assert found == explanation and residual == explanation.residual


def test_find_singular_labels_the_reproducer_alike():
    atoms = dg.environment_from_neighbors(THREE_ZEROS)
    result = dg.find_singular(atoms, dg.Acsf(), cn_target=1e6)
    assert result.iterations == 0 and result.n_unexplained == 3
    assert result.explanation.labels(SYMBOLS) == THREE_ZEROS_LABELS
    assert result.pair_swap_residual < 1e-5
    # its coincident_pairs column lists distinct pairs, as before
    assert result.atoms.info["coincident_pairs"] == "H2-H4 = H3-H4"


def test_rho_of_the_stretch_of_an_equidistant_pair_is_zero():
    """Two neighbours at one radius: their stretch is a pure trade with the reverse
    (ρ 0, 1 without it); their common stretch is none (ρ 1); a mix leaves its symmetric
    part, ρ² = |P_sym ṫ|² / |ṫ|²."""
    neighbors = np.array([[1.0, 0.2, 0.1], [-0.3, 1.0, 0.4]])
    neighbors[1] *= np.linalg.norm(neighbors[0]) / np.linalg.norm(neighbors[1])
    groups = dg.coincident_pairs(neighbors, self_reverse=True)
    assert [(g.pairs, g.self_reverse) for g in groups] == [(((0, 1),), True)]
    assert groups[0].mismatch < 1e-15
    assert dg.coincident_pairs(neighbors) == []
    stretch = _stretch(neighbors, 0, 1)
    assert dg.pair_swap_residual(neighbors, stretch, groups) < 1e-14
    assert dg.pair_swap_residual(neighbors, stretch, []) == pytest.approx(1.0)
    units = neighbors / np.linalg.norm(neighbors, axis=1)[:, None]
    common = units.reshape(-1) / np.sqrt(2.0)
    assert dg.pair_swap_residual(neighbors, common, groups) == pytest.approx(1.0)
    motion = np.random.default_rng(2).standard_normal(6)
    _, [rates] = dg.pair_triple_rates(neighbors, motion)
    rates = rates * [1.0, 1.0, np.linalg.norm(neighbors, axis=1).mean()]
    symmetric = np.array([rates[:2].mean(), rates[:2].mean(), rates[2]])
    expected = np.linalg.norm(symmetric) / np.linalg.norm(rates)
    assert dg.pair_swap_residual(neighbors, motion, groups) == pytest.approx(expected, rel=1e-12)
    # another species at the same radius: no reverse
    assert dg.coincident_pairs(neighbors, [1, 8], self_reverse=True) == []


def test_rho_of_the_stretch_in_the_reproducer():
    """The stretch of H2-H3 moves H2-H3 (its reverse), H2-H4 against H3-H4 (a trade) and
    H1-H2, H1-H3 (unseen by G4): ρ 0 with all three, 1/√3 without the reverse."""
    stretch = _stretch(THREE_ZEROS, 1, 2)
    unseen = [(0, 1), (0, 2)]
    groups = dg.coincident_pairs(THREE_ZEROS, self_reverse=True)
    assert [g.label(SYMBOLS) for g in groups] == ["H2-H3 = H3-H2", "H2-H4 = H3-H4"]
    assert dg.pair_swap_residual(THREE_ZEROS, stretch, groups, unseen) < 1e-12
    ordinary = dg.coincident_pairs(THREE_ZEROS)
    residual = dg.pair_swap_residual(THREE_ZEROS, stretch, ordinary, unseen)
    assert residual == pytest.approx(1.0 / np.sqrt(3.0), rel=1e-6)


def test_labels_of_groups_equal_to_their_reverse():
    assert dg.CoincidentPairs(((1, 2),), 0.0, self_reverse=True).label(SYMBOLS) == "H2-H3 = H3-H2"
    group = dg.CoincidentPairs(((0, 1), (2, 3)), 0.0, self_reverse=True)
    assert group.label(SYMBOLS) == "H1-H2 = H3-H4 = H2-H1"
    assert group.label() == "1-2 = 3-4 = 2-1"
    assert sensitivity.coincidence_labels([group], SYMBOLS) == "H1-H2 = H3-H4 = H2-H1"
    # a group of two pairs that are each equidistant is marked, the mismatch covering
    # the first pair's reverse: two isosceles pairs at one angle
    neighbors = np.array(
        [
            dg.spherical_point(0.0, 0.0, 1.0),
            dg.spherical_point(0.0, 70.0, 1.0),
            dg.spherical_point(50.0, 150.0, 1.2),
            dg.spherical_point(50.0, 220.0, 1.2 + 2e-4),
        ]
    )
    groups = dg.coincident_pairs(neighbors, self_reverse=True)
    marked = [g for g in groups if g.self_reverse]
    assert [g.pairs for g in marked] == [((0, 1),), ((2, 3),)]
    assert marked[1].mismatch == pytest.approx(2e-4, rel=1e-6)


def test_frames_without_equal_radii_keep_their_rho():
    """Random CH4 (SOAP): where no two radii are within COINCIDENCE_TOL, the groups with
    and without reverses are the same, and ρ, the explanation and near_swap do not change
    with the species given (which lets explain_zero ask about reverses)."""
    frames = dg.sample_methane(40, seed=5)
    soap = dg.SoapPowerSpectrum()
    _, jacobian = soap.jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    checked = 0
    for f, atoms in enumerate(frames):
        neighbors = dg.neighbor_positions(atoms)
        radii = np.linalg.norm(neighbors, axis=1)
        if np.abs(radii[:, None] - radii[None, :])[np.triu_indices(4, 1)].min() < 1e-3:
            continue
        checked += 1
        groups = dg.coincident_pairs(neighbors, tol=0.3)
        assert dg.coincident_pairs(neighbors, tol=0.3, self_reverse=False) == groups
        assert dg.coincident_pairs(neighbors, self_reverse=True) == dg.coincident_pairs(neighbors)
        values, motions = spectrum.values[f], spectrum.motions[f]
        for motion in (motions[-1], motions[-3:]):
            without = sensitivity.explain_zero_motion(
                neighbors, motion, groups, soap, values=values
            )
            with_species = sensitivity.explain_zero_motion(
                neighbors, motion, groups, soap, values=values, species=atoms.numbers[1:]
            )
            assert with_species == without
    assert checked >= 30


def test_ordinary_trades_that_suffice_keep_their_labels():
    """r3 − r2 = 1.6e-5 Å: H2-H3 equals its reverse, but the two zeros are explained by
    the distinct pairs' trade and the turn; labels and ρ_2 (3.9e-5) as without it."""
    atoms = dg.environment_from_neighbors(TWO_MECHANISMS)
    acsf = dg.Acsf()
    values, motions, _ = _spectrum(atoms, acsf)
    assert any(g.self_reverse for g in dg.coincident_pairs(TWO_MECHANISMS, self_reverse=True))
    span = sensitivity.free_zero_motions(values, motions)
    explanation = sensitivity.explain_zero(atoms, span, acsf, values=values)
    assert explanation.labels(SYMBOLS) == ("H2-H4 = H3-H4", "H1-H2, H1-H3")
    residual, _ = sensitivity.explain_zero_motion(
        TWO_MECHANISMS, span, dg.coincident_pairs(TWO_MECHANISMS), acsf, values=values
    )
    assert explanation.residual == residual
    assert 1e-5 < residual < 1e-4


#: CH4 with a pair of equal radii that coincides with another pair: P&G's start, and a
#: member of the PRL 2020 degenerate-pair family (|r2| = |r3| by construction).
EQUAL_RADII = {
    "pg-start": (dg.builtin_environment("pg-start"), dg.Bispectrum()),
    "prl2020": (dg.prl2020_methane(10.0, 130.0), dg.SoapPowerSpectrum()),
}


@pytest.mark.parametrize("name", list(EQUAL_RADII))
def test_rho_and_trade_scale_do_not_depend_on_the_labels(name):
    """Where two neighbour pairs coincide and one has equal radii, both orders of
    matching them are equally close and the labels picked one: the 24 relabellings of
    pg-start gave ρ 0.97 or 1.02 and a trade scale of inf, 0.86 or 0.28 Å (helper-153).
    Only the symmetric part of such a group's radius rates is counted, the same in both."""
    frame, representation = EQUAL_RADII[name]
    rhos, scales = [], []
    for order in itertools.permutations(range(1, 5)):
        relabelled = frame[[0, *order]]
        values, motions, _ = _spectrum(relabelled, representation)
        softest = dg.softest_motions(values, motions)
        scales.append(dg.trade_scale(dg.neighbor_positions(relabelled), softest))
        near = dg.near_swap(relabelled, softest, representation, values=values)
        rhos.append(near["near_swap_residual"])
    np.testing.assert_allclose(rhos, rhos[0], rtol=1e-9)
    np.testing.assert_allclose(scales, scales[0], rtol=1e-9)
