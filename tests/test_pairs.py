"""Degenerate pairs A±: construction, verification, the fold, the PRL grid, the CLI."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import ase
import numpy as np
import pytest
from conftest import angle_blind_methane, fcc_shell
from scipy.spatial.transform import Rotation

import degeneracy as dg
from degeneracy.cli import main


@pytest.fixture(scope="module")
def fingerprints():
    return {
        "soap": dg.SoapPowerSpectrum(sigma=0.3),
        "acsf": dg.Acsf(parameter_set="tight"),
        "acsf-loose": dg.Acsf(parameter_set="loose"),
        "bispectrum": dg.Bispectrum(),
        "om": dg.OverlapMatrix(),
    }


@pytest.fixture(scope="module")
def hundred_pairs():
    return dg.PairSampler().parameters(100, seed=2024)


def _triplets(neighbors):
    """Sorted multiset of (r_i, r_j, cos θ_ij) over unordered neighbour pairs."""
    r = np.linalg.norm(neighbors, axis=1)
    rows = []
    for i in range(len(r)):
        for j in range(i + 1, len(r)):
            cos = neighbors[i] @ neighbors[j] / (r[i] * r[j])
            rows.append((*sorted((r[i], r[j])), cos))
    return np.array(sorted(np.round(rows, 12).tolist()))


def test_members_share_pair_triplets(hundred_pairs):
    for parameters in hundred_pairs[:20]:
        plus, minus = parameters.members()
        np.testing.assert_allclose(_triplets(plus), _triplets(minus), atol=1e-11)
        assert not np.allclose(plus, minus)


def test_sampler_is_reproducible_and_valid(hundred_pairs):
    again = dg.PairSampler().parameters(100, seed=2024)
    assert again == hundred_pairs
    assert dg.PairSampler().parameters(3, seed=2025) != hundred_pairs[:3]
    for atoms in dg.pair_frames(hundred_pairs):
        dg.validate_environment(atoms, cutoff=2.5, min_distance=0.7)
    frames = dg.random_pairs(2, seed=5)
    assert [a.info["member"] for a in frames] == ["+", "-", "+", "-"]
    assert [a.info["pair"] for a in frames] == [0, 0, 1, 1]


def test_hundred_random_pairs(hundred_pairs, fingerprints):
    """The issue's check: ν = 2 equal to round-off; ν = 3 and OM differ; E4 differs."""
    verdicts = dg.verify_pairs(dg.pair_frames(hundred_pairs), fingerprints)
    assert len(verdicts) == 100
    distance = {name: np.array([v.distance[name] for v in verdicts]) for name in fingerprints}
    for name in ("soap", "acsf", "acsf-loose"):
        assert distance[name].max() < 1e-10, name
    for name in ("bispectrum", "om"):
        assert distance[name].min() > 1e-4, name
    fourbody = np.array([v.fourbody for v in verdicts])
    assert np.abs(fourbody[:, 0] - fourbody[:, 1]).min() > 1e-3
    assert not any(v.related for v in verdicts)
    assert min(v.residual for v in verdicts) >= 0.1


def test_related_structures_are_recognised(fingerprints):
    atoms = dg.sample_methane(1, seed=3)[0]
    moved = atoms.copy()
    moved.positions = atoms.positions @ (-Rotation.random(random_state=1).as_matrix()).T
    moved.positions[1:] = moved.positions[[3, 1, 4, 2]]
    verdict = dg.verify_pairs([atoms, moved], {"soap": fingerprints["soap"]})[0]
    assert verdict.related and verdict.residual < 1e-10
    assert verdict.distance["soap"] < 1e-12
    assert verdict.fourbody[0] == pytest.approx(verdict.fourbody[1], rel=1e-12)


def test_pairs_beyond_eight_equal_neighbours_are_verified():
    """12 equal neighbours (12! permutations): a reflected, relabelled fcc shell is the
    same structure; a distorted one is not, with a residual of the distortion's size."""
    shell = fcc_shell()

    def environment(neighbors):
        return ase.Atoms("C" + "H" * 12, positions=np.vstack([np.zeros(3), neighbors]))

    atoms = environment(shell)
    moved = environment((shell @ -Rotation.random(random_state=6).as_matrix().T)[::-1])
    noisy = np.random.default_rng(2).normal(scale=0.05, size=shell.shape)
    distorted = environment(shell + noisy)
    soap = {"soap": dg.SoapPowerSpectrum()}
    same, different = dg.verify_pairs([atoms, moved, atoms, distorted], soap)
    assert same.related and same.residual < 1e-10 and same.distance["soap"] < 1e-12
    assert not different.related and 0.01 < different.residual < 0.1
    assert different.distance["soap"] > 1e-4


