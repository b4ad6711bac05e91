"""The pairing engine: sensor readings x position track -> sample rows.

One engine serves the live listener, ``dronesense replay`` and post-flight pairing. It is fed
flight events in message order (:meth:`Pairer.push`) and returns the sample rows each event
completes. Decisions depend only on event order and vehicle times, never on wall-clock time,
so replaying a recording gives exactly the live rows.

Rules, per vehicle (system id) and boot segment:

* a reading at vehicle time *t* (minus the quantity's lag) waits until the track has a fix at
  or after *t*, then takes the position linearly interpolated between the last fix at or
  before *t* and the first fix at or after it (:func:`interpolate_positions`);
* fixes more than ``max_gap_s`` apart -> flag ``GAP``; a bracketing fix without GNSS fix ->
  ``NO_FIX``; before the first fix -> ``BEFORE_TRACK``; still waiting at :meth:`Pairer.finish`
  -> ``AFTER_TRACK``; still waiting when the vehicle reboots -> ``REBOOT``. Flagged rows keep
  the reading and leave the position empty: nothing is extrapolated;
* UTC comes from the vehicle clock and its model (:class:`~dronesense.flight.state.Clock`, fitted
  to SYSTEM_TIME). A resolved row whose boot segment has no clock sync yet, or whose clock is
  weighing a step candidate, is held until the clock is ready; at :meth:`Pairer.finish` held
  rows of a boot that never got a sync fall back to the ground receive time of the reading
  (``time_source = "receive"``) when it was given.

Readings whose name the :class:`~dronesense.quantities.NameTable` does not know are kept, with
``quantity`` set to the normalised wire name and empty units, so nothing recorded is lost; a
mapping file can name them later.

Examples
--------
>>> from dronesense.events import Fix, Reading, TimeSync
>>> pairer = Pairer()
>>> pairer.push(TimeSync(1, 0.0, 1_714_557_600_000_000))
[]
>>> pairer.push(Fix(1, 1000.0, 52.0, 5.0, 40.0, 30.0))
[]
>>> pairer.push(Reading(1, 1250.0, "CH4", 1.9))   # waits for a fix at or after 1.25 s
[]
>>> row, = pairer.push(Fix(1, 1500.0, 52.0, 5.002, 42.0, 32.0))
>>> row.time_utc, round(row.lon, 9), row.alt_amsl, row.quantity, row.flag
('2024-05-01T10:00:01.250000Z', 5.001, 41.0, 'ch4', 0)
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort

import numpy as np

from dronesense.events import Fix, Reading, Status, TimeSync
from dronesense.flight.rows import Flag, SampleRow, format_utc
from dronesense.flight.state import FlightState
from dronesense.flight.track import Track
from dronesense.quantities import NameTable, normalise_name

__all__ = ["TRACK_HORIZON_S", "Pairer", "interpolate_one", "interpolate_positions"]

#: The pairing engine keeps this much track (s) before each vehicle's latest fix (between one
#: and two horizons): a reading is never paired with older fixes unless it is stamped that
#: far back, so a live session's memory stays flat however long it runs.
TRACK_HORIZON_S = 900.0


def interpolate_positions(
    fix_t: np.ndarray,
    fix_ok: np.ndarray,
    fix_pos: np.ndarray,
    t: np.ndarray,
    max_gap_s: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions at times ``t`` from a track, with the gap used and a quality flag.

    This is the whole pairing rule as one vectorised function; bulk callers (post-flight
    pairing of a whole log) use it directly on arrays.

    Parameters
    ----------
    fix_t
        Fix times (ms since boot), strictly increasing, shape ``(n,)``.
    fix_ok
        Whether each fix had a usable GNSS solution, shape ``(n,)``.
    fix_pos
        Fix positions, shape ``(n, k)`` (e.g. lat, lon, alt_amsl, height).
    t
        Reading times (ms since boot, lag already subtracted), shape ``(m,)``.
    max_gap_s
        Fixes farther apart than this do not give a position (flag ``GAP``).

    Returns
    -------
    pos : ndarray, shape ``(m, k)``
        Interpolated positions; NaN where the flag is not ``PAIRED``.
    gap_s : ndarray, shape ``(m,)``
        Seconds between the two fixes used; for readings outside the track, seconds to the
        nearest fix; NaN if the track is empty.
    flag : ndarray of int8, shape ``(m,)``
        :class:`~dronesense.flight.rows.Flag` values. Readings after the last fix get
        ``AFTER_TRACK``: callers that may still receive fixes must only pass readings up to
        the last fix time.

    Examples
    --------
    >>> fix_t = np.array([0.0, 1000.0, 3000.0])
    >>> fix_ok = np.array([True, True, True])
    >>> fix_pos = np.array([[0.0, 0.0], [1.0, 10.0], [3.0, 30.0]])
    >>> pos, gap, flag = interpolate_positions(fix_t, fix_ok, fix_pos,
    ...                                        np.array([500.0, 2000.0, -5.0, 3500.0]))
    >>> pos[0].tolist(), gap.tolist(), flag.tolist()
    ([0.5, 5.0], [1.0, 2.0, 0.005, 0.5], [0, 1, 2, 3])
    """
    fix_t = np.asarray(fix_t, dtype=float)
    t = np.asarray(t, dtype=float)
    m, n = t.shape[0], fix_t.shape[0]
    k = fix_pos.shape[1] if fix_pos.ndim == 2 else 0
    pos = np.full((m, k), np.nan)
    gap = np.full(m, np.nan)
    flag = np.full(m, Flag.BEFORE_TRACK, dtype=np.int8)
    if m == 0 or n == 0:
        return pos, gap, flag
    b = np.searchsorted(fix_t, t, side="left")  # first fix at or after t
    a = np.searchsorted(fix_t, t, side="right") - 1  # last fix at or before t
    before = a < 0
    after = b >= n
    inside = ~before & ~after
    flag[after] = Flag.AFTER_TRACK
    gap[before] = (fix_t[0] - t[before]) / 1000.0
    gap[after] = (t[after] - fix_t[n - 1]) / 1000.0
    ia, ib = a[inside], b[inside]
    ta, tb = fix_t[ia], fix_t[ib]
    span = (tb - ta) / 1000.0
    gap[inside] = span
    ok = fix_ok[ia] & fix_ok[ib]
    too_far = span > max_gap_s
    flag_in = np.where(~ok, Flag.NO_FIX, np.where(too_far, Flag.GAP, Flag.PAIRED))
    flag[inside] = flag_in
    good = flag_in == Flag.PAIRED
    idx = np.flatnonzero(inside)[good]
    ga, gb = ia[good], ib[good]
    dt = tb[good] - ta[good]
    w = np.divide(t[idx] - ta[good], dt, out=np.zeros_like(dt), where=dt > 0)
    pos[idx] = fix_pos[ga] + (fix_pos[gb] - fix_pos[ga]) * w[:, None]
    return pos, gap, flag


