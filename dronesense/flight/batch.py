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

__all__ = ["accepted_fixes", "is_simple", "pair_columns"]

_BIG = np.int64(1) << 60

#: Readings interpolated at a time: each one's position depends on its own time only, so
#: blocks give the same values with the temporaries of one block (memory of big logs).
BLOCK = 1 << 18


def _rows_of(sysid_col: np.ndarray, sysid: int) -> np.ndarray | slice:
    """The rows of one vehicle: every row (a slice, so no copies) when all are its own."""
    mine = sysid_col == sysid
    return slice(None) if mine.all() else np.flatnonzero(mine)


def is_simple(fixes, readings, syncs, sysid: int) -> bool:
    """No reboot and no late reading for vehicle ``sysid`` (see the module docstring): what
    lets its events be paired as arrays."""
    fm, sm = _rows_of(fixes["sysid"], sysid), _rows_of(syncs["sysid"], sysid)
    rm = _rows_of(readings["sysid"], sysid)
    f_order, s_order = fixes["order"][fm], syncs["order"][sm]
    at = np.searchsorted(f_order, s_order)  # both in file order: merged without sorting
    t = np.insert(fixes["time_boot_ms"][fm], at, syncs["time_boot_ms"][sm])
    order = np.insert(f_order, at, s_order)
    del at
    if not t.size:
        return True
    top = np.maximum.accumulate(t)
    if np.any(t[1:] < top[:-1] - REBOOT_THRESHOLD_MS):
        return False
    r_order, r_t = readings["order"][rm], readings["time_boot_ms"][rm]
    k = np.searchsorted(order, r_order, side="left") - 1  # latest autopilot time before
    seen = k >= 0
    return not np.any(r_t[seen] < top[k[seen]] - REBOOT_THRESHOLD_MS)


