"""The simulation: vehicle + payload + autopilot + faults + outputs, on one sim clock.

Examples
--------
Fly the example mission as fast as possible into a telemetry log, without a link:

>>> from firmware_sim import SimConfig, Simulation
>>> cfg = SimConfig(mission="missions/pm-profile.plan", connect=None, speedup=0,
...                 tlog="/tmp/pm.tlog", truth="/tmp/pm-truth.csv", seed=1)
>>> result = Simulation(cfg).run()  # doctest: +SKIP
>>> result.flights  # doctest: +SKIP
1
"""

from __future__ import annotations

import csv
import math
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from .autopilot import Autopilot
from .errors import SimError
from .faults import FaultLog, Impairer, parse_faults
from .link import TlogWriter, check_writable, open_connection
from .payload import Sensor, sensors_from_field
from .plan import Mission, load_plan
from .serial_payload import SerialPayloadOutput, parse_serial_payload
from .ulog import UlogWriter
from .vehicle import Vehicle, VehicleConfig
from .world import Field, load_field

#: default UTC of sim time 0 (fixed, so that a seed gives byte-identical truth files)
DEFAULT_START_UTC = "2025-06-14T08:00:00Z"
TRUTH_COLUMNS = ["sysid", "sensor", "name", "quantity", "units", "time_boot_ms", "time_utc",
                 "lat", "lon", "alt_amsl", "height", "true_value", "reported_value"]
TRACK_COLUMNS = ["time_boot_ms", "time_utc", "lat", "lon", "alt_amsl", "height"]


def parse_utc(text: str | datetime | None) -> datetime:
    """Parse ``--start-utc`` (ISO 8601, ``Z`` allowed, or ``now``) into an aware datetime."""
    if text is None:
        text = DEFAULT_START_UTC
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if text == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        d = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SimError(f"--start-utc {text}: not an ISO 8601 time") from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def iso(start: datetime, seconds: float) -> str:
    """ISO 8601 UTC with microseconds and ``Z`` of ``start + seconds``."""
    d = start + timedelta(microseconds=round(seconds * 1e6))
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SimConfig:
    """Everything a run needs; the CLI options map one to one (see ``firmware-sim --help``).

    ``connect=None`` runs without a link (e.g. only ``tlog``).
    """

    mission: str | Path | Mission
    field: str | Path | Field | None = None
    connect: str | None = "udpout:127.0.0.1:14550"
    baud: int = 57600
    speedup: float = 1.0
    seed: int = 0
    truth: str | Path | None = None
    track: str | Path | None = None
    tlog: str | Path | None = None
    #: write the flight as the autopilot's own PX4 ULog (``.ulg``), see :mod:`firmware_sim.ulog`
    ulog: str | Path | None = None
    faults: list[str] = dc_field(default_factory=list)
    faults_log: str | Path | None = None
    sysid: int = 1
    stay: bool = False
    wait_for_start: bool = False
    start_utc: str | datetime | None = None
    repeat: int = 1
    gps_noise: float = 0.0
    dt: float = 0.05
    arm_delay: float = 2.0
    max_time: float | None = None
    quiet: bool = True
    serial_payloads: list[str] = dc_field(default_factory=list)
    #: stream intervals in ms (0 = off) replacing the autopilot's defaults, by message name
    stream_intervals: dict[str, int] = dc_field(default_factory=dict)
    #: MAVLink 2 signing key (``--key``/``--key-file``): sign everything, refuse unsigned
    key: bytes | None = dc_field(default=None, repr=False)
    #: CSV of the wind at a 10 m mast, one row a second (:mod:`firmware_sim.gusts`)
    wind_file: str | Path | None = None
    #: CSV of a sonic on the drone (body frame, attitude, velocity) at ``sonic_hz``
    sonic_file: str | Path | None = None
    sonic_hz: float = 5.0
    #: climb and descent rate between waypoints, m/s (None: the vehicle's defaults)
    climb_rate: float | None = None


