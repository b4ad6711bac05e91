"""Write sample rows to CF netCDF, CSV, Parquet, GeoJSON or KML.

The format follows the file suffix (:data:`FORMATS`):

``.nc``
    :func:`dronesense.samples.dataset.to_dataset` (CF discrete sampling geometry,
    ``featureType = "trajectory"``).
``.csv``
    the ``samples.csv`` journal format (units as people read them: ``ppm``, not ``1e-6``).
``.parquet``
    the same columns plus a ``time`` timestamp, the units of each quantity and the
    provenance in the file's key-value metadata.
``.geojson``
    RFC 7946 FeatureCollection: one Point per paired sample, ``[lon, lat, altitude]`` with
    the altitude above mean sea level (``height="msl"``, default) or above the WGS84
    ellipsoid (``height="ellipsoid"``), properties ``time_utc``, ``quantity``, ``value``,
    ``units``, ``height``, ``flag``, ``sysid``, ``boot``, ``alt_amsl``; with
    ``tracks=True`` also one LineString per piece of vehicle track (:func:`to_geojson`).
``.kml`` / ``.kmz``
    for Google Earth and GIS: one Folder per quantity with a colour scale legend, the
    target quantity first and visible, placemarks colour-coded by value at their altitude
    above mean sea level (``absolute``) with typed data (a ``<Schema>``), a ``<TimeStamp>``
    on each so the time slider works, and each vehicle's track as a ``gx:Track``
    (:func:`to_kml`). ``.kmz`` is the same zipped with its icon.

Only paired samples (``flag`` 0, with a position) have geometry: GeoJSON and KML leave the
others out (:func:`split_paired` counts them, :func:`geometry_note` says so in one line);
CSV, netCDF and Parquet keep every row unless ``paired_only`` is given.

Reading them back is :mod:`dronesense.samples.files`: its ``read_sample_rows`` reads any samples
input or pairs any log that ``dronesense pair`` reads.

Examples
--------
>>> import tempfile, os
>>> from dronesense.flight.rows import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000, 0, 1, 52.0, 5.0, 40.0, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> out = write_samples([row], os.path.join(tempfile.mkdtemp(), "s.parquet"), history="test")
>>> import pandas as pd
>>> pd.read_parquet(out)["value"].tolist()
[1.9]
>>> to_geojson([row])["features"][0]["geometry"]
{'type': 'Point', 'coordinates': [5.0, 52.0, 40.0]}
"""

from __future__ import annotations

import json
import math
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dronesense.errors import InputError, ParameterError
from dronesense.flight.rows import COLUMNS, FLAG_MEANINGS, Flag, SampleRow
from dronesense.geoformats import (
    ColourScale,
    dot_icon_png,
    dumps_geojson,
    ellipsoidal_height,
    escape,
    feature,
    feature_collection,
    kml_coord,
    kml_document,
    kml_legend,
    kml_schema,
    kml_schema_data,
    kml_styles,
    kml_when,
    line_string,
    point,
    position,
)
from dronesense.quantities import display_units, text_units
from dronesense.samples.files import require_parquet

#: Output suffixes understood by :func:`write_samples`.
FORMATS = (".nc", ".csv", ".parquet", ".geojson", ".kml", ".kmz")
#: The suffixes that draw geometry (paired samples only).
GEO_FORMATS = (".geojson", ".kml", ".kmz")


#: Consecutive positions of a vehicle further apart in time than this start a new piece of
#: track (no line is drawn across a GPS outage or a pause in the readings).
TRACK_BREAK_S = 5.0

#: Vertical references of GeoJSON's third coordinate: ``msl`` (the altitude above mean sea
#: level the autopilot reports, the default) or ``ellipsoid`` (height above the WGS84
#: ellipsoid, as RFC 7946 asks; needs a geoid grid, see
#: :func:`dronesense.geoformats.ellipsoidal_height`).
HEIGHTS = ("msl", "ellipsoid")
_HEIGHT_TEXT = {
    "msl": "third coordinate: metres above mean sea level (the EGM96 geoid, as the autopilot "
           "reports it), not above the WGS84 ellipsoid of RFC 7946",
    "ellipsoid": "third coordinate: metres above the WGS84 ellipsoid (RFC 7946), from the "
                 "altitude above mean sea level through the EGM96 geoid",
}
#: Where a KMZ keeps its placemark icon.
KMZ_ICON = "files/dot.png"


