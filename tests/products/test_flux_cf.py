"""The flux curtain file as checkers and readers see it: IOOS compliance-checker (CF 1.11,
ACDD 1.3) on the estimate of the packaged sample flight, and netCDF-C (netCDF4-python)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import dronesense as ds
from dronesense.products.flux.io import write_flux
from dronesense.products.flux.result import NO_CF_NAME
from tests.gridding.test_cf_outputs import compliance_failures

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated"),
    pytest.mark.filterwarnings("ignore:Passing the dataset to every single check"),
    pytest.mark.filterwarnings("ignore:Problem fetching standard name table"),
]

#: Curtain variables for which the CF standard name table (v93) has no honest name (the
#: reasons: ``docs/interop.md``): ACDD reports them as missing a ``standard_name``; a made-up
#: one would be a CF error.
WITHOUT_STANDARD_NAME = {"ch4_enhancement", "ch4_mass_enhancement", "flux_density",
                         "wind_normal", "conversion", "air_molar_density"}


@pytest.fixture(scope="module")
def flux(tmp_path_factory):
    samples = ds.read_samples(ds.datasets.sample_flight(), lags={"ch4": "auto"})
    result = ds.estimate_flux(samples, "ch4")
    return result, write_flux(result, tmp_path_factory.mktemp("flux") / "flux.nc")


def test_flux_file_passes_cf_and_acdd(flux):
    _, path = flux
    failures = compliance_failures(path)
    # the along-curtain dimension (no CF axis) is left of z, as CF 2.4 recommends
    assert failures["cf:1.11"] == []
    missing = set()
    for weight, name, msgs in failures["acdd:1.3"]:
        assert (weight, msgs) == (3, ["standard_name"]), name
        missing.add(name.split('"')[1])
    assert missing == WITHOUT_STANDARD_NAME


def test_flux_file_passes_cfchecks(flux, tmp_path):
    from tests.support.checkers import NEWER_CF_VERSION, cfchecks_messages

    _, path = flux
    found = cfchecks_messages(path, tmp_path)
    assert found == {"FATAL": [], "ERROR": [NEWER_CF_VERSION], "WARN": []}


def test_flux_file_cf_details(flux):
    result, path = flux
    with xr.open_dataset(path, decode_cf=False) as nc:
        assert nc["flux_density"].dims == ("s", "z")
        for name in ("s", "z", "s_bounds", "z_bounds", "lat", "lon", "x", "y", "time",
                     "time_bounds"):
            assert "_FillValue" not in nc[name].attrs, name
        assert "axis" not in nc["s"].attrs
        assert nc["flux_density"].attrs["grid_mapping"] == "crs"
        assert set(nc["flux_density"].attrs["coordinates"].split()) >= {"lat", "lon", "x", "y"}
        assert nc["ch4_enhancement"].attrs["coverage_content_type"] == "physicalMeasurement"
        for name in WITHOUT_STANDARD_NAME:  # each says why it has no standard name
            assert nc[name].attrs["comment"].endswith(NO_CF_NAME), name
            assert nc[name].attrs["long_name"] and "units" in nc[name].attrs, name
        assert nc["crs"].attrs["crs_wkt"].startswith("PROJCS[")
        assert nc.attrs["geospatial_vertical_min"] == float(nc["z"].values.min())
        for key in ("summary", "keywords", "id", "license", "creator_name", "institution",
                    "time_coverage_start", "geospatial_bounds"):
            assert nc.attrs[key], key
        assert nc.attrs["emission_rate"] == pytest.approx(result.emission)
    g = result.grid
    # x, y of the columns are their lat/lon in the local frame
    from dronesense.geo import LocalFrame

    frame = LocalFrame.from_cf(g["crs"].attrs)
    lat, lon, _ = frame.inverse(g["x"].values, g["y"].values)
    np.testing.assert_allclose(lat, g["lat"].values, atol=1e-9)
    np.testing.assert_allclose(lon, g["lon"].values, atol=1e-9)


def test_flux_file_read_by_netcdf_c(flux):
    netCDF4 = pytest.importorskip("netCDF4")
    result, path = flux
    with netCDF4.Dataset(path) as nc:
        np.testing.assert_allclose(nc["flux_density"][:], result.grid["flux_density"].values.T)
        assert nc["s"].bounds == "s_bounds"
