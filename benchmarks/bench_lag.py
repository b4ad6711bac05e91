"""``pair --lag ch4=auto`` on a 1,000,000-message tlog: the lag estimate, its pair search, and
the command against plain ``pair``, in one run.

Makes (or reuses) ``out/bench/ingest-1M.tlog`` (``bench_ingest.make_log``), then

1. reads it once and times :func:`dronesense.flight.boots.estimate_boots_lag` for CH4 in this
   process (best of ``--repeat``; wall and CPU): the default estimate, and with ``--exact``
   also peak matching (``method="shift"``) on every reading (``max_readings=None``) against
   the default bound, with their results;
2. times the pair search of peak matching on every reading for ``--lags`` trial lags:
   :func:`dronesense.flight.lagpairs.pair_scores` (numpy cell join) against the same scores
   from a ``scipy.spatial.cKDTree`` per 10-minute window and lag (the search used before),
   checking that both find the same pairs;
3. times ``dronesense pair LOG --out x.nc`` and ``dronesense pair LOG --lag ch4=auto --out
   y.nc`` as their own processes (best of ``--repeat``; wall, and the child's CPU from
   ``os.wait4``) and prints the difference and ratio.

The load average is printed beside the figures: the machine is shared, and on a loaded one
the CPU seconds say more than the wall.
Run: ``python benchmarks/bench_lag.py [--messages N] [--repeat K] [--lags N] [--exact]``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import make_log  # noqa: E402

OUT = ROOT / "out" / "bench"


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def best(fn, repeat: int):
    """(best wall s, CPU s of that run, result) of ``fn()`` run ``repeat`` times."""
    out = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        got = (time.perf_counter() - w0, time.process_time() - c0, res)
        if out is None or got[0] < out[0]:
            out = got
    return out


def command(cmd: list[str], repeat: int) -> tuple[float, float, str]:
    """(best wall s, CPU s of that run, its output) of a command run ``repeat`` times as its
    own process (CPU: user + system of the child, from ``os.wait4``)."""
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        text = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.stdout.close()
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"failed: {' '.join(cmd)}")
        got = (time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, text)
        if out is None or got[0] < out[0]:
            out = got
    return out


def kdtree_scores(fix_t, enu, vel, t, value, lags, scale, speed, window_ms):
    """Pair counts and squared-difference sums per lag, found with one cKDTree per two
    consecutive time windows and lag (the search used before the cell join)."""
    from scipy.spatial import cKDTree

    counts, sums = [], []
    for lag in lags:
        tt = t - lag * 1000.0
        idx = np.flatnonzero((tt >= fix_t[0]) & (tt <= fix_t[-1]))
        vx = np.interp(tt[idx], fix_t, vel[:, 0])
        sub = idx[np.abs(vx) > 0.5 * speed]
        ahead = np.abs(vx) > 0.5 * speed
        ahead = vx[ahead] > 0
        q = np.column_stack([np.interp(tt[sub], fix_t, enu[:, j]) for j in range(3)]) / scale
        times = t[sub]
        block = ((times - times[0]) // window_ms).astype(np.int64)
        starts = np.searchsorted(block, np.arange(block[-1] + 2))
        n = s = 0.0
        for i in np.unique(block).tolist():
            a, mid, b = starts[i], starts[i + 1], starts[min(i + 2, block[-1] + 1)]
            pairs = cKDTree(q[a:b]).query_pairs(1.0, output_type="ndarray") + a
            keep = (pairs[:, 0] < mid) & (ahead[pairs[:, 0]] != ahead[pairs[:, 1]])
            keep &= np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= window_ms
            pa, pb = sub[pairs[keep, 0]], sub[pairs[keep, 1]]
            n += pa.size
            s += float(((value[pa] - value[pb]) ** 2).sum())
        counts.append(n)
        sums.append(s)
    return np.array(counts), np.array(sums)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lags", type=int, default=10)
    ap.add_argument("--exact", action="store_true")
    args = ap.parse_args()
    log = make_log(OUT / "ingest-1M.tlog", args.messages)

    from dronesense.flight.boots import estimate_boots_lag, split_boots, split_boots_columns
    from dronesense.flight.lagpairs import pair_scores
    from dronesense.quantities import NameTable
    from dronesense.sources.logs import load_events

    names = NameTable.default()
    events = load_events(log)
    boots = split_boots_columns(events.columns, names) if events.columns is not None \
        else split_boots(events.events, names)
    seg = next(s for s in boots.segments.values() if "ch4" in s.readings)
    n_read = len(seg.readings["ch4"][0])
    print(f"{log.name}: {len(events.events)} events; CH4: {n_read} readings, "
          f"{len(seg.track)} fixes")

    print(f"\n1. the estimate in this process ({load()})")
    rows = [("default (auto)", {})]
    if args.exact:
        rows += [("shift, max_readings=20000", {"method": "shift"}),
                 ("shift, every reading", {"method": "shift", "max_readings": None})]
    for label, opts in rows:
        wall, cpu, est = best(lambda o=opts: estimate_boots_lag(boots, "ch4", **o),
                              args.repeat if not opts else 1)
        print(f"  {label:28s} {wall:6.2f} s wall {cpu:6.2f} s CPU   {est.lag_s:.3f} s "
              f"± {est.uncertainty_s:.3f} s, {est.pairs} {est.method}")

    print(f"\n2. pair search on every reading, {args.lags} trial lags ({load()})")
    fix_t, fix_ok, pos = seg.track.arrays()
    fix_t, pos = fix_t[fix_ok], pos[fix_ok]
    t, value = (np.asarray(a, float) for a in seg.readings["ch4"])
    o = np.argsort(t, kind="stable")
    t, value = t[o], value[o]
    lat0, lon0 = float(np.median(pos[:, 0])), float(np.median(pos[:, 1]))
    k = math.cos(math.radians(lat0))
    enu = np.column_stack([(pos[:, 1] - lon0) * 111_319.49 * k,
                           (pos[:, 0] - lat0) * 111_319.49, pos[:, 2]])
    vel = np.column_stack([np.gradient(enu[:, j]) / np.gradient(fix_t / 1000.0)
                           for j in range(2)])
    moving = np.hypot(vel[:, 0], vel[:, 1]) > 0.5
    speed = float(np.median(np.hypot(vel[moving, 0], vel[moving, 1])))
    # x along the legs (the principal axis of the velocities), as estimate_lag does
    w, vecs = np.linalg.eigh(np.cov(vel[moving].T))
    ux, uy = vecs[:, np.argmax(w)]
    enu[:, 0], enu[:, 1] = ux * enu[:, 0] + uy * enu[:, 1], ux * enu[:, 1] - uy * enu[:, 0]
    vel = np.column_stack([ux * vel[:, 0] + uy * vel[:, 1], ux * vel[:, 1] - uy * vel[:, 0]])
    scale = np.array([max(2.0, 1.5 * speed * float(np.median(np.diff(t))) / 1000.0),
                      100.0, 3.0])
    lags = np.linspace(-1.0, 3.0, args.lags)
    blocks = np.zeros(t.size, dtype=int)
    cell = best(lambda: pair_scores(fix_t, enu, vel, t, value, lags, scale, speed, blocks, 1,
                                    600.0), args.repeat)
    tree = best(lambda: kdtree_scores(fix_t, enu, vel, t, value, lags, scale, speed,
                                      600_000.0), 1)
    same = np.array_equal(cell[2][1][:, 0], tree[2][0]) and np.allclose(cell[2][0][:, 0],
                                                                         tree[2][1])
    print(f"  cell join (numpy)    {cell[0]:6.2f} s wall {cell[1]:6.2f} s CPU")
    print(f"  cKDTree per window   {tree[0]:6.2f} s wall {tree[1]:6.2f} s CPU "
          f"(scipy.spatial import included)")
    print(f"  ratio {tree[0] / cell[0]:.1f}x wall, {tree[1] / cell[1]:.1f}x CPU; "
          f"{int(cell[2][1].sum() / lags.size)} pairs per lag; same pairs: {same}")

    print(f"\n3. the commands, each its own process ({load()})")
    py = [sys.executable, "-m", "dronesense", "pair", str(log), "--quiet"]
    plain = command([*py, "--out", str(OUT / "bench-lag-plain.nc")], args.repeat)
    lagged = command([*py, "--lag", "ch4=auto", "--out", str(OUT / "bench-lag-auto.nc")],
                     args.repeat)
    line = next((x for x in lagged[2].splitlines() if x.startswith("lag ")), "")
    print(f"  pair                   {plain[0]:6.2f} s wall {plain[1]:6.2f} s CPU")
    print(f"  pair --lag ch4=auto    {lagged[0]:6.2f} s wall {lagged[1]:6.2f} s CPU   "
          f"({line.strip()})")
    print(f"  the lag costs {lagged[0] - plain[0]:+.2f} s wall ({lagged[0] / plain[0]:.2f}x "
          f"plain pair), {lagged[1] - plain[1]:+.2f} s CPU ({load()})")
    if not same:
        sys.exit("the cell join and the k-d tree found different pairs")


if __name__ == "__main__":
    main()
