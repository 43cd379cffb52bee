"""Lifted forced zeros at round-off: ``near-symmetry``, not ``spurious``.

Near the O_h sites of small rattled cells, whose neighbours move as images of a few atoms,
the forced zeros are lifted so slowly (t^4.4–t^7.6 measured) that some are still at
round-off a few mÅ away. ``near_symmetry`` returned None for any frame with a value at
round-off (the path test s(t) ≤ 1.25 t s(1) means nothing there), so such frames were
``spurious``. Now a value at round-off passes the path test only if it stays at round-off
on the way to the symmetric frame, and the smallest value must grow beyond the frame as a
forced zero lifted from round-off does (two probes,
:data:`~degeneracy.sensitivity.near_symmetric.ROUNDOFF_LIFT_PROBE` = 0.05 Å and twice as
far): exact zeros of the fingerprint are lifted on the way (a zero at the frame alone, as
A0's), stay at round-off beyond it (a zero set that contains the path) or are lifted
there other than as a power law from round-off (a pair coming within the cutoff).
"""

from __future__ import annotations

import ase
import numpy as np
import pytest
from ase.build import bulk
from test_sensitivity import _fold_near_cs

import degeneracy as dg
from degeneracy.sensitivity import ZERO_RTOL, at_roundoff, near_symmetric, symmetrized


def test_a_rattled_bcc_site_with_zeros_at_roundoff_is_near_symmetry():
    """Site 0 of the 2-atom bcc Fe cell rattled by 0.01 Å (seed 0; 26 neighbours at
    4.5 Å): 48 values below 1e-6 s1, 3 of them at round-off (s_min 8e-16 s1), O_h's
    forced zeros 13.8 mÅ from its frame (72). They stay at round-off at t = 1/2 and 1/4
    and grow as t^7.6 beyond the frame, from 13 t ε_r at t = 3.6; the verdict was
    ``spurious``."""
    cell = bulk("Fe", "bcc", a=2.87, cubic=True)
    cell.rattle(stdev=0.01, seed=0)
    atoms = dg.structure_environments(cell, cutoff=4.5)[0]
    soap = dg.SoapPowerSpectrum(center="Fe", neighbors=["Fe"], cutoff=4.5)
    (result,) = dg.analyse_frames([atoms], soap)
    values = result.singular_values
    assert int((values < ZERO_RTOL * values[0]).sum()) == 48
    assert int(at_roundoff(values).sum()) == 3 and not result.symmetric
    assert result.verdict == "near-symmetry"
    assert result.near_symmetry_distance == pytest.approx(0.0138, abs=2e-4)

    near = dg.near_symmetry(atoms, values, soap)
    assert near is not None and near.n_forced == 72
    assert near.ratios[0] < 0.5 and near.ratios[1] < 0.25  # faster than linear


@pytest.mark.parametrize("delta", [0.01, 0.1])
@pytest.mark.parametrize(
    "representation", [dg.SoapPowerSpectrum(), dg.Acsf()], ids=["soap", "acsf"]
)
def test_a_fold_with_an_exact_zero_beside_a_mirror_stays_spurious(delta, representation):
    """The fold itself, ``delta`` from its Cs shape (mirror 2.7–27 mÅ away): its zero is at
    round-off all along the straight path, so it passes the path test, and beyond the
    frame (measured out to t = 10): at most 0.06 t times the round-off floor at the
    probes, where the mirror's forced zeros are lifted: ``spurious``."""
    neighbors = _fold_near_cs(delta, 0.0)
    atoms = dg.environment_from_neighbors(neighbors)
    (result,) = dg.analyse_frames([atoms], representation)
    values = result.singular_values
    assert at_roundoff(values)[-1] and not result.symmetric
    assert result.verdict == "spurious" and result.near_symmetry_distance is None

    symmetric, _ = symmetrized(neighbors, dg.point_symmetry(neighbors, tol=0.1).operations)
    small = values < ZERO_RTOL * values[0]
    ratios = near_symmetric._path_ratios(atoms, symmetric, values, small, representation)
    assert near_symmetric._vanish_on_the_path(ratios)  # at round-off on the way, too
    distance = float(np.sqrt(np.mean(np.sum((neighbors - symmetric) ** 2, axis=1))))
    assert not near_symmetric._lifted_far_out(atoms, symmetric, values, distance, representation)


def test_a_blind_zero_lifted_where_a_pair_comes_within_the_cutoff_stays_spurious():
    """Frame 1632 of ``sample_methane(3000, seed=7)``: G4 (ACSF tight) does not see the
    pairs H1-H2 and H1-H4, 2.58 and 2.51 Å apart, beyond its 2.5 Å cutoff, an exact zero
    on the set of such frames, 74 mÅ from a mirror shape. The zero stays at round-off on
    the way to it, is lifted at t_a = 2 (H1-H4 within the cutoff) and back near
    round-off at t_b = 4: no power law from round-off at the frame, ``spurious`` (a
    single probe at t_a made it ``near-symmetry``)."""
    atoms = dg.sample_methane(3000, seed=7)[1632]
    acsf = dg.Acsf()
    (result,) = dg.analyse_frames([atoms], acsf)
    values = result.singular_values
    assert int(at_roundoff(values).sum()) == 1 and not result.symmetric
    assert result.verdict == "spurious"
    assert result.unseen_pairs == "H1-H2, H1-H4"

    neighbors = dg.neighbor_positions([atoms])[0]
    symmetric, _ = symmetrized(neighbors, dg.point_symmetry(neighbors, tol=0.2).operations)
    small = values < ZERO_RTOL * values[0]
    ratios = near_symmetric._path_ratios(atoms, symmetric, values, small, acsf)
    assert near_symmetric._vanish_on_the_path(ratios)
    floor = dg.sensitivity.roundoff_floor(values[0], len(values))
    s_a, s_b = near_symmetric._spectra_at(
        atoms, [symmetric + t * (neighbors - symmetric) for t in (2.0, 4.0)], acsf
    )[:, -1]
    assert s_a > 1e8 * floor and s_b < s_a * 1e-6  # lifted, then back down


