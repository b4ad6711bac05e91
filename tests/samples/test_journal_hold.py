"""The samples journal's text and its ``hold`` mode: each field is ``_fmt`` of the value (the
shortest round-tripping float, whole floats as integers, NaN and None empty, ``ppm`` for
``1e-6``), read back exactly; a held journal gives the file nothing before ``flush``."""

from __future__ import annotations

import math
import random

from dronesense.flight.rows import SampleRow
from dronesense.quantities import text_units
from dronesense.samples.journal import JournalWriter, format_row, read_journal


def _reference(row: SampleRow) -> list[str]:
    """The field texts as the conventions define them, value by value."""
    out = []
    for v in row:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("")
        elif isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            out.append(str(int(v)))
        elif isinstance(v, float):
            out.append(repr(v))
        else:
            out.append(str(v))
    out[11] = text_units(out[11])
    return out


def _rows(n: int) -> list[SampleRow]:
    rng = random.Random(3)

    def num():
        return rng.choice([None, math.nan, 0.0, -0.0, 12.0, 1e15, -1e15, 1e16, math.inf,
                           rng.uniform(-1e3, 1e3), rng.uniform(-1e-9, 1e-9),
                           float(rng.randint(-10**6, 10**6))])

    return [SampleRow(rng.choice([None, "2024-05-01T10:00:00.500000Z"]), rng.uniform(0, 1e7),
                      rng.randint(0, 3), rng.randint(1, 255), num(), num(), num(), num(),
                      rng.choice(["ch4", "pm2p5"]), rng.choice(["CH4", "PM2.5", 'a,"b"']),
                      rng.choice([num(), 1.9]), rng.choice(["1e-6", "1e-9", "ug m-3", ""]),
                      num(), rng.randint(0, 6), rng.choice(["sync", "receive", ""]))
            for _ in range(n)]


def test_fields_are_the_conventions_text():
    for row in _rows(3000):
        assert format_row(row) == _reference(row)


def test_held_rows_reach_the_file_only_at_flush(tmp_path):
    rows = [r for r in _rows(400) if r.value is not None and not math.isnan(r.value)]
    path = tmp_path / "samples.csv"
    journal = JournalWriter(path, hold=True)
    header = path.read_text()
    journal.write(rows[:200])
    journal.write(rows[200:])
    assert journal.rows == len(rows) and journal.held == len(rows)
    assert path.read_text() == header  # nothing but the header yet
    journal.flush()
    assert journal.held == 0
    assert [format_row(r) for r in read_journal(path)] == [format_row(r) for r in rows]
    journal.write(rows[:5])
    journal.close()  # closing flushes the held rows
    assert len(read_journal(path)) == len(rows) + 5
