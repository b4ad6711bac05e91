"""Plane geometry of the patterns: directions, rectangles, offsets, lines across the wind.

Directions are degrees clockwise from north; positions are ``(lat, lon)`` in degrees.

Examples
--------
>>> [round(v, 6) for v in offset_point(51.0, 7.0, 0.0, 111.0)]
[51.000998, 7.0]
"""

from __future__ import annotations

import math

import numpy as np

import dronesense.missions.patterns.params as params
from dronesense.errors import InputError
from dronesense.geo import LocalFrame

__all__ = ["crosswind_heading", "offset_point", "rectangle", "unit_vectors"]

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

    Raises
    ------
    ParameterError
        A coordinate, side or heading that is not a finite number, or a side not above zero.

    Examples
    --------
    >>> corners = rectangle(51.0, 7.0, 200, 100)
    >>> [round(c[0], 5) for c in corners]
    [50.9991, 51.0009, 51.0009, 50.9991]
    """
    lat = params.finite("lat", lat, "a latitude in degrees")
    lon = params.finite("lon", lon, "a longitude in degrees")
    length = params.positive("length", length)
    width = params.positive("width", width)
    heading = params.finite("heading", heading, "a direction in degrees")
    frame = LocalFrame(lat, lon, 0.0)
    along, right = unit_vectors(heading)
    out = []
    for a, r in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        e, n = a * length / 2 * along + r * width / 2 * right
        la, lo, _ = frame.inverse(e, n, 0.0)
        out.append((float(la), float(lo)))
    return out


def offset_point(lat: float, lon: float, bearing: float, distance: float) -> LatLon:
    """The point ``distance`` metres from ``(lat, lon)`` towards ``bearing`` (degrees)."""
    frame = LocalFrame(lat, lon, 0.0)
    along, _ = unit_vectors(bearing)
    la, lo, _ = frame.inverse(*(distance * along), 0.0)
    return float(la), float(lo)


def crosswind_heading(heading: float | None, wind_from: float | None) -> float:
    """``heading`` if given, else the direction across the wind (``wind_from + 90``).

    Raises
    ------
    ParameterError
        ``heading`` or ``wind_from`` is not a finite number.
    InputError
        Neither is given.

    Examples
    --------
    >>> crosswind_heading(None, 300)
    30.0
    """
    if heading is not None:
        return params.finite("heading", heading, "a direction in degrees") % 360
    if wind_from is None:
        raise InputError("give a line heading or a wind direction (lines run across the wind)")
    return (params.finite("wind_from", wind_from, "a direction in degrees") + 90.0) % 360
