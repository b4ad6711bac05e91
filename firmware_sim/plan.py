"""Read QGroundControl ``.plan`` files into a :class:`Mission`.

This is the simulator's own reader: it shares no code with ``dronesense`` so that a bug in
one cannot hide a bug in the other.

Examples
--------
>>> from firmware_sim.plan import load_plan
>>> mission = load_plan("missions/plume-box.plan")  # doctest: +SKIP
>>> mission.home  # doctest: +SKIP
(50.99..., 6.98..., 41.0)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import SimError

# MAV_CMD values the simulator flies or tolerates.
NAV_WAYPOINT = 16
NAV_LOITER_UNLIM = 17
NAV_LOITER_TURNS = 18
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_LAND = 21
NAV_TAKEOFF = 22
NAV_DELAY = 93
DO_JUMP = 177
DO_CHANGE_SPEED = 178

NAV_COMMANDS = {
    NAV_WAYPOINT: "WAYPOINT",
    NAV_LOITER_UNLIM: "LOITER_UNLIM",
    NAV_LOITER_TURNS: "LOITER_TURNS",
    NAV_LOITER_TIME: "LOITER_TIME",
    NAV_RETURN_TO_LAUNCH: "RETURN_TO_LAUNCH",
    NAV_LAND: "LAND",
    NAV_TAKEOFF: "TAKEOFF",
    NAV_DELAY: "DELAY",
}
#: DO_/CONDITION_ commands that are accepted and have no effect on the flight path
#: (camera, servo, relay, ROI, mount, ...), plus DO_JUMP and DO_CHANGE_SPEED which do.
DO_COMMANDS = {
    112: "CONDITION_DELAY",
    114: "CONDITION_DISTANCE",
    115: "CONDITION_YAW",
    DO_JUMP: "DO_JUMP",
    DO_CHANGE_SPEED: "DO_CHANGE_SPEED",
    179: "DO_SET_HOME",
    181: "DO_SET_RELAY",
    183: "DO_SET_SERVO",
    195: "DO_SET_ROI_LOCATION",
    197: "DO_SET_ROI_NONE",
    201: "DO_SET_ROI",
    203: "DO_DIGICAM_CONTROL",
    205: "DO_MOUNT_CONTROL",
    206: "DO_SET_CAM_TRIGG_DIST",
    530: "SET_CAMERA_MODE",
    2000: "IMAGE_START_CAPTURE",
    2001: "IMAGE_STOP_CAPTURE",
    2500: "VIDEO_START_CAPTURE",
    2501: "VIDEO_STOP_CAPTURE",
}
KNOWN_COMMANDS = {**NAV_COMMANDS, **DO_COMMANDS}

# MAV_FRAME values.
FRAME_GLOBAL = 0
FRAME_MISSION = 2
FRAME_GLOBAL_RELATIVE_ALT = 3
FRAME_GLOBAL_INT = 5
FRAME_GLOBAL_RELATIVE_ALT_INT = 6
FRAME_GLOBAL_TERRAIN_ALT = 10
FRAME_GLOBAL_TERRAIN_ALT_INT = 11
#: Altitudes (m, of home and of mission items in any frame) the simulator flies.
ALT_MIN_M = -1000.0
ALT_MAX_M = 20000.0
#: frames whose altitude is above mean sea level
AMSL_FRAMES = {FRAME_GLOBAL, FRAME_GLOBAL_INT}
#: frames whose altitude is above home (terrain is flat in the simulator)
RELATIVE_FRAMES = {
    FRAME_GLOBAL_RELATIVE_ALT,
    FRAME_GLOBAL_RELATIVE_ALT_INT,
    FRAME_GLOBAL_TERRAIN_ALT,
    FRAME_GLOBAL_TERRAIN_ALT_INT,
}
KNOWN_FRAMES = AMSL_FRAMES | RELATIVE_FRAMES | {FRAME_MISSION}


@dataclass(frozen=True)
class MissionItem:
    """One mission item, as in MISSION_ITEM_INT (lat/lon in degrees).

    Parameters
    ----------
    command : int
        MAV_CMD id.
    frame : int
        MAV_FRAME id.
    params : tuple of 7 float
        param1..param4, x (lat), y (lon), z (alt).
    autocontinue : bool
        Continue to the next item when this one completes.

    Examples
    --------
    >>> item = MissionItem(16, 3, (0, 2, 0, 0, 51.0, 7.0, 30.0))
    >>> item.lat, item.lon, item.alt
    (51.0, 7.0, 30.0)
    """

    command: int
    frame: int
    params: tuple[float, float, float, float, float, float, float]
    autocontinue: bool = True

    @property
    def lat(self) -> float:
        """Latitude in degrees (param5)."""
        return self.params[4]

    @property
    def lon(self) -> float:
        """Longitude in degrees (param6)."""
        return self.params[5]

    @property
    def alt(self) -> float:
        """Altitude in metres in the item's frame (param7)."""
        return self.params[6]

    @property
    def name(self) -> str:
        """Short command name, e.g. ``"WAYPOINT"``."""
        return KNOWN_COMMANDS.get(self.command, str(self.command))

    def height_above_home(self, home_alt_amsl: float) -> float:
        """Altitude of the item in metres above home (flat terrain)."""
        if self.frame in AMSL_FRAMES:
            return self.alt - home_alt_amsl
        return self.alt


