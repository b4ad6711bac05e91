"""The lag estimate's pair search and scores against brute force; long series bounded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import percentile_filter

from dronesense.errors import ParameterError
from dronesense.flight.lag import estimate_lag, synthetic_passes
from dronesense.flight.lagpairs import opposite_pairs, pair_scores, time_spans
from dronesense.flight.lagscores import running_percentile

M_PER_DEG = 111_319.49


def brute_pairs(q, times, ahead, window_ms):
    """Every pair (i < j) tested: within a unit distance, opposite directions, in time."""
    d2 = ((q[:, None, :] - q[None, :, :]) ** 2).sum(axis=-1)
    ok = (d2 <= 1.0) & (ahead[:, None] != ahead[None, :])
    ok &= np.abs(times[:, None] - times[None, :]) <= window_ms
    return np.nonzero(np.triu(ok, 1))


def points(n, seed):
    """Points on a few parallel lines (as a survey flies them), some exactly a unit apart."""
    rng = np.random.default_rng(seed)
    q = np.column_stack([rng.uniform(-8, 8, n), rng.integers(-3, 4, n) * 0.4,
                         rng.integers(0, 3, n) * 1.0])
    q[: n // 4] = np.round(q[: n // 4])  # lattice points: distances of exactly 1 and sqrt(2)
    times = np.sort(rng.uniform(0, 4000.0, n))
    return q, times, rng.random(n) < 0.5


@pytest.mark.parametrize("window_ms", [500.0, 4000.0, math.inf])
@pytest.mark.parametrize("seed", [0, 1])
def test_opposite_pairs_are_the_brute_force_pairs(window_ms, seed):
    q, times, ahead = points(600, seed)
    a, b = opposite_pairs(q, times, ahead, window_ms)
    ra, rb = brute_pairs(q, times, ahead, window_ms)
    assert ra.size > 100
    np.testing.assert_array_equal(a, ra)
    np.testing.assert_array_equal(b, rb)


def test_opposite_pairs_of_one_direction_is_empty():
    q, times, _ = points(50, 2)
    a, b = opposite_pairs(q, times, np.ones(50, dtype=bool), 600_000.0)
    assert a.size == 0 and b.size == 0


def plume(lag_s=1.2, n_passes=8, rate_hz=2.0, seed=0, noise=0.1):
    """A synthetic survey (fix times, lat, lon, alt) and readings (times, values) of a plume
    lagging lag_s, with Gaussian noise of standard deviation noise."""
    rng = np.random.default_rng(seed)
    fix_t, lat, lon, alt = synthetic_passes(n_passes=n_passes)
    t = np.arange(fix_t[0], fix_t[-1], 1000.0 / rate_hz)
    x = np.interp(t - lag_s * 1000.0, fix_t, lon)
    value = 5 * np.exp(-(((x - 5.0003) / 0.00015) ** 2)) + rng.normal(0, noise, t.size)
    return fix_t, lat, lon, alt, t, value


def flight(lag_s=1.2, n_passes=8, rate_hz=2.0, seed=0):
    """A synthetic survey in its along-track frame, and readings of a plume lagging lag_s."""
    fix_t, _, lon, alt, t, value = plume(lag_s, n_passes, rate_hz, seed)
    east = (lon - 5.0) * M_PER_DEG * math.cos(math.radians(52.0))
    enu = np.column_stack([east, np.zeros_like(east), alt])
    vel = np.column_stack([np.gradient(east) / np.gradient(fix_t / 1000.0),
                           np.zeros_like(east)])
    return fix_t, enu, vel, t, value


def brute_scores(fix_t, enu, vel, t, value, lags, scale, speed, blocks, nblocks, max_pair_s):
    """The score of every trial lag, each on its own, every pair tested."""
    ssd = np.zeros((lags.size, nblocks))
    cnt = np.zeros((lags.size, nblocks))
    for k, lag in enumerate(lags):
        tt = t - lag * 1000.0
        idx = np.flatnonzero((tt >= fix_t[0]) & (tt <= fix_t[-1]))
        vx = np.interp(tt[idx], fix_t, vel[:, 0])
        leg = idx[np.abs(vx) > 0.5 * speed]
        q = np.column_stack([np.interp(tt[leg], fix_t, enu[:, j]) for j in range(3)]) / scale
        ahead = np.interp(tt[leg], fix_t, vel[:, 0]) > 0
        i, j = brute_pairs(q, t[leg], ahead, max_pair_s * 1000.0)
        a, b = leg[i], leg[j]
        np.add.at(ssd[k], blocks[a], (value[a] - value[b]) ** 2)
        np.add.at(cnt[k], blocks[a], 1.0)
    return ssd, cnt


@pytest.mark.parametrize("max_pair_s", [100.0, math.inf])
def test_scores_of_every_lag_are_the_brute_force_scores(max_pair_s):
    fix_t, enu, vel, t, value = flight()
    lags = np.arange(-2.0, 4.01, 0.15)
    scale = np.array([5.0, 100.0, 3.0])
    blocks = ((t - t[0]) // 20_000.0).astype(int)
    nblocks = int(blocks.max()) + 1
    args = (fix_t, enu, vel, t, value, lags, scale, 5.0, blocks, nblocks, max_pair_s)
    ssd, cnt = pair_scores(*args)
    ref_ssd, ref_cnt = brute_scores(*args)
    assert ref_cnt.sum(axis=1).min() > 50
    np.testing.assert_array_equal(cnt, ref_cnt)
    np.testing.assert_allclose(ssd, ref_ssd, rtol=1e-12, atol=0)
    score = ssd.sum(axis=1) / cnt.sum(axis=1)
    assert abs(lags[np.argmin(score)] - 1.2) < 0.25  # the injected lag


def test_time_spans_keep_whole_spans_evenly_spread():
    t = np.arange(0.0, 3_600_000.0, 500.0)  # an hour at 2 Hz
    assert time_spans(t, None, 1.2e6).all() and time_spans(t, t.size, 1.2e6).all()
    keep = time_spans(t, 1000, 120_000.0)
    spans = np.unique(t[keep] // 120_000.0)
    assert 0 < keep.sum() <= 1000 and spans.size == 4
    for s in spans:  # whole spans
        assert keep[t // 120_000.0 == s].all()
    assert spans.min() > 0 and spans.max() < 29  # spread over the hour, not its start


def test_bounded_shift_estimate_is_honest():
    """A long flight cut to a fifth of its readings: the known lag within the (larger) ±."""
    args = plume(lag_s=2.0, n_passes=40, seed=3, noise=2.0)
    n = args[4].size  # readings
    full = estimate_lag(*args, method="shift", max_pair_s=160.0, max_readings=None)
    part = estimate_lag(*args, method="shift", max_pair_s=160.0, max_readings=n // 5)
    assert full.ok and part.ok and part.pairs < full.pairs / 3
    for est in (full, part):
        assert abs(est.lag_s - 2.0) < 0.3
        assert abs(est.lag_s - 2.0) < 4 * est.uncertainty_s + 0.1
    assert part.uncertainty_s > 2 * full.uncertainty_s  # fewer pairs, a wider spread


def test_bounded_search_centre_keeps_the_centroid_estimate():
    """The peak-matching search that centres the centroid range on a subsample: the same
    centroid estimate as with every reading."""
    args = plume(lag_s=1.5, n_passes=40, seed=4)
    full = estimate_lag(*args, max_pair_s=160.0, max_readings=None)
    part = estimate_lag(*args, max_pair_s=160.0, max_readings=2000)
    assert full.method == part.method == "centroid"
    assert part == full
    assert abs(full.lag_s - 1.5) < 0.3


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many"])
def test_max_readings_must_be_a_positive_count(bad):
    fix_t, lat, lon, alt = synthetic_passes()
    t = np.arange(fix_t[0], fix_t[-1], 500.0)
    with pytest.raises(ParameterError, match="max_readings"):
        estimate_lag(fix_t, lat, lon, alt, t, np.ones(t.size), max_readings=bad)


@pytest.mark.parametrize(("size", "percent"), [(121, 20), (5, 20), (7, 50), (9, 0), (9, 100)])
def test_running_percentile_is_scipys(size, percent):
    value = np.random.default_rng(size).normal(size=700).round(1)  # with ties
    np.testing.assert_array_equal(running_percentile(value, percent, size),
                                  percentile_filter(value, percent, size=size, mode="nearest"))
    short = value[:40]  # shorter than the window
    np.testing.assert_array_equal(running_percentile(short, percent, size),
                                  percentile_filter(short, percent, size=size, mode="nearest"))
