"""Samples files: read any samples input (session folder, .csv journal, .nc, .parquet), or
pair flight logs, into sample rows or the CF samples Dataset.

:func:`load_dataset` is the one entry point for "anything -> samples Dataset": samples files
are read as they are, flight logs (``.tlog``, ``.bin``, a CSV track with its column map, a
session folder without journal) are paired by :func:`dronesense.flight.postflight.pair_logs`,
whose summary the Dataset keeps as text (attribute ``pairing_summary``).

Examples
--------
>>> from dronesense.datasets import sample_flight
>>> ds = load_dataset(sample_flight(), lags={"ch4": "auto"})
>>> ds.attrs["featureType"], int(ds["ch4"].count()) > 1000
('trajectory', True)
>>> print(ds.attrs["pairing_summary"].splitlines()[2])
  ch4: 1153 samples, 1151 paired (99.8%)
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

from dronesense.errors import InputError, ParameterError
from dronesense.flight.rows import COLUMNS, SampleRow
from dronesense.samples.dataset import from_dataset, to_dataset
from dronesense.samples.journal import read_journal
from dronesense.sources.session_folder import SessionFolder

#: Suffixes of samples files (besides a session directory).
SAMPLE_SUFFIXES = (".csv", ".nc", ".parquet")


def require_parquet(path: str | Path) -> None:
    """Check that pyarrow, which reads and writes Parquet, is installed.

    Raises
    ------
    InputError
        One line saying what to install (it is the ``parquet`` extra).
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'dronesense[parquet]' (or write "
                         ".nc or .csv)", path=path) from None


def _read_parquet(path: Path) -> list[SampleRow]:
    import pandas as pd

    require_parquet(path)
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

    from dronesense.samples.cfdecode import decode_strings, decode_times

    try:  # times and texts decoded with numpy where it can (see samples.cfdecode)
        with _NETCDF_LOCK, xr.open_dataset(path, decode_times=False,
                                           concat_characters=False) as raw:
            ds = decode_strings(raw.load())
            ds = decode_times(ds) if ds is not None else None
        if ds is None:
            with _NETCDF_LOCK, xr.open_dataset(path) as raw:
                ds = raw.load()
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
        try:
            rows = read_journal(path)
        except UnicodeDecodeError as err:
            raise InputError(f"not a samples journal: byte {err.start} is not UTF-8 text",
                             path=path) from None
        return _checked_times(rows, path)
    if suffix == ".parquet":
        return _read_parquet(path)
    return from_dataset(_open_netcdf(path))


def _utc_ok(text: str) -> bool:
    import numpy as np

    if not text.endswith("Z"):
        return False
    try:
        np.datetime64(text[:-1], "us")
    except ValueError:
        return False
    return True


def _checked_times(rows: list[SampleRow], path: Path) -> list[SampleRow]:
    """Rows whose ``time_utc`` is not an ISO 8601 UTC time keep their data without a UTC time
    (as a reading before the clock was known); a warning says how many and which."""
    bad = [k for k, r in enumerate(rows) if r.time_utc is not None and not _utc_ok(r.time_utc)]
    if not bad:
        return rows
    for k in bad:
        rows[k] = rows[k]._replace(time_utc=None)
    warnings.warn(f"{path}: {len(bad)} rows with a time_utc that is not an ISO 8601 UTC time "
                  f"(first: data row {bad[0] + 1}, {rows[bad[0]].name}) kept without a UTC "
                  "time", RuntimeWarning, stacklevel=3)
    return rows


def as_paths(path_or_paths) -> list[Path]:
    """One path or a sequence of paths as a list of :class:`~pathlib.Path`.

    Raises
    ------
    TypeError
        For anything but a path (``str`` / ``os.PathLike``) or a sequence of them.
    ValueError
        For an empty sequence.

    Examples
    --------
    >>> as_paths("a.tlog"), len(as_paths(["a.tlog", Path("b.bin")]))
    ([PosixPath('a.tlog')], 2)
    """
    if isinstance(path_or_paths, str | os.PathLike):
        return [Path(path_or_paths)]
    if isinstance(path_or_paths, bytes) or not isinstance(path_or_paths, Sequence):
        raise TypeError("expected a path or a sequence of paths, not "
                        f"{type(path_or_paths).__name__}")
    paths = []
    for p in path_or_paths:
        if not isinstance(p, str | os.PathLike):
            raise TypeError(f"expected a path, not {type(p).__name__}: {p!r}")
        paths.append(Path(p))
    if not paths:
        raise ValueError("no input paths given")
    return paths


