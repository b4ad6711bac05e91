"""A scanned ``.tlog`` as columns of flight events, without a Python object per message.

:func:`event_columns` applies the rules of :class:`~dronesense.sources.messages.MessageAdapter`
to the arrays of :func:`~dronesense.sources.tlogscan.scan_tlog` at once: positions, clock syncs
and GNSS fix types from the autopilot component only (one that sent an autopilot HEARTBEAT
before, or component 1 before any HEARTBEAT of its own), positions outside the WGS 84 ranges
turned into fixes without a valid position, NAMED_VALUE_FLOAT values as the double of their
float32's shortest decimal, and repeated packets (the rule of
:mod:`dronesense.sources.duplicates`) given once. A log whose HEARTBEATs name a ground station
sharing the link takes the adapter itself, message by message (``None`` here tells the caller
so), because which component is what then depends on the order of every HEARTBEAT.

The result, :class:`EventColumns`, is what :meth:`dronesense.flight.pipeline.Pipeline.run_arrays`
pairs; :meth:`EventColumns.events` gives the same ``(event, receive time)`` list the adapter
would, for the streaming path (tests compare both).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.tlogscan import scan_tlog
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1500, b"CH4", 1.9).pack(mav))
>>> cols = event_columns(scan_tlog((10**15).to_bytes(8, "big") + raw))
>>> cols.events()
[(Reading(sysid=1, time_boot_ms=1500.0, name='CH4', value=1.9), 1000000000000000)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.events import Event, Fix, Reading, Status, TimeSync
from dronesense.sources.duplicates import WINDOW, duplicate_mask
from dronesense.sources.tlogscan import PAIRING_TYPES, TlogScan

__all__ = ["EVENT_FIELDS", "EventColumns", "event_columns", "float32_decimals"]

#: The payload fields of each pairing type that :func:`event_columns` and the message adapter
#: read (a scan keeping only these, and every ``_`` column, gives the same events).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "GLOBAL_POSITION_INT": ("time_boot_ms", "lat", "lon", "alt", "relative_alt"),
    "GPS_RAW_INT": ("fix_type",),
    "NAMED_VALUE_FLOAT": ("time_boot_ms", "name", "value"),
    "NAMED_VALUE_INT": ("time_boot_ms", "name", "value"),
    "SYSTEM_TIME": ("time_boot_ms", "time_unix_usec"),
    "HEARTBEAT": ("type", "autopilot", "base_mode", "custom_mode"),
}

_GCS = mavlink.MAV_TYPE_GCS
_NO_AUTOPILOT = mavlink.MAV_AUTOPILOT_INVALID
_ARMED = mavlink.MAV_MODE_FLAG_SAFETY_ARMED


@dataclass
class EventColumns:
    """The events of one log as arrays, one dict per event kind, each in file order.

    Every dict has ``order`` (the message's index among all the log's records: events of
    different kinds merge back into file order by it), ``sysid``, ``time_boot_ms`` (float ms)
    and ``recv_us`` (tlog time, UNIX µs). Besides:

    ``fixes``
        ``lat``, ``lon`` (degrees), ``alt_amsl``, ``height`` (m), ``ok`` (bool).
    ``readings``
        ``name`` (int codes into :attr:`names`) and ``value``.
    ``syncs``
        ``unix_us`` (int64).
    ``statuses``
        ``armed``, ``mode``, ``vehicle_type``, ``autopilot``.

    Attributes
    ----------
    duplicates, bad_positions
        Repeated packets dropped; positions outside the WGS 84 ranges.
    """

    fixes: dict[str, np.ndarray]
    readings: dict[str, np.ndarray]
    syncs: dict[str, np.ndarray]
    statuses: dict[str, np.ndarray]
    names: list[str] = field(default_factory=list)
    duplicates: int = 0
    bad_positions: int = 0

    def __len__(self) -> int:
        return sum(len(d["order"]) for d in (self.fixes, self.readings, self.syncs,
                                              self.statuses))

    def events(self) -> list[tuple[Event, int]]:
        """``(event, receive time)`` in file order: what the adapter gives message by message."""
        parts: list[tuple[np.ndarray, list]] = []
        f = self.fixes
        if len(f["order"]):
            parts.append((f["order"], [Fix(*a) for a in zip(
                f["sysid"].tolist(), f["time_boot_ms"].tolist(), f["lat"].tolist(),
                f["lon"].tolist(), f["alt_amsl"].tolist(), f["height"].tolist(),
                f["ok"].tolist(), strict=True)]))
        r = self.readings
        if len(r["order"]):
            names = self.names
            parts.append((r["order"], [Reading(s, t, names[n], v) for s, t, n, v in zip(
                r["sysid"].tolist(), r["time_boot_ms"].tolist(), r["name"].tolist(),
                r["value"].tolist(), strict=True)]))
        s = self.syncs
        if len(s["order"]):
            parts.append((s["order"], [TimeSync(*a) for a in zip(
                s["sysid"].tolist(), s["time_boot_ms"].tolist(), s["unix_us"].tolist(),
                strict=True)]))
        h = self.statuses
        if len(h["order"]):
            parts.append((h["order"], [Status(*a) for a in zip(
                h["sysid"].tolist(), h["armed"].tolist(), h["mode"].tolist(),
                h["vehicle_type"].tolist(), h["autopilot"].tolist(), strict=True)]))
        if not parts:
            return []
        order = np.concatenate([p[0] for p in parts])
        recv = np.concatenate([d["recv_us"] for d in (f, r, s, h) if len(d["order"])])
        evs = [e for p in parts for e in p[1]]
        perm = np.argsort(order, kind="stable").tolist()
        recv_l = recv.tolist()
        return [(evs[i], recv_l[i]) for i in perm]


def _empty(**cols: str) -> dict[str, np.ndarray]:
    base = {"order": "i8", "sysid": "i4", "time_boot_ms": "f8", "recv_us": "i8"}
    return {k: np.empty(0, dtype=v) for k, v in {**base, **cols}.items()}


def _latest_before(src_key: np.ndarray, src_order: np.ndarray, key: np.ndarray,
                   order: np.ndarray) -> np.ndarray:
    """Index into the source of the latest source row with the same key and a smaller order
    (``-1`` if none), for every row (sources and rows each in file order)."""
    out = np.full(order.shape[0], -1, dtype=np.int64)
    if not src_order.size or not order.size:
        return out
    for k in np.unique(key).tolist():
        rows = np.flatnonzero(key == k)
        src = np.flatnonzero(src_key == k)
        if not src.size:
            continue
        pos = np.searchsorted(src_order[src], order[rows], side="left") - 1
        got = pos >= 0
        out[rows[got]] = src[pos[got]]
    return out


_P10 = 10.0 ** np.arange(-30, 31)  # exact up to 1e22; scales of 1e-7 .. 1e9 values only


def float32_decimals(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`~dronesense.sources.messages.float32_decimal`: the double of each
    float32's shortest decimal, as ``float(str(np.float32(v)))`` gives it.

    For each number of significant digits from 1 to 9, the value rounded to that many digits
    (one correctly rounded scaling by an exact power of ten) is taken where it reads back as
    the same float32; values outside 1e-7 .. 1e9, and those whose rounding is within a hair
    of a tie, take numpy's own shortest repr (the tests compare both over millions of values).

    Examples
    --------
    >>> float32_decimals(np.array([1.9, 12.0, 0.1, -3.4028235e38], dtype=np.float32)).tolist()
    [1.9, 12.0, 0.1, -3.4028235e+38]
    """
    v32 = np.asarray(values, dtype=np.float32).ravel()
    uniq, inv = np.unique(v32, return_inverse=True)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        v = uniq.astype(np.float64)
        a = np.abs(v)
        fast = np.isfinite(v) & (a >= 1e-7) & (a < 1e9)
        out = np.where(v == 0, v, np.nan)
        e = np.floor(np.log10(np.where(fast, a, 1.0))).astype(np.int64)
        e = np.where(_P10[e + 30] > a, e - 1, e)
        e = np.where(_P10[np.minimum(e + 31, 60)] <= a, e + 1, e)
        left = fast.copy()
        slow = ~fast & (v != 0)
        for digits in range(1, 10):
            k = np.clip(digits - 1 - e, -30, 30)
            up = k >= 0
            scale = _P10[np.abs(k) + 30]
            m = np.where(up, v * scale, v / scale)
            r = np.rint(m)
            c = np.where(up, r / scale, r * scale)
            slow |= left & (np.abs(np.abs(m - np.trunc(m)) - 0.5) < 1e-6)
            hit = left & (c.astype(np.float32) == uniq)
            out[hit] = c[hit]
            left &= ~hit
        slow |= left
    if slow.any():
        out[slow] = uniq[slow].astype(str).astype(np.float64)
    return out[inv.ravel()]


