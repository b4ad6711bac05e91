"""Known 3D fields and synthetic flights for the gridding tests (no simulator needed).

The field is a Gaussian plume from a point source, written here independently of
``firmware_sim``; flights are lawnmower patterns at several layers with sensor noise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from dronesense.gridding.spec import GridSpec

ORIGIN = (52.0, 5.0, 10.0)  # home point: lat, lon, altitude AMSL


def plume(x, y, z, *, background=1.9, q=2.0, source=(-150.0, 0.0, 30.0), wind=(1.0, 0.2)):
    """CH4 mole fraction (ppm) of a Gaussian plume blowing along ``wind`` from ``source``."""
    x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
    u = np.asarray(wind, dtype=float) / np.hypot(*wind)
    dx, dy = x - source[0], y - source[1]
    down = dx * u[0] + dy * u[1]
    cross = -dx * u[1] + dy * u[0]
    d = np.maximum(down, 1.0)
    sy = 0.22 * d * (1 + 1e-4 * d) ** -0.5 + 5.0
    sz = 0.12 * d + 4.0
    conc = q * 300.0 / (sy * sz) * np.exp(-0.5 * (cross / sy) ** 2) * (
        np.exp(-0.5 * ((z - source[2]) / sz) ** 2) + np.exp(-0.5 * ((z + source[2]) / sz) ** 2)
    )
    return background + np.where(down > 0, conc, 0.0)


def lawnmower(layers=(10.0, 20.0, 30.0, 40.0, 50.0), *, extent=(-100.0, 200.0, -100.0, 100.0),
              line_spacing=20.0, step=1.0, jitter=0.5, seed=0):
    """Points along east-west lines at each layer; returns x, y, z, line id (one per line)."""
    rng = np.random.default_rng(seed)
    w, e, s, n = extent
    xs, ys, zs, ids = [], [], [], []
    line = 0
    for k, h in enumerate(layers):
        for j, yl in enumerate(np.arange(s, n + 1e-9, line_spacing)):
            x = np.arange(w, e + 1e-9, step)
            if (j + k) % 2:
                x = x[::-1]
            xs.append(x + rng.normal(0, jitter, x.size))
            ys.append(np.full(x.size, yl) + rng.normal(0, jitter, x.size))
            zs.append(np.full(x.size, h) + rng.normal(0, jitter / 2, x.size))
            ids.append(np.full(x.size, line))
            line += 1
    return (np.concatenate(xs), np.concatenate(ys), np.concatenate(zs),
            np.concatenate(ids))


def flight(noise=0.02, seed=0, **kwargs):
    """Sampled plume: ((x, y, z), values with noise, true values, line ids)."""
    x, y, z, ids = lawnmower(seed=seed, **kwargs)
    truth = plume(x, y, z)
    rng = np.random.default_rng(seed + 1)
    return (x, y, z), truth + rng.normal(0, noise, truth.size), truth, ids


def samples_dataset(coords, values, quantity="ch4", origin=ORIGIN, *, sysid=1,
                    start="2024-05-01T10:00:00", rate_hz=10.0, flags=None,
                    other=None) -> xr.Dataset:
    """A samples Dataset following the schema of docs/architecture.md.

    ``other`` = (quantity key, values) adds interleaved rows of another quantity.
    """
    spec = GridSpec((1, 1, 1), origin)
    x, y, z = (np.asarray(c, dtype=float) for c in coords)
    lat, lon, alt = spec.frame.inverse(x, y, z)
    n = x.size
    t0 = np.datetime64(start, "ns")
    time = t0 + (np.arange(n) * (1e9 / rate_hz)).astype("timedelta64[ns]")
    data = {quantity: np.asarray(values, dtype=float)}
    if other is not None:
        key, vals = other
        lat, lon, alt, z, time = (np.repeat(a, 2) for a in (lat, lon, alt, z, time))
        data = {quantity: np.ravel(np.column_stack([values, np.full(n, np.nan)])),
                key: np.ravel(np.column_stack([np.full(n, np.nan), vals]))}
        n *= 2
    flag = np.zeros(n, np.int8) if flags is None else np.asarray(flags, np.int8)
    ds = xr.Dataset(
        coords={
            "time": ("obs", time),
            "lat": ("obs", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("obs", lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "altitude": ("obs", alt, {"standard_name": "altitude", "units": "m"}),
        },
        data_vars={
            "height": ("obs", z, {"units": "m"}),
            "flag": ("obs", flag),
            "sysid": ("obs", np.full(n, sysid, np.int32)),
            "position_gap": ("obs", np.full(n, 0.1)),
        },
        attrs={"Conventions": "CF-1.11, ACDD-1.3", "featureType": "trajectory"},
    )
    from dronesense.quantities import QUANTITIES

    for key, vals in data.items():
        attrs = QUANTITIES[key].attrs() if key in QUANTITIES else {"units": "1"}
        ds[key] = ("obs", vals, attrs)
    return ds


def truth_grid(spec: GridSpec) -> np.ndarray:
    """The plume at the voxel centres of ``spec``."""
    x, y, z = spec.centres()
    return plume(x, y, z)


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
PLUME_BOX = REPO / "missions" / "plume-box.plan"


def sim_flight(directory, *, seed: int, sysid: int = 1, mission=PLUME_BOX):
    """Fly ``mission`` with firmware-sim (no link, as fast as possible) and pair its tlog.

    Returns the samples ``.nc`` path (``directory/flight<seed>.nc``), written by
    ``dronesense pair`` from the simulator's own ``.tlog``.
    """
    import subprocess
    import sys
    from pathlib import Path

    from dronesense.cli.main import main

    directory = Path(directory)
    tlog = directory / f"flight{seed}.tlog"
    subprocess.run([sys.executable, "-m", "firmware_sim", "--mission", str(mission),
                    "--connect", "none", "--speedup", "0", "--seed", str(seed),
                    "--sysid", str(sysid), "--tlog", str(tlog), "--quiet"],
                   check=True, capture_output=True, cwd=REPO)
    out = directory / f"flight{seed}.nc"
    assert main(["pair", str(tlog), "--out", str(out), "--quiet"]) == 0
    return out
