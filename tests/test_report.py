"""HTML report: self-contained, and renders in headless Chromium without errors."""

from __future__ import annotations

import shutil

import matplotlib
import numpy

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from conftest import json_under_openblas_kernels

from degeneracy.provenance import floating_point_environment, software_versions
from degeneracy.report import (
    Figure,
    Section,
    Table,
    format_cell,
    render_report,
    write_report,
)


@pytest.fixture
def report_file(tmp_path):
    figure_path = tmp_path / "figure.png"
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.semilogy([1, 2, 3], [10, 1e3, 1e5])
    fig.savefig(figure_path)
    plt.close(fig)
    section = Section(
        "Orbits <& friends>",
        paragraphs=["Condition numbers along the orbits."],
        tables=[
            Table(
                "Numbers",
                ["orbit", "ours", "published"],
                [["σ=0.3", 191.2, 208.0], ["σ=0.1", 1.2e-5, None]],
            )
        ],
        figures=[Figure(figure_path, "CN along the orbit")],
    )
    document = render_report("Test report", [section], settings={"quick": True})
    path = tmp_path / "report.html"
    write_report(path, document)
    return path


def test_report_is_self_contained(report_file):
    text = report_file.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in text
    assert "Orbits &lt;&amp; friends&gt;" in text  # escaped
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "featomic" in text  # software versions recorded
    assert "kernels" in text  # and the BLAS kernels doing the arithmetic


def test_reports_record_the_cpu_and_the_kernels_it_computes_with():
    # the BLAS kernels decide round-off digits (and decided the E modes of the CH4 sampler)
    script = (
        "import json, numpy; from degeneracy.provenance import floating_point_environment; "
        "print(json.dumps(floating_point_environment()))"
    )
    found = json_under_openblas_kernels(script)
    for kernel, environment in found.items():
        assert set(environment) == {"cpu", "blas", "numpy_simd"}
        assert environment["blas"].startswith("openblas ")
        assert f"({kernel} kernels, " in environment["blas"]
        assert environment["cpu"] and environment["cpu"] != "unknown"
        assert "numpy.libs)" in environment["blas"]  # which package's BLAS it is
        if int(numpy.__version__.split(".")[0]) >= 2:  # numpy.lib.introspect
            assert not environment["numpy_simd"].startswith("unknown")
    assert {"cpu", "blas", "numpy_simd", "numpy"} <= set(software_versions())


def test_provenance_never_fails_a_run(monkeypatch):
    """It is written after hours of work (metrics.json, the report): a library that cannot
    say its kernels gives an 'unknown' field, not an exception."""
    import threadpoolctl

    def broken():
        raise RuntimeError("no libraries here")

    monkeypatch.setattr(threadpoolctl, "threadpool_info", broken)
    recorded = floating_point_environment()
    assert recorded["blas"] == "unknown (RuntimeError: no libraries here)"
    assert recorded["cpu"] and not recorded["cpu"].startswith("unknown")


def test_format_cell():
    assert format_cell(1.23456e-7) == "1.235e-07"
    assert format_cell(208.0) == "208"
    assert format_cell(None) == "—" and format_cell(True) == "yes"
    assert format_cell(float("nan")) == "—"


def _chrome():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("chromium/chromedriver not installed (make browser)")
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_headless_browser(report_file):
    browser = _chrome()
    try:
        browser.get(report_file.as_uri())
        assert browser.title == "Test report"
        widths = browser.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert widths and all(w > 0 for w in widths)
        assert browser.execute_script("return document.querySelectorAll('table').length") == 3
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        browser.quit()
