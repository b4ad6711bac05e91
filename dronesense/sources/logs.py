"""Open any flight log (.tlog, session folder, DataFlash .bin, PX4 ULog .ulg, CSV track) and
reduce it to flight events.

:func:`load_events` asks :func:`~dronesense.sources.kinds.detect_kind` which kind of log it is
and reads it with the reader of that kind, keeping every good message and reporting every
skipped byte range. A tlog larger than :data:`~dronesense.sources.tlogchunks.CHUNK_BYTES`
(without a signing key, and not a session with serial payload readings) is read a slice at a
time (:func:`~dronesense.sources.tlogchunks.load_tlog_chunked`): the same events, memory set by
what is kept rather than by the file.

Examples
--------
>>> try:
...     load_events("no/such/flight.tlog")
... except InputError as err:
...     print(err)
no/such/flight.tlog: no such file or directory
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dronesense.sources.tlogchunks as tlogchunks
from dronesense.errors import InputError, ParameterError
from dronesense.events import Event
from dronesense.sources.kinds import detect_kind
from dronesense.sources.logevents import LazyEvents, LogEvents, indexed_tlog_events, tlog_events
from dronesense.sources.session_folder import SessionFolder
from dronesense.sources.tlogevents import event_columns
from dronesense.sources.tlogscan import scan_tlog

__all__ = ["LazyEvents", "LogEvents", "Progress", "detect_kind", "events_of", "load_events",
           "tlog_events"]

Progress = Callable[[str, float, float], None]


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
        if key is None:  # a file over one slice is read a slice at a time
            sliced = tlogchunks.load_tlog_chunked(path, chunk_bytes=tlogchunks.CHUNK_BYTES,
                                                  progress=progress)
            if sliced is not None:
                return sliced
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
            log.events = _with_payload(tlog, indexed_tlog_events(scan), log)
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
