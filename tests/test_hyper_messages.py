"""Refusals and warnings about hyperparameters say what to change, in the caller's terms.

Five messages an audit (2026-12-06) found unhelpful: featomic's spline refusals inside
the documented bounds (they named nothing to change), ``spectrum --basis optimal``'s
advice to give an ``n_primitive`` it has no option for, a ``--rep`` entry's cutoff
refusal that did not name the entry, ACSF's advice of the scaled set to a scaled set's
user, and the OM's kinks at a narrow width that did not name the width.
"""

from __future__ import annotations

import warnings

import ase.io
import featomic
import numpy as np
import pytest
from conftest import exit_status, one_error_line, package_warnings

import degeneracy as dg
from degeneracy.representations._featomic import SPLINE_HINT, new_calculator
from degeneracy.representations.acsf import _SCALED_REACH, _SCALED_START
from degeneracy.representations.base import GTO_SPLINE_FAILURES, gto_splines_fail
from degeneracy.representations.om import overlapping_width

# --- featomic's GTO splines -------------------------------------------------------------


def _gto_hypers(sigma: float, cutoff: float, n_max: int, l_max: int) -> dict:
    return {
        "cutoff": {"radius": cutoff, "smoothing": {"type": "Step"}},
        "density": {"type": "Gaussian", "width": sigma},
        "basis": {
            "type": "TensorProduct",
            "max_angular": l_max,
            "radial": {"type": "Gto", "max_radial": n_max - 1},
        },
    }


def _builds(kind: type, sigma: float, cutoff: float, n_max: int, l_max: int) -> bool:
    try:
        new_calculator(kind, "test", **_gto_hypers(sigma, cutoff, n_max, l_max))
    except dg.DegeneracyError as error:
        assert SPLINE_HINT in str(error) and "mean absolute error" not in str(error)
        return False
    return True


@pytest.mark.parametrize("kind", [featomic.SoapPowerSpectrum, featomic.SphericalExpansion])
@pytest.mark.parametrize(("key", "failing"), [((22, 20), 18.0), ((19, 20), 16.2), ((22, 17), 17.0)])
def test_the_spline_failures_are_featomic_s(kind, key, failing):
    """The table's bounds build, with SOAP's power spectrum and the spherical expansion
    of the optimal basis' primitive tables alike, and a ratio between them does not
    (featomic's refusal then carries the hint)."""
    low, high = GTO_SPLINE_FAILURES[key]
    n_max, l_max = key
    sigma = 0.3
    assert _builds(kind, sigma, low * sigma, n_max, l_max)
    assert _builds(kind, sigma, high * sigma, n_max, l_max)
    assert not _builds(kind, sigma, failing * sigma, n_max, l_max)
    assert gto_splines_fail(n_max, l_max, failing)
    assert not gto_splines_fail(n_max, l_max, low) and not gto_splines_fail(n_max, l_max, high)


def test_a_spline_failure_is_refused_when_built_with_what_works():
    with pytest.raises(dg.DegeneracyError) as refused:
        dg.SoapPowerSpectrum(n_max=22, l_max=20, cutoff=3.5)
    assert str(refused.value) == (
        "featomic cannot spline its GTO radial integrals to 1e-8 for n_max 22 and l_max 20 "
        "at cutoff 3.5 Å, 11.7 times sigma 0.3 Å (it fails between 11.44 and 25.91 times): "
        "give sigma at least 0.306 Å or at most 0.135 Å, cutoff at most 3.43 Å, l_max at "
        "most 19 or n_max at most 21"
    )
    # every change it advises builds featomic's calculator
    for hypers in (
        {"sigma": 0.306},
        {"sigma": 0.135},
        {"cutoff": 3.43},
        {"l_max": 19},
        {"n_max": 21},
    ):
        settings = {"n_max": 22, "l_max": 20, "cutoff": 3.5, **hypers}
        assert dg.SoapPowerSpectrum(**settings).calculator is not None, hypers


def test_the_optimal_basis_is_checked_for_its_primitive_functions():
    """The optimal basis splines n_primitive GTO functions, whatever n_max: refused before
    its fit, without advising an n_primitive that single-fingerprint commands lack."""
    with pytest.raises(dg.DegeneracyError, match=r"for n_primitive 20 and l_max 20 at") as refused:
        dg.SoapPowerSpectrum(basis="optimal", n_max=4, l_max=20, sigma=0.15)
    assert str(refused.value).endswith(
        "give sigma at least 0.195 Å or at most 0.117 Å, cutoff at most 1.93 Å or l_max at most 17"
    )
    with pytest.raises(dg.DegeneracyError, match=r"for n_primitive 22 and l_max 20 at") as fit:
        dg.fit_optimal_basis(
            dg.sample_methane(2, seed=0), sigma=0.1, n_max=4, l_max=20, n_primitive=22
        )
    # a fit has its own n_primitive (fit-basis --n-primitive): advised, and it works
    assert str(fit.value).endswith("l_max at most 19 or n_primitive at most 21")
    frames = dg.sample_methane(2, seed=0)
    assert dg.fit_optimal_basis(frames, sigma=0.1, n_max=4, l_max=20, n_primitive=21)


