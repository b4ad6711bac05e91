"""The payload journal: serial readings as the listener paired them, for exact replay.

A serial reading's vehicle time comes from the receive clock *as it stood* when the
listener mapped it, and the pairing engine sees it between two particular MAVLink packets.
Re-deriving both from raw recordings afterwards could differ by a packet, so the listener
writes what it pushed: ``payload.csv`` in the session directory, one row per reading, with
the number of MAVLink packets the engine had processed before it (``after_packet``).
:func:`merge` then replays packets and readings in exactly the live order, so ``replay``
gives the journal's samples exactly, serial readings included; :func:`merge_indexed` does the
same for post-flight pairing, which sees only the packets it reads
(:func:`dronesense.sources.logs.load_events`).

Columns: ``after_packet, recv_us, sysid, time_boot_ms, name, value, source`` (times as
``repr`` of the float, so they read back bit for bit; ``source`` e.g. ``pms5003:/dev/ttyUSB1``).

Examples
--------
>>> import tempfile, os
>>> from dronesense.events import Reading
>>> path = os.path.join(tempfile.mkdtemp(), "payload.csv")
>>> with ReadingJournal(path) as j:
...     j.write(2, Reading(1, 1234.5678, "PM2.5", 8.0), 1_750_000_001_000_000, "pms5003")
>>> read_journal(path)
[(2, Reading(sysid=1, time_boot_ms=1234.5678, name='PM2.5', value=8.0), 1750000001000000)]
>>> [kind for kind, _ in merge(["p0", "p1", "p2", "p3"], read_journal(path))]
['packet', 'packet', 'reading', 'packet', 'packet']
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from dronesense.errors import InputError
from dronesense.events import Reading

__all__ = ["COLUMNS", "ReadingJournal", "merge", "merge_indexed", "read_journal"]

COLUMNS = ["after_packet", "recv_us", "sysid", "time_boot_ms", "name", "value", "source"]


class ReadingJournal:
    """Append-only writer of ``payload.csv`` (header written on creation)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fh = open(self.path, "w", newline="")
        self._w = csv.writer(self._fh, lineterminator="\n")
        self._w.writerow(COLUMNS)
        self.rows = 0

    def write(self, after_packet: int, reading: Reading, recv_us: int, source: str = "") -> None:
        """Note one reading pushed to the pairing engine after ``after_packet`` packets."""
        self._w.writerow([after_packet, recv_us, reading.sysid, repr(reading.time_boot_ms),
                          reading.name, repr(reading.value), source])
        self.rows += 1

    def flush(self) -> None:
        """Flush to disk (called with the other session files)."""
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    def __enter__(self) -> ReadingJournal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_journal(path: str | Path) -> list[tuple[int, Reading, int]]:
    """(after_packet, reading, recv_us) rows of a ``payload.csv``.

    Raises
    ------
    InputError
        If the file cannot be read or a row is malformed (line number in the message); a
        last line cut off by a crash is ignored.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise InputError(f"cannot read payload journal ({err.strerror})", path=path) from None
    out = []
    rows = list(csv.reader(lines))
    if not rows or rows[0] != COLUMNS:
        raise InputError("not a payload journal (bad header)", path=path)
    for i, row in enumerate(rows[1:], start=2):
        try:
            k, recv, sysid, t, name, value = row[:6]
            out.append((int(k), Reading(int(sysid), float(t), name, float(value)), int(recv)))
        except ValueError:
            if i == len(rows):  # cut off by a crash
                break
            raise InputError(f"line {i}: malformed row", path=path) from None
    return out


def merge(packets: Iterable, journal: list[tuple[int, Reading, int]]
          ) -> Iterator[tuple[str, object]]:
    """Packets and journal readings in live order: ``("packet", p)`` / ``("reading", (r, us))``.

    A reading with ``after_packet = k`` comes after the k-th packet and before the next.
    """
    return merge_indexed(enumerate(packets), journal)


def merge_indexed(items: Iterable[tuple[int, object]], journal: list[tuple[int, Reading, int]]
                  ) -> Iterator[tuple[str, object]]:
    """As :func:`merge`, for ``(packet index, item)`` pairs that need not be every packet
    (e.g. only the events of the message types pairing reads, several per packet allowed):
    the readings written after packet ``k`` come before the first item of index ``k`` or
    more.

    Examples
    --------
    >>> from dronesense.events import Reading
    >>> journal = [(1, Reading(1, 5.0, "PM2.5", 8.0), 0), (3, Reading(1, 6.0, "PM2.5", 9.0), 0)]
    >>> [kind if kind == "reading" else item
    ...  for kind, item in merge_indexed([(0, "a"), (2, "b"), (2, "c")], journal)]
    ['a', 'reading', 'b', 'c', 'reading']
    """
    j = 0
    n = len(journal)
    for index, item in items:
        while j < n and journal[j][0] <= index:
            yield "reading", (journal[j][1], journal[j][2])
            j += 1
        yield "packet", item
    while j < n:
        yield "reading", (journal[j][1], journal[j][2])
        j += 1
