"""Analytic gradient of the four-body torsion target E4 against finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import degeneracy as dg
from degeneracy.learning.datasets import ThermalMethaneSampler


@pytest.fixture(scope="module")
def frames():
    return ThermalMethaneSampler().sample(20, seed=3)


@pytest.fixture(scope="module")
def neighbors(frames):
    return dg.neighbor_positions(frames)


def central_differences(neighbors: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """dE4/dr by central differences, vectorised over frames and the 12 coordinates."""
    shifts = step * np.eye(12).reshape(12, 4, 3)
    plus = dg.fourbody_torsion(neighbors[:, None] + shifts)
    minus = dg.fourbody_torsion(neighbors[:, None] - shifts)
    return ((plus - minus) / (2 * step)).reshape(-1, 4, 3)


def test_gradient_matches_finite_differences(neighbors):
    analytic = dg.fourbody_torsion_gradient(neighbors)
    numeric = central_differences(neighbors)
    scale = np.abs(analytic).max(axis=(1, 2), keepdims=True)
    assert scale.min() > 0.05  # thermal frames are away from the minimum
    np.testing.assert_allclose(analytic / scale, numeric / scale, rtol=0, atol=1e-7)


def test_gradient_matches_finite_differences_on_uniform_directions():
    # wider spread of shapes, E4 up to ~6, than the thermal frames
    neighbors = dg.MethaneSampler().neighbors(20, seed=5)
    analytic = dg.fourbody_torsion_gradient(neighbors)
    numeric = central_differences(neighbors)
    scale = np.abs(analytic).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(analytic / scale, numeric / scale, rtol=0, atol=1e-7)


def test_gradient_vanishes_at_the_regular_tetrahedron():
    td = dg.builtin_environment("td")
    assert dg.fourbody_torsion(td) == pytest.approx(2 / 3)
    np.testing.assert_allclose(dg.fourbody_torsion_gradient(td), 0.0, atol=1e-12)
    # also when rotated and rigidly shifted (E4 only sees the H cage)
    cage = dg.neighbor_positions(td) @ Rotation.random(random_state=2).as_matrix().T
    gradient = dg.fourbody_torsion_gradient(cage + np.array([0.1, -0.2, 0.05]))
    np.testing.assert_allclose(gradient, 0.0, atol=1e-12)


def test_gradient_is_translation_rotation_and_scale_free(neighbors):
    gradient = dg.fourbody_torsion_gradient(neighbors)
    size = np.abs(gradient).max()
    # E4 depends on H differences only: no net force on the cage ...
    np.testing.assert_allclose(gradient.sum(axis=1), 0.0, atol=1e-12 * size)
    # ... no torque (rotation invariance) ...
    torque = np.cross(neighbors, gradient).sum(axis=1)
    np.testing.assert_allclose(torque, 0.0, atol=1e-12 * size)
    # ... and no work along a uniform dilation (E4 is homogeneous of degree 0)
    virial = np.einsum("fid,fid->f", neighbors, gradient)
    np.testing.assert_allclose(virial, 0.0, atol=1e-12 * size)


def test_gradient_is_covariant(neighbors):
    gradient = dg.fourbody_torsion_gradient(neighbors)
    size = np.abs(gradient).max()
    for rotation in (
        Rotation.random(random_state=1).as_matrix(),
        -Rotation.random(random_state=4).as_matrix(),  # improper
    ):
        moved = dg.fourbody_torsion_gradient(neighbors @ rotation.T)
        np.testing.assert_allclose(moved, gradient @ rotation.T, rtol=0, atol=1e-12 * size)
    # scale: E4(λ r) = E4(r), so grad E4(λ r) = grad E4(r) / λ
    np.testing.assert_allclose(
        dg.fourbody_torsion_gradient(2.5 * neighbors), gradient / 2.5, rtol=0, atol=1e-12 * size
    )
    # permuting the H permutes the gradient (E4 does not depend on their order)
    order = [2, 0, 3, 1]
    np.testing.assert_allclose(
        dg.fourbody_torsion_gradient(neighbors[:, order]),
        gradient[:, order],
        rtol=0,
        atol=1e-12 * size,
    )


def test_gradient_shapes(frames, neighbors):
    from_list = dg.fourbody_torsion_gradient(frames)
    assert from_list.shape == (20, 4, 3)
    np.testing.assert_array_equal(from_list, dg.fourbody_torsion_gradient(neighbors))
    single = dg.fourbody_torsion_gradient(frames[7])
    assert single.shape == (4, 3)
    np.testing.assert_allclose(single, from_list[7], rtol=1e-14, atol=0)
    batched = dg.fourbody_torsion_gradient(neighbors.reshape(5, 4, 4, 3))
    assert batched.shape == (5, 4, 4, 3)
    np.testing.assert_allclose(batched.reshape(20, 4, 3), from_list, rtol=1e-14, atol=0)
    assert dg.fourbody_torsion_gradient(neighbors[:0]).shape == (0, 4, 3)
    with pytest.raises(dg.DegeneracyError, match="needs 4 neighbours"):
        dg.fourbody_torsion_gradient(np.zeros((3, 3)))
    with pytest.raises(dg.DegeneracyError, match="needs 4 neighbours, got shape \\(5, 3\\)"):
        dg.fourbody_flat_motions(np.zeros((5, 3)))


def test_gradient_is_nan_without_a_warning_for_collinear_hydrogens(neighbors):
    bad = neighbors[:3].copy()
    bad[1, :3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 2.0, 0.0]]  # H0, H1, H2 on a line
    bad[2, 3] = bad[2, 0]  # frame 2: two H on top of each other
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradient = dg.fourbody_torsion_gradient(bad)
        np.testing.assert_array_equal(np.isnan(dg.fourbody_torsion(bad)), [False, True, True])
    assert np.isfinite(gradient[0]).all()
    assert np.isnan(gradient[1:]).all()
    np.testing.assert_allclose(gradient[0], dg.fourbody_torsion_gradient(neighbors[0]))


def test_flat_motions_leave_e4_unchanged(frames, neighbors):
    flat = dg.fourbody_flat_motions(frames)
    assert flat.shape == (20, 12, 4)
    np.testing.assert_allclose(
        np.swapaxes(flat, 1, 2) @ flat, np.broadcast_to(np.eye(4), (20, 4, 4)), atol=1e-12
    )
    rotations = dg.rotation_generators(neighbors)
    assert np.abs(np.swapaxes(flat, 1, 2) @ rotations).max() < 1e-12
    # E4 changes only to second order along them, and its gradient has no component there
    step = 1e-4
    e4 = dg.fourbody_torsion(neighbors)
    moved = neighbors[:, None] + step * np.moveaxis(flat, -1, 1).reshape(20, 4, 4, 3)
    assert np.abs(dg.fourbody_torsion(moved) - e4[:, None]).max() < 1e-6
    gradient = dg.fourbody_torsion_gradient(neighbors).reshape(20, 12)
    assert np.abs(np.einsum("fck,fc->fk", flat, gradient)).max() < 1e-12
    # a motion outside them, stretching one bond, changes E4 to first order
    stretch = np.zeros((20, 4, 3))
    stretch[:, 0] = neighbors[:, 0] / np.linalg.norm(neighbors[:, 0], axis=-1, keepdims=True)
    assert np.abs(dg.fourbody_torsion(neighbors + step * stretch) - e4).min() > 1e-7
    assert dg.fourbody_flat_motions(frames[0]).shape == (12, 4)
