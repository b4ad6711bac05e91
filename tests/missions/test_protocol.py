"""The mission protocol client against a small in-test vehicle over loopback UDP.

The responder can answer with legacy MISSION_REQUEST, drop replies, reject or go silent, to
exercise retries and errors that the simulator does not produce on demand.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil

from dronesense.missions import patterns
from dronesense.missions.items import Home
from dronesense.missions.protocol import (
    MissionClient,
    MissionRejected,
    MissionTimeout,
)
from tests.support.paths import free_port

M = mavutil.mavlink
HOME = Home(50.9934, 6.9877, 42.0)




class Responder(threading.Thread):
    """A minimal ArduPilot-like vehicle storing one mission (item 0 = home)."""

    def __init__(self, port: int, *, legacy: bool = False, drop_every: int = 0,
                 reject_at: int | None = None, silent_after: int | None = None):
        super().__init__(daemon=True)
        self.conn = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", source_system=1,
                                               source_component=1)
        self.legacy, self.drop_every = legacy, drop_every
        self.reject_at, self.silent_after = reject_at, silent_after
        self.stored: list = []
        self.incoming: list = []
        self.count = 0
        self.sent = 0
        self.stop = threading.Event()

    def send(self, msg) -> None:
        self.sent += 1
        if self.drop_every and self.sent % self.drop_every == 0:
            return  # lost on the radio
        self.conn.mav.send(msg)

    def request(self, seq: int) -> None:
        if self.silent_after is not None and seq > self.silent_after:
            return
        cls = M.MAVLink_mission_request_message if self.legacy else \
            M.MAVLink_mission_request_int_message
        self.send(cls(255, 0, seq, 0))

    def run(self) -> None:
        last_hb = 0.0
        while not self.stop.is_set():
            if time.monotonic() - last_hb > 0.2:  # a no-op until a GCS has been heard
                last_hb = time.monotonic()
                self.conn.mav.heartbeat_send(M.MAV_TYPE_QUADROTOR,
                                             M.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0)
            msg = self.conn.recv_match(blocking=True, timeout=0.05)
            if msg is None:
                continue
            kind = msg.get_type()
            if kind == "MISSION_COUNT":
                self.count, self.incoming = msg.count, []
                self.request(0)
            elif kind == "MISSION_ITEM_INT":
                if msg.seq == len(self.incoming):
                    self.incoming.append(msg)
                if self.reject_at is not None and msg.seq == self.reject_at:
                    self.send(M.MAVLink_mission_ack_message(255, 0, M.MAV_MISSION_INVALID_PARAM7,
                                                            0))
                elif len(self.incoming) < self.count:
                    self.request(len(self.incoming))
                else:
                    self.stored = list(self.incoming)
                    self.send(M.MAVLink_mission_ack_message(255, 0, M.MAV_MISSION_ACCEPTED, 0))
            elif kind == "MISSION_REQUEST_LIST":
                self.send(M.MAVLink_mission_count_message(255, 0, len(self.stored), 0))
            elif kind == "MISSION_REQUEST_INT" and msg.seq < len(self.stored):
                it = self.stored[msg.seq]
                frame = {0: 5, 3: 6, 10: 11}.get(it.frame, it.frame)  # some vehicles send _INT
                self.send(M.MAVLink_mission_item_int_message(
                    255, 0, it.seq, frame, it.command, 0, it.autocontinue, it.param1,
                    it.param2, it.param3, it.param4, it.x, it.y, it.z, 0))
        self.conn.close()


@pytest.fixture
def vehicle(request):
    port = free_port()
    responder = Responder(port, **getattr(request, "param", {}))
    responder.start()
    conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=255)
    client = MissionClient(conn, timeout=0.2, retries=5, where=f"udpout:127.0.0.1:{port}")
    yield responder, client.connect(timeout=5)
    responder.stop.set()
    responder.join(2)
    conn.close()


def _mission():
    return patterns.stack_orbit(HOME, (50.995, 6.989), heights=[30, 40], radii=[20])


@pytest.mark.parametrize("vehicle", [{}, {"legacy": True}, {"drop_every": 6}], indirect=True,
                         ids=["int", "legacy-request", "lossy"])
def test_upload_download_equal(vehicle):
    responder, client = vehicle
    m = _mission()
    stats = client.upload(m)
    assert stats.items == len(m.items) + 1  # home is item 0
    assert responder.stored[0].x == round(HOME.lat * 1e7)
    back = client.download()
    assert back.items == m.items and back.home == HOME
    if responder.drop_every:
        assert stats.resends + client.stats.resends > 0


@pytest.mark.parametrize("vehicle", [{"reject_at": 3}], indirect=True)
def test_rejection_names_the_result(vehicle):
    _, client = vehicle
    with pytest.raises(MissionRejected, match="MAV_MISSION_INVALID_PARAM7") as err:
        client.upload(_mission())
    assert "upload" in str(err.value) and str(err.value).startswith("udpout:")


@pytest.mark.parametrize("vehicle", [{"silent_after": 2}], indirect=True)
def test_stall_times_out_with_the_step(vehicle):
    _, client = vehicle
    with pytest.raises(MissionTimeout, match="stalled after item 2 of"):
        client.upload(_mission())


def test_no_vehicle():
    conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{free_port()}", source_system=255)
    with pytest.raises(MissionTimeout, match=r"no vehicle heartbeat within 0\.5 s"):
        MissionClient(conn).connect(timeout=0.5)
    conn.close()
