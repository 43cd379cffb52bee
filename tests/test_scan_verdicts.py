"""A verdict per scanned environment: ``kink``, ``regular`` or ``zero``, and kinks kept out
of the CN statistics (histogram, quantiles, ``n_infinite``) with the summary counting them.

``spectrum`` gives every frame a verdict; a scan's rows had none, and the overlap matrix's
rows at coinciding eigenvalues (no derivative: the CN is one one-sided derivative's) went
into the CN histogram and quantiles like any other.
"""

from __future__ import annotations

import json
import warnings

import ase
import ase.io
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from test_scan import _regular_methane, _results, _scan_on_a_local_cluster, _scan_summary, _threads

import degeneracy as dg
import degeneracy.figures.scan as figures
from degeneracy import scan as scanning
from degeneracy.cli.scan import format_summary, quantiles
from degeneracy.environments import environments_of


def _environments(frames):
    """The C-centred environment of each CH4 (cutoff 2.5 Å)."""
    return [environments_of(atoms, [0], cutoff=2.5)[0] for atoms in frames]


def _full_to_row(verdict: str) -> str:
    """The row verdict a scan gives where ``spectrum`` says ``verdict``."""
    return verdict if verdict in ("kink", "regular") else "zero"


@pytest.mark.parametrize(
    "representation",
    [dg.OverlapMatrix(), dg.OverlapMatrix(orbitals="s"), dg.SoapPowerSpectrum(n_max=4, l_max=4)],
    ids=["om", "om-s", "soap"],
)
def test_each_environment_gets_spectrum_s_verdict_where_it_is_cheap(representation):
    """``kink`` and ``regular`` as ``spectrum`` says them, and ``zero`` wherever it says
    one of the verdicts that need its symmetry tests; none where undefined."""
    frames = [
        *dg.sample_methane(3, seed=2),
        dg.builtin_environment("td"),
        _regular_methane(0.0),
    ]
    environments = _environments(frames)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.DegeneracyWarning)  # the OM's note on T_d
        full = [r.verdict for r in dg.analyse_frames(environments, representation)]
    lone = ase.Atoms("C", positions=[[0.0, 0.0, 0.0]])  # no neighbour: undefined
    spectra = dg.environment_spectra([*environments, lone], representation)
    assert spectra.verdict == [*map(_full_to_row, full), ""]
    assert spectra.reason[-1] == scanning.REASON_FEW_NEIGHBORS
    assert spectra.kink.tolist() == [v == "kink" for v in full] + [False]


def test_the_om_marks_the_symmetric_rows_kinks_and_soap_finds_their_zeros():
    """What the parametrised test compares, spelt out: T_d CH4 is a kink of the OM (CN 87
    of one one-sided derivative, formerly a row like any other) and has SOAP's forced
    zeros; the s-orbital OM has zeros everywhere (5 features for 9 motions)."""
    environments = _environments([*dg.sample_methane(2, seed=3), dg.builtin_environment("td")])
    om = dg.environment_spectra(environments, dg.OverlapMatrix())
    assert om.verdict == ["regular", "regular", "kink"]
    # finite (its value follows the BLAS kernels): nothing but the verdict tells it apart
    assert 30 < om.cn[2] < 1000
    soap = dg.environment_spectra(environments, dg.SoapPowerSpectrum(n_max=4, l_max=4))
    assert soap.verdict == ["regular", "regular", "zero"]
    short = dg.environment_spectra(environments[:2], dg.OverlapMatrix(orbitals="s"))
    assert short.verdict == ["zero", "zero"]


def test_row_verdicts_follow_the_zero_threshold_and_leave_undefined_rows_empty():
    s_max = np.array([1.0, 1.0, 1.0, 1.0, np.nan, 0.0])
    s_min = np.array([2e-6, 5e-7, 0.0, 0.5, np.nan, 0.0])
    kink = np.array([False, False, False, True, False, False])
    reason = ["", "", "", "", scanning.REASON_COLLINEAR, scanning.REASON_BLIND]
    assert scanning.row_verdicts(s_max, s_min, kink, reason) == [
        "regular",
        "zero",
        "zero",
        "kink",
        "",
        "",
    ]
    assert scanning.row_verdicts(s_max[:1], s_min[:1], kink[:1], [""], zero_rtol=1e-5) == ["zero"]


