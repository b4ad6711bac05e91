"""The content of a flight report: what each product contributes, as plain JSON-ready dicts.

A product is an ``xarray.Dataset`` as dronesense writes it: paired samples (a CF trajectory,
``featureType = "trajectory"``), a 3D grid (dims ``z, y, x``) or a flux result (the curtain
netCDF of :func:`~dronesense.products.flux.io.write_flux`, with ``emission_rate``; several
curtains or a box's walls as groups, :func:`flux_groups`).
:func:`product_kind` tells them apart; :func:`samples_part`, :func:`grid_part` and
:func:`flux_part` turn each into what the page draws; :func:`provenance` says where it came
from (``history``, ``source``, version, ``id``).

Examples
--------
>>> import numpy as np, xarray as xr
>>> s = xr.Dataset({"ch4": ("obs", [1.9, 2.1], {"units": "1e-6"})},
...                coords={"lat": ("obs", [50.0, 50.001]), "lon": ("obs", [7.0, 7.0]),
...                        "height": ("obs", [20.0, 20.0]),
...                        "time": ("obs", np.array(["2025-06-14T08:00:00",
...                                                  "2025-06-14T08:00:01"], "M8[us]"))},
...                attrs={"featureType": "trajectory", "history": "made by hand"})
>>> product_kind(s)
'samples'
>>> part = samples_part(s)
>>> part["quantities"], part["units"], part["t"], part["start"]
(['ch4'], {'ch4': 'ppm'}, [0.0, 1.0], '2025-06-14T08:00:00Z')
>>> provenance(s, "s.nc")["history"]
'made by hand'
"""

from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.gridding.reportederror import reported_error
from dronesense.quantities import display_units

__all__ = ["flag_notes", "flux_groups", "flux_part", "grid_part", "product_kind", "provenance",
           "samples_part"]

#: At most this many samples go into a report (evenly thinned beyond).
MAX_SAMPLES = 40_000
#: At most this many grid cells go into a report (the grid is refused beyond: slice it first).
MAX_CELLS = 2_000_000
_COORDS = {"lat", "lon", "height", "altitude", "time", "time_boot_ms", "sysid", "boot",
           "position_gap"}


def product_kind(ds: xr.Dataset) -> str:
    """``"samples"``, ``"grid"`` or ``"flux"``.

    Raises
    ------
    InputError
        If the Dataset is none of them.
    """
    if "emission_rate" in ds.attrs or "flux_density" in ds.variables:
        return "flux"
    if {"z", "y", "x"} <= set(ds.dims):
        return "grid"
    if str(ds.attrs.get("featureType", "")).lower() == "trajectory" or "obs" in ds.dims:
        return "samples"
    raise InputError("not a dronesense samples, grid or flux product (no trajectory, no "
                     "z/y/x grid, no emission_rate)")


def _num(a, digits: int = 6) -> list:
    """Floats rounded to ``digits`` significant digits; NaN as None (JSON null)."""
    out = []
    for v in np.asarray(a, dtype=float).ravel().tolist():
        if not math.isfinite(v):
            out.append(None)
        elif v == 0:
            out.append(0.0)
        else:
            out.append(round(v, digits - 1 - math.floor(math.log10(abs(v)))))
    return out


def _iso(t) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "us"), unit="s")) + "Z"


