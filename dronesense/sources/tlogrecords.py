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
* vectorised numpy, without numba: every place a record could start is found at once (the
  magic bytes, then the timestamp and header of each read as one 8-byte word through an
  overlapping view of the file), the CRCs of all candidates are checked together in file
  order (:func:`~dronesense.sources.tlogcrc.frame_crcs`), and the walk "accept a good record
  and jump over it, else skip to the next good record" runs on the candidate array, taking
  runs of back-to-back records whole. The message ids a dialect defines and their
  ``CRC_EXTRA`` come from :mod:`~dronesense.sources.tlogdialect` (no pymavlink dialect import).

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

from dronesense.sources.tlogcrc import T8, Workspace, frame_crcs, x25_crc
from dronesense.sources.tlogdialect import dialect

__all__ = ["COMPILED_MIN_BYTES", "NUMBA", "TS_MAX", "TS_MIN", "SkippedRegion", "crc_extra_table",
           "find_records", "gather_payloads", "kernels", "kernels_loaded", "words_at",
           "x25_crc"]

#: Plausible tlog timestamps: 2000-01-01 .. 2100-01-01 in UNIX microseconds.
TS_MIN, TS_MAX = 946_684_800_000_000, 4_102_444_800_000_000


def words_at(buf: np.ndarray, dtype: str) -> np.ndarray:
    """The ``dtype`` word at every byte offset of ``buf`` (an overlapping read-only view:
    ``words_at(buf, ">u8")[p]`` is the 8 bytes from ``p``, big-endian).

    Examples
    --------
    >>> buf = np.arange(10, dtype=np.uint8)
    >>> hex(int(words_at(buf, ">u4")[3]))
    '0x3040506'
    """
    size = np.dtype(dtype).itemsize
    if buf.size < size:
        return np.zeros(0, dtype=dtype)
    return np.lib.stride_tricks.as_strided(buf[:size].view(dtype), shape=(buf.size - size + 1,),
                                           strides=(1,), writeable=False)


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


#: Bytes of the file per slice of the numpy walk (its temporaries stay a few MB).
SLICE = 1 << 20


def _slice(buf: np.ndarray, lo: int, hi: int, work: Workspace):
    """Record candidates starting at offsets ``lo`` to ``hi`` (exclusive, ``hi <= size - 8``):
    (start, total length) of every plausible timestamp + magic + sane header, and (start,
    total length, header length, payload length, msgid) of those that are good records."""
    n = buf.size
    body = buf[8 + lo:8 + hi]
    shifted = work.get("shifted", body.size, np.uint8)
    magic = work.get("magic", body.size, np.bool_)
    np.subtract(body, 0xFD, dtype=np.uint8, out=shifted)
    p = np.flatnonzero(np.less(shifted, 2, out=magic))  # magic byte 0xFD or 0xFE
    p += lo
    ts = words_at(buf, ">u8")[p]
    p = p[(ts >= TS_MIN) & (ts <= TS_MAX)]
    # the 8 header bytes from the magic and the top bytes of a v2 msgid, as words; reads past
    # the end of the file give its last byte (such records are incomplete anyway)
    inner = p[p + 18 <= n]
    head = words_at(buf, "<u8")[inner + 8].view(np.uint8).reshape(-1, 8)
    high = words_at(buf, "<u2")[inner + 16]
    if inner.size < p.size:
        m = min(n, 32)
        pad = np.full(m + 18, buf[n - 1], dtype=np.uint8)
        pad[:m] = buf[n - m:]
        q = p[inner.size:] - (n - m)
        head = np.concatenate([head, words_at(pad, "<u8")[q + 8].view(np.uint8).reshape(-1, 8)])
        high = np.concatenate([high, words_at(pad, "<u2")[q + 16]])
    v2 = head[:, 0] == 0xFD
    flags = head[:, 2]
    ok = ~v2 | ((flags & 0xFE) == 0)
    if not ok.all():
        p, head, high, v2, flags = p[ok], head[ok], high[ok], v2[ok], flags[ok]
    # the narrowest integers that hold them (a candidate costs 16 bytes here, not 40)
    plen = head[:, 1].astype(np.int16)
    hdr = np.where(v2, np.uint8(10), np.uint8(6))
    total = plen.astype(np.int32)
    total += np.where(v2, np.where((flags & 1) == 1, np.int32(33), np.int32(20)), np.int32(16))
    msgid = np.where(v2, head[:, 7].astype(np.int32) | (high.astype(np.int32) << 8),
                     head[:, 5].astype(np.int32))
    good = np.flatnonzero(_crc_ok(buf, p, total, hdr, plen, msgid, work))
    if good.size == p.size:  # the usual slice: every candidate is a good record
        return p, total, (p, total, hdr, plen, msgid)
    return p, total, (p[good], total[good], hdr[good], plen[good], msgid[good])


def _crc_ok(buf, p, total, hdr, plen, msgid, work: Workspace) -> np.ndarray:
    """Whether each candidate is complete, of an id a dialect defines and passes its CRC."""
    known, extra = crc_extra_table()
    msgid_k = np.minimum(msgid, known.size - 1)  # ids past the dialect: unknown
    checked = (p + total <= buf.size) & known[msgid_k]
    if checked.all():  # the usual slice: no need to pick the candidates out
        length = hdr.astype(np.int64) + plen  # after the magic, through the extra
        stored = words_at(buf, "<u2")[p + 8 + length]
        return frame_crcs(buf, p + 9, length, extra[msgid_k], work) == stored
    good = np.zeros(p.size, dtype=bool)
    check = np.flatnonzero(checked)
    if not check.size:
        return good
    pc = p[check]
    length = hdr[check].astype(np.int64) + plen[check]
    stored = words_at(buf, "<u2")[pc + 8 + length]
    good[check] = frame_crcs(buf, pc + 9, length, extra[msgid_k[check]], work) == stored
    return good


