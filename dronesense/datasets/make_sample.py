"""Regenerate the sample flight shipped in :mod:`dronesense.datasets`.

The simulator (``firmware_sim``) flies ``data/plume-curtain.plan`` through the known field of
``data/plume-curtain.toml`` (methane and PM2.5 from a 12 m stack, wind 3 m/s from 240°) as
fast as it can, without a link, and writes what a ground station would have logged. The
autopilot's telemetry streams are set to the rates a ground station asks for on a slow radio
(:data:`STREAM_INTERVALS_MS`: positions at 5 Hz, no attitude or HUD), which keeps the log
small; the sensor readings (NAMED_VALUE_FLOAT), WIND and SYSTEM_TIME messages are all there.
The seed is fixed, so the file is the same byte for byte on every run::

    python -m dronesense.datasets.make_sample            # rewrites data/plume-curtain.tlog
    python -m dronesense.datasets.make_sample out.tlog   # somewhere else

Examples
--------
>>> import tempfile, os
>>> path = make_sample_flight(os.path.join(tempfile.mkdtemp(), "flight.tlog"))
>>> path.read_bytes() == (DATA / SAMPLE_TLOG).read_bytes()
True
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from dronesense.datasets import DATA, SAMPLE_PLAN, SAMPLE_TLOG

#: Random seed of the simulator run.
SEED = 7
#: Telemetry stream intervals (ms; 0 = off) of the recorded flight.
STREAM_INTERVALS_MS = {
    "HEARTBEAT": 1000, "SYSTEM_TIME": 1000, "WIND": 1000, "GLOBAL_POSITION_INT": 200,
    "GPS_RAW_INT": 1000, "SYS_STATUS": 0, "ATTITUDE": 0, "VFR_HUD": 0, "MISSION_CURRENT": 0,
}

__all__ = ["SEED", "STREAM_INTERVALS_MS", "main", "make_sample_flight"]


def make_sample_flight(out: str | Path = DATA / SAMPLE_TLOG, *, seed: int = SEED) -> Path:
    """Fly the sample mission in the simulator and write its telemetry log to ``out``.

    Parameters
    ----------
    out
        The ``.tlog`` to write (default: the packaged sample flight).
    seed
        Simulator seed (sensor noise).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    streams = [f"--stream={name}={ms}" for name, ms in STREAM_INTERVALS_MS.items()]
    subprocess.run([sys.executable, "-m", "firmware_sim", "--mission", str(DATA / SAMPLE_PLAN),
                    "--connect", "none", "--speedup", "0", "--seed", str(seed),
                    "--tlog", str(out), "--quiet", *streams], check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m dronesense.datasets.make_sample [OUT]``."""
    parser = argparse.ArgumentParser(prog="python -m dronesense.datasets.make_sample",
                                     description="Regenerate the packaged sample flight.")
    parser.add_argument("out", nargs="?", default=str(DATA / SAMPLE_TLOG),
                        help="tlog to write (default: the packaged one)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    path = make_sample_flight(args.out, seed=args.seed)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
