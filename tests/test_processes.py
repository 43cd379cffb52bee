"""Worker processes leave Ctrl-C and termination to the main process (processes.py,
orbits._stop_pool): interrupted ``family`` runs printed worker tracebacks after
"interrupted" (a KeyboardInterrupt while a spawned worker imported, _Terminated raised
in metatensor's ``__del__``, the pool's InvalidStateError)."""

from __future__ import annotations

import signal
import subprocess
import sys
import types
from concurrent.futures import InvalidStateError

import pytest

from degeneracy import orbits
from degeneracy.processes import sigint_blocked, silence_stderr

SIGINT_BLOCKED = (
    "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no pthread_sigmask")
def test_processes_started_inside_inherit_a_blocked_sigint():
    def child_blocks() -> str:
        run = subprocess.run([sys.executable, "-c", SIGINT_BLOCKED], capture_output=True)
        return run.stdout.decode().strip()

    assert child_blocks() == "False"
    with sigint_blocked():
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert child_blocks() == "True"
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with sigint_blocked(active=False):
        assert child_blocks() == "False"


def test_silenced_stderr_prints_nothing():
    code = (
        "import sys; from degeneracy.processes import silence_stderr; print('before', "
        "file=sys.stderr, flush=True); silence_stderr(); print('after', file=sys.stderr); "
        "print('out')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stderr == "before\n" and run.stdout == "out\n"
    assert callable(silence_stderr)


def test_the_pool_stop_drops_only_cancelled_future_errors():
    seen = []
    hook = orbits._without_cancelled_future_errors(seen.append)
    cancelled = types.SimpleNamespace(exc_value=InvalidStateError("CANCELLED: <Future>"))
    other = types.SimpleNamespace(exc_value=RuntimeError("a real one"))
    hook(cancelled)
    hook(other)
    assert seen == [other]


def test_kept_results_drop_the_least_recently_used_beyond_their_bounds():
    """The one bounded keeper of scan's built fingerprints, large crystals' neighbour
    pairs and anchored symmetry searches."""
    from degeneracy.processes import KeptResults, arrays_digest

    kept = KeptResults(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # now the most recent
    kept.put("c", 3)
    assert kept.get("b") is None and kept.values() == [1, 3]
    sized = KeptResults(5, size=len, budget=4)
    sized.put("x", "ab")
    sized.put("y", "cd")
    sized.put("z", "e")  # 5 > 4: the oldest goes
    assert sized.values() == ["cd", "e"]
    sized.put("w", "fghij")  # above the budget alone: not kept, and the rest go
    assert len(sized) == 0
    sized.clear()
    assert arrays_digest([1.0, 2.0]) != arrays_digest([[1.0, 2.0]])  # shapes count
    assert arrays_digest([1, 2]) != arrays_digest([1.0, 2.0])  # dtypes count
