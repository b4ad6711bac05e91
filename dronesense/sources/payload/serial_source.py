"""Serial payloads on the ground side: read frames, stamp them, give them vehicle times.

Three pieces, usable apart:

:class:`SerialPayload`
    opens a serial port with pyserial and reads it in a thread, so every chunk is stamped
    with the ground receive time (UNIX µs) the moment it arrives, whatever the caller is
    doing; :meth:`SerialPayload.poll` decodes what has arrived into :class:`Stamped` frames.
    For an SPS30 (which only answers requests) the thread also sends *Start Measurement*
    once and *Read Measured Values* every ``poll_s``.
:class:`ReceiveClock`
    maps ground receive time to a vehicle's ``time_boot_ms``, learnt from the MAVLink
    stream's own (receive time, ``time_boot_ms``) pairs; see its docs for the method.
:class:`PayloadReadings`
    glues the two: frames -> :class:`~dronesense.events.Reading` events in vehicle time,
    ready for :meth:`~dronesense.flight.pairing.Pairer.push`.

A frame's time is the receive time of the read that completed it, minus the time the line
took to carry it (its length plus the bytes after it in that read, 10 bits a byte at the
port's baud), i.e. the moment the sensor began sending it. ``latency_s`` overrides that
correction with a fixed value (``0`` for a pty, which has no line speed).

Examples
--------
The clock from a few MAVLink pairs (receive 20 ms after the vehicle time, one packet
delayed by a burst):

>>> clock = ReceiveClock()
>>> t0 = 1_750_000_000_000_000
>>> for boot_ms, late_ms in [(1000, 20), (1100, 85), (2000, 20), (3000, 21), (4000, 20)]:
...     clock.observe(1, t0 + (boot_ms + late_ms) * 1000, boot_ms)
>>> clock.to_boot_ms(1, t0 + 4520_000)
4500.0
>>> est = clock.estimate(1)
>>> est.offset_ms - t0 / 1000, est.points
(20.0, 4)
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dronesense.errors import InputError
from dronesense.events import Reading
from dronesense.sources.payload import make_decoder
from dronesense.sources.payload.frames import Frame, FrameDecoder
from dronesense.sources.payload.sps30 import READ_VALUES, START_FLOAT

__all__ = ["ClockEstimate", "PayloadReadings", "ReceiveClock", "SerialPayload", "Stamped",
           "decode_records", "iter_records"]

#: Readings reported by default per format: the mass concentrations the name table knows.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "pms5003": ("PM1", "PM2.5", "PM10"),
    "sds011": ("PM2.5", "PM10"),
    "sps30": ("PM1", "PM2.5", "PM10"),
}
#: Boot time going back by more than this (ms) is a reboot (as in :mod:`dronesense.flight.state`).
REBOOT_THRESHOLD_MS = 3000.0
_RECORD = struct.Struct(">QI")
_RETRY_S = 1.0


def _now_us() -> int:
    return time.time_ns() // 1000


# ----------------------------------------------------------------------------------------
# receive clock
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The receive clock of one vehicle as it stands.

    ``recv_ms - time_boot_ms = offset_ms + slope * (recv_ms - t_ref_ms)`` on the lower
    envelope. ``uncertainty_ms`` is the median height of the per-bucket minima above the
    envelope plus the 0.5 ms rounding of ``time_boot_ms``: how tightly the envelope is
    pinned. It does not include the minimum one-way latency, which no one-way stream can
    show (see ``docs/payload.md``).
    """

    offset_ms: float
    slope: float
    t_ref_ms: float
    uncertainty_ms: float
    points: int
    span_s: float
    boot: int


class _VehicleClock:
    """Bucketed lower envelope of (receive time, receive - vehicle time) for one vehicle."""

    __slots__ = ("boot", "boot_start_ms", "buckets", "fit", "last_boot_ms", "last_recv_ms",
                 "prev_end_ms")

    def __init__(self) -> None:
        self.buckets: deque[list[float]] = deque()  # [bucket index, t_ms, d_ms]
        self.fit: ClockEstimate | None = None
        self.boot = 0
        self.last_boot_ms: float | None = None
        self.last_recv_ms: float | None = None
        self.boot_start_ms: float | None = None
        self.prev_end_ms = float("-inf")  # last receive time of the previous boot


