"""Flux on simulated flights that look like real logs (firmware_sim): a 1 Hz log with 0.5 m/s
climbs between passes in gusty, veering wind with the mast file written beside it; a sonic on
the drone; a box flight around an area source. Truth: the simulator's emission and wind.
A few seeds only (``benchmarks/bench_flux_coverage.py`` runs 20 per case)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dronesense.api import estimate_flux, read_samples, read_wind, wind_from_logs
from dronesense.products.flux.box import estimate_box_flux
from firmware_sim.scenarios import AREA_SOURCE_FIELD, fly_like_a_log, gusty, set_sensor

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "missions" / "plume-curtain.plan"
FIELD = ROOT / "missions" / "plume-curtain.toml"
SOURCE = (50.9934, 6.9877)
MAST_MAP = {"time": "time_utc", "speed": "speed", "direction": "from_deg", "height": 10.0}
SONIC_MAP = {"time": "time_utc", "sonic_u": "sonic_u", "sonic_v": "sonic_v",
             "sonic_w": "sonic_w", "roll": "roll", "pitch": "pitch", "yaw": "yaw", "vn": "vn",
             "ve": "ve", "vd": "vd", "axes": ["right", "forward", "up"]}

BOX_FIELD = gusty(AREA_SOURCE_FIELD, veer_deg=0.0)


def _sim(tmp: Path, name: str, plan: Path, field_text: str, seed: int, rate: float
         ) -> dict[str, Path]:
    field = tmp / f"{name}.toml"
    field.write_text(field_text)
    return fly_like_a_log(plan, field, tmp / name, seed=seed, rate_hz=rate)


def _curtain_field(rate: float) -> str:
    return set_sensor(gusty(FIELD.read_text(), veer_deg=15.0), "CH4", rate_hz=rate, lag_s=0.0)


@pytest.fixture(scope="module")
def one_hz(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flux1hz")
    return _sim(tmp, "curtain", PLAN, _curtain_field(1.0), seed=4, rate=1.0)


def test_one_hz_log_with_slow_climbs_and_a_mast_file(one_hz):
    samples = read_samples(one_hz["tlog"], quantities=["ch4"])
    step = np.median(np.diff(samples["time_boot_ms"].values)) / 1000.0
    assert step == pytest.approx(1.0, abs=0.05)                      # a 1 Hz log
    profile = wind_from_logs([one_hz["tlog"]], per_sample=False)  # the fitted exponent
    res = estimate_flux(samples, "ch4", wind=read_wind(one_hz["mast"], MAST_MAP),
                        wind_exponent=profile.exponent, source=SOURCE)
    assert res.info["passes"] == 12                                   # none merged, none split
    assert [round(h / 5) * 5 for h in res.info["pass_heights_m"]] == list(range(5, 61, 5))
    assert "wind records in curtain.mast" in res.info["wind"]
    assert abs(res.emission - 5.0) < 2 * res.uncertainty
    assert res.emission == pytest.approx(5.0, rel=0.3)


def test_onboard_sonic_gives_the_true_wind(one_hz):
    sonic = read_wind(one_hz["sonic"], SONIC_MAP)
    mast = read_wind(one_hz["mast"], MAST_MAP)
    # the sonic flies at 5-60 m, the mast is at 10 m: the field's power law (class B 0.07)
    # and the same gusts (the simulator's wind is one field)
    samples = read_samples(one_hz["tlog"], quantities=["ch4"])
    utc = samples["time"].values.astype("datetime64[ns]").astype("int64") / 1e9
    z = samples["height"].values
    fly = z > 4.0
    t, z = utc[fly], z[fly]
    scale = (z / 10.0) ** 0.07
    for comp in ("u", "v"):
        got = np.interp(t, sonic.time, getattr(sonic, comp))
        want = np.interp(t, mast.time, getattr(mast, comp)) * scale
        assert float(np.median(np.abs(got - want))) < 0.3
    assert 0.05 < float(np.median(sonic.speed_error)) < 0.5


def test_box_flight_around_an_area_source(tmp_path):
    from dronesense.missions import Home, patterns, plan

    mission = patterns.box_flux(Home(50.9924241, 6.9895795, 42.0), SOURCE, size=160.0,
                                min_height=3.0, max_height=39.0, vertical_spacing=6.0,
                                speed=6.0)
    box_plan = tmp_path / "box.plan"
    plan.write(mission, box_plan)
    out = _sim(tmp_path, "box", box_plan, BOX_FIELD, seed=2, rate=2.0)
    samples = read_samples(out["tlog"], quantities=["ch4"])
    res = estimate_box_flux(samples, "ch4", wind=read_wind(out["mast"], MAST_MAP),
                            spacing=(5.0, 2.0))
    assert len(res.walls) == 4
    inflow = [w for w in res.walls if w.info["wind_through"] == "in"]
    assert len(inflow) == 2 and all(abs(w.emission) < 0.2 for w in inflow)
    assert abs(res.emission - 2.0) < 2 * res.uncertainty
    assert res.emission == pytest.approx(2.0, rel=0.3)
    assert res.lines()[0].startswith("net emission ch4 out of the box")


def test_box_from_the_command_line(tmp_path):
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dronesense", *args], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)

    made = cli("mission", "box-flux", "--home", "50.9924241,6.9895795,42", "--centre",
               f"{SOURCE[0]},{SOURCE[1]}", "--size", "160", "--heights", "3:39:6", "--speed",
               "6", "--out", "box.plan")
    assert made.returncode == 0, made.stderr
    out = _sim(tmp_path, "cli", tmp_path / "box.plan", BOX_FIELD, seed=5, rate=2.0)
    wind_map = tmp_path / "mast.toml"
    wind_map.write_text('[wind]\ntime = "time_utc"\nspeed = "speed"\ndirection = "from_deg"\n'
                        "height = 10.0\n")
    run = cli("flux", str(out["tlog"]), "-q", "ch4", "--box", "--wind", str(out["mast"]),
              "--wind-map", str(wind_map), "--spacing", "5,2")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(r"wind: time series, \d+ wind records in cli\.mast at 10 m", lines[0])
    first = lines[1]
    assert first.startswith("net emission ch4 out of the box:")
    value = float(first.split(":")[1].split("g/s")[0])
    assert value == pytest.approx(2.0, rel=0.3)
    assert run.stdout.count("  wall side") == 4
    bad = cli("mission", "box-flux", "--home", "50.9924241,6.9895795,42", "--centre",
              f"{SOURCE[0]},{SOURCE[1]}", "--size", "160", "--heights", "30:10:5", "--out",
              "bad.plan")
    assert bad.returncode != 0 and "--heights" in bad.stderr and "Traceback" not in bad.stderr
