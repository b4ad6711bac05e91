"""Grids as their users' readers and checkers see them: IOOS compliance-checker (CF 1.11,
ACDD 1.3), GDAL through rasterio (and GDAL 3.6's gdalinfo where installed), netCDF-C through
netCDF4-python for the Zarr store (and netCDF-C 4.9's ncdump where installed).

The products are those of the packaged sample flight, made once per module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyproj
import pytest
import xarray as xr

import dronesense as ds
from dronesense.errors import ParameterError
from dronesense.gridding.dataset import open_grid, write_grid
from dronesense.gridding.spec import GridSpec

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated"),
    pytest.mark.filterwarnings("ignore:Passing the dataset to every single check"),
    pytest.mark.filterwarnings("ignore:Problem fetching standard name table"),
]

#: Variables of interpolated grids with no CF standard name, reported by ACDD as a missing
#: ``standard_name``: DM+V's confidence (the spreads have one: ``gridding.methods.base``).
WITHOUT_STANDARD_NAME = {"dmv": ["ch4_confidence"]}


def compliance_failures(path: Path) -> dict[str, list[tuple[int, str, list[str]]]]:
    """High- (3) and medium-priority (2) results of ``cf:1.11`` and ``acdd:1.3`` that fail,
    per checker, with the packaged CF standard name table (offline)."""
    from compliance_checker.cf import util
    from compliance_checker.runner import CheckSuite

    def offline(*args, **kwargs):
        raise OSError("offline: the packaged standard name table is used")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(util, "download_cf_standard_name_table", offline)
        mp.setattr(util, "create_cached_data_dir", offline)
        suite = CheckSuite()
        suite.load_all_available_checkers()
        nc = suite.load_dataset(str(path))
        try:
            results = suite.run_all(nc, ["cf:1.11", "acdd:1.3"], skip_checks=[])
        finally:
            nc.close()
    out: dict[str, list[tuple[int, str, list[str]]]] = {}
    for name, (groups, errors) in results.items():
        assert not errors, f"{name} raised: {errors}"
        failed = []
        for result in groups:
            value = result.value
            ok = value[0] == value[1] if isinstance(value, tuple) else bool(value)
            if not ok and result.weight >= 2:
                failed.append((result.weight, result.name, list(result.msgs)))
        out[name] = failed
    return out


@pytest.fixture(scope="module")
def samples():
    return ds.read_samples(ds.datasets.sample_flight(), lags={"ch4": "auto"})


@pytest.fixture(scope="module")
def block(samples, tmp_path_factory):
    grid = ds.grid(samples, "ch4", spacing=(10, 10, 5), method="block")
    out = tmp_path_factory.mktemp("grids")
    return grid, write_grid(grid, out / "grid.nc"), write_grid(grid, out / "grid.zarr")


def test_block_grid_passes_cf_and_acdd(block):
    _, path, _ = block
    failures = compliance_failures(path)
    assert failures == {"cf:1.11": [], "acdd:1.3": []}


def test_zarr_store_passes_cf_and_acdd(block):
    """The v2 store as netCDF-C shows it to the checker (NCZarr attributes: the same scalars
    and dimensions as the netCDF file). CF 2.1 asks netCDF files to be named ``.nc``; the
    checker applies that to the Zarr store's URL too, and a store is named ``.zarr``."""
    _, _, store = block
    failures = compliance_failures(store)
    assert [name for _, name, _ in failures["cf:1.11"]] == ["§2.1 Filename"]
    assert failures["acdd:1.3"] == []


def test_grid_file_passes_cfchecks(block, tmp_path):
    """cfchecks opens files named ``.nc`` only (a fatal CF 2.1 error otherwise), so the Zarr
    store is checked by compliance-checker alone."""
    from tests.support.checkers import NEWER_CF_VERSION, cfchecks_messages

    _, path, _ = block
    found = cfchecks_messages(path, tmp_path)
    assert found == {"FATAL": [], "ERROR": [NEWER_CF_VERSION], "WARN": []}


def test_auto_grid_passes_cf_and_acdd(samples, tmp_path):
    grid = ds.grid(samples, "ch4", spacing=(10, 10, 5))  # method="auto": kriging here
    assert "ch4_standard_error" in grid
    assert compliance_failures(write_grid(grid, tmp_path / "auto.nc")) == {
        "cf:1.11": [], "acdd:1.3": []}


