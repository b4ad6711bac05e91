"""MAVLink messages -> flight events (:mod:`dronesense.events`).

:class:`MessageAdapter` keeps the little state the translation needs (the latest GNSS fix
type per vehicle, which components are ground stations or autopilots) and turns one message
into zero or more events:

================================  =============================================================
GLOBAL_POSITION_INT               :class:`Fix` (``fix_ok`` False when lat = lon = 0 or the
                                  latest GPS_RAW_INT of that vehicle has fix_type < 3)
NAMED_VALUE_FLOAT / _INT          :class:`Reading`
SYSTEM_TIME                       :class:`TimeSync` (only with ``time_unix_usec`` > 0)
HEARTBEAT                         :class:`Status` (autopilot components only)
================================  =============================================================

A repeated packet (same source, sequence number and bytes: the rule of
:mod:`dronesense.sources.duplicates`) gives its events once; ``duplicates`` counts the copies.
A position outside the WGS 84 ranges (abs(lat) > 90°, abs(lon) > 180°) gives a fix without a
valid position (``fix_ok`` False, lat = lon = 0), so no reading is ever paired with it;
``bad_positions`` counts them and :meth:`MessageAdapter.warnings` reports them.

Messages from components whose HEARTBEAT says they are a ground station (``MAV_TYPE_GCS``)
are ignored, so a ground station sharing the link never adds readings. Positions, clock syncs
and GNSS fix types are taken only from the vehicle's autopilot component: one whose HEARTBEAT
names an autopilot, or component 1 before any HEARTBEAT was heard from it; a camera or gimbal
reporting its own position therefore cannot move the track. Once a component has sent an
autopilot HEARTBEAT, a ground-station HEARTBEAT (``MAV_TYPE_GCS`` or ``MAV_AUTOPILOT_INVALID``)
carrying the same ids (a misconfigured ground station) no longer changes what it is taken for:
its data keeps coming in, and ``gcs_id_conflicts`` counts such heartbeats. Readings are taken
from every non-GCS component of the vehicle (payload computers often send them under their own id).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=7, srcComponent=1)
>>> msg = mavlink.MAVLink_named_value_float_message(1500, b"PM2.5", 12.5)
>>> msg = mavlink.MAVLink(None).decode(bytearray(msg.pack(mav)))
>>> MessageAdapter().events(msg)
[Reading(sysid=7, time_boot_ms=1500.0, name='PM2.5', value=12.5)]
"""

from __future__ import annotations

import math

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.events import Event, Fix, Reading, Status, TimeSync
from dronesense.sources.duplicates import DuplicateFilter

__all__ = ["MessageAdapter", "float32_decimal", "mode_name"]

_f32_cache: dict[float, float] = {}


def float32_decimal(value: float) -> float:
    """A float32 value as the double of its shortest decimal: ``float(str(np.float32(v)))``.

    Memoised (sensor values repeat a lot), with a shortcut for whole numbers, which are their
    own shortest decimal.

    Examples
    --------
    >>> float32_decimal(float(np.float32(1.9))), float32_decimal(12.0)
    (1.9, 12.0)
    """
    value = float(value)
    if value.is_integer() and -16_777_216.0 <= value <= 16_777_216.0:
        return float(value)
    hit = _f32_cache.get(value)
    if hit is None:
        hit = float(str(np.float32(value)))
        if len(_f32_cache) > 65536:
            _f32_cache.clear()
        _f32_cache[value] = hit
    return hit

def mode_name(status: Status | None) -> str | None:
    """The flight mode of a :class:`Status` as the autopilot names it (``AUTO``, ``LOITER``).

    ArduPilot modes are looked up by vehicle type, PX4 modes decoded from the custom mode;
    an unknown mode gives its number.

    Examples
    --------
    >>> mode_name(Status(1, armed=True, mode=3, vehicle_type=2, autopilot=3))
    'AUTO'
    >>> mode_name(Status(1, armed=False, mode=77, vehicle_type=2, autopilot=3))
    '77'
    """
    if status is None:
        return None
    from pymavlink import mavutil

    if status.autopilot == mavlink.MAV_AUTOPILOT_PX4:
        return mavutil.interpret_px4_mode(mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
                                          status.mode)
    names = mavutil.mode_mapping_bynumber(status.vehicle_type) or {}
    return names.get(status.mode, str(status.mode))


_GCS = mavlink.MAV_TYPE_GCS
_NO_AUTOPILOT = mavlink.MAV_AUTOPILOT_INVALID
_ARMED = mavlink.MAV_MODE_FLAG_SAFETY_ARMED


