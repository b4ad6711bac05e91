"""The clock model of one vehicle: boot time -> UTC per boot segment, from clock syncs.

See :class:`Clock` for the model (a sliding least-squares line per boot, a gate against
outliers, confirmed steps of the UTC source) and its constants below.

Examples
--------
>>> clock = Clock()
>>> clock.update(0, TimeSync(1, 1000.0, 1_714_557_600_000_000))
>>> clock.to_unix_us(0, 1500.0), clock.to_unix_us(1, 1500.0)
(1714557600500000, None)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np

from dronesense.events import TimeSync
from dronesense.flight.clockfit import FitLimits, gated_run

__all__ = ["Clock", "ClockStep"]

#: Clock model (see :class:`Clock`): syncs in the sliding fit window, at most ...
WINDOW_SYNCS = 600
#: ... spanning at most this much vehicle time (s).
WINDOW_S = 600.0
#: The rate (drift) is fitted once the window spans this long (s) ...
MIN_RATE_SPAN_S = 30.0
#: ... with at least this many syncs; before, the rate is 1 (or the rate before a step).
MIN_RATE_SYNCS = 5
#: Fitted drift is clamped to ± this (ppm); quartz clocks are within ~±100 ppm.
MAX_DRIFT_PPM = 500.0
#: A sync further than this (ms) from the model is a step candidate, never fitted.
STEP_THRESHOLD_MS = 50.0
#: Candidates agreeing with each other that confirm a step of the UTC source.
STEP_CONFIRM = 3
#: Rows wait for a candidate to be confirmed or rejected at most this long (vehicle s).
HOLD_MAX_S = 10.0
#: Plausible UNIX times of a sync (µs): 2010-01-01 to 2100-01-01; others are ignored.
MIN_UNIX_US = 1_262_304_000_000_000
MAX_UNIX_US = 4_102_444_800_000_000
_LIMITS = FitLimits(WINDOW_SYNCS, WINDOW_S, MIN_RATE_SPAN_S, MIN_RATE_SYNCS, MAX_DRIFT_PPM,
                    STEP_THRESHOLD_MS)


class ClockStep(NamedTuple):
    """A step of the autopilot's UTC source, confirmed by :data:`STEP_CONFIRM` syncs.

    ``time_boot_ms`` is the vehicle time of the first sync after the step, ``size_ms`` how
    far UTC moved (positive: forward), ``utc_us`` the new UTC at that vehicle time.
    """

    time_boot_ms: float
    size_ms: float
    utc_us: int


class _Model:
    """One piece of a boot's clock model: UTC = u0 + (t - b0) * 1000 + a + c * (t - b0).

    ``a`` (µs) and ``c`` (µs per ms, i.e. drift in ppm / 1000) are fitted by least squares to
    the syncs of the window, kept as ``x = t - b0`` (ms) and ``y = u - u0 - x * 1000`` (µs),
    with running sums so that a sync costs O(1) whatever the window.
    """

    __slots__ = ("a", "b0", "c", "fitted", "rms_us", "start", "sums", "u0", "x", "y")

    def __init__(self, b0: float, u0: int, start: float, c: float = 0.0):
        self.b0 = b0
        self.u0 = u0
        self.start = start
        self.x: deque[float] = deque()
        self.y: deque[float] = deque()
        self.sums = [0.0, 0.0, 0.0, 0.0, 0.0]  # x, y, xx, xy, yy
        self.a = 0.0
        self.c = c  # the prior rate until the window is long enough to fit one
        self.fitted = False
        self.rms_us = 0.0

    def predict(self, t: float) -> float:
        d = t - self.b0
        return self.u0 + d * 1000.0 + self.a + self.c * d

    def add(self, b: float, u: int) -> None:
        x = b - self.b0
        y = float(u - self.u0) - x * 1000.0
        xs, ys, sm = self.x, self.y, self.sums
        xs.append(x)
        ys.append(y)
        sm[0] += x
        sm[1] += y
        sm[2] += x * x
        sm[3] += x * y
        sm[4] += y * y
        # slide: at most WINDOW_SYNCS syncs spanning at most WINDOW_S
        while len(xs) > 1 and (len(xs) > WINDOW_SYNCS or x - xs[0] > WINDOW_S * 1000.0):
            ox, oy = xs.popleft(), ys.popleft()
            sm[0] -= ox
            sm[1] -= oy
            sm[2] -= ox * ox
            sm[3] -= ox * oy
            sm[4] -= oy * oy
        self._fit()

    def _fit(self) -> None:
        xs = self.x
        n = len(xs)
        sx, sy, sxx, sxy, syy = self.sums
        xm = sx / n
        ym = sy / n
        vxx = sxx - sx * xm  # centred sums
        vxy = sxy - sx * ym
        vyy = syy - sy * ym
        c = self.c
        if n >= MIN_RATE_SYNCS and xs[-1] - xs[0] >= MIN_RATE_SPAN_S * 1000.0 and vxx > 0:
            c = max(-MAX_DRIFT_PPM, min(MAX_DRIFT_PPM, vxy / vxx * 1000.0)) / 1000.0
            self.fitted = True
        self.c = c
        self.a = ym - c * xm
        rss = vyy - 2.0 * c * vxy + c * c * vxx
        self.rms_us = math.sqrt(max(0.0, rss) / n)


class _BootClock:
    """The clock model of one boot segment (see :class:`Clock`)."""

    __slots__ = ("candidates", "ignored", "last_b", "models", "rejected", "starts", "steps",
                 "suspect_since", "syncs", "used")

    def __init__(self) -> None:
        self.models: list[_Model] = []
        self.starts: list[float] = []
        self.candidates: list[tuple[float, int, float]] = []  # (boot ms, unix µs, residual µs)
        self.suspect_since: float | None = None
        self.steps: list[ClockStep] = []
        self.syncs = self.used = self.rejected = self.ignored = 0
        self.last_b = 0.0

    def update(self, b: float, u: int) -> None:
        self.syncs += 1
        if not MIN_UNIX_US <= u <= MAX_UNIX_US:
            self.ignored += 1
            return
        self.take(b, u)

    def take(self, b: float, u: int) -> None:
        """:meth:`update` with a plausible sync, already counted."""
        self.last_b = b
        if not self.models:
            model = _Model(b, u, -math.inf)
            model.add(b, u)
            self.models.append(model)
            self.starts.append(-math.inf)
            self.used += 1
            return
        model = self.models[-1]
        r = u - model.predict(b)
        limit = STEP_THRESHOLD_MS * 1000.0
        if abs(r) <= limit:
            self.rejected += len(self.candidates)  # isolated outliers
            self.candidates.clear()
            self.suspect_since = None
            model.add(b, u)
            self.used += 1
            return
        cands = self.candidates
        if self.suspect_since is None:
            self.suspect_since = b
        if cands and abs(r - cands[0][2]) > limit:  # not the same step: drop the older ones
            self.rejected += len(cands)
            cands.clear()
        cands.append((b, u, r))
        if len(cands) < STEP_CONFIRM:
            return
        # a real step: a new piece anchored on the first sync after it, same rate
        b0, u0, _ = cands[0]
        new = _Model(b0, u0, b0, model.c)
        new.fitted = model.fitted
        for bc, uc, _ in cands:
            new.add(bc, uc)
        size = sorted(rc for _, _, rc in cands)[len(cands) // 2]
        self.steps.append(ClockStep(b0, size / 1000.0, round(new.predict(b0))))
        self.models.append(new)
        self.starts.append(b0)
        self.used += len(cands)
        cands.clear()
        self.suspect_since = None

    def close(self) -> None:
        """No more syncs will come: candidates still waiting were outliers."""
        self.rejected += len(self.candidates)
        self.candidates.clear()
        self.suspect_since = None

    def ready(self) -> bool:
        if not self.models:
            return False
        since = self.suspect_since
        return since is None or self.last_b - since > HOLD_MAX_S * 1000.0

    def to_unix_us(self, t: float) -> int:
        models = self.models
        if len(models) == 1 or t >= self.starts[-1]:
            return round(models[-1].predict(t))
        return round(models[bisect_right(self.starts, t) - 1].predict(t))


class Clock:
    """Maps vehicle boot time to UTC per boot segment, from the autopilot's clock syncs.

    A sync (:class:`~dronesense.events.TimeSync`: SYSTEM_TIME, DataFlash GPS time, a CSV UTC
    column) pairs a vehicle time *b* with the UTC *u* the autopilot had for it. Each sync
    carries the jitter of one reading (SYSTEM_TIME's boot time is truncated to the ms, the
    autopilot stamps both with some scheduling delay), so UTC is not taken from the latest
    sync. Per boot segment the model is a line ``UTC = u0 + (t - b0)(1 + drift) + a``, fitted
    by least squares to the syncs of a sliding window (the last :data:`WINDOW_SYNCS` syncs,
    at most :data:`WINDOW_S` of vehicle time):

    * the fit averages the jitter out (a sample's UTC error is the window's standard error,
      not one sync's jitter) and follows a drift of the vehicle clock, reported in ppm;
    * the rate is only fitted once the window spans :data:`MIN_RATE_SPAN_S` with at least
      :data:`MIN_RATE_SYNCS` syncs (a short window would turn jitter into a wild rate), and
      is clamped to ±:data:`MAX_DRIFT_PPM`; before that the rate is 1 (drift 0);
    * a least-squares fit rather than the lower envelope: the lower envelope is right when
      every sync is late by a one-sided delay, but SYSTEM_TIME's errors are two-sided (the
      boot time is truncated to the ms while UTC keeps µs; a real autopilot's UTC is itself
      a GPS estimate) and the lower envelope then sits at the most negative error;
    * robustness comes from a gate: a sync further than :data:`STEP_THRESHOLD_MS` from the
      model never enters the fit. It is held as a candidate; :data:`STEP_CONFIRM` candidates
      agreeing with each other (within the same threshold) are a **step** of the UTC source
      (GPS time acquired, a leap, a jump): the model re-anchors on them from the first
      candidate's vehicle time on, keeping its rate, and the step is recorded
      (:class:`ClockStep`). A candidate followed by a sync agreeing with the model is an
      isolated **outlier** and is rejected (counted);
    * implausible syncs (UTC before 2010, after 2100, or zero) are ignored (counted).

    The model follows the autopilot's UTC source: after a step it takes the new UTC. It does
    not decide which UTC is right (a receiver that jumps to a wrong time is followed too); the
    step is reported so a user can tell.

    While candidates wait (at most :data:`HOLD_MAX_S` of vehicle time) :meth:`ready` is
    False: the pairing engine holds the rows of that boot until the step is confirmed or
    the outlier rejected, so rows after a step get the new UTC. Every decision depends only
    on the order and values of the syncs, so replay gives exactly the live UTC.

    A UTC asked for a vehicle time before a step uses the model piece of that time (frozen at
    the step); later times use the current piece.

    Examples
    --------
    >>> clock = Clock()
    >>> T0 = 1_714_557_600_000_000
    >>> for k in range(10):
    ...     clock.update(0, TimeSync(1, 1000.0 * k, T0 + 1_000_000 * k))
    >>> clock.update(0, TimeSync(1, 10_000.0, T0 + 12_000_000))   # 2 s off: a candidate
    >>> clock.ready(0)
    False
    >>> clock.update(0, TimeSync(1, 11_000.0, T0 + 11_000_000))   # back on the line
    >>> clock.ready(0), clock.to_unix_us(0, 10_500.0) - T0
    (True, 10500000)
    >>> r = clock.report(0)
    >>> r["syncs_used"], r["syncs_rejected"], r["steps"]
    (11, 1, [])
    """

    def __init__(self) -> None:
        self._boots: dict[int, _BootClock] = {}

    @property
    def syncs(self) -> int:
        """Every sync taken, over all boots (used, rejected, waiting or ignored)."""
        return sum(bc.syncs for bc in self._boots.values())

    @property
    def boots(self) -> list[int]:
        """Boot segments that got at least one sync."""
        return sorted(self._boots)

    def update(self, boot: int, sync: TimeSync) -> None:
        """Take a TimeSync observed in boot segment ``boot``."""
        bc = self._boots.get(boot)
        if bc is None:
            bc = self._boots[boot] = _BootClock()
        bc.update(float(sync.time_boot_ms), int(sync.time_unix_usec))

    def close(self, boot: int) -> None:
        """Boot segment ``boot`` is over (reboot, end of data): waiting candidates are outliers."""
        bc = self._boots.get(boot)
        if bc is not None:
            bc.close()

    def known(self, boot: int) -> bool:
        """Whether boot segment ``boot`` has a clock model (at least one plausible sync)."""
        bc = self._boots.get(boot)
        return bc is not None and bool(bc.models)

    def ready(self, boot: int) -> bool:
        """Known, and no step candidate waiting for confirmation."""
        bc = self._boots.get(boot)
        return bc is not None and bc.ready()

    def offset_us(self, boot: int) -> float | None:
        """UNIX µs minus boot ms x 1000 at the latest sync of that boot, ``None`` if unknown."""
        bc = self._boots.get(boot)
        if bc is None or not bc.models:
            return None
        return bc.models[-1].predict(bc.last_b) - bc.last_b * 1000.0

    def drift_ppm(self, boot: int) -> float | None:
        """How fast UTC runs against the vehicle clock (ppm), ``None`` until fitted."""
        bc = self._boots.get(boot)
        if bc is None or not bc.models or not bc.models[-1].fitted:
            return None
        return bc.models[-1].c * 1000.0

    def steps(self, boot: int) -> list[ClockStep]:
        """Confirmed steps of the UTC source in that boot."""
        bc = self._boots.get(boot)
        return [] if bc is None else list(bc.steps)

    def to_unix_us(self, boot: int, time_boot_ms: float) -> int | None:
        """UNIX microseconds of a vehicle time, ``None`` if that boot has no sync yet."""
        bc = self._boots.get(boot)
        if bc is None or not bc.models:
            return None
        return bc.to_unix_us(time_boot_ms)

    def update_many(self, boot: int, times_ms, unix_us):
        """:meth:`update` with many syncs of one boot, in order; per version of the model
        (0: before these syncs, k: after the k-th) whether it was :meth:`ready`, its number of
        pieces and the parameters ``(b0, u0, a, c)`` of its current piece, for
        :meth:`to_unix_versions`.

        The same model as :meth:`update` one sync at a time, to the last bit: runs of syncs
        that pass the gate are fitted at once
        (:func:`~dronesense.flight.clockfit.gated_run`), the others (the first
        sync, step candidates, a vehicle time going back) one by one."""
        bc = self._boots.get(boot)
        if bc is None:
            bc = self._boots[boot] = _BootClock()
        t = np.asarray(times_ms, dtype=float).ravel()
        u = np.asarray(unix_us, dtype=np.int64).ravel()
        if t.size != u.size:
            raise ValueError("times_ms and unix_us differ in length")
        n = t.size
        ready = np.zeros(n + 1, dtype=bool)
        pieces = np.zeros(n + 1, dtype=np.int64)
        params = np.zeros((n + 1, 4))
        got = np.zeros(n + 1, dtype=bool)
        got[0] = True

        def version(k: int) -> None:
            ready[k], pieces[k], got[k] = bc.ready(), len(bc.models), True
            if bc.models:
                m = bc.models[-1]
                params[k] = (m.b0, m.u0, m.a, m.c)

        version(0)
        plausible = (u >= MIN_UNIX_US) & (u <= MAX_UNIX_US)
        bc.syncs += n
        bc.ignored += int(n - np.count_nonzero(plausible))
        idx = np.flatnonzero(plausible)
        i, block = 0, 256
        while i < idx.size:
            if bc.models and not bc.candidates:
                sel = idx[i:i + block]
                k, a, c = gated_run(bc, t[sel], u[sel], _LIMITS)
                if k:
                    v = sel[:k] + 1
                    ready[v], pieces[v], got[v] = True, len(bc.models), True
                    m = bc.models[-1]
                    params[v, 0], params[v, 1], params[v, 2], params[v, 3] = m.b0, m.u0, a, c
                    i += k
                block = min(block * 2, 1 << 16) if k == sel.size else 256
                if i >= idx.size:
                    break
            bc.take(float(t[idx[i]]), int(u[idx[i]]))
            version(int(idx[i]) + 1)
            i += 1
        if not got.all():  # ignored syncs leave the model as it was
            last = np.maximum.accumulate(np.where(got, np.arange(n + 1), 0))
            ready, pieces, params = ready[last], pieces[last], params[last]
        return ready, pieces, params

    def to_unix_versions(self, boot: int, pieces, params, times_ms):
        """:meth:`to_unix_us` of many times, each with the model of a version of
        :meth:`update_many` (``pieces``, ``params`` per time): int64 UNIX µs."""
        b0, u0, a, c = (params[:, i] for i in range(4))
        t = np.asarray(times_ms, dtype=float)
        d = t - b0
        u = u0 + d * 1000.0 + a + c * d
        bc = self._boots.get(boot)
        if bc is not None and len(bc.models) > 1:  # pieces frozen at a step, for earlier times
            starts = np.asarray(bc.starts)
            late = t < starts[np.maximum(pieces - 1, 0)]
            for i in np.flatnonzero((pieces > 1) & late).tolist():
                piece = bc.models[int(np.searchsorted(starts, t[i], side="right")) - 1]
                u[i] = piece.predict(float(t[i]))
        return np.rint(u).astype(np.int64)

    def model(self, boot: int) -> tuple[int, tuple[float, float, float, float]]:
        """Number of pieces and ``(b0, u0, a, c)`` of the current piece of a boot's model
        (``(0, zeros)`` when the boot has no sync)."""
        bc = self._boots.get(boot)
        if bc is None or not bc.models:
            return 0, (0.0, 0.0, 0.0, 0.0)
        m = bc.models[-1]
        return len(bc.models), (m.b0, m.u0, m.a, m.c)

    def report(self, boot: int) -> dict:
        """Figures of one boot: syncs used / rejected / ignored / waiting, drift (ppm),
        residual jitter (ms, RMS about the fit), and steps (vehicle time, UTC, size)."""
        bc = self._boots.get(boot)
        if bc is None:
            bc = _BootClock()
        drift = self.drift_ppm(boot)
        model = bc.models[-1] if bc.models else None
        return {
            "boot": boot,
            "syncs": bc.syncs,
            "syncs_used": bc.used,
            "syncs_rejected": bc.rejected,
            "syncs_ignored": bc.ignored,
            "syncs_waiting": len(bc.candidates),
            "drift_ppm": None if drift is None else round(drift, 3),
            "jitter_ms": None if model is None else round(model.rms_us / 1000.0, 3),
            "steps": [{"time_boot_ms": s.time_boot_ms, "utc": _iso(s.utc_us),
                       "size_s": round(s.size_ms / 1000.0, 6)} for s in bc.steps],
        }

    def reports(self) -> list[dict]:
        """:meth:`report` of every boot that got a sync."""
        return [self.report(b) for b in self.boots]


def _iso(unix_us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=unix_us)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")

