"""Fast vectorised ``.tlog`` reader for the message types pairing needs.

:class:`~dronesense.sources.framing.TlogReader` decodes one packet at a time with pymavlink (about
60-70k messages/s). This module reads the same records without per-message Python.

Where the records are is found by :mod:`dronesense.sources.tlogrecords` (a compiled walk
with numba, a project dependency, or an identical vectorised numpy path), with the acceptance
rule of :class:`~dronesense.sources.framing.TlogReader` (plausible timestamp, magic, sane v2
flags, complete, CRC for known ids), so both readers keep the same records; every skipped
byte range is reported with its file offset. Then, per wanted message id, the payloads are
gathered into a fixed-width, zero-padded array and viewed through a numpy structured dtype
built from pymavlink's message definitions (field order, types and CRC_EXTRA are never copied
by hand: :mod:`~dronesense.sources.tlogdialect` generates them from pymavlink and checks the
installed version, so the scanner does not import pymavlink's dialect modules).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1500, b"CH4", 1.9).pack(mav))
>>> data = (10**15).to_bytes(8, "big") + raw + b"junk"
>>> scan = scan_tlog(data)
>>> nvf = scan.messages["NAMED_VALUE_FLOAT"]
>>> int(nvf["time_boot_ms"][0]), bytes(nvf["name"][0]), round(float(nvf["value"][0]), 3)
(1500, b'CH4', 1.9)
>>> [(r.offset, r.length, r.reason) for r in scan.skipped]
[(31, 4, 'not MAVLink')]
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.sources.tlogdialect import dialect, dtype_of, layout_dtype
from dronesense.sources.tlogpayloads import gather_payloads
from dronesense.sources.tlogrecords import (
    COMPILED_MIN_BYTES,
    NUMBA,
    SkippedRegion,
    find_records,
    kernels_loaded,
    record_pieces,
    x25_crc,
)

__all__ = [
    "PAIRING_TYPES",
    "SkippedRegion",
    "TlogScan",
    "message_dtype",
    "scan_tlog",
    "x25_crc",
]

#: Message types the flight state and pairing consume.
PAIRING_TYPES = (
    "GLOBAL_POSITION_INT",
    "GPS_RAW_INT",
    "NAMED_VALUE_FLOAT",
    "NAMED_VALUE_INT",
    "SYSTEM_TIME",
    "HEARTBEAT",
)

#: The compiled walk (numba) when available; ``None`` makes :func:`scan_tlog` take the
#: vectorised numpy path (tests compare both).
_numba = NUMBA


def message_dtype(msgcls) -> np.dtype:
    """Numpy structured dtype of a message type's payload, in wire order.

    Parameters
    ----------
    msgcls
        A pymavlink message class, or the message name.

    Examples
    --------
    >>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
    >>> message_dtype(mavlink.MAVLink_named_value_float_message).names
    ('time_boot_ms', 'value', 'name')
    >>> message_dtype("NAMED_VALUE_FLOAT") == message_dtype(
    ...     mavlink.MAVLink_named_value_float_message)
    True
    """
    if isinstance(msgcls, str):
        return layout_dtype(msgcls)
    dtype = dtype_of(msgcls.unpacker.format, msgcls.ordered_fieldnames, msgcls.array_lengths)
    if dtype.itemsize != msgcls.unpacker.size:  # pragma: no cover - dialect sanity
        raise ValueError(f"dtype size {dtype.itemsize} != payload size {msgcls.unpacker.size}")
    return dtype


@dataclass
class TlogScan:
    """What :func:`scan_tlog` found.

    Attributes
    ----------
    path
        The file, if read from one.
    size
        File size in bytes.
    records
        Number of good records (all message types).
    counts
        Good records per message name (unknown ids as ``UNKNOWN_<id>``).
    messages
        Per wanted message name, a dict of field arrays (pymavlink field names; strings as
        ``bytes`` with trailing NULs dropped) plus ``_offset`` (record offset in the file),
        ``_recv_us`` (tlog timestamp), ``_sysid``, ``_compid``, ``_seq``, ``_crc`` (the
        packet's checksum), ``_length`` (the packet's bytes, signature included), ``_hash`` (of
        the payload), in file order.
    order
        Per wanted message name, the index of each message among all good records (to merge
        types back into file order).
    skipped
        Every skipped region, in file order.
    """

    path: Path | None
    size: int
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    messages: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    order: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[SkippedRegion] = field(default_factory=list)

    @property
    def skipped_bytes(self) -> int:
        """Total bytes in skipped regions."""
        return sum(r.length for r in self.skipped)


def _load(source: str | Path | bytes | bytearray | np.ndarray) -> tuple[np.ndarray, Path | None]:
    if isinstance(source, np.ndarray):
        return source.astype(np.uint8, copy=False).ravel(), None
    if isinstance(source, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(source), dtype=np.uint8), None
    path = Path(source)
    try:
        return _map(path), path
    except OSError as err:
        raise InputError(f"cannot read tlog: {err.strerror or err}", path=path) from None


def _map(path: Path) -> np.ndarray:
    """The file's bytes, read-only: mapped from the page cache (no copy and no fresh memory
    to fault in), or read when it cannot be mapped (empty, a pipe)."""
    with open(path, "rb") as fh:
        try:
            # all pages mapped in one call (Linux); the mapping outlives the file handle
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            data = mmap.mmap(fh.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        except (ValueError, OSError, AttributeError):  # empty, not mappable, no PROT_READ
            return np.frombuffer(fh.read(), dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)


def scan_tlog(
    source: str | Path | bytes | np.ndarray,
    types: Iterable[str] = PAIRING_TYPES,
    progress: Callable[[int, int], None] | None = None,
    *,
    compiled: bool | None = None,
) -> TlogScan:
    """Read a ``.tlog`` file (or its bytes) and decode the wanted message types.

    Parameters
    ----------
    source
        Path of the ``.tlog`` file, or its content.
    types
        Message names to decode (all good records are counted whatever their type).
    progress
        Called as ``progress(done, total)`` in steps of the work (bytes-like units).
    compiled
        Walk with the numba kernels (``True``, when numba is installed) or the vectorised
        numpy path (``False``); both give the identical scan. Default: the kernels for a file
        of at least :data:`~dronesense.sources.tlogrecords.COMPILED_MIN_BYTES` or once they
        are loaded in this process, else numpy (which finishes a smaller file before numba
        has even been imported).

    Returns
    -------
    TlogScan
        Field arrays per type, counts and every skipped region.

    Examples
    --------
    >>> scan = scan_tlog(b"")
    >>> scan.records, scan.skipped
    (0, [])
    """
    d = dialect()
    buf, path = _load(source)
    size = int(buf.size)
    if _numba is None:
        compiled = False
    elif compiled is None:
        compiled = size >= COMPILED_MIN_BYTES or kernels_loaded()
    wanted = {}
    for name in types:
        if name not in d.ids:
            raise InputError(f"unknown MAVLink message type {name!r}")
        wanted[name] = d.ids[name]
    scan = TlogScan(path=path, size=size)
    step = (lambda k: progress(k, 4)) if progress else (lambda k: None)
    step(1)
    # the records a piece at a time (the numpy walk gives one per slice of the file): per
    # wanted type, where its records are and their index among all records
    pieces = [find_records(buf, compiled=True)] if compiled else record_pieces(buf)
    found: dict[str, list[tuple[np.ndarray, ...]]] = {name: [] for name in wanted}
    counts: dict[int, int] = {}
    for starts, rec_ids, hdrs, plens, skipped in pieces:
        scan.skipped += skipped
        if not rec_ids.size:
            continue
        here = np.bincount(rec_ids)
        present = np.flatnonzero(here)
        for mid, k in zip(present.tolist(), here[present].tolist(), strict=True):
            counts[mid] = counts.get(mid, 0) + k
        for name, mid in wanted.items():
            if mid < here.size and here[mid]:
                sel = np.flatnonzero(rec_ids == mid)
                found[name].append((starts[sel], hdrs[sel], plens[sel], sel + scan.records))
        scan.records += int(rec_ids.size)
    step(2)
    # every accepted id is one a shipped dialect defines; pymavlink's ardupilotmega decodes the
    # others as UNKNOWN_<id>
    for mid in sorted(counts):
        scan.counts[d.names.get(mid, f"UNKNOWN_{mid}")] = counts[mid]
    step(3)
    for name in wanted:
        starts, hdrs, plens, order = _joined(found.pop(name))
        scan.order[name] = order
        scan.messages[name] = _decode(buf, starts, hdrs, plens, name, compiled)
    step(4)
    return scan


def _joined(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """The arrays of the pieces end to end (starts, header and payload lengths, order)."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return (np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int16),
                np.zeros(0, np.int64))
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


