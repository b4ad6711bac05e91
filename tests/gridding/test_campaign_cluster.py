"""A campaign on a cluster: batches of flights, compact partials, the region fitted on the
workers — always exactly the single-process grid."""

import numpy as np
import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.gridding.campaign import campaign_extent, campaign_grid
from dronesense.gridding.campaign_cluster import campaign_grid_dask, flights_per_task
from dronesense.gridding.partials import CompactPartial, PartialSums, tree_reduce
from dronesense.gridding.spec import GridSpec
from tests.support.grids import ORIGIN, flight, samples_dataset

SPEC = GridSpec((20, 20, 10), ORIGIN, region=(-120, 220, -120, 120, 5, 55))
VARS = ("ch4", "ch4_std", "ch4_min", "ch4_max", "number_of_observations")


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    d = tmp_path_factory.mktemp("campaign_cluster")
    paths = []
    for k in range(7):
        coords, values, _, _ = flight(seed=10 + k, layers=(10 + 10 * (k % 3), 40),
                                      extent=(-100 + 20 * k, 150, -100, 100), step=6.0)
        path = d / f"flight{k}.nc"
        samples_dataset(coords, values, start=f"2024-06-0{k + 1}T10:00:00").to_netcdf(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("batch", [1, 2, 4, 8, 16])
def test_aligned_power_of_two_batches_are_subtrees_of_the_single_tree(batch):
    def combine(a, b):
        return f"({a}+{b})"

    for n in range(1, 41):
        items = [f"f{i}" for i in range(n)]
        batched = [tree_reduce(items[i:i + batch], combine) for i in range(0, n, batch)]
        assert tree_reduce(batched, combine) == tree_reduce(items, combine), (n, batch)


def _partial(rng, n, shift=1.9):
    xyz = rng.uniform(-110, 210, (3, n))
    xyz[1] = rng.uniform(-110, 110, n)
    xyz[2] = rng.uniform(5, 55, n)
    keep = xyz[0] < rng.uniform(-100, 210)  # flights touching different voxels
    return PartialSums.from_samples(SPEC, xyz[:, keep], rng.normal(1.9, 0.1, keep.sum()),
                                    shift=shift, times=np.array(["2024-06-01T10:00"] * keep.sum(),
                                                                dtype="datetime64[ns]"))


def test_compact_partials_add_exactly_as_dense_ones():
    rng = np.random.default_rng(5)
    parts = [_partial(rng, 400) for _ in range(6)] + [PartialSums.empty(SPEC, 1.9)]
    dense = tree_reduce(parts, lambda a, b: a + b)
    compact = tree_reduce([CompactPartial.of(p) for p in parts], lambda a, b: a + b)
    assert compact.index.size < SPEC.size  # only the touched voxels travel
    back = compact.expand(SPEC)
    for name in ("count", "total", "sumsq", "vmin", "vmax"):
        np.testing.assert_array_equal(getattr(back, name), getattr(dense, name))
    assert back.count.dtype == dense.count.dtype
    assert (back.n_samples, back.time_min, back.time_max) == (
        dense.n_samples, dense.time_min, dense.time_max)
    with pytest.raises(InputError, match="different grid"):
        compact.expand(GridSpec((10, 10, 10), ORIGIN, region=(0, 10, 0, 10, 0, 10)))


def test_batch_size_gives_each_worker_a_few_tasks():
    assert flights_per_task(100, 2) == 8
    assert flights_per_task(3, 4) == 1
    assert flights_per_task(10_000, 1) == 64


def test_cluster_fits_the_region_and_matches_single_process_exactly(flights):
    from distributed import Client, LocalCluster

    frame = GridSpec((20, 20, 10), ORIGIN)  # no region: fitted to all flights
    spec = campaign_extent(flights, "ch4", frame)
    single = campaign_grid(flights, "ch4", spec, shift=1.9)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        fitted = campaign_grid_dask(flights, "ch4", frame, client=client, shift=1.9, batch=2)
        given = campaign_grid_dask(flights, "ch4", spec, client=client, shift=1.9, batch=4)
        with pytest.raises(ParameterError, match="power of two"):
            campaign_grid_dask(flights, "ch4", spec, client=client, batch=3)
    for dist in (fitted, given):
        assert GridSpec.from_attrs(dist.attrs) == spec
        for var in VARS:
            np.testing.assert_array_equal(dist[var].values, single[var].values)
        assert dist.attrs["number_of_samples"] == single.attrs["number_of_samples"]
        assert dist.attrs["campaign_inputs"] == single.attrs["campaign_inputs"]


def test_campaign_on_a_local_cluster_equals_the_streamed_campaign(flights):
    """The front door with ``dask="local"``: origin, shift and region as without a cluster."""
    from dronesense.gridding.campaign import campaign

    streamed = campaign(flights, "ch4", spacing=(20, 20, 10))
    local = campaign(flights, "ch4", spacing=(20, 20, 10), dask="local", workers=1)
    assert local.attrs["dronesense_grid_spec"] == streamed.attrs["dronesense_grid_spec"]
    assert local.attrs["made_by"] == streamed.attrs["made_by"]  # the same shift
    for var in VARS:
        np.testing.assert_array_equal(local[var].values, streamed[var].values)