class ReceiveClock:
    """Ground receive time -> vehicle ``time_boot_ms``, per system id.

    Method. Every MAVLink message the autopilot stamps with ``time_boot_ms`` and the ground
    receives at ``recv`` gives ``d = recv - time_boot_ms = offset + latency``. The one-way
    latency is never negative, and its smallest values are the least disturbed (no radio
    retry, no batching, no queueing), so the lower envelope of ``d`` over a sliding window
    is the best estimate of ``offset`` (plus the minimum latency, which cannot be seen
    without a round trip). Observations are kept as the minimum per ``bucket_s`` bucket of
    receive time over the last ``window_s``:

    * ``rate=1.0`` (default): both clocks run at real-time speed, the envelope is flat and
      the estimate is the window minimum. A clock drift of 50 ppm moves it by 1.5 ms over a
      30 s window, which is why the window slides.
    * ``rate=None``: the vehicle clock may run at any rate (a simulator faster than real
      time, a badly drifting crystal): the envelope is the edge of the lower convex hull of
      the bucket minima under their mean time (Moon, Skelly & Towsley 1999, the
      linear-programming skew estimate), extended to the query time.

    A vehicle reboot (``time_boot_ms`` going back by more than 3 s) restarts the estimate;
    receive times before the reboot no longer map (:meth:`to_boot_ms` gives ``None``).

    Parameters
    ----------
    window_s
        Length of the sliding window, seconds of receive time.
    bucket_s
        Bucket length, seconds; the minimum of each bucket is kept.
    rate
        Vehicle clock seconds per ground second, or ``None`` to estimate it.
    min_span_s
        With ``rate=None``, the buckets must span this long before a rate is estimated
        (before that the rate is taken as 1).
    """

    def __init__(self, window_s: float = 30.0, bucket_s: float = 1.0, rate: float | None = 1.0,
                 min_span_s: float = 2.0):
        if window_s <= 0 or bucket_s <= 0 or bucket_s > window_s:
            raise InputError("receive clock: need 0 < bucket_s <= window_s")
        self.window_ms = 1000.0 * window_s
        self.bucket_ms = 1000.0 * bucket_s
        self.rate = rate
        self.min_span_ms = 1000.0 * min_span_s
        self._v: dict[int, _VehicleClock] = {}

    @property
    def sysids(self) -> list[int]:
        """Vehicles observed so far, in order of first observation."""
        return list(self._v)

    def observe(self, sysid: int, recv_us: int, time_boot_ms: float) -> None:
        """Take one (receive time, vehicle time) pair of a message the autopilot stamped.

        Feed messages stamped when sent (GLOBAL_POSITION_INT, SYSTEM_TIME, ATTITUDE, i.e.
        the :class:`~dronesense.events.Fix` and :class:`~dronesense.events.TimeSync`
        events), not readings stamped at an earlier sample time (those only sit above the
        envelope, harmless but useless).
        """
        v = self._v.get(sysid)
        if v is None:
            v = self._v[sysid] = _VehicleClock()
        t = recv_us / 1000.0
        boot_ms = float(time_boot_ms)
        if v.last_boot_ms is not None and boot_ms < v.last_boot_ms - REBOOT_THRESHOLD_MS:
            v.prev_end_ms = v.last_recv_ms if v.last_recv_ms is not None else t
            v.buckets.clear()
            v.boot += 1
            v.last_boot_ms = None
            v.boot_start_ms = None
        if v.last_boot_ms is None or boot_ms > v.last_boot_ms:
            v.last_boot_ms = boot_ms
        if v.boot_start_ms is None:
            v.boot_start_ms = t
        v.last_recv_ms = t if v.last_recv_ms is None else max(v.last_recv_ms, t)
        d = t - boot_ms
        k = t // self.bucket_ms
        b = v.buckets
        if b and b[-1][0] == k:
            if d < b[-1][2]:
                b[-1][1], b[-1][2] = t, d
        elif b and k < b[-1][0]:  # receive time went back (ground clock step): restart
            b.clear()
            b.append([k, t, d])
        else:
            b.append([k, t, d])
        while b and b[0][1] < t - self.window_ms:
            b.popleft()
        v.fit = None

    def estimate(self, sysid: int) -> ClockEstimate | None:
        """The current envelope of a vehicle, ``None`` before its first observation."""
        v = self._v.get(sysid)
        if v is None or not v.buckets:
            return None
        if v.fit is None:
            v.fit = self._fit(v)
        return v.fit

    def to_boot_ms(self, sysid: int, recv_us: int) -> float | None:
        """Vehicle time (ms since boot) at which the ground clock read ``recv_us``.

        ``None`` if the vehicle has not been observed, the time lies before its latest
        reboot, or it maps before the boot.
        """
        est = self.estimate(sysid)
        if est is None:
            return None
        v = self._v[sysid]
        t = recv_us / 1000.0
        if t <= v.prev_end_ms:
            return None
        d = est.offset_ms + est.slope * (t - est.t_ref_ms)
        boot_ms = t - d
        return boot_ms if boot_ms >= 0 else None

    def ready(self, sysid: int) -> bool:
        """Whether the estimate has a few buckets behind it (and a rate, if estimated)."""
        est = self.estimate(sysid)
        if est is None:
            return False
        if self.rate is None:
            return est.span_s * 1000.0 >= self.min_span_ms and est.points >= 3
        return est.points >= 2

    def _fit(self, v: _VehicleClock) -> ClockEstimate:
        pts = [(b[1], b[2]) for b in v.buckets]
        span = pts[-1][0] - pts[0][0]
        if self.rate is not None or span < self.min_span_ms or len(pts) < 2:
            slope = 0.0 if self.rate is None else 1.0 - self.rate
            # d + slope * (t_ref - t) lowest over the points, t_ref = latest
            t_ref = pts[-1][0]
            offset = min(d + slope * (t_ref - t) for t, d in pts)
        else:
            t_ref, offset, slope = _hull_line(pts)
        resid = sorted(d - (offset + slope * (t - t_ref)) for t, d in pts)
        med = resid[len(resid) // 2] if len(resid) > 1 else 0.0
        return ClockEstimate(offset, slope, t_ref, med + 0.5, len(pts), span / 1000.0, v.boot)


def _hull_line(pts: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(t_ref, d at t_ref, slope) of the lower-hull edge under the mean time of ``pts``."""
    hull: list[tuple[float, float]] = []
    for p in pts:  # monotone chain, lower hull (points sorted by time)
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    if len(hull) == 1:
        return hull[0][0], hull[0][1], 0.0
    tm = sum(t for t, _ in pts) / len(pts)
    k = 1
    while k < len(hull) - 1 and hull[k][0] < tm:
        k += 1
    (x1, y1), (x2, y2) = hull[k - 1], hull[k]
    return x1, y1, (y2 - y1) / (x2 - x1)


# ----------------------------------------------------------------------------------------
# serial port
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Stamped:
    """A decoded frame and the ground time (UNIX µs) the sensor began sending it."""

    recv_us: int
    frame: Frame


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


# ----------------------------------------------------------------------------------------
# frames -> readings in vehicle time
# ----------------------------------------------------------------------------------------
class PayloadReadings:
    """Turn stamped frames into :class:`~dronesense.events.Reading` events in vehicle time.

    Frames wait (up to ``max_hold_s`` of receive time) until the clock of their vehicle is
    :meth:`ReceiveClock.ready`; frames that cannot be mapped (too old, before a reboot) are
    dropped and counted in ``dropped``.

    Parameters
    ----------
    clock
        The receive clock, fed by the caller from the MAVLink stream.
    fmt
        Payload format (selects the default channels).
    sysid
        Vehicle carrying the sensor; ``None``: the first vehicle the clock heard.
    channels
        Wire names to report (default :data:`DEFAULT_CHANNELS`); ``"all"`` for every value
        of the frame.
    max_hold_s
        Longest wait for the clock, seconds.
    prefix
        If given, readings are named ``PREFIX.NAME`` (``pms5003.PM2.5``) so that they stay
        apart from the autopilot's own ``PM2.5``; the name table maps them to the same
        quantity once told the sensor (:meth:`~dronesense.quantities.NameTable.add_sensor`).

    Examples
    --------
    >>> clock = ReceiveClock()
    >>> conv = PayloadReadings(clock, "sds011", sysid=1)
    >>> f = Frame(0, 10, "data", {"PM2.5": 12.5, "PM10": 20.0})
    >>> conv.push([Stamped(5_000_000, f)])    # clock not ready: held
    []
    >>> clock.observe(1, 4_000_000, 1000.0); clock.observe(1, 5_500_000, 2500.0)
    >>> [(r.time_boot_ms, r.name, r.value) for r, _ in conv.push([])]
    [(2000.0, 'PM2.5', 12.5), (2000.0, 'PM10', 20.0)]
    """

    def __init__(self, clock: ReceiveClock, fmt: str, sysid: int | None = None,
                 channels: Iterable[str] | str | None = None, max_hold_s: float = 60.0,
                 prefix: str | None = None):
        self.clock = clock
        self.prefix = prefix
        self.sysid = sysid
        if fmt.lower() not in DEFAULT_CHANNELS:
            raise InputError(f"unknown payload format {fmt!r}")
        if channels == "all":
            self.channels = None
        else:
            self.channels = tuple(channels) if channels is not None else \
                DEFAULT_CHANNELS[fmt.lower()]
        self.max_hold_us = int(max_hold_s * 1e6)
        self._held: deque[Stamped] = deque()
        self.dropped = 0
        self.readings = 0

    def push(self, stamped: Iterable[Stamped]) -> list[tuple[Reading, int]]:
        """Add frames; return (reading, receive µs) for every frame that can be mapped now."""
        held = self._held
        for s in stamped:
            if s.frame.kind == "data":
                held.append(s)
        sysid = self.sysid
        if sysid is None:
            ids = self.clock.sysids
            if not ids:
                self._expire()
                return []
            sysid = ids[0]
        if not held or not self.clock.ready(sysid):
            self._expire()
            return []
        out: list[tuple[Reading, int]] = []
        while held:
            s = held.popleft()
            t = self.clock.to_boot_ms(sysid, s.recv_us)
            if t is None:
                self.dropped += 1
                continue
            values = s.frame.values
            names = values if self.channels is None else self.channels
            pre = "" if not self.prefix else self.prefix + "."
            for name in names:
                if name in values:
                    out.append((Reading(sysid, t, pre + name, values[name]), s.recv_us))
        self.readings += len(out)
        return out

    def _expire(self) -> None:
        held = self._held
        if not held:
            return
        limit = held[-1].recv_us - self.max_hold_us
        while held and held[0].recv_us < limit:
            held.popleft()
            self.dropped += 1

    @property
    def pending(self) -> int:
        """Frames waiting for the clock."""
        return len(self._held)
