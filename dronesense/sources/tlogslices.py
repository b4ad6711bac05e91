"""A big ``.tlog`` read a slice at a time, each slice cut where a record starts.

:func:`iter_slices` reads a slice of ``chunk_bytes`` (plus a small margin) from where the walk
over the whole file stands, scans it, cuts it at the last wanted record that starts at least
a whole record length (:data:`MAX_RECORD`) before its end (every decision the walk makes
before the cut reads only bytes inside the slice), counts the records after the cut on their
own and leaves them for the next slice, and gives what the whole-file scan holds between two
cuts (see :mod:`dronesense.sources.tlogchunks`, which joins them into the whole-file scan, and
:mod:`dronesense.sources.tlogchunkevents`, which turns each into events).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.framing import tlog_record
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = [bytes(mavlink.MAVLink_named_value_float_message(100 * k, b"CH4", 1.9).pack(mav))
...        for k in range(200)]
>>> data = b"".join(tlog_record(10**15 + k, r) for k, r in enumerate(raw))
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "f.tlog"
>>> _ = path.write_bytes(data)
>>> [s.records for s in iter_slices(path, ("NAMED_VALUE_FLOAT",), chunk_bytes=2048)][:3]
[75, 75, 50]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, ParameterError
from dronesense.sources.tlogrecords import COMPILED_MIN_BYTES, find_records
from dronesense.sources.tlogscan import PAIRING_TYPES, SkippedRegion, TlogScan, scan_tlog

__all__ = ["CHUNK_BYTES", "MARGIN", "MAX_RECORD", "iter_slices"]

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


def iter_slices(
    path: str | Path,
    types: Iterable[str] = PAIRING_TYPES,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    fields: Mapping[str, Iterable[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    compiled: bool | None = None,
) -> Iterator[TlogScan]:
    """The slices of :func:`scan_tlog_chunked`, one :class:`~dronesense.sources.tlogscan.TlogScan`
    each, in file order, as they are read (the parameters are those of
    :func:`scan_tlog_chunked`).

    Each slice's scan holds what the whole-file scan holds between its cut and the previous
    one: its ``records``, ``counts`` and ``skipped`` regions, and the wanted types' columns with
    ``_offset`` in the file and ``order`` among all the file's records. Its ``path`` is
    ``None`` and its ``size`` the file's.

    Raises
    ------
    InputError, ParameterError
        As :func:`scan_tlog_chunked`.
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
    pos = done = 0
    while True:
        buf, scan, cut = _slice(path, pos, size, chunk_bytes, types, compiled)
        piece = TlogScan(path=None, size=size)
        piece.records, part_counts = scan.records, Counter(scan.counts)
        if cut < buf.size:  # the records after the cut belong to the next slice
            tail = scan_tlog(buf[cut:], (), compiled=compiled)
            piece.records -= tail.records
            part_counts.subtract(tail.counts)
        del buf
        piece.counts = {n: c for n, c in part_counts.items() if c > 0}
        for name in types:
            cols = scan.messages.pop(name)
            k = int(np.searchsorted(cols["_offset"], cut))
            wanted = keep[name]
            cols = {f: v[:k].copy() for f, v in cols.items()  # copies: nothing holds the slice
                    if wanted is None or f.startswith("_") or f in wanted}
            cols["_offset"] += pos
            piece.messages[name] = cols
            piece.order[name] = scan.order[name][:k] + done
            del cols  # nothing of this slice's scan outlives it
        piece.skipped = [SkippedRegion(r.offset + pos, r.length, r.reason)
                         for r in scan.skipped if r.offset < cut]
        del scan
        pos += cut
        done += piece.records
        if progress is not None:
            progress(pos, size)
        yield piece
        if pos >= size:
            return