def _is_paired(r: SampleRow) -> bool:
    return r.flag == Flag.PAIRED and r.lat is not None and r.lon is not None


def split_paired(rows: Sequence[SampleRow]) -> tuple[list[SampleRow], list[SampleRow]]:
    """``(paired, unpaired)``: rows with a position (flag 0) and the others."""
    paired, unpaired = [], []
    for r in rows:
        (paired if _is_paired(r) else unpaired).append(r)
    return paired, unpaired


def _flag_counts(rows: Sequence[SampleRow]) -> str:
    counts = Counter(r.flag for r in rows)
    return ", ".join(
        f"{FLAG_MEANINGS[f] if 0 <= f < len(FLAG_MEANINGS) else f'flag {f}'} {n}"
        for f, n in sorted(counts.items()))


def geometry_note(rows: Sequence[SampleRow], path: str | Path) -> str | None:
    """One line saying how many rows a GeoJSON/KML output leaves out (``None`` if none or
    another format).

    Examples
    --------
    >>> from dronesense.flight.rows import SampleRow
    >>> r = SampleRow(None, 5, 0, 1, None, None, None, None, "co", "CO", 2.0, "1e-9",
    ...               None, 2, "")
    >>> geometry_note([r], "x.kml").split(";")[0]
    '1 unpaired sample(s) have no position and are not drawn (before_track 1)'
    """
    if Path(path).suffix.lower() not in GEO_FORMATS:
        return None
    _, unpaired = split_paired(rows)
    if not unpaired:
        return None
    return (f"{len(unpaired)} unpaired sample(s) have no position and are not drawn "
            f"({_flag_counts(unpaired)}); .csv/.nc/.parquet keep them")


def _finite(x) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# ---------------------------------------------------------------------------------------------
# tracks


def track_pieces(rows: Sequence[SampleRow], break_s: float = TRACK_BREAK_S):
    """The vehicle tracks traced by paired samples.

    Returns ``[((sysid, boot), [row, ...]), ...]``: rows in vehicle-time order, one per
    distinct sampling time, split where consecutive ones are more than ``break_s`` apart.
    Pieces with fewer than two positions are left out.
    """
    by_vehicle: dict[tuple[int, int], list[SampleRow]] = {}
    for r in rows:
        if _is_paired(r):
            by_vehicle.setdefault((r.sysid, r.boot), []).append(r)
    out = []
    for key in sorted(by_vehicle):
        seq = sorted(by_vehicle[key], key=lambda r: r.time_boot_ms)
        piece: list[SampleRow] = []
        for r in seq:
            if piece and r.time_boot_ms == piece[-1].time_boot_ms:
                continue
            if piece and r.time_boot_ms - piece[-1].time_boot_ms > break_s * 1000.0:
                if len(piece) > 1:
                    out.append((key, piece))
                piece = []
            piece.append(r)
        if len(piece) > 1:
            out.append((key, piece))
    return out


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _properties(r: SampleRow) -> dict:
    return {
        "time_utc": r.time_utc, "quantity": r.quantity, "value": _finite(r.value),
        "units": text_units(r.units), "height": _finite(r.height), "flag": r.flag,
        "sysid": r.sysid, "boot": r.boot, "alt_amsl": _finite(r.alt_amsl), "name": r.name,
    }


def _vertical(paired: list[SampleRow], height: str) -> dict[int, float | None]:
    """The third coordinate of each paired row (by ``id``) in the vertical reference."""
    if height not in HEIGHTS:
        raise ParameterError("height", f"must be one of {', '.join(HEIGHTS)}, not {height!r}")
    alt = [_finite(r.alt_amsl) for r in paired]
    if height == "ellipsoid" and paired:
        h = ellipsoidal_height([r.lon for r in paired], [r.lat for r in paired],
                               [math.nan if a is None else a for a in alt])
        alt = [_finite(float(x)) for x in h]
    return {id(r): a for r, a in zip(paired, alt, strict=True)}