def _shared(key: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the packets whose key another packet shares."""
    if key.size < 2:
        return np.zeros(0, dtype=np.int64)
    ranked = np.sort(key)
    rep = ranked[1:] == ranked[:-1]
    if not rep.any():  # no two packets alike: the usual log
        return np.zeros(0, dtype=np.int64)
    values = ranked[1:][rep]
    del ranked, rep
    values = values[np.r_[True, values[1:] != values[:-1]]]
    at = np.minimum(np.searchsorted(values, key), values.size - 1)
    return np.flatnonzero(values[at] == key)


def _may_repeat(key: np.ndarray, source: np.ndarray, window: int = WINDOW) -> bool:
    """Whether some packet may repeat an earlier one under the rule: two packets with one key
    at most ``window`` packets of their source apart (or keys shared across sources). When
    none are, there is no copy at all: the first copy would be one. ``key`` and ``source``
    are in file order; only the packets whose key is shared are sorted."""
    shared = _shared(key)
    if not shared.size:
        return False
    n = key.size
    index = np.arange(n)  # the packet's index within its source
    if np.any(source != source[0]):
        by_source = np.argsort(source, kind="stable")  # ties stay in file order
        src_sorted = source[by_source]
        first = np.r_[0, np.flatnonzero(np.diff(src_sorted)) + 1]
        index[by_source] = index - np.repeat(first, np.diff(np.r_[first, n]))
    by_key = shared[np.argsort(key[shared], kind="stable")]
    same = key[by_key][1:] == key[by_key][:-1]
    a, b = by_key[:-1][same], by_key[1:][same]
    return bool(np.any((source[a] != source[b]) | (index[b] - index[a] <= window)))


def _packet_keys(cols: dict[str, np.ndarray]) -> np.ndarray:
    """A 64-bit key per packet, equal for packets with equal bytes (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        return (cols["_hash"] * np.uint64(0x9E3779B97F4A7C15)
                ^ (cols["_sysid"].astype(np.uint64) << np.uint64(40)
                   | cols["_compid"].astype(np.uint64) << np.uint64(32)
                   | cols["_seq"].astype(np.uint64) << np.uint64(24)
                   | cols["_crc"].astype(np.uint64) << np.uint64(8)
                   | (cols["_length"].astype(np.uint64) & np.uint64(0xFF))))


def _contents(path, key: np.ndarray, offset: np.ndarray, length: np.ndarray) -> list:
    """What :func:`~dronesense.sources.duplicates.duplicate_mask` compares, per packet: the
    bytes of packets whose key another packet shares, read back from the file (mapped, so
    only their pages are read); a token equal to nothing else for the others (equal bytes
    have equal keys, so those can be no copy and have none)."""
    shared = _shared(key)
    content: list = list(range(-1, -key.size - 1, -1))
    if shared.size:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        for i, a, n in zip(shared.tolist(), offset[shared].tolist(), length[shared].tolist(),
                           strict=True):
            content[i] = data[a:a + n].tobytes()
        del data
    return content


def _duplicates(scan: TlogScan) -> dict[str, np.ndarray]:
    """Per type, True where a packet repeats an earlier one (rule of
    :mod:`dronesense.sources.duplicates`, over the packets the adapter reads, in file order).

    A copy has the same source, sequence number, checksum, length and payload hash as its
    original, at most the rule's window of packets before it; only when two packets are so
    (:func:`_may_repeat`) are the bytes read back and the rule's own function run over every
    packet."""
    present = [n for n in PAIRING_TYPES if n in scan.messages and len(scan.order[n])]
    out = {n: np.zeros(len(scan.order[n]), dtype=bool) for n in present}
    if not present or scan.path is None:  # scans of bytes keep no file to read back
        return out
    msgs = scan.messages

    def cat(k: str) -> np.ndarray:  # one column of every present type, in file order
        return np.concatenate([msgs[n][k] for n in present])[perm]

    key = np.empty(sum(len(scan.order[n]) for n in present), dtype=np.uint64)
    start = 0
    for n in present:  # filled a type at a time: one type's temporaries at once
        m = len(scan.order[n])
        key[start:start + m] = _packet_keys(msgs[n])
        start += m
    if not _shared(key).size:  # no two packets alike (the usual log): no copy, no sorting
        return out
    perm = np.argsort(np.concatenate([scan.order[n] for n in present]), kind="stable")
    key = key[perm]
    sysid, compid = cat("_sysid"), cat("_compid")
    if not _may_repeat(key, sysid.astype(np.uint16) << 8 | compid):
        return out
    content = _contents(scan.path, key, cat("_offset") + 8, cat("_length"))
    dup = np.array(duplicate_mask(sysid, compid, cat("_seq"), content), dtype=bool)
    flat = np.empty_like(dup)
    flat[perm] = dup
    start = 0
    for n in present:
        m = len(scan.order[n])
        out[n] = flat[start:start + m]
        start += m
    return out


#: Scan columns only the repeated-packet rule reads (:func:`_duplicates`).
_DUPLICATE_ONLY = ("_offset", "_hash", "_crc", "_seq", "_length")


def event_columns(scan: TlogScan, *, release: bool = False) -> EventColumns | None:
    """The events of a scanned tlog as columns (see the module docstring); ``None`` when a
    HEARTBEAT names a ground station or no autopilot, for the message-by-message adapter.

    With ``release``, the scan's columns are let go as soon as they are read (the scan is
    emptied, unless ``None`` is returned): the peak memory of a big log is lower.
    """
    msgs = scan.messages
    for name in PAIRING_TYPES:
        if name not in msgs:
            return None
    hb = msgs["HEARTBEAT"]
    if np.any((hb["type"] == _GCS) | (hb["autopilot"] == _NO_AUTOPILOT)):
        return None
    dups = _duplicates(scan)
    if release:
        for cols in msgs.values():
            for k in _DUPLICATE_ONLY:
                cols.pop(k, None)

    def keep(name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if release:
            cols, order = msgs.pop(name), scan.order.pop(name)
        else:
            cols, order = msgs[name], scan.order[name]
        if name not in dups or not dups[name].any():  # no copies: the columns as they are
            return cols, order
        good = ~dups[name]
        return {k: v[good] for k, v in cols.items() if k not in _DUPLICATE_ONLY}, order[good]

    hb, hb_order = keep("HEARTBEAT")
    hb_key = hb["_sysid"].astype(np.int64) << 8 | hb["_compid"].astype(np.int64)

    def autopilot(cols, order) -> np.ndarray:
        """Taken from the autopilot: an (autopilot) HEARTBEAT of its ids before, or id 1."""
        key = cols["_sysid"].astype(np.int64) << 8 | cols["_compid"].astype(np.int64)
        return (cols["_compid"] == 1) | (_latest_before(hb_key, hb_order, key, order) >= 0)

    def base(cols, order, sel) -> dict[str, np.ndarray]:
        return {"order": order[sel].astype(np.int64, copy=False),
                "sysid": cols["_sysid"][sel].astype(np.int32),
                "time_boot_ms": cols["time_boot_ms"][sel].astype(np.float64),
                "recv_us": cols["_recv_us"][sel].astype(np.int64, copy=False)}

    gps, gps_order = keep("GPS_RAW_INT")
    ap = autopilot(gps, gps_order)
    gps_sysid, gps_fix, gps_order = gps["_sysid"][ap], gps["fix_type"][ap], gps_order[ap]

    pos, pos_order = keep("GLOBAL_POSITION_INT")
    sel = np.flatnonzero(autopilot(pos, pos_order))
    fixes = base(pos, pos_order, sel)
    lat_i, lon_i = pos["lat"][sel], pos["lon"][sel]
    last_gps = _latest_before(gps_sysid.astype(np.int64), gps_order,
                              fixes["sysid"].astype(np.int64), fixes["order"])
    fix_type = np.where(last_gps >= 0, gps_fix[np.maximum(last_gps, 0)] if gps_fix.size
                        else 3, 3)
    ok = ~((lat_i == 0) & (lon_i == 0)) & (fix_type >= 3)
    lat, lon = lat_i / 1e7, lon_i / 1e7
    alt, height = pos["alt"][sel] / 1000.0, pos["relative_alt"][sel] / 1000.0
    bad = ~((np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0))
    bad_count = int(bad.sum())
    ok[bad] = False
    lat[bad] = 0.0
    lon[bad] = 0.0
    fixes.update(lat=lat, lon=lon, alt_amsl=alt, height=height, ok=ok)
    del gps, pos, pos_order, sel, lat_i, lon_i, last_gps, fix_type, bad  # let them go

    names: list[str] = []
    parts = []
    part = None
    for name in ("NAMED_VALUE_FLOAT", "NAMED_VALUE_INT"):
        cols, order = keep(name)
        if not len(order):
            continue
        part = base(cols, order, slice(None))
        raw, inv = np.unique(cols["name"], return_inverse=True)
        codes = []
        for r in raw.tolist():
            text = r.decode("ascii", "replace").rstrip("\x00")
            if text not in names:
                names.append(text)
            codes.append(names.index(text))
        part["name"] = np.asarray(codes, dtype=np.int32)[inv.ravel()]
        part["value"] = (float32_decimals(cols["value"]) if name == "NAMED_VALUE_FLOAT"
                         else cols["value"].astype(np.float64))
        parts.append(part)
    del cols, order, part
    if parts:
        readings = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
        if len(parts) > 1:
            perm = np.argsort(readings["order"], kind="stable")
            readings = {k: v[perm] for k, v in readings.items()}
    else:
        readings = _empty(name="i4", value="f8")

    st, st_order = keep("SYSTEM_TIME")
    sel = np.flatnonzero((st["time_unix_usec"] > 0) & autopilot(st, st_order))
    syncs = base(st, st_order, sel)
    syncs["unix_us"] = st["time_unix_usec"][sel].astype(np.int64)

    statuses = {"order": hb_order.astype(np.int64), "sysid": hb["_sysid"].astype(np.int32),
                "time_boot_ms": np.full(len(hb_order), np.nan),
                "recv_us": hb["_recv_us"].astype(np.int64),
                "armed": (hb["base_mode"] & _ARMED) != 0,
                "mode": hb["custom_mode"].astype(np.int64),
                "vehicle_type": hb["type"].astype(np.int64),
                "autopilot": hb["autopilot"].astype(np.int64)}
    ndup = int(sum(int(d.sum()) for d in dups.values()))
    return EventColumns(fixes, readings, syncs, statuses, names, ndup, bad_count)
