"""CSV tracks -> flight events, through a column mapping.

Payloads that log their own GNSS, and exports of DJI-based payloads, come as CSV: one row per
time, a position, and value columns. A :class:`CsvMap` says which column is which, in what
units, and which markers mean "missing". Each row becomes a :class:`~dronesense.events.Fix`
(when it has a position) and one :class:`~dronesense.events.Reading` per value column that is
not missing, all at the row's time, so a CSV is paired by the same engine as a ``.tlog``.

Times: a UTC time column (``unix_s``, ``unix_ms``, ``unix_us``, ``iso`` or a ``strptime``
format) is turned into vehicle time as milliseconds since the first row, with a
:class:`~dronesense.events.TimeSync` at that origin so UTC comes back exactly; a vehicle-time
column (``boot_ms``, ``boot_s``) is used as is, with an optional ``utc`` column giving clock
syncs.

A mapping file is TOML::

    [csv]
    separator = ";"              # "," ";" "\\t" or "auto" (default)
    decimal = ","                # decimal mark (default ".")
    time = "GPS time"
    time_format = "iso"          # unix_s unix_ms unix_us iso boot_ms boot_s or a strptime format
    lat = "lat"
    lon = "lon"
    alt = "alt"                  # metres above mean sea level
    alt_scale = 1.0              # e.g. 0.3048 for feet
    height = "rel_alt"           # optional, height above home
    missing = [-999.99, "NA"]    # added to the default markers
    sysid = 1
    preset = "dji-airdata"       # optional: defaults for a known export, overridden by keys above

    [csv.values]                 # column = reading name, or a table with a scale or units
    "PM2.5" = "pm2p5"
    "CH4 [ppb]" = { name = "ch4", units = "ppb" }     # any UDUNITS-2 spelling (cf-units)
    "CO2 raw" = { name = "co2", scale = 0.001 }       # or a plain factor

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "track.csv")
>>> _ = open(path, "w").write("t;lat;lon;alt;pm\\n1714557600;52.0;5.0;40;12.5\\n"
...                           "1714557601;52.0;5.001;40;-999.99\\n")
>>> cmap = CsvMap(time="t", time_format="unix_s", lat="lat", lon="lon", alt="alt",
...               values={"pm": ("pm2p5", 1.0)})
>>> track = read_csv_track(path, cmap)
>>> [type(e).__name__ for _, e in track.events], track.missing
(['TimeSync', 'Fix', 'Reading', 'Fix'], 1)
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, NoUsableDataError
from dronesense.events import Event, Fix, Reading, TimeSync
from dronesense.quantities import NameTable, units_factor

__all__ = ["PRESETS", "CsvMap", "CsvTrack", "load_csv_map", "read_csv_track"]

#: Cells that mean "no value" whatever the mapping says.
DEFAULT_MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "None", "-999", "-999.9", "-999.99",
                   "-9999", "-9999.0")

#: Column defaults of known exports.
PRESETS: dict[str, dict] = {
    # Airdata UAV / DJI flight-record CSV export
    "dji-airdata": {
        "time": "datetime(utc)", "time_format": "%Y-%m-%d %H:%M:%S",
        "lat": "latitude", "lon": "longitude",
        "alt": "altitude_above_seaLevel(feet)", "alt_scale": 0.3048,
        "height": "height_above_takeoff(feet)", "height_scale": 0.3048,
        "ms_column": "time(millisecond)",
    },
    # DJI FlightReader / PhantomHelp style "OSD." columns
    "dji-osd": {
        "time": "CUSTOM.updateTime [local]", "time_format": "iso",
        "lat": "OSD.latitude", "lon": "OSD.longitude",
        "alt": "OSD.altitude [m]", "height": "OSD.height [m]",
    },
}


@dataclass
class CsvMap:
    """Which CSV column is what.

    Parameters
    ----------
    time, time_format
        Time column and how to read it (see the module docstring).
    lat, lon, alt, height
        Position columns (degrees, metres); ``height`` may be empty.
    values
        Column -> (reading name, scale factor applied to the value).
    separator, decimal
        Field separator (``auto`` sniffs ``;``, ``,`` or tab) and decimal mark.
    alt_scale, height_scale
        Factors to metres (0.3048 for feet).
    missing
        Extra markers of missing cells.
    utc
        For vehicle-time columns: an optional UNIX-seconds column giving clock syncs.
    ms_column
        Optional milliseconds column refining a whole-second time column (DJI exports).
    sysid
        System id given to the events.
    """

    time: str = "time"
    time_format: str = "unix_s"
    lat: str = "lat"
    lon: str = "lon"
    alt: str = "alt"
    height: str = ""
    values: dict[str, tuple[str, float]] = field(default_factory=dict)
    separator: str = "auto"
    decimal: str = "."
    alt_scale: float = 1.0
    height_scale: float = 1.0
    missing: tuple[str, ...] = ()
    utc: str = ""
    ms_column: str = ""
    sysid: int = 1


def load_csv_map(path: str | Path) -> CsvMap:
    """Read a CSV column mapping (TOML, see the module docstring).

    Raises
    ------
    InputError
        If the file is unreadable or a key has the wrong type.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise InputError(f"cannot read CSV mapping: {err.strerror or err}", path=path) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path=path) from None
    spec = dict(doc.get("csv", doc))
    preset = spec.pop("preset", None)
    merged: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})",
                             path=path)
        merged.update(PRESETS[preset])
    merged.update(spec)
    values = {}
    for column, v in merged.pop("values", {}).items():
        if isinstance(v, str):
            values[column] = (v, 1.0)
        elif isinstance(v, dict) and "name" in v:
            values[column] = (str(v["name"]), float(v.get("scale", 1.0))
                              * _units_scale(column, v, path))
        else:
            raise InputError(f"value column {column!r}: expected a name or "
                             "{name, scale, units}", path=path)
    known = set(CsvMap.__dataclass_fields__)
    bad = set(merged) - known
    if bad:
        raise InputError(f"unknown CSV mapping keys: {', '.join(sorted(bad))}", path=path)
    if "missing" in merged:
        merged["missing"] = tuple(str(m) for m in merged["missing"])
    return CsvMap(values=values, **merged)


