"""The pairing engine's rules applied to a whole log's event columns at once.

:class:`~dronesense.flight.pairing.Pairer` decides event by event; over a recorded log every
decision it makes can be computed from arrays instead, as long as the log holds none of the
cases that make a decision depend on a later one: a reboot (an autopilot time going back more
than the reboot threshold) or a reading stamped that far before the latest autopilot time.
:func:`pair_columns` checks for both and returns ``None`` when it meets one (the caller then
pushes the events one by one); otherwise it gives exactly the rows, in the same order, that
the streaming engine gives (tests compare every row and flag):

* fixes join the track when later than every fix before (the running maximum);
* a reading at *t* (minus its lag) is resolved at once when the track already reaches *t*,
  else by the first later fix at or after *t* (rows resolved by one fix in order of *t*),
  else at the end of data; its position is interpolated on the boot's whole track (later
  fixes never change the two around *t*);
* the clock (:class:`~dronesense.flight.clock.Clock`, fed the syncs in order: a few per
  second) gives UTC with the model it had when the row was emitted: at resolution when the
  clock was ready, else at the first later sync that makes it ready (rows held in order),
  else at the end of data (receive time when the boot never got a clock).

Examples
--------
>>> import numpy as np
>>> from dronesense.flight.pairing import Pairer
>>> f = {"order": np.array([1, 3]), "sysid": np.array([1, 1]),
...      "time_boot_ms": np.array([0.0, 1000.0]), "recv_us": np.array([0, 0]),
...      "lat": np.array([52.0, 52.0]), "lon": np.array([5.0, 5.001]),
...      "alt_amsl": np.array([40.0, 40.0]), "height": np.array([30.0, 30.0]),
...      "ok": np.array([True, True])}
>>> r = {"order": np.array([2]), "sysid": np.array([1]), "time_boot_ms": np.array([500.0]),
...      "recv_us": np.array([0]), "name": np.array([0]), "value": np.array([1.9])}
>>> s = {"order": np.array([0]), "sysid": np.array([1]), "time_boot_ms": np.array([0.0]),
...      "recv_us": np.array([0]), "unix_us": np.array([1_714_557_600_000_000])}
>>> cols = pair_columns(Pairer(), f, r, s, {}, ["CH4"])
>>> cols.rows()[0].time_utc, round(cols.rows()[0].lon, 4)
('2024-05-01T10:00:00.500000Z', 5.0005)
"""

from __future__ import annotations

import numpy as np

from dronesense.events import Status
from dronesense.flight.columns import SampleColumns
from dronesense.flight.pairing import Pairer, interpolate_positions
from dronesense.flight.rows import Flag
from dronesense.flight.state import REBOOT_THRESHOLD_MS
from dronesense.flight.track import Track

__all__ = ["is_simple", "pair_columns"]

_BIG = np.int64(1) << 60

#: Readings interpolated at a time: each one's position depends on its own time only, so
#: blocks give the same values with the temporaries of one block (memory of big logs).
BLOCK = 1 << 18


def _positions(fix_t, fix_ok, fix_pos, t, max_gap_s):
    """:func:`~dronesense.flight.pairing.interpolate_positions`, :data:`BLOCK` readings at a
    time."""
    if t.size <= BLOCK:
        return interpolate_positions(fix_t, fix_ok, fix_pos, t, max_gap_s)
    pos = np.empty((t.size, fix_pos.shape[1]))
    gap = np.empty(t.size)
    flag = np.empty(t.size, dtype=np.int8)
    for a in range(0, t.size, BLOCK):
        b = min(a + BLOCK, t.size)
        pos[a:b], gap[a:b], flag[a:b] = interpolate_positions(fix_t, fix_ok, fix_pos, t[a:b],
                                                              max_gap_s)
    return pos, gap, flag


def is_simple(fixes, readings, syncs, sysid: int) -> bool:
    """No reboot and no late reading for vehicle ``sysid`` (see the module docstring): what
    lets its events be paired as arrays."""
    fm, sm, rm = fixes["sysid"] == sysid, syncs["sysid"] == sysid, readings["sysid"] == sysid
    order = np.concatenate([fixes["order"][fm], syncs["order"][sm]])
    t = np.concatenate([fixes["time_boot_ms"][fm], syncs["time_boot_ms"][sm]])
    perm = np.argsort(order, kind="stable")
    order, t = order[perm], t[perm]
    if not t.size:
        return True
    top = np.maximum.accumulate(t)
    if np.any(t[1:] < top[:-1] - REBOOT_THRESHOLD_MS):
        return False
    r_order, r_t = readings["order"][rm], readings["time_boot_ms"][rm]
    k = np.searchsorted(order, r_order, side="left") - 1  # latest autopilot time before
    seen = k >= 0
    return not np.any(r_t[seen] < top[k[seen]] - REBOOT_THRESHOLD_MS)


