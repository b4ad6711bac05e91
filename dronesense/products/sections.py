"""Extract horizontal slices, vertical profiles and curtain sections from a grid Dataset.

All functions take a grid made by :mod:`dronesense.gridding` (dims ``(z, y, x)``, a ``crs``
grid mapping holding the local frame) and return xarray objects that keep units and names.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.dataset import grid_dataset
>>> spec = GridSpec((10, 10, 10), (52.0, 5.0, 0.0), region=(0, 100, 0, 50, 0, 30))
>>> field = np.broadcast_to(spec.x[None, None, :] / 10, spec.shape).copy()
>>> ds = grid_dataset(spec, {"ch4": (field, {"units": "1e-6"})})
>>> vertical_profile(ds)["mean"].values.tolist()
[5.0, 5.0, 5.0]
>>> sec = curtain(ds, (52.0002, 5.0), (52.0002, 5.0012), step=20.0)
>>> sec.dims, sec.sizes["distance"] > 3
(('z', 'distance'), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.geo import LocalFrame

__all__ = ["curtain", "data_variable", "horizontal_slices", "vertical_profile"]


def data_variable(ds: xr.Dataset, name: str | None = None) -> str:
    """The estimate variable of a grid: ``name`` or the one ``made_by`` describes."""
    if name is not None:
        if name not in ds:
            raise InputError(f"no variable {name!r} in the grid "
                             f"(there: {', '.join(map(str, ds.data_vars))})")
        return name
    for var in ds.data_vars:
        anc = ds[var].attrs.get("ancillary_variables", "")
        if "number_of_observations" in anc.split():
            return str(var)
    for var, da in ds.data_vars.items():
        if da.dims == ("z", "y", "x") and var != "number_of_observations":
            return str(var)
    raise InputError("no gridded variable with dims (z, y, x)")


def horizontal_slices(ds: xr.Dataset, name: str | None = None,
                      levels: Sequence[float] | None = None) -> xr.DataArray:
    """The estimate at the given levels (nearest; default all levels with any estimate)."""
    da = ds[data_variable(ds, name)]
    if levels is None:
        keep = da.notnull().any(("y", "x"))
        return da.sel(z=keep) if bool(keep.any()) else da
    return da.sel(z=list(levels), method="nearest")


def vertical_profile(ds: xr.Dataset, name: str | None = None) -> xr.Dataset:
    """Statistics of the estimate per level over the voxels that have one.

    Variables (dim ``z``): ``mean``, ``median``, ``std``, ``min``, ``max``, ``voxels``
    (voxels with an estimate) and, when the grid has ``number_of_observations``,
    ``samples`` and ``sample_weighted_mean`` (voxels weighted by their sample count).
    """
    var = data_variable(ds, name)
    da = ds[var]
    dims = ("y", "x")
    out = xr.Dataset(
        {
            "mean": da.mean(dims),
            "median": da.median(dims),
            "std": da.std(dims),
            "min": da.min(dims),
            "max": da.max(dims),
            "voxels": da.notnull().sum(dims).astype(np.int32),
        }
    )
    for key in ("mean", "median", "std", "min", "max"):
        out[key].attrs = {**_keep(da.attrs), "long_name": f"{key} of {var} over each level"}
    out["voxels"].attrs = {"long_name": "voxels with an estimate", "units": "1"}
    if "number_of_observations" in ds:
        n = ds["number_of_observations"].where(da.notnull(), 0)
        out["samples"] = n.sum(dims).astype(np.int64)
        out["samples"].attrs = {"long_name": "samples on the level", "units": "1"}
        with np.errstate(invalid="ignore", divide="ignore"):
            out["sample_weighted_mean"] = (da.fillna(0) * n).sum(dims) / n.sum(dims)
        out["sample_weighted_mean"].attrs = {**_keep(da.attrs),
                                             "long_name": f"sample-weighted mean of {var}"}
    out = out.assign_coords(z=ds.z)
    out.attrs = {"source_grid_made_by": ds.attrs.get("made_by", ""), "variable": var}
    return out


def _keep(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k in ("units", "standard_name")}


def curtain(ds: xr.Dataset, start: tuple[float, float], end: tuple[float, float],
            name: str | None = None, step: float | None = None,
            method: str = "linear") -> xr.DataArray:
    """Vertical section of the estimate along the straight line ``start`` -> ``end``.

    Parameters
    ----------
    start, end
        ``(lat, lon)`` of the line's ends.
    step
        Spacing of the stations along the line (m); default the smaller horizontal spacing.
    method
        ``linear`` (NaN next to masked voxels) or ``nearest``.

    Returns
    -------
    xarray.DataArray
        Dims ``(z, distance)``, with ``x``, ``y``, ``lat``, ``lon`` per station.
    """
    var = data_variable(ds, name)
    if "crs" not in ds:
        raise InputError("the grid has no crs grid mapping")
    frame = LocalFrame.from_cf(ds["crs"].attrs)
    x0, y0, _ = frame.forward(start[0], start[1])
    x1, y1, _ = frame.forward(end[0], end[1])
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length == 0:
        raise InputError("section line has zero length")
    if step is None:
        xs, ys = ds.x.values, ds.y.values
        step = float(min(np.diff(xs).min() if xs.size > 1 else 1.0,
                         np.diff(ys).min() if ys.size > 1 else 1.0))
    n = max(2, int(np.ceil(length / step)) + 1)
    dist = np.linspace(0.0, length, n)
    px = x0 + (x1 - x0) * dist / length
    py = y0 + (y1 - y0) * dist / length
    section = ds[var].interp(x=xr.DataArray(px, dims="distance"),
                             y=xr.DataArray(py, dims="distance"), method=method)
    lat, lon, _ = frame.inverse(px, py)
    section = section.drop_vars(["lat", "lon"], errors="ignore").assign_coords(
        distance=("distance", dist, {"units": "m", "long_name": "distance along the section"}),
        lat=("distance", lat, {"standard_name": "latitude", "units": "degrees_north"}),
        lon=("distance", lon, {"standard_name": "longitude", "units": "degrees_east"}),
    )
    section.attrs = {**_keep(ds[var].attrs), "long_name": ds[var].attrs.get("long_name", var),
                     "section_start": f"{start[0]},{start[1]}",
                     "section_end": f"{end[0]},{end[1]}"}
    return section.transpose("z", "distance")