def accepted_fixes(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which fixes (autopilot times ``t`` in arrival order) join the track: those later than
    every fix before. Also gives the running maximum of ``t`` (``t`` itself, not a copy, when
    every fix joins).

    Examples
    --------
    >>> accepted_fixes(np.array([0.0, 200.0, 100.0, 300.0]))[0]
    array([ True,  True, False,  True])
    """
    accepted = np.ones(t.size, dtype=bool)
    if t.size > 1:
        np.greater(t[1:], t[:-1], out=accepted[1:])
    if accepted.all():  # times strictly increasing: their own running maximum
        return accepted, t
    top = np.maximum.accumulate(t)
    accepted[1:] = t[1:] > top[:-1]
    return accepted, top


def _within(fixes, readings, sysid: int, lag_of: np.ndarray, horizon_ms: float) -> bool:
    """No reading of this vehicle, paired at once, lies further back than the track the
    engine keeps (``horizon_ms`` before the latest fix)."""
    fm, rm = _rows_of(fixes["sysid"], sysid), _rows_of(readings["sysid"], sysid)
    f_t = fixes["time_boot_ms"][fm]
    if not f_t.size or not readings["order"][rm].size:
        return True
    top = np.maximum.accumulate(f_t)
    k = np.searchsorted(fixes["order"][fm], readings["order"][rm], side="left") - 1
    t = readings["time_boot_ms"][rm] - lag_of[readings["name"][rm]]
    seen = k >= 0
    return not np.any(t[seen] < top[k[seen]] - horizon_ms)


def pair_columns(pairer: Pairer, fixes, readings, syncs, statuses, names: list[str], *,
                 release: bool = False) -> SampleColumns | None:
    """Pair event columns (:class:`~dronesense.sources.tlogevents.EventColumns` dicts) with
    the rules and settings of ``pairer`` (fresh), ending the data; ``None`` when the log
    needs the event-by-event engine. ``pairer`` is left as the streaming run would leave it:
    its vehicles' tracks, clocks and status, its counts.

    With ``release``, the ``fixes`` and ``readings`` dicts are emptied once the rows are
    made (when ``None`` is returned, they are left as they are), and the position columns of
    a one-vehicle log are let go as the track is made from them: the peak memory of a big
    log is lower."""
    if not statuses:
        statuses = {k: np.empty(0, dtype=d) for k, d in (
            ("order", "i8"), ("sysid", "i4"), ("armed", bool), ("mode", "i8"),
            ("vehicle_type", "i8"), ("autopilot", "i8"))}
    sysids = sorted(set(fixes["sysid"].tolist()) | set(readings["sysid"].tolist())
                    | set(syncs["sysid"].tolist()) | set(statuses["sysid"].tolist()))
    if not all(is_simple(fixes, readings, syncs, s) for s in sysids):
        return None
    lookups = [pairer.conversion(n) for n in names]
    lag_of = np.array([x[3] for x in lookups] or [0.0])
    horizon = pairer.track_horizon_s
    if horizon is not None and not all(_within(fixes, readings, s, lag_of, 1000.0 * horizon)
                                       for s in sysids):
        return None  # a reading older than the track the engine keeps: event by event
    scale = np.array([x[1] for x in lookups] or [1.0])
    parts = []
    one = len(sysids) == 1 and release
    for sysid in sysids:
        st = pairer.state(sysid)
        fm = _rows_of(fixes["sysid"], sysid)
        f_order, f_t = fixes["order"][fm], fixes["time_boot_ms"][fm]
        accepted, top = accepted_fixes(f_t)
        acc = slice(None) if top is f_t else np.flatnonzero(accepted)
        fix_t, fix_ok = f_t[acc], fixes["ok"][fm][acc]
        fix_pos = np.empty((fix_t.size, 4))
        for i, k in enumerate(("lat", "lon", "alt_amsl", "height")):  # a column at a time
            fix_pos[:, i] = (fixes.pop(k) if one else fixes[k])[fm][acc]
        if one:  # what pairing reads no more (the caller's columns are let go)
            for k in ("recv_us", "sysid", "ok"):
                fixes.pop(k)
        st.track = Track.from_arrays(fix_t, fix_ok, fix_pos,
                                     dropped=int(accepted.size - np.count_nonzero(accepted)))
        if fix_t.size:
            st.last_time_ms = float(fix_t[-1])
        hm = np.flatnonzero(statuses["sysid"] == sysid)
        if hm.size:
            st.status = Status(sysid, bool(statuses["armed"][hm[-1]]),
                               int(statuses["mode"][hm[-1]]),
                               int(statuses["vehicle_type"][hm[-1]]),
                               int(statuses["autopilot"][hm[-1]]))
            k = np.searchsorted(statuses["order"][hm], f_order[acc], side="left") - 1
            armed = (k >= 0) & statuses["armed"][hm[np.maximum(k, 0)]]
            st.has_flown = bool(np.any(armed & (fix_pos[:, 3] > 1.0)))
            del k, armed
        if fix_ok.any():
            st.max_height = float(fix_pos[:, 3][fix_ok].max())
        del accepted, acc
        sm = np.flatnonzero(syncs["sysid"] == sysid)
        if sm.size:
            last_sync = float(syncs["time_boot_ms"][sm].max())
            st.last_time_ms = max(st.last_time_ms or -np.inf, last_sync)
        ready, pieces, params = st.clock.update_many(0, syncs["time_boot_ms"][sm].tolist(),
                                                     syncs["unix_us"][sm].tolist())
        rm = _rows_of(readings["sysid"], sysid)
        if not readings["order"][rm].size:
            st.clock.close(0)
            continue
        # emission: the clock version at resolution if ready, else the next ready sync
        ready_next = np.full(ready.size, -1, dtype=np.int64)  # first ready version >= v
        nxt = -1
        for v in range(ready.size - 1, -1, -1):
            if ready[v]:
                nxt = v
            ready_next[v] = nxt
        st.clock.close(0)
        clock = _ClockAt(st.clock, syncs["order"][sm], ready_next, pieces, params, sysid)
        part = _Rows(readings["order"][rm].size, sysid, readings if one else None)
        for a in range(0, part.n, BLOCK):  # a block of readings at a time: few temporaries
            b = min(a + BLOCK, part.n)
            block = rm[a:b] if isinstance(rm, np.ndarray) else slice(a, b)
            part.fill(a, b, readings, block, lag_of, scale, f_order, top, fix_t, fix_ok,
                      fix_pos, pairer.max_gap_s, clock)
        parts.append(part)
        del f_order, top, fix_t, fix_ok, fix_pos, clock
    if release:  # every row is made: what they were made of is let go before sorting them
        fixes.clear()
        readings.clear()
    if not parts:
        return SampleColumns.empty()
    cols = _Rows.joined(parts, lookups, names)
    cols.count_into(pairer)
    return cols


class _ClockAt:
    """UTC of readings from the clock versions of one vehicle (see the module docstring)."""

    def __init__(self, clock, s_order, ready_next, pieces, params, sysid):
        self.clock, self.s_order, self.ready_next = clock, s_order, ready_next
        self.pieces, self.params, self.sysid = pieces, params, sysid
        self.final_known = clock.known(0)
        self.n_final, self.final = clock.model(0)

    def emit(self, res: np.ndarray, t: np.ndarray, recv: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Emission key, UNIX µs and time source (1 sync, 2 receive) of rows resolved at
        ``res`` (:data:`_BIG`: at the end of data)."""
        s_order, ready = self.s_order, self.ready_next
        ver = np.searchsorted(s_order, res, side="left")  # syncs before the resolution
        fin = res == _BIG
        emit_ver = np.where(fin, -1, ready[np.minimum(ver, ready.size - 1)])
        emit = np.where(emit_ver == ver, res, np.where(
            emit_ver >= 0, s_order[np.maximum(emit_ver - 1, 0)] if s_order.size else _BIG,
            _BIG))
        # finish: pending rows of known clocks first (phase 0), then every held row (phase 1)
        phase = np.where(fin & self.final_known, 0, 1)
        emit = np.where(emit == _BIG, _BIG + phase * 4096 + self.sysid, emit)
        del ver, fin, phase
        use_ver = np.where(emit < _BIG, emit_ver, ready.size - 1)
        late = emit >= _BIG
        prm = self.params[use_ver]
        prm[late] = self.final
        pc = self.pieces[use_ver]
        pc[late] = self.n_final
        unix = self.clock.to_unix_versions(0, pc, prm, t)
        source = np.where(emit < _BIG, 1, np.where(self.final_known, 1, 2)).astype(np.int8)
        return emit, np.where(source == 2, recv, unix), source


#: Row columns that can be written over the reading columns they are made from.
_OVER = {"t": "time_boot_ms", "order": "order", "code": "name", "value": "value",
         "unix": "recv_us"}


class _Rows:
    """The rows of one vehicle, filled a block of readings at a time into their final
    columns (in reading order; sorted into emission order when joined)."""

    _FLOAT = ("t", "lat", "lon", "alt_amsl", "height", "gap", "value")

    def __init__(self, n: int, sysid: int, readings: dict[str, np.ndarray] | None = None):
        """Columns for ``n`` rows; with ``readings`` (every one of them this vehicle's, let
        go by the caller), some are those columns themselves, each block written over the
        readings it was made from."""
        self.n, self.sysid = n, sysid
        self.cols = {}
        for k, dtype in (*((k, np.float64) for k in self._FLOAT), ("emit", np.int64),
                         ("res", np.int64), ("order", np.int64), ("unix", np.int64),
                         ("source", np.int8), ("flag", np.int8), ("code", np.int32)):
            col = None if readings is None or k not in _OVER else readings[_OVER[k]]
            if col is not None and col.dtype == dtype and col.flags.writeable:
                self.cols[k] = col
            else:
                self.cols[k] = np.empty(n, dtype=dtype)

    def fill(self, a, b, readings, rm, lag_of, scale, f_order, top, fix_t, fix_ok, fix_pos,
             max_gap_s, clock: _ClockAt) -> None:
        """Rows ``a:b`` from the readings at ``rm`` (their rows in the columns)."""
        c = self.cols
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
        del k, reach, now, j
        pos, gap, flag = interpolate_positions(fix_t, fix_ok, fix_pos, t, max_gap_s)
        for i, key in enumerate(("lat", "lon", "alt_amsl", "height")):
            c[key][a:b] = pos[:, i]
        del pos
        c["gap"][a:b], c["flag"][a:b] = gap, flag
        c["emit"][a:b], c["unix"][a:b], c["source"][a:b] = clock.emit(
            res, t, readings["recv_us"][rm])
        c["res"][a:b], c["t"][a:b], c["order"][a:b], c["code"][a:b] = res, t, r_order, code
        c["value"][a:b] = readings["value"][rm] * scale[code]

    @staticmethod
    def joined(parts: list[_Rows], lookups, names) -> SampleColumns:
        """The rows of every vehicle in emission order, as sample columns."""
        sysid = np.concatenate([np.full(p.n, p.sysid, np.int32) for p in parts])
        if len(parts) == 1:
            cat = parts.pop().cols
        else:
            cat = {k: np.concatenate([p.cols.pop(k) for p in parts])
                   for k in list(parts[0].cols)}
            parts.clear()
        perm = np.lexsort((cat["order"], cat["t"], cat["res"], cat["emit"]))
        del cat["order"], cat["res"], cat["emit"]
        if np.any(perm[1:] < perm[:-1]):  # rows emitted out of reading order
            for k in list(cat):  # a column at a time: each old one let go as it is replaced
                cat[k] = cat[k][perm]
            sysid = sysid[perm]
        del perm
        code = cat["code"]
        return SampleColumns(
            unix_us=cat["unix"], has_utc=np.ones(code.size, dtype=bool),
            time_source=cat["source"], time_boot_ms=cat["t"],
            boot=np.zeros(code.size, np.int32), sysid=sysid,
            lat=cat["lat"], lon=cat["lon"], alt_amsl=cat["alt_amsl"], height=cat["height"],
            quantity_code=code, name_code=code, value=cat["value"],
            position_gap=cat["gap"], flag=cat["flag"], quantities=[x[0] for x in lookups],
            names=list(names), units=[x[2] for x in lookups])


assert Flag.PAIRED == 0  # the flags of interpolate_positions are the row flags
