"""Writing numpy-backed grids with xarray without importing dask.

Every ``xarray.Variable`` built from a numpy array (encoding a Dataset for writing builds
one per variable) asks whether the array is a ``dask.array.Array``. To answer, xarray
imports ``dask.array`` whenever dask is installed (the ``campaign --dask`` extra): most of a
second on a small machine, spent by every ``grid`` command that never touches dask.

No object can be a dask array before :mod:`dask.array` is imported, so the answer can wait
for that import: :func:`defer_dask_array_import` gives xarray a dask entry whose array type
is the empty tuple until :mod:`dask.array` is in ``sys.modules`` and ``dask.array.Array``
after (its module and version load dask when asked for, as xarray's own entry does).
Answers are the same as xarray's in every case; only the import is saved.

Two more checks import :mod:`dask.base` (a tenth of a second, and yaml, jinja2...): the
time encoder's and the array writer's. :func:`encode_times` encodes the ``seconds since``
times of a grid (:func:`~dronesense.gridding.dataset.time_variables`) with numpy
beforehand, to the numbers and attributes xarray writes, and :class:`NumpyWriter` stores
numpy arrays as xarray's writer stores them (``Dataset.dump_to_store(store, writer=...)``).

Examples
--------
>>> import sys
>>> entry = LazyDaskEntry()
>>> entry.type == () or "dask.array" in sys.modules  # no dask array before dask.array
True
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["LazyDaskEntry", "NumpyWriter", "defer_dask_array_import", "encode_times"]

_LOCK = threading.Lock()


class LazyDaskEntry:
    """xarray's record of the dask module (``module``, ``version``, ``type``,
    ``available``), with ``type`` read from ``sys.modules`` rather than imported."""

    @property
    def type(self) -> tuple[type, ...]:
        mod = sys.modules.get("dask.array")
        array = getattr(mod, "Array", None) if mod is not None else None
        if array is None:  # dask.array not imported (or half-way): no dask array exists
            return ()
        return (array,)

    @property
    def module(self) -> Any:
        try:
            return importlib.import_module("dask")
        except ImportError:
            return None

    @property
    def available(self) -> bool:
        return self.module is not None

    @property
    def version(self) -> Any:
        from packaging.version import Version

        module = self.module
        return Version(module.__version__ if module is not None else "0.0.0")


def defer_dask_array_import() -> bool:
    """Let xarray tell numpy from dask arrays without importing :mod:`dask.array`.

    Installs :class:`LazyDaskEntry` as xarray's dask entry (once per process; nothing is
    changed when xarray has already loaded its own, or lays its cache out differently).

    Returns
    -------
    bool
        Whether xarray now uses the deferred entry.
    """
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - another xarray layout
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    if not isinstance(cache, dict):  # pragma: no cover - another xarray layout
        return False
    with _LOCK:
        entry = cache.setdefault("dask", LazyDaskEntry())
    return isinstance(entry, LazyDaskEntry)



class NumpyWriter:
    """Puts numpy arrays into a data store's variables: what xarray's ``ArrayWriter`` does
    for arrays that are not dask's, without asking dask."""

    def add(self, source: Any, target: Any, region: Any = None) -> None:
        if region:
            target[region] = source
        else:
            target[...] = source

    def sync(self, compute: bool = True, chunkmanager_store_kwargs: Any = None) -> None:
        """Nothing is deferred."""


_SECONDS_SINCE = re.compile(r"^seconds since (\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})$")


def encode_times(ds: xr.Dataset, encoding: dict[str, dict[str, Any]] | None = None
                 ) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """``ds`` with its ``datetime64`` variables encoded as xarray encodes them, where their
    encoding (``encoding`` given for writing, else their own) asks for float ``seconds
    since`` a whole second in the standard calendar (the others are left to xarray), and the
    write encoding without the units and calendar now in their attributes.

    Examples
    --------
    >>> ds = xr.Dataset({"t": ("time", np.array(["2025-06-14T08:00:01.5"], "M8[ns]"))})
    >>> enc = {"t": {"units": "seconds since 2025-06-14 08:00:00", "calendar": "standard",
    ...              "dtype": "float64"}}
    >>> out, rest = encode_times(ds, enc)
    >>> out["t"].values.tolist(), out["t"].attrs["units"], rest
    ([1.5], 'seconds since 2025-06-14T08:00:00', {'t': {'dtype': 'float64'}})
    """
    encoding = {name: dict(enc) for name, enc in (encoding or {}).items()}
    encoded = {}
    for name, var in ds.variables.items():
        enc = encoding.get(name, var.encoding)
        match = _SECONDS_SINCE.match(str(enc.get("units", "")))
        if (var.dtype.kind != "M" or match is None or enc.get("calendar") != "standard"
                or np.dtype(enc.get("dtype", "int64")) != np.float64):
            continue
        dates = np.asarray(var.values)
        if np.isnat(dates).any() or (dates.size and dates.min() < np.datetime64("1678-01-01")):
            continue
        day, clock = match.groups()
        reference = np.datetime64(f"{day}T{clock}", "ns")
        # xarray's spelling of the reference (pandas' isoformat, the time left out at 0 h)
        units = f"seconds since {day if clock == '00:00:00' else f'{day}T{clock}'}"
        seconds = (dates.astype("datetime64[ns]") - reference) / np.timedelta64(1, "s")
        attrs = {**var.attrs, "units": units, "calendar": "standard"}
        rest = {k: v for k, v in enc.items() if k not in ("units", "calendar")}
        if name in encoding:
            encoding[name] = rest
        if var.dims == (name,):  # a dimension coordinate: handed over as its index
            import pandas as pd  # loaded with xarray

            encoded[name] = xr.IndexVariable(var.dims, pd.Index(seconds), attrs, rest)
        else:
            encoded[name] = xr.Variable(var.dims, seconds, attrs, rest, fastpath=True)
    if not encoded:
        return ds, encoding
    coords = {name: var for name, var in encoded.items() if name in ds.coords}
    data = {name: var for name, var in encoded.items() if name not in ds.coords}
    return ds.assign_coords(coords).assign(data), encoding
