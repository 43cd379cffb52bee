"""The spectrum functions refuse values that are not one frame's spectrum (NaN, negative,
not descending, swapped extremes, motions of another shape) and arguments of the wrong
kind, with a package error naming them, rather than a verdict or a numpy traceback.
Found by the API hunt of 2026-12-06 (a NaN s_1 was read as ``spurious``, a NaN s_min as
``regular``)."""

from __future__ import annotations

import re

import ase
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.errors import COLLINEAR


@pytest.fixture(scope="module")
def frame():
    atoms = dg.sample_methane(1, seed=1)[0]
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    _, jacobian = soap.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(atoms)[None])
    symmetry = dg.point_symmetry(dg.neighbor_positions(atoms))
    return atoms, soap, spectrum.values[0], spectrum.motions[0], symmetry


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([1.0, np.nan], "finite and ≥ 0, got nan at index 1"),
        ([np.nan, np.nan], "finite and ≥ 0, got nan at index 0"),
        ([1.0, -1.0], "finite and ≥ 0, got -1 at index 1"),
        ([np.inf, 1.0], "finite and ≥ 0, got inf at index 0"),
        ([0.5, 1.0], "descending (s_1 first), got s_1 0.5 below 1 at index 1"),
        (["a", "b"], "singular values are not numbers"),
    ],
)
def test_zero_verdict_refuses_values_that_are_not_a_spectrum(values, words):
    with pytest.raises(dg.DegeneracyError, match=r"^zero_verdict") as error:
        dg.zero_verdict(np.array(values) if words[0] != "s" else values, 0)
    assert words in str(error.value)


def test_zero_verdict_checks_motions_without_forced_motions():
    with pytest.raises(dg.DegeneracyError, match=r"need motions \(2, 5\).*got \(5, 5\)"):
        dg.zero_verdict(np.array([1.0, 0.0]), 0, motions=np.eye(5))
    assert dg.zero_verdict(np.array([1.0, 0.0]), 0, motions=np.eye(5)[:2]) == "spurious"
    assert dg.zero_verdict(np.array([1.0, 0.0]), 1) == "symmetry"


def test_spectrum_verdicts_refuse_negative_infinite_or_swapped_extremes_and_keep_nan_rows():
    kink = np.zeros(3, bool)
    with pytest.raises(dg.DegeneracyError, match=r"^spectrum_verdicts at index \(1,\).*-1"):
        dg.spectrum_verdicts(np.ones(3), np.array([1.0, -1.0, 0.0]), kink)
    with pytest.raises(dg.DegeneracyError, match="s_min 2 exceeds s_max 1"):
        dg.spectrum_verdicts(np.ones(3), np.array([0.5, 2.0, 0.0]), kink)
    with pytest.raises(dg.DegeneracyError, match=r"finite and ≥ 0.*s_max inf"):
        dg.spectrum_verdicts(np.array([1.0, np.inf, 1.0]), np.zeros(3), kink)
    verdicts = dg.spectrum_verdicts(
        np.array([1.0, 1.0, np.nan, 0.0]), np.array([1.0, 1e-9, 1.0, 0.0]), np.zeros(4, bool)
    )
    assert verdicts.tolist() == ["regular", "zero", "", "zero"]
    with pytest.raises(dg.DegeneracyError, match=r"^condition_number"):  # its own name kept
        dg.condition_number(np.ones(1), -np.ones(1), 9)


def test_purified_singular_values_name_a_non_finite_jacobian():
    purified = np.ones((3, 5, 9))
    purified[2, 1, 4] = np.nan
    with pytest.raises(dg.DegeneracyError, match=r"Jacobian at index \(2,\) has non-finite"):
        dg.purified_singular_values(purified)
    assert dg.purified_singular_values(purified[:2]).shape == (2, 9)


def test_symmetry_functions_refuse_arguments_of_the_wrong_kind(frame):
    with pytest.raises(dg.DegeneracyError, match=r"^point_symmetry: neighbour positions are not"):
        dg.point_symmetry("abc")
    with pytest.raises(dg.DegeneracyError, match=r"^point_symmetry needs .* got shape \(\)"):
        dg.point_symmetry(None)
    neighbors = dg.neighbor_positions(dg.regular_tetrahedron())
    with pytest.raises(dg.DegeneracyError, match=r"takes PointOperation objects.*got 1"):
        dg.symmetry_forced_motions(neighbors, [1, 2])
    operations = dg.point_symmetry(neighbors).operations
    assert dg.symmetry_forced_motions(neighbors, operations)[0] == 8


def test_classify_zeros_wants_a_symmetry_verdict_and_a_fingerprint(frame):
    atoms, soap, values, motions, symmetry = frame
    with pytest.raises(dg.DegeneracyError, match=r"point_symmetry \(a SymmetryVerdict\), got None"):
        dg.classify_zeros(atoms, values, motions, None, soap, n_features=80)
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint: 'soap'"):
        dg.classify_zeros(atoms, values, motions, symmetry, "soap", n_features=80)
    assert dg.classify_zeros(atoms, values, motions, symmetry, soap, n_features=80).verdict == (
        "regular"
    )


