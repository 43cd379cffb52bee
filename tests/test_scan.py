"""Data-set scans: environments, spectra, chunks, Dask runs, resume, CLI and its errors.

CI tests use small sets (a few hundred environments) and SOAP with n_max = l_max = 4; the
local clusters run in threads except for the end-to-end kill-and-resume run of the CLI.
The 100 000-environment run is ``test_scan_100k_methane_kill_and_resume`` (slow).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import ase
import ase.io
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list
from conftest import CTRL_C_RAISES, package_warnings

import degeneracy as dg
from degeneracy import scan as scanning
from degeneracy import sensitivity
from degeneracy.cli import main
from degeneracy.cli.scan import (
    COMPANION_SUFFIXES,
    SINGULAR_INFO_KEYS,
    format_summary,
    format_top,
    singular_info,
)
from degeneracy.environments import environments_of, parse_species, structure_environments
from degeneracy.figures.scan import cn_histogram, write_chemiscope

CLI = [sys.executable, "-m", "degeneracy"]
SMALL = ["--n-max", "4", "--l-max", "4"]


@pytest.fixture(scope="module")
def soap():
    return dg.SoapPowerSpectrum(n_max=4, l_max=4)


@pytest.fixture(scope="module")
def methane_file(tmp_path_factory):
    """120 random CH4 structures, shifted away from the origin, as extended XYZ."""
    frames = dg.sample_methane(120, seed=7)
    for k, atoms in enumerate(frames):
        atoms.positions += [0.1 * k, -0.2, 1.0]
    path = tmp_path_factory.mktemp("scan") / "methane.xyz"
    ase.io.write(path, frames, format="extxyz")
    return path


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory):
    """CH4 structures plus ones whose spectrum is undefined (lone C, CH, linear CH2)."""
    frames = dg.sample_methane(30, seed=8)
    frames.insert(3, ase.Atoms("C", positions=[[1.0, 2.0, 3.0]]))
    frames.insert(5, ase.Atoms("CH", positions=[[0, 0, 0], [1.1, 0, 0]]))
    frames.insert(7, ase.Atoms("CH2", positions=[[0, 0, 0], [0, 0, 1.1], [0, 0, -1.0]]))
    path = tmp_path_factory.mktemp("scan") / "mixed.xyz"
    ase.io.write(path, frames, format="extxyz")
    return path


def _file_frames(path):
    return ase.io.read(path, ":")


# ---------------------------------------------------------------- environments


def test_parse_species():
    assert parse_species("C,H") == (1, 6)
    assert parse_species("H C H") == (1, 6)
    assert parse_species(["O", 1]) == (1, 8)
    for bad in ("Xx", "", "C,Qq", "X"):
        with pytest.raises(dg.DegeneracyError):
            parse_species(bad)


def test_isolated_environments_are_centred_and_complete(methane_file):
    atoms = _file_frames(methane_file)[5]
    (carbon,) = structure_environments(atoms, cutoff=2.5, centers=[6])
    np.testing.assert_allclose(carbon.positions, atoms.positions - atoms.positions[0], atol=1e-12)
    assert carbon.get_chemical_symbols() == ["C", "H", "H", "H", "H"]
    assert carbon.info["atom"] == 0
    everything = structure_environments(atoms, cutoff=2.5)
    assert [e.info["atom"] for e in everything] == [0, 1, 2, 3, 4]
    for environment in everything[1:]:
        center = environment.info["atom"]
        distances = np.linalg.norm(atoms.positions - atoms.positions[center], axis=1)
        expected = sorted(np.flatnonzero((distances < 2.5) & (distances > 0)))
        assert len(environment) - 1 == len(expected)
        # neighbours ordered by species: H (Z=1) before C (Z=6)
        assert list(environment.numbers[1:]) == sorted(environment.numbers[1:])
        assert np.all(np.linalg.norm(environment.positions[1:], axis=1) < 2.5)
    hydrogen_only = environments_of(atoms, [1], cutoff=2.5, neighbor_species=[1])[0]
    assert 6 not in hydrogen_only.numbers[1:]
    # species by symbol select the same atoms as by atomic number (they selected none)
    by_symbol = environments_of(atoms, [0], cutoff=2.5, neighbor_species=["H"])[0]
    assert by_symbol.get_chemical_symbols() == ["C", "H", "H", "H", "H"]
    assert len(structure_environments(atoms, cutoff=2.5, centers=["C"])) == 1
    with pytest.raises(dg.DegeneracyError, match=r"integers, got \[0\.9\]"):
        environments_of(atoms, [0.9], cutoff=2.5)
    with pytest.raises(dg.DegeneracyError, match=r"centre index 7 out of range .* 5 atoms"):
        environments_of(atoms, [1, 7], cutoff=2.5)
    with pytest.raises(dg.DegeneracyError, match="unknown element 'Hx'"):
        environments_of(atoms, [0], cutoff=2.5, neighbor_species=["Hx"])


def test_periodic_environments_match_ase_neighbor_list():
    silicon = bulk("Si", "diamond", a=5.43, cubic=True)
    environments = structure_environments(silicon, cutoff=2.5)
    assert [len(e) - 1 for e in environments] == [4] * 8
    bond = 5.43 * np.sqrt(3) / 4
    for environment in environments:
        np.testing.assert_allclose(np.linalg.norm(environment.positions[1:], axis=1), bond)
    # a cell smaller than the cutoff: the 12 fcc neighbours are images of atom 0 itself
    copper = bulk("Cu", "fcc", a=3.6)
    (environment,) = structure_environments(copper, cutoff=3.0)
    i, distances = neighbor_list("id", copper, 3.0)
    assert len(environment) - 1 == int((i == 0).sum()) == 12
    np.testing.assert_allclose(
        np.sort(np.linalg.norm(environment.positions[1:], axis=1)), np.sort(distances[i == 0])
    )


# ---------------------------------------------------------------- spectra


def test_environment_spectra_match_library_spectrum(soap, methane_file):
    frames = _file_frames(methane_file)[:40]
    environments = [structure_environments(a, cutoff=2.5, centers=[6])[0] for a in frames]
    spectra = dg.environment_spectra(environments, soap, batch_size=16)
    _, jacobian = soap.jacobian(environments)
    reference = dg.singular_spectrum(jacobian, dg.neighbor_positions(environments))
    np.testing.assert_allclose(spectra.s_max, reference.values[:, 0], rtol=1e-12)
    np.testing.assert_allclose(spectra.s_min, reference.values[:, -1], rtol=1e-9)
    np.testing.assert_allclose(spectra.cn, reference.cn, rtol=1e-9)
    assert spectra.reason == [""] * len(frames)


def test_fewer_features_than_motions_give_exact_zeros():
    # OM with s orbitals: 5 eigenvalues for the 9 internal motions of CH4, so at least
    # four motions are invisible; a plain SVD would report the 5th value as s_min.
    om = dg.OverlapMatrix(orbitals="s")
    environments = dg.sample_methane(6, seed=3)
    spectra = dg.environment_spectra(environments, om)
    _, jacobian = om.jacobian(environments)
    reference = dg.singular_spectrum(jacobian, dg.neighbor_positions(environments))
    assert reference.values.shape == (6, 9) and np.all(reference.values[:, 4] > 0)
    np.testing.assert_array_equal(spectra.s_min, 0.0)
    assert np.all(np.isinf(spectra.cn)) and spectra.reason == [""] * 6
    np.testing.assert_allclose(spectra.s_max, reference.values[:, 0], rtol=1e-12)


def test_undefined_environments_get_nan_and_a_reason(soap):
    good = dg.builtin_environment("pg-start")
    environments = [
        ase.Atoms("C"),
        ase.Atoms("CH", positions=[[0, 0, 0], [1.0, 0, 0]]),
        good,
        ase.Atoms("CH2", positions=[[0, 0, 0], [1.0, 0, 0], [-1.2, 0, 0]]),
    ]
    spectra = dg.environment_spectra(environments, soap)
    assert spectra.reason == [
        scanning.REASON_FEW_NEIGHBORS,
        scanning.REASON_FEW_NEIGHBORS,
        "",
        scanning.REASON_COLLINEAR,
    ]
    assert np.isnan(spectra.cn[[0, 1, 3]]).all()
    (alone,) = dg.environment_spectra([good], soap).cn
    assert spectra.cn[2] == pytest.approx(alone, rel=1e-12)
    assert list(spectra.n_neighbors) == [0, 1, 4, 2]


def _blind_argon():
    """Three Ar atoms 5.8 Å apart: ACSF 'tight' at a 6 Å cutoff has no function that
    reaches them, so its Jacobian at the first (the only one with two neighbours) is 0."""
    atoms = ase.Atoms("Ar3", positions=[[0, 0, 0], [5.8, 0, 0], [-2.9, 5.02, 0]])
    return atoms, dg.Acsf(parameter_set="tight", cutoff=6.0)


def test_an_environment_the_fingerprint_is_blind_to_gets_a_reason(tmp_path):
    """s_max = s_min = 0 gives cn = 0/0 = NaN: it had no reason, so the summary's undefined
    count (by reason) and the histogram's (by NaN) differed."""
    atoms, acsf = _blind_argon()
    environments = environments_of(atoms, [0, 1, 2], cutoff=6.0)
    spectra = dg.environment_spectra(environments, acsf)
    assert spectra.notes  # the ACSF set says it is blind here, too
    assert spectra.reason[0] == scanning.REASON_BLIND == "blind: every singular value is 0"
    assert spectra.s_max[0] == spectra.s_min[0] == 0 and np.isnan(spectra.cn[0])
    assert all(
        reason for reason, cn in zip(spectra.reason, spectra.cn, strict=True) if np.isnan(cn)
    )
    output = tmp_path / "ar.parquet"
    with pytest.warns(dg.DegeneracyWarning):
        summary = dg.scan_dataset([atoms], acsf, output=output, centers="Ar", **_threads(workers=1))
    table = dg.read_results(output)
    assert summary.n_undefined == int(np.isnan(np.asarray(table.column("cn"))).sum()) == 3
    assert table.column("reason").to_pylist()[0] == scanning.REASON_BLIND


def test_representation_follows_each_environment_species(soap):
    """An H-centred CH4 environment has a C neighbour: a fingerprint that ignored it would
    get a zero column in its Jacobian, i.e. a spurious zero singular value."""
    atoms = dg.sample_methane(1, seed=3)[0]
    (hydrogen,) = environments_of(atoms, [1], cutoff=2.5)
    assert 6 in hydrogen.numbers
    spectra = dg.environment_spectra([hydrogen], soap)
    direct = dg.SoapPowerSpectrum(n_max=4, l_max=4, center="H", neighbors=("C", "H"))
    _, jacobian = direct.jacobian([hydrogen])
    expected = dg.singular_spectrum(jacobian, dg.neighbor_positions([hydrogen])).values[0]
    assert spectra.s_min[0] == pytest.approx(expected[-1], rel=1e-9)
    # built for H neighbours only, SOAP has no channel for the C: refused, not blind
    blind = dg.SoapPowerSpectrum(n_max=4, l_max=4, center="H", neighbors=("H",))
    with pytest.raises(dg.DegeneracyError, match="atom 4: no channel for neighbour species C"):
        blind.jacobian([hydrogen])


def test_recipe_rebuilds_the_representation(soap):
    import pickle

    recipe = dg.RepresentationRecipe.of(soap)
    assert recipe.build(6, (1,)).hypers() == soap.hypers()
    assert recipe.build(1, (1, 6)).hypers()["neighbors"] == ["H", "C"]
    copy = pickle.loads(pickle.dumps(recipe))
    assert copy.token == recipe.token
    assert dg.RepresentationRecipe.of(dg.SoapPowerSpectrum(n_max=5, l_max=4)).token != recipe.token


# ---------------------------------------------------------------- chunks


def test_chunks_split_structures_and_are_deterministic(methane_file):
    frames = _file_frames(methane_file)[:9]
    structures = list(enumerate(frames))
    blocks = list(scanning.plan_chunks(structures, centers=None, chunk_size=7))
    assert [b.n_environments for b in blocks] == [7] * 6 + [3]
    pairs = [
        (int(s), int(a))
        for b in blocks
        for row, s in enumerate(b.structures)
        for a in b.centers[b.center_offsets[row] : b.center_offsets[row + 1]]
    ]
    assert pairs == [(s, a) for s in range(9) for a in range(5)]
    again = list(scanning.plan_chunks(structures, centers=None, chunk_size=7))
    assert all(np.array_equal(x.centers, y.centers) for x, y in zip(blocks, again, strict=True))
    # a chunk rebuilds the same environments as the structures give directly
    environments = blocks[1].environments(cutoff=2.5)
    direct = structure_environments(frames[1], cutoff=2.5)[2:]
    for got, expected in zip(environments[:3], direct, strict=True):
        np.testing.assert_allclose(got.positions, expected.positions)
        assert got.info["structure"] == 1


# ---------------------------------------------------------------- scans on Dask


def _threads(**kwargs):
    return {"processes": False, "workers": 2, **kwargs}


def test_scan_matches_direct_computation_in_parquet_and_csv(soap, mixed_file, tmp_path):
    parquet = tmp_path / "r.parquet"
    summary = dg.scan_dataset(
        mixed_file, soap, output=parquet, centers="C", chunk_size=8, **_threads()
    )
    assert summary.n_structures == 33
    assert summary.n_environments == 33
    assert summary.n_undefined == 3
    assert summary.n_chunks == 5
    assert not (tmp_path / "r.parquet.parts").exists()
    table = dg.read_results(parquet)
    assert table.schema == scanning.RESULT_SCHEMA
    frames = _file_frames(mixed_file)
    environments = [structure_environments(a, cutoff=2.5, centers=[6])[0] for a in frames]
    direct = dg.environment_spectra(environments, soap)
    np.testing.assert_allclose(np.asarray(table.column("cn")), direct.cn, rtol=1e-12)
    assert table.column("reason").to_pylist() == direct.reason
    assert table.column("reason").to_pylist()[3] == scanning.REASON_FEW_NEIGHBORS
    assert table.column("reason").to_pylist()[7] == scanning.REASON_COLLINEAR
    assert table.column("structure").to_pylist() == list(range(33))

    csv = tmp_path / "r.csv"
    dg.scan_dataset(mixed_file, soap, output=csv, centers="C", chunk_size=8, **_threads())
    from_csv = dg.read_results(csv)
    assert from_csv.column("reason").to_pylist() == direct.reason
    np.testing.assert_array_equal(
        np.asarray(from_csv.column("s_min")), np.asarray(table.column("s_min"))
    )
    # the undefined rows are NaN in both files, not null in the CSV
    for name in ("s_max", "s_min", "cn"):
        assert from_csv.column(name).null_count == table.column(name).null_count == 0
    np.testing.assert_array_equal(np.asarray(from_csv.column("cn")), direct.cn)


