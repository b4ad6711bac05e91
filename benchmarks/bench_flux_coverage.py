"""Flux estimates on simulated flights that look like real ones: error and 1-sigma coverage.

Each case flies ``missions/plume-curtain.plan`` (12 passes, 5-60 m, 150 m downwind of a
5 g/s CH4 stack) in firmware_sim with what real logs have: a CH4 sensor at 1 Hz or 5 Hz with
positions at the same rate, 0.5 m/s climbs between passes, GPS noise, and gusty wind that
changes direction (seeded: speed ±20 %, direction ±15°, 20 s correlation). The estimate
takes the wind from:

``mast``
    the simulator's 10 m mast file (``--wind-file``), interpolated to each sample's time and
    scaled to its height by the power law fitted to the autopilot's WIND messages;
``sonic``
    the simulator's sonic on the drone (``--sonic-file``), turned to the earth frame;
``autopilot``
    the autopilot's WIND messages as one profile (``flux --wind-profile``);
``autopilot-series``
    the same WIND messages as a wind series at the vehicle, each sample with the wind of
    its own time (what ``flux`` does with no ``--wind``; :func:`dronesense.api.wind_from_logs`);
``box-mast``
    a box flight (``mission box-flux``) around a 2 g/s area source, the mast wind scaled to
    each sample's height like ``mast`` (the walls' flux is near the ground, where the wind
    is slower than at the mast), the net flux out of the box.

For ``N`` seeds per case it prints the median and worst relative error, the share within
±10 % and the share of flights whose reported 1-sigma interval holds the truth (target
60-80 %).

Run: ``python benchmarks/bench_flux_coverage.py [--seeds 20] [--cases 1hz-mast,...]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware_sim.scenarios import (  # noqa: E402
    AREA_SOURCE_FIELD,
    fly_like_a_log,
    gusty,
    set_sensor,
)

PLAN = ROOT / "missions" / "plume-curtain.plan"
FIELD = ROOT / "missions" / "plume-curtain.toml"
TRUE = 5.0

CASES = {
    "1hz-mast": {"rate": 1.0, "wind": "mast"},
    "5hz-mast": {"rate": 5.0, "wind": "mast"},
    "5hz-sonic": {"rate": 5.0, "wind": "sonic"},
    "1hz-autopilot": {"rate": 1.0, "wind": "autopilot"},
    "1hz-autopilot-series": {"rate": 1.0, "wind": "autopilot-series"},
    "box-mast": {"rate": 2.0, "wind": "mast", "box": True},
}

#: A 40 m square area source (2 g/s CH4 from 25 points at 2 m) in the same gusty wind (the
#: plume veering 8°), flown as 7 closed 160 m loops from 3 to 39 m (mission box-flux).
BOX_FIELD = gusty(AREA_SOURCE_FIELD, veer_deg=8.0, gust_time=20.0)
BOX_TRUE = 2.0

MAST_MAP = {"time": "time_utc", "speed": "speed", "direction": "from_deg", "height": 10.0}
SONIC_MAP = {"time": "time_utc", "sonic_u": "sonic_u", "sonic_v": "sonic_v",
             "sonic_w": "sonic_w", "roll": "roll", "pitch": "pitch", "yaw": "yaw", "vn": "vn",
             "ve": "ve", "vd": "vd", "axes": ["right", "forward", "up"]}


def field_text(rate: float) -> str:
    """The plume-curtain field with gusts and the CH4 sensor at ``rate`` Hz, no lag."""
    return set_sensor(gusty(FIELD.read_text(), veer_deg=15.0, gust_time=20.0), "CH4",
                      rate_hz=rate, lag_s=0.0)


def fly(tmp: Path, case: dict, seed: int) -> dict[str, Path]:
    """One simulated flight: tlog, mast file, sonic file."""
    field = tmp / f"field-{case['rate']:g}-{case.get('box', False)}.toml"
    plan = PLAN
    if case.get("box"):
        from dronesense.missions import Home, patterns
        from dronesense.missions import plan as plans

        plan = tmp / "box.plan"
        if not plan.exists():
            plans.write(patterns.box_flux(Home(50.9924241, 6.9895795, 42.0), (50.9934, 6.9877),
                                          size=160.0, min_height=3.0, max_height=39.0,
                                          vertical_spacing=6.0, speed=6.0), plan)
    if not field.exists():
        field.write_text(BOX_FIELD if case.get("box") else field_text(case["rate"]))
    return fly_like_a_log(plan, field, tmp / f"s{seed}-{case['rate']:g}", seed=seed,
                          rate_hz=case["rate"])


def estimate(files: dict[str, Path], case: dict):
    """The flux estimate of one flight with the case's wind."""
    from dronesense.api import estimate_flux, read_samples, read_wind, wind_from_logs

    samples = read_samples(files["tlog"], quantities=["ch4"])
    profile = wind_from_logs([files["tlog"]], per_sample=False)
    if case.get("box"):
        from dronesense.products.flux.box import estimate_box_flux

        return estimate_box_flux(samples, "ch4", wind=read_wind(files["mast"], MAST_MAP),
                                 wind_exponent=profile.exponent, spacing=(5.0, 2.0))
    if case["wind"] == "mast":
        return estimate_flux(samples, "ch4", wind=read_wind(files["mast"], MAST_MAP),
                             wind_exponent=profile.exponent, source=(50.9934, 6.9877))
    if case["wind"] == "sonic":
        return estimate_flux(samples, "ch4", wind=read_wind(files["sonic"], SONIC_MAP),
                             source=(50.9934, 6.9877))
    if case["wind"] == "autopilot-series":  # what flux does with no --wind
        return estimate_flux(samples, "ch4", wind=wind_from_logs([files["tlog"]]),
                             source=(50.9934, 6.9877))
    return estimate_flux(samples, "ch4", wind=profile, source=(50.9934, 6.9877))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--save", help="write each flight's error and uncertainty parts (JSON)")
    args = ap.parse_args(argv)
    flights = []
    print(f"{'case':<15} {'n':>3} {'median err':>10} {'worst err':>9} {'within 10%':>10} "
          f"{'1σ covers':>9} {'median σ':>8} {'s/flight':>8}")
    for name in args.cases.split(","):
        case = CASES[name]
        errs, covered, sig = [], [], []
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            for seed in range(args.seeds):
                files = fly(Path(d), case, seed)
                res = estimate(files, case)
                true = BOX_TRUE if case.get("box") else TRUE
                e = res.emission / true - 1.0
                errs.append(e)
                sig.append(res.uncertainty / true)
                covered.append(abs(res.emission - true) <= res.uncertainty)
                flights.append({"case": name, "seed": seed, "error": e,
                                "sigma": res.uncertainty / true,
                                "parts": {k: v / true for k, v in res.components.items()},
                                "effective_passes": res.info.get("effective_passes"),
                                "notes": res.notes})
        errs_a = np.abs(np.array(errs))
        per = (time.perf_counter() - t0) / args.seeds
        print(f"{name:<15} {len(errs):>3} {100 * np.median(errs):>+9.1f}% "
              f"{100 * errs_a.max():>8.1f}% {100 * np.mean(errs_a <= 0.1):>9.0f}% "
              f"{100 * np.mean(covered):>8.0f}% {100 * np.median(sig):>7.1f}% {per:>8.1f}",
              flush=True)
    if args.save:
        import json

        Path(args.save).write_text(json.dumps(flights, indent=1))


if __name__ == "__main__":
    main()
