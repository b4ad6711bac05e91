"""Where the records of a ``.tlog`` are: the walk over its bytes.

The acceptance rule is the one of :class:`~dronesense.sources.framing.TlogReader`: at each
offset, if a good record starts there (plausible big-endian UNIX-µs timestamp, MAVLink magic
byte 8 bytes on, sane v2 flags, complete, a message id some shipped MAVLink dialect defines
(pymavlink's ``all`` dialect) and the X.25 CRC with that message's ``CRC_EXTRA``), take it and
jump over it; else step one byte. An id no dialect defines cannot be checked, so it is taken
for a bit error: a cut or corrupted record never hides the intact record behind it. Every
skipped byte range is reported with its file offset (:class:`SkippedRegion`).

Two implementations give the identical result (:func:`find_records`; the payloads of the
records found are gathered by :mod:`~dronesense.sources.tlogpayloads`):

* compiled (numba, a project dependency): one pass walks the file; the kernels are cached on
  disk (``cache=True``);
* vectorised numpy, without numba, a slice of the file at a time (:func:`record_pieces`):
  every place a record could start is found at once (the magic bytes, then the timestamp and
  the header of each read through overlapping views of the file), the CRCs of all candidates
  are checked together in file order (:func:`~dronesense.sources.tlogcrc.frame_crcs`). While
  the good records of each slice follow each other from where the last one ended (the usual
  file), they are taken as they are; from the first slice where they do not, the walk "accept
  a good record and jump over it, else skip to the next good record" runs on the candidate
  arrays of the rest of the file, taking runs of back-to-back records whole. The message ids
  a dialect defines and their ``CRC_EXTRA`` come from :mod:`~dronesense.sources.tlogdialect`
  (no pymavlink dialect import).

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
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dronesense.sources.tlogcandidates import (
    TS_MAX,
    TS_MIN,
    crc_extra_table,
    slice_candidates,
    words_at,
)
from dronesense.sources.tlogcrc import T8, Workspace, x25_crc

__all__ = ["COMPILED_MIN_BYTES", "NUMBA", "TS_MAX", "TS_MIN", "SkippedRegion", "crc_extra_table",
           "find_records", "kernels", "kernels_loaded", "record_pieces", "words_at", "x25_crc"]

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


#: Bytes of the file per slice of the numpy walk (its temporaries stay a few MB).
SLICE = 1 << 20


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


def _walk(starts: np.ndarray, ends: np.ndarray,
          origin: int = 0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Indices of the accepted records and the gaps between them.

    ``starts`` are the sorted offsets of good records, ``ends`` their end offsets. From
    offset ``origin``, repeatedly take the first good record at or after the current offset
    and jump to its end. Runs where each record ends exactly where the next begins are taken
    whole.
    """
    m = starts.size
    if m == 0:
        return np.zeros(0, dtype=np.int64), [(origin, -1)]
    contiguous = np.zeros(m, dtype=bool)
    contiguous[:-1] = ends[:-1] == starts[1:]
    breaks = np.flatnonzero(~contiguous)  # run ends
    brk = breaks.tolist()
    s_list = starts
    runs: list[tuple[int, int]] = []
    gaps: list[tuple[int, int]] = []
    pos = origin
    i = int(np.searchsorted(s_list, origin))
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
    """:func:`~dronesense.sources.tlogcandidates.slice_candidates` of each (lo, hi), in order;
    ``threads`` share them in contiguous runs."""
    if threads <= 1 or len(bounds) < 2:
        work = Workspace()
        return [slice_candidates(buf, a, b, work) for a, b in bounds]
    import threading

    share = -(-len(bounds) // threads)
    runs = [bounds[k:k + share] for k in range(0, len(bounds), share)]
    results: list[list | None] = [None] * len(runs)
    errors: list[BaseException] = []

    def work_on(k: int) -> None:
        try:
            work = Workspace()
            results[k] = [slice_candidates(buf, a, b, work) for a, b in runs[k]]
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


def record_pieces(buf: np.ndarray) -> Iterator[tuple]:
    """The records of a tlog's bytes by the vectorised walk, a slice of the file at a time.

    Yields ``(starts, ids, hdrs, plens, skipped)`` pieces in file order, as
    :func:`find_records` returns them for the whole file: one piece per slice while every
    slice holds records that follow each other without a gap from where the last one ended
    (the usual file: no array as long as the file's records is made), then, from the first
    slice that does not, one piece for the rest of the file (its candidates walked by
    :func:`_walk`, the gaps classified). Candidates that were no good record, inside the
    records taken, change nothing.

    Examples
    --------
    >>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
    >>> raw = bytes(mavlink.MAVLink_heartbeat_message(1, 2, 3, 4, 5, 3)
    ...             .pack(mavlink.MAVLink(None, srcSystem=1, srcComponent=1)))
    >>> rec = (10**15).to_bytes(8, "big") + raw
    >>> buf = np.frombuffer(rec * 3 + b"junk", dtype=np.uint8)
    >>> n = len(rec)
    >>> [([int(x) // n for x in p], [(r.offset // n, r.length, r.reason) for r in skipped])
    ...  for p, _, _, _, skipped in record_pieces(buf)]
    [([0, 1, 2], []), ([], [(3, 4, 'not MAVLink')])]
    """
    size = int(buf.size)
    # (a file shorter than 16 bytes holds no record: the walks look for none)
    stop = size - 8 if size >= 16 else 0
    bounds = [(a, min(a + SLICE, stop)) for a in range(0, stop, SLICE)]
    if THREADS > 1 and size >= THREADED_MIN_BYTES:
        yield _walk_parts(buf, _slices(buf, bounds, THREADS), 0)
        return
    if len(bounds) > 1:
        _keep_freed_memory()
    work = Workspace()
    pos = 0  # where the last record ends
    part = None
    for k, (lo, hi) in enumerate(bounds):
        part = slice_candidates(buf, lo, hi, work)
        p, total, hdr, plen, msgid = part[2]
        if not _follows(p, total, pos, hi):
            yield _walk_parts(buf, [part, *_slices(buf, bounds[k + 1:], 1)], pos)
            return
        if p.size:
            yield p, msgid, hdr, plen, []
            pos = int(p[-1]) + int(total[-1])
    if pos < size:  # the candidates after the last record are those of the last slice
        none = np.zeros(0, dtype=np.int64)
        cand, cand_total = part[:2] if part is not None else (none, none)
        yield (none, none.astype(np.int32), none.astype(np.uint8), none.astype(np.int16),
               [SkippedRegion(pos, size - pos, _classify(buf, pos, size, cand, cand_total))])


def _keep_freed_memory() -> None:
    """Let the C allocator reuse the slices' temporaries instead of handing them back.

    glibc's malloc gives a freed block back to the system (to be faulted in and zeroed again
    at its next use) when it was mapped on its own (above ``M_MMAP_THRESHOLD``) or when the
    free top of its heap passes ``M_TRIM_THRESHOLD``; both thresholds rise with the size of
    the largest such block freed so far (to it and to twice it). One block of 4 MB, never
    touched, freed here raises them over what one slice holds at once, so the temporaries of
    each slice reuse the memory of the last: half the page faults of a fresh process's scan.
    With another allocator it costs one allocation.
    """
    np.empty(4 << 20, dtype=np.uint8)


def _records_numpy(buf: np.ndarray):
    """Accepted records and skipped regions, vectorised (without numba): the pieces of
    :func:`record_pieces` in arrays sized for the most records the file can hold (16 bytes
    each; the pages never written cost nothing)."""
    cap = int(buf.size) // 16 + 1
    out = (np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int32),
           np.empty(cap, dtype=np.uint8), np.empty(cap, dtype=np.int16))
    count = 0
    skipped: list[SkippedRegion] = []
    for *arrays, gaps in record_pieces(buf):
        m = arrays[0].size
        for dst, src in zip(out, arrays, strict=True):
            dst[count:count + m] = src
        count += m
        skipped += gaps
    return (*(a[:count] for a in out), skipped)


