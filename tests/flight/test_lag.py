"""Lag estimation on synthetic passes with a known lag."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.flight.lag import estimate_lag, split_lags, synthetic_passes


def _readings(lag_s, noise=0.1, rate_hz=2.0, seed=0):
    rng = np.random.default_rng(seed)
    fix_t, lat, lon, alt = synthetic_passes()
    t = np.arange(fix_t[0], fix_t[-1], 1000.0 / rate_hz)
    x = np.interp(t - lag_s * 1000.0, fix_t, lon)
    value = 5 * np.exp(-(((x - 5.0003) / 0.00015) ** 2)) + rng.normal(0, noise, t.size)
    return fix_t, lat, lon, alt, t, value


@pytest.mark.parametrize("lag", [-1.5, 0.0, 0.7, 3.0, 6.5])
def test_known_lag_recovered(lag):
    est = estimate_lag(*_readings(lag))
    assert est.ok
    assert abs(est.lag_s - lag) < 0.3
    assert abs(est.lag_s - lag) < 4 * est.uncertainty_s + 0.1


def test_no_opposite_passes_gives_no_estimate():
    fix_t, lat, lon, alt, t, value = _readings(1.0)
    one_way = fix_t < fix_t[0] + 40_000  # the first pass only
    est = estimate_lag(fix_t[one_way], lat[one_way], lon[one_way], alt[one_way],
                       t[t < fix_t[one_way][-1]], value[t < fix_t[one_way][-1]])
    assert not est.ok and est.reason


def test_split_lags():
    assert split_lags({"ch4": 1.5, "pm2p5": "auto"}) == ({"ch4": 1.5}, {"pm2p5"}, False)
    assert split_lags("auto") == ({}, set(), True)
    for bad in ({"ch4": "soon"}, {"ch4": float("nan")}, {"ch4": 1e400}, "soon"):
        with pytest.raises(ValueError):
            split_lags(bad)