def test_fold_has_a_spurious_nu2_zero_along_h4_y(fingerprints):
    folds = dg.PairSampler().folds(5, seed=7)
    frames = dg.fold_frames(folds)
    neighbors = dg.neighbor_positions(frames)
    for k in range(len(frames)):
        assert not dg.point_symmetry(neighbors[k]).symmetric
    # y motion of H4 (column 3·3 + 1), orthogonal to rotations, normalised
    complement = dg.rotation_complement(neighbors)
    e_y4 = np.zeros(12)
    e_y4[10] = 1.0
    projected = np.einsum("fij,fkj,k->fi", complement, complement, e_y4)
    projected /= np.linalg.norm(projected, axis=1, keepdims=True)
    for name in ("soap", "acsf"):
        _, jacobian = fingerprints[name].jacobian(frames)
        spectrum = dg.singular_spectrum(jacobian, neighbors)
        assert np.all(spectrum.values[:, -1] < 1e-8 * spectrum.values[:, 0]), name
        overlap = np.abs(np.einsum("fi,fi->f", spectrum.motions[:, -1], projected))
        np.testing.assert_allclose(overlap, 1.0, atol=1e-6)
        for k in range(len(frames)):  # it trades H2-H4 against H3-H4, equal at the fold
            groups = dg.coincident_pairs(neighbors[k])
            assert [group.pairs for group in groups] == [((1, 3), (2, 3))]
            assert dg.pair_swap_residual(neighbors[k], spectrum.motions[k, -1], groups) < 1e-6
    for name in ("bispectrum", "om"):
        _, jacobian = fingerprints[name].jacobian(frames)
        values = dg.singular_spectrum(jacobian, neighbors).values
        assert np.all(values[:, -1] > 1e-3 * values[:, 0]), name
    verdicts = dg.analyse_frames(frames, fingerprints["soap"])
    assert {v.verdict for v in verdicts} == {"spurious"}
    assert {v.pair_swap for v in verdicts} == {"H2-H4 = H3-H4"}
    assert {v.pair_swap for v in dg.analyse_frames(frames, fingerprints["om"])} == {None}


def test_fold_of_a_pair_keeps_r4_length(hundred_pairs):
    parameters = hundred_pairs[0]
    fold = parameters.fold()
    assert fold.y4 == 0.0
    assert abs(fold.x4) == pytest.approx(np.hypot(parameters.x4, parameters.y4))
    plus, minus = fold.members()
    np.testing.assert_array_equal(plus, minus)
    with pytest.raises(dg.DegeneracyError, match="not 0"):
        dg.fold_frames([parameters])


def test_parameters_round_trip(hundred_pairs):
    parameters = hundred_pairs[1]
    back = dg.PairParameters.from_neighbors(parameters.members()[0])
    np.testing.assert_allclose(list(vars(back).values()), list(vars(parameters).values()))
    with pytest.raises(dg.DegeneracyError, match="not a member"):
        dg.PairParameters.from_neighbors(dg.neighbor_positions(dg.builtin_environment("td")))


def test_prl_grid_is_exact_only_at_beta_zero(fingerprints):
    frames = dg.prl2020_grid()
    assert len(frames) == 162
    verdicts = dg.verify_pairs(frames, {"soap": fingerprints["soap"]})
    beta = np.array([frames[2 * v.pair].info["beta"] for v in verdicts])
    soap = np.array([v.distance["soap"] for v in verdicts])
    assert np.all(soap[beta == 0] < 1e-12)
    assert np.all(soap[beta != 0] > 1e-2)
    assert [frames[2 * k].info["exact"] for k in range(81)] == list(beta == 0)
    assert not any(v.related for v in verdicts)


def test_no_nu2_partner_exists_off_beta_zero():
    """Any exact ν = 2 partner of an equal-radius CH4 is an edge rearrangement of its Gram
    matrix; off β = 0 none is realisable (so the PRL grid cannot be all degenerate)."""
    on_line = dg.neighbor_positions(dg.prl2020_methane(0.0, -144.0))
    assert dg.equal_radius_partner_residual(on_line) < 1e-14
    for beta, alpha in [(4.5, 130.5), (4.5, -130.5), (-9.0, -144.0), (18.0, -162.0)]:
        neighbors = dg.neighbor_positions(dg.prl2020_methane(beta, alpha))
        assert dg.equal_radius_partner_residual(neighbors) > 1e-6, (beta, alpha)
    with pytest.raises(dg.DegeneracyError, match="equal distances"):
        dg.equal_radius_partner_residual(dg.neighbor_positions(dg.sample_methane(1, seed=1)[0]))


