"""Data-set scans: environments, spectra, chunks, Dask runs, resume, CLI and its errors.

CI tests use small sets (a few hundred environments) and SOAP with n_max = l_max = 4; the
local clusters run in threads except for the end-to-end kill-and-resume run of the CLI.
The 100 000-environment run is ``test_scan_100k_methane_kill_and_resume`` (slow).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase
import ase.io
import numpy as np
import pyarrow.parquet as pq
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

import degeneracy as dg
from degeneracy import scan as scanning
from degeneracy.cli import main
from degeneracy.environments import environments_of, parse_species, structure_environments
from degeneracy.errors import warning_subject
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
    with pytest.raises(dg.DegeneracyError, match="unknown species 'Hx'"):
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
    blind = dg.SoapPowerSpectrum(n_max=4, l_max=4, center="H", neighbors=("H",))
    _, jacobian = blind.jacobian([hydrogen])
    blind_values = dg.singular_spectrum(jacobian, dg.neighbor_positions([hydrogen])).values[0]
    assert blind_values[-1] < 1e-12 * blind_values[0] < spectra.s_min[0]


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


def test_interrupted_scan_resumes_to_the_same_file(soap, methane_file, tmp_path, monkeypatch):
    reference = tmp_path / "reference.parquet"
    dg.scan_dataset(methane_file, soap, output=reference, chunk_size=10, **_threads())

    output = tmp_path / "resumed.parquet"
    original = scanning.ChunkStore.write_chunk
    written = []

    def interrupting(self, chunk, table):
        if len(written) == 3:
            raise KeyboardInterrupt
        original(self, chunk, table)
        written.append(chunk)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(methane_file, soap, output=output, chunk_size=10, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    parts = tmp_path / "resumed.parquet.parts"
    assert not output.exists()
    assert len(list(parts.glob("chunk-*.parquet"))) == 3
    assert (parts / "manifest.json").exists()

    summary = dg.scan_dataset(methane_file, soap, output=output, chunk_size=10, **_threads())
    assert summary.n_resumed_chunks == 3
    assert summary.n_computed == 120 - 30
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
    with pytest.raises(dg.DegeneracyError, match="--restart"):
        dg.scan_dataset(methane_file, other, output=output, chunk_size=40, **_threads())
    summary = dg.scan_dataset(
        methane_file, other, output=output, chunk_size=40, restart=True, **_threads()
    )
    assert summary.n_resumed_chunks == 0 and summary.n_environments == 120


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
    # the caller's structures are not modified
    assert np.abs(in_bohr[0].positions).max() > 1.5 * np.abs(frames[0].positions).max()


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
    with pytest.raises(dg.DegeneracyError):
        write_chemiscope(tmp_path / "view.txt", structures, table, cutoff=2.5)


def test_chemiscope_selection_keeps_the_most_singular():
    import pyarrow as pa

    table = pa.table(
        {"structure": np.arange(100), "cn": np.arange(100, dtype=float)},
    )
    chosen = scanning.chemiscope_selection(table, 10)
    assert len(chosen) == 10
    assert set(range(95, 100)) <= set(chosen.tolist())
    assert len(scanning.chemiscope_selection(table, 200)) == 100


# ---------------------------------------------------------------- command line


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
    assert len(err) == 1 and "unknown species 'Xx'" in err[0]
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(methane_file), "--neighbors", "H,Qq", "--output", output])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown species 'Qq'" in err[0]
    # a real element that the data set does not have: found out by reading it, no cluster
    line = _one_line_error(
        capsys, ["scan", str(methane_file), "--centers", "N", "--output", output]
    )
    assert "no centre of species N (the data set has H,C)" in line
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


def test_cli_bad_scheduler_address(capsys, methane_file, tmp_path):
    argv = ["scan", str(methane_file), "--output", str(tmp_path / "r.parquet"), *SMALL]
    line = _one_line_error(
        capsys, [*argv, "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "1"]
    )
    assert "cannot connect to the Dask scheduler at 'tcp://127.0.0.1:1'" in line
    line = _one_line_error(capsys, [*argv, "--scheduler", "no-such-protocol://x:1"])
    assert "cannot connect to the Dask scheduler" in line
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


def _scan_on_a_local_cluster(arguments: list[str]) -> int:
    """``degeneracy scan ARGUMENTS`` on a one-worker in-process Dask cluster."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
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
    assert all(a.info["verdict"] in ("regular", "symmetry", "spurious") for a in singular)
    assert (tmp_path / "r.histogram.png").read_bytes()[:4] == b"\x89PNG"
    viewer = json.loads(gzip.open(tmp_path / "r.chemiscope.json.gz").read())
    assert len(viewer["structures"]) == 50
    summary = json.loads((tmp_path / "r.summary.json").read_text())
    assert summary["n_environments"] == 120
    assert summary["cn"]["max"] == pytest.approx(top[0])
    assert summary["settings"]["representation"]["kwargs"]["n_max"] == 4


