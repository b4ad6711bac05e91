"""CF grid Datasets: arrays wrapped with dims ``(z, y, x)``, a ``crs`` grid mapping, 2-D
lat/lon auxiliary coordinates and provenance; writing and opening them."""

from __future__ import annotations

import datetime as _dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense._version import __version__
from dronesense.errors import InputError
from dronesense.gridding.spec import SPEC_ATTR, VERTICAL_REFERENCES, GridSpec, open_store
from dronesense.quantities import Quantity

# ----------------------------------------------------------------------------------------
# CF Dataset
# ----------------------------------------------------------------------------------------


def _isotime(t) -> str:
    return np.datetime_as_string(np.datetime64(t, "us"), unit="us") + "Z"


def grid_dataset(
    spec: GridSpec,
    variables: dict[str, tuple[np.ndarray, dict[str, Any]]],
    *,
    title: str = "dronesense 3D grid",
    made_by: str = "",
    history: str = "",
    times: ArrayLike | None = None,
    extra_attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap voxel arrays into a CF-1.11 / ACDD-1.3 Dataset with dims ``(z, y, x)``.

    Every variable gets ``grid_mapping = "crs"`` and the lat/lon auxiliary coordinates; the
    Dataset carries the grid spec (``dronesense_grid_spec``), ``made_by``, ``history`` and
    ACDD time and space coverage.

    Parameters
    ----------
    spec
        The grid.
    variables
        Name -> (array of ``spec.shape``, attributes).
    made_by
        ``repr`` of the method object that made the values.
    history
        One line prepended to the ``history`` attribute (a UTC stamp is added).
    times
        Sample times, for ``time_coverage_start``/``end``.
    """
    standard, long = VERTICAL_REFERENCES[spec.vertical]
    x, y, z = spec.x, spec.y, spec.z
    xx, yy = np.meshgrid(x, y)
    lat, lon, _ = spec.frame.inverse(xx, yy)
    coords = {
        "z": ("z", z, {"standard_name": standard, "long_name": long, "units": "m",
                       "positive": "up", "axis": "Z"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y",
                       "long_name": "distance north of the origin"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X",
                       "long_name": "distance east of the origin"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north",
                                  "long_name": "latitude"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east",
                                  "long_name": "longitude"}),
    }
    data_vars: dict[str, Any] = {"crs": ((), np.int32(0), spec.frame.cf_attrs())}
    for name, (arr, attrs) in variables.items():
        arr = np.asarray(arr)
        if arr.shape != spec.shape:
            raise ValueError(f"{name}: shape {arr.shape} is not the grid's {spec.shape}")
        data_vars[name] = (("z", "y", "x"), arr, {**attrs, "grid_mapping": "crs"})
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    zz = spec.z
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.11, ACDD-1.3",
        "title": title,
        "institution": "",
        "source": f"dronesense {__version__}",
        "dronesense_version": __version__,
        "date_created": now,
        "geospatial_lat_min": float(np.nanmin(lat)),
        "geospatial_lat_max": float(np.nanmax(lat)),
        "geospatial_lon_min": float(np.nanmin(lon)),
        "geospatial_lon_max": float(np.nanmax(lon)),
        "geospatial_vertical_min": float(zz[0] - spec.spacing[2] / 2),
        "geospatial_vertical_max": float(zz[-1] + spec.spacing[2] / 2),
        "geospatial_vertical_units": "m",
        "geospatial_vertical_positive": "up",
        "vertical_reference": spec.vertical,
        SPEC_ATTR: spec.to_json(),
        "made_by": made_by,
        "history": f"{now}: {history}" if history else now,
    }
    attrs.pop("institution")
    if times is not None:
        t = np.asarray(times, dtype="datetime64[ns]")
        t = t[~np.isnat(t)]
        if t.size:
            attrs["time_coverage_start"] = _isotime(t.min())
            attrs["time_coverage_end"] = _isotime(t.max())
    if extra_attrs:
        attrs.update(extra_attrs)
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def statistic_variables(
    stats: dict[str, np.ndarray], quantity: Quantity, spec: GridSpec, primary: str = "mean"
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """CF variables for block statistics: the primary estimate named after the quantity,
    the others as ``<key>_<statistic>``, the count as ``number_of_observations``."""
    q = quantity.key
    base = quantity.attrs()
    cm = {"mean": "mean", "median": "median", "std": "standard_deviation",
          "min": "minimum", "max": "maximum", "sum": "sum"}
    dims = "x: y: z:"
    out: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    ancillary = []
    for name, arr in stats.items():
        if name == "count":
            continue
        attrs = dict(base)
        attrs["cell_methods"] = f"{dims} {cm[name]} (comment: voxel {_voxel(spec)})"
        if name == primary:
            key = q
        else:
            key = f"{q}_{name}"
            attrs["long_name"] = f"{quantity.long_name} ({cm[name].replace('_', ' ')} in voxel)"
            # the standard name stays on the estimate only, so it names one variable
            attrs.pop("standard_name", None)
            ancillary.append(key)
        out[key] = (arr, attrs)
    if "count" in stats:
        out["number_of_observations"] = (
            stats["count"].astype(np.int32),
            {"standard_name": "number_of_observations", "units": "1",
             "long_name": f"number of {quantity.key} samples in voxel"},
        )
        ancillary.append("number_of_observations")
    if q in out and ancillary:
        out[q][1]["ancillary_variables"] = " ".join(ancillary)
    return out


def _voxel(spec: GridSpec) -> str:
    return "{:g} m x {:g} m x {:g} m".format(*spec.spacing)


# ----------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------


def write_grid(ds: xr.Dataset, path: str | Path, complevel: int = 4) -> Path:
    """Write a grid to netCDF-4 (zlib-compressed) or, for a ``.zarr`` path, to Zarr."""
    path = Path(path)
    if path.suffix == ".zarr":
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata")
                ds.to_zarr(path, mode="w")
        except ImportError:
            raise InputError("writing Zarr needs the 'zarr' package "
                             "(pip install 'dronesense[campaign]')") from None
        return path
    encoding = {
        name: {"zlib": True, "complevel": complevel}
        for name, var in ds.variables.items() if var.ndim >= 2
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(path, encoding=encoding, engine="netcdf4")
    return path




def open_grid(path: str | Path) -> xr.Dataset:
    """Read a grid written by :func:`write_grid` (loaded into memory)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    try:
        with open_store(path) as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read grid: {err}", path=path) from None
