"""Gridding methods behind one scikit-learn-style interface.

Every method follows the contract verde uses: parameters go to ``__init__`` (and show in
``repr``), :meth:`BaseGridder.fit` learns from samples and sets attributes ending in ``_``,
:meth:`BaseGridder.predict` evaluates at points, :meth:`BaseGridder.grid` makes a CF grid
Dataset whose ``made_by`` attribute is ``repr(method)``.

Coordinates are always ``(x, y, z)``: metres east and north of the grid origin and the
vertical coordinate of the grid spec. Flights are layered, so every method takes the
horizontal and vertical scales apart (``anisotropy`` = how many horizontal metres one vertical
metre is worth, or separate kernel widths).

================== ============================================================= ==========
class              estimate, spread                                              support
================== ============================================================= ==========
:class:`BlockReduce` per-voxel mean/median, std, min, max                        voxels with samples
:class:`IDW`       inverse-distance weighting of block means (k-d tree)          ``support`` voxels
:class:`KernelDMV` kernel DM+V (Lilienthal et al. 2009): mean, variance,          ``support`` voxels
                   confidence
:class:`Kriging`   ordinary kriging of block means, fitted variogram (gstools),   ``support`` voxels
                   kriging variance
================== ============================================================= ==========

Voxels without data support are NaN: no confident numbers without data. Supported are
voxels within ``support`` voxels horizontally (Chebyshev distance, in voxel units) of a
voxel holding a sample on the same level, and voxels between two such voxels at most
``support`` levels above and below (the gap between flown layers); never extrapolated above
the top or below the bottom level of a column.

Examples
--------
>>> import numpy as np
>>> from dronesense.grid import GridSpec
>>> rng = np.random.default_rng(0)
>>> x, y, z = rng.uniform(0, 100, (3, 2000))
>>> v = x / 10 + z / 50
>>> spec = GridSpec((10, 10, 10), (52, 5, 0), region=(0, 100, 0, 100, 0, 100))
>>> idw = IDW(k=8, anisotropy=1.0).fit((x, y, z), v, spec=spec)
>>> idw
IDW(k=8, radius=None, power=2.0, anisotropy=1.0, block_spacing=None, support=1)
>>> bool(abs(idw.predict(([50.0], [50.0], [50.0]))[0] - 6.0) < 0.2)
True
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import ndimage
from scipy.linalg import lu_factor, lu_solve
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from dronesense.errors import InputError, NoUsableDataError
from dronesense.grid import GridSpec, block_statistics, grid_dataset, statistic_variables
from dronesense.quantities import Quantity

__all__ = ["IDW", "METHODS", "BaseGridder", "BlockReduce", "KernelDMV", "Kriging",
           "make_method"]

Coordinates = Sequence[ArrayLike]


def _coords(coordinates: Coordinates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(coordinates) != 3:
        raise InputError("coordinates must be (x, y, z)")
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    if not (x.shape == y.shape == z.shape):
        raise InputError("x, y and z differ in length")
    return x, y, z


class BaseGridder:
    """Base class of the gridding methods.

    Subclasses implement ``_fit(coordinates, values, spec)``, ``_predict(coordinates)`` and
    ``_fields(spec)`` (estimate and spread on the voxel centres). The base class provides
    parameter handling (``get_params``, ``set_params``, ``repr``), the data-support mask and
    the CF Dataset.

    Attributes
    ----------
    coordinates_, values_
        The samples seen by :meth:`fit` (finite ones).
    spec_
        The grid spec given to :meth:`fit` (or ``None``).
    """

    #: Words for the spread variable the method produces: (suffix, cell method, long name).
    _spread = ("std", "standard_deviation", "spread")

    # -- parameters ---------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """Parameters given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseGridder:
        """Set parameters (in place); returns self."""
        for name, value in params.items():
            if name not in self._param_names():
                raise InputError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def clone(self, **params) -> BaseGridder:
        """An unfitted copy with the same parameters, some replaced."""
        return type(self)(**{**self.get_params(), **params})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- contract -----------------------------------------------------------------------
    def fit(self, coordinates: Coordinates, values: ArrayLike, *,
            spec: GridSpec | None = None) -> BaseGridder:
        """Learn from samples.

        Parameters
        ----------
        coordinates
            ``(x, y, z)`` of the samples.
        values
            One value per sample; NaN samples are dropped.
        spec
            The grid the product will be on: block-mean methods reduce on its voxels and
            grid-based methods (DM+V) compute on it. Optional for point methods.
        """
        x, y, z = _coords(coordinates)
        v = np.asarray(values, dtype=float).ravel()
        if v.shape != x.shape:
            raise InputError("coordinates and values differ in length")
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & np.isfinite(v)
        if not ok.any():
            raise NoUsableDataError("no finite samples to fit")
        self.coordinates_ = (x[ok], y[ok], z[ok])
        self.values_ = v[ok]
        self.spec_ = spec
        self._fit(self.coordinates_, self.values_, spec)
        return self

    def predict(self, coordinates: Coordinates) -> np.ndarray:
        """Estimate at points (NaN where the method has nothing to say)."""
        self._check_fitted()
        return self._predict(_coords(coordinates))

    def grid(self, spec: GridSpec | None = None, *, quantity: Quantity | str | None = None,
             history: str = "", times: ArrayLike | None = None) -> xr.Dataset:
        """The CF grid Dataset on ``spec`` (default: the spec given to :meth:`fit`).

        Variables: the estimate (named after the quantity, ``value`` without one), its
        spread, ``number_of_observations``; voxels without data support are NaN.
        """
        self._check_fitted()
        spec = spec or self.spec_
        if spec is None:
            raise InputError("grid() needs a grid spec")
        if spec.region is None:
            spec = spec.fit(*self.coordinates_)
        if isinstance(quantity, str):
            from dronesense.grid import _quantity_for

            quantity = _quantity_for(xr.Dataset(), quantity)
        if quantity is None:
            quantity = Quantity("value", "value", "1", "1")
        count = block_statistics(spec, self.coordinates_, self.values_, ["count"])["count"]
        fields = self._fields(spec)
        mask = self._support_mask(count)
        for arr in fields.values():
            if arr.dtype.kind == "f":
                arr[~mask] = np.nan
        return grid_dataset(
            spec, self._variables(fields, count, quantity, spec), made_by=repr(self),
            history=history or f"{self!r}", times=times,
            title=f"dronesense 3D grid of {quantity.long_name}",
        )

    # -- helpers for subclasses ------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "values_"):
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _support_mask(self, count: np.ndarray) -> np.ndarray:
        support = int(getattr(self, "support", 0) or 0)
        has = count > 0
        if support <= 0:
            return has
        # horizontally: within `support` voxels of a sample on the same level
        near = ndimage.maximum_filter(has, size=(1, 2 * support + 1, 2 * support + 1),
                                      mode="constant")
        # vertically: only between supported levels (filling the gap between flown layers),
        # never above the top or below the bottom one (no ground layer invented from the
        # lowest flight level)
        below = np.zeros_like(near)
        above = np.zeros_like(near)
        for d in range(1, min(support, near.shape[0] - 1) + 1):
            below[d:] |= near[:-d]
            above[:-d] |= near[d:]
        return near | (below & above)

    def _variables(self, fields, count, quantity, spec):
        q = quantity.key
        attrs = quantity.attrs()
        out = {}
        est = dict(attrs)
        est["cell_methods"] = f"x: y: z: point (comment: interpolated by {type(self).__name__})"
        suffix, _cm, long = self._spread
        anc = []
        out[q] = (fields.pop("estimate"), est)
        for name, arr in fields.items():
            a = dict(attrs)
            if name == "spread":
                key = f"{q}_{suffix}"
                a["long_name"] = f"{quantity.long_name} ({long})"
                a.pop("standard_name", None)
                if suffix == "variance":
                    a["units"] = _squared(quantity.units)
            elif name == "confidence":
                key = f"{q}_confidence"
                a = {"long_name": "DM+V confidence (0: no data support, 1: well sampled)",
                     "units": "1", "valid_range": np.array([0.0, 1.0])}
            else:
                key = f"{q}_{name}"
            out[key] = (arr, a)
            anc.append(key)
        out["number_of_observations"] = (
            count.astype(np.int32),
            {"standard_name": "number_of_observations", "units": "1",
             "long_name": f"number of {q} samples in voxel"},
        )
        anc.append("number_of_observations")
        out[q][1]["ancillary_variables"] = " ".join(anc)
        return out

    # -- to implement --------------------------------------------------------------------
    def _fit(self, coordinates, values, spec):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, coordinates):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fields(self, spec: GridSpec) -> dict[str, np.ndarray]:
        """Estimate (and spread) at the voxel centres; default: :meth:`predict`."""
        x, y, z = spec.centres()
        est = self._predict((x.ravel(), y.ravel(), z.ravel())).reshape(spec.shape)
        return {"estimate": est}


