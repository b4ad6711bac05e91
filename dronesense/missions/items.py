"""The mission data model: :class:`MissionItem`, :class:`Home` and :class:`Mission`.

A :class:`Mission` holds the planned home position separately from its items. That is how
QGroundControl ``.plan`` files keep it (``plannedHomePosition``); on the MAVLink wire an
ArduPilot vehicle (and ``firmware_sim``) reports home as item 0, and Mission Planner
``.waypoints`` files store it as row 0. The readers, writers and the protocol client add or
strip that extra item, so ``Mission.items`` never contains home.

Examples
--------
>>> home = Home(51.0, 7.0, 40.0)
>>> wp = MissionItem.waypoint(51.001, 7.0, 30.0, hold=5)
>>> m = Mission(home=home, items=[MissionItem.takeoff(home, 30.0), wp])
>>> [item.name for item in m.items]
['NAV_TAKEOFF', 'NAV_WAYPOINT']
>>> m.items[1].params
(5.0, 0.0, 0.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# MAV_CMD ids used by dronesense.
NAV_WAYPOINT = 16
NAV_LOITER_UNLIM = 17
NAV_LOITER_TURNS = 18
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_LAND = 21
NAV_TAKEOFF = 22
NAV_SPLINE_WAYPOINT = 82
NAV_DELAY = 93
CONDITION_DELAY = 112
CONDITION_YAW = 115
DO_JUMP = 177
DO_CHANGE_SPEED = 178
DO_SET_HOME = 179
DO_SET_ROI = 201
MISSION_START = 300

#: short names of the commands above (``MAV_CMD_`` prefix dropped)
COMMAND_NAMES = {
    NAV_WAYPOINT: "NAV_WAYPOINT",
    NAV_LOITER_UNLIM: "NAV_LOITER_UNLIM",
    NAV_LOITER_TURNS: "NAV_LOITER_TURNS",
    NAV_LOITER_TIME: "NAV_LOITER_TIME",
    NAV_RETURN_TO_LAUNCH: "NAV_RETURN_TO_LAUNCH",
    NAV_LAND: "NAV_LAND",
    NAV_TAKEOFF: "NAV_TAKEOFF",
    NAV_SPLINE_WAYPOINT: "NAV_SPLINE_WAYPOINT",
    NAV_DELAY: "NAV_DELAY",
    CONDITION_DELAY: "CONDITION_DELAY",
    CONDITION_YAW: "CONDITION_YAW",
    DO_JUMP: "DO_JUMP",
    DO_CHANGE_SPEED: "DO_CHANGE_SPEED",
    DO_SET_HOME: "DO_SET_HOME",
    DO_SET_ROI: "DO_SET_ROI",
}

#: commands whose param5/param6/param7 are a position the vehicle flies to
POSITION_COMMANDS = frozenset(
    {NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TURNS, NAV_LOITER_TIME, NAV_LAND, NAV_TAKEOFF,
     NAV_SPLINE_WAYPOINT}
)

# MAV_FRAME ids.
FRAME_GLOBAL = 0
FRAME_MISSION = 2
FRAME_GLOBAL_RELATIVE_ALT = 3
FRAME_GLOBAL_INT = 5
FRAME_GLOBAL_RELATIVE_ALT_INT = 6
FRAME_GLOBAL_TERRAIN_ALT = 10
FRAME_GLOBAL_TERRAIN_ALT_INT = 11
#: frames whose x/y are latitude/longitude
GLOBAL_FRAMES = frozenset(
    {FRAME_GLOBAL, FRAME_GLOBAL_RELATIVE_ALT, FRAME_GLOBAL_INT, FRAME_GLOBAL_RELATIVE_ALT_INT,
     FRAME_GLOBAL_TERRAIN_ALT, FRAME_GLOBAL_TERRAIN_ALT_INT}
)
#: frames whose altitude is above mean sea level
AMSL_FRAMES = frozenset({FRAME_GLOBAL, FRAME_GLOBAL_INT})
#: frames whose altitude is above the terrain below the vehicle
TERRAIN_FRAMES = frozenset({FRAME_GLOBAL_TERRAIN_ALT, FRAME_GLOBAL_TERRAIN_ALT_INT})
#: the altitude frames a pattern can be generated in, by name
FRAMES_BY_NAME = {
    "relative": FRAME_GLOBAL_RELATIVE_ALT,
    "amsl": FRAME_GLOBAL,
    "terrain": FRAME_GLOBAL_TERRAIN_ALT,
}

# MAV_AUTOPILOT ids used in QGC plans.
AUTOPILOT_GENERIC = 0
AUTOPILOT_ARDUPILOT = 3
AUTOPILOT_PX4 = 12
# MAV_TYPE id of a quadrotor.
VEHICLE_QUADROTOR = 2


def command_name(command: int) -> str:
    """Name of a MAV_CMD id without the ``MAV_CMD_`` prefix (the number if unknown).

    Examples
    --------
    >>> command_name(178), command_name(31337)
    ('DO_CHANGE_SPEED', '31337')
    """
    if command in COMMAND_NAMES:
        return COMMAND_NAMES[command]
    try:
        from pymavlink.dialects.v20 import common

        entry = common.enums["MAV_CMD"].get(command)
    except ImportError:  # pragma: no cover - pymavlink is a dependency
        entry = None
    if entry is not None and entry.name.startswith("MAV_CMD_"):
        return entry.name[len("MAV_CMD_"):]
    return str(command)


def float32(value: float) -> float:
    """The shortest decimal that survives a trip through a MAVLink float32 field.

    Examples
    --------
    >>> float32(12.34), float32(float("nan"))
    (12.34, nan)
    """
    value = float(value)
    if not math.isfinite(value):
        return value
    return float(str(np.float32(value)))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@dataclass(frozen=True, eq=False)
class MissionItem:
    """One mission item, as in MISSION_ITEM_INT (latitude/longitude in degrees).

    Parameters
    ----------
    command
        MAV_CMD id, e.g. 16 for NAV_WAYPOINT.
    frame
        MAV_FRAME id: 3 (GLOBAL_RELATIVE_ALT, height above home, the default), 0 (GLOBAL,
        above mean sea level), 10 (GLOBAL_TERRAIN_ALT, above terrain), 2 (MISSION, for
        commands without a position).
    params
        param1..param4; NaN means "unset / use the default" as in MAVLink.
    lat, lon, alt
        param5 (x), param6 (y), param7 (z).
    autocontinue
        Continue to the next item once this one is done.

    Notes
    -----
    Equality treats NaN as equal to NaN, so an item equals its copy read back from a file.

    Examples
    --------
    >>> MissionItem(16, 3, (0, 0, 0, 0), 51.0, 7.0, 30.0) == MissionItem.waypoint(51, 7, 30)
    True
    """

    command: int
    frame: int = FRAME_GLOBAL_RELATIVE_ALT
    params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    lat: float = 0.0
    lon: float = 0.0
    alt: float = 0.0
    autocontinue: bool = True

    def __post_init__(self) -> None:
        params = tuple(float(p) for p in self.params)
        if len(params) != 4:
            raise ValueError(f"a mission item has 4 params before lat/lon/alt, got {params}")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "command", int(self.command))
        object.__setattr__(self, "frame", int(self.frame))
        for name in ("lat", "lon", "alt"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "autocontinue", bool(self.autocontinue))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MissionItem):
            return NotImplemented
        return (
            self.command == other.command
            and self.frame == other.frame
            and self.autocontinue == other.autocontinue
            and all(_same(a, b) for a, b in zip(self.all_params, other.all_params, strict=True))
        )

    def __hash__(self) -> int:
        return hash((self.command, self.frame, self.autocontinue,
                     tuple(0.0 if math.isnan(v) else v for v in self.all_params)))

    @property
    def all_params(self) -> tuple[float, ...]:
        """The seven MAVLink params: param1..param4, x (lat), y (lon), z (alt)."""
        return (*self.params, self.lat, self.lon, self.alt)

    @property
    def name(self) -> str:
        """Command name without the ``MAV_CMD_`` prefix, e.g. ``"NAV_WAYPOINT"``."""
        return command_name(self.command)

    @property
    def has_position(self) -> bool:
        """True for commands that fly to param5..7 in a global frame."""
        return self.command in POSITION_COMMANDS and self.frame in GLOBAL_FRAMES

    def height(self, home: Home) -> float:
        """Altitude above home in metres (terrain frames: assumed flat terrain at home)."""
        if self.frame in AMSL_FRAMES:
            return self.alt - home.alt
        return self.alt

    @classmethod
    def from_params(cls, command: int, frame: int, params: list[float] | tuple[float, ...],
                    autocontinue: bool = True) -> MissionItem:
        """Build an item from the seven MAVLink params (None is read as NaN).

        Examples
        --------
        >>> MissionItem.from_params(16, 3, [0, 0, 0, None, 51, 7, 30]).params[3]
        nan
        """
        values = [float("nan") if p is None else float(p) for p in params]
        if len(values) != 7:
            raise ValueError(f"expected 7 params, got {len(values)}")
        return cls(command, frame, tuple(values[:4]), values[4], values[5], values[6],
                   autocontinue)

    @classmethod
    def waypoint(cls, lat: float, lon: float, alt: float, *, hold: float = 0.0,
                 acceptance: float = 0.0, frame: int = FRAME_GLOBAL_RELATIVE_ALT) -> MissionItem:
        """NAV_WAYPOINT with a hold time (s) and acceptance radius (m; 0 = autopilot default)."""
        return cls(NAV_WAYPOINT, frame, (hold, acceptance, 0.0, 0.0), lat, lon, alt)

    @classmethod
    def takeoff(cls, home: Home, alt: float, *,
                frame: int = FRAME_GLOBAL_RELATIVE_ALT) -> MissionItem:
        """NAV_TAKEOFF straight up from home to ``alt`` (in ``frame``)."""
        return cls(NAV_TAKEOFF, frame, (0.0, 0.0, 0.0, 0.0), home.lat, home.lon, alt)

    @classmethod
    def change_speed(cls, speed: float, *, speed_type: int = 1) -> MissionItem:
        """DO_CHANGE_SPEED: ``speed_type`` 0 airspeed, 1 ground speed, 2 climb, 3 descent."""
        return cls(DO_CHANGE_SPEED, FRAME_MISSION, (float(speed_type), speed, -1.0, 0.0))

    @classmethod
    def return_to_launch(cls) -> MissionItem:
        """NAV_RETURN_TO_LAUNCH: fly home and land."""
        return cls(NAV_RETURN_TO_LAUNCH, FRAME_MISSION)

    @classmethod
    def land(cls, lat: float, lon: float) -> MissionItem:
        """NAV_LAND at a position."""
        return cls(NAV_LAND, FRAME_GLOBAL_RELATIVE_ALT, (0.0, 0.0, 0.0, 0.0), lat, lon, 0.0)

    def as_float32(self) -> MissionItem:
        """This item as it comes back from a vehicle: lat/lon at 1e-7°, params as float32.

        Examples
        --------
        >>> MissionItem.waypoint(51.00000004, 7.0, 12.3456789).as_float32().lat
        51.0
        """
        lat, lon = self.lat, self.lon
        if self.frame in GLOBAL_FRAMES:
            lat = round(lat * 1e7) / 1e7
            lon = round(lon * 1e7) / 1e7
        else:
            lat, lon = float32(lat), float32(lon)
        return MissionItem(self.command, self.frame, tuple(float32(p) for p in self.params),
                           lat, lon, float32(self.alt), self.autocontinue)


@dataclass(frozen=True)
class Home:
    """The planned home (launch) position; ``alt`` is metres above mean sea level.

    Examples
    --------
    >>> Home(51.0, 7.0, 40.0).alt
    40.0
    """

    lat: float
    lon: float
    alt: float = 0.0

    def as_item(self) -> MissionItem:
        """Home as mission item 0 (NAV_WAYPOINT, frame GLOBAL, altitude AMSL)."""
        return MissionItem(NAV_WAYPOINT, FRAME_GLOBAL, (0.0, 0.0, 0.0, 0.0),
                           self.lat, self.lon, self.alt)

    @classmethod
    def from_item(cls, item: MissionItem) -> Home:
        """Home from mission item 0 (its altitude is taken as AMSL)."""
        return cls(item.lat, item.lon, item.alt)


@dataclass
class Mission:
    """A mission: planned home plus the items to fly (home is never one of ``items``).

    Parameters
    ----------
    home
        Planned home position (AMSL altitude).
    items
        Mission items, in order; item *i* here is MAVLink sequence number *i + 1* on an
        ArduPilot vehicle (sequence 0 is home).
    firmware_type
        MAV_AUTOPILOT of the plan (3 ArduPilot, 12 PX4, 0 generic).
    vehicle_type
        MAV_TYPE (2 quadrotor).
    cruise_speed, hover_speed
        Default speeds in m/s (QGC plan fields); the duration estimate uses ``hover_speed``
        for multirotors until a DO_CHANGE_SPEED item says otherwise.
    extras
        Parts of a ``.plan`` this package does not interpret (``geoFence``, ``rallyPoints``),
        kept so that a plan round-trips; ignored by equality.
    description
        Free text (pattern and parameters); ignored by equality and not stored in files.

    Examples
    --------
    >>> m = Mission(Home(51.0, 7.0, 40.0), [MissionItem.waypoint(51.001, 7.0, 30)])
    >>> m.wire_items()[0].frame, len(m.wire_items())
    (0, 2)
    >>> Mission.from_wire_items(m.wire_items()) == m
    True
    """

    home: Home
    items: list[MissionItem] = field(default_factory=list)
    firmware_type: int = AUTOPILOT_ARDUPILOT
    vehicle_type: int = VEHICLE_QUADROTOR
    cruise_speed: float = 15.0
    hover_speed: float = 5.0
    extras: dict = field(default_factory=dict, compare=False)
    description: str = field(default="", compare=False)

    def wire_items(self) -> list[MissionItem]:
        """The items as an ArduPilot vehicle stores them: home first (sequence 0)."""
        return [self.home.as_item(), *self.items]

    @classmethod
    def from_wire_items(cls, items: list[MissionItem], **kwargs) -> Mission:
        """Inverse of :meth:`wire_items`: item 0 is home."""
        if not items:
            raise ValueError("an ArduPilot mission has at least the home item")
        return cls(Home.from_item(items[0]), list(items[1:]), **kwargs)

    def positions(self) -> list[tuple[int, MissionItem]]:
        """``(index, item)`` of the items that fly to a position."""
        return [(i, item) for i, item in enumerate(self.items) if item.has_position]

    def as_float32(self) -> Mission:
        """This mission as it comes back from a vehicle (see :meth:`MissionItem.as_float32`)."""
        home = self.home.as_item().as_float32()
        return Mission(Home.from_item(home), [i.as_float32() for i in self.items],
                       self.firmware_type, self.vehicle_type, self.cruise_speed,
                       self.hover_speed, dict(self.extras), self.description)
