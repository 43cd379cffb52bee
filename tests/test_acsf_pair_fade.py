"""ACSF's G4 pair factor f_c(r_jk) and the weighed-out (faint-neighbour) explanation.

G4 weights each neighbour pair by f_c(r_j) f_c(r_k) f_c(r_jk): besides a neighbour near
the cutoff, a pair nearly a cutoff apart is faint, and a pair a cutoff or more apart is
not seen at all. With H4 of CH4 at 2.49 Å, H2-H4 and H3-H4 (2.7–3.5 Å apart) then add an
exact zero (H4 turning about C–H1) to the two that H4's vanishing weight causes; judged
by that exact zero's bound, H4's weight (3.9e-5) explained none of the others (1 of 3).
Each zero is now held to its own bound (``weighed_out._graded_count``). Benzene's H
environment had its one free zero (7.4e-7 s1, the ortho H 18 mÅ inside the cutoff)
judged by a mirror's forced zero at round-off: a bare ``spurious``.
"""

import ase
import numpy as np
import pytest
from test_partial_zero_labels import PARTLY_EXPLAINED, UNEXPLAINED  # frames 1308, 296

import degeneracy as dg
from degeneracy import sensitivity
from degeneracy.sensitivity.weighed_out import WeighedOutPair, _graded_count, _span_bounds

H4_FADED = (
    "H1-H4, H2-H4, H3-H4 (H4 at 2.49 Å, 0.01 Å inside the cutoff, where its weight 3.9e-05 "
    "nearly vanishes)"
)

#: Benzene seen from an H (centre first): the ortho Hs at 2.48236 Å, 18 mÅ inside the
#: 2.5 Å cutoff; the mirror x -> -x and the molecular plane force 7 zeros.
BENZENE_H = ase.Atoms(
    "H3C3",
    positions=[
        [0.0, 0.0, 0.0],
        [2.149787, -1.24118, 0.0],
        [-2.149787, -1.24118, 0.0],
        [0.0, -1.087112, 0.0],
        [1.20832, -1.784736, 0.0],
        [-1.20832, -1.784736, 0.0],
    ],
)


def _ch4_h4_at(radius: float) -> ase.Atoms:
    """The built-in ``pg-start`` CH4 (C–H 1.09 Å) with H4 moved out to ``radius`` Å."""
    neighbors = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    neighbors[3] *= radius / np.linalg.norm(neighbors[3])
    return ase.Atoms("CH4", positions=np.vstack([np.zeros(3), neighbors]))


def _ch3_pair_apart(distance: float) -> ase.Atoms:
    """A CH3 whose H1 (1.30 Å) and H2 (1.35 Å) are ``distance`` Å apart, H3 at 1.10 Å."""
    r1, r2, r3 = 1.30, 1.35, 1.10
    angle = np.arccos((r1**2 + r2**2 - distance**2) / (2 * r1 * r2))
    third = np.array([0.3 * np.cos(1.2), -np.sin(1.2), 0.4])
    positions = [
        [0.0, 0.0, 0.0],
        [r1, 0.0, 0.0],
        [r2 * np.cos(angle), r2 * np.sin(angle), 0.0],
        r3 * third / np.linalg.norm(third),
    ]
    return ase.Atoms("CH3", positions=positions)


def _analysis(atoms: ase.Atoms, representation) -> sensitivity.FrameAnalysis:
    [result] = dg.analyse_frames([atoms], representation)
    return result


def _counts(result: sensitivity.FrameAnalysis) -> tuple:
    return result.verdict, result.n_explained_zeros, result.n_spurious_zeros


def test_g4_with_a_neighbour_near_the_cutoff_explains_every_zero():
    result = _analysis(_ch4_h4_at(2.49), dg.Acsf())
    values = result.singular_values / result.singular_values[0]
    assert 1e-7 < values[-3] < 1e-6 and 1e-9 < values[-2] < 1e-8 and values[-1] < 1e-15
    assert _counts(result) == ("spurious", 3, 3)  # was 1 of 3
    assert result.unseen_pairs == H4_FADED
    assert sensitivity.explained_verdict(
        result.verdict,
        result.pair_swap,
        result.unseen_pairs,
        n_explained=result.n_explained_zeros,
        n_spurious=result.n_spurious_zeros,
    ) == ("spurious: turns pairs it cannot see " + H4_FADED)


def test_the_exact_zero_is_the_pairs_beyond_the_cutoff():
    """Alone, the exact zero is explained at the round-off bound by H2-H4 and H3-H4, whose
    f_c(r_jk) is 0, not by H4's weight; G4 without f_c(r_jk) (G5) has no such zero."""
    atoms = _ch4_h4_at(2.49)
    acsf = dg.Acsf()
    _, jacobian = acsf.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(atoms)[None])
    values, motions = spectrum.values[0], spectrum.motions[0]
    exact = sensitivity.explain_zero(atoms, motions[-1], acsf, values=values)
    assert exact is not None and exact.unseen == [(1, 3), (2, 3)] and exact.weighed_out == ()
    distances = [np.linalg.norm(atoms.positions[i] - atoms.positions[4]) for i in (2, 3)]
    assert min(distances) > acsf.cutoff
    g5 = _analysis(atoms, dg.Acsf(angular="g5"))
    assert g5.singular_values[-1] / g5.singular_values[0] > 1e-8


