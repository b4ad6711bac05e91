"""Profile features for air-quality forecasting: one tidy row per flight, folds by day.

Forecasting models (LSTM and the like) fed with ground-station series gain from what the
column above the station looked like. :func:`profile_features` turns the vertical profiles of
many flights (:func:`dronesense.products.profile.vertical_profile`, with the nearest station
joined in by :func:`dronesense.products.profile_station.compare_with_station` where there is
one) into one table along ``flight``: the station hour the flight belongs to, the
mixing-layer height and its uncertainty, the inversion, and per quantity the column mean,
the means below and above the mixing layer, the vertical gradient, the lowest levels and the
station's value. :func:`day_folds` assigns blocked cross-validation folds: whole days, in
time order, so that a model validated on a fold never saw another flight of the same day.

Examples
--------
>>> t = np.array(["2025-06-14T08", "2025-06-14T15", "2025-06-15T08", "2025-06-16T09",
...               "2025-06-17T08"], "M8[ns]")
>>> day_folds(t, 2).tolist()
[0, 0, 0, 1, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.metadata import global_attributes

__all__ = ["day_folds", "profile_features", "write_features"]

_SCALARS = ("mixing_layer_height", "mixing_layer_height_uncertainty", "inversion_strength",
            "inversion_base", "inversion_top", "station_distance")


def day_folds(times: np.ndarray, n_folds: int = 5) -> np.ndarray:
    """Blocked cross-validation fold of each time: the UTC days in order, split into
    ``n_folds`` contiguous blocks of (nearly) equal numbers of days; fewer folds when there
    are fewer days."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ParameterError("n_folds", f"must be a whole number >= 2, got {n_folds!r}")
    days = np.asarray(times).astype("datetime64[D]")
    unique = np.unique(days[~np.isnat(days)])
    k = min(n_folds, unique.size) or 1
    fold_of_day = {d: (i * k) // unique.size for i, d in enumerate(unique)}
    return np.array([fold_of_day.get(d, -1) for d in days], dtype="int32")


def _layer_means(profile: xr.Dataset, key: str, mlh: float) -> tuple[float, float, float]:
    z = profile["z"].values
    v = profile[key].values
    ok = np.isfinite(v)
    below = float(np.mean(v[ok & (z < mlh)])) if math.isfinite(mlh) and (ok & (z < mlh)).any() \
        else math.nan
    above = float(np.mean(v[ok & (z > mlh)])) if math.isfinite(mlh) and (ok & (z > mlh)).any() \
        else math.nan
    slope = float(np.polyfit(z[ok], v[ok], 1)[0]) if ok.sum() >= 2 else math.nan
    return below, above, slope


def profile_features(profiles: Sequence[xr.Dataset], *, quantities: Sequence[str] | None = None,
                     n_folds: int = 5, history: str = "") -> xr.Dataset:
    """The features of many flights' profiles as one table along ``flight``, time ordered.

    Parameters
    ----------
    profiles
        Vertical profile products, one per flight (with station comparisons or not).
    quantities
        Quantities to describe (default: those with a column mean in every profile).
    n_folds
        Blocked cross-validation folds by day (``fold`` variable).

    Returns
    -------
    xarray.Dataset
        Along ``flight``: ``time`` (middle of the flight), ``station_hour`` (start of the
        station hour: the compared one, else the hour holding the flight), ``fold``, the
        column scalars (mixing layer, inversion, station distance) and per quantity
        ``<q>_column_mean``, ``<q>_below_mixing_layer``, ``<q>_above_mixing_layer``,
        ``<q>_gradient`` (units per metre), ``<q>_lowest``, ``<q>_station``.

    Raises
    ------
    InputError
        No profile, or no quantity in every profile.
    """
    profiles = list(profiles)
    if not profiles:
        raise InputError("no profiles to make features of")
    profiles.sort(key=lambda p: np.datetime64(p["time"].values, "ns"))
    if quantities is None:
        sets = [{k.removesuffix("_column_mean") for k in p.data_vars
                 if k.endswith("_column_mean")} for p in profiles]
        quantities = sorted(set.intersection(*sets))
    quantities = list(quantities)
    if not quantities:
        raise InputError("the profiles have no quantity in common")
    n = len(profiles)
    times = np.array([np.datetime64(p["time"].values, "ns") for p in profiles])
    hours = np.array([np.datetime64(p["station_time"].values, "ns") if "station_time" in p
                      else np.datetime64(p["time"].values, "h").astype("datetime64[ns]")
                      for p in profiles])
    data: dict[str, tuple] = {
        "flight_id": ("flight", np.array([f"{p['profile_id'].values}@{str(t)[:19]}Z"
                                          for p, t in zip(profiles, times, strict=True)],
                                         dtype=object)),
        "station_hour": ("flight", hours, {"long_name": "start of the station hour (UTC)"}),
        "fold": ("flight", day_folds(times, n_folds), {
            "long_name": "blocked cross-validation fold (whole UTC days in time order)"}),
        "station_id": ("flight", np.array([str(p["station_id"].values) if "station_id" in p
                                           else "" for p in profiles], dtype=object)),
    }
    for name in _SCALARS:
        attrs = next((dict(p[name].attrs) for p in profiles if name in p), None)
        if attrs is None:
            continue
        data[name] = ("flight", np.array([float(p[name]) if name in p else math.nan
                                          for p in profiles]), attrs)
    for k in quantities:
        units = next((p[k].attrs.get("units", "") for p in profiles if k in p), "")
        cols = {f"{k}_column_mean": [], f"{k}_below_mixing_layer": [],
                f"{k}_above_mixing_layer": [], f"{k}_gradient": [], f"{k}_lowest": [],
                f"{k}_station": []}
        for p in profiles:
            mlh = float(p["mixing_layer_height"]) if "mixing_layer_height" in p else math.nan
            below, above, slope = _layer_means(p, k, mlh) if k in p else (math.nan,) * 3
            cols[f"{k}_column_mean"].append(float(p[f"{k}_column_mean"])
                                            if f"{k}_column_mean" in p else math.nan)
            cols[f"{k}_below_mixing_layer"].append(below)
            cols[f"{k}_above_mixing_layer"].append(above)
            cols[f"{k}_gradient"].append(slope)
            lowest = p[k].values[np.isfinite(p[k].values)][:1] if k in p else []
            cols[f"{k}_lowest"].append(float(p[f"{k}_lowest"]) if f"{k}_lowest" in p
                                       else float(lowest[0]) if len(lowest) else math.nan)
            cols[f"{k}_station"].append(float(p[f"{k}_station"]) if f"{k}_station" in p
                                        else math.nan)
        for name, values in cols.items():
            u = f"({units}) m-1" if name.endswith("_gradient") and units else units
            data[name] = ("flight", np.array(values, float), {"units": u})
    ds = xr.Dataset(data, coords={"time": ("flight", times, {
        "standard_name": "time", "long_name": "middle of the flight"})})
    ds.attrs.update(global_attributes(
        title="dronesense profile features",
        summary=f"Vertical-profile features of {n} flights aligned to station hours, with "
                "blocked cross-validation folds by day, for air-quality forecasting.",
        keywords=["forecasting features", "vertical profile", "mixing layer", *quantities],
        history=history, n_folds=int(ds["fold"].max()) + 1 if n else 0,
        source="; ".join(str(p.attrs.get("source", "")) for p in profiles)))
    return ds


def write_features(features: xr.Dataset, path: str | Path) -> Path:
    """Write the features table as netCDF (``.nc``) or Zarr (``.zarr``)."""
    path = Path(path)
    out = features.copy()
    for name in ("flight_id", "station_id"):
        if name in out:
            out[name] = out[name].astype(str)
    try:
        if path.suffix == ".nc":
            out.to_netcdf(path)
        elif path.suffix == ".zarr":
            out.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
        else:
            raise InputError("features are written to .nc or .zarr", path=path)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return path
