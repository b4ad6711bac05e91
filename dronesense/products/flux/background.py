"""The background of a curtain: the concentration the air would have without the source.

Examples
--------
>>> import numpy as np
>>> s = np.linspace(-50.0, 50.0, 101)
>>> v = 2.0 + np.exp(-0.5 * (s / 10.0) ** 2)          # a plume on a background of 2
>>> b = estimate_background(v, s, np.zeros(s.size, dtype=int), (-50.0, 50.0))
>>> round(b.value, 4), round(b.error, 6), b.how
(2.0, 5e-05, 'median of the outer 10% at both ends: left 2, right 2')
>>> estimate_background(v, s, None, (-50.0, 50.0), value=1.9, error=0.01)
Background(value=1.9, error=0.01, how='given')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dronesense.errors import NoUsableDataError, ParameterError

__all__ = ["Background", "estimate_background", "noise_level"]


@dataclass(frozen=True)
class Background:
    """A background value, its uncertainty (both in the quantity's units) and how it was made."""

    value: float
    error: float
    how: str


def estimate_background(values: np.ndarray, s: np.ndarray, pass_id: np.ndarray | None,
                        s_range: tuple[float, float], *, value: float | None = None,
                        error: float = 0.0, method: str = "edges", edge_fraction: float = 0.1,
                        percentile: float = 5.0) -> Background:
    """The background of the curtain samples ``values`` at along-curtain positions ``s``.

    A given ``value`` (± ``error``) is used as it is. Otherwise ``method`` ``edges``: the
    median of the samples on the outer ``edge_fraction`` of ``s_range`` at both ends, with
    uncertainty ``hypot((left - right) / 2, MAD / sqrt(passes there))``; or ``percentile``:
    the ``percentile``-th percentile of all samples, with half the spread between half and
    twice that percentile as its uncertainty.
    """
    if value is not None:
        return Background(float(value), float(error), "given")
    if method == "edges":
        return _edges(values, s, pass_id, s_range, edge_fraction)
    if method == "percentile":
        return _percentile(values, percentile)
    raise ParameterError("background_method", f"must be edges or percentile, not {method!r}")


def _edges(values, s, pass_id, s_range, edge_fraction) -> Background:
    s_lo, s_hi = s_range
    edge = edge_fraction * (s_hi - s_lo)
    at_left, at_right = s <= s_lo + edge, s >= s_hi - edge
    left, right = values[at_left], values[at_right]
    if left.size < 3 or right.size < 3:
        raise NoUsableDataError("too few samples at the curtain ends for a background: "
                                "give its value")
    bl, br = float(np.median(left)), float(np.median(right))
    both = np.concatenate([left, right])
    b = float(np.median(both))
    mad = 1.4826 * float(np.median(np.abs(both - b)))
    n_eff = max(1, len(np.unique(pass_id[at_left | at_right])))
    return Background(b, math.hypot((bl - br) / 2, mad / math.sqrt(n_eff)),
                      f"median of the outer {100 * edge_fraction:g}% at both ends: "
                      f"left {bl:.4g}, right {br:.4g}")


def _percentile(values, percentile) -> Background:
    b = float(np.percentile(values, percentile))
    lo, hi = np.percentile(values, [max(percentile / 2, 0.5), min(2 * percentile, 50)])
    return Background(b, float(hi - lo) / 2,
                      f"{percentile:g}th percentile of the curtain samples")


def noise_level(values: np.ndarray) -> float:
    """Sensor noise (one standard deviation) from the differences of successive samples
    (robust: 1.4826 MAD / sqrt 2).

    Examples
    --------
    >>> noise_level(np.array([1.0, 1.0, 1.0])), noise_level(np.array([1.0]))
    (0.0, 0.0)
    """
    if values.size <= 2:
        return 0.0
    return 1.4826 * float(np.median(np.abs(np.diff(values)))) / math.sqrt(2)
