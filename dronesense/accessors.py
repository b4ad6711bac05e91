"""The ``.dronesense`` accessor of :class:`xarray.Dataset`: the API as methods of the data.

On a samples Dataset (dimension ``obs``, from :func:`dronesense.read_samples`):
:attr:`~DronesenseAccessor.quantities`, :meth:`~DronesenseAccessor.grid`,
:meth:`~DronesenseAccessor.estimate_flux`, :meth:`~DronesenseAccessor.to_file`. On a grid
Dataset (dims ``(z, y, x)``, from :func:`dronesense.grid`): ``quantities``,
:meth:`~DronesenseAccessor.plot_slices`, :meth:`~DronesenseAccessor.plot_profile`,
:meth:`~DronesenseAccessor.plot_section`, :meth:`~DronesenseAccessor.to_file`. Each method is
the function of the same name with the Dataset as its first argument.

The accessor is registered by importing this module, which the first use of any name of the
top-level API does (``dronesense.read_samples``, ``dronesense.grid``, ...).

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.dataset import grid_dataset
>>> spec = GridSpec((10, 10, 10), (52.0, 5.0, 0.0), region=(0, 100, 0, 50, 0, 30))
>>> grid = grid_dataset(spec, {"ch4": (np.ones(spec.shape), {"units": "1e-6"})})
>>> grid.dronesense.kind, grid.dronesense.quantities
('grid', ['ch4'])
>>> fig = grid.dronesense.plot_profile()
>>> grid.dronesense.grid("ch4")
Traceback (most recent call last):
...
TypeError: grid() needs a samples Dataset (dimension obs); this is a grid
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

__all__ = ["DronesenseAccessor"]


@xr.register_dataset_accessor("dronesense")
class DronesenseAccessor:
    """``ds.dronesense``: dronesense functions of a samples or grid Dataset."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    # -- what it is ----------------------------------------------------------------------
    @property
    def kind(self) -> str | None:
        """``"samples"`` (dimension ``obs``), ``"grid"`` (dims ``z``, ``y``, ``x``) or
        ``None``."""
        dims = set(self._ds.dims)
        if "obs" in dims:
            return "samples"
        if {"z", "y", "x"} <= dims:
            return "grid"
        return None

    @property
    def quantities(self) -> list[str]:
        """Quantity keys: a samples Dataset's quantity variables, a grid's estimate."""
        ds = self._ds
        if self.kind == "samples":
            return [str(v) for v in ds.data_vars
                    if ds[v].dims == ("obs",) and ds[v].attrs.get("ancillary_variables")]
        if self.kind == "grid":
            from dronesense.products.sections import data_variable

            return [data_variable(ds)]
        return []

    def _need(self, kind: str, what: str) -> xr.Dataset:
        if self.kind != kind:
            have = {"samples": "samples", "grid": "a grid"}.get(self.kind or "",
                                                                "neither samples nor a grid")
            need = ("a samples Dataset (dimension obs)" if kind == "samples"
                    else "a grid Dataset (dims z, y, x)")
            raise TypeError(f"{what}() needs {need}; this is {have}")
        return self._ds

    # -- samples -------------------------------------------------------------------------
    def grid(self, quantity: str, **kw) -> xr.Dataset:
        """:func:`dronesense.grid` of these samples (``spacing=``, ``method=``, ...)."""
        from dronesense.gridding.grid import grid

        return grid(self._need("samples", "grid"), quantity, **kw)

    def estimate_flux(self, quantity: str, **kw):
        """:func:`dronesense.estimate_flux` of these samples (``wind=``, ``source=``, ...)."""
        from dronesense.api import estimate_flux

        return estimate_flux(self._need("samples", "estimate_flux"), quantity, **kw)

    # -- grids ---------------------------------------------------------------------------
    def plot_slices(self, path: str | Path | None = None, **kw):
        """:func:`dronesense.plot_slices` of this grid (a Figure; written to ``path``)."""
        from dronesense.products.plot import plot_slices

        return plot_slices(self._need("grid", "plot_slices"), path, **kw)

    def plot_profile(self, path: str | Path | None = None, **kw):
        """:func:`dronesense.plot_profile` of this grid."""
        from dronesense.products.plot import plot_profile

        return plot_profile(self._need("grid", "plot_profile"), path, **kw)

    def plot_section(self, start: tuple[float, float], end: tuple[float, float],
                     path: str | Path | None = None, **kw):
        """:func:`dronesense.plot_section` of this grid from ``start`` to ``end`` (lat, lon)."""
        from dronesense.products.plot import plot_section

        return plot_section(self._need("grid", "plot_section"), start, end, path, **kw)

    # -- both ----------------------------------------------------------------------------
    def to_file(self, path: str | Path, **kw) -> Path:
        """Write to ``path``, the format from its suffix.

        Samples: :func:`dronesense.products.exports.write_samples` formats (``.nc``,
        ``.csv``, ``.parquet``, ``.geojson``, ``.kml``, ``.kmz``; keywords ``paired_only``,
        ``tracks``); a ``.nc`` keeps the Dataset's attributes. Grids:
        :func:`dronesense.gridding.dataset.write_grid` (``.nc`` or ``.zarr``).
        """
        ds = self._ds
        path = Path(path)
        if self.kind == "grid":
            from dronesense.gridding.dataset import write_grid

            return write_grid(ds, path, **kw)
        ds = self._need("samples", "to_file")
        from dronesense.products.exports import write_samples
        from dronesense.samples.dataset import from_dataset

        if path.suffix.lower() == ".nc" and not kw:
            from dronesense.errors import InputError

            try:
                ds.to_netcdf(path)
            except OSError as err:
                raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
            return path
        return write_samples(from_dataset(ds), path, history=str(ds.attrs.get("history", "")),
                             source=str(ds.attrs.get("source", "")), **kw)
