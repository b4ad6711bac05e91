"""The curtains of a flight: which samples make each wall, the time window, the source's
position, and the combined figure of several curtains.

Examples
--------
>>> import xarray as xr
>>> ds = xr.Dataset(coords={"time": ("obs", np.array(["2023-04-19T07:00:00",
...     "2023-04-19T07:10:00", "2023-04-19T07:20:00"], dtype="datetime64[ns]"))})
>>> in_window(ds, ("2023-04-19T07:05:00Z", "2023-04-19T07:15:00Z")).tolist()
[False, True, False]
>>> in_window(ds, ("2023-04-19T07:05", None)).tolist()
[False, True, True]
>>> in_window(ds, ("07:05", None))
Traceback (most recent call last):
...
dronesense.errors.ParameterError: window: start '07:05' is not an ISO 8601 UTC time \
(e.g. 2023-04-19T07:05:00Z)
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.products.flux.inputs import UsableSamples
from dronesense.products.flux.plane import CurtainPlane, Passes, fit_line, given_line, orient
from dronesense.products.flux.result import FluxResult
from dronesense.products.flux.segments import Leg, find_legs, group_curtains
from dronesense.products.flux.wall import Wall, check_enough
from dronesense.products.flux.wind import WindProfile, as_wind
from dronesense.products.flux.wind_series import SampleWind, is_wind_series, wind_at_samples

__all__ = ["FlightFlux", "Track", "check_source", "combine", "describe_window", "in_window",
           "sample_utc",
           "sample_winds", "source_position", "time_span"]

#: A source farther than this (m) from the flight is taken for a typing error.
MAX_SOURCE_DISTANCE = 50_000.0


def _utc(value, which: str) -> np.datetime64 | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1]
    elif text.endswith("+00:00"):
        text = text[:-6]
    try:
        if "T" not in text and " " not in text and len(text) < 10:
            raise ValueError(text)
        return np.datetime64(text.replace(" ", "T"), "ns")
    except ValueError:
        raise ParameterError("window", f"{which} {value!r} is not an ISO 8601 UTC time "
                             "(e.g. 2023-04-19T07:05:00Z)") from None


def in_window(samples: xr.Dataset, window) -> np.ndarray:
    """Mask of the samples whose UTC ``time`` lies in ``window`` = ``(start, end)``."""
    n = samples.sizes.get("obs", 0)
    if window is None:
        return np.ones(n, dtype=bool)
    try:
        start, end = window
    except (TypeError, ValueError):
        raise ParameterError("window", f"expected (START, END), got {window!r}") from None
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ParameterError("window", f"end {end} is not after start {start}")
    if "time" not in samples:
        raise ParameterError("window", "the samples have no UTC time to cut a window from")
    t = samples["time"].values.astype("datetime64[ns]")
    ok = ~np.isnat(t)
    if lo is not None:
        ok &= t >= lo
    if hi is not None:
        ok &= t <= hi
    return ok


def describe_window(samples: xr.Dataset, window) -> str:
    """``between A and B (the samples span C to D)`` for a message about a window."""
    start, end = window
    utc = sample_utc(samples)
    span = ""
    if utc is not None and np.isfinite(utc).any():
        lo, hi = (str(np.datetime64(int(v), "s")) + "Z" for v in (np.nanmin(utc), np.nanmax(utc)))
        span = f" (the samples span {lo} to {hi})"
    return f"between {start or 'the start'} and {end or 'the end'}{span}"


def sample_utc(samples: xr.Dataset) -> np.ndarray | None:
    """UTC of each sample as s since 1970 (NaN where unknown), or ``None`` without times."""
    if "time" not in samples:
        return None
    t = samples["time"].values.astype("datetime64[ns]")
    out = t.astype("int64").astype(float) / 1e9
    out[np.isnat(t)] = np.nan
    return out


def time_span(samples: xr.Dataset, index: np.ndarray) -> dict[str, str]:
    """First and last UTC time of the samples ``index`` (ISO 8601), when known."""
    utc = sample_utc(samples)
    if utc is None or index.size == 0 or not np.isfinite(utc[index]).any():
        return {}
    lo, hi = np.nanmin(utc[index]), np.nanmax(utc[index])

    def iso(v: float) -> str:
        return str(np.datetime64(round(v * 1000), "ms")) + "Z"

    return {"time_start": iso(lo), "time_end": iso(hi)}


def check_source(frame: LocalFrame, source: tuple[float, float] | None) -> None:
    """A source tens of km from the flight is a typing error (often lat/lon swapped)."""
    if source is None:
        return
    lat, lon = (float(np.asarray(v).ravel()[0]) for v in source)
    if abs(lat) <= 90:
        sx, sy, _ = frame.forward(lat, lon)
        dist = math.hypot(float(sx), float(sy))
        if dist <= MAX_SOURCE_DISTANCE:
            return
        where = f"is {dist / 1000:.0f} km from the flight"
    else:
        where = "has a latitude beyond ±90°"
    raise ParameterError("source", f"({lat}, {lon}) {where}: were latitude and longitude "
                         f"swapped (({lon}, {lat}))?")


def source_position(frame: LocalFrame, plane: CurtainPlane,
                    source: tuple[float, float] | None) -> dict[str, float] | None:
    """How far (m) the source lies upwind of the curtain and along it from its centre."""
    if source is None:
        return None
    sx, sy, _ = frame.forward(*source)
    ss, sd = plane.project(float(sx), float(sy))
    return {"source_distance_m": float(-sd), "source_offset_m": float(ss)}


@dataclass
class Track:
    """The usable samples of a flight in the local frame, cut into legs."""

    x: np.ndarray
    y: np.ndarray
    use: UsableSamples
    ok: np.ndarray
    max_offset: float
    quantity: str
    dz: float
    legs: list[Leg] = field(init=False)
    leg_id: np.ndarray = field(init=False)

    def __post_init__(self):
        idx = np.flatnonzero(self.ok)
        self._idx = idx
        legs = find_legs(self.use.time[idx], self.x[idx], self.y[idx], self.use.height[idx])
        self.legs = [replace(g, index=idx[g.index]) for g in legs]
        self.leg_id = np.full(self.ok.size, -1)
        for k, g in enumerate(self.legs):
            self.leg_id[g.index] = k

    def walls(self, frame: LocalFrame, line, downwind) -> list[tuple[CurtainPlane, Wall]]:
        """The curtains: through a given ``line``, else found from the legs (one wall fitted
        to the whole track when no two passes share a line)."""
        if line is not None:
            centre, along, length = given_line(frame, line)
            return [self._wall(orient(centre, along, downwind, length / 2), None)]
        found = group_curtains(self.legs, self.x, self.y)
        if len(found) <= 1:
            idx = self._idx
            if idx.size < 10:
                raise NoUsableDataError(f"only {idx.size} {self.quantity} samples: too few "
                                        "for a curtain")
            if found:
                centre, along = found[0].centre, found[0].along
            else:
                centre, along = fit_line(self.x[idx], self.y[idx], self.use.time[idx],
                                         self.max_offset)
            return [self._wall(orient(centre, along, downwind), None)]
        out = []
        for c in found:
            t = self.use.time[c.index]
            out.append(self._wall(orient(c.centre, c.along, downwind),
                                  (float(t.min()), float(t.max()))))
        return out

    def _wall(self, plane: CurtainPlane, span: tuple[float, float] | None) -> tuple:
        s_all, d_all = plane.project(self.x, self.y)
        sel = self.ok & plane.near(s_all, d_all, self.max_offset)
        if span is not None:
            sel &= (self.use.time >= span[0]) & (self.use.time <= span[1])
        check_enough(int(sel.sum()), self.quantity, self.max_offset)
        index = np.flatnonzero(sel)
        s = s_all[index]
        half = plane.half_length
        s_range = (float(s.min()), float(s.max())) if half is None else (-half, half)
        passes = self._passes(index, s, s_range[1] - s_range[0])
        u = self.use
        return plane, Wall(s, u.height[index], u.values[index], u.time[index], index, s_range,
                           passes, self.dz)

    def _passes(self, index: np.ndarray, s: np.ndarray, width: float) -> Passes:
        """Passes of the wall: its samples' legs; transects span 30 % of the width."""
        uniq, ids = np.unique(self.leg_id[index], return_inverse=True)
        straight = np.array([leg >= 0 and self.legs[leg].transect for leg in uniq], dtype=bool)
        return Passes.numbered(ids, s, self.use.height[index], width, straight)


