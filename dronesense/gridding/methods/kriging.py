"""Ordinary kriging of block means with a fitted variogram.

The common covariance models (``Exponential``, ``Gaussian``, ``Spherical``) are computed
here with numpy and fitted to the least-squares problem gstools solves, in numpy
(:mod:`~dronesense.gridding.methods.variofit`); any other gstools model name (``Matern``,
``Stable``...) is fitted by gstools itself, imported only then (the ``kriging`` extra).
Voxels are kriged in batches: targets that share the same neighbourhood share one factorised
system (dual kriging).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dronesense.errors import InputError, ParameterError
from dronesense.gridding.methods.base import BaseGridder, centres_at
from dronesense.gridding.methods.block import block_means
from dronesense.gridding.methods.variofit import fit_separable


def _cor_exponential(h):
    return np.exp(-h)


def _cor_gaussian(h):
    return np.exp(-(h**2))


def _cor_spherical(h):
    h = np.minimum(np.abs(h), 1.0)
    return 1.0 - 1.5 * h + 0.5 * h**3


#: Covariance models computed without gstools: name -> (correlation of the rescaled
#: distance, rescale factor of the length scale), as gstools defines them.
NATIVE_MODELS = {
    "Exponential": (_cor_exponential, 1.0),
    "Gaussian": (_cor_gaussian, math.sqrt(math.pi) / 2.0),
    "Spherical": (_cor_spherical, 1.0),
}


def kriging_available(model: str = "Exponential") -> bool:
    """Whether :class:`Kriging` can fit ``model`` here: always for the native models, else
    when gstools is installed (checked without importing it, which takes most of a second).

    Examples
    --------
    >>> kriging_available(), kriging_available("Gaussian")
    (True, True)
    """
    if model in NATIVE_MODELS:
        return True
    from importlib.util import find_spec

    try:
        return find_spec("gstools") is not None
    except ValueError:  # a module object without a spec (e.g. set to None in sys.modules)
        return False


@dataclass
class Variogram:
    """A fitted covariance model: ``C(r) = var * cor(r / (len_scale / rescale))``, with the
    nugget apart (the variogram is ``var - C(r) + nugget``), as gstools names them.

    Examples
    --------
    >>> v = Variogram("Exponential", var=2.0, len_scale=10.0, nugget=0.1)
    >>> float(v.covariance(np.array([0.0]))[0]), round(float(v.variogram(10.0)), 4)
    (2.0, 1.3642)
    """

    model: str
    var: float = 1.0
    len_scale: float = 1.0
    nugget: float = 0.0

    def covariance(self, r: np.ndarray) -> np.ndarray:
        """Covariance at distance ``r`` (without the nugget)."""
        cor, rescale = NATIVE_MODELS[self.model]
        return self.var * cor(np.asarray(r, dtype=float) / (self.len_scale / rescale))

    def variogram(self, r: np.ndarray) -> np.ndarray:
        """Semivariance at distance ``r``."""
        return self.var - self.covariance(r) + self.nugget


def empirical_variogram(pos: np.ndarray, values: np.ndarray,
                        edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matheron semivariogram of ``values`` at points ``pos`` (``(dim, n)``) in distance bins.

    ``gamma_k = sum((v_i - v_j)**2) / (2 N_k)`` over the pairs with ``edges[k] <= d <
    edges[k+1]`` (0 in a bin without pairs, as gstools ``vario_estimate`` gives).

    Returns
    -------
    centres, gamma
        Bin centres and semivariances.

    Examples
    --------
    >>> pos = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    >>> empirical_variogram(pos, np.array([0.0, 1.0, 3.0]), np.array([0.0, 1.5, 2.5]))[1]
    array([1.25, 4.5 ])
    """
    from scipy.spatial.distance import pdist

    edges = np.asarray(edges, dtype=float)
    centres = (edges[:-1] + edges[1:]) / 2.0
    pts = np.ascontiguousarray(np.asarray(pos, dtype=float).T)
    d = pdist(pts)
    sq = pdist(np.asarray(values, dtype=float).reshape(-1, 1), "sqeuclidean")
    k = np.searchsorted(edges, d, side="right") - 1
    ok = (k >= 0) & (k < centres.size)
    nb = centres.size
    counts = np.bincount(k[ok], minlength=nb)[:nb]
    sums = np.bincount(k[ok], weights=sq[ok], minlength=nb)[:nb]
    return centres, sums / (2.0 * np.maximum(counts, 1))


