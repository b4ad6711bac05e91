"""Transports: a pymavlink connection and a telemetry-log (``.tlog``) writer.

The simulator encodes packets itself and only uses a pymavlink connection's raw
``write()`` and ``recv()``, so every pymavlink connection string works: ``udpout:``,
``udpin:``, ``tcpin:`` (the client is accepted inside ``recv()``, which the simulator
keeps calling), ``tcp:``, or a serial device path (e.g. one end of a pty) with a baud rate.

Examples
--------
>>> import io
>>> buf = io.BytesIO()
>>> log = TlogWriter(buf, start_us=1_700_000_000_000_000)
>>> log.write(1.5, b"\\xfd...")
>>> buf.getvalue()[:8].hex()
'00060a2418352360'
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
from typing import IO

from .errors import SimError


def open_connection(conn: str, baud: int = 57600):
    """Open a pymavlink connection for raw packet I/O.

    Raises
    ------
    SimError
        ``connection CONN: problem`` if it cannot be opened.
    """
    os.environ.setdefault("MAVLINK20", "1")
    from pymavlink import mavutil

    kinds = ("udpin:", "udpout:", "udp:", "udpbcast:", "tcpin:", "tcp:")
    if not conn.startswith(kinds) and not os.path.exists(conn.split(",")[0]):
        raise SimError(f"connection {conn}: no such device or unknown connection type "
                       "(use udpout:HOST:PORT, udpin:, tcpin:, tcp: or a serial device)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            link = mavutil.mavlink_connection(conn, baud=baud, autoreconnect=False,
                                              source_system=255, retries=1)
    except Exception as exc:  # socket.error, SerialException, ValueError, ...
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise SimError(f"connection {conn}: cannot open ({reason})") from None
    if conn.startswith("udpout:") or (conn.startswith("udp:") and not conn.startswith("udpin")):
        try:
            import socket

            host = conn.split(":")[1]
            socket.gethostbyname(host)
        except (OSError, IndexError):
            raise SimError(f"connection {conn}: cannot resolve host") from None
    return link


class TlogWriter:
    """Writes packets as a ground-station telemetry log.

    Each record is the receive time as an 8-byte big-endian UNIX time in microseconds
    followed by the raw packet. Garbage bytes (from the ``garbage`` fault) are written raw,
    without a time stamp, as a damaged log would hold them.
    """

    def __init__(self, fh: IO[bytes], start_us: int):
        self.fh = fh
        self.start_us = start_us
        self.offset = 0
        self.records = 0
        self._pack = struct.Struct(">Q").pack

    def write(self, t: float, data: bytes, raw: bool = False) -> None:
        """Append one packet received at sim time ``t`` (seconds)."""
        if raw:
            self.fh.write(data)
            self.offset += len(data)
            return
        rec = self._pack(self.start_us + round(t * 1e6)) + data
        self.fh.write(rec)
        self.offset += len(rec)
        self.records += 1


def check_writable(path: str, what: str) -> IO:
    """Open ``path`` for writing or raise a one-line :class:`SimError`."""
    try:
        return open(path, "wb" if what == "tlog" else "w", newline="" if what != "tlog"
                    else None)
    except OSError as exc:
        raise SimError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
