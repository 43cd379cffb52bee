"""How an orbit trace stops or pauses: a vanishing adaptive step keeps the frames traced
(``keep_partial``), an Euler trace with frames far apart keeps its steps between them, and
a start whose sense along the orbit rests on a tiny component says so (helper audit,
2026-12-07)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import StopTracing

import degeneracy as dg
import degeneracy.orbits as orbits
from degeneracy.orbits import trace_orbit


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(sigma=0.3, n_max=3, l_max=4)


@pytest.fixture(scope="module")
def pg_start():
    return dg.builtin_environment("pg-start")


_DP_STEP = orbits._dp_step


def _turning_after(monkeypatch, steps: int) -> None:
    """Every adaptive attempt after the first ``steps`` finds the direction turning too
    fast (as where the two smallest singular values nearly meet)."""
    original, calls = _DP_STEP, []

    def attempt(*args):
        calls.append(1)
        return original(*args) if len(calls) <= steps else None

    monkeypatch.setattr(orbits, "_dp_step", attempt)


def test_a_vanishing_adaptive_step_keeps_the_frames_traced(monkeypatch, soap, pg_start, tmp_path):
    """It raised at once: the frames before it were lost, ``--keep-partial`` did not
    apply, and the checkpoint it left stopped at the same place when rerun."""
    _turning_after(monkeypatch, 3)
    options = {"method": "adaptive", "length": 0.05, "save_every": 0.001, "tol": 1e-6}
    with pytest.warns(dg.DegeneracyWarning, match="adaptive step below 1e-09 Å at arc length"):
        orbit = trace_orbit(pg_start, soap, keep_partial=True, **options)
    assert 1 < len(orbit.frames) < 51
    assert orbit.stopped.startswith("adaptive step below") and type(orbit.stopped) is str
    assert "turns too fast" in orbit.frames[-1].info["stopped"]

    _turning_after(monkeypatch, 3)
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(dg.DegeneracyError) as error:
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    said = str(error.value)
    assert f"keep the {len(orbit.frames)} frames before it" in said, said
    assert "checkpoint resumes" not in said  # a rerun would stop at the same place


def test_an_euler_trace_keeps_its_steps_between_frames_far_apart(
    monkeypatch, soap, pg_start, tmp_path
):
    """With --save-every 0.3 Å (3000 steps a frame) an interruption lost every step: the
    checkpoint was saved at frames only."""
    monkeypatch.setattr(orbits, "EULER_CHECKPOINT_SECONDS", -1.0)  # every step, for the test
    options = {"method": "euler", "length": 0.05, "step": 5e-3, "save_every": 0.05}
    whole = trace_orbit(pg_start, soap, **options)
    original, calls = orbits._Field.direction, []

    def interrupted(self, r, reference):
        calls.append(1)
        if len(calls) == 6:  # frame 0, steps 1-4, then step 5
            raise StopTracing
        return original(self, r, reference)

    monkeypatch.setattr(orbits._Field, "direction", interrupted)
    checkpoint = tmp_path / "run.checkpoint.npz"
    with pytest.raises(StopTracing):
        trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    with np.load(checkpoint) as data:
        assert int(data["k"]) == 4 and len(data["frame_arc_length"]) == 1
    monkeypatch.setattr(orbits._Field, "direction", original)
    resumed = trace_orbit(pg_start, soap, checkpoint=checkpoint, **options)
    assert not checkpoint.exists()
    np.testing.assert_array_equal(resumed.frames[-1].positions, whole.frames[-1].positions)


def test_a_start_whose_sense_rests_on_a_tiny_component_says_so():
    """Which way the orbit goes follows the +x of neighbour 1: a start turned so that the
    first direction barely moves it along x traced either half by a 1e-9 rad turn."""
    assert orbits.warn_if_sense_arbitrary(np.array([0.3, 0.954, 0.0])) is False
    with pytest.warns(dg.DegeneracyWarning, match=r"along x by only 1\.0e-09 of its length"):
        assert orbits.warn_if_sense_arbitrary(np.array([1e-9, 1.0, 0.0]), name="x.xyz")


def test_an_adaptive_trace_that_crawls_says_so_once(monkeypatch, soap, pg_start):
    """Next to a symmetric start 0.02 Å took 36 505 Jacobians (Euler: 201) without a word,
    and 0.2 Å would have taken hours. Here the bound is lowered to trip at once."""
    monkeypatch.setattr(orbits, "CRAWL_MIN_EVALUATIONS", 1)
    monkeypatch.setattr(orbits, "CRAWL_FACTOR", 1e-6)
    with pytest.warns(dg.DegeneracyWarning, match="method euler is far cheaper here") as said:
        trace_orbit(pg_start, soap, method="adaptive", length=0.02)
    assert len([w for w in said if "Jacobians for" in str(w.message)]) == 1


_CH6 = [
    [0.0, 0.0, 0.0],
    [0.85939942, -0.37571590, -0.68319619],
    [1.03812795, -0.72104134, 0.13636029],
    [1.14652009, 0.09055049, -0.06373077],
    [0.10940080, 0.89621228, -0.86177441],
    [0.25952518, 0.24525965, 0.99141312],
    [-0.34860264, -0.94766095, 0.76208910],
]


def test_an_euler_step_that_turns_onto_another_branch_says_so(soap):
    """Where the two smallest singular values nearly meet (gap 0.0034 at 0.2 Å of this
    6-neighbour start) one Euler step turned the path by ~90° onto another branch than a
    tighter trace's, without a word."""
    import ase

    start = ase.Atoms("CH6", positions=_CH6)
    with pytest.warns(dg.DegeneracyWarning, match=r"at arc length 0\.2 Å one Euler step") as said:
        trace_orbit(start, dg.SoapPowerSpectrum(), step=1e-3, save_every=0.01, length=0.21)
    assert len([w for w in said if "Euler step turned" in str(w.message)]) == 1
    assert "singular values 0.0034 apart" in str(said[0].message)
