"""``dronesense demo``: a whole flight without hardware, from MAVLink to a gridded plume.

The simulator (``firmware-sim``) flies a mission through its known concentration field and
sends MAVLink over loopback UDP; ``dronesense listen`` records and pairs it live, exactly as in
the field; the session is gridded and the grid compared with the simulator's true field.
Everything runs in separate processes talking over real sockets.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.cli.options import non_negative
from dronesense.errors import DronesenseError, InputError
from dronesense.sources.session_folder import SessionFolder

__all__ = ["SimulatorTruth", "layered_spec", "register", "run", "run_demo",
           "true_field_on_grid"]

_ROOT = Path(__file__).resolve().parents[2]


def _default_mission() -> Path:
    for base in (Path.cwd(), _ROOT):
        path = base / "missions" / "plume-box.plan"
        if path.exists():
            return path
    return Path("missions/plume-box.plan")


def register(subparsers) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="fly the simulator, record it live, grid it, compare with the truth",
        description="Fly firmware-sim through a known plume over loopback UDP while "
        "'dronesense listen' records; then grid the session, plot slices beside the true "
        "field and print a summary. No hardware needed.",
    )
    p.add_argument("--out", default="out/demo", help="output directory (default out/demo)")
    p.add_argument("--mission", type=Path, default=None,
                   help="QGroundControl .plan to fly (default missions/plume-box.plan)")
    p.add_argument("--quantity", default="ch4", help="quantity to grid (default ch4)")
    p.add_argument("--spacing", default="30,30,15",
                   help="voxel size DX,DY,DZ in metres (default 30,30,15)")
    p.add_argument("--speedup", type=non_negative, default=50.0,
                   help="simulator speed-up over real time (default 50)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.set_defaults(func=run)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise DronesenseError(f"the listener exited early (code {proc.returncode})")
        if time.monotonic() > deadline:
            raise DronesenseError(f"the listener did not start within {timeout:.0f} s")
        time.sleep(0.05)


def fly_and_record(mission: Path, session: Path, *, speedup: float, seed: int,
                   truth: Path) -> dict:
    """Fly ``mission`` with firmware-sim while ``dronesense listen`` records into ``session``.

    Returns the listener's ``session.json`` summary.
    """
    port = _free_udp_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    listen = subprocess.Popen(
        [sys.executable, "-m", "dronesense", "listen", f"udpin:127.0.0.1:{port}",
         "--out", str(session), "--until-landed", "--quiet", "--duration", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        _wait_for(SessionFolder(session).tlog, listen)
        sim = subprocess.run(
            [sys.executable, "-m", "firmware_sim", "--mission", str(mission),
             "--connect", f"udpout:127.0.0.1:{port}", "--speedup", str(speedup),
             "--seed", str(seed), "--truth", str(truth), "--quiet"],
            capture_output=True, text=True, env=env,
        )
        if sim.returncode != 0:
            raise DronesenseError(f"firmware-sim failed: {sim.stderr.strip()}")
        _, err = listen.communicate(timeout=60)
    finally:
        if listen.poll() is None:
            listen.terminate()
            listen.wait(10)
    if listen.returncode != 0:
        raise DronesenseError(f"the listener failed: {err.strip()}")
    return json.loads(SessionFolder(session).meta.read_text())


class SimulatorTruth:
    """The simulator's true field, asked of ``firmware-sim --truth-at`` in a subprocess.

    Parameters
    ----------
    mission
        The ``.plan`` the simulator flies; its field is the ``.toml`` beside it, unless
        ``field`` names another.
    field
        The simulator's field file, if not the one beside ``mission``.

    Examples
    --------
    >>> truth = SimulatorTruth("missions/plume-box.plan")
    >>> truth.evaluate("ch4", [50.9934], [6.9877], [60.0]).tolist()  # doctest: +SKIP
    [1.95]
    """

    def __init__(self, mission: str | Path, field: str | Path | None = None):
        self.mission = Path(mission)
        self.field = None if field is None else Path(field)

    def evaluate(self, quantity: str, lat, lon, alt_amsl) -> np.ndarray:
        """True ``quantity`` at positions (degrees, metres above mean sea level), any shape."""
        lat, lon, alt = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float),
                                            np.asarray(alt_amsl, float))
        with tempfile.TemporaryDirectory(prefix="dronesense-truth-") as tmp:
            points, values = Path(tmp) / "points.csv", Path(tmp) / "truth.csv"
            with points.open("w", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(["lat", "lon", "alt_amsl"])
                w.writerows([repr(float(a)), repr(float(b)), repr(float(c))]
                            for a, b, c in zip(lat.ravel(), lon.ravel(), alt.ravel(),
                                               strict=True))
            cmd = [sys.executable, "-m", "firmware_sim", "--mission", str(self.mission),
                   "--truth-at", str(points), str(values), "--quiet"]
            if self.field is not None:
                cmd += ["--field", str(self.field)]
            sim = subprocess.run(cmd, capture_output=True, text=True)
            if sim.returncode != 0:
                raise DronesenseError(f"firmware-sim --truth-at failed: {sim.stderr.strip()}")
            with values.open(newline="") as fh:
                table = list(csv.DictReader(fh))
        if table and quantity not in table[0]:
            raise InputError(f"the simulator's field has no quantity {quantity!r}",
                             path=self.field or self.mission.with_suffix(".toml"))
        out = np.array([float(row[quantity]) for row in table], dtype=float)
        return out.reshape(lat.shape)


def true_field_on_grid(grid: xr.Dataset, field, quantity: str) -> xr.DataArray:
    """The true field at the voxel centres of ``grid``.

    ``field`` is anything with ``evaluate(quantity, lat, lon, alt_amsl)``: a
    :class:`SimulatorTruth`, or the simulator's own field object in its tests. The grid's
    vertical coordinate is turned into altitude above mean sea level with the grid's own
    definition.
    """
    from dronesense.gridding.spec import GridSpec

    spec = GridSpec.from_attrs(grid.attrs)
    lat2, lon2 = grid["lat"].values, grid["lon"].values
    alt = spec.altitude_of(grid["z"].values)
    shape = (alt.size, *lat2.shape)
    lat = np.broadcast_to(lat2, shape)
    lon = np.broadcast_to(lon2, shape)
    alt3 = np.broadcast_to(alt[:, None, None], shape)
    values = np.asarray(field.evaluate(quantity, lat.ravel(), lon.ravel(), alt3.ravel()))
    truth = xr.DataArray(values.reshape(shape), dims=("z", "y", "x"),
                         coords={"z": grid["z"], "y": grid["y"], "x": grid["x"]},
                         name=f"true_{quantity}")
    truth.attrs = {**grid[quantity].attrs, "long_name": f"true {quantity} (simulator field)"}
    for key in ("cell_methods", "ancillary_variables"):
        truth.attrs.pop(key, None)
    return truth


def layered_spec(samples: xr.Dataset, quantity: str, spec, min_share: float = 0.05):
    """``spec`` fitted to the samples, with its levels centred on the flown altitude layers.

    A level is a height (rounded to 1 m) that holds at least ``min_share`` of the samples; the
    vertical range then runs from half a voxel below the lowest such level to half a voxel
    above the highest, so take-off and landing do not make a level of their own.
    """
    from dataclasses import replace

    from dronesense.gridding.coordinates import sample_coordinates

    (x, y, z), _, _ = sample_coordinates(samples, quantity, spec)
    spec = spec.fit(x, y, z)
    heights, counts = np.unique(np.round(z), return_counts=True)
    layers = heights[counts >= min_share * z.size]
    if layers.size == 0:
        return spec
    dz = spec.spacing[2]
    return replace(spec, region=(*spec.region[:4], layers.min() - dz / 2, layers.max() + dz / 2))


def run_demo(out: Path, *, mission: Path | None = None, quantity: str = "ch4",
             spacing: tuple[float, float, float] = (30.0, 30.0, 15.0), speedup: float = 50.0,
             seed: int = 1) -> dict:
    """Run the whole demo into ``out``; returns the figures it prints."""
    from dronesense.gridding.dataset import write_grid
    from dronesense.gridding.grid import grid
    from dronesense.gridding.spec import GridSpec, default_origin
    from dronesense.products.plot import plot_slices_vs_truth
    from dronesense.samples.dataset import to_dataset
    from dronesense.samples.journal import read_journal

    mission = Path(mission) if mission else _default_mission()
    if not mission.exists():
        raise InputError("mission not found", path=mission)
    out.mkdir(parents=True, exist_ok=True)
    session = out / "session"
    if session.exists():
        for f in session.iterdir():
            f.unlink()
    truth_csv = out / "truth.csv"
    t0 = time.monotonic()
    summary = fly_and_record(mission, session, speedup=speedup, seed=seed, truth=truth_csv)
    flight_s = time.monotonic() - t0

    rows = read_journal(session)
    samples = to_dataset(rows, source=str(session))
    spec = layered_spec(samples, quantity, GridSpec(spacing, default_origin(samples)))
    gridded = grid(samples, quantity, spec=spec, method="block", cross_validate=False,
                   inputs=[str(session)])
    write_grid(gridded, out / "grid.nc")
    truth = true_field_on_grid(gridded, SimulatorTruth(mission), quantity)
    est = gridded[quantity].values
    ok = np.isfinite(est)
    corr = float(np.corrcoef(est[ok], truth.values[ok])[0, 1]) if ok.sum() > 2 else float("nan")
    plot_slices_vs_truth(gridded, truth, out / "slices.png", name=quantity)

    n = len(rows)
    of_q = [r for r in rows if r.quantity == quantity]
    figures = {
        "mission": str(mission),
        "wall_time_s": round(flight_s, 1),
        "packets": summary.get("packets"),
        "loss": summary.get("loss_total"),
        "samples": n,
        "paired_fraction": sum(r.flag == 0 for r in rows) / n if n else 0.0,
        f"{quantity}_samples": len(of_q),
        "voxels_with_data": int(ok.sum()),
        "grid_truth_correlation": corr,
    }
    (out / "summary.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def run(args: argparse.Namespace) -> int:
    """Run ``dronesense demo``."""
    from dronesense.cli.options import parse_spacing

    out = Path(args.out)
    print(f"flying {args.mission or 'missions/plume-box.plan'} at {args.speedup:g}x over "
          "loopback UDP, recording with 'dronesense listen' ...", flush=True)
    f = run_demo(out, mission=args.mission, quantity=args.quantity,
                 spacing=parse_spacing(args.spacing), speedup=args.speedup, seed=args.seed)
    q = args.quantity
    print(f"flight recorded in {f['wall_time_s']} s: {f['packets']} packets, "
          f"loss {f['loss']:.1%}")
    print(f"samples: {f['samples']} ({f['paired_fraction']:.1%} paired), "
          f"{f[q + '_samples']} of {q}")
    print(f"grid: {f['voxels_with_data']} voxels with data; "
          f"correlation of grid mean with the true field: {f['grid_truth_correlation']:.3f}")
    print(f"wrote {out}/session/ (flight.tlog, samples.csv, session.json), {out}/grid.nc, "
          f"{out}/slices.png, {out}/summary.json")
    return 0
