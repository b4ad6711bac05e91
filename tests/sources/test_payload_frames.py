"""Serial sensor frame decoders against frames built here, independently, with struct.pack.

The frame builders below follow the wire formats of docs/payload.md (PMS5003, SDS011, SPS30
SHDLC) and share nothing with dronesense.sources.payload or firmware_sim.serial_payload.
"""

from __future__ import annotations

import doctest
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dronesense.sources.payload
import dronesense.sources.payload.frames
import dronesense.sources.payload.pms5003
import dronesense.sources.payload.sds011
import dronesense.sources.payload.sps30
from dronesense.errors import InputError
from dronesense.sources.payload import (
    PMS5003Decoder,
    SDS011Decoder,
    SPS30Decoder,
    make_decoder,
    parse_payload_spec,
)


# -- independent frame builders ------------------------------------------------------------
def pms(words: tuple[int, ...]) -> bytes:
    body = struct.pack(">BBH13H", 0x42, 0x4D, 28, *words)
    return body + struct.pack(">H", sum(body) & 0xFFFF)


def sds(pm25_x10: int, pm10_x10: int, dev: int = 0xBEEF, cmd: int = 0xC0) -> bytes:
    data = struct.pack("<HHH", pm25_x10, pm10_x10, dev)
    return struct.pack("BB", 0xAA, cmd) + data + struct.pack("BB", sum(data) & 0xFF, 0xAB)


def shdlc(cmd: int, data: bytes, state: int = 0, addr: int = 0) -> bytes:
    body = bytes([addr, cmd, state, len(data)]) + data
    body += bytes([0xFF - (sum(body) & 0xFF)])
    out = bytearray([0x7E])
    for b in body:
        out += bytes([0x7D, b ^ 0x20]) if b in (0x7E, 0x7D, 0x11, 0x13) else bytes([b])
    return bytes(out + b"\x7e")


def sps(values: tuple[float, ...]) -> bytes:
    return shdlc(0x03, struct.pack(">10f", *values))


PMS_WORDS = (5, 8, 9, 6, 9, 11, 900, 260, 40, 4, 1, 0, 0)


# -- single frames -------------------------------------------------------------------------
def test_pms5003_values_and_names():
    f, = PMS5003Decoder().feed(pms(PMS_WORDS))
    assert f.kind == "data" and f.offset == 0 and f.length == 32
    assert (f.values["PM1"], f.values["PM2.5"], f.values["PM10"]) == (6.0, 9.0, 11.0)
    assert (f.values["PM1_CF1"], f.values["PM2.5_CF1"], f.values["PM10_CF1"]) == (5.0, 8.0, 9.0)
    assert f.values["N0.3"] == 900.0 and f.values["N10"] == 0.0


def test_pms5003_command_reply():
    body = struct.pack(">BBHBB", 0x42, 0x4D, 4, 0xE1, 0x00)
    f, = PMS5003Decoder().feed(body + struct.pack(">H", sum(body)))
    assert f.kind == "reply" and f.values == {} and f.length == 8


def test_sds011_values_and_reply():
    dec = SDS011Decoder()
    f, r = dec.feed(sds(1236, 2618, 0x60A1) + sds(7, 1, cmd=0xC5))
    assert f.values == {"PM2.5": 123.6, "PM10": 261.8} and f.info["id"] == 0x60A1
    assert r.kind == "reply" and r.offset == 10


