"""The Comment's orbit family: A0, ``comment_orbit``, ``degeneracy family``, Fig. 1."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import ase.io
import ase.units
import matplotlib.figure
import numpy as np
import pytest
from conftest import StopTracing, arc_frames, published_a0, reference_path

import degeneracy as dg
from degeneracy import orbits
from degeneracy.cli import main
from degeneracy.cli.family import format_family
from degeneracy.figures.fig1 import make_fig1, plot_fig1b
from degeneracy.orbits import (
    COMMENT_DISTANCES,
    COMMENT_SIGMAS,
    comment_a0,
    comment_orbit,
    median_cn,
    orbit_deviation,
    orbit_start,
    published_median_cn,
    run_family,
)


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Cache orbits and A0 in a folder of this module only (gto basis: nothing to fit)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEGENERACY_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def a0_quick():
    return comment_a0(quick=True)


def test_orbit_start():
    a0 = np.zeros((4, 3)) + 1.0
    p0 = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    np.testing.assert_array_equal(orbit_start(a0, p0, 1.0), p0)
    np.testing.assert_allclose(orbit_start(a0, p0, 0.5), (a0 + p0) / 2)
    np.testing.assert_allclose(orbit_start(a0, p0, 1.5), p0 + 0.5 * (p0 - a0))


def test_a0_from_the_traced_orbit_is_singular(a0_quick):
    assert a0_quick.info["cn"] > 1e10
    assert not a0_quick.info["symmetric"]
    assert a0_quick.info["jacobian_evaluations"] < 200


def test_a0_reaches_round_off_at_every_sigma_of_the_family(a0_quick):
    """The zero at A0 is geometric: every σ's s_min reaches its round-off floor there (a
    search stopped at CN 1e13 at σ = 0.3 Å left CN 3e12 at σ = 0.1 Å; the Comment: ≈1e14
    for every σ). Recomputed here, not read from the search's info."""
    analyses = {
        sigma: dg.analyse_frames([a0_quick], orbits.comment_representation(sigma))[0]
        for sigma in COMMENT_SIGMAS
    }
    for sigma, analysis in analyses.items():
        values = analysis.singular_values
        at_floor = values[-1] <= 9 * np.finfo(float).eps * values[0]
        assert analysis.cn >= 1e14 or at_floor, (sigma, analysis.cn)
    assert list(a0_quick.info["cn_sigmas"]) == list(COMMENT_SIGMAS)
    assert np.all(np.asarray(a0_quick.info["cn_at_sigmas"]) >= 1e14)


def test_a0_lands_near_the_published_one(a0_quick):
    published = published_a0()
    a0 = dg.neighbor_positions(a0_quick)
    assert np.linalg.norm(a0 - published) < 0.05
    assert dg.aligned_distance(a0, published) < 0.03


def test_comment_orbit_quick_is_cached(private_cache, a0_quick, monkeypatch):
    frames = comment_orbit(0.3, 1.0, quick=True)
    assert len(frames) == 201
    np.testing.assert_allclose(
        [f.info["arc_length"] for f in frames], np.linspace(0, 2, 201), atol=1e-9
    )
    assert frames[0].info["sigma"] == 0.3 and frames[0].info["c"] == 1.0
    # c = 1 starts at P0 (the built-in pg-start)
    np.testing.assert_allclose(
        dg.neighbor_positions(frames[0]),
        dg.neighbor_positions(dg.builtin_environment("pg-start")),
        atol=1e-8,  # extxyz keeps 8 decimals
    )
    cached = list((private_cache / "orbits").glob("orbit-*.extxyz"))
    assert cached
    again = comment_orbit(0.3, 1.0, quick=True)
    np.testing.assert_array_equal(dg.neighbor_positions(again), dg.neighbor_positions(frames))
    # a truncated cache file (a crash, a full disk) is traced again, not an error naming
    # a file the user never gave
    [orbit_file] = [f for f in cached if f.stat().st_size > 3000]
    orbit_file.write_bytes(orbit_file.read_bytes()[:3000])
    with pytest.warns(
        dg.DegeneracyWarning, match="damaged cache file .* tracing the orbit again"
    ) as seen:
        healed = comment_orbit(0.3, 1.0, quick=True)
    [message] = [str(w.message) for w in seen if "damaged cache file" in str(w.message)]
    assert message.count(str(orbit_file)) == 1, message  # named once, not twice
    np.testing.assert_array_equal(dg.neighbor_positions(healed), dg.neighbor_positions(frames))
    # cut at a frame boundary it still reads: 10 frames of 201 were used without a word
    lines = orbit_file.read_text().splitlines(keepends=True)
    orbit_file.write_text("".join(lines[:70]))  # 10 frames of 7 lines
    with pytest.warns(dg.DegeneracyWarning, match=r"\(10 frames, not the 201 of the trace\)"):
        healed = comment_orbit(0.3, 1.0, quick=True)
    np.testing.assert_array_equal(dg.neighbor_positions(healed), dg.neighbor_positions(frames))
    # c = 1 starts at P0: no A0 needed (its search took minutes where it was not cached)
    import degeneracy.orbits as orbits_module

    def no_search(**_):
        raise AssertionError("A0 searched for c = 1")

    monkeypatch.setattr(orbits_module, "comment_a0", no_search)
    np.testing.assert_array_equal(
        dg.neighbor_positions(comment_orbit(0.3, 1.0, quick=True)), dg.neighbor_positions(frames)
    )
    monkeypatch.undo()
    # a smaller c starts closer to A0 and stays more singular
    inner = comment_orbit(0.3, 0.5, quick=True)
    start = dg.neighbor_positions(inner[0])
    a0 = dg.neighbor_positions(a0_quick)
    p0 = dg.neighbor_positions(frames[0])
    np.testing.assert_allclose(start, a0 + 0.5 * (p0 - a0), atol=1e-8)
    assert median_cn(inner) > median_cn(frames)


