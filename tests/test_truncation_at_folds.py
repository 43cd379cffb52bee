"""The truncation label at folds: a blind motion of a special geometry is not truncation.

At the A± fold of CH4 with four equal C–H (two equal pairs, H2-H4 = H3-H4) SOAP's
``first_order_invariants`` G has rank 8 on the 9 motions, but 9 in random directions at
the same distance, from l_max 5 on: the blind dimension is the pair swap's, and raising
l_max does not lift the zero. The truncation label ("moves equidistant neighbours (…:
n motions seen through m sums)") is given only where the shell's generic blind dimension
(``generic_blind_dimension``: the same species and distances in random directions) is
positive, and then counts the generic sums (docs/concepts.md, "A truncated fingerprint
at equidistant neighbours").
"""

from __future__ import annotations

import ase
import numpy as np
import pytest

import degeneracy as dg
from degeneracy import sensitivity

#: The A± fold of CH4 with every C–H at 1.09 Å (H2-H4 = H3-H4), and H4 moved off it.
FOLD_CH4 = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.26436383, 0.0, 1.05745533],
        [0.20785484, 0.93534680, -0.51963711],
        [0.20785484, -0.93534680, 0.51963711],
        [-1.09, 0.0, 0.0],
    ]
)
OFF_FOLD_H4 = [-1.05159257, 0.28679797, 0.0]

#: The fold with a mixed shell: O at 1.237 Å, two H at 1.049 Å, F at 1.1 Å.
FOLD_MIXED = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.3, 0.0, 1.2],
        [0.2, 0.9, -0.5],
        [0.2, -0.9, 0.5],
        [-1.1, 0.0, 0.0],
    ]
)


def _fold(symbols: str = "CH4", scale: float = 1.0) -> ase.Atoms:
    return ase.Atoms(symbols, positions=FOLD_CH4 * scale)


def _analysis(atoms: ase.Atoms, representation) -> dg.FrameAnalysis:
    return dg.analyse_frames([atoms], representation)[0]


def _blind_dimension(representation, atoms: ase.Atoms) -> int:
    neighbors = atoms.positions[1:] - atoms.positions[0]
    gradients = representation.first_order_invariants(neighbors, atoms.numbers[1:])
    return sensitivity.blind_motions(gradients, neighbors).shape[1]


@pytest.mark.parametrize("l_max", [5, 8, 12])
def test_the_equal_ch_fold_is_a_swap_not_truncation(l_max):
    representation = dg.SoapPowerSpectrum(center="C", neighbors=["H"], l_max=l_max)
    fold = _fold()
    analysis = _analysis(fold, representation)
    assert analysis.verdict == "spurious"
    assert (analysis.n_spurious_zeros, analysis.n_explained_zeros) == (1, 1)
    assert analysis.pair_swap == "H2-H4 = H3-H4"
    assert analysis.truncation is None
    assert _blind_dimension(representation, fold) == 1  # the swap's, at the fold only
    off = fold.copy()
    off.positions[4] = OFF_FOLD_H4
    assert _blind_dimension(representation, off) == 0
    assert _analysis(off, representation).verdict == "regular"


def test_the_zero_motion_at_the_fold_is_not_named_by_truncation_zeros():
    from degeneracy.sensitivity.truncation import generic_blind_dimension

    representation = dg.SoapPowerSpectrum(center="C", neighbors=["H"])
    fold = _fold()
    neighbors, species = fold.positions[1:], fold.numbers[1:]
    _, jacobian = representation.jacobian([fold])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions([fold]))
    values, motion = spectrum.values[0], spectrum.motions[0, -1]
    assert values[-1] < 1e-12 * values[0]
    assert sensitivity.truncation_zeros(representation, neighbors, species, motion) is None
    assert generic_blind_dimension(representation, neighbors, species) == 0
    explanation = sensitivity.explain_zero(fold, motion, representation, values=values)
    assert explanation is not None and explanation.truncation is None
    assert explanation.reason(["H"] * 4) == "swaps equal pairs H2-H4 = H3-H4"


