"""The clock model's runs of syncs taken at once (:meth:`Clock.update_many`
<dronesense.flight.clock.Clock.update_many>), bit for bit the sequential model.

The sliding least-squares fit of :class:`~dronesense.flight.clock.Clock` keeps running sums
updated one sync at a time (add the new sync, remove those leaving the window). Here the
window of every sync of a run is found with a search, the terms are laid out in the order the
sequential model adds and removes them, and one ``np.add.accumulate`` (a sequential sum)
gives the same sums to the last bit; the fit, the drift clamp and the gate follow as array
expressions. The run stops at the first sync outside the gate (a step candidate or an
outlier), which the sequential model takes.

Examples
--------
>>> import numpy as np
>>> window_starts(np.array([0.0, 1000.0, 700_000.0, 700_500.0]), 1)
array([0, 2, 2])
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np

__all__ = ["FitLimits", "gated_run", "window_starts"]


class FitLimits(NamedTuple):
    """The constants of the clock model (:mod:`dronesense.flight.clock`) a run needs."""

    window_syncs: int
    window_s: float
    min_rate_span_s: float
    min_rate_syncs: int
    max_drift_ppm: float
    step_threshold_ms: float


#: The clock model's defaults (the same values as :mod:`dronesense.flight.clock`'s).
DEFAULT_LIMITS = FitLimits(600, 600.0, 30.0, 5, 500.0, 50.0)


def window_starts(x: np.ndarray, w: int, limits: FitLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Index of the first sync of the sliding window after each of ``x[w:]`` enters it (the
    window holds ``x[:w]`` before; ``x`` non-decreasing), as the model's ``add`` slides it."""
    i = np.arange(w, x.size)
    xi = x[i]
    span = limits.window_s * 1000.0
    g = np.minimum(np.searchsorted(x, xi - span, side="left"), i)
    while True:  # the exact test of _Model.add, whatever the rounding of xi - span
        back = (g > 0) & (xi - x[np.maximum(g - 1, 0)] <= span)
        fwd = xi - x[g] > span
        if not (back.any() or fwd.any()):
            break
        g = g - back + fwd
    lo = np.minimum(i, np.maximum(i - (limits.window_syncs - 1), g))
    return np.maximum.accumulate(lo)


def gated_run(bc, b: np.ndarray, u: np.ndarray, limits: FitLimits = DEFAULT_LIMITS
              ) -> tuple[int, np.ndarray, np.ndarray]:
    """Take the leading syncs ``b`` (ms), ``u`` (µs, plausible) of a boot that pass the gate of
    its current piece (no candidate waiting), all at once: the running sums of the sliding
    window are accumulated in the order the model's ``add`` adds and removes terms, so every
    value is bit for bit the sequential one. Returns how many were taken and the piece's
    ``a`` and ``c`` after each."""
    model = bc.models[-1]
    w = len(model.x)
    xn = b - model.b0
    yn = (u - model.u0).astype(float) - xn * 1000.0
    x = np.concatenate([np.fromiter(model.x, float, w), xn])
    back = np.flatnonzero(np.diff(x) < 0)
    if back.size:  # a vehicle time going back: stop before it
        m = int(back[0]) + 1 - w
        if m <= 0:
            return 0, xn[:0], xn[:0]
        x, xn, yn, b, u = x[:w + m], xn[:m], yn[:m], b[:m], u[:m]
    y = np.concatenate([np.fromiter(model.y, float, w), yn])
    m = xn.size
    lo = window_starts(x, w, limits)
    sizes = 1 + np.diff(lo, prepend=0)
    ends = np.cumsum(sizes)
    adds = ends - sizes
    gone = np.ones(ends[-1], dtype=bool)
    gone[adds] = False
    sums = []
    for s0, v in zip(model.sums, (x, y, x * x, x * y, y * y), strict=True):
        terms = np.empty(ends[-1] + 1)
        terms[0] = s0
        terms[1 + adds] = v[w:]
        terms[1:][gone] = -v[:lo[-1]]
        sums.append(np.add.accumulate(terms)[ends])
    sx, sy, sxx, sxy, syy = sums
    i = np.arange(w, w + m)
    cnt = (i - lo + 1).astype(float)
    xm, ym = sx / cnt, sy / cnt
    vxx, vxy, vyy = sxx - sx * xm, sxy - sx * ym, syy - sy * ym
    span = x[i] - x[lo]
    fit = (cnt >= limits.min_rate_syncs) & (span >= limits.min_rate_span_s * 1000.0) & (vxx > 0)
    rate = np.zeros(m)
    np.divide(vxy, vxx, out=rate, where=fit)
    rate = np.clip(rate * 1000.0, -limits.max_drift_ppm, limits.max_drift_ppm) / 1000.0
    last = np.maximum.accumulate(np.where(fit, np.arange(m), -1))
    c = np.where(last >= 0, rate[np.maximum(last, 0)], model.c)
    a = ym - c * xm
    # the gate: each sync against the model after the previous one
    a_prev = np.concatenate([[model.a], a[:-1]])
    c_prev = np.concatenate([[model.c], c[:-1]])
    pred = float(model.u0) + xn * 1000.0 + a_prev + c_prev * xn
    out = np.flatnonzero(np.abs(u.astype(float) - pred) > limits.step_threshold_ms * 1000.0)
    k = int(out[0]) if out.size else m
    if k == 0:
        return 0, a[:0], c[:0]
    j = k - 1
    model.x = deque(x[lo[j]:w + k].tolist())
    model.y = deque(y[lo[j]:w + k].tolist())
    model.sums = [float(s[j]) for s in sums]
    model.a, model.c = float(a[j]), float(c[j])
    model.fitted = model.fitted or bool(fit[:k].any())
    rss = vyy[j] - 2.0 * c[j] * vxy[j] + c[j] * c[j] * vxx[j]
    model.rms_us = math.sqrt(max(0.0, float(rss)) / cnt[j])
    bc.used += k
    bc.last_b = float(b[j])
    return k, a[:k], c[:k]
