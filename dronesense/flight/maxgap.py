"""The longest gap between fixes that still gives a position, fitted to the track's own rate.

A fixed maximum gap of 1 s suits a 10 Hz autopilot log but leaves a 0.5 Hz instrument file
without a single position. :func:`track_max_gap` takes the median interval between the fixes
of a log (all boots): without a maximum gap given, it is 2.5 times that interval (at least
1 s). For instrument files (``raise_short``), a maximum gap given shorter than 1.5 intervals
(one late fix would already break the pairing) is raised the same way, with a warning that
says so; autopilot logs keep the gap given, so that pairing a recorded session again gives
the samples the live listener journalled with it.

Examples
--------
>>> from dronesense.events import Fix
>>> from dronesense.flight.boots import split_boots
>>> from dronesense.quantities import NameTable
>>> events = [(Fix(1, 2000.0 * k, 52.0, 5.0, 40.0, 30.0), None) for k in range(10)]
>>> boots = split_boots(events, NameTable.default())
>>> track_max_gap(boots, None)
(5.0, 'max gap 5.0 s: 2.5 x the median interval between fixes (2.00 s)')
>>> track_max_gap(boots, 1.0)[0], track_max_gap(boots, 3.0), track_max_gap(boots, 1.0, False)
(5.0, (3.0, None), (1.0, None))
"""

from __future__ import annotations

import math

import numpy as np

from dronesense.flight.boots import Boots

__all__ = ["DEFAULT_MAX_GAP_S", "fix_interval_s", "track_max_gap"]

#: The maximum gap of a fast track (10 Hz autopilot positions).
DEFAULT_MAX_GAP_S = 1.0
#: Derived maximum gap, in median fix intervals.
GAP_INTERVALS = 2.5
#: A maximum gap shorter than this many intervals is raised.
MIN_INTERVALS = 1.5


def fix_interval_s(boots: Boots) -> float:
    """Median time (s) between consecutive fixes of every boot (NaN with fewer than two)."""
    steps = [np.diff(seg.track.arrays()[0]) for seg in boots.segments.values()
             if len(seg.track) > 1]
    if not steps:
        return math.nan
    return float(np.median(np.concatenate(steps))) / 1000.0


def track_max_gap(boots: Boots, max_gap_s: float | None, raise_short: bool = True
                  ) -> tuple[float, str | None]:
    """The maximum gap (s) to pair a log with, and a note when it is not ``max_gap_s``
    (``None``: derive it from the track; ``raise_short``: raise one too short for the
    track's rate)."""
    interval = fix_interval_s(boots)
    if not math.isfinite(interval) or interval <= 0:
        return (DEFAULT_MAX_GAP_S if max_gap_s is None else max_gap_s), None
    derived = max(DEFAULT_MAX_GAP_S, GAP_INTERVALS * interval)
    if max_gap_s is None:
        note = (f"max gap {derived:.1f} s: {GAP_INTERVALS:g} x the median interval between "
                f"fixes ({interval:.2f} s)") if derived > DEFAULT_MAX_GAP_S else None
        return derived, note
    if raise_short and max_gap_s < MIN_INTERVALS * interval:
        return derived, (f"max gap {max_gap_s:g} s is shorter than the track's fix interval "
                         f"allows (median {interval:.2f} s between fixes): {derived:.1f} s used "
                         f"({GAP_INTERVALS:g} x the interval); give a max gap of at least "
                         f"{MIN_INTERVALS * interval:.1f} s to choose another")
    return max_gap_s, None
