"""Packets: decoded MAVLink messages with their raw bytes and receive time.

Every source of MAVLink data (a live link, a ``.tlog`` file, a recorded session directory) is
reduced to a stream of :class:`Packet`. The :class:`Framer` cuts a byte stream into packets
with pymavlink's decoder, but resynchronises byte by byte after a corrupt frame, so one bad
packet never swallows the good ones after it, and it hands back every byte it could not use.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1000, b"CH4", 1.9)
...             .pack(mavlink.MAVLink(None, srcSystem=1, srcComponent=1)))
>>> result = Framer().feed(b"junk" + raw, final=True)
>>> [m.get_type() for m in result.messages], bytes(result.bad), result.crc_errors
(['NAMED_VALUE_FLOAT'], b'junk', 0)
"""

from __future__ import annotations

import mmap
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pymavlink.dialects.v20 import all as all_dialects
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from pymavlink.generator.mavcrc import x25crc

from dronesense.errors import InputError
from dronesense.sources.kinds import detect_kind
from dronesense.sources.packetdecode import LiveDecoder, RawMessage, mcrf4xx
from dronesense.sources.session_folder import SessionFolder

__all__ = [
    "KNOWN_CRC_EXTRA",
    "FrameResult",
    "Framer",
    "Packet",
    "RawMessage",
    "TlogReader",
    "iter_packets",
    "tlog_record",
    "unknown_frame_ok",
]

MAGIC_V1 = 0xFE
MAGIC_V2 = 0xFD
_MAGIC_RE = re.compile(b"[\xfd\xfe]")
_TS = struct.Struct(">Q")
#: Plausible tlog timestamps: 2000-01-01 .. 2100-01-01 in UNIX microseconds.
_TS_MIN, _TS_MAX = 946_684_800_000_000, 4_102_444_800_000_000

MAVLinkMessage = mavlink.MAVLink_message

#: message id -> CRC_EXTRA of every id a shipped MAVLink dialect defines (pymavlink's ``all``
#: dialect, a superset of ``ardupilotmega``). An id outside it cannot be told from a bit error.
KNOWN_CRC_EXTRA: dict[int, int] = {mid: cls.crc_extra
                                   for mid, cls in all_dialects.mavlink_map.items()}



@dataclass(slots=True)
class Packet:
    """One MAVLink packet as received.

    Attributes
    ----------
    msg
        The decoded pymavlink message (``MAVLink_unknown`` for ids the dialect lacks).
    raw
        The packet bytes exactly as they arrived.
    recv_us
        Receive time, integer UNIX microseconds (what a ``.tlog`` record stores).
    offset
        Byte offset of the record in its file, ``None`` for live packets.
    signing
        MAVLink 2 signature verdict: ``None`` when no key is set, else ``"valid"``,
        ``"unsigned"``, ``"invalid"`` or ``"replayed"``. Only ``None`` and ``"valid"``
        packets may reach the samples.
    """

    msg: MAVLinkMessage
    raw: bytes
    recv_us: int
    offset: int | None = None
    signing: str | None = None

    @property
    def recv_time(self) -> float:
        """Receive time in UNIX seconds."""
        return self.recv_us / 1e6


def tlog_record(recv_us: int, raw: bytes) -> bytes:
    """A ``.tlog`` record: 8-byte big-endian UNIX microseconds, then the packet.

    Examples
    --------
    >>> tlog_record(1, b"\\xfe")
    b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\xfe'
    """
    return _TS.pack(recv_us) + raw


@dataclass(slots=True)
class FrameResult:
    """What one :meth:`Framer.feed` call produced."""

    messages: list = field(default_factory=list)
    bad: bytearray = field(default_factory=bytearray)
    crc_errors: int = 0
    unknown_ids: int = 0


def frame_id_and_end(frame: bytes | bytearray) -> tuple[int, int]:
    """Message id of a complete MAVLink 1 or 2 frame, and where its checksum starts.

    Examples
    --------
    >>> frame_id_and_end(bytes([0xFD, 0, 0, 0, 0, 1, 1, 0x21, 0, 0, 0, 0]))
    (33, 10)
    """
    if frame[0] == MAGIC_V2:
        return frame[7] | frame[8] << 8 | frame[9] << 16, len(frame) - (15 if frame[2] & 1 else 2)
    return frame[5], len(frame) - 2


def unknown_frame_ok(frame: bytes | bytearray) -> bool:
    """Whether a frame whose id the decoder lacks is a real packet: its id is one a shipped
    dialect defines and its checksum matches with that id's ``CRC_EXTRA``.

    Examples
    --------
    >>> unknown_frame_ok(bytes([0xFD, 0, 0, 0, 0, 1, 1, 0xFF, 0xFF, 0xFF, 0, 0]))
    False
    """
    msgid, end = frame_id_and_end(frame)
    extra = KNOWN_CRC_EXTRA.get(msgid)
    if extra is None or end < 1:
        return False
    crc = x25crc(bytes(frame[1:end]))
    crc.accumulate(bytes((extra,)))
    return crc.crc == (frame[end] | frame[end + 1] << 8)