def _squared(units: str) -> str:
    """UDUNITS string of ``units`` squared (the units of a variance).

    Every factor of the product is squared on its own: a scale factor numerically (``1e-6``
    is ppm, its square ``1e-12``, never ``1e-62``), a unit by doubling its exponent. A
    temperature in ``degC`` (an offset unit) gives ``K2``. Anything else is wrapped as
    ``(units)^2``.

    Examples
    --------
    >>> _squared("1e-6"), _squared("ug m-3"), _squared("m s-1"), _squared("degC")
    ('1e-12', 'ug2 m-6', 'm2 s-2', 'K2')
    """
    units = units.strip()
    if units in ("1", ""):
        return "1"
    parts = []
    for token in units.split():
        try:
            parts.append(f"{float(token) ** 2:g}")
            continue
        except ValueError:
            pass
        m = re.fullmatch(r"([A-Za-z_%]+)(-?\d+)?", token)
        if m is None:
            return f"({units})^2"
        name = {"degC": "K", "Celsius": "K", "degree_Celsius": "K"}.get(m[1], m[1])
        parts.append(f"{name}{2 * int(m[2] or 1)}")
    return " ".join(parts)


def _spec_for(coords, spacing) -> GridSpec:
    """A throwaway spec on the data with the given spacing (origin unused)."""
    return GridSpec(tuple(spacing), (0.0, 0.0, 0.0)).fit(*coords)


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
            raise InputError(f"block estimate must be mean or median, not {self.statistic!r}")
        if spec is None:
            raise InputError("BlockReduce.fit needs the grid spec")
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
            from dronesense.grid import _quantity_for

            quantity = (_quantity_for(xr.Dataset(), quantity) if quantity
                        else Quantity("value", "value", "1", "1"))
        keep = [s for s in stats if s in set(self.statistics) | {self.statistic, "count"}]
        variables = statistic_variables({k: stats[k] for k in keep}, quantity, spec,
                                        primary=self.statistic)
        return grid_dataset(spec, variables, made_by=repr(self), history=history or repr(self),
                            times=times, title=f"dronesense 3D grid of {quantity.long_name}")