def test_sps30_float_and_u16_and_stuffing():
    # 0x7E, 0x7D, 0x11, 0x13 inside the floats must be unstuffed
    values = (struct.unpack(">f", b"\x41\x7e\x11\x13")[0], 2.5, 3.0, 3.5, 10.0, 12.0, 13.0,
              13.5, 14.0, 0.5)
    frame = sps(values)
    assert frame.count(0x7E) == 2 and b"\x7d\x5e" in frame
    f, = SPS30Decoder().feed(frame)
    assert f.values["PM2.5"] == 2.5 and f.values["TPS"] == 0.5
    assert f.values["PM1"] == pytest.approx(values[0], rel=1e-6)
    g, = SPS30Decoder().feed(shdlc(0x03, struct.pack(">10H", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)))
    assert g.values["PM10"] == 4.0 and g.values["TPS"] == 10.0
    e, = SPS30Decoder().feed(shdlc(0x03, b""))
    assert e.kind == "empty" and e.values == {}
    r, = SPS30Decoder().feed(shdlc(0x00, b""))
    assert r.kind == "reply"


@pytest.mark.parametrize("dec_cls,frame", [
    (PMS5003Decoder, pms(PMS_WORDS)), (SDS011Decoder, sds(100, 200)),
    (SPS30Decoder, sps((1, 2, 3, 4, 5, 6, 7, 8, 9, 0.5))),
])
def test_byte_by_byte_equals_whole(dec_cls, frame):
    whole = dec_cls().feed(frame * 3)
    dec = dec_cls()
    parts = [f for b in frame * 3 for f in dec.feed(bytes([b]))]
    assert parts == whole and [f.offset for f in whole] == [0, len(frame), 2 * len(frame)]
    assert dec.pending == 0 and dec.problems == [] and dec.skipped == 0


# -- bad input: reported with stream offsets, then resynchronised ---------------------------
def test_pms5003_bad_checksum_length_and_garbage():
    good = pms(PMS_WORDS)
    bad_sum = bytearray(good)
    bad_sum[10] ^= 0x40
    bad_len = b"\x42\x4d\x00\x1d" + good[4:]
    stream = b"xyz" + bytes(bad_sum) + good + bad_len + good[:17] + good + b"\x42"
    dec = PMS5003Decoder()
    frames = dec.feed(stream, final=True)
    assert [f.offset for f in frames] == [35, 116]
    assert [f.values for f in frames] == [frames[0].values] * 2
    # the cut-off frame (good[:17] at 99) runs into the next one: a bad checksum at 99
    assert dec.problems[:3] == [
        dronesense.sources.payload.BadFrame(0, 3, "garbage"),
        dronesense.sources.payload.BadFrame(3, 32, "bad checksum"),
        dronesense.sources.payload.BadFrame(67, 4, "bad length"),
    ]
    assert dronesense.sources.payload.BadFrame(99, 32, "bad checksum") in dec.problems
    assert dec.problems[-1] == dronesense.sources.payload.BadFrame(148, 1, "truncated")
    assert dec.bad["bad checksum"] == 2 and dec.frames["data"] == 2
    assert dec.skipped == len(stream) - 64


def test_sds011_unknown_command_bad_tail_and_checksum():
    good = sds(250, 400)
    unknown = sds(1, 2, cmd=0xC7)
    bad_tail = good[:9] + b"\xac"
    bad_sum = good[:8] + bytes([good[8] ^ 1]) + good[9:]
    dec = SDS011Decoder()
    frames = dec.feed(unknown + bad_tail + bad_sum + good)
    assert [f.offset for f in frames] == [30]
    reasons = [(p.offset, p.reason) for p in dec.problems if p.reason != "garbage"]
    assert reasons == [(0, "unknown command"), (10, "bad end byte"), (20, "bad checksum")]


def test_sps30_bad_frames_and_stray_flags():
    good = sps((1, 2, 3, 4, 5, 6, 7, 8, 9, 0.5))
    bad_sum = bytearray(good)
    bad_sum[6] ^= 0x01
    unknown = shdlc(0x42, b"")
    dev_err = shdlc(0x00, b"", state=0x43)
    bad_esc = b"\x7e\x00\x03\x7d\x00\x00\x7e"
    bad_len = shdlc(0x03, b"\x00" * 4).replace(b"\x00\x03\x00\x04", b"\x00\x03\x00\x09")
    stream = b"\x7e\x01" + bytes(bad_sum) + unknown + dev_err + bad_esc + bad_len + good
    dec = SPS30Decoder()
    frames = dec.feed(stream)
    assert [f.offset for f in frames] == [len(stream) - len(good)]
    reasons = [p.reason for p in dec.problems]
    for r in ("bad checksum", "unknown command", "device error", "bad escape", "bad length"):
        assert r in reasons, r
    off = {p.reason: p.offset for p in dec.problems}
    assert off["bad checksum"] == 2
    assert off["unknown command"] == 2 + len(good)


