"""Fingerprint comparison: spectra, zero padding, the orbit check, figure and CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np
import pytest
from conftest import reference_path

import degeneracy as dg
from degeneracy.cli import main
from degeneracy.figures.compare import comparison_paths, plot_comparison


@pytest.fixture(scope="module")
def comparison():
    frames = [dg.builtin_environment("pg-start"), *dg.sample_methane(2, seed=6)]
    reps = {
        "soap": dg.SoapPowerSpectrum(),
        "bispectrum": dg.Bispectrum(n_max=3, l_max=3),
        "om-s": dg.OverlapMatrix(orbitals="s"),
    }
    return frames, reps, dg.compare_fingerprints(frames, reps, batch_size=2)


def test_matches_singular_spectrum(comparison):
    frames, reps, result = comparison
    assert result.names == ["soap", "bispectrum", "om-s"]
    assert result.singular_values.shape == (3, 3, 9)
    for k, name in enumerate(["soap", "bispectrum"]):
        features, jacobian = reps[name].jacobian(frames)
        spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
        np.testing.assert_allclose(result.cn[:, k], spectrum.cn, rtol=1e-10)
        np.testing.assert_allclose(result.s_min[:, k], spectrum.values[:, -1], rtol=1e-10)
        np.testing.assert_allclose(
            result.relative_s_min[:, k],
            spectrum.values[:, -1] / np.linalg.norm(features, axis=1),
            rtol=1e-10,
        )


def test_nearest_equal_pairs_and_each_fingerprints_trade_residual(comparison):
    """The nearest equal pairs are the frame's (one geometry for all fingerprints); ρ is
    each fingerprint's own softest motion against them: at pg-start SOAP's is mostly the
    trade of the two, the bispectrum's is not; batches do not mix frames up."""
    frames, reps, result = comparison
    for f, atoms in enumerate(frames):
        analysis = dg.analyse_frames([atoms], reps["soap"])[0]
        assert result.nearest_coincidences[f] == analysis.nearest_coincidence
        assert result.coincidence_distances[f] == analysis.coincidence_distance
        assert result.near_swap_residuals[f, 0] == pytest.approx(
            analysis.near_swap_residual, rel=1e-6
        )
    assert result.nearest_coincidences[0] == "H2-H3 = H3-H4"
    assert result.near_swap_residuals[0, 0] < 0.2 < 0.5 < result.near_swap_residuals[0, 1]
    record = result.records()[0]
    assert record["coincidence_distance"] == pytest.approx(0.0112, abs=1e-4)
    assert record["soap"]["near_swap_residual"] < 0.2
    summary = result.summary()["soap"]["near_swap_residual_median"]
    assert summary == pytest.approx(np.median(result.near_swap_residuals[:, 0]))
    # trade scale: the same as the library's on each fingerprint's own softest motion
    neighbors = dg.neighbor_positions(frames)
    for k, name in enumerate(["soap", "bispectrum"]):
        _, jacobian = reps[name].jacobian(frames)
        motions = dg.singular_spectrum(jacobian, neighbors).motions[:, -1]
        expected = [dg.trade_scale(n, u) for n, u in zip(neighbors, motions, strict=True)]
        np.testing.assert_allclose(result.trade_scales[:, k], expected, rtol=1e-6)
    assert result.trade_scales[0, 0] < 0.05 < result.trade_scales[0, 1]  # pg-start
    assert record["soap"]["trade_scale"] == pytest.approx(result.trade_scales[0, 0])


def test_too_few_features_give_exact_zeros(comparison):
    _, _, result = comparison
    # 5 overlap eigenvalues for 9 internal coordinates: 4 structural zeros, CN infinite
    assert np.all(result.singular_values[:, 2, 5:] == 0.0)
    assert np.all(np.isinf(result.cn[:, 2]))
    records = result.records()
    assert records[0]["om-s"]["cn"] is None and records[0]["soap"]["cn"] > 1e3
    json.dumps({"frames": records, "summary": result.summary()}, allow_nan=False)


def test_plot_writes_png_and_pdf(comparison, tmp_path):
    _, _, result = comparison
    png, pdf = plot_comparison(result, tmp_path / "cmp.png", x=np.array([0.0, 0.5, 1.0]))
    assert (png, pdf) == comparison_paths(tmp_path / "cmp")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(dg.DegeneracyError, match="3 frames"):
        plot_comparison(result, tmp_path / "bad", x=np.arange(5))


