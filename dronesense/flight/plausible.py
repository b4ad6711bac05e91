"""Implausible values flagged, not dropped: paired samples outside their quantity's range.

A sensor glitch (a pressure of -158 hPa, a temperature of 184 degC) or a value in the wrong
units is no measurement of the air. Such a sample keeps its value and position but gets the
flag ``OUT_OF_RANGE`` (:class:`~dronesense.flight.rows.Flag`), so gridding, flux estimates
and map exports (which use flag 0 only) leave it out while nothing is lost. The ranges are
:data:`dronesense.quantities.PLAUSIBLE_RANGES`, converted to each sample's units; quantities
without a range, or whose units do not convert, are never flagged. Samples that already have
a pairing flag keep it.

:class:`CheckedPairer` is the pairing engine with the check applied to every row it gives
(the streaming path of :class:`~dronesense.flight.pipeline.Pipeline`); :func:`flag_columns`
applies the same check to :class:`~dronesense.flight.columns.SampleColumns`.

Ranges the user sets (``pair --range ch4=0:100``, a map file's ``[ranges]`` table:
:func:`dronesense.sources.csvmap.map_ranges`) are checked by :func:`check_ranges` and replace
the defaults quantity by quantity; :func:`using_ranges` makes them the ranges of every
pairing run inside it (the pairers made there, :func:`flag_rows` and :func:`flag_columns`
given no ``ranges``)::

    with using_ranges({"ch4": (0.0, 100.0, "ppm")}):
        samples = dronesense.read_samples("flight.tlog")

Examples
--------
>>> from dronesense.events import Fix, Reading, TimeSync
>>> pairer = CheckedPairer()
>>> events = [TimeSync(1, 0.0, 1_714_557_600_000_000), Fix(1, 0.0, 52.0, 5.0, 40.0, 30.0),
...           Reading(1, 100.0, "TEMP", 184.4), Reading(1, 200.0, "TEMP", 18.2),
...           Fix(1, 1000.0, 52.0, 5.001, 40.0, 30.0)]
>>> rows = [r for ev in events for r in pairer.push(ev)]
>>> [(r.value, r.flag, r.lat is not None) for r in rows]
[(184.4, 6, True), (18.2, 0, True)]
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping

import numpy as np

from dronesense.errors import ParameterError
from dronesense.flight.pairing import Pairer
from dronesense.flight.rows import Flag, SampleRow
from dronesense.quantities import (
    PLAUSIBLE_RANGES,
    QUANTITIES,
    NameTable,
    file_units,
    parse_units,
    plausible_range,
)

__all__ = ["CheckedPairer", "active_ranges", "check_ranges", "flag_columns", "flag_rows",
           "parse_range", "using_ranges"]

_UNSET = object()

#: The ranges of the pairing runs in a :func:`using_ranges` block (``None``: the defaults).
_ACTIVE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("plausible_ranges",
                                                                      default=None)


def check_ranges(ranges: Mapping, parameter: str = "ranges"
                 ) -> dict[str, tuple[float, float, str]]:
    """User ranges as ``{key: (low, high, units)}``, each checked.

    An entry is ``(low, high)`` in the quantity's own units (``ch4``: ``1e-6``, i.e. ppm;
    :data:`dronesense.quantities.QUANTITIES`) or ``(low, high, units)`` in any units that
    convert to them (``"ppb"``, ``"K"``); a key dronesense does not know needs its units.

    Raises
    ------
    ParameterError
        Named ``parameter``, for a range that is not two finite numbers low < high, or units
        that are not units or do not convert to the quantity's.

    Examples
    --------
    >>> check_ranges({"ch4": (0, 100), "temperature": [250, 320, "K"]})
    {'ch4': (0.0, 100.0, '1e-6'), 'temperature': (250.0, 320.0, 'K')}
    >>> check_ranges({"ch4": (5, 1)})
    Traceback (most recent call last):
    ...
    dronesense.errors.ParameterError: ranges: ch4: the low end 5 is not below the high end 1
    """
    out: dict[str, tuple[float, float, str]] = {}
    for key, entry in ranges.items():
        where = f"{key}: "
        items = list(entry) if isinstance(entry, list | tuple) else None
        if items is None or len(items) not in (2, 3):
            raise ParameterError(parameter, f"{where}expected (low, high) or (low, high, "
                                 f"units), got {entry!r}")
        try:
            lo, hi = (float(v) for v in items[:2])
        except (TypeError, ValueError):
            raise ParameterError(parameter, f"{where}expected numbers, got {items[0]!r} and "
                                 f"{items[1]!r}") from None
        if isinstance(items[0], bool) or isinstance(items[1], bool) or not (
                math.isfinite(lo) and math.isfinite(hi)):
            raise ParameterError(parameter, f"{where}expected finite numbers, got {items[0]!r} "
                                 f"and {items[1]!r}")
        if not lo < hi:
            raise ParameterError(parameter, f"{where}the low end {lo:g} is not below the high "
                                 f"end {hi:g}")
        q = QUANTITIES.get(key)
        units = file_units(str(items[2])) if len(items) == 3 else (q.units if q else None)
        if units is None:
            raise ParameterError(parameter, f"{where}dronesense does not know {key!r}: give "
                                 "its units (low, high, units)")
        if parse_units(units) is None:
            raise ParameterError(parameter, f"{where}{items[2]!r} are not units UDUNITS-2 "
                                 "knows (e.g. ppm, ppb, hPa, degC, K, ug m-3)")
        if q is not None and not parse_units(units).is_convertible(parse_units(q.units)):
            raise ParameterError(parameter, f"{where}{items[2]!r} do not convert to the units "
                                 f"of {key} ({q.display_units})")
        out[str(key)] = (lo, hi, units)
    return out


def parse_range(text: str, parameter: str = "--range") -> tuple[str, tuple[float, float, str]]:
    """``KEY=LOW:HIGH[:UNITS]`` (units default: the quantity's) as ``(key, (low, high,
    units))``, checked by :func:`check_ranges`.

    >>> parse_range("ch4=0:100"), parse_range("temperature=-40:50:degC")
    (('ch4', (0.0, 100.0, '1e-6')), ('temperature', (-40.0, 50.0, 'degC')))
    """
    key, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or not key.strip() or len(parts) not in (2, 3):
        raise ParameterError(parameter, f"expected QUANTITY=LOW:HIGH or QUANTITY=LOW:HIGH:UNITS "
                             f"(e.g. ch4=0:100), got {text!r}")
    key = key.strip()
    try:
        values = [float(parts[0]), float(parts[1]), *parts[2:]]
    except ValueError:
        raise ParameterError(parameter, f"{key}: expected numbers LOW:HIGH, got "
                             f"{rest!r}") from None
    return key, check_ranges({key: values}, parameter)[key]


def active_ranges() -> dict[str, tuple[float, float, str]] | None:
    """The ranges of the enclosing :func:`using_ranges` block (``None`` outside one: the
    defaults, :data:`~dronesense.quantities.PLAUSIBLE_RANGES`)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def using_ranges(ranges: Mapping | None) -> Iterator[dict[str, tuple[float, float, str]]]:
    """Pair with these ranges in the block: the defaults, with each quantity in ``ranges``
    (checked by :func:`check_ranges`) replaced; ``None`` or ``{}`` keeps the defaults.
    Yields the ranges in force.

    >>> with using_ranges({"ch4": (1.5, 3.0, "ppm")}) as r:
    ...     r["ch4"], r["pressure"], CheckedPairer().ranges["ch4"]
    ((1.5, 3.0, '1e-6'), (300.0, 1100.0, 'hPa'), (1.5, 3.0, '1e-6'))
    >>> CheckedPairer().ranges is None  # outside: the defaults
    True
    """
    merged = {**(active_ranges() or PLAUSIBLE_RANGES), **check_ranges(ranges or {})}
    token = _ACTIVE.set(merged)
    try:
        yield merged
    finally:
        _ACTIVE.reset(token)


