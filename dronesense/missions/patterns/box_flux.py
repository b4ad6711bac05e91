"""The box flight around an area source: closed square loops at several heights.

For an area source (a landfill cell, a wastewater basin) no single curtain catches the
plume; a closed box of walls does. The drone flies the square of side ``size`` around
``centre`` once per height, from ``min_height`` to ``max_height`` every ``vertical_spacing``
metres, climbing at a corner between loops; the net flux through the walls (out minus in)
is the emission (:func:`dronesense.products.flux.box.estimate_box_flux`).

Examples
--------
>>> from dronesense.missions.items import Home
>>> m = box_flux(Home(51.0, 7.0), (51.001, 7.0), size=100, min_height=5, max_height=25,
...              vertical_spacing=10)
>>> sorted({i.alt for i in m.items if i.name == "NAV_WAYPOINT"})
[5.0, 15.0, 25.0]
>>> sum(i.name == "NAV_WAYPOINT" for i in m.items)
15
"""

from __future__ import annotations

import numpy as np

import dronesense.missions.patterns.params as params
from dronesense.missions.items import Home, Mission
from dronesense.missions.patterns.builder import PatternBuilder
from dronesense.missions.patterns.geometry import unit_vectors

__all__ = ["box_flux"]


def box_flux(home: Home, centre: tuple[float, float], *, size: float, min_height: float,
             max_height: float, vertical_spacing: float, heading: float = 0.0,
             speed: float = 5.0, acceptance: float = 0.0, frame: str = "relative",
             end: str | None = "rtl") -> Mission:
    """Closed square loops of side ``size`` m around ``centre`` at each height.

    Parameters
    ----------
    home
        Planned home position.
    centre
        ``(lat, lon)`` of the area source (the box's centre).
    size
        Side of the square, m (the source must lie well inside it).
    min_height, max_height, vertical_spacing
        Heights above home, m.
    heading
        Direction of the first side, degrees clockwise from north.
    speed, acceptance, frame, end
        As in :func:`~dronesense.missions.patterns.box_survey`.

    Raises
    ------
    ParameterError
        A parameter value that cannot be flown, named by its parameter.
    """
    params.position("centre", centre)
    params.positive("size", size)
    params.finite("heading", heading, "a direction in degrees")
    heights = params.height_range(min_height, max_height, vertical_spacing)
    b = PatternBuilder(home, frame, speed, end, acceptance)
    a, c = (np.array(v, dtype=float) for v in unit_vectors(heading))
    mid = np.array(b.local.forward(centre[0], centre[1], 0.0)[:2], dtype=float)
    h = size / 2
    corners = [mid + h * (-a - c), mid + h * (a - c), mid + h * (a + c), mid + h * (-a + c)]
    b.start(heights[0])
    for z in heights:
        for p in corners + corners[:1]:
            b.at_local(*p, z)
    return b.mission(f"box flux: {size} m square around ({centre[0]:.6f}, {centre[1]:.6f}), "
                     f"heights {heights} m")
