"""End to end against firmware_sim over loopback UDP: upload, download, fly, reject."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil

from dronesense.cli.main import main
from dronesense.geo import LocalFrame
from dronesense.missions import patterns, plan, waypoints
from dronesense.missions.items import Home, Mission, MissionItem
from dronesense.missions.protocol import MissionClient, MissionRejected
from tests.support.paths import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FIELD = ROOT / "missions" / "plume-box.toml"
HOME = Home(50.9934, 6.9877, 42.0)  # the field's site: the simulator's home below
SIM_DEFAULT_RADIUS = 2.0  # firmware_sim's WPNAV_RADIUS when an item gives 0




@contextmanager
def simulator(tmp_path: Path, *extra: str, speedup: float = 200, timeout: float = 0.5):
    """firmware_sim waiting for MAV_CMD_MISSION_START, with a one-level start mission."""
    start = tmp_path / "start.plan"
    plan.write(patterns.vertical_profile(HOME, [10]), start)
    port = free_port()
    track = tmp_path / "track.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim", "--mission", str(start), "--field", str(FIELD),
         "--connect", f"udpin:127.0.0.1:{port}", "--speedup", str(speedup),
         "--wait-for-start", "--track", str(track), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=255)
    try:
        client = MissionClient(conn, timeout=timeout, retries=6, where=f"udpout:127.0.0.1:{port}")
        client.connect(timeout=20)
        yield client, proc, track, f"udpout:127.0.0.1:{port}"
    finally:
        conn.close()
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=10)


def _small_patterns() -> dict[str, Mission]:
    return {
        "box": patterns.box_survey(HOME, patterns.rectangle(50.9945, 6.9895, 80, 40),
                                   layers=[15, 25], spacing=20, wind_from=240, speed=8),
        "profile": patterns.vertical_profile(HOME, [10, 25, 40], hold=2, descend=True,
                                             point=(50.9937, 6.9880), end="land"),
        "curtain": patterns.curtain(HOME, (50.9934, 6.9877), wind_from=240, distance=80,
                                    width=60, min_height=10, max_height=30,
                                    vertical_spacing=10, speed=8, acceptance=3),
        "orbit": patterns.stack_orbit(HOME, (50.9938, 6.9884), heights=[20, 30], radii=[15],
                                      max_chord=12, frame="amsl"),
    }


def test_upload_then_download_equals_original(tmp_path):
    missions = [*_small_patterns().values(),
                Mission(HOME, [MissionItem.takeoff(HOME, 10),
                               MissionItem.from_params(16, 10,
                                                       [1.5, 0, 0, 0, 50.9941, 6.988, 12.34]),
                               MissionItem(177, 2, (2, 1, 0, 0), autocontinue=False),
                               MissionItem.return_to_launch()])]
    with simulator(tmp_path, "--fault", "loss=0.05", timeout=0.25) as (client, *_):
        for m in missions:
            client.upload(m)
            back = client.download()
            assert back.items == m.items
            assert back.home == HOME


def test_unchanged_yaw_nan_is_accepted_like_ardupilot(tmp_path):
    """QGC sends NaN yaw ("unchanged"); the vehicle accepts it and flies it as 0."""
    nan = float("nan")
    wp = MissionItem.from_params(16, 3, [0, 2, 0, nan, 50.9941, 6.988, 20.0])
    m = Mission(HOME, [MissionItem.takeoff(HOME, 10), wp, MissionItem.return_to_launch()])
    with simulator(tmp_path, timeout=0.25) as (client, *_):
        client.upload(m)
        back = client.download()
    assert back.items[1].params[3] == 0.0
    assert back.items[1].lat == pytest.approx(50.9941)
    assert back.items[1].frame == 3


@pytest.mark.parametrize("name", list(_small_patterns()))
def test_simulator_flies_pattern(tmp_path, name):
    mission = _small_patterns()[name]
    with simulator(tmp_path) as (client, proc, track, _):
        client.upload(mission)
        client.start()
        proc.wait(timeout=60)
    with open(track) as f:
        rows = list(csv.DictReader(f))
    frame = LocalFrame(HOME.lat, HOME.lon, 0.0)
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    e, n, _ = frame.forward(lat, lon, np.zeros_like(lat))
    up = np.array([float(r["height"]) for r in rows])
    k = 0
    for seq, item in mission.positions():
        if item.name != "NAV_WAYPOINT":
            continue
        we, wn, _ = frame.forward(item.lat, item.lon, 0.0)
        d = np.sqrt((e[k:] - we) ** 2 + (n[k:] - wn) ** 2 + (up[k:] - item.height(HOME)) ** 2)
        radius = (item.params[1] or SIM_DEFAULT_RADIUS) + 0.5
        hits = np.flatnonzero(d <= radius)
        assert hits.size, (f"{name}: item {seq + 1} never reached (closest "
                           f"{d.min():.1f} m after the previous waypoint)")
        k += int(hits[0])  # waypoints are passed in order
    assert up[-1] < 0.5  # landed


def test_rejected_upload_is_a_clear_error(tmp_path, capsys):
    bad = Mission(HOME, [MissionItem.takeoff(HOME, 10), MissionItem(31337, 2)])
    path = tmp_path / "bad.waypoints"
    waypoints.write(bad, path)
    with simulator(tmp_path) as (client, _, _, conn):
        with pytest.raises(MissionRejected, match="MAV_MISSION_UNSUPPORTED"):
            client.upload(bad)
        # the CLI refuses before sending anything unless the target is 'any'
        assert main(["mission", "upload", conn, str(path), "--timeout", "0.5"]) == 2
        assert "command 31337 is not supported by ardupilot" in capsys.readouterr().err
        assert main(["mission", "upload", conn, str(path), "--target", "any",
                     "--timeout", "0.5"]) == 2
        err = capsys.readouterr().err
        assert "vehicle rejected the mission upload: MAV_MISSION_UNSUPPORTED" in err
        assert err.count("\n") == 1


def test_cli_upload_start_download(tmp_path, capsys):
    src = tmp_path / "box.plan"
    plan.write(_small_patterns()["box"], src)
    out = tmp_path / "onboard.waypoints"
    with simulator(tmp_path) as (_, proc, _, conn):
        assert main(["mission", "upload", conn, str(src), "--start"]) == 0
        assert "mission started" in capsys.readouterr().out
        assert main(["mission", "download", conn, str(out)]) == 0
        proc.wait(timeout=60)
    assert waypoints.read(out).items == plan.read(src).items
