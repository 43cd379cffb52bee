"""A periodic cell is judged by its lattice, not by the basis it is stored in; structure
files that are pipes are refused in one line (bug hunt helper-100, problems 1 and 6).

A skewed basis of a sound lattice (shortest vector 1.2 Å, stored 0.4 Å thick) was refused
as "pbc without a cell?"; a file given as ``/dev/stdin`` or ``<(...)`` was said to "hold
no structures", as ase's format detection had consumed the pipe.
"""

from __future__ import annotations

import os
import re

import ase
import ase.build
import ase.io
import numpy as np
import pytest
from ase.geometry import minkowski_reduce
from ase.neighborlist import neighbor_list
from conftest import counted_calls, exit_status, one_error_line

import degeneracy as dg
from degeneracy import scan as scanning
from degeneracy.errors import DegeneracyError
from degeneracy.structures import (
    DEFAULT_MIN_DISTANCE,
    cell_heights,
    check_cell,
    lattice_heights,
    with_reduced_cell,
)

#: The hunt's skew.extxyz: a sound lattice (reduced 1.2 × 1.54 × 4.0 Å) in a basis 0.396 Å
#: thick along cell vector 0.
SKEW_CELL = [[4.0, 0.0, 0.0], [12.0, 1.2, 0.0], [0.3, 0.2, 1.5]]


def _skewed_crystal(cell=SKEW_CELL) -> ase.Atoms:
    return ase.Atoms("CH", positions=[[0, 0, 0], [4.3, 0.4, 0.7]], cell=cell, pbc=True)


def _reduced_copy(atoms: ase.Atoms) -> ase.Atoms:
    """The same crystal (same positions) with ase's Minkowski-reduced cell."""
    reduced, _ = minkowski_reduce(atoms.cell, atoms.pbc)
    copy = atoms.copy()
    copy.set_cell(reduced, scale_atoms=False)
    return copy


def _sorted_vectors(environment: ase.Atoms) -> np.ndarray:
    vectors = np.round(environment.positions[1:], 9)
    return vectors[np.lexsort(vectors.T[::-1])]


# --------------------------------------------------------------------------------------
# Problem 1: the lattice, not the basis


def test_the_hunts_skewed_cell_is_thin_as_stored_but_its_lattice_is_sound():
    """The premise: the old check (the stored heights) refused it, the lattice is sound."""
    atoms = _skewed_crystal()
    stored = cell_heights(np.array(SKEW_CELL), np.arange(3))
    assert stored.min() == pytest.approx(0.396, abs=1e-3)
    reduced = lattice_heights(_reduced_copy(atoms).cell[:], atoms.pbc)
    assert reduced.min() > 1.0
    check_cell(atoms, "structure")  # refused before


@pytest.mark.parametrize("tilt", [12.0, 400.0, 4000.0])
def test_a_skewed_basis_gives_the_environments_of_its_reduced_cell(tilt):
    """Every centre has the same neighbours (vectors) as in the reduced basis, however
    large the tilt; before, the tilt-12 cell was refused, and ase's search in the stored
    basis of the tilt-4000 one took 5 s a call."""
    cell = [[4.0, 0.0, 0.0], [tilt, 1.2, 0.0], [0.3, 0.2, 1.5]]
    skewed = _skewed_crystal(cell)
    reduced = _reduced_copy(skewed)
    found = dg.structure_environments(skewed, cutoff=3.0)
    expected = dg.structure_environments(reduced, cutoff=3.0)
    assert [len(a) for a in found] == [len(a) for a in expected]
    assert len(found[0]) > 20  # images of both atoms: a crystal, not a molecule
    for mine, theirs in zip(found, expected, strict=True):
        assert mine.get_chemical_symbols() == theirs.get_chemical_symbols()
        np.testing.assert_allclose(_sorted_vectors(mine), _sorted_vectors(theirs), atol=1e-8)


def test_neighbours_keep_their_order_by_the_shifts_of_the_stored_basis():
    """The search runs in the reduced basis, its image shifts are turned back into the
    stored one: the environment lists its neighbours exactly as ase's search in the stored
    basis orders them (species, atom, shift), i.e. as before the change."""
    atoms = _skewed_crystal([[4.0, 0.0, 0.0], [2.0, 3.0, 0.0], [2.5, 1.5, 2.0]])
    _, op = with_reduced_cell(atoms)
    assert not np.array_equal(op, np.eye(3, dtype=int))  # a basis that is not reduced
    i, j, vectors, shifts = neighbor_list("ijDS", atoms, 3.0, self_interaction=False)
    for environment in dg.structure_environments(atoms, cutoff=3.0):
        mine = np.flatnonzero(i == environment.info["atom"])
        order = np.lexsort((*shifts[mine].T[::-1], j[mine]))
        order = order[np.argsort(atoms.numbers[j[mine][order]], kind="stable")]
        np.testing.assert_allclose(environment.positions[1:], vectors[mine][order], atol=1e-9)


