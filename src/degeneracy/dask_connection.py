"""Checks of a Dask cluster before a scan trusts it: the scheduler's address, that a Dask
scheduler answers there (within a wall-clock deadline), and that its workers run this
process's degeneracy code with its versions of the libraries that decide a scan's numbers
(featomic, metatensor-core: :data:`~degeneracy.worker_source.LIBRARIES`): those it has
when the scan connects (:func:`check_worker_code`), and on every chunk task whichever
worker runs it (:func:`check_task_source`), for a worker may join later.

``distributed.Client(address, timeout=...)`` waits for ever for a server that accepts
the connection but never answers Dask's handshake (the dashboard's HTTP port, an easy slip
for 8786), and reports a server that answers something else as an allocation error
("Unable to allocate 2.82 EiB"); a worker without degeneracy dies at its first task,
and one with other degeneracy code, or another featomic, computes other numbers silently.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from .errors import DegeneracyError, first_line

#: Seconds the scheduler's handshake may take beyond the connect timeout (the connection
#: itself is bounded by it).
HANDSHAKE_GRACE = 1.0

#: Schemes whose addresses are ``HOST:PORT``.
_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")

#: Workers named in a message, at most.
_NAMED_WORKERS = 3

#: :attr:`~degeneracy.errors.DegeneracyError.kind` of a chunk task's refusal to run on a
#: worker with other degeneracy code, or other versions of
#: :data:`~degeneracy.worker_source.LIBRARIES` (:func:`check_task_source`), which the
#: scan names its cluster in.
OTHER_CODE = "other-code"


def scheduler_address(value: Any, name: str = "scheduler") -> str:
    """``value`` as a Dask scheduler's address (``tcp://host:8786``, ``host:8786``).

    Parameters
    ----------
    value : str
        The address; without a scheme, distributed's default (tcp).
    name : str
        How messages name it (``--scheduler`` on the command line).

    Returns
    -------
    str
        ``value``, checked.

    Raises
    ------
    DegeneracyError
        For an unknown scheme, or a host and port that are not ``HOST:PORT`` with a port
        in 1–65535.
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    if not isinstance(value, str) or not value.strip():
        raise DegeneracyError(f"{name} must be a Dask scheduler's address such as tcp://host:8786")
    try:
        scheme, location = parse_address(value)
        get_backend(scheme)
    except ValueError as error:
        raise DegeneracyError(f"{name} {value!r}: {first_line(error)}") from error
    if scheme not in _HOST_PORT_SCHEMES:
        return value
    try:
        host, port = parse_host_port(location)
    except ValueError as error:
        raise DegeneracyError(
            f"{name} {value!r} is not {scheme}://HOST:PORT (a scheduler listens on 8786 by default)"
        ) from error
    if not host or not 1 <= port <= 65535:
        raise DegeneracyError(
            f"{name} {value!r}: {'no host' if not host else f'port {port} is not in 1–65535'}"
        )
    return value


def probe_scheduler(address: str, timeout: float) -> dict[str, Any]:
    """The identity of the Dask scheduler at ``address``, asked within about ``timeout``
    seconds of wall-clock time (plus :data:`HANDSHAKE_GRACE`).

    Raises
    ------
    DegeneracyError
        If nothing accepts the connection, if what does never answers Dask's handshake
        (the dashboard's port) or answers something else, or if it is not a scheduler
        (a worker's address).
    """
    outcome: dict[str, Any] = {}

    def ask() -> None:
        try:
            outcome["identity"] = asyncio.run(_identity(address, timeout))
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=ask, name="degeneracy-scheduler-probe", daemon=True)
    thread.start()
    # the coroutine's two steps have a deadline each: connection and handshake, then the
    # identity's reply
    thread.join(2 * (timeout + HANDSHAKE_GRACE) + HANDSHAKE_GRACE)
    cannot = f"cannot connect to the Dask scheduler at {address!r}"
    if thread.is_alive():  # pragma: no cover - the coroutine has its own deadlines
        raise DegeneracyError(f"{cannot}: {_no_answer(timeout)}")
    error = outcome.get("error")
    if isinstance(error, _NoHandshake):
        raise DegeneracyError(f"{cannot}: {_no_answer(timeout)}") from error
    if isinstance(error, (MemoryError, ValueError, TypeError, KeyError, _ClosedInHandshake)):
        raise DegeneracyError(
            f"{cannot}: not a Dask scheduler (its answer is not Dask's: {first_line(error)})"
        ) from error
    if error is not None:
        raise DegeneracyError(f"{cannot}: {first_line(error)}") from error
    identity = outcome["identity"]
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":
        answered = f"a Dask {kind}" if kind else "a Dask server"
        raise DegeneracyError(f"{cannot}: {answered} answered there, not a scheduler")
    return identity


