"""QGroundControl ``.plan`` files (JSON, ``fileType`` "Plan", version 1, mission version 2).

Home is ``mission.plannedHomePosition`` (``[lat, lon, alt AMSL]``), *not* one of the items:
QGroundControl adds it as item 0 itself when it uploads to an ArduPilot vehicle, and so does
:mod:`dronesense.missions.protocol`.

Items are written as QGC ``SimpleItem`` objects: ``command``, ``frame``, seven ``params``
(NaN written as ``null``), ``autoContinue``, ``doJumpId`` (1, 2, ...; home is 0) and, for
items with an altitude, ``Altitude``, ``AltitudeMode`` (1 relative, 2 AMSL, 4 terrain frame)
and ``AMSLAltAboveTerrain`` (null). ``geoFence``, ``rallyPoints``, ``groundStation`` and
``globalPlanAltitudeMode`` are kept as read (empty, "dronesense" and 1 when written from
scratch). Reading a QGC survey or corridor ``ComplexItem`` flattens it to
the simple items QGC stored inside it; writing never produces complex items.

Keys are sorted and indented by 4 like QGroundControl's own files, and whole-number values are
written without a decimal point, so ``write(read(text)) == text`` for files dronesense wrote
(and for QGC plans made of simple items, as far as QGC's own number formatting allows).

Examples
--------
>>> from dronesense.missions.items import Home, Mission, MissionItem
>>> m = Mission(Home(51.0, 7.0, 40.0), [MissionItem.waypoint(51.001, 7.0, 30.0)])
>>> text = dumps(m)
>>> loads(text) == m and dumps(loads(text)) == text
True
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from dronesense.errors import InputError, read_text
from dronesense.missions.items import (
    AMSL_FRAMES,
    FRAME_GLOBAL_RELATIVE_ALT,
    POSITION_COMMANDS,
    TERRAIN_FRAMES,
    Home,
    Mission,
    MissionItem,
)

__all__ = ["dumps", "loads", "read", "write"]

#: QGroundControl AltitudeMode values (QGroundControlQmlGlobal::AltMode)
ALTITUDE_MODE_RELATIVE = 1
ALTITUDE_MODE_ABSOLUTE = 2
ALTITUDE_MODE_TERRAIN_FRAME = 4


def _num(value: float) -> float | int | None:
    """JSON value of a number: NaN -> null, whole numbers without a decimal point."""
    value = float(value)
    if math.isnan(value):
        return None
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _altitude_mode(frame: int) -> int:
    if frame in AMSL_FRAMES:
        return ALTITUDE_MODE_ABSOLUTE
    if frame in TERRAIN_FRAMES:
        return ALTITUDE_MODE_TERRAIN_FRAME
    return ALTITUDE_MODE_RELATIVE


def _item_json(item: MissionItem, jump_id: int) -> dict:
    out: dict = {
        "autoContinue": item.autocontinue,
        "command": item.command,
        "doJumpId": jump_id,
        "frame": item.frame,
        "params": [_num(p) for p in item.all_params],
        "type": "SimpleItem",
    }
    if item.command in POSITION_COMMANDS:
        out["AMSLAltAboveTerrain"] = None
        out["Altitude"] = _num(item.alt)
        out["AltitudeMode"] = _altitude_mode(item.frame)
    return out


def to_json(mission: Mission) -> dict:
    """The plan as a JSON-ready dict (see the module docstring)."""
    home = mission.home
    extras = mission.extras
    return {
        "fileType": "Plan",
        "geoFence": mission.extras.get("geoFence", {"circles": [], "polygons": [], "version": 2}),
        "groundStation": extras.get("groundStation", "dronesense"),
        "mission": {
            "cruiseSpeed": _num(mission.cruise_speed),
            "firmwareType": mission.firmware_type,
            "globalPlanAltitudeMode": extras.get("globalPlanAltitudeMode", 1),
            "hoverSpeed": _num(mission.hover_speed),
            "items": [_item_json(item, i + 1) for i, item in enumerate(mission.items)],
            "plannedHomePosition": [_num(home.lat), _num(home.lon), _num(home.alt)],
            "vehicleType": mission.vehicle_type,
            "version": 2,
        },
        "rallyPoints": mission.extras.get("rallyPoints", {"points": [], "version": 2}),
        "version": 1,
    }


def dumps(mission: Mission) -> str:
    """The ``.plan`` text of a mission (ends with a newline)."""
    return json.dumps(to_json(mission), indent=4, sort_keys=True, allow_nan=False) + "\n"


def _number(value: object, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):  # JSON's Infinity/NaN: an unset param is null
        raise InputError(f"{where}: {value} is not allowed: expected a finite number (null "
                         "for unset)")
    return value


def _simple(raw: dict, where: str) -> MissionItem:
    command = raw.get("command")
    frame = raw.get("frame", FRAME_GLOBAL_RELATIVE_ALT)
    params = raw.get("params")
    if not isinstance(command, int) or isinstance(command, bool) or not isinstance(frame, int):
        raise InputError(f"{where}: command and frame must be integers")
    if not isinstance(params, list) or len(params) != 7:
        raise InputError(f"{where}: params must be a list of 7 numbers (null for unset)")
    values = [_number(p, where) for p in params]
    return MissionItem.from_params(command, frame, values, bool(raw.get("autoContinue", True)))


def _items(raw_items: object, where: str) -> list[MissionItem]:
    if not isinstance(raw_items, list):
        raise InputError(f"{where or 'mission.'}items must be a list")
    out: list[MissionItem] = []
    for i, raw in enumerate(raw_items):
        at = f"{where}item {i + 1}"
        if not isinstance(raw, dict):
            raise InputError(f"{at}: not a JSON object")
        kind = raw.get("type", "SimpleItem")
        if kind == "SimpleItem":
            out.append(_simple(raw, at))
        elif kind == "ComplexItem":
            inner = raw.get("TransectStyleComplexItem", {}).get("Items")
            if inner is None:
                raise InputError(
                    f"{at}: complex item {raw.get('complexItemType', '?')!r} has no stored "
                    "waypoints; re-save it in QGroundControl or convert it to waypoints")
            out.extend(_items(inner, f"{at} ({raw.get('complexItemType', 'complex')}) "))
        else:
            raise InputError(f"{at}: unknown item type {kind!r}")
    return out


def loads(text: str, source: str = "<plan>") -> Mission:
    """Parse ``.plan`` text.

    Raises
    ------
    InputError
        One line naming ``source`` and the problem.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path=source) from None
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        raise InputError('not a QGroundControl plan (fileType must be "Plan")', path=source)
    if doc.get("version") != 1:
        raise InputError(f"unsupported plan version {doc.get('version')!r} (expected 1)",
                         path=source)
    mission = doc.get("mission")
    if not isinstance(mission, dict):
        raise InputError('no "mission" object', path=source)
    if mission.get("version") != 2:
        raise InputError(f"unsupported mission version {mission.get('version')!r} "
                         "(expected 2)", path=source)
    home = mission.get("plannedHomePosition")
    if not (isinstance(home, list) and len(home) == 3):
        raise InputError("mission.plannedHomePosition must be [lat, lon, alt]", path=source)
    lat, lon, alt = (_number(v, f"{source}: plannedHomePosition") for v in home)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(alt):
        raise InputError("plannedHomePosition is not a valid position", path=source)
    try:
        items = _items(mission.get("items", []), "")
    except InputError as err:
        raise InputError(err.message, path=source) from None
    extras = {k: doc[k] for k in ("geoFence", "rallyPoints", "groundStation") if k in doc}
    if "globalPlanAltitudeMode" in mission:
        extras["globalPlanAltitudeMode"] = mission["globalPlanAltitudeMode"]
    return Mission(
        Home(lat, lon, alt),
        items,
        firmware_type=int(mission.get("firmwareType", 3)),
        vehicle_type=int(mission.get("vehicleType", 2)),
        cruise_speed=_number(mission.get("cruiseSpeed", 15), f"{source}: cruiseSpeed"),
        hover_speed=_number(mission.get("hoverSpeed", 5), f"{source}: hoverSpeed"),
        extras=extras,
    )


def read(path: str | Path) -> Mission:
    """Read a ``.plan`` file."""
    return loads(read_text(path, "mission"), str(path))


def write(mission: Mission, path: str | Path) -> None:
    """Write a ``.plan`` file."""
    Path(path).write_text(dumps(mission), encoding="utf-8")
