"""Record integrity: duplicates give one sample, corrupt ids never reach the tlog, a cut record
never hides the one behind it, GCS heartbeats with a vehicle's ids and impossible positions."""

from __future__ import annotations

import random

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.duplicates import WINDOW, DuplicateFilter, duplicate_mask
from dronesense.sources.framing import Framer, TlogReader, tlog_record
from dronesense.sources.link import Chunk
from dronesense.sources.messages import MessageAdapter
from dronesense.sources.tlogrecords import find_records
from tests.support.link import ScriptedVehicle

T0 = 1_714_557_600_000_000


def _record(out, raws, step_us=1000):
    rec = Recorder(out)
    for k, raw in enumerate(raws):
        rec.feed(Chunk(raw, T0 + step_us * k, ("127.0.0.1", 1), True))
    return rec.close()


# -- duplicates -----------------------------------------------------------------------------
def test_rule_same_source_sequence_and_bytes_within_the_window():
    f = DuplicateFilter()
    assert not f.is_duplicate(1, 1, 5, b"a")
    assert f.is_duplicate(1, 1, 5, b"a")
    assert not f.is_duplicate(2, 1, 5, b"a")  # another source
    assert not f.is_duplicate(1, 1, 5, b"b")  # same number, other bytes
    # an identical packet after a full window of other packets is a new one
    for k in range(WINDOW + 1):
        f.is_duplicate(1, 1, (6 + k) % 256, bytes([k % 256, 7]))
    assert not f.is_duplicate(1, 1, 5, b"b")
    assert duplicate_mask([1, 1], [1, 1], [9, 9], [b"x", b"x"]) == [False, True]


def test_duplicated_packets_give_one_sample_live_and_in_replay(tmp_path):
    vehicle = ScriptedVehicle(duration_s=6.0)
    raws = [raw for _, raw in vehicle.packets()]
    rng = random.Random(3)
    doubled = []
    for raw in raws:
        doubled.append(raw)
        if rng.random() < 0.2:
            doubled.append(raw)
    assert len(doubled) > 1.1 * len(raws)
    summary = _record(tmp_path / "dup", doubled)
    _record(tmp_path / "clean", raws)
    rows = read_journal(tmp_path / "dup")
    assert len(rows) == len(vehicle.readings)
    assert [format_row(r) for r in rows] == [format_row(r) for r in
                                              read_journal(tmp_path / "clean")]
    assert summary["duplicates"] == len(doubled) - len(raws)
    # every copy is in the raw record; replay of it gives the journal
    assert sum(1 for _ in TlogReader(tmp_path / "dup" / "flight.tlog")) == len(doubled)
    assert [format_row(r) for r in replay(tmp_path / "dup")] == [format_row(r) for r in rows]


# -- corruption -----------------------------------------------------------------------------
def _unknown_id_copy(raw: bytes) -> bytes:
    """The packet with its message id changed to one no dialect defines (CRC unchanged)."""
    b = bytearray(raw)
    b[7], b[8], b[9] = 0xEE, 0xEE, 0x0E
    return bytes(b)


def test_cut_record_with_an_unknown_id_does_not_swallow_the_next(tmp_path):
    raws = [raw for _, raw in ScriptedVehicle(duration_s=2.0).packets()]
    body = bytearray()
    for k, raw in enumerate(raws):
        if k == 5:  # a record cut short, its id hit by a bit error, claiming a long payload
            bad = bytearray(_unknown_id_copy(raw))
            bad[1] = 250
            body += tlog_record(T0 + k, bytes(bad[:14]))
        else:
            body += tlog_record(T0 + k, raw)
    path = tmp_path / "cut.tlog"
    path.write_bytes(bytes(body))
    got = [p.raw for p in TlogReader(path)]
    assert got == raws[:5] + raws[6:]
    buf = np.frombuffer(bytes(body), dtype=np.uint8)
    for compiled in (False, True):
        starts, *_ = find_records(buf, compiled=compiled)
        assert len(starts) == len(raws) - 1
    # the framer resyncs the same way inside a stream
    stream = b"".join(raws[:5]) + bytes(bytearray(_unknown_id_copy(raws[5]))[:14]) \
        + b"".join(raws[6:])
    res = Framer().feed(stream, final=True)
    assert [bytes(m.get_msgbuf()) for m in res.messages] == raws[:5] + raws[6:]


