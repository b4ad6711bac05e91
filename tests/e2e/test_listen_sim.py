"""End to end: firmware-sim flies, `dronesense listen` records over loopback UDP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from tests.support.link import start_listener, stop
from tests.support.paths import free_port

ROOT = Path(__file__).resolve().parents[2]
SIM = Path(sys.executable).with_name("firmware-sim")
R_EARTH = 6_371_000.0


def _sim_ok() -> bool:
    try:
        return subprocess.run([str(SIM), "--help"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _sim_ok(), reason="firmware-sim does not run yet")]


def fly(port: int, tmp: Path, *, mission="plume-box", sysid=1, max_time=150, speedup=100,
        faults=(), wait=True, name="sim"):
    truth = tmp / f"{name}-truth.csv"
    tlog = tmp / f"{name}.tlog"
    cmd = [str(SIM), "--mission", str(ROOT / "missions" / f"{mission}.plan"),
           "--connect", f"udpout:127.0.0.1:{port}", "--speedup", str(speedup), "--seed", "1",
           "--truth", str(truth), "--tlog", str(tlog), "--sysid", str(sysid),
           "--max-time", str(max_time), "--quiet"]
    for f in faults:
        cmd += ["--fault", f]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    return proc, truth, tlog


def position_errors(rows, truth: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Join journal rows to the truth by reading; horizontal error in metres."""
    t = pd.read_csv(truth)
    s = pd.DataFrame([r._asdict() for r in rows])
    m = s.merge(t, on=["sysid", "time_boot_ms", "name"], suffixes=("", "_t"))
    dn = np.radians(m.lat - m.lat_t) * R_EARTH
    de = np.radians(m.lon - m.lon_t) * R_EARTH * np.cos(np.radians(m.lat_t))
    return m, np.hypot(dn, de)


def test_flight_recorded_paired_and_replayed(tmp_path):
    port = free_port()
    out = tmp_path / "session"
    proc = start_listener(out, port)
    _, truth, sim_tlog = fly(port, tmp_path)
    code, _, err = stop(proc)
    assert code == 0, err
    rows = read_journal(out)
    t = pd.read_csv(truth)
    # every reading the simulator sent is in the journal
    sent = set(zip(t.sysid, t.time_boot_ms, t.name, strict=True))
    got = {(r.sysid, int(r.time_boot_ms), r.name) for r in rows}
    assert sent == got and len(rows) == len(t)
    # position at reading time within 1 m of the truth (horizontal and vertical)
    m, err_h = position_errors(rows, truth)
    paired = m.flag == Flag.PAIRED
    assert paired.mean() > 0.99
    assert err_h[paired].max() < 1.0
    assert (m.alt_amsl - m.alt_amsl_t)[paired].abs().max() < 1.0
    assert (m.time_utc == m.time_utc_t).all()
    assert np.allclose(m.value, m.reported_value, rtol=1e-6)
    # flight.tlog holds exactly the packets the simulator sent (loopback loses nothing)
    ours = [p.raw for p in TlogReader(out / "flight.tlog")]
    theirs = [p.raw for p in TlogReader(sim_tlog)]
    assert ours == theirs
    # replay gives exactly the live journal
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    cli = subprocess.run([str(SIM.with_name("dronesense")), "replay", str(out)],
                         capture_output=True, text=True)
    assert cli.returncode == 0 and "identical" in cli.stdout


def test_two_vehicles_on_one_port(tmp_path):
    port = free_port()
    out = tmp_path / "session"
    proc = start_listener(out, port)
    a, truth_a, _ = fly(port, tmp_path, sysid=1, wait=False, name="a")
    b, truth_b, _ = fly(port, tmp_path, mission="pm-profile", sysid=2, wait=False, name="b")
    for p in (a, b):
        p.communicate(timeout=120)
        assert p.returncode == 0
    stop(proc)
    rows = read_journal(out)
    assert {r.sysid for r in rows} == {1, 2}
    for sysid, truth in ((1, truth_a), (2, truth_b)):
        mine = [r for r in rows if r.sysid == sysid]
        m, err_h = position_errors(mine, truth)
        assert len(m) == len(pd.read_csv(truth))
        assert err_h[m.flag == Flag.PAIRED].max() < 1.0


def test_survives_faults_and_reboot(tmp_path):
    port = free_port()
    out = tmp_path / "session"
    proc = start_listener(out, port)
    _, truth, _ = fly(port, tmp_path, max_time=200,
                      faults=["garbage=0.05,corrupt=0.02,reboot=100"])
    code, _, err = stop(proc)
    assert code == 0, err
    summary = json.loads((out / "session.json").read_text())
    assert summary["bad_bytes"] > 0 and summary["crc_errors"] > 0
    assert summary["vehicles"]["1"]["reboots"] == 1
    rows = read_journal(out)
    assert {r.boot for r in rows} == {0, 1}
    m, err_h = position_errors(rows, truth)
    # time_boot_ms restarts at the reboot: match readings within their boot only
    m = m[(m.time_utc == m.time_utc_t)]
    assert err_h[m.index[m.flag == Flag.PAIRED]].max() < 1.0
    assert len(rows) > 0.9 * len(pd.read_csv(truth))
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]


def test_kill_9_mid_flight(tmp_path):
    port = free_port()
    out = tmp_path / "session"
    proc = start_listener(out, port)
    sim, _, _ = fly(port, tmp_path, speedup=20, max_time=300, wait=False)
    # mid-flight: once the listener has flushed a few hundred packets (a loaded machine may
    # take seconds to start the simulator), plus a second of more traffic
    deadline = time.monotonic() + 60
    while (out / "flight.tlog").stat().st_size < 20_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    proc.kill()
    killed_us = time.time_ns() // 1000
    proc.communicate()
    sim.kill()
    sim.communicate()
    packets = list(TlogReader(out / "flight.tlog"))
    assert packets
    # the tlog misses at most about a second of what arrived before the kill
    assert killed_us - packets[-1].recv_us < 1_200_000
    recv_of = {}
    for p in packets:
        if p.msg.get_type() == "NAMED_VALUE_FLOAT":
            recv_of[(p.msg.time_boot_ms, p.msg.name)] = p.recv_us
    journal = {(int(r.time_boot_ms), r.name) for r in read_journal(out)}
    missing = [recv_of[k] for k in recv_of if k not in journal]
    # the journal misses only readings received in the last second before the kill
    assert not missing or min(missing) >= packets[-1].recv_us - 1_200_000
