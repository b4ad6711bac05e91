"""Helpers for simulated flights: a serial-payload mission, truth matching, mission download,
the pm-profile flight on a live connection, a plume-box log with GPS loss."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np

from tests.support.paths import MISSIONS, sim_cmd

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


def download(rx, use_int: bool = True) -> list:
    """Download the mission (seq 0 = home) with MISSION_REQUEST_LIST."""
    rx.mav.mission_request_list_send(1, 1)
    count = rx.recv_match(type="MISSION_COUNT", blocking=True, timeout=5)
    assert count is not None
    items = []
    for seq in range(count.count):
        for _ in range(5):
            if use_int:
                rx.mav.mission_request_int_send(1, 1, seq)
            else:
                rx.mav.mission_request_send(1, 1, seq)
            kind = "MISSION_ITEM_INT" if use_int else "MISSION_ITEM"
            m = rx.recv_match(type=kind, blocking=True, timeout=1)
            if m is not None and m.seq == seq:
                items.append(m)
                break
        else:
            raise AssertionError(f"item {seq} never came")
    rx.mav.mission_ack_send(1, 1, 0)
    return items


def upload(rx, items: list[tuple]) -> int:
    """Upload (command, frame, params7) items; seq 0 is home. Returns the MISSION_ACK type."""
    rx.mav.mission_count_send(1, 1, len(items))
    while True:
        m = rx.recv_match(type=["MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"],
                          blocking=True, timeout=5)
        assert m is not None
        if m.get_type() == "MISSION_ACK":
            return m.type
        cmd, frame, p = items[m.seq]
        rx.mav.mission_item_int_send(1, 1, m.seq, frame, cmd, 0, 1, p[0], p[1], p[2], p[3],
                                     round(p[4] * 1e7), round(p[5] * 1e7), p[6])


def start_profile_sim(tmp: Path, conn: str, *extra: str, seed: int = 1) -> subprocess.Popen:
    """firmware-sim flying ``missions/pm-profile.plan`` on ``conn``, truth and tlog in ``tmp``.

    ``extra`` are more simulator options (``--wait-for-start`` waits for MISSION_START,
    ``--key`` signs).
    """
    cmd = sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect", conn, "--seed",
                  str(seed), "--quiet", "--truth", tmp / "truth.csv", "--tlog", tmp / "sim.tlog",
                  *extra)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def plume_box_log(tlog: Path, *, seed: int, max_time: float, gps_loss: tuple[float, float]
                  ) -> Path:
    """``tlog``: firmware-sim flying ``missions/plume-box.plan`` as fast as it can for
    ``max_time`` s, without GPS from ``gps_loss[0]`` to ``gps_loss[1]`` s."""
    loss = f"gpsloss={gps_loss[0]:g}:{gps_loss[1]:g}"
    subprocess.run(sim_cmd("--mission", MISSIONS / "plume-box.plan", "--connect", "none",
                           "--speedup", "0", "--seed", str(seed), "--max-time", f"{max_time:g}",
                           "--fault", loss, "--tlog", tlog, "--quiet"), check=True)
    return tlog


def curtain_log(path: Path, *extra: str) -> Path:
    """``path``: the plume-curtain mission flown by firmware-sim as fast as it can, with
    ``extra`` options (seed, faults, ...)."""
    from tests.support.paths import ROOT

    subprocess.run(sim_cmd("--mission", MISSIONS / "plume-curtain.plan", "--speedup", "0",
                           "--connect", "none", "--quiet", "--tlog", path, *extra),
                   check=True, cwd=ROOT)
    return path


def merged_log(path: Path, *logs: Path) -> Path:
    """``path``: the records of several tlogs merged by receive time (vehicles sharing one
    link)."""
    from dronesense.sources.framing import TlogReader

    packets = sorted((p for log in logs for p in TlogReader(log)), key=lambda p: p.recv_us)
    path.write_bytes(b"".join(p.recv_us.to_bytes(8, "big") + bytes(p.raw) for p in packets))
    return path
