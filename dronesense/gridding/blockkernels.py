"""The compiled kernels of :mod:`dronesense.gridding.blocks` (numba).

In a module of their own so that numba, whose import and cache load cost most of a second,
is loaded only when the compiled pass pays for itself (:func:`~dronesense.gridding.blocks.
block_statistics` on large samples, or in a process that already loaded numba). Cached on
disk (``cache=True``).
"""

from __future__ import annotations

import numba

__all__ = ["bin_kernel", "m2_kernel"]


@numba.njit(inline="always")
def voxel_index(x, y, z, lo, d, nx, ny, nz):  # pragma: no cover
    fx = (x - lo[0]) / d[0]
    fy = (y - lo[1]) / d[1]
    fz = (z - lo[2]) / d[2]
    # comparisons are False for NaN, so NaN positions fall out here
    if not (fx >= 0 and fx <= nx and fy >= 0 and fy <= ny and fz >= 0 and fz <= nz):
        return -1
    return (min(int(fz), nz - 1) * ny + min(int(fy), ny - 1)) * nx + min(int(fx), nx - 1)


@numba.njit(cache=True, nogil=True)
def bin_kernel(x, y, z, v, lo, d, n, minmax, count, total, vmin, vmax):  # pragma: no cover
    nx, ny, nz = n[0], n[1], n[2]
    for i in range(v.shape[0]):
        val = v[i]
        if val != val:
            continue
        k = voxel_index(x[i], y[i], z[i], lo, d, nx, ny, nz)
        if k < 0:
            continue
        if minmax:
            if count[k] == 0:
                vmin[k] = val
                vmax[k] = val
            else:
                if val < vmin[k]:
                    vmin[k] = val
                if val > vmax[k]:
                    vmax[k] = val
        count[k] += 1
        total[k] += val


@numba.njit(cache=True, nogil=True)
def m2_kernel(x, y, z, v, lo, d, n, mean, m2):  # pragma: no cover
    nx, ny, nz = n[0], n[1], n[2]
    for i in range(v.shape[0]):
        val = v[i]
        if val != val:
            continue
        k = voxel_index(x[i], y[i], z[i], lo, d, nx, ny, nz)
        if k >= 0:
            r = val - mean[k]
            m2[k] += r * r
