"""The shared representation suite: every case of ``conftest.REPRESENTATION_CASES``."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import degeneracy as dg


def _frames(random_frames):
    return [dg.builtin_environment("pg-start"), *random_frames]


def test_shapes(representation, random_frames):
    frames = _frames(random_frames)
    features, jacobian = representation.jacobian(frames)
    assert features.shape[0] == len(frames)
    assert jacobian.shape == (len(frames), features.shape[1], 12)
    np.testing.assert_allclose(representation.features(frames), features, rtol=1e-12, atol=0)
    # no reversed views: torch (learning, predict) refuses arrays with negative strides
    for array in (features, jacobian, representation.features(frames)):
        assert min(array.strides) >= 0


def test_jacobian_matches_central_differences(representation, random_frames):
    for atoms in _frames(random_frames)[:3]:
        _, jacobian = representation.jacobian([atoms])
        numeric = dg.finite_difference_jacobian(representation, atoms, step=1e-5)
        error = np.linalg.norm(jacobian[0] - numeric) / np.linalg.norm(jacobian[0])
        assert error < 1e-6, f"relative FD error {error:.2e}"


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


def _transformed(atoms, matrix=None, shift=None, permutation=None):
    copy = atoms.copy()
    positions = copy.positions @ (np.eye(3) if matrix is None else matrix).T
    positions += 0.0 if shift is None else shift
    if permutation is not None:
        positions[1:] = positions[1:][permutation]
    copy.positions = positions
    return copy


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param({"matrix": Rotation.random(random_state=3).as_matrix()}, id="rotation"),
        pytest.param({"matrix": np.diag([1.0, -1.0, 1.0])}, id="reflection"),
        pytest.param(
            {"matrix": -Rotation.random(random_state=4).as_matrix()}, id="improper-rotation"
        ),
        pytest.param({"shift": np.array([0.3, -1.7, 2.2])}, id="translation"),
        pytest.param({"permutation": [2, 0, 3, 1]}, id="permutation"),
    ],
)
def test_features_invariant(representation, random_frames, transform):
    frames = _frames(random_frames)
    moved = [_transformed(atoms, **transform) for atoms in frames]
    reference = representation.features(frames)
    assert _relative(reference, representation.features(moved)) < 1e-10


def test_inputs_not_modified(representation, random_frames):
    frames = _frames(random_frames)
    before = [(a.positions.copy(), a.numbers.copy(), dict(a.info)) for a in frames]
    representation.jacobian(frames)
    representation.features(frames)
    for atoms, (positions, numbers, info) in zip(frames, before, strict=True):
        np.testing.assert_array_equal(atoms.positions, positions)
        np.testing.assert_array_equal(atoms.numbers, numbers)
        assert atoms.info == info


def test_rotations_are_exact_zeros(representation, random_frames):
    frames = _frames(random_frames)
    _, jacobian = representation.jacobian(frames)
    generators = dg.rotation_generators(dg.neighbor_positions(frames))
    along_rotations = np.linalg.norm(jacobian @ generators, axis=(1, 2))
    assert np.all(along_rotations < 1e-8 * np.linalg.norm(jacobian, axis=(1, 2)))


def test_frames_of_different_sizes_are_refused(representation, random_frames):
    """One call computes one Jacobian shape: a frame with another neighbour count is an
    error naming it, whichever comes first (not zero-padded columns or a numpy error)."""
    ch4 = random_frames[0]
    ch3 = ch4[:4]
    with pytest.raises(dg.DegeneracyError, match="frame 1 has 4 atoms, frame 0 has 5"):
        representation.jacobian([ch4, ch3])
    with pytest.raises(dg.DegeneracyError, match="frame 1 has 5 atoms, frame 0 has 4"):
        representation.features([ch3, ch4])


def test_periodic_frames_are_refused(representation, random_frames):
    """featomic would add the neighbours' periodic images and the hand-written backends
    would not, so one frame would be two environments: refused, naming the frame."""
    periodic = random_frames[1].copy()
    periodic.cell = [3.0, 3.0, 3.0]
    periodic.pbc = [True, False, False]
    with pytest.raises(dg.DegeneracyError, match=r"frame 1 is periodic \(pbc=\[True, False"):
        representation.jacobian([random_frames[0], periodic])
    periodic.pbc = False  # the cell alone is not periodicity
    assert representation.features([random_frames[0], periodic]).shape[0] == 2


def test_one_atoms_instead_of_a_list_is_refused(representation, random_frames):
    """``list(atoms)`` is its ase.Atom objects: say what to pass instead of a TypeError."""
    with pytest.raises(dg.DegeneracyError, match=r"give a list of frames, e\.g\. \[atoms\]"):
        representation.jacobian(random_frames[0])
    with pytest.raises(dg.DegeneracyError, match="no frames to compute"):
        representation.features([])


def test_species_without_a_channel_are_refused(representation, random_frames):
    """A centre or neighbour the fingerprint has no channel for would give zero features
    or zero Jacobian columns, i.e. a spurious blindness: refused, naming frame and atom."""
    if getattr(representation, "center", None) is None:
        pytest.skip(f"{representation.name} describes every species")
    nh4, ch3o = random_frames[1].copy(), random_frames[1].copy()
    nh4.numbers[0] = 7
    ch3o.numbers[2] = 8
    with pytest.raises(dg.DegeneracyError, match="frame 1, atom 0: the centre is N, but"):
        representation.jacobian([random_frames[0], nh4])
    with pytest.raises(
        dg.DegeneracyError, match="frame 1, atom 2: no channel for neighbour species O"
    ):
        representation.features([random_frames[0], ch3o])


@pytest.mark.parametrize("name", sorted(dg.REPRESENTATIONS))
def test_make_representation_names_an_unknown_hyperparameter(name):
    """A hyperparameter of another fingerprint (or a typo) is an error naming it."""
    with pytest.raises(dg.DegeneracyError, match=f"{name}: unknown hyperparameter 'nmax'"):
        dg.make_representation(name, nmax=4)
    assert dg.make_representation(name, cutoff=2.6).hypers()["cutoff"] == 2.6
    # True is an int to Python, not a length (as bounded_int refuses it for counts)
    with pytest.raises(dg.DegeneracyError, match="cutoff must be a number, got True"):
        dg.make_representation(name, cutoff=True)


def test_centre_featurizer_needs_a_representation():
    with pytest.raises(dg.DegeneracyError, match="not a fingerprint: 'soap'; build one"):
        dg.CentreFeaturizer("soap")


@pytest.mark.parametrize("name", ["soap", "bispectrum"])
def test_numpy_integers_are_integer_hyperparameters(name, random_frames):
    """A grid over ``np.arange`` gives numpy integers: accepted like Python's, while a
    non-integral numpy float is refused by name."""
    python = dg.make_representation(name, n_max=3, l_max=2)
    numpy = dg.make_representation(name, n_max=np.int64(3), l_max=np.arange(4)[2])
    assert numpy.hypers() == python.hypers() and type(numpy.hypers()["n_max"]) is int
    np.testing.assert_array_equal(numpy.features(random_frames), python.features(random_frames))
    with pytest.raises(
        dg.DegeneracyError, match=r"n_max must be an integer, got np.float64\(3.5\)"
    ):
        dg.make_representation(name, n_max=np.float64(3.5))


@pytest.mark.parametrize("species", [-1, 0, 200, True, 6.0])
def test_species_numbers_are_checked(species):
    """-1 once wrapped around to oganesson, 0 to a dummy atom, 200 an IndexError."""
    with pytest.raises(dg.DegeneracyError, match="unknown element"):
        dg.SoapPowerSpectrum(center=species)


def test_a_lone_centre_is_refused_by_every_fingerprint(representation):
    """SOAP returned zero features and a (1, n, 0) Jacobian, the OM a 1×1 matrix's
    spectrum, where the bispectrum and ACSF refused: every fingerprint refuses it now."""
    for lone in (ase.Atoms("C"), ase.Atoms()):
        for compute in (representation.features, representation.jacobian):
            with pytest.raises(
                dg.DegeneracyError,
                match=f"frame 0 has {len(lone)} atom.*an environment needs at least one neighbour",
            ):
                compute([lone])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates_are_refused(representation, random_frames, value):
    """SOAP and the bispectrum dropped an atom at NaN or inf (zero Jacobian columns), ACSF
    took inf for beyond the cutoff and returned NaN for NaN, the OM failed in numpy."""
    broken = random_frames[2].copy()
    broken.positions[3, 1] = value
    frames = [random_frames[0], random_frames[1], broken]
    for compute in (representation.features, representation.jacobian):
        with pytest.raises(
            dg.DegeneracyError,
            match=rf"{representation.name}: frame 2, atom 3: non-finite coordinates \[",
        ):
            compute(frames)


@pytest.mark.parametrize("name", ["soap", "bispectrum", "acsf"])
def test_one_string_of_neighbours_is_one_species_or_a_comma_separated_list(name):
    """A string was split into its characters: 'Si' gave "unknown element 'i'" and 'HO'
    silently became H and O."""
    assert dg.make_representation(name, neighbors="Si").neighbors == (14,)
    assert dg.make_representation(name, neighbors="H, C").neighbors == (1, 6)
    assert dg.make_representation(name, neighbors=["H", "C"]).neighbors == (1, 6)
    with pytest.raises(dg.DegeneracyError, match="unknown element 'HO'"):
        dg.make_representation(name, neighbors="HO")
    with pytest.raises(dg.DegeneracyError, match="neighbors: no species given"):
        dg.make_representation(name, neighbors="")
    with pytest.raises(dg.DegeneracyError, match="neighbors: give element symbols"):
        dg.make_representation(name, neighbors=1.5)


@pytest.mark.parametrize("name", [["soap"], 5, None])
def test_representation_names_must_be_strings(name):
    """A list was a TypeError (unhashable type) from the registry's lookup."""
    with pytest.raises(dg.DegeneracyError, match=r"unknown representation .*choose one of"):
        dg.make_representation(name)
    with pytest.raises(dg.DegeneracyError, match=r"unknown representation .*choose one of"):
        dg.species_aware(name)


