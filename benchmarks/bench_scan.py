"""Throughput of ``degeneracy scan`` on Dask against the plain single-process library loop.

Generates ``--n`` random CH4 structures (``sample_methane``), writes them as extended XYZ,
then in the same run:

1. baseline: the plain library loop — ``environment_spectra`` (the Jacobian and the
   purified singular values, the workers' own computation) in batches of 1000, after a
   warm-up call — on the first ``--subset`` structures as read back from the file, in
   this process (featomic and BLAS use their default thread
   counts unless ``--baseline-threads`` is given); run before and after the scan, so
   that a change in the machine's load shows;
2. scan: ``scan_dataset`` of all ``--n`` structures on a local Dask cluster of
   ``--workers`` single-threaded processes (reading the file, chunk files and the final
   merge included), timed with and without the cluster's start-up.

Prints the throughputs (environments per second) and their ratio, CPU time per
environment of both paths (which a busy machine does not distort much), the load average
(the machine may be shared), and checks that the scan's CN on the subset equals the
baseline's. Example::

    .venv/bin/python benchmarks/bench_scan.py --n 100000 --subset 20000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from machine import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="structures scanned (100000)")
    parser.add_argument("--subset", type=int, default=20_000, help="baseline structures (20000)")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (2)")
    parser.add_argument("--chunk-size", type=int, default=1000, help="environments per chunk")
    parser.add_argument("--seed", type=int, default=2022, help="sampler seed (2022)")
    parser.add_argument(
        "--baseline-threads",
        type=int,
        help="RAYON/OpenBLAS threads of the baseline process (default: library defaults)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the data set and results here")
    args = parser.parse_args()
    if args.baseline_threads:
        # must be set before featomic / numpy start their thread pools (imports below)
        for name in ("RAYON_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(args.baseline_threads)

    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        measure(args, Path(args.keep))
    else:  # the data set and results (~40 MB for 100 000 CH4) are removed afterwards
        with tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
            measure(args, Path(folder))


def measure(args, folder: Path) -> None:
    """Time the scan of ``args.n`` CH4 in ``folder`` against the library loop."""
    import ase.io
    import numpy as np

    import degeneracy as dg
    from degeneracy.representations import batches
    from degeneracy.scan import dask_client

    dataset = folder / f"methane-{args.n}.xyz"
    print(f"# {load()} at start; baseline threads: {args.baseline_threads or 'default'}")
    started = time.perf_counter()
    frames = dg.sample_methane(args.n, seed=args.seed)
    ase.io.write(dataset, frames, format="extxyz")
    del frames
    print(f"data set: {args.n} CH4 structures -> {dataset} ({time.perf_counter() - started:.1f} s)")

    representation = dg.SoapPowerSpectrum()
    subset = ase.io.read(dataset, f":{args.subset}")
    representation.jacobian(subset[:1])  # calculator built and warm, as in the workers

    def baseline() -> tuple[float, float, np.ndarray]:
        """Wall and CPU seconds of the plain library loop on the subset, and its CN: the
        workers' own computation (singular values only, no motions), in one process."""
        wall, cpu = time.perf_counter(), time.process_time()
        cn = []
        for chunk in batches(subset, 1000):
            cn.append(dg.environment_spectra(chunk, representation).cn)
        return time.perf_counter() - wall, time.process_time() - cpu, np.concatenate(cn)

    def report_baseline(label: str, wall: float, cpu: float) -> None:
        print(
            f"baseline {label} (plain library loop, 1 process): {len(subset)} environments "
            f"in {wall:.1f} s = {len(subset) / wall:.0f} env/s, "
            f"{1e3 * cpu / len(subset):.2f} CPU ms/env   [{load()}]"
        )

    first_wall, first_cpu, baseline_cn = baseline()
    report_baseline("before", first_wall, first_cpu)

    output = folder / "scan.parquet"
    started = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        startup = time.perf_counter() - started
        worker_cpu = client.run(time.process_time)
        main_cpu, wall = time.process_time(), time.perf_counter()
        summary = dg.scan_dataset(
            dataset,
            representation,
            output=output,
            client=client,
            centers="C",
            chunk_size=args.chunk_size,
            restart=True,
        )
        scan_wall = time.perf_counter() - wall
        main_cpu = time.process_time() - main_cpu
        worker_cpu = sum(t - worker_cpu[w] for w, t in client.run(time.process_time).items())
    end_to_end = time.perf_counter() - started
    n = summary.n_environments
    print(
        f"scan (Dask, {args.workers} worker processes x 1 thread): {n} environments; "
        f"cluster start {startup:.1f} s; scan {scan_wall:.1f} s = {n / scan_wall:.0f} env/s; "
        f"end to end {end_to_end:.1f} s = {n / end_to_end:.0f} env/s; CPU ms/env: "
        f"workers {1e3 * worker_cpu / n:.2f} + main process {1e3 * main_cpu / n:.2f}   "
        f"[{load()}]"
    )

    second_wall, second_cpu, _ = baseline()
    report_baseline("after", second_wall, second_cpu)
    baseline_rate = 2 * len(subset) / (first_wall + second_wall)
    print(
        f"ratio scan / baseline throughput (baseline: mean of before and after): "
        f"{n / scan_wall / baseline_rate:.2f} for the scan, "
        f"{n / end_to_end / baseline_rate:.2f} end to end (with cluster start and shutdown)"
    )
    baseline_cpu = (first_cpu + second_cpu) / (2 * len(subset))
    print(
        f"CPU time per environment, baseline / scan: "
        f"{baseline_cpu / ((worker_cpu + main_cpu) / n):.2f}"
    )

    cn = np.asarray(dg.read_results(output).column("cn"), dtype=float)[: len(subset)]
    finite = np.isfinite(cn) & np.isfinite(baseline_cn)
    error = float(np.max(np.abs(cn[finite] / baseline_cn[finite] - 1.0), initial=0.0))
    print(
        f"max relative CN difference scan vs baseline on the subset: {error:.1e} "
        f"({finite.sum()} finite CNs of {len(cn)})"
    )
    try:  # NaN only against NaN, inf only against inf (a NaN difference compared False)
        np.testing.assert_allclose(cn, baseline_cn, rtol=1e-8, atol=0)
    except AssertionError as disagreement:
        raise SystemExit(f"scan and baseline disagree: {disagreement}") from None


if __name__ == "__main__":
    main()
