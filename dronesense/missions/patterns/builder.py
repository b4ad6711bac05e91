"""The item builder every pattern uses: take-off, speed, waypoints, the end of the mission.

Heights are metres above home; the altitude frame decides how they are written (home
altitude added for ``"amsl"``). Coordinates are rounded to 1e-7° and heights to 1 cm, so a
mission survives upload and download unchanged.

Examples
--------
>>> from dronesense.missions.items import Home
>>> b = PatternBuilder(Home(51.0, 7.0, 40.0), "amsl", 5.0, "rtl")
>>> b.start(20.0)
>>> b.at(51.001, 7.0, 20.0, hold=3)
>>> [(i.name, i.alt) for i in b.mission("test").items]
[('NAV_TAKEOFF', 60.0), ('DO_CHANGE_SPEED', 0.0), ('NAV_WAYPOINT', 60.0), \
('NAV_RETURN_TO_LAUNCH', 0.0)]
"""

from __future__ import annotations

import dronesense.missions.patterns.params as params
from dronesense.errors import ParameterError
from dronesense.geo import LocalFrame
from dronesense.missions.items import AMSL_FRAMES, FRAMES_BY_NAME, Home, Mission, MissionItem

__all__ = ["ENDS", "PatternBuilder"]

#: how a pattern may end: return to launch, land where it is, or nothing
ENDS = ("rtl", "land", None)


class PatternBuilder:
    """Collects the items of one pattern in a local frame around home.

    Parameters
    ----------
    home
        Planned home position.
    frame
        ``"relative"``, ``"amsl"`` or ``"terrain"``.
    speed
        Ground speed in m/s (a DO_CHANGE_SPEED item after take-off).
    end
        ``"rtl"``, ``"land"`` or None.
    acceptance
        Waypoint acceptance radius in metres (0: the autopilot's own).

    Raises
    ------
    ParameterError
        Any of them unusable, named by its parameter.
    """

    def __init__(self, home: Home, frame: str, speed: float, end: str | None,
                 acceptance: float = 0.0):
        params.home(home)
        if frame not in FRAMES_BY_NAME:
            raise ParameterError("frame", f"unknown altitude frame {frame!r} "
                                          "(use relative, amsl or terrain)")
        params.positive("speed", speed, "a positive ground speed in m/s")
        if end not in ENDS:
            raise ParameterError("end", f"unknown mission end {end!r} (use rtl, land or none)")
        params.not_negative("acceptance", acceptance)
        self.home = home
        self.frame_id = FRAMES_BY_NAME[frame]
        self.local = LocalFrame(home.lat, home.lon, 0.0)
        self.speed = speed
        self.end = end
        self.acceptance = acceptance
        self.items: list[MissionItem] = []

    def altitude(self, height: float) -> float:
        """``height`` above home as the item altitude of this builder's frame."""
        alt = height + self.home.alt if self.frame_id in AMSL_FRAMES else height
        return round(alt, 2)

    def start(self, height: float) -> None:
        """Take off above home to ``height`` and set the speed."""
        self.items.append(MissionItem.takeoff(
            Home(round(self.home.lat, 7), round(self.home.lon, 7)), self.altitude(height),
            frame=self.frame_id))
        self.items.append(MissionItem.change_speed(round(self.speed, 2)))

    def at(self, lat: float, lon: float, height: float, hold: float = 0.0) -> None:
        """A waypoint at ``(lat, lon)``, ``height`` above home, holding ``hold`` seconds."""
        self.items.append(MissionItem.waypoint(round(lat, 7), round(lon, 7),
                                               self.altitude(height), hold=round(hold, 2),
                                               frame=self.frame_id,
                                               acceptance=round(self.acceptance, 2)))

    def at_local(self, e: float, n: float, height: float, hold: float = 0.0) -> None:
        """A waypoint ``e`` metres east and ``n`` north of home."""
        lat, lon, _ = self.local.inverse(e, n, 0.0)
        self.at(float(lat), float(lon), height, hold)

    def mission(self, description: str) -> Mission:
        """The finished mission, with its end item."""
        if self.end == "rtl":
            self.items.append(MissionItem.return_to_launch())
        elif self.end == "land":
            self.items.append(MissionItem.land(round(self.home.lat, 7), round(self.home.lon, 7)))
        return Mission(self.home, self.items, cruise_speed=self.speed, hover_speed=self.speed,
                       description=description)
