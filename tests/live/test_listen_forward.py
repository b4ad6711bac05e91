"""`listen --forward`: a ground station behind the listener, watching or (opt-in) commanding.

A plain pymavlink "QGroundControl" sits on the forward port; firmware-sim is the vehicle on
the other side of `dronesense listen`. Without `--forward-control` what the station sends is
counted and dropped; with it, the station downloads the mission, arms and starts the flight
through the listener, and the tlog holds both directions while replay still equals live.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil

from dronesense.flight.pipeline import replay
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.forward import Forwarder
from dronesense.sources.framing import TlogReader
from tests.support.link import start_listener, stop
from tests.support.paths import free_port
from tests.support.sim import download

ROOT = Path(__file__).resolve().parents[2]
SIM = Path(sys.executable).with_name("firmware-sim")
M = mavutil.mavlink
GCS_SYSID = 255


def _sim_ok() -> bool:
    try:
        return subprocess.run([str(SIM), "--help"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_sim = pytest.mark.skipif(not _sim_ok(), reason="firmware-sim does not run")


def start_sim(port: int, tmp: Path, mission: str, *extra: str) -> subprocess.Popen:
    cmd = [str(SIM), "--mission", str(ROOT / "missions" / f"{mission}.plan"),
           "--connect", f"udpout:127.0.0.1:{port}", "--seed", "1", "--quiet",
           "--truth", str(tmp / "truth.csv"), "--tlog", str(tmp / "sim.tlog"), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def qgc(port: int):
    """A ground station listening on the forward port, as QGroundControl does on 14550."""
    return mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", source_system=GCS_SYSID,
                                      source_component=M.MAV_COMP_ID_MISSIONPLANNER)


def gcs_heartbeat(conn) -> None:
    conn.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)


def command(conn, cmd: int, *params: float) -> int:
    """COMMAND_LONG to the vehicle; the COMMAND_ACK result."""
    p = [*params, 0, 0, 0, 0, 0, 0, 0][:7]
    for _ in range(5):
        conn.mav.command_long_send(1, 1, cmd, 0, *p)
        ack = conn.recv_match(type="COMMAND_ACK", blocking=True, timeout=1)
        if ack is not None and ack.command == cmd:
            return ack.result
    raise AssertionError(f"no COMMAND_ACK for {cmd}")


def split_tlog(path: Path) -> tuple[list, list]:
    """(vehicle packets, ground-station packets) of a tlog."""
    vehicle, gcs = [], []
    for p in TlogReader(path):
        (gcs if p.msg.get_srcSystem() == GCS_SYSID else vehicle).append(p)
    return vehicle, gcs


@pytest.mark.slow
@needs_sim
def test_monitor_only_drops_what_the_gcs_sends(tmp_path):
    port, fport = free_port(), free_port()
    out = tmp_path / "s"
    station = qgc(fport)
    proc = start_listener(out, port, "--forward", f"udpout:127.0.0.1:{fport}")
    sim = start_sim(port, tmp_path, "pm-profile", "--wait-for-start", "--speedup", "10",
                    "--max-time", "60")
    try:
        assert station.wait_heartbeat(timeout=10) is not None  # the vehicle's stream arrives
        gcs_heartbeat(station)
        for _ in range(3):  # a mission download request, and garbage, from the station side
            station.mav.mission_request_list_send(1, 1)
            station.write(b"\xfd\x09 not mavlink at all")
        seen: set[str] = set()
        positions_after = 0
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            m = station.recv_match(blocking=True, timeout=0.2)
            if m is not None:
                seen.add(m.get_type())
                positions_after += m.get_type() == "GLOBAL_POSITION_INT"
        assert "MISSION_COUNT" not in seen  # the request never reached the vehicle
        assert positions_after > 0  # ... and the vehicle's stream went on
    finally:
        code, stdout, err = stop(proc)
        sim.kill()
        sim.communicate()
        station.close()
    assert code == 0, err
    assert "not relayed (monitor only)" in stdout
    fwd = json.loads((out / "session.json").read_text())["forward"]
    up = fwd["uplink"]
    assert fwd["control"] is False and up["mode"] == "monitor"
    assert up["packets"] == up["not_relayed"] == 4 and up["relayed"] == 0
    assert up["messages"] == {"HEARTBEAT": 1, "MISSION_REQUEST_LIST": 3}
    assert up["bad_bytes"] > 0
    assert "GCS sent 4 packets, not relayed (monitor only)" in up["note"]
    vehicle, gcs = split_tlog(out / "flight.tlog")
    assert not gcs and vehicle  # nothing the station sent is part of the link's record


@pytest.mark.slow
@needs_sim
def test_control_path_downloads_arms_starts_and_records_both_ways(tmp_path):
    port, fport = free_port(), free_port()
    out = tmp_path / "s"
    station = qgc(fport)
    proc = start_listener(out, port, "--forward", f"udpout:127.0.0.1:{fport}",
                          "--forward-control", "--until-landed")
    sim = start_sim(port, tmp_path, "pm-profile", "--wait-for-start", "--speedup", "50",
                    "--max-time", "600")
    try:
        assert station.wait_heartbeat(timeout=10) is not None
        gcs_heartbeat(station)
        # the mission loaded in the vehicle, downloaded through the listener
        got = download(station)
        plan = json.loads((ROOT / "missions" / "pm-profile.plan").read_text())["mission"]
        assert len(got) == len(plan["items"]) + 1  # seq 0 is home
        for m, item in zip(got[1:], plan["items"], strict=True):
            p = [0.0 if v is None else v for v in item["params"]]
            assert m.command == item["command"]
            assert abs(m.x / 1e7 - p[4]) < 1e-7 and abs(m.y / 1e7 - p[5]) < 1e-7
            assert math.isclose(m.z, p[6], abs_tol=1e-4)
        # arm and start, as QGroundControl's "Start Mission" does
        assert command(station, M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
        assert command(station, M.MAV_CMD_MISSION_START, 0, 0) == M.MAV_RESULT_ACCEPTED
        armed = station.recv_match(type="HEARTBEAT", blocking=True, timeout=5,
                                   condition="HEARTBEAT.base_mode & 128")
        assert armed is not None
        _, sim_err = sim.communicate(timeout=60)  # flies, lands, exits
        assert sim.returncode == 0, sim_err
        stdout, err = proc.communicate(timeout=30)  # --until-landed stops it
        code = proc.returncode
    finally:
        for p in (proc, sim):
            if p.poll() is None:
                p.kill()
                p.communicate()
        station.close()
    assert code == 0, err
    assert "stopped: landed" in stdout
    # every reading the vehicle sent was recorded
    rows = read_journal(out)
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert {(r.sysid, int(r.time_boot_ms), r.name) for r in rows} == set(
        zip(truth.sysid, truth.time_boot_ms, truth.name, strict=True))
    assert len(rows) == len(truth)
    # the tlog holds both directions: the vehicle's packets exactly, and the station's
    vehicle, gcs = split_tlog(out / "flight.tlog")
    assert [p.raw for p in vehicle] == [p.raw for p in TlogReader(tmp_path / "sim.tlog")]
    types = {p.msg.get_type() for p in gcs}
    assert {"HEARTBEAT", "MISSION_REQUEST_LIST", "MISSION_REQUEST_INT",
            "COMMAND_LONG"} <= types
    summary = json.loads((out / "session.json").read_text())
    up = summary["forward"]["uplink"]
    assert up["mode"] == "control" and up["relayed"] == len(gcs) == up["packets"]
    assert up["not_relayed"] == up["undeliverable"] == 0
    assert summary["tlog_packets"] == len(vehicle) + len(gcs)
    assert summary["packets"] == len(vehicle)
    # the station's own messages change nothing: replay equals live
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]


def test_forwarder_survives_a_tcp_station_that_comes_and_goes_and_sends_garbage():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fwd = Forwarder(f"tcpin:127.0.0.1:{port}")
    assert not fwd.connected and not fwd.send(b"\xfe\x00") and fwd.dropped == 1
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    deadline = time.monotonic() + 5
    while not fwd.connected and time.monotonic() < deadline:
        fwd.poll()
    second = socket.create_connection(("127.0.0.1", port), timeout=2)  # one at a time
    assert fwd.send(b"abc")
    assert client.recv(10) == b"abc"
    client.sendall(b"garbage")
    got = b""
    while not got and time.monotonic() < deadline:
        got = b"".join(c.data for c in fwd.poll())
    assert got == b"garbage" and fwd.refused == 1
    client.close()
    while fwd.connected and time.monotonic() < deadline:
        fwd.poll()
    assert not fwd.connected and not fwd.send(b"x")  # gone: dropped, not waited for
    second.close()
    fwd.close()
    # nothing listens on a tcp: target: sending drops (connecting never waits)
    fwd = Forwarder(f"tcp:127.0.0.1:{port}")
    for _ in range(100):
        fwd.send(b"\xfe\x00")
        fwd.poll()
    assert fwd.sent == 0 and fwd.dropped == 100
    fwd.close()


def _packets(sysid: int, compid: int, *msgs) -> list[bytes]:
    mav = M.MAVLink(None, srcSystem=sysid, srcComponent=compid)
    return [bytes(m.pack(mav)) for m in msgs]


@pytest.mark.parametrize("control", [False, True], ids=["monitor", "control"])
def test_uplink_framing_relay_and_record(tmp_path, control):
    """The relayed uplink is routed by the vehicle link itself: a real loopback link whose
    system 1 is bound to the vehicle's address (``Link.identities``) sends it there."""
    from dronesense.live.recorder import Recorder
    from dronesense.live.view import render, snapshot, status_line
    from dronesense.sources.link import Chunk, Link

    link = Link("udpin:127.0.0.1:0")
    vehicle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    vehicle.bind(("127.0.0.1", 0))
    vehicle.settimeout(5.0)
    fwd = Forwarder(f"udpout:127.0.0.1:{free_port()}")
    rec = Recorder(tmp_path / "s", forward=fwd, control=link if control else None)
    down = _packets(1, 1, M.MAVLink_heartbeat_message(2, 3, 0, 0, 0, 3),
                    M.MAVLink_named_value_float_message(1000, b"CH4", 1.9))
    vehicle.sendto(b"".join(down), link.address)
    chunks: list = []
    deadline = time.monotonic() + 10
    while not chunks and time.monotonic() < deadline:
        chunks = link.recv(0.2)
    assert [c.data for c in chunks] == [b"".join(down)]
    assert link.identities == {1: vehicle.getsockname()}
    rec.feed(chunks[0])
    hb, req, cmd = _packets(GCS_SYSID, 190,
                            M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, 8, 0, 0, 0, 3),
                            M.MAVLink_mission_request_list_message(1, 1),
                            M.MAVLink_command_long_message(1, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0))
    corrupt = bytearray(cmd)
    corrupt[-1] ^= 0xFF
    # a TCP-like stream: a packet cut across reads, garbage and a bad CRC in between
    stream = b"junk" + hb + req[:5]
    rest = req[5:] + bytes(corrupt) + cmd + b"\xfd\x01"
    t = 1_714_557_601_000_000
    rec.feed_uplink(Chunk(stream, t, ("gcs", 1), False))
    rec.feed_uplink(Chunk(rest, t + 1, ("gcs", 1), False))
    snap = snapshot(rec)
    summary = rec.close()
    up = summary["forward"]["uplink"]
    assert up["packets"] == 3 and up["crc_errors"] >= 1
    assert up["bad_bytes"] == 4 + len(corrupt) + 2  # junk, the corrupt frame, the cut tail
    assert up["messages"] == {"COMMAND_LONG": 1, "HEARTBEAT": 1, "MISSION_REQUEST_LIST": 1}
    raws = [p.raw for p in TlogReader(tmp_path / "s" / "flight.tlog")]
    if control:
        # byte for byte, nothing else, at vehicle 1's bound address
        assert [vehicle.recvfrom(4096)[0] for _ in range(3)] == [hb, req, cmd]
        assert up["relayed"] == 3 and up["not_relayed"] == 0
        assert raws == [*down, hb, req, cmd]
        assert "CONTROL" in status_line(snap)
    else:
        vehicle.setblocking(False)
        with pytest.raises(BlockingIOError):
            vehicle.recvfrom(4096)
        assert up["not_relayed"] == 3
        assert raws == down
        assert "GCS sent 3 packets, not relayed (monitor only)" in status_line(snap)
    assert summary["packets"] == 2 and summary["samples"]["total"] == 1
    render(snap)  # the rich panel builds with the forward line
    assert [format_row(r) for r in replay(tmp_path / "s")] == [
        format_row(r) for r in read_journal(tmp_path / "s")]
    fwd.close()
    link.close()
    vehicle.close()


def test_uplink_to_a_vehicle_not_heard_yet_is_undeliverable(tmp_path):
    from dronesense.live.recorder import Recorder
    from dronesense.sources.link import Chunk, Link

    link = Link("udpin:127.0.0.1:0")  # no vehicle has spoken: nowhere to send
    fwd = Forwarder(f"udpout:127.0.0.1:{free_port()}")
    rec = Recorder(tmp_path / "s", forward=fwd, control=link)
    (req,) = _packets(GCS_SYSID, 190, M.MAVLink_mission_request_list_message(1, 1))
    rec.feed_uplink(Chunk(req, 1_714_557_601_000_000, ("gcs", 1), True))
    up = rec.close()["forward"]["uplink"]
    assert up["undeliverable"] == 1 and up["relayed"] == 0
    assert list(TlogReader(tmp_path / "s" / "flight.tlog")) == []
    fwd.close()
    link.close()


def test_forward_control_needs_forward(tmp_path):
    bin_ = SIM.with_name("dronesense")
    r = subprocess.run([str(bin_), "listen", "--out", str(tmp_path / "s"), "--forward-control",
                        "--quiet", "--duration", "0.1"], capture_output=True, text=True)
    assert r.returncode == 2 and "--forward-control needs --forward" in r.stderr
