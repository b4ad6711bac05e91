"""Link impairments and vehicle faults, with a record of every fault that fires.

A fault spec is ``KIND=VALUE``; several may be given (``--fault`` repeated, or joined by
commas in one spec). Link faults act on the encoded packets between the autopilot's encoder
and the transport (and the ``--tlog`` file, which records what a ground station received):

===================  ===================================================================
``loss=P``           drop each packet with probability P
``corrupt=P``        flip one random byte of a packet with probability P (CRC then fails)
``garbage=P``        with probability P insert 1-32 random bytes before a packet
``delay=S``          deliver every packet S seconds late (sim time)
``jitter=S``         add a random 0..S s to the delay (the link stays first-in first-out)
``reorder=P``        with probability P hold a packet back and send it after the next one
``dup=P``            with probability P deliver a packet twice, the copy right after it
                     (same bytes: a radio or router repeating a frame)
``outage=A:B``       drop everything sent from A to B s (a radio drop-out)
``reboot=T``         the autopilot reboots at T s: 0.5 s of silence, then time_boot_ms
                     restarts from 0 and packet sequence numbers from 0 (repeatable)
``gpsloss=A:B``      no GPS fix from A to B s: fix_type 1, lat = lon = 0
``clock=S``          SYSTEM_TIME's UTC is S seconds off the true time
``clockdrift=PPM``   the autopilot's clock (every ``time_boot_ms``) runs PPM parts per
                     million slow, so SYSTEM_TIME's (true) UTC runs PPM ppm fast against it
                     (negative: the other way); within [-10000, 10000]
``clockjump=T:S``    from sim time T on, SYSTEM_TIME's UTC is S seconds further off (a step
                     of the autopilot's UTC source; repeatable, steps add up)
``systime_jitter=MS``  SYSTEM_TIME's UTC is off by a random amount, uniform in ±MS ms,
                     drawn anew for each message (scheduling jitter of the autopilot)
===================  ===================================================================

The truth file always holds the true UTC (sim time), so a clock model can be measured
against it; its ``time_boot_ms`` is the autopilot's (drifting) vehicle time.

Times are simulated seconds since the start. Each fault that fires is written to the
faults log (JSON lines, see :class:`FaultLog`).

Examples
--------
>>> specs = parse_faults(["loss=0.05,delay=0.2", "reboot=120", "gpsloss=60:75"])
>>> specs.loss, specs.delay, specs.reboots, specs.gpsloss
(0.05, 0.2, [120.0], [(60.0, 75.0)])
>>> specs = parse_faults(["clockdrift=200", "clockjump=120:2.0,systime_jitter=5"])
>>> specs.clockdrift, specs.clockjumps, specs.systime_jitter
(200.0, [(120.0, 2.0)], 5.0)
"""

from __future__ import annotations

import heapq
import json
import math
import random
from dataclasses import dataclass, field
from typing import IO

from .errors import SimError

PROBABILITIES = ("loss", "corrupt", "garbage", "reorder", "dup")
#: Largest clock offset or step accepted, seconds (one year either way).
MAX_CLOCK_S = 366 * 86400.0
#: Latest fault time accepted, simulated seconds.
MAX_TIME_S = 10 * 86400.0
DURATIONS = ("delay", "jitter", "clock")
INTERVALS = ("gpsloss", "outage")


@dataclass
class FaultSpecs:
    """All requested faults (see the module docstring)."""

    loss: float = 0.0
    corrupt: float = 0.0
    garbage: float = 0.0
    reorder: float = 0.0
    dup: float = 0.0
    delay: float = 0.0
    jitter: float = 0.0
    clock: float = 0.0
    clockdrift: float = 0.0
    clockjumps: list[tuple[float, float]] = field(default_factory=list)
    systime_jitter: float = 0.0
    reboots: list[float] = field(default_factory=list)
    gpsloss: list[tuple[float, float]] = field(default_factory=list)
    outage: list[tuple[float, float]] = field(default_factory=list)

    @property
    def link_active(self) -> bool:
        """True if any packet-level impairment is on."""
        return bool(self.loss or self.corrupt or self.garbage or self.reorder or self.delay
                    or self.jitter or self.outage or self.dup)

    def clock_jump_s(self, t: float) -> float:
        """Seconds SYSTEM_TIME's UTC has stepped by at sim time ``t`` (sum of past jumps)."""
        return sum(s for at, s in self.clockjumps if at <= t)

    def gps_lost(self, t: float) -> bool:
        """True if the GPS has no fix at sim time ``t``."""
        return any(a <= t < b for a, b in self.gpsloss)