#: The odd multiplier of the payload hash (fixed: a scan gives the same hashes in any process).
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


def _decode(buf, starts, hdr, plen, name: str, compiled: bool) -> dict[str, np.ndarray]:
    base = layout_dtype(name)
    # rows padded to whole 8-byte words: the payload hash works on 64-bit words
    width = -(-base.itemsize // 8) * 8
    dtype = np.dtype({"names": base.names, "formats": [base.fields[f][0] for f in base.names],
                      "offsets": [base.fields[f][1] for f in base.names], "itemsize": width})
    rows, recv, seq, sysid, compid, crc, length = gather_payloads(buf, starts, hdr, plen,
                                                                  width, compiled=compiled)
    rec = rows.view(dtype).ravel()
    out = {f: rec[f] for f in dtype.names}
    out["_offset"] = starts
    out["_recv_us"] = recv
    out["_seq"] = seq
    out["_sysid"] = sysid
    out["_compid"] = compid
    m = len(starts)
    out["_hash"] = digest = np.empty(m, dtype=np.uint64)
    out["_crc"] = crc
    out["_length"] = length
    # a 64-bit hash of the payload bytes (wrapping integer arithmetic): copies of one packet
    # share it, so duplicates are found without keeping the bytes; a block of rows at a time
    words = rows.view("<u8")
    tmp = np.empty(min(m, _BLOCK), dtype=np.uint64)
    for a in range(0, m, _BLOCK):
        b = min(a + _BLOCK, m)
        d = digest[a:b]
        d[:] = 0
        t = tmp[:b - a]
        for j in range(words.shape[1]):
            d ^= words[a:b, j]
            d *= _HASH_MUL
            np.right_shift(d, np.uint64(29), out=t)
            d ^= t
    return out


#: Rows per block of :func:`_decode`'s loop.
_BLOCK = 1 << 16
