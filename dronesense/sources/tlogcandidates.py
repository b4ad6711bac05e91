"""The record candidates of one slice of a ``.tlog`` and which of them are good records.

A candidate is a place where a record could start: a MAVLink magic byte 8 bytes after a
plausible big-endian UNIX-µs timestamp, with a sane header. It is a good record when it is
complete, of a message id some shipped dialect defines (pymavlink's ``all``, through
:mod:`~dronesense.sources.tlogdialect`) and its X.25 CRC with that message's ``CRC_EXTRA``
matches (:mod:`~dronesense.sources.tlogcrc`). :func:`slice_candidates` finds them all at once
for the offsets of one slice: the magic bytes, then the timestamp of each read through an
overlapping view of the file (:func:`words_at`), then each candidate's bytes from its magic on
copied once as a row from which its header is read and its frame checked.
:mod:`~dronesense.sources.tlogrecords` walks the slices.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.tlogcrc import Workspace
>>> raw = bytes(mavlink.MAVLink_heartbeat_message(1, 2, 3, 4, 5, 3)
...             .pack(mavlink.MAVLink(None, srcSystem=1, srcComponent=1)))
>>> buf = np.frombuffer(b"junk" + (10**15).to_bytes(8, "big") + raw, dtype=np.uint8)
>>> cand, total, (starts, _, hdrs, plens, ids) = slice_candidates(buf, 0, buf.size - 8,
...                                                               Workspace())
>>> starts.tolist(), ids.tolist(), int(total[0]) == len(raw) + 8
([4], [0], True)
"""

from __future__ import annotations

import functools

import numpy as np

from dronesense.sources.tlogcrc import Workspace, frame_crcs, gather_rows, rows_crcs
from dronesense.sources.tlogdialect import dialect

__all__ = ["MAX_TOTAL", "ROW", "TS_MAX", "TS_MIN", "crc_extra_table", "slice_candidates",
           "words_at"]

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


#: The header of a record candidate as one item: 12 bytes from its magic byte (MAVLink 1:
#: magic, length, seq, sysid, compid, msgid; MAVLink 2: magic, length, incompat and compat
#: flags, seq, sysid, compid, 3-byte msgid).
_HEAD = np.dtype({"names": ["magic", "len", "flags", "v1id", "v2id"],
                  "formats": ["u1", "u1", "u1", "u1", "<u4"],
                  "offsets": [0, 1, 2, 5, 7], "itemsize": 12})

#: The most bytes a record takes: timestamp, MAVLink 2 header, payload, CRC, signature.
MAX_TOTAL = 8 + 10 + 255 + 2 + 13

#: Bytes per candidate row of :func:`slice_candidates`, from the magic byte: the header and, for all
#: but the longest frames, the frame and its stored CRC (the pairing types' frames: 20-41).
ROW = 48
_HEAD_ROW = np.dtype({"names": _HEAD.names, "formats": [_HEAD.fields[n][0] for n in _HEAD.names],
                      "offsets": [_HEAD.fields[n][1] for n in _HEAD.names], "itemsize": ROW})


