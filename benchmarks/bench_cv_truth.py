"""Cross-validation against the true error of the grid, on flights whose field is known.

For each flight and method: the true RMSE (the grid against the noise-free field, over the
voxels the method fills) and, for each design of
:func:`dronesense.gridding.validation.cross_validate`, the CV RMSE against the held-out
samples (``raw``, their noise included) and the noise-corrected estimate of the grid's
error (``grid``: ``sqrt(max(raw^2 - noise^2, 0))``, the noise estimated from the samples),
each with its ratio to the true RMSE:

voxels/points
    the default: track pieces of four horizontal voxel sizes, predictions at the held-out
    samples;
voxels/voxels
    the same pieces, the held-out samples against their voxel's value in the grid of the
    other folds (``at="voxels"``);
passes/points, passes/voxels
    pieces twice the spacing between passes (``blocks="passes"``);
distances/points, distances/voxels
    track pieces whose held-out distances match the distances from the grid's filled voxel
    centres to the samples (``blocks="distances"``, kNNDM).

Two truths: the field at each voxel centre (``true``, the one the targets use) and the
field's mean over each voxel (``true-mean``, 4 x 4 x 4 points per voxel); each method's
``cell_methods`` (``point`` or ``mean``) says which its grid declares.

Flights: the lawnmower of ``bench_grid.py`` (1e4, 1e5, 1e6 samples; IDW as there) and the
plume-box mission flown by firmware-sim (seed 1; 10 m x 10 m x 5 m voxels, levels on the
layers). The last lines give the time of one IDW cross-validation with matched distances
and with the default (one run each, after a warm-up) and their ratio.

``--directions`` adds, for IDW on the plume-box flight with the default blocks, the RMSE of
held-out samples by their distance to the nearest training sample, split by whether that
sample lies along the track or across it, beside the true error of the voxel centres by
their distance to the nearest sample.

``--seeds N`` adds, for the default design, the spread of the estimate over N fold
assignments (``seed=0 .. N-1``): min, median and max of estimate / true RMSE. The
model-based estimate (estimation variance) is compared on the same cases by
``bench_error_model.py``.

Run: ``python benchmarks/bench_cv_truth.py [--sizes 1e4,1e5,1e6] [--no-sim] [--seeds 8]``, or
``python benchmarks/bench_cv_truth.py --directions`` for that table alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_grid import SPEC, flights, plume, rmse  # noqa: E402
from dronesense.gridding.methods.block import BlockReduce  # noqa: E402
from dronesense.gridding.methods.dmv import KernelDMV  # noqa: E402
from dronesense.gridding.methods.idw import IDW  # noqa: E402
from dronesense.gridding.methods.kriging import Kriging  # noqa: E402
from dronesense.gridding.validation import cross_validate  # noqa: E402

DESIGNS = (("voxels", "points"), ("voxels", "voxels"), ("passes", "points"),
           ("passes", "voxels"), ("distances", "points"), ("distances", "voxels"))
RATIOS: list[tuple[str, list[float]]] = []
#: voxels per axis the voxel-mean truth averages the field over
SUB = 4


def line(name: str, true: float, scores, true_mean: float = float("nan"),
         cell: str = "") -> None:
    cells = "  ".join(f"{s.rmse:.4f} ({s.rmse / true:.2f}) {s.grid_rmse:.4f} "
                      f"({s.grid_rmse / true:.2f})" for s in scores)
    noise = scores[0].noise_std
    noise = "-" if noise is None else f"{noise:.4f}"
    print(f"  {name:<14} true {true:.4f} true-mean {true_mean:.4f} noise {noise}  {cells}",
          flush=True)
    print(f"  {'':<14} cell_methods: {cell}", flush=True)
    print(f"  {'':<14} distances: {scores[-1].blocking}", flush=True)
    RATIOS.append((name, [s.grid_rmse / true for s in scores]))


def voxel_mean(spec, field) -> np.ndarray:
    """The mean of ``field(x, y, z)`` over each voxel (SUB^3 points per voxel)."""
    x, y, z = spec.centres()
    offsets = (np.arange(SUB) + 0.5) / SUB - 0.5
    total = np.zeros(x.shape)
    for a in offsets:
        for b in offsets:
            for c in offsets:
                total += field(x + a * spec.spacing[0], y + b * spec.spacing[1],
                               z + c * spec.spacing[2])
    return total / SUB**3


def cell_methods(grid) -> str:
    return next(a for a in grid.data_vars.values()
                if "ancillary_variables" in a.attrs).attrs.get("cell_methods", "")


SEEDS = 0


def designs(method, coords, v, spec, **kw):
    return [cross_validate(method, coords, v, spec=spec, blocks=b, at=a, **kw)
            for b, a in DESIGNS]


def seed_spread(method, coords, v, spec, true: float, **kw) -> None:
    """Estimate / true RMSE over SEEDS fold assignments of the default design."""
    if SEEDS < 2:
        return
    runs = [cross_validate(method, coords, v, spec=spec, seed=s, **kw) for s in range(SEEDS)]
    for name, vals in (("cv", [r.grid_rmse / true for r in runs]),):
        print(f"  {'':<14} {name} over {SEEDS} fold seeds: min {min(vals):.2f} median "
              f"{np.median(vals):.2f} max {max(vals):.2f}", flush=True)


def header(title: str) -> None:
    print(f"{title}; per design: raw (ratio) grid (ratio) for "
          + ", ".join("/".join(d) for d in DESIGNS))


def lawnmower(sizes: list[int]) -> list[tuple[int, float, float]]:
    truth = plume(*SPEC.centres())
    truth_mean = voxel_mean(SPEC, plume)
    header("bench_grid lawnmower, IDW(k=8, anisotropy=2, support=2)")
    times = []
    for n in sizes:
        coords, v = flights(n)
        method = IDW(k=8, anisotropy=2.0, support=2)
        grid = method.fit(coords, v, spec=SPEC).grid()
        est = grid["value"].values
        true = rmse(est, truth)
        line(f"N = {n:.0e}", true, designs(method, coords, v, SPEC), rmse(est, truth_mean),
             cell_methods(grid))
        seed_spread(method, coords, v, SPEC, true)
        sq = np.sort(((est - truth) ** 2)[np.isfinite(est)])[::-1]
        print(f"  {'':<14} share of the true squared error in the worst 0.1 % of voxels: "
              f"{sq[:max(1, sq.size // 1000)].sum() / sq.sum():.0%}", flush=True)
        t = {}
        for blocks in ("distances", "voxels"):
            t0 = time.perf_counter()
            cross_validate(method, coords, v, spec=SPEC, blocks=blocks)
            t[blocks] = time.perf_counter() - t0
        times.append((n, t["distances"], t["voxels"]))
    return times


def plume_box_flight():
    """The plume-box mission flown by firmware-sim (seed 1), its ch4 samples on 10 m x 10 m x
    5 m voxels: ``(spec, coords, values, tracks, order, truth_at)``, ``truth_at(x, y, z)`` the
    simulator's noise-free field at local coordinates."""
    import dronesense as ds
    from dronesense.gridding.coordinates import sample_tracks, usable_samples
    from dronesense.gridding.spec import make_spec
    from firmware_sim import load_field

    missions = ROOT / "missions"
    with tempfile.TemporaryDirectory() as tmp:
        tlog = Path(tmp) / "box.tlog"
        subprocess.run([sys.executable, "-m", "firmware_sim", "--mission",
                        str(missions / "plume-box.plan"), "--connect", "none", "--speedup",
                        "0", "--seed", "1", "--quiet", "--tlog", str(tlog)], check=True,
                       cwd=ROOT, timeout=600)
        samples = ds.read_samples(tlog, lags={"ch4": "auto"})
    field = load_field(missions / "plume-box.toml")
    spec, coords, v, _ = usable_samples(samples, "ch4", make_spec(samples, spacing=(10, 10, 5)))
    tracks, order = sample_tracks(samples, "ch4", spec)

    def truth_at(x, y, z):
        lat, lon, _ = spec.frame.inverse(x, y)
        return field.evaluate("ch4", lat, lon, spec.altitude_of(z))

    return spec, coords, v, tracks, order, truth_at


