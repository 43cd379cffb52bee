"""A blind spot beside an unexplained zero is named, with how many zeros it explains.

A frame is named when every spurious zero is explained (``explain_zero(...,
n_spurious=...)``). When only some are, the labels are of the most independent motions
of the span that are (``explain_zero(..., partial=True)``), the counts say how many
(``n_explained_zeros`` of ``n_spurious_zeros``), and the verdict stays ``spurious``:
ACSF's loose set at frame 1308 of ``sample_methane(3000, seed=7)`` has an exact zero
turning the pairs G4 cannot see and a second value at 8.6e-7 s1 that nothing explains.
"""

import ase
import numpy as np
import pytest

import degeneracy as dg
from degeneracy import sensitivity

#: Frame 1308 of ``dg.sample_methane(3000, seed=7)`` (C first): with ACSF's loose set an
#: exact zero (7e-19 s1) turns H1-H3 and H2-H3, which G4 does not see, and a second
#: singular value at 8.6e-7 s1, under ``ZERO_RTOL``, is not explained.
PARTLY_EXPLAINED = [
    [0.0, 0.0, 0.0],
    [1.2412191411345253, 0.020487652549238237, 0.7065341455662497],
    [-0.1355648062995105, -1.3758135773503715, 0.04088631704921548],
    [-0.7234241970928257, 1.0151471852859295, -0.5958812193165113],
    [0.5495433955328285, -0.17059805103362682, -1.2410732218950895],
]

#: Frame 543 of the same: two exact zeros, both turning pairs G4 does not see.
FULLY_EXPLAINED = [
    [0.0, 0.0, 0.0],
    [0.27318447499210463, 1.0116173834122448, 0.6695012057502672],
    [-0.9328921577850691, 0.7006679566034308, -0.8168169450389012],
    [0.32607338781223183, 0.0900725879459131, 1.3950007188854228],
    [-0.43017996024299565, -0.4041973286423859, -1.2892440440696806],
]

#: Frame 296 of the same: one zero (4.3e-9 s1) that nothing explains.
UNEXPLAINED = [
    [0.0, 0.0, 0.0],
    [-1.2159526584525149, -0.5803683174565475, -0.47442806673159194],
    [0.02145053443404098, -0.45619562621963583, -1.0737997807419277],
    [-0.352709389802266, 0.5852672735962874, -0.9030922855188548],
    [0.9660646908641025, 0.7176965195621329, -0.6917593545525892],
]

PARTIAL_TEXT = "spurious: 1 of 2 zeros turns pairs it cannot see H1-H3, H2-H3; 1 unexplained"


def _methane(positions: list[list[float]]) -> ase.Atoms:
    return ase.Atoms("CH4", positions=positions)


@pytest.fixture(scope="module")
def loose() -> dg.Acsf:
    return dg.Acsf(parameter_set="loose")


def _analysis(positions: list[list[float]], representation) -> sensitivity.FrameAnalysis:
    [result] = dg.analyse_frames([_methane(positions)], representation)
    return result


def _zeros_text(result: sensitivity.FrameAnalysis) -> str:
    """The 'zeros' column as ``spectrum`` would print it with the counts."""
    return sensitivity.explained_verdict(
        result.verdict,
        result.pair_swap,
        result.unseen_pairs,
        result.near_symmetry_distance,
        result.truncation,
        n_explained=result.n_explained_zeros,
        n_spurious=result.n_spurious_zeros,
    )


def _free_zeros(atoms: ase.Atoms, representation) -> tuple[np.ndarray, np.ndarray]:
    _, jacobian = representation.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(atoms)[None])
    values = spectrum.values[0]
    return values, sensitivity.free_zero_motions(values, spectrum.motions[0])


def test_the_stored_frame_is_the_samplers():
    frame = dg.sample_methane(3000, seed=7)[1308]
    assert np.array_equal(frame.positions, np.array(PARTLY_EXPLAINED))


