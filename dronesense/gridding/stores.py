"""Grid stores on disk: a netCDF file or a Zarr store (v2 or v3), opened alike."""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

__all__ = ["SCALAR_DIM", "open_store"]

#: The dimension netCDF-C's NCZarr gives a scalar variable in a Zarr store (one element).
SCALAR_DIM = "_scalar_"


def open_store(path: Path) -> xr.Dataset:
    """Open a grid written as netCDF or Zarr (by the path: ``.zarr`` or a Zarr folder); a
    Zarr store's variables along the one-element ``_scalar_`` dimension (:data:`SCALAR_DIM`)
    become scalars again."""
    zarr_marks = ("zarr.json", ".zgroup", ".zmetadata")
    if path.suffix == ".zarr" or (path.is_dir() and any((path / m).exists() for m in zarr_marks)):
        ds = xr.open_zarr(path, consolidated=_consolidated(path))
        if SCALAR_DIM in ds.dims:
            ds = ds.squeeze(SCALAR_DIM, drop=True)
        return ds
    return xr.open_dataset(path)


def _consolidated(path: Path) -> bool | None:
    """Whether a Zarr store has consolidated metadata (``None``: cannot tell, try both)."""
    if (path / ".zmetadata").exists():
        return True
    try:
        doc = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    return doc.get("consolidated_metadata") is not None
