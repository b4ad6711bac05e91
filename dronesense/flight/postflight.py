"""Post-flight pairing: any flight log -> events -> lags -> the pairing engine -> samples.

:func:`~dronesense.sources.logs.load_events` opens a log by its type and reduces it to flight events
(:mod:`dronesense.events`), keeping every good message and reporting every skipped byte
range:

=====================  ==============================================================
``.tlog``              :func:`dronesense.sources.tlogscan.scan_tlog` (vectorised), messages
                       translated by :class:`dronesense.sources.messages.MessageAdapter`;
                       a file larger than ``chunk_bytes`` (64 MiB) read in slices
                       (:func:`dronesense.sources.tlogchunks.load_tlog_chunked`)
session directory      its ``flight.tlog``, as above, with the serial payload readings of
                       its ``payload.csv`` interleaved as the listener pushed them
``.bin``               :func:`dronesense.sources.dataflash.read_dataflash`
``.csv``               :func:`dronesense.sources.csvtrack.read_csv_track` (needs a column map)
=====================  ==============================================================

:func:`pair_logs` then, per log (:func:`pair_log`), splits the events by vehicle boot
(:mod:`dronesense.flight.boots`), estimates the lags asked for (:func:`log_lags`: per boot
segment, combined by inverse variance), and pushes the events through one
:class:`dronesense.flight.pipeline.Pipeline`: the same driver the live listener uses, so the
same messages give the same samples whichever path they came by. The
:class:`~dronesense.flight.summary.Summary` says what was found: duration, vehicles, samples
per quantity, paired fraction, gaps, reboots, lags and every skipped region.

Examples
--------
>>> from dronesense.datasets import sample_flight
>>> rows, summary = pair_logs([sample_flight()], lags={"ch4": "auto"})
>>> len(rows), summary.vehicles, f"{summary.paired_fraction:.3f}"
(2882, [1], '0.999')
>>> lag, uncertainty, how = summary.lags["ch4"]
>>> round(lag, 1), how
(0.9, 'estimated by centroid, 9 plume crossings')
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from dronesense.errors import NoUsableDataError
from dronesense.flight.boots import (
    Boots,
    estimate_boots_lag,
    split_boots,
    split_boots_columns,
    track_stats,
)
from dronesense.flight.columns import SampleColumns
from dronesense.flight.lag import split_lags
from dronesense.flight.maxgap import track_max_gap
from dronesense.flight.pipeline import Pipeline
from dronesense.flight.plausible import ranges_in_force
from dronesense.flight.rows import SampleRow
from dronesense.flight.summary import Summary, clock_lines
from dronesense.quantities import NameTable
from dronesense.sources.logs import LogEvents, Progress, load_events
from dronesense.sources.tlogchunks import CHUNK_BYTES, load_tlog_chunked

__all__ = ["Summary", "clock_lines", "log_lags", "pair_log", "pair_logs"]


class _Counted(list):
    """What stands for a log's events once its columns are paired: their number only."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return self.n > 0


def log_lags(boots: Boots, declared: Mapping[str, float], auto: set[str], auto_all: bool,
             summary: Summary, path: str | Path, *, wanted: set[str] | None = None,
             lag_options: dict | None = None) -> dict[str, float]:
    """The lags to pair one log with: the declared ones, with those asked for estimated from
    the log's readings (:func:`~dronesense.flight.boots.estimate_boots_lag`) where the
    estimate succeeds; every estimate (or why there is none) goes to ``summary``.

    Parameters
    ----------
    boots
        The log split by vehicle boot (:func:`~dronesense.flight.boots.split_boots`).
    declared, auto, auto_all
        Declared lags (s) by quantity key, the keys to estimate, whether to estimate all
        (:func:`~dronesense.flight.lag.split_lags`).
    summary, path
        Where to note the estimates, and the log's name in its warnings.
    wanted
        Only these quantity keys are estimated (all if ``None``).
    lag_options
        Extra keyword arguments for :func:`dronesense.flight.lag.estimate_lag`.
    """
    present = boots.quantities()
    to_estimate = present if auto_all else auto & present
    if wanted is not None:
        to_estimate &= wanted
    lags = dict(declared)
    for key in sorted(to_estimate):
        est = estimate_boots_lag(boots, key, **(lag_options or {}))
        if est.ok:
            lags[key] = est.lag_s
        summary.add_lag(path, key, est)
    for key in sorted(auto - present):
        summary.warnings.append(f"{path}: lag of {key} not estimated: no {key} readings")
    return lags