class MessageAdapter:
    """Translate decoded pymavlink messages into flight events.

    Attributes
    ----------
    ignored_gcs
        Messages dropped because they came from a ground-station component.
    duplicates
        Repeated packets whose events were given once already.
    bad_positions
        Positions outside the WGS 84 ranges (given as fixes without a valid position).
    gcs_id_conflicts
        Ground-station HEARTBEATs carrying the ids of a component known as an autopilot.
    components
        (sysid, compid) -> (MAV_TYPE, MAV_AUTOPILOT) from HEARTBEATs.
    """

    #: Message types the adapter reads; others never give events.
    TYPES = ("GLOBAL_POSITION_INT", "NAMED_VALUE_FLOAT", "NAMED_VALUE_INT", "SYSTEM_TIME",
             "HEARTBEAT", "GPS_RAW_INT")

    def __init__(self) -> None:
        self.components: dict[tuple[int, int], tuple[int, int]] = {}
        self.fix_type: dict[int, int] = {}
        self.ignored_gcs = 0
        self.bad_positions = 0
        self.gcs_id_conflicts = 0
        self.dups = DuplicateFilter()
        self._names: dict[bytes, str] = {}
        self._handlers = {
            "GLOBAL_POSITION_INT": self._position,
            "NAMED_VALUE_FLOAT": self._named,
            "NAMED_VALUE_INT": self._named,
            "SYSTEM_TIME": self._system_time,
            "HEARTBEAT": self._heartbeat,
            "GPS_RAW_INT": self._gps_raw,
        }

    def events(self, msg) -> list[Event]:
        """The events one message gives (often none)."""
        handler = self._handlers.get(msg._type)
        if handler is None:
            return []
        if self.dups.message_is_duplicate(msg):
            return []
        header = msg._header
        key = (header.srcSystem, header.srcComponent)
        comp = self.components.get(key)
        if comp is not None and comp[0] == _GCS and msg._type != "HEARTBEAT":
            self.ignored_gcs += 1
            return []
        return handler(msg, key, comp)

    @property
    def duplicates(self) -> int:
        """Repeated packets dropped so far."""
        return self.dups.duplicates

    def warnings(self) -> list[str]:
        """One line per kind of suspicious input met so far."""
        out = []
        if self.bad_positions:
            out.append(f"{self.bad_positions} positions outside WGS 84 ranges (|lat| > 90, "
                       "|lon| > 180) were not used")
        if self.gcs_id_conflicts:
            out.append(f"{self.gcs_id_conflicts} ground-station HEARTBEATs carried a vehicle's "
                       "autopilot ids and were ignored")
        return out

    def is_autopilot(self, key: tuple[int, int], comp=None) -> bool:
        """Whether (sysid, compid) is taken as the vehicle's autopilot."""
        comp = self.components.get(key) if comp is None else comp
        if comp is None:
            return key[1] == 1
        return comp[0] != _GCS and comp[1] != _NO_AUTOPILOT

    def _position(self, msg, key, comp) -> list[Event]:
        if not self.is_autopilot(key, comp):
            return []
        ok = not (msg.lat == 0 and msg.lon == 0) and self.fix_type.get(key[0], 3) >= 3
        lat, lon = msg.lat / 1e7, msg.lon / 1e7
        if not (abs(lat) <= 90.0 and abs(lon) <= 180.0):  # also catches NaN
            self.bad_positions += 1
            ok, lat, lon = False, 0.0, 0.0
        alt, height = msg.alt / 1000.0, msg.relative_alt / 1000.0
        if not (math.isfinite(alt) and math.isfinite(height)):
            self.bad_positions += 1
            ok, alt, height = False, 0.0, 0.0
        return [Fix(key[0], float(msg.time_boot_ms), lat, lon, alt, height, ok)]

    def _gps_raw(self, msg, key, comp) -> list[Event]:
        if self.is_autopilot(key, comp):
            self.fix_type[key[0]] = msg.fix_type
        return []

    def _named(self, msg, key, comp) -> list[Event]:
        name = msg.name
        if isinstance(name, bytes | bytearray):
            name = self._names.get(name)
            if name is None:
                raw = msg.name
                name = raw.decode("ascii", "replace").rstrip("\x00")
                if len(self._names) < 4096:
                    self._names[bytes(raw)] = name
        else:
            name = name.rstrip("\x00")
        value = msg.value
        if msg._type == "NAMED_VALUE_FLOAT":  # the float32 as its shortest decimal: 1.9, not
            value = float32_decimal(value)  # 1.899999976158142
        return [Reading(key[0], float(msg.time_boot_ms), name, float(value))]

    def _system_time(self, msg, key, comp) -> list[Event]:
        if msg.time_unix_usec <= 0 or not self.is_autopilot(key, comp):
            return []
        return [TimeSync(key[0], float(msg.time_boot_ms), int(msg.time_unix_usec))]

    def _heartbeat(self, msg, key, comp) -> list[Event]:
        if msg.type == _GCS or msg.autopilot == _NO_AUTOPILOT:
            if comp is not None and comp[0] != _GCS and comp[1] != _NO_AUTOPILOT:
                self.gcs_id_conflicts += 1  # an autopilot's ids: keep taking it for one
                return []
            self.components[key] = (msg.type, msg.autopilot)
            return []
        self.components[key] = (msg.type, msg.autopilot)
        return [Status(key[0], bool(msg.base_mode & _ARMED), int(msg.custom_mode),
                       int(msg.type), int(msg.autopilot))]