def load_dataset(path_or_paths, *, quantities: Sequence[str] | None = None,
                 prefer_journal: bool = True, names=None, history: str = "", **pair_options):
    """The samples :class:`xarray.Dataset` of any input or inputs.

    Samples inputs (session folder with its journal, samples ``.csv`` / ``.nc`` /
    ``.parquet``) are read; flight logs (``.tlog``, ``.bin``, CSV track, session folder
    without journal, or with ``prefer_journal=False``) are paired (see
    :func:`read_sample_rows`, whose options this takes). A single ``.nc`` is returned as
    stored (its attributes kept) unless ``quantities`` selects some of it; everything else goes
    through :func:`to_dataset` with the input path(s) as ``source`` and, when logs were paired,
    the pairing summary as text lines in the ``pairing_summary`` attribute.

    Parameters
    ----------
    path_or_paths
        A path or a sequence of paths.
    quantities
        Keep only these quantity keys.
    prefer_journal
        Read a session folder's ``samples.csv`` rather than pairing its ``flight.tlog``.
    names
        A :class:`~dronesense.quantities.NameTable` (wire names -> quantities, metadata).
    history
        The Dataset's ``history`` attribute (default: when and by what it was made).
    **pair_options
        For logs: ``lags``, ``max_gap_s``, ``csv_map``, ``record_map``, ... of
        :func:`dronesense.flight.postflight.pair_logs`.

    Raises
    ------
    InputError
        For a missing or unreadable input, a log with nothing usable
        (:class:`~dronesense.errors.NoUsableDataError`), or no samples left.
    ParameterError
        ``ranges`` for samples paired before (they are applied while pairing).
    """
    paths = as_paths(path_or_paths)
    if len(paths) == 1 and not quantities:  # one samples input: pairing options do not apply
        path = paths[0]
        kind = samples_kind(path, prefer_journal=prefer_journal)
        if kind is not None and pair_options.get("ranges"):
            raise ParameterError("ranges", f"{path} holds samples paired before; give the "
                                 "flight log (or session folder) to pair it with these ranges")
        if kind == "netcdf":
            return _open_netcdf(path)
        if kind is not None:
            rows = read_rows(path)
            if not rows:
                raise InputError("holds no samples", path=path)
            return to_dataset(rows, names, source=str(path), history=history)
    rows, summary = read_sample_rows(paths, quantities=quantities,
                                     prefer_journal=prefer_journal, names=names,
                                     **pair_options)
    ds = to_dataset(rows, names, history=history, source=", ".join(map(str, paths)))
    if summary is not None:
        ds.attrs["pairing_summary"] = "\n".join(summary.lines())
    return ds


# ---------------------------------------------------------------------------------------------
# reading


def _is_journal(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline().strip()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=path) from None
    return tuple(first.split(",")) == COLUMNS


def samples_kind(path: str | Path, *, prefer_journal: bool = True) -> str | None:
    """``journal``, ``netcdf`` or ``parquet`` for a samples input, ``None`` for a flight log
    (a session directory counts as a journal when it has ``samples.csv`` and
    ``prefer_journal``)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    if path.is_dir():
        return ("journal" if prefer_journal and SessionFolder(path).samples.is_file()
                else None)
    suffix = path.suffix.lower()
    if suffix == ".nc":
        return "netcdf"
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".csv" and _is_journal(path):
        return "journal"
    return None


def read_sample_rows(paths: Sequence[str | Path], *, quantities: Sequence[str] | None = None,
                 prefer_journal: bool = True, **pair_options):
    """Sample rows from samples files and/or flight logs.

    Session directories give their ``samples.csv`` journal (the live samples; with
    ``prefer_journal=False``, or without a journal, their ``flight.tlog`` is paired again);
    samples ``.csv`` journals, ``.nc`` and ``.parquet`` are read as they are
    (:func:`dronesense.samples.files.read_rows`); every other path is a log paired by
    :func:`dronesense.flight.postflight.pair_logs` with ``pair_options`` (``names``, ``lags``,
    ``auto``, ``auto_all``, ``max_gap_s``, ``csv_map``, ``record_map``, ...).

    Returns
    -------
    rows, summary
        ``summary`` is the :class:`~dronesense.flight.postflight.Summary` of the paired logs, or
        ``None`` when no log was paired.

    Raises
    ------
    InputError
        For unreadable input, or when no rows (of ``quantities``) are left.
    """
    rows: list[SampleRow] = []
    logs = []
    for p in paths:
        if samples_kind(p, prefer_journal=prefer_journal) is None:
            logs.append(p)
        else:
            rows.extend(read_rows(p))
    summary = None
    if logs:
        from dronesense.flight.postflight import pair_logs

        log_rows, summary = pair_logs(logs, quantities=quantities, **pair_options)
        rows.extend(log_rows)
    if quantities:
        present = sorted({r.quantity for r in rows})
        wanted = set(quantities)
        rows = [r for r in rows if r.quantity in wanted]
        if not rows:
            raise InputError(f"no samples of {', '.join(sorted(wanted))} (present: "
                             f"{', '.join(present) or 'none'})")
    if not rows:
        raise InputError("no samples in " + ", ".join(map(str, paths)))
    return rows, summary