def interpolate_one(
    fix_t: list[float],
    fix_ok: list[bool],
    fix_pos: list[tuple[float, ...]],
    t: float,
    max_gap_s: float = 1.0,
) -> tuple[tuple[float, ...] | None, float, int]:
    """:func:`interpolate_positions` for one reading time, on plain Python lists.

    The same rule with the same floating-point operations in the same order, so the result
    is bit-for-bit the vectorised one (the tests check it); it only avoids numpy's per-call
    overhead, which dominates when the live engine resolves one reading at a time.

    Returns
    -------
    (pos, gap_s, flag)
        ``pos`` is ``None`` unless ``flag`` is ``PAIRED``; ``gap_s`` is NaN for an empty track.

    Examples
    --------
    >>> interpolate_one([0.0, 1000.0], [True, True], [(0.0, 0.0), (1.0, 10.0)], 500.0)
    ((0.5, 5.0), 1.0, 0)
    """
    n = len(fix_t)
    if n == 0:
        return None, math.nan, Flag.BEFORE_TRACK
    b = bisect_left(fix_t, t)  # first fix at or after t
    if b >= n:
        return None, (t - fix_t[n - 1]) / 1000.0, Flag.AFTER_TRACK
    ta = fix_t[b]
    if ta == t:
        a = b
    else:
        a = b - 1  # last fix at or before t (fix times are strictly increasing)
        if a < 0:
            return None, (fix_t[0] - t) / 1000.0, Flag.BEFORE_TRACK
        ta = fix_t[a]
    tb = fix_t[b]
    span = (tb - ta) / 1000.0
    if not (fix_ok[a] and fix_ok[b]):
        return None, span, Flag.NO_FIX
    if span > max_gap_s:
        return None, span, Flag.GAP
    dt = tb - ta
    w = (t - ta) / dt if dt > 0 else 0.0
    pa, pb = fix_pos[a], fix_pos[b]
    return tuple([x + (y - x) * w for x, y in zip(pa, pb, strict=True)]), span, Flag.PAIRED


