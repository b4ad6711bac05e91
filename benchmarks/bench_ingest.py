"""Ingest of a 1,000,000-message tlog: dronesense.sources.tlogscan against its peers, same file,
same run.

Makes (or reuses) ``out/bench/ingest-1M.tlog`` with firmware_sim (plume-box flown repeatedly
as fast as possible), then times, each in fresh processes (best of ``--repeat`` runs, the cases
taking turns so that a change of the machine's load falls on all of them, the import of each
reader shown beside its first call; the load average is printed):

* dronesense: :func:`dronesense.sources.tlogscan.scan_tlog` decoding the message types pairing
  needs (GLOBAL_POSITION_INT, GPS_RAW_INT, NAMED_VALUE_FLOAT/INT, SYSTEM_TIME, HEARTBEAT), every
  record CRC-checked and counted:

  - *cold, default walk*: the first call in a new process, with the walk ``scan_tlog``
    picks (numpy below ``tlogrecords.COMPILED_MIN_BYTES``, else numba; ``tlogrecords.THREADS``
    threads);
  - *cold, numpy, two threads*: the numpy walk with ``tlogrecords.THREADS = 2``;
  - *cold, numba cache present*: the first call in a new process, loading the compiled
    kernels from numba's on-disk cache (the usual case after the first run on a machine);
  - *cold, no numba cache*: with an empty ``NUMBA_CACHE_DIR`` (a fresh install's first run);
  - *warm*: a second call in the same process (the numba walk, and the default walk);
  - *numpy fallback*: the path taken when numba is not installed (first call);
* ``fasttlogparser`` (C++, ``parseTLog(path, whitelist=[the pairing types])``), when installed
  (``pip install scikit-build-core pybind11 && pip install --no-build-isolation
  fasttlogparser``, or the ``bench`` extra); skipped with one line saying so otherwise;
* pymavlink ``mavlink_connection(path)``: ``recv_msg()`` decoding everything, and
  ``recv_match(type=[the pairing types])`` as a user filtering them would write it;

prints messages per second and the ratios measured in this run, and checks that every field
the scanner decodes equals pymavlink's and fasttlogparser's, message for message.

The fresh processes import with a bytecode cache (in a temporary directory, filled by one
untimed run of each case first), as an installed package has its ``.pyc`` files: where
``PYTHONDONTWRITEBYTECODE`` is set and the source tree has none, every cold import would
otherwise compile dronesense's modules (about 20-40 ms here), while numpy and fasttlogparser
come with theirs. ``--no-bytecode-cache`` times the environment as it is.
Run: ``python benchmarks/bench_ingest.py [--messages N] [--repeat K] [--before DIR]
[--no-bytecode-cache]`` (``--before``: also the default cold call of another source tree, e.g.
the last commit's, in the same turns).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Environment of the timed children (the bytecode cache, set by main()).
CHILD_ENV: dict[str, str] = {}
# --before DIR: the children of the "before" case import dronesense from that source tree
sys.path.insert(0, os.environ.get("BENCH_INGEST_TREE") or str(ROOT))


#: The message types pairing needs (``dronesense.sources.tlogscan.PAIRING_TYPES``, checked),
#: written out so that fasttlogparser's timed run imports nothing of dronesense.
PAIRING = ["GLOBAL_POSITION_INT", "GPS_RAW_INT", "NAMED_VALUE_FLOAT", "NAMED_VALUE_INT",
           "SYSTEM_TIME", "HEARTBEAT"]


def make_log(path: Path, messages: int) -> Path:
    """A tlog of at least ``messages`` records from firmware_sim (reused if present)."""
    if path.exists() and path.stat().st_size > messages * 30:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    per_flight = 26_000  # plume-box, one flight
    repeat = max(1, -(-messages // per_flight))
    cmd = [sys.executable, "-m", "firmware_sim", "--mission", str(ROOT / "missions/plume-box.plan"),
           "--speedup", "0", "--seed", "1", "--connect", "none", "--quiet",
           "--repeat", str(repeat), "--tlog", str(path)]
    print(f"making {path} ({repeat} flights) ...", flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return path


def child(mode: str, path: Path) -> None:
    """Run in a fresh process: time the import and the first (and second) call; print JSON."""
    if mode == "fasttlogparser":
        t0 = time.perf_counter()
        import fasttlogparser

        t1 = time.perf_counter()
        msgs, _ = fasttlogparser.parseTLog(str(path), whitelist=list(PAIRING))
        t2 = time.perf_counter()
        n = sum(len(next(iter(v.values()))) for v in msgs.values() if v)
        print(json.dumps({"import": t1 - t0, "first": t2 - t1, "records": n}))
        return
    t0 = time.perf_counter()
    from dronesense.sources import tlogscan

    t1 = time.perf_counter()
    if mode in ("numpy", "twothreads"):
        tlogscan._numba = None
    if mode == "twothreads":
        from dronesense.sources import tlogrecords

        tlogrecords.THREADS = 2
    # "default": the walk scan_tlog picks (numpy below tlogrecords.COMPILED_MIN_BYTES)
    compiled = True if mode in ("cached", "nocache", "warm") else None
    scan = tlogscan.scan_tlog(path, compiled=compiled)
    t2 = time.perf_counter()
    out = {"import": t1 - t0, "first": t2 - t1, "records": scan.records}
    if mode in ("warm", "default"):
        t2 = time.perf_counter()
        tlogscan.scan_tlog(path, compiled=True if mode == "warm" else None)
        out["warm"] = time.perf_counter() - t2
    print(json.dumps(out))


def run_child(mode: str, path: Path, env: dict | None = None, repeat: int = 1) -> dict:
    """The best (by import + first call) of ``repeat`` fresh processes."""
    best = None
    for _ in range(repeat):
        cmd = [sys.executable, __file__, "--child", mode, "--log", str(path)]
        child_env = {**os.environ, **CHILD_ENV, **(env or {})}
        if CHILD_ENV:
            child_env.pop("PYTHONDONTWRITEBYTECODE", None)
        res = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True,
                             env=child_env)
        got = json.loads(res.stdout.strip().splitlines()[-1])
        if best is None or got["import"] + got["first"] < best["import"] + best["first"]:
            best = got
    return best


def run_interleaved(modes: list[str], path: Path, repeat: int,
                    before: Path | None = None) -> dict[str, dict]:
    """The best of ``repeat`` fresh processes per mode, the modes taking turns (so a change
    of the machine's load falls on all of them alike); mode ``before`` is ``default`` with
    dronesense imported from the source tree ``before``."""
    best: dict[str, dict] = {}
    for _ in range(repeat):
        for mode in modes:
            if mode == "before":
                got = run_child("default", path, {"BENCH_INGEST_TREE": str(before)})
            else:
                got = run_child(mode, path)
            old = best.get(mode)
            if old is None or got["import"] + got["first"] < old["import"] + old["first"]:
                best[mode] = got
    return best


def have_fasttlogparser() -> bool:
    try:
        import fasttlogparser  # noqa: F401
    except ImportError:
        return False
    return True


def compare_fasttlogparser(path: Path, scan) -> int:
    """Mismatches between the scanner's fields and fasttlogparser's (same names)."""
    import fasttlogparser
    import numpy as np

    from dronesense.sources.tlogscan import PAIRING_TYPES

    msgs, _ = fasttlogparser.parseTLog(str(path), whitelist=list(PAIRING_TYPES))
    bad = 0
    for name in PAIRING_TYPES:
        mine = scan.messages[name]
        theirs = msgs.get(name, {})
        n = len(mine["_offset"])
        got = len(next(iter(theirs.values()))) if theirs else 0
        if got != n:
            print(f"  fasttlogparser {name}: {got} vs scanner {n}")
            bad += 1
            continue
        pairs = [(f, f) for f in mine if not f.startswith("_")]
        pairs += [("_sysid", "sys_id"), ("_compid", "cmp_id")]
        for f, g in pairs:
            if g not in theirs:
                continue
            if not np.array_equal(np.asarray(mine[f]), np.asarray(theirs[g])):
                print(f"  fasttlogparser {name}.{g} differs")
                bad += 1
        if "timestamp" in theirs and not np.allclose(theirs["timestamp"] * 1e6,
                                                     mine["_recv_us"], rtol=0, atol=1.0):
            print(f"  fasttlogparser {name}.timestamp differs")
            bad += 1
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per case (best)")
    ap.add_argument("--log", type=Path, default=ROOT / "out/bench/ingest-1M.tlog")
    ap.add_argument("--before", type=Path, metavar="DIR",
                    help="also time the default cold call of the dronesense in this source "
                         "tree (e.g. `git archive COMMIT dronesense | tar -x -C DIR`)")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="import in the children as the environment has it (no .pyc cache "
                         "when PYTHONDONTWRITEBYTECODE is set)")
    ap.add_argument("--child", choices=["default", "twothreads", "cached", "nocache", "warm",
                                        "numpy", "fasttlogparser"],
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.log)
        return 0
    path = make_log(args.log, args.messages)
    k = args.repeat

    from dronesense.sources.tlogrecords import THREADS
    from dronesense.sources.tlogscan import PAIRING_TYPES

    assert tuple(PAIRING) == PAIRING_TYPES, "the benchmark's list of the pairing types is stale"
    with tempfile.TemporaryDirectory() as pycache:
        if not args.no_bytecode_cache:
            CHILD_ENV["PYTHONPYCACHEPREFIX"] = pycache
        modes = ["default", "twothreads", "cached", "warm", "numpy"]
        modes += ["fasttlogparser"] if have_fasttlogparser() else []
        modes += ["before"] if args.before else []
        # one untimed turn: the numba cache and the bytecode cache exist, the file is in RAM
        run_interleaved(modes, path, 1, args.before)
        load_before = os.getloadavg()
        best = run_interleaved(modes, path, k, args.before)
        with tempfile.TemporaryDirectory() as tmp:
            nocache = run_child("nocache", path, {"NUMBA_CACHE_DIR": tmp})
        load_after = os.getloadavg()
        CHILD_ENV.clear()
    default, two, cached, warm, fallback = (best[m] for m in modes[:5])
    ftp = best.get("fasttlogparser")

    t0 = time.perf_counter()
    from pymavlink import mavutil
    t_ref_import = time.perf_counter() - t0

    from dronesense.sources.tlogscan import scan_tlog

    scan = scan_tlog(path)
    wanted = sum(len(scan.messages[n]["_offset"]) for n in PAIRING_TYPES)

    t0 = time.perf_counter()
    conn = mavutil.mavlink_connection(str(path))
    ref = {n: [] for n in PAIRING_TYPES}
    total = 0
    while True:
        m = conn.recv_msg()
        if m is None:
            break
        total += 1
        lst = ref.get(m.get_type())
        if lst is not None:
            lst.append(m)
    t_ref = time.perf_counter() - t0

    t0 = time.perf_counter()
    conn = mavutil.mavlink_connection(str(path))
    filtered = 0
    while conn.recv_match(type=list(PAIRING_TYPES)) is not None:
        filtered += 1
    t_match = time.perf_counter() - t0

    mismatches = 0
    for name in PAIRING_TYPES:
        cols = scan.messages[name]
        fields = [f for f in cols if not f.startswith("_")]
        if len(ref[name]) != len(cols["_offset"]):
            mismatches += 1
            print(f"  {name}: {len(cols['_offset'])} vs pymavlink {len(ref[name])}")
            continue
        lists = {f: cols[f].tolist() for f in fields}
        for i, m in enumerate(ref[name]):
            for f in fields:
                mine, theirs = lists[f][i], getattr(m, f)
                if isinstance(theirs, str):
                    theirs = theirs.encode()
                if mine != theirs:
                    mismatches += 1
    if total != scan.records:
        mismatches += 1
        print(f"  records: {scan.records} vs pymavlink {total}")
    if filtered != wanted:
        mismatches += 1
        print(f"  recv_match: {filtered} vs scanner {wanted}")
    ftp_bad = compare_fasttlogparser(path, scan) if ftp is not None else 0
    n = scan.records
    size_mb = path.stat().st_size / 1e6
    ref_rate = total / t_ref
    print(f"log: {path} ({size_mb:.1f} MB, {n} messages, {wanted} of the pairing "
          f"types, {len(scan.skipped)} skipped regions); best of {k} fresh processes, "
          f"taking turns; load average {load_before[0]:.1f} before the timed runs, "
          f"{load_after[0]:.1f} after; {os.cpu_count()} CPUs; imports "
          + ("as the environment has them" if args.no_bytecode_cache
             else "with a bytecode cache"))

    def line(label, t, imp=None):
        rate = n / t
        extra = f"  (+ {imp:.2f} s import = {t + imp:.3f} s)" if imp is not None else ""
        print(f"{label:36s} {t:7.3f} s  {rate:>11,.0f} msg/s  {rate / ref_rate:5.1f}x "
              f"pymavlink{extra}")

    line("pymavlink recv_msg (decode all)", t_ref, t_ref_import)
    line("pymavlink recv_match(type=[...])", t_match)
    if ftp is not None:
        line("fasttlogparser parseTLog(whitelist)", ftp["first"], ftp["import"])
    else:
        print("fasttlogparser: not installed (pip install scikit-build-core pybind11 && "
              "pip install --no-build-isolation fasttlogparser), skipped")
    print("dronesense tlogscan (all records framed + CRC-checked; pairing types decoded):")
    line(f"  cold, default (numpy, {THREADS} thread)", default["first"], default["import"])
    line("  cold, numpy, 2 threads", two["first"], two["import"])
    line("  cold, numba, cache present", cached["first"], cached["import"])
    line("  cold, no numba cache (compile)", nocache["first"], nocache["import"])
    line("  warm (2nd call, same process), numba", warm["warm"])
    line("  warm (2nd call, same process), default", default["warm"])
    line("  numpy fallback (no numba), cold", fallback["first"], fallback["import"])
    if ftp is not None:
        mine_cold = default["first"] + default["import"]
        theirs_cold = ftp["first"] + ftp["import"]
        print(f"cold call with import: tlogscan {mine_cold:.3f} s, fasttlogparser "
              f"{theirs_cold:.3f} s: {theirs_cold / mine_cold:.2f}x")
        if "before" in best:
            b = best["before"]
            print(f"  before ({args.before}): {b['first']:.3f} s + {b['import']:.2f} s import "
                  f"= {b['first'] + b['import']:.3f} s: fasttlogparser "
                  f"{theirs_cold / (b['first'] + b['import']):.2f}x it; now "
                  f"{(b['first'] + b['import']) / mine_cold:.2f}x faster")
        print(f"warm: tlogscan {warm['warm']:.3f} s vs fasttlogparser call "
              f"{ftp['first']:.3f} s: {ftp['first'] / warm['warm']:.2f}x")
    print("values identical to pymavlink: " + ("yes" if not mismatches
                                               else f"NO ({mismatches} mismatches)"))
    if ftp is not None:
        print("values identical to fasttlogparser: " + ("yes" if not ftp_bad
                                                        else f"NO ({ftp_bad} mismatches)"))
    return 0 if not (mismatches or ftp_bad) else 1


if __name__ == "__main__":
    sys.exit(main())
