"""Sensirion SPS30 UART (SHDLC) decoder and the requests that make the sensor talk.

Wire format (115200 baud 8N1). The SPS30 only answers requests; a reply (MISO frame) is::

    7E | address | command | state | length | data (length bytes) | checksum | 7E

The checksum is the inverted low byte of the sum of address, command, state, length and
data. Inside the frame the bytes 7E, 7D, 11 and 13 are sent as ``7D`` followed by the byte
XOR 0x20 (byte stuffing), so ``7E`` only ever marks a frame boundary. A non-zero state
byte is a device error (reported as ``device error``, the frame is skipped).

The reply to *Read Measured Values* (command 0x03) holds ten big-endian float32 (40 bytes,
after *Start Measurement* with format 0x03) or ten u16 (20 bytes, format 0x05): mass
concentration PM1.0, PM2.5, PM4.0, PM10 (µg/m³), number concentration PM0.5, PM1.0, PM2.5,
PM4.0, PM10 (#/cm³) and typical particle size (µm). An empty reply (no new measurement)
is kind ``"empty"``; replies to the other documented commands are kind ``"reply"``.

Values: ``PM1``, ``PM2.5``, ``PM4``, ``PM10``, ``N0.5``, ``N1.0``, ``N2.5``, ``N4.0``,
``N10``, ``TPS``.

Examples
--------
>>> import struct
>>> data = struct.pack(">10f", 1.5, 2.5, 3.0, 3.5, 10, 12, 13, 13.5, 14, 0.6)
>>> f, = SPS30Decoder().feed(encode_miso(0x03, data))
>>> f.values["PM2.5"], f.values["TPS"]
(2.5, 0.6)
>>> encode_mosi(0x03).hex()          # the Read Measured Values request
'7e000300fc7e'
"""

from __future__ import annotations

import struct

import numpy as np

from dronesense.sources.payload.frames import Frame, FrameDecoder, Reject

__all__ = ["READ_VALUES", "START_FLOAT", "SPS30Decoder", "encode_miso", "encode_mosi"]

NAMES = ("PM1", "PM2.5", "PM4", "PM10", "N0.5", "N1.0", "N2.5", "N4.0", "N10", "TPS")
#: documented SHDLC commands: start, stop, read values, sleep, wake-up, fan cleaning,
#: auto-cleaning interval, device information, version, status register, reset
COMMANDS = frozenset({0x00, 0x01, 0x03, 0x10, 0x11, 0x56, 0x80, 0xD0, 0xD1, 0xD2, 0xD3})
_ESCAPED = {0x7E: 0x5E, 0x7D: 0x5D, 0x11: 0x31, 0x13: 0x33}
_FLOATS = struct.Struct(">10f")
_U16 = struct.Struct(">10H")
#: longest frame on the wire: 5 header/checksum bytes + 255 data, all escaped, + 2 flags
MAX_FRAME = 2 + 2 * (5 + 255)


def _checksum(body: bytes | bytearray) -> int:
    return (~sum(body)) & 0xFF


def _stuff(body: bytes) -> bytes:
    out = bytearray()
    for b in body:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def encode_mosi(command: int, data: bytes = b"", address: int = 0) -> bytes:
    """A request frame (host to sensor), stuffed and flagged."""
    body = bytes((address, command, len(data))) + data
    return b"\x7e" + _stuff(body + bytes((_checksum(body),))) + b"\x7e"


def encode_miso(command: int, data: bytes = b"", state: int = 0, address: int = 0) -> bytes:
    """A reply frame (sensor to host), stuffed and flagged (for tests and examples)."""
    body = bytes((address, command, state, len(data))) + data
    return b"\x7e" + _stuff(body + bytes((_checksum(body),))) + b"\x7e"


#: Start Measurement, big-endian float output
START_FLOAT = encode_mosi(0x00, b"\x01\x03")
#: Read Measured Values
READ_VALUES = encode_mosi(0x03)


class SPS30Decoder(FrameDecoder):
    """Incremental SPS30 SHDLC reply decoder (see the module docs and :class:`FrameDecoder`).

    Each candidate runs from a ``7E`` to the next ``7E``; when it is bad, that closing
    ``7E`` is tried as the start of the next frame, so a stray ``7E`` in line noise does
    not cost the frame after it. Float values are given as the shortest decimal of the
    float32 (``0.6``, not ``0.6000000238418579``).
    """

    sensor = "sps30"
    baud = 115200
    sync = 0x7E
    max_frame = MAX_FRAME
    period_s = 1.0

    def _try(self, buf: bytearray, pos: int) -> Frame | Reject | None:
        end = buf.find(0x7E, pos + 1, pos + MAX_FRAME)
        if end < 0:
            if len(buf) - pos < MAX_FRAME:
                return None
            return Reject("bad length", MAX_FRAME)  # no closing flag where one must be
        total = end + 1 - pos
        if end == pos + 1:  # "7E 7E": the first flag closes nothing
            return Reject("", 1)
        body = bytearray()
        i = pos + 1
        while i < end:
            b = buf[i]
            if b == 0x7D:
                if i + 1 >= end or buf[i + 1] not in (0x5E, 0x5D, 0x31, 0x33):
                    return Reject("bad escape", total)
                body.append(buf[i + 1] ^ 0x20)
                i += 2
            else:
                body.append(b)
                i += 1
        if len(body) < 5 or body[3] != len(body) - 5:
            return Reject("bad length", total)
        if _checksum(body[:-1]) != body[-1]:
            return Reject("bad checksum", total)
        cmd, state, n = body[1], body[2], body[3]
        if cmd not in COMMANDS:
            return Reject("unknown command", total)
        if state != 0:
            return Reject("device error", total, consume=True)
        info = {"command": cmd, "address": body[0]}
        data = bytes(body[4:4 + n])
        if cmd != 0x03:
            return Frame(0, total, "reply", {}, info)
        if n == 0:
            return Frame(0, total, "empty", {}, info)
        if n == 40:
            values = [float(str(np.float32(v))) for v in _FLOATS.unpack(data)]
        elif n == 20:
            values = [float(v) for v in _U16.unpack(data)]
        else:
            return Reject("bad length", total)
        return Frame(0, total, "data", dict(zip(NAMES, values, strict=True)), info)
