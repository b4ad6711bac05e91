"""Legs, passes and curtains found from the geometry and time of a track.

A curtain flight goes back and forth along a line at a few heights, climbing or descending
between passes, and a flight may fly several curtains at different distances from the
source. :func:`find_legs` cuts the time-ordered track at its along-line **turning points**
(hysteresis of ``turn`` metres on the along-axis position, smoothed over ``smooth_s``
seconds so that noise at 50 Hz makes no turns), at **corners** (the direction of travel
changing by more than ``corner`` degrees), at time gaps and where the **height leaves
its plateau** (a change of more than ``dz`` from the running height of the piece, robust to
slow climbs at any log rate). :func:`group_curtains` puts consecutive legs into one curtain
while each lies within ``separation`` metres of the line of the previous ones, and starts a
new curtain where the flight moves to another line.

Examples
--------
Two curtains, 30 m apart, three passes each (4, 8, 12 m), flown at 1 Hz and climbing at
0.5 m/s at the ends:

>>> t, x, y, z = [], [], [], []
>>> now = 0.0
>>> for off in (50.0, 80.0):
...     for k, h in enumerate((4.0, 8.0, 12.0)):
...         a = np.arange(-60.0, 60.1, 2.0)[:: 1 if k % 2 == 0 else -1]
...         for v in a:
...             t.append(now); x.append(off); y.append(v); z.append(h); now += 1.0
...         for c in np.arange(h + 0.5, h + 4.0, 0.5):        # 0.5 m/s climb at the end
...             t.append(now); x.append(off); y.append(a[-1]); z.append(c); now += 1.0
>>> t, x, y, z = map(np.asarray, (t, x, y, z))
>>> legs = find_legs(t, x, y, z)
>>> [round(g.height, 1) for g in legs if g.transect]
[4.0, 8.0, 12.0, 4.0, 8.0, 12.0]
>>> curtains = group_curtains(legs, x, y)
>>> [len(c.legs) for c in curtains], [round(c.offset) for c in curtains]
([3, 3], [50, 80])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

__all__ = ["CurtainLegs", "Leg", "find_legs", "group_curtains", "main_axis"]


@dataclass(frozen=True)
class Leg:
    """A piece of the track flown at one height without turning.

    ``index``: positions of its samples in the arrays given to :func:`find_legs`;
    ``height``: median height; ``length``: extent along its own line (m); ``transect``:
    long enough to be a pass of a curtain (set by :func:`find_legs`).
    """

    index: np.ndarray
    height: float
    length: float
    heading: float
    transect: bool


@dataclass(frozen=True)
class CurtainLegs:
    """Consecutive legs on one line: the legs, the line (centre and unit vector, east/north
    metres) and its offset from the origin along the flight's cross axis."""

    legs: list[Leg]
    centre: tuple[float, float]
    along: tuple[float, float]
    offset: float

    @property
    def index(self) -> np.ndarray:
        """The samples of all legs."""
        return np.sort(np.concatenate([g.index for g in self.legs]))


def _smooth(t: np.ndarray, v: np.ndarray, window: float) -> np.ndarray:
    """Running median of ``v`` over ``window`` seconds centred on each sample."""
    if v.size < 3 or window <= 0:
        return v.copy()
    lo = np.searchsorted(t, t - window / 2, side="left")
    hi = np.searchsorted(t, t + window / 2, side="right")
    if np.all(hi - lo <= 1):
        return v.copy()
    out = np.empty_like(v)
    for i in range(v.size):
        out[i] = np.median(v[lo[i]:hi[i]])
    return out


