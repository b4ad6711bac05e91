"""PX4 ULog (``.ulg``) logs -> flight events.

The SD-card log of a PX4 autopilot holds the uORB topics it published. This module reads it
with pyulog and reduces it to :mod:`dronesense.events`, so the one pairing pipeline pairs it
exactly like a telemetry log:

============================================  ===============================================
``vehicle_global_position`` (instance 0)      :class:`Fix` (the estimator's position: ``lat``,
                                              ``lon``, ``alt`` AMSL)
``vehicle_gps_position`` / ``sensor_gps``     :class:`Fix` when the log has no global
                                              position; always the fix type (``fix_ok``) and,
                                              with a 3D fix, a :class:`TimeSync` from
                                              ``time_utc_usec``
``home_position``                             the take-off altitude: ``height = alt - home``
``debug_key_value``                           :class:`Reading` (``key``, ``value``): what PX4
                                              logs of a NAMED_VALUE_FLOAT it receives
``sensor_gas_concentration`` (proposed)       :class:`Reading` ``GAS<gas_type>`` of
                                              ``concentration_ppm`` (map the name with a
                                              names table, e.g. ``GAS4 = "co"``)
``vehicle_status``                            :class:`Status` (armed, PX4 custom mode)
``wind`` / ``wind_estimate``                  not an event: :func:`read_ulog_wind` gives the
                                              estimator's wind (``windspeed_north``/``_east``)
                                              as the :class:`~dronesense.sources.wind.
                                              WindReports` a ``.tlog``'s ``WIND`` gives
============================================  ===============================================

Vehicle time is the topic's ``timestamp`` (``timestamp_sample`` where the topic has one and it
is set) / 1000: milliseconds since boot, float so microseconds survive. Both GPS schemas are
read: PX4 1.14 and later (``latitude_deg``, degrees) and before (``lat`` in 1e-7 degrees,
``alt`` in mm). The system id is the ``MAV_SYS_ID`` parameter, else 1. Without a
``home_position`` the height is above the first good position. A corrupt or truncated log
keeps everything pyulog could read; a cut tail is a skipped region, corruption a note.

Examples
--------
>>> log = read_ulog("flight.ulg")  # doctest: +SKIP
>>> log.position_source, sum(isinstance(e, Fix) for _, e in log.events)  # doctest: +SKIP
('vehicle_global_position', 5766)
"""

from __future__ import annotations

import contextlib
import io
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.events import Event, Fix, Reading, Status, TimeSync
from dronesense.sources.kinds import ULOG_MAGIC
from dronesense.sources.messages import float32_decimal
from dronesense.sources.tlogrecords import SkippedRegion

__all__ = ["ULOG_MAGIC", "UlogLog", "px4_custom_mode", "read_ulog", "read_ulog_wind"]

_GLOBAL = "vehicle_global_position"
_GPS = ("vehicle_gps_position", "sensor_gps")
#: PX4's wind estimate: ``wind`` (PX4 1.13 and later), ``wind_estimate`` (before)
_WIND = ("wind", "wind_estimate")
_TOPICS = [_GLOBAL, *_GPS, "home_position", "debug_key_value", "sensor_gas_concentration",
           "vehicle_status"]
_MAV_AUTOPILOT_PX4 = 12
#: PX4 vehicle_status.vehicle_type -> MAV_TYPE (rotary wing: quadrotor)
_MAV_TYPE = {1: 2, 2: 1, 3: 10, 4: 7, 5: 8}
#: PX4 nav_state -> (main mode, sub mode) of the custom mode PX4 sends in HEARTBEAT
_NAV_MODES = {0: (1, 0), 1: (2, 0), 2: (3, 0), 3: (4, 4), 4: (4, 3), 5: (4, 5), 10: (5, 0),
              14: (6, 0), 15: (7, 0), 17: (4, 2), 18: (4, 6), 19: (4, 8), 20: (4, 9),
              21: (3, 1), 22: (4, 10)}


def px4_custom_mode(nav_state: int) -> int:
    """The HEARTBEAT ``custom_mode`` PX4 sends for a ``vehicle_status.nav_state`` (0 when
    unknown).

    Examples
    --------
    >>> px4_custom_mode(3) == (4 << 16) | (4 << 24)   # AUTO_MISSION: main AUTO, sub MISSION
    True
    """
    main, sub = _NAV_MODES.get(int(nav_state), (0, 0))
    return (main << 16) | (sub << 24)