# ----------------------------------------------------------------------------------------
def _block_means(coordinates, values, spec, block_spacing):
    """Block-mean positions and values (means of the samples in each block)."""
    if block_spacing is not None:
        bspec = _spec_for(coordinates, block_spacing)
    elif spec is not None:
        bspec = spec if spec.region is not None else spec.fit(*coordinates)
    else:
        return coordinates, values, np.ones(values.shape, dtype=np.int64)
    out = []
    stats = block_statistics(bspec, coordinates, values, ["mean", "count"])
    has = stats["count"].ravel() > 0
    for c in coordinates:
        out.append(block_statistics(bspec, coordinates, c, ["mean"])["mean"].ravel()[has])
    return tuple(out), stats["mean"].ravel()[has], stats["count"].ravel()[has]


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
        self.block_coordinates_, self.block_values_, self.block_counts_ = _block_means(
            coordinates, values, spec, self.block_spacing)
        self.tree_ = cKDTree(self._scaled(self.block_coordinates_))

    def _weights(self, coordinates):
        k = min(int(self.k), self.block_values_.size)
        dist, idx = self.tree_.query(
            self._scaled(coordinates), k=k,
            distance_upper_bound=np.inf if self.radius is None else float(self.radius),
            workers=-1)
        dist, idx = dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)
        found = np.isfinite(dist)
        with np.errstate(divide="ignore"):
            w = np.where(found, 1.0 / np.maximum(dist, 1e-12) ** float(self.power), 0.0)
        vals = np.where(found, self.block_values_[np.minimum(idx, self.block_values_.size - 1)],
                        0.0)
        return w, vals

    def _predict(self, coordinates):
        w, vals = self._weights(coordinates)
        wsum = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(wsum > 0, (w * vals).sum(axis=1) / wsum, np.nan)

    def _fields(self, spec):
        x, y, z = spec.centres()
        w, vals = self._weights((x.ravel(), y.ravel(), z.ravel()))
        wsum = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            est = (w * vals).sum(axis=1) / wsum
            var = (w * (vals - est[:, None]) ** 2).sum(axis=1) / wsum
        return {"estimate": est.reshape(spec.shape),
                "spread": np.sqrt(var).reshape(spec.shape)}


