"""ACSF (Behler G2 + G4): values against dscribe, Jacobian, parameter sets, validation.

Finite differences and invariances of the tight and loose sets on CH4 run in the shared
suite (``conftest.REPRESENTATION_CASES``).
"""

from __future__ import annotations

import json
import re
import warnings

import ase
import ase.data
import ase.io
import numpy as np
import pytest
from conftest import package_warnings

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.scan import describe_singular


def _dscribe_values(frames, g2, g4, species, angular="g4"):
    """dscribe's ACSF of atom 0, reordered to ours: per species G2 (without G1), then G4
    (or G5)."""
    dscribe = pytest.importorskip("dscribe.descriptors")
    acsf = dscribe.ACSF(r_cut=2.5, g2_params=g2, species=species, **{f"{angular}_params": g4})
    raw = np.array([acsf.create(atoms, centers=[0])[0] for atoms in frames])
    order = sorted(species, key=lambda s: ase.data.atomic_numbers[s])
    per_species = 1 + len(g2)
    radial = {s: raw[:, k * per_species + 1 : (k + 1) * per_species] for k, s in enumerate(order)}
    start = len(order) * per_species
    angular = {}
    for b in range(len(order)):
        for a in range(b + 1):
            angular[(order[a], order[b])] = raw[:, start : start + len(g4)]
            start += len(g4)
    return radial, angular


@pytest.mark.parametrize("name", ["tight", "loose"])
def test_values_match_dscribe(name):
    frames = [dg.builtin_environment("pg-start"), *dg.sample_methane(5, seed=21)]
    g2, g4 = dg.ACSF_SETS[name]
    radial, angular = _dscribe_values(frames, g2, g4, ["C", "H"])
    expected = np.concatenate([radial["H"], angular[("H", "H")]], axis=1)
    ours = dg.Acsf(parameter_set=name).features(frames)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.filterwarnings("ignore::degeneracy.errors.DegeneracyWarning")  # G4 at 2.0 Å
def test_g5_values_match_dscribe():
    frames = [*dg.sample_methane(5, seed=3), *_stretched_methane(2.0)]
    g2, g4 = dg.ACSF_SETS["tight"]
    radial, angular = _dscribe_values(frames, g2, g4, ["C", "H"], angular="g5")
    expected = np.concatenate([radial["H"], angular[("H", "H")]], axis=1)
    ours = dg.Acsf(parameter_set="tight", angular="g5").features(frames)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    g4_values = dg.Acsf(parameter_set="tight").features(frames)
    assert np.abs(ours - g4_values)[:, len(g2) :].max() > 1e-3  # really another function


