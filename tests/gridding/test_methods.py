"""Interpolators against a known plume: error vs truth, masks, uncertainty, contract."""

import numpy as np
import pytest
from scipy import ndimage

from dronesense.errors import InputError
from dronesense.gridding.methods import METHODS, make_method
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging
from dronesense.gridding.spec import GridSpec
from tests.support.grids import ORIGIN, flight, truth_grid


@pytest.fixture(scope="module")
def sparse_flight():
    """Lines 40 m apart at three layers, gridded at 10 m: most voxels hold no sample."""
    coords, values, _, _ = flight(
        layers=(10, 25, 40), extent=(-100, 200, -80, 80), line_spacing=40, step=2.0)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    return coords, values, spec, truth_grid(spec)


METHOD_ERRORS = {  # RMSE vs truth on supported voxels (ppm); plume peak ~ 1 ppm above 1.9
    "block": 0.05,
    "idw": 0.12,
    "dmv": 0.15,
    "kriging": 0.12,
}


@pytest.fixture(scope="module")
def products(sparse_flight):
    coords, values, spec, _ = sparse_flight
    methods = {"block": BlockReduce(), "idw": IDW(k=8, anisotropy=3.0),
               "dmv": KernelDMV(sigma_h=10.0, sigma_v=5.0), "kriging": Kriging(anisotropy=3.0)}
    return {name: m.fit(coords, values, spec=spec).grid(quantity="ch4")
            for name, m in methods.items()}


@pytest.mark.parametrize("name", list(METHOD_ERRORS))
def test_error_vs_truth(products, sparse_flight, name):
    *_, truth = sparse_flight
    est = products[name]["ch4"].values
    ok = np.isfinite(est)
    rmse = np.sqrt(np.mean((est[ok] - truth[ok]) ** 2))
    assert rmse < METHOD_ERRORS[name], rmse
    # the truth varies much more than the error: the grid carries the plume
    assert np.corrcoef(est[ok], truth[ok])[0, 1] > 0.9


@pytest.mark.parametrize("name", list(METHOD_ERRORS))
def test_made_by_and_cf(products, name):
    ds = products[name]
    assert ds.attrs["made_by"].startswith(type(METHODS[name]()).__name__ + "(")
    rebuilt = eval(ds.attrs["made_by"], {c.__name__: c for c in METHODS.values()})
    assert repr(rebuilt) == ds.attrs["made_by"]
    assert ds["ch4"].attrs["standard_name"] == "mole_fraction_of_methane_in_air"
    anc = ds["ch4"].attrs["ancillary_variables"].split()
    assert "number_of_observations" in anc and all(a in ds for a in anc)


def test_mask_follows_data_support(products):
    count = products["block"]["number_of_observations"].values
    assert np.isnan(products["block"]["ch4"].values[count == 0]).all()
    for name in ("idw", "dmv", "kriging"):
        est = products[name]["ch4"].values
        # within one voxel of data on the level, or between two such levels: estimated;
        # elsewhere (also above the top / below the bottom flown level): masked
        flat = ndimage.maximum_filter(count > 0, size=(1, 3, 3), mode="constant")
        near = flat.copy()
        for k in range(1, flat.shape[0] - 1):
            near[k] |= flat[k - 1] & flat[k + 1]
        assert np.isfinite(est[near]).all()
        assert np.isnan(est[~near]).all()
        assert (~near).sum() > 0


def test_uncertainty_grows_away_from_data(products):
    count = products["block"]["number_of_observations"].values
    for name, var in (("kriging", "ch4_standard_error"), ("dmv", "ch4_std")):
        v = products[name][var].values
        assert np.nanmean(v[count > 0]) < np.nanmean(v[(count == 0) & np.isfinite(v)])
    conf = products["dmv"]["ch4_confidence"].values
    assert np.nanmin(conf) >= 0 and np.nanmax(conf) <= 1
    assert np.nanmean(conf[count > 0]) > np.nanmean(conf[(count == 0) & np.isfinite(conf)])


def test_anisotropy_matters():
    """Layers 20 m apart: a vertically stretched metric gives a different estimate between
    layers than an isotropic one."""
    coords, values, _, _ = flight(layers=(10, 30), extent=(0, 60, 0, 40), line_spacing=20)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    a = IDW(anisotropy=1.0, support=5).fit(coords, values, spec=spec).grid()["value"]
    b = IDW(anisotropy=10.0, support=5).fit(coords, values, spec=spec).grid()["value"]
    assert not np.allclose(a.values, b.values, equal_nan=True)


def test_predict_matches_grid_at_centres(sparse_flight):
    coords, values, spec, _ = sparse_flight
    for m in (IDW(), Kriging(), BlockReduce()):
        m.fit(coords, values, spec=spec)
        ds = m.grid()
        x, y, z = spec.centres()
        pred = m.predict((x.ravel(), y.ravel(), z.ravel())).reshape(spec.shape)
        ok = np.isfinite(ds["value"].values)
        np.testing.assert_allclose(pred[ok], ds["value"].values[ok], rtol=1e-9)


def test_contract():
    m = IDW(k=4, anisotropy=2.0)
    assert repr(m) == ("IDW(k=4, radius=None, power=2.0, anisotropy=2.0, block_spacing=None, "
                       "support=1)")
    assert m.clone(k=6).get_params()["k"] == 6 and m.k == 4
    with pytest.raises(InputError, match="not fitted"):
        m.predict(([0.0], [0.0], [0.0]))
    with pytest.raises(InputError, match="no parameter"):
        m.set_params(bogus=1)
    with pytest.raises(InputError, match="unknown method"):
        make_method("spline")
    m.fit(([0.0, 10.0], [0.0, 0.0], [0.0, 0.0]), [1.0, 3.0])
    assert hasattr(m, "tree_") and hasattr(m, "values_")
    assert m.predict(([0.0, 5.0], [0.0, 0.0], [0.0, 0.0])).tolist() == [1.0, 2.0]


