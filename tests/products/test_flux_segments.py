"""Passes and curtains found from the track's geometry and time, at any log rate, against the
flight plan that made the synthetic track (its truth); the extrapolated share and the
jackknife's honesty; the window and the source checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.products.flux.estimate import estimate_flux
from dronesense.products.flux.segments import find_legs, group_curtains

ORIGIN = LocalFrame(52.0, 5.0, 0.0)


def fly(rate: float, offsets=(60.0,), heights=(2.0, 4.5, 7.0, 9.5), *, speed=2.0,
        climb=0.5, noise=0.3, seed=0, half=50.0):
    """A track flying back and forth along y at x = offset, one pass per height, climbing at
    ``climb`` m/s at the turns, sampled at ``rate`` Hz with height noise. Returns times,
    east, north, height and the true (curtain, height) of each pass."""
    rng = np.random.default_rng(seed)
    t, x, y, z, truth = [], [], [], [], []

    def add(*row):
        for col, v in zip((t, x, y, z), row, strict=True):
            col.append(v)

    now, ypos, direction = 0.0, -half, 1.0
    dt = 1.0 / rate
    for off in offsets:
        for k, h in enumerate(heights):
            truth.append((off, h))
            while -half <= ypos <= half:
                add(now, off, ypos, h)
                now += dt
                ypos += direction * speed * dt
            ypos = float(np.clip(ypos, -half, half))
            nxt = heights[k + 1] if k + 1 < len(heights) else h
            c = h
            while c < nxt:                                # climb on the spot
                c += climb * dt
                add(now, off, ypos, min(c, nxt))
                now += dt
            direction = -direction
            ypos += direction * 1e-6
        now += 30.0                                       # transit to the next curtain
    z = np.asarray(z) + rng.normal(0.0, noise, len(z))
    return np.asarray(t), np.asarray(x), np.asarray(y), z, truth


@pytest.mark.parametrize("rate", [0.5, 1.0, 5.0, 20.0, 50.0])
def test_passes_at_any_log_rate_with_slow_climbs_and_noise(rate):
    t, x, y, z, truth = fly(rate)
    legs = [g for g in find_legs(t, x, y, z) if g.transect]
    assert len(legs) == len(truth)
    for g, (_, h) in zip(legs, truth, strict=True):
        assert g.height == pytest.approx(h, abs=0.3)


def test_several_curtains_by_their_line():
    t, x, y, z, truth = fly(1.0, offsets=(60.0, 90.0, 110.0))
    legs = find_legs(t, x, y, z)
    curtains = group_curtains(legs, x, y)
    assert [round(c.offset) for c in curtains] == sorted({round(off) for off, _ in truth})
    assert [len(c.legs) for c in curtains] == [4, 4, 4]


def _samples(t, x, y, z, values):
    lat, lon, _ = ORIGIN.inverse(x, y)
    return xr.Dataset(
        {"pm2p5": ("obs", values, {"units": "ug m-3"}), "lat": ("obs", lat),
         "lon": ("obs", lon), "height": ("obs", z), "time_boot_ms": ("obs", 1000.0 * t)},
        coords={"time": ("obs", np.datetime64("2024-05-01T10:00:00", "ns")
                         + (t * 1e9).astype("timedelta64[ns]"))})


def test_extrapolated_share_from_the_lowest_pass_not_whole_cells():
    # a uniform enhancement of 10 ug/m3 (background 0 given) from the ground to the top:
    # the share below the lowest pass is its height over the wall's height
    t, x, y, z, _ = fly(1.0, heights=(1.4, 4.0, 6.5, 9.0), noise=0.0)
    res = estimate_flux(_samples(t, x, y, z, np.full(t.size, 10.0)), "pm2p5", wind="3@270",
                        background=0.0, spacing=(5.0, 2.5))
    top = res.info["top_m"]
    assert res.info["lowest_pass_m"] == pytest.approx(1.4, abs=0.05)
    assert res.extrapolated_fraction == pytest.approx(1.4 / top, rel=0.02)
    # the flux is the enhancement x wind x wall area
    area = res.info["width_m"] * top
    assert res.emission == pytest.approx(10e-6 * 3.0 * area, rel=0.01)


def test_jackknife_says_when_it_cannot_be_estimated():
    t, x, y, z, _ = fly(1.0, heights=(3.0, 6.0), noise=0.0)
    v = 10.0 + 50.0 * np.exp(-0.5 * (y / 15.0) ** 2)
    res = estimate_flux(_samples(t, x, y, z, v), "pm2p5", wind="3@270", spacing=(5.0, 1.0))
    assert res.info["passes"] == 2 and res.info["jackknife_passes"] == 0
    assert "interpolation" not in res.components
    assert any("not estimable from 2 passes" in n for n in res.notes)
    t, x, y, z, _ = fly(1.0, heights=(3.0, 6.0, 9.0), noise=0.0)
    v = 10.0 + 50.0 * np.exp(-0.5 * (y / 15.0) ** 2)
    res = estimate_flux(_samples(t, x, y, z, v), "pm2p5", wind="3@270", spacing=(5.0, 1.0))
    assert res.info["jackknife_passes"] == 3 and res.components["interpolation"] > 0


def test_each_curtain_estimated_and_combined_where_valid():
    t, x, y, z, _ = fly(1.0, offsets=(60.0, 90.0, 120.0), heights=(2.0, 5.0, 8.0, 11.0, 14.0),
                        noise=0.0)
    # a plume crossing all three walls the same way: the same flux through each
    v = 10.0 + 50.0 * np.exp(-0.5 * (y / 12.0) ** 2 - 0.5 * ((z - 6.0) / 3.0) ** 2)
    ds = _samples(t, x, y, z, v)
    res = estimate_flux(ds, "pm2p5", wind="3@270", spacing=(5.0, 1.0),
                        source=(52.0, 5.0))
    assert len(res.curtains) == 3
    assert [round(c.info["source_distance_m"]) for c in res.curtains] == [60, 90, 120]
    true = 50e-6 * 2 * math.pi * 12.0 * 3.0 * 3.0
    for c in res.curtains:
        assert c.emission == pytest.approx(true, rel=0.1)
    assert res.emission == pytest.approx(true, rel=0.1)
    assert res.lines()[0].startswith("curtain 0, 60 m from the source")
    one = estimate_flux(ds, "pm2p5", wind="3@270", spacing=(5.0, 1.0), curtain=2)
    assert one.info["curtain"] == 2 and one.emission == res.curtains[2].emission
    with pytest.raises(ParameterError, match="curtain: must be an index from 0 to 2"):
        estimate_flux(ds, "pm2p5", wind="3@270", curtain=3)
    # the window keeps the second curtain only
    start, end = res.curtains[1].info["time_start"], res.curtains[1].info["time_end"]
    win = estimate_flux(ds, "pm2p5", wind="3@270", spacing=(5.0, 1.0), window=(start, end))
    assert win.info["passes"] == 5
    assert win.emission == pytest.approx(res.curtains[1].emission, rel=1e-6)


def test_window_and_source_mistakes_are_one_line():
    t, x, y, z, _ = fly(1.0, noise=0.0)
    ds = _samples(t, x, y, z, np.full(t.size, 10.0))
    with pytest.raises(ParameterError, match="window: start '10:00' is not an ISO 8601"):
        estimate_flux(ds, "pm2p5", wind="3@270", window=("10:00", None))
    with pytest.raises(NoUsableDataError, match="samples span 2024-05-01T10:00:00Z"):
        estimate_flux(ds, "pm2p5", wind="3@270", window=("2024-05-02T00:00:00Z", None))
    with pytest.raises(ParameterError, match=r"swapped \(\(52.0, 5.0\)\)"):
        estimate_flux(ds, "pm2p5", wind="3@270", source=(5.0, 52.0))