def _multicentre_mistakes():
    td = dg.regular_tetrahedron()
    oxygen, periodic, nan = td.copy(), td.copy(), td.copy()
    oxygen.numbers[0] = 8
    periodic.cell, periodic.pbc = [9.0, 9.0, 9.0], True
    nan.positions[4] = [np.nan, 0.0, 0.0]
    return [
        ([td[:4]], "frame 0 has 4 atoms; the model describes CH4 environments"),
        ([oxygen], "frame 0, atom 0: the centre is O"),
        ([td, periodic], r"frame 1 is periodic \(pbc="),
        ([nan], "frame 0, atom 4: non-finite coordinates"),
        (td, r"give a list of frames, e\.g\. \[atoms\]"),
        (np.zeros((1, 5, 3)), "frame 0 is a ndarray, not an ase.Atoms"),
        ("CH4", "frame 0 is a str, not an ase.Atoms"),
        ([], "no frames to compute"),
    ]


@pytest.mark.parametrize("frames, message", _multicentre_mistakes())
def test_multicentre_inputs_need_ch4_frames(frames, message):
    """CH3 gave an H block of shape (1, 3, d), an O centre a C block (1, 0, d), a periodic
    frame was expanded with its images, a NaN atom dropped, one Atoms an AttributeError."""
    model = dg.MultiCentreSoap(n_max=2, l_max=2, basis="gto")
    for compute in (model.inputs, model.input_jacobians):
        with pytest.raises(dg.DegeneracyError, match=message):
            compute(frames)
    shapes = {k: v.shape for k, v in model.inputs([dg.regular_tetrahedron()]).items()}
    assert shapes == {"C": (1, 1, 12), "H": (1, 4, 36)}


