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
from dronesense.errors import InputError, ParameterError
from dronesense.gridding.daskprobe import NumpyWriter, defer_dask_array_import, encode_times
from dronesense.gridding.nczarr import add_nczarr_metadata
from dronesense.gridding.spec import SPEC_ATTR, VERTICAL_REFERENCES, GridSpec
from dronesense.gridding.stores import SCALAR_DIM, open_store
from dronesense.metadata import coverage, geospatial_bounds, global_attributes
from dronesense.quantities import Quantity

# ----------------------------------------------------------------------------------------
# CF Dataset
# ----------------------------------------------------------------------------------------


#: ACDD ``coverage_content_type`` of grid variables that are not the estimate.
QUALITY_VARIABLE = "qualityInformation"

#: Variables and coordinates written without a ``_FillValue`` (CF 2.5.1: never on coordinate
#: variables; bounds follow their coordinate).
NO_FILL = ("x", "y", "z", "x_bounds", "y_bounds", "z_bounds", "lat", "lon", "time",
           "time_bounds")

#: ``geospatial_bounds_vertical_crs`` of each vertical reference (ACDD).
VERTICAL_CRS = {"amsl": "EPSG:5773"}


def cf_cell_methods(text: str) -> str:
    """``cell_methods`` in CF 7.3.3 form: free text in parentheses without the ``comment:``
    keyword (which CF keeps for text after standardized information).

    Examples
    --------
    >>> cf_cell_methods("x: y: z: point (comment: interpolated by Kriging)")
    'x: y: z: point (interpolated by Kriging)'
    """
    return text.replace("(comment: ", "(")


def _bounds(centres: np.ndarray, step: float) -> np.ndarray:
    return np.column_stack([centres - step / 2, centres + step / 2])


def _coordinates(spec: GridSpec) -> dict[str, tuple]:
    standard, long = VERTICAL_REFERENCES[spec.vertical]
    x, y, z = spec.x, spec.y, spec.z
    dx, dy, dz = spec.spacing
    lat, lon, _ = spec.frame.inverse(*np.meshgrid(x, y))
    return {
        "z": ("z", z, {"standard_name": standard, "long_name": long, "units": "m",
                       "positive": "up", "axis": "Z", "bounds": "z_bounds"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y",
                       "long_name": "distance north of the origin", "bounds": "y_bounds"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X",
                       "long_name": "distance east of the origin", "bounds": "x_bounds"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north",
                                  "long_name": "latitude"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east",
                                  "long_name": "longitude"}),
    }, {
        "x_bounds": (("x", "nv"), _bounds(x, dx), {}),
        "y_bounds": (("y", "nv"), _bounds(y, dy), {}),
        "z_bounds": (("z", "nv"), _bounds(z, dz), {}),
    }


def _times(times: ArrayLike | None) -> np.ndarray:
    if times is None:
        return np.empty(0, "datetime64[us]")
    t = np.asarray(times, dtype="datetime64[us]").ravel()
    return t[~np.isnat(t)]


def time_variables(times: ArrayLike | None) -> tuple[dict[str, tuple], dict[str, str]]:
    """A ``time`` coordinate of one value (the middle of the sampling) with ``time_bounds``
    (first and last sample), and its netCDF encoding; empty without a finite time.

    The grid's variables do not depend on it: it says when the air was sampled (a
    one-element dimension rather than a scalar, as CF checkers want bounds of two dims).

    Examples
    --------
    >>> coords, enc = time_variables(["2025-06-14T08:00:00", "2025-06-14T08:10:00"])
    >>> str(coords["time"][1][0]), coords["time_bounds"][0], enc["units"]
    ('2025-06-14T08:05:00.000000', ('time', 'nv'), 'seconds since 2025-06-14 08:00:00')
    """
    t = _times(times)
    if not t.size:
        return {}, {}
    lo, hi = t.min(), t.max()
    mid = lo + (hi - lo) // 2
    ref = np.datetime_as_string(lo.astype("datetime64[s]"), unit="s").replace("T", " ")
    coords = {
        "time": ("time", np.array([mid]), {
            "standard_name": "time", "long_name": "time of sampling (middle)", "axis": "T",
            "bounds": "time_bounds", "units_metadata": "leap_seconds: none"}),
        "time_bounds": (("time", "nv"), np.array([[lo, hi]]), {}),
    }
    return coords, {"units": f"seconds since {ref}", "calendar": "standard",
                    "dtype": "float64"}


