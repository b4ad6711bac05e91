"""The simulator over real links: UDP, TCP and a pty, with pymavlink on the other end."""

from __future__ import annotations

import collections
import csv
import itertools
import os
import select
import time

import pytest
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

#: nominal rates (Hz) of the default streams
RATES = {"HEARTBEAT": 1, "SYS_STATUS": 1, "SYSTEM_TIME": 1, "GLOBAL_POSITION_INT": 10,
         "GPS_RAW_INT": 5, "ATTITUDE": 10, "VFR_HUD": 4, "WIND": 1}


def collect(recv_msg, proc, seconds: float = 30.0) -> list:
    """Messages from ``recv_msg()`` until the simulator exits (plus a short drain)."""
    out = []
    end = time.time() + seconds
    quiet_since = None
    while time.time() < end:
        m = recv_msg()
        if m is None:
            if proc.poll() is not None:
                quiet_since = quiet_since or time.time()
                if time.time() - quiet_since > 0.3:
                    break
            time.sleep(0.002)
            continue
        quiet_since = None
        if m.get_type() != "BAD_DATA":
            out.append(m)
    return out


def check_rates(msgs: list, truth_path=None) -> None:
    counts = collections.Counter(m.get_type() for m in msgs)
    boots = [m.time_boot_ms for m in msgs if m.get_type() == "GLOBAL_POSITION_INT"]
    span = (boots[-1] - boots[0]) / 1000.0
    assert span > 20
    for name, rate in RATES.items():
        got = counts[name] / span
        assert abs(got - rate) <= 0.15 * rate + 0.1, (name, got, rate)
    assert counts["NAMED_VALUE_FLOAT"] > 0
    if truth_path is not None:
        truth = {(r["name"], int(r["time_boot_ms"])): float(r["reported_value"])
                 for r in csv.DictReader(open(truth_path))}
        nvf = [m for m in msgs if m.get_type() == "NAMED_VALUE_FLOAT"]
        for m in nvf:
            assert truth[(m.name, m.time_boot_ms)] == m.value