@pytest.mark.parametrize("g2", [[(1.0,)], [("a", 1.0)], 5])
def test_custom_acsf_parameters_must_be_rows(g2):
    with pytest.raises(dg.DegeneracyError, match=r"G2 parameters must be rows \(η, R_s\)"):
        dg.Acsf(parameter_set="custom", g2=g2, g4=[(1.0, 1.0, 1.0)])


@pytest.mark.parametrize("step", [0.0, -1e-5, float("nan")])
def test_finite_differences_need_a_positive_step(step):
    """step 0 returned all NaN without a word."""
    with pytest.raises(dg.DegeneracyError, match="step must be a positive number"):
        dg.finite_difference_jacobian(
            dg.SoapPowerSpectrum(), dg.builtin_environment("td"), step=step
        )


def test_repr_rebuilds_the_same_fingerprint(representation):
    """A repr shows every hyperparameter (Acsf's omitted species, custom sets, angular)."""
    rebuilt = eval(repr(representation), {name: getattr(dg, name) for name in dg.__all__})
    assert rebuilt.hypers() == representation.hypers()
    custom = dg.Acsf(parameter_set="custom", g2=[(1.0, 0.0)], g4=[(0.5, 1.0, -1.0)], center="Si")
    assert eval(repr(custom), {"Acsf": dg.Acsf}).hypers() == custom.hypers()