def samples_part(ds: xr.Dataset) -> dict:
    """Positioned samples: time (s from the start), lat, lon, height and one array per
    quantity, with display units."""
    lat = np.asarray(ds["lat"].values, float)
    lon = np.asarray(ds["lon"].values, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if "flag" in ds:
        ok &= np.asarray(ds["flag"].values) == 0
    idx = np.flatnonzero(ok)
    if idx.size > MAX_SAMPLES:
        idx = idx[np.linspace(0, idx.size - 1, MAX_SAMPLES).astype(int)]
    quantities = [str(k) for k, v in ds.data_vars.items()
                  if k not in _COORDS and v.dims == ("obs",) and v.dtype.kind == "f"]
    start = None
    t = np.zeros(idx.size)
    if "time" in ds.variables and idx.size and ds["time"].dtype.kind == "M":
        times = ds["time"].values[idx]
        start = times[~np.isnat(times)].min() if (~np.isnat(times)).any() else None
        if start is not None:
            t = (times - start) / np.timedelta64(1, "s")
    height = ds["height"].values[idx] if "height" in ds.variables else np.full(idx.size, np.nan)
    return {
        "start": None if start is None else _iso(start),
        "t": _num(t, 9), "lat": _num(lat[idx], 10), "lon": _num(lon[idx], 10),
        "height": _num(height, 5),
        "quantities": quantities,
        "units": {q: display_units(ds[q].attrs.get("units", ""), q) for q in quantities},
        "long_names": {q: str(ds[q].attrs.get("long_name", q)) for q in quantities},
        "values": {q: _num(ds[q].values[idx], 10) for q in quantities},
        "count": int(idx.size),
        "total": int(lat.size),
        "notes": flag_notes(ds),
    }


#: What the operator should read about samples that carry a flag other than 0.
_FLAG_TEXT = {
    "position_gap": "GPS gap: {n} reading(s) between fixes too far apart (not placed)",
    "before_track": "{n} reading(s) before the first position fix",
    "after_track": "{n} reading(s) after the last position fix",
    "no_gps_fix": "GPS loss: {n} reading(s) without GPS fix (not placed)",
    "reboot": "reboot: {n} reading(s) cut off by an autopilot reboot",
    "out_of_range": "{n} reading(s) outside the plausible range of their quantity",
}


def flag_notes(ds: xr.Dataset) -> list[str]:
    """One line per pairing flag present (GPS loss, reboot, ...), from ``flag_meanings``.

    >>> ds = xr.Dataset({"flag": ("obs", np.array([0, 4, 4], "i1"),
    ...                  {"flag_values": [0, 4], "flag_meanings": "paired no_gps_fix"})})
    >>> flag_notes(ds)
    ['GPS loss: 2 reading(s) without GPS fix (not placed)']
    """
    if "flag" not in ds:
        return []
    values = list(np.atleast_1d(ds["flag"].attrs.get("flag_values", [])))
    meanings = str(ds["flag"].attrs.get("flag_meanings", "")).split()
    flags, counts = np.unique(np.asarray(ds["flag"].values), return_counts=True)
    out = []
    for f, n in zip(flags.tolist(), counts.tolist(), strict=True):
        if f == 0:
            continue
        meaning = meanings[values.index(f)] if f in values and values.index(f) < len(
            meanings) else f"flag {f}"
        out.append(_FLAG_TEXT.get(meaning, meaning.replace("_", " ") + ": {n} reading(s)")
                   .format(n=n))
    return out


def _grid_quantity(ds: xr.Dataset) -> str:
    for name, v in ds.data_vars.items():
        if v.dims == ("z", "y", "x") and not name.endswith("_std") \
                and name != "number_of_observations":
            return str(name)
    raise InputError("the grid holds no (z, y, x) quantity")


def grid_part(ds: xr.Dataset) -> dict:
    """A grid's quantity on its levels (z, y, x nested lists), spread and counts, the
    origin of x/y, the cross-validation scores, the profile of level means."""
    q = _grid_quantity(ds)
    values = np.asarray(ds[q].values, float)
    if values.size > MAX_CELLS:
        raise InputError(f"the grid has {values.size} cells, more than a report takes "
                         f"({MAX_CELLS}); select a region or coarser spacing first")
    spec = {}
    try:
        spec = json.loads(ds.attrs.get("dronesense_grid_spec", "{}"))
    except ValueError:
        pass
    origin = spec.get("origin")
    units = ds[q].attrs.get("units", "")
    with np.errstate(all="ignore"):
        profile = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=(1, 2)) \
            if np.isfinite(values).any() else np.full(values.shape[0], np.nan)
    count = (np.asarray(ds["number_of_observations"].values)
             if "number_of_observations" in ds else None)
    rmse = ds[q].attrs.get("cross_validation_rmse", ds.attrs.get("cross_validation_rmse"))
    error, error_how = reported_error(
        ds[q].attrs if "estimated_grid_rmse" in ds[q].attrs else ds.attrs)
    return {
        "quantity": q, "long_name": str(ds[q].attrs.get("long_name", q)),
        "units": display_units(units, q),
        "x": _num(ds["x"].values), "y": _num(ds["y"].values), "z": _num(ds["z"].values),
        "z_name": str(ds["z"].attrs.get("long_name", "height")),
        "origin": None if origin is None else [float(origin[0]), float(origin[1])],
        "values": _num(values), "shape": list(values.shape),
        "std": _num(ds[f"{q}_std"].values) if f"{q}_std" in ds else None,
        "count": None if count is None else count.ravel().astype(int).tolist(),
        "profile": _num(profile),
        "cv_rmse": None if rmse is None else float(rmse),
        "grid_error": error,
        "grid_error_method": error_how,
        "method": str(ds[q].attrs.get("cell_methods", "")),
        "time": _iso(ds["time"].values[0]) if "time" in ds.coords and ds["time"].size else None,
    }


