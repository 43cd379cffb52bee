"""Distinct styles for figures that draw one line or marker set per entry.

matplotlib's default colour cycle has 10 colours (``C0`` … ``C9``, the ``tab10``
palette): an 11th entry drawn as ``C10`` is ``C0`` again, the same as the first.
:func:`entry_style` keeps the 10 colours and changes the line style, then the marker, each
time they come round, so that entries stay apart up to :data:`DISTINCT_ENTRIES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checks import bounded_int

#: The colour cycle: matplotlib's default (``C0`` … ``C9``).
COLOURS = tuple(f"C{k}" for k in range(10))

#: Line styles, the next one each time the colours come round.
LINE_STYLES = ("-", "--", ":", "-.")

#: Frame markers, the next one each time colours and line styles have all come round.
MARKERS = ("o", "s", "^", "D", "v")

#: Entries told apart by colour, line style or marker:
#: ``len(COLOURS) * len(LINE_STYLES) * len(MARKERS)``; beyond it the styles repeat.
DISTINCT_ENTRIES = len(COLOURS) * len(LINE_STYLES) * len(MARKERS)


@dataclass(frozen=True)
class EntryStyle:
    """How one entry is drawn: a colour, a line style and a frame marker."""

    color: str
    linestyle: str
    marker: str

    def line(self, *, markers: bool) -> dict[str, Any]:
        """Keyword arguments of ``Axes.plot`` for the entry's line, with its frame marker
        or without (``marker=""`` for a dense line)."""
        return {
            "color": self.color,
            "linestyle": self.linestyle,
            "marker": self.marker if markers else "",
        }


def entry_style(k: int) -> EntryStyle:
    r"""The style of entry ``k`` (0, 1, …) of a figure.

    With :math:`C`, :math:`L`, :math:`M` the numbers of colours, line styles and markers,

    .. math:: \text{colour} = k \bmod C, \quad
              \text{line style} = \lfloor k / C \rfloor \bmod L, \quad
              \text{marker} = \lfloor k / (C L) \rfloor \bmod M,

    so entries 0–9 are the default cycle's solid lines with circles (as matplotlib draws
    them), 10–19 the same colours dashed, and no two of the first
    :data:`DISTINCT_ENTRIES` (200) look alike.

    Parameters
    ----------
    k : int
        The entry's index, ≥ 0.

    Returns
    -------
    EntryStyle

    Raises
    ------
    DegeneracyError
        When ``k`` is not an integer ≥ 0.
    """
    k = bounded_int("entry", k, minimum=0)
    n_colours, n_lines = len(COLOURS), len(LINE_STYLES)
    return EntryStyle(
        color=COLOURS[k % n_colours],
        linestyle=LINE_STYLES[(k // n_colours) % n_lines],
        marker=MARKERS[(k // (n_colours * n_lines)) % len(MARKERS)],
    )
