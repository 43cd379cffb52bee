"""Public API input checks from a black-box hunt (helper-101's report, items P1, P2, P6–P9).

Non-finite atoms in whole structures and in the four-body target, fingerprints that
pickle after use, an output file name the reader would refuse, and the ACSF and species
arguments that raised raw Python errors.
"""

from __future__ import annotations

import copy
import pickle

import ase
import numpy as np
import pytest
from ase.build import bulk, molecule

import degeneracy as dg
from degeneracy.learning.multicentre import MultiCentreSoap
from degeneracy.representations.acsf import MIN_SCALED_CUTOFF

# --------------------------------------------------------------------------- P1


@pytest.mark.parametrize(("atom", "value"), [(1, np.nan), (0, np.inf), (3, -np.inf)])
def test_environments_of_refuses_a_non_finite_atom(atom, value):
    methane = molecule("CH4")
    methane.positions[atom] = value
    with pytest.raises(dg.DegeneracyError, match=rf"structure, atom {atom}: non-finite") as info:
        dg.environments_of(methane, [0], cutoff=1.5)
    assert str(value) in str(info.value)  # the value itself, e.g. [nan, nan, nan]


def test_structure_environments_refuses_a_non_finite_atom_of_a_crystal():
    silicon = bulk("Si", cubic=True)
    silicon.positions[5, 2] = np.nan
    with pytest.raises(dg.DegeneracyError, match=r"structure, atom 5: non-finite coordinates"):
        dg.structure_environments(silicon, cutoff=2.5)
    # a centre far from the bad atom is refused too: the atom would be missing anywhere
    with pytest.raises(dg.DegeneracyError, match=r"atom 5"):
        dg.environments_of(silicon, [0], cutoff=2.5)


def test_structure_environments_refuses_a_non_finite_periodic_cell():
    silicon = bulk("Si", cubic=True)
    silicon.cell[1, 1] = np.inf
    with pytest.raises(dg.DegeneracyError, match=r"non-finite cell vector 1 \[0\.0, inf"):
        dg.structure_environments(silicon, cutoff=2.5)


def test_finite_structures_keep_their_environments():
    silicon = bulk("Si", cubic=True)
    assert [len(e) for e in dg.structure_environments(silicon, cutoff=2.5)] == [5] * 8
    (methane,) = dg.environments_of(molecule("CH4"), [0], cutoff=1.5)
    assert methane.get_chemical_formula() == "CH4"


# --------------------------------------------------------------------------- P2


def _clones(representation):
    return [pickle.loads(pickle.dumps(representation)), copy.deepcopy(representation)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: dg.SoapPowerSpectrum(n_max=3, l_max=3),
        lambda: dg.SoapPowerSpectrum(n_max=3, l_max=3, basis="optimal"),
        lambda: dg.Bispectrum(n_max=2, l_max=2),
    ],
    ids=["soap-gto", "soap-builtin-optimal", "bispectrum"],
)
def test_featomic_fingerprints_pickle_after_use_with_identical_results(make):
    frames = dg.sample_methane(3, seed=0)
    representation = make()
    features, jacobian = representation.jacobian(frames)  # builds the featomic calculator
    for clone in _clones(representation):
        assert clone._calculator is None  # dropped, rebuilt on first use
        again, again_jacobian = clone.jacobian(frames)
        assert np.array_equal(again, features)
        assert np.array_equal(again_jacobian, jacobian)
        assert np.array_equal(clone.features(frames), features)
    # the original keeps its calculator and still computes
    assert representation._calculator is not None
    assert np.array_equal(representation.features(frames), features)


def test_soap_with_a_fitted_basis_pickles_after_use():
    frames = dg.sample_methane(6, seed=1)
    basis = dg.fit_optimal_basis(frames, sigma=0.3, n_max=3, l_max=3)
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=3, basis="optimal", optimal_basis=basis)
    features, jacobian = soap.jacobian(frames[:2])
    for clone in _clones(soap):
        assert clone.given_basis.digest() == basis.digest()
        again, again_jacobian = clone.jacobian(frames[:2])
        assert np.array_equal(again, features) and np.array_equal(again_jacobian, jacobian)


