"""Quiet Dask worker processes while they are being shut down.

Ctrl-C during a :func:`~degeneracy.scan.scan_dataset` closes the local cluster with tasks
running. Each worker then closes its connections first and waits for its running task:
meanwhile its heartbeat fails every second, and distributed logs each failure at ERROR
with two tracebacks ("Failed to communicate with scheduler during heartbeat"), printed
by the worker process itself, where the main process' logger levels do not reach. The
plugin below drops a worker's log records once it is closing; until then nothing
changes. distributed has no option for this (``silence_logs`` is one level for the
whole run), hence this module. It is imported only when a local cluster starts, as it
needs distributed.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed.core import Status
from distributed.diagnostics.plugin import WorkerPlugin

#: Worker states in which its complaints are the noise of being shut down.
CLOSING_STATES = frozenset({Status.closing, Status.closing_gracefully, Status.closed})

#: The logger whose handlers print a worker process' records (distributed's
#: configuration attaches them there; its descendants propagate to it).
DISTRIBUTED_LOGGER = "distributed"


class QuietWhileClosing(WorkerPlugin):
    """A worker plugin: distributed's log records are dropped once the worker closes.

    The filter goes on the handlers of the ``distributed`` logger in the worker process,
    so it sees the records of every ``distributed.*`` logger (a logger's own filters see
    only records logged on it).
    """

    name = "degeneracy-quiet-while-closing"

    def __init__(self) -> None:
        self._filter: _WhileRunning | None = None

    def setup(self, worker: Any) -> None:
        self._filter = _WhileRunning(worker)
        for handler in _distributed_handlers():
            handler.addFilter(self._filter)

    def teardown(self, worker: Any) -> None:
        # Kept while the worker closes (teardown runs during its close).
        return None


class _WhileRunning(logging.Filter):
    """Passes records only while ``worker`` is not closing."""

    def __init__(self, worker: Any) -> None:
        super().__init__()
        self._worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        return self._worker.status not in CLOSING_STATES


def _distributed_handlers() -> list[logging.Handler]:
    """The handlers that print distributed's records in this process."""
    handlers = list(logging.getLogger(DISTRIBUTED_LOGGER).handlers)
    return handlers or list(logging.getLogger().handlers)
