"""MAVProxy (headless) as a router between the simulator and ``dronesense listen``.

firmware-sim --connect udpout:P1  ->  mavproxy.py --master=udpin:P1 --out=udpout:P2
->  dronesense listen udpin:P2. MAVProxy talks to the vehicle on its own (stream rates,
parameter and mission download, MAVFTP, heartbeats): the simulator must fly on regardless,
and the listener must record every reading behind the router.

MAVProxy is not in the ``dev`` extra (it pulls in vtk and opencv): install it anywhere and
put ``mavproxy.py`` on PATH, or point ``DRONESENSE_MAVPROXY`` at it; otherwise skipped.
"""

from __future__ import annotations

import csv
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import free_port

ROOT = Path(__file__).resolve().parents[2]


def find_mavproxy() -> str | None:
    env = os.environ.get("DRONESENSE_MAVPROXY")
    if env:
        return env if Path(env).exists() else None
    beside = Path(sys.executable).with_name("mavproxy.py")
    return str(beside) if beside.exists() else shutil.which("mavproxy.py")


MAVPROXY = find_mavproxy()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(MAVPROXY is None, reason="mavproxy.py not found (pip install "
                                 "MAVProxy, or set DRONESENSE_MAVPROXY)")]




def short_plan(path: Path) -> None:
    """A QGroundControl .plan: take off to 10 m, fly ~42 m east, land (~40 s simulated)."""
    home = [50.9924241, 6.9895795, 42.0]

    def item(n, cmd, frame, params):
        return {"type": "SimpleItem", "doJumpId": n, "command": cmd, "frame": frame,
                "params": params, "autoContinue": True}

    plan = {"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",
            "geoFence": {"circles": [], "polygons": [], "version": 2},
            "rallyPoints": {"points": [], "version": 2},
            "mission": {"version": 2, "firmwareType": 3, "vehicleType": 2, "cruiseSpeed": 10,
                        "hoverSpeed": 5, "plannedHomePosition": home, "items": [
                            item(1, 22, 3, [0, 0, 0, None, home[0], home[1], 10]),
                            item(2, 16, 3, [0, 2, 0, None, home[0], home[1] + 0.0006, 10]),
                            item(3, 21, 3, [0, 0, 0, None, home[0], home[1] + 0.0006, 0])]}}
    path.write_text(json.dumps(plan, indent=1))


def wait_for_line(proc: subprocess.Popen, text: str, limit_s: float = 60.0) -> list[str]:
    """Read ``proc``'s stdout until a line contains ``text`` (hang guard ``limit_s``)."""
    lines: list[str] = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    end = time.monotonic() + limit_s
    while time.monotonic() < end and proc.poll() is None:
        if sel.select(timeout=0.5):
            line = proc.stdout.readline()
            lines.append(line)
            if text in line:
                return lines
    raise AssertionError(f"{text!r} never printed: {''.join(lines)}")


@pytest.fixture
def procs():
    """Processes started by the test, each in its own session; killed (group) at teardown."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def test_listener_behind_mavproxy_records_every_reading(procs, tmp_path):
    p1, p2 = free_port(), free_port()
    plan = tmp_path / "short.plan"
    short_plan(plan)
    truth, session = tmp_path / "truth.csv", tmp_path / "session"
    listen = subprocess.Popen(
        [sys.executable, "-m", "dronesense", "listen", f"udpin:127.0.0.1:{p2}", "--out",
         str(session), "--until-landed", "--duration", "120", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    procs.append(listen)
    mavproxy = subprocess.Popen(
        [MAVPROXY, f"--master=udpin:127.0.0.1:{p1}", f"--out=udpout:127.0.0.1:{p2}",
         "--daemon", "--non-interactive", "--no-state"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        start_new_session=True)
    procs.append(mavproxy)
    out = wait_for_line(mavproxy, "Waiting for heartbeat")
    sim = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim", "--mission", str(plan), "--field",
         str(ROOT / "missions" / "plume-box.toml"), "--connect", f"udpout:127.0.0.1:{p1}",
         "--speedup", "20", "--seed", "4", "--truth", str(truth), "--max-time", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    procs.append(sim)

    _, sim_err = sim.communicate(timeout=120)
    assert sim.returncode == 0, sim_err  # landed and disarmed despite MAVProxy's traffic
    assert "Traceback" not in sim_err and "1 flight(s)" in sim_err
    listen_out, listen_err = listen.communicate(timeout=60)
    assert listen.returncode == 0, listen_err
    assert "stopped: landed" in listen_out + listen_err
    os.killpg(mavproxy.pid, signal.SIGTERM)
    rest, _ = mavproxy.communicate(timeout=30)
    said = "".join(out) + rest
    assert "Detected vehicle 1:1" in said and "ARMED" in said and "DISARMED" in said

    with open(truth, newline="") as fh:
        sent = {(r["name"], int(r["time_boot_ms"])): r["reported_value"]
                for r in csv.DictReader(fh)}
    with open(session / "samples.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) >= 0.9 * len(sent)  # only readings sent before MAVProxy was up can miss
    for r in got:
        key = (r["name"], int(r["time_boot_ms"]))
        assert key in sent, key
        assert float(r["value"]) == pytest.approx(float(sent[key]), rel=1e-6)
