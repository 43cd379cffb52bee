"""Overlap-matrix fingerprint: overlap formulas, eigenvalues, Jacobian, degeneracies.

Finite differences and invariances of the default cases run in the shared suite
(``conftest.REPRESENTATION_CASES``).
"""

from __future__ import annotations

import dataclasses
import warnings

import ase
import ase.io
import numpy as np
import pytest
from scipy.integrate import quad

import degeneracy as dg
import degeneracy.cli.singular as singular_cli
import degeneracy.sensitivity as sensitivity
from degeneracy.cli import main
from degeneracy.representations.base import UNSEEN_WEIGHT
from degeneracy.representations.om import _pair_blocks


def _orbital_1d(x, centre, alpha, power):
    return (x - centre) ** power * np.exp(-alpha * (x - centre) ** 2)


def _overlap_by_quadrature(a, b, alpha_a, alpha_b, powers_a, powers_b):
    """∫ φ_a φ_b d³r as a product of three 1D integrals, normalised numerically."""

    def one_d(ca, cb, pa, pb, aa, ab):
        return quad(
            lambda x: _orbital_1d(x, ca, aa, pa) * _orbital_1d(x, cb, ab, pb), -np.inf, np.inf
        )[0]

    def norm(centre, alpha, powers):
        return np.sqrt(
            np.prod([one_d(c, c, p, p, alpha, alpha) for c, p in zip(centre, powers, strict=True)])
        )

    raw = np.prod([one_d(a[k], b[k], powers_a[k], powers_b[k], alpha_a, alpha_b) for k in range(3)])
    return raw / (norm(a, alpha_a, powers_a) * norm(b, alpha_b, powers_b))


def test_overlap_blocks_match_quadrature():
    a, b = np.array([0.1, -0.3, 0.5]), np.array([0.9, 0.4, -0.2])
    alpha_a, alpha_b = 0.9, 2.3
    block, _ = _pair_blocks((a - b)[None], np.array([alpha_a]), np.array([alpha_b]), True)
    powers = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]  # s, px, py, pz
    expected = np.array(
        [[_overlap_by_quadrature(a, b, alpha_a, alpha_b, pa, pb) for pb in powers] for pa in powers]
    )
    np.testing.assert_allclose(block[0], expected, atol=1e-10)


def test_overlap_derivative_matches_finite_differences():
    d = np.array([0.7, -0.4, 0.3])
    alpha_a, alpha_b = np.array([1.3]), np.array([0.6])
    _, derivative = _pair_blocks(d[None], alpha_a, alpha_b, True)
    h = 1e-6
    for c in range(3):
        step = np.zeros(3)
        step[c] = h
        plus, _ = _pair_blocks((d + step)[None], alpha_a, alpha_b, True)
        minus, _ = _pair_blocks((d - step)[None], alpha_a, alpha_b, True)
        np.testing.assert_allclose(derivative[0, ..., c], (plus - minus)[0] / (2 * h), atol=1e-8)


def test_eigenvalues_sorted_and_trace():
    rep = dg.OverlapMatrix()
    frames = dg.sample_methane(4, seed=3)
    values = rep.features(frames)
    assert values.shape == (4, 20)
    assert np.all(np.diff(values, axis=1) <= 0)
    # trace of the weighted overlap matrix: 4 orbitals × (1 + Σ_i (1 − r_i²/r_c²)^4)
    r2 = (dg.neighbor_positions(frames) ** 2).sum(axis=-1)
    trace = 4.0 * (1.0 + ((1.0 - r2 / 2.5**2) ** 4).sum(axis=1))
    np.testing.assert_allclose(values.sum(axis=1), trace, rtol=1e-12)


def test_neighbour_at_the_cutoff_drops_out():
    # its weight (1 − r²/r_c²)² vanishes: only the centre's four orthonormal orbitals remain
    atoms = ase.Atoms("CH", positions=[[0, 0, 0], [0, 0, 2.5 - 1e-9]])
    values = dg.OverlapMatrix(orbitals="sp").features([atoms])[0]
    np.testing.assert_allclose(values, [1, 1, 1, 1, 0, 0, 0, 0], atol=1e-12)