def test_comment_orbit_quick_matches_published(a0_quick):
    published = ase.io.read(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"), ":")
    frames = comment_orbit(0.3, 1.0, quick=True)
    assert dg.orbit_deviation(frames, published) < 0.05
    assert 1 / 1.5 < median_cn(frames) / median_cn(published) < 1.5


def test_family_cli_short(tmp_path, a0_quick, capsys):
    out = tmp_path / "family"
    args = ["family", "--output", str(out), "--quick", "--length", "0.02", "--workers", "2"]
    reference = reference_path("README.md").parent if _has_reference() else None
    if reference is not None:
        args += ["--reference", str(reference)]
    assert main(args) == 0
    table = capsys.readouterr().out
    for sigma in COMMENT_SIGMAS:
        for c in COMMENT_DISTANCES:
            frames = ase.io.read(out / f"orbit_sigma{sigma}_c{c}.extxyz", ":")
            assert len(frames) == 3
            assert frames[-1].info["jacobian_evaluations"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["orbits"]) == 16
    np.testing.assert_allclose(summary["a0"], dg.neighbor_positions(a0_quick), atol=1e-9)
    for name in ("fig1a.png", "fig1a.pdf", "fig1b.png", "fig1b.pdf"):
        assert (out / name).stat().st_size > 1000
    assert "median_CN" in table
    # A0's orbit: the family's integrator, its own 2 Å
    assert summary["a0_protocol"] == {**summary["protocol"], "length": 2.0}
    assert summary["a0_source"] == {"search": "comment_a0"}
    assert summary["a0_info"]["search_start"] == "orbit mean"
    _assert_no_result_paths(summary, out)
    assert all(row["smallest_gap"] > 0 for row in summary["orbits"])
    if reference is not None:
        assert "deviation" in table and "shape_Å" in table
        c1 = next(o for o in summary["orbits"] if o["sigma"] == 0.3 and o["c"] == 1.0)
        assert c1["deviation"] < 0.01
        assert 0 <= c1["shape_distance"] < 0.01 and c1["start_distance"] < 1e-4  # P0 both
        # the published CN read at our 0.01 and 0.02 Å (its frames: 1e-4, 0.0101, 0.0201 Å)
        published = ase.io.read(reference / "comment-orbit_sigma0.3_c1.0.extxyz", ":4")
        arcs = [a.info["arc_length"] for a in published[1:]]
        log_cn = np.log([median_cn([a]) for a in published[1:]])
        expected = np.mean(np.exp(np.interp([0.01, 0.02], arcs, log_cn)))
        assert c1["reference_median_cn"] == pytest.approx(expected)


def test_a_family_interrupted_while_drawing_fig1_does_not_look_finished(
    tmp_path, a0_quick, capsys, monkeypatch
):
    """summary.json was written before Fig. 1: Ctrl-C between them left a folder that
    looked finished, without its figures."""
    import degeneracy.figures.fig1 as fig1

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fig1, "make_fig1", interrupted)
    out = tmp_path / "family"
    argv = ["family", "--output", str(out), "--quick", "--length", "0.01", "--workers", "1"]
    assert main(argv) == 130
    assert (out / "a0.extxyz").exists() and not (out / "summary.json").exists()
    monkeypatch.undo()
    assert main(argv) == 0  # the orbits from the cache, then the figures and summary
    assert (out / "summary.json").exists() and (out / "fig1b.png").stat().st_size > 1000
    assert "figures: " in capsys.readouterr().out


