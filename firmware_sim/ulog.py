"""The simulated flight as a PX4 ULog (``.ulg``): what the autopilot would write on its SD card.

A small writer of the ULog format (file header, flag bits, definitions: formats, info and
parameters, then ``add_logged`` subscriptions, data messages and a sync message a second), fed
with the MAVLink
messages the simulated autopilot sends. It logs, as PX4 does:

=========================  ==============================================================
``vehicle_global_position``  every GLOBAL_POSITION_INT: ``lat``, ``lon`` (double, degrees),
                             ``alt`` (float, m AMSL)
``vehicle_gps_position``     every GPS_RAW_INT: ``latitude_deg``, ``longitude_deg``,
                             ``altitude_msl_m``, ``fix_type`` and ``time_utc_usec`` (the true
                             UTC of the fix; 0 without a 3D fix)
``home_position``            once, at the first position: the take-off point (``alt`` =
                             GLOBAL_POSITION_INT ``alt - relative_alt``)
``debug_key_value``          every NAMED_VALUE_FLOAT: ``key`` (char[10]) and ``value``,
                             stamped with the reading's ``time_boot_ms``
``vehicle_status``           every HEARTBEAT: ``arming_state`` (2 armed), ``nav_state``
``wind``                     every WIND: ``windspeed_north``/``_east`` (m/s, the vector the
                             air moves along; the true wind at the vehicle), variances 0
=========================  ==============================================================

``timestamp`` fields are the vehicle's time since boot in microseconds (the MAVLink
``time_boot_ms`` x 1000), so a reader pairing the ULog sees the same vehicle times as one
pairing the telemetry log. The onboard log sees every message the autopilot sends: link
faults (loss, corruption) do not reach it. The format follows the published ULog
specification; nothing here depends on a ULog library.

Examples
--------
>>> import io
>>> buf = io.BytesIO()
>>> w = UlogWriter(buf, start_us=1_700_000_000_000_000, sysid=1)
>>> w.global_position(1000, 50.99, 6.98, 95.0, 45.0)
>>> w.named_float(1200, "CH4", 1.95)
>>> buf.getvalue()[:7]
b'ULog\\x01\\x125'
>>> w.counts
{'vehicle_global_position': 1, 'home_position': 1, 'debug_key_value': 1}
"""

from __future__ import annotations

import math
import struct
from typing import IO

from .vehicle import MODE_NAMES

__all__ = ["FORMATS", "UlogWriter"]

MAGIC = b"ULog\x01\x12\x35"
VERSION = 1
#: The payload of a sync message, written once a second: where a reader resynchronises after
#: corrupt bytes.
SYNC = b"\x2f\x73\x13\x20\x25\x0c\xbb\x12"

#: The logged topics: (name, [(type, field), ...]) as PX4's logger defines them (a subset of
#: each topic's fields, in PX4's order).
FORMATS: dict[str, list[tuple[str, str]]] = {
    "vehicle_global_position": [
        ("uint64_t", "timestamp"), ("uint64_t", "timestamp_sample"), ("double", "lat"),
        ("double", "lon"), ("float", "alt"), ("float", "alt_ellipsoid"), ("float", "eph"),
        ("float", "epv")],
    "vehicle_gps_position": [
        ("uint64_t", "timestamp"), ("uint64_t", "timestamp_sample"),
        ("double", "latitude_deg"), ("double", "longitude_deg"), ("double", "altitude_msl_m"),
        ("uint64_t", "time_utc_usec"), ("float", "eph"), ("float", "epv"),
        ("uint8_t", "fix_type"), ("uint8_t", "satellites_used")],
    "home_position": [
        ("uint64_t", "timestamp"), ("double", "lat"), ("double", "lon"), ("float", "alt"),
        ("bool", "valid_alt"), ("bool", "valid_hpos")],
    "debug_key_value": [
        ("uint64_t", "timestamp"), ("char[10]", "key"), ("float", "value")],
    "vehicle_status": [
        ("uint64_t", "timestamp"), ("uint8_t", "arming_state"), ("uint8_t", "nav_state"),
        ("uint8_t", "vehicle_type")],
    "wind": [
        ("uint64_t", "timestamp"), ("uint64_t", "timestamp_sample"),
        ("float", "windspeed_north"), ("float", "windspeed_east"), ("float", "variance_north"),
        ("float", "variance_east")],
}

_STRUCT = {"uint64_t": "Q", "int64_t": "q", "uint32_t": "I", "int32_t": "i", "uint16_t": "H",
           "int16_t": "h", "uint8_t": "B", "int8_t": "b", "double": "d", "float": "f",
           "bool": "?"}


def _code(ctype: str) -> str:
    """struct code of a ULog field type (``char[N]`` -> ``Ns``)."""
    if ctype.startswith("char[") and ctype.endswith("]"):
        return ctype[5:-1] + "s"
    return _STRUCT[ctype]

#: nav_state of the simulator's flight modes (PX4 vehicle_status NAVIGATION_STATE_*).
NAV_STATE = {"STABILIZE": 15, "ALT_HOLD": 1, "LOITER": 4, "AUTO": 3, "GUIDED": 14,
             "RTL": 5, "LAND": 18, "BRAKE": 4}


def _message(kind: bytes, payload: bytes) -> bytes:
    return struct.pack("<HB", len(payload), kind[0]) + payload


