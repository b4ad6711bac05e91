"""The model-based grid error: each method's weights equal its own grid, and the estimation
variance predicts the realised error of grids of fields drawn from a known covariance."""

import math

import numpy as np
import pytest

from dronesense.errors import ParameterError
from dronesense.gridding.errorvariance import expected_grid_rmse, grid_error_variance
from dronesense.gridding.errorweights import sample_groups, voxel_weights
from dronesense.gridding.fieldvariogram import FieldVariogram, fit_field_variogram
from dronesense.gridding.methods import IDW, BlockReduce, KernelDMV, Kriging
from dronesense.gridding.spec import GridSpec


def _survey(step=2.0, seed=1):
    """Lines along x, 20 m apart, at 15 m and 30 m; positions a little noisy."""
    rng = np.random.default_rng(seed)
    s = np.arange(0.0, 200.0, step)
    lines = np.arange(5.0, 100.0, 20.0)
    x = np.tile(s, 2 * lines.size) + rng.normal(0, 0.3, 2 * lines.size * s.size)
    y = np.tile(np.repeat(lines, s.size), 2) + rng.normal(0, 0.3, x.size)
    z = np.repeat([15.0, 30.0], lines.size * s.size)
    return x, y, z


SPEC = GridSpec((10, 10, 5), (52.0, 5.0, 0.0), region=(0, 200, 0, 100, 10, 35))


def _estimate(grid):
    return next(a for a in grid.data_vars.values() if "ancillary_variables" in a.attrs).values


@pytest.mark.parametrize("method", [
    BlockReduce(), IDW(k=8, anisotropy=2.0), IDW(block_spacing=(20, 20, 5), radius=30.0),
    KernelDMV(sigma_h=10, sigma_v=5), KernelDMV(sigma_h=15, sigma_v=2, omega=3.0),
    Kriging(anisotropy=2.0), Kriging(anisotropy=2.0, max_points=80, neighbours=None),
], ids=repr)
def test_weights_reproduce_the_methods_own_grid(method):
    x, y, z = _survey()
    v = np.sin(x / 40) + y / 100 + np.random.default_rng(2).normal(0, 0.05, x.size)
    fitted = method.clone().fit((x, y, z), v, spec=SPEC)
    est = _estimate(fitted.grid()).ravel()
    voxels = np.flatnonzero(np.isfinite(est))
    w = voxel_weights(fitted, voxels)
    np.testing.assert_allclose(w.estimate(), est[voxels], rtol=1e-9, atol=1e-9)
    assert np.allclose(w.weights.sum(axis=1), 1.0)  # every method here is unbiased


def _gaussian_field(variogram: FieldVariogram, rng, features=400):
    """A random function whose covariance, over draws, is ``sill - gamma`` of a Gaussian
    ``variogram`` (random Fourier features: frequencies from its spectral density)."""
    sd = np.sqrt(np.pi / 2) / np.array([variogram.range_major, variogram.range_minor,
                                        variogram.range_v])
    k = rng.normal(0.0, 1.0, (features, 3)) * sd
    phase = rng.uniform(0, 2 * np.pi, features)
    amp = math.sqrt(2.0 * variogram.sill / features)

    def field(x, y, z):
        pts = np.column_stack([np.ravel(x), np.ravel(y), np.ravel(z)])
        return amp * np.cos(pts @ k.T + phase).sum(axis=1)
    return field


@pytest.mark.parametrize("method", [BlockReduce(), IDW(k=8, anisotropy=2.0),
                                    KernelDMV(sigma_h=10, sigma_v=5)], ids=repr)
def test_expected_error_matches_realised_error_of_known_covariance(method):
    """Fields drawn from a known (Gaussian, anisotropic) variogram plus known noise: the mean
    squared error of the grids over 30 draws is the predicted one within 15 %."""
    variogram = FieldVariogram("Gaussian", 1.0, 60.0, 30.0, 15.0, angle=0.0)
    noise = 0.1 ** 2
    x, y, z = _survey(step=4.0)
    rng = np.random.default_rng(5)
    cx, cy, cz = SPEC.centres()
    realised = []
    for _ in range(30):
        field = _gaussian_field(variogram, rng)
        v = field(x, y, z) + rng.normal(0, 0.1, x.size)
        est = _estimate(method.clone().fit((x, y, z), v, spec=SPEC).grid()).ravel()
        ok = np.isfinite(est)
        realised.append(np.mean((est[ok] - field(cx, cy, cz)[ok]) ** 2))
    v = _gaussian_field(variogram, rng)(x, y, z)
    out = grid_error_variance(method, (x, y, z), v, SPEC, variogram=variogram, noise=noise,
                              local=False, max_voxels=10_000)
    assert out.voxels.size == out.filled  # every filled voxel, once
    ratio = out.rmse ** 2 / np.mean(realised)
    assert 0.85 < ratio < 1.15, ratio


