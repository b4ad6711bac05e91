"""Write sample rows to CF netCDF, CSV, Parquet, GeoJSON or KML.

The format follows the file suffix (:data:`FORMATS`):

``.nc``
    :func:`dronesense.samples.dataset.to_dataset` (CF discrete sampling geometry,
    ``featureType = "trajectory"``).
``.csv``
    the ``samples.csv`` journal format.
``.parquet``
    the same columns plus a ``time`` timestamp, the units of each quantity and the
    provenance in the file's key-value metadata.
``.geojson``
    RFC 7946 FeatureCollection: one Point per paired sample, ``[lon, lat, alt_amsl]``, with
    properties ``time_utc``, ``quantity``, ``value``, ``units``, ``height``, ``flag``,
    ``sysid``, ``boot``, ``alt_amsl``; with ``tracks=True`` also one LineString per piece of
    vehicle track (:func:`to_geojson`).
``.kml`` / ``.kmz``
    for Google Earth: one Folder per quantity with a colour scale legend, placemarks
    colour-coded by value at their altitude above mean sea level (``absolute``), a
    ``<TimeStamp>`` on each so the time slider works, and each vehicle's track as a
    ``gx:Track`` (:func:`to_kml`). ``.kmz`` is the same zipped.

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
from dataclasses import dataclass
from pathlib import Path

from dronesense.errors import InputError
from dronesense.flight.rows import COLUMNS, FLAG_MEANINGS, Flag, SampleRow
from dronesense.geoformats import (
    dumps_geojson,
    escape,
    feature,
    feature_collection,
    kml_coord,
    kml_document,
    line_string,
    point,
    position,
)

#: Output suffixes understood by :func:`write_samples`.
FORMATS = (".nc", ".csv", ".parquet", ".geojson", ".kml", ".kmz")
#: The suffixes that draw geometry (paired samples only).
GEO_FORMATS = (".geojson", ".kml", ".kmz")

#: Colour ramp of KML placemarks, low to high value (viridis, 10 steps, ``rrggbb``): its
#: lightness rises monotonically, so the order survives grey-scale printing and most
#: colour-vision deficiencies.
KML_COLOURS = ("471365", "463480", "3b528b", "2f6c8e", "25848e",
               "1e9c89", "2fb47c", "5ec962", "9bd93c", "dfe318")
_NODATA_COLOUR = "9e9e9e"

#: Consecutive positions of a vehicle further apart in time than this start a new piece of
#: track (no line is drawn across a GPS outage or a pause in the readings).
TRACK_BREAK_S = 5.0


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
        "units": r.units, "height": _finite(r.height), "flag": r.flag,
        "sysid": r.sysid, "boot": r.boot, "alt_amsl": _finite(r.alt_amsl), "name": r.name,
    }


def to_geojson(rows: Sequence[SampleRow], *, points: bool = True, tracks: bool = False,
               history: str = "", source: str = "") -> dict:
    """An RFC 7946 FeatureCollection of the paired samples.

    Parameters
    ----------
    points
        One Point feature per paired sample, coordinates ``[lon, lat, alt_amsl]`` (no
        altitude when it is unknown).
    tracks
        Also one LineString feature per piece of vehicle track (:func:`track_pieces`), with
        properties ``sysid``, ``boot``, ``start``, ``end``, ``kind = "track"``; they come
        first.
    history, source
        Provenance, kept in the foreign member ``dronesense`` with the counts.
    """
    from dronesense._version import __version__

    paired, unpaired = split_paired(rows)
    features = []
    if tracks:
        for (sysid, boot), piece in track_pieces(paired):
            features.append(feature(
                line_string([position(r.lon, r.lat, r.alt_amsl) for r in piece]),
                {"kind": "track", "sysid": sysid, "boot": boot,
                 "start": piece[0].time_utc, "end": piece[-1].time_utc}))
    if points:
        features.extend(feature(point(r.lon, r.lat, r.alt_amsl), _properties(r))
                        for r in paired)
    meta = {
        "featureType": "trajectory",
        "altitude": "third coordinate: metres above mean sea level (WGS84 lon, lat)",
        "samples": len(paired),
        "unpaired_not_drawn": len(unpaired),
        "history": history, "source": source, "dronesense_version": __version__,
    }
    if unpaired:
        meta["unpaired_flags"] = dict(Counter(FLAG_MEANINGS[r.flag] for r in unpaired))
    return feature_collection(features, name="dronesense samples", dronesense=meta)


# ---------------------------------------------------------------------------------------------
# KML


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


def _kml_colour(rrggbb: str, alpha: str = "ff") -> str:
    """KML ``aabbggrr`` from ``rrggbb``."""
    return f"{alpha}{rrggbb[4:6]}{rrggbb[2:4]}{rrggbb[0:2]}"


def _kml_time(time_utc: str) -> str:
    """KML ``<when>``: ISO 8601 UTC to the millisecond (``...T10:00:00.123Z``)."""
    if "." in time_utc:
        head, frac = time_utc.rstrip("Z").split(".", 1)
        return f"{head}.{frac[:3].ljust(3, '0')}Z"
    return time_utc


def _g(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _legend(key: str, units: str, scale: ColourScale, n: int, paired: list[SampleRow]) -> str:
    rows = []
    if math.isfinite(scale.lo):
        e = scale.edges()
        for k in reversed(range(len(KML_COLOURS))):
            rows.append(f'<tr><td style="background:#{KML_COLOURS[k]};width:3em">&#160;</td>'
                        f"<td>{_g(e[k])} – {_g(e[k + 1])} {escape(units)}</td></tr>")
    times = [r.time_utc for r in paired if r.time_utc]
    span = f"<br/>{min(times)} – {max(times)}" if times else ""
    return (f"<b>{escape(key)}</b> [{escape(units)}]: {n} samples, colour scale "
            f"{_g(scale.lo)} – {_g(scale.hi)} (minimum to maximum, linear){span}"
            f"<table>{''.join(rows)}</table>"
            "Altitude: above mean sea level (absolute). The time slider filters samples by "
            "their UTC time.")


def _styles() -> str:
    out = []
    icon = "<Icon><href>http://maps.google.com/mapfiles/kml/shapes/shaded_dot.png</href></Icon>"
    for k, rgb in enumerate((*KML_COLOURS, _NODATA_COLOUR)):
        sid = f"v{k}" if k < len(KML_COLOURS) else "nodata"
        out.append(f'<Style id="{sid}"><IconStyle><color>{_kml_colour(rgb)}</color>'
                   f"<scale>0.6</scale>{icon}</IconStyle>"
                   "<LabelStyle><scale>0</scale></LabelStyle></Style>\n")
    out.append('<Style id="track"><LineStyle><color>ffffffff</color><width>2</width>'
               "</LineStyle></Style>\n")
    out.append('<Style id="collapsed"><ListStyle><listItemType>checkHideChildren'
               "</listItemType></ListStyle></Style>\n")
    return "".join(out)


def _placemark(r: SampleRow, style: str, units: str) -> str:
    when = (f"<TimeStamp><when>{_kml_time(r.time_utc)}</when></TimeStamp>"
            if r.time_utc else "")
    alt = _finite(r.alt_amsl)
    mode = "absolute" if alt is not None else "clampToGround"
    data = "".join(
        f'<Data name="{name}"><value>{escape(text)}</value></Data>'
        for name, text in (("value", repr(r.value)), ("units", units),
                           ("height_m", _g(r.height)), ("sysid", str(r.sysid)),
                           ("time_utc", r.time_utc or "")))
    return (f"<Placemark><name>{_g(r.value)}</name>{when}<styleUrl>#{style}</styleUrl>"
            f"<ExtendedData>{data}</ExtendedData>"
            f"<Point><altitudeMode>{mode}</altitudeMode>"
            f"<coordinates>{kml_coord(r.lon, r.lat, alt)}</coordinates></Point></Placemark>\n")


def _track_kml(paired: list[SampleRow]) -> str:
    marks = []
    for (sysid, boot), piece in track_pieces(paired):
        timed = [r for r in piece if r.time_utc]
        alt_known = all(_finite(r.alt_amsl) is not None for r in piece)
        mode = "absolute" if alt_known else "clampToGround"
        name = f"vehicle {sysid}" + (f" boot {boot}" if boot else "")
        if len(timed) == len(piece):
            whens = "".join(f"<when>{_kml_time(r.time_utc)}</when>" for r in piece)
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


def to_kml(rows: Sequence[SampleRow], *, names=None, title: str = "dronesense samples",
           history: str = "", source: str = "", track: bool = True) -> str:
    """KML text of the paired samples for Google Earth.

    One Folder per quantity (only the first visible at first; tick the others in the
    Places panel), each placemark coloured by its value on that quantity's linear
    minimum-to-maximum scale (:data:`KML_COLOURS`, legend in the Folder's description),
    placed at its altitude above mean sea level (``altitudeMode`` absolute), with a
    ``<TimeStamp>`` for the time slider and the value, units, height above home and system
    id as ``ExtendedData``. With ``track``, each vehicle's path as a ``gx:Track`` (a
    LineString where times are missing) in a ``track`` Folder.
    """
    from dronesense.quantities import NameTable

    names = names if names is not None else NameTable.default()
    paired, unpaired = split_paired(rows)
    by_q: dict[str, list[SampleRow]] = {}
    for r in paired:
        by_q.setdefault(r.quantity, []).append(r)
    folders = []
    for i, (key, qrows) in enumerate(by_q.items()):
        known = names.quantities.get(key)
        units = known.display_units if known is not None else qrows[0].units
        scale = ColourScale.of(r.value for r in qrows)
        marks = []
        for r in qrows:
            k = scale.bin(r.value)
            marks.append(_placemark(r, "nodata" if k is None else f"v{k}", r.units))
        label = f"{key} ({units})" if units else key
        folders.append(
            f"<Folder><name>{escape(label)}</name>"
            f"<visibility>{1 if i == 0 else 0}</visibility><open>0</open>"
            f"<description>{escape(_legend(key, units, scale, len(qrows), qrows))}"
            "</description><styleUrl>#collapsed</styleUrl>\n"
            f"{''.join(marks)}</Folder>\n")
    desc = (f"{len(paired)} paired samples drawn"
            + (f"; {len(unpaired)} unpaired not drawn ({_flag_counts(unpaired)})"
               if unpaired else "")
            + (f". Source: {source}" if source else "")
            + (f". History: {history}" if history else ""))
    body = (_track_kml(paired) if track else "") + "".join(folders)
    return kml_document(title, body, description=desc, extra=_styles())


# ---------------------------------------------------------------------------------------------
# writing


def write_samples(rows: Sequence[SampleRow], path: str | Path, *, names=None,
                  history: str = "", source: str = "", paired_only: bool = False,
                  tracks: bool = False) -> Path:
    """Write rows to ``path``; the suffix picks the format (see :data:`FORMATS`).

    ``paired_only`` drops unpaired rows from ``.csv``/``.nc``/``.parquet`` (GeoJSON and KML
    only ever hold paired samples). ``tracks`` adds track LineStrings to GeoJSON (KML always
    has its track folder).

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
            doc = to_geojson(rows, tracks=tracks, history=history, source=source)
            path.write_text(dumps_geojson(doc, indent=None), encoding="utf-8")
        else:
            text = to_kml(rows, names=names, title=path.stem, history=history, source=source)
            if suffix == ".kml":
                path.write_text(text, encoding="utf-8")
            else:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                    zf.writestr("doc.kml", text)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return path


def _write_parquet(rows, path: Path, *, history: str, source: str) -> None:
    import pandas as pd
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
