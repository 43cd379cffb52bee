"""Each frame is described with its own species: its results do not depend on the frames
beside it (``--environment any`` over frames of several compositions).

With one fingerprint of the union of a file's neighbour species, a CH4 frame's SOAP and
bispectrum spectra changed when another frame had a C neighbour: the C channel holds the
C centre's own density (pg-start: SOAP CN 2271 alone, 2920 beside a CH3C frame).
"""

from __future__ import annotations

import json
from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.cli import main

#: Three H neighbours of a CH3X frame; the fourth is X.
_HS = [[0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63]]


def methane() -> ase.Atoms:
    """A CH4 environment without symmetry (the P&G start): a regular verdict."""
    return dg.builtin_environment("pg-start")


def with_carbon(shift: float = 0.0) -> ase.Atoms:
    """A CH3C environment: a C centre with three H and one C neighbour."""
    return ase.Atoms("CH3C", positions=[[0, 0, 0], *_HS, [0.9 + shift, -0.8, -0.85 - shift]])


def with_oxygen(shift: float = 0.0) -> ase.Atoms:
    """A CH3O environment: another species than the centre's."""
    return ase.Atoms("CH3O", positions=[[0, 0, 0], *_HS, [0.9 + shift, -0.8, -0.85 - shift]])


def union_representation(name: str, frames: list) -> dg.Representation:
    """``name`` built for the union of the frames' species (what the commands did)."""
    if not dg.species_aware(name):
        return dg.make_representation(name)
    center, neighbors = dg.environment_species(frames)
    return dg.make_representation(name, center=center, neighbors=list(neighbors))


def assert_same_analysis(a: dg.FrameAnalysis, b: dg.FrameAnalysis) -> None:
    np.testing.assert_allclose(a.singular_values, b.singular_values, rtol=1e-9, atol=1e-14)
    assert a.cn == pytest.approx(b.cn, rel=1e-9)
    assert (a.verdict, a.symmetric, a.pair_swap) == (b.verdict, b.symmetric, b.pair_swap)


@pytest.mark.parametrize("name", ["soap", "bispectrum"])
def test_a_frame_s_spectrum_is_its_own_beside_another_composition(name):
    """analyse_by_composition gives the CH4 frame the spectrum it has alone; one
    fingerprint of the union of species gives it another."""
    frames = [methane(), with_carbon()]
    union = union_representation(name, frames)
    (alone,) = dg.analyse_frames([methane()], dg.make_representation(name))
    mixed = dg.analyse_by_composition(frames, union)
    assert_same_analysis(mixed[0], alone)
    (other,) = dg.analyse_frames(
        [with_carbon()], dg.make_representation(name, neighbors=["H", "C"])
    )
    assert_same_analysis(mixed[1], other)
    shared = dg.analyse_frames(frames, union)  # the file's union: not the frame's own
    assert shared[0].cn != pytest.approx(alone.cn, rel=1e-3)


def test_interleaved_compositions_keep_their_order_and_indices():
    """Frames of two compositions in turns come back in their order, numbered as given,
    each with the result it has alone."""
    frames = [with_carbon(), methane(), with_carbon(0.05), methane(), with_oxygen()]
    soap = union_representation("soap", frames)
    results = dg.analyse_by_composition(frames, soap)
    assert [r.frame for r in results] == list(range(len(frames)))
    for atoms, result in zip(frames, results, strict=True):
        _, neighbors = dg.environment_species([atoms])
        (alone,) = dg.analyse_frames([atoms], dg.SoapPowerSpectrum(neighbors=list(neighbors)))
        assert_same_analysis(result, alone)


def test_one_composition_uses_the_fingerprint_as_given(monkeypatch):
    """Frames of one set of species are analysed in one call, with the fingerprint given
    (nothing rebuilt: no cost for a file of one composition)."""
    import degeneracy.scan

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(degeneracy.scan.RepresentationRecipe, "of", refuse)
    soap = dg.SoapPowerSpectrum()
    frames = [methane(), dg.builtin_environment("td")]
    direct = dg.analyse_frames(frames, soap)
    for a, b in zip(dg.analyse_by_composition(frames, soap), direct, strict=True):
        assert a.frame == b.frame
        assert_same_analysis(a, b)
    assert dg.representations_for(frames, soap) == [soap, soap]


def test_an_error_names_the_frame_by_its_place_in_all_frames():
    """A group's "frame 1" is the frame's index among all frames."""
    far = methane()
    far.positions[2] *= 3.0  # beyond the 2.5 Å cutoff
    frames = [methane(), with_carbon(), far]
    with pytest.raises(dg.DegeneracyError, match=r"^frame 2, atom 2: .* beyond the soap cutoff"):
        dg.analyse_by_composition(frames, union_representation("soap", frames))