def test_row_verdicts_refuse_a_zero_threshold_outside_0_1():
    for value in (0.0, 1.0, -1e-6):
        with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
            scanning.row_verdicts([1.0], [0.5], [False], [""], zero_rtol=value)


def _verdict_results(cn, verdicts):
    """A results table with these CNs (s_max = 1, structures 0, 1, ...) and verdicts."""
    return _results(np.arange(len(cn), dtype=np.int64), cn, verdicts)


def test_the_cn_quantiles_leave_the_kinks_out():
    table = _verdict_results(
        [10.0, 20.0, 1e9, 30.0, np.inf], ["regular"] * 2 + ["kink", "regular", "zero"]
    )
    assert quantiles(table) == {
        "min": 10.0,
        "median": 20.0,
        "p99": pytest.approx(29.8),
        "max": 30.0,
    }
    assert scanning.without_kinks(table).column("structure").to_pylist() == [0, 1, 3, 4]
    everything = _verdict_results([10.0, 20.0], ["regular", "regular"])
    assert scanning.without_kinks(everything) is everything
    with pytest.raises(dg.DegeneracyError, match="with a verdict column"):
        scanning.without_kinks(table.drop_columns(["verdict"]))


def test_the_summary_line_counts_zeros_infinite_cns_and_kinks():
    summary = _scan_summary(n_environments=9, n_with_zeros=3, n_infinite=1, n_kinks=2)
    line = format_summary(summary, {}).splitlines()[0]
    assert line.endswith(
        "; 0 undefined, 3 with a zero singular value (s_min < 1e-06 s1), 1 with infinite CN "
        "(s_min zero or at round-off), 2 kinks (no derivative there: left out of the CN "
        "statistics and histogram)"
    )
    plain = format_summary(_scan_summary(), {}).splitlines()[0]
    assert plain.endswith("; 0 undefined")


def _kinked_methane():
    """5 random CH4 and two regular ones (structures 1 and 4, kinks of the OM)."""
    frames = dg.sample_methane(5, seed=4)
    frames.insert(1, _regular_methane(1.0))
    frames.insert(4, _regular_methane(-2.0))
    return frames


def test_a_scan_records_the_verdicts_and_counts_the_kinks_apart(tmp_path):
    output = tmp_path / "om.parquet"
    with pytest.warns(dg.DegeneracyWarning, match="om degenerate eigenvalues: 2 of 2 frames"):
        summary = dg.scan_dataset(
            _kinked_methane(), dg.OverlapMatrix(), output=output, centers="C", **_threads()
        )
    table = dg.read_results(output)
    assert (
        table.column("verdict").to_pylist()
        == ["regular", "kink"] + ["regular"] * 2 + ["kink"] + ["regular"] * 2
    )
    assert (summary.n_kinks, summary.n_with_zeros, summary.n_infinite) == (2, 0, 0)
    assert summary.to_dict()["n_kinks"] == 2 and summary.settings["zero_rtol"] == 1e-6
    short = dg.scan_dataset(
        dg.sample_methane(3, seed=4),
        dg.OverlapMatrix(orbitals="s"),
        output=tmp_path / "short.csv",
        centers="C",
        **_threads(),
    )
    assert (short.n_kinks, short.n_with_zeros, short.n_infinite) == (0, 3, 3)
    assert dg.read_results(tmp_path / "short.csv").column("verdict").to_pylist() == ["zero"] * 3


