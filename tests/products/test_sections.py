"""Profiles, curtains and slices against a known field."""

import numpy as np
import pytest

from dronesense.errors import InputError
from dronesense.gridding.dataset import grid_dataset
from dronesense.gridding.spec import GridSpec
from dronesense.products.sections import curtain, data_variable, horizontal_slices, vertical_profile
from tests.support.grids import ORIGIN


@pytest.fixture(scope="module")
def linear_grid():
    """ch4 = 2 + x/100 + z/10, with the top level empty."""
    spec = GridSpec((10, 10, 10), ORIGIN, region=(-100, 100, -50, 50, 0, 40))
    x, _, z = spec.centres()
    field = 2 + x / 100 + z / 10
    field[-1] = np.nan
    count = np.where(np.isfinite(field), 3, 0)
    return spec, grid_dataset(spec, {
        "ch4": (field, {"units": "1e-6", "ancillary_variables": "number_of_observations"}),
        "number_of_observations": (count, {"units": "1"}),
    })


def test_data_variable(linear_grid):
    _, ds = linear_grid
    assert data_variable(ds) == "ch4"
    with pytest.raises(InputError, match="no variable"):
        data_variable(ds, "pm10")


def test_profile(linear_grid):
    spec, ds = linear_grid
    prof = vertical_profile(ds)
    np.testing.assert_allclose(prof["mean"].values[:3], 2 + spec.z[:3] / 10)
    np.testing.assert_allclose(prof["min"].values[:3], 2 - 0.95 + spec.z[:3] / 10)
    assert np.isnan(prof["mean"].values[3])
    assert prof["voxels"].values.tolist() == [200, 200, 200, 0]
    assert prof["samples"].values.tolist() == [600, 600, 600, 0]
    np.testing.assert_allclose(prof["sample_weighted_mean"][:3], prof["mean"][:3])
    assert prof["mean"].attrs["units"] == "1e-6"


def test_curtain_follows_the_line(linear_grid):
    spec, ds = linear_grid
    lat0, lon0, _ = spec.frame.inverse(-90.0, 0.0)
    lat1, lon1, _ = spec.frame.inverse(90.0, 0.0)
    sec = curtain(ds, (float(lat0), float(lon0)), (float(lat1), float(lon1)), step=5.0)
    assert sec.dims == ("z", "distance")
    assert sec.distance.values[-1] == pytest.approx(180.0, abs=1e-6)
    # linear field: linear interpolation is exact
    expect = 2 + (sec.x.values[None, :]) / 100 + sec.z.values[:3, None] / 10
    np.testing.assert_allclose(sec.values[:3], expect, atol=1e-9)
    assert np.isnan(sec.values[3]).all()
    np.testing.assert_allclose(sec.y.values, 0.0, atol=1e-6)


def test_curtain_errors(linear_grid):
    _, ds = linear_grid
    with pytest.raises(InputError, match="zero length"):
        curtain(ds, (52.0, 5.0), (52.0, 5.0))


def test_slices(linear_grid):
    _, ds = linear_grid
    assert horizontal_slices(ds).sizes["z"] == 3
    assert horizontal_slices(ds, levels=[12.0]).z.values.tolist() == [15.0]