def test_compare_by_composition_gives_each_frame_its_own_columns():
    """Per fingerprint, a frame's CN and s_min are those of the frame alone; fingerprints
    that are not species-aware are computed once over all frames; order kept."""
    frames = [with_carbon(), methane(), with_oxygen(), methane()]
    names = ["soap", "om", "bispectrum", "acsf"]
    union = {name: union_representation(name, frames) for name in names}
    comparison = dg.compare_by_composition(frames, union)
    assert comparison.names == names
    for k, atoms in enumerate(frames):
        _, neighbors = dg.environment_species([atoms])
        own = {
            name: dg.make_representation(name, neighbors=list(neighbors))
            if name != "om"
            else dg.make_representation("om")
            for name in names
        }
        alone = dg.compare_fingerprints([atoms], own)
        np.testing.assert_allclose(
            comparison.singular_values[k], alone.singular_values[0], rtol=1e-9, atol=1e-14
        )
        np.testing.assert_allclose(comparison.feature_norms[k], alone.feature_norms[0], rtol=1e-12)
        np.testing.assert_allclose(
            comparison.near_swap_residuals[k], alone.near_swap_residuals[0], rtol=1e-6
        )
        assert comparison.nearest_coincidences[k] == alone.nearest_coincidences[0]
    assert comparison.cn[1, 0] != pytest.approx(
        dg.compare_fingerprints(frames, union).cn[1, 0], rel=1e-3
    )


def _pair(atoms: ase.Atoms) -> list[ase.Atoms]:
    """``atoms`` and a rotated copy with its last two H swapped: a related pair."""
    other = atoms.copy()
    other.rotate(40, "z")
    order = [0, 1, 3, 2, 4]
    return [atoms, other[order]]


def test_verify_pairs_by_composition_gives_each_pair_its_own_distance():
    """A CH4 pair's bispectrum distance (SOAP's is 0: an A± pair) is the same beside a CH3C
    pair as alone; relation, E4 and order are those of verify_pairs."""
    a, b = dg.random_pairs(1, seed=3)
    frames = [*_pair(with_carbon()), a, b, *_pair(with_carbon(0.05))]
    names = ["bispectrum", "om"]
    union = {name: union_representation(name, frames) for name in names}
    verdicts = dg.verify_pairs_by_composition(frames, union)
    shared = dg.verify_pairs(frames, union)
    assert [v.pair for v in verdicts] == [0, 1, 2]
    (alone,) = dg.verify_pairs([a, b], {name: dg.make_representation(name) for name in names})
    assert list(verdicts[1].distance) == names
    for name in names:
        assert verdicts[1].distance[name] == pytest.approx(alone.distance[name], rel=1e-9)
    assert verdicts[1].distance["bispectrum"] != pytest.approx(
        shared[1].distance["bispectrum"], rel=1e-6
    )
    assert verdicts[1].distance["om"] == shared[1].distance["om"]
    for ours, theirs in zip(verdicts, shared, strict=True):
        assert (ours.related, ours.residual, ours.fourbody) == (
            theirs.related,
            theirs.residual,
            theirs.fourbody,
        )


def test_a_pair_of_members_of_two_species_is_named_by_its_place():
    frames = [*_pair(with_carbon()), methane(), with_carbon()]
    with pytest.raises(dg.DegeneracyError, match=r"^pair 1: the two members have different"):
        dg.verify_pairs_by_composition(frames, [dg.SoapPowerSpectrum()])


# --------------------------------------------------------------------------------------
# The commands


def _write(path: Path, frames: list) -> str:
    ase.io.write(path, frames)
    return str(path)


