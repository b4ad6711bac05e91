"""Blocked cross-validation against known truth, and --method auto."""

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.main import main
from dronesense.gridding.coordinates import sample_coordinates
from dronesense.gridding.grid import grid_samples, select_method
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging
from dronesense.gridding.spec import GridSpec
from dronesense.gridding.validation import cross_validate, track_segments
from tests.support.grids import ORIGIN, flight, samples_dataset, truth_grid

NOISE = 0.02


@pytest.fixture(scope="module")
def data():
    coords, values, _, ids = flight(layers=(10, 25, 40), extent=(-100, 200, -80, 80),
                                    line_spacing=40, step=2.0, noise=NOISE)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    return coords, values, ids, spec


def test_track_segments():
    x = np.r_[np.arange(0.0, 100.0), np.arange(0.0, 100.0)]
    y = np.r_[np.zeros(100), np.full(100, 500.0)]
    ids = track_segments((x, y, np.zeros(200)), 25.0)
    assert np.unique(ids[:100]).size == 4
    assert set(ids[:100]).isdisjoint(ids[100:])  # the jump starts a new block
    assert (np.diff(ids[:100]) >= 0).all()


@pytest.mark.parametrize(
    "method", [IDW(anisotropy=3.0), KernelDMV(sigma_h=10.0, sigma_v=5.0),
               Kriging(anisotropy=3.0, max_points=400)], ids=repr)
def test_cv_rmse_close_to_true_rmse(data, method):
    coords, values, _, spec = data
    scores = cross_validate(method, coords, values, spec=spec, folds=4)
    est = method.clone().fit(coords, values, spec=spec).grid()["value"].values
    ok = np.isfinite(est)
    true_rmse = np.sqrt(np.mean((est[ok] - truth_grid(spec)[ok]) ** 2))
    # held-out samples also carry sensor noise
    expected = np.hypot(true_rmse, NOISE)
    assert 0.5 * expected < scores.rmse < 2.5 * expected, (scores.rmse, expected)
    assert abs(scores.bias) < scores.rmse
    assert scores.coverage == 1.0 and scores.folds == 4


def test_blocked_cv_is_more_honest_than_random_points(data):
    coords, values, _, spec = data
    blocked = cross_validate(IDW(anisotropy=3.0), coords, values, spec=spec, blocks="voxels")
    random = cross_validate(IDW(anisotropy=3.0), coords, values, spec=spec,
                            groups=np.arange(values.size))
    assert random.rmse < 0.5 * blocked.rmse


def test_flight_line_groups(data):
    coords, values, ids, spec = data
    scores = cross_validate(IDW(anisotropy=3.0), coords, values, spec=spec, groups=ids)
    assert scores.groups == np.unique(ids).size
    assert "given groups" in scores.attrs()["cross_validation_method"]


def test_block_method_coverage_is_reported(data):
    coords, values, _, spec = data
    scores = cross_validate(BlockReduce(), coords, values, spec=spec)
    assert 0 < scores.coverage < 0.6


def test_scores_stored_in_product(data):
    coords, values, _, spec = data
    samples = samples_dataset(coords, values)
    ds = grid_samples(samples, "ch4", spec, method=IDW(anisotropy=3.0), cross_validate=True)
    assert ds.attrs["cross_validation_rmse"] > 0
    assert ds["ch4"].attrs["cross_validation_rmse"] == ds.attrs["cross_validation_rmse"]
    assert "bias" in " ".join(ds.attrs)


@pytest.fixture(scope="module")
def small():
    coords, values, _, _ = flight(layers=(10, 30), extent=(-60, 100, -40, 40),
                                  line_spacing=40, step=3.0, noise=NOISE)
    return samples_dataset(coords, values)