def _follows(p: np.ndarray, total: np.ndarray, pos: int, hi: int) -> bool:
    """Whether records ``p`` (lengths ``total``) start at ``pos`` and follow each other without
    a gap (or, none, ``pos`` is past the slice)."""
    if not p.size:
        return pos >= hi
    if int(p[0]) != pos:
        return False
    ends = p[:-1] + total[:-1]
    return bool(np.array_equal(ends, p[1:]))


def _walk_parts(buf: np.ndarray, parts: list, origin: int):
    """Accepted records from ``origin`` on and skipped regions, from the candidates of the
    slices that hold them."""
    size = int(buf.size)
    if parts:
        p, total, hdr, plen, msgid = (np.concatenate(x) for x in zip(*(g for *_, g in parts),
                                                                     strict=True))
    else:
        p = np.zeros(0, dtype=np.int64)
        total = msgid = np.zeros(0, dtype=np.int32)
        plen = np.zeros(0, dtype=np.int16)
        hdr = np.zeros(0, dtype=np.uint8)
    end = p + total
    if p.size and p[0] == origin and end[-1] == size and np.array_equal(end[:-1], p[1:]):
        return p, msgid, hdr, plen, []  # back-to-back records from the origin to the end
    take, gaps = _walk(p, end, origin)  # index of each accepted record, file order
    skipped = []
    if len(gaps) > 1 or gaps[0][0] < size:
        cand = np.concatenate([c for c, *_ in parts]) if parts else p
        cand_total = np.concatenate([t for _, t, _ in parts]) if parts else total
        for a, b in gaps:
            b = size if b == -1 else b
            if b > a:
                skipped.append(SkippedRegion(a, b - a, _classify(buf, a, b, cand, cand_total)))
    return p[take], msgid[take], hdr[take], plen[take], skipped
