"""The clock model against firmware_sim's truth: jitter, drift, a step, an outlier, replay.

The truth file holds the true UTC of every reading; SYSTEM_TIME carries the faults.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dronesense.flight.pairing import Pairer
from dronesense.flight.pipeline import replay
from dronesense.flight.postflight import pair_logs
from dronesense.flight.state import Clock
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk
from dronesense.sources.logs import load_events
from tests.support.postflight import run_sim

JITTER_MS = 20.0


class LatestSyncClock(Clock):
    """The former rule: UTC = boot time + the offset of the latest sync of that boot."""

    def __init__(self) -> None:
        super().__init__()
        self._off: dict[int, float] = {}

    def update(self, boot, sync):
        self._off[boot] = sync.time_unix_usec - sync.time_boot_ms * 1000.0

    def known(self, boot):
        return boot in self._off

    ready = known

    def to_unix_us(self, boot, time_boot_ms):
        off = self._off.get(boot)
        return None if off is None else round(time_boot_ms * 1000.0 + off)


def utc_errors_ms(rows, truth_path) -> pd.DataFrame:
    """Rows joined to the truth by reading; ``err`` = our UTC - true UTC (ms)."""
    truth = pd.read_csv(truth_path)
    df = pd.DataFrame([r._asdict() for r in rows])
    m = df.merge(truth, on=["sysid", "time_boot_ms", "name"], suffixes=("", "_t"))
    assert len(m) == len(df) == len(truth)
    ours = pd.to_datetime(m.time_utc.str.rstrip("Z"))
    true = pd.to_datetime(m.time_utc_t.str.rstrip("Z"))
    m["err"] = (ours - true).dt.total_seconds() * 1000.0
    return m


def pair_with(tlog, clock_cls):
    pairer = Pairer()
    rows = []
    for ev, recv in load_events(tlog).events:
        st = pairer.states.get(ev.sysid) or pairer.state(ev.sysid)
        if not isinstance(st.clock, clock_cls):
            st.clock = clock_cls()
        rows += pairer.push(ev, recv)
    return rows + pairer.finish(), pairer


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    base = tmp_path_factory.mktemp("clock")
    return {name: run_sim(base / name, *faults) for name, faults in {
        "jitter": [f"systime_jitter={JITTER_MS:g}"],
        "drift": ["clockdrift=200"],
        "jump": ["clockjump=120:2.0"],
        "outlier": ["clockjump=120:2.0,clockjump=121:-2.0"],
    }.items()}


def test_jitter_averaged_out(sims):
    sim = sims["jitter"]
    model_rows, pairer = pair_with(sim["tlog"], Clock)
    old_rows, _ = pair_with(sim["tlog"], LatestSyncClock)
    new = utc_errors_ms(model_rows, sim["truth"]).err.abs()
    old = utc_errors_ms(old_rows, sim["truth"]).err.abs()
    # the latest-sync rule inherits one sync's jitter (uniform ±20 ms); the fit averages it
    assert old.quantile(0.95) > 0.8 * JITTER_MS
    assert new.quantile(0.95) < 0.5 * JITTER_MS  # about 4-6 ms, the first seconds worst
    assert new.median() < old.median() / 5
    rep = pairer.states[1].clock.report(0)
    assert rep["jitter_ms"] == pytest.approx(JITTER_MS / 3 ** 0.5, rel=0.2)
    assert rep["syncs_rejected"] == 0 and rep["steps"] == []


def test_drift_estimated_and_followed(sims):
    sim = sims["drift"]
    rows, summary = pair_logs([sim["tlog"]])
    ((_, sysid, rep),) = summary.clocks
    assert sysid == 1 and rep["drift_ppm"] == pytest.approx(200.0, abs=20.0)
    err = utc_errors_ms(rows, sim["truth"]).err.abs()
    assert err.max() < 10.0
    old_rows, _ = pair_with(sim["tlog"], LatestSyncClock)
    assert utc_errors_ms(old_rows, sim["truth"]).err.abs().max() < 10.0  # 1 Hz syncs: both
    assert any("drift +" in line and "ppm" in line for line in summary.lines())
    log = [json.loads(line) for line in sim["faults"].read_text().splitlines()]
    assert {"kind": "clockdrift", "t": 0.0, "time_boot_ms": 0, "ppm": 200.0} in log


def test_step_reported_and_followed(sims):
    """The model follows the autopilot's UTC source: after the step, the new UTC."""
    sim = sims["jump"]
    rows, summary = pair_logs([sim["tlog"]])
    ((_, _, rep),) = summary.clocks
    log = [json.loads(line) for line in sim["faults"].read_text().splitlines()]
    (jump,) = [e for e in log if e["kind"] == "clockjump"]
    (step,) = rep["steps"]
    assert step["time_boot_ms"] == jump["time_boot_ms"] and abs(jump["t"] - 120.0) < 1.0
    assert step["size_s"] == pytest.approx(2.0, abs=1e-3)
    m = utc_errors_ms(rows, sim["truth"])
    before = m.time_boot_ms < step["time_boot_ms"]
    assert before.any() and (~before).any()
    assert m.err[before].abs().max() < 1.0
    assert (m.err[~before] - 2000.0).abs().max() < 1.0
    assert any("UTC step at 120.000 s" in line for line in summary.lines())


def test_outlier_rejected(sims):
    sim = sims["outlier"]
    rows, summary = pair_logs([sim["tlog"]])
    ((_, _, rep),) = summary.clocks
    assert rep["syncs_rejected"] == 1 and rep["steps"] == []
    assert utc_errors_ms(rows, sim["truth"]).err.abs().max() < 1.0


def test_replay_equals_live_with_clock_faults(sims, tmp_path):
    """The listener's path (Recorder fed packet by packet) and replay give the same rows."""
    sim = sims["jump"]
    out = tmp_path / "session"
    rec = Recorder(out)
    for p in TlogReader(sim["tlog"]):
        rec.feed(Chunk(p.raw, p.recv_us, ("127.0.0.1", 1), True))
    rec.close()
    rows = read_journal(out)
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    assert sorted(map(format_row, rows)) == sorted(map(format_row, pair_logs([sim["tlog"]])[0]))
    (clock,) = json.loads((out / "session.json").read_text())["vehicles"]["1"]["clock"]
    assert clock["steps"][0]["size_s"] == pytest.approx(2.0, abs=1e-3)
    assert clock["syncs_used"] > 600 and clock["syncs_rejected"] == 0
