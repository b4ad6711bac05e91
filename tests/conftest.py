"""Shared fixtures: free ports, a pty pair, example mission paths, a simulator runner."""

from __future__ import annotations

import os
import socket
import subprocess
import tty
from pathlib import Path

import pytest

from tests.support.paths import MISSIONS, ROOT, free_port, sim_cmd

os.environ.setdefault("MAVLINK20", "1")



@pytest.fixture
def udp_port() -> int:
    """A free UDP port on 127.0.0.1."""
    return free_port(socket.SOCK_DGRAM)


@pytest.fixture
def tcp_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port(socket.SOCK_STREAM)


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
