"""The receive clock: ground receive time -> a vehicle's ``time_boot_ms``, per system id.

A serial payload's frames carry no vehicle time. :class:`ReceiveClock` learns the mapping from
the MAVLink stream's own (receive time, ``time_boot_ms``) pairs; see its docs for the method.

Examples
--------
The clock from a few MAVLink pairs (receive 20 ms after the vehicle time, one packet
delayed by a burst):

>>> clock = ReceiveClock()
>>> t0 = 1_750_000_000_000_000
>>> for boot_ms, late_ms in [(1000, 20), (1100, 85), (2000, 20), (3000, 21), (4000, 20)]:
...     clock.observe(1, t0 + (boot_ms + late_ms) * 1000, boot_ms)
>>> clock.to_boot_ms(1, t0 + 4520_000)
4500.0
>>> est = clock.estimate(1)
>>> est.offset_ms - t0 / 1000, est.points
(20.0, 4)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dronesense.errors import ParameterError

__all__ = ["REBOOT_THRESHOLD_MS", "ClockEstimate", "ReceiveClock"]

#: Boot time going back by more than this (ms) is a reboot (as in :mod:`dronesense.flight.state`).
REBOOT_THRESHOLD_MS = 3000.0


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The receive clock of one vehicle as it stands.

    ``recv_ms - time_boot_ms = offset_ms + slope * (recv_ms - t_ref_ms)`` on the lower
    envelope. ``uncertainty_ms`` is the median height of the per-bucket minima above the
    envelope plus the 0.5 ms rounding of ``time_boot_ms``: how tightly the envelope is
    pinned. It does not include the minimum one-way latency, which no one-way stream can
    show (see ``docs/payload.md``).
    """

    offset_ms: float
    slope: float
    t_ref_ms: float
    uncertainty_ms: float
    points: int
    span_s: float
    boot: int


class _VehicleClock:
    """Bucketed lower envelope of (receive time, receive - vehicle time) for one vehicle."""

    __slots__ = ("boot", "boot_start_ms", "buckets", "fit", "last_boot_ms", "last_recv_ms",
                 "prev_end_ms")

    def __init__(self) -> None:
        self.buckets: deque[list[float]] = deque()  # [bucket index, t_ms, d_ms]
        self.fit: ClockEstimate | None = None
        self.boot = 0
        self.last_boot_ms: float | None = None
        self.last_recv_ms: float | None = None
        self.boot_start_ms: float | None = None
        self.prev_end_ms = float("-inf")  # last receive time of the previous boot


