"""MAVLink 2 signing end to end: firmware-sim as a signing vehicle, dronesense with the key,
an attacker on loopback without it.

- live: only validly signed packets are paired (every reading the vehicle sent, nothing the
  attacker injected), the others stay in the tlog and are counted; a replay of the recorded
  packets after a restart is refused;
- the vehicle refuses an unsigned ARM / MISSION_START (it stays on the ground), while
  ``mission upload --key`` succeeds;
- the key never reaches session.json, the tlog, the journal or an error line.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil

from dronesense.live.listener import Listener
from dronesense.missions import plan
from dronesense.samples.journal import read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.signing import Signer, key_from_passphrase, state_path
from tests.support.cli import exit_code as main
from tests.support.paths import MISSIONS, free_port
from tests.support.sim import start_profile_sim

M = mavutil.mavlink
PASS = "field-campaign-2026 passphrase"
KEY = key_from_passphrase(PASS)
pytestmark = pytest.mark.slow


def start_sim(tmp: Path, conn: str, *extra: str) -> subprocess.Popen:
    return start_profile_sim(tmp, conn, "--key", PASS, *extra, seed=2)


def _fake(n: int, key: bytes | None) -> list[bytes]:
    """Readings named FAKE claiming to be system 1, unsigned or signed with ``key``."""
    mav = M.MAVLink(None, srcSystem=1, srcComponent=1)
    out = []
    for i in range(n):
        raw = bytes(M.MAVLink_named_value_float_message(1000 + i, b"FAKE", 99.0).pack(mav))
        out.append(raw if key is None else Signer(key, link_id=0, state=None).sign(raw))
    return out


def _no_key_anywhere(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASS.encode() not in data and KEY not in data
            assert KEY.hex().encode() not in data, path


def test_live_pairs_only_validly_signed_packets(tmp_path):
    port = free_port()
    state = state_path(KEY, tmp_path / "state")
    out = tmp_path / "s"
    live = Listener(f"udpin:127.0.0.1:{port}", out=out, key=KEY, signing_state=state)
    sim = start_sim(tmp_path, f"udpout:127.0.0.1:{port}", "--speedup", "40", "--max-time", "60")
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(live.run()), daemon=True)
    thread.start()
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        time.sleep(1.0)
        for raw in _fake(5, None) + _fake(5, key_from_passphrase("guess")):
            attacker.sendto(raw, ("127.0.0.1", port))
        sim.communicate(timeout=60)
        # the attacker replays packets the vehicle sent (recorded off the air)
        for rec in list(TlogReader(tmp_path / "sim.tlog"))[:5]:
            attacker.sendto(rec.raw, ("127.0.0.1", port))
        time.sleep(0.5)
    finally:
        live.stop()
        thread.join(20)
        attacker.close()
        if sim.poll() is None:
            sim.kill()
            sim.communicate()
    assert sim.returncode == 0
    rows = read_journal(out)
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert len(rows) == len(truth) > 0
    assert "FAKE" not in {r.name for r in rows}
    verdicts = done["security"]["signing"]["verdicts"]
    assert verdicts["unsigned"] == 5 and verdicts["invalid"] == 5 and verdicts["replayed"] == 5
    assert verdicts["valid"] == len(list(TlogReader(tmp_path / "sim.tlog")))
    assert any("refused" in w for w in done["security"]["warnings"])
    names = [p.msg.name for p in TlogReader(out / "flight.tlog")
             if p.msg.get_type() == "NAMED_VALUE_FLOAT"]
    assert names.count("FAKE") == 10  # kept in the raw record
    _no_key_anywhere(out)
    _no_key_anywhere(tmp_path / "state")
    assert state.exists()

    # after a restart, the recorded packets played again are refused (state kept per key)
    port2 = free_port()
    again = Listener(f"udpin:127.0.0.1:{port2}", out=tmp_path / "s2", key=KEY,
                     signing_state=state)
    with again, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for rec in TlogReader(tmp_path / "sim.tlog"):
            s.sendto(rec.raw, ("127.0.0.1", port2))
            if rec.offset % 50 == 0:
                again.poll(0)
        time.sleep(0.3)
        for _ in range(20):
            again.poll(0.02)
    doc = again.summary
    assert doc["samples"]["total"] == 0
    assert doc["security"]["signing"]["verdicts"]["valid"] == 0
    assert doc["security"]["signing"]["verdicts"]["replayed"] == doc["packets"] > 0


def test_signing_vehicle_refuses_unsigned_commands_and_accepts_signed_mission(tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setenv("DRONESENSE_SIGNING_STATE", str(tmp_path / "state"))
    port = free_port()
    sim = start_sim(tmp_path, f"udpin:127.0.0.1:{port}", "--wait-for-start", "--speedup", "5",
                    "--max-time", "300")
    attacker = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=200)
    try:
        hb = None
        for _ in range(30):  # until the vehicle is up and answers
            attacker.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
            hb = attacker.recv_match(type="HEARTBEAT", blocking=True, timeout=0.5)
            if hb is not None:
                break
        assert hb is not None and hb.get_msgbuf()[2] & 1  # what the vehicle sends is signed
        for cmd, p1 in ((M.MAV_CMD_COMPONENT_ARM_DISARM, 1), (M.MAV_CMD_MISSION_START, 0)):
            for _ in range(3):
                attacker.mav.command_long_send(1, 1, cmd, 0, p1, 0, 0, 0, 0, 0, 0)
        assert attacker.recv_match(type="COMMAND_ACK", blocking=True, timeout=2) is None
        beats = [attacker.recv_match(type="HEARTBEAT", blocking=True, timeout=1)
                 for _ in range(3)]
        assert all(b is not None and not b.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED
                   for b in beats)
        attacker.close()
        attacker = None
        src = tmp_path / "m.plan"
        mission = plan.read(MISSIONS / "pm-profile.plan")
        plan.write(mission, src)
        conn = f"udpout:127.0.0.1:{port}"
        # without the key: refused (one line), with it: uploaded and read back
        assert main(["mission", "upload", conn, str(src), "--wait", "3", "--timeout", "0.3",
                     "--retries", "1"]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert main(["mission", "upload", conn, str(src), "--key", PASS]) == 0
        assert "uploaded" in capsys.readouterr().out
        back = tmp_path / "back.plan"
        assert main(["mission", "download", conn, str(back), "--key", PASS]) == 0
        assert plan.read(back).items == mission.items
        captured = capsys.readouterr()
        assert PASS not in captured.out + captured.err
    finally:
        if attacker is not None:
            attacker.close()
        if sim.poll() is None:
            sim.terminate()
        sim.communicate(timeout=20)
    _no_key_anywhere(tmp_path / "state")


def test_listen_cli_keeps_the_key_out_of_session_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DRONESENSE_SIGNING_STATE", str(tmp_path / "state"))
    out = tmp_path / "s"
    monkeypatch.setattr("sys.argv", ["dronesense", "listen", "--key", PASS])
    assert main(["listen", f"udpin:127.0.0.1:{free_port()}", "--out", str(out), "--quiet",
                 "--duration", "0.3", "--key", PASS]) == 0
    doc = json.loads((out / "session.json").read_text())
    assert "***" in doc["command_line"]
    _no_key_anywhere(out)
    assert PASS not in capsys.readouterr().out
    # a bad key file: one line, no content shown
    bad = tmp_path / "k"
    bad.write_text(PASS)
    assert main(["listen", f"udpin:127.0.0.1:{free_port()}", "--out", str(tmp_path / "s3"),
                 "--quiet",
                 "--key-file", str(bad)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and PASS not in err
    assert hashlib.sha256(PASS.encode()).hexdigest() not in err