def test_a_plot_interrupted_between_its_files_leaves_the_old_pair(comparison, tmp_path):
    """Ctrl-C after the PNG used to leave a new PNG beside an old (or no) PDF."""
    import matplotlib.figure

    _, _, result = comparison
    png, pdf = comparison_paths(tmp_path / "cmp")
    png.write_bytes(b"old png")
    pdf.write_bytes(b"old pdf")
    real = matplotlib.figure.Figure.savefig

    def interrupted_at_the_pdf(self, fname, *args, **kwargs):
        if kwargs.get("format") == "pdf":
            raise KeyboardInterrupt
        return real(self, fname, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", interrupted_at_the_pdf)
        with pytest.raises(KeyboardInterrupt):
            plot_comparison(result, tmp_path / "cmp", x=np.array([0.0, 0.5, 1.0]))
    assert png.read_bytes() == b"old png" and pdf.read_bytes() == b"old pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.pdf", "cmp.png"]


def test_errors():
    with pytest.raises(dg.DegeneracyError, match="no frames"):
        dg.compare_fingerprints([], {"soap": dg.SoapPowerSpectrum()})
    with pytest.raises(dg.DegeneracyError, match="no fingerprints"):
        dg.compare_fingerprints([dg.builtin_environment("td")], {})
    # one fingerprint, not a list of them: a TypeError ("not iterable") before
    with pytest.raises(dg.DegeneracyError, match="a list of fingerprints, got Soap"):
        dg.compare_fingerprints([dg.builtin_environment("td")], dg.SoapPowerSpectrum())


