"""Sample rows as a CF ``featureType = "trajectory"`` :class:`xarray.Dataset`, and back.

:func:`to_dataset` turns :class:`~dronesense.flight.rows.SampleRow` objects into the samples
Dataset (dimension ``obs``, one variable per quantity, CF units and standard names, flags and
provenance); :func:`from_dataset` gives the rows back. The column list is the samples schema
of ``docs/architecture.md``.

Examples
--------
>>> from dronesense.flight.rows import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.1, 5.2, 40.5, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> ds = to_dataset([row])
>>> int(ds.sizes["obs"])
1
>>> from_dataset(ds) == [row]
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from dronesense.flight.rows import COLUMNS, FLAG_MEANINGS, SampleRow, format_utc
from dronesense.samples.cf import (
    QUANTITY_CONTENT_TYPE,
    QUANTITY_COORDINATES,
    STRING_ENCODING,
    VARIABLE_ATTRS,
    samples_attributes,
    time_encoding,
    trajectories,
    trajectory_id,
)


def trajectory_index(sysid: np.ndarray, boot: np.ndarray) -> tuple[list[str], np.ndarray]:
    """:func:`~dronesense.samples.cf.trajectories` on one integer key per observation (a
    sort of integers, not of rows: the same ids and index)."""
    sysid, boot = np.asarray(sysid, dtype=np.int64), np.asarray(boot, dtype=np.int64)
    if sysid.size and (boot.min() < 0 or boot.max() >= 2**31 or sysid.min() < 0):
        return trajectories(sysid, boot)
    keys, index = np.unique(sysid << 32 | boot, return_inverse=True)
    ids = [trajectory_id(int(k >> 32), int(k & 0xFFFFFFFF)) for k in keys.tolist()]
    return ids, np.asarray(index, dtype=np.int32).reshape(-1)


def variable_name(quantity: str) -> str:
    """The netCDF variable name of a quantity key (letters, digits and ``_``)."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in quantity) or "unnamed"
    return name if name[0].isalpha() else f"q_{name}"


def to_dataset(rows: Sequence[SampleRow], names=None, *, history: str = "", source: str = ""):
    """Sample rows as a CF trajectory :class:`xarray.Dataset` (dimensions ``obs`` and
    ``trajectory``).

    Observations stay in the order of ``rows``; each names its trajectory (one per vehicle and
    boot) in ``trajectory_index``, an indexed ragged array (:mod:`dronesense.samples.cf`).
    Written with :meth:`xarray.Dataset.to_netcdf`, the file is CF-1.11 and ACDD-1.3: times as
    doubles counting microseconds from the first second of the data (exact), the text variables
    as character arrays.

    Parameters
    ----------
    rows
        Sample rows, e.g. from :func:`read_journal` or a :class:`~dronesense.flight.pairing.Pairer`,
        or :class:`~dronesense.flight.columns.SampleColumns` (the same Dataset, built from the
        arrays).
    names
        A :class:`~dronesense.quantities.NameTable` for quantity metadata (default table if
        omitted). Quantities it does not know get a ``long_name`` naming the wire name.
    history, source
        Global attributes recording how the data were made.

    Examples
    --------
    >>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000, 0, 1, 52.0, 5.0, 40.0, 30.0,
    ...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
    >>> ds = to_dataset([row])
    >>> ds.attrs["featureType"], ds["ch4"].attrs["units"], float(ds["ch4"][0])
    ('trajectory', '1e-6', 1.9)
    >>> ds["trajectory_id"].values.tolist(), ds["trajectory_index"].values.tolist()
    (['sysid1_boot0'], [0])
    """
    import xarray as xr

    from dronesense.quantities import NameTable

    names = names if names is not None else NameTable.default()

    columnar = hasattr(rows, "quantity_code")  # SampleColumns: no Python object per row

    def col(name, dtype=float):
        if columnar:
            return np.asarray(rows.column(name), dtype=dtype).reshape(-1)
        k = COLUMNS.index(name)
        if dtype is float:
            return np.array([np.nan if r[k] is None else r[k] for r in rows], dtype=float)
        return np.array([r[k] for r in rows], dtype=dtype).reshape(-1)

    if columnar:
        times = rows.datetimes()
    else:
        times = np.array(
            [np.datetime64(r.time_utc[:-1], "us") if r.time_utc else np.datetime64("NaT", "us")
             for r in rows],
            dtype="datetime64[us]",
        ).astype("datetime64[ns]")
    sysid, boot = col("sysid", np.int32), col("boot", np.int32)
    ids, index = trajectory_index(sysid, boot)
    lat, lon, alt = col("lat"), col("lon"), col("alt_amsl")
    attrs = VARIABLE_ATTRS
    ds = xr.Dataset(
        coords={
            "time": ("obs", times, attrs["time"]),
            "lat": ("obs", lat, attrs["lat"]),
            "lon": ("obs", lon, attrs["lon"]),
            "altitude": ("obs", alt, attrs["altitude"]),
            "height": ("obs", col("height"), attrs["height"]),
            "time_boot_ms": ("obs", col("time_boot_ms"), attrs["time_boot_ms"]),
            "sysid": ("obs", sysid, attrs["sysid"]),
            "boot": ("obs", boot, attrs["boot"]),
            "position_gap": ("obs", col("position_gap"), attrs["position_gap"]),
        },
        data_vars={
            "trajectory_id": ("trajectory", np.array(ids, dtype=object),
                              attrs["trajectory_id"]),
            "trajectory_index": ("obs", index, attrs["trajectory_index"]),
            "flag": ("obs", col("flag", np.int8), {
                **attrs["flag"], "flag_values": np.arange(len(FLAG_MEANINGS), dtype=np.int8),
                "flag_meanings": " ".join(FLAG_MEANINGS)}),
            "name": ("obs", col("name", object), attrs["name"]),
            "time_source": ("obs", col("time_source", object), attrs["time_source"]),
        },
    )
    quantity = col("quantity", object)
    value = col("value")
    keys = list(dict.fromkeys(quantity.tolist()))
    for key in keys:
        mask = quantity == key
        data = np.where(mask, value, np.nan)
        known = names.quantities.get(key)
        if known is not None:
            qattrs = known.attrs()
        else:
            first = (rows.select(np.flatnonzero(mask)[:1]).rows()[0] if columnar
                     else next(r for r in rows if r.quantity == key))
            qattrs = {"long_name": f"unmapped reading {first.name!r}", "units": first.units}
        qattrs["coordinates"] = QUANTITY_COORDINATES
        qattrs["ancillary_variables"] = "flag position_gap"
        qattrs["coverage_content_type"] = QUANTITY_CONTENT_TYPE
        ds[variable_name(key)] = ("obs", data, qattrs)
    ds.attrs.update(samples_attributes(
        keys=keys, names=names, times=times, lat=lat, lon=lon, altitude=alt,
        trajectory_count=len(ids),
        history=history or f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} dronesense samples",
        source=source))
    ds.time.encoding.update(time_encoding(times))
    for text in ("trajectory_id", "name", "time_source"):
        ds[text].encoding.update(STRING_ENCODING)
    if not len(rows):
        ds.attrs["comment"] = "no samples"
    return ds