class _NoHandshake(Exception):
    """The server accepted the connection but sent no Dask handshake in time."""


class _ClosedInHandshake(Exception):
    """The server closed the connection during Dask's handshake."""


def _no_answer(timeout: float) -> str:
    return (
        f"no Dask scheduler answered there within {timeout:g} s (is it the dashboard's port? "
        "the scheduler's is 8786 by default)"
    )


async def _identity(address: str, timeout: float) -> Any:
    """Connect (bounded by ``timeout``), shake hands and ask for the server's identity
    (bounded by :data:`HANDSHAKE_GRACE` more)."""
    from distributed.comm import CommClosedError, connect
    from distributed.security import Security

    arguments = Security().get_connection_args("client")
    try:
        # connect() bounds the connection by `timeout`, but not the handshake after it
        comm = await asyncio.wait_for(
            connect(address, timeout=timeout, **arguments), timeout + HANDSHAKE_GRACE
        )
    except asyncio.TimeoutError as error:
        raise _NoHandshake() from error
    except CommClosedError as error:
        raise _ClosedInHandshake(str(error)) from error
    try:
        await comm.write({"op": "identity", "reply": True})
        return await asyncio.wait_for(comm.read(), HANDSHAKE_GRACE + timeout)
    except asyncio.TimeoutError as error:
        raise _NoHandshake() from error
    finally:
        comm.abort()


def check_worker_code(client: Any, where: str, timeout: float) -> dict[str, str | None]:
    """Refuse workers that cannot import degeneracy, run other degeneracy code than this
    process, or have other versions of the libraries that decide a scan's numbers
    (:func:`~degeneracy.worker_source.source_identity`, sent by value so that a worker
    without degeneracy can run it).

    Parameters
    ----------
    client : distributed.Client
        Connected, with workers.
    where : str
        How messages name the cluster ("the Dask scheduler at tcp://…").
    timeout : float
        Seconds to wait for the workers' answers.

    Returns
    -------
    dict
        This process's identity: its digest
        (:func:`~degeneracy.worker_source.process_digest`) under
        :data:`~degeneracy.worker_source.CODE` and its version (None: absent) of each of
        :data:`~degeneracy.worker_source.LIBRARIES`, for the chunk tasks to check on
        workers that join later (:func:`check_task_source`).

    Raises
    ------
    DegeneracyError
        Naming the workers that lack degeneracy, run other code, or have other versions
        of the libraries (which, and both versions).
    """
    import cloudpickle

    from . import worker_source

    cloudpickle.register_pickle_by_value(worker_source)
    try:
        identities = client.run(worker_source.source_identity, callback_timeout=timeout)
    except Exception as error:
        raise DegeneracyError(
            f"{where}: cannot ask its workers which degeneracy they have: {first_line(error)}"
        ) from error
    digests = {worker: identity[worker_source.CODE] for worker, identity in identities.items()}
    lacking = sorted(worker for worker, digest in digests.items() if digest is None)
    if lacking:
        raise DegeneracyError(
            f"{where}: {_workers_text(lacking)} cannot import degeneracy (a worker without it "
            "dies at its first task): install it there, or start workers that have it"
        )
    own = worker_source.process_digest()
    other = sorted(worker for worker, digest in digests.items() if digest != own)
    if other:
        theirs = digests[other[0]]
        raise DegeneracyError(
            f"{where}: {_workers_text(other)} run other degeneracy code than this process "
            f"(source digest {theirs[:12]}, here {str(own)[:12]}), which would mix its results "
            "with this one's: start them from this installation"
        )
    versions = worker_source.process_versions(worker_source.LIBRARIES)
    other = sorted(
        worker for worker, identity in identities.items() if _differing(identity, versions)
    )
    if other:
        theirs = identities[other[0]]
        raise DegeneracyError(
            f"{where}: {_other_libraries(_workers_text(other), theirs, versions, len(other) > 1)}"
        )
    return {worker_source.CODE: own, **versions}


