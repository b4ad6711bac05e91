"""The numpy walk a slice at a time: clean slices straight through, damage from its slice on.

Known truth: the per-message reader (:class:`~dronesense.sources.framing.TlogReader`, pymavlink)
and the compiled walk, on logs built from pymavlink packets with damage put where the slices
have already been taken clean.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.sources import tlogrecords, tlogscan
from dronesense.sources.framing import TlogReader, tlog_record
from dronesense.sources.tlogcrc import frame_crcs, gather_rows
from dronesense.sources.tlogrecords import find_records, record_pieces
from dronesense.sources.tlogscan import PAIRING_TYPES, scan_tlog
from tests.sources.scans import damage, same_scan
from tests.support.link import mav2

T0 = 1_714_557_600_000_000


def _log(n: int) -> bytearray:
    """``n`` rounds of four MAVLink 2 messages of different lengths, one signed."""
    mav, signed = mav2(7), mav2(8, signed=True)
    out = []
    for k in range(n):
        out.append(mavlink.MAVLink_global_position_int_message(
            100 * k, 520000000 + k, -1000 - k, 40000, k, 0, 0, 0, k % 360).pack(mav))
        out.append(mavlink.MAVLink_named_value_float_message(
            100 * k + 5, b"CH4", 1.9 + k / 100).pack(signed if k % 5 == 0 else mav))
        out.append(mavlink.MAVLink_heartbeat_message(1, 2, 3, 4, 5, 3).pack(mav))
        out.append(mavlink.MAVLink_gps_raw_int_message(
            10 * k, 3, 520000000, -1000, 40000, 100, 100, 5, 0, 9).pack(mav))
    return bytearray(b"".join(tlog_record(T0 + 1000 * i, bytes(p)) for i, p in enumerate(out)))


def _numpy_scan(data, monkeypatch, slice_bytes):
    with monkeypatch.context() as m:
        m.setattr(tlogscan, "_numba", None)
        m.setattr(tlogrecords, "SLICE", slice_bytes)
        return scan_tlog(data)


@pytest.mark.parametrize("seed", range(4))
def test_damage_after_clean_slices_gives_the_compiled_scan(seed, monkeypatch):
    data = _log(60)
    rng = random.Random(seed)
    half = len(data) // 2
    damage(data, rng, 6, 1, 40, start=half)  # bit errors and junk, all in the second half
    data = bytes(data[:len(data) - rng.randrange(0, 20)])
    with monkeypatch.context() as m:
        m.setattr(tlogrecords, "SLICE", 700)
        pieces = list(record_pieces(np.frombuffer(data, dtype=np.uint8)))
    assert len(pieces) > 5 and not any(skipped for *_, skipped in pieces[:-1])
    assert pieces[-1][4]  # the damage: walked and classified in the last piece
    ref = scan_tlog(data, compiled=True)
    for slice_bytes in (700, 4096, 1 << 20):
        same_scan(_numpy_scan(data, monkeypatch, slice_bytes), ref)


def test_clean_log_with_a_cut_or_junk_tail(monkeypatch, tmp_path):
    data = bytes(_log(40))
    cases = {b"": [], b"junk" * 5: ["not MAVLink"], data[:30]: ["truncated record"]}
    for tail, reasons in cases.items():  # nothing, not MAVLink, a record cut short
        log = data + tail
        for slice_bytes in (31, 500, 1 << 20):  # 31: most slices start inside a record
            scan = _numpy_scan(log, monkeypatch, slice_bytes)
            same_scan(scan, scan_tlog(log, compiled=True))
        path = tmp_path / "tail.tlog"
        path.write_bytes(log)
        ref = list(TlogReader(path))
        assert scan.records == len(ref) == 160
        got = np.sort(np.concatenate([c["_offset"] for c in scan.messages.values()]))
        assert got.tolist() == [p.offset for p in ref if p.msg.get_type() in PAIRING_TYPES]
        assert [r.reason for r in scan.skipped] == reasons


def test_find_records_of_pieces_equals_the_compiled_walk(monkeypatch):
    data = _log(30)
    data[len(data) // 3] ^= 0xFF
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    with monkeypatch.context() as m:
        m.setattr(tlogrecords, "SLICE", 256)
        mine = find_records(buf, compiled=False)
    ref = find_records(buf, compiled=True)
    for a, b in zip(mine[:4], ref[:4], strict=True):
        assert np.array_equal(a, b)
    assert mine[4] == ref[4] and mine[4]


def test_frame_crcs_of_mixed_long_and_short_frames_near_the_end():
    """Most frames short, a few long ones (their own wider rows), some ending at the last
    byte (checked one length at a time)."""
    from pymavlink.generator.mavcrc import x25crc

    rng = np.random.default_rng(5)
    buf = rng.integers(0, 256, 5000, dtype=np.uint8)
    length = rng.integers(1, 30, 3000)
    length[::400] = rng.integers(100, 260, length[::400].size)
    first = rng.integers(0, buf.size - 300, length.size)
    first[-3:] = buf.size - length[-3:] + 1  # the last checked byte is the buffer's last
    extra = rng.integers(0, 256, length.size).astype(np.uint8)
    got = frame_crcs(buf, first, length, extra)
    for f, n, e, c in zip(first.tolist(), length.tolist(), extra.tolist(), got.tolist(),
                          strict=True):
        assert x25crc(bytes(buf[f:f + n - 1]) + bytes([e])).crc == c


def test_gather_rows_copies_overlapping_rows():
    buf = np.arange(50, dtype=np.uint8)
    rows = gather_rows(buf, np.array([3, 0, 47, 3]), 3)
    assert rows.tolist() == [[3, 4, 5], [0, 1, 2], [47, 48, 49], [3, 4, 5]]
    rows[0, 0] = 99  # a copy, not a view of the buffer
    assert buf[3] == 3
    assert gather_rows(buf[:2], np.array([], dtype=np.int64), 3).shape == (0, 3)
