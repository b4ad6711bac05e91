"""Weighted least squares of an anisotropic variogram model against lag classes, in numpy.

The problem is Cressie's (1985): minimise ``sum_k N_k (gamma_k / g_k - 1)² / 2`` with
``g_k = sill * mbar_k + nugget * share_k``, ``mbar_k`` the class's mean of the unit-sill
model over its lag vectors (geometric anisotropy: ranges along and across a horizontal
azimuth, a vertical range; :class:`~dronesense.gridding.fieldvariogram.FieldVariogram`)
and ``share_k`` the noise the class's voxel means carry. It is solved by
Levenberg-Marquardt (Moré 1978) on the log-sill, log-ranges, azimuth, shape and log-nugget
within bounds (steps projected on them, a parameter the descent pushes against its bound
held there), from several starts at once (:func:`grid_starts`: the best points of a coarse
grid of azimuths and ranges): every model evaluation of an iteration (the forward
differences of the Jacobian for all starts, then trial steps at four damping factors) is
one array computation, the squared scaled lag being linear in ``(dx², dx dy, dy², dz²)``
(:func:`lag_features`). Its loss is never above the one :func:`scipy.optimize.least_squares`
reached from the four former starts on the test fields (tests compare both), and it does
not import :mod:`scipy.optimize`.

References
----------
Cressie, N. (1985). Fitting variogram models by weighted least squares. *Math. Geol.* 17,
563-586. Moré, J. J. (1978). The Levenberg-Marquardt algorithm: implementation and theory.
*Numerical Analysis*, Lecture Notes in Mathematics 630, 105-116.

Examples
--------
>>> h = np.array([10.0, 20.0, 40.0, 80.0])
>>> lags = np.concatenate([np.stack([h, 0 * h, 0 * h], -1), np.stack([0 * h, h, 0 * h], -1),
...                        np.stack([h, h, 0 * h], -1), [[0.0, 0.0, 5.0]]])[:, None, :]
>>> semi = 1.0 - np.exp(-np.sqrt((lags[:, 0] ** 2 / np.array([60.0, 20.0, 8.0]) ** 2).sum(1)))
>>> classes = LagClasses(np.full(13, 100.0), semi, np.zeros(13), lag_features(lags),
...                      np.ones((13, 1)))
>>> start = np.array([[0.0, np.log(30.0), np.log(30.0), np.log(5.0), 0.3]])
>>> p, cost = fit_lag_classes(classes, "Exponential", 0.0, start, start - 5, start + 5)
>>> np.round(np.exp(p[:4]), 3).tolist(), bool(cost < 1e-12)
([1.0, 60.0, 20.0, 8.0], True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dronesense.gridding.methods.kriging import NATIVE_MODELS

__all__ = ["LagClasses", "fit_lag_classes", "grid_starts", "lag_features", "semivariance_floor",
           "unit_gamma"]

#: Iterations at most (the fits here converge in 10-40).
MAX_ITERATIONS = 200
#: Step of the forward differences (in log-range, radians and shape units).
STEP = 1e-6
#: Damping factors tried at each iteration, relative to the current one.
DAMPING = np.array([0.25, 1.0, 4.0, 64.0])
#: Relative decrease of the loss under which a start has converged.
TOLERANCE = 1e-10


@dataclass
class LagClasses:
    """Lag classes of voxel-mean pairs.

    Attributes
    ----------
    pairs
        Pairs per class, ``(K,)`` (the class's weight).
    semivariance
        Mean semivariance of the class's pairs, ``(K,)``.
    noise_share
        Mean share of the noise variance in a pair's semivariance, ``(K,)``.
    features
        :func:`lag_features` of the lags standing for each class, ``(K, Q, 4)`` (a mean of
        the features of several lags may stand for them: the squared scaled lag is linear
        in them).
    weights
        Their weights, ``(K, Q)``, summing to one per class.
    ids
        The classes' numbers where they were made from pairs
        (:func:`~dronesense.gridding.fieldvariogram.lag_class_of`).
    """

    pairs: np.ndarray
    semivariance: np.ndarray
    noise_share: np.ndarray
    features: np.ndarray
    weights: np.ndarray
    ids: np.ndarray | None = None



def semivariance_floor(raw: np.ndarray) -> float:
    """The smallest model semivariance a class is divided by: ``1e-12`` of the largest
    empirical one (Cressie's weights stay finite where the model reaches zero)."""
    return 1e-12 * max(float(np.max(raw)), 1e-30)

def lag_features(d: np.ndarray) -> np.ndarray:
    """``(dx², dx dy, dy², dz²)`` of lag vectors ``(..., 3)``: the squared lag scaled by
    any geometric anisotropy is linear in them."""
    d = np.asarray(d, dtype=float)
    return np.stack([d[..., 0] ** 2, d[..., 0] * d[..., 1], d[..., 1] ** 2, d[..., 2] ** 2],
                    axis=-1)


def unit_gamma(model: str, features: np.ndarray, weights: np.ndarray,
               params: np.ndarray) -> np.ndarray:
    """Class means of the unit-sill model for a batch of parameters.

    Parameters
    ----------
    model
        A name of :data:`~dronesense.gridding.methods.kriging.NATIVE_MODELS` or ``Stable``.
    features
        :attr:`LagClasses.features` flattened, ``(K * Q, 4)``.
    weights
        :attr:`LagClasses.weights`, ``(K, Q)``.
    params
        ``(P, 5)``: log major range, log minor range, log vertical range, azimuth (radians
        counter-clockwise from east), shape (``Stable`` only).

    Returns
    -------
    ``(K, P)``
    """
    inv_a, inv_b, inv_v = (np.exp(-2.0 * params[:, i]) for i in range(3))
    c, s = np.cos(params[:, 3]), np.sin(params[:, 3])
    quad = np.stack([c * c * inv_a + s * s * inv_b, 2.0 * c * s * (inv_a - inv_b),
                     s * s * inv_a + c * c * inv_b, inv_v])
    r = np.sqrt(np.maximum(features @ quad, 0.0))
    if model == "Stable":
        gam = -np.expm1(-(r ** params[:, 4]))
    else:
        cor, rescale = NATIVE_MODELS[model]
        gam = 1.0 - cor(r * rescale)
    k, q = weights.shape
    return np.einsum("kqp,kq->kp", gam.reshape(k, q, -1), weights)


#: The coarse grid :func:`grid_starts` searches, about the ranges it is given: azimuths,
#: log-range offsets (major and minor, major >= minor) and vertical log-range offsets.
GRID_ANGLES = np.arange(6) * np.pi / 6
GRID_RANGES = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
GRID_VERTICAL = np.array([-1.0, 0.0, 1.5])


def grid_starts(classes: LagClasses, model: str, noise: float | None, centre: np.ndarray,
                lower: np.ndarray, upper: np.ndarray, count: int = 4) -> np.ndarray:
    """The ``count`` best points of a coarse grid of ranges about ``centre`` and of
    azimuths over the half circle (:data:`GRID_ANGLES`; parameters as
    :func:`fit_lag_classes` takes them), the sill and nugget of each from
    weighted linear least squares (weights ``N_k / gamma_k²``: Cressie's near the fit):
    starts for :func:`fit_lag_classes` that do not depend on where the azimuth is looked for
    first."""
    centre = np.asarray(centre, dtype=float)
    free = noise is None
    minor, major = np.triu_indices(GRID_RANGES.size)     # major >= minor
    a, t, v = np.meshgrid(GRID_ANGLES, np.arange(major.size), GRID_VERTICAL, indexing="ij")
    t, a, v = t.ravel(), a.ravel(), v.ravel()
    params = np.tile(centre, (t.size, 1))
    params[:, 1] = centre[1] + GRID_RANGES[major[t]]
    params[:, 2] = centre[2] + GRID_RANGES[minor[t]]
    params[:, 3] = centre[3] + v
    params[:, 4] = a
    params = np.clip(params, lower, upper)
    shape = np.ones((t.size, 5))
    shape[:, :4] = params[:, 1:5]
    if model == "Stable":
        shape[:, 4] = params[:, 5]
    m = unit_gamma(model, classes.features.reshape(-1, 4), classes.weights, shape).T
    raw, share, n = classes.semivariance, classes.noise_share, classes.pairs
    w = n / np.maximum(raw, semivariance_floor(raw)) ** 2
    if free:
        smm, smi, sii = (m * m) @ w, (m * share) @ w, float((share * share) @ w)
        smr, sir = (m * raw) @ w, float((share * raw) @ w)
        det = smm * sii - smi * smi
        ok = det > 1e-12 * smm * sii
        sill = np.where(ok, (smr * sii - smi * sir) / np.where(ok, det, 1.0), smr / smm)
        nug = np.where(ok, (smm * sir - smi * smr) / np.where(ok, det, 1.0), 0.0)
        low = (sill <= 0) | (nug <= 0)
        sill = np.where(low, smr / smm, sill)
        nug = np.where(low, np.exp(lower[-1]), nug)
        params[:, -1] = np.clip(np.log(np.maximum(nug, 1e-300)), lower[-1], upper[-1])
        c = np.exp(params[:, -1])[:, None] * share
    else:
        c = float(noise) * share[None, :]
        sill = ((raw - c) * m) @ w / np.maximum((m * m) @ w, 1e-300)
    params[:, 0] = np.clip(np.log(np.maximum(sill, 1e-300)), lower[0], upper[0])
    g = np.maximum(np.exp(params[:, :1]) * m + c, semivariance_floor(raw))
    cost = (n * (raw / g - 1.0) ** 2).sum(axis=1)
    return params[np.argsort(cost, kind="stable")[:count]]


def fit_lag_classes(classes: LagClasses, model: str, noise: float | None,
                    starts: np.ndarray, lower: np.ndarray,
                    upper: np.ndarray) -> tuple[np.ndarray, float]:
    """The best fit of ``model`` to ``classes`` from several starts.

    Parameters
    ----------
    classes
        The lag classes.
    model
        A name of :data:`~dronesense.gridding.methods.kriging.NATIVE_MODELS` or ``Stable``.
    noise
        The noise variance, or ``None`` to fit it (a nugget).
    starts, lower, upper
        ``(S, D)`` starting points and bounds: log sill, log major range, log minor range,
        log vertical range, azimuth, then the shape (``Stable``) and the log nugget
        (``noise`` ``None``).

    Returns
    -------
    params, cost
        The best parameters ``(D,)`` and their loss (half the weighted sum of squares).
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    lower = np.broadcast_to(np.asarray(lower, dtype=float), starts.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=float), starts.shape)
    n_start, dim = starts.shape
    stable, free = model == "Stable", noise is None
    n_shape = 5 if stable else 4                  # nonlinear parameters: 1 .. n_shape
    feats = classes.features.reshape(-1, 4)
    sqrt_n = np.sqrt(classes.pairs)
    raw, share = classes.semivariance, classes.noise_share
    floor = semivariance_floor(raw)

    def shape_params(p):
        out = np.ones((p.shape[0], 5))
        out[:, :n_shape] = p[:, 1:1 + n_shape]
        return out

    def residuals(p, mbar):
        """(S, K) residuals, (S, K) model, (S,) cost for parameters (S, D), mbar (K, S)."""
        nug = np.exp(p[:, -1]) if free else np.full(p.shape[0], float(noise))
        g = np.exp(p[:, 0])[:, None] * mbar.T + nug[:, None] * share
        g = np.maximum(g, floor)
        rho = sqrt_n * (raw / g - 1.0)
        return rho, g, 0.5 * (rho * rho).sum(axis=1)

    p = np.clip(starts, lower, upper)
    mbar = unit_gamma(model, feats, classes.weights, shape_params(p))
    rho, g, cost = residuals(p, mbar)
    lam = np.full(n_start, 1e-3)
    done = np.zeros(n_start, dtype=bool)
    eye = np.eye(dim)
    for iteration in range(MAX_ITERATIONS):  # noqa: B007
        # forward differences of the unit model in the nonlinear parameters, all starts
        # (the point itself evaluated with them, for differences of like rounding)
        shifted = np.repeat(shape_params(p)[:, None, :], n_shape + 1, axis=1)
        shifted[:, np.arange(n_shape), np.arange(n_shape)] += STEP
        dm = unit_gamma(model, feats, classes.weights, shifted.reshape(-1, 5))
        dm = dm.reshape(-1, n_start, n_shape + 1)
        dm = (dm[:, :, :-1] - dm[:, :, -1:]) / STEP                        # (K, S, n)
        sill = np.exp(p[:, 0])
        drho = -sqrt_n * raw / (g * g) * (g > floor)                      # (S, K)
        jac = np.empty((n_start, raw.size, dim))
        jac[:, :, 0] = drho * sill[:, None] * mbar.T
        jac[:, :, 1:1 + n_shape] = drho[:, :, None] * sill[:, None, None] * dm.transpose(1, 0, 2)
        if free:
            jac[:, :, -1] = drho * np.exp(p[:, -1])[:, None] * share
        grad = np.einsum("ski,sk->si", jac, rho)
        # a parameter on a bound the descent points beyond is held there (its column out)
        held = ((p <= lower) & (grad > 0)) | ((p >= upper) & (grad < 0))
        jac *= ~held[:, None, :]
        grad *= ~held
        a = np.einsum("ski,skj->sij", jac, jac)
        diag = np.einsum("sii->si", a)
        scale = diag + 1e-12 * diag.max(axis=1, keepdims=True) + 1e-300
        # trial steps at several damping factors, evaluated together
        damp = lam[:, None] * DAMPING[None, :]                            # (S, T)
        system = a[:, None] + damp[:, :, None, None] * (scale[:, None, :, None] * eye)
        step = np.linalg.solve(system, -np.repeat(grad[:, None, :, None], DAMPING.size,
                                                  axis=1))[..., 0]
        trial = np.clip(p[:, None, :] + step, lower[:, None, :], upper[:, None, :])
        trial = trial.reshape(-1, dim)
        t_mbar = unit_gamma(model, feats, classes.weights, shape_params(trial))
        t_rho, t_g, t_cost = residuals(trial, t_mbar)
        t_cost = np.where(np.isfinite(t_cost), t_cost, np.inf).reshape(n_start, -1)
        pick = np.argmin(t_cost, axis=1)
        flat = np.arange(n_start) * DAMPING.size + pick
        new = t_cost[np.arange(n_start), pick]
        better = (new < cost) & ~done
        gain = np.where(better, (cost - new) / np.maximum(cost, 1e-300), 0.0)
        p = np.where(better[:, None], trial[flat], p)
        mbar = np.where(better[None, :], t_mbar[:, flat], mbar)
        rho = np.where(better[:, None], t_rho[flat], rho)
        g = np.where(better[:, None], t_g[flat], g)
        cost = np.where(better, new, cost)
        lam = np.where(better, damp[np.arange(n_start), pick], np.minimum(lam * 256.0, 1e13))
        done |= (better & (gain < TOLERANCE)) | (lam > 1e12)
        if done.all():
            break
    best = int(np.argmin(cost))
    return p[best], float(cost[best])
