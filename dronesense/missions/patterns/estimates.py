"""Flight time and path length of a mission, from a simple multirotor model.

Examples
--------
>>> from dronesense.missions.items import Home
>>> from dronesense.missions.patterns import vertical_profile
>>> print(estimate(vertical_profile(Home(51.0, 7.0), [10, 20], hold=10, end=None)))
estimated duration 0 min 28 s, path length 20 m
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import dronesense.missions.patterns.params as params
from dronesense.geo import LocalFrame
from dronesense.missions.items import (
    DO_CHANGE_SPEED,
    NAV_LAND,
    NAV_LOITER_TIME,
    NAV_LOITER_TURNS,
    NAV_RETURN_TO_LAUNCH,
    NAV_TAKEOFF,
    NAV_WAYPOINT,
    Mission,
)

__all__ = ["Estimate", "estimate"]


@dataclass(frozen=True)
class Estimate:
    """Estimated flight: ``duration`` in seconds, ``path_length`` in metres (3D)."""

    duration: float
    path_length: float

    def __str__(self) -> str:
        if not (math.isfinite(self.duration) and math.isfinite(self.path_length)):
            return "estimated duration unknown (a parameter is not a finite number)"
        m, s = divmod(round(self.duration), 60)
        return f"estimated duration {m} min {s:02d} s, path length {self.path_length:.0f} m"


def estimate(mission: Mission, *, speed: float | None = None, climb_rate: float = 2.5,
             descent_rate: float = 1.5, land_rate: float = 0.5, land_slow_height: float = 10.0,
             accel: float = 2.5) -> Estimate:
    """Estimate flight time and path length of a mission.

    A simple kinematic model of a multirotor that stops on every waypoint (as ArduCopter
    and ``firmware_sim`` do): each leg takes the longer of its horizontal time (accelerating
    at ``accel`` to the current ground speed and braking again) and its height change at the
    climb or descent rate; holds (NAV_WAYPOINT/NAV_LOITER_TIME param1) and loiter turns are
    added; RTL flies home at the current height and lands at ``land_rate``.

    Parameters
    ----------
    mission
        The mission; terrain-frame heights are taken as heights above home.
    speed
        Starting ground speed in m/s; default ``mission.hover_speed``. DO_CHANGE_SPEED items
        (ground or air speed) change it as the mission goes.
    climb_rate, descent_rate, land_rate
        Vertical speeds in m/s; landing descends at ``descent_rate`` down to
        ``land_slow_height`` metres, then at ``land_rate``.
    accel
        Horizontal acceleration in m/s².

    Raises
    ------
    ParameterError
        A speed, rate or acceleration that is not a positive finite number.

    Examples
    --------
    >>> from dronesense.missions.items import Home
    >>> from dronesense.missions.patterns import vertical_profile
    >>> m = vertical_profile(Home(51.0, 7.0), [10, 20], hold=10, end=None)
    >>> estimate(m).duration, estimate(m).path_length
    (28.0, 20.0)
    """
    for name, value in (("climb_rate", climb_rate), ("descent_rate", descent_rate),
                        ("land_rate", land_rate), ("accel", accel)):
        params.positive(name, value, "a positive rate")
    params.not_negative("land_slow_height", land_slow_height)
    if speed is not None:
        params.positive("speed", speed, "a positive ground speed in m/s")
    home = mission.home
    local = LocalFrame(home.lat, home.lon, 0.0)
    v = float(speed if speed is not None else mission.hover_speed)
    pos = np.zeros(3)
    t = length = 0.0

    def leg(to: np.ndarray) -> None:
        nonlocal pos, t, length
        d = to - pos
        horiz = float(np.hypot(d[0], d[1]))
        rate = climb_rate if d[2] > 0 else descent_rate
        if horiz >= v * v / accel:
            t_h = horiz / v + v / accel
        else:
            t_h = 2 * math.sqrt(horiz / accel)
        t += max(t_h, abs(float(d[2])) / rate)
        length += float(np.linalg.norm(d))
        pos = to

    def landing(h: float) -> float:
        slow = min(h, land_slow_height)
        return (h - slow) / descent_rate + slow / land_rate

    for item in mission.items:
        if item.command == DO_CHANGE_SPEED and item.params[0] in (0.0, 1.0):
            if item.params[1] > 0:
                v = item.params[1]
        elif item.command == NAV_RETURN_TO_LAUNCH:
            leg(np.array([0.0, 0.0, pos[2]]))
            t += landing(pos[2])
            length += pos[2]
            pos = np.zeros(3)
        elif item.has_position:
            if item.command == NAV_TAKEOFF:
                target = np.array([pos[0], pos[1], item.height(home)])
            else:
                e, n, _ = local.forward(item.lat, item.lon, 0.0)
                target = np.array([float(e), float(n), item.height(home)])
                if item.command == NAV_LAND:
                    target[2] = pos[2]
            leg(target)
            if item.command == NAV_LAND:
                t += landing(pos[2])
                length += pos[2]
                pos[2] = 0.0
            if item.command in (NAV_WAYPOINT, NAV_LOITER_TIME):
                t += max(item.params[0], 0.0)
            elif item.command == NAV_LOITER_TURNS:
                circle = 2 * math.pi * abs(item.params[2]) * max(item.params[0], 0.0)
                t += circle / v
                length += circle
    return Estimate(round(float(t), 1), round(float(length), 1))
