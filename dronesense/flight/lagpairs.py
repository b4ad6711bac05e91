"""Pairs of readings that sampled the same air on opposite passes, and their scores per lag.

The ``shift`` estimate of :mod:`dronesense.flight.lag` scores each trial lag by the mean
squared difference of readings that, placed where the vehicle was ``lag`` seconds before
them, lie within a unit distance of each other (after scaling each axis by its "same air"
distance) and were flown in opposite directions. :func:`opposite_pairs` finds those pairs
for one lag with a cell join in plain numpy: cells of one unit across the flight lines, in
height and in time (the pairing window), an exact sorted search along the lines, then the
exact distance. :func:`pair_scores` runs it for every trial lag and sums the squared
differences per bootstrap block.

Examples
--------
>>> import numpy as np
>>> q = np.array([[0.0, 0, 0], [0.5, 0, 0], [0.2, 0.1, 0], [3.0, 0, 0]])
>>> a, b = opposite_pairs(q, np.zeros(4), np.array([True, False, False, True]), 600_000.0)
>>> a.tolist(), b.tolist()
([0, 0], [1, 2])
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["opposite_pairs", "pair_scores", "time_spans"]

_CELL = 1.0 + 1e-9  # a cell a little wider than the unit: pairs are never two cells apart


def opposite_pairs(q: np.ndarray, times: np.ndarray, ahead: np.ndarray, window_ms: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(a, b)``, ``a < b``, of points at most a unit apart, one flown ahead and the
    other back, whose times are at most ``window_ms`` apart.

    Parameters
    ----------
    q
        Points, shape ``(n, 3)``: along the flight lines, across them, height; each axis
        scaled so that "the same air" is the unit ball.
    times
        Their times (ms).
    ahead
        Whether each point was flown in the positive direction along the lines.
    window_ms
        Points further apart in time are never paired (``inf``: no limit).

    Returns
    -------
    a, b
        Indices into ``q``, sorted by ``a`` then ``b``.
    """
    empty = np.empty(0, dtype=np.int64)
    fwd, back = np.flatnonzero(ahead), np.flatnonzero(~ahead)
    if not fwd.size or not back.size:
        return empty, empty
    # integer cells across the lines, in height and in time, padded by one on every side
    cy = np.floor(q[:, 1] / _CELL)
    cz = np.floor(q[:, 2] / _CELL)
    span = float(times.max() - times.min())
    timed = math.isfinite(window_ms) and span > window_ms
    ct = np.floor((times - times.min()) / (window_ms * _CELL)) if timed else np.zeros(len(q))
    iy = (cy - cy.min()).astype(np.int64) + 1
    iz = (cz - cz.min()).astype(np.int64) + 1
    it = ct.astype(np.int64) + 1
    ny, nz = int(iy.max()) + 2, int(iz.max()) + 2
    cell = (it * nz + iz) * ny + iy
    # the points flown back, sorted by cell then along-line position: one sorted key, the
    # rank of the cell among those held times a width that keeps cells apart, plus x
    x = q[:, 0] - q[:, 0].min()
    width = float(x.max()) + 4.0
    cells, rank = np.unique(cell[back], return_inverse=True)
    rank = rank.reshape(-1)
    o = np.lexsort((x[back], rank))
    order = back[o]
    key = rank[o] * width + x[order]
    tol = 1e-6 + 4e-16 * float(key[-1])
    dts = (-1, 0, 1) if timed else (0,)
    offsets = np.array([(dt * nz + dz) * ny + dy for dt in dts for dz in (-1, 0, 1)
                        for dy in (-1, 0, 1)], dtype=np.int64)
    # the points flown ahead in the same order (the searches of one offset increase), and
    # searched only in the neighbouring cells that hold points flown back
    fwd = fwd[np.lexsort((x[fwd], cell[fwd]))]
    nbr = (cell[fwd][None, :] + offsets[:, None]).ravel()
    at = np.minimum(np.searchsorted(cells, nbr), cells.size - 1)
    use = np.flatnonzero(cells[at] == nbr)
    if not use.size:
        return empty, empty
    src = fwd[use % fwd.size]
    near = at[use] * width + x[src]
    lo = np.searchsorted(key, near - (1.0 + tol), side="left")
    hi = np.searchsorted(key, near + (1.0 + tol), side="right")
    count = hi - lo
    total = int(count.sum())
    if not total:
        return empty, empty
    start = np.cumsum(count) - count
    i = np.repeat(src, count)
    j = order[np.arange(total) - np.repeat(start - lo, count)]
    d2 = (q[i, 0] - q[j, 0]) ** 2 + (q[i, 1] - q[j, 1]) ** 2 + (q[i, 2] - q[j, 2]) ** 2
    close = d2 <= 1.0
    if timed:
        close &= np.abs(times[i] - times[j]) <= window_ms
    i, j = i[close], j[close]
    a, b = np.minimum(i, j), np.maximum(i, j)
    o = np.argsort(a * np.int64(len(q)) + b)
    return a[o], b[o]


