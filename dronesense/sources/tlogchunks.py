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

The slices are read by :func:`~dronesense.sources.tlogslices.iter_slices`.
:func:`load_tlog_chunked` gives the :class:`~dronesense.sources.logevents.LogEvents` that
post-flight pairing takes (what the tlog branch of :func:`~dronesense.sources.logs.load_events`
gives for a file larger than one slice, without a signing key), its events made a slice at a
time (:func:`~dronesense.sources.tlogchunkevents.chunked_event_columns`: no scan of the whole
file is ever held); :func:`tlog_event_columns` gives only its event columns.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.framing import tlog_record
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = [bytes(mavlink.MAVLink_named_value_float_message(100 * k, b"CH4", 1.9).pack(mav))
...        for k in range(200)]
>>> data = b"".join(tlog_record(10**15 + k, r) for k, r in enumerate(raw)) + b"junk"
>>> import tempfile, pathlib
>>> from dronesense.sources.tlogscan import scan_tlog
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

from dronesense.errors import InputError
from dronesense.sources.kinds import detect_kind
from dronesense.sources.logevents import LazyEvents, LogEvents, tlog_events
from dronesense.sources.session_folder import SessionFolder
from dronesense.sources.tlogchunkevents import SLICE_BYTES, chunked_event_columns
from dronesense.sources.tlogdialect import dialect
from dronesense.sources.tlogevents import EVENT_FIELDS, EventColumns, event_columns
from dronesense.sources.tlogscan import PAIRING_TYPES, TlogScan
from dronesense.sources.tlogslices import CHUNK_BYTES, MAX_RECORD, iter_slices

__all__ = ["CHUNK_BYTES", "MAX_RECORD", "iter_slices", "load_tlog_chunked",
           "scan_tlog_chunked", "tlog_event_columns"]

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
    types = tuple(types)
    parts: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in types}
    orders: dict[str, list[np.ndarray]] = {name: [] for name in types}
    out = TlogScan(path=Path(path), size=0)
    counts: Counter[str] = Counter()
    for piece in iter_slices(path, types, chunk_bytes=chunk_bytes, fields=fields,
                             progress=progress, compiled=compiled):
        for name in types:
            parts[name].append(piece.messages.pop(name))
            orders[name].append(piece.order.pop(name))
        out.skipped.extend(piece.skipped)
        out.records += piece.records
        out.size = piece.size
        counts.update(piece.counts)
    for name in types:  # a column at a time, its pieces let go as it is made
        pieces = parts.pop(name)
        out.messages[name] = {f: np.concatenate([p.pop(f) for p in pieces])
                              for f in list(pieces[0])}
        out.order[name] = np.concatenate(orders.pop(name))
    out.counts = _ordered_counts(counts)
    return out


def _ordered_counts(counts: Counter[str]) -> dict[str, int]:
    """Non-zero counts in the scanner's order: message ids ascending (``UNKNOWN_<id>`` too)."""
    ids = dialect().ids
    order = sorted(counts, key=lambda n: ids[n] if n in ids else int(n[len("UNKNOWN_"):]))
    return {n: int(counts[n]) for n in order if counts[n] > 0}


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
    reads (:data:`~dronesense.sources.tlogevents.EVENT_FIELDS`), their events made a slice at a
    time (:func:`~dronesense.sources.tlogchunkevents.chunked_event_columns`).

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
    cols, scan = chunked_event_columns(tlog, chunk_bytes=min(chunk_bytes, SLICE_BYTES),
                                       progress=cb)
    if cols is None:  # repeated packets or a ground station: the whole scan's rules
        scan = scan_tlog_chunked(tlog, chunk_bytes=chunk_bytes, fields=EVENT_FIELDS,
                                 progress=cb)
        cols = event_columns(scan, release=True)  # the scan is kept only if this is None
    log.size, log.messages, log.skipped = scan.size, scan.records, scan.skipped
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
    cols, _ = chunked_event_columns(path, chunk_bytes=min(chunk_bytes, SLICE_BYTES))
    if cols is not None:
        return cols
    return event_columns(scan_tlog_chunked(path, chunk_bytes=chunk_bytes, fields=EVENT_FIELDS),
                         release=True)