@dataclass
class FlightFlux(FluxResult):
    """Several curtains of one flight: each estimate (:attr:`curtains`) and, where valid, a
    combined figure (the inverse-variance mean of the valid curtains, its uncertainty
    widened when they disagree beyond their uncertainties); ``emission`` is NaN when no
    curtain is valid. The grid and the details are those of the best valid curtain."""

    curtains: list[FluxResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for k, r in enumerate(self.curtains):
            i = r.info
            where = (f", {i['source_distance_m']:.0f} m from the source"
                     if "source_distance_m" in i else "")
            span = f", {i['time_start']} to {i['time_end']}" if "time_start" in i else ""
            out.append(f"curtain {k}{where}{span}:")
            out += ["  " + line for line in r.lines()]
        if math.isfinite(self.emission):
            out.append(f"combined ({self.info['combined_from']}): {self.emission:.3g} g/s ± "
                       f"{self.uncertainty:.2g} g/s ({self.emission_kg_h:.3g} kg/h ± "
                       f"{self.uncertainty_kg_h:.2g} kg/h)")
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["curtains"] = [r.to_dict() for r in self.curtains]
        return d


#: Notes that make a curtain unfit for the combined figure (their first words).
_INVALID = ("the wind blows nearly along", "the curtain is upwind", "no plume",
            "the plume is not closed", "the emission is not significantly")


def combine(results: list[FluxResult]) -> FlightFlux:
    """Per-curtain estimates and, where valid, their combination."""
    valid = [k for k, r in enumerate(results)
             if r.uncertainty > 0 and not any(n.startswith(_INVALID) for n in r.notes)]
    notes = []
    if valid:
        e = np.array([results[k].emission for k in valid])
        u = np.array([results[k].uncertainty for k in valid])
        w = 1.0 / u ** 2
        mean = float(np.sum(w * e) / np.sum(w))
        unc = float(1.0 / math.sqrt(np.sum(w)))
        if len(valid) > 1:
            chi2 = float(np.sum(w * (e - mean) ** 2)) / (len(valid) - 1)
            if chi2 > 1:
                unc *= math.sqrt(chi2)
                notes.append(f"the curtains differ by more than their uncertainties "
                             f"(reduced chi-square {chi2:.1f}): the combined uncertainty is "
                             "widened by its square root")
        best = results[valid[int(np.argmin(u / np.maximum(np.abs(e), 1e-300)))]]
        info = dict(best.info, combined_from="curtains " + ", ".join(map(str, valid)))
    else:
        mean, unc = math.nan, math.nan
        best = results[0]
        info = dict(best.info, combined_from="none")
        notes.append("no combined figure: no curtain is valid on its own (see each "
                     "curtain's notes)")
    if len(valid) < len(results):
        left = [k for k in range(len(results)) if k not in valid]
        if valid:
            notes.append("curtain" + "s" * (len(left) > 1) + " " + ", ".join(map(str, left))
                         + " left out of the combined figure (see its notes)")
    frac = best.extrapolated_fraction
    return FlightFlux(best.quantity, mean, unc, {"curtains": unc}, frac, best.grid, notes,
                      info, curtains=results)


def sample_winds(samples: xr.Dataset, use: UsableSamples, ok: np.ndarray, wind,
           exponent: float) -> tuple[SampleWind | None, WindProfile]:
    """The per-sample wind of a series (else ``None``) and a profile orienting the curtains
    (the series' vector mean over the usable samples ``ok``)."""
    if not is_wind_series(wind):
        return None, as_wind(wind)
    utc = sample_utc(samples)
    if utc is None:
        raise ParameterError("wind", "a wind series needs the samples' UTC time, and these "
                             "samples have none")
    idx = np.flatnonzero(ok & np.isfinite(utc))
    if idx.size == 0:
        raise NoUsableDataError("no usable sample has a UTC time to take a wind series at")
    part = wind_at_samples(wind, utc[idx], use.height[idx], exponent=exponent)
    n = use.ok.size
    full = {k: np.full(n, np.nan) for k in ("u", "v", "speed_error", "direction_error")}
    for k in full:
        full[k][idx] = getattr(part, k)
    sw = SampleWind(full["u"], full["v"], full["speed_error"], full["direction_error"],
                    part.source, part.records)
    return sw, sw.mean_profile(idx, n_independent=1)