def test_reading_results_refuses_other_files_and_needs_no_write_access(tmp_path, monkeypatch):
    """A Parquet file with other columns used to read as rows of nulls, a damaged one
    raised pyarrow's error, and reading went through the output checks (a read-only
    folder would have been refused)."""
    good = tmp_path / "good.parquet"
    pq.write_table(scanning.RESULT_SCHEMA.empty_table(), good)

    def refuse(path, what):
        raise dg.DegeneracyError(f"{path}: not writable")

    monkeypatch.setattr(scanning, "output_file", refuse)
    assert dg.read_results(good).schema == scanning.RESULT_SCHEMA
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(dg.DegeneracyError, match=r"other\.parquet: not scan results \(no column"):
        dg.read_results(other)
    junk = tmp_path / "junk.parquet"
    junk.write_text("junk")
    with pytest.raises(dg.DegeneracyError, match=r"junk\.parquet: cannot read it as scan"):
        dg.read_results(junk)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(dg.DegeneracyError, match=r"wrong\.csv: not scan results \(no column"):
        dg.read_results(wrong)


def test_scan_of_all_centres_and_a_missing_species(soap, methane_file, tmp_path):
    output = tmp_path / "all.parquet"
    summary = dg.scan_dataset(
        methane_file, soap, output=output, centers="all", chunk_size=64, **_threads()
    )
    table = dg.read_results(output)
    assert summary.n_environments == 5 * 120 == table.num_rows
    assert sorted(set(table.column("species").to_pylist())) == ["C", "H"]
    cn = np.asarray(table.column("cn"))
    assert np.isfinite(cn).all() and (cn >= 1).all()
    with pytest.raises(dg.DegeneracyError, match="no centre of species N"):
        dg.scan_dataset(
            methane_file, soap, output=tmp_path / "n.parquet", centers="N", **_threads()
        )
    assert not (tmp_path / "n.parquet.parts").exists()


def test_a_neighbour_species_the_data_set_lacks_is_reported(soap, methane_file, tmp_path):
    """--neighbors O on CH4 scanned only undefined environments without a word."""
    with pytest.warns(dg.DegeneracyWarning, match=r"no atom of neighbour species O in the data"):
        summary = dg.scan_dataset(
            methane_file, soap, output=tmp_path / "o.parquet", neighbors="H,O", **_threads()
        )
    assert summary.warnings == [
        f"{methane_file}: no atom of neighbour species O in the data set (it has H, C)"
    ]
    assert summary.n_undefined == 0  # the H neighbours are there


def test_a_cutoff_below_the_first_shell_is_reported(soap, tmp_path):
    """helper-59: fcc Cu (nearest neighbours 2.55 Å) at the default 2.5 Å cutoff scanned
    only undefined environments and fragments, with no warning and exit status 0."""
    import ase.build

    copper = ase.build.bulk("Cu", cubic=True).repeat((2, 2, 2))
    copper.rattle(0.02, seed=1)
    with pytest.warns(dg.DegeneracyWarning, match=r"32 of 32 environments \(100 %\) have fewer"):
        summary = dg.scan_dataset(
            [copper], soap, output=tmp_path / "cu.parquet", centers="Cu", **_threads()
        )
    assert summary.n_undefined == 32 and "within the cutoff 2.5 Å" in summary.warnings[0]
    summary = dg.scan_dataset(
        [copper],
        dg.SoapPowerSpectrum(n_max=4, l_max=4, cutoff=3.0),
        output=tmp_path / "cu3.parquet",
        centers="Cu",
        **_threads(),
    )
    assert summary.n_undefined == 0 and summary.warnings == []


def test_a_crystal_file_in_bohr_is_named(tmp_path):
    """Whole structures had no unit check: rattled Si in bohr, read as Å with a cutoff
    that holds its (stretched) first shell, was scanned without a word. The bonds of the
    first structures are surveyed, periodic images included, as the scan starts."""
    import ase.build

    silicon = ase.build.bulk("Si", cubic=True).repeat((2, 1, 1))
    silicon.rattle(0.02, seed=3)
    in_bohr = silicon.copy()
    in_bohr.positions /= ase.units.Bohr
    in_bohr.cell /= ase.units.Bohr
    path = tmp_path / "si-bohr.extxyz"
    ase.io.write(path, [in_bohr] * 3, format="extxyz")
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=3, cutoff=5.0)
    said = (
        rf"{path}: median Si–Si distance 4.\d+ Å with units angstrom, 2× the sum of the two "
        r"atoms' covalent radii \(bonded atoms: about 1×\); unless the nearest neighbours are "
        r"not bonded \(a noble gas, water's O–O\), is the file in bohr\? "
        r'\(units="bohr"\)$'
    )
    with pytest.warns(dg.DegeneracyWarning, match=said):
        summary = dg.scan_dataset(
            path, soap, output=tmp_path / "a.parquet", centers="Si", **_threads()
        )
    assert summary.n_undefined == 0  # the scan itself has nothing to say
    assert [w for w in summary.warnings if "bohr" in w] == summary.warnings[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)
        right = dg.scan_dataset(
            scanning.Dataset(path, units="bohr"),
            dg.SoapPowerSpectrum(n_max=3, l_max=3, cutoff=3.0),
            output=tmp_path / "b.parquet",
            centers="Si",
            **_threads(),
        )
    assert right.warnings == [] and right.n_undefined == 0


def _scan_interrupted_after(monkeypatch, n_chunks: int, *args, **kwargs) -> list[int]:
    """``dg.scan_dataset(*args, **kwargs)`` interrupted (Ctrl-C) once ``n_chunks`` chunks
    are written; the written chunks' indices."""
    original = scanning.ChunkStore.write_chunk
    written: list[int] = []

    def interrupting(self, chunk, table):
        if len(written) == n_chunks:
            raise KeyboardInterrupt
        original(self, chunk, table)
        written.append(chunk)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(*args, **kwargs)
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    return written


def test_interrupted_scan_resumes_to_the_same_file(soap, methane_file, tmp_path, monkeypatch):
    reference = tmp_path / "reference.parquet"
    dg.scan_dataset(methane_file, soap, output=reference, chunk_size=10, **_threads())

    output = tmp_path / "resumed.parquet"
    written = _scan_interrupted_after(
        monkeypatch, 3, methane_file, soap, output=output, chunk_size=10, **_threads()
    )
    parts = tmp_path / "resumed.parquet.parts"
    assert not output.exists()
    assert len(list(parts.glob("chunk-*.parquet"))) == 3
    assert (parts / "manifest.json").exists()

    # one finished chunk copied over another (a mis-copied parts folder): readable, but
    # merged it gave some structures twice and others never
    first, second = (parts / f"chunk-{k:07d}.parquet" for k in written[:2])
    second.write_bytes(first.read_bytes())
    with pytest.warns(dg.DegeneracyWarning, match=r"holds other rows than chunk \d+ of this"):
        summary = dg.scan_dataset(methane_file, soap, output=output, chunk_size=10, **_threads())
    assert summary.n_resumed_chunks == 2
    assert summary.n_computed == 120 - 20
    assert not parts.exists()
    assert pq.read_table(output).equals(pq.read_table(reference))
    assert output.read_bytes() == reference.read_bytes()


