"""``verify_pairs`` computes features in batches: the same verdicts, the same warnings
(counting every frame), and no more than a batch of features at once."""

from __future__ import annotations

import warnings

import ase
import numpy as np
import pytest
from conftest import angle_blind_methane

import degeneracy as dg
from degeneracy.pairs import pair_distances

#: Frames per batch: one frame (every pair straddles two batches), an odd number (some
#: pairs straddle), and at least all of them (one call, as before batching).
BATCH_SIZES = [1, 7, 1000]


@pytest.fixture(scope="module")
def frames():
    return dg.random_pairs(12, seed=11)  # 24 frames


def _fingerprints():
    return {
        "soap": dg.SoapPowerSpectrum(n_max=4, l_max=4),
        "acsf": dg.Acsf(),
        "bispectrum": dg.Bispectrum(),
        "om": dg.OverlapMatrix(),
    }


def _ch3c() -> ase.Atoms:
    """A CH3C environment: a C centre with three H and one C neighbour."""
    hydrogens = [[0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63]]
    return ase.Atoms("CH3C", positions=[[0, 0, 0], *hydrogens, [0.9, -0.8, -0.85]])


def _caught(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught]


def test_the_same_verdicts_whatever_the_batch_size(frames):
    """Distances, E4, relation and residual to the last bit, with every pair split
    across two batches (1), some (7) or none (one call); a pair's distance is the one it
    has alone, whatever the pairs in its batch (ACSF's and the bispectrum's
    column-major features used to move in the last bits with them)."""
    fingerprints = _fingerprints()
    reference = dg.verify_pairs(frames, fingerprints, batch_size=1000)
    assert len(reference) == 12
    for batch_size in BATCH_SIZES:
        assert dg.verify_pairs(frames, fingerprints, batch_size=batch_size) == reference
    for k in (0, 5, 11):
        (alone,) = dg.verify_pairs(frames[2 * k : 2 * k + 2], fingerprints)
        assert alone.distance == reference[k].distance
    by_composition = dg.verify_pairs_by_composition(frames, fingerprints, batch_size=7)
    assert by_composition == reference


def test_pair_distances_of_an_odd_batch_carry_a_member_over(frames):
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    features = soap.features(frames)
    expected = dg.pairs.relative_distances(features[0::2], features[1::2])
    for batch_size in (1, 3, 5, 24, 25):
        got = pair_distances(soap, frames, batch_size=batch_size)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_a_fingerprints_warning_counts_every_frame_in_batches(batch_size):
    """As test_pairs' test_verify_counts_both_members_in_a_fingerprints_warnings, with
    the blind frames after clean ones: one warning, counting all 12 frames, whatever the
    batch size (ACSF alone warns about its first batch only, counting its frames)."""
    clean = dg.random_pairs(3, seed=0)  # 6 frames ACSF sees angles in
    frames = [*clean, *angle_blind_methane(6, seed=8)]
    messages = _caught(lambda: dg.verify_pairs(frames, [dg.Acsf()], batch_size=batch_size))
    angles = [m for m in messages if "sees no bond angles" in m]
    assert len(angles) == 1, messages
    assert "in 6 of the 12 environments checked" in angles[0]
    assert messages == _caught(lambda: dg.verify_pairs(frames, [dg.Acsf()], batch_size=1000))


def test_warnings_count_every_frame_of_a_group_in_batches():
    """Per composition: one warning per group, counting the group's frames, whatever the
    batch size."""
    carbon = _ch3c()
    turned = carbon.copy()
    turned.rotate(40, "z")
    frames = [*angle_blind_methane(4, seed=8), carbon, turned, *angle_blind_methane(4, seed=9)]
    acsf = dg.Acsf(neighbors=["H", "C"])

    def run(batch_size):
        return _caught(
            lambda: dg.verify_pairs_by_composition(frames, [acsf], batch_size=batch_size)
        )

    messages = run(1000)
    angles = [m for m in messages if "sees no bond angles" in m]
    assert len(angles) == 1 and "in 8 of the 8 environments checked" in angles[0], messages
    assert run(1) == messages
    assert run(3) == messages


def test_features_are_computed_a_batch_at_a_time(frames, monkeypatch):
    """No features call sees more than ``batch_size`` frames (the largest feature array
    held is a batch's, plus one member carried over), and every frame is computed once."""
    fingerprints = {"soap": dg.SoapPowerSpectrum(n_max=4, l_max=4), "acsf": dg.Acsf()}
    sizes = {name: [] for name in fingerprints}
    for name, rep in fingerprints.items():
        features = rep.features

        def recorded(chunk, name=name, features=features):
            out = features(chunk)
            sizes[name].append(out.shape[0])
            return out

        monkeypatch.setattr(rep, "features", recorded)
    dg.verify_pairs(frames, fingerprints, batch_size=5)
    for name in fingerprints:
        assert max(sizes[name]) == 5 and sum(sizes[name]) == len(frames), (name, sizes)
    for name in fingerprints:
        sizes[name].clear()
    dg.verify_pairs_by_composition(frames, fingerprints, batch_size=4)
    for name in fingerprints:
        assert max(sizes[name]) == 4 and sum(sizes[name]) == len(frames), (name, sizes)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_batch_s_error_names_the_callers_frame(batch_size):
    """As test_pairs' test_verify_pairs_names_the_callers_frame_and_atom, in batches."""
    frames = dg.random_pairs(3, seed=0)
    odd = frames[4].copy()
    odd.numbers[1] = 7  # N, which the default SOAP has no channel for
    frames[4], frames[5] = odd, odd.copy()
    with pytest.raises(dg.DegeneracyError, match=r"frame 4, atom 1: no channel for neighbour"):
        dg.verify_pairs(frames, [dg.SoapPowerSpectrum()], batch_size=batch_size)