class Pairer:
    """Incremental pairing of readings with positions, for any number of vehicles.

    Parameters
    ----------
    names
        Wire name -> quantity table (:meth:`NameTable.default` if omitted).
    max_gap_s
        Longest time between two fixes that still gives an interpolated position.
    lags
        Sensor lag in seconds per quantity key (or wire name), subtracted from the reading
        time before pairing: the air was sampled that long before the value was reported.
    track_horizon_s
        Track kept before each vehicle's latest fix (:data:`TRACK_HORIZON_S`; ``None`` keeps
        the whole track). A reading stamped further back than that is flagged
        ``BEFORE_TRACK`` rather than paired.

    Reboots are decided from the autopilot's own times only (:class:`Fix` and
    :class:`TimeSync` events, which :class:`~dronesense.sources.messages.MessageAdapter`
    takes from the autopilot component alone). A reading stamped more than the reboot
    threshold before the
    autopilot's latest time (a payload reporting late, or the first readings after a reboot)
    is held until the next autopilot time tells which boot it belongs to: if that time went
    back too, the vehicle rebooted and the reading belongs to the new boot; otherwise it is an
    old reading of the current boot and is paired there. The decision still depends only on
    event order, so replay gives the live rows.

    Attributes
    ----------
    states
        :class:`~dronesense.flight.state.FlightState` per system id.
    counts
        Rows produced per quantity.
    """

    def __init__(
        self,
        names: NameTable | None = None,
        max_gap_s: float = 1.0,
        lags: dict[str, float] | None = None,
        track_horizon_s: float | None = TRACK_HORIZON_S,
    ):
        self.names = names if names is not None else NameTable.default()
        #: Fixes older than this before a vehicle's latest are forgotten (``None``: kept).
        self.track_horizon_s = track_horizon_s
        self.max_gap_s = float(max_gap_s)
        self.lags_ms = {k: 1000.0 * float(v) for k, v in (lags or {}).items()}
        self.states: dict[int, FlightState] = {}
        self.counts: dict[str, int] = {}
        self.latest: dict[tuple[int, str], tuple[float, str]] = {}
        # per sysid: sorted [(t, seq, reading, recv_us)] waiting for a fix at or after t
        self._pending: dict[int, list[tuple]] = {}
        # per sysid: [(reading, recv_us)] stamped far back, waiting for the next autopilot time
        self._suspect: dict[int, list[tuple]] = {}
        # per (sysid, boot): [(row, recv_us)] resolved but waiting for a clock sync
        self._held: dict[tuple[int, int], list[tuple]] = {}
        self._seq = 0
        self._quantity_cache: dict[str, tuple[str, float, str, float]] = {}
        self._push = {Reading: self._push_reading, Fix: self._push_fix,
                      TimeSync: self._push_sync, Status: self._push_status}

    # -- public API -------------------------------------------------------------------------
    def state(self, sysid: int) -> FlightState:
        """The flight state of a vehicle (created on first use)."""
        st = self.states.get(sysid)
        if st is None:
            h = self.track_horizon_s
            st = self.states[sysid] = FlightState(sysid, track=Track(horizon_s=h),
                                                  track_horizon_s=h)
            self._pending[sysid] = []
            self._suspect[sysid] = []
        return st

    def push(self, event, recv_us: int | None = None) -> list[SampleRow]:
        """Feed one event; return the sample rows it completes (possibly none).

        Parameters
        ----------
        event
            A :class:`~dronesense.events.Fix`, :class:`Reading`, :class:`TimeSync` or
            :class:`Status`.
        recv_us
            Ground receive time (UNIX µs) of the message, used only as the UTC fallback of a
            reading whose boot never gets a clock sync.
        """
        st = self.states.get(event.sysid)
        if st is None:
            st = self.state(event.sysid)
        out: list[SampleRow] = []
        handler = self._push.get(type(event))
        if handler is None:  # a subclass, or something unknown: dispatch like before
            for cls, h in self._push.items():
                if isinstance(event, cls):
                    handler = h
                    break
            else:
                return out
        handler(st, event, recv_us, out)
        return out

    def finish(self) -> list[SampleRow]:
        """End of data: flag readings still waiting and release held rows.

        Readings still waiting for a fix get ``AFTER_TRACK`` (``BEFORE_TRACK`` if their boot
        has no fix at all); rows whose boot never got a clock sync use the receive time.
        """
        out: list[SampleRow] = []
        for sysid in sorted(self.states):
            st = self.states[sysid]
            for boot in st.clock.boots:
                st.clock.close(boot)
            self._release_suspects(st, out)
            self._flush_pending(st, None, out)
        for key in sorted(self._held):
            clock = self.states[key[0]].clock
            known = clock.known(key[1])
            for row, recv_us in self._held[key]:
                if known:  # held for a step candidate that never got confirmed
                    row = row._replace(
                        time_utc=format_utc(clock.to_unix_us(key[1], row.time_boot_ms)),
                        time_source="sync")
                elif recv_us is not None:
                    row = row._replace(time_utc=format_utc(recv_us), time_source="receive")
                out.append(row)
                self._count(row)
        self._held.clear()
        return out

    @property
    def pending(self) -> int:
        """Readings waiting for a later fix, for the next autopilot time or a clock sync."""
        return (sum(len(p) for p in self._pending.values())
                + sum(len(p) for p in self._suspect.values())
                + sum(len(h) for h in self._held.values()))

    # -- internals --------------------------------------------------------------------------
    def _push_reading(self, st: FlightState, reading: Reading, recv_us, out) -> None:
        if st.is_late(reading.time_boot_ms):
            self._suspect[st.sysid].append((reading, recv_us))
            return
        self._on_reading(st, reading, recv_us, out)

    def _push_fix(self, st: FlightState, fix: Fix, recv_us, out) -> None:
        self._check_reboot(st, fix.time_boot_ms, out)
        self._on_fix(st, fix, out)

    def _push_sync(self, st: FlightState, sync: TimeSync, recv_us, out) -> None:
        self._check_reboot(st, sync.time_boot_ms, out)
        st.clock.update(st.boot, sync)
        if st.clock.ready(st.boot):
            self._release(st, st.boot, out)

    def _push_status(self, st: FlightState, status: Status, recv_us, out) -> None:
        st.observe_status(status)

    def _check_reboot(self, st: FlightState, time_ms: float, out: list[SampleRow]) -> None:
        """An autopilot time: detect a reboot, then place the readings held for it."""
        old_boot = st.boot
        old_track = st.track
        if st.observe_time(time_ms):
            st.clock.close(old_boot)  # no more syncs for it: a waiting step candidate is void
            self._flush_pending(st, Flag.REBOOT, out, boot=old_boot, track=old_track)
            if st.clock.ready(old_boot):
                self._release(st, old_boot, out)
        self._release_suspects(st, out)

    def _release_suspects(self, st: FlightState, out: list[SampleRow]) -> None:
        suspects = self._suspect[st.sysid]
        if suspects:
            items = list(suspects)
            suspects.clear()
            for reading, recv_us in items:
                self._on_reading(st, reading, recv_us, out)

    def lookup(self, name: str) -> tuple[str, float, str]:
        """(quantity key, scale, units) of a wire name, as its readings are paired."""
        return self.conversion(name)[:3]

    def conversion(self, name: str) -> tuple[str, float, str, float]:
        """(quantity key, scale, units, lag ms) of a wire name (cached; the batch pairing
        of :mod:`dronesense.flight.batch` converts with it too)."""
        hit = self._quantity_cache.get(name)
        if hit is None:
            conv = self.names.names.get(normalise_name(name))
            if conv is None:
                key, scale, units = normalise_name(name), 1.0, ""
            else:
                key, scale = conv
                units = self.names.quantities[key].units
            lag = self.lags_ms.get(key, self.lags_ms.get(name, 0.0))
            hit = self._quantity_cache[name] = (key, scale, units, lag)
        return hit

    def _on_reading(self, st, reading: Reading, recv_us, out) -> None:
        lag = self.conversion(reading.name)[3]
        self._seq += 1
        item = (reading.time_boot_ms - lag, self._seq, reading, recv_us)
        times = st.track.times
        if times and item[0] <= times[-1]:
            self._resolve(st, (item,), None, out)
        else:
            insort(self._pending[st.sysid], item)

    def _on_fix(self, st: FlightState, fix: Fix, out) -> None:
        if not st.track.append(fix):
            return
        st.observe_fix(fix)
        pending = self._pending[st.sysid]
        if pending and pending[0][0] <= fix.time_boot_ms:
            k = 1
            t = fix.time_boot_ms
            n = len(pending)
            while k < n and pending[k][0] <= t:
                k += 1
            ready = pending[:k]
            del pending[:k]
            self._resolve(st, ready, None, out)

    def _flush_pending(self, st, flag, out, *, boot=None, track=None) -> None:
        pending = self._pending[st.sysid]
        if not pending:
            return
        ready = list(pending)
        pending.clear()
        self._resolve(st, ready, flag, out, boot=boot, track=track)

    def _resolve(self, st, items, force_flag, out, *, boot=None, track=None):
        """Turn readings into rows with the pairing rule; hold rows lacking UTC."""
        boot = st.boot if boot is None else boot
        track = st.track if track is None else track
        fix_t, fix_ok, fix_pos = track.times, track.ok, track.pos
        max_gap = self.max_gap_s
        sysid = st.sysid
        clock = st.clock
        to_unix = clock.to_unix_us if clock.ready(boot) else None
        held = self._held.get((sysid, boot))
        lookup = self.conversion
        for t, _, r, recv_us in items:
            pos, g, f = interpolate_one(fix_t, fix_ok, fix_pos, t, max_gap)
            if force_flag is not None:  # everything still waiting is cut off by the reboot
                f = force_flag
                pos = None
            key, scale, units, _ = lookup(r.name)
            if pos is None:
                lat = lon = alt = height = None
            else:
                lat, lon, alt, height = pos
            if held is None and to_unix is not None:
                row = SampleRow(
                    format_utc(to_unix(boot, t)), t, boot, sysid, lat, lon, alt,
                    height, key, r.name, float(r.value) * scale, units,
                    None if g != g else g, f, "sync",
                )
                out.append(row)
                self._count(row)
                continue
            row = SampleRow(
                None, t, boot, sysid, lat, lon, alt, height, key, r.name,
                float(r.value) * scale, units, None if g != g else g, f, "",
            )
            if held is None:
                held = self._held.setdefault((sysid, boot), [])
            held.append((row, recv_us))

    def _release(self, st: FlightState, boot: int, out: list[SampleRow]) -> None:
        held = self._held.pop((st.sysid, boot), None)
        if not held:
            return
        for row, _ in held:
            unix_us = st.clock.to_unix_us(boot, row.time_boot_ms)
            row = row._replace(time_utc=format_utc(unix_us), time_source="sync")
            out.append(row)
            self._count(row)

    def _count(self, row: SampleRow) -> None:
        q = row.quantity
        counts = self.counts
        counts[q] = counts.get(q, 0) + 1
        self.latest[(row.sysid, q)] = (row.value, row.units)
