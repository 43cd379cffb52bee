"""Verdicts at the edges a science audit found (helper-111, 2026-12-06)."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest

import degeneracy as dg
from degeneracy.sensitivity import near_linear, seen_dimension


def _radial_acsf() -> dg.Acsf:
    """An ACSF of G2 functions only: it sees the neighbours' distances and no angle."""
    return dg.Acsf(
        parameter_set="custom", g2=[(50.0, r) for r in np.arange(0.7, 1.75, 0.05)], g4=[]
    )


def test_a_radial_acsf_sees_only_the_distances():
    """It was `spurious` ('turns pairs it cannot see') with its 21 features, where SOAP
    and the bispectrum at l_max 0, equally blind to angles, are `dimension`."""
    acsf = _radial_acsf()
    frames = dg.sample_methane(3, seed=4)
    _, jacobian = acsf.jacobian(frames)
    assert jacobian.shape[1] > 9
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    assert np.all((spectrum.values / spectrum.values[:, :1] < 1e-12).sum(axis=1) == 5)
    assert seen_dimension(acsf, jacobian.shape[1], 4) == 4
    assert seen_dimension(dg.Acsf(), 57, 4) == 57
    assert [a.verdict for a in dg.analyse_frames(frames, acsf)] == ["dimension"] * 3


def test_a_search_with_a_radial_acsf_is_refused():
    """find_singular 'succeeded' at its start frame (0 iterations, CN inf)."""
    with pytest.raises(dg.DegeneracyError, match="without angular channels, only the 4"):
        dg.find_singular(dg.sample_methane(1, seed=4)[0], _radial_acsf(), max_iterations=5)


def _bent_triatomic(neighbors: str, first: float, second: float, bend: float) -> ase.Atoms:
    """C with two neighbours on the z axis, the second turned by ``bend`` (rad) off it."""
    return ase.Atoms(
        "C" + neighbors,
        positions=[
            [0.0, 0.0, 0.0],
            [0.0, 0.0, first],
            [second * np.sin(bend), 0.0, -second * np.cos(bend)],
        ],
    )


@pytest.mark.parametrize(
    ("neighbors", "first", "second"), [("OO", 1.16, 1.16), ("HN", 1.07, 1.16), ("HH", 0.96, 0.97)]
)
def test_a_nearly_straight_environment_is_near_symmetric(neighbors, first, second):
    """Bent by 1e-7 rad, CO2, HCN and an unequal H-C-H have a bend singular value of
    ~2e-7 s1 (d cos θ / dθ = 0 at 180°), which every fingerprint shares: it was
    `spurious` for SOAP, the bispectrum and ACSF, since the straight environment has no
    purified Jacobian for the near-symmetry test (helper-110, helper-111)."""
    atoms = _bent_triatomic(neighbors, first, second, 1e-7)
    species = sorted(set(neighbors))
    for representation in (
        dg.SoapPowerSpectrum(neighbors=species),
        dg.Bispectrum(neighbors=species),
        dg.Acsf(neighbors=species, angular="g5"),
    ):
        (analysis,) = dg.analyse_frames([atoms], representation)
        assert analysis.verdict == "near-symmetry", representation
        assert 0 < analysis.near_symmetry_distance < 1e-7 * second  # to the best line
        values = analysis.singular_values
        near = near_linear(atoms, values, representation)
        assert near is not None and near.n_forced == 1
        assert near.ratios == pytest.approx((0.5, 0.25), rel=1e-3)  # s(t) = t s(1)


@pytest.mark.parametrize(("neighbors", "length"), [("OO", 1.16), ("HH", 1.09)])
def test_a_nearly_straight_environment_read_from_a_file_is_near_symmetric(
    neighbors, length, tmp_path
):
    """Written with 8 decimals, the two equal bonds of a CO2 bent by 1e-7 rad differ by
    ~6e-15 Å, which lifts the exchange's forced zero to ~1e-14 s1, above round-off: it
    counted as a second bend value against the one the straight line forces, and the
    frame was `spurious` (helper-126). The frame's own symmetry explains it."""
    atoms = _bent_triatomic(neighbors, length, length, 1e-7)
    path = tmp_path / "bent.xyz"
    ase.io.write(path, atoms)
    (read,) = dg.read_environments(path, spec="any")
    assert not np.array_equal(read.positions, atoms.positions)  # rounded by the file
    species = sorted(set(neighbors))
    for representation in (
        dg.SoapPowerSpectrum(neighbors=species),
        dg.Bispectrum(neighbors=species),
        dg.Acsf(neighbors=species),
    ):
        (analysis,) = dg.analyse_frames([read], representation)
        values = analysis.singular_values
        assert analysis.symmetric and values[-1] / values[0] > 1e-15  # lifted, not round-off
        assert analysis.verdict == "near-symmetry", representation
        assert 0 < analysis.near_symmetry_distance < 1e-7 * length


@pytest.mark.parametrize("bend", [4e-8, 6e-8])
def test_a_triatomic_too_straight_to_probe_toward_the_line_is_near_symmetric(bend):
    """Bent by 4e-8 or 6e-8 rad, the points toward the line are refused as collinear:
    the verdict was a bare `spurious` in that band. The bend's zero is then tested on
    the way out, where it grows linearly."""
    atoms = _bent_triatomic("OO", 1.16, 1.16, bend)
    for representation in (dg.SoapPowerSpectrum(neighbors=["O"]), dg.Acsf(neighbors=["O"])):
        (analysis,) = dg.analyse_frames([atoms], representation)
        assert analysis.verdict == "near-symmetry", (bend, representation)
        assert 0 < analysis.near_symmetry_distance < bend * 1.16