def _heads(buf: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The :data:`_HEAD` of each candidate ``p``; reads past the end of the file give its
    last byte (such records are incomplete anyway)."""
    n = buf.size
    size = _HEAD.itemsize
    if not p.size or int(p[-1]) + 8 + size <= n:
        return words_at(buf, f"V{size}")[p + 8].view(_HEAD)
    m = min(n, 32)
    pad = np.full(m + 8 + size, buf[n - 1], dtype=np.uint8)
    pad[:m] = buf[n - m:]
    inner = p[p + 8 + size <= n]
    heads = np.empty(p.size, dtype=f"V{size}")
    heads[:inner.size] = words_at(buf, f"V{size}")[inner + 8]
    heads[inner.size:] = words_at(pad, f"V{size}")[p[inner.size:] - (n - m) + 8]
    return heads.view(_HEAD)


def slice_candidates(buf: np.ndarray, lo: int, hi: int, work: Workspace):
    """Record candidates starting at offsets ``lo`` to ``hi`` (exclusive, ``hi <= size - 8``):
    (start, total length) of every plausible timestamp + magic + sane header, and (start,
    total length, header length, payload length, msgid) of those that are good records
    (the same arrays when all are)."""
    body = buf[8 + lo:8 + hi]
    magic = work.get("magic", body.size, np.bool_)
    # magic byte 0xFD or 0xFE (0xFF too, dropped with the header test below)
    p = np.flatnonzero(np.greater_equal(body, 0xFD, out=magic))
    p += lo
    ts = words_at(buf, ">u8")[p]
    plausible = np.greater_equal(ts, TS_MIN, out=work.get("plausible", p.size, np.bool_))
    plausible &= ts <= TS_MAX
    p = p[plausible]
    # the usual slice, not at the end of the file: each candidate's bytes from its magic on
    # copied once as a row (header, frame to check, its CRC), the header read from it
    rows = None
    if p.size and int(p[-1]) + max(MAX_TOTAL, 8 + ROW) <= buf.size:
        rows = gather_rows(buf, p + 8, ROW)
        head = rows.reshape(-1).view(_HEAD_ROW)
    else:
        head = _heads(buf, p)
    mag = head["magic"]
    flags = head["flags"]
    v2 = mag == 0xFD
    mav2 = bool(v2.all())  # the usual slice: MAVLink 2 only
    # sane: a MAVLink 2 header has no incompatibility flag but signing
    ok = flags < 2 if mav2 else (mag != 0xFF) & (~v2 | (flags < 2))
    # the narrowest integers that hold them (a candidate costs 16 bytes here, not 40)
    plen = head["len"].astype(np.int16)
    total = plen.astype(np.int32)
    if mav2:
        hdr = np.full(p.size, 10, dtype=np.uint8)
        signed = np.bitwise_and(flags, 1, dtype=np.int32)
        signed *= 13
        total += signed
        total += 20
        msgid = np.bitwise_and(head["v2id"], 0xFFFFFF, dtype=np.uint32).view(np.int32)
    else:
        hdr = np.where(v2, np.uint8(10), np.uint8(6))
        total += np.where(v2, np.where((flags & 1) == 1, np.int32(33), np.int32(20)),
                          np.int32(16))
        msgid = np.where(v2, head["v2id"] & 0xFFFFFF, head["v1id"]).astype(np.int32)
    if rows is None:
        good = _crc_ok(buf, p, total, hdr, plen, msgid, work)
    else:
        good = _crc_ok_rows(buf, rows, p, hdr, plen, msgid, work)
    good &= ok
    if good.all():  # the usual slice: every candidate is a good record
        return p, total, (p, total, hdr, plen, msgid)
    cand = (p, total) if ok.all() else (p[ok], total[ok])
    good = np.flatnonzero(good)
    return (*cand, (p[good], total[good], hdr[good], plen[good], msgid[good]))


def _crc_ok_rows(buf, rows, p, hdr, plen, msgid, work: Workspace) -> np.ndarray:
    """:func:`_crc_ok` of complete candidates whose bytes from the magic on are ``rows``: the
    frames that fit (all but about one in a thousand) checked in the rows, the others in
    ``buf``."""
    known, extra = crc_extra_table()
    msgid_k = np.minimum(msgid, known.size - 1)  # ids past the dialect: unknown
    ex = extra[msgid_k]
    length = plen.astype(np.int64)  # after the magic, through the extra
    length += hdr
    k = p.size
    # the width that holds all but about one frame in a thousand, and their stored CRC
    counts = np.bincount(length)
    enough = int(np.flatnonzero(np.cumsum(counts) >= k - k // 1000)[0])
    fit = min(enough + (enough & 1), ROW - 3)
    short = np.minimum(length, fit)
    at = np.arange(0, k * ROW, ROW, dtype=np.int64)
    at += short
    stored = words_at(rows.reshape(-1), "<u2")[at]  # (read before the extras are written)
    good = rows_crcs(rows, 1, short, ex, work) == stored
    longer = np.flatnonzero(length > fit)
    if longer.size:
        first = p[longer] + 9
        at = first + length[longer] - 1
        good[longer] = frame_crcs(buf, first, length[longer], ex[longer], work) == words_at(
            buf, "<u2")[at]
    good &= known[msgid_k]  # an id no dialect defines is taken for a bit error
    return good


def _crc_ok(buf, p, total, hdr, plen, msgid, work: Workspace) -> np.ndarray:
    """Whether each candidate is complete, of an id a dialect defines and passes its CRC."""
    known, extra = crc_extra_table()
    msgid_k = np.minimum(msgid, known.size - 1)  # ids past the dialect: unknown
    if not p.size or int(p[-1]) + MAX_TOTAL <= buf.size:  # all complete (not the file's end)
        length = plen.astype(np.int64)  # after the magic, through the extra
        length += hdr
        at = p + 8
        at += length
        stored = words_at(buf, "<u2")[at]
        at -= length
        at += 1
        good = frame_crcs(buf, at, length, extra[msgid_k], work) == stored
        good &= known[msgid_k]  # an id no dialect defines is taken for a bit error
        return good
    checked = (p + total <= buf.size) & known[msgid_k]
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
