"""Safety checks run before a mission is written or uploaded.

:func:`check` lists every problem; :func:`ensure_safe` raises one :class:`MissionCheckError`
naming them all, so nothing is written or uploaded when any check fails.

Checks (each can be switched off by setting its limit to None):

- **maximum height** above home of any item (default 120 m);
- **maximum horizontal distance** of any item from home (default 1000 m);
- **minimum spacing**: the shortest leg between two consecutive waypoints that are not at the
  same place (for a lawnmower survey the step between lines; for a profile the level step;
  default 5 m);
- **endurance**: the estimated flight time (:func:`~dronesense.missions.patterns.estimate`)
  must leave ``reserve`` (default 20 %) of the given endurance unused;
- **target autopilot**: every command and frame must be one the target can fly
  (``"ardupilot"``, ``"px4"`` or ``"firmware_sim"``), positions must be finite and on Earth,
  and no item may be below home.

Examples
--------
>>> from dronesense.missions.items import Home
>>> from dronesense.missions.patterns import vertical_profile
>>> m = vertical_profile(Home(51.0, 7.0, 40.0), [50, 150])
>>> check(m)
['item 4 (NAV_WAYPOINT): 150 m above home exceeds the maximum of 120 m']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dronesense.errors import InputError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.missions.items import GLOBAL_FRAMES, NAV_WAYPOINT, Mission
from dronesense.missions.patterns import estimate

__all__ = ["TARGETS", "Limits", "MissionCheckError", "check", "ensure_safe"]

_COPTER_COMMON = {16, 17, 18, 19, 20, 21, 22, 93, 112, 114, 115, 177, 178, 179, 181, 183, 201,
                  195, 197, 203, 205, 206}

#: per target: (MAV_CMD ids it flies or accepts, MAV_FRAME ids it accepts)
TARGETS: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "ardupilot": (frozenset(_COPTER_COMMON | {82, 30, 31, 84, 85, 92, 94, 189, 200, 202, 204,
                                              207, 208, 211, 212, 213, 214, 215, 216, 217,
                                              218, 219, 220, 221, 222, 223, 3000, 2000, 2001,
                                              2500, 2501, 530, 42600}),
                  frozenset({0, 2, 3, 5, 6, 10, 11})),
    "px4": (frozenset({16, 17, 18, 19, 20, 21, 22, 31, 84, 85, 93, 112, 114, 115, 177, 178,
                       179, 183, 189, 195, 197, 200, 201, 203, 205, 206, 211, 214, 530, 2000,
                       2001, 2500, 2501, 3000, 5000, 5001, 5002, 5003, 5004}),
            frozenset({0, 2, 3, 5, 6})),
    "firmware_sim": (frozenset(_COPTER_COMMON | {530, 2000, 2001, 2500, 2501}),
                     frozenset({0, 2, 3, 5, 6, 10, 11})),
}


class MissionCheckError(InputError):
    """A mission failed its safety checks; the message lists every problem."""


@dataclass(frozen=True)
class Limits:
    """Limits for :func:`check`; None switches a check off.

    Parameters
    ----------
    max_height
        Metres above home.
    max_distance
        Horizontal metres from home.
    min_spacing
        Shortest allowed leg between consecutive distinct waypoints, metres.
    endurance
        Flight endurance in seconds.
    reserve
        Fraction of ``endurance`` to keep unused.
    target
        ``"ardupilot"``, ``"px4"``, ``"firmware_sim"`` or None (any command).
    speed
        Speed for the duration estimate when the mission sets none (m/s).

    Raises
    ------
    ParameterError
        A limit that is NaN, infinite or not positive (a negative ``reserve``), named by its
        field.
    """

    max_height: float | None = 120.0
    max_distance: float | None = 1000.0
    min_spacing: float | None = 5.0
    endurance: float | None = None
    reserve: float = 0.2
    target: str | None = "ardupilot"
    speed: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_height", "max_distance", "min_spacing", "endurance", "speed"):
            value = getattr(self, name)
            if value is not None and not (0 < value < math.inf):
                raise ParameterError(name, f"must be positive and finite (None: no check), "
                                           f"got {value}")
        if not (0 <= self.reserve < math.inf):
            raise ParameterError("reserve", f"must be a finite share, not negative, "
                                            f"got {self.reserve}")


def _minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def check(mission: Mission, limits: Limits | None = None) -> list[str]:
    """Every problem found, as short sentences (empty when the mission passes).

    Examples
    --------
    >>> from dronesense.missions.items import Home, Mission, MissionItem
    >>> m = Mission(Home(51.0, 7.0), [MissionItem(31337, 2)])
    >>> check(m, Limits(target="px4"))
    ['item 1 (31337): command 31337 is not supported by px4']
    """
    limits = limits or Limits()
    home = mission.home
    local = LocalFrame(home.lat, home.lon, 0.0)
    problems: list[str] = []
    if limits.target is not None and limits.target not in TARGETS:
        raise ParameterError("target", f"unknown target autopilot {limits.target!r} "
                                       f"(use {', '.join(TARGETS)})")
    commands, frames = TARGETS.get(limits.target or "", (None, None))
    last: tuple[float, float, float] | None = None
    for seq, item in enumerate(mission.items, start=1):
        where = f"item {seq} ({item.name})"
        if any(math.isinf(v) for v in item.all_params):
            problems.append(f"{where}: a parameter is infinite (allowed: finite numbers, "
                            "NaN for unset)")
            continue
        if commands is not None and item.command not in commands:
            problems.append(f"{where}: command {item.command} is not supported by "
                            f"{limits.target}")
            continue
        if frames is not None and item.frame not in frames:
            problems.append(f"{where}: frame {item.frame} is not supported by {limits.target}")
            continue
        if not item.has_position:
            continue
        if item.frame not in GLOBAL_FRAMES:
            continue
        if not all(math.isfinite(v) for v in (item.lat, item.lon, item.alt)):
            problems.append(f"{where}: position is not a finite number")
            continue
        if not (-90 <= item.lat <= 90 and -180 <= item.lon <= 180) or (
                item.lat == 0 and item.lon == 0 and item.command == NAV_WAYPOINT):
            problems.append(f"{where}: position {item.lat}, {item.lon} is not valid")
            continue
        h = item.height(home)
        e, n, _ = local.forward(item.lat, item.lon, 0.0)
        dist = math.hypot(float(e), float(n))
        if h < 0:
            problems.append(f"{where}: {h:g} m is below home")
        if limits.max_height is not None and h > limits.max_height:
            problems.append(f"{where}: {h:g} m above home exceeds the maximum of "
                            f"{limits.max_height:g} m")
        if limits.max_distance is not None and dist > limits.max_distance:
            problems.append(f"{where}: {dist:.0f} m from home exceeds the maximum of "
                            f"{limits.max_distance:g} m")
        if item.command == NAV_WAYPOINT:
            here = (float(e), float(n), h)
            if last is not None and limits.min_spacing is not None:
                leg = math.dist(last, here)
                if 1e-3 < leg < limits.min_spacing:
                    problems.append(f"{where}: {leg:.1f} m from the previous waypoint, less "
                                    f"than the minimum spacing of {limits.min_spacing:g} m")
            last = here
    if limits.endurance is not None:
        est = estimate(mission, speed=limits.speed)
        usable = limits.endurance * (1 - limits.reserve)
        if est.duration > usable:
            problems.append(
                f"estimated flight time {_minutes(est.duration)} exceeds the endurance of "
                f"{_minutes(limits.endurance)} less a {limits.reserve:.0%} reserve "
                f"({_minutes(usable)})")
    return problems


def ensure_safe(mission: Mission, limits: Limits | None = None,
                source: object | None = None) -> None:
    """Raise :class:`MissionCheckError` listing every problem, if there is any.

    Examples
    --------
    >>> from dronesense.missions.items import Home
    >>> from dronesense.missions.patterns import vertical_profile
    >>> ensure_safe(vertical_profile(Home(51.0, 7.0, 40.0), [10, 20]))
    """
    problems = check(mission, limits)
    if problems:
        head = "unsafe mission"
        if len(problems) > 1:
            head += f", {len(problems)} problems"
        raise MissionCheckError(f"{head}: " + "; ".join(problems), path=source)
