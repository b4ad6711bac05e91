"""Crash ordering: after ``kill -9`` at a high message rate the journal is never ahead of the
tlog, so the replay of the tlog gives the journal's rows first (then the lost tail); nor is
the sampling-events journal."""

from __future__ import annotations

import subprocess
import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.flight.pipeline import replay, replay_packets
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk
from dronesense.sources.sampling_events import SamplingEventStream
from tests.support.link import ScriptedVehicle, start_listener
from tests.support.paths import MISSIONS, free_port, sim_cmd

T0 = 1_714_557_600_000_000


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
        # the journal is flushed every 0.5 s: at this rate the tlog can pass the mark first
        while not read_journal(out) and time.monotonic() < deadline:
            time.sleep(0.02)
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


def _on_disk_events(tlog) -> int:
    """Sampling events the packets already on disk place (what a replay could know)."""
    stream = SamplingEventStream()
    return sum(len(stream.push(p.msg, p.recv_us / 1e6)) for p in TlogReader(tlog))


def test_sampling_events_and_journal_never_ahead_of_the_tlog_on_disk(tmp_path):
    """After every chunk, what the OS holds of ``sampling_events.csv`` and ``samples.csv``
    follows from what it holds of ``flight.tlog``: the state a ``kill -9`` would leave."""
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    marks = {}
    for k, t in enumerate((1040, 2140, 3260)):  # samples taken between fixes
        marks[t] = bytes(M.MAVLink_named_value_int_message(t, b"SAMPLE", k + 1).pack(mav))
    marks[4180] = bytes(M.MAVLink_camera_feedback_message(  # a camera with its own position
        T0 + 4_180_000, 1, 0, 7, 520000000, 50000000, 40.0, 30.0, 0, 0, 0, 0.0, 0).pack(mav))
    packets = []
    for t, raw in ScriptedVehicle(duration_s=5.0).packets():
        packets.append(raw)
        for tm in [tm for tm in marks if tm <= t]:
            packets.append(marks.pop(tm))
    out = tmp_path / "s"
    rec = Recorder(out)
    events = out / "sampling_events.csv"
    for k, raw in enumerate(packets):
        rec.feed(Chunk(raw, T0 + 1000 * k, ("127.0.0.1", 1), True))
        if k % 40 == 0:
            rec.maybe_flush(force=True)
        written = len(events.read_text().splitlines()) - 1
        if written:
            assert _on_disk_events(out / "flight.tlog") >= written
        if k % 10 == 0:
            journal = [format_row(r) for r in read_journal(out)]
            again = replay_packets(TlogReader(out / "flight.tlog"))
            assert [format_row(r) for r in again][: len(journal)] == journal
    rec.close()
    assert len(events.read_text().splitlines()) - 1 == 4
