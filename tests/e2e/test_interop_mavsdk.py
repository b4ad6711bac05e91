"""Interoperability with MAVSDK, a third-party ground-station library (MAVSDK's C++ core).

The python package ``mavsdk`` >= 4 calls the C++ library in-process (no ``mavsdk_server``
process, no gRPC); ``mavsdk.asyncio`` is its asyncio API. MAVSDK connects on
``udpin://127.0.0.1:PORT`` and the simulator sends to it with ``--connect udpout:...``, as
ArduPilot SITL does. What MAVSDK sees is checked against the simulator's own truth files
(``--track``, ``--truth``) and the ``.plan`` read with plain json.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mavsdk.asyncio", reason="needs mavsdk>=4 (pip install 'mavsdk>=4')")

from mavsdk.asyncio import Autopilot, ComponentType, Configuration, Mavsdk, Vehicle
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
from mavsdk.asyncio.plugins.mission_raw import MissionItem, MissionRawAsync
from mavsdk.asyncio.plugins.telemetry import (
    FlightMode,
    LandedState,
    TelemetryAsync,
)

pytestmark = pytest.mark.slow

#: hang guard for one whole scenario (not a timing assertion: runs take a few seconds)
GUARD_S = 90.0
#: plain frames MAVSDK gets back for the deprecated *_INT frames of a .plan
PLAIN_FRAME = {5: 0, 6: 3, 11: 10}


def run(coro):
    """Run one scenario on a fresh event loop, with a generous hang guard."""
    return asyncio.run(asyncio.wait_for(coro, GUARD_S))


@contextlib.asynccontextmanager
async def ground_station(port: int):
    """A MAVSDK ground station listening on udpin://127.0.0.1:PORT; destroyed on exit."""
    mav = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
    try:
        await mav.add_any_connection(f"udpin://127.0.0.1:{port}")
        yield mav
    finally:
        mav.destroy()


async def autopilot(mav: Mavsdk):
    system = await mav.first_autopilot(timeout_s=20.0)
    assert system is not None, "MAVSDK did not discover the simulated autopilot"
    return system


def sim_args(plan: Path, port: int, *extra) -> list:
    return ["--mission", plan, "--connect", f"udpout:127.0.0.1:{port}", "--speedup", "20",
            "--quiet", *extra]


def stop_sim(proc) -> None:
    """SIGTERM (the simulator closes its truth files cleanly) and wait."""
    if proc.poll() is None:
        proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def plan_items(plan: Path) -> tuple[list, list[dict]]:
    mission = json.loads(plan.read_text())["mission"]
    return mission["plannedHomePosition"], mission["items"]


def assert_item_equals_plan(got: MissionItem, item: dict) -> None:
    p = [0.0 if v is None else float(v) for v in item["params"]]
    assert got.command == item["command"]
    assert got.frame == PLAIN_FRAME.get(item["frame"], item["frame"])
    assert got.autocontinue == int(item.get("autoContinue", True))
    for k, v in enumerate((got.param1, got.param2, got.param3, got.param4)):
        assert math.isclose(v, 0.0 if math.isnan(p[k]) else p[k], abs_tol=1e-6), (k, got)
    assert got.x == round(p[4] * 1e7) and got.y == round(p[5] * 1e7)
    assert math.isclose(got.z, p[6], abs_tol=1e-4)


