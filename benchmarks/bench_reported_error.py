"""The error a grid reports by default against its true error, and what the model costs.

On the 1 M-message log's samples (the plume-box mission flown by firmware-sim, seed 1, many
times over: ``out/bench/pipeline-lag.nc``, made by ``bench_pipeline.py``), ``grid(samples,
"ch4", spacing=(20, 20, 10), method=M)`` for ``auto``, ``block`` and ``idw``: the true RMSE
of the grid (the voxel centres against the simulator's noise-free field,
``firmware-sim --truth-at``), the reported ``estimated_grid_rmse`` (the model-based estimate,
``model_grid_rmse``) and the cross-validation's ``cross_validation_grid_rmse``, each with its
ratio to the truth; then the time of the same call with ``error_model=True`` (the default)
and ``error_model=False``, in this process (imports done, best of ``--repeat``), and their
difference: the model's cost. The load average is printed with each time.

Run: ``python benchmarks/bench_reported_error.py [SAMPLES] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dronesense.cli.demo import SimulatorTruth, true_field_on_grid  # noqa: E402
from dronesense.gridding.grid import grid  # noqa: E402
from dronesense.samples.files import load_dataset  # noqa: E402

SPACING = (20, 20, 10)


def accuracy(samples, method: str, truth: SimulatorTruth) -> None:
    """One line: the true RMSE, the reported and the cross-validation estimates."""
    g = grid(samples, "ch4", spacing=SPACING, method=method)
    t = true_field_on_grid(g, truth, "ch4").values
    est = g["ch4"].values
    ok = np.isfinite(est)
    true = float(np.sqrt(np.mean((est[ok] - t[ok]) ** 2)))
    a = g.attrs
    rep, cv = a["estimated_grid_rmse"], a["cross_validation_grid_rmse"]
    print(f"  {method:5s} {a['made_by'].split('(')[0]:11s} voxels {int(ok.sum()):5d}  true "
          f"{true:.4g}  reported {rep:.4g} ({rep / true:.2f}, {a['estimated_grid_rmse_method']})"
          f"  cross-validation {cv:.4g} ({cv / true:.2f})")


def cost(samples, method: str, repeat: int) -> None:
    """Best time of ``grid`` with and without the model, and the difference."""
    best = {}
    for em in (False, True):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            grid(samples, "ch4", spacing=SPACING, method=method, error_model=em)
            times.append(time.perf_counter() - t0)
        best[em] = min(times)
        print(f"  {method:5s} error_model={em!s:5s}: best {best[em]:.2f} s of {repeat} "
              f"(load {os.getloadavg()[0]:.1f})")
    print(f"  {method:5s} the model's share: {best[True] - best[False]:.2f} s "
          f"({(best[True] - best[False]) / best[True]:.0%} of the call)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("samples", nargs="?", default=str(ROOT / "out" / "bench" / "pipeline-lag.nc"))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    path = Path(args.samples)
    if not path.exists():  # skipped (not failed) in `python -m benchmarks` before it
        print(f"{path} is missing: run benchmarks/bench_pipeline.py first")
        return
    samples = load_dataset(path)
    print(f"{path.name}: {int(np.isfinite(samples['ch4'].values).sum())} ch4 samples, "
          f"spacing {SPACING}")
    truth = SimulatorTruth(ROOT / "missions" / "plume-box.plan")
    for method in ("auto", "block", "idw"):
        accuracy(samples, method, truth)
    for method in ("auto", "idw"):
        cost(samples, method, args.repeat)


if __name__ == "__main__":
    main()
