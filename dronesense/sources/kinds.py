"""What an input is, decided in one place: a kind of flight log, or a live connection.

Every reader that accepts "a log" asks :func:`detect_kind` which one it is (by its suffix,
or by its first bytes when the suffix says nothing); :func:`is_connection` tells a live
connection string from a path. Both only look: they import nothing heavy and read at most 16
bytes.

Examples
--------
>>> detect_kind("flight.BIN"), detect_kind("a.tlog"), detect_kind("track.txt.csv")
('bin', 'tlog', 'csv')
>>> detect_kind("log_12_2024-3-18-14-49-10.ulg")
'ulog'

>>> is_connection("udpin:127.0.0.1:14550"), is_connection("flights/a/flight.tlog")
(True, False)
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from dronesense.errors import InputError

__all__ = ["CONNECTION_PREFIXES", "LOG_KINDS", "ULOG_MAGIC", "detect_kind", "is_connection"]

#: The kinds of flight log :func:`detect_kind` tells apart.
LOG_KINDS = ("tlog", "session", "bin", "ulog", "csv")

#: The first bytes of a PX4 ULog file ("ULog", 01 12 35).
ULOG_MAGIC = b"ULog\x01\x12\x35"

#: Connection string prefixes of live links (pymavlink style).
CONNECTION_PREFIXES = ("udpin:", "udpout:", "udpbcast:", "udp:", "tcpin:", "tcp:")

_WINDOWS_PORT = re.compile(r"COM\d+(,\d+)?$", re.IGNORECASE)


def detect_kind(path: str | Path, *, mapped: bool = False) -> str:
    """``tlog``, ``session``, ``bin``, ``ulog`` or ``csv`` from the path (content for unknown
    suffixes).

    A directory is a ``session``; ``.tlog``, ``.bin`` (also ``.log`` and ``.df``, DataFlash),
    ``.ulg`` (PX4 ULog) and ``.csv`` go by their suffix; any other file by its first bytes (a
    ULog or DataFlash header, or a tlog timestamp followed by a MAVLink magic byte). With
    ``mapped`` (a column map is given), any other file is a ``csv`` table, whatever its
    suffix (``.txt``, ``.dat``, ``.tsv``).

    Raises
    ------
    InputError
        If the file cannot be read, or is none of these.

    Examples
    --------
    >>> detect_kind("00000042.log")
    'bin'
    """
    path = Path(path)
    if path.is_dir():
        return "session"
    suffix = path.suffix.lower()
    if suffix in (".tlog", ".bin", ".csv"):
        return suffix[1:]
    if suffix == ".ulg":
        return "ulog"
    if suffix in (".log", ".df"):
        return "bin"
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=path) from None
    if head[:2] == b"\xa3\x95":
        return "bin"
    if head[:7] == ULOG_MAGIC:
        return "ulog"
    if len(head) > 8 and head[8] in (0xFE, 0xFD):
        return "tlog"
    if mapped:
        return "csv"
    if suffix in (".txt", ".tsv", ".dat"):
        raise InputError("unknown log type; a text table? give its column map (--csv-map "
                         "MAP.toml, csv_map=) to read it as a CSV track", path=path)
    raise InputError("unknown log type (expected .tlog, .bin, .ulg, .csv or a session "
                     "directory)",
                     path=path)


def is_connection(source: str | Path) -> bool:
    """Whether ``source`` names a live link: a connection string (``udpin:HOST:PORT``,
    ``udpout:``, ``udp:``, ``tcp:``, ``tcpin:``), a serial device (``/dev/ttyUSB0``,
    ``/dev/ttyUSB0,57600``, ``COM3``: an existing path must be a character device).

    Examples
    --------
    >>> is_connection("tcp:127.0.0.1:5760"), is_connection("/dev/ttyACM0,115200")
    (True, True)
    >>> is_connection("COM4"), is_connection("00000042.BIN")
    (True, False)
    """
    if isinstance(source, Path):
        text = str(source)
    elif isinstance(source, str):
        text = source
    else:
        return False
    if text.startswith(CONNECTION_PREFIXES):
        return True
    device = text.partition(",")[0]
    try:
        return stat.S_ISCHR(os.stat(device).st_mode)  # an existing file: is it a device?
    except (OSError, ValueError):
        pass
    return device.startswith("/dev/") or bool(_WINDOWS_PORT.match(text))
