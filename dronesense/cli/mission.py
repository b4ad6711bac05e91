"""``dronesense mission``: plan sampling flights, check, convert, upload and download them.

Examples
--------
::

    dronesense mission profile --home 45.4363,9.2125,108 --levels 10:120:10 --hold 8 \\
        --out profile.plan --out profile.kml
    dronesense mission check profile.plan --endurance 20
    dronesense mission upload udpin:127.0.0.1:14550 profile.plan --start
    dronesense mission download udpin:127.0.0.1:14550 onboard.waypoints
    dronesense mission convert profile.plan profile.waypoints
    dronesense mission examples --out missions
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dronesense.cli.listen import add_signing_options
from dronesense.cli.options import (
    connection,
    finite,
    non_negative,
    output_dir,
    output_file,
    positive,
)
from dronesense.errors import InputError, ParameterError
from dronesense.missions import files, patterns
from dronesense.missions.checks import TARGETS, Limits, ensure_safe
from dronesense.missions.items import Home, Mission

__all__ = ["examples", "register"]

#: the example missions, as (file stem, builder)
EXAMPLE_NAMES = ("plume-box", "plume-curtain", "pm-profile")


def _floats(text: str, what: str, n: tuple[int, ...] | None = None) -> list[float]:
    """``a,b,c`` or ``start:stop:step`` (stop included) as floats."""
    try:
        if ":" in text:
            start, stop, step = (float(t) for t in text.split(":"))
            if step <= 0:
                raise ValueError
            count = int((stop - start) / step + 1e-9) + 1
            vals = [round(start + k * step, 6) for k in range(count)]
        else:
            vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"{what}: expected numbers like 10,20,30 or 10:120:10, "
                         f"got {text!r}") from None
    if n is not None and len(vals) not in n:
        raise InputError(f"{what}: expected {' or '.join(map(str, n))} numbers, got {text!r}")
    return vals


def _latlon(text: str, what: str) -> tuple[float, float]:
    lat, lon = _floats(text, what, (2,))
    return lat, lon


def _home(text: str) -> Home:
    vals = _floats(text, "--home", (2, 3))
    return Home(*vals)


def _polygon(text: str) -> list[tuple[float, float]]:
    return [_latlon(p, "--polygon") for p in text.replace(";", " ").split()]


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_height=None if args.max_height <= 0 else args.max_height,
        max_distance=None if args.max_distance <= 0 else args.max_distance,
        min_spacing=None if args.min_spacing <= 0 else args.min_spacing,
        endurance=None if args.endurance is None else args.endurance * 60.0,
        reserve=args.reserve / 100.0,
        target=None if args.target == "any" else args.target,
    )


def _summary(mission: Mission) -> str:
    est = patterns.estimate(mission)
    return f"{len(mission.items)} items, {est}"


def _write(mission: Mission, outs: list[str], limits: Limits) -> None:
    ensure_safe(mission, limits)
    for out in outs:
        if files.suffix_of(out) not in files.WRITABLE:
            raise InputError(f"cannot write missions as {files.suffix_of(out) or '(none)'} "
                             f"(use {', '.join(files.WRITABLE)})", path=out)
    for out in outs:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        files.write(mission, out)
        print(f"wrote {out}")
    if mission.description:
        print(mission.description)
    print(_summary(mission))


# ------------------------------------------------------------------ patterns
def _run_box(args) -> int:
    if args.polygon:
        poly = _polygon(args.polygon)
    elif args.centre and args.size:
        length, width = _floats(args.size.replace("x", ","), "--size", (2,))
        heading = patterns.crosswind_heading(args.heading, args.wind_from)
        poly = patterns.rectangle(*_latlon(args.centre, "--centre"), length, width, heading)
    else:
        raise InputError("give the area as --polygon, or as --centre and --size")
    m = patterns.box_survey(
        _home(args.home), poly, layers=_floats(args.layers, "--layers"), spacing=args.spacing,
        heading=args.heading, wind_from=args.wind_from, margin=args.margin, **_common(args))
    _write(m, args.out, _limits(args))
    return 0


def _run_profile(args) -> int:
    point = _latlon(args.point, "--point") if args.point else None
    m = patterns.vertical_profile(_home(args.home), _floats(args.levels, "--levels"),
                                  point=point, hold=args.hold, descend=args.descend,
                                  **_common(args))
    _write(m, args.out, _limits(args))
    return 0


def _run_curtain(args) -> int:
    try:
        low, high, step = (float(t) for t in args.heights.split(":"))
    except ValueError:
        raise InputError(f"--heights: expected MIN:MAX:STEP, got {args.heights!r}") from None
    m = patterns.curtain(
        _home(args.home), _latlon(args.source, "--source"), wind_from=args.wind_from,
        distance=args.distance, width=args.width, min_height=low, max_height=high,
        vertical_spacing=step, margin=args.margin, **_common(args))
    _write(m, args.out, _limits(args))
    return 0


def _run_box_flux(args) -> int:
    try:
        low, high, step = (float(t) for t in args.heights.split(":"))
    except ValueError:
        raise InputError(f"--heights: expected MIN:MAX:STEP, got {args.heights!r}") from None
    m = patterns.box_flux(
        _home(args.home), _latlon(args.centre, "--centre"), size=args.size, min_height=low,
        max_height=high, vertical_spacing=step, heading=args.heading, **_common(args))
    _write(m, args.out, _limits(args))
    return 0


def _run_orbit(args) -> int:
    m = patterns.stack_orbit(
        _home(args.home), _latlon(args.centre, "--centre"),
        heights=_floats(args.heights, "--heights"), radii=_floats(args.radii, "--radii"),
        max_chord=args.max_chord, clockwise=not args.counterclockwise, **_common(args))
    _write(m, args.out, _limits(args))
    return 0


#: library parameters an option of another name sets, per action
ALIASES = {
    "box": {"length": "size", "width": "size", "lat": "centre", "lon": "centre"},
    "curtain": {"min_height": "heights", "max_height": "heights",
                "vertical_spacing": "heights"},
    "box-flux": {"min_height": "heights", "max_height": "heights",
                 "vertical_spacing": "heights"},
}


def _naming_options(run, parser: argparse.ArgumentParser, aliases: dict[str, str]):
    """``run`` with a :class:`ParameterError` named by the option of ``parser`` that sets it."""
    def wrapped(args) -> int:
        try:
            return run(args)
        except ParameterError as err:
            dest = aliases.get(err.parameter, err.parameter)
            option = next((a.option_strings[0] for a in parser._actions
                           if a.dest == dest and a.option_strings), None)
            if option is None:
                raise
            # a plain InputError: the message is final, nothing renames the option again
            raise InputError(f"{option}: {err.detail}", path=err.path) from None
    return wrapped


def _common(args) -> dict:
    return {"speed": args.speed, "acceptance": args.acceptance, "frame": args.frame,
            "end": None if args.end == "none" else args.end}


# ------------------------------------------------------------------ examples
def examples() -> dict[str, Mission]:
    """The example missions (``missions/*.plan``), by file stem.

    - ``plume-box``: five 260 m lawnmower lines across a south-westerly wind (from 240°),
      150-450 m downwind of the digester stack of a wastewater plant near Cologne, 75 m
      apart, at 20, 35 and 50 m; home 60 m downwind and 160 m to the side of the stack.
    - ``plume-curtain``: a downwind curtain 150 m from the same stack, 200 m wide, transects
      every 5 m from 5 to 60 m, for a mass-balance emission estimate (``dronesense flux``).
    - ``pm-profile``: a vertical profile beside a wastewater plant near Milan, 10 to 120 m
      every 10 m with an 8 s hold at each level, through a ~65 m PM mixing layer, then land.

    Examples
    --------
    >>> sorted(examples())
    ['plume-box', 'plume-curtain', 'pm-profile']
    """
    from dronesense.geo import LocalFrame

    stack, wind_from = (50.9934, 6.9877), 240.0
    down = patterns.unit_vectors(wind_from + 180.0)[0]
    cross = patterns.unit_vectors(wind_from + 90.0)[0]
    frame = LocalFrame(stack[0], stack[1], 0.0)

    def at(x: float, y: float) -> tuple[float, float]:
        lat, lon, _ = frame.inverse(*(x * down + y * cross), 0.0)
        return round(float(lat), 7), round(float(lon), 7)

    home = Home(*at(60.0, -160.0), 42.0)
    box = patterns.box_survey(
        home, patterns.rectangle(*at(300.0, 0.0), 240.0, 300.0, heading=wind_from + 90.0),
        layers=[20, 35, 50], spacing=75.0, wind_from=wind_from, margin=10.0, speed=12.0,
        acceptance=3.0)
    curtain = patterns.curtain(home, stack, wind_from=wind_from, distance=150.0, width=200.0,
                               min_height=5.0, max_height=60.0, vertical_spacing=5.0,
                               speed=6.0)
    site = (45.4363, 9.2125)
    profile = patterns.vertical_profile(Home(*site, 108.0), list(range(10, 130, 10)), hold=8.0,
                                        speed=3.0, end="land")
    return {"plume-box": box, "plume-curtain": curtain, "pm-profile": profile}


def _run_examples(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    limits = Limits(target="firmware_sim")
    for name, mission in examples().items():
        ensure_safe(mission, limits, source=name)
        path = out / f"{name}.plan"
        files.write(mission, path)
        print(f"wrote {path}: {mission.description}; {_summary(mission)}")
    return 0


# ------------------------------------------------------------------ files and vehicles
def _run_check(args) -> int:
    mission = files.read(args.file)
    ensure_safe(mission, _limits(args), source=args.file)
    print(f"{args.file}: OK, {_summary(mission)}")
    return 0


def _run_convert(args) -> int:
    mission = files.read(args.input)
    ensure_safe(mission, _limits(args), source=args.input)
    _write(mission, [args.output], _limits(args))
    return 0


def _client(args):
    os.environ.setdefault("MAVLINK20", "1")
    from pymavlink import mavutil

    from dronesense.cli.listen import signing_key
    from dronesense.missions.protocol import MissionClient
    from dronesense.sources.signing import Signer

    key = signing_key(args)
    try:
        conn = mavutil.mavlink_connection(args.conn, source_system=args.source_system,
                                          source_component=190)
    except Exception as err:  # pymavlink raises bare OSErrors and SerialExceptions
        raise InputError(f"cannot open connection: {err}", path=args.conn) from None
    signer = None
    if key is not None:  # sign what goes out, refuse what is not signed with the key
        signer = Signer(key, link_id=1)
        signer.setup(conn.mav)
        del key
    client = MissionClient(conn, target_system=args.sysid, timeout=args.timeout,
                           retries=args.retries, where=args.conn)
    client.signer = signer
    try:
        client.connect(timeout=args.wait)
    except BaseException:
        _close(conn, client)
        raise
    return conn, client


def _close(conn, client) -> None:
    """Close the connection; keep the signing timestamps (replays refused next time)."""
    signer = getattr(client, "signer", None)
    if signer is not None:
        signer.update_from(conn.mav)
        signer.save()
    conn.close()


def _run_upload(args) -> int:
    mission = files.read(args.file)
    ensure_safe(mission, _limits(args), source=args.file)
    conn, client = _client(args)
    try:
        stats = client.upload(mission)
        print(f"uploaded {args.file} to system {client.target_system}: {stats.items} items "
              f"in {stats.seconds:.2f} s ({stats.resends} resends); {_summary(mission)}")
        if args.start:
            client.start()
            print("mission started")
    finally:
        _close(conn, client)
    return 0


def _run_download(args) -> int:
    if files.suffix_of(args.file) not in files.WRITABLE:
        raise InputError(f"cannot write missions as {files.suffix_of(args.file) or '(none)'}",
                         path=args.file)
    conn, client = _client(args)
    try:
        mission = client.download()
    finally:
        _close(conn, client)
    files.write(mission, args.file)
    stats = client.stats
    print(f"downloaded {stats.items} items from system {client.target_system} in "
          f"{stats.seconds:.2f} s ({stats.resends} resends) to {args.file}; "
          f"{_summary(mission)}")
    return 0


# ------------------------------------------------------------------ parser
def _add_limits(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("safety checks (nothing is written or uploaded if one fails)")
    g.add_argument("--max-height", type=positive, default=120.0, metavar="M",
                   help="maximum height above home, m (default 120; 0 = no check)")
    g.add_argument("--max-distance", type=positive, default=1000.0, metavar="M",
                   help="maximum horizontal distance from home, m (default 1000; 0 = none)")
    g.add_argument("--min-spacing", type=non_negative, default=5.0, metavar="M",
                   help="minimum distance between consecutive waypoints, m (default 5)")
    g.add_argument("--endurance", type=positive, metavar="MIN",
                   help="flight endurance in minutes (default: not checked)")
    g.add_argument("--reserve", type=non_negative, default=20.0, metavar="PCT",
                   help="endurance reserve, percent (default 20)")
    g.add_argument("--target", default="ardupilot", choices=[*TARGETS, "any"],
                   help="autopilot that must be able to fly every item (default ardupilot)")


def _add_pattern(sub, name: str, help: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    p.add_argument("--home", required=True, metavar="LAT,LON[,ALT]",
                   help="planned home (take-off) position; ALT in m above mean sea level")
    p.add_argument("--out", "-o", action="append", required=True, type=output_file, metavar="FILE",
                   help="output file (.plan, .waypoints, .kml, .geojson); repeatable")
    p.add_argument("--speed", type=positive, default=5.0, help="ground speed, m/s (default 5)")
    p.add_argument("--acceptance", type=non_negative, default=0.0, metavar="M",
                   help="waypoint acceptance radius, m (default 0: the autopilot's own)")
    p.add_argument("--frame", default="relative", choices=["relative", "amsl", "terrain"],
                   help="altitude frame of the items (default relative to home)")
    p.add_argument("--end", default="rtl", choices=["rtl", "land", "none"],
                   help="what to do at the end (default rtl)")
    _add_limits(p)
    return p


def _add_link(p: argparse.ArgumentParser) -> None:
    p.add_argument("conn", type=connection,
                   help="pymavlink connection: udpin:HOST:PORT, udpout:, tcp:, "
                                "tcpin:, or a serial device")
    p.add_argument("--sysid", type=int, help="vehicle system id (default: the first heard)")
    p.add_argument("--source-system", type=int, default=255,
                   help="our MAVLink system id (default 255)")
    p.add_argument("--timeout", type=positive, default=1.5,
                   help="seconds to wait for each reply (default 1.5)")
    p.add_argument("--retries", type=int, default=5, help="resends before giving up (5)")
    p.add_argument("--wait", type=positive, default=15.0,
                   help="seconds to wait for the vehicle's heartbeat (default 15)")
    add_signing_options(p)


def register(subparsers) -> None:
    """Add the ``mission`` sub-command and its actions."""
    top = subparsers.add_parser(
        "mission", help="plan, check, convert, upload and download sampling missions",
        description="Sampling missions: generate patterns, check them, convert between "
                    "QGroundControl .plan and Mission Planner .waypoints, and upload or "
                    "download them over MAVLink. See docs/missions.md.")
    sub = top.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = _add_pattern(sub, "box", "lawnmower box survey over several altitude layers")
    p.add_argument("--polygon", metavar="'LAT,LON LAT,LON ...'", help="survey area corners")
    p.add_argument("--centre", "--center", metavar="LAT,LON", help="centre of a rectangle")
    p.add_argument("--size", metavar="LENGTHxWIDTH",
                   help="rectangle size, m: LENGTH along the lines, WIDTH across them")
    p.add_argument("--layers", required=True, metavar="H1,H2,...",
                   help="layer heights above home, m (or START:STOP:STEP)")
    p.add_argument("--spacing", type=positive, required=True, help="line spacing, m")
    p.add_argument("--heading", type=finite, help="line direction, degrees (default: across "
                                                  "the wind)")
    p.add_argument("--wind-from", type=finite, metavar="DEG", help="wind direction (from)")
    p.add_argument("--margin", type=non_negative, default=10.0,
                   help="turnaround margin beyond the area, m (default 10)")
    p.set_defaults(func=_run_box)

    p = _add_pattern(sub, "profile", "vertical profile through given levels")
    p.add_argument("--levels", required=True, metavar="H1,H2,...",
                   help="heights above home, m (or START:STOP:STEP)")
    p.add_argument("--point", metavar="LAT,LON", help="column position (default: home)")
    p.add_argument("--hold", type=non_negative, default=0.0, help="hold at each level, s")
    p.add_argument("--descend", action="store_true", help="also stop at each level going down")
    p.set_defaults(func=_run_profile)

    p = _add_pattern(sub, "curtain", "downwind curtain of crosswind transects (flux wall)")
    p.add_argument("--source", required=True, metavar="LAT,LON", help="emission source")
    p.add_argument("--wind-from", type=finite, required=True, metavar="DEG",
                   help="wind direction (from), degrees")
    p.add_argument("--distance", type=positive, required=True, help="metres downwind")
    p.add_argument("--width", type=positive, required=True, help="transect length, m")
    p.add_argument("--heights", required=True, metavar="MIN:MAX:STEP",
                   help="transect heights above home, m: lowest, highest, vertical spacing")
    p.add_argument("--margin", type=non_negative, default=10.0,
                   help="turnaround margin at each end, m (default 10)")
    p.set_defaults(func=_run_curtain)

    p = _add_pattern(sub, "box-flux", "closed square loops around an area source (box flux)")
    p.add_argument("--centre", "--center", required=True, metavar="LAT,LON",
                   help="the area source (centre of the box)")
    p.add_argument("--size", type=positive, required=True, help="side of the square, m")
    p.add_argument("--heights", required=True, metavar="MIN:MAX:STEP",
                   help="loop heights above home, m: lowest, highest, vertical spacing")
    p.add_argument("--heading", type=finite, default=0.0,
                   help="direction of the first side, degrees (default 0)")
    p.set_defaults(func=_run_box_flux)

    p = _add_pattern(sub, "orbit", "circles around a stack at several heights and radii")
    p.add_argument("--centre", "--center", required=True, metavar="LAT,LON",
                   help="the stack")
    p.add_argument("--heights", required=True, metavar="H1,H2,...", help="heights, m")
    p.add_argument("--radii", required=True, metavar="R1,R2,...", help="radii, m")
    p.add_argument("--max-chord", type=positive, default=15.0,
                   help="longest leg between waypoints on a circle, m (default 15)")
    p.add_argument("--counterclockwise", action="store_true", help="fly counter-clockwise")
    p.set_defaults(func=_run_orbit)

    p = sub.add_parser("check", help="run the safety checks on a mission file")
    p.add_argument("file", help=".plan or .waypoints")
    _add_limits(p)
    p.set_defaults(func=_run_check)

    p = sub.add_parser("convert", help="convert between .plan, .waypoints, .kml, .geojson")
    p.add_argument("input", help=".plan or .waypoints")
    p.add_argument("output", help=".plan, .waypoints, .kml or .geojson")
    _add_limits(p)
    p.set_defaults(func=_run_convert)

    p = sub.add_parser("upload", help="check a mission file and upload it to a vehicle")
    _add_link(p)
    p.add_argument("file", help=".plan or .waypoints")
    p.add_argument("--start", action="store_true", help="send MAV_CMD_MISSION_START after")
    _add_limits(p)
    p.set_defaults(func=_run_upload)

    p = sub.add_parser("download", help="download the vehicle's mission to a file")
    _add_link(p)
    p.add_argument("file", help=".plan, .waypoints, .kml or .geojson")
    p.set_defaults(func=_run_download)

    p = sub.add_parser("examples", help="regenerate the example missions (missions/*.plan)")
    p.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="output directory")
    p.set_defaults(func=_run_examples)

    for name, p in sub.choices.items():
        p.set_defaults(func=_naming_options(p.get_default("func"), p, ALIASES.get(name, {})))
