"""Atomic output files and the on-disk cache directory.

Results are written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so an error or Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # not POSIX: nothing is locked
    fcntl = None  # type: ignore[assignment]

import numpy as np

from .checks import path_value
from .errors import DegeneracyError

#: What :func:`numpy.load` raises for a damaged or foreign ``.npz`` file (truncated:
#: BadZipFile or EOFError; not a zip: ValueError about pickles; a missing array: KeyError).
NPZ_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success only.

    ``suffix`` ends the temporary name (for writers that choose the format by it). A
    symbolic link is written through, like a shell redirection: its target is replaced,
    the link stays.
    """
    asked = output_file(path)
    target = Path(os.path.realpath(asked)) if asked.is_symlink() else asked
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    except OSError as error:  # name the file asked for, not the temporary one
        raise DegeneracyError(f"{asked}: cannot write ({error.strerror or error})") from error
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results are ordinary files
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, target)
        except OSError as error:  # name the file asked for, not the temporary one
            raise DegeneracyError(f"{asked}: cannot write ({error.strerror or error})") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_paths(
    paths: Sequence[str | os.PathLike], *, suffix: str = ".part"
) -> Iterator[list[Path]]:
    """Temporary paths for files written as one result (a figure's PNG and PDF): they
    are moved into place together once every one is written, none if writing any fails
    (an error or Ctrl-C while writing the second used to leave the first, new, beside
    an old second); only an interrupt between the final renames can still split them."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(path, suffix=suffix)) for path in paths]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode) as handle:
        yield handle


def cache_dir() -> Path:
    """Folder for cached splines and fitted bases (``$DEGENERACY_CACHE`` or ``~/.cache``).

    ``~`` in ``$DEGENERACY_CACHE`` is the home folder (``'~/cache'``, quoted in a shell,
    made a folder named ``~`` in the working folder), and a relative path is made
    absolute, from the working folder, so that messages name the folder in full.
    """
    root = os.environ.get("DEGENERACY_CACHE")
    path = Path(root).expanduser().absolute() if root else Path.home() / ".cache" / "degeneracy"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # e.g. $DEGENERACY_CACHE names a file
        source = " ($DEGENERACY_CACHE)" if root else ""
        raise DegeneracyError(
            f"cache folder {path}{source}: cannot create it ({error.strerror or error})"
        ) from error
    return path


def cache_key(**settings: Any) -> str:
    """A short stable hash of JSON-serialisable settings, used in cache file names."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays as Python objects, paths as
    strings, and infinite or NaN floats as ``None`` (JSON ``null``), recursively.

    Strict JSON has no infinity; ``null`` is what JavaScript's ``JSON.stringify`` and most
    readers use for it. This is the project's one policy for non-finite numbers in JSON
    output (an infinite condition number, for instance, when s_min = 0); the documents
    that can hold one also carry the value that explains it (``s_min``).
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def json_text(value: Any, *, indent: int | None = 1) -> str:
    """Strict JSON text of ``value`` (through :func:`json_safe`), ending in a newline."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write :func:`json_text` of ``value`` to ``path`` atomically."""
    with atomic_open(path) as handle:
        handle.write(json_text(value))


#: Names of files written as extended XYZ (ase reads ``.xyz`` with the extxyz reader).
EXTXYZ_SUFFIXES = (".extxyz", ".xyz")