def test_partly_explained_frame_names_its_blind_spot_with_the_counts(loose):
    result = _analysis(PARTLY_EXPLAINED, loose)
    values = result.singular_values / result.singular_values[0]
    assert values[-1] < 1e-15 and 5e-7 < values[-2] < sensitivity.ZERO_RTOL
    assert result.verdict == "spurious"
    assert (result.pair_swap, result.unseen_pairs, result.truncation) == (
        None,
        "H1-H3, H2-H3",
        None,
    )
    assert (result.n_explained_zeros, result.n_spurious_zeros) == (1, 2)
    assert _zeros_text(result) == PARTIAL_TEXT
    record = result.to_dict()
    assert (record["n_explained_zeros"], record["n_spurious_zeros"]) == (1, 2)
    assert record["unseen_pairs"] == "H1-H3, H2-H3"


def test_partial_explanation_only_when_asked(loose):
    atoms = _methane(PARTLY_EXPLAINED)
    values, free = _free_zeros(atoms, loose)
    assert len(free) == 2
    assert sensitivity.explain_zero(atoms, free, loose, values=values, n_spurious=2) is None
    partial = sensitivity.explain_zero(
        atoms, free, loose, values=values, n_spurious=2, partial=True
    )
    assert partial is not None and partial.n_explained == 1
    assert partial.unseen == [(0, 2), (1, 2)] and not partial.swapped
    assert partial.residual < sensitivity.PAIR_SWAP_TOL


def test_partial_explanation_of_nothing_is_none(loose):
    """Without the fingerprint no pair is unseen: neither zero is explained."""
    atoms = _methane(PARTLY_EXPLAINED)
    values, free = _free_zeros(atoms, loose)
    assert sensitivity.explain_zero(atoms, free, None, values=values, partial=True) is None


def test_fully_explained_frame_keeps_its_label(loose):
    result = _analysis(FULLY_EXPLAINED, loose)
    assert result.verdict == "spurious"
    assert result.unseen_pairs == "H1-H4, H2-H3, H3-H4" and result.pair_swap is None
    assert (result.n_explained_zeros, result.n_spurious_zeros) == (2, 2)
    text = "spurious: turns pairs it cannot see H1-H4, H2-H3, H3-H4"
    assert _zeros_text(result) == text
    assert (
        sensitivity.explained_verdict(result.verdict, result.pair_swap, result.unseen_pairs) == text
    )


def test_unexplained_frame_keeps_no_label(loose):
    result = _analysis(UNEXPLAINED, loose)
    assert result.verdict == "spurious"
    assert (result.pair_swap, result.unseen_pairs, result.truncation) == (None, None, None)
    assert (result.n_explained_zeros, result.n_spurious_zeros) == (0, 1)
    assert _zeros_text(result) == "spurious"


def test_counts_only_for_spurious_verdicts(loose):
    result = _analysis(dg.sample_methane(1, seed=0)[0].positions.tolist(), loose)
    assert result.verdict == "regular"
    assert (result.n_explained_zeros, result.n_spurious_zeros) == (None, None)


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({}, "spurious: swaps equal pairs H2-H3 = H4-H3 and turns pairs it cannot see H1-H2"),
        (
            {"n_explained": 3, "n_spurious": 3},
            "spurious: swaps equal pairs H2-H3 = H4-H3 and turns pairs it cannot see H1-H2",
        ),
        (
            {"n_explained": 1, "n_spurious": 3},
            "spurious: 1 of 3 zeros swaps equal pairs H2-H3 = H4-H3 and turns pairs it "
            "cannot see H1-H2; 2 unexplained",
        ),
        (
            {"n_explained": 2, "n_spurious": 3},
            "spurious: 2 of 3 zeros swap equal pairs H2-H3 = H4-H3 and turn pairs it "
            "cannot see H1-H2; 1 unexplained",
        ),
    ],
)
def test_explained_verdict_with_counts(counts, text):
    assert sensitivity.explained_verdict("spurious", "H2-H3 = H4-H3", "H1-H2", **counts) == text


def test_truncation_reason_agrees_with_the_count():
    truncation = "H at 1.09 Å: 9 motions seen through 7 sums"
    text = sensitivity.explained_verdict(
        "spurious", None, None, truncation=truncation, n_explained=2, n_spurious=4
    )
    assert (
        text == f"spurious: 2 of 4 zeros move equidistant neighbours ({truncation}); 2 unexplained"
    )


def test_counts_without_a_reason_leave_the_verdict_alone():
    assert sensitivity.explained_verdict("spurious", None, None, n_explained=0, n_spurious=2) == (
        "spurious"
    )