def test_partial_results_of_other_settings_are_refused(soap, methane_file, tmp_path, monkeypatch):
    output = tmp_path / "r.parquet"

    def interrupting(self, chunk, table):
        raise KeyboardInterrupt

    original = scanning.ChunkStore.write_chunk
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(methane_file, soap, output=output, chunk_size=40, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    # nothing finished: no stale folder is left behind
    assert not (tmp_path / "r.parquet.parts").exists()

    store = scanning.ChunkStore(output)
    store.open({"something": "else"})
    store.write_chunk(0, scanning.RESULT_SCHEMA.empty_table())
    other = dg.SoapPowerSpectrum(n_max=4, l_max=4, sigma=0.5)
    with pytest.raises(dg.DegeneracyError, match="restart=True"):
        dg.scan_dataset(methane_file, other, output=output, chunk_size=40, **_threads())
    summary = dg.scan_dataset(
        methane_file, other, output=output, chunk_size=40, restart=True, **_threads()
    )
    assert summary.n_resumed_chunks == 0 and summary.n_environments == 120


def _store_with_chunks(tmp_path, n_chunks, manifest=None):
    """A ChunkStore for r.parquet in ``tmp_path`` holding ``n_chunks`` small chunks."""
    store = scanning.ChunkStore(tmp_path / "r.parquet")
    store.open(manifest or {"scan": "a"})
    for chunk in range(n_chunks):
        store.write_chunk(chunk, _chunk_table(chunk))
    return store


def _chunk_table(chunk):
    """A one-row table with RESULT_SCHEMA, structure ``chunk``."""
    row = {"structure": [chunk], "atom": [0], "species": ["C"], "n_neighbors": [4]}
    values = {"s_max": [2.0], "s_min": [1.0], "cn": [2.0], "verdict": ["regular"], "reason": [""]}
    return pa.table({**row, **values}, schema=scanning.RESULT_SCHEMA)


class _Listing(list):
    """A folder listing that, like os.scandir's iterator, is also a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def close(self):
        pass


_SCANDIR = os.scandir


def _manifest_listed_first(path="."):
    """os.scandir listing manifest.json first (the file system decides the order)."""
    with _SCANDIR(path) as entries:
        return _Listing(sorted(entries, key=lambda entry: entry.name != "manifest.json"))


@pytest.mark.parametrize("interrupted", range(5))  # each unlink of the merge
def test_merge_removes_the_manifest_after_the_chunks(tmp_path, monkeypatch, interrupted):
    """Ctrl-C while the merged folder is deleted leaves chunk files only with their
    manifest: shutil.rmtree could delete the manifest first, and chunks without one were
    then adopted by a scan with other settings."""
    store = _store_with_chunks(tmp_path, 3)
    monkeypatch.setattr(os, "scandir", _manifest_listed_first)
    original = os.unlink
    calls = []

    def interrupting(path, *args, **kwargs):
        if len(calls) == interrupted:
            raise KeyboardInterrupt
        calls.append(Path(path).name)
        original(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", interrupting)
    with pytest.raises(KeyboardInterrupt):
        store.merge(3)
    monkeypatch.setattr(os, "unlink", original)
    assert store.output.exists()
    left = {path.name for path in store.folder.iterdir()}
    assert "manifest.json" in left or not any(name.startswith("chunk-") for name in left)
    assert "manifest.json" not in calls[:-1]


def test_chunk_files_without_a_manifest_are_deleted(tmp_path):
    """They belong to no known settings: a scan must not resume from them."""
    store = _store_with_chunks(tmp_path, 2)
    (store.folder / "manifest.json").unlink()
    with pytest.warns(dg.DegeneracyWarning) as caught:
        done = store.open({"scan": "b"})
    (message,) = package_warnings(caught)
    assert message.startswith(f"{store.folder}: no manifest.json to say which scan its 2 chunk")
    assert "computed again" in message and "\n" not in message
    assert done == set() and not list(store.folder.glob("chunk-*"))
    assert json.loads((store.folder / "manifest.json").read_text()) == {"scan": "b"}


def test_damaged_chunk_files_are_computed_again(soap, methane_file, tmp_path, monkeypatch):
    """A 0-byte chunk file (a crash mid-write of the disk) made the resume crash with a
    pyarrow traceback; it is deleted with a warning naming it and computed again."""
    reference = tmp_path / "reference.parquet"
    dg.scan_dataset(methane_file, soap, output=reference, chunk_size=30, **_threads())
    output = tmp_path / "resumed.parquet"
    original = scanning.ChunkStore.write_chunk

    def interrupting(self, chunk, table):
        if len(list(self.folder.glob("chunk-*.parquet"))) == 3:
            raise KeyboardInterrupt
        original(self, chunk, table)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(methane_file, soap, output=output, chunk_size=30, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    store = scanning.ChunkStore(output)
    damaged = sorted(store.folder.glob("chunk-*.parquet"))[1]
    damaged.write_bytes(b"")
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(methane_file, soap, output=output, chunk_size=30, **_threads())
    (message,) = package_warnings(caught)
    assert message.startswith(f"{damaged}: damaged chunk file (unreadable: ")
    assert message.endswith("; deleted, it is computed again")
    assert summary.n_resumed_chunks == 2 and summary.n_computed == 120 - 60
    assert output.read_bytes() == reference.read_bytes()


def test_chunk_file_errors_are_one_line_errors(tmp_path, monkeypatch):
    """Arrow errors on a chunk file damaged after the resume checks name the file."""
    store = _store_with_chunks(tmp_path, 2)
    path = store.chunk_path(1)
    path.write_bytes(b"PAR1 not really parquet PAR1")
    with pytest.raises(dg.DegeneracyError, match=re.escape(f"{path}: cannot read this chunk")):
        store.read_chunk(1)
    with pytest.raises(dg.DegeneracyError) as error:
        store.merge(2)
    message = str(error.value)
    assert message.startswith(f"{path}: cannot read this chunk file (") and "\n" not in message
    assert message.endswith("); delete it to have it computed again")
    assert not store.output.exists() and store.chunk_path(0).exists()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(dg.DegeneracyError) as error:
        store.write_chunk(2, _chunk_table(2))
    expected = f"{store.chunk_path(2)}: cannot write this chunk file ([Errno 28] No space left"
    assert str(error.value).startswith(expected)
    assert not store.chunk_path(2).exists() and not list(store.folder.glob(".*.part"))


def test_chunk_files_and_their_folder_are_flushed_to_the_disk(tmp_path, monkeypatch):
    synced = []
    original = os.fsync

    def recording(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc") else fd)
        original(fd)

    store = _store_with_chunks(tmp_path, 0)
    monkeypatch.setattr(os, "fsync", recording)
    store.write_chunk(0, _chunk_table(0))
    assert len(synced) == 2  # the file before its rename, the folder after
    if isinstance(synced[0], str):
        assert Path(synced[0]).name.startswith(".chunk-0000000.parquet.")
        assert Path(synced[1]) == store.folder.resolve()  # the new name is durable too


def test_a_folder_that_cannot_be_fsynced_does_not_stop_the_scan(tmp_path, monkeypatch):
    """Some file systems refuse to fsync a folder (EINVAL): the chunk is in place anyway."""
    original = os.fsync

    def no_folders(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(22, "Invalid argument")
        original(fd)

    store = _store_with_chunks(tmp_path, 0)
    monkeypatch.setattr(os, "fsync", no_folders)
    store.write_chunk(0, _chunk_table(0))
    assert store.read_chunk(0).num_rows == _chunk_table(0).num_rows


def test_scan_with_in_memory_structures_and_bohr(soap, methane_file, tmp_path):
    frames = _file_frames(methane_file)[:20]
    in_bohr = []
    for atoms in frames:
        copy = atoms.copy()
        copy.positions /= ase.units.Bohr
        in_bohr.append(copy)
    output = tmp_path / "bohr.parquet"
    dataset = scanning.Dataset(in_bohr, units="bohr")
    dg.scan_dataset(dataset, soap, output=output, **_threads(workers=1))
    angstrom = tmp_path / "angstrom.parquet"
    dg.scan_dataset(frames, soap, output=angstrom, **_threads(workers=1))
    np.testing.assert_allclose(
        np.asarray(dg.read_results(output).column("cn")),
        np.asarray(dg.read_results(angstrom).column("cn")),
        rtol=1e-9,
    )
    # the keyword, as --units (a Dataset was the only way, and it is not exported)
    keyword = tmp_path / "keyword.parquet"
    dg.scan_dataset(in_bohr, soap, output=keyword, units="bohr", **_threads(workers=1))
    assert dg.read_results(keyword).column("cn").equals(dg.read_results(output).column("cn"))
    with pytest.raises(dg.DegeneracyError, match="a Dataset has its own"):
        dg.scan_dataset(dataset, soap, output=keyword, units="bohr", **_threads(workers=1))
    # the caller's structures are not modified
    assert np.abs(in_bohr[0].positions).max() > 1.5 * np.abs(frames[0].positions).max()
    # one ase.Atoms is a data set of one structure; anything else is named
    single = tmp_path / "single.csv"
    dg.scan_dataset(frames[0], soap, output=single, **_threads(workers=1))
    np.testing.assert_allclose(
        np.asarray(dg.read_results(single).column("cn")),
        np.asarray(dg.read_results(angstrom).column("cn"))[:1],
        rtol=1e-9,
    )
    with pytest.raises(dg.DegeneracyError, match="data set: frames must be a list of ase"):
        scanning.Dataset(5)
    with pytest.raises(dg.DegeneracyError, match="data set: frame 1 is a str"):
        scanning.Dataset([frames[0], "x"])


# ---------------------------------------------------------------- data-set checks


def _read_all(path):
    return list(scanning.Dataset(path).structures())


def test_periodic_axis_without_a_proper_cell_is_refused(tmp_path):
    """pbc="T T T" without a Lattice was a 1 Å crystal with phantom neighbours; a NaN cell
    failed deep in the neighbour list, on a worker."""
    frames = dg.sample_methane(3, seed=1)
    no_cell = frames[1].copy()
    no_cell.pbc = True
    path = tmp_path / "nocell.xyz"
    ase.io.write(path, [frames[0], no_cell, frames[2]], format="extxyz")
    with pytest.raises(
        dg.DegeneracyError,
        match=r"nocell\.xyz, structure 1: periodic along axis 0, but cell vector 0 is zero",
    ):
        _read_all(path)
    nan_cell = frames[1].copy()
    nan_cell.cell = [[3, 0, 0], [0, np.nan, 0], [0, 0, 3]]
    nan_cell.pbc = [True, True, False]
    with pytest.raises(dg.DegeneracyError, match=r"structure 1: non-finite cell vector 1 "):
        list(scanning.Dataset([frames[0], nan_cell]).structures())
    flat = frames[1].copy()
    flat.cell = [[3, 0, 0], [3, 0, 0], [0, 0, 3]]  # two equal vectors: no volume
    flat.pbc = True
    with pytest.raises(
        dg.DegeneracyError,
        match=r"structure 0: periodic along cell vector 0.*"
        r"coplanar: zero volume",
    ):
        list(scanning.Dataset([flat]).structures())
    # a slab (no cell vector along its non-periodic axis) is fine
    slab = ase.Atoms("CH", positions=[[0, 0, 0], [0.3, 0.2, 1.1]], cell=[2.2, 2.3, 0])
    slab.pbc = [True, True, False]
    assert len(list(scanning.Dataset([slab]).structures())) == 1


def test_cli_refuses_a_periodic_structure_without_a_cell(capsys, tmp_path):
    frames = dg.sample_methane(2, seed=1)
    frames[1].pbc = True
    path = tmp_path / "nocell.xyz"
    ase.io.write(path, frames, format="extxyz")
    assert 'pbc="T T T"' in path.read_text() and "Lattice" not in path.read_text()
    output = tmp_path / "r.parquet"
    line = _one_line_error(capsys, ["scan", str(path), "--output", str(output), *SMALL])
    assert "nocell.xyz, structure 1: periodic along axis 0, but cell vector 0 is zero" in line
    assert not output.exists() and not (tmp_path / "r.parquet.parts").exists()


def test_dummy_atoms_are_refused():
    """ase's X (Z = 0: ghost atoms, Wannier centres) was scanned as a species."""
    frames = dg.sample_methane(2, seed=1)
    frames[1] += ase.Atoms("X", positions=[[3.0, 0.0, 0.0]])
    with pytest.raises(
        dg.DegeneracyError, match=r"structure 1, atom 5: a dummy atom X \(atomic number 0\)"
    ):
        list(scanning.Dataset(frames).structures())


def test_an_error_mid_scan_says_which_chunks_are_kept(soap, tmp_path):
    """Chunks finished before a bad structure stay on disk; the error says so, and that
    only the same input resumes from them (the manifest holds the data set's digest)."""
    frames = dg.sample_methane(30, seed=3)
    frames[25] += ase.Atoms("H", positions=[frames[25].positions[1] + [0.1, 0, 0]])
    output = tmp_path / "r.parquet"
    with pytest.raises(dg.DegeneracyError) as caught:
        dg.scan_dataset(frames, soap, output=output, chunk_size=1, **_threads())
    message = str(caught.value)
    kept = len(list((tmp_path / "r.parquet.parts").glob("chunk-*.parquet")))
    assert kept >= 10
    assert re.fullmatch(
        rf"30 structures, structure 25: atoms 1 and 5 are 0\.1 Å apart, closer than the "
        rf"minimum distance 0\.5 Å \({kept} finished chunks kept in .*r\.parquet\.parts: "
        r"the same scan of the same input resumes from them; a changed input needs "
        r"restart=True\)",
        message,
    ), message
    assert not output.exists()


def test_atoms_too_close_are_refused():
    frames = dg.sample_methane(2, seed=1)
    duplicate = frames[1] + ase.Atoms("H", positions=[frames[1].positions[2]])
    with pytest.raises(
        dg.DegeneracyError,
        match=r"^2 structures, structure 1: atoms 2 and 5 "
        r"are 0 Å apart, closer than the minimum distance 0\.5 Å$",
    ):
        list(scanning.Dataset([frames[0], duplicate]).structures())
    # periodic images count: 2.8 Å and 0.1 Å are 0.3 Å apart in a 3 Å cell
    periodic = ase.Atoms("CH", positions=[[0.1, 1, 1], [2.8, 1, 1]], cell=[3, 3, 3], pbc=True)
    with pytest.raises(
        dg.DegeneracyError,
        match=r"structure 0: atoms 0 and 1 are 0\.3 Å apart "
        r"\(across the periodic boundary\)",
    ):
        list(scanning.Dataset([periodic]).structures())
    # ... not without periodicity
    periodic.pbc = False
    assert len(list(scanning.Dataset([periodic]).structures())) == 1


def test_worker_errors_name_the_structure():
    """A structure the main process did not check (its cell is NaN) fails on the worker
    with the index it has in the data set, not only the chunk's."""
    atoms = dg.sample_methane(1, seed=1)[0]
    atoms.cell = [[3, 0, 0], [0, 3, 0], [0, 0, np.nan]]
    atoms.pbc = [True, True, False]
    (block,) = scanning.plan_chunks([(7, atoms)], centers=None, chunk_size=10)
    with pytest.raises(dg.DegeneracyError, match=r"^structure 7: cannot find the neighbours"):
        block.environments(cutoff=2.5)


@pytest.mark.parametrize(
    ("name", "line", "text", "message"),
    [
        (  # structure 2 claims 9 atoms: found by the header scan, which names it
            "count",
            2 * 7,
            "9",
            r"count\.xyz: cannot read structures \(line 26, where frame 3's atom count would "
            r"be, reads 'H .*': frame 2 declares 9 atoms, which do not match its atom lines\)",
        ),
        (  # found while parsing structure 2
            "number",
            2 * 7 + 3,
            "H abc 0 0",
            r"number\.xyz: cannot read it: failed at or "
            r"after structure 2 \(could not convert string to float: 'abc'\)",
        ),
        (  # an unknown element: ase's bare KeyError said only ('Xx')
            "element",
            2 * 7 + 3,
            "Xx 0 0 0",
            r"element\.xyz: cannot read it: .*\(no element or column named 'Xx'\)",
        ),
    ],
)
def test_unreadable_file_does_not_name_a_wrong_structure(tmp_path, name, line, text, message):
    """ase's extxyz reader indexes the whole file before it yields the first structure."""
    ase.io.write(tmp_path / "good.xyz", dg.sample_methane(4, seed=0), format="extxyz")
    lines = (tmp_path / "good.xyz").read_text().splitlines()
    lines[line] = text
    (tmp_path / f"{name}.xyz").write_text("\n".join(lines) + "\n")
    with pytest.raises(dg.DegeneracyError, match=message):
        _read_all(tmp_path / f"{name}.xyz")


@pytest.mark.parametrize(
    ("cutoff", "message"),
    [
        (3.2, r"^cutoff 3\.2 Å differs from the cutoff 2\.5 Å of representation 'soap'"),
        (2.0, r"^cutoff 2 Å differs from the cutoff 2\.5 Å"),
        (0, r"^cutoff must be a positive number, got 0$"),
    ],
)
def test_cutoff_must_be_the_fingerprint_own(soap, tmp_path, cutoff, message):
    """A larger cutoff adds neighbours the fingerprint ignores, a smaller one drops some;
    0 was silently replaced by the fingerprint's."""
    frames = dg.sample_methane(2, seed=1)
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.scan_dataset(frames, soap, output=tmp_path / "r.parquet", cutoff=cutoff)
    assert not list(tmp_path.iterdir())
    recipe = dg.RepresentationRecipe.of(soap)
    assert scanning.scan_cutoff(None, recipe) == scanning.scan_cutoff(2.5, recipe) == 2.5


# ---------------------------------------------------------------- figures


def test_histogram_and_chemiscope_files(soap, mixed_file, tmp_path):
    output = tmp_path / "r.parquet"
    dg.scan_dataset(mixed_file, soap, output=output, centers="C", **_threads(workers=1))
    table = dg.read_results(output)
    png = tmp_path / "cn.png"
    cn_histogram(table, png, title="test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dataset = scanning.Dataset(mixed_file)
    structures = scanning.collect_structures(dataset, range(33))
    viewer = tmp_path / "view.json.gz"
    written = write_chemiscope(viewer, structures, table, cutoff=2.5)
    assert written == 30  # the three undefined environments are left out
    data = json.loads(gzip.open(viewer).read())
    assert len(data["structures"]) == 30
    assert len(data["environments"]) == 30
    cn = np.asarray(table.column("cn"))
    np.testing.assert_allclose(
        data["properties"]["log10(CN)"]["values"], np.log10(cn[np.isfinite(cn)])
    )
    assert data["settings"]["map"]["color"]["property"] == "log10(CN)"
    verdicts = table.column("verdict").to_pylist()
    shown = [v for v, c in zip(verdicts, cn, strict=True) if np.isfinite(c)]
    assert data["properties"]["verdict"]["values"] == shown
    assert set(shown) <= {"regular", "zero", "kink"} and "regular" in shown
    with pytest.raises(dg.DegeneracyError):
        write_chemiscope(tmp_path / "view.txt", structures, table, cutoff=2.5)


def test_chemiscope_selection_keeps_the_most_singular():
    import pyarrow as pa

    cn = np.arange(1, 101, dtype=float)  # CN >= 1
    cn[3] = np.inf  # s_min at round-off: the most singular, and shown
    table = pa.table(
        {"structure": np.arange(100), "cn": cn, "s_max": np.ones(100), "s_min": 1 / cn + 1e-17},
    )
    chosen = scanning.chemiscope_selection(table, 10)
    assert len(chosen) == 10
    assert {3, 96, 97, 98, 99} <= set(chosen.tolist())
    assert len(scanning.chemiscope_selection(table, 200)) == 100


def test_most_singular_orders_infinite_cns_by_relative_s_min():
    """Infinite CNs (exact zeros and round-off) came out in file order."""
    import pyarrow as pa

    eps = np.finfo(float).eps
    table = pa.table(
        {
            "structure": np.arange(5),
            "cn": [np.inf, 50.0, np.inf, np.nan, np.inf],
            "s_max": [2.0, 1.0, 1.0, np.nan, 1.0],
            "s_min": [2.0 * eps, 0.02, 0.0, np.nan, 0.5 * eps],
        }
    )
    assert [row["structure"] for row in scanning.most_singular(table, 4)] == [2, 4, 0, 1]


def test_environment_spectra_names_a_non_finite_environment(soap):
    """It was labelled undefined ("collinear") like a real degenerate environment."""
    frames = dg.sample_methane(3, seed=0)
    frames[1].positions[2] = np.nan
    with pytest.raises(dg.DegeneracyError, match="environment 1, atom 2: non-finite"):
        dg.environment_spectra(frames, soap)


def test_most_singular_names_results_that_are_not_a_table():
    with pytest.raises(dg.DegeneracyError, match="results must be a pyarrow Table"):
        scanning.most_singular([1, 2], 2)


def _results(structures, cn, verdicts=None):
    """A results table with these structures and CNs (s_max = 1), and ``verdicts``
    (default: "regular" where the CN is finite)."""
    cn = np.asarray(cn, dtype=float)
    n = len(cn)
    if verdicts is None:
        verdicts = ["regular" if np.isfinite(v) else "" for v in cn]
    return pa.table(
        {
            "structure": structures,
            "atom": np.zeros(n, dtype=np.int64),
            "species": ["C"] * n,
            "n_neighbors": np.full(n, 4, dtype=np.int32),
            "s_max": np.ones(n),
            "s_min": 1 / cn,
            "cn": cn,
            "verdict": verdicts,
            "reason": ["" if np.isfinite(v) else scanning.REASON_COLLINEAR for v in cn],
        },
        schema=scanning.RESULT_SCHEMA,
    )


def test_chemiscope_selection_ranks_round_off_sites_first_and_skips_undefined_ones():
    """Structures with s_min = 0 (infinite CN) are ranked first and shown, at the round-off
    floor (they were left out, while an s_min of 1e-33 was shown: a rocksalt site went
    missing beside an fcc one); undefined ones (NaN) are never candidates."""
    table = _results(
        [0, 1, 2, 2, 3, 4, 4, 5],
        [np.inf, np.nan, np.nan, 10.0, 5.0, np.inf, np.nan, 7.0],
    )
    assert scanning.chemiscope_selection(table, 10).tolist() == [0, 2, 3, 4, 5]
    for limit in (1, 2):
        chosen = scanning.chemiscope_selection(table, limit).tolist()
        assert len(chosen) == limit and set(chosen) <= {0, 2, 3, 4, 5}
    assert 0 in scanning.chemiscope_selection(table, 2)  # the largest CN, first of two
    assert scanning.chemiscope_selection(_results([0, 1], [np.inf, np.nan]), 5).tolist() == [0]
    assert scanning.chemiscope_selection(_results([0, 1], [np.nan, np.nan]), 5).size == 0


def test_chemiscope_selection_counts_points_not_structures():
    """20 000 crystals of 64 centres made a map of 1.3 million points with the default
    limit of 20 000 (helper-156): the limit counts environments, in whole structures."""
    structures = np.repeat(np.arange(10), 5)  # 10 structures, 5 environments each
    cn = np.linspace(2.0, 100.0, 50)  # structure 9 holds the largest CN
    table = _results(structures, cn)
    chosen = scanning.chemiscope_selection(table, 12)
    assert 9 in chosen and 5 * len(chosen) <= 12 and len(chosen) == 2
    assert scanning.chemiscope_selection(table, 50).tolist() == list(range(10))
    # the most singular structure even when it alone holds more points than the limit
    assert scanning.chemiscope_selection(table, 1).tolist() == [9]
    uneven = _results(np.r_[np.zeros(30, int), np.arange(1, 11)], np.r_[np.full(30, 5.0), cn[:10]])
    chosen = scanning.chemiscope_selection(uneven, 10).tolist()  # 0 (30 points) is least singular
    assert 0 not in chosen and len(chosen) == 10


def test_chemiscope_selection_of_one_shows_the_most_singular_and_skips_kinks():
    """A limit of 1 took no structure by CN (half of 1 rounded down to 0) and showed a
    random one; a kink's CN (one-sided, meaningless) ranked its structure first."""
    table = _results([0, 1, 2, 3], [5.0, np.inf, 1e3, 20.0], ["regular", "kink", "regular", ""])
    assert scanning.chemiscope_selection(table, 1).tolist() == [2]
    assert 2 in scanning.chemiscope_selection(table, 3).tolist()


def test_chemiscope_draws_periodic_cells_and_molecules_without_theirs(tmp_path):
    """A periodic structure's neighbours across the cell's faces were not drawn (no cell,
    no supercell); a molecule read with a cell would be drawn in it."""
    import ase.build

    crystal = ase.build.bulk("C", "diamond", a=3.567)
    molecule = ase.build.molecule("CH4")
    molecule.cell = [8.0, 8.0, 8.0]  # extxyz's Lattice with pbc="F F F"
    table = _results([0, 1], [10.0, 20.0])
    viewer = tmp_path / "v.json"
    write_chemiscope(viewer, {0: crystal, 1: molecule}, table, cutoff=2.5)
    data = json.loads(viewer.read_text())
    assert data["settings"]["structure"][0]["unitCell"] is True
    assert data["settings"]["structure"][0]["supercell"] == [3, 3, 3]
    assert "cell" in data["structures"][0] and "cell" not in data["structures"][1]
    assert molecule.cell.any()  # the caller's structure is left as it was
    write_chemiscope(viewer, {1: molecule}, _results([1], [20.0]), cutoff=2.5)
    data = json.loads(viewer.read_text())
    assert data["settings"]["structure"][0]["unitCell"] is False


@pytest.mark.parametrize(
    ("vacuum", "cutoff", "copies"), [(None, 2.0, 9), (10.0, 2.0, 9), (None, 5.0, 25)]
)
def test_chemiscope_draws_a_slab_s_images_in_its_plane_only(tmp_path, vacuum, cutoff, copies):
    """Graphene stored without a normal vector (pbc T T F, third vector zero) was drawn
    with no cell and no images, though its environments count neighbours across the
    edges; with a vacuum, chemiscope replicated it across the vacuum too (helper-156). Its
    in-plane images are drawn as atoms, its own atoms first, with no cell: the 8 next to
    it, or as many as a cutoff longer than the cell reaches (helper-160)."""
    import ase.build

    sheet = ase.build.graphene(size=(2, 2, 1), vacuum=vacuum)
    sheet.rattle(0.01, seed=0)
    before = sheet.positions.copy()
    viewer = tmp_path / "v.json"
    write_chemiscope(viewer, {0: sheet}, _results([0], [10.0]), cutoff=cutoff)
    data = json.loads(viewer.read_text())
    (shown,) = data["structures"]
    assert "cell" not in shown and shown["size"] == copies * len(sheet)
    drawn = np.column_stack([shown["x"], shown["y"], shown["z"]])
    assert np.allclose(drawn[: len(sheet)], sheet.positions)  # centres keep their index
    assert np.allclose(drawn[:, 2], np.tile(sheet.positions[:, 2], copies))  # in the plane
    # every neighbour a centre has across the edges is drawn where it is
    (env,) = environments_of(sheet, [0], cutoff=cutoff)
    assert len(env) > 3
    for vector in env.positions[1:]:
        assert np.min(np.linalg.norm(drawn - (sheet.positions[0] + vector), axis=1)) < 1e-9
    assert np.array_equal(sheet.positions, before)


def test_chemiscope_refuses_non_finite_values(tmp_path):
    """They were written as NaN, which is no JSON: chemiscope's own reader refuses it."""
    from degeneracy.figures.viewer import write_chemiscope_file

    frames = dg.sample_methane(2, seed=1)
    bad = {"E": {"target": "structure", "values": np.array([1.0, np.nan])}}
    with pytest.raises(dg.DegeneracyError, match="chemiscope property 'E' has non-finite"):
        write_chemiscope_file(tmp_path / "v.json", structures=frames, properties=bad)
    assert list(tmp_path.iterdir()) == []


def test_round_off_s_min_is_drawn_at_the_floor():
    """An exact 0 and 1e-33 (both at round-off) land at one point, (3N − 3)ε s_1; a
    resolved s_min stays where it is."""
    floor = dg.sensitivity.roundoff_floor(2.0, 9)
    drawn = dg.sensitivity.floored_s_min([2.0, 2.0, 2.0], [0.0, 1e-33, 1e-3], 9)
    assert drawn.tolist() == [floor, floor, 1e-3]
    assert dg.sensitivity.showable_spectra([1.0, 1.0, np.nan], [0.0, -1e-20, 0.0]).tolist() == [
        True,
        False,
        False,
    ]


def test_histogram_of_equal_values(tmp_path):
    """Two symmetry-equivalent centres: numpy cannot cut a range of a few ulps into bins."""
    table = _results([0, 0], [55.01902386235199, 55.01902386235195])
    png = tmp_path / "equal.png"
    cn_histogram(table, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- command line


def test_chemiscope_file_named_in_upper_case_is_compressed(tmp_path):
    """UP.JSON.GZ was accepted but written as plain JSON (the check was case-sensitive)."""
    from degeneracy.figures.viewer import write_chemiscope_file

    path = write_chemiscope_file(tmp_path / "UP.JSON.GZ", structures=dg.sample_methane(1, seed=1))
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert len(json.loads(gzip.open(path).read())["structures"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["UP.JSON.GZ"]


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    return lines[0]


def test_cli_missing_file(capsys, tmp_path):
    line = _one_line_error(
        capsys, ["scan", str(tmp_path / "nope.xyz"), "--output", str(tmp_path / "r.parquet")]
    )
    assert "nope.xyz: no such file" in line


def test_cli_non_finite_coordinates_name_structure_and_atom(capsys, tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text("5\n\nC 0 0 0\nH 0 0 1\nH 0 1 0\nH 1 0 0\nH nan 0 0\n")
    line = _one_line_error(capsys, ["scan", str(path), "--output", str(tmp_path / "r.parquet")])
    assert "bad.xyz, structure 0, atom 4: non-finite coordinates [nan, 0.0, 0.0]" in line
    assert not (tmp_path / "r.parquet").exists()


def test_cli_unknown_species(capsys, methane_file, tmp_path):
    output = str(tmp_path / "r.parquet")
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(methane_file), "--centers", "Xx", "--output", output])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown element 'Xx'" in err[0]
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(methane_file), "--neighbors", "H,Qq", "--output", output])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown element 'Qq'" in err[0]
    # a real element that the data set does not have: found out by reading it, no cluster
    line = _one_line_error(
        capsys, ["scan", str(methane_file), "--centers", "N", "--output", output]
    )
    assert "no centre of species N (the data set has H, C)" in line
    assert not list(tmp_path.iterdir())


def test_cli_bad_output_extension(capsys, methane_file, tmp_path):
    line = _one_line_error(
        capsys, ["scan", str(methane_file), "--output", str(tmp_path / "results.txt")]
    )
    assert "results.txt" in line and ".parquet" in line
    assert not list(tmp_path.iterdir())
    for viewer, message in (("v.html", "must end with .json or .json.gz"),
                            ("nowhere/v.json", "output folder")):  # fmt: skip
        argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet")]
        line = _one_line_error(capsys, [*argv, "--chemiscope", str(tmp_path / viewer)])
        assert message in line  # refused before the scan, not after it
        assert not list(tmp_path.iterdir())


def test_cli_refuses_an_output_folder_before_any_work(capsys, methane_file, tmp_path, monkeypatch):
    """It was refused only when the chunks were merged, after the whole scan."""
    from degeneracy.cli import scan as command

    def scanning_anyway(*args, **kwargs):
        raise AssertionError("scanned before the output was checked")

    monkeypatch.setattr(command, "scan_dataset", scanning_anyway)
    folder = tmp_path / "X.parquet"
    folder.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(methane_file), "--output", str(folder), *SMALL])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(f"{folder}: --output is a folder, not a file")
    assert sorted(tmp_path.iterdir()) == [folder] and not list(folder.iterdir())
    with pytest.raises(dg.DegeneracyError, match=r"X\.parquet: output is a folder, not a file"):
        dg.scan_dataset(methane_file, dg.SoapPowerSpectrum(n_max=4, l_max=4), output=folder)
    assert sorted(tmp_path.iterdir()) == [folder]