def to_geojson(rows: Sequence[SampleRow], *, points: bool = True, tracks: bool = False,
               history: str = "", source: str = "", height: str = "msl") -> dict:
    """An RFC 7946 FeatureCollection of the paired samples.

    Parameters
    ----------
    points
        One Point feature per paired sample, coordinates ``[lon, lat, altitude]`` (no
        altitude when it is unknown).
    tracks
        Also one LineString feature per piece of vehicle track (:func:`track_pieces`), with
        properties ``sysid``, ``boot``, ``start``, ``end``, ``kind = "track"``; they come
        first.
    history, source
        Provenance, kept in the foreign member ``dronesense`` with the counts.
    height
        The third coordinate (:data:`HEIGHTS`): ``"msl"`` (default) metres above mean sea
        level, as the autopilot reports them; ``"ellipsoid"`` metres above the WGS84
        ellipsoid, which RFC 7946 specifies (through the EGM96 geoid grid; a
        :class:`~dronesense.errors.ParameterError` says what to install when there is none).
        The foreign member says which (``vertical_reference``, ``altitude``); the
        ``alt_amsl`` property is always above mean sea level.

    Examples
    --------
    >>> from dronesense.flight.rows import SampleRow
    >>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000, 0, 1, 52.0, 5.0, 40.0, 30.0,
    ...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
    >>> doc = to_geojson([row])
    >>> doc["dronesense"]["vertical_reference"], doc["features"][0]["properties"]["units"]
    ('msl', 'ppm')
    """
    from dronesense._version import __version__

    paired, unpaired = split_paired(rows)
    z = _vertical(paired, height)
    features = []
    if tracks:
        for (sysid, boot), piece in track_pieces(paired):
            features.append(feature(
                line_string([position(r.lon, r.lat, z[id(r)]) for r in piece]),
                {"kind": "track", "sysid": sysid, "boot": boot,
                 "start": piece[0].time_utc, "end": piece[-1].time_utc}))
    if points:
        features.extend(feature(point(r.lon, r.lat, z[id(r)]), _properties(r))
                        for r in paired)
    meta = {
        "featureType": "trajectory",
        "vertical_reference": height,
        "altitude": _HEIGHT_TEXT[height],
        "samples": len(paired),
        "unpaired_not_drawn": len(unpaired),
        "history": history, "source": source, "dronesense_version": __version__,
    }
    if unpaired:
        meta["unpaired_flags"] = dict(Counter(FLAG_MEANINGS[r.flag] for r in unpaired))
    return feature_collection(features, name="dronesense samples", dronesense=meta)


# ---------------------------------------------------------------------------------------------
# KML


def _g(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.4g}"


#: The typed fields of every sample placemark (``<Schema id="sample">``): name, KML type,
#: label in the balloon.
KML_FIELDS = (
    ("quantity", "string", "quantity"),
    ("value", "double", "value"),
    ("units", "string", "units"),
    ("height_m", "double", "height above home (m)"),
    ("altitude_m", "double", "altitude above mean sea level (m)"),
    ("time_utc", "string", "time (UTC)"),
    ("sysid", "int", "system id"),
    ("boot", "int", "boot"),
    ("wire_name", "string", "name on the link"),
)


def _schema_id(key: str) -> str:
    return "sample_" + "".join(c if c.isalnum() else "_" for c in key)


def _num(x: float | None) -> str | None:
    x = _finite(x)
    return None if x is None else repr(x)


def _placemark(r: SampleRow, style: str, units: str) -> str:
    when = (f"<TimeStamp><when>{kml_when(r.time_utc)}</when></TimeStamp>"
            if r.time_utc else "")
    alt = _finite(r.alt_amsl)
    mode = "absolute" if alt is not None else "clampToGround"
    data = kml_schema_data(_schema_id(r.quantity), [
        ("quantity", r.quantity), ("value", _num(r.value)), ("units", units),
        ("height_m", _num(r.height)), ("altitude_m", _num(r.alt_amsl)),
        ("time_utc", r.time_utc), ("sysid", str(r.sysid)), ("boot", str(r.boot)),
        ("wire_name", r.name)])
    return (f"<Placemark><name>{_g(r.value)}</name>{when}<styleUrl>#{style}</styleUrl>"
            f"{data}<Point><altitudeMode>{mode}</altitudeMode>"
            f"<coordinates>{kml_coord(r.lon, r.lat, alt)}</coordinates></Point></Placemark>\n")


