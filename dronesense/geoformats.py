"""Small shared pieces of KML, GeoJSON and JSON writing (mission quick looks, sample exports,
web pages).

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
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from dronesense.errors import ParameterError

__all__ = [
    "GEOID_GRIDS",
    "KML_COLOURS",
    "KML_GX_NS",
    "KML_NS",
    "KML_TYPES",
    "NODATA_COLOUR",
    "ColourScale",
    "dot_icon_png",
    "dumps_geojson",
    "ellipsoidal_height",
    "escape",
    "feature",
    "feature_collection",
    "geoid_grid",
    "geoid_transformer",
    "json_safe",
    "kml_colour",
    "kml_coord",
    "kml_document",
    "kml_legend",
    "kml_schema",
    "kml_schema_data",
    "kml_styles",
    "kml_when",
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


def json_safe(obj):
    """A copy of ``obj`` with NaN and infinities as ``None`` (JSON has no NaN).

    Dicts, lists and tuples are copied through (tuples become lists); other values are
    returned as they are.

    Examples
    --------
    >>> json_safe({"a": [1.0, float("nan")], "b": (float("inf"), "x")})
    {'a': [1.0, None], 'b': [None, 'x']}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def dumps_geojson(doc: dict, indent: int | None = 1) -> str:
    """GeoJSON text; NaN and infinities (not JSON) become ``null``."""
    return json.dumps(json_safe(doc), indent=indent, allow_nan=False) + "\n"


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


# ---------------------------------------------------------------------------------------------
# heights above the ellipsoid (RFC 7946) from heights above mean sea level

#: File names of the EGM96 geoid grid (the geoid GPS receivers report mean sea level against):
#: PROJ's current name and the older one of system packages.
GEOID_GRIDS = ("us_nga_egm96_15.tif", "egm96_15.gtx")

_INSTALL_HINT = ("install the EGM96 geoid grid us_nga_egm96_15.tif (pyproj's projsync, or the "
                 "proj-data package of your system) or set PROJ_DATA to the directory that "
                 "holds it")


def _proj_data_dirs() -> list[Path]:
    """Where PROJ data may be: pyproj's data and user directories, ``PROJ_DATA`` /
    ``PROJ_LIB``, and the ``share/proj`` directories of this Python and of the system."""
    import pyproj.datadir

    texts = [pyproj.datadir.get_data_dir(), str(pyproj.datadir.get_user_data_dir()),
             os.environ.get("PROJ_DATA", ""), os.environ.get("PROJ_LIB", "")]
    dirs = [Path(d) for text in texts for d in text.split(os.pathsep) if d]
    for prefix in (sys.prefix, sys.base_prefix, "/usr/local", "/usr", "/opt/homebrew"):
        dirs.append(Path(prefix) / "share" / "proj")
    return list(dict.fromkeys(dirs))


def geoid_grid() -> Path | None:
    """The EGM96 geoid grid file PROJ can use offline (:data:`GEOID_GRIDS`), or ``None``."""
    for folder in _proj_data_dirs():
        for name in GEOID_GRIDS:
            if (folder / name).is_file():
                return folder / name
    return None


def geoid_transformer():
    """A pyproj transformer from EGM96 heights (mean sea level as GPS reports it) to heights
    above the WGS84 ellipsoid, with the geoid grid on this machine; ``None`` when there is
    none (no grid is fetched from the internet unless PROJ's network is switched on)."""
    from pyproj import Transformer
    from pyproj.transformer import TransformerGroup

    with warnings.catch_warnings():  # "best transformation is not available": handled here
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup("EPSG:4326+5773", "EPSG:4979", always_xy=True)
    if group.best_available and group.transformers:
        return group.transformers[0]
    grid = geoid_grid()
    if grid is None:
        return None
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=vgridshift +grids={grid} +multiplier=1 "
        "+step +proj=unitconvert +xy_in=rad +xy_out=deg")


