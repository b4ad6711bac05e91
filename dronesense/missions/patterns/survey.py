"""The box survey: lawnmower lines over several altitude layers within a polygon.

Examples
--------
>>> from dronesense.missions.items import Home
>>> m = box_survey(Home(51.0, 7.0), [(51.0005, 6.9995), (51.0015, 6.9995), (51.0015, 7.0005)],
...                layers=[30], spacing=20, heading=90, margin=0)
>>> sum(i.name == "NAV_WAYPOINT" for i in m.items)
12
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

import dronesense.missions.patterns.params as params
from dronesense.errors import ParameterError
from dronesense.missions.items import Home, Mission
from dronesense.missions.patterns.builder import PatternBuilder
from dronesense.missions.patterns.geometry import crosswind_heading, unit_vectors

__all__ = ["box_survey", "chord"]

LatLon = tuple[float, float]


def chord(poly: np.ndarray, v: float, eps: float = 1e-3) -> tuple[float, float] | None:
    """Extent along u of the polygon (columns u, v) on the line ``v = const``.

    Edges within ``eps`` metres of the line count as touching it, so lines laid exactly on
    the polygon's edges are not cut short by rounding or by the few centimetres a rectangle
    laid out around its own centre turns in a frame centred on a distant home.

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    >>> chord(square, 5.0), chord(square, 0.0), chord(square, 11.0)
    ((0.0, 10.0), (0.0, 10.0), None)
    """
    us = []
    for (u1, v1), (u2, v2) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        lo, hi = min(v1, v2), max(v1, v2)
        if v < lo - eps or v > hi + eps:
            continue
        if hi - lo < eps:
            us.extend([u1, u2])
            continue
        t = min(max((v - v1) / (v2 - v1), 0.0), 1.0)
        us.append(u1 + t * (u2 - u1))
    return (float(min(us)), float(max(us))) if us else None


def box_survey(home: Home, polygon: Sequence[LatLon], *, layers: Sequence[float],
               spacing: float, heading: float | None = None, wind_from: float | None = None,
               margin: float = 10.0, speed: float = 5.0, acceptance: float = 0.0,
               frame: str = "relative",
               end: str | None = "rtl") -> Mission:
    """Lawnmower lines over several altitude layers within a polygon.

    Parameters
    ----------
    home
        Planned home (take-off) position.
    polygon
        Area corners as ``(lat, lon)``; see :func:`rectangle`. A concave polygon is covered
        over its full extent on each line.
    layers
        Heights above home in metres, flown in the given order.
    spacing
        Distance between lines in metres; the lines are centred in the polygon.
    heading
        Line direction in degrees; default ``wind_from + 90`` (across the wind).
    wind_from
        Wind direction (from), degrees.
    margin
        Turnaround margin: each line starts and ends this many metres outside the polygon.
    speed
        Ground speed in m/s (a DO_CHANGE_SPEED item).
    acceptance
        Waypoint acceptance radius in metres (param2; 0 = the autopilot's default).
    frame
        ``"relative"``, ``"amsl"`` or ``"terrain"``.
    end
        ``"rtl"``, ``"land"`` or None.

    Returns
    -------
    Mission
        Lines alternate direction; each layer flies the lines back in reverse order, so the
        climb to the next layer happens in place at the end of the last line.

    Raises
    ------
    ParameterError
        A parameter value that cannot be flown (NaN, infinite, not positive), named by its
        parameter.

    Examples
    --------
    >>> from dronesense.missions.patterns import rectangle
    >>> m = box_survey(Home(51.0, 7.0), rectangle(51.001, 7.0, 100, 50), layers=[20, 30],
    ...                spacing=25, heading=0, margin=5)
    >>> len(m.items), sum(i.name == "NAV_WAYPOINT" for i in m.items)
    (15, 12)
    """
    line_heading = crosswind_heading(heading, wind_from)
    heights = params.heights("layers", layers)
    params.positive("spacing", spacing)
    params.finite("margin", margin, "a distance in metres")
    if len(polygon) < 3:
        raise ParameterError("polygon", "the survey area needs at least three corners")
    corners = [params.position("polygon", p) for p in polygon]
    b = PatternBuilder(home, frame, speed, end, acceptance)
    along, right = unit_vectors(line_heading)
    xy = np.array([b.local.forward(lat, lon, 0.0)[:2] for lat, lon in corners], dtype=float)
    uv = np.column_stack([xy @ along, xy @ right])
    vmin, vmax = float(uv[:, 1].min()), float(uv[:, 1].max())
    n = math.floor((vmax - vmin) / spacing + 1e-9) + 1
    v0 = vmin + ((vmax - vmin) - (n - 1) * spacing) / 2
    lines = []
    for k in range(n):
        v = v0 + k * spacing
        extent = chord(uv, v, eps=max(1e-3, 1e-3 * (vmax - vmin)))
        if extent is not None:
            lines.append((extent[0] - margin, extent[1] + margin, v))
    if not lines:
        raise ParameterError("polygon", "the survey area is empty")
    b.start(heights[0])
    forward = True
    for layer, h in enumerate(heights):
        order = lines if layer % 2 == 0 else lines[::-1]
        for u1, u2, v in order:
            ends = (u1, u2) if forward else (u2, u1)
            for u in ends:
                b.at_local(*(u * along + v * right), h)
            forward = not forward
    return b.mission(
        f"box survey: {len(lines)} lines x {len(heights)} layers {heights} m, spacing "
        f"{spacing} m, heading {line_heading:g}°, margin {margin} m, {speed} m/s")
