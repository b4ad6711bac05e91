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
* UTC comes from the vehicle clock (SYSTEM_TIME). A resolved row whose boot segment has no
  clock sync yet is held until one arrives; at :meth:`Pairer.finish` held rows fall back to
  the ground receive time of the reading (``time_source = "receive"``) when it was given.

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

import bisect
from dataclasses import dataclass

import numpy as np

from dronesense.events import Fix, Reading, Status, TimeSync
from dronesense.flight import FlightState
from dronesense.quantities import NameTable, _normalise
from dronesense.samples import Flag, SampleRow, format_utc

__all__ = ["Pairer", "interpolate_positions"]


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
        :class:`~dronesense.samples.Flag` values. Readings after the last fix get
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


@dataclass(slots=True)
class _Pending:
    t: float  # pairing time: reading time minus lag (ms since boot)
    seq: int  # arrival order, breaks ties
    reading: Reading
    recv_us: int | None

    def __lt__(self, other: _Pending) -> bool:
        return (self.t, self.seq) < (other.t, other.seq)


@dataclass(slots=True)
class _Resolved:
    row: SampleRow
    recv_us: int | None


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

    Attributes
    ----------
    states
        :class:`~dronesense.flight.FlightState` per system id.
    counts
        Rows produced per quantity.
    """

    def __init__(
        self,
        names: NameTable | None = None,
        max_gap_s: float = 1.0,
        lags: dict[str, float] | None = None,
    ):
        self.names = names if names is not None else NameTable.default()
        self.max_gap_s = float(max_gap_s)
        self.lags_ms = {k: 1000.0 * float(v) for k, v in (lags or {}).items()}
        self.states: dict[int, FlightState] = {}
        self.counts: dict[str, int] = {}
        self.latest: dict[tuple[int, str], tuple[float, str]] = {}
        self._pending: dict[int, list[_Pending]] = {}
        self._held: dict[tuple[int, int], list[_Resolved]] = {}
        self._seq = 0
        self._quantity_cache: dict[str, tuple[str, float, str]] = {}

    # -- public API -------------------------------------------------------------------------
    def state(self, sysid: int) -> FlightState:
        """The flight state of a vehicle (created on first use)."""
        st = self.states.get(sysid)
        if st is None:
            st = self.states[sysid] = FlightState(sysid)
            self._pending[sysid] = []
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
        st = self.state(event.sysid)
        out: list[SampleRow] = []
        if isinstance(event, Reading):
            self._check_reboot(st, event.time_boot_ms, out)
            self._on_reading(st, event, recv_us, out)
        elif isinstance(event, Fix):
            self._check_reboot(st, event.time_boot_ms, out)
            self._on_fix(st, event, out)
        elif isinstance(event, TimeSync):
            self._check_reboot(st, event.time_boot_ms, out)
            st.clock.update(st.boot, event)
            self._release(st, st.boot, out)
        elif isinstance(event, Status):
            st.observe_status(event)
        return out

    def finish(self) -> list[SampleRow]:
        """End of data: flag readings still waiting and release held rows.

        Readings still waiting for a fix get ``AFTER_TRACK`` (``BEFORE_TRACK`` if their boot
        has no fix at all); rows whose boot never got a clock sync use the receive time.
        """
        out: list[SampleRow] = []
        for sysid in sorted(self.states):
            st = self.states[sysid]
            self._flush_pending(st, None, out)
        for key in sorted(self._held):
            for item in self._held[key]:
                row = item.row
                if item.recv_us is not None:
                    row = row._replace(time_utc=format_utc(item.recv_us), time_source="receive")
                out.append(row)
                self._count(row)
        self._held.clear()
        return out

    @property
    def pending(self) -> int:
        """Readings waiting for a later fix or for a clock sync."""
        return sum(len(p) for p in self._pending.values()) + sum(
            len(h) for h in self._held.values()
        )

    # -- internals --------------------------------------------------------------------------
    def _check_reboot(self, st: FlightState, time_ms: float, out: list[SampleRow]) -> None:
        old_boot = st.boot
        old_track = st.track
        if st.observe_time(time_ms):
            self._flush_pending(st, Flag.REBOOT, out, boot=old_boot, track=old_track)

    def _lookup(self, name: str) -> tuple[str, float, str]:
        hit = self._quantity_cache.get(name)
        if hit is None:
            conv = self.names.names.get(_normalise(name))
            if conv is None:
                hit = (_normalise(name), 1.0, "")
            else:
                key, scale = conv
                hit = (key, scale, self.names.quantities[key].units)
            self._quantity_cache[name] = hit
        return hit

    def _on_reading(self, st, reading: Reading, recv_us, out) -> None:
        key, _, _ = self._lookup(reading.name)
        lag = self.lags_ms.get(key, self.lags_ms.get(reading.name, 0.0))
        self._seq += 1
        item = _Pending(reading.time_boot_ms - lag, self._seq, reading, recv_us)
        last = st.track.last_time
        if last is not None and item.t <= last:
            self._resolve(st, [item], None, out)
        else:
            bisect.insort(self._pending[st.sysid], item)

    def _on_fix(self, st: FlightState, fix: Fix, out) -> None:
        if not st.track.append(fix):
            return
        st.observe_fix(fix)
        pending = self._pending[st.sysid]
        if pending and pending[0].t <= fix.time_boot_ms:
            k = 0
            while k < len(pending) and pending[k].t <= fix.time_boot_ms:
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

    def _resolve(self, st, items: list[_Pending], force_flag, out, *, boot=None, track=None):
        """Turn readings into rows with the vectorised rule; hold rows lacking UTC."""
        boot = st.boot if boot is None else boot
        track = st.track if track is None else track
        fix_t, fix_ok, fix_pos = track.arrays()
        t = np.fromiter((it.t for it in items), dtype=float, count=len(items))
        pos, gap, flag = interpolate_positions(fix_t, fix_ok, fix_pos, t, self.max_gap_s)
        if force_flag is not None:  # everything still waiting is cut off by the reboot
            flag[:] = force_flag
        clock = st.clock
        held = self._held.get((st.sysid, boot))
        for j, it in enumerate(items):
            r = it.reading
            key, scale, units = self._lookup(r.name)
            f = int(flag[j])
            if f == Flag.PAIRED:
                lat, lon, alt, height = (float(x) for x in pos[j])
            else:
                lat = lon = alt = height = None
            g = float(gap[j])
            row = SampleRow(
                None, it.t, boot, st.sysid, lat, lon, alt, height, key, r.name,
                float(r.value) * scale, units, None if g != g else g, f, "",
            )
            if held is None:
                unix_us = clock.to_unix_us(boot, it.t)
                if unix_us is not None:
                    row = row._replace(time_utc=format_utc(unix_us), time_source="sync")
                    out.append(row)
                    self._count(row)
                    continue
                held = self._held.setdefault((st.sysid, boot), [])
            held.append(_Resolved(row, it.recv_us))

    def _release(self, st: FlightState, boot: int, out: list[SampleRow]) -> None:
        held = self._held.pop((st.sysid, boot), None)
        if not held:
            return
        for item in held:
            unix_us = st.clock.to_unix_us(boot, item.row.time_boot_ms)
            row = item.row._replace(time_utc=format_utc(unix_us), time_source="sync")
            out.append(row)
            self._count(row)

    def _count(self, row: SampleRow) -> None:
        self.counts[row.quantity] = self.counts.get(row.quantity, 0) + 1
        self.latest[(row.sysid, row.quantity)] = (row.value, row.units)
