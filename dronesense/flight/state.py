"""The incremental flight state of one vehicle: position track, clock model, boots.

Everything here runs on the vehicle's own clock (milliseconds since boot). A reboot shows as
the autopilot's boot time jumping back by more than :data:`REBOOT_THRESHOLD_MS`; it starts a
new boot segment with its own track and clock. Only the autopilot's own timed messages
(positions and SYSTEM_TIME, see :class:`~dronesense.flight.pairing.Pairer`) are fed to
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

from dronesense.events import Fix, Status
from dronesense.flight.clock import Clock, ClockStep
from dronesense.flight.track import Track

__all__ = ["Clock", "ClockStep", "FlightState", "Track"]

#: Boot time going back by more than this (ms) is a reboot.
REBOOT_THRESHOLD_MS = 3000.0

#: More reboots than this in one stream means the boot time keeps jumping between clocks:
#: most likely two vehicles share one system id (both left at SYSID_THISMAV = 1).
SHARED_SYSID_REBOOTS = 5


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
    #: Horizon of the tracks of later boots (:class:`~dronesense.flight.track.Track`).
    track_horizon_s: float | None = None

    def warnings(self) -> list[str]:
        """What the operator must know about this vehicle's stream.

        Examples
        --------
        >>> fs = FlightState(1, reboots=40)
        >>> fs.warnings()[0].startswith("system id 1: 40 reboots")
        True
        """
        if self.reboots > SHARED_SYSID_REBOOTS:
            return [f"system id {self.sysid}: {self.reboots} reboots; its boot time jumps back "
                    "and forth, so two vehicles probably share this system id (give each its "
                    "own SYSID_THISMAV); their positions cannot be told apart"]
        return []

    def is_late(self, time_boot_ms: float) -> bool:
        """Whether a reading stamped ``time_boot_ms`` lies more than the reboot threshold
        before the autopilot's latest time: either a late reading of this boot or the first
        of a new one, which only the next autopilot time can tell."""
        last = self.last_time_ms
        return last is not None and time_boot_ms < last - REBOOT_THRESHOLD_MS

    def observe_time(self, time_boot_ms: float) -> bool:
        """Note a vehicle time read from the autopilot itself (a position fix or a clock sync);
        True if it reveals a reboot (a new boot segment begins)."""
        last = self.last_time_ms
        if last is not None and time_boot_ms < last - REBOOT_THRESHOLD_MS:
            self.boot += 1
            self.reboots += 1
            self.track = Track(horizon_s=self.track_horizon_s)
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
