"""Block means: the per-voxel statistics as a gridder.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from dronesense.errors import ParameterError
from dronesense.gridding.blocks import NUMBA_MIN_SAMPLES, block_statistics
from dronesense.gridding.dataset import grid_dataset, statistic_variables
from dronesense.gridding.methods.base import BaseGridder, spec_for
from dronesense.quantities import Quantity


# ----------------------------------------------------------------------------------------
class BlockReduce(BaseGridder):
    """Block statistics per voxel: the plain, assumption-free product.

    Parameters
    ----------
    statistic
        The estimate: ``mean`` or ``median``.
    statistics
        All statistics to carry (``mean``, ``median``, ``count``, ``std``, ``min``, ``max``).

    Examples
    --------
    >>> from dronesense.gridding.spec import GridSpec
    >>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
    >>> m = BlockReduce().fit(([0.5, 0.5, 1.5], [0.5] * 3, [0.5] * 3), [1, 3, 7], spec=spec)
    >>> m.predict(([0.2, 1.9], [0.5, 0.5], [0.5, 0.5])).tolist()
    [2.0, 7.0]
    """

    def __init__(self, statistic: str = "mean",
                 statistics: tuple[str, ...] = ("mean", "count", "std", "min", "max")):
        self.statistic = statistic
        self.statistics = statistics

    def _fit(self, coordinates, values, spec):
        if self.statistic not in ("mean", "median"):
            raise ParameterError("statistic", f"the block estimate must be mean or median, "
                                 f"not {self.statistic!r}")
        if spec is None:
            raise ValueError("BlockReduce.fit needs the grid spec")
        if spec.region is None:
            spec = spec.fit(*coordinates)
            self.spec_ = spec
        stats = tuple(dict.fromkeys([self.statistic, "count", *self.statistics]))
        self.statistics_ = block_statistics(spec, coordinates, values, stats)

    def _predict(self, coordinates):
        idx = self.spec_.locate(*coordinates)
        est = self.statistics_[self.statistic].ravel()
        return np.where(idx >= 0, est[np.maximum(idx, 0)], np.nan)

    def grid(self, spec=None, *, quantity=None, history="", times=None):
        self._check_fitted()
        spec = spec or self.spec_
        stats = self.statistics_ if spec == self.spec_ else block_statistics(
            spec, self.coordinates_, self.values_, self.statistics_.keys())
        if isinstance(quantity, str) or quantity is None:
            from dronesense.gridding.coordinates import quantity_for

            quantity = (quantity_for(xr.Dataset(), quantity) if quantity
                        else Quantity("value", "value", "1", "1"))
        keep = [s for s in stats if s in set(self.statistics) | {self.statistic, "count"}]
        variables = statistic_variables({k: stats[k] for k in keep}, quantity, spec,
                                        primary=self.statistic)
        return grid_dataset(spec, variables, made_by=repr(self), history=history or repr(self),
                            times=times, title=f"dronesense 3D grid of {quantity.long_name}")


# ----------------------------------------------------------------------------------------
def block_means(coordinates, values, spec, block_spacing):
    """Block-mean positions and values (means of the samples in each block), in flat voxel
    order: what :func:`~dronesense.gridding.blocks.block_statistics` gives for the values
    and for each coordinate, from one pass locating the samples (below
    :data:`~dronesense.gridding.blocks.NUMBA_MIN_SAMPLES`; above, its compiled passes)."""
    if block_spacing is not None:
        bspec = spec_for(coordinates, block_spacing)
    elif spec is not None:
        bspec = spec if spec.region is not None else spec.fit(*coordinates)
    else:
        return coordinates, values, np.ones(values.shape, dtype=np.int64)
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    if v.size >= NUMBA_MIN_SAMPLES:  # large: block_statistics' compiled passes, as before
        stats = block_statistics(bspec, (x, y, z), v, ["mean", "count"])
        has = stats["count"].ravel() > 0
        out = [block_statistics(bspec, (x, y, z), c, ["mean"])["mean"].ravel()[has]
               for c in (x, y, z)]
        return tuple(out), stats["mean"].ravel()[has], stats["count"].ravel()[has]
    index = bspec.locate(x, y, z)
    inside = index >= 0
    size = bspec.size

    def sums(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = inside & np.isfinite(a)  # as block_statistics skips a NaN value
        return (np.bincount(index[ok], minlength=size),
                np.bincount(index[ok], weights=a[ok], minlength=size))

    count, total = sums(v)
    has = count > 0
    out = []
    for c in (x, y, z):
        n, t = sums(c)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append((t / n)[has])
    return tuple(out), total[has] / count[has], count[has]