def test_multicentre_soap_pickles_after_use():
    frames = dg.sample_methane(2, seed=2)
    model = MultiCentreSoap(n_max=2, l_max=2, basis="gto")
    inputs = model.inputs(frames)
    for clone in _clones(model):
        assert clone.soap is clone.soaps["C"]  # one object, as in the original
        again = clone.inputs(frames)
        assert all(np.array_equal(again[c], inputs[c]) for c in inputs)


# --------------------------------------------------------------------------- P7


@pytest.mark.parametrize(
    "function", [dg.fourbody_torsion, dg.fourbody_torsion_gradient, dg.fourbody_flat_motions]
)
def test_fourbody_functions_refuse_non_finite_positions(function):
    neighbors = dg.neighbor_positions(dg.regular_tetrahedron())
    neighbors[2, 1] = np.inf
    name = function.__name__
    with pytest.raises(dg.DegeneracyError, match=rf"^{name}: neighbour 2: non-finite .*inf"):
        function(neighbors)
    frames = dg.sample_methane(3, seed=0)
    frames[1].positions[4, 0] = np.nan  # atom 4: neighbour 3
    with pytest.raises(dg.DegeneracyError, match=rf"^{name}: frame 1, neighbour 3: .*nan"):
        function(frames)


def test_fourbody_torsion_keeps_nan_for_collinear_hydrogens():
    neighbors = dg.neighbor_positions(dg.regular_tetrahedron())
    neighbors[2] = 2.0 * neighbors[1] - neighbors[0]  # H0, H1, H2 on one line
    assert np.isnan(dg.fourbody_torsion(neighbors))
    assert np.isnan(dg.fourbody_torsion_gradient(neighbors)).all()
    assert dg.fourbody_torsion(dg.regular_tetrahedron()) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- P8


