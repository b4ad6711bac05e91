"""The ``firmware-sim`` command.

Examples
--------
.. code-block:: console

   $ firmware-sim --mission missions/plume-box.plan --speedup 50 --seed 1 --truth t.csv
   $ firmware-sim --mission missions/plume-box.plan --truth-at voxels.csv true.csv
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from .autopilot import DEFAULT_INTERVALS
from .errors import SimError
from .faults import parse_faults
from .link import load_key
from .payload import sensors_from_field
from .sim import DEFAULT_START_UTC, SimConfig, Simulation
from .truth import write_truth_at
from .world import load_field

FAULT_HELP = """\
fault specs (--fault, repeatable; several may be joined by commas):
  loss=P          drop each packet with probability P
  corrupt=P       flip one random byte of a packet with probability P
  garbage=P       insert 1-32 random bytes before a packet with probability P
  delay=S         deliver every packet S seconds late
  jitter=S        add a random 0..S s to the delay (order is kept)
  reorder=P       hold a packet back and send it after the next one, probability P
  dup=P           deliver a packet twice (the same bytes right after it), probability P
  outage=A:B      drop everything sent from A to B s (radio drop-out)
  reboot=T        autopilot reboot at T s: 0.5 s silence, time_boot_ms and packet
                  sequence numbers restart from 0 (repeatable)
  gpsloss=A:B     no GPS fix from A to B s: fix_type 1, lat = lon = 0
  clock=S         SYSTEM_TIME UTC off by S seconds
  clockdrift=PPM  the vehicle clock runs PPM parts per million fast (negative: slow)
                  against true UTC
  clockjump=T:S   SYSTEM_TIME UTC steps by S seconds at T s (repeatable)
  systime_jitter=MS  SYSTEM_TIME UTC off by a uniform random +-MS milliseconds
Times are simulated seconds since start. Every fault that fires is written to
--faults-log as a JSON line: kind, t, time_boot_ms, msg, seq, offset (tlog byte offset).

outputs:
  --truth   CSV, one row per sensor reading: sysid,sensor,name,quantity,units,
            time_boot_ms,time_utc,lat,lon,alt_amsl,height,true_value,reported_value
  --track   CSV, true position at every GLOBAL_POSITION_INT:
            time_boot_ms,time_utc,lat,lon,alt_amsl,height
  --tlog    ground-station telemetry log: 8-byte big-endian UNIX us + packet
  --ulog    the autopilot's onboard log as PX4 writes it (ULog): vehicle_global_position,
            vehicle_gps_position (with time_utc_usec), home_position, debug_key_value (one
            per NAMED_VALUE_FLOAT reading), vehicle_status; link faults do not reach it
  --truth-at POINTS OUT
            the true field at given positions, without flying: POINTS is a CSV with
            columns lat,lon,alt_amsl (degrees, m above mean sea level); OUT gets
            lat,lon,alt_amsl and one column per quantity of the field, row for row

