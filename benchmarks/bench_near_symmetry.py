"""Verdicts and cost of the near-symmetry guard, with and without its Newton search.

A frame whose small singular values pass the path test to a nearby symmetric frame gets
``near-symmetry`` unless an exact zero without symmetry lies within a tenth of the
distance d to that frame (``sensitivity.near_symmetric._nearest_zero_found``): first a
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
cells (SOAP): the 2-atom bcc Fe cell at 3.5 and 4.5 Å cutoffs and the 4-atom fcc Cu cell
at 5 Å, ase ``rattle`` 0.005–0.08 Å, whose neighbours move as images of a few atoms and
whose zeros forced by O_h stay below 1e-6 s1 out to 0.075 Å, some at round-off at
0.005–0.01 Å (``near_symmetry``'s probe beyond the frame). ``--far-folds`` adds folds
0.05–0.25 Å from the Cs shape (the mirror holding to 0.03–0.14 Å, beyond the old reach
from 0.1 Å on), every ``near-symmetry`` a leak.

``--large`` runs instead the sets of environments with more than 6 neighbours, where the
guard has no Newton search: frames 1e-5 and 1e-4 Å from the zeros without symmetry that
``find_singular`` finds from seven symmetric 8–12-neighbour shapes (fcc and hcp shells, the
cube, a square antiprism, an icosahedron, the cube with two species, a mirror-symmetric
10-neighbour shape) displaced 0.02–0.15 Å, every ``near-symmetry`` within 0.1 d of the zero
a leak, and controls (the shapes displaced 1–150 mÅ), each with the guard until 2026-12-06
(no search when 1000× the frame's CN is within 10× of round-off) and the current one.
``--large-seeds``: starts per distance (1); ``--large-reps``: ``acsf`` (default, ~3
min at load 2–3 on 2 cores) or ``acsf,soap`` (2 seeds: ~20 min).

    .venv/bin/python benchmarks/bench_near_symmetry.py [--seeds 2] [--reach 0.05] \
        [--crystals] [--far-folds]
    .venv/bin/python benchmarks/bench_near_symmetry.py --large [--large-seeds 2] \
        [--large-reps acsf,soap]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
from machine import blas_on_one_thread, load
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
        "bcc Fe cell at 4.5 Å": (bulk("Fe", "bcc", a=2.87, cubic=True), 4.5),
        "fcc Cu cell": (bulk("Cu", "fcc", a=3.61, cubic=True), 5.0),
    }
    sets = {}
    for name, (cell, cutoff) in cells.items():
        frames = []
        for stdev in (0.005, 0.01, 0.02, 0.04, 0.08):  # 0.005–0.01: zeros at round-off
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
    return fold_fingerprint_sets(rounded, pairs)


def fold_fingerprint_sets(
    rounded: list, pairs: list, prefix: str = ""
) -> dict[str, tuple[list, dg.Representation]]:
    """Rounded folds with ACSF and SOAP, pair folds with SOAP, ACSF and the bispectrum."""
    return {
        f"{prefix}rounded folds, acsf": (rounded, dg.Acsf()),
        f"{prefix}rounded folds, soap": (rounded, dg.SoapPowerSpectrum()),
        f"{prefix}pair folds, soap": (pairs, dg.SoapPowerSpectrum()),
        f"{prefix}pair folds, acsf": (pairs, dg.Acsf()),
        f"{prefix}pair folds, bispectrum": (pairs, dg.Bispectrum()),
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
    return fold_fingerprint_sets(rounded, pairs, "far ")


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


LARGE_RADIUS = 1.3
LARGE_DISTANCES = (0.02, 0.05, 0.1, 0.15)
CONTROL_DISTANCES = (1e-3, 5e-3, 2e-2, 5e-2, 0.1, 0.15)
ROUNDOFF_CN = 1e15  # a refined zero at this CN is at round-off for up to 150 neighbours


def on_sphere(points, radius: float = LARGE_RADIUS) -> np.ndarray:
    points = np.asarray(points, float)
    return points / np.linalg.norm(points, axis=1)[:, None] * radius


def large_shapes() -> dict[str, tuple[np.ndarray, str, list[str]]]:
    """Symmetric 8–12-neighbour shapes at 1.3 Å (neighbours, environment, species): the
    fcc shell (O_h), the cube / bcc 8-shell (O_h), a square antiprism (D4d), an
    icosahedron (I_h), the hcp shell (D3h), the cube with two species (T_d) and a
    random 10-neighbour shape with one mirror plane (Cs)."""
    corners = [[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
    quarter = np.arange(4) * np.pi / 2
    antiprism = [[np.cos(a), np.sin(a), 0.55] for a in quarter]
    antiprism += [[np.cos(a + np.pi / 4), np.sin(a + np.pi / 4), -0.55] for a in quarter]
    golden = (1 + 5**0.5) / 2
    icosahedron = [
        p for a in (-1, 1) for b in (-golden, golden) for p in ([0, a, b], [a, b, 0], [b, 0, a])
    ]
    ring = [[np.cos(a), np.sin(a), 0] for a in np.arange(6) * np.pi / 3]
    caps = [
        [np.cos(a) / 3**0.5, np.sin(a) / 3**0.5, (2 / 3) ** 0.5]
        for a in (np.pi / 6, 5 * np.pi / 6, 1.5 * np.pi)
    ]
    hcp = ring + caps + [[x, y, -z] for x, y, z in caps]
    return {
        "fcc 12-shell": (fcc_shell(LARGE_RADIUS), "CuCu12", ["Cu"]),
        "cube 8": (on_sphere(corners), "FeFe8", ["Fe"]),
        "square antiprism 8": (on_sphere(antiprism), "CuCu8", ["Cu"]),
        "icosahedron 12": (on_sphere(icosahedron), "CuCu12", ["Cu"]),
        "hcp 12-shell": (on_sphere(hcp), "CuCu12", ["Cu"]),
        "two-species cube 8": (on_sphere(corners), "CuCu8", ["Ag", "Cu"]),
        "mirror 10": (mirror_shape(), "CuCu10", ["Cu"]),
    }


def mirror_shape(seed: int = 3) -> np.ndarray:
    """Four pairs of mirror images through z = 0 and two neighbours in that plane, 1.1–1.6 Å
    from the centre (Cs)."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(4):
        v = rng.standard_normal(3)
        v[2] = abs(v[2]) + 0.3
        v = v / np.linalg.norm(v) * rng.uniform(1.1, 1.6)
        points += [v, v * [1, 1, -1]]
    for _ in range(2):
        v = rng.standard_normal(3)
        v[2] = 0
        points.append(v / np.linalg.norm(v) * rng.uniform(1.1, 1.6))
    return np.array(points)


