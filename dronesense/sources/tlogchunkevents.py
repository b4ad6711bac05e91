"""The event columns of a big ``.tlog`` made slice by slice: no scan of the whole file held.

:func:`~dronesense.sources.tlogevents.event_columns` of
:func:`~dronesense.sources.tlogchunks.scan_tlog_chunked` holds, for a moment, every decoded
pairing message of the file beside the events made of them (about 550 MB for a 10 M-message
log). :func:`chunked_event_columns` gives the same
:class:`~dronesense.sources.tlogevents.EventColumns` holding one slice's scan at a time: each
slice (:func:`~dronesense.sources.tlogslices.iter_slices`) is turned into events by
:func:`~dronesense.sources.tlogevents.event_columns` itself, with what its rules read from
earlier in the file carried over:

* the last HEARTBEAT of every (system, component) seen before, put ahead of the slice's own
  (a component that sent one counts as an autopilot), their statuses then dropped;
* per system, the last GPS_RAW_INT taken from an autopilot, put ahead of the slice's own (the
  GNSS fix type in force at the slice's first positions);
* the names of NAMED_VALUE_FLOAT / NAMED_VALUE_INT readings, coded in the end as the whole
  log codes them.

Repeated packets (:mod:`dronesense.sources.duplicates`) are looked for slice by slice, each
source's last packet per sequence number carried over: when a packet may repeat the one
before it with its source and number (the same checksum, length and payload hash, within
:data:`~dronesense.sources.duplicates.WINDOW` packets), ``None`` is returned and the caller
reads the log with the whole log's rules, as before. So does a HEARTBEAT naming a ground
station (the message-by-message adapter reads those).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.framing import tlog_record
>>> from dronesense.sources.tlogchunks import tlog_event_columns
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = [bytes(mavlink.MAVLink_named_value_float_message(100 * k, b"CH4", 1.9).pack(mav))
...        for k in range(200)]
>>> data = b"".join(tlog_record(10**15 + k, r) for k, r in enumerate(raw))
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "f.tlog"
>>> _ = path.write_bytes(data)
>>> cols, scan = chunked_event_columns(path, chunk_bytes=1024)
>>> cols.events() == tlog_event_columns(path, chunk_bytes=10**6).events(), scan.records
(True, 200)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.sources.duplicates import WINDOW
from dronesense.sources.tlogevents import EVENT_FIELDS, EventColumns, event_columns
from dronesense.sources.tlogscan import PAIRING_TYPES, TlogScan
from dronesense.sources.tlogslices import CHUNK_BYTES, iter_slices

__all__ = ["SLICE_BYTES", "chunked_event_columns"]

#: Bytes per slice when events are made a slice at a time: a slice's scan is the transient
#: memory (smaller slices cost no time: each is scanned and turned into events at once).
SLICE_BYTES = 8 * 2**20

_KINDS = ("fixes", "readings", "syncs", "statuses")
_NAMED = ("NAMED_VALUE_FLOAT", "NAMED_VALUE_INT")


def _keys(cols: dict[str, np.ndarray]) -> np.ndarray:
    """A 64-bit key per packet, equal for packets equal in source, sequence, checksum, length
    and payload hash (what a repeated packet shares with its original)."""
    with np.errstate(over="ignore"):
        mix = (cols["_sysid"].astype(np.uint64) << np.uint64(48)
               | cols["_compid"].astype(np.uint64) << np.uint64(40)
               | cols["_seq"].astype(np.uint64) << np.uint64(32)
               | cols["_crc"].astype(np.uint64) << np.uint64(16)
               | (cols["_length"].astype(np.uint64) & np.uint64(0xFFFF)))
        return cols["_hash"] ^ (mix * np.uint64(0xC2B2AE3D27D4EB4F))


class _Repeats:
    """Whether a packet may repeat the last packet of its source with its sequence number,
    among the last :data:`WINDOW` packets of that source (what
    :func:`~dronesense.sources.duplicates.duplicate_mask` looks for: the same bytes), checked
    slice by slice, each source's last packet per sequence number carried over. When none
    may, the whole log has no repeated packet."""

    def __init__(self) -> None:
        self.count: dict[int, int] = {}  # packets of each source so far
        self.last = (np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, np.int64))

    def may_repeat(self, piece: TlogScan) -> bool:
        """Take in a slice; True if one of its packets may repeat an earlier one."""
        msgs = [piece.messages[name] for name in PAIRING_TYPES]
        perm = np.argsort(np.concatenate([piece.order[name] for name in PAIRING_TYPES]),
                          kind="stable")  # runs in file order: merged
        key = np.concatenate([_keys(m) for m in msgs])[perm]
        src = np.concatenate([m["_sysid"].astype(np.int64) << 8 | m["_compid"] for m in msgs])
        group = (src[perm] << 8) | np.concatenate([m["_seq"] for m in msgs])[perm]
        del perm
        index = np.empty(group.size, dtype=np.int64)  # the packet's index within its source
        source = group >> 8
        for s in np.unique(source).tolist():
            at = np.flatnonzero(source == s)
            start = self.count.get(s, 0)
            index[at] = np.arange(start, start + at.size)
            self.count[s] = start + at.size
        del source
        group, key, index = (np.concatenate([a, b]) for a, b in zip(self.last,
                                                                    (group, key, index),
                                                                    strict=True))
        by = np.argsort(group, kind="stable")  # per source and number, in file order
        g, k, i = group[by], key[by], index[by]
        same = g[1:] == g[:-1]
        if np.any(same & (k[1:] == k[:-1]) & (i[1:] - i[:-1] <= WINDOW)):
            return True
        end = np.append(~same, True)  # the last packet of each source and number
        self.last = (g[end], k[end], i[end])
        return False


def _ahead(rows: list[dict[str, np.ndarray]], cols: dict[str, np.ndarray],
           order: np.ndarray, at: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``cols`` with carried one-row ``rows`` put ahead of them, all at ``order`` ``at``."""
    if not rows:
        return cols, order
    out = {k: np.concatenate([*(r[k] for r in rows), v]) for k, v in cols.items()}
    return out, np.concatenate([np.full(len(rows), at, dtype=order.dtype), order])


