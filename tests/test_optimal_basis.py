"""The data-driven optimal radial basis: fit, save/load, cache, consistency with GTO."""

from __future__ import annotations

import dataclasses
import json

import ase.io
import numpy as np
import pytest
from conftest import reference_path

import degeneracy as dg
from degeneracy.representations import optimal_basis as ob


@pytest.fixture(scope="module")
def fitted() -> dg.OptimalBasis:
    return dg.fit_optimal_basis(dg.sample_methane(300, seed=9), sigma=0.3, provenance={"t": 1})


def test_projections_are_orthonormal_and_ordered(fitted):
    assert len(fitted.projections) == 9
    for projection, variance in zip(fitted.projections, fitted.variances, strict=True):
        assert projection.shape == (20, 8)
        np.testing.assert_allclose(projection.T @ projection, np.eye(8), atol=1e-12)
        assert np.all(np.diff(variance) <= 0)
    kept = fitted.retained_variance()
    assert np.all((kept > 0.99) & (kept <= 1.0 + 1e-12))


def test_save_and_load_are_bit_identical(fitted, tmp_path):
    path = tmp_path / "basis.npz"
    fitted.save(path)
    loaded = dg.OptimalBasis.load(path)
    assert loaded.settings() == fitted.settings()
    assert loaded.provenance == fitted.provenance
    assert fitted.provenance["center_species"] == "C"
    assert fitted.provenance["neighbor_species"] == ["H"]
    for a, b in zip(loaded.projections, fitted.projections, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    frames = dg.sample_methane(3, seed=1)
    x1, j1 = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=fitted).jacobian(frames)
    x2, j2 = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=loaded).jacobian(frames)
    assert np.array_equal(x1, x2) and np.array_equal(j1, j2)


def test_identity_projection_reproduces_featomic_gto():
    """Tabulated radial integrals read back from featomic are featomic's own GTO basis."""
    identity = dg.OptimalBasis(
        sigma=0.3,
        cutoff=2.5,
        n_max=8,
        l_max=8,
        n_primitive=8,
        projections=tuple(np.eye(8) for _ in range(9)),
        variances=tuple(np.ones(8) for _ in range(9)),
    )
    frames = [dg.builtin_environment("pg-start"), *dg.sample_methane(3, seed=2)]
    x_tab, j_tab = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=identity).jacobian(frames)
    x_gto, j_gto = dg.SoapPowerSpectrum(basis="gto").jacobian(frames)
    assert np.abs(x_tab - x_gto).max() < 1e-8 * np.abs(x_gto).max()
    assert np.abs(j_tab - j_gto).max() < 1e-6 * np.abs(j_gto).max()


def test_default_basis_is_cached_not_refitted(monkeypatch, tmp_path):
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path))
    first = dg.default_optimal_basis(sigma=0.2, n_frames=200)

    def refuse(*args, **kwargs):
        raise AssertionError("refitted instead of loading the cache")

    monkeypatch.setattr(ob, "fit_optimal_basis", refuse)
    second = dg.default_optimal_basis(sigma=0.2, n_frames=200)
    for a, b in zip(first.projections, second.projections, strict=True):
        assert np.array_equal(a, b)
    assert len(list(tmp_path.glob("optimal-basis-*.npz"))) == 1


def test_a_damaged_cached_basis_is_fitted_again(monkeypatch, tmp_path):
    """A truncated cache file stopped every command, naming a file the user never gave."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path))
    first = dg.default_optimal_basis(sigma=0.2, n_frames=200)
    (cached,) = tmp_path.glob("optimal-basis-*.npz")
    cached.write_bytes(cached.read_bytes()[:500])
    with pytest.warns(dg.DegeneracyWarning, match=r"damaged cache file \(not a degeneracy"):
        again = dg.default_optimal_basis(sigma=0.2, n_frames=200)
    for a, b in zip(first.projections, again.projections, strict=True):
        assert np.array_equal(a, b)
    assert dg.OptimalBasis.load(cached).digest() == first.digest()  # rewritten


def test_a_cached_basis_of_other_settings_is_fitted_again(monkeypatch, tmp_path):
    """A readable basis of other settings under a key (copied, or written by another
    version) was used: σ = 0.3's basis gave σ = 0.4's features without a word."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path))
    narrow = dg.default_optimal_basis(sigma=0.2, n_frames=200)
    (narrow_file,) = tmp_path.glob("optimal-basis-*.npz")
    wide = dg.default_optimal_basis(sigma=0.25, n_frames=200)
    (wide_file,) = set(tmp_path.glob("optimal-basis-*.npz")) - {narrow_file}
    wide_file.write_bytes(narrow_file.read_bytes())
    with pytest.warns(
        dg.DegeneracyWarning,
        match=r"damaged cache file \(a basis fitted for sigma 0.2 \(not 0.25\)\); fitting",
    ):
        again = dg.default_optimal_basis(sigma=0.25, n_frames=200)
    assert again.digest() == wide.digest() != narrow.digest()