def test_cli_bad_scheduler_address(capsys, methane_file, tmp_path):
    argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet"), *SMALL]
    line = _one_line_error(
        capsys, [*argv, "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "1"]
    )
    assert "cannot connect to the Dask scheduler at 'tcp://127.0.0.1:1'" in line
    line = _one_line_error(capsys, [*argv, "--scheduler", "no-such-protocol://x:1"])
    assert "--scheduler 'no-such-protocol://x:1': unknown address scheme" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers"),
        (["--connect-timeout", "5"], "--connect-timeout"),
        (["--chemiscope", "v.json", "--chemiscope-limit", "0"], "--chemiscope"),
        (["--singular", "s.extxyz", "--top", "0"], "--singular"),
    ],
)
def test_cli_refuses_options_that_would_be_ignored(capsys, methane_file, tmp_path, options, named):
    """Refused before reading the data or starting a cluster, nothing written."""
    argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet"), *options]
    assert _one_line_error(capsys, argv).split(": ")[2].startswith(named)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("option", ["--summary", "--plot", "--singular"])
def test_cli_refuses_a_report_in_a_missing_folder(capsys, methane_file, tmp_path, option):
    """Found before the scan: after it, the error came with the chunks already merged."""
    argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet")]
    report = tmp_path / "nowhere" / {"--summary": "r.json", "--plot": "r.png"}.get(option, "r.xyz")
    line = _one_line_error(capsys, [*argv, option, str(report)])
    assert f"{report}: {option} folder" in line
    assert not list(tmp_path.iterdir())


def test_cli_interrupt_mentions_kept_chunks_only_if_there_are_some(
    capsys, methane_file, tmp_path, monkeypatch
):
    from degeneracy.cli import scan as command

    output = tmp_path / "r.parquet"
    parts = scanning.ChunkStore(output).folder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "scan_dataset", interrupted)
    argv = ["scan", str(methane_file), "--output", str(output), *SMALL]
    assert main(argv) == 130
    assert "finished chunks are kept" not in capsys.readouterr().err
    parts.mkdir()
    (parts / "chunk-0000000.parquet").touch()
    assert main(argv) == 130
    assert f"finished chunks are kept in {parts}; rerun" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_local_cluster_workers_do_not_see_ctrl_c():
    """Ctrl-C reaches the terminal's whole process group: each worker printed a
    KeyboardInterrupt traceback (~35 lines) while the scan shut the cluster down anyway."""

    def blocked_signals(pid):
        status = Path(f"/proc/{pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("SigBlk:")]
        return int(line.split()[1], 16)

    with scanning.dask_client(workers=1) as client:
        (pid,) = client.run(os.getpid).values()
        assert blocked_signals(pid) & (1 << (signal.SIGINT - 1))
        assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_dask_logs_are_quiet_while_an_interrupted_cluster_shuts_down(monkeypatch):
    """Ctrl-C mid-scan: the cluster closes with tasks running; what distributed logs about
    that is noise. Its loggers' levels are restored afterwards."""
    import logging

    from distributed import LocalCluster

    levels = {}
    original = LocalCluster.close

    def recording(self, *args, **kwargs):
        levels.setdefault("closing", logging.getLogger("distributed.nanny").getEffectiveLevel())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LocalCluster, "close", recording)
    before = logging.getLogger("distributed").level
    with pytest.raises(KeyboardInterrupt), scanning.dask_client(workers=1, processes=False):
        raise KeyboardInterrupt
    assert levels["closing"] == logging.CRITICAL
    assert logging.getLogger("distributed").level == before


def test_workers_closing_with_a_task_running_print_no_heartbeat_tracebacks(capfd):
    """Ctrl-C while a chunk runs: each worker closed its connections, then waited for its
    task, and printed "Failed to communicate with scheduler during heartbeat" with two
    tracebacks (from the worker process, out of the main one's loggers)."""
    import re
    import time

    with pytest.raises(KeyboardInterrupt), scanning.dask_client(workers=1) as client:
        # ~4 s in one C call that keeps the GIL (a regular expression's exponential
        # backtracking), as a chunk's featomic calls do: the worker's event loop stalls
        future = client.submit(re.match, r"(a+)+$", "a" * 27 + "b", pure=False)
        deadline = time.monotonic() + 30
        while not client.processing()[next(iter(client.nthreads()))]:
            assert time.monotonic() < deadline, f"the task never started: {future.status}"
            time.sleep(0.05)
        raise KeyboardInterrupt
    err = capfd.readouterr().err
    assert "heartbeat" not in err and "Traceback" not in err, err


def test_quiet_while_closing_drops_a_workers_records_only_once_it_closes():
    import logging

    from distributed.core import Status

    from degeneracy.worker_logging import QuietWhileClosing

    class FakeWorker:
        status = Status.running

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("distributed")
    logger.addHandler(handler)
    try:
        worker = FakeWorker()
        QuietWhileClosing().setup(worker)
        record = logging.LogRecord("distributed.worker", logging.ERROR, "", 0, "m", (), None)
        handler.handle(record)
        worker.status = Status.closing
        handler.handle(record)
        worker.status = Status.closed
        handler.handle(record)
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1