def _within(fixes, readings, sysid: int, lag_of: np.ndarray, horizon_ms: float) -> bool:
    """No reading of this vehicle, paired at once, lies further back than the track the
    engine keeps (``horizon_ms`` before the latest fix)."""
    fm, rm = fixes["sysid"] == sysid, readings["sysid"] == sysid
    f_t = fixes["time_boot_ms"][fm]
    if not f_t.size or not rm.any():
        return True
    top = np.maximum.accumulate(f_t)
    k = np.searchsorted(fixes["order"][fm], readings["order"][rm], side="left") - 1
    t = readings["time_boot_ms"][rm] - lag_of[readings["name"][rm]]
    seen = k >= 0
    return not np.any(t[seen] < top[k[seen]] - horizon_ms)


def pair_columns(pairer: Pairer, fixes, readings, syncs, statuses, names: list[str]
                 ) -> SampleColumns | None:
    """Pair event columns (:class:`~dronesense.sources.tlogevents.EventColumns` dicts) with
    the rules and settings of ``pairer`` (fresh), ending the data; ``None`` when the log
    needs the event-by-event engine. ``pairer`` is left as the streaming run would leave it:
    its vehicles' tracks, clocks and status, its counts."""
    if not statuses:
        statuses = {k: np.empty(0, dtype=d) for k, d in (
            ("order", "i8"), ("sysid", "i4"), ("armed", bool), ("mode", "i8"),
            ("vehicle_type", "i8"), ("autopilot", "i8"))}
    sysids = sorted(set(fixes["sysid"].tolist()) | set(readings["sysid"].tolist())
                    | set(syncs["sysid"].tolist()) | set(statuses["sysid"].tolist()))
    if not all(is_simple(fixes, readings, syncs, s) for s in sysids):
        return None
    lookups = [pairer._lookup4(n) for n in names]
    lag_of = np.array([x[3] for x in lookups] or [0.0])
    horizon = pairer.track_horizon_s
    if horizon is not None and not all(_within(fixes, readings, s, lag_of, 1000.0 * horizon)
                                       for s in sysids):
        return None  # a reading older than the track the engine keeps: event by event
    parts = []
    for sysid in sysids:
        st = pairer.state(sysid)
        fm = np.flatnonzero(fixes["sysid"] == sysid)
        f_order, f_t = fixes["order"][fm], fixes["time_boot_ms"][fm]
        top = np.maximum.accumulate(f_t) if f_t.size else f_t
        accepted = np.ones(f_t.size, dtype=bool)
        if f_t.size > 1:
            accepted[1:] = f_t[1:] > top[:-1]
        acc = fm[accepted]
        fix_t, fix_ok = f_t[accepted], fixes["ok"][acc]
        fix_pos = np.empty((acc.size, 4))
        for i, k in enumerate(("lat", "lon", "alt_amsl", "height")):  # a column at a time
            fix_pos[:, i] = fixes[k][acc]
        st.track = Track.from_arrays(fix_t, fix_ok, fix_pos, dropped=int((~accepted).sum()))
        if fix_t.size:
            st.last_time_ms = float(fix_t[-1])
        hm = np.flatnonzero(statuses["sysid"] == sysid)
        if hm.size:
            st.status = Status(sysid, bool(statuses["armed"][hm[-1]]),
                               int(statuses["mode"][hm[-1]]),
                               int(statuses["vehicle_type"][hm[-1]]),
                               int(statuses["autopilot"][hm[-1]]))
            k = np.searchsorted(statuses["order"][hm], f_order[accepted], side="left") - 1
            armed = (k >= 0) & statuses["armed"][hm[np.maximum(k, 0)]]
            st.has_flown = bool(np.any(armed & (fixes["height"][acc] > 1.0)))
        if fix_ok.any():
            st.max_height = float(fixes["height"][acc][fix_ok].max())
        sm = np.flatnonzero(syncs["sysid"] == sysid)
        if sm.size:
            last_sync = float(syncs["time_boot_ms"][sm].max())
            st.last_time_ms = max(st.last_time_ms or -np.inf, last_sync)
        ready, pieces, params = st.clock.update_many(0, syncs["time_boot_ms"][sm].tolist(),
                                                     syncs["unix_us"][sm].tolist())

        rm = np.flatnonzero(readings["sysid"] == sysid)
        if not rm.size:
            st.clock.close(0)
            continue
        r_order = readings["order"][rm]
        code = readings["name"][rm]
        t = readings["time_boot_ms"][rm] - lag_of[code]
        # resolution: at once, at the first fix reaching t, or at the end (_BIG)
        k = np.searchsorted(f_order, r_order, side="left") - 1
        reach = np.where(k >= 0, top[np.maximum(k, 0)] if top.size else -np.inf, -np.inf)
        now = t <= reach
        j = np.searchsorted(top, t, side="left") if top.size else np.zeros(t.size, np.int64)
        res = np.where(now, r_order, np.where(j < f_order.size,
                                              f_order[np.minimum(j, max(f_order.size - 1, 0))]
                                              if f_order.size else _BIG, _BIG))
        pos, gap, flag = _positions(fix_t, fix_ok, fix_pos, t, pairer.max_gap_s)
        # emission: the clock version at resolution if ready, else the next ready sync
        s_order = syncs["order"][sm]
        ver = np.searchsorted(s_order, res, side="left")  # syncs before the resolution
        ready_next = np.full(ready.size, -1, dtype=np.int64)  # first ready version >= v
        nxt = -1
        for v in range(ready.size - 1, -1, -1):
            if ready[v]:
                nxt = v
            ready_next[v] = nxt
        st.clock.close(0)
        final_known = st.clock.known(0)
        fin = res == _BIG
        emit_ver = np.where(fin, -1, ready_next[np.minimum(ver, ready.size - 1)])
        emit = np.where(emit_ver == ver, res, np.where(
            emit_ver >= 0, s_order[np.maximum(emit_ver - 1, 0)] if s_order.size else _BIG,
            _BIG))
        held_at_end = (emit == _BIG) & ~fin
        # finish: pending rows of known clocks first (phase 0), then every held row (phase 1)
        phase = np.where(fin & final_known, 0, 1)
        emit = np.where(emit == _BIG, _BIG + phase * 4096 + sysid, emit)
        use_ver = np.where(emit < _BIG, emit_ver, ready.size - 1)
        n_final, final = st.clock.model(0)
        prm = params[use_ver]
        prm[emit >= _BIG] = final
        pc = pieces[use_ver]
        pc[emit >= _BIG] = n_final
        unix = st.clock.to_unix_versions(0, pc, prm, t)
        source = np.where(emit < _BIG, 1, np.where(final_known, 1, 2))  # 1 sync, 2 receive
        recv = readings["recv_us"][rm]
        unix = np.where(source == 2, recv, unix)
        del held_at_end, k, reach, now, j, ver, emit_ver, phase, use_ver, prm, pc
        parts.append(dict(emit=emit, res=res, t=t, order=r_order, unix=unix, source=source,
                          boot=np.zeros(t.size, np.int32), sysid=np.full(t.size, sysid, np.int32),
                          pos=pos, gap=gap, flag=flag, code=code,
                          value=readings["value"][rm]))
    if not parts:
        return SampleColumns.empty()
    if len(parts) == 1:
        cat = parts.pop()
    else:
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        parts.clear()
    perm = np.lexsort((cat["order"], cat["t"], cat["res"], cat["emit"]))
    if np.any(perm[1:] < perm[:-1]):  # rows emitted out of reading order
        for k in list(cat):  # a column at a time: each old one let go as it is replaced
            cat[k] = cat[k][perm]
    del perm
    keys = [x[0] for x in lookups]
    scale = np.array([x[1] for x in lookups] or [1.0])
    units = [x[2] for x in lookups]
    code = cat["code"]
    cols = SampleColumns(
        unix_us=cat["unix"], has_utc=np.ones(code.size, dtype=bool),
        time_source=np.where(cat["source"] == 1, 1, 2).astype(np.int8),
        time_boot_ms=cat["t"], boot=cat["boot"], sysid=cat["sysid"],
        lat=cat["pos"][:, 0], lon=cat["pos"][:, 1], alt_amsl=cat["pos"][:, 2],
        height=cat["pos"][:, 3], quantity_code=code, name_code=code,
        value=cat["value"] * scale[code], position_gap=cat["gap"],
        flag=cat["flag"].astype(np.int8), quantities=keys, names=list(names),
        units=units)
    cols.count_into(pairer)
    return cols


assert Flag.PAIRED == 0  # the flags of interpolate_positions are the row flags