def test_optimal_basis_errors(fitted, tmp_path):
    # only what differs, as parameter and values (it was two dict reprs)
    sigma = fitted.settings()["sigma"]
    with pytest.raises(dg.DegeneracyError) as raised:
        dg.SoapPowerSpectrum(sigma=sigma + 0.1, basis="optimal", optimal_basis=fitted)
    assert str(raised.value).startswith(
        f"optimal_basis: fitted for sigma {sigma:g} (not {sigma + 0.1:g}); fit one"
    )
    with pytest.raises(dg.DegeneracyError, match="basis is not 'optimal'"):
        dg.SoapPowerSpectrum(basis="gto", optimal_basis=fitted)
    # a path is not a basis: named, not "'str' object has no attribute 'settings'"
    with pytest.raises(dg.DegeneracyError, match=r"must be an OptimalBasis \(e\.g\."):
        dg.SoapPowerSpectrum(basis="optimal", optimal_basis="basis.npz")
    with pytest.raises(dg.DegeneracyError, match="n_max=8 cannot exceed n_primitive=4"):
        dg.fit_optimal_basis(dg.sample_methane(5, seed=1), sigma=0.3, n_primitive=4)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a basis")
    with pytest.raises(dg.DegeneracyError, match=r"optimal-basis file \(not an \.npz archive\)"):
        dg.OptimalBasis.load(bad)
    with pytest.raises(dg.DegeneracyError, match="no such file"):
        dg.OptimalBasis.load(tmp_path / "missing.npz")
    # another archive (a model.pt is a zip): said so, not "(KeyError('meta is not ...'))"
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(2))
    with pytest.raises(dg.DegeneracyError) as refused:
        dg.OptimalBasis.load(other)
    assert str(refused.value) == (
        f"{other}: not a degeneracy optimal-basis file (an archive without the basis' arrays: "
        "meta is not a file in the archive)"
    )
    # a truncated file (an interrupted copy) is named, not a zipfile traceback
    good = tmp_path / "good.npz"
    fitted.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(dg.DegeneracyError, match=r"truncated\.npz: not a degeneracy"):
        dg.OptimalBasis.load(truncated)
    empty = tmp_path / "empty.npz"  # was numpy's EOFError, a traceback
    empty.write_bytes(b"")
    with pytest.raises(dg.DegeneracyError, match=r"empty\.npz: .* \(an empty file\)"):
        dg.OptimalBasis.load(empty)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p * np.nan, "projection or variance 3 has non-finite entries"),
        (lambda p: p[:, :5], r"projection 3 has shape \(20, 5\), expected"),
        (lambda p: 2 * p, "projection 3: its columns are not orthonormal"),
        # these three were tracebacks (JSON of a complex digest, np.isfinite of text)
        (lambda p: p.astype(complex), "projection 3 holds complex128 values, not real"),
        (lambda p: np.full(p.shape, "a"), "projection 3 holds <U1 values, not real numbers"),
    ],
)
def test_a_damaged_basis_file_is_refused_before_featomic(fitted, tmp_path, damage, message):
    """NaN projections reached featomic's splines (an internal ValueError); cut columns
    were contracted without a word."""

    def damaged(arrays):
        arrays["projection_3"] = damage(arrays["projection_3"])

    _refused_when_damaged(fitted, tmp_path, damaged, message)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda v: -v, "variance 3 has a negative entry -.*: covariance eigenvalues are"),
        (lambda v: v[::-1], "variance 3 is not in descending order"),
    ],
)
def test_a_basis_whose_variances_are_no_spectrum_is_refused(fitted, tmp_path, damage, message):
    """Negated variances loaded and made every component count as carrying variance."""

    def damaged(arrays):
        arrays["variance_3"] = damage(arrays["variance_3"])

    _refused_when_damaged(fitted, tmp_path, damaged, message)


