"""Flight, truth and field behaviour, checked against the simulator's own truth files."""

from __future__ import annotations

import csv
import json
import math
import subprocess

import numpy as np
import pytest

from firmware_sim import SimConfig, Simulation, load_field, load_plan
from firmware_sim.vehicle import VehicleConfig
from tests.support.paths import ROOT, sim_cmd

M = 111319.49


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(sim_cmd(*args), capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


@pytest.mark.parametrize("name", ["plume-box", "pm-profile"])
def test_track_follows_mission(tmp_path, name):
    plan_path = ROOT / "missions" / f"{name}.plan"
    track = tmp_path / "track.csv"
    r = run("--mission", plan_path, "--connect", "none", "--speedup", "0", "--track", track)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(track)))
    t = np.array([int(x["time_boot_ms"]) for x in rows]) / 1000
    lat = np.array([float(x["lat"]) for x in rows])
    lon = np.array([float(x["lon"]) for x in rows])
    h = np.array([float(x["height"]) for x in rows])
    alt = np.array([float(x["alt_amsl"]) for x in rows])
    plan = json.loads(plan_path.read_text())["mission"]
    home = plan["plannedHomePosition"]
    k = M * math.cos(math.radians(home[0]))
    cfg = VehicleConfig()
    for item in plan["items"]:
        p = [0.0 if v is None else v for v in item["params"]]
        if item["command"] in (16, 19):
            radius = p[1] if item["command"] == 16 and p[1] > 0 else cfg.acceptance_radius
            d = np.sqrt(((lat - p[4]) * M) ** 2 + ((lon - p[5]) * k) ** 2 + (h - p[6]) ** 2)
            # a position message every 0.1 s: allow the distance flown in one interval
            assert d.min() <= radius + 0.3, (item, d.min())
    e, n = (lon - lon[0]) * k, (lat - lat[0]) * M
    speed = np.hypot(np.diff(e), np.diff(n)) / np.diff(t)
    climb = np.diff(h) / np.diff(t)
    assert speed.max() <= plan["cruiseSpeed"] * 1.01 + 0.05
    assert climb.max() <= cfg.climb_rate + 0.01 and climb.min() >= -cfg.descent_rate - 0.01
    top = max(p["params"][6] or 0 for p in plan["items"] if p["command"] in (16, 19, 22))
    assert h.max() <= top + 0.5 and h.min() >= 0
    assert np.allclose(alt - h, home[2], atol=2e-3)
    assert h[0] == 0 and h[-1] == 0  # took off and landed


def test_same_seed_same_truth_other_seed_differs(tmp_path, pm_profile):
    paths = [tmp_path / f"t{i}.csv" for i in range(3)]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        Simulation(SimConfig(mission=pm_profile, connect=None, speedup=0, seed=seed,
                             truth=path)).run()
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c


def test_truth_is_the_field_at_the_inlet(tmp_path, plume_box):
    truth = tmp_path / "truth.csv"
    res = Simulation(SimConfig(mission=plume_box, connect=None, speedup=0, seed=2,
                               truth=truth)).run()
    rows = list(csv.DictReader(open(truth)))
    assert len(rows) == res.readings > 1000
    field = load_field(plume_box.with_suffix(".toml"))
    for q in field.quantities:
        sub = [r for r in rows if r["quantity"] == q]
        lat, lon, alt = (np.array([float(r[c]) for r in sub]) for c in ("lat", "lon",
                                                                          "alt_amsl"))
        want = field.evaluate(q, lat, lon, alt)
        got = np.array([float(r["true_value"]) for r in sub])
        # positions are printed to 1e-9 deg and 1 mm: allow what that rounding moves
        assert np.allclose(got, want, rtol=1e-5, atol=1e-4), q
    ch4 = np.array([float(r["true_value"]) for r in rows if r["name"] == "CH4"])
    assert ch4.max() > 2.5  # the box catches the plume
    rep = np.array([float(r["reported_value"]) for r in rows if r["name"] == "CH4"])
    assert np.corrcoef(ch4, rep)[0, 1] > 0.9


def test_field_evaluate_is_vectorised_and_physical():
    field = load_field(ROOT / "missions" / "plume-box.toml")
    f = field.frame
    ue, un = field.wind.downwind_unit
    # along the plume axis at stack height, concentration falls with distance
    xs = np.array([100.0, 200.0, 400.0, 800.0])
    lat, lon = f.to_latlon(xs * ue, xs * un)
    c = field.evaluate("ch4", lat, lon, field.ground_alt_amsl + 12.0)
    assert c.shape == (4,) and np.all(np.diff(c) < 0) and np.all(c > 1.95)
    # upwind: background only; scalar and array evaluation agree
    lat_u, lon_u = f.to_latlon(-200 * ue, -200 * un)
    assert float(field.evaluate("ch4", lat_u, lon_u, 60.0)) == pytest.approx(1.95)
    for x, v in zip(xs, c, strict=True):
        assert field.value_en("ch4", x * ue, x * un, 12.0) == pytest.approx(v, rel=1e-9)
    # ground reflection: at the ground the two images add up
    prof = load_field(ROOT / "missions" / "pm-profile.toml")
    low = prof.evaluate("pm2p5", 45.4363, 9.2125, prof.ground_alt_amsl + np.array([5, 120]))
    assert low[0] > 25 and low[1] < 8


def test_mission_reader_matches_plan(plume_box):
    mission = load_plan(plume_box)
    plan = json.loads(plume_box.read_text())["mission"]
    assert mission.home == tuple(plan["plannedHomePosition"])
    assert [i.command for i in mission.items] == [i["command"] for i in plan["items"]]
