"""PX4 ULog input: a real log (checked against pyulog's own reading of it), both GPS schemas,
readings, clock syncs, cut and corrupt logs, and the pairing of a real track."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from pyulog import ULog

from dronesense.errors import InputError
from dronesense.events import Fix, Reading, Status, TimeSync
from dronesense.flight.pipeline import Pipeline
from dronesense.sources.dispatch import open_source
from dronesense.sources.kinds import detect_kind
from dronesense.sources.logs import events_of, load_events
from dronesense.sources.ulog import px4_custom_mode, read_ulog
from firmware_sim.ulog import UlogWriter

DATA = Path(__file__).resolve().parents[1] / "data"
REAL = DATA / "sample_log_small.ulg"


@pytest.fixture(scope="module")
def truth():
    """What pyulog itself reads from the real log."""
    d = ULog(str(REAL)).get_dataset("vehicle_gps_position").data
    return d


def test_detect_kind_by_suffix_and_magic(tmp_path):
    assert detect_kind(REAL) == "ulog"
    other = tmp_path / "flight.dat"
    shutil.copy(REAL, other)
    assert detect_kind(other) == "ulog"


def test_real_log_positions_and_clock_equal_pyulog(truth):
    log = read_ulog(REAL)
    assert log.position_source == "vehicle_gps_position"
    assert log.sysid == 1
    fixes = [e for _, e in log.events if isinstance(e, Fix)]
    syncs = [e for _, e in log.events if isinstance(e, TimeSync)]
    assert len(fixes) == len(truth["timestamp"]) == 32
    assert [f.time_boot_ms for f in fixes] == (truth["timestamp"] / 1000.0).tolist()
    for i in (0, -1):
        assert fixes[i].lat == truth["lat"][i] / 1e7
        assert fixes[i].lon == truth["lon"][i] / 1e7
        assert fixes[i].alt_amsl == truth["alt"][i] / 1000.0
    assert (fixes[0].lat, fixes[0].lon) == (63.4170622, 10.4082151)
    assert all(f.fix_ok for f in fixes)
    # no home_position in this log: heights above the first position, and said so
    assert fixes[0].height == 0.0
    assert any("home_position" in n for n in log.notes)
    assert [s.time_unix_usec for s in syncs] == truth["time_utc_usec"].tolist()
    assert any(isinstance(e, Status) for _, e in log.events)
    times = [t for t, _ in log.events]
    assert times == sorted(times)


def test_real_track_pairs_inside_its_bounding_box(truth):
    """Readings put between the real log's fixes get positions inside the flight's box and
    the UTC of its GPS clock."""
    log = load_events(REAL)
    assert log.kind == "ulog" and log.messages > 0
    t = truth["timestamp"] / 1000.0
    readings = [(Reading(1, float(m), "CH4", 2.0 + i / 100), None)
                for i, m in enumerate((t[:-1] + t[1:]) / 2)]
    events = sorted(log.events + readings, key=lambda e: getattr(e[0], "time_boot_ms", 0.0))
    pipe = Pipeline(max_gap_s=1.0)
    rows = pipe.run(events)
    assert len(rows) == len(readings)
    lat, lon = truth["lat"] / 1e7, truth["lon"] / 1e7
    for r in rows:
        assert r.flag == 0
        assert lat.min() <= r.lat <= lat.max() and lon.min() <= r.lon <= lon.max()
        assert r.time_source == "sync"
    # the UTC of a reading half-way between two fixes: half-way between their GPS times
    first = rows[0]
    utc = np.datetime64(first.time_utc.rstrip("Z"), "us").astype(np.int64)
    expected = (truth["time_utc_usec"][0] + truth["time_utc_usec"][1]) / 2
    assert abs(utc - expected) < 1000


def _write(path: Path, formats, rows) -> Path:
    with open(path, "wb") as fh:
        w = UlogWriter(fh, 0, sysid=7, formats=formats)
        for topic, *values in rows:
            w.data(topic, *values)
    return path


GAS = {"sensor_gps": [("uint64_t", "timestamp"), ("uint64_t", "timestamp_sample"),
                      ("double", "latitude_deg"), ("double", "longitude_deg"),
                      ("double", "altitude_msl_m"), ("uint64_t", "time_utc_usec"),
                      ("uint8_t", "fix_type")],
       "sensor_gas_concentration": [("uint64_t", "timestamp"), ("uint64_t", "timestamp_sample"),
                                    ("uint32_t", "device_id"), ("float", "concentration_ppm"),
                                    ("float", "temperature"), ("uint8_t", "gas_type")],
       "debug_key_value": [("uint64_t", "timestamp"), ("char[10]", "key"), ("float", "value")]}


def test_new_gps_schema_gas_topic_and_named_values(tmp_path):
    utc0 = 1_700_000_000_000_000
    rows = []
    for i in range(5):
        t = 1_000_000 + i * 200_000
        rows.append(("sensor_gps", t, 0, 50.0 + i * 1e-5, 7.0, 100.0 + i, utc0 + t,
                     1 if i == 0 else 3))
    rows.append(("sensor_gas_concentration", 1_300_000, 1_250_000, 1, 1.9, 20.0, 4))
    rows.append(("debug_key_value", 1_500_000, b"PM2.5", 12.5))
    path = _write(tmp_path / "gas.ulg", GAS, rows)
    log = read_ulog(path)
    assert log.sysid == 7 and log.position_source == "sensor_gps"
    fixes = [e for _, e in log.events if isinstance(e, Fix)]
    assert [f.fix_ok for f in fixes] == [False, True, True, True, True]
    assert fixes[2] == Fix(7, 1400.0, 50.00002, 7.0, 102.0, 1.0, True)  # above the first good
    syncs = [e for _, e in log.events if isinstance(e, TimeSync)]
    assert [s.time_unix_usec - utc0 for s in syncs] == [1_200_000, 1_400_000, 1_600_000,
                                                        1_800_000]
    readings = [e for _, e in log.events if isinstance(e, Reading)]
    assert readings == [Reading(7, 1250.0, "GAS4", 1.9), Reading(7, 1500.0, "PM2.5", 12.5)]


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_log_keeps_what_is_whole(tmp_path, cut):
    data = REAL.read_bytes()
    path = tmp_path / "cut.ulg"
    end = int(len(data) * cut)
    path.write_bytes(data[:end])
    full = [e for _, e in read_ulog(REAL).events if isinstance(e, Fix)]
    log = load_events(path)
    fixes = events_of(log, Fix)
    assert 0 < len(fixes) < len(full)
    assert fixes == full[:len(fixes)]
    assert len(log.skipped) == 1 and log.skipped[0].offset + log.skipped[0].length == end
    assert log.skipped[0].reason == "truncated record"


def test_corrupt_log_keeps_the_good_and_says_so(tmp_path):
    data = bytearray(REAL.read_bytes())
    rng = np.random.default_rng(4)
    at = len(data) // 2
    data[at:at + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "bad.ulg"
    path.write_bytes(bytes(data))
    log = load_events(path)
    fixes = events_of(log, Fix)
    assert 16 <= len(fixes) <= 32
    assert any("corrupt" in n for n in log.notes)


@pytest.mark.parametrize("content", [b"", b"ULog\x01\x12\x35\x01", b"not a ulog at all......"])
def test_not_a_ulog_is_one_line(tmp_path, content):
    path = tmp_path / "x.ulg"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_events(path)
    assert "x.ulg" in str(err.value) and "\n" not in str(err.value)


def test_open_source_reads_a_ulog():
    log = open_source(REAL)
    assert log.kind == "ulog" and events_of(log, Fix)


def test_writer_output_is_what_pyulog_reads():
    buf = io.BytesIO()
    w = UlogWriter(buf, 0)
    w.named_float(10, "CH4", 1.5)
    buf.seek(0)
    d = ULog(buf).get_dataset("debug_key_value").data
    assert d["timestamp"].tolist() == [10_000] and d["value"].tolist() == [1.5]


def test_px4_custom_mode():
    assert px4_custom_mode(4) == (4 << 16) | (3 << 24)   # AUTO_LOITER
    assert px4_custom_mode(2) == 3 << 16                  # POSCTL
    assert px4_custom_mode(99) == 0


# -- wind: PX4's estimate read as the WIND reports of a tlog ----------------------------------
def test_real_log_wind_estimate_as_wind_reports(truth):
    """The real log (PX4 before 1.13) has ``wind_estimate``: every message is a report, at the
    height of the latest position and the UTC of the GPS clock."""
    from dronesense.sources.ulog import read_ulog_wind

    wind = ULog(str(REAL)).get_dataset("wind_estimate").data
    rep = read_ulog_wind(REAL)
    assert len(rep) == len(wind["timestamp"]) == 8 and rep.name == REAL.name
    np.testing.assert_array_equal(
        rep.speed, np.hypot(wind["windspeed_north"].astype(float),
                            wind["windspeed_east"].astype(float)))
    offset = (truth["time_utc_usec"].astype(np.int64) - truth["timestamp"].astype(np.int64))
    np.testing.assert_allclose(rep.time, (wind["timestamp"] + np.median(offset)) / 1e6)
    fixes = [(t, e.height) for t, e in read_ulog(REAL).events if isinstance(e, Fix)]
    for t, h in zip(wind["timestamp"].tolist(), rep.height.tolist(), strict=True):
        before = [fh for ft, fh in fixes if ft <= t]
        assert (h == before[-1]) if before else np.isnan(h)


def test_written_wind_reads_like_the_same_tlog_wind(tmp_path):
    """A ULog and a tlog of the same flight (positions, GPS time, wind 3.2 m/s from 240° and
    4 m/s from 250° at two heights) give the same wind reports and the same fitted wind."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    from dronesense.products.flux.wind import wind_from_reports
    from dronesense.sources.ulog import read_ulog_wind
    from dronesense.sources.wind import read_wind_reports

    boot_utc_us = 1_750_000_000_000_000
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    tlog, ulg = bytearray(), tmp_path / "w.ulg"
    with open(ulg, "wb") as fh:
        w = UlogWriter(fh, boot_utc_us)
        for i in range(40):
            ms = 1000 + 500 * i
            height = 10.0 if i < 20 else 40.0
            speed, frm = (3.2, 240.0) if i < 20 else (4.0, 250.0)
            w.global_position(ms, 50.99, 6.98, 42.0 + height, 42.0)
            w.gps(ms, 50.99, 6.98, 42.0 + height, 3, boot_utc_us + ms * 1000)
            stamp = (boot_utc_us + ms * 1000).to_bytes(8, "big")
            tlog += stamp + bytes(mavlink.MAVLink_global_position_int_message(
                ms, 509900000, 69800000, round((42 + height) * 1000), round(height * 1000),
                0, 0, 0, 0).pack(mav))
            if i % 2:
                w.wind(ms, speed, frm)
                tlog += stamp + bytes(mavlink.MAVLink_wind_message(frm, speed, 0.0).pack(mav))
    (tmp_path / "w.tlog").write_bytes(bytes(tlog))
    a, b = read_wind_reports(tmp_path / "w.tlog"), read_ulog_wind(ulg)
    assert len(a) == len(b) == 20
    np.testing.assert_allclose(b.speed, a.speed, rtol=1e-6)
    np.testing.assert_allclose(b.direction, a.direction, atol=1e-4)
    np.testing.assert_allclose(b.height, a.height, atol=1e-3)
    np.testing.assert_allclose(b.time, a.time, atol=1e-6)
    pa, pb = wind_from_reports(a), wind_from_reports(b)
    assert pb.speed == pytest.approx(pa.speed, rel=1e-6)
    assert pb.from_deg == pytest.approx(pa.from_deg, abs=1e-4)
    assert pb.exponent == pytest.approx(pa.exponent, abs=1e-6)
    assert pb.speed_at(40.0) == pytest.approx(4.0, rel=0.01)


def test_a_log_without_wind_has_no_reports(tmp_path):
    from dronesense.sources.ulog import read_ulog_wind

    buf = tmp_path / "n.ulg"
    with open(buf, "wb") as fh:
        UlogWriter(fh, 0).named_float(10, "CH4", 1.5)
    assert read_ulog_wind(buf) is None
    with pytest.raises(InputError, match="no such file"):
        read_ulog_wind(tmp_path / "missing.ulg")