def _microseconds(values) -> list[int | None]:
    """UNIX microseconds of times (``None`` for NaT), rounded to the nearest microsecond: a
    time stored as a double may decode a few nanoseconds off."""
    t = np.asarray(values).astype("datetime64[ns]")
    ns = t.astype(np.int64)
    us = (ns + 500) // 1000
    return [None if bad else int(u) for bad, u in zip(np.isnat(t).tolist(), us.tolist(),
                                                      strict=True)]


def from_dataset(ds) -> list[SampleRow]:
    """Sample rows from a samples Dataset (the :func:`to_dataset` form, e.g. a samples ``.nc``).

    The wire ``name`` and ``time_source`` come from their variables; a Dataset without them
    (written before they were stored) gives the quantity key as ``name`` and an empty
    ``time_source``. A row whose value is NaN in every quantity variable is left out (its
    quantity cannot be told).

    Examples
    --------
    >>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.0, 5.0, 40.0, 30.0,
    ...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
    >>> from_dataset(to_dataset([row])) == [row]
    True
    """
    qvars = [v for v in ds.data_vars
             if ds[v].dims == ("obs",) and ds[v].attrs.get("ancillary_variables")]
    n = ds.sizes.get("obs", 0)

    def arr(name):
        return (np.asarray(ds[name].values, dtype=float) if name in ds.variables
                else np.full(n, np.nan))

    def ints(name, default):
        return (ds[name].values.astype(int).tolist() if name in ds.variables
                else [default] * n)

    def texts(name):
        if name not in ds.variables:
            return None
        return [x.decode("utf-8") if isinstance(x, bytes) else "" if x is None else str(x)
                for x in ds[name].values.tolist()]

    lat, lon, alt, height = arr("lat"), arr("lon"), arr("altitude"), arr("height")
    gap, tb = arr("position_gap"), arr("time_boot_ms")
    boot, sysid, flag = ints("boot", 0), ints("sysid", 1), ints("flag", 0)
    wire, source = texts("name"), texts("time_source")
    times = _microseconds(ds["time"].values) if "time" in ds.variables else None

    def opt(x):
        return None if not math.isfinite(x) else float(x)

    rows = []
    for v in qvars:
        vals = np.asarray(ds[v].values, dtype=float)
        units = str(ds[v].attrs.get("units", ""))
        for i in np.flatnonzero(np.isfinite(vals)).tolist():
            t = None
            if times is not None and times[i] is not None:
                t = format_utc(times[i])
            rows.append((i, SampleRow(
                t, float(tb[i]), boot[i], sysid[i], opt(lat[i]), opt(lon[i]), opt(alt[i]),
                opt(height[i]), v, v if wire is None else wire[i], float(vals[i]), units,
                opt(gap[i]), flag[i], "" if source is None else source[i])))
    rows.sort(key=lambda ir: ir[0])
    return [r for _, r in rows]
