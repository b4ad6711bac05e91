"""NCZarr metadata on a Zarr v2 store, so netCDF-C (ncdump, netCDF4-python, the IOOS
compliance-checker, Panoply) reads it as the netCDF file it stands for.

netCDF-C reads a plain Zarr v2 store too, but it drops zero-dimensional arrays (netCDF-C
4.10) or needs a one-element ``_scalar_`` dimension for them, which CF checkers then report.
With NCZarr's own attributes (``_nczarr_superblock`` and ``_nczarr_group`` on the group,
``_nczarr_array`` on each array; the NCZarr 2.0.0 layout netCDF-C writes itself) a
one-element array along ``_scalar_`` is a netCDF scalar again and every dimension is named.
zarr-python and xarray ignore these attributes.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The NCZarr format version netCDF-C 4.9 and 4.10 write and read.
NCZARR_VERSION = "2.0.0"

#: Attributes CF wants on a coordinate only, not repeated on its bounds (CF 7.1).
PARENT_ONLY = ("units", "calendar")


def add_nczarr_metadata(path: Path, scalar_dim: str = "_scalar_") -> None:
    """Add the NCZarr attributes to the Zarr v2 store at ``path`` (written by xarray, one
    group), drop ``units``/``calendar`` repeated on bounds variables (xarray puts them on the
    bounds of a time coordinate in Zarr; readers take them from the parent) and consolidate
    the metadata again.

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> store = Path(tmp.name) / "s.zarr"
    >>> xr.Dataset({"v": ("x", np.arange(3.0)), "crs": ("_scalar_", [0])}).to_zarr(
    ...     store, zarr_format=2, consolidated=True)  # doctest: +ELLIPSIS
    <xarray.backends.zarr.ZarrStore object at ...>
    >>> add_nczarr_metadata(store)
    >>> json.loads((store / "crs" / ".zattrs").read_text())["_nczarr_array"]["scalar"]
    1
    >>> tmp.cleanup()
    """
    import zarr

    group_attrs = json.loads((path / ".zattrs").read_text())
    dims: dict[str, int] = {}
    arrays: list[str] = []
    bounds = _bounds_of(path)
    for zarray in sorted(path.glob("*/.zarray")):
        name = zarray.parent.name
        arrays.append(name)
        shape = json.loads(zarray.read_text())["shape"]
        attrs_path = zarray.parent / ".zattrs"
        attrs = json.loads(attrs_path.read_text()) if attrs_path.exists() else {}
        names = attrs.get("_ARRAY_DIMENSIONS", [])
        if names == [scalar_dim] and shape == [1]:
            attrs["_nczarr_array"] = {"dimension_references": [], "scalar": 1,
                                      "storage": "chunked"}
        else:
            dims.update(zip(names, shape, strict=True))
            attrs["_nczarr_array"] = {"dimension_references": [f"/{d}" for d in names],
                                      "storage": "chunked"}
        if name in bounds:
            for key in PARENT_ONLY:
                attrs.pop(key, None)
        attrs_path.write_text(json.dumps(attrs))
    group_attrs["_nczarr_superblock"] = {"version": NCZARR_VERSION}
    group_attrs["_nczarr_group"] = {"dimensions": dims, "arrays": arrays, "groups": []}
    (path / ".zattrs").write_text(json.dumps(group_attrs))
    zarr.consolidate_metadata(str(path))


def _bounds_of(path: Path) -> set[str]:
    """Names of the bounds variables of the store (``bounds`` attributes of its arrays)."""
    out = set()
    for attrs_path in path.glob("*/.zattrs"):
        bound = json.loads(attrs_path.read_text()).get("bounds")
        if isinstance(bound, str):
            out.add(bound)
    return out
