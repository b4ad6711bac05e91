"""A variogram of the noise-free field fitted to voxel means: geometric anisotropy with a
horizontal major axis (a plume is smooth along the wind, steep across it) and a vertical
range, the measurement noise taken off (or fitted as a nugget), at the short lags gridding
estimates draw on. :mod:`dronesense.gridding.errorvariance` builds the estimation variance
on it.

The fit is deterministic for a given set of voxel pairs: each lag class is represented by
a stratified quadrature of its own lag vectors (:data:`CLASS_NODES` strata, each by the mean
squared components of its lags, weighted by its share of the pairs), and the weighted least
squares are solved in numpy (:mod:`dronesense.gridding.fieldvariofit`): Levenberg-Marquardt
from the four best points of a coarse grid of azimuths and ranges, all at once.

References
----------
Cressie, N. (1985). Fitting variogram models by weighted least squares. *Math. Geol.* 17,
563-586. Journel, A. G., Huijbregts, C. J. (1978). *Mining Geostatistics*, ch. III
(anisotropy). Academic Press.

Examples
--------
>>> from dronesense.gridding.errorweights import sample_groups
>>> from dronesense.gridding.spec import GridSpec
>>> x = np.tile(np.arange(0.0, 300.0, 2.0), 8)
>>> y = np.repeat(np.arange(0.0, 160.0, 20.0), 150)
>>> z = np.full(x.size, 10.0)
>>> v = np.sin(y / 15.0) + 0.1 * np.sin(x / 40.0)    # steep across y, smooth along x
>>> spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
>>> fv, noise = fit_field_variogram(sample_groups(spec, (x, y, z), v), 0.0, spec.spacing,
...                                 model="Gaussian")
>>> bool(fv.range_major > 2 * fv.range_minor), bool(abs(np.sin(fv.angle)) < 0.3)
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.gridding.errorweights import SampleGroups
from dronesense.gridding.fieldvariofit import (
    LagClasses,
    fit_lag_classes,
    grid_starts,
    lag_features,
)
from dronesense.gridding.methods.kriging import NATIVE_MODELS

__all__ = ["CLASS_GEOMETRY", "CLASS_NODES", "LAGS", "VARIOGRAM_GROUPS", "FieldVariogram",
           "class_sums", "fit_field_variogram", "lag_class_of", "lag_classes", "voxel_pairs"]

#: The variogram is fitted to lags of up to this many voxels (what the estimates use).
LAGS = 8

#: Voxel means the variogram is fitted to (drawn at random beyond this).
VARIOGRAM_GROUPS = 20000


@dataclass
class FieldVariogram:
    """A variogram of the noise-free field with geometric anisotropy:
    ``gamma(h) = sill (1 - cor(r))``, ``r = sqrt(u² / range_major² + w² / range_minor² +
    dz² / range_v²)`` with ``(u, w)`` the horizontal lag along and across the azimuth
    ``angle`` (radians counter-clockwise from east) and ``cor`` a model of
    :data:`~dronesense.gridding.methods.kriging.NATIVE_MODELS` (as gstools scales it: a
    range is the length scale).

    Examples
    --------
    >>> g = FieldVariogram("Exponential", 2.0, 100.0, 50.0, 10.0)
    >>> round(float(g.gamma(np.array([100.0, 0.0, 0.0]))), 4), float(g.gamma(np.zeros(3)))
    (1.2642, 0.0)
    """

    model: str
    sill: float
    range_major: float
    range_minor: float
    range_v: float
    angle: float = 0.0
    shape: float = 1.0

    def scaled(self, points: np.ndarray) -> np.ndarray:
        """Points (or lag vectors, ``(..., 3)``) in the space where the variogram is
        isotropic with unit range."""
        p = np.asarray(points, dtype=float)
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.stack([(c * p[..., 0] + s * p[..., 1]) / self.range_major,
                         (-s * p[..., 0] + c * p[..., 1]) / self.range_minor,
                         p[..., 2] / self.range_v], axis=-1)

    def gamma(self, d: np.ndarray) -> np.ndarray:
        """Semivariance of lag vectors ``d`` (``(..., 3)``: dx, dy, dz)."""
        return self.gamma_scaled(np.sqrt((self.scaled(d) ** 2).sum(axis=-1)))

    def gamma_scaled(self, r: np.ndarray) -> np.ndarray:
        """Semivariance at distances ``r`` measured in the :meth:`scaled` space."""
        if self.model == "Stable":
            return self.sill * (1.0 - np.exp(-(r ** self.shape)))
        cor, rescale = NATIVE_MODELS[self.model]
        return self.sill * (1.0 - cor(r * rescale))


def voxel_pairs(groups: SampleGroups, spacing: Sequence[float],
                pick: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of voxel means at most :data:`LAGS` voxels apart (horizontally or vertically;
    among the groups ``pick``, default all): their lag vectors ``(P, 3)`` (``dy >= 0``),
    semivariances and noise shares (``(1/n_i + 1/n_j) / 2``)."""
    from scipy.spatial import cKDTree

    dx, dy, dz = spacing
    pick = np.arange(groups.count.size) if pick is None else np.sort(pick)
    pos = groups.centre[pick] * np.array([1.0, 1.0, max(dx, dy) / dz])
    ij = cKDTree(pos).query_pairs(LAGS * max(dx, dy) + 1e-9, output_type="ndarray")
    i, j = pick[ij[:, 0]], pick[ij[:, 1]]
    d = groups.centre[i] - groups.centre[j]
    d = np.where((d[:, 1] < 0) | ((d[:, 1] == 0) & (d[:, 0] < 0)), -1.0, 1.0)[:, None] * d
    semi = 0.5 * (groups.mean[i] - groups.mean[j]) ** 2
    # a voxel mean of n samples carries noise / n: half of the pair's sum goes to the semi
    inv = 0.5 * (1.0 / groups.count[i] + 1.0 / groups.count[j])
    return d, semi, inv