# featomic's calculator constructor hangs (uninterruptibly) on a cutoff of ~1e19 Å and
# more; the OM overflowed at 1e155 Å: every fingerprint refuses a cutoff above 100 Å.
_EVERY_FINGERPRINT = {
    "soap": dg.SoapPowerSpectrum,
    "bispectrum": dg.Bispectrum,
    "acsf": dg.Acsf,
    "om": dg.OverlapMatrix,
}


@pytest.mark.parametrize("cutoff", [1e20, 1e100, 1.7e308, 1e155, 100.001])
@pytest.mark.parametrize("name", sorted(_EVERY_FINGERPRINT))
def test_a_huge_cutoff_is_refused_when_built(name, cutoff):
    message = (
        r"^cutoff must be at most 100 Å \(a radius for atomic environments\), "
        rf"got {cutoff!r}$"
    )
    with pytest.raises(dg.DegeneracyError, match=message.replace("+", r"\+")):
        _EVERY_FINGERPRINT[name](cutoff=cutoff)


@pytest.mark.parametrize("name", sorted(_EVERY_FINGERPRINT))
def test_the_largest_cutoff_works(name):
    """100 Å itself: featomic builds its calculator (σ wide enough for it) in a blink."""
    sigma = {"sigma": 3.0} if name in ("soap", "bispectrum") else {}
    rep = _EVERY_FINGERPRINT[name](cutoff=100.0, **sigma)
    features = rep.features([dg.builtin_environment("td")])
    assert np.all(np.isfinite(features))


def test_fitting_an_optimal_basis_refuses_a_huge_cutoff_before_featomic(monkeypatch):
    from degeneracy.representations import optimal_basis

    def no_featomic(*args, **kwargs):  # where featomic hung: fail instead
        raise AssertionError("featomic was called with a huge cutoff")

    monkeypatch.setattr(optimal_basis, "new_calculator", no_featomic)
    frames = dg.sample_methane(3, seed=0)
    with pytest.raises(dg.DegeneracyError, match=r"cutoff must be at most 100 Å.*got 1e\+300"):
        dg.fit_optimal_basis(frames, sigma=0.3, cutoff=1e300)
    with pytest.raises(dg.DegeneracyError, match=r"cutoff must be at most 100 Å.*got 1e\+300"):
        optimal_basis.primitive_radial_tables(sigma=0.3, cutoff=1e300, l_max=1, n_primitive=2)


@pytest.mark.parametrize("sigma", [1e-300, 1e-20, 0.009])
@pytest.mark.parametrize("name", ["soap", "bispectrum"])
def test_a_tiny_sigma_is_refused_when_built(name, sigma):
    """featomic called σ = 1e-300 an "internal featomic error (this is likely a bug)"."""
    message = rf"^sigma must be at least 0.01 Å, got {sigma!r}$"
    with pytest.raises(dg.DegeneracyError, match=message):
        _EVERY_FINGERPRINT[name](sigma=sigma)


