"""The payloads of some records of a ``.tlog`` as zero-padded fixed-width rows, with their tlog
receive time, MAVLink header ids, CRC and length (the records found by
:func:`~dronesense.sources.tlogrecords.find_records`).

Two implementations give the identical result: the compiled kernel (numba,
:mod:`~dronesense.sources.tlogkernels`), or numpy a block of records at a time: each record,
from its timestamp through the CRC after a full payload, is copied as one item
(:func:`~dronesense.sources.tlogcrc.gather_rows`: one read of the file where the records are,
every field then taken from the copy), and what was read past each payload (MAVLink 2 cuts a
payload's trailing zeros) is cleared by an AND with the mask of its length.

Examples
--------
>>> import numpy as np
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.tlogrecords import find_records
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1500, b"CH4", 1.9)
...             .pack(mavlink.MAVLink(None, srcSystem=3, srcComponent=1)))
>>> buf = np.frombuffer((10**15).to_bytes(8, "big") + raw + b"junk", dtype=np.uint8)
>>> starts, ids, hdrs, plens, _ = find_records(buf, compiled=False)
>>> rows, recv, seq, sysid, compid, crc, length = gather_payloads(buf, starts, hdrs, plens, 24,
...                                                               compiled=False)
>>> rows.shape, int(recv[0]), int(sysid[0]), bytes(rows[0, 8:11]), int(length[0]) == len(raw)
((1, 24), 1000000000000000, 3, b'CH4', True)
"""

from __future__ import annotations

import functools

import numpy as np

from dronesense.sources.tlogcrc import BLOCK, gather_rows
from dronesense.sources.tlogrecords import NUMBA, kernels, words_at

__all__ = ["gather_payloads"]


def gather_payloads(buf: np.ndarray, starts: np.ndarray, hdr: np.ndarray, plen: np.ndarray,
                    width: int, *, compiled: bool = NUMBA is not None):
    """Payloads and header fields of some records of
    :func:`~dronesense.sources.tlogrecords.find_records`.

    Returns
    -------
    rows, recv, seq, sysid, compid, crc, length
        Per record: its payload in ``width`` bytes (zero-padded), tlog receive time (UNIX µs,
        ``int64``), sequence number, system and component ids (``uint8``), the packet's CRC
        (``uint16``) and its length in bytes, signature included (``int32``).
    """
    if compiled:
        rows, recv, seq, sysid, compid = kernels().gather_kernel(buf, starts, hdr, plen, width)
        return rows, recv, seq, sysid, compid, *_crc_length(buf, starts, hdr, plen)
    return _gather_numpy(buf, starts, hdr, plen, width)


@functools.cache
def _mask_table(width: int) -> np.ndarray:
    """Row ``n``: ``n`` bytes 0xFF then zeros (``width + 1`` rows of ``width`` bytes)."""
    cols = np.arange(width)
    return np.where(cols[None, :] < np.arange(width + 1)[:, None], np.uint8(0xFF), np.uint8(0))


def _crc_length(buf, starts, hdr, plen) -> tuple[np.ndarray, np.ndarray]:
    """The CRC and the length (header, payload, CRC, MAVLink 2 signature) of each record."""
    at = hdr.astype(np.int64)
    at += starts
    at += 8
    at += plen
    crc = words_at(buf, "<u2")[at].astype(np.uint16, copy=False)
    flags = buf[np.add(starts, 10, out=at)]  # MAVLink 2 incompatibility flags: 1 = signed
    return crc, _length(hdr, plen, flags)


def _length(hdr, plen, flags) -> np.ndarray:
    length = plen.astype(np.int32)
    length += hdr
    length += 2
    flags = flags & 1
    flags &= hdr == 10
    flags *= 13
    length += flags
    return length


def _gather_numpy(buf, ps, hdr, plen, width):
    m = ps.size
    size = buf.size
    # a record's bytes from its timestamp through the CRC after a payload of `width` bytes
    span = 8 + 10 + width + 2
    masks = _mask_table(width).view(f"V{width}").ravel()
    rows = np.empty((m, width), dtype=np.uint8)
    recv = np.empty(m, dtype=np.int64)
    seq, sysid, compid = (np.empty(m, dtype=np.uint8) for _ in range(3))
    crc = np.empty(m, dtype=np.uint16)
    length = np.empty(m, dtype=np.int32)
    # a block of records at a time: the temporaries are a few small buffers used again
    block = min(m, BLOCK)
    n = np.empty(block, dtype=np.intp)
    mask = np.empty(block, dtype=masks.dtype)
    at = np.empty(block, dtype=np.intp)
    row_start = np.arange(block, dtype=np.intp) * span
    for a in range(0, m, BLOCK):
        b = min(a + BLOCK, m)
        k = b - a
        p, h, pl = ps[a:b], hdr[a:b], plen[a:b]
        if int(p.max()) + span <= size:
            rec = gather_rows(buf, p, span)
        else:  # records near the end of the file: what there is of them
            rec = np.zeros((k, span), dtype=np.uint8)
            for i, q in enumerate(p.tolist()):
                rec[i, :min(span, size - q)] = buf[q:q + span]
        recv[a:b] = rec[:, :8].view(">i8")[:, 0]  # the tlog timestamp is big-endian
        np.minimum(pl, width, out=n[:k], casting="unsafe")
        masks.take(n[:k], out=mask[:k])
        out = rows[a:b]
        if bool((h == 10).all()):  # MAVLink 2: payload from byte 10 of the header on
            ids = rec[:, 12:15]
            # each payload copied as one item, then ANDed as one run of bytes
            items = np.lib.stride_tricks.as_strided(
                rec.reshape(-1)[18:18 + width].view(f"V{width}"), shape=(k,), strides=(span,))
            flat = out.reshape(-1)
            flat.view(f"V{width}")[:] = items
            np.bitwise_and(flat, mask[:k].view(np.uint8), out=flat)
        else:
            v2 = h == 10
            ids = np.where(v2[:, None], rec[:, 12:15], rec[:, 10:13])
            for sel, first in ((np.flatnonzero(v2), 18), (np.flatnonzero(~v2), 14)):
                out[sel] = rec[sel, first:first + width] & mask[sel, None].view(np.uint8)
        seq[a:b] = ids[:, 0]
        sysid[a:b] = ids[:, 1]
        compid[a:b] = ids[:, 2]
        # the CRC, after the payload: in the copy unless the payload is longer than the row
        end = np.add(h, pl, out=at[:k])
        end += 8
        if int(end.max()) + 2 <= span:
            end += row_start[:k]
            crc[a:b] = words_at(rec.reshape(-1), "<u2")[end]
        else:
            end += p
            crc[a:b] = words_at(buf, "<u2")[end]
        length[a:b] = _length(h, pl, rec[:, 10])
    return rows, recv, seq, sysid, compid, crc, length
