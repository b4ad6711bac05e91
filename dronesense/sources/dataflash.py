"""ArduPilot DataFlash ``.bin`` logs -> flight events.

The SD-card log of an ArduPilot autopilot holds the vehicle's own records. This module reads
it with pymavlink's ``DFReader`` and reduces it to :mod:`dronesense.events`:

======================  ===================================================================
``POS``                 :class:`Fix` (EKF position; ``RelHomeAlt`` is the height)
``GPS`` (instance 0)    :class:`Fix` when the log has no ``POS``; always a :class:`TimeSync`
                        from GPS week and milliseconds when the fix is 3D
``NVF`` / ``NVAL``      :class:`Reading` (named floats sent / received, ``Name``, ``Value``)
custom records          :class:`Reading` per mapped column, e.g. a Lua ``logger:write``
                        ``PART`` record (see :func:`load_record_map`)
======================  ===================================================================

Vehicle time is ``TimeUS`` / 1000 (ms since boot, float so microseconds survive). The system
id is the ``SYSID_THISMAV`` (or ``MAV_SYSID``) parameter when the log has it, else 1. A log
cut short mid-record (a pulled SD card, a download stopped early) is read to the cut and the
cut is reported as a skipped region, like bytes the reader could not use in between.

A FMT record no record can follow (a length under the 3-byte header, or columns that do not
fill the length it gives) would make pymavlink's reader loop for ever or recurse once per
record: pymavlink is handed a format table that refuses such a FMT record (an earlier FMT of
the type stays), the FMT record is reported as a skipped region saying what and where, the
records of that type are skipped as unreadable bytes, and every other record is read.

Examples
--------
>>> log = read_dataflash("flight.bin")  # doctest: +SKIP
>>> sum(isinstance(e, Fix) for _, e in log.events)  # doctest: +SKIP
23
"""

from __future__ import annotations

import contextlib
import io
import math
import struct
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dronesense.errors import InputError
from dronesense.events import Event, Fix, Reading, TimeSync
from dronesense.sources.tlogrecords import SkippedRegion

__all__ = ["DataflashLog", "gps_to_unix_us", "load_record_map", "read_dataflash"]

#: GPS - UTC leap seconds, by the UNIX time they took effect.
_LEAPS = ((1341100800, 16), (1435708800, 17), (1483228800, 18))
_GPS_EPOCH = 315_964_800  # 1980-01-06 in UNIX seconds

_NAMED_RECORDS = ("NVF", "NVAL")


def gps_to_unix_us(week: int, ms_of_week: int) -> int:
    """UNIX microseconds (UTC) of a GPS week and millisecond of week.

    Examples
    --------
    >>> gps_to_unix_us(1973, 6448000)   # ArduPilot log, Oct 2017: GPS runs 18 s ahead of UTC
    1509241630000000
    """
    gps_s = _GPS_EPOCH + week * 604_800 + ms_of_week / 1000.0
    leap = 15
    for since, value in _LEAPS:
        if gps_s - value >= since:
            leap = value
    return _GPS_EPOCH * 1_000_000 + week * 604_800_000_000 + ms_of_week * 1000 - leap * 1_000_000


def load_record_map(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a custom-record mapping (TOML).

    The file names, per DataFlash record type, the time column (``TimeUS`` by default) and
    which columns are readings, under what name (a wire name the name table knows, or a
    quantity key)::

        [records.PART]          # ArduPilot particle-sensor Lua script
        time = "TimeUS"
        PM25 = "pm2p5"
        PM10 = "pm10"

    Returns
    -------
    dict
        Record type -> {column or ``time`` -> name}.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise InputError(f"cannot read record mapping: {err.strerror or err}", path=path) \
            from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path=path) from None
    records = doc.get("records", {})
    if not isinstance(records, dict) or not all(isinstance(v, dict) for v in records.values()):
        raise InputError("expected [records.<TYPE>] tables", path=path)
    return {k: {c: str(n) for c, n in v.items()} for k, v in records.items()}


