"""Injected faults do what they say; the faults log tells the truth about them."""

from __future__ import annotations

import json
import struct

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from firmware_sim import SimConfig, Simulation


def read_tlog(path) -> list[tuple[int, object]]:
    """(receive time us, message) of every packet that parses (CRC checked)."""
    parser = mavlink2.MAVLink(None)
    parser.robust_parsing = True
    data = path.read_bytes()
    out = []
    i = 0
    # records are 8-byte stamps + packets; parse the stream and keep stamps by position
    while i + 8 < len(data):
        (stamp,) = struct.unpack(">Q", data[i:i + 8])
        j = i + 8
        if data[j] == 0xFD and j + 1 < len(data):
            length = data[j + 1] + 12 + (13 if data[j + 2] & 1 else 0)
        elif data[j] == 0xFE:
            length = data[j + 1] + 8
        else:  # garbage: skip a byte
            i += 1
            continue
        pkt = data[j:j + length]
        try:
            msg = parser.decode(bytearray(pkt))
            out.append((stamp, msg))
        except Exception:
            out.append((stamp, None))
        i = j + length
    return out


def fly(tmp_path, faults, seed=1, mission="pm-profile"):
    from tests.support.paths import MISSIONS

    tlog = tmp_path / "f.tlog"
    flog = tmp_path / "faults.jsonl"
    res = Simulation(SimConfig(mission=MISSIONS / f"{mission}.plan", connect=None, speedup=0,
                               seed=seed, tlog=tlog, faults=faults, faults_log=flog)).run()
    log = [json.loads(line) for line in flog.read_text().splitlines()]
    return res, read_tlog(tlog), log


def test_loss_rate_within_tolerance(tmp_path):
    res, recs, log = fly(tmp_path, ["loss=0.2"])
    lost = [e for e in log if e["kind"] == "loss"]
    assert len(recs) + len(lost) == res.messages
    assert abs(len(lost) / res.messages - 0.2) < 0.02
    assert all(m is not None for _, m in recs)


def test_corruption_and_garbage_are_logged(tmp_path):
    _res, recs, log = fly(tmp_path, ["corrupt=0.02,garbage=0.01"])
    bad = sum(1 for _, m in recs if m is None)
    corrupt = [e for e in log if e["kind"] == "corrupt"]
    assert corrupt and bad <= len(corrupt)
    assert bad >= 0.8 * len(corrupt)  # a flip in a length byte may still be caught later
    assert any(e["kind"] == "garbage" and e["offset"] is not None for e in log)


def test_reboot_restarts_boot_time_and_sequence(tmp_path):
    _res, recs, log = fly(tmp_path, ["reboot=60"])
    boots = [(m.time_boot_ms, m.get_seq()) for _, m in recs
             if m is not None and m.get_type() == "GLOBAL_POSITION_INT"]
    drops = [i for i in range(1, len(boots)) if boots[i][0] < boots[i - 1][0]]
    assert len(drops) == 1
    assert boots[drops[0] - 1][0] >= 59_000 and boots[drops[0]][0] < 1_000
    reb = [e for e in log if e["kind"] == "reboot"]
    assert len(reb) == 1 and reb[0]["t"] == 60
    first_after = next(m for _, m in recs if m is not None)
    assert first_after is not None
    seqs = [m.get_seq() for _, m in recs if m is not None]
    assert 0 in seqs[1:]


def test_gps_loss_interval(tmp_path):
    _res, recs, log = fly(tmp_path, ["gpsloss=30:40"])
    t0 = recs[0][0]
    for stamp, m in recs:
        t = (stamp - t0) / 1e6
        if m is None or not 30.2 <= t < 39.9:
            continue
        if m.get_type() == "GPS_RAW_INT":
            assert m.fix_type < 3 and m.lat == 0 and m.lon == 0
        if m.get_type() == "GLOBAL_POSITION_INT":
            assert m.lat == 0 and m.lon == 0
    fixes = [m.fix_type for s, m in recs if m is not None and m.get_type() == "GPS_RAW_INT"
             and (s - t0) / 1e6 > 41]
    assert fixes and min(fixes) == 3
    assert [e["kind"] for e in log] == ["gpsloss", "gpsloss_end"]


def test_clock_offset_in_system_time(tmp_path):
    _res, recs, _log = fly(tmp_path, ["clock=3.5"])
    offs = [(m.time_unix_usec - stamp) / 1e6 for stamp, m in recs
            if m is not None and m.get_type() == "SYSTEM_TIME"]
    assert offs and all(o == pytest.approx(3.5, abs=1e-3) for o in offs)


def _system_times(recs):
    """(tlog stamp = true UTC µs, time_unix_usec, time_boot_ms) of every SYSTEM_TIME."""
    return [(stamp, m.time_unix_usec, m.time_boot_ms) for stamp, m in recs
            if m is not None and m.get_type() == "SYSTEM_TIME"]


def test_clock_drift_slows_the_vehicle_clock(tmp_path):
    _res, recs, log = fly(tmp_path, ["clockdrift=500"])
    st = _system_times(recs)
    # SYSTEM_TIME's UTC stays true; the boot time runs 500 ppm slow against it
    assert all(u == stamp for stamp, u, _ in st)
    (u0, b0), (u1, b1) = (st[0][1:]), (st[-1][1:])
    rate = (u1 - u0) / 1000.0 / (b1 - b0)
    assert rate == pytest.approx(1 + 500e-6, abs=20e-6)
    assert log[0] == {"kind": "clockdrift", "t": 0.0, "time_boot_ms": 0, "ppm": 500.0}


def test_clock_jump_and_systime_jitter(tmp_path):
    _res, recs, log = fly(tmp_path, ["clockjump=20:1.5,systime_jitter=4"])
    off = [(stamp, (u - stamp) / 1000.0) for stamp, u, _ in _system_times(recs)]
    t0 = recs[0][0]
    before = [o for s, o in off if (s - t0) / 1e6 < 19.5]
    after = [o for s, o in off if (s - t0) / 1e6 > 20.5]
    assert before and after
    assert all(abs(o) <= 4.0 for o in before) and max(map(abs, before)) > 1.0
    assert all(abs(o - 1500.0) <= 4.0 for o in after)
    (jump,) = [e for e in log if e["kind"] == "clockjump"]
    assert jump["seconds"] == 1.5 and jump["at"] == 20.0 and 20.0 <= jump["t"] < 21.0
    assert {"kind": "systime_jitter", "t": 0.0, "time_boot_ms": 0, "ms": 4.0} in log


def test_clock_fault_specs_checked():
    from firmware_sim.errors import SimError
    from firmware_sim.faults import parse_faults

    for bad in ("clockdrift=20000", "clockjump=5", "clockjump=-1:2", "systime_jitter=-1"):
        with pytest.raises(SimError, match="--fault"):
            parse_faults([bad])


def test_delay_and_reorder(tmp_path):
    res, recs, log = fly(tmp_path, ["delay=0.2,jitter=0.1,reorder=0.05"])
    assert len(recs) == res.messages
    stamps = [s for s, _ in recs]
    assert stamps == sorted(stamps)
    reorders = [e for e in log if e["kind"] == "reorder"]
    assert 0.03 < len(reorders) / res.messages < 0.07
