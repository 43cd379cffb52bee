"""The ``degeneracy`` command's entry point (``[project.scripts]``, ``python -m degeneracy``).

:func:`degeneracy.cli.main` catches Ctrl-C from the moment it runs, but importing the
command line takes ~0.6 s (argparse, the error and signal machinery), and a Ctrl-C in
that time printed Python's traceback of the import. Here the import itself is guarded;
this module imports nothing but the package (its ``__init__`` only reads the version).
"""

from __future__ import annotations

import sys


def run() -> None:
    """Import the command line and run it; exit with its status (130 on a Ctrl-C during
    the import, as :func:`~degeneracy.cli.main` returns for one during a command)."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("degeneracy: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    sys.exit(main())
