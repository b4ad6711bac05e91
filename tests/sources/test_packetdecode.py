"""Selective decoding of one-packet datagrams (:mod:`dronesense.sources.packetdecode`): the
message objects are pymavlink's own, field for field, for every type the pairing reads,
MAVLink 1 and 2, signed, zero-trimmed; every packet pymavlink would refuse is left to the
Framer's general scan; the recorder gives the same journal whichever way the packets came
(datagrams or one byte stream)."""

from __future__ import annotations

import random

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.flight.pipeline import replay
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import RawMessage, TlogReader
from dronesense.sources.link import Chunk
from dronesense.sources.packetdecode import LiveDecoder
from tests.support.link import ScriptedVehicle

T0 = 1_714_557_600_000_000
KEY = bytes(range(32))


def _messages(rng: random.Random) -> list:
    """One message of each type the pipeline, the sampling events and the view read."""
    r = rng.randint
    return [
        M.MAVLink_global_position_int_message(r(0, 2**32 - 1), r(-900000000, 900000000),
                                              r(-1800000000, 1800000000), r(-2**31, 2**31 - 1),
                                              r(-2**31, 2**31 - 1), r(-2**15, 2**15 - 1),
                                              r(-2**15, 2**15 - 1), r(-2**15, 2**15 - 1),
                                              r(0, 65535)),
        M.MAVLink_named_value_float_message(r(0, 2**32 - 1), rng.choice([b"CH4", b"PM2.5",
                                                                          b"ABCDEFGHIJ", b""]),
                                            rng.uniform(-1e6, 1e6)),
        M.MAVLink_named_value_int_message(r(0, 2**32 - 1), b"SAMPLE", r(-2**31, 2**31 - 1)),
        M.MAVLink_system_time_message(r(0, 2**64 - 1), r(0, 2**32 - 1)),
        M.MAVLink_heartbeat_message(r(0, 40), r(0, 19), r(0, 255), r(0, 2**32 - 1), r(0, 8), 3),
        M.MAVLink_gps_raw_int_message(r(0, 2**64 - 1), r(0, 6), r(-900000000, 900000000),
                                      r(-1800000000, 1800000000), r(0, 10**6), r(0, 65535),
                                      r(0, 65535), r(0, 65535), r(0, 65535), r(0, 255)),
        M.MAVLink_command_long_message(1, 1, rng.choice([183, 181, 203, 400]), 0,
                                       *(rng.uniform(-2000, 2000) for _ in range(7))),
        M.MAVLink_mission_current_message(r(0, 65535)),
        M.MAVLink_camera_feedback_message(r(0, 2**64 - 1), 1, 0, r(0, 65535), r(-10**8, 10**8),
                                          r(-10**8, 10**8), 10.0, 5.0, 0, 0, 0, 0.0, 0),
    ]


def _same(a, b) -> None:
    assert type(a) is type(b) and a.get_type() == b.get_type()
    da, db = dict(vars(a)), dict(vars(b))
    ha, hb = da.pop("_header"), db.pop("_header")
    assert vars(ha) == vars(hb)
    for key in ("_msgbuf", "_payload"):
        da[key], db[key] = bytes(da[key]), bytes(db[key])
    assert da == db


@pytest.mark.parametrize("kind", ["v2", "v2-signed", "v1"])
def test_decoded_messages_are_pymavlinks(kind):
    rng = random.Random(7)
    wanted = {m.id for m in _messages(rng)}
    dec = LiveDecoder(wanted)
    mav, ref = M.MAVLink(None, srcSystem=3, srcComponent=1), M.MAVLink(None)
    if kind == "v2-signed":
        mav.signing.secret_key, mav.signing.link_id, mav.signing.sign_outgoing = KEY, 1, True
        mav.signing.timestamp = 10**12
    for _ in range(60):
        for msg in _messages(rng):
            if kind == "v1" and msg.id > 255:
                continue
            raw = bytes(msg.pack(mav, force_mavlink1=kind == "v1"))
            assert (raw[0] == 0xFE) == (kind == "v1")
            assert (raw[0] == 0xFD and raw[2] & 1 == 1) == (kind == "v2-signed")
            mav.seq = (mav.seq + 1) % 256
            got = dec.datagram(raw)
            assert got is not None, msg.get_type()
            _same(got, ref.decode(bytearray(raw)))


def test_unwanted_types_are_only_checked_and_bad_packets_left_to_the_framer():
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    dec = LiveDecoder({M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT})
    raw = bytes(M.MAVLink_attitude_message(5, 0.1, 0.2, 0.3, 0, 0, 0).pack(mav))
    msg = dec.datagram(raw)
    assert type(msg) is RawMessage and msg.get_type() == "ATTITUDE" and msg.get_msgbuf() == raw
    fix = bytes(M.MAVLink_global_position_int_message(1, 2, 3, 4, 5, 6, 7, 8, 9).pack(mav))
    assert dec.datagram(fix).lat == 2
    for bad in (fix[:-1] + bytes([fix[-1] ^ 1]),  # CRC
                raw[:-1] + bytes([raw[-1] ^ 1]),  # CRC of a type only checked
                fix + fix,  # two packets in one datagram
                fix[:-3],  # cut
                b"xx" + fix,  # garbage first
                bytes([0xFD, 0, 0, 0, 0, 1, 1, 0xFF, 0xFF, 0xFF, 0, 0])):  # unknown id
        assert dec.datagram(bad) is None


def test_same_journal_from_datagrams_and_from_a_byte_stream(tmp_path):
    packets = [raw for _, raw in ScriptedVehicle(duration_s=6.0).packets()]
    a = Recorder(tmp_path / "a")
    for k, raw in enumerate(packets):
        a.feed(Chunk(raw, T0 + 1000 * k, ("127.0.0.1", 1), True))
    a.close()
    b = Recorder(tmp_path / "b")  # a serial radio: the Framer cuts the stream
    for k in range(0, len(packets), 7):
        b.feed(Chunk(b"".join(packets[k:k + 7]), T0 + 1000 * k, 1, False))
    b.close()
    rows = [format_row(r) for r in read_journal(tmp_path / "a")]
    assert len(rows) > 20
    assert rows == [format_row(r) for r in read_journal(tmp_path / "b")]
    assert rows == [format_row(r) for r in replay(tmp_path / "a")]
    assert [p.raw for p in TlogReader(tmp_path / "a" / "flight.tlog")] == packets