def test_with_reduced_cell_keeps_the_lattice_and_the_positions():
    atoms = _skewed_crystal()
    searched, op = with_reduced_cell(atoms)
    assert round(abs(np.linalg.det(op))) == 1  # unimodular: the same lattice
    np.testing.assert_allclose(searched.cell[:], op @ atoms.cell[:], atol=1e-12)
    np.testing.assert_array_equal(searched.positions, atoms.positions)
    assert lattice_heights(searched.cell[:], searched.pbc).min() > 1.0
    reduced = _reduced_copy(atoms)
    same, identity = with_reduced_cell(reduced)
    assert same is reduced and np.array_equal(identity, np.eye(3, dtype=int))


def test_a_slab_is_judged_by_its_periodic_vectors_only():
    """A slab's out-of-plane vector is no period: tilted far, it made the stored cell
    0.003 Å thick along a periodic axis; a skewed in-plane basis is reduced too."""
    tilted = ase.Atoms("C", cell=[[3, 0, 0], [0, 3, 0], [100, 0, 0.1]], pbc=[True, True, False])
    assert cell_heights(tilted.cell[:], np.array([0, 1]))[0] < 0.01
    check_cell(tilted, "slab")
    skewed = ase.Atoms("C", cell=[[3, 0, 0], [3000, 3, 0], [0, 0, 0]], pbc=[True, True, False])
    check_cell(skewed, "slab")
    thin = ase.Atoms("C", cell=[[3, 0, 0], [3000, 0.3, 0], [0, 0, 0]], pbc=[True, True, False])
    with pytest.raises(DegeneracyError, match=r"^slab: periodic, but its lattice is 0\.3 Å thick"):
        check_cell(thin, "slab")


