"""Air-quality sampling patterns as :class:`~dronesense.missions.items.Mission` objects.

Every pattern takes off from ``home``, sets its speed with DO_CHANGE_SPEED, flies plain
NAV_WAYPOINT items (holds are the waypoint's param1) and ends with RTL (or LAND, or nothing).
Heights are metres above home; ``frame`` chooses how they are written: ``"relative"``
(MAV_FRAME_GLOBAL_RELATIVE_ALT, the default), ``"amsl"`` (MAV_FRAME_GLOBAL: home altitude
added) or ``"terrain"`` (MAV_FRAME_GLOBAL_TERRAIN_ALT).

Directions are degrees clockwise from north. ``wind_from`` is meteorological: the direction
the wind blows *from*; downwind is ``wind_from + 180``. Lines "across the wind" run along
``wind_from + 90``.

Coordinates are rounded to 1e-7° (what MISSION_ITEM_INT carries) and heights to 1 cm, so a
mission survives upload and download unchanged.

Examples
--------
>>> home = Home(51.0, 7.0, 40.0)
>>> m = box_survey(home, rectangle(51.002, 7.0, 200, 100, heading=90), layers=[20, 40],
...                spacing=25, heading=90)
>>> e = estimate(m)
>>> round(e.path_length), round(e.duration)
(3068, 694)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dronesense.errors import InputError
from dronesense.geo import LocalFrame
from dronesense.missions.items import (
    AMSL_FRAMES,
    DO_CHANGE_SPEED,
    FRAMES_BY_NAME,
    NAV_LAND,
    NAV_LOITER_TIME,
    NAV_LOITER_TURNS,
    NAV_RETURN_TO_LAUNCH,
    NAV_TAKEOFF,
    NAV_WAYPOINT,
    Home,
    Mission,
    MissionItem,
)

__all__ = [
    "Estimate",
    "box_survey",
    "crosswind_heading",
    "curtain",
    "estimate",
    "rectangle",
    "stack_orbit",
    "unit_vectors",
    "vertical_profile",
]

LatLon = tuple[float, float]


def unit_vectors(heading: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (east, north) along ``heading`` and 90° to its right.

    Examples
    --------
    >>> [v.round(3).tolist() for v in unit_vectors(90)]
    [[1.0, 0.0], [0.0, -1.0]]
    """
    h = math.radians(heading)
    along = np.array([math.sin(h), math.cos(h)])
    right = np.array([math.cos(h), -math.sin(h)])
    return along, right


def rectangle(lat: float, lon: float, length: float, width: float,
              heading: float = 0.0) -> list[LatLon]:
    """Corners of a rectangle centred on ``(lat, lon)``.

    Parameters
    ----------
    lat, lon
        Centre in degrees.
    length
        Side along ``heading`` in metres.
    width
        Side across ``heading`` in metres.
    heading
        Direction of the ``length`` side, degrees clockwise from north.

    Returns
    -------
    list of (lat, lon)
        Four corners, in order.

    Examples
    --------
    >>> corners = rectangle(51.0, 7.0, 200, 100)
    >>> [round(c[0], 5) for c in corners]
    [50.9991, 51.0009, 51.0009, 50.9991]
    """
    frame = LocalFrame(lat, lon, 0.0)
    along, right = unit_vectors(heading)
    out = []
    for a, r in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        e, n = a * length / 2 * along + r * width / 2 * right
        la, lo, _ = frame.inverse(e, n, 0.0)
        out.append((float(la), float(lo)))
    return out


def _offset(lat: float, lon: float, bearing: float, distance: float) -> LatLon:
    frame = LocalFrame(lat, lon, 0.0)
    along, _ = unit_vectors(bearing)
    la, lo, _ = frame.inverse(*(distance * along), 0.0)
    return float(la), float(lo)


class _Builder:
    """Collects items of one pattern in a local frame around home."""

    def __init__(self, home: Home, frame: str, speed: float, end: str | None,
                 acceptance: float = 0.0):
        if frame not in FRAMES_BY_NAME:
            raise InputError(f"unknown altitude frame {frame!r} (use relative, amsl or terrain)")
        if not (speed > 0):
            raise InputError(f"speed must be positive, got {speed}")
        if end not in ("rtl", "land", None):
            raise InputError(f"unknown mission end {end!r} (use rtl, land or none)")
        self.home = home
        self.frame_id = FRAMES_BY_NAME[frame]
        self.local = LocalFrame(home.lat, home.lon, 0.0)
        self.speed = speed
        self.end = end
        self.acceptance = acceptance
        self.items: list[MissionItem] = []

    def _alt(self, height: float) -> float:
        alt = height + self.home.alt if self.frame_id in AMSL_FRAMES else height
        return round(alt, 2)

    def start(self, height: float) -> None:
        self.items.append(MissionItem.takeoff(
            Home(round(self.home.lat, 7), round(self.home.lon, 7)), self._alt(height),
            frame=self.frame_id))
        self.items.append(MissionItem.change_speed(round(self.speed, 2)))

    def at(self, lat: float, lon: float, height: float, hold: float = 0.0) -> None:
        self.items.append(MissionItem.waypoint(round(lat, 7), round(lon, 7), self._alt(height),
                                               hold=round(hold, 2), frame=self.frame_id,
                                               acceptance=round(self.acceptance, 2)))

    def at_local(self, e: float, n: float, height: float, hold: float = 0.0) -> None:
        lat, lon, _ = self.local.inverse(e, n, 0.0)
        self.at(float(lat), float(lon), height, hold)

    def mission(self, description: str) -> Mission:
        if self.end == "rtl":
            self.items.append(MissionItem.return_to_launch())
        elif self.end == "land":
            self.items.append(MissionItem.land(round(self.home.lat, 7), round(self.home.lon, 7)))
        return Mission(self.home, self.items, cruise_speed=self.speed, hover_speed=self.speed,
                       description=description)


