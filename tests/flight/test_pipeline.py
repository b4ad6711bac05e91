"""One pipeline driver: the live path and post-flight pairing give the same rows."""

from __future__ import annotations

import pytest

from dronesense.errors import ParameterError
from dronesense.events import Fix, Reading, TimeSync
from dronesense.flight.pipeline import Pipeline, replay, replay_packets
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.sources.framing import RawMessage, TlogReader
from tests.support.postflight import run_sim

LAGS = {"ch4": 0.8, "pm2p5": 0.3}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulated flight with corrupt bytes, foreign bytes and a reboot."""
    return run_sim(tmp_path_factory.mktemp("pipeline"), "corrupt=0.005,garbage=0.005",
                   "reboot=200", seed=11)


def live_rows(tlog, **kw) -> list:
    """Rows as the live listener makes them: every message through Pipeline.push_message."""
    proc = Pipeline(kw.get("names"), kw.get("max_gap_s", 1.0), kw.get("lags"))
    rows = []
    for packet in TlogReader(tlog):
        rows.extend(proc.push_message(packet.msg, packet.recv_us))
    return rows + proc.finish()


def test_live_path_equals_pair_logs(sim):
    live = live_rows(sim["tlog"])
    post, summary = pair_logs([sim["tlog"]])
    assert post == live
    assert len(live) > 1000
    assert summary.reboots == {1: 1}
    assert {r.boot for r in live} == {0, 1}
    assert sum(r.flag == Flag.PAIRED for r in live) > 0.9 * len(live)


def test_live_path_equals_pair_logs_with_lags_and_gap(sim):
    live = live_rows(sim["tlog"], lags=LAGS, max_gap_s=0.4)
    post, summary = pair_logs([sim["tlog"]], lags=LAGS, max_gap_s=0.4)
    assert post == live
    assert summary.lags["ch4"] == pytest.approx((0.8, float("nan"), "declared"), nan_ok=True)
    assert live != live_rows(sim["tlog"])  # the lags changed the pairing


def test_replay_is_the_same_driver(sim):
    live = live_rows(sim["tlog"], lags=LAGS)
    assert replay_packets(TlogReader(sim["tlog"]), lags=LAGS) == live
    assert replay(sim["tlog"], lags=LAGS) == live


def test_run_pushes_events_and_reports_progress(sim):
    events = []
    proc = Pipeline()
    for packet in TlogReader(sim["tlog"]):
        if not isinstance(packet.msg, RawMessage):
            events.extend((ev, packet.recv_us) for ev in proc.adapter.events(packet.msg))
    calls = []
    rows = Pipeline().run(events, progress=lambda *a: calls.append(a), label="pair x")
    assert rows == live_rows(sim["tlog"])
    assert calls[0] == ("pair x", 0, len(events))
    assert calls[-1] == ("pair x", len(events), len(events))
    assert 50 < len(calls) < 110


def test_push_event_feeds_the_receive_clock():
    class Clock:
        def __init__(self):
            self.seen = []

        def observe(self, sysid, recv_us, time_boot_ms):
            self.seen.append((sysid, recv_us, time_boot_ms))

    clock = Clock()
    pipe = Pipeline(clock=clock, sensors=["pms5003"])
    pipe.push_event(TimeSync(1, 0.0, 1_714_557_600_000_000), 10)
    pipe.push_event(Fix(1, 0.0, 52.0, 5.0, 40.0, 30.0), 11)
    pipe.push_event(Reading(1, 500.0, "pms5003.PM2.5", 7.0), 12)
    rows = pipe.push_event(Fix(1, 1000.0, 52.0, 5.001, 40.0, 30.0), 13)
    assert clock.seen == [(1, 10, 0.0), (1, 11, 0.0), (1, 13, 1000.0)]
    assert [(r.quantity, r.value, r.flag) for r in rows] == [("pm2p5", 7.0, Flag.PAIRED)]
    assert pipe.finish() == []
    assert pipe.pairer.lookup("pms5003.PM2.5")[0] == "pm2p5"


def test_lags_in_library_form(sim):
    by_auto, s1 = pair_logs([sim["tlog"]], auto={"ch4"}, lags={"pm2p5": 0.3})
    by_lags, s2 = pair_logs([sim["tlog"]], lags={"ch4": "auto", "pm2p5": 0.3})
    assert by_lags == by_auto and s1.lines() == s2.lines()
    assert "estimated" in s2.lags["ch4"][2]
    _, s3 = pair_logs([sim["tlog"]], lags={"so2": "auto"}, quantities=["ch4"])
    assert any("lag of so2 not estimated: no so2 readings" in w for w in s3.warnings)
    assert not any("--lag" in w for w in s3.warnings)
    with pytest.raises(ParameterError, match="lags: the lag of ch4") as err:
        pair_logs([sim["tlog"]], lags={"ch4": "soon"})
    assert err.value.parameter == "lags"
