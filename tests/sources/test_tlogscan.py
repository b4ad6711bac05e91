"""The vectorised tlog reader against pymavlink and the per-message reader."""

from __future__ import annotations

import random

import numpy as np
import pytest
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from pymavlink.generator.mavcrc import x25crc

from dronesense.errors import InputError
from dronesense.sources import tlogscan
from dronesense.sources.framing import TlogReader, tlog_record
from dronesense.sources.tlogscan import PAIRING_TYPES, scan_tlog, x25_crc
from tests.sources.scans import damage, same_scan
from tests.support.link import mav2
from tests.support.postflight import VTOL, needs_vtol


def _pymavlink_messages(path, types):
    conn = mavutil.mavlink_connection(str(path))
    out = {t: [] for t in types}
    while True:
        m = conn.recv_match(type=list(types))
        if m is None:
            break
        out[m.get_type()].append(m)
    return out


@needs_vtol
def test_vtol_equals_pymavlink_message_for_message():
    scan = scan_tlog(VTOL)
    ref = _pymavlink_messages(VTOL, PAIRING_TYPES)
    assert scan.skipped == []
    assert scan.records == 23894
    for name in PAIRING_TYPES:
        cols = scan.messages[name]
        assert len(cols["_offset"]) == len(ref[name]), name
        fields = [f for f in cols if not f.startswith("_")]
        for i, m in enumerate(ref[name]):
            for f in fields:
                mine = cols[f][i]
                theirs = getattr(m, f)
                if isinstance(theirs, str | bytes):
                    theirs = theirs.encode() if isinstance(theirs, str) else theirs
                    assert bytes(mine) == theirs
                else:
                    assert mine.item() == theirs, (name, i, f)
            assert cols["_sysid"][i] == m.get_srcSystem()
            assert cols["_recv_us"][i] / 1e6 == pytest.approx(m._timestamp, abs=1e-6)
    assert len(scan.messages["GLOBAL_POSITION_INT"]["lat"]) == 807
    assert len(scan.messages["GPS_RAW_INT"]["lat"]) == 799


def test_crc_matches_pymavlink():
    rng = np.random.default_rng(1)
    for width in (1, 2, 9, 30):
        rows = rng.integers(0, 256, (5, width), dtype=np.uint8)
        got = x25_crc(rows)
        for r, c in zip(rows, got, strict=True):
            assert x25crc(bytes(r)).crc == int(c)


def _packets():
    """MAVLink 1 and 2 packets, v2 ones with truncated trailing zeros, one signed."""
    v1 = mavlink.MAVLink(None, srcSystem=3, srcComponent=1)
    v2, signed = mav2(4), mav2(5, signed=True)
    out = []
    for k in range(20):
        mav = (v1, v2, signed)[k % 3]
        out.append(mavlink.MAVLink_global_position_int_message(
            1000 * k, 520000000 + k, 50000000 - k, 40000, 0, 0, 0, 0, 0).pack(mav))
        out.append(mavlink.MAVLink_named_value_float_message(
            1000 * k + 5, b"PM2.5", 0.1 * k).pack(mav))
        out.append(mavlink.MAVLink_attitude_message(k, 0.1, 0.2, 0.3, 0, 0, 0).pack(mav))
    return [bytes(p) for p in out]


def test_v1_v2_signed_and_truncated_payloads():
    t0 = 1_714_557_600_000_000
    data = b"".join(tlog_record(t0 + k, p) for k, p in enumerate(_packets()))
    scan = scan_tlog(data)
    assert scan.skipped == []
    gpi = scan.messages["GLOBAL_POSITION_INT"]
    assert gpi["time_boot_ms"].tolist() == [1000 * k for k in range(20)]
    assert gpi["lat"].tolist() == [520000000 + k for k in range(20)]
    assert gpi["relative_alt"].tolist() == [0] * 20  # truncated zeros padded back
    assert sorted(set(gpi["_sysid"].tolist())) == [3, 4, 5]
    nvf = scan.messages["NAMED_VALUE_FLOAT"]
    assert [bytes(n) for n in nvf["name"]] == [b"PM2.5"] * 20
    assert nvf["value"].tolist() == [np.float32(0.1 * k).item() for k in range(20)]
    assert scan.counts["ATTITUDE"] == 20


