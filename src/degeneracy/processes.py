"""Worker processes that leave Ctrl-C and termination to the main process, one BLAS
thread per process, and the results a process keeps for reuse (:class:`KeptResults`).

Ctrl-C signals the terminal's whole process group, so every worker process of a pool
(``family``'s orbit workers, ``scan``'s Dask workers) receives it too, and the main
process stops them anyway: a worker that reacts prints its own traceback, or several.
Neither multiprocessing nor Dask has an option for this, hence these few lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import numpy as np

#: Environment that gives a process one BLAS (and OpenMP) thread: OpenBLAS, MKL and the
#: OpenMP runtimes read these when they load.
ONE_BLAS_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: Variables by which a user chooses a number of BLAS threads; :func:`use_one_blas_thread`
#: leaves a process that has any of them alone.
BLAS_THREAD_VARIABLES = (*ONE_BLAS_THREAD, "GOTO_NUM_THREADS", "BLIS_NUM_THREADS")


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


def use_one_blas_thread() -> bool:
    """One BLAS thread in this process and the processes it starts, unless the
    environment already chooses a number (:data:`BLAS_THREAD_VARIABLES`).

    The matrices here (a Jacobian of 3N columns, N a few to a few tens of neighbours; its
    SVD and QR) are too small for threads to gain anything, and OpenBLAS threads that wait
    for each other by spinning lose badly wherever the cores are shared. Measured
    (2026-12-06, 2 cores, load 4, numpy's OpenBLAS 0.3.31): the verdict of one 42-neighbour
    Cu site 83 s with 2 BLAS threads against 2.3 s with one, a 3000 × 600 SVD 6.3 s against
    0.27 s; 2000 CH4 spectra 3.8 s either way. Sets :data:`ONE_BLAS_THREAD` for the
    libraries not loaded yet and for child processes, and limits those already loaded
    (threadpoolctl, scikit-learn's).

    Returns
    -------
    bool
        Whether the limit was set (False: the environment chose).
    """
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        return False
    os.environ.update(ONE_BLAS_THREAD)
    from threadpoolctl import threadpool_limits  # reads the libraries loaded so far

    threadpool_limits(limits=1, user_api="blas")
    return True


class KeptResults:
    """Results a process keeps for reuse, by key: at most ``count``, and with ``size`` (a
    result's size, e.g. its bytes) at most ``budget`` of them together; the least
    recently used go first, and a result above the budget alone is not kept. Safe to
    share between threads.

    Hand-written: :func:`functools.lru_cache` keys by the call's arguments (numpy arrays
    are not hashable) and bounds only the count.
    """

    def __init__(
        self,
        count: int,
        *,
        size: Callable[[Any], int] | None = None,
        budget: int | None = None,
    ) -> None:
        self.count = count
        self.size = size
        self.budget = budget
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The result kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._kept:
                return None
            self._kept.move_to_end(key)
            return self._kept[key]

    def put(self, key: Hashable, result: Any) -> Any:
        """Keep ``result`` under ``key``, dropping the least recently used beyond the
        bounds; returns ``result``."""
        with self._lock:
            self._kept[key] = result
            self._kept.move_to_end(key)
            while len(self._kept) > self.count or self._over_budget():
                self._kept.popitem(last=False)
        return result

    def _over_budget(self) -> bool:
        if self.size is None or self.budget is None or not self._kept:
            return False
        return sum(self.size(result) for result in self._kept.values()) > self.budget

    def values(self) -> list[Any]:
        """The kept results, least recently used first."""
        with self._lock:
            return list(self._kept.values())

    def clear(self) -> None:
        """Drop every kept result."""
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def arrays_digest(*arrays: Any) -> str:
    """SHA-256 of arrays' dtypes, shapes and contents: a key for results computed from
    them (:class:`KeptResults`)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