def test_bispectrum_far_better_conditioned_along_the_orbit():
    """σ = 0.3 Å, c = 1 orbit of the Comment: the ν = 3 CN stays far below SOAP's."""
    frames = dg.read_environments(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"))
    frames = frames[::20]
    result = dg.compare_fingerprints(
        frames, {"soap": dg.SoapPowerSpectrum(sigma=0.3), "bispectrum": dg.Bispectrum()}
    )
    soap, bispectrum = result.cn[:, 0], result.cn[:, 1]
    assert np.median(soap) > 100 and np.median(bispectrum) < 30
    assert np.all(bispectrum < soap / 4)
    # what SOAP sees worst there is a trade of near-equal pairs (median 0.05 Å), what the
    # bispectrum sees worst is not (0.28 Å; ρ against the nearest two 0.27 against 0.89)
    scale = np.median(result.trade_scales, axis=0)
    assert scale[0] < 0.1 < 0.2 < scale[1]
    assert result.median_residual(0) < 0.5 < result.median_residual(1)


def test_cli_compare(tmp_path, capsys):
    path = tmp_path / "frames.extxyz"
    frames = dg.sample_methane(2, seed=1)
    for k, atoms in enumerate(frames):
        atoms.info["arc_length"] = 0.1 * k
    dg.write_environments(path, frames)
    prefix = tmp_path / "figure"
    argv = ["compare", str(path), "--rep", "soap,acsf", "--format", "json", "--plot", str(prefix)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["fingerprints"]) == ["soap", "acsf"]
    assert out["fingerprints"]["acsf"]["parameter_set"] == "tight"
    assert [r["frame"] for r in out["frames"]] == [0, 1]
    assert (tmp_path / "figure.png").exists() and (tmp_path / "figure.pdf").exists()
    assert main(["compare", "--builtin", "pg-start", "--rep", "om", "--om-orbitals", "s"]) == 0
    table = capsys.readouterr().out
    assert "inf" in table.splitlines()[1]
    assert table.splitlines()[0].split()[-4:] == [
        "rho_om",
        "trade_scale_om",
        "coincidence_distance",
        "nearest_coincidence",
    ]
    assert table.splitlines()[1].split()[-4:] == ["0.0112", "H2-H3", "=", "H3-H4"]
    assert "rho median" in table and "trade scale median" in table
    with pytest.raises(SystemExit) as stop:
        main(["compare", "--builtin", "td", "--rep", "soap,soap"])
    assert stop.value.code == 2
    assert main(["compare", "--builtin", "td", "--rep", "acsf", "--cutoff", "-1"]) == 2
    assert "cutoff" in capsys.readouterr().err


def test_cli_compare_summary_says_n_a_where_there_is_no_value(tmp_path, capsys):
    """A water frame has no two equal pairs, so no rho: its cells were blank and its JSON
    null, but the summary printed "rho median nan"."""
    import ase
    import ase.io

    path = tmp_path / "h2o.extxyz"
    water = ase.Atoms("OH2", positions=[[0, 0, 0.11], [0, 0.77, -0.51], [0, -0.76, -0.49]])
    ase.io.write(path, water, format="extxyz")
    assert main(["compare", str(path), "--environment", "OH2", "--rep", "soap"]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert "rho median n/a, trade scale median inf Å" in summary and "nan" not in summary
    argv = ["compare", str(path), "--environment", "OH2", "--rep", "soap", "--format", "json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]["soap"]
    assert summary["near_swap_residual_median"] is None


def test_comparison_summary_without_a_trade_scale_says_n_a():
    from degeneracy.cli.compare import format_comparison
    from degeneracy.compare import Comparison

    comparison = Comparison(
        names=["a"],
        singular_values=np.array([[[2.0, 1.0]]]),
        feature_norms=np.ones((1, 1)),
        nearest_coincidences=[None],
        coincidence_distances=np.array([np.nan]),
        near_swap_residuals=np.array([[np.nan]]),
        trade_scales=np.array([[np.nan]]),
    )
    summary = format_comparison(comparison, "table", {}).splitlines()[-1]
    assert summary.endswith("rho median n/a, trade scale median n/a")


def test_comparison_medians_leave_kinks_out():
    """CN's summary left kinks out, while the medians of rho and of the trade scale still
    counted their softest motions, taken from a one-sided Jacobian."""
    from degeneracy.compare import Comparison

    comparison = Comparison(
        names=["a"],
        singular_values=np.array([[[2.0, 1.0]], [[2.0, 1.0]], [[2.0, 1.0]]]),
        feature_norms=np.ones((3, 1)),
        nearest_coincidences=[None] * 3,
        coincidence_distances=np.full(3, np.nan),
        near_swap_residuals=np.array([[0.9], [0.1], [0.2]]),
        trade_scales=np.array([[1.0], [0.01], [0.03]]),
        kinks=np.array([[True], [False], [False]]),
    )
    assert comparison.median_residual(0) == pytest.approx(0.15)
    assert comparison.median_trade_scale(0) == pytest.approx(0.02)
    only_kinks = dataclasses.replace(comparison, kinks=np.ones((3, 1), dtype=bool))
    assert np.isnan(only_kinks.median_residual(0)) and np.isnan(only_kinks.median_trade_scale(0))


def test_cli_compare_checks_the_plot_before_the_work(tmp_path, capsys, monkeypatch):
    """A bad --plot folder once failed after the analysis, leaving the --output table."""

    def no_work(*args, **kwargs):
        raise AssertionError("compared before checking --plot")

    monkeypatch.setattr("degeneracy.cli.compare.compare_fingerprints", no_work)
    table = tmp_path / "table.txt"
    argv = ["compare", "--builtin", "td", "--output", str(table)]
    assert main([*argv, "--plot", str(tmp_path / "missing" / "fig")]) == 2
    assert "fig.png: --plot folder" in capsys.readouterr().err and not table.exists()
    # `--plot /dev/null` wrote /dev/null.png and /dev/null.pdf (a FIFO stands in for it)
    fifo = tmp_path / "null"
    os.mkfifo(fifo)
    assert main([*argv, "--plot", str(fifo)]) == 2
    assert "names a device, pipe or socket, not a prefix" in capsys.readouterr().err
    assert not (tmp_path / "null.png").exists() and not table.exists()


def test_cli_compare_plots_over_frames_without_numeric_arc_lengths(tmp_path, capsys):
    path = tmp_path / "frames.extxyz"
    frames = dg.sample_methane(2, seed=1)
    for k, atoms in enumerate(frames):
        atoms.info["arc_length"] = f"x{k}"
    dg.write_environments(path, frames)
    assert main(["compare", str(path), "--rep", "soap", "--plot", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f.png").exists()


def test_fingerprints_may_be_given_as_a_list():
    frames = dg.sample_methane(2, seed=1)
    soap, acsf = dg.SoapPowerSpectrum(n_max=4, l_max=3), dg.make_representation("acsf")
    named = dg.compare_fingerprints(frames, {"soap": soap, "acsf": acsf})
    listed = dg.compare_fingerprints(frames, [soap, acsf])
    assert listed.names == named.names
    np.testing.assert_array_equal(listed.cn, named.cn)
    with pytest.raises(dg.DegeneracyError, match="two soap fingerprints"):
        dg.compare_fingerprints(frames, [soap, dg.SoapPowerSpectrum(sigma=0.5)])


def test_info_json_gives_the_cpu_count_as_a_number(capsys, monkeypatch):
    """``degeneracy info --format json`` gave "cpu_count": "2", a string. (Here beside
    the other CLI output checks; the report still renders it.)"""
    import os
    import re

    from degeneracy.report import render_report

    assert main(["info", "--format", "json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert versions["cpu_count"] == os.cpu_count() and isinstance(versions["cpu_count"], int)
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"^cpu_count +{os.cpu_count()}$", text, flags=re.MULTILINE)
    document = render_report("t", [], settings={}, versions=versions)
    assert f"<td>cpu_count</td><td>{os.cpu_count()}</td>" in document
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # Python cannot tell
    assert main(["info", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["cpu_count"] is None
    assert main(["info"]) == 0
    assert re.search(r"^cpu_count +unknown$", capsys.readouterr().out, flags=re.MULTILINE)


# --------------------------------------------------------------------------------------
# Verdicts: kink / regular / zero, the rule of scan


def _td_and_start():
    return [dg.builtin_environment("td"), dg.builtin_environment("pg-start")]


def test_spectrum_verdicts_is_the_one_rule_of_scan_and_compare():
    """kink first, whatever the values; regular where s_min ≥ zero_rtol s_1 > 0; zero
    otherwise (s_1 = 0 too: a fingerprint blind to every motion); "" without a spectrum.
    scan's row_verdicts is this rule with its reasons, and its VERDICT_* are these."""
    from degeneracy import scan, sensitivity

    s_max = np.array([1.0, 1.0, 1.0, 1.0, 0.0, np.nan, 1.0])
    s_min = np.array([2e-6, 5e-7, 0.0, 0.5, 0.0, np.nan, 1e-9])
    kink = np.array([False, False, False, False, False, False, True])
    verdicts = sensitivity.spectrum_verdicts(s_max, s_min, kink)
    expected = ["regular", "zero", "zero", "regular", "zero", "", "kink"]
    assert verdicts.tolist() == expected and verdicts.shape == (7,)
    assert sensitivity.spectrum_verdicts(s_max[:1], s_min[:1], kink[:1], zero_rtol=1e-5)[0] == (
        "zero"
    )
    assert scan.row_verdicts(s_max, s_min, kink, [""] * 7) == expected
    assert (scan.VERDICT_KINK, scan.VERDICT_REGULAR, scan.VERDICT_ZERO) == (
        sensitivity.VERDICT_KINK,
        sensitivity.VERDICT_REGULAR,
        sensitivity.VERDICT_ZERO,
    )
    grid = sensitivity.spectrum_verdicts(np.ones((2, 3)), np.full((2, 3), 0.1), np.eye(2, 3))
    assert grid.tolist() == [["kink", "regular", "regular"], ["regular", "kink", "regular"]]
    with pytest.raises(dg.DegeneracyError, match="one shape"):
        sensitivity.spectrum_verdicts([1.0, 1.0], [0.5], [False])
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        sensitivity.spectrum_verdicts([1.0], [0.5], [False], zero_rtol=1.0)


def test_td_methane_is_a_zero_of_soap_and_a_kink_of_the_om():
    """T_d CH4: SOAP has its forced zeros ("zero"), the OM no Jacobian ("kink", CN 87 of
    one one-sided derivative, which the summary leaves out); the P&G start is regular
    for both."""
    reps = {"soap": dg.SoapPowerSpectrum(), "om": dg.OverlapMatrix()}
    with pytest.warns(dg.DegeneracyWarning, match="om degenerate eigenvalues"):
        result = dg.compare_fingerprints(_td_and_start(), reps, batch_size=1)
    assert result.kinks.tolist() == [[False, True], [False, False]]
    assert result.verdicts.tolist() == [["zero", "kink"], ["regular", "regular"]]
    # finite (its value follows the BLAS kernels): nothing but the verdict tells it apart
    assert 30 < result.cn[0, 1] < 1000
    records = result.records()
    assert [r["om"]["verdict"] for r in records] == ["kink", "regular"]
    assert [r["soap"]["verdict"] for r in records] == ["zero", "regular"]
    assert list(records[0]["om"])[:2] == ["cn", "verdict"]
    summary = result.summary()["om"]
    assert summary["n_kinks"] == 1 and result.summary()["soap"]["n_kinks"] == 0
    assert summary["cn_median"] == summary["cn_min"] == pytest.approx(result.cn[1, 1])
    np.testing.assert_array_equal(result.cn_without_kinks(1), result.cn[1:, 1])
    # without the kinks recorded (a Comparison built by hand): none taken
    bare = dg.Comparison(
        names=result.names,
        singular_values=result.singular_values,
        feature_norms=result.feature_norms,
    )
    assert bare.verdicts.tolist() == [["zero", "regular"], ["regular", "regular"]]


def test_cli_compare_has_a_verdict_column_per_fingerprint(tmp_path, capsys):
    """`compare --builtin td`: verdict_NAME right after cn_NAME in the table and CSV, and
    "verdict" in JSON; the OM's one frame is a kink, so its summary has no CN to give."""
    argv = ["compare", "--builtin", "td", "--rep", "soap,acsf,om"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "warning: om degenerate eigenvalues" in captured.err  # the CLI says it on stderr
    lines = captured.out.splitlines()
    header, row = lines[0].split(), lines[1].split()
    for name, verdict in (("soap", "zero"), ("acsf", "zero"), ("om", "kink")):
        k = header.index(f"cn_{name}")
        assert header[k + 1] == f"verdict_{name}" and row[k + 1] == verdict
    om = lines[-1]
    assert om.startswith("# om: CN n/a (its one frame is a kink: no derivative there); rho")
    assert "nan" not in om
    assert lines[-3].startswith("# soap: CN median inf")
    assert main([*argv, "--format", "csv"]) == 0
    header, row = (line.split(",") for line in capsys.readouterr().out.splitlines()[:2])
    assert header[header.index("cn_om") + 1] == "verdict_om"
    assert row[header.index("verdict_om")] == "kink"
    assert row[header.index("verdict_soap")] == "zero"
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [out["frames"][0][name]["verdict"] for name in ("soap", "acsf", "om")] == [
        "zero",
        "zero",
        "kink",
    ]
    assert out["summary"]["om"]["n_kinks"] == 1 and out["summary"]["om"]["cn_median"] is None


def test_cli_compare_summary_leaves_the_kink_out(tmp_path, capsys):
    """T_d and the P&G start: the OM's CN statistics are the start's alone, and the line
    says one kink was left out; regular frames say "regular"; the figure marks the kink."""
    path = tmp_path / "frames.extxyz"
    dg.write_environments(path, _td_and_start())
    prefix = tmp_path / "figure"
    assert main(["compare", str(path), "--rep", "soap,om", "--plot", str(prefix)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    rows = [line.split() for line in lines[1:3]]
    k = header.index("verdict_om")
    assert [r[k] for r in rows] == ["kink", "regular"]
    assert [r[header.index("verdict_soap")] for r in rows] == ["zero", "regular"]
    start = float(rows[1][header.index("cn_om")])
    om = re.fullmatch(
        r"# om: CN median (\S+), min (\S+), max (\S+) "
        r"\(1 kink left out: no derivative there\); rho median .*",
        lines[-1],
    )
    assert om, lines[-1]
    assert [float(v) for v in om.groups()] == pytest.approx([start] * 3, rel=1e-3)
    assert 20 < start < 80  # the start's (37.6), not the kink's 86.7
    assert "left out" not in lines[-2]  # SOAP has no kink
    assert (tmp_path / "figure.png").exists() and (tmp_path / "figure.pdf").exists()


def test_cli_compare_of_the_p_and_g_start_is_regular_throughout(capsys):
    argv = ["compare", "--builtin", "pg-start", "--rep", "soap,acsf,om", "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {out["frames"][0][name]["verdict"] for name in ("soap", "acsf", "om")} == {"regular"}
    assert all(summary["n_kinks"] == 0 for summary in out["summary"].values())


def test_kinks_stay_with_their_frames_over_compositions(tmp_path, capsys, cache):
    """`compare --environment any` over CH3C, T_d CH4, CH3O and the P&G start: merging the
    per-composition comparisons keeps the OM's kink at frame 1."""
    import ase
    import ase.io

    hs = [[0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63]]
    ch3c, ch3o = (
        ase.Atoms(f"CH3{x}", positions=[[0, 0, 0], *hs, [0.9, -0.8, -0.85]]) for x in "CO"
    )
    frames = [ch3c, dg.builtin_environment("td"), ch3o, dg.builtin_environment("pg-start")]
    soap = dg.SoapPowerSpectrum(neighbors=["H", "C", "O"])
    with pytest.warns(dg.DegeneracyWarning, match="om degenerate eigenvalues"):
        merged = dg.compare_by_composition(frames, {"soap": soap, "om": dg.OverlapMatrix()})
    assert merged.kinks.tolist() == [[False, False], [False, True], [False, False], [False, False]]
    assert merged.verdicts[:, 1].tolist() == ["regular", "kink", "regular", "regular"]
    assert merged.verdicts[1, 0] == "zero" and merged.verdicts[3, 0] == "regular"
    path = tmp_path / "mixed.extxyz"
    ase.io.write(path, frames)
    argv = ["compare", str(path), "--environment", "any", "--rep", "soap,om", "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["om"]["verdict"] for f in out["frames"]] == ["regular", "kink", "regular", "regular"]
    assert out["summary"]["om"]["n_kinks"] == 1


def test_merging_comparisons_puts_each_kink_on_its_frame():
    """The per-composition merge, on comparisons whose frames interleave: each part's
    kinks land on its own rows and fingerprints."""
    from degeneracy.compositions import _merged

    def part(names, kinks):
        n = len(kinks)
        return dg.Comparison(
            names=names,
            singular_values=np.ones((n, len(names), 3)),
            feature_norms=np.ones((n, len(names))),
            nearest_coincidences=[None] * n,
            coincidence_distances=np.full(n, np.nan),
            near_swap_residuals=np.full((n, len(names)), np.nan),
            trade_scales=np.full((n, len(names)), np.nan),
            kinks=np.array(kinks, dtype=bool),
        )

    calls = [
        (np.array([0, 2]), part(["b"], [[False], [True]])),
        (np.array([1, 3]), part(["b"], [[True], [False]])),
        (np.arange(4), part(["a"], [[False], [False], [False], [True]])),
    ]
    merged = _merged(calls, ["a", "b"], 4)
    assert merged.kinks.tolist() == [[False, False], [False, True], [False, True], [True, False]]
    assert merged.verdicts.tolist() == [
        ["regular", "regular"],
        ["regular", "kink"],
        ["regular", "kink"],
        ["kink", "regular"],
    ]


# --- `--rep` entries with settings of their own: one fingerprint, several settings ---


def _compare_json(capsys, *argv: str) -> dict:
    assert main(["compare", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _error(capsys, *argv: str) -> str:
    """The one error line of ``degeneracy compare ARGV`` (exit status 2)."""
    from conftest import exit_status

    assert exit_status(["compare", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    return err.strip()


def test_rep_entries_are_parsed_with_their_own_settings():
    from degeneracy.cli.options import FingerprintEntry, representation_entries

    entries = representation_entries("soap, soap : n_max = 8:l_max=6 ,soap:sigma=0.5,om:width=2")
    assert [e.label for e in entries] == [
        "soap",
        "soap:n_max=8:l_max=6",
        "soap:sigma=0.5",
        "om:width=2",
    ]
    assert [e.name for e in entries] == ["soap", "soap", "soap", "om"]
    assert entries[0] == FingerprintEntry("soap")
    assert entries[1].overrides == {"n_max": 8, "l_max": 6}
    assert type(entries[1].overrides["n_max"]) is int
    assert entries[2].overrides == {"sigma": 0.5}
    assert type(entries[3].overrides["width"]) is float
    # a keyword no option sets is the fingerprint's own, and so an entry's
    (primitive,) = representation_entries("soap:basis=optimal:n_primitive=12")
    assert primitive.overrides == {"basis": "optimal", "n_primitive": 12}
    assert representation_entries("acsf:parameter_set=loose:angular=g5")[0].overrides == {
        "parameter_set": "loose",
        "angular": "g5",
    }


@pytest.mark.parametrize(
    ("rep", "line"),
    [
        ("soap:width=2", "soap:width=2: soap has no setting 'width'; it takes sigma, cutoff"),
        ("om:sigma=0.5", "om:sigma=0.5: om has no setting 'sigma'; it takes orbitals, width"),
        ("soap:center=H", "soap:center=H: soap has no setting 'center'"),  # each frame's own
        ("soap:optimal_basis=b.npz", "soap has no setting 'optimal_basis'"),  # --basis-file
        ("soap:n_max=x", "soap:n_max=x: n_max must be an integer, got 'x'"),
        ("soap:n_max=8.5", "soap:n_max=8.5: n_max must be an integer, got '8.5'"),
        ("soap:sigma=wide", "soap:sigma=wide: sigma must be a number, got 'wide'"),
        ("soap:n_max", "soap:n_max: a setting is key=value, got 'n_max'"),
        ("soap:=3", "soap:=3: a setting is key=value, got '=3'"),
        ("soap:", "soap:: a setting is key=value, got ''"),
        ("soap:n_max=6:n_max=7", "soap:n_max=6:n_max=7: n_max given twice"),
        ("nope:n_max=6", "unknown fingerprint nope; choose from soap,bispectrum,acsf,om"),
        ("soap:n_max=6,soap:n_max=6", "fingerprint listed twice in 'soap:n_max=6,soap:n_max=6'"),
    ],
)
def test_a_bad_rep_entry_is_refused_naming_the_entry_and_the_key(rep, line, capsys):
    err = _error(capsys, "--builtin", "td", "--rep", rep)
    assert err.startswith("degeneracy compare: error: argument --rep: ") and line in err, err


@pytest.mark.parametrize(
    ("rep", "line"),
    [
        # the key as typed, not the option --n-max the user did not give
        ("soap:n_max=0", "--rep soap:n_max=0: n_max must be at least 1 and at most 22, got 0"),
        (
            "soap,bispectrum:n_max=0",
            "--rep bispectrum:n_max=0: bispectrum n_max must be at least 1",
        ),
        ("om:width=0.01", "--rep om:width=0.01: width must be between 0.1 and 10"),
        ("acsf:angular=g6", "--rep acsf:angular=g6: ACSF angular functions must be one of"),
        # a shared option's value named as the option, the entry's own as its key
        ("soap:cutoff=20", "--rep soap:cutoff=20: cutoff 20 Å is 66.7 times --sigma 0.3 Å"),
    ],
)
def test_a_bad_value_of_a_rep_entry_is_named_by_its_key(rep, line, capsys):
    err = _error(capsys, "--builtin", "td", "--rep", rep)
    assert err.startswith(f"degeneracy compare: error: {line}"), err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--rep", "soap,soap:n_max=8"], "--rep soap and soap:n_max=8 have the same settings"),
        (
            ["--rep", "soap:n_max=6:l_max=6,soap:l_max=6:n_max=6"],
            "--rep soap:n_max=6:l_max=6 and soap:l_max=6:n_max=6 have the same settings",
        ),
        # the GTO basis has no primitives: n_primitive changes nothing (refused alone too)
        (
            ["--rep", "soap,soap:n_primitive=12"],
            "--rep soap:n_primitive=12: n_primitive sets the optimal basis's primitives, and "
            "basis is gto, which has none (give basis=optimal, or leave n_primitive out)",
        ),
        (
            ["--rep", "soap:n_primitive=12"],
            "--rep soap:n_primitive=12: n_primitive sets the optimal basis's primitives",
        ),
        (
            ["--rep", "soap:n_primitive=12:basis=optimal,soap:basis=optimal:n_primitive=12"],
            "--rep soap:n_primitive=12:basis=optimal and soap:basis=optimal:n_primitive=12 have",
        ),
        (["--rep", "soap:sigma=0.4,soap", "--sigma", "0.4"], "--rep soap:sigma=0.4 and soap have"),
    ],
)
def test_rep_entries_of_the_same_settings_are_refused(argv, line, capsys):
    err = _error(capsys, "--builtin", "td", *argv)
    assert err.startswith(f"degeneracy compare: error: {line}"), err


def test_shared_options_apply_to_the_entries_that_do_not_set_them(capsys):
    out = _compare_json(
        capsys, "--builtin", "td", "--rep", "soap,soap:n_max=4,acsf:cutoff=3", "--n-max", "6"
    )
    settings = out["fingerprints"]
    assert [settings["soap"]["n_max"], settings["soap:n_max=4"]["n_max"]] == [6, 4]
    assert settings["acsf:cutoff=3"]["cutoff"] == 3.0
    # an option of none of the fingerprints, by their base names, whatever they set
    err = _error(capsys, "--builtin", "td", "--rep", "acsf:cutoff=3,om:width=2", "--sigma", "0.5")
    assert err.endswith("--sigma does not apply to --rep acsf,om (it sets soap, bispectrum)"), err
    # nor an option every entry it would configure sets itself
    err = _error(capsys, "--builtin", "td", "--rep", "soap:n_max=6,soap:n_max=4", "--n-max", "5")
    assert err.endswith(
        "--n-max does not apply to --rep soap:n_max=6,soap:n_max=4 (each of them sets n_max itself)"
    ), err
    err = _error(capsys, "--builtin", "td", "--rep", "soap:cutoff=3,om:cutoff=3", "--cutoff", "2")
    assert err.endswith("(each of them sets cutoff itself)"), err


def test_soap_at_td_has_its_symmetric_zero_at_every_setting(capsys):
    """The T_d zeros belong to every SOAP: raising or lowering n_max, l_max does not lift
    them; the JSON gives each entry its own settings."""
    out = _compare_json(capsys, "--builtin", "td", "--rep", "soap,soap:n_max=8:l_max=6")
    settings = out["fingerprints"]
    assert list(settings) == ["soap", "soap:n_max=8:l_max=6"]
    assert settings["soap"]["l_max"] == 8 and settings["soap:n_max=8:l_max=6"]["l_max"] == 6
    assert {k: v for k, v in settings["soap"].items() if k != "l_max"} == {
        k: v for k, v in settings["soap:n_max=8:l_max=6"].items() if k != "l_max"
    }
    (frame,) = out["frames"]
    for label in settings:
        assert frame[label]["s_min"] < 1e-10 * frame[label]["s_max"]
        assert frame[label]["verdict"] == "zero" and frame[label]["cn"] is None
    assert list(out["summary"]) == list(settings)


def test_each_rep_entry_has_its_own_cn_on_a_random_frame(tmp_path, capsys):
    path = tmp_path / "frame.extxyz"
    dg.write_environments(path, dg.sample_methane(1, seed=0))
    prefix = tmp_path / "figure"
    argv = ["compare", str(path), "--rep", "soap,soap:n_max=4:l_max=4", "--plot", str(prefix)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    header, row = lines[0].split(), lines[1].split()
    assert "cn_soap" in header and "cn_soap:n_max=4:l_max=4" in header
    cn = [float(row[header.index(f"cn_{label}")]) for label in ("soap", "soap:n_max=4:l_max=4")]
    assert all(np.isfinite(cn)) and abs(cn[0] - cn[1]) > 1e-3 * cn[0]
    assert lines[-1].startswith("# soap:n_max=4:l_max=4: CN median")
    for label, representation in zip(
        ("soap", "soap:n_max=4:l_max=4"),
        (dg.SoapPowerSpectrum(), dg.SoapPowerSpectrum(n_max=4, l_max=4)),
        strict=True,
    ):
        own = dg.analyse_frames(dg.sample_methane(1, seed=0), representation)[0]
        assert float(row[header.index(f"cn_{label}")]) == pytest.approx(own.cn, rel=1e-3)
    assert (tmp_path / "figure.png").exists()


def test_rep_entries_read_the_frames_within_their_own_cutoff(tmp_path, capsys):
    """A neighbour at 2.8 Å is outside --cutoff 2.5 but inside every entry's cutoff=3.5:
    the frames are read within the entries' smallest cutoff."""
    atoms = dg.builtin_environment("pg-start")
    atoms.positions[1] *= 2.8 / np.linalg.norm(atoms.positions[1])
    path = tmp_path / "far.extxyz"
    dg.write_environments(path, [atoms])
    out = _compare_json(capsys, str(path), "--rep", "soap:cutoff=3.5,om:cutoff=3.5")
    assert out["fingerprints"]["soap:cutoff=3.5"]["cutoff"] == 3.5
    err = _error(capsys, str(path), "--rep", "soap,soap:cutoff=3.5")
    assert "outside the cutoff 2.5 Å" in err, err
    # checked before the file is read, in the entry's terms (not "--cutoff must be")
    err = _error(capsys, str(path), "--rep", "soap,soap:cutoff=-1")
    assert err.endswith("--rep soap:cutoff=-1: cutoff must be a positive number, got -1.0"), err


def test_entry_keys_are_the_fingerprints_own_keywords():
    """Each key an entry may set is a keyword of the fingerprint's constructor, read as the
    type of its default (of its annotation where the default is None: SOAP's
    n_primitive, given only with the optimal basis)."""
    import inspect

    from degeneracy.cli.options import ENTRY_KEYS, REPRESENTATION_ORDER
    from degeneracy.representations.registry import REPRESENTATIONS

    assert tuple(ENTRY_KEYS) == REPRESENTATION_ORDER
    for name, keys in ENTRY_KEYS.items():
        parameters = inspect.signature(REPRESENTATIONS[name]).parameters
        left_out = set(parameters) - set(keys)
        assert left_out <= {"center", "neighbors", "optimal_basis", "g2", "g4"}, name
        for key, kind in keys.items():
            default = parameters[key].default
            if default is None:
                assert parameters[key].annotation == f"{kind.__name__} | None", (name, key)
            else:
                assert type(default) is kind, (name, key)


def test_a_soap_entry_with_the_gto_basis_leaves_the_basis_file_out(tmp_path, capsys):
    """--basis-file is the optimal basis of the SOAP entries; `soap:basis=gto` is SOAP
    with the GTO basis beside it, and an entry of other settings is told the file's."""
    basis = tmp_path / "basis.npz"
    assert main(["fit-basis", "--n-frames", "20", "--seed", "3", "--output", str(basis)]) == 0
    capsys.readouterr()
    argv = ["--builtin", "pg-start", "--basis-file", str(basis)]
    out = _compare_json(capsys, *argv, "--rep", "soap,soap:basis=gto")
    settings = out["fingerprints"]
    assert settings["soap"]["basis"] == "optimal" and settings["soap:basis=gto"]["basis"] == "gto"
    gto = _compare_json(capsys, "--builtin", "pg-start", "--rep", "soap")
    assert out["frames"][0]["soap:basis=gto"]["cn"] == pytest.approx(gto["frames"][0]["soap"]["cn"])
    err = _error(capsys, *argv, "--rep", "soap:basis=gto")
    assert err.endswith(
        "--basis-file does not apply to --rep soap:basis=gto (each of them sets basis=gto itself)"
    ), err
    err = _error(capsys, *argv, "--rep", "soap,soap:n_max=6")
    assert "--rep soap:n_max=6: --basis-file: fitted for n_max 8 (not 6)" in err, err
    # the file's primitives are used: another n_primitive would change only the label
    err = _error(capsys, *argv, "--rep", "soap:n_primitive=12")
    assert "--rep soap:n_primitive=12: --basis-file: fitted for n_primitive 20 (not 12)" in err
    same = _compare_json(capsys, *argv, "--rep", "soap:n_primitive=20")
    assert same["fingerprints"]["soap:n_primitive=20"]["n_primitive"] == 20


def test_the_trade_scale_does_not_depend_on_the_neighbours_labels():
    """The same CH4 with its H relabelled had trade scale 0.546 Å and inf (bispectrum):
    the max-norm of two pairs' differences ties in both orders when the angle's term is
    the largest, and the labels' order broke the tie. 26 of 300 random frames changed."""
    rows = [
        [-0.95427125, 0.5788062, 0.47829916],
        [-0.10059404, -1.14724607, -0.24913764],
        [-0.33316282, 0.31259715, 1.10822074],
        [0.17964585, -0.64536807, -0.96936455],
    ]
    first = dg.environment_from_neighbors(np.array(rows))
    frames = [first, first[[0, 2, 3, 4, 1]], *dg.sample_methane(60, seed=5)]
    rng = np.random.default_rng(0)
    relabelled = [atoms[[0, *(1 + rng.permutation(4))]] for atoms in frames[2:]]
    bispectrum = dg.Bispectrum()
    scales = dg.compare_fingerprints([*frames, *relabelled], [bispectrum]).trade_scales[:, 0]
    assert scales[0] == pytest.approx(scales[1], rel=1e-9)
    np.testing.assert_allclose(scales[2 : 2 + 60], scales[2 + 60 :], rtol=1e-9)
