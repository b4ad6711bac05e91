"""A profile's lowest levels against the nearest ground station at the same hour.

:func:`compare_with_station` takes a profile (:func:`dronesense.products.profile.vertical_profile`)
and hourly station readings as a Dataset (dimensions ``station``, ``time``: what
:func:`dronesense.sources.stations.read_stations` gives; products never read files, the API
joins them), finds the station nearest to the profile and its hour holding the middle of the
flight, and adds to the profile, per quantity both have: the drone's value over the lowest
levels, the station's, their difference (drone minus station) and ratio (drone over station).
:func:`plot_station_comparison` draws the profile with the station's value at the ground.

Gas readings in mass concentration (EEA publishes ug/m3) and mole fractions (AirKorea's ppm,
the drone's ppb) are converted at the EU reference conditions for gases, 293.15 K and
1013.25 hPa (Directive 2008/50/EC, Annex VI).

Examples
--------
>>> round(float(distance_m(37.0, 127.0, 37.001, 127.0)), 1)
111.2
>>> round(float(to_units(np.array([40.0]), "ug m-3", "1e-9", "no2")[0]), 2)   # NO2 ug/m3 -> ppb
20.91
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.quantities import QUANTITIES, display_units, parse_units

__all__ = ["MOLAR_MASS", "compare_with_station", "distance_m", "plot_station_comparison",
           "to_units"]

#: molar masses (g/mol) of the gases stations report
MOLAR_MASS = {"no2": 46.0055, "o3": 47.997, "so2": 64.066, "co": 28.010, "ch4": 16.043,
              "co2": 44.009}
#: molar volume (L/mol) at the EU reference conditions for gases, 293.15 K and 101.325 kPa
MOLAR_VOLUME_EU = 8.314462618 * 293.15 / 101.325
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1, lon1, lat2, lon2):
    """Great-circle distance (m) between points in degrees (haversine, mean Earth radius)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def to_units(values: np.ndarray, have: str, want: str, key: str) -> np.ndarray:
    """``values`` in units ``have`` converted to ``want``; a gas between mass concentration
    and mole fraction at the EU reference conditions (:data:`MOLAR_VOLUME_EU`).

    Raises
    ------
    InputError
        Units that do not convert.
    """
    u_have, u_want = parse_units(have), parse_units(want)
    if u_have is None or u_want is None:
        raise InputError(f"{key}: cannot compare {have!r} with {want!r}")
    values = np.asarray(values, float)
    if u_have.is_convertible(u_want):
        return np.asarray(u_have.convert(values, u_want), float)
    mass = parse_units("kg m-3")
    if key in MOLAR_MASS and (u_have.is_convertible(mass) or u_want.is_convertible(mass)):
        # mole fraction = (C g/m3 / M g/mol) * Vm L/mol / 1000 L/m3
        per = MOLAR_VOLUME_EU / 1000.0 / MOLAR_MASS[key]
        if u_have.is_convertible(mass):
            gm3 = u_have.convert(values, parse_units("g m-3"))
            return np.asarray(parse_units("1").convert(gm3 * per, u_want), float)
        frac = u_have.convert(values, parse_units("1"))
        return np.asarray(parse_units("g m-3").convert(frac / per, u_want), float)
    raise InputError(f"{key}: cannot convert {have!r} to {want!r}")


def _lowest(profile: xr.Dataset, key: str, lowest: float) -> float:
    z_top = profile["z_bounds"].values[:, 1]
    n = profile[f"{key}_count"].values.astype(float) if f"{key}_count" in profile \
        else np.ones(profile.sizes["z"])
    v = profile[key].values
    use = (z_top <= lowest + 1e-9) & np.isfinite(v) & (n > 0)
    if not use.any():  # the lowest bin with data, however deep
        ok = np.flatnonzero(np.isfinite(v) & (n > 0))
        if not ok.size:
            return math.nan
        use = np.zeros(v.size, bool)
        use[ok[0]] = True
    return float(np.sum(v[use] * n[use]) / np.sum(n[use]))


