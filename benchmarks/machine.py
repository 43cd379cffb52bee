"""What the benchmarks print about the machine they ran on: its load and BLAS threads.

Imported by the ``bench_*.py`` scripts, which run as ``python benchmarks/bench_x.py``
(this folder is then first on ``sys.path``).
"""

from __future__ import annotations

import os

from degeneracy.processes import use_one_blas_thread


def load() -> str:
    """1- and 5-minute load averages and the core count,
    e.g. ``'load 5.3 (5 min 4.1) on 2 cores'``."""
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def blas_on_one_thread() -> str:
    """Limit numpy's BLAS to one thread, as the ``degeneracy`` command does
    (``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS`` set in the environment win), and say
    which happened: ``'1 BLAS thread'`` or ``'BLAS threads from the environment'``."""
    return "1 BLAS thread" if use_one_blas_thread() else "BLAS threads from the environment"