def parse_faults(specs: list[str] | None) -> FaultSpecs:
    """Parse ``--fault`` specs.

    Raises
    ------
    SimError
        ``--fault SPEC: problem`` for a bad spec.
    """
    out = FaultSpecs()
    for spec in specs or []:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            where = f"--fault {part}"
            if "=" not in part:
                raise SimError(f"{where}: expected KIND=VALUE")
            kind, value = (s.strip() for s in part.split("=", 1))
            kind = kind.lower()
            if any(not math.isfinite(float(x)) for x in value.split(":") if _is_float(x)):
                raise SimError(f"{where}: {value!r} is not allowed: expected finite numbers")
            try:
                if kind in PROBABILITIES:
                    p = float(value)
                    if not 0 <= p <= 1:
                        raise SimError(f"{where}: probability must be in [0, 1]")
                    setattr(out, kind, p)
                elif kind in DURATIONS:
                    s = float(value)
                    if kind != "clock" and not 0 <= s <= 3600:
                        raise SimError(f"{where}: seconds must be in [0, 3600]")
                    if kind == "clock" and not abs(s) <= MAX_CLOCK_S:
                        raise SimError(f"{where}: seconds must be in [-{MAX_CLOCK_S:g}, "
                                       f"{MAX_CLOCK_S:g}]")
                    setattr(out, kind, s)
                elif kind == "reboot":
                    t = float(value)
                    if not 0 < t <= MAX_TIME_S:
                        raise SimError(f"{where}: reboot time must be in (0, {MAX_TIME_S:g}] s")
                    out.reboots.append(t)
                elif kind == "clockdrift":
                    ppm = float(value)
                    if not -10_000 <= ppm <= 10_000:
                        raise SimError(f"{where}: ppm must be in [-10000, 10000]")
                    out.clockdrift = ppm
                elif kind == "clockjump":
                    at, step = (float(x) for x in value.split(":"))
                    if not (0 <= at <= MAX_TIME_S and abs(step) <= MAX_CLOCK_S):
                        raise SimError(f"{where}: expected T:S with 0 <= T <= {MAX_TIME_S:g} "
                                       f"and |S| <= {MAX_CLOCK_S:g}")
                    out.clockjumps.append((at, step))
                elif kind == "systime_jitter":
                    ms = float(value)
                    if not 0 <= ms <= 10_000:
                        raise SimError(f"{where}: milliseconds must be in [0, 10000]")
                    out.systime_jitter = ms
                elif kind in INTERVALS:
                    a, b = (float(x) for x in value.split(":"))
                    if not 0 <= a < b <= MAX_TIME_S:
                        raise SimError(f"{where}: expected START:END with 0 <= START < END "
                                       f"<= {MAX_TIME_S:g}")
                    getattr(out, kind).append((a, b))
                else:
                    raise SimError(
                        f"{where}: unknown fault {kind!r} (known: loss, corrupt, garbage, "
                        "delay, jitter, reorder, dup, outage, reboot, gpsloss, clock, clockdrift, "
                        "clockjump, systime_jitter)")
            except ValueError:
                raise SimError(f"{where}: bad value {value!r}") from None
    out.reboots.sort()
    out.clockjumps.sort()
    return out


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class FaultLog:
    """Writes one JSON object per line for each fault that fires.

    Keys: ``kind``, ``t`` (sim seconds), ``time_boot_ms`` (of the affected packet or of
    the autopilot when the fault fired), ``msg`` (message type, where a packet is
    affected), ``seq`` (packet sequence number), ``offset`` (byte offset in the ``--tlog``
    file where the affected record starts, or where the dropped record would have been;
    ``null`` without a tlog), plus kind-specific keys (``byte``, ``length``, ``seconds``,
    ``end``, ``ppm``, ``ms``). ``clockdrift`` and ``systime_jitter`` are written once at
    the start; ``clockjump`` when the first SYSTEM_TIME carrying the step is sent, with its
    ``time_boot_ms``, the step ``seconds`` and the scheduled time ``at``.
    """

    def __init__(self, fh: IO[str] | None):
        self.fh = fh
        self.counts: dict[str, int] = {}

    def write(self, kind: str, t: float, **info) -> None:
        """Record one fault."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.fh is not None:
            rec = {"kind": kind, "t": round(t, 6), **info}
            self.fh.write(json.dumps(rec, separators=(",", ":")) + "\n")


class Impairer:
    """Applies link faults to packets and hands them to ``deliver(t, data, meta)``.

    ``meta`` is a tuple ``(msg_name, seq, time_boot_ms)``. ``offset()`` reports the
    current tlog byte offset (or ``None``) for the faults log.
    """

    def __init__(self, specs: FaultSpecs, seed: int, log: FaultLog, deliver, offset):
        self.s = specs
        self.rng = random.Random(seed * 104_729 + 3)
        self.log = log
        self.deliver = deliver
        self.offset = offset
        self.queue: list[tuple[float, int, bytes, tuple]] = []
        self.counter = 0
        self.held: tuple[bytes, tuple] | None = None
        self.last_due = 0.0

    def _out(self, t: float, data: bytes, meta: tuple) -> None:
        s = self.s
        if s.delay or s.jitter:
            due = t + s.delay + (self.rng.random() * s.jitter if s.jitter else 0.0)
            due = max(due, self.last_due)
            self.last_due = due
            self.counter += 1
            heapq.heappush(self.queue, (due, self.counter, data, meta))
        else:
            self._emit(t, data, meta)

    def _emit(self, t: float, data: bytes, meta: tuple) -> None:
        s = self.s
        rng = self.rng
        if s.garbage and rng.random() < s.garbage:
            junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
            self.log.write("garbage", t, time_boot_ms=meta[2], offset=self.offset(),
                           length=len(junk))
            self.deliver(t, junk, None)
        if s.corrupt and rng.random() < s.corrupt:
            i = rng.randrange(len(data))
            b = bytearray(data)
            b[i] ^= rng.randint(1, 255)
            data = bytes(b)
            self.log.write("corrupt", t, msg=meta[0], seq=meta[1], time_boot_ms=meta[2],
                           offset=self.offset(), byte=i)
        self.deliver(t, data, meta)
        if s.dup and rng.random() < s.dup:
            self.log.write("dup", t, msg=meta[0], seq=meta[1], time_boot_ms=meta[2],
                           offset=self.offset())
            self.deliver(t, data, meta)

    def send(self, t: float, data: bytes, meta: tuple) -> None:
        """Pass one packet sent at sim time ``t`` through the impairments."""
        s = self.s
        if s.outage and any(a <= t < b for a, b in s.outage):
            self.log.write("outage", t, msg=meta[0], seq=meta[1], time_boot_ms=meta[2],
                           offset=self.offset())
            return
        if s.loss and self.rng.random() < s.loss:
            self.log.write("loss", t, msg=meta[0], seq=meta[1], time_boot_ms=meta[2],
                           offset=self.offset())
            return
        if self.held is not None:
            self._out(t, data, meta)
            hdata, hmeta = self.held
            self.held = None
            self._out(t, hdata, hmeta)
            return
        if s.reorder and self.rng.random() < s.reorder:
            self.held = (data, meta)
            self.log.write("reorder", t, msg=meta[0], seq=meta[1], time_boot_ms=meta[2],
                           offset=self.offset())
            return
        self._out(t, data, meta)

    def flush(self, t: float) -> None:
        """Deliver queued (delayed) packets due at or before ``t``."""
        q = self.queue
        while q and q[0][0] <= t:
            due, _, data, meta = heapq.heappop(q)
            self._emit(due, data, meta)

    def drain(self) -> None:
        """Deliver everything still held or queued (end of the run)."""
        if self.held is not None:
            hdata, hmeta = self.held
            self.held = None
            self._out(self.last_due, hdata, hmeta)
        while self.queue:
            due, _, data, meta = heapq.heappop(self.queue)
            self._emit(due, data, meta)
