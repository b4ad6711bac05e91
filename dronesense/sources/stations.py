"""Hourly ground-station readings from CSV files, as AirKorea and the EEA publish them.

Two layouts are recognised from the header, and any other through a column map:

- **wide** (AirKorea, and most network exports): one row per station and hour, one column per
  pollutant. AirKorea's Korean headers (``측정소코드``, ``측정일시``, ``SO2``, ``CO``, ``O3``,
  ``NO2``, ``PM10``, ``PM25``) and its open-API names (``stationCode``/``stationName``,
  ``dataTime``, ``pm10Value``, ``pm25Value``, ``so2Value``, ...) are known. AirKorea times are
  the *end* of the hour in Korean time (``2025061409`` or ``2025-06-14 09:00``, hour ``24``
  for midnight); gases are in ppm and particles in ug/m3 unless ``units=`` says otherwise.
- **long** (EEA air-quality download service, E1a/E2a CSV): one row per sampling point,
  pollutant and hour with ``AirQualityStation``, ``AirPollutant``, ``Concentration``,
  ``UnitOfMeasurement``, ``DatetimeBegin`` (with its UTC offset).

Positions come from ``lat``/``lon`` (``latitude``/``longitude``, ``Latitude``/``Longitude``)
columns, or from ``positions=`` (a mapping or a CSV ``station_id,lat,lon``) since neither
agency puts them in the hourly files. Units are read through :mod:`dronesense.quantities`.

The result is an :class:`xarray.Dataset` (CF ``featureType = "timeSeries"``): dimensions
``station`` and ``time`` (UTC start of each hour, ``time_bounds`` to the end), coordinates
``station_id``, ``lat``, ``lon``, one variable per pollutant named by its quantity key
(``pm10``, ``pm2p5``, ``no2``, ...) in its units. Missing values (``-``, empty, negative
flags) are NaN.

Examples
--------
>>> text = ("stationCode,dataTime,lat,lon,pm10Value,pm25Value,o3Value\\n"
...         "111123,2025-06-14 09:00,37.57,126.99,41,22,0.031\\n")
>>> st = read_stations(io.StringIO(text))
>>> str(st.time.values[0])[:16], float(st.pm2p5[0, 0]), st.o3.attrs["units"]
('2025-06-13T23:00', 22.0, 'ppm')
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError, read_text
from dronesense.quantities import QUANTITIES, parse_units

__all__ = ["POLLUTANTS", "read_stations"]

#: pollutant column names (lower case, after removing ``value``) -> quantity key
POLLUTANTS = {"pm10": "pm10", "pm25": "pm2p5", "pm2.5": "pm2p5", "pm2p5": "pm2p5",
              "pm1": "pm1", "no2": "no2", "o3": "o3", "so2": "so2", "co": "co"}
#: AirKorea's units when a file does not say
AIRKOREA_UNITS = {"pm10": "ug m-3", "pm2p5": "ug m-3", "no2": "ppm", "o3": "ppm",
                  "so2": "ppm", "co": "ppm"}
_STATION = ("station_id", "station", "stationcode", "stationname", "측정소코드", "측정소명",
            "airqualitystation", "airqualitystationeoicode", "code", "id")
_TIME = ("time", "datatime", "측정일시", "datetime", "datetimebegin", "date")
_LAT = ("lat", "latitude")
_LON = ("lon", "longitude", "lng")
_MISSING = {"", "-", "na", "nan", "null", "none"}


def _find(header: list[str], names: tuple[str, ...], column: str | None) -> int | None:
    low = [h.strip().lower() for h in header]
    if column is not None:
        if column.lower() not in low:
            return None
        return low.index(column.lower())
    for n in names:
        if n in low:
            return low.index(n)
    return None


def _number(text: str) -> float:
    t = text.strip().lower()
    if t in _MISSING:
        return math.nan
    try:
        v = float(t)
    except ValueError:
        return math.nan
    return v if v >= 0 else math.nan  # negative values are the networks' missing codes


def _hour_start(text: str, *, hour_ending: bool, utc_offset: float, where: str) -> datetime:
    t = re.sub(r"\s+([+-]\d\d:?\d\d)$", r"\1", text.strip()).replace("Z", "+00:00")
    digits = re.sub(r"\D", "", t)
    try:
        if len(digits) in (10, 12) and not re.search(r"[-:T ]", t[:10]):
            day = datetime.strptime(digits[:8], "%Y%m%d")  # 2025061424: hour 24 allowed
            d = day + timedelta(hours=int(digits[8:10]), minutes=int(digits[10:12] or 0))
            d -= timedelta(hours=utc_offset)
        else:
            hour24 = re.search(r"[ T]24:00", t)  # AirKorea's "2025-06-14 24:00"
            d = datetime.fromisoformat(t.replace(hour24.group(0), " 00:00") if hour24 else t)
            if hour24:
                d += timedelta(days=1)
            if d.tzinfo is not None:
                d = (d - d.utcoffset()).replace(tzinfo=None)
            else:
                d -= timedelta(hours=utc_offset)
    except ValueError:
        raise InputError(f"{where}: cannot read the time {text!r}") from None
    if hour_ending:
        d -= timedelta(hours=1)
    return d


def _units_of(key: str, given: Mapping[str, str] | None, unit_text: str | None) -> str:
    text = (given or {}).get(key) or unit_text or AIRKOREA_UNITS.get(key) \
        or QUANTITIES[key].units
    text = text.replace("µ", "u").replace("³", "3").strip()
    if parse_units(text) is None:
        raise InputError(f"units {text!r} of {key} are not UDUNITS units")
    return text


def _positions(positions) -> dict[str, tuple[float, float]]:
    if positions is None:
        return {}
    if isinstance(positions, Mapping):
        return {str(k): (float(v[0]), float(v[1])) for k, v in positions.items()}
    rows = list(csv.reader(io.StringIO(read_text(positions, "station positions"))))
    if not rows:
        raise InputError("no station positions", path=positions)
    head = rows[0]
    i, la, lo = _find(head, _STATION, None), _find(head, _LAT, None), _find(head, _LON, None)
    if None in (i, la, lo):
        raise InputError("station positions need station_id, lat and lon columns",
                         path=positions)
    return {r[i].strip(): (_number(r[la]), _number(r[lo])) for r in rows[1:] if len(r) > lo}


def read_stations(path_or_file, *, positions=None, columns: Mapping[str, str] | None = None,
                  units: Mapping[str, str] | None = None, utc_offset: float | None = None,
                  hour_ending: bool | None = None) -> xr.Dataset:
    """Hourly station readings of a CSV file as a CF time-series Dataset.

    Parameters
    ----------
    path_or_file
        The CSV (a path, or an open text file).
    positions
        ``{station_id: (lat, lon)}`` or a CSV with ``station_id,lat,lon``, for files without
        position columns.
    columns
        Column names for ``station``, ``time``, ``lat``, ``lon`` when the header does not use
        a known name, and ``{pollutant column: quantity key}`` entries for others
        (``{"PM2.5 (ug/m3)": "pm2p5"}``).
    units
        Units per quantity key where the file does not say (default: AirKorea's, ppm for
        gases, ug/m3 for particles).
    utc_offset
        Hours the file's local times are ahead of UTC (default 9, Korean time, for wide
        files without an offset in the time; EEA times carry theirs).
    hour_ending
        Whether a time is the end of its hour (default: yes for wide files, as AirKorea;
        EEA's ``DatetimeBegin`` is the start).

    Raises
    ------
    InputError
        Unreadable file, no station or time column, a time that cannot be read, a station
        without a position.
    """
    name = getattr(path_or_file, "name", None) or "<stations>"
    text = path_or_file.read() if hasattr(path_or_file, "read") else read_text(path_or_file,
                                                                                "stations")
    where = str(name) if not isinstance(path_or_file, str | Path) else str(path_or_file)
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip()
                                                                             for c in r)]
    if len(rows) < 2:
        raise InputError("no station readings", path=where)
    head = rows[0]
    cols = dict(columns or {})
    low = [h.strip().lower() for h in head]
    long = "airpollutant" in low and "concentration" in low
    i_st = _find(head, _STATION, cols.pop("station", None))
    i_t = _find(head, _TIME, cols.pop("time", None))
    i_la = _find(head, _LAT, cols.pop("lat", None))
    i_lo = _find(head, _LON, cols.pop("lon", None))
    if i_st is None or i_t is None:
        raise InputError("no station id or time column (name them with columns=)",
                         path=where)
    if hour_ending is None:
        hour_ending = not long
    offset = 9.0 if utc_offset is None else float(utc_offset)
    pos = _positions(positions)
    values: dict[tuple[str, datetime, str], float] = {}
    unit_seen: dict[str, str] = {}
    if long:
        i_p, i_c = low.index("airpollutant"), low.index("concentration")
        i_u = low.index("unitofmeasurement") if "unitofmeasurement" in low else None
        i_v = low.index("validity") if "validity" in low else None
        pairs = []
    else:
        pairs = []
        for j, h in enumerate(head):
            key = cols.get(h) or POLLUTANTS.get(h.strip().lower().removesuffix("value"))
            if key is not None and j not in (i_st, i_t, i_la, i_lo):
                pairs.append((j, key))
        if not pairs:
            raise InputError("no pollutant columns (PM10, PM25, NO2, O3, SO2, CO, or "
                             "columns=)", path=where)
    for n, r in enumerate(rows[1:], start=2):
        if len(r) < len(head):
            raise InputError(f"line {n}: {len(r)} fields, the header has {len(head)}",
                             path=where)
        sid = r[i_st].strip()
        t = _hour_start(r[i_t], hour_ending=hour_ending, utc_offset=offset,
                        where=f"{where}: line {n}")
        if i_la is not None and i_lo is not None and sid not in pos:
            pos[sid] = (_number(r[i_la]), _number(r[i_lo]))
        if long:
            key = POLLUTANTS.get(r[i_p].strip().lower()) or cols.get(r[i_p].strip())
            if key is None or (i_v is not None and r[i_v].strip() not in ("1", "2", "3")):
                continue
            if i_u is not None and r[i_u].strip():
                unit_seen.setdefault(key, r[i_u].strip())
            values[(sid, t, key)] = _number(r[i_c])
        else:
            for j, key in pairs:
                values[(sid, t, key)] = _number(r[j])
    stations = sorted({k[0] for k in values})
    times = sorted({k[1] for k in values})
    keys = sorted({k[2] for k in values})
    lost = [s for s in stations if s not in pos or not all(map(math.isfinite, pos[s]))]
    if lost:
        raise InputError(f"no position for station {', '.join(lost[:5])} (give lat, lon columns "
                         "or the station positions)",
                         path=where)
    si = {s: i for i, s in enumerate(stations)}
    ti = {t: i for i, t in enumerate(times)}
    data = {k: np.full((len(stations), len(times)), np.nan) for k in keys}
    for (s, t, k), v in values.items():
        data[k][si[s], ti[t]] = v
    tt = np.array(times, dtype="datetime64[ns]")
    out = xr.Dataset(coords={
        "station_id": ("station", np.array(stations, dtype=object), {"cf_role": "timeseries_id"}),
        "lat": ("station", [pos[s][0] for s in stations], {"units": "degrees_north",
                                                            "standard_name": "latitude"}),
        "lon": ("station", [pos[s][1] for s in stations], {"units": "degrees_east",
                                                            "standard_name": "longitude"}),
        "time": ("time", tt, {"standard_name": "time", "bounds": "time_bounds",
                              "long_name": "start of the hour (UTC)"}),
        "time_bounds": (("time", "nv"), np.stack([tt, tt + np.timedelta64(1, "h")], axis=1)),
    })
    for k in keys:
        attrs = dict(QUANTITIES[k].attrs())
        attrs["units"] = _units_of(k, units, unit_seen.get(k))
        attrs["cell_methods"] = "time: mean"
        attrs["coordinates"] = "station_id lat lon"
        out[k] = xr.DataArray(data[k], dims=("station", "time"), attrs=attrs)
    out.attrs.update({"featureType": "timeSeries", "source": where,
                      "layout": "EEA long" if long else "wide (AirKorea)"})
    return out
