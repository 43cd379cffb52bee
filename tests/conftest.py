"""Shared fixtures, and the representation suite every fingerprint runs.

To put a new fingerprint through the shared suite (``test_representations.py``:
finite differences, invariances, no mutation of inputs, shapes), add a case to
:data:`REPRESENTATION_CASES`: an id and a zero-argument factory.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import ase
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.processes import use_one_blas_thread

use_one_blas_thread()  # as the command does: the suite's small matrices, on shared cores

#: ``../shared/reference`` beside the checkout; tests skip cleanly when it is absent.
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

#: (id, factory) pairs run through the shared representation suite.
REPRESENTATION_CASES: list[tuple[str, Callable[[], dg.Representation]]] = [
    *[
        (
            f"soap-{basis}-sigma{sigma}",
            lambda s=sigma, b=basis: dg.SoapPowerSpectrum(sigma=s, basis=b),
        )
        for basis in ("gto", "optimal")
        for sigma in (0.1, 0.2, 0.3, 0.5)
    ],
    ("bispectrum-n4-l4", lambda: dg.Bispectrum()),
    ("bispectrum-sigma0.5-n3-l6", lambda: dg.Bispectrum(sigma=0.5, n_max=3, l_max=6)),
    ("acsf-tight", lambda: dg.Acsf(parameter_set="tight")),
    ("acsf-loose", lambda: dg.Acsf(parameter_set="loose")),
    ("acsf-scaled-3.0", lambda: dg.Acsf(parameter_set="scaled", cutoff=3.0)),
    ("acsf-tight-g5", lambda: dg.Acsf(parameter_set="tight", angular="g5")),
    ("om-sp", lambda: dg.OverlapMatrix(orbitals="sp")),
    ("om-s-width1", lambda: dg.OverlapMatrix(orbitals="s", width=1.0)),
]

_built: dict[str, dg.Representation] = {}


@pytest.fixture(params=[case[0] for case in REPRESENTATION_CASES])
def representation(request) -> dg.Representation:
    """Each representation of :data:`REPRESENTATION_CASES`, built once per session."""
    name = request.param
    if name not in _built:
        _built[name] = dict(REPRESENTATION_CASES)[name]()
    return _built[name]


@pytest.fixture
def random_frames() -> list:
    """A few random CH4 environments (fixed seed)."""
    return dg.sample_methane(4, seed=12345)


def reference_path(name: str) -> Path:
    """Path of a reference file, skipping the test when ``../shared/reference`` is absent."""
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference data {path} not available")
    return path


def published_a0() -> np.ndarray:
    """The published singular point A0 (H1..H4, Å) from the reference README."""
    text = reference_path("README.md").read_text()
    rows = re.findall(r"^H\d\s+(\S+)\s+(\S+)\s+(\S+)\s*$", text, flags=re.MULTILINE)
    if len(rows) != 4:
        pytest.skip("A0 coordinates not found in the reference README")
    return np.array(rows, dtype=float)


def counted_calls(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` by a wrapper that records each call; the list of calls."""
    calls = []
    function = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def arc_frames(arcs, cns) -> list:
    """pg-start frames labelled as an orbit's: one per arc length, with its CN."""
    frames = []
    for arc, cn in zip(arcs, cns, strict=True):
        atoms = dg.builtin_environment("pg-start")
        atoms.info.update(arc_length=float(arc), cn=float(cn))
        frames.append(atoms)
    return frames


def fcc_shell(radius: float = 1.3) -> np.ndarray:
    """The 12 nearest neighbours of an fcc site (cuboctahedron, point group O_h), Å."""
    edges = [(a, b) for a in (-1, 1) for b in (-1, 1)]
    points = [[a, b, 0] for a, b in edges] + [[a, 0, b] for a, b in edges]
    points += [[0, a, b] for a, b in edges]
    return np.array(points, dtype=float) * radius / np.sqrt(2)


def exit_status(argv: list[str]) -> int:
    """Exit status of ``degeneracy ARGV``, whether main returns it or argparse exits."""
    from degeneracy.cli import main

    try:
        return main(argv)
    except SystemExit as stop:  # refused by argparse, while reading the command line
        return stop.code


