"""The reach of ``near_symmetry``: how far from a symmetric environment it looks.

Zeros forced by O_h at the sites of small rattled cells, whose neighbours move as images
of a few atoms, are lifted as d³–d⁴ and stay below 1e-6 s1 out to d = 0.075 Å, where the
O_h operations hold only to 0.05–0.09 Å: beyond the 0.05 Å reach of the operations until
2026-12-06, so such frames got ``spurious``. The reach is 0.15 Å now (a search radius; the
path test and the exact-zero guard decide), and a fold of ν = 2 degenerate pairs as far
from its mirror still stays ``spurious``.
"""

from __future__ import annotations

import pytest
from ase.build import bulk
from test_sensitivity import _fold_near_cs

import degeneracy as dg
from degeneracy.sensitivity import ZERO_RTOL, near_symmetric

OLD_REACH = 0.05  # the reach until 2026-12-06


def _rattled_site(
    symbol: str, lattice: str, a: float, cutoff: float, stdev: float, seed: int, site: int
):
    """Site ``site`` of the cubic cell of ``lattice`` rattled by ase (``stdev``, ``seed``),
    and SOAP at ``cutoff``."""
    cell = bulk(symbol, lattice, a=a, cubic=True)
    cell.rattle(stdev=stdev, seed=seed)
    atoms = dg.structure_environments(cell, cutoff=cutoff)[site]
    return atoms, dg.SoapPowerSpectrum(center=symbol, neighbors=[symbol], cutoff=cutoff)


def test_a_rattled_bcc_site_is_near_symmetry_beyond_the_old_reach(monkeypatch):
    """Site 0 of the 2-atom bcc Fe cell rattled by 0.04 Å (14 neighbours at 3.5 Å): 12
    zeros below 1e-6 s1, the forced zeros of the O_h frame 0.075 Å away (37), which the
    five closest operations generate (residuals 0.021–0.056 Å; the others hold to up to
    0.15 Å). With the old reach only the subgroups of the first four were tried, 10 and
    18 mÅ away (path ratios 0.78 and 1.19 at t = 1/2), and the verdict was ``spurious``."""
    atoms, soap = _rattled_site("Fe", "bcc", 2.87, 3.5, 0.04, 0, 0)
    (result,) = dg.analyse_frames([atoms], soap)
    values = result.singular_values
    assert not result.symmetric and int((values < ZERO_RTOL * values[0]).sum()) == 12
    assert result.verdict == "near-symmetry"
    assert result.near_symmetry_distance == pytest.approx(0.0753, abs=1e-3)
    residuals = sorted(
        op.residual
        for op in dg.point_symmetry(dg.neighbor_positions([atoms])[0], tol=0.2).operations
    )
    assert len(residuals) == 47 and residuals[3] < OLD_REACH < residuals[4] < 0.06

    near = dg.near_symmetry(atoms, values, soap)
    assert near is not None and near.n_forced == 37
    assert near.ratios[0] < 0.5 * 0.5 and near.ratios[1] < 0.25 * 0.5  # faster than linear
    assert dg.near_symmetry(atoms, values, soap, reach=OLD_REACH) is None  # reach= still works

    monkeypatch.setattr(near_symmetric, "NEAR_SYMMETRY_REACH", OLD_REACH)
    (before,) = dg.analyse_frames([atoms], soap)
    assert before.verdict == "spurious" and before.n_spurious_zeros == 12


def test_the_fourth_site_of_a_rattled_fcc_cell_is_near_symmetry(monkeypatch):
    """The 4-atom fcc Cu cell rattled by 0.02 Å (seed 3) at a 5 Å cutoff (42 neighbours):
    sites 0, 2 and 3 were ``near-symmetry`` 25–41 mÅ from O_h, site 1, 50.1 mÅ away (its
    operations holding to up to 0.056 Å), ``spurious`` with 14 zeros, its smallest singular
    value falling as t⁴ on the path to O_h (2.5 s on an idle machine)."""
    atoms, soap = _rattled_site("Cu", "fcc", 3.61, 5.0, 0.02, 3, 1)
    assert len(atoms) == 43
    (result,) = dg.analyse_frames([atoms], soap)
    assert result.verdict == "near-symmetry"
    assert result.near_symmetry_distance == pytest.approx(0.0501, abs=1e-3)
    monkeypatch.setattr(near_symmetric, "NEAR_SYMMETRY_REACH", OLD_REACH)
    values = result.singular_values
    assert dg.near_symmetry(atoms, values, soap) is None
    assert int((values < ZERO_RTOL * values[0]).sum()) == 14


def test_inversion_image_sites_get_one_verdict():
    """The two sites of the 2-atom bcc Fe cell rattled by 0.02 Å (seed 0; 26 neighbours at
    4.5 Å) are inversion images: the same spectrum (41 values below 1e-6 s1, the smallest
    1.14× the round-off floor) and the same O_h frame 28 mÅ away. The exact-zero guard's
    singular search, whose target CN lay below round-off, "converged" from site 1 and not
    from site 0, so site 1 was ``spurious``; a target within 10× of round-off now runs no
    search (noise could reach it), and both are ``near-symmetry``."""
    cell = bulk("Fe", "bcc", a=2.87, cubic=True)
    cell.rattle(stdev=0.02, seed=0)
    soap = dg.SoapPowerSpectrum(center="Fe", neighbors=["Fe"], cutoff=4.5)
    first, second = dg.analyse_frames(dg.structure_environments(cell, cutoff=4.5), soap)
    for result in (first, second):
        values = result.singular_values
        assert int((values < ZERO_RTOL * values[0]).sum()) == 41
        floor = dg.sensitivity.roundoff_floor(values[0], len(values))
        assert floor < values[-1] < 10 * floor
    assert first.verdict == second.verdict == "near-symmetry"
    assert first.near_symmetry_distance == pytest.approx(second.near_symmetry_distance)


@pytest.mark.parametrize(
    ("delta", "distance"), [(0.1, 0.0275), (0.25, 0.0689)], ids=["0.1", "0.25"]
)
@pytest.mark.parametrize(
    "representation", [dg.SoapPowerSpectrum(), dg.Acsf()], ids=["soap", "acsf"]
)
def test_a_fold_as_far_from_its_mirror_stays_spurious(monkeypatch, delta, distance, representation):
    """A fold made ``delta`` from a Cs shape, 1e-6 Å off it: its mirror holds to
    0.055–0.138 Å, beyond the old reach, within the new one. Its zero passes the path test
    to the Cs frame (s(t) = t s(1)) as far out as the rattled cells' do, and the guard's
    exact zero 1e-6 Å away keeps it ``spurious``: without the guard it would be
    ``near-symmetry``."""
    neighbors = _fold_near_cs(delta, 1e-6)  # as benchmarks/bench_near_symmetry.py's
    atoms = dg.environment_from_neighbors(neighbors)
    mirror = dg.point_symmetry(neighbors).residual
    assert OLD_REACH < mirror < near_symmetric.NEAR_SYMMETRY_REACH
    (result,) = dg.analyse_frames([atoms], representation)
    values = result.singular_values
    assert values[-1] < ZERO_RTOL * values[0] and not result.symmetric
    assert result.verdict == "spurious" and result.near_symmetry_distance is None

    monkeypatch.setattr(near_symmetric, "_nearest_zero_found", lambda *args: None)
    (unguarded,) = dg.analyse_frames([atoms], representation)
    assert unguarded.verdict == "near-symmetry"
    assert unguarded.near_symmetry_distance == pytest.approx(distance, abs=2e-4)