def test_jacobian_matches_central_differences_generic_frames():
    rep = dg.OverlapMatrix()
    frames = dg.sample_methane(6, seed=17)
    assert np.all(rep.eigenvalue_gaps(frames) > 1e-5)
    for atoms in frames[:3]:
        _, jacobian = rep.jacobian([atoms])
        numeric = dg.finite_difference_jacobian(rep, atoms, step=1e-5)
        assert np.linalg.norm(jacobian[0] - numeric) / np.linalg.norm(jacobian[0]) < 1e-6


def test_degenerate_eigenvalues_are_reported():
    # the regular tetrahedron has degenerate p-orbital eigenvalues: no Jacobian there
    rep = dg.OverlapMatrix()
    td = dg.builtin_environment("td")
    assert rep.eigenvalue_gaps([td])[0] < 1e-12
    pg_start = dg.builtin_environment("pg-start")
    assert rep.eigenvalue_gaps([pg_start])[0] > 1e-4
    # a Jacobian there warns, once per instance, naming the frame; diagnose says the same
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep.jacobian([pg_start])  # no degenerate frame: no warning
    with pytest.warns(dg.DegeneracyWarning, match=r"1 of 2 frames \(first: frame 1 of"):
        rep.jacobian([pg_start, td])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep.jacobian([td])  # already warned
    (note,) = dg.OverlapMatrix().diagnose([td, pg_start])
    assert note.startswith("om degenerate eigenvalues: 1 of 2 frames (first: frame 0")
    assert "-0.0" not in note  # equal eigenvalues: a gap of 0, not -0


def test_s_only_has_fewer_features_than_coordinates():
    rep = dg.OverlapMatrix(orbitals="s")
    features, jacobian = rep.jacobian([dg.builtin_environment("pg-start")])
    assert features.shape == (1, 5) and jacobian.shape == (1, 5, 12)


def test_zeros_forced_by_the_feature_count_are_dimension_not_spurious():
    """5 features for 9 motions: 4 zeros at every configuration, a property of the
    fingerprint's length, not of the frame (scan called them spurious everywhere)."""
    frames = dg.sample_methane(3, seed=4)
    short = dg.analyse_frames(frames, dg.OverlapMatrix(orbitals="s"))
    assert [r.verdict for r in short] == ["dimension"] * 3
    assert all(np.sum(r.singular_values < 1e-8 * r.singular_values[0]) == 4 for r in short)
    assert [r.verdict for r in dg.analyse_frames(frames, dg.OverlapMatrix())] == ["regular"] * 3
    # one zero more than the count forces is spurious again; symmetry still comes first
    assert dg.zero_verdict(np.r_[1.0, 0.5, 0.2, np.zeros(2)], 0, n_features=3) == "dimension"
    assert dg.zero_verdict(np.r_[1.0, np.zeros(4)], 0, n_features=3) == "spurious"
    assert dg.zero_verdict(np.r_[1.0, np.zeros(4)], 4, n_features=3) == "symmetry"
    assert dg.zero_verdict(np.r_[1.0, np.zeros(4)], 0) == "spurious"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"orbitals": "spd"}, "orbitals"), ({"width": 0.0}, "width"), ({"cutoff": "x"}, "cutoff")],
)
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.OverlapMatrix(**kwargs)


