"""Where the records of a ``.tlog`` are: the walk over its bytes and the payload gather.

The acceptance rule is the one of :class:`~dronesense.sources.framing.TlogReader`: at each
offset, if a good record starts there (plausible big-endian UNIX-µs timestamp, MAVLink magic
byte 8 bytes on, sane v2 flags, complete, X.25 CRC with the message's ``CRC_EXTRA`` for known
ids), take it and jump over it; else step one byte. Every skipped byte range is reported
with its file offset (:class:`SkippedRegion`).

Two implementations give the identical result (:func:`find_records`, :func:`gather_payloads`):

* compiled (numba, a project dependency): one pass walks the file, a second kernel gathers
  the wanted payloads; the kernels are cached on disk (``cache=True``);
* vectorised numpy, without numba: every place a record could start is found at once, the
  CRCs of all candidates of the same length are checked together (two bytes per step with a
  65536-entry table), and the walk "accept a good record and jump over it, else skip to the
  next good record" runs on the candidate array, taking runs of back-to-back records whole.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1500, b"CH4", 1.9)
...             .pack(mavlink.MAVLink(None, srcSystem=1, srcComponent=1)))
>>> buf = np.frombuffer((10**15).to_bytes(8, "big") + raw + b"junk", dtype=np.uint8)
>>> for compiled in (False, NUMBA is not None):
...     starts, ids, hdrs, plens, skipped = find_records(buf, compiled=compiled)
...     print(starts.tolist(), ids.tolist(), skipped)
[0] [251] [SkippedRegion(offset=31, length=4, reason='not MAVLink')]
[0] [251] [SkippedRegion(offset=31, length=4, reason='not MAVLink')]
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["NUMBA", "TS_MAX", "TS_MIN", "SkippedRegion", "crc_extra_table", "find_records",
           "gather_payloads", "x25_crc"]

#: Plausible tlog timestamps: 2000-01-01 .. 2100-01-01 in UNIX microseconds.
TS_MIN, TS_MAX = 946_684_800_000_000, 4_102_444_800_000_000


def _crc_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables for the MAVLink X.25 CRC: one byte per step and two bytes per step."""
    crc = np.arange(256, dtype=np.uint32)
    tmp = crc & 0xFF
    tmp = (tmp ^ (tmp << 4)) & 0xFF
    t8 = ((tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF  # step(crc=i, byte=0), i < 256
    x = np.arange(65536, dtype=np.uint32)
    x = (x >> 8) ^ t8[x & 0xFF]  # the CRC is linear: two zero-byte steps from crc ^ word
    x = (x >> 8) ^ t8[x & 0xFF]
    return t8.astype(np.uint16), x.astype(np.uint16)


_T8, _T16 = _crc_tables()


def x25_crc(rows: np.ndarray) -> np.ndarray:
    """MAVLink's X.25 (MCRF4XX) CRC of each row of a 2-D ``uint8`` array.

    Works column by column, two bytes per step, so the cost is per byte column, not per
    packet.

    Examples
    --------
    >>> from pymavlink.generator.mavcrc import x25crc
    >>> data = np.frombuffer(b"123456789", dtype=np.uint8)[None, :]
    >>> int(x25_crc(data)[0]) == x25crc(b"123456789").crc
    True
    """
    n, width = rows.shape
    crc = np.full(n, 0xFFFF, dtype=np.uint16)
    even = width - (width & 1)
    if even:
        words = np.ascontiguousarray(rows[:, :even]).view("<u2").T.copy()
        for col in words:
            crc = _T16[crc ^ col]
    if width & 1:
        crc = (crc >> 8) ^ _T8[(crc ^ rows[:, -1]) & 0xFF]
    return crc


@dataclass(frozen=True, slots=True)
class SkippedRegion:
    """A byte range of the file that held no usable record.

    ``reason`` is ``corrupt packet`` (a frame whose CRC or header is wrong),
    ``not MAVLink`` (bytes with no frame at all) or ``truncated record`` (the file ends
    inside a record).
    """

    offset: int
    length: int
    reason: str


def _gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Rows ``buf[s : s + width]`` for each start (all in range), without an index matrix."""
    if width > buf.size:
        return np.zeros((0, width), dtype=buf.dtype)
    return np.lib.stride_tricks.sliding_window_view(buf, width)[starts]


def _candidates(buf: np.ndarray):
    """Record candidates: (start, total length, header length, payload length, msgid,
    complete) for every plausible timestamp + magic + sane header."""
    n = buf.size
    if n < 8 + 8:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e, e
    body = buf[8:]
    p = np.flatnonzero((body == 0xFE) | (body == 0xFD))
    # timestamp prefilter on its two top bytes, then the exact range
    p = p[(buf[p] == 0) & (buf[p + 1] >= 0x03) & (buf[p + 1] <= 0x0E)]
    ts = _gather(buf, p, 8).view(">u8").ravel() if p.size else np.zeros(0, np.uint64)
    p = p[(ts >= TS_MIN) & (ts <= TS_MAX)]
    # header fields (reads past the end are clamped; such records are incomplete anyway)
    last = n - 1

    def pad_at(k):
        return buf[np.minimum(k, last)]
    magic = pad_at(p + 8)
    v2 = magic == 0xFD
    plen = pad_at(p + 9).astype(np.int64)
    flags = pad_at(p + 10)
    ok = ~v2 | ((flags & 0xFE) == 0)
    p, v2, plen, flags = p[ok], v2[ok], plen[ok], flags[ok]
    hdr = np.where(v2, 10, 6)
    total = 8 + hdr + plen + 2 + np.where(v2 & ((flags & 1) == 1), 13, 0)
    msgid = np.where(
        v2,
        pad_at(p + 15).astype(np.int64) | (pad_at(p + 16).astype(np.int64) << 8)
        | (pad_at(p + 17).astype(np.int64) << 16),
        pad_at(p + 13).astype(np.int64),
    )
    # a header that does not fit is no candidate (it cannot be told from noise)
    return p, total, hdr, plen, msgid


@functools.cache
def crc_extra_table() -> tuple[np.ndarray, np.ndarray]:
    """(known, crc_extra) indexed by message id: whether the dialect knows the id, and its
    ``CRC_EXTRA``; the last entry stands for every id past the dialect (unknown).

    Examples
    --------
    >>> known, extra = crc_extra_table()
    >>> bool(known[mavlink.MAVLINK_MSG_ID_HEARTBEAT]), int(extra[mavlink.MAVLINK_MSG_ID_HEARTBEAT])
    (True, 50)
    """
    size = max(mavlink.mavlink_map) + 2  # the last entry stands for every unknown id
    known = np.zeros(size, dtype=bool)
    extra = np.zeros(size, dtype=np.uint8)
    for mid, cls in mavlink.mavlink_map.items():
        known[mid] = True
        extra[mid] = cls.crc_extra
    return known, extra


try:  # pragma: no cover - exercised when numba is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None

#: The numba module when the compiled walk is available, else ``None``.
NUMBA = _numba

if _numba is not None:

    @_numba.njit(cache=True, nogil=True)
    def _walk_kernel(buf, known, extra, t8, ts_min, ts_max):  # pragma: no cover - compiled
        """The sequential walk of :class:`~dronesense.sources.framing.TlogReader` in one pass.

        At each offset: if a good record starts here (plausible timestamp, magic, sane v2
        flags, complete, CRC for known ids), take it and jump over it; else step one byte.
        Returns the accepted records (start, msgid, header length, payload length) and the
        gaps between them with the first record candidate (bad CRC, incomplete) in each.
        """
        n = buf.size
        cap = n // 16 + 2
        r_start = np.empty(cap, np.int64)
        r_id = np.empty(cap, np.int64)
        r_hdr = np.empty(cap, np.uint8)
        r_plen = np.empty(cap, np.int64)
        g_start = np.empty(cap, np.int64)
        g_stop = np.empty(cap, np.int64)
        g_cand = np.empty(cap, np.int64)
        g_cand_end = np.empty(cap, np.int64)
        nrec = 0
        ngap = 0
        gap_from = 0
        first_cand = -1
        first_cand_end = 0
        last = n - 1
        nknown = known.size
        pos = 0
        stop_at = n - 8 if n >= 16 else 0
        while pos < stop_at:
            magic = buf[pos + 8]
            good = False
            total = 0
            mid = np.int64(0)
            hdr = 6
            plen = np.int64(0)
            if (magic == 0xFE or magic == 0xFD) and buf[pos] == 0 and buf[pos + 1] >= 0x03 \
                    and buf[pos + 1] <= 0x0E:
                ts = np.uint64(0)
                for k in range(8):
                    ts = (ts << np.uint64(8)) | np.uint64(buf[pos + k])
                v2 = magic == 0xFD
                flags = buf[min(pos + 10, last)]
                if ts >= ts_min and ts <= ts_max and (not v2 or (flags & 0xFE) == 0):
                    plen = np.int64(buf[min(pos + 9, last)])
                    hdr = 10 if v2 else 6
                    total = 8 + hdr + plen + 2
                    if v2:
                        if flags & 1:
                            total += 13
                        mid = (np.int64(buf[min(pos + 15, last)])
                               | (np.int64(buf[min(pos + 16, last)]) << 8)
                               | (np.int64(buf[min(pos + 17, last)]) << 16))
                    else:
                        mid = np.int64(buf[min(pos + 13, last)])
                    if pos + total <= n:
                        kid = mid if mid < nknown else nknown - 1
                        if not known[kid]:
                            good = True
                        else:
                            crc = 0xFFFF
                            end = pos + 8 + hdr + plen
                            for k in range(pos + 9, end + 1):
                                b = buf[k] if k < end else extra[kid]
                                tmp = (crc ^ b) & 0xFF
                                crc = (crc >> 8) ^ t8[tmp]
                            stored = np.int64(buf[end]) | (np.int64(buf[end + 1]) << 8)
                            good = crc == stored
                    if not good and first_cand < 0:
                        first_cand = pos
                        first_cand_end = pos + total
            if good:
                if pos > gap_from:
                    g_start[ngap] = gap_from
                    g_stop[ngap] = pos
                    g_cand[ngap] = first_cand
                    g_cand_end[ngap] = first_cand_end
                    ngap += 1
                r_start[nrec] = pos
                r_id[nrec] = mid
                r_hdr[nrec] = hdr
                r_plen[nrec] = plen
                nrec += 1
                pos += total
                gap_from = pos
                first_cand = -1
            else:
                pos += 1
        if n > gap_from:
            g_start[ngap] = gap_from
            g_stop[ngap] = n
            g_cand[ngap] = first_cand
            g_cand_end[ngap] = first_cand_end
            ngap += 1
        return (r_start[:nrec], r_id[:nrec], r_hdr[:nrec], r_plen[:nrec],
                g_start[:ngap], g_stop[:ngap], g_cand[:ngap], g_cand_end[:ngap])

    @_numba.njit(cache=True, nogil=True)
    def _gather_kernel(buf, starts, hdr, plen, width):  # pragma: no cover - compiled
        """Zero-padded payload rows and the tlog/MAVLink header fields of some records."""
        m = starts.size
        rows = np.zeros((m, width), np.uint8)
        recv = np.empty(m, np.int64)
        seq = np.empty(m, np.uint8)
        sysid = np.empty(m, np.uint8)
        compid = np.empty(m, np.uint8)
        for i in range(m):
            p = starts[i]
            h = np.int64(hdr[i])
            first = p + 8 + h
            k = min(np.int64(plen[i]), width)
            for j in range(k):
                rows[i, j] = buf[first + j]
            ts = np.int64(0)
            for j in range(8):
                ts = (ts << 8) | np.int64(buf[p + j])
            recv[i] = ts
            o = 12 if h == 10 else 10
            seq[i] = buf[p + o]
            sysid[i] = buf[p + o + 1]
            compid[i] = buf[p + o + 2]
        return rows, recv, seq, sysid, compid


def _check_crc(buf, p, hdr, plen, msgid, idx) -> np.ndarray:
    """CRC verdict for candidates ``idx`` (all complete with known ids)."""
    good = np.zeros(idx.size, dtype=bool)
    if not idx.size:
        return good
    key = hdr[idx] * 256 + plen[idx]
    order = np.argsort(key, kind="stable")
    skey = key[order]
    bounds = np.flatnonzero(np.diff(skey)) + 1
    for group in np.split(order, bounds):
        sel = idx[group]
        h, n = int(hdr[sel[0]]), int(plen[sel[0]])
        width = h - 1 + n  # bytes after the magic, through the payload
        data = np.empty((sel.size, width + 1), dtype=np.uint8)
        data[:, :width] = _gather(buf, p[sel] + 9, width)
        data[:, width] = crc_extra_table()[1][msgid[sel]]
        crc_pos = p[sel] + 8 + h + n
        stored = buf[crc_pos].astype(np.uint16) | (buf[crc_pos + 1].astype(np.uint16) << 8)
        good[group] = x25_crc(data) == stored
    return good


def _walk(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Indices of the accepted records and the gaps between them.

    ``starts`` are the sorted offsets of good records, ``ends`` their end offsets. From
    offset 0, repeatedly take the first good record at or after the current offset and jump
    to its end. Runs where each record ends exactly where the next begins are taken whole.
    """
    m = starts.size
    if m == 0:
        return np.zeros(0, dtype=np.int64), [(0, -1)]
    contiguous = np.zeros(m, dtype=bool)
    contiguous[:-1] = ends[:-1] == starts[1:]
    breaks = np.flatnonzero(~contiguous)  # run ends
    brk = breaks.tolist()
    s_list = starts
    runs: list[tuple[int, int]] = []
    gaps: list[tuple[int, int]] = []
    pos = 0
    i = int(np.searchsorted(s_list, 0))
    while i < m:
        if s_list[i] > pos:
            gaps.append((pos, int(s_list[i])))
        j = brk[bisect.bisect_left(brk, i)]  # last record of the contiguous run from i
        runs.append((i, j))
        pos = int(ends[j])
        i = int(np.searchsorted(s_list, pos, side="left"))
    if runs:
        lengths = np.array([b - a + 1 for a, b in runs])
        firsts = np.array([a for a, _ in runs])
        take = np.repeat(firsts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        take = take + np.arange(lengths.sum())
    else:
        take = np.zeros(0, dtype=np.int64)
    return take, [*gaps, (pos, -1)]


def _classify(buf: np.ndarray, start: int, stop: int, cand_starts: np.ndarray,
              cand_total: np.ndarray) -> str:
    """Why a skipped region holds nothing usable."""
    k = int(np.searchsorted(cand_starts, start))
    if k < cand_starts.size and cand_starts[k] < stop:
        if stop == buf.size and cand_starts[k] + cand_total[k] > buf.size:
            return "truncated record"
        return "corrupt packet"
    return "not MAVLink"


def find_records(buf: np.ndarray, *, compiled: bool = NUMBA is not None):
    """The records of a tlog's bytes and the regions skipped between them.

    Parameters
    ----------
    buf
        The file as a ``uint8`` array.
    compiled
        Walk with the numba kernel (default when numba is installed) or vectorised numpy.

    Returns
    -------
    starts, ids, hdrs, plens, skipped
        Per accepted record in file order: offset, message id, MAVLink header length (6 or
        10) and payload length; and every :class:`SkippedRegion`.
    """
    if compiled and buf.size:
        return _records_numba(buf)
    return _records_numpy(buf)


def gather_payloads(buf: np.ndarray, starts: np.ndarray, hdr: np.ndarray, plen: np.ndarray,
                    width: int, *, compiled: bool = NUMBA is not None):
    """Zero-padded payload rows (``width`` bytes) of some records of :func:`find_records`,
    and their tlog receive time (UNIX µs), sequence number, system id and component id."""
    if compiled:
        return _gather_kernel(buf, starts, hdr, plen, width)
    return _gather_numpy(buf, starts, hdr, plen, width)


def _records_numba(buf: np.ndarray):
    """Accepted records and skipped regions by the compiled walk."""
    known, extra = crc_extra_table()
    (starts, ids, hdrs, plens, g_start, g_stop, g_cand,
     g_cand_end) = _walk_kernel(buf, known, extra, _T8, TS_MIN, TS_MAX)
    size = buf.size
    skipped = []
    for a, b, c, ce in zip(g_start.tolist(), g_stop.tolist(), g_cand.tolist(),
                           g_cand_end.tolist(), strict=True):
        if c < 0:
            reason = "not MAVLink"
        elif b == size and ce > size:
            reason = "truncated record"
        else:
            reason = "corrupt packet"
        skipped.append(SkippedRegion(a, b - a, reason))
    return starts, ids, hdrs, plens, skipped


def _records_numpy(buf: np.ndarray):
    """Accepted records and skipped regions, vectorised (without numba)."""
    size = int(buf.size)
    p, total, hdr, plen, msgid = _candidates(buf)
    complete = p + total <= size
    known_ids = crc_extra_table()[0]
    msgid_k = np.minimum(msgid, known_ids.size - 1)  # ids past the dialect: unknown
    known = known_ids[msgid_k]
    check = np.flatnonzero(complete & known)
    good = complete & ~known  # unknown ids: accepted unchecked, as pymavlink does
    good[check] = _check_crc(buf, p, hdr, plen, msgid_k, check)
    gidx = np.flatnonzero(good)
    take, gaps = _walk(p[gidx], p[gidx] + total[gidx])
    rec = gidx[take]  # candidate index of each accepted record, file order
    skipped = []
    for a, b in gaps:
        b = size if b == -1 else b
        if b > a:
            skipped.append(SkippedRegion(a, b - a, _classify(buf, a, b, p, total)))
    return p[rec], msgid[rec], hdr[rec].astype(np.uint8), plen[rec], skipped


def _gather_numpy(buf, ps, hdr, plen, width):
    hdr = hdr.astype(np.int64)
    start = ps + 8 + hdr
    n = plen
    rows = np.zeros((ps.size, width), dtype=np.uint8)
    full = n >= width
    if full.any():
        rows[full] = _gather(buf, start[full], width)
    short = np.flatnonzero(~full)
    if short.size:  # MAVLink 2 cut trailing zeros: zero-pad
        cols = np.arange(width)
        idx = np.minimum(start[short, None] + cols, buf.size - 1)
        rows[short] = np.where(cols < n[short, None], buf[idx], 0)
    recv = _gather(buf, ps, 8).view(">u8").ravel().astype(np.int64) if ps.size \
        else np.zeros(0, np.int64)
    v2 = hdr == 10
    seq = np.where(v2, buf[np.minimum(ps + 12, buf.size - 1)], buf[ps + 10])
    sysid = np.where(v2, buf[np.minimum(ps + 13, buf.size - 1)], buf[ps + 11])
    compid = np.where(v2, buf[np.minimum(ps + 14, buf.size - 1)], buf[ps + 12])
    return rows, recv, seq.astype(np.uint8), sysid.astype(np.uint8), compid.astype(np.uint8)
