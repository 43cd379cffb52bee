"""Figures: each module plots results computed by the library, nothing more.

Modules: one per figure family (``fig1`` orbits and condition numbers, ``fig2`` learning
parity plots, ``compare`` fingerprint comparison, ``scan``, ``orbit``), and ``styles``:
the colour, line style and marker of the k-th entry of a figure that draws one per
fingerprint (:func:`~degeneracy.figures.styles.entry_style`, distinct beyond the 10
colours of matplotlib's cycle). They use matplotlib's Agg backend.
"""
