"""A particle sensor on its own serial line: real PMS5003, SDS011 or SPS30 frames.

``--serial-payload FORMAT:DEVICE[:BAUD][,garbage=P][,corrupt=P][,rate=HZ][,noise=X]``
makes the simulator also write a sensor's frames to a serial device, at the sensor's rate,
while it flies. ``DEVICE`` is a serial port, one end of a pty, or ``pty``: the simulator
then opens a pty itself, keeps its master end and prints the other end
(``firmware-sim: serial payload pms5003 on /dev/pts/7``) for the ground side to open, like
a USB-serial adapter.

=========  ======  =====================================================================
format     baud    frames
=========  ======  =====================================================================
pms5003    9600    32 bytes ``42 4D``, length 28, 13 u16 BE, u16 sum of bytes 0..29
sds011     9600    10 bytes ``AA C0``, PM2.5x10, PM10x10 (u16 LE), id, sum of 2..7, ``AB``
sps30      115200  SHDLC reply to *Read Measured Values*: ``7E 00 03 00 28`` + 10 float32
                   BE + inverted sum + ``7E``, bytes 7E/7D/11/13 stuffed as 7D, b^0x20
=========  ======  =====================================================================

The SPS30 replies are sent at the rate unasked (the simulator reads and ignores what the
ground sends, such as the requests a real SPS30 needs). Each frame samples the field at the
inlet once for all its channels (PM1, PM2.5, PM10; SDS011 only PM2.5 and PM10) with the
payload sensor model (first-order lag 1 s, Gaussian noise) and the resolution of the wire
format; derived words (PMS5003 CF=1 masses, particle counts; SPS30 PM4, number
concentrations, typical size) are fixed functions of the masses. One truth row per channel
and frame: ``sensor`` = the format, ``name`` = ``PM1``/``PM2.5``/``PM10``,
``time_boot_ms`` = the vehicle boot time of the sample (the frame carries no time).

``garbage=P`` writes 1-32 random bytes before a frame with probability P, ``corrupt=P``
flips one byte of a frame (never the first) with probability P; both are written to the
faults log as ``serial_garbage`` / ``serial_corrupt`` with ``offset``, the byte offset in
the serial stream.

This module never imports dronesense: its encoders are its own.

Examples
--------
>>> spec = parse_serial_payload("pms5003:pty,garbage=0.1")
>>> spec.fmt, spec.device, spec.baud, spec.garbage
('pms5003', 'pty', 9600, 0.1)
>>> frame = encode_pms5003(5.0, 8.0, 9.0)
>>> len(frame), frame[:4].hex(), sum(frame[:30]) == int.from_bytes(frame[30:], "big")
(32, '424d001c', True)
>>> encode_sds011(12.3, 45.6, 0x3412).hex()
'aac07b00c80112348aab'
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import struct
import tty
from dataclasses import dataclass

import numpy as np

from .errors import SimError
from .payload import Sensor, SensorSpec

__all__ = ["FORMATS", "SerialPayloadOutput", "SerialPayloadSpec", "encode_pms5003",
           "encode_sds011", "encode_sps30", "parse_serial_payload"]

#: format -> (default baud, channels as (name, quantity), wire resolution, default noise)
FORMATS: dict[str, tuple[int, tuple[tuple[str, str], ...], float, float]] = {
    "pms5003": (9600, (("PM1", "pm1"), ("PM2.5", "pm2p5"), ("PM10", "pm10")), 1.0, 1.0),
    "sds011": (9600, (("PM2.5", "pm2p5"), ("PM10", "pm10")), 0.1, 0.5),
    "sps30": (115200, (("PM1", "pm1"), ("PM2.5", "pm2p5"), ("PM10", "pm10")), 0.0, 0.3),
}


# ---------------------------------------------------------------------------- encoders
def _u16(x: float) -> int:
    return min(65535, max(0, round(x)))


def encode_pms5003(pm1: float, pm25: float, pm10: float) -> bytes:
    """A 32-byte PMS5003 frame for these atmospheric masses (µg/m³, whole numbers).

    CF=1 masses equal the atmospheric ones (as the sensor reports below ~30 µg/m³);
    counts per 0.1 L are rough fixed multiples of the masses.
    """
    a1, a25, a10 = _u16(pm1), _u16(pm25), _u16(pm10)
    counts = (_u16(150 * a1 + 30), _u16(45 * a1 + 10), _u16(8 * a25 + 2),
              _u16(0.9 * (a25 - a1) + 1), _u16(0.3 * (a10 - a25)), _u16(0.05 * (a10 - a25)))
    body = struct.pack(">2sH13H", b"BM", 28, a1, a25, a10, a1, a25, a10, *counts, 0)
    return body + struct.pack(">H", sum(body) & 0xFFFF)


def encode_sds011(pm25: float, pm10: float, device_id: int = 0xA160) -> bytes:
    """A 10-byte SDS011 data frame (values in µg/m³, resolution 0.1)."""
    data = struct.pack("<HHH", _u16(pm25 * 10), _u16(pm10 * 10), device_id & 0xFFFF)
    return b"\xaa\xc0" + data + bytes((sum(data) & 0xFF,)) + b"\xab"


_STUFF = {0x7E: b"\x7d\x5e", 0x7D: b"\x7d\x5d", 0x11: b"\x7d\x31", 0x13: b"\x7d\x33"}


def encode_sps30(pm1: float, pm25: float, pm10: float) -> bytes:
    """An SPS30 SHDLC reply to *Read Measured Values*, big-endian float format."""
    pm4 = (pm25 + pm10) / 2.0
    values = (pm1, pm25, pm4, pm10, 7.0 * pm1, 8.0 * pm1, 8.2 * pm25, 8.3 * pm4,
              8.35 * pm10, 0.55)
    body = bytes((0x00, 0x03, 0x00, 40)) + struct.pack(">10f", *values)
    body += bytes(((~sum(body)) & 0xFF,))
    return b"\x7e" + b"".join(_STUFF.get(b, bytes((b,))) for b in body) + b"\x7e"


def _wire_values(fmt: str, values: list[float]) -> list[float]:
    """The values as the ground will decode them (the truth file's ``reported_value``)."""
    if fmt == "pms5003":
        return [float(_u16(v)) for v in values]
    if fmt == "sds011":
        return [_u16(v * 10) / 10.0 for v in values]
    return [float(str(np.float32(v))) for v in values]


def _encode(fmt: str, values: list[float], device_id: int) -> bytes:
    if fmt == "pms5003":
        return encode_pms5003(*values)
    if fmt == "sds011":
        return encode_sds011(*values, device_id)
    return encode_sps30(*values)


# ---------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class SerialPayloadSpec:
    """A parsed ``--serial-payload`` option."""

    fmt: str
    device: str
    baud: int
    garbage: float = 0.0
    corrupt: float = 0.0
    rate_hz: float = 1.0
    noise: float | None = None


def parse_serial_payload(text: str) -> SerialPayloadSpec:
    """Parse ``FORMAT:DEVICE[:BAUD][,key=value...]`` (see the module docs).

    Raises
    ------
    SimError
        On an unknown format or key, or a value out of range.
    """
    where = f"--serial-payload {text}"
    head, *opts = text.split(",")
    fmt, sep, rest = head.partition(":")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise SimError(f"{where}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if not sep or not rest:
        raise SimError(f"{where}: expected FORMAT:DEVICE[:BAUD]")
    device, sep, baud = rest.rpartition(":")
    if not sep or not baud.isdigit():
        device, baud_i = rest, FORMATS[fmt][0]
    else:
        baud_i = int(baud)
    kw: dict[str, float] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip()
        try:
            x = float(value)
        except ValueError:
            sep = ""
        if not sep or key not in ("garbage", "corrupt", "rate", "noise") or not math.isfinite(x):
            raise SimError(f"{where}: expected garbage=P, corrupt=P, rate=HZ or noise=X, "
                           f"got {opt!r}")
        kw[key] = x
    for key in ("garbage", "corrupt"):
        if not 0.0 <= kw.get(key, 0.0) <= 1.0:
            raise SimError(f"{where}: {key} must be a probability in [0, 1]")
    rate = kw.get("rate", 1.0)
    if not 0 < rate <= 50:
        raise SimError(f"{where}: rate must be in (0, 50] Hz")
    if kw.get("noise", 0.0) < 0:
        raise SimError(f"{where}: noise must be >= 0")
    return SerialPayloadSpec(fmt, device, baud_i, kw.get("garbage", 0.0),
                             kw.get("corrupt", 0.0), rate, kw.get("noise"))


# ---------------------------------------------------------------------------- output
class SerialPayloadOutput:
    """Runtime of one serial payload: sensor models, the port, frame writing, truth rows.

    Parameters
    ----------
    spec : SerialPayloadSpec
    value_at : callable
        ``value_at(quantity, e, n, u)`` as for :class:`~firmware_sim.payload.Sensor`.
    seed : int
    index : int
        Position among the serial payloads (decorrelates noise and phase).
    units : dict
        Quantity -> units of the field; every channel's quantity must be in it.

    Attributes
    ----------
    path : str
        The device the ground side should open (the pty's other end for ``pty``).
    offset : int
        Bytes written to the stream so far (offsets of the faults log).
    dropped : int
        Bytes that could not be written (nobody reading and the buffer full).
    """

    def __init__(self, spec: SerialPayloadSpec, value_at, seed: int, index: int,
                 units: dict[str, str]):
        self.spec = spec
        _, channels, resolution, noise = FORMATS[spec.fmt]
        for _, q in channels:
            if q not in units:
                raise SimError(f"--serial-payload {spec.fmt}: the field has no quantity "
                               f"{q!r} (needed by the sensor)")
        self.channels = channels
        self.units = units
        rng = random.Random(seed * 7_777_777 + index * 104_729 + 99)
        period = max(1, round(1000.0 / spec.rate_hz))
        phase = 1 + rng.randrange(period)
        self.sensors = []
        for k, (name, quantity) in enumerate(channels):
            s = SensorSpec(name=name, quantity=quantity, rate_hz=spec.rate_hz,
                           noise=noise if spec.noise is None else spec.noise, lag_s=1.0,
                           resolution=resolution, sensor_id=spec.fmt)
            self.sensors.append(Sensor(s, value_at, seed, 1000 + 10 * index + k, phase))
        self.rng = rng
        self.device_id = rng.randrange(1 << 16)
        self.fd: int | None = None
        self._keep: list[int] = []
        self._port = None
        self.path = spec.device
        self.offset = 0
        self.dropped = 0
        self.frames = 0

    # -- port -------------------------------------------------------------------------------
    def open(self) -> str:
        """Open the device (or create the pty); return the path the ground side opens."""
        if self.spec.device == "pty":
            master, slave = os.openpty()
            tty.setraw(slave)  # binary frames must not meet a line discipline
            os.set_blocking(master, False)
            self.fd = master
            self._keep = [master, slave]  # the slave stays open so its raw mode stays
            self.path = os.ttyname(slave)
            return self.path
        try:
            import serial

            self._port = serial.Serial(self.spec.device, self.spec.baud, timeout=0)
        except Exception as exc:  # SerialException, OSError, ValueError
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise SimError(f"--serial-payload {self.spec.device}: cannot open ({reason})") \
                from None
        self.fd = self._port.fileno()
        os.set_blocking(self.fd, False)
        return self.path

    def close(self) -> None:
        """Close the port (and both ends of a pty)."""
        if self._port is not None:
            with contextlib.suppress(Exception):
                self._port.close()
        for fd in self._keep:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._port = None
        self._keep = []
        self.fd = None

    def _write(self, data: bytes) -> None:
        self.offset += len(data)
        if self.fd is None:
            return
        try:
            n = os.write(self.fd, data)
        except (BlockingIOError, OSError):
            n = 0
        self.dropped += len(data) - n

    def drain(self) -> None:
        """Read and forget what the ground sent (SPS30 requests): it must not pile up."""
        if self.fd is None:
            return
        for _ in range(16):
            try:
                if not os.read(self.fd, 4096):
                    return
            except (BlockingIOError, OSError):
                return

    # -- sensor -----------------------------------------------------------------------------
    def advance(self, t0_ms: int, t1_ms: int, pos, t_sim: float, log) -> list:
        """Sample, encode and write the frames due in ``(t0_ms, t1_ms]``.

        Returns the :class:`~firmware_sim.payload.Reading` list of each frame written (one
        list per frame, one reading per channel) for the truth file.
        """
        per_sensor = [s.advance(t0_ms, t1_ms, pos) for s in self.sensors]
        out = []
        spec = self.spec
        for readings in zip(*per_sensor, strict=True):
            frame = _encode(spec.fmt, [r.reported for r in readings], self.device_id)
            if spec.garbage > 0 and self.rng.random() < spec.garbage:
                junk = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 32)))
                log.write("serial_garbage", t_sim, offset=self.offset, length=len(junk),
                          sensor=spec.fmt)
                self._write(junk)
            if spec.corrupt > 0 and self.rng.random() < spec.corrupt:
                i = self.rng.randrange(1, len(frame))
                b = bytearray(frame)
                b[i] ^= 1 << self.rng.randrange(8)
                frame = bytes(b)
                log.write("serial_corrupt", t_sim, offset=self.offset, byte=i, sensor=spec.fmt)
            self._write(frame)
            self.frames += 1
            out.append(list(readings))
        return out

    def truth_values(self, readings) -> list[float]:
        """``reported_value`` of each channel as the ground decodes it."""
        return _wire_values(self.spec.fmt, [r.reported for r in readings])
