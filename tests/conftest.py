"""Shared fixtures: free ports, a pty pair, example mission paths, a simulator runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tty
from pathlib import Path

import pytest

os.environ.setdefault("MAVLINK20", "1")

ROOT = Path(__file__).resolve().parents[1]
MISSIONS = ROOT / "missions"


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def udp_port() -> int:
    """A free UDP port on 127.0.0.1."""
    return _free_port(socket.SOCK_DGRAM)


@pytest.fixture
def tcp_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return _free_port(socket.SOCK_STREAM)


@pytest.fixture
def pty_pair():
    """(master_fd, slave_path) of a raw pty; the simulator opens the slave as a serial port."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def plume_box() -> Path:
    """The plume-box example mission."""
    return MISSIONS / "plume-box.plan"


@pytest.fixture
def pm_profile() -> Path:
    """The pm-profile example mission."""
    return MISSIONS / "pm-profile.plan"


def sim_cmd(*args: str) -> list[str]:
    """Command line running the simulator with this interpreter."""
    return [sys.executable, "-m", "firmware_sim", *map(str, args)]


@pytest.fixture
def start_sim():
    """Start ``firmware-sim`` with the given arguments; the process is killed at teardown."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        p = subprocess.Popen(sim_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=10)
