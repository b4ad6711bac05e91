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
mission survives upload and download unchanged. A parameter value no aircraft can fly (NaN,
infinite, a negative distance) raises :class:`~dronesense.errors.ParameterError` (a
:class:`ValueError`) that names the parameter.

One job per module:

- :mod:`~dronesense.missions.patterns.survey` -- the box survey (lawnmower lines in layers)
- :mod:`~dronesense.missions.patterns.profile` -- the vertical profile
- :mod:`~dronesense.missions.patterns.source` -- curtain and stack orbit around a source
- :mod:`~dronesense.missions.patterns.box_flux` -- closed loops around an area source
- :mod:`~dronesense.missions.patterns.estimates` -- flight time and path length
- :mod:`~dronesense.missions.patterns.geometry` -- directions, rectangles, offsets
- :mod:`~dronesense.missions.patterns.builder` -- the item builder the patterns share
- :mod:`~dronesense.missions.patterns.params` -- the parameter checks they share

Examples
--------
>>> from dronesense.missions.items import Home
>>> home = Home(51.0, 7.0, 40.0)
>>> m = box_survey(home, rectangle(51.002, 7.0, 200, 100, heading=90), layers=[20, 40],
...                spacing=25, heading=90)
>>> e = estimate(m)
>>> round(e.path_length), round(e.duration)
(3068, 694)
>>> try:
...     box_survey(home, rectangle(51.002, 7.0, 200, 100), layers=[20], spacing=float("nan"),
...                heading=90)
... except ValueError as err:
...     print(err)
spacing: must be a positive distance in metres, got nan
"""

from dronesense.missions.patterns.box_flux import box_flux
from dronesense.missions.patterns.estimates import Estimate, estimate
from dronesense.missions.patterns.geometry import crosswind_heading, rectangle, unit_vectors
from dronesense.missions.patterns.profile import vertical_profile
from dronesense.missions.patterns.source import curtain, stack_orbit
from dronesense.missions.patterns.survey import box_survey

__all__ = [
    "Estimate",
    "box_flux",
    "box_survey",
    "crosswind_heading",
    "curtain",
    "estimate",
    "rectangle",
    "stack_orbit",
    "unit_vectors",
    "vertical_profile",
]