def test_idw_radius_leaves_far_points_empty():
    m = IDW(radius=5.0).fit(([0.0], [0.0], [0.0]), [1.0])
    out = m.predict(([1.0, 50.0], [0.0, 0.0], [0.0, 0.0]))
    assert out[0] == 1.0 and np.isnan(out[1])


@pytest.mark.parametrize("name", ["idw", "dmv", "kriging"])
def test_no_layer_invented_below_or_above_the_flights(name):
    # layers at 20 and 40 m with 10 m voxels: the 30 m gap is filled, 10 m and 50 m are not
    coords, values, _, _ = flight(layers=(20.0, 40.0), extent=(-60, 60, -40, 40), step=3.0)
    spec = GridSpec((20, 20, 10), ORIGIN, region=(-80, 80, -60, 60, 5, 55))
    ds = make_method(name).fit(coords, values, spec=spec).grid(spec)
    filled = np.isfinite(ds["value"].values).any(axis=(1, 2))
    assert dict(zip(ds.z.values.tolist(), filled.tolist(), strict=True)) == {
        10.0: False, 20.0: True, 30.0: True, 40.0: True, 50.0: False}


SPREAD_CF = {  # the spread variable and its CF standard name (pm2p5: mass concentration)
    "idw": ("std", ""),
    "dmv": ("std", ""),
    "kriging": ("standard_error", " standard_error"),
}


@pytest.mark.parametrize("quantity", ["ch4", "pm2p5"])
@pytest.mark.parametrize("name", list(SPREAD_CF))
def test_spread_is_cf_in_the_quantity_units(quantity, name):
    """A spread of the samples around the voxel is the quantity's standard name with a
    ``standard_deviation`` cell method; kriging's error variance is stored as its square
    root, a ``standard_error``; both in the quantity's units (no squared units)."""
    coords, values, _, _ = flight(layers=(20.0,), extent=(0.0, 100.0, 0.0, 60.0), step=5.0)
    spec = GridSpec((20, 20, 10), ORIGIN).fit(*coords)
    model = make_method(name).fit(coords, values, spec=spec)
    ds = model.grid(quantity=quantity)
    suffix, modifier = SPREAD_CF[name]
    spread = ds[f"{quantity}_{suffix}"]
    assert spread.attrs["units"] == ds[quantity].attrs["units"]
    assert spread.attrs["standard_name"] == ds[quantity].attrs["standard_name"] + modifier
    assert spread.attrs["coverage_content_type"] == "qualityInformation"
    assert spread.name in ds[quantity].attrs["ancillary_variables"].split()
    assert not any(v.endswith("_variance") for v in ds.data_vars)
    assert "units_metadata" not in spread.attrs  # not a temperature
    if name == "kriging":
        assert "cell_methods" not in spread.attrs
    else:
        assert spread.attrs["cell_methods"].startswith("x: y: z: standard_deviation (")
    if name == "dmv":  # the square root of DM+V's variance map
        np.testing.assert_allclose(spread.values[np.isfinite(spread.values)],
                                   np.sqrt(model.variance_[np.isfinite(spread.values)]))
    else:
        assert (spread.values[np.isfinite(spread.values)] >= 0).all()


@pytest.mark.parametrize("name", ["block", *SPREAD_CF])
def test_a_temperature_spread_is_a_temperature_difference(name):
    """CF 1.11 ``units_metadata``: the estimate is on the scale, its spread a difference
    (degC on the scale and as a difference convert differently to K)."""
    coords, values, _, _ = flight(layers=(20.0,), extent=(0.0, 100.0, 0.0, 60.0), step=5.0)
    spec = GridSpec((20, 20, 10), ORIGIN).fit(*coords)
    ds = make_method(name).fit(coords, values, spec=spec).grid(quantity="temperature")
    assert ds["temperature"].attrs["units_metadata"] == "temperature: on_scale"
    spread = {"block": "std"}.get(name, SPREAD_CF.get(name, ("",))[0])
    assert ds[f"temperature_{spread}"].attrs["units_metadata"] == "temperature: difference"


@pytest.mark.parametrize("sigma_h, sigma_v", [(None, None), (1.0, 1.0), (2.0, 0.0)])
def test_dmv_own_voxel_weight_is_one_for_any_kernel_width(sigma_h, sigma_v):
    # Lilienthal et al. (2009): a sample's weight at its own cell is exp(0) = 1, so one sample
    # gives Omega = 1 there and the confidence 1 - exp(-(1/omega)^2), whatever the kernel
    # width; kernels narrower than a voxel (sigma_v 1 m on 10 m layers) lost most of it
    spec = GridSpec((10, 10, 10), ORIGIN, region=(0, 50, 0, 50, 0, 50))
    omega = 0.7
    m = KernelDMV(sigma_h=sigma_h, sigma_v=sigma_v, omega=omega)
    m.fit(([25.0], [25.0], [25.0]), [3.0], spec=spec)
    assert m.confidence_[2, 2, 2] == pytest.approx(1 - np.exp(-(1 / omega) ** 2), rel=1e-9)
    assert m.mean_[2, 2, 2] == pytest.approx(3.0)