@pytest.mark.parametrize("method", ["idw", "dmv"])
def test_interpolated_grid_passes_cf_and_acdd_but_for_dmv_confidence(samples, tmp_path,
                                                                     method):
    grid = ds.grid(samples, "ch4", spacing=(10, 10, 5), method=method)
    failures = compliance_failures(write_grid(grid, tmp_path / f"{method}.nc"))
    assert failures["cf:1.11"] == []
    missing = []
    for weight, name, msgs in failures["acdd:1.3"]:
        assert (weight, msgs) == (3, ["standard_name"]), name
        missing.append(name.split('"')[1])
    assert missing == WITHOUT_STANDARD_NAME.get(method, [])


@pytest.mark.parametrize("method", ["idw", "dmv", "kriging"])
def test_interpolated_grid_passes_cfchecks(samples, tmp_path, method):
    """The spreads' standard names (``standard_deviation`` cell method, ``standard_error``
    modifier) are valid CF for the CF community's checker too."""
    from tests.support.checkers import NEWER_CF_VERSION, cfchecks_messages

    grid = ds.grid(samples, "ch4", spacing=(10, 10, 5), method=method)
    found = cfchecks_messages(write_grid(grid, tmp_path / "g.nc"), tmp_path)
    assert found == {"FATAL": [], "ERROR": [NEWER_CF_VERSION], "WARN": []}


def test_grid_file_cf_details(block):
    grid, path, _ = block
    with xr.open_dataset(path, decode_cf=False) as nc:
        for name in ("x", "y", "z", "x_bounds", "y_bounds", "z_bounds", "lat", "lon"):
            assert "_FillValue" not in nc[name].attrs, name
        for axis in "xyz":
            assert nc[axis].attrs["bounds"] == f"{axis}_bounds"
        assert "comment:" not in nc["ch4"].attrs["cell_methods"]
        assert nc["ch4"].attrs["coverage_content_type"] == "physicalMeasurement"
        assert nc["ch4_std"].attrs["coverage_content_type"] == "qualityInformation"
    spec = GridSpec.from_attrs(grid.attrs)
    # the vertical extent is that of the voxel centres, the bounds are the faces
    # levels on the flown layers (5 to 60 m), no take-off level at 0 m
    assert grid.attrs["geospatial_vertical_min"] == spec.z[0] == 5.0
    assert grid.attrs["geospatial_vertical_max"] == spec.z[-1]
    np.testing.assert_allclose(grid["z_bounds"].values[0], [spec.region[4], spec.region[4] + 5])
    for key in ("summary", "keywords", "id", "license", "creator_name", "institution"):
        assert grid.attrs[key], key
    t0, t1 = grid["time_bounds"].values[0]
    assert str(t0)[:19] == grid.attrs["time_coverage_start"][:19]
    assert t0 <= grid["time"].values[0] <= t1


def _metres(lat1, lon1, lat2, lon2):
    return pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


def test_gdal_places_the_grid(block):
    rasterio = pytest.importorskip("rasterio")
    grid, path, _ = block
    spec = GridSpec.from_attrs(grid.attrs)
    west, east, south, north = spec.region[:4]
    with rasterio.open(f"netcdf:{path}:ch4") as src:
        assert src.crs is not None
        crs = pyproj.CRS.from_wkt(src.crs.to_wkt())
        b = src.bounds
        np.testing.assert_allclose([b.left, b.right, b.bottom, b.top],
                                   [west, east, south, north], atol=1e-6)
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    for x, y in ((west, south), (west, north), (east, south), (east, north)):
        lon, lat = to_lonlat.transform(x, y)
        want_lat, want_lon, _ = spec.frame.inverse(x, y)
        assert _metres(lat, lon, float(want_lat), float(want_lon)) < 0.03


def test_crs_wkt_avoids_the_method_old_proj_does_not_know(block):
    grid, _, _ = block
    wkt = grid["crs"].attrs["crs_wkt"]
    # WKT1: the projection by name, no EPSG method code 1125 (known to PROJ >= 9.4 only)
    assert wkt.startswith("PROJCS[") and 'PROJECTION["Azimuthal_Equidistant"]' in wkt
    assert "1125" not in wkt and "METHOD[" not in wkt
    crs = pyproj.CRS.from_wkt(wkt)
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    lat, lon, _ = GridSpec.from_attrs(grid.attrs).origin
    assert "azimuthal equidistant" in crs.coordinate_operation.method_name.lower()
    assert params["Latitude of natural origin"] == pytest.approx(lat)
    assert params["Longitude of natural origin"] == pytest.approx(lon)


