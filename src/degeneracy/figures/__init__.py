"""Figures: each module plots results computed by the library, nothing more.

Modules: one per figure family (``fig1`` orbits and condition numbers, ``fig2`` learning
parity plots, ``compare`` fingerprint comparison). They use matplotlib's Agg backend.
"""
