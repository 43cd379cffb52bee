"""The library names its parameters, the command line its options.

A fingerprint's warnings (ACSF's unreached bonds and unseen angles, the OM's narrow
width) are worded in keyword parameters (``parameter_set 'scaled'``, ``width``) for a
Python caller, and the command line names them as it names a fingerprint's errors: the
option (``--acsf-set scaled``, ``--om-width``), or the ``--rep`` entry whose own setting
it is. Also: a ``--rep`` list's periodic frames are checked for periodic images within
every entry's cutoff, and a seed is a plainly written integer.
"""

from __future__ import annotations

import argparse

import ase
import ase.io
import numpy as np
import pytest
from conftest import exit_status, one_error_line

import degeneracy as dg
from degeneracy.cli.options import (
    FingerprintEntry,
    fingerprint_entry,
    fingerprint_warning,
    with_hyper_options,
)
from degeneracy.representations.om import overlapping_width


def _silicon(path, n: int = 3):
    """Tetrahedral Si environments (Si–Si 2.35 Å, rattled): ACSF's tight set at cutoff
    3 Å reaches none of their bonds, and G4 sees no angle (neighbour pairs 3.8 Å apart)."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(n):
        atoms = dg.builtin_environment("td").copy()
        atoms.positions[1:] *= 2.35 / 1.09
        atoms.positions[1:] += rng.normal(scale=0.05, size=(4, 3))
        atoms.set_chemical_symbols(["Si"] * 5)
        frames.append(atoms)
    ase.io.write(path, frames)
    return frames


def _warning_lines(capsys, command: str) -> list[str]:
    prefix = f"degeneracy {command}: warning: "
    err = capsys.readouterr().err
    return [line[len(prefix) :] for line in err.splitlines() if line.startswith(prefix)]


def _no_options(text: str) -> None:
    assert " --" not in text and not text.startswith("--"), text


# --- the library's words ----------------------------------------------------------------


def test_acsf_s_warnings_name_its_parameters(tmp_path):
    frames = _silicon(tmp_path / "si.extxyz")
    acsf = dg.Acsf(cutoff=3.0, center="Si", neighbors=["Si"])
    bonds, angles = acsf.diagnose(frames)
    assert bonds.endswith(
        "use parameter_set 'scaled' with a cutoff of at least 3.3 Å, or a custom set"
    )
    assert "use G5 (angular 'g5'), or a cutoff above 3.8" in angles
    for note in (bonds, angles):
        _no_options(note)
    with pytest.warns(dg.DegeneracyWarning) as caught:  # on its own, the same words
        dg.Acsf(cutoff=3.0, center="Si", neighbors=["Si"]).jacobian(frames)
    assert [str(w.message) for w in caught] == [bonds, angles]


def test_the_om_s_width_warning_names_its_parameter():
    frames = dg.sample_methane(3, seed=5)
    wider = np.ceil(100 * overlapping_width(frames).max()) / 100
    with pytest.warns(dg.DegeneracyWarning) as caught:
        dg.OverlapMatrix(width=0.3).jacobian(frames)
    (note,) = [str(w.message) for w in caught if "too narrow" in str(w.message)]
    assert note.startswith("om width 0.3 is too narrow here: ")
    assert note.endswith(f"give a width of at least {wider:g}")
    _no_options(note)


# --- the command line's -----------------------------------------------------------------


def test_compare_names_the_acsf_options(tmp_path, capsys):
    path = tmp_path / "si.extxyz"
    _silicon(path)
    argv = ["compare", str(path), "--rep", "acsf", "--cutoff", "3", "--environment", "any"]
    assert exit_status(argv) == 0
    bonds, angles = _warning_lines(capsys, "compare")
    # the subject states the settings in use as the fingerprint's; the advice names options
    assert bonds.startswith("ACSF set 'tight' (cutoff 3 Å) is nearly blind to bond stretching")
    assert bonds.endswith(
        "; use --acsf-set scaled with a --cutoff of at least 3.3 Å, or a custom set"
    )
    assert angles.startswith("ACSF (cutoff 3 Å) sees no bond angles here: ")
    assert "beyond the cutoff, and G4" in angles  # the one in use: prose, not an option
    assert "use G5 (--acsf-angular g5), or a --cutoff above 3.8" in angles


def test_an_entry_s_own_setting_keeps_its_name(tmp_path, capsys):
    path = tmp_path / "si.extxyz"
    _silicon(path)
    rep = "acsf,acsf:cutoff=3.2"
    argv = ["compare", str(path), "--rep", rep, "--cutoff", "3", "--environment", "any"]
    assert exit_status(argv) == 0
    lines = _warning_lines(capsys, "compare")
    assert len(lines) == 4, lines
    shared = [line for line in lines if not line.startswith("--rep ")]
    own = [line for line in lines if line.startswith("--rep acsf:cutoff=3.2: ")]
    assert len(shared) == len(own) == 2, lines
    assert all(line.startswith("ACSF") and "(cutoff 3 Å)" in line for line in shared)
    assert own[0].startswith("--rep acsf:cutoff=3.2: ACSF set 'tight' (cutoff 3.2 Å) is nearly")
    assert own[0].endswith("use --acsf-set scaled with a cutoff of at least 3.3 Å, or a custom set")
    assert "or a cutoff above 3.8" in own[1] and "--cutoff" not in own[1]


def test_an_entry_s_own_set_is_told_apart_by_the_set_it_names(tmp_path, capsys):
    path = tmp_path / "si.extxyz"
    _silicon(path)
    rep = "acsf:parameter_set=tight:angular=g5,acsf:parameter_set=loose:angular=g5"
    argv = ["compare", str(path), "--rep", rep, "--cutoff", "3", "--environment", "any"]
    assert exit_status(argv) == 0
    (bonds,) = _warning_lines(capsys, "compare")  # loose reaches the bonds; G5 the angles
    assert bonds.startswith(
        "--rep acsf:parameter_set=tight:angular=g5: ACSF set 'tight' (cutoff 3 Å) is nearly"
    )
    assert bonds.endswith(
        "use parameter_set 'scaled' with a --cutoff of at least 3.3 Å, or a custom set"
    )


def test_the_om_width_is_named_as_the_option_or_the_entry_s(tmp_path, capsys):
    path = tmp_path / "ch4.extxyz"
    frames = dg.sample_methane(3, seed=5)
    ase.io.write(path, frames)
    wider = np.ceil(100 * overlapping_width(frames).max()) / 100
    assert exit_status(["spectrum", str(path), "--rep", "om", "--om-width", "0.3"]) == 0
    (width,) = [line for line in _warning_lines(capsys, "spectrum") if "too narrow" in line]
    assert width.startswith("om width 0.3 is too narrow here: in 3 frames at a kink")
    assert "some atom's s orbital overlaps no other atom's by 0.01; at --om-width" in width
    assert width.endswith(f"give a --om-width of at least {wider:g}")
    assert exit_status(["compare", str(path), "--rep", "om,om:width=0.3"]) == 0
    (width,) = [line for line in _warning_lines(capsys, "compare") if "too narrow" in line]
    assert width.startswith("--rep om:width=0.3: om width 0.3 is too narrow here: ")
    assert width.endswith(f"give a width of at least {wider:g}")


def test_other_warnings_are_left_as_they_are():
    args = argparse.Namespace(rep=[FingerprintEntry("om")], cutoff=2.5, om_width=1.5)
    for text in [
        "the built-in optimal basis was fitted on C-centred environments ...: width 3",
        "ACSF set 'tight' (cutoff 3 Å) is nearly blind",  # no ACSF in the --rep list
    ]:
        assert fingerprint_warning(text, args) == text
    # a command without fingerprints: its options are not the fingerprints'
    assert fingerprint_warning("om width 0.3 is too narrow", argparse.Namespace()) == (
        "om width 0.3 is too narrow"
    )


def test_with_hyper_options_keeps_the_cutoff_in_use_and_unquotes_values():
    acsf = {"parameter_set": "--acsf-set", "angular": "--acsf-angular", "cutoff": "--cutoff"}
    said = with_hyper_options(
        "beyond the cutoff; use parameter_set 'scaled' with a cutoff of at least 3 Å", acsf
    )
    assert said == "beyond the cutoff; use --acsf-set scaled with a --cutoff of at least 3 Å"
    assert with_hyper_options("G5 (angular 'g5')", acsf) == "G5 (--acsf-angular g5)"


# --- periodic images within every entry's cutoff ----------------------------------------


def _periodic_methane(path) -> None:
    """Two CH4 in a 4 Å cubic cell: an H's periodic image 3.48 Å from the centre (outside
    the default cutoff 2.5 Å, inside 4 Å)."""
    d = 1.09 / np.sqrt(3)
    tetrahedron = np.array([[0, 0, 0], [d, d, d], [d, -d, -d], [-d, d, -d], [-d, -d, d]])
    frames = []
    for k in range(2):
        positions = tetrahedron.copy()
        positions[1] *= 1.03
        positions[2] *= 1.0 + 0.02 * k
        frames.append(ase.Atoms("CH4", positions=positions + 2.0, cell=[4.0] * 3, pbc=True))
    ase.io.write(path, frames)


IMAGE = (
    "frame 0, atom 1: periodic frame, and this atom's image (0, 0, -1) cells away is 3.475 "
    "Å from the centre, inside the cutoff {} Å: a neighbour the frame does not list"
)


@pytest.mark.parametrize("rep", ["soap,soap:cutoff=4", "soap:cutoff=4,om", "om:cutoff=4,soap"])
def test_an_image_inside_a_larger_entry_s_cutoff_is_refused(tmp_path, capsys, rep):
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    assert exit_status(["compare", str(path), "--rep", rep]) == 2
    entry = next(label for label in rep.split(",") if "cutoff=4" in label)
    assert one_error_line(capsys, "compare").startswith(
        f"--rep {entry}: {path}, " + IMAGE.format(4)
    )


def test_an_image_inside_the_shared_cutoff_names_the_entries_of_it(tmp_path, capsys):
    """Beside an entry with its own cutoff, the refusal says whose the shared one is (it
    named none: `--rep soap:cutoff=3,acsf` was refused "outside the cutoff 2.5 Å" with
    nothing saying that is acsf's, helper-153); of the shared cutoff alone, none."""
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    argv = ["compare", str(path), "--rep", "soap,soap:cutoff=2.4", "--cutoff", "3.6"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "compare").startswith(f"--rep soap: {path}, " + IMAGE.format(3.6))
    argv = ["compare", str(path), "--rep", "soap,acsf", "--cutoff", "3.6"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "compare").startswith(f"{path}, " + IMAGE.format(3.6))


def test_images_outside_every_cutoff_pass(tmp_path, capsys):
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    assert exit_status(["compare", str(path), "--rep", "soap,soap:cutoff=3.4"]) == 0
    capsys.readouterr()


def test_pairs_verify_checks_images_within_every_entry_s_cutoff(tmp_path, capsys):
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    argv = ["pairs", "--verify", str(path), "--rep", "soap,soap:cutoff=4"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "pairs").startswith(
        f"--rep soap:cutoff=4: {path}, " + IMAGE.format(4)
    )


def test_read_environments_looks_for_images_within_images_cutoff(tmp_path):
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    assert len(dg.read_environments(path)) == 2  # within the cutoff 2.5 Å: no image
    with pytest.raises(dg.DegeneracyError, match=r"inside the cutoff 4 Å"):
        dg.read_environments(path, images_cutoff=4.0)
    with pytest.raises(dg.DegeneracyError, match=r"^images_cutoff must be a positive number"):
        dg.read_environments(path, images_cutoff=-1)


# --- plainly written numbers --------------------------------------------------------------


@pytest.mark.parametrize("value", ["1_0", "+1", "١"])
def test_a_seed_is_a_plain_integer(capsys, value):
    assert exit_status(["pairs", "--n", "1", "--seed", value]) == 2
    assert one_error_line(capsys, "pairs") == (
        f"argument --seed: seed must be an integer, got {value!r}"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("soap:n_max=1_0", "soap:n_max=1_0: n_max must be an integer, got '1_0'"),
        ("om:width=1_0.5", "om:width=1_0.5: width must be a number, got '1_0.5'"),
        ("acsf:cutoff=3_0", "acsf:cutoff=3_0: cutoff must be a number, got '3_0'"),
        (
            "soap:sigma=1e-400",
            "soap:sigma=1e-400: sigma: 1e-400 is 0 in double precision (its smallest is 5e-324)",
        ),
        ("soap:sigma=0e-400", None),  # zero written as zero: the constructor's to refuse
    ],
)
def test_an_entry_s_numbers_are_plain(text, said):
    if said is None:
        fingerprint_entry(text)
        return
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        fingerprint_entry(text)
    assert str(refused.value) == said


