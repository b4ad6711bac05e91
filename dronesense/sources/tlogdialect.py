"""The MAVLink dialect facts the tlog scanner needs, without importing pymavlink's dialects.

The scanner needs: which message ids a shipped dialect defines and their ``CRC_EXTRA``
(pymavlink's ``all`` dialect), the name of each ``ardupilotmega`` id (the dialect the rest of
dronesense decodes with) and the payload layout of the types it decodes. Importing pymavlink's
generated dialect modules for that costs about 60 ms per process, more than a tenth of a cold
scan of a million messages, so these facts are generated once from pymavlink into
:mod:`dronesense.sources.tlogdialect_table` (``python -m dronesense.sources.tlogdialect``
rewrites it) and used when the installed pymavlink is the version they were generated from
(``pymavlink.__version__``, a cheap import); with any other version they are read from
pymavlink's dialects at first use, so the scanner is never out of step with pymavlink. The
tests check the stored tables against pymavlink's.

Examples
--------
>>> d = dialect()
>>> d.ids["HEARTBEAT"], d.names[0], bool(d.known[0]), int(d.extra[0])
(0, 'HEARTBEAT', True, 50)
>>> layout_dtype("NAMED_VALUE_FLOAT").names
('time_boot_ms', 'value', 'name')
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Dialect", "dialect", "dtype_of", "from_pymavlink", "layout_dtype", "render_table"]

_STRUCT_TO_NUMPY = {
    "b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4",
    "q": "<i8", "Q": "<u8", "f": "<f4", "d": "<f8", "c": "S1",
}


@dataclass(frozen=True)
class Dialect:
    """What the scanner knows of MAVLink.

    Attributes
    ----------
    known, extra
        Indexed by message id: whether a shipped dialect (pymavlink's ``all``) defines it, and
        its ``CRC_EXTRA``; the last entry stands for every id past them all (unknown).
    names, ids
        ``ardupilotmega`` message id -> name and name -> id.
    messages
        ``ardupilotmega`` name -> (id, struct format, field names in wire order separated by
        spaces, ``name[n]`` for an array of ``n``), as pymavlink's message classes give them
        (:meth:`layout` splits them).
    source
        ``"table"`` (the stored tables) or ``"pymavlink"`` (read from its dialects).
    """

    known: np.ndarray
    extra: np.ndarray
    names: dict[int, str]
    ids: dict[str, int]
    messages: dict[str, tuple[int, str, str]]
    source: str

    def layout(self, name: str) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
        """(struct format, field names, array length of each field or 0) of a message type."""
        _, fmt, spec = self.messages[name]
        names, lengths = [], []
        for f in spec.split():
            base, _, n = f.partition("[")
            names.append(base)
            lengths.append(int(n[:-1]) if n else 0)
        return fmt, tuple(names), tuple(lengths)


def _arrays(crc_extra: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    size = max(crc_extra) + 2  # the last entry stands for every unknown id
    known = np.zeros(size, dtype=bool)
    extra = np.zeros(size, dtype=np.uint8)
    ids = np.fromiter(crc_extra, dtype=np.int64, count=len(crc_extra))
    known[ids] = True
    extra[ids] = np.fromiter(crc_extra.values(), dtype=np.uint8, count=len(crc_extra))
    return known, extra


def _raw_from_pymavlink() -> tuple[str, dict[int, int], dict[str, tuple[int, str, str]]]:
    """(pymavlink version, id -> CRC_EXTRA of ``all``, name -> (id, format, fields) of
    ``ardupilotmega``)."""
    import pymavlink
    from pymavlink.dialects.v20 import all as all_dialects
    from pymavlink.dialects.v20 import ardupilotmega

    crc_extra = {mid: int(cls.crc_extra) for mid, cls in sorted(all_dialects.mavlink_map.items())}
    messages = {}
    for mid, cls in sorted(ardupilotmega.mavlink_map.items()):
        spec = " ".join(f"{f}[{n}]" if n else f
                        for f, n in zip(cls.ordered_fieldnames, cls.array_lengths, strict=True))
        messages[cls.msgname] = (mid, cls.unpacker.format, spec)
    return pymavlink.__version__, crc_extra, messages


def _build(crc_extra: dict[int, int], messages: dict, source: str) -> Dialect:
    known, extra = _arrays(crc_extra)
    ids = {name: m[0] for name, m in messages.items()}
    names = {mid: name for name, mid in ids.items()}
    return Dialect(known, extra, names, ids, messages, source)


def from_pymavlink() -> Dialect:
    """The tables read from pymavlink's ``all`` and ``ardupilotmega`` dialects (slow import)."""
    _, crc_extra, messages = _raw_from_pymavlink()
    return _build(crc_extra, messages, "pymavlink")


@functools.cache
def dialect() -> Dialect:
    """The dialect tables: the stored ones when pymavlink is the version they come from."""
    import pymavlink

    import dronesense.sources.tlogdialect_table as table

    if pymavlink.__version__ != table.PYMAVLINK_VERSION:
        return from_pymavlink()
    return _build(table.CRC_EXTRA, table.MESSAGES, "table")


@functools.cache
def layout_dtype(name: str) -> np.dtype:
    """Numpy structured dtype of a message type's payload, in wire order (pymavlink names;
    ``char[N]`` as ``SN``).

    Raises
    ------
    KeyError
        If ``ardupilotmega`` has no such message.
    """
    return dtype_of(*dialect().layout(name))


def dtype_of(fmt: str, names, lengths) -> np.dtype:
    """Numpy structured dtype of a payload from its struct format, field names and array
    lengths (as a pymavlink message class gives them: ``unpacker.format``,
    ``ordered_fieldnames``, ``array_lengths``).

    Examples
    --------
    >>> dtype_of("<If10s", ["time_boot_ms", "value", "name"], [0, 0, 10]).descr
    [('time_boot_ms', '<u4'), ('value', '<f4'), ('name', '|S10')]
    """
    parts = re.findall(r"(\d*)([a-zA-Z])", fmt.lstrip("<"))
    fields = []
    for fname, alen, (count, code) in zip(names, lengths, parts, strict=True):
        count = int(count) if count else 1
        if code == "s":
            fields.append((fname, f"S{count}"))
        elif count > 1 or alen:
            fields.append((fname, _STRUCT_TO_NUMPY[code], (count,)))
        else:
            fields.append((fname, _STRUCT_TO_NUMPY[code]))
    return np.dtype(fields)


def render_table() -> str:
    """The text of :mod:`dronesense.sources.tlogdialect_table`, generated from pymavlink."""
    version, crc_extra, messages = _raw_from_pymavlink()
    items = [f"{mid}: {x}," for mid, x in crc_extra.items()]
    rows, line = [], "   "
    for item in items:
        if len(line) + 1 + len(item) > 99:
            rows.append(line)
            line = "   "
        line += " " + item
    rows.append(line)
    out = [
        '"""MAVLink dialect tables for the tlog scanner, generated from pymavlink by',
        "``python -m dronesense.sources.tlogdialect`` (do not edit by hand; see",
        ':mod:`dronesense.sources.tlogdialect`)."""',
        "",
        "# ruff: noqa: E501",
        "",
        f"PYMAVLINK_VERSION = {version!r}",
        "",
        "#: message id -> CRC_EXTRA of every message of pymavlink's ``all`` dialect",
        "CRC_EXTRA = {",
        *rows,
        "}",
        "",
        "#: ardupilotmega: name -> (id, struct format, fields in wire order, ``f[n]``: arrays)",
        "MESSAGES = {",
    ]
    for name, (mid, fmt, spec) in messages.items():
        out.append(f"    {name!r}: ({mid}, {fmt!r}, {spec!r}),")
    out += ["}", ""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - regenerates the stored tables
    from pathlib import Path

    target = Path(__file__).with_name("tlogdialect_table.py")
    target.write_text(render_table())
    print(f"wrote {target}")