@pytest.mark.parametrize("name", ["x.foo", "x.cif", "x.xyz.gz", "x"])
def test_write_environments_refuses_a_name_read_environments_would_not_read(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(dg.DegeneracyError, match=r"must end with \.extxyz or \.xyz") as info:
        dg.write_environments(path, dg.sample_methane(2, seed=0))
    assert str(path) in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file


@pytest.mark.parametrize("name", ["x.xyz", "x.extxyz", "X.XYZ"])
def test_written_environments_read_back(tmp_path, name):
    frames = dg.sample_methane(2, seed=0)
    dg.write_environments(tmp_path / name, frames)
    back = dg.read_environments(tmp_path / name)
    assert np.allclose(dg.neighbor_positions(back), dg.neighbor_positions(frames), atol=1e-8)


# --------------------------------------------------------------------------- P6


@pytest.mark.parametrize("cutoff", [1e-300, 1e-160, 0.5 * MIN_SCALED_CUTOFF])
def test_scaled_acsf_refuses_a_cutoff_with_an_infinite_eta(cutoff):
    pattern = rf"'scaled': cutoff {cutoff!r} Å is below"
    with pytest.raises(dg.DegeneracyError, match=pattern):
        dg.acsf_parameters("scaled", cutoff)
    with pytest.raises(dg.DegeneracyError, match=pattern):
        dg.Acsf(cutoff=cutoff, parameter_set="scaled")


def test_scaled_acsf_at_its_smallest_cutoff_is_finite_and_scale_free():
    tiny = dg.Acsf(cutoff=MIN_SCALED_CUTOFF, parameter_set="scaled")
    assert np.isfinite(tiny.g2).all() and np.isfinite(tiny.g4).all()
    frame = dg.regular_tetrahedron()
    small = frame.copy()
    small.positions *= MIN_SCALED_CUTOFF / 2.5
    features, jacobian = tiny.jacobian([small])
    assert np.isfinite(jacobian).all()
    reference = dg.Acsf(cutoff=2.5, parameter_set="scaled").features([frame])
    np.testing.assert_allclose(features, reference, rtol=0, atol=1e-12)


def _truncation_inputs():
    rng = np.random.default_rng(5)
    neighbors = rng.normal(size=(4, 3))
    neighbors *= 1.09 / np.linalg.norm(neighbors, axis=1)[:, None]
    motion = rng.normal(size=12)
    return dg.SoapPowerSpectrum(n_max=4, l_max=4), neighbors, motion


@pytest.mark.parametrize(
    ("species", "message"),
    [
        ([1, 1], r"species: 2 atomic numbers \[1, 1\] for 4 neighbours"),
        ([1] * 5, r"species: 5 atomic numbers .* for 4 neighbours"),
        (["H"] * 4, r"species must be atomic numbers.*got \['H', 'H', 'H', 'H'\]"),
        ([1, 1, 0, 1], r"species: neighbour 2 has 0, not an atomic number"),
        ([1, 1, 1.5, 1], r"species: neighbour 2 has 1\.5, not an atomic number"),
        ([[1, 1], [1, 1]], r"species must be atomic numbers"),
    ],
)
def test_truncation_zeros_refuses_bad_species(species, message):
    soap, neighbors, motion = _truncation_inputs()
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.truncation_zeros(soap, neighbors, species, motion)


def test_species_distances_accepts_numbers_as_before():
    from degeneracy.representations.base import species_distances

    neighbors = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]])
    assert species_distances(neighbors, np.array([1, 1, 8])) == {1: 1.0, 8: 2.0}
    assert species_distances(neighbors, [1.0, 1.0, 8.0]) == {1: 1.0, 8: 2.0}
    with pytest.raises(dg.DegeneracyError, match=r"3 neighbours"):
        species_distances(neighbors, [1, 1])


# --------------------------------------------------------------------------- P9


def test_hypers_docstrings_name_the_fitted_basis_they_leave_out():
    from degeneracy.representations.base import Representation

    for doc in (Representation.hypers.__doc__, dg.SoapPowerSpectrum.hypers.__doc__):
        assert "enough to rebuild" not in doc
        assert "optimal_basis" in doc


def test_trace_orbit_refuses_an_output_name_it_could_not_read_back_before_tracing(tmp_path):
    """``write_environments`` writes extended XYZ only under .extxyz/.xyz; trace_orbit checks
    the name before the work, not after tracing the whole orbit."""
    output = tmp_path / "orbit.dat"
    with pytest.raises(dg.DegeneracyError, match=r"orbit\.dat: output must end with \.extxyz"):
        dg.trace_orbit(
            dg.sample_methane(1, seed=2)[0],
            dg.SoapPowerSpectrum(n_max=3, l_max=3),
            length=0.02,
            step=0.01,
            save_every=0.01,
            output=output,
        )
    assert not output.exists()


def test_an_atom_at_the_place_of_a_centre_is_refused():
    """It became a neighbour at 0 Å (neighbours lie at 0 < r < r_c)."""
    positions = [[0, 0, 0], [1.09, 0, 0], [-1.09, 0.1, 0], [0, 1.09, 0], [0, 0, 1.09], [0, 0, 0]]
    methane = ase.Atoms("CH5", positions=positions)
    with pytest.raises(
        dg.DegeneracyError, match=r"^structure, atom 5: at the place of centre atom 0"
    ):
        dg.environments_of(methane, [0], cutoff=2.0)
    crystal = ase.Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0]], cell=[3, 3, 3], pbc=True)
    with pytest.raises(
        dg.DegeneracyError, match=r"^structure, atom 1: at the place of centre atom 0"
    ):
        dg.structure_environments(crystal, cutoff=2.5)
    assert len(dg.environments_of(methane, [1], cutoff=2.0)[0]) == 5  # elsewhere: not a centre


