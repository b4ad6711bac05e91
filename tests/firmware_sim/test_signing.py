"""firmware-sim --key: a signing vehicle (every packet signed with the key, pymavlink agrees)."""

from __future__ import annotations

import hashlib

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from firmware_sim.cli import main
from firmware_sim.errors import SimError
from firmware_sim.link import load_key
from tests.support.paths import MISSIONS

PASS = "sim passphrase"
KEY = hashlib.sha256(PASS.encode()).digest()


def test_key_loading(tmp_path):
    assert load_key(PASS, None) == KEY and load_key(None, None) is None
    hexf = tmp_path / "k.hex"
    hexf.write_text(KEY.hex() + "\n")
    raw = tmp_path / "k.bin"
    raw.write_bytes(KEY)
    assert load_key(None, str(hexf)) == KEY == load_key(None, str(raw))
    bad = tmp_path / "bad"
    bad.write_text("not a key at all")
    with pytest.raises(SimError, match="not a signing key") as err:
        load_key(None, str(bad))
    assert "not a key at all" not in str(err.value)
    with pytest.raises(SimError):
        load_key("", None)


def test_every_packet_is_signed_with_the_key(tmp_path, capsys):
    tlog = tmp_path / "f.tlog"
    assert main(["--mission", str(MISSIONS / "pm-profile.plan"), "--connect", "none",
                 "--tlog", str(tlog), "--speedup", "0", "--max-time", "15", "--quiet",
                 "--key", PASS]) == 0
    mav = mavlink.MAVLink(None)
    mav.signing.secret_key = KEY  # pymavlink refuses anything not signed with it
    data = tlog.read_bytes()
    i = n = 0
    while i < len(data):
        length = data[i + 9] + 12 + (13 if data[i + 10] & 1 else 0)
        msg = mav.decode(bytearray(data[i + 8:i + 8 + length]))
        assert msg.get_type() != "BAD_DATA"
        n += 1
        i += 8 + length
    assert n > 100 and mav.signing.goodsig_count == n and mav.signing.badsig_count == 0
    assert PASS not in capsys.readouterr().err
