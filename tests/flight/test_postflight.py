"""End to end against firmware_sim: lag, clock, reboot and corrupt bytes with known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dronesense.flight.pairing import Pairer
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.sources.framing import TlogReader
from dronesense.sources.logs import load_events
from dronesense.sources.messages import MessageAdapter
from tests.support.postflight import run_sim, sensor_field

CH4_OFFSET_S = 2.0  # injected clock offset of the CH4 sensor (a pure delay)
CH4_LAG_S = 0.2  # injected first-order response time of the CH4 sensor
REBOOT_S = 300.0


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faulty")
    return run_sim(tmp, "corrupt=0.01,garbage=0.01", f"reboot={REBOOT_S}", "clock=3.5",
                   field=sensor_field(tmp, "CH4", lag_s=CH4_LAG_S,
                                      time_offset_s=CH4_OFFSET_S))


@pytest.fixture(scope="module")
def faulty_result(faulty):
    return pair_logs([faulty["tlog"]], auto={"ch4"})


def test_lag_recovered(faulty_result):
    _, summary = faulty_result
    lag, unc, how = summary.lags["ch4"]
    assert "estimated" in how
    assert abs(lag - (CH4_OFFSET_S + CH4_LAG_S)) < 0.5
    assert unc < 0.5


def test_corrupt_regions_at_the_faults_offsets(faulty):
    faults = [json.loads(line) for line in faulty["faults"].read_text().splitlines()]
    bad = [f for f in faults if f["kind"] in ("corrupt", "garbage")]
    assert len(bad) > 100
    _, summary = pair_logs([faulty["tlog"]])
    regions = next(iter(summary.skipped.values()))
    starts = np.array([r.offset for r in regions])
    ends = starts + np.array([r.length for r in regions])
    fault_offsets = {f["offset"] for f in bad}
    for f in bad:  # each fault lies inside a reported region ...
        k = np.searchsorted(starts, f["offset"], side="right") - 1
        assert k >= 0 and f["offset"] < ends[k], f
    for r in regions:  # ... and each region begins at a fault
        assert r.offset in fault_offsets, r


def test_no_pairing_across_the_reboot(faulty_result, faulty):
    rows, summary = faulty_result
    assert summary.reboots == {1: 1}
    boots = {r.boot for r in rows}
    assert boots == {0, 1}
    reboot_ms = REBOOT_S * 1000.0
    for r in rows:
        if r.boot == 0 and r.flag == Flag.PAIRED:
            assert r.time_boot_ms <= reboot_ms
    # readings of boot 1 are paired with boot-1 positions only: compare with the truth
    truth = np.genfromtxt(faulty["track"], delimiter=",", names=True, dtype=None,
                          encoding="utf-8")
    t_true = truth["time_boot_ms"].astype(float)
    after = t_true[1:] < t_true[:-1]
    cut = int(np.flatnonzero(after)[0]) + 1
    seg = slice(cut, None)
    paired = [r for r in rows if r.boot == 1 and r.flag == Flag.PAIRED]
    assert paired
    lat = np.interp([r.time_boot_ms for r in paired], t_true[seg], truth["lat"][seg])
    assert np.max(np.abs(lat - [r.lat for r in paired])) < 1e-5


def test_clock_fault_shifts_utc_only(faulty_result, faulty):
    rows, _ = faulty_result
    truth = np.genfromtxt(faulty["truth"], delimiter=",", names=True, dtype=None,
                          encoding="utf-8")
    first = next(r for r in rows if r.quantity == "pm2p5" and r.boot == 0)
    k = np.flatnonzero((truth["name"] == "PM2.5")
                       & (truth["time_boot_ms"].astype(float) == first.time_boot_ms))
    assert k.size == 1
    t_truth = np.datetime64(truth["time_utc"][k[0]].rstrip("Z"))
    t_mine = np.datetime64(first.time_utc.rstrip("Z"))
    # the autopilot's SYSTEM_TIME ran 3.5 s off; we follow the vehicle clock
    assert abs((t_mine - t_truth) / np.timedelta64(1, "ms") - 3500.0) < 1.0


def test_fast_path_gives_the_per_message_samples(faulty):
    adapter, pairer, ref = MessageAdapter(), Pairer(), []
    for packet in TlogReader(faulty["tlog"]):
        for ev in adapter.events(packet.msg):
            ref += pairer.push(ev, packet.recv_us)
    ref += pairer.finish()
    pairer, fast = Pairer(), []
    for ev, recv in load_events(faulty["tlog"]).events:
        fast += pairer.push(ev, recv)
    fast += pairer.finish()
    assert fast == ref and len(ref) > 1000
