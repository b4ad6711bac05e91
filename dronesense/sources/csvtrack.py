"""CSV tracks -> flight events, through a column map.

Payloads that log their own GNSS, exports of DJI-based payloads and instrument files come as
delimited text: one row per time, a position, and value columns. A :class:`CsvMap` says which
column is what and how to read the file (``docs/csv-map.md``); the file is read by
:func:`dronesense.sources.csvmap.read_table` (comment lines, any delimiter and extension,
date and time columns, times of day with a date, units by name). Each row becomes a
:class:`~dronesense.events.Fix` (when it has a position) and one
:class:`~dronesense.events.Reading` per value column that is not missing, all at the row's
time, so a CSV is paired by the same engine as a ``.tlog``.

Times: UTC times become vehicle time as milliseconds since the first row, with a
:class:`~dronesense.events.TimeSync` at that origin so UTC comes back exactly; a vehicle-time
column (``boot_ms``, ``boot_s``) is used as is, with an optional ``utc`` column (UNIX seconds)
giving clock syncs.

Positions: without an altitude column, the altitude comes from a pressure column (the
barometric formula, :mod:`dronesense.sources.barometric`) relative to the sea-level pressure
``reference_pressure`` when the map gives it, else to the take-off pressure (the median of the
first 5 plausible pressures) plus ``ground_altitude``. Without a height column, the height
above take-off is the altitude minus ``ground_altitude`` (or minus the take-off altitude, the
median of the first 5 altitudes). Everything assumed is said in ``notes``.

A map file is TOML::

    [csv]
    comment = "#"
    time = ["Date_UTC", "Time_UTC"]     # or one column; time_format = "auto" by default
    lat = "lat"
    lon = "lon"
    alt = "alt"                  # metres above mean sea level (optional with a pressure)
    alt_scale = 1.0              # e.g. 0.3048 for feet
    height = "rel_alt"           # optional, height above take-off
    missing = [-999.99, "NA"]    # added to the default markers
    preset = "dji-airdata"       # optional: defaults for a known export, overridden above

    [csv.values]                 # column = reading name, or a table
    "PM2.5" = "pm2p5"
    "CH4 [ppb]" = { name = "ch4", units = "ppb" }     # any UDUNITS-2 spelling (cf-units)
    "T_air" = { name = "temperature", units = "K" }   # converted to degC, offset included
    "CO2 raw" = { name = "co2", scale = 0.001 }       # or a factor (and an offset)

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
>>> track.notes
['height above take-off from the altitude (take-off at 40.0 m)']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.events import Event, Fix, Reading, TimeSync
from dronesense.quantities import PLAUSIBLE_RANGES, NameTable, plausible_range, units_transform
from dronesense.sources.barometric import pressure_altitude
from dronesense.sources.csvmap import (
    TABLE_KEYS,
    Column,
    TableMap,
    load_map_file,
    map_ranges,
    read_table,
)
from dronesense.sources.ranges import check_ranges

__all__ = ["PRESETS", "CsvMap", "CsvTrack", "load_csv_map", "read_csv_track"]

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

#: Rows at the start whose pressure or altitude define the take-off.
TAKEOFF_ROWS = 5
#: Times (ms, of the boot or UNIX) beyond this, either sign, are no times (about 31,700 years).
MAX_TIME_MS = 1e15


@dataclass
class CsvMap:
    """Which column is what, and how to read the file.

    Parameters
    ----------
    time, time_format, date, timezone, ms_column
        Time column(s) and how to read them (:class:`~dronesense.sources.csvmap.TableMap`).
    lat, lon, alt, height
        Position columns (degrees, metres). ``alt`` empty: an ``alt`` column if the file has
        one, else the altitude from pressure; ``height`` empty: from the altitude.
    values
        Column -> ``(reading name, scale)`` or ``(reading name, scale, offset)``: the reading
        is ``value * scale + offset``.
    separator, decimal, comment, skiprows, missing
        How the file is laid out (:class:`~dronesense.sources.csvmap.TableMap`).
    alt_scale, height_scale
        Factors to metres (0.3048 for feet).
    utc
        For vehicle-time columns: an optional UNIX-seconds column giving clock syncs.
    sysid
        System id given to the events.
    pressure, pressure_units
        A pressure column for the altitude (default: the value column whose name is a
        pressure) and its units.
    reference_pressure
        Sea-level pressure (hPa) of the day: the altitude from pressure is then above mean
        sea level (default: relative to the take-off pressure).
    ground_altitude
        Altitude (m above mean sea level) of the take-off point.
    ranges
        Plausible ranges by quantity key (the map file's ``[ranges]`` table), each
        ``(low, high)`` or ``(low, high, units)``: they replace the defaults quantity by
        quantity whenever the map is used (a user's explicit ``ranges`` replace them in turn:
        :func:`dronesense.flight.plausible.ranges_in_force`); the notes quote them.
    """

    time: str | tuple[str, ...] = "time"
    time_format: str = "auto"
    lat: str = "lat"
    lon: str = "lon"
    alt: str = ""
    height: str = ""
    values: dict[str, tuple] = field(default_factory=dict)
    separator: str = "auto"
    decimal: str = "."
    alt_scale: float = 1.0
    height_scale: float = 1.0
    missing: tuple[str, ...] = ()
    utc: str = ""
    ms_column: str = ""
    sysid: int = 1
    comment: str = ""
    skiprows: int = 0
    date: str = ""
    timezone: str = "UTC"
    pressure: str = ""
    pressure_units: str = "hPa"
    reference_pressure: float = math.nan
    ground_altitude: float = math.nan
    ranges: dict[str, tuple] = field(default_factory=dict)

    def table_map(self) -> TableMap:
        """The :class:`~dronesense.sources.csvmap.TableMap` that reads the file."""
        cols = {"lat": Column(self.lat), "lon": Column(self.lon),
                "alt": Column(self.alt or "alt")}
        optional = {"alt"} if not self.alt else set()
        if self.height:
            cols["height"] = Column(self.height)
        if self.utc:
            cols["utc"] = Column(self.utc)
        if self.pressure:
            cols["pressure"] = Column(self.pressure, self.pressure_units)
        for column in self.values:
            cols["value " + column] = Column(column)
        return TableMap(time=self.time, time_format=self.time_format, date=self.date,
                        timezone=self.timezone, ms_column=self.ms_column,
                        separator=self.separator, decimal=self.decimal, comment=self.comment,
                        skiprows=self.skiprows, missing=tuple(self.missing), columns=cols,
                        optional=frozenset(optional))


def load_csv_map(path: str | Path) -> CsvMap:
    """Read a CSV column map (TOML, see the module docstring and ``docs/csv-map.md``).

    Raises
    ------
    InputError
        If the file is unreadable or a key is unknown or has the wrong type.
    """
    path = Path(path)
    doc = load_map_file(path, "CSV column map")
    spec = dict(doc.get("csv", doc))
    # [ranges] is a table of its own, beside [csv] (or of a map without one): no column key
    if spec.pop("ranges", None) is not None and "csv" in doc:
        raise InputError("[csv.ranges]: put the plausible ranges in a top-level [ranges] "
                         "table", path=path)
    try:
        ranges = check_ranges(map_ranges(path), "[ranges]")
    except ParameterError as err:
        raise InputError(str(err), path=path) from None
    preset = spec.pop("preset", None)
    merged: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})",
                             path=path)
        merged.update(PRESETS[preset])
    merged.update(spec)
    values = {column: _value_entry(column, v, path)
              for column, v in merged.pop("values", {}).items()}
    known = {f.name for f in fields(CsvMap)}
    bad = set(merged) - known
    if bad:
        raise InputError(f"unknown CSV map keys: {', '.join(sorted(bad))} (known: "
                         f"{', '.join(sorted(known - {'values', 'ranges'}))}, values, preset)",
                         path=path)
    # the reading keys are checked the way every map checks them
    table = TableMap.from_dict({k: v for k, v in merged.items() if k in TABLE_KEYS}, path=path)
    for key in TABLE_KEYS:
        if key in merged:
            merged[key] = getattr(table, key)
    for key in ("alt_scale", "height_scale", "reference_pressure", "ground_altitude"):
        if key in merged:
            try:
                merged[key] = float(merged[key])
            except (TypeError, ValueError):
                raise InputError(f"{key}: expected a number, got {merged[key]!r}",
                                 path=path) from None
    return CsvMap(values=values, ranges=ranges, **merged)


def _value_entry(column: str, v, path) -> tuple:
    """``(name, scale)`` or ``(name, scale, offset)`` of a ``[csv.values]`` entry, with its
    ``units`` turned into the scale and offset to the quantity's units."""
    if isinstance(v, str):
        return (v, 1.0)
    if not (isinstance(v, dict) and "name" in v):
        raise InputError(f"value column {column!r}: expected a name or "
                         "{name, units, scale, offset}", path=path)
    extra = set(v) - {"name", "units", "scale", "offset"}
    if extra:
        raise InputError(f"value column {column!r}: unknown key(s) {', '.join(sorted(extra))} "
                         "(known: name, units, scale, offset)", path=path)
    try:
        scale, offset = float(v.get("scale", 1.0)), float(v.get("offset", 0.0))
    except (TypeError, ValueError):
        raise InputError(f"value column {column!r}: scale and offset must be numbers",
                         path=path) from None
    if "units" in v:
        quantity = NameTable.default().lookup(str(v["name"]))
        if quantity is None:
            raise InputError(f"value column {column!r}: units given for {v['name']!r}, which "
                             "is no known quantity name (map it in a names table instead)",
                             path=path)
        try:
            factor, shift = units_transform(str(v["units"]), quantity.units)
        except ValueError as err:
            raise InputError(f"value column {column!r}: {err}", path=path) from None
        scale, offset = scale * factor, offset * factor + shift
    return (str(v["name"]), scale) if offset == 0.0 else (str(v["name"]), scale, offset)


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
    fix_interval_s
        Median time between positions (NaN with fewer than two).
    notes
        What was assumed or found (altitude from pressure, take-off, implausible values,
        skipped lines), one line each.
    """

    path: Path
    events: list[tuple[int, Event]] = field(default_factory=list)
    rows: int = 0
    missing: int = 0
    bad_times: int = 0
    bad_lines: list[int] = field(default_factory=list)
    backwards: int = 0
    fix_interval_s: float = math.nan
    notes: list[str] = field(default_factory=list)


def read_csv_track(path: str | Path, cmap: CsvMap) -> CsvTrack:
    """Read a CSV track (any extension) into flight events.

    Raises
    ------
    InputError
        If the file cannot be read, lacks a mapped column, or has neither an altitude nor a
        pressure column.
    NoUsableDataError
        If no row has a readable time.
    """
    path = Path(path)
    table = read_table(path, cmap.table_map())
    out = CsvTrack(path=path, rows=len(table), bad_times=table.bad_times,
                   bad_lines=table.bad_lines, notes=list(table.notes))
    t = table.time_ms
    with np.errstate(invalid="ignore"):
        huge = np.abs(t) > MAX_TIME_MS  # -1e308 and the like: no time at all
    if huge.any():
        out.notes.append(f"{cmap.time}: {int(huge.sum())} time(s) beyond +-{MAX_TIME_MS:g} ms "
                         f"({_lines(table.lines[huge])}): rows skipped")
    bad = ~np.isfinite(t) | huge
    if bad.all():
        raise NoUsableDataError(f"no row has a readable time in column {cmap.time!r}",
                                path=path)
    out.backwards = int((np.diff(t[~bad]) < 0).sum())
    lat, lon = table.values["lat"], table.values["lon"]
    has_pos = np.isfinite(lat) & np.isfinite(lon)
    order = np.argsort(np.where(bad, np.inf, t), kind="stable")
    first = order[~bad[order]]  # rows in time order
    names = NameTable.default()
    values = {c: _scaled(table.values["value " + c], spec) for c, spec in cmap.values.items()}
    alt = _altitude(table, cmap, values, names, first, out.notes)
    height = _height(table, cmap, alt, has_pos, first, out.notes)
    out.missing = int((~has_pos).sum()) + sum(int(np.isnan(v).sum()) for v in values.values())
    _note_implausible(values, cmap, names, table.lines, out.notes)
    alt, height = _fill_altitude(t, alt, height, has_pos & ~bad, table.lines, out.notes)
    has_fix = has_pos & np.isfinite(alt) & ~bad
    fix_t = np.unique(t[has_fix])
    if fix_t.size > 1:
        out.fix_interval_s = float(np.median(np.diff(fix_t))) / 1000.0
    _events(out, table, cmap, values, alt, height, has_pos, has_fix, bad)
    return out


def _scaled(raw: np.ndarray, spec: tuple) -> np.ndarray:
    scale, offset = spec[1], (spec[2] if len(spec) > 2 else 0.0)
    return raw * scale + offset if (scale != 1.0 or offset) else raw


def _altitude(table, cmap: CsvMap, values, names: NameTable, first, notes) -> np.ndarray:
    """Altitude (m AMSL) per row: the altitude column, or from pressure."""
    if "alt" in table.values:
        return table.values["alt"] * cmap.alt_scale
    if "pressure" in table.values:
        source, p = cmap.pressure, table.get("pressure", "hPa")
    else:
        hits = [c for c, spec in cmap.values.items()
                if (q := names.lookup(spec[0])) is not None and q.key == "pressure"]
        if not hits:
            raise InputError(
                "no altitude: the file has no 'alt' column and the map names no pressure "
                "column to compute it from (give alt = \"<column>\", or pressure = "
                "\"<column>\" or a value column named pressure)", path=table.path)
        source, p = hits[0], values[hits[0]]
    low, high = plausible_range("pressure", "hPa")
    ok = (p >= low) & (p <= high)
    p = np.where(ok, p, np.nan)
    if math.isfinite(cmap.reference_pressure):
        alt = pressure_altitude(p, cmap.reference_pressure)
        notes.append(f"altitude from pressure ({source!r}) above mean sea level, sea-level "
                     f"pressure {cmap.reference_pressure:g} hPa (standard atmosphere)")
        return alt
    start = first[ok[first]][:TAKEOFF_ROWS]
    if not start.size:
        raise InputError(f"no altitude: pressure column {source!r} has no value within "
                         f"{low:g}-{high:g} hPa", path=table.path)
    p0 = float(np.median(p[start]))
    ground = cmap.ground_altitude if math.isfinite(cmap.ground_altitude) else 0.0
    notes.append(f"altitude from pressure ({source!r}, standard atmosphere) relative to the "
                 f"take-off pressure {p0:.2f} hPa (median of the first {len(start)} rows)"
                 + (f" plus ground_altitude {ground:g} m" if ground else
                    ": above take-off, not sea level (give ground_altitude or "
                    "reference_pressure for altitudes above sea level)"))
    return ground + pressure_altitude(p, p0)


def _height(table, cmap: CsvMap, alt, has_pos, first, notes) -> np.ndarray:
    """Height above take-off per row: the height column, or from the altitude."""
    if "height" in table.values:
        return table.values["height"] * cmap.height_scale
    if math.isfinite(cmap.ground_altitude):
        notes.append(f"height above take-off from the altitude minus ground_altitude "
                     f"{cmap.ground_altitude:g} m")
        return alt - cmap.ground_altitude
    start = first[has_pos[first] & np.isfinite(alt[first])][:TAKEOFF_ROWS]
    if not start.size:
        return np.full(len(alt), np.nan)
    base = float(np.median(alt[start]))
    notes.append(f"height above take-off from the altitude (take-off at {base:.1f} m)")
    return alt - base


def _fill_altitude(t, alt, height, has_pos, lines, notes):
    """Rows with a position but no altitude (a missing cell, a pressure glitch) between rows
    with one: altitude and height interpolated in time; the others get no position."""
    no_alt = has_pos & ~np.isfinite(alt)
    if not no_alt.any():
        return alt, height
    good = has_pos & np.isfinite(alt)
    tg = t[good]
    inside = no_alt & (t > tg.min()) & (t < tg.max()) if tg.size > 1 else no_alt & False
    alt, height = alt.copy(), height.copy()
    if inside.any():
        order = np.argsort(tg, kind="stable")
        for arr in (alt, height):  # a height column's own values stay
            fill = inside & ~np.isfinite(arr)
            known = arr[good][order]
            ok = np.isfinite(known)
            if fill.any() and ok.any():
                arr[fill] = np.interp(t[fill], tg[order][ok], known[ok])
        notes.append(f"{int(inside.sum())} row(s) with a position but no altitude "
                     f"({_lines(lines[inside])}): altitude interpolated in time between the "
                     "neighbouring rows")
    rest = no_alt & ~inside
    if rest.any():
        notes.append(f"{int(rest.sum())} row(s) with a position but no altitude before the "
                     f"first or after the last altitude ({_lines(lines[rest])}): no position")
    return alt, height


def _note_implausible(values, cmap: CsvMap, names: NameTable, lines, notes) -> None:
    """One note per value column with readings outside its quantity's plausible range (the
    ranges in force: the defaults with ``cmap.ranges`` in their place)."""
    ranges = ({**PLAUSIBLE_RANGES, **check_ranges(cmap.ranges, "csv_map ranges")}
              if cmap.ranges else None)
    for column, v in values.items():
        q = names.lookup(cmap.values[column][0])
        limits = plausible_range(q.key, q.units, ranges) if q is not None else None
        if limits is None:
            continue
        out = np.isfinite(v) & ((v < limits[0]) | (v > limits[1]))
        if out.any():
            notes.append(f"{column}: {int(out.sum())} value(s) outside the plausible range "
                         f"{limits[0]:g} to {limits[1]:g} {q.display_units} "
                         f"({_lines(lines[out])}): kept, flagged out_of_range")


def _lines(lines, at_most: int = 10) -> str:
    lines = [int(x) for x in lines]
    head = ", ".join(map(str, lines[:at_most]))
    return f"line{'s' if len(lines) > 1 else ''} {head}{', ...' if len(lines) > at_most else ''}"


def _events(out: CsvTrack, table, cmap: CsvMap, values, alt, height, has_pos, has_fix,
            bad) -> None:
    """Fill ``out.events`` in file order."""
    t = table.time_ms
    sysid = cmap.sysid
    events = out.events
    lines = table.lines
    if table.utc:
        origin_ms = float(np.min(t[~bad]))
        t = t - origin_ms
        events.append((int(lines[~bad][0]), TimeSync(sysid, 0.0, round(origin_ms * 1000.0))))
    utc = table.values.get("utc")
    cols = [(cmap.values[c][0], v.tolist()) for c, v in values.items()]
    tl, latl, lonl = t.tolist(), table.values["lat"].tolist(), table.values["lon"].tolist()
    altl, hl, fixl = alt.tolist(), height.tolist(), has_fix.tolist()
    badl, linel = bad.tolist(), lines.tolist()
    utcl = utc.tolist() if utc is not None else None
    for i in range(len(tl)):
        if badl[i]:
            continue
        ti = tl[i]
        if utcl is not None and abs(utcl[i]) <= MAX_TIME_MS / 1000.0:  # NaN: False
            events.append((linel[i], TimeSync(sysid, ti, round(utcl[i] * 1e6))))
        if fixl[i]:
            ok = not (latl[i] == 0 and lonl[i] == 0)
            events.append((linel[i], Fix(sysid, ti, latl[i], lonl[i], altl[i], hl[i], ok)))
        for name, vals in cols:
            v = vals[i]
            if not math.isnan(v):
                events.append((linel[i], Reading(sysid, ti, name, v)))