def test_the_command_line_names_its_options_in_a_spline_refusal(capsys):
    argv = ["spectrum", "--builtin", "td", "--n-max", "22", "--l-max", "20", "--sigma", "0.1"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "spectrum") == (
        "featomic cannot spline its GTO radial integrals to 1e-8 for --n-max 22 and --l-max "
        "20 at --cutoff 2.5 Å, 25 times --sigma 0.1 Å (it fails between 11.44 and 25.91 "
        "times): give --sigma at least 0.219 Å or at most 0.0964 Å, --cutoff at most 1.14 Å, "
        "--l-max at most 19 or --n-max at most 21"
    )


# --- n_max beyond the built-in optimal basis' n_primitive --------------------------------


def test_spectrum_points_to_fit_basis_for_more_primitive_functions(capsys):
    assert exit_status(["spectrum", "--builtin", "td", "--n-max", "21", "--basis", "optimal"]) == 2
    line = one_error_line(capsys, "spectrum")
    assert line.startswith("--n-max=21 cannot exceed n_primitive=20: ")
    assert line.endswith(
        "; give N from --n-max to 22 primitive functions in a basis fitted with degeneracy "
        "fit-basis --n-primitive N (same SOAP options) given with --basis-file, or use "
        "--basis gto"
    )
    assert "give n_primitive" not in line


def test_a_rep_list_offers_the_entry_s_own_n_primitive(capsys):
    argv = ["compare", "--builtin", "td", "--rep", "soap", "--n-max", "21", "--basis", "optimal"]
    assert exit_status(argv) == 2
    line = one_error_line(capsys, "compare")
    assert "as the entry's own (--rep soap:n_primitive=N) or in a basis fitted" in line
    # an entry that sets its own settings is answered in its keys, n_primitive among them
    assert exit_status(["compare", "--builtin", "td", "--rep", "soap:basis=optimal:n_max=21"]) == 2
    assert one_error_line(capsys, "compare").endswith(
        "give n_primitive a larger value (at most 22) or use the GTO basis"
    )


def test_fit_basis_is_not_told_to_use_the_gto_basis(capsys):
    with pytest.raises(dg.DegeneracyError, match=r"or n_max a smaller one$"):
        dg.fit_optimal_basis(dg.sample_methane(2, seed=0), sigma=0.3, n_max=8, n_primitive=4)
    argv = ["fit-basis", "--n-max", "21", "--output", "unused.npz"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "fit-basis").endswith(
        "give --n-primitive a larger value (at most 22) or --n-max a smaller one"
    )


# --- a --rep entry's own cutoff ---------------------------------------------------------


def test_an_entry_s_cutoff_refusal_names_the_entry(tmp_path, capsys):
    argv = ["compare", "--builtin", "td", "--rep", "soap,soap:cutoff=0.5"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "compare") == (
        "--rep soap:cutoff=0.5: frame 0, atom 1: 1.09 Å from the centre, at or beyond the "
        "soap cutoff 0.5 Å (the fingerprint cannot see it move)"
    )
    path = tmp_path / "ch4.extxyz"
    ase.io.write(path, [dg.builtin_environment("td")])
    assert exit_status(["compare", str(path), "--rep", "soap,om:cutoff=1"]) == 2
    assert one_error_line(capsys, "compare") == (
        f"--rep om:cutoff=1: {path}, frame 0, atom 1: 1.09 Å from the centre, outside the "
        "cutoff 1.0 Å"
    )


def test_the_shared_cutoff_s_refusal_names_no_entry(tmp_path, capsys):
    path = tmp_path / "ch4.extxyz"
    ase.io.write(path, [dg.builtin_environment("td")])
    # soap:cutoff=1 has --cutoff's value: the refusal is the shared option's too
    assert exit_status(["compare", str(path), "--rep", "soap:cutoff=1,om", "--cutoff", "1"]) == 2
    assert one_error_line(capsys, "compare").startswith(f"{path}, frame 0, atom 1: ")
    assert exit_status(["compare", "--builtin", "td", "--rep", "soap,om", "--cutoff", "1"]) == 2
    assert one_error_line(capsys, "compare").startswith("frame 0, atom 1: ")
    # beside an entry of its own cutoff, the shared one is named by its entries
    far = dg.builtin_environment("td")
    far.positions[4] *= 2.7 / np.linalg.norm(far.positions[4])
    ase.io.write(path, [far])
    assert exit_status(["compare", str(path), "--rep", "soap:cutoff=3,acsf"]) == 2
    assert one_error_line(capsys, "compare") == (
        f"--rep acsf: {path}, frame 0, atom 4: 2.7 Å from the centre, outside the cutoff 2.5 Å"
    )