def pair_log(log: LogEvents, *, names: NameTable, declared: Mapping[str, float],
             auto: set[str], auto_all: bool, max_gap_s: float | None, summary: Summary,
             path: str | Path | None = None, wanted: set[str] | None = None,
             progress: Progress | None = None, lag_options: dict | None = None,
             as_columns: bool = False, ranges: Mapping | None = None
             ) -> list[SampleRow] | SampleColumns:
    """The rows of one log already read (:func:`~dronesense.sources.logs.load_events`): its
    lags, then every event through one :class:`~dronesense.flight.pipeline.Pipeline`; what
    was found goes to ``summary`` (see :func:`pair_logs` for the parameters). A log read as
    event columns is paired from them and they are let go (``log.columns`` is then ``None``
    and ``log.events`` keeps only their number): the memory of a big log."""
    path = log.path if path is None else path
    summary.add_log(path, log)
    if not log.events:
        return SampleColumns.empty() if as_columns else []
    if log.sensors:
        names = names.copy()
        for sensor in log.sensors:
            names.add_sensor(sensor)
    boots = split_boots_columns(log.columns, names) if log.columns is not None else None
    if boots is None:
        boots = split_boots(log.events, names)
    # fitted to the rate of a slow instrument file (autopilot logs keep the gap given)
    max_gap_s, gap_note = track_max_gap(boots, max_gap_s, raise_short=log.kind == "csv")
    if gap_note:
        summary.warnings.append(f"{path}: {gap_note}")
    summary.add_track(boots, track_stats(boots, max_gap_s))
    lags = log_lags(boots, declared, auto, auto_all, summary, path, wanted=wanted,
                    lag_options=lag_options)
    del boots  # the per-boot copies of the events, not needed to pair (memory of big logs)
    pipe = Pipeline(names, max_gap_s, lags, ranges=ranges)
    if log.columns is not None:  # a tlog as arrays: the same rules at once, the same rows
        columns, log.columns = log.columns, None  # let go as they are paired (memory)
        log.events = _Counted(len(log.events))
        cols = pipe.run_arrays(columns, release=True)
        del columns
        summary.add_vehicles(path, pipe.pairer.states)
        if wanted is not None:
            cols = cols.select(np.isin(cols.column("quantity").astype(str), sorted(wanted)))
        return cols if as_columns else cols.rows()
    rows = pipe.run(log.events, progress, label=f"pair {Path(path).name}")
    summary.add_vehicles(path, pipe.pairer.states)
    if wanted is not None:
        rows = [r for r in rows if r.quantity in wanted]
    return SampleColumns.from_rows(rows) if as_columns else rows