def large_environment(neighbors: np.ndarray, spec: str, species: list[str], **info):
    """The environment of ``neighbors`` (``spec``); with two ``species``, the neighbours
    alternate between them (the cube's corners: two tetrahedra)."""
    atoms = dg.environment_from_neighbors(neighbors, spec, info=info)
    if len(species) == 2:
        corners = np.sign(neighbors) if len(neighbors) == 8 else None
        first = np.prod(corners, axis=1) > 0 if corners is not None else np.arange(8) % 2 == 0
        atoms.symbols[1:] = [species[0] if f else species[1] for f in first]
    return atoms


def large_representations(spec: str, species: list[str]) -> dict[str, dg.Representation]:
    center = spec[:2]
    return {
        "acsf": dg.Acsf(center=center, neighbors=species, cutoff=2.5),
        "soap": dg.SoapPowerSpectrum(center=center, neighbors=species, cutoff=2.5),
    }


def large_zero_sets(seeds: int, reps: tuple[str, ...]) -> dict[str, tuple[list, dg.Representation]]:
    """Frames 1e-5 and 1e-4 Å from the zeros without symmetry that ``find_singular`` finds
    from the large shapes displaced 0.02–0.15 Å. Each zero is refined (8 more iterations
    to CN 1e15): ``info["exact"]`` when that reaches round-off (frames then built from the
    refined zero), else the zero is one at CN ≥ 1e13 only. ``info["zero_distance"]`` is
    the frame's distance from its zero, ``info["zeros"]`` counts the zeros of the set."""
    sets = {}
    for name, (shape, spec, species) in large_shapes().items():
        for label, representation in large_representations(spec, species).items():
            if label not in reps:
                continue
            frames, n_zeros, n_exact = [], 0, 0
            for distance in LARGE_DISTANCES:
                for seed in range(seeds):
                    start = displaced(shape, distance, 1000 * seed + round(distance * 1000))
                    # the start with the shape's species (the two-species cube's
                    # alternate): until 2026-12-07 it was searched with every neighbour
                    # of the centre's species, and its frames, relabelled, had no zero
                    zero = dg.find_singular(large_environment(start, spec, species), representation)
                    if not zero.converged or zero.symmetry.symmetric:
                        continue
                    refined = dg.find_singular(
                        zero.atoms, representation, cn_target=ROUNDOFF_CN, max_iterations=8
                    )
                    exact = refined.converged and not refined.symmetry.symmetric
                    n_zeros, n_exact = n_zeros + 1, n_exact + exact
                    at_zero = dg.neighbor_positions([refined.atoms if exact else zero.atoms])[0]
                    for k, eps in enumerate((1e-5, 1e-4)):
                        near = displaced(at_zero, eps, 10 * seed + k + round(distance * 1000))
                        frames.append(
                            large_environment(near, spec, species, zero_distance=eps, exact=exact)
                        )
            if frames:
                frames[0].info["zeros"] = (n_zeros, n_exact)
                sets[f"found zeros near {name}, {label}"] = (frames, representation)
    return sets