def ellipsoidal_height(lon, lat, alt_msl):
    """Heights above the WGS84 ellipsoid of heights above mean sea level (the EGM96 geoid,
    which GPS receivers and autopilots report), through pyproj and a geoid grid on this
    machine (:func:`geoid_transformer`).

    Returns an array of the same shape; NaN where the input is NaN.

    Raises
    ------
    ParameterError
        (parameter ``height``) when no EGM96 geoid grid is available offline; the message says
        what to install.
    """
    import numpy as np

    lon, lat, alt = (np.asarray(a, dtype=float) for a in (lon, lat, alt_msl))
    transformer = geoid_transformer()
    if transformer is None:
        raise ParameterError("height", f"'ellipsoid' needs a geoid grid: {_INSTALL_HINT}")
    h = np.asarray(transformer.transform(lon, lat, alt)[2], dtype=float)
    if not np.isfinite(h[np.isfinite(alt)]).all():
        raise ParameterError("height", f"'ellipsoid': the geoid grid gave no value: "
                             f"{_INSTALL_HINT}")
    return h


# ---------------------------------------------------------------------------------------------
# KML: colour by value

#: Colour ramp of KML placemarks, low to high value (viridis, 10 steps, ``rrggbb``): its
#: lightness rises monotonically, so the order survives grey-scale printing and most
#: colour-vision deficiencies.
KML_COLOURS = ("471365", "463480", "3b528b", "2f6c8e", "25848e",
               "1e9c89", "2fb47c", "5ec962", "9bd93c", "dfe318")
#: Colour of placemarks without a value.
NODATA_COLOUR = "9e9e9e"


@dataclass(frozen=True)
class ColourScale:
    """Linear colour scale of one quantity: ``len(KML_COLOURS)`` equal bins from ``lo`` to
    ``hi`` (values outside go to the end bins).

    Examples
    --------
    >>> s = ColourScale(0.0, 10.0)
    >>> s.bin(-1.0), s.bin(0.0), s.bin(4.99), s.bin(10.0), s.bin(99.0)
    (0, 0, 4, 9, 9)
    """

    lo: float
    hi: float

    @classmethod
    def of(cls, values) -> ColourScale:
        """From the finite minimum to the maximum of ``values``."""
        vals = [v for v in values if v is not None and math.isfinite(v)]
        return cls(min(vals), max(vals)) if vals else cls(math.nan, math.nan)

    def bin(self, value: float) -> int | None:
        """Colour index of a value (``None`` for NaN)."""
        if value is None or not math.isfinite(value):
            return None
        n = len(KML_COLOURS)
        if not self.hi > self.lo:
            return 0
        k = int((value - self.lo) / (self.hi - self.lo) * n)
        return min(max(k, 0), n - 1)

    def edges(self) -> list[float]:
        n = len(KML_COLOURS)
        return [self.lo + (self.hi - self.lo) * k / n for k in range(n + 1)]


def kml_colour(rrggbb: str, alpha: str = "ff") -> str:
    """KML ``aabbggrr`` from ``rrggbb``."""
    return f"{alpha}{rrggbb[4:6]}{rrggbb[2:4]}{rrggbb[0:2]}"


def kml_when(time_utc: str) -> str:
    """KML ``<when>``: ISO 8601 UTC to the millisecond (``...T10:00:00.123Z``)."""
    if "." in time_utc:
        head, frac = time_utc.rstrip("Z").split(".", 1)
        return f"{head}.{frac[:3].ljust(3, '0')}Z"
    return time_utc


def _g(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.4g}"


def kml_legend(key: str, units: str, scale: ColourScale, n: int, times: list[str | None]) -> str:
    """HTML legend of a colour scale for a KML description: bins, values, UTC span."""
    rows = []
    if math.isfinite(scale.lo):
        e = scale.edges()
        for k in reversed(range(len(KML_COLOURS))):
            rows.append(f'<tr><td style="background:#{KML_COLOURS[k]};width:3em">&#160;</td>'
                        f"<td>{_g(e[k])} – {_g(e[k + 1])} {escape(units)}</td></tr>")
    known = [t for t in times if t]
    span = f"<br/>{min(known)} – {max(known)}" if known else ""
    return (f"<b>{escape(key)}</b> [{escape(units)}]: {n} samples, colour scale "
            f"{_g(scale.lo)} – {_g(scale.hi)} (minimum to maximum, linear){span}"
            f"<table>{''.join(rows)}</table>"
            "Altitude: above mean sea level (absolute). The time slider filters samples by "
            "their UTC time.")