def _json(capsys, argv: list[str]):
    assert main([*argv, "--environment", "any", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no warning: nothing depends on the other frames
    return json.loads(captured.out)


@pytest.mark.parametrize(
    ("rep", "other"),
    [
        ("soap", with_carbon),
        ("bispectrum", with_carbon),
        ("soap", with_oxygen),
        ("acsf", with_carbon),
    ],
)
def test_spectrum_of_a_frame_is_the_same_alone_and_in_a_mixed_file(
    rep, other, tmp_path, capsys, cache
):
    """`spectrum --environment any`: frame 1 (CH4) has its own singular values, CN and
    verdict beside frames of another composition, and frame indices stay the file's."""
    mixed = _write(tmp_path / "mixed.extxyz", [other(), methane(), other(0.05)])
    alone = _write(tmp_path / "alone.extxyz", [methane()])
    rows = _json(capsys, ["spectrum", mixed, "--rep", rep])
    (own,) = _json(capsys, ["spectrum", alone, "--rep", rep])
    assert [row["frame"] for row in rows] == list(range(len(rows)))
    np.testing.assert_allclose(
        rows[1]["singular_values"], own["singular_values"], rtol=1e-9, atol=1e-14
    )
    assert rows[1]["cn"] == pytest.approx(own["cn"], rel=1e-9)
    assert rows[1]["verdict"] == own["verdict"]


def test_compare_of_a_frame_is_the_same_alone_and_in_a_mixed_file(tmp_path, capsys, cache):
    """`compare --environment any`: the CH4 frame's columns are its own; the JSON names the
    species each fingerprint was built for, per composition."""
    mixed = _write(tmp_path / "mixed.extxyz", [methane(), with_carbon()])
    alone = _write(tmp_path / "alone.extxyz", [methane()])
    argv = ["--rep", "soap,bispectrum,acsf,om"]
    ours = _json(capsys, ["compare", mixed, *argv])
    own = _json(capsys, ["compare", alone, *argv])
    for name in ("soap", "bispectrum", "acsf", "om"):
        for key in ("cn", "s_min", "s_max", "relative_s_min"):
            assert ours["frames"][0][name][key] == pytest.approx(own["frames"][0][name][key])
    assert own["fingerprints"]["soap"]["neighbors"] == ["H"]
    assert ours["fingerprints"]["soap"]["species"] == [
        {"center": "C", "neighbors": ["H"], "frames": 1},
        {"center": "C", "neighbors": ["H", "C"], "frames": 1},
    ]
    assert "neighbors" not in ours["fingerprints"]["soap"]
    assert ours["fingerprints"]["om"] == own["fingerprints"]["om"]


def test_singular_searches_each_frame_with_its_own_species(tmp_path, capsys, cache):
    """`singular --environment any`: the CH4 frame's search starts and ends where it does
    alone."""
    mixed = _write(tmp_path / "mixed.extxyz", [with_carbon(), methane()])
    alone = _write(tmp_path / "alone.extxyz", [methane()])
    found = []
    for source in (mixed, alone):
        out = tmp_path / f"{Path(source).stem}.out.extxyz"
        argv = ["singular", source, "--environment", "any", "--rep", "bispectrum"]
        assert main([*argv, "--max-iterations", "2", "--output", str(out)]) == 0
        capsys.readouterr()
        found.append(ase.io.read(out, ":")[-1])
    ours, own = found
    assert ours.info["cn"] == pytest.approx(own.info["cn"], rel=1e-6)
    np.testing.assert_allclose(ours.positions, own.positions, atol=1e-9)


def test_each_rep_entry_keeps_its_own_settings_over_compositions(tmp_path, capsys, cache):
    """`compare --environment any --rep soap,soap:n_max=4:l_max=4`: rebuilt for each set of
    species, every entry keeps its own settings (its spectra are those of SOAP n = l = 4
    built for the frame's species), and the JSON says so per entry."""
    ch4 = dg.sample_methane(1, seed=0)[0]
    mixed = _write(tmp_path / "mixed.extxyz", [ch4, with_oxygen()])
    out = _json(capsys, ["compare", mixed, "--rep", "soap,soap:n_max=4:l_max=4"])
    settings = out["fingerprints"]
    assert (settings["soap"]["n_max"], settings["soap:n_max=4:l_max=4"]["n_max"]) == (8, 4)
    assert settings["soap:n_max=4:l_max=4"]["l_max"] == 4
    assert settings["soap:n_max=4:l_max=4"]["species"] == [
        {"center": "C", "neighbors": ["H"], "frames": 1},
        {"center": "C", "neighbors": ["H", "O"], "frames": 1},
    ]
    frames = ase.io.read(mixed, ":")  # as written
    for frame, (atoms, neighbors) in enumerate(zip(frames, (["H"], ["H", "O"]), strict=True)):
        for label, n in (("soap", 8), ("soap:n_max=4:l_max=4", 4)):
            own = dg.analyse_frames(
                [atoms], dg.SoapPowerSpectrum(n_max=n, l_max=n, neighbors=neighbors)
            )[0]
            ours = out["frames"][frame][label]
            assert ours["s_max"] == pytest.approx(own.singular_values[0], rel=1e-9)
            assert ours["s_min"] == pytest.approx(own.singular_values[-1], rel=1e-6)
    assert out["frames"][0]["soap"]["s_min"] != pytest.approx(
        out["frames"][0]["soap:n_max=4:l_max=4"]["s_min"], rel=1e-3
    )


def test_pairs_verify_of_a_pair_is_the_same_alone_and_in_a_mixed_file(tmp_path, capsys, cache):
    """`pairs --verify --rep soap,bispectrum,bispectrum:n_max=3:l_max=3`: a distance per
    entry, each computed with the pair's own species, as alone."""
    a, b = dg.random_pairs(1, seed=3)
    mixed = _write(tmp_path / "mixed.extxyz", [*_pair(with_carbon()), a, b])
    alone = _write(tmp_path / "alone.extxyz", [a, b])
    argv = ["--rep", "soap,bispectrum,bispectrum:n_max=3:l_max=3"]
    ours = _json(capsys, ["pairs", "--verify", mixed, *argv])
    (own,) = _json(capsys, ["pairs", "--verify", alone, *argv])
    assert [v["pair"] for v in ours] == [0, 1]
    assert list(own["distance"]) == ["soap", "bispectrum", "bispectrum:n_max=3:l_max=3"]
    for label, distance in own["distance"].items():
        assert ours[1]["distance"][label] == pytest.approx(distance, rel=1e-9)
    # the degenerate pair stays degenerate for SOAP, not for either bispectrum
    assert own["distance"]["bispectrum:n_max=3:l_max=3"] != own["distance"]["bispectrum"]
