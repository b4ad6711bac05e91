"""Sample rows: the paired readings, as the ``samples.csv`` journal and as a CF Dataset.

A :class:`SampleRow` is one sensor reading with the vehicle position at the moment the air was
sampled (see :mod:`dronesense.pairing`). Rows are written to the journal as they are produced
(:class:`JournalWriter`), read back with :func:`read_journal`, and turned into a CF
``featureType = "trajectory"`` :class:`xarray.Dataset` with :func:`to_dataset` (and back with
:func:`from_dataset`). :func:`read_rows` and :func:`load_dataset` read any samples input: a
session directory (its journal), a samples ``.csv``, ``.nc`` or ``.parquet``. The column list
is the samples schema of ``docs/architecture.md``; the writers of every format are in
:mod:`dronesense.export`.

Examples
--------
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.1, 5.2, 40.5, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> format_row(row)
['2024-05-01T10:00:00.000000Z', '1000', '0', '1', '52.1', '5.2', '40.5', '30', 'ch4', \
'CH4', '1.9', '1e-6', '0.1', '0', 'sync']
>>> parse_row(format_row(row)) == row
True
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dronesense.errors import InputError

__all__ = [
    "COLUMNS",
    "FLAG_MEANINGS",
    "SAMPLE_SUFFIXES",
    "Flag",
    "JournalWriter",
    "SampleRow",
    "format_row",
    "format_utc",
    "from_dataset",
    "load_dataset",
    "parse_row",
    "read_journal",
    "read_rows",
    "to_dataset",
]


class Flag:
    """Quality flag values of a sample (the ``flag`` column)."""

    PAIRED = 0
    GAP = 1
    BEFORE_TRACK = 2
    AFTER_TRACK = 3
    NO_FIX = 4
    REBOOT = 5


#: ``flag_meanings`` in flag order (CF attribute).
FLAG_MEANINGS = ("paired", "position_gap", "before_track", "after_track", "no_gps_fix", "reboot")


class SampleRow(NamedTuple):
    """One paired reading; fields are the journal columns.

    Times and the position refer to the moment the air was sampled: the reading's vehicle
    time minus the quantity's lag (equal to the wire time when no lag is set). Missing values
    (position of an unpaired reading, UTC before the clock is known) are ``None``.
    ``time_source`` says where ``time_utc`` came from: ``sync`` (the vehicle clock mapped to
    UTC by SYSTEM_TIME), ``receive`` (no clock sync for that boot: the ground receive time of
    the reading) or empty (unknown).
    """

    time_utc: str | None
    time_boot_ms: float
    boot: int
    sysid: int
    lat: float | None
    lon: float | None
    alt_amsl: float | None
    height: float | None
    quantity: str
    name: str
    value: float
    units: str
    position_gap: float | None
    flag: int
    time_source: str


#: Journal columns, in order.
COLUMNS: tuple[str, ...] = SampleRow._fields

_FLOAT_COLS = {"time_boot_ms", "lat", "lon", "alt_amsl", "height", "value", "position_gap"}
_INT_COLS = {"boot", "sysid", "flag"}


_EPOCH = datetime(1970, 1, 1)
_utc_prefix_cache: dict[int, str] = {}


def format_utc(unix_us: int) -> str:
    """ISO 8601 UTC with microseconds and ``Z`` from integer UNIX microseconds.

    Examples
    --------
    >>> format_utc(1_714_557_600_123_456)
    '2024-05-01T10:00:00.123456Z'
    >>> format_utc(-1)
    '1969-12-31T23:59:59.999999Z'
    """
    sec, us = divmod(int(unix_us), 1_000_000)
    prefix = _utc_prefix_cache.get(sec)
    if prefix is None:  # one strftime per second of data, not per sample
        if len(_utc_prefix_cache) > 4096:
            _utc_prefix_cache.clear()
        prefix = _utc_prefix_cache[sec] = (
            (_EPOCH + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{prefix}.{us:06d}Z"


def _fmt(value) -> str:
    if value is None:
        return ""
    t = type(value)
    if t is str:
        return value
    if t is int:
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def format_row(row: SampleRow) -> list[str]:
    """The journal fields of a row (shortest round-tripping text for floats)."""
    return [_fmt(v) for v in row]


def parse_row(fields: Sequence[str]) -> SampleRow:
    """A :class:`SampleRow` from journal fields (inverse of :func:`format_row`)."""
    if len(fields) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} fields, got {len(fields)}")
    out = []
    for col, text in zip(COLUMNS, fields, strict=True):
        if col in _FLOAT_COLS:
            out.append(float(text) if text else None)
        elif col in _INT_COLS:
            out.append(int(text))
        elif col == "time_utc":
            out.append(text or None)
        else:
            out.append(text)
    return SampleRow(*out)


class JournalWriter:
    """Append sample rows to ``samples.csv``; header first, flushed on demand.

    Parameters
    ----------
    path
        The journal file (created or truncated).

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

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fh = open(self.path, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(COLUMNS)
        self.rows = 0

    def write(self, rows: Iterable[SampleRow]) -> None:
        """Append rows (buffered until :meth:`flush`)."""
        lines = [[_fmt(v) for v in row] for row in rows]
        self._csv.writerows(lines)
        self.rows += len(lines)

    def flush(self) -> None:
        """Hand buffered rows to the operating system."""
        self._fh.flush()

    def close(self) -> None:
        """Flush and close."""
        if not self._fh.closed:
            self._fh.flush()
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
        If the file is missing or its header is not the samples schema.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "samples.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read journal: {err.strerror or err}", path=path) from None
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


