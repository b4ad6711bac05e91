"""``session.json`` ``"alerts"`` and the closing summary of ``listen``: a simulated flight
with GPS loss and a reboot, duplicated packets and a spoofed HEARTBEAT is reported line by
line, and the summary says why readings were not paired (counts per flag).

The spoofed HEARTBEAT is told by the vehicle link's one identity mechanism
(:attr:`dronesense.sources.link.Link.identities`): the vehicle's first packet and the spoof
go through a real loopback link, from two addresses; the rest of the flight is fed to the
listener's recorder directly."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.cli.listen import summary_lines
from dronesense.live.listener import Listener
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk
from tests.support.paths import MISSIONS, sim_cmd

VEHICLE = ("127.0.0.1", 14555)


def _through_link(live: Listener, sock: socket.socket, raw: bytes) -> None:
    """Send one datagram from ``sock`` to the listener and run its loop until it is in."""
    before = live.recorder.stats.packets
    sock.sendto(raw, live.link.address)
    deadline = time.monotonic() + 10
    while live.recorder.stats.packets == before and time.monotonic() < deadline:
        live.poll(0.2)
    assert live.recorder.stats.packets == before + 1


def test_alerts_and_unpaired_reasons(tmp_path):
    tlog = tmp_path / "v.tlog"
    res = subprocess.run(sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect", "none",
                                 "--speedup", "0", "--seed", "2", "--tlog", tlog,
                                 "--max-time", "100", "--quiet", "--fault",
                                 "reboot=60,gpsloss=30:40"),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    live = Listener("udpin:127.0.0.1:0", out=tmp_path / "s")
    rec = live.recorder
    vehicle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    vehicle.bind(("127.0.0.1", 0))
    other.bind(("127.0.0.1", 0))
    dups = 0
    for k, p in enumerate(TlogReader(tlog)):
        copies = 2 if k % 25 == 0 else 1
        dups += copies - 1
        for _ in range(copies):
            if k == 0:  # the vehicle's first packet binds system 1 to its address
                _through_link(live, vehicle, bytes(p.raw))
            else:
                rec.feed(Chunk(bytes(p.raw), p.recv_us, VEHICLE, True))
        if k == 500:
            spoof = M.MAVLink(None, srcSystem=1, srcComponent=1)
            beat = M.MAVLink_heartbeat_message(M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA,
                                               0, 0, 0, 3)
            _through_link(live, other, bytes(beat.pack(spoof)))
    vehicle.close()
    other.close()
    doc = live.close()
    alerts = doc["alerts"]
    assert json.loads((tmp_path / "s" / "session.json").read_text())["alerts"] == alerts
    flags = doc["samples"]["by_flag"]
    assert flags.get("4", 0) > 0 and doc["duplicates"] == dups
    expect = [f"GPS loss: {flags['4']} reading(s) without GPS fix",
              "reboot: vehicle 1 rebooted 1 time(s)", f"duplicates: {dups} repeated packet(s)",
              "spoofed ids: system 1 spoke from another address 1 time(s)"]
    for start in expect:
        assert any(a.startswith(start) for a in alerts), (start, alerts)
    text = summary_lines("s", doc)
    lines = text.splitlines()
    assert lines[1].startswith("not paired: ") and f"{flags['4']} no GPS fix" in lines[1]
    assert all(f"warning: {a}" in text for a in alerts)
