"""A log reduced to flight events (:class:`LogEvents`), and a scanned tlog's events made by
the listener's MessageAdapter (:func:`tlog_events`).

:func:`~dronesense.sources.logs.load_events` fills a :class:`LogEvents` from any log kind;
:func:`~dronesense.sources.tlogchunks.load_tlog_chunked` from a big tlog read in slices.

Examples
--------
>>> from dronesense.sources.tlogscan import TlogScan
>>> tlog_events(TlogScan(path=None, size=0))
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.events import Event
from dronesense.sources.tlogevents import EventColumns
from dronesense.sources.tlogscan import PAIRING_TYPES, SkippedRegion, TlogScan

__all__ = ["LazyEvents", "LogEvents", "indexed_tlog_events", "tlog_events"]


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
    return [(ev, recv) for _, (ev, recv) in indexed_tlog_events(scan)]


def indexed_tlog_events(scan: TlogScan) -> list[tuple[int, tuple[Event, int]]]:
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