@pytest.mark.parametrize("name", ["soap", "bispectrum"])
def test_sigma_at_its_limits_works(name):
    """The smallest σ (with a cutoff featomic accepts for it) and σ just below the
    largest cutoff; a larger σ is refused by σ < cutoff."""
    cls = _EVERY_FINGERPRINT[name]
    frames = [dg.builtin_environment("td")]
    for sigma, cutoff in ((0.01, 0.3), (99.0, 100.0)):
        assert np.all(np.isfinite(cls(sigma=sigma, cutoff=cutoff).features(frames)))
    with pytest.raises(
        dg.DegeneracyError, match=r"^sigma must be smaller than cutoff 100 Å, got 1e\+300$"
    ):
        cls(sigma=1e300, cutoff=100.0)


# --- helper-75: σ against the cutoff, one check when SOAP, the bispectrum or the
# optimal basis is built ---------------------------------------------------------------

#: Everything built with a Gaussian density width: SOAP (GTO, optimal basis), the
#: bispectrum, and the optimal basis fit (small, to stay fast).
_WITH_SIGMA = {
    "soap": dg.SoapPowerSpectrum,
    "soap optimal": lambda **hypers: dg.SoapPowerSpectrum(basis="optimal", **hypers),
    "bispectrum": dg.Bispectrum,
    "fit": lambda **hypers: dg.fit_optimal_basis(
        dg.sample_methane(2, seed=1), n_max=2, l_max=1, n_primitive=4, **hypers
    ),
}


@pytest.fixture
def no_featomic(monkeypatch):
    """featomic's calculators cannot be built: a refusal must come before them."""
    from degeneracy.representations import bispectrum, optimal_basis, soap

    def refuse(*args, **kwargs):
        raise AssertionError("featomic was asked")

    for module in (soap, bispectrum, optimal_basis):
        monkeypatch.setattr(module, "new_calculator", refuse)


@pytest.mark.parametrize(
    ("sigma", "cutoff", "message"),
    [
        (0.3, 10.503,
         "cutoff 10.503 Å is 35.01 times sigma 0.3 Å, more than the 35 up to which featomic "
         "computes its GTO radial integrals: give cutoff at most 10.5 Å or sigma at least "
         "0.301 Å"),
        (0.3, 20.0,
         "cutoff 20 Å is 66.7 times sigma 0.3 Å, more than the 35 up to which featomic "
         "computes its GTO radial integrals: give cutoff at most 10.5 Å or sigma at least "
         "0.572 Å"),
        (0.01, 100.0,
         "cutoff 100 Å is 1e+04 times sigma 0.01 Å, more than the 35 up to which featomic "
         "computes its GTO radial integrals: give cutoff at most 0.35 Å or sigma at least "
         "2.86 Å"),
        (2.5, 2.5, "sigma must be smaller than cutoff 2.5 Å, got 2.5"),
        (5, 2.5, "sigma must be smaller than cutoff 2.5 Å, got 5"),
    ],
    ids=["35.01x", "66.7x", "1e4x", "sigma=cutoff", "sigma>cutoff"],
)  # fmt: skip
@pytest.mark.parametrize("kind", sorted(_WITH_SIGMA))
def test_a_cutoff_beyond_35_sigma_is_refused_when_built(kind, sigma, cutoff, message, no_featomic):
    """featomic's GTO radial integrals fail from cutoff/σ 35.7 on (37.7 for one function):
    it refused when the calculator was first built, with its own advice ("Try increasing
    decreasing the `cutoff`"), or the command line refused it in option terms; now the
    fingerprint refuses it when built, naming its parameters and what works."""
    with pytest.raises(dg.DegeneracyError) as refused:
        _WITH_SIGMA[kind](sigma=sigma, cutoff=cutoff)
    assert str(refused.value) == message


@pytest.mark.parametrize("kind", sorted(_WITH_SIGMA))
def test_a_cutoff_of_35_sigma_is_accepted_by_the_check_and_by_featomic(kind):
    """35 × σ itself (10.5 Å at σ 0.3 Å) builds, and featomic computes it (the fit, and
    SOAP with the GTO basis and the bispectrum)."""
    built = _WITH_SIGMA[kind](sigma=0.3, cutoff=0.3 * 35)
    if kind in ("soap", "bispectrum"):
        assert np.all(np.isfinite(built.features([dg.builtin_environment("td")])))
    elif kind == "fit":
        assert built.cutoff == 10.5 and built.sigma == 0.3


