"""GridSpec, block statistics and the CF grid Dataset."""

import cf_xarray  # noqa: F401 - registers the .cf accessor
import numpy as np
import pytest
import xarray as xr
from scipy.stats import binned_statistic_dd

from dronesense.errors import InputError, NoUsableDataError
from dronesense.gridding import blocks as blocksmod
from dronesense.gridding import spec as gridmod
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.dataset import open_grid, write_grid
from dronesense.gridding.grid import grid_samples
from dronesense.gridding.spec import GridSpec
from tests.support.grids import ORIGIN, flight, samples_dataset


@pytest.fixture(scope="module")
def random_data():
    rng = np.random.default_rng(42)
    n = 200_000
    x = rng.uniform(-100, 100, n)
    y = rng.uniform(-50, 50, n)
    z = rng.uniform(0, 40, n)
    v = np.sin(x / 30) + y / 50 + rng.normal(0, 0.3, n)
    v[::997] = np.nan
    x[::1009] = np.nan
    return (x, y, z), v


SPEC = GridSpec((10, 10, 5), ORIGIN, region=(-90, 90, -40, 45, 0, 30))


@pytest.mark.parametrize("statistic", ["mean", "median", "count", "std", "min", "max", "sum"])
@pytest.mark.parametrize("numba", [True, False])
def test_block_statistics_equal_scipy(random_data, statistic, numba, monkeypatch):
    if numba:  # the compiled pass at any size
        pytest.importorskip("numba")
        monkeypatch.setattr(blocksmod, "NUMBA_MIN_SAMPLES", 0)
    else:
        monkeypatch.setattr(blocksmod, "_numba", False)
    (x, y, z), v = random_data
    ours = block_statistics(SPEC, (x, y, z), v, [statistic])[statistic]
    ok = np.isfinite(v) & np.isfinite(x)
    ref = binned_statistic_dd(
        np.column_stack([x, y, z])[ok], v[ok], statistic=statistic, bins=SPEC.edges()
    ).statistic
    ref = np.transpose(ref, (2, 1, 0))  # scipy gives (x, y, z)
    if statistic in ("mean", "median", "std", "min", "max"):
        counts = binned_statistic_dd(
            np.column_stack([x, y, z])[ok], v[ok], statistic="count", bins=SPEC.edges()
        ).statistic.transpose(2, 1, 0)
        ref = np.where(counts > 0, ref, np.nan)
    assert ours.shape == SPEC.shape == (6, 9, 18)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_empty_voxels_are_nan_and_count_zero():
    spec = GridSpec((1, 1, 1), ORIGIN, region=(0, 3, 0, 1, 0, 1))
    out = block_statistics(spec, ([0.5, 2.5], [0.5, 0.5], [0.5, 0.5]), [1.0, 2.0],
                           ["mean", "std", "min", "max", "median", "count"])
    for name in ("mean", "std", "min", "max", "median"):
        assert np.isnan(out[name][0, 0, 1])
    assert out["count"].ravel().tolist() == [1, 0, 1]


def test_points_on_outer_face_count_in_last_voxel():
    spec = GridSpec((1, 1, 1), ORIGIN, region=(0, 2, 0, 1, 0, 1))
    out = block_statistics(spec, ([2.0, 2.0001, -1e-9], [0.5] * 3, [1.0] * 3), [1, 2, 3],
                           ["count"])
    assert out["count"].ravel().tolist() == [0, 1]


def test_unknown_statistic():
    with pytest.raises(InputError, match="unknown statistic"):
        block_statistics(SPEC, ([0.0], [0.0], [0.0]), [1.0], ["mode"])


