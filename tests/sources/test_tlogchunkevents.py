"""Event columns made a slice at a time equal those of the whole file's scan: simulator logs
with faults (garbage, corruption, reordering, clock steps, GPS loss), two vehicles on one
link, components that become autopilots in an earlier slice, reading names first seen in
different slices; logs with repeated packets or a ground station are handed back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

import dronesense
from dronesense.flight.batch import pair_columns
from dronesense.flight.pairing import Pairer
from dronesense.flight.postflight import pair_logs
from dronesense.sources.framing import tlog_record
from dronesense.sources.logs import load_events
from dronesense.sources.tlogchunkevents import chunked_event_columns
from dronesense.sources.tlogchunks import load_tlog_chunked
from dronesense.sources.tlogevents import event_columns
from dronesense.sources.tlogscan import scan_tlog
from tests.support.sim import curtain_log, merged_log

CURTAIN = Path(dronesense.__file__).parent / "datasets" / "data" / "plume-curtain.tlog"
FAULTS = ("reorder=0.01,clockjump=60:2,systime_jitter=30,clockdrift=80,gpsloss=100:104,"
          "garbage=0.01,corrupt=0.005")


def _same(a, b):
    """Two event columns hold the same arrays (dtypes, values, NaNs), names and counts."""
    assert a.names == b.names
    assert (a.duplicates, a.bad_positions) == (b.duplicates, b.bad_positions)
    for kind in ("fixes", "readings", "syncs", "statuses"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert list(x) == list(y), kind
        for f in x:
            assert x[f].dtype == y[f].dtype, (kind, f)
            assert np.array_equal(x[f], y[f], equal_nan=x[f].dtype.kind == "f"), (kind, f)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("chunkevents")
    faulty = curtain_log(d / "faulty.tlog", "--seed", "5", "--fault", FAULTS)
    other = curtain_log(d / "other.tlog", "--seed", "6", "--sysid", "2", "--fault",
                        "gpsloss=50:60")
    both = merged_log(d / "both.tlog", faulty, other)  # two vehicles on one link
    return {"faulty": faulty, "both": both, "components": _components(d / "comp.tlog")}


def _components(path: Path) -> Path:
    """Vehicle 1 as its autopilot (component 1) and a component 5 whose positions and GNSS
    fix types count only after its own HEARTBEAT; NAMED_VALUE_INT and FLOAT names first seen
    late and in another order than sorted."""
    ap = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    c5 = mavlink.MAVLink(None, srcSystem=1, srcComponent=5)
    recs = []

    def add(mav, msg, k):
        recs.append(tlog_record(1_714_557_600_000_000 + 1000 * k, bytes(msg.pack(mav))))

    for k in range(600):
        ms = 100 * k
        if k % 10 == 0:
            add(ap, mavlink.MAVLink_heartbeat_message(2, 3, 129, 4, 4, 3), k)
            add(ap, mavlink.MAVLink_system_time_message(1_714_557_600_000_000 + 1000 * ms,
                                                        ms), k)
        if k == 300:  # component 5 becomes an autopilot
            add(c5, mavlink.MAVLink_heartbeat_message(2, 3, 1, 0, 4, 3), k)
        add(ap, mavlink.MAVLink_gps_raw_int_message(ms * 1000, 3 if k < 450 else 1,
                                                    0, 0, 0, 0, 0, 0, 0, 9), k)
        add(c5, mavlink.MAVLink_gps_raw_int_message(ms * 1000, 3 if k % 7 else 2,
                                                    0, 0, 0, 0, 0, 0, 0, 9), k)
        add(ap, mavlink.MAVLink_global_position_int_message(
            ms, 520000000 + k, 50000000 + 2 * k, 40000 + k, 30000, 0, 0, 0, 0), k)
        if k % 3 == 0:
            add(c5, mavlink.MAVLink_global_position_int_message(
                ms + 50, 520000000 + k, 50000000 + 2 * k, 41000, 31000, 0, 0, 0, 0), k)
        name = b"CH4" if k < 200 else (b"TEMP" if k % 2 else b"AAA")
        add(ap, mavlink.MAVLink_named_value_float_message(ms + 10, name, 1.9 + k / 7), k)
        if k > 400:
            add(ap, mavlink.MAVLink_named_value_int_message(ms + 20, b"COUNT" if k % 2
                                                            else b"BBB", k), k)
    path.write_bytes(b"".join(recs))
    return path


@pytest.mark.parametrize("name", ["faulty", "both", "components"])
def test_slices_give_the_whole_file_events(logs, name):
    path = logs[name]
    whole = event_columns(scan_tlog(path))
    for chunk in (300, 4096) if name == "components" else (8192, 65_536):
        cols, scan = chunked_event_columns(path, chunk_bytes=chunk)
        assert cols is not None, chunk  # no repeated packets, no ground station
        _same(cols, whole)
        ref = scan_tlog(path, ())
        assert (scan.records, scan.skipped, scan.size) == (ref.records, ref.skipped, ref.size)


def test_the_carried_rules_matter(logs):
    """Component 5's positions count only after its HEARTBEAT (in an earlier slice); the
    fix type in force comes from earlier slices; names are coded over the whole log."""
    cols, _ = chunked_event_columns(logs["components"], chunk_bytes=300)
    assert cols.names == ["AAA", "CH4", "TEMP", "BBB", "COUNT"]
    late = cols.fixes["time_boot_ms"] % 100 == 50  # component 5's positions
    assert late.any() and cols.fixes["time_boot_ms"][late].min() >= 30_000
    assert not cols.fixes["ok"].all() and cols.fixes["ok"].any()


def test_repeated_packets_and_ground_stations_are_handed_back(tmp_path):
    data = CURTAIN.read_bytes()
    scan = scan_tlog(data)
    a = int(scan.messages["GLOBAL_POSITION_INT"]["_offset"][100])
    b = int(scan.messages["GLOBAL_POSITION_INT"]["_offset"][101])
    copied = tmp_path / "copy.tlog"
    copied.write_bytes(data[:b] + data[a:b] + data[b:])  # one record again, right after
    assert chunked_event_columns(copied, chunk_bytes=4096) == (None, None)
    gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
    hb = bytes(mavlink.MAVLink_heartbeat_message(mavlink.MAV_TYPE_GCS,
                                                 mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0,
                                                 3).pack(gcs))
    station = tmp_path / "gcs.tlog"
    station.write_bytes(data[:b] + tlog_record(10**15, hb) + data[b:])
    assert chunked_event_columns(station, chunk_bytes=4096) == (None, None)
    for path in (copied, station):  # read with the whole log's rules instead: the same events
        assert list(load_tlog_chunked(path, chunk_bytes=4096).events) == list(
            load_events(path).events)


@pytest.mark.parametrize("name", ["faulty", "both", "components"])
def test_pairing_that_lets_the_columns_go_gives_the_same_rows(logs, name):
    kept = event_columns(scan_tlog(logs[name]))
    freed = event_columns(scan_tlog(logs[name]))
    a = pair_columns(Pairer(), kept.fixes, kept.readings, kept.syncs, kept.statuses,
                     kept.names)
    b = pair_columns(Pairer(), freed.fixes, freed.readings, freed.syncs, freed.statuses,
                     freed.names, release=True)
    assert a is not None and b.rows() == a.rows()
    assert not freed.fixes and not freed.readings and kept.fixes and kept.readings


@pytest.mark.parametrize("name", ["faulty", "both"])
def test_pair_logs_in_small_slices_gives_the_same_samples(logs, name):
    rows, summary = pair_logs([logs[name]], max_gap_s=1.0)
    cols, sliced = pair_logs([logs[name]], max_gap_s=1.0, as_columns=True, chunk_bytes=8192)
    assert cols.rows() == rows
    assert sliced.lines() == summary.lines()
