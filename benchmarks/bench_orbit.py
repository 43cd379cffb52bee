"""Adaptive orbit integrator against the Comment's Euler reference protocol.

Traces the orbit from ``pg-start`` (σ = 0.3 Å, plain GTO unless ``--basis optimal``) over
``--length`` Å with, in the same run:

1. baseline: explicit Euler, step 1e-4 Å (the Comment's protocol: 20 000 steps for 2 Å);
2. the adaptive Dormand–Prince 5(4) integrator at ``--tol`` (default 1e-6 Å);
3. Euler with step 1e-3 Å, to show Euler's first-order error;
4. with ``--richardson``: Euler with step 5e-5 Å and the Richardson extrapolation
   2·E(5e-5) − E(1e-4), which removes Euler's first-order error.

Prints, for each, the Jacobian evaluations (all of them, the frames' diagnostics
included), the wall time and CPU time, and the largest distance to the adaptive curve at
equal arc length; also the distance of the adaptive frames to the Euler polyline (the
curves' shapes, ignoring where along them a frame sits). The ratios against the Euler
baseline come last. BLAS runs on one thread, as the ``degeneracy`` command runs it
(``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS`` set in the environment wins). Example::

    .venv/bin/python benchmarks/bench_orbit.py [--length 2.0] [--tol 1e-6] [--richardson]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from machine import blas_on_one_thread, load

import degeneracy as dg
from degeneracy.orbits import trace_orbit


def timed(label, start, rep, **options):
    wall, cpu = time.perf_counter(), time.process_time()
    orbit = trace_orbit(start, rep, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:<28} jacobians {orbit.jacobian_evaluations:7d}  wall {wall:7.2f} s  "
        f"cpu {cpu:7.2f} s  median CN {np.median(orbit.cn[1:]):8.2f}",
        flush=True,
    )
    return orbit, wall, cpu


def positions(orbit) -> np.ndarray:
    return orbit.positions.reshape(len(orbit.frames), -1)


def polyline_distance(points: np.ndarray, curve: np.ndarray, fine: int = 50) -> np.ndarray:
    """Distance of each point to the polyline through ``curve``'s frames."""
    t = np.linspace(0.0, 1.0, fine + 1)[:, None, None]
    dense = (curve[:-1][None] * (1 - t) + curve[1:][None] * t).reshape(-1, curve.shape[1])
    return np.array([np.linalg.norm(dense - p, axis=1).min() for p in points])


def main() -> None:
    blas = blas_on_one_thread()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=float, default=2.0, help="arc length in Å (2.0)")
    parser.add_argument("--tol", type=float, default=1e-6, help="adaptive tolerance (1e-6)")
    parser.add_argument("--sigma", type=float, default=0.3, help="SOAP σ in Å (0.3)")
    parser.add_argument("--basis", choices=["gto", "optimal"], default="gto")
    parser.add_argument(
        "--richardson", action="store_true", help="also Euler 5e-5 Å and the extrapolation"
    )
    args = parser.parse_args()

    rep = dg.SoapPowerSpectrum(sigma=args.sigma, basis=args.basis)
    start = dg.builtin_environment("pg-start")
    rep.jacobian([start])  # build the calculator (and basis) before timing
    print(
        f"orbit from pg-start, sigma={args.sigma}, {args.basis}, {args.length} Å; {blas}; {load()}"
    )
    euler, euler_wall, euler_cpu = timed(
        "Euler 1e-4 Å (baseline)", start, rep, length=args.length, step=1e-4
    )
    adaptive, wall, cpu = timed(
        f"adaptive tol {args.tol:g}", start, rep, length=args.length, method="adaptive",
        tol=args.tol,
    )  # fmt: skip
    coarse, _, _ = timed("Euler 1e-3 Å", start, rep, length=args.length, step=1e-3)
    reference = positions(adaptive)

    def deviation(x: np.ndarray) -> float:
        return float(np.linalg.norm(x - reference, axis=1).max())

    print("\nlargest distance to the adaptive curve at equal arc length (Å):")
    print(f"  Euler 1e-3 Å                 {deviation(positions(coarse)):.2e}")
    print(f"  Euler 1e-4 Å                 {deviation(positions(euler)):.2e}")
    if args.richardson:
        fine, _, _ = timed("Euler 5e-5 Å", start, rep, length=args.length, step=5e-5)
        print(f"  Euler 5e-5 Å                 {deviation(positions(fine)):.2e}")
        extrapolated = 2 * positions(fine) - positions(euler)
        print(f"  Richardson 2E(5e-5)-E(1e-4)  {deviation(extrapolated):.2e}")
    inner = reference[:-2]  # the last frames of the adaptive curve lie beyond Euler's end
    shape = polyline_distance(inner, positions(euler)).max()
    print(f"adaptive frames to the Euler 1e-4 polyline (shape): {shape:.2e} Å")
    ratio = euler.jacobian_evaluations / adaptive.jacobian_evaluations
    print(
        f"\nEuler 1e-4 / adaptive: {ratio:.1f}x Jacobians, {euler_wall / wall:.1f}x wall time, "
        f"{euler_cpu / cpu:.1f}x CPU time ({load()})"
    )


if __name__ == "__main__":
    main()