def kml_styles(icon_href: str | None = None) -> str:
    """The shared styles: ``v0`` ... ``v9`` (:data:`KML_COLOURS`) and ``nodata`` for points,
    ``track`` for lines, ``collapsed`` for long lists. ``icon_href`` is the point icon (e.g.
    a file inside the KMZ); without it Google Earth's built-in icon is used."""
    out = []
    icon = f"<Icon><href>{escape(icon_href)}</href></Icon>" if icon_href else ""
    for k, rgb in enumerate((*KML_COLOURS, NODATA_COLOUR)):
        sid = f"v{k}" if k < len(KML_COLOURS) else "nodata"
        out.append(f'<Style id="{sid}"><IconStyle><color>{kml_colour(rgb)}</color>'
                   f"<scale>0.6</scale>{icon}</IconStyle>"
                   "<LabelStyle><scale>0</scale></LabelStyle></Style>\n")
    out.append('<Style id="track"><LineStyle><color>ffffffff</color><width>2</width>'
               "</LineStyle></Style>\n")
    out.append('<Style id="collapsed"><ListStyle><listItemType>checkHideChildren'
               "</listItemType></ListStyle></Style>\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# KML: typed data and an icon that travels inside a KMZ

#: KML ``SimpleField`` types (OGC KML 2.2).
KML_TYPES = ("string", "int", "uint", "short", "ushort", "float", "double", "bool")


def kml_schema(schema_id: str, fields: list[tuple[str, str, str]]) -> str:
    """A KML ``<Schema>``: ``fields`` are ``(name, type, display name)``, types from
    :data:`KML_TYPES`. Readers that know it (QGIS through GDAL's LIBKML driver, Google Earth)
    type the placemarks' ``SchemaData`` by it: numbers stay numbers.

    Examples
    --------
    >>> print(kml_schema("s", [("value", "double", "value (ppm)")]), end="")
    <Schema name="s" id="s"><SimpleField type="double" name="value"><displayName>value \
(ppm)</displayName></SimpleField></Schema>
    """
    out = []
    for name, kind, label in fields:
        if kind not in KML_TYPES:
            raise ValueError(f"unknown KML type {kind!r}")
        out.append(f'<SimpleField type="{kind}" name="{escape(name)}">'
                   f"<displayName>{escape(label)}</displayName></SimpleField>")
    return f'<Schema name="{escape(schema_id)}" id="{escape(schema_id)}">{"".join(out)}</Schema>\n'


def kml_schema_data(schema_id: str, values: list[tuple[str, str | None]]) -> str:
    """``<ExtendedData>`` with one ``<SchemaData>`` of ``(field, text)`` pairs; ``None``
    leaves the field out (no value).

    >>> kml_schema_data("s", [("value", "1.5"), ("height_m", None)])
    '<ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="value">1.5</SimpleData>\
</SchemaData></ExtendedData>'
    """
    data = "".join(f'<SimpleData name="{escape(name)}">{escape(text)}</SimpleData>'
                   for name, text in values if text is not None)
    return (f'<ExtendedData><SchemaData schemaUrl="#{escape(schema_id)}">{data}</SchemaData>'
            "</ExtendedData>")


def dot_icon_png(size: int = 32) -> bytes:
    """A PNG of a white disc with a grey rim on a transparent ground, for KML ``IconStyle``
    (whose ``color`` tints it); made here, so a KMZ carries its icon and nothing is fetched.

    >>> png = dot_icon_png()
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(png) < 2000
    (True, True)
    """
    import struct
    import zlib

    r = size / 2.0
    rows = []
    for j in range(size):
        line = bytearray([0])  # filter: none
        for i in range(size):
            d = math.hypot(i + 0.5 - r, j + 0.5 - r)
            alpha = max(0.0, min(1.0, r - d))  # anti-aliased edge
            grey = 255 if d < 0.75 * r else 160
            line += bytes([grey, grey, grey, round(255 * alpha)])
        rows.append(bytes(line))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))
