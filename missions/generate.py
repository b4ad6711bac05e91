"""Regenerate the example missions' .plan files (run from the repository root).

The .plan files are committed; this script documents how they were made:
``python missions/generate.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

HERE = Path(__file__).parent
M_PER_DEG = 111_319.49


def offset(lat: float, lon: float, east: float, north: float) -> tuple[float, float]:
    """Position ``east``/``north`` metres from ``lat``/``lon`` (flat earth)."""
    k = M_PER_DEG * math.cos(math.radians(lat))
    return round(lat + north / M_PER_DEG, 7), round(lon + east / k, 7)


def item(n: int, command: int, params: list, frame: int = 3) -> dict:
    """A QGroundControl SimpleItem."""
    return {"autoContinue": True, "command": command, "doJumpId": n, "frame": frame,
            "params": params, "type": "SimpleItem"}


def plan(home: list[float], items: list[dict], cruise: float, hover: float) -> dict:
    """A QGroundControl plan document (ArduPilot multirotor)."""
    return {
        "fileType": "Plan", "groundStation": "QGroundControl", "version": 1,
        "geoFence": {"circles": [], "polygons": [], "version": 2},
        "rallyPoints": {"points": [], "version": 2},
        "mission": {"version": 2, "firmwareType": 3, "vehicleType": 2,
                    "cruiseSpeed": cruise, "hoverSpeed": hover,
                    "globalPlanAltitudeMode": 1, "plannedHomePosition": home,
                    "items": items},
    }


def plume_box() -> dict:
    """Lawnmower lines across the wind over three layers, downwind of the stack."""
    stack = (50.9934, 6.9877)  # digesters of a wastewater plant near Cologne
    wind_from = 240.0
    r = math.radians(wind_from)
    down = (-math.sin(r), -math.cos(r))  # unit vector the air moves towards
    cross = (-down[1], down[0])
    home_xy = (60.0, -160.0)  # downwind, crosswind of the stack: clear of the plume

    def at(x: float, y: float) -> tuple[float, float]:
        e = x * down[0] + y * cross[0]
        n = x * down[1] + y * cross[1]
        return offset(stack[0], stack[1], e, n)

    home = at(*home_xy)
    items = [item(1, 22, [0, 0, 0, None, 0, 0, 20])]
    lines = [150.0, 225.0, 300.0, 375.0, 450.0]
    half = 130.0
    n = 2
    for layer, alt in enumerate((20.0, 35.0, 50.0)):
        order = lines if layer % 2 == 0 else lines[::-1]
        for i, x in enumerate(order):
            ys = (-half, half) if i % 2 == 0 else (half, -half)
            for y in ys:
                lat, lon = at(x, y)
                items.append(item(n, 16, [0, 3, 0, None, lat, lon, alt]))
                n += 1
    items.append(item(n, 20, [0, 0, 0, 0, 0, 0, 0], frame=2))
    return plan([home[0], home[1], 42.0], items, cruise=12.0, hover=5.0)


def pm_profile() -> dict:
    """A vertical profile to 120 m with short holds every 10 m."""
    site = (45.4363, 9.2125)  # beside a wastewater plant south-east of Milan
    items = [item(1, 22, [0, 0, 0, None, 0, 0, 5])]
    n = 2
    for h in range(10, 130, 10):
        items.append(item(n, 19, [8, 0, 0, None, site[0], site[1], float(h)]))
        n += 1
    items.append(item(n, 21, [0, 0, 0, None, site[0], site[1], 0]))
    return plan([site[0], site[1], 108.0], items, cruise=5.0, hover=3.0)


if __name__ == "__main__":
    for name, doc in (("plume-box", plume_box()), ("pm-profile", pm_profile())):
        (HERE / f"{name}.plan").write_text(json.dumps(doc, indent=4) + "\n")
        print(f"wrote missions/{name}.plan")
