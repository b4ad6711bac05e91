"""The scanner's stored dialect tables and its batched checksum, against pymavlink."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pymavlink.dialects.v20 import all as all_dialects
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from pymavlink.generator.mavcrc import x25crc

import dronesense.sources.tlogcrc as tlogcrc
import dronesense.sources.tlogdialect as tlogdialect
from dronesense.sources.tlogcrc import frame_crcs
from dronesense.sources.tlogdialect import dialect, from_pymavlink, layout_dtype
from dronesense.sources.tlogrecords import words_at
from dronesense.sources.tlogscan import message_dtype


def test_stored_tables_are_pymavlinks():
    stored, live = dialect(), from_pymavlink()
    assert stored.source == "table"  # the installed pymavlink is the one they come from
    assert np.array_equal(stored.known, live.known)
    assert np.array_equal(stored.extra, live.extra)
    assert stored.names == live.names and stored.ids == live.ids
    assert stored.messages == live.messages
    # and the file is what the generator writes today
    text = (tlogdialect.__file__.rsplit("/", 1)[0] + "/tlogdialect_table.py")
    with open(text) as fh:
        assert fh.read() == tlogdialect.render_table()


def test_tables_cover_every_id_and_crc_extra():
    d = dialect()
    for mid, cls in all_dialects.mavlink_map.items():
        assert d.known[mid] and d.extra[mid] == cls.crc_extra
    assert d.known.sum() == len(all_dialects.mavlink_map)
    assert not d.known[-1]  # the entry for ids past them all
    for mid, cls in mavlink.mavlink_map.items():
        assert d.names[mid] == cls.msgname


@pytest.mark.parametrize("name", ["GLOBAL_POSITION_INT", "GPS_RAW_INT", "NAMED_VALUE_FLOAT",
                                  "NAMED_VALUE_INT", "SYSTEM_TIME", "HEARTBEAT", "WIND",
                                  "GLOBAL_POSITION_INT_COV", "STATUSTEXT"])
def test_layouts_decode_like_pymavlink(name):
    cls = mavlink.mavlink_map[dialect().ids[name]]
    dtype = layout_dtype(name)
    assert dtype == message_dtype(cls) and dtype.itemsize == cls.unpacker.size
    rng = np.random.default_rng(len(name))
    payload = rng.integers(0, 256, cls.unpacker.size, dtype=np.uint8).tobytes()
    values = cls.unpacker.unpack(payload)
    row = np.frombuffer(payload, dtype=dtype)[0]
    k = 0
    for f, n in zip(cls.ordered_fieldnames, cls.array_lengths, strict=True):
        if dtype[f].kind == "S":
            assert row[f] == values[k].rstrip(b"\0")  # pymavlink cuts at the first NUL
            assert values[k].startswith(row[f])
            k += 1
        elif n:
            assert row[f].tolist() == list(values[k:k + n])
            k += n
        else:
            assert row[f].item() == values[k] or (np.isnan(row[f]) and np.isnan(values[k]))
            k += 1


def test_another_pymavlink_version_reads_its_dialects(monkeypatch):
    import pymavlink

    dialect.cache_clear()
    try:
        with monkeypatch.context() as m:
            m.setattr(pymavlink, "__version__", "0.0.1")
            other = dialect()
            assert other.source == "pymavlink"
            assert np.array_equal(other.extra, from_pymavlink().extra)
    finally:
        dialect.cache_clear()
    assert dialect().source == "table"


def test_scanner_does_not_import_pymavlink_dialects():
    code = ("import sys; from dronesense.sources.tlogscan import scan_tlog; scan_tlog(b''); "
            "print(sorted(m for m in sys.modules if m.startswith('pymavlink.dialects.v20.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def _reference(buf, first, length, extra):
    return np.array([x25crc(bytes(buf[f:f + n - 1]) + bytes([int(x)])).crc
                     for f, n, x in zip(first, length, extra, strict=True)], dtype=np.uint16)


@pytest.mark.parametrize("block", [7, 64, tlogcrc.BLOCK])
def test_frame_crcs_equal_pymavlinks(block, monkeypatch):
    monkeypatch.setattr(tlogcrc, "BLOCK", block)
    rng = np.random.default_rng(block)
    for _ in range(12):
        n = int(rng.integers(1, 2000))
        buf = rng.integers(0, 256, n, dtype=np.uint8)
        m = int(rng.integers(0, 300))
        first = rng.integers(0, n, m)
        # mostly short frames, a few long ones (they go by length groups), some at the end
        length = np.where(rng.random(m) < 0.1, rng.integers(1, 300, m), rng.integers(1, 48, m))
        length = np.minimum(length, n - first + 1)
        extra = rng.integers(0, 256, m).astype(np.uint8)
        got = frame_crcs(buf, first, length, extra, tlogcrc.Workspace())
        assert np.array_equal(got, _reference(buf, first, length, extra))


def test_words_at_reads_any_offset():
    buf = np.frombuffer(bytes(range(20)), dtype=np.uint8)
    assert int(words_at(buf, ">u8")[3]) == int.from_bytes(bytes(range(3, 11)), "big")
    assert int(words_at(buf, "<u2")[18]) == 18 | 19 << 8
    assert words_at(buf[:3], "<u4").size == 0
