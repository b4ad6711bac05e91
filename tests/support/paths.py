"""Paths of the repository, one free port helper, the simulator's command line."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MISSIONS = ROOT / "missions"
#: Real public flights (``<repo>/../shared/data/real-flights``, beside the clone in CI).
REAL_FLIGHTS = ROOT.parent / "shared" / "data" / "real-flights"
#: The example map files shipped with the docs.
MAPS = ROOT / "docs" / "maps"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port on 127.0.0.1 that is free now (UDP by default)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim_cmd(*args: str) -> list[str]:
    """Command line running the simulator with this interpreter."""
    return [sys.executable, "-m", "firmware_sim", *map(str, args)]
