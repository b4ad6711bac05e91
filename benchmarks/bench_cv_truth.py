"""Blocked cross-validation against the true error of the grid, on flights whose field is known.

For each flight and method: the true RMSE (the grid against the noise-free field, over the
voxels the method fills) and the CV RMSE of three designs of
:func:`dronesense.gridding.validation.cross_validate`:

voxels/points
    the default: track pieces of four horizontal voxel sizes, predictions at the held-out
    samples;
passes/points
    pieces twice the spacing between passes (``blocks="passes"``), predictions at the samples;
passes/voxels
    the same pieces, the held-out samples against their voxel's value (``at="voxels"``).

Flights: the lawnmower of ``bench_grid.py`` (1e4, 1e5, 1e6 samples; IDW as there) and the
plume-box mission flown by firmware-sim (seed 1; 10 m x 10 m x 5 m voxels, levels on the
layers).

Run: ``python benchmarks/bench_cv_truth.py [--sizes 1e4,1e5,1e6] [--no-sim]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
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

DESIGNS = (("voxels", "points"), ("passes", "points"), ("passes", "voxels"))


def line(name: str, true: float, scores: list[float]) -> None:
    cells = " ".join(f"{s:.4f} ({s / true:.2f})" for s in scores)
    print(f"  {name:<32} true {true:.4f}  CV {cells}", flush=True)


def designs(method, coords, v, spec, **kw) -> list[float]:
    return [cross_validate(method, coords, v, spec=spec, blocks=b, at=a, **kw).rmse
            for b, a in DESIGNS]


def lawnmower(sizes: list[int]) -> None:
    truth = plume(*SPEC.centres())
    print("bench_grid lawnmower, IDW(k=8, anisotropy=2, support=2); CV: "
          + ", ".join("/".join(d) for d in DESIGNS))
    for n in sizes:
        coords, v = flights(n)
        method = IDW(k=8, anisotropy=2.0, support=2)
        true = rmse(method.fit(coords, v, spec=SPEC).grid()["value"].values, truth)
        line(f"N = {n:.0e}", true, designs(method, coords, v, SPEC))


def plume_box() -> None:
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
    x, y, z = spec.centres()
    lat, lon, _ = spec.frame.inverse(x, y)
    truth = field.evaluate("ch4", lat, lon, spec.altitude_of(z))
    print(f"plume-box (firmware-sim seed 1), {v.size} ch4 samples, levels "
          f"{spec.z[0]:g}-{spec.z[-1]:g} m")
    for method in (BlockReduce(), IDW(k=4, anisotropy=2.0), KernelDMV(sigma_h=10, sigma_v=5),
                   Kriging(anisotropy=2.0)):
        grid = method.clone().fit(coords, v, spec=spec).grid(spec)
        est = next(a for a in grid.data_vars.values()
                   if "ancillary_variables" in a.attrs).values
        ok = np.isfinite(est)
        true = float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2)))
        line(type(method).__name__, true,
             designs(method, coords, v, spec, tracks=tracks, order=order))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--no-sim", action="store_true", help="leave out the plume-box flight")
    args = parser.parse_args(argv)
    lawnmower([int(float(s)) for s in args.sizes.split(",")])
    if not args.no_sim:
        plume_box()


if __name__ == "__main__":
    main()
