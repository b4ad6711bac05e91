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
