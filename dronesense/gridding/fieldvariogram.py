"""A variogram of the noise-free field fitted to voxel means: geometric anisotropy with a
horizontal major axis (a plume is smooth along the wind, steep across it) and a vertical
range, the measurement noise taken off (or fitted as a nugget), at the short lags gridding
estimates draw on. :mod:`dronesense.gridding.errorvariance` builds the estimation variance
on it.

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
from dronesense.gridding.methods.kriging import NATIVE_MODELS

__all__ = ["CLASS_LAGS", "LAGS", "VARIOGRAM_GROUPS", "FieldVariogram",
           "fit_field_variogram"]

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
        r = np.sqrt((self.scaled(d) ** 2).sum(axis=-1))
        if self.model == "Stable":
            return self.sill * (1.0 - np.exp(-(r ** self.shape)))
        cor, rescale = NATIVE_MODELS[self.model]
        return self.sill * (1.0 - cor(r * rescale))


def _pairs(groups: SampleGroups, spacing, max_groups: int, seed: int):
    """Pairs of voxel means at most :data:`LAGS` voxels apart (horizontally or vertically):
    their lag vectors (``dy >= 0``), semivariances and noise shares."""
    from scipy.spatial import cKDTree

    dx, dy, dz = spacing
    g = groups.count.size
    pick = np.arange(g)
    if g > max_groups:
        pick = np.sort(np.random.default_rng(seed).choice(g, max_groups, replace=False))
    pos = groups.centre[pick] * np.array([1.0, 1.0, max(dx, dy) / dz])
    ij = cKDTree(pos).query_pairs(LAGS * max(dx, dy) + 1e-9, output_type="ndarray")
    i, j = pick[ij[:, 0]], pick[ij[:, 1]]
    d = groups.centre[i] - groups.centre[j]
    d = np.where((d[:, 1] < 0) | ((d[:, 1] == 0) & (d[:, 0] < 0)), -1.0, 1.0)[:, None] * d
    semi = 0.5 * (groups.mean[i] - groups.mean[j]) ** 2
    # a voxel mean of n samples carries noise / n: half of the pair's sum goes to the semi
    inv = 0.5 * (1.0 / groups.count[i] + 1.0 / groups.count[j])
    return d, semi, inv


#: Lag vectors kept per lag class to evaluate the model on.
CLASS_LAGS = 200


def _binned(d, semi, inv, spacing, seed=0):
    """Lag classes: on one level by horizontal lag (voxel-wide classes) and direction (four
    sectors), within a voxel horizontally by vertical lag (one class per level). Per class:
    pairs, mean semivariance, mean noise share, and up to :data:`CLASS_LAGS` of its lag
    vectors (the model is averaged over them)."""
    dx, dy, dz = spacing
    dh = np.hypot(d[:, 0], d[:, 1])
    dv = np.abs(d[:, 2])
    flat = dv < 0.5 * dz
    sector = np.floor((np.arctan2(d[:, 1], d[:, 0]) % np.pi) / (np.pi / 4) + 0.5) % 4
    h_edges = np.arange(0.0, LAGS * max(dx, dy) + dx, dx)
    v_edges = np.arange(0.5 * dz, LAGS * dz + dz, dz)
    classes = [(flat & (sector == q), dh, h_edges) for q in range(4)]
    classes.append((~flat & (dh <= max(dx, dy)), dv, v_edges))
    rng = np.random.default_rng(seed)
    n, raw, share, lags = [], [], [], []
    for sel, lag, edges in classes:
        where = np.flatnonzero(sel)
        k = np.searchsorted(edges, lag[where], side="right") - 1
        for b in range(edges.size - 1):
            members = where[k == b]
            if members.size < 10:
                continue
            n.append(members.size)
            raw.append(semi[members].mean())
            share.append(inv[members].mean())
            keep = members if members.size <= CLASS_LAGS else rng.choice(
                members, CLASS_LAGS, replace=False)
            lags.append(np.resize(d[keep], (CLASS_LAGS, 3)))
    return (np.asarray(n, dtype=float), np.asarray(lags).reshape(-1, CLASS_LAGS, 3),
            np.asarray(raw), np.asarray(share))


def fit_field_variogram(groups: SampleGroups, noise: float | None, spacing: Sequence[float],
                        *, model: str = "auto", max_groups: int = VARIOGRAM_GROUPS,
                        seed: int = 0) -> tuple[FieldVariogram, float]:
    """Fit a :class:`FieldVariogram` to voxel means, their noise taken off.

    Pairs of voxel means on one level (vertical lag under half a voxel) give horizontal
    semivariances in four direction sectors, pairs within a voxel horizontally the vertical
    ones, at lags up to :data:`LAGS` voxels (those the estimates draw on); the classes are
    fitted together (the model averaged over lag vectors of each class) by Cressie's
    weighted least squares, ``sum N_k (gamma_k / gamma(h_k) - 1)²``. A pair of means of
    ``n_i`` and ``n_j`` samples carries ``noise (1/n_i + 1/n_j) / 2`` of semivariance from
    the noise: with ``noise`` ``None`` that variance is fitted too (a nugget).
    ``model="auto"`` keeps the best fitting of ``Exponential``, ``Gaussian``,
    ``Spherical`` and ``Stable``.

    Returns
    -------
    variogram, noise
        The fitted variogram and the noise variance (given or fitted).
    """
    from scipy.optimize import least_squares

    spacing = tuple(float(s) for s in spacing)
    dx, _, dz = spacing
    d, semi, inv = _pairs(groups, spacing, max_groups, seed)
    ext_h = float(np.ptp(groups.centre[:, 0]) + np.ptp(groups.centre[:, 1])) / 2 or dx
    ext_v = float(np.ptp(groups.centre[:, 2])) or dz
    n, lags, raw, inv = _binned(d, semi, inv, spacing, seed)
    if n.size < 4 or not np.any(raw > 0):
        raise NoUsableDataError("too few voxel pairs to fit a variogram of the field")
    top = max(float(np.max(raw)), 1e-30)
    models = [*sorted(NATIVE_MODELS), "Stable"] if model == "auto" else [model]
    if any(m not in NATIVE_MODELS and m != "Stable" for m in models):
        raise ParameterError("model", f"unknown variogram model {model!r} (known: auto, "
                             f"{', '.join(sorted(NATIVE_MODELS))}, Stable)")
    free = noise is None
    best = None
    rh = min(ext_h / 4, LAGS * dx / 2)
    rv = min(ext_v / 4, LAGS * dz / 2) or dz
    for name in models:
        def resid(p, name=name):
            shape = p[5] if name == "Stable" else 1.0
            fv = FieldVariogram(name, *np.exp(p[:4]), p[4], shape)
            nug = np.exp(p[-1]) if free else noise
            g = np.maximum(fv.gamma(lags).mean(axis=1) + nug * inv, 1e-12 * top)
            return np.sqrt(n) * (raw / g - 1.0)

        for angle in (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4):
            p0 = np.array([math.log(top), math.log(rh), math.log(rh), math.log(rv), angle])
            lo = p0 - np.array([8.0, 4.0, 4.0, 4.0, np.pi / 2])
            hi = p0 + np.array([3.0, 3.0, 3.0, 3.0, np.pi / 2])
            if name == "Stable":
                p0, lo, hi = np.append(p0, 1.5), np.append(lo, 0.2), np.append(hi, 2.0)
            if free:
                p0 = np.append(p0, math.log(0.1 * top) - 1.0)
                lo = np.append(lo, math.log(top) - 25.0)
                hi = np.append(hi, math.log(top) + 1.0)
            fit = least_squares(resid, p0, method="trf", bounds=(lo, hi))
            if best is None or fit.cost < best[0]:
                q = fit.x
                major, minor, ang = math.exp(q[1]), math.exp(q[2]), float(q[4])
                if minor > major:
                    major, minor, ang = minor, major, ang + np.pi / 2
                shape = float(q[5]) if name == "Stable" else 1.0
                best = (fit.cost, FieldVariogram(name, math.exp(q[0]), major, minor,
                                                 math.exp(q[3]), float(ang % np.pi), shape),
                        float(np.exp(q[-1])) if free else float(noise))
    return best[1], best[2]
