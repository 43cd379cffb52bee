"""Overlap-matrix fingerprint: overlap formulas, eigenvalues, Jacobian, degeneracies.

Finite differences and invariances of the default cases run in the shared suite
(``conftest.REPRESENTATION_CASES``).
"""

from __future__ import annotations

import warnings

import ase
import ase.io
import numpy as np
import pytest
from scipy.integrate import quad

import degeneracy as dg
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
    turn, and the spurious zero is explained by the pairs H1 is in (its weighed-out
    orbitals also make eigenvalues coincide, which the OM warns about)."""
    neighbors = np.array([[2.498, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    atoms = dg.environment_from_neighbors(neighbors)
    om = dg.OverlapMatrix()
    assert om.unseen_pairs(neighbors) == [(0, 1), (0, 2), (0, 3)]
    assert om.unseen_pairs(neighbors * 0.9) == []
    with pytest.warns(dg.DegeneracyWarning, match="degenerate eigenvalues"):
        [analysis] = dg.analyse_frames([atoms], om)
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
    (weight 1.7e-6), a zero of the neighbour leaving; it now stops where H1's weight
    reaches 1e-5, not converged, and names no unseen pairs."""
    om = dg.OverlapMatrix()
    start = dg.sample_methane(30, seed=11)[7]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.DegeneracyWarning)  # coinciding eigenvalues
        result = dg.find_singular(start, om)
    weights = om.neighbor_weights(dg.neighbor_positions(result.atoms))
    assert UNSEEN_WEIGHT <= weights.min() < 1e-3  # it went for the cutoff, and stopped
    assert not result.converged and result.atoms.info["unseen_pairs"] == "none"


def test_a_start_with_a_weighed_out_neighbour_does_not_lose_it_further():
    neighbors = np.array(
        [[2.4985, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]]
    )
    om = dg.OverlapMatrix()
    lowest = om.neighbor_weights(neighbors).min()
    assert lowest < UNSEEN_WEIGHT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.DegeneracyWarning)
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.DegeneracyWarning)  # H1's tiny eigenvalues coincide
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


def test_response_weights_are_the_squared_cutoff_weights():
    om = dg.OverlapMatrix()
    neighbors = _h1_out_at(2.49)
    per_neighbor, per_pair = om.response_weights(neighbors)
    np.testing.assert_allclose(per_neighbor, om.neighbor_weights(neighbors) ** 2, rtol=1e-14)
    assert per_pair is None
