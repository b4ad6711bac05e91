"""The weights each gridding method gives the samples at a voxel.

Every method of :mod:`dronesense.gridding.methods` estimates a voxel as a linear
combination of means of groups of samples: ``z_hat(v) = sum_g w_g zbar_g``, the groups being
the voxels (:class:`~dronesense.gridding.methods.BlockReduce`,
:class:`~dronesense.gridding.methods.KernelDMV`), the blocks whose means are interpolated
(:class:`~dronesense.gridding.methods.IDW`, :class:`~dronesense.gridding.methods.Kriging`)
and, for DM+V, the mean of all samples (the prior ``r0`` weighted by one minus the
confidence; taken as a few random parts of the samples). :func:`voxel_weights`
re-derives those weights from a fitted method's public parameters and fitted attributes,
exactly: ``VoxelWeights.estimate()`` equals the method's
own grid at those voxels (to rounding). The estimation variance of
:mod:`dronesense.gridding.errorvariance` is built on them.

Examples
--------
>>> from dronesense.gridding.methods import IDW
>>> from dronesense.gridding.spec import GridSpec
>>> rng = np.random.default_rng(0)
>>> x, y, z = rng.uniform(0, 100, (3, 500))
>>> spec = GridSpec((10, 10, 10), (52, 5, 0), region=(0, 100, 0, 100, 0, 100))
>>> idw = IDW(k=4).fit((x, y, z), x / 10, spec=spec)
>>> w = voxel_weights(idw, np.array([0, 555]))
>>> grid = idw.grid()["value"].values.ravel()
>>> bool(np.allclose(w.estimate(), grid[[0, 555]]))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dronesense.errors import ParameterError
from dronesense.gridding.gaussian import gaussian_kernel
from dronesense.gridding.methods.base import BaseGridder, spec_for
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging
from dronesense.gridding.spec import GridSpec

__all__ = ["SampleGroups", "VoxelWeights", "check_linear", "compact_weights", "sample_groups",
           "voxel_weights"]


@dataclass
class SampleGroups:
    """Groups of samples whose means a method combines.

    Attributes
    ----------
    count
        Samples per group, ``(G,)``.
    centre
        Mean position of each group's samples, ``(G, 3)`` (x, y, z).
    mean
        Mean value of each group's samples, ``(G,)``.
    reps
        Positions of up to ``m`` samples of each group spread along it (in sample order),
        ``(G, m, 3)``, NaN where a group has fewer samples.
    nreps
        Number of valid representatives per group.
    voxel
        For groups made on a grid spec: the group of each flat voxel index (-1: no samples).
    """

    count: np.ndarray
    centre: np.ndarray
    mean: np.ndarray
    reps: np.ndarray
    nreps: np.ndarray
    voxel: np.ndarray | None = None

    def with_all_samples(self, coordinates, values, parts: int,
                         seed: int = 0) -> tuple[SampleGroups, np.ndarray]:
        """These groups plus ``parts`` last groups: a random partition of every sample (a
        weight on the mean of all samples is the same weight spread over the parts by their
        counts, returned as the second value)."""
        pts = np.column_stack([np.asarray(c, dtype=float) for c in coordinates])
        v = np.asarray(values, dtype=float)
        m = self.reps.shape[1]
        pieces = [p for p in np.array_split(np.random.default_rng(seed).permutation(v.size),
                                            max(1, min(parts, v.size))) if p.size]
        count = np.array([p.size for p in pieces])
        reps = np.full((len(pieces), m, 3), np.nan)
        for i, p in enumerate(pieces):
            reps[i, :min(m, p.size)] = pts[p[:m]]
        grown = SampleGroups(
            np.append(self.count, count),
            np.vstack([self.centre, [pts[p].mean(axis=0) for p in pieces]]),
            np.append(self.mean, [v[p].mean() for p in pieces]),
            np.concatenate([self.reps, reps]), np.append(self.nreps, np.minimum(count, m)),
            self.voxel)
        return grown, count / v.size


def sample_groups(spec: GridSpec, coordinates, values, m: int = 3) -> SampleGroups:
    """The samples grouped by the voxels of ``spec`` (voxels without samples left out, in
    flat voxel order: the order of :func:`~dronesense.gridding.methods.block.block_means`).

    Examples
    --------
    >>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
    >>> g = sample_groups(spec, ([0.5, 0.5, 1.5], [0.5] * 3, [0.5] * 3), [1.0, 3.0, 7.0])
    >>> g.count.tolist(), g.mean.tolist(), g.nreps.tolist()
    ([2, 1], [2.0, 7.0], [2, 1])
    """
    x, y, z = (np.asarray(c, dtype=float) for c in coordinates)
    v = np.asarray(values, dtype=float)
    flat = spec.locate(x, y, z)
    inside = flat >= 0
    counts = np.bincount(flat[inside], minlength=spec.size)
    voxel = np.full(spec.size, -1, dtype=np.int64)
    has = np.flatnonzero(counts)
    voxel[has] = np.arange(has.size)
    g = voxel[flat[inside]]
    n = counts[has]
    pts = np.column_stack([x, y, z])[inside]
    centre = np.column_stack([np.bincount(g, weights=pts[:, a], minlength=has.size)
                              for a in range(3)]) / n[:, None]
    mean = np.bincount(g, weights=v[inside], minlength=has.size) / n
    order = np.argsort(g, kind="stable")
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    nreps = np.minimum(n, m)
    reps = np.full((has.size, m, 3), np.nan)
    for j in range(m):
        ok = j < nreps
        pos = start[ok] + ((j + 0.5) * n[ok] / nreps[ok]).astype(np.int64)
        reps[ok, j] = pts[order[pos]]
    return SampleGroups(n, centre, mean, reps, nreps, voxel)


@dataclass
class VoxelWeights:
    """The weights of a method at some voxels: ``estimate = sum_k weights[:, k] *
    groups.mean[index[:, k]]`` (``index`` -1 and weight 0 for padding).

    Attributes
    ----------
    voxels
        Flat voxel indices (C order over ``(z, y, x)`` of the spec).
    index, weights
        ``(T, K)`` group indices and weights.
    groups
        The :class:`SampleGroups` the weights refer to.
    """

    voxels: np.ndarray
    index: np.ndarray
    weights: np.ndarray
    groups: SampleGroups

    def estimate(self) -> np.ndarray:
        """The method's estimate at the voxels, from the weights (NaN without weights)."""
        vals = self.groups.mean[np.maximum(self.index, 0)]
        est = (np.where(self.index >= 0, self.weights, 0.0) * vals).sum(axis=1)
        return np.where((self.index >= 0).any(axis=1), est, np.nan)