def plume_box(show_directions: bool = False) -> None:
    spec, coords, v, tracks, order, at = plume_box_flight()
    truth = at(*spec.centres())
    truth_mean = voxel_mean(spec, at)
    header(f"plume-box (firmware-sim seed 1), {v.size} ch4 samples, levels "
           f"{spec.z[0]:g}-{spec.z[-1]:g} m")
    for method in (BlockReduce(), IDW(k=4, anisotropy=2.0), KernelDMV(sigma_h=10, sigma_v=5),
                   Kriging(anisotropy=2.0)):
        grid = method.clone().fit(coords, v, spec=spec).grid(spec)
        est = next(a for a in grid.data_vars.values()
                   if "ancillary_variables" in a.attrs).values
        ok = np.isfinite(est)
        true = float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2)))
        true_mean = float(np.sqrt(np.mean((est[ok] - truth_mean[ok]) ** 2)))
        if show_directions:
            if isinstance(method, IDW):
                directions(method, coords, v, spec, truth, tracks, order)
            continue
        line(type(method).__name__, true,
             designs(method, coords, v, spec, tracks=tracks, order=order), true_mean,
             cell_methods(grid))
        seed_spread(method, coords, v, spec, true, tracks=tracks, order=order)


def directions(method, coords, v, spec, truth, tracks, order) -> None:
    """CV error by distance and direction (along / across the track) against the true error
    of the voxel centres by distance (see the module docstring)."""
    from scipy.spatial import cKDTree

    from dronesense.gridding.cvdesign import track_order
    from dronesense.gridding.validation import fold_design

    x, y, z = (np.asarray(c, dtype=float) for c in coords)
    aspect = spec.spacing[0] / spec.spacing[2]
    perm = track_order(v.size, tracks, order)
    pts = np.column_stack([x, y, z * aspect])
    tangent = np.zeros_like(pts)
    tangent[perm] = np.gradient(pts[perm], axis=0)
    tangent /= np.linalg.norm(tangent, axis=1)[:, None] + 1e-12
    design = fold_design(coords, v, spec=spec, tracks=tracks, order=order)
    resid = np.full(v.size, np.nan)
    near = np.zeros(v.size, dtype=int)
    dist = np.zeros(v.size)
    for k in range(design.folds):
        test = design.fold == k
        train = np.flatnonzero(~test)
        model = method.clone().fit((x[train], y[train], z[train]), v[train], spec=spec)
        resid[test] = model.predict((x[test], y[test], z[test])) - v[test]
        dist[test], j = cKDTree(pts[train]).query(pts[test])
        near[test] = train[j]
    along = np.abs(((pts[near] - pts) * tangent).sum(axis=1)) > 0.7 * dist
    grid = method.clone().fit(coords, v, spec=spec).grid(spec)
    est = next(a for a in grid.data_vars.values() if "ancillary_variables" in a.attrs).values
    ok = np.isfinite(est)
    cx, cy, cz = spec.centres()
    vox_dist = cKDTree(pts).query(np.column_stack([cx[ok], cy[ok], cz[ok] * aspect]))[0]
    err = est[ok] - truth[ok]
    edges = (0, 5, 10, 20, 40)
    print(f"  {type(method).__name__}, {design.blocking}: RMSE (count) by distance to the "
          "nearest sample left in / to the nearest sample")
    for name, d, r, sel in (("CV, along the track", dist, resid, along),
                            ("CV, across the track", dist, resid, ~along),
                            ("true, voxel centres", vox_dist, err, np.ones(err.size, bool))):
        cells = []
        for lo, hi in pairwise(edges):
            m = sel & (d >= lo) & (d < hi) & np.isfinite(r)
            cells.append(f"{lo}-{hi} m: " + (f"{np.sqrt(np.mean(r[m] ** 2)):.4f} ({m.sum()})"
                                             if m.any() else "-"))
        print(f"    {name:<22} " + "  ".join(cells))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--no-sim", action="store_true", help="leave out the plume-box flight")
    parser.add_argument("--directions", action="store_true",
                        help="only the CV error along / across the track (plume-box, IDW)")
    parser.add_argument("--seeds", type=int, default=0,
                        help="spread of the default design's estimates over this many fold seeds")
    args = parser.parse_args(argv)
    global SEEDS
    SEEDS = args.seeds
    if args.directions:
        plume_box(show_directions=True)
        return
    times = lawnmower([int(float(s)) for s in args.sizes.split(",") if s])
    if not args.no_sim:
        plume_box()
    print("grid-error estimate / true RMSE, cases within 0.75-1.25 per design:")
    for i, d in enumerate(DESIGNS):
        r = [ratios[i] for _, ratios in RATIOS]
        inside = sum(0.75 <= x <= 1.25 for x in r)
        worst = max(max(x, 1 / x) for x in r if x > 0) if any(x > 0 for x in r) else np.inf
        print(f"  {'/'.join(d):<18} {inside} of {len(r)}, worst factor {worst:.2f}")
    print("time of one IDW cross-validation (s): distances vs the default (voxels), ratio")
    for n, t_new, t_old in times:
        print(f"  N = {n:.0e}: {t_new:.2f} s vs {t_old:.2f} s ({t_new / t_old:.2f}x)")


if __name__ == "__main__":
    main()