def test_fitted_variogram_finds_the_anisotropy_of_a_known_covariance():
    truth = FieldVariogram("Gaussian", 1.0, 80.0, 20.0, 15.0, angle=0.0)
    x, y, z = _survey(step=2.0)
    rng = np.random.default_rng(3)
    sills, majors, minors, noises = [], [], [], []
    for _ in range(6):
        v = _gaussian_field(truth, rng)(x, y, z) + rng.normal(0, 0.1, x.size)
        fitted, noise = fit_field_variogram(sample_groups(SPEC, (x, y, z), v), 0.01,
                                            SPEC.spacing, model="Gaussian")
        sills.append(fitted.sill)
        majors.append(fitted.range_major)
        minors.append(fitted.range_minor)
        noises.append(noise)
        # the major axis lies along x (east), the lines' direction
        assert min(fitted.angle, math.pi - fitted.angle) < math.radians(20)
    assert noises == [0.01] * 6
    assert 40 < np.median(majors) < 160 and 10 < np.median(minors) < 40
    assert np.median(majors) > 2 * np.median(minors)


def test_expected_rmse_of_a_smooth_known_field_from_its_samples():
    """Everything fitted from the samples (noise, variogram, local sill): the expected RMSE
    of an IDW grid of a smooth field is within a factor 1.75 of its true RMSE (one field,
    not an average over draws: 1.54 here)."""
    def field(x, y, z):
        return 2.0 + np.sin(x / 25.0) * np.cos(y / 30.0) + 0.02 * z

    x, y, z = _survey(step=2.0)
    v = field(x, y, z) + np.random.default_rng(4).normal(0, 0.05, x.size)
    method = IDW(k=8, anisotropy=2.0)
    est = _estimate(method.clone().fit((x, y, z), v, spec=SPEC).grid()).ravel()
    ok = np.isfinite(est)
    true = np.sqrt(np.mean((est[ok] - field(*SPEC.centres()).ravel()[ok]) ** 2))
    out = grid_error_variance(method, (x, y, z), v, SPEC)
    assert out.noise_var == pytest.approx(0.05 ** 2, rel=0.3)
    assert 1 / 1.75 < out.rmse / true < 1.75, (out.rmse, true)
    assert expected_grid_rmse(method, (x, y, z), v, SPEC) == out.rmse  # same seed, same draw


def test_voxel_support_is_below_point_support_for_a_rough_field():
    """Against the voxel mean the error is smaller than at the centre (the mean variogram
    inside the voxel is taken off)."""
    variogram = FieldVariogram("Exponential", 1.0, 30.0, 30.0, 10.0)
    x, y, z = _survey(step=4.0)
    v = np.zeros(x.size)
    kw = dict(variogram=variogram, noise=0.01, local=False, max_voxels=300)
    point = grid_error_variance(IDW(), (x, y, z), v, SPEC, support="point", **kw)
    voxel = grid_error_variance(IDW(), (x, y, z), v, SPEC, support="voxel", **kw)
    assert voxel.rmse < point.rmse


def test_options_are_checked():
    x, y, z = _survey(step=8.0)
    v = x / 100
    with pytest.raises(ParameterError) as err:
        grid_error_variance(IDW(), (x, y, z), v, SPEC, support="line")
    assert err.value.parameter == "support"
    with pytest.raises(ParameterError) as err:
        grid_error_variance(BlockReduce(statistic="median"), (x, y, z), v, SPEC)
    assert err.value.parameter == "method"
    with pytest.raises(ParameterError) as err:
        grid_error_variance(IDW(), (x, y, z), v, SPEC, model="Cubic")
    assert err.value.parameter == "model"


def test_one_deterministic_fit_when_every_voxel_mean_is_used():
    """With fewer voxel means than the variogram is fitted to, one variogram is fitted to all
    of them: the estimate over every filled voxel is the same for any seed."""
    x, y, z = _survey(step=4.0)
    v = np.sin(x / 30) * np.cos(y / 40) + np.random.default_rng(6).normal(0, 0.05, x.size)
    a, b = (grid_error_variance(IDW(k=8), (x, y, z), v, SPEC, max_voxels=10_000, seed=s)
            for s in (0, 3))
    assert len(a.variograms) == 1
    assert a.variogram == b.variogram
    assert a.rmse == pytest.approx(b.rmse, rel=1e-12)


def test_a_constant_offset_leaves_the_estimate_unchanged():
    """The error of a linear method does not depend on the field's background: adding 420
    (a CO2-like background) to every sample gives the same expected RMSE (the weights pruned
    from each voxel's variance keep their sum, else (1 - sum)² weighs in the squared mean)."""
    rng = np.random.default_rng(3)
    x = np.tile(np.arange(0.0, 300.0, 3.0), 8)
    y = np.repeat(np.arange(0.0, 160.0, 20.0), 100)
    z = 10.0 + 5.0 * (np.arange(x.size) // 400)
    v = np.sin(x / 40.0) * np.cos(y / 50.0) + rng.normal(0, 0.05, x.size)
    spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
    for method in (IDW(k=8), KernelDMV(sigma_h=10, sigma_v=5)):
        base = grid_error_variance(method, (x, y, z), v, spec, model="Gaussian").rmse
        shifted = grid_error_variance(method, (x, y, z), v + 420.0, spec,
                                      model="Gaussian").rmse
        assert 0.0 < base < 0.5
        assert shifted == pytest.approx(base, rel=1e-6)