def test_g5_keeps_its_explanation():
    result = _analysis(_ch4_h4_at(2.49), dg.Acsf(angular="g5"))
    assert _counts(result) == ("spurious", 1, 1)
    assert result.unseen_pairs == H4_FADED


def test_benzene_h_environment_is_explained_by_its_ortho_hydrogens():
    acsf = dg.Acsf(center="H", neighbors=["H", "C"])
    result = _analysis(BENZENE_H, acsf)
    values = result.singular_values / result.singular_values[0]
    assert 5e-7 < values[4] < 1e-6 and values[5] < 1e-15  # one free zero, 7 forced
    assert result.symmetric and result.n_symmetry_zeros == 7
    assert _counts(result) == ("spurious", 1, 1)  # was 0 of 1, a bare "spurious"
    faded = "0.018 Å inside the cutoff, where its weight 1.2e-04 nearly vanishes"
    assert result.unseen_pairs == (
        "H1-H2, H1-C3, H1-C4, H1-C5, H2-C3, H2-C4, H2-C5 "
        f"(H1 at 2.48236 Å, {faded}; H2 at 2.48236 Å, {faded})"
    )
    g5 = _analysis(BENZENE_H, dg.Acsf(center="H", neighbors=["H", "C"], angular="g5"))
    assert g5.verdict == "symmetry"  # no f_c(r_jk): the zero is 1.4e-5 s1, no zero


def test_a_pair_nearly_a_cutoff_apart_is_named_by_its_distance():
    """Two neighbours well inside the cutoff but 0.1 mÅ short of it apart: G4 sees the
    motion that only turns them through f_c(r_12) alone. A pair beyond the cutoff (its
    weight 0) stays in the pair list only, as before; G5 sees both."""
    acsf = dg.Acsf()
    near = _analysis(_ch3_pair_apart(2.4999), acsf)
    assert _counts(near) == ("spurious", 1, 1)
    assert near.unseen_pairs == (
        "H1-H2 (H1-H2 2.4999 Å apart, 0.0001 Å inside the cutoff, where their pair "
        "weight 3.9e-09 nearly vanishes)"
    )
    beyond = _analysis(_ch3_pair_apart(2.5001), acsf)
    assert _counts(beyond) == ("spurious", 1, 1) and beyond.unseen_pairs == "H1-H2"
    for distance in (2.4999, 2.5001):
        assert _analysis(_ch3_pair_apart(distance), dg.Acsf(angular="g5")).verdict == "regular"


def test_genuine_acsf_zeros_stay_unexplained():
    loose = dg.Acsf(parameter_set="loose")
    alone = _analysis(ase.Atoms("CH4", positions=UNEXPLAINED), loose)
    assert _counts(alone) == ("spurious", 0, 1) and alone.unseen_pairs is None
    beside = _analysis(ase.Atoms("CH4", positions=PARTLY_EXPLAINED), loose)
    assert _counts(beside) == ("spurious", 1, 2) and beside.unseen_pairs == "H1-H3, H2-H3"


def test_pair_cutoff_weights_hook():
    neighbors = dg.neighbor_positions(_ch3_pair_apart(2.4))
    weights = dg.Acsf().pair_cutoff_weights(neighbors)
    distances = np.linalg.norm(neighbors[[0, 0, 1]] - neighbors[[1, 2, 2]], axis=1)
    expected = 0.5 * (np.cos(np.pi * distances / 2.5) + 1.0)
    assert weights == pytest.approx(expected)
    assert dg.Acsf(angular="g5").pair_cutoff_weights(neighbors) is None
    radial = dg.Acsf(parameter_set="custom", g2=[(1.0, 1.0)], g4=[])
    assert radial.pair_cutoff_weights(neighbors) is None
    assert np.array_equal(radial.angle_pair_weights(neighbors), np.zeros(3))
    label = WeighedOutPair((3, 4), 2.44875, 1.04e-3, 2.5).label(["H", "H", "C", "C", "C"])
    assert label == (
        "C4-C5 2.44875 Å apart, 0.051 Å inside the cutoff, where their pair weight 1.0e-03 "
        "nearly vanishes"
    )


def test_each_zero_is_held_to_its_own_bound():
    """c = min(m_1, min_j (m_j + j - 1)): the j smallest zeros use the pairs of b_j."""
    values = np.array([1.0, 1e-2, 7.7e-7, 4.1e-9, 3.8e-17])
    bounds = _span_bounds(values, 3, None)
    assert bounds == pytest.approx([np.sqrt(7.7e-7), np.sqrt(4.1e-9), np.sqrt(5 * 2**-52)])
    assert _span_bounds(values, 3, 1) == pytest.approx([np.sqrt(7.7e-7)])
    explained = {("a",): 3, ("b",): 1, (): 0}
    assert _graded_count(3, [["a"], ["b"]], lambda pairs: explained[tuple(pairs)]) == 3
    assert _graded_count(3, [["a"], []], lambda pairs: explained[tuple(pairs)]) == 2
    assert _graded_count(3, [[], []], lambda pairs: explained[tuple(pairs)]) == 1
