"""``scan --scheduler``: a cluster that cannot do the work is refused in one line, within
about the connect timeout, instead of a hang (no worker left, the dashboard's port, a lost
scheduler) or results mixed from other degeneracy code."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import ase.io
import cloudpickle
import pytest

import degeneracy as dg
from degeneracy import dask_connection, worker_source
from degeneracy import scan as scanning
from degeneracy.cli import main

SMALL = ["--rep", "soap", "--n-max", "3", "--l-max", "2", "--no-progress"]
SOURCE = Path(dg.__file__).parents[1]

#: Set by a chunk that stalls (:func:`stalled_block`) when it starts; its release.
STALL_STARTED = threading.Event()
STALL_RELEASED = threading.Event()


def stalled_block(*args, **kwargs):
    """A chunk that waits (in-process workers) until the test releases it."""
    STALL_STARTED.set()
    STALL_RELEASED.wait(30)
    raise RuntimeError("released by the test")


@pytest.fixture
def methane_file(tmp_path):
    path = tmp_path / "methane.xyz"
    ase.io.write(path, dg.sample_methane(6, seed=0), format="extxyz")
    return path


@pytest.fixture
def stalled_chunks(monkeypatch):
    """Chunks that run until the test ends (on an in-process cluster)."""
    STALL_STARTED.clear()
    STALL_RELEASED.clear()
    monkeypatch.setattr(scanning, "scan_block", stalled_block)
    yield STALL_STARTED
    STALL_RELEASED.set()


def _local_cluster(n_workers: int):
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=None
        )


@pytest.fixture
def idle_scheduler():
    """An in-process scheduler without workers."""
    with _local_cluster(0) as cluster:
        yield cluster


@pytest.fixture
def one_worker_cluster():
    with _local_cluster(1) as cluster:
        yield cluster


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tcp_server():
    """Start a server on 127.0.0.1 that sends ``greeting`` to each connection and then
    keeps it open without a word (the dashboard, to a Dask handshake); its address."""
    servers = []

    def start(greeting: bytes) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.2)
        connections = []
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                connection.sendall(greeting)
                connections.append(connection)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        servers.append((server, connections, stop, thread))
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for server, connections, stop, thread in servers:
        stop.set()
        thread.join(2)
        for connection in connections:
            connection.close()
        server.close()


def _scan(data: Path, folder: Path, scheduler: str, *, connect_timeout: float):
    """A small scan of ``data`` in chunks of 2 on the Dask ``scheduler``."""
    representation = dg.SoapPowerSpectrum(n_max=3, l_max=2)
    return dg.scan_dataset(data, representation, output=folder / "r.parquet", chunk_size=2,
                           scheduler=scheduler, connect_timeout=connect_timeout)  # fmt: skip


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------------------
# the address, refused at argument parsing


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("tcp://127.0.0.1:70000", "port 70000 is not in 1–65535"),
        ("tcp://127.0.0.1:0", "port 0 is not in 1–65535"),
        ("tcp://127.0.0.1", "is not tcp://HOST:PORT"),
        ("tcp://127.0.0.1:port", "is not tcp://HOST:PORT"),
        ("no-such-protocol://x:1", "unknown address scheme 'no-such-protocol'"),
    ],
)
def test_a_bad_address_is_refused_before_the_data_set_is_read(capsys, tmp_path, address, said):
    missing = tmp_path / "missing.xyz"  # read first, its error would come instead
    argv = ["scan", str(missing), "--output", str(tmp_path / "r.parquet"), *SMALL]
    line = _one_line_error(capsys, [*argv, "--scheduler", address])
    assert f"--scheduler {address!r}" in line and said in line, line
    with pytest.raises(dg.DegeneracyError, match=f"scheduler {address!r}"):
        dg.scan_dataset(missing, dg.SoapPowerSpectrum(), output=tmp_path / "r.parquet",
                        scheduler=address)  # fmt: skip
    assert not list(tmp_path.iterdir())


def test_a_good_address_passes():
    assert dask_connection.scheduler_address("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert dask_connection.scheduler_address("127.0.0.1:8786") == "127.0.0.1:8786"


# --------------------------------------------------------------------------------------
# something else at the address


def test_a_server_that_never_answers_is_refused_within_the_timeout(tcp_server):
    """The dashboard's port: distributed's Client waited there for ever."""
    address = tcp_server(b"")
    started = time.monotonic()
    with pytest.raises(dg.DegeneracyError) as error:
        with scanning.dask_client(scheduler=address, connect_timeout=1):
            pass
    assert time.monotonic() - started < 1 + 2 * dask_connection.HANDSHAKE_GRACE + 1
    assert str(error.value) == (
        f"cannot connect to the Dask scheduler at {address!r}: no Dask scheduler answered "
        "there within 1 s (is it the dashboard's port? the scheduler's is 8786 by default)"
    )


def test_a_server_that_answers_garbage_is_not_a_scheduler(tcp_server):
    """It was "Unable to allocate 2.82 EiB for an array" or "Maximum allowed dimension"."""
    address = tcp_server(b"\xff" * 64)
    with pytest.raises(dg.DegeneracyError, match="not a Dask scheduler") as error:
        dask_connection.probe_scheduler(address, 2)
    assert "allocate" not in str(error.value)


def test_a_worker_address_is_not_a_scheduler(one_worker_cluster):
    (worker,) = one_worker_cluster.workers.values()
    with pytest.raises(dg.DegeneracyError, match="a Dask Worker answered there, not a sch"):
        dask_connection.probe_scheduler(worker.address, 2)


def test_a_scheduler_answers_the_probe(idle_scheduler):
    identity = dask_connection.probe_scheduler(idle_scheduler.scheduler_address, 5)
    assert identity["type"] == "Scheduler"


# --------------------------------------------------------------------------------------
# workers: none, none left, other code


def test_no_workers_waits_the_connect_timeout(idle_scheduler, methane_file, tmp_path):
    """It waited 30 s whatever --connect-timeout said."""
    address = idle_scheduler.scheduler_address
    started = time.monotonic()
    with pytest.raises(dg.DegeneracyError) as error:
        _scan(methane_file, tmp_path, address, connect_timeout=1)
    assert time.monotonic() - started < 10
    assert str(error.value) == f"the Dask scheduler at {address} has no workers after 1 s"


def test_the_last_worker_gone_mid_scan_is_an_error_not_a_hang(
    one_worker_cluster, stalled_chunks, methane_file, tmp_path
):
    """The scan waited for ever for its chunks on a cluster without workers."""

    def retire_the_worker():
        assert stalled_chunks.wait(30)
        one_worker_cluster.scale(0)

    threading.Thread(target=retire_the_worker, daemon=True).start()
    address = one_worker_cluster.scheduler_address
    started = time.monotonic()
    with pytest.raises(dg.DegeneracyError) as error:
        _scan(methane_file, tmp_path, address, connect_timeout=1)
    assert time.monotonic() - started < 20
    assert str(error.value).startswith(
        f"the Dask scheduler at {address} has no workers left, none for 1 s (a worker that "
        "cannot import degeneracy dies at its first task)"
    )


def test_a_lost_connection_is_named_not_blamed_on_a_chunk(
    one_worker_cluster, stalled_chunks, methane_file, tmp_path
):
    """It said "structures 0–1 (chunk 0): failed on a worker: FutureCancelledError()"."""
    from distributed import get_client

    def cut_the_connection():
        assert stalled_chunks.wait(30)
        get_client(one_worker_cluster.scheduler_address).scheduler_comm.comm.abort()

    threading.Thread(target=cut_the_connection, daemon=True).start()
    address = one_worker_cluster.scheduler_address
    with pytest.raises(dg.DegeneracyError) as error:
        _scan(methane_file, tmp_path, address, connect_timeout=5)
    assert str(error.value) == (
        f"lost the connection to the Dask scheduler at {address}: the chunks in flight were "
        "cancelled"
    )


@pytest.mark.parametrize(
    ("digest", "said"),
    [(None, "cannot import degeneracy"), ("0" * 64, "run other degeneracy code")],
)
def test_workers_without_this_code_are_refused_by_name(
    one_worker_cluster, monkeypatch, digest, said
):
    from distributed import Client

    (worker,) = one_worker_cluster.workers.values()
    ours = worker_source.source_digest()

    def on_workers_only():  # this process's own digest is asked the same way
        return digest if threading.current_thread() is not threading.main_thread() else ours

    monkeypatch.setattr(worker_source, "source_digest", on_workers_only)
    with Client(one_worker_cluster) as client:
        with pytest.raises(dg.DegeneracyError) as error:
            dask_connection.check_worker_code(client, "the cluster", 10)
    assert str(error.value).startswith(f"the cluster: worker {worker.address} {said}")


def test_this_code_passes(one_worker_cluster):
    from distributed import Client

    with Client(one_worker_cluster) as client:
        dask_connection.check_worker_code(client, "the cluster", 10)


def test_the_digest_runs_where_degeneracy_is_missing(tmp_path):
    """Sent by value: a worker without degeneracy unpickles it and answers None."""
    cloudpickle.register_pickle_by_value(worker_source)
    sent = tmp_path / "probe.pickle"
    sent.write_bytes(cloudpickle.dumps(worker_source.source_digest))
    code = (
        "import pickle, sys; sys.path[:] = [p for p in sys.path if 'src' not in p]; "
        f"print(pickle.loads(open({str(sent)!r}, 'rb').read())())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    answer = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    assert answer.stdout.strip() == "None", answer.stderr


def test_the_digest_follows_the_source(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        before = worker_source.source_digest("pkg")
        (package / "__init__.py").write_text("x = 2\n")
        assert worker_source.source_digest("pkg") != before
        assert worker_source.source_digest("no_such_package_here") is None
    finally:
        sys.path.remove(str(tmp_path))


# --------------------------------------------------------------------------------------
# real processes (slow: each starts a scheduler and a worker)


def _dask(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(arguments, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


@pytest.fixture
def processes():
    """Start subprocesses (killed at the end, with their process groups)."""
    started: list[subprocess.Popen] = []

    def start(arguments, env, log):
        started.append(_dask(arguments, env, log))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _scheduler(processes, tmp_path) -> tuple[str, subprocess.Popen]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    scheduler = processes(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
        env, tmp_path / "scheduler.log",
    )  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    dask_connection.probe_scheduler(address, 30)  # up
    return address, scheduler


_WORKER_WITHOUT_DEGENERACY = (
    "import sys; sys.path[:] = [p for p in sys.path if not p.endswith('src')]\n"
    "if __name__ == '__main__':\n"
    "    from distributed.cli.dask_worker import main\n"
    "    sys.argv = ['dask-worker', *sys.argv[1:]]; main()\n"
)


@pytest.mark.slow
def test_a_real_worker_without_degeneracy_is_refused(processes, methane_file, tmp_path, capsys):
    """It died at its first task, and the scan waited for ever."""
    address, _ = _scheduler(processes, tmp_path)
    script = tmp_path / "worker.py"
    script.write_text(_WORKER_WITHOUT_DEGENERACY)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    processes([sys.executable, str(script), address, "--nthreads", "1", "--host", "127.0.0.1"],
              env, tmp_path / "worker.log")  # fmt: skip
    argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet"), *SMALL]
    line = _one_line_error(capsys, [*argv, "--scheduler", address, "--connect-timeout", "30"])
    assert f"the Dask scheduler at {address}: worker tcp://127.0.0.1:" in line
    assert "cannot import degeneracy" in line


@pytest.mark.slow
def test_a_killed_scheduler_is_one_line(processes, tmp_path):
    """Distributed's records with tracebacks reached the user, and a chunk was blamed."""
    data = tmp_path / "methane.xyz"
    ase.io.write(data, dg.sample_methane(3000, seed=1), format="extxyz")
    address, scheduler = _scheduler(processes, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    processes([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
               "--host", "127.0.0.1", "--no-nanny"], env, tmp_path / "worker.log")  # fmt: skip
    output = tmp_path / "r.parquet"
    scan = processes(
        [sys.executable, "-m", "degeneracy", "scan", str(data), "--output", str(output),
         "--chunk-size", "20", "--no-progress", "--scheduler", address],
        env, tmp_path / "scan.log",
    )  # fmt: skip
    deadline = time.monotonic() + 120
    parts = Path(f"{output}.parts")
    while len(list(parts.glob("chunk-*"))) < 2 and scan.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(scheduler.pid, signal.SIGKILL)
    killed = time.monotonic()
    assert scan.wait(60) == 2
    assert time.monotonic() - killed < 20
    (line,) = (tmp_path / "scan.log").read_text().strip().splitlines()
    assert f"lost the connection to the Dask scheduler at {address}" in line
    assert "finished chunks kept" in line


def test_a_worker_keeps_a_bounded_number_of_built_fingerprints(monkeypatch):
    """A long-lived worker serving scan after scan kept every fingerprint it built (a
    featomic calculator each; helper-149): the least recently used go first."""
    from degeneracy import scan as scanning
    from degeneracy.processes import KeptResults

    monkeypatch.setattr(scanning, "_BUILT", KeptResults(2))
    recipes = [
        dg.RepresentationRecipe.of(dg.SoapPowerSpectrum(n_max=2, l_max=l_max))
        for l_max in (1, 2, 3)
    ]
    first = recipes[0].build(6, (1,))
    assert recipes[0].build(6, (1,)) is first  # built once, then kept
    recipes[1].build(6, (1,))
    recipes[0].build(6, (1,))  # used again: the most recent
    recipes[2].build(6, (1,))
    assert len(scanning._BUILT) == 2
    assert recipes[0].build(6, (1,)) is first  # recipes[1]'s went, the least recent


def test_a_given_client_that_is_not_the_default_scans(one_worker_cluster, methane_file, tmp_path):
    """distributed.wait went through the default client: a scan given a client made with
    set_as_default=False failed at its first chunk, "chunks were cancelled … No clients
    found" (helper-154)."""
    from distributed import Client

    representation = dg.SoapPowerSpectrum(n_max=3, l_max=2)
    with Client(one_worker_cluster, set_as_default=False) as client:
        summary = dg.scan_dataset(
            methane_file, representation, output=tmp_path / "r.parquet", chunk_size=2,
            client=client,
        )  # fmt: skip
    assert summary.n_computed > 0 and (tmp_path / "r.parquet").is_file()


@pytest.mark.parametrize(
    ("keywords", "named"),
    [
        ({"scheduler": "tcp://127.0.0.1:8786", "workers": 2}, "scheduler and workers"),
        ({"client": object(), "workers": 2}, "client and workers"),
        ({"client": object(), "scheduler": "127.0.0.1:8786"}, "client and scheduler"),
    ],
)
def test_two_clusters_are_refused_before_any_work(keywords, named, methane_file, tmp_path):
    """The library ignored ``workers`` beside a scheduler, and a scheduler beside a client
    (the command line refuses --workers with --scheduler); no output is made."""
    with pytest.raises(dg.DegeneracyError) as refused:
        dg.scan_dataset(
            methane_file, dg.SoapPowerSpectrum(n_max=3, l_max=2), output=tmp_path / "r.csv",
            **keywords,
        )  # fmt: skip
    assert str(refused.value).startswith(f"{named}: give one of them"), refused.value
    assert [path for path in tmp_path.iterdir() if path != methane_file] == []