def test_an_interrupted_scan_closes_its_cluster_quietly_and_deaf_to_ctrl_c(
    soap, methane_file, tmp_path, monkeypatch
):
    """The scan's lazily started cluster was closed as if nothing had happened: the
    interrupt never reached :func:`dask_client`, so distributed's loggers stayed loud and a
    second Ctrl-C cut the shutdown short (distributed's exit hook then waited 10 s)."""
    import logging

    from distributed import LocalCluster

    seen = {}
    original = LocalCluster.close

    def recording(self, *args, **kwargs):
        seen.setdefault("level", logging.getLogger("distributed.nanny").getEffectiveLevel())
        seen.setdefault("sigint", signal.getsignal(signal.SIGINT))
        return original(self, *args, **kwargs)

    def interrupting(self, chunk, table):
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalCluster, "close", recording)
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(
            methane_file, soap, output=tmp_path / "s.parquet", workers=1, processes=False
        )
    assert seen == {"level": logging.CRITICAL, "sigint": signal.SIG_IGN}
    assert signal.getsignal(signal.SIGINT) is handler


def _scan_summary(**changes) -> scanning.ScanSummary:
    """A one-environment, one-chunk scan's summary, with ``changes``."""
    fields = {
        "output": Path("r.parquet"),
        "format": "parquet",
        "n_structures": 1,
        "n_environments": 1,
        "n_undefined": 0,
        "n_computed": 1,
        "n_chunks": 1,
        "n_resumed_chunks": 0,
        "n_threads": 1,
        "seconds": 1.0,
        "startup_seconds": 0.5,
        "centers": ["C"],
    }
    return scanning.ScanSummary(**{**fields, **changes})


def test_cli_tables_say_n_a_and_count_in_the_singular():
    row = {"structure": 0, "atom": 0, "species": "C", "n_neighbors": 9, "cn": 2.0, "s_min": 0.5}
    top = [{**row, "symmetric": None, "verdict": None}]  # no test (collinear neighbours)
    assert format_top(top).splitlines()[1].split()[-2:] == ["n/a", "n/a"]
    summary = _scan_summary()
    line = format_summary(summary, {})
    assert line.startswith("scanned 1 environment (centres: C) of 1 structure in 1.0 s")
    assert "on 1 worker thread, 1 chunk)" in line
    summary.n_resumed_chunks = 1  # every chunk read back: no speed to speak of
    assert "(nothing left to compute, 1 of 1 chunk resumed)" in format_summary(summary, {})


def test_cli_summary_rate_of_a_small_scan_is_not_zero():
    """3 environments in 8 s were printed as "0 env/s"."""
    summary = _scan_summary(
        n_structures=3, n_environments=3, n_computed=3, n_threads=2, seconds=8.0, centers=None
    )
    assert "(0.38 env/s on 2 worker threads, 1 chunk)" in format_summary(summary, {})
    summary.n_computed, summary.seconds = 1955, 1.0
    assert "(1955 env/s on" in format_summary(summary, {})
    summary.n_computed = 5
    assert "(5 env/s on" in format_summary(summary, {})


def test_cli_chemiscope_holds_the_structures_it_reports(capsys, tmp_path):
    """Of a lone C, a CH, a CH4 and a regular CH4, the two CH4 have a spectrum to show; the
    regular one's CN is inf (s_min at round-off), drawn at the cap 1/(9 eps)."""
    frames = [
        ase.Atoms("C", positions=[[1.0, 2.0, 3.0]]),
        ase.Atoms("CH", positions=[[0, 0, 0], [1.1, 0, 0]]),
        dg.sample_methane(1, seed=4)[0],
        dg.builtin_environment("td"),
    ]
    dataset = tmp_path / "three.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "r.parquet"
    options = ["--chemiscope-limit", "2", "--top", "1", *SMALL]
    code = _scan_on_a_local_cluster([str(dataset), "--output", str(output), *options])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scanned 4 environments (centres: C) of 4 structures" in out
    assert "1 with infinite CN (s_min zero or at round-off)" in out
    assert "r.chemiscope.json.gz (2 environments of 2 structures)" in out
    viewer = json.loads(gzip.open(tmp_path / "r.chemiscope.json.gz").read())
    assert len(viewer["structures"]) == 2
    assert all(len(s["names"]) == 5 for s in viewer["structures"])
    log_cn = viewer["properties"]["log10(CN)"]["values"]
    assert log_cn[1] == pytest.approx(-np.log10(9 * np.finfo(float).eps))
    assert 0 < log_cn[0] < 6
    # which environments: the file says so, not only the command line
    assert viewer["meta"]["description"].endswith("; C centres, all neighbours, within 2.5 Å")


def test_cli_removes_stale_default_companions(capsys, tmp_path):
    """A scan that writes no singular environments or chemiscope file removes those of an
    earlier scan to the same output, never a file named by the user."""
    methane = tmp_path / "methane.xyz"
    ase.io.write(methane, dg.sample_methane(3, seed=4), format="extxyz")
    undefined = tmp_path / "lone.xyz"  # no environment with a spectrum: nothing to rank
    frames = [
        ase.Atoms("C", positions=[[1.0, 2.0, 3.0]]),
        ase.Atoms("CH", [[0, 0, 0], [1.1, 0, 0]]),
    ]
    ase.io.write(undefined, frames, format="extxyz")
    output = tmp_path / "stale.csv"
    options = ["--output", str(output), "--top", "2", *SMALL]
    assert _scan_on_a_local_cluster([str(methane), *options]) == 0
    singular, viewer = tmp_path / "stale.singular.extxyz", tmp_path / "stale.chemiscope.json.gz"
    assert singular.exists() and viewer.exists()
    mine = tmp_path / "mine.json.gz"
    mine.write_bytes(viewer.read_bytes())
    capsys.readouterr()
    assert _scan_on_a_local_cluster([str(undefined), *options, "--chemiscope", str(mine)]) == 0
    out = capsys.readouterr().out
    assert f"removed {singular}: an earlier scan's, this one writes no such file" in out
    assert f"removed {viewer}:" in out
    assert not singular.exists() and not viewer.exists() and mine.exists()
    assert {path.name for path in tmp_path.iterdir()} == {
        "methane.xyz", "lone.xyz", "mine.json.gz", "stale.csv", "stale.histogram.png",
        "stale.summary.json",
    }  # fmt: skip
    # stale.parquet shares the report names of stale.csv: refused before any work (the
    # scan replaced stale.csv's reports and removed its chemiscope file)
    report = (tmp_path / "stale.summary.json").read_bytes()
    other = ["--output", str(tmp_path / "stale.parquet"), *SMALL]
    assert main(["scan", str(methane), *other]) == 2
    err = capsys.readouterr().err
    assert "stale.summary.json holds the reports of the scan of stale.csv" in err, err
    assert (tmp_path / "stale.summary.json").read_bytes() == report
    assert not (tmp_path / "stale.parquet").exists()


def test_cli_never_replaces_or_removes_the_reports_of_the_other_results_file(capsys, tmp_path):
    """X.csv and X.parquet share the default report names (helper-128): naming all four
    reports, as the refusal advises, removed the parquet scan's as "an earlier scan's";
    naming only --summary replaced the rest; and with the parquet scan's summary named
    elsewhere nothing was checked."""
    methane = tmp_path / "methane.xyz"
    ase.io.write(methane, dg.sample_methane(3, seed=4), format="extxyz")
    parquet = ["--output", str(tmp_path / "x.parquet"), *SMALL]
    assert _scan_on_a_local_cluster([str(methane), *parquet]) == 0
    theirs = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("x.")}
    assert {"x.summary.json", "x.singular.extxyz", "x.histogram.png"} < set(theirs)
    csv = ["--output", str(tmp_path / "x.csv"), *SMALL]
    named = [f"--{o}={tmp_path / ('mine.' + s)}" for o, s in
             [("summary", "json"), ("plot", "png"), ("singular", "extxyz"),
              ("chemiscope", "json.gz")]]  # fmt: skip
    capsys.readouterr()
    assert _scan_on_a_local_cluster([str(methane), *csv, *named]) == 0
    assert "removed" not in capsys.readouterr().out
    for name, content in theirs.items():
        if not name.endswith(".parts"):
            assert (tmp_path / name).read_bytes() == content, name
    assert main(["scan", str(methane), *csv, named[0]]) == 2  # only --summary named
    assert "x.summary.json holds the reports of the scan of x.parquet" in capsys.readouterr().err
    # the parquet scan's summary named elsewhere: the results file beside it owns the rest
    (tmp_path / "x.summary.json").unlink()
    assert main(["scan", str(methane), *csv]) == 2
    err = capsys.readouterr().err
    assert "x.parquet beside it shares its default report names (x.summary.json, …)" in err
    assert (tmp_path / "x.singular.extxyz").read_bytes() == theirs["x.singular.extxyz"]


