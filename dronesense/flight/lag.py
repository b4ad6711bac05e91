"""Sensor lag and time offset: declared, or estimated from the data.

A sensor reports the air it sampled some time earlier: the inlet tube, the response time of
the cell and a clock error of the payload all shift a reading later than its sample. Paired
at its stamped time, a plume seen in passes flown east appears shifted east, and in passes
flown west shifted west. The lag that makes passes flown in opposite directions through the
same air agree best is the estimate.

:func:`estimate_lag` does this on arrays: for each trial lag it places every reading at the
position the vehicle had ``lag`` seconds before the reading, finds pairs of readings close in
space whose vehicle moved in opposite directions, and scores the mean squared difference of
their values. The minimum (refined by a parabola) is the lag; its uncertainty is the spread of
the minimum over a block bootstrap of the flight (20 s blocks resampled with replacement).
That is the ``shift`` method; with distinct plume crossings, their centroids are aligned
instead (``centroid``, see :func:`estimate_lag`). The pairs are found by
:mod:`dronesense.flight.lagpairs`; a long series is bounded to whole spans of it.

The result is one number per quantity combining response lag and clock offset: the
``lags`` the pairing engine (:class:`~dronesense.flight.pairing.Pairer`) subtracts from
reading times.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> fix_t, lat, lon, alt = synthetic_passes()
>>> t = np.arange(fix_t[0], fix_t[-1], 500.0)
>>> x = np.interp(t - 2000.0, fix_t, lon)          # the sensor sees the air of 2 s earlier
>>> value = 10 * np.exp(-(((x - 5.0005) / 0.0001) ** 2)) + rng.normal(0, 0.1, t.size)
>>> est = estimate_lag(fix_t, lat, lon, alt, t, value)
>>> abs(est.lag_s - 2.0) < 0.3, est.uncertainty_s < 0.3
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dronesense.errors import ParameterError
from dronesense.flight.lagpairs import pair_scores, time_spans
from dronesense.flight.lagscores import argmin_refined, crossings

__all__ = ["LagEstimate", "estimate_lag", "split_lags", "synthetic_passes"]

_M_PER_DEG = 111_319.49


@dataclass(frozen=True)
class LagEstimate:
    """An estimated lag.

    Attributes
    ----------
    lag_s
        Seconds to subtract from reading times (NaN if it could not be estimated).
    uncertainty_s
        One standard deviation (block bootstrap, never below half the search step).
    pairs
        ``centroid``: plume crossings used; ``shift``: opposite-direction reading pairs that
        entered the score at the best lag.
    reason
        Why there is no estimate, or ``""``.
    method
        ``centroid`` (plume-crossing centroids: the sensor's mean delay) or ``shift``
        (best pure shift of the values: the fallback without distinct plume crossings).
    """

    lag_s: float
    uncertainty_s: float
    pairs: int
    reason: str = ""
    method: str = ""

    @property
    def ok(self) -> bool:
        """Whether an estimate exists."""
        return math.isfinite(self.lag_s)


def split_lags(lags: Mapping[str, float | str] | str | None
               ) -> tuple[dict[str, float], set[str], bool]:
    """Declared and estimated lags from one ``lags`` argument.

    ``lags`` maps a quantity key to seconds or to ``"auto"`` (estimate it from the data); the
    string ``"auto"`` alone estimates every quantity; ``None`` declares nothing.

    Returns
    -------
    declared, auto, auto_all
        Declared lags by quantity, quantities to estimate, whether to estimate all.

    Raises
    ------
    ParameterError
        (a :class:`ValueError`) for a lag that is neither a finite number of seconds nor
        ``"auto"``.

    Examples
    --------
    >>> split_lags({"ch4": 1.5, "pm2p5": "auto"})
    ({'ch4': 1.5}, {'pm2p5'}, False)
    >>> split_lags("auto")
    ({}, set(), True)
    """
    if lags is None:
        return {}, set(), False
    if isinstance(lags, str):
        if lags.strip() != "auto":
            raise ParameterError("lags", f"expected lags by quantity or 'auto', got {lags!r}")
        return {}, set(), True
    declared: dict[str, float] = {}
    auto: set[str] = set()
    for key, val in lags.items():
        if isinstance(val, str) and val.strip() == "auto":
            auto.add(key)
            continue
        try:
            sec = float(val)
        except (TypeError, ValueError):
            raise ParameterError("lags", f"the lag of {key} must be seconds or 'auto', "
                                 f"got {val!r}") from None
        if not math.isfinite(sec):
            raise ParameterError("lags", f"the lag of {key} must be a finite number of "
                                 f"seconds, got {val!r}")
        declared[key] = sec
    return declared, auto, False


def _enu(lat, lon, alt, lat0, lon0):
    k = math.cos(math.radians(lat0))
    return np.column_stack([(lon - lon0) * _M_PER_DEG * k, (lat - lat0) * _M_PER_DEG,
                            np.asarray(alt, float)])


def _centroid_estimate(fix_t, enu, vel, speed, t, value, lags, cross_m, dz_m, n_boot,
                       seed, margin_s) -> LagEstimate | str:
    """Lag from plume-crossing centroids (see :func:`estimate_lag`); a reason if none."""
    found = crossings(t, value, margin_s)
    if len(found) < 4:
        return f"{len(found)} plume crossing(s), 4 needed"
    tc = np.array([c for c, _ in found])
    # crossings flown straight along a flight line for every trial lag
    keep = np.ones(tc.size, dtype=bool)
    sign = None
    for lag in lags[[0, -1]].tolist() + lags[::5].tolist():
        tt = tc - lag * 1000.0
        inside = (tt >= fix_t[0]) & (tt <= fix_t[-1])
        vx = np.interp(tt, fix_t, vel[:, 0])
        s = np.sign(vx)
        keep &= inside & (np.abs(vx) > 0.5 * speed)
        if sign is None:
            sign = s
        keep &= s == sign
    tc, sign = tc[keep], sign[keep]
    if (sign > 0).sum() < 2 or (sign < 0).sum() < 2:
        return "fewer than 2 plume crossings in each direction"
    m = tc.size
    # per trial lag: along-line position of each crossing, explained by its line (cross
    # position, height) through a plane x = a + b*y + c*z; the lag minimising the residual
    # makes crossings flown in opposite directions agree
    tt = tc[None, :] - lags[:, None] * 1000.0
    pos = np.stack([np.interp(tt, fix_t, enu[:, j]) for j in range(3)], axis=-1)
    x = pos[..., 0]
    design = np.stack([np.ones_like(x), pos[..., 1] / cross_m, pos[..., 2] / dz_m], axis=-1)

    nl = lags.size
    # the weighted normal equations of every (resample, lag) as two matrix products
    dd = np.einsum("lmi,lmj->mlij", design, design).reshape(m, nl * 9)
    dx = np.einsum("lmi,lm->mli", design, x).reshape(m, nl * 3)

    def residuals(w):  # w: (B, m) crossing weights -> (B, nlags) weighted RSS / weight
        xtx = (w @ dd).reshape(-1, nl, 3, 3)
        xty = (w @ dx).reshape(-1, nl, 3)
        coef = np.linalg.solve(xtx + 1e-9 * np.eye(3), xty[..., None])[..., 0]
        rss = np.empty(coef.shape[:2])
        for lo in range(0, len(w), 16):  # resamples by 16: small temporaries, same sums
            res = x[None] - np.matmul(design[None], coef[lo:lo + 16, ..., None])[..., 0]
            rss[lo:lo + 16] = np.matmul(res ** 2, w[lo:lo + 16, :, None])[..., 0]
        return rss / w.sum(axis=1)[:, None]

    score = residuals(np.ones((1, m)))[0]
    k = int(np.argmin(score))
    if k in (0, lags.size - 1):
        return f"best lag at the edge of the range searched ({lags[0]:g}, {lags[-1]:g}) s"
    best = argmin_refined(score, lags)
    rng = np.random.default_rng(seed)
    w = np.stack([np.bincount(rng.integers(0, m, m), minlength=m) for _ in range(n_boot)])
    w = w[((w * (sign > 0)).sum(axis=1) > 0) & ((w * (sign < 0)).sum(axis=1) > 0)]
    boots = np.array([argmin_refined(s, lags) for s in residuals(w.astype(float))])
    boots = boots[np.isfinite(boots)]
    step = float(lags[1] - lags[0])
    # robust spread (scaled MAD): with few crossings, some resamples leave a direction
    # nearly empty and their minimum wanders; they should not dominate the ±
    spread = 1.4826 * float(np.median(np.abs(boots - np.median(boots)))) \
        if boots.size > 2 else math.nan
    return LagEstimate(best, max(spread, step / 2), m, method="centroid")


def estimate_lag(
    fix_t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    alt: np.ndarray,
    t: np.ndarray,
    value: np.ndarray,
    *,
    search_s: tuple[float, float] = (-5.0, 10.0),
    step_s: float = 0.1,
    radius_m: float | None = None,
    dz_m: float = 3.0,
    cross_m: float = 100.0,
    block_s: float = 20.0,
    n_boot: int = 200,
    seed: int = 0,
    method: str = "auto",
    margin_s: float = 10.0,
    max_pair_s: float = 600.0,
    max_readings: int | None = 20_000,
) -> LagEstimate:
    """Estimate a sensor's lag from passes flown in opposite directions.

    Two methods:

    ``centroid`` (used when the readings show at least 4 distinct plume crossings)
        Each crossing's excess over the local background is reduced to its centroid in time
        (first moment). A sensor that reports the air of ``d`` seconds ago through a
        first-order response of time constant ``tau`` shows every crossing's centroid exactly
        ``d + tau`` seconds late (the mean delay of the response), whatever the plume's
        shape. The lag is the one that, placing each centroid where the vehicle was ``lag``
        seconds before it, makes crossings flown in opposite directions agree: for each trial
        lag the along-line positions of the centroids are fitted by a plane over the line's
        cross position and height, and the lag with the smallest residual wins
        (parabola-refined). Uncertainty: bootstrap over the crossings.
    ``shift``
        The fallback: readings are placed along the track for each trial lag, pairs of
        readings that sampled the same air on opposite passes are found and the lag with the
        lowest mean squared difference wins; uncertainty from a block bootstrap. This
        matches the plume's *peaks*, so it falls short of ``tau`` for a slow sensor.

    Parameters
    ----------
    fix_t, lat, lon, alt
        The track of one boot segment: times (ms since boot, increasing), degrees, metres.
    t, value
        The readings of one quantity in the same boot segment (ms since boot).
    search_s
        Range of lags tried, seconds.
    step_s
        Step of the search.
    radius_m
        ``shift``: distance along the flight lines within which two readings count as the
        same air (default: the distance flown in 1.5 reading intervals, at least 2 m).
    dz_m
        Vertical distance within which two readings count as the same air (``shift``);
        height scale of the plane fit (``centroid``).
    cross_m
        Distance across the flight lines within which two passes are compared: parallel
        lines of a survey pattern (flown across the wind) cut the plume at the same
        along-line place, so neighbouring lines flown the other way count.
    block_s, n_boot, seed
        Bootstrap for the uncertainty (``block_s`` for ``shift`` only).
    method
        ``auto`` (centroid, else shift), ``centroid`` or ``shift``.
    margin_s
        ``centroid``: seconds of readings kept on both sides of each crossing (several
        response times, so that the slow tail counts).
    max_pair_s
        ``shift``: readings more than this many seconds apart are never paired (the plume
        has moved on since; a long log of many flights over the same air then costs its
        passes, not their square).
    max_readings
        ``shift``: at most about this many readings are paired: a longer series is cut into
        spans of ``2 * max_pair_s`` and whole spans, evenly spread over it, are used
        (:func:`~dronesense.flight.lagpairs.time_spans`); the bootstrap then resamples the
        blocks of those spans, so the uncertainty is that of what was used. The search that
        centres the ``centroid`` range uses an eighth of them. ``None``: every reading.

    Returns
    -------
    LagEstimate
        ``lag_s`` is what the pairing engine subtracts from reading times.
    """
    if method not in ("auto", "centroid", "shift"):
        raise ValueError(f"method must be auto, centroid or shift, not {method!r}")
    if max_readings is not None and not (isinstance(max_readings, (int, np.integer))
                                         and max_readings > 0):
        raise ParameterError("max_readings", f"expected a positive number of readings or "
                             f"None, got {max_readings!r}")
    fix_t = np.asarray(fix_t, float)
    t = np.asarray(t, float)
    value = np.asarray(value, float)
    good = np.isfinite(t) & np.isfinite(value)
    t, value = t[good], value[good]
    o = np.argsort(t, kind="stable")
    t, value = t[o], value[o]
    okf = np.isfinite(fix_t) & np.isfinite(lat) & np.isfinite(lon) & np.isfinite(alt)
    okf &= ~((np.asarray(lat) == 0) & (np.asarray(lon) == 0))
    fix_t, lat, lon, alt = (np.asarray(a, float)[okf] for a in (fix_t, lat, lon, alt))
    if fix_t.size < 10 or t.size < 20:
        return LagEstimate(math.nan, math.nan, 0, "too few fixes or readings")
    if np.any(np.diff(fix_t) < 0):
        order = np.argsort(fix_t, kind="stable")
        fix_t, lat, lon, alt = fix_t[order], lat[order], lon[order], alt[order]
    keep = np.concatenate([[True], np.diff(fix_t) > 0])
    fix_t, lat, lon, alt = fix_t[keep], lat[keep], lon[keep], alt[keep]
    enu = _enu(lat, lon, alt, float(np.median(lat)), float(np.median(lon)))
    dt = np.gradient(fix_t / 1000.0)
    vel = np.column_stack([np.gradient(enu[:, j]) / dt for j in range(2)])
    speed_all = np.hypot(vel[:, 0], vel[:, 1])
    moving = speed_all > 0.5
    if moving.sum() < 10:
        return LagEstimate(math.nan, math.nan, 0, "the vehicle hardly moved")
    # along-track frame: x along the main flight direction (sign-free principal axis);
    # sums and products written out: a 2x2 problem needs no threaded BLAS over the track
    vx, vy = vel[moving, 0], vel[moving, 1]
    vx, vy = vx - vx.mean(), vy - vy.mean()
    cxy = float(np.dot(vx, vy))
    w, vecs = np.linalg.eigh(np.array([[np.dot(vx, vx), cxy], [cxy, np.dot(vy, vy)]]))
    ux, uy = vecs[:, np.argmax(w)]
    enu[:, 0], enu[:, 1] = ux * enu[:, 0] + uy * enu[:, 1], ux * enu[:, 1] - uy * enu[:, 0]
    vel = np.column_stack([ux * vel[:, 0] + uy * vel[:, 1], ux * vel[:, 1] - uy * vel[:, 0]])
    speed = float(np.median(speed_all[moving]))
    lags = np.arange(search_s[0], search_s[1] + step_s / 2, step_s)
    if radius_m is None:
        interval = float(np.median(np.diff(t))) / 1000.0
        radius_m = max(2.0, 1.5 * speed * interval)

    def shift(limit: int | None, coarse: int = 1) -> LagEstimate:
        keep = time_spans(t, limit, 2.0 * max_pair_s * 1000.0)
        return _shift_estimate(fix_t, enu, vel, speed, t[keep], value[keep], lags,
                               (radius_m, cross_m, dz_m), block_s, n_boot, seed, step_s,
                               search_s, max_pair_s, coarse, compact=not keep.all())

    if method == "shift":
        return shift(max_readings)
    # the shift estimate (peak matching) is at or a little below the mean delay: search the
    # centroid lag near it, so that only crossings flown straight around it are needed. Its
    # lag alone is needed here: found on every 4th trial lag, then refined around the best,
    # on an eighth of the readings (on ``max_readings`` if that finds nothing)
    locate = shift(max_readings // 8 if max_readings else None, coarse=4)
    if not locate.ok and max_readings and t.size > max_readings // 8:
        locate = shift(max_readings, coarse=4)
    near = lags
    if locate.ok:
        near = lags[(lags >= locate.lag_s - 3.0) & (lags <= locate.lag_s + 5.0)]
    est = _centroid_estimate(fix_t, enu, vel, speed, t, value, near, cross_m, dz_m, n_boot,
                             seed, margin_s)
    if isinstance(est, LagEstimate):
        return est
    if method == "centroid":
        return LagEstimate(math.nan, math.nan, 0, est, "centroid")
    fallback = shift(max_readings)  # scored on every trial lag
    if not fallback.ok:
        return LagEstimate(math.nan, math.nan, 0, f"{est}; {fallback.reason}", "centroid")
    return fallback


def _shift_estimate(fix_t, enu, vel, speed, t, value, lags, same_air, block_s, n_boot, seed,
                    step_s, search_s, max_pair_s, coarse: int = 1, compact: bool = False
                    ) -> LagEstimate:
    """The shift estimate over ``lags`` (``same_air``: the along, across and height
    distances of the same air). With ``coarse`` > 1, scored on every ``coarse``-th lag and
    then on every lag within ``coarse`` steps of the best of those only (the others stay
    unscored: the lag is the same when the scores have one minimum; the bootstrap spread is
    not computed). ``compact``: bootstrap blocks numbered over the readings given only
    (readings of a subsample)."""
    scale = np.asarray(same_air, dtype=float)
    blocks = ((t - t.min()) // (block_s * 1000.0)).astype(int)
    if compact:
        blocks = np.unique(blocks, return_inverse=True)[1].reshape(-1)
    nblocks = int(blocks.max()) + 1

    def scores(sel: np.ndarray):
        return pair_scores(fix_t, enu, vel, t, value, lags[sel], scale, speed, blocks, nblocks,
                           max_pair_s)

    ssd = np.zeros((lags.size, nblocks))
    cnt = np.zeros((lags.size, nblocks))
    done = np.zeros(lags.size, dtype=bool)
    first = np.arange(0, lags.size, coarse)
    first = np.union1d(first, [lags.size - 1])  # the edges of the range are tried
    ssd[first], cnt[first] = scores(first)
    done[first] = True
    if coarse > 1:
        total = cnt.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(done & (total > 0), ssd.sum(axis=1) / total, np.nan)
        if np.isfinite(score).any():
            k = int(np.nanargmin(score))
            fine = np.flatnonzero(~done & (np.abs(np.arange(lags.size) - k) <= coarse))
            ssd[fine], cnt[fine] = scores(fine)
            done[fine] = True
    total = cnt.sum(axis=1)
    if total.max() < 10:
        return LagEstimate(math.nan, math.nan, int(total.max()),
                           "no passes in opposite directions through the same air", "shift")
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(done & (total > 0), ssd.sum(axis=1) / total, np.nan)
    k = int(np.nanargmin(score))
    if k in (0, lags.size - 1):
        return LagEstimate(math.nan, math.nan, int(total[k]),
                           f"best lag at the edge of the search range {search_s} s", "shift")
    best = argmin_refined(score, lags)
    if coarse > 1:
        return LagEstimate(best, math.nan, int(total[k]), method="shift")
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, nblocks, nblocks), minlength=nblocks)
        s, c = ssd @ w, cnt @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            boots.append(argmin_refined(np.where(c > 0, s / c, np.nan), lags))
    boots = np.array(boots)
    spread = float(np.nanstd(boots)) if np.isfinite(boots).sum() > 2 else math.nan
    return LagEstimate(best, max(spread, step_s / 2), int(total[k]), method="shift")


def synthetic_passes(n_passes: int = 8, speed: float = 5.0, length_m: float = 200.0,
                     lat0: float = 52.0, lon0: float = 5.0, alt: float = 40.0,
                     rate_hz: float = 10.0):
    """A track of straight east-west passes, alternately east and west (for tests).

    Returns
    -------
    fix_t, lat, lon, alt
        Times in ms and positions, ``rate_hz`` fixes per second.
    """
    k = _M_PER_DEG * math.cos(math.radians(lat0))
    per_pass = length_m / speed
    t = np.arange(0, n_passes * per_pass, 1.0 / rate_hz)
    leg = (t // per_pass).astype(int)
    frac = (t % per_pass) / per_pass
    x = np.where(leg % 2 == 0, frac, 1 - frac) * length_m - length_m / 2
    lon = lon0 + x / k
    lat = np.full_like(t, lat0)
    return t * 1000.0, lat, lon, np.full_like(t, alt)
