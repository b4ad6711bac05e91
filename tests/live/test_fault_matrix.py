"""The fault matrix: under every fault firmware-sim can inject, the recorder loses nothing that
reached it intact.

For link faults the truth is exact: a clean simulated flight is passed, packet by packet,
through firmware-sim's own :class:`~firmware_sim.faults.Impairer` (the code ``--fault`` runs),
which says which delivered bytes are an intact packet. Each fault then must give: every intact
packet in ``flight.tlog`` in arrival order, a sample for every reading carried by an intact
packet (duplicates exactly once), and ``replay`` equal to the live journal. Vehicle faults
(reboot, GPS loss, clock offset and step) come from a simulator run with them. One live case
runs the whole chain: firmware-sim with ``--fault dup=0.2`` over UDP to a ``dronesense
listen`` process, then ``dronesense pair`` on its tlog.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from dronesense.flight.pipeline import replay
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk
from firmware_sim.faults import FaultLog, Impairer, parse_faults
from tests.support.link import BIN, start_listener, stop
from tests.support.paths import MISSIONS, free_port, sim_cmd

LINK_FAULTS = ["loss=0.1", "corrupt=0.05", "garbage=0.05", "delay=0.5,jitter=0.3",
               "reorder=0.1", "outage=40:70", "dup=0.2",
               "dup=0.1,corrupt=0.05,garbage=0.05,reorder=0.05,loss=0.05"]


def _sim(tmp, name, *faults, max_time=150):
    tlog = tmp / f"{name}.tlog"
    truth = tmp / f"{name}.csv"
    cmd = sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect", "none", "--speedup",
                  "0", "--seed", "2", "--tlog", tlog, "--truth", truth, "--max-time",
                  max_time, "--quiet", *[a for f in faults for a in ("--fault", f)])
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return list(TlogReader(tlog)), truth


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    packets, _ = _sim(tmp_path_factory.mktemp("clean"), "clean")
    return packets


def _impair(packets, spec: str):
    """(recv_us, bytes, intact) as a ground station would receive them under ``spec``."""
    out = []
    t0 = packets[0].recv_us

    def deliver(t, data, meta):
        out.append((t0 + round(t * 1e6), data, meta is not None and data in originals))

    originals = {p.raw for p in packets}
    imp = Impairer(parse_faults([spec]), 5, FaultLog(None), deliver, lambda: None)
    for p in packets:
        t = (p.recv_us - t0) / 1e6
        imp.flush(t)
        imp.send(t, p.raw, (p.msg.get_type(), 0, 0))
    imp.drain()
    out.sort(key=lambda x: x[0])  # the delay queue is first-in first-out already
    return out


def _readings(raws):
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    decode = mavlink.MAVLink(None).decode
    keys = set()
    for raw in raws:
        msg = decode(bytearray(raw))
        if msg.get_type() == "NAMED_VALUE_FLOAT":
            keys.add((msg.time_boot_ms, msg.name))
    return keys


def _check_recording(out, stream):
    rec = Recorder(out)
    for recv_us, data, _ in stream:
        rec.feed(Chunk(data, recv_us, ("127.0.0.1", 1), True))
    summary = rec.close()
    intact = [data for _, data, ok in stream if ok]
    recorded = [bytes(p.raw) for p in TlogReader(out / "flight.tlog")]
    kept = set(intact)
    assert [r for r in recorded if r in kept] == intact  # every intact packet, in order
    rows = read_journal(out)
    keys = [(r.boot, int(r.time_boot_ms), r.name) for r in rows]
    assert len(keys) == len(set(keys))  # a reading gives one sample, duplicated or not
    assert _readings(intact) <= {k[1:] for k in keys}
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    return summary, rows


@pytest.mark.parametrize("spec", LINK_FAULTS)
def test_link_fault_loses_no_intact_data(clean, tmp_path, spec):
    stream = _impair(clean, spec)
    summary, rows = _check_recording(tmp_path / "s", stream)
    if spec == "dup=0.2":
        assert len(stream) > 1.15 * len(clean)
        assert summary["duplicates"] == len(stream) - len(clean)
        assert len(rows) == len(_readings(p.raw for p in clean))


def test_vehicle_faults_lose_no_data(tmp_path):
    packets, truth = _sim(tmp_path, "vehicle", "reboot=60,gpsloss=30:40,clock=5,clockjump=90:2")
    stream = [(p.recv_us, bytes(p.raw), True) for p in packets]
    summary, rows = _check_recording(tmp_path / "s", stream)
    assert summary["vehicles"]["1"]["reboots"] == 1
    assert len(rows) == sum(1 for _ in open(truth)) - 1


@pytest.mark.slow
def test_duplicated_datagrams_live_and_pair(tmp_path):
    """firmware-sim --fault dup=0.2 over UDP: one sample per reading, live and via pair."""
    port = free_port()
    out = tmp_path / "session"
    proc = start_listener(out, port)
    truth = tmp_path / "truth.csv"
    res = subprocess.run(
        sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect",
                f"udpout:127.0.0.1:{port}", "--speedup", "40", "--seed", "3", "--max-time",
                "90", "--truth", truth, "--fault", "dup=0.2", "--quiet"),
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    code, _, err = stop(proc)
    assert code == 0, err
    readings = sum(1 for _ in open(truth)) - 1
    summary = json.loads((out / "session.json").read_text())
    assert summary["duplicates"] > 0.1 * summary["packets"]
    assert len(read_journal(out)) == readings
    paired = tmp_path / "paired.csv"
    res = subprocess.run([str(BIN), "pair",
                          str(out / "flight.tlog"), "--out", str(paired), "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(read_journal(paired)) == readings
