"""Zero labels and verdicts from the span of the zeros, not from one vector of it.

Where several singular values are zero the SVD returns an arbitrary orthonormal basis of
their span. ``classify_zeros`` used to explain ``motions[-1]`` and ``find_singular``
``motions[0, -1]``, so the ``pair_swap`` / ``unseen_pairs`` labels, and whether a
spurious zero was explained at all, depended on which vector that was. They now explain
the span of the zeros the symmetry leaves free (``sensitivity.free_zero_motions``), and a
frame is explained when every spurious zero is (``explain_zero(..., n_spurious=...)``).
"""

import numpy as np
import pytest
from conftest import zero_outcome

import degeneracy as dg
from degeneracy import sensitivity

ZERO_RTOL = sensitivity.ZERO_RTOL

#: ACSF (tight): H1 is beyond G4's 2.5 Å cutoff from H2 and H3, so one exact zero turns
#: only those two angles; H2 and H3 are mirror images about the plane of H4 to 5e-5 Å,
#: so H2-H4 and H3-H4 are equal pairs and their trade is a second zero (1.6e-7 s1). The
#: SVD separates the two; any other basis of their span mixes them.
TWO_MECHANISMS = np.array(
    [[1.35, 0.3, 0.1], [-1.2, 0.4, 0.0], [-1.2, -0.40005, 0.0], [0.1, 0.0, 1.1]]
)

#: The same 1e-7 Å from the mirror: a third zero (1e-7 s1), the antisymmetric stretch of
#: H2-H3 (r2 = r3), which a ν = 2 fingerprint does not see either, but which ρ's groups
#: do not model (a pair is not grouped with its own reverse).
THREE_ZEROS = np.array(
    [[1.35, 0.3, 0.1], [-1.2, 0.4, 0.0], [-1.2, -0.4000001, 0.0], [0.1, 0.0, 1.1]]
)

#: A fold of ν = 2 degenerate pairs (r3 the 2-fold rotation of r2 about x, H4 on x): one
#: exact zero, the trade of H2-H4 and H3-H4.
FOLD = np.array([[-0.4, 0.0, 1.0], [0.5, 0.8, -0.4], [0.5, -0.8, 0.4], [-1.15, 0.0, 0.0]])

C3V_SHAPE = [(90, 0, 1.0), (-19.47, 0, 1.2), (-19.47, 120, 1.2), (-19.47, 240, 1.2)]


def _h1_out(radius):
    """CH4-like neighbours with H1 at ``radius`` (Å) along x (as in tests/test_om.py)."""
    neighbors = np.array([[1.0, 0.0, 0.0], [-0.5, 0.9, 0.3], [-0.4, -0.8, 0.6], [0.1, 0.2, -1.1]])
    neighbors[0] *= radius
    return neighbors


def _radial_only_acsf():
    """Ten G2 functions and no angular ones: blind to every angle."""
    return dg.Acsf(parameter_set="custom", g2=[(4.0, 0.8 + 0.1 * k) for k in range(10)], g4=[])


def _spectrum(atoms, representation):
    _, jacobian = representation.jacobian([atoms])
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(atoms)[None])
    return spectrum.values[0], spectrum.motions[0], jacobian.shape[1]


def _rotated(values, motions, rng):
    """``motions`` with the rows of the zeros (s_k < ZERO_RTOL s1) replaced by a random
    orthonormal basis of their span (a Haar-random orthogonal mix)."""
    zero = np.flatnonzero(values < ZERO_RTOL * values[0])
    q, r = np.linalg.qr(rng.standard_normal((len(zero), len(zero))))
    rotated = motions.copy()
    rotated[zero] = (q * np.sign(np.diag(r))) @ motions[zero]
    return rotated