def flux_part(ds: xr.Dataset) -> dict:
    """The emission rate, its uncertainty budget and the curtain (``s, z``)."""
    a = ds.attrs
    components = {k[len("uncertainty_"):]: float(v) for k, v in a.items()
                  if k.startswith("uncertainty_") and isinstance(v, int | float | np.number)}
    summary = {}
    try:
        summary = json.loads(a.get("flux_summary", "{}"))
    except ValueError:
        pass
    q = str(a.get("quantity", ""))
    part = {
        "quantity": q,
        "emission": float(a.get("emission_rate", np.nan)),
        "uncertainty": float(a.get("emission_rate_uncertainty", np.nan)),
        "units": str(a.get("emission_rate_units", "g s-1")),
        "emission_kg_h": float(a.get("emission_rate_kg_h", np.nan)),
        "extrapolated_fraction": float(a.get("extrapolated_fraction", np.nan)),
        "components": components,
        "notes": str(a.get("notes", "")),
        "summary": summary,
    }
    for name in ("flux_density", f"{q}_enhancement"):
        if name in ds and ds[name].ndim == 2:
            v = ds[name].transpose(*[d for d in ("z", "s") if d in ds[name].dims])
            part.setdefault("curtain", {})[name] = {
                "values": _num(v.values), "shape": list(v.shape),
                "units": display_units(ds[name].attrs.get("units", ""), q),
                "long_name": str(ds[name].attrs.get("long_name", name))}
    for dim in ("s", "z"):
        if dim in ds.coords:
            part[dim] = _num(ds[dim].values)
    part["ends"] = _curtain_ends(ds)
    return part


def flux_groups(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """The curtains or walls of a multi-curtain or box flux file (groups named in its
    ``flux_groups`` attribute, :func:`~dronesense.products.flux.io.write_flux`), read from
    the file the Dataset was opened from; ``[]`` for a flux file of one curtain."""
    names = str(ds.attrs.get("flux_groups", "")).split()
    source = ds.encoding.get("source")
    if not names or not source:
        return []
    out = []
    for name in names:
        try:
            with xr.open_dataset(source, group=name) as g:
                out.append((name, g.load()))
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read flux group {name}: {err}", path=source) from None
    return out


def _curtain_ends(ds: xr.Dataset) -> list[str]:
    """Compass names of the curtain's two ends (first and last ``s``), from ``lat``/``lon``."""
    if "lat" not in ds.variables or "lon" not in ds.variables or ds["lat"].dims != ("s",):
        return ["start", "end"]
    lat, lon = np.radians(ds["lat"].values[[0, -1]]), np.radians(ds["lon"].values[[0, -1]])
    y = np.sin(lon[1] - lon[0]) * np.cos(lat[1])
    x = np.cos(lat[0]) * np.sin(lat[1]) - np.sin(lat[0]) * np.cos(lat[1]) * np.cos(
        lon[1] - lon[0])
    bearing = float(np.degrees(np.arctan2(y, x))) % 360.0
    names = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    return [names[int((((b % 360.0) + 22.5) // 45.0) % 8)] for b in (bearing + 180.0, bearing)]


def provenance(ds: xr.Dataset, label: str) -> dict:
    """Where a product came from: its ``history``, ``source``, version, ``id``, dates."""
    a = ds.attrs
    out = {"product": label, "kind": product_kind(ds)}
    for key in ("title", "history", "source", "dronesense_version", "date_created", "id",
                "pairing_summary", "estimated_grid_rmse_method", "model_grid_rmse_method",
                "cross_validation_method"):
        if key in a:
            out[key] = str(a[key])
    return out
