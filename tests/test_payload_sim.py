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
import math
import time

import numpy as np
import pytest
from conftest import MISSIONS

from dronesense.events import Fix, TimeSync
from dronesense.link import Link
from dronesense.messages import MessageAdapter
from dronesense.pairing import Pairer
from dronesense.payload.serial_source import PayloadReadings, ReceiveClock, SerialPayload
from dronesense.sources import Framer

HOME = (45.4363, 9.2125, 108.0)


def _item(cmd, lat, lon, alt, params=(0, 0, 0, 0)):
    return {"autoContinue": True, "command": cmd, "frame": 3, "type": "SimpleItem",
            "params": [*params, lat, lon, alt], "Altitude": alt, "AltitudeMode": 1}


def write_mission(tmp_path):
    """Take off to 20 m, fly 250 m east and back at 12 m/s, land: ~60 s simulated."""
    lat, lon, _ = HOME
    dlon = 250.0 / (111_320.0 * math.cos(math.radians(lat)))
    items = [_item(22, lat, lon, 20), _item(16, lat, lon + dlon, 20),
             _item(16, lat, lon, 20), _item(21, lat, lon, 0)]
    for i, it in enumerate(items, 1):
        it["doJumpId"] = i
    plan = {"fileType": "Plan", "version": 1, "groundStation": "test",
            "geoFence": {"circles": [], "polygons": [], "version": 2},
            "rallyPoints": {"points": [], "version": 2},
            "mission": {"cruiseSpeed": 12, "hoverSpeed": 12, "firmwareType": 3,
                        "vehicleType": 2, "version": 2, "globalPlanAltitudeMode": 1,
                        "plannedHomePosition": list(HOME), "items": items}}
    path = tmp_path / "line.plan"
    path.write_text(json.dumps(plan))
    toml = (MISSIONS / "pm-profile.toml").read_text()
    toml = toml.split("[[sensor]]")[0] + '[[sensor]]\nname = "PMV"\nquantity = "pm2p5"\n' \
        'rate_hz = 1.0\nnoise = 0.7\n'
    (tmp_path / "line.toml").write_text(toml)
    return path


def match_truth(received, truth) -> dict[float, int]:
    """Which truth frame each received serial frame is: ``{time_boot_ms: truth index}``.

    ``received`` are the (time_boot_ms, value) of one channel's readings in the order the
    frames were read, ``truth`` that channel's truth rows in the order they were written.
    A pty loses nothing once it is open, so the received frames are a contiguous run of the
    written ones: the run starts at the offset where the assigned times fit the true times
    best, and every value must then be the one written (checked here). Matching each reading
    to the nearest true time instead mistakes a frame for its neighbour whenever scheduling
    delays a read by half a frame period (500 ms of vehicle time is 62 ms of wall time at
    speedup 8).
    """
    t_rx = np.array([t for t, _ in received])
    t_true = np.array([float(r["time_boot_ms"]) for r in truth])
    n = len(t_rx)
    assert 0 < n <= len(t_true), (n, len(t_true))
    first = min(range(len(t_true) - n + 1),
                key=lambda o: np.median(np.abs(t_rx - t_true[o:o + n])))
    for (t, value), row in zip(received, truth[first:first + n], strict=True):
        assert float(row["reported_value"]) == value, (t, value, row)
    return {t: first + i for i, (t, _) in enumerate(received)}


def metres(lat1, lon1, alt1, lat2, lon2, alt2):
    dn = (lat1 - lat2) * 111_320.0
    de = (lon1 - lon2) * 111_320.0 * math.cos(math.radians(lat2))
    return math.sqrt(dn * dn + de * de + (alt1 - alt2) ** 2)


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
