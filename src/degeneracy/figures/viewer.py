"""chemiscope files (interactive viewers), written atomically.

chemiscope (https://chemiscope.org) shows a map of properties next to the structures;
:func:`chemiscope.write_input` writes the file. Here the file's name and the properties'
values (finite) are checked and the write is made atomic, for every viewer the package
writes (scan, orbit).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DegeneracyError
from ..files import atomic_path, output_file


def check_chemiscope_path(path: str | os.PathLike) -> Path:
    """``path`` as a chemiscope file name (``.json`` or ``.json.gz``) in an existing folder."""
    return output_file(path, "chemiscope output", suffixes=(".json", ".json.gz"))


def write_chemiscope_file(path: str | os.PathLike, **viewer: Any) -> Path:
    """:func:`chemiscope.write_input` (``viewer``: structures, properties, settings, ...)
    to a temporary file renamed onto ``path`` only after a complete write."""
    # here: checking a file name (command-line parsing) needs neither chemiscope nor numpy
    import chemiscope
    import numpy as np

    path = check_chemiscope_path(path)
    for name, prop in viewer.get("properties", {}).items():
        values = prop["values"] if isinstance(prop, dict) else prop
        numbers = np.asarray(values)
        if numbers.dtype.kind == "f" and not np.isfinite(numbers).all():
            # chemiscope writes them as NaN / Infinity, which is no JSON: strict readers,
            # chemiscope's own JavaScript among them, refuse the whole file
            raise DegeneracyError(f"chemiscope property {name!r} has non-finite values")
    # chemiscope.write_input picks gzip from the name (case-sensitively), so the temporary
    # file gets the suffix in lower case: UP.JSON.GZ is compressed like up.json.gz
    suffix = ".json.gz" if path.name.lower().endswith(".gz") else ".json"
    with atomic_path(path, suffix=suffix) as tmp:
        chemiscope.write_input(str(tmp), **viewer)
    return path
