"""`dronesense campaign` end to end: two simulated flights onto one grid definition."""

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.main import main
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.coordinates import sample_coordinates
from dronesense.gridding.grid import grid_samples
from dronesense.gridding.spec import GridSpec
from tests.support.grids import sim_flight


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    d = tmp_path_factory.mktemp("campaign_cli")
    return [sim_flight(d, seed=11, sysid=1), sim_flight(d, seed=12, sysid=2)]


@pytest.fixture(scope="module")
def spec_file(flights, tmp_path_factory):
    # the grid definition comes from gridding the first flight alone, as a user would
    d = tmp_path_factory.mktemp("spec")
    assert main(["grid", str(flights[0]), "-q", "ch4", "--spacing", "30,30,15",
                 "--region=-90,360,-30,480,-7.5,52.5", "--out", str(d / "first.nc"),
                 "--save-spec", str(d / "spec.json")]) == 0
    return d / "spec.json"


def _concatenated(flights):
    parts = [xr.open_dataset(p).load() for p in flights]
    return xr.concat(parts, dim="obs", data_vars="all", coords="all", join="outer")


def test_campaign_equals_gridding_concatenated_samples(flights, spec_file, tmp_path, capsys):
    out = tmp_path / "campaign.nc"
    assert main(["campaign", *map(str, flights), "-q", "ch4", "--grid-spec", str(spec_file),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 flights (streaming)" in printed and "ppm" in printed and "1e-6" not in printed
    camp = xr.open_dataset(out)
    spec = GridSpec.load(spec_file)
    assert GridSpec.from_attrs(camp.attrs) == spec

    together = _concatenated(flights)
    ref = grid_samples(together, "ch4", spec)
    np.testing.assert_array_equal(camp["number_of_observations"], ref["number_of_observations"])
    assert camp.attrs["number_of_samples"] == ref.attrs["number_of_samples"] > 2000
    np.testing.assert_allclose(camp["ch4"], ref["ch4"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(camp["ch4_std"], ref["ch4_std"], rtol=1e-6, atol=1e-9,
                               equal_nan=True)
    np.testing.assert_array_equal(camp["ch4_min"], ref["ch4_min"])
    np.testing.assert_array_equal(camp["ch4_max"], ref["ch4_max"])
    # and both equal an independent reduction of all samples
    c, v, _ = sample_coordinates(together, "ch4", spec)
    np.testing.assert_allclose(camp["ch4"], block_statistics(spec, c, v)["mean"], rtol=1e-12,
                               equal_nan=True)
    # same CF product, every input in the history
    assert camp["ch4"].attrs["units"] == "1e-6"
    assert camp["ch4"].attrs["standard_name"] == "mole_fraction_of_methane_in_air"
    for p in flights:
        assert str(p) in camp.attrs["history"]
    assert camp.attrs["campaign_inputs"].split("\n") == [str(p) for p in flights]
    assert camp.attrs["number_of_flights"] == 2
    assert camp.attrs["time_coverage_start"] < camp.attrs["time_coverage_end"]


def test_campaign_on_local_dask_cluster_matches_streaming(flights, spec_file, tmp_path):
    a, b = tmp_path / "stream.nc", tmp_path / "dask.zarr"
    common = [*map(str, flights), "-q", "ch4", "--grid-spec", str(spec_file)]
    assert main(["campaign", *common, "--out", str(a)]) == 0
    assert main(["campaign", *common, "--dask", "local", "--workers", "2", "--out", str(b)]) == 0
    sa, sb = xr.open_dataset(a), xr.open_zarr(b)
    for var in ("ch4", "ch4_std", "ch4_min", "ch4_max", "number_of_observations"):
        np.testing.assert_array_equal(sa[var].values, sb[var].values)
    assert "dask" in sb.attrs["history"]


def test_campaign_fits_region_over_all_flights(flights, tmp_path):
    out, spec = tmp_path / "fit.nc", tmp_path / "used.json"
    assert main(["campaign", *map(str, flights), "-q", "ch4", "--spacing", "30,30,15",
                 "--out", str(out), "--save-spec", str(spec)]) == 0
    ds = xr.open_dataset(out)
    total = sum(int(np.isfinite(xr.open_dataset(p)["ch4"]).sum()) for p in flights)
    # every paired sample of both flights falls inside the fitted grid
    assert int(ds["number_of_observations"].sum()) == ds.attrs["number_of_samples"]
    assert ds.attrs["number_of_samples"] <= total
    assert GridSpec.load(spec).region is not None


@pytest.mark.parametrize("extra, message", [
    ([], "--grid-spec"),
    (["--spacing", "30", "--out", "x.txt"], ".nc or .zarr"),
])
def test_campaign_errors(flights, tmp_path, extra, message, capsys):
    argv = ["campaign", *map(str, flights), "-q", "ch4", *extra]
    if "--out" not in extra:
        argv += ["--out", str(tmp_path / "x.nc")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
