"""The cross-validation design against known truth: the noise estimate against the noise put
in, the matched distances, the noise-corrected grid-error estimate against the true error of
the grid, one design for every candidate of ``method="auto"``."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from dronesense.gridding import validation
from dronesense.gridding.cvdesign import (
    assign_folds,
    heldout_distances,
    matched_design,
    noise_variance,
    prediction_distances,
    track_segments,
)
from dronesense.gridding.grid import grid_samples
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.spec import GridSpec
from dronesense.gridding.validation import choose_method, cross_validate, fold_design
from tests.support.grids import ORIGIN, flight, samples_dataset, truth_grid

#: Lawnmower at four layers, lines 20 m apart, a sample every 2 m.
LAWNMOWER = dict(layers=(10, 20, 30, 40), extent=(-100, 200, -80, 80), line_spacing=20,
                 step=2.0)


@pytest.fixture(scope="module", params=[0.02, 0.05], ids=["noise0.02", "noise0.05"])
def noisy(request):
    noise = request.param
    coords, values, _, _ = flight(noise=noise, **LAWNMOWER)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    return noise, coords, values, spec


def test_noise_estimate_recovers_the_noise_put_in(noisy):
    noise, coords, values, _ = noisy
    est = np.sqrt(noise_variance(coords, values))
    # the plume's steep edges do not count: the estimate is within 10 % of the truth
    assert est == pytest.approx(noise, rel=0.1)


def test_noise_not_estimable_from_samples_far_apart():
    x = np.arange(0.0, 5000.0, 50.0)
    v = np.sin(x / 300.0) + np.random.default_rng(0).normal(0, 0.1, x.size)
    assert noise_variance((x, 0 * x, 0 * x), v, max_step=10.0) is None
    assert noise_variance((x, 0 * x, 0 * x), v, max_step=60.0) > 0


def test_noise_estimate_follows_each_track():
    # two vehicles interleaved: consecutive rows belong to different vehicles
    x = np.repeat(np.arange(0.0, 400.0), 2)
    y = np.tile([0.0, 300.0], 400)
    v = np.where(y > 0, 5.0, 1.0) + np.random.default_rng(1).normal(0, 0.05, x.size)
    tracks = np.tile([1, 2], 400)
    assert np.sqrt(noise_variance((x, y, 0 * x), v, tracks=tracks)) == pytest.approx(
        0.05, rel=0.15)
    assert noise_variance((x, y, 0 * x), v) is None  # 300 m steps: no triple is close


def test_matched_design_matches_the_voxel_distances(noisy):
    _, coords, values, spec = noisy
    design = matched_design(coords, values, spec=spec)
    # the chosen piece length is the one of least mismatch among those tried
    assert design.mismatch == min(m for _, m in design.tried)
    assert len(design.tried) >= 3
    # the matched distances are those of the voxel centres: medians within 40 %
    ratio = np.median(design.heldout) / np.median(design.prediction)
    assert 0.6 < ratio < 1.4, ratio
    # ... and closer than the former default (four horizontal voxel sizes)
    pts = np.column_stack([coords[0], coords[1], coords[2] * 2.0])
    fold, _, _ = assign_folds(track_segments(coords, 40.0), 5)
    old = heldout_distances(pts, fold)
    pred = prediction_distances(coords, spec)
    assert design.mismatch < wasserstein_distance(old, pred)
    # the held-out distances reported are those of the folds used
    assert design.fold.shape == values.shape and design.folds == 5


def test_noise_corrected_estimate_is_close_to_the_true_error():
    """Where the noise is a large share of the CV error, taking it off brings the estimate to
    within 25 % of the grid's true error (kernel DM+V on the 20 m lawnmower, noise 0.05)."""
    coords, values, _, _ = flight(noise=0.05, **LAWNMOWER)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    method = KernelDMV(sigma_h=10.0, sigma_v=5.0)
    est = method.clone().fit(coords, values, spec=spec).grid()["value"].values
    ok = np.isfinite(est)
    true = float(np.sqrt(np.mean((est[ok] - truth_grid(spec)[ok]) ** 2)))
    scores = cross_validate(method, coords, values, spec=spec, blocks="distances")
    assert scores.noise_std == pytest.approx(0.05, rel=0.1)
    assert scores.rmse > 1.25 * true  # the raw CV RMSE counts the noise
    assert 0.75 * true < scores.grid_rmse < 1.25 * true, (scores.grid_rmse, true)
    assert scores.grid_rmse == pytest.approx(
        np.sqrt(scores.rmse**2 - scores.noise_std**2), rel=1e-12)
    assert "distances matched" in scores.blocking