def test_roundoff_negative_variances_still_load(fitted, tmp_path):
    """A covariance's round-off eigenvalues can be slightly negative; those load."""
    variances = list(fitted.variances)
    variances[3] = variances[3].copy()
    variances[3][-1] = -1e-18 * np.abs(variances[3]).max()
    basis = dataclasses.replace(fitted, variances=tuple(variances))
    assert np.array_equal(basis.carrying_components(), fitted.carrying_components())


def _refused_when_damaged(fitted, tmp_path, damage, message) -> None:
    """``fitted`` saved, its arrays changed in place by ``damage``, saved again: refused
    in one line naming the file, with ``message``."""
    good = tmp_path / "good.npz"
    fitted.save(good)
    arrays = dict(np.load(good))
    damage(arrays)
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, **arrays)
    with pytest.raises(dg.DegeneracyError, match=r"damaged\.npz: not a usable optimal basis"):
        dg.OptimalBasis.load(damaged)
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.OptimalBasis.load(damaged)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"cutoff": 0.0}, "cutoff must be a positive number"),  # featomic hangs on it
        ({"sigma": -1.0}, "sigma must be a positive number"),
        ({"sigma": 3.0}, "sigma must be smaller than cutoff 2.5 Å, got 3"),
        (
            {"cutoff": 20.0},
            r"cutoff 20 Å is 66.7 times sigma 0.3 Å, more than the 35 .*: give "
            r"cutoff at most 10.5 Å or sigma at least 0.572 Å$",
        ),
        ({"l_max": -1}, "l_max must be"),
        ({"n_max": 0}, "n_max must be"),
        ({"n_primitive": 50}, "n_primitive must be"),
    ],
)
def test_fit_refuses_settings_soap_refuses(settings, message):
    """The fit validates like SoapPowerSpectrum (one check), not a featomic internal error
    or a basis that SOAP refuses later."""
    options = {"sigma": 0.3, **settings}
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.fit_optimal_basis(dg.sample_methane(2, seed=1), **options)


@pytest.mark.parametrize(
    ("hypers", "message"),
    [
        ({"sigma": -0.1}, "sigma must be a positive number, got -0.1"),
        ({"sigma": 3.0}, "sigma must be smaller than cutoff 2.5 Å, got 3"),
        ({"cutoff": 20.0}, "cutoff 20 Å is 66.7 times sigma 0.3 Å, more than the 35"),
        ({"cutoff": 0}, "cutoff must be a positive number, got 0"),
        ({"n_max": 0}, "n_max must be at least 1"),
        ({"l_max": 2.5}, "l_max must be an integer, got 2.5"),
        ({"basis": "bessel"}, r"basis must be one of \['gto', 'optimal'\], got 'bessel'"),
        ({"neighbors": ("Xx",)}, "unknown element 'Xx'"),
    ],
)
def test_soap_hyperparameters_validated_at_construction(hypers, message):
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.SoapPowerSpectrum(**hypers)


def test_channels_without_variance_are_named_not_divided_by_zero():
    # a single T_d CH4 has no l = 1, 2 or 5 density: PCA cannot fit those channels
    td = [dg.builtin_environment("td")]
    with pytest.warns(dg.DegeneracyWarning, match=r"no variance in the l = 1, 2, 5 channel"):
        basis = dg.fit_optimal_basis(td, sigma=0.3)
    kept = basis.retained_variance()
    assert np.flatnonzero(np.isnan(kept)).tolist() == [1, 2, 5]
    assert np.all(kept[[0, 3, 4, 6, 7, 8]] > 0.99)


def test_a_channel_without_variance_carries_no_component():
    """A channel of round-off alone (1e-31 of the largest) counted its own largest
    eigenvalue as carrying variance: the note contradicted the no-variance warning."""
    variances = [np.array([2.0, 1.0, 1e-20]), np.array([6e-32, 1e-47, 0.0]), np.zeros(3)]
    basis = dg.OptimalBasis(
        sigma=0.3,
        cutoff=2.5,
        n_max=2,
        l_max=2,
        n_primitive=3,
        projections=tuple(np.eye(3)[:, :2] for _ in variances),
        variances=tuple(variances),
    )
    assert basis.carrying_components().tolist() == [2, 0, 0]
    assert ob.empty_channels(variances) == [1, 2]


