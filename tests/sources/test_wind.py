"""The autopilot's wind reports of a tlog, each at the vehicle's height at the time."""

from __future__ import annotations

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError
from dronesense.sources.wind import WindReports, read_wind_reports

T0 = 1_700_000_000_000_000  # µs since the epoch


def _tlog(messages) -> bytes:
    """A tlog of ``(seconds after T0, message)``."""
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    return b"".join((T0 + int(t * 1e6)).to_bytes(8, "big") + bytes(m.pack(mav))
                    for t, m in messages)


def _position(height_m: float, boot_ms: int):
    return mavlink.MAVLink_global_position_int_message(
        boot_ms, 509934000, 69877000, int(42000 + 1000 * height_m), int(1000 * height_m),
        0, 0, 0, 0)


def _wind(from_deg: float, speed: float):
    return mavlink.MAVLink_wind_message(from_deg, speed, 0.0)


def test_each_report_at_the_latest_height(tmp_path):
    msgs = [(0.0, _wind(230.0, 1.0)),                 # before any position: no height
            (0.5, _position(0.0, 500)), (1.0, _wind(235.0, 2.0)),
            (1.5, _position(12.5, 1500)), (1.6, _position(20.0, 1600)),
            (2.0, _wind(240.0, 3.0)), (2.5, _wind(245.0, 3.5)),
            (3.0, mavlink.MAVLink_heartbeat_message(2, 3, 0, 0, 4, 3)),
            (3.5, _position(30.0, 3500)), (4.0, _wind(250.0, 4.0))]
    path = tmp_path / "flight.tlog"
    path.write_bytes(_tlog(msgs) + b"\x00garbage")
    rep = read_wind_reports(path)
    assert isinstance(rep, WindReports) and len(rep) == 5 and rep.name == "flight.tlog"
    np.testing.assert_array_equal(rep.height, [np.nan, 0.0, 20.0, 20.0, 30.0])
    np.testing.assert_allclose(rep.speed, [1.0, 2.0, 3.0, 3.5, 4.0])
    np.testing.assert_allclose(rep.direction, [230.0, 235.0, 240.0, 245.0, 250.0])
    np.testing.assert_allclose(rep.time - T0 / 1e6, [0.0, 1.0, 2.0, 2.5, 4.0], atol=1e-6)
    # the same from the bytes, without a name
    again = read_wind_reports(path.read_bytes())
    assert again.name == "" and np.array_equal(again.speed, rep.speed)


def test_no_positions_gives_no_heights():
    rep = read_wind_reports(_tlog([(0.0, _wind(240.0, 3.0)), (1.0, _wind(241.0, 3.1))]))
    assert len(rep) == 2 and np.isnan(rep.height).all()


def test_no_wind_reports_is_none():
    assert read_wind_reports(_tlog([(0.0, _position(10.0, 0))])) is None
    assert read_wind_reports(b"") is None


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_wind_reports(tmp_path / "none.tlog")


def _ulog(path, *, wind=True):
    """A PX4 ULog (firmware_sim's writer) of positions and GPS time at 10 m then 40 m, with
    the estimator's wind 3.2 m/s from 240° and 4 m/s from 250°."""
    from firmware_sim.ulog import UlogWriter

    boot_utc_us = 1_750_000_000_000_000
    with open(path, "wb") as fh:
        w = UlogWriter(fh, boot_utc_us)
        for i in range(20):
            ms = 1000 + 500 * i
            height = 10.0 if i < 10 else 40.0
            w.global_position(ms, 50.99, 6.98, 42.0 + height, 42.0)
            w.gps(ms, 50.99, 6.98, 42.0 + height, 3, boot_utc_us + ms * 1000)
            if wind and i % 2:
                w.wind(ms, *((3.2, 240.0) if i < 10 else (4.0, 250.0)))
    return path


@pytest.mark.parametrize("name", ["flight.ulg", "flight.log0"])
def test_a_ulog_gives_its_estimator_wind(tmp_path, name):
    """A PX4 ULog (by suffix or by content) is read by ``read_ulog_wind``: the same reports."""
    from dronesense.sources.ulog import read_ulog_wind

    path = _ulog(tmp_path / name)
    rep, direct = read_wind_reports(path), read_ulog_wind(path)
    assert isinstance(rep, WindReports) and len(rep) == 10 and rep.name == name
    for key in ("time", "height", "speed", "direction"):
        np.testing.assert_array_equal(getattr(rep, key), getattr(direct, key))
    np.testing.assert_allclose(rep.speed, [3.2] * 5 + [4.0] * 5, rtol=1e-6)
    np.testing.assert_allclose(rep.direction, [240.0] * 5 + [250.0] * 5, atol=1e-4)
    np.testing.assert_allclose(rep.height, [10.0] * 5 + [40.0] * 5, atol=1e-3)
    assert read_wind_reports(_ulog(tmp_path / "calm.ulg", wind=False)) is None