serial payloads (--serial-payload FORMAT:DEVICE[:BAUD][,garbage=P][,corrupt=P][,rate=HZ][,noise=X]):
  FORMAT is pms5003 (9600 baud), sds011 (9600) or sps30 (115200, SHDLC); DEVICE a serial
  port or 'pty' (a new pty; its path is printed). Real sensor frames at RATE (1 Hz), truth
  rows with sensor=FORMAT; garbage/corrupt damage the serial line (faults log:
  serial_garbage, serial_corrupt with the stream offset).
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit status 2)."""

    def error(self, message: str):
        """Print ``firmware-sim: error: MESSAGE`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message.removeprefix('argument ')}\n")


def _number(text: str, allowed: str, ok) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: expected {allowed}")
    return value


def non_negative(text: str) -> float:
    """``type=``: a finite number >= 0."""
    return _number(text, "a finite number >= 0", lambda v: v >= 0)


def positive(text: str) -> float:
    """``type=``: a finite number > 0."""
    return _number(text, "a finite number greater than 0", lambda v: v > 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``firmware-sim``."""
    p = _Parser(
        prog="firmware-sim",
        description="Simulated air-quality drone speaking MAVLink 2: flies a QGroundControl "
                    ".plan, samples a known field and reports NAMED_VALUE_FLOAT readings.",
        epilog=FAULT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mission", metavar="PLAN",
                   help="QGroundControl .plan file to fly (required, except with --truth-at "
                        "and --field)")
    p.add_argument("--field", metavar="TOML",
                   help="field and sensor file (default: the .toml beside the .plan)")
    p.add_argument("--connect", default="udpout:127.0.0.1:14550", metavar="CONN",
                   help="pymavlink connection string: udpout:HOST:PORT (default "
                        "%(default)s), udpin:, tcpin:HOST:PORT, tcp:, or a serial device; "
                        "'none' for no link")
    p.add_argument("--baud", type=int, default=57600, help="serial baud rate (%(default)s)")
    p.add_argument("--speedup", type=non_negative, default=1.0, metavar="X",
                   help="run X times faster than real time; 0 = as fast as possible")
    p.add_argument("--seed", type=int, default=0, help="random seed (%(default)s)")
    p.add_argument("--truth", metavar="CSV", help="write the truth of every sensor reading")
    p.add_argument("--track", metavar="CSV", help="write the true vehicle track")
    p.add_argument("--tlog", metavar="FILE", help="write the packet stream as a .tlog")
    p.add_argument("--ulog", metavar="OUT.ulg",
                   help="write the flight as the autopilot's onboard PX4 ULog")
    p.add_argument("--sysid", type=int, default=1, help="MAVLink system id (%(default)s)")
    p.add_argument("--stay", action="store_true",
                   help="after landing stay on the ground, connected, until stopped")
    p.add_argument("--wait-for-start", action="store_true",
                   help="sit on the ground until MAV_CMD_MISSION_START, or arm + AUTO mode")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="fly the mission N times (5 s on the ground between flights)")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="inject a fault (see below); repeatable")
    p.add_argument("--faults-log", metavar="JSONL", help="write every fault that fires")
    p.add_argument("--start-utc", default=DEFAULT_START_UTC, metavar="ISO",
                   help="UTC of the simulated boot, or 'now' (default %(default)s)")
    p.add_argument("--gps-noise", type=non_negative, default=0.0, metavar="M",
                   help="standard deviation of the reported GPS position error, m (0)")
    p.add_argument("--max-time", type=positive, metavar="S",
                   help="stop after S simulated seconds")
    p.add_argument("--serial-payload", action="append", default=[], metavar="SPEC",
                   help="also write a particle sensor's frames to a serial device, e.g. "
                        "pms5003:pty or sds011:/dev/pts/5,garbage=0.05 (repeatable)")
    p.add_argument("--stream", action="append", default=[], metavar="NAME=MS",
                   help="interval of one telemetry stream in ms, 0 = off, e.g. "
                        "GLOBAL_POSITION_INT=200 or ATTITUDE=0 (repeatable)")
    p.add_argument("--truth-at", nargs=2, metavar=("POINTS", "OUT"),
                   help="write the true field at the positions of CSV POINTS to CSV OUT "
                        "and exit without flying (see below)")
    p.add_argument("--key", metavar="PASSPHRASE",
                   help="MAVLink 2 signing: sign every packet with the SHA-256 of PASSPHRASE "
                        "and refuse commands, mission and parameter traffic not signed with it")
    p.add_argument("--key-file", metavar="FILE",
                   help="the same with a key file (32 raw bytes or 64 hex digits)")
    p.add_argument("--wind-file", metavar="CSV",
                   help="write the wind at a 10 m mast, one row a second (gusts included)")
    p.add_argument("--sonic-file", metavar="CSV",
                   help="write a sonic on the drone: body-frame u (right), v (forward), w (up) "
                   "of the air relative to the vehicle, attitude and velocity")
    p.add_argument("--sonic-hz", type=float, default=5.0, metavar="HZ",
                   help="rate of --sonic-file rows (%(default)s)")
    p.add_argument("--climb-rate", type=float, metavar="M_S",
                   help="climb and descent rate between waypoints, m/s (e.g. 0.5 as many "
                   "real pilots fly between passes)")
    p.add_argument("--quiet", action="store_true", help="no summary line")
    return p


def parse_streams(items: list[str]) -> dict[str, int]:
    """``["ATTITUDE=0", "GLOBAL_POSITION_INT=200"]`` -> intervals in ms by message name.

    Examples
    --------
    >>> parse_streams(["attitude=0", "GLOBAL_POSITION_INT=200"])
    {'ATTITUDE': 0, 'GLOBAL_POSITION_INT': 200}
    """
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or name not in DEFAULT_INTERVALS:
            raise SimError(f"--stream {item!r}: expected NAME=MS with NAME one of "
                           f"{', '.join(DEFAULT_INTERVALS)}")
        try:
            ms = int(value)
        except ValueError:
            raise SimError(f"--stream {item!r}: {value!r} is not a whole number of ms") from None
        if ms < 0:
            raise SimError(f"--stream {item!r}: the interval must be 0 (off) or positive")
        out[name] = ms
    return out


def _truth_at(args: argparse.Namespace) -> int:
    """``--truth-at POINTS OUT``: the field at the given positions, no flight."""
    field_path = args.field or Path(args.mission).with_suffix(".toml")
    try:
        rows = write_truth_at(load_field(field_path), *args.truth_at)
    except SimError as exc:
        print(f"firmware-sim: error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"wrote the true field at {rows} positions to {args.truth_at[1]}",
              file=sys.stderr)
    return 0


#: Largest sensor clock error or lag of a field file's ``[[sensor]]``, seconds (either sign).
MAX_SENSOR_TIME_S = 3600.0


def check_sensor_times(field_path: str | Path) -> None:
    """Refuse a field file whose sensors' ``time_offset_s`` or ``lag_s`` is beyond
    :data:`MAX_SENSOR_TIME_S` (a 2^31 s offset cannot be a boot time in milliseconds).

    Raises
    ------
    SimError
        One line naming the file, the sensor and the value.
    """
    field = load_field(field_path)
    for spec in sensors_from_field(field, field.source):
        for key in ("time_offset_s", "lag_s"):
            value = getattr(spec, key)
            if not abs(value) <= MAX_SENSOR_TIME_S:
                raise SimError(f"{field.source}: sensor {spec.name}: {key} {value:g} s is out "
                               f"of range (-{MAX_SENSOR_TIME_S:g} to {MAX_SENSOR_TIME_S:g} s)")


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (0 ok, 1 bad input, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.mission is None and not (args.truth_at and args.field):
        parser.error("the following arguments are required: --mission")
    if args.truth_at:
        return _truth_at(args)
    connect = None if args.connect.lower() in ("none", "") else args.connect
    if connect is None and not (args.tlog or args.ulog or args.truth or args.track):
        print("firmware-sim: --connect none needs --tlog, --ulog, --truth or --track",
              file=sys.stderr)
        return 2
    field_path = Path(args.field) if args.field else Path(args.mission).with_suffix(".toml")
    try:
        field_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        print(f"firmware-sim: error: {field_path}: not UTF-8 text (byte {exc.start}); a field "
              "file must be UTF-8 TOML", file=sys.stderr)
        return 1
    except OSError:
        pass  # reported where the field is loaded
    else:
        try:
            check_sensor_times(field_path)
        except SimError as exc:
            print(f"firmware-sim: error: {exc}", file=sys.stderr)
            return 1
    try:
        streams = parse_streams(args.stream)
        parse_faults(args.fault)  # bad specs are usage errors, found before anything runs
        key = load_key(args.key, args.key_file)
    except SimError as exc:
        print(f"firmware-sim: error: {exc}", file=sys.stderr)
        return 2
    cfg = SimConfig(mission=Path(args.mission), field=args.field, connect=connect,
                    baud=args.baud, speedup=args.speedup, seed=args.seed, truth=args.truth,
                    track=args.track, tlog=args.tlog, ulog=args.ulog, faults=args.fault,
                    faults_log=args.faults_log, sysid=args.sysid, stay=args.stay,
                    wait_for_start=args.wait_for_start, start_utc=args.start_utc,
                    repeat=args.repeat, gps_noise=args.gps_noise, max_time=args.max_time,
                    quiet=args.quiet, serial_payloads=args.serial_payload,
                    stream_intervals=streams, key=key, wind_file=args.wind_file,
                    sonic_file=args.sonic_file, sonic_hz=args.sonic_hz,
                    climb_rate=args.climb_rate)
    try:
        sim = Simulation(cfg)

        def _stop(signum, frame):
            sim.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        result = sim.run()
    except SimError as exc:
        print(f"firmware-sim: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if not args.quiet:
        print(result.summary(), file=sys.stderr)
    return 0