def pair_scores(pos_t: np.ndarray, enu: np.ndarray, vel: np.ndarray, t: np.ndarray,
                value: np.ndarray, lags: np.ndarray, scale: np.ndarray, speed: float,
                blocks: np.ndarray, nblocks: int, max_pair_s: float = math.inf
                ) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared differences and pair counts per (lag, block).

    For each trial lag (seconds), every reading is placed where the vehicle was ``lag``
    seconds before it (readings outside the track are left out); readings flown along the
    lines (``|vx| > speed / 2``) in opposite directions, within a unit distance of each other
    in ``enu / scale`` and at most ``max_pair_s`` apart, form the pairs. A pair counts in the
    block of its earlier reading.

    Parameters
    ----------
    pos_t, enu, vel
        The track: times (ms, increasing), positions in the along-track frame (x along the
        legs) and horizontal velocities (m/s).
    t, value
        The readings (ms, increasing).
    lags
        Trial lags, seconds.
    scale
        The "same air" distance of each axis (m).
    speed
        The typical ground speed (m/s).
    blocks, nblocks
        The bootstrap block of each reading, and how many blocks there are.
    max_pair_s
        Readings further apart in time are never paired.

    Returns
    -------
    ssd, cnt
        Arrays of shape ``(len(lags), nblocks)``.
    """
    nl = lags.size
    ssd = np.zeros((nl, nblocks))
    cnt = np.zeros((nl, nblocks))
    cols = [np.ascontiguousarray(enu[:, j]) for j in range(3)]
    vx_track = np.ascontiguousarray(vel[:, 0])
    for k, lag in enumerate(lags.tolist()):
        tt = t - lag * 1000.0
        idx = np.flatnonzero((tt >= pos_t[0]) & (tt <= pos_t[-1]))
        if idx.size < 2:
            continue
        vx = np.interp(tt[idx], pos_t, vx_track)
        on_leg = np.abs(vx) > 0.5 * speed
        sub = idx[on_leg]
        if sub.size < 2:
            continue
        q = np.column_stack([np.interp(tt[sub], pos_t, c) for c in cols]) / scale
        a, b = opposite_pairs(q, t[sub], vx[on_leg] > 0, max_pair_s * 1000.0)
        if not a.size:
            continue
        a, b = sub[a], sub[b]
        d2 = (value[a] - value[b]) ** 2
        ssd[k] = np.bincount(blocks[a], weights=d2, minlength=nblocks)
        cnt[k] = np.bincount(blocks[a], minlength=nblocks)
    return ssd, cnt


def time_spans(t: np.ndarray, max_readings: int | None, span_ms: float) -> np.ndarray:
    """Which readings (times ``t`` increasing, ms) a bounded estimate uses: whole spans of
    ``span_ms``, evenly spread over the readings, about ``max_readings`` in all (every
    reading when there are no more; at least one span).

    Pairs are found within a span as in the whole series (a span is twice the pairing window:
    few pairs are lost at its ends), so the pairs and the work shrink with the readings, and
    a bootstrap over the blocks of the spans kept measures the spread of what was used.

    Examples
    --------
    >>> t = np.arange(0.0, 100_000.0, 100.0)                # 1000 readings, 10 per second
    >>> keep = time_spans(t, 300, 10_000.0)                 # spans of 10 s
    >>> int(keep.sum()), np.unique(t[keep] // 10_000).astype(int).tolist()
    (300, [1, 5, 8])
    """
    keep = np.ones(t.size, dtype=bool)
    if max_readings is None or t.size <= max_readings:
        return keep
    duration = float(t[-1] - t[0])
    if not (math.isfinite(span_ms) and span_ms > 0):
        span_ms = duration * max_readings / (4.0 * t.size)  # about 4 spans kept
    span = ((t - t[0]) // max(span_ms, 1.0)).astype(np.int64)
    held = np.unique(span)
    want = max(1, int(max_readings * held.size // t.size))
    # spans at evenly spaced reading ranks: empty time (ground, gaps) is never chosen
    chosen = np.unique(span[((np.arange(want) + 0.5) * t.size / want).astype(np.int64)])
    return np.isin(span, chosen)
