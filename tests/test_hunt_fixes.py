"""Fixes from a black-box hunt beyond CH4 (helper-110, 2026-12-06)."""

from __future__ import annotations

import numpy as np

import degeneracy as dg
from degeneracy.figures.compare import comparison_figure


def _tick_values(figure) -> list[np.ndarray]:
    figure.canvas.draw()  # the locator places the ticks when drawn
    return [np.asarray(ax.get_xticks()) for ax in figure.axes]


def test_a_comparison_over_three_frames_has_whole_frame_numbers():
    """Three frames used to get ticks at 0.5 and 1.5 on the 'frame' axis; an x given as
    numbers (arc lengths) keeps matplotlib's own ticks."""
    frames = dg.sample_methane(3, seed=6)
    comparison = dg.compare_fingerprints(frames, {"acsf": dg.Acsf()})
    for ticks in _tick_values(comparison_figure(comparison)):
        assert len(ticks) and np.all(ticks == np.round(ticks))
    arc = np.array([0.0, 0.1, 0.2])
    ticks = _tick_values(comparison_figure(comparison, x=arc, xlabel="arc length (Å)"))
    assert any(np.any(t != np.round(t)) for t in ticks)
