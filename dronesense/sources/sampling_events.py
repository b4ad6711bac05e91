"""Sampling events of a flight (a canister opened, a bag filled) read from its telemetry log.

A drone that fills canisters or bags for a laboratory marks each sample in its MAVLink
stream, in one of these ways, all recognised:

- ``NAMED_VALUE_INT`` from the payload, named ``SAMPLE`` (or ``CANISTER``, ``BAG``, ``VOC``;
  ``names=``), its value the sample number: time from its ``time_boot_ms``;
- ``CAMERA_FEEDBACK`` (a camera-trigger output wired to the sampler): its own time and
  position, the image index as the sample number;
- ``COMMAND_LONG`` ``MAV_CMD_DO_SET_SERVO`` (183) with a PWM at or above ``servo_pwm``,
  ``MAV_CMD_DO_SET_RELAY`` (181) switching on, ``MAV_CMD_DO_DIGICAM_CONTROL`` (203) or
  ``MAV_CMD_IMAGE_START_CAPTURE`` (2000) sent by the ground station: time of receipt;
- the same commands as mission items (``MISSION_ITEM``/``MISSION_ITEM_INT`` in the log):
  executed when ``MISSION_CURRENT`` reaches them, at that time.

The position of an event without its own is interpolated in time between the
``GLOBAL_POSITION_INT`` fixes around it (vehicle time for messages that carry
``time_boot_ms``, the log's receive time otherwise; never extrapolated). UTC comes from
``SYSTEM_TIME`` (the median offset of the vehicle clock), else from the log's receive times.

:func:`read_sampling_events` returns a CF ``featureType = "point"`` Dataset, one entry per
event along ``sample``: ``sample_id``, ``event`` (what marked it), ``time``, ``lat``, ``lon``,
``altitude`` (AMSL), ``height`` (above home), ``time_boot_ms``. ``ids=`` gives the sample ids
of the field sheet, in order, to events that carry no number of their own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError

__all__ = ["COMMANDS", "JOURNAL_COLUMNS", "MESSAGE_TYPES", "SAMPLE_NAMES", "SamplingEvent",
           "SamplingEventStream", "SamplingJournal", "assign_ids", "read_sampling_events"]

#: NAMED_VALUE_INT names that mark a sample
SAMPLE_NAMES = ("SAMPLE", "CANISTER", "BAG", "VOC")
#: MAV_CMD numbers that mark a sample -> the event's name
COMMANDS = {183: "servo", 181: "relay", 203: "camera", 2000: "camera"}
#: the message types the sampling events are made of (what a live journal must be pushed)
MESSAGE_TYPES = ("GLOBAL_POSITION_INT", "SYSTEM_TIME", "NAMED_VALUE_INT", "CAMERA_FEEDBACK",
                 "COMMAND_LONG", "COMMAND_INT", "MISSION_ITEM", "MISSION_ITEM_INT",
                 "MISSION_CURRENT")


def _fires(command: int, p1: float, p2: float, servo_pwm: float) -> bool:
    if command == 183:
        return p2 >= servo_pwm
    if command == 181:
        return p2 >= 1
    return command in COMMANDS


@dataclass
class SamplingEvent:
    """One sampling event: what marked it, its number (``None`` when the message carries
    none), when (UNIX seconds, vehicle ms since boot) and where (NaN when unknown)."""

    event: str
    number: str | None
    utc: float
    time_boot_ms: float
    lat: float = math.nan
    lon: float = math.nan
    alt_amsl: float = math.nan
    height: float = math.nan
    order: int = 0  #: arrival order of the message that marked it


@dataclass
class _Pending:
    ev: SamplingEvent
    x: float  #: time to place it at: vehicle seconds (by_boot) or receive seconds
    by_boot: bool


class SamplingEventStream:
    """Sampling events from MAVLink messages pushed one by one, in arrival order: the one
    engine behind the post-flight reader and the live journal (:class:`SamplingJournal`).

    An event is returned by :meth:`push` once the fixes around it have arrived (the position
    interpolated between them, never extrapolated); :meth:`finish` returns the rest with the
    positions they could get (NaN).
    """

    def __init__(self, *, names: Sequence[str] = SAMPLE_NAMES, servo_pwm: float = 1700.0,
                 sysid: int | None = None, history: int = 3000):
        self.names = {n.upper() for n in names}
        self.servo_pwm = float(servo_pwm)
        self.sysid = sysid
        self.fixes: deque = deque(maxlen=history)  # (boot s, rx s, lat, lon, alt, height)
        self.offset = math.nan
        self.items: dict[int, tuple[int, float, float]] = {}
        self.current: int | None = None
        self.pending: list[_Pending] = []
        self.count = 0

    def _mine(self, src: int) -> bool:
        return self.sysid is None or src == self.sysid

    def _add(self, ev: SamplingEvent, x: float, by_boot: bool) -> None:
        self.count += 1
        ev.order = self.count
        self.pending.append(_Pending(ev, x, by_boot))

    def push(self, msg, rx: float) -> list[SamplingEvent]:
        """Take one message received at ``rx`` (UNIX seconds); returns the events placed."""
        kind = msg.get_type()
        src = msg.get_srcSystem()
        if kind == "GLOBAL_POSITION_INT":
            if self.sysid is None:
                self.sysid = src
            if src == self.sysid:
                self.fixes.append((msg.time_boot_ms / 1000.0, rx, msg.lat / 1e7, msg.lon / 1e7,
                                   msg.alt / 1000.0, msg.relative_alt / 1000.0))
                return self._resolve(final=False)
        elif kind == "SYSTEM_TIME" and msg.time_unix_usec > 0 and self._mine(src):
            self.offset = msg.time_unix_usec / 1e6 - msg.time_boot_ms / 1000.0
        elif kind == "NAMED_VALUE_INT":
            name = msg.name.rstrip("\x00").upper() if isinstance(msg.name, str) else ""
            if name in self.names:
                boot = msg.time_boot_ms / 1000.0
                utc = boot + self.offset if math.isfinite(self.offset) else rx
                self._add(SamplingEvent(name.lower(), str(msg.value), utc, boot * 1000.0),
                          boot, True)
        elif kind == "CAMERA_FEEDBACK":
            utc = msg.time_usec / 1e6 if msg.time_usec > 1e15 else rx
            boot = utc - self.offset if math.isfinite(self.offset) else math.nan
            ev = SamplingEvent("camera_feedback", str(msg.img_idx), utc, boot * 1000.0)
            if msg.lat or msg.lng:  # the camera's own position
                ev.lat, ev.lon = msg.lat / 1e7, msg.lng / 1e7
                ev.alt_amsl, ev.height = float(msg.alt_msl), float(msg.alt_rel)
                self.count += 1
                ev.order = self.count
                return [ev]
            self._add(ev, utc if math.isfinite(boot) else rx, False)
        elif kind in ("COMMAND_LONG", "COMMAND_INT"):
            if _fires(msg.command, msg.param1, msg.param2, self.servo_pwm):
                self._add(SamplingEvent(COMMANDS[msg.command], None, rx, math.nan), rx, False)
        elif kind in ("MISSION_ITEM", "MISSION_ITEM_INT"):
            self.items[msg.seq] = (msg.command, msg.param1, msg.param2)
        elif kind == "MISSION_CURRENT" and self._mine(src) and msg.seq != self.current:
            self.current = msg.seq
            item = self.items.get(msg.seq)
            if item and item[0] in COMMANDS and _fires(*item, self.servo_pwm):
                self._add(SamplingEvent(f"mission_{COMMANDS[item[0]]}", None, rx, math.nan),
                          rx, False)
        return []

    def _resolve(self, final: bool) -> list[SamplingEvent]:
        if not self.pending:
            return []
        g = np.array(self.fixes, float).reshape(-1, 6)
        done, keep = [], []
        for p in self.pending:
            col = 0 if p.by_boot else 1
            if not final and (g.shape[0] == 0 or g[:, col].max() < p.x):
                keep.append(p)  # the fix after it has not come yet
                continue
            order = np.argsort(g[:, col], kind="stable")
            xs = g[order, col]
            ev = p.ev
            ev.lat, ev.lon, ev.alt_amsl, ev.height = (_interp(p.x, xs, g[order, k])
                                                      for k in (2, 3, 4, 5))
            if not math.isfinite(ev.time_boot_ms):
                ev.time_boot_ms = _interp(p.x, xs, g[order, 0]) * 1000.0
            done.append(ev)
        self.pending = keep
        return done

    def finish(self) -> list[SamplingEvent]:
        """The events still waiting for a fix, placed as well as they can be."""
        return self._resolve(final=True)


def _interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    if xs.size == 0 or not (xs[0] <= x <= xs[-1]):
        return math.nan
    return float(np.interp(x, xs, ys))


def read_sampling_events(path: str | Path, *, ids: Sequence[str] | None = None,
                         names: Sequence[str] = SAMPLE_NAMES, servo_pwm: float = 1700.0,
                         sysid: int | None = None) -> xr.Dataset:
    """The sampling events of a ``.tlog`` with where and when each sample was taken.

    Parameters
    ----------
    path
        The telemetry log (a session's ``flight.tlog``).
    ids
        Sample ids for the events without a number of their own, in order (servo, relay
        and camera commands, mission items); default ``<event>-<n>``.
    names
        ``NAMED_VALUE_INT`` names that mark a sample.
    servo_pwm
        PWM (us) at or above which a ``DO_SET_SERVO`` opens a sampler.
    sysid
        The vehicle (default: the first that sends positions).

    Raises
    ------
    InputError
        The log cannot be read, or more ``ids`` than events.
    NoUsableDataError
        No sampling event in the log.
    """
    from pymavlink import mavutil

    path = Path(path)
    if not path.is_file():
        raise InputError("no such telemetry log", path=path)
    try:
        conn = mavutil.mavlink_connection(str(path), dialect="ardupilotmega",
                                          robust_parsing=True)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the telemetry log ({err})", path=path) from None
    stream = SamplingEventStream(names=names, servo_pwm=servo_pwm, sysid=sysid)
    events: list[SamplingEvent] = []
    try:
        while True:
            msg = conn.recv_match(type=list(MESSAGE_TYPES))
            if msg is None:
                break
            events += stream.push(msg, float(getattr(msg, "_timestamp", math.nan)))
    finally:
        conn.close()
    events += stream.finish()
    if not events:
        raise NoUsableDataError("no sampling event (NAMED_VALUE_INT SAMPLE, CAMERA_FEEDBACK, "
                                "DO_SET_SERVO, DO_SET_RELAY, camera commands)", path=path)
    events.sort(key=lambda e: e.order)
    sample_ids = assign_ids(events, ids)
    if ids is not None and len(ids) > sum(e.number is None for e in events):
        raise InputError(f"{len(ids)} sample ids for {sum(e.number is None for e in events)} "
                         "events without a number", path=path)
    t = (np.array([e.utc for e in events]) * 1e6).round().astype("int64")
    out = xr.Dataset(
        {"sample_id": ("sample", np.array(sample_ids, dtype=object),
                       {"cf_role": "point_id", "long_name": "sample id"}),
         "event": ("sample", np.array([e.event for e in events], dtype=object),
                   {"long_name": "what marked the sample in the telemetry"})},
        coords={
            "time": ("sample", t.astype("datetime64[us]").astype("datetime64[ns]"),
                     {"standard_name": "time"}),
            "lat": ("sample", np.array([e.lat for e in events]),
                    {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("sample", np.array([e.lon for e in events]),
                    {"units": "degrees_east", "standard_name": "longitude"}),
            "altitude": ("sample", np.array([e.alt_amsl for e in events]),
                         {"units": "m", "positive": "up", "standard_name": "altitude"}),
            "height": ("sample", np.array([e.height for e in events]),
                       {"units": "m", "positive": "up", "long_name": "height above home"}),
            "time_boot_ms": ("sample", np.array([e.time_boot_ms for e in events]),
                             {"units": "ms"}),
        })
    out.attrs.update({"featureType": "point", "source": str(path),
                      "title": "sampling events"})
    return out


def assign_ids(events: Sequence[SamplingEvent], ids: Sequence[str] | None = None) -> list[str]:
    """The sample id of each event: its own number, else the next of ``ids``, else
    ``<event>-<n>`` (the n-th event of that kind)."""
    free = list(ids or [])
    counts: dict[str, int] = {}
    out = []
    for e in events:
        counts[e.event] = counts.get(e.event, 0) + 1
        out.append(e.number if e.number is not None
                   else free.pop(0) if free else f"{e.event}-{counts[e.event]}")
    return out


#: columns of the live sampling-events journal
JOURNAL_COLUMNS = ("sample_id", "event", "time_utc", "time_boot_ms", "lat", "lon", "alt_amsl",
                   "height")


class SamplingJournal:
    """The live sampling-events journal: messages pushed as they arrive, one CSV line per
    event once it is placed (:class:`SamplingEventStream`, the engine of the post-flight
    reader), the rest written by :meth:`close`.

    Examples
    --------
    >>> import tempfile
    >>> from pymavlink.dialects.v20 import ardupilotmega as mav2
    >>> mav = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
    >>> def msg(m):
    ...     return mav.decode(bytearray(m.pack(mav)))
    >>> path = Path(tempfile.mkdtemp()) / "sampling_events.csv"
    >>> journal = SamplingJournal(path)
    >>> fix = mav2.MAVLink_global_position_int_message
    >>> [journal.push(msg(m), 1_749_888_000.0 + t) for t, m in (
    ...     (10.0, fix(10000, 375000000, 1269000000, 50000, 30000, 0, 0, 0, 0)),
    ...     (10.5, mav2.MAVLink_named_value_int_message(10500, b"SAMPLE", 4)),
    ...     (11.0, fix(11000, 375000100, 1269000000, 52000, 32000, 0, 0, 0, 0)))]
    [0, 0, 1]
    >>> journal.close()
    >>> print(path.read_text().splitlines()[1])
    4,sample,2025-06-14T08:00:10.500000Z,10500,37.50000500,126.90000000,51.000,31.000
    """

    def __init__(self, path: str | Path, **options):
        self.path = Path(path)
        self.stream = SamplingEventStream(**options)
        self._counts: dict[str, int] = {}
        try:
            self._fh = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
        self._fh.write(",".join(JOURNAL_COLUMNS) + "\n")
        self._fh.flush()

    def _write(self, events: list[SamplingEvent]) -> int:
        from datetime import UTC, datetime

        for e in events:
            self._counts[e.event] = self._counts.get(e.event, 0) + 1
            sid = e.number if e.number is not None else f"{e.event}-{self._counts[e.event]}"
            when = datetime.fromtimestamp(e.utc, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") \
                if math.isfinite(e.utc) else ""

            def num(v: float, fmt: str) -> str:
                return format(v, fmt) if math.isfinite(v) else ""

            self._fh.write(",".join([sid, e.event, when, num(e.time_boot_ms, ".0f"),
                                     num(e.lat, ".8f"), num(e.lon, ".8f"),
                                     num(e.alt_amsl, ".3f"), num(e.height, ".3f")]) + "\n")
        if events:
            self._fh.flush()
        return len(events)

    def push(self, msg, rx: float) -> int:
        """Take one received message (``rx`` in UNIX seconds); returns the events written."""
        return self._write(self.stream.push(msg, rx))

    def close(self) -> None:
        """Write the events still waiting for a fix and close the file."""
        if not self._fh.closed:
            self._write(self.stream.finish())
            self._fh.close()
