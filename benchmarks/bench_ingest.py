"""Ingest of a 1,000,000-message tlog: dronesense.sources.tlogscan vs plain pymavlink.

Makes (or reuses) ``out/bench/ingest-1M.tlog`` with firmware_sim (plume-box flown repeatedly
as fast as possible), then, one run each, times

* dronesense: :func:`dronesense.sources.tlogscan.scan_tlog` decoding the message types pairing needs
  (GLOBAL_POSITION_INT, GPS_RAW_INT, NAMED_VALUE_FLOAT/INT, SYSTEM_TIME, HEARTBEAT), every
  record CRC-checked and counted, in fresh processes:

  - *cold, numba cache present*: the first call in a new process, loading the compiled
    kernels from numba's on-disk cache (the usual case after the first run on a machine);
  - *cold, no numba cache*: the first call in a new process with an empty
    ``NUMBA_CACHE_DIR``, so it includes compiling the kernels (a fresh install's first run);
  - *warm*: a second call in the same process;
  - *numpy fallback*: the path taken when numba is not installed (first call);

  each with the import of ``dronesense.sources.tlogscan`` (numpy, numba, the pymavlink dialect)
  shown separately;
* pymavlink: ``mavutil.mavlink_connection(path)`` + ``recv_msg()`` over the whole file,

prints messages per second and the ratios, and checks that every decoded field equals
pymavlink's, message for message. Run: ``python benchmarks/bench_ingest.py [--messages N]``.
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
sys.path.insert(0, str(ROOT))


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
    """Run in a fresh process: time the import and the first (and second) scan; print JSON."""
    t0 = time.perf_counter()
    from dronesense.sources import tlogscan

    t1 = time.perf_counter()
    if mode == "numpy":
        tlogscan._numba = None
    scan = tlogscan.scan_tlog(path)
    t2 = time.perf_counter()
    out = {"import": t1 - t0, "first": t2 - t1, "records": scan.records}
    if mode == "warm":
        t2 = time.perf_counter()
        tlogscan.scan_tlog(path)
        out["warm"] = time.perf_counter() - t2
    print(json.dumps(out))


def run_child(mode: str, path: Path, env: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--log", str(path)]
    res = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--log", type=Path, default=ROOT / "out/bench/ingest-1M.tlog")
    ap.add_argument("--child", choices=["cached", "nocache", "warm", "numpy"],
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.log)
        return 0
    path = make_log(args.log, args.messages)

    run_child("warm", path)  # makes sure the numba cache exists (and the file is in RAM)
    cached = run_child("cached", path)
    with tempfile.TemporaryDirectory() as tmp:
        nocache = run_child("nocache", path, {"NUMBA_CACHE_DIR": tmp})
    warm = run_child("warm", path)
    fallback = run_child("numpy", path)

    t0 = time.perf_counter()
    from pymavlink import mavutil
    t_ref_import = time.perf_counter() - t0

    from dronesense.sources.tlogscan import PAIRING_TYPES, scan_tlog

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
    n = scan.records
    size_mb = path.stat().st_size / 1e6
    ref_rate = total / t_ref
    print(f"log: {path} ({size_mb:.1f} MB, {n} messages, {wanted} of the pairing "
          f"types, {len(scan.skipped)} skipped regions)")
    print(f"pymavlink recv_msg:              {t_ref:7.3f} s  {ref_rate:>11,.0f} msg/s  "
          f"(+ {t_ref_import:.2f} s import)")

    def line(label, t, imp=None):
        rate = n / t
        extra = f"  (+ {imp:.2f} s import: {n / (t + imp):,.0f} msg/s incl.)" if imp else ""
        print(f"{label:32s} {t:7.3f} s  {rate:>11,.0f} msg/s  {rate / ref_rate:5.1f}x "
              f"pymavlink  {rate / 900_000:4.2f}x C++{extra}")

    print("dronesense tlogscan (all records framed + CRC-checked; pairing types decoded):")
    line("  cold, numba cache present", cached["first"], cached["import"])
    line("  cold, no numba cache (compile)", nocache["first"], nocache["import"])
    line("  warm (2nd call, same process)", warm["warm"])
    line("  numpy fallback (no numba), cold", fallback["first"], fallback["import"])
    print("C++ parser reference: ~900,000 msg/s")
    print("values identical to pymavlink: " + ("yes" if not mismatches
                                               else f"NO ({mismatches} mismatches)"))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