def _frame_length(buf: bytes | bytearray, i: int, n: int) -> int:
    """Length of the frame starting at ``buf[i]`` (a magic byte).

    Returns 0 if more bytes are needed to tell, -1 if the header is impossible.
    """
    if buf[i] == MAGIC_V1:
        if n - i < 2:
            return 0
        return buf[i + 1] + 8
    if n - i < 3:
        return 0
    flags = buf[i + 2]
    if flags & ~1:
        return -1
    return buf[i + 1] + 12 + (13 if flags & 1 else 0)


class Framer:
    """Cut a MAVLink byte stream (v1 and v2 mixed) into decoded messages.

    Every packet must pass its CRC with its message's ``CRC_EXTRA``; a frame that fails is not
    trusted: its first byte is counted as bad and scanning resumes at the next byte, so a
    corrupt header cannot eat the good packets behind it. A message id that no shipped dialect
    defines (:data:`KNOWN_CRC_EXTRA`) cannot be checked, so it is taken for a bit error and
    rejected the same way (counted in ``unknown_ids``); ids only other dialects define are
    checked with their own ``CRC_EXTRA`` and kept (decoded as ``UNKNOWN_<id>``).

    Parameters
    ----------
    mav
        A pymavlink ``MAVLink`` decoder (a fresh one by default; no signing key, so signed
        packets are decoded but their signature is not checked).

    Examples
    --------
    >>> framer = Framer()
    >>> framer.feed(b"\\xfd\\x09", final=False).messages   # half a header: wait for more
    []
    """

    def __init__(self, mav: mavlink.MAVLink | None = None,
                 decode_ids: frozenset[int] | set[int] | None = None):
        self.mav = mav if mav is not None else mavlink.MAVLink(None)
        self.buf = bytearray()
        if decode_ids is None or mcrf4xx is None or self.mav.signing.secret_key is not None:
            self._fast = self._light = None
        else:  # known types nobody reads: check only, as pymavlink's decode would; and a
            # one-packet datagram checked and, if wanted, decoded without the general scan
            self._fast = LiveDecoder(decode_ids)
            self._light = self._fast.light

    def _decode(self, frame: bytearray | bytes):
        """Decode one complete frame (raises like pymavlink's decode on a bad one)."""
        light = self._light
        if light is not None and not mavlink.MAVLINK_IGNORE_CRC:
            msgid, end = frame_id_and_end(frame)
            hit = light.get(msgid)
            if hit is not None:
                crc = mcrf4xx(bytes(frame[1:end]) + hit[1])
                if crc != frame[end] | frame[end + 1] << 8:
                    raise ValueError("bad CRC")
                return RawMessage(bytes(frame), hit[0], msgid)
        if type(frame) is not bytearray:
            frame = bytearray(frame)
        return self.mav.decode(frame)

    def feed(self, data: bytes, *, final: bool = False) -> FrameResult:
        """Add bytes; return the complete messages and the bytes that were not MAVLink.

        Parameters
        ----------
        data
            The next bytes of the stream (or one whole UDP datagram).
        final
            True when no more bytes belong to this buffer (end of a datagram or of a file):
            an incomplete frame at the end is then returned as bad bytes.
        """
        buf = self.buf
        if final and not buf:
            # one whole frame in one datagram: the usual case on UDP links
            if self._fast is not None:
                msg = self._fast.datagram(data)
                if msg is not None:
                    return FrameResult([msg])
            n = len(data)
            if n >= 8:
                length = _frame_length(data, 0, n) if data[0] in (MAGIC_V1, MAGIC_V2) else -1
                if length == n:
                    try:
                        msg = self._decode(data)
                    except Exception:
                        pass  # the general scan below counts and resyncs
                    else:
                        if not msg._type.startswith("UNKNOWN_") or unknown_frame_ok(data):
                            return FrameResult([msg])
        buf += data
        out = FrameResult()
        msgs = out.messages
        bad = out.bad
        decode = self._decode
        n = len(buf)
        i = 0
        while i < n:
            b = buf[i]
            if b != MAGIC_V2 and b != MAGIC_V1:
                hit = _MAGIC_RE.search(buf, i)
                j = n if hit is None else hit.start()
                bad += buf[i:j]
                i = j
                continue
            length = _frame_length(buf, i, n)
            if length < 0:
                bad.append(b)
                i += 1
                continue
            if length == 0 or n - i < length:
                if not final:
                    break  # wait for the rest of the frame
                bad.append(b)  # cannot be complete: not a frame start
                i += 1
                continue
            try:
                msg = decode(buf[i : i + length])
            except Exception:  # pymavlink raises MAVError, struct.error, ... on corrupt frames
                out.crc_errors += 1
                bad.append(b)
                i += 1
                continue
            if msg._type.startswith("UNKNOWN_") and not unknown_frame_ok(buf[i : i + length]):
                out.unknown_ids += 1
                bad.append(b)
                i += 1
                continue
            msgs.append(msg)
            i += length
        if final and i < n:
            bad += buf[i:n]
            i = n
        del buf[:i]
        return out

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self.buf)


