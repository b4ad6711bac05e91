"""Signing after the flight: a session recorded with a key replays (``replay --key``) and pairs
(``pair --key``) exactly as the listener paired it live: unsigned, forged and replayed packets
stay in the tlog but give no sample; the key never reaches a product's ``history``."""

from __future__ import annotations

import os
import socket
import time

import netCDF4
import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink.dialects.v20 import ardupilotmega as M

from dronesense.cli.main import main as _main
from dronesense.flight.pipeline import replay
from dronesense.flight.postflight import pair_logs
from dronesense.live.listener import Listener
from dronesense.live.recorder import Recorder
from dronesense.live.replay_check import check_replay
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk
from dronesense.sources.signing import Signer, Verifier, key_from_passphrase

PASS = "replay-check passphrase"
KEY = key_from_passphrase(PASS)
T0_US = 1_780_000_000_000_000
VEHICLE = ("127.0.0.1", 14555)


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def _packets() -> list[tuple[bytes, bool]]:
    """A signed flight (fixes every 100 ms, a CH4 reading every 250 ms) with injected
    packets: (raw, honest). Injected: unsigned and wrongly signed FAKE readings, and a signed
    reading sent twice (the copy is a replay)."""
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    good = Signer(KEY, link_id=0, state=None)
    bad = Signer(key_from_passphrase("guess"), link_id=0, state=None)
    out: list[tuple[bytes, bool]] = []
    for k in range(120):
        t = 1000 + 100 * k
        fix = M.MAVLink_global_position_int_message(t, 520000000 + 100 * k, 50000000, 100000,
                                                    20000, 100, 0, 0, 0)
        out.append((good.sign(bytes(fix.pack(mav))), True))
        if k % 5 == 2:
            nv = M.MAVLink_named_value_float_message(t + 50, b"CH4", 1.9 + k / 1000)
            signed = good.sign(bytes(nv.pack(mav)))
            out.append((signed, True))
            if k % 15 == 2:
                out.append((signed, False))  # the same bytes again: refused as replayed
        if k % 10 == 7:
            fake = bytes(M.MAVLink_named_value_float_message(t + 60, b"FAKE", 99.0).pack(mav))
            out.append((fake, False))
            out.append((bad.sign(fake), False))
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    out = tmp_path_factory.mktemp("signed") / "s"
    verifier = Verifier(KEY, state=None)
    rec = Recorder(out, verify=verifier.verdict)
    for i, (raw, _) in enumerate(_packets()):
        rec.feed(Chunk(raw, T0_US + 10_000 * i, VEHICLE, True))
    doc = rec.close()
    assert doc["samples"]["total"] > 0
    return out


def test_replay_with_the_key_equals_the_live_journal(session, capsys):
    journal = [format_row(r) for r in read_journal(session)]
    assert {r.name for r in read_journal(session)} == {"CH4"}
    assert [format_row(r) for r in replay(session, key=KEY)] == journal
    assert check_replay(session, key=KEY).identical
    assert not check_replay(session).identical  # without the key the FAKE readings come in
    assert main(["replay", str(session), "--key", PASS]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["replay", str(session)]) == 1
    capsys.readouterr()
    # every packet, honest or not, is still in the raw record
    assert sum(1 for _ in TlogReader(session / "flight.tlog")) == len(_packets())


def test_pair_with_the_key_drops_what_live_dropped(session, tmp_path, capsys, monkeypatch):
    rows, summary = pair_logs([session], key=KEY)
    assert sorted(format_row(r) for r in rows) == sorted(
        format_row(r) for r in read_journal(session))
    assert any("refused" in line for line in summary.lines())
    unsigned, _ = pair_logs([session])
    assert "FAKE" in {r.name for r in unsigned}
    out = tmp_path / "p.nc"
    monkeypatch.setattr("sys.argv", ["dronesense", "pair", str(session), "--out", str(out),
                                     "--key", PASS])
    assert main(["pair", str(session), "--out", str(out), "--key", PASS]) == 0
    capsys.readouterr()
    with netCDF4.Dataset(out) as ds:
        history = ds.getncattr("history")
    assert "--key ***" in history and PASS not in history
    assert PASS.encode() not in out.read_bytes()


def test_listener_key_reaches_the_recorder(tmp_path):
    """Listener(key=...) hands its verifier to the recorder: only the signed reading is
    paired, live over a real socket."""
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    signer = Signer(KEY, link_id=0, state=None)
    fix = [M.MAVLink_global_position_int_message(t, 520000000, 50000000, 10000, 0, 0, 0, 0, 0)
           for t in (0, 100)]
    packets = [signer.sign(bytes(fix[0].pack(mav))),
               signer.sign(bytes(M.MAVLink_named_value_float_message(40, b"CH4", 1.9)
                                 .pack(mav))),
               bytes(M.MAVLink_named_value_float_message(60, b"FAKE", 9.0).pack(mav)),
               signer.sign(bytes(fix[1].pack(mav)))]
    with Listener("udpin:127.0.0.1:0", out=tmp_path / "s", key=KEY, signing_state=None) as live:
        assert live.recorder.verify == live.verifier.verdict
        port = live.link.address[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for raw in packets:
                s.sendto(raw, ("127.0.0.1", port))
        deadline = time.monotonic() + 5
        while live.summary["packets"] < 4 and time.monotonic() < deadline:
            live.poll(0.05)
    doc = live.summary
    assert [r.name for r in read_journal(tmp_path / "s")] == ["CH4"]
    assert doc["security"]["signing"]["verdicts"]["unsigned"] == 1
