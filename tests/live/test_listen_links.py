"""`dronesense listen` end to end over TCP (both ways), a serial pty, and a UDP relay.

Also: ``--until-landed``, ``--request-streams`` (the only case the listener transmits),
reboot detection against a payload that stamps its readings late, and the rich view.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pandas as pd
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import Framer, TlogReader
from dronesense.sources.link import Chunk
from tests.support.link import ScriptedVehicle, listen
from tests.support.paths import free_port

ROOT = Path(__file__).resolve().parents[2]
SIM = Path(sys.executable).with_name("firmware-sim")
PLAN = ROOT / "missions" / "plume-box.plan"

pytestmark = pytest.mark.slow


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim(tmp: Path, conn: str, *extra: str, speedup: int = 100, max_time: int = 150,
        name: str = "sim") -> tuple[subprocess.Popen, Path, Path]:
    truth, tlog = tmp / f"{name}-truth.csv", tmp / f"{name}.tlog"
    proc = subprocess.Popen(
        [str(SIM), "--mission", str(PLAN), "--connect", conn, "--speedup", str(speedup),
         "--seed", "1", "--truth", str(truth), "--tlog", str(tlog), "--max-time",
         str(max_time), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, truth, tlog


def wait(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    return wait(proc, 30)


def readings_of(truth: Path) -> set:
    t = pd.read_csv(truth)
    return set(zip(t.sysid, t.time_boot_ms, t.name, strict=True))


def check_session(out: Path, truth: Path, sim_tlog: Path, *, complete: bool = True) -> list:
    """Journal vs truth, tlog vs what the simulator sent, replay vs journal."""
    rows = read_journal(out)
    got = {(r.sysid, int(r.time_boot_ms), r.name) for r in rows}
    sent = readings_of(truth)
    ours = [p.raw for p in TlogReader(out / "flight.tlog")]
    theirs = [p.raw for p in TlogReader(sim_tlog)]
    if complete:
        assert got == sent and len(rows) == len(sent)
        assert ours == theirs
    else:  # joined late: what we have is exactly the tail of what was sent
        assert ours and ours == theirs[len(theirs) - len(ours):]
        # and every reading of that tail is journalled (how long the join took is up to
        # the scheduler, so no share of the flight is asserted: a wall-time assumption)
        joined_ms = min(p.msg.time_boot_ms for p in TlogReader(out / "flight.tlog")
                        if p.msg.get_type() == "GLOBAL_POSITION_INT")
        tail = {k for k in sent if k[1] > joined_ms + 1000}
        assert got <= sent and tail and tail <= got
    t = pd.read_csv(truth).set_index(["time_boot_ms", "name"])
    paired = [r for r in rows if r.flag == Flag.PAIRED]
    assert len(paired) > 0.95 * len(rows)
    for r in paired[:: max(1, len(paired) // 200)]:
        true = t.loc[(int(r.time_boot_ms), r.name)]
        assert abs(r.lat - true.lat) < 1e-5 and abs(r.lon - true.lon) < 1e-5  # ~1 m
        assert abs(r.alt_amsl - true.alt_amsl) < 1.0
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    return rows


# -- TCP ------------------------------------------------------------------------------------
def test_tcpin_listener_until_landed_records_the_whole_flight(tmp_path):
    """The sim connects as a TCP client to `listen tcpin:`; --until-landed stops after the
    disarm with every reading of the flight recorded."""
    port = free_tcp_port()
    out = tmp_path / "s"
    lst = listen(f"tcpin:127.0.0.1:{port}", out, "--until-landed")
    proc, truth, tlog = sim(tmp_path, f"tcp:127.0.0.1:{port}", speedup=200, max_time=900)
    code, _, err = wait(proc)
    assert code == 0, err
    code, stdout, err = wait(lst, 60)  # stops by itself
    assert code == 0, err
    assert "stopped: landed" in stdout
    summary = json.loads((out / "session.json").read_text())
    assert summary["stop_reason"] == "landed"
    vehicle = summary["vehicles"]["1"]
    assert vehicle["has_flown"] and vehicle["armed"] is False
    check_session(out, truth, tlog)


def test_tcp_client_to_sim_tcpin(tmp_path):
    """`listen tcp:` to a simulator serving `tcpin:` (it may join after the first packets)."""
    port = free_tcp_port()
    out = tmp_path / "s"
    # the listener first, retrying the refused connection every second, so that it joins
    # well before the landing (--until-landed needs the flight); the simulator does not wait
    # for it, so the first packets may still be missed
    lst = listen(f"tcp:127.0.0.1:{port}", out, "--until-landed")
    proc, truth, tlog = sim(tmp_path, f"tcpin:127.0.0.1:{port}", speedup=100, max_time=900)
    code, _, err = wait(proc)
    assert code == 0, err
    code, stdout, err = wait(lst, 60)
    assert code == 0 and "stopped: landed" in stdout, err
    check_session(out, truth, tlog, complete=False)


# -- serial ---------------------------------------------------------------------------------
class NullModem:
    """Two ptys joined like a null-modem cable: the sim opens one slave, the listener the
    other; bytes the listener sends towards the vehicle are counted."""

    def __init__(self):
        self.fds = []
        self.paths = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            self.fds.append((master, slave))
            self.paths.append(os.ttyname(slave))
        self.to_vehicle = bytearray()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        (ma, _), (mb, _) = self.fds
        while not self._stop:
            ready, _, _ = select.select([ma, mb], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    continue
                if fd == ma:
                    os.write(mb, data)
                else:
                    self.to_vehicle += data
                    os.write(ma, data)

    def close(self):
        self._stop = True
        self._thread.join(2)
        for pair in self.fds:
            for fd in pair:
                try:
                    os.close(fd)
                except OSError:
                    pass


def test_serial_radio_over_a_pty(tmp_path):
    modem = NullModem()
    try:
        vehicle_port, ground_port = modem.paths
        out = tmp_path / "s"
        lst = listen(ground_port, out, "--baud", "57600")
        proc, truth, tlog = sim(tmp_path, vehicle_port, "--baud", "57600")
        code, _, err = wait(proc)
        assert code == 0, err
        code, _, err = stop(lst)
        assert code == 0, err
        assert modem.to_vehicle == b""  # passive: not one byte towards the vehicle
    finally:
        modem.close()
    summary = json.loads((out / "session.json").read_text())
    assert summary["bad_bytes"] == 0 and summary["loss_total"] == 0
    check_session(out, truth, tlog)


# -- passive vs --request-streams, through a UDP relay ---------------------------------------
class Relay:
    """A UDP relay between the simulator (udpout to us) and the listener (udpin).

    Counts every datagram the listener sends back. With ``hold_positions`` it drops the
    vehicle's GLOBAL_POSITION_INT until the listener has sent something, and tells the
    simulator to stop streaming positions: a vehicle that streams nothing useful.
    """

    def __init__(self, listener_port: int, hold_positions: bool = False):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.listener = ("127.0.0.1", listener_port)
        self.hold = hold_positions
        self.from_listener: list[bytes] = []
        self.vehicle = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _disable_positions(self):
        mav = mavlink.MAVLink(None, srcSystem=250, srcComponent=190)
        msg = mavlink.MAVLink_command_long_message(
            1, 1, mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, 0,
            mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, -1, 0, 0, 0, 0, 0)
        self.sock.sendto(bytes(msg.pack(mav)), self.vehicle)

    def _run(self):
        while not self._stop:
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            data, addr = self.sock.recvfrom(65535)
            if addr == self.listener:
                self.from_listener.append(data)
                if self.vehicle is not None:
                    self.sock.sendto(data, self.vehicle)
                continue
            if self.vehicle is None:
                self.vehicle = addr
                if self.hold:
                    self._disable_positions()
            if self.hold and not self.from_listener and len(data) > 9 and data[0] == 0xFD \
                    and data[7] == mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT:
                continue
            self.sock.sendto(data, self.listener)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def test_passive_listener_never_transmits(tmp_path):
    port = free_port()
    relay = Relay(port)
    out = tmp_path / "s"
    try:
        lst = listen(f"udpin:127.0.0.1:{port}", out)
        proc, truth, tlog = sim(tmp_path, f"udpout:127.0.0.1:{relay.port}", speedup=50)
        code, _, err = wait(proc)
        assert code == 0, err
        code, _, err = stop(lst)
        assert code == 0, err
        assert relay.from_listener == []
    finally:
        relay.close()
    check_session(out, truth, tlog)


def test_request_streams_is_the_only_transmission(tmp_path):
    port = free_port()
    relay = Relay(port, hold_positions=True)
    out = tmp_path / "s"
    try:
        lst = listen(f"udpin:127.0.0.1:{port}", out, "--request-streams")
        proc, _, _ = sim(tmp_path, f"udpout:127.0.0.1:{relay.port}", speedup=50)
        code, _, err = wait(proc)
        assert code == 0, err
        code, _, err = stop(lst)
        assert code == 0, err
    finally:
        relay.close()
    assert relay.from_listener
    framer = Framer()
    sent = [m for d in relay.from_listener for m in framer.feed(d, final=True).messages]
    assert {m.get_type() for m in sent} == {"REQUEST_DATA_STREAM", "COMMAND_LONG"}
    assert all(m.command == mavlink.MAV_CMD_SET_MESSAGE_INTERVAL
               for m in sent if m.get_type() == "COMMAND_LONG")
    # it stopped asking once positions came: only the first round(s) of requests
    assert len(sent) <= 3 * 4
    rows = read_journal(out)
    assert sum(r.flag == Flag.PAIRED for r in rows) > 0.8 * len(rows) > 0


# -- reboots vs a payload that stamps its readings late --------------------------------------
def _sim_stream(tmp: Path, *faults: str) -> list[bytes]:
    tlog = tmp / f"stream{len(faults)}.tlog"
    cmd = [str(SIM), "--mission", str(PLAN), "--connect", "none", "--speedup", "0", "--seed",
           "1", "--tlog", str(tlog), "--max-time", "120", "--quiet"]
    for f in faults:
        cmd += ["--fault", f]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [p.raw for p in TlogReader(tlog)]


def _with_late_payload(packets: list[bytes], late_ms: int = 5000) -> tuple[list[bytes], int]:
    """Add a payload component (compid 154) reporting each autopilot position time
    ``late_ms`` late, as NAMED_VALUE_FLOAT "LATE"."""
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=154)
    decode = mavlink.MAVLink(None).decode
    out, n = [], 0
    for raw in packets:
        out.append(raw)
        msg = decode(bytearray(raw))
        if msg.get_type() == "GLOBAL_POSITION_INT" and msg.time_boot_ms >= late_ms \
                and msg.time_boot_ms % 500 == 0:
            late = mavlink.MAVLink_named_value_float_message(msg.time_boot_ms - late_ms,
                                                              b"LATE", 1.0)
            out.append(bytes(late.pack(mav)))
            mav.seq = (mav.seq + 1) % 256
            n += 1
    return out, n


def _record(out: Path, packets: list[bytes]) -> dict:
    rec = Recorder(out)
    for k, raw in enumerate(packets):
        rec.feed(Chunk(raw, 1_749_888_000_000_000 + 1000 * k, ("127.0.0.1", 1), True))
    return rec.close()


def test_late_payload_is_no_reboot_but_a_sim_reboot_is(tmp_path):
    plain, n = _with_late_payload(_sim_stream(tmp_path))
    assert n > 50
    summary = _record(tmp_path / "a", plain)
    assert summary["vehicles"]["1"]["reboots"] == 0
    rows = read_journal(tmp_path / "a")
    late = [r for r in rows if r.name == "LATE"]
    assert len(late) == n and {r.boot for r in rows} == {0}
    assert all(r.flag in (Flag.PAIRED, Flag.NO_FIX, Flag.BEFORE_TRACK) for r in late)
    assert sum(r.flag == Flag.PAIRED for r in late) > 0.9 * n
    assert [format_row(r) for r in replay(tmp_path / "a")] == [format_row(r) for r in rows]

    rebooting, _ = _with_late_payload(_sim_stream(tmp_path, "reboot=60"))
    summary = _record(tmp_path / "b", rebooting)
    assert summary["vehicles"]["1"]["reboots"] == 1
    rows = read_journal(tmp_path / "b")
    assert {r.boot for r in rows} == {0, 1}
    late = [r for r in rows if r.name == "LATE"]
    assert sum(r.flag == Flag.PAIRED for r in late) > 0.8 * len(late)
    assert sum(r.flag == Flag.REBOOT for r in rows) <= 2  # only readings cut by the reboot
    assert [format_row(r) for r in replay(tmp_path / "b")] == [format_row(r) for r in rows]


# -- the operator view ---------------------------------------------------------------------
def test_rich_view_shows_the_flight(tmp_path):
    from rich.console import Console

    from dronesense.live.view import LiveView, render, snapshot

    rec = Recorder(tmp_path / "s")
    vehicle = ScriptedVehicle(duration_s=3.0)
    for k, (_, raw) in enumerate(vehicle.packets()):
        rec.feed(Chunk(raw, 1_714_557_600_000_000 + k, ("127.0.0.1", 1), True))
    rec.stats.seq[(1, 1)][2] += 5  # pretend 5 packets were lost on the way
    snap = snapshot(rec)
    console = Console(record=True, width=160, color_system=None)
    console.print(render(snap))
    text = console.export_text()
    assert "link UP" in text
    assert f"{snap['rate']:.0f} msg/s" in text and snap["rate"] > 0
    assert f"loss {snap['loss']:.2%}" in text and snap["loss"] > 0
    assert "ARMED" in text and " GUIDED " in text  # armed, ArduCopter mode 4 by name
    v = snap["vehicles"][0]
    assert f"{v['lat']:.6f}" in text and f"{v['lon']:.6f}" in text
    assert f"{v['height']:.1f}" in text
    last_value = vehicle.readings[-1][2]
    assert "ch4" in text and f"{last_value:.4g}" in text and "ppm" in text and "1e-6" not in text
    assert f"samples {rec.journal.rows}" in text and rec.journal.rows > 0
    # the live view draws the same panel on its console
    console = Console(record=True, width=160, color_system=None, force_terminal=True)
    with LiveView(console=console) as view:
        view.update(rec)
    assert "vehicle 1" in console.export_text()
    rec.close()


def test_two_vehicles_sharing_a_system_id_are_reported(tmp_path):
    """Two autopilots both at sysid 1: boot time flips between clocks; the operator is told."""
    from rich.console import Console

    from dronesense.live.view import render, snapshot, status_line

    a = ScriptedVehicle(sysid=1, duration_s=3.0).packets()
    b = ScriptedVehicle(sysid=1, duration_s=3.0, start_ms=600_000.0).packets()
    mixed = [p for pair in zip(a, b, strict=False) for p in pair]
    rec = Recorder(tmp_path / "s")
    for k, (_, raw) in enumerate(mixed):
        rec.feed(Chunk(raw, 1_714_557_600_000_000 + k, ("127.0.0.1", 1), True))
    snap = snapshot(rec)
    assert snap["warnings"] and "share this system id" in snap["warnings"][0]
    assert "WARNING system id 1" in status_line(snap)
    console = Console(record=True, width=200, color_system=None)
    console.print(render(snap))
    assert "share this system id" in console.export_text()
    summary = rec.close()
    assert summary["warnings"] == snap["warnings"]


def test_one_vehicle_with_a_real_reboot_gives_no_warning(tmp_path):
    from dronesense.live.view import snapshot

    a = ScriptedVehicle(sysid=1, duration_s=3.0, start_ms=600_000.0).packets()
    b = ScriptedVehicle(sysid=1, duration_s=3.0).packets()  # rebooted: boot time restarts
    rec = Recorder(tmp_path / "s")
    for k, (_, raw) in enumerate(a + b):
        rec.feed(Chunk(raw, 1_714_557_600_000_000 + k, ("127.0.0.1", 1), True))
    assert rec.pairer.states[1].reboots == 1
    assert snapshot(rec)["warnings"] == []
    assert rec.close()["warnings"] == []
