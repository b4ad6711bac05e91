"""One quantity of a samples Dataset as a time series: found, unit-converted, interpolated.

Products that combine quantities measured at different moments (temperature, pressure and
humidity of one record, say) read each one with :func:`quantity_series` and put it on the
times of another with :func:`interpolate_in_time`. Units go through UDUNITS (cf-units), so
any valid spelling converts. Only the documented contents of a samples Dataset are used: the
quantity variables (named by their key, else found by CF standard name), ``time`` and
``sysid``.

Examples
--------
>>> import xarray as xr
>>> raw = xr.Dataset(coords={"time": ("obs", [0.5, np.nan],
...                                     {"units": "seconds since 2025-06-14"})})
>>> sample_times(raw).astype(str).tolist()             # opened with decode_times=False
['2025-06-14T00:00:00.500000000', 'NaT']
>>> t_in = np.array([0, 2_000_000_000])             # ns
>>> interpolate_in_time(np.array([500_000_000, 3_000_000_000]), t_in, np.array([10.0, 14.0]),
...                     max_interval_ns=2_000_000_000).tolist()
[11.0, nan]
"""

from __future__ import annotations

import numpy as np

from dronesense.errors import InputError

__all__ = ["check_one_vehicle", "converted", "interpolate_in_time", "quantity_series",
           "quantity_variable", "sample_times"]


def quantity_variable(samples, key: str, standard_name: str | None = None):
    """The samples variable of a quantity: named by its key, else the one along ``obs`` with
    this CF standard name; ``None`` when there is neither."""
    if key in samples.data_vars:
        return samples[key]
    if standard_name:
        for var in samples.data_vars.values():
            if var.attrs.get("standard_name") == standard_name and "obs" in var.dims:
                return var
    return None


def converted(var, units: str, what: str) -> np.ndarray:
    """The values of ``var`` (its ``units`` attribute) in ``units``, as floats.

    Raises
    ------
    InputError
        When its units do not convert (``what`` names the quantity in the message).

    Examples
    --------
    >>> import xarray as xr
    >>> converted(xr.DataArray([10.0], attrs={"units": "degC"}), "K", "temperature").tolist()
    [283.15]
    """
    import cf_units

    have = str(var.attrs.get("units", "")).strip()
    try:
        return np.asarray(cf_units.Unit(have).convert(np.asarray(var.values, dtype=float),
                                                      cf_units.Unit(units)), dtype=float)
    except (ValueError, TypeError):
        raise InputError(f"{what} in {have!r} cannot be converted to {units}") from None


def sample_times(samples) -> np.ndarray:
    """The samples' ``time`` as ``datetime64[ns]`` (NaT where unknown), decoding it when the
    Dataset was opened without decoding times."""
    time = samples["time"]
    if not np.issubdtype(time.dtype, np.datetime64):
        import xarray as xr

        try:
            time = xr.decode_cf(xr.Dataset({"t": time.variable}))["t"]
        except (ValueError, TypeError):
            time = None
        if time is None or not np.issubdtype(time.dtype, np.datetime64):
            raise InputError("the samples' time is not a time coordinate")
    return time.values.astype("datetime64[ns]")


def check_one_vehicle(samples, why: str) -> None:
    """An :class:`InputError` (ending in ``why``) when the samples come from several
    vehicles (MAVLink system ids)."""
    if "sysid" not in samples.variables:
        return
    ids = np.unique(np.asarray(samples["sysid"].values).ravel())
    if len(ids) > 1:
        raise InputError(f"the samples hold {len(ids)} vehicles (sysid "
                         f"{', '.join(map(str, ids.tolist()))}): {why}")


def quantity_series(samples, var, units: str, what: str,
                    times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(time in int64 ns, value in units)`` of the readings of ``var`` that have a value and
    a time, in time order. ``times`` are the samples' times if already at hand."""
    times = sample_times(samples) if times is None else times
    values = converted(var, units, what)
    ok = np.isfinite(values) & ~np.isnat(times)
    order = np.argsort(times[ok], kind="stable")
    return times[ok][order].astype(np.int64), values[ok][order]


def interpolate_in_time(t_out: np.ndarray, t_in: np.ndarray, v_in: np.ndarray, *,
                        max_interval_ns: int) -> np.ndarray:
    """Values at times ``t_out`` from readings at sorted times ``t_in`` (int64 ns): the
    reading at that very time, else linear between the readings just before and after when
    they are at most ``max_interval_ns`` apart; NaN otherwise (never extrapolated)."""
    out = np.full(np.shape(t_out), np.nan)
    if t_in.size == 0:
        return out
    after = np.searchsorted(t_in, t_out, side="left")  # first reading at or after
    has_after = after < t_in.size
    a = np.minimum(after, t_in.size - 1)
    exact = has_after & (t_in[a] == t_out)
    out[exact] = v_in[a[exact]]
    b = np.maximum(after - 1, 0)  # last reading before
    span = t_in[a] - t_in[b]
    ok = ~exact & has_after & (after >= 1) & (span > 0) & (span <= max_interval_ns)
    w = (t_out[ok] - t_in[b[ok]]) / span[ok]
    out[ok] = v_in[b[ok]] + w * (v_in[a[ok]] - v_in[b[ok]])
    return out
