"""Campaign gridding: streaming partial sums and a dask LocalCluster, matched exactly."""

import numpy as np
import pytest
import xarray as xr

from dronesense.errors import InputError
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.campaign import PartialSums, campaign_grid, campaign_grid_dask, tree_reduce
from dronesense.gridding.coordinates import sample_coordinates
from dronesense.gridding.spec import GridSpec
from tests.support.grids import ORIGIN, flight, samples_dataset

SPEC = GridSpec((20, 20, 10), ORIGIN, region=(-120, 220, -120, 120, 5, 55))


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    d = tmp_path_factory.mktemp("campaign")
    paths = []
    for k in range(5):
        coords, values, _, _ = flight(seed=k, layers=(10 + 10 * (k % 3), 40),
                                      extent=(-100, 200, -100, 100), step=4.0)
        ds = samples_dataset(coords, values, start=f"2024-05-0{k + 1}T10:00:00")
        path = d / f"flight{k}.nc"
        ds.to_netcdf(path)
        paths.append(path)
    return paths


def test_tree_reduce_shape():
    seen = []

    def combine(a, b):
        seen.append((a, b))
        return f"({a}+{b})"

    assert tree_reduce("abcde", combine) == "(((a+b)+(c+d))+e)"
    assert tree_reduce("a", combine) == "a"


def test_streaming_equals_all_at_once(flights):
    ds = campaign_grid(flights, "ch4", SPEC, shift=1.9)
    coords, values = [], []
    for p in flights:
        c, v, _ = sample_coordinates(xr.open_dataset(p), "ch4", SPEC)
        coords.append(c)
        values.append(v)
    allc = tuple(np.concatenate([c[i] for c in coords]) for i in range(3))
    ref = block_statistics(SPEC, allc, np.concatenate(values))
    np.testing.assert_array_equal(ds["number_of_observations"], ref["count"])
    np.testing.assert_allclose(ds["ch4"], ref["mean"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ds["ch4_std"], ref["std"], rtol=1e-6, atol=1e-9,
                               equal_nan=True)
    np.testing.assert_array_equal(ds["ch4_min"], ref["min"])
    np.testing.assert_array_equal(ds["ch4_max"], ref["max"])
    assert ds.attrs["number_of_flights"] == 5
    assert ds.attrs["time_coverage_start"].startswith("2024-05-01")
    assert ds.attrs["time_coverage_end"].startswith("2024-05-05")
    assert ds.attrs["made_by"].startswith("CampaignReduce(")


@pytest.mark.parametrize("processes", [False, True])
def test_dask_cluster_matches_exactly(flights, processes):
    from distributed import Client, LocalCluster

    single = campaign_grid(flights, "ch4", SPEC)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dist = campaign_grid_dask(flights, "ch4", SPEC, client=client)
    for var in ("ch4", "ch4_std", "ch4_min", "ch4_max", "number_of_observations"):
        np.testing.assert_array_equal(dist[var].values, single[var].values)
    assert dist.attrs["number_of_samples"] == single.attrs["number_of_samples"]


def test_partials_are_associative():
    rng = np.random.default_rng(3)
    parts = []
    for _ in range(3):
        xyz = rng.uniform(-100, 100, (3, 1000))
        xyz[2] = rng.uniform(5, 55, 1000)
        parts.append(PartialSums.from_samples(SPEC, xyz, rng.normal(2, 0.1, 1000)))
    a = ((parts[0] + parts[1]) + parts[2]).statistics()
    b = (parts[0] + (parts[1] + parts[2])).statistics()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12, equal_nan=True)


def test_needs_region_and_same_spec(flights):
    with pytest.raises(InputError, match="region"):
        campaign_grid(flights, "ch4", GridSpec((10, 10, 10), ORIGIN))
    other = GridSpec((10, 10, 10), ORIGIN, region=(0, 10, 0, 10, 0, 10))
    with pytest.raises(InputError, match="different grid"):
        PartialSums.empty(SPEC) + PartialSums.empty(other)


@pytest.mark.parametrize("shift", [float("nan"), float("inf")])
def test_non_finite_shift_is_refused(shift):
    # a NaN shift turned every value into NaN: "no samples inside the grid", a wrong reason
    coords, values, _, _ = flight(layers=(20.0,), step=5.0)
    spec = GridSpec((20, 20, 10), ORIGIN, region=(-120, 220, -120, 120, 0, 60))
    with pytest.raises(InputError, match="shift"):
        campaign_grid([samples_dataset(coords, values)], "ch4", spec, shift=shift)
