"""Multirotor kinematics: fly a :class:`~firmware_sim.plan.Mission` like ArduCopter in AUTO.

Positions are kept in a flat east/north/up frame in metres around home (``up`` = height
above home; the terrain is flat). The model is a point mass with limited horizontal and
vertical acceleration, speed limits (cruise, climb, descent, land), a yaw-rate limit and
a braking profile that lets the vehicle stop on each waypoint, entering its acceptance
radius slowly.

Examples
--------
>>> from firmware_sim.plan import Mission, MissionItem
>>> m = Mission(home=(51.0, 7.0, 40.0), items=[
...     MissionItem(22, 3, (0, 0, 0, 0, 0, 0, 10.0)),
...     MissionItem(16, 3, (0, 2, 0, 0, 51.0005, 7.0, 10.0)),
...     MissionItem(20, 2, (0, 0, 0, 0, 0, 0, 0))])
>>> v = Vehicle(m, VehicleConfig())
>>> v.start_mission()
True
>>> while not v.finished and v.t < 600:
...     v.step(0.05)
>>> v.landed and not v.armed
True
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from . import plan as P
from .plan import Mission, MissionItem
from .world import Frame

#: ArduCopter custom flight modes
MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9,
         "BRAKE": 17}
MODE_NAMES = {v: k for k, v in MODES.items()}


@dataclass
class VehicleConfig:
    """Kinematic limits (SI units) of the simulated multirotor.

    Examples
    --------
    >>> VehicleConfig(cruise_speed=8.0).cruise_speed
    8.0
    """

    cruise_speed: float = 10.0  #: WPNAV_SPEED, m/s
    max_speed: float = 20.0  #: hard limit for DO_CHANGE_SPEED, m/s
    climb_rate: float = 2.5  #: WPNAV_SPEED_UP, m/s
    descent_rate: float = 1.5  #: WPNAV_SPEED_DN / LAND_SPEED_HIGH, m/s
    land_speed: float = 0.5  #: LAND_SPEED below land_slow_height, m/s
    land_slow_height: float = 10.0  #: m
    accel: float = 2.5  #: WPNAV_ACCEL, horizontal m/s^2
    vaccel: float = 1.5  #: vertical m/s^2
    yaw_rate: float = 90.0  #: deg/s
    acceptance_radius: float = 2.0  #: WPNAV_RADIUS, m (used when an item gives 0)
    rtl_alt: float = 15.0  #: RTL_ALT, m above home
    disarm_delay: float = 2.0  #: s on the ground after landing before disarming
    gps_noise: float = 0.0  #: standard deviation of the reported position error, m


class Vehicle:
    """The simulated vehicle: state, mission executor and motion model.

    Parameters
    ----------
    mission : Mission
        Home and items; ``mission.cruise_speed`` overrides ``config.cruise_speed``.
    config : VehicleConfig
    seed : int
        Seed of the GPS noise.
    """

    def __init__(self, mission: Mission, config: VehicleConfig | None = None, seed: int = 0):
        self.config = config or VehicleConfig()
        self.home = mission.home
        self.frame = Frame(mission.home[0], mission.home[1])
        self.items: list[MissionItem] = list(mission.items)
        self.config.cruise_speed = min(mission.cruise_speed, self.config.max_speed)
        self.speed = self.config.cruise_speed
        self.t = 0.0
        self.e = self.n = self.u = 0.0
        self.ve = self.vn = self.vu = 0.0
        self.ae = self.an = 0.0
        self.yaw = 0.0
        self.yaw_rate = 0.0
        self.armed = False
        self.landed = True
        self.mode = "STABILIZE"
        self.current = 0  # index into items (wire seq = current + 1)
        self.finished = False  # landed and disarmed after a flight
        self.flights = 0
        self.events: list[tuple[str, int]] = []  # ("reached"|"current", seq)
        self._target: tuple[float, float, float] | None = None
        self._radius = self.config.acceptance_radius
        self._hold_until: float | None = None
        self._item_state = "new"
        self._jumps: dict[int, int] = {}
        self._landed_at: float | None = None
        self._rtl_phase = ""
        self._rng = random.Random(seed * 7919 + 17)
        self._noise = [0.0, 0.0, 0.0]

    # ----------------------------------------------------------------- commands
    def arm(self) -> bool:
        """Arm the motors (only on the ground)."""
        if self.landed:
            self.armed = True
            self.finished = False
            self._landed_at = None
        return self.armed

    def disarm(self) -> bool:
        """Disarm (refused in the air)."""
        if self.landed:
            self.armed = False
            return True
        return False

    def set_mode(self, mode: str) -> bool:
        """Change flight mode (a key of :data:`MODES`)."""
        if mode not in MODES:
            return False
        if mode == self.mode:
            return True
        self.mode = mode
        if mode in ("LOITER", "GUIDED", "BRAKE"):
            self._target = (self.e, self.n, self.u)
        elif mode == "RTL":
            self._rtl_phase = "climb"
        elif mode == "AUTO":
            self._item_state = "new"
        return True

    def start_mission(self, first: int = 0) -> bool:
        """Arm if needed, switch to AUTO and fly the items from ``first`` (0-based)."""
        if not self.items:
            return False
        if not self.armed and not self.arm():
            return False
        self.current = max(0, min(first, len(self.items) - 1))
        self._item_state = "new"
        self._jumps = {}
        self.mode = "AUTO"
        self.events.append(("current", self.current + 1))
        return True

    def set_items(self, items: list[MissionItem]) -> None:
        """Replace the mission items (after an upload), keeping the current index in range."""
        self.items = list(items)
        self.current = min(self.current, max(len(self.items) - 1, 0))
        self._item_state = "new"

    # ----------------------------------------------------------------- geometry
    def latlon(self, e: float | None = None, n: float | None = None) -> tuple[float, float]:
        """(lat, lon) of a frame position (default: the vehicle)."""
        return self.frame.to_latlon(self.e if e is None else e, self.n if n is None else n)

    @property
    def alt_amsl(self) -> float:
        """Altitude above mean sea level, m."""
        return self.home[2] + self.u

    @property
    def groundspeed(self) -> float:
        """Horizontal speed, m/s."""
        return math.hypot(self.ve, self.vn)

    def noisy_offset(self) -> tuple[float, float, float]:
        """Current GPS error (east, north, up) in metres."""
        return self._noise[0], self._noise[1], self._noise[2]

    def _item_target(self, item: MissionItem) -> tuple[float, float, float]:
        if item.lat == 0 and item.lon == 0:
            e, n = self.e, self.n
        else:
            e, n = self.frame.to_en(item.lat, item.lon)
        return e, n, item.height_above_home(self.home[2])

    # ----------------------------------------------------------------- control
    def _fly_to(self, te: float, tn: float, tu: float, dt: float, speed: float) -> None:
        c = self.config
        de, dn = te - self.e, tn - self.n
        d = math.hypot(de, dn)
        vmax = min(speed, math.sqrt(2 * c.accel * 0.8 * d)) if d > 1e-6 else 0.0
        if d > 1e-6:
            wde, wdn = de / d * vmax, dn / d * vmax
        else:
            wde = wdn = 0.0
        dve, dvn = wde - self.ve, wdn - self.vn
        dv = math.hypot(dve, dvn)
        lim = c.accel * dt
        if dv > lim:
            dve, dvn = dve * lim / dv, dvn * lim / dv
        self.ae, self.an = dve / dt, dvn / dt
        self.ve += dve
        self.vn += dvn
        du = tu - self.u
        if self.mode == "LAND" or self._rtl_phase == "land" or self._item_state == "landing":
            rate = c.land_speed if self.u < c.land_slow_height else c.descent_rate
            wu = -rate
        else:
            wu = math.copysign(math.sqrt(2 * c.vaccel * 0.8 * abs(du)), du)
            wu = max(-c.descent_rate, min(c.climb_rate, wu))
        dvu = wu - self.vu
        vlim = c.vaccel * dt
        dvu = max(-vlim, min(vlim, dvu))
        self.vu += dvu
        self.e += self.ve * dt
        self.n += self.vn * dt
        self.u += self.vu * dt
        if self.u <= 0.0 and self.vu < 0:
            self.u = 0.0
            self.vu = 0.0
            if not self.landed:
                self.landed = True
                self.ve = self.vn = 0.0
                self._landed_at = self.t

    def _dist3(self, target: tuple[float, float, float]) -> float:
        return math.sqrt((target[0] - self.e) ** 2 + (target[1] - self.n) ** 2
                         + (target[2] - self.u) ** 2)

    def _advance(self, reached: bool = True) -> None:
        if reached:
            self.events.append(("reached", self.current + 1))
        self.current += 1
        self._item_state = "new"
        self._hold_until = None
        if self.current >= len(self.items):
            self.current = len(self.items) - 1
            self.set_mode("RTL")  # end of mission: return home (MIS_DONE_BEHAVE)
        else:
            self.events.append(("current", self.current + 1))

    def _auto(self, dt: float) -> None:
        for _ in range(len(self.items) + 1):  # process DO_ items in the same step
            if self.mode != "AUTO":
                return
            item = self.items[self.current]
            cmd = item.command
            if cmd in P.DO_COMMANDS:
                if cmd == P.DO_CHANGE_SPEED and item.params[1] > 0:
                    self.speed = min(item.params[1], self.config.max_speed)
                elif cmd == P.DO_JUMP:
                    done = self._jumps.get(self.current, 0)
                    if item.params[1] < 0 or done < item.params[1]:
                        self._jumps[self.current] = done + 1
                        target = int(item.params[0]) - 1  # params[0] is a wire seq
                        if 0 <= target < len(self.items):
                            self.current = target
                            self._item_state = "new"
                            self.events.append(("current", self.current + 1))
                            continue
                self._advance(reached=False)
                continue
            break
        if self.mode != "AUTO":
            return
        item = self.items[self.current]
        cmd = item.command
        if self._item_state == "new":
            self._item_state = "going"
            if cmd == P.NAV_TAKEOFF:
                self._target = (self.e, self.n, item.height_above_home(self.home[2]))
                self._radius = 0.5
                self.landed = False
            elif cmd == P.NAV_RETURN_TO_LAUNCH:
                self.events.append(("reached", self.current + 1))
                self.set_mode("RTL")
                return
            elif cmd == P.NAV_DELAY:
                self._target = (self.e, self.n, self.u)
                self._hold_until = self.t + max(item.params[0], 0.0)
                self._item_state = "holding"
            else:
                self._target = self._item_target(item)
                if cmd == P.NAV_LAND:
                    self._target = (self._target[0], self._target[1], self.u)
                self._radius = item.params[1] if cmd == P.NAV_WAYPOINT else 0.0
                if self._radius <= 0:
                    self._radius = self.config.acceptance_radius
            if self.landed and cmd != P.NAV_TAKEOFF:
                # AUTO from the ground without a takeoff item: climb to the first altitude
                self.landed = False
        target = self._target
        assert target is not None
        if self._item_state == "landing":
            self._fly_to(target[0], target[1], -1.0, dt, self.speed)
            if self.landed:
                self.events.append(("reached", self.current + 1))
                self._item_state = "done"
            return
        if self._item_state == "done":
            return
        self._fly_to(target[0], target[1], target[2], dt, self.speed)
        if self._item_state == "going" and self._dist3(target) <= self._radius:
            if cmd == P.NAV_LAND:
                self._item_state = "landing"
                return
            hold = 0.0
            if cmd in (P.NAV_WAYPOINT, P.NAV_LOITER_TIME):
                hold = max(item.params[0], 0.0)
            elif cmd == P.NAV_LOITER_TURNS:
                r = abs(item.params[2]) or 10.0
                hold = abs(item.params[0]) * 2 * math.pi * r / max(self.speed, 1.0)
            elif cmd == P.NAV_LOITER_UNLIM:
                hold = math.inf
            if hold > 0:
                self._item_state = "holding"
                self._hold_until = self.t + hold
                self.events.append(("reached", self.current + 1))
            else:
                self._advance()
            return
        if self._item_state == "holding" and self._hold_until is not None:
            if self.t >= self._hold_until:
                self._advance(reached=cmd == P.NAV_DELAY)

    def _rtl(self, dt: float) -> None:
        c = self.config
        if self._rtl_phase in ("", "climb"):
            target_u = max(self.u, c.rtl_alt)
            self._fly_to(self.e, self.n, target_u, dt, self.speed)
            if abs(self.u - target_u) < 0.5:
                self._rtl_phase = "return"
                self._rtl_alt = target_u
        elif self._rtl_phase == "return":
            self._fly_to(0.0, 0.0, self._rtl_alt, dt, self.speed)
            if math.hypot(self.e, self.n) < 1.0 and self.groundspeed < 0.5:
                self._rtl_phase = "land"
        else:
            self._fly_to(0.0, 0.0, -1.0, dt, self.speed)

    def step(self, dt: float) -> None:
        """Advance the vehicle by ``dt`` seconds."""
        c = self.config
        if (self.armed and not self.landed) or (self.armed and self.mode == "AUTO"
                                              and self._item_state != "done"):
            if self.mode == "AUTO":
                self._auto(dt)
            elif self.mode == "RTL":
                self._rtl(dt)
            elif self.mode == "LAND":
                self._fly_to(self.e, self.n, -1.0, dt, self.speed)
            elif self._target is not None and not self.landed:
                self._fly_to(*self._target, dt, self.speed)
        else:
            self.ae = self.an = 0.0
        # yaw follows the track, rate limited
        if self.groundspeed > 1.0:
            want = math.atan2(self.ve, self.vn)
            diff = (want - self.yaw + math.pi) % (2 * math.pi) - math.pi
            lim = math.radians(c.yaw_rate) * dt
            step = max(-lim, min(lim, diff))
            self.yaw = (self.yaw + step + math.pi) % (2 * math.pi) - math.pi
            self.yaw_rate = step / dt
        else:
            self.yaw_rate = 0.0
        # land detection and disarm
        if self.landed and self.armed and self._landed_at is not None:
            if self.t - self._landed_at >= c.disarm_delay:
                self.armed = False
                self.finished = True
                self.flights += 1
                self._rtl_phase = ""
                self._item_state = "new"
        if c.gps_noise > 0:
            a = math.exp(-dt / 20.0)
            s = c.gps_noise * math.sqrt(1 - a * a)
            g = self._rng.gauss
            self._noise = [a * self._noise[0] + s * g(0, 1), a * self._noise[1] + s * g(0, 1),
                           a * self._noise[2] + 1.5 * s * g(0, 1)]
        self.t += dt

    def attitude(self) -> tuple[float, float]:
        """(roll, pitch) in radians implied by the horizontal acceleration."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        fwd = self.ae * sy + self.an * cy
        right = self.ae * cy - self.an * sy
        return math.atan2(right, 9.81) * 1.0, -math.atan2(fwd, 9.81)