class _Columns:
    """Columns appended to slice after slice, in buffers grown ahead: a buffer's pages that
    are never written take no memory, and no pile of pieces is joined in the end (whose
    freed room the allocator would keep)."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}
        self.n = 0

    def append(self, cols: dict[str, np.ndarray], expect: float) -> None:
        """Add a slice's columns; ``expect``: about how many rows the whole log holds."""
        m = len(next(iter(cols.values()))) if cols else 0
        for k, v in cols.items():
            buf = self.buffers.get(k)
            if buf is None or buf.size < self.n + m:
                room = max(int(expect * 1.5), 2 * (self.n + m), 1024)
                grown = np.empty(room, dtype=v.dtype)
                if buf is not None:
                    grown[:self.n] = buf[:self.n]
                buf = self.buffers[k] = grown
            buf[self.n:self.n + m] = v
        self.n += m

    def columns(self) -> dict[str, np.ndarray]:
        """The columns (views of the buffers: only the rows written are held in memory)."""
        return {k: v[:self.n] for k, v in self.buffers.items()}


def _row(cols: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {k: v[i:i + 1].copy() for k, v in cols.items()}


class _Carry:
    """What a slice's rules read from earlier in the file."""

    def __init__(self) -> None:
        self.heartbeats: dict[int, dict[str, np.ndarray]] = {}  # (sysid << 8 | compid) -> row
        self.gps: dict[int, dict[str, np.ndarray]] = {}  # sysid -> last autopilot row

    def augmented(self, piece: TlogScan) -> TlogScan:
        """The slice's scan with the carried rows ahead (HEARTBEATs at order -2, GPS at -1)."""
        out = TlogScan(path=None, size=piece.size)
        out.messages, out.order = dict(piece.messages), dict(piece.order)
        for name, rows, at in (("HEARTBEAT", list(self.heartbeats.values()), -2),
                               ("GPS_RAW_INT", list(self.gps.values()), -1)):
            out.messages[name], out.order[name] = _ahead(rows, piece.messages[name],
                                                         piece.order[name], at)
        return out

    def update(self, piece: TlogScan) -> None:
        """Take in a slice (before its columns are released)."""
        hb, hb_order = piece.messages["HEARTBEAT"], piece.order["HEARTBEAT"]
        hb_key = hb["_sysid"].astype(np.int64) << 8 | hb["_compid"].astype(np.int64)
        gps, gps_order = piece.messages["GPS_RAW_INT"], piece.order["GPS_RAW_INT"]
        if gps_order.size:
            ok = gps["_compid"] == 1
            other = np.flatnonzero(~ok)
            if other.size:  # from another component: after an autopilot HEARTBEAT of its ids
                key = (gps["_sysid"][other].astype(np.int64) << 8
                       | gps["_compid"][other].astype(np.int64))
                for k in np.unique(key).tolist():
                    seen = hb_order[hb_key == k]
                    first = -2 if k in self.heartbeats else seen[0] if seen.size else None
                    if first is not None:
                        rows = other[key == k]
                        ok[rows] = first < gps_order[rows]
            ok = np.flatnonzero(ok)
            sysid = gps["_sysid"][ok]
            for s in np.unique(sysid).tolist():
                row = _row(gps, int(ok[np.flatnonzero(sysid == s)[-1]]))
                row["_compid"][:] = 1  # an autopilot's in any later slice
                self.gps[s] = row
        for k in np.unique(hb_key).tolist():
            self.heartbeats[k] = _row(hb, int(np.flatnonzero(hb_key == k)[-1]))


def _names(raws: dict[str, set[bytes]]) -> list[str]:
    """Reading names in the order :func:`~dronesense.sources.tlogevents.event_columns` codes
    them over the whole log."""
    names: list[str] = []
    for name in _NAMED:
        for r in sorted(raws[name]):
            text = r.decode("ascii", "replace").rstrip("\x00")
            if text not in names:
                names.append(text)
    return names


def chunked_event_columns(path: str | Path, *, chunk_bytes: int = CHUNK_BYTES,
                          progress: Callable[[int, int], None] | None = None,
                          compiled: bool | None = False
                          ) -> tuple[EventColumns, TlogScan] | tuple[None, None]:
    """:func:`~dronesense.sources.tlogevents.event_columns` of a tlog scanned in slices,
    made a slice at a time (see the module docstring).

    Parameters
    ----------
    path
        The ``.tlog`` file.
    chunk_bytes, progress
        As for :func:`~dronesense.sources.tlogchunks.scan_tlog_chunked`.
    compiled
        The record walk (:func:`~dronesense.sources.tlogscan.scan_tlog`'s ``compiled``).
        Default: numpy's, which on slices of :data:`SLICE_BYTES` is as fast as the compiled
        one without the memory that loading the compiled kernels takes (about 130 MB).

    Returns
    -------
    columns, scan
        The event columns and a scan holding the file's ``records``, ``skipped`` regions and
        ``size`` (no columns); or ``None`` for both, for a log with repeated packets or a
        ground station's HEARTBEAT (read it with ``event_columns(scan_tlog_chunked(...))``).
    """
    out = TlogScan(path=Path(path), size=0)
    carry = _Carry()
    repeats = _Repeats()
    raws: dict[str, set[bytes]] = {name: set() for name in _NAMED}
    store = {k: _Columns() for k in _KINDS}
    names: list[list[str]] = []
    bad = 0
    done = [0]

    def noted(pos: int, size: int) -> None:
        done[0] = pos
        if progress is not None:
            progress(pos, size)

    for piece in iter_slices(path, PAIRING_TYPES, chunk_bytes=chunk_bytes,
                             fields=EVENT_FIELDS, progress=noted, compiled=compiled):
        out.records += piece.records
        out.size = piece.size
        out.skipped.extend(piece.skipped)
        hb = piece.messages["HEARTBEAT"]
        if np.any((hb["type"] == mavlink.MAV_TYPE_GCS)
                  | (hb["autopilot"] == mavlink.MAV_AUTOPILOT_INVALID)):
            return None, None  # the adapter decides which component is what
        if repeats.may_repeat(piece):
            return None, None  # the repeated-packet rule over the whole log
        for name in _NAMED:
            raws[name].update(np.unique(piece.messages[name]["name"]).tolist())
        scan = carry.augmented(piece)
        carry.update(piece)
        del piece
        cols = event_columns(scan, release=True)
        del scan
        if cols is None:  # pragma: no cover - the HEARTBEATs were checked above
            return None, None
        st = cols.statuses
        mine = st["order"] >= 0  # the carried HEARTBEATs are no statuses of this slice
        cols.statuses = {k: v[mine] for k, v in st.items()}
        scale = out.size / max(done[0], 1)  # the whole file against what is read
        for kind in _KINDS:
            rows = getattr(cols, kind)
            store[kind].append(rows, (store[kind].n + len(rows["order"])) * scale)
        if cols.names:  # codes into every slice's names, recoded below
            lo, hi = store["readings"].n - len(cols.readings["order"]), store["readings"].n
            store["readings"].buffers["name"][lo:hi] += len(names)
            names.extend(cols.names)
        bad += cols.bad_positions
        del cols
    every = _names(raws)
    index = {n: i for i, n in enumerate(every)}
    joined = {kind: store[kind].columns() for kind in _KINDS}
    if names:
        recode = np.array([index[n] for n in names], dtype=np.int32)
        joined["readings"]["name"][:] = recode[joined["readings"]["name"]]
    return EventColumns(joined["fixes"], joined["readings"], joined["syncs"],
                        joined["statuses"], every, 0, bad), out
