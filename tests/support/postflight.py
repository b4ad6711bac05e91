"""Helpers shared by the post-flight tests: simulator runs with injected faults, real logs.

Kept out of ``conftest.py`` so the post-flight test modules import these explicitly and do
not depend on each other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "missions" / "plume-box.plan"
FIELD = ROOT / "missions" / "plume-box.toml"

#: Real logs live beside the repository (``<repo>/../shared/data/real-logs``), as in CI.
REAL_LOGS = ROOT.parent / "shared" / "data" / "real-logs"
VTOL = REAL_LOGS / "sitl-vtol.tlog"
BIN = REAL_LOGS / "arducopter-truncated.bin"
_MISSING = f"real logs not found beside the repository ({REAL_LOGS})"
needs_vtol = pytest.mark.skipif(not VTOL.exists(), reason=_MISSING)
needs_bin = pytest.mark.skipif(not BIN.exists(), reason=_MISSING)


def sensor_field(tmp: Path, sensor: str = "CH4", *, lag_s: float | None = None,
                 time_offset_s: float | None = None) -> Path:
    """A copy of ``missions/plume-box.toml`` with one sensor's ``lag_s`` (first-order
    response time) and ``time_offset_s`` (clock error of its stamps) replaced."""
    lines = FIELD.read_text().splitlines()
    out, in_sensor = [], False
    for line in lines:
        if line.startswith("["):
            in_sensor = False
        if line.strip() == f'name = "{sensor}"':
            in_sensor = True
        key = line.split("=")[0].strip()
        if in_sensor and key == "lag_s" and lag_s is not None:
            line = f"lag_s = {lag_s}"
        elif in_sensor and key == "time_offset_s" and time_offset_s is not None:
            line = f"time_offset_s = {time_offset_s}"
        out.append(line)
    path = tmp / f"field-{sensor}-{lag_s}-{time_offset_s}.toml"
    path.write_text("\n".join(out) + "\n")
    return path


def run_sim(tmp: Path, *faults: str, field: Path | None = None, seed: int = 7) -> dict:
    """Fly plume-box as fast as possible; return the paths of its outputs."""
    tmp.mkdir(parents=True, exist_ok=True)
    paths = {k: tmp / f"{k}" for k in ("tlog", "truth", "track", "faults")}
    cmd = [sys.executable, "-m", "firmware_sim", "--mission", str(PLAN), "--speedup", "0",
           "--seed", str(seed), "--connect", "none", "--quiet",
           "--tlog", str(paths["tlog"]), "--truth", str(paths["truth"]),
           "--track", str(paths["track"]), "--faults-log", str(paths["faults"])]
    if field is not None:
        cmd += ["--field", str(field)]
    for f in faults:
        cmd += ["--fault", f]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=120)
    return paths