@pytest.mark.parametrize(("l_max", "sums"), [(1, 3), (2, 5), (3, 7), (4, 8)])
def test_a_truncated_fingerprint_keeps_the_label_at_the_fold_and_off_it(l_max, sums):
    representation = dg.SoapPowerSpectrum(center="C", neighbors=["H"], l_max=l_max)
    text = f"H at 1.09 Å: 9 motions seen through {sums} sums"
    fold = _fold()
    off = fold.copy()
    off.positions[4] = OFF_FOLD_H4
    at_fold, off_fold = dg.analyse_frames([fold, off], representation)
    assert at_fold.truncation == text and at_fold.pair_swap == "H2-H4 = H3-H4"
    assert off_fold.truncation == text and off_fold.pair_swap is None


@pytest.mark.parametrize(("count", "sums"), [(6, 14), (7, 15), (12, 17)])
def test_a_shell_of_six_or_more_keeps_the_label_at_the_default_l_max(count, sums):
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(count, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    atoms = ase.Atoms("C" + "H" * count, positions=np.vstack([[0, 0, 0], 1.1 * directions]))
    analysis = _analysis(atoms, dg.SoapPowerSpectrum(center="C", neighbors=["H"]))
    assert analysis.verdict == "spurious"
    assert analysis.truncation == f"H at 1.1 Å: {3 * count - 3} motions seen through {sums} sums"


def test_an_equidistant_sio4_fold_is_a_swap_not_truncation():
    representation = dg.SoapPowerSpectrum(center="Si", neighbors=["O"])
    fold = _fold("SiO4", scale=1.62 / 1.09)
    analysis = _analysis(fold, representation)
    assert analysis.verdict == "spurious"
    assert analysis.pair_swap == "O2-O4 = O3-O4"
    assert analysis.truncation is None


def test_a_mixed_shell_counts_the_generic_sums_of_its_composition():
    """Three species, each at one distance: at l_max 1 the fold misses 2 motions, random
    directions 1, so the label counts 8 sums (the swap explains the other zero); from
    l_max 2 on random directions miss none and only the swap is named."""
    fold = ase.Atoms("COHHF", positions=FOLD_MIXED)
    truncated = dg.SoapPowerSpectrum(center="C", neighbors=["H", "O", "F"], l_max=1)
    assert _blind_dimension(truncated, fold) == 2
    analysis = _analysis(fold, truncated)
    assert (analysis.n_spurious_zeros, analysis.n_explained_zeros) == (2, 2)
    assert analysis.pair_swap == "H2-F4 = H3-F4"
    assert analysis.truncation == (
        "H at 1.049 Å, O at 1.237 Å, F at 1.1 Å: 9 motions seen through 8 sums"
    )
    seeing = dg.SoapPowerSpectrum(center="C", neighbors=["H", "O", "F"])
    assert _blind_dimension(seeing, fold) == 1
    analysis = _analysis(fold, seeing)
    assert analysis.pair_swap == "H2-F4 = H3-F4"
    assert analysis.truncation is None


def test_the_generic_dimension_is_deterministic_and_kept_per_composition():
    from degeneracy.sensitivity import truncation

    representation = dg.SoapPowerSpectrum(center="C", neighbors=["H", "O", "F"], l_max=1)
    fold = ase.Atoms("COHHF", positions=FOLD_MIXED)
    neighbors, species = fold.positions[1:], fold.numbers[1:]
    first = truncation.generic_blind_dimension(representation, neighbors, species)
    assert first == 1
    kept = truncation._generic_cache[representation]
    assert list(kept.values()) == [1]
    # the same composition in other directions and order: the same count, from the cache
    rotated = neighbors[[3, 1, 0, 2]] @ np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]])
    assert truncation.generic_blind_dimension(representation, rotated, species[[3, 1, 0, 2]]) == 1
    assert len(kept) == 1
    fresh = dg.SoapPowerSpectrum(center="C", neighbors=["H", "O", "F"], l_max=1)
    assert truncation.generic_blind_dimension(fresh, neighbors, species) == 1
    assert truncation.generic_blind_dimension(None, neighbors, species) is None
    unequal = neighbors.copy()
    unequal[1] *= 1.01  # the two H no longer at one distance
    assert truncation.generic_blind_dimension(representation, unequal, species) is None