def test_featomic_computes_35_sigma_for_the_most_functions_at_the_narrowest_sigma():
    """Where featomic's own limit is lowest (35.67 ×: σ 0.01 Å, 22 radial functions, l_max
    20), 35 × still works, so no setting the check accepts reaches featomic's refusal."""
    soap = dg.SoapPowerSpectrum(sigma=0.01, cutoff=0.35, n_max=22, l_max=20)
    assert soap.calculator is not None


def test_featomic_s_own_refusal_is_one_line_without_its_panic_output(capfd):
    """What no fingerprint now reaches (cutoff/σ 38, featomic called directly): featomic's
    refusal is one line with its own reason, its Rust panic note on file descriptor 2
    dropped; the rewrite of that reason in our words went with the check at build time."""
    import featomic

    from degeneracy.representations._featomic import new_calculator

    with pytest.raises(dg.DegeneracyError) as refused:
        new_calculator(
            featomic.SphericalExpansion,
            "sigma 0.3 Å, cutoff 11.4 Å",
            cutoff={"radius": 11.4, "smoothing": {"type": "Step"}},
            density={"type": "Gaussian", "width": 0.3},
            basis={
                "type": "TensorProduct",
                "max_angular": 0,
                "radial": {"type": "Gto", "max_radial": 0},
            },
        )
    assert str(refused.value).startswith(
        "featomic refused sigma 0.3 Å, cutoff 11.4 Å: Failed to compute radial integral with "
        "GTO basis."
    )
    assert "\n" not in str(refused.value) and capfd.readouterr().err == ""


def test_a_fixed_cutoff_is_named_as_such_and_the_advice_is_about_sigma():
    """A caller whose cutoff is not the user's to set (e.g. the traced orbit's fixed 2.5 Å)
    names σ its own way and is advised on σ alone."""
    from degeneracy.representations.base import density_width

    assert density_width(0.0715, cutoff=2.5, name="--orbit-sigma", cutoff_name=None) == 0.0715
    with pytest.raises(dg.DegeneracyError) as refused:
        density_width(0.05, cutoff=2.5, name="--orbit-sigma", cutoff_name=None)
    assert str(refused.value) == (
        "the cutoff 2.5 Å is 50 times --orbit-sigma 0.05 Å, more than the 35 up to which "
        "featomic computes its GTO radial integrals: give --orbit-sigma at least 0.0715 Å"
    )
    with pytest.raises(dg.DegeneracyError) as refused:
        density_width(5.0, cutoff=2.5, name="--orbit-sigma", cutoff_name=None)
    assert str(refused.value) == "--orbit-sigma must be smaller than the cutoff 2.5 Å, got 5"


@pytest.mark.parametrize(
    ("hypers", "line"),
    [
        ({"cutoff": 20.0},
         "--cutoff 20 Å is 66.7 times --sigma 0.3 Å, more than the 35 up to which featomic "
         "computes its GTO radial integrals: give --cutoff at most 10.5 Å or --sigma at "
         "least 0.572 Å"),
        ({"sigma": 5.0}, "--sigma must be smaller than --cutoff 2.5 Å, got 5"),
    ],
    ids=["66.7x", "sigma>cutoff"],
)  # fmt: skip
@pytest.mark.parametrize("name", ["soap", "bispectrum"])
def test_the_refusal_reads_in_option_terms_after_the_command_line_s_renaming(name, hypers, line):
    """The command line renames a fingerprint's parameters to its options
    (:func:`~degeneracy.cli.options.with_hyper_options`): the library's refusal then says
    what the command line's own check said."""
    from degeneracy.cli.options import HYPER_OPTIONS, with_hyper_options

    with pytest.raises(dg.DegeneracyError) as refused:
        _EVERY_FINGERPRINT[name](**hypers)
    assert with_hyper_options(str(refused.value), HYPER_OPTIONS[name], name=name) == line


