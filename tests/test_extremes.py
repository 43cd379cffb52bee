"""Fingerprint settings at their extremes (a helper's audit, 2026-12-06): a fingerprint
without angular channels, and a zero threshold below round-off."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from conftest import exit_status, one_error_line

import degeneracy as dg
from degeneracy.sensitivity import MIN_ZERO_RTOL, seen_dimension


def _unequal_methane(seed: int) -> ase.Atoms:
    """CH4 with four different C-H distances in random directions: no symmetry, no
    equidistant shell."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(4, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    radii = np.array([0.98, 1.05, 1.12, 1.2])
    return ase.Atoms("CH4", positions=np.vstack([np.zeros(3), directions * radii[:, None]]))


@pytest.mark.parametrize(
    "representation",
    [dg.SoapPowerSpectrum(l_max=0), dg.Bispectrum(l_max=0)],
    ids=["soap", "bispectrum"],
)
def test_without_angular_channels_only_the_distances_are_seen(representation):
    """l_max 0: 36 (SOAP) features, but they depend on the 4 distances alone, so 5 of
    the 9 motions are zeros everywhere: `dimension`, not `spurious` as before."""
    frames = [_unequal_methane(seed) for seed in range(3)]
    _, jacobian = representation.jacobian(frames)
    assert jacobian.shape[1] > 9  # more features than motions: the feature count alone
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    assert np.all((spectrum.values / spectrum.values[:, :1] < 1e-12).sum(axis=1) == 5)
    assert seen_dimension(representation, jacobian.shape[1], 4) == 4
    assert [a.verdict for a in dg.analyse_frames(frames, representation)] == ["dimension"] * 3


def test_with_angular_channels_the_bound_is_the_feature_count():
    soap = dg.SoapPowerSpectrum(n_max=1, l_max=2)
    assert seen_dimension(soap, 3, 4) == 3
    assert seen_dimension(dg.SoapPowerSpectrum(), 576, 4) == 274  # each l's Gram matrix
    assert seen_dimension(dg.Acsf(), 57, 4) == 57  # no hook


@pytest.mark.parametrize(
    ("command", "argv", "task"),
    [
        ("singular", ["--l-max", "0"], "singular configuration to search for"),
        (
            "orbit",
            ["--rep", "bispectrum", "--bispectrum-l-max", "0", "--length", "0.02"],
            "single softest direction to follow",
        ),
    ],
)
def test_a_search_without_angular_channels_is_refused(tmp_path, capsys, command, argv, task):
    """singular reported 'converged yes', CN inf, moved 0; orbit followed an arbitrary
    direction of an 8-dimensional null space."""
    output = tmp_path / "out.extxyz"
    assert exit_status([command, "--builtin", "pg-start", *argv, "--output", str(output)]) == 2
    line = one_error_line(capsys, command)
    assert "without angular channels, only the 4 distances of the 9 internal motions" in line
    assert line.endswith(
        f"leave 5 zero singular values at every configuration, so there is no {task}"
    )
    assert not output.exists()


def test_a_zero_threshold_below_round_off_is_refused(capsys):
    """T_d at 1e-17 had CN inf, s2..s9 ~1e-16 and the verdict 'regular'."""
    td = dg.builtin_environment("td")
    with pytest.raises(dg.DegeneracyError, match=r"^zero_rtol must be at least 1e-15 \("):
        dg.analyse_frames([td], dg.SoapPowerSpectrum(), zero_rtol=1e-17)
    with pytest.raises(dg.DegeneracyError, match="zero_rtol must be at least 1e-15"):
        dg.zero_verdict(np.array([1.0, 1e-16]), 0, zero_rtol=5e-16)
    (analysis,) = dg.analyse_frames([td], dg.SoapPowerSpectrum(), zero_rtol=MIN_ZERO_RTOL)
    assert analysis.verdict == "symmetry"
    assert exit_status(["spectrum", "--builtin", "td", "--zero-rtol", "1e-17"]) == 2
    assert one_error_line(capsys, "spectrum").startswith(
        "--zero-rtol must be at least 1e-15 (an exact zero's singular value is round-off"
    )


@pytest.mark.parametrize(
    ("representation", "invariants", "zeros"),
    [
        (dg.SoapPowerSpectrum(n_max=2, l_max=2), 8, 1),
        (dg.SoapPowerSpectrum(n_max=2, l_max=1), 5, 4),
        (dg.Bispectrum(n_max=2, l_max=1), 5, 4),
    ],
    ids=["soap-2-2", "soap-2-1", "bispectrum-2-1"],
)
def test_a_small_expansion_sees_only_its_invariants(representation, invariants, zeros):
    """SOAP n_max = l_max = 2 has 12 features for CH4's 9 motions, but they are each l's
    Gram matrix of 2 coefficient vectors, 8 numbers: every random CH4 has an exact zero,
    which was `spurious` (and `singular` took any start for a singular configuration)."""
    frames = [_unequal_methane(seed) for seed in range(3)]
    _, jacobian = representation.jacobian(frames)
    assert jacobian.shape[1] > invariants  # more features than invariants
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    assert np.all((spectrum.values / spectrum.values[:, :1] < 1e-12).sum(axis=1) == zeros)
    assert seen_dimension(representation, jacobian.shape[1], 4) == invariants == 9 - zeros
    assert [a.verdict for a in dg.analyse_frames(frames, representation)] == ["dimension"] * 3
    with pytest.raises(dg.DegeneracyError, match=f"only {invariants} invariants of the expansion"):
        dg.find_singular(frames[0], representation)


def test_the_invariant_bound_holds_for_every_small_expansion():
    """The bound is an upper bound: a random CH4 (and a 6-neighbour environment) never
    has more nonzero singular values than it allows."""
    from degeneracy.representations.base import expansion_invariants_bound

    assert (
        expansion_invariants_bound(
            n_max=8, l_max=8, n_species=1, n_neighbors=4, power_spectrum=True
        )
        == 8 + 21 + 30 + 35 + 36 * 5
    )
    frames = [_unequal_methane(seed) for seed in range(2)]
    for n_max in (1, 2, 3):
        for l_max in (1, 2, 3):
            for representation in (
                dg.SoapPowerSpectrum(n_max=n_max, l_max=l_max),
                dg.Bispectrum(n_max=n_max, l_max=l_max),
            ):
                _, jacobian = representation.jacobian(frames)
                spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
                rank = (spectrum.values > 1e-10 * spectrum.values[:, :1]).sum(axis=1)
                assert np.all(rank <= representation.motions_seen_at_most(4)), (n_max, l_max)
