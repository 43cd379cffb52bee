"""Verdicts and cost of the near-symmetry guard, with and without its Newton search.

A frame whose small singular values pass the path test to a nearby symmetric frame gets
``near-symmetry`` unless an exact zero without symmetry lies within a tenth of the
distance d to that frame (``sensitivity.near_symmetric._exact_zero_nearby``): first a
short ``find_singular`` search, then, for up to ``NEWTON_ZERO_NEIGHBORS`` neighbours,
Newton's method on (s_min/s1)² (``sensitivity.near_symmetric._newton_zero_within``). The
baseline, measured in the same run on the same frames, is the guard without the Newton search
(``NEWTON_ZERO_NEIGHBORS = 0``, the guard until 2026-12-05). Three kinds of frames:

- near-symmetric: 1–40 mÅ from T_d, C3v, C2v, D2d and Cs CH4 (SOAP, bispectrum, ACSF,
  OM), an fcc shell (ACSF), T_d SiO4 and O_h SiO6 (ACSF, SOAP): their zeros are lifted
  forced zeros, and no verdict should change;
- adversarial: folds of ν = 2 degenerate pairs 2–10 mÅ from a Cs shape, rotated and
  rounded to 1e-5 Å (ACSF, SOAP), pair folds 1e-6–1e-4 Å off (SOAP, ACSF,
  bispectrum), and frames 1e-5 and 1e-4 Å from zeros that ``find_singular`` found near
  symmetric CH4 (ACSF): an exact zero within 0.1 d, so every ``near-symmetry`` there is
  a leak.

Prints the verdict counts of both guards per set, the frames whose verdict changed, and
the wall time of each set with both guards (new / old).

``--reach R`` runs every set with ``near_symmetric.NEAR_SYMMETRY_REACH = R`` (the largest
residual of the operations ``near_symmetry`` symmetrises over; 0.05 Å until 2026-12-06,
0.15 Å since): two runs compare reaches. ``--crystals`` adds one site of small rattled
cells (SOAP): the 2-atom bcc Fe cell at a 3.5 Å cutoff and the 4-atom fcc Cu cell at
5 Å, ase ``rattle`` 0.01–0.08 Å, whose neighbours move as images of a few atoms and
whose zeros forced by O_h stay below 1e-6 s1 out to 0.075 Å (~30 s more on an idle
machine). ``--far-folds`` adds folds 0.05–0.25 Å from the Cs shape (the mirror holding
to 0.03–0.14 Å, beyond the old reach from 0.1 Å on), every ``near-symmetry`` a leak.

    .venv/bin/python benchmarks/bench_near_symmetry.py [--seeds 2] [--reach 0.05] \
        [--crystals] [--far-folds]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np
from scipy.spatial.transform import Rotation

import degeneracy as dg
from degeneracy.sensitivity import near_symmetric

DISTANCES = (1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2)
TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)


def methane_shapes() -> dict[str, np.ndarray]:
    """Symmetric CH4 neighbour sets (Å): T_d, C3v, C2v, D2d and Cs."""
    radii = {"td": [1.09] * 4, "c3v": [1.15, 1.09, 1.09, 1.09], "c2v": [1.15, 1.15, 1.09, 1.09]}
    shapes = {name: TETRAHEDRON * np.array(r)[:, None] for name, r in radii.items()}
    flattened = np.array([[1, 1, 1.2], [1, -1, -1.2], [-1, 1, -1.2], [-1, -1, 1.2]])
    shapes["d2d"] = flattened / np.linalg.norm(flattened[0]) * 1.09
    shapes["cs"] = fold(0.0, 50, 100)
    return shapes


def fcc_shell(radius: float = 1.3) -> np.ndarray:
    """The 12 nearest neighbours of an fcc site (O_h), Å."""
    edges = [(a, b) for a in (-1, 1) for b in (-1, 1)]
    points = [[a, b, 0] for a, b in edges] + [[a, 0, b] for a, b in edges]
    return np.array(points + [[0, a, b] for a, b in edges], float) * radius / np.sqrt(2)


def fold(delta: float, tilt: float, azimuth: float, h4: float = 180.0) -> np.ndarray:
    """H2 and H3 mirror images through y = 0 but ``delta`` Å off the plane, H4 in the
    xy plane at ``h4`` degrees: a fold of ν = 2 degenerate pairs ``delta`` from a Cs
    shape (tests/test_sensitivity.py)."""
    b = 1.09
    tilt, azimuth, xy = np.radians(tilt), np.radians(azimuth), np.sqrt(b**2 - delta**2)
    h4 = (np.cos(np.radians(h4)), np.sin(np.radians(h4)))
    return np.array(
        [
            [b * np.sin(tilt), 0, b * np.cos(tilt)],
            [xy * np.cos(azimuth), xy * np.sin(azimuth), delta],
            [xy * np.cos(azimuth), -xy * np.sin(azimuth), -delta],
            [b * h4[0], b * h4[1], 0.0],
        ]
    )


def displaced(neighbors: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """``neighbors`` moved ``distance`` Å (RMS) in a random direction."""
    noise = np.random.default_rng(seed).standard_normal(neighbors.shape)
    return neighbors + noise * distance / np.sqrt(np.mean(np.sum(noise**2, axis=1)))


def near_symmetric_sets(seeds: int) -> dict[str, tuple[list, dg.Representation]]:
    reps = {
        "soap": dg.SoapPowerSpectrum,
        "bispectrum": dg.Bispectrum,
        "acsf": dg.Acsf,
        "om": dg.OverlapMatrix,
    }
    sets = {}
    for name, shape in methane_shapes().items():
        for label, make in reps.items():
            frames = [
                dg.environment_from_neighbors(displaced(shape, d, s))
                for d in DISTANCES
                for s in range(seeds)
            ]
            sets[f"near {name} CH4, {label}"] = (frames, make())
    fcc = [
        dg.environment_from_neighbors(displaced(fcc_shell(), d, s), "CuCu12")
        for d in DISTANCES
        for s in range(seeds)
    ]
    sets["near fcc shell, acsf"] = (fcc, dg.Acsf(center="Cu", neighbors=["Cu"]))
    oxides = {"SiO4": TETRAHEDRON * 1.62, "SiO6": np.vstack([np.eye(3), -np.eye(3)]) * 1.77}
    for formula, shape in oxides.items():
        frames = [
            dg.environment_from_neighbors(displaced(shape, d, s), formula)
            for d in DISTANCES
            for s in range(seeds)
        ]
        for label, make in (("acsf", dg.Acsf), ("soap", dg.SoapPowerSpectrum)):
            sets[f"near {formula}, {label}"] = (
                frames,
                make(center="Si", neighbors=["O"], cutoff=3.0),
            )
    return sets


def crystal_sets(seeds: int) -> dict[str, tuple[list, dg.Representation]]:
    """Site 0 of small rattled cells: every neighbour an image of one of a few atoms."""
    from ase.build import bulk

    cells = {
        "bcc Fe cell": (bulk("Fe", "bcc", a=2.87, cubic=True), 3.5),
        "fcc Cu cell": (bulk("Cu", "fcc", a=3.61, cubic=True), 5.0),
    }
    sets = {}
    for name, (cell, cutoff) in cells.items():
        frames = []
        for stdev in (0.01, 0.02, 0.04, 0.08):
            for seed in range(seeds):
                rattled = cell.copy()
                rattled.rattle(stdev=stdev, seed=seed)
                frames.append(dg.structure_environments(rattled, cutoff=cutoff)[0])
        symbol = cell[0].symbol
        representation = dg.SoapPowerSpectrum(center=symbol, neighbors=[symbol], cutoff=cutoff)
        sets[f"near O_h, rattled {name}, soap"] = (frames, representation)
    return sets


def fold_sets() -> dict[str, tuple[list, dg.Representation]]:
    rounded = []
    for delta in (2e-3, 5e-3, 1e-2):
        for tilt in (50, 60, 70):
            for azimuth in (100, 110, 120):
                for h4 in (170.0, 180.0):
                    for seed in (100, 101):
                        rotation = Rotation.random(random_state=seed).as_matrix()
                        neighbors = np.round(fold(delta, tilt, azimuth, h4) @ rotation.T, 5)
                        rounded.append(dg.environment_from_neighbors(neighbors))
    pairs = []
    for delta in (3e-3, 5e-3, 1e-2):
        for eps in (1e-6, 1e-5, 3e-5, 1e-4):
            neighbors = fold(delta, 50, 100)
            neighbors[3, 1] = eps  # H4 off the fold (H4's y = 0)
            pairs.append(dg.environment_from_neighbors(neighbors))
    return {
        "rounded folds, acsf": (rounded, dg.Acsf()),
        "rounded folds, soap": (rounded, dg.SoapPowerSpectrum()),
        "pair folds, soap": (pairs, dg.SoapPowerSpectrum()),
        "pair folds, acsf": (pairs, dg.Acsf()),
        "pair folds, bispectrum": (pairs, dg.Bispectrum()),
    }


def far_fold_sets() -> dict[str, tuple[list, dg.Representation]]:
    """Folds 0.05–0.25 Å from the Cs shape: rounded to 1e-5 Å, or H4 1e-6–1e-4 Å off."""
    rounded, pairs = [], []
    for delta in (0.05, 0.1, 0.15, 0.2, 0.25):
        rotation = Rotation.random(random_state=100).as_matrix()
        for tilt in (50, 70):
            for azimuth in (100, 120):
                for h4 in (170.0, 180.0):
                    neighbors = np.round(fold(delta, tilt, azimuth, h4) @ rotation.T, 5)
                    rounded.append(dg.environment_from_neighbors(neighbors))
        for eps in (1e-6, 1e-5, 1e-4):
            neighbors = fold(delta, 50, 100)
            neighbors[3, 1] = eps
            pairs.append(dg.environment_from_neighbors(neighbors))
    return {
        "far rounded folds, acsf": (rounded, dg.Acsf()),
        "far rounded folds, soap": (rounded, dg.SoapPowerSpectrum()),
        "far pair folds, soap": (pairs, dg.SoapPowerSpectrum()),
        "far pair folds, acsf": (pairs, dg.Acsf()),
        "far pair folds, bispectrum": (pairs, dg.Bispectrum()),
    }


def found_zero_sets() -> dict[str, tuple[list, dg.Representation]]:
    """Frames 1e-5 and 1e-4 Å from the exact zeros without symmetry that ``find_singular``
    finds from CH4 20–200 mÅ from T_d, C3v and C2v (ACSF; SOAP's searches all end at
    symmetric frames)."""
    acsf, frames = dg.Acsf(), []
    for name in ("td", "c3v", "c2v"):
        for seed in range(8):
            distance = (0.02, 0.05, 0.1, 0.2)[seed % 4]
            start = displaced(methane_shapes()[name], distance, seed)
            zero = dg.find_singular(dg.environment_from_neighbors(start), acsf)
            if not zero.converged or zero.symmetry.symmetric:
                continue
            at_zero = dg.neighbor_positions([zero.atoms])[0]
            for k, eps in enumerate((1e-5, 1e-4)):
                frames.append(dg.environment_from_neighbors(displaced(at_zero, eps, 10 * seed + k)))
    return {"near found zeros, acsf": (frames, acsf)}


def verdicts_and_time(frames, representation, newton_neighbors: int) -> tuple[list, float]:
    saved = near_symmetric.NEWTON_ZERO_NEIGHBORS
    near_symmetric.NEWTON_ZERO_NEIGHBORS = newton_neighbors
    try:
        start = time.perf_counter()
        sizes = {len(frame) for frame in frames}  # one call per neighbour count
        by_size = {n: [f for f in frames if len(f) == n] for n in sizes}
        results = {n: iter(dg.analyse_frames(by_size[n], representation)) for n in sizes}
        verdicts = [next(results[len(frame)]).verdict for frame in frames]
        return verdicts, time.perf_counter() - start
    finally:
        near_symmetric.NEWTON_ZERO_NEIGHBORS = saved


def load() -> str:
    one, _, _ = os.getloadavg()
    return f"load {one:.1f} on {os.cpu_count()} cores"


def counts(verdicts: list[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(verdicts).items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="near-symmetric frames per distance")
    parser.add_argument(
        "--reach",
        type=float,
        default=near_symmetric.NEAR_SYMMETRY_REACH,
        help="largest residual (Å) of the operations near_symmetry symmetrises over "
        f"(default {near_symmetric.NEAR_SYMMETRY_REACH})",
    )
    parser.add_argument(
        "--crystals", action="store_true", help="add site 0 of small rattled Fe and Cu cells"
    )
    parser.add_argument(
        "--far-folds", action="store_true", help="add folds 0.05–0.25 Å from the Cs shape"
    )
    args = parser.parse_args()
    near_symmetric.NEAR_SYMMETRY_REACH = args.reach
    print(f"near-symmetry guard with and without the Newton search; reach {args.reach} Å; {load()}")
    sets = {**near_symmetric_sets(args.seeds), **fold_sets(), **found_zero_sets()}
    if args.crystals:
        sets.update(crystal_sets(args.seeds))
    if args.far_folds:
        sets.update(far_fold_sets())
    totals = Counter()
    for name, (frames, representation) in sets.items():
        old, old_time = verdicts_and_time(frames, representation, 0)
        new, new_time = verdicts_and_time(
            frames, representation, near_symmetric.NEWTON_ZERO_NEIGHBORS
        )
        changed = sum(a != b for a, b in zip(old, new, strict=True))
        kind = "near" if name.startswith("near ") and "found" not in name else "folds"
        totals[kind, "old"] += old.count("near-symmetry")
        totals[kind, "new"] += new.count("near-symmetry")
        totals[kind, "changed"] += changed
        totals["old time"] += old_time
        totals["new time"] += new_time
        print(f"{name} ({len(frames)} frames): {counts(new)}")
        if changed:
            print(f"    without the Newton search: {counts(old)}; {changed} changed")
        print(f"    {new_time:.1f} s, {old_time:.1f} s without ({new_time / old_time:.2f}×)")
    print(
        f"near-symmetric frames: near-symmetry {totals['near', 'old']} → "
        f"{totals['near', 'new']}, {totals['near', 'changed']} verdicts changed (should be 0)"
    )
    print(
        "folds and found zeros (every near-symmetry a leak): near-symmetry "
        f"{totals['folds', 'old']} → {totals['folds', 'new']}"
    )
    ratio = totals["new time"] / totals["old time"]
    print(
        f"time: {totals['new time']:.1f} s, {totals['old time']:.1f} s without the Newton "
        f"search ({ratio:.2f}×; {load()})"
    )


if __name__ == "__main__":
    main()