def test_a_second_family_into_a_folder_being_written_is_refused(tmp_path, monkeypatch):
    """Two family runs into one folder: the second cleared the first's results (its
    summary, A0, orbits) while the first wrote them. It is refused before any work."""
    import fcntl
    import os

    from degeneracy.files import OUTPUT_LOCK, record_lock_owner

    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    out = tmp_path / "family"
    out.mkdir()
    (out / "summary.json").write_text("{}")  # the first run's, about to be replaced
    # the first run's lock, as another process holds it (flock is per open file; the
    # process's own exclusive_output would enter the folder again)
    with open(out / OUTPUT_LOCK, "w") as first:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        record_lock_owner(first.fileno())
        with pytest.raises(dg.DegeneracyError) as refused:
            run_family(out, quick=True, length=0.01)
    assert str(refused.value) == (
        f"another family is writing {out} (pid {os.getpid()}); wait for it or choose "
        "another output=..."
    )
    assert (out / "summary.json").read_text() == "{}"


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [*value.keys(), *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _assert_no_result_paths(summary: dict, out) -> None:
    """No absolute path, nor the results folder, anywhere in ``summary``; the members'
    files are named relative to ``out``."""
    for text in _strings(summary):
        assert not os.path.isabs(text), text
        assert str(out) not in text, text
    for row in summary["orbits"]:
        assert row["file"] == orbits.family_file_name(row["sigma"], row["c"])
        assert (out / row["file"]).is_file()


def _has_reference() -> bool:
    try:
        reference_path("README.md")
    except pytest.skip.Exception:
        return False
    return True


def test_fig1_from_a_mapping(tmp_path, a0_quick):
    frames = comment_orbit(0.3, 1.0, quick=True)[:50]
    paths = make_fig1({(0.3, 1.0): frames}, a0_quick, tmp_path)
    assert sorted(p.name for p in paths) == ["fig1a.pdf", "fig1a.png", "fig1b.pdf", "fig1b.png"]
    assert all(os.path.getsize(p) > 1000 for p in paths)


def test_family_bad_output(tmp_path):
    with pytest.raises(dg.DegeneracyError, match="does not exist"):
        run_family(tmp_path / "missing" / "family", quick=True)
    (tmp_path / "file").write_text("not a folder\n")
    with pytest.raises(dg.DegeneracyError, match="exists and is not a folder"):
        run_family(tmp_path / "file", quick=True)
    assert (tmp_path / "file").read_text() == "not a folder\n"


def _orbit_frames(arc_lengths, cns) -> list:
    """pg-start copies with the info of orbit frames (for the comparison helpers)."""
    frames = []
    for arc, cn in zip(arc_lengths, cns, strict=True):
        atoms = dg.builtin_environment("pg-start")
        atoms.info.update({"arc_length": arc, "cn": cn})
        frames.append(atoms)
    return frames


def test_published_median_cn_at_our_arc_lengths():
    """P&G's frames sit at 1e-4 + 0.01 k Å, ours at 0.01 k: the published CN is read at
    our arc lengths (log-linear between its frames), so that a short orbit is not
    compared with P&G's frame 1e-4 Å from the start (0.72 for identical orbits)."""
    published = _orbit_frames([0, 1e-4, 0.0101, 0.0201, 1.0], [1, 10, 20, 1000, 5000])
    ours = _orbit_frames([0, 0.01, 0.02], [1, 1, 1])
    at_001 = np.exp(np.interp(0.01, [1e-4, 0.0101], np.log([10, 20])))
    at_002 = np.exp(np.interp(0.02, [0.0101, 0.0201], np.log([20, 1000])))
    assert published_median_cn(ours, published) == pytest.approx((at_001 + at_002) / 2)
    assert published_median_cn(ours[:1], published) is None
    assert published_median_cn(_orbit_frames([0, 2.0], [1, 1]), published) is None  # beyond


def test_published_median_cn_of_a_short_reference_orbit_matches_its_own(tmp_path):
    """The audit's case: 0.05 Å of the σ = 0.3, c = 1 orbit traced from its published
    start, 3e-5 Å from the published path, had a CN ratio of 0.72; now within 2 %."""
    published = dg.read_environments(
        reference_path("comment-orbit_sigma0.3_c1.0.extxyz"), spec="any"
    )
    ours = dg.trace_orbit(
        published[0], dg.SoapPowerSpectrum(sigma=0.3), length=0.05, method="adaptive"
    ).frames
    assert orbit_deviation(ours, published) < 1e-3
    ratio = median_cn(ours) / published_median_cn(ours, published)
    assert ratio == pytest.approx(1.0, abs=0.02)


def _no_a0_search(*args, **kwargs):
    raise AssertionError("A0 searched before the arguments were checked")


def test_family_refuses_a_bad_length_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    out = tmp_path / "family"
    with pytest.raises(dg.DegeneracyError, match="length"):
        run_family(out, quick=True, length=0.015)
    assert not out.exists()
    assert main(["family", "--output", str(out), "--quick", "--length", "-1"]) == 2
    assert "length must be a positive number" in capsys.readouterr().err
    # the spacing is the family's, not an option it has (it named save_every)
    assert main(["family", "--output", str(out), "--quick", "--length", "0.015"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "--length 0.015 Å must be a whole multiple of 0.01 Å, the spacing of the family's "
            "frames (ratio 1.5)"
        )
    )


def test_one_method_is_one_protocol_whatever_quick_says():
    """--quick --method euler once kept the adaptive tol, and --method adaptive without
    --quick the Euler step: protocols (and cache keys) that differed for one orbit."""
    assert orbits.family_protocol(True, method="euler") == orbits.family_protocol(False)
    assert orbits.family_protocol(False, method="adaptive") == orbits.family_protocol(True)
    assert "tol" not in orbits.family_protocol(True, method="euler")
    assert orbits.family_protocol(True, length=0.5)["length"] == 0.5
    with pytest.raises(dg.DegeneracyError, match="method"):
        orbits.family_protocol(method="rk4")


def test_family_method_applies_to_the_a0_orbit(tmp_path, monkeypatch):
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))  # A0 not cached yet
    calls = []

    def record(start, sigma, *, protocol, **kwargs):
        calls.append(protocol)
        raise StopTracing

    monkeypatch.setattr(orbits, "cached_orbit", record)
    with pytest.raises(StopTracing):
        run_family(tmp_path / "family", method="adaptive", length=0.02)
    assert calls[0]["method"] == "adaptive" and calls[0]["length"] == 2.0


