"""End to end: what a user's commands cost on a 1,000,000-message tlog, against the scanner.

Each command runs as its own process (``python -m dronesense ...``, as a user types it) and
is measured from outside: wall time and peak resident memory (``ru_maxrss`` of that child,
from ``os.wait4``). The scanner alone (:func:`dronesense.sources.tlogscan.scan_tlog` in a
fresh process, import included) is the floor every command stands on.

=====================================  ===================================================
``pair -> .csv`` / ``pair -> .nc``     ``dronesense pair LOG --out samples.csv|.nc``
``pair --lag ch4=auto``                the lag estimated from the log, then paired
``replay``                             ``dronesense replay LOG --out replay.csv``
``grid block`` / ``grid auto``         ``dronesense grid samples.nc -q ch4`` (block means;
                                       ``--method auto``: blocked cross-validation chooses)
``flux``                               ``dronesense flux`` of the packaged curtain flight
=====================================  ===================================================

Then a campaign: ``--flights`` samples files (copies of a few simulated flights, each
shifted in time) put onto one grid by ``dronesense campaign``: in one process, and on a dask
``LocalCluster`` with 1 and 2 workers (``--dask local --workers N``; the ``campaign`` extra
installs dask.distributed).

Run: ``python benchmarks/bench_pipeline.py [--messages N] [--flights 100] [--repeat K]``
(``--campaign-only``: just the campaign).
``--big N`` (e.g. ``--big 10000000``) adds ``pair -> .nc`` of an N-message log, read in
slices (peak memory set by the positions and readings kept; ``bench_chunks.py`` has more).
Logs and outputs go to ``out/bench/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import make_log  # noqa: E402

OUT = ROOT / "out" / "bench"


def measure(cmd: list[str], repeat: int = 1) -> tuple[float, float, int]:
    """(best wall s, peak RSS MB of that run, exit status) of a command run ``repeat`` times."""
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code:
            print(f"  failed ({code}): {' '.join(map(str, cmd))}\n{err[-800:]}")
        got = (wall, usage.ru_maxrss / 1024.0, code)
        if best is None or got[0] < best[0]:
            best = got
    return best


def ds(*args) -> list[str]:
    return [sys.executable, "-m", "dronesense", *map(str, args)]


def table(log: Path, repeat: int) -> list[tuple[str, float, float, int]]:
    """The issue's table: every command's wall time and peak memory."""
    nc, csv = OUT / "pipeline-samples.nc", OUT / "pipeline-samples.csv"
    scan = [sys.executable, "-c",
            f"from dronesense.sources.tlogscan import scan_tlog; scan_tlog({str(log)!r})"]
    curtain = ROOT / "dronesense" / "datasets" / "data" / "plume-curtain.tlog"
    rows = [
        ("tlogscan alone (import included)", scan),
        ("pair -> .csv", ds("pair", log, "--out", csv, "--quiet")),
        ("pair -> .nc", ds("pair", log, "--out", nc, "--quiet")),
        ("pair --lag ch4=auto -> .nc", ds("pair", log, "--lag", "ch4=auto", "--out",
                                           OUT / "pipeline-lag.nc", "--quiet")),
        ("replay -> .csv", ds("replay", log, "--out", OUT / "pipeline-replay.csv")),
        ("grid block (ch4)", ds("grid", nc, "-q", "ch4", "--spacing", "20,20,10", "--out",
                                OUT / "pipeline-grid.nc")),
        ("grid --method auto (ch4)", ds("grid", nc, "-q", "ch4", "--spacing", "20,20,10",
                                        "--method", "auto", "--out",
                                        OUT / "pipeline-auto.nc")),
        ("flux (packaged curtain flight)", ds("flux", curtain, "-q", "ch4", "--wind",
                                              "5@270", "--out", OUT / "pipeline-flux.json")),
    ]
    out = []
    for label, cmd in rows:
        wall, mem, code = measure(cmd, repeat)
        out.append((label, wall, mem, code))
        print(f"  {label:34s} {wall:7.2f} s  {mem:7.0f} MB" + ("" if not code else "  FAILED"),
              flush=True)
    return out


def campaign_inputs(flights: int) -> list[Path]:
    """``flights`` samples files: a few simulated flights, copied with shifted times."""
    import numpy as np
    import xarray as xr

    folder = OUT / f"campaign-{flights}"
    paths = [folder / f"flight{k:03d}.nc" for k in range(flights)]
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    bases = []
    for seed in range(4):
        tlog = folder / f"sim{seed}.tlog"
        if not tlog.exists():
            subprocess.run([sys.executable, "-m", "firmware_sim", "--mission",
                            ROOT / "missions" / "plume-box.plan", "--speedup", "0", "--seed",
                            str(seed), "--connect", "none", "--quiet", "--tlog", tlog],
                           check=True, cwd=ROOT)
        nc = folder / f"sim{seed}.nc"
        subprocess.run(ds("pair", tlog, "--out", nc, "--quiet"), check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        bases.append(xr.load_dataset(nc))
    for k, path in enumerate(paths):
        base = bases[k % len(bases)].copy()
        base["time"] = base["time"] + np.timedelta64(k, "D")
        base.to_netcdf(path)
    return paths


def campaign(flights: int, repeat: int) -> list[tuple[str, float, float, int]]:
    """One grid from many flights: single process, then dask LocalCluster 1 and 2 workers."""
    paths = campaign_inputs(flights)
    common = ["-q", "ch4", "--spacing", "20,20,10"]
    cases = [("single process (streamed)", [])]
    try:
        import distributed  # noqa: F401
        cases += [("dask LocalCluster, 1 worker", ["--dask", "local", "--workers", "1"]),
                  ("dask LocalCluster, 2 workers", ["--dask", "local", "--workers", "2"])]
    except ImportError:
        print("  dask.distributed not installed (pip install 'dronesense[campaign]'): "
              "cluster cases skipped")
    out = []
    for label, extra in cases:
        cmd = ds("campaign", *paths, *common, *extra, "--out", OUT / "campaign-grid.nc")
        wall, mem, code = measure(cmd, repeat)
        out.append((label, wall, mem, code))
        print(f"  {label:34s} {wall:7.2f} s  {mem:7.0f} MB (driver)"
              + ("" if not code else "  FAILED"), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--log", type=Path, default=OUT / "ingest-1M.tlog")
    ap.add_argument("--flights", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1, help="runs per command (best kept)")
    ap.add_argument("--skip-campaign", action="store_true")
    ap.add_argument("--big", type=int, default=0, metavar="N",
                    help="also pair an N-message log (e.g. 10000000) to .nc")
    ap.add_argument("--campaign-only", action="store_true",
                    help="only the campaign (single process, 1 and 2 dask workers)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.campaign_only:
        print(f"campaign: {args.flights} flights onto one grid; best of {args.repeat}")
        camp = campaign(args.flights, args.repeat)
        if len(camp) == 3 and not any(r[3] for r in camp):
            print(f"  scaling 1 -> 2 workers: {camp[1][1] / camp[2][1]:.2f}x; "
                  f"single process vs 2 workers: {camp[0][1] / camp[2][1]:.2f}x")
        return 1 if any(r[3] for r in camp) else 0
    log = make_log(args.log, args.messages)
    print(f"log: {log} ({log.stat().st_size / 1e6:.1f} MB); best of {args.repeat}; wall and "
          "peak RSS of each command as its own process")
    rows = table(log, args.repeat)
    floor = rows[0][1]
    print("ratios to the scanner's own time (the floor):")
    for label, wall, _, _ in rows[1:5]:
        print(f"  {label:34s} {wall / floor:5.1f}x")
    failed = any(r[3] for r in rows)
    if args.big:
        big = make_log(OUT / f"ingest-{args.big // 1_000_000}M.tlog", args.big)
        label = f"pair -> .nc, {big.stat().st_size / 1e6:.0f} MB log"
        wall, mem, code = measure(ds("pair", big, "--out", OUT / "pipeline-big.nc", "--quiet"),
                                  args.repeat)
        failed |= bool(code)
        one = rows[2]
        print(f"  {label:34s} {wall:7.2f} s  {mem:7.0f} MB; {wall / one[1]:.1f}x the time and "
              f"{mem / one[2]:.1f}x the memory of {log.name}'s" + ("  FAILED" if code else ""))
    if not args.skip_campaign:
        print(f"campaign: {args.flights} flights onto one grid")
        camp = campaign(args.flights, args.repeat)
        failed |= any(r[3] for r in camp)
        if len(camp) == 3 and not any(r[3] for r in camp):
            print(f"  scaling 1 -> 2 workers: {camp[1][1] / camp[2][1]:.2f}x; "
                  f"single process vs 2 workers: {camp[0][1] / camp[2][1]:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