def test_the_cli_leaves_the_kinks_out_of_the_statistics_and_gives_the_top_rows_their_verdict(
    capsys, tmp_path, monkeypatch
):
    """The summary's quantiles, the histogram and the printed line without the kinks; the
    top rows with the full verdict (``symmetry`` for SOAP's T_d row, ``zero`` in the
    results file)."""
    drawn = []
    original = figures.cn_histogram

    def histogram(results, path, *, title=""):
        drawn.append((results.column("structure").to_pylist(), title))
        original(results, path, title=title)

    monkeypatch.setattr(figures, "cn_histogram", histogram)
    dataset = tmp_path / "kinks.extxyz"
    ase.io.write(dataset, _kinked_methane(), format="extxyz")
    arguments = [str(dataset), "--centers", "C", "--chemiscope-limit", "0", "--top", "7"]
    om = tmp_path / "om.parquet"
    assert _scan_on_a_local_cluster([*arguments, "--rep", "om", "--output", str(om)]) == 0
    captured = capsys.readouterr()
    assert "om degenerate eigenvalues: 2 of 2 frames" in captured.err
    out = captured.out
    assert "2 kinks (no derivative there: left out of the CN statistics and histogram)" in out
    summary = json.loads((tmp_path / "om.summary.json").read_text())
    assert summary["n_kinks"] == 2
    table = dg.read_results(om)
    cn = np.asarray(table.column("cn"))
    smooth = cn[[0, 2, 3, 5, 6]]
    assert summary["cn"]["min"] == smooth.min() and summary["cn"]["max"] == smooth.max()
    assert summary["cn"]["median"] == np.median(smooth) != np.median(cn)
    (structures, title) = drawn[0]
    assert structures == [0, 2, 3, 5, 6] and title.endswith(
        "(2 kinks left out: no derivative there)"
    )
    # SOAP: the T_d rows have zeros; the top rows get which ones they are
    soap = tmp_path / "soap.parquet"
    assert (
        _scan_on_a_local_cluster(
            [*arguments, "--n-max", "4", "--l-max", "4", "--output", str(soap)]
        )
        == 0
    )
    rows = dg.read_results(soap).to_pylist()
    assert [row["verdict"] for row in rows if row["structure"] in (1, 4)] == ["zero", "zero"]
    summary = json.loads((tmp_path / "soap.summary.json").read_text())
    assert summary["n_kinks"] == 0 and summary["n_with_zeros"] == 2
    top = {row["structure"]: row["verdict"] for row in summary["most_singular"]}
    assert top[1] == top[4] == "symmetry"
    assert {top[k] for k in (0, 2, 3, 5, 6)} == {"regular"}


def test_partial_results_of_the_format_without_verdicts_are_not_resumed(tmp_path):
    """Chunks of format 4 have no verdicts: a resumed scan would have merged them with
    new chunks into one table."""
    frames = dg.sample_methane(4, seed=1)
    output = tmp_path / "r.parquet"
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    dg.scan_dataset(frames, soap, output=output, chunk_size=2, keep_parts=True, **_threads())
    store = scanning.ChunkStore(output)
    manifest_path = store.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format"] == 5
    old = {k: v for k, v in manifest.items() if k != "zero_rtol"} | {"format": 4}
    manifest_path.write_text(json.dumps(old))
    with pytest.raises(dg.DegeneracyError, match=r"changed: format, zero_rtol; written by another"):
        dg.scan_dataset(frames, soap, output=output, chunk_size=2, **_threads())
    # a chunk without the verdict column in a folder of this format: computed again
    manifest_path.write_text(json.dumps(manifest))
    chunk = store.chunk_path(0)
    pq.write_table(pq.read_table(chunk).drop_columns(["verdict"]), chunk)
    with pytest.warns(dg.DegeneracyWarning, match=r"damaged chunk file \(not scan results"):
        summary = dg.scan_dataset(frames, soap, output=output, chunk_size=2, **_threads())
    assert summary.n_computed == 2
    assert dg.read_results(output).column("verdict").to_pylist() == ["regular"] * 4


def test_results_of_an_older_version_are_named_so(tmp_path):
    """A results file without the verdict column read as "not scan results"."""
    table = _verdict_results([10.0, 20.0], ["regular", "regular"]).drop_columns(["verdict"])
    parquet, csv = tmp_path / "old.parquet", tmp_path / "old.csv"
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)
    for path in (parquet, csv):
        with pytest.raises(
            dg.DegeneracyError,
            match=r"scan results of an older version of degeneracy \(no column verdict, added "
            r"on 2026-12-05\); scan the data set again",
        ):
            dg.read_results(path)
    new = tmp_path / "new.csv"
    pacsv.write_csv(_verdict_results([10.0, np.nan], ["regular", ""]), new)
    assert dg.read_results(new).column("verdict").to_pylist() == ["regular", ""]
