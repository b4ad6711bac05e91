"""``method="auto"`` scores its candidates on shared work (one block-mean pass, tree and
neighbour query per fold for the IDW candidates; only the kept voxels of a grid computed):
the scores, the choice and the grids are those of every candidate made by itself."""

import numpy as np
import pytest

from dronesense.gridding.methods import IDW, Kriging
from dronesense.gridding.methods.base import supported
from dronesense.gridding.methods.block import block_means
from dronesense.gridding.sharedcv import SharedIDW, shared_idw
from dronesense.gridding.spec import GridSpec
from dronesense.gridding.validation import (
    candidates,
    choose_method,
    cross_validate,
    fold_design,
)
from tests.support.grids import ORIGIN, flight, truth_grid


def _scores(s):
    return [s.rmse, s.bias, s.coverage, *s.fold_rmse, s.grid_rmse]


def _same(a, b):
    return np.allclose(_scores(a), _scores(b), rtol=0, atol=1e-12, equal_nan=True)


@pytest.fixture(scope="module")
def simulated():
    coords, values, _, _ = flight(layers=(10, 25, 40), extent=(-100, 200, -80, 80),
                                  line_spacing=40, step=4.0, noise=0.02)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    return coords, values, spec


def test_shared_queries_give_the_one_by_one_scores(simulated):
    coords, values, spec = simulated
    methods = [*candidates(spec, kriging=False), IDW(k=7, anisotropy=1.0, power=1.0)]
    design = fold_design(coords, values, spec=spec, folds=4)
    stand_ins = shared_idw(methods)
    assert sum(isinstance(m, SharedIDW) for m in stand_ins) == 5
    for m, s in zip(methods, stand_ins, strict=True):
        alone = cross_validate(m, coords, values, spec=spec, design=design)
        shared = cross_validate(s, coords, values, spec=spec, design=design)
        assert _same(alone, shared), repr(m)


def test_ties_between_neighbours_are_queried_again():
    """Samples on a lattice: block means on voxel centres, many neighbours at the same
    distance; a k=4 read from a k=12 query must still be the k=4 query's set."""
    g = np.arange(0.0, 100.0, 10.0) + 5.0
    x, y = (a.ravel() for a in np.meshgrid(g, g))
    x, y = np.tile(x, 2), np.tile(y, 2)
    z = np.repeat([5.0, 15.0], g.size**2)
    v = np.sin(x / 17.0) + np.cos(y / 23.0) + z / 10
    spec = GridSpec((10, 10, 10), ORIGIN, region=(0, 100, 0, 100, 0, 20))
    methods = [IDW(k=k, anisotropy=1.0) for k in (4, 12)]
    design = fold_design((x, y, z), v, spec=spec, folds=3, segment_length=25.0)
    for m, s in zip(methods, shared_idw(methods), strict=True):
        alone = cross_validate(m, (x, y, z), v, spec=spec, design=design)
        shared = cross_validate(s, (x, y, z), v, spec=spec, design=design)
        assert _same(alone, shared)


def test_auto_chooses_as_one_by_one_scoring(simulated):
    """The choice and every score equal those of each candidate cross-validated alone on
    the same fold design, whatever the number of threads; the choice reproduces the
    simulated field."""
    coords, values, spec = simulated
    methods = candidates(spec)
    design = fold_design(coords, values, spec=spec, folds=4)
    alone = [cross_validate(m, coords, values, spec=spec, design=design) for m in methods]
    for workers in (1, 3):
        choice = choose_method(coords, values, spec=spec, methods=methods, folds=4,
                               workers=workers)
        assert [m for m, _ in choice.scored] == methods
        assert all(_same(a, s) for a, (_, s) in zip(alone, choice.scored, strict=True))
        usable = [i for i in range(len(methods)) if alone[i].coverage >= 0.5]
        best = min(usable, key=lambda i: alone[i].rmse)
        assert choice.method is methods[best]
    truth = truth_grid(spec)
    est = choice.method.clone().fit(coords, values, spec=spec).grid(spec)
    values_grid = next(v.values for v in est.data_vars.values()
                       if "ancillary_variables" in v.attrs)
    ok = np.isfinite(values_grid)
    assert np.sqrt(np.mean((values_grid[ok] - truth[ok]) ** 2)) < 3 * choice.score.rmse


@pytest.mark.parametrize("method", [IDW(k=8, anisotropy=2.0), Kriging(anisotropy=2.0)],
                         ids=repr)
def test_grids_compute_only_the_kept_voxels_to_the_same_values(simulated, method):
    coords, values, spec = simulated
    fitted = method.clone().fit(coords, values, spec=spec)
    everywhere = fitted._fields(spec)  # every voxel, as before the mask
    count = np.zeros(spec.size, dtype=int)
    np.add.at(count, spec.locate(*coords)[spec.locate(*coords) >= 0], 1)
    keep = supported(count.reshape(spec.shape) > 0, method.support)
    kept = fitted._fields(spec, where=keep)
    for name, arr in everywhere.items():
        assert np.array_equal(np.where(keep, arr, np.nan), kept[name], equal_nan=True), name
    grid = fitted.grid(spec)
    assert np.array_equal(grid["value"].values, kept["estimate"], equal_nan=True)


def test_block_means_locate_once_as_block_statistics_did(simulated):
    from dronesense.gridding.blocks import block_statistics

    coords, values, spec = simulated
    v = values.copy()
    v[::11] = np.nan
    (bx, by, bz), bv, bn = block_means(coords, v, spec, None)
    stats = block_statistics(spec, coords, v, ["mean", "count"])
    has = stats["count"].ravel() > 0
    assert np.array_equal(bv, stats["mean"].ravel()[has])
    assert np.array_equal(bn, stats["count"].ravel()[has])
    for got, c in zip((bx, by, bz), coords, strict=True):
        assert np.array_equal(got, block_statistics(spec, coords, c, ["mean"])["mean"]
                              .ravel()[has])


def test_kriging_folds_computed_ahead_give_its_scores(simulated):
    from concurrent.futures import ThreadPoolExecutor

    from dronesense.gridding.methodchoice import Prefetched, folds_of

    class Ahead(Prefetched):  # every prediction must come from a fold computed ahead
        def _model(self):
            raise AssertionError("a fold was not computed ahead")

    coords, values, spec = simulated
    design = fold_design(coords, values, spec=spec, folds=4)
    kriging = Kriging(anisotropy=2.0)
    folds = folds_of(coords, values, design.fold, design.folds, spec)
    with ThreadPoolExecutor(2) as pool:
        tasks = [(f, pool.submit(lambda f: kriging.clone().fit(f.train, f.values, spec=f.spec)
                                 .predict(f.test), f)) for f in folds]
        ahead = cross_validate(Ahead(kriging, tasks), coords, values, spec=spec,
                               design=design)
    alone = cross_validate(kriging, coords, values, spec=spec, design=design)
    assert _scores(ahead) == _scores(alone)