def test_five_percent_corruption_keeps_corrupt_packets_out_of_the_tlog(tmp_path):
    raws = [raw for _, raw in ScriptedVehicle(duration_s=60.0).packets()]
    rng = random.Random(11)
    sent, corrupted = [], 0
    for raw in raws:
        if rng.random() < 0.05:
            b = bytearray(raw)
            i = rng.randrange(len(b))
            b[i] ^= rng.randint(1, 255)
            raw = bytes(b)
            corrupted += 1
        sent.append(raw)
    # also every corrupted id byte case: bit errors in the three id bytes
    for k in range(0, 300, 3):
        b = bytearray(raws[k])
        b[7 + k % 3] ^= 1 << (k % 8)
        sent.append(bytes(b))
        corrupted += 1
    summary = _record(tmp_path / "s", sent)
    recorded = [p.raw for p in TlogReader(tmp_path / "s" / "flight.tlog")]
    good = set(raws)
    bad_in_tlog = sum(1 for r in recorded if bytes(r) not in good)
    assert corrupted > 120
    assert bad_in_tlog <= 0.01 * corrupted
    assert summary["rejected_unknown_ids"] > 0
    intact = [r for r in sent if r in good]
    assert [bytes(r) for r in recorded if bytes(r) in good] == intact
    assert (tmp_path / "s" / "rejected.bin").stat().st_size > 0


# -- message rules ------------------------------------------------------------------------
def _decode(msg, sysid=1, compid=1):
    mav = mavlink.MAVLink(None, srcSystem=sysid, srcComponent=compid)
    return mavlink.MAVLink(None).decode(bytearray(msg.pack(mav)))


def test_gcs_heartbeat_with_the_vehicles_ids_does_not_drop_its_data(tmp_path):
    vehicle = ScriptedVehicle(duration_s=6.0)
    packets = vehicle.packets()
    gcs = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    gcs.seq = 200
    hb = bytes(mavlink.MAVLink_heartbeat_message(
        mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0, 3).pack(gcs))
    raws = []
    for k, (_, raw) in enumerate(packets):
        raws.append(raw)
        if k > 40 and k % 25 == 0:
            raws.append(hb)
    summary = _record(tmp_path / "s", raws)
    rows = read_journal(tmp_path / "s")
    assert len(rows) == len(vehicle.readings)
    assert sum(r.flag == Flag.PAIRED for r in rows) >= len(rows) - 2
    assert summary["gcs_id_conflicts"] > 0
    assert summary["vehicles"]["1"]["reboots"] == 0


def test_positions_outside_wgs84_are_never_paired():
    adapter = MessageAdapter()
    good = _decode(mavlink.MAVLink_global_position_int_message(
        1000, 510000000, 70000000, 100000, 20000, 0, 0, 0, 0))
    bad = _decode(mavlink.MAVLink_global_position_int_message(
        1100, 2140000000, 70000000, 100000, 20000, 0, 0, 0, 0))
    [fix] = adapter.events(good)
    assert fix.fix_ok and fix.lat == 51.0
    [fix] = adapter.events(bad)
    assert not fix.fix_ok and abs(fix.lat) <= 90
    assert adapter.bad_positions == 1 and "WGS 84" in adapter.warnings()[0]


def test_until_landed_reads_extended_sys_state_and_motion(tmp_path):
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    mav.seq = 100
    rec = Recorder(tmp_path / "s")
    for k, (_, raw) in enumerate(ScriptedVehicle(duration_s=4.0).packets()):
        rec.feed(Chunk(raw, T0 + 1000 * k, ("127.0.0.1", 1), True))
    assert not rec.landed()  # armed, flying, every disarmed HEARTBEAT lost
    state = bytes(mavlink.MAVLink_extended_sys_state_message(
        0, mavlink.MAV_LANDED_STATE_ON_GROUND).pack(mav))
    rec.feed(Chunk(state, T0 + 10**7, ("127.0.0.1", 1), True))
    assert rec.landed()
    rec.close()
    # no EXTENDED_SYS_STATE: low and still is landed too
    rec = Recorder(tmp_path / "t")
    for k, (_, raw) in enumerate(ScriptedVehicle(duration_s=4.0).packets()):
        rec.feed(Chunk(raw, T0 + 1000 * k, ("127.0.0.1", 1), True))
    still = bytes(mavlink.MAVLink_global_position_int_message(
        9000, 520000000, 50000000, 10000, 100, 0, 0, 0, 0).pack(mav))
    rec.feed(Chunk(still, T0 + 10**7, ("127.0.0.1", 1), True))
    assert rec.landed()
    rec.close()
