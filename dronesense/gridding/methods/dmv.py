"""Kernel DM+V (Lilienthal et al. 2009): kernel mean, variance and confidence.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.gaussian import gaussian_filter
from dronesense.gridding.methods.base import BaseGridder, spec_for


def _kernel_sum(sigma: float, truncate: float) -> float:
    """Sum of the unnormalised discrete Gaussian ``exp(-k²/2σ²)`` that
    :func:`~dronesense.gridding.gaussian.gaussian_filter` uses (radius
    ``int(truncate σ + 0.5)``, as :func:`scipy.ndimage.gaussian_filter`)."""
    radius = int(truncate * float(sigma) + 0.5)
    if radius == 0:
        return 1.0
    k = np.arange(-radius, radius + 1, dtype=float)
    return float(np.exp(-0.5 * (k / float(sigma)) ** 2).sum())


def _linear(axes, values, points):
    """Multilinear interpolation on a regular grid, extrapolated linearly beyond the outer
    points: what ``scipy.interpolate.RegularGridInterpolator(axes, values,
    bounds_error=False, fill_value=None)`` gives, without importing scipy.interpolate.

    Examples
    --------
    >>> v = np.arange(8.0).reshape(2, 2, 2)
    >>> axes = (np.array([0.0, 1.0]),) * 3
    >>> _linear(axes, v, (np.array([0.5, 2.0]), np.array([0.5, 0.0]), np.array([0.5, 0.0])))
    array([3.5, 8. ])
    """
    if any(len(a) < 2 for a in axes):
        from scipy.interpolate import RegularGridInterpolator

        interp = RegularGridInterpolator(axes, values, bounds_error=False, fill_value=None)
        return interp(np.column_stack(points))
    lower, frac = [], []
    for grid, p in zip(axes, points, strict=True):
        p = np.asarray(p, dtype=float)
        i = np.clip(np.searchsorted(grid, p) - 1, 0, grid.size - 2)
        lower.append(i)
        frac.append((p - grid[i]) / (grid[i + 1] - grid[i]))
    out = np.zeros(np.shape(points[0]))
    for corner in itertools.product((0, 1), repeat=len(axes)):
        weight = np.ones_like(out)
        for up, f in zip(corner, frac, strict=True):
            weight = weight * (f if up else 1.0 - f)
        out = out + weight * values[tuple(i + up for i, up in zip(lower, corner, strict=True))]
    return out


# ----------------------------------------------------------------------------------------
class KernelDMV(BaseGridder):
    """Kernel DM+V: kernel-weighted mean, variance and confidence maps (Lilienthal et al.).

    Each sample spreads a Gaussian weight (widths ``sigma_h`` horizontally, ``sigma_v``
    vertically) over the voxels. With Ω the summed weight at a voxel, the confidence is
    ``α = 1 - exp(-(Ω/omega)²)``; the mean map is ``α R/Ω + (1-α) r0`` with R the weighted
    sum of the samples and r0 their overall mean; the variance map is built the same way
    from the squared residuals against the mean map at each sample, with v0 the overall
    variance. Computed on the grid by separable Gaussian filters of per-voxel sums, so the
    cost is independent of the number of samples after one block pass.

    Parameters
    ----------
    sigma_h, sigma_v
        Kernel standard deviations (m); ``None``: the spec's horizontal spacing and vertical
        spacing.
    omega
        Summed weight (in samples at distance 0) that gives confidence 1-1/e.
    support
        Mask voxels farther than this many voxels from data.

    References
    ----------
    Lilienthal, A. J., Reggente, M., Trincavelli, M., Blanco, J. L., Gonzalez, J. (2009).
    A statistical approach to gas distribution modelling with mobile robots — the Kernel
    DM+V algorithm. IROS 2009.
    """

    _spread = ("variance", "variance", "DM+V predictive variance")

    def __init__(self, sigma_h: float | None = None, sigma_v: float | None = None,
                 omega: float = 1.0, support: int = 1):
        self.sigma_h = sigma_h
        self.sigma_v = sigma_v
        self.omega = omega
        self.support = support

    def kernel_widths(self, spec) -> tuple[float, float, float]:
        """Kernel standard deviations in voxels of ``spec``, in array order ``(z, y, x)``."""
        dx, dy, dz = spec.spacing
        sh = float(self.sigma_h) if self.sigma_h is not None else max(dx, dy)
        sv = float(self.sigma_v) if self.sigma_v is not None else dz
        return (sv / dz, sh / dy, sh / dx)

    #: Kernel truncation, in kernel widths.
    TRUNCATE = 3.0

    def _filter(self, arr, sig):
        # gaussian_filter normalises its discrete kernel to sum 1; multiply by that sum so a
        # sample's own voxel gets weight exp(0) = 1, as in the paper's unnormalised kernel.
        # (sqrt(2 pi) sigma approximates the sum only for sigma of about a voxel or more: a
        # kernel narrower than the voxel would otherwise lose most of its weight.)
        norm = math.prod(_kernel_sum(s, self.TRUNCATE) for s in sig)
        return gaussian_filter(arr, sig, truncate=self.TRUNCATE) * norm

    def _maps(self, spec, coordinates, values):
        sig = self.kernel_widths(spec)
        stats = block_statistics(spec, coordinates, values, ["count", "sum"])
        count = stats["count"].astype(float)
        omega_map = self._filter(count, sig)
        r_map = self._filter(stats["sum"], sig)
        r0 = float(np.mean(values))
        v0 = float(np.var(values))
        alpha = 1.0 - np.exp(-((omega_map / float(self.omega)) ** 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(omega_map > 0, alpha * r_map / omega_map, 0.0) + (1 - alpha) * r0
        idx = spec.locate(*coordinates)
        ok = idx >= 0
        resid2 = (values[ok] - mean.ravel()[idx[ok]]) ** 2
        s2 = np.bincount(idx[ok], weights=resid2, minlength=spec.size).reshape(spec.shape)
        v_map = self._filter(s2, sig)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(omega_map > 0, alpha * v_map / omega_map, 0.0) + (1 - alpha) * v0
        return mean, var, alpha

    def _fit(self, coordinates, values, spec):
        if spec is None:
            spacing = (self.sigma_h or 10.0, self.sigma_h or 10.0, self.sigma_v or 2.0)
            spec = spec_for(coordinates, spacing)
        elif spec.region is None:
            spec = spec.fit(*coordinates)
        self.spec_ = spec
        self.mean_, self.variance_, self.confidence_ = self._maps(spec, coordinates, values)

    def _predict(self, coordinates):
        spec = self.spec_
        x, y, z = coordinates
        out = _linear((spec.z, spec.y, spec.x), self.mean_, (z, y, x))
        inside = spec.locate(x, y, z) >= 0
        return np.where(inside, out, np.nan)

    def _fields(self, spec):
        if spec == self.spec_:
            mean, var, alpha = self.mean_.copy(), self.variance_.copy(), self.confidence_.copy()
        else:
            mean, var, alpha = self._maps(spec, self.coordinates_, self.values_)
        return {"estimate": mean, "spread": var, "confidence": alpha}
