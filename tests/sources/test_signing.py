"""MAVLink 2 signing against pymavlink's own implementation (the truth), replays across a
restart, key loading and the key never showing."""

from __future__ import annotations

import hashlib
import json

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError, ParameterError
from dronesense.sources.framing import Framer, Packet
from dronesense.sources.signing import (
    Signer,
    SigningState,
    Verifier,
    key_from_file,
    key_from_passphrase,
    load_key,
    now_timestamp,
    state_path,
)

KEY = key_from_passphrase("test passphrase")
OTHER = key_from_passphrase("another one")


def _pymav(key: bytes | None, sysid: int = 1, link_id: int = 0, ts: int | None = None):
    mav = mavlink.MAVLink(None, srcSystem=sysid, srcComponent=1)
    if key is not None:
        mav.signing.secret_key = key
        mav.signing.link_id = link_id
        mav.signing.sign_outgoing = True
        mav.signing.timestamp = now_timestamp() if ts is None else ts
    return mav


def _packets(mav, n: int = 5) -> list[bytes]:
    out = []
    for i in range(n):
        msg = mavlink.MAVLink_named_value_float_message(1000 * i, b"CH4", 1.9 + i)
        out.append(bytes(msg.pack(mav)))
        mav.seq = (mav.seq + 1) % 256
    return out


def test_passphrase_is_sha256():
    assert KEY == hashlib.sha256(b"test passphrase").digest()
    with pytest.raises(ParameterError):
        key_from_passphrase("")


def test_pymavlink_signed_packets_verify():
    verifier = Verifier(KEY, state=None)
    raws = _packets(_pymav(KEY, link_id=3))
    assert [verifier.verdict(r) for r in raws] == ["valid"] * 5
    assert [verifier.verdict(r) for r in raws[:2]] == ["replayed"] * 2
    assert [verifier.verdict(r) for r in _packets(_pymav(OTHER))] == ["invalid"] * 5
    assert [verifier.verdict(r) for r in _packets(_pymav(None))] == ["unsigned"] * 5


def test_our_signatures_verify_in_pymavlink():
    signer = Signer(KEY, link_id=7, state=None)
    raws = [signer.sign(r) for r in _packets(_pymav(None))]
    receiver = _pymav(KEY)
    receiver.signing.sign_outgoing = False
    for raw in raws:
        msg = receiver.decode(bytearray(raw))
        assert msg.get_type() == "NAMED_VALUE_FLOAT"
    assert receiver.signing.goodsig_count == 5 and receiver.signing.badsig_count == 0
    # pymavlink with another key refuses them
    wrong = _pymav(OTHER)
    with pytest.raises(mavlink.MAVError):
        wrong.decode(bytearray(raws[0]))


def test_forged_signature_and_altered_payload_are_invalid():
    signer = Signer(KEY, link_id=1, state=None)
    raw = bytearray(signer.sign(_packets(_pymav(None), 1)[0]))
    forged = bytes(raw[:-6]) + bytes(6)
    assert Verifier(KEY, state=None).verdict(forged) == "invalid"
    raw[12] ^= 0x01  # one payload bit
    assert Verifier(KEY, state=None).verdict(bytes(raw)) == "invalid"


def test_replays_refused_after_restart(tmp_path):
    path = state_path(KEY, tmp_path)
    assert "test" not in path.name and KEY.hex() not in path.name
    raws = _packets(_pymav(KEY))
    first = Verifier(KEY, state=path)
    assert [first.verdict(r) for r in raws[:3]] == ["valid"] * 3
    first.save()
    assert KEY.hex() not in path.read_text()
    again = Verifier(KEY, state=path)  # a new run
    assert [again.verdict(r) for r in raws] == ["replayed"] * 3 + ["valid"] * 2
    # a stream that starts more than a minute behind the newest time is a replay too
    old = _packets(_pymav(KEY, sysid=2, ts=again.state.timestamp - 7_000_000), 1)[0]
    assert again.verdict(old) == "replayed"


