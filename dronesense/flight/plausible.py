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

import numpy as np

from dronesense.flight.pairing import Pairer
from dronesense.flight.rows import Flag, SampleRow
from dronesense.quantities import NameTable, plausible_range

__all__ = ["CheckedPairer", "flag_columns", "flag_rows"]

_UNSET = object()


def flag_rows(rows: list[SampleRow], ranges=None, cache: dict | None = None) -> int:
    """Flag, in place, the paired rows whose value is outside its range; return how many.

    ``cache`` keeps the ranges by (quantity, units) between calls.
    """
    cache = {} if cache is None else cache
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
    plausible ranges (``ranges``: default :data:`~dronesense.quantities.PLAUSIBLE_RANGES`)."""

    def __init__(self, names: NameTable | None = None, max_gap_s: float = 1.0,
                 lags: dict[str, float] | None = None,
                 ranges: dict[str, tuple[float, float, str]] | None = None):
        super().__init__(names, max_gap_s=max_gap_s, lags=lags)
        self.ranges = ranges
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