class ReceiveClock:
    """Ground receive time -> vehicle ``time_boot_ms``, per system id.

    Method. Every MAVLink message the autopilot stamps with ``time_boot_ms`` and the ground
    receives at ``recv`` gives ``d = recv - time_boot_ms = offset + latency``. The one-way
    latency is never negative, and its smallest values are the least disturbed (no radio
    retry, no batching, no queueing), so the lower envelope of ``d`` over a sliding window
    is the best estimate of ``offset`` (plus the minimum latency, which cannot be seen
    without a round trip). Observations are kept as the minimum per ``bucket_s`` bucket of
    receive time over the last ``window_s``:

    * ``rate=1.0`` (default): both clocks run at real-time speed, the envelope is flat and
      the estimate is the window minimum. A clock drift of 50 ppm moves it by 1.5 ms over a
      30 s window, which is why the window slides.
    * ``rate=None``: the vehicle clock may run at any rate (a simulator faster than real
      time, a badly drifting crystal): the envelope is the edge of the lower convex hull of
      the bucket minima under their mean time (Moon, Skelly & Towsley 1999, the
      linear-programming skew estimate), extended to the query time.

    A vehicle reboot (``time_boot_ms`` going back by more than 3 s) restarts the estimate;
    receive times before the reboot no longer map (:meth:`to_boot_ms` gives ``None``).

    Parameters
    ----------
    window_s
        Length of the sliding window, seconds of receive time.
    bucket_s
        Bucket length, seconds; the minimum of each bucket is kept.
    rate
        Vehicle clock seconds per ground second, or ``None`` to estimate it.
    min_span_s
        With ``rate=None``, the buckets must span this long before a rate is estimated
        (before that the rate is taken as 1).
    """

    def __init__(self, window_s: float = 30.0, bucket_s: float = 1.0, rate: float | None = 1.0,
                 min_span_s: float = 2.0):
        if not 0 < bucket_s <= window_s:
            raise ParameterError("bucket_s", f"need 0 < bucket_s <= window_s, got bucket_s="
                                 f"{bucket_s}, window_s={window_s}")
        self.window_ms = 1000.0 * window_s
        self.bucket_ms = 1000.0 * bucket_s
        self.rate = rate
        self.min_span_ms = 1000.0 * min_span_s
        self._v: dict[int, _VehicleClock] = {}

    @property
    def sysids(self) -> list[int]:
        """Vehicles observed so far, in order of first observation."""
        return list(self._v)

    def observe(self, sysid: int, recv_us: int, time_boot_ms: float) -> None:
        """Take one (receive time, vehicle time) pair of a message the autopilot stamped.

        Feed messages stamped when sent (GLOBAL_POSITION_INT, SYSTEM_TIME, ATTITUDE, i.e.
        the :class:`~dronesense.events.Fix` and :class:`~dronesense.events.TimeSync`
        events), not readings stamped at an earlier sample time (those only sit above the
        envelope, harmless but useless).
        """
        v = self._v.get(sysid)
        if v is None:
            v = self._v[sysid] = _VehicleClock()
        t = recv_us / 1000.0
        boot_ms = float(time_boot_ms)
        if v.last_boot_ms is not None and boot_ms < v.last_boot_ms - REBOOT_THRESHOLD_MS:
            v.prev_end_ms = v.last_recv_ms if v.last_recv_ms is not None else t
            v.buckets.clear()
            v.boot += 1
            v.last_boot_ms = None
            v.boot_start_ms = None
        if v.last_boot_ms is None or boot_ms > v.last_boot_ms:
            v.last_boot_ms = boot_ms
        if v.boot_start_ms is None:
            v.boot_start_ms = t
        v.last_recv_ms = t if v.last_recv_ms is None else max(v.last_recv_ms, t)
        d = t - boot_ms
        k = t // self.bucket_ms
        b = v.buckets
        if b and b[-1][0] == k:
            if d < b[-1][2]:
                b[-1][1], b[-1][2] = t, d
        elif b and k < b[-1][0]:  # receive time went back (ground clock step): restart
            b.clear()
            b.append([k, t, d])
        else:
            b.append([k, t, d])
        while b and b[0][1] < t - self.window_ms:
            b.popleft()
        v.fit = None

    def estimate(self, sysid: int) -> ClockEstimate | None:
        """The current envelope of a vehicle, ``None`` before its first observation."""
        v = self._v.get(sysid)
        if v is None or not v.buckets:
            return None
        if v.fit is None:
            v.fit = self._fit(v)
        return v.fit

    def to_boot_ms(self, sysid: int, recv_us: int) -> float | None:
        """Vehicle time (ms since boot) at which the ground clock read ``recv_us``.

        ``None`` if the vehicle has not been observed, the time lies before its latest
        reboot, or it maps before the boot.
        """
        est = self.estimate(sysid)
        if est is None:
            return None
        v = self._v[sysid]
        t = recv_us / 1000.0
        if t <= v.prev_end_ms:
            return None
        d = est.offset_ms + est.slope * (t - est.t_ref_ms)
        boot_ms = t - d
        return boot_ms if boot_ms >= 0 else None

    def ready(self, sysid: int) -> bool:
        """Whether the estimate has a few buckets behind it (and a rate, if estimated)."""
        est = self.estimate(sysid)
        if est is None:
            return False
        if self.rate is None:
            return est.span_s * 1000.0 >= self.min_span_ms and est.points >= 3
        return est.points >= 2

    def _fit(self, v: _VehicleClock) -> ClockEstimate:
        pts = [(b[1], b[2]) for b in v.buckets]
        span = pts[-1][0] - pts[0][0]
        if self.rate is not None or span < self.min_span_ms or len(pts) < 2:
            slope = 0.0 if self.rate is None else 1.0 - self.rate
            # d + slope * (t_ref - t) lowest over the points, t_ref = latest
            t_ref = pts[-1][0]
            offset = min(d + slope * (t_ref - t) for t, d in pts)
        else:
            t_ref, offset, slope = _hull_line(pts)
        resid = sorted(d - (offset + slope * (t - t_ref)) for t, d in pts)
        med = resid[len(resid) // 2] if len(resid) > 1 else 0.0
        return ClockEstimate(offset, slope, t_ref, med + 0.5, len(pts), span / 1000.0, v.boot)


def _hull_line(pts: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(t_ref, d at t_ref, slope) of the lower-hull edge under the mean time of ``pts``."""
    hull: list[tuple[float, float]] = []
    for p in pts:  # monotone chain, lower hull (points sorted by time)
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    if len(hull) == 1:
        return hull[0][0], hull[0][1], 0.0
    tm = sum(t for t, _ in pts) / len(pts)
    k = 1
    while k < len(hull) - 1 and hull[k][0] < tm:
        k += 1
    (x1, y1), (x2, y2) = hull[k - 1], hull[k]
    return x1, y1, (y2 - y1) / (x2 - x1)
