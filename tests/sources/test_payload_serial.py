"""Receive clock, serial port reading over a pty, and the simulator's serial encoders."""

from __future__ import annotations

import doctest
import os
import random
import struct
import time

import pytest

import dronesense.sources.payload.clock as clock_mod
import dronesense.sources.payload.journal as journal_mod
import dronesense.sources.payload.ports as ports_mod
import dronesense.sources.payload.readings as readings_mod
import dronesense.sources.payload.serial_source as serial_source
import firmware_sim.serial_payload as sim_serial
from dronesense.events import Reading
from dronesense.sources.payload import make_decoder
from dronesense.sources.payload.clock import ReceiveClock
from dronesense.sources.payload.frames import Frame, Stamped
from dronesense.sources.payload.readings import PayloadReadings
from dronesense.sources.payload.serial_source import SerialPayload, decode_records, iter_records
from dronesense.sources.payload.sps30 import READ_VALUES, START_FLOAT
from firmware_sim import SimError

T0 = 1_750_000_000_000_000  # ground UNIX µs at vehicle boot


def stream(n, rate_hz=30.0, latency_ms=lambda r: 5.0 + r.expovariate(1 / 15.0), speed=1.0,
           seed=1, offset_us=T0):
    """(recv_us, time_boot_ms) pairs: the vehicle clock runs ``speed`` x the ground's."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        boot = i * 1000.0 / rate_hz
        recv = offset_us + (boot / speed + latency_ms(r)) * 1000.0
        out.append((round(recv), boot))
    return out


def test_lower_envelope_real_time():
    """Exponential latency (5 ms minimum): the estimate is within the minimum's spread."""
    clock = ReceiveClock()
    for recv, boot in stream(3000):  # 100 s at 30 Hz
        clock.observe(1, recv, boot)
    est = clock.estimate(1)
    assert 30 <= est.points <= 31 and est.slope == 0.0
    # a reading received at vehicle time 99 s + 5 ms latency maps back to 99 s
    t = clock.to_boot_ms(1, T0 + 99_005_000)
    assert t == pytest.approx(99_000.0, abs=1.0)
    assert 0.5 <= est.uncertainty_ms < 3.0


def test_fast_vehicle_clock_needs_rate_estimate():
    """A simulator at 10x: the fixed-rate envelope fails, the hull estimate follows."""
    pairs = stream(900, speed=10.0, latency_ms=lambda r: 0.2 + r.expovariate(1 / 1.0))
    fixed, free = ReceiveClock(), ReceiveClock(rate=None, bucket_s=0.2, window_s=10)
    for recv, boot in pairs:
        fixed.observe(1, recv, boot)
        free.observe(1, recv, boot)
    recv_q = T0 + round((29_000 / 10 + 0.2) * 1000)  # vehicle 29 s, 0.2 ms late
    assert free.to_boot_ms(1, recv_q) == pytest.approx(29_000.0, abs=5.0)
    assert abs(fixed.to_boot_ms(1, recv_q) - 29_000.0) > 100
    assert free.estimate(1).slope == pytest.approx(-9.0, abs=0.01)


def test_drift_is_followed_by_the_sliding_window():
    """A 200 ppm fast vehicle clock: over 10 minutes the offset moves 120 ms."""
    clock = ReceiveClock(window_s=20)
    errs = []
    for recv, boot in stream(18000, speed=1.0002, latency_ms=lambda r: 3 + r.random()):
        clock.observe(1, recv, boot)
        if boot > 30_000 and int(boot) % 10_000 == 0:
            true = (recv - T0 - 3_000) / 1000.0 * 1.0002  # time sent, vehicle ms
            errs.append(clock.to_boot_ms(1, recv - 3000) - true)
    assert max(abs(e) for e in errs) < 6.0


def test_reboot_restarts_the_clock():
    clock = ReceiveClock()
    for recv, boot in stream(300):
        clock.observe(1, recv, boot)
    last_recv = recv
    assert clock.to_boot_ms(1, last_recv) > 9000
    # reboot: time_boot_ms restarts at 0, one second after the last packet
    clock.observe(1, last_recv + 1_000_000, 10.0)
    clock.observe(1, last_recv + 1_100_000, 110.0)
    assert clock.estimate(1).boot == 1
    assert clock.to_boot_ms(1, last_recv + 1_100_000) == pytest.approx(110.0)
    assert clock.to_boot_ms(1, last_recv - 500_000) is None  # before the reboot