def test_family_reference_folder_is_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    with pytest.raises(dg.DegeneracyError, match="missing: reference folder does not exist"):
        run_family(tmp_path / "family", quick=True, reference=tmp_path / "missing")
    folder = tmp_path / "reference"
    folder.mkdir()
    with pytest.raises(dg.DegeneracyError, match="no published orbit files"):
        run_family(tmp_path / "family", quick=True, reference=folder)
    published = _orbit_frames([0, 1e-4, 0.0101, 0.0201], [1, 10, 20, 1000])
    dg.write_environments(folder / "comment-orbit_sigma0.3_c1.0.extxyz", published)
    a0 = dg.neighbor_positions(dg.builtin_environment("pg-start")) * 1.01
    with (
        pytest.warns(dg.DegeneracyWarning, match="comment-orbit_sigma0.3_c0.5.extxyz"),
        pytest.warns(dg.DegeneracyWarning, match="given A0: .* regular, not singular"),
    ):
        members = run_family(
            tmp_path / "family", quick=True, length=0.01, workers=1, a0=a0,
            reference=folder, sigmas=(0.3,), distances=(1.0, 0.5),
        )  # fmt: skip
    compared = {m.c: m.deviation is not None for m in members}
    assert compared == {1.0: True, 0.5: False}
    summary = json.loads((tmp_path / "family" / "summary.json").read_text())
    assert summary["a0_source"] == {"array": "run_family(a0=...)"}
    assert summary["a0_info"] == {"search_start": "given"} and summary["a0_protocol"] is None


