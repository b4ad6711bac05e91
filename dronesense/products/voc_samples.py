"""Laboratory results joined back to where and when each sample was taken, and exported.

:func:`join_lab_results` takes the sampling events of a flight (a Dataset along ``sample``
with ``sample_id``, ``time``, ``lat``, ``lon``, ``altitude``, ``height``:
:func:`dronesense.sources.sampling_events.read_sampling_events`) and the laboratory's
results (``sample_id`` and one variable per species with units:
:func:`dronesense.sources.lab_results.read_lab_results`) and joins them by sample id. Nothing
is dropped: a sample the lab analysed but the telemetry never marked keeps its results with
no position (``matched`` = 2), an event without results keeps its position with NaN
concentrations (``matched`` = 1); ``matched`` = 0 is both.

:func:`voc_rows` turns the joined samples into sample rows (one per sample and species, the
sample id as the row's ``name``), so that :func:`write_voc_samples` writes them with the
flight's own exporters (:func:`dronesense.products.exports.write_samples`): netCDF (CF
trajectory), the CSV journal layout, KML/KMZ (placemarks per species), GeoJSON.

Examples
--------
>>> import xarray as xr
>>> events = xr.Dataset({"sample_id": ("sample", ["A", "B"])}, coords={
...     "time": ("sample", np.array(["2025-06-14T08:01", "2025-06-14T08:02"], "M8[ns]")),
...     "lat": ("sample", [37.5, 37.501]), "lon": ("sample", [126.9, 126.9]),
...     "altitude": ("sample", [60.0, 70.0]), "height": ("sample", [40.0, 50.0])})
>>> lab = xr.Dataset({"benzene": ("sample", [1.2, 0.4], {"units": "ppb"})},
...                  coords={"sample_id": ("sample", ["B", "C"])})
>>> joined = join_lab_results(events, lab)
>>> joined.sample_id.values.tolist(), joined.matched.values.tolist()
(['A', 'B', 'C'], [1, 0, 2])
>>> joined.benzene.values.tolist()[:2], float(joined.height[1])
([nan, 1.2], 50.0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.flight.rows import Flag, SampleRow
from dronesense.metadata import global_attributes
from dronesense.products.exports import write_samples

__all__ = ["join_lab_results", "voc_rows", "write_voc_samples"]

_POSITION = ("time", "lat", "lon", "altitude", "height", "time_boot_ms")


def join_lab_results(events: xr.Dataset, lab: xr.Dataset) -> xr.Dataset:
    """The sampling events with the lab's results of each sample (see the module docstring).

    Raises
    ------
    InputError
        A sample id twice among the events or in the results.
    """
    ev_ids = [str(s) for s in events["sample_id"].values]
    lab_ids = [str(s) for s in lab["sample_id"].values]
    for ids, what in ((ev_ids, "sampling events"), (lab_ids, "lab results")):
        dup = sorted({s for s in ids if ids.count(s) > 1})
        if dup:
            raise InputError(f"sample id {', '.join(dup)} more than once in the {what}")
    ids = ev_ids + [s for s in lab_ids if s not in ev_ids]
    n = len(ids)
    ev_index = {s: i for i, s in enumerate(ev_ids)}
    lab_index = {s: i for i, s in enumerate(lab_ids)}
    coords = {}
    for name in _POSITION:
        if name not in events.variables:
            continue
        src = events[name].values
        fill = np.datetime64("NaT", "ns") if np.issubdtype(src.dtype, np.datetime64) else np.nan
        vals = np.full(n, fill, dtype=src.dtype if name == "time" else float)
        for i, s in enumerate(ids):
            if s in ev_index:
                vals[i] = src[ev_index[s]]
        coords[name] = ("sample", vals, dict(events[name].attrs))
    matched = np.array([0 if (s in ev_index and s in lab_index) else 1 if s in ev_index
                        else 2 for s in ids], dtype="int8")
    out = xr.Dataset(coords=coords)
    out["sample_id"] = xr.DataArray(np.array(ids, dtype=object), dims="sample",
                                    attrs={"cf_role": "point_id", "long_name": "sample id"})
    if "event" in events:
        ev = events["event"].values
        out["event"] = xr.DataArray(np.array([str(ev[ev_index[s]]) if s in ev_index else ""
                                              for s in ids], dtype=object), dims="sample")
    out["matched"] = xr.DataArray(matched, dims="sample", attrs={
        "flag_values": np.array([0, 1, 2], "int8"),
        "flag_meanings": "event_and_results event_only results_only",
        "long_name": "whether the sample has a sampling event and lab results"})
    for key, var in lab.data_vars.items():
        if "sample" not in var.dims:
            continue
        vals = np.full(n, np.nan)
        src = np.asarray(var.values, float)
        for i, s in enumerate(ids):
            if s in lab_index:
                vals[i] = src[lab_index[s]]
        out[key] = xr.DataArray(vals, dims="sample", attrs={
            **var.attrs, "coordinates": " ".join(c for c in _POSITION if c in coords)})
    out.attrs.update(global_attributes(
        title="samples with laboratory results",
        summary=f"{n} air samples taken by drone ({int((matched == 0).sum())} with both a "
                "sampling event and laboratory results), where and when each was taken.",
        keywords=["air samples", "volatile organic compounds", *_species(out)],
        source=f"{events.attrs.get('source', '')}; {lab.attrs.get('source', '')}".strip("; "),
        featureType="point"))
    return out


def _species(joined: xr.Dataset) -> list[str]:
    return [k for k, v in joined.data_vars.items()
            if k not in ("sample_id", "event", "matched") and v.dims == ("sample",)]


def voc_rows(joined: xr.Dataset) -> list[SampleRow]:
    """One sample row per sample and species with a result (the sample id as ``name``;
    samples without a position get the flag ``before_track``: they are kept but not
    mapped)."""
    rows = []
    for i, sid in enumerate(joined["sample_id"].values):
        t = joined["time"].values[i] if "time" in joined else np.datetime64("NaT")
        utc = None if np.isnat(t) else np.datetime_as_string(t, unit="us") + "Z"
        pos = [float(joined[c].values[i]) if c in joined else np.nan
               for c in ("lat", "lon", "altitude", "height", "time_boot_ms")]
        has = all(np.isfinite(pos[:3]))
        for key in _species(joined):
            v = float(joined[key].values[i])
            if not np.isfinite(v):
                continue
            rows.append(SampleRow(
                utc, pos[4] if np.isfinite(pos[4]) else 0.0, 0, 1,
                pos[0] if has else None, pos[1] if has else None,
                pos[2] if has else None, pos[3] if has and np.isfinite(pos[3]) else None,
                key, str(sid), v, str(joined[key].attrs.get("units", "")), 0.0 if has else None,
                Flag.PAIRED if has else Flag.BEFORE_TRACK, "sync" if utc else ""))
    return rows


def write_voc_samples(joined: xr.Dataset, path: str | Path, *, history: str = "") -> Path:
    """Write the joined samples with the flight exporters; ``.nc`` of the joined Dataset
    itself (CF point), other suffixes (``.csv``, ``.kml``, ``.kmz``, ``.geojson``,
    ``.parquet``) through :func:`dronesense.products.exports.write_samples`."""
    path = Path(path)
    if path.suffix.lower() == ".nc":
        out = joined.copy()
        if history:
            out.attrs["history"] = history
        for name in ("sample_id", "event"):
            if name in out:
                out[name] = out[name].astype(str)
        try:
            out.to_netcdf(path)
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
        return path
    rows = voc_rows(joined)
    if not rows:
        raise InputError("no sample has a laboratory result to write", path=path)
    return write_samples(rows, path, history=history, source=joined.attrs.get("source", ""))