def test_a_real_short_period_stored_skewed_is_still_refused_naming_the_reduced_vector():
    """A 0.3 Å period hidden in a unimodular mix of the vectors: every vector of the basis
    is long, but the lattice has the short one; named with its value and where it is."""
    lattice = np.array([[0.3, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])
    mix = np.array([[7, 1, 0], [3, 0, 1], [2, 0, 1]])
    assert round(abs(np.linalg.det(mix))) == 1
    stored = mix @ lattice
    assert np.linalg.norm(stored, axis=1).min() > 1.0
    atoms = ase.Atoms("C", cell=stored, pbc=True)
    with pytest.raises(DegeneracyError) as caught:
        check_cell(atoms, "data.xyz, structure 4")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("data.xyz, structure 4: periodic, but its lattice is 0.3 Å thick")
    assert "reduced cell vector [0.3, 0, 0] (cell vector 1 - cell vector 2)" in message
    assert f"less than the minimum distance {DEFAULT_MIN_DISTANCE} Å" in message


@pytest.mark.parametrize(
    ("cell", "pbc", "message"),
    [
        (None, True, r"periodic along axis 0, but cell vector 0 is zero \(pbc without a cell\?\)"),
        (
            [[2, 0, 0], [0, 2, 0], [2, 2, 0]],
            True,
            r"periodic along cell vector 0 \[2\.0, 0\.0, 0\.0\], but the cell is 0 Å thick "
            r"along it \(its vectors are coplanar: zero volume\)",
        ),
        (
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            True,
            r"periodic along cell vector 0 .* coplanar: zero volume",
        ),
        (
            [0.3, 0, 0],
            [True, False, False],
            r"periodic along cell vector 0 \[0\.3, 0\.0, 0\.0\], but the cell is 0\.3 Å thick "
            r"along it, less than the minimum distance 0\.5 Å",
        ),
        (
            [5, 5, 0.1],
            True,
            r"periodic along cell vector 2 \[0\.0, 0\.0, 0\.1\], but the cell is 0\.1 Å thick",
        ),
        ([[4, 0, 0], [0, np.inf, 0], [0, 0, 4]], True, r"non-finite cell vector 1"),
    ],
    ids=["no-cell", "zero-volume", "coplanar-oblique", "short-period", "thin", "inf"],
)
def test_the_right_refusals_stay(tmp_path, cell, pbc, message):
    """pbc without a cell, a zero-volume cell and a real short period: refused as before,
    by the scan's reader, in one line naming the file, the structure and the value."""
    atoms = ase.Atoms("C", positions=[[0.1, 0.2, 0.3]], pbc=pbc)
    if cell is not None:
        atoms.set_cell(cell)
    with pytest.raises(DegeneracyError) as caught:
        list(scanning.Dataset([atoms]).structures())
    assert "\n" not in str(caught.value)
    assert re.search(r"^1 structures, structure 0: " + message, str(caught.value))


def test_a_skewed_environment_file_is_read_and_its_images_named_in_the_stored_basis(tmp_path):
    """``read_environments`` judges a periodic frame's cell the same way: a skewed basis of
    a 6 Å lattice is read; with a 2.2 Å lattice the image inside the cutoff is named by
    its shift in the file's cell vectors (which puts it at the distance said)."""
    frame = dg.builtin_environment("pg-start")
    lattice = np.array([[6.0, 0, 0], [0, 6.0, 0], [0, 0, 6.0]])
    mix = np.array([[1, 0, 0], [9, 1, 0], [4, 2, 1]])
    frame.set_cell(mix @ lattice)
    frame.pbc = True
    assert cell_heights(frame.cell[:], np.arange(3)).min() < DEFAULT_MIN_DISTANCE * 2
    path = tmp_path / "skewed.extxyz"
    ase.io.write(path, frame, format="extxyz")
    [read] = dg.read_environments(path)
    np.testing.assert_allclose(read.positions, frame.positions - frame.positions[0], atol=1e-7)

    small = dg.builtin_environment("pg-start")
    small.set_cell(mix @ (lattice / 6.0 * 2.2))
    small.pbc = True
    ase.io.write(path, small, format="extxyz")
    with pytest.raises(DegeneracyError) as caught:
        dg.read_environments(path)
    found = re.search(
        r"atom (\d+): periodic frame, and this atom's image \((-?\d+), (-?\d+), (-?\d+)\) "
        r"cells away is ([\d.]+) Å from the centre",
        str(caught.value),
    )
    assert found, caught.value
    atom, shift = int(found.group(1)), np.array([int(found.group(k)) for k in (2, 3, 4)])
    image = small.positions[atom] + shift @ small.cell[:] - small.positions[0]
    assert np.linalg.norm(image) == pytest.approx(float(found.group(5)), abs=1e-3)


def test_scan_gives_a_skewed_cell_the_rows_of_its_reduced_copy(tmp_path, capsys):
    """End to end: the hunt's skew.extxyz and its reduced copy as structures 0 and 1 of one
    file get the same rows (refused before: "0.396 Å thick")."""
    skewed = _skewed_crystal()
    path = tmp_path / "skew.extxyz"
    ase.io.write(path, [skewed, _reduced_copy(skewed)], format="extxyz")
    output = tmp_path / "skew.csv"
    argv = ["scan", str(path), "--centers", "all", "--output", str(output), "--workers", "1"]
    assert exit_status([*argv, "--no-progress", "--n-max", "4", "--l-max", "4"]) == 0
    capsys.readouterr()
    header, *lines = output.read_text().splitlines()
    rows = {}
    for line in lines:
        structure, atom, *rest = line.split(",")
        rows[(int(structure), int(atom))] = rest
    assert sorted(rows) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    columns = header.replace('"', "").split(",")[2:]
    for atom in (0, 1):
        first, second = rows[(0, atom)], rows[(1, atom)]
        for name, a, b in zip(columns, first, second, strict=True):
            if name in ("s_max", "s_min", "cn"):
                assert float(a) == pytest.approx(float(b), rel=1e-9), name
            else:
                assert a == b, name
    assert int(rows[(0, 0)][1]) > 20  # n_neighbors: the crystal's images


# --------------------------------------------------------------------------------------
# Problem 6: pipes


def _pipe_holding(text: str) -> tuple[str, int]:
    """A pipe (as ``<(cat FILE)`` gives) already holding ``text``, its writer closed: a
    reader sees the text and then the end, and never blocks. Its path and read end."""
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    return f"/dev/fd/{read}", read


_FRAME = (
    "5\n\nC 0 0 0\nH 0.63 0.63 0.63\nH -0.63 -0.63 0.63\nH -0.63 0.63 -0.63\nH 0.63 -0.62 -0.63\n"
)


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_read_environments_refuses_a_pipe_in_one_line():
    """It said "it holds no structures": ase's format detection had read the pipe."""
    path, fd = _pipe_holding(_FRAME)
    try:
        with pytest.raises(DegeneracyError) as caught:
            dg.read_environments(path)
    finally:
        os.close(fd)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: cannot read structures from a pipe")
    assert message.endswith("save it to a file first")


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_the_commands_refuse_a_pipe_in_one_line(tmp_path, capsys):
    path, fd = _pipe_holding(_FRAME)
    try:
        assert exit_status(["spectrum", path]) == 2
        line = one_error_line(capsys, "spectrum")
        assert line.startswith(f"{path}: cannot read structures from a pipe")
        with pytest.raises(DegeneracyError, match=r"cannot read structures from a pipe"):
            list(scanning.Dataset(path).structures())
    finally:
        os.close(fd)


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_a_regular_file_behind_a_descriptor_is_read(tmp_path):
    """``/dev/stdin`` redirected from a file (``< FILE``) is that file: read as before."""
    path = tmp_path / "ch4.xyz"
    path.write_text(_FRAME)
    fd = os.open(path, os.O_RDONLY)
    try:
        [read] = dg.read_environments(f"/dev/fd/{fd}")
    finally:
        os.close(fd)
    assert read.get_chemical_symbols() == ["C", "H", "H", "H", "H"]


def test_a_device_is_refused_rather_than_read_forever():
    """``/dev/zero`` never ends: refused before anything reads it."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(DegeneracyError, match=r"^/dev/zero: cannot read structures from a device"):
        dg.read_environments("/dev/zero")


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_a_scan_refuses_a_pipe_before_it_hashes_it():
    """scan's resume token hashes the file first: it read a pipe to its end (forever for
    ``yes |``) before the refusal; now the data set refuses it when it is named."""
    path, fd = _pipe_holding(_FRAME)
    try:
        with pytest.raises(DegeneracyError, match=r"cannot read structures from a pipe"):
            scanning.Dataset(path)
        again = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            assert os.read(again, 1 << 16) == _FRAME.encode()  # not consumed by the hash
        finally:
            os.close(again)
    finally:
        os.close(fd)


def test_the_scans_distance_check_is_right_in_a_tilted_basis():
    si = ase.build.bulk("Si", "diamond", a=5.43)
    tilted = si.copy()
    cell = si.cell.array.copy()
    cell[0] += 700 * cell[1]  # the same lattice
    tilted.set_cell(cell, scale_atoms=False)
    scanning._check_min_distance(tilted, "x", None)  # 2.35 Å bonds: fine
    squeezed = tilted.copy()
    squeezed.positions[1] = squeezed.positions[0] + [0.1, 0.1, 0.1]
    with pytest.raises(DegeneracyError, match=r"atoms 0 and 1 are 0.1732 Å apart"):
        scanning._check_min_distance(squeezed, "x", None)


@pytest.mark.parametrize(
    ("argv", "contents"),
    [
        (["spectrum", "--builtin", "td", "--basis-file", "{fifo}"], "an optimal basis"),
        (["predict", "--model", "{fifo}", "{frame}"], "a model"),
    ],
)
def test_a_named_pipe_for_a_basis_or_a_model_is_refused_not_waited_on(
    argv, contents, tmp_path, capsys
):
    """``--basis-file FIFO`` and ``predict --model FIFO`` waited forever for a writer
    (np.load and torch.load open the file): refused in one line instead."""
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    frame = tmp_path / "ch4.xyz"
    frame.write_text(_FRAME)
    argv = [a.format(fifo=fifo, frame=frame) for a in argv]
    assert exit_status(argv) == 2
    line = one_error_line(capsys, argv[0])
    assert line == (
        f"{fifo}: cannot read {contents} from a pipe, only from a regular file; save it to a "
        "file first"
    )


def test_scan_results_from_a_named_pipe_are_refused(tmp_path):
    fifo = tmp_path / "results.parquet"
    os.mkfifo(fifo)
    with pytest.raises(DegeneracyError, match=r"cannot read scan results from a pipe"):
        dg.read_results(fifo)


def test_a_large_crystal_is_searched_once_for_all_its_chunks(monkeypatch):
    """A scan cuts a large crystal chunk by chunk; each chunk searched the whole structure
    again (helper-155: quadratic in the structure's size). The pairs are kept: the chunks
    give what one call over every centre gives, with one search; another structure, or the
    same one moved, is searched again."""
    from degeneracy import environments

    crystal = ase.build.bulk("Si", "diamond", cubic=True) * (4, 4, 4)  # 512 atoms
    crystal.rattle(0.02, seed=1)
    assert len(crystal) >= environments.KEEP_PAIRS_FROM_ATOMS
    environments.forget_neighbour_pairs()
    calls = counted_calls(monkeypatch, environments, "neighbor_list")
    whole = environments.environments_of(crystal, range(len(crystal)), cutoff=4.0)
    chunks = [
        env
        for start in range(0, len(crystal), 100)
        for env in environments.environments_of(
            crystal, range(start, min(start + 100, len(crystal))), cutoff=4.0
        )
    ]
    assert len(calls) == 1
    assert len(chunks) == len(whole) == len(crystal)
    for one, other in zip(whole, chunks, strict=True):
        assert np.array_equal(one.numbers, other.numbers)
        assert np.array_equal(one.positions, other.positions)
    # reversed centres: the same environments, in the given order
    backwards = environments.environments_of(crystal, [511, 3, 0], cutoff=4.0)
    assert [env.info["atom"] for env in backwards] == [511, 3, 0]
    assert np.array_equal(backwards[2].positions, whole[0].positions)
    moved = crystal.copy()
    moved.positions[7] += 0.01
    (env,) = environments.environments_of(moved, [7], cutoff=4.0)
    assert len(calls) == 2 and not np.array_equal(env.positions, whole[7].positions)
    environments.environments_of(crystal, [7], cutoff=3.0)  # another cutoff
    assert len(calls) == 3
    # a small structure is not kept
    small = ase.build.bulk("Si", "diamond", cubic=True)
    environments.environments_of(small, [0], cutoff=3.0)
    environments.environments_of(small, [1], cutoff=3.0)
    assert len(calls) == 5
    # kept pairs are read-only, dropped on request (a scan's end) and within a budget
    assert all(
        not array.flags.writeable for pairs in environments._KEPT.values() for array in pairs
    )
    environments.forget_neighbour_pairs()
    environments.environments_of(crystal, [7], cutoff=4.0)
    assert len(calls) == 6
    monkeypatch.setattr(environments._KEPT, "budget", 1000)
    environments.forget_neighbour_pairs()
    environments.environments_of(crystal, [7], cutoff=4.0)
    environments.environments_of(crystal, [8], cutoff=4.0)
    assert len(calls) == 8 and len(environments._KEPT) == 0


def test_neighbours_of_a_large_crystal_agree_with_ase_for_every_centre():
    """The sorted, kept pairs split by centre are ase's neighbours of each centre."""
    from degeneracy import environments

    crystal = ase.build.bulk("Si", "diamond", cubic=True) * (4, 4, 4)
    crystal.rattle(0.05, seed=2)
    found = environments.environments_of(crystal, range(len(crystal)), cutoff=3.5)
    i, d = neighbor_list("id", crystal, 3.5, self_interaction=False)
    counts = np.bincount(i, minlength=len(crystal))
    for center, env in enumerate(found):
        assert len(env) - 1 == counts[center]
        assert np.allclose(
            np.sort(np.linalg.norm(env.positions[1:], axis=1)), np.sort(d[i == center])
        )


@pytest.mark.parametrize("n_atoms", [20, 600])
def test_a_cluster_s_neighbours_are_every_atom_inside_the_cutoff(n_atoms):
    """A large cluster's neighbours come from a k-d tree (each centre tested every atom);
    small and large, they are the atoms strictly inside the cutoff, in index order,
    including an atom exactly at the cutoff left out."""
    from degeneracy import environments

    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 4 * (n_atoms / 20) ** (1 / 3), size=(n_atoms, 3))
    positions[1] = positions[0] + [2.5, 0.0, 0.0]  # exactly at the cutoff of atom 0
    cluster = ase.Atoms(f"Si{n_atoms}", positions=positions)
    assert (n_atoms >= environments.TREE_FROM_ATOMS) == (n_atoms == 600)
    found = environments.environments_of(cluster, range(n_atoms), cutoff=2.5)
    for center, env in enumerate(found):
        vectors = positions - positions[center]
        inside = np.flatnonzero(
            (np.linalg.norm(vectors, axis=1) < 2.5) & (np.arange(n_atoms) != center)
        )
        assert np.array_equal(env.positions[1:], vectors[inside])
    assert not np.any(np.isclose(np.linalg.norm(found[0].positions, axis=1), 2.5))