def pair_logs(
    paths: Sequence[str | Path],
    *,
    names: NameTable | None = None,
    lags: Mapping[str, float | str] | str | None = None,
    auto: set[str] | None = None,
    auto_all: bool = False,
    max_gap_s: float | None = None,
    quantities: Sequence[str] | None = None,
    csv_map=None,
    record_map: dict | None = None,
    progress: Progress | None = None,
    lag_options: dict | None = None,
    as_columns: bool = False,
    key: bytes | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    ranges: Mapping | None = None,
) -> tuple[list[SampleRow] | SampleColumns, Summary]:
    """Pair the readings of one or more logs with their positions.

    Parameters
    ----------
    paths
        Logs (each paired on its own: no pairing across files).
    names
        Wire name -> quantity table.
    lags
        Lag per quantity key: seconds, or ``"auto"`` to estimate it from the data; or the
        string ``"auto"`` to estimate every lag (:func:`dronesense.flight.lag.split_lags`).
        An estimate that fails leaves the declared lag (or none) and adds a warning.
    auto, auto_all
        More quantities whose lag is estimated (all of them with ``auto_all``): the older
        spelling of ``lags={"ch4": "auto"}`` and ``lags="auto"``.
    max_gap_s
        Longest time between fixes that still gives a position; ``None``: 2.5 times the
        track's median fix interval, at least 1 s. For a CSV track, a value shorter than 1.5
        intervals is raised to that, with a warning
        (:func:`~dronesense.flight.maxgap.track_max_gap`).
    quantities
        Keep only rows of these quantity keys (all if omitted).
    csv_map, record_map
        Column mapping for CSV tracks (a :class:`~dronesense.sources.csvtrack.CsvMap` or the
        path of its file; its ``[ranges]`` apply), custom record mapping for DataFlash logs.
    progress
        ``progress(description, done, total)``.
    lag_options
        Extra keyword arguments for :func:`dronesense.flight.lag.estimate_lag`.
    as_columns
        Give the rows as :class:`~dronesense.flight.columns.SampleColumns` (the same rows,
        without a Python object each: what the writers of big logs take).
    key
        MAVLink 2 signing key: only the validly signed packets of a tlog or session are
        paired (unsigned, forged and replayed ones are left out and counted in the warnings),
        as the live listener does with the same key.
    chunk_bytes
        A tlog larger than this is read in slices of this many bytes
        (:func:`~dronesense.sources.tlogchunks.scan_tlog_chunked`: the same samples, with
        memory set by the positions and readings kept rather than by the file).
    ranges
        Plausible ranges by quantity key, ``(low, high)`` in the quantity's units or
        ``(low, high, units)``: paired samples outside are kept and flagged ``out_of_range``.
        They replace the defaults and the ``csv_map``'s ``[ranges]`` quantity by quantity;
        ``None``: those of the enclosing :func:`~dronesense.flight.plausible.using_ranges`
        block, if any (:func:`~dronesense.flight.plausible.ranges_in_force`).

    Returns
    -------
    rows, summary

    Raises
    ------
    NoUsableDataError
        If no log gave a single usable reading, with the reason.
    ParameterError
        For a lag that is neither seconds nor ``"auto"``, or a range that is not one
        (:func:`~dronesense.flight.plausible.check_ranges`).
    """
    table: Mapping = {}
    if csv_map is not None:  # its [ranges] apply
        from dronesense.sources.csvtrack import CsvMap, load_csv_map

        if isinstance(csv_map, str | Path):
            csv_map = load_csv_map(csv_map)
        table = getattr(csv_map, "ranges", None) or {}
    ranges = ranges_in_force(ranges, table=table)
    if ranges is not None and csv_map is not None and isinstance(csv_map, CsvMap):
        csv_map = replace(csv_map, ranges=ranges)  # its notes quote the ranges in force
    names = names if names is not None else NameTable.default()
    declared, more_auto, more_all = split_lags(lags)
    auto = set(auto or ()) | more_auto
    auto_all = auto_all or more_all
    summary = Summary()
    rows: list = []
    wanted = set(quantities) if quantities else None
    reasons = []
    for path in paths:
        log = None
        if key is None and csv_map is None:  # a big tlog: in slices, the same events
            log = load_tlog_chunked(path, chunk_bytes=chunk_bytes, progress=progress)
        if log is None:
            log = load_events(path, csv_map=csv_map, record_map=record_map, progress=progress,
                              key=key)
        if not log.events:
            reasons.append(f"{path}: no positions, readings or clock messages")
        arrays = log.columns is not None
        out = pair_log(log, names=names, declared=declared, auto=auto, auto_all=auto_all,
                       max_gap_s=max_gap_s, summary=summary, path=path, wanted=wanted,
                       progress=progress, lag_options=lag_options, as_columns=as_columns,
                       ranges=ranges)
        if log.events and not len(out):
            reasons.append(f"{path}: no sensor readings"
                           + (f" of {', '.join(sorted(wanted))}" if wanted else ""))
        del log
        if as_columns and arrays:  # few objects: the pairing engine's cycles, which would
            gc.collect()  # hold a big log's track until collected
        if as_columns:
            rows.append(out)
        else:
            rows.extend(out)
    if as_columns:
        rows = SampleColumns.concat(rows)
    for key, val in declared.items():
        summary.lags.setdefault(key, (val, float("nan"), "declared"))
    summary.add_rows(rows)
    if not len(rows):
        raise NoUsableDataError("nothing usable: " + "; ".join(reasons or ["no readings"]))
    return rows, summary