def test_spec_snaps_region_and_serialises(tmp_path):
    spec = GridSpec((10, 10, 5), ORIGIN, region=(-15, 14, 0, 1, 0, 11), vertical="amsl")
    assert spec.region == (-15, 15, 0, 10, 0, 15)
    assert spec.shape == (3, 1, 3)
    assert GridSpec.from_json(spec.to_json()) == spec
    spec.save(tmp_path / "g.json")
    assert GridSpec.load(tmp_path / "g.json") == spec
    fitted = GridSpec((10, 10, 10), ORIGIN).fit([-3, 27], [0, 0], [10, 40])
    np.testing.assert_allclose(fitted.x, [0, 10, 20, 30])
    np.testing.assert_allclose(fitted.z, [10, 20, 30, 40])


@pytest.mark.parametrize(
    "kwargs",
    [dict(spacing=(0, 1, 1)), dict(vertical="agl"), dict(vertical="sideways"),
     dict(region=(0, 0, 0, 1, 0, 1))],
)
def test_bad_spec(kwargs):
    args = dict(spacing=(1, 1, 1), origin=ORIGIN) | kwargs
    with pytest.raises(InputError):
        GridSpec(**args)


def test_vertical_references():
    spec = GridSpec((1, 1, 1), (52, 5, 10.0))
    assert spec.vertical_coordinate([50.0], [40.0]).tolist() == [40.0]
    assert spec.vertical_coordinate([50.0], [np.nan]).tolist() == [40.0]
    amsl = GridSpec((1, 1, 1), (52, 5, 10.0), vertical="amsl")
    assert amsl.vertical_coordinate([50.0], [40.0]).tolist() == [50.0]
    agl = GridSpec((1, 1, 1), (52, 5, 10.0), vertical="agl", terrain=15.0)
    assert agl.vertical_coordinate([50.0], [40.0]).tolist() == [35.0]
    assert agl.altitude_of([35.0]).tolist() == [50.0]


@pytest.fixture(scope="module")
def plume_grid():
    coords, values, _, _ = flight(layers=(10, 20, 30), extent=(-100, 100, -60, 60))
    samples = samples_dataset(coords, values, other=("pm2p5", np.full(values.size, 5.0)))
    spec = GridSpec((20, 20, 10), ORIGIN)
    return grid_samples(samples, "ch4", spec, inputs=["flight1/samples.csv"],
                        statistics=("mean", "median", "count", "std", "min", "max")), samples


def test_grid_dataset_is_cf_complete(plume_grid):
    ds, samples = plume_grid
    assert ds["ch4"].dims == ("z", "y", "x")
    assert ds["ch4"].attrs["standard_name"] == "mole_fraction_of_methane_in_air"
    assert ds["ch4"].attrs["units"] == "1e-6"
    assert ds["ch4"].attrs["grid_mapping"] == "crs"
    assert ds["ch4"].attrs["cell_methods"].startswith("x: y: z: mean")
    assert set(ds["ch4"].attrs["ancillary_variables"].split()) == {
        "ch4_median", "ch4_std", "ch4_min", "ch4_max", "number_of_observations"}
    assert ds["number_of_observations"].attrs["standard_name"] == "number_of_observations"
    assert int(ds["number_of_observations"].sum()) == int(np.isfinite(samples["ch4"]).sum())
    assert ds["crs"].attrs["grid_mapping_name"] == "azimuthal_equidistant"
    assert ds["lat"].dims == ("y", "x") and ds["lat"].attrs["standard_name"] == "latitude"
    assert ds.attrs["time_coverage_start"] == "2024-05-01T10:00:00.000000Z"
    assert ds.attrs["time_coverage_end"] > ds.attrs["time_coverage_start"]
    assert "flight1/samples.csv" in ds.attrs["history"]
    assert "spacing=20,20,10" in ds.attrs["history"]
    assert ds.attrs["made_by"].startswith("BlockReduce(statistic='mean'")
    assert GridSpec.from_attrs(ds.attrs).spacing == (20.0, 20.0, 10.0)
    # cf_xarray finds axes, coordinates and standard names
    assert ds.cf.axes["X"] == ["x"] and ds.cf.axes["Z"] == ["z"]
    assert "latitude" in ds.cf.coordinates
    # the statistics share the estimate's standard name; their cell_methods tell them apart
    same = ds.cf.standard_names["mole_fraction_of_methane_in_air"]
    assert "ch4" in same and all(ds[v].attrs["cell_methods"].startswith("x: y: z:") for v in same)
    assert ds.cf.grid_mapping_names == {"azimuthal_equidistant": ["crs"]}