def large_control_sets(
    seeds: int, reps: tuple[str, ...]
) -> dict[str, tuple[list, dg.Representation]]:
    """The large shapes displaced 1–150 mÅ: no zero nearby, their verdicts should stay."""
    sets = {}
    for name, (shape, spec, species) in large_shapes().items():
        frames = [
            large_environment(displaced(shape, d, s), spec, species)
            for d in CONTROL_DISTANCES
            for s in range(seeds)
        ]
        for label, representation in large_representations(spec, species).items():
            if label in reps:
                sets[f"near {name}, {label}"] = (frames, representation)
    return sets


def analyses_and_time(frames, representation, *, old_large: bool) -> tuple[list, float]:
    """``analyse_frames`` by neighbour count, with the guard until 2026-12-06
    (``old_large``: no search when 1000× the frame's CN is within 10× of round-off) or
    the current one."""
    saved = near_symmetric.NEAR_ZERO_MIN_GAIN
    if old_large:
        near_symmetric.NEAR_ZERO_MIN_GAIN = 1e3  # = the old rule
    try:
        start = time.perf_counter()
        sizes = {len(frame) for frame in frames}
        by_size = {n: [f for f in frames if len(f) == n] for n in sizes}
        results = {n: iter(dg.analyse_frames(by_size[n], representation)) for n in sizes}
        analyses = [next(results[len(frame)]) for frame in frames]
        return analyses, time.perf_counter() - start
    finally:
        near_symmetric.NEAR_ZERO_MIN_GAIN = saved


def leaks(frames, analyses, *, exact: bool | None = None) -> int:
    """``near-symmetry`` verdicts on frames within 0.1 d of their zero (``exact``: of
    zeros at round-off only, or at CN ≥ 1e13 only)."""
    return sum(
        a.verdict == "near-symmetry"
        and f.info["zero_distance"] < 0.1 * a.near_symmetry_distance
        and (exact is None or f.info["exact"] == exact)
        for f, a in zip(frames, analyses, strict=True)
    )


def leak_line(frame, analysis) -> str:
    """A leak's distances, CN and whether the guard searches there at all."""
    values = analysis.singular_values
    cn = values[0] / values[-1]
    roundoff_cn = values[0] / near_symmetric.roundoff_floor(values[0], len(values))
    searched = min(1e15, 1e3 * cn, 0.1 * roundoff_cn) >= near_symmetric.NEAR_ZERO_MIN_GAIN * cn
    note = "" if searched else ", no search: within 100× of round-off"
    return (
        f"{frame.info['zero_distance']:.0e} Å from the zero, d = "
        f"{1e3 * analysis.near_symmetry_distance:.1f} mÅ, CN {cn:.2g} "
        f"(round-off {roundoff_cn:.2g}){note}"
    )


