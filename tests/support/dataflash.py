"""Tiny ArduPilot DataFlash logs built byte by byte (FMT records, then data records)."""

from __future__ import annotations

import struct

_SIZES = {"B": 1, "b": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4, "d": 8, "q": 8, "Q": 8,
          "n": 4, "N": 16, "Z": 64, "c": 2, "C": 2, "e": 4, "E": 4, "L": 4, "M": 1}
HEAD = b"\xa3\x95"


def fmt_record(type_: int, name: str, fmt: str, columns: str, length: int | None = None
               ) -> bytes:
    """A FMT record (type 128) defining message ``type_``."""
    if length is None:
        length = 3 + sum(_SIZES.get(c, 1) for c in fmt)
    return HEAD + b"\x80" + struct.pack("<BB4s16s64s", type_, length, name.encode(),
                                        fmt.encode(), columns.encode())


#: The FMT record describing FMT itself, which every log starts with.
FMT_OF_FMT = fmt_record(128, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns", 89)


def record(type_: int, fmt: str, *values) -> bytes:
    """A data record of message ``type_`` packed with struct format ``fmt``."""
    return HEAD + bytes([type_]) + struct.pack("<" + fmt, *values)
