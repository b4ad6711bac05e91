"""The functions of the top-level API that are more than a name for a stage's function.

:func:`read_samples` turns any input into the CF samples Dataset; :func:`estimate_flux` is
the flux estimate of :mod:`dronesense.products.flux.estimate` that, without a ``wind``, takes
the wind from the autopilot's ``WIND`` messages in the log the samples were read from.
Use them as ``dronesense.read_samples`` and ``dronesense.estimate_flux``.

Examples
--------
>>> import dronesense as ds
>>> samples = read_samples(ds.datasets.sample_flight(), lags={"ch4": "auto"})
>>> sorted(samples.dronesense.quantities)
['ch4', 'humidity', 'pm2p5', 'temperature']
>>> flux = estimate_flux(samples, "ch4", source=(50.9934, 6.9877))
>>> 4.0 < flux.emission < 6.0       # the simulated stack emits 5 g/s
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dronesense.errors import ParameterError

__all__ = ["estimate_flux", "read_samples", "read_wind", "wind_from_logs", "wind_from_source"]


def read_samples(path_or_paths, *, lags: Mapping[str, float | str] | str | None = None,
                 names=None, max_gap_s: float = 1.0, quantities: Sequence[str] | None = None,
                 csv_map=None, record_map: dict | None = None, prefer_journal: bool = True,
                 ranges: Mapping | None = None):
    """Samples of any input as the CF trajectory :class:`xarray.Dataset` (dimension ``obs``).

    Parameters
    ----------
    path_or_paths
        A path or a sequence of paths: a session folder (its ``samples.csv`` journal, or its
        ``flight.tlog`` paired again), a ``.tlog``, an ArduPilot DataFlash ``.bin``, a PX4
        ULog ``.ulg``, a CSV track (with ``csv_map``), or samples written before (``.csv``
        journal, ``.nc``, ``.parquet``). Logs are each paired on their own and the samples of
        all inputs joined.
    lags
        Sensor lags of the logs: ``{"ch4": 1.5}`` (seconds), ``{"ch4": "auto"}`` (estimated
        from the data), ``"auto"`` (estimate every quantity) or ``None``.
    names
        A :class:`~dronesense.quantities.NameTable` mapping wire names to quantities, or the
        path of a mapping file (default: the built-in table).
    max_gap_s
        Longest time (s) between two position fixes that still gives a sample a position.
    quantities
        Keep only these quantity keys (default: all).
    csv_map
        Column map of a CSV track (:func:`dronesense.sources.csvtrack.read_csv_track`): a
        :class:`~dronesense.sources.csvtrack.CsvMap` or the path of its TOML file, whose
        ``[ranges]`` table applies.
    record_map
        Custom DataFlash record mapping.
    prefer_journal
        Read a session folder's live journal rather than pairing its ``flight.tlog`` again.
    ranges
        Plausible ranges of the logs paired, by quantity key: ``{"ch4": (0, 100)}`` in the
        quantity's units (ppm) or ``{"temperature": (-30, 50, "degC")}``. Samples outside
        are kept and flagged ``out_of_range`` (6). They replace the defaults
        (:data:`dronesense.quantities.PLAUSIBLE_RANGES`) and the ``csv_map``'s ``[ranges]``
        quantity by quantity; ``None``: those of an enclosing
        :func:`dronesense.flight.plausible.using_ranges` block, if any. Samples files read
        as they are keep their flags.

    Returns
    -------
    xarray.Dataset
        One variable per quantity (CF units and standard names), ``time``/``lat``/``lon``/
        ``altitude`` coordinates, ``flag``, ``height``, ... (``docs/conventions.md``). The
        ``source`` attribute names the inputs; when logs were paired, ``pairing_summary``
        holds the pairing summary (duration, paired fraction, clock, lags) as text lines.

    Raises
    ------
    InputError
        A missing or unreadable input, nothing usable in a log, no samples (of
        ``quantities``).
    ParameterError
        A parameter value that cannot be used (``max_gap_s``, ``lags``, ``ranges``).
    TypeError
        ``path_or_paths`` is not a path or a sequence of paths.

    Examples
    --------
    >>> from dronesense.datasets import sample_flight
    >>> samples = read_samples(sample_flight(), quantities=["ch4"])
    >>> samples.sizes["obs"], samples["ch4"].attrs["units"]
    (1153, '1e-6')
    """
    from dronesense.samples.files import as_paths, load_dataset

    paths = as_paths(path_or_paths)
    if isinstance(max_gap_s, bool) or not isinstance(max_gap_s, int | float):
        raise TypeError(f"max_gap_s must be a number of seconds, not {type(max_gap_s).__name__}")
    if not (math.isfinite(max_gap_s) and max_gap_s > 0):
        raise ParameterError("max_gap_s", f"must be a positive number of seconds, got "
                             f"{max_gap_s}")
    if isinstance(quantities, str):
        quantities = [quantities]
    if isinstance(names, str | os.PathLike):
        from dronesense.quantities import NameTable

        names = NameTable.from_file(names)
    if ranges is not None:
        from dronesense.flight.plausible import check_ranges

        ranges = check_ranges(ranges)  # before a long pairing
    options = {"max_gap_s": float(max_gap_s)}
    for key, value in (("lags", lags), ("csv_map", csv_map), ("record_map", record_map),
                       ("ranges", ranges)):
        if value is not None:
            options[key] = value
    return load_dataset(paths, quantities=quantities, prefer_journal=prefer_journal,
                        names=names, **options)


def _source_logs(samples) -> list[Path]:
    """The ``.tlog`` and PX4 ``.ulg`` files named by a samples Dataset's ``source`` attribute
    (a session folder stands for its ``flight.tlog``): the logs that may hold the wind."""
    from dronesense.sources.session_folder import SessionFolder

    logs = []
    for part in str(samples.attrs.get("source", "")).split(", "):
        path = Path(part.strip())
        if not part.strip():
            continue
        if path.is_dir() and SessionFolder(path).tlog.is_file():
            logs.append(SessionFolder(path).tlog)
        elif path.suffix.lower() in (".tlog", ".ulg") and path.is_file():
            logs.append(path)
    return logs


def wind_from_logs(logs, *, reference_height: float = 10.0, exponent: float | None = None,
                   per_sample: bool = True, samples=None):
    """The wind of the autopilot's ``WIND`` messages in telemetry logs.

    The reports of every log are read (:func:`dronesense.sources.wind.read_wind_reports`).
    With ``per_sample`` (default) and reports that carry their times they become a wind
    series at the vehicle (:func:`dronesense.sources.wind.reports_as_series`): each
    sample takes the wind of its own time, so the flux is the mean of concentration x wind,
    not mean concentration x mean wind (in gusts one profile overstates the flux by a few
    per cent). Otherwise, or with an ``exponent`` given, they are fitted together to one
    power-law profile (:func:`dronesense.products.flux.wind.wind_from_reports`). The one way
    the command line and the API take the wind from a log.

    ``samples`` (the samples Dataset the wind is for) puts a ``.tlog``'s reports on the
    samples' own clock (the vehicle boot time of the position before each report, through
    the samples' ``time_boot_ms`` -> ``time``) rather than the ground station's receive
    time, which differs when the station's clock is off or a simulator ran faster than real
    time; a series that still does not cover the samples falls back to one profile.

    Returns
    -------
    dronesense.sources.wind.WindSeries or dronesense.products.flux.wind.WindProfile or None
        ``None`` when no log holds a usable ``WIND`` message (none, or all on the ground).
    """
    import numpy as np

    from dronesense.products.flux.wind import wind_from_reports
    from dronesense.sources.wind import WindReports, read_wind_reports, reports_as_series

    reports = [r for r in (read_wind_reports(Path(p)) for p in logs) if r is not None]
    if not reports:
        return None
    if len(reports) > 1:
        boot = (np.concatenate([r.boot_ms for r in reports])
                if all(r.boot_ms is not None for r in reports) else None)
        reports = [WindReports(*(np.concatenate([getattr(r, k) for r in reports])
                                 for k in ("time", "height", "speed", "direction")),
                               name=", ".join(r.name for r in reports), boot_ms=boot)]
    if per_sample and exponent is None:
        series = reports_as_series(_on_samples_clock(reports[0], samples))
        if series is not None and _covers(series.time, samples):
            return series
        if series is not None:  # the reports' clock does not match the samples'
            return wind_from_reports(reports[0], reference_height=reference_height,
                                     source=f"{reports[0].name}; their times do not cover "
                                     "the samples', so one profile")
    return wind_from_reports(reports[0], reference_height=reference_height, exponent=exponent,
                             source=reports[0].name)


def _sample_seconds(samples, boot: bool = True):
    """(UTC s, boot ms or ``None``) of the samples with a time (and, with ``boot``, a vehicle
    boot time), or ``None``."""
    import numpy as np

    if samples is None or "time" not in samples.variables:
        return None
    t = samples["time"].values
    if not np.issubdtype(t.dtype, np.datetime64):
        return None
    ok = ~np.isnat(t)
    ms = None
    if boot:
        if "time_boot_ms" not in samples.variables:
            return None
        ms = np.asarray(samples["time_boot_ms"].values, dtype=float)
        ok &= np.isfinite(ms)
        ms = ms[ok]
    if ok.sum() < 2:
        return None
    return t[ok].astype("datetime64[us]").astype(np.int64) / 1e6, ms


def _on_samples_clock(reports, samples):
    """``reports`` with their times on the samples' clock where both carry the vehicle boot
    time and the samples come from one boot (one offset between boot and UTC time)."""
    import dataclasses

    import numpy as np

    both = _sample_seconds(samples)
    if both is None or getattr(reports, "boot_ms", None) is None:
        return reports
    utc, boot = both
    offset = utc - boot / 1000.0
    lo, mid, hi = np.percentile(offset, [5, 50, 95])
    if hi - lo > 2.0:  # several boots or clock steps: keep the receive times
        return reports
    return dataclasses.replace(reports, time=np.asarray(reports.boot_ms) / 1000.0 + mid)


def _covers(times, samples) -> bool:
    """Whether wind records at ``times`` span at least half of the samples' time span."""
    import numpy as np

    both = _sample_seconds(samples, boot=False)
    if both is None:
        return True
    t0, t1 = both[0].min(), both[0].max()
    w = np.asarray(times, dtype=float)
    w = w[np.isfinite(w)]
    if w.size == 0:
        return False
    overlap = min(t1, w.max()) - max(t0, w.min())
    return overlap >= 0.5 * max(t1 - t0, 1.0)