# --------------------------------------------------------------------------- telemetry
def test_discovery_telemetry_and_readings_match_truth(start_sim, udp_port, plume_box, tmp_path):
    track, truth = tmp_path / "track.csv", tmp_path / "truth.csv"

    async def scenario():
        async with ground_station(udp_port) as mav:
            proc = start_sim(*sim_args(plume_box, udp_port, "--seed", "3", "--track", track,
                                       "--truth", truth, "--max-time", "300"))
            system = await autopilot(mav)
            assert await system.is_connected()
            assert await system.get_system_id() == 1
            assert await system.autopilot_type() == Autopilot.ARDUPILOT
            assert await system.vehicle_type() == Vehicle.MULTICOPTER
            tel = TelemetryAsync(system)
            direct = MavlinkDirectAsync(system)
            got = {"armed": [], "modes": [], "pos": [], "nvf": []}

            async def armed():
                async for a in tel.subscribe_armed():
                    got["armed"].append(a)
                    if a:
                        return

            async def modes():
                async for m in tel.subscribe_flight_mode():
                    got["modes"].append(m)
                    if m == FlightMode.MISSION:
                        return

            async def positions():
                async for p in tel.subscribe_position():
                    if p.relative_altitude_m > 5.0:  # in flight, where positions change
                        got["pos"].append(p)
                        if len(got["pos"]) >= 40:
                            return

            async def readings():
                async for m in direct.subscribe_message("NAMED_VALUE_FLOAT"):
                    got["nvf"].append((m.system_id, json.loads(m.fields_json)))
                    if len(got["nvf"]) >= 20:
                        return

            await asyncio.gather(armed(), modes(), positions(), readings())
        stop_sim(proc)
        return got

    got = run(scenario())
    assert got["armed"][-1] is True
    assert got["modes"][-1] == FlightMode.MISSION  # ArduCopter AUTO, as MAVSDK names it

    # every position MAVSDK reports is the simulator's true position (1e-7 deg, mm)
    rows = read_csv(track)
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    alt = np.array([float(r["alt_amsl"]) for r in rows])
    height = np.array([float(r["height"]) for r in rows])
    for p in got["pos"]:
        i = int(np.argmin(np.abs(lat - p.latitude_deg) + np.abs(lon - p.longitude_deg)
                          + np.abs(alt - p.absolute_altitude_m) * 1e-5))
        assert abs(lat[i] - p.latitude_deg) < 1.01e-7 and abs(lon[i] - p.longitude_deg) < 1.01e-7
        assert abs(alt[i] - p.absolute_altitude_m) < 2e-3
        assert abs(height[i] - p.relative_altitude_m) < 2e-3
    assert len({p.absolute_altitude_m for p in got["pos"]}) > 10  # taken while climbing

    # every NAMED_VALUE_FLOAT MAVSDK hands over is a row of the truth file
    sent = {(r["name"], int(r["time_boot_ms"])): np.float32(float(r["reported_value"]))
            for r in read_csv(truth)}
    names = set()
    for sysid, f in got["nvf"]:
        assert sysid == 1
        key = (f["name"], int(f["time_boot_ms"]))
        assert key in sent, key
        assert np.float32(f["value"]) == sent[key], (key, f["value"])
        names.add(f["name"])
    assert "CH4" in names


# --------------------------------------------------------------------------- missions
def test_download_returns_loaded_plan(start_sim, udp_port, plume_box):
    async def scenario():
        async with ground_station(udp_port) as mav:
            proc = start_sim(*sim_args(plume_box, udp_port, "--wait-for-start", "--stay"))
            system = await autopilot(mav)
            mission = MissionRawAsync(system)
            downloaded = await mission.download_mission()
            imported = await mission.import_qgroundcontrol_mission(str(plume_box))
            async for a in TelemetryAsync(system).subscribe_armed():
                armed = a
                break
        stop_sim(proc)
        return downloaded, imported.mission_items, armed

    downloaded, imported, armed = run(scenario())
    assert armed is False  # --wait-for-start: on the ground, disarmed
    home, items = plan_items(plume_box)
    assert len(downloaded) == len(items) + 1  # ArduPilot convention: seq 0 is home
    assert [m.seq for m in downloaded] == list(range(len(downloaded)))
    h = downloaded[0]
    assert (h.command, h.frame) == (16, 0)
    assert (h.x, h.y) == (round(home[0] * 1e7), round(home[1] * 1e7))
    assert math.isclose(h.z, home[2], abs_tol=1e-3)
    for got, item in zip(downloaded[1:], items, strict=True):
        assert_item_equals_plan(got, item)
    # MAVSDK's own .plan importer reads the file the way the simulator does
    assert len(imported) == len(downloaded)
    for a, b in zip(imported[1:], downloaded[1:], strict=True):
        assert (a.command, PLAIN_FRAME.get(a.frame, a.frame), a.x, a.y) == \
            (b.command, b.frame, b.x, b.y)
        assert math.isclose(a.z, b.z, abs_tol=1e-4) and math.isclose(a.param2, b.param2)


