"""Which degeneracy code a process would run, found without importing the package, and
which versions of the libraries that decide a scan's numbers (:data:`LIBRARIES`) it has.

:func:`source_identity` runs on Dask workers (``Client.run``) that may not have
degeneracy, or featomic, at all: this module imports nothing of the package nor of those
libraries (their versions are read from their installed metadata), and the scan sends it
by value (``cloudpickle.register_pickle_by_value``), so that a worker unpickles it without
importing degeneracy. :func:`process_digest` and :func:`process_versions` are the same,
computed once per process, for the check every chunk task makes on its worker (a worker
may join the cluster after the scan asked its workers).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import threading
from pathlib import Path

#: This process's :func:`source_digest`, once computed (:func:`process_digest`).
_PROCESS_DIGEST: list[str | None] = []
_PROCESS_DIGEST_LOCK = threading.Lock()

#: The key of the degeneracy code's digest in an identity (:func:`source_identity`).
CODE = "degeneracy"

#: Distributions whose versions decide a scan's numbers besides degeneracy's code:
#: featomic computes the features (its radial bases and their defaults changed between
#: versions) in metatensor-core's blocks. numpy and scipy are not among them: another
#: version differs in the last bits at most, as another CPU or BLAS does with the same
#: versions, so comparing them would refuse workers without making results identical;
#: torch does not take part in a scan.
LIBRARIES = ("featomic", "metatensor-core")

#: This process's versions of distributions, once read (:func:`process_versions`).
_PROCESS_VERSIONS: dict[str, str | None] = {}
_PROCESS_VERSIONS_LOCK = threading.Lock()


def source_digest(package: str = "degeneracy") -> str | None:
    """SHA-256 of the source files (``*.py``) of the package this process would import.

    The package is found with :func:`importlib.util.find_spec`, not imported (an
    imported one is found as imported). An editable install reports the same version
    for any commit; the digest tells the code apart.

    Parameters
    ----------
    package : str
        A top-level package's name.

    Returns
    -------
    str or None
        The hex digest of the files' paths (relative to the package) and contents, in
        order of path; None if this process cannot find the package.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    digest = hashlib.sha256()
    for location in spec.submodule_search_locations:
        root = Path(location)
        for path in sorted(root.rglob("*.py")):
            content = path.read_bytes()
            name = path.relative_to(root).as_posix().encode()
            digest.update(b"%d:%s %d:" % (len(name), name, len(content)))
            digest.update(content)
    return digest.hexdigest()


def process_digest() -> str | None:
    """This process's :func:`source_digest` of degeneracy, computed on the first call
    (it reads every source file) and kept: a worker's chunk tasks each compare it with
    the client's, and the code a process runs is the code it imported, whatever its
    files say later."""
    with _PROCESS_DIGEST_LOCK:
        if not _PROCESS_DIGEST:
            _PROCESS_DIGEST.append(source_digest())
        return _PROCESS_DIGEST[0]


def library_versions(names: tuple[str, ...] | list[str] = LIBRARIES) -> dict[str, str | None]:
    """The installed version of each distribution in ``names``, read from its metadata
    (:func:`importlib.metadata.version`, nothing imported); None for one that is absent.
    """
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def process_versions(names: tuple[str, ...] | list[str] = LIBRARIES) -> dict[str, str | None]:
    """This process's :func:`library_versions` of ``names``, each read on its first call
    and kept (every chunk task compares them with the client's; a process runs the
    library it imported, whatever is installed later)."""
    with _PROCESS_VERSIONS_LOCK:
        missing = [name for name in names if name not in _PROCESS_VERSIONS]
        if missing:
            _PROCESS_VERSIONS.update(library_versions(missing))
        return {name: _PROCESS_VERSIONS[name] for name in names}


def source_identity(names: tuple[str, ...] | list[str] = LIBRARIES) -> dict[str, str | None]:
    """What a worker is compared by: ``{CODE: source_digest(), name: version, ...}`` for
    the distributions ``names`` (:data:`LIBRARIES`), read now (the check when the scan
    connects asks each worker for it)."""
    return {CODE: source_digest(), **library_versions(names)}
