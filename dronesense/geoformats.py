"""Small shared pieces of KML and GeoJSON writing (mission quick looks, sample exports).

GeoJSON follows RFC 7946: positions are ``[longitude, latitude(, altitude)]`` in WGS84
degrees, no ``crs`` member. KML coordinates are ``lon,lat[,alt]`` tuples; documents declare
the Google extension namespace (``gx:``) so ``gx:Track`` may be used.

Examples
--------
>>> position(5.1234567891, 52.0, 40.123)
[5.1234568, 52.0, 40.12]
>>> kml_coord(5.0, 52.0, 40.0)
'5.0000000,52.0000000,40.00'
>>> feature(point(5.0, 52.0), {"a": 1})["geometry"]
{'type': 'Point', 'coordinates': [5.0, 52.0]}
"""

from __future__ import annotations

import json
import math
from xml.sax.saxutils import escape

__all__ = [
    "KML_GX_NS",
    "KML_NS",
    "dumps_geojson",
    "escape",
    "feature",
    "feature_collection",
    "kml_coord",
    "kml_document",
    "line_string",
    "point",
    "position",
]

KML_NS = "http://www.opengis.net/kml/2.2"
KML_GX_NS = "http://www.google.com/kml/ext/2.2"


def position(lon: float, lat: float, alt: float | None = None) -> list[float]:
    """A GeoJSON position: lon, lat to 7 decimals (about 1 cm), altitude to 2 (cm)."""
    pos = [round(float(lon), 7), round(float(lat), 7)]
    if alt is not None and math.isfinite(alt):
        pos.append(round(float(alt), 2))
    return pos


def point(lon: float, lat: float, alt: float | None = None) -> dict:
    """A GeoJSON Point geometry."""
    return {"type": "Point", "coordinates": position(lon, lat, alt)}


def line_string(coords: list[list[float]]) -> dict:
    """A GeoJSON LineString geometry from positions (see :func:`position`)."""
    return {"type": "LineString", "coordinates": coords}


def feature(geometry: dict | None, properties: dict | None = None) -> dict:
    """A GeoJSON Feature."""
    return {"type": "Feature", "properties": properties or {}, "geometry": geometry}


def feature_collection(features: list[dict], **members) -> dict:
    """A GeoJSON FeatureCollection; ``members`` are added as foreign members."""
    return {"type": "FeatureCollection", **members, "features": features}


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def dumps_geojson(doc: dict, indent: int | None = 1) -> str:
    """GeoJSON text; NaN and infinities (not JSON) become ``null``."""
    return json.dumps(_clean(doc), indent=indent, allow_nan=False) + "\n"


def kml_coord(lon: float, lat: float, alt: float | None = None) -> str:
    """One KML coordinate tuple ``lon,lat[,alt]``."""
    if alt is None or not math.isfinite(alt):
        return f"{lon:.7f},{lat:.7f}"
    return f"{lon:.7f},{lat:.7f},{alt:.2f}"


def kml_document(name: str, body: str, *, description: str = "", extra: str = "") -> str:
    """A complete KML file: ``<Document>`` with a name, optional description, then ``extra``
    (styles) and ``body`` (placemarks, folders), both already KML text."""
    desc = f"<description>{escape(description)}</description>\n" if description else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<kml xmlns="{KML_NS}" xmlns:gx="{KML_GX_NS}">\n<Document>\n'
        f"<name>{escape(name)}</name>\n{desc}{extra}{body}</Document>\n</kml>\n"
    )
