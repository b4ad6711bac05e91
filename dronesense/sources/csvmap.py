"""Delimited text files read through a map: columns with their units and the row times.

Instrument files come as they come: ``#`` comment lines, a title to skip, any delimiter and
any extension, date and time in separate columns, a time of day without a date, units that
are not the ones wanted. A :class:`TableMap` says how to read one file; :func:`read_table`
returns a :class:`Table`: the time of every row (UTC, or the vehicle's own clock) and each
mapped column as floats with its units. The CSV track reader
(:mod:`dronesense.sources.csvtrack`) and wind time-series files are read through it, so a
map means the same everywhere.

A map is one TOML table (``[csv]`` for tracks; a caller may use its own, e.g. ``[wind]``)::

    comment = "#"                  # lines starting with it are skipped, wherever they are
    skiprows = 2                   # lines skipped before the header line
    separator = "auto"             # "," ";" "\\t" "|" "whitespace", or "auto" (sniffed)
    decimal = "."                  # decimal mark ("," for 12,5)
    missing = [-999.99, "NA"]      # markers of a missing cell, added to the usual ones
    time = "Timestamp"             # the time column, or several joined by a space:
    # time = ["Date_UTC", "Time_UTC"]
    time_format = "auto"           # auto iso unix_s unix_ms unix_us boot_ms boot_s, or a
                                   # strptime format such as "%d.%m.%Y %H:%M:%S"
    date = "2022-04-11"            # the day of times of day (HH:MM:SS) given without a date
    timezone = "UTC"               # of times written without an offset: "UTC",
                                   # "Europe/Rome" or "+02:00"
    ms_column = ""                 # milliseconds refining a whole-second time

    # columns, by the name the caller gives them: the header, or a table
    wind_speed = "WS"
    temperature = { column = "T_air", units = "K" }        # the units of the file's values
    pressure = { column = "P", scale = 0.01, units = "hPa" } # file value * scale + offset

``time_format = "auto"`` reads UNIX times in seconds, milliseconds or microseconds (by their
size), ISO 8601 text (``2023-04-19 07:10:05.67``, with or without ``T``, ``Z`` or an offset)
and times of day (with ``date``). A time of day that passes midnight moves to the next day.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "met.txt")
>>> _ = open(path, "w").write("# mast 2, 10 m\\nDate;Time;T;WS\\n"
...                           "2024-05-01;10:00:00;288,15;3,5\\n2024-05-01;10:00:10;289,15;NA\\n")
>>> tmap = TableMap(time=("Date", "Time"), comment="#", decimal=",",
...                 columns={"t": Column("T", units="K"), "ws": Column("WS", units="m s-1")})
>>> table = read_table(path, tmap)
>>> table.time.astype("datetime64[s]").tolist()[1], table.get("t", "degC").tolist()
(datetime.datetime(2024, 5, 1, 10, 0, 10), [15.0, 16.0])
>>> table.values["ws"].tolist(), table.lines.tolist()
([3.5, nan], [3, 4])
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.quantities import convert_units, file_units, parse_units
from dronesense.sources.tablecells import row_times, to_float, tzinfo_of

__all__ = ["DEFAULT_MISSING", "TABLE_KEYS", "TIME_FORMATS", "Column", "Table", "TableMap",
           "load_map_file", "map_ranges", "read_table"]

#: Cells that mean "no value" whatever the map says.
DEFAULT_MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "None", "-999", "-999.9", "-999.99",
                   "-9999", "-9999.0")

#: Named time formats (anything else is a ``strptime`` format).
TIME_FORMATS = ("auto", "iso", "unix_s", "unix_ms", "unix_us", "boot_ms", "boot_s")

#: The map keys about reading the file (every other key of a map names a column).
TABLE_KEYS = ("comment", "skiprows", "separator", "decimal", "missing", "time", "time_format",
              "date", "timezone", "ms_column")

_SEPARATORS = {"\\t": "\t", "tab": "\t", "whitespace": r"\s+", "space": r"\s+"}


@dataclass(frozen=True)
class Column:
    """One mapped column: its header and how its numbers become values.

    ``value = number * scale + offset``, in ``units`` (UDUNITS-2, any spelling; empty when
    the values have no units).
    """

    header: str
    units: str = ""
    scale: float = 1.0
    offset: float = 0.0

    @classmethod
    def from_entry(cls, entry, what: str, path: str | Path | None = None,
                   units: str = "") -> Column:
        """A column from a map entry: a header string, or a table ``{column, units, scale,
        offset}``; ``units`` are the default units.

        Raises
        ------
        InputError
            If the entry has the wrong shape or its units are not UDUNITS-2 units.
        """
        if isinstance(entry, str):
            return cls(entry.strip(), units)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("column"), str):
            raise InputError(f"{what}: expected a column header or a table "
                             "{column = ..., units = ..., scale = ..., offset = ...}", path=path)
        extra = set(entry) - {"column", "units", "scale", "offset"}
        if extra:
            raise InputError(f"{what}: unknown key(s) {', '.join(sorted(extra))} (known: "
                             "column, units, scale, offset)", path=path)
        units = str(entry.get("units", units))
        if units and parse_units(units) is None:
            raise InputError(f"{what}: units {units!r} are not valid UDUNITS-2 units (e.g. "
                             "'hPa', 'K', 'ppb', 'umol mol-1', 'm s-1')", path=path)
        try:
            scale, offset = float(entry.get("scale", 1.0)), float(entry.get("offset", 0.0))
        except (TypeError, ValueError):
            raise InputError(f"{what}: scale and offset must be numbers", path=path) from None
        return cls(entry["column"].strip(), file_units(units) if units else "", scale, offset)


@dataclass
class TableMap:
    """How to read one delimited text file (see the module docstring for each key).

    Parameters
    ----------
    time
        The time column, or several columns joined with a space (date and time apart).
    columns
        The columns to read, by the caller's name for them.
    optional
        Keys of ``columns`` that may be absent from the file (then absent from the
        :class:`Table`'s ``values``).
    """

    time: str | tuple[str, ...] = "time"
    time_format: str = "auto"
    date: str = ""
    timezone: str = "UTC"
    ms_column: str = ""
    separator: str = "auto"
    decimal: str = "."
    comment: str = ""
    skiprows: int = 0
    missing: tuple[str, ...] = ()
    columns: dict[str, Column] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, spec: Mapping, columns: Mapping[str, str] | Iterable[str] = (),
                  path: str | Path | None = None) -> TableMap:
        """The map of one TOML table: the :data:`TABLE_KEYS` it has, and the ``columns`` keys
        it names (a mapping gives each column's default units). Other keys are the caller's
        to check.

        Raises
        ------
        InputError
            A key of the wrong type or a time format, date or time zone that cannot be used.
        """
        defaults = dict(columns) if isinstance(columns, Mapping) else dict.fromkeys(columns, "")
        kw: dict = {}
        for key in TABLE_KEYS:
            if key not in spec:
                continue
            value = spec[key]
            if key == "time":
                if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                    value = tuple(v.strip() for v in value)
                elif not isinstance(value, str):
                    raise InputError("time: expected a column header or a list of headers "
                                     '(time = ["Date_UTC", "Time_UTC"])', path=path)
            elif key == "skiprows":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InputError("skiprows: expected a whole number of lines >= 0",
                                     path=path)
            elif key == "missing":
                if not isinstance(value, list):
                    value = [value]
                value = tuple(str(v) for v in value)
            elif not isinstance(value, str):
                raise InputError(f"{key}: expected text, got {value!r}", path=path)
            kw[key] = value
        cols = {key: Column.from_entry(spec[key], key, path, units)
                for key, units in defaults.items() if key in spec and spec[key] != ""}
        tmap = cls(columns=cols, **kw)
        tmap.check(path)
        return tmap

    def check(self, path: str | Path | None = None) -> None:
        """Raise :class:`InputError` for a date or time zone that cannot be read."""
        if self.date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.date.strip()):
            raise InputError(f"date: expected YYYY-MM-DD, got {self.date!r}", path=path)
        tzinfo_of(self.timezone, path)

    @property
    def time_columns(self) -> tuple[str, ...]:
        """The time column(s) as a tuple."""
        return (self.time,) if isinstance(self.time, str) else tuple(self.time)

    @property
    def boot_time(self) -> bool:
        """Whether times are the vehicle's clock (``boot_ms``, ``boot_s``), not UTC."""
        return self.time_format in ("boot_ms", "boot_s")


@dataclass
class Table:
    """What :func:`read_table` read.

    Attributes
    ----------
    time_ms
        Row times in ms: UNIX time (UTC) or, with a ``boot_*`` format, vehicle time; NaN
        where the time could not be read.
    values
        Each mapped column as floats (NaN where missing), ``number * scale + offset``.
    units
        The units of each mapped column (empty: none given).
    lines
        The file line (1-based) of each row.
    headers
        The file's column headers.
    bad_times, bad_lines
        Rows whose time could not be read, and their lines.
    skipped_lines
        Lines with more fields than the header, skipped.
    missing
        Missing cells among the mapped columns.
    notes
        What was assumed or found, one line per kind of problem.
    """

    path: Path
    time_ms: np.ndarray
    utc: bool
    values: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    headers: list[str] = field(default_factory=list)
    bad_times: int = 0
    bad_lines: list[int] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    missing: int = 0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time_ms)

    @property
    def time(self) -> np.ndarray:
        """Row times as ``datetime64[ns]`` UTC (NaT where unknown).

        Raises
        ------
        ValueError
            For vehicle times (``boot_*`` formats), which are not UTC.
        """
        if not self.utc:
            raise ValueError("the table's times are vehicle times, not UTC")
        ns = np.where(np.isfinite(self.time_ms), self.time_ms * 1e6, 0).astype("int64")
        out = ns.astype("datetime64[ns]")
        out[~np.isfinite(self.time_ms)] = np.datetime64("NaT")
        return out

    def get(self, key: str, units: str | None = None) -> np.ndarray:
        """A column's values, converted to ``units`` when given (the column's own units
        are taken as they are when it has none).

        Raises
        ------
        KeyError
            For a column that was not mapped.
        InputError
            If the column's units do not convert to ``units``.
        """
        values = self.values[key]
        have = self.units.get(key, "")
        if not units or not have:
            return values
        try:
            return convert_units(values, have, units)
        except ValueError as err:
            raise InputError(f"column {key!r}: {err}", path=self.path) from None


def load_map_file(path: str | Path, what: str = "column map") -> dict:
    """The TOML document of a map file.

    Raises
    ------
    InputError
        If the file cannot be read or is not TOML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise InputError(f"cannot read {what}: {err.strerror or err}", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path=path) from None


def map_ranges(path: str | Path) -> dict[str, tuple]:
    """The ``[ranges]`` table of a map file: plausible ranges per quantity key, beyond which
    paired samples are flagged ``out_of_range`` (kept, not gridded)::

        [ranges]
        ch4 = [1.5, 50]                                # in the quantity's units (ppm)
        so2 = [0, 20, "ppm"]                           # or with units
        temperature = { low = -10, high = 45, units = "degC" }

    Returns ``{key: (low, high[, units])}`` (``{}`` without a table), shaped but not yet
    checked: :func:`dronesense.flight.plausible.check_ranges` checks the values and units.

    Raises
    ------
    InputError
        If the file cannot be read, or an entry is not a list or table of that shape.
    """
    doc = load_map_file(path, "map")
    table = doc.get("ranges", {})
    if not isinstance(table, dict):
        raise InputError("[ranges]: expected a table of quantity = [low, high, units]",
                         path=path)
    out: dict[str, tuple] = {}
    for key, entry in table.items():
        if isinstance(entry, dict):
            unknown = set(entry) - {"low", "high", "units"}
            if unknown or not {"low", "high"} <= set(entry):
                raise InputError(f"[ranges] {key}: expected {{ low = ..., high = ..., units = "
                                 f'"..." }}, got {entry!r}', path=path)
            entry = [entry["low"], entry["high"], *([entry["units"]] if "units" in entry
                                                   else [])]
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise InputError(f'[ranges] {key}: expected [low, high] or [low, high, "units"], '
                             f"got {entry!r}", path=path)
        out[key] = tuple(entry)
    return out


# ---------------------------------------------------------------------------------------------
# reading


def read_table(path: str | Path, tmap: TableMap) -> Table:
    """Read a delimited text file (any extension) through a map.

    Rows whose time cannot be read are kept with ``time_ms`` NaN (counted in ``bad_times``,
    their lines in ``bad_lines``): the caller decides what to do with them.

    Raises
    ------
    InputError
        If the file cannot be read, has no data rows, lacks a mapped column (the message
        names the closest headers, and a comment character the map should give), or its
        times cannot be read with the map (a time of day without ``date``).
    """
    import pandas as pd

    path = Path(path)
    tmap.check(path)
    notes: list[str] = []
    text_lines, numbers = _data_lines(path, tmap, notes)
    if not text_lines:
        raise InputError("no header line (the file is empty, or all comment lines)", path=path)
    sep = _separator(text_lines, tmap.separator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(io.StringIO("\n".join(text_lines)), sep=sep, dtype=str,
                             keep_default_na=False, skipinitialspace=True,
                             on_bad_lines="warn", skip_blank_lines=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
            raise InputError(f"cannot parse as a table: {str(err).strip()}", path=path) from None
    bad = sorted({int(n) for w in caught
                  for n in re.findall(r"Skipping line (\d+)", str(w.message))})
    skipped = [numbers[n - 1] for n in bad if 0 < n <= len(numbers)]
    df.columns = [str(c).strip() for c in df.columns]
    _check_columns(df.columns.tolist(), tmap, text_lines[0], path)
    if not len(df):
        raise InputError("the file has a header but no data rows", path=path)
    badset = set(bad)
    lines = np.array([numbers[j] for j in range(1, len(numbers)) if (j + 1) not in badset])
    if len(lines) != len(df):  # quoted line breaks: count rows instead
        lines = np.arange(len(df)) + numbers[0] + 1
    if skipped:
        notes.append(f"{len(skipped)} line(s) with more fields than the header skipped "
                     f"({_lines_text(skipped)})")
    markers = set(DEFAULT_MISSING) | set(tmap.missing)
    time_ms = row_times(df, tmap, markers, path, notes)
    bad_t = ~np.isfinite(time_ms)
    table = Table(path=path, time_ms=time_ms, utc=not tmap.boot_time, lines=lines,
                  headers=df.columns.tolist(), bad_times=int(bad_t.sum()),
                  bad_lines=lines[bad_t].tolist(), skipped_lines=skipped, notes=notes)
    for key, col in tmap.columns.items():
        if col.header not in df.columns:  # an optional column
            continue
        raw = to_float(df[col.header], tmap.decimal, markers)
        table.missing += int(np.isnan(raw).sum())
        table.values[key] = raw * col.scale + col.offset if (col.scale != 1.0
                                                              or col.offset) else raw
        table.units[key] = col.units
    return table


def _data_lines(path: Path, tmap: TableMap, notes: list[str]) -> tuple[list[str], list[int]]:
    """The header and data lines (no skipped, comment or blank lines) and their numbers."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=path) from None
    if b"\x00" in raw[:4096]:
        raise InputError("not a text file (binary content)", path=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        notes.append("not UTF-8: read as Latin-1")
    out, numbers = [], []
    comment = tmap.comment
    for i, line in enumerate(text.splitlines()[tmap.skiprows:], start=tmap.skiprows + 1):
        stripped = line.strip()
        if not stripped or (comment and stripped.startswith(comment)):
            continue
        out.append(line)
        numbers.append(i)
    return out, numbers


def _separator(lines: list[str], wanted: str) -> str:
    """The field separator: the map's, or the one the header and first rows agree on."""
    if wanted != "auto":
        return _SEPARATORS.get(wanted, wanted)
    sample = lines[:50]
    header = sample[0]
    best, best_score = None, None
    for sep in (",", ";", "\t", "|"):
        h = _count_fields(header, sep)
        if h == 0:
            continue
        rows = [_count_fields(line, sep) for line in sample[1:]]
        agree = sum(r == h for r in rows) / len(rows) if rows else 1.0
        score = (agree, h)
        if best_score is None or score > best_score:
            best, best_score = sep, score
    if best is not None:
        return best
    return r"\s+" if len(header.split()) > 1 else ","


def _count_fields(line: str, sep: str) -> int:
    """Separators in a line outside quotes."""
    try:
        return len(next(csv.reader([line], delimiter=sep))) - 1
    except (csv.Error, StopIteration):
        return line.count(sep)


def _check_columns(headers: list[str], tmap: TableMap, first_line: str, path: Path) -> None:
    needed = [*tmap.time_columns, *(c.header for k, c in tmap.columns.items()
                                    if k not in tmap.optional)]
    if tmap.ms_column:
        needed.append(tmap.ms_column)
    absent = list(dict.fromkeys(c for c in needed if c not in headers))
    if not absent:
        return
    hints = []
    for c in absent:
        close = difflib.get_close_matches(c, headers, n=1, cutoff=0.6)
        if close:
            hints.append(f"{c!r}: did you mean {close[0]!r}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    lead = first_line.lstrip()[:1]
    if not tmap.comment and lead and not lead.isalnum() and lead not in "\"'_":
        hint += (f"; the header line starts with {lead!r}: if such lines are comments, give "
                 f"comment = \"{lead}\" (and skiprows for title lines)")
    shown = ", ".join(headers[:12]) + (", ..." if len(headers) > 12 else "")
    raise InputError(f"column(s) {', '.join(map(repr, absent))} not in the file{hint} "
                     f"(it has: {shown})", path=path)


def _lines_text(lines: list[int], at_most: int = 10) -> str:
    head = ", ".join(map(str, lines[:at_most]))
    return f"line{'s' if len(lines) > 1 else ''} {head}" + (", ..." if len(lines) > at_most
                                                            else "")
