"""KML and GeoJSON of a mission's planned path, for a quick look in Google Earth or QGIS.

The path starts at home, visits every item that has a position (take-off climbs straight up
from home) and returns home for RTL. Altitudes are written above mean sea level (home
altitude + height above home; terrain-frame heights are drawn as if the ground were flat).

Examples
--------
>>> from dronesense.missions.items import Home
>>> from dronesense.missions.patterns import vertical_profile
>>> doc = to_geojson(vertical_profile(Home(51.0, 7.0, 40.0), [10, 20]))
>>> doc["features"][0]["geometry"]["coordinates"][:2]
[[7.0, 51.0, 40.0], [7.0, 51.0, 50.0]]
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from dronesense.geoformats import kml_coord, kml_document
from dronesense.missions.items import NAV_RETURN_TO_LAUNCH, NAV_TAKEOFF, Mission

__all__ = ["dumps_geojson", "dumps_kml", "path_points", "to_geojson", "write"]


def path_points(mission: Mission) -> list[tuple[float, float, float, str]]:
    """``(lat, lon, alt_amsl, label)`` along the planned path, starting and ending at home."""
    home = mission.home
    pts = [(home.lat, home.lon, home.alt, "home")]
    for seq, item in enumerate(mission.items, start=1):
        label = f"{seq}: {item.name}"
        if item.command == NAV_RETURN_TO_LAUNCH:
            last = pts[-1]
            pts.append((home.lat, home.lon, last[2], label))
            pts.append((home.lat, home.lon, home.alt, "landed"))
        elif item.has_position:
            lat, lon = (pts[-1][0], pts[-1][1]) if item.command == NAV_TAKEOFF else (
                item.lat, item.lon)
            pts.append((lat, lon, round(home.alt + item.height(home), 2), label))
    return pts


def to_geojson(mission: Mission) -> dict:
    """A GeoJSON FeatureCollection: the path as a LineString, then one Point per item."""
    pts = path_points(mission)
    features = [{
        "type": "Feature",
        "properties": {"name": "planned path", "description": mission.description,
                       "altitude": "metres above mean sea level"},
        "geometry": {"type": "LineString",
                     "coordinates": [[lon, lat, alt] for lat, lon, alt, _ in pts]},
    }]
    for lat, lon, alt, label in pts:
        features.append({"type": "Feature", "properties": {"name": label},
                         "geometry": {"type": "Point", "coordinates": [lon, lat, alt]}})
    return {"type": "FeatureCollection", "features": features}


def dumps_geojson(mission: Mission) -> str:
    """GeoJSON text of :func:`to_geojson`."""
    return json.dumps(to_geojson(mission), indent=1) + "\n"


def dumps_kml(mission: Mission) -> str:
    """KML text: the path as an absolute-altitude LineString plus one placemark per item.

    Examples
    --------
    >>> from dronesense.missions.items import Home
    >>> from dronesense.missions.patterns import vertical_profile
    >>> "<LineString>" in dumps_kml(vertical_profile(Home(51.0, 7.0, 40.0), [10]))
    True
    """
    pts = path_points(mission)
    coords = " ".join(kml_coord(lon, lat, alt) for lat, lon, alt, _ in pts)
    marks = "".join(
        f"<Placemark><name>{escape(label)}</name><Point><altitudeMode>absolute</altitudeMode>"
        f"<coordinates>{kml_coord(lon, lat, alt)}</coordinates></Point></Placemark>\n"
        for lat, lon, alt, label in pts
    )
    style = ('<Style id="path"><LineStyle><color>ff0000ff</color><width>3</width></LineStyle>'
             "</Style>\n")
    body = (
        "<Placemark><name>planned path</name><styleUrl>#path</styleUrl><LineString>"
        "<altitudeMode>absolute</altitudeMode>"
        f"<coordinates>{coords}</coordinates></LineString></Placemark>\n"
        f"<Folder><name>items</name>\n{marks}</Folder>\n"
    )
    return kml_document(mission.description or "mission", body, extra=style)


def write(mission: Mission, path: str | Path) -> None:
    """Write ``.kml`` or ``.geojson`` (chosen by the suffix)."""
    path = Path(path)
    text = dumps_kml(mission) if path.suffix.lower() == ".kml" else dumps_geojson(mission)
    path.write_text(text, encoding="utf-8")
