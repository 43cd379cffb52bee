"""The orbit start's tie test: the gap against s_1 and round-off (orbits.direction_tie_width).

A tie is a gap s_{n-1} - s_n at which round-off, (3N - 3) ε s_1, may turn the direction
u = O w_n by more than DIRECTION_ANGLE_TOL (Wedin: sin θ ≤ ‖E‖ / gap). These tests check
that the rule fires where the direction really is not determined (it differs between two
starts 1e-9 Å apart) and not on ordinary frames, also at σ = 2.4 Å, where the gaps against
s_1 come down to 1e-8 (the old threshold).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import degeneracy as dg
from degeneracy import orbits


def _spectra(representation, frames):
    """Purified singular values and the start directions u (Cartesian motion of s_min)."""
    _, jacobian = representation.jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    return spectrum.values, spectrum.motions[:, -1]


def _moved(atoms, distance, seed):
    """``atoms`` with its neighbours moved ``distance`` Å (all 12 coordinates) at random."""
    step = np.random.default_rng(seed).normal(size=(len(atoms) - 1, 3))
    moved = atoms.copy()
    moved.positions[1:] += distance * step / np.linalg.norm(step)
    return moved


def _angles(u, v):
    """Angles (rad) between the rows of ``u`` and ``v``, sign ignored."""
    return np.arccos(np.clip(np.abs(np.einsum("ij,ij->i", u, v)), 0.0, 1.0))


def test_the_tie_width_is_round_off_over_the_angle_tolerance():
    values = np.array([2.0, 1.0, 0.5, 1e-3])
    expected = 4 * np.finfo(float).eps * 2.0 / orbits.DIRECTION_ANGLE_TOL
    assert orbits.direction_tie_width(values) == pytest.approx(expected)
    assert orbits.tied_with_smallest(values) == 0
    tied = np.array([2.0, 1.0, 1e-3 + 0.5 * expected, 1e-3])
    assert orbits.tied_with_smallest(tied) == 1
    assert orbits.tied_with_smallest(np.array([0.0, 0.0, 0.0])) == 0  # blind: no s_1 scale
    assert orbits.tied_with_smallest(np.array([1.0])) == 0


def test_a_gap_of_1e_8_s1_is_no_tie_but_one_at_round_off_is():
    """1e-8 s_1 was the old threshold: random CH4 at σ = 2.4 Å come within 30 % of it,
    where round-off turns the direction by 2e-7 rad at most."""
    values = np.array([1.0, 0.1, 1e-3, 1.3e-8 + 1e-9, 1e-9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orbits.warn_if_direction_not_unique(values)
    values[-2] = values[-1] + 1e-14
    with pytest.warns(dg.DegeneracyWarning, match=r"tied with 1 others \(gap 1\.0e-14 of s_1"):
        orbits.warn_if_direction_not_unique(values, name="here")


def test_tied_where_the_direction_is_not_determined():
    """T_d and 1e-7 Å from it: the direction differs by O(1) between two starts 1e-9 Å
    apart, and the rule calls the values tied."""
    soap = dg.SoapPowerSpectrum(sigma=0.3)
    td = dg.builtin_environment("td")
    starts = [td, _moved(td, 1e-7, seed=1), _moved(td, 1e-7, seed=2)]
    values, u = _spectra(soap, starts)
    _, u_near = _spectra(soap, [_moved(atoms, 1e-9, seed=3) for atoms in starts])
    assert orbits.tied_with_smallest(values[0]) == 7  # the 8 symmetry zeros of T_d
    assert all(orbits.tied_with_smallest(v) >= 1 for v in values)
    assert _angles(u, u_near).max() > 0.1


@pytest.mark.parametrize("sigma", [0.3, 2.4])
def test_ordinary_frames_are_not_tied_and_their_direction_is_determined(sigma):
    """Random CH4: no tie at σ = 0.3 or 2.4 Å (gaps ≥ 1e-8 s_1 there), and the direction
    moves by under DIRECTION_ANGLE_TOL between starts 1e-9 Å apart."""
    soap = dg.SoapPowerSpectrum(sigma=sigma)
    frames = dg.sample_methane(40, seed=0)
    values, u = _spectra(soap, frames)
    _, u_near = _spectra(soap, [_moved(atoms, 1e-9, seed=k) for k, atoms in enumerate(frames)])
    assert not any(orbits.tied_with_smallest(v) for v in values)
    assert _angles(u, u_near).max() < orbits.DIRECTION_ANGLE_TOL
    gaps = (values[:, -2] - values[:, -1]) / values[:, 0]
    assert gaps.min() > 100 * orbits.direction_tie_width(values[0]) / values[0, 0]


def test_smallest_gap_reads_a_tie_as_zero_not_as_a_ratio_of_round_off():
    """At T_d (s_8, s_9 ~ 1e-16 s_1) (s_8 - s_9)/s_9 is 0.34; the start's rule calls them
    tied, and so does the path's."""
    soap = dg.SoapPowerSpectrum(sigma=0.3)
    frames = [dg.builtin_environment("pg-start"), dg.builtin_environment("td")]
    values, _ = _spectra(soap, frames)
    for atoms, v, arc in zip(frames, values, (0.0, 0.01), strict=True):
        atoms.info.update(singular_values=v, arc_length=arc)
    assert orbits.smallest_gap(frames[:1])[0] > 1  # pg-start: s_8 / s_9 ≈ 80
    assert orbits.smallest_gap(frames) == (0.0, 0.01)
    alone = frames[0].copy()
    alone.info.update(singular_values=np.array([3.0, 1.0, 0.0]), arc_length=0.0)
    assert orbits.smallest_gap([alone])[0] == np.inf  # s_min = 0 alone: no crossing
