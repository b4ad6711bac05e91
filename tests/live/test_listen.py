"""`dronesense listen` over real loopback UDP with a scripted vehicle."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Link
from tests.support.link import (
    BIN,
    ScriptedVehicle,
    send_udp,
    start_listener,
    stop,
    truth_position,
)
from tests.support.paths import free_port

GARBAGE = [b"hello world", b"\xfd\x09\x00\x00", b"\xfe" * 40, random.Random(1).randbytes(300),
           bytes([0xFD, 3, 0, 0, 9, 9, 9, 0x10, 0x27, 0x0F]) + b"abc\x00\x00"]  # unknown id


def test_records_every_packet_and_survives_garbage(tmp_path):
    port = free_port()
    out = tmp_path / "s"
    proc = start_listener(out, port)
    v = ScriptedVehicle(duration_s=4.0)
    packets = v.packets()
    v1 = ScriptedVehicle(sysid=3, duration_s=1.0, mavlink1=True).packets()
    half = len(packets) // 2
    send_udp(port, packets[:half], per_datagram=3)
    send_udp(port, [(0, g) for g in GARBAGE])
    send_udp(port, packets[half:], per_datagram=3)
    send_udp(port, v1)
    code, stdout, err = stop(proc)
    assert code == 0, err
    assert "stopped: SIGTERM" in stdout
    got = [p.raw for p in TlogReader(out / "flight.tlog")]
    unknown = [g for g in GARBAGE if g.startswith(b"\xfd\x03")]
    sent = [raw for _, raw in packets]
    assert [g for g in got if g not in unknown and g[5:6] != b"\x03" and g[3:4] != b"\x03"] \
        == sent
    assert sum(1 for g in got if g[0] == 0xFE) == len(v1)
    summary = json.loads((out / "session.json").read_text())
    assert summary["end_utc"] and summary["stop_reason"] == "SIGTERM"
    # an id no MAVLink dialect defines is a bit error: rejected.bin, not the tlog
    assert summary["rejected_unknown_ids"] >= 1 and not set(unknown) & set(got)
    assert summary["bad_bytes"] > 300
    assert summary["mavlink_versions"]["v1"] == len(v1)
    assert summary["loss"]["1:1"]["lost"] == 0
    rows = read_journal(out)
    ch4 = [r for r in rows if r.sysid == 1]
    assert [(r.time_boot_ms, r.value) for r in ch4] == [(t, val) for t, _, val in v.readings]
    for r in ch4:
        if r.flag == Flag.PAIRED:
            lat, lon, _alt, _ = truth_position(r.time_boot_ms)
            assert abs(r.lat - lat) < 1e-6 and abs(r.lon - lon) < 1e-6
    assert sum(r.flag == Flag.PAIRED for r in ch4) >= len(ch4) - 1
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    # a session directory is never overwritten
    again = subprocess.run([str(BIN), "listen", f"udpin:127.0.0.1:{port}", "--out", str(out),
                            "--duration", "0.1", "--quiet"], capture_output=True, text=True)
    assert again.returncode == 2 and "already holds a session" in again.stderr


def test_two_vehicles_on_one_link_never_mix(tmp_path):
    port = free_port()
    link = Link(f"udpin:127.0.0.1:{port}")
    rec = Recorder(tmp_path / "s")
    a, b = ScriptedVehicle(sysid=1, duration_s=3.0), ScriptedVehicle(sysid=2, duration_s=3.0,
                                                                     start_ms=7.0)
    pa, pb = a.packets(), b.packets()
    # vehicle 2 flies 0.01 deg further north: shift its packets' latitude
    shifted = []
    mav = mavlink.MAVLink(None, srcSystem=2, srcComponent=1)
    dec = mavlink.MAVLink(None)
    for t, raw in pb:
        msg = dec.decode(bytearray(raw))
        if msg.get_type() == "GLOBAL_POSITION_INT":
            msg.lat += 100_000
        mav.seq = msg.get_seq()
        shifted.append((t, bytes(msg.pack(mav))))
    merged = sorted(pa + shifted, key=lambda x: x[0])
    send_udp(port, merged)
    deadline = time.monotonic() + 10
    while rec.stats.packets < len(merged) and time.monotonic() < deadline:
        for chunk in link.recv(0.1):
            rec.feed(chunk)
    link.close()
    rec.close()
    rows = read_journal(tmp_path / "s")
    assert {r.sysid for r in rows} == {1, 2}
    for r in rows:
        if r.flag == Flag.PAIRED:
            lat = truth_position(r.time_boot_ms)[0] + (0.01 if r.sysid == 2 else 0.0)
            assert r.lat == pytest.approx(lat, abs=1e-6)


def test_forward_resends_every_packet(tmp_path):
    port, fport = free_port(), free_port()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", fport))
    sink.settimeout(0.5)
    proc = start_listener(tmp_path / "s", port, "--forward", f"udpout:127.0.0.1:{fport}")
    packets = ScriptedVehicle(duration_s=1.0).packets()
    send_udp(port, packets, extra=[b"junk"])
    got = b""
    try:
        while True:
            got += sink.recv(65535)
    except TimeoutError:
        pass
    stop(proc)
    sink.close()
    assert got == b"".join(raw for _, raw in packets)


def test_kill_9_leaves_readable_tlog_and_journal(tmp_path):
    port = free_port()
    out = tmp_path / "s"
    proc = start_listener(out, port)
    v = ScriptedVehicle(duration_s=8.0)
    packets = v.packets()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    sent_at = {}
    for t, raw in packets:  # real time: vehicle ms = wall ms
        while time.monotonic() - t0 < t / 1000.0:
            time.sleep(0.002)
        sock.sendto(raw, ("127.0.0.1", port))
        sent_at[t] = time.monotonic()
        if t >= 3000:
            break
    proc.kill()
    killed = time.monotonic()
    proc.communicate()
    sock.close()
    packets_in_tlog = list(TlogReader(out / "flight.tlog"))
    assert packets_in_tlog, "tlog empty"
    last_t = max(p.msg.time_boot_ms for p in packets_in_tlog
                 if p.msg.get_type() == "GLOBAL_POSITION_INT")
    assert killed - sent_at[last_t] <= 1.0 + 0.2  # tlog misses at most ~1 s
    rows = read_journal(out)
    replayed = replay(out)
    journal_t = {r.time_boot_ms for r in rows}
    missing = [r.time_boot_ms for r in replayed if r.time_boot_ms not in journal_t
               and r.flag == Flag.PAIRED]
    assert not missing or min(missing) >= last_t - 1000 - 100