@dataclass
class Mission:
    """A mission: home plus items (item 0 of the MAVLink list is home, not stored here).

    Examples
    --------
    >>> m = Mission(home=(51.0, 7.0, 40.0), items=[])
    >>> m.count_with_home
    1
    """

    home: tuple[float, float, float]
    items: list[MissionItem] = field(default_factory=list)
    cruise_speed: float = 10.0
    hover_speed: float = 5.0
    source: str = "<memory>"

    @property
    def count_with_home(self) -> int:
        """Number of items on the MAVLink wire (ArduPilot convention: seq 0 is home)."""
        return len(self.items) + 1

    def with_items(self, items: list[MissionItem]) -> Mission:
        """A copy of this mission with other items (e.g. after a mission upload)."""
        return replace(self, items=list(items), source="<uploaded>")


def check_item(item: MissionItem, where: str) -> None:
    """Raise :class:`SimError` if the simulator cannot fly ``item``.

    Parameters
    ----------
    item : MissionItem
    where : str
        Prefix for the error, e.g. ``"missions/a.plan: item 3"``.
    """
    if item.command not in KNOWN_COMMANDS:
        raise SimError(f"{where}: unknown mission item command {item.command}")
    if item.frame not in KNOWN_FRAMES:
        raise SimError(f"{where}: unsupported frame {item.frame} for {item.name}")
    if item.command in NAV_COMMANDS and item.command not in (NAV_RETURN_TO_LAUNCH, NAV_DELAY):
        if item.frame == FRAME_MISSION:
            raise SimError(f"{where}: {item.name} needs a global frame, got frame 2")
        for v in item.params[4:]:
            if not math.isfinite(v):
                raise SimError(f"{where}: {item.name} has a non-finite position")
        if not (-90 <= item.lat <= 90 and -180 <= item.lon <= 180):
            raise SimError(f"{where}: {item.name} position out of range")
        if not ALT_MIN_M <= item.alt <= ALT_MAX_M:
            raise SimError(f"{where}: {item.name} altitude {item.alt:g} m is out of range "
                           f"({ALT_MIN_M:g} to {ALT_MAX_M:g} m)")


