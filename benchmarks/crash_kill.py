"""``kill -9`` of a recording listener at a high message rate, repeated: is the journal ever
ahead of the tlog, and how much is lost?

For each run firmware-sim streams as fast as it can (positions at 50 Hz, attitude at 100 Hz,
``--speedup 0``) over loopback UDP to ``dronesense listen``, which is killed with SIGKILL once
its tlog has grown past a size. Then it prints the message rate, the journal rows, whether the
replay of the tlog starts with exactly the journal's rows (``prefix``), the journal rows
without their packets in the tlog (``ahead``, must be 0) and the receive time lost at the end
(kill time minus the last tlog record's receive time).

Usage: ``python benchmarks/crash_kill.py [RUNS]`` (default 10). Not part of
``python -m benchmarks``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dronesense.flight.pipeline import replay
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from tests.support.link import start_listener
from tests.support.paths import MISSIONS, free_port, sim_cmd


def one(tmp: Path, k: int) -> tuple[float, int, bool, int, float]:
    port = free_port()
    out = tmp / f"s{k}"
    listener = start_listener(out, port)
    sim = subprocess.Popen(
        sim_cmd("--mission", MISSIONS / "plume-box.plan", "--connect",
                f"udpout:127.0.0.1:{port}", "--speedup", "0", "--seed", str(k), "--quiet",
                "--stream", "GLOBAL_POSITION_INT=20", "--stream", "ATTITUDE=10"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tlog = out / "flight.tlog"
    start = time.monotonic()
    target = 300_000 + 150_000 * k
    while tlog.stat().st_size < target and time.monotonic() - start < 60:
        time.sleep(0.01)
    listener.kill()
    killed_us = time.time_ns() // 1000
    listener.communicate()
    sim.kill()
    sim.communicate()
    packets = list(TlogReader(tlog))
    span = (packets[-1].recv_us - packets[0].recv_us) / 1e6 if len(packets) > 1 else 0.0
    rate = len(packets) / span if span else 0.0
    journal = [format_row(r) for r in read_journal(out)]
    again = [format_row(r) for r in replay(out)]
    prefix = again[: len(journal)] == journal
    ahead = sum(1 for k, row in enumerate(journal) if k >= len(again) or again[k] != row)
    lost = (killed_us - packets[-1].recv_us) / 1e6
    return rate, len(journal), prefix, ahead, lost


def main(argv: list[str]) -> int:
    runs = int(argv[1]) if len(argv) > 1 else 10
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for k in range(runs):
            rate, rows, prefix, ahead, lost = one(Path(d), k)
            bad += not prefix
            print(f"kill {k + 1}: {rate:7.0f} msg/s, {rows:5d} journal rows, prefix {prefix}, "
                  f"ahead {ahead}, lost tail {lost:.2f} s", flush=True)
    print(f"journal ahead of the tlog in {bad} of {runs} kills")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
