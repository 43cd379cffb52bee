"""``find_singular`` labels a partly explained zero as ``spectrum`` does.

Where only m of n spurious zeros are explained, the labels are of those m and ``info``
counts them (``n_explained_zeros`` of ``n_spurious_zeros``, as ``classify_zeros``);
fully explained and unexplained results keep their labels, with the counts beside them.
ACSF's loose set at frame 1308 of ``sample_methane(3000, seed=7)`` is already a zero
(CN inf), so the search stays there.
"""

import ase
import ase.io
import pytest
from test_partial_zero_labels import FULLY_EXPLAINED, PARTLY_EXPLAINED, UNEXPLAINED

import degeneracy as dg
from degeneracy.cli.singular import zero_verdict


@pytest.fixture(scope="module")
def loose() -> dg.Acsf:
    return dg.Acsf(parameter_set="loose")


def _search(positions, representation, **options) -> dg.SingularResult:
    return dg.find_singular(ase.Atoms("CH4", positions=positions), representation, **options)


def _counts(result) -> tuple:
    info = result.atoms.info
    return info.get("n_explained_zeros"), info.get("n_spurious_zeros")


def test_partly_explained_zero_is_named_with_its_count(loose, tmp_path):
    result = _search(PARTLY_EXPLAINED, loose)
    assert result.iterations == 0 and result.has_zero and not result.symmetric
    assert result.atoms.info["unseen_pairs"] == "H1-H3, H2-H3"
    assert result.atoms.info["truncation"] == "none"
    assert _counts(result) == (1, 2)
    assert (result.n_explained, result.n_spurious) == (1, 2)
    assert result.explanation.n_explained == 1 and not result.pair_swap
    # ρ of both zeros, as before: the second is not a trade
    assert result.pair_swap_residual > dg.sensitivity.PAIR_SWAP_TOL
    assert zero_verdict(result).endswith(
        "spurious zero, 1 of 2 zeros turns pairs it cannot see H1-H3, H2-H3; 1 unexplained"
    )
    # the counts are spectrum's
    [analysis] = dg.analyse_frames([result.atoms], loose)
    assert (analysis.n_explained_zeros, analysis.n_spurious_zeros) == (1, 2)
    assert analysis.unseen_pairs == result.atoms.info["unseen_pairs"]
    # and survive extxyz
    path = tmp_path / "found.extxyz"
    dg.write_environments(path, [result.atoms])
    info = ase.io.read(path).info
    assert (info["n_explained_zeros"], info["n_spurious_zeros"]) == (1, 2)


def test_fully_explained_zero_keeps_its_label(loose):
    result = _search(FULLY_EXPLAINED, loose)
    assert result.iterations == 0
    assert result.atoms.info["unseen_pairs"] == "H1-H4, H2-H3, H3-H4"
    assert _counts(result) == (2, 2) and result.explanation.n_explained is None
    assert zero_verdict(result).endswith(
        "spurious zero, its motion turns pairs it cannot see H1-H4, H2-H3, H3-H4"
    )


def test_unexplained_zero_names_nothing(loose):
    # CN 2.3e8 (s_min 4.3e-9 s1): a zero, and past this target, so the search stays
    result = _search(UNEXPLAINED, loose, cn_target=1e7)
    assert result.iterations == 0 and result.has_zero
    assert result.explanation is None
    assert result.atoms.info["unseen_pairs"] == "none"
    assert _counts(result) == (0, 1)
    assert zero_verdict(result).endswith("spurious zero")


def test_no_counts_without_a_zero(loose):
    start = dg.sample_methane(1, seed=0)[0]
    result = dg.find_singular(start, loose, cn_target=2.0)
    assert result.iterations == 0 and not result.has_zero
    assert result.n_spurious is None and result.n_explained is None
    assert "n_spurious_zeros" not in result.atoms.info
    assert "n_explained_zeros" not in result.atoms.info