def test_grid_mean_tracks_the_truth(plume_grid):
    from tests.support.grids import truth_grid

    ds, _ = plume_grid
    spec = GridSpec.from_attrs(ds.attrs)
    truth = truth_grid(spec)
    has = ds["number_of_observations"].values > 0
    assert np.isnan(ds["ch4"].values[~has]).all()
    r = np.corrcoef(ds["ch4"].values[has], truth[has])[0, 1]
    assert r > 0.9


def test_masked_where_no_data(plume_grid):
    ds, _ = plume_grid
    # the layer at 40 m does not exist: a spec reaching higher has an empty level
    spec = GridSpec.from_attrs(ds.attrs)
    assert spec.z.tolist() == [10.0, 20.0, 30.0]
    empty = ds["number_of_observations"].values == 0
    assert np.isnan(ds["ch4"].values[empty]).all()


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_file_round_trip_identical(plume_grid, tmp_path, suffix):
    ds, _ = plume_grid
    path = write_grid(ds, tmp_path / f"grid{suffix}")
    back = open_grid(path)
    xr.testing.assert_identical(back, ds)
    if suffix == ".nc":
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            assert nc["ch4"].filters()["zlib"]
    assert GridSpec.load(path) == GridSpec.from_attrs(ds.attrs)


def test_grid_samples_errors():
    coords, values, _, _ = flight(layers=(10,), extent=(0, 20, 0, 20))
    samples = samples_dataset(coords, values)
    with pytest.raises(InputError, match="no 'no2'"):
        grid_samples(samples, "no2", spacing=(5, 5, 5))
    bad = samples_dataset(coords, values, flags=np.ones(values.size))
    with pytest.raises(NoUsableDataError):
        grid_samples(bad, "ch4", spacing=(5, 5, 5))


def test_same_spec_reused_across_flights():
    spec = GridSpec((20, 20, 10), ORIGIN, region=(-120, 120, -80, 80, 5, 55))
    a = grid_samples(samples_dataset(*flight(seed=1)[:2]), "ch4", spec)
    b = grid_samples(samples_dataset(*flight(seed=2, layers=(20,))[:2]), "ch4", spec)
    assert a["ch4"].shape == b["ch4"].shape == spec.shape
    np.testing.assert_array_equal(a.lat, b.lat)


def test_region_missing_the_data_is_refused_not_written_empty():
    coords, values, _, _ = flight(layers=(20.0,), step=5.0)
    samples = samples_dataset(coords, values)
    spec = GridSpec((10, 10, 10), ORIGIN, region=(5000, 6000, 5000, 6000, 0, 50))
    with pytest.raises(NoUsableDataError, match=f"none of the {values.size} ch4 samples"):
        grid_samples(samples, "ch4", spec)


def test_too_fine_spacing_is_refused_before_allocating():
    spec = GridSpec((0.001, 0.001, 0.001), ORIGIN)
    with pytest.raises(InputError, match="too large"):
        spec.fit([0.0, 500.0], [0.0, 500.0], [0.0, 100.0])
    with pytest.raises(InputError, match="too large"):
        GridSpec((0.01, 0.01, 0.01), ORIGIN, region=(0, 1000, 0, 1000, 0, 100))
    nz, ny, nx = GridSpec((1, 1, 1), ORIGIN, region=(0, 1000, 0, 1000, 0, 100)).shape
    assert nz * ny * nx <= gridmod.MAX_VOXELS