def test_family_refuses_a_published_orbit_without_arc_length_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    folder = tmp_path / "reference"
    folder.mkdir()
    published = _orbit_frames([0, 1e-4, 0.0101], [1, 10, 20])
    del published[1].info["arc_length"]
    dg.write_environments(folder / "comment-orbit_sigma0.3_c1.0.extxyz", published)
    with pytest.raises(dg.DegeneracyError, match=r"c1.0.extxyz, frame 1: no arc_length"):
        run_family(
            tmp_path / "family", quick=True, reference=folder, sigmas=(0.3,), distances=(1.0,)
        )
    for atoms in published:
        atoms.info.update(arc_length=0.0)
        del atoms.info["cn"]
    dg.write_environments(folder / "comment-orbit_sigma0.3_c1.0.extxyz", published)
    with pytest.raises(dg.DegeneracyError, match="no frame with a condition number"):
        run_family(
            tmp_path / "family", quick=True, reference=folder, sigmas=(0.3,), distances=(1.0,)
        )


def test_family_checks_every_start_before_tracing(tmp_path, monkeypatch):
    """A given A0 far from pg-start can put a start A0 + c (P0 − A0) onto the centre."""
    monkeypatch.setattr(orbits, "cached_orbit", _no_a0_search)
    a0 = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    a0[0] *= -2.0 / np.linalg.norm(a0[0])
    with pytest.raises(dg.DegeneracyError, match=r"orbit start .* c = 0.5: atoms 0 and 1"):
        run_family(tmp_path / "family", quick=True, a0=a0, sigmas=(0.3,))


def test_family_table_without_a_published_ratio():
    """A published orbit with no frame past the start in the traced length: no CN ratio."""
    frames = _orbit_frames([0, 0.01], [100, 200])
    member = orbits.FamilyMember(
        sigma=0.1, c=0.1, path=None, frames=frames, jacobian_evaluations=3, median_cn=150.0
    )
    member.deviation, member.reference_median_cn = 0.04, None
    row = format_family([member]).splitlines()[1].split()
    assert row[-5:] == ["—", "—", "0.0400", "—", "—"]  # no shape nor start distance either
    member.shape_distance, member.start_distance = 0.0012, 0.045
    row = format_family([member]).splitlines()[1].split()
    assert row[4:] == ["—", "—", "—", "0.0400", "0.0012", "0.0450"]  # no singular values


def test_family_a0_file_in_bohr(tmp_path, monkeypatch, capsys):
    given = {}

    def fake_family(output, **kwargs):
        given.update(kwargs)
        return []

    monkeypatch.setattr("degeneracy.cli.family.run_family", fake_family)
    atoms = dg.builtin_environment("pg-start")
    in_bohr = atoms.copy()
    in_bohr.positions /= ase.units.Bohr
    broken = in_bohr.copy()
    broken.positions[2, 1] = np.nan
    # only frame 0 is used, so only frame 0 is read (helper-56: refused for frame 1)
    ase.io.write(tmp_path / "a0_bohr.extxyz", [in_bohr, broken])
    args = ["family", "--output", str(tmp_path / "f"), "--no-figures", "--a0"]
    assert main([*args, str(tmp_path / "a0_bohr.extxyz"), "--units", "bohr"]) == 0
    np.testing.assert_allclose(given["a0"], dg.neighbor_positions(atoms), atol=1e-12)
    assert main(["family", "--output", str(tmp_path / "f"), "--units", "bohr"]) == 2
    assert "--units is the length unit of --a0 FILE" in capsys.readouterr().err


def test_a_given_a0_that_is_not_a_spurious_zero_is_warned_about(recwarn):
    """helper-56: any CH4 was taken as A0 silently. The published A0 (CN ~1e7, spurious)
    passes; a tetrahedron (zeros forced by symmetry) and pg-start (no zero) are named."""
    orbits.warn_unless_singular_a0(dg.environment_from_neighbors(published_a0()), "gto")
    assert not [w for w in recwarn if issubclass(w.category, dg.DegeneracyWarning)]
    with pytest.warns(dg.DegeneracyWarning, match=r"given A0: CN inf .* symmetry \(residual"):
        orbits.warn_unless_singular_a0(dg.regular_tetrahedron(), "gto")
    with pytest.warns(dg.DegeneracyWarning, match=r"given A0: CN \S+ .* regular, not singular"):
        orbits.warn_unless_singular_a0(dg.builtin_environment("pg-start"), "gto")