def product_attributes(*, title: str, summary: str, keywords: list[str], history: str,
                       lat: np.ndarray, lon: np.ndarray, vertical: np.ndarray,
                       vertical_crs: str, times: ArrayLike | None,
                       **extra: Any) -> dict[str, Any]:
    """CF / ACDD global attributes of a gridded product (grids and flux curtains): those of
    :func:`dronesense.metadata.global_attributes` and the coverage of its coordinates
    (vertical extent: the vertical coordinate's values; time: the samples')."""
    t = _times(times)
    attrs = global_attributes(title=title, summary=summary, keywords=keywords,
                              history=history, source=f"dronesense {__version__}",
                              processing_level="gridded from paired sensor readings; not "
                                               "calibrated by dronesense",
                              comment="values are cell centres; cells without data support "
                                      "are missing", **extra)
    attrs.update(coverage(lat=lat, lon=lon, time=t))
    attrs.update(geospatial_bounds(lat, lon))
    v = np.asarray(vertical, dtype=float)
    attrs.update({"geospatial_vertical_min": float(v.min()),
                  "geospatial_vertical_max": float(v.max()),
                  "geospatial_vertical_units": "m", "geospatial_vertical_positive": "up",
                  "geospatial_bounds_vertical_crs": vertical_crs})
    if t.size:
        # one value for the whole sampling period
        attrs["time_coverage_resolution"] = attrs["time_coverage_duration"]
        attrs["time_coverage_start"] = _isotime(t.min())
        attrs["time_coverage_end"] = _isotime(t.max())
    return attrs


def _isotime(t) -> str:
    return np.datetime_as_string(np.datetime64(t, "us"), unit="us") + "Z"


def _summary(spec: GridSpec, variables: dict[str, tuple[np.ndarray, dict[str, Any]]],
             made_by: str) -> str:
    names = ", ".join(variables)
    nz, ny, nx = spec.shape
    lat, lon, alt = spec.origin
    method = made_by.split("(")[0] or "dronesense"
    return (f"{names} on a {nx} x {ny} x {nz} grid of {_voxel(spec)} voxels, metres east, "
            f"north and up ({VERTICAL_REFERENCES[spec.vertical][1]}) around {lat:.6f}, "
            f"{lon:.6f} ({alt:g} m above mean sea level), from readings of an unmanned "
            f"aircraft; estimated by {method}.")


def _keywords(variables: dict[str, tuple[np.ndarray, dict[str, Any]]]) -> list[str]:
    words = [a.get("standard_name") or a.get("long_name", "") for _, a in variables.values()
             if a.get("standard_name") != "number_of_observations"]
    return [*words, "unmanned aerial vehicle", "air quality", "3D grid"]