def _scan_command(dataset, output, *extra):
    return [
        *CLI,
        "scan",
        str(dataset),
        "--output",
        str(output),
        "--no-progress",
        "--chemiscope-limit",
        "0",
        "--top",
        "0",
        *SMALL,
        *extra,
    ]


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


def test_cli_scan_of_a_fingerprint_blind_by_dimension(capsys, methane_file, tmp_path):
    output = tmp_path / "om.parquet"
    representation = ["--rep", "om", "--om-orbitals", "s", "--centers", "C"]
    code = _scan_on_a_local_cluster(
        [str(methane_file), *representation, "--output", str(output), "--top", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "120 with s_min = 0 (infinite CN" in out
    assert "no environment has a finite CN" in out
    table = dg.read_results(output)
    assert np.all(np.asarray(table.column("s_min")) == 0)
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


@pytest.mark.slow
def test_scan_100k_methane_kill_and_resume(tmp_path):
    """100 000 random CH4 environments on 2 worker processes, killed once and resumed;
    the result equals an uninterrupted run byte for byte."""
    frames = dg.sample_methane(100_000, seed=2022)
    dataset = tmp_path / "methane-100k.xyz"
    ase.io.write(dataset, frames, format="extxyz")
    output = tmp_path / "resumed.parquet"
    command = _scan_command(dataset, output, "--workers", "2", "--chunk-size", "1000")
    command = [c for c in command if c not in SMALL] + ["--top", "5"]
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


def test_worker_notes_reach_the_caller_once_per_subject(tmp_path, monkeypatch):
    silicon = bulk("Si", "diamond", a=5.43, cubic=True)
    frames = []
    for seed in range(3):
        atoms = silicon.copy()
        atoms.rattle(0.03, seed=seed)
        frames.append(atoms)
    acsf = dg.Acsf(parameter_set="tight", cutoff=3.0, center="Si", neighbors=["Si"])
    output = tmp_path / "si.parquet"
    with pytest.warns(dg.DegeneracyWarning) as caught:
        summary = dg.scan_dataset(frames, acsf, output=output, chunk_size=8, **_threads())
    assert summary.n_chunks == 3  # 24 environments, the same notes from every chunk
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    assert "no radial function reaches the nearest-neighbour distances" in messages[0]
    assert "sees no bond angles here" in messages[1]
    assert summary.warnings == messages and summary.to_dict()["warnings"] == messages
    assert scanning.chunk_notes(pq.read_schema(output)) == []  # the merged file: data only
    assert dg.read_results(output).num_rows == 24
    # a scan resumed after its first chunk reports the finished chunk's notes too
    resumed = tmp_path / "resumed.parquet"
    parts = resumed.with_name(resumed.name + ".parts")
    original = scanning.ChunkStore.write_chunk

    def interrupting(self, chunk, table):
        if any(parts.glob("chunk-*.parquet")):
            raise KeyboardInterrupt
        original(self, chunk, table)

    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", interrupting)
    with pytest.warns(dg.DegeneracyWarning), pytest.raises(KeyboardInterrupt):
        dg.scan_dataset(frames, acsf, output=resumed, chunk_size=8, **_threads())
    monkeypatch.setattr(scanning.ChunkStore, "write_chunk", original)
    (finished,) = parts.glob("chunk-*.parquet")  # whichever chunk the workers ended first
    stored = scanning.chunk_notes(pq.read_schema(finished))
    assert [warning_subject(n) for n in stored] == [warning_subject(m) for m in messages]
    with pytest.warns(dg.DegeneracyWarning) as caught:
        again = dg.scan_dataset(frames, acsf, output=resumed, chunk_size=8, **_threads())
    # the finished chunk's notes come first (its numbers, e.g. distance ranges, are its own)
    assert again.n_resumed_chunks == 1 and again.warnings == stored
    assert [str(w.message) for w in caught] == stored
    assert resumed.read_bytes() == output.read_bytes()
    # the scaled set at a cutoff that keeps the first shell: bonds reached, angles still not
    scaled = dg.Acsf(parameter_set="scaled", cutoff=3.5, center="Si", neighbors=["Si"])
    notes = scaled.diagnose(environments_of(frames[0], range(8), cutoff=3.5))
    assert [note.split(":")[0] for note in notes] == [
        "ACSF (cutoff 3.5 Å) sees no bond angles here"
    ]