@dataclass
class DataflashLog:
    """What :func:`read_dataflash` found.

    Attributes
    ----------
    events
        ``(byte offset of the record, event)`` in file order.
    counts
        Records per type name.
    skipped
        Byte ranges that held no record (including a truncated tail).
    sysid
        System id given to the events.
    position_source
        ``POS`` or ``GPS``: the records the positions came from.
    """

    path: Path
    size: int
    events: list[tuple[int, Event]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedRegion] = field(default_factory=list)
    sysid: int = 1
    position_source: str = ""


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def read_dataflash(
    path: str | Path,
    records: dict[str, dict[str, str]] | None = None,
    *,
    position: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> DataflashLog:
    """Read an ArduPilot DataFlash ``.bin`` log into flight events.

    Parameters
    ----------
    path
        The ``.bin`` file.
    records
        Custom record mapping (see :func:`load_record_map`).
    position
        ``POS``, ``GPS`` or ``auto`` (``POS`` when the log has it).
    progress
        Called as ``progress(bytes_done, bytes_total)`` now and then.

    Raises
    ------
    InputError
        If the file cannot be read or is not a DataFlash log.
    """
    from pymavlink import DFReader

    path = Path(path)
    records = records or {}
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(f"cannot read DataFlash log: {err.strerror or err}", path=path) \
            from None
    if size == 0:
        raise InputError("empty file", path=path)
    with open(path, "rb") as fh:
        head = fh.read(3)
    if head[:2] != b"\xa3\x95":
        raise InputError("not an ArduPilot DataFlash log (no A3 95 header)", path=path,
                         offset=0)
    quiet = io.StringIO()
    refused: dict[int, str] = {}
    try:
        with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
            reader = _bounded_reader(DFReader, refused)(str(path), zero_time_base=False)
    except Exception as err:  # pymavlink raises bare Exception, KeyError, struct.error, ...
        raise InputError(_fmt_problem(err, DFReader), path=path) from None
    log = DataflashLog(path=path, size=size)
    try:
        present = {reader.id_to_name[i] for i, c in enumerate(reader.counts)
                   if c and i in reader.id_to_name}
    except (AttributeError, TypeError):  # pragma: no cover - older pymavlink
        present = set()
    if position == "auto":
        position = "POS" if "POS" in present or not present else "GPS"
    if position not in ("POS", "GPS"):
        raise InputError(f"position must be POS, GPS or auto, not {position!r}")
    log.position_source = position
    for name in ("SYSID_THISMAV", "MAV_SYSID"):
        with contextlib.suppress(Exception):
            value = reader.params.get(name)
            if value:
                log.sysid = int(value)
                break
    reader.rewind()
    sysid = log.sysid
    events = log.events
    counts = log.counts
    prev_end = 0
    next_report = 0
    with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
        while True:
            try:
                m = reader.recv_msg()
            except Exception:  # a record pymavlink cannot decode: keep what came before
                log.skipped.append(SkippedRegion(prev_end, size - prev_end,
                                                 "undecodable record"))
                prev_end = size
                break
            if m is None:
                break
            end = reader.offset
            mtype = m.get_type()
            start = end - m.fmt.len
            if start > prev_end:
                log.skipped.append(SkippedRegion(prev_end, start - prev_end, "corrupt record"))
            prev_end = end
            counts[mtype] = counts.get(mtype, 0) + 1
            if mtype == "FMT" and _fmt_type(m) in refused:
                problem = _fmt_record_problem(m, DFReader)
                if problem is not None:
                    log.skipped.append(SkippedRegion(start, end - start, problem))
                    continue
            if progress is not None and end >= next_report:
                progress(end, size)
                next_report = end + (1 << 20)
            try:
                if mtype == "PARM" and m.Name in ("SYSID_THISMAV", "MAV_SYSID") and m.Value:
                    sysid = log.sysid = int(m.Value)
                ev = _events(m, mtype, sysid, position, records)
            except (AttributeError, TypeError, ValueError, OverflowError, IndexError,
                    KeyError) as err:
                # a record without a column its type needs, or an impossible value
                log.skipped.append(SkippedRegion(start, end - start,
                                                 f"bad {mtype} record: {_why(err)}"))
                continue
            for e in ev:
                events.append((start, e))
    if prev_end < size:
        log.skipped.append(SkippedRegion(prev_end, size - prev_end, "truncated record"))
    if progress is not None:
        progress(size, size)
    return log


#: Largest plausible time since boot, microseconds (about 10 years).
MAX_TIME_US = 10 * 366 * 86400 * 10**6


def _time_ms(m, column: str = "TimeUS") -> float:
    """Vehicle time in ms of a record; ValueError for a time no boot can have."""
    raw = m.TimeMS * 1000.0 if column == "TimeMS" else getattr(m, column)
    us = float(raw)
    if not 0 <= us <= MAX_TIME_US:
        raise ValueError(f"{column} {raw} is not allowed: expected 0 to {MAX_TIME_US} µs "
                         "since boot")
    return us / 1000.0


class _FormatTable(dict):
    """pymavlink's table of message formats (type -> ``DFFormat``) that refuses a format no
    record can have, noting why in ``refused`` (type -> one line); an earlier format of the
    type stays."""

    def __init__(self, formats: dict, refused: dict[int, str]):
        super().__init__(formats)
        self.refused = refused

    def __setitem__(self, ftype, fmt) -> None:
        problem = _format_problem(fmt)
        if problem is None:
            super().__setitem__(ftype, fmt)
        else:
            self.refused.setdefault(ftype, problem)


def _format_problem(fmt) -> str | None:
    """Why no record can have this format (``None``: it is usable)."""
    shown = fmt.name if fmt.name.isascii() and fmt.name.isprintable() else ascii(fmt.name)
    name = f"FMT record of {shown or '?'} (type {fmt.type})"
    if not 3 <= fmt.len <= 255:
        return f"{name}: length {fmt.len} is not allowed (3 to 255 bytes); its records skipped"
    try:
        size = struct.calcsize(fmt.msg_struct)
    except struct.error:
        return f"{name}: format {fmt.format!r} cannot be unpacked; its records skipped"
    if size != fmt.len - 3:
        return (f"{name}: its columns ({fmt.format}) take {size} bytes but its length "
                f"{fmt.len} leaves {fmt.len - 3}; its records skipped")
    return None


def _bounded_reader(dfreader, refused: dict[int, str]):
    """pymavlink's ``DFReader_binary`` reading through a :class:`_FormatTable` (both of its
    indexers), so that no FMT record can make it loop; ``refused`` fills as it reads."""

    class BoundedReader(dfreader.DFReader_binary):
        def init_arrays(self, progress_callback=None):
            self.formats = _FormatTable(self.formats, refused)
            return super().init_arrays(progress_callback=progress_callback)

        def init_arrays_fast(self, progress_callback=None):
            self.formats = _FormatTable(self.formats, refused)
            return super().init_arrays_fast(progress_callback=progress_callback)

    return BoundedReader


def _fmt_record_problem(m, dfreader) -> str | None:
    """Why the format a FMT record defines cannot be used (``None``: it can)."""
    try:
        fmt = dfreader.DFFormat(int(m.Type), dfreader.null_term(m.Name), int(m.Length),
                                dfreader.null_term(m.Format), dfreader.null_term(m.Columns))
    except Exception as err:  # pymavlink raises what it meets on a bad format
        return f"FMT record of type {m.Type}: {type(err).__name__}: {err}; its records skipped"
    return _format_problem(fmt)


def _fmt_type(m) -> int | None:
    """The type a FMT record defines."""
    try:
        return int(m.Type)
    except (AttributeError, TypeError, ValueError):
        return None


def _why(err: Exception) -> str:
    if isinstance(err, AttributeError):
        name = getattr(err, "name", None) or str(err)
        return f"no {name} column"
    return str(err)


def _fmt_problem(err: Exception, dfreader) -> str:
    """One line for a log whose FMT records pymavlink refuses."""
    text = str(err)
    allowed = "".join(sorted(dfreader.FORMAT_TO_STRUCT))
    if "Unsupported format char" in text:
        return f"FMT record: {text}; allowed format characters: {allowed}"
    return f"cannot read the DataFlash format records: {type(err).__name__}: {text}"


def _events(m, mtype: str, sysid: int, position: str, records) -> list[Event]:
    out: list[Event] = []
    if mtype == "POS" and position == "POS":
        lat, lon = _num(m.Lat), _num(m.Lng)
        ok = not (lat == 0 and lon == 0) and math.isfinite(lat) and math.isfinite(lon)
        out.append(Fix(sysid, _time_ms(m), lat, lon, _num(m.Alt),
                       _num(getattr(m, "RelHomeAlt", math.nan)), ok))
    elif mtype == "GPS":
        if int(getattr(m, "I", 0) or 0) != 0:
            return out
        t = _time_ms(m) if hasattr(m, "TimeUS") else _time_ms(m, "TimeMS")
        status = int(getattr(m, "Status", 0))
        lat, lon = _num(m.Lat), _num(m.Lng)
        ok = status >= 3 and not (lat == 0 and lon == 0)
        if ok and getattr(m, "GWk", 0):
            out.append(TimeSync(sysid, t, gps_to_unix_us(int(m.GWk), int(m.GMS))))
        if position == "GPS":
            out.append(Fix(sysid, t, lat, lon, _num(m.Alt), math.nan, ok))
    elif mtype in _NAMED_RECORDS:
        name = m.Name
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        out.append(Reading(sysid, _time_ms(m), name.rstrip("\x00"), _num(m.Value)))
    if mtype in records:
        spec = records[mtype]
        tcol = spec.get("time", "TimeUS")
        t = _time_ms(m, tcol)
        for column, name in spec.items():
            if column == "time":
                continue
            value = _num(getattr(m, column, math.nan))
            if math.isfinite(value):
                out.append(Reading(sysid, t, name, value))
    return out