@dataclass
class UlogLog:
    """What :func:`read_ulog` found.

    Attributes
    ----------
    events
        ``(vehicle time µs, event)`` in time order.
    counts
        Data messages read per topic.
    skipped
        The truncated tail of a log cut short (one region, ``truncated record``), if any.
    notes
        What else was skipped or assumed, one line each (corruption, dropouts, height
        reference).
    sysid
        System id given to the events.
    position_source
        The topic the positions came from (empty when the log has none).
    """

    path: Path
    size: int
    events: list[tuple[int, Event]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedRegion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sysid: int = 1
    position_source: str = ""


def _open(path: Path, topics: list[str] | None = None):
    """pyulog's reading of ``path`` (its own messages kept out of the output)."""
    from pyulog import ULog
    from pyulog.core import ULogException

    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            return ULog(str(path), topics or _TOPICS)
    except (ULogException, OSError, ValueError, struct.error, IndexError, KeyError) as err:
        raise InputError(f"cannot read ULog: {err}", path=path) from None


def _data(ulog, name: str, instance: int | None = 0) -> list[dict[str, np.ndarray]]:
    return [d.data for d in ulog.data_list
            if d.name == name and (instance is None or d.multi_id == instance)
            and len(d.data.get("timestamp", ()))]


def _times_us(d: dict[str, np.ndarray]) -> np.ndarray:
    t = d["timestamp"].astype(np.int64)
    sample = d.get("timestamp_sample")
    if sample is not None:
        sample = sample.astype(np.int64)
        t = np.where(sample > 0, sample, t)
    return t


def _f32(values: np.ndarray) -> list[float]:
    """float32 values as the doubles of their shortest decimals (as from a tlog)."""
    if values.dtype == np.float32:
        return [float32_decimal(v) for v in values.tolist()]
    return values.astype(float).tolist()


def _gps_columns(d: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """lat, lon (degrees) and altitude AMSL (m) of a GPS topic of either schema."""
    if "latitude_deg" in d:
        return (d["latitude_deg"].astype(float), d["longitude_deg"].astype(float),
                _f32(d["altitude_msl_m"]))
    lat, lon = d["lat"], d["lon"]
    if lat.dtype.kind in "iu":  # PX4 before 1.14: 1e-7 degrees, mm
        return lat / 1e7, lon / 1e7, (d["alt"] / 1000.0).tolist()
    return lat.astype(float), lon.astype(float), _f32(d["alt"])


def _text(d: dict[str, np.ndarray], name: str) -> list[str]:
    cols = sorted((k for k in d if k.startswith(name + "[")),
                  key=lambda k: int(k[len(name) + 1:-1]))
    if not cols:
        return [""] * len(d["timestamp"])
    raw = np.stack([d[k] for k in cols], axis=1).astype(np.uint8)
    return [bytes(row).split(b"\0", 1)[0].decode("ascii", "replace") for row in raw]


def _sysid(ulog) -> int:
    value = ulog.initial_parameters.get("MAV_SYS_ID")
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 255 else 1


def _walk_end(path: Path, size: int) -> int | None:
    """The byte offset where a log cut mid-message ends its last whole message (None when
    the messages end with the file, or the walk meets bytes that are no message)."""
    known = set(b"BFIMPQADLCSOR")
    with open(path, "rb") as fh:
        buf = fh.read()
    pos = 16
    unpack = struct.Struct("<HB").unpack_from
    while pos + 3 <= size:
        length, kind = unpack(buf, pos)
        if kind not in known:
            return None
        if pos + 3 + length > size:
            return pos
        pos += 3 + length
    return pos if pos < size else None


def read_ulog(path: str | Path) -> UlogLog:
    """Read a PX4 ULog into flight events.

    Parameters
    ----------
    path
        The ``.ulg`` file.

    Returns
    -------
    UlogLog
        Its events in vehicle-time order, with counts and notes.

    Raises
    ------
    InputError
        If the file cannot be read or is not a ULog (one line, naming it).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        raise InputError(f"cannot read ULog: {err.strerror or err}", path=path) from None
    if head[:7] != ULOG_MAGIC:
        raise InputError("not a PX4 ULog (no ULog header)", path=path, offset=0)
    if len(head) < 16:
        raise InputError("ULog cut short inside its header", path=path)
    ulog = _open(path)
    log = UlogLog(path=path, size=size, sysid=_sysid(ulog))
    for d in ulog.data_list:
        log.counts[d.name] = log.counts.get(d.name, 0) + len(d.data["timestamp"])
    # (vehicle time µs, rank at equal times: Status, TimeSync, Fix, Reading; index, event)
    events: list[tuple[int, int, int, Event]] = []
    gps = _gps_events(ulog, log, events)
    _position_events(ulog, log, events, gps)
    _reading_events(ulog, log, events)
    _status_events(ulog, log, events)
    events.sort(key=lambda e: e[:3])
    log.events = [(t, ev) for t, _, _, ev in events]
    _integrity_notes(ulog, log)
    return log


def read_ulog_wind(path: str | Path):
    """The wind PX4's estimator logged (``wind``, or ``wind_estimate`` before PX4 1.13) as
    the :class:`~dronesense.sources.wind.WindReports` a ``.tlog``'s ``WIND`` messages give.

    Speed and the direction the wind comes from are those of the logged north/east wind
    vector; each report is at the height above home of the latest position at or before it
    (as :func:`read_ulog` gives the positions, NaN before the first) and its UTC from the
    GPS clock (the median offset of ``time_utc_usec`` to the vehicle time; NaN without a
    GPS time).

    Returns
    -------
    WindReports or None
        ``None`` when the log holds no wind topic.

    Raises
    ------
    InputError
        The file cannot be read as a ULog.

    Examples
    --------
    >>> rep = read_ulog_wind("flight.ulg")  # doctest: +SKIP
    >>> len(rep), rep.speed[0], rep.direction[0]  # doctest: +SKIP
    (240, 3.0, 240.0)
    """
    from dronesense.sources.wind_reports import WindReports

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    ulog = _open(path, [*_WIND, _GLOBAL, *_GPS, "home_position"])
    found = next((f for f in (_data(ulog, name) for name in _WIND) if f), None)
    if not found:
        return None
    d = found[0]
    t = _times_us(d)
    north = d["windspeed_north"].astype(float)
    east = d["windspeed_east"].astype(float)
    log = UlogLog(path=path, size=0, sysid=_sysid(ulog))
    events: list = []
    _position_events(ulog, log, events, _gps_events(ulog, log, events))
    fixes = sorted((ti, ev.height) for ti, _, _, ev in events if isinstance(ev, Fix))
    height = np.full(t.size, np.nan)
    if fixes:
        fix_t = np.array([f[0] for f in fixes], np.int64)
        k = np.searchsorted(fix_t, t, side="right") - 1
        height[k >= 0] = np.array([f[1] for f in fixes])[k[k >= 0]]
    offsets = [ev.time_unix_usec - ti for ti, _, _, ev in events if isinstance(ev, TimeSync)]
    utc = (t + float(np.median(offsets))) / 1e6 if offsets else np.full(t.size, np.nan)
    return WindReports(time=np.asarray(utc, float), height=height,
                       speed=np.hypot(north, east),
                       direction=np.degrees(np.arctan2(-east, -north)) % 360.0,
                       name=path.name)


def _gps_events(ulog, log: UlogLog, events: list) -> dict | None:
    """TimeSyncs of the GPS topic; its columns (and fix types) for the positions."""
    for name in _GPS:
        found = _data(ulog, name)
        if found:
            break
    else:
        return None
    d = found[0]
    t = d["timestamp"].astype(np.int64)  # GPS timestamp_sample is often unset: publish time
    fix = d["fix_type"].astype(int) if "fix_type" in d else np.full(len(t), 3)
    utc = d["time_utc_usec"].astype(np.int64) if "time_utc_usec" in d else np.zeros(len(t))
    sysid = log.sysid
    for i, (ti, fi, ui) in enumerate(zip(t.tolist(), fix.tolist(), utc.tolist(), strict=True)):
        if fi >= 3 and ui > 0:
            events.append((ti, 1, i, TimeSync(sysid, ti / 1000.0, int(ui))))
    lat, lon, alt = _gps_columns(d)
    return {"name": name, "t": t, "fix": fix, "lat": lat, "lon": lon, "alt": alt}


def _position_events(ulog, log: UlogLog, events: list, gps: dict | None) -> None:
    found = _data(ulog, _GLOBAL)
    if found:
        d = found[0]
        log.position_source = _GLOBAL
        t = _times_us(d)
        lat, lon = d["lat"].astype(float), d["lon"].astype(float)
        alt = _f32(d["alt"])
        if gps is not None:  # the fix type of the latest GPS message at each position
            k = np.searchsorted(gps["t"], t, side="right") - 1
            fix = np.where(k >= 0, gps["fix"][np.maximum(k, 0)], 0)
        else:
            fix = np.full(len(t), 3)
    elif gps is not None:
        log.position_source = gps["name"]
        t, lat, lon, alt, fix = gps["t"], gps["lat"], gps["lon"], gps["alt"], gps["fix"]
    else:
        log.notes.append("no positions (no vehicle_global_position, vehicle_gps_position or "
                         "sensor_gps)")
        return
    ok = (fix >= 3) & ~((lat == 0) & (lon == 0)) & np.isfinite(lat) & np.isfinite(lon)
    home_t, home_alt = _home(ulog)
    if home_t is None:
        good = np.flatnonzero(ok)
        base = alt[int(good[0])] if len(good) else math.nan
        home_t, home_alt = np.zeros(1, np.int64), [base]
        log.notes.append("no home_position: heights are above the first good position")
    k = np.maximum(np.searchsorted(home_t, t, side="right") - 1, 0).tolist()
    sysid = log.sysid
    rows = zip(t.tolist(), lat.tolist(), lon.tolist(), alt, ok.tolist(), k, strict=True)
    for i, (ti, la, lo, al, oki, ki) in enumerate(rows):
        events.append((ti, 2, i, Fix(sysid, ti / 1000.0, la, lo, al, al - home_alt[ki],
                                     bool(oki))))


def _home(ulog) -> tuple[np.ndarray | None, list[float]]:
    found = _data(ulog, "home_position")
    if not found:
        return None, []
    d = found[0]
    valid = d["valid_alt"].astype(bool) if "valid_alt" in d else np.ones(len(d["alt"]), bool)
    if not valid.any():
        return None, []
    return d["timestamp"].astype(np.int64)[valid], [v for v, ok in zip(
        _f32(d["alt"]), valid.tolist(), strict=True) if ok]


def _reading_events(ulog, log: UlogLog, events: list) -> None:
    sysid = log.sysid
    n = 0
    for d in _data(ulog, "debug_key_value", None):
        t = d["timestamp"].astype(np.int64).tolist()
        for ti, key, value in zip(t, _text(d, "key"), _f32(d["value"]), strict=True):
            events.append((ti, 3, n, Reading(sysid, ti / 1000.0, key, value)))
            n += 1
    for d in _data(ulog, "sensor_gas_concentration", None):
        t = _times_us(d).tolist()
        kinds = d["gas_type"].astype(int).tolist() if "gas_type" in d else [0] * len(t)
        for ti, kind, value in zip(t, kinds, _f32(d["concentration_ppm"]), strict=True):
            events.append((ti, 3, n, Reading(sysid, ti / 1000.0, f"GAS{kind}", value)))
            n += 1


def _status_events(ulog, log: UlogLog, events: list) -> None:
    found = _data(ulog, "vehicle_status")
    if not found:
        return
    d = found[0]
    t = d["timestamp"].astype(np.int64).tolist()
    n = len(t)
    armed = (d["arming_state"] == 2).tolist() if "arming_state" in d else [False] * n
    nav = d["nav_state"].astype(int).tolist() if "nav_state" in d else [0] * n
    vtype = d["vehicle_type"].astype(int).tolist() if "vehicle_type" in d else [1] * n
    for i, (ti, a, s, v) in enumerate(zip(t, armed, nav, vtype, strict=True)):
        events.append((ti, 0, i, Status(log.sysid, bool(a), px4_custom_mode(s),
                                         _MAV_TYPE.get(v, 0), _MAV_AUTOPILOT_PX4)))


def _integrity_notes(ulog, log: UlogLog) -> None:
    if ulog.file_corruption:
        log.notes.append("corrupt data skipped (read on from the next ULog sync message, "
                         "if the log has one after it)")
    drops = ulog.dropouts
    if drops:
        total = sum(d.duration for d in drops) / 1000.0
        log.notes.append(f"{len(drops)} logging dropout(s), {total:.3f} s in total")
    end = _walk_end(log.path, log.size)
    if end is not None:
        log.skipped.append(SkippedRegion(end, log.size - end, "truncated record"))
