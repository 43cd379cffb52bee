"""Where a result was computed: package versions, the CPU and its floating-point kernels.

Reports (:mod:`degeneracy.report`) and learning runs (``metrics.json``) record these, so
that two machines' numbers can be told apart where they differ at round-off.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Callable
from pathlib import Path

#: Packages whose versions every report records.
RECORDED_PACKAGES = (
    "degeneracy",
    "numpy",
    "scipy",
    "ase",
    "featomic",
    "metatensor-core",
    "sphericart",
    "torch",
    "matplotlib",
    "dask",
    "distributed",
    "pyarrow",
)


def software_versions() -> dict[str, str | int | None]:
    """What a result records of where it was computed.

    Returns
    -------
    dict
        Strings: ``python``, ``platform``, the version of each of
        :data:`RECORDED_PACKAGES` (or ``"absent"``) and
        :func:`floating_point_environment`'s fields; ``cpu_count``, an int (None when
        Python cannot tell).
    """
    versions: dict[str, str | int | None] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    versions["cpu_count"] = os.cpu_count()
    versions.update(floating_point_environment())
    return versions


def floating_point_environment() -> dict[str, str]:
    """The CPU, the BLAS libraries (with the kernels they picked for it) and numpy's SIMD
    loops doing the work.

    Digits decided by round-off follow them: a CN near the ~1e14 floor, an adaptive
    orbit's Jacobian count, the basis LAPACK returns for a degenerate eigenspace. A
    report records them beside the versions, so two machines' numbers can be told apart.

    Returns
    -------
    dict
        ``cpu`` (model name), ``blas`` (each loaded BLAS: API, version, kernels, threads
        and the package folder it came from, sorted) and ``numpy_simd`` (numpy's target
        for its float64 ``exp`` loop). Never raises: a field that cannot be read says
        ``unknown (<why>)``, so that recording it cannot cost a finished run.
    """
    return {
        "cpu": _described(_cpu_model),
        "blas": _described(_blas_libraries),
        "numpy_simd": _described(_numpy_simd),
    }


def _described(read: Callable[[], str]) -> str:
    """``read()``, or ``unknown (<the error>)`` if it fails in any way."""
    try:
        return read()
    except Exception as error:  # provenance is a record: never the reason a run fails
        return f"unknown ({type(error).__name__}: {error})"


def _blas_libraries() -> str:
    """The BLAS libraries loaded (numpy's at least), one ``; ``-separated entry each."""
    import numpy  # noqa: F401  (loads its BLAS, the one every analysis uses)
    from threadpoolctl import threadpool_info  # scikit-learn's; reads the loaded libraries

    libraries = sorted(
        f"{lib.get('internal_api', '?')} {lib.get('version') or '?'} "
        f"({lib.get('architecture') or 'unknown'} kernels, {_threads(lib.get('num_threads'))}; "
        f"{Path(lib.get('filepath', '?')).parent.name})"
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    )
    return "; ".join(libraries) or "not detected"


def _threads(number: int | None) -> str:
    """``1 thread``, ``2 threads``, ``? threads`` (not reported)."""
    return f"{'?' if number is None else number} thread{'' if number == 1 else 's'}"


def _numpy_simd() -> str:
    """The SIMD target numpy dispatches its float64 ``exp`` loop to (numpy >= 2.0)."""
    from numpy.lib.introspect import opt_func_info

    return str(opt_func_info(func_name="^exp$")["exp"]["dd"]["current"])


def _cpu_model() -> str:
    """The CPU's model name (Linux' /proc/cpuinfo), else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
