"""Serial payloads in `dronesense listen` and `replay`: one pairing path.

End to end: firmware-sim flies a 250 m line over UDP and writes PMS5003 frames to a pty,
while `dronesense listen --payload pms5003:PTY` records. The serial readings land in the
samples journal under their own wire name (`pms5003.PM2.5`, quantity pm2p5) beside the
autopilot's own `PM2.5`, paired with positions close to the truth (tolerances as in
docs/payload.md / tests/test_payload_sim.py: |median time error| < 60 ms, median position
error < 1 m, 90th percentile < 2.5 m), and `replay` of the session equals the live journal.
The pty disappears when the simulator exits: the listener reports it and carries on.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from dronesense.events import Reading
from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.live.recorder import Recorder
from dronesense.live.view import payload_status, snapshot, status_line
from dronesense.quantities import NameTable
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.link import Chunk
from dronesense.sources.payload.journal import read_journal as read_payload_journal
from dronesense.sources.payload.serial_source import iter_records
from tests.support.link import ScriptedVehicle, send_udp, start_listener, stop
from tests.support.paths import free_port
from tests.support.sim import match_truth, metres, write_mission

BIN = Path(sys.executable).with_name("dronesense")


def _pms(pm1: int, pm25: int, pm10: int) -> bytes:
    words = [pm1, pm25, pm10, pm1, pm25, pm10] + [0] * 7
    body = bytes([0x42, 0x4D, 0, 28]) + b"".join(w.to_bytes(2, "big") for w in words)
    return body + (sum(body) & 0xFFFF).to_bytes(2, "big")


def test_name_table_keeps_sensor_prefix_apart():
    table = NameTable.default()
    table.add_sensor("pms5003")
    assert table.lookup("pms5003.PM2.5").key == "pm2p5"
    assert table.lookup("pms5003.PM1").key == "pm1"
    assert table.lookup("sds011.PM2.5") is None  # only the sensors told


def test_recorder_feed_readings_journal_and_exact_replay(tmp_path):
    """Serial readings interleaved with packets replay to exactly the live journal."""
    out = tmp_path / "s"
    rec = Recorder(out, sensors=["pms5003"])
    packets = ScriptedVehicle(duration_s=3.0).packets()
    base = 1_714_557_600_000_000
    for k, (_, raw) in enumerate(packets):
        rec.feed(Chunk(raw, base + k, ("127.0.0.1", 1), True))
        fs = rec.pairer.states.get(1)
        if k % 7 == 3 and fs is not None and fs.last_time_ms is not None:
            t = fs.last_time_ms - 35.5  # a reading from a little while ago
            rec.feed_readings([(Reading(1, t, "pms5003.PM2.5", float(k)), base + k)],
                              source="pms5003:test")
    summary = rec.close()
    live = read_journal(out)
    serial = [r for r in live if r.name == "pms5003.PM2.5"]
    assert serial and all(r.quantity == "pm2p5" and r.units == "ug m-3" for r in serial)
    assert sum(r.flag == Flag.PAIRED for r in serial) > 0.8 * len(serial)
    assert len(read_payload_journal(out / "payload.csv")) == len(serial)
    assert summary["payload_sensors"] == ["pms5003"]
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in live]
    # without the payload journal the serial rows are simply missing: proves it is used
    (out / "payload.csv").rename(out / "moved.csv")
    assert len(replay(out)) == len(live) - len(serial)


def test_listener_survives_payload_port_going_away(tmp_path):
    """A pty payload that disappears mid-recording: MAVLink keeps being recorded."""
    master, slave = os.openpty()
    tty.setraw(slave)
    dev = os.ttyname(slave)
    port = free_port()
    out = tmp_path / "s"
    proc = start_listener(out, port, "--payload", f"pms5003:{dev}", "--payload-latency", "0")
    try:
        packets = ScriptedVehicle(duration_s=4.0).packets()
        half = len(packets) // 2
        send_udp(port, packets[:half], per_datagram=3)
        sent = _pms(3, 5, 8) + b"\x42\x4d\x00\x1c garbage" + _pms(4, 6, 9)
        os.write(master, sent)
        # unplug only once the listener has read it all (unread bytes die with the pty): its
        # raw record of the port holds every byte it read
        record = out / "payload-pms5003.bin"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = b"".join(d for _, d in iter_records(record)) if record.exists() else b""
            if len(got) >= len(sent):
                break
            time.sleep(0.02)
        assert got == sent
        os.close(master)  # the adapter is unplugged: reads fail with EIO
        os.close(slave)
        master = slave = None
        time.sleep(1.5)
        send_udp(port, packets[half:], per_datagram=3)
        code, _, err = stop(proc)
    finally:
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
    assert code == 0, err
    doc = json.loads((out / "session.json").read_text())
    assert doc["packets"] == len(packets)
    pl = doc["payloads"][f"pms5003:{dev}"]
    assert pl["frames"]["data"] == 2 and pl["port_errors"] >= 1 and pl["connected"] is False
    assert sum(pl["bad"].values()) >= 1
    assert (out / "payload-pms5003.bin").stat().st_size > 0


def test_view_shows_payload_status(tmp_path):
    from dronesense.sources.payload.clock import ReceiveClock
    from dronesense.sources.payload.frames import Frame, Stamped
    from dronesense.sources.payload.readings import PayloadReadings

    clock = ReceiveClock()
    rec = Recorder(tmp_path / "s", clock=clock, sensors=["pms5003"])
    conv = PayloadReadings(clock, "pms5003", prefix="pms5003")

    class FakePort:  # what the view and the summary read of a SerialPayload
        connected = False
        last_error = "device reports readiness to read but returned no data"

        def __init__(self):
            self.decoder = type("Dec", (), {})()
            self.decoder.frames = {"data": 4}
            self.decoder.bad = {"bad checksum": 1, "garbage": 2}

        def stats(self):
            return {"frames": self.decoder.frames, "bad": self.decoder.bad}

    rec.add_payload("pms5003:/dev/x", FakePort(), conv, "pms5003")
    conv.push([Stamped(5_000_000, Frame(0, 32, "data", {"PM2.5": 4.0}))])
    snap = snapshot(rec)
    p = snap["payloads"][0]
    assert (p["frames"], p["bad_frames"], p["clock_ready"], p["waiting"]) == (4, 3, False, 1)
    assert "pms5003:/dev/x DOWN 4 frames 3 bad clock waiting" in status_line(snap)
    clock.observe(1, 4_000_000, 1000.0)
    clock.observe(1, 5_500_000, 2500.0)
    assert payload_status(rec)[0]["clock_ready"]
    from rich.console import Console

    from dronesense.live.view import render
    console = Console(record=True, width=120)
    console.print(render(snapshot(rec)))
    assert "serial payloads" in console.export_text()
    rec.close()


@pytest.mark.slow
def test_listen_pairs_serial_payload_from_simulator(start_sim, tmp_path):
    plan = write_mission(tmp_path)
    toml = tmp_path / "line.toml"  # the autopilot reports PM2.5 too: same plain name
    toml.write_text(toml.read_text().replace('name = "PMV"', 'name = "PM2.5"'))
    truth = tmp_path / "truth.csv"
    port = free_port()
    sim = start_sim("--mission", plan, "--connect", f"udpout:127.0.0.1:{port}",
                    "--speedup", "4", "--seed", "5", "--truth", truth,
                    "--serial-payload", "pms5003:pty", "--quiet")
    line = sim.stderr.readline()
    assert line.startswith("firmware-sim: serial payload pms5003 on "), line
    device = line.split(" on ")[1].strip()
    out = tmp_path / "session"
    # the simulator's vehicle clock runs 4x (not 8x: see test_payload_sim's tolerance): the
    # receive clock must estimate the rate;
    # a pty has no line speed, so nothing is subtracted for a frame's air time
    listener = start_listener(out, port, "--payload", f"pms5003:{device}",
                              "--payload-rate", "auto", "--payload-latency", "0")
    sim.wait(timeout=120)
    assert sim.returncode == 0
    code, _, err = stop(listener)
    assert code == 0, err

    rows = read_journal(out)
    serial = [r for r in rows if r.name == "pms5003.PM2.5"]
    autopilot = [r for r in rows if r.name == "PM2.5"]
    assert serial and autopilot
    assert {r.quantity for r in serial + autopilot} == {"pm2p5"}
    assert {r.name for r in rows} >= {"pms5003.PM1", "pms5003.PM10"}

    tr = list(csv.DictReader(open(truth)))
    s_truth = [r for r in tr if r["sensor"] == "pms5003" and r["name"] == "PM2.5"]
    t_true = np.array([float(r["time_boot_ms"]) for r in s_truth])
    # every serial reading the listener journalled, in read order (paired or not)
    which = match_truth([(r.time_boot_ms, r.value)
                         for _, r, _ in read_payload_journal(out / "payload.csv")
                         if r.name == "pms5003.PM2.5"], s_truth)
    dt, err_m = [], []
    for row in serial:
        if row.flag != Flag.PAIRED:
            continue
        k = which[row.time_boot_ms]
        tru = s_truth[k]
        assert float(tru["reported_value"]) == row.value
        dt.append(row.time_boot_ms - t_true[k])
        err_m.append(metres(row.lat, row.lon, row.alt_amsl, float(tru["lat"]),
                            float(tru["lon"]), float(tru["alt_amsl"])))
    dt, err_m = np.array(dt), np.array(err_m)
    print(json.dumps({
        "frames_paired": len(dt), "frames_sent": len(s_truth),
        "time_error_ms": np.percentile(dt, [5, 50, 95]).round(1).tolist(),
        "position_error_m": np.percentile(err_m, [50, 90, 100]).round(2).tolist(),
    }))
    assert len(dt) >= 0.7 * len(s_truth)
    assert abs(np.median(dt)) < 60.0
    assert np.median(err_m) < 1.0 and np.percentile(err_m, 90) < 2.5

    doc = json.loads((out / "session.json").read_text())
    pl = doc["payloads"][f"pms5003:{device}"]
    assert pl["bad"].get("bad checksum", 0) == 0 and pl["readings"] == 3 * len(serial)
    assert pl["port_errors"] >= 1  # the pty went away with the simulator: reported
    assert doc["payloads"]["receive_clock"]["vehicles"]["1"]["ready"]
    # replay equals live, serial readings included
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    cli = subprocess.run([str(BIN), "replay", str(out)], capture_output=True, text=True)
    assert cli.returncode == 0 and "identical" in cli.stdout, cli.stderr
