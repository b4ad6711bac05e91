"""The model-based error estimate of a grid (estimation variance) against its true error.

For the cases of ``bench_cv_truth.py`` (the lawnmower of ``bench_grid.py`` with IDW at 1e4,
1e5, 1e6 samples; the plume-box flight of firmware-sim, seed 1, with BlockReduce, IDW,
KernelDMV, Kriging) this prints per case:

true (pt)
    RMSE of the grid against the noise-free field at the centres of the filled voxels;
true (vox)
    RMSE against the voxel means of the field (4 x 4 x 4 points per voxel);
estimate (pt), estimate (vox)
    :func:`dronesense.gridding.errorvariance.grid_error_variance` with ``support="point"``
    and ``support="voxel"`` (``--local weights|neighbours``: with a local sill), each with
    its ratio to its own truth, and the seconds the point estimate took.

The last lines count the cases within 0.75-1.25 of the truth and time the estimate on the
samples of the 1 M-message pipeline log (``--samples out/bench/pipeline-lag.nc``, ch4,
spacing 20, 20, 10; IDW) when that file exists.

With ``--seeds N`` every case is estimated with the seeds ``--seed`` ... ``--seed + N - 1``
(other voxel pairs for the variogram where there are more voxel means than it is fitted to,
other voxels drawn) and the spread of the ratios is printed.

Run: ``python benchmarks/bench_error_model.py [--sizes 1e4,1e5,1e6] [--no-sim] [--seed N]
[--seeds N] [--model auto|Exponential|Gaussian|Spherical|Stable]
[--local none|weights|neighbours]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cv_truth import plume_box_flight  # noqa: E402
from benchmarks.bench_grid import SPEC, flights, plume  # noqa: E402
from dronesense.gridding.errorvariance import grid_error_variance  # noqa: E402
from dronesense.gridding.methods.block import BlockReduce  # noqa: E402
from dronesense.gridding.methods.dmv import KernelDMV  # noqa: E402
from dronesense.gridding.methods.idw import IDW  # noqa: E402
from dronesense.gridding.methods.kriging import Kriging  # noqa: E402

ROWS: list[tuple[str, float, float]] = []
SUB = 4


def subpoints(spec):
    f = (np.arange(SUB) + 0.5) / SUB - 0.5
    g = np.stack(np.meshgrid(f, f, f, indexing="ij"), axis=-1).reshape(-1, 3)
    return g * np.asarray(spec.spacing)


def estimate_of(grid) -> np.ndarray:
    return next(a for a in grid.data_vars.values() if "ancillary_variables" in a.attrs).values


def case(name, method, coords, v, spec, truth_at, options, seeds) -> None:
    """One line per seed: the grid's true errors and the two estimates."""
    grid = method.clone().fit(coords, v, spec=spec).grid(spec)
    est = estimate_of(grid).ravel()
    ok = np.isfinite(est)
    cx, cy, cz = (c.ravel()[ok] for c in spec.centres())
    true_pt = float(np.sqrt(np.mean((est[ok] - truth_at(cx, cy, cz)) ** 2)))
    mean = np.zeros(ok.sum())
    for off in subpoints(spec):
        mean += truth_at(cx + off[0], cy + off[1], cz + off[2])
    true_vox = float(np.sqrt(np.mean((est[ok] - mean / len(subpoints(spec))) ** 2)))
    points, voxels = [], []
    for seed in seeds:
        opts = {**options, "seed": seed}
        t0 = time.perf_counter()
        pt = grid_error_variance(method, coords, v, spec, support="point", **opts)
        seconds = time.perf_counter() - t0
        vox = grid_error_variance(method, coords, v, spec, support="voxel", subpoints=SUB,
                                  **opts)
        g = pt.variogram
        print(f"  {name:<22} true(pt) {true_pt:.4f} true(vox) {true_vox:.4f}  est(pt) "
              f"{pt.rmse:.4f} ({pt.rmse / true_pt:.2f})  est(vox) {vox.rmse:.4f} "
              f"({vox.rmse / true_vox:.2f})  est(pt)/true(vox) {pt.rmse / true_vox:.2f}  "
              f"{seconds:.1f} s  seed {seed} [{g.model} sill {g.sill:.3g} "
              f"ranges {g.range_major:.0f}/{g.range_minor:.0f}/{g.range_v:.1f} m at "
              f"{np.degrees(g.angle):.0f} deg, shape {g.shape:.2f}, "
              f"noise {np.sqrt(pt.noise_var):.4f}]", flush=True)
        points.append(pt.rmse / true_pt)
        voxels.append(vox.rmse / true_vox)
    ROWS.append((name, points, voxels))


