"""Fast vectorised ``.tlog`` reader for the message types pairing needs.

:class:`~dronesense.sources.framing.TlogReader` decodes one packet at a time with pymavlink (about
60-70k messages/s). This module reads the same records without per-message Python.

Where the records are is found by :mod:`dronesense.sources.tlogrecords` (a compiled walk
with numba, a project dependency, or an identical vectorised numpy path), with the acceptance
rule of :class:`~dronesense.sources.framing.TlogReader` (plausible timestamp, magic, sane v2
flags, complete, CRC for known ids), so both readers keep the same records; every skipped
byte range is reported with its file offset. Then, per wanted message id, the payloads are
gathered into a fixed-width, zero-padded array and viewed through a numpy structured dtype
built from pymavlink's generated message class (field order, types and CRC_EXTRA are never
copied by hand).

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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError
from dronesense.sources.tlogrecords import (
    COMPILED_MIN_BYTES,
    NUMBA,
    SkippedRegion,
    crc_extra_table,
    find_records,
    gather_payloads,
    kernels_loaded,
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

_STRUCT_TO_NUMPY = {
    "b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4",
    "q": "<i8", "Q": "<u8", "f": "<f4", "d": "<f8", "c": "S1",
}


def message_dtype(msgcls) -> np.dtype:
    """Numpy structured dtype of a pymavlink message class's payload, in wire order.

    Examples
    --------
    >>> message_dtype(mavlink.MAVLink_named_value_float_message).names
    ('time_boot_ms', 'value', 'name')
    """
    import re

    fmt = msgcls.unpacker.format.lstrip("<")
    parts = re.findall(r"(\d*)([a-zA-Z])", fmt)
    names = msgcls.ordered_fieldnames
    lengths = msgcls.array_lengths
    fields = []
    for name, alen, (count, code) in zip(names, lengths, parts, strict=True):
        count = int(count) if count else 1
        if code == "s":
            fields.append((name, f"S{count}"))
        elif count > 1 or alen:
            fields.append((name, _STRUCT_TO_NUMPY[code], (count,)))
        else:
            fields.append((name, _STRUCT_TO_NUMPY[code]))
    dtype = np.dtype(fields)
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
        return np.fromfile(path, dtype=np.uint8), path
    except OSError as err:
        raise InputError(f"cannot read tlog: {err.strerror or err}", path=path) from None


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
    known_ids = crc_extra_table()[0]
    buf, path = _load(source)
    size = int(buf.size)
    if _numba is None:
        compiled = False
    elif compiled is None:
        compiled = size >= COMPILED_MIN_BYTES or kernels_loaded()
    scan = TlogScan(path=path, size=size)
    step = (lambda k: progress(k, 4)) if progress else (lambda k: None)
    step(1)
    starts, rec_ids, hdrs, plens, skipped = find_records(buf, compiled=compiled)
    step(2)
    scan.records = int(starts.size)
    scan.skipped = skipped
    kid = np.minimum(rec_ids, known_ids.size - 1)
    unknown = np.flatnonzero(~known_ids[kid])
    if unknown.size:  # kept as records (as pymavlink does) but their CRC cannot be checked
        for k in unknown.tolist():
            total = 8 + int(hdrs[k]) + int(plens[k]) + 2
            if hdrs[k] == 10 and buf[starts[k] + 10] & 1:
                total += 13
            scan.skipped.append(SkippedRegion(int(starts[k]), total,
                                              f"unknown message id {int(rec_ids[k])}"))
        scan.skipped.sort(key=lambda r: r.offset)
    step(3)
    counts = np.bincount(kid, minlength=known_ids.size)
    for mid in np.flatnonzero(counts * known_ids).tolist():
        scan.counts[mavlink.mavlink_map[mid].msgname] = int(counts[mid])
    if unknown.size:
        uniq, cnt = np.unique(rec_ids[unknown], return_counts=True)
        for mid, c in zip(uniq.tolist(), cnt.tolist(), strict=True):
            scan.counts[f"UNKNOWN_{mid}"] = c
    for name in types:
        mid = getattr(mavlink, f"MAVLINK_MSG_ID_{name}", None)
        if mid is None:
            raise InputError(f"unknown MAVLink message type {name!r}")
        sel = np.flatnonzero(rec_ids == mid)
        scan.order[name] = sel
        scan.messages[name] = _decode(buf, starts[sel], hdrs[sel], plens[sel],
                                      mavlink.mavlink_map[mid], compiled)
    step(4)
    return scan


def _decode(buf, starts, hdr, plen, cls, compiled: bool) -> dict[str, np.ndarray]:
    dtype = message_dtype(cls)
    width = dtype.itemsize
    rows, recv, seq, sysid, compid = gather_payloads(buf, starts, hdr, plen, width,
                                                     compiled=compiled)
    rec = rows.view(dtype).ravel()
    out = {name: rec[name] for name in dtype.names}
    out["_offset"] = starts
    out["_recv_us"] = recv
    out["_seq"] = seq
    out["_sysid"] = sysid
    out["_compid"] = compid
    # a 64-bit hash of the payload bytes (wrapping integer arithmetic): copies of one packet
    # share it, so duplicates are found without keeping the bytes
    weights = np.random.default_rng(width).integers(1, 2**62, size=width, dtype=np.uint64)
    weights |= np.uint64(1)
    flat = rows.reshape(len(starts), width)
    digest = np.empty(len(starts), dtype=np.uint64)
    for a in range(0, len(starts), 1 << 15):  # in slices: the widened copy stays small
        digest[a:a + (1 << 15)] = flat[a:a + (1 << 15)].astype(np.uint64) @ weights
    out["_hash"] = digest
    end = starts + 8 + hdr.astype(np.int64) + plen.astype(np.int64)  # the packet's CRC
    out["_crc"] = buf[end].astype(np.uint16) | (buf[end + 1].astype(np.uint16) << 8)
    signed = (hdr == 10) & ((buf[starts + 10] & 1) == 1) if len(starts) else hdr == 10
    out["_length"] = (end + 2 - starts - 8 + 13 * signed).astype(np.int32)
    return out