def fit_variogram(model: str, centres: np.ndarray, gamma: np.ndarray) -> Variogram:
    """Fit ``var``, ``len_scale`` and ``nugget`` of a native model to an empirical variogram.

    The least-squares problem gstools ``CovModel.fit_variogram(..., nugget=True)`` solves
    (the soft-L1 loss, parameters bounded below by 0, starting from ``len_scale =
    mean(centres) * rescale``), solved by variable projection in numpy
    (:func:`~dronesense.gridding.methods.variofit.fit_separable`): its loss is never above
    that of gstools' fit (both compared in the tests); where the loss is flat the two differ
    by up to ~1e-3 in the parameters.

    Raises
    ------
    ValueError
        The empirical variogram is not finite, or zero everywhere (a constant field).
    """
    cor, rescale = NATIVE_MODELS[model]
    centres = np.asarray(centres, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    if not (np.isfinite(centres).all() and np.isfinite(gamma).all()) or centres.size < 3:
        raise ValueError("the empirical variogram has too few finite values to fit")
    if not np.any(gamma > 0):  # a constant field: no variogram to fit
        raise ValueError("the empirical variogram is zero everywhere")
    var, length, nugget = fit_separable(cor, centres, gamma, float(np.mean(centres)))
    return Variogram(model, var, length * rescale, nugget)


def _gstools_variogram(model_name: str, pos, values, bins, extent):
    """Fit a gstools model (names without a native implementation)."""
    try:
        import gstools as gs
    except ImportError:
        raise InputError(f"the {model_name} variogram model needs gstools (pip install "
                         "'dronesense[kriging]'; Exponential, Gaussian and Spherical do "
                         "not)") from None
    try:
        model_cls = getattr(gs, model_name)
    except AttributeError:
        raise ParameterError("model", f"unknown variogram model {model_name!r}") from None
    model = model_cls(dim=3)
    centres, gamma = gs.vario_estimate(pos, values, bins)
    ok = np.isfinite(gamma)
    try:
        model.fit_variogram(centres[ok], gamma[ok], nugget=True)
    except (RuntimeError, ValueError):
        model = model_cls(dim=3, var=float(np.var(values)) or 1.0, len_scale=extent / 4)
    return model


#: The empirical variogram is estimated from at most this many block means.
VARIOGRAM_POINTS = 2000


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an integer array and the index of each row's distinct row (as
    ``np.unique(rows, axis=0, return_inverse=True)``, by a hash of the rows, checked)."""
    mult = np.random.default_rng(0).integers(1, 1 << 62, rows.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        key = (rows.astype(np.int64) * mult).sum(axis=1)
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    patterns = rows[first]
    which = which.ravel()
    if not np.array_equal(patterns[which], rows):  # a hash collision: sort the rows
        patterns, which = np.unique(rows, axis=0, return_inverse=True)
        which = which.ravel()
    return patterns, which


# ----------------------------------------------------------------------------------------
class Kriging(BaseGridder):
    """Ordinary kriging of block means with a fitted variogram and the kriging variance.

    The empirical variogram of the block means (vertical axis scaled by ``anisotropy``) is
    estimated and fitted with the covariance ``model`` (nugget included); the ordinary
    kriging system, with the fitted nugget as measurement error, is solved in a moving
    neighbourhood (one small system per neighbourhood, shared by every target that has the
    same neighbours) or globally. The estimate is of the noise-free field; the variance is
    the ordinary kriging variance. Blocks are coarsened until at most ``max_points`` remain,
    so the solve stays tractable.

    Parameters
    ----------
    model
        Covariance model name: ``Exponential``, ``Gaussian``, ``Spherical`` (computed here),
        or any other gstools model (``Matern``, ``Stable``...: needs gstools).
    anisotropy
        Horizontal metres one vertical metre is worth.
    block_spacing
        Block size for the means; ``None``: the spec's voxels.
    max_points
        Upper bound on the number of block means kriged.
    neighbours
        Krige each voxel from this many nearest block means (moving neighbourhood: one small
        system per neighbourhood, cost linear in the voxels); ``None`` solves the global
        system (exact, cost quadratic in the block means per voxel).
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
        from scipy.spatial import cKDTree
        from scipy.spatial.distance import cdist

        spacing = self.block_spacing or (spec.spacing if spec is not None else None)
        if spacing is None:
            raise ValueError("Kriging.fit needs a spec or block_spacing")
        if not isinstance(self.model, str):
            raise ParameterError("model", f"must be a model name, not {self.model!r}")
        spacing = np.asarray(spacing, dtype=float)
        while True:
            bc, bv, _ = block_means(coordinates, values, None, tuple(spacing))
            if bv.size <= int(self.max_points):
                break
            spacing = spacing * math.sqrt(2.0)
        self.block_coordinates_, self.block_values_ = bc, bv
        self.kriged_spacing_ = tuple(float(s) for s in spacing)
        pos = np.vstack([bc[0], bc[1], bc[2] * float(self.anisotropy)])
        extent = float(np.hypot(np.ptp(pos[0]), np.ptp(pos[1])) or 1.0)
        bins = np.linspace(0, extent / 2, 20)
        if bv.size > VARIOGRAM_POINTS:  # the variogram of a random subset, as gstools samples
            seed = int(np.random.default_rng(0).integers(1 << 30))
            pick = np.random.RandomState(seed).choice(np.arange(bv.size), VARIOGRAM_POINTS,
                                                      replace=False)
            vpos, vval = pos[:, pick], bv[pick]
        else:
            vpos, vval = pos, bv
        if self.model in NATIVE_MODELS:
            centres, gamma = empirical_variogram(vpos, vval, bins)
            try:
                model = fit_variogram(self.model, centres, gamma)
            except (RuntimeError, ValueError):
                model = Variogram(self.model, var=float(np.var(bv)) or 1.0,
                                  len_scale=extent / 4)
        else:
            model = _gstools_variogram(self.model, vpos, vval, bins, extent)
        self.variogram_ = model
        n = bv.size
        # covariances between the block means, the nugget (measurement error) on the diagonal
        self._cov = model.covariance(cdist(pos.T, pos.T))
        self._cov[np.diag_indices(n)] += model.nugget
        self._pos = pos
        self._tree = cKDTree(pos.T)
        self._lu = None

    def _run(self, coordinates, variance: bool = True):
        x, y, z = coordinates
        targets = np.column_stack([x, y, z * float(self.anisotropy)])
        n = self.block_values_.size
        if self.neighbours is not None and int(self.neighbours) < n:
            return self._run_local(targets, int(self.neighbours), variance)
        return self._run_global(targets)

    def _run_global(self, targets):
        from scipy.linalg import lu_factor, lu_solve
        from scipy.spatial.distance import cdist

        model = self.variogram_
        n = self.block_values_.size
        if self._lu is None:
            # [[C + nugget I, 1], [1^T, 0]] [w, mu] = [c, 1]: factorised once
            mat = np.ones((n + 1, n + 1))
            mat[:n, :n] = self._cov
            mat[n, n] = 0.0
            self._lu = lu_factor(mat)
        out = np.empty(len(targets))
        var = np.empty(len(targets))
        step = max(1, 4_000_000 // (n + 1))
        for i in range(0, len(targets), step):
            t = targets[i:i + step]
            rhs = np.ones((n + 1, len(t)))
            rhs[:n] = model.covariance(cdist(self._pos.T, t))
            sol = lu_solve(self._lu, rhs)
            out[i:i + step] = sol[:n].T @ self.block_values_
            var[i:i + step] = model.var - np.einsum("ij,ij->j", sol[:n], rhs[:n]) - sol[n]
        return out, np.maximum(var, 0.0)

    def _run_local(self, targets, k, variance=True):
        """Moving-neighbourhood ordinary kriging, one system per neighbourhood.

        Targets whose ``k`` nearest block means are the same set (samples along a line,
        neighbouring voxels) share the system ``A``: the estimate is ``b . (A^-1 [v, 0])``
        (one solve per neighbourhood; ``A`` is symmetric) and the variance
        ``var - b . A^-1 b`` (``A`` inverted once per neighbourhood) with ``b = [c, 1]``.
        Without ``variance`` (predictions) only the solves are made; the variance is NaN.
        """
        model = self.variogram_
        m = len(targets)
        if m == 0:
            return np.empty(0), np.empty(0)
        dist, idx = self._tree.query(targets, k=k, workers=-1)
        # neighbours in index order: the same set gives the same system (the indices of a
        # row differ, so any sort gives the one order)
        order = np.argsort(idx, axis=1)
        idx = np.take_along_axis(idx, order, axis=1)
        dist = np.take_along_axis(dist, order, axis=1)
        patterns, which = _unique_rows(idx)
        p = len(patterns)
        a = np.ones((p, k + 1, k + 1))
        a[:, :k, :k] = self._cov[patterns[:, :, None], patterns[:, None, :]]
        a[:, k, k] = 0.0
        rhs_v = np.zeros((p, k + 1, 1))
        rhs_v[:, :k, 0] = self.block_values_[patterns]
        alpha = np.linalg.solve(a, rhs_v)[..., 0]  # A symmetric: b.(A^-1 v) = (A^-1 b).v
        b = np.ones((m, k + 1))
        b[:, :k] = model.covariance(dist)
        out = np.einsum("ij,ij->i", b, alpha[which])
        var = np.full(m, np.nan)
        if not variance:
            return out, var
        inv = np.linalg.inv(a)
        step = max(1, 1_000_000 // ((k + 1) ** 2))
        buf = np.empty((min(step, m), k + 1, k + 1))
        for i in range(0, m, step):
            bi = b[i:i + step]
            g = np.take(inv, which[i:i + step], axis=0, out=buf[:len(bi)])
            var[i:i + step] = model.var - np.einsum("ij,ijl,il->i", bi, g, bi, optimize=True)
        return out, np.maximum(var, 0.0)

    def neighbour_weights(self, coordinates) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``block_values_`` and ordinary-kriging weights, ``(T, k)``, of the
        block means the estimate at each point combines (``k``: ``neighbours``, or all)."""
        from scipy.spatial.distance import cdist

        x, y, z = coordinates
        targets = np.column_stack([x, y, z * float(self.anisotropy)])
        n = self.block_values_.size
        k = n if self.neighbours is None else min(int(self.neighbours), n)
        if k < n:
            dist, idx = self._tree.query(targets, k=k)
        else:
            idx = np.broadcast_to(np.arange(n), (len(targets), n)).copy()
            dist = cdist(targets, self._pos.T)
        weights = np.empty(idx.shape)
        step = max(1, 2_000_000 // ((k + 1) ** 2))
        for i in range(0, len(targets), step):
            ii = idx[i:i + step]
            a = np.ones((len(ii), k + 1, k + 1))
            a[:, :k, :k] = self._cov[ii[:, :, None], ii[:, None, :]]
            a[:, k, k] = 0.0
            b = np.ones((len(ii), k + 1, 1))
            b[:, :k, 0] = self.variogram_.covariance(dist[i:i + step])
            weights[i:i + step] = np.linalg.solve(a, b)[:, :k, 0]
        return idx, weights

    def _predict(self, coordinates):
        return self._run(coordinates, variance=False)[0]

    def _fields(self, spec, where=None):
        if self.neighbours is None or int(self.neighbours) >= self.block_values_.size:
            where = None  # the global system is solved in batches: every voxel, as always
        points, fill = centres_at(spec, where)
        est, var = self._run(points)
        return {"estimate": fill(est), "spread": fill(var)}