def test_imported_plan_upload_is_stored(start_sim, udp_port, plume_box, pm_profile):
    async def scenario():
        async with ground_station(udp_port) as mav:
            proc = start_sim(*sim_args(plume_box, udp_port, "--wait-for-start", "--stay"))
            system = await autopilot(mav)
            mission = MissionRawAsync(system)
            imported = (await mission.import_qgroundcontrol_mission(str(pm_profile)))
            await mission.upload_mission(imported.mission_items)
            downloaded = await mission.download_mission()
        stop_sim(proc)
        return downloaded

    downloaded = run(scenario())
    _, items = plan_items(pm_profile)
    plume_home, _ = plan_items(plume_box)
    assert len(downloaded) == len(items) + 1
    # seq 0 stays the vehicle's home (as ArduPilot: an uploaded home item is not taken)
    assert (downloaded[0].x, downloaded[0].y) == (round(plume_home[0] * 1e7),
                                                  round(plume_home[1] * 1e7))
    for got, item in zip(downloaded[1:], items, strict=True):
        assert_item_equals_plan(got, item)


def test_uploaded_mission_is_flown_with_arm_and_start(start_sim, udp_port, plume_box, tmp_path):
    track = tmp_path / "track.csv"
    east_m = 60.0

    async def scenario():
        async with ground_station(udp_port) as mav:
            proc = start_sim(*sim_args(plume_box, udp_port, "--wait-for-start", "--stay",
                                       "--track", track))
            system = await autopilot(mav)
            mission = MissionRawAsync(system)
            action = ActionAsync(system)  # also makes MAVSDK ask for EXTENDED_SYS_STATE
            tel = TelemetryAsync(system)
            home = (await mission.download_mission())[0]
            lat, lon = home.x, home.y
            dlon = round(east_m / (111_319.49 * math.cos(math.radians(lat / 1e7))) * 1e7)
            nan = float("nan")  # QGroundControl sends NaN for "unchanged yaw"
            items = [
                MissionItem(0, 0, 16, 0, 1, 0, 0, 0, 0, lat, lon, home.z, 0),
                MissionItem(1, 3, 22, 1, 1, 0, 0, 0, nan, lat, lon, 10.0, 0),
                MissionItem(2, 3, 16, 0, 1, 0, 2.0, 0, nan, lat, lon + dlon, 10.0, 0),
                MissionItem(3, 3, 20, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
            ]
            await mission.upload_mission(items)
            stored = await mission.download_mission()
            seen = {"armed": [], "in_air": [], "landed": [], "progress": []}

            async def watch(gen, key):
                async for v in gen:
                    if not seen[key] or seen[key][-1] != v:
                        seen[key].append(v)

            watchers = [asyncio.ensure_future(watch(tel.subscribe_in_air(), "in_air")),
                        asyncio.ensure_future(watch(tel.subscribe_landed_state(), "landed")),
                        asyncio.ensure_future(watch(mission.subscribe_mission_progress(),
                                                    "progress"))]
            await action.arm()
            await mission.start_mission()
            async for a in tel.subscribe_armed():  # armed, flies, lands, disarms
                seen["armed"].append(a)
                if not a and True in seen["armed"]:
                    break
            finished = await mission.is_mission_finished()
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        stop_sim(proc)
        return items, stored, seen, finished

    items, stored, seen, finished = run(scenario())
    assert len(stored) == len(items)
    for a, b in zip(stored[1:], items[1:], strict=True):
        assert (a.command, a.frame, a.x, a.y) == (b.command, b.frame, b.x, b.y)
        assert a.z == b.z and a.param2 == b.param2
        assert a.param4 == (0.0 if math.isnan(b.param4) else b.param4)
    assert finished
    assert seen["progress"][-1].current == seen["progress"][-1].total == len(items)
    assert seen["armed"][-1] is False and True in seen["armed"]
    assert True in seen["in_air"] and seen["in_air"][-1] is False
    assert LandedState.IN_AIR in seen["landed"]
    assert seen["landed"][-1] == LandedState.ON_GROUND

    # the simulator's truth: the waypoint was reached within its 2 m acceptance radius
    rows = read_csv(track)
    lat0, lon0 = float(rows[0]["lat"]), float(rows[0]["lon"])
    k = 111_319.49
    best = min(math.dist(((float(r["lon"]) - lon0) * k * math.cos(math.radians(lat0)),
                          (float(r["lat"]) - lat0) * k, float(r["height"])),
                         (east_m, 0.0, 10.0)) for r in rows)
    assert best <= 2.0 + 0.1
    assert max(float(r["height"]) for r in rows) < 15.0 + 0.5  # RTL_ALT 15 m
    assert abs(float(rows[-1]["height"])) < 0.01  # back on the ground