def wind_from_source(samples):
    """The wind of the ``WIND`` messages of the log(s) the samples came from
    (:func:`wind_from_logs`: each sample's own-time wind where the reports carry times).

    Returns
    -------
    dronesense.sources.wind.WindSeries or dronesense.products.flux.wind.WindProfile

    Raises
    ------
    ParameterError
        (parameter ``wind``) when the samples name no ``.tlog``/``.ulg`` (or session folder) holding
        ``WIND`` messages sent in the air: the wind has to be given.
    """
    logs = _source_logs(samples)
    profile = wind_from_logs(logs, samples=samples)
    if profile is None:
        where = (f"the logs the samples came from ({', '.join(p.name for p in logs)}) hold "
                 "no WIND messages sent in the air" if logs else
                 "the samples name no telemetry log to take the autopilot's WIND messages from"
                 f" (source: {samples.attrs.get('source') or 'none'})")
        raise ParameterError("wind", f"{where}; give the wind as a WindProfile, "
                             "'SPEED@FROM_DEG' text (e.g. '3.2@240') or a (speed, from_deg) "
                             "pair")
    return profile


def read_wind(path, wind_map):
    """A wind time series from a file through a ``[wind]`` map, for ``estimate_flux(...,
    wind=...)``: a mast or ground sonic (``u``/``v`` or ``speed``/``direction``, a
    measurement ``height``), a sonic on the drone turned to the earth frame by the attitude
    (``sonic_u``... with ``roll``, ``pitch``, ``yaw``, ``vn``, ``ve``), or a track CSV's own
    wind columns (:func:`dronesense.sources.windfile.read_wind_csv`).

    Parameters
    ----------
    path
        The delimited text file (any extension).
    wind_map
        The path of a TOML file with a ``[wind]`` table, or that table as a dict.

    Returns
    -------
    dronesense.sources.wind.WindSeries
    """
    from dronesense.sources.windfile import read_wind_csv

    return read_wind_csv(path, wind_map)


