"""Worker processes that leave Ctrl-C and termination to the main process.

Ctrl-C signals the terminal's whole process group, so every worker process of a pool
(``family``'s orbit workers, ``scan``'s Dask workers) receives it too, and the main
process stops them anyway: a worker that reacts prints its own traceback, or several.
Neither multiprocessing nor Dask has an option for this, hence these few lines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def sigint_blocked(active: bool = True) -> Iterator[None]:
    """SIGINT blocked in this (the main) thread while worker processes start.

    Each worker would otherwise die with a KeyboardInterrupt traceback, while the main
    process shuts the pool down anyway, e.g. a spawned worker still importing its
    modules before its initializer can ignore the signal. A blocked signal is inherited
    by the threads started meanwhile (a cluster's event loop, the threads that spawn the
    workers) and by the processes they spawn, across exec, so the workers never see it.
    Unlike SIG_IGN, this loses no Ctrl-C of the main process during the start-up: the
    signal waits for the mask to be restored (or another thread takes it; Python raises
    KeyboardInterrupt in the main thread either way). Outside the main thread, or
    without ``pthread_sigmask``, nothing is done.

    multiprocessing's resource tracker is started first, here: the thread that starts it
    unblocks SIGINT for itself afterwards, which would let the workers spawned from that
    thread see it again.
    """
    if (
        not active
        or not hasattr(signal, "pthread_sigmask")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def silence_stderr() -> None:
    """Send this process' standard error (file descriptor 2) to the null device.

    For a worker being terminated by its main process on purpose: the exception that
    unwinds it may surface where nobody can catch it (a ``__del__``, a ctypes callback of
    featomic or metatensor, a C++ frame of scipy's that calls ``std::terminate``), each
    printing a traceback about a stop that was asked for.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)