def lawnmower(sizes, options, seeds) -> None:
    print("bench_grid lawnmower, IDW(k=8, anisotropy=2, support=2)")
    for n in sizes:
        coords, v = flights(n)
        case(f"N = {n:.0e} IDW", IDW(k=8, anisotropy=2.0, support=2), coords, v, SPEC,
             plume, options, seeds)


def plume_box(options, seeds) -> None:
    spec, coords, v, tracks, order, truth_at = plume_box_flight()
    print(f"plume-box (firmware-sim seed 1), {v.size} ch4 samples")
    for method in (BlockReduce(), IDW(k=4, anisotropy=2.0), KernelDMV(sigma_h=10, sigma_v=5),
                   Kriging(anisotropy=2.0)):
        case(type(method).__name__, method, coords, v, spec, truth_at,
             {**options, "tracks": tracks, "order": order}, seeds)


def big_samples(path: Path, options: dict) -> None:
    import dronesense as ds
    from dronesense.gridding.coordinates import sample_tracks, usable_samples
    from dronesense.gridding.spec import make_spec

    samples = ds.read_samples(path)
    spec, coords, v, _ = usable_samples(samples, "ch4", make_spec(samples, spacing=(20, 20, 10)))
    tracks, order = sample_tracks(samples, "ch4", spec)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        est = grid_error_variance(IDW(), coords, v, spec, tracks=tracks, order=order,
                                  **options)
        best = min(best, time.perf_counter() - t0)
    print(f"{path.name}: {v.size} ch4 samples, {est.filled} filled voxels, expected RMSE "
          f"{est.rmse:.4f}; best of 3: {best:.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--no-sim", action="store_true", help="leave out the plume-box flight")
    parser.add_argument("--local", default="none", choices=("weights", "neighbours", "none"),
                        help="local sill from the method's weighted groups, from the nearest "
                        "voxel means, or none (a stationary variogram, the default)")
    parser.add_argument("--model", default="auto", help="variogram model (auto: best fit)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the variogram's pairs and of the voxels drawn")
    parser.add_argument("--seeds", type=int, default=1,
                        help="estimate every case with this many seeds from --seed on and "
                        "print the spread of the ratios (min / median / max)")
    parser.add_argument("--max-voxels", type=int, default=500)
    parser.add_argument("--samples", default=str(ROOT / "out" / "bench" / "pipeline-lag.nc"))
    args = parser.parse_args(argv)
    options = {"local": False if args.local == "none" else args.local,
               "max_voxels": args.max_voxels, "model": args.model, "seed": args.seed}
    seeds = range(args.seed, args.seed + max(1, args.seeds))
    lawnmower([int(float(s)) for s in args.sizes.split(",") if s], options, seeds)
    if not args.no_sim:
        plume_box(options, seeds)
    print("estimate / true RMSE, cases within 0.75-1.25:")
    for i, what in ((1, "point"), (2, "voxel mean")):
        for k, seed in enumerate(seeds):
            r = [row[i][k] for row in ROWS]
            inside = sum(0.75 <= x <= 1.25 for x in r)
            worst = max(max(x, 1 / x) for x in r) if r and min(r) > 0 else np.inf
            print(f"  {what:<12} seed {seed}: {inside} of {len(r)}, worst factor {worst:.2f}")
    if len(seeds) > 1:
        print(f"spread over seeds {seeds.start}-{seeds.stop - 1} (min / median / max of the "
              "ratio):")
        for name, points, voxels in ROWS:
            print(f"  {name:<22} point {min(points):.2f} / {np.median(points):.2f} / "
                  f"{max(points):.2f}   voxel {min(voxels):.2f} / {np.median(voxels):.2f} / "
                  f"{max(voxels):.2f}")
    if args.samples and Path(args.samples).exists():
        big_samples(Path(args.samples), options)


if __name__ == "__main__":
    main()
