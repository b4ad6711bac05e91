"""Parsers under fuzzing: each target takes bytes, runs one parser on them (from a file where
the parser reads files) and may raise only the project's own errors.

Shared by ``tests/sources/test_fuzz_parsers.py`` (short, in the suite) and
``benchmarks/fuzz_parsers.py`` (long runs). Each seed is a valid input of the format, so
mutations of it reach deep into the parser.
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import DronesenseError
from firmware_sim.errors import SimError

#: Exceptions a parser may raise for bad input.
ALLOWED = (DronesenseError, SimError)
_T0 = 1_714_557_600_000_000


def _mav_packets(n: int = 6) -> list[bytes]:
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    out = []
    for k in range(n):
        msgs = [mavlink.MAVLink_global_position_int_message(100 * k, 520000000, 50000000,
                                                            40000, 10000, 0, 0, 0, 0),
                mavlink.MAVLink_named_value_float_message(100 * k + 5, b"CH4", 1.9)]
        for m in msgs:
            out.append(bytes(m.pack(mav)))
    return out


def _tlog_seed() -> bytes:
    return b"".join(struct.pack(">Q", _T0 + 1000 * k) + raw
                    for k, raw in enumerate(_mav_packets()))


def _dataflash_seed() -> bytes:
    from tests.support.dataflash import FMT_OF_FMT, fmt_record, record

    return (FMT_OF_FMT + fmt_record(201, "PARM", "QNf", "TimeUS,Name,Value")
            + fmt_record(202, "NVF", "QNf", "TimeUS,Name,Value")
            + fmt_record(203, "POS", "QiiffL", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt")
            + record(201, "Q16sf", 1, b"SYSID_THISMAV", 1.0)
            + record(203, "Qiiffi", 1000, 520000000, 50000000, 40.0, 10.0, 0)
            + record(202, "Q16sf", 1500, b"CH4", 1.9)
            + record(203, "Qiiffi", 2000, 520000100, 50000100, 41.0, 11.0, 0))


def _plan_seed() -> bytes:
    root = Path(__file__).resolve().parents[2]
    return (root / "missions" / "pm-profile.plan").read_bytes()


def _waypoints_seed() -> bytes:
    return (b"QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t52.0\t5.0\t40\t1\n"
            b"1\t0\t3\t22\t0\t0\t0\t0\t52.0\t5.0\t20\t1\n"
            b"2\t0\t3\t16\t5\t0\t0\t0\t52.001\t5.001\t30\t1\n")


def _field_seed() -> bytes:
    root = Path(__file__).resolve().parents[2]
    return (root / "missions" / "pm-profile.toml").read_bytes()


def _csv_seed() -> bytes:
    return (b"t;lat;lon;alt;pm\n1714557600;52.0;5.0;40;12.5\n1714557601;52.0;5.001;41;13.5\n"
            b"1714557602;52.001;5.002;42;-999.99\n")


def _samples_seed() -> bytes:
    from dronesense.flight.rows import SampleRow
    from dronesense.samples.journal import JournalWriter

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.csv"
        with JournalWriter(path) as j:
            j.write([SampleRow(f"2024-05-01T10:00:0{i}.000000Z", 1000.0 * i, 0, 1, 52.0 + i * 1e-4,
                               5.0, 40.0, 10.0, "ch4", "CH4", 1.9, "1e-6", 0.2, 0, "gps")
                     for i in range(3)])
        return path.read_bytes()


def _serial_seed() -> bytes:
    body = bytes([0x42, 0x4D, 0x00, 0x1C]) + bytes(range(26))
    return body + struct.pack(">H", sum(body) & 0xFFFF)


def _in_file(data: bytes, suffix: str, func):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{suffix}"
        path.write_bytes(data)
        return func(path)


def tlog_reader(data: bytes) -> None:
    from dronesense.sources.framing import TlogReader

    _in_file(data, ".tlog", lambda p: list(TlogReader(p)))


def tlog_records(data: bytes) -> None:
    from dronesense.sources.tlogrecords import find_records

    buf = np.frombuffer(data, dtype=np.uint8)
    a = find_records(buf, compiled=False)
    b = find_records(buf, compiled=True)
    assert a[0].tolist() == b[0].tolist()  # the two walks agree


def framing(data: bytes) -> None:
    from dronesense.sources.framing import Framer

    f = Framer()
    half = len(data) // 2
    res = [f.feed(data[:half]), f.feed(data[half:], final=True)]
    got = b"".join(bytes(m.get_msgbuf()) for r in res for m in r.messages)
    assert len(got) + sum(len(r.bad) for r in res) == len(data)  # every byte accounted for


def dataflash(data: bytes) -> None:
    from dronesense.sources.dataflash import read_dataflash

    _in_file(data, ".bin", lambda p: read_dataflash(p, {"NVF": {"Value": "x"}}))


def csv_track(data: bytes) -> None:
    from dronesense.sources.csvtrack import CsvMap, read_csv_track

    cmap = CsvMap(time="t", time_format="unix_s", lat="lat", lon="lon", alt="alt",
                  values={"pm": ("pm2p5", 1.0)})
    _in_file(data, ".csv", lambda p: read_csv_track(p, cmap))


def _mission(data: bytes, fmt) -> str | None:
    """The mission in ``data`` read, checked and written again by the module ``fmt`` (its
    ``loads`` and ``dumps``); None when ``data`` is not UTF-8 text."""
    from dronesense.missions.checks import check

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    mission = fmt.loads(text)
    check(mission)
    return fmt.dumps(mission)


def plan(data: bytes) -> None:
    from dronesense.missions import plan as plan_mod

    text = _mission(data, plan_mod)
    if text is not None:
        json.loads(text)


def waypoints(data: bytes) -> None:
    from dronesense.missions import waypoints as wp

    _mission(data, wp)


def field_toml(data: bytes) -> None:
    from firmware_sim.world import load_field

    try:  # firmware-sim's command line refuses a field file that is not UTF-8 before
        data.decode("utf-8")  # load_field (which reads bytes) sees it
    except UnicodeDecodeError:
        return
    _in_file(data, ".toml", load_field)


def serial_frames(data: bytes) -> None:
    from dronesense.sources.payload import make_decoder

    for fmt in ("pms5003", "sds011", "sps30"):
        dec = make_decoder(fmt)
        dec.feed(data[: len(data) // 3])
        dec.feed(data[len(data) // 3 :], final=True)


def samples_file(data: bytes) -> None:
    from dronesense.samples.files import read_rows

    _in_file(data, ".csv", read_rows)


#: name -> (target, seed)
TARGETS = {
    "tlog_reader": (tlog_reader, _tlog_seed),
    "tlog_records": (tlog_records, _tlog_seed),
    "framing": (framing, lambda: b"".join(_mav_packets())),
    "dataflash": (dataflash, _dataflash_seed),
    "csv_track": (csv_track, _csv_seed),
    "plan": (plan, _plan_seed),
    "waypoints": (waypoints, _waypoints_seed),
    "field_toml": (field_toml, _field_seed),
    "serial_frames": (serial_frames, _serial_seed),
    "samples_file": (samples_file, _samples_seed),
}


def mutate(seed: bytes, rng) -> bytes:
    """A random mutation of ``seed``: flips, inserts, deletes, cuts, splices, numbers."""
    b = bytearray(seed)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 2:
            del b[i : i + rng.randint(1, 32)]
        elif op == 3:
            b = b[: i]
        elif op == 4 and b:
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randint(1, 64)]
        elif op == 5:
            b[i:i] = rng.choice([b"nan", b"inf", b"-1e308", b"1e309", b"Infinity", b"-0",
                                 b"99999999999999999999", b"\x00", b"\xff\xff\xff\xff", b'"',
                                 b";", b",", b"\n", b"[", b"{"])
        elif op == 6 and b:
            b[min(i, len(b) - 1)] = rng.choice([0, 0xFF, 0x7F, 0x80, 0xFD, 0xFE, 0xA3, 0x95])
    return bytes(b)
