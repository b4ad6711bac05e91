"""The position track of one boot segment: fixes in arrival order, strictly increasing in time.

Examples
--------
>>> track = Track()
>>> track.append(Fix(1, 1000.0, 52.0, 5.0, 40.0, 30.0)), len(track), track.last_time
(True, 1, 1000.0)
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np

from dronesense.events import Fix

__all__ = ["Track"]


class _Rows:
    """The positions of a track as a sequence of ``(lat, lon, alt_amsl, height)`` tuples,
    stored flat in one ``array('d')`` (41 bytes a fix with its time and flag, where Python
    tuples of floats take about 200)."""

    __slots__ = ("flat",)

    def __init__(self, flat: array):
        self.flat = flat

    def __len__(self) -> int:
        return len(self.flat) // 4

    def __getitem__(self, i: int) -> tuple[float, float, float, float]:
        if i < 0:
            i += len(self.flat) // 4
        k = 4 * i
        return tuple(self.flat[k:k + 4])

#: Trimming is looked at once the track holds this many fixes (and then only when the oldest
#: is more than twice the horizon back), so a fix costs O(1) on average.
_TRIM_EVERY = 1024


class Track:
    """Positions of one boot segment, in arrival order, strictly increasing in time.

    Fixes are kept in typed ``array`` columns (appending and the per-reading lookups of the
    live pairing engine stay cheap, and a long session's memory small); :meth:`arrays` gives
    numpy arrays for bulk callers, built once per length and cached. A fix not later than
    the last one (duplicate or reordered) is dropped and counted in ``dropped``. With
    ``horizon_s`` (the live pairing engine's tracks), fixes more than that long before the
    latest are forgotten from time to time (counted in ``trimmed``): the track then holds
    between one and two horizons of fixes.

    Examples
    --------
    >>> track = Track()
    >>> track.append(Fix(1, 100.0, 1.0, 2.0, 3.0, 4.0)), track.append(Fix(1, 100.0, 0, 0, 0, 0))
    (True, False)
    >>> t, ok, pos = track.arrays()
    >>> t.tolist(), ok.tolist(), pos.tolist()
    ([100.0], [True], [[1.0, 2.0, 3.0, 4.0]])
    """

    __slots__ = ("_arrays", "_lazy", "_ok", "_pos", "_times", "dropped", "horizon_ms", "trimmed")

    def __init__(self, capacity: int = 1024, horizon_s: float | None = None):
        del capacity  # kept for compatibility: lists grow by themselves
        #: Fixes older than this before the latest one may be forgotten (``None``: keep all):
        #: a live session's memory stays flat however long it runs.
        self.horizon_ms = None if horizon_s is None else 1000.0 * float(horizon_s)
        #: Fixes forgotten so far.
        self.trimmed = 0
        self._times = array("d")
        self._ok = array("b")
        self._pos = array("d")  # lat, lon, alt_amsl, height of each fix, flat
        self.dropped = 0
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lazy = False  # built from arrays: the columns are made on first use

    def _lists(self) -> None:
        t, ok, pos = self._arrays
        self._times = array("d", np.ascontiguousarray(t, dtype=float).tobytes())
        self._ok = array("b", np.ascontiguousarray(ok, dtype=np.int8).tobytes())
        self._pos = array("d", np.ascontiguousarray(pos, dtype=float).tobytes())
        self._lazy = False

    @property
    def times(self) -> array:
        """Fix times (ms since boot, float), strictly increasing."""
        if self._lazy:
            self._lists()
        return self._times

    @property
    def ok(self) -> array:
        """Whether each fix had a usable GNSS solution."""
        if self._lazy:
            self._lists()
        return self._ok

    @property
    def pos(self) -> _Rows:
        """(lat, lon, alt_amsl, height) of each fix, floats."""
        if self._lazy:
            self._lists()
        return _Rows(self._pos)

    def __len__(self) -> int:
        return self._arrays[0].shape[0] if self._lazy else len(self._times)

    @property
    def last_time(self) -> float | None:
        """Time of the latest fix (ms since boot), ``None`` if empty."""
        if self._lazy:
            return float(self._arrays[0][-1]) if len(self) else None
        return self._times[-1] if self._times else None

    @property
    def first_time(self) -> float | None:
        """Time of the earliest fix (ms since boot), ``None`` if empty."""
        if self._lazy:
            return float(self._arrays[0][0]) if len(self) else None
        return self._times[0] if self._times else None

    def last_fix(self) -> tuple[float, bool, np.ndarray] | None:
        """(time, fix_ok, [lat, lon, alt_amsl, height]) of the latest fix."""
        if not self.times:
            return None
        return self.times[-1], bool(self.ok[-1]), np.array(self.pos[-1])

    def append(self, fix: Fix) -> bool:
        """Add a fix; False (and counted) if it is not later than the last one."""
        if self._lazy:
            self._lists()
        times = self._times
        t = float(fix.time_boot_ms)
        if times and t <= times[-1]:
            self.dropped += 1
            return False
        times.append(t)
        self._ok.append(bool(fix.fix_ok))
        self._pos.extend((float(fix.lat), float(fix.lon), float(fix.alt_amsl),
                          float(fix.height)))
        horizon = self.horizon_ms
        if horizon is not None and len(times) >= _TRIM_EVERY and t - times[0] > 2 * horizon:
            self._trim(t - horizon)
        return True

    def _trim(self, before: float) -> None:
        """Forget the fixes older than ``before`` (ms), keeping the one at or before it."""
        k = max(0, bisect_left(self._times, before) - 1)
        if k:
            del self._times[:k], self._ok[:k], self._pos[:4 * k]
            self.trimmed += k
            self._arrays = None

    @classmethod
    def from_arrays(cls, times: np.ndarray, ok: np.ndarray, pos: np.ndarray,
                    dropped: int = 0) -> Track:
        """A track holding these fixes (strictly increasing ``times``), as if appended; the
        lists are made only if something asks for them.

        Examples
        --------
        >>> t = Track.from_arrays(np.array([1.0, 2.0]), np.array([True, True]), np.zeros((2, 4)))
        >>> len(t), t.last_time, t.pos[1]
        (2, 2.0, (0.0, 0.0, 0.0, 0.0))
        """
        track = cls()
        track._arrays = (np.asarray(times, dtype=float), np.asarray(ok, dtype=bool),
                         np.asarray(pos, dtype=float).reshape(-1, 4))
        track._lazy = True
        track.dropped = dropped
        return track

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays (time ms, fix_ok, positions ``(n, 4)``: lat, lon, alt_amsl, height).

        Treat them as read-only: they are cached until the next fix arrives.
        """
        cached = self._arrays
        if self._lazy:
            return cached
        n = len(self._times)
        if cached is None or cached[0].shape[0] != n:
            cached = self._arrays = (  # copies: the columns grow after this
                np.frombuffer(self._times, dtype=float).copy() if n else np.zeros(0),
                np.frombuffer(self._ok, dtype=np.int8).astype(bool),
                (np.frombuffer(self._pos, dtype=float).copy() if n
                 else np.zeros(0)).reshape(n, 4),
            )
        return cached