def run_large(seeds: int, reps: tuple[str, ...], blas: str) -> None:
    """Found zeros and controls near the large shapes, the old and the current guard."""
    print(
        f"large environments (8–12 neighbours), {seeds} seeds, {', '.join(reps)}; {blas}; {load()}"
    )
    start = time.perf_counter()
    zero_sets = large_zero_sets(seeds, reps)
    print(f"zero searches: {time.perf_counter() - start:.1f} s")
    totals = Counter()
    for name, (frames, representation) in {**zero_sets, **large_control_sets(seeds, reps)}.items():
        old, old_time = analyses_and_time(frames, representation, old_large=True)
        new, new_time = analyses_and_time(frames, representation, old_large=False)
        changed = sum(a.verdict != b.verdict for a, b in zip(old, new, strict=True))
        totals["old time"] += old_time
        totals["new time"] += new_time
        print(f"{name} ({len(frames)} frames): {counts([a.verdict for a in new])}")
        if name.startswith("found"):
            n_zeros, n_exact = frames[0].info["zeros"]
            row = [leaks(frames, old, exact=True), leaks(frames, new, exact=True)]
            row += [leaks(frames, old, exact=False), leaks(frames, new, exact=False)]
            keys = ("exact old", "exact new", "loose old", "loose new")
            for key, value in zip(keys, row, strict=True):
                totals[key] += value
            totals["zeros"] += n_zeros
            totals["exact zeros"] += n_exact
            totals["zero frames"] += len(frames)
            print(
                f"    {n_zeros} zeros ({n_exact} at round-off); leaks old → new: "
                f"{row[0]} → {row[1]} (round-off zeros), {row[2]} → {row[3]} (CN ≥ 1e13 only)"
            )
            for frame, analysis in zip(frames, new, strict=True):
                if leaks([frame], [analysis]):
                    print(f"    leak: {leak_line(frame, analysis)}")
        else:
            totals["near old"] += [a.verdict for a in old].count("near-symmetry")
            totals["near new"] += [a.verdict for a in new].count("near-symmetry")
            totals["control changed"] += changed
        if changed:
            print(f"    old guard: {counts([a.verdict for a in old])}; {changed} changed")
        print(f"    {new_time:.1f} s, {old_time:.1f} s with the old guard")
    print(
        f"found zeros: {totals['zeros']} ({totals['exact zeros']} at round-off), "
        f"{totals['zero frames']} frames; leaks old → new: {totals['exact old']} → "
        f"{totals['exact new']} (round-off zeros), {totals['loose old']} → "
        f"{totals['loose new']} (CN ≥ 1e13 only)"
    )
    print(
        f"controls: near-symmetry {totals['near old']} → {totals['near new']}, "
        f"{totals['control changed']} verdicts changed (should be 0)"
    )
    print(f"time: {totals['new time']:.1f} s, {totals['old time']:.1f} s old guard; {load()}")


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
    parser.add_argument(
        "--large",
        action="store_true",
        help="only zeros found near symmetric 8–12-neighbour shapes, and controls",
    )
    parser.add_argument("--large-seeds", type=int, default=1, help="starts per distance of --large")
    parser.add_argument(
        "--large-reps", default="acsf", help="fingerprints of --large: acsf, soap or acsf,soap"
    )
    args = parser.parse_args()
    blas = blas_on_one_thread()  # numpy's SVDs here are small
    near_symmetric.NEAR_SYMMETRY_REACH = args.reach
    if args.large:
        run_large(args.large_seeds, tuple(args.large_reps.split(",")), blas)
        return
    print(
        f"near-symmetry guard with and without the Newton search; reach {args.reach} Å; "
        f"{blas}; {load()}"
    )
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