def flag_rows(rows: list[SampleRow], ranges=None, cache: dict | None = None) -> int:
    """Flag, in place, the paired rows whose value is outside its range; return how many.

    ``cache`` keeps the ranges by (quantity, units) between calls.
    """
    cache = {} if cache is None else cache
    ranges = active_ranges() if ranges is None else ranges
    n = 0
    for i, r in enumerate(rows):
        if r.flag != Flag.PAIRED:
            continue
        key = (r.quantity, r.units)
        lim = cache.get(key, _UNSET)
        if lim is _UNSET:
            lim = cache[key] = plausible_range(r.quantity, r.units, ranges)
        if lim is not None and not (lim[0] <= r.value <= lim[1]):
            rows[i] = r._replace(flag=Flag.OUT_OF_RANGE)
            n += 1
    return n


def flag_columns(cols, ranges=None) -> int:
    """Flag, in place, the paired samples of
    :class:`~dronesense.flight.columns.SampleColumns` outside their range; return how many."""
    flag = cols.flag
    ranges = active_ranges() if ranges is None else ranges
    n = 0
    for code, key in enumerate(cols.quantities):
        lim = plausible_range(key, cols.units[code], ranges)
        if lim is None:
            continue
        value = cols.value
        bad = ((cols.quantity_code == code) & (flag == Flag.PAIRED)
               & ~((value >= lim[0]) & (value <= lim[1])))
        flag[bad] = Flag.OUT_OF_RANGE
        n += int(np.count_nonzero(bad))
    return n


class CheckedPairer(Pairer):
    """:class:`~dronesense.flight.pairing.Pairer` whose rows are checked against the
    plausible ranges (``ranges``: default those of the enclosing :func:`using_ranges` block,
    else :data:`~dronesense.quantities.PLAUSIBLE_RANGES`)."""

    def __init__(self, names: NameTable | None = None, max_gap_s: float = 1.0,
                 lags: dict[str, float] | None = None,
                 ranges: dict[str, tuple[float, float, str]] | None = None):
        super().__init__(names, max_gap_s=max_gap_s, lags=lags)
        self.ranges = active_ranges() if ranges is None else ranges
        self._limits: dict = {}
        #: Rows flagged out of range so far.
        self.out_of_range = 0

    def push(self, event, recv_us: int | None = None) -> list[SampleRow]:
        """:meth:`Pairer.push`, with the rows checked."""
        out = Pairer.push(self, event, recv_us)
        if out:
            self.out_of_range += flag_rows(out, self.ranges, self._limits)
        return out

    def finish(self) -> list[SampleRow]:
        """:meth:`Pairer.finish`, with the rows checked."""
        out = Pairer.finish(self)
        if out:
            self.out_of_range += flag_rows(out, self.ranges, self._limits)
        return out