@pytest.mark.skipif(shutil.which("gdalinfo") is None, reason="GDAL's gdalinfo not installed")
def test_installed_gdal_places_the_grid(block):
    """The system GDAL (3.6 on Debian 12, with PROJ 9.1) gives lon/lat corners."""
    grid, path, _ = block
    run = subprocess.run(["gdalinfo", "-json", f"NETCDF:{path}:ch4"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "CPL_DEBUG": "OFF"})
    assert run.returncode == 0, run.stderr
    assert "No inverse operation" not in run.stderr
    ring = json.loads(run.stdout)["wgs84Extent"]["coordinates"][0][:4]
    spec = GridSpec.from_attrs(grid.attrs)
    west, east, south, north = spec.region[:4]
    xs, ys = np.array([west, west, east, east]), np.array([north, south, south, north])
    lats, lons, _ = spec.frame.inverse(xs, ys)
    for lon, lat in ring:
        assert min(_metres(lat, lon, a, b) for a, b in zip(lats, lons, strict=True)) < 0.03


def test_zarr_is_v2_consolidated_and_reads_back(block):
    grid, _, store = block
    assert (store / ".zmetadata").exists() and not (store / "zarr.json").exists()
    assert json.loads((store / "ch4" / ".zarray").read_text())["compressor"] is None
    xr.testing.assert_identical(open_grid(store), grid)


def test_zarr_v2_read_by_netcdf_c(block):
    netCDF4 = pytest.importorskip("netCDF4")
    grid, _, store = block
    url = f"file://{store.resolve()}#mode=nczarr,file"
    try:
        nc = netCDF4.Dataset(url)
    except OSError as err:  # a netCDF-C built without NCZarr
        pytest.skip(f"this netCDF-C cannot open Zarr: {err}")
    with nc:
        np.testing.assert_array_equal(nc["ch4"][:].filled(np.nan), grid["ch4"].values)
        np.testing.assert_array_equal(nc["z"][:], grid["z"].values)
        assert nc["crs"].grid_mapping_name == "azimuthal_equidistant"
        assert nc["ch4"].grid_mapping == "crs"
        assert "_FillValue" not in nc["x"].ncattrs()


@pytest.mark.skipif(shutil.which("ncdump") is None, reason="netCDF-C's ncdump not installed")
def test_installed_ncdump_reads_the_zarr_store(block):
    grid, _, store = block
    run = subprocess.run(["ncdump", "-v", "z", f"file://{store.resolve()}#mode=nczarr,file"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    data = run.stdout.split("data:")[1]
    values = [float(v) for v in data.split("=")[1].split(";")[0].split(",")]
    assert values == grid["z"].values.tolist()
    assert 'crs:grid_mapping_name = "azimuthal_equidistant"' in run.stdout


def test_zarr_v3_on_request(block, tmp_path):
    grid, _, _ = block
    store = write_grid(grid, tmp_path / "v3.zarr", zarr_format=3)
    assert json.loads((store / "zarr.json").read_text())["zarr_format"] == 3
    xr.testing.assert_identical(open_grid(store), grid)
    with pytest.raises(ParameterError, match="zarr_format"):
        write_grid(grid, tmp_path / "v4.zarr", zarr_format=4)


def test_compressed_zarr_on_request(block, tmp_path):
    grid, _, _ = block
    store = write_grid(grid, tmp_path / "z.zarr", complevel=5)
    assert json.loads((store / "ch4" / ".zarray").read_text())["compressor"]["id"] == "zlib"
    xr.testing.assert_identical(open_grid(store), grid)


def test_cli_zarr_format(samples, tmp_path):
    from dronesense.cli.main import main

    src = tmp_path / "samples.nc"
    samples.dronesense.to_file(src)
    for fmt, mark in (("2", ".zmetadata"), ("3", "zarr.json")):
        out = tmp_path / f"v{fmt}.zarr"
        assert main(["grid", str(src), "-q", "ch4", "--spacing", "20,10", "--method", "block",
                     "--zarr-format", fmt, "--out", str(out)]) == 0
        assert (out / mark).exists()
