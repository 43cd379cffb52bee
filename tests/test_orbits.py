"""Orbit tracing (``degeneracy.orbits.trace_orbit``, ``degeneracy orbit``)."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest
from conftest import StopTracing, reference_path, stop_after

import degeneracy as dg
from degeneracy import orbits
from degeneracy.cli import main
from degeneracy.orbits import OrbitSettings, median_cn, orbit_deviation, trace_orbit


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(sigma=0.3)


@pytest.fixture(scope="module")
def pg_start():
    return dg.builtin_environment("pg-start")


@pytest.fixture(scope="module")
def euler_short(soap, pg_start):
    return trace_orbit(pg_start, soap, length=0.05, step=1e-4, save_every=0.01)


@pytest.fixture(scope="module")
def adaptive_short(soap, pg_start):
    return trace_orbit(pg_start, soap, length=0.05, method="adaptive", tol=1e-8)


def test_frames_and_info(euler_short, soap):
    frames = euler_short.frames
    assert len(frames) == 6
    np.testing.assert_allclose(euler_short.arc_length, np.linspace(0, 0.05, 6), atol=1e-12)
    for atoms in frames:
        for key in ("arc_length", "singular_values", "cn", "fourbody", "feature_distance"):
            assert key in atoms.info
    assert frames[0].info["feature_distance"] == 0.0
    assert frames[-1].info["jacobian_evaluations"] == 501 == euler_short.jacobian_evaluations
    # the diagnostics are those of the frame's own positions
    _, jacobian = soap.jacobian(frames[-1:])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames[-1:]))
    np.testing.assert_allclose(frames[-1].info["singular_values"], spectrum.values[0], rtol=1e-10)
    assert frames[-1].info["cn"] == pytest.approx(spectrum.cn[0], rel=1e-10)
    assert frames[-1].info["fourbody"] == pytest.approx(dg.fourbody_torsion(frames[-1]))


def test_orbit_is_low_sensitivity_and_does_not_rotate(euler_short, soap):
    positions = euler_short.positions.reshape(len(euler_short.frames), -1)
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    # unit speed in arc length: chords of 0.01 Å arcs are 0.01 Å (little curvature)
    np.testing.assert_allclose(steps, 0.01, rtol=1e-3)
    # no rigid rotation: displacements are orthogonal to the rotation generators
    generators = dg.rotation_generators(euler_short.positions[0])
    displacement = positions[1] - positions[0]
    assert np.linalg.norm(generators.T @ displacement) < 1e-4 * np.linalg.norm(displacement)
    # the features change far less along the orbit than along a random direction
    along = euler_short.frames[-1].info["feature_distance"]
    rng = np.random.default_rng(0)
    direction = rng.normal(size=12)
    direction -= generators @ np.linalg.lstsq(generators, direction, rcond=None)[0]
    direction *= 0.05 / np.linalg.norm(direction)
    moved = dg.environment_from_neighbors(euler_short.positions[0] + direction.reshape(4, 3))
    features = soap.features([euler_short.frames[0], moved])
    assert along < 0.05 * np.linalg.norm(features[1] - features[0])


def test_first_direction_follows_the_comments_convention(euler_short, soap, pg_start):
    displacement = euler_short.positions[1] - euler_short.positions[0]
    assert displacement[0, 0] > 0  # first neighbour moves towards +x
    backwards = trace_orbit(pg_start, soap, length=0.01, step=1e-3, reverse=True)
    back = backwards.positions[1] - backwards.positions[0]
    cosine = (
        (back.ravel() @ displacement.ravel()) / np.linalg.norm(back) / np.linalg.norm(displacement)
    )
    assert cosine < -0.99


def test_adaptive_matches_euler_with_far_fewer_jacobians(euler_short, adaptive_short):
    deviation = orbit_deviation(adaptive_short.frames, euler_short.frames)
    # Euler's own truncation error over 0.05 Å is ~1e-5 Å
    assert deviation < 1e-4
    assert adaptive_short.jacobian_evaluations * 5 < euler_short.jacobian_evaluations


def test_deviation_takes_an_orbit_in_either_direction_and_names_bad_frames(
    euler_short, adaptive_short
):
    forward = orbit_deviation(adaptive_short.frames, euler_short.frames)
    assert orbit_deviation(adaptive_short.frames[::-1], euler_short.frames) == forward
    assert orbit_deviation(euler_short.frames, euler_short.frames) == 0.0
    shuffled = [adaptive_short.frames[k] for k in (0, 2, 1, *range(3, len(adaptive_short.frames)))]
    with pytest.raises(dg.DegeneracyError, match="back and forth"):
        orbit_deviation(shuffled, euler_short.frames)
    bare = [atoms.copy() for atoms in euler_short.frames]
    del bare[3].info["arc_length"]
    with pytest.raises(dg.DegeneracyError, match="the reference, frame 3: no finite arc_length"):
        orbit_deviation(adaptive_short.frames, bare)
    bigger = [atoms + ase.Atoms("H", [[0.0, 0.0, 1.5]]) for atoms in euler_short.frames]
    with pytest.raises(dg.DegeneracyError, match="4 and 5 neighbours"):
        orbit_deviation(adaptive_short.frames, bigger)


def test_adaptive_error_control_converges(soap, pg_start, adaptive_short):
    loose = trace_orbit(pg_start, soap, length=0.05, method="adaptive", tol=1e-5)
    assert orbit_deviation(loose.frames, adaptive_short.frames) < 1e-4
    assert loose.jacobian_evaluations < adaptive_short.jacobian_evaluations


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"length": 0.015}, r"length 0.015 Å must be a whole multiple of save_every 0.01 Å"),
        # the step, not save_every (which the user may not have set), is named first
        ({"save_every": 0.01, "step": 3e-3}, r"the Euler step 0.003 Å must divide save_every"),
        ({"method": "rk4"}, "method"),
        ({"tol": -1.0}, "tol"),
        ({"length": 0.0}, "length"),
        # below MIN_STEP: named, not reported as a too-fast turn of the direction
        ({"method": "adaptive", "max_step": 1e-10}, "max_step must be at least 1e-09 Å"),
        # refused up front instead of running for days or filling the memory
        ({"length": 1e5}, r"is 1e\+07 frames, more than 1e\+06"),
        ({"length": 100.0, "step": 1e-8}, r"is 1e\+10 steps, more than 1e\+09"),
        # TypeErrors, the callback's only at the first checkpoint (after work)
        ({"callback": 5}, "callback must be callable or None, got 5"),
        ({"checkpoint": 5}, "checkpoint must be a file name, got 5"),
        ({"min_distance": -0.1}, "^min_distance must be a number ≥ 0, got -0.1$"),
    ],
)
def test_bad_settings(soap, pg_start, options, match):
    with pytest.raises(dg.DegeneracyError, match=match):
        trace_orbit(pg_start, soap, **options)


def _fixed_direction(monkeypatch, motion: np.ndarray) -> None:
    """Make every orbit follow the straight line ``motion`` (flat, 3N), whatever the
    fingerprint: no orbit of ours has come near a collision or the cutoff."""
    evaluate_direction = orbits._Field.direction

    def straight(self, r, reference):
        _, diagnostics = evaluate_direction(self, r, reference)
        return motion / np.linalg.norm(motion), diagnostics

    monkeypatch.setattr(orbits._Field, "direction", straight)


@pytest.mark.parametrize("method", ["euler", "adaptive"])
def test_an_orbit_that_brings_two_atoms_together_stops_with_an_error(
    soap, pg_start, monkeypatch, method
):
    neighbors = dg.neighbor_positions(pg_start)
    motion = np.zeros_like(neighbors)
    motion[0] = neighbors[3] - neighbors[0]  # H1 and H4 straight at each other, clear of C
    motion[3] = -motion[0]
    _fixed_direction(monkeypatch, motion.ravel())
    gap = np.linalg.norm(neighbors[3] - neighbors[0])  # closes at √2 Å per Å of arc
    with pytest.raises(dg.DegeneracyError) as error:
        trace_orbit(pg_start, soap, length=2.0, step=1e-3, method=method, start_name="start")
    message = str(error.value)
    assert message.startswith("start: the orbit leaves the environments at arc length ")
    assert "atoms 1 and 4 are " in message and "closer than 0.5 Å" in message
    arc = float(message.split("arc length ")[1].split(" Å")[0])
    assert 0.48 < float(message.split("atoms 1 and 4 are ")[1].split(" Å")[0]) < 0.5
    limit = (gap - 0.5) / np.sqrt(2)
    assert limit < arc <= limit + 0.01 + 1e-9  # the first saved frame past the limit
    # a smaller minimum distance lets it go on to its own limit
    with pytest.raises(dg.DegeneracyError, match=r"closer than 0\.2 Å"):
        trace_orbit(pg_start, soap, length=2.0, step=1e-3, method=method, min_distance=0.2)


def test_an_orbit_that_takes_a_neighbour_to_the_cutoff_stops_with_an_error(
    soap, pg_start, monkeypatch
):
    neighbors = dg.neighbor_positions(pg_start)
    motion = np.zeros_like(neighbors)
    motion[2] = neighbors[2]  # H3 straight out
    _fixed_direction(monkeypatch, motion.ravel())
    radius = np.linalg.norm(neighbors[2])
    with (
        pytest.raises(dg.DegeneracyError) as error,
        pytest.warns(dg.DegeneracyWarning, match="moves neighbour 1 along x by only 0"),
    ):
        trace_orbit(pg_start, soap, length=2.0, step=1e-3, method="adaptive")
    message = str(error.value)
    assert "atom 3 is 2.5" in message and f"at or beyond the cutoff {soap.cutoff} Å" in message
    arc = float(message.split("arc length ")[1].split(" Å")[0])
    assert soap.cutoff - radius <= arc < soap.cutoff - radius + 0.01 + 1e-9


def test_adaptive_length_just_below_a_multiple_of_save_every_ends(soap, pg_start):
    """A length accepted to 1e-6 relative is snapped: the last frame is not due past it
    (it was, and the adaptive loop then took zero-length steps forever)."""
    settings = OrbitSettings(length=0.0199999999, save_every=0.01)
    assert settings.length == 0.02 and settings.n_frames == 3
    orbit = trace_orbit(
        pg_start, soap, method="adaptive", length=0.0199999999, callback=stop_after(1000)
    )
    assert orbit.arc_length[-1] == 0.02 and len(orbit.frames) == 3
    assert orbit.steps < 10


@pytest.mark.parametrize(
    "options",
    [
        {"method": "euler", "step": 1e-3, "length": 0.05},
        {"method": "adaptive", "tol": 1e-8, "length": 0.05},
    ],
)
def test_interrupted_run_resumes_to_the_same_frames(tmp_path, soap, pg_start, options):
    reference = trace_orbit(pg_start, soap, **options)
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(StopTracing):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, callback=stop_after(2), **options)
    assert checkpoint.exists()
    resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    assert not checkpoint.exists()
    np.testing.assert_array_equal(resumed.positions, reference.positions)
    assert resumed.jacobian_evaluations == reference.jacobian_evaluations
    for ours, theirs in zip(resumed.frames, reference.frames, strict=True):
        np.testing.assert_array_equal(ours.info["singular_values"], theirs.info["singular_values"])
        assert ours.info["feature_distance"] == theirs.info["feature_distance"]


def test_checkpoint_of_another_run_is_refused(tmp_path, soap, pg_start):
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(StopTracing):
        trace_orbit(pg_start, soap, length=0.03, step=1e-3, checkpoint=checkpoint,
                    callback=stop_after(1))  # fmt: skip
    with pytest.raises(dg.DegeneracyError, match="different run"):
        trace_orbit(pg_start, soap, length=0.03, step=5e-4, checkpoint=checkpoint)


def _fake_basis(shift: int) -> dg.OptimalBasis:
    """An optimal basis for the default SOAP settings (σ = 0.3 Å), never computed with."""
    columns = np.eye(10)[:, shift : shift + 8]
    return dg.OptimalBasis(
        sigma=0.3, cutoff=2.5, n_max=8, l_max=8, n_primitive=10,
        projections=(columns,) * 9, variances=(np.ones(10),) * 9,
    )  # fmt: skip


def test_checkpoint_key_tells_optimal_bases_apart(pg_start):
    """Two basis files give the same hypers(); a checkpoint of one must not resume the other."""
    first, second = (
        dg.SoapPowerSpectrum(basis="optimal", optimal_basis=_fake_basis(shift)) for shift in (0, 2)
    )
    assert first.hypers() == second.hypers()
    settings = OrbitSettings(length=0.02)
    assert orbits._run_key(pg_start, first, settings) != orbits._run_key(pg_start, second, settings)
    again = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=_fake_basis(0))
    assert orbits._run_key(pg_start, first, settings) == orbits._run_key(pg_start, again, settings)


def _interrupted_checkpoint(tmp_path, soap, pg_start, options) -> Path:
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(StopTracing):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, callback=stop_after(1), **options)
    return checkpoint


def test_corrupt_checkpoint_is_refused_with_a_hint(tmp_path, soap, pg_start):
    options = {"length": 0.03, "step": 1e-3}
    checkpoint = _interrupted_checkpoint(tmp_path, soap, pg_start, options)
    complete = checkpoint.read_bytes()
    checkpoint.write_bytes(complete[: len(complete) // 2])  # truncated (killed copy, full disk)
    with pytest.raises(
        dg.DegeneracyError, match=r"run\.checkpoint\.npz: unreadable.*another checkpoint$"
    ):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    checkpoint.write_text("5\n\nC 0 0 0\n")  # another kind of file, given as --checkpoint
    with pytest.raises(
        dg.DegeneracyError, match=r"npz: not a checkpoint \(\.npz\) file.*another checkpoint$"
    ):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    with np.load(io.BytesIO(complete)) as data:
        state = {name: data[name] for name in data.files if name != "u"}
    np.savez(checkpoint, **state)
    with pytest.raises(
        dg.DegeneracyError, match=r"incomplete checkpoint \(no u\).*another checkpoint$"
    ):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)


def test_checkpoint_is_kept_until_the_output_is_written(tmp_path, soap, pg_start, monkeypatch):
    options = {"length": 0.02, "step": 1e-3}
    checkpoint, out = tmp_path / "run.checkpoint.npz", tmp_path / "run.extxyz"

    def full_disk(path, frames):
        raise OSError(f"{path}: no space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(orbits, "_write_frames", full_disk)
        with pytest.raises(OSError, match="no space"):
            trace_orbit(pg_start, soap, checkpoint=checkpoint, output=out, **options)
    assert checkpoint.exists() and not out.exists()
    resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, output=out, **options)
    assert out.exists() and not checkpoint.exists()
    reference = trace_orbit(pg_start, soap, **options)
    np.testing.assert_array_equal(resumed.positions, reference.positions)
    assert resumed.jacobian_evaluations == reference.jacobian_evaluations


@pytest.mark.parametrize("option", ["--output", "--checkpoint"])
def test_cli_checks_output_folders_before_tracing(tmp_path, capsys, monkeypatch, option):
    def traced(*args, **kwargs):
        raise AssertionError("traced before the output folders were checked")

    monkeypatch.setattr(orbits, "_Field", traced)
    paths = {"--output": tmp_path / "orbit.extxyz", "--checkpoint": tmp_path / "orbit.npz"}
    missing = tmp_path / "missing" / paths[option].name
    paths[option] = missing
    args = ["orbit", "--builtin", "pg-start", "--length", "0.02", "--step", "1e-3"]
    for name, path in paths.items():
        args += [name, str(path)]
    assert main(args) == 2
    assert f"{missing}: {option} folder {missing.parent} does not exist" in capsys.readouterr().err


def test_killed_cli_run_resumes(tmp_path, capsys):
    """SIGKILL a running `degeneracy orbit` after its first checkpoint, rerun, compare."""
    options = ["orbit", "--builtin", "pg-start", "--length", "0.04", "--step", "2e-4", "--quiet"]
    complete = tmp_path / "complete.extxyz"
    assert main([*options, "--output", str(complete)]) == 0
    out = tmp_path / "killed.extxyz"
    checkpoint = Path(f"{out}.checkpoint.npz")
    command = [sys.executable, "-m", "degeneracy", *options, "--output", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if process.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and not out.exists()
    capsys.readouterr()
    assert main([*options, "--output", str(out)]) == 0
    assert f"resumed from {checkpoint}" in capsys.readouterr().err
    ours, theirs = ase.io.read(out, ":"), ase.io.read(complete, ":")
    np.testing.assert_array_equal(dg.neighbor_positions(ours), dg.neighbor_positions(theirs))
    assert ours[-1].info["jacobian_evaluations"] == theirs[-1].info["jacobian_evaluations"]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.info["singular_values"], b.info["singular_values"])


def test_cli_contract(tmp_path, capsys):
    out = tmp_path / "orbit.extxyz"
    args = ["orbit", "--builtin", "pg-start", "--length", "0.02", "--method", "adaptive",
            "--tol", "1e-7", "--save-every", "0.01", "--output", str(out)]  # fmt: skip
    assert main(args) == 0
    frames = ase.io.read(out, ":")
    assert [f.info["arc_length"] for f in frames] == pytest.approx([0, 0.01, 0.02])
    assert len(frames[1].info["singular_values"]) == 9
    for key in ("cn", "fourbody", "feature_distance"):
        assert key in frames[1].info
    assert frames[-1].info["jacobian_evaluations"] > 0
    assert "jacobians" in capsys.readouterr().out
    assert main(["orbit", "--builtin", "pg-start", "--length", "0.015", "--output",
                 str(out)]) == 2  # fmt: skip
    assert "length" in capsys.readouterr().err
    for wrong in (["--tol", "1e-7"], ["--method", "adaptive", "--step", "1e-3"]):
        assert main(["orbit", "--builtin", "pg-start", *wrong, "--output", str(out)]) == 2
        assert "applies to --method" in capsys.readouterr().err


def test_cli_chemiscope_view_of_the_orbit(tmp_path, capsys):
    out, view = tmp_path / "orbit.extxyz", tmp_path / "orbit.json.gz"
    args = ["orbit", "--builtin", "pg-start", "--length", "0.02", "--method", "adaptive",
            "--save-every", "0.01", "--output", str(out)]  # fmt: skip
    # a bad viewer name is refused before anything is traced or written
    assert main([*args, "--chemiscope", str(tmp_path / "orbit.html")]) == 2
    assert ".json" in capsys.readouterr().err and not list(tmp_path.iterdir())
    assert main([*args, "--chemiscope", str(view)]) == 0
    assert f"chemiscope: {view} (3 frames)" in capsys.readouterr().out
    document = json.loads(gzip.decompress(view.read_bytes()))
    frames = ase.io.read(out, ":")
    assert len(document["structures"]) == 3
    properties = document["properties"]
    np.testing.assert_allclose(properties["arc length (Å)"]["values"], [0, 0.01, 0.02])
    np.testing.assert_allclose(
        properties["log10(CN)"]["values"], np.log10([f.info["cn"] for f in frames])
    )
    np.testing.assert_allclose(properties["E4"]["values"], [f.info["fourbody"] for f in frames])
    assert document["settings"]["map"]["color"]["property"] == "E4"
    assert "soap" in document["meta"]["description"]
    assert "adaptive, 0.02 Å of arc" in document["meta"]["description"]
    assert properties["arc length (Å)"]["units"] == "Å"


def test_the_orbit_view_of_a_file_read_in_bohr_says_it_shows_angstrom(tmp_path, capsys):
    """scan's view said "read in bohr, shown in Å"; the orbit's did not."""
    start = dg.builtin_environment("pg-start")
    start.positions /= ase.units.Bohr
    path, out, view = tmp_path / "start.xyz", tmp_path / "orbit.extxyz", tmp_path / "o.json"
    ase.io.write(path, start)
    args = ["orbit", str(path), "--units", "bohr", "--length", "0.01", "--method", "adaptive",
            "--save-every", "0.01", "--output", str(out), "--chemiscope", str(view)]  # fmt: skip
    assert main(args) == 0
    description = json.loads(view.read_text())["meta"]["description"]
    assert description.endswith("; read in bohr, shown in Å"), description
    np.testing.assert_allclose(
        ase.io.read(out, 0).positions, dg.builtin_environment("pg-start").positions, atol=1e-6
    )


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def test_orbit_chemiscope_leaves_out_an_undefined_e4(tmp_path):
    """E4 is NaN where three H atoms are collinear: it was written as NaN (no JSON) and
    still chosen to colour the map."""
    from degeneracy.figures.orbit import write_orbit_chemiscope

    frames = []
    for k in range(2):
        frame = dg.builtin_environment("pg-start")
        frame.info.update(
            arc_length=0.01 * k, cn=50.0, feature_distance=0.1 * k, fourbody=[0.5, np.nan][k]
        )
        frame.info["singular_values"] = np.linspace(2.0, 0.04, 9)
        frames.append(frame)
    view = tmp_path / "v.json"
    assert write_orbit_chemiscope(view, frames) == 2
    document = json.loads(view.read_text(), parse_constant=_not_json)  # as JavaScript reads
    assert "E4" not in document["properties"]
    assert "color" not in document["settings"]["map"]


def test_orbit_chemiscope_needs_orbit_frames(tmp_path):
    from degeneracy.figures.orbit import write_orbit_chemiscope

    with pytest.raises(dg.DegeneracyError, match="info key 'arc_length' missing"):
        write_orbit_chemiscope(tmp_path / "v.json", [dg.builtin_environment("td")])
    assert not list(tmp_path.iterdir())


def test_deviation_and_median_cn_helpers():
    base = dg.builtin_environment("pg-start")
    frames, shifted = [], []
    for k in range(5):
        for target, offset in ((frames, 0.0), (shifted, 0.002 * k)):
            atoms = base.copy()
            atoms.positions[1, 0] += 0.01 * k + offset
            atoms.info.update({"arc_length": 0.01 * k, "cn": 10.0 * (k + 1)})
            target.append(atoms)
    assert orbit_deviation(shifted, frames) == pytest.approx(0.008)
    assert median_cn(frames) == pytest.approx(35.0)  # frame 0 (arc length 0) is left out


def test_published_orbit_quick(soap):
    """σ = 0.3, c = 1 (starts at P0) with the adaptive integrator, plain GTO basis."""
    published = ase.io.read(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"), ":")
    orbit = trace_orbit(published[0], soap, length=2.0, method="adaptive", tol=1e-6)
    assert orbit_deviation(orbit.frames, published) < 0.05
    ratio = median_cn(orbit.frames) / median_cn(published)
    assert 1 / 1.5 < ratio < 1.5
    assert orbit.jacobian_evaluations < 1000


@pytest.mark.slow
@pytest.mark.parametrize("basis", ["gto", "optimal"])
def test_published_orbit_euler_reference_protocol(basis):
    published = ase.io.read(reference_path("comment-orbit_sigma0.3_c1.0.extxyz"), ":")
    rep = dg.SoapPowerSpectrum(sigma=0.3, basis=basis)
    orbit = trace_orbit(published[0], rep, length=2.0, step=1e-4, save_every=0.01)
    assert len(orbit.frames) == 201
    assert orbit_deviation(orbit.frames, published) < 0.05
    assert 1 / 1.5 < median_cn(orbit.frames) / median_cn(published) < 1.5


@pytest.mark.slow
def test_adaptive_reproduces_the_euler_limit(soap):
    """Euler converges at first order to the adaptive curve (Richardson, steps 1e-4, 5e-5)."""
    start = dg.builtin_environment("pg-start")
    adaptive = trace_orbit(start, soap, method="adaptive", tol=1e-7)
    coarse = trace_orbit(start, soap, step=1e-4)
    fine = trace_orbit(start, soap, step=5e-5)
    extrapolated = 2 * fine.positions - coarse.positions
    error = np.linalg.norm((extrapolated - adaptive.positions).reshape(201, -1), axis=1).max()
    assert error < 1e-3
    assert adaptive.jacobian_evaluations * 20 < coarse.jacobian_evaluations


def test_a_symmetric_start_warns_that_the_direction_is_not_unique(soap):
    # T_d: s2..s9 are all symmetry zeros, so "the motion of s_min" is any of 8 directions
    td = dg.builtin_environment("td")
    seen_before_tracing = []
    with pytest.warns(dg.DegeneracyWarning, match=r"orbit start: .* tied with 7 others") as caught:
        orbit = trace_orbit(
            td,
            soap,
            length=0.01,
            step=1e-3,
            callback=lambda s: seen_before_tracing.append(len(caught)),
        )
    assert len(orbit.frames) == 2
    # said at the start, not after the (possibly hours-long) trace
    assert seen_before_tracing and seen_before_tracing[0] == 1


def test_the_cli_names_the_file_and_frame_of_a_symmetric_start(tmp_path, capsys):
    """The warning said "orbit start" only: which of a file's frames was it?"""
    path = tmp_path / "starts.xyz"
    ase.io.write(path, [dg.builtin_environment("pg-start"), dg.builtin_environment("td")])
    argv = ["orbit", str(path), "--frame", "1", "--length", "0.01", "--save-every", "0.01"]
    assert main([*argv, "--output", str(tmp_path / "o.xyz")]) == 0
    err = capsys.readouterr().err
    assert f"warning: orbit start ({path}, frame 1): the smallest singular value is tied" in err