def estimate_flux(samples, quantity: str, *, wind=None, **kw):
    """Mass-balance emission rate of ``quantity`` through a downwind curtain flight.

    :func:`dronesense.products.flux.estimate.estimate_flux`, whose parameters (``source``,
    ``line``, ``background``, ``method``, ``spacing``, ``window``, ``curtain``, ...) it takes,
    with one addition:
    ``wind=None`` takes the wind from the autopilot's ``WIND`` messages in the log the
    samples were read from (their ``source`` attribute; :func:`wind_from_source`).

    Parameters
    ----------
    samples
        Samples Dataset of the curtain flight (:func:`read_samples`).
    quantity
        Quantity key, e.g. ``"ch4"``.
    wind
        ``None`` (from the log), a :class:`~dronesense.products.flux.wind.WindProfile`,
        ``"SPEED@FROM_DEG"`` text (``"3.2@240"``, ``"3.2±0.3@240±10"``), a
        ``(speed, from_deg)`` pair, or a wind time series (:func:`read_wind`), put on each
        sample at its time.

    Returns
    -------
    dronesense.products.flux.result.FluxResult
        ``.emission`` (g/s), ``.uncertainty``, ``.lines()`` and ``.to_dataset()``; for a
        flight with several curtains a
        :class:`~dronesense.products.flux.curtains.FlightFlux` whose ``.curtains`` holds each
        curtain's result and ``.emission`` the combined figure (NaN where none is valid).

    Raises
    ------
    ParameterError
        ``wind`` is ``None`` and the samples' log holds no wind, or a parameter value the
        estimate cannot use.

    Examples
    --------
    >>> from dronesense.datasets import sample_flight
    >>> samples = read_samples(sample_flight(), quantities=["ch4"])
    >>> samples.attrs["source"] = "elsewhere.tlog"           # no log to take the wind from
    >>> estimate_flux(samples, "ch4", wind=(3.0, 240.0)).emission > 4.0
    True
    """
    from dronesense.products.flux.estimate import estimate_flux as estimate

    if wind is None:
        wind = wind_from_source(samples)
    return estimate(samples, quantity, wind=wind, **kw)