def _mixed_frames(n, seed):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        directions = rng.normal(size=(5, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        positions = np.vstack([np.zeros(3), directions * rng.uniform(0.9, 1.8, (5, 1))])
        frames.append(ase.Atoms("CHONHO", positions=positions))
    return frames


def test_three_species_layout_matches_dscribe():
    frames = _mixed_frames(3, seed=2)
    g2 = [(1.0, 0.0), (4.0, 1.2)]
    g4 = [(0.05, 1.0, 1.0), (0.2, 4.0, -1.0), (0.01, 2.0, 1.0)]
    rep = dg.Acsf(parameter_set="custom", g2=g2, g4=g4, neighbors=("O", "H", "N"))
    radial, angular = _dscribe_values(frames, g2, g4, ["C", "H", "N", "O"])
    pairs = [("H", "H"), ("H", "N"), ("N", "N"), ("H", "O"), ("N", "O"), ("O", "O")]
    expected = np.concatenate(
        [radial["H"], radial["N"], radial["O"], *[angular[p] for p in pairs]], axis=1
    )
    np.testing.assert_allclose(rep.features(frames), expected, rtol=1e-12, atol=1e-14)


def test_mixed_species_jacobian_matches_central_differences():
    rep = dg.Acsf(
        parameter_set="custom",
        g2=[(2.0, 1.0), (10.0, 1.4)],
        g4=[(0.05, 1.0, 1.0), (0.1, 8.0, -1.0)],
        neighbors=("H", "N", "O"),
    )
    for atoms in _mixed_frames(2, seed=5):
        _, jacobian = rep.jacobian([atoms])
        numeric = dg.finite_difference_jacobian(rep, atoms, step=1e-5)
        assert np.linalg.norm(jacobian[0] - numeric) / np.linalg.norm(jacobian[0]) < 1e-6


def test_pair_beyond_cutoff_contributes_nothing():
    # H1 and H2 at 1.4 Å on opposite sides: r_12 = 2.8 Å > r_c, so f_c(r_12) = 0 drops
    # that pair from G4 (as in dscribe); value by a direct loop, gradient by FD
    neighbors = np.array([[1.4, 0, 0], [-1.4, 0, 0], [0, 1.0, 0], [0.3, 0.2, 1.0]])
    atoms = dg.environment_from_neighbors(neighbors)
    eta, rc = 0.01, 2.5
    rep = dg.Acsf(parameter_set="custom", g2=[(1.0, 0.0)], g4=[(eta, 1.0, 1.0)], cutoff=rc)

    def fc(r):
        return 0.5 * (np.cos(np.pi * r / rc) + 1.0) if r < rc else 0.0

    expected = 0.0
    for j in range(4):
        for k in range(j + 1, 4):
            rj, rk = np.linalg.norm(neighbors[j]), np.linalg.norm(neighbors[k])
            rjk = np.linalg.norm(neighbors[j] - neighbors[k])
            cos = neighbors[j] @ neighbors[k] / (rj * rk)
            radial = np.exp(-eta * (rj**2 + rk**2 + rjk**2))
            expected += (1.0 + cos) * radial * fc(rj) * fc(rk) * fc(rjk)
    features, jacobian = rep.jacobian([atoms])
    assert features[0, 1] == pytest.approx(expected, rel=1e-12)
    numeric = dg.finite_difference_jacobian(rep, atoms, step=1e-6)
    np.testing.assert_allclose(jacobian[0], numeric, atol=1e-8)


def test_parameter_sets_are_documented_sizes():
    assert dg.Acsf(parameter_set="tight").n_features == 57
    assert dg.Acsf(parameter_set="loose").n_features == 11


def test_a_custom_set_without_its_functions_says_how_to_give_them(capsys):
    """`--rep acsf:parameter_set=custom` was told "needs both g2 and g4", which no option
    gives."""
    from degeneracy.cli import main

    assert main(["compare", "--builtin", "td", "--rep", "acsf:parameter_set=custom"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "a custom ACSF parameter set needs both g2 and g4, lists of (η, r_s) and (η, ζ, λ): "
            "Acsf(parameter_set='custom', g2=..., g4=...) in Python (the command line has the "
            "sets tight, loose and scaled)"
        )
    )


def test_hypers_rebuild_custom_set():
    rep = dg.Acsf(parameter_set="custom", g2=[(1.0, 0.5)], g4=[(0.1, 2.0, -1.0)])
    again = dg.make_representation("acsf", **rep.hypers())
    frames = dg.sample_methane(2, seed=1)
    np.testing.assert_array_equal(rep.features(frames), again.features(frames))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameter_set": "medium"}, "parameter set"),
        ({"parameter_set": "tight", "g2": [(1.0, 0.0)]}, "custom"),
        ({"parameter_set": "custom", "g2": [(1.0, 0.0)]}, "both"),
        ({"parameter_set": "custom", "g2": [(-1.0, 0.0)], "g4": []}, "η > 0"),
        ({"parameter_set": "custom", "g2": [], "g4": [(0.1, 1.0, 0.5)]}, "λ = ±1"),
        ({"parameter_set": "custom", "g2": [], "g4": []}, "no functions"),
        ({"cutoff": -1.0}, "cutoff"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.Acsf(**kwargs)


def test_refuses_other_centres_and_species():
    atoms = dg.builtin_environment("pg-start")
    other = atoms.copy()
    other.numbers[0] = 7
    with pytest.raises(dg.DegeneracyError, match="centres"):
        dg.Acsf().features([other])
    other = atoms.copy()
    other.numbers[2] = 8
    with pytest.raises(dg.DegeneracyError, match="neighbour species"):
        dg.Acsf().features([other])


def test_scaled_set_is_the_tight_set_in_units_of_the_cutoff():
    frames = dg.sample_methane(4, seed=5)
    g2, g4 = dg.acsf_parameters("scaled", 2.5)
    np.testing.assert_allclose(g2, dg.ACSF_SETS["tight"][0])
    np.testing.assert_allclose(g4, dg.ACSF_SETS["tight"][1])
    scale = 2.16  # Si-Si 2.35 A against C-H 1.09 A
    tight = dg.Acsf(parameter_set="tight")
    scaled = dg.Acsf(parameter_set="scaled", cutoff=2.5 * scale)
    stretched = [ase.Atoms(a.numbers, a.positions * scale) for a in frames]
    x, jac = tight.jacobian(frames)
    x_scaled, jac_scaled = scaled.jacobian(stretched)
    np.testing.assert_allclose(x_scaled, x, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(jac_scaled * scale, jac, rtol=1e-9, atol=1e-12)


def test_named_sets_are_copies_and_bad_names_are_refused():
    g2, g4 = dg.acsf_parameters("tight", 2.5)
    g2.clear()
    g4.append((1.0, 1.0, 1.0))
    assert dg.acsf_parameters("tight", 2.5) == tuple(map(list, dg.ACSF_SETS["tight"]))
    assert len(dg.ACSF_SETS["tight"][0]) > 0
    with pytest.raises(dg.DegeneracyError, match=r"ACSF parameter set .* got 'medium'"):
        dg.acsf_parameters("medium", 2.5)
    with pytest.raises(dg.DegeneracyError, match="cutoff must be a positive number, got -1"):
        dg.acsf_parameters("scaled", -1)


@pytest.mark.parametrize("name", ["tight", "loose", "scaled"])
@pytest.mark.parametrize("cutoff", [-1, 0, float("nan"), float("inf"), "far", None])
def test_every_named_set_checks_its_cutoff(name, cutoff):
    """Only "scaled" uses the cutoff, but the docstring promises the check for every set:
    ("tight", -1) and ("loose", nan) were accepted."""
    with pytest.raises(dg.DegeneracyError, match="cutoff must be a"):
        dg.acsf_parameters(name, cutoff)


def _stretched_methane(bond):
    """Three slightly distorted tetrahedral CH4 (C at the origin), every C-H ``bond`` Å."""
    rng = np.random.default_rng(8)
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    out = []
    for _ in range(3):
        bonds = tetrahedron + rng.normal(scale=0.05, size=(4, 3))
        bonds *= bond / np.linalg.norm(bonds, axis=1, keepdims=True)
        out.append(ase.Atoms("CH4", np.vstack([[0.0, 0.0, 0.0], bonds])))
    return out


def test_tight_set_warns_once_when_no_g2_reaches_the_bonds():
    frames = _stretched_methane(2.2)  # inside the 2.5 A cutoff, beyond the G2 centres
    tight = dg.Acsf(parameter_set="tight")
    assert len(tight.unreached_distances([1.09, 2.2, 2.6])) == 1  # 2.6 is beyond the cutoff
    with pytest.warns(dg.DegeneracyWarning) as caught:
        tight.jacobian(frames)
    messages = package_warnings(caught)
    assert len(messages) == 2  # unreached bonds, and (H-H 3.6 Å) no angles
    assert re.match(r"ACSF set 'tight' .* nearly blind .* no radial function .*scaled", messages[0])
    assert messages[1].startswith("ACSF (cutoff 2.5 Å) sees no bond angles here")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tight.features(frames)  # once per instance
        dg.Acsf(parameter_set="tight").features(_stretched_methane(1.1))
        dg.Acsf(parameter_set="scaled", cutoff=5.0).features(frames)


def test_no_angle_warning_when_every_neighbour_pair_is_beyond_the_cutoff():
    frames = _stretched_methane(2.0)  # G2 still reach 2.0 Å; H-H ≥ 2.9 Å > 2.5 Å
    acsf = dg.Acsf(parameter_set="tight")
    notes = acsf.diagnose(frames)
    assert len(notes) == 1 and notes[0].startswith("ACSF (cutoff 2.5 Å) sees no bond angles")
    assert "in 3 of the 3 environments" in notes[0]
    x = acsf.features(frames)  # diagnosed: no warning of its own
    np.testing.assert_array_equal(x[:, len(acsf.g2) :], 0.0)  # every G4 vanishes
    assert dg.Acsf(parameter_set="tight", cutoff=4.0).diagnose(frames) == []


def test_cli_prints_each_warning_once_as_one_line(tmp_path, capsys):
    path = tmp_path / "wide.xyz"
    ase.io.write(path, _stretched_methane(2.2))
    assert main(["spectrum", str(path), "--rep", "acsf", "--format", "json"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    # C–H 2.2 Å is no CH4 in Å: the reader asks about units too
    units = [line for line in err if "median C–H distance 2.2 Å" in line]
    warning = [line for line in err if "warning" in line and line not in units]
    assert len(units) == 1 and len(warning) == 2, err
    assert warning[0].startswith("degeneracy spectrum: warning: ACSF set 'tight' (cutoff 2.5")
    assert "cutoff of at least 3.1 Å" in warning[0]  # 2.2 Å / (1.8 / 2.5)
    assert warning[1].startswith("degeneracy spectrum: warning: ACSF (cutoff 2.5 Å) sees no")


def test_g5_sees_the_angles_g4_loses_beyond_the_cutoff():
    frames = _stretched_methane(2.0)  # H-H ≥ 2.9 Å > 2.5 Å: every G4 vanishes
    g5 = dg.Acsf(parameter_set="tight", angular="g5")
    assert g5.diagnose(frames) == []
    assert np.all(np.abs(g5.features(frames)[:, len(g5.g2) :]).max(axis=1) > 1e-3)
    assert g5.hypers()["angular"] == "g5" and "angular" not in dg.Acsf().hypers()
    assert dg.make_representation("acsf", **g5.hypers()).angular == "g5"
    with pytest.raises(dg.DegeneracyError, match=r"angular .*'g6'"):
        dg.Acsf(angular="g6")


def test_g4_is_blind_to_turning_two_pairs_beyond_the_cutoff():
    """ACSF's own spurious zeros (not swaps of equal pairs): H1 is 2.5 Å or more from both
    H2 and H3, so G4 sees neither angle; with the radii and the other four angles fixed
    (8 conditions on 9 motions) one motion turns only those two, a zero of every G4 set.
    G5 and SOAP see it. (With one such pair it takes one more condition: the search
    finds those at the pair's distance = r_c.)"""
    neighbors = np.array([[1.35, 0.0, 0.1], [-1.2, 0.4, 0.0], [-1.1, -0.6, 0.5], [0.1, 0.2, 1.1]])
    distances = np.linalg.norm(neighbors[:, None] - neighbors[None], axis=-1)
    assert distances[0, 1] > 2.5 and distances[0, 2] > 2.5
    atoms = dg.environment_from_neighbors(neighbors)

    def spectrum(rep):
        _, jacobian = rep.jacobian([atoms])
        return dg.singular_spectrum(jacobian, neighbors[None])

    for parameter_set in ("tight", "loose"):
        blind = spectrum(dg.Acsf(parameter_set=parameter_set))
        assert blind.cn[0] > 1e12, parameter_set
        pairs, rates = dg.pair_triple_rates(neighbors, blind.motions[0, -1])
        moving = np.abs(rates).max(axis=1) > 1e-8
        assert pairs[moving].tolist() == [[0, 1], [0, 2]]
        np.testing.assert_allclose(rates[:, :2], 0.0, atol=1e-8)  # no radius changes
        explanation = dg.explain_zero(atoms, blind.motions[0, -1], dg.Acsf())
        assert explanation.unseen == [(0, 1), (0, 2)] and explanation.swapped == []
        assert explanation.labels(["H"] * 4) == (None, "H1-H2, H1-H3")
    assert dg.Acsf().unseen_pairs(neighbors) == [(0, 1), (0, 2)]
    assert dg.Acsf(angular="g5").unseen_pairs(neighbors) == []
    assert spectrum(dg.Acsf(angular="g5")).cn[0] < 1e5
    assert spectrum(dg.SoapPowerSpectrum()).cn[0] < 1e5


def test_spectrum_names_the_pairs_g4_cannot_see(tmp_path, capsys):
    path = tmp_path / "apart.xyz"
    neighbors = [[1.35, 0.0, 0.1], [-1.2, 0.4, 0.0], [-1.1, -0.6, 0.5], [0.1, 0.2, 1.1]]
    ase.io.write(path, dg.environment_from_neighbors(np.array(neighbors)))
    assert main(["spectrum", str(path), "--rep", "acsf", "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["verdict"] == "spurious" and record["pair_swap"] is None
    assert record["unseen_pairs"] == "H1-H2, H1-H3"
    assert main(["spectrum", str(path), "--rep", "acsf"]) == 0
    assert "spurious: turns pairs it cannot see H1-H2, H1-H3" in capsys.readouterr().out
    assert main(["spectrum", str(path), "--rep", "acsf", "--acsf-angular", "g5"]) == 0
    assert "regular" in capsys.readouterr().out


def test_a_neighbour_at_the_cutoff_makes_all_its_pairs_unseen():
    neighbors = np.array(
        [[2.4999, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]]
    )
    for angular in ("g4", "g5"):
        assert dg.Acsf(angular=angular).unseen_pairs(neighbors) == [(0, 1), (0, 2), (0, 3)]
    weights = dg.Acsf().neighbor_weights(neighbors)  # f_c(r) = (cos(π r/r_c) + 1)/2
    radii = np.linalg.norm(neighbors, axis=1)
    np.testing.assert_allclose(weights, (np.cos(np.pi * radii / 2.5) + 1) / 2, rtol=1e-12)
    assert weights[0] < 1e-5 < weights[1:].min()
    assert dg.Acsf(angular="g5").unseen_pairs(neighbors * 0.9) == []
    radial_only = dg.Acsf(parameter_set="custom", g2=[(1.0, 1.0)], g4=[])
    assert len(radial_only.unseen_pairs(neighbors * 0.9)) == 6  # no angle is seen at all


def test_cutoff_has_an_upper_limit():
    with pytest.raises(dg.DegeneracyError, match=r"^cutoff must be at most 100 Å.*got 1e\+20$"):
        dg.Acsf(cutoff=1e20)
    assert dg.Acsf(parameter_set="scaled", cutoff=100.0).cutoff == 100.0


def test_response_weights_follow_how_each_term_carries_the_cutoff():
    """A turn multiplies a neighbour's terms by f_c(r_j) and a pair's by f_c(r_j) f_c(r_k),
    with G4 also √f_c(r_jk) (the slope of f_c at r_jk, which a turn changes)."""
    neighbors = np.array([[2.49, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    j, k = np.triu_indices(4, k=1)
    weights = dg.Acsf().neighbor_weights(neighbors)
    apart = np.linalg.norm(neighbors[j] - neighbors[k], axis=1)
    g4_neighbor, g4_pair = dg.Acsf().response_weights(neighbors)
    np.testing.assert_allclose(g4_neighbor, weights, rtol=1e-14)
    within = (np.cos(np.pi * np.minimum(apart, 2.5) / 2.5) + 1) / 2
    np.testing.assert_allclose(g4_pair, weights[j] * weights[k] * np.sqrt(within), rtol=1e-12)
    _, g5_pair = dg.Acsf(angular="g5").response_weights(neighbors)
    np.testing.assert_allclose(g5_pair, weights[j] * weights[k], rtol=1e-14)
    radial_only = dg.Acsf(parameter_set="custom", g2=[(1.0, 1.0)], g4=[])
    assert not radial_only.response_weights(neighbors)[1].any()  # no angle is seen


def test_a_neighbour_near_the_cutoff_is_named_as_for_the_om():
    """G5 sees H1 2.49 Å out (f_c 3.9e-5) turn at s9/s1 3e-7, a zero of its weight
    (f_c ≤ √(s/s1)), now named; the fixed 1e-5 missed it. With G4 the same frame's zero
    is exact, from H1's pairs beyond the cutoff, and H1's weight, which would leave
    ~1e-7, is not named for it (at 2.496 Å, f_c 6.3e-6, the fixed 1e-5 counted it)."""
    neighbors = np.array([[1.0, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    neighbors[0] *= 2.49
    atoms = dg.environment_from_neighbors(neighbors)
    [g5] = dg.analyse_frames([atoms], dg.Acsf(angular="g5"))
    assert g5.verdict == "spurious" and g5.pair_swap is None
    assert g5.unseen_pairs == (
        "H1-H2, H1-H3, H1-H4 (H1 at 2.49 Å, 0.01 Å inside the cutoff, where its weight "
        "3.9e-05 nearly vanishes)"
    )
    neighbors[0] *= 2.496 / 2.49
    atoms = dg.environment_from_neighbors(neighbors)
    [g4] = dg.analyse_frames([atoms], dg.Acsf())
    assert g4.singular_values[-1] < 1e-15 * g4.singular_values[0]
    assert g4.verdict == "spurious" and g4.unseen_pairs == "H1-H2, H1-H3, H1-H4"


#: Where ``find_singular(sample_methane(30, seed=0)[4], Acsf())`` stops (CN 4.1e6, not
#: converged): H3-H4 just beyond G4's 2.5 Å cutoff, H1-H2 and H3-H2 0.0033 Å from equal.
STOPPED_AT_THE_G4_CUTOFF = [
    [0.0, 0.0, 0.0],
    [-0.039332434139, 0.972728684181, -0.814482933854],
    [-0.202631182525, -1.209459163086, -0.701440663738],
    [1.143217335851, 0.473249399933, -0.295887966691],
    [-1.034209855467, -0.727414284213, -0.036420149055],
]


def test_the_near_swap_leaves_out_a_pair_at_g4s_cutoff(tmp_path, capsys):
    """The softest motion trades H1-H2 against H3-H2 and turns H3-H4, whose G4 term the
    cutoff weighs out: ρ 0.62 with that pair counted, 0.0085 without (measured)."""
    atoms = ase.Atoms("CH4", positions=STOPPED_AT_THE_G4_CUTOFF)
    acsf = dg.Acsf()
    (analysis,) = dg.analyse_frames([atoms], acsf)
    assert analysis.verdict == "spurious" and analysis.pair_swap is None
    assert analysis.nearest_coincidence == "H1-H2 = H3-H2"
    assert analysis.near_swap_unseen == "H3-H4"
    assert analysis.near_swap_residual < 0.02
    _, jacobian = acsf.jacobian([atoms])
    motion = dg.singular_spectrum(jacobian, dg.neighbor_positions([atoms])).motions[0, -1]
    counted = dg.sensitivity.near_swap(atoms, motion)  # no fingerprint: every pair counts
    assert counted["near_swap_unseen"] is None and counted["near_swap_residual"] > 0.5
    # SOAP weighs no pair out
    assert dg.analyse_frames([atoms], dg.SoapPowerSpectrum())[0].near_swap_unseen is None
    (entry,) = describe_singular([atoms], acsf)  # scan's most-singular rows
    assert entry["near_swap_unseen"] == "H3-H4"
    assert entry["near_swap_residual"] == pytest.approx(analysis.near_swap_residual)
    # compare's ρ is the same quantity
    comparison = dg.compare_fingerprints([atoms], {"acsf": acsf})
    assert comparison.near_swap_residuals[0, 0] == pytest.approx(analysis.near_swap_residual)
    path = tmp_path / "stopped.xyz"
    ase.io.write(path, atoms)
    assert main(["spectrum", str(path), "--rep", "acsf"]) == 0
    assert "H1-H2 = H3-H2 (0.0033 Å, ρ 0.0085; H3-H4 unseen)" in capsys.readouterr().out
    assert main(["spectrum", str(path), "--rep", "acsf", "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["near_swap_unseen"] == "H3-H4"


def test_singular_reports_the_pair_it_stopped_at():
    """The search itself: its guard will not step a pair across G4's cutoff, so it ends
    short of the zero, with the trade and the pair named."""
    result = dg.find_singular(dg.sample_methane(30, seed=0)[4], dg.Acsf())
    assert not result.converged
    assert result.near_swap["near_swap_unseen"] == "H3-H4"
    assert result.near_swap["near_swap_residual"] < 0.02
    assert result.atoms.info["near_swap_unseen"] == "H3-H4"


def _central_differences(representation, atoms, h=1e-6):
    """The Jacobian (F, 3N) of ``representation`` at ``atoms`` by central differences."""
    columns = []
    for k in range(3 * (len(atoms) - 1)):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[1 + k // 3, k % 3] += h
        minus.positions[1 + k // 3, k % 3] -= h
        difference = representation.features([plus])[0] - representation.features([minus])[0]
        columns.append(difference / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("zeta", [1.0, 1100.0, 2000.0, 1e6])
def test_g4_with_a_large_zeta_is_finite_and_differentiated_right(zeta):
    """2^(1−ζ)(1 + λ cos)^ζ underflowed and overflowed from ζ ≈ 1100: NaN features and
    Jacobian entries (and a frame blamed for them by analyse_frames)."""
    atoms = ase.Atoms(
        "CH4",
        positions=[[0, 0, 0], [1.09, 0, 0], [0.6, 0.9, 0], [-0.5, -0.5, 0.8], [-0.4, -0.3, -0.9]],
    )
    acsf = dg.Acsf(parameter_set="custom", g2=[[1.0, 1.0]], g4=[[0.01, zeta, 1], [0.01, zeta, -1]])
    features, jacobian = acsf.jacobian([atoms])
    assert np.isfinite(features).all() and np.isfinite(jacobian).all()
    np.testing.assert_allclose(jacobian[0], _central_differences(acsf, atoms), atol=1e-8)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("angular", ["g4", "g5"])
def test_a_neighbour_far_beyond_the_cutoff_counts_for_nothing(angular):
    """At 1e160 Å its r² overflowed and r · f_c(r) gave NaN Jacobian entries; anywhere
    beyond the cutoff every term with it is 0 with its slopes."""
    acsf = dg.Acsf(angular=angular)
    far, beyond = dg.builtin_environment("td").copy(), dg.builtin_environment("td").copy()
    far.positions[1] = [1e160, 1e160, 0]
    beyond.positions[1] = [5.0, 0, 0]
    for got, expected in zip(acsf.jacobian([far]), acsf.jacobian([beyond]), strict=True):
        np.testing.assert_array_equal(got, expected)
