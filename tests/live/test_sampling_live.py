"""Issue 15's live sampling-events journal: a vehicle sending NAMED_VALUE_INT sampling events
over UDP gives, in the session's ``sampling_events.csv`` as they arrive, the same events as
``read_sampling_events`` on the recorded tlog after the flight."""

from __future__ import annotations

import csv
import os
import socket
import time

import numpy as np

os.environ.setdefault("MAVLINK20", "1")

from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.live.listener import Listener
from dronesense.sources.sampling_events import JOURNAL_COLUMNS, read_sampling_events
from dronesense.sources.session_folder import SessionFolder

T0_UNIX_US = 1_749_888_000_000_000


def _flight() -> list[bytes]:
    """12 s of fixes at 5 Hz climbing and moving north, SYSTEM_TIME at 1 Hz, and four
    samples: SAMPLE 1..3 and a BAG, one of them in the last second (placed at close)."""
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    out = []
    samples = {2150: (b"SAMPLE", 1), 5030: (b"SAMPLE", 2), 8770: (b"BAG", 7),
               11990: (b"SAMPLE", 3)}
    for t in range(0, 12000, 10):
        if t % 200 == 0:
            out.append(M.MAVLink_global_position_int_message(
                t, 375000000 + 3 * t, 1269000000 + t, 50000 + t, 2 * t, 0, 0, 0, 0))
        if t % 1000 == 0:
            out.append(M.MAVLink_system_time_message(T0_UNIX_US + 1000 * t, t))
        if t in samples:
            name, n = samples[t]
            out.append(M.MAVLink_named_value_int_message(t, name, n))
    return [bytes(m.pack(mav)) for m in out]


def test_live_sampling_events_equal_the_post_flight_reader(tmp_path):
    packets = _flight()
    out = tmp_path / "s"
    with Listener("udpin:127.0.0.1:0", out=out) as live:
        port = live.link.address[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for k, raw in enumerate(packets):
                s.sendto(raw, ("127.0.0.1", port))
                if k % 20 == 0:
                    live.poll(0)
        deadline = time.monotonic() + 10
        while live.summary["packets"] < len(packets) and time.monotonic() < deadline:
            live.poll(0.05)
        # events already placed are in the file while recording
        path = SessionFolder(out).sampling_events
        with open(path, newline="") as fh:
            during = list(csv.DictReader(fh))
        assert [r["sample_id"] for r in during] == ["1", "2", "7"]
    assert live.summary["packets"] == len(packets)
    with open(path, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == JOURNAL_COLUMNS
        fh.seek(0)
        rows = list(csv.DictReader(fh))
    ds = read_sampling_events(out / "flight.tlog")
    assert [r["sample_id"] for r in rows] == list(ds.sample_id.values) == ["1", "2", "7", "3"]
    assert [r["event"] for r in rows] == list(ds.event.values)
    assert [float(r["time_boot_ms"]) for r in rows] == list(ds.time_boot_ms.values)
    got = np.array([np.datetime64(r["time_utc"][:-1], "ns") for r in rows])
    assert (np.abs(got - ds.time.values) <= np.timedelta64(1, "us")).all()
    for col, var, digits in (("lat", "lat", 8), ("lon", "lon", 8), ("alt_amsl", "altitude", 3),
                             ("height", "height", 3)):
        live_vals = np.array([float(r[col]) if r[col] else np.nan for r in rows])
        np.testing.assert_allclose(live_vals, ds[var].values, atol=10.0 ** -digits,
                                   equal_nan=True)
    # truth: SAMPLE 2 at 5030 ms lies between the fixes at 5000 and 5200 ms
    two = rows[1]
    assert abs(float(two["lat"]) - (37.5 + 3 * 5030 / 1e7)) < 1e-7
    assert two["time_utc"].startswith("2025-06-14T08:00:05.030")
