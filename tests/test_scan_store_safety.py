"""The scan's chunk store: a damaged manifest, and one scan at a time into an output.

A damaged ``RESULTS.parts/manifest.json`` gave a Python traceback (JSONDecodeError,
AttributeError); it is refused in one line that names it and ``--restart``. Two scans into
one output shared its parts folder: the first merged and removed it under the second,
which then failed with "chunk 0 is missing, cannot merge"; a scan now holds an exclusive
``flock`` on ``RESULTS.parts/lock`` and a second one is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import degeneracy as dg
from degeneracy import scan as scanning
from degeneracy.cli import main

SMALL = ["--n-max", "4", "--l-max", "4"]


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(n_max=4, l_max=4)


@pytest.fixture(scope="module")
def frames():
    return dg.sample_methane(24, seed=3)


@pytest.fixture(scope="module")
def methane_file(tmp_path_factory, frames):
    path = tmp_path_factory.mktemp("store") / "methane.xyz"
    import ase.io

    ase.io.write(path, frames, format="extxyz")
    return path


@pytest.fixture(autouse=True)
def no_lock_left_behind():
    """Every test ends without a lock held by this process (and starts without one: other
    modules' scans with ``keep_parts=True`` keep theirs until the process ends)."""
    scanning._release_every_lock()
    yield
    held = dict(scanning._HELD_LOCKS)
    scanning._release_every_lock()
    assert not held, held


def _threads(**kwargs):
    return {"processes": False, "workers": 2, **kwargs}


def _scan(frames, soap, output, **kwargs):
    return dg.scan_dataset(frames, soap, output=output, chunk_size=6, **_threads(**kwargs))


def _interrupted(monkeypatch, n_chunks, *args, error=KeyboardInterrupt, **kwargs):
    """``_scan(*args, **kwargs)`` stopped by ``error`` once ``n_chunks`` chunks are written."""
    original = scanning.ChunkStore.write_chunk
    written = []

    def interrupting(self, chunk, table):
        if len(written) == n_chunks:
            raise error("stopped")
        original(self, chunk, table)
        written.append(chunk)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(error):
        _scan(*args, **kwargs)
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)


def _locked_elsewhere(path: Path) -> bool:
    """Whether an exclusive flock on ``path`` is held (by any descriptor but a new one)."""
    if not path.exists():
        return False
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # releases it if this took it
    return False


# ---------------------------------------------------------------- damaged manifest