def test_n_max_beyond_n_primitive_says_what_to_do():
    message = (
        r"^n_max=21 cannot exceed n_primitive=20: the optimal basis keeps n_max combinations "
        r"of n_primitive primitive GTO functions; give n_primitive a larger value \(at most "
        r"22\) or use the GTO basis$"
    )
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.SoapPowerSpectrum(basis="optimal", n_max=21)
    with pytest.raises(dg.DegeneracyError, match=r"^n_max must be at least 1 and at most 22"):
        dg.SoapPowerSpectrum(n_max=100)


def test_the_gto_basis_has_no_n_primitive_limit():
    """``spectrum --n-max 17`` (GTO basis) was refused for the optimal basis's n_primitive."""
    rep = dg.SoapPowerSpectrum(n_max=17, l_max=1)
    assert rep.features([dg.builtin_environment("td")]).shape == (1, 17**2 * 2)
    assert dg.SoapPowerSpectrum(basis="optimal", n_max=17, n_primitive=17).n_max == 17


def test_a_given_optimal_basis_brings_its_own_n_primitive():
    frames = dg.sample_methane(20, seed=3)
    basis = dg.fit_optimal_basis(frames, sigma=0.3, n_max=17, l_max=1, n_primitive=18)
    rep = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=basis, n_max=17, l_max=1)
    assert rep.n_primitive == 18
    assert rep.features(frames[:1]).shape == (1, 17**2 * 2)
    # the same number may be stated; another would change the label, not the features
    assert (
        dg.SoapPowerSpectrum(
            basis="optimal", optimal_basis=basis, n_max=17, l_max=1, n_primitive=18
        ).hypers()
        == rep.hypers()
    )
    with pytest.raises(
        dg.DegeneracyError, match=r"^optimal_basis: fitted for n_primitive 18 \(not 20\); "
    ):
        dg.SoapPowerSpectrum(
            basis="optimal", optimal_basis=basis, n_max=17, l_max=1, n_primitive=20
        )


def test_the_gto_basis_refuses_an_n_primitive_it_would_not_use():
    with pytest.raises(
        dg.DegeneracyError,
        match=r"^n_primitive sets the optimal basis's primitives, and basis is gto, which has "
        r"none \(give basis=optimal, or leave n_primitive out\)$",
    ):
        dg.SoapPowerSpectrum(n_primitive=12)
    # a rebuilt fingerprint's hypers carry n_primitive only with the optimal basis
    gto = dg.SoapPowerSpectrum()
    assert "n_primitive" not in gto.hypers()
    assert dg.make_representation("soap", **gto.hypers()).hypers() == gto.hypers()


@pytest.mark.parametrize(
    ("make", "mixed_species", "fast"),
    [
        (lambda: dg.SoapPowerSpectrum(), False, True),
        (lambda: dg.SoapPowerSpectrum(n_max=4, l_max=3, neighbors=("H", "O")), True, True),
        (lambda: dg.Bispectrum(), False, True),
        # its expansion's blocks (one neighbour species each) have some atoms' gradients
        (lambda: dg.Bispectrum(neighbors=("H", "O")), True, False),
    ],
)
def test_complete_centre_gradients_equal_the_scatter(make, mixed_species, fast, monkeypatch):
    """The transposing copy used when every frame has all its gradients in order gives the
    same Jacobian, bit for bit, as the general scatter into zeros (also used, per block,
    where a block misses some; here the mixed-species frames' per-pair blocks)."""
    from degeneracy.representations import _featomic

    methane = dg.sample_methane(6, seed=3)
    mixed = [atoms.copy() for atoms in methane[:3]]
    for atoms in mixed:
        atoms.numbers[[2, 4]] = 8  # C(H2O2): blocks of H-H, H-O, O-O pairs
    representation = make()
    frames = mixed if mixed_species else methane
    calls = []
    transposing = _featomic._complete_centre_gradients

    def counting(*args):
        result = transposing(*args)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(_featomic, "_complete_centre_gradients", counting)
    features, jacobian = representation.jacobian(frames)
    assert any(calls) is fast
    monkeypatch.setattr(_featomic, "_complete_centre_gradients", lambda *args: None)
    slow_features, slow_jacobian = make().jacobian(frames)
    np.testing.assert_array_equal(features, slow_features)
    np.testing.assert_array_equal(jacobian, slow_jacobian)


