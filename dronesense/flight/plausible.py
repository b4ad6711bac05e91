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

Ranges the user sets replace the defaults quantity by quantity, checked by
:func:`check_ranges` (:mod:`dronesense.sources.ranges`). They are a parameter of every
pairing run: ``ranges=`` of :func:`dronesense.read_samples`,
:func:`~dronesense.flight.postflight.pair_logs`, :class:`~dronesense.flight.pipeline.Pipeline`
and :class:`CheckedPairer`; a CSV map's ``[ranges]`` table
(:attr:`dronesense.sources.csvtrack.CsvMap.ranges`) applies whenever the map is used, and
``--range`` on the command line replaces its entry of that quantity. :func:`using_ranges`
sets the ranges of every run inside it that is given no ``ranges`` (an explicit ``ranges``
wins over the block); :func:`ranges_in_force` is the rule::

    samples = dronesense.read_samples("flight.tlog", ranges={"ch4": (0.0, 100.0, "ppm")})
    with using_ranges({"ch4": (0.0, 100.0, "ppm")}):          # the same
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
from collections.abc import Iterator, Mapping

import numpy as np

from dronesense.flight.pairing import Pairer
from dronesense.flight.rows import Flag, SampleRow
from dronesense.quantities import PLAUSIBLE_RANGES, NameTable, plausible_range
from dronesense.sources.ranges import check_ranges, parse_range

__all__ = ["CheckedPairer", "active_ranges", "block_ranges", "check_ranges", "flag_columns",
           "flag_rows", "parse_range", "ranges_in_force", "using_ranges"]

_UNSET = object()

#: The ranges of the pairing runs in a :func:`using_ranges` block (``None``: the defaults).
_ACTIVE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("plausible_ranges",
                                                                      default=None)
#: The user's entries of the enclosing :func:`using_ranges` blocks only (``None`` outside).
_USER: contextvars.ContextVar[dict | None] = contextvars.ContextVar("user_ranges",
                                                                   default=None)


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
    user = {**(_USER.get() or {}), **check_ranges(ranges or {})}
    merged = {**PLAUSIBLE_RANGES, **user}
    token, user_token = _ACTIVE.set(merged), _USER.set(user)
    try:
        yield merged
    finally:
        _ACTIVE.reset(token)
        _USER.reset(user_token)


def block_ranges() -> dict[str, tuple[float, float, str]]:
    """The ranges the enclosing :func:`using_ranges` blocks set (``{}`` outside one): the
    user's entries only, without the defaults."""
    return dict(_USER.get() or {})


def ranges_in_force(ranges: Mapping | None = None, *, table: Mapping | None = None
                    ) -> dict[str, tuple[float, float, str]] | None:
    """The ranges a pairing run checks against, quantity by quantity: the explicit
    ``ranges`` if given (checked by :func:`check_ranges`), else those of the enclosing
    :func:`using_ranges` block, over a map file's ``table`` (its ``[ranges]``, checked), over
    the defaults :data:`~dronesense.quantities.PLAUSIBLE_RANGES`. ``None`` when nothing
    replaces a default.

    >>> with using_ranges({"ch4": (1.5, 3.0)}):
    ...     ranges_in_force({"co2": (400, 600)}, table={"ch4": (0, 50, "ppm")})["ch4"]  # map
    (0.0, 50.0, '1e-6')
    >>> ranges_in_force() is None
    True
    """
    user = block_ranges() if ranges is None else check_ranges(ranges)
    table = check_ranges(table or {}, "[ranges]")
    if not (user or table):
        return None
    return {**PLAUSIBLE_RANGES, **table, **user}


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
    plausible ranges: the defaults :data:`~dronesense.quantities.PLAUSIBLE_RANGES` with each
    quantity in ``ranges`` (checked by :func:`check_ranges`) replaced; ``ranges=None``: those
    of the enclosing :func:`using_ranges` block (an explicit ``ranges`` wins over the block).

    >>> CheckedPairer(ranges={"ch4": (1.5, 3.0)}).ranges["ch4"]
    (1.5, 3.0, '1e-6')
    """

    def __init__(self, names: NameTable | None = None, max_gap_s: float = 1.0,
                 lags: dict[str, float] | None = None,
                 ranges: Mapping | None = None):
        super().__init__(names, max_gap_s=max_gap_s, lags=lags)
        self.ranges = (active_ranges() if ranges is None
                       else {**PLAUSIBLE_RANGES, **check_ranges(ranges)})
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
