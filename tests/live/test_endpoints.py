"""Endpoints no one can hijack: each attack of the security review, replayed with a real second
socket on loopback as the attacker and firmware-sim as the vehicle, now fails.

- port takeover: a second socket (or a second listener) cannot bind the listener's port;
- ``--forward-control``: only the ground station named (or the first one, locked) is relayed;
- spoofing: a HEARTBEAT with the vehicle's system id from another address does not redirect
  the ground station's commands;
- ``udpout`` with ``request_streams`` opens the route and records.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil

from dronesense.errors import InputError
from dronesense.live.listener import Listener
from tests.support.cli import exit_code as main
from tests.support.paths import free_port
from tests.support.sim import start_profile_sim

M = mavutil.mavlink
pytestmark = pytest.mark.slow


def start_sim(tmp: Path, conn: str, *extra: str) -> subprocess.Popen:
    """firmware-sim flying pm-profile on ``conn`` (waits for MISSION_START with
    ``--wait-for-start``)."""
    return start_profile_sim(tmp, conn, *extra, seed=1)


def end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    proc.communicate(timeout=20)


@contextmanager
def running(listener: Listener):
    """Run the listener's loop in a thread; stop and close it at the end."""
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(listener.run()), daemon=True)
    thread.start()
    try:
        yield done
    finally:
        listener.stop()
        thread.join(20)


def ack(conn, cmd: int, timeout: float = 4.0, *params: float) -> int | None:
    """Send COMMAND_LONG to system 1 until its COMMAND_ACK comes; None if none comes."""
    p = [*params, 0, 0, 0, 0, 0, 0, 0][:7]
    end_t = time.monotonic() + timeout
    while time.monotonic() < end_t:
        conn.mav.command_long_send(1, 1, cmd, 0, *p)
        m = conn.recv_match(type="COMMAND_ACK", blocking=True, timeout=0.5)
        if m is not None and m.command == cmd:
            return m.result
    return None


def armed_seen(conn, seconds: float) -> tuple[int, int]:
    """(heartbeats of system 1, armed ones) heard on ``conn`` within ``seconds``."""
    n = armed = 0
    end_t = time.monotonic() + seconds
    while time.monotonic() < end_t:
        m = conn.recv_match(type="HEARTBEAT", blocking=True, timeout=0.3)
        if m is not None and m.get_srcSystem() == 1:
            n += 1
            armed += bool(m.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED)
    return n, armed


def silent(sock: socket.socket, seconds: float) -> bool:
    """Whether nothing arrives on ``sock`` within ``seconds``."""
    sock.settimeout(seconds)
    try:
        sock.recvfrom(65535)
    except TimeoutError:
        return True
    return False


# -- port takeover -----------------------------------------------------------------------------
def test_no_second_socket_or_listener_can_bind_the_port(tmp_path, capsys):
    with Listener("udpin:127.0.0.1:0", out=tmp_path / "a", signing_state=None) as live:
        port = live.link.address[1]
        for host in ("127.0.0.1", "0.0.0.0"):  # the attack: SO_REUSEADDR / SO_REUSEPORT
            thief = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            with thief, pytest.raises(OSError) as err:
                thief.bind((host, port))
            assert err.value.errno == errno.EADDRINUSE
        with pytest.raises(InputError, match=f"port in use.*127.0.0.1:{port}"):
            Listener(f"udpin:127.0.0.1:{port}", out=tmp_path / "b", signing_state=None)
        code = main(["listen", f"udpin:127.0.0.1:{port}", "--out", str(tmp_path / "c"),
                     "--quiet", "--duration", "0.2"])
        err = capsys.readouterr().err
        assert code != 0 and "port in use" in err and err.count("\n") == 1
        # and the first listener still receives everything
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as vehicle:
            raw = bytes(M.MAVLink_heartbeat_message(2, 3, 0, 0, 0, 3).pack(
                M.MAVLink(None, srcSystem=1, srcComponent=1)))
            for _ in range(20):
                vehicle.sendto(raw, ("127.0.0.1", port))
        time.sleep(0.2)
        for _ in range(5):
            live.poll(0.05)
        assert live.summary["packets"] == 20


def test_forward_port_is_exclusive(tmp_path):
    fport = free_port()
    with Listener("udpin:127.0.0.1:0", out=tmp_path / "a", forward=f"udpin:127.0.0.1:{fport}",
                  signing_state=None):
        with pytest.raises(InputError, match="port in use"):
            Listener("udpin:127.0.0.1:0", out=tmp_path / "b",
                     forward=f"udpin:127.0.0.1:{fport}", signing_state=None)