def _var_name(quantity: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in quantity) or "unnamed"
    return name if name[0].isalpha() else f"q_{name}"


def to_dataset(rows: Sequence[SampleRow], names=None, *, history: str = "", source: str = ""):
    """Sample rows as a CF trajectory :class:`xarray.Dataset` (dimension ``obs``).

    Parameters
    ----------
    rows
        Sample rows, e.g. from :func:`read_journal` or a :class:`~dronesense.pairing.Pairer`.
    names
        A :class:`~dronesense.quantities.NameTable` for quantity metadata (default table if
        omitted). Quantities it does not know get a ``long_name`` naming the wire name.
    history, source
        Global attributes recording how the data were made.

    Examples
    --------
    >>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000, 0, 1, 52.0, 5.0, 40.0, 30.0,
    ...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
    >>> ds = to_dataset([row])
    >>> ds.attrs["featureType"], ds["ch4"].attrs["units"], float(ds["ch4"][0])
    ('trajectory', '1e-6', 1.9)
    """
    import xarray as xr

    from dronesense import __version__
    from dronesense.quantities import NameTable

    names = names if names is not None else NameTable.default()
    n = len(rows)

    def col(name, dtype=float):
        k = COLUMNS.index(name)
        if dtype is float:
            return np.array([np.nan if r[k] is None else r[k] for r in rows], dtype=float)
        return np.array([r[k] for r in rows], dtype=dtype)

    times = np.array(
        [np.datetime64(r.time_utc[:-1], "us") if r.time_utc else np.datetime64("NaT", "us")
         for r in rows],
        dtype="datetime64[us]",
    ).astype("datetime64[ns]")
    flag_values = np.arange(len(FLAG_MEANINGS), dtype=np.int8)
    ds = xr.Dataset(
        coords={
            "time": ("obs", times, {"standard_name": "time", "long_name": "time of sampling"}),
            "lat": ("obs", col("lat"), {"standard_name": "latitude", "units": "degrees_north",
                                        "long_name": "latitude"}),
            "lon": ("obs", col("lon"), {"standard_name": "longitude", "units": "degrees_east",
                                        "long_name": "longitude"}),
            "altitude": ("obs", col("alt_amsl"), {
                "standard_name": "altitude", "units": "m", "positive": "up",
                "long_name": "altitude above mean sea level"}),
        },
        data_vars={
            "time_boot_ms": ("obs", col("time_boot_ms"), {
                "long_name": "vehicle time since boot", "units": "ms"}),
            "boot": ("obs", col("boot", np.int32), {"long_name": "boot number of the vehicle"}),
            "sysid": ("obs", col("sysid", np.int32), {
                "long_name": "MAVLink system id", "cf_role": "trajectory_id"}),
            "height": ("obs", col("height"), {
                "long_name": "height above home", "units": "m", "positive": "up"}),
            "position_gap": ("obs", col("position_gap"), {
                "long_name": "time between the fixes used for the position", "units": "s"}),
            "flag": ("obs", col("flag", np.int8), {
                "long_name": "pairing quality flag", "flag_values": flag_values,
                "flag_meanings": " ".join(FLAG_MEANINGS)}),
            "name": ("obs", col("name", object), {
                "long_name": "name of the reading as it came over the link"}),
            "time_source": ("obs", col("time_source", object), {
                "long_name": "where the time came from: sync (vehicle clock and "
                             "SYSTEM_TIME), receive (ground receive time) or empty"}),
        },
    )
    quantity = col("quantity", object)
    value = col("value")
    for key in dict.fromkeys(quantity.tolist()):
        mask = quantity == key
        data = np.where(mask, value, np.nan)
        known = names.quantities.get(key)
        if known is not None:
            attrs = known.attrs()
        else:
            first = next(r for r in rows if r.quantity == key)
            attrs = {"long_name": f"unmapped reading {first.name!r}", "units": first.units}
        attrs["coordinates"] = "time lat lon altitude"
        attrs["ancillary_variables"] = "flag position_gap"
        ds[_var_name(key)] = ("obs", data, attrs)
    ds.attrs.update({
        "Conventions": "CF-1.11, ACDD-1.3",
        "featureType": "trajectory",
        "title": "dronesense paired samples",
        "history": history or f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} dronesense samples",
        "source": source or "MAVLink telemetry",
        "dronesense_version": __version__,
    })
    ds.time.encoding["units"] = "microseconds since 1970-01-01"
    if n == 0:
        ds.attrs["comment"] = "no samples"
    return ds