_TD = dg.builtin_environment("td")
_TD_NEIGHBORS = dg.neighbor_positions(_TD)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: dg.median_cn("x"), "median_cn: frame 0 is a str"),
        (lambda: dg.smallest_gap(_TD), "smallest_gap: give a list of frames"),
        (lambda: dg.composition_groups("x"), "composition_groups: frame 0 is a str"),
        (lambda: dg.orbit_deviation(None, [_TD]), "frames: frames must be a list of ase.Atoms"),
        (lambda: dg.builtin_environment(["td"]), "unknown builtin structure ['td']"),
        (lambda: dg.Acsf(parameter_set=np.array(["tight"])), "ACSF parameter set must be one of"),
        (lambda: dg.SoapPowerSpectrum(basis=np.array(["gto"])), "basis must be one of"),
        (lambda: dg.point_symmetry(_TD_NEIGHBORS, 1), "species must be a sequence with one"),
        (lambda: dg.point_symmetry(_TD_NEIGHBORS, "HHHH"), "species must be a sequence with one"),
        (
            lambda: dg.equidistant_blind_counts(dg.SoapPowerSpectrum(n_max=2, l_max=2), 4),
            "counts must be a sequence of shell sizes, e.g. [4]",
        ),
        (lambda: dg.trade_scale(_TD_NEIGHBORS, "x"), "a motion's components are not numbers"),
        (
            lambda: dg.pair_swap_residual(_TD_NEIGHBORS, np.eye(12)[0], 3),
            "coincidences must be a sequence of CoincidentPairs (from coincident_pairs), got 3",
        ),
        (
            lambda: dg.pair_swap_residual(_TD_NEIGHBORS, np.eye(12)[0], np.zeros(2)),
            "coincidences must be a sequence of CoincidentPairs",
        ),
        (
            lambda: dg.pair_swap_residual(_TD_NEIGHBORS, np.eye(12)[0], [], unseen=[(0.5, 1)]),
            "unseen must be a sequence of neighbour pairs (i, j), got [(0.5, 1)]",
        ),
        (
            lambda: dg.equidistant_blind_counts(dg.SoapPowerSpectrum(), [4], shells=1e300),
            "shells must be",  # ran for ever
        ),
        (
            lambda: dg.compare_fingerprints(
                dg.sample_methane(1, seed=0), [dg.Acsf()], per_composition=None
            ),
            "per_composition must be True or False, got None",
        ),
        (
            lambda: dg.coincident_pairs(_TD_NEIGHBORS, self_reverse=float("nan")),
            "self_reverse must be True or False, got nan",
        ),
        (
            lambda: dg.find_singular(
                dg.sample_methane(1, seed=0)[0], dg.Acsf(), check_near_symmetry=None
            ),
            "check_near_symmetry must be True or False, got None",
        ),
        (lambda: dg.pair_triple_rates(_TD_NEIGHBORS, "x"), "a motion's components are not numbers"),
        (
            lambda: dg.equal_radius_partner_residual(np.zeros((4, 3))),
            "4 neighbours at equal distances, away from the centre",
        ),
    ],
)
def test_a_wrong_argument_is_named_not_a_python_error(call, said):
    """Each raised Python's AttributeError, TypeError, ValueError or LinAlgError."""
    with pytest.raises(dg.DegeneracyError) as error:
        call()
    assert said in str(error.value)


def test_point_symmetry_takes_symbols_and_no_environments_have_no_flat_motions():
    assert dg.point_symmetry(_TD_NEIGHBORS, ["H"] * 4).n_symmetry_zeros == 8
    assert dg.point_symmetry(_TD_NEIGHBORS, ["H", "H", "O", "O"]).n_symmetry_zeros == 5
    assert dg.fourbody_flat_motions(np.zeros((0, 4, 3))).shape == (0, 12, 4)