def _track_kml(paired: list[SampleRow]) -> str:
    marks = []
    for (sysid, boot), piece in track_pieces(paired):
        timed = [r for r in piece if r.time_utc]
        alt_known = all(_finite(r.alt_amsl) is not None for r in piece)
        mode = "absolute" if alt_known else "clampToGround"
        name = f"vehicle {sysid}" + (f" boot {boot}" if boot else "")
        if len(timed) == len(piece):
            whens = "".join(f"<when>{kml_when(r.time_utc)}</when>" for r in piece)
            coords = "".join(f"<gx:coord>{r.lon:.7f} {r.lat:.7f} {r.alt_amsl or 0:.2f}"
                             "</gx:coord>" for r in piece)
            geom = f"<gx:Track><altitudeMode>{mode}</altitudeMode>{whens}{coords}</gx:Track>"
        else:  # a track needs a time for every position: draw a plain line
            coords = " ".join(kml_coord(r.lon, r.lat, _finite(r.alt_amsl)) for r in piece)
            geom = (f"<LineString><altitudeMode>{mode}</altitudeMode>"
                    f"<coordinates>{coords}</coordinates></LineString>")
        marks.append(f"<Placemark><name>{escape(name)}</name><styleUrl>#track</styleUrl>"
                     f"{geom}</Placemark>\n")
    if not marks:
        return ""
    return f"<Folder><name>track</name>\n{''.join(marks)}</Folder>\n"


def target_quantity(rows: Sequence[SampleRow], target: str | None = None) -> str | None:
    """The quantity a map opens on: ``target`` if given, else the one with most paired
    samples (the first of equals in sample order); ``None`` without paired samples.

    Raises
    ------
    ParameterError
        (parameter ``target``) when ``target`` has no paired sample.

    Examples
    --------
    >>> from dronesense.flight.rows import SampleRow
    >>> r = SampleRow(None, 5, 0, 1, 52.0, 5.0, 40.0, 1.0, "rh", "RH", 50.0, "percent", 0.1,
    ...               0, "")
    >>> target_quantity([r, r._replace(quantity="ch4"), r._replace(quantity="ch4")])
    'ch4'
    """
    counts = Counter(r.quantity for r in split_paired(rows)[0])
    if target is not None:
        if target not in counts:
            present = ", ".join(sorted(counts)) or "none"
            raise ParameterError("target", f"no paired samples of {target!r} (present: "
                                 f"{present})")
        return target
    return max(counts, key=counts.__getitem__) if counts else None


def to_kml(rows: Sequence[SampleRow], *, names=None, title: str = "dronesense samples",
           history: str = "", source: str = "", track: bool = True,
           target: str | None = None, icon_href: str | None = None) -> str:
    """KML text of the paired samples for Google Earth and GIS.

    One container per quantity (a ``<Document>`` holding the ``<Schema>`` of its placemarks,
    so GIS readers type the data in a KMZ as in a KML), the ``target`` one first and the only
    one visible at first (default :func:`target_quantity`: the one with most samples; tick
    the others in the Places panel), each placemark coloured by its value on that quantity's
    linear minimum-to-maximum scale (:data:`dronesense.geoformats.KML_COLOURS`, legend in
    the container's description), placed at its altitude above mean sea level (absolute), with a
    ``<TimeStamp>`` for the time slider. The placemark's data are typed by a ``<Schema>``
    (:data:`KML_FIELDS`: ``value`` and heights are ``double``, ids ``int``), so QGIS reads
    numbers as numbers; units are spelled as people read them (``ppm``). With ``track``, each
    vehicle's path as a ``gx:Track`` (a LineString where times are missing) in a ``track``
    Folder. ``icon_href`` is the placemark icon (a KMZ carries its own, :data:`KMZ_ICON`);
    without it Google Earth's built-in default is used: nothing is fetched from the internet.
    """
    from dronesense.quantities import NameTable

    names = names if names is not None else NameTable.default()
    paired, unpaired = split_paired(rows)
    by_q: dict[str, list[SampleRow]] = {}
    for r in paired:
        by_q.setdefault(r.quantity, []).append(r)
    first = target_quantity(paired, target)
    order = sorted(by_q, key=lambda key: key != first)
    folders = []
    for key in order:
        qrows = by_q[key]
        known = names.quantities.get(key)
        units = (known.display_units if known is not None
                 else display_units(qrows[0].units, key))
        scale = ColourScale.of(r.value for r in qrows)
        marks = []
        for r in qrows:
            k = scale.bin(r.value)
            marks.append(_placemark(r, "nodata" if k is None else f"v{k}",
                                    units if r.units == qrows[0].units
                                    else display_units(r.units, key)))
        label = f"{key} ({units})" if units else key
        legend = kml_legend(key, units, scale, len(qrows), [r.time_utc for r in qrows])
        folders.append(
            f"<Document><name>{escape(label)}</name>"
            f"<visibility>{1 if key == first else 0}</visibility><open>0</open>"
            f"<description>{escape(legend)}"
            "</description><styleUrl>#collapsed</styleUrl>\n"
            f"{kml_schema(_schema_id(key), list(KML_FIELDS))}{''.join(marks)}</Document>\n")
    desc = (f"{len(paired)} paired samples drawn"
            + (f"; {len(unpaired)} unpaired not drawn ({_flag_counts(unpaired)})"
               if unpaired else "")
            + (f". Source: {source}" if source else "")
            + (f". History: {history}" if history else ""))
    body = "".join(folders) + (_track_kml(paired) if track else "")
    return kml_document(title, body, description=desc, extra=kml_styles(icon_href))


