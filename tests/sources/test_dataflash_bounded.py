"""DataFlash logs with a FMT record no record can follow: pymavlink's reader would loop for
ever in ``init_clock`` (a length under the 3-byte header) or recurse once per record (columns
that do not fill the length); the reader says what and where and keeps every good record.

The logs are built byte by byte; the first is the mutated log ``benchmarks/fuzz_parsers.py
240 2`` found (a FMT of length 0 whose name bytes are not ASCII)."""

from __future__ import annotations

import faulthandler

import pytest

from dronesense.events import Fix, Reading
from dronesense.sources.dataflash import read_dataflash
from tests.support.dataflash import FMT_OF_FMT, HEAD, fmt_record, record

#: A reader that still loops is a failed test, not a hung suite.
LIMIT_S = 60


@pytest.fixture(autouse=True)
def _bounded():
    faulthandler.dump_traceback_later(LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _bad_fmt(type_: int, length: int, name: bytes, fmt: bytes = b"Qf") -> bytes:
    """A FMT record of ``type_`` with any ``length``, four raw ``name`` bytes and ``fmt``."""
    columns = b"TimeUS,Value" if fmt else b""
    return (HEAD + b"\x80" + bytes([type_, length]) + name + fmt.ljust(16, b"\x00")
            + columns.ljust(64, b"\x00"))


def _good(k: int) -> bytes:
    """Record pair ``k``: a position and a CH4 reading, 1 s apart."""
    return (record(203, "Qiiffi", 1_000_000 * k, 520000000 + 100 * k, 50000000, 40.0,
                   10.0 + k, 0)
            + record(202, "Q16sf", 1_000_000 * k + 500_000, b"CH4", 1.9 + 0.01 * k))


def _log(bad: bytes, bad_type: int, n: int = 40) -> tuple[bytes, int]:
    """A log with POS and NVF records, the ``bad`` FMT record in the middle, followed by
    records of its type; returns the bytes and the bad record's offset."""
    head = (FMT_OF_FMT + fmt_record(202, "NVF", "QNf", "TimeUS,Name,Value")
            + fmt_record(203, "POS", "QiiffL", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"))
    first = b"".join(_good(k) for k in range(n // 2))
    bad_records = b"".join(HEAD + bytes([bad_type]) + b"\x00" * 12 for _ in range(5))
    rest = b"".join(_good(k) for k in range(n // 2, n))
    return head + first + bad + bad_records + rest, len(head) + len(first)


@pytest.mark.parametrize(("length", "name", "fmt", "why"), [
    # the fuzz case: no columns and length 0, pymavlink's walk steps back 3 bytes per record
    (0, b"\xa3\x95\xc9\x01", b"", "length 0 is not allowed (3 to 255 bytes)"),
    (2, b"BAD\x00", b"Qf", "length 2 is not allowed (3 to 255 bytes)"),
    (40, b"BAD\x00", b"Qf", "its columns (Qf) take 12 bytes but its length 40 leaves 37"),
])
def test_a_fmt_no_record_can_follow_is_reported_and_the_rest_kept(tmp_path, length, name, fmt,
                                                                   why):
    data, where = _log(_bad_fmt(201, length, name, fmt), 201)
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    log = read_dataflash(path)
    fmt = [s for s in log.skipped if s.reason.startswith("FMT record")]
    assert len(fmt) == 1
    assert (fmt[0].offset, fmt[0].length) == (where, 89)
    assert "(type 201)" in fmt[0].reason and why in fmt[0].reason
    assert fmt[0].reason.endswith("its records skipped")
    # every good record, with its values
    fixes = [e for _, e in log.events if isinstance(e, Fix)]
    readings = [e for _, e in log.events if isinstance(e, Reading)]
    assert len(fixes) == len(readings) == 40
    assert [f.height for f in fixes] == [10.0 + k for k in range(40)]
    assert [r.value for r in readings] == pytest.approx([1.9 + 0.01 * k for k in range(40)])
    assert [r.time_boot_ms for r in readings] == [1000.0 * k + 500.0 for k in range(40)]
    # the bad type's records are skipped bytes, between the good ones
    after = [s for s in log.skipped if s.offset > where]
    assert after and after[0].offset == where + 89


def test_a_bad_redefinition_keeps_the_first_format(tmp_path):
    """A second FMT of a known type (NVF) with length 0: the NVF format stays, and the
    NVF records after it are still read."""
    data, where = _log(_bad_fmt(202, 0, b"NVF\x00", b""), 250)
    path = tmp_path / "redefined.bin"
    path.write_bytes(data)
    log = read_dataflash(path)
    fmt = [s for s in log.skipped if s.reason.startswith("FMT record")]
    assert [(s.offset, s.reason.split(":")[0]) for s in fmt] == [
        (where, "FMT record of NVF (type 202)")]
    assert sum(isinstance(e, Reading) for _, e in log.events) == 40
