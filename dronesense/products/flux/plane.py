"""The curtain plane and its passes: where the wall stands, which way is downwind, and the
transects flown on it.

Positions are east/north metres in the local frame of the home point; ``s`` is the distance
along the curtain from its centre (left to right looking downwind), ``d`` the distance from
the plane (positive downwind).

Examples
--------
>>> import numpy as np
>>> x = np.tile(np.linspace(-100.0, 100.0, 41), 2)        # two east-west transects at y = 50
>>> y = np.full(x.size, 50.0)
>>> centre, along = fit_line(x, y, np.arange(x.size, dtype=float), max_offset=20.0)
>>> [round(v, 6) + 0.0 for v in centre], [round(v, 6) + 0.0 for v in along]
([0.0, 50.0], [1.0, 0.0])
>>> plane = orient(centre, along, downwind=(0.0, 1.0))   # wind from the south
>>> plane.along, plane.normal, round(plane.theta, 6)
((1.0, 0.0), (-0.0, 1.0), 0.0)
>>> [float(v) for v in plane.project(np.array([10.0]), np.array([80.0]))[1]]   # 30 m downwind
[30.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame

__all__ = ["CurtainPlane", "Passes", "find_passes", "fit_line", "given_line", "orient"]


@dataclass(frozen=True)
class CurtainPlane:
    """A vertical plane across the wind.

    Attributes
    ----------
    centre
        (east, north) of the centre of the curtain line, m.
    along
        Unit vector along the line, left to right looking downwind.
    normal
        Unit vector normal to the plane, pointing downwind.
    cos_theta
        Cosine of the angle between the wind and the normal.
    half_length
        Half the length of a given line (``None`` for a line fitted to the samples).
    """

    centre: tuple[float, float]
    along: tuple[float, float]
    normal: tuple[float, float]
    cos_theta: float
    half_length: float | None = None

    @property
    def theta(self) -> float:
        """Angle (degrees, 0-90) between the wind and the normal of the plane."""
        return math.degrees(math.acos(min(1.0, abs(self.cos_theta))))

    @property
    def azimuth_deg(self) -> float:
        """Direction of :attr:`along`, degrees clockwise from north."""
        return math.degrees(math.atan2(*self.along)) % 360.0

    def project(self, x, y):
        """``(s, d)``: distance along the line from its centre and from the plane."""
        (cx, cy), (ax, ay), (nx, ny) = self.centre, self.along, self.normal
        return ((x - cx) * ax + (y - cy) * ay, (x - cx) * nx + (y - cy) * ny)

    def near(self, s: np.ndarray, d: np.ndarray, max_offset: float) -> np.ndarray:
        """Mask of the points within ``max_offset`` of the plane (and of a given line's ends)."""
        on = np.abs(d) <= max_offset
        if self.half_length is not None:
            on &= np.abs(s) <= self.half_length + max_offset
        return on

    def normal_speed(self, speed: np.ndarray) -> np.ndarray:
        """The component of a horizontal wind ``speed`` along the normal (negative: the
        wind blows in through a wall whose normal points out of a box)."""
        return speed * self.cos_theta


def fit_line(x: np.ndarray, y: np.ndarray, t: np.ndarray, max_offset: float):
    """Centre and unit vector of the curtain line from the flight path.

    The transects dominate the path flown along one axis: the axis is the peak of the
    histogram of step headings (mod 180°, weighted by step length), the line's offset the
    peak of the histogram of the cross-axis positions of the steps along that axis. Transit
    legs to and from the curtain neither set the axis nor the offset.
    """
    order = np.argsort(t, kind="stable")
    xs, ys = x[order], y[order]
    dx, dy = np.diff(xs), np.diff(ys)
    step = np.hypot(dx, dy)
    moving = step > 0.2
    if moving.sum() < 5:
        raise NoUsableDataError("the samples do not move along a line: not a curtain flight")
    ang = np.degrees(np.arctan2(dy[moving], dx[moving])) % 180.0
    w = step[moving]
    ax, ay, near = _main_axis(ang, w)
    mx = 0.5 * (xs[1:] + xs[:-1])[moving][near]
    my = 0.5 * (ys[1:] + ys[:-1])[moving][near]
    d0 = _main_offset(-mx * ay + my * ax, w[near], max_offset)
    dist = -x * ay + y * ax - d0
    along = x * ax + y * ay
    keep = np.abs(dist) <= max_offset
    mid = 0.5 * (float(np.min(along[keep])) + float(np.max(along[keep])))
    return (mid * ax - d0 * ay, mid * ay + d0 * ax), (float(ax), float(ay))


def _main_axis(ang: np.ndarray, w: np.ndarray):
    """Unit vector of the dominant heading (mod 180°) and the mask of the steps along it."""
    hist = np.bincount(np.floor(ang).astype(int) % 180, weights=w, minlength=180)
    smooth = sum(np.roll(hist, k) for k in range(-3, 4))
    peak = float(np.argmax(smooth)) + 0.5
    diff = (ang - peak + 90.0) % 180.0 - 90.0
    near = np.abs(diff) <= 6.0
    phi = math.radians(peak + float(np.average(diff[near], weights=w[near])))
    return math.cos(phi), math.sin(phi), near


def _main_offset(d: np.ndarray, w: np.ndarray, max_offset: float) -> float:
    """Cross-axis offset of the line: the peak of the offsets of the steps along the axis."""
    lo = math.floor(d.min())
    dh = np.bincount(np.floor(d - lo).astype(int), weights=w)
    dh = sum(np.roll(np.pad(dh, 3), k) for k in range(-2, 3))[3:-3]
    d0 = lo + float(np.argmax(dh)) + 0.5
    close = np.abs(d - d0) <= max_offset / 2
    return float(np.median(d[close]))


def given_line(frame: LocalFrame, line) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Centre, unit vector and length of a line ``((lat1, lon1), (lat2, lon2))``."""
    (la1, lo1), (la2, lo2) = line
    x1, y1, _ = frame.forward(la1, lo1)
    x2, y2, _ = frame.forward(la2, lo2)
    length = math.hypot(float(x2 - x1), float(y2 - y1))
    if length < 1.0:
        raise ParameterError("line", "the two ends are the same point")
    along = (float(x2 - x1) / length, float(y2 - y1) / length)
    return (float(x1 + x2) / 2, float(y1 + y2) / 2), along, length


def orient(centre: tuple[float, float], along: tuple[float, float],
           downwind: tuple[float, float], half_length: float | None = None) -> CurtainPlane:
    """The plane through a line, its normal turned downwind (``downwind``: unit east, north)."""
    ax, ay = along
    dwe, dwn = downwind
    nx, ny = -ay, ax
    if nx * dwe + ny * dwn < 0:
        nx, ny = -nx, -ny
    return CurtainPlane(centre, (ny, -nx), (nx, ny), nx * dwe + ny * dwn, half_length)


@dataclass(frozen=True)
class Passes:
    """Runs of consecutive samples at one height.

    Attributes
    ----------
    ids
        Pass number of each sample.
    transects
        Per pass: a real transect (at least 5 samples spanning 30 % of the curtain).
    heights
        Sorted median heights of the transects (without any: the lowest and highest sample).
    """

    ids: np.ndarray
    transects: np.ndarray
    heights: np.ndarray

    def levels(self, dz: float) -> tuple[float, float, float]:
        """Lowest and top pass, and the top of the curtain grid (half a level above the top)."""
        z_low, z_top = float(self.heights.min()), float(self.heights.max())
        gap = float(np.median(np.diff(self.heights))) if self.heights.size > 1 else dz
        return z_low, z_top, z_top + max(gap, dz) / 2

    @classmethod
    def numbered(cls, ids: np.ndarray, s: np.ndarray, z: np.ndarray, width: float,
                 eligible: np.ndarray | None = None) -> Passes:
        """The passes of samples numbered ``ids`` (0, 1, ... per sample; along-curtain ``s``,
        height ``z``): a transect has at least 5 samples spanning 30 % of ``width`` (and is
        ``eligible``, per pass, where given).

        Examples
        --------
        >>> p = Passes.numbered(np.repeat([0, 1], 6), np.tile(np.arange(6.0), 2),
        ...                     np.repeat([10.0, 20.0], 6), width=10.0, eligible=[True, False])
        >>> p.transects.tolist(), p.heights.tolist()
        ([True, False], [10.0])
        """
        count = int(ids.max()) + 1
        transects = np.zeros(count, dtype=bool)
        heights = []
        for r in range(count):
            sel = ids == r
            if ((eligible is None or eligible[r]) and sel.sum() >= 5
                    and np.ptp(s[sel]) >= 0.3 * width):
                transects[r] = True
                heights.append(float(np.median(z[sel])))
        levels = np.array(sorted(heights))
        if levels.size == 0:
            levels = np.array([float(np.min(z)), float(np.max(z))])
        return cls(ids, transects, levels)


def find_passes(t: np.ndarray, z: np.ndarray, s: np.ndarray, width: float) -> Passes:
    """Split the samples (time ``t``, height ``z``, along-curtain ``s``) into passes: a new
    pass where the height steps by more than 1 m or the time by more than 10 s.

    Examples
    --------
    >>> t = np.arange(20.0)
    >>> z = np.repeat([10.0, 20.0], 10)
    >>> p = find_passes(t, z, np.tile(np.arange(10.0), 2), width=9.0)
    >>> p.ids.tolist()[8:12], p.transects.tolist(), p.heights.tolist()
    ([0, 0, 1, 1], [True, True], [10.0, 20.0])
    >>> p.levels(2.5)
    (10.0, 20.0, 25.0)
    """
    order = np.argsort(t, kind="stable")
    zs = z[order]
    ts = t[order]
    new = np.ones(zs.size, dtype=bool)
    new[1:] = (np.abs(np.diff(zs)) > 1.0) | (np.diff(ts) > 10.0)
    run = np.cumsum(new) - 1
    ids = np.empty_like(run)
    ids[order] = run
    return Passes.numbered(ids, s, z, width)
