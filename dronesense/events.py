"""Flight events: what every source is reduced to before the flight state sees it.

MAVLink messages, DataFlash records and CSV rows all become these few event types, so the
flight state and the pairing engine have one input whatever the log format. Times are the
vehicle's own clock (milliseconds since boot, float so DataFlash microseconds survive).

Examples
--------
>>> Fix(sysid=1, time_boot_ms=1000.0, lat=52.1, lon=5.1, alt_amsl=40.0, height=30.0)
Fix(sysid=1, time_boot_ms=1000.0, lat=52.1, lon=5.1, alt_amsl=40.0, height=30.0, fix_ok=True)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Event", "Fix", "Reading", "Status", "TimeSync"]


@dataclass(frozen=True, slots=True)
class Fix:
    """A vehicle position at a vehicle time.

    ``fix_ok`` is False when the autopilot had no usable GNSS fix (lat = lon = 0 in
    GLOBAL_POSITION_INT, or fix type < 3); such fixes never anchor a pairing.
    """

    sysid: int
    time_boot_ms: float
    lat: float
    lon: float
    alt_amsl: float
    height: float
    fix_ok: bool = True


@dataclass(frozen=True, slots=True)
class Reading:
    """A sensor reading under its wire name, at the vehicle time it was sampled."""

    sysid: int
    time_boot_ms: float
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class TimeSync:
    """A pair of clocks read together: vehicle boot time and UNIX time (SYSTEM_TIME, GPS)."""

    sysid: int
    time_boot_ms: float
    time_unix_usec: int


@dataclass(frozen=True, slots=True)
class Status:
    """Vehicle state from a HEARTBEAT: armed flag and flight mode."""

    sysid: int
    armed: bool
    mode: int
    vehicle_type: int
    autopilot: int


Event = Fix | Reading | TimeSync | Status
