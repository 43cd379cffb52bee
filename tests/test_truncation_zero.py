"""The truncation zero of the SOAP power spectrum at neighbours at one distance per species.

With every neighbour of species a at one distance r_a, the power spectrum sees the 3N − 3
motions beside the rotations, to first order, only through the sums Σ P_l(cos θ_ij),
l = 1..l_max, per species pair and Σ_k δr_k Σ_j P_l(cos θ_kj), l = 0..l_max, per ordered
pair (``SoapPowerSpectrum.first_order_invariants``): CH4 at one C–H distance has an exact
zero for l_max ≤ 4 whatever n_max, twelve neighbours sixteen at the default l_max 8, and
the tool says why (docs/concepts.md, "A truncated fingerprint at equidistant neighbours").
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import ase
import ase.io
import ase.units
import numpy as np
import pytest
from conftest import reference_path

import degeneracy as dg
from degeneracy import sensitivity
from degeneracy.cli import main
from degeneracy.representations.bispectrum import (
    angular_triples,
    real_coupling,
    real_harmonics,
    triple_invariant_gradients,
)
from degeneracy.representations.soap import invariant_gradients, legendre
from degeneracy.scan import describe_singular
from degeneracy.sensitivity import ZERO_RTOL

#: The zeros column of ``spectrum --builtin pg-start --n-max 4 --l-max 4``.
PG_START_TEXT = (
    "spurious: moves equidistant neighbours (H at 1.09 Å: 9 motions seen through 8 sums)"
)

#: The ``truncation`` of CH4 at SOAP l_max 4.
CH4_TEXT = "H at 1.09 Å: 9 motions seen through 8 sums"


def _environment(
    symbols: str, radii: list[float] | np.ndarray, rng: np.random.Generator
) -> ase.Atoms:
    """Centre ``symbols[0]`` at the origin, its neighbours in random directions at ``radii``."""
    directions = rng.normal(size=(len(radii), 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    positions = np.vstack([np.zeros(3), directions * np.asarray(radii, dtype=float)[:, None]])
    return ase.Atoms(symbols, positions=positions)


def _equidistant_methane(count: int, seed: int, radius: float = 1.1) -> list[ase.Atoms]:
    rng = np.random.default_rng(seed)
    return [_environment("CH4", [radius] * 4, rng) for _ in range(count)]


def _spectrum(representation: dg.Representation, frames: list[ase.Atoms]) -> dg.Spectrum:
    _, jacobian = representation.jacobian(frames)
    return dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))


def _relative(values: np.ndarray) -> np.ndarray:
    return values / values[:, :1]


@pytest.mark.parametrize(("n_max", "l_max"), [(4, 4), (8, 4), (2, 4)])
def test_equidistant_methane_has_one_exact_zero_up_to_l_max_4(n_max, l_max):
    soap = dg.SoapPowerSpectrum(n_max=n_max, l_max=l_max)
    relative = _relative(_spectrum(soap, _equidistant_methane(5, seed=0)).values)
    assert np.all(relative[:, -1] < 1e-14)  # round-off: s9/s1 2e-17 – 2e-16 measured
    assert np.all(relative[:, -2] > ZERO_RTOL)  # one zero, not more (s8 ≥ 2.5e-5 of 200)


@pytest.mark.parametrize(("n_max", "l_max"), [(2, 5), (4, 5), (8, 8)])
def test_from_l_max_5_equidistant_methane_has_no_zero(n_max, l_max):
    soap = dg.SoapPowerSpectrum(n_max=n_max, l_max=l_max)
    relative = _relative(_spectrum(soap, _equidistant_methane(5, seed=0)).values)
    # no zero: s9/s1 median 3e-3, down to 2.6e-6 over 200 random directions (frames
    # near equal pairs); these five 5.4e-5 or more
    assert np.all(relative[:, -1] > 30 * ZERO_RTOL)


def test_unequal_radii_lift_the_zero():
    rng = np.random.default_rng(7)
    frames = [_environment("CH4", rng.uniform(0.95, 1.35, 4), rng) for _ in range(5)]
    relative = _relative(_spectrum(dg.SoapPowerSpectrum(n_max=4, l_max=4), frames).values)
    assert np.all(relative[:, -1] > 30 * ZERO_RTOL)  # median 1.3e-2, ≥ 2.2e-5 over 200


def _blind(representation: dg.Representation, atoms: ase.Atoms) -> np.ndarray:
    """The blind subspace (3N, d) of the first-order invariants at ``atoms``."""
    neighbors = dg.neighbor_positions(atoms)
    gradients = representation.first_order_invariants(neighbors, atoms.numbers[1:])
    assert gradients is not None
    return sensitivity.blind_motions(gradients, neighbors)


def _outside(blind: np.ndarray, motion: np.ndarray) -> float:
    """The sine of the angle between ``motion`` and the subspace ``blind``."""
    return float(np.linalg.norm(motion - blind @ (blind.T @ motion)) / np.linalg.norm(motion))


#: (neighbours, n_max, l_max, zeros): max(0, 2N − 3 − l_max) angular and
#: max(0, N − l_max − 1) radial, measured over 50 random frames each (docs/concepts.md).
ONE_SPECIES_ZEROS = [
    (12, 6, 8, 16),
    (10, 6, 8, 10),
    (9, 6, 8, 7),
    (8, 6, 8, 5),
    (7, 6, 8, 3),
    (6, 6, 8, 1),
    (6, 6, 4, 6),
    (4, 4, 4, 1),
    (4, 4, 3, 2),
    (4, 4, 2, 4),
    (4, 4, 1, 6),
]


@pytest.mark.parametrize(("count", "n_max", "l_max", "zeros"), ONE_SPECIES_ZEROS)
def test_the_blind_subspace_is_as_large_as_the_zeros_and_holds_them(count, n_max, l_max, zeros):
    """Every zero singular vector lies in O·null(G O), whose dimension is the zero count."""
    rng = np.random.default_rng(count + 100 * l_max)
    frames = [_environment("C" + "H" * count, [1.1] * count, rng) for _ in range(3)]
    soap = dg.SoapPowerSpectrum(n_max=n_max, l_max=l_max)
    spectrum = _spectrum(soap, frames)
    relative = _relative(spectrum.values)
    assert np.all((relative < 1e-12).sum(axis=1) == zeros)
    assert np.all(relative[:, -zeros - 1] > 1e-7)  # ≥ 2e-8 over 50 frames each
    for atoms, motions in zip(frames, spectrum.motions, strict=True):
        blind = _blind(soap, atoms)
        assert blind.shape == (3 * count, zeros)
        assert np.allclose(blind.T @ blind, np.eye(zeros))
        for motion in motions[len(motions) - zeros :]:
            assert _outside(blind, motion) < 1e-9  # principal-angle sine ~1e-14 measured


def test_twelve_equidistant_neighbours_are_named_at_the_default_l_max():
    """A metal's first shell: 12 neighbours at one distance have 16 zeros at the default
    l_max 8 (8 angular sums for 21 tangential motions, 9 radial ones for 12 distances)."""
    rng = np.random.default_rng(12)
    frames = [_environment("C" + "H" * 12, [1.1] * 12, rng) for _ in range(2)]
    soap = dg.SoapPowerSpectrum()
    assert soap.l_max == 8
    analyses = dg.analyse_frames(frames, soap)
    assert {(a.verdict, a.truncation) for a in analyses} == {
        ("spurious", "H at 1.1 Å: 33 motions seen through 17 sums")
    }


def test_the_zero_motion_keeps_every_distance_and_is_explained():
    frames = _equidistant_methane(3, seed=11)
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    spectrum = _spectrum(soap, frames)
    for atoms, values, motions in zip(frames, spectrum.values, spectrum.motions, strict=True):
        neighbors = dg.neighbor_positions(atoms)
        blind = _blind(soap, atoms)
        assert blind.shape[1] == 1 and _outside(blind, motions[-1]) < 1e-10
        # the softest non-zero motion is seen: only the zero lies in the blind subspace
        assert _outside(blind, motions[-2]) > 1e-3
        explanation = sensitivity.explain_zero(atoms, motions[-1], soap, values=values)
        assert explanation is not None and not explanation.swapped and not explanation.unseen
        assert explanation.truncation == sensitivity.TruncationZeros((("H", 1.1),), 9, 8)
        assert explanation.reason(["H"] * 4) == (
            "moves equidistant neighbours (H at 1.1 Å: 9 motions seen through 8 sums)"
        )
        # a motion that changes distances is not that zero
        outward = (neighbors / np.linalg.norm(neighbors, axis=1)[:, None]).ravel() / 2
        assert sensitivity.explain_zero(atoms, outward, soap, values=values) is None
    analyses = dg.analyse_frames(frames, soap)
    assert {(a.verdict, a.truncation, a.pair_swap) for a in analyses} == {
        ("spurious", "H at 1.1 Å: 9 motions seen through 8 sums", None)
    }


def test_two_species_count_the_angles_of_each_species_pair():
    """C with 2 H at 1.09 Å and 2 O at 1.3 Å: H-H and O-O have one angle each, H-O four,
    so K = 1 + 1 + min(l_max, 4): 2, 1 and 0 zeros for l_max 1, 2, 3."""
    rng = np.random.default_rng(5)
    frames = [_environment("CH2O2", [1.09, 1.09, 1.3, 1.3], rng) for _ in range(3)]
    for l_max, zeros in [(1, 2), (2, 1), (3, 0)]:
        soap = dg.SoapPowerSpectrum(n_max=4, l_max=l_max, neighbors=("H", "O"))
        relative = _relative(_spectrum(soap, frames).values)
        assert np.all((relative < 1e-12).sum(axis=1) == zeros), l_max
        assert np.all(relative[:, -zeros - 1] > 1e-4), l_max
        assert {_blind(soap, f).shape[1] for f in frames} == {zeros}
    analyses = dg.analyse_frames(frames, dg.SoapPowerSpectrum(n_max=4, l_max=2, neighbors="H,O"))
    assert {a.truncation for a in analyses} == {
        "H at 1.09 Å, O at 1.3 Å: 9 motions seen through 8 sums"
    }


def test_a_single_neighbour_of_a_species_adds_no_sum_of_its_own():
    """3 H and 1 O: the O-O sums are constant, K = 2 l_max (H-H and H-O)."""
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=2, neighbors=("H", "O"))
    atoms = _environment("CH3O", [1.09, 1.09, 1.09, 1.3], np.random.default_rng(2))
    assert _blind(soap, atoms).shape[1] == 1
    relative = _relative(_spectrum(soap, [atoms]).values)[0]
    assert relative[-1] < 1e-12 < 1e-4 < relative[-2]


def test_the_hook_says_none_where_distances_differ_or_a_neighbour_is_not_seen():
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    atoms = _equidistant_methane(1, seed=1)[0]
    neighbors, species = atoms.positions[1:], atoms.numbers[1:]
    # 4 angular sums (l = 1..4) and 5 radial ones (l = 0..4) of one species
    assert soap.first_order_invariants(neighbors, species).shape == (9, 12)
    wider = dg.SoapPowerSpectrum(n_max=4, l_max=6)
    assert wider.first_order_invariants(neighbors, species).shape == (13, 12)
    # within the tolerance (1e-3 of the distance) one distance, beyond it not
    within = neighbors * (1 + np.array([0.0, 5e-4, -4e-4, 1e-4]))[:, None]
    assert soap.first_order_invariants(within, species) is not None
    unequal = neighbors * np.array([1.0, 1.1, 0.9, 1.05])[:, None]
    assert soap.first_order_invariants(unequal, species) is None
    assert soap.first_order_invariants(neighbors * 1.002, species) is not None
    assert soap.first_order_invariants(neighbors * 2.5 / 1.1, species) is None  # at the cutoff
    assert soap.first_order_invariants(neighbors, [1, 1, 1, 8]) is None  # no O channel
    # unequal radii: no explanation, whatever the motion
    motion = _spectrum(soap, [atoms]).motions[0, -1]
    assert sensitivity.truncation_zeros(soap, unequal, species, motion) is None
    assert sensitivity.truncation_zeros(soap, neighbors, species, motion) is not None
    # two species: 3 unordered pairs of 4 angular sums, 4 ordered ones of 5 radial sums
    two = dg.SoapPowerSpectrum(n_max=4, l_max=4, neighbors=("H", "O"))
    assert two.first_order_invariants(neighbors, [1, 1, 8, 8]).shape == (3 * 4 + 4 * 5, 12)


def _central_differences(sums, neighbors: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """d sums / d neighbours (M, 3N) by central differences."""
    moves = np.eye(neighbors.size).reshape(-1, *neighbors.shape)
    columns = [
        (sums(neighbors + step * e) - sums(neighbors - step * e)) / (2 * step) for e in moves
    ]
    return np.array(columns).T


def test_the_invariant_gradients_are_those_of_the_sums():
    """G against central differences of A_l = Σ P_l(r̂_i·r̂_j) and of Σ_k δr_k Q_l(k)."""
    rng = np.random.default_rng(3)
    neighbors, species, l_max = rng.normal(size=(5, 3)), np.array([1, 1, 8, 1, 8]), 3
    gradients = invariant_gradients(neighbors, species, l_max)

    def sums(moved: np.ndarray) -> np.ndarray:
        units = moved / np.linalg.norm(moved, axis=1)[:, None]
        angular, _ = legendre(l_max, units @ units.T)
        radii = np.linalg.norm(moved, axis=1) - np.linalg.norm(neighbors, axis=1)
        fixed = neighbors / np.linalg.norm(neighbors, axis=1)[:, None]
        radial, _ = legendre(l_max, fixed @ fixed.T)
        numbers = np.unique(species)
        rows = [
            angular[l][np.ix_(species == a, species == b)].sum()
            for i, a in enumerate(numbers)
            for b in numbers[i:]
            for l in range(1, l_max + 1)
        ]
        rows += [
            (radii * (species == a) * radial[l][:, species == b].sum(axis=1)).sum()
            for a in numbers
            for b in numbers
            for l in range(l_max + 1)
        ]
        return np.array(rows)

    assert np.allclose(_central_differences(sums, neighbors), gradients, atol=1e-7)


def test_a_slightly_unequal_frame_keeps_its_explanation_while_the_zero_lasts():
    """Distances spread by 1e-5 of 1.1 Å: still a zero, still this one; by 1e-2: regular."""
    atoms = _equidistant_methane(1, seed=0)[0]
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    near, far = atoms.copy(), atoms.copy()
    near.positions[1:] *= (1 + 1e-5 * np.array([1.0, -1.0, 0.5, 0.0]))[:, None]
    far.positions[1:] *= (1 + 1e-2 * np.array([1.0, -1.0, 0.5, 0.0]))[:, None]
    near_analysis, far_analysis = dg.analyse_frames([near, far], soap)
    assert near_analysis.verdict == "spurious"
    assert near_analysis.truncation == "H at 1.1 Å: 9 motions seen through 8 sums"
    assert far_analysis.verdict == "regular" and far_analysis.truncation is None


def test_spectrum_says_why_pg_start_has_a_zero_at_l_max_4(capsys):
    assert main(["spectrum", "--builtin", "pg-start", "--n-max", "4", "--l-max", "4"]) == 0
    out = capsys.readouterr().out
    assert PG_START_TEXT in out
    assert main(["spectrum", "--builtin", "pg-start", "--n-max", "8", "--l-max", "8"]) == 0
    out = capsys.readouterr().out
    assert "equidistant" not in out and " regular " in out
    argv = ["spectrum", "--builtin", "pg-start", "--n-max", "4", "--l-max", "4", "--format"]
    assert main([*argv, "csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["truncation"] == CH4_TEXT
    assert row["verdict"] == "spurious" and row["pair_swap"] == ""
    assert main([*argv, "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["truncation"] == row["truncation"]


def test_scan_and_singular_name_it_too():
    start = dg.builtin_environment("pg-start")
    soap = dg.SoapPowerSpectrum(n_max=4, l_max=4)
    (entry,) = describe_singular([start], soap)
    assert entry["verdict"] == "spurious"
    assert entry["truncation"] == CH4_TEXT
    result = dg.find_singular(start, soap)
    assert result.explanation is not None and result.explanation.truncation is not None
    assert result.atoms.info["truncation"] == entry["truncation"]


def test_the_bispectrum_sees_equidistant_methane_from_l_max_3_on():
    """ν = 3: 13 non-constant triples at l_max 4 (7 at 3) for 5 angles, no zero."""
    frames = _equidistant_methane(3, seed=4)
    bispectrum = dg.Bispectrum(n_max=4, l_max=4)
    relative = _relative(_spectrum(bispectrum, frames).values)
    assert np.all(relative[:, -1] > 30 * ZERO_RTOL)  # median 0.046, ≥ 6e-5 over 100
    for atoms in frames:
        assert _blind(bispectrum, atoms).shape[1] == 0


#: (centre and neighbours, distances, n_max, l_max, zeros) of the bispectrum, measured over
#: 20 random frames each (docs/concepts.md): no closed form, unlike the power spectrum's.
BISPECTRUM_ZEROS = [
    ("CH4", [1.1] * 4, 4, 1, 6),
    ("CH4", [1.1] * 4, 4, 2, 1),
    ("C" + "H" * 6, [1.1] * 6, 4, 3, 2),
    ("C" + "H" * 9, [1.1] * 9, 4, 4, 2),
    ("C" + "H" * 12, [1.1] * 12, 4, 4, 8),
    ("CH2O2", [1.09, 1.09, 1.3, 1.3], 4, 1, 2),
    ("C" + "H" * 6 + "O" * 2, [1.09] * 6 + [1.3] * 2, 3, 2, 4),
]


@pytest.mark.parametrize(("symbols", "radii", "n_max", "l_max", "zeros"), BISPECTRUM_ZEROS)
def test_the_bispectrum_blind_subspace_is_as_large_as_its_zeros_and_holds_them(
    symbols, radii, n_max, l_max, zeros
):
    rng = np.random.default_rng(len(radii) + 100 * l_max)
    frames = [_environment(symbols, radii, rng) for _ in range(3)]
    channels = sorted(set(frames[0].get_chemical_symbols()[1:]))
    bispectrum = dg.Bispectrum(n_max=n_max, l_max=l_max, cutoff=3.0, neighbors=channels)
    _, jacobian = bispectrum.jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    relative = _relative(spectrum.values)
    assert np.all((relative < 1e-12).sum(axis=1) == zeros)
    assert np.all(relative[:, -zeros - 1] > 1e-7)
    for atoms, motions, derivative in zip(frames, spectrum.motions, jacobian, strict=True):
        blind = _blind(bispectrum, atoms)
        assert blind.shape == (3 * len(radii), zeros)
        # the features do not change along the blind motions (|J b| ~1e-16 of s1 measured)
        assert np.linalg.norm(derivative @ blind, axis=0).max() < 1e-12 * spectrum.values.max()
        for motion in motions[len(motions) - zeros :]:
            assert _outside(blind, motion) < 1e-9


def test_an_equidistant_shell_of_twelve_is_named_with_the_default_bispectrum():
    """2N − 3 − 13 = 8 tangential zeros: 13 angular triple sums for 21 motions, every
    radial one seen (rank 13 + 12 = 25)."""
    rng = np.random.default_rng(12)
    frames = [_environment("C" + "H" * 12, [1.1] * 12, rng) for _ in range(2)]
    analyses = dg.analyse_frames(frames, dg.Bispectrum(cutoff=3.0))
    assert {(a.verdict, a.truncation) for a in analyses} == {
        ("spurious", "H at 1.1 Å: 33 motions seen through 25 sums")
    }


def test_the_bispectrum_hook_says_none_where_the_expansion_does_not_factorise():
    bispectrum = dg.Bispectrum(n_max=4, l_max=2)
    atoms = _equidistant_methane(1, seed=1)[0]
    neighbors, species = atoms.positions[1:], atoms.numbers[1:]
    triples = len(angular_triples(2))  # (0,0,0) (0,1,1) (0,2,2) (1,1,2) (2,2,2)
    assert bispectrum.first_order_invariants(neighbors, species).shape == (4 * triples, 12)
    unequal = neighbors * np.array([1.0, 1.1, 0.9, 1.05])[:, None]
    assert bispectrum.first_order_invariants(unequal, species) is None
    assert bispectrum.first_order_invariants(neighbors * 2.5 / 1.1, species) is None
    assert bispectrum.first_order_invariants(neighbors, [1, 1, 1, 8]) is None
    two = dg.Bispectrum(n_max=4, l_max=2, neighbors=("H", "O"))
    # every ordered species triple: 2³ per angular triple
    assert two.first_order_invariants(neighbors, [1, 1, 8, 8]).shape == (4 * 8 * triples, 12)


def test_sphericart_harmonics_are_those_featomic_expands_on():
    """One neighbour: featomic's coefficients c_nlm = I_nl(r) Y_lm(r̂), the same Y_lm (m
    order and signs) as ``real_harmonics``, so the coupling of ``real_coupling`` fits both."""
    bispectrum = dg.Bispectrum(n_max=3, l_max=4)
    rng = np.random.default_rng(8)
    for _ in range(3):
        atoms = _environment("CH", [1.2], rng)
        coefficients, _ = bispectrum.expansion([atoms], gradients=False)
        harmonics, _ = real_harmonics(4, atoms.positions[1:])
        for l, values in coefficients.items():
            own = harmonics[0, l * l : (l + 1) ** 2]
            for radial in values[0].T:  # (2l + 1,) per n
                scale = radial @ own / (own @ own)
                assert np.allclose(radial, scale * own, atol=1e-12 * np.abs(radial).max())


def test_the_triple_invariant_gradients_are_those_of_the_sums():
    """G against central differences of T = Σ C Y^a Y^b Y^c and of the radial sums."""
    rng = np.random.default_rng(3)
    neighbors, species, l_max = rng.normal(size=(5, 3)), np.array([1, 1, 8, 1, 8]), 2
    gradients = triple_invariant_gradients(neighbors, species, l_max)
    coupling = real_coupling(l_max)
    fixed, _ = real_harmonics(l_max, neighbors)
    members = [(species == z).astype(float) for z in (1, 8)]

    def sums(moved: np.ndarray) -> np.ndarray:
        values, _ = real_harmonics(l_max, moved)
        stretch = np.linalg.norm(moved, axis=1) - np.linalg.norm(neighbors, axis=1)
        rows = []
        for triple in angular_triples(l_max):
            bands = [slice(l * l, (l + 1) ** 2) for l in triple]
            for owners in itertools.product(members, repeat=3):
                rows.append(
                    np.einsum(
                        "abc,a,b,c->",
                        coupling[triple],
                        *[o @ values[:, band] for o, band in zip(owners, bands, strict=True)],
                    )
                )
                for slot in range(3):
                    factors = [o @ fixed[:, band] for o, band in zip(owners, bands, strict=True)]
                    factors[slot] = (owners[slot] * stretch) @ fixed[:, bands[slot]]
                    rows.append(np.einsum("abc,a,b,c->", coupling[triple], *factors))
        return np.array(rows)

    assert np.allclose(_central_differences(sums, neighbors), gradients, atol=1e-7)


def test_the_published_pg_manifold_is_blind_at_l_max_4_where_its_distances_are_equal():
    """P&G's manifold (reference data) holds frames with four C–H distances equal to ~2e-6:
    SOAP n = l = 4 has a zero there, named, and the default n = l = 8 sees them (CN ~10²)."""
    frames = ase.io.read(reference_path("pg-manifold_bohr.xyz"), "0:3")
    for atoms in frames:
        atoms.positions *= ase.units.Bohr
    low = dg.analyse_frames(frames, dg.SoapPowerSpectrum(n_max=4, l_max=4))
    for frame in (0, 2):  # C–H spread 1.8e-6 and 2.1e-6 relative
        assert low[frame].verdict == "spurious"
        assert low[frame].truncation == CH4_TEXT
    default = dg.analyse_frames(frames, dg.SoapPowerSpectrum())
    assert all(analysis.verdict == "regular" for analysis in default)
    assert max(analysis.cn for analysis in default) < 1e4


def test_equidistant_blind_counts_give_the_measured_tables():
    """The counts of docs/concepts.md from G alone: SOAP l_max 8 from N = 6, the default
    bispectrum from N = 9, CH4 at SOAP l_max 4 and bispectrum l_max 1."""
    sizes = range(4, 13)
    soap = dg.equidistant_blind_counts(dg.SoapPowerSpectrum(), sizes)
    assert soap == dict(zip(sizes, [0, 0, 1, 3, 5, 7, 10, 13, 16], strict=True))
    # max(0, 2N − 3 − l_max) + max(0, N − l_max − 1), the power spectrum's closed form
    assert all(count == max(0, 2 * n - 11) + max(0, n - 9) for n, count in soap.items())
    bispectrum = dg.equidistant_blind_counts(dg.Bispectrum(), sizes)
    assert bispectrum == dict(zip(sizes, [0, 0, 0, 0, 0, 2, 4, 6, 8], strict=True))
    assert dg.equidistant_blind_counts(dg.SoapPowerSpectrum(n_max=4, l_max=4), [4]) == {4: 1}
    assert dg.equidistant_blind_counts(dg.Bispectrum(l_max=1), [4], species="H") == {4: 6}
    # the same over other random shells, and at another distance
    again = dg.equidistant_blind_counts(dg.Bispectrum(), [10], seed=5, radius=1.9, shells=2)
    assert again == {10: 4}


def test_equidistant_blind_counts_match_the_jacobian_zeros():
    """Against the purified Jacobian of a random shell of 9 H, bispectrum l_max 3."""
    bispectrum = dg.Bispectrum(n_max=4, l_max=3, cutoff=3.0)
    (count,) = dg.equidistant_blind_counts(bispectrum, [9], radius=1.1).values()
    frames = [_environment("C" + "H" * 9, [1.1] * 9, np.random.default_rng(9))]
    relative = _relative(_spectrum(bispectrum, frames).values)
    assert count == 8 and (relative < 1e-12).sum() == count


@pytest.mark.parametrize(
    ("representation", "keywords", "message"),
    [
        (dg.Acsf(), {}, "acsf has no first_order_invariants"),
        (dg.SoapPowerSpectrum(), {"species": "O"}, "soap has no density channel for O"),
        (dg.SoapPowerSpectrum(), {"radius": 2.5}, "radius must be smaller than 2.5"),
        (dg.SoapPowerSpectrum(), {"shells": 0}, "shells must be at least 1"),
        (dg.SoapPowerSpectrum(), {"seed": -1}, "seed must be at least 0"),
    ],
)
def test_equidistant_blind_counts_name_a_bad_argument(representation, keywords, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.equidistant_blind_counts(representation, [4], **keywords)


def test_equidistant_blind_counts_refuse_a_shell_too_small_or_too_large():
    with pytest.raises(dg.DegeneracyError, match="shell size must be at least 2 and at most 64"):
        dg.equidistant_blind_counts(dg.SoapPowerSpectrum(), [4, 1])
    with pytest.raises(dg.DegeneracyError, match="got 65"):
        dg.equidistant_blind_counts(dg.SoapPowerSpectrum(), [65])
