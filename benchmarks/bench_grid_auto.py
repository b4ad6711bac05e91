"""``dronesense grid --method auto`` (and the block grid) on the 1 M-message log's samples,
fresh processes, this tree against a baseline tree run alternately in the same session.

Each run is ``python -m dronesense grid SAMPLES -q ch4 --spacing 20,20,10 [--method auto]``
as a user types it (import included), measured from outside: wall time, CPU time (user +
system, of the process and its threads) and peak resident memory (``os.wait4``). On a machine
shared with other jobs the wall time follows the load; the ratio of the two trees' medians,
measured in one session with the runs interleaved, is the figure to compare (the CPU time is
less sensitive to the load than the wall time).

The baseline is the tree of issue 14's measurements before this change, e.g. the last
commit: ``git archive HEAD dronesense | tar -x -C DIR`` then ``--baseline DIR``
(a directory holding a ``dronesense`` package; it runs with this tree's interpreter).

Run: ``python benchmarks/bench_grid_auto.py [--baseline DIR] [--runs 5] [--block]``
(``SAMPLES`` default ``out/bench/pipeline-lag.nc``, made by ``bench_pipeline.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "bench"


def run(tree: Path, samples: Path, auto: bool, out: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one ``grid`` command run with ``tree`` first on the
    path."""
    cmd = [sys.executable, "-m", "dronesense", "grid", str(samples), "-q", "ch4",
           "--spacing", "20,20,10", "--out", str(out)] + (["--method", "auto"] if auto else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed in {tree}:\n{err[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("samples", nargs="?", default=str(OUT / "pipeline-lag.nc"))
    p.add_argument("--baseline", help="directory holding the baseline dronesense package")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--block", action="store_true", help="the block grid, not --method auto")
    args = p.parse_args()
    samples = Path(args.samples).resolve()
    if not samples.exists():  # skipped (not failed) in `python -m benchmarks` before it
        print(f"{samples} is missing: run benchmarks/bench_pipeline.py first")
        return
    trees = {"this tree": ROOT}
    if args.baseline:
        trees["baseline"] = Path(args.baseline).resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    got: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
    print(f"grid {'block' if args.block else '--method auto'} of {samples.name}, "
          f"load {os.getloadavg()[0]:.1f}")
    for i in range(args.runs):
        for name, tree in trees.items():
            w, c, m = run(tree, samples, not args.block, OUT / f"grid-auto-{i % 2}.nc")
            got[name].append((w, c, m))
            print(f"  {name:9s} run {i + 1}: wall {w:.2f} s, cpu {c:.2f} s, peak {m:.0f} MB")
    print(f"load after {os.getloadavg()[0]:.1f}")
    med = {}
    for name, runs in got.items():
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        med[name] = (statistics.median(walls), statistics.median(cpus))
        print(f"{name:9s}: wall median {med[name][0]:.2f} s (range {min(walls):.2f}-"
              f"{max(walls):.2f}), cpu median {med[name][1]:.2f} s, peak "
              f"{max(r[2] for r in runs):.0f} MB")
    if "baseline" in med:
        print(f"this tree / baseline: wall {med['this tree'][0] / med['baseline'][0]:.2f}x, "
              f"cpu {med['this tree'][1] / med['baseline'][1]:.2f}x")


if __name__ == "__main__":
    main()