def test_odd_number_of_frames_is_refused():
    with pytest.raises(dg.DegeneracyError, match="even"):
        dg.verify_pairs(dg.random_pairs(1, seed=0)[:1], {"soap": dg.SoapPowerSpectrum()})


#: One pair, written out (no sampling).
ONE_PAIR = [dg.PairParameters(x1=1.0, z1=0.3, x2=-0.3, y2=0.8, z2=0.6, x4=-0.4, y4=1.0)]


def test_verify_pairs_takes_a_list_of_fingerprints_as_compare_fingerprints_does():
    frames, soap = dg.pair_frames(ONE_PAIR), dg.SoapPowerSpectrum(sigma=0.3)
    (listed,) = dg.verify_pairs(frames, [soap])
    assert listed == dg.verify_pairs(frames, {"soap": soap})[0]
    with pytest.raises(dg.DegeneracyError, match="two soap fingerprints"):
        dg.verify_pairs(frames, [soap, dg.SoapPowerSpectrum()])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dg.pair_frames([1, 2]), "pairs: item 0 is a int, not a PairParameters"),
        (
            lambda: dg.pair_frames(ONE_PAIR[0]),
            r"pairs: give a list of PairParameters, e\.g\. \[p\]",
        ),
        (lambda: dg.pair_frames(5), "pairs must be a list of PairParameters, got int"),
        (lambda: dg.pair_frames(ONE_PAIR, info=[5]), "info: entry 0 must be a mapping, got 5"),
        (lambda: dg.pair_frames(ONE_PAIR, info=[{}, {}]), "info has 2 entries for 1 pairs"),
        (lambda: dg.pair_frames(ONE_PAIR, info={"a": 1}), "info must be a list of mappings"),
        (lambda: dg.fold_frames([1]), "folds: item 0 is a int, not a PairParameters"),
        (lambda: dg.random_pairs(1, seed=0, sampler="x"), "sampler must be a PairSampler"),
        (lambda: dg.verify_pairs([], dg.SoapPowerSpectrum()), "representations must be a mapping"),
        (lambda: dg.PairParameters("a", 0, 0, 0, 0, 0, 0), "PairParameters.x1 must be a number"),
        (lambda: dg.PairParameters(0, 0, 0, 0, 0, 0, np.nan), "PairParameters.y4 must be a finite"),
        (lambda: dg.PairParameters(0, 0, np.inf, 0, 0, 0, 0), "PairParameters.x2 must be a finite"),
    ],
)
def test_pair_helpers_name_a_bad_argument(call, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        call()


def test_pair_parameters_are_stored_as_floats():
    parameters = dg.PairParameters(1, "0.5", np.float32(0.25), 0, 0, 0, 0)
    assert [type(v) for v in dataclasses.astuple(parameters)] == [float] * 7
    assert parameters.z1 == 0.5


# --- command line -------------------------------------------------------------------------


def test_cli_write_and_verify(tmp_path, capsys):
    path = tmp_path / "pairs.extxyz"
    assert main(["pairs", "--n", "3", "--seed", "11", "--output", str(path)]) == 0
    frames = dg.read_environments(path)
    assert len(frames) == 6 and frames[1].info["member"] == "-"
    capsys.readouterr()
    assert main(["pairs", "--verify", str(path), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["pair"] for r in records] == [0, 1, 2]
    for record in records:
        assert set(record["distance"]) == {"soap", "bispectrum", "acsf", "om"}
        assert record["distance"]["soap"] < 1e-10 and record["distance"]["acsf"] < 1e-10
        assert record["distance"]["bispectrum"] > 1e-4 and record["distance"]["om"] > 1e-4
        assert len(record["fourbody"]) == 2 and record["related"] is False
    assert main(["pairs", "--verify", str(path), "--rep", "soap,bispectrum"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["pair", "d_soap", "d_bispectrum"]
    assert table.splitlines()[1].split()[-2] == "no"
    # CSV writes booleans as spectrum's CSV does (True/False: pandas reads them as bool)
    assert main(["pairs", "--verify", str(path), "--rep", "soap", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["related"] for row in rows] == ["False"] * 3


def test_cli_grid_and_fold(tmp_path, capsys):
    grid = tmp_path / "grid.extxyz"
    assert main(["pairs", "--grid", "--output", str(grid)]) == 0
    assert len(dg.read_environments(grid)) == 162
    fold = tmp_path / "fold.extxyz"
    assert main(["pairs", "--fold", "--n", "2", "--seed", "1", "--output", str(fold)]) == 0
    capsys.readouterr()
    assert main(["spectrum", str(fold), "--format", "json"]) == 0
    assert {r["verdict"] for r in json.loads(capsys.readouterr().out)} == {"spurious"}
    assert main(["spectrum", str(fold), "--rep", "bispectrum", "--format", "json"]) == 0
    assert {r["verdict"] for r in json.loads(capsys.readouterr().out)} == {"regular"}


def test_cli_errors(tmp_path, capsys):
    odd = tmp_path / "odd.extxyz"
    dg.write_environments(odd, dg.random_pairs(1, seed=0)[:1])
    assert main(["pairs", "--verify", str(odd)]) == 2
    assert "even" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["pairs", "--verify", str(odd), "--rep", "soap,nope"])
    assert stop.value.code == 2
    assert "nope" in capsys.readouterr().err
    assert main(["pairs", "--n", "0"]) == 2
    assert "--n" in capsys.readouterr().err
    # 1e12 pairs failed allocating 87 TiB with a traceback
    assert main(["pairs", "--n", "1000000000000"]) == 2
    assert "--n must be at least 1 and at most 1000000" in capsys.readouterr().err
    with pytest.raises(dg.DegeneracyError, match="number of folds must be"):
        dg.PairSampler().folds(10**7, seed=0)
    # the frames are extended XYZ: another name would not read back with --verify
    assert main(["pairs", "--n", "2", "--output", str(tmp_path / "pairs.json")]) == 2
    assert "pairs.json: --output must end with .extxyz or .xyz" in capsys.readouterr().err
    assert not (tmp_path / "pairs.json").exists()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--n", "3", "--rep", "soap"], "--rep"),
        (["--fold", "--sigma", "0.4"], "--sigma"),
        (["--grid", "--format", "json"], "--format"),
        (["--grid", "--seed", "2"], "--seed"),
        (["--verify", "pairs.extxyz", "--n", "4"], "--n"),
    ],
)
def test_cli_refuses_options_the_mode_ignores(argv, named, tmp_path, monkeypatch, capsys):
    """Building pairs takes no fingerprint or verdict options; --verify and --grid no --n/--seed."""
    monkeypatch.chdir(tmp_path)
    assert main(["pairs", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.split(": ")[2].startswith(named)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dg.prl2020_grid(1.0, 2.0), "betas must be a sequence of angles, got 1.0"),
        (lambda: dg.prl2020_grid([0.0], ["a"]), "alphas must be a number, got 'a'"),
        (
            lambda: dg.equal_radius_partner_residual(np.full((4, 3), np.nan)),
            r"equal_radius_partner_residual: neighbour 0: non-finite",
        ),
    ],
)
def test_grid_and_partner_test_name_bad_input(call, match):
    with pytest.raises(dg.DegeneracyError, match=match):
        call()


def test_verify_counts_both_members_in_a_fingerprints_warnings():
    """helper-56: the members were featurised in two calls, so a 4-frame file's ACSF
    warning said "2 of the 2 environments checked"."""
    import warnings

    frames = angle_blind_methane(4, seed=8)  # every H–H pair beyond ACSF's cutoff
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.verify_pairs(frames, [dg.Acsf()])
    angles = [str(w.message) for w in caught if "sees no bond angles" in str(w.message)]
    assert angles and all("in 4 of the 4 environments checked" in m for m in angles), angles


def test_verify_pairs_names_the_callers_frame_and_atom():
    """Its fingerprints saw the members sorted by species and grouped first-then-second:
    an N at atom 1 of frame 4 was "frame 2, atom 3"."""
    frames = dg.random_pairs(3, seed=0)
    odd = frames[4].copy()
    odd.numbers[1] = 7  # N, which the default SOAP has no channel for
    frames[4], frames[5] = odd, odd.copy()
    with pytest.raises(dg.DegeneracyError, match=r"frame 4, atom 1: no channel for neighbour"):
        dg.verify_pairs(frames, [dg.SoapPowerSpectrum()])