#: (neighbours, fingerprint, zeros, what classify_zeros says of the frame)
SEVERAL_ZEROS = {
    "unseen turn and trade": (
        TWO_MECHANISMS,
        dg.Acsf,
        2,
        ("spurious", ("H2-H4 = H3-H4", "H1-H2, H1-H3"), None),
    ),
    "three zeros, one a pair's own stretch": (
        THREE_ZEROS,
        dg.Acsf,
        3,
        ("spurious", ("H2-H3 = H3-H2; H2-H4 = H3-H4", "H1-H2, H1-H3"), None),
    ),
    "H1 beyond G4's cutoff of all": (
        _h1_out(2.45),
        dg.Acsf,
        3,
        ("spurious", (None, "H1-H2, H1-H3, H1-H4"), None),
    ),
    "equidistant, l_max 3": (
        dg.neighbor_positions(dg.builtin_environment("pg-start")),
        lambda: dg.SoapPowerSpectrum(n_max=4, l_max=3),
        2,
        ("spurious", (None, None), "H at 1.09 Å: 9 motions seen through 7 sums"),
    ),
    "equidistant, l_max 1": (
        dg.neighbor_positions(dg.builtin_environment("pg-start")),
        lambda: dg.SoapPowerSpectrum(n_max=4, l_max=1),
        6,
        ("spurious", (None, None), "H at 1.09 Å: 9 motions seen through 3 sums"),
    ),
}


@pytest.mark.parametrize("case", sorted(SEVERAL_ZEROS))
def test_labels_and_verdict_do_not_depend_on_the_basis_of_the_zeros(case):
    """The SVD's own basis and six random orthonormal bases of the zeros' span give one
    verdict and one set of labels. Before, the frame of two mechanisms gave
    ``(None, "H1-H2, H1-H3")`` with the SVD's basis, whose last vector is the exact zero
    alone, and ``("H2-H4 = H3-H4", "H1-H2, H1-H3")`` with any other."""
    neighbors, build, n_zeros, expected = SEVERAL_ZEROS[case]
    atoms = dg.environment_from_neighbors(neighbors)
    representation = build()
    values, motions, n_features = _spectrum(atoms, representation)
    assert int((values < ZERO_RTOL * values[0]).sum()) == n_zeros
    rng = np.random.default_rng(7)
    for trial in range(7):
        basis = motions if trial == 0 else _rotated(values, motions, rng)
        assert zero_outcome(atoms, representation, values, basis, n_features) == expected, trial


def test_one_vector_of_the_span_was_not_enough():
    """What made the old rule basis-dependent: the last vector of the SVD's basis is the
    exact zero, which moves only H1-H2 and H1-H3; a mixed basis's last vector trades
    H2-H4 and H3-H4 too. The span holds both, and is named by both."""
    atoms = dg.environment_from_neighbors(TWO_MECHANISMS)
    acsf = dg.Acsf()
    values, motions, _ = _spectrum(atoms, acsf)
    symbols = ["H"] * 4
    alone = sensitivity.explain_zero(atoms, motions[-1], acsf, values=values)
    assert alone.labels(symbols) == (None, "H1-H2, H1-H3")
    mixed = _rotated(values, motions, np.random.default_rng(1))[-1]
    assert sensitivity.explain_zero(atoms, mixed, acsf, values=values).labels(symbols) == (
        "H2-H4 = H3-H4",
        "H1-H2, H1-H3",
    )
    span = sensitivity.free_zero_motions(values, motions)
    explanation = sensitivity.explain_zero(atoms, span, acsf, values=values)
    assert explanation.labels(symbols) == ("H2-H4 = H3-H4", "H1-H2, H1-H3")
    # ρ_2, the largest over the span: the trade's, 5e-5 Å from equal pairs
    assert 1e-6 < explanation.residual < sensitivity.PAIR_SWAP_TOL


def test_every_spurious_zero_must_be_explained():
    """Three zeros, two of them a turn of pairs beyond the cutoff and a trade of equal
    pairs, the third the antisymmetric stretch of H2-H3 (r2 = r3): named only when the
    pair's own reverse is modelled, which needs the species (tests/test_self_reverse_pairs.py);
    without them ρ_3 stays large. ``n_spurious`` asks for fewer, named as before."""
    atoms = dg.environment_from_neighbors(THREE_ZEROS)
    acsf = dg.Acsf()
    values, motions, _ = _spectrum(atoms, acsf)
    span = sensitivity.free_zero_motions(values, motions)
    assert span.shape == (3, 12)
    symbols = ["H"] * 4
    three = sensitivity.explain_zero(atoms, span, acsf, values=values)
    assert three.labels(symbols) == ("H2-H3 = H3-H2; H2-H4 = H3-H4", "H1-H2, H1-H3")
    two = sensitivity.explain_zero(atoms, span, acsf, values=values, n_spurious=2)
    assert two.labels(symbols) == ("H2-H4 = H3-H4", "H1-H2, H1-H3")
    one = sensitivity.explain_zero(atoms, span, acsf, values=values, n_spurious=1)
    assert one.labels(symbols) == two.labels(symbols)  # the labels are the span's
    assert one.residual <= two.residual < sensitivity.PAIR_SWAP_TOL
    residual, _ = sensitivity.explain_zero_motion(
        dg.neighbor_positions(atoms), span, dg.coincident_pairs(THREE_ZEROS), acsf, values=values
    )
    assert residual > 0.1  # ρ_3: the largest over the span, the stretch's
    with pytest.raises(dg.DegeneracyError, match="n_spurious"):
        sensitivity.explain_zero(atoms, span, acsf, values=values, n_spurious=4)
    with pytest.raises(dg.DegeneracyError, match="n_spurious"):
        sensitivity.explain_zero(atoms, span, acsf, values=values, n_spurious=0)


