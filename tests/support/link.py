"""Test support: a scripted vehicle that produces real MAVLink packets with known truth.

Imported by the listener, replay and pairing tests; the few tests here check the script
itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

BIN = Path(sys.executable).with_name("dronesense")
T0_UNIX_US = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z at boot time 0
LAT0, LON0 = 52.0, 5.0




def listen(conn: str, out: Path, *extra: str) -> subprocess.Popen:
    """Start ``dronesense listen CONN --out OUT``; returns once its session has begun."""
    proc = subprocess.Popen([str(BIN), "listen", conn, "--out", str(out), "--quiet", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (out / "session.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"listener did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc


def start_listener(out: Path, port: int, *extra: str) -> subprocess.Popen:
    """Start a listener on ``udpin:127.0.0.1:PORT``."""
    return listen(f"udpin:127.0.0.1:{port}", out, *extra)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> tuple[int, str, str]:
    """Stop a listener after the last datagrams are read; (returncode, stdout, stderr)."""
    time.sleep(0.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def truth_position(t_ms: float) -> tuple[float, float, float, float]:
    """Lat, lon, alt AMSL, height of the scripted vehicle at boot time ``t_ms``."""
    s = t_ms / 1000.0
    return LAT0 + 1e-5 * s, LON0 + 2e-5 * s, 10.0 + 0.5 * s, 0.5 * s


def truth_value(t_ms: float) -> float:
    """The CH4 value the scripted payload reports for a reading at ``t_ms``."""
    return round(1.9 + 0.001 * t_ms, 3)


@dataclass
class ScriptedVehicle:
    """Builds the packet stream of a short flight.

    Positions at 10 Hz, CH4 readings at ``reading_hz`` at times between fixes, SYSTEM_TIME
    and HEARTBEAT at 1 Hz. ``packets()`` returns ``(time_boot_ms, raw bytes)`` in send order.
    """

    sysid: int = 1
    duration_s: float = 5.0
    reading_hz: float = 7.0
    start_ms: float = 0.0
    mavlink1: bool = False
    readings: list = field(default_factory=list)  # (t_ms, name, value) actually sent

    def packets(self) -> list[tuple[float, bytes]]:
        mav = mavlink.MAVLink(None, srcSystem=self.sysid, srcComponent=1)
        out = []

        def emit(t, msg):
            out.append((t, bytes(msg.pack(mav, force_mavlink1=self.mavlink1))))
            mav.seq = (mav.seq + 1) % 256

        events = []
        step = 100.0
        n_fix = int(self.duration_s * 1000 / step) + 1
        for k in range(n_fix):
            t = self.start_ms + k * step
            events.append((t, 1, "fix"))
            if k % 10 == 0:
                events.append((t, 0, "hb"))
                events.append((t, 2, "time"))
        period = 1000.0 / self.reading_hz
        t = self.start_ms + 37.0
        while t < self.start_ms + self.duration_s * 1000:
            events.append((round(t), 3, "read"))
            t += period
        # a reading is sent when sampled; the fix after it comes later
        events.sort()
        armed = mavlink.MAV_MODE_FLAG_SAFETY_ARMED | mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        for t, _, kind in events:
            tb = int(t)
            if kind == "hb":
                emit(t, mavlink.MAVLink_heartbeat_message(
                    mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA,
                    armed, 4, mavlink.MAV_STATE_ACTIVE, 3))
            elif kind == "time":
                emit(t, mavlink.MAVLink_system_time_message(T0_UNIX_US + tb * 1000, tb))
            elif kind == "fix":
                lat, lon, alt, h = truth_position(tb)
                emit(t, mavlink.MAVLink_global_position_int_message(
                    tb, round(lat * 1e7), round(lon * 1e7), round(alt * 1000), round(h * 1000),
                    0, 0, 0, 0))
            else:
                value = truth_value(tb)
                self.readings.append((tb, "CH4", value))
                emit(t, mavlink.MAVLink_named_value_float_message(tb, b"CH4", value))
        return out


def send_udp(port: int, packets, *, per_datagram: int = 1, pause_every: int = 50,
             pause_s: float = 0.002, extra: list[bytes] | None = None) -> int:
    """Send raw packets to 127.0.0.1:port; returns the number of datagrams."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    try:
        raws = [raw for _, raw in packets]
        for k in range(0, len(raws), per_datagram):
            sock.sendto(b"".join(raws[k : k + per_datagram]), ("127.0.0.1", port))
            n += 1
            if extra and n % 20 == 0:
                sock.sendto(extra[(n // 20) % len(extra)], ("127.0.0.1", port))
            if n % pause_every == 0:
                time.sleep(pause_s)
    finally:
        sock.close()
    return n


def mav2(system: int, *, signed: bool = False) -> mavlink.MAVLink:
    """A MAVLink 2 packer for ``system`` (component 1); ``signed``: signing every packet
    with the all-zero key, link 0, timestamp 1."""
    mav = mavlink.MAVLink(None, srcSystem=system, srcComponent=1)
    mav.WIRE_PROTOCOL_VERSION = "2.0"
    if signed:
        mav.signing.secret_key = bytes(32)
        mav.signing.link_id = 0
        mav.signing.timestamp = 1
        mav.signing.sign_outgoing = True
    return mav


def env_mavlink2() -> dict:
    return {**os.environ, "MAVLINK20": "1"}