# -- forward-control lock ----------------------------------------------------------------------
@pytest.mark.parametrize("named", [False, True])
def test_forward_control_obeys_only_the_ground_station(tmp_path, named):
    """A third party (system 200) sending MISSION_START to the forward port is not relayed:
    the vehicle stays disarmed, gets no command, and the attacker hears nothing back."""
    port, fport, gport = free_port(), free_port(), free_port()
    gcs = mavutil.mavlink_connection(f"udpout:127.0.0.1:{fport}", source_system=255,
                                     source_component=190)
    gcs.port.bind(("127.0.0.1", gport))
    attacker = mavutil.mavlink_connection(f"udpout:127.0.0.1:{fport}", source_system=200)
    live = Listener(f"udpin:127.0.0.1:{port}", out=tmp_path / "s",
                    forward=f"udpin:127.0.0.1:{fport}", forward_control=True,
                    gcs=f"127.0.0.1:{gport}" if named else None, signing_state=None)
    sim = start_sim(tmp_path, f"udpout:127.0.0.1:{port}", "--wait-for-start", "--speedup", "5",
                    "--max-time", "300")
    try:
        with running(live) as summary:
            if named:  # the attacker even speaks first: the named station is still the one
                for _ in range(3):
                    attacker.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
                time.sleep(0.3)
            gcs.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
            assert gcs.recv_match(type="HEARTBEAT", blocking=True, timeout=15) is not None
            # the attack
            assert ack(attacker, M.MAV_CMD_COMPONENT_ARM_DISARM, 3.0, 1) is None
            assert ack(attacker, M.MAV_CMD_MISSION_START, 2.0) is None
            assert silent(attacker.port, 0.5)
            n, armed = armed_seen(gcs, 1.5)
            assert n > 0 and armed == 0
            # the ground station itself is still relayed
            assert ack(gcs, M.MAV_CMD_COMPONENT_ARM_DISARM, 10.0, 1) == M.MAV_RESULT_ACCEPTED
        sec = summary["security"]
        assert sec["forward_foreign"] > 0 and sec["forward_gcs"] == f"127.0.0.1:{gport}"
        assert any("ignored packets from 127.0.0.1:" in w for w in sec["warnings"])
        up = summary["forward"]["uplink"]
        assert up["messages"].get("COMMAND_LONG", 0) >= 1  # the station's, not the attacker's
    finally:
        end(sim)
        gcs.close()
        attacker.close()


# -- spoofed vehicle identity ------------------------------------------------------------------
def test_spoofed_heartbeat_does_not_redirect_commands(tmp_path):
    port, gport = free_port(), free_port()
    station = mavutil.mavlink_connection(f"udpin:127.0.0.1:{gport}", source_system=255,
                                         source_component=190)
    live = Listener(f"udpin:127.0.0.1:{port}", out=tmp_path / "s",
                    forward=f"udpout:127.0.0.1:{gport}", forward_control=True, signing_state=None)
    sim = start_sim(tmp_path, f"udpout:127.0.0.1:{port}", "--wait-for-start", "--speedup", "5",
                    "--max-time", "300")
    spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spoofer.bind(("127.0.0.1", 0))
    try:
        with running(live) as summary:
            assert station.recv_match(type="HEARTBEAT", blocking=True, timeout=15) is not None
            station.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
            fake = bytes(M.MAVLink_heartbeat_message(2, 3, 0, 0, 0, 3).pack(
                M.MAVLink(None, srcSystem=1, srcComponent=1)))
            spoofer.sendto(fake, ("127.0.0.1", port))
            time.sleep(0.3)
            assert ack(station, M.MAV_CMD_COMPONENT_ARM_DISARM, 10.0, 1) == M.MAV_RESULT_ACCEPTED
            assert silent(spoofer, 0.5)  # nothing was routed to the spoofer
            assert live.link.spoofed[1] >= 1
        sec = summary["security"]
        assert sec["spoofed"] == {"1": live.link.spoofed[1]}
        assert any("system 1 spoke from 127.0.0.1:" in w for w in sec["warnings"])
    finally:
        end(sim)
        station.close()
        spoofer.close()


# -- udpout with --request-streams -------------------------------------------------------------
def test_udpout_with_request_streams_opens_the_route_and_records(tmp_path):
    port = free_port()
    sim = start_sim(tmp_path, f"udpin:127.0.0.1:{port}", "--speedup", "10", "--max-time", "300")
    try:
        time.sleep(1.0)  # the vehicle is up, waiting for someone to speak first
        live = Listener(f"udpout:127.0.0.1:{port}", out=tmp_path / "s", request_streams=True,
                        signing_state=None)
        paired = 0
        with live:
            for row in live.samples(timeout=60):
                paired += row.flag == 0
                if paired >= 5:
                    live.stop()
        assert live.requester.hellos >= 1
        assert live.summary["packets"] > 5
        assert paired >= 5  # readings paired with positions: the route is open
    finally:
        end(sim)


def test_gcs_needs_forward(tmp_path):
    with pytest.raises(ValueError, match="gcs"):
        Listener("udpin:127.0.0.1:0", out=tmp_path / "s", gcs="127.0.0.1:1")


def test_port_out_of_range_is_one_line(tmp_path, capsys):
    assert main(["listen", "udpin:127.0.0.1:99999", "--out", str(tmp_path / "s"),
                 "--quiet", "--duration", "0.1"]) != 0
    err = capsys.readouterr().err
    assert "99999" in err and err.count("\n") == 1
    assert not (tmp_path / "s" / "session.json").exists() or json.loads(
        (tmp_path / "s" / "session.json").read_text())