#: Lag vectors standing for each lag class: a stratified quadrature of its pairs' lags.
CLASS_NODES = 24

#: Strata of a horizontal class (by lag length, then direction) and of a vertical class (by
#: vertical lag, horizontal lag, then direction): their products are :data:`CLASS_NODES`.
H_STRATA, V_STRATA = (4, 6, 1), (2, 3, 4)


def _horizontal_bins(spacing: Sequence[float]) -> int:
    """Voxel-wide horizontal lag classes up to :data:`LAGS` voxels (of the longer side)."""
    dx, dy = float(spacing[0]), float(spacing[1])
    return np.arange(0.0, LAGS * max(dx, dy) + dx, dx).size - 1


def _sector(d: np.ndarray) -> np.ndarray:
    """Direction sector ``0..3`` of horizontal lags (east, north-east, north, north-west;
    45° wide)."""
    return np.floor((np.arctan2(d[:, 1], d[:, 0]) % np.pi) / (np.pi / 4) + 0.5) % 4


def lag_class_of(d: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """The lag class of each lag vector ``(P, 3)``, -1 outside them: on one level (vertical
    lag under half a voxel) ``sector * H + b`` for the horizontal lag ``b`` voxels (``b <
    H``, voxel-wide classes up to :data:`LAGS` voxels) in direction sector ``0..3``
    (east, north-east, north, north-west, 45° wide); within a voxel horizontally
    ``4 H + b`` for the vertical lag ``b + 1`` levels (``b < LAGS``)."""
    dx, dy, dz = (float(s) for s in spacing)
    step = max(dx, dy)
    dh = np.hypot(d[:, 0], d[:, 1])
    dv = np.abs(d[:, 2])
    sector = _sector(d)
    n_h = _horizontal_bins(spacing)
    h_bin = np.floor(dh / dx).astype(np.int64)
    v_bin = np.floor((dv - 0.5 * dz) / dz).astype(np.int64)
    return np.where(dv < 0.5 * dz,
                    np.where(h_bin < n_h, sector.astype(np.int64) * n_h + h_bin, -1),
                    np.where((dh <= step) & (v_bin < LAGS), 4 * n_h + v_bin, -1))


def class_sums(d: np.ndarray, semi: np.ndarray, inv: np.ndarray, spacing: Sequence[float],
               cls: np.ndarray | None = None) -> np.ndarray:
    """Pairs, sum of semivariances and of noise shares per lag class (``cls``, default
    :func:`lag_class_of`), ``(3, C)``."""
    size = 4 * _horizontal_bins(spacing) + LAGS
    cls = lag_class_of(d, spacing) if cls is None else cls
    ok = cls >= 0
    return np.stack([np.bincount(cls[ok], minlength=size).astype(float),
                     np.bincount(cls[ok], semi[ok], size), np.bincount(cls[ok], inv[ok], size)])


#: Pairs of a class (at most) its strata are made of: a deterministic, evenly spread choice.
CLASS_GEOMETRY = 5000


def lag_classes(d: np.ndarray, semi: np.ndarray, inv: np.ndarray,
                spacing: Sequence[float]) -> LagClasses:
    """The lag classes (:func:`lag_class_of`) of at least 10 of the pairs
    (:func:`voxel_pairs`). Per class: pairs, mean semivariance, mean noise share and
    :data:`CLASS_NODES` lags standing for its pairs: the strata of its pairs (of
    :data:`CLASS_GEOMETRY` of them at most; horizontal classes by lag length then direction,
    vertical ones by vertical lag, horizontal lag, direction), each by its pairs' mean
    :func:`~dronesense.gridding.fieldvariofit.lag_features` weighted by its share of the
    pairs."""
    dz = float(spacing[2])
    cls = lag_class_of(d, spacing)
    sums = class_sums(d, semi, inv, spacing, cls)
    count = sums[0]
    keep = np.flatnonzero(count >= 10)
    label = np.full(count.size, -1)
    label[keep] = np.arange(keep.size)
    use = np.flatnonzero(cls >= 0)
    k = label[cls[use]]
    use, k = use[k >= 0], k[k >= 0]
    # a Weyl sequence of the pair's index: an even spread of each class's pairs
    spread = (use * 0.6180339887498949) % 1.0
    chosen = spread < np.minimum(1.0, CLASS_GEOMETRY / count[keep])[k]
    use, k = use[chosen], k[chosen]
    present = np.bincount(k, minlength=keep.size)
    dh = np.hypot(d[use, 0], d[use, 1])
    dv = np.abs(d[use, 2])
    direction = np.arctan2(d[use, 1], d[use, 0]) % np.pi
    sector = _sector(d[use])
    flat = dv < 0.5 * dz
    n = count[keep]
    raw, share = sums[1, keep] / n, sums[2, keep] / n
    vert = ~flat
    rel = (direction - sector * np.pi / 4 + np.pi / 2) % np.pi - np.pi / 2
    keys = (np.where(vert, dv, dh), np.where(vert, dh, rel), np.where(vert, direction, rel))
    strata = np.where(vert[:, None], V_STRATA, H_STRATA)
    widest = np.maximum(H_STRATA, V_STRATA)
    group = k.astype(np.int64)
    for level, key in enumerate(keys):
        order = np.lexsort((key, group))
        g = group[order]
        start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        size = np.diff(np.r_[start, g.size])
        pos = np.arange(g.size) - np.repeat(start, size)
        group[order] = g * widest[level] + pos * strata[order, level] // np.repeat(size, size)
    # a stratum stands for its pairs by the mean of their (dx², dx dy, dy², dz²): the mean
    # squared scaled lag of any anisotropic model is exact, only its curvature is not
    g = np.unique(group, return_inverse=True)[1]
    size = np.bincount(g).astype(float)
    node_class = np.zeros(size.size, dtype=np.int64)
    node_class[g] = k
    quad = lag_features(d[use])
    means = np.column_stack([np.bincount(g, quad[:, i], size.size)
                             for i in range(4)]) / size[:, None]
    first = np.flatnonzero(np.r_[True, node_class[1:] != node_class[:-1]])
    slot = np.arange(node_class.size) - np.repeat(first, np.diff(np.r_[first,
                                                                      node_class.size]))
    features = np.zeros((keep.size, CLASS_NODES, 4))
    weights = np.zeros((keep.size, CLASS_NODES))
    features[node_class, slot] = means
    weights[node_class, slot] = size / present[node_class]
    return LagClasses(n, raw, share, features, weights, keep)


def fit_field_variogram(groups: SampleGroups, noise: float | None, spacing: Sequence[float],
                        *, model: str = "auto", max_groups: int = VARIOGRAM_GROUPS,
                        seed: int = 0) -> tuple[FieldVariogram, float]:
    """Fit a :class:`FieldVariogram` to voxel means, their noise taken off.

    Pairs of voxel means on one level (vertical lag under half a voxel) give horizontal
    semivariances in four direction sectors, pairs within a voxel horizontally the vertical
    ones, at lags up to :data:`LAGS` voxels (those the estimates draw on); the classes are
    fitted together (the model averaged over :data:`CLASS_NODES` strata of each class's
    lags, :func:`lag_classes`) by Cressie's weighted least squares,
    ``sum N_k (gamma_k / gamma(h_k) - 1)²``
    (:func:`~dronesense.gridding.fieldvariofit.fit_lag_classes`, from the best points of a
    coarse grid, :func:`~dronesense.gridding.fieldvariofit.grid_starts`). A pair of means
    of ``n_i`` and ``n_j`` samples carries ``noise (1/n_i + 1/n_j) / 2`` of semivariance
    from the noise: with ``noise`` ``None`` that variance is fitted too (a nugget).
    ``model="auto"`` keeps the best fitting of ``Exponential``, ``Gaussian``, ``Spherical``
    and ``Stable``. The pairs are those of all voxel means when there are at most
    ``max_groups`` of them (the fit is then deterministic), else of ``max_groups`` of them
    drawn at random (``seed``).

    Returns
    -------
    variogram, noise
        The fitted variogram and the noise variance (given or fitted).
    """
    spacing = tuple(float(s) for s in spacing)
    dx, _, dz = spacing
    models = [*sorted(NATIVE_MODELS), "Stable"] if model == "auto" else [model]
    if any(m not in NATIVE_MODELS and m != "Stable" for m in models):
        raise ParameterError("model", f"unknown variogram model {model!r} (known: auto, "
                             f"{', '.join(sorted(NATIVE_MODELS))}, Stable)")
    g = groups.count.size
    pick = None if g <= max_groups else np.random.default_rng(seed).choice(
        g, max_groups, replace=False)
    d, semi, inv = voxel_pairs(groups, spacing, pick)
    ext_h = float(np.ptp(groups.centre[:, 0]) + np.ptp(groups.centre[:, 1])) / 2 or dx
    ext_v = float(np.ptp(groups.centre[:, 2])) or dz
    classes = lag_classes(d, semi, inv, spacing)
    if classes.pairs.size < 4:
        raise NoUsableDataError("too few voxel pairs to fit a variogram of the field")
    if not np.any(classes.semivariance > 0):
        raise NoUsableDataError("the voxel means do not vary: no variogram to fit")
    top = max(float(np.max(classes.semivariance)), 1e-30)
    free = noise is None
    rh = min(ext_h / 4, LAGS * dx / 2)
    rv = min(ext_v / 4, LAGS * dz / 2) or dz
    best = None
    for name in models:
        p0 = np.array([math.log(top), math.log(rh), math.log(rh), math.log(rv), 0.0])
        lo = p0 - np.array([8.0, 4.0, 4.0, 4.0, np.pi])
        hi = p0 + np.array([3.0, 3.0, 3.0, 3.0, np.pi])
        if name == "Stable":
            p0, lo, hi = np.append(p0, 1.5), np.append(lo, 0.2), np.append(hi, 2.0)
        if free:
            p0 = np.append(p0, math.log(0.1 * top) - 1.0)
            lo = np.append(lo, math.log(top) - 25.0)
            hi = np.append(hi, math.log(top) + 1.0)
        starts = grid_starts(classes, name, noise, p0, lo, hi)
        q, cost = fit_lag_classes(classes, name, noise, starts, lo, hi)
        if best is None or cost < best[0]:
            major, minor, ang = math.exp(q[1]), math.exp(q[2]), float(q[4])
            if minor > major:
                major, minor, ang = minor, major, ang + np.pi / 2
            shape = float(q[5]) if name == "Stable" else 1.0
            best = (cost, FieldVariogram(name, math.exp(q[0]), major, minor, math.exp(q[3]),
                                         float(ang % np.pi), shape),
                    float(np.exp(q[-1])) if free else float(noise))
    return best[1], best[2]