def main_axis(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unit vector (east, north) of the dominant direction of travel (mod 180°): the peak of
    the step headings weighted by step length.

    Examples
    --------
    >>> [round(v, 6) + 0.0 for v in main_axis(np.arange(10.0), np.zeros(10))]
    [1.0, 0.0]
    """
    dx, dy = np.diff(x), np.diff(y)
    step = np.hypot(dx, dy)
    ok = step > 0
    if not ok.any():
        return 1.0, 0.0
    ang = np.degrees(np.arctan2(dy[ok], dx[ok])) % 180.0
    hist = np.bincount(np.floor(ang).astype(int) % 180, weights=step[ok], minlength=180)
    smooth = sum(np.roll(hist, k) for k in range(-5, 6))
    peak = float(np.argmax(smooth)) + 0.5
    diff = (ang - peak + 90.0) % 180.0 - 90.0
    near = np.abs(diff) <= 10.0
    phi = math.radians(peak + float(np.average(diff[near], weights=step[ok][near])))
    return math.cos(phi), math.sin(phi)


def _turns(a: np.ndarray, turn: float) -> list[int]:
    """Indices of the along-axis turning points (hysteresis ``turn`` metres)."""
    cuts: list[int] = []
    direction, hi_i, lo_i, ext = 0, 0, 0, 0
    for i in range(1, a.size):
        if direction == 0:
            hi_i = i if a[i] > a[hi_i] else hi_i
            lo_i = i if a[i] < a[lo_i] else lo_i
            if a[i] - a[lo_i] > turn or a[hi_i] - a[i] > turn:
                direction, ext = (1 if a[i] - a[lo_i] > turn else -1), i
            continue
        if direction * (a[i] - a[ext]) > 0:
            ext = i
        elif direction * (a[ext] - a[i]) > turn:
            cuts.append(ext)
            direction, ext = -direction, i
    return cuts


def _heading(t: np.ndarray, x: np.ndarray, y: np.ndarray, window: float):
    """Direction of travel (unit vectors) from the displacement over ``window`` seconds
    around each sample, and whether it moved at least 2 m in that time."""
    lo = np.searchsorted(t, t - window / 2, side="left")
    hi = np.minimum(np.searchsorted(t, t + window / 2, side="right"), t.size) - 1
    lo = np.minimum(lo, np.maximum(hi - 1, 0))
    hi = np.maximum(hi, np.minimum(lo + 1, t.size - 1))
    dx, dy = x[hi] - x[lo], y[hi] - y[lo]
    d = np.hypot(dx, dy)
    moving = d >= 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return dx / d, dy / d, moving


def _corners(hx: np.ndarray, hy: np.ndarray, moving: np.ndarray, angle: float) -> list[int]:
    """Where the direction of travel leaves the piece's direction by more than ``angle``
    degrees for three moving samples in a row."""
    cos_max = math.cos(math.radians(angle))
    cuts: list[int] = []
    sx = sy = 0.0
    count, off = 0, 0
    for i in range(hx.size):
        if not moving[i]:
            continue
        if count >= 3:
            norm = math.hypot(sx, sy)
            if norm > 0 and (hx[i] * sx + hy[i] * sy) / norm < cos_max:
                off += 1
                if off == 3:
                    cut = i
                    j = i - 1
                    while j > 0 and off > 1:
                        if moving[j]:
                            cut, off = j, off - 1
                        j -= 1
                    cuts.append(cut)
                    sx = sy = 0.0
                    count, off = 0, 0
                continue
            off = 0
        sx, sy, count = sx + hx[i], sy + hy[i], count + 1
    return cuts


def _height_steps(z: np.ndarray, dz: float) -> list[int]:
    """Starts of new height plateaus: where the height leaves the running median of the piece
    by more than ``dz`` (and stays away for the next samples)."""
    cuts, start = [], 0
    for i in range(1, z.size):
        ref = float(np.median(z[max(start, i - 200):i]))
        if abs(z[i] - ref) > dz:
            cuts.append(i)
            start = i
    return cuts


def _merge_steps(z: np.ndarray, lo: int, cuts: list[int], hi: int, merge: float) -> list[int]:
    """Keep the height cuts of one straight piece that separate plateaus more than ``merge``
    metres apart (median heights): altitude drift and small climbs flown on a leg do not
    make new passes."""
    keep: list[int] = []
    start = lo
    for c, nxt in zip(cuts, [*cuts[1:], hi][:len(cuts)], strict=True):
        if c <= start or nxt <= c:
            continue
        if abs(float(np.median(z[c:nxt])) - float(np.median(z[start:c]))) > merge:
            keep.append(c)
            start = c
    return keep


def find_legs(t: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, *,
              axis: tuple[float, float] | None = None, turn: float = 5.0, dz: float | None = None,
              smooth_s: float = 3.0, min_length: float = 20.0, corner: float = 30.0,
              max_gap: float | None = None) -> list[Leg]:
    """Cut a track (times ``t`` s, east ``x``/north ``y`` m, height ``z`` m) into legs.

    Parameters
    ----------
    axis
        Direction of the passes (default :func:`main_axis` of the track).
    turn
        Hysteresis (m) of an along-axis turning point.
    dz
        Height change (m) that starts a new leg; default ``max(1, 4 x the height noise)``.
    smooth_s
        Running-median window (s) on the along-axis position and the height.
    min_length
        A leg at least this long (m, along its line) with 5 samples is a transect.
    corner
        A change of the direction of travel (degrees) that ends a leg (a transit flown
        into the first pass without turning back).
    max_gap
        A time gap (s) that ends a leg; default ``max(10, 5 x the median step)``.
    """
    order = np.argsort(t, kind="stable")
    ts, xs, ys, zs = t[order], x[order], y[order], z[order]
    n = ts.size
    if n == 0:
        return []
    ax, ay = axis if axis is not None else main_axis(xs, ys)
    a = _smooth(ts, xs * ax + ys * ay, smooth_s)
    zf = _smooth(ts, zs, smooth_s)
    steps = np.diff(ts)
    if max_gap is None:
        max_gap = max(10.0, 5.0 * float(np.median(steps))) if steps.size else 10.0
    if dz is None:
        noise = 1.4826 * float(np.median(np.abs(zs - zf))) if n > 2 else 0.0
        dz = max(1.0, 4.0 * noise)
    bounds = {0, n}
    bounds.update(int(i) + 1 for i in np.flatnonzero(steps > max_gap))
    pieces = sorted(bounds)
    cuts = set(pieces)
    for lo, hi in pairwise(pieces):
        cuts.update(lo + c for c in _turns(a[lo:hi], turn))
    hx, hy, moving = _heading(ts, xs, ys, max(smooth_s, 2.0))
    pieces = sorted(cuts)
    for lo, hi in pairwise(pieces):
        cuts.update(lo + c for c in _corners(hx[lo:hi], hy[lo:hi], moving[lo:hi], corner))
    pieces = sorted(cuts)
    final = set(pieces)
    for lo, hi in pairwise(pieces):
        final.update(_merge_steps(zf, lo, [lo + c for c in _height_steps(zf[lo:hi], dz)], hi,
                                  max(1.5, dz)))
    edges = sorted(final)
    legs = []
    for lo, hi in pairwise(edges):
        idx = order[lo:hi]
        if idx.size == 0:
            continue
        length, heading = _extent(x[idx], y[idx])
        legs.append(Leg(idx, float(np.median(z[idx])), length, heading,
                        idx.size >= 5 and length >= min_length))
    return legs


def _extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Length along the principal axis and its heading (degrees mod 180, from east)."""
    if x.size < 2:
        return 0.0, 0.0
    c = np.cov(np.vstack([x - x.mean(), y - y.mean()]))
    _, v = np.linalg.eigh(c)
    ex, ey = v[:, -1]
    proj = x * ex + y * ey
    return float(np.ptp(proj)), math.degrees(math.atan2(ey, ex)) % 180.0


def group_curtains(legs: list[Leg], x: np.ndarray, y: np.ndarray, *,
                   separation: float = 12.0, max_angle: float = 25.0,
                   min_passes: int = 2) -> list[CurtainLegs]:
    """Consecutive transects on one line make a curtain.

    Transects more than ``max_angle`` degrees off the dominant heading of the transects are
    transit legs. A transect joins the current curtain while the median distance of its
    samples from that curtain's line (fitted to its transects so far) is below
    ``separation`` m; otherwise it starts a new curtain. Curtains with fewer than
    ``min_passes`` transects are dropped; curtains on the same line flown at different times
    stay separate.
    """
    tr = [g for g in legs if g.transect]
    if not tr:
        return []
    idx_all = np.concatenate([g.index for g in tr])
    ax, ay = main_axis(*_ordered(idx_all, x, y))
    ref = math.degrees(math.atan2(ay, ax)) % 180.0
    tr = [g for g in tr if abs((g.heading - ref + 90.0) % 180.0 - 90.0) <= max_angle]
    groups: list[list[Leg]] = []
    for g in tr:
        if groups:
            centre, along = _line(groups[-1], x, y)
            d = (x[g.index] - centre[0]) * -along[1] + (y[g.index] - centre[1]) * along[0]
            if abs(float(np.median(d))) <= separation:
                groups[-1].append(g)
                continue
        groups.append([g])
    out = []
    for grp in groups:
        if len(grp) < min_passes:
            continue
        centre, along = _line(grp, x, y)
        if along[0] * ax + along[1] * ay < 0:
            along = (-along[0], -along[1])
        out.append(CurtainLegs(grp, centre, along, centre[0] * ay - centre[1] * ax))
    return out


def _ordered(idx: np.ndarray, x: np.ndarray, y: np.ndarray):
    idx = np.sort(idx)
    return x[idx], y[idx]


def _line(legs: list[Leg], x: np.ndarray, y: np.ndarray):
    """Centre and unit vector of the line through the samples of ``legs`` (principal axis)."""
    idx = np.concatenate([g.index for g in legs])
    px, py = x[idx], y[idx]
    cx, cy = float(px.mean()), float(py.mean())
    if idx.size < 2:
        return (cx, cy), (1.0, 0.0)
    _, v = np.linalg.eigh(np.cov(np.vstack([px - cx, py - cy])))
    ex, ey = (float(c) for c in v[:, -1])
    proj = (px - cx) * ex + (py - cy) * ey
    mid = 0.5 * (float(proj.min()) + float(proj.max()))
    return (cx + mid * ex, cy + mid * ey), (ex, ey)
