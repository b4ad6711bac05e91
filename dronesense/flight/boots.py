"""A log's events split by vehicle boot: each boot's track and readings, for the lag estimate
and the track statistics of post-flight pairing.

Boots, late readings and out-of-order fixes are decided by
:class:`~dronesense.flight.state.FlightState` exactly as in the pairing engine
(:class:`~dronesense.flight.pairing.Pairer`): only the autopilot's own times (:class:`Fix`,
:class:`TimeSync`) reveal a reboot; a reading stamped more than the reboot threshold before the
latest autopilot time waits for the next one to tell which boot it is in.

Examples
--------
>>> from dronesense.events import Fix, Reading
>>> events = [(Fix(1, 1000.0 * k, 52.0, 5.0 + k * 1e-5, 40.0, 30.0), None) for k in range(5)]
>>> events += [(Reading(1, 2500.0, "CH4", 1.9), None)]
>>> boots = split_boots(events, NameTable.default())
>>> list(boots.segments), len(boots.segments[(1, 0)].track), boots.segments[(1, 0)].readings
([(1, 0)], 5, {'ch4': ([2500.0], [1.9])})
>>> track_stats(boots, max_gap_s=0.5)
TrackStats(duration_s=4.0, gaps=4, gap_s=4.0, longest_gap_s=1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from dronesense.events import Event, Fix, Reading, Status
from dronesense.flight.lag import LagEstimate, estimate_lag
from dronesense.flight.state import FlightState
from dronesense.flight.track import Track
from dronesense.quantities import NameTable, normalise_name

__all__ = ["BootSegment", "Boots", "TrackStats", "estimate_boots_lag", "split_boots",
           "split_boots_columns", "track_stats"]


@dataclass
class BootSegment:
    """One vehicle boot: its track and its readings by quantity key (times ms, values)."""

    track: Track
    readings: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


@dataclass
class Boots:
    """The boot segments of a log, by (system id, boot), and what was dropped on the way."""

    segments: dict[tuple[int, int], BootSegment] = field(default_factory=dict)
    #: Duplicate or out-of-order positions dropped.
    out_of_order: int = 0
    #: Positions without a GNSS fix (kept, never used for pairing).
    no_fix: int = 0

    def quantities(self) -> set[str]:
        """Quantity keys with readings in any boot."""
        return {k for s in self.segments.values() for k in s.readings}


@dataclass(frozen=True)
class TrackStats:
    """Duration of track and the gaps longer than the pairing's max gap, over all boots."""

    duration_s: float = 0.0
    gaps: int = 0
    gap_s: float = 0.0
    longest_gap_s: float = 0.0


def _quantity_key(names: NameTable, name: str) -> str:
    hit = names.names.get(normalise_name(name))
    return hit[0] if hit is not None else normalise_name(name)


def split_boots(events: Iterable[tuple[Event, int | None]], names: NameTable) -> Boots:
    """Split ``(event, receive time)`` pairs by vehicle boot; collect tracks and readings."""
    states: dict[int, FlightState] = {}
    suspects: dict[int, list[Reading]] = {}
    boots = Boots()
    segs = boots.segments

    def seg_of(st: FlightState) -> BootSegment:
        seg = segs.get((st.sysid, st.boot))
        if seg is None:
            seg = segs[(st.sysid, st.boot)] = BootSegment(st.track)
        return seg

    def add_reading(st: FlightState, ev: Reading) -> None:
        vals = seg_of(st).readings.setdefault(_quantity_key(names, ev.name), ([], []))
        vals[0].append(ev.time_boot_ms)
        vals[1].append(ev.value)

    for ev, _ in events:
        if isinstance(ev, Status):
            continue
        st = states.get(ev.sysid)
        if st is None:
            st = states[ev.sysid] = FlightState(ev.sysid)
        if isinstance(ev, Reading):
            if st.is_late(ev.time_boot_ms):
                suspects.setdefault(ev.sysid, []).append(ev)
            else:
                add_reading(st, ev)
            continue
        st.observe_time(ev.time_boot_ms)  # an autopilot time (Fix or TimeSync)
        for r in suspects.pop(ev.sysid, ()):
            add_reading(st, r)
        seg = seg_of(st)
        if isinstance(ev, Fix):
            if not seg.track.append(ev):
                boots.out_of_order += 1
            elif not ev.fix_ok:
                boots.no_fix += 1
    for sysid, items in suspects.items():  # end of data: the current boot
        for r in items:
            add_reading(states[sysid], r)
    return boots


