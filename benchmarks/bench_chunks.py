"""Pairing a big tlog in slices: wall time and peak memory against the message count.

``dronesense pair LOG --out samples.nc`` reads a tlog larger than one slice (64 MiB) a slice
at a time (:func:`dronesense.sources.tlogchunks.scan_tlog_chunked`), so its peak memory is set
by the positions and readings it keeps, not by the messages it reads. Three logs show it:

========================  ==============================================================
``1M``                    ``out/bench/ingest-1M.tlog``: firmware_sim, plume-box flown 38
                          times one after the other (``--repeat``: one boot, time running on)
``10M``                   the same mission flown 385 times (``ingest-10M.tlog``): ten times
                          the messages, ten times the positions and readings
``10M mostly other``      the 1M log with every record that pairing does not read (ATTITUDE,
                          VFR_HUD, SYS_STATUS, WIND, MISSION_*) written 23 times: ten times the
                          messages, the same positions and readings (``ingest-10M-other.tlog``)
========================  ==============================================================

Each ``pair`` runs as its own process, measured from outside (``ru_maxrss`` from
``os.wait4``); the 1M log is also paired with slices forced (``--slices``, through the
Python API with ``chunk_bytes=16 MiB``) to show the slice path on it, and the 10M log is
replayed (``replay``: the same event columns, made slice by slice). Ratios are printed
against the 1M log's ``pair``.

Run: ``python benchmarks/bench_chunks.py [--repeat K]`` (making the 10M log with
firmware_sim takes about ten minutes the first time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import make_log  # noqa: E402
from benchmarks.bench_pipeline import OUT, ds, measure  # noqa: E402


def make_other_log(source: Path, path: Path, copies: int = 23) -> Path:
    """``source`` with each record of a type pairing does not read written ``copies`` times
    (reused if present)."""
    if path.exists() and path.stat().st_size > source.stat().st_size * 5:
        return path
    import numpy as np
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    from dronesense.sources.tlogrecords import find_records
    from dronesense.sources.tlogscan import PAIRING_TYPES

    buf = np.fromfile(source, dtype=np.uint8)
    starts, ids, _, _, skipped = find_records(buf, compiled=False)
    assert not skipped, "the source log should be clean"
    pairing = np.isin(ids, [getattr(mavlink, f"MAVLINK_MSG_ID_{n}") for n in PAIRING_TYPES])
    ends = np.r_[starts[1:], buf.size]
    data = buf.tobytes()
    with open(path, "wb") as out:
        for a, b, keep in zip(starts.tolist(), ends.tolist(), pairing.tolist(), strict=True):
            out.write(data[a:b] if keep else data[a:b] * copies)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per command (best kept)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    one = make_log(OUT / "ingest-1M.tlog", 1_000_000)
    ten = make_log(OUT / "ingest-10M.tlog", 10_000_000)
    other = make_other_log(one, OUT / "ingest-10M-other.tlog")
    sliced = [sys.executable, "-c",
              "import sys; from dronesense.flight.postflight import pair_logs; "
              "from dronesense.samples.netcdf import write_columns_netcdf; "
              "rows, _ = pair_logs([sys.argv[1]], as_columns=True, chunk_bytes=16 * 2**20); "
              "write_columns_netcdf(rows, sys.argv[2])", one, OUT / "chunks-1M-sliced.nc"]
    cases = [
        ("1M -> .nc", ds("pair", one, "--out", OUT / "chunks-1M.nc", "--quiet")),
        ("1M -> .nc, 16 MiB slices (API)", sliced),
        ("10M -> .nc", ds("pair", ten, "--out", OUT / "chunks-10M.nc", "--quiet")),
        ("10M mostly other -> .nc", ds("pair", other, "--out", OUT / "chunks-10M-other.nc",
                                       "--quiet")),
        ("10M replay -> .nc", ds("replay", ten, "--out", OUT / "chunks-10M-replay.nc")),
    ]
    print(f"best of {args.repeat}; wall and peak RSS of each command as its own process")
    for log in (one, ten, other):
        print(f"  {log.name}: {log.stat().st_size / 1e6:.0f} MB")
    rows = []
    for label, cmd in cases:
        wall, mem, code = measure(cmd, args.repeat)
        rows.append((label, wall, mem))
        print(f"  {label:34s} {wall:7.2f} s  {mem:7.0f} MB" + ("  FAILED" if code else ""),
              flush=True)
        if code:
            return 1
    base = rows[0]
    print("against the 1M log's pair (wall, peak memory):")
    for label, wall, mem in rows[1:]:
        print(f"  {label:34s} {wall / base[1]:5.2f}x  {mem / base[2]:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