def _heights(heights: Sequence[float], what: str) -> list[float]:
    out = [float(h) for h in heights]
    if not out:
        raise InputError(f"{what}: give at least one height")
    if any(not math.isfinite(h) or h <= 0 for h in out):
        raise InputError(f"{what}: heights must be positive metres above home, got {out}")
    return out


def crosswind_heading(heading: float | None, wind_from: float | None) -> float:
    """``heading`` if given, else the direction across the wind (``wind_from + 90``).

    Examples
    --------
    >>> crosswind_heading(None, 300)
    30.0
    """
    if heading is not None:
        return float(heading) % 360
    if wind_from is None:
        raise InputError("give a line heading or a wind direction (lines run across the wind)")
    return (float(wind_from) + 90.0) % 360


def _chords(poly: np.ndarray, v: float, eps: float = 1e-3) -> tuple[float, float] | None:
    """Extent along u of the polygon (columns u, v) on the line ``v = const``.

    Edges within ``eps`` metres of the line count as touching it, so lines laid exactly on
    the polygon's edges are not cut short by rounding or by the few centimetres a rectangle
    laid out around its own centre turns in a frame centred on a distant home.
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

    Examples
    --------
    >>> m = box_survey(Home(51.0, 7.0), rectangle(51.001, 7.0, 100, 50), layers=[20, 30],
    ...                spacing=25, heading=0, margin=5)
    >>> len(m.items), sum(i.name == "NAV_WAYPOINT" for i in m.items)
    (15, 12)
    """
    line_heading = crosswind_heading(heading, wind_from)
    heights = _heights(layers, "box survey layers")
    if not (spacing > 0):
        raise InputError(f"line spacing must be positive, got {spacing}")
    if len(polygon) < 3:
        raise InputError("the survey polygon needs at least three corners")
    b = _Builder(home, frame, speed, end, acceptance)
    along, right = unit_vectors(line_heading)
    xy = np.array([b.local.forward(lat, lon, 0.0)[:2] for lat, lon in polygon], dtype=float)
    uv = np.column_stack([xy @ along, xy @ right])
    vmin, vmax = float(uv[:, 1].min()), float(uv[:, 1].max())
    n = math.floor((vmax - vmin) / spacing + 1e-9) + 1
    v0 = vmin + ((vmax - vmin) - (n - 1) * spacing) / 2
    lines = []
    for k in range(n):
        v = v0 + k * spacing
        extent = _chords(uv, v, eps=max(1e-3, 1e-3 * (vmax - vmin)))
        if extent is not None:
            lines.append((extent[0] - margin, extent[1] + margin, v))
    if not lines:
        raise InputError("the survey polygon is empty")
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
        As in :func:`box_survey`.

    Examples
    --------
    >>> m = vertical_profile(Home(51.0, 7.0, 40.0), [10, 20, 30], hold=5)
    >>> [(i.alt, i.params[0]) for i in m.items if i.name == "NAV_WAYPOINT"]
    [(10.0, 5.0), (20.0, 5.0), (30.0, 5.0)]
    """
    heights = _heights(levels, "profile levels")
    if hold < 0:
        raise InputError(f"hold time must not be negative, got {hold}")
    lat, lon = point if point is not None else (home.lat, home.lon)
    b = _Builder(home, frame, speed, end, acceptance)
    b.start(heights[0])
    path = heights + (heights[-2::-1] if descend else [])
    for h in path:
        b.at(lat, lon, h, hold)
    return b.mission(f"vertical profile: levels {heights} m, hold {hold} s"
                     + (", up and down" if descend else ""))


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
        As in :func:`box_survey`.

    Examples
    --------
    >>> m = curtain(Home(51.0, 7.0), (51.0, 7.0), wind_from=270, distance=300, width=200,
    ...             min_height=20, max_height=60, vertical_spacing=20)
    >>> sorted({i.alt for i in m.items if i.name == "NAV_WAYPOINT"})
    [20.0, 40.0, 60.0]
    """
    if not (vertical_spacing > 0) or not (0 < min_height <= max_height):
        raise InputError("curtain needs 0 < min height <= max height and a positive spacing")
    if not (width > 0) or distance < 0:
        raise InputError("curtain needs a positive width and a non-negative distance")
    n = math.floor((max_height - min_height) / vertical_spacing + 1e-9) + 1
    heights = [min_height + k * vertical_spacing for k in range(n)]
    centre = _offset(source[0], source[1], wind_from + 180.0, distance)
    b = _Builder(home, frame, speed, end, acceptance)
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
        As in :func:`box_survey`.

    Examples
    --------
    >>> m = stack_orbit(Home(51.0, 7.0), (51.001, 7.0), heights=[30], radii=[20])
    >>> sum(i.name == "NAV_WAYPOINT" for i in m.items)
    10
    """
    hs = _heights(heights, "orbit heights")
    rs = [float(r) for r in radii]
    if not rs or any(not (r > 0) for r in rs):
        raise InputError(f"orbit radii must be positive metres, got {rs}")
    if not (max_chord > 0):
        raise InputError("max chord must be positive")
    b = _Builder(home, frame, speed, end, acceptance)
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


@dataclass(frozen=True)
class Estimate:
    """Estimated flight: ``duration`` in seconds, ``path_length`` in metres (3D)."""

    duration: float
    path_length: float

    def __str__(self) -> str:
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

    Examples
    --------
    >>> m = vertical_profile(Home(51.0, 7.0), [10, 20], hold=10, end=None)
    >>> estimate(m).duration, estimate(m).path_length
    (28.0, 20.0)
    """
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
