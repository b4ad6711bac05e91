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


@pytest.fixture(autouse=True, scope="session")
def _checkers_stay_offline():
    """The CF compliance checker downloads a standard-name table it does not ship: the suite is
    offline, so it uses its packaged table instead (it falls back to it by itself)."""
    try:
        from compliance_checker.cf import util
    except ImportError:
        yield
        return

    def offline(version, location=None):
        raise OSError(f"offline: standard name table v{version} is not downloaded in tests")

    saved = util.download_cf_standard_name_table
    util.download_cf_standard_name_table = offline
    yield
    util.download_cf_standard_name_table = saved