def grid_dataset(
    spec: GridSpec,
    variables: dict[str, tuple[np.ndarray, dict[str, Any]]],
    *,
    title: str = "dronesense 3D grid",
    made_by: str = "",
    history: str = "",
    times: ArrayLike | None = None,
    extra_attrs: dict[str, Any] | None = None,
    summary: str | None = None,
    keywords: list[str] | None = None,
) -> xr.Dataset:
    """Wrap voxel arrays into a CF-1.11 / ACDD-1.3 Dataset with dims ``(z, y, x)``.

    Every variable gets ``grid_mapping = "crs"``, the lat/lon auxiliary coordinates, a CF
    ``cell_methods`` (:func:`cf_cell_methods`) and an ACDD ``coverage_content_type``
    (``physicalMeasurement`` for a variable with a ``standard_name`` unless given, else
    ``qualityInformation``); ``x``, ``y``, ``z`` have bounds and no ``_FillValue``. A scalar
    ``time`` coordinate (the middle of the sampling, with ``time_bounds``) is added when
    ``times`` are given. The Dataset carries the grid spec (``dronesense_grid_spec``),
    ``made_by``, ``history`` and the ACDD discovery and coverage attributes
    (:mod:`dronesense.metadata`; the vertical extent is that of the voxel centres).

    Parameters
    ----------
    spec
        The grid.
    variables
        Name -> (array of ``spec.shape``, attributes).
    title
        ACDD ``title``.
    made_by
        ``repr`` of the method object that made the values.
    history
        One line prepended to the ``history`` attribute (a UTC stamp is added).
    times
        Sample times, for ``time``, ``time_coverage_start``/``end``.
    extra_attrs
        Global attributes added last.
    summary, keywords
        ACDD ``summary`` and ``keywords`` (default: built from the variables and the spec).

    Examples
    --------
    >>> spec = GridSpec((10, 10, 5), (52.0, 5.0, 0.0), region=(0, 20, 0, 30, 0, 10))
    >>> ds = grid_dataset(spec, {"v": (np.zeros(spec.shape), {"units": "1"})})
    >>> dict(ds["v"].sizes), ds["z"].attrs["bounds"], ds.attrs["geospatial_vertical_min"]
    ({'z': 2, 'y': 3, 'x': 2}, 'z_bounds', 2.5)
    """
    coords, bounds = _coordinates(spec)
    lat, lon = coords["lat"][1], coords["lon"][1]
    time_coords, time_encoding = time_variables(times)
    data_vars: dict[str, Any] = {"crs": ((), np.int32(0), spec.frame.cf_attrs()), **bounds}
    if "time_bounds" in time_coords:
        data_vars["time_bounds"] = time_coords.pop("time_bounds")
    coords.update(time_coords)
    for name, (arr, attrs) in variables.items():
        arr = np.asarray(arr)
        if arr.shape != spec.shape:
            raise ValueError(f"{name}: shape {arr.shape} is not the grid's {spec.shape}")
        attrs = {**attrs, "grid_mapping": "crs"}
        if "cell_methods" in attrs:
            attrs["cell_methods"] = cf_cell_methods(attrs["cell_methods"])
        attrs.setdefault("coverage_content_type", "physicalMeasurement"
                         if attrs.get("standard_name", "number_of_observations")
                         != "number_of_observations" else QUALITY_VARIABLE)
        data_vars[name] = (("z", "y", "x"), arr, attrs)
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    vertical_crs = VERTICAL_CRS.get(
        spec.vertical, f"{VERTICAL_REFERENCES[spec.vertical][1]}, metres "
        f"(origin altitude {spec.origin[2]:g} m above mean sea level)")
    attrs = product_attributes(
        title=title, summary=summary or _summary(spec, variables, made_by),
        keywords=keywords or _keywords(variables),
        history=f"{now}: {history}" if history else now, lat=lat, lon=lon,
        vertical=spec.z, vertical_crs=vertical_crs, times=times,
        vertical_reference=spec.vertical, made_by=made_by,
    )
    attrs[SPEC_ATTR] = spec.to_json()
    if extra_attrs:
        attrs.update(extra_attrs)
    ds = xr.Dataset(_variables(data_vars), coords=_variables(coords), attrs=attrs)
    set_cf_encoding(ds)
    if time_encoding:
        ds["time"].encoding.update(time_encoding)
        ds["time_bounds"].encoding.update(time_encoding)
    return ds


