"""Inverse-distance weighting of block means.
"""

from __future__ import annotations

import numpy as np

from dronesense.gridding.methods.base import BaseGridder, centres_at
from dronesense.gridding.methods.block import block_means


class IDW(BaseGridder):
    """Inverse-distance weighting of block means with a k-d tree.

    Distances are anisotropic: vertical differences are multiplied by ``anisotropy``.

    Parameters
    ----------
    k
        Number of neighbours.
    radius
        Only neighbours within this (scaled) distance in metres; ``None`` for no limit.
    power
        Weights are ``1 / distance**power``.
    anisotropy
        Horizontal metres one vertical metre is worth.
    block_spacing
        Reduce samples to block means on this ``(dx, dy, dz)`` first; ``None`` uses the
        spec's voxels given to :meth:`fit` (raw samples when there is no spec).
    support
        Mask voxels farther than this many voxels from data (0: only voxels with data).
    """

    _spread = ("std", "standard_deviation", "weighted standard deviation of the neighbours")

    def __init__(self, k: int = 8, radius: float | None = None, power: float = 2.0,
                 anisotropy: float = 5.0, block_spacing: tuple | None = None,
                 support: int = 1):
        self.k = k
        self.radius = radius
        self.power = power
        self.anisotropy = anisotropy
        self.block_spacing = block_spacing
        self.support = support

    def _scaled(self, coordinates):
        x, y, z = coordinates
        return np.column_stack([x, y, z * float(self.anisotropy)])

    def _fit(self, coordinates, values, spec):
        self.block_coordinates_, self.block_values_, self.block_counts_ = block_means(
            coordinates, values, spec, self.block_spacing)
        from scipy.spatial import cKDTree

        self.tree_ = cKDTree(self._scaled(self.block_coordinates_))

    def _neighbours(self, coordinates) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the ``k`` nearest block means (scaled coordinates)."""
        k = min(int(self.k), self.block_values_.size)
        dist, idx = self.tree_.query(
            self._scaled(coordinates), k=k,
            distance_upper_bound=np.inf if self.radius is None else float(self.radius),
            workers=-1)
        return dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)

    def _inverse_distance(self, dist: np.ndarray) -> np.ndarray:
        """Unnormalised weights ``1 / dist**power`` (0 where no neighbour was found)."""
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(dist),
                            1.0 / np.maximum(dist, 1e-12) ** float(self.power), 0.0)

    def neighbour_weights(self, coordinates) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``block_values_`` (-1: none) and normalised weights, ``(T, k)``, of
        the block means the estimate at each point combines."""
        dist, idx = self._neighbours(coordinates)
        w = self._inverse_distance(dist)
        wsum = w.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            w = np.where(wsum > 0, w / wsum, 0.0)
        return np.where(np.isfinite(dist), idx, -1), w

    def _weights(self, coordinates):
        dist, idx = self._neighbours(coordinates)
        found = np.isfinite(dist)
        w = self._inverse_distance(dist)
        vals = np.where(found, self.block_values_[np.minimum(idx, self.block_values_.size - 1)],
                        0.0)
        return w, vals

    def _predict(self, coordinates):
        w, vals = self._weights(coordinates)
        wsum = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(wsum > 0, (w * vals).sum(axis=1) / wsum, np.nan)

    def _fields(self, spec, where=None):
        points, fill = centres_at(spec, where)
        w, vals = self._weights(points)
        wsum = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            est = (w * vals).sum(axis=1) / wsum
            var = (w * (vals - est[:, None]) ** 2).sum(axis=1) / wsum
        return {"estimate": fill(est), "spread": fill(np.sqrt(var))}