def _path_frames(offsets, arc_lengths) -> list:
    """pg-start copies with neighbour 1 moved by ``offsets`` (Å), at ``arc_lengths``."""
    frames = []
    for offset, arc in zip(offsets, arc_lengths, strict=True):
        atoms = dg.builtin_environment("pg-start")
        atoms.positions[1] += offset
        atoms.info["arc_length"] = arc
        frames.append(atoms)
    return frames


def test_shape_distance_of_hand_made_polylines():
    """The exact values: a corner 0.1/√2 from the diagonal (seen from one side only), and
    a frame past the other's end compared with its last segment continued."""
    corner = _path_frames([(0, 0, 0), (0.1, 0, 0), (0.1, 0.1, 0)], [0, 0.1, 0.2])
    diagonal = _path_frames([(0, 0, 0), (0.1, 0.1, 0)], [0, 0.2])
    for a, b in ((corner, diagonal), (diagonal, corner)):
        assert orbits.orbit_shape_distance(a, b) == pytest.approx(0.1 / np.sqrt(2), rel=1e-12)
    slow = _path_frames([(0, 0, 0), (0.1, 0, 0)], [0, 0.1])
    fast = _path_frames([(0, 0.01, 0), (0.15, 0.01, 0)], [0, 0.1])  # 0.05 Å ahead at the end
    assert orbits.orbit_shape_distance(fast, slow) == pytest.approx(0.01, rel=1e-12)
    assert orbits.orbit_shape_distance(slow, fast) == pytest.approx(0.01, rel=1e-12)
    assert orbit_deviation(fast, slow) == pytest.approx(np.hypot(0.05, 0.01), rel=1e-12)