def _num(value, where: str) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SimError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _simple_item(raw: dict, where: str) -> MissionItem:
    try:
        command = raw["command"]
        frame = raw.get("frame", FRAME_GLOBAL_RELATIVE_ALT)
        params = raw.get("params", [0, 0, 0, 0, 0, 0, 0])
    except (TypeError, KeyError) as exc:
        raise SimError(f"{where}: missing key {exc}") from None
    if not isinstance(command, int) or not isinstance(frame, int):
        raise SimError(f"{where}: command and frame must be integers")
    if not isinstance(params, list) or len(params) != 7:
        raise SimError(f"{where}: params must be a list of 7 numbers")
    values = [_num(p, where) for p in params]
    # QGC writes null for unused params (NaN in MAVLink); use 0 for them except lat/lon/alt.
    values = [0.0 if (math.isnan(v) and i < 4) else v for i, v in enumerate(values)]
    if command in DO_COMMANDS or command in (NAV_RETURN_TO_LAUNCH, NAV_DELAY):
        values = [0.0 if math.isnan(v) else v for v in values]
    item = MissionItem(command, frame, tuple(values), bool(raw.get("autoContinue", True)))
    check_item(item, where)
    return item


def parse_plan(text: str, source: str = "<plan>") -> Mission:
    """Parse the JSON text of a QGroundControl ``.plan``.

    Parameters
    ----------
    text : str
        The file contents.
    source : str
        File name used in error messages.

    Returns
    -------
    Mission

    Raises
    ------
    SimError
        One-line description naming ``source`` and the problem.

    Examples
    --------
    >>> import json
    >>> plan = {"fileType": "Plan", "version": 1, "mission": {"version": 2,
    ...   "plannedHomePosition": [51.0, 7.0, 40.0], "items": [
    ...   {"type": "SimpleItem", "command": 22, "frame": 3,
    ...    "params": [0, 0, 0, None, 0, 0, 20], "autoContinue": True, "doJumpId": 1}]}}
    >>> parse_plan(json.dumps(plan)).items[0].name
    'TAKEOFF'
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SimError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        raise SimError(f"{source}: not a QGroundControl plan (fileType must be \"Plan\")")
    mission = doc.get("mission")
    if not isinstance(mission, dict):
        raise SimError(f"{source}: no \"mission\" object")
    home = mission.get("plannedHomePosition")
    if not (isinstance(home, list) and len(home) == 3):
        raise SimError(f"{source}: mission.plannedHomePosition must be [lat, lon, alt]")
    home_t = tuple(_num(v, f"{source}: plannedHomePosition") for v in home)
    if not all(math.isfinite(v) for v in home_t) or not (
        -90 <= home_t[0] <= 90 and -180 <= home_t[1] <= 180
    ):
        raise SimError(f"{source}: plannedHomePosition out of range")
    if not ALT_MIN_M <= home_t[2] <= ALT_MAX_M:
        raise SimError(f"{source}: plannedHomePosition altitude {home_t[2]:g} m is out of "
                       f"range ({ALT_MIN_M:g} to {ALT_MAX_M:g} m)")
    raw_items = mission.get("items", [])
    if not isinstance(raw_items, list):
        raise SimError(f"{source}: mission.items must be a list")
    items: list[MissionItem] = []
    for i, raw in enumerate(raw_items):
        where = f"{source}: item {i + 1}"
        if not isinstance(raw, dict):
            raise SimError(f"{where}: not an object")
        kind = raw.get("type", "SimpleItem")
        if kind == "SimpleItem":
            items.append(_simple_item(raw, where))
        elif kind == "ComplexItem":
            raise SimError(
                f"{where}: complex item {raw.get('complexItemType', '?')!r} is not supported "
                "(convert it to simple waypoints in QGroundControl)"
            )
        else:
            raise SimError(f"{where}: unknown item type {kind!r}")
    cruise = _num(mission.get("cruiseSpeed", 10.0), f"{source}: cruiseSpeed")
    hover = _num(mission.get("hoverSpeed", 5.0), f"{source}: hoverSpeed")
    if not (0 < cruise <= 30) or not (0 < hover <= 30):
        raise SimError(f"{source}: cruiseSpeed/hoverSpeed must be in (0, 30] m/s")
    return Mission(home=home_t, items=items, cruise_speed=cruise, hover_speed=hover,
                   source=source)


def load_plan(path: str | Path) -> Mission:
    """Read a ``.plan`` file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Mission

    Raises
    ------
    SimError
        If the file cannot be read or is not a plan the simulator can fly.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SimError(f"{path}: not a UTF-8 text file") from None
    return parse_plan(text, str(path))