def test_problems_are_bounded_but_counts_are_not():
    dec = PMS5003Decoder(keep_problems=5)
    bad = bytearray(pms(PMS_WORDS))
    bad[20] ^= 1
    dec.feed(bytes(bad) * 50)
    assert len(dec.problems) == 5 and dec.bad["bad checksum"] == 50


# -- property: garbage between valid frames never loses or invents a frame ------------------
FORMATS = {
    "pms5003": (PMS5003Decoder, st.tuples(*[st.integers(0, 65535)] * 13).map(pms)),
    "sds011": (SDS011Decoder, st.tuples(st.integers(0, 65535), st.integers(0, 65535),
                                        st.integers(0, 65535)).map(lambda t: sds(*t))),
    "sps30": (SPS30Decoder, st.tuples(*[st.floats(0, 1000, width=32)] * 10).map(sps)),
}
# garbage rich in the bytes that matter: sync bytes, SHDLC flag and escape, tails
GARBAGE = st.binary(max_size=40) | st.lists(
    st.sampled_from([0x42, 0x4D, 0xAA, 0xC0, 0xAB, 0x7E, 0x7D, 0x00, 0x1C, 0x03, 0x28]),
    max_size=20).map(bytes)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_garbage_interleaved_property(fmt, data):
    dec_cls, frame_st = FORMATS[fmt]
    parts = data.draw(st.lists(st.tuples(GARBAGE, frame_st), max_size=8))
    tail = data.draw(GARBAGE)
    stream = bytearray()
    expected = []
    for junk, frame in parts:
        stream += junk
        expected.append((len(stream), frame))
        stream += frame
    stream += tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    dec = dec_cls()
    got = []
    prev = 0
    for c in [*cuts, len(stream)]:
        got += dec.feed(bytes(stream[prev:c]))
        prev = c
    got += dec.feed(b"", final=True)
    want_offsets = [o for o, _ in expected]
    got_data = [(f.offset, f.length) for f in got if f.kind == "data"]
    assert got_data == [(o, len(fr)) for o, fr in expected]
    assert dec.offset == len(stream)
    # every byte is in a good frame or counted as skipped
    assert dec.skipped == len(stream) - sum(len(fr) for _, fr in expected)
    for p in dec.problems:  # reports point inside the stream and never at a good frame
        assert 0 <= p.offset < len(stream) and p.offset not in want_offsets


# -- registry and specs ----------------------------------------------------------------------
def test_make_decoder_and_specs():
    assert isinstance(make_decoder("SPS30"), SPS30Decoder)
    assert parse_payload_spec("pms5003:/dev/ttyUSB0") == ("pms5003", "/dev/ttyUSB0", 9600)
    assert parse_payload_spec("sps30:/dev/pts/3:460800") == ("sps30", "/dev/pts/3", 460800)
    for bad in ("bme280:/dev/x", "pms5003", "pms5003:"):
        with pytest.raises(InputError):
            parse_payload_spec(bad)
    with pytest.raises(InputError):
        make_decoder("nope")


@pytest.mark.parametrize("module", [
    dronesense.sources.payload, dronesense.sources.payload.frames,
    dronesense.sources.payload.pms5003,
    dronesense.sources.payload.sds011, dronesense.sources.payload.sps30])
def test_doctests(module):
    res = doctest.testmod(module)
    assert res.failed == 0 and res.attempted > 0
