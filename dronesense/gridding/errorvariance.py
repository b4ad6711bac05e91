"""The expected error of a grid from a variogram model: the estimation variance.

Every gridding method estimates a voxel as a linear combination of the samples,
``z_hat(x0) = sum_i w_i z_i`` (:mod:`dronesense.gridding.errorweights` gives the weights,
exactly as each method makes them). With the samples ``z_i = Z(x_i) + e_i`` (white
measurement noise of variance ``s_e^2``) and a variogram ``gamma`` of the noise-free field
``Z``, the expected squared error of that estimate against the field at ``x0`` is the
estimation variance (Journel & Huijbregts 1978, ch. II.C; Chilès & Delfiner 2012, §3.3):

    sigma^2(x0) = 2 sum_i w_i gamma(x0, x_i) - sum_ij w_i w_j gamma(x_i, x_j)
                  - gamma(V, V) + s_e^2 sum_i w_i^2 + (1 - sum_i w_i)^2 (C(0) + m^2),

with ``gamma(x0, .)`` averaged over the voxel and ``gamma(V, V)`` the mean variogram inside
it for the error against the voxel mean (``support="voxel"``), both at the centre for the
error at the voxel centre (``support="point"``). The last term vanishes for weights summing
to one (all dronesense methods).

The variogram (:mod:`dronesense.gridding.fieldvariogram`) is fitted to the noise-corrected
semivariances of voxel means at the short lags the estimates use, with geometric anisotropy
(a horizontal major axis found from four direction sectors: a plume is smooth along the wind
and steep across it; a vertical range apart), by Cressie's (1985) weighted least squares:
once on all voxel means (deterministic) where there are at most
:data:`~dronesense.gridding.fieldvariogram.VARIOGRAM_GROUPS`, else five times on other
random draws of them (``fits``), the variances averaged. Plumes are far
from stationary: ``local="weights"`` or ``"neighbours"`` rescale the sill at each voxel from
the spread of the voxel means near it (the ratio of their noise-corrected semivariances to
the model's at the same lags), a local variogram of fixed shape in the spirit of the
proportional effect (Journel & Huijbregts, ch. III.B.6); on the benchmark flights that did
not do better than the stationary variogram, the default. Voxels are drawn at random (with a
local sill, more of them where it is high: importance sampling, unbiased for the mean over
all filled voxels), and each group of samples a voxel draws on is represented by a few of
its samples.

References
----------
Journel, A. G., Huijbregts, C. J. (1978). *Mining Geostatistics*. Academic Press.
Chilès, J.-P., Delfiner, P. (2012). *Geostatistics: Modeling Spatial Uncertainty*, 2nd ed.
Wiley. Cressie, N. (1985). Fitting variogram models by weighted least squares.
*Math. Geol.* 17, 563-586.

Examples
--------
>>> from dronesense.gridding.methods import IDW
>>> from dronesense.gridding.spec import GridSpec
>>> rng = np.random.default_rng(0)
>>> x = np.tile(np.arange(0.0, 400.0, 2.0), 10)
>>> y = np.repeat(np.arange(0.0, 200.0, 20.0), 200)
>>> z = np.full(x.size, 10.0)
>>> v = np.sin(x / 30) * np.cos(y / 40) + rng.normal(0, 0.05, x.size)
>>> spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
>>> est = expected_grid_rmse(IDW(k=8), (x, y, z), v, spec, model="Gaussian")
>>> bool(0.0 < est < 0.5)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.gridding.cvdesign import noise_variance
from dronesense.gridding.errorweights import (
    SampleGroups,
    VoxelWeights,
    check_linear,
    compact_weights,
    sample_groups,
    voxel_weights,
)
from dronesense.gridding.fieldvariogram import (
    VARIOGRAM_GROUPS,
    FieldVariogram,
    fit_field_variogram,
)
from dronesense.gridding.methods.base import BaseGridder, supported
from dronesense.gridding.spec import GridSpec

__all__ = ["ErrorEstimate", "FieldVariogram", "expected_grid_rmse", "fit_field_variogram",
           "grid_error_variance", "local_sill", "weights_sill"]

#: Nearest voxel means the local sill is taken from.
LOCAL_NEIGHBOURS = 16

#: Relative weight under which a group is left out of a voxel's estimation variance.
PRUNE = 1e-3


def local_sill(groups: SampleGroups, points: np.ndarray, variogram: FieldVariogram,
               noise: float, k: int = LOCAL_NEIGHBOURS) -> np.ndarray:
    """The factor scaling the variogram's sill near each point: the noise-corrected mean
    semivariance of all pairs of the ``k`` nearest voxel means (anisotropic distance of the
    variogram) over the model's semivariance at the same lags (never below 0)."""
    from scipy.spatial import cKDTree

    k = min(k, groups.count.size)
    if k < 2:
        return np.ones(len(points))
    _, idx = cKDTree(variogram.scaled(groups.centre)).query(variogram.scaled(points), k=k)
    out = np.empty(len(points))
    i, j = np.triu_indices(k, 1)
    step = max(1, 2_000_000 // i.size)
    for s in range(0, len(points), step):
        a, b = idx[s:s + step, i], idx[s:s + step, j]
        semi = 0.5 * (groups.mean[a] - groups.mean[b]) ** 2 - 0.5 * noise * (
            1.0 / groups.count[a] + 1.0 / groups.count[b])
        model = variogram.gamma(groups.centre[a] - groups.centre[b])
        out[s:s + step] = np.maximum(semi.sum(axis=1), 0.0) / np.maximum(
            model.sum(axis=1), 1e-300)
    return out


def weights_sill(weights, variogram: FieldVariogram, noise: float) -> np.ndarray:
    """The local sill factor of :func:`local_sill` from the groups a method weighs at each
    voxel (pairs weighted by the product of their weights' magnitudes), so the lags it is
    taken at are those of the estimate; NaN where fewer than three groups have weight."""
    groups = weights.groups
    gi = weights.index
    w = np.abs(np.where(gi >= 0, weights.weights, 0.0))
    g = np.maximum(gi, 0)
    k = gi.shape[1]
    out = np.full(gi.shape[0], np.nan)
    if k < 3:
        return out
    i, j = np.triu_indices(k, 1)
    step = max(1, 2_000_000 // i.size)
    for s in range(0, gi.shape[0], step):
        a, b = g[s:s + step, i], g[s:s + step, j]
        pw = w[s:s + step, i] * w[s:s + step, j]
        semi = 0.5 * (groups.mean[a] - groups.mean[b]) ** 2 - 0.5 * noise * (
            1.0 / groups.count[a] + 1.0 / groups.count[b])
        model = variogram.gamma(groups.centre[a] - groups.centre[b])
        num, den = (pw * semi).sum(axis=1), (pw * model).sum(axis=1)
        enough = ((w[s:s + step] > 0).sum(axis=1) >= 3) & (den > 0)
        out[s:s + step] = np.where(enough, np.maximum(num, 0.0) / np.where(enough, den, 1.0),
                                   np.nan)
    return out


def _subpoints(spacing, per_axis: int) -> np.ndarray:
    """Offsets of ``per_axis``³ points at the centres of equal sub-cells of a voxel."""
    if per_axis <= 1:
        return np.zeros((1, 3))
    f = (np.arange(per_axis) + 0.5) / per_axis - 0.5
    grid = np.stack(np.meshgrid(f, f, f, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid * np.asarray(spacing, dtype=float)


def _distances(aa: np.ndarray, bb: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """``|a - b|`` from ``|a|²``, ``|b|²`` and ``a . b``; squares within rounding of zero
    (``1e-12`` of ``|a|² + |b|²``) are zero, so a point is at distance 0 from itself."""
    r2 = aa + bb - 2.0 * ab
    return np.sqrt(np.where(r2 > 1e-12 * (aa + bb), r2, 0.0))


def _variances(weights, variogram: FieldVariogram, centres, sub, noise, scale, mean_sq):
    """Estimation variance at each target (see the module docstring)."""
    groups = weights.groups
    gi, w = weights.index, np.where(weights.index >= 0, weights.weights, 0.0)
    g = np.maximum(gi, 0)
    m = groups.reps.shape[1]
    nrep = np.where(gi >= 0, groups.nreps[g], 1)
    valid = np.arange(m)[None, None, :] < nrep[:, :, None]
    pts = groups.reps[g]                                         # (T, K, m, 3)
    wp = np.where(valid, (w / nrep)[:, :, None], 0.0)
    cnt = groups.count[g].astype(float)
    # same-group pairs of representatives stand for the group's pairs of distinct samples
    within = np.where(nrep > 1, (1.0 - 1.0 / cnt) / (1.0 - 1.0 / np.maximum(nrep, 2)), 0.0)
    t, kk = gi.shape
    pts = np.where(valid[..., None], pts, 0.0).reshape(t, kk * m, 3)
    wp = wp.reshape(t, kk * m)
    ar = np.arange(kk)
    gvv = float(variogram.gamma(sub[:, None, :] - sub[None, :, :]).mean())
    # distances in the variogram's isotropic space, about each target's centre: one product
    # of matrices per chunk instead of a lag vector per pair
    q_all = variogram.scaled(pts - centres[:, None, :])                 # (T, P, 3)
    s_sub = variogram.scaled(sub)                                       # (S, 3)
    out = np.empty(t)
    p = kk * m
    step = max(1, 1_000_000 // (p * max(p, len(sub))))
    for s in range(0, t, step):
        q = q_all[s:s + step]
        ws = wp[s:s + step]
        qq = np.einsum("tpk,tpk->tp", q, q)
        a = variogram.gamma_scaled(_distances(
            (s_sub ** 2).sum(axis=1)[None, :, None], qq[:, None, :],
            np.einsum("sk,tpk->tsp", s_sub, q))).mean(axis=1)
        a = (a * ws).sum(axis=1)
        gam = variogram.gamma_scaled(_distances(qq[:, :, None], qq[:, None, :],
                                                np.matmul(q, q.transpose(0, 2, 1))))
        b = np.einsum("ti,ti->t", np.matmul(gam, ws[:, :, None])[:, :, 0], ws)
        # pairs of one group's representatives count (1 - within) less
        n = len(ws)
        blocks = gam.reshape(n, kk, m, kk, m)[:, ar, :, ar, :]              # (K, t, m, m)
        wk = ws.reshape(n, kk, m).transpose(1, 0, 2)                        # (K, t, m)
        b -= np.einsum("kta,ktab,ktb->t", wk, blocks, wk * (1.0 - within[s:s + step].T)[
            :, :, None])
        out[s:s + step] = 2.0 * a - b - gvv
    wsum = w.sum(axis=1)
    struct = np.maximum(out, 0.0) + (1.0 - wsum) ** 2 * variogram.sill
    return (scale * struct + (1.0 - wsum) ** 2 * mean_sq
            + noise * (w ** 2 / np.where(gi >= 0, cnt, 1.0)).sum(axis=1))


@dataclass
class ErrorEstimate:
    """The expected error of a grid (:func:`grid_error_variance`).

    Attributes
    ----------
    rmse
        Expected RMSE over the filled voxels: ``sqrt`` of the (importance-weighted) mean of
        ``variance``.
    voxels, variance, probability
        The voxels drawn (flat indices of the spec), their estimation variance and the
        probability each was drawn with (per draw).
    filled
        Number of voxels the method fills.
    variogram, noise_var, scale
        The (first) fitted variogram, the noise variance and the local sill factor of each
        drawn voxel (1 when ``local=False``; the mean over the fits).
    variograms
        Every variogram the variance is averaged over.
    """

    rmse: float
    voxels: np.ndarray
    variance: np.ndarray
    probability: np.ndarray
    filled: int
    variogram: FieldVariogram
    noise_var: float
    scale: np.ndarray
    variograms: tuple[FieldVariogram, ...] = ()

    def attrs(self) -> dict[str, float | str]:
        """Grid attributes: ``model_grid_rmse`` (the expected RMSE against the true field)
        and ``model_grid_rmse_method`` (how it was made, in words)."""
        g = self.variogram
        return {
            "model_grid_rmse": self.rmse,
            "model_grid_rmse_method": (
                f"estimation variance of the method's weights at {self.voxels.size} of "
                f"{self.filled} filled voxels under a fitted {g.model} variogram (sill "
                f"{g.sill:.4g}, ranges {g.range_major:.4g}/{g.range_minor:.4g} m horizontal, "
                f"{g.range_v:.4g} m vertical; mean of {max(len(self.variograms), 1)} fits) "
                f"and a noise std of {math.sqrt(max(self.noise_var, 0.0)):.4g}"),
        }


def grid_error_variance(method: BaseGridder, coordinates: Sequence[ArrayLike],
                        values: ArrayLike, spec: GridSpec, *, noise: float | str | None = None,
                        tracks: ArrayLike | None = None, order: ArrayLike | None = None,
                        model: str = "auto", variogram: FieldVariogram | None = None,
                        local: bool | str = False, support: str = "point",
                        subpoints: int = 2, max_voxels: int = 500, reps: int = 3,
                        fits: int = 5, seed: int = 0) -> ErrorEstimate:
    """The estimation variance of a method's grid at a random draw of its filled voxels.

    Parameters
    ----------
    method
        A gridding method (fitted here on a clone).
    coordinates, values
        The samples, ``(x, y, z)`` in the spec's frame.
    spec
        The grid (fitted to the samples when it has no region).
    noise
        Measurement-noise variance; ``None``: estimated from consecutive samples along the
        track (:func:`~dronesense.gridding.cvdesign.noise_variance`), or fitted with the
        variogram (a nugget) when samples are too far apart for that; ``"fit"``: fitted
        with the variogram.
    tracks, order
        The samples' track and order along it, for the noise estimate.
    model
        Variogram model (``auto``, ``Exponential``, ``Gaussian``, ``Spherical``, ``Stable``).
    variogram
        A variogram of the field to use instead of fitting one (``noise`` is then needed).
    local
        ``False`` (default): one stationary variogram. Or rescale the sill at each voxel:
        ``"weights"`` from the groups of samples the method weighs there
        (:func:`weights_sill`; the nearest voxel means where it weighs fewer than three),
        ``"neighbours"`` (or ``True``) from the nearest voxel means (:func:`local_sill`).
        On the benchmark flights neither did better than the stationary variogram (see
        ``docs/gridding.md``).
    support
        ``point``: the error at the voxel centre; ``voxel``: against the voxel's mean
        (``subpoints``³ points per voxel).
    max_voxels
        Voxels drawn (on the benchmark flights 500 give the RMSE of 2000 within 2 %).
    reps
        Samples standing for each group of samples.
    fits
        Where there are more voxel means than
        :data:`~dronesense.gridding.fieldvariogram.VARIOGRAM_GROUPS`: variograms fitted,
        each to another random draw of them (seeds ``seed``, ``seed + 1``...); the
        variance is their mean (on the lawnmower benchmark at 1e5 samples one fit swings
        the estimate by a factor up to 1.8, the mean of three gave 0.54-0.78 of the true
        error over five seeds, the mean of five 0.66-0.71). With fewer, one variogram is
        fitted to all of them (the same for every seed).
    """
    if support not in ("point", "voxel"):
        raise ParameterError("support", f"must be point or voxel, not {support!r}")
    check_linear(method)  # before the variogram is fitted
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & np.isfinite(v)
    if not ok.any():
        raise NoUsableDataError("no finite samples")
    tracks = None if tracks is None else np.asarray(tracks).ravel()[ok]
    order = None if order is None else np.asarray(order).ravel()[ok]
    x, y, z, v = x[ok], y[ok], z[ok], v[ok]
    if spec.region is None:
        spec = spec.fit(x, y, z)
    if noise == "fit":
        noise = None
    elif noise is None:
        noise = noise_variance((x, y, z), v, tracks=tracks, order=order,
                               max_step=spec.spacing[0])
    fitted = method.clone().fit((x, y, z), v, spec=spec)
    voxel_groups = sample_groups(spec, (x, y, z), v, reps)
    has = (voxel_groups.voxel >= 0).reshape(spec.shape)
    filled = np.flatnonzero(supported(has, int(getattr(fitted, "support", 0) or 0)))
    if variogram is None:  # several fits on other draws of pairs, their variances averaged
        draws = max(1, int(fits)) if voxel_groups.count.size > VARIOGRAM_GROUPS else 1
        results = [fit_field_variogram(voxel_groups, noise, spec.spacing, model=model,
                                       seed=seed + k) for k in range(draws)]
        variograms = [f[0] for f in results]
        noise = float(np.mean([f[1] for f in results]))
    elif noise is None:
        raise ParameterError("noise", "a given variogram needs the noise variance too (it "
                             "could not be estimated from the samples)")
    else:
        variograms = [variogram]
    cx, cy, cz = (c.ravel()[filled] for c in spec.centres())
    centres = np.column_stack([cx, cy, cz])
    rng = np.random.default_rng(seed)
    if local:
        proxy = local_sill(voxel_groups, centres, variograms[0], noise)
        prob = 0.5 / filled.size + 0.5 * proxy / max(proxy.sum(), 1e-300)
        prob /= prob.sum()
        pick = rng.choice(filled.size, size=min(max_voxels, filled.size), p=prob)
    else:
        prob = np.full(filled.size, 1.0 / filled.size)
        pick = np.sort(rng.choice(filled.size, size=min(max_voxels, filled.size),
                                  replace=False))
    weights = voxel_weights(fitted, filled[pick], reps=reps)
    keep = (weights.index >= 0).any(axis=1)
    sub = _subpoints(spec.spacing, subpoints if support == "voxel" else 1)
    mean_sq = float(np.mean(v)) ** 2
    # groups weighing under PRUNE of a voxel's largest weight are left out of its variance;
    # the rest keep the weights' sum (else (1 - sum)² would weigh in the squared mean)
    w = weights.weights[keep]
    total = w.sum(axis=1)
    big = np.abs(w) >= PRUNE * np.abs(w).max(axis=1, keepdims=True)
    index, w = compact_weights(np.where(big, weights.index[keep], -1), np.where(big, w, 0.0))
    kept_sum = w.sum(axis=1)
    w = w * np.where(kept_sum != 0, total / np.where(kept_sum != 0, kept_sum, 1.0), 1.0)[
        :, None]
    kept = VoxelWeights(weights.voxels[keep], index, w, weights.groups)
    var = np.zeros(pick.size)
    scale = np.zeros(pick.size)
    for vg in variograms:
        sc = np.ones(pick.size)
        if local:
            sc = local_sill(voxel_groups, centres[pick], vg, noise)
        if local == "weights":
            own = weights_sill(weights, vg, noise)
            sc = np.where(np.isfinite(own), own, sc)
        var[keep] += _variances(kept, vg, centres[pick[keep]], sub, noise, sc[keep], mean_sq)
        scale += sc / len(variograms)
    var = np.where(keep, var / len(variograms), np.nan)
    p = prob[pick]
    good = np.isfinite(var)
    mean_var = float(np.sum(var[good] / (filled.size * p[good])) / max(good.sum(), 1))
    return ErrorEstimate(math.sqrt(max(mean_var, 0.0)), filled[pick], var, p, filled.size,
                         variograms[0], float(noise), scale, tuple(variograms))


def expected_grid_rmse(method: BaseGridder, coordinates: Sequence[ArrayLike],
                       values: ArrayLike, spec: GridSpec, **options) -> float:
    """Expected RMSE of ``method``'s grid against the noise-free field over the voxels it
    fills, from the estimation variance (options: :func:`grid_error_variance`)."""
    return grid_error_variance(method, coordinates, values, spec, **options).rmse
