"""The WMO UAS Demonstration Campaign (UAS-DC) netCDF file of a flight's samples.

The campaign takes one netCDF file per flight, converts it to BUFR (FM 94, the WMO's
``uas2bufr.py`` converter, public in synoptic/wmo-uasdc) and shares it through WIS 2.0. The
converter reads variables by their names and the time origin from the ``units`` text, so the
file follows its templates exactly:

- file name ``UASDC_<operator>_<airframe>_<YYYYMMDDHHMMSS>Z.nc``: a 3-digit operator ID, a
  1-5 character alphanumeric airframe ID and the UTC of the first observation;
- one record per air-temperature reading with a position (dimension ``obs``): ``time`` as
  float seconds with ``units = "seconds since 1970-01-01T00:00:00"`` (the converter adds the
  numbers as seconds to the date and time it cuts out of that text), ``lat``, ``lon``,
  ``altitude`` (metres above mean sea level);
- ``air_temperature`` (K), ``air_pressure`` (Pa), ``relative_humidity`` (%): the readings,
  converted from the samples' units with UDUNITS (cf-units); pressure and humidity are
  linearly interpolated in time to each temperature reading from the readings just before and
  after it, at most ``max_interval_s`` apart; a temperature reading without them is left out,
  since the converter encodes a variable that holds any NaN as zeros (ecCodes 2.50);
  ``humidity_mixing_ratio`` (kg/kg, required by the campaign) and ``dew_point_temperature``
  (K) derived from them (:mod:`dronesense.products.moist_air`);
- global attributes ``Conventions = "CF-1.8, WMO-CF-1.0"``, ``wmo__cf_profile =
  "FM 303-2024"``, ``featureType = "trajectory"``, ``platform_name`` (the airframe ID),
  ``flight_id``, ``site_terrain_elevation_height`` and ``processing_level``, beside the
  ACDD discovery and coverage attributes of every dronesense product.

Examples
--------
>>> uasdc_filename("007", "AB123", "2025-06-14T08:00:00.201Z")
'UASDC_007_AB123_20250614080000Z.nc'
>>> FILENAME.match("UASDC_007_AB123_20250614080000Z.nc") is not None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.metadata import coverage, global_attributes
from dronesense.products.moist_air import dew_point, mixing_ratio
from dronesense.products.sample_series import (
    check_one_vehicle,
    converted,
    interpolate_in_time,
    quantity_series,
    quantity_variable,
    sample_times,
)

__all__ = ["CONVENTIONS", "FILENAME", "MEASURED", "PROCESSING_LEVELS", "PROFILE",
           "TIME_UNITS", "WMO_CF_PROFILE", "check_ids", "describe", "to_wmo_uasdc",
           "uasdc_filename", "write_wmo_uasdc"]

#: the name of the profile (``dronesense export --profile``)
PROFILE = "wmo-uasdc"
#: the global attributes every UAS-DC file carries alike
CONVENTIONS = "CF-1.8, WMO-CF-1.0"
WMO_CF_PROFILE = "FM 303-2024"
#: ARM data levels the campaign accepts: a1 calibrated, in geophysical units; b1 quality
#: controlled; c1 derived (value added)
PROCESSING_LEVELS = ("a1", "b1", "c1")
#: the time encoding the converter parses
TIME_UNITS = "seconds since 1970-01-01T00:00:00"
#: the name the converter's file-name check accepts
FILENAME = re.compile(r"^UASDC_(\d{3})_([A-Za-z0-9]{1,5})_(\d{14})Z\.nc$")
#: quantity key -> (variable, units, CF standard name, long name) of the measured variables
MEASURED = {
    "temperature": ("air_temperature", "K", "air_temperature", "Air Temperature"),
    "pressure": ("air_pressure", "Pa", "air_pressure", "Air Pressure"),
    "humidity": ("relative_humidity", "%", "relative_humidity", "Relative Humidity"),
}
_COORDS = "time lat lon altitude"


# ---------------------------------------------------------------------------------------------
# parameters


def _operator(operator) -> str:
    if isinstance(operator, int) and not isinstance(operator, bool) and 0 <= operator <= 999:
        return f"{operator:03d}"
    if isinstance(operator, str) and re.fullmatch(r"\d{3}", operator):
        return operator
    got = "none given" if operator is None else f"got {operator!r}"
    raise ParameterError("operator", "the 3-digit operator ID the campaign assigned is "
                         f"needed, e.g. '007' ({got})")


def _airframe(airframe) -> str:
    if isinstance(airframe, str) and re.fullmatch(r"[A-Za-z0-9]{1,5}", airframe):
        return airframe
    got = "none given" if airframe is None else f"got {airframe!r}"
    raise ParameterError("airframe", "the airframe ID of 1 to 5 letters or digits is needed, "
                         f"e.g. 'AB123' ({got})")


def check_ids(operator, airframe) -> tuple[str, str]:
    """The operator and airframe IDs as the file name spells them, or a
    :class:`~dronesense.errors.ParameterError` naming the one the campaign does not accept.

    Examples
    --------
    >>> check_ids(7, "AB123")
    ('007', 'AB123')
    >>> check_ids("007", "AB-12")
    Traceback (most recent call last):
    ...
    dronesense.errors.ParameterError: airframe: the airframe ID of 1 to 5 letters or digits \
