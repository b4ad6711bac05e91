"""The command line: help, bad input (one line, non-zero exit, no traceback), tlog speed."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.paths import MISSIONS, ROOT, sim_cmd


def run(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(sim_cmd(*args), capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_help_documents_faults():
    r = run("--help")
    assert r.returncode == 0
    for word in ("loss=P", "reboot=T", "gpsloss=A:B", "clock=S", "--tlog", "--truth"):
        assert word in r.stdout


def _plan_with(tmp_path, mutate) -> str:
    doc = json.loads((MISSIONS / "pm-profile.plan").read_text())
    mutate(doc)
    p = tmp_path / "bad.plan"
    p.write_text(json.dumps(doc))
    (tmp_path / "bad.toml").write_text((MISSIONS / "pm-profile.toml").read_text())
    return str(p)


def _unknown_item(doc):
    doc["mission"]["items"][2]["command"] = 31337


@pytest.mark.parametrize("case", ["unknown-item", "bad-json", "bad-toml", "missing-field",
                                  "unreachable", "no-device", "bad-fault"])
def test_bad_input_one_line_error(tmp_path, tcp_port, case):
    plan = str(MISSIONS / "pm-profile.plan")
    extra: list[str] = ["--connect", "none", "--truth", str(tmp_path / "t.csv")]
    name = "pm-profile"
    if case == "unknown-item":
        plan = _plan_with(tmp_path, _unknown_item)
        name = "31337"
    elif case == "bad-json":
        plan = str(tmp_path / "x.plan")
        (tmp_path / "x.plan").write_text('{"fileType": "Plan", "mission": {')
        name = "x.plan"
    elif case == "bad-toml":
        (tmp_path / "f.toml").write_text("[site\nground = 1")
        extra += ["--field", str(tmp_path / "f.toml")]
        name = "f.toml"
    elif case == "missing-field":
        (tmp_path / "f.toml").write_text("[site]\nlat = 1.0\n")
        extra += ["--field", str(tmp_path / "f.toml")]
        name = "ground_alt_amsl"
    elif case == "unreachable":
        extra = ["--connect", f"tcp:127.0.0.1:{tcp_port}"]
        name = f"tcp:127.0.0.1:{tcp_port}"
    elif case == "no-device":
        extra = ["--connect", "/dev/does-not-exist"]
        name = "/dev/does-not-exist"
    elif case == "bad-fault":
        extra += ["--fault", "loss=2"]
        name = "loss=2"
    r = run("--mission", plan, *extra)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and name in lines[0]


def test_fast_tlog_output(tmp_path):
    """--speedup 0 writes a long tlog that pymavlink reads back whole, record for record."""
    from pymavlink import mavutil

    tlog = tmp_path / "big.tlog"
    r = run("--mission", MISSIONS / "plume-box.plan", "--connect", "none", "--speedup", "0",
            "--tlog", tlog, "--repeat", "3")
    assert r.returncode == 0, r.stderr
    summary = r.stderr.strip().splitlines()[-1]
    messages = int(summary.split(" messages")[0].rsplit(" ", 1)[1])
    data = tlog.read_bytes()
    assert data[8] == 0xFD  # MAVLink 2 after the first 8-byte stamp
    log = mavutil.mavlink_connection(str(tlog))
    read = 0
    while log.recv_msg() is not None:
        read += 1
    assert read == messages
    assert log.mav.total_receive_errors == 0


def test_python_module_entry_point():
    r = run("--help")
    assert "firmware-sim" in r.stdout


def test_truth_at_positions_is_the_field_exactly(tmp_path):
    """--truth-at writes the field at the given positions, row for row, every digit kept."""
    import csv

    import numpy as np

    from firmware_sim import load_field

    field = load_field(MISSIONS / "plume-box.toml")
    rng = np.random.default_rng(4)
    lat = 50.9934 + rng.uniform(0, 0.004, 50)
    lon = 6.9877 + rng.uniform(0, 0.006, 50)
    alt = 42.0 + rng.uniform(0, 60, 50)
    points = tmp_path / "points.csv"
    with points.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "lat", "lon", "alt_amsl"])
        w.writerows([f"p{i}", repr(float(a)), repr(float(b)), repr(float(c))]
                    for i, (a, b, c) in enumerate(zip(lat, lon, alt, strict=True)))
    out = tmp_path / "truth.csv"
    r = run("--mission", MISSIONS / "plume-box.plan", "--truth-at", points, out, "--quiet")
    assert r.returncode == 0, r.stderr
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["lat", "lon", "alt_amsl", *field.quantities]
    for q in field.quantities:
        got = np.array([float(row[q]) for row in rows])
        assert np.array_equal(got, field.evaluate(q, lat, lon, alt))
    assert max(float(row["ch4"]) for row in rows) > 1.95  # some points are in the plume
    # the field alone is enough, no mission needed
    r = run("--field", MISSIONS / "plume-box.toml", "--truth-at", points, out)
    assert r.returncode == 0 and "50 positions" in r.stderr


@pytest.mark.parametrize(("text", "name"), [("lat,lon\n1,2\n", "alt_amsl"),
                                            ("lat,lon,alt_amsl\n1,x,3\n", "line 2"),
                                            ("lat,lon,alt_amsl\n1,nan,3\n", "finite")])
def test_truth_at_bad_points_one_line_error(tmp_path, text, name):
    points = tmp_path / "points.csv"
    points.write_text(text)
    r = run("--mission", MISSIONS / "plume-box.plan", "--truth-at", points, tmp_path / "o.csv")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and name in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_truth_at_needs_a_mission_or_field(tmp_path):
    r = run("--truth-at", tmp_path / "p.csv", tmp_path / "o.csv")
    assert r.returncode == 2 and "--mission" in r.stderr


def test_stream_intervals_set_the_telemetry_rates(tmp_path):
    """``--stream NAME=MS`` sets one stream's interval (0 = off): counted in the tlog."""
    from collections import Counter

    from pymavlink import mavutil

    tlog = tmp_path / "f.tlog"
    r = run("--mission", MISSIONS / "pm-profile.plan", "--connect", "none", "--speedup", "0",
            "--tlog", tlog, "--max-time", "60", "--quiet",
            "--stream", "ATTITUDE=0", "--stream", "global_position_int=500")
    assert r.returncode == 0, r.stderr
    conn = mavutil.mavlink_connection(str(tlog))
    counts: Counter = Counter()
    while (msg := conn.recv_msg()) is not None:
        counts[msg.get_type()] += 1
    assert counts["ATTITUDE"] == 0
    assert 100 <= counts["GLOBAL_POSITION_INT"] <= 125          # 2 Hz over 60 s
    assert counts["HEARTBEAT"] >= 55                             # the others as before


@pytest.mark.parametrize("bad", ["ATTITUDE", "NOSUCH=10", "ATTITUDE=-1", "ATTITUDE=fast"])
def test_stream_refuses_bad_values(bad):
    r = run("--mission", MISSIONS / "pm-profile.plan", "--connect", "none", "--tlog",
            "/dev/null", "--stream", bad)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--stream" in r.stderr and "Traceback" not in r.stderr