def _units_scale(column: str, entry: dict, path) -> float:
    """The factor from a value column's ``units`` (any UDUNITS-2 spelling) to the units of the
    quantity its ``name`` maps to (1 without ``units``)."""
    if "units" not in entry:
        return 1.0
    quantity = NameTable.default().lookup(str(entry["name"]))
    if quantity is None:
        raise InputError(f"value column {column!r}: units given for {entry['name']!r}, which "
                         "is no known quantity name (map it in a names table instead)",
                         path=path)
    try:
        return units_factor(str(entry["units"]), quantity.units)
    except ValueError as err:
        raise InputError(f"value column {column!r}: {err}", path=path) from None


@dataclass
class CsvTrack:
    """What :func:`read_csv_track` found.

    Attributes
    ----------
    events
        ``(line number, event)`` in file order.
    rows
        Data rows read.
    missing
        Value or position cells skipped as missing.
    bad_times
        Rows dropped because their time could not be read (line numbers in ``bad_lines``).
    backwards
        Rows whose time is earlier than the row before (non-monotonic).
    """

    path: Path
    events: list[tuple[int, Event]] = field(default_factory=list)
    rows: int = 0
    missing: int = 0
    bad_times: int = 0
    bad_lines: list[int] = field(default_factory=list)
    backwards: int = 0