def test_cli_refuses_a_folder_in_the_way_of_a_default_report_before_the_scan(capsys, tmp_path):
    """It was found after the scan, with the results and half of the reports written."""
    methane = tmp_path / "methane.xyz"
    ase.io.write(methane, dg.sample_methane(2, seed=4), format="extxyz")
    (tmp_path / "y.histogram.png").mkdir()
    assert main(["scan", str(methane), "--output", str(tmp_path / "y.parquet"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "y.histogram.png: the default --plot is a folder, not a file" in err, err
    assert {p.name for p in tmp_path.iterdir()} == {"methane.xyz", "y.histogram.png"}


def _scan_on_a_local_cluster(arguments: list[str]) -> int:
    """``degeneracy scan ARGUMENTS`` on a one-worker in-process Dask cluster."""
    from distributed import LocalCluster

    with warnings.catch_warnings():
        # As in scan.local_client: the HTTP server falls back to a free port when 8787
        # is taken (another test run on this machine), and says so.
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        )
    with cluster:
        return main(["scan", *arguments, "--scheduler", cluster.scheduler_address])


def test_cli_scan_on_an_existing_cluster(capsys, methane_file, tmp_path):
    output = tmp_path / "r.parquet"
    code = _scan_on_a_local_cluster(
        [
            str(methane_file),
            "--output",
            str(output),
            "--top",
            "3",
            "--chemiscope-limit",
            "50",
            "--chunk-size",
            "40",
            *SMALL,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scanned 120 environments (centres: C) of 120 structures" in out
    assert "most singular environments" in out
    table = dg.read_results(output)
    cn = np.asarray(table.column("cn"))
    top = np.sort(cn)[::-1][:3]
    singular = ase.io.read(tmp_path / "r.singular.extxyz", ":")
    np.testing.assert_allclose([a.info["cn"] for a in singular], top, rtol=1e-9)
    assert all(
        a.info["verdict"] in ("regular", "symmetry", "near-symmetry", "dimension", "spurious")
        for a in singular
    )
    assert (tmp_path / "r.histogram.png").read_bytes()[:4] == b"\x89PNG"
    viewer = json.loads(gzip.open(tmp_path / "r.chemiscope.json.gz").read())
    assert len(viewer["structures"]) == 50
    summary = json.loads((tmp_path / "r.summary.json").read_text())
    assert summary["n_environments"] == 120
    assert summary["cn"]["max"] == pytest.approx(top[0])
    assert summary["settings"]["representation"]["kwargs"]["n_max"] == 4


def _scan_command(dataset, output, *extra):
    """The scan command with small defaults; an option in ``extra`` replaces its default
    (an option given twice is refused)."""
    defaults = {"--chemiscope-limit": "0", "--top": "0"}
    given = set(extra)
    fixed = [
        word
        for option, value in [*defaults.items(), *zip(SMALL[::2], SMALL[1::2], strict=True)]
        if option not in given
        for word in (option, value)
    ]
    return [*CLI, "scan", str(dataset), "--output", str(output), "--no-progress", *fixed, *extra]


def test_cli_scan_read_by_head_still_writes_its_files(methane_file, tmp_path):
    """`degeneracy scan … | head -2`: the reader leaves after two lines; the scan used to
    stop there with "[Errno 32] Broken pipe" (exit 2) and never write its summary."""
    output = tmp_path / "r.parquet"
    command = _scan_command(methane_file, output, "--top", "5")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # as head does
    _, err = process.communicate(timeout=300)
    assert first.startswith(b"scanned 120 environments")
    assert process.returncode == 0 and b"Broken pipe" not in err, err
    for suffix in (".singular.extxyz", ".histogram.png", ".summary.json"):
        assert (tmp_path / f"r{suffix}").is_file(), suffix


def _kill_after_chunks(command, parts: Path, n_chunks: int, timeout: float = 300.0) -> int:
    """Start ``command``, SIGKILL its whole process group once ``n_chunks`` are on disk."""
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if len(list(parts.glob("chunk-*.parquet"))) >= n_chunks:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return len(list(parts.glob("chunk-*.parquet")))


def test_cli_scan_names_the_equal_pairs_of_a_swap_zero(capsys, tmp_path):
    """Folds of degenerate pairs (A+ = A-) among generic CH4: SOAP's zero at a fold
    trades H2-H4 against H3-H4; the table, the .singular.extxyz and the summary say so."""
    frames = [*dg.fold_frames(dg.PairSampler().folds(2, seed=5)), *dg.sample_methane(6, seed=2)]
    dataset = tmp_path / "folds.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "f.parquet"
    code = _scan_on_a_local_cluster(
        [str(dataset), "--centers", "C", "--output", str(output), "--top", "3"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("spurious: swaps equal pairs H2-H4 = H3-H4") == 2
    singular = ase.io.read(tmp_path / "f.singular.extxyz", ":")
    assert [a.info["pair_swap"] for a in singular] == ["H2-H4 = H3-H4"] * 2 + ["none"]
    summary = json.loads((tmp_path / "f.summary.json").read_text())
    assert [row["pair_swap"] for row in summary["most_singular"]] == ["H2-H4 = H3-H4"] * 2 + [None]
    assert [row["nearest_coincidence"] for row in summary["most_singular"][:2]] == [
        "H2-H4 = H3-H4"
    ] * 2
    assert all(row["coincidence_distance"] < 1e-9 for row in summary["most_singular"][:2])
    assert all(row["near_swap_residual"] < 1e-6 for row in summary["most_singular"][:2])
    assert singular[0].info["nearest_coincidence"] == "H2-H4 = H3-H4"
    assert "nearest equal pairs" in out and "H2-H4 = H3-H4 (" in out


def test_cli_scan_of_a_fingerprint_blind_by_dimension(capsys, methane_file, tmp_path):
    output = tmp_path / "om.parquet"
    representation = ["--rep", "om", "--om-orbitals", "s", "--centers", "C"]
    code = _scan_on_a_local_cluster(
        [str(methane_file), *representation, "--output", str(output), "--top", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "120 with infinite CN (s_min zero or at round-off)" in out
    table = dg.read_results(output)
    assert np.all(np.asarray(table.column("s_min")) == 0)
    # every environment equally blind: all on the map, at the round-off floor
    assert "om.chemiscope.json.gz (120 environments of 120 structures)" in out, out
    shown = json.loads(gzip.decompress((tmp_path / "om.chemiscope.json.gz").read_bytes()))
    s_max = np.asarray(table.column("s_max"))
    floor = np.log10(dg.sensitivity.roundoff_floor(s_max, 3 * 4 - 3))
    np.testing.assert_allclose(shown["properties"]["log10(s_min)"]["values"], floor)
    text = (tmp_path / "om.summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert summary["n_infinite"] == 120
    assert [row["cn"] for row in summary["most_singular"]] == [None, None]  # infinite
    singular = ase.io.read(tmp_path / "om.singular.extxyz", ":")
    assert [a.info["s_min"] for a in singular] == [0.0, 0.0]
    assert (tmp_path / "om.histogram.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_killed_scan_resumes(soap, tmp_path):
    """The real command, killed (SIGKILL, workers included) after a few chunks, then rerun."""
    frames = dg.sample_methane(1500, seed=11)
    dataset = tmp_path / "methane.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "killed.parquet"
    command = _scan_command(dataset, output, "--workers", "1", "--chunk-size", "50")
    finished = _kill_after_chunks(command, tmp_path / "killed.parquet.parts", 3)
    assert not output.exists(), "the scan finished before it could be killed"
    assert 3 <= finished < 30

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{finished} of 30 chunks resumed" in rerun.stdout
    assert not (tmp_path / "killed.parquet.parts").exists()

    reference = tmp_path / "reference.parquet"
    dg.scan_dataset(dataset, soap, output=reference, chunk_size=50, **_threads())
    resumed, expected = pq.read_table(output), pq.read_table(reference)
    assert resumed.num_rows == 1500
    for name in ("structure", "atom", "species", "n_neighbors", "reason"):
        assert resumed.column(name).equals(expected.column(name))
    for name in ("s_max", "s_min", "cn"):
        np.testing.assert_allclose(resumed.column(name), expected.column(name), rtol=1e-12)


#: ``degeneracy scan`` in a fresh interpreter with one report writer replaced by
#: ``interrupt``: Ctrl-C while that file is being written (after its first bytes).
_REPORT_INTERRUPTED = """
import sys
from pathlib import Path
import {module}
from degeneracy.cli import main

PATH_ARGUMENT = {argument!r}

def interrupt(*args, **kwargs):
    if PATH_ARGUMENT is not None:
        Path(args[PATH_ARGUMENT]).write_bytes(b"half written")
    raise KeyboardInterrupt

{owner}.{name} = interrupt
sys.exit(main({argv!r}))
"""

#: ``degeneracy scan`` in a fresh interpreter that gets a Ctrl-C as it exits: in an exit
#: handler registered before the command's (so run after them), as torch's are.
_CTRL_C_AT_EXIT = (
    CTRL_C_RAISES
    + """
import atexit, os, signal, sys, time
from degeneracy.cli import main

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)

atexit.register(ctrl_c)
sys.exit(main({argv!r}))
"""
)

#: Each report writer: (module to import, its owner of the function, function, argument
#: holding the path being written (None: the file is open already), report suffix).
_REPORT_WRITERS = [
    ("ase.io", "ase.io", "write", 0, ".singular.extxyz"),
    ("matplotlib.figure", "matplotlib.figure.Figure", "savefig", 1, ".histogram.png"),
    ("chemiscope", "chemiscope", "write_input", 0, ".chemiscope.json.gz"),
    ("degeneracy.files", "degeneracy.files", "json_text", None, ".summary.json"),
]


def test_cli_reports_interrupted_are_finished_by_a_rerun(methane_file, tmp_path):
    """Ctrl-C in the reports (after the merge) used to find the chunks deleted: the rerun
    computed everything again. Now each interruption, in each report writer, says what
    was kept (exit 130, no traceback), leaves no half-written file, and the rerun
    computes nothing; a Ctrl-C as it exits, everything written, no longer prints
    "Exception ignored in atexit callback" and a traceback."""
    output = tmp_path / "r.csv"
    parts = scanning.ChunkStore(output).folder
    argv = [str(methane_file), "--output", str(output), "--workers", "1"]
    argv += ["--chunk-size", "40", "--no-progress", "--top", "3", *SMALL]
    merged = None
    for module, owner, name, argument, suffix in _REPORT_WRITERS:
        script = _REPORT_INTERRUPTED.format(
            module=module, owner=owner, name=name, argument=argument, argv=["scan", *argv]
        )
        run = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 130, run.stderr
        assert run.stderr.splitlines() == [
            f"degeneracy scan: reports interrupted; {output} and its chunks in {parts} are "
            "kept: rerun the same command to finish the reports (nothing is computed again)",
            "degeneracy scan: interrupted",
        ]
        assert sorted(path.name for path in parts.iterdir()) == [
            "chunk-0000000.parquet",
            "chunk-0000001.parquet",
            "chunk-0000002.parquet",
            "manifest.json",
        ]
        merged = merged or output.read_bytes()
        assert output.read_bytes() == merged
        assert not (tmp_path / f"r{suffix}").exists(), suffix  # this run's, cut short
        assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]
    script = _CTRL_C_AT_EXIT.format(argv=["scan", *argv])
    rerun = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0 and rerun.stderr == "", rerun.stderr
    assert "nothing left to compute, 3 of 3 chunks resumed" in rerun.stdout
    assert not parts.exists() and output.read_bytes() == merged
    for suffix in COMPANION_SUFFIXES:
        assert (tmp_path / f"r{suffix}").stat().st_size > 100, suffix
    assert json.loads((tmp_path / "r.summary.json").read_text())["n_environments"] == 120


def test_an_interrupt_a_library_swallowed_stops_the_reports(
    capsys, methane_file, tmp_path, monkeypatch
):
    """Ctrl-C inside a weakref callback (matplotlib's, a WeakSet's) is printed by Python
    as "Exception ignored in: ..." with a traceback, and lost: the scan went on and
    exited 0."""
    from degeneracy.figures import scan as figures

    histogram = figures.cn_histogram

    def swallowing(*args, **kwargs):
        histogram(*args, **kwargs)
        _Unstoppable()  # its __del__ raises KeyboardInterrupt where nothing catches it

    monkeypatch.setattr(figures, "cn_histogram", swallowing)
    output = tmp_path / "r.parquet"
    hook = sys.unraisablehook
    code = _scan_on_a_local_cluster([str(methane_file), "--output", str(output), *SMALL])
    captured = capsys.readouterr()
    assert code == 130
    assert "Exception ignored" not in captured.err and "Traceback" not in captured.err
    assert f"degeneracy scan: reports interrupted; {output} and its chunks" in captured.err
    assert not (tmp_path / "r.summary.json").exists()  # stopped after the histogram
    assert scanning.ChunkStore(output).chunk_files()
    assert sys.unraisablehook is hook


class _Unstoppable:
    def __del__(self):
        raise KeyboardInterrupt


#: A Ctrl-C (SIGINT) sent while matplotlib.ft2font initialises, as the reports import it:
#: at the first Python function its initialisation calls (creating its enums).
_SIGINT_IN_FT2FONT = (
    CTRL_C_RAISES
    + """
import os, signal, sys
from degeneracy.cli import scan as command

armed = []

class Finder:
    def find_spec(self, name, path, target=None):
        if name == "matplotlib.ft2font":
            armed.append("importing")

def tracer(frame, event, arg):
    if armed == ["importing"] and frame.f_code.co_filename.endswith("enum.py"):
        armed.append("sent")
        os.kill(os.getpid(), signal.SIGINT)

sys.meta_path.insert(0, Finder())
sys.settrace(tracer)
try:
    command.figure_writers()
except KeyboardInterrupt:
    sys.exit(130 if "sent" in armed else 1)
sys.exit(4)  # no Python code in the initialisation: nothing to test
"""
)


def test_ctrl_c_while_the_reports_import_matplotlib_is_not_fatal():
    """A Ctrl-C inside ft2font's initialisation gave "ImportError: initialization failed",
    a traceback, and at exit "Fatal Python error: PyThreadState_Get: the function must be
    called with the GIL held" (1 of 40 random Ctrl-Cs in a small scan's reports)."""
    run = subprocess.run(
        [sys.executable, "-c", _SIGINT_IN_FT2FONT], capture_output=True, text=True, timeout=300
    )
    if run.returncode == 4:
        pytest.skip("this matplotlib's ft2font runs no Python code while it initialises")
    assert run.returncode == 130 and run.stderr == "", run.stderr


def test_ctrl_c_while_featomic_builds_a_calculator_waits_for_it(monkeypatch, ctrl_c_raises):
    """A Ctrl-C inside featomic's constructor, as the reports describe the most singular
    environments, left a half-made calculator whose __del__ printed a traceback at exit."""
    from degeneracy.representations import soap as soap_module

    original = soap_module.new_calculator

    def interrupted(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while featomic builds it
        return original(*args, **kwargs)

    monkeypatch.setattr(soap_module, "new_calculator", interrupted)
    representation = dg.SoapPowerSpectrum(sigma=0.41, n_max=3, l_max=1)  # built nowhere yet
    with pytest.raises(KeyboardInterrupt):
        scanning.describe_singular(dg.sample_methane(1, seed=0), representation)
    built = scanning.RepresentationRecipe.of(representation).build(6, [1])
    assert built._calculator is not None  # made whole, then interrupted


def test_removing_the_chunks_holds_ctrl_c_back_until_they_are_gone(
    tmp_path, monkeypatch, ctrl_c_raises
):
    """Ctrl-C midway left some chunks beside the manifest: a rerun computed the others."""
    store = _store_with_chunks(tmp_path, 3)
    original = Path.unlink

    def interrupting(path, *args, **kwargs):
        if path.name == "chunk-0000000.parquet":
            signal.raise_signal(signal.SIGINT)
        original(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", interrupting)
    with pytest.raises(KeyboardInterrupt):
        store.remove()
    assert not store.folder.exists()
    with pytest.raises(ValueError), scanning.interrupts_deferred():  # its own error goes on
        signal.raise_signal(signal.SIGINT)
        raise ValueError
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_is_held_back_as_ctrl_c_is(monkeypatch):
    """SIGTERM (the command line's Terminated) cut the chunk removal and the lock's
    bookkeeping short, where Ctrl-C waited for them."""
    from degeneracy.cli import Terminated, signals_as_exceptions

    done, before = [], signal.getsignal(signal.SIGTERM)
    with signals_as_exceptions(), pytest.raises(Terminated):
        with scanning.interrupts_deferred():
            signal.raise_signal(signal.SIGTERM)
            done.append("after the signal")
        done.append("after the block")
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_cli_singular_file_carries_the_scan_numbers_and_every_key(capsys, tmp_path):
    """X.singular.extxyz had the s_min and CN of describe_singular's own spectrum, which
    differ from the scan's in the last digits (7.549033453643865e-18 against ...868e-18
    for a regular tetrahedron), and left out the keys whose value was None."""
    frames = dg.sample_methane(6, seed=2)
    frames.insert(2, _regular_methane(0.0))  # s_min at round-off: symmetry zeros
    frames.insert(5, _regular_methane(3.0))
    dataset = tmp_path / "td.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "td.csv"
    argv = [str(dataset), "--output", str(output), "--top", "4", "--chemiscope-limit", "0"]
    assert _scan_on_a_local_cluster([*argv, *SMALL]) == 0, capsys.readouterr().err
    rows = {row["structure"]: row for row in dg.read_results(output).to_pylist()}
    singular = ase.io.read(tmp_path / "td.singular.extxyz", ":")
    assert [atoms.info["structure"] for atoms in singular][:2] == [2, 5]
    for atoms in singular:
        assert list(atoms.info) == list(SINGULAR_INFO_KEYS)
        row = rows[atoms.info["structure"]]
        for key in ("s_min", "s_max", "cn"):
            assert atoms.info[key] == row[key], key
    # a missing value: NaN for a number, "none" for text (extxyz has no empty value)
    assert np.isnan(singular[0].info["near_symmetry_distance"])
    assert [atoms.info["pair_swap"] for atoms in singular] == ["none"] * 4
    assert [atoms.info["near_swap_unseen"] for atoms in singular] == ["none"] * 4  # SOAP
    summary = json.loads((tmp_path / "td.summary.json").read_text())
    assert [row["s_min"] for row in summary["most_singular"]] == [
        atoms.info["s_min"] for atoms in singular
    ]


@pytest.mark.slow
def test_scan_100k_methane_kill_and_resume(tmp_path):
    """100 000 random CH4 environments on 2 worker processes, killed once and resumed;
    the result equals an uninterrupted run byte for byte."""
    frames = dg.sample_methane(100_000, seed=2022)
    dataset = tmp_path / "methane-100k.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "resumed.parquet"
    command = _scan_command(dataset, output, "--workers", "2", "--chunk-size", "1000", "--top", "5")
    command = [c for c in command if c not in SMALL]  # the default n_max, l_max
    finished = _kill_after_chunks(command, tmp_path / "resumed.parquet.parts", 20, 3600)
    assert not output.exists() and 20 <= finished < 100
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{finished} of 100 chunks resumed" in rerun.stdout

    reference = tmp_path / "reference.parquet"
    command = [c if c != str(output) else str(reference) for c in command]
    fresh = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    assert fresh.returncode == 0, fresh.stderr
    assert output.read_bytes() == reference.read_bytes()
    table = dg.read_results(output)
    assert table.num_rows == 100_000
    assert table.column("reason").to_pylist() == [""] * 100_000
    # spot check against the plain library loop (default SOAP, frames as read back)
    read = ase.io.read(dataset, "::1000")
    _, jacobian = dg.SoapPowerSpectrum().jacobian(read)
    expected = dg.singular_spectrum(jacobian, dg.neighbor_positions(read)).cn
    np.testing.assert_allclose(np.asarray(table.column("cn"))[::1000], expected, rtol=1e-8)


def _rattled_silicon(n_cells: int = 3) -> list[ase.Atoms]:
    """Rattled 8-atom diamond silicon cells (8 Si centres each)."""
    silicon = bulk("Si", "diamond", a=5.43, cubic=True)
    frames = []
    for seed in range(n_cells):
        atoms = silicon.copy()
        atoms.rattle(0.03, seed=seed)
        frames.append(atoms)
    return frames


def _tight_acsf():
    """ACSF 'tight' at 3 Å: blind to the Si-Si bonds and angles of diamond silicon."""
    return dg.Acsf(parameter_set="tight", cutoff=3.0, center="Si", neighbors=["Si"])


def test_worker_notes_reach_the_caller_once_per_subject(tmp_path, monkeypatch):
    frames = _rattled_silicon()
    acsf = _tight_acsf()
    output = tmp_path / "si.parquet"
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(frames, acsf, output=output, chunk_size=8, **_threads())
    assert summary.n_chunks == 3  # 24 environments, the same notes from every chunk
    messages = package_warnings(caught)
    assert len(messages) == 2, messages
    assert "no radial function reaches the nearest-neighbour distances" in messages[0]
    assert "sees no bond angles here: in 24 of the 24 environments checked" in messages[1]
    for message in messages:  # worded for the data set, not for one chunk
        assert message.endswith(
            "(scan: in 24 of the 24 environments scanned, from structure 0, atom 0)"
        )
    assert summary.warnings == messages and summary.to_dict()["warnings"] == messages
    assert scanning.chunk_notes(pq.read_schema(output)) == []  # the merged file: data only
    assert dg.read_results(output).num_rows == 24
    # a scan resumed with a later chunk finished and an earlier one not (reachable with
    # several workers) reports the notes of the uninterrupted scan
    resumed = tmp_path / "resumed.parquet"
    store = scanning.ChunkStore(resumed)
    original = scanning.ChunkStore.merge

    def interrupting(self, n_chunks, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scanning.ChunkStore, "merge", interrupting)
    with pytest.warns(dg.DegeneracyWarning), pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(frames, acsf, output=resumed, chunk_size=8, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "merge", original)
    stored = [scanning.chunk_notes(pq.read_schema(store.chunk_path(k))) for k in range(3)]
    # each chunk keeps which of its environments each note holds for, by structure and atom
    assert [[note["count"] for note in notes] for notes in stored] == [[8, 8]] * 3
    assert stored[1][0]["environments"] == [[1, atom] for atom in range(8)]
    store.chunk_path(0).unlink()
    with pytest.warns(dg.DegeneracyWarning) as caught:
        again = dg.scan_dataset(frames, acsf, output=resumed, chunk_size=8, **_threads())
    assert again.n_resumed_chunks == 2 and again.warnings == messages
    assert package_warnings(caught) == messages
    assert resumed.read_bytes() == output.read_bytes()
    # the scaled set at a cutoff that keeps the first shell: bonds reached, angles still not
    scaled = dg.Acsf(parameter_set="scaled", cutoff=3.5, center="Si", neighbors=["Si"])
    notes = scaled.diagnose(environments_of(frames[0], range(8), cutoff=3.5))
    assert [note.split(":")[0] for note in notes] == [
        "ACSF (cutoff 3.5 Å) sees no bond angles here"
    ]


def _scan_warnings(frames, representation, output, **kwargs) -> list[str]:
    """The DegeneracyWarnings of ``dg.scan_dataset`` (they are its summary's too)."""
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(frames, representation, output=output, **kwargs, **_threads())
    messages = package_warnings(caught)
    assert summary.warnings == messages
    return messages


def test_scan_warnings_do_not_depend_on_the_chunk_size(tmp_path):
    """Each chunk worded its notes for itself ("in 8 of the 8 environments checked",
    another chunk's distance range): two chunk sizes gave two texts of one data set."""
    frames = _rattled_silicon()
    acsf = _tight_acsf()
    texts = [
        _scan_warnings(frames, acsf, tmp_path / f"si{size}.parquet", chunk_size=size)
        for size in (5, 8, 1000)
    ]
    assert texts[0] == texts[1] == texts[2]
    assert "in 24 of the 24 environments checked" in texts[0][1]


def _regular_methane(shift: float) -> ase.Atoms:
    """CH4 with its four H at the corners of a regular tetrahedron (point group Td)."""
    d = 1.09 / np.sqrt(3)
    atoms = ase.Atoms(
        "CH4", positions=[[0, 0, 0], [d, d, d], [-d, -d, d], [-d, d, -d], [d, -d, -d]]
    )
    atoms.positions += shift
    return atoms


def test_scan_warnings_name_structures_by_their_index_in_the_data_set(tmp_path):
    """The OM's note named "frame 1 of this call": a frame of one chunk's batch."""
    frames = dg.sample_methane(8, seed=4)
    frames.insert(3, _regular_methane(1.0))  # degenerate OM eigenvalues (a kink)
    frames.insert(6, _regular_methane(-2.0))
    om = dg.OverlapMatrix()
    texts = [
        _scan_warnings(frames, om, tmp_path / f"om{size}.parquet", centers="C", chunk_size=size)
        for size in (2, 4, 1000)
    ]
    assert texts[0] == texts[1] == texts[2]
    (message,) = texts[0]
    assert message.startswith("om degenerate eigenvalues: 2 of 2 frames (first: structure 3,")
    assert (
        "no Jacobian (a kink): their spectrum describes one one-sided derivative, and their "
        "verdict is 'kink' (scan: in 2 of the 10" in message
    )
    assert "of this call" not in message
    assert message.endswith("(scan: in 2 of the 10 environments scanned, from structure 3, atom 0)")


def test_a_representation_error_names_the_environment(soap):
    """An error of the fingerprint about "frame 1" of its batch: the structure and atom."""

    class Fussy(dg.SoapPowerSpectrum):
        def jacobian(self, frames):
            for k, atoms in enumerate(frames):
                if atoms.info.get("fussy"):
                    raise dg.DegeneracyError(f"fussy: frame {k}, atom 3: not this one")
            return super().jacobian(frames)

    environments = dg.sample_methane(4, seed=1)
    for k, atoms in enumerate(environments):
        atoms.info.update(structure=10 + k, atom=0)
    environments[2].info["fussy"] = True
    fussy = Fussy(n_max=2, l_max=2, center="C", neighbors=["H"])
    message = "fussy: structure 12, atom 0, neighbour 3: not this one"
    with pytest.raises(dg.DegeneracyError, match=f"^{message}$"):
        dg.environment_spectra(environments, fussy, batch_size=4)


def test_most_singular_environments_of_a_crystal_get_a_symmetry_verdict():
    """12 equal neighbours (an fcc site): beyond the permutation enumeration, the anchored
    search still says the zeros are O_h's (they were reported as untested before)."""
    copper = bulk("Cu", "fcc", a=3.6)
    environments = environments_of(copper, [0], cutoff=3.0)
    assert len(environments[0]) == 13
    soap = dg.SoapPowerSpectrum(center="Cu", neighbors=["Cu"], cutoff=3.0)
    (entry,) = scanning.describe_singular(environments, soap)
    assert entry["symmetric"] is True and entry["verdict"] == "symmetry"
    assert entry["symmetry_residual"] < 1e-6


def test_the_verdicts_of_large_environments_show_their_progress(capsys):
    """The symmetry search of a large environment takes seconds to minutes (helper-155: 190
    neighbours, minutes without a word): a bar counts the environments described, and the
    described entries are those without it."""
    copper = bulk("Cu", "fcc", a=3.6)
    environments = environments_of(copper * (2, 1, 1), [0, 1], cutoff=3.0)
    soap = dg.SoapPowerSpectrum(center="Cu", neighbors=["Cu"], cutoff=3.0)
    quiet = scanning.describe_singular(environments, soap)
    assert capsys.readouterr().err == ""
    shown = scanning.describe_singular(environments, soap, progress=True)
    err = capsys.readouterr().err
    assert "verdicts" in err and "2/2" in err, err
    assert [entry["verdict"] for entry in shown] == [entry["verdict"] for entry in quiet]
    assert [entry["cn"] for entry in shown] == [entry["cn"] for entry in quiet]
    with pytest.raises(dg.DegeneracyError, match="progress"):
        scanning.describe_singular(environments, soap, progress="yes")


def test_zeros_of_a_near_symmetric_environment_are_named_so(capsys):
    """CH4 1 mÅ from T_d, beyond the symmetry tolerance: its zero is T_d's, lifted as d²
    (sensitivity.near_symmetry); the most-singular table said "spurious"."""
    td = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3) * 1.09
    noise = np.random.default_rng(3).standard_normal((4, 3))
    environment = dg.environment_from_neighbors(td + 1e-3 * noise)
    (entry,) = scanning.describe_singular([environment], dg.SoapPowerSpectrum())
    assert entry["symmetric"] is False and entry["verdict"] == "near-symmetry"
    assert 5e-4 < entry["near_symmetry_distance"] < 2e-3 and entry["pair_swap"] is None


def test_a_nearly_symmetric_environment_with_a_free_zero_is_spurious():
    """C3v within 1e-5 Å and a radial-only ACSF: its zeros are no more than C3v's six,
    but one turns the cone angle, which C3v leaves free (test_sensitivity has the count)."""
    shape = [(90, 0, 1.0), (-19.47, 0, 1.2), (-19.47, 120, 1.2), (-19.47, 240, 1.2)]
    exact = np.array([dg.spherical_point(beta, alpha, r) for beta, alpha, r in shape])
    noisy = exact + 1e-5 * np.random.default_rng(2).standard_normal(exact.shape)
    radial = dg.Acsf(parameter_set="custom", g2=[(4.0, 0.8 + 0.1 * k) for k in range(10)], g4=[])
    environment = dg.environment_from_neighbors(noisy)
    (entry,) = scanning.describe_singular([environment], radial)
    assert entry["symmetric"] is True and entry["verdict"] == "spurious"


def test_zeros_of_a_fingerprint_shorter_than_the_motions_are_dimension():
    """The s-orbital OM has 5 features for CH4's 9 motions: its 4 zeros at every
    environment were reported as spurious."""
    frames = dg.sample_methane(2, seed=8)
    entries = scanning.describe_singular(frames, dg.OverlapMatrix(orbitals="s"))
    assert [entry["verdict"] for entry in entries] == ["dimension", "dimension"]


def test_a_scan_of_every_centre_takes_each_species_builtin_basis(tmp_path, monkeypatch):
    """The recipe used to pass the C-centred built-in basis on to the H-centred rebuilds;
    a given basis fitted on other species is kept, and said once."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path / "cache"))
    frames = dg.sample_methane(4, seed=3)
    settings = {"sigma": 0.3, "n_max": 3, "l_max": 1}
    builtin = dg.SoapPowerSpectrum(**settings, basis="optimal")
    output = tmp_path / "builtin.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)
        dg.scan_dataset(frames, builtin, output=output, centers="all", chunk_size=8, **_threads())
    table = dg.read_results(output)
    hydrogen = np.asarray(table.column("species")) == "H"
    h_soap = dg.SoapPowerSpectrum(**settings, basis="optimal", center="H", neighbors=["C", "H"])
    environments = [e for atoms in frames for e in structure_environments(atoms, cutoff=2.5)]
    h_environments = [e for e in environments if e.numbers[0] == 1]
    _, jacobian = h_soap.jacobian(h_environments)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(h_environments))
    np.testing.assert_allclose(np.asarray(table.column("s_max"))[hydrogen], spectrum.values[:, 0])

    fitted = dg.fit_optimal_basis(frames, sigma=0.3, n_max=3, l_max=1)
    given = dg.SoapPowerSpectrum(**settings, basis="optimal", optimal_basis=fitted)
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(
            frames, given, output=tmp_path / "given.parquet", centers="all", **_threads()
        )
    messages = package_warnings(caught)
    assert len(messages) == 1 and summary.warnings == messages
    subject = "fitted on C-centred environments with H neighbours, and is used for H-centred"
    assert subject in messages[0]


def test_a_scan_recipe_names_its_radial_basis(monkeypatch):
    """Without the basis in the manifest, a scan resumed after a featomic upgrade (which
    refits the built-in bases) would join chunks of two bases into one table."""
    settings = {"sigma": 0.3, "n_max": 2, "l_max": 1, "basis": "optimal"}
    builtin = scanning.RepresentationRecipe.of(dg.SoapPowerSpectrum(**settings))
    assert sorted(builtin.describe()["basis"]) == ["C", "H"]
    assert "optimal_basis" not in builtin.kwargs  # chosen per centre on the workers
    fitted = dg.fit_optimal_basis(dg.sample_methane(20, seed=1), sigma=0.3, n_max=2, l_max=1)
    given = scanning.RepresentationRecipe.of(dg.SoapPowerSpectrum(**settings, optimal_basis=fitted))
    assert given.describe()["basis"] == fitted.digest() and given.token != builtin.token
    gto = scanning.RepresentationRecipe.of(dg.SoapPowerSpectrum(sigma=0.3, n_max=2, l_max=1))
    assert "basis" not in gto.describe()
    monkeypatch.setattr("featomic.__version__", "99.0.0")
    upgraded = scanning.RepresentationRecipe.of(dg.SoapPowerSpectrum(**settings))
    assert upgraded.token != builtin.token


def test_read_format_names_a_format_ase_knows(methane_file, tmp_path, capsys):
    """--read-format bogus ended in "ase knows no structure format 'bogus'; name the file
    .xyz or .extxyz", advice about the file's name for a format the user typed."""
    renamed = tmp_path / "methane.dat"
    renamed.write_bytes(Path(methane_file).read_bytes())
    assert len(list(scanning.Dataset(renamed, read_format="extxyz").structures())) == 120
    argv = ["scan", str(renamed), "--read-format", "bogus", "--output", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("read format 'bogus': ase knows no such format (e.g. extxyz, "
                                "xyz, traj, cif, vasp)"), err  # fmt: skip


# ---------------------------------------------------------------- what a scan records


def _organic_molecules():
    """CH4, C2H6, CH3OH and H2O rattled by 0.03 Å: C, H and O centres whose environments
    have several neighbour species."""
    frames = []
    for seed, name in enumerate(["CH4", "C2H6", "CH3OH", "H2O"]):
        atoms = molecule(name)
        atoms.rattle(0.03, seed=seed)
        frames.append(atoms)
    return frames


def test_a_scan_records_the_fingerprint_of_each_species_it_scanned(soap, tmp_path):
    """A scan of every centre rebuilds SOAP for each environment's species, but its
    summary said center C, neighbours [H] and centres null: rebuilt from it, the
    fingerprint of an ethane C (neighbours C and H) was another one."""
    frames = _organic_molecules()
    output = tmp_path / "all.parquet"
    summary = dg.scan_dataset(frames, soap, output=output, centers="all", **_threads())
    described = summary.settings["representation"]
    assert "center" not in described["kwargs"] and "neighbors" not in described["kwargs"]
    assert described["kwargs"]["n_max"] == 4 and described["species"].startswith("center and")
    assert summary.centers is None and summary.centers_scanned == ["H", "C", "O"]
    found = {(e["center"], tuple(e["neighbors"])): e["environments"] for e in summary.fingerprints}
    assert found[("C", ("H",))] == 1 and found[("C", ("H", "C"))] == 2
    assert found[("C", ("H", "O"))] == 1 and found[("O", ("H",))] == 1
    assert sum(found.values()) == summary.n_environments == 22
    recorded = summary.to_dict()
    assert recorded["fingerprints"] == summary.fingerprints
    assert recorded["centers_scanned"] == ["H", "C", "O"]

    # the fingerprint rebuilt from the summary gives the scan's numbers
    table = dg.read_results(output)
    rows = table.to_pylist()
    (row,) = [r for r in rows if r["structure"] == 1 and r["atom"] == 0]  # an ethane C
    (ethane_c,) = environments_of(frames[1], [0], cutoff=2.5)
    rebuilt = dg.SoapPowerSpectrum(**described["kwargs"], center="C", neighbors=["H", "C"])
    _, jacobian = rebuilt.jacobian([ethane_c])
    values = dg.singular_spectrum(jacobian, dg.neighbor_positions([ethane_c])).values[0]
    assert row["s_min"] == pytest.approx(values[-1], rel=1e-9)


def test_resumed_chunks_bring_their_fingerprints(soap, tmp_path, monkeypatch):
    frames = _organic_molecules()
    reference = dg.scan_dataset(
        frames, soap, output=tmp_path / "ref.parquet", centers="all", chunk_size=4, **_threads()
    )
    output = tmp_path / "resumed.parquet"
    _scan_interrupted_after(
        monkeypatch, 2, frames, soap, output=output, centers="all", chunk_size=4, **_threads()
    )
    summary = dg.scan_dataset(
        frames, soap, output=output, centers="all", chunk_size=4, **_threads()
    )
    assert summary.n_resumed_chunks == 2
    assert summary.fingerprints == reference.fingerprints
    assert summary.centers_scanned == reference.centers_scanned


def test_a_representation_used_as_given_records_no_fingerprints(methane_file, tmp_path):
    om = dg.OverlapMatrix()
    output = tmp_path / "om.parquet"
    summary = dg.scan_dataset(methane_file, om, output=output, centers="C", **_threads())
    assert summary.fingerprints is None and summary.centers_scanned == ["C"]
    assert "species" not in summary.settings["representation"]


def test_a_partial_scan_of_the_format_before_the_fingerprints_is_refused(
    soap, methane_file, tmp_path, monkeypatch
):
    """Its manifest described SOAP with center C and neighbours [H] and had format 2; its
    chunks record no fingerprints. Refused with the usual message, not a crash."""
    output = tmp_path / "r.parquet"
    original = scanning.ChunkStore.write_chunk
    written = []

    def interrupting(self, chunk, table):
        if written:
            raise KeyboardInterrupt
        original(self, chunk, table.replace_schema_metadata({}))  # as an old chunk
        written.append(chunk)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(methane_file, soap, output=output, chunk_size=40, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    path = tmp_path / "r.parquet.parts" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format"] = 2
    manifest["representation"]["kwargs"].update(center="C", neighbors=["H"])
    del manifest["representation"]["species"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(dg.DegeneracyError) as refused:
        dg.scan_dataset(methane_file, soap, output=output, chunk_size=40, **_threads())
    assert str(refused.value) == (
        f"{path.parent} holds partial results of a different scan (changed: format, "
        "representation; written by another version of degeneracy); rerun with restart=True "
        "to discard them"
    )
    summary = dg.scan_dataset(
        methane_file, soap, output=output, chunk_size=40, restart=True, **_threads()
    )
    assert summary.n_resumed_chunks == 0 and summary.fingerprints == [
        {"center": "C", "neighbors": ["H"], "environments": 120}
    ]


def test_the_most_singular_table_shows_the_distance_to_symmetry():
    """A CH4 rattled by 0.03 Å (CN ~1e4, "symmetric no") read as a discovery: the table
    had no column saying how near a symmetric environment it is."""
    row = {"structure": 0, "atom": 0, "species": "C", "n_neighbors": 4, "cn": 9380.0}
    rows = [
        {**row, "s_min": 1e-3, "symmetric": False, "symmetry_residual": 0.0312},
        {**row, "s_min": 1e-3, "symmetric": None, "symmetry_residual": None},
    ]
    header, first, second = format_top(rows).splitlines()
    columns = re.split(r"\s{2,}", header.strip())
    assert columns[columns.index("symmetric") + 1] == "Δsym Å"
    assert first.split()[7:9] == ["no", "0.031"]
    assert second.split()[7:9] == ["n/a", "n/a"]
    assert max(len(line) for line in (header, first, second)) < 110


def test_cli_scan_of_every_centre_records_and_prints_what_it_scanned(capsys, tmp_path):
    dataset = tmp_path / "mols.extxyz"
    ase.io.write(dataset, _organic_molecules(), format="extxyz")
    output = tmp_path / "scan2.parquet"
    code = _scan_on_a_local_cluster(
        [str(dataset), "--centers", "all", "--output", str(output), "--top", "2", *SMALL]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scanned 22 environments (centres: all atoms: H,C,O) of 4 structures" in out
    lines = out.splitlines()
    at = next(k for k, line in enumerate(lines) if line.lstrip().startswith("rank"))
    assert re.search(r"symmetric\s+Δsym Å\s+zeros", lines[at]), lines[at]
    summary = json.loads((tmp_path / "scan2.summary.json").read_text())
    assert summary["centers"] is None and summary["centers_scanned"] == ["H", "C", "O"]
    assert "center" not in summary["settings"]["representation"]["kwargs"]
    assert {"center": "C", "neighbors": ["H", "C"], "environments": 2} in summary["fingerprints"]
    residuals = [row["symmetry_residual"] for row in summary["most_singular"]]
    assert all(0.01 < r < 0.1 for r in residuals)  # rattled by 0.03 Å: near, not at, symmetry
    assert [line.split()[8] for line in lines[at + 1 : at + 3]] == [f"{r:.2g}" for r in residuals]


def test_cli_summary_line_names_the_centres_found():
    every = _scan_summary(centers=None, centers_scanned=["H", "C", "O"])
    assert "(centres: all atoms: H,C,O) of 1 structure" in format_summary(every, {})
    some = _scan_summary(centers=["C", "N"], centers_scanned=["C"])
    assert "(centres: C,N; only C found) of 1 structure" in format_summary(some, {})
    same = _scan_summary(centers=["C"], centers_scanned=["C"])
    assert "(centres: C) of 1 structure" in format_summary(same, {})


@pytest.mark.parametrize(
    ("suffix", "said"),
    [
        # ase's gamess-us-punch reader (its guess for .dat) said only "'NoneType' object
        # has no attribute 'copy'"; its pdb reader reads an XYZ file as no atoms
        ("dat", "read as gamess-us-punch (from its name), not a valid gamess-us-punch file "
                "(ase's reader stopped with AttributeError); if it is an (extended) XYZ "
                "file, name it .xyz or .extxyz, or give --read-format extxyz"),
        ("pdb", "no environments to scan: read as proteindatabank (from its name), it holds "
                "no atoms; if it is an (extended) XYZ file, name it .xyz or .extxyz, or give "
                "--read-format extxyz"),
    ],
)  # fmt: skip
def test_a_file_read_in_another_format_says_which(tmp_path, capsys, suffix, said):
    path = tmp_path / f"methane.{suffix}"
    ase.io.write(tmp_path / "methane.xyz", molecule("CH4"))
    path.write_text((tmp_path / "methane.xyz").read_text())
    assert main(["scan", str(path), "--output", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"degeneracy scan: error: {path}: ") and err.endswith(said), err
    # the format it names is the fix
    argv = ["scan", str(path), "--read-format", "extxyz", "--output", str(tmp_path / "o.csv")]
    assert main([*argv, "--no-progress"]) == 0


def test_most_singular_om_environments_at_a_kink_get_the_verdict_kink():
    """T_d and C3v CH4: the OM's eigenvalues coincide and it has no Jacobian there; the
    most-singular table called them `regular` (CN 87 and 60 of one one-sided derivative),
    which reads as a fingerprint that sees every motion. SOAP keeps `symmetry`."""
    td = _regular_methane(0.0)
    ring = [dg.spherical_point(-20.0, phi, 1.1) for phi in (0.0, 120.0, 240.0)]
    c3v = dg.environment_from_neighbors(np.array([[0.0, 0.0, 1.0], *ring]))
    frames = [td, c3v, *dg.sample_methane(2, seed=5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)  # the scan reports the notes
        entries = scanning.describe_singular(frames, dg.OverlapMatrix())
    assert [e["verdict"] for e in entries] == ["kink", "kink", "regular", "regular"]
    assert entries[0]["symmetric"] is True and entries[0]["pair_swap"] is None
    (soap,) = scanning.describe_singular([td], dg.SoapPowerSpectrum())
    assert soap["verdict"] == "symmetry"
    row = {"structure": 0, "atom": 0, "species": "C", "n_neighbors": 4, "s_min": 0.018}
    rows = [{**row, **entry} for entry in entries]
    table = format_top(rows).splitlines()
    assert table[1].count(sensitivity.KINK_TEXT) == 1 and "regular" in table[3]
    assert singular_info(1, rows[0])["verdict"] == "kink"


def test_cli_scan_counts_the_om_kinks(capsys, tmp_path):
    """The most singular rows and the summary carry `kink`, and the OM's note counts the
    environments at a kink."""
    frames = dg.sample_methane(5, seed=4)
    frames.insert(1, _regular_methane(1.0))
    frames.insert(4, _regular_methane(-2.0))
    dataset = tmp_path / "kinks.extxyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "kinks.parquet"
    arguments = [str(dataset), "--rep", "om", "--centers", "C", "--output", str(output)]
    code = _scan_on_a_local_cluster([*arguments, "--top", "7", "--chemiscope-limit", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "om degenerate eigenvalues: 2 of 2 frames (first: structure 1," in captured.err
    assert "their verdict is 'kink' (scan: in 2 of the 7 environments" in captured.err
    summary = json.loads((tmp_path / "kinks.summary.json").read_text())
    verdicts = {row["structure"]: row["verdict"] for row in summary["most_singular"]}
    assert sorted(k for k, v in verdicts.items() if v == "kink") == [1, 4]
    assert sorted(verdicts.values()) == ["kink"] * 2 + ["regular"] * 5
    assert captured.out.count(sensitivity.KINK_TEXT) == 2
    singular = ase.io.read(tmp_path / "kinks.singular.extxyz", index=":")
    assert sorted(atoms.info["verdict"] for atoms in singular).count("kink") == 2


def test_the_summary_names_acsf_default_angular_functions_but_the_manifest_does_not(tmp_path):
    """summary.json's settings spell out ``angular: g4`` (a reader cannot tell G4 from G5
    otherwise), while the resume manifest keeps ``hypers()``, which leaves it out, so that
    scans interrupted before this change still resume."""
    output = tmp_path / "acsf.parquet"
    summary = dg.scan_dataset(
        dg.sample_methane(4, seed=3), dg.Acsf(), output=output, keep_parts=True, **_threads()
    )
    reported = json.loads(json.dumps(summary.to_dict()))["settings"]["representation"]
    assert reported["kwargs"]["angular"] == "g4"
    manifest = json.loads((tmp_path / "acsf.parquet.parts" / "manifest.json").read_text())
    assert "angular" not in manifest["representation"]["kwargs"]
    assert {k: v for k, v in reported["kwargs"].items() if k != "angular"} == manifest[
        "representation"
    ]["kwargs"]
    g5 = scanning.RepresentationRecipe.of(dg.Acsf(angular="g5"))
    assert (
        scanning.reported_settings({"representation": g5.describe()}, g5)["representation"][
            "kwargs"
        ]["angular"]
        == "g5"
    )
    scanning.ChunkStore(output).remove()  # keep_parts: the caller removes the parts and lock


def test_few_neighbours_note_names_the_neighbour_filter():
    """With --neighbors Si on Cu centres every environment was empty, and the note asked
    only about the cutoff and the units (helper-143)."""
    reasons = np.array([scanning.REASON_FEW_NEIGHBORS] * 3 + [""])
    plain = scanning.few_neighbours_note("d.xyz", reasons, 3.0)
    assert plain.endswith('(cutoff=...), or is the file in bohr (units="bohr")?')
    assert "--neighbors" not in plain
    filtered = scanning.few_neighbours_note("d.xyz", reasons, 3.0, neighbors=[14])
    assert '(units="bohr")' in filtered
    read_as_bohr = scanning.few_neighbours_note("d.xyz", reasons, 3.0, units="bohr")
    # a file read as bohr shrinks: the units cannot be why neighbours are missing
    assert read_as_bohr.endswith("is the cutoff below the nearest-neighbour distance (cutoff=...)?")
    assert "have fewer than 2 neighbours of species Si within the cutoff 3 Å" in filtered
    assert "are the centres' neighbours of other species (neighbors=...)" in filtered
    # structures given as objects have no file to ask about
    given = scanning.few_neighbours_note("4 structures", reasons, 3.0, from_file=False)
    assert given.endswith('or are the positions in bohr (units="bohr")?'), given
    one_in_four = np.array([scanning.REASON_FEW_NEIGHBORS, "", "", ""])  # not above 25 %
    assert scanning.few_neighbours_note("d.xyz", one_in_four, 3.0, neighbors=[14]) is None


def test_environments_a_fingerprint_is_too_small_for_are_named_in_a_warning(tmp_path):
    """SOAP n_max = l_max = 4 on Si with 28 neighbours (80 features, 81 motions) made every
    row `zero` with CN inf and said nothing (helper-155): a fingerprint too small for the
    environments is the settings' doing, and says so once, with how many it holds for."""
    frames = dg.sample_methane(6, seed=2)
    small = dg.SoapPowerSpectrum(n_max=2, l_max=1)  # 8 features, 5 invariants, 9 motions
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(frames, small, output=tmp_path / "s.csv", **_threads())
    (message,) = package_warnings(caught)
    assert message.startswith(
        "blind by dimension: for soap, 8 features, functions of only 5 invariants of the "
        "expansion, for the 9 internal motions of 4 neighbours leave 4 zero singular values "
        "at every configuration (verdict dimension): a larger n_max=... or l_max=..., or "
        "fewer neighbours (a smaller cutoff=...) (scan: in 6 of the 6 environments scanned"
    ), message
    assert summary.warnings == [message]
    results = dg.read_results(tmp_path / "s.csv")
    assert np.all(np.asarray(results.column("s_min")) == 0.0)  # what the note explains
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)  # large enough: no note
        dg.scan_dataset(frames, dg.SoapPowerSpectrum(n_max=3, l_max=1),
                        output=tmp_path / "l.csv", **_threads())  # fmt: skip


def test_the_dimension_note_is_in_the_command_s_terms(tmp_path, capsys):
    frames = dg.sample_methane(3, seed=2)
    data = tmp_path / "m.extxyz"
    ase.io.write(data, frames, format="extxyz")
    code = main(["scan", str(data), "--n-max", "2", "--l-max", "1", "--output",
                 str(tmp_path / "r.csv"), "--workers", "1", "--no-progress",
                 "--chemiscope-limit", "0"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "a larger --n-max or --l-max, or fewer neighbours (a smaller --cutoff)" in err, err