def test_payload_readings_hold_map_and_drop():
    clock = ReceiveClock()
    conv = PayloadReadings(clock, "pms5003", max_hold_s=5)
    f = Frame(0, 32, "data", {"PM1": 1.0, "PM2.5": 2.0, "PM10": 3.0, "N0.3": 9.0})
    assert conv.push([Stamped(T0 + 500_000, f), Stamped(T0 + 700_000, Frame(32, 8, "reply"))]) \
        == []
    assert conv.pending == 1
    clock.observe(7, T0 + 1_010_000, 1000.0)
    clock.observe(7, T0 + 2_010_000, 2000.0)
    out = conv.push([])
    assert [(r, us) for r, us in out] == [
        (Reading(7, 490.0, "PM1", 1.0), T0 + 500_000),
        (Reading(7, 490.0, "PM2.5", 2.0), T0 + 500_000),
        (Reading(7, 490.0, "PM10", 3.0), T0 + 500_000)]
    every = PayloadReadings(clock, "pms5003", sysid=7, channels="all")
    assert len(every.push([Stamped(T0 + 600_000, f)])) == 4
    # frames waiting too long for a clock that never comes are dropped
    lonely = PayloadReadings(ReceiveClock(), "sds011", sysid=3, max_hold_s=5)
    for k in range(10):
        lonely.push([Stamped(T0 + k * 1_000_000, Frame(0, 10, "data", {"PM2.5": 1.0}))])
    assert lonely.pending == 6 and lonely.dropped == 4


# -- the serial port, over a real pty ------------------------------------------------------
def _collect(sp, n, timeout=5.0):
    got = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        got += sp.poll(timeout=0.2)
    return got


def test_serial_payload_over_pty(pty_pair, tmp_path):
    master, slave = pty_pair
    frame = sim_serial.encode_pms5003(3, 7, 12)
    rec = tmp_path / "pms.bin"
    with SerialPayload(slave, "pms5003", record=rec) as sp:
        before = time.time_ns() // 1000
        os.write(master, b"\x00\x01" + frame + frame[:5])
        os.write(master, frame[5:] + frame)
        got = _collect(sp, 3)
        after = time.time_ns() // 1000
        assert sp.decoder.problems[0].reason == "garbage"
    assert [s.frame.offset for s in got] == [2, 34, 66]
    assert got[0].frame.values["PM2.5"] == 7.0
    # stamps: receive time minus the 9600-baud air time of the frame and what followed it
    for s in got:
        assert before - 200_000 < s.recv_us < after
    recorded = list(iter_records(rec))
    assert b"".join(d for _, d in recorded) == b"\x00\x01" + frame * 3
    assert decode_records(recorded, "pms5003") == got


def test_sps30_is_polled(pty_pair):
    master, slave = pty_pair
    with SerialPayload(slave, "sps30", poll_s=0.05, latency_s=0) as sp:
        sent = b""
        end = time.monotonic() + 5
        while sent.count(READ_VALUES) < 2 and time.monotonic() < end:
            try:
                sent += os.read(master, 1024)
            except BlockingIOError:
                time.sleep(0.01)
        assert sent.startswith(START_FLOAT + READ_VALUES)
        os.write(master, sim_serial.encode_sps30(1.25, 2.5, 4.0))
        got, = _collect(sp, 1)
    assert got.frame.values["PM2.5"] == 2.5 and got.frame.values["PM4"] == 3.25


def test_missing_port_is_one_line_error(tmp_path):
    with pytest.raises(serial_source.InputError, match="cannot open serial payload port"):
        SerialPayload(str(tmp_path / "ttyNOPE"), "sds011")


# -- simulator encoders: decoded by dronesense as the simulator's truth says ----------------
@pytest.mark.parametrize("fmt", ["pms5003", "sds011", "sps30"])
def test_sim_encoders_decode(fmt):
    values = [3.26, 7.7, 12.04] if fmt != "sds011" else [7.76, 12.04]
    enc = {"pms5003": sim_serial.encode_pms5003, "sds011": sim_serial.encode_sds011,
           "sps30": sim_serial.encode_sps30}[fmt]
    f, = make_decoder(fmt).feed(enc(*values))
    names = ["PM1", "PM2.5", "PM10"] if fmt != "sds011" else ["PM2.5", "PM10"]
    assert [f.values[n] for n in names] == sim_serial._wire_values(fmt, values)