def _sniff(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _to_float(series, decimal: str, markers: set[str]) -> np.ndarray:
    text = series.astype(str).str.strip()
    miss = text.isin(markers) | series.isna()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    import pandas as pd

    out = pd.to_numeric(text.where(~miss, None), errors="coerce").to_numpy(dtype=float,
                                                                          copy=True)
    numeric_markers = []
    for m in markers:
        try:
            numeric_markers.append(float(m.replace(decimal, ".")))
        except ValueError:
            pass
    if numeric_markers:
        out[np.isin(out, numeric_markers)] = np.nan
    return out


def _times_ms(series, fmt: str, decimal: str, markers) -> np.ndarray:
    """Row times: UNIX ms for UTC formats, vehicle ms for boot formats (NaN if unreadable)."""
    import pandas as pd

    scale = {"unix_s": 1e3, "unix_ms": 1.0, "unix_us": 1e-3, "boot_ms": 1.0, "boot_s": 1e3}
    if fmt in scale:
        return _to_float(series, decimal, markers) * scale[fmt]
    text = series.astype(str).str.strip()
    if fmt == "iso":
        t = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    else:
        t = pd.to_datetime(text, errors="coerce", utc=True, format=fmt)
    ns = t.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    ns[t.isna().to_numpy()] = np.nan
    return ns / 1e6


def read_csv_track(path: str | Path, cmap: CsvMap) -> CsvTrack:
    """Read a CSV track into flight events.

    Raises
    ------
    InputError
        If the file cannot be read or lacks a mapped column.
    NoUsableDataError
        If no row has a readable time.
    """
    import pandas as pd

    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
    except OSError as err:
        raise InputError(f"cannot read CSV: {err.strerror or err}", path=path) from None
    sep = _sniff(first) if cmap.separator == "auto" else cmap.separator.replace("\\t", "\t")
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         skipinitialspace=True, on_bad_lines="warn")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"cannot parse CSV: {err}", path=path) from None
    df.columns = [c.strip() for c in df.columns]
    needed = [cmap.time, cmap.lat, cmap.lon, cmap.alt, *cmap.values]
    needed += [c for c in (cmap.height, cmap.utc, cmap.ms_column) if c]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise InputError(
            f"column(s) {', '.join(map(repr, absent))} not in the CSV "
            f"(it has: {', '.join(df.columns[:12])}{', ...' if len(df.columns) > 12 else ''})",
            path=path)
    markers = set(DEFAULT_MISSING) | set(cmap.missing)
    out = CsvTrack(path=path, rows=len(df))
    if not len(df):
        raise NoUsableDataError("the CSV has no data rows", path=path)
    t = _times_ms(df[cmap.time], cmap.time_format, cmap.decimal, markers)
    if cmap.ms_column:
        ms = _to_float(df[cmap.ms_column], cmap.decimal, markers)
        # whole-second clock refined by a running milliseconds column
        t = np.floor(t / 1000.0) * 1000.0 + np.where(np.isfinite(ms), ms % 1000.0, 0.0)
    lines = np.arange(len(df)) + 2  # header is line 1
    bad = ~np.isfinite(t)
    out.bad_times = int(bad.sum())
    out.bad_lines = lines[bad].tolist()
    if bad.all():
        raise NoUsableDataError(f"no row has a readable time in column {cmap.time!r}",
                                path=path)
    finite_t = t[~bad]
    out.backwards = int((np.diff(finite_t) < 0).sum())
    boot = cmap.time_format.startswith("boot")
    lat = _to_float(df[cmap.lat], cmap.decimal, markers)
    lon = _to_float(df[cmap.lon], cmap.decimal, markers)
    alt = _to_float(df[cmap.alt], cmap.decimal, markers) * cmap.alt_scale
    height = (_to_float(df[cmap.height], cmap.decimal, markers) * cmap.height_scale
              if cmap.height else np.full(len(df), np.nan))
    values = {c: _to_float(df[c], cmap.decimal, markers) for c in cmap.values}
    utc = _to_float(df[cmap.utc], cmap.decimal, markers) if cmap.utc else None
    sysid = cmap.sysid
    events = out.events
    if boot:
        t_ms = t
    else:
        origin_ms = float(np.nanmin(t))
        t_ms = t - origin_ms
        origin_us = round(origin_ms * 1000.0)
        events.append((int(lines[~bad][0]), TimeSync(sysid, 0.0, origin_us)))
    has_pos = np.isfinite(lat) & np.isfinite(lon)
    out.missing += int((~has_pos).sum()) + sum(int(np.isnan(v).sum()) for v in values.values())
    cols = [(cmap.values[c][0], cmap.values[c][1], v.tolist()) for c, v in values.items()]
    tl, latl, lonl, altl, hl = t_ms.tolist(), lat.tolist(), lon.tolist(), alt.tolist(), \
        height.tolist()
    posl, badl, linel = has_pos.tolist(), bad.tolist(), lines.tolist()
    utcl = utc.tolist() if utc is not None else None
    for i in range(len(df)):
        if badl[i]:
            continue
        ti = tl[i]
        if utcl is not None and not math.isnan(utcl[i]):
            events.append((linel[i], TimeSync(sysid, ti, round(utcl[i] * 1e6))))
        if posl[i]:
            ok = not (latl[i] == 0 and lonl[i] == 0)
            events.append((linel[i], Fix(sysid, ti, latl[i], lonl[i], altl[i], hl[i], ok)))
        for name, scale, vals in cols:
            v = vals[i]
            if not math.isnan(v):
                events.append((linel[i], Reading(sysid, ti, name, v * scale)))
    return out
