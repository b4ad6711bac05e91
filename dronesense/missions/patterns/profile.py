"""The vertical profile: climb a column through given levels, holding at each.

Examples
--------
>>> from dronesense.missions.items import Home
>>> m = vertical_profile(Home(51.0, 7.0), [10, 20], descend=True, end=None)
>>> [i.alt for i in m.items if i.name == "NAV_WAYPOINT"]
[10.0, 20.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import dronesense.missions.patterns.params as params
from dronesense.missions.items import Home, Mission
from dronesense.missions.patterns.builder import PatternBuilder

__all__ = ["vertical_profile"]

LatLon = tuple[float, float]


def vertical_profile(home: Home, levels: Sequence[float], *, point: LatLon | None = None,
                     hold: float = 0.0, speed: float = 5.0, acceptance: float = 0.0,
                     descend: bool = False,
                     frame: str = "relative", end: str | None = "rtl") -> Mission:
    """Climb a column through ``levels`` (metres above home), holding at each.

    Parameters
    ----------
    home
        Planned home position.
    levels
        Heights in metres, flown in order.
    point
        ``(lat, lon)`` of the column; default: above home.
    hold
        Seconds to hold at each level (NAV_WAYPOINT param1).
    speed
        Horizontal speed in m/s (DO_CHANGE_SPEED).
    descend
        Also stop at each level on the way back down.
    acceptance, frame, end
        As in :func:`~dronesense.missions.patterns.box_survey`.

    Raises
    ------
    ParameterError
        A parameter value that cannot be flown, named by its parameter.

    Examples
    --------
    >>> m = vertical_profile(Home(51.0, 7.0, 40.0), [10, 20, 30], hold=5)
    >>> [(i.alt, i.params[0]) for i in m.items if i.name == "NAV_WAYPOINT"]
    [(10.0, 5.0), (20.0, 5.0), (30.0, 5.0)]
    """
    heights = params.heights("levels", levels)
    params.not_negative("hold", hold, "a hold time in seconds, not negative")
    lat, lon = (params.position("point", point) if point is not None
                else (home.lat, home.lon))
    b = PatternBuilder(home, frame, speed, end, acceptance)
    b.start(heights[0])
    path = heights + (heights[-2::-1] if descend else [])
    for h in path:
        b.at(lat, lon, h, hold)
    return b.mission(f"vertical profile: levels {heights} m, hold {hold} s"
                     + (", up and down" if descend else ""))
