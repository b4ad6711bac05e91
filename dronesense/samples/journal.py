"""The ``samples.csv`` journal: rows written as they are made and read back.

The ``units`` column holds the units as people read them: ``ppm``, ``ppb`` (valid UDUNITS-2
spellings that a spreadsheet does not take for numbers) where the rows and CF files carry
``1e-6``, ``1e-9``; reading gives the rows back exactly.

Examples
--------
>>> from dronesense.flight.rows import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.1, 5.2, 40.5, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> format_row(row)
['2024-05-01T10:00:00.000000Z', '1000', '0', '1', '52.1', '5.2', '40.5', '30', 'ch4', \
'CH4', '1.9', 'ppm', '0.1', '0', 'sync']
>>> parse_row(format_row(row)) == row
True
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from dronesense.errors import InputError
from dronesense.flight.rows import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, SampleRow
from dronesense.quantities import file_units, text_units
from dronesense.sources.session_folder import SessionFolder


def _fmt(value) -> str:
    """Journal text of a value: shortest round-tripping text for floats (the usual case,
    tested first), integers without a fraction, ``""`` for NaN and ``None``."""
    t = type(value)
    if t is float or (t is not int and isinstance(value, float)):
        if value != value:
            return ""
        if value.is_integer() and -1e15 < value < 1e15:
            return str(int(value))
        return repr(value)
    if t is str:
        return value
    if t is int:
        return str(value)
    if value is None:
        return ""
    return str(value)


def _text(value) -> str:
    """:func:`_fmt` of a text column."""
    return value if type(value) is str else _fmt(value)


def format_row(row: SampleRow) -> list[str]:
    """The journal fields of a row (shortest round-tripping text for floats; units as people
    read them, ``ppm`` for ``1e-6``: :func:`dronesense.quantities.text_units`)."""
    (utc, boot_ms, boot, sysid, lat, lon, alt, height, quantity, name, value, units, gap,
     flag, source) = row
    return [_text(utc), _fmt(boot_ms), _fmt(boot), _fmt(sysid), _fmt(lat), _fmt(lon),
            _fmt(alt), _fmt(height), _text(quantity), _text(name), _fmt(value),
            text_units(_text(units)), _fmt(gap), _fmt(flag), _text(source)]


def _fmt_floats(values) -> list[str]:
    """:func:`_fmt` of a float array, at once (numpy's shortest repr is Python's)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    out = a.astype(str).astype(object)
    whole = np.isfinite(a) & (a == np.trunc(a)) & (np.abs(a) < 1e15)
    out[whole] = a[whole].astype(np.int64).astype(str)
    out[np.isnan(a)] = ""
    return out.tolist()


def format_columns(cols) -> list[list[str]]:
    """The journal fields of :class:`~dronesense.flight.columns.SampleColumns`, column by
    column (:func:`format_row` of each row, in columns)."""
    import numpy as np

    stamps = np.datetime_as_string(cols.unix_us.astype("datetime64[us]"), unit="us")
    utc = np.char.add(stamps, "Z").astype(object)
    utc[~cols.has_utc] = ""
    units = np.array([text_units(u) for u in cols.units] + [""], dtype=object)
    return [utc.tolist(), _fmt_floats(cols.time_boot_ms), cols.boot.astype(str).tolist(),
            cols.sysid.astype(str).tolist(), _fmt_floats(cols.lat), _fmt_floats(cols.lon),
            _fmt_floats(cols.alt_amsl), _fmt_floats(cols.height),
            cols.column("quantity").tolist(), cols.column("name").tolist(),
            _fmt_floats(cols.value), units[cols.quantity_code].tolist(),
            _fmt_floats(cols.position_gap), cols.flag.astype(str).tolist(),
            cols.column("time_source").tolist()]


def parse_row(fields: Sequence[str]) -> SampleRow:
    """A :class:`SampleRow` from journal fields (inverse of :func:`format_row`)."""
    if len(fields) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} fields, got {len(fields)}")
    out = []
    for col, text in zip(COLUMNS, fields, strict=True):
        if col in FLOAT_COLUMNS:
            out.append(float(text) if text else None)
        elif col in INT_COLUMNS:
            out.append(int(text))
        elif col == "time_utc":
            out.append(text or None)
        elif col == "units":
            out.append(file_units(text))
        else:
            out.append(text)
    return SampleRow(*out)


class JournalWriter:
    """Append sample rows to ``samples.csv``; header first, flushed on demand.

    Parameters
    ----------
    path
        The journal file (created or truncated).
    hold
        Keep the rows written (unformatted) until :meth:`flush`, which formats them and hands
        them to the file at once: nothing reaches the file in between (the live recorder
        flushes ``flight.tlog`` first, so the journal is never ahead of it). Default: rows go
        to the file's buffer as they are written.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "samples.csv")
    >>> with JournalWriter(path) as journal:
    ...     journal.write([SampleRow(None, 5, 0, 1, None, None, None, None, "co", "CO", 2.0,
    ...                              "1e-9", None, 2, "")])
    >>> read_journal(path)[0].flag
    2
    """

    def __init__(self, path: str | Path, *, hold: bool = False):
        self.path = Path(path)
        self._fh = open(self.path, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(COLUMNS)
        #: rows written (held ones included)
        self.rows = 0
        self._held: list[SampleRow] | None = [] if hold else None
        if hold:
            self._fh.flush()  # the header only

    @property
    def held(self) -> int:
        """Rows written but held until the next :meth:`flush` (``hold`` only)."""
        return 0 if self._held is None else len(self._held)

    def write(self, rows: Iterable[SampleRow]) -> None:
        """Append rows (buffered until :meth:`flush`)."""
        if self._held is not None:
            n = len(self._held)
            self._held.extend(rows)
            self.rows += len(self._held) - n
            return
        lines = [format_row(row) for row in rows]
        self._csv.writerows(lines)
        self.rows += len(lines)

    def write_columns(self, cols) -> None:
        """Append the rows of :class:`~dronesense.flight.columns.SampleColumns`: the same
        text as :meth:`write` of their rows, formatted a column at a time."""
        self._csv.writerows(zip(*format_columns(cols), strict=True))
        self.rows += len(cols)

    def flush(self) -> None:
        """Hand buffered (and held) rows to the operating system."""
        if self._held:
            self._csv.writerows([format_row(row) for row in self._held])
            self._held = []
        self._fh.flush()

    def close(self) -> None:
        """Flush and close."""
        if not self._fh.closed:
            self.flush()
            self._fh.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_journal(path: str | Path) -> list[SampleRow]:
    """Rows of a ``samples.csv`` journal (a session directory may be given).

    A last line cut short by a crash is ignored.

    Raises
    ------
    InputError
        If the file is missing, is not UTF-8 text or its header is not the samples schema.
    """
    path = Path(path)
    if path.is_dir():
        path = SessionFolder(path).samples
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read journal: {err.strerror or err}", path=path) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not a samples journal: not UTF-8 text (byte {err.start})",
                         path=path) from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or tuple(lines[0]) != COLUMNS:
        raise InputError("not a samples journal (unexpected header)", path=path)
    rows = []
    complete = text.endswith("\n")
    for k, fields in enumerate(lines[1:], start=2):
        try:
            rows.append(parse_row(fields))
        except ValueError as err:
            if k == len(lines) and not complete:
                break  # torn last line
            raise InputError(f"line {k}: {err}", path=path) from None
    return rows
