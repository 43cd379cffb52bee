"""Ctrl-C inside a library's ctypes callback (featomic, metatensor): one line, exit 130."""

from __future__ import annotations

import ctypes
import os
import signal

import pytest

import degeneracy.cli.info as info
from degeneracy.cli import main


def _library_failing_after_a_signal(signum: int):
    """A stand-in for featomic: a C call whose Python callback receives ``signum``. ctypes
    cannot propagate the KeyboardInterrupt raised there (it prints "Exception ignored on
    calling ctypes callback function" and returns 0), and the library then fails with an
    error of its own, as featomic's "internal featomic error" or a MetatensorError."""

    @ctypes.CFUNCTYPE(ctypes.c_int)
    def callback():
        os.kill(os.getpid(), signum)
        return 1

    def run(args):
        status = callback()  # Python's ctypes calls it as C would
        raise RuntimeError(f"featomic failed: internal featomic error (status {status})")

    return run


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_inside_a_library_callback_is_an_interruption(
    monkeypatch, capsys, signum, status, word
):
    monkeypatch.setattr(info, "run", _library_failing_after_a_signal(signum))
    assert main(["info"]) == status
    err = capsys.readouterr().err
    assert err == f"degeneracy info: {word}\n", err


def test_a_library_error_without_a_signal_still_shows_its_traceback(monkeypatch):
    """Only an interruption excuses a foreign exception; otherwise it is a bug to see."""

    def run(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(info, "run", run)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["info"])


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_as_a_finished_command_exits_is_ignored(number, tmp_path):
    """A Ctrl-C or SIGTERM in the exit handlers (torch's, distributed's: seconds), after
    the results were written, killed the process without a word (status -2 or -15);
    only `scan` ignored Ctrl-C there."""
    import subprocess
    import sys

    from conftest import CTRL_C_RAISES

    output = tmp_path / "s.json"
    script = CTRL_C_RAISES + (
        "import atexit, os, signal, sys, time\n"
        "from degeneracy.cli import main\n"
        f"atexit.register(lambda: (os.kill(os.getpid(), {int(number)}), time.sleep(0.2)))\n"
        f"sys.exit(main(['spectrum', '--builtin', 'td', '--output', {str(output)!r}]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == "", (run.returncode, run.stderr)
    assert output.read_text().startswith("[")


class _InterruptedWhileCollected:
    """An object whose ``__del__`` receives ``signum`` (as matplotlib's or a WeakSet's
    finalisers may): Python drops the KeyboardInterrupt raised there ("Exception ignored
    in: ...") and goes on."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize(
    ("signum", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_dropped_in_a_finaliser_is_still_an_interruption(
    monkeypatch, capsys, signum, status, word
):
    """The command finished as if no signal had come, and exited 0 (seen once in 18
    Ctrl-Cs on fit-basis)."""
    finished = []

    def run(args):
        _InterruptedWhileCollected(signum)  # collected at once: its __del__ gets the signal
        finished.append(True)

    monkeypatch.setattr(info, "run", run)
    assert main(["info"]) == status
    assert finished == [True]  # the drop is real: the command went on past the signal
    err = capsys.readouterr().err
    assert err == f"degeneracy info: {word}\n", err
    monkeypatch.setattr(info, "run", lambda args: None)
    assert main(["info"]) == 0  # the next command starts without it


def test_a_ctrl_c_while_the_command_line_is_imported_is_an_interruption():
    """The command's entry point imports the command line (~0.6 s) before ``main`` can
    catch a Ctrl-C; one then printed Python's traceback of the import."""
    import subprocess
    import sys

    from conftest import CTRL_C_RAISES

    script = CTRL_C_RAISES + (
        "import sys\n"
        "class Interrupts:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'degeneracy.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupts())\n"
        "sys.argv = ['degeneracy', 'info']\n"
        "from degeneracy.command import run\n"
        "run()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (130, "degeneracy: interrupted\n")


def test_importing_the_package_reads_no_metadata():
    """importlib.metadata (~0.1 s) loads only when ``__version__`` is asked for: the
    entry point's uncaught window before it guards the import is the package's own."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import degeneracy\n"
        "loaded = 'importlib.metadata' in sys.modules\n"
        "print(loaded, degeneracy.__version__ == degeneracy.__getattr__('__version__'))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.stdout == "False True\n", run.stderr
