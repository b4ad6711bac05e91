"""Fast 3D block statistics: count, mean, spread, min and max of samples per voxel.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from dronesense.errors import ParameterError
from dronesense.gridding.spec import STATISTICS, GridSpec

# ----------------------------------------------------------------------------------------
# block statistics
# ----------------------------------------------------------------------------------------

#: Below this many samples the numpy path (bincount, sort) is used: importing numba and
#: loading its cached kernels costs more than it saves, unless numba is already loaded.
NUMBA_MIN_SAMPLES = 2_000_000

try:  # numba installed? (checked without importing it)
    _numba = importlib.util.find_spec("numba") is not None
except ValueError:  # pragma: no cover - a module set to None in sys.modules
    _numba = False


def _kernels(n: int):
    """The compiled (bin, m2) kernels when they pay for themselves: a large sample, or numba
    loaded already; ``None`` otherwise or without numba."""
    if not _numba or (n < NUMBA_MIN_SAMPLES and "numba" not in sys.modules):
        return None
    from dronesense.gridding import blockkernels

    return blockkernels.bin_kernel, blockkernels.m2_kernel


def _one_pass(spec: GridSpec, x, y, z, v, need_m2: bool, need_minmax: bool = True):
    """count, sum, min, max (and sum of squared deviations from the mean) per voxel."""
    size = spec.size
    count = np.zeros(size, dtype=np.int64)
    total = np.zeros(size)
    vmin = np.full(size, np.nan)
    vmax = np.full(size, np.nan)
    m2 = None
    kernels = _kernels(v.size)
    if kernels is not None:
        _bin_kernel, _m2_kernel = kernels
        lo = np.array(spec.region[::2], dtype=float)
        d = np.array(spec.spacing, dtype=float)
        n = np.array(spec.shape[::-1], dtype=np.int64)
        _bin_kernel(x, y, z, v, lo, d, n, need_minmax, count, total, vmin, vmax)
        if need_m2:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            m2 = np.zeros(size)
            _m2_kernel(x, y, z, v, lo, d, n, mean, m2)
        return count, total, vmin, vmax, m2
    # numpy fallback: one ravel index, bincount, sort for min/max
    idx, vals = _indexed(spec, x, y, z, v)
    count = np.bincount(idx, minlength=size)
    total = np.bincount(idx, weights=vals, minlength=size)
    if idx.size and need_minmax:
        order = np.argsort(idx, kind="stable")
        sidx, svals = idx[order], vals[order]
        starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
        vmin[sidx[starts]] = np.minimum.reduceat(svals, starts)
        vmax[sidx[starts]] = np.maximum.reduceat(svals, starts)
    if need_m2:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        m2 = np.bincount(idx, weights=(vals - mean[idx]) ** 2, minlength=size)
    return count, total, vmin, vmax, m2


def _indexed(spec: GridSpec, x, y, z, v) -> tuple[np.ndarray, np.ndarray]:
    """Flat voxel index and value of the samples inside the grid with a finite value."""
    index = spec.locate(x, y, z)
    ok = (index >= 0) & np.isfinite(v)
    return index[ok], v[ok]


def _median(spec: GridSpec, x, y, z, v, count: np.ndarray) -> np.ndarray:
    idx, vals = _indexed(spec, x, y, z, v)
    order = np.lexsort((vals, idx))
    svals = vals[order]
    starts = np.concatenate(([0], np.cumsum(count)[:-1]))
    out = np.full(count.shape, np.nan)
    has = count > 0
    lo = starts[has] + (count[has] - 1) // 2
    hi = starts[has] + count[has] // 2
    out[has] = 0.5 * (svals[lo] + svals[hi])
    return out


def block_statistics(
    spec: GridSpec,
    coordinates: Sequence[ArrayLike],
    values: ArrayLike,
    statistics: Iterable[str] = ("mean", "count", "std", "min", "max"),
) -> dict[str, np.ndarray]:
    """Statistics of the samples in each voxel.

    One compiled pass over the samples (numba, for :data:`NUMBA_MIN_SAMPLES` or more, or when
    numba is loaded already; a bincount/sort numpy path otherwise or without numba).
    Samples outside the region or with NaN value or position are skipped. A sample on the
    outermost face (east, north, top) counts in the last voxel, as in
    :func:`scipy.stats.binned_statistic_dd`.

    Parameters
    ----------
    spec
        The grid (with a region).
    coordinates
        ``(x, y, z)``: local east, north (m) and vertical coordinate in ``spec.vertical``.
    values
        One value per sample.
    statistics
        Any of ``mean``, ``median``, ``count``, ``std`` (population, ddof=0), ``min``,
        ``max``, ``sum``.

    Returns
    -------
    dict
        Statistic name -> array of ``spec.shape``: NaN where a voxel has no sample
        (``count`` is 0 there, ``sum`` 0).

    Examples
    --------
    >>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
    >>> out = block_statistics(spec, ([0.5, 0.5, 1.5], [0.5] * 3, [0.5] * 3), [1, 3, 7],
    ...                        ["mean", "std", "count"])
    >>> out["mean"].ravel().tolist(), out["std"].ravel().tolist(), out["count"].ravel().tolist()
    ([2.0, 7.0], [1.0, 0.0], [2, 1])
    """
    statistics = list(dict.fromkeys(statistics))
    unknown = set(statistics) - set(STATISTICS)
    if unknown:
        raise ParameterError("statistics", f"unknown statistic(s) {sorted(unknown)} "
                             f"(known: {', '.join(STATISTICS)})")
    x, y, z = (np.ascontiguousarray(c, dtype=float).ravel() for c in coordinates)
    v = np.ascontiguousarray(values, dtype=float).ravel()
    if not (x.shape == y.shape == z.shape == v.shape):
        raise ValueError("coordinates and values differ in length")
    count, total, vmin, vmax, m2 = _one_pass(
        spec, x, y, z, v, "std" in statistics, bool({"min", "max"} & set(statistics)))
    empty = count == 0
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in statistics:
            if name == "count":
                arr = count
            elif name == "sum":
                arr = total
            elif name == "mean":
                arr = np.where(empty, np.nan, total / count)
            elif name == "std":
                arr = np.where(empty, np.nan, np.sqrt(m2 / count))
            elif name == "min":
                arr = vmin
            elif name == "max":
                arr = vmax
            else:  # median
                arr = _median(spec, x, y, z, v, count)
            out[name] = arr.reshape(spec.shape)
    return out
