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
from dronesense.sources.tlogrecords import (
    COMPILED_MIN_BYTES,
    NUMBA,
    SkippedRegion,
    find_records,
    gather_payloads,
    kernels_loaded,
    words_at,
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
    starts, rec_ids, hdrs, plens, skipped = find_records(buf, compiled=compiled)
    step(2)
    scan.records = int(starts.size)
    scan.skipped = skipped
    step(3)
    # every accepted id is one a shipped dialect defines; pymavlink's ardupilotmega decodes the
    # others as UNKNOWN_<id>
    counts = np.bincount(rec_ids, minlength=1) if rec_ids.size else np.zeros(0, np.int64)
    for mid in np.flatnonzero(counts).tolist():
        scan.counts[d.names.get(mid, f"UNKNOWN_{mid}")] = int(counts[mid])
    for name, mid in wanted.items():
        sel = np.flatnonzero(rec_ids == mid)
        scan.order[name] = sel
        scan.messages[name] = _decode(buf, starts[sel], hdrs[sel], plens[sel], name, compiled)
    step(4)
    return scan


#: The odd multiplier of the payload hash (fixed: a scan gives the same hashes in any process).
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


def _decode(buf, starts, hdr, plen, name: str, compiled: bool) -> dict[str, np.ndarray]:
    base = layout_dtype(name)
    # rows padded to whole 8-byte words: the payload hash works on 64-bit words
    width = -(-base.itemsize // 8) * 8
    dtype = np.dtype({"names": base.names, "formats": [base.fields[f][0] for f in base.names],
                      "offsets": [base.fields[f][1] for f in base.names], "itemsize": width})
    rows, recv, seq, sysid, compid = gather_payloads(buf, starts, hdr, plen, width,
                                                     compiled=compiled)
    rec = rows.view(dtype).ravel()
    out = {f: rec[f] for f in dtype.names}
    out["_offset"] = starts
    out["_recv_us"] = recv
    out["_seq"] = seq
    out["_sysid"] = sysid
    out["_compid"] = compid
    # a 64-bit hash of the payload bytes (wrapping integer arithmetic): copies of one packet
    # share it, so duplicates are found without keeping the bytes
    words = rows.view("<u8")
    digest = np.zeros(len(starts), dtype=np.uint64)
    for j in range(words.shape[1]):
        digest ^= words[:, j]
        digest *= _HASH_MUL
        digest ^= digest >> np.uint64(29)
    out["_hash"] = digest
    end = starts + 8 + hdr.astype(np.int64) + plen.astype(np.int64)  # the packet's CRC
    out["_crc"] = words_at(buf, "<u2")[end].astype(np.uint16)
    signed = (hdr == 10) & ((buf[starts + 10] & 1) == 1) if len(starts) else hdr == 10
    out["_length"] = (end + 2 - starts - 8 + 13 * signed).astype(np.int32)
    return out
