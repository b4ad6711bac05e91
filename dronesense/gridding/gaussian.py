"""Gaussian smoothing of small grids with zero padding, in numpy.

The same values as :func:`scipy.ndimage.gaussian_filter1d` and
:func:`scipy.ndimage.gaussian_filter` with ``mode="constant"`` (``cval=0``): the kernel is
``exp(-k²/2σ²)`` for ``|k| <= int(truncate σ + 0.5)``, normalised to sum 1, and the sums are
made in the order scipy makes them (the centre, then the symmetric pairs from the outermost
in), so the results are the same to the last bit. The grids of a survey are small: this
spares the import of :mod:`scipy.ndimage` (a noticeable part of a ``grid`` command).

Examples
--------
>>> gaussian_filter1d(np.array([0.0, 0.0, 1.0, 0.0, 0.0]), 1.0).round(3)
array([0.054, 0.242, 0.399, 0.242, 0.054])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["gaussian_filter", "gaussian_filter1d", "gaussian_kernel"]


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Normalised weights ``exp(-k²/2σ²)`` for ``k = -r..r``, ``r = int(truncate σ + 0.5)``.

    Examples
    --------
    >>> gaussian_kernel(0.1).tolist()
    [1.0]
    """
    sigma = float(sigma)
    radius = int(float(truncate) * sigma + 0.5)
    k = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 / (sigma * sigma) * k**2)
    return w / w.sum()


def gaussian_filter1d(arr: ArrayLike, sigma: float, axis: int = -1,
                      truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing of ``arr`` along ``axis``, zero outside (float64 result)."""
    a = np.asarray(arr, dtype=float)
    w = gaussian_kernel(sigma, truncate)
    r = w.size // 2
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    out = a * w[r]
    for j in range(r, 0, -1):  # outermost pair first, as scipy sums them
        if j >= n:
            continue
        pair = np.zeros_like(a)
        pair[..., j:] += a[..., :-j]   # a[i - j]
        pair[..., :-j] += a[..., j:]   # a[i + j]
        out += pair * w[r - j]
    return np.moveaxis(out, -1, axis)


def gaussian_filter(arr: ArrayLike, sigma: float | Sequence[float],
                    truncate: float = 4.0) -> np.ndarray:
    """Separable Gaussian smoothing over every axis (``sigma`` one per axis or one for all;
    axes with a zero ``sigma`` are left as they are), zero outside.

    Examples
    --------
    >>> gaussian_filter(np.ones((3, 3)), (0.0, 1.0))[0].round(3)
    array([0.695, 0.883, 0.695])
    """
    out = np.asarray(arr, dtype=float)
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=float), (out.ndim,))
    for axis, s in enumerate(sigmas):
        if s > 1e-15:
            out = gaussian_filter1d(out, float(s), axis, truncate)
    return out