# --- ACSF's advice on unreached bonds ---------------------------------------------------


def _nearest(frames) -> np.ndarray:
    return np.array(
        [np.linalg.norm(a.positions[1:] - a.positions[0], axis=1).min() for a in frames]
    )


@pytest.mark.parametrize(("cutoff", "change"), [(10.0, "smaller"), (1.4, "larger")])
def test_the_scaled_set_is_told_the_cutoffs_that_reach_its_bonds(cutoff, change):
    """The scaled set's G2 grid moves with the cutoff: a large one misses short bonds, and
    it was told to use the scaled set with a cutoff of at least what it had."""
    frames = dg.sample_methane(30, seed=4)
    frames = [a for a in frames if np.linalg.norm(a.positions[1:], axis=1).max() < cutoff]
    acsf = dg.Acsf(parameter_set="scaled", cutoff=cutoff)
    (note,) = [m for m in acsf.diagnose(frames) if "bond stretching" in m]
    nearest = _nearest(frames)
    low = np.ceil(10 * nearest.max() / _SCALED_REACH) / 10
    high = np.floor(10 * nearest.min() / _SCALED_START) / 10
    assert note.endswith(
        f"; its G2 grid is 0.24–0.72 × the cutoff: give a {change} cutoff, {low:.1f}–"
        f"{high:.1f} Å, or use a custom set"
    ), note
    assert "parameter_set 'scaled'" not in note
    assert len(acsf.unreached_distances(nearest)) > 0
    for advised in (low, high):
        assert (
            len(dg.Acsf(parameter_set="scaled", cutoff=advised).unreached_distances(nearest)) == 0
        )


def test_the_scaled_set_cannot_reach_bonds_three_times_apart():
    short = dg.builtin_environment("td")
    long = short.copy()
    long.positions[1:] *= 4.0  # C–H 4.4 Å
    note = dg.Acsf(parameter_set="scaled", cutoff=20.0).diagnose([short, long])[0]
    assert note.endswith(
        "; its G2 grid is 0.24–0.72 × the cutoff, and no cutoff puts 1.09–4.36 Å on it: use "
        "a custom set"
    ), note


def test_the_other_sets_are_still_told_to_use_the_scaled_set():
    silicon = dg.builtin_environment("td")
    silicon.positions[1:] *= 2.35 / 1.09
    (note,) = [m for m in dg.Acsf(cutoff=3.0).diagnose([silicon]) if "bond stretching" in m]
    # the library's words: its parameters (the command line names its options: test_option_terms)
    assert note.endswith(
        "use parameter_set 'scaled' with a cutoff of at least 3.3 Å, or a custom set"
    )


# --- the OM at a narrow width -----------------------------------------------------------


def test_a_narrow_om_width_is_named_with_the_width_that_lifts_its_kinks():
    frames = dg.sample_methane(20, seed=5)
    narrow = dg.OverlapMatrix(width=0.3)
    assert narrow.kinks(frames).all()
    kink_note, width_note = narrow.diagnose(frames)
    assert kink_note.startswith("om degenerate eigenvalues: 20 of 20 frames")
    wider = np.ceil(100 * overlapping_width(frames).max()) / 100
    assert width_note == (
        "om width 0.3 is too narrow here: in 20 frames at a kink (coinciding eigenvalues) "
        "some atom's s orbital overlaps no other atom's by 0.01; at width "
        f"{wider:g}, where every atom's does, 20 of them are not at a kink: give a width of "
        f"at least {wider:g}"
    )
    assert not dg.OverlapMatrix(width=wider).kinks(frames).any()
    assert dg.OverlapMatrix().diagnose(frames) == []


def test_the_jacobian_warns_of_a_narrow_width_too():
    frames = dg.sample_methane(3, seed=5)
    with pytest.warns(dg.DegeneracyWarning) as caught:
        dg.OverlapMatrix(width=0.2).jacobian(iter(frames))  # read twice: a list is made
    said = package_warnings(caught)
    assert len(said) == 2 and said[1].startswith("om width 0.2 is too narrow here: in 3 frames")


def test_a_symmetric_frame_s_kink_is_not_put_down_to_the_width():
    """The regular tetrahedron is a kink at any width: no width is advised for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notes = dg.OverlapMatrix(width=0.3).diagnose([dg.builtin_environment("td")])
    assert len(notes) == 1 and notes[0].startswith("om degenerate eigenvalues")