# ---------------------------------------------------------------------------------------------
# writing


def write_samples(rows: Sequence[SampleRow], path: str | Path, *, names=None,
                  history: str = "", source: str = "", paired_only: bool = False,
                  tracks: bool = False, height: str = "msl",
                  target: str | None = None) -> Path:
    """Write rows to ``path``; the suffix picks the format (see :data:`FORMATS`).

    ``paired_only`` drops unpaired rows from ``.csv``/``.nc``/``.parquet`` (GeoJSON and KML
    only ever hold paired samples). ``tracks`` adds track LineStrings to GeoJSON (KML always
    has its track folder). ``height`` is GeoJSON's vertical reference (:data:`HEIGHTS`,
    :func:`to_geojson`); ``target`` the quantity a KML/KMZ opens on (:func:`to_kml`). A KMZ
    carries its placemark icon (:data:`KMZ_ICON`).

    Raises
    ------
    InputError
        For an unknown suffix or a file that cannot be written.
    """
    from dronesense.samples.dataset import to_dataset
    from dronesense.samples.journal import JournalWriter

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"output must end in {', '.join(FORMATS)}", path=path)
    if paired_only:
        rows = split_paired(rows)[0]
    try:
        if suffix == ".nc":
            ds = to_dataset(rows, names, history=history, source=source)
            ds.to_netcdf(path)
        elif suffix == ".csv":
            with JournalWriter(path) as journal:
                journal.write(rows)
        elif suffix == ".parquet":
            _write_parquet(rows, path, history=history, source=source)
        elif suffix == ".geojson":
            doc = to_geojson(rows, tracks=tracks, history=history, source=source,
                             height=height)
            path.write_text(dumps_geojson(doc, indent=None), encoding="utf-8")
        else:
            kmz = suffix == ".kmz"
            text = to_kml(rows, names=names, title=path.stem, history=history, source=source,
                          target=target, icon_href=KMZ_ICON if kmz else None)
            if not kmz:
                path.write_text(text, encoding="utf-8")
            else:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                    zf.writestr("doc.kml", text)  # first entry: the document Earth opens
                    zf.writestr(KMZ_ICON, dot_icon_png())
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return path


def _write_parquet(rows, path: Path, *, history: str, source: str) -> None:
    import pandas as pd

    require_parquet(path)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dronesense._version import __version__

    df = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    for col in ("time_boot_ms", "lat", "lon", "alt_amsl", "height", "value", "position_gap"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["time"] = pd.to_datetime(df["time_utc"].str.rstrip("Z"), errors="coerce", utc=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    units = {q: u for q, u in zip(df["quantity"], df["units"], strict=True)}
    meta = dict(table.schema.metadata or {})
    meta.update({
        b"dronesense": json.dumps({
            "featureType": "trajectory", "history": history, "source": source,
            "dronesense_version": __version__, "units": units,
            "columns": {"lat": "degrees_north", "lon": "degrees_east", "alt_amsl": "m",
                        "height": "m", "position_gap": "s", "time_boot_ms": "ms"},
        }).encode(),
    })
    pq.write_table(table.replace_schema_metadata(meta), path)