def compact_weights(index: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid entries of each row first, columns nobody uses dropped."""
    valid = (index >= 0) & (weights != 0)
    order = np.argsort(~valid, axis=1, kind="stable")
    index = np.take_along_axis(np.where(valid, index, -1), order, axis=1)
    weights = np.take_along_axis(np.where(valid, weights, 0.0), order, axis=1)
    k = max(1, int(valid.sum(axis=1).max(initial=0)))
    return index[:, :k], weights[:, :k]


def _centres(spec: GridSpec, voxels: np.ndarray) -> np.ndarray:
    iz, iy, ix = np.unravel_index(voxels, spec.shape)
    return np.column_stack([spec.x[ix], spec.y[iy], spec.z[iz]])


def check_linear(method: BaseGridder) -> None:
    """Raise :class:`~dronesense.errors.ParameterError` for a method whose estimate is not
    a weighted sum of the samples (block statistics other than the mean)."""
    statistic = getattr(method, "statistic", "mean")
    if isinstance(method, BlockReduce) and statistic != "mean":
        raise ParameterError("method", f"a block {statistic} is not linear in the samples: "
                             "its estimation variance needs statistic='mean'")


def _block(method: BlockReduce, spec, coordinates, values, voxels, m):
    check_linear(method)
    groups = sample_groups(spec, coordinates, values, m)
    return groups.voxel[voxels][:, None], np.ones((voxels.size, 1)), groups


def _idw(method: IDW, spec, coordinates, values, voxels, m):
    bspec = spec_for(coordinates, method.block_spacing) if method.block_spacing else spec
    groups = sample_groups(bspec, coordinates, values, m)
    index, w = method.neighbour_weights(tuple(_centres(spec, voxels).T))
    return index, w, groups


def _dmv(method: KernelDMV, spec, coordinates, values, voxels, m):
    groups = sample_groups(spec, coordinates, values, m)
    kernels = [gaussian_kernel(s, method.TRUNCATE) if s > 1e-15 else np.ones(1)
               for s in method.kernel_widths(spec)]
    offsets = np.stack(np.meshgrid(*[np.arange(k.size) - k.size // 2 for k in kernels],
                                   indexing="ij"), axis=-1).reshape(-1, 3)
    kw = np.einsum("i,j,k->ijk", *kernels).ravel()
    target = np.column_stack(np.unravel_index(voxels, spec.shape))
    nb = target[:, None, :] + offsets[None, :, :]
    shape = np.array(spec.shape)
    inside = ((nb >= 0) & (nb < shape)).all(axis=2)
    flat = np.ravel_multi_index(tuple(np.clip(nb, 0, shape - 1).transpose(2, 0, 1)), spec.shape)
    gid = np.where(inside, groups.voxel[flat], -1)
    w = np.where(gid >= 0, kw[None, :] * groups.count[np.maximum(gid, 0)], 0.0)
    index, w = compact_weights(gid, w)
    wsum = w.sum(axis=1, keepdims=True)
    alpha = method.confidence_.ravel()[voxels]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(wsum > 0, w / wsum, 0.0) * alpha[:, None]
    first = groups.mean.size
    groups, share = groups.with_all_samples(coordinates, values, max(1, 16 // max(m, 1)))
    prior = np.broadcast_to(first + np.arange(share.size), (voxels.size, share.size))
    index = np.column_stack([index, prior])
    return index, np.column_stack([w, (1.0 - alpha)[:, None] * share[None, :]]), groups


def _kriging(method: Kriging, spec, coordinates, values, voxels, m):
    bspec = spec_for(coordinates, method.kriged_spacing_)
    groups = sample_groups(bspec, coordinates, values, m)
    if groups.mean.size != method.block_values_.size or not np.allclose(
            groups.centre, np.column_stack(method.block_coordinates_)):
        raise ValueError("the kriged blocks could not be re-derived from the samples")
    index, weights = method.neighbour_weights(tuple(_centres(spec, voxels).T))
    return index, weights, groups


_RULES = ((BlockReduce, _block), (IDW, _idw), (KernelDMV, _dmv), (Kriging, _kriging))


def voxel_weights(method: BaseGridder, voxels: np.ndarray, *, reps: int = 3) -> VoxelWeights:
    """The weights a fitted method gives the sample groups at some voxels of its spec.

    Parameters
    ----------
    method
        A fitted :class:`BlockReduce` (mean), :class:`IDW`, :class:`KernelDMV` or
        :class:`Kriging` (its ``spec_`` has a region: fitted with a spec).
    voxels
        Flat voxel indices of ``method.spec_``.
    reps
        Sample positions kept per group (:attr:`SampleGroups.reps`).

    Raises
    ------
    ParameterError
        A method that is not linear in the samples (a block median) or not known here.
    """
    spec = method.spec_
    if spec is None or spec.region is None:
        raise ValueError("voxel_weights needs a method fitted with a grid spec")
    voxels = np.asarray(voxels, dtype=np.int64).ravel()
    for cls, rule in _RULES:
        if isinstance(method, cls):
            index, weights, groups = rule(method, spec, method.coordinates_, method.values_,
                                          voxels, int(reps))
            return VoxelWeights(voxels, index, weights, groups)
    raise ParameterError("method", f"no estimation weights for {type(method).__name__} "
                         "(known: BlockReduce, IDW, KernelDMV, Kriging)")
