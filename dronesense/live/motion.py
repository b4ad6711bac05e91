"""Whether a vehicle is on the ground: what ``listen --until-landed`` waits for.

:class:`Motion` keeps, per vehicle, the last EXTENDED_SYS_STATE landed state and the height
and speeds of the last GLOBAL_POSITION_INT; with the armed state of the last autopilot
HEARTBEAT (the pairing engine's flight states) it tells a vehicle on the ground.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_global_position_int_message(
...     0, 520000000, 50000000, 40000, 200, 0, 0, 0, 0).pack(mav))
>>> motion = Motion()
>>> motion.note(mavlink.MAVLink(None).decode(bytearray(raw)), raw)
>>> motion.on_ground(1, {})     # 0.2 m above home, not moving
True
"""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["Motion"]

_ON_GROUND = mavlink.MAV_LANDED_STATE_ON_GROUND


class Motion:
    """What tells a landed vehicle, per system id.

    Attributes
    ----------
    vehicles
        sysid -> [landed_state or None, height m, ground speed m/s, vertical speed m/s].
    """

    def __init__(self) -> None:
        self.vehicles: dict[int, list] = {}

    def note(self, msg, raw: bytes) -> None:
        """Take an EXTENDED_SYS_STATE or GLOBAL_POSITION_INT (its message and bytes)."""
        sysid = raw[5] if raw[0] == 0xFD else raw[3]
        m = self.vehicles.get(sysid)
        if m is None:
            m = self.vehicles[sysid] = [None, None, None, None]
        if msg._type == "EXTENDED_SYS_STATE":
            payload = raw[10:-2] if raw[0] == 0xFD else raw[6:-2]
            if raw[0] == 0xFD and raw[2] & 1:
                payload = raw[10:-15]
            m[0] = payload[1] if len(payload) > 1 else 0  # zero-trimmed MAVLink 2 payload
        else:
            m[1] = msg.relative_alt / 1000.0
            m[2] = (msg.vx * msg.vx + msg.vy * msg.vy) ** 0.5 / 100.0
            m[3] = msg.vz / 100.0

    def on_ground(self, sysid: int, states: dict) -> bool:
        """Whether a vehicle is on the ground now: disarmed (its flight state in ``states``),
        or its EXTENDED_SYS_STATE says ON_GROUND, or it is below 0.5 m above home and not
        moving (< 0.3 m/s)."""
        fs = states.get(sysid)
        if fs is not None and fs.status is not None and not fs.status.armed:
            return True
        m = self.vehicles.get(sysid)
        if m is None:
            return False
        if m[0] == _ON_GROUND:
            return True
        return m[1] is not None and m[1] < 0.5 and m[2] < 0.3 and abs(m[3]) < 0.3

    def landed(self, states: dict) -> bool:
        """Whether some vehicle of ``states`` has flown and every one that has flown is on
        the ground (:meth:`on_ground`)."""
        flown = [sysid for sysid, fs in states.items() if fs.has_flown]
        return bool(flown) and all(self.on_ground(sysid, states) for sysid in flown)
