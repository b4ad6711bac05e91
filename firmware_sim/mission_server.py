"""The vehicle's side of the MAVLink mission protocol (an ArduPilot look-alike).

Download: MISSION_REQUEST_LIST -> MISSION_COUNT, then MISSION_REQUEST_INT (-> MISSION_ITEM_INT)
or legacy MISSION_REQUEST (-> MISSION_ITEM). Upload: MISSION_COUNT from the ground station ->
the vehicle asks MISSION_REQUEST_INT per item (again after 1 s, up to 5 times) -> MISSION_ACK
(ACCEPTED, or UNSUPPORTED for an item it cannot fly, keeping the old mission). Also
MISSION_CLEAR_ALL and MISSION_SET_CURRENT. As on ArduPilot, **seq 0 is home** (frame GLOBAL,
altitude AMSL).

:class:`MissionServer` is a mixin of :class:`firmware_sim.autopilot.Autopilot`: it uses the
autopilot's ``emit``, ``vehicle``, ``mission``, ``params`` and ``mission_current``, and keeps
the upload in progress in ``upload`` / ``last_upload``.

Examples
--------
>>> MissionServer.on_mission_stored is None
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from . import plan as P
from .plan import Mission, MissionItem

M = mavlink2

__all__ = ["MissionServer"]


class MissionServer:
    """Answers the mission protocol from a ground station (mixin of the autopilot)."""

    upload: dict | None = None
    last_upload: dict | None = None

    def wire_item(self, seq: int) -> MissionItem:
        """Mission item ``seq`` as on the wire (seq 0 is home, frame GLOBAL, AMSL)."""
        if seq == 0:
            h = self.mission.home
            return MissionItem(P.NAV_WAYPOINT, P.FRAME_GLOBAL, (0, 0, 0, 0, h[0], h[1], h[2]))
        return self.mission.items[seq - 1]

    def _on_mission_request_list(self, msg, t_ms: int) -> None:
        mtype = getattr(msg, "mission_type", 0)
        count = self.mission.count_with_home if mtype == 0 else 0
        self.emit(M.MAVLink_mission_count_message(msg.get_srcSystem(), msg.get_srcComponent(),
                                                  count, mtype), t_ms)

    def _send_item(self, msg, t_ms: int, as_int: bool) -> None:
        mtype = getattr(msg, "mission_type", 0)
        src, comp = msg.get_srcSystem(), msg.get_srcComponent()
        if mtype != 0 or not 0 <= msg.seq < self.mission.count_with_home:
            self.emit(M.MAVLink_mission_ack_message(src, comp, M.MAV_MISSION_INVALID_SEQUENCE,
                                                    mtype), t_ms)
            return
        it = self.wire_item(msg.seq)
        p = it.params
        current = 1 if msg.seq == self.vehicle.current + 1 else 0
        if as_int:
            # MISSION_ITEM_INT carries the plain frame (0/3/10): the _INT frames are
            # deprecated, and ArduPilot answers with the plain ones.
            x, y = round(p[4] * 1e7), round(p[5] * 1e7)
            frame = {P.FRAME_GLOBAL_INT: P.FRAME_GLOBAL,
                     P.FRAME_GLOBAL_RELATIVE_ALT_INT: P.FRAME_GLOBAL_RELATIVE_ALT,
                     P.FRAME_GLOBAL_TERRAIN_ALT_INT: P.FRAME_GLOBAL_TERRAIN_ALT}.get(it.frame,
                                                                                   it.frame)
            out = M.MAVLink_mission_item_int_message(src, comp, msg.seq, frame, it.command,
                                                     current, int(it.autocontinue), p[0], p[1],
                                                     p[2], p[3], x, y, p[6], 0)
        else:
            frame = {P.FRAME_GLOBAL_INT: P.FRAME_GLOBAL,
                     P.FRAME_GLOBAL_RELATIVE_ALT_INT: P.FRAME_GLOBAL_RELATIVE_ALT,
                     P.FRAME_GLOBAL_TERRAIN_ALT_INT: P.FRAME_GLOBAL_TERRAIN_ALT}.get(it.frame,
                                                                                   it.frame)
            out = M.MAVLink_mission_item_message(src, comp, msg.seq, frame, it.command, current,
                                                 int(it.autocontinue), p[0], p[1], p[2], p[3],
                                                 p[4], p[5], p[6], 0)
        self.emit(out, t_ms)

    def _on_mission_request_int(self, msg, t_ms: int) -> None:
        if self.upload is None:
            self._send_item(msg, t_ms, True)

    def _on_mission_request(self, msg, t_ms: int) -> None:
        if self.upload is None:
            self._send_item(msg, t_ms, False)

    def _on_mission_clear_all(self, msg, t_ms: int) -> None:
        mtype = getattr(msg, "mission_type", 0)
        if mtype == 0:
            self._store([])
        self.emit(M.MAVLink_mission_ack_message(msg.get_srcSystem(), msg.get_srcComponent(),
                                                M.MAV_MISSION_ACCEPTED, mtype), t_ms)

    def _on_mission_set_current(self, msg, t_ms: int) -> None:
        v = self.vehicle
        if 1 <= msg.seq <= len(v.items):
            v.current = msg.seq - 1
            v.set_items(v.items)
            v.current = msg.seq - 1
            self.emit(self.mission_current(), t_ms)

    def _on_mission_count(self, msg, t_ms: int) -> None:
        mtype = getattr(msg, "mission_type", 0)
        src, comp = msg.get_srcSystem(), msg.get_srcComponent()
        if msg.count == 0:
            if mtype == 0:
                self._store([])
            self.emit(M.MAVLink_mission_ack_message(src, comp, M.MAV_MISSION_ACCEPTED, mtype),
                      t_ms)
            return
        self.upload = {"count": msg.count, "type": mtype, "items": [], "src": src,
                       "comp": comp, "wall": time.monotonic(), "tries": 0}
        self._request_next(t_ms)

    def _request_next(self, t_ms: int) -> None:
        up = self.upload
        assert up is not None
        up["wall"] = time.monotonic()
        self.emit(M.MAVLink_mission_request_int_message(up["src"], up["comp"],
                                                        len(up["items"]), up["type"]), t_ms)

    def _upload_timeout(self, t_ms: int) -> None:
        up = self.upload
        if up is not None and time.monotonic() - up["wall"] > 1.0:
            up["tries"] += 1
            if up["tries"] > 5:
                self.emit(M.MAVLink_mission_ack_message(up["src"], up["comp"],
                                                        M.MAV_MISSION_OPERATION_CANCELLED,
                                                        up["type"]), t_ms)
                self.upload = None
            else:
                self._request_next(t_ms)

    def _on_mission_item_int(self, msg, t_ms: int) -> None:
        self._receive_item(msg, t_ms, msg.x / 1e7, msg.y / 1e7)

    def _on_mission_item(self, msg, t_ms: int) -> None:
        self._receive_item(msg, t_ms, msg.x, msg.y)

    def _receive_item(self, msg, t_ms: int, lat: float, lon: float) -> None:
        up = self.upload
        if up is None:
            done = self.last_upload
            if done is not None and msg.seq == done["count"] - 1:
                # the GCS re-sent the last item: our final MISSION_ACK was lost, repeat it
                self.emit(M.MAVLink_mission_ack_message(done["src"], done["comp"],
                                                        done["result"], done["type"]), t_ms)
            return
        if msg.seq != len(up["items"]):
            self._request_next(t_ms)
            return
        frame = msg.frame
        # NaN in params 1-4 means "default / unchanged" (QGC sends NaN yaw): fly it as 0,
        # the way the .plan reader does
        head = tuple(v if math.isfinite(v) else 0.0
                     for v in (msg.param1, msg.param2, msg.param3, msg.param4))
        item = MissionItem(msg.command, frame, (*head, lat, lon, msg.z), bool(msg.autocontinue))
        up["items"].append(item)
        if len(up["items"]) < up["count"]:
            self._request_next(t_ms)
            return
        self.upload = None
        result = M.MAV_MISSION_ACCEPTED
        if up["type"] == 0:
            try:
                for i, it in enumerate(up["items"][1:], start=1):
                    P.check_item(it, f"uploaded item {i}")
            except Exception:
                result = M.MAV_MISSION_UNSUPPORTED
            else:
                self._store(up["items"][1:])
        self.last_upload = {**up, "result": result}
        self.emit(M.MAVLink_mission_ack_message(up["src"], up["comp"], result, up["type"]),
                  t_ms)

    def _store(self, items: list[MissionItem]) -> None:
        self.mission = self.mission.with_items(items)
        self.vehicle.set_items(items)
        self.params["MIS_TOTAL"] = (self.mission.count_with_home, M.MAV_PARAM_TYPE_INT32)
        if self.on_mission_stored is not None:
            self.on_mission_stored(self.mission)

    on_mission_stored: Callable[[Mission], None] | None = None