def _variables(items: dict[str, Any]) -> dict[str, Any]:
    """``(dims, array, attrs)`` tuples as xarray Variables of plain numpy arrays.

    Built directly (``fastpath``): xarray otherwise checks every array against dask's array
    type, which imports dask.array (a good part of a second) whenever dask is installed.
    Dimension coordinates are handed over as the pandas index xarray makes of them (it would
    ask dask first, importing it). Object arrays still go through xarray's conversion.
    """
    import pandas as pd  # loaded with xarray

    out = {}
    for name, item in items.items():
        if isinstance(item, tuple):
            dims, data, *rest = item
            data = np.asarray(data)
            attrs = rest[0] if rest else None
            dims = (dims,) if isinstance(dims, str) else tuple(dims)
            if dims == (name,) and data.ndim == 1 and data.dtype.kind in "fiuM":
                item = xr.IndexVariable(dims, pd.Index(data), attrs)
            else:
                item = xr.Variable(dims, data, attrs, fastpath=data.dtype.kind != "O")
        out[name] = item
    return out


def set_cf_encoding(ds: xr.Dataset) -> xr.Dataset:
    """Mark the coordinates, bounds and ``time`` of a grid Dataset to be written without a
    ``_FillValue`` (in place; returns ``ds``)."""
    for name in NO_FILL:
        if name in ds.variables:
            ds[name].encoding["_FillValue"] = None
    return ds


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
        attrs["cell_methods"] = f"{dims} {cm[name]}"
        if name == primary:
            key = q
        else:
            key = f"{q}_{name}"
            attrs["long_name"] = f"{quantity.long_name} ({cm[name].replace('_', ' ')} in voxel)"
            # the same standard name: CF tells the statistics apart by their cell_methods
            attrs["coverage_content_type"] = QUALITY_VARIABLE
            if name == "std" and "units_metadata" in attrs:  # a temperature difference
                attrs["units_metadata"] = "temperature: difference"
            ancillary.append(key)
        out[key] = (arr, attrs)
    if "count" in stats:
        out["number_of_observations"] = (
            stats["count"].astype(np.int32),
            {"standard_name": "number_of_observations", "units": "1",
             "long_name": f"number of {quantity.key} samples in voxel",
             "coverage_content_type": QUALITY_VARIABLE},
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


def write_grid(ds: xr.Dataset, path: str | Path, complevel: int | None = None, *,
               zarr_format: int = 2) -> Path:
    """Write a grid to netCDF-4 or, for a ``.zarr`` path, to Zarr.

    Coordinates and bounds are written without a ``_FillValue`` (CF). A Zarr store is Zarr
    v2 with consolidated metadata unless ``zarr_format=3``; its scalar ``crs`` is stored as
    netCDF-C's NCZarr does, one element along a ``_scalar_`` dimension (netCDF-C does not see
    zero-dimensional Zarr arrays), which :func:`open_grid` reads back as a scalar. A v2 store
    carries NCZarr's attributes (:mod:`dronesense.gridding.nczarr`), so netCDF-C, and the CF
    checkers through it, see the same variables, dimensions and scalars as in the netCDF
    file.

    Parameters
    ----------
    ds
        A grid Dataset (:func:`grid_dataset`).
    path
        ``.nc`` or ``.zarr``.
    complevel
        zlib level (1-9; 0: uncompressed). Default: 4 for netCDF; uncompressed for Zarr v2,
        which every netCDF-C build reads (compressed Zarr chunks need netCDF-C's filter
        plugins, which e.g. Debian 12's libnetcdf lacks), and zarr's default codec for v3.
    zarr_format
        2 (default: read by netCDF-C, GDAL 3.6 and zarr-python) or 3.

    Raises
    ------
    ParameterError
        ``zarr_format`` not 2 or 3, ``complevel`` not 0-9.
    InputError
        Zarr without the ``zarr`` package.

    Examples
    --------
    >>> import tempfile
    >>> spec = GridSpec((10, 10, 5), (52.0, 5.0, 0.0), region=(0, 20, 0, 30, 0, 10))
    >>> ds = grid_dataset(spec, {"v": (np.ones(spec.shape), {"units": "1"})})
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = write_grid(ds, Path(tmp.name) / "g.zarr")
    >>> sorted(p.name for p in path.glob(".z*"))
    ['.zattrs', '.zgroup', '.zmetadata']
    >>> open_grid(path)["crs"].dims
    ()
    >>> tmp.cleanup()
    """
    path = Path(path)
    if zarr_format not in (2, 3):
        raise ParameterError("zarr_format", f"must be 2 or 3, got {zarr_format!r}")
    if complevel is not None and not (isinstance(complevel, int) and 0 <= complevel <= 9):
        raise ParameterError("complevel", f"must be a zlib level 0-9, got {complevel!r}")
    if path.suffix == ".zarr":
        _write_zarr(ds, path, complevel, zarr_format, netcdf_encoding(ds, 0))
        return path
    encoding = netcdf_encoding(ds, complevel)
    path.parent.mkdir(parents=True, exist_ok=True)
    _to_netcdf4(ds, path, encoding)
    return path


def netcdf_encoding(ds: xr.Dataset, complevel: int | None = None
                    ) -> dict[str, dict[str, Any]]:
    """The encoding :func:`write_grid` writes a grid with: no ``_FillValue`` on coordinates
    and bounds, time and its bounds in seconds since the first sample (CF 7.1), and zlib
    level ``complevel`` (default 4; 0: none) on the variables of two or more dimensions;
    ``ds.to_netcdf(path, encoding=netcdf_encoding(ds))`` writes the same file."""
    encoding = {name: {"_FillValue": None} for name in NO_FILL if name in ds.variables}
    if "time" in ds.variables and ds["time"].dtype.kind == "M":
        _, time_encoding = time_variables(ds["time_bounds"].values if "time_bounds" in ds
                                          else ds["time"].values)
        for name in ("time", "time_bounds"):
            if name in ds.variables:
                encoding[name].update(time_encoding)
    level = 4 if complevel is None else complevel
    for name, var in ds.variables.items():
        if var.ndim >= 2 and level > 0:
            encoding.setdefault(name, {}).update(zlib=True, complevel=level)
    return encoding


def _to_netcdf4(ds: xr.Dataset, path: Path, encoding: dict[str, dict[str, Any]]) -> None:
    """``ds.to_netcdf(path, encoding=encoding, engine="netcdf4")`` for numpy-backed data,
    through xarray's netCDF4 store directly: ``to_netcdf`` first asks dask which scheduler is
    active, which imports dask.distributed (most of a second) wherever dask is installed."""
    from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK, NetCDF4DataStore

    if any(var.chunks is not None for var in ds.variables.values()):
        ds.to_netcdf(path, encoding=encoding, engine="netcdf4")
        return
    # the encoder's and writer's dask checks answered without importing dask (daskprobe)
    defer_dask_array_import()
    ds, encoding = encode_times(ds, encoding)
    # xarray's own netCDF4/HDF5 lock; the per-file write lock is what asks dask
    store = NetCDF4DataStore.open(str(path), mode="w", format="NETCDF4",
                                  lock=NETCDF4_PYTHON_LOCK)
    try:
        ds.dump_to_store(store, encoding=encoding, writer=NumpyWriter())
    finally:
        store.close()


def _write_zarr(ds: xr.Dataset, path: Path, complevel: int | None, zarr_format: int,
                encoding: dict[str, dict[str, Any]]) -> None:
    try:
        import zarr
    except ImportError:
        raise InputError("writing Zarr needs the 'zarr' package "
                         "(pip install 'dronesense[campaign]')") from None
    scalars = [name for name, var in ds.data_vars.items() if var.ndim == 0]
    out = ds.assign({name: ds[name].expand_dims(SCALAR_DIM) for name in scalars})
    if zarr_format == 2:
        import numcodecs

        codec = None if not complevel else numcodecs.Zlib(level=complevel)
    else:
        codec = "auto" if complevel is None else (
            None if complevel == 0 else zarr.codecs.GzipCodec(level=complevel))
    for name in out.variables:
        if codec != "auto":
            encoding.setdefault(name, {})["compressors"] = codec
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        out.to_zarr(path, mode="w", zarr_format=zarr_format, consolidated=zarr_format == 2,
                    encoding=encoding)
    if zarr_format == 2:
        add_nczarr_metadata(path, SCALAR_DIM)


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
