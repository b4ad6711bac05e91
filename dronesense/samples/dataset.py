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


def _var_name(quantity: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in quantity) or "unnamed"
    return name if name[0].isalpha() else f"q_{name}"


def to_dataset(rows: Sequence[SampleRow], names=None, *, history: str = "", source: str = ""):
    """Sample rows as a CF trajectory :class:`xarray.Dataset` (dimension ``obs``).

    Parameters
    ----------
    rows
        Sample rows, e.g. from :func:`read_journal` or a :class:`~dronesense.flight.pairing.Pairer`.
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
    """
    import xarray as xr

    from dronesense._version import __version__
    from dronesense.quantities import NameTable

    names = names if names is not None else NameTable.default()
    n = len(rows)

    def col(name, dtype=float):
        k = COLUMNS.index(name)
        if dtype is float:
            return np.array([np.nan if r[k] is None else r[k] for r in rows], dtype=float)
        return np.array([r[k] for r in rows], dtype=dtype)

    times = np.array(
        [np.datetime64(r.time_utc[:-1], "us") if r.time_utc else np.datetime64("NaT", "us")
         for r in rows],
        dtype="datetime64[us]",
    ).astype("datetime64[ns]")
    flag_values = np.arange(len(FLAG_MEANINGS), dtype=np.int8)
    ds = xr.Dataset(
        coords={
            "time": ("obs", times, {"standard_name": "time", "long_name": "time of sampling"}),
            "lat": ("obs", col("lat"), {"standard_name": "latitude", "units": "degrees_north",
                                        "long_name": "latitude"}),
            "lon": ("obs", col("lon"), {"standard_name": "longitude", "units": "degrees_east",
                                        "long_name": "longitude"}),
            "altitude": ("obs", col("alt_amsl"), {
                "standard_name": "altitude", "units": "m", "positive": "up",
                "long_name": "altitude above mean sea level"}),
        },
        data_vars={
            "time_boot_ms": ("obs", col("time_boot_ms"), {
                "long_name": "vehicle time since boot", "units": "ms"}),
            "boot": ("obs", col("boot", np.int32), {"long_name": "boot number of the vehicle"}),
            "sysid": ("obs", col("sysid", np.int32), {
                "long_name": "MAVLink system id", "cf_role": "trajectory_id"}),
            "height": ("obs", col("height"), {
                "long_name": "height above home", "units": "m", "positive": "up"}),
            "position_gap": ("obs", col("position_gap"), {
                "long_name": "time between the fixes used for the position", "units": "s"}),
            "flag": ("obs", col("flag", np.int8), {
                "long_name": "pairing quality flag", "flag_values": flag_values,
                "flag_meanings": " ".join(FLAG_MEANINGS)}),
            "name": ("obs", col("name", object), {
                "long_name": "name of the reading as it came over the link"}),
            "time_source": ("obs", col("time_source", object), {
                "long_name": "where the time came from: sync (vehicle clock and "
                             "SYSTEM_TIME), receive (ground receive time) or empty"}),
        },
    )
    quantity = col("quantity", object)
    value = col("value")
    for key in dict.fromkeys(quantity.tolist()):
        mask = quantity == key
        data = np.where(mask, value, np.nan)
        known = names.quantities.get(key)
        if known is not None:
            attrs = known.attrs()
        else:
            first = next(r for r in rows if r.quantity == key)
            attrs = {"long_name": f"unmapped reading {first.name!r}", "units": first.units}
        attrs["coordinates"] = "time lat lon altitude"
        attrs["ancillary_variables"] = "flag position_gap"
        ds[_var_name(key)] = ("obs", data, attrs)
    ds.attrs.update({
        "Conventions": "CF-1.11, ACDD-1.3",
        "featureType": "trajectory",
        "title": "dronesense paired samples",
        "history": history or f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} dronesense samples",
        "source": source or "MAVLink telemetry",
        "dronesense_version": __version__,
    })
    ds.time.encoding["units"] = "microseconds since 1970-01-01"
    if n == 0:
        ds.attrs["comment"] = "no samples"
    return ds


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
        return ([str(x) if x is not None else "" for x in ds[name].values.tolist()]
                if name in ds.variables else None)

    lat, lon, alt, height = arr("lat"), arr("lon"), arr("altitude"), arr("height")
    gap, tb = arr("position_gap"), arr("time_boot_ms")
    boot, sysid, flag = ints("boot", 0), ints("sysid", 1), ints("flag", 0)
    wire, source = texts("name"), texts("time_source")
    times = ds["time"].values.astype("datetime64[us]") if "time" in ds.variables else None

    def opt(x):
        return None if not math.isfinite(x) else float(x)

    rows = []
    for v in qvars:
        vals = np.asarray(ds[v].values, dtype=float)
        units = str(ds[v].attrs.get("units", ""))
        for i in np.flatnonzero(np.isfinite(vals)).tolist():
            t = None
            if times is not None and not np.isnat(times[i]):
                t = format_utc(int(times[i].astype("int64")))
            rows.append((i, SampleRow(
                t, float(tb[i]), boot[i], sysid[i], opt(lat[i]), opt(lon[i]), opt(alt[i]),
                opt(height[i]), v, v if wire is None else wire[i], float(vals[i]), units,
                opt(gap[i]), flag[i], "" if source is None else source[i])))
    rows.sort(key=lambda ir: ir[0])
    return [r for _, r in rows]
