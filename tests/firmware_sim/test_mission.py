"""The mission protocol both ways, written with plain pymavlink as a ground station does."""

from __future__ import annotations

import csv
import json
import math
import time

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from tests.support.sim import download, upload


def test_download_returns_loaded_mission(start_sim, udp_port, plume_box):
    rx = mavutil.mavlink_connection(f"udpin:127.0.0.1:{udp_port}")
    proc = start_sim("--mission", plume_box, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--wait-for-start", "--speedup", "5", "--max-time", "120")
    assert rx.wait_heartbeat(timeout=10) is not None
    plan = json.loads(plume_box.read_text())["mission"]
    for use_int in (True, False):
        got = download(rx, use_int)
        assert len(got) == len(plan["items"]) + 1
        home = plan["plannedHomePosition"]
        scale = 1e7 if use_int else 1.0
        tol = 1e-7 if use_int else 5e-6  # MISSION_ITEM carries float32 degrees
        assert abs(got[0].x / scale - home[0]) < tol and abs(got[0].y / scale - home[1]) < tol
        assert math.isclose(got[0].z, home[2], abs_tol=1e-3)
        for m, item in zip(got[1:], plan["items"], strict=True):
            p = [0.0 if v is None else v for v in item["params"]]
            assert m.command == item["command"]
            assert abs(m.x / scale - p[4]) < tol and abs(m.y / scale - p[5]) < tol
            assert math.isclose(m.z, p[6], abs_tol=1e-4)
            assert math.isclose(m.param2, p[1], abs_tol=1e-6)
    assert proc.poll() is None
    proc.terminate()


def test_uploaded_mission_is_stored_and_flown(start_sim, udp_port, pm_profile, tmp_path):
    rx = mavutil.mavlink_connection(f"udpin:127.0.0.1:{udp_port}")
    track = tmp_path / "track.csv"
    proc = start_sim("--mission", pm_profile, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--wait-for-start", "--speedup", "20", "--track", track)
    hb = rx.wait_heartbeat(timeout=10)
    assert hb is not None and not hb.base_mode & 128
    home = download(rx)[0]
    lat0, lon0 = home.x / 1e7, home.y / 1e7
    wps = [(lat0 + 0.0006, lon0 + 0.0004, 25.0), (lat0 + 0.0002, lon0 - 0.0008, 30.0)]
    items = [(16, 0, (0, 0, 0, 0, lat0, lon0, home.z)),
             (22, 3, (0, 0, 0, 0, 0, 0, 15.0))]
    items += [(16, 3, (0, 2.0, 0, 0, la, lo, alt)) for la, lo, alt in wps]
    items += [(20, 2, (0, 0, 0, 0, 0, 0, 0))]
    assert upload(rx, items) == mavlink2.MAV_MISSION_ACCEPTED
    got = download(rx)
    assert len(got) == len(items)
    assert [m.command for m in got[1:]] == [c for c, _, _ in items[1:]]
    # still on the ground: nothing flies before the start command
    time.sleep(0.3)
    rx.mav.command_long_send(1, 1, mavlink2.MAV_CMD_MISSION_START, 0, 0, 0, 0, 0, 0, 0, 0)
    ack = rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=5)
    assert ack.result == mavlink2.MAV_RESULT_ACCEPTED
    end = time.time() + 30
    while proc.poll() is None and time.time() < end:
        rx.recv_msg()
        time.sleep(0.005)
    assert proc.wait(5) == 0
    rows = list(csv.DictReader(open(track)))
    k = 111319.49 * math.cos(math.radians(lat0))
    heights = [float(r["height"]) for r in rows]
    assert heights[0] == 0.0 and max(heights) > 29
    for la, lo, alt in wps:
        d = min(math.sqrt(((float(r["lat"]) - la) * 111319.49) ** 2
                          + ((float(r["lon"]) - lo) * k) ** 2
                          + (float(r["height"]) - alt) ** 2) for r in rows)
        assert d <= 2.5, d


def test_arm_and_auto_mode_start_the_mission(start_sim, udp_port, pm_profile):
    rx = mavutil.mavlink_connection(f"udpin:127.0.0.1:{udp_port}")
    proc = start_sim("--mission", pm_profile, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--wait-for-start", "--speedup", "50")
    assert rx.wait_heartbeat(timeout=10) is not None
    rx.mav.command_long_send(1, 1, mavlink2.MAV_CMD_DO_SET_MODE, 0, 1, 3, 0, 0, 0, 0, 0)
    assert rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=5).result == 0
    rx.mav.command_long_send(1, 1, mavlink2.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1, 0, 0, 0, 0,
                             0, 0)
    assert rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=5).result == 0
    end = time.time() + 10
    high = 0.0
    while time.time() < end and high < 20:
        m = rx.recv_match(type="GLOBAL_POSITION_INT", blocking=True, timeout=1)
        if m is not None:
            high = max(high, m.relative_alt / 1000)
    assert high >= 20
    proc.terminate()
