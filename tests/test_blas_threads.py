"""One BLAS thread per process unless the environment chooses
(``processes.use_one_blas_thread``): the command, ``family``'s workers and this suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from degeneracy.processes import BLAS_THREAD_VARIABLES, ONE_BLAS_THREAD, use_one_blas_thread


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def _without_blas_variables(monkeypatch) -> None:
    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_loaded_blas_is_limited_to_one_thread_and_children_inherit_it(monkeypatch):
    _without_blas_variables(monkeypatch)
    with threadpool_limits(limits=2, user_api="blas"):  # as numpy loads on a 2-core machine
        assert use_one_blas_thread() is True
        assert _blas_threads() == {1}
        assert {name: os.environ[name] for name in ONE_BLAS_THREAD} == ONE_BLAS_THREAD


def test_a_number_the_environment_chose_is_left_alone(monkeypatch):
    _without_blas_variables(monkeypatch)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with threadpool_limits(limits=2, user_api="blas"):
        assert use_one_blas_thread() is False
        assert _blas_threads() == {2}
        assert "OMP_NUM_THREADS" not in os.environ


@pytest.mark.parametrize(("chosen", "expected"), [(None, "1 thread;"), ("2", "2 threads;")])
def test_the_command_runs_one_blas_thread_unless_told(chosen, expected):
    """``degeneracy info`` reports the threads of the BLAS libraries it loaded."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    if chosen is not None:
        env["OPENBLAS_NUM_THREADS"] = chosen
    run = subprocess.run(
        [sys.executable, "-m", "degeneracy", "info"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    (blas,) = [line for line in run.stdout.splitlines() if line.startswith("blas ")]
    assert expected in blas and ("2 threads" in blas) == (chosen == "2")