class TlogReader:
    """Iterate the packets of a ``.tlog`` file (8-byte big-endian UNIX µs + packet).

    Records that do not parse are skipped by searching for the next plausible record; the
    number of bytes skipped and a truncated tail (a write cut short by a crash) are counted.

    Parameters
    ----------
    path
        The ``.tlog`` file.

    Examples
    --------
    >>> import tempfile, os
    >>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
    >>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    >>> raw = bytes(mavlink.MAVLink_system_time_message(10**15, 5).pack(mav))
    >>> path = os.path.join(tempfile.mkdtemp(), "x.tlog")
    >>> _ = open(path, "wb").write(tlog_record(10**15, raw) + b"\\x00\\x01")
    >>> reader = TlogReader(path)
    >>> [p.msg.get_type() for p in reader], reader.truncated_bytes
    (['SYSTEM_TIME'], 2)
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.skipped_bytes = 0
        self.truncated_bytes = 0
        self.records = 0

    def __iter__(self) -> Iterator[Packet]:
        try:
            with open(self.path, "rb") as fh:
                size = self.path.stat().st_size
                if size == 0:
                    return
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    yield from self._records(data, size)
        except OSError as err:
            raise InputError(f"cannot read tlog: {err.strerror or err}", path=self.path) from None

    def _try(self, data, i: int, n: int, decode) -> tuple[Packet | None, int]:
        """Decode the record at ``i``: (packet, length), (None, 0) if not a record,
        (None, -1) if the record runs past the end of the file."""
        if n - i < 9:
            return None, -1
        ts = _TS.unpack_from(data, i)[0]
        if not _TS_MIN <= ts <= _TS_MAX or data[i + 8] not in (MAGIC_V1, MAGIC_V2):
            return None, 0
        length = _frame_length(data, i + 8, n)
        if length < 0:
            return None, 0
        if length == 0 or i + 8 + length > n:
            return None, -1
        raw = data[i + 8 : i + 8 + length]
        try:
            msg = decode(bytearray(raw))
        except Exception:
            return None, 0
        if msg._type.startswith("UNKNOWN_") and not unknown_frame_ok(raw):
            return None, 0
        return Packet(msg, raw, ts, i), 8 + length

    def _records(self, data, n: int) -> Iterator[Packet]:
        decode = mavlink.MAVLink(None).decode
        i = 0
        while i < n:
            packet, length = self._try(data, i, n, decode)
            if packet is not None:
                self.records += 1
                yield packet
                i += length
                continue
            # No record here: find the next place one parses.
            j = self._resync(data, i + 1, n, decode)
            if j is None:
                if length == -1:
                    self.truncated_bytes += n - i
                else:
                    self.skipped_bytes += n - i
                return
            self.skipped_bytes += j - i
            i = j

    def _resync(self, data, start: int, n: int, decode) -> int | None:
        """Offset of the next record that parses at or after ``start``, if any."""
        j = start
        while j + 8 < n:
            hit = _MAGIC_RE.search(data, j + 8)
            if hit is None:
                return None
            j = hit.start() - 8
            packet, _ = self._try(data, j, n, decode)
            if packet is not None:
                return j
            j += 1
        return None


def iter_packets(path: str | Path) -> Iterator[Packet]:
    """Packets of a ``.tlog`` file or of a session directory (its ``flight.tlog``); the kind
    is decided by :func:`~dronesense.sources.kinds.detect_kind`.

    Raises
    ------
    InputError
        If the path is neither (a DataFlash log or a CSV track holds no MAVLink packets).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    kind = detect_kind(path)
    if kind == "session":
        tlog = SessionFolder(path).tlog
        if not tlog.exists():
            raise InputError("not a session directory (no flight.tlog)", path=path)
        path = tlog
    elif kind != "tlog":
        what = {"bin": "a DataFlash log", "ulog": "a PX4 ULog"}.get(kind, "a CSV track")
        raise InputError(f"{what} holds no MAVLink packets (expected a .tlog or a session "
                         "directory)", path=path)
    return iter(TlogReader(path))
