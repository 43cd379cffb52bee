"""Which degeneracy code a process would run, found without importing the package.

:func:`source_digest` runs on Dask workers (``Client.run``) that may not have degeneracy
at all: this module imports nothing of the package, and the scan sends it by value
(``cloudpickle.register_pickle_by_value``), so that a worker unpickles it without
importing degeneracy.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path


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