DAMAGED = {
    "truncated": (b'{"chunk_size": 6, "cutoff": 2.', "not JSON: "),
    "empty": (b"", "empty file"),
    "blank": (b"  \n", "empty file"),
    "array": (b"[]", "a JSON array, not an object"),
    "string": (b'"manifest"', "a JSON string, not an object"),
    "null": (b"null", "a JSON null, not an object"),
    "number": (b"5", "a JSON number, not an object"),
    "binary": (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    "deep": (b"[" * 100_000, "not JSON: "),
}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_a_damaged_manifest_is_refused_in_one_line_and_restart_discards(tmp_path, name):
    content, problem = DAMAGED[name]
    store = scanning.ChunkStore(tmp_path / "r.parquet")
    store.open({"scan": "a"})
    store.write_chunk(0, scanning.RESULT_SCHEMA.empty_table())
    path = store.folder / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(dg.DegeneracyError) as refused:
        store.open({"scan": "a"})
    message = str(refused.value)
    assert message.startswith(f"{path}: damaged manifest ({problem}")
    assert message.endswith(
        f"the settings of the partial results in {store.folder} are unknown; rerun with "
        "restart=True to discard them"
    )
    assert "\n" not in message
    # nothing deleted on a guess, nothing adopted either
    assert path.read_bytes() == content and store.chunk_path(0).exists()
    assert store.open({"scan": "a"}, restart=True) == set()
    assert json.loads(path.read_text()) == {"scan": "a"}
    assert not store.chunk_path(0).exists()


def test_a_manifest_that_is_a_folder_is_refused_and_restart_discards_it(tmp_path):
    store = scanning.ChunkStore(tmp_path / "r.parquet")
    (store.folder / "manifest.json").mkdir(parents=True)
    with pytest.raises(dg.DegeneracyError, match=r"manifest\.json: damaged manifest \(unread"):
        store.open({"scan": "a"})
    assert store.open({"scan": "a"}, restart=True) == set()  # it failed: unlink of a folder
    assert json.loads((store.folder / "manifest.json").read_text()) == {"scan": "a"}


def test_a_scan_with_a_truncated_manifest_is_refused_then_restarted(
    soap, frames, tmp_path, monkeypatch
):
    reference = tmp_path / "reference.parquet"
    _scan(frames, soap, reference)
    output = tmp_path / "r.parquet"
    _interrupted(monkeypatch, 2, frames, soap, output)
    store = scanning.ChunkStore(output)
    path = store.folder / "manifest.json"
    path.write_text(path.read_text()[:50])
    chunks = store.chunk_files()
    assert len(chunks) == 2
    with pytest.raises(dg.DegeneracyError, match=r"damaged manifest \(not JSON: .*restart=True"):
        _scan(frames, soap, output)
    assert store.chunk_files() == chunks and not output.exists()
    assert not store.lock_path.exists()  # the refused scan let go of the output
    summary = _scan(frames, soap, output, restart=True)
    assert summary.n_resumed_chunks == 0 and summary.n_computed == 24
    assert output.read_bytes() == reference.read_bytes()
    assert not store.folder.exists()


def test_cli_damaged_manifest_is_one_line_with_exit_2(capsys, methane_file, tmp_path):
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    store.open({"scan": "a"})
    (store.folder / "manifest.json").write_text("[]")
    code = main(["scan", str(methane_file), "--output", str(output), "--no-progress", *SMALL])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0] == (
        f"degeneracy scan: error: {store.folder / 'manifest.json'}: damaged manifest (a JSON "
        f"array, not an object), the settings of the partial results in {store.folder} are "
        "unknown; rerun with --restart to discard them"
    )


# ---------------------------------------------------------------- one scan at a time


def _hold(path: Path, pid: int = 4242) -> int:
    """Lock ``path`` as another scan does (its folder made), writing ``pid``; the
    descriptor (close it to release)."""
    path.parent.mkdir(exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(descriptor, f"{pid}\n".encode())
    return descriptor


def test_a_second_scan_into_a_locked_output_is_refused(soap, frames, tmp_path):
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    descriptor = _hold(store.lock_path)
    try:
        with pytest.raises(dg.DegeneracyError) as refused:
            _scan(frames, soap, output)
        assert str(refused.value) == (
            f"another scan is writing {output} (pid 4242); wait for it or choose another output=..."
        )
        # the holder's folder untouched: no manifest made, its lock file kept
        assert sorted(p.name for p in store.folder.iterdir()) == ["lock"]
        assert not output.exists()
        os.ftruncate(descriptor, 0)  # its id not written yet: the message goes without
        with pytest.raises(dg.DegeneracyError, match=r"writing .*r\.parquet; wait"):
            _scan(frames, soap, output)
    finally:
        os.close(descriptor)
    summary = _scan(frames, soap, output)  # released: the scan runs and cleans up
    assert summary.n_environments == 24 and not store.folder.exists()


def test_the_lock_is_held_during_the_scan_and_never_a_chunk(soap, frames, tmp_path, monkeypatch):
    """The lock file holds this process's id, is locked while chunks are written and the
    merge runs, and neither is taken for a chunk nor left behind."""
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    original_write, original_merge = scanning.ChunkStore.write_chunk, scanning.ChunkStore.merge
    seen = []

    def writing(self, chunk, table):
        seen.append((self.lock_path.read_text(), _locked_elsewhere(self.lock_path)))
        original_write(self, chunk, table)

    def merging(self, n_chunks, **kwargs):
        assert {p.name for p in self.folder.iterdir()} == {
            "lock", "manifest.json", *(f"chunk-{k:07d}.parquet" for k in range(4))
        }  # fmt: skip
        assert self.chunk_files() == [self.chunk_path(k) for k in range(4)]
        assert _locked_elsewhere(self.lock_path)
        return original_merge(self, n_chunks, **kwargs)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", writing)
    monkeypatch.setattr(scanning.ChunkStore, "merge", merging)
    summary = _scan(frames, soap, output)
    assert seen == [(f"{os.getpid()}\n", True)] * 4
    assert summary.n_chunks == 4 and dg.read_results(output).num_rows == 24
    assert not store.folder.exists() and scanning._HELD_LOCKS == {}


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError, dg.DegeneracyError])
def test_the_lock_is_released_on_every_exit_path(soap, frames, tmp_path, monkeypatch, error):
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    _interrupted(monkeypatch, 2, frames, soap, output, error=error)
    assert scanning._HELD_LOCKS == {}
    # the chunks are kept for the rerun, the lock file is not (nothing else left)
    names = sorted(p.name for p in store.folder.iterdir())  # chunks finish in any order
    assert names == [*(p.name for p in store.chunk_files()), "manifest.json"]
    assert len(store.chunk_files()) == 2
    descriptor = _hold(store.lock_path)  # another scan could take it
    os.close(descriptor)
    summary = _scan(frames, soap, output)
    assert summary.n_resumed_chunks == 2 and not store.folder.exists()


