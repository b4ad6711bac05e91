"""Open any flight log (.tlog, session folder, DataFlash .bin, PX4 ULog .ulg, CSV track) and
reduce it to flight events.

:func:`load_events` asks :func:`~dronesense.sources.kinds.detect_kind` which kind of log it is
and reads it with the reader of that kind, keeping every good message and reporting every
skipped byte range.

Examples
--------
>>> try:
...     load_events("no/such/flight.tlog")
... except InputError as err:
...     print(err)
no/such/flight.tlog: no such file or directory
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, ParameterError
from dronesense.events import Event
from dronesense.sources.kinds import detect_kind
from dronesense.sources.session_folder import SessionFolder
from dronesense.sources.tlogevents import EventColumns, event_columns
from dronesense.sources.tlogscan import PAIRING_TYPES, SkippedRegion, TlogScan, scan_tlog

__all__ = ["LazyEvents", "LogEvents", "Progress", "detect_kind", "events_of", "load_events",
           "tlog_events"]

Progress = Callable[[str, float, float], None]


@dataclass
class LogEvents:
    """One log reduced to events.

    Attributes
    ----------
    events
        ``(event, receive time UNIX µs or None)`` in log order.
    skipped
        Byte ranges that held nothing usable.
    messages
        Good records / rows read from the log.
    notes
        Other warnings about the input (no-fix positions, bad CSV times, ...).
    sensors
        Serial sensor prefixes of a session's payload readings (``session.json``
        ``payload_sensors``): their ``SENSOR.NAME`` names map as ``NAME``.
    """

    path: Path
    kind: str
    events: list[tuple[Event, int | None]] = field(default_factory=list)
    skipped: list[SkippedRegion] = field(default_factory=list)
    messages: int = 0
    size: int = 0
    notes: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    #: A tlog's events as arrays (:class:`~dronesense.sources.tlogevents.EventColumns`) when
    #: they could be made at once; ``events`` then lists them only when first used.
    columns: EventColumns | None = None


class LazyEvents(list):
    """The ``(event, receive time)`` list of :class:`EventColumns`, made on first use (its
    length is known without)."""

    def __init__(self, columns: EventColumns):
        super().__init__()
        self._columns: EventColumns | None = columns

    def _fill(self) -> None:
        if self._columns is not None:
            cols, self._columns = self._columns, None
            list.extend(self, cols.events())

    def __len__(self) -> int:
        return len(self._columns) if self._columns is not None else list.__len__(self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self):
        self._fill()
        return list.__iter__(self)

    def __getitem__(self, item):
        self._fill()
        return list.__getitem__(self, item)

    def __eq__(self, other) -> bool:
        self._fill()
        return list.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self._fill()
        return list.__repr__(self)

    def __reversed__(self):
        self._fill()
        return list.__reversed__(self)

    def __contains__(self, item) -> bool:
        self._fill()
        return list.__contains__(self, item)

    def __add__(self, other):
        self._fill()
        return list.__add__(self, other)

    def append(self, item) -> None:
        self._fill()
        list.append(self, item)

    def extend(self, items) -> None:
        self._fill()
        list.extend(self, items)

    def copy(self) -> list:
        self._fill()
        return list(list.__iter__(self))


class _Header:
    __slots__ = ("srcComponent", "srcSystem")

    def __init__(self, sysid: int, compid: int):
        self.srcSystem = sysid
        self.srcComponent = compid


def _lite_class(name: str, fields: Sequence[str]):
    """A minimal message class the MessageAdapter can read (``_type``, ``_header``, fields)."""
    return type(f"Lite_{name}", (), {"__slots__": ("_header", *fields), "_type": name})


def tlog_events(scan: TlogScan) -> list[tuple[Event, int | None]]:
    """Events of a scanned tlog in file order, translated by the listener's MessageAdapter.

    The scan's arrays become light message objects carrying exactly the values pymavlink
    would decode, so the translation rules live in one place.
    """
    return [(ev, recv) for _, (ev, recv) in _indexed_tlog_events(scan)]


def _indexed_tlog_events(scan: TlogScan) -> list[tuple[int, tuple[Event, int]]]:
    """:func:`tlog_events` with the index of each event's record among all the tlog's
    records (the packet count of a session's ``payload.csv``)."""
    from dronesense.sources.messages import MessageAdapter

    parts = []
    for code, name in enumerate(PAIRING_TYPES):
        cols = scan.messages.get(name)
        if cols is None or not len(cols["_offset"]):
            continue
        parts.append((scan.order[name], np.full(len(cols["_offset"]), code),
                      np.arange(len(cols["_offset"]))))
    if not parts:
        return []
    order = np.concatenate([p[0] for p in parts])
    codes = np.concatenate([p[1] for p in parts])
    rows = np.concatenate([p[2] for p in parts])
    perm = np.argsort(order, kind="stable")
    index = order[perm].tolist()
    codes, rows = codes[perm].tolist(), rows[perm].tolist()
    lists = {}
    classes = {}
    for code, name in enumerate(PAIRING_TYPES):
        cols = scan.messages.get(name)
        if cols is None or not len(cols["_offset"]):
            continue
        fields = [k for k in cols if not k.startswith("_")]
        values = []
        for k in fields:
            arr = cols[k]
            values.append([bytes(x) for x in arr] if arr.dtype.kind == "S" else arr.tolist())
        lists[code] = (fields, list(zip(*values, strict=True)), cols["_sysid"].tolist(),
                       cols["_compid"].tolist(), cols["_recv_us"].tolist())
        classes[code] = _lite_class(name, fields)
    adapter = MessageAdapter()
    out: list[tuple[int, tuple[Event, int]]] = []
    headers: dict[tuple[int, int], _Header] = {}
    for k, code, i in zip(index, codes, rows, strict=True):
        fields, vals, sysids, compids, recv = lists[code]
        msg = classes[code]()
        for f, v in zip(fields, vals[i], strict=True):
            setattr(msg, f, v)
        key = (sysids[i], compids[i])
        hdr = headers.get(key)
        if hdr is None:
            hdr = headers[key] = _Header(*key)
        msg._header = hdr
        for ev in adapter.events(msg):
            out.append((k, (ev, recv[i])))
    return out


def _with_payload(tlog: Path, indexed: list[tuple[int, tuple[Event, int]]], log: LogEvents
                  ) -> list[tuple[Event, int | None]]:
    """The events of a recorded tlog with the serial payload readings of the session's
    ``payload.csv`` (beside the tlog, as :func:`dronesense.flight.pipeline.replay` finds it) pushed
    where the listener pushed them; their sensors go to ``log.sensors``."""
    from dronesense.sources.payload.journal import merge_indexed, read_journal
    from dronesense.sources.session_folder import session_settings

    journal = SessionFolder.of(tlog).payload
    if not journal.exists():
        return [item for _, item in indexed]
    readings = read_journal(journal)
    log.sensors = session_settings(tlog).get("sensors", [])
    return [item for _, item in merge_indexed(indexed, readings)]


def load_events(
    path: str | Path,
    *,
    csv_map=None,
    record_map: dict | None = None,
    progress: Progress | None = None,
    key: bytes | None = None,
) -> LogEvents:
    """Open a log of any supported type and reduce it to events.

    Parameters
    ----------
    path
        ``.tlog``, ``.bin``, ``.ulg``, ``.csv`` or a session directory; with ``csv_map``, a
        text table of any extension (``.txt``, ``.dat``).
    csv_map
        A :class:`dronesense.sources.csvtrack.CsvMap`, or the path of its TOML file (required
        for ``.csv``; ``docs/csv-map.md``).
    record_map
        DataFlash custom record mapping (:func:`dronesense.sources.dataflash.load_record_map`),
        or the path of its TOML file.
    progress
        ``progress(description, done, total)``.
    key
        MAVLink 2 signing key: of a tlog, only the packets validly signed with it give events
        (:func:`~dronesense.sources.signing.keep_signed`); the others are counted in
        ``notes``.

    Raises
    ------
    InputError
        If the log does not exist, is of no known kind or cannot be read.
    ParameterError
        ``csv_map``: a CSV track without a column mapping.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    kind = detect_kind(path, mapped=csv_map is not None)
    log = LogEvents(path=path, kind=kind)
    if kind in ("tlog", "session"):
        tlog = SessionFolder(path).tlog if kind == "session" else path
        if not tlog.exists():
            raise InputError("not a session directory (no flight.tlog)", path=path)
        log.path = tlog
        cb = (lambda d, t: progress(f"scan {tlog.name}", d, t)) if progress else None
        scan = scan_tlog(tlog, progress=cb)
        if key is not None:
            from dronesense.sources.signing import keep_signed

            log.notes.extend(keep_signed(scan, tlog, key))
        log.size = scan.size
        log.messages = scan.records
        log.skipped = scan.skipped
        cols = None if SessionFolder.of(tlog).payload.exists() else event_columns(scan)
        if cols is not None:
            log.columns = cols
            log.events = LazyEvents(cols)
        else:
            log.events = _with_payload(tlog, _indexed_tlog_events(scan), log)
    elif kind == "bin":
        from dronesense.sources.dataflash import load_record_map, read_dataflash

        if isinstance(record_map, str | Path):
            record_map = load_record_map(record_map)
        cb = (lambda d, t: progress(f"read {path.name}", d, t)) if progress else None
        df = read_dataflash(path, record_map, progress=cb)
        log.size = df.size
        log.messages = sum(df.counts.values())
        log.skipped = df.skipped
        log.events = [(e, None) for _, e in df.events]
    elif kind == "ulog":
        from dronesense.sources.ulog import read_ulog

        if progress is not None:
            progress(f"read {path.name}", 0, 1)
        ul = read_ulog(path)
        log.size = ul.size
        log.messages = sum(ul.counts.values())
        log.skipped = ul.skipped
        log.notes.extend(ul.notes)
        log.events = [(e, None) for _, e in ul.events]
        if progress is not None:
            progress(f"read {path.name}", 1, 1)
    else:
        from dronesense.sources.csvtrack import load_csv_map, read_csv_track

        if csv_map is None:
            raise ParameterError("csv_map", "a CSV track needs a column mapping (a TOML file "
                                 "naming its time, position and reading columns)", path=path)
        if isinstance(csv_map, str | Path):
            csv_map = load_csv_map(csv_map)
        track = read_csv_track(path, csv_map)
        log.size = path.stat().st_size
        log.messages = track.rows
        log.events = [(e, None) for _, e in track.events]
        if track.bad_times:
            lines = ", ".join(map(str, track.bad_lines[:10]))
            log.notes.append(f"{track.bad_times} row(s) with unreadable time skipped "
                             f"(lines {lines}{', ...' if track.bad_times > 10 else ''})")
        if track.missing:
            log.notes.append(f"{track.missing} missing cell(s) skipped")
        if track.backwards:
            log.notes.append(f"{track.backwards} row(s) earlier than the row before")
        log.notes.extend(track.notes)
    return log


def events_of(log: LogEvents, kind: type) -> list:
    """Events of one type from a log (helper for tests and notebooks)."""
    return [e for e, _ in log.events if isinstance(e, kind)]