def test_fit_basis_note_and_warning_agree_on_channels_without_variance(capsys, tmp_path):
    from degeneracy.cli import main

    target = tmp_path / "td.npz"
    assert main(["fit-basis", "--builtin", "td", "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert "the 1 fitting frame has no variance in the l = 1, 2, 5 channel(s)" in captured.err
    assert "optimal basis from 1 frame (C centres" in captured.out
    carrying = dg.OptimalBasis.load(target).carrying_components()
    assert carrying.tolist() == [1, 0, 0, 1, 1, 0, 1, 1, 1]
    note = "only 1 at l = 0, 1 at l = 3, 1 at l = 4, 1 at l = 6, 1 at l = 7, 1 at l = 8 carry"
    assert note in captured.err and note not in captured.out


def test_tabulating_leaves_the_root_logger_alone():
    """featomic's warning goes through logging.warning(), which installs a stderr handler
    on the root logger: afterwards every INFO record of e.g. Dask reached the terminal."""
    import logging

    from degeneracy.representations.optimal_basis import primitive_radial_tables

    before = list(logging.root.handlers)
    try:
        logging.root.handlers.clear()
        primitive_radial_tables(sigma=0.3, cutoff=2.5, n_primitive=4, l_max=1, n_points=8)
        assert logging.root.handlers == []
    finally:
        logging.root.handlers[:] = before


def _h_environments(n_structures: int, seed: int) -> list:
    return [
        environment
        for atoms in dg.sample_methane(n_structures, seed=seed)
        for environment in dg.structure_environments(atoms, cutoff=2.5, centers=["H"])
    ]


def test_fit_refuses_frames_centred_on_another_species():
    """Asked for H centres on C-centred CH4, featomic expanded nothing: the fit 'saw no
    variance' in every channel and returned an arbitrary basis."""
    frames = dg.sample_methane(3, seed=1)
    with pytest.raises(dg.DegeneracyError, match=r"frame 0: the centre \(atom 0\) is a C, but"):
        dg.fit_optimal_basis(frames, sigma=0.3, center_species=1, neighbor_species=(1, 6))


def _fit_mistakes():
    frames = dg.sample_methane(3, seed=1)
    nan, periodic = frames[1].copy(), frames[2].copy()
    nan.positions[3] = [np.nan, 0.0, 0.0]
    periodic.cell, periodic.pbc = [9.0, 9.0, 9.0], [False, True, False]
    return [
        ({"center_species": 999}, r"center_species: unknown element 999 \(atomic numbers"),
        ({"center_species": "Xx"}, "center_species: unknown element 'Xx'"),
        ({"center_species": [6]}, r"center_species must be one species, .* got \[6\]"),
        ({"neighbor_species": [999]}, "neighbor_species: unknown element 999"),
        ({"neighbor_species": ["H", "Q"]}, "neighbor_species: unknown element 'Q'"),
        ({"neighbor_species": None}, "neighbor_species: give element symbols .* got None"),
        ({"neighbor_species": []}, "neighbor_species: no species given"),
        ({"provenance": 5}, "provenance must be a dict, got 5"),
        ({"frames": frames[0]}, r"give a list of frames, e\.g\. \[atoms\]"),
        ({"frames": [frames[0], nan]}, "frame 1, atom 3: non-finite coordinates"),
        ({"frames": [frames[0], periodic]}, r"frame 1 is periodic \(pbc=\[False, True"),
    ]


@pytest.mark.parametrize("options, message", _fit_mistakes())
def test_fit_refuses_bad_species_provenance_and_frames(options, message):
    """Were a ValueError, IndexError, TypeError or MetatensorError from deep inside, or
    (NaN atom, periodic frame) a fit on other densities than the fingerprints see."""
    options = {"frames": dg.sample_methane(3, seed=1), **options}
    with pytest.raises(dg.DegeneracyError, match=message):
        dg.fit_optimal_basis(options.pop("frames"), sigma=0.3, n_max=2, l_max=1, **options)


def test_fit_takes_species_as_symbols_numbers_or_one_of_them():
    """As the module's other species arguments take symbols: 'C' was int('C'); one
    neighbour species (1) a TypeError, a repeated one ([1, 1]) a MetatensorError."""
    frames = dg.sample_methane(3, seed=1)
    reference = dg.fit_optimal_basis(frames, sigma=0.3, n_max=2, l_max=1)
    for center, neighbors in (("C", ["H"]), (np.int64(6), 1), (6, [1, 1]), (6, "H")):
        basis = dg.fit_optimal_basis(
            frames, sigma=0.3, n_max=2, l_max=1, center_species=center, neighbor_species=neighbors
        )
        assert basis.provenance == reference.provenance
        for mine, theirs in zip(basis.projections, reference.projections, strict=True):
            np.testing.assert_array_equal(mine, theirs)


def _kept_fraction(basis: dg.OptimalBasis, covariances: list[np.ndarray]) -> np.ndarray:
    """Fraction of each channel's variance (covariance in the primitive basis) it keeps."""
    pairs = zip(basis.projections, covariances, strict=True)
    return np.array([np.trace(p.T @ c @ p) / np.trace(c) for p, c in pairs])


def test_the_h_centred_builtin_basis_is_fitted_on_h_centred_densities(monkeypatch, tmp_path):
    """The C-centred basis (C–H ~1.1 Å) is not optimal for H-centred densities (H–H ~1.8 Å):
    at n_max = 4 it keeps about half of their l = 0 variance; the H-centred fit keeps > 99 %."""
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path))
    settings = {"sigma": 0.3, "n_max": 4, "l_max": 3, "n_frames": 300}
    carbon = dg.default_optimal_basis(**settings)
    hydrogen = dg.default_optimal_basis(**settings, center="H")
    assert hydrogen.fitted_species() == ("H", ("C", "H"))
    assert carbon.fitted_species() == ("C", ("H",))
    assert hydrogen.provenance["n_frames"] == 4 * 300  # environments, not structures
    assert hydrogen.provenance["n_structures"] == carbon.provenance["n_frames"] == 300
    assert hydrogen.digest() != carbon.digest()
    assert len(list(tmp_path.glob("optimal-basis-*.npz"))) == 2
    # the H-centred densities' covariance, from an independent full-rank fit
    full = dg.fit_optimal_basis(
        _h_environments(200, seed=5), sigma=0.3, n_max=ob.DEFAULT_N_PRIMITIVE, l_max=3,
        center_species=1, neighbor_species=(1, 6),
    )  # fmt: skip
    covariances = [(u * v) @ u.T for u, v in zip(full.projections, full.variances, strict=True)]
    kept_by_h = _kept_fraction(hydrogen, covariances)
    kept_by_c = _kept_fraction(carbon, covariances)
    assert np.all(kept_by_h > 0.99)
    assert kept_by_c[0] < 0.7 and np.all(kept_by_c < kept_by_h)
    with pytest.raises(dg.DegeneracyError, match="no built-in optimal basis for Si-centred"):
        dg.default_optimal_basis(**settings, center="Si")


