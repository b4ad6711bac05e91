"""Gridding: time and accuracy of dronesense methods against the usual baselines, in one run.

Synthetic flights: lawnmower lines (20 m apart) at ten layers over 1000 m x 1000 m x 100 m,
sampling a Gaussian plume plus noise; N samples spread evenly along the track. The grid is
100 x 100 x 20 voxels (10 m x 10 m x 5 m). For each N, one run each (after a warm-up call):

block statistics (mean, count)
    dronesense ``block_statistics`` vs scipy ``binned_statistic_dd``, a numpy ``bincount``
    recipe, and verde ``BlockReduce`` (N <= 1e6).
block statistics (mean, count, std, min, max)
    dronesense vs scipy ``binned_statistic_dd`` called once per statistic.
interpolated products
    dronesense IDW, kernel DM+V, kriging (block means); verde ``KNeighbors`` on raw samples
    (N <= 1e6); scipy ``griddata`` linear on at most 5000 block means; pykrige
    ``OrdinaryKriging3D`` on 300 block means. RMSE against the true field on the
    voxels each method fills.
complete product with cross-validation
    dronesense IDW grid plus 5-fold blocked cross-validation (N <= 1e6).

Run: ``python benchmarks/bench_grid.py [--sizes 1e4,1e5,1e6,1e7]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging
from dronesense.gridding.spec import GridSpec
from dronesense.gridding.validation import cross_validate

SPEC = GridSpec((10.0, 10.0, 5.0), (52.0, 5.0, 0.0), region=(0, 1000, 0, 1000, 0, 100))
NOISE = 0.02


def plume(x, y, z):
    """CH4 (ppm): background + Gaussian plume from (100, 500, 30) m blowing east."""
    d = np.maximum(x - 100.0, 1.0)
    sy = 0.2 * d + 5.0
    sz = 0.1 * d + 4.0
    c = 600.0 / (sy * sz) * np.exp(-0.5 * ((y - 500.0) / sy) ** 2) * (
        np.exp(-0.5 * ((z - 30.0) / sz) ** 2) + np.exp(-0.5 * ((z + 30.0) / sz) ** 2))
    return 1.9 + np.where(x > 100.0, c, 0.0)


def flights(n: int, seed: int = 0):
    """N samples along lawnmower lines at ten layers (5, 15, ... 95 m)."""
    rng = np.random.default_rng(seed)
    layers = np.arange(5.0, 100.0, 10.0)
    lines = np.arange(10.0, 1000.0, 20.0)
    per_line = max(2, n // (layers.size * lines.size))
    s = np.linspace(0.0, 1000.0, per_line, endpoint=False)
    x = np.tile(s, layers.size * lines.size)
    y = np.repeat(np.tile(lines, layers.size), per_line)
    z = np.repeat(layers, lines.size * per_line)
    m = x.size
    x = x + rng.normal(0, 0.5, m)
    y = y + rng.normal(0, 0.5, m)
    z = z + rng.normal(0, 0.3, m)
    v = plume(x, y, z) + rng.normal(0, NOISE, m)
    return (x, y, z), v


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def rmse(est, truth):
    ok = np.isfinite(est)
    return float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2))) if ok.any() else float("nan")


def numpy_bincount(coords, v):
    edges = SPEC.edges()
    idx = np.zeros(v.size, dtype=np.int64)
    inside = np.ones(v.size, dtype=bool)
    stride = 1
    for c, e in zip(coords, edges, strict=True):
        i = np.floor((c - e[0]) / (e[1] - e[0])).astype(np.int64)
        inside &= (i >= 0) & (i < e.size - 1)
        idx += np.clip(i, 0, e.size - 2) * stride
        stride *= e.size - 1
    idx = idx[inside]
    count = np.bincount(idx, minlength=SPEC.size)
    total = np.bincount(idx, weights=v[inside], minlength=SPEC.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).reshape(SPEC.shape)


def row(name, seconds, base=None, err=None):
    ratio = f"{base / seconds:8.1f}x" if base else " " * 9
    err = f"{err:.4f}" if err is not None else "-"
    print(f"  {name:<44} {seconds:9.3f} s {ratio}  rmse {err}", flush=True)


def bench(n: int, truth):
    from scipy.interpolate import griddata
    from scipy.stats import binned_statistic_dd

    coords, v = flights(n)
    print(f"\nN = {v.size:,} samples onto {SPEC.shape[2]} x {SPEC.shape[1]} x "
          f"{SPEC.shape[0]} voxels", flush=True)
    pts = np.column_stack(coords)
    edges = SPEC.edges()

    print(" block mean + count (ratios: scipy binned_statistic_dd time / this)")
    block_statistics(SPEC, coords, v, ["mean", "count"])  # warm-up (numba load)
    t_ours, ours = timed(block_statistics, SPEC, coords, v, ["mean", "count"])
    t_sc, sc = timed(binned_statistic_dd, pts, v, "mean", bins=edges)
    row("scipy binned_statistic_dd", t_sc, t_sc, rmse(sc.statistic.T, truth))
    t_np, est = timed(numpy_bincount, coords, v)
    row("numpy bincount recipe", t_np, t_sc, rmse(est, truth))
    if v.size <= 1_000_000:
        import verde as vd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_vd, _ = timed(vd.BlockReduce(np.mean, spacing=10.0).filter,
                            coords[:2], v)
        row("verde BlockReduce (2-D, horizontal only)", t_vd, t_sc)
    row("dronesense block_statistics", t_ours, t_sc, rmse(ours["mean"], truth))

    print(" block mean, count, std, min, max (scipy: one call per statistic)")
    t_all, _ = timed(block_statistics, SPEC, coords, v, ["mean", "count", "std", "min", "max"])
    t_sc5 = sum(timed(binned_statistic_dd, pts, v, s, bins=edges)[0]
                for s in ("mean", "count", "std", "min", "max"))
    row("scipy binned_statistic_dd x5", t_sc5, t_sc5)
    row("dronesense block_statistics", t_all, t_sc5)

    print(" interpolated products (grid of every voxel; ratios vs scipy griddata)")
    # baselines work on block means, as a user would to keep them tractable
    bm = block_statistics(SPEC, coords, v, ["mean"])["mean"]
    bx, by, bz = SPEC.centres()
    has = np.isfinite(bm)
    bpts = np.column_stack([bx[has], by[has], bz[has] * 2.0])
    gx, gy, gz = (a.ravel() for a in SPEC.centres())
    gpts = np.column_stack([gx, gy, gz * 2.0])
    rng = np.random.default_rng(1)
    sub = rng.choice(int(has.sum()), size=min(5000, int(has.sum())), replace=False)
    t_gd, gd = timed(griddata, bpts[sub], bm[has][sub], gpts, method="linear")
    row(f"scipy griddata linear ({sub.size} block means)", t_gd, t_gd,
        rmse(gd.reshape(SPEC.shape), truth))
    if v.size <= 1_000_000:
        import verde as vd

        kn = vd.KNeighbors(k=8)
        t_kn, _ = timed(kn.fit, (coords[0], coords[1], coords[2] * 2.0), v)
        t_kp, kp = timed(kn.predict, (gx, gy, gz * 2.0))
        row("verde KNeighbors k=8 (raw samples)", t_kn + t_kp, t_gd,
            rmse(kp.reshape(SPEC.shape), truth))
    try:
        from pykrige.ok3d import OrdinaryKriging3D

        pick = sub[:300]  # its constructor runs an O(n^4) leave-one-out
        t0 = time.perf_counter()
        ok3 = OrdinaryKriging3D(bpts[pick, 0], bpts[pick, 1], bpts[pick, 2],
                                bm[has][pick], variogram_model="exponential")
        pk, _ = ok3.execute("points", gx, gy, gz * 2.0, backend="vectorized")
        t_pk = time.perf_counter() - t0
        row("pykrige OrdinaryKriging3D (300 block means)", t_pk, t_gd,
            rmse(np.asarray(pk).reshape(SPEC.shape), truth))
    except ImportError:
        print("  pykrige not installed")
    for method in (IDW(k=8, anisotropy=2.0, support=2),
                   KernelDMV(sigma_h=10.0, sigma_v=5.0, support=2),
                   Kriging(anisotropy=2.0, max_points=2000, support=2)):
        t0 = time.perf_counter()
        ds = method.fit(coords, v, spec=SPEC).grid()
        t_m = time.perf_counter() - t0
        row(f"dronesense {type(method).__name__}", t_m, t_gd, rmse(ds["value"].values, truth))

    if v.size <= 1_000_000:
        t0 = time.perf_counter()
        method = IDW(k=8, anisotropy=2.0, support=2)
        ds = method.fit(coords, v, spec=SPEC).grid()
        scores = cross_validate(method, coords, v, spec=SPEC, folds=5)
        t_cv = time.perf_counter() - t0
        print(f"  complete IDW product + 5-fold blocked CV: {t_cv:.3f} s "
              f"(CV rmse {scores.rmse:.4f}, true rmse {rmse(ds['value'].values, truth):.4f}, "
              f"noise {NOISE})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6,1e7",
                        help="comma-separated sample counts (default 1e4,1e5,1e6,1e7)")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    truth = plume(*SPEC.centres())
    print(__doc__.split("\n\n")[0], flush=True)
    for n in sizes:
        bench(n, truth)


if __name__ == "__main__":
    main()