def test_the_span_is_that_of_the_zeros_the_symmetry_leaves_free():
    """At C3v the radial-only ACSF has 7 zeros, 6 of them forced; the one explained is
    the free one (it turns the cone angle: every angle, none of which it sees), the
    same whatever basis of the 7 the SVD returned. ``free_zero_motions`` spans it:
    orthonormal, orthogonal to the forced motions, as many as ``unexplained_zeros``
    counts, and the same span for every basis."""
    neighbors = np.array([dg.spherical_point(b, a, r) for b, a, r in C3V_SHAPE])
    atoms = dg.environment_from_neighbors(neighbors)
    representation = _radial_only_acsf()
    values, motions, n_features = _spectrum(atoms, representation)
    symmetry = dg.point_symmetry(neighbors)
    forced = symmetry.forced_motions
    assert symmetry.n_symmetry_zeros == 6 and int((values < ZERO_RTOL * values[0]).sum()) == 7
    free = sensitivity.free_zero_motions(values, motions, forced)
    assert free.shape == (1, 12) == (dg.unexplained_zeros(values, motions, forced), 12)
    np.testing.assert_allclose(free @ free.T, np.eye(1), atol=1e-12)
    np.testing.assert_allclose(free @ forced, 0.0, atol=1e-9)
    rng = np.random.default_rng(3)
    expected = zero_outcome(atoms, representation, values, motions, n_features)
    assert expected[0] == "spurious" and expected[1][1] is not None
    for _ in range(4):
        rotated = _rotated(values, motions, rng)
        other = sensitivity.free_zero_motions(values, rotated, forced)
        np.testing.assert_allclose(other.T @ other, free.T @ free, atol=1e-9)
        assert zero_outcome(atoms, representation, values, rotated, n_features) == expected
    # without a symmetry: the zeros' own motions
    nonsymmetric = sensitivity.free_zero_motions(values, motions)
    assert len(nonsymmetric) == 7
    np.testing.assert_array_equal(nonsymmetric, motions[values < ZERO_RTOL * values[0]])


def test_free_zero_motions_refuses_what_does_not_fit():
    values = np.array([1.0, 1e-9])
    with pytest.raises(dg.DegeneracyError, match=r"^free_zero_motions: 2 singular values"):
        sensitivity.free_zero_motions(values, np.eye(2, 6))
    with pytest.raises(dg.DegeneracyError, match="zero_rtol"):
        sensitivity.free_zero_motions(values, np.eye(2, 5), zero_rtol=1.0)
    np.testing.assert_array_equal(
        sensitivity.free_zero_motions(values, np.eye(2, 5)), np.eye(2, 5)[1:]
    )
    blind = sensitivity.free_zero_motions(np.zeros(2), np.eye(2, 5))
    assert blind.shape == (2, 5)  # blind to every motion: every one is a zero


#: Frames of ``sample_methane(20000, seed=7)`` whose ACSF (tight) spectrum has one zero,
#: with the labels the rule of one vector gave them (2026-12-06, before the span rule);
#: the first five are exact zeros named by pairs beyond G4's cutoff, the rest the zeros
#: just past the threshold (CN 1e6–1.3e7), some named, some not.
ONE_ZERO_ACSF = {
    1: (None, "H1-H2, H1-H3"),
    36: (None, "H1-H4, H3-H4"),
    175: (None, "H1-H4, H2-H4"),
    204: (None, "H1-H3, H1-H4"),
    355: (None, "H2-H4, H3-H4"),
    2535: (None, None),
    5275: (None, "H1-H4"),
    5612: (None, None),
    7635: (None, None),
    8936: (None, None),
    10989: (None, None),
    19009: (None, "H2-H4"),
    19629: (None, "H3-H4"),
}


