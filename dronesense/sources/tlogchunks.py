"""A big ``.tlog`` scanned in slices: memory set by the messages kept, not by the file.

:func:`~dronesense.sources.tlogscan.scan_tlog` reads the whole file and walks all its records
at once, so its memory grows with the file (about 2 GB for a 10 M-message log).
:func:`scan_tlog_chunked` gives the identical :class:`~dronesense.sources.tlogscan.TlogScan`
(the same records, skipped regions, counts, and per wanted type the same field arrays) while
holding one slice of the file at a time:

* a slice of ``chunk_bytes`` (plus a small margin) is read from the current position (always
  where the walk over the whole file stands: the start of a record, or 0) and scanned;
* the slice is cut at the last wanted record that starts at least a whole record length
  (:data:`MAX_RECORD`) before the slice's end. Every decision the walk makes before the cut
  reads only bytes inside the slice, so the records, the skipped regions (none straddles the
  cut: a record starts there) and their reasons are those of the whole-file walk;
* the records after the cut are counted by scanning that short tail on its own (the walk from
  a record start is the same in the slice and in the tail), and left for the next slice;
* only the wanted types' columns before the cut are kept, optionally only some of their
  fields (``fields``: :data:`~dronesense.sources.tlogevents.EVENT_FIELDS` for pairing).

A slice without a wanted record in its margin is cut at any record the walk accepted; one
without any record there (a stretch of bytes longer than the slice that holds no record) is
read again larger, so a cut always falls on a record start.

:func:`load_tlog_chunked` turns such a scan into the
:class:`~dronesense.sources.logevents.LogEvents` that post-flight pairing takes (what the tlog
branch of :func:`~dronesense.sources.logs.load_events` gives for a file larger than one slice,
without a signing key); :func:`tlog_event_columns` gives only its event columns.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.framing import tlog_record
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = [bytes(mavlink.MAVLink_named_value_float_message(100 * k, b"CH4", 1.9).pack(mav))
...        for k in range(200)]
>>> data = b"".join(tlog_record(10**15 + k, r) for k, r in enumerate(raw)) + b"junk"
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "f.tlog"
>>> _ = path.write_bytes(data)
>>> whole, sliced = scan_tlog(path), scan_tlog_chunked(path, chunk_bytes=1024)
>>> sliced.records, sliced.skipped == whole.skipped, sliced.counts == whole.counts
(200, True, True)
>>> bool((sliced.messages["NAMED_VALUE_FLOAT"]["_offset"]
...       == whole.messages["NAMED_VALUE_FLOAT"]["_offset"]).all())
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError, ParameterError
from dronesense.sources.kinds import detect_kind
from dronesense.sources.logevents import LazyEvents, LogEvents, tlog_events
from dronesense.sources.session_folder import SessionFolder
from dronesense.sources.tlogevents import EVENT_FIELDS, EventColumns, event_columns
from dronesense.sources.tlogrecords import COMPILED_MIN_BYTES, find_records
from dronesense.sources.tlogscan import PAIRING_TYPES, SkippedRegion, TlogScan, scan_tlog

__all__ = ["CHUNK_BYTES", "MAX_RECORD", "load_tlog_chunked", "scan_tlog_chunked",
           "tlog_event_columns"]

#: Bytes read per slice by default (a file no larger is scanned in one piece).
CHUNK_BYTES = 64 * 2**20

#: The longest tlog record: 8-byte timestamp, MAVLink 2 header (10), payload (255), CRC (2)
#: and signature (13). A walk decision at an offset reads no byte further on than this.
MAX_RECORD = 8 + 10 + 255 + 2 + 13

#: Bytes read past a slice, at most, where its cut is looked for (a sixteenth of a small
#: slice, at least two records).
MARGIN = 1 << 16


def _read(path: Path, offset: int, count: int) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=np.uint8, count=count, offset=offset)
    except OSError as err:
        raise InputError(f"cannot read tlog: {err.strerror or err}", path=path) from None


def _last_start(scan: TlogScan, types: Iterable[str], limit: int) -> int:
    """The offset of the last wanted record starting in ``(0, limit]`` (0 if none)."""
    best = 0
    for name in types:
        off = scan.messages[name]["_offset"]
        k = int(np.searchsorted(off, limit, side="right"))
        if k and int(off[k - 1]) > best:
            best = int(off[k - 1])
    return best


def _any_start(buf: np.ndarray, limit: int, compiled: bool) -> int:
    """The offset of the last record (any type) starting in ``(0, limit]`` (0 if none)."""
    starts = find_records(buf, compiled=compiled)[0]
    k = int(np.searchsorted(starts, limit, side="right"))
    return int(starts[k - 1]) if k else 0


def _slice(path: Path, pos: int, size: int, chunk: int, types: tuple[str, ...],
           compiled: bool | None) -> tuple[np.ndarray, TlogScan, int]:
    """Read and scan the slice from ``pos``; where to cut it (its length if it is the last)."""
    extra = max(2 * MAX_RECORD, min(MARGIN, chunk // 16))
    while True:
        end = min(size, pos + chunk + extra)
        buf = _read(path, pos, end - pos)
        scan = scan_tlog(buf, types, compiled=compiled)
        if end >= size:
            return buf, scan, int(buf.size)
        limit = buf.size - MAX_RECORD
        cut = _last_start(scan, types, limit)
        if cut == 0:
            cut = _any_start(buf, limit, bool(compiled))
        if cut > 0:
            return buf, scan, cut
        extra *= 2  # no record in the whole slice after its first: read on


def scan_tlog_chunked(
    path: str | Path,
    types: Iterable[str] = PAIRING_TYPES,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    fields: Mapping[str, Iterable[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    compiled: bool | None = None,
) -> TlogScan:
    """:func:`~dronesense.sources.tlogscan.scan_tlog` of a file, read a slice at a time.

    Parameters
    ----------
    path
        The ``.tlog`` file.
    types
        Message names to decode.
    chunk_bytes
        Bytes per slice (at least :data:`MAX_RECORD`).
    fields
        Per type, the payload fields to keep (every ``_`` column is always kept); types not
        named keep all. ``None``: all (the scan is then equal to the whole-file scan).
    progress
        Called as ``progress(bytes done, file size)`` after each slice.
    compiled
        As for :func:`~dronesense.sources.tlogscan.scan_tlog` (default: the compiled walk for
        a file of at least :data:`~dronesense.sources.tlogrecords.COMPILED_MIN_BYTES`).

    Returns
    -------
    TlogScan
        The scan of the whole file (``path`` and ``size`` of the file).

    Raises
    ------
    InputError
        If the file cannot be read.
    ParameterError
        ``chunk_bytes``: shorter than one record.
    """
    path = Path(path)
    types = tuple(types)
    if chunk_bytes < MAX_RECORD:
        raise ParameterError("chunk_bytes", f"must be at least {MAX_RECORD} bytes, "
                             f"got {chunk_bytes}")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(f"cannot read tlog: {err.strerror or err}", path=path) from None
    if compiled is None and size >= COMPILED_MIN_BYTES:
        compiled = True
    keep = {name: None if fields is None or name not in fields else set(fields[name])
            for name in types}
    parts: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in types}
    orders: dict[str, list[np.ndarray]] = {name: [] for name in types}
    out = TlogScan(path=path, size=size)
    counts: Counter[str] = Counter()
    pos = 0
    while True:
        buf, scan, cut = _slice(path, pos, size, chunk_bytes, types, compiled)
        records, part_counts = scan.records, Counter(scan.counts)
        if cut < buf.size:  # the records after the cut belong to the next slice
            tail = scan_tlog(buf[cut:], (), compiled=compiled)
            records -= tail.records
            part_counts.subtract(tail.counts)
        del buf
        for name in types:
            cols = scan.messages[name]
            k = int(np.searchsorted(cols["_offset"], cut))
            wanted = keep[name]
            piece = {f: v[:k].copy() for f, v in cols.items()  # copies: nothing holds the slice
                     if wanted is None or f.startswith("_") or f in wanted}
            piece["_offset"] = piece["_offset"] + pos
            parts[name].append(piece)
            orders[name].append(scan.order[name][:k] + out.records)
            del cols, piece  # nothing of this slice's scan outlives it
        out.skipped.extend(SkippedRegion(r.offset + pos, r.length, r.reason)
                           for r in scan.skipped if r.offset < cut)
        out.records += records
        counts.update(part_counts)
        del scan
        pos += cut
        if progress is not None:
            progress(pos, size)
        if pos >= size:
            break
    for name in types:  # a column at a time, its pieces let go as it is made
        pieces = parts.pop(name)
        out.messages[name] = {f: np.concatenate([p.pop(f) for p in pieces])
                              for f in list(pieces[0])}
        out.order[name] = np.concatenate(orders.pop(name))
    out.counts = _ordered_counts(counts)
    return out


def _ordered_counts(counts: Counter[str]) -> dict[str, int]:
    """Non-zero counts in the scanner's order: known ids ascending, then unknown ids."""
    def key(name: str) -> tuple[int, int]:
        if name.startswith("UNKNOWN_"):
            return 1, int(name[8:])
        return 0, int(getattr(mavlink, f"MAVLINK_MSG_ID_{name}"))

    return {n: int(counts[n]) for n in sorted(counts, key=key) if counts[n] > 0}


