"""The wind reports of a flight log (:class:`WindReports`): what a ``.tlog``'s ``WIND``
messages (:func:`dronesense.sources.wind.read_wind_reports`) and a PX4 ULog's estimator wind
(:func:`dronesense.sources.ulog.read_ulog_wind`) both give, in a module of its own so both
readers can make them without importing each other.

Examples
--------
>>> import numpy as np
>>> rep = WindReports(np.array([0.0, 1.0]), np.array([np.nan, 20.0]), np.array([3.0, 3.5]),
...                   np.array([240.0, 250.0]), name="f.tlog")
>>> len(rep), rep.name
(2, 'f.tlog')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WindReports"]


@dataclass(frozen=True)
class WindReports:
    """Wind reports of a log, in file order.

    Attributes
    ----------
    time
        Time of each report, s since the UNIX epoch (a tlog's receive timestamp; a ULog's
        UTC from the GPS clock).
    height
        Height above home (m) of the latest position before the report; NaN before the
        first one.
    speed
        Horizontal wind speed, m/s.
    direction
        Direction the wind comes from, degrees clockwise from north.
    name
        File name of the log (empty for bytes).
    boot_ms
        Vehicle boot time (ms) of the latest position before each report (NaN before the
        first one), to put the reports on the samples' clock; ``None`` where the log has no
        such time (a ULog's reports are on the GPS clock already).
    """

    time: np.ndarray
    height: np.ndarray
    speed: np.ndarray
    direction: np.ndarray
    name: str = ""
    boot_ms: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.speed.size)
