"""Ordinary kriging of block means with a fitted variogram (gstools).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lu_factor, lu_solve
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from dronesense.errors import InputError, ParameterError
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.block import block_means


# ----------------------------------------------------------------------------------------
class Kriging(BaseGridder):
    """Ordinary kriging of block means with a fitted variogram and the kriging variance.

    The empirical variogram of the block means (vertical axis scaled by ``anisotropy``) is
    estimated and fitted with a gstools ``model``; the ordinary kriging system, with the fitted
    nugget as measurement error, is factorised once and solved for all voxels in chunks. The
    estimate is of the noise-free field; the variance is the ordinary kriging variance.
    Blocks are coarsened until at most ``max_points`` remain, so the
    dense solve stays tractable.

    Parameters
    ----------
    model
        gstools covariance model name: ``Exponential``, ``Gaussian``, ``Spherical``,
        ``Matern``...
    anisotropy
        Horizontal metres one vertical metre is worth.
    block_spacing
        Block size for the means; ``None``: the spec's voxels.
    max_points
        Upper bound on the number of block means kriged.
    neighbours
        Krige each voxel from this many nearest block means (moving neighbourhood: one small
        system per voxel, cost linear in the voxels); ``None`` solves the global system
        (exact, cost quadratic in the block means per voxel).
    support
        Mask voxels farther than this many voxels from data.
    """

    _spread = ("variance", "variance", "ordinary kriging variance")

    def __init__(self, model: str = "Exponential", anisotropy: float = 5.0,
                 block_spacing: tuple | None = None, max_points: int = 2000,
                 neighbours: int | None = 32, support: int = 1):
        self.model = model
        self.anisotropy = anisotropy
        self.block_spacing = block_spacing
        self.max_points = max_points
        self.neighbours = neighbours
        self.support = support

    def _fit(self, coordinates, values, spec):
        try:
            import gstools as gs
        except ImportError:
            raise InputError("kriging needs gstools (pip install 'dronesense[kriging]')") from None
        spacing = self.block_spacing or (spec.spacing if spec is not None else None)
        if spacing is None:
            raise ValueError("Kriging.fit needs a spec or block_spacing")
        spacing = np.asarray(spacing, dtype=float)
        while True:
            bc, bv, _ = block_means(coordinates, values, None, tuple(spacing))
            if bv.size <= int(self.max_points):
                break
            spacing = spacing * math.sqrt(2.0)
        self.block_coordinates_, self.block_values_ = bc, bv
        self.kriged_spacing_ = tuple(float(s) for s in spacing)
        pos = np.vstack([bc[0], bc[1], bc[2] * float(self.anisotropy)])
        try:
            model_cls = getattr(gs, self.model)
        except AttributeError:
            raise ParameterError("model", f"unknown variogram model {self.model!r}") from None
        model = model_cls(dim=3)
        extent = float(np.hypot(np.ptp(pos[0]), np.ptp(pos[1])) or 1.0)
        bins = np.linspace(0, extent / 2, 20)
        rng = np.random.default_rng(0)
        sample = min(bv.size, 2000)
        centres, gamma = gs.vario_estimate(pos, bv, bins, sampling_size=sample,
                                           sampling_seed=int(rng.integers(1 << 30)))
        ok = np.isfinite(gamma)
        try:
            model.fit_variogram(centres[ok], gamma[ok], nugget=True)
        except (RuntimeError, ValueError):
            model = model_cls(dim=3, var=float(np.var(bv)) or 1.0, len_scale=extent / 4)
        self.variogram_ = model
        # ordinary kriging system with the nugget as measurement error on the diagonal:
        # [[C + nugget I, 1], [1^T, 0]] [w, mu] = [c, 1]; factorised once here
        n = bv.size
        dist = cdist(pos.T, pos.T)
        mat = np.ones((n + 1, n + 1))
        mat[:n, :n] = model.covariance(dist) + model.nugget * np.eye(n)
        mat[n, n] = 0.0
        self._cov = mat[:n, :n].copy()  # with the nugget on the diagonal
        self._lu = lu_factor(mat)
        self._pos = pos
        self._tree = cKDTree(pos.T)

    def _run(self, coordinates):
        x, y, z = coordinates
        targets = np.column_stack([x, y, z * float(self.anisotropy)])
        n = self.block_values_.size
        if self.neighbours is not None and int(self.neighbours) < n:
            return self._run_local(targets, int(self.neighbours))
        model = self.variogram_
        out = np.empty(x.size)
        var = np.empty(x.size)
        step = max(1, 4_000_000 // (n + 1))
        for i in range(0, x.size, step):
            rhs = np.ones((n + 1, min(step, x.size - i)))
            rhs[:n] = model.covariance(cdist(self._pos.T, targets[i:i + step]))
            sol = lu_solve(self._lu, rhs)
            out[i:i + step] = sol[:n].T @ self.block_values_
            var[i:i + step] = model.var - np.einsum("ij,ij->j", sol[:n], rhs[:n]) - sol[n]
        return out, np.maximum(var, 0.0)

    def _run_local(self, targets, k):
        model = self.variogram_
        out = np.empty(len(targets))
        var = np.empty(len(targets))
        step = 4096
        for i in range(0, len(targets), step):
            t = targets[i:i + step]
            dist, idx = self._tree.query(t, k=k)
            a = np.ones((len(t), k + 1, k + 1))
            a[:, :k, :k] = self._cov[idx[:, :, None], idx[:, None, :]]
            a[:, k, k] = 0.0
            b = np.ones((len(t), k + 1))
            b[:, :k] = model.covariance(dist)
            sol = np.linalg.solve(a, b[..., None])[..., 0]
            out[i:i + step] = np.einsum("ij,ij->i", sol[:, :k], self.block_values_[idx])
            var[i:i + step] = model.var - np.einsum("ij,ij->i", sol[:, :k], b[:, :k]) - sol[:, k]
        return out, np.maximum(var, 0.0)

    def _predict(self, coordinates):
        return self._run(coordinates)[0]

    def _fields(self, spec):
        x, y, z = spec.centres()
        est, var = self._run((x.ravel(), y.ravel(), z.ravel()))
        return {"estimate": est.reshape(spec.shape), "spread": var.reshape(spec.shape)}
