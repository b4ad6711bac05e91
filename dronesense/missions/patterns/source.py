"""Patterns around an emission source: the downwind curtain and the stack orbit.

Examples
--------
>>> from dronesense.missions.items import Home
>>> m = stack_orbit(Home(51.0, 7.0), (51.001, 7.0), heights=[30, 40], radii=[20])
>>> sorted({i.alt for i in m.items if i.name == "NAV_WAYPOINT"})
[30.0, 40.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

import dronesense.missions.patterns.params as params
from dronesense.errors import ParameterError
from dronesense.missions.items import Home, Mission
from dronesense.missions.patterns.builder import PatternBuilder
from dronesense.missions.patterns.geometry import offset_point, unit_vectors

__all__ = ["curtain", "stack_orbit"]

LatLon = tuple[float, float]


def curtain(home: Home, source: LatLon, *, wind_from: float, distance: float, width: float,
            min_height: float, max_height: float, vertical_spacing: float,
            margin: float = 10.0, speed: float = 5.0, acceptance: float = 0.0,
            frame: str = "relative",
            end: str | None = "rtl") -> Mission:
    """A vertical wall of crosswind transects at ``distance`` downwind of a source.

    The flight for mass-balance flux estimates: transects of length ``width`` centred on the
    plume axis, perpendicular to the wind, from ``min_height`` to ``max_height`` every
    ``vertical_spacing`` metres, alternating direction.

    Parameters
    ----------
    home
        Planned home position.
    source
        ``(lat, lon)`` of the emission source.
    wind_from
        Wind direction (from), degrees; the curtain is at ``wind_from + 180`` from the source.
    distance
        Metres downwind of the source.
    width
        Transect length across the wind, metres.
    min_height, max_height, vertical_spacing
        Heights above home in metres.
    margin
        Turnaround margin at each end of each transect.
    speed, acceptance, frame, end
        As in :func:`~dronesense.missions.patterns.box_survey`.

    Raises
    ------
    ParameterError
        A parameter value that cannot be flown, named by its parameter.

    Examples
    --------
    >>> m = curtain(Home(51.0, 7.0), (51.0, 7.0), wind_from=270, distance=300, width=200,
    ...             min_height=20, max_height=60, vertical_spacing=20)
    >>> sorted({i.alt for i in m.items if i.name == "NAV_WAYPOINT"})
    [20.0, 40.0, 60.0]
    """
    params.position("source", source)
    params.finite("wind_from", wind_from, "a direction in degrees")
    params.not_negative("distance", distance)
    params.positive("width", width)
    params.finite("margin", margin, "a distance in metres")
    heights = params.height_range(min_height, max_height, vertical_spacing)
    centre = offset_point(source[0], source[1], wind_from + 180.0, distance)
    b = PatternBuilder(home, frame, speed, end, acceptance)
    along, _ = unit_vectors(wind_from + 90.0)
    c = np.array(b.local.forward(centre[0], centre[1], 0.0)[:2], dtype=float)
    half = width / 2 + margin
    b.start(heights[0])
    for k, h in enumerate(heights):
        sign = 1 if k % 2 == 0 else -1
        for s in (-sign, sign):
            b.at_local(*(c + s * half * along), h)
    return b.mission(
        f"curtain: {distance} m downwind of ({source[0]:.6f}, {source[1]:.6f}), wind from "
        f"{wind_from:g}°, width {width} m, heights {heights} m")


def stack_orbit(home: Home, centre: LatLon, *, heights: Sequence[float],
                radii: Sequence[float], max_chord: float = 15.0, speed: float = 5.0,
                acceptance: float = 0.0,
                clockwise: bool = True, frame: str = "relative",
                end: str | None = "rtl") -> Mission:
    """Circles around a chimney at every combination of height and radius.

    Each circle is a closed ring of waypoints no more than ``max_chord`` metres apart
    (at least 8 per circle), entered at the point nearest to where the previous one ended.

    Parameters
    ----------
    home
        Planned home position.
    centre
        ``(lat, lon)`` of the chimney.
    heights
        Heights above home in metres; every radius is flown at each height, in order.
    radii
        Circle radii in metres.
    max_chord
        Longest straight leg between waypoints on a circle, metres.
    clockwise
        Direction seen from above.
    speed, acceptance, frame, end
        As in :func:`~dronesense.missions.patterns.box_survey`.

    Raises
    ------
    ParameterError
        A parameter value that cannot be flown, named by its parameter.

    Examples
    --------
    >>> m = stack_orbit(Home(51.0, 7.0), (51.001, 7.0), heights=[30], radii=[20])
    >>> sum(i.name == "NAV_WAYPOINT" for i in m.items)
    10
    """
    hs = params.heights("heights", heights)
    try:
        rs = [float(r) for r in radii]
    except (TypeError, ValueError):
        raise ParameterError("radii", f"must be numbers, got {radii!r}") from None
    if not rs or any(not (0 < r < math.inf) for r in rs):
        raise ParameterError("radii", f"must be positive metres, got {rs}")
    params.positive("max_chord", max_chord)
    params.position("centre", centre)
    b = PatternBuilder(home, frame, speed, end, acceptance)
    c = np.array(b.local.forward(centre[0], centre[1], 0.0)[:2], dtype=float)
    b.start(hs[0])
    pos = np.zeros(2)
    turn = 1.0 if clockwise else -1.0
    for h in hs:
        for r in rs:
            n = max(8, math.ceil(2 * math.pi * r / max_chord))
            rel = pos - c
            start = math.atan2(rel[0], rel[1]) if np.hypot(*rel) > 0 else 0.0
            for k in range(n + 1):
                a = start + turn * 2 * math.pi * k / n
                pos = c + r * np.array([math.sin(a), math.cos(a)])
                b.at_local(pos[0], pos[1], h)
    return b.mission(f"stack orbit: heights {hs} m x radii {rs} m around "
                     f"({centre[0]:.6f}, {centre[1]:.6f})")
