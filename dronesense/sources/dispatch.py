"""The one source dispatcher: any input -> the reader that reads it.

:func:`open_source` takes what a user names as input and opens it with the right reader:

==========================================  ===============================================
connection string (``udpin:``, ``udpout:``,  a live :class:`~dronesense.sources.link.Link`
``udp:``, ``tcp:``, ``tcpin:``) or a serial  (opened, with ``baud`` for serial devices)
device (``/dev/ttyUSB0``, ``COM3``)
session folder, ``.tlog``, DataFlash         :class:`~dronesense.sources.logs.LogEvents`
``.bin``/``.log``, PX4 ULog ``.ulg``, CSV    from :func:`~dronesense.sources.logs.load_events`
track                                        (a CSV track with ``csv_map``)
==========================================  ===============================================

Which is which is decided by :func:`~dronesense.sources.kinds.is_connection` and
:func:`~dronesense.sources.kinds.detect_kind`, the one place that tells log kinds apart.

Examples
--------
>>> import socket
>>> with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
...     s.bind(("127.0.0.1", 0))
...     port = s.getsockname()[1]
>>> link = open_source(f"udpin:127.0.0.1:{port}")
>>> type(link).__name__, link.endpoint.port == port
('Link', True)
>>> link.close()
"""

from __future__ import annotations

from pathlib import Path

from dronesense.errors import InputError
from dronesense.sources.kinds import is_connection
from dronesense.sources.logs import LogEvents, Progress, load_events

__all__ = ["open_source"]


def open_source(source: str | Path, *, baud: int | None = None, csv_map=None,
                record_map=None, progress: Progress | None = None):
    """Open a live link or read a flight log, whichever ``source`` names.

    Parameters
    ----------
    source
        A connection string or serial device (a live link), or the path of a session folder,
        ``.tlog``, DataFlash ``.bin``/``.log``, PX4 ULog ``.ulg`` or CSV track.
    baud
        Serial speed of a serial device (57600 if not given); links only.
    csv_map
        Column mapping of a CSV track: a :class:`~dronesense.sources.csvtrack.CsvMap` or the
        path of its TOML file; logs only.
    record_map
        DataFlash custom record mapping, or the path of its TOML file; logs only.
    progress
        ``progress(description, done, total)`` while a log is read; logs only.

    Returns
    -------
    Link or LogEvents
        The opened :class:`~dronesense.sources.link.Link` (the caller closes it), or the
        log reduced to events.

    Raises
    ------
    InputError
        If the source does not exist or is of no known kind (one line, naming it).
    ParameterError
        ``csv_map``: a CSV track without a column mapping.
    TypeError
        For an option of the other kind of source (``baud`` for a log, ``csv_map`` for a
        link, ...).
    """
    if is_connection(source):
        given = [k for k, v in (("csv_map", csv_map), ("record_map", record_map),
                                ("progress", progress)) if v is not None]
        if given:
            raise TypeError(f"{', '.join(given)}: not an option of a live link ({source})")
        from dronesense.sources.link import Link

        return Link(str(source), 57600 if baud is None else baud)
    if baud is not None:
        raise TypeError(f"baud: not an option of a flight log ({source})")
    if not isinstance(source, str | Path):
        raise TypeError(f"source: expected a path or a connection string, got {source!r}")
    if not Path(source).exists():
        raise InputError("no such file, directory or connection", path=source)
    log: LogEvents = load_events(source, csv_map=csv_map, record_map=record_map,
                                 progress=progress)
    return log
