"""The numeric kernels of sensor-lag estimation (:mod:`dronesense.flight.lag`).

Pairs of readings that sampled the same air (:func:`near_pairs`), their squared differences
per trial lag (:func:`pair_scores`), the parabola-refined minimum of a score over trial lags
(:func:`argmin_refined`) and the plume crossings of a reading series (:func:`crossings`).

Examples
--------
>>> import numpy as np
>>> argmin_refined(np.array([3.0, 1.0, 3.0]), np.array([0.0, 0.1, 0.2]))
0.1
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["argmin_refined", "crossings", "near_pairs", "pair_scores"]


def near_pairs(points: np.ndarray, times: np.ndarray, window_ms: float) -> np.ndarray:
    """Pairs (i < j) of points within a unit distance whose times are at most ``window_ms``
    apart (``times`` increasing): one k-d tree per two consecutive time windows, so that a
    long log of many flights over the same air costs its passes, not their square."""
    from scipy.spatial import cKDTree

    if not np.isfinite(window_ms) or times.size < 2 or times[-1] - times[0] <= window_ms:
        return cKDTree(points).query_pairs(1.0, output_type="ndarray")
    block = ((times - times[0]) // window_ms).astype(np.int64)
    starts = np.searchsorted(block, np.arange(block[-1] + 2), side="left")
    out = []
    for i in np.unique(block).tolist():
        a, mid, b = starts[i], starts[i + 1], starts[min(i + 2, block[-1] + 1)]
        pairs = cKDTree(points[a:b]).query_pairs(1.0, output_type="ndarray")
        if not pairs.size:
            continue
        pairs = pairs + a  # i < j in every pair (query_pairs)
        first = pairs[:, 0] < mid  # a pair of the next window alone is counted there
        close = np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= window_ms
        out.append(pairs[first & close])
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    return pairs[np.argsort(pairs[:, 0] * times.size + pairs[:, 1])]  # by i, then j


def pair_scores(pos_t, enu, vel, t, value, lags, scale, speed, blocks, nblocks,
            max_pair_s: float = math.inf):
    """Sum of squared differences and pair counts per (lag, block).

    ``enu`` is in the along-track frame (x along the legs); ``scale`` divides each axis so
    that "the same air" is a unit ball; readings more than ``max_pair_s`` apart are never
    paired.
    """
    nl = lags.size
    ssd = np.zeros((nl, nblocks))
    cnt = np.zeros((nl, nblocks))
    for k, lag in enumerate(lags):
        tt = t - lag * 1000.0
        inside = (tt >= pos_t[0]) & (tt <= pos_t[-1])
        idx = np.flatnonzero(inside)
        if idx.size < 2:
            continue
        p = np.column_stack([np.interp(tt[idx], pos_t, enu[:, j]) for j in range(3)])
        vx = np.interp(tt[idx], pos_t, vel[:, 0])
        on_leg = np.abs(vx) > 0.5 * speed
        sub = np.flatnonzero(on_leg)
        if sub.size < 2:
            continue
        pairs = near_pairs(p[sub] / scale, t[idx][sub], max_pair_s * 1000.0)
        if not pairs.size:
            continue
        a, b = sub[pairs[:, 0]], sub[pairs[:, 1]]
        keep = np.sign(vx[a]) != np.sign(vx[b])  # flown in opposite directions
        a, b = idx[a[keep]], idx[b[keep]]
        d2 = (value[a] - value[b]) ** 2
        np.add.at(ssd[k], blocks[a], d2)
        np.add.at(cnt[k], blocks[a], 1.0)
    return ssd, cnt


def argmin_refined(score: np.ndarray, lags: np.ndarray) -> float:
    finite = np.isfinite(score)
    if not finite.any():
        return math.nan
    k = int(np.nanargmin(score))
    if 0 < k < lags.size - 1 and np.isfinite(score[k - 1]) and np.isfinite(score[k + 1]):
        y0, y1, y2 = score[k - 1], score[k], score[k + 1]
        den = y0 - 2 * y1 + y2
        if den > 0:
            return float(lags[k] + 0.5 * (y0 - y2) / den * (lags[1] - lags[0]))
    return float(lags[k])


def crossings(t: np.ndarray, value: np.ndarray, margin_s: float, k_detect: float = 6.0):
    """Plume crossings of a reading series: ``(centroid time ms, excess sum)`` each.

    A crossing is a run of readings more than ``k_detect`` noise deviations above a running
    background (20th percentile over 60 s), merged across dips shorter than 2 s. Its window
    reaches ``margin_s`` past the run on both sides (halfway to a neighbouring run at most),
    so the slow tail of a lagging sensor stays inside; the background under it is the median
    of the 10 s just outside the window. The centroid is the excess-weighted mean time.
    """
    from scipy.ndimage import percentile_filter

    interval = float(np.median(np.diff(t)))
    win = max(5, round(60_000.0 / interval) | 1)
    base = percentile_filter(value, 20, size=win, mode="nearest")
    d = np.diff(value)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
    if not sigma > 0:  # quantised, noise-free values
        sigma = max(float(np.std(value)) * 1e-3, 1e-12)
    exc = value - base
    idx = np.flatnonzero(exc > k_detect * sigma)
    if not idx.size:
        return []
    runs = np.split(idx, np.flatnonzero(np.diff(t[idx]) > 2000.0) + 1)
    runs = [r for r in runs if r.size >= 3 and exc[r].max() > 2 * k_detect * sigma]
    out = []
    for j, r in enumerate(runs):
        lo = t[r[0]] - margin_s * 1000.0
        hi = t[r[-1]] + margin_s * 1000.0
        if j > 0:
            lo = max(lo, 0.5 * (t[runs[j - 1][-1]] + t[r[0]]))
        if j + 1 < len(runs):
            hi = min(hi, 0.5 * (t[r[-1]] + t[runs[j + 1][0]]))
        w = np.flatnonzero((t >= lo) & (t <= hi))
        side = np.flatnonzero(((t >= lo - 10_000.0) & (t < lo)) | ((t > hi) & (t <= hi + 10_000.0)))
        background = float(np.median(value[side])) if side.size >= 3 \
            else float(np.median(base[w]))
        excess = value[w] - background
        total = float(excess.sum())
        if total > 0:
            out.append((float((excess * t[w]).sum() / total), total))
    return out
