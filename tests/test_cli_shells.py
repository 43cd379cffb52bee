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
    assert "forced by symmetry" in out  # the note on N = 2


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
