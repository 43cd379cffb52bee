"""Figure styles (figures.styles) and the comparison figure's zero and kink marks."""

from __future__ import annotations

import numpy as np
import pytest

import degeneracy as dg
from degeneracy.compare import Comparison
from degeneracy.figures.compare import MARKED_FRAMES, ZERO_MARK, comparison_figure
from degeneracy.figures.styles import DISTINCT_ENTRIES, entry_style
from degeneracy.sensitivity import capped_cn


def _key(style):
    return style.color, style.linestyle, style.marker


def test_the_first_ten_entries_are_matplotlibs_default_cycle():
    for k in range(10):
        assert _key(entry_style(k)) == (f"C{k}", "-", "o")


def test_entries_stay_distinct_beyond_the_ten_colours():
    """The 11th entry was C10, i.e. C0 again: drawn exactly as the first."""
    keys = [_key(entry_style(k)) for k in range(DISTINCT_ENTRIES)]
    assert len(set(keys)) == DISTINCT_ENTRIES == 200
    assert entry_style(10).color == entry_style(0).color
    assert entry_style(10).linestyle != entry_style(0).linestyle
    assert entry_style(40).marker != entry_style(0).marker
    assert _key(entry_style(DISTINCT_ENTRIES)) == _key(entry_style(0))  # then they repeat
    assert entry_style(3).line(markers=False)["marker"] == ""


@pytest.mark.parametrize("k", [-1, 1.5, True, "2"])
def test_a_bad_entry_index_is_refused(k):
    with pytest.raises(dg.DegeneracyError, match="entry must be"):
        entry_style(k)


def _comparison(n_names: int) -> Comparison:
    """Three frames per fingerprint: regular (CN 10), zero by the table's rule with a
    finite CN (s_min = 1e-8 s_1) and zero at round-off (s_min = 1e-17 s_1, CN inf)."""
    spectra = []
    for s_min in (0.1, 1e-8, 1e-17):
        spectra.append(np.linspace(1.0, 0.5, 9))
        spectra[-1][-1] = s_min
    values = np.repeat(np.array(spectra)[:, None, :], n_names, axis=1)
    return Comparison(
        names=[f"fp{k}" for k in range(n_names)],
        singular_values=values,
        feature_norms=np.ones((3, n_names)),
    )


def _line_key(line):
    return line.get_color(), line.get_linestyle(), line.get_marker()


def test_the_figure_rings_the_frames_the_table_calls_zero():
    """Only an infinite CN was counted as "s_min ≈ 0" and left out: a frame of verdict
    zero with CN 1e8 was drawn as any other."""
    comparison = _comparison(1)
    assert list(comparison.verdicts[:, 0]) == ["regular", "zero", "zero"]
    figure = comparison_figure(comparison)
    cn_panel, relative_panel = figure.axes
    labels = [text.get_text() for text in cn_panel.get_legend().get_texts()]
    assert "fp0 (2 zero ○, 1 at round-off)" in labels
    rings = [line for line in cn_panel.get_lines() if line.get_markersize() == ZERO_MARK["ms"]]
    assert len(rings) == 1
    np.testing.assert_array_equal(rings[0].get_xdata(), [1, 2])
    cap = float(capped_cn(np.inf, 9))
    np.testing.assert_allclose(rings[0].get_ydata(), [1e8, cap])
    # s_min / |x|: the zero of finite CN ringed, the one at round-off (noise) left out
    rings = [l for l in relative_panel.get_lines() if l.get_markersize() == ZERO_MARK["ms"]]
    assert len(rings) == 1 and list(rings[0].get_xdata()) == [1]


def test_the_figure_draws_twelve_fingerprints_in_twelve_styles():
    figure = comparison_figure(_comparison(12))
    cn_panel = figure.axes[0]
    lines = [line for line in cn_panel.get_lines() if line.get_label().startswith("fp")]
    assert len(lines) == 12
    assert len({_line_key(line) for line in lines}) == 12
    assert _line_key(lines[10])[0] == _line_key(lines[0])[0]  # same colour, other line style


def test_a_long_comparison_draws_plain_lines():
    comparison = _comparison(1)
    many = Comparison(
        names=comparison.names,
        singular_values=np.repeat(comparison.singular_values[:1], MARKED_FRAMES + 1, axis=0),
        feature_norms=np.ones((MARKED_FRAMES + 1, 1)),
    )
    line = comparison_figure(many).axes[0].get_lines()[0]
    assert line.get_marker() in ("", "None")
