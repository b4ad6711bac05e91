"""The position track of one boot segment: fixes in arrival order, strictly increasing in time.

Examples
--------
>>> track = Track()
>>> track.append(Fix(1, 1000.0, 52.0, 5.0, 40.0, 30.0)), len(track), track.last_time
(True, 1, 1000.0)
"""

from __future__ import annotations

import numpy as np

from dronesense.events import Fix

__all__ = ["Track"]


class Track:
    """Positions of one boot segment, in arrival order, strictly increasing in time.

    Fixes are kept in plain Python lists (appending and the per-reading lookups of the live
    pairing engine stay cheap); :meth:`arrays` gives numpy arrays for bulk callers, built
    once per length and cached. A fix not later than the last one (duplicate or reordered)
    is dropped and counted in ``dropped``.

    Examples
    --------
    >>> track = Track()
    >>> track.append(Fix(1, 100.0, 1.0, 2.0, 3.0, 4.0)), track.append(Fix(1, 100.0, 0, 0, 0, 0))
    (True, False)
    >>> t, ok, pos = track.arrays()
    >>> t.tolist(), ok.tolist(), pos.tolist()
    ([100.0], [True], [[1.0, 2.0, 3.0, 4.0]])
    """

    __slots__ = ("_arrays", "dropped", "ok", "pos", "times")

    def __init__(self, capacity: int = 1024):
        del capacity  # kept for compatibility: lists grow by themselves
        #: Fix times (ms since boot, float), strictly increasing.
        self.times: list[float] = []
        #: Whether each fix had a usable GNSS solution.
        self.ok: list[bool] = []
        #: (lat, lon, alt_amsl, height) of each fix, floats.
        self.pos: list[tuple[float, float, float, float]] = []
        self.dropped = 0
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.times)

    @property
    def last_time(self) -> float | None:
        """Time of the latest fix (ms since boot), ``None`` if empty."""
        return self.times[-1] if self.times else None

    @property
    def first_time(self) -> float | None:
        """Time of the earliest fix (ms since boot), ``None`` if empty."""
        return self.times[0] if self.times else None

    def last_fix(self) -> tuple[float, bool, np.ndarray] | None:
        """(time, fix_ok, [lat, lon, alt_amsl, height]) of the latest fix."""
        if not self.times:
            return None
        return self.times[-1], self.ok[-1], np.array(self.pos[-1])

    def append(self, fix: Fix) -> bool:
        """Add a fix; False (and counted) if it is not later than the last one."""
        times = self.times
        t = float(fix.time_boot_ms)
        if times and t <= times[-1]:
            self.dropped += 1
            return False
        times.append(t)
        self.ok.append(bool(fix.fix_ok))
        self.pos.append((float(fix.lat), float(fix.lon), float(fix.alt_amsl),
                         float(fix.height)))
        return True

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays (time ms, fix_ok, positions ``(n, 4)``: lat, lon, alt_amsl, height).

        Treat them as read-only: they are cached until the next fix arrives.
        """
        cached = self._arrays
        n = len(self.times)
        if cached is None or cached[0].shape[0] != n:
            cached = self._arrays = (
                np.array(self.times, dtype=float),
                np.array(self.ok, dtype=bool),
                np.array(self.pos, dtype=float).reshape(n, 4),
            )
        return cached