def test_a_zero_at_the_frame_alone_is_lifted_on_the_way():
    """A0 (the Comment's branch point, 58 mÅ from a mirror shape): its zero at round-off
    is lifted to 2e-5 s1 (SOAP) on the way, the path test fails: ``spurious``."""
    a0 = dg.comment_a0(quick=True)
    soap = dg.SoapPowerSpectrum()
    (result,) = dg.analyse_frames([a0], soap)
    values = result.singular_values
    assert at_roundoff(values)[-1]
    assert result.verdict == "spurious"


def test_acsf_blind_to_every_angle_keeps_the_symmetry_verdict_when_rounded():
    """ACSF whose G4 sees no neighbour pair (F–F 2.76 Å, cutoff 2.5 Å) sees the four
    distances only. An exactly D4h XeF4 was `symmetry`; written with 8 decimals it was
    `spurious` (one zero), its five zeros beside the distances counted only through the
    feature count (57)."""
    from scipy.spatial.transform import Rotation

    from degeneracy.sensitivity.near_symmetric import motions_seen_here

    turn = Rotation.from_euler("xyz", [0.3, 0.7, 1.1]).as_matrix()
    square = np.array([[1.95 * np.cos(t), 1.95 * np.sin(t), 0.0] for t in np.pi / 2 * np.arange(4)])
    acsf = dg.Acsf(center="Xe", neighbors=["F"])
    for neighbors in (square @ turn.T, np.round(square @ turn.T, 8)):
        atoms = ase.Atoms("XeF4", positions=np.vstack([np.zeros(3), neighbors]))
        with pytest.warns(dg.DegeneracyWarning, match="sees no bond angles here"):
            (analysis,) = dg.analyse_frames([atoms], acsf)
        assert analysis.verdict == "symmetry" and analysis.n_symmetry_zeros == 8
        assert motions_seen_here(acsf, neighbors, 57) == 4
    # G5 has no pair cutoff: it sees the angles, and no bound applies
    assert motions_seen_here(dg.Acsf(angular="g5"), square, 57) == 57


def test_acsf_blind_to_some_angles_keeps_the_symmetry_verdict_near_the_symmetry():
    """D3h PF5 under ACSF (cutoff 2.5 Å): G4 sees the six axial–equatorial pairs (2.20 Å)
    but not the equatorial (2.65 Å) or axial (3.16 Å) ones, so the angle between the
    axial bonds enters no feature: one zero at every frame near here. Displaced by 1e-9
    Å, or rounded to 8 decimals, the frame was `spurious` by that zero, where the exact
    frame is `symmetry`."""
    from scipy.spatial.transform import Rotation

    from degeneracy.sensitivity.near_symmetric import (
        distances_and_angles_rank,
        motions_seen_here,
    )

    turn = Rotation.from_euler("xyz", [0.3, 0.7, 1.1]).as_matrix()
    equatorial = [[1.53 * np.cos(t), 1.53 * np.sin(t), 0.0] for t in 2 * np.pi / 3 * np.arange(3)]
    pf5 = np.array([*equatorial, [0.0, 0.0, 1.58], [0.0, 0.0, -1.58]]) @ turn.T
    acsf = dg.Acsf(center="P", neighbors=["F"])
    assert motions_seen_here(acsf, pf5, 57) == 11
    noise = 1e-9 * np.random.default_rng(3).normal(size=pf5.shape)
    # written with 8 decimals it was `spurious` until the noise floor of the probe
    # (BESIDE_SYMMETRY_NOISE): rounding keeps the axial bonds exactly opposite
    for neighbors in (pf5, pf5 + noise, np.round(pf5, 8)):
        atoms = ase.Atoms("PF5", positions=np.vstack([np.zeros(3), neighbors]))
        (analysis,) = dg.analyse_frames([atoms], acsf)
        assert analysis.verdict == "symmetry" and analysis.n_symmetry_zeros == 10

    four = np.vstack([np.eye(3), -np.ones((1, 3)) / np.sqrt(3)]) * 1.1
    assert distances_and_angles_rank(four, np.ones(6, dtype=bool)) == 9
    assert distances_and_angles_rank(four, np.zeros(6, dtype=bool)) == 4
    assert distances_and_angles_rank(four, np.eye(6, dtype=bool)[0]) == 5


def test_equivalent_sites_of_a_built_slab_share_their_verdict():
    """The four bulk-like middle-layer sites of ase's fcc(111) Cu slab, written with 8
    decimals (O_h to ~1e-10 Å): at n = l = 8 three were `symmetry` and one `spurious`
    with 4 zeros, at n = l = 4 all four `spurious`, because the probe 1e-3 Å along the
    rounding's pattern held some zeros at round-off (helper-143). Within
    BESIDE_SYMMETRY_NOISE the symmetry is taken as exact."""
    from ase.build import fcc111

    slab = fcc111("Cu", size=(2, 2, 3), vacuum=5.0)
    slab.positions = np.round(slab.positions, 8)  # as an extxyz file holds them
    environments = [dg.environments_of(slab, [atom], cutoff=3.0)[0] for atom in (4, 5, 6, 7)]
    soap = dg.SoapPowerSpectrum(cutoff=3.0, center="Cu", neighbors=["Cu"], n_max=4, l_max=4)
    verdicts = [a.verdict for a in dg.analyse_frames(environments, soap)]
    assert verdicts == ["symmetry"] * 4