@dataclass
class SimResult:
    """What a run did (also printed as the CLI summary)."""

    sim_time: float = 0.0
    wall_time: float = 0.0
    flights: int = 0
    messages: int = 0
    readings: int = 0
    tlog_records: int = 0
    counts: dict[str, int] = dc_field(default_factory=dict)
    faults: dict[str, int] = dc_field(default_factory=dict)
    serial_frames: dict[str, int] = dc_field(default_factory=dict)

    def summary(self) -> str:
        """One-line summary."""
        rate = self.sim_time / self.wall_time if self.wall_time > 0 else math.inf
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        return (f"firmware-sim: {self.flights} flight(s), {self.sim_time:.1f} s simulated in "
                f"{self.wall_time:.2f} s ({rate:.1f}x), {self.messages} messages, "
                f"{self.readings} sensor readings"
                + "".join(f", {n} {k} serial frames" for k, n in self.serial_frames.items())
                + (f", faults: {faults}" if faults else ""))


class Simulation:
    """One simulated vehicle run. Build it (inputs are checked), then :meth:`run` it.

    :meth:`stop` may be called from another thread; :attr:`started` is set once the link
    is open and the loop runs.
    """

    def __init__(self, config: SimConfig):
        self.config = c = config
        if isinstance(c.mission, Mission):
            self.mission = c.mission
            plan_path = None
        else:
            plan_path = Path(c.mission)
            self.mission = load_plan(plan_path)
        if isinstance(c.field, Field):
            self.field = c.field
        else:
            fpath = Path(c.field) if c.field is not None else (
                plan_path.with_suffix(".toml") if plan_path is not None else None)
            if fpath is None:
                raise SimError("--field: needed when the mission is not a file")
            self.field = load_field(fpath)
        self.sensor_specs = sensors_from_field(self.field, self.field.source)
        if not 1 <= c.sysid <= 255:
            raise SimError(f"--sysid {c.sysid}: must be 1..255")
        if c.speedup < 0 or not math.isfinite(c.speedup):
            raise SimError(f"--speedup {c.speedup}: must be >= 0 (0 = as fast as possible)")
        if c.repeat < 1:
            raise SimError(f"--repeat {c.repeat}: must be >= 1")
        if not self.mission.items and not c.wait_for_start:
            raise SimError(f"{self.mission.source}: mission has no items")
        self.faults = parse_faults(c.faults)
        self.start = parse_utc(c.start_utc)
        self.start_us = int(self.start.timestamp() * 1e6)
        rates = ({} if c.climb_rate is None else
                 {"climb_rate": c.climb_rate, "descent_rate": c.climb_rate})
        self.vehicle = Vehicle(self.mission, VehicleConfig(gps_noise=c.gps_noise, **rates),
                               seed=c.seed)
        self.field.start_gusts(c.seed)
        self.serial_outputs = [
            SerialPayloadOutput(parse_serial_payload(text), self._value_at, c.seed, i,
                                self.field.units)
            for i, text in enumerate(c.serial_payloads)]
        #: devices the ground side opens, one per serial payload (set by :meth:`run`)
        self.serial_paths: list[str] = []
        self._stop = threading.Event()
        self.started = threading.Event()
        self.result = SimResult()

    def stop(self) -> None:
        """Ask a running :meth:`run` to finish (thread-safe)."""
        self._stop.set()

    # ------------------------------------------------------------------ helpers
    def _value_at(self, quantity: str, e: float, n: float, u: float) -> float:
        lat, lon = self.vehicle.frame.to_latlon(e, n)
        fe, fn = self.field.frame.to_en(lat, lon)
        z = self.mission.home[2] + u - self.field.ground_alt_amsl
        return self.field.value_en(quantity, fe, fn, z)

    def _open_outputs(self) -> dict[str, IO]:
        c = self.config
        files: dict[str, IO] = {}
        for key, what in (("truth", "truth"), ("track", "track"), ("tlog", "tlog"),
                          ("faults_log", "faults log"), ("wind_file", "wind file"),
                          ("sonic_file", "sonic file")):
            path = getattr(c, key)
            if path is not None:
                files[key] = check_writable(str(path), what if key != "tlog" else "tlog")
        if c.ulog is not None:
            try:
                files["ulog"] = open(c.ulog, "wb")
            except OSError as exc:
                raise SimError(f"{c.ulog}: cannot write ulog ({exc.strerror or exc})") from None
        return files

    def _ulog_tap(self, files: dict[str, IO], send):
        """``send`` that also logs every message the autopilot sends to the onboard ULog.

        As PX4 does, a reboot starts a new log: boot N > 0 goes to ``OUT-bootN.ulg`` beside
        ``OUT.ulg``."""
        c = self.config
        decoder = mavlink2.MAVLink(None)
        decoder.robust_parsing = True
        wanted = ("GLOBAL_POSITION_INT", "GPS_RAW_INT", "NAMED_VALUE_FLOAT", "HEARTBEAT", "WIND")
        state = {"writer": UlogWriter(files["ulog"], self.start_us, c.sysid), "boot": 0,
                 "last_ms": 0}

        def tap(t: float, data: bytes, meta) -> None:
            if meta is not None and meta[0] in wanted:
                if meta[2] + 3000 < state["last_ms"]:  # the vehicle clock restarted
                    state["boot"] += 1
                    path = Path(c.ulog)
                    path = path.with_name(f"{path.stem}-boot{state['boot']}{path.suffix}")
                    key = f"ulog{state['boot']}"
                    files[key] = open(path, "wb")  # closed by run() with the others
                    state["writer"] = UlogWriter(files[key], self.start_us, c.sysid)
                    state["last_ms"] = meta[2]
                if meta[0] != "NAMED_VALUE_FLOAT":  # a reading may be stamped late
                    state["last_ms"] = max(state["last_ms"], meta[2])
                state["writer"].mavlink(t, decoder.decode(bytearray(data)), meta[2])
            send(t, data, meta)
        return tap

    # ------------------------------------------------------------------ main loop
    def run(self) -> SimResult:
        """Fly; returns when the vehicle has landed and disarmed (unless ``stay``)."""
        c = self.config
        files = self._open_outputs()
        link = None
        try:
            if c.connect:
                link = open_connection(c.connect, c.baud)
            for sp in self.serial_outputs:
                self.serial_paths.append(sp.open())
                if sp.spec.device == "pty" or not c.quiet:
                    print(f"firmware-sim: serial payload {sp.spec.fmt} on {sp.path}",
                          file=sys.stderr, flush=True)
            if not c.quiet:
                src = self.mission.source
                print(f"firmware-sim: flying {src} -> {c.connect or 'no link'} "
                      f"(speedup {c.speedup:g}, seed {c.seed})", file=sys.stderr, flush=True)
            return self._run(files, link)
        finally:
            for fh in files.values():
                fh.close()
            for sp in self.serial_outputs:
                sp.close()
            if link is not None:
                try:
                    link.close()
                except Exception:
                    pass

    def _run(self, files: dict[str, IO], link) -> SimResult:
        c = self.config
        v = self.vehicle
        res = self.result
        start = self.start
        self._t_wall0 = time.perf_counter()
        sysid = c.sysid
        log = FaultLog(files.get("faults_log"))
        tlog = TlogWriter(files["tlog"], self.start_us) if "tlog" in files else None
        link_write = link.write if link is not None else None

        def deliver(t: float, data: bytes, meta) -> None:
            if link_write is not None:
                try:
                    link_write(data)
                except Exception:
                    pass
            if tlog is not None:
                tlog.write(t, data, meta is None)

        if self.faults.link_active:
            imp = Impairer(self.faults, c.seed, log,
                           deliver, (lambda: tlog.offset) if tlog else (lambda: None))
            send = imp.send
        else:
            imp = None
            send = deliver
        if "ulog" in files:
            send = self._ulog_tap(files, send)
        ap = Autopilot(v, self.mission, sysid, send, self.faults, log, self.start_us,
                       c.wait_for_start, intervals=c.stream_intervals, key=c.key)
        ap.wind_at = self.field.wind_at
        if self.faults.clock:
            log.write("clock", 0.0, time_boot_ms=0, seconds=self.faults.clock)

        track_w = None
        if "track" in files:
            track_w = csv.writer(files["track"], lineterminator="\n")
            track_w.writerow(TRACK_COLUMNS)
            home_alt = self.mission.home[2]

            def on_position(t_ms: int) -> None:
                lat, lon = v.latlon()
                track_w.writerow([ap.boot_ms(t_ms), iso(start, t_ms / 1000), f"{lat:.9f}",
                                  f"{lon:.9f}", f"{home_alt + v.u:.3f}", f"{v.u:.3f}"])
            ap.on_position = on_position
        truth_w = None
        if "truth" in files:
            truth_w = csv.writer(files["truth"], lineterminator="\n")
            truth_w.writerow(TRUTH_COLUMNS)

        sensors = [Sensor(s, self._value_at, c.seed, i) for i, s in enumerate(self.sensor_specs)]
        from .gusts import MastWriter, SonicWriter

        mast = MastWriter(files["wind_file"]) if "wind_file" in files else None
        sonic = (SonicWriter(files["sonic_file"], c.sonic_hz, seed=c.seed)
                 if "sonic_file" in files else None)
        units = self.field.units
        home_alt = self.mission.home[2]
        frame = v.frame

        parser = mavlink2.MAVLink(None, srcSystem=sysid, srcComponent=1)
        parser.robust_parsing = True
        ap.setup_parser(parser)
        recv = link.recv if link is not None else None

        def poll(t_ms: int) -> None:
            for _ in range(64):
                try:
                    data = recv(4096)
                except Exception:
                    return
                if not data:
                    return
                try:
                    msgs = parser.parse_buffer(data)
                except Exception:
                    continue
                for msg in msgs or ():
                    try:
                        ap.handle(msg, t_ms)
                    except Exception:  # a malformed request must never stop the vehicle
                        pass

        dt_ms = max(1, round(c.dt * 1000))
        dt = dt_ms / 1000.0
        t_ms = 0
        flights_started = 0
        next_start_ms = int(c.arm_delay * 1000)
        linger_until: int | None = None
        speedup = c.speedup
        wall0 = time.perf_counter()
        pace_base_t = 0
        poll_every = 1 if speedup > 0 else 20
        step_i = 0
        max_ms = None if c.max_time is None else int(c.max_time * 1000)
        self.started.set()
        readings = 0
        while not self._stop.is_set():
            # ---- input from the ground station
            if recv is not None and step_i % poll_every == 0:
                poll(t_ms)
            step_i += 1
            # ---- automatic start (and --repeat)
            flying = v.armed or not v.landed
            if not c.wait_for_start and not flying and flights_started < c.repeat \
                    and t_ms >= next_start_ms and linger_until is None:
                if v.start_mission(0):
                    flights_started += 1
            elif c.wait_for_start and ap.start_requested and flights_started == 0:
                flights_started = 1
            # ---- physics
            pe, pn, pu = v.e, v.n, v.u
            v.step(dt)
            t1 = t_ms + dt_ms
            self.field.advance(t1 / 1000.0)
            if mast is not None:
                mast.step(t1, iso(start, t1 / 1000), self.field.wind_at)
            if sonic is not None:
                sonic.step(t1, iso(start, t1 / 1000), v, self.field.wind_at)
            ne, nn, nu = v.e, v.n, v.u

            def pos(tm: int, t0=t_ms, pe=pe, pn=pn, pu=pu, ne=ne, nn=nn, nu=nu):
                f = (tm - t0) / dt_ms
                return pe + (ne - pe) * f, pn + (nn - pn) * f, pu + (nu - pu) * f

            # ---- payload
            if t1 >= ap.silent_until_ms:
                for s in sensors:
                    for r in s.advance(t_ms, t1, pos):
                        spec = r.spec
                        sample_ms = round(r.t_sample * 1000)
                        boot = ap.boot_ms(sample_ms + round(spec.time_offset_s * 1000))
                        ap.named_float(spec.name, r.reported, boot, t1)
                        readings += 1
                        if truth_w is not None:
                            lat, lon = frame.to_latlon(r.e, r.n)
                            truth_w.writerow([
                                sysid, spec.sensor_id, spec.name, spec.quantity,
                                units[spec.quantity], boot, iso(start, r.t_sample),
                                f"{lat:.9f}", f"{lon:.9f}", f"{home_alt + r.u:.3f}",
                                f"{r.u:.3f}", f"{r.true_value:.9g}", repr(r.reported)])
            else:
                for s in sensors:  # the payload is down while the autopilot reboots
                    s.advance(t_ms, t1, pos)
            # ---- serial payloads: their own line, their own power (reboots do not stop them)
            for sp in self.serial_outputs:
                sp.drain()
                for chans in sp.advance(t_ms, t1, pos, t1 / 1000.0, log):
                    if truth_w is None:
                        continue
                    for r, wire in zip(chans, sp.truth_values(chans), strict=True):
                        lat, lon = frame.to_latlon(r.e, r.n)
                        truth_w.writerow([
                            sysid, sp.spec.fmt, r.spec.name, r.spec.quantity,
                            units[r.spec.quantity], ap.boot_ms(round(r.t_sample * 1000)),
                            iso(start, r.t_sample), f"{lat:.9f}", f"{lon:.9f}",
                            f"{home_alt + r.u:.3f}", f"{r.u:.3f}", f"{r.true_value:.9g}",
                            repr(wire)])
            # ---- telemetry and link
            ap.telemetry(t1)
            if imp is not None:
                imp.flush(t1 / 1000.0)
            t_ms = t1
            # ---- end of flight
            if v.finished and linger_until is None and not flying_check(v):
                v.finished = False
                res.flights += 1
                if flights_started < c.repeat and not c.wait_for_start:
                    next_start_ms = t_ms + 5000
                elif c.wait_for_start and c.stay:
                    ap.start_requested = False
                    flights_started = 0
                elif not c.stay:
                    linger_until = t_ms + 1500
            if linger_until is not None and t_ms >= linger_until:
                break
            if max_ms is not None and t_ms >= max_ms:
                break
            # ---- pacing
            eff = speedup
            if (eff <= 0 and link is not None and not flying_check(v) and (
                    c.stay or c.wait_for_start) and flights_started == 0) or (
                    eff <= 0 and c.stay and res.flights > 0 and not flying_check(v)):
                eff = 1.0  # waiting on the ground: real time, not a busy loop
            if eff > 0:
                if eff != getattr(self, "_eff", None):
                    self._eff = eff
                    wall0 = time.perf_counter()
                    pace_base_t = t_ms
                target = wall0 + (t_ms - pace_base_t) / 1000.0 / eff
                ahead = target - time.perf_counter()
                if ahead > 0.001:
                    time.sleep(ahead)
        if imp is not None:
            imp.drain()
        res.sim_time = t_ms / 1000.0
        res.wall_time = time.perf_counter() - getattr(self, "_t_wall0", wall0)
        res.readings = readings
        res.counts = dict(ap.counts)
        res.messages = sum(ap.counts.values())
        res.faults = dict(log.counts)
        res.tlog_records = tlog.records if tlog else 0
        res.serial_frames = {sp.spec.fmt: sp.frames for sp in self.serial_outputs}
        self.autopilot = ap
        return res


def flying_check(v: Vehicle) -> bool:
    """True while the vehicle is armed or in the air."""
    return v.armed or not v.landed


def run_simulation(**kwargs) -> SimResult:
    """Build a :class:`SimConfig` from keyword arguments and run it.

    Examples
    --------
    >>> run_simulation(mission="missions/pm-profile.plan", connect=None,
    ...                speedup=0, seed=3)  # doctest: +SKIP
    """
    return Simulation(SimConfig(**kwargs)).run()
