"""Workers that join a scan's cluster after it asked its workers which degeneracy code they
run (``check_worker_code``, once, when it connects): every chunk task checks again on its
worker (``scan_chunk``), so a late worker with other code cannot mix its results in."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import ase.io
import pytest

import degeneracy as dg
from degeneracy import dask_connection, worker_source
from degeneracy import scan as scanning
from degeneracy.cli import main

SMALL = ["--rep", "soap", "--n-max", "3", "--l-max", "2", "--no-progress"]
SOURCE = Path(dg.__file__).parent
OTHER = "f" * 64


@pytest.fixture
def methane_file(tmp_path):
    path = tmp_path / "methane.xyz"
    ase.io.write(path, dg.sample_methane(6, seed=0), format="extxyz")
    return path


@pytest.fixture
def fresh_digest(monkeypatch):
    """This process's digest forgotten (computed again on the next call); the calls of
    ``source_digest`` counted in the list yielded."""
    calls = []
    digest = worker_source.source_digest

    def counted(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return digest(*args, **kwargs)

    monkeypatch.setattr(worker_source, "_PROCESS_DIGEST", [])
    monkeypatch.setattr(worker_source, "source_digest", counted)
    return calls


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------------------
# the chunk task, without a cluster


def test_a_chunk_task_refuses_other_code_before_any_work(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the chunk was computed")

    monkeypatch.setattr(scanning, "scan_block", never)
    own = worker_source.process_digest()
    with pytest.raises(dg.DegeneracyError) as refused:
        scanning.scan_chunk({worker_source.CODE: OTHER}, "recipe", "block", cutoff=2.5)
    assert str(refused.value) == (
        f"a worker runs other degeneracy code than this process (source digest {own[:12]}, "
        "here ffffffffffff), which would mix its results with this one's: start it from "
        "this installation"
    )
    assert refused.value.kind == dask_connection.OTHER_CODE


def test_a_chunk_task_with_this_code_scans(monkeypatch):
    seen = []
    monkeypatch.setattr(scanning, "scan_block", lambda *a, **k: seen.append((a, k)) or "table")
    own = worker_source.process_digest()
    assert scanning.scan_chunk({worker_source.CODE: own}, "recipe", "block", cutoff=2.5) == "table"
    assert seen == [(("recipe", "block"), {"cutoff": 2.5})]


def test_the_digest_is_computed_once_per_process(fresh_digest):
    """source_digest reads every source file: once per process, not per chunk."""
    own = worker_source.source_digest()
    fresh_digest.clear()
    expected = {worker_source.CODE: own}
    threads = [
        threading.Thread(
            target=lambda: [dask_connection.check_task_source(expected) for _ in range(20)]
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for _ in range(20):
        dask_connection.check_task_source(expected)
    assert len(fresh_digest) == 1, fresh_digest
    assert worker_source.process_digest() == own


def test_killed_workers_are_named_not_sent_to_a_web_page():
    """distributed's KilledWorker text ended at distributed.dask.org; a worker without
    degeneracy dies at its first task (it cannot unpickle it), and four such deaths
    fail the chunk."""
    from distributed.scheduler import KilledWorker

    error = KilledWorker("degeneracy-scan-x-0", SimpleNamespace(address="tcp://10.0.0.7:4000"), 3)
    assert str(scanning._workers_died("structures 0–1 (chunk 0)", error)) == (
        "structures 0–1 (chunk 0): 4 workers died one after another while they had it (the "
        "last tcp://10.0.0.7:4000): a worker that cannot import degeneracy dies at its first "
        "task, see the workers' logs"
    )


# --------------------------------------------------------------------------------------
# a worker that joins after the check


def _cluster(**options):
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(
            threads_per_worker=1, processes=False, dashboard_address=None, **options
        )


def _late_worker_after_the_check(monkeypatch, start):
    """After the scan's check of its workers passes, ``start()`` starts a worker; once it
    has joined, the checked workers are retired: the late one scans. Its address is put
    in the list returned."""
    checked = scanning.check_worker_code
    late: list[str] = []

    def check_then_swap(client, where, timeout):
        source = checked(client, where, timeout)
        before = set(client.nthreads())
        start()
        client.wait_for_workers(len(before) + 1, timeout=30)
        late.extend(set(client.nthreads()) - before)
        client.retire_workers(workers=sorted(before))
        assert list(client.nthreads()) == late
        return source

    monkeypatch.setattr(scanning, "check_worker_code", check_then_swap)
    return late


def test_a_late_worker_with_other_code_stops_the_scan(monkeypatch, methane_file, tmp_path, capsys):
    """A worker that joined after the check computed chunks whatever its code (here its
    digest is made to differ in the late worker's threads only); the scan is refused
    with nothing written, and the same command then scans from scratch."""
    with _cluster(n_workers=1) as cluster:
        late = _late_worker_after_the_check(monkeypatch, lambda: cluster.scale(2))
        own = worker_source.process_digest()

        def other_on_the_late_worker():
            from distributed import get_worker

            try:
                address = get_worker().address
            except ValueError:  # the scan's process
                return own
            return OTHER if address in late else own

        monkeypatch.setattr(worker_source, "process_digest", other_on_the_late_worker)
        output = tmp_path / "r.parquet"
        argv = ["scan", str(methane_file), "--output", str(output), *SMALL, "--chunk-size", "2"]
        address = cluster.scheduler_address
        started = time.monotonic()
        line = _one_line_error(capsys, [*argv, "--scheduler", address])
        assert time.monotonic() - started < 20
        assert line == (
            f"degeneracy scan: error: the Dask scheduler at {address}: worker {late[0]} runs "
            f"other degeneracy code than this process (source digest ffffffffffff, here "
            f"{own[:12]}), which would mix its results with this one's: start it from this "
            "installation"
        )
        assert sorted(path.name for path in tmp_path.iterdir()) == ["methane.xyz"]
        late.clear()  # the late worker, now with this code, scans
        monkeypatch.setattr(scanning, "check_worker_code", dask_connection.check_worker_code)
        assert main([*argv, "--scheduler", address]) == 0
        assert len(dg.read_results(output)) == 6  # the C centres


def test_a_late_worker_mid_scan_keeps_the_finished_chunks(
    monkeypatch, methane_file, tmp_path, capsys
):
    """A worker with other code that joins once a chunk is written: the chunks computed
    before are kept (each by a worker with this code), and the same command resumes from
    them to the results of a scan from scratch."""
    from distributed import Client, get_worker

    own = worker_source.process_digest()
    late: list[str] = []

    def other_on_the_late_worker():
        try:
            address = get_worker().address
        except ValueError:
            return own
        return OTHER if address in late else own

    monkeypatch.setattr(worker_source, "process_digest", other_on_the_late_worker)
    write = scanning.ChunkStore.write_chunk
    with _cluster(n_workers=1) as cluster, Client(cluster, set_as_default=False) as helper:
        (first,) = helper.nthreads()

        def then_a_late_worker(store, chunk, table):
            write(store, chunk, table)
            if not late:
                cluster.scale(2)
                helper.wait_for_workers(2, timeout=30)
                late.extend(set(helper.nthreads()) - {first})
                helper.retire_workers(workers=[first])

        monkeypatch.setattr(scanning.ChunkStore, "write_chunk", then_a_late_worker)
        output = tmp_path / "r.parquet"
        argv = ["scan", str(methane_file), "--output", str(output), *SMALL, "--chunk-size", "1"]
        address = cluster.scheduler_address
        line = _one_line_error(capsys, [*argv, "--scheduler", address])
        assert line.startswith(
            f"degeneracy scan: error: the Dask scheduler at {address}: worker {late[0]} runs "
            "other degeneracy code than this process"
        ), line
        kept = sorted(path.name for path in Path(f"{output}.parts").glob("chunk-*"))
        assert 1 <= len(kept) < 6 and f"({len(kept)} finished chunk" in line, (kept, line)
        assert not output.exists()
        late.clear()  # the late worker, now with this code, finishes the scan
        monkeypatch.setattr(scanning.ChunkStore, "write_chunk", write)
        assert main([*argv, "--scheduler", address]) == 0
        assert f", {len(kept)} of 6 chunks resumed" in capsys.readouterr().out
        resumed = dg.read_results(output)
        fresh = tmp_path / "fresh.parquet"
        assert main(["scan", str(methane_file), "--output", str(fresh), *SMALL,
                     "--chunk-size", "1", "--scheduler", address]) == 0  # fmt: skip
    assert resumed.equals(dg.read_results(fresh))


_WITHOUT_DEGENERACY = (
    "import sys; sys.path[:] = [p for p in sys.path if not p.endswith('src')]\n"
    "from distributed.cli.dask_worker import main\n"
    "sys.argv = ['dask-worker', *sys.argv[1:]]; main()\n"
)


@pytest.fixture
def worker_processes():
    """Start Dask worker processes (killed at the end, with their process groups)."""
    started: list[subprocess.Popen] = []

    def start(scheduler: str, source: Path | None, log: Path) -> subprocess.Popen:
        """A worker that imports degeneracy from ``source``; without, none."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if source is None:
            launch = ["-c", _WITHOUT_DEGENERACY]
        else:
            env["PYTHONPATH"] = str(source)
            launch = ["-m", "distributed.cli.dask_worker"]
        arguments = [sys.executable, *launch, scheduler, "--nthreads", "1", "--host", "127.0.0.1",
                     "--no-nanny"]  # fmt: skip
        with open(log, "wb") as out:
            process = subprocess.Popen(arguments, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_a_late_worker_process_from_other_code_is_refused(
    monkeypatch, worker_processes, methane_file, tmp_path, capsys
):
    """A real worker process that imports a copy of degeneracy with one file changed (an
    editable install at another commit), started after the check."""
    copy = tmp_path / "other"
    shutil.copytree(SOURCE, copy / "degeneracy", ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "degeneracy" / "errors.py", "a") as changed:
        changed.write("# another commit\n")
    with _cluster(n_workers=1, protocol="tcp", host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        late = _late_worker_after_the_check(
            monkeypatch, lambda: worker_processes(address, copy, tmp_path / "worker.log")
        )
        output = tmp_path / "r.parquet"
        argv = ["scan", str(methane_file), "--output", str(output), *SMALL, "--chunk-size", "2"]
        line = _one_line_error(capsys, [*argv, "--scheduler", address, "--connect-timeout", "30"])
    own = worker_source.process_digest()
    theirs = line.split("(source digest ")[1][:12]
    assert theirs != own[:12]
    assert line.startswith(
        f"degeneracy scan: error: the Dask scheduler at {address}: worker {late[0]} runs "
        "other degeneracy code than this process (source digest "
    ), line
    assert line.endswith(
        f", here {own[:12]}), which would mix its results with this one's: start it from this "
        "installation"
    ), line
    assert not output.exists() and not Path(f"{output}.parts").exists()


def test_a_late_worker_without_degeneracy_leaves_at_its_first_chunk(
    monkeypatch, worker_processes, methane_file, tmp_path, capsys
):
    """It cannot unpickle the chunk task: distributed closes it ("Failed to deserialize",
    in its own log) and gives the chunk to another worker; here none is left."""
    with _cluster(n_workers=1, protocol="tcp", host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        log = tmp_path / "worker.log"
        _late_worker_after_the_check(monkeypatch, lambda: worker_processes(address, None, log))
        output = tmp_path / "r.parquet"
        argv = ["scan", str(methane_file), "--output", str(output), *SMALL, "--chunk-size", "2"]
        line = _one_line_error(capsys, [*argv, "--scheduler", address, "--connect-timeout", "2"])
    assert line == (
        f"degeneracy scan: error: the Dask scheduler at {address} has no workers left, none "
        "for 2 s (a worker that cannot import degeneracy dies at its first task)"
    )
    assert "No module named 'degeneracy'" in log.read_text()
    assert not output.exists() and not Path(f"{output}.parts").exists()


# --------------------------------------------------------------------------------------
# the versions of the libraries that decide a scan's numbers (featomic, metatensor-core)


@pytest.fixture
def fresh_versions(monkeypatch):
    """This process's library versions forgotten (read again on the next call), and
    ``importlib.metadata.version`` answering featomic 0.6.6 (metatensor-core as
    installed); its calls counted in the list yielded."""
    import importlib.metadata

    calls = []
    version = importlib.metadata.version

    def featomic_066(name):
        calls.append(name)
        return "0.6.6" if name == "featomic" else version(name)

    monkeypatch.setattr(worker_source, "_PROCESS_VERSIONS", {})
    monkeypatch.setattr(importlib.metadata, "version", featomic_066)
    return calls


def _identity(**versions):
    """This process's identity (as the scan sends it to its chunk tasks), with
    ``versions`` (``metatensor_core=`` for metatensor-core) changed."""
    identity = {worker_source.CODE: worker_source.process_digest()}
    identity.update(worker_source.library_versions())
    identity.update({name.replace("_", "-"): value for name, value in versions.items()})
    return identity


def test_the_identity_includes_the_library_versions():
    import importlib.metadata

    identity = worker_source.source_identity()
    assert identity == {
        "degeneracy": worker_source.source_digest(),
        "featomic": importlib.metadata.version("featomic"),
        "metatensor-core": importlib.metadata.version("metatensor-core"),
    }
    assert worker_source.LIBRARIES == ("featomic", "metatensor-core")
    assert worker_source.library_versions(["no-such-distribution-here"]) == {
        "no-such-distribution-here": None
    }
    assert worker_source.process_versions() == worker_source.library_versions()
    assert _identity().keys() == identity.keys()  # what the scan sends its chunk tasks


def test_a_chunk_task_refuses_another_featomic_before_any_work(monkeypatch, fresh_versions):
    def never(*args, **kwargs):
        raise AssertionError("the chunk was computed")

    monkeypatch.setattr(scanning, "scan_block", never)
    expected = _identity(featomic="0.6.7")
    with pytest.raises(dg.DegeneracyError) as refused:
        scanning.scan_chunk(expected, "recipe", "block", cutoff=2.5)
    assert str(refused.value) == (
        "a worker has featomic 0.6.6, here 0.6.7 (its features would differ): start it with "
        "this process's featomic"
    )
    assert refused.value.kind == dask_connection.OTHER_CODE
    # two libraries, and one absent on either side
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_task_source(_identity(featomic=None, metatensor_core="9.9"))
    assert str(refused.value) == (
        "a worker has featomic 0.6.6 and metatensor-core "
        f"{worker_source.process_versions()['metatensor-core']}, here none and 9.9 (its "
        "features would differ): start it with this process's featomic and metatensor-core"
    )


def test_a_chunk_task_with_these_versions_scans(monkeypatch, fresh_versions):
    seen = []
    monkeypatch.setattr(scanning, "scan_block", lambda *a, **k: seen.append((a, k)) or "table")
    assert scanning.scan_chunk(_identity(featomic="0.6.6"), "recipe", "block") == "table"
    assert seen == [(("recipe", "block"), {})]


def test_other_code_is_said_before_other_versions(fresh_versions):
    """The code's message is today's, byte for byte, whatever the versions."""
    own = worker_source.process_digest()
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_task_source(_identity(degeneracy=OTHER, featomic="0.6.7"))
    assert str(refused.value) == (
        f"a worker runs other degeneracy code than this process (source digest {own[:12]}, "
        "here ffffffffffff), which would mix its results with this one's: start it from "
        "this installation"
    )
    assert refused.value.kind == dask_connection.OTHER_CODE


def test_the_versions_are_read_once_per_process(fresh_digest, fresh_versions):
    """Every chunk task compares the identity: the files and the metadata are read once."""
    expected = _identity(featomic="0.6.6")
    worker_source._PROCESS_DIGEST.clear()  # the fixtures' own, restored after
    worker_source._PROCESS_VERSIONS.clear()
    fresh_digest.clear()
    fresh_versions.clear()
    threads = [
        threading.Thread(
            target=lambda: [dask_connection.check_task_source(expected) for _ in range(20)]
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for _ in range(20):
        dask_connection.check_task_source(expected)
    assert len(fresh_digest) == 1, fresh_digest
    assert sorted(fresh_versions) == ["featomic", "metatensor-core"], fresh_versions


class _Workers:
    """A client whose workers answer ``identities`` to ``Client.run``."""

    def __init__(self, identities):
        self.identities = identities

    def run(self, function, callback_timeout):
        assert function is worker_source.source_identity
        return self.identities


def test_workers_with_another_featomic_are_refused_when_the_scan_connects():
    own = _identity()
    here = own["featomic"]
    client = _Workers({"tcp://a:1": own, "tcp://b:1": _identity(featomic="0.6.6")})
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_worker_code(client, "the cluster", 10)
    assert str(refused.value) == (
        f"the cluster: worker tcp://b:1 has featomic 0.6.6, here {here} (its features would "
        "differ): start it with this process's featomic"
    )
    client.identities["tcp://c:1"] = _identity(featomic=None)
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_worker_code(client, "the cluster", 10)
    assert str(refused.value) == (
        f"the cluster: workers tcp://b:1, tcp://c:1 have featomic 0.6.6, here {here} (their "
        "features would differ): start them with this process's featomic"
    )
    # other code is said first, in today's words
    client.identities["tcp://d:1"] = _identity(degeneracy=OTHER)
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_worker_code(client, "the cluster", 10)
    assert str(refused.value) == (
        "the cluster: worker tcp://d:1 run other degeneracy code than this process (source "
        f"digest ffffffffffff, here {own['degeneracy'][:12]}), which would mix its results "
        "with this one's: start them from this installation"
    )
    assert dask_connection.check_worker_code(_Workers({"tcp://a:1": own}), "the cluster", 10) == own


def test_the_refusal_of_another_featomic_names_the_cluster(fresh_versions):
    """scan's _chunk_result recognises the refusal (its kind) and names the cluster."""
    with pytest.raises(dg.DegeneracyError) as refused:
        dask_connection.check_task_source(_identity(featomic="0.6.7"))
    released = []

    class Future:
        def result(self):
            raise refused.value

        def release(self):
            released.append(True)

    cluster = SimpleNamespace(where="the Dask scheduler at tcp://10.0.0.1:8786")
    with pytest.raises(dg.DegeneracyError) as named:
        scanning._chunk_result(cluster, Future(), "structures 0–1 (chunk 0)")
    assert str(named.value) == (
        "the Dask scheduler at tcp://10.0.0.1:8786: a worker has featomic 0.6.6, here 0.6.7 "
        "(its features would differ): start it with this process's featomic"
    )
    assert named.value.kind == dask_connection.OTHER_CODE and released == [True]


def test_a_late_worker_with_another_featomic_stops_the_scan(
    monkeypatch, methane_file, tmp_path, capsys
):
    """A worker that joined after the check, with this code but featomic 0.6.6 (made so
    in the late worker's threads only): the scan is refused, naming it and both versions."""
    with _cluster(n_workers=1) as cluster:
        late = _late_worker_after_the_check(monkeypatch, lambda: cluster.scale(2))
        versions = worker_source.process_versions

        def featomic_066_on_the_late_worker(names=worker_source.LIBRARIES):
            from distributed import get_worker

            own = versions(names)
            try:
                address = get_worker().address
            except ValueError:  # the scan's process
                return own
            return {**own, "featomic": "0.6.6"} if address in late else own

        monkeypatch.setattr(worker_source, "process_versions", featomic_066_on_the_late_worker)
        here = versions()["featomic"]
        output = tmp_path / "r.parquet"
        argv = ["scan", str(methane_file), "--output", str(output), *SMALL, "--chunk-size", "2"]
        address = cluster.scheduler_address
        line = _one_line_error(capsys, [*argv, "--scheduler", address])
        assert line == (
            f"degeneracy scan: error: the Dask scheduler at {address}: worker {late[0]} has "
            f"featomic 0.6.6, here {here} (its features would differ): start it with this "
            "process's featomic"
        )
        assert sorted(path.name for path in tmp_path.iterdir()) == ["methane.xyz"]


def test_the_identity_runs_where_degeneracy_is_missing(tmp_path):
    """Sent by value, it imports neither degeneracy nor featomic: a worker without
    degeneracy answers no digest, and its versions all the same."""
    import importlib.metadata

    import cloudpickle

    cloudpickle.register_pickle_by_value(worker_source)
    sent = tmp_path / "probe.pickle"
    sent.write_bytes(cloudpickle.dumps(worker_source.source_identity))
    code = (
        "import pickle, sys; sys.path[:] = [p for p in sys.path if not p.endswith('src')]; "
        f"print(pickle.loads(open({str(sent)!r}, 'rb').read())()); "
        "print(sorted(m for m in ('degeneracy', 'featomic', 'metatensor') if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    answer = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    assert answer.stdout.splitlines() == [
        str({"degeneracy": None, "featomic": importlib.metadata.version("featomic"),
             "metatensor-core": importlib.metadata.version("metatensor-core")}),
        "[]",
    ], answer.stderr  # fmt: skip
