"""The incremental flight state of one vehicle: position track, clock model, boots.

Everything here runs on the vehicle's own clock (milliseconds since boot). A reboot shows as
the autopilot's boot time jumping back by more than :data:`REBOOT_THRESHOLD_MS`; it starts a
new boot segment with its own track and clock. Only the autopilot's own timed messages
(positions and SYSTEM_TIME, see :class:`~dronesense.pairing.Pairer`) are fed to
:meth:`FlightState.observe_time`: a payload stamping its readings late (or early) can
therefore neither fake a reboot nor hide one.

Examples
--------
>>> from dronesense.events import Fix, TimeSync
>>> state = FlightState(sysid=1)
>>> state.observe_time(1000.0)
False
>>> state.track.append(Fix(1, 1000.0, 52.0, 5.0, 40.0, 30.0))
True
>>> state.clock.update(0, TimeSync(1, 1000.0, 1_714_557_600_000_000))
>>> state.clock.to_unix_us(0, 1500.0)
1714557600500000
>>> state.observe_time(200.0)        # boot time went back 0.8 s: jitter, not a reboot
False
>>> state.observe_time(100_000.0), state.observe_time(50.0)   # back 100 s: a reboot
(False, True)
>>> state.boot, len(state.track)
(1, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dronesense.events import Fix, Status, TimeSync

__all__ = ["Clock", "FlightState", "Track"]

#: Boot time going back by more than this (ms) is a reboot.
REBOOT_THRESHOLD_MS = 3000.0


class Track:
    """Positions of one boot segment, in arrival order, strictly increasing in time.

    Fixes are kept in plain Python lists (appending and the per-reading lookups of the live
    pairing engine stay cheap); :meth:`arrays` gives numpy arrays for bulk callers, built
    once per length and cached. A fix not later than the last one (duplicate or reordered)
    is dropped and counted in ``dropped``.

    Examples
    --------
    >>> track = Track()
    >>> track.append(Fix(1, 100.0, 1.0, 2.0, 3.0, 4.0)), track.append(Fix(1, 100.0, 0, 0, 0, 0))
    (True, False)
    >>> t, ok, pos = track.arrays()
    >>> t.tolist(), ok.tolist(), pos.tolist()
    ([100.0], [True], [[1.0, 2.0, 3.0, 4.0]])
    """

    __slots__ = ("_arrays", "dropped", "ok", "pos", "times")

    def __init__(self, capacity: int = 1024):
        del capacity  # kept for compatibility: lists grow by themselves
        #: Fix times (ms since boot, float), strictly increasing.
        self.times: list[float] = []
        #: Whether each fix had a usable GNSS solution.
        self.ok: list[bool] = []
        #: (lat, lon, alt_amsl, height) of each fix, floats.
        self.pos: list[tuple[float, float, float, float]] = []
        self.dropped = 0
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.times)

    @property
    def last_time(self) -> float | None:
        """Time of the latest fix (ms since boot), ``None`` if empty."""
        return self.times[-1] if self.times else None

    @property
    def first_time(self) -> float | None:
        """Time of the earliest fix (ms since boot), ``None`` if empty."""
        return self.times[0] if self.times else None

    def last_fix(self) -> tuple[float, bool, np.ndarray] | None:
        """(time, fix_ok, [lat, lon, alt_amsl, height]) of the latest fix."""
        if not self.times:
            return None
        return self.times[-1], self.ok[-1], np.array(self.pos[-1])

    def append(self, fix: Fix) -> bool:
        """Add a fix; False (and counted) if it is not later than the last one."""
        times = self.times
        t = float(fix.time_boot_ms)
        if times and t <= times[-1]:
            self.dropped += 1
            return False
        times.append(t)
        self.ok.append(bool(fix.fix_ok))
        self.pos.append((float(fix.lat), float(fix.lon), float(fix.alt_amsl),
                         float(fix.height)))
        return True

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays (time ms, fix_ok, positions ``(n, 4)``: lat, lon, alt_amsl, height).

        Treat them as read-only: they are cached until the next fix arrives.
        """
        cached = self._arrays
        n = len(self.times)
        if cached is None or cached[0].shape[0] != n:
            cached = self._arrays = (
                np.array(self.times, dtype=float),
                np.array(self.ok, dtype=bool),
                np.array(self.pos, dtype=float).reshape(n, 4),
            )
        return cached


class Clock:
    """Maps vehicle boot time to UTC, one offset per boot segment.

    The offset ``unix_us - boot_ms * 1000`` comes from the latest TimeSync (SYSTEM_TIME with a
    valid UNIX time) of that boot, so slow drift between the vehicle clock and GPS time is
    followed. Before the first TimeSync of a boot the clock is unknown for that boot.
    """

    def __init__(self) -> None:
        self._offset_us: dict[int, float] = {}
        self.syncs = 0

    def update(self, boot: int, sync: TimeSync) -> None:
        """Take a TimeSync observed in boot segment ``boot``."""
        self._offset_us[boot] = sync.time_unix_usec - sync.time_boot_ms * 1000.0
        self.syncs += 1

    def known(self, boot: int) -> bool:
        """Whether boot segment ``boot`` has been synchronised."""
        return boot in self._offset_us

    def offset_us(self, boot: int) -> float | None:
        """UNIX µs minus boot ms x 1000 of that boot, ``None`` if it has no sync yet."""
        return self._offset_us.get(boot)

    def to_unix_us(self, boot: int, time_boot_ms: float) -> int | None:
        """UNIX microseconds of a vehicle time, ``None`` if that boot has no sync yet."""
        offset = self._offset_us.get(boot)
        if offset is None:
            return None
        return round(time_boot_ms * 1000.0 + offset)


@dataclass
class FlightState:
    """What is known about one vehicle (system id) so far.

    Attributes
    ----------
    boot
        Current boot segment number (0, then +1 at each detected reboot).
    track
        Positions of the current boot segment.
    clock
        Boot time -> UTC for every boot segment seen.
    status
        Latest HEARTBEAT state of the autopilot, if any.
    """

    sysid: int
    boot: int = 0
    track: Track = field(default_factory=Track)
    clock: Clock = field(default_factory=Clock)
    status: Status | None = None
    last_time_ms: float | None = None
    reboots: int = 0
    has_flown: bool = False
    max_height: float = float("-inf")

    def observe_time(self, time_boot_ms: float) -> bool:
        """Note a vehicle time read from the autopilot itself (a position fix or a clock sync);
        True if it reveals a reboot (a new boot segment begins)."""
        last = self.last_time_ms
        if last is not None and time_boot_ms < last - REBOOT_THRESHOLD_MS:
            self.boot += 1
            self.reboots += 1
            self.track = Track()
            self.last_time_ms = time_boot_ms
            return True
        if last is None or time_boot_ms > last:
            self.last_time_ms = time_boot_ms
        return False

    def observe_status(self, status: Status) -> None:
        """Take a HEARTBEAT; remembers whether the vehicle has flown (armed above 1 m)."""
        self.status = status

    def observe_fix(self, fix: Fix) -> None:
        """Keep flight bookkeeping (has it flown, highest point) for a fix."""
        if fix.fix_ok:
            self.max_height = max(self.max_height, fix.height)
        if self.status is not None and self.status.armed and fix.height > 1.0:
            self.has_flown = True
