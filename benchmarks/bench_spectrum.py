"""Throughput of features + Jacobian + purified singular spectrum against bare featomic.

Baseline, measured in the same run on the same 2000 random CH4 frames: featomic's own
``SoapPowerSpectrum.compute(frames, gradients=["positions"])`` with the same
hyperparameters and the same selection (C centre, H–H channels). Ours: the dense Jacobian
through :class:`degeneracy.SoapPowerSpectrum` plus :func:`degeneracy.singular_spectrum`.
The two are timed alternately (featomic, ours, featomic, ...), so that a change of load
on a shared machine falls on both; the ratio of their best times (ours / featomic, lower
is better) is printed last. BLAS runs on one thread, as the ``degeneracy`` command runs
it (``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS`` set in the environment wins).

    .venv/bin/python benchmarks/bench_spectrum.py [--frames 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from machine import blas_on_one_thread

import degeneracy as dg
from degeneracy.representations._featomic import CENTER_SAMPLE


def wall_time(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def best_time(function, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls (after one warm-up call)."""
    function()
    return min(wall_time(function) for _ in range(repeats))


def best_times_alternating(first, second, repeats: int) -> tuple[float, float]:
    """Smallest wall times of ``first`` and ``second``, called in turn ``repeats`` times
    each (after a warm-up call of each): timing one block after the other let a change
    of load between the blocks move their ratio (1.01–1.57 in six runs of one code)."""
    first(), second()
    pairs = [(wall_time(first), wall_time(second)) for _ in range(repeats)]
    return min(a for a, _ in pairs), min(b for _, b in pairs)


def main() -> None:
    blas = blas_on_one_thread()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--basis", choices=["gto", "optimal"], default="gto")
    args = parser.parse_args()

    frames = dg.sample_methane(args.frames, seed=0)
    representation = dg.SoapPowerSpectrum(sigma=0.3, basis=args.basis)
    calculator = representation.calculator
    keys = representation._keys

    def featomic_bare():
        calculator.compute(
            frames, gradients=["positions"], selected_keys=keys, selected_samples=CENTER_SAMPLE
        )

    def ours():
        _, jacobian = representation.jacobian(frames)
        return dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))

    def symmetry_test():
        for neighbors in dg.neighbor_positions(frames):
            dg.point_symmetry(neighbors)

    spectrum = ours()
    assert np.all(np.isfinite(spectrum.values))
    bare, full = best_times_alternating(featomic_bare, ours, args.repeats)
    symmetry = best_time(symmetry_test, 1)
    n = args.frames
    print(
        f"frames: {n}, SOAP sigma=0.3 n_max=l_max=8 basis={args.basis}, "
        f"features: {representation.n_features}, best of {args.repeats} (timed alternately), "
        f"{blas}"
    )
    print(f"featomic compute with gradients : {bare:8.3f} s  ({1e3 * bare / n:.3f} ms/frame)")
    print(f"degeneracy Jacobian + spectrum  : {full:8.3f} s  ({1e3 * full / n:.3f} ms/frame)")
    print(
        f"symmetry test (not in the ratio): {symmetry:8.3f} s  ({1e3 * symmetry / n:.3f} ms/frame)"
    )
    print(f"ratio degeneracy / featomic: {full / bare:.3f}")


if __name__ == "__main__":
    main()