def test_family_a0_file_is_recorded_and_the_folder_can_be_moved(tmp_path, monkeypatch, capsys):
    """summary.json did not say where a given A0 came from (file, frame, units): only
    ``search_start: given``. And a results folder must stay readable once moved: the
    summary names its files relative to the folder, never by an absolute path."""
    from degeneracy.reproduce import _family_frames

    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    monkeypatch.chdir(tmp_path)
    atoms = dg.environment_from_neighbors(
        dg.neighbor_positions(dg.builtin_environment("pg-start")) * 1.01
    )
    in_bohr = atoms.copy()
    in_bohr.positions /= ase.units.Bohr
    ase.io.write("a0_bohr.extxyz", [in_bohr, atoms])  # frame 0 is the A0 used
    out = tmp_path / "family"
    args = ["family", "--output", str(out), "--quick", "--length", "0.01", "--workers", "1"]
    assert main([*args, "--no-figures", "--a0", "a0_bohr.extxyz", "--units", "bohr"]) == 0
    capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["a0_source"] == {"file": "a0_bohr.extxyz", "frame": 0, "units": "bohr"}
    assert summary["a0_info"] == {"search_start": "given"}  # not repeated in a0_source
    assert summary["a0_protocol"] is None
    np.testing.assert_allclose(summary["a0"], dg.neighbor_positions(atoms), atol=1e-12)
    assert len(summary["orbits"]) == 16
    _assert_no_result_paths(summary, out)
    # moved elsewhere (another parent, another name), the folder reads as before
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "moved"
    out.rename(moved)
    frames, a0 = _family_frames(moved)  # reproduce's reader (Fig. 1, the learned orbit)
    assert set(frames) == {(row["sigma"], row["c"]) for row in summary["orbits"]}
    np.testing.assert_allclose(dg.neighbor_positions(a0), summary["a0"], atol=1e-8)
    for row in json.loads((moved / "summary.json").read_text())["orbits"]:
        assert len(dg.read_environments(moved / row["file"])) == row["frames"]
    paths = make_fig1(frames, moved / "a0.extxyz", moved)
    assert all(p.parent == moved and p.stat().st_size > 1000 for p in paths)


def test_family_a0_source_is_checked_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    monkeypatch.setattr(orbits, "cached_orbit", _no_a0_search)
    out = tmp_path / "family"
    source = {"file": "a0.extxyz", "frame": 0, "units": "angstrom"}
    with pytest.raises(dg.DegeneracyError, match="a0_source describes a given A0"):
        run_family(out, quick=True, a0_source=source)
    a0 = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    for bad in (["file", "a0.extxyz"], {1: "a0.extxyz"}, {"file": object()}):
        with pytest.raises(dg.DegeneracyError, match="a0_source"):
            run_family(out, quick=True, a0=a0, a0_source=bad)
    assert not out.exists()


def test_fig1_is_saved_atomically(tmp_path, monkeypatch):
    targets = []
    original = matplotlib.figure.Figure.savefig

    def recording(self, fname, *args, **kwargs):
        targets.append(str(fname))
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", recording)
    frames = _orbit_frames([0, 0.01, 0.02], [100, 200, 150])
    paths = plot_fig1b({(0.1, 1.0): frames}, tmp_path / "fig1b")
    assert [p.name for p in paths] == ["fig1b.png", "fig1b.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert len(targets) == 2 and all(t.endswith(".part") for t in targets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig1b.pdf", "fig1b.png"]


@pytest.mark.slow
def test_full_family_reproduces_published_trends(tmp_path):
    """The Comment's protocol (Euler 1e-4 Å, 2 Å) for all 16 orbits, plain GTO basis."""
    members = run_family(tmp_path / "family", workers=2)
    cn = {(m.sigma, m.c): m.median_cn for m in members}
    for sigma in COMMENT_SIGMAS:
        inner = min(cn[sigma, c] for c in COMMENT_DISTANCES if c <= 0.5)
        outer = max(cn[sigma, c] for c in COMMENT_DISTANCES if c >= 1.0)
        assert inner > outer, f"sigma={sigma}"
    for c in COMMENT_DISTANCES:
        assert cn[0.5, c] > 10 * cn[0.1, c], f"c={c}"


