"""Pool workers end with the process that started them (helper-157: a reproduce killed
with SIGKILL during its orbits left its spawn workers tracing for good)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

#: Started by the test: spawns a worker that watches its parent, prints its pid, waits.
PARENT = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    from pathlib import Path

    def worker(parent, ready):
        from degeneracy.orbits import exit_with_parent

        exit_with_parent(parent, 0.05)
        Path(ready).touch()
        time.sleep(120)

    if __name__ == "__main__":
        ready = sys.argv[1]
        context = multiprocessing.get_context("spawn")
        child = context.Process(target=worker, args=(os.getpid(), ready))
        child.start()
        print(child.pid, flush=True)
        if sys.argv[2] == "wait":
            while not Path(ready).exists():
                time.sleep(0.05)
            print("ready", flush=True)
        time.sleep(120)
    """
)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie left unreaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("when", ["wait", "at_once"])
def test_a_worker_exits_when_its_parent_is_killed(tmp_path, when):
    """Killed with the worker watching, or while the worker still imports (it then
    finds its parent gone as it starts watching)."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    argv = [sys.executable, str(script), str(tmp_path / "ready"), when]
    parent = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        if when == "wait":
            assert parent.stdout.readline().strip() == "ready" and _running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 60  # an import of degeneracy under load
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child), "the worker outlived its killed parent"
    finally:
        parent.kill()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)


def test_the_watcher_leaves_a_worker_with_its_parent_alone():
    from degeneracy.orbits import exit_with_parent

    watcher = exit_with_parent(interval=0.01)  # this process's parent (pytest's) lives
    time.sleep(0.1)
    assert watcher.is_alive() and watcher.daemon
