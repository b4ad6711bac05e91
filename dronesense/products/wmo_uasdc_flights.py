"""WMO UAS-DC files of samples holding several flights: one file per airframe and flight.

The campaign takes one netCDF file per flight of one airframe
(:mod:`dronesense.products.wmo_uasdc`). A samples file may hold several vehicles (MAVLink
system ids) and, per vehicle, several boots (the samples' CF trajectories): each trajectory
is one flight and goes into its own file, named after its airframe and its first record.

Examples
--------
>>> from dronesense.flight.rows import SampleRow
>>> from dronesense.samples.dataset import to_dataset
>>> def row(sysid, s, q, v, units):
...     return SampleRow(f"2025-06-14T0{sysid}:00:0{s}.000000Z", 1000.0 * s, 0, sysid,
...                      45.0, 9.0, 150.0, 42.0, q, q, v, units, 0.1, 0, "sync")
>>> rows = [row(i, s, q, v, u) for i in (1, 2) for s in (1, 2)
...         for q, v, u in (("temperature", 10.0, "degC"), ("pressure", 990.0, "hPa"),
...                         ("humidity", 80.0, "percent"))]
>>> [(f.sysid, f.boot, len(f.samples["obs"])) for f in split_flights(to_dataset(rows))]
[(1, 0, 6), (2, 0, 6)]
>>> parse_airframes("1=AB123,2=CD456")
{1: 'AB123', 2: 'CD456'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.products.wmo_uasdc import (
    check_ids,
    to_wmo_uasdc,
    uasdc_filename,
    write_uasdc_dataset,
)

__all__ = ["Flight", "UasdcExport", "parse_airframes", "split_flights",
           "write_wmo_uasdc_flights"]


@dataclass(frozen=True)
class Flight:
    """One vehicle's samples of one boot (a CF trajectory of the samples)."""

    sysid: int
    boot: int
    samples: object  # xarray.Dataset

    @property
    def label(self) -> str:
        """``sysid 1, boot 0``."""
        return f"sysid {self.sysid}, boot {self.boot}"


@dataclass
class UasdcExport:
    """What :func:`write_wmo_uasdc_flights` wrote: the files, one per flight, and the
    flights left out with the reason (one line each)."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_airframes(text: str) -> str | dict[int, str]:
    """An airframe ID, or ``SYSID=ID`` pairs separated by commas for samples of several
    vehicles.

    Raises
    ------
    ParameterError
        (``airframe``) a pair that is not ``SYSID=ID`` with a system id 1-255.
    """
    if "=" not in text:
        return text
    out: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"(\d{1,3})\s*=\s*(\S+)", part)
        if not m or not 1 <= int(m[1]) <= 255:
            raise ParameterError("airframe", "give one ID, or SYSID=ID per vehicle such as "
                                 f"'1=AB123,2=CD456' (got {part!r})")
        out[int(m[1])] = m[2]
    return out


def split_flights(samples) -> list[Flight]:
    """The samples of each vehicle and boot, in order of system id and boot (one flight
    when the samples carry no ``sysid``)."""
    if "sysid" not in samples.variables:
        return [Flight(0, 0, samples)]
    sysid = np.asarray(samples["sysid"].values).astype(np.int64)
    boot = (np.asarray(samples["boot"].values).astype(np.int64) if "boot" in samples.variables
            else np.zeros_like(sysid))
    keys = sorted(set(zip(sysid.tolist(), boot.tolist(), strict=True)))
    if len(keys) == 1:
        return [Flight(keys[0][0], keys[0][1], samples)]
    return [Flight(s, b, samples.isel(obs=np.flatnonzero((sysid == s) & (boot == b))))
            for s, b in keys]


def _airframe_of(airframe: str | Mapping[int, str], flights: list[Flight]) -> dict[int, str]:
    vehicles = sorted({f.sysid for f in flights})
    if isinstance(airframe, Mapping):
        missing = [s for s in vehicles if s not in airframe]
        if missing:
            raise ParameterError("airframe", "no airframe ID for sysid "
                                 f"{', '.join(map(str, missing))} (give SYSID=ID for each of "
                                 f"{', '.join(map(str, vehicles))})")
        return {s: airframe[s] for s in vehicles}
    if len(vehicles) > 1:
        raise ParameterError("airframe", f"the samples hold {len(vehicles)} vehicles (sysid "
                             f"{', '.join(map(str, vehicles))}): give one airframe ID per "
                             "vehicle as SYSID=ID, e.g. "
                             + ",".join(f"{s}=ID{s}" for s in vehicles))
    return {vehicles[0]: airframe}


def write_wmo_uasdc_flights(samples, directory: str | Path, *, operator: str | int,
                            airframe: str | Mapping[int, str], flight_id: str | None = None,
                            **options) -> UasdcExport:
    """Write one UAS-DC file per vehicle and boot of ``samples`` into ``directory``.

    Parameters
    ----------
    samples : xarray.Dataset
        Samples of one or several vehicles (:func:`dronesense.read_samples`).
    directory
        Where the files go (made if need be), each under the campaign's file name.
    operator
        The 3-digit operator ID.
    airframe
        The airframe ID, or ``{sysid: ID}`` (:func:`parse_airframes`) for several vehicles.
    flight_id
        Only for samples of one flight; by default each file's is
        ``<airframe>_<YYYYMMDDHHMMSS>Z`` of its start.
    options
        Those of :func:`dronesense.products.wmo_uasdc.to_wmo_uasdc` (``processing_level``,
        ``max_interval_s``, ``history``, ``environ``).

    Returns
    -------
    UasdcExport
        The files written and the flights left out (no temperature, pressure or humidity, or
        no usable record), each with its reason.

    Raises
    ------
    ParameterError
        An operator or airframe ID the campaign does not take, one airframe for several
        vehicles, a ``flight_id`` for several flights.
    InputError
        No flight could be written (the reason of each), two flights with the same file name.
    """
    flights = split_flights(samples)
    airframes = _airframe_of(airframe, flights)
    for name in airframes.values():
        check_ids(operator, name)
    if flight_id is not None and len(flights) > 1:
        raise ParameterError("flight_id", f"one flight_id for {len(flights)} flights "
                             f"({'; '.join(f.label for f in flights)}): leave it out, each "
                             "file gets AIRFRAME_YYYYMMDDHHMMSSZ")
    out = UasdcExport()
    made: dict[str, tuple[Flight, object]] = {}
    for f in flights:
        try:
            wmo = to_wmo_uasdc(f.samples, operator=operator, airframe=airframes[f.sysid],
                               flight_id=flight_id, **options)
        except (InputError, NoUsableDataError) as err:
            if len(flights) == 1:
                raise
            out.skipped.append(f"{f.label}: {err}")
            continue
        start = np.datetime64(round(float(wmo["time"][0]) * 1e6), "us")
        name = uasdc_filename(operator, airframes[f.sysid], start)
        if name in made:
            raise InputError(f"{made[name][0].label} and {f.label} would both be {name} (same "
                             "airframe, same start second): give each vehicle its own "
                             "airframe ID")
        made[name] = (f, wmo)
    if not made:
        raise InputError("no flight has the UAS-DC records: " + "; ".join(out.skipped))
    for f, wmo in made.values():
        out.paths.append(write_uasdc_dataset(wmo, directory, operator=operator,
                                             airframe=airframes[f.sysid]))
    return out
