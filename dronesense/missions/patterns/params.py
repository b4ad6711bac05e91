"""Checks of the parameters every pattern shares: finite numbers, positive distances, heights.

Each check raises :class:`~dronesense.errors.ParameterError` naming the parameter, so a
program sees a :class:`ValueError` and the command line names its option.

Examples
--------
>>> positive("spacing", 25)
25.0
>>> try:
...     positive("spacing", float("nan"))
... except ValueError as err:
...     print(err)
spacing: must be a positive distance in metres, got nan
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dronesense.errors import ParameterError
from dronesense.missions.items import Home

__all__ = ["finite", "height_range", "heights", "home", "not_negative", "position",
           "positive"]

LatLon = tuple[float, float]


def finite(name: str, value: float, what: str = "a finite number") -> float:
    """``value`` as a float, or a :class:`ParameterError` if it is NaN or infinite.

    Examples
    --------
    >>> finite("heading", 90)
    90.0
    """
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be {what}, got {value!r}") from None
    if not math.isfinite(out):
        raise ParameterError(name, f"must be {what}, got {out}")
    return out


def positive(name: str, value: float, what: str = "a positive distance in metres") -> float:
    """``value`` if it is a finite number above zero.

    Examples
    --------
    >>> positive("speed", 5, "a positive speed in m/s")
    5.0
    """
    out = finite(name, value, what)
    if out <= 0:
        raise ParameterError(name, f"must be {what}, got {out}")
    return out


def not_negative(name: str, value: float, what: str = "a distance in metres, not negative"
                 ) -> float:
    """``value`` if it is a finite number of zero or more.

    Examples
    --------
    >>> not_negative("hold", 0)
    0.0
    """
    out = finite(name, value, what)
    if out < 0:
        raise ParameterError(name, f"must be {what}, got {out}")
    return out


def heights(name: str, values: Sequence[float]) -> list[float]:
    """Heights above home in metres: at least one, each finite and above zero.

    Examples
    --------
    >>> heights("layers", [20, 35.5])
    [20.0, 35.5]
    >>> try:
    ...     heights("layers", [])
    ... except ValueError as err:
    ...     print(err)
    layers: give at least one height
    """
    try:
        out = [float(h) for h in values]
    except (TypeError, ValueError):
        raise ParameterError(name, f"heights must be numbers, got {values!r}") from None
    if not out:
        raise ParameterError(name, "give at least one height")
    if any(not math.isfinite(h) or h <= 0 for h in out):
        raise ParameterError(name, f"heights must be positive metres above home, got {out}")
    return out


def height_range(min_height: float, max_height: float, vertical_spacing: float) -> list[float]:
    """The heights from ``min_height`` up to ``max_height`` every ``vertical_spacing`` metres.

    ``max_height`` is included when the spacing reaches it (to within rounding); the
    parameters are checked and named as ``min_height``, ``max_height``, ``vertical_spacing``.

    Examples
    --------
    >>> height_range(5.0, 20.0, 5.0)
    [5.0, 10.0, 15.0, 20.0]
    >>> try:
    ...     height_range(30, 20, 5)
    ... except ValueError as err:
    ...     print(err)
    max_height: must not be below min_height (30 m), got 20
    """
    positive("min_height", min_height, "a positive height in metres above home")
    positive("vertical_spacing", vertical_spacing)
    if finite("max_height", max_height, "a height in metres above home") < min_height:
        raise ParameterError("max_height", f"must not be below min_height ({min_height} m), "
                                           f"got {max_height}")
    n = math.floor((max_height - min_height) / vertical_spacing + 1e-9) + 1
    return [min_height + k * vertical_spacing for k in range(n)]


def position(name: str, latlon: Sequence[float]) -> LatLon:
    """``(lat, lon)`` in degrees, both finite and in range.

    Examples
    --------
    >>> position("source", (50.99, 6.98))
    (50.99, 6.98)
    """
    try:
        lat, lon = (float(v) for v in latlon)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be (lat, lon) in degrees, got {latlon!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 360):
        raise ParameterError(name, f"must be (lat, lon) in degrees, got ({lat}, {lon})")
    return lat, lon


def home(value: Home) -> Home:
    """``value`` if its latitude, longitude and altitude are finite and in range.

    Examples
    --------
    >>> home(Home(51.0, 7.0, 40.0)).alt
    40.0
    """
    position("home", (value.lat, value.lon))
    if not math.isfinite(value.alt):
        raise ParameterError("home", f"altitude must be finite metres, got {value.alt}")
    return value
