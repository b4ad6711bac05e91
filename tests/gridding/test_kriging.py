"""Kriging: the variogram fitted here equals gstools' fit, the shared-neighbourhood solves
equal one solve per target, and the estimate follows a known field."""

import numpy as np
import pytest

from dronesense.gridding.methods.kriging import (
    NATIVE_MODELS,
    Kriging,
    empirical_variogram,
    fit_variogram,
    kriging_available,
)
from dronesense.gridding.spec import GridSpec


def _field(x, y, z):
    return 2.0 + 0.3 * np.exp(-((x - 40) ** 2 + (y + 10) ** 2) / 800.0) + 0.002 * z


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(7)
    x = np.tile(np.arange(-100.0, 100.0, 1.5), 6)
    y = np.repeat(np.arange(-75.0, 75.0, 25.0), x.size // 6)
    z = np.where(y > 0, 30.0, 15.0)
    xyz = (x + rng.normal(0, 0.3, x.size), y + rng.normal(0, 0.3, x.size), z)
    v = _field(*xyz) + rng.normal(0, 0.01, x.size)
    spec = GridSpec((10, 10, 5), (52.0, 5.0, 0.0), region=(-100, 100, -80, 80, 10, 35))
    return xyz, v, spec


@pytest.mark.parametrize("model", sorted(NATIVE_MODELS))
def test_native_variogram_fit_equals_gstools(samples, model):
    gs = pytest.importorskip("gstools")
    xyz, v, spec = samples
    k = Kriging(model=model, anisotropy=2.0).fit(xyz, v, spec=spec)
    pos = np.vstack([k.block_coordinates_[0], k.block_coordinates_[1],
                     k.block_coordinates_[2] * 2.0])
    extent = float(np.hypot(np.ptp(pos[0]), np.ptp(pos[1])))
    bins = np.linspace(0, extent / 2, 20)
    centres, gamma = gs.vario_estimate(pos, k.block_values_, bins)
    mine_c, mine_g = empirical_variogram(pos, k.block_values_, bins)
    np.testing.assert_allclose(mine_c, centres, rtol=1e-12)
    np.testing.assert_allclose(mine_g, gamma, rtol=1e-9, atol=1e-15)
    ref = getattr(gs, model)(dim=3)
    ref.fit_variogram(centres, gamma, nugget=True)
    fitted = fit_variogram(model, mine_c, mine_g)
    # the same least-squares problem: a loss no larger than gstools', the same parameters
    # up to the flatness of the loss near its minimum
    assert _loss(model, mine_c, mine_g, fitted) <= _loss(model, centres, gamma, ref) * (
        1 + 1e-9) + 1e-18
    for name in ("var", "len_scale", "nugget"):
        assert getattr(fitted, name) == pytest.approx(getattr(ref, name), rel=1e-3, abs=1e-9)
    r = np.linspace(0, extent, 50)
    np.testing.assert_allclose(k.variogram_.covariance(r), ref.covariance(r), rtol=0,
                               atol=1e-3 * ref.var)


def _loss(model, centres, gamma, fitted):
    """The soft-L1 loss gstools' fit minimises, of fitted parameters."""
    cor, rescale = NATIVE_MODELS[model]
    r = (fitted.var - fitted.var * cor(centres / (fitted.len_scale / rescale))
         + fitted.nugget - gamma)
    return float(np.sum(np.sqrt(1.0 + r * r) - 1.0))


@pytest.mark.parametrize("model", sorted(NATIVE_MODELS))
def test_variogram_fit_reaches_scipys_minimum(model):
    """On noisy variograms of known parameters, the numpy fit reaches the minimum
    ``scipy.optimize.curve_fit`` reaches from the same start (trust-region reflective,
    soft-L1), to 1e-9 of the loss, and recovers the parameters."""
    from scipy.optimize import curve_fit

    cor, rescale = NATIVE_MODELS[model]
    rng = np.random.default_rng(3)
    x = np.linspace(5.0, 95.0, 19)
    for _ in range(8):
        var, length, nugget = rng.uniform(0.2, 5.0), rng.uniform(10.0, 80.0), rng.uniform(0, 1)
        y = var * (1 - cor(x / (length / rescale))) + nugget + rng.normal(0, 0.01, x.size)

        def curve(h, v, ls, n):
            return v - v * cor(h / (ls / rescale)) + n

        p0 = [y.mean(), x.mean() * rescale, y.mean()]
        popt, _ = curve_fit(curve, x, y, p0=p0, bounds=([0, 0, 0], [np.inf] * 3),
                            method="trf", loss="soft_l1")
        mine = fit_variogram(model, x, y)
        theirs = type(mine)(model, *popt)
        assert _loss(model, x, y, mine) <= _loss(model, x, y, theirs) * (1 + 1e-9) + 1e-15
        assert mine.len_scale == pytest.approx(length, rel=0.1)
        assert mine.var + mine.nugget == pytest.approx(var + nugget, rel=0.05)


def test_shared_neighbourhood_solves_equal_one_solve_per_target(samples):
    xyz, v, spec = samples
    k = Kriging(anisotropy=2.0, neighbours=12).fit(xyz, v, spec=spec)
    x, y, z = (c[::7] for c in xyz)
    est, var = k._run((x, y, z))
    # reference: the ordinary kriging system of each target on its own
    targets = np.column_stack([x, y, z * 2.0])
    dist, idx = k._tree.query(targets, k=12)
    model = k.variogram_
    for t in range(0, len(targets), 37):
        a = np.ones((13, 13))
        a[:12, :12] = k._cov[np.ix_(idx[t], idx[t])]
        a[12, 12] = 0.0
        b = np.ones(13)
        b[:12] = model.covariance(dist[t])
        w = np.linalg.solve(a, b)
        assert est[t] == pytest.approx(w[:12] @ k.block_values_[idx[t]], rel=1e-10)
        assert var[t] == pytest.approx(max(model.var - w @ b, 0.0), rel=1e-7, abs=1e-15)


def test_kriging_grid_follows_the_field(samples):
    xyz, v, spec = samples
    ds = Kriging(anisotropy=2.0).fit(xyz, v, spec=spec).grid(spec)
    est = ds["value"].values
    cx, cy, cz = spec.centres()
    ok = np.isfinite(est)
    assert ok.mean() > 0.15  # the two flown levels and the voxels beside the lines
    err = est[ok] - _field(cx, cy, cz)[ok]
    assert np.sqrt(np.mean(err**2)) < 0.03


def test_availability_needs_gstools_only_for_its_own_models(monkeypatch):
    import sys

    assert kriging_available() and kriging_available("Spherical")
    monkeypatch.setitem(sys.modules, "gstools", None)
    assert not kriging_available("Matern")


def test_constant_field_is_kriged_to_its_value(samples):
    """A constant field has a zero variogram (nothing to fit): kriging falls back to a unit
    model and returns the constant, not a singular system."""
    xyz, v, spec = samples
    with pytest.raises(ValueError, match="zero everywhere"):
        fit_variogram("Exponential", np.linspace(5.0, 95.0, 19), np.zeros(19))
    k = Kriging(anisotropy=2.0).fit(xyz, np.full(v.size, 2.5), spec=spec)
    est = k.predict(tuple(c[::50] for c in xyz))
    np.testing.assert_allclose(est, 2.5, rtol=1e-9)
