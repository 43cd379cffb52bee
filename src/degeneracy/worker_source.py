"""Which degeneracy code a process would run, found without importing the package.

:func:`source_digest` runs on Dask workers (``Client.run``) that may not have degeneracy
at all: this module imports nothing of the package, and the scan sends it by value
(``cloudpickle.register_pickle_by_value``), so that a worker unpickles it without
importing degeneracy. :func:`process_digest` is the same digest computed once per process,
for the check every chunk task makes on its worker (a worker may join the cluster after
the scan asked its workers).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

#: This process's :func:`source_digest`, once computed (:func:`process_digest`).
_PROCESS_DIGEST: list[str | None] = []
_PROCESS_DIGEST_LOCK = threading.Lock()


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