def test_shape_distance_ignores_the_pace_along_an_orbit(euler_short, adaptive_short):
    """A copy one frame behind (the same points at arc lengths 0.01 Å on) is 0 apart as
    a curve, ~0.01 Å apart at equal arc length; the distance is symmetric, and two
    integrators' orbits agree as shapes at least as well as at equal arc length."""
    frames = euler_short.frames
    behind = [atoms.copy() for atoms in frames]
    for atoms in behind:
        atoms.info["arc_length"] += 0.01
    assert orbit_deviation(behind, frames) > 0.009
    assert orbits.orbit_shape_distance(behind, frames) < 1e-12
    assert orbits.orbit_shape_distance(frames, behind) < 1e-12
    shape = orbits.orbit_shape_distance(adaptive_short.frames, frames)
    assert shape == orbits.orbit_shape_distance(frames, adaptive_short.frames)
    assert shape <= orbit_deviation(adaptive_short.frames, frames) + 1e-12
    backwards = orbits.orbit_shape_distance(adaptive_short.frames[::-1], frames[::-1])
    assert backwards == pytest.approx(shape, abs=1e-15)
    with pytest.raises(dg.DegeneracyError, match="share no arc length"):
        orbits.orbit_shape_distance(frames[:2], frames[3:])


def test_smallest_gap_between_the_two_smallest_singular_values(euler_short, capsys):
    frames = _path_frames([(0, 0, 0)] * 3, [0, 0.01, 0.02])
    for atoms, values in zip(frames, ([3, 2, 1], [3, 1.1, 1.0], [3, 2, 0.5]), strict=True):
        atoms.info["singular_values"] = np.array(values, dtype=float)
    gap, arc = orbits.smallest_gap(frames)
    assert gap == pytest.approx(0.1) and arc == 0.01
    assert orbits.smallest_gap(_path_frames([(0, 0, 0)], [0])) is None
    from degeneracy.cli.orbit import format_orbit

    assert "smallest gap      (s8 − s9)/s9 " in format_orbit(euler_short)


