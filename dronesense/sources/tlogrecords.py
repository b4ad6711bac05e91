"""Where the records of a ``.tlog`` are: the walk over its bytes and the payload gather.

The acceptance rule is the one of :class:`~dronesense.sources.framing.TlogReader`: at each
offset, if a good record starts there (plausible big-endian UNIX-µs timestamp, MAVLink magic
byte 8 bytes on, sane v2 flags, complete, a message id some shipped MAVLink dialect defines
(pymavlink's ``all`` dialect) and the X.25 CRC with that message's ``CRC_EXTRA``), take it and
jump over it; else step one byte. An id no dialect defines cannot be checked, so it is taken
for a bit error: a cut or corrupted record never hides the intact record behind it. Every
skipped byte range is reported with its file offset (:class:`SkippedRegion`).

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
import importlib.util
from dataclasses import dataclass

import numpy as np
from pymavlink.dialects.v20 import all as all_dialects

__all__ = ["COMPILED_MIN_BYTES", "NUMBA", "TS_MAX", "TS_MIN", "SkippedRegion", "crc_extra_table",
           "find_records", "gather_payloads", "kernels", "kernels_loaded", "x25_crc"]

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
    step = 1 << 22  # in slices of the file: temporaries of a few MB, not of the whole file
    parts = [_candidates_in(buf, a, min(a + step, n - 8)) for a in range(0, n - 8, step)]
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def _candidates_in(buf: np.ndarray, lo: int, hi: int):
    """:func:`_candidates` starting at offsets ``lo`` to ``hi`` (exclusive)."""
    n = buf.size
    body = buf[8 + lo:8 + hi]
    p = np.flatnonzero((body == 0xFE) | (body == 0xFD)) + lo
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
    # the narrowest integers that hold them (a record costs 16 bytes here, not 40)
    plen = pad_at(p + 9).astype(np.int16)
    flags = pad_at(p + 10)
    ok = ~v2 | ((flags & 0xFE) == 0)
    p, v2, plen, flags = p[ok], v2[ok], plen[ok], flags[ok]
    hdr = np.where(v2, np.int16(10), np.int16(6))
    signed = np.where(v2 & ((flags & 1) == 1), np.int16(13), np.int16(0))
    total = (hdr + plen + signed + 10).astype(np.int32)  # 8 + header + payload + 2 (+ 13)
    msgid = np.where(
        v2,
        pad_at(p + 15).astype(np.int32) | (pad_at(p + 16).astype(np.int32) << 8)
        | (pad_at(p + 17).astype(np.int32) << 16),
        pad_at(p + 13).astype(np.int32),
    )
    # a header that does not fit is no candidate (it cannot be told from noise)
    return p, total, hdr, plen, msgid


@functools.cache
def crc_extra_table() -> tuple[np.ndarray, np.ndarray]:
    """(known, crc_extra) indexed by message id: whether a shipped dialect defines the id, and
    its ``CRC_EXTRA``; the last entry stands for every id past them all (unknown).

    Examples
    --------
    >>> known, extra = crc_extra_table()
    >>> hb = all_dialects.MAVLINK_MSG_ID_HEARTBEAT
    >>> bool(known[hb]), int(extra[hb])
    (True, 50)
    """
    table = all_dialects.mavlink_map
    size = max(table) + 2  # the last entry stands for every unknown id
    known = np.zeros(size, dtype=bool)
    extra = np.zeros(size, dtype=np.uint8)
    for mid, cls in table.items():
        known[mid] = True
        extra[mid] = cls.crc_extra
    return known, extra


#: The spec of numba when the compiled walk is available, else ``None`` (numba itself, and
#: the kernels of :mod:`dronesense.sources.tlogkernels`, load on first use: :func:`kernels`).
NUMBA = importlib.util.find_spec("numba")

#: A file at least this large is walked by the compiled kernels when their first use in the
#: process is still to come: below it, the vectorised numpy path is done before numba has
#: even loaded (~1 s and ~110 MB), with less memory (measured on the 40 MB benchmark log:
#: numpy 0.54 s cold against numba 0.79 s; `pair` peaks at 191 MB against 315 MB).
COMPILED_MIN_BYTES = 64_000_000


@functools.cache
def kernels():
    """The compiled kernels module (imports numba and loads the cached kernels)."""
    import dronesense.sources.tlogkernels as tlogkernels

    return tlogkernels


def kernels_loaded() -> bool:
    """Whether :func:`kernels` ran in this process (then the compiled walk costs no load)."""
    return kernels.cache_info().currsize > 0


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
        return kernels().gather_kernel(buf, starts, hdr, plen, width)
    return _gather_numpy(buf, starts, hdr, plen, width)


def _records_numba(buf: np.ndarray):
    """Accepted records and skipped regions by the compiled walk."""
    known, extra = crc_extra_table()
    (starts, ids, hdrs, plens, g_start, g_stop, g_cand,
     g_cand_end) = kernels().walk_kernel(buf, known, extra, _T8, TS_MIN, TS_MAX)
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
    good = np.zeros(complete.shape, dtype=bool)  # ids no dialect defines: bit errors
    for a in range(0, check.size, 1 << 17):  # in slices: the gathered packets stay small
        part = check[a:a + (1 << 17)]
        good[part] = _check_crc(buf, p, hdr, plen, msgid_k, part)
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
    n = plen.astype(np.int64)
    fits = start + width <= buf.size  # all but a short record at the very end of the file
    if fits.all():
        rows = _gather(buf, start, width)
    else:
        rows = np.zeros((ps.size, width), dtype=np.uint8)
        keep = np.flatnonzero(fits)
        rows[keep] = _gather(buf, start[keep], width)
        for i in np.flatnonzero(~fits).tolist():  # complete records: their payload is there
            k = min(int(n[i]), width)
            rows[i, :k] = buf[start[i]:start[i] + k]
    short = np.flatnonzero(n < width)
    if short.size:  # MAVLink 2 cut trailing zeros: zero-pad (the bytes read past them)
        rows[short] = np.where(np.arange(width) < n[short, None], rows[short], 0)
    recv = _gather(buf, ps, 8).view(">u8").ravel().astype(np.int64) if ps.size \
        else np.zeros(0, np.int64)
    v2 = hdr == 10
    seq = np.where(v2, buf[np.minimum(ps + 12, buf.size - 1)], buf[ps + 10])
    sysid = np.where(v2, buf[np.minimum(ps + 13, buf.size - 1)], buf[ps + 11])
    compid = np.where(v2, buf[np.minimum(ps + 14, buf.size - 1)], buf[ps + 12])
    return rows, recv, seq.astype(np.uint8), sysid.astype(np.uint8), compid.astype(np.uint8)
