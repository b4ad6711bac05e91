"""``until_landed`` end to end: firmware-sim flies a mission and lands, every disarmed
HEARTBEAT is lost on the way (a relay on loopback drops them), and the listener still stops
"landed": EXTENDED_SYS_STATE and the position (low and still) say so."""

from __future__ import annotations

import os
import socket
import subprocess
import threading

import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.live.listener import Listener
from dronesense.samples.journal import read_journal
from tests.support.paths import MISSIONS, free_port, sim_cmd

pytestmark = pytest.mark.slow


class DisarmedHeartbeatLoss:
    """A UDP relay that drops every HEARTBEAT without the armed flag (after the first armed
    one) and passes everything else on, byte for byte."""

    def __init__(self, to_port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.to = ("127.0.0.1", to_port)
        self.dropped = self.ext_states = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        parser = M.MAVLink(None)
        parser.robust_parsing = True
        armed_seen = False
        while self.running:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            msgs = parser.parse_buffer(data) or []
            drop = False
            for msg in msgs:
                if msg.get_type() == "HEARTBEAT" and msg.type != M.MAV_TYPE_GCS:
                    armed = bool(msg.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED)
                    armed_seen |= armed
                    drop = armed_seen and not armed
                elif msg.get_type() == "EXTENDED_SYS_STATE":
                    self.ext_states += 1
            if drop:
                self.dropped += 1
                continue
            self.sock.sendto(data, self.to)

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.sock.close()


def test_until_landed_stops_although_every_disarmed_heartbeat_is_lost(tmp_path):
    port = free_port()
    live = Listener(f"udpin:127.0.0.1:{port}", out=tmp_path / "s")
    relay = DisarmedHeartbeatLoss(port)
    sim = subprocess.Popen(
        sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect",
                f"udpout:127.0.0.1:{relay.port}", "--speedup", "100", "--seed", "1",
                "--max-time", "900", "--quiet", "--stream", "EXTENDED_SYS_STATE=500"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with live:
            summary = live.run(duration=150, until_landed=True)
    finally:
        sim.kill()
        sim.communicate()
        relay.close()
    assert relay.dropped > 0 and relay.ext_states > 0
    assert summary["stop_reason"] == "landed"
    vehicle = summary["vehicles"]["1"]
    assert vehicle["has_flown"] and vehicle["armed"]  # the listener never saw the disarm
    assert summary["samples"]["total"] == len(read_journal(tmp_path / "s")) > 0