def test_signer_timestamps_never_go_back_across_runs(tmp_path):
    path = tmp_path / "state.json"
    state = SigningState(path)
    state.timestamp = now_timestamp() + 10**9  # a clock that was ahead
    state._dirty = True
    state.save()
    signer = Signer(KEY, link_id=0, state=path)
    raw = signer.sign(_packets(_pymav(None), 1)[0])
    lo = int.from_bytes(raw[-12:-6], "little")
    assert lo > state.timestamp


def test_packet_verdict_set_by_check():
    raw = Signer(KEY, state=None).sign(_packets(_pymav(None), 1)[0])
    msg = Framer().feed(raw, final=True).messages[0]
    packet = Verifier(KEY, state=None).check(Packet(msg, raw, 0))
    assert packet.signing == "valid"


def test_pymavlink_signing_connection_setup():
    """Signer.setup configures pymavlink so that both sides agree."""
    signer = Signer(KEY, link_id=2, state=None)
    mav = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
    signer.setup(mav)
    raw = bytes(mavlink.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3).pack(mav))
    assert Verifier(KEY, state=None).verdict(raw) == "valid"
    with pytest.raises(mavlink.MAVError):  # unsigned is refused by the configured decoder
        mav.decode(bytearray(_packets(_pymav(None), 1)[0]))
    signer.update_from(mav)
    assert signer.state.timestamp >= mav.signing.timestamp - 1


def test_key_files(tmp_path):
    raw = tmp_path / "raw.key"
    raw.write_bytes(KEY)
    hexf = tmp_path / "hex.key"
    hexf.write_text(KEY.hex() + "\n")
    assert key_from_file(raw) == KEY == key_from_file(hexf)
    bad = tmp_path / "bad.key"
    bad.write_text("secret-text-that-is-not-a-key")
    with pytest.raises(InputError) as err:
        key_from_file(bad)
    assert "secret-text" not in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ParameterError):
        load_key("x", raw)
    assert load_key() is None


def test_key_never_in_repr_or_summary():
    signer, verifier = Signer(KEY, state=None), Verifier(KEY, state=None)
    verifier.verdict(b"\xfe\x00")
    text = repr(signer) + repr(verifier) + json.dumps(verifier.summary()) + repr(vars(signer)) \
        + repr(vars(verifier))
    assert KEY.hex() not in text and repr(KEY) not in text and repr(KEY)[2:-1] not in text


def test_load_events_with_a_key_keeps_only_signed_records(tmp_path):
    """Post-flight: a tlog's unsigned and forged readings give no events with the key."""
    from dronesense.events import Reading
    from dronesense.sources.framing import tlog_record
    from dronesense.sources.logs import load_events

    signer = Signer(KEY, link_id=0, state=None)
    mav = _pymav(None)
    recs = []
    t_us = 1_714_557_600_000_000
    for i in range(10):
        pos = mavlink.MAVLink_global_position_int_message(100 * i, 520000000, 50000000, 10000,
                                                          0, 0, 0, 0, 0)
        good = mavlink.MAVLink_named_value_float_message(100 * i + 50, b"CH4", 1.9)
        fake = mavlink.MAVLink_named_value_float_message(100 * i + 60, b"FAKE", 9.9)
        for msg, how in ((pos, "sign"), (good, "sign"), (fake, "plain"), (fake, "forge")):
            raw = bytes(msg.pack(mav))
            mav.seq = (mav.seq + 1) % 256
            if how == "sign":
                raw = signer.sign(raw)
            elif how == "forge":
                raw = Signer(OTHER, state=None).sign(raw)
            recs.append(tlog_record(t_us + 1000 * len(recs), raw))
    path = tmp_path / "f.tlog"
    path.write_bytes(b"".join(recs))
    names_all = {ev.name for ev, _ in load_events(path).events if isinstance(ev, Reading)}
    assert names_all == {"CH4", "FAKE"}
    log = load_events(path, key=KEY)
    readings = [ev for ev, _ in log.events if isinstance(ev, Reading)]
    assert {r.name for r in readings} == {"CH4"} and len(readings) == 10
    assert any("20 packet(s) refused (10 unsigned, 10 invalid)" in n for n in log.notes)