def test_refuses_neighbours_outside_cutoff():
    far = dg.environment_from_neighbors([[3.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
    with pytest.raises(dg.DegeneracyError, match="outside the OM cutoff"):
        dg.OverlapMatrix().features([far])


def test_frames_may_list_species_in_any_order():
    """Per-frame exponents: one call takes C(H2O2) frames in different species orders; the
    eigenvalues do not depend on the order, the Jacobian's columns follow the atoms, and
    the Jacobian of a mixed frame matches central differences."""
    mixed = dg.builtin_environment("pg-start")
    mixed.numbers[[1, 3]] = 8
    order = [0, 2, 1, 4, 3]  # H, O, H, O instead of O, H, O, H
    reordered = mixed[order]
    rep = dg.OverlapMatrix()
    features, jacobian = rep.jacobian([mixed, reordered, dg.builtin_environment("pg-start")])
    np.testing.assert_allclose(features[1], features[0], rtol=1e-12, atol=1e-14)
    assert not np.allclose(features[2], features[0])  # O orbitals differ from H ones
    columns = jacobian.reshape(3, -1, 4, 3)
    np.testing.assert_allclose(
        columns[1], columns[0][:, [o - 1 for o in order[1:]]], rtol=1e-9, atol=1e-12
    )
    alone = rep.jacobian([mixed])
    np.testing.assert_allclose(features[0], alone[0][0], rtol=1e-13)
    np.testing.assert_allclose(jacobian[0], alone[1][0], rtol=1e-12, atol=1e-14)
    numeric = dg.finite_difference_jacobian(rep, mixed, step=1e-5)
    np.testing.assert_allclose(jacobian[0], numeric, rtol=1e-6, atol=1e-7)


def test_hypers_rebuild():
    rep = dg.OverlapMatrix(orbitals="s", width=2.0, cutoff=3.0)
    again = dg.make_representation("om", **rep.hypers())
    frames = dg.sample_methane(2, seed=4)
    np.testing.assert_array_equal(rep.features(frames), again.features(frames))


def test_a_neighbour_at_the_cutoff_is_named_as_unseen():
    """H1 2 mÅ inside the cutoff has weight (1 - r²/r_c²)² ~ 3e-6: the OM cannot see it
    turn, and the spurious zero is explained by the pairs H1 is in (its tiny eigenvalues
    nearly coincide relative to the largest, but not to their own size: no kink, no
    warning)."""
    neighbors = np.array([[2.498, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    atoms = dg.environment_from_neighbors(neighbors)
    om = dg.OverlapMatrix()
    assert om.unseen_pairs(neighbors) == [(0, 1), (0, 2), (0, 3)]
    assert om.unseen_pairs(neighbors * 0.9) == []
    [analysis] = dg.analyse_frames([atoms], om)  # no warning (pytest makes it an error)
    assert analysis.verdict == "spurious" and analysis.pair_swap is None
    assert analysis.unseen_pairs == (
        "H1-H2, H1-H3, H1-H4 (H1 at 2.498 Å, 0.002 Å inside the cutoff, where its weight "
        "2.6e-06 nearly vanishes)"
    )


def test_neighbor_weights_are_the_weights_of_the_jacobian():
    """One formula in two places: the weights the search guards equal those the OM's
    features are built with."""
    om = dg.OverlapMatrix()
    atoms = dg.sample_methane(1, seed=5)[0]
    positions = atoms.positions[None] - atoms.positions[0]
    weights, _ = om._weights(positions)
    np.testing.assert_allclose(
        om.neighbor_weights(dg.neighbor_positions(atoms)), weights[0, 1:], rtol=1e-14
    )
    assert om.neighbor_weights([[3.0, 0.0, 0.0]]).tolist() == [0.0]  # beyond: 0


def test_the_search_does_not_end_on_a_neighbour_leaving_the_cutoff():
    """From this random start the OM search used to end with H1 1.6 mÅ inside the cutoff
    (weight 1.7e-6), a zero of the neighbour leaving; then, with a floor of 1e-5 on the
    weight, where H1's weight reached it (2.496 Å, CN 4.3e11), still a zero that H1's
    weight explains by spectrum's rule, but labelled "none". A step to a zero with a
    neighbour faded to where its weight could explain a zero (c² < 1e-3) is now refused:
    it stops short of a zero (CN 9.9e5), H1 at 2.40 Å, weight 5.8e-3."""
    om = dg.OverlapMatrix()
    start = dg.sample_methane(30, seed=11)[7]
    result = dg.find_singular(start, om)
    weights = om.neighbor_weights(dg.neighbor_positions(result.atoms))
    assert 1e-3 < weights.min() < 1e-2  # it went for the cutoff, and stopped
    assert not result.converged and not result.has_zero and 1e5 < result.cn < 1e6
    assert result.explanation is None and result.atoms.info["unseen_pairs"] == "none"


@pytest.mark.parametrize("radius", [2.2, 2.3])
def test_the_search_does_not_make_a_zero_by_weighing_a_neighbour_out(radius):
    """H1 2.2 or 2.3 Å out, no zero there (CN 1.2e4, 6.6e4): the search moved H1 out to
    2.496 Å, where its weight met the floor of 1e-5, and ended at CN 5.5e11 with
    ``unseen_pairs`` "none", a zero that spectrum puts down to H1's weight. Now it stops
    where the next step would reach a zero with H1 faded (c² < 1e-3 from 2.27 Å on): no
    zero (CN ~1e6), H1 at 2.395 Å."""
    om = dg.OverlapMatrix()
    neighbors = _h1_out_at(radius)
    result = dg.find_singular(dg.environment_from_neighbors(neighbors), om)
    found = dg.neighbor_positions(result.atoms)
    assert result.history[0].cn < 1e5 and not result.has_zero and not result.converged
    assert np.linalg.norm(found[0]) < 2.4 and om.neighbor_weights(found).min() > 5e-3
    assert result.explanation is None and result.atoms.info["unseen_pairs"] == "none"
    assert _analysis(found).verdict == "regular"  # spectrum agrees: no zero there


@pytest.mark.parametrize("radius", [2.42, 2.45, 2.49])
def test_a_search_from_a_zero_of_a_weight_names_it_as_spectrum_does(radius):
    """H1 2.42–2.49 Å out: the start's zero is H1's weight's (spectrum names it). The
    search pushed H1 on to 2.496 Å and labelled the zero there "none" (weight above the
    fixed 1e-5); now it does not lower that weight further, and labels the zero it ends
    at as ``explain_zero`` with the spectrum does."""
    om = dg.OverlapMatrix()
    neighbors = _h1_out_at(radius)
    result = dg.find_singular(dg.environment_from_neighbors(neighbors), om)
    found = dg.neighbor_positions(result.atoms)
    assert om.neighbor_weights(found)[0] >= om.neighbor_weights(neighbors)[0]
    assert result.has_zero and not result.symmetric and result.near_symmetry is None
    analysis = _analysis(found)
    assert analysis.verdict == "spurious"
    assert analysis.unseen_pairs.startswith("H1-H2, H1-H3, H1-H4 (H1 at ")
    assert result.atoms.info["unseen_pairs"] == analysis.unseen_pairs
    assert [n.index for n in result.explanation.weighed_out] == [0]
    verdict = singular_cli.zero_verdict(result)
    assert verdict.startswith("not symmetric (best residual ")
    assert f"spurious zero, its motion turns pairs it cannot see {analysis.unseen_pairs}" in verdict


def test_a_start_with_a_weighed_out_neighbour_does_not_lose_it_further():
    neighbors = np.array(
        [[2.4985, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]]
    )
    om = dg.OverlapMatrix()
    lowest = om.neighbor_weights(neighbors).min()
    assert lowest < UNSEEN_WEIGHT
    result = dg.find_singular(dg.environment_from_neighbors(neighbors), om, max_iterations=5)
    assert om.neighbor_weights(dg.neighbor_positions(result.atoms)).min() >= lowest


def test_no_singular_search_or_orbit_for_a_fingerprint_shorter_than_the_motions(tmp_path):
    """Every configuration is 'singular' for the s-orbital OM (4 zeros everywhere):
    find_singular returned the start as converged, and an orbit had no single softest
    direction; both are refused before any work."""
    short = dg.OverlapMatrix(orbitals="s")
    start = dg.builtin_environment("pg-start")
    with pytest.raises(dg.DegeneracyError, match=r"^om: 5 features for the 9 internal "):
        dg.find_singular(start, short)
    with pytest.raises(dg.DegeneracyError, match="no single softest direction to follow"):
        dg.trace_orbit(start, short, length=0.02, output=tmp_path / "o.extxyz")
    assert not (tmp_path / "o.extxyz").exists()


@pytest.mark.parametrize("width", [1e300, 1e150, 1e-300, 0.09, 10.5])
def test_width_out_of_range_is_refused(width):
    """1e300, 1e150 and 1e-300 passed, then gave RuntimeWarnings and a LinAlgError."""
    message = (
        r"^width must be between 0.1 and 10 \(a multiple of the covalent radius\), "
        rf"got {width!r}$"
    )
    with pytest.raises(dg.DegeneracyError, match=message.replace("+", r"\+")):
        dg.OverlapMatrix(width=width)


@pytest.mark.parametrize("width", [0.1, 10.0])
def test_width_at_its_limits_works(width):
    frames = dg.sample_methane(2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", dg.DegeneracyWarning)  # w = 0.1: isolated p orbitals
        features, jacobian = dg.OverlapMatrix(width=width).jacobian(frames)
    assert np.all(np.isfinite(features)) and np.all(np.isfinite(jacobian))


def _h1_out_at(radius):
    """CH4-like neighbours with H1 at ``radius`` (Å) along x."""
    neighbors = np.array([[1.0, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    neighbors[0] *= radius
    return neighbors


def _analysis(neighbors, **options):
    [analysis] = dg.analyse_frames(
        [dg.environment_from_neighbors(neighbors)], dg.OverlapMatrix(), **options
    )
    return analysis


@pytest.mark.parametrize("radius", [2.485, 2.49, 2.496])
def test_a_zero_of_a_neighbour_near_the_cutoff_is_explained(radius):
    """User review: H1 2.485–2.496 Å out (cutoff 2.5 Å) gave OM zeros (s9/s1 4e-10 to
    2e-12) called 'spurious' with no explanation: its weight, 1.4e-4 to 1e-5, was above
    the fixed 1e-5. Turning a neighbour of weight c moves the OM's features by ~0.02 c² s1,
    and the zero is now named when c² ≤ √(s9/s1)."""
    analysis = _analysis(_h1_out_at(radius))
    values = analysis.singular_values
    assert values[-1] < 1e-9 * values[0] and analysis.pair_swap is None
    assert analysis.verdict == "spurious"
    assert analysis.unseen_pairs.startswith(f"H1-H2, H1-H3, H1-H4 (H1 at {radius:g} Å, ")
    assert analysis.unseen_pairs.endswith("nearly vanishes)")


def test_the_explanation_says_where_the_neighbour_is(tmp_path, capsys):
    analysis = _analysis(_h1_out_at(2.49))
    assert analysis.unseen_pairs == (
        "H1-H2, H1-H3, H1-H4 (H1 at 2.49 Å, 0.01 Å inside the cutoff, where its weight "
        "6.4e-05 nearly vanishes)"
    )
    path = tmp_path / "near.xyz"
    ase.io.write(path, dg.environment_from_neighbors(_h1_out_at(2.49)))
    assert main(["spectrum", str(path), "--rep", "om", "--environment", "any"]) == 0
    assert f"spurious: turns pairs it cannot see {analysis.unseen_pairs}" in capsys.readouterr().out


def test_a_neighbour_at_2_3_angstrom_is_not_weighed_out():
    """At 2.3 Å (weight 0.024) the OM sees H1 turn: s9/s1 1.5e-5, no zero. An exact zero
    (round-off) would not be put down to its weight either: the bound √(s/s1) is then
    4.5e-8, far below its c² = 5.6e-4."""
    neighbors = _h1_out_at(2.3)
    analysis = _analysis(neighbors)
    assert analysis.verdict == "regular" and analysis.unseen_pairs is None
    at_roundoff = np.array([*analysis.singular_values[:-1], 0.0])
    assert sensitivity.unseen_pairs_of(dg.OverlapMatrix(), neighbors, at_roundoff) == []


def test_the_bound_follows_the_zero_threshold():
    """The same 2.3 Å frame with --zero-rtol 1e-4: its s9/s1 = 1.5e-5 is a zero now, the
    turn of H1 (c² = 5.6e-4 ≤ √1.5e-5 = 3.9e-3), and is named as such; the default
    threshold leaves it regular (above)."""
    analysis = _analysis(_h1_out_at(2.3), zero_rtol=1e-4)
    assert analysis.verdict == "spurious"
    assert analysis.unseen_pairs.startswith("H1-H2, H1-H3, H1-H4 (H1 at 2.3 Å, 0.2 Å inside")


def test_faint_neighbors_are_those_whose_weight_could_explain_a_zero():
    """The guard of find_singular: a response factor c² below √zero_rtol (1e-3, c 0.032,
    2.27 Å for the default)."""
    om = dg.OverlapMatrix()
    assert sensitivity.faint_neighbors(om, _h1_out_at(2.3)).tolist() == [1, 0, 0, 0]  # 5.6e-4
    assert not sensitivity.faint_neighbors(om, _h1_out_at(2.2)).any()  # c² = 2.6e-3
    assert sensitivity.faint_neighbors(om, _h1_out_at(2.2), zero_rtol=1e-4).tolist()[0]
    assert not sensitivity.faint_neighbors(dg.SoapPowerSpectrum(), _h1_out_at(2.49)).any()
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        sensitivity.faint_neighbors(om, _h1_out_at(2.3), zero_rtol=1.0)


def test_response_weights_are_the_squared_cutoff_weights():
    om = dg.OverlapMatrix()
    neighbors = _h1_out_at(2.49)
    per_neighbor, per_pair = om.response_weights(neighbors)
    np.testing.assert_allclose(per_neighbor, om.neighbor_weights(neighbors) ** 2, rtol=1e-14)
    assert per_pair is None


# --------------------------------------------------------------------------------------
# Kinks: where the sorted eigenvalues coincide there is no Jacobian, and the verdict says so


def _c3v_methane() -> ase.Atoms:
    ring = [dg.spherical_point(-20.0, phi, 1.1) for phi in (0.0, 120.0, 240.0)]
    return dg.environment_from_neighbors(np.array([[0.0, 0.0, 1.0], *ring]))


def _faded_methane() -> ase.Atoms:
    """H1 2 mÅ inside the cutoff: its four eigenvalues (~c² = 6.5e-12) are 4e-15 of the
    largest apart, but 6e-4 of their own size, and the Jacobian holds there."""
    neighbors = np.array([[2.498, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    return dg.environment_from_neighbors(neighbors)


def test_kinks_are_coinciding_eigenvalues_not_small_ones():
    om = dg.OverlapMatrix()
    td, c3v, faded = dg.builtin_environment("td"), _c3v_methane(), _faded_methane()
    start = dg.builtin_environment("pg-start")
    assert om.kinks([td, c3v, start, faded]).tolist() == [True, True, False, False]
    # the faded neighbour's eigenvalues coincide relative to the largest (eigenvalue_gaps),
    # not relative to themselves: no kink, no warning, and its Jacobian is a derivative
    assert om.eigenvalue_gaps([faded])[0] < 1e-13
    _, jacobian = om.jacobian([faded])
    numeric = dg.finite_difference_jacobian(om, faded, step=1e-6)
    assert np.linalg.norm(jacobian[0] - numeric) / np.linalg.norm(jacobian[0]) < 1e-7
    # 200 random CH4: no kink (smallest gap of a pair 8e-4 of its size)
    assert not om.kinks(dg.sample_methane(200, seed=0)).any()
    # s orbitals: T_d's three H combinations (T2) coincide too
    assert dg.OverlapMatrix(orbitals="s").kinks([td, start]).tolist() == [True, False]


def test_the_om_verdict_at_td_and_c3v_is_kink():
    """T_d CH4 gave `symmetric yes`, 8 forced motions, and the verdict `regular` (CN 87;
    C3v: CN 60): a one-sided derivative read as a fingerprint that sees every motion."""
    om = dg.OverlapMatrix()
    with pytest.warns(dg.DegeneracyWarning, match="their verdict is 'kink'"):
        td, c3v = dg.analyse_frames([dg.builtin_environment("td"), _c3v_methane()], om)
    assert (td.symmetric, td.n_symmetry_zeros, td.verdict) == (True, 8, "kink")
    assert (c3v.symmetric, c3v.n_symmetry_zeros, c3v.verdict) == (True, 6, "kink")
    # the one-sided spectrum, no zero read off it: a finite CN of order 10², whose value
    # follows the BLAS kernels (T_d / C3v: 117 / 68, 204 / 68 and 103 / 159 on AMD EPYCs)
    assert 30 < td.cn < 1000 and 30 < c3v.cn < 1000
    assert td.pair_swap is None and td.unseen_pairs is None
    assert td.near_symmetry_distance is None
    # the s-orbital OM at T_d (one-sided spectrum: 6 zeros, formerly "symmetry")
    with pytest.warns(dg.DegeneracyWarning, match="their verdict is 'kink'"):
        [short] = dg.analyse_frames([dg.builtin_environment("td")], dg.OverlapMatrix(orbitals="s"))
    assert short.verdict == "kink" and np.isinf(short.cn)


def test_random_om_frames_keep_their_verdicts():
    """Away from symmetry the OM is differentiable: 200 random CH4, no kink, and every
    verdict that of the spectrum alone."""
    om = dg.OverlapMatrix()
    frames = dg.sample_methane(200, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)
        results = dg.analyse_frames(frames, om)
    assert not sensitivity.kinks_of(om, frames).any()
    _, jacobian = om.jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    for k, (atoms, result) in enumerate(zip(frames, results, strict=True)):
        symmetry = dg.point_symmetry(dg.neighbor_positions(atoms), atoms.numbers[1:])
        expected = dg.zero_verdict(
            spectrum.values[k],
            symmetry.n_symmetry_zeros,
            n_features=jacobian.shape[1],
            motions=spectrum.motions[k],
            forced_motions=symmetry.forced_motions,
        )
        assert result.verdict == expected != "kink"
    assert {r.verdict for r in results} == {"regular"}


def test_the_degeneracy_note_names_the_kinks_only():
    """A neighbour fading at the cutoff gives tiny eigenvalues that coincide relative to
    the largest (``eigenvalue_gaps`` < 1e-8) but not to their own size: no kink, and no
    warning (it used to say "degenerate eigenvalues" there, where the Jacobian holds)."""
    td, faded = dg.builtin_environment("td"), _faded_methane()
    assert dg.OverlapMatrix().eigenvalue_gaps([faded])[0] < 1e-8
    (both,) = dg.OverlapMatrix().diagnose([faded, td])
    assert both.startswith("om degenerate eigenvalues: 1 of 2 frames (first: frame 1")
    assert both.endswith(
        "where the OM fingerprint has no Jacobian (a kink): their spectrum describes one "
        "one-sided derivative, and their verdict is 'kink'"
    )
    assert dg.OverlapMatrix().diagnose([faded]) == []


class _AlwaysKinked(dg.OverlapMatrix):
    """The OM, saying it has no Jacobian anywhere (to reach the search's kink branch)."""

    def kinks(self, frames):
        return np.ones(len(frames), dtype=bool)


def test_a_search_that_ends_at_a_kink_explains_nothing():
    """``singular`` printed a symmetric result's zeros as forced by symmetry whatever the
    fingerprint's derivative; at a kink its spectrum is one-sided."""
    start = dg.builtin_environment("pg-start")
    plain = dg.find_singular(start, dg.OverlapMatrix(), max_iterations=2)
    assert plain.kink is False and "kink" not in plain.atoms.info
    kinked = dg.find_singular(start, _AlwaysKinked(), max_iterations=2)
    assert kinked.kink is True and kinked.atoms.info["kink"] is True
    assert singular_cli.zero_verdict(kinked).startswith(sensitivity.KINK_TEXT)
    # a zero there is not "physical" either (--reject-symmetric lets it through)
    at_zero = dataclasses.replace(kinked, cn=1e15, n_unexplained=0)
    symmetric = dataclasses.replace(
        at_zero, symmetry=dataclasses.replace(at_zero.symmetry, symmetric=True)
    )
    assert symmetric.has_zero and symmetric.symmetric
    assert not singular_cli.physical_zero(symmetric)
    assert singular_cli.physical_zero(dataclasses.replace(symmetric, kink=False))


@pytest.mark.parametrize("where", [0, 4])
def test_a_dummy_atom_is_refused(where):
    """X took ase's covalent radius 0.2 Å: as the centre it was analysed silently, as a
    neighbour it failed late, in point_symmetry ("unknown element np.int64(0)")."""
    atoms = dg.builtin_environment("pg-start")
    atoms.numbers[where] = 0
    with pytest.raises(
        dg.DegeneracyError, match=rf"^om: frame 0, atom {where}: a dummy atom X has no orbitals"
    ):
        dg.OverlapMatrix().features([atoms])