def test_no_warning_escapes_as_python_s_format(tmp_path, capsys):
    """The translated warnings are still printed once per subject, one line each."""
    path = tmp_path / "si.extxyz"
    _silicon(path)
    argv = ["spectrum", str(path), "--rep", "acsf", "--cutoff", "3", "--environment", "any"]
    assert exit_status(argv) == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 2 and err.count("\n") == 2, err


def test_images_cutoff_is_never_less_than_the_cutoff(tmp_path):
    path = tmp_path / "periodic.extxyz"
    _periodic_methane(path)
    with pytest.raises(dg.DegeneracyError, match=r"inside the cutoff 4 Å"):
        dg.read_environments(path, cutoff=4.0, images_cutoff=1.0)


@pytest.mark.parametrize(
    "argv",
    [["spectrum", "cutoff=3.xyz"], ["pairs", "--verify", "seed=2.extxyz"]],
    ids=["spectrum", "pairs"],
)
def test_a_typed_name_that_looks_like_a_keyword_stays_the_user_s(
    argv, tmp_path, capsys, monkeypatch
):
    """helper-165: once keywords with numbers were said as options, a file named
    ``cutoff=3.xyz`` became "--cutoff 3.xyz: no such file"."""
    monkeypatch.chdir(tmp_path)
    assert exit_status(argv) == 2
    name = argv[-1]
    assert f"error: {name}: no such file" in capsys.readouterr().err
