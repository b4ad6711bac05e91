"""Ingest of a 1,000,000-message tlog: dronesense.tlogscan vs plain pymavlink.

Makes (or reuses) ``out/bench/ingest-1M.tlog`` with firmware_sim (plume-box flown repeatedly
as fast as possible), then, one run each, times

* dronesense: :func:`dronesense.tlogscan.scan_tlog` decoding the message types pairing needs
  (GLOBAL_POSITION_INT, GPS_RAW_INT, NAMED_VALUE_FLOAT/INT, SYSTEM_TIME, HEARTBEAT), every
  record CRC-checked and counted;
* pymavlink: ``mavutil.mavlink_connection(path)`` + ``recv_msg()`` over the whole file,

prints messages per second and the ratio, and checks that every decoded field equals
pymavlink's, message for message. Run: ``python benchmarks/bench_ingest.py [--messages N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--log", type=Path, default=ROOT / "out/bench/ingest-1M.tlog")
    args = ap.parse_args()
    path = make_log(args.log, args.messages)

    from pymavlink import mavutil

    from dronesense.tlogscan import PAIRING_TYPES, scan_tlog

    t0 = time.perf_counter()
    scan = scan_tlog(path)
    t_fast = time.perf_counter() - t0
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
    size_mb = path.stat().st_size / 1e6
    print(f"log: {path} ({size_mb:.1f} MB, {scan.records} messages, {wanted} of the pairing "
          f"types, {len(scan.skipped)} skipped regions)")
    print(f"dronesense tlogscan: {t_fast:.3f} s  {scan.records / t_fast:,.0f} msg/s "
          f"(all records framed + CRC-checked; pairing types decoded)")
    print(f"pymavlink recv_msg:  {t_ref:.3f} s  {total / t_ref:,.0f} msg/s")
    print(f"ratio: {t_ref / t_fast:.1f}x  (C++ parser reference: ~900,000 msg/s)")
    print("values identical to pymavlink: " + ("yes" if not mismatches
                                               else f"NO ({mismatches} mismatches)"))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