def test_a_refused_scan_before_any_chunk_leaves_no_folder(soap, frames, tmp_path):
    output = tmp_path / "r.parquet"
    with pytest.raises(dg.DegeneracyError, match="no centre of species N"):
        _scan(frames, soap, output, centers="N")
    with pytest.raises(dg.DegeneracyError, match="no atom of neighbour species N"):
        _scan(frames, soap, output, neighbors="N")
    assert list(tmp_path.iterdir()) == [] and scanning._HELD_LOCKS == {}


def test_a_killed_holder_leaves_no_stale_lock(soap, frames, tmp_path):
    """The operating system releases a flock when its process dies: a killed scan's lock
    file blocks nothing (a pid file would have)."""
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "os.makedirs(sys.argv[1], exist_ok=True)\n"
            "d = os.open(os.path.join(sys.argv[1], 'lock'), os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(d, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "os.write(d, b'%d\\n' % os.getpid())\n"
            "print('locked', flush=True)\n"
            "time.sleep(600)\n",
            str(store.folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(dg.DegeneracyError, match=rf"\(pid {holder.pid}\); wait for it"):
            _scan(frames, soap, output)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert store.lock_path.read_text() == f"{holder.pid}\n"  # stale file, no lock
    summary = _scan(frames, soap, output)
    assert summary.n_environments == 24 and not store.folder.exists()


def test_two_scans_in_one_process_are_kept_apart(soap, frames, tmp_path):
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    store.lock()
    try:
        with pytest.raises(dg.DegeneracyError, match=rf"\(pid {os.getpid()}\); wait for it"):
            _scan(frames, soap, output)
        assert _locked_elsewhere(store.lock_path)  # the refusal did not release the holder's
    finally:
        store.unlock()
    assert not store.folder.exists()  # nothing but the lock was there
    assert _scan(frames, soap, output).n_environments == 24


def test_kept_parts_stay_locked_until_removed(soap, frames, tmp_path):
    """With keep_parts (the command line, while it writes the reports) the chunks stay
    locked: a second scan would have adopted them, and the first's clean-up removed them
    under it. A next scan of this process takes the lock over; ChunkStore.remove ends it."""
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    _scan(frames, soap, output, keep_parts=True)
    assert _locked_elsewhere(store.lock_path)  # another process is refused
    again = _scan(frames, soap, output, keep_parts=True)  # this one takes it over
    assert again.n_resumed_chunks == 4 and _locked_elsewhere(store.lock_path)
    store.lock()  # a running scan of this process: another one is refused
    with pytest.raises(dg.DegeneracyError, match="another scan is writing"):
        _scan(frames, soap, output)
    scanning.ChunkStore(output).remove()
    assert not store.folder.exists() and scanning._HELD_LOCKS == {}
    assert output.exists()


def test_restart_keeps_the_lock(soap, frames, tmp_path, monkeypatch):
    """--restart empties the folder but keeps its lock file: removing it would have let
    another scan lock a new one while this one runs."""
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    store.open({"something": "else"})
    store.write_chunk(0, scanning.RESULT_SCHEMA.empty_table())
    with pytest.raises(dg.DegeneracyError, match="different scan"):
        _scan(frames, soap, output)
    original = scanning.ChunkStore.write_chunk
    locked = []

    def writing(self, chunk, table):
        locked.append(_locked_elsewhere(self.lock_path))
        original(self, chunk, table)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", writing)
    summary = _scan(frames, soap, output, restart=True)
    assert locked == [True] * 4 and summary.n_resumed_chunks == 0
    assert not store.folder.exists()


def test_a_lock_file_removed_by_a_finishing_scan_is_made_again(tmp_path, monkeypatch):
    """A scan that opened the lock file just before its holder finished (and removed it)
    gets the lock of a file no other scan sees: it must make a new one."""
    store = scanning.ChunkStore(tmp_path / "r.parquet")
    original = fcntl.flock
    calls = []

    def finishing(descriptor, operation):
        calls.append(operation)
        if len(calls) == 1:
            store.lock_path.unlink()  # the holder's clean-up, as this one opened it
        return original(descriptor, operation)

    monkeypatch.setattr(fcntl, "flock", finishing)
    store.lock()
    monkeypatch.setattr(fcntl, "flock", original)
    try:
        assert len(calls) == 2 and _locked_elsewhere(store.lock_path)
    finally:
        store.unlock()
    assert not store.folder.exists()


def test_a_file_system_without_locks_scans_with_a_warning(soap, frames, tmp_path, monkeypatch):
    output = tmp_path / "r.parquet"

    def unsupported(descriptor, operation):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    with pytest.warns(dg.DegeneracyWarning, match=r"lock: cannot lock it \(No locks available"):
        summary = _scan(frames, soap, output)
    assert summary.n_environments == 24 and list(tmp_path.iterdir()) == [output]


def test_the_parts_folder_is_a_file(soap, frames, tmp_path):
    output = tmp_path / "r.parquet"
    folder = scanning.ChunkStore(output).folder
    folder.write_text("not a folder")
    with pytest.raises(dg.DegeneracyError) as refused:
        _scan(frames, soap, output)
    assert str(refused.value) == (
        f"{folder}: cannot make the folder of the partial results there (File exists)"
    )
    assert folder.read_text() == "not a folder"


def test_cli_second_scan_is_refused_in_one_line(capsys, methane_file, tmp_path):
    output = tmp_path / "r.parquet"
    store = scanning.ChunkStore(output)
    descriptor = _hold(store.lock_path, pid=31337)
    try:
        code = main(["scan", str(methane_file), "--output", str(output), "--no-progress", *SMALL])
    finally:
        os.close(descriptor)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and lines == [
        f"degeneracy scan: error: another scan is writing {output} (pid 31337); wait for it "
        "or choose another --output"
    ]


_FORKED = """
import fcntl, os, sys
from degeneracy import scan as scanning

store = scanning.ChunkStore(sys.argv[1])
store.lock()
read, write = os.pipe()
ready_read, ready_write = os.pipe()
child = os.fork()
if child == 0:  # waits until the parent has checked
    os.write(ready_write, b"r")  # os.fork's hooks have run
    os.read(read, 1)
    os._exit(0)
assert os.read(ready_read, 1) == b"r"
# released as the end of this process would: the descriptor closed, the file left
held = scanning._HELD_LOCKS.pop(store._lock_key())
os.close(held.descriptor)
descriptor = os.open(store.lock_path, os.O_RDWR)
try:
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("held by the child")
os.write(write, b"x")
os.waitpid(child, 0)
"""


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """A worker forked while the lock is held closes its copy of the descriptor: else
    the lock would outlive the scan as long as such a worker lives. (In a process of its
    own: no thread of an earlier test's cluster to fork.)"""
    run = subprocess.run(
        [sys.executable, "-c", _FORKED, str(tmp_path / "r.parquet")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "free\n"
