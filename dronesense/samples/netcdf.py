"""Sample columns straight to a samples netCDF file, without building an xarray Dataset.

:func:`write_columns_netcdf` writes :class:`~dronesense.flight.columns.SampleColumns` with the
netCDF4 library: the same dimensions, variables, attributes and encodings as
``to_dataset(cols).to_netcdf(path)`` (:func:`dronesense.samples.dataset.to_dataset`), so
``xarray.load_dataset`` reads both files as identical Datasets (only ``id`` and the creation
times differ). It skips what a million-message log paid for around the data: importing
xarray (and dask, which xarray loads to look for dask arrays), one Python string per sample
for the text variables, and the generic encoders.

Examples
--------
>>> import tempfile, pathlib
>>> from dronesense.flight.columns import SampleColumns
>>> from dronesense.flight.rows import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.1, 5.2, 40.5, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.nc"
>>> _ = write_columns_netcdf(SampleColumns.from_rows([row]), path)
>>> import netCDF4
>>> with netCDF4.Dataset(path) as nc:
...     float(nc["ch4"][0]), nc.featureType
(1.9, 'trajectory')
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.flight.columns import TIME_SOURCES, SampleColumns
from dronesense.flight.rows import FLAG_MEANINGS
from dronesense.samples.cf import (
    QUANTITY_CONTENT_TYPE,
    QUANTITY_COORDINATES,
    VARIABLE_ATTRS,
    samples_attributes,
    time_encoding,
)
from dronesense.samples.dataset import trajectory_index, variable_name

__all__ = ["write_columns_netcdf"]

#: The coordinate variables along ``obs``, in the order the file holds them.
_COORDS = ("time", "lat", "lon", "altitude", "height", "time_boot_ms", "sysid", "boot",
           "position_gap")


def _chars(texts: list[str], codes: np.ndarray) -> np.ndarray:
    """UTF-8 character array (``S1``, shape ``(n, width)``) of ``texts[codes]``."""
    encoded = [t.encode("utf-8") for t in texts]
    used = np.unique(codes).tolist()
    width = max([len(encoded[c]) for c in used] + [1])  # the longest text present
    table = np.array(encoded, dtype=f"S{width}")
    return table[codes].view("S1").reshape(codes.size, width)


def write_columns_netcdf(cols: SampleColumns, path, names=None, *, history: str = "",
                         source: str = "") -> Path:
    """Write sample columns as a CF trajectory samples ``.nc`` (the file of
    :func:`~dronesense.samples.dataset.to_dataset` written by xarray).

    Parameters
    ----------
    cols
        The samples, e.g. from :func:`~dronesense.flight.postflight.pair_logs` with
        ``as_columns=True``.
    path
        The ``.nc`` file to write (replaced).
    names
        A :class:`~dronesense.quantities.NameTable` for quantity metadata (default table).
    history, source
        Global attributes recording how the data were made.

    Raises
    ------
    InputError
        When the file cannot be written.
    """
    import netCDF4

    from dronesense.quantities import NameTable

    path = Path(path)
    if not len(cols):  # nothing to gain: the Dataset path handles the empty file
        from dronesense.samples.dataset import to_dataset

        to_dataset(cols, names, history=history, source=source).to_netcdf(path)
        return path
    names = names if names is not None else NameTable.default()
    n = len(cols)
    times = cols.datetimes()
    tenc = time_encoding(times)
    t_us = np.asarray(times).astype("datetime64[us]")
    ref = np.datetime64(tenc["units"].split(" since ")[1].replace(" ", "T"), "s")
    units = f"microseconds since {np.datetime_as_string(ref, unit='s')}"  # as xarray writes
    t_num = (t_us - ref).astype(np.int64).astype(np.float64)
    t_num[np.isnat(t_us)] = np.nan
    sysid = np.asarray(cols.sysid, dtype=np.int32).reshape(-1)
    boot = np.asarray(cols.boot, dtype=np.int32).reshape(-1)
    ids, index = trajectory_index(sysid, boot)
    lat, lon, alt = (np.asarray(a, dtype=float) for a in (cols.lat, cols.lon, cols.alt_amsl))
    qcode = np.asarray(cols.quantity_code)
    first_code = np.unique(qcode, return_index=True)
    keys: list[str] = []
    first_row: dict[str, int] = {}
    for code, at in sorted(zip(first_code[0].tolist(), first_code[1].tolist(), strict=True),
                           key=lambda ca: ca[1]):
        key = cols.quantities[code]
        if key not in first_row:
            keys.append(key)
            first_row[key] = at
    key_of = np.array([keys.index(q) if q in keys else -1 for q in cols.quantities] or [-1])
    qkey = key_of[qcode]
    attrs = VARIABLE_ATTRS
    where = " ".join(sorted(_COORDS))  # what xarray writes for the non-quantity variables
    data = {
        "time": t_num, "lat": lat, "lon": lon, "altitude": alt,
        "height": np.asarray(cols.height, dtype=float),
        "time_boot_ms": np.asarray(cols.time_boot_ms, dtype=float),
        "sysid": sysid, "boot": boot,
        "position_gap": np.asarray(cols.position_gap, dtype=float),
    }
    try:
        nc = netCDF4.Dataset(path, "w", format="NETCDF4")
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    with nc:
        nc.set_auto_maskandscale(False)
        nc.createDimension("trajectory", len(ids))
        nc.createDimension("obs", n)

        def text(name, dims, chars, extra):
            width = chars.shape[1]
            dim = f"string{width}"
            if dim not in nc.dimensions:
                nc.createDimension(dim, width)
            var = nc.createVariable(name, "S1", (*dims, dim))
            var.setncatts({**attrs[name], **extra, "_Encoding": "utf-8"})
            var[:] = chars

        def numeric(name, values, var_attrs):
            fill = np.nan if values.dtype.kind == "f" else None
            var = nc.createVariable(name, values.dtype, ("obs",), fill_value=fill)
            var.setncatts(var_attrs)
            var[:] = values

        traj = np.arange(len(ids))
        text("trajectory_id", ("trajectory",), _chars(ids, traj), {})
        numeric("trajectory_index", index, {**attrs["trajectory_index"], "coordinates": where})
        numeric("flag", np.asarray(cols.flag, dtype=np.int8).reshape(-1), {
            **attrs["flag"], "flag_values": np.arange(len(FLAG_MEANINGS), dtype=np.int8),
            "flag_meanings": " ".join(FLAG_MEANINGS), "coordinates": where})
        text("name", ("obs",), _chars([*cols.names, ""], np.asarray(cols.name_code)),
             {"coordinates": where})
        text("time_source", ("obs",),
             _chars(list(TIME_SOURCES), np.asarray(cols.time_source, dtype=np.int64)),
             {"coordinates": where})
        for name in _COORDS:
            extra = {"units": units, "calendar": tenc["calendar"]} \
                if name == "time" else {}
            numeric(name, data[name], {**attrs[name], **extra})
        value = np.asarray(cols.value, dtype=float)
        for k, key in enumerate(keys):
            known = names.quantities.get(key)
            if known is not None:
                qattrs = known.attrs()
            else:
                i = first_row[key]
                qattrs = {"long_name": f"unmapped reading {cols.names[cols.name_code[i]]!r}",
                          "units": cols.units[qcode[i]]}
            qattrs["coordinates"] = QUANTITY_COORDINATES
            qattrs["ancillary_variables"] = "flag position_gap"
            qattrs["coverage_content_type"] = QUANTITY_CONTENT_TYPE
            numeric(variable_name(key), np.where(qkey == k, value, np.nan), qattrs)
        nc.setncatts(samples_attributes(
            keys=keys, names=names, times=times, lat=lat, lon=lon, altitude=alt,
            trajectory_count=len(ids),
            history=history or f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} dronesense samples",
            source=source))
    return path
