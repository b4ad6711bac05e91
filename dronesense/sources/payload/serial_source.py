"""Serial payloads on the ground side: read a sensor's port, stamp every chunk on arrival.

:class:`SerialPayload` opens a serial port with pyserial and reads it in a thread, so every
chunk is stamped with the ground receive time (UNIX µs) the moment it arrives, whatever the
caller is doing; :meth:`SerialPayload.poll` decodes what has arrived into
:class:`~dronesense.sources.payload.frames.Stamped` frames. For an SPS30 (which only answers
requests) the thread also sends *Start Measurement* once and *Read Measured Values* every
``poll_s``. The frames get vehicle times from a
:class:`~dronesense.sources.payload.clock.ReceiveClock` through
:class:`~dronesense.sources.payload.readings.PayloadReadings`.

A frame's time is the receive time of the read that completed it, minus the time the line
took to carry it (its length plus the bytes after it in that read, 10 bits a byte at the
port's baud), i.e. the moment the sensor began sending it. ``latency_s`` overrides that
correction with a fixed value (``0`` for a pty, which has no line speed).

Examples
--------
A recorded chunk decodes to the frame it carried, stamped when the sensor began sending it
(10 bytes at 9600 baud took 10.4 ms):

>>> chunk = (1_750_000_000_010_417, bytes.fromhex("aac0d4043a0aa1601dab"))
>>> got, = decode_records([chunk], "sds011")
>>> got.recv_us, got.frame.values
(1750000000000000, {'PM2.5': 123.6, 'PM10': 261.8})
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from dronesense.errors import InputError
from dronesense.sources.payload import make_decoder
from dronesense.sources.payload.frames import FrameDecoder, Stamped
from dronesense.sources.payload.sps30 import READ_VALUES, START_FLOAT

__all__ = ["SerialPayload", "decode_records", "iter_records"]

_RECORD = struct.Struct(">QI")
_RETRY_S = 1.0


def _now_us() -> int:
    return time.time_ns() // 1000


class SerialPayload:
    """A serial sensor on a ground-side port, read in a background thread.

    Parameters
    ----------
    device
        Serial device path (``/dev/ttyUSB1``, a pty slave ``/dev/pts/7``, ``COM4``).
    fmt
        ``pms5003``, ``sds011`` or ``sps30``.
    baud
        Line speed; default the sensor's (9600, 9600, 115200).
    latency_s
        Seconds subtracted from a frame's receive time; default (``None``) the time the
        line took to carry the frame and the bytes after it in the same read.
    poll_s
        SPS30 only: seconds between *Read Measured Values* requests (``None``: 1 s; 0: send
        nothing, e.g. when another host polls the sensor and this port only listens).
    record
        File to append every chunk read to, as records of 8-byte big-endian UNIX µs +
        4-byte big-endian length + bytes (the ``rejected.bin`` layout); read it back with
        :func:`iter_records` / :func:`decode_records`.

    Raises
    ------
    InputError
        If the format is unknown or the port cannot be opened.

    Examples
    --------
    >>> import os, tty
    >>> master, slave = os.openpty(); tty.setraw(slave)
    >>> sp = SerialPayload(os.ttyname(slave), "sds011", latency_s=0)
    >>> _ = os.write(master, bytes.fromhex("aac0d4043a0aa1601dab"))
    >>> got = []
    >>> while not got:
    ...     got = sp.poll(timeout=1.0)
    >>> got[0].frame.values
    {'PM2.5': 123.6, 'PM10': 261.8}
    >>> sp.close(); os.close(master); os.close(slave)
    """

    def __init__(self, device: str, fmt: str, baud: int | None = None, *,
                 latency_s: float | None = None, poll_s: float | None = None,
                 record: str | Path | None = None):
        self.decoder: FrameDecoder = make_decoder(fmt)
        self.fmt = self.decoder.sensor
        self.device = device
        self.baud = int(baud or self.decoder.baud)
        self.latency_s = latency_s
        self.poll_s = (1.0 if poll_s is None else poll_s) if self.fmt == "sps30" else 0.0
        self.errors = 0
        self.last_error: str | None = None
        self.bytes = 0
        self._queue: deque[tuple[int, bytes]] = deque()
        self._have = threading.Event()
        self._stop = threading.Event()
        self._record = open(record, "ab") if record is not None else None
        self._port = self._open()
        self._thread = threading.Thread(target=self._run, name=f"payload-{self.fmt}",
                                        daemon=True)
        self._thread.start()

    # -- public API -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the port is open (it is reopened every second after an error)."""
        return self._port is not None

    def poll(self, timeout: float = 0.0) -> list[Stamped]:
        """Frames decoded from what has arrived; wait up to ``timeout`` s for a chunk."""
        if timeout > 0 and not self._queue:
            self._have.wait(timeout)
        self._have.clear()
        out: list[Stamped] = []
        while self._queue:
            recv_us, data = self._queue.popleft()
            out.extend(self._decode(recv_us, data))
        return out

    def stats(self) -> dict:
        """Decoder counts plus port errors, for ``session.json``."""
        return {**self.decoder.stats(), "device": self.device, "baud": self.baud,
                "port_errors": self.errors, "last_error": self.last_error}

    def close(self) -> None:
        """Stop the reader thread and close the port (and the record file)."""
        self._stop.set()
        port = self._port
        if port is not None:
            with contextlib.suppress(Exception):
                port.cancel_read()
        self._thread.join(timeout=2.0)
        if self._port is not None:
            with contextlib.suppress(Exception):
                self._port.close()
            self._port = None
        if self._record is not None:
            self._record.close()
            self._record = None

    def __enter__(self) -> SerialPayload:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _decode(self, recv_us: int, data: bytes) -> list[Stamped]:
        frames = self.decoder.feed(data)
        if not frames:
            return []
        end = self.decoder.offset  # stream offset just after this chunk
        per_byte_us = 10e6 / self.baud
        out = []
        for f in frames:
            if self.latency_s is None:
                back_us = (end - f.offset) * per_byte_us
            else:
                back_us = self.latency_s * 1e6
            out.append(Stamped(round(recv_us - back_us), f))
        return out

    def _open(self, quiet: bool = False):
        import serial

        try:
            port = serial.Serial(self.device, self.baud, timeout=0.2, write_timeout=0.5)
        except (serial.SerialException, OSError, ValueError) as err:
            if not quiet:
                raise InputError(f"cannot open serial payload port ({err})",
                                 path=self.device) from None
            self.last_error = str(err)
            return None
        port.reset_input_buffer()  # bytes from before we listened have no receive time
        return port

    def _run(self) -> None:
        import serial

        next_req = 0.0
        started = False
        while not self._stop.is_set():
            port = self._port
            if port is None:
                self._stop.wait(_RETRY_S)
                if not self._stop.is_set():
                    self._port = self._open(quiet=True)
                    started = False
                continue
            try:
                if self.poll_s > 0 and time.monotonic() >= next_req:
                    if not started:
                        port.write(START_FLOAT)
                        started = True
                    port.write(READ_VALUES)
                    next_req = time.monotonic() + self.poll_s
                data = port.read(max(1, port.in_waiting))
            except serial.SerialTimeoutException:  # nobody drains a request: not fatal
                self.errors += 1
                self.last_error = "write timeout"
                continue
            except Exception as err:  # unplugged adapter, pty closed, ...
                self.errors += 1
                self.last_error = str(err)
                with contextlib.suppress(Exception):
                    port.close()
                self._port = None
                continue
            if not data:
                continue
            recv_us = _now_us()
            if self._record is not None:
                # a sensor sends tens of bytes a second: flush every chunk, a crash loses none
                self._record.write(_RECORD.pack(recv_us, len(data)) + data)
                self._record.flush()
            self.bytes += len(data)
            self._queue.append((recv_us, data))
            self._have.set()


def iter_records(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(receive µs, bytes) records of a file written with ``SerialPayload(record=...)``.

    Raises
    ------
    InputError
        If the file cannot be read; a record cut off at the end is ignored.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"cannot read payload record ({err.strerror})", path=path) from None
    pos = 0
    while pos + _RECORD.size <= len(raw):
        recv_us, n = _RECORD.unpack_from(raw, pos)
        pos += _RECORD.size
        if pos + n > len(raw):
            break
        yield recv_us, raw[pos:pos + n]
        pos += n


def decode_records(records: Iterable[tuple[int, bytes]], fmt: str, baud: int | None = None,
                   latency_s: float | None = None) -> list[Stamped]:
    """Frames of recorded chunks, stamped exactly as :class:`SerialPayload` stamped them."""
    dec = make_decoder(fmt)
    per_byte_us = 10e6 / (baud or dec.baud)
    out = []
    for recv_us, data in records:
        frames = dec.feed(data)
        end = dec.offset
        for f in frames:
            back = (end - f.offset) * per_byte_us if latency_s is None else latency_s * 1e6
            out.append(Stamped(round(recv_us - back), f))
    return out