def test_a_stopped_family_pool_does_not_finish_its_running_orbits():
    """Ctrl-C waited for the orbits already handed to workers (minutes each) and the
    workers, catching it themselves, started the next ones."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(2, mp_context=context, initializer=orbits._worker_init)
    futures = [pool.submit(time.sleep, 60) for _ in range(4)]
    deadline = time.monotonic() + 60
    while len(pool._processes) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    processes = list(pool._processes.values())
    started = time.monotonic()
    orbits._stop_pool(pool)
    while any(p.is_alive() for p in processes) and time.monotonic() - started < 15:
        time.sleep(0.1)  # the pool's own thread may be the one that reaps them
    assert time.monotonic() - started < 15  # not the 60 s of the tasks they held
    assert not any(process.is_alive() for process in processes)
    finished = [f for f in futures if f.done() and not f.cancelled() and not f.exception()]
    assert not finished  # no task ran to its end


def test_a_new_family_run_removes_the_previous_results_first(tmp_path, monkeypatch):
    """A run with other settings into an old folder kept its figures (and, interrupted,
    its summary.json and orbits): the folder mixed two runs, or looked finished."""
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    out = tmp_path / "family"
    out.mkdir()
    old = [*orbits.FAMILY_OUTPUTS, "orbit_sigma0.3_c1.0.extxyz", "orbit_sigma0.5_c0.1.extxyz"]
    for name in [*old, "notes.txt", "orbit_sigma0.3_c1.0.extxyz.bak"]:
        (out / name).write_text("old run\n")
    with pytest.raises(AssertionError, match="A0 searched"):
        run_family(out, quick=True, length=0.5)
    assert sorted(p.name for p in out.iterdir()) == [
        ".degeneracy.lock",  # held while a run writes the folder
        "notes.txt",
        "orbit_sigma0.3_c1.0.extxyz.bak",
    ]


def test_family_workers_have_a_maximum_checked_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    out = tmp_path / "family"
    for workers in (0, orbits.MAX_WORKERS + 1, 2147483647):
        # the library names its parameter, the command line the option
        with pytest.raises(dg.DegeneracyError, match=r"^workers must be at least 1 and at most 64"):
            run_family(out, quick=True, workers=workers)
        assert main(["family", "--output", str(out), "--quick", "--workers", str(workers)]) == 2
        assert "--workers must be at least 1 and at most 64" in capsys.readouterr().err
    assert not out.exists()


def test_an_interrupted_family_leaves_no_partial_files(tmp_path, monkeypatch):
    """A worker terminated while writing its member left .orbit_*.extxyz.*.part files."""
    tasks = [{"path": str(tmp_path / orbits.family_file_name(0.3, c))} for c in (0.1, 0.5)]
    (tmp_path / "notes.part").write_text("the user's\n")

    def interrupted(task):
        (tmp_path / f".{os.path.basename(task['path'])}.x1y2.part").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(orbits, "_family_worker", interrupted)
    with pytest.raises(KeyboardInterrupt):
        orbits._run_tasks(tasks, 1, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.part"]


def test_a_terminated_family_worker_runs_its_finally_blocks(monkeypatch):
    """_stop_pool's SIGTERM killed a worker without the atomic writers' cleanup."""
    import signal
    import time

    ran = []

    def tracing(task):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            ran.append("cleanup")

    def exit_(code):
        raise StopTracing(code)

    monkeypatch.setattr(orbits, "_IN_POOL_WORKER", True)
    monkeypatch.setattr(orbits, "_trace_member", tracing)
    monkeypatch.setattr(orbits.os, "_exit", exit_)
    with pytest.raises(StopTracing):
        orbits._family_worker({})
    assert ran == ["cleanup"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_damaged_cached_a0_is_searched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))
    searches = []
    start = dg.builtin_environment("pg-start")

    class Result:
        atoms = dg.environment_from_neighbors(
            dg.neighbor_positions(start), info={"cn": 1e12, "singular_values": np.ones(3)}
        )

    monkeypatch.setattr(orbits, "cached_orbit", lambda *args, **kwargs: [start])
    monkeypatch.setattr(orbits, "search_a0", lambda *a, **k: searches.append(1) or Result.atoms)
    first = comment_a0(quick=True)
    [path] = (tmp_path / "cache").glob("comment-a0-*.npz")
    for damaged in (path.read_bytes()[:100], b"not an npz file\n"):
        path.write_bytes(damaged)
        with pytest.warns(dg.DegeneracyWarning, match="damaged cache file .* searching A0"):
            again = comment_a0(quick=True)
        np.testing.assert_array_equal(again.positions, first.positions)
    assert len(searches) == 3


def test_a_damaged_cached_orbit_checkpoint_is_discarded(tmp_path, monkeypatch):
    """The advice was degeneracy orbit's --restart, which family does not have."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))
    start = dg.neighbor_positions(dg.builtin_environment("pg-start"))
    protocol = orbits.family_protocol(True, length=0.01)
    path = orbits._orbit_cache_path(start, 0.3, "gto", protocol)
    checkpoint = path.with_name(path.name + ".checkpoint.npz")
    checkpoint.write_bytes(b"not a checkpoint\n")
    with pytest.warns(dg.DegeneracyWarning, match="damaged cache checkpoint") as record:
        frames = orbits.cached_orbit(start, 0.3, protocol=protocol)
    assert len(frames) == 2
    assert not any("--restart" in str(w.message) for w in record)
    assert not checkpoint.exists()