def _kernel_sum(sigma: float, truncate: float) -> float:
    """Sum of the unnormalised discrete Gaussian ``exp(-k²/2σ²)`` that
    :func:`scipy.ndimage.gaussian_filter` uses (radius ``int(truncate σ + 0.5)``)."""
    radius = int(truncate * float(sigma) + 0.5)
    if radius == 0:
        return 1.0
    k = np.arange(-radius, radius + 1, dtype=float)
    return float(np.exp(-0.5 * (k / float(sigma)) ** 2).sum())


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

    def _sigmas(self, spec):
        dx, dy, dz = spec.spacing
        sh = float(self.sigma_h) if self.sigma_h is not None else max(dx, dy)
        sv = float(self.sigma_v) if self.sigma_v is not None else dz
        return (sv / dz, sh / dy, sh / dx)

    _TRUNCATE = 3.0

    def _filter(self, arr, sig):
        # gaussian_filter normalises its discrete kernel to sum 1; multiply by that sum so a
        # sample's own voxel gets weight exp(0) = 1, as in the paper's unnormalised kernel.
        # (sqrt(2 pi) sigma approximates the sum only for sigma of about a voxel or more: a
        # kernel narrower than the voxel would otherwise lose most of its weight.)
        norm = math.prod(_kernel_sum(s, self._TRUNCATE) for s in sig)
        return ndimage.gaussian_filter(arr, sig, mode="constant", truncate=self._TRUNCATE) * norm

    def _maps(self, spec, coordinates, values):
        sig = self._sigmas(spec)
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
            spec = _spec_for(coordinates, spacing)
        elif spec.region is None:
            spec = spec.fit(*coordinates)
        self.spec_ = spec
        self.mean_, self.variance_, self.confidence_ = self._maps(spec, coordinates, values)

    def _predict(self, coordinates):
        from scipy.interpolate import RegularGridInterpolator

        spec = self.spec_
        interp = RegularGridInterpolator((spec.z, spec.y, spec.x), self.mean_,
                                         bounds_error=False, fill_value=None)
        x, y, z = coordinates
        out = interp(np.column_stack([z, y, x]))
        inside = spec.locate(x, y, z) >= 0
        return np.where(inside, out, np.nan)

    def _fields(self, spec):
        if spec == self.spec_:
            mean, var, alpha = self.mean_.copy(), self.variance_.copy(), self.confidence_.copy()
        else:
            mean, var, alpha = self._maps(spec, self.coordinates_, self.values_)
        return {"estimate": mean, "spread": var, "confidence": alpha}


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
            raise InputError("Kriging.fit needs a spec or block_spacing")
        spacing = np.asarray(spacing, dtype=float)
        while True:
            bc, bv, _ = _block_means(coordinates, values, None, tuple(spacing))
            if bv.size <= int(self.max_points):
                break
            spacing = spacing * math.sqrt(2.0)
        self.block_coordinates_, self.block_values_ = bc, bv
        self.kriged_spacing_ = tuple(float(s) for s in spacing)
        pos = np.vstack([bc[0], bc[1], bc[2] * float(self.anisotropy)])
        try:
            model_cls = getattr(gs, self.model)
        except AttributeError:
            raise InputError(f"unknown variogram model {self.model!r}") from None
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


#: Method names of the command line -> classes.
METHODS: dict[str, type[BaseGridder]] = {
    "block": BlockReduce,
    "idw": IDW,
    "dmv": KernelDMV,
    "kriging": Kriging,
}


def make_method(name: str, **params) -> BaseGridder:
    """A method object from its command-line name (``block``, ``idw``, ``dmv``, ``kriging``)."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise InputError(f"unknown method {name!r} (known: {', '.join(METHODS)}, auto)") from None
    return cls(**params)
