"""The compiled kernels of :mod:`dronesense.sources.tlogrecords` (numba).

In a module of their own so that numba, whose import and cache load cost about a second, is
loaded only when the compiled walk is used (:func:`~dronesense.sources.tlogrecords.kernels`):
large files, or a process that already loaded them. The kernels are cached on disk
(``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gather_kernel", "walk_kernel"]



@numba.njit(cache=True, nogil=True)
def walk_kernel(buf, known, extra, t8, ts_min, ts_max):  # pragma: no cover - compiled
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
                    if known[kid]:  # else an id no dialect defines: a bit error
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

@numba.njit(cache=True, nogil=True)
def gather_kernel(buf, starts, hdr, plen, width):  # pragma: no cover - compiled
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