def test_select_method_picks_lowest_cv_rmse(small):
    spec = GridSpec((10, 10, 10), ORIGIN)
    methods = [IDW(k=1, anisotropy=1.0), IDW(k=8, anisotropy=2.0),
               KernelDMV(sigma_h=80.0, sigma_v=40.0)]
    ds = select_method(small, "ch4", spec, methods=methods)
    cands = ds.attrs["cross_validation_candidates"].split("; ")
    assert len(cands) == 3
    rmses = [float(c.split("rmse=")[1].split()[0]) for c in cands]
    assert ds.attrs["made_by"] == repr(methods[int(np.argmin(rmses))])


def test_cli_auto(small, tmp_path, capsys):
    small.to_netcdf(tmp_path / "s.nc")
    out = tmp_path / "g.nc"
    assert main(["grid", str(tmp_path / "s.nc"), "-q", "ch4", "--spacing", "10,10,10",
                 "--method", "auto", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "chosen by cross-validation" in text and "RMSE" in text
    with xr.open_dataset(out) as ds:
        assert "cross_validation_candidates" in ds.attrs


def _two_vehicles():
    """Two vehicles flying at once, their samples interleaved in time as a listener logs them."""
    from tests.support.grids import samples_dataset

    c1, v1, _, _ = flight(seed=1, layers=(10, 20), extent=(-100, 100, -60, 60), step=2.0)
    c2, v2, _, _ = flight(seed=2, layers=(30, 40), extent=(0, 200, -60, 60), step=2.0)
    n = min(v1.size, v2.size)
    a = samples_dataset(tuple(c[:n] for c in c1), v1[:n], sysid=1)
    b = samples_dataset(tuple(c[:n] for c in c2), v2[:n], sysid=7)
    both = xr.concat([a, b], dim="obs")
    interleaved = both.isel(obs=np.ravel(np.column_stack([np.arange(n), n + np.arange(n)])))
    return both, interleaved


def test_blocks_follow_each_vehicle_when_interleaved():
    from dronesense.gridding.coordinates import sample_tracks

    both, mixed = _two_vehicles()
    spec = GridSpec((20, 20, 10), ORIGIN).fit(*sample_coordinates(mixed, "ch4",
                                                                  GridSpec((1, 1, 1), ORIGIN))[0])
    coords, _, _ = sample_coordinates(mixed, "ch4", spec)
    tracks, order = sample_tracks(mixed, "ch4", spec)
    assert sorted(np.unique(tracks // (1 << 20)).tolist()) == [1, 7]
    naive = track_segments(coords, 80.0)
    blocked = track_segments(coords, 80.0, tracks=tracks, order=order)
    # time order alone jumps between vehicles at every sample: one block per sample
    assert np.unique(naive).size > 0.9 * naive.size
    # per vehicle: pieces of ~80 m of a 2 m-step track, never spanning two vehicles
    sizes = np.bincount(blocked)
    assert np.median(sizes) >= 30
    for g in np.unique(blocked):
        assert np.unique(tracks[blocked == g]).size == 1
    # the same blocks as the vehicles' samples one after the other
    c2, _, _ = sample_coordinates(both, "ch4", spec)
    t2, o2 = sample_tracks(both, "ch4", spec)
    assert np.unique(track_segments(c2, 80.0, tracks=t2, order=o2)).size == \
        np.unique(blocked).size


def test_grid_cv_groups_by_vehicle():
    both, mixed = _two_vehicles()
    spec = GridSpec((20, 20, 10), ORIGIN)
    a = grid_samples(mixed, "ch4", spec, method=IDW(), cross_validate=True)
    b = grid_samples(both, "ch4", GridSpec.from_attrs(a.attrs), method=IDW(),
                     cross_validate=True)
    assert "along 2 tracks" in a.attrs["cross_validation_method"]
    assert a.attrs["cross_validation_method"] == b.attrs["cross_validation_method"]
    assert a.attrs["cross_validation_rmse"] == pytest.approx(b.attrs["cross_validation_rmse"],
                                                             rel=1e-9)