def compare_with_station(profile: xr.Dataset, stations: xr.Dataset, *, lowest: float = 20.0,
                         max_distance: float | None = None) -> xr.Dataset:
    """The profile with the nearest station's readings of the same hour joined in.

    Parameters
    ----------
    profile
        A vertical profile product.
    stations
        Hourly station readings (``station``, ``time`` dimensions; ``time`` the start of the
        hour in UTC).
    lowest
        Depth (m) of the lowest levels compared: the bins whose top is at or below it (the
        lowest bin with data if none is), weighted by their readings.
    max_distance
        Farthest station (m) still compared (default: any).

    Returns
    -------
    xarray.Dataset
        The profile plus ``station_id``, ``station_distance`` (m), ``station_time`` and, per
        quantity in both, ``<q>_lowest``, ``<q>_station``, ``<q>_station_difference``,
        ``<q>_station_ratio`` (in the profile's units).

    Raises
    ------
    InputError
        No station within ``max_distance``, no station hour holding the flight, or no
        quantity in common.
    """
    if not (isinstance(lowest, int | float) and math.isfinite(lowest) and lowest > 0):
        raise ParameterError("lowest", f"must be a positive depth in metres, got {lowest!r}")
    d = distance_m(float(profile["lat"]), float(profile["lon"]),
                   np.asarray(stations["lat"].values, float),
                   np.asarray(stations["lon"].values, float))
    i = int(np.nanargmin(d))
    if max_distance is not None and d[i] > max_distance:
        raise InputError(f"the nearest station ({stations['station_id'].values[i]}) is "
                         f"{d[i] / 1000:.1f} km away, farther than {max_distance / 1000:g} km")
    t = np.datetime64(profile["time"].values, "ns")
    hours = stations["time"].values.astype("datetime64[ns]")
    j = np.flatnonzero((hours <= t) & (t < hours + np.timedelta64(1, "h")))
    if not j.size:
        raise InputError(f"the stations have no reading for the hour of the flight ({t})")
    j = int(j[0])
    out = profile.copy()
    sid = str(stations["station_id"].values[i])
    out["station_id"] = xr.DataArray(sid, attrs={"long_name": "nearest ground station"})
    out["station_distance"] = xr.DataArray(float(d[i]), attrs={
        "units": "m", "long_name": "distance from the profile to the station"})
    out["station_time"] = xr.DataArray(hours[j], attrs={
        "long_name": "start of the station's hour compared (UTC)"})
    common = [k for k in stations.data_vars if k in profile.data_vars and k in QUANTITIES]
    if not common:
        raise InputError(f"the station readings ({', '.join(map(str, stations.data_vars))}) "
                         "have no quantity of the profile")
    for k in common:
        units = profile[k].attrs.get("units", QUANTITIES[k].units)
        station = float(to_units(np.array([stations[k].values[i, j]]),
                                 stations[k].attrs.get("units", ""), units, k)[0])
        drone = _lowest(profile, k, float(lowest))
        base = {"units": units}
        out[f"{k}_lowest"] = xr.DataArray(drone, attrs={
            **base, "long_name": f"{k} over the lowest {lowest:g} m (drone)"})
        out[f"{k}_station"] = xr.DataArray(station, attrs={
            **base, "long_name": f"{k} at station {sid}, hour starting {hours[j]}"})
        out[f"{k}_station_difference"] = xr.DataArray(drone - station, attrs={
            **base, "long_name": f"{k}: drone minus station"})
        ratio = drone / station if station else math.nan
        out[f"{k}_station_ratio"] = xr.DataArray(ratio, attrs={
            "units": "1", "long_name": f"{k}: drone over station"})
    out.attrs["station_comparison"] = (f"nearest station {sid} at {d[i]:.0f} m, hour starting "
                                       f"{str(hours[j])[:16]}Z, lowest {lowest:g} m")
    return out


def plot_station_comparison(profile: xr.Dataset, quantity: str, ax=None):
    """The profile of ``quantity`` (mean and standard deviation per bin) with the station's
    value at the ground and the mixing-layer height; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if quantity not in profile:
        raise InputError(f"the profile has no {quantity}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 6))
    z = profile["z"].values
    v = profile[quantity].values
    units = profile[quantity].attrs.get("units", "")
    shown = display_units(units, quantity) if units else ""
    sd = profile[f"{quantity}_std"].values if f"{quantity}_std" in profile else None
    ax.plot(v, z, "o-", label="drone")
    if sd is not None:
        ax.fill_betweenx(z, v - sd, v + sd, alpha=0.25)
    if f"{quantity}_station" in profile:
        ax.plot([float(profile[f"{quantity}_station"])], [0.0], "s", ms=9,
                label=f"station {profile['station_id'].values}")
    mlh = float(profile["mixing_layer_height"]) if "mixing_layer_height" in profile else math.nan
    if math.isfinite(mlh):
        ax.axhline(mlh, ls="--", c="k", lw=1, label=f"mixing layer {mlh:.0f} m")
    ax.set_xlabel(f"{quantity} ({shown})" if shown else quantity)
    ax.set_ylabel("height above take-off (m)")
    ax.legend(loc="best", fontsize="small")
    return ax
