"""``firmware-sim --ulog``: the flight as the autopilot's PX4 ULog, read by pyulog, paired by
dronesense exactly like the same flight's telemetry log, and checked against the truth."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import numpy as np
import pytest
from pyulog import ULog

from dronesense.flight.postflight import pair_logs
from firmware_sim import SimConfig, Simulation
from tests.support.paths import MISSIONS, ROOT, sim_cmd


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """One simulated flight written as tlog, ULog and truth (same run, same seed)."""
    out = tmp_path_factory.mktemp("ulog")
    r = subprocess.run(sim_cmd("--mission", MISSIONS / "pm-profile.plan", "--connect", "none",
                               "--speedup", "0", "--seed", "5", "--quiet",
                               "--tlog", out / "f.tlog", "--ulog", out / "f.ulg",
                               "--truth", out / "truth.csv"),
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


def test_pyulog_reads_every_message(flight):
    u = ULog(str(flight / "f.ulg"))
    assert not u.file_corruption
    counts = {d.name: len(d.data["timestamp"]) for d in u.data_list}
    with open(flight / "truth.csv") as fh:
        truth = list(csv.DictReader(fh))
    assert counts["debug_key_value"] == len(truth)
    assert counts["home_position"] == 1
    assert counts["vehicle_global_position"] > 2000 and counts["vehicle_gps_position"] > 1000
    gps = u.get_dataset("vehicle_gps_position").data
    assert (gps["time_utc_usec"] > 0).all()
    assert (np.diff(gps["timestamp"].astype(np.int64)) > 0).all()
    assert u.initial_parameters["MAV_SYS_ID"] == 1


def test_ulog_logs_every_wind_report_of_the_tlog(flight):
    """Every WIND the autopilot sends is a ``wind`` record (PX4 1.13+ topic) at the same
    vehicle time: the vector the air moves along, so speed and the direction it comes from
    are those of the WIND message (float32 on both sides)."""
    from dronesense.sources.wind import read_wind_reports

    tlog = read_wind_reports(flight / "f.tlog")
    wind = ULog(str(flight / "f.ulg"), ["wind"]).get_dataset("wind").data
    assert len(tlog) > 100 and wind["timestamp"].size == len(tlog)
    north = wind["windspeed_north"].astype(float)
    east = wind["windspeed_east"].astype(float)
    np.testing.assert_allclose(np.hypot(north, east), tlog.speed, rtol=1e-6)
    direction = np.degrees(np.arctan2(-east, -north)) % 360.0
    np.testing.assert_allclose(direction, tlog.direction, atol=1e-4)
    assert (wind["variance_north"] == 0).all() and (wind["variance_east"] == 0).all()


def test_ulog_pairs_like_the_tlog_and_the_truth(flight):
    from_ulog, _ = pair_logs([flight / "f.ulg"])
    from_tlog, _ = pair_logs([flight / "f.tlog"])
    assert len(from_ulog) == len(from_tlog) > 1000
    for a, b in zip(from_ulog, from_tlog, strict=True):
        assert (a.name, a.time_boot_ms, a.value, a.flag) == (b.name, b.time_boot_ms, b.value,
                                                              b.flag)
        assert a.time_utc == b.time_utc and a.time_source == b.time_source == "sync"
        if a.flag == 0:
            assert abs(a.lat - b.lat) <= 1e-7 and abs(a.lon - b.lon) <= 1e-7
            assert abs(a.alt_amsl - b.alt_amsl) < 1e-6
            # a ULog has no relative altitude: alt - home, each rounded to mm on the wire
            assert abs(a.height - b.height) < 1.5e-3
    with open(flight / "truth.csv") as fh:
        truth = {(r["name"], int(r["time_boot_ms"])): r for r in csv.DictReader(fh)}
    paired = [a for a in from_ulog if a.flag == 0]
    assert len(paired) >= 0.99 * len(from_ulog)
    worst = 0.0
    for a in paired:
        t = truth[(a.name, int(a.time_boot_ms))]
        # NAMED_VALUE_FLOAT and debug_key_value carry a float32: its shortest decimal
        assert a.value == float(str(np.float32(float(t["reported_value"]))))
        assert a.time_utc == t["time_utc"]
        dn = (a.lat - float(t["lat"])) * 111_195.0
        de = (a.lon - float(t["lon"])) * 111_195.0 * math.cos(math.radians(a.lat))
        worst = max(worst, math.hypot(dn, de), abs(a.height - float(t["height"])))
    assert worst < 0.5  # metres: interpolation between 10 Hz fixes


def test_cli_pair_of_the_ulog(flight, tmp_path):
    out = tmp_path / "s.csv"
    r = subprocess.run([sys.executable, "-m", "dronesense", "pair", str(flight / "f.ulg"),
                        "--out", str(out), "--quiet"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "f.ulg" in r.stdout and "paired fraction" in r.stdout
    with open(out) as fh:
        assert len(list(csv.DictReader(fh))) > 1000


def test_link_faults_do_not_reach_the_onboard_log(tmp_path):
    sim = Simulation(SimConfig(mission=MISSIONS / "pm-profile.plan", connect=None, speedup=0,
                               seed=2, tlog=tmp_path / "f.tlog", ulog=tmp_path / "f.ulg",
                               faults=["loss=0.3"], max_time=60))
    res = sim.run()
    u = ULog(str(tmp_path / "f.ulg"), ["vehicle_global_position", "debug_key_value"])
    counts = {d.name: len(d.data["timestamp"]) for d in u.data_list}
    assert counts["vehicle_global_position"] == res.counts["GLOBAL_POSITION_INT"]
    assert counts["debug_key_value"] == res.counts["NAMED_VALUE_FLOAT"]
    assert res.faults.get("loss", 0) > 0


@pytest.mark.parametrize("command", ["grid", "export", "campaign"])
def test_every_command_taking_samples_reads_the_ulog(flight, tmp_path, command, capsys):
    from dronesense.cli.main import main

    log = str(flight / "f.ulg")
    argv = {"grid": ["grid", log, "-q", "pm2p5", "--spacing", "10,10,5", "-o",
                     str(tmp_path / "g.nc")],
            "export": ["export", log, "--out", str(tmp_path / "s.geojson")],
            "campaign": ["campaign", log, log, "-q", "pm2p5", "--spacing", "10,10,5",
                         "-o", str(tmp_path / "c.nc")]}[command]
    assert main(argv) == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out


def test_flux_and_plot_of_a_ulog_say_what_is_missing(flight, capsys):
    """``flux`` takes the wind from the ULog's own ``wind`` topic, as from the tlog's WIND,
    and so fails on this vertical profile for the same reason as on its tlog: no curtain."""
    from dronesense.cli.main import main

    log = str(flight / "f.ulg")
    for path in (log, str(flight / "f.tlog")):
        assert main(["flux", path, "-q", "pm2p5"]) == 2
        err = capsys.readouterr().err.strip()
        assert "error: the samples do not move along a line: not a curtain flight" in err
        assert len(err.splitlines()) == 1
    assert main(["plot", log]) == 2
    err = capsys.readouterr().err.strip()
    assert "a flight log, not a grid" in err and len(err.splitlines()) == 1


def test_a_reboot_starts_a_new_log(tmp_path):
    Simulation(SimConfig(mission=MISSIONS / "pm-profile.plan", connect=None, speedup=0,
                         seed=2, ulog=tmp_path / "f.ulg", faults=["reboot=30"],
                         max_time=60)).run()
    first = ULog(str(tmp_path / "f.ulg"), ["vehicle_global_position"])
    second = ULog(str(tmp_path / "f-boot1.ulg"), ["vehicle_global_position"])
    t1 = first.get_dataset("vehicle_global_position").data["timestamp"]
    t2 = second.get_dataset("vehicle_global_position").data["timestamp"]
    assert t1[-1] <= 30_000_000 and t2[0] < 1_000_000  # the new boot's clock starts again
    assert (np.diff(t1.astype(np.int64)) > 0).all() and (np.diff(t2.astype(np.int64)) > 0).all()


def test_corrupt_bytes_lose_only_about_a_second(flight, tmp_path):
    """The writer puts a sync message in every second, so pyulog reads on after corruption."""
    from dronesense.sources.logs import load_events

    data = bytearray((flight / "f.ulg").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 500] = np.random.default_rng(1).integers(0, 256, 500,
                                                                  dtype=np.uint8).tobytes()
    (tmp_path / "bad.ulg").write_bytes(bytes(data))
    rows, _ = pair_logs([tmp_path / "bad.ulg"])
    good, _ = pair_logs([flight / "f.ulg"])
    assert len(good) - 30 <= len(rows) < len(good)
    assert any("corrupt" in n for n in load_events(tmp_path / "bad.ulg").notes)