def test_soap_warns_once_when_its_basis_was_fitted_on_other_species(fitted):
    environments = _h_environments(2, seed=3)
    soap = dg.SoapPowerSpectrum(
        basis="optimal", optimal_basis=fitted, center="H", neighbors=("C", "H")
    )
    with pytest.warns(
        dg.DegeneracyWarning,
        match=r"given optimal basis was fitted on C-centred environments with H neighbours, "
        r"and is used for H-centred ones with H, C neighbours",
    ) as caught:
        soap.features(environments)
        soap.features(environments)
    assert len([w for w in caught if issubclass(w.category, dg.DegeneracyWarning)]) == 1


@pytest.mark.parametrize(
    ("kwargs", "warns"),
    [
        ({"center": "C", "neighbors": ("H",)}, False),
        ({"center": "H", "neighbors": ("C", "H")}, False),  # the built-in H-centred basis
        ({"center": "H", "neighbors": ("H",)}, False),  # a subset of its neighbours
        ({"center": "C", "neighbors": ("C", "H")}, True),  # C neighbours: not fitted
        ({"center": "Si", "neighbors": ("Si",)}, True),  # no built-in Si basis: C's
    ],
)
def test_builtin_basis_notes_only_species_it_was_not_fitted_on(kwargs, warns):
    soap = dg.SoapPowerSpectrum(sigma=0.3, n_max=2, l_max=1, basis="optimal", **kwargs)
    notes = soap.diagnose([])
    assert bool(notes) is warns
    identity = soap.basis_identity()  # the built-in bases' cache keys, nothing fitted
    assert sorted(identity) == ["C", "H"] and identity["C"] != identity["H"]
    if warns:
        assert notes[0].startswith("the built-in optimal basis was fitted on")
        # species listed by atomic number on both sides
        assert "with H neighbours" in notes[0] or "with H, C neighbours" in notes[0]
        assert "C, H" not in notes[0]
        assert "`degeneracy fit-basis`" in notes[0]
    assert dg.SoapPowerSpectrum(basis="gto", **kwargs).diagnose([]) == []