@pytest.mark.parametrize(
    ("arcs", "cns", "problem"),
    [
        ([0, 1e-4, 0.0101], [1, float("nan"), 20], "frame 1: cn must be finite and positive"),
        ([0, 1e-4, 0.0101], [1, 10, -2], "frame 2: cn must be finite and positive"),
        ([0, 1e-4, 0.0001], [1, 10, 20], "frame 2: arc_length 0.0001 does not increase"),
        ([0, float("nan"), 0.0101], [1, 10, 20], "frame 1: arc_length nan is not finite"),
    ],
)
def test_family_refuses_damaged_published_values_before_any_work(
    tmp_path, monkeypatch, arcs, cns, problem
):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    folder = tmp_path / "reference"
    folder.mkdir()
    published = _orbit_frames(arcs, cns)
    dg.write_environments(folder / "comment-orbit_sigma0.3_c1.0.extxyz", published)
    with pytest.raises(dg.DegeneracyError, match=rf"c1.0.extxyz, {problem}"):
        run_family(
            tmp_path / "family", quick=True, reference=folder, sigmas=(0.3,), distances=(1.0,)
        )


def test_family_refuses_damaged_published_singular_values(tmp_path, monkeypatch):
    monkeypatch.setattr(orbits, "comment_a0", _no_a0_search)
    folder = tmp_path / "reference"
    folder.mkdir()
    published = _orbit_frames([0, 1e-4, 0.0101], [1, 10, 20])
    for atoms in published:
        del atoms.info["cn"]
        atoms.info["singular_values"] = np.array([3.0, 2.0, 1.0])
    published[2].info["singular_values"] = np.array([3.0, 0.0, float("nan")])
    dg.write_environments(folder / "comment-orbit_sigma0.3_c1.0.extxyz", published)
    with pytest.raises(
        dg.DegeneracyError, match=r"c1\.0\.extxyz, frame 2: singular_values must be finite"
    ):
        run_family(
            tmp_path / "family", quick=True, reference=folder, sigmas=(0.3,), distances=(1.0,)
        )


def test_a_pool_workers_warnings_go_back_to_the_parent(monkeypatch):
    """They were printed by the worker in Python's two-line format, not the command's."""

    def warning_member(task):
        warnings.warn("cache file damaged; tracing again", dg.DegeneracyWarning, stacklevel=1)
        return 0.3, 1.0, 7

    monkeypatch.setattr(orbits, "_trace_member", warning_member)
    monkeypatch.setattr(orbits, "_IN_POOL_WORKER", True)
    monkeypatch.setattr(orbits.signal, "signal", lambda *args: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is shown here
        result, caught = orbits._family_worker({})
    assert result == (0.3, 1.0, 7)
    assert caught == [("cache file damaged; tracing again", dg.DegeneracyWarning)]


def test_a_published_orbit_that_ends_early_is_compared_over_its_part():
    """A truncated published file (0.48 of 2 Å) was compared silently: our median CN over
    2 Å against theirs over 0.48 Å (ratio 0.82 instead of 0.94) (helper-127)."""
    from degeneracy.orbits import FamilyMember, _compare_covered_part

    arcs = np.linspace(0, 2, 201)
    ours = arc_frames(arcs, 10.0 ** (1 + arcs))  # CN rises along the orbit
    member = FamilyMember(
        sigma=0.2, c=1.0, path=Path("x"), frames=ours, jacobian_evaluations=0, median_cn=1e2
    )
    member.reference_median_cn = 10.0
    with pytest.warns(dg.DegeneracyWarning, match="ends at arc length 0.49 Å, this one at 2 Å"):
        _compare_covered_part(member, arc_frames(arcs[:50], np.ones(50)))
    assert member.covered_median_cn == pytest.approx(np.median(10.0 ** (1 + arcs[1:50])))
    assert member.cn_ratio == pytest.approx(member.covered_median_cn / 10.0)
    whole = FamilyMember(
        sigma=0.2, c=1.0, path=Path("x"), frames=ours, jacobian_evaluations=0, median_cn=1e2
    )
    whole.reference_median_cn = 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the published files end a frame early: no warning
        _compare_covered_part(whole, arc_frames(arcs[:200], np.ones(200)))
    assert whole.covered_median_cn is None and whole.cn_ratio == 10.0