@functools.cache
def crc_extra_table() -> tuple[np.ndarray, np.ndarray]:
    """(known, crc_extra) indexed by message id: whether a shipped dialect defines the id, and
    its ``CRC_EXTRA``; the last entry stands for every id past them all (unknown).

    Examples
    --------
    >>> known, extra = crc_extra_table()
    >>> bool(known[0]), int(extra[0])  # HEARTBEAT
    (True, 50)
    """
    d = dialect()
    return d.known, d.extra


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
     g_cand_end) = kernels().walk_kernel(buf, known, extra, T8, TS_MIN, TS_MAX)
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


#: Threads of the numpy walk: the slices are independent and numpy releases the GIL inside
#: its loops, so with 2 two cores check two halves of the file at once. One by default: on the
#: shared 2-core benchmark machine (load average 5-10) two threads were no faster, or slower;
#: set 2 on an idle machine with cores to spare (the scan is the same).
THREADS = 1
#: A smaller file is walked in one thread (starting one costs more than it saves).
THREADED_MIN_BYTES = 8 * SLICE


def _slices(buf: np.ndarray, bounds: list[tuple[int, int]], threads: int) -> list:
    """:func:`_slice` of each (lo, hi), in order; ``threads`` share them in contiguous runs."""
    if threads <= 1 or len(bounds) < 2:
        work = Workspace()
        return [_slice(buf, a, b, work) for a, b in bounds]
    import threading

    share = -(-len(bounds) // threads)
    runs = [bounds[k:k + share] for k in range(0, len(bounds), share)]
    results: list[list | None] = [None] * len(runs)
    errors: list[BaseException] = []

    def work_on(k: int) -> None:
        try:
            work = Workspace()
            results[k] = [_slice(buf, a, b, work) for a, b in runs[k]]
        except BaseException as err:  # pragma: no cover - re-raised in the caller
            errors.append(err)

    helpers = [threading.Thread(target=work_on, args=(k,), daemon=True)
               for k in range(1, len(runs))]
    for t in helpers:
        t.start()
    work_on(0)
    for t in helpers:
        t.join()
    if errors:  # pragma: no cover - memory errors and the like
        raise errors[0]
    return [part for run in results for part in run]


def _records_numpy(buf: np.ndarray):
    """Accepted records and skipped regions, vectorised (without numba)."""
    size = int(buf.size)
    # (a file shorter than 16 bytes holds no record: the walks look for none)
    bounds = [(a, min(a + SLICE, size - 8)) for a in range(0, size - 8 if size >= 16 else 0,
                                                           SLICE)]
    parts = _slices(buf, bounds, THREADS if size >= THREADED_MIN_BYTES else 1)
    if parts:
        p, total, hdr, plen, msgid = (np.concatenate(x) for x in zip(*(g for *_, g in parts),
                                                                     strict=True))
    else:
        p = np.zeros(0, dtype=np.int64)
        total = plen = msgid = np.zeros(0, dtype=np.int32)
        hdr = np.zeros(0, dtype=np.uint8)
    end = p + total
    if p.size and p[0] == 0 and end[-1] == size and np.array_equal(end[:-1], p[1:]):
        return p, msgid, hdr, plen, []  # back-to-back records from the first byte to the last
    take, gaps = _walk(p, end)  # index of each accepted record, file order
    skipped = []
    if len(gaps) > 1 or gaps[0][0] < size:
        cand = np.concatenate([c for c, *_ in parts]) if parts else p
        cand_total = np.concatenate([t for _, t, _ in parts]) if parts else total
        for a, b in gaps:
            b = size if b == -1 else b
            if b > a:
                skipped.append(SkippedRegion(a, b - a, _classify(buf, a, b, cand, cand_total)))
    return p[take], msgid[take], hdr[take], plen[take], skipped


def _gather_numpy(buf, ps, hdr, plen, width):
    start = ps + 8 + hdr.astype(np.int64)
    n = np.minimum(plen.astype(np.int64), width)
    fits = start + width <= buf.size  # all but a short record at the very end of the file
    if fits.all():
        rows = _gather(buf, start, width)
    else:
        rows = np.zeros((ps.size, width), dtype=np.uint8)
        keep = np.flatnonzero(fits)
        rows[keep] = _gather(buf, start[keep], width)
        for i in np.flatnonzero(~fits).tolist():  # complete records: their payload is there
            rows[i, :n[i]] = buf[start[i]:start[i] + n[i]]
    # zero what was read past each payload (MAVLink 2 cuts trailing zeros), by payload length
    short = np.flatnonzero(n < width)
    if short.size:
        lengths = n[short]
        counts = np.bincount(lengths, minlength=width)
        for k in np.flatnonzero(counts).tolist():
            rows[short if counts[k] == short.size else short[lengths == k], k:] = 0
    recv = words_at(buf, ">u8")[ps].astype(np.int64)
    # sequence, system and component ids: 2 bytes further in a MAVLink 2 header
    ids = words_at(buf, "<u4")[ps + np.where(hdr == 10, 12, 10)].view(np.uint8).reshape(-1, 4)
    return rows, recv, ids[:, 0].copy(), ids[:, 1].copy(), ids[:, 2].copy()
