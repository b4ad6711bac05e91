"""Does the listener's memory stay bounded? A 2-hour simulated session at 2,000 msg/s.

Feeds a :class:`~dronesense.live.recorder.Recorder` (the listener's recording and pairing
path: selective decoding, ``flight.tlog``, pairing, journal, sampling events, statistics)
offline with a telemetry-like packet mix, one packet per datagram as vehicles send them
(``--stream``: 0.1 s of packets per chunk of a byte stream, the serial radio's path through
the Framer), flushing every 0.1 simulated second, and reports the resident memory
(RSS) after 10 simulated minutes and at the end. The target: the end within 50 MB of the
10-minute figure. With ``--trace`` the Python allocations made after the first reading and
still alive at the end are listed, largest first (``tracemalloc``; slower).

Run::

    python benchmarks/bench_listener_memory.py                # 2 h at 2,000 msg/s (14.4 M)
    python benchmarks/bench_listener_memory.py --hours 0.5    # shorter
    python benchmarks/bench_listener_memory.py --fix-hz 10    # positions at 10 Hz
    python benchmarks/bench_listener_memory.py --hours 0.5 --mark 1 --trace
    python benchmarks/bench_listener_memory.py --stream       # byte-stream chunks

The session folder is made in a temporary directory and removed afterwards (the 2-hour
``flight.tlog`` is about 0.6 GB).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("MAVLINK20", "1")

RATE = 2_000  # messages per simulated second
CHUNK_S = 0.1  # simulated seconds per chunk fed
T0_US = 1_714_557_600_000_000


def rss_mb() -> float:
    """Resident memory of this process now, MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Telemetry:
    """Packets of one vehicle at :data:`RATE` msg/s: per 10 messages two positions (a
    slow climbing survey), four readings of two quantities, attitude, system time, VFR_HUD
    and a heartbeat, every time field advancing (the mix of ``bench_listener.py``: 400
    positions a second). With ``fix_hz`` only that many positions a second, the other
    position slots sending ATTITUDE."""

    def __init__(self, fix_hz: float | None = None) -> None:
        from pymavlink.dialects.v20 import ardupilotmega as mavlink

        self.fix_every = None if not fix_hz else max(1, round(RATE / fix_hz))
        self.M = mavlink
        self.mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
        self.k = 0

    def chunk(self, n: int) -> tuple[list[bytes], int]:
        """``n`` packets, and the vehicle time of the first (ms)."""
        M, mav = self.M, self.mav
        out = []
        t0 = None
        for _ in range(n):
            k = self.k
            self.k += 1
            t = k * 1000 // RATE  # ms since boot
            t0 = t if t0 is None else t0
            kind = k % 10
            if kind in (0, 5) and (self.fix_every is None or k % self.fix_every == 0):
                s = t / 1000.0
                msg = M.MAVLink_global_position_int_message(
                    t, 520000000 + int(300 * s) % 200000, 50000000 + int(500 * s) % 200000,
                    40000 + int(s) % 100000, 30000 + int(s) % 100000, 300, 100, 0, 0)
            elif kind in (1, 6):
                msg = M.MAVLink_named_value_float_message(t, b"PM2.5", float(k % 50))
            elif kind in (2, 7):
                msg = M.MAVLink_named_value_float_message(t, b"CH4", 1.9 + (k % 7) / 100)
            elif kind in (0, 3, 5):
                msg = M.MAVLink_attitude_message(t, 0.1, 0.2, 0.3, 0, 0, 0)
            elif kind == 4:
                msg = M.MAVLink_system_time_message(T0_US + t * 1000, t)
            elif kind == 8:
                msg = M.MAVLink_vfr_hud_message(5.0, 5.0, 90, 50, 30.0, 0.0)
            else:
                msg = M.MAVLink_heartbeat_message(2, 3, 129 | 128, 4, 4, 3)
            out.append(bytes(msg.pack(mav)))
        return out, t0


def run(hours: float, trace: bool, keep: bool, mark_min: float = 10.0,
        fix_hz: float | None = None, stream: bool = False) -> dict:
    import tracemalloc

    from dronesense.live.recorder import Recorder
    from dronesense.sources.link import Chunk

    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    rec = Recorder(tmp / "session")
    tele = Telemetry(fix_hz)
    per_chunk = int(RATE * CHUNK_S)
    chunks = int(hours * 3600 / CHUNK_S)
    mark = int(60 * mark_min / CHUNK_S)  # 10 simulated minutes by default
    points = []
    snap10 = None
    start = time.monotonic()
    try:
        for c in range(chunks):
            packets, _ = tele.chunk(per_chunk)
            t_us = T0_US + round(c * CHUNK_S * 1e6)
            if stream:
                rec.feed(Chunk(b"".join(packets), t_us, 1, False))
            else:
                step = CHUNK_S * 1e6 / per_chunk
                for k, raw in enumerate(packets):
                    rec.feed(Chunk(raw, t_us + round(k * step), ("127.0.0.1", 14555), True))
            rec.maybe_flush(force=True)
            if (c + 1) % mark == 0:
                gc.collect()
                minutes = (c + 1) * CHUNK_S / 60
                points.append((minutes, rss_mb()))
                print(f"{minutes:6.0f} min  {tele.k:>10,} msgs  RSS {points[-1][1]:7.1f} MB  "
                      f"({time.monotonic() - start:.0f} s)", flush=True)
                if trace and snap10 is None:  # from here on, what is allocated and kept
                    tracemalloc.start(4)
                    snap10 = True
        summary = rec.close()
        gc.collect()
        end_rss = rss_mb()
        top = []
        if trace and snap10 is not None:
            stats = tracemalloc.take_snapshot().statistics("traceback")
            tracemalloc.stop()
            for st in stats[:8]:
                where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}"
                                    for f in reversed(st.traceback))
                top.append(f"{st.size / 1e6:+8.2f} MB  {st.count:+9,} blocks  {where}")
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    ten = points[0][1] if points else float("nan")
    return {"messages": tele.k, "packets": summary["packets"],
            "samples": summary["samples"]["total"], "rss_10min_mb": ten,
            "rss_end_mb": end_rss, "growth_mb": end_rss - ten, "points": points,
            "seconds": time.monotonic() - start, "top": top}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=float, default=2.0, help="simulated hours (2)")
    p.add_argument("--trace", action="store_true", help="list what grew (tracemalloc)")
    p.add_argument("--keep", action="store_true", help="keep the session folder")
    p.add_argument("--mark", type=float, default=10.0, metavar="MIN",
                   help="simulated minutes between RSS readings; the first is the reference "
                   "(10)")
    p.add_argument("--fix-hz", type=float, metavar="HZ",
                   help="positions per second (default: 400, the bench_listener.py mix; a "
                   "vehicle streams GLOBAL_POSITION_INT at 5-50 Hz)")
    p.add_argument("--stream", action="store_true",
                   help="feed byte-stream chunks of 0.1 s (default: one packet per datagram)")
    args = p.parse_args(argv)
    res = run(args.hours, args.trace, args.keep, args.mark, args.fix_hz, args.stream)
    print(f"{res['messages']:,} messages ({res['packets']:,} recorded, {res['samples']:,} "
          f"samples) in {res['seconds']:.0f} s")
    print(f"RSS at {args.mark:g} min {res['rss_10min_mb']:.1f} MB, at the end "
          f"{res['rss_end_mb']:.1f} MB: growth {res['growth_mb']:+.1f} MB (target < 50 MB)")
    for line in res["top"]:
        print(line)
    return 0 if res["growth_mb"] < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
