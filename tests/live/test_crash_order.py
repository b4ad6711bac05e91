"""Crash ordering: after ``kill -9`` at a high message rate the journal is never ahead of the
tlog, so the replay of the tlog gives the journal's rows first (then the lost tail)."""

from __future__ import annotations

import subprocess
import time

import pytest

from dronesense.flight.pipeline import replay
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from tests.support.link import start_listener
from tests.support.paths import MISSIONS, free_port, sim_cmd


@pytest.mark.slow
@pytest.mark.parametrize("after_bytes", [200_000, 600_000])
def test_kill_9_at_high_rate_journal_is_a_prefix_of_replay(tmp_path, after_bytes):
    port = free_port()
    out = tmp_path / "session"
    listener = start_listener(out, port)
    sim = subprocess.Popen(
        sim_cmd("--mission", MISSIONS / "plume-box.plan", "--connect",
                f"udpout:127.0.0.1:{port}", "--speedup", "0", "--seed", "4", "--quiet",
                "--stream", "GLOBAL_POSITION_INT=20", "--stream", "ATTITUDE=10"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        tlog = out / "flight.tlog"
        deadline = time.monotonic() + 60
        while tlog.stat().st_size < after_bytes and time.monotonic() < deadline:
            time.sleep(0.02)
            assert sim.poll() is None or tlog.stat().st_size > 0
        listener.kill()  # SIGKILL: no flush, no close
        listener.communicate()
    finally:
        sim.kill()
        sim.communicate()
    assert tlog.stat().st_size >= after_bytes
    journal = [format_row(r) for r in read_journal(out)]
    again = [format_row(r) for r in replay(out)]
    assert journal, "nothing journalled before the kill"
    assert again[: len(journal)] == journal
    assert sum(1 for _ in TlogReader(tlog)) > 1000