class UlogWriter:
    """Write a ULog file: the header and definitions now, data messages as they come.

    Parameters
    ----------
    fh
        A binary file open for writing.
    start_us
        UTC of the simulated boot, UNIX microseconds (the ``time_utc_usec`` of sim time 0).
    sysid
        MAVLink system id (logged as the ``MAV_SYS_ID`` parameter).
    formats
        Topics to define instead of :data:`FORMATS` (``{name: [(type, field), ...]}``),
        written with :meth:`data`.
    """

    def __init__(self, fh: IO[bytes], start_us: int, sysid: int = 1,
                 formats: dict[str, list[tuple[str, str]]] | None = None):
        self.fh = fh
        self.formats = FORMATS if formats is None else formats
        self._pack = {name: struct.Struct("<H" + "".join(_code(t) for t, _ in fields))
                      for name, fields in self.formats.items()}
        self.start_us = start_us
        self.counts: dict[str, int] = {}
        self._ids: dict[str, int] = {}
        self._home = False
        self._next_sync_us = 0
        out = [MAGIC, struct.pack("<BQ", VERSION, 0),
               _message(b"B", bytes(16) + struct.pack("<3Q", 0, 0, 0))]
        for key, ctype, value in (("sys_name", "char[3]", b"PX4"),
                                  ("ver_hw", "char[8]", b"SIM_QUAD"),
                                  ("sys_toolchain", "char[12]", b"firmware-sim")):
            name = f"{ctype} {key}".encode()
            out.append(_message(b"I", bytes([len(name)]) + name + value))
        name = b"int32_t MAV_SYS_ID"
        out.append(_message(b"P", bytes([len(name)]) + name + struct.pack("<i", sysid)))
        for topic, fields in self.formats.items():
            text = topic + ":" + "".join(f"{t} {f};" for t, f in fields)
            out.append(_message(b"F", text.encode()))
        fh.write(b"".join(out))

    def data(self, topic: str, *values) -> None:
        """One data message of ``topic``: its field values in the order of its format."""
        msg_id = self._ids.get(topic)
        if msg_id is None:
            msg_id = self._ids[topic] = len(self._ids)
            self.fh.write(_message(b"A", struct.pack("<BH", 0, msg_id) + topic.encode()))
        self.fh.write(_message(b"D", self._pack[topic].pack(msg_id, *values)))
        self.counts[topic] = self.counts.get(topic, 0) + 1
        if values[0] >= self._next_sync_us:  # timestamp first, as in every PX4 topic
            self.fh.write(_message(b"S", SYNC))
            self._next_sync_us = values[0] + 1_000_000

    def global_position(self, boot_ms: int, lat: float, lon: float, alt: float,
                        home_alt: float) -> None:
        """A ``vehicle_global_position`` (and, the first time, the ``home_position``)."""
        t = boot_ms * 1000
        self.data("vehicle_global_position", t, t, lat, lon, alt, alt, 0.8, 1.2)
        if not self._home:
            self._home = True
            self.data("home_position", t, lat, lon, home_alt, True, True)

    def gps(self, boot_ms: int, lat: float, lon: float, alt: float, fix_type: int,
            utc_us: int) -> None:
        """A ``vehicle_gps_position``; ``utc_us`` is logged only with a 3D fix."""
        t = boot_ms * 1000
        self.data("vehicle_gps_position", t, t, lat, lon, alt,
                   utc_us if fix_type >= 3 else 0, 0.8, 1.2, fix_type,
                   14 if fix_type >= 3 else 0)

    def named_float(self, boot_ms: int, name: str, value: float) -> None:
        """A ``debug_key_value`` (what PX4 logs of a NAMED_VALUE_FLOAT)."""
        self.data("debug_key_value", boot_ms * 1000, name.encode()[:10], value)

    def status(self, boot_ms: int, armed: bool, nav_state: int) -> None:
        """A ``vehicle_status`` (rotary wing)."""
        self.data("vehicle_status", boot_ms * 1000, 2 if armed else 1, nav_state, 1)

    def wind(self, boot_ms: int, speed: float, from_deg: float) -> None:
        """A ``wind`` estimate (PX4 1.13+): the vector the air moves along, north/east m/s,
        from the speed and the direction it comes from; variances 0 (the simulator's wind is
        the truth)."""
        t = boot_ms * 1000
        rad = math.radians(from_deg)
        self.data("wind", t, t, -speed * math.cos(rad), -speed * math.sin(rad), 0.0, 0.0)

    def mavlink(self, t: float, msg, boot_ms: int) -> None:
        """Log what one MAVLink message sent at sim time ``t`` (s) and vehicle time
        ``boot_ms`` carries, if anything."""
        kind = msg.get_type()
        if kind == "GLOBAL_POSITION_INT":
            self.global_position(msg.time_boot_ms, msg.lat / 1e7, msg.lon / 1e7,
                                 msg.alt / 1000.0, (msg.alt - msg.relative_alt) / 1000.0)
        elif kind == "GPS_RAW_INT":
            self.gps(msg.time_usec // 1000, msg.lat / 1e7, msg.lon / 1e7, msg.alt / 1000.0,
                     msg.fix_type, self.start_us + round(t * 1e6))
        elif kind == "NAMED_VALUE_FLOAT":
            name = msg.name
            if isinstance(name, bytes | bytearray):
                name = name.decode("ascii", "replace")
            self.named_float(msg.time_boot_ms, name.rstrip("\x00"), msg.value)
        elif kind == "WIND":
            self.wind(boot_ms, msg.speed, msg.direction)
        elif kind == "HEARTBEAT":
            mode = MODE_NAMES.get(msg.custom_mode, "")
            self.status(boot_ms, bool(msg.base_mode & 128), NAV_STATE.get(mode, 0))
