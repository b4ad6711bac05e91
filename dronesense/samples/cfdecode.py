"""CF times and character arrays of a samples file decoded with numpy, as xarray decodes
them, for the common cases.

xarray's time decoder looks for dask arrays first, which imports dask (a tenth of a second
and a dozen packages) wherever dask is installed, and its text decoder makes one Python call
per sample and text variable (a tenth of a second for a million-message log's samples).
Samples files hold times as whole numbers of a unit since a reference date in the standard
(proleptic Gregorian) calendar, and texts (quantity names, time sources) of a few distinct
values as UTF-8 character arrays. :func:`decode_times` and :func:`decode_strings` decode
those with numpy (a text once per distinct value), to the same values, attributes and
encoding ``xarray.open_dataset`` gives, and answer ``None`` for anything else (another
calendar, fractional times, another text encoding), which the caller then decodes with
xarray.

Examples
--------
>>> import numpy as np
>>> import xarray as xr
>>> ds = xr.Dataset({"time": ("obs", [0.0, 1500.0, np.nan],
...                           {"units": "milliseconds since 2024-05-01T10:00:00",
...                            "calendar": "standard"})})
>>> np.datetime_as_string(decode_times(ds)["time"].values, unit="ms").tolist()
['2024-05-01T10:00:00.000', '2024-05-01T10:00:01.500', 'NaT']
>>> decode_times(ds.assign(time=ds.time + 0.25)) is None  # fractional: xarray decodes it
True
>>> chars = np.array([[b"c", b"h", b"4"], [b"c", b"o", b""]])
>>> text = xr.Dataset({"name": (("obs", "string3"), chars, {"_Encoding": "utf-8"})})
>>> decode_strings(text)["name"].values.tolist()
['ch4', 'co']
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

__all__ = ["decode_strings", "decode_times"]

#: Nanoseconds in each CF time unit numpy decodes here.
UNIT_NS = {"days": 86_400_000_000_000, "hours": 3_600_000_000_000,
           "minutes": 60_000_000_000, "seconds": 1_000_000_000,
           "milliseconds": 1_000_000, "microseconds": 1_000, "nanoseconds": 1}
#: Calendars that are numpy's proleptic Gregorian one after 1582.
CALENDARS = ("standard", "gregorian", "proleptic_gregorian")
_SINCE = re.compile(r"^\s*([a-z]+)\s+since\s+(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}"
                    r"(?::\d{2}(?:\.\d{1,9})?)?)?)\s*$")


def _decoded(var: xr.Variable) -> xr.Variable | None:
    """``var`` decoded to ``datetime64[ns]``, or ``None`` when numpy cannot do it exactly."""
    match = _SINCE.match(str(var.attrs.get("units", "")))
    calendar = str(var.attrs.get("calendar", "standard")).lower()
    if match is None or match.group(1) not in UNIT_NS or calendar not in CALENDARS:
        return None
    reference = np.datetime64(match.group(2).replace(" ", "T"), "ns")
    if reference < np.datetime64("1678-01-01", "ns"):  # the Julian part of "standard"
        return None
    values = np.asarray(var.values)
    if values.dtype.kind not in "iuf":
        return None
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    step = UNIT_NS[match.group(1)]
    if not np.array_equal(values[finite], np.round(values[finite])) or (
            finite.any() and np.abs(values[finite]).max() * step > 2.0**62):
        return None
    offsets = np.where(finite, values, 0.0).astype(np.int64) * step
    times = np.where(finite, reference + offsets.astype("timedelta64[ns]"),
                     np.datetime64("NaT", "ns"))
    attrs = dict(var.attrs)
    encoding = dict(var.encoding)
    encoding["units"] = attrs.pop("units")
    if "calendar" in attrs:
        encoding["calendar"] = attrs.pop("calendar")
    return xr.Variable(var.dims, times, attrs, encoding, fastpath=True)


def _replace(ds: xr.Dataset, variables: dict[str, xr.Variable]) -> xr.Dataset:
    """``ds`` with some variables replaced (coordinates stay coordinates)."""
    if not variables:
        return ds
    coords = {name: var for name, var in variables.items() if name in ds.coords}
    data = {name: var for name, var in variables.items() if name not in ds.coords}
    if data:  # replaced first: a text variable leaves its character dimension behind
        ds = ds.drop_vars(list(data)).assign(data)
    return ds.assign_coords(coords) if coords else ds


def decode_strings(ds: xr.Dataset) -> xr.Dataset | None:
    """``ds`` (opened with ``concat_characters=False``) with its UTF-8 character arrays
    (``S1`` with ``_Encoding``) as object arrays of ``str``, as xarray decodes them, or
    ``None`` when one needs xarray's decoder (no or another ``_Encoding``)."""
    out = {}
    for name, var in ds.variables.items():
        if var.dtype != np.dtype("S1") or not var.dims:
            continue
        if str(var.attrs.get("_Encoding", "")).lower() not in ("utf-8", "utf8"):
            return None
        chars = np.ascontiguousarray(var.values)
        width = chars.shape[-1]
        fixed = chars.view(f"S{width}").reshape(chars.shape[:-1])
        texts, which = np.unique(fixed.ravel(), return_inverse=True)
        attrs = dict(var.attrs)
        encoding = {**var.encoding, "char_dim_name": var.dims[-1]}
        encoding["_Encoding"] = attrs.pop("_Encoding")
        decoded = np.array([t.decode(encoding["_Encoding"]) for t in texts.tolist()] or [""],
                           dtype=object)
        values = decoded[which.ravel()].reshape(fixed.shape) if fixed.size else \
            np.empty(fixed.shape, dtype=object)
        out[name] = xr.Variable(var.dims[:-1], values, attrs, encoding, fastpath=True)
    return _replace(ds, out)


def decode_times(ds: xr.Dataset) -> xr.Dataset | None:
    """``ds`` (opened with ``decode_times=False``) with its CF time variables decoded as
    xarray decodes them, or ``None`` when one of them needs xarray's decoder.

    Variables with ``<unit> since <date>`` units are decoded; the others are left as they
    are (durations are not decoded, as ``xarray.open_dataset`` does not by default).
    """
    out = {}
    for name, var in ds.variables.items():
        if " since " not in str(var.attrs.get("units", "")):
            continue
        decoded = _decoded(var)
        if decoded is None:
            return None
        out[name] = decoded
    return _replace(ds, out)
