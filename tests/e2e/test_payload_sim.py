"""End to end: the simulator flies (MAVLink over UDP) and writes PMS5003 frames to a pty;
dronesense reads them through pyserial, maps receive time to vehicle time with the
ReceiveClock and pairs them with the track; positions are compared with the truth.

Tolerance. A serial frame carries no vehicle time, so its time is the receive time mapped
through the clock; its error is (serial latency - minimum MAVLink latency) plus the
simulator's step: a frame sampled inside a 50 ms physics step is written with the
telemetry of the step's end, so it arrives up to 50 ms (vehicle time) late. At the 12 m/s
cruise that is <= 0.6 m; scheduling jitter of both processes is multiplied by the speedup
(x4 here: 1 ms of jitter is 4 ms, 0.05 m; at x8 a loaded 2-core test machine delayed one
frame in ten by ~40 ms of wall time, 3.6 m, past the 90th percentile bound). The test
asserts a median time error under 60 ms and a median position error under 1 m (90th
percentile under 2.5 m); vehicle-time pairing of the NAMED_VALUE_FLOAT sensor of the same
flight is the reference (interpolation only).
"""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest

from dronesense.events import Fix, TimeSync
from dronesense.flight.pairing import Pairer
from dronesense.sources.framing import Framer
from dronesense.sources.link import Link
from dronesense.sources.messages import MessageAdapter
from dronesense.sources.payload.clock import ReceiveClock
from dronesense.sources.payload.readings import PayloadReadings
from dronesense.sources.payload.serial_source import SerialPayload
from tests.support.sim import match_truth, metres, write_mission


@pytest.mark.slow
def test_pms5003_over_pty_paired_by_receive_clock(start_sim, udp_port, tmp_path):
    plan = write_mission(tmp_path)
    truth = tmp_path / "truth.csv"
    link = Link(f"udpin:127.0.0.1:{udp_port}")
    proc = start_sim("--mission", plan, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--speedup", "4", "--seed", "5", "--truth", truth,
                     "--serial-payload", "pms5003:pty", "--quiet")
    line = proc.stderr.readline()
    assert line.startswith("firmware-sim: serial payload pms5003 on "), line
    device = line.split(" on ")[1].strip()
    # a pty has no line speed: nothing to subtract for the frame's air time
    payload = SerialPayload(device, "pms5003", latency_s=0)
    clock = ReceiveClock(rate=None, window_s=10, bucket_s=0.25)  # the vehicle runs at 4x
    conv = PayloadReadings(clock, "pms5003")
    adapter, framer, pairer = MessageAdapter(), Framer(), Pairer()
    rows, received = [], []  # received: (time, value) of the serial PM2.5, in read order
    quiet_since = None
    try:
        while True:
            chunks = link.recv(0.02)
            for ch in chunks:
                for msg in framer.feed(ch.data, final=True).messages:
                    for ev in adapter.events(msg):
                        if isinstance(ev, Fix | TimeSync):
                            clock.observe(ev.sysid, ch.recv_us, ev.time_boot_ms)
                        rows += pairer.push(ev, ch.recv_us)
            for reading, recv_us in conv.push(payload.poll()):
                if reading.name == "PM2.5":
                    received.append((reading.time_boot_ms, reading.value))
                rows += pairer.push(reading, recv_us)
            if proc.poll() is not None and not chunks:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    break
    finally:
        payload.close()
        link.close()
    rows += pairer.finish()
    assert proc.returncode == 0
    assert payload.decoder.bad.get("bad checksum", 0) == 0

    fix_t, _, fix_pos = pairer.state(1).track.arrays()
    tr = list(csv.DictReader(open(truth)))
    serial_truth = [r for r in tr if r["sensor"] == "pms5003" and r["name"] == "PM2.5"]
    nvf_truth = {int(r["time_boot_ms"]): r for r in tr if r["name"] == "PMV"}
    t_true = np.array([float(r["time_boot_ms"]) for r in serial_truth])
    which = match_truth(received, serial_truth)

    dt, err, oracle, used = [], [], [], []
    for row in rows:
        if row.name != "PM2.5" or row.flag != 0:
            continue
        k = which[row.time_boot_ms]
        tru = serial_truth[k]
        assert float(tru["reported_value"]) == row.value
        dt.append(row.time_boot_ms - t_true[k])
        used.append(t_true[k])
        tlat, tlon, talt = float(tru["lat"]), float(tru["lon"]), float(tru["alt_amsl"])
        err.append(metres(row.lat, row.lon, row.alt_amsl, tlat, tlon, talt))
        # the same reading paired at its true vehicle time: interpolation error only
        j = np.searchsorted(fix_t, t_true[k])
        w = (t_true[k] - fix_t[j - 1]) / (fix_t[j] - fix_t[j - 1])
        p = fix_pos[j - 1] + w * (fix_pos[j] - fix_pos[j - 1])
        oracle.append(metres(p[0], p[1], p[2], tlat, tlon, talt))
    nvf_err = [metres(r.lat, r.lon, r.alt_amsl, float(t["lat"]), float(t["lon"]),
                      float(t["alt_amsl"]))
               for r in rows if r.name == "PMV" and r.flag == 0
               for t in [nvf_truth[round(r.time_boot_ms)]]]
    dt, err, t_true_used = np.array(dt), np.array(err), np.array(used)
    clock_err = dt + t_true_used - np.ceil(t_true_used / 50.0) * 50.0
    report = {
        "frames": len(dt), "time_error_ms": np.percentile(dt, [5, 50, 95]).round(1).tolist(),
        # the same, from the end of the 50 ms simulator step that wrote the frame: the
        # receive clock's own error
        "clock_error_ms": np.percentile(clock_err, [5, 50, 95]).round(1).tolist(),
        "receive_pairing_m": np.percentile(err, [50, 90, 100]).round(2).tolist(),
        "true_time_pairing_m": np.percentile(oracle, [50, 90, 100]).round(3).tolist(),
        "vehicle_time_nvf_m": np.percentile(nvf_err, [50, 90, 100]).round(3).tolist(),
        "clock": str(clock.estimate(1)),
    }
    print(json.dumps(report, indent=1))
    assert len(dt) >= 0.8 * len(serial_truth) - 5
    assert abs(np.median(dt)) < 60.0
    assert np.median(err) < 1.0 and np.percentile(err, 90) < 2.5
    assert np.median(nvf_err) < 0.1  # vehicle-time pairing: interpolation only