def test_explain_zero_wants_the_whole_spectrum(frame):
    atoms, soap, values, motions, _ = frame
    with pytest.raises(dg.DegeneracyError, match=r"4 neighbours have 9 singular values.*got 3"):
        dg.explain_zero(atoms, motions[-1], soap, values=values[:3])
    dg.explain_zero(atoms, motions[-1], soap, values=values)  # the whole one is fine


@pytest.mark.parametrize("pair", [(0, 9), (1, 1), (7, 8)])
def test_pair_swap_residual_names_a_pair_the_environment_does_not_have(frame, pair):
    atoms, _, _, motions, _ = frame
    neighbors = dg.neighbor_positions(atoms)
    with pytest.raises(
        dg.DegeneracyError, match=re.escape(f"unseen names the pair {pair}") + ".*among 4"
    ):
        dg.pair_swap_residual(neighbors, motions[-1], [], unseen=[pair])
    assert 0 <= dg.pair_swap_residual(neighbors, motions[-1], [], unseen=[(0, 1)]) <= 1


@pytest.mark.parametrize(("first_frame", "words"), [("a", "an integer"), (-5, "at least 0")])
def test_singular_spectrum_checks_first_frame(first_frame, words):
    neighbors = dg.neighbor_positions(dg.regular_tetrahedron())[None]
    with pytest.raises(dg.DegeneracyError, match=f"first_frame must be {words}"):
        dg.singular_spectrum(np.zeros((1, 3, 12)), neighbors, first_frame=first_frame)


def test_check_analysable_and_truncation_zeros_check_their_numbers():
    frames = dg.sample_methane(2, seed=4)
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=3)
    with pytest.raises(dg.DegeneracyError, match="first_frame must be an integer, got 'x'"):
        dg.check_analysable(frames, soap, first_frame="x")
    dg.check_analysable(frames, soap, first_frame=3)
    neighbors = dg.neighbor_positions(frames[0])
    motion = np.ones(12)
    for representation in (soap, dg.Acsf()):  # ACSF has no first-order hook: checked anyway
        with pytest.raises(dg.DegeneracyError, match=r"species: 2 atomic numbers \[1, 1\]"):
            dg.truncation_zeros(representation, neighbors, [1, 1], motion)
    assert dg.truncation_zeros(dg.Acsf(), neighbors, [1, 1, 1, 1], motion) is None


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda h: dg.analyse_frames([h], dg.SoapPowerSpectrum()), "at or beyond the soap cutoff"),
        (lambda h: dg.find_singular(h, dg.Acsf()), "at or beyond the acsf cutoff"),
        (lambda h: dg.OverlapMatrix().features([h]), "outside the OM cutoff"),
    ],
)
def test_a_neighbour_at_1e300_angstrom_is_named_at_its_distance(call, said):
    """It was "inf Å from the centre", with numpy's overflow warnings."""
    atoms = dg.builtin_environment("td").copy()
    atoms.positions[1] = [1e300, 0, 0]
    with pytest.raises(dg.DegeneracyError, match=rf"atom 1: 1e\+300 Å from the centre, {said}"):
        call(atoms)


def test_a_collinear_refusal_has_the_collinear_kind():
    """check_analysable's refusal (analyse_frames, find_singular, trace_orbit) had kind
    None: only rotation_complement's had errors.COLLINEAR, which callers test."""
    line = ase.Atoms("CH2", positions=[[0, 0, 0], [1.1, 0, 0], [-1.0, 0, 0]])
    soap = dg.SoapPowerSpectrum(center="C", neighbors=["H"])
    for call in (
        lambda: dg.analyse_frames([line], soap),
        lambda: dg.find_singular(line, soap),
        lambda: dg.trace_orbit(line, soap, length=0.01),
    ):
        with pytest.raises(dg.DegeneracyError, match="collinear with the centre") as error:
            call()
        assert error.value.kind == COLLINEAR
    bent = line.copy()
    bent.positions[2] = [-1.0, 0.3, 0]
    far = bent.copy()
    far.positions[2] = [-3.0, 0.3, 0]
    with pytest.raises(dg.DegeneracyError, match="beyond the soap cutoff") as error:
        dg.analyse_frames([far], soap)
    assert error.value.kind is None


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: dg.condition_number(None, 0.1, 9), "s_max must be numbers, got None"),
        (lambda: dg.condition_number(True, 0.1, 9), "s_max must be numbers, got True"),
        (lambda: dg.condition_number(1.0, [0.1, None], 9), "s_min must be numbers"),
        (lambda: dg.zero_verdict(np.array([1.0, 0.5]), 0, kink="no"), "kink must be True or False"),
        (lambda: dg.spectrum_verdicts(1.0, 0.5, "no"), "kink must be True or False (or 1 or 0)"),
        (lambda: dg.SoapPowerSpectrum(sigma=np.True_), "sigma must be a number, got np.True_"),
        (lambda: dg.OverlapMatrix(width=np.True_), "width must be a number"),
    ],
)
def test_none_bools_and_words_are_not_numbers_or_flags(call, said):
    """They passed as nan, 1.0 and True: condition_number(None, ...) gave nan (no
    spectrum), sigma=np.True_ a σ of 1 Å, kink="no" the verdict 'kink'."""
    with pytest.raises(dg.DegeneracyError, match=re.escape(said)):
        call()
    assert dg.spectrum_verdicts(np.array([1.0]), np.array([0.5]), np.array([False]))[0] == "regular"
