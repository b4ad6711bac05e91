"""Wind time series: the onboard sonic's rotation against hand-computed cases, the wind CSV
reader through its map, and the per-sample projection against a synthetic curtain whose
wind changes from pass to pass (truth: the emission the plume was built with)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.products.flux.estimate import estimate_flux
from dronesense.sources.onboard_wind import body_to_ned, earth_wind
from dronesense.sources.wind import WindSeries
from dronesense.sources.windfile import read_wind_csv


def _one(u, v, w, roll=0.0, pitch=0.0, yaw=0.0, vn=0.0, ve=0.0, vd=0.0,
         axes=("forward", "right", "down"), **kw):
    a = [np.array([float(q)]) for q in (u, v, w, roll, pitch, yaw, vn, ve, vd)]
    return earth_wind(np.array([0.0]), a[0], a[1], a[2], roll=a[3], pitch=a[4], yaw=a[5],
                      vn=a[6], ve=a[7], vd=a[8], axes=axes, **kw)


@pytest.mark.parametrize(("inputs", "east", "north"), [
    # level, facing north, air moving 2 m/s to the right (east) past the sonic
    ({"u": 0, "v": 2, "w": 0}, 2.0, 0.0),
    # facing east (yaw 90): forward is east, right is south
    ({"u": 3, "v": 1, "w": 0, "yaw": 90}, 3.0, -1.0),
    # facing south-west (yaw 225): forward (1) is (-0.7071, -0.7071)
    ({"u": 1, "v": 0, "w": 0, "yaw": 225}, -math.sqrt(0.5), -math.sqrt(0.5)),
    # rolled 30° right-down, facing north: the body 'right' axis points east and down,
    # right = 2 -> east 2 cos 30; body 'down' = 1 -> east -sin 30
    ({"u": 0, "v": 2, "w": 1, "roll": 30}, 2 * math.cos(math.radians(30)) - 0.5, 0.0),
    # pitched 20° nose up, facing north: forward = 3 -> north 3 cos 20 (and up)
    ({"u": 3, "v": 0, "w": 0, "pitch": 20}, 0.0, 3 * math.cos(math.radians(20))),
    # flying east at 5 m/s into a 4 m/s wind from the east: the sonic sees 9 m/s head-on
    ({"u": -9, "v": 0, "w": 0, "yaw": 90, "ve": 5}, -4.0, 0.0),
])
def test_rotation_against_hand_computed_cases(inputs, east, north):
    w = _one(**inputs)
    assert float(w.u[0]) == pytest.approx(east, abs=1e-9)
    assert float(w.v[0]) == pytest.approx(north, abs=1e-9)


def test_sonic_axes_and_body_rotation():
    # the M600/TriSonica mount of the real NMT flight: u right, v forward, w up
    a = _one(2.0, 5.0, 0.5, yaw=90, axes=("right", "forward", "up"))
    b = _one(5.0, 2.0, -0.5, yaw=90)
    assert (float(a.u[0]), float(a.v[0])) == pytest.approx((float(b.u[0]), float(b.v[0])))
    # a full rotation matrix is orthonormal: lengths are kept
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(3, 50))
    out = body_to_ned(*(rng.uniform(-40, 40, 50) for _ in range(2)), rng.uniform(0, 360, 50),
                      vec)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), np.linalg.norm(vec, axis=0))
    with pytest.raises(ParameterError, match="axes: expected three different body directions"):
        _one(1, 0, 0, axes=("forward", "forward", "up"))


def test_propagated_error():
    # level, no attitude or velocity error: the speed error is the sonic's own
    w = _one(4.0, 0.0, 0.0, sonic_error=0.2, attitude_error=0.0, heading_error=0.0,
             velocity_error=0.0)
    assert float(w.speed_error[0]) == pytest.approx(0.2, rel=1e-3)
    assert float(w.direction_error[0]) == pytest.approx(math.degrees(math.atan(0.2 / 4)),
                                                        rel=1e-3)
    # a heading error turns the wind: across-wind error = speed x heading error
    w = _one(4.0, 0.0, 0.0, sonic_error=0.0, attitude_error=0.0, heading_error=3.0,
             velocity_error=0.0)
    assert float(w.direction_error[0]) == pytest.approx(3.0, rel=1e-3)
    assert float(w.speed_error[0]) == pytest.approx(0.0, abs=1e-4)


def test_wind_csv_reader(tmp_path):
    mast = tmp_path / "mast.txt"
    mast.write_text("# mast 3, Vulcano\nDate;Time;WS;WD\n"
                    "2024-05-01;10:00:00;10,0;270\n2024-05-01;10:00:10;5,0;180\n"
                    "2024-05-01;10:00:20;NA;180\n")
    w = read_wind_csv(mast, {"time": ["Date", "Time"], "comment": "#", "decimal": ",",
                             "speed": {"column": "WS", "units": "knot"}, "direction": "WD",
                             "height": 6.0, "speed_error": 0.3})
    assert len(w) == 2
    np.testing.assert_allclose(w.u, [10 * 0.514444, 0.0], atol=1e-4)
    np.testing.assert_allclose(w.v, [0.0, 5 * 0.514444], atol=1e-4)
    assert w.height.tolist() == [6.0, 6.0] and w.speed_error.tolist() == [0.3, 0.3]
    assert w.time[0] == pytest.approx(1714557600.0)
    uv = tmp_path / "uv.csv"
    uv.write_text("t,U,V\n1714557600,1.0,2.0\n1714557601,3.0,4.0\n")
    w = read_wind_csv(uv, {"time": "t", "time_format": "unix_s", "u": "U", "v": "V"})
    assert w.u.tolist() == [1.0, 3.0] and w.from_deg[0] == pytest.approx(206.565, abs=1e-3)
    toml = tmp_path / "map.toml"
    toml.write_text('[wind]\ntime = "t"\ntime_format = "unix_s"\nu = "U"\n')
    with pytest.raises(InputError, match="names no wind"):
        read_wind_csv(uv, toml)
    toml.write_text('[csv]\ntime = "t"\n')
    with pytest.raises(InputError, match=r"no \[wind\] table"):
        read_wind_csv(uv, toml)
    with pytest.raises(InputError, match="WS"):
        read_wind_csv(uv, {"time": "t", "speed": "WS", "direction": "WD"})


def _curtain(wind_per_pass):
    """A curtain 100 m east of home, 8 passes; pass k flown in the wind ``wind_per_pass[k]``
    (speed, from_deg); a Gaussian plume whose concentration is the emission divided by the
    wind of the moment (a steady plume in each pass's wind)."""
    frame = LocalFrame(52.0, 5.0, 0.0)
    s = np.linspace(-80.0, 80.0, 161)
    rows = []
    t0 = 0.0
    for k, (speed, frm) in enumerate(wind_per_pass):
        z = 4.0 + 4.0 * k
        north = s if k % 2 == 0 else s[::-1]
        cos = math.cos(math.radians(frm - 270.0))
        # the plume crosses the wall stretched by 1/cos; its density scales as 1/speed
        pm = 10.0 + (100.0 * 3.0 / speed) * np.exp(
            -0.5 * (north * cos / 15.0) ** 2 - 0.5 * ((z - 18.0) / 6.0) ** 2)
        t = t0 + np.arange(north.size)
        rows.append((t, north, np.full(north.size, z), pm, speed, frm))
        t0 = t[-1] + 20.0
    t = np.concatenate([r[0] for r in rows])
    north = np.concatenate([r[1] for r in rows])
    z = np.concatenate([r[2] for r in rows])
    pm = np.concatenate([r[3] for r in rows])
    lat, lon, _ = frame.inverse(np.full(north.size, 100.0), north)
    times = np.datetime64("2024-05-01T10:00:00", "ns") + (t * 1e9).astype("timedelta64[ns]")
    ds = xr.Dataset({"pm2p5": ("obs", pm, {"units": "ug m-3"}), "lat": ("obs", lat),
                     "lon": ("obs", lon), "height": ("obs", z),
                     "time_boot_ms": ("obs", 1000.0 * t)}, coords={"time": ("obs", times)})
    utc = times.astype("int64") / 1e9
    spd = np.concatenate([np.full(r[0].size, r[4]) for r in rows])
    frm = np.radians(np.concatenate([np.full(r[0].size, r[5]) for r in rows]))
    series = WindSeries(utc, -spd * np.sin(frm), -spd * np.cos(frm), np.full(utc.size, 10.0),
                        np.full(utc.size, 0.1), np.full(utc.size, 3.0), "test mast")
    true = 100e-6 * 3.0 * 2 * math.pi * 15.0 * 6.0
    return ds, series, true


def test_per_sample_wind_against_one_mean_wind():
    winds = [(3.0, 270.0), (5.0, 300.0), (2.0, 250.0), (4.0, 230.0)] * 2
    ds, series, true = _curtain(winds)
    per_sample = estimate_flux(ds, "pm2p5", wind=series, spacing=(4.0, 2.0))
    assert per_sample.emission == pytest.approx(true, rel=0.03)
    assert "test mast" in per_sample.info["wind"]
    # one mean wind (the scalar mean speed, the mean direction) is biased by the covariance
    mean_speed = float(np.mean([s for s, _ in winds]))
    one = estimate_flux(ds, "pm2p5", wind=(mean_speed, 270.0), spacing=(4.0, 2.0))
    assert abs(one.emission / true - 1) > 3 * abs(per_sample.emission / true - 1)
    # the reported mean wind is the vector mean, below the mean of the speeds
    assert per_sample.info["wind_speed"] < mean_speed


def test_series_must_cover_the_samples():
    ds, series, _ = _curtain([(3.0, 270.0)] * 4)
    late = WindSeries(series.time + 7200.0, series.u, series.v, series.height,
                      series.speed_error, series.direction_error, "late mast")
    with pytest.raises(NoUsableDataError, match="is it the same day and in UTC"):
        estimate_flux(ds, "pm2p5", wind=late)


def test_autopilot_wind_per_sample_follows_the_samples_clock():
    """The station's receive clock may be off (or a simulator ran faster than real time):
    the WIND reports are put on the samples' clock through the vehicle boot time, so a day's
    offset between the two clocks changes nothing, and a one-profile fit is the fallback."""
    import dronesense as ds
    from dronesense.api import wind_from_logs
    from dronesense.products.flux.wind import WindProfile

    log = ds.datasets.sample_flight()
    samples = ds.read_samples(log, quantities=["ch4"])
    shifted = samples.assign(time=samples["time"] + np.timedelta64(1, "D"))
    a = wind_from_logs([log], samples=samples)
    b = wind_from_logs([log], samples=shifted)
    assert not isinstance(b, WindProfile)                          # still per sample
    t0, t1 = (float(x) / 1e9 for x in shifted["time"].values.astype("int64")[[0, -1]])
    assert t0 - 60 < np.nanmin(b.time) and np.nanmax(b.time) < t1 + 60
    np.testing.assert_allclose(b.time - a.time, 86400.0, atol=1e-3)
    source = (50.9934, 6.9877)
    assert ds.estimate_flux(shifted, "ch4", source=source).emission == pytest.approx(
        ds.estimate_flux(samples, "ch4", source=source).emission, rel=1e-9)
    # samples without the vehicle boot time: receive times, which do not cover a day later
    bare = shifted.drop_vars("time_boot_ms")
    assert isinstance(wind_from_logs([log], samples=bare), WindProfile)
