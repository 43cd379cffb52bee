"""``degeneracy shells``: the motions a fingerprint misses at equidistant shells, from the
command line (the library's :func:`~degeneracy.equidistant_blind_counts`)."""

from __future__ import annotations

import csv
import io
import json

import ase
import numpy as np
import pytest
from conftest import exit_status, one_error_line

import degeneracy as dg
from degeneracy.cli.shells import shell_sizes
from degeneracy.sensitivity import MIN_SHELL_RADIUS

#: docs/concepts.md: the default SOAP (l_max 8) and bispectrum (l_max 4), H shells.
SOAP_COUNTS = {2: 1, 3: 0, 4: 0, 5: 0, 6: 1, 7: 3, 8: 5, 9: 7, 10: 10, 11: 13, 12: 16}
BISPECTRUM_COUNTS = {2: 1, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 2, 10: 4, 11: 6, 12: 8}


def _json(capsys, *argv: str) -> dict:
    assert exit_status(["shells", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_default_table_gives_the_documented_counts(capsys):
    assert exit_status(["shells"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.split()[:2] == ["N", "motions"]))
    assert lines[header].split() == ["N", "motions", "soap", "bispectrum"]
    rows = [line.split() for line in lines[header + 1 : header + 12]]
    assert [int(r[0]) for r in rows] == list(range(2, 13))
    assert [int(r[1]) for r in rows] == [3 * n - 3 for n in range(2, 13)]
    assert {int(r[0]): int(r[2]) for r in rows} == SOAP_COUNTS
    assert {int(r[0]): int(r[3]) for r in rows} == BISPECTRUM_COUNTS
    assert "misses r1 - r2 there, by symmetry" in out  # the note on N = 2


def test_json_and_csv_agree_with_the_library(capsys, tmp_path):
    argv = ["--rep", "soap:l_max=4,bispectrum:l_max=2", "--sizes", "4,6-7,12", "--seed", "5"]
    table = _json(capsys, *argv)
    assert table["center"] == "C" and table["species"] == "H" and table["seed"] == 5
    assert list(table["missed"]) == ["soap:l_max=4", "bispectrum:l_max=2"]
    assert table["motions"] == {"4": 9, "6": 15, "7": 18, "12": 33}
    expected = {
        "soap:l_max=4": dg.equidistant_blind_counts(
            dg.SoapPowerSpectrum(l_max=4), [4, 6, 7, 12], seed=5
        ),
        "bispectrum:l_max=2": dg.equidistant_blind_counts(
            dg.Bispectrum(l_max=2), [4, 6, 7, 12], seed=5
        ),
    }
    for label, counts in expected.items():
        assert table["missed"][label] == {str(n): d for n, d in counts.items()}
    assert table["missed"]["soap:l_max=4"]["4"] == 1  # CH4 at one C-H distance, l_max 4
    assert table["settings"]["soap:l_max=4"]["l_max"] == 4
    assert table["radius"] == {"soap:l_max=4": 1.25, "bispectrum:l_max=2": 1.25}

    target = tmp_path / "shells.csv"
    assert exit_status(["shells", *argv, "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["neighbors", "motions", "soap:l_max=4", "bispectrum:l_max=2"]
    assert [int(v) for v in rows[1]] == [4, 9, 1, expected["bispectrum:l_max=2"][4]]
    assert len(rows) == 5


def test_the_count_is_the_jacobians_zeros_at_a_shell_of_another_species(capsys):
    """--species O: the shell's neighbours are O and the fingerprint's channel follows; the
    count is the number of zero singular values of the purified Jacobian there."""
    table = _json(capsys, "--rep", "soap", "--species", "O", "--center", "Si", "--sizes", "7")
    assert table["species"] == "O" and table["center"] == "Si"
    missed = table["missed"]["soap"]["7"]
    assert missed == SOAP_COUNTS[7]
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(7, 3))
    neighbors = 1.6 * directions / np.linalg.norm(directions, axis=1)[:, None]
    frames = [ase.Atoms("SiO7", positions=np.vstack([np.zeros(3), neighbors]))]
    _, jacobian = dg.SoapPowerSpectrum(center="Si", neighbors=["O"]).jacobian(frames)
    (values,) = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames)).values
    assert int(np.sum(values < 1e-12 * values[0])) == missed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rep", "acsf"], "--rep acsf: acsf has no first-order analysis"),
        (["--rep", "soap,om"], "--rep om: om has no first-order analysis"),
        (["--radius", "3"], "--radius 3.0 Å is not inside the cutoff of --rep soap (2.5 Å)"),
        (["--radius", "-1"], "--radius must be a positive number"),
        (["--shells", "0"], "--shells must be at least 1 and at most 100, got 0"),
        (["--species", "Xx"], "--species: unknown element 'Xx'"),
        (["--species", "8"], "unknown element '8'; give element symbols such as C,H (8 is O)"),
        (["--species", "C,H"], "argument --species: give one element symbol, got 'C,H'"),
        (["--sizes", "1-4"], "1-4: a shell holds 2 to 64 neighbours, got 1"),
        (["--sizes", "12-4"], "12-4: the range runs backwards"),
        (["--sizes", "4,x"], "'x' is not a size or a range of sizes"),
        (["--sizes", "4,"], "argument --sizes: an empty size in '4,'"),
        (["--sizes", "٤"], "'٤' is not a size or a range of sizes"),  # ASCII digits only
        (
            ["--rep", "soap:n_max=6,l_max=2"],
            "unknown fingerprint l_max=2; choose from soap,bispectrum,acsf,om; an entry's "
            "settings are separated by ':' (soap:n_max=6:l_max=6)",
        ),
        (["--acsf-set", "loose"], "--acsf-set does not apply to --rep soap,bispectrum"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, message):
    assert exit_status(["shells", *argv]) == 2
    assert message in one_error_line(capsys, "shells")


def test_sizes_read_ranges_in_order_without_repeats():
    assert shell_sizes("2-4") == [2, 3, 4]
    assert shell_sizes("12, 4-6,5,8") == [12, 4, 5, 6, 8]
    assert shell_sizes("64") == [64]


def _jacobian_zeros(representation, frames) -> list[int]:
    """Zero singular values (below 1e-10 of s1) of the purified Jacobian, per frame."""
    _, jacobian = representation.jacobian(frames)
    values = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames)).values
    return [int(np.sum(v < 1e-10 * v[0])) for v in values]


