"""The agencies' programs against the simulator's truth, over many seeds (docs/programs.md).

- **profile**: the mixing-layer height (gradient method) of the pm-profile flight with the
  layer top moved to 45, 65 and 85 m, and of the city-profile example (80 m): error and the
  reported uncertainty; the inversion of the city profile (truth 2 K);
- **emission factors**: the stack-passes flight (SO2 0.002, CO 0.0005 mol per mol of CO2):
  relative error of the flight emission ratios and the reported uncertainty;
- the time of each product call (samples already read).

Run: ``python benchmarks/bench_programs.py [--seeds 5]``. Flights go to a temporary folder.
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

from dronesense.api import read_samples  # noqa: E402
from dronesense.products.emission_factors import emission_factors  # noqa: E402
from dronesense.products.profile import vertical_profile  # noqa: E402
from tests.support.programs import (  # noqa: E402
    MISSIONS,
    PROFILE_PLAN,
    STACK_FIELD,
    STACK_PLAN,
    fly,
    profile_field,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-programs-"))
    seeds = range(1, args.seeds + 1)
    cases = [(h, PROFILE_PLAN, profile_field(tmp, h)) for h in (45.0, 65.0, 85.0)]
    cases.append((80.0, MISSIONS / "city-profile.plan", MISSIONS / "city-profile.toml"))
    times = []
    print("mixing-layer height (m): truth, error min..max, reported uncertainty, "
          "|error| < 2 sigma")
    for truth, plan, field in cases:
        err, sig = [], []
        for seed in seeds:
            s = read_samples(fly(tmp, f"p{truth:g}-{seed}", plan, field, seed=seed))
            t0 = time.perf_counter()
            p = vertical_profile(s)
            times.append(time.perf_counter() - t0)
            err.append(float(p.mixing_layer_height) - truth)
            sig.append(float(p.mixing_layer_height_uncertainty))
        err, sig = np.array(err), np.array(sig)
        print(f"  {truth:5.1f}  {err.min():+.1f}..{err.max():+.1f}  {sig.mean():.1f}  "
              f"{int((np.abs(err) < 2 * sig).sum())}/{len(err)}")
    print(f"vertical_profile: {np.median(times) * 1000:.0f} ms per flight (median)")
    times = []
    rel = {"so2": [], "co": []}
    unc = {"so2": [], "co": []}
    for seed in seeds:
        s = read_samples(fly(tmp, f"s{seed}", STACK_PLAN, STACK_FIELD, seed=seed))
        t0 = time.perf_counter()
        r = emission_factors(s)
        times.append(time.perf_counter() - t0)
        for gas, truth in (("so2", 0.002), ("co", 0.0005)):
            er = float(r[f"{gas}_flight_emission_ratio"])
            rel[gas].append(er / truth - 1)
            unc[gas].append(float(r[f"{gas}_flight_emission_ratio_uncertainty"]) / er)
    print("emission ratio: relative error min..max, reported relative uncertainty (mean)")
    for gas in rel:
        e = np.array(rel[gas]) * 100
        print(f"  {gas}: {e.min():+.2f}..{e.max():+.2f} %, {np.mean(unc[gas]) * 100:.2f} %")
    print(f"emission_factors: {np.median(times) * 1000:.0f} ms per flight (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
