"""Asking vehicles for the streams pairing needs (``listen --request-streams``).

The only thing :class:`~dronesense.live.listener.Listener` ever sends on its own: stream
requests (signed when a key is set) and, on a ``udpout`` link before any vehicle was heard, a
GCS heartbeat that opens the route.
"""

from __future__ import annotations

import time

from dronesense.live.recorder import Recorder
from dronesense.sources.link import Link
from dronesense.sources.signing import Signer

__all__ = ["StreamRequester"]


class StreamRequester:
    """Asks each autopilot that sends no positions yet for the streams pairing needs.

    Sends REQUEST_DATA_STREAM (all streams at 4 Hz) and SET_MESSAGE_INTERVAL for
    GLOBAL_POSITION_INT (10 Hz), SYSTEM_TIME (1 Hz) and GPS_RAW_INT (5 Hz), at most every 5 s
    per vehicle, from system 255, component 190. Only a listener with ``request_streams``
    makes one.
    """

    def __init__(self, link: Link, signer: Signer | None = None):
        from pymavlink.dialects.v20 import ardupilotmega as mavlink

        self.mavlink = mavlink
        self.link = link
        self.signer = signer
        self.mav = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self._next: dict[int, float] = {}
        self._next_hello = 0.0
        #: GCS heartbeats sent to open a ``udpout`` route before any vehicle was heard
        self.hellos = 0

    def _send(self, msg) -> None:
        raw = bytes(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) % 256
        self.link.send(raw if self.signer is None else self.signer.sign(raw))

    def poll(self, recorder: Recorder) -> None:
        """Send the requests to the vehicles that are due.

        Before any vehicle is heard on a ``udpout`` link, a GCS HEARTBEAT goes out every
        second: a vehicle (or router) listening on that address answers the address it came
        from, which opens the route."""
        ml = self.mavlink
        now = time.monotonic()
        if not recorder.pairer.states and self.link.endpoint.kind == "udpout":
            if now >= self._next_hello:
                self._next_hello = now + 1.0
                self._send(ml.MAVLink_heartbeat_message(ml.MAV_TYPE_GCS, ml.MAV_AUTOPILOT_INVALID,
                                                        0, 0, 0, 3))
                self.hellos += 1
            return
        for sysid, fs in recorder.pairer.states.items():
            if fs.status is None or len(fs.track) > 0 or now < self._next.get(sysid, 0.0):
                continue
            self._next[sysid] = now + 5.0
            msgs = [ml.MAVLink_request_data_stream_message(sysid, 1, ml.MAV_DATA_STREAM_ALL, 4, 1)]
            for msg_id, period_us in ((ml.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, 100_000),
                                      (ml.MAVLINK_MSG_ID_SYSTEM_TIME, 1_000_000),
                                      (ml.MAVLINK_MSG_ID_GPS_RAW_INT, 200_000)):
                msgs.append(ml.MAVLink_command_long_message(
                    sysid, 1, ml.MAV_CMD_SET_MESSAGE_INTERVAL, 0, msg_id, period_us,
                    0, 0, 0, 0, 0))
            for m in msgs:
                self._send(m)