def test_udp_rates_and_readings(start_sim, udp_port, pm_profile, tmp_path):
    rx = mavutil.mavlink_connection(f"udpin:127.0.0.1:{udp_port}")
    truth = tmp_path / "truth.csv"
    proc = start_sim("--mission", pm_profile, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--speedup", "40", "--seed", "4", "--max-time", "60", "--truth", truth)
    msgs = collect(rx.recv_msg, proc)
    assert proc.wait(10) == 0
    check_rates(msgs, truth)
    hb = [m for m in msgs if m.get_type() == "HEARTBEAT"]
    assert {m.type for m in hb} == {2} and {m.autopilot for m in hb} == {3}
    assert any(m.base_mode & 128 for m in hb)  # armed while flying


def test_tcp_rates(start_sim, tcp_port, pm_profile):
    proc = start_sim("--mission", pm_profile, "--connect", f"tcpin:127.0.0.1:{tcp_port}",
                     "--speedup", "30", "--max-time", "60")
    rx = None
    for _ in range(100):
        try:
            rx = mavutil.mavlink_connection(f"tcp:127.0.0.1:{tcp_port}", retries=0)
            break
        except OSError:
            time.sleep(0.05)
    assert rx is not None
    msgs = collect(rx.recv_msg, proc)
    assert proc.wait(10) == 0
    check_rates(msgs)


def test_pty_serial_rates(start_sim, pty_pair, pm_profile):
    master, slave = pty_pair
    proc = start_sim("--mission", pm_profile, "--connect", slave, "--baud", "115200",
                     "--speedup", "40", "--max-time", "60")
    parser = mavlink2.MAVLink(None)
    parser.robust_parsing = True
    pending: collections.deque = collections.deque()

    def recv_msg():
        if pending:
            return pending.popleft()
        r, _, _ = select.select([master], [], [], 0.05)
        if not r:
            return None
        try:
            data = os.read(master, 65536)
        except OSError:
            return None
        pending.extend(parser.parse_buffer(data) or [])
        return pending.popleft() if pending else None

    msgs = collect(recv_msg, proc)
    assert proc.wait(10) == 0
    check_rates(msgs)


def test_gcs_requests_are_answered(start_sim, udp_port, pm_profile):
    """Parameters, stream rates and commands are answered; unknown messages are ignored."""
    rx = mavutil.mavlink_connection(f"udpin:127.0.0.1:{udp_port}")
    proc = start_sim("--mission", pm_profile, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--speedup", "5", "--wait-for-start", "--max-time", "60")
    assert rx.wait_heartbeat(timeout=10) is not None
    rx.mav.file_transfer_protocol_send(0, 1, 1, b"\x00" * 251)  # tolerated
    rx.mav.param_request_list_send(1, 1)
    params = {}
    end = time.time() + 5
    while time.time() < end:
        m = rx.recv_match(type="PARAM_VALUE", blocking=True, timeout=1)
        if m is None:
            break
        params[m.param_id] = m.param_value
        if len(params) == m.param_count:
            break
    assert params["SYSID_THISMAV"] == 1 and "WPNAV_SPEED" in params
    rx.mav.param_request_read_send(1, 1, b"RTL_ALT", -1)
    m = rx.recv_match(type="PARAM_VALUE", blocking=True, timeout=3)
    assert m is not None and m.param_id == "RTL_ALT"
    rx.mav.command_long_send(1, 1, mavlink2.MAV_CMD_SET_MESSAGE_INTERVAL, 0, 30, 50_000,
                             0, 0, 0, 0, 0)
    ack = rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=3)
    assert ack.command == mavlink2.MAV_CMD_SET_MESSAGE_INTERVAL and ack.result == 0
    rx.mav.command_long_send(1, 1, 31999, 0, 0, 0, 0, 0, 0, 0, 0)
    ack = rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=3)
    assert ack.command == 31999 and ack.result == mavlink2.MAV_RESULT_UNSUPPORTED
    rx.mav.request_data_stream_send(1, 1, 6, 2, 1)  # POSITION at 2 Hz
    # the request has no answer: a command sent after it is answered after it took effect,
    # and recv_match drops the positions sent at the old rate before that answer
    rx.mav.command_long_send(1, 1, 31999, 0, 0, 0, 0, 0, 0, 0, 0)
    ack = rx.recv_match(type="COMMAND_ACK", blocking=True, timeout=10)
    assert ack is not None and ack.command == 31999
    t = [m.time_boot_ms for m in _take(rx, "GLOBAL_POSITION_INT", 6)]
    assert 400 <= min(b - a for a, b in itertools.pairwise(t)) <= 600
    assert proc.poll() is None  # still alive after all that
    proc.terminate()


def _take(rx, kind: str, n: int) -> list:
    out = []
    end = time.time() + 10
    while len(out) < n and time.time() < end:
        m = rx.recv_match(type=kind, blocking=True, timeout=1)
        if m is not None:
            out.append(m)
    return out


@pytest.mark.parametrize("speedup", [200])
def test_ten_minute_mission_flies_in_seconds(start_sim, udp_port, plume_box, tmp_path,
                                             speedup):
    """The whole 10-minute mission flies, lands and exits; how fast is measured, not asserted.

    ``proc.wait(30)`` only guards against a hang: 30 s is 20x the nominal 675 s / speedup.
    """
    track = tmp_path / "track.csv"
    t0 = time.time()
    proc = start_sim("--mission", plume_box, "--connect", f"udpout:127.0.0.1:{udp_port}",
                     "--speedup", str(speedup), "--track", track)
    assert proc.wait(30) == 0
    rows = list(csv.DictReader(open(track)))
    sim_s = (int(rows[-1]["time_boot_ms"]) - int(rows[0]["time_boot_ms"])) / 1000
    assert sim_s >= 600
    assert float(rows[-1]["height"]) < 0.5  # landed at the end
    print(f"{sim_s:.0f} s of flight in {time.time() - t0:.1f} s of wall time")
