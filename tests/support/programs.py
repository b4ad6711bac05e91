"""Simulated flights for the agencies' programs: profiles through a known mixing layer, a
stack plume at known gas ratios, and telemetry logs with sampling events inserted."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

from tests.support.paths import MISSIONS

PROFILE_PLAN = MISSIONS / "pm-profile.plan"
PROFILE_FIELD = MISSIONS / "pm-profile.toml"
STACK_PLAN = MISSIONS / "stack-passes.plan"
STACK_FIELD = MISSIONS / "stack-passes.toml"
#: the simulator's SYSTEM_TIME epoch for a start UTC of 2025-06-14T08:00:00Z
T0 = 1_749_888_000.0


def fly(tmp: Path, name: str, plan: Path, field: Path, *, seed: int = 1,
        start_utc: str | None = None, track: bool = False) -> Path:
    """Fly ``plan`` through ``field`` as fast as possible; returns the tlog (the track CSV
    beside it as ``<name>-track.csv`` with ``track=True``)."""
    from firmware_sim import SimConfig, Simulation

    tlog = tmp / f"{name}.tlog"
    kw = {"start_utc": start_utc} if start_utc else {}
    Simulation(SimConfig(mission=str(plan), field=str(field), connect=None, speedup=0,
                         seed=seed, tlog=str(tlog), quiet=True,
                         track=str(tmp / f"{name}-track.csv") if track else None, **kw)).run()
    return tlog


def profile_field(tmp: Path, mixing_height: float) -> Path:
    """The pm-profile field with its layers' top moved to ``mixing_height`` metres."""
    text = PROFILE_FIELD.read_text().replace("mixing_height = 65.0",
                                             f"mixing_height = {mixing_height:.1f}")
    path = tmp / f"profile-{mixing_height:g}.toml"
    path.write_text(text)
    return path


def read_track(path: Path) -> dict[str, np.ndarray]:
    """The simulator's true track CSV as arrays."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in
            ("time_boot_ms", "lat", "lon", "alt_amsl", "height")}


def insert_messages(src: Path, dst: Path, events: list[tuple[float, object, bool]]) -> Path:
    """Copy the tlog ``src`` to ``dst`` with MAVLink messages added at receive times (UNIX
    seconds): ``(time, message, from_ground_station)``. Real pymavlink packing: vehicle
    messages as system 1 component 1, ground-station ones as 255/190."""
    from pymavlink import mavutil
    from pymavlink.dialects.v20 import ardupilotmega as mav2

    conn = mavutil.mavlink_connection(str(src))
    records = []
    while True:
        msg = conn.recv_match()
        if msg is None:
            break
        records.append((msg._timestamp, bytes(msg.get_msgbuf())))
    conn.close()
    vehicle = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
    gcs = mav2.MAVLink(None, srcSystem=255, srcComponent=190)
    for t, msg, from_gcs in events:
        records.append((t, bytes(msg.pack(gcs if from_gcs else vehicle))))
    records.sort(key=lambda r: r[0])
    with open(dst, "wb") as fh:
        for t, data in records:
            fh.write(struct.pack(">Q", round(t * 1e6)) + data)
    return dst
