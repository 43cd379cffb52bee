"""Where a result was computed: package versions, the CPU and its floating-point kernels.

Reports (:mod:`degeneracy.report`) and learning runs (``metrics.json``) record these, so
that two machines' numbers can be told apart where they differ at round-off.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform

#: Packages whose versions every report records.
RECORDED_PACKAGES = (
    "degeneracy",
    "numpy",
    "scipy",
    "ase",
    "featomic",
    "metatensor-core",
    "torch",
    "matplotlib",
    "dask",
    "distributed",
    "pyarrow",
)


def software_versions() -> dict[str, str]:
    """Python, platform and the versions of :data:`RECORDED_PACKAGES` (or "absent")."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    versions["cpu_count"] = str(os.cpu_count())
    versions.update(floating_point_environment())
    return versions


def floating_point_environment() -> dict[str, str]:
    """The CPU, the BLAS libraries (with the kernels they picked for it) and numpy's SIMD
    loops doing the work.

    Digits decided by round-off follow them: a CN near the ~1e14 floor, an adaptive
    orbit's Jacobian count, the basis LAPACK returns for a degenerate eigenspace. A
    report records them beside the versions, so two machines' numbers can be told apart.
    """
    import numpy  # noqa: F401  (loads its BLAS, the one every analysis uses)
    from threadpoolctl import threadpool_info  # scikit-learn's; reads the loaded libraries

    libraries = [
        f"{lib.get('internal_api', '?')} {lib.get('version') or '?'} "
        f"({lib.get('architecture') or 'unknown'} kernels, {lib.get('num_threads', '?')} threads)"
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]
    return {
        "cpu": _cpu_model(),
        "blas": "; ".join(libraries) or "none loaded",
        "numpy_simd": _numpy_simd(),
    }


def _numpy_simd() -> str:
    """The SIMD target numpy dispatches its float64 ``exp`` loop to (numpy >= 2.0)."""
    try:
        from numpy.lib.introspect import opt_func_info

        return str(opt_func_info(func_name="^exp$")["exp"]["dd"]["current"])
    except (ImportError, KeyError):  # numpy 1.x, or a numpy that changed the layout
        return "unknown"


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
