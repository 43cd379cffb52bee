"""Cutting every environment of a large crystal, chunk by chunk as ``scan`` does, against
ase's neighbour list of the whole crystal computed once.

A scan hands its workers chunks of ``--chunk-size`` centres; each chunk cuts its
environments with :func:`degeneracy.environments.environments_of`. ase's search takes no
subset of centres, so until 2026-12-07 every chunk searched the whole crystal again (the
time per environment grew with the crystal's size). The baseline is the search alone,
done once (``ase.neighborlist.neighbor_list("ijDS")``): the least any cut can cost. For
each size the script prints both times, their ratio and the time per environment, and
checks that the environments cut chunk by chunk equal those cut in one call. Example::

    .venv/bin/python benchmarks/bench_environments.py --repeats 4 6 8 10 --cutoff 5
"""

from __future__ import annotations

import argparse
import time

import ase.build
import numpy as np
from ase.neighborlist import neighbor_list
from machine import load

from degeneracy import environments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[4, 6, 8, 10],
                        help="diamond-Si supercells of n×n×n cubic cells (8 n³ atoms)")  # fmt: skip
    parser.add_argument("--cutoff", type=float, default=5.0, help="cutoff (Å), 5")
    parser.add_argument("--chunk-size", type=int, default=1000, help="centres per chunk, 1000")
    args = parser.parse_args()
    print(f"{load()} at the start")
    print("atoms  chunks  baseline s  ours s  ratio  ms/env")
    for n in args.repeats:
        crystal = ase.build.bulk("Si", "diamond", cubic=True) * (n, n, n)
        crystal.rattle(0.02, seed=0)
        environments.forget_neighbour_pairs()
        start = time.perf_counter()
        neighbor_list("ijDS", crystal, args.cutoff, self_interaction=False)
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        cut = []
        for first in range(0, len(crystal), args.chunk_size):
            centres = range(first, min(first + args.chunk_size, len(crystal)))
            cut += environments.environments_of(crystal, centres, cutoff=args.cutoff)
        ours = time.perf_counter() - start
        whole = environments.environments_of(crystal, range(len(crystal)), cutoff=args.cutoff)
        same = all(
            np.array_equal(a.positions, b.positions) for a, b in zip(cut, whole, strict=True)
        )
        chunks = -(-len(crystal) // args.chunk_size)
        ratio = ours / baseline
        print(f"{len(crystal):5d}  {chunks:6d}  {baseline:10.2f}  {ours:6.2f}  {ratio:5.1f}"
              f"  {1e3 * ours / len(crystal):6.3f}{'' if same else '  CHUNKS DIFFER'}")  # fmt: skip
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