def from_dataset(ds) -> list[SampleRow]:
    """Sample rows from a samples Dataset (the :func:`to_dataset` form, e.g. a samples ``.nc``).

    The wire ``name`` and ``time_source`` come from their variables; a Dataset without them
    (written before they were stored) gives the quantity key as ``name`` and an empty
    ``time_source``. A row whose value is NaN in every quantity variable is left out (its
    quantity cannot be told).

    Examples
    --------
    >>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000.0, 0, 1, 52.0, 5.0, 40.0, 30.0,
    ...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
    >>> from_dataset(to_dataset([row])) == [row]
    True
    """
    qvars = [v for v in ds.data_vars
             if ds[v].dims == ("obs",) and ds[v].attrs.get("ancillary_variables")]
    n = ds.sizes.get("obs", 0)

    def arr(name):
        return (np.asarray(ds[name].values, dtype=float) if name in ds.variables
                else np.full(n, np.nan))

    def ints(name, default):
        return (ds[name].values.astype(int).tolist() if name in ds.variables
                else [default] * n)

    def texts(name):
        return ([str(x) if x is not None else "" for x in ds[name].values.tolist()]
                if name in ds.variables else None)

    lat, lon, alt, height = arr("lat"), arr("lon"), arr("altitude"), arr("height")
    gap, tb = arr("position_gap"), arr("time_boot_ms")
    boot, sysid, flag = ints("boot", 0), ints("sysid", 1), ints("flag", 0)
    wire, source = texts("name"), texts("time_source")
    times = ds["time"].values.astype("datetime64[us]") if "time" in ds.variables else None

    def opt(x):
        return None if not math.isfinite(x) else float(x)

    rows = []
    for v in qvars:
        vals = np.asarray(ds[v].values, dtype=float)
        units = str(ds[v].attrs.get("units", ""))
        for i in np.flatnonzero(np.isfinite(vals)).tolist():
            t = None
            if times is not None and not np.isnat(times[i]):
                t = format_utc(int(times[i].astype("int64")))
            rows.append((i, SampleRow(
                t, float(tb[i]), boot[i], sysid[i], opt(lat[i]), opt(lon[i]), opt(alt[i]),
                opt(height[i]), v, v if wire is None else wire[i], float(vals[i]), units,
                opt(gap[i]), flag[i], "" if source is None else source[i])))
    rows.sort(key=lambda ir: ir[0])
    return [r for _, r in rows]


#: Suffixes of samples files (besides a session directory).
SAMPLE_SUFFIXES = (".csv", ".nc", ".parquet")


def _read_parquet(path: Path) -> list[SampleRow]:
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises its own error types
        raise InputError(f"cannot read samples: {err}", path=path) from None
    if not set(COLUMNS) <= set(df.columns):
        raise InputError("not a dronesense samples file (columns missing)", path=path)
    df = df[list(COLUMNS)].astype(object).where(df[list(COLUMNS)].notna(), None)
    return [SampleRow(*rec) for rec in df.itertuples(index=False, name=None)]


#: The netCDF-C / HDF5 libraries are not thread-safe: campaign gridding on dask threads reads
#: many samples files at once, so every read in this process goes through one lock.
_NETCDF_LOCK = threading.Lock()


def _open_netcdf(path: Path):
    import xarray as xr

    try:
        with _NETCDF_LOCK, xr.open_dataset(path) as ds:
            ds = ds.load()
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read samples: {err}", path=path) from None
    if "obs" not in ds.dims or "lat" not in ds.variables:
        raise InputError("not a dronesense samples file (no obs dimension / lat)", path=path)
    return ds


def _samples_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    if not path.is_dir() and path.suffix.lower() not in SAMPLE_SUFFIXES:
        raise InputError("not a samples input (expected a session directory or a samples "
                         ".csv, .nc or .parquet)", path=path)
    return path


def read_rows(path: str | Path) -> list[SampleRow]:
    """The rows of a samples input: a session directory (its ``samples.csv`` journal), a
    samples ``.csv`` journal, ``.nc`` (:func:`from_dataset`) or ``.parquet``.

    Raises
    ------
    InputError
        For a missing or unreadable file, or anything else than those inputs.
    """
    path = _samples_path(path)
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".csv":
        return read_journal(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    return from_dataset(_open_netcdf(path))


def load_dataset(path: str | Path):
    """The samples :class:`xarray.Dataset` of a samples input (see :func:`read_rows`).

    A ``.nc`` is returned as stored (its attributes kept); the other inputs go through
    :func:`to_dataset` with the path as ``source``.

    Raises
    ------
    InputError
        As :func:`read_rows`, and for an input holding no samples.
    """
    path = _samples_path(path)
    if not path.is_dir() and path.suffix.lower() == ".nc":
        return _open_netcdf(path)
    rows = read_rows(path)
    if not rows:
        raise InputError("holds no samples", path=path)
    return to_dataset(rows, source=str(path))
