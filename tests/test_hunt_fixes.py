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


def test_the_cache_folder_expands_a_tilde_and_is_absolute(tmp_path, monkeypatch):
    """DEGENERACY_CACHE='~/cache' made a folder named '~' in the working folder."""
    from degeneracy.files import cache_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEGENERACY_CACHE", "~/cache")
    assert cache_dir() == tmp_path / "home" / "cache"
    assert not (tmp_path / "~").exists()
    monkeypatch.setenv("DEGENERACY_CACHE", "relative")
    assert cache_dir() == tmp_path / "relative" and cache_dir().is_absolute()