def check_task_source(expected: Mapping[str, str | None]) -> None:
    """Refuse to compute a chunk in a process whose degeneracy code, or whose version of
    a library that decides a scan's numbers, is not the client's.

    Every chunk task calls it on its worker, first thing: a worker that joined the
    cluster after :func:`check_worker_code` (workers started later on a running
    scheduler, an adaptive cluster) was never asked. The digest and the versions are
    this process's, computed once (:func:`~degeneracy.worker_source.process_digest`,
    :func:`~degeneracy.worker_source.process_versions`). A worker without degeneracy
    cannot unpickle the task at all: distributed closes it, and the task goes to another
    worker.

    Parameters
    ----------
    expected : dict
        The client's identity (what :func:`check_worker_code` returned): the code's digest
        under :data:`~degeneracy.worker_source.CODE`, and the versions of the libraries
        named beside it, which are compared (none named: the code only).

    Raises
    ------
    DegeneracyError
        Of kind :data:`OTHER_CODE`, naming the worker (its address, when it runs in a
        Dask worker) and both digests, or the libraries whose versions differ and both
        versions. Dask does not retry a task that raised: the scan stops with this
        message.
    """
    from . import worker_source

    code = expected.get(worker_source.CODE)
    wanted = {name: version for name, version in expected.items() if name != worker_source.CODE}
    own = worker_source.process_digest()
    if own != code:
        raise DegeneracyError(
            f"{_this_worker()} runs other degeneracy code than this process (source digest "
            f"{str(own)[:12]}, here {str(code)[:12]}), which would mix its results with this "
            "one's: start it from this installation",
            kind=OTHER_CODE,
        )
    if not wanted:
        return
    versions = worker_source.process_versions(tuple(wanted))
    if _differing(versions, wanted):
        raise DegeneracyError(_other_libraries(_this_worker(), versions, wanted), kind=OTHER_CODE)


def _this_worker() -> str:
    """``worker tcp://…``: the Dask worker this runs in, or ``a worker`` outside one."""
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except (ImportError, ValueError):  # not in a Dask worker
        return "a worker"


def _differing(theirs: Mapping[str, str | None], here: Mapping[str, str | None]) -> list[str]:
    """The libraries of ``here`` whose versions in ``theirs`` are others."""
    return [name for name in here if theirs.get(name) != here[name]]


def _other_libraries(
    workers: str,
    theirs: Mapping[str, str | None],
    here: Mapping[str, str | None],
    plural: bool = False,
) -> str:
    """``worker tcp://… has featomic 0.6.6, here 0.6.7 (its features would differ): start
    it with this process's featomic``, for the libraries whose versions in ``theirs``
    (a worker's) differ from ``here``; ``workers`` as :func:`_workers_text` names them,
    ``plural`` for more than one."""
    names = _differing(theirs, here)
    one = not plural
    has = " and ".join(
        f"{name} {theirs.get(name)}" if theirs.get(name) is not None else f"no {name}"
        for name in names
    )
    ours = " and ".join(str(here[name]) if here[name] is not None else "none" for name in names)
    return (
        f"{workers} {'has' if one else 'have'} {has}, here {ours} "
        f"({'its' if one else 'their'} features would differ): start {'it' if one else 'them'} "
        f"with this process's {' and '.join(names)}"
    )


def _workers_text(workers: list[str]) -> str:
    """``worker tcp://a``, ``workers tcp://a, tcp://b`` or ``… and N more``."""
    named = ", ".join(workers[:_NAMED_WORKERS])
    more = len(workers) - _NAMED_WORKERS
    if more > 0:
        named += f" and {more} more"
    return f"worker{'' if len(workers) == 1 else 's'} {named}"