def test_corruption_keeps_the_same_records_as_the_per_message_reader(tmp_path):
    t0 = 1_714_557_600_000_000
    data = bytearray(b"".join(tlog_record(t0 + k, p) for k, p in enumerate(_packets() * 20)))
    damage(data, random.Random(3), 40, 15, 40)
    data = data[:-7]  # cut mid-record
    path = tmp_path / "bad.tlog"
    path.write_bytes(bytes(data))
    scan = scan_tlog(path)
    ref = list(TlogReader(path))
    assert scan.records == len(ref)
    mine = np.sort(np.concatenate([c["_offset"] for c in scan.messages.values()])).tolist()
    assert mine == [p.offset for p in ref if p.msg.get_type() in PAIRING_TYPES]
    assert scan.skipped[-1].reason == "truncated record"
    # every byte is in a record or in a bad region (unknown ids are records, reported too)
    bad = sum(r.length for r in scan.skipped if not r.reason.startswith("unknown"))
    covered = bad + sum(len(p.raw) + 8 for p in ref)
    assert covered == len(data)


def _scan_both(data, monkeypatch):
    fast = scan_tlog(data, compiled=True)  # the numba kernels where numba is installed
    with monkeypatch.context() as m:
        m.setattr(tlogscan, "_numba", None)
        slow = scan_tlog(data)
    return fast, slow


@pytest.mark.parametrize("seed", range(8))
def test_compiled_and_numpy_paths_agree(seed, monkeypatch):
    t0 = 1_714_557_600_000_000
    data = bytearray(b"".join(tlog_record(t0 + k, p) for k, p in enumerate(_packets() * 4)))
    rng = random.Random(seed)
    damage(data, rng, 15, 6, 40)
    data = bytes(data[:len(data) - rng.randrange(0, 30)])
    for chunk in (data, data[:15], b"", bytes(range(256)) * 2):
        same_scan(*_scan_both(chunk, monkeypatch))


def test_bytes_without_records_are_one_region():
    scan = scan_tlog(bytes(range(256)) * 3)
    assert scan.records == 0
    assert [(r.offset, r.length, r.reason) for r in scan.skipped] == [(0, 768, "not MAVLink")]


@pytest.mark.parametrize("seed", range(3))
def test_threaded_numpy_walk_equals_one_thread(seed, monkeypatch):
    from dronesense.sources import tlogrecords

    t0 = 1_714_557_600_000_000
    data = bytearray(b"".join(tlog_record(t0 + k, p) for k, p in enumerate(_packets() * 30)))
    rng = random.Random(seed)
    damage(data, rng, 30, 8, 40)
    data = bytes(data[:len(data) - rng.randrange(0, 30)])
    with monkeypatch.context() as m:  # slices of 512 bytes: records cross slice bounds
        m.setattr(tlogrecords, "SLICE", 512)
        m.setattr(tlogrecords, "THREADED_MIN_BYTES", 0)
        m.setattr(tlogrecords, "THREADS", 2)
        two = scan_tlog(data, compiled=False)
        m.setattr(tlogrecords, "THREADS", 1)
        one = scan_tlog(data, compiled=False)
    same_scan(two, one)
    same_scan(one, scan_tlog(data, compiled=False))


def test_ids_only_other_dialects_define_are_counted_as_pymavlink_names_them(tmp_path):
    from pymavlink.dialects.v20 import all as all_dialects

    mid = min(set(all_dialects.mavlink_map) - set(mavlink.mavlink_map))
    cls = all_dialects.mavlink_map[mid]
    mav = all_dialects.MAVLink(None, srcSystem=1, srcComponent=1)
    args = [b"x" if t == "char" else [0] * n if n else 0
            for t, n in zip(cls.fieldtypes, cls.array_lengths, strict=True)]
    hb = bytes(mavlink.MAVLink_heartbeat_message(1, 2, 3, 4, 5, 3).pack(mav))
    t0 = 1_714_557_600_000_000
    path = tmp_path / "other.tlog"
    path.write_bytes(tlog_record(t0, hb) + tlog_record(t0 + 1, bytes(cls(*args).pack(mav)))
                     + tlog_record(t0 + 2, hb))
    ref = [p.msg.get_type() for p in TlogReader(path)]
    for compiled in (False, True):
        scan = scan_tlog(path, compiled=compiled)
        assert scan.records == len(ref) == 3 and scan.skipped == []
        assert scan.counts == {"HEARTBEAT": 2, f"UNKNOWN_{mid}": 1} == {
            t: ref.count(t) for t in ref}


def test_files_empty_or_missing(tmp_path):
    empty = tmp_path / "empty.tlog"
    empty.write_bytes(b"")
    scan = scan_tlog(empty)
    assert (scan.records, scan.size, scan.skipped, scan.path) == (0, 0, [], empty)
    with pytest.raises(InputError, match="cannot read tlog"):
        scan_tlog(tmp_path / "missing.tlog")
    with pytest.raises(InputError, match="unknown MAVLink message type"):
        scan_tlog(empty, types=["NO_SUCH_MESSAGE"])