def test_a_group_s_batch_error_names_the_callers_frame():
    """Per composition, in batches: the frame's place in the file, not in its group or
    batch."""
    carbon = _ch3c()
    frames = [*dg.random_pairs(2, seed=0), carbon, carbon.copy(), *dg.random_pairs(1, seed=1)]
    frames[7] = frames[7].copy()
    frames[7].pbc = True  # refused by the fingerprint, in its group's third batch
    with pytest.raises(dg.DegeneracyError, match=r"soap: frame 7 is periodic"):
        dg.verify_pairs_by_composition(frames, [dg.SoapPowerSpectrum()], batch_size=1)


def test_frames_of_two_sizes_are_refused_whatever_the_batch_size():
    """One call refused frames of two sizes; batches of one size each must too."""
    frames = [*dg.random_pairs(1, seed=0), *_pair_of_five_neighbours()]
    with pytest.raises(dg.DegeneracyError, match="different numbers of atoms: frame 2"):
        dg.verify_pairs(frames, [dg.SoapPowerSpectrum()], batch_size=2)


def _pair_of_five_neighbours() -> list[ase.Atoms]:
    atoms = ase.Atoms(
        "CH5",
        positions=[
            [0, 0, 0],
            [1.1, 0, 0],
            [-1.1, 0.1, 0],
            [0, 1.1, 0],
            [0, -1.0, 0.3],
            [0, 0, 1.1],
        ],
    )
    return [atoms, atoms.copy()]


@pytest.mark.parametrize("value", [0, -1, 1.5, "7", True])
def test_batch_size_is_refused_as_compare_refuses_it(frames, value):
    with pytest.raises(dg.DegeneracyError, match="batch_size"):
        dg.verify_pairs(frames[:2], [dg.SoapPowerSpectrum()], batch_size=value)
    with pytest.raises(dg.DegeneracyError, match="batch_size"):
        dg.verify_pairs_by_composition(frames[:2], [dg.SoapPowerSpectrum()], batch_size=value)
    with pytest.raises(dg.DegeneracyError, match="batch_size"):
        dg.compare_fingerprints(frames[:2], [dg.SoapPowerSpectrum()], batch_size=value)


def test_progress_bar_per_fingerprint(frames, capsys):
    dg.verify_pairs(frames, {"soap": dg.SoapPowerSpectrum(n_max=4, l_max=4)}, progress=True)
    assert "soap" in capsys.readouterr().err


def test_verify_says_nothing_of_the_om_s_kinks_which_concern_its_derivative():
    """Asking the OM's notes for all frames (call_notes) made ``verify_pairs`` warn "om
    degenerate eigenvalues … their verdict is 'kink'" about a T_d pair: the eigenvalues
    are continuous there, only their derivative is not, and a distance needs none. The
    same OM still warns about a Jacobian at T_d afterwards."""
    td = dg.builtin_environment("td")
    om = dg.OverlapMatrix()
    with warnings.catch_warnings():
        warnings.simplefilter("error", dg.DegeneracyWarning)
        (verdict,) = dg.verify_pairs([td, td.copy()], [om])
    assert verdict.distance["om"] == 0
    with pytest.warns(dg.DegeneracyWarning, match="om degenerate eigenvalues"):
        om.jacobian([td])


def test_compare_counts_a_fingerprint_s_notes_over_every_batch():
    """compare_fingerprints computed in batches and a fingerprint warned about its first
    batch only: ACSF frames blind to angles in a later batch gave no warning at all."""
    frames = dg.sample_methane(4, seed=1) + angle_blind_methane(3, seed=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.compare_fingerprints(frames, [dg.Acsf()], batch_size=2)
    angles = [str(w.message) for w in caught if "sees no bond angles" in str(w.message)]
    assert len(angles) == 1 and "in 3 of the 7 environments checked" in angles[0], angles


def test_the_om_s_notes_for_compare_are_computed_in_batches(monkeypatch):
    """helper-165: asking the OM's notes for all frames at once (call_notes) built every
    frame's overlap matrix in one array, past compare's batches (20 000 CH4: 214 MB
    against 25 MB)."""
    from degeneracy.representations import om as om_module

    monkeypatch.setattr(om_module, "DIAGNOSE_BATCH", 3)
    om = dg.OverlapMatrix()
    sizes = []
    features = om.features

    def counted(frames):
        sizes.append(len(frames))
        return features(frames)

    monkeypatch.setattr(om, "features", counted)
    dg.compare_fingerprints(dg.sample_methane(7, seed=2), [om], batch_size=2)
    assert sizes and max(sizes) <= 3, sizes