is needed, e.g. 'AB123' (got 'AB-12')
    """
    return _operator(operator), _airframe(airframe)


def _stamp(start) -> str:
    t = np.datetime64(str(start).rstrip("Z").replace(" ", "T"), "s")
    if np.isnat(t):
        raise ValueError("the start of the flight is not a time")
    return str(t).replace("-", "").replace(":", "").replace("T", "")


def uasdc_filename(operator: str | int, airframe: str, start) -> str:
    """The campaign's file name of a flight: ``UASDC_<operator>_<airframe>_<start>Z.nc``.

    Parameters
    ----------
    operator
        The 3-digit operator ID the campaign assigned (``"007"``, or ``7``).
    airframe
        The operator's airframe ID: 1 to 5 letters or digits.
    start
        UTC of the first observation (``numpy.datetime64`` or ISO 8601 text); whole seconds.

    Raises
    ------
    ParameterError
        For an operator or airframe ID the campaign does not accept.

    Examples
    --------
    >>> uasdc_filename(7, "X1", np.datetime64("2024-02-15T22:00:59.9"))
    'UASDC_007_X1_20240215220059Z.nc'
    """
    return f"UASDC_{_operator(operator)}_{_airframe(airframe)}_{_stamp(start)}Z.nc"


# ---------------------------------------------------------------------------------------------
# the profile


def _measured(data: np.ndarray, key: str, comment: str = "") -> tuple:
    name, units, standard, long_name = MEASURED[key]
    attrs = {"standard_name": standard, "long_name": long_name, "units": units,
             "coordinates": _COORDS, "coverage_content_type": "physicalMeasurement"}
    if comment:
        attrs["comment"] = comment
    return name, ("obs", data, attrs)


def to_wmo_uasdc(samples, *, operator: str | int, airframe: str, flight_id: str | None = None,
                 processing_level: str = "a1", max_interval_s: float = 2.0, history: str = "",
                 environ: Mapping[str, str] | None = None):
    """A flight's samples as the WMO UAS-DC netCDF profile (an :class:`xarray.Dataset`).

    Parameters
    ----------
    samples : xarray.Dataset
        The samples of one vehicle (:func:`dronesense.read_samples`) with ``temperature``,
        ``pressure`` and ``humidity`` (relative) readings in any units UDUNITS converts.
    operator
        The 3-digit operator ID the campaign assigned (``"007"``).
    airframe
        The airframe ID: 1 to 5 letters or digits; also the ``platform_name``.
    flight_id
        The ``flight_id`` attribute; default ``<airframe>_<YYYYMMDDHHMMSS>Z`` of the start.
    processing_level
        ``a1`` (calibrated, geophysical units: what dronesense makes), ``b1`` (quality
        controlled) or ``c1`` (derived).
    max_interval_s
        Longest time between the two pressure (or humidity) readings a temperature reading
        is interpolated between.
    history
        The ``history`` attribute (default: the samples' history and this export).
    environ
        Where the creator attributes come from (:func:`dronesense.metadata.creator`).

    Returns
    -------
    xarray.Dataset
        Dimension ``obs``, one record per temperature reading with a time, a position and
        pressure and humidity readings around it, in time order (the ``comment`` attribute
        counts the readings left out).

    Raises
    ------
    InputError
        Temperature, pressure or humidity missing among the samples (one line naming which),
        units that do not convert, samples of several vehicles.
    NoUsableDataError
        No temperature reading with a position and a UTC time.
    ParameterError
        An operator, airframe, processing level or interval the campaign cannot use.

    Examples
    --------
    >>> from dronesense.flight.rows import SampleRow
    >>> def row(ms, q, v, units):
    ...     return SampleRow(f"2025-06-14T08:00:0{ms // 1000}.{ms % 1000:03d}000Z", ms, 0, 1,
    ...                      45.0, 9.0, 150.0, 42.0, q, q, v, units, 0.1, 0, "sync")
    >>> from dronesense.samples.dataset import to_dataset
    >>> samples = to_dataset([row(1000, "temperature", 10.0, "degC"),
    ...                       row(500, "pressure", 990.0, "hPa"),
    ...                       row(1500, "pressure", 992.0, "hPa"),
    ...                       row(1000, "humidity", 80.0, "percent")])
    >>> wmo = to_wmo_uasdc(samples, operator="007", airframe="AB123")
    >>> [float(wmo[v][0]) for v in ("air_temperature", "air_pressure", "relative_humidity")]
    [283.15, 99100.0, 80.0]
    >>> float(wmo["time"][0]), wmo["time"].attrs["units"], wmo.attrs["flight_id"]
    (1749888001.0, 'seconds since 1970-01-01T00:00:00', 'AB123_20250614080001Z')
    >>> wmo.attrs["site_terrain_elevation_height"]
    '108m'
    """
    import xarray as xr

    operator, airframe = check_ids(operator, airframe)
    if processing_level not in PROCESSING_LEVELS:
        raise ParameterError("processing_level", f"one of {', '.join(PROCESSING_LEVELS)}, "
                             f"got {processing_level!r}")
    if not isinstance(max_interval_s, int | float) or not math.isfinite(max_interval_s) \
            or max_interval_s < 0:
        raise ParameterError("max_interval_s", "must be a number of seconds >= 0, got "
                             f"{max_interval_s!r}")
    found = {k: quantity_variable(samples, k, MEASURED[k][2]) for k in MEASURED}
    missing = [k for k, var in found.items() if var is None]
    if missing:
        present = ", ".join(v for v in samples.data_vars
                            if "ancillary_variables" in samples[v].attrs) or "none"
        raise InputError(f"no {' and no '.join(missing)} among the samples (the WMO UAS-DC "
                         f"profile needs temperature, pressure and humidity; present: "
                         f"{present})")
    check_one_vehicle(samples, "a UAS-DC file is one airframe's flight, select one vehicle "
                      "first")
    times = sample_times(samples)
    temperature = converted(found["temperature"], "K", "temperature")
    lat, lon, alt = (samples[c].values.astype(float) for c in ("lat", "lon", "altitude"))
    ok = (np.isfinite(temperature) & ~np.isnat(times) & np.isfinite(lat) & np.isfinite(lon)
          & np.isfinite(alt))
    if "flag" in samples.variables:
        ok &= samples["flag"].values == 0
    if not ok.any():
        raise NoUsableDataError("no temperature reading has both a position and a UTC time")
    rec = np.flatnonzero(ok)[np.argsort(times[ok], kind="stable")]
    t_rec = times[rec]
    t_ns = t_rec.astype(np.int64)
    limit = round(max_interval_s * 1e9)
    pressure, humidity = (
        interpolate_in_time(t_ns, *quantity_series(samples, found[k], MEASURED[k][1], k, times),
                            max_interval_ns=limit) for k in ("pressure", "humidity"))
    t_c = temperature[rec] - 273.15
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = mixing_ratio(t_c, humidity, pressure / 100.0)
        dew = dew_point(t_c, humidity) + 273.15
    # the converter encodes a variable holding any NaN as zeros: complete records only
    keep = np.isfinite(pressure) & np.isfinite(humidity) & np.isfinite(ratio) & np.isfinite(dew)
    if not keep.any():
        raise NoUsableDataError("no air temperature reading has pressure and humidity readings "
                                f"around it (at most {max_interval_s:g} s apart)")
    left_out = int((~keep).sum())
    rec, t_rec, t_ns = rec[keep], t_rec[keep], t_ns[keep]
    pressure, humidity, ratio, dew = pressure[keep], humidity[keep], ratio[keep], dew[keep]
    stamp = _stamp(t_rec[0])
    interp = (f"linearly interpolated in time to the air temperature readings from the "
              f"readings just before and after (at most {max_interval_s:g} s apart)")
    derived = ("derived from air_temperature, relative_humidity and air_pressure (WMO-No. 8, "
               "Annex 4.B: saturation over water, enhancement factor)")
    seconds = t_ns.astype(float) / 1e9
    # float seconds lose nothing that matters: a double near 1.7e9 s resolves 0.24 us
    data_vars = dict([
        _measured(temperature[rec], "temperature"),
        _measured(pressure, "pressure", interp),
        _measured(humidity, "humidity", interp),
    ])
    data_vars["humidity_mixing_ratio"] = ("obs", ratio, {
        "standard_name": "humidity_mixing_ratio", "long_name": "Humidity Mixing Ratio",
        "units": "kg/kg", "coordinates": _COORDS, "comment": derived,
        "coverage_content_type": "physicalMeasurement"})
    data_vars["dew_point_temperature"] = ("obs", dew, {
        "standard_name": "dew_point_temperature", "long_name": "Dew Point Temperature",
        "units": "K", "coordinates": _COORDS, "comment": derived,
        "coverage_content_type": "physicalMeasurement"})
    flight = flight_id if flight_id else f"{airframe}_{stamp}Z"
    data_vars["trajectory"] = ((), flight, {
        "cf_role": "trajectory_id", "long_name": "flight identifier"})
    coords = {
        "time": ("obs", seconds, {"standard_name": "time", "long_name": "Time",
                                  "units": TIME_UNITS, "calendar": "standard", "axis": "T",
                                  "coverage_content_type": "coordinate"}),
        "lat": ("obs", lat[rec], {"standard_name": "latitude", "long_name": "Latitude",
                                  "units": "degrees_north",
                                  "coverage_content_type": "coordinate"}),
        "lon": ("obs", lon[rec], {"standard_name": "longitude", "long_name": "Longitude",
                                  "units": "degrees_east", "coverage_content_type": "coordinate"}),
        "altitude": ("obs", alt[rec], {
            "standard_name": "altitude", "long_name": "Altitude above mean sea level",
            "units": "m", "positive": "up", "axis": "Z", "coverage_content_type": "coordinate"}),
    }
    ds = xr.Dataset({**coords, **data_vars}).set_coords(list(coords))
    if not history:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        earlier = str(samples.attrs.get("history", "")).strip()
        history = (earlier + "\n" if earlier else "") + f"{now} dronesense export {PROFILE}"
    attrs = global_attributes(
        title=f"UAS-DC observations of airframe {airframe}, flight {flight}",
        summary="Air temperature, pressure and humidity measured by an uncrewed aircraft "
                "along its flight, for the WMO UAS Demonstration Campaign (netCDF profile "
                f"{WMO_CF_PROFILE}, converted to BUFR by the campaign).",
        keywords=["air_temperature", "air_pressure", "relative_humidity",
                  "humidity_mixing_ratio", "uncrewed aircraft", "WMO UAS-DC"],
        history=history, source=str(samples.attrs.get("source", "")), environ=environ,
        Conventions=CONVENTIONS, featureType="trajectory", wmo__cf_profile=WMO_CF_PROFILE,
        platform_name=airframe, flight_id=flight, processing_level=processing_level)
    if "height" in samples.variables:
        ground = alt[rec] - samples["height"].values.astype(float)[rec]
        ground = ground[np.isfinite(ground)]
        if ground.size:
            attrs["site_terrain_elevation_height"] = f"{float(np.median(ground)):.0f}m"
    if left_out:
        attrs["comment"] = (f"{left_out} of {left_out + rec.size} air temperature readings with "
                            "a position left out: no pressure or humidity readings around them "
                            f"at most {max_interval_s:g} s apart")
    attrs.update(coverage(lat=lat[rec], lon=lon[rec], altitude=alt[rec], time=t_rec))
    ds.attrs.update(attrs)
    return ds


def write_wmo_uasdc(samples, directory: str | Path, *, operator: str | int, airframe: str,
                    **options) -> Path:
    """Write a flight's samples as the UAS-DC netCDF file into ``directory`` (made if need
    be) under the campaign's file name; returns its path.

    ``options`` are those of :func:`to_wmo_uasdc` (``flight_id``, ``processing_level``,
    ``max_interval_s``, ``history``, ``environ``). The file is netCDF-4 like the campaign's
    templates; the flight identifier is a character array (no variable-length strings).

    Raises
    ------
    InputError
        As :func:`to_wmo_uasdc`, or when ``directory`` is a file or cannot be written.
    """
    wmo = to_wmo_uasdc(samples, operator=operator, airframe=airframe, **options)
    return write_uasdc_dataset(wmo, directory, operator=operator, airframe=airframe)


def write_uasdc_dataset(wmo, directory: str | Path, *, operator: str | int,
                        airframe: str) -> Path:
    """Write a :func:`to_wmo_uasdc` Dataset into ``directory`` under the campaign's file
    name (:func:`uasdc_filename` of its first record); returns the path."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError("is a file: the UAS-DC profile writes its own file name into a "
                         "directory", path=directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot make the directory ({err.strerror or err})",
                         path=directory) from None
    start = np.datetime64(round(float(wmo["time"][0]) * 1e6), "us")
    path = directory / uasdc_filename(operator, airframe, start)
    encoding = {name: {"_FillValue": None} for name in ("time", "lat", "lon", "altitude")}
    encoding.update({name: {"_FillValue": np.nan, "dtype": "float64"}
                     for name in wmo.data_vars if name != "trajectory"})
    encoding["trajectory"] = {"dtype": "S1"}
    wmo = wmo.assign(trajectory=wmo["trajectory"].astype("S"))
    try:
        wmo.to_netcdf(path, format="NETCDF4", encoding=encoding)
    except OSError as err:
        raise InputError(f"cannot write ({err.strerror or err})", path=path) from None
    return path