def _equidistant_shells(count: int, n: int, radius: float, seed: int) -> list[ase.Atoms]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        directions = rng.normal(size=(n, 3))
        neighbors = radius * directions / np.linalg.norm(directions, axis=1)[:, None]
        frames.append(ase.Atoms(f"CH{n}", positions=np.vstack([np.zeros(3), neighbors])))
    return frames


@pytest.mark.parametrize(
    ("label", "representation"),
    [
        ("soap:n_max=2:l_max=4", dg.SoapPowerSpectrum(n_max=2, l_max=4)),
        ("bispectrum:n_max=2:l_max=2", dg.Bispectrum(n_max=2, l_max=2)),
    ],
)
def test_two_radial_functions_already_give_the_jacobians_zeros(capsys, label, representation):
    """An entry's own settings reach the count, and with n_max 2 (the fewest for which the
    features separate the angular sums from the radial ones) the count is the number of
    zeros of the purified Jacobian."""
    missed = _json(capsys, "--rep", label, "--sizes", "5,9")["missed"][label]
    for n in (5, 9):
        frames = _equidistant_shells(2, n, 1.1, seed=n)
        assert _jacobian_zeros(representation, frames) == [missed[str(n)]] * 2


def test_soap_at_l_max_0_misses_all_but_the_mean_distance(capsys):
    """first_order_invariants reshaped an empty array of angular sums (ValueError, and
    `spectrum --l-max 0` of an equidistant frame too); the Jacobian has 3N - 4 zeros."""
    missed = _json(capsys, "--rep", "soap:l_max=0", "--sizes", "2-4")["missed"]
    assert missed["soap:l_max=0"] == {"2": 2, "3": 5, "4": 8}


def test_a_tiny_radius_is_refused_and_the_smallest_leaves_the_counts(capsys):
    """At 1e-9 Å the angular rows of G (~1/r) drowned the radial ones (~1) under
    BLIND_RTOL: SOAP counted 11 instead of 5 at N = 8."""
    argv = ["--rep", "soap", "--sizes", "6-8"]
    assert exit_status(["shells", *argv, "--radius", "1e-9"]) == 2
    assert one_error_line(capsys, "shells") == (
        "--radius must be at least 0.01 Å (closer, the angular sums drown the radial ones "
        "in round-off), got 1e-09"
    )
    smallest = _json(capsys, *argv, "--radius", str(MIN_SHELL_RADIUS))["missed"]
    assert smallest == _json(capsys, *argv)["missed"] == {"soap": {"6": 1, "7": 3, "8": 5}}


def test_an_entry_without_the_analysis_is_refused_before_any_count(capsys, monkeypatch):
    import degeneracy.cli.shells as shells

    counted = []
    library = shells.equidistant_blind_counts
    monkeypatch.setattr(
        shells,
        "equidistant_blind_counts",
        lambda *a, **k: counted.append(a) or library(*a, **k),
    )
    assert exit_status(["shells", "--rep", "soap,acsf", "--sizes", "4"]) == 2
    assert "acsf has no first-order analysis" in one_error_line(capsys, "shells")
    assert counted == []


@pytest.mark.parametrize(
    ("label", "representation", "features"),
    [
        ("soap:n_max=1:l_max=4", dg.SoapPowerSpectrum(n_max=1, l_max=4), 5),
        ("bispectrum:n_max=1:l_max=2", dg.Bispectrum(n_max=1, l_max=2), 5),
    ],
)
def test_with_fewer_features_than_motions_the_count_is_the_jacobians_zeros(
    capsys, label, representation, features
):
    """n_max 1: one feature per l for two sums, so the purified Jacobian has 3N - 3 - F
    zeros, more than the first-order count dim B (helper audit: 3 printed, 7 zeros)."""
    table = _json(capsys, "--rep", label, "--sizes", "4,5")
    assert table["features"] == {label: features}
    missed = table["missed"][label]
    assert missed == {"4": 9 - features, "5": 12 - features}
    for n in (4, 5):
        assert (
            _jacobian_zeros(representation, _equidistant_shells(2, n, 1.1, n))
            == [missed[str(n)]] * 2
        )
    assert exit_status(["shells", "--rep", label, "--sizes", "5"]) == 0
    out = capsys.readouterr().out
    assert f" {12 - features}*" in out
    assert f"more motions than the fingerprint has features (F = {features} for {label})" in out
