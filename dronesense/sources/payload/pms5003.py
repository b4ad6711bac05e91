"""Plantower PMS5003 (and PMS7003, PMSA003: same frame) decoder.

Wire format (9600 baud 8N1, the sensor sends on its own about once a second in its default
active mode), 32 bytes::

    42 4D | length = 28 (u16 BE) | 13 x u16 BE data | checksum (u16 BE)

The checksum is the sum of bytes 0..29. The data words are PM1.0, PM2.5, PM10 "CF=1"
(standard particle, µg/m³), PM1.0, PM2.5, PM10 under atmospheric environment (µg/m³),
particles above 0.3, 0.5, 1.0, 2.5, 5.0 and 10 µm per 0.1 L of air, and a reserved word.
A reply to a mode command is an 8-byte frame with length 4; it is decoded as kind
``"reply"`` and gives no values.

Values are named for :class:`~dronesense.quantities.NameTable`: the atmospheric masses are
``PM1``, ``PM2.5``, ``PM10`` (quantities ``pm1``, ``pm2p5``, ``pm10``); the CF=1 masses
``PM1_CF1``, ``PM2.5_CF1``, ``PM10_CF1``; the counts ``N0.3`` ... ``N10`` (per 0.1 L).

Examples
--------
>>> import struct
>>> words = (5, 8, 9, 5, 8, 9, 900, 260, 40, 4, 1, 0, 0)
>>> body = b"BM" + struct.pack(">H13H", 28, *words)
>>> frame = body + struct.pack(">H", sum(body))
>>> f, = PMS5003Decoder().feed(frame)
>>> f.values["PM2.5"], f.values["N0.3"]
(8.0, 900.0)
"""

from __future__ import annotations

import struct

from dronesense.sources.payload.frames import Frame, FrameDecoder, Reject

__all__ = ["PMS5003Decoder"]

NAMES = ("PM1_CF1", "PM2.5_CF1", "PM10_CF1", "PM1", "PM2.5", "PM10",
         "N0.3", "N0.5", "N1.0", "N2.5", "N5.0", "N10")
_WORDS = struct.Struct(">13H")


class PMS5003Decoder(FrameDecoder):
    """Incremental PMS5003 decoder (see the module docs and :class:`FrameDecoder`)."""

    sensor = "pms5003"
    baud = 9600
    sync = 0x42
    max_frame = 32
    period_s = 1.0

    def _try(self, buf: bytearray, pos: int) -> Frame | Reject | None:
        avail = len(buf) - pos
        if avail < 2:
            return None
        if buf[pos + 1] != 0x4D:
            return Reject("", 1)
        if avail < 4:
            return None
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if length not in (28, 4):
            return Reject("bad length", 4)
        total = 4 + length
        if avail < total:
            return None
        want = (buf[pos + total - 2] << 8) | buf[pos + total - 1]
        if sum(buf[pos:pos + total - 2]) & 0xFFFF != want:
            return Reject("bad checksum", total)
        if length == 4:
            return Frame(0, total, "reply", {}, {"command": buf[pos + 4], "data": buf[pos + 5]})
        words = _WORDS.unpack_from(buf, pos + 4)
        return Frame(0, total, "data", {k: float(v) for k, v in zip(NAMES, words, strict=False)})