def _collision_course(monkeypatch, start) -> float:
    """Send H1 and H4 of ``start`` straight at each other (clear of C, closing at √2 Å
    per Å of arc); the arc length at which they are 0.5 Å apart."""
    neighbors = dg.neighbor_positions(start)
    motion = np.zeros_like(neighbors)
    motion[0] = neighbors[3] - neighbors[0]
    motion[3] = -motion[0]
    _fixed_direction(monkeypatch, motion.ravel())
    return (np.linalg.norm(neighbors[3] - neighbors[0]) - 0.5) / np.sqrt(2)


@pytest.mark.parametrize("method", ["euler", "adaptive"])
def test_keep_partial_returns_the_frames_before_the_path_leaves_the_environments(
    soap, pg_start, monkeypatch, method, tmp_path
):
    limit = _collision_course(monkeypatch, pg_start)
    out = tmp_path / "partial.extxyz"
    options = {"length": 2.0, "step": 1e-2, "method": method, "start_name": "start"}
    with pytest.warns(dg.DegeneracyWarning) as record:
        orbit = trace_orbit(pg_start, soap, keep_partial=True, output=out, **options)
    n = len(orbit.frames)
    (warning,) = [str(w.message) for w in record if "leaves" in str(w.message)]
    assert warning.startswith("start: the orbit leaves the environments at arc length ")
    assert warning.endswith(
        f"; kept the {n} frames before it (arc length 0 to {orbit.arc_length[-1]:.6g} Å)"
    )
    # every frame up to the last one inside the limit, none after it
    np.testing.assert_allclose(orbit.arc_length, 0.01 * np.arange(n), atol=1e-12)
    assert orbit.arc_length[-1] <= limit < orbit.arc_length[-1] + 0.01
    last = dg.neighbor_positions([orbit.frames[-1]])[0]
    assert 0.5 <= np.linalg.norm(last[0] - last[3]) < 0.5 + np.sqrt(2) * 0.01
    assert orbit.stopped == warning.split("start: ", 1)[1].split("; kept")[0]
    assert "atoms 1 and 4 are " in orbit.stopped
    written = ase.io.read(out, ":")
    assert len(written) == n and written[-1].info["stopped"] == orbit.stopped
    assert "stopped" not in written[-2].info
    # without keep_partial the same trace is an error that says how to keep them
    with pytest.raises(dg.DegeneracyError) as error:
        trace_orbit(pg_start, soap, **options)
    assert str(error.value) == (
        f"start: {orbit.stopped}; trace a shorter length, or keep the {n} frames before it "
        f"(arc length 0 to {orbit.arc_length[-1]:.6g} Å) with keep_partial"
    )
    # a whole orbit has stopped None and no such info
    assert trace_orbit(pg_start, soap, length=0.02, step=1e-2, keep_partial=True).stopped is None


