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
import hashlib
import io
import os
import struct
import time
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


def load_key(passphrase: str | None, key_file: str | None) -> bytes | None:
    """The MAVLink 2 signing key of ``--key`` (SHA-256 of the passphrase) or ``--key-file``
    (32 raw bytes or 64 hex digits); ``None`` without either.

    Raises
    ------
    SimError
        A one-line error that never shows the key or the file's content.
    """
    if passphrase is not None and key_file is not None:
        raise SimError("--key and --key-file: give one of them")
    if passphrase is not None:
        if not passphrase:
            raise SimError("--key: the passphrase is empty")
        return hashlib.sha256(passphrase.encode("utf-8")).digest()
    if key_file is None:
        return None
    try:
        data = open(key_file, "rb").read()
    except OSError as exc:
        raise SimError(f"--key-file {key_file}: cannot read ({exc.strerror or exc})") from None
    if len(data) == 32:
        return data
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        key = bytes.fromhex(data.strip().decode("ascii"))
        if len(key) == 32:
            return key
    raise SimError(f"--key-file {key_file}: not a signing key (32 raw bytes or 64 hex digits)")


def setup_signing(mav, key: bytes, link_id: int = 0) -> None:
    """Sign what ``mav`` (a pymavlink ``MAVLink``) packs and refuse what it parses unless it is
    signed with ``key``: unsigned, badly signed and replayed packets become BAD_DATA.
    Timestamps start at the real clock (10 µs units since 2015-01-01), as a vehicle with a
    real-time clock does."""
    mav.signing.secret_key = key
    mav.signing.link_id = link_id
    mav.signing.sign_outgoing = True
    mav.signing.allow_unsigned_callback = None
    mav.signing.timestamp = max(0, int((time.time() - 1_420_070_400) * 100_000))