def test_sim_serial_spec_errors():
    spec = sim_serial.parse_serial_payload("sds011:/dev/pts/9:19200,corrupt=0.5,rate=2")
    assert (spec.baud, spec.corrupt, spec.rate_hz) == (19200, 0.5, 2.0)
    for bad in ("bme280:pty", "pms5003", "pms5003:pty,garbage=2", "pms5003:pty,loss=0.1",
                "sps30:pty,rate=0"):
        with pytest.raises(SimError):
            sim_serial.parse_serial_payload(bad)


def test_sim_serial_garbage_offsets_match_decoder(tmp_path):
    """The simulator's faults log offsets are where the decoder reports the damage."""
    import json

    from firmware_sim.faults import FaultLog

    out = sim_serial.SerialPayloadOutput(
        sim_serial.parse_serial_payload("pms5003:none,garbage=0.3,corrupt=0.2,rate=10"),
        lambda q, e, n, u: 20.0, seed=3, index=0, units={"pm1": "", "pm2p5": "", "pm10": ""})
    chunks = []
    out._write = lambda data, _w=out._write: (chunks.append(data), _w(data))
    with open(tmp_path / "f.jsonl", "w") as fh:
        log = FaultLog(fh)
        for step in range(200):
            out.advance(step * 50, step * 50 + 50, lambda t: (0.0, 0.0, 10.0), step / 20, log)
    faults = [json.loads(x) for x in open(tmp_path / "f.jsonl")]
    dec = make_decoder("pms5003")
    frames = dec.feed(b"".join(chunks), final=True)
    corrupt = {f["offset"] for f in faults if f["kind"] == "serial_corrupt"}
    garbage = {f["offset"] for f in faults if f["kind"] == "serial_garbage"}
    assert len(frames) == out.frames - len(corrupt) and corrupt and garbage
    bad = {p.offset for p in dec.problems if p.reason != "garbage"}
    assert corrupt <= bad
    assert garbage <= {p.offset for p in dec.problems}


@pytest.mark.parametrize("module", [serial_source, clock_mod, readings_mod, ports_mod, journal_mod,
                                    sim_serial])
def test_doctests(module):
    res = doctest.testmod(module)
    assert res.failed == 0 and res.attempted > 0


def test_struct_layout_matches_notes():
    """PMS5003: 32 bytes, length word 28; SDS011: 10 bytes; as in the wire-format notes."""
    assert struct.calcsize(">2sH13HH") == 32
    assert len(sim_serial.encode_sds011(1, 2)) == 10


def test_journal_replays_live_order_exactly(tmp_path):
    """Readings written with their packet count replay into the same sample rows."""
    from dronesense.events import Fix, TimeSync
    from dronesense.flight.pairing import Pairer
    from dronesense.sources.payload.journal import ReadingJournal, merge, read_journal

    events = [TimeSync(1, 0.0, T0)] + [
        Fix(1, 100.0 * i, 45.0 + 1e-5 * i, 9.0, 120.0, 12.0) for i in range(1, 40)]
    pushed = {5: [Reading(1, 333.3333333333333, "PM2.5", 7.0)],
              20: [Reading(1, 2049.9999, "PM10", 9.5), Reading(1, 1000.0 / 3, "PM1", 1.0)]}
    live, count = Pairer(), 0
    rows = []
    with ReadingJournal(tmp_path / "payload.csv") as journal:
        for ev in events:
            rows += live.push(ev, T0)
            count += 1
            for r in pushed.get(count, []):
                journal.write(count, r, T0 + 5, "pms5003:/dev/pts/1")
                rows += live.push(r, T0 + 5)
    rows += live.finish()
    again, replayed = Pairer(), []
    for kind, item in merge(events, read_journal(tmp_path / "payload.csv")):
        replayed += again.push(item, T0) if kind == "packet" else again.push(*item)
    replayed += again.finish()
    assert replayed == rows and len(rows) == 3