def describe(wmo) -> str:
    """One line about a UAS-DC file (a path) or Dataset: records, time, altitudes, and the
    readings left out (its ``comment``).

    Examples
    --------
    >>> import xarray as xr
    >>> wmo = xr.Dataset(coords={"time": ("obs", [1749888000.0, 1749888061.0]),
    ...                          "altitude": ("obs", [108.0, 150.0])},
    ...                  attrs={"comment": "1 of 3 air temperature readings left out"})
    >>> describe(wmo)
    '2 records, 2025-06-14T08:00:00Z to 08:01:01Z, 108 to 150 m AMSL; 1 of 3 air temperature \
readings left out'
    """
    import xarray as xr

    ds = xr.open_dataset(wmo, decode_times=False) if isinstance(wmo, str | Path) else wmo
    with ds:
        n = int(ds.sizes.get("obs", 0))
        if not n:
            return "0 records"
        t = (np.asarray(ds["time"].values, dtype=float) * 1e6).astype("int64").astype(
            "datetime64[us]").astype("datetime64[s]")
        start, end = str(t.min()), str(t.max())
        end = end[11:] if end[:10] == start[:10] else end
        alt = np.asarray(ds["altitude"].values, dtype=float)
        comment = str(ds.attrs.get("comment", ""))
        return (f"{n} records, {start}Z to {end}Z, {np.nanmin(alt):.0f} to {np.nanmax(alt):.0f} "
                f"m AMSL" + (f"; {comment}" if comment else ""))