def one_error_line(capsys, command: str) -> str:
    """The one line ``degeneracy COMMAND`` printed on stderr, after its prefix (no
    traceback, nothing more)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    prefix = f"degeneracy {command}: error: "
    assert err.startswith(prefix), err
    return err[len(prefix) :].rstrip("\n")


def package_warnings(caught) -> list[str]:
    """The DegeneracyWarnings' messages among warnings recorded by ``pytest.warns``.

    ``pytest.warns`` records every warning, and a socket of an earlier test's Dask cluster
    may be collected during a later test (a ResourceWarning): count only the package's.
    """
    return [str(w.message) for w in caught if issubclass(w.category, dg.DegeneracyWarning)]


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt during the test, as in an interactive shell.

    A test run started in the background of a non-interactive shell (``make test &``,
    nohup, some CI runners) inherits SIGINT ignored, and Python then installs no handler:
    a test of what Ctrl-C does would see nothing happen.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


#: First line of a child interpreter's script that tests Ctrl-C: the default handler,
#: whatever the test run inherited (:func:`ctrl_c_raises`).
CTRL_C_RAISES = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder ($DEGENERACY_CACHE: data sets, features, built-in bases)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DEGENERACY_CACHE", str(folder))
    return folder


#: OpenBLAS kernels every x86-64 CPU of this project's machines runs: the AVX2 ones and
#: the AVX ones, which chose different bases of degenerate eigenspaces.
OPENBLAS_KERNELS = ("Haswell", "Sandybridge")


def json_under_openblas_kernels(script: str) -> dict:
    """What ``script`` prints as JSON, run in a fresh Python per kernel of
    :data:`OPENBLAS_KERNELS` (``OPENBLAS_CORETYPE``).

    Skips where the kernels cannot be chosen: not x86-64, a CPU that lacks one (SIGILL),
    or a numpy whose BLAS did not take it (OpenBLAS silently ignores a core type it cannot
    use, and other BLAS libraries ignore the variable): the runs would compare one kernel
    with itself.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"OpenBLAS' x86-64 kernels do not exist on {platform.machine()}")
    printed = {}
    for kernel in OPENBLAS_KERNELS:
        check = (
            "import sys, numpy\nfrom threadpoolctl import threadpool_info\n"
            "taken = [lib.get('architecture') for lib in threadpool_info() "
            "if lib.get('internal_api') == 'openblas' and 'numpy' in lib.get('filepath', '')]\n"
            f"if taken != [{kernel!r}]:\n    sys.exit(77)\n"
        )
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        run = subprocess.run([sys.executable, "-c", check + script], env=env, capture_output=True)
        if run.returncode == -signal.SIGILL:  # a CPU without that kernel's instructions
            pytest.skip(f"OpenBLAS kernel {kernel} does not run on this CPU")
        if run.returncode == 77:
            pytest.skip(f"numpy's BLAS does not run the OpenBLAS kernel {kernel} here")
        assert run.returncode == 0, run.stderr.decode()
        printed[kernel] = json.loads(run.stdout)
    return printed


def zero_outcome(atoms, representation, values, motions, n_features):
    """``(verdict, labels, truncation)`` of :func:`degeneracy.classify_zeros` for one
    frame with its point symmetry: what the zero-label tests compare across bases."""
    zeros = dg.classify_zeros(
        atoms,
        values,
        motions,
        dg.point_symmetry(dg.neighbor_positions(atoms), atoms.numbers[1:]),
        representation,
        n_features=n_features,
    )
    return zeros.verdict, zeros.labels(atoms), zeros.truncation


class StopTracing(Exception):
    """Raised by :func:`stop_after`'s callback: interrupts a trace from the inside."""


def stop_after(count: int):
    """A ``trace_orbit`` callback that raises :class:`StopTracing` at its ``count``-th call
    (a frame saved), leaving the checkpoint of an interrupted run."""
    seen = []

    def callback(arc_length):
        seen.append(arc_length)
        if len(seen) == count:
            raise StopTracing

    return callback


def angle_blind_methane(n: int, seed: int) -> list[ase.Atoms]:
    """``n`` CH4 frames with C–H 2.2 Å: every H–H pair beyond ACSF's 2.5 Å cutoff, so ACSF
    sees no bond angles (the pairs' and compare's warning-count tests)."""
    rng = np.random.default_rng(seed)
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    frames = []
    for _ in range(n):
        bonds = tetrahedron + rng.normal(scale=0.05, size=(4, 3))
        bonds *= 2.2 / np.linalg.norm(bonds, axis=1, keepdims=True)
        frames.append(ase.Atoms("CH4", np.vstack([[0.0, 0.0, 0.0], bonds])))
    return frames