def test_a_basis_without_recorded_species_is_not_second_guessed(fitted):
    """Files saved before the species were recorded carry none: no note, no warning."""
    anonymous = dg.OptimalBasis(**{**fitted.__dict__, "provenance": {"n_frames": 300}})
    soap = dg.SoapPowerSpectrum(basis="optimal", optimal_basis=anonymous, center="H")
    assert soap.diagnose([]) == []


def test_the_default_contracts_20_primitives_as_the_comment_did(monkeypatch, tmp_path):
    """The Comment's optimal basis was a PCA of 20 GTOs; a basis cached for another number
    of primitives (the earlier default, 16) is not reused for it."""
    assert ob.DEFAULT_N_PRIMITIVE == 20
    assert dg.SoapPowerSpectrum(basis="optimal").hypers()["n_primitive"] == 20
    settings = {"sigma": 0.3, "cutoff": 2.5, "n_max": 8, "l_max": 8}
    keys = {n: ob.builtin_basis_key({**settings, "n_primitive": n}) for n in (16, 20)}
    assert keys[16] != keys[20]
    assert dg.SoapPowerSpectrum(basis="optimal").basis_identity()["C"] == keys[20]
    monkeypatch.setenv("DEGENERACY_CACHE", str(tmp_path))
    old = dg.default_optimal_basis(sigma=0.2, n_max=2, l_max=1, n_primitive=16, n_frames=20)
    new = dg.default_optimal_basis(sigma=0.2, n_max=2, l_max=1, n_frames=20)
    assert (old.n_primitive, new.n_primitive) == (16, 20)
    assert len(list(tmp_path.glob("optimal-basis-*.npz"))) == 2


def test_the_builtin_basis_reproduces_the_published_sigma_0_1_spectrum():
    """On the published σ = 0.1 Å, c = 1 orbit, 16 primitives gave condition numbers 0.96×
    the published ones (normalised spectrum 5.8 % off at worst); 20, as the Comment, 0.998×
    (2.3 %). Every 20th frame here (measured: 0.997×, 1.2 %; with 16: 0.961×, 5.0 %)."""
    published = ase.io.read(reference_path("comment-orbit_sigma0.1_c1.0.extxyz"), "1::20")
    theirs = np.array([atoms.info["singular_values"] for atoms in published])
    soap = dg.SoapPowerSpectrum(sigma=0.1, basis="optimal")
    _, jacobian = soap.jacobian(published)
    ours = dg.singular_spectrum(jacobian, dg.neighbor_positions(published)).values
    ratio = np.median(ours[:, 0] / ours[:, -1]) / np.median(theirs[:, 0] / theirs[:, -1])
    assert abs(ratio - 1) < 0.01
    normalised = np.abs(ours / ours[:, :1] - theirs / theirs[:, :1]) / (theirs / theirs[:, :1])
    assert normalised.max() < 0.025


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provenance": [1, 2]}, r"its provenance is not a mapping: \[1, 2\]"),
        ({"n_max": 4.7}, "its n_max 4.7 is not a count"),  # was read as 4
        ({"l_max": -1}, "its l_max -1 is not a count"),  # was a basis of no channels
    ],
)
def test_a_basis_file_with_damaged_metadata_is_refused(fitted, tmp_path, change, message):
    def damaged(arrays):
        arrays["meta"] = np.array(json.dumps({**json.loads(str(arrays["meta"])), **change}))

    _refused_when_damaged(fitted, tmp_path, damaged, message)