def test_one_zero_keeps_its_labels():
    """k = 1: the span is the motion, and the labels are those of the one-vector rule."""
    frames = dg.sample_methane(20000, seed=7)
    chosen = [frames[k] for k in ONE_ZERO_ACSF]
    analyses = dg.analyse_frames(chosen, dg.Acsf())
    for k, analysis in zip(ONE_ZERO_ACSF, analyses, strict=True):
        zeros = int((analysis.singular_values < ZERO_RTOL * analysis.singular_values[0]).sum())
        assert zeros == 1 and analysis.verdict == "spurious", k
        assert (analysis.pair_swap, analysis.unseen_pairs) == ONE_ZERO_ACSF[k], k
        assert analysis.truncation is None
    [fold] = dg.analyse_frames([dg.environment_from_neighbors(FOLD)], dg.SoapPowerSpectrum())
    assert (fold.verdict, fold.pair_swap, fold.unseen_pairs) == ("spurious", "H2-H4 = H3-H4", None)


def _reference_residual(neighbors, motion, groups):
    """ρ of one motion from its definition: the grouped pair-triple rates (angles as arc
    length at the mean radius) over all of them."""
    pairs, rates = dg.pair_triple_rates(neighbors, motion)
    rates = np.nan_to_num(rates) * [1.0, 1.0, np.linalg.norm(neighbors, axis=1).mean()]
    index = {tuple(p): n for n, p in enumerate(pairs.tolist())}
    totals = rates.copy()
    for group in groups:
        total = np.zeros(3)
        for i, j in group.pairs:
            p = index[(min(i, j), max(i, j))]
            total += rates[p] if i < j else rates[p][[1, 0, 2]]
            totals[p] = 0.0
        totals[index[tuple(sorted(group.pairs[0]))]] = total
    return np.linalg.norm(totals) / np.linalg.norm(rates)


def test_one_motion_is_its_own_span_on_random_methane():
    """On random CH4 (pairs grouped at a loose tolerance so that there are groups), the
    residual of a motion given alone, as one row, and as ρ's definition agree, and so do
    the explanations."""
    frames = dg.sample_methane(40, seed=5)
    soap = dg.SoapPowerSpectrum()
    _, jacobian = soap.jacobian(frames)
    spectrum = dg.singular_spectrum(jacobian, dg.neighbor_positions(frames))
    grouped = 0
    for atoms, motion in zip(frames, spectrum.motions[:, -1], strict=True):
        neighbors = dg.neighbor_positions(atoms)
        groups = dg.coincident_pairs(neighbors, tol=0.3)
        if not groups:
            continue
        grouped += 1
        alone = sensitivity.explain_zero_motion(neighbors, motion, groups)
        row = sensitivity.explain_zero_motion(neighbors, motion[None], groups)
        assert alone == row
        assert alone[0] == pytest.approx(_reference_residual(neighbors, motion, groups), rel=1e-9)
        assert alone[0] == pytest.approx(dg.pair_swap_residual(neighbors, motion, groups), rel=1e-9)
    assert grouped >= 10


def test_find_singular_explains_the_span_as_spectrum_does():
    """A search that ends where it starts (``cn_target`` below the start's CN) labels the
    two zeros of the frame of two mechanisms as ``spectrum`` does, by their span."""
    atoms = dg.environment_from_neighbors(TWO_MECHANISMS)
    acsf = dg.Acsf()
    result = dg.find_singular(atoms, acsf, cn_target=1e6)
    assert result.iterations == 0 and result.has_zero and not result.symmetric
    [analysis] = dg.analyse_frames([atoms], acsf)
    symbols = ["H"] * 4
    assert result.explanation.labels(symbols) == (analysis.pair_swap, analysis.unseen_pairs)
    assert result.atoms.info["unseen_pairs"] == "H1-H2, H1-H3"
    assert result.pair_swap and result.n_unexplained == 2
    assert 1e-6 < result.pair_swap_residual < sensitivity.PAIR_SWAP_TOL
