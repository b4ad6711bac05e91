"""Wind that varies in time: a series (a met mast, a ground sonic, a drone-borne anemometer, a
CSV's own wind columns) put on each sample and projected on the curtain normal per sample.

Products never read files: :mod:`dronesense.sources.wind` and
:mod:`dronesense.sources.onboard_wind` make the series; here anything with the attributes of
:class:`WindSeriesLike` is taken.

Examples
--------
>>> from types import SimpleNamespace
>>> series = SimpleNamespace(time=np.array([0.0, 10.0]), u=np.array([3.0, 1.0]),
...                          v=np.array([0.0, 2.0]), height=np.array([10.0, 10.0]),
...                          speed_error=np.array([0.2, 0.2]),
...                          direction_error=np.array([5.0, 5.0]), source="mast.csv")
>>> w = wind_at_samples(series, np.array([0.0, 5.0, 10.0]), np.array([10.0, 10.0, 10.0]))
>>> w.u.tolist(), w.v.tolist()
([3.0, 2.0, 1.0], [0.0, 1.0, 2.0])
>>> p = w.mean_profile(np.ones(3, bool), n_independent=1)
>>> round(p.speed, 3), round(p.from_deg, 1)       # the vector mean, not the mean speed
(2.236, 243.4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dronesense.errors import NoUsableDataError
from dronesense.products.flux.wind import CALIBRATION, DIRECTION_CALIBRATION_DEG, WindProfile

__all__ = ["SampleWind", "WindSeriesLike", "is_wind_series", "wind_at_samples"]


class WindSeriesLike(Protocol):
    """A wind time series (:class:`dronesense.sources.wind.WindSeries` is one).

    ``time``: UTC, s since 1970; ``u``/``v``: m/s towards east/north; ``height``: m above
    ground of each record (NaN: measured at the vehicle, i.e. at the sample's own height);
    ``speed_error`` (m/s) and ``direction_error`` (degrees): one sigma per record;
    ``source``: what it is (a line for the report).
    """

    time: np.ndarray
    u: np.ndarray
    v: np.ndarray
    height: np.ndarray
    speed_error: np.ndarray
    direction_error: np.ndarray
    source: str


def is_wind_series(obj: object) -> bool:
    """Whether ``obj`` looks like a :class:`WindSeriesLike` (time, u and v arrays)."""
    return all(hasattr(obj, k) for k in ("time", "u", "v", "height"))


@dataclass(frozen=True)
class SampleWind:
    """The wind at each sample (east ``u``, north ``v``, m/s) and its uncertainty."""

    u: np.ndarray
    v: np.ndarray
    speed_error: np.ndarray
    direction_error: np.ndarray
    source: str
    records: int

    def normal(self, normal: tuple[float, float]) -> np.ndarray:
        """The component of each sample's wind along ``normal`` (unit east, north)."""
        return self.u * normal[0] + self.v * normal[1]

    def mean_profile(self, sel: np.ndarray, *, n_independent: int,
                     reference_height: float = 10.0) -> WindProfile:
        """The vector mean over ``sel`` as a uniform :class:`WindProfile` with the
        uncertainty of a mean over ``n_independent`` independent stretches (passes) plus a
        :data:`CALIBRATION` share."""
        u, v = float(np.mean(self.u[sel])), float(np.mean(self.v[sel]))
        speed = math.hypot(u, v)
        if not speed > 0:
            raise NoUsableDataError("the mean wind over the curtain is zero: no flux")
        n = max(1, n_independent)
        s_err = math.hypot(CALIBRATION * speed,
                           float(np.median(self.speed_error[sel])) / math.sqrt(n))
        d_err = math.hypot(DIRECTION_CALIBRATION_DEG,
                           float(np.median(self.direction_error[sel])) / math.sqrt(n))
        return WindProfile(speed, math.degrees(math.atan2(-u, -v)) % 360.0,
                           reference_height=reference_height, speed_error=s_err,
                           direction_error=d_err,
                           source=f"vector mean here of {self.source}, applied per sample")


def wind_at_samples(series: WindSeriesLike, time: np.ndarray, height: np.ndarray, *,
                    exponent: float = 0.0, max_gap: float = 60.0) -> SampleWind:
    """The series interpolated (linearly, component by component) to each sample's UTC
    ``time`` (s since 1970) and scaled from its measurement height to the sample's
    ``height`` by a power law of ``exponent`` (0: unscaled; records at the vehicle are never
    scaled).

    Raises
    ------
    NoUsableDataError
        The series does not cover the samples (more than ``max_gap`` s outside it).
    """
    t = np.asarray(series.time, float)
    u, v = np.asarray(series.u, float), np.asarray(series.v, float)
    ok = np.isfinite(t) & np.isfinite(u) & np.isfinite(v)
    if ok.sum() < 2:
        raise NoUsableDataError(f"the wind series ({series.source}) has fewer than 2 records")
    order = np.argsort(t[ok])
    tt, uu, vv = t[ok][order], u[ok][order], v[ok][order]
    ts = np.asarray(time, float)
    inside = (ts >= tt[0] - max_gap) & (ts <= tt[-1] + max_gap)
    if not inside.all():
        raise NoUsableDataError(
            f"the wind series ({series.source}) covers "
            f"{_iso(tt[0])} to {_iso(tt[-1])}, not the samples' "
            f"{_iso(np.nanmin(ts))} to {_iso(np.nanmax(ts))}: is it the same day and in UTC?")
    hh = np.broadcast_to(np.asarray(series.height, float), t.shape)[ok][order]
    se = np.broadcast_to(np.asarray(series.speed_error, float), t.shape)[ok][order]
    de = np.broadcast_to(np.asarray(series.direction_error, float), t.shape)[ok][order]
    us, vs = np.interp(ts, tt, uu), np.interp(ts, tt, vv)
    h_rec = np.interp(ts, tt, hh) if np.isfinite(hh).all() else np.full(ts.shape, np.nan)
    if exponent and np.isfinite(h_rec).all():
        f = (np.maximum(np.asarray(height, float), 1.0) / np.maximum(h_rec, 1.0)) ** exponent
        us, vs = us * f, vs * f
    return SampleWind(us, vs, np.interp(ts, tt, se), np.interp(ts, tt, de), series.source,
                      int(ok.sum()))


def _iso(t: float) -> str:
    return np.datetime64(round(t), "s").astype(str) + "Z"
