"""Serial frames -> :class:`~dronesense.events.Reading` events in vehicle time.

:class:`PayloadReadings` takes :class:`~dronesense.sources.payload.frames.Stamped` frames (from
a :class:`~dronesense.sources.payload.serial_source.SerialPayload`) and maps their receive
times to vehicle time with a :class:`~dronesense.sources.payload.clock.ReceiveClock`; the
readings are ready for :meth:`~dronesense.flight.pairing.Pairer.push`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from dronesense.errors import ParameterError
from dronesense.events import Reading
from dronesense.sources.payload.clock import ReceiveClock
from dronesense.sources.payload.frames import Stamped

__all__ = ["DEFAULT_CHANNELS", "PayloadReadings"]

#: Readings reported by default per format: the mass concentrations the name table knows.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "pms5003": ("PM1", "PM2.5", "PM10"),
    "sds011": ("PM2.5", "PM10"),
    "sps30": ("PM1", "PM2.5", "PM10"),
}


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
    >>> from dronesense.sources.payload.frames import Frame
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
            raise ParameterError("fmt", f"unknown payload format {fmt!r} "
                                 f"(known: {', '.join(DEFAULT_CHANNELS)})")
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