@pytest.mark.parametrize("method", ["euler", "adaptive"])
def test_a_trace_stopped_at_a_collision_resumes_with_keep_partial(
    soap, pg_start, monkeypatch, method, tmp_path
):
    """The error leaves the checkpoint of the last saved frame; keep_partial resumes from
    it (tracing only the last stretch again) to the frames a direct run keeps."""
    _collision_course(monkeypatch, pg_start)
    options = {"length": 2.0, "step": 1e-2, "method": method}
    with pytest.warns(dg.DegeneracyWarning, match="kept the"):
        direct = trace_orbit(pg_start, soap, keep_partial=True, **options)
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(dg.DegeneracyError, match=r"\(its checkpoint resumes the run there\)$"):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    assert checkpoint.exists()
    calls = []
    straight = orbits._Field.direction

    def counted(self, r, reference):
        calls.append(1)
        return straight(self, r, reference)

    monkeypatch.setattr(orbits._Field, "direction", counted)
    with pytest.warns(dg.DegeneracyWarning, match="kept the"):
        resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, keep_partial=True, **options)
    assert not checkpoint.exists()
    assert len(calls) < 20  # the last stretch only, not the ~90 frames before it
    np.testing.assert_array_equal(resumed.positions, direct.positions)
    assert resumed.stopped == direct.stopped
    assert resumed.jacobian_evaluations == direct.jacobian_evaluations


def test_orbit_keep_partial_writes_the_frames_before_the_collision(
    pg_start, monkeypatch, tmp_path, capsys
):
    _collision_course(monkeypatch, pg_start)
    out = tmp_path / "orbit.extxyz"
    argv = ["orbit", "--builtin", "pg-start", "--length", "2", "--step", "0.01", "--quiet"]
    argv += ["--output", str(out)]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        "degeneracy orbit: error: pg-start: the orbit leaves the environments at arc length "
    )
    assert error.rstrip("\n").endswith("with --keep-partial (its checkpoint resumes the run there)")
    assert error.count("\n") == 1 and not out.exists()
    assert Path(f"{out}.checkpoint.npz").exists()
    assert main([*argv, "--keep-partial"]) == 0
    captured = capsys.readouterr()
    assert "degeneracy orbit: warning: pg-start: the orbit leaves the environments" in captured.err
    assert "resumed from" in captured.err
    frames = ase.io.read(out, ":")
    stopped = frames[-1].info["stopped"]
    assert f"frames            {len(frames)} (arc length 0 to " in captured.out
    assert f"stopped           {stopped}\n" in captured.out
    assert not Path(f"{out}.checkpoint.npz").exists()