def _tlog_of(path: Path) -> Path | None:
    """The tlog of a ``.tlog`` path or a session folder (``None`` for anything else)."""
    try:
        kind = detect_kind(path)
    except InputError:
        return None
    if kind == "tlog":
        return path
    if kind == "session":
        return SessionFolder(path).tlog
    return None


def load_tlog_chunked(path: str | Path, *, chunk_bytes: int = CHUNK_BYTES,
                      progress: Callable[[str, float, float], None] | None = None
                      ) -> LogEvents | None:
    """The :class:`~dronesense.sources.logevents.LogEvents` of a tlog (or a session's
    ``flight.tlog``) larger than ``chunk_bytes``, scanned in slices keeping only what pairing
    reads (:data:`~dronesense.sources.tlogevents.EVENT_FIELDS`).

    ``None`` when the path is not such a file, or a session with serial payload readings
    (then :func:`~dronesense.sources.logs.load_events` reads it: the same events).
    """
    path = Path(path)
    if not path.exists():
        return None
    tlog = _tlog_of(path)
    if tlog is None or not tlog.is_file() or SessionFolder.of(tlog).payload.exists():
        return None
    if tlog.stat().st_size <= chunk_bytes:
        return None
    log = LogEvents(path=tlog, kind="session" if tlog != path else "tlog")
    cb = (lambda d, t: progress(f"scan {tlog.name}", d, t)) if progress else None
    scan = scan_tlog_chunked(tlog, chunk_bytes=chunk_bytes, fields=EVENT_FIELDS, progress=cb)
    log.size, log.messages, log.skipped = scan.size, scan.records, scan.skipped
    cols = event_columns(scan, release=True)  # the scan is kept only if this is None
    if cols is not None:
        log.columns = cols
        log.events = LazyEvents(cols)
    else:
        log.events = tlog_events(scan)
    return log


def tlog_event_columns(path: str | Path, *, chunk_bytes: int = CHUNK_BYTES
                       ) -> EventColumns | None:
    """:func:`~dronesense.sources.tlogevents.event_columns` of a tlog file, scanned in slices
    (``None`` where the message-by-message adapter must read it)."""
    return event_columns(scan_tlog_chunked(path, chunk_bytes=chunk_bytes, fields=EVENT_FIELDS),
                         release=True)