def test_label_columns_copies_the_columns_and_leaves_the_block_intact():
    """The columns come out as copies, and freeing the Labels handed out does not touch
    the block's own (read again afterwards, twice)."""
    from metatensor import Labels, TensorBlock

    from degeneracy.representations._featomic import label_columns

    samples = np.array([[0, 0], [0, 3], [2, 1]], dtype=np.int32)
    block = TensorBlock(
        values=np.arange(6.0).reshape(3, 2),
        samples=Labels(["system", "atom"], samples),
        components=[],
        properties=Labels.range("n", 2),
    )
    for _ in range(2):
        systems, atoms = label_columns(block.samples, "system", "atom")
        np.testing.assert_array_equal(systems, samples[:, 0])
        np.testing.assert_array_equal(atoms, samples[:, 1])
        systems[:] = 7  # a copy, not a view into freed memory
    np.testing.assert_array_equal(np.asarray(block.samples.values), samples)


def _resident_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    pytest.skip("the resident memory is read from /proc/self/status (Linux)")


@pytest.mark.parametrize("make", [dg.SoapPowerSpectrum, dg.Bispectrum], ids=["soap", "bispectrum"])
def test_jacobians_do_not_keep_metatensor_labels_in_memory(make):
    """metatensor-core 0.2.x never frees a Labels object: before ``label_columns`` and
    ``blocks_by_key`` each SOAP n = l = 8 Jacobian kept ~16 KB (its properties, and a
    selection for ``tensor.blocks()``), ~24 MB over these 1500 calls (an orbit worker's
    20 001 Euler steps ~3 GB), and each bispectrum Jacobian 7.8 KB (a selection per
    block); now ~0.1 KB a call is left."""
    representation = make()
    frames = dg.sample_methane(1, seed=4)
    for _ in range(100):  # allocator and caches settle
        representation.jacobian(frames)
    before = _resident_mb()
    for _ in range(1500):
        representation.jacobian(frames)
    assert _resident_mb() - before < 4


@pytest.mark.parametrize("make", [dg.SoapPowerSpectrum, dg.Bispectrum], ids=["soap", "bispectrum"])
def test_every_labels_a_jacobian_takes_from_metatensor_is_freed(make, monkeypatch):
    """Each Labels metatensor hands out (``Labels.unsafe_from_ptr``) is released: a
    ``block_by_id`` made ``tensor.keys`` once per block for its bound check (helper-165:
    1 of 4 and 5 of 16 were left)."""
    from metatensor import Labels

    representation = make()
    frames = dg.sample_methane(2, seed=1)
    made = []
    handed_out = Labels.unsafe_from_ptr

    def spy(pointer):
        made.append(handed_out(pointer))
        return made[-1]

    monkeypatch.setattr(Labels, "unsafe_from_ptr", staticmethod(spy))
    representation.jacobian(frames)
    assert made and all(labels._ptr is None for labels in made), [l.names for l in made]


def test_blocks_by_key_refuses_a_tensor_of_other_keys():
    """Blocks are taken by position, so the tensor's keys must be the selected ones."""
    from metatensor import Labels, TensorBlock, TensorMap

    from degeneracy.representations._featomic import blocks_by_key

    def block(value: float) -> TensorBlock:
        return TensorBlock(
            values=np.full((1, 1), value),
            samples=Labels.range("system", 1),
            components=[],
            properties=Labels.range("n", 1),
        )

    keys = Labels(["l"], np.array([[0], [1]], dtype=np.int32))
    tensor = TensorMap(keys, [block(0.0), block(1.0)])
    same = Labels(["l"], np.array([[0], [1]], dtype=np.int32))
    assert [b.values[0, 0] for b in blocks_by_key(tensor, same)] == [0.0, 1.0]
    other = Labels(["l"], np.array([[1], [0]], dtype=np.int32))
    with pytest.raises(dg.DegeneracyError, match="other blocks than the keys selected"):
        blocks_by_key(tensor, other)