def split_boots_columns(cols, names: NameTable) -> Boots | None:
    """:func:`split_boots` of a tlog's event columns
    (:class:`~dronesense.sources.tlogevents.EventColumns`) without a reboot or a late reading
    (:func:`~dronesense.flight.batch.is_simple`): one boot per vehicle, the same tracks and
    readings; ``None`` for any other log (split its events instead)."""
    from dronesense.flight.batch import accepted_fixes, is_simple

    fixes, readings, syncs = cols.fixes, cols.readings, cols.syncs
    sysids = sorted(set(fixes["sysid"].tolist()) | set(readings["sysid"].tolist())
                    | set(syncs["sysid"].tolist()))
    if not all(is_simple(fixes, readings, syncs, s) for s in sysids):
        return None
    boots = Boots()
    keys = [_quantity_key(names, n) for n in cols.names]
    one = len(sysids) == 1  # one vehicle: views of the columns, no copies
    for sysid in sysids:
        fm = slice(None) if one else np.flatnonzero(fixes["sysid"] == sysid)
        t = fixes["time_boot_ms"][fm]
        accepted = accepted_fixes(t)[0]
        dropped = int(t.size - np.count_nonzero(accepted))
        if dropped:
            acc = np.flatnonzero(accepted) if one else fm[accepted]
            t = t[accepted]
        else:
            acc = fm
        pos = np.column_stack([fixes[k][acc] for k in ("lat", "lon", "alt_amsl", "height")])
        ok = fixes["ok"][acc]
        boots.out_of_order += dropped
        boots.no_fix += int(ok.size - np.count_nonzero(ok))
        seg = BootSegment(Track.from_arrays(_frozen(t), ok, pos, dropped))
        rm = slice(None) if one else np.flatnonzero(readings["sysid"] == sysid)
        code = readings["name"][rm]
        rt, rv = readings["time_boot_ms"][rm], readings["value"][rm]
        mine_keys = list(dict.fromkeys(keys[c] for c in np.unique(code).tolist()))
        for key in mine_keys:
            if len(mine_keys) == 1:  # every reading of the vehicle is of this quantity
                seg.readings[key] = (_frozen(rt), _frozen(rv))
                continue
            mine = np.isin(code, [i for i, k in enumerate(keys) if k == key])
            seg.readings[key] = (rt[mine], rv[mine])
        boots.segments[(sysid, 0)] = seg
    return boots


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view: segments may share the log's columns."""
    v = a.view()
    v.flags.writeable = False
    return v


def estimate_boots_lag(boots: Boots, key: str, **options) -> LagEstimate:
    """The lag of quantity ``key``: :func:`~dronesense.flight.lag.estimate_lag` per boot with
    enough track, combined by inverse variance (``options`` go to ``estimate_lag``)."""
    ests = []
    reasons = []
    for seg in boots.segments.values():
        if key not in seg.readings or len(seg.track) < 10:
            continue
        fix_t, fix_ok, fix_pos = seg.track.arrays()
        pos, ft = fix_pos[fix_ok], fix_t[fix_ok]
        t, v = (np.array(a) for a in seg.readings[key])
        est = estimate_lag(ft, pos[:, 0], pos[:, 1], pos[:, 2], t, v, **options)
        (ests if est.ok else reasons).append(est if est.ok else est.reason)
    if not ests:
        return LagEstimate(math.nan, math.nan, 0, reasons[0] if reasons else "no data")
    w = np.array([1.0 / e.uncertainty_s ** 2 for e in ests])
    lag = float(np.sum(w * [e.lag_s for e in ests]) / w.sum())
    methods = sorted({e.method for e in ests})
    return LagEstimate(lag, float(1.0 / math.sqrt(w.sum())), sum(e.pairs for e in ests),
                       method="+".join(methods))


def track_stats(boots: Boots, max_gap_s: float) -> TrackStats:
    """Track duration and the gaps between fixes longer than ``max_gap_s``, over all boots."""
    duration = gap_s = longest = 0.0
    gaps = 0
    for seg in boots.segments.values():
        if len(seg.track) < 2:
            continue
        t = seg.track.arrays()[0]
        duration += (t[-1] - t[0]) / 1000.0
        d = np.diff(t)
        d /= 1000.0  # in place: one temporary the size of the track
        big = d[d > max_gap_s]
        gaps += int(big.size)
        gap_s += float(big.sum())
        if big.size:
            longest = max(longest, float(big.max()))
    return TrackStats(float(duration), gaps, gap_s, longest)