def test_a_clearly_bent_triatomic_is_not_near_linear():
    """3° off straight, the bend is seen (s/s1 ~ 0.05): regular, nothing to explain."""
    soap = dg.SoapPowerSpectrum(neighbors=["O"])
    atoms = _bent_triatomic("OO", 1.16, 1.2, 0.05)
    (bent,) = dg.analyse_frames([atoms], soap)
    assert bent.verdict == "regular"
    assert near_linear(atoms, bent.singular_values, soap) is None


def _fold_beside_mirror(z1: float) -> ase.Atoms:
    """An A± fold (H4 on the x axis, H3 the 2-fold image of H2 about x) with H1 tilted
    ``z1`` Å off the x axis: symmetric at z1 = 0, a mirror within 1 mÅ below z1 ≈ 2 mÅ."""
    r2 = np.array([-0.5, 0.8, 0.45])
    r2 *= 1.1 / np.linalg.norm(r2)
    r1 = np.array([1.0, 0.0, z1])
    r1 *= 1.09 / np.linalg.norm(r1)
    positions = [[0, 0, 0], r1, r2, [r2[0], -r2[1], -r2[2]], [-1.05, 0, 0]]
    return ase.Atoms("CH4", positions=positions)


@pytest.mark.parametrize("z1", [0.0015, 0.002])
def test_an_exact_fold_zero_beside_a_near_mirror_is_spurious(z1):
    """0.7–0.9 mÅ from a mirror (within --symmetry-tol) the fold's exact zero (5e-17 s1)
    was counted among the mirror's three forced zeros, `symmetry`; the mirror only lifts
    those (to 1e-5–2e-3 s1 at 1 mÅ), and the bispectrum, which has no fold, is regular
    there (helper-111)."""
    atoms = _fold_beside_mirror(z1)
    for representation in (dg.SoapPowerSpectrum(), dg.Acsf()):
        (analysis,) = dg.analyse_frames([atoms], representation)
        assert analysis.symmetric and analysis.n_symmetry_zeros == 3
        assert analysis.verdict == "spurious", representation
        assert analysis.pair_swap == "H2-H4 = H3-H4"
    (bispectrum,) = dg.analyse_frames([atoms], dg.Bispectrum())
    assert bispectrum.verdict == "regular"


def test_exact_and_slightly_broken_symmetries_keep_their_verdict():
    """At z1 = 0 every zero is forced (5 at round-off); T_d CH4 distorted by 1e-8 to
    5e-4 Å keeps `symmetry` for every fingerprint (its forced zeros lift at the probe)."""
    for representation in (dg.SoapPowerSpectrum(), dg.Acsf()):
        (exact,) = dg.analyse_frames([_fold_beside_mirror(0.0)], representation)
        assert exact.verdict == "symmetry"
    td = dg.neighbor_positions(dg.builtin_environment("td"))
    rng = np.random.default_rng(0)
    for size in (1e-8, 1e-6, 1e-4, 5e-4):
        noise = rng.standard_normal(td.shape)
        noise *= size / np.sqrt((noise**2).sum(axis=1).mean())
        atoms = dg.environment_from_neighbors(td + noise)
        for representation in (dg.SoapPowerSpectrum(), dg.Acsf(), dg.Bispectrum()):
            (analysis,) = dg.analyse_frames([atoms], representation)
            assert analysis.verdict == "symmetry", (size, representation)


@pytest.mark.parametrize("z1", [0.0015, 0.002])
def test_singular_labels_an_exact_fold_zero_beside_a_near_mirror_as_spectrum_does(z1):
    """`singular` said "SYMMETRIC: zeros forced by symmetry" where `spectrum` says
    `spurious` (and --reject-symmetric refused this very zero, which the search exists
    to find): it did not test the zeros at round-off beside the inexact mirror
    (helper-140)."""
    from degeneracy.cli.singular import physical_zero, zero_verdict

    atoms = _fold_beside_mirror(z1)
    for representation in (dg.SoapPowerSpectrum(), dg.Acsf()):
        result = dg.find_singular(atoms, representation)
        assert result.symmetry.symmetric and not result.symmetric
        assert result.n_beside_symmetry == 1 and result.n_spurious == 1
        assert result.atoms.info["symmetric"] is False and not physical_zero(result)
        said = zero_verdict(result)
        assert "1 zero(s) stay at round-off beside it" in said
        assert said.endswith("spurious zero, its motion swaps equal pairs H2-H4 = H3-H4"), said


def test_singular_labels_a_nearly_straight_start_near_symmetry_as_spectrum_does():
    """H–C–N bent by 1e-7 rad: `spectrum` says near-symmetry (the bend zero of the straight
    shape), `singular` said "spurious zero": it had no near_linear fallback."""
    from degeneracy.cli.singular import physical_zero

    bend = 1e-7
    atoms = ase.Atoms(
        "CHN",
        positions=[[0, 0, 0], [0, 0, -1.07], [1.16 * np.sin(bend), 0, 1.16 * np.cos(bend)]],
    )
    representation = dg.SoapPowerSpectrum(neighbors=["H", "N"])
    (analysis,) = dg.analyse_frames([atoms], representation)
    assert analysis.verdict == "near-symmetry"
    result = dg.find_singular(atoms, representation, cn_target=1e6)
    assert result.near_symmetry is not None and physical_zero(result)
