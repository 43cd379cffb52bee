"""Verdicts at the edges a science audit found (helper-111, 2026-12-06)."""

from __future__ import annotations

import numpy as np
import pytest

import degeneracy as dg
from degeneracy.sensitivity import seen_dimension


def _radial_acsf() -> dg.Acsf:
    """An ACSF of G2 functions only: it sees the neighbours' distances and no angle."""
    return dg.Acsf(
        parameter_set="custom", g2=[(50.0, r) for r in np.arange(0.7, 1.75, 0.05)], g4=[]
    )


def test_a_radial_acsf_sees_only_the_distances():
    """It was `spurious` ('turns pairs it cannot see') with its 21 features, where SOAP
    and the bispectrum at l_max 0, equally blind to angles, are `dimension`."""
    acsf = _radial_acsf()
    frames = dg.sample_methane(3, seed=4)
    _, jacobian = acsf.jacobian(frames)
    assert jacobian.shape[1] > 9
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    assert np.all((spectrum.values / spectrum.values[:, :1] < 1e-12).sum(axis=1) == 5)
    assert seen_dimension(acsf, jacobian.shape[1], 4) == 4
    assert seen_dimension(dg.Acsf(), 57, 4) == 57
    assert [a.verdict for a in dg.analyse_frames(frames, acsf)] == ["dimension"] * 3


def test_a_search_with_a_radial_acsf_is_refused():
    """find_singular 'succeeded' at its start frame (0 iterations, CN inf)."""
    with pytest.raises(dg.DegeneracyError, match="without angular channels, only the 4"):
        dg.find_singular(dg.sample_methane(1, seed=4)[0], _radial_acsf(), max_iterations=5)
