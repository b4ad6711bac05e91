"""MAVLink's X.25 checksum of many frames at once, with numpy.

A frame's checksum covers the bytes after its magic byte through its payload, then the
message's ``CRC_EXTRA``. :func:`frame_crcs` computes it for a million frames of mixed lengths in
one pass over the file order, without sorting them by length: each frame's bytes are gathered
into a fixed-width row (a few bytes of the next record follow a short one), its ``CRC_EXTRA`` is
written over the byte after its payload, the rows are run two bytes per step through a
65536-entry table (columns of all rows at once) and each frame's checksum is read from the step
where its own bytes end. The few frames longer than the width are done by length groups.

Examples
--------
>>> from pymavlink.generator.mavcrc import x25crc
>>> buf = np.frombuffer(b"123456789abcdef", dtype=np.uint8)
>>> got = frame_crcs(buf, np.array([0, 3]), np.array([9, 5]), np.array([7, 200], np.uint8))
>>> [int(c) for c in got] == [x25crc(b"12345678" + bytes([7])).crc,
...                           x25crc(b"4567" + bytes([200])).crc]
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["T8", "T16", "Workspace", "frame_crcs", "gather_rows", "rows_crcs", "x25_crc"]


def _crc_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables for the MAVLink X.25 CRC: one byte per step and two bytes per step."""
    crc = np.arange(256, dtype=np.uint32)
    tmp = crc & 0xFF
    tmp = (tmp ^ (tmp << 4)) & 0xFF
    t8 = ((tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF  # step(crc=i, byte=0), i < 256

    def two_steps(x):  # two zero-byte steps from crc = x
        x = (x >> 8) ^ t8[x & 0xFF]
        return (x >> 8) ^ t8[x & 0xFF]

    # the CRC is linear: T16[hi << 8 | lo] = T16[hi << 8] ^ T16[lo]
    high = two_steps(crc << 8).astype(np.uint16)
    low = two_steps(crc).astype(np.uint16)
    t16 = np.bitwise_xor.outer(high, low).ravel()
    return t8.astype(np.uint16), t16


#: One byte per step (``crc = (crc >> 8) ^ T8[(crc ^ byte) & 0xFF]``) and two bytes per step
#: (``crc = T16[crc ^ little_endian_word]``).
T8, T16 = _crc_tables()

#: Frames per block of :func:`frame_crcs` (its temporaries stay within a core's cache).
BLOCK = 1 << 14


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
        tmp = np.empty(n, dtype=np.uint16)
        for col in words:
            np.bitwise_xor(crc, col, out=tmp)
            np.take(T16, tmp, out=crc)
    if width & 1:
        crc = (crc >> 8) ^ T8[(crc ^ rows[:, -1]) & 0xFF]
    return crc


class Workspace:
    """Buffers reused from one :func:`frame_crcs` call to the next (one per thread).

    A scan checks a million frames in blocks; taking each block's temporaries from the same
    buffers keeps the memory a fresh process touches (and faults in) to a few MB.
    """

    def __init__(self):
        self._buffers: dict[str, np.ndarray] = {}
        self.arange = np.arange(BLOCK, dtype=np.int64)

    def get(self, name: str, size: int, dtype) -> np.ndarray:
        """A 1-D buffer of ``size`` items (contents undefined)."""
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(max(size, BLOCK), dtype=dtype)
        return buf[:size]


def gather_rows(buf: np.ndarray, first: np.ndarray, width: int) -> np.ndarray:
    """Rows ``buf[f : f + width]`` for each offset ``f`` (all in range), as a new ``uint8``
    array of shape ``(len(first), width)``.

    Each row is copied as one ``width``-byte item (an overlapping view of ``buf`` with a void
    dtype), about three times faster than indexing a 2-D sliding window.

    Examples
    --------
    >>> buf = np.arange(10, dtype=np.uint8)
    >>> gather_rows(buf, np.array([0, 7]), 3).tolist()
    [[0, 1, 2], [7, 8, 9]]
    """
    if width > buf.size:
        return np.zeros((0, width), dtype=np.uint8)
    items = np.lib.stride_tricks.as_strided(buf[:width].view(f"V{width}"),
                                            shape=(buf.size - width + 1,), strides=(1,),
                                            writeable=False)
    return items[first].view(np.uint8).reshape(-1, width)


def frame_crcs(buf: np.ndarray, first: np.ndarray, length: np.ndarray,
               extra: np.ndarray, work: Workspace | None = None) -> np.ndarray:
    """X.25 checksum of ``buf[first : first + length - 1]`` followed by the byte ``extra``,
    for each frame (``length`` counts the extra byte; all in range).

    Parameters
    ----------
    buf
        The bytes (``uint8``).
    first, length, extra
        Per frame: offset of its first checked byte, number of bytes checked (>= 1) and the
        byte that ends them (a message's ``CRC_EXTRA``).
    work
        Buffers to reuse across calls (a new :class:`Workspace` by default).

    Returns
    -------
    numpy.ndarray
        ``uint16`` checksums, in the order given.
    """
    first = np.asarray(first, dtype=np.int64)
    length = np.asarray(length, dtype=np.int64)
    extra = np.asarray(extra, dtype=np.uint8)
    out = np.empty(first.size, dtype=np.uint16)
    if not first.size:
        return out
    work = Workspace() if work is None else work
    counts = np.bincount(length)
    # the width that holds all but about one frame in a thousand: the others, longer, go
    # through the same rows at their own width
    enough = int(np.flatnonzero(np.cumsum(counts) >= first.size - first.size // 1000)[0])
    width = max(2, enough + (enough & 1))
    size = buf.size
    bulk = (length <= width) & (first + width <= size)
    if bulk.all():
        _blocks(buf, first, length, extra, width, work, out)
        return out
    keep = np.flatnonzero(bulk)
    out_bulk = np.empty(keep.size, dtype=np.uint16)
    _blocks(buf, first[keep], length[keep], extra[keep], width, work, out_bulk)
    out[keep] = out_bulk
    rest = np.flatnonzero(~bulk)
    top = int(length[rest].max())
    wide = top + (top & 1)
    fits = first[rest] + wide <= size
    near_end = rest[~fits]  # rows of this width would run past the end of the data
    rest = rest[fits]
    if rest.size:
        got = np.empty(rest.size, dtype=np.uint16)
        _blocks(buf, first[rest], length[rest], extra[rest], wide, work, got)
        out[rest] = got
    if near_end.size:
        out[near_end] = _by_length(buf, first[near_end], length[near_end], extra[near_end])
    return out


def _blocks(buf, first, length, extra, width, work: Workspace, out: np.ndarray) -> None:
    """:func:`_block` over blocks of :data:`BLOCK` frames."""
    for a in range(0, first.size, BLOCK):
        b = min(a + BLOCK, first.size)
        _block(buf, first[a:b], length[a:b], extra[a:b], width, work, out[a:b])


def _block(buf, first, length, extra, width, work: Workspace, out: np.ndarray) -> None:
    """:func:`frame_crcs` of frames that fit ``width`` bytes (a row each), into ``out``."""
    if not first.size:
        return
    top = int(length.max())
    width = min(width, top + (top & 1))
    # each frame's bytes, then what follows it, as a row (a copy)
    _rows_block(gather_rows(buf, first, width), 0, width, length, extra, work, out)


def rows_crcs(rows: np.ndarray, col: int, length: np.ndarray, extra: np.ndarray,
              work: Workspace | None = None) -> np.ndarray:
    """:func:`frame_crcs` of frames already copied into rows: frame ``i`` is
    ``rows[i, col : col + length[i] - 1]`` then ``extra[i]`` (``rows``: a C-contiguous
    ``uint8`` array with room for ``col + length`` rounded up to even bytes per row; the byte
    after each frame is written over with its extra).

    Examples
    --------
    >>> from pymavlink.generator.mavcrc import x25crc
    >>> rows = np.frombuffer(b"_12345678__", dtype=np.uint8).reshape(1, -1).copy()
    >>> int(rows_crcs(rows, 1, np.array([9]), np.array([7], np.uint8))[0]) == x25crc(
    ...     b"12345678" + bytes([7])).crc
    True
    """
    work = Workspace() if work is None else work
    out = np.empty(len(length), dtype=np.uint16)
    if not out.size:
        return out
    top = int(length.max())
    width = top + (top & 1)
    for a in range(0, out.size, BLOCK):
        b = min(a + BLOCK, out.size)
        _rows_block(rows[a:b], col, width, length[a:b], extra[a:b], work, out[a:b])
    return out


def _rows_block(rows, col, width, length, extra, work: Workspace, out: np.ndarray) -> None:
    """CRCs of frames ``rows[i, col:]`` (of ``length``, fitting ``width`` bytes), into ``out``."""
    k, stride = rows.shape
    top = int(length.max())
    width = min(width, top + (top & 1))
    nw = width // 2
    ar = work.arange[:k]
    idx = work.get("index", k, np.int64)
    np.multiply(ar, stride, out=idx)
    idx += length
    idx += col - 1
    rows.reshape(-1)[idx] = extra  # CRC_EXTRA after the checked bytes
    words = work.get("words", nw * k, np.uint16).reshape(nw, k)
    np.copyto(words, rows[:, col:col + width].view("<u2").T)  # a row of words per column
    states = work.get("states", (nw + 1) * k, np.uint16).reshape(nw + 1, k)
    states[0] = 0xFFFF
    tmp = work.get("tmp", k, np.uint16)
    xor, step = np.bitwise_xor, T16.take  # (the methods: no Python wrapper per column)
    for j in range(nw):
        xor(states[j], words[j], out=tmp)
        step(tmp, out=states[j + 1], mode="clip")
    # the state after each frame's own bytes (an odd length ends with one byte step)
    np.right_shift(length, 1, out=idx)
    idx *= k
    idx += ar
    states.reshape(-1).take(idx, out=out, mode="clip")
    odd = np.flatnonzero(length & 1)
    if odd.size:
        s = out[odd]
        out[odd] = (s >> 8) ^ T8[(s ^ extra[odd]) & 0xFF]


def _by_length(buf, first, length, extra) -> np.ndarray:
    """:func:`frame_crcs` for frames of any length, grouped by length."""
    out = np.empty(first.size, dtype=np.uint16)
    order = np.argsort(length, kind="stable")
    sorted_length = length[order]
    bounds = np.flatnonzero(np.diff(sorted_length)) + 1
    for group in np.split(order, bounds):
        n = int(length[group[0]])
        data = np.empty((group.size, n), dtype=np.uint8)
        if n > 1:
            data[:, :n - 1] = gather_rows(buf, first[group], n - 1)
        data[:, n - 1] = extra[group]
        out[group] = x25_crc(data)
    return out
