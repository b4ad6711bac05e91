"""The numeric kernels of sensor-lag estimation (:mod:`dronesense.flight.lag`).

The parabola-refined minimum of a score over trial lags (:func:`argmin_refined`), the plume
crossings of a reading series (:func:`crossings`) and the running percentile they are found
against (:func:`running_percentile`). The pairs of readings that sampled the same air and
their scores per trial lag are in :mod:`dronesense.flight.lagpairs`.

Examples
--------
>>> import numpy as np
>>> argmin_refined(np.array([3.0, 1.0, 3.0]), np.array([0.0, 0.1, 0.2]))
0.1
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["argmin_refined", "crossings", "running_percentile"]


def argmin_refined(score: np.ndarray, lags: np.ndarray) -> float:
    """The lag of the smallest finite score, refined by a parabola through its neighbours
    (NaN if no score is finite)."""
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


def running_percentile(value: np.ndarray, percent: float, size: int) -> np.ndarray:
    """The ``percent`` percentile of the ``size`` values centred on each value (``size``
    odd; the series is extended by repeating its end values), as
    ``scipy.ndimage.percentile_filter(value, percent, size, mode="nearest")``: the element of
    rank ``int(size * percent / 100)`` of each sorted window.

    Examples
    --------
    >>> running_percentile(np.array([5.0, 1.0, 4.0, 2.0, 3.0]), 50, 3).tolist()
    [5.0, 4.0, 2.0, 3.0, 3.0]
    """
    half = size // 2
    rank = size - 1 if percent >= 100 else int(float(size) * percent / 100.0)
    padded = np.concatenate([np.full(half, value[0]), value, np.full(half, value[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    out = np.empty(value.size)
    step = max(1, (1 << 20) // size)  # rows per chunk: about 8 MB of windows at a time
    for lo in range(0, value.size, step):
        out[lo:lo + step] = np.partition(windows[lo:lo + step], rank, axis=1)[:, rank]
    return out


def crossings(t: np.ndarray, value: np.ndarray, margin_s: float, k_detect: float = 6.0):
    """Plume crossings of a reading series (times increasing): ``(centroid time ms, excess
    sum)`` each.

    A crossing is a run of readings more than ``k_detect`` noise deviations above a running
    background (20th percentile over 60 s), merged across dips shorter than 2 s. Its window
    reaches ``margin_s`` past the run on both sides (halfway to a neighbouring run at most),
    so the slow tail of a lagging sensor stays inside; the background under it is the median
    of the 10 s just outside the window. The centroid is the excess-weighted mean time.
    """
    interval = float(np.median(np.diff(t)))
    win = max(5, round(60_000.0 / interval) | 1)
    base = running_percentile(value, 20, win)
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
        # t increases: the window and the 10 s on both sides are slices
        a, b = int(np.searchsorted(t, lo, "left")), int(np.searchsorted(t, hi, "right"))
        before = int(np.searchsorted(t, lo - 10_000.0, "left"))
        after = int(np.searchsorted(t, hi + 10_000.0, "right"))
        side = np.concatenate([value[before:a], value[b:after]])
        background = float(np.median(side)) if side.size >= 3 \
            else float(np.median(base[a:b]))
        excess = value[a:b] - background
        total = float(excess.sum())
        if total > 0:
            out.append((float((excess * t[a:b]).sum() / total), total))
    return out