def test_every_design_reachable_and_noise_given(noisy):
    _, coords, values, spec = noisy
    method = IDW(anisotropy=2.0)
    blocking = {b: cross_validate(method, coords, values, spec=spec, blocks=b).blocking
                for b in validation.BLOCKS}
    assert blocking["voxels"] == "track pieces of 40 m"  # the default
    assert cross_validate(method, coords, values, spec=spec).blocking == blocking["voxels"]
    assert "between passes" in blocking["passes"]
    assert "distances matched" in blocking["distances"]
    none = cross_validate(method, coords, values, spec=spec, noise_std=0.0)
    assert none.grid_rmse == pytest.approx(none.rmse)
    with pytest.raises(ValueError, match="blocks"):
        cross_validate(method, coords, values, spec=spec, blocks="lines")


def test_choose_method_makes_the_design_once(monkeypatch):
    coords, values, _, _ = flight(noise=0.02, **LAWNMOWER)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("blocks"))
        return fold_design(*args, **kwargs)

    monkeypatch.setattr(validation, "fold_design", counted)
    methods = [IDW(k=4), IDW(k=12), KernelDMV(sigma_h=10.0, sigma_v=5.0)]
    for blocks in ("voxels", "distances"):
        choice = choose_method(coords, values, spec=spec, methods=methods, blocks=blocks)
        # every candidate scored on the same held-out blocks and noise estimate
        assert len({s.blocking for _, s in choice.scored}) == 1
        assert len({s.noise_std for _, s in choice.scored}) == 1
        assert choice.score.grid_rmse <= choice.score.rmse
    assert calls == ["voxels", "distances"]


def test_product_records_raw_and_noise_corrected_errors():
    coords, values, _, _ = flight(noise=0.05, layers=(10, 30), extent=(-60, 100, -40, 40),
                                  line_spacing=20, step=2.0)
    ds = grid_samples(samples_dataset(coords, values), "ch4", GridSpec((10, 10, 5), ORIGIN),
                      method=IDW(), cross_validate=True)
    assert ds.attrs["cross_validation_noise_std"] == pytest.approx(0.05, rel=0.15)
    assert 0 <= ds.attrs["cross_validation_grid_rmse"] < ds.attrs["cross_validation_rmse"]
    assert ds["ch4"].attrs["cross_validation_grid_rmse"] == ds.attrs["cross_validation_grid_rmse"]
    # grid_samples makes no error model unless asked: the grid reports the CV's figure
    assert ds.attrs["estimated_grid_rmse"] == ds.attrs["cross_validation_grid_rmse"]
    assert ds.attrs["estimated_grid_rmse_method"] == "cross-validation, sample noise removed"
    assert ds["ch4"].attrs["estimated_grid_rmse"] == ds.attrs["estimated_grid_rmse"]


def test_dense_tracks_are_thinned_for_the_distances(monkeypatch):
    from dronesense.gridding import cvdesign

    coords, values, _, _ = flight(noise=0.02, **LAWNMOWER)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    monkeypatch.setattr(cvdesign, "DISTANCE_SAMPLES", values.size // 4)
    design = matched_design(coords, values, spec=spec)
    # every 4th sample (8 m apart): pieces under 16 m cannot be told apart and are not tried
    assert min(length for length, _ in design.tried) >= 16.0
    assert design.groups.size == values.size and np.isfinite(design.mismatch)


def test_no_sample_inside_the_region():
    from dronesense.errors import NoUsableDataError

    coords, values, _, _ = flight(noise=0.02, **LAWNMOWER)
    spec = GridSpec((10, 10, 5), ORIGIN, region=(1000, 1100, 1000, 1100, 0, 50))
    with pytest.raises(NoUsableDataError, match="inside the grid region"):
        matched_design(coords, values, spec=spec)


def test_pieces_keep_their_length_on_dense_noisy_tracks():
    """Samples 0.5 m apart with 0.5 m position noise: each step looks twice as long as
    flown, yet pieces of 40 m span 40 m of the line (not 20 m)."""
    rng = np.random.default_rng(0)
    x0 = np.arange(0.0, 1000.0, 0.5)
    x = x0 + rng.normal(0, 0.5, x0.size)
    y = rng.normal(0, 0.5, x0.size)
    ids = track_segments((x, y, 0 * x), 40.0)
    span = np.array([np.ptp(x0[ids == i]) for i in np.unique(ids)])
    assert 35.0 < np.median(span) < 45.0, np.median(span)
    # sparse tracks are unchanged: every sample is a knot
    xs = np.arange(0.0, 1000.0, 10.0)
    assert np.unique(track_segments((xs, 0 * xs, 0 * xs), 40.0)).size == 25
