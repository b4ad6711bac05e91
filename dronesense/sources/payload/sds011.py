"""Nova Fitness SDS011 (and SDS018, SDS021: same frame) decoder.

Wire format (9600 baud 8N1, once a second in the default active reporting mode), 10 bytes::

    AA | C0 | PM2.5 x 10 (u16 LE) | PM10 x 10 (u16 LE) | id (2 bytes) | checksum | AB

The checksum is the low byte of the sum of bytes 2..7. Replies to commands use ``C5`` as
the second byte (same length, checksum and tail); they are decoded as kind ``"reply"`` and
give no values. A frame with a valid tail and checksum but another command byte is reported
as ``unknown command``.

Values: ``PM2.5`` and ``PM10`` in µg/m³ (resolution 0.1); ``info["id"]`` is the device id.

Examples
--------
>>> import struct
>>> data = struct.pack("<HH", 123, 456) + b"\\x12\\x34"
>>> frame = b"\\xaa\\xc0" + data + bytes([sum(data) & 0xFF]) + b"\\xab"
>>> f, = SDS011Decoder().feed(frame)
>>> f.values, hex(f.info["id"])
({'PM2.5': 12.3, 'PM10': 45.6}, '0x3412')
"""

from __future__ import annotations

from dronesense.sources.payload.frames import Frame, FrameDecoder, Reject

__all__ = ["SDS011Decoder"]

_KNOWN = {0xC0: "data", 0xC5: "reply"}


class SDS011Decoder(FrameDecoder):
    """Incremental SDS011 decoder (see the module docs and :class:`FrameDecoder`)."""

    sensor = "sds011"
    baud = 9600
    sync = 0xAA
    max_frame = 10
    period_s = 1.0

    def _try(self, buf: bytearray, pos: int) -> Frame | Reject | None:
        if len(buf) - pos < 10:
            return None
        cmd = buf[pos + 1]
        tail_ok = buf[pos + 9] == 0xAB
        sum_ok = sum(buf[pos + 2:pos + 8]) & 0xFF == buf[pos + 8]
        kind = _KNOWN.get(cmd)
        if kind is None:
            # only a well-formed frame is worth a report; a stray AA is garbage
            return Reject("unknown command" if tail_ok and sum_ok else "", 10)
        if not tail_ok:
            return Reject("bad end byte", 10)
        if not sum_ok:
            return Reject("bad checksum", 10)
        dev = buf[pos + 6] | (buf[pos + 7] << 8)
        if kind == "reply":
            return Frame(0, 10, "reply", {}, {"command": buf[pos + 2], "id": dev})
        pm25 = (buf[pos + 2] | (buf[pos + 3] << 8)) / 10.0
        pm10 = (buf[pos + 4] | (buf[pos + 5] << 8)) / 10.0
        return Frame(0, 10, "data", {"PM2.5": pm25, "PM10": pm10}, {"id": dev})
