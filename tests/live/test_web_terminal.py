"""The terminal view: warnings panel, battery and mission, ages and peaks, the no-data hint,
and no identical repeated lines without a terminal. Fed with a firmware-sim flight (15 s of
GPS loss) packet by packet, as the listener feeds it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pymavlink import mavutil

from dronesense.live.recorder import Recorder
from dronesense.live.view import LineView, render, snapshot, status_line
from dronesense.live.web.watch import VehicleWatch
from dronesense.samples.journal import read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Chunk, Link
from tests.support.sim import plume_box_log


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    return plume_box_log(tmp / "sim.tlog", seed=2, max_time=80, gps_loss=(30, 45))


def _feed(tlog, out, watch, until=None):
    rec = Recorder(out)
    watch.lookup = rec.pairer.lookup
    for k, p in enumerate(TlogReader(tlog)):
        if until is not None and k >= until:
            break
        chunk = Chunk(p.raw, p.recv_us, ("127.0.0.1", 1), True)
        rec.feed(chunk)
        watch(chunk)
    return rec


def test_panel_shows_battery_mission_peaks_and_gps_loss(flight, tmp_path):
    watch = VehicleWatch()
    rec = _feed(flight, tmp_path / "s", watch)
    snap = snapshot(rec, None, watch)
    # truth: the simulator's own last SYS_STATUS and MISSION_CURRENT
    log = mavutil.mavlink_connection(str(flight))
    sys_status = mission = None
    while (m := log.recv_match(type=["SYS_STATUS", "MISSION_CURRENT"])) is not None:
        if m.get_type() == "SYS_STATUS":
            sys_status = m
        else:
            mission = m
    v = snap["vehicles"][0]
    assert v["battery"]["remaining"] == sys_status.battery_remaining
    assert v["battery"]["voltage"] == pytest.approx(sys_status.voltage_battery / 1000)
    assert v["mission"]["seq"] == mission.seq
    rec.close()
    rows = read_journal(tmp_path / "s")
    ch4 = [r.value for r in rows if r.quantity == "ch4"]
    peak = next(q["peak"] for q in snap["values"] if q["quantity"] == "ch4")
    assert peak == pytest.approx(max(ch4), rel=1e-6)
    nofix = sum(r.flag == 4 for r in rows)
    assert nofix > 0
    assert f"GPS loss: {nofix} reading(s) without GPS fix (flag 4)" in snap["alerts"]
    from rich.console import Console

    console = Console(record=True, width=220, color_system=None)
    console.print(render(snap))
    text = console.export_text()
    assert "warnings" in text and "GPS loss" in text
    assert f"{sys_status.battery_remaining}%" in text and "peak" in text
    assert f"battery {sys_status.battery_remaining}%" in status_line(snap)


def test_gps_loss_now_reboot_and_stale_values(flight, tmp_path):
    watch = VehicleWatch()
    packets = list(TlogReader(flight))
    # stop in the middle of the GPS loss: the last fix has no solution
    lost = next(k for k, p in enumerate(packets)
                if p.msg.get_type() == "GLOBAL_POSITION_INT" and p.msg.time_boot_ms > 35_000)
    rec = _feed(flight, tmp_path / "s", watch, until=lost + 1)
    snap = snapshot(rec, None, watch)
    assert any(a.startswith("GPS loss: vehicle 1 has no GNSS fix") for a in snap["alerts"])
    for key in watch.changed:
        watch.changed[key] -= 30.0  # as if no new value had come for 30 s
    snap = snapshot(rec, None, watch)
    assert any(a.startswith("stale data: no new value for ch4 (30 s)") for a in snap["alerts"])
    rec.close()


def test_silent_link_gives_a_hint_and_no_repeated_lines(tmp_path):
    link = Link("udpin:127.0.0.1:0")
    watch = VehicleWatch()
    rec = Recorder(tmp_path / "s")
    out = io.StringIO()
    view = LineView(interval_s=0.0, stream=out, watch=watch, quiet_s=1e9)
    try:
        for _ in range(20):
            view.update(rec, link)
        watch.started -= 10.0  # 10 s without a packet
        for _ in range(20):
            view.update(rec, link)
        snap = snapshot(rec, link, watch)
    finally:
        link.close()
        rec.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"listening on {link.conn}, recording to {tmp_path / 's'}"
    assert len(lines) == 3 and len(set(lines)) == 3      # printed only when it changed
    assert f"nothing received on {link.conn}" in lines[2] and "firewall" in lines[2]
    assert lines[2].startswith("0:00:1")                  # elapsed time first
    assert snap["where"] == link.conn and snap["out"] == str(tmp_path / "s")
    assert snap["elapsed_s"] == pytest.approx(10.0, abs=5.0)
    assert np.isfinite(snap["elapsed_s"])