def output_file(
    path: str | os.PathLike, what: str = "output", *, suffixes: Sequence[str] = ()
) -> Path:
    """``path``, a file about to be written, as a Path; refused (``"{path}: {what}
    folder {folder} does not exist"``) unless its folder exists.

    Called before any work, so that a typo in a folder name does not cost a scan or a
    traced orbit (the atomic writers would find out only at the end). With ``suffixes``
    the name must also end with one of them (case-insensitive): the writers choose the
    format themselves, and a PNG named ``plot.txt`` or an .npz named ``basis.txt`` would
    be a trap for whoever opens it later. A path that exists and is not a regular file
    (a device such as ``/dev/full``, a FIFO, a socket) is refused: the atomic rename
    would replace it. A symbolic link is accepted (:func:`atomic_path` writes through it).
    A name ending in ``/`` is a folder's, refused too (pathlib drops the slash, and
    ``--output results/`` was written as the file ``results``).
    """
    typed = path
    path = path_value(what, path)
    if os.fspath(typed).endswith(("/", os.sep)):  # pathlib drops the slash: "results/"
        raise DegeneracyError(  # would be written as the file "results"
            f"{os.fspath(typed)}: {what} ends with '/', which names a folder, not a file; "
            "give a file name"
        )
    if suffixes and not path.name.lower().endswith(tuple(s.lower() for s in suffixes)):
        names = " or ".join(suffixes)
        raise DegeneracyError(f"{path}: {what} must end with {names} (its format is fixed)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DegeneracyError(f"{path}: {what} folder {folder} does not exist")
    written = folder  # where atomic_path puts the file: a link's target's folder
    if path.is_symlink():
        written = Path(os.path.realpath(path)).parent
        if not written.is_dir():
            raise DegeneracyError(
                f"{path}: {what} links into folder {written}, which does not exist"
            )
    if not os.access(written, os.W_OK | os.X_OK):  # else found only after the work
        raise DegeneracyError(f"{path}: {what} folder {written} is not writable")
    if path.is_dir():
        raise DegeneracyError(f"{path}: {what} is a folder, not a file")
    if path.exists() and not path.is_file():  # the atomic rename would replace the node
        raise DegeneracyError(
            f"{path}: {what} is not a regular file (a device, pipe or socket); name a file"
        )
    return path


def output_folder(path: str | os.PathLike, *, parents: bool = False) -> Path:
    """``path`` as a results folder to be created or reused, checked before any work.

    Refuses an existing file of that name and, unless ``parents``, a missing parent folder
    (a typo in the path is more likely than a wish for a new tree).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DegeneracyError(f"{path}: exists and is not a folder")
    if not parents and not path.parent.is_dir():
        raise DegeneracyError(f"{path}: parent folder {path.parent} does not exist")
    # the nearest existing folder is where the results (or the folders above them) go
    existing = next(folder for folder in (path, *path.parents) if folder.is_dir())
    if not os.access(existing, os.W_OK | os.X_OK):  # else found only after the work
        raise DegeneracyError(f"{path}: folder {existing} is not writable")
    return path


#: The file in an output folder that a command writing it holds an exclusive ``flock`` on
#: (:func:`exclusive_output`).
OUTPUT_LOCK = ".degeneracy.lock"

#: The lock files (real paths) this process holds (:func:`exclusive_output`), each with
#: the thread that holds it: only that thread enters its folder again (another thread's
#: own ``flock`` is refused, as another process's is).
_HELD_LOCKS: dict[str, int] = {}


@contextlib.contextmanager
def exclusive_output(folder: str | os.PathLike, command: str) -> Iterator[None]:
    """Keep other runs out of ``folder`` (an existing output folder) while ``command``
    writes it: an exclusive, non-blocking ``flock`` on ``folder/.degeneracy.lock``,
    which holds this process's id for the refusal ("another reproduce is writing out
    (pid 1234); wait for it or choose another output=...", which the command line shows as
    ``--output``).

    The operating system releases the lock when the process ends, even killed: the file
    left behind blocks nothing. Where there is no ``fcntl`` or the file system cannot
    lock, nothing is locked. A folder this thread already holds is entered again without
    a second lock (``learn`` locks DIR, and the library's
    :func:`~degeneracy.learning.run_protocol` its output, the same folder for one
    protocol); another thread of the process is refused. (``scan`` has its own lock, on
    a folder it removes when it finishes.)
    """
    path = Path(folder) / OUTPUT_LOCK
    held = os.path.realpath(path)
    if fcntl is None or _HELD_LOCKS.get(held) == threading.get_ident():
        yield
        return
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise DegeneracyError(
            f"{path}: cannot create the lock file of the run ({error.strerror or error})"
        ) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = lock_owner(descriptor)
            pid = "" if owner is None else f" (pid {owner})"
            raise DegeneracyError(
                f"another {command} is writing {folder}{pid}; wait for it or choose another "
                "output=..."
            ) from None
        except OSError:  # a file system without flock (some NFS): not locked
            pass
        else:
            record_lock_owner(descriptor)
        _HELD_LOCKS[held] = threading.get_ident()
        try:
            yield
        finally:
            _HELD_LOCKS.pop(held, None)
    finally:
        os.close(descriptor)


def record_lock_owner(descriptor: int) -> None:
    """Write this process's id into a lock file it has just locked (for the messages of
    the runs it keeps out: :func:`lock_owner`)."""
    with contextlib.suppress(OSError):  # the id is for messages only
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)


def lock_owner(descriptor: int) -> int | None:
    """The process id a lock file holds (:func:`record_lock_owner`), None if it holds none
    (yet)."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
