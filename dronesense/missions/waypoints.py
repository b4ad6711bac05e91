"""Mission Planner ``.waypoints`` files (``QGC WPL 110``).

A header line ``QGC WPL 110``, then one tab-separated row per item::

    seq  current  frame  command  param1  param2  param3  param4  lat  lon  alt  autocontinue

Row 0 is home (NAV_WAYPOINT, frame 0, altitude AMSL, ``current`` 1), exactly as an ArduPilot
vehicle stores it; the mission items follow from row 1. :func:`read` turns row 0 into
``Mission.home`` and the rest into ``Mission.items``, :func:`write` does the reverse.

Numbers are written like Mission Planner writes them: params, latitude and longitude with 8
decimals, altitude with 6, NaN as ``NaN``. Speeds, firmware and vehicle type are not stored
in this format (defaults are used when reading).

Examples
--------
>>> from dronesense.missions.items import Home, Mission, MissionItem
>>> m = Mission(Home(51.0, 7.0, 40.0), [MissionItem.waypoint(51.001, 7.0, 30.0, hold=2)])
>>> print(dumps(m).replace("\\t", " "), end="")
QGC WPL 110
0 1 0 16 0.00000000 0.00000000 0.00000000 0.00000000 51.00000000 7.00000000 40.000000 1
1 0 3 16 2.00000000 0.00000000 0.00000000 0.00000000 51.00100000 7.00000000 30.000000 1
>>> loads(dumps(m)) == m
True
"""

from __future__ import annotations

import math
from pathlib import Path

from dronesense.errors import InputError, read_text
from dronesense.missions.items import Mission, MissionItem

__all__ = ["dumps", "loads", "read", "write"]

HEADER = "QGC WPL 110"


def _fmt(value: float, decimals: int) -> str:
    return "NaN" if math.isnan(value) else f"{value:.{decimals}f}"


def _row(seq: int, item: MissionItem) -> str:
    fields = [str(seq), "1" if seq == 0 else "0", str(item.frame), str(item.command)]
    fields += [_fmt(p, 8) for p in item.params]
    fields += [_fmt(item.lat, 8), _fmt(item.lon, 8), _fmt(item.alt, 6)]
    fields.append("1" if item.autocontinue else "0")
    return "\t".join(fields)


def dumps(mission: Mission) -> str:
    """The ``.waypoints`` text of a mission (home as row 0)."""
    rows = [_row(seq, item) for seq, item in enumerate(mission.wire_items())]
    return "\n".join([HEADER, *rows]) + "\n"


def loads(text: str, source: str = "<waypoints>") -> Mission:
    """Parse ``.waypoints`` text.

    Raises
    ------
    InputError
        One line naming ``source``, the line number and the problem.
    """
    lines = text.splitlines()
    if not lines or not lines[0].strip().startswith("QGC WPL"):
        raise InputError(f'not a waypoints file (first line must be "{HEADER}")', path=source)
    items: list[MissionItem] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split()
        where = f"line {number}"
        if len(fields) != 12:
            raise InputError(f"{where}: expected 12 columns, found {len(fields)}", path=source)
        try:
            seq, _current, frame, command = (int(f) for f in fields[:4])
            values = [float(f) for f in fields[4:11]]
            autocontinue = bool(int(fields[11]))
        except ValueError:
            raise InputError(f"{where}: not a number in {line.strip()!r}", path=source) from None
        bad = next((f for f, v in zip(fields[4:11], values, strict=True)
                    if math.isinf(v)), None)
        if bad is not None:
            raise InputError(f"{where}: {bad!r} is not allowed: expected a finite number",
                             path=source)
        if seq != len(items):
            raise InputError(f"{where}: sequence number {seq}, expected {len(items)}",
                             path=source)
        items.append(MissionItem.from_params(command, frame, values, autocontinue))
    if not items:
        raise InputError("no home row (row 0) in the waypoints file", path=source)
    return Mission.from_wire_items(items)


def read(path: str | Path) -> Mission:
    """Read a ``.waypoints`` file."""
    return loads(read_text(path, "mission"), str(path))


def write(mission: Mission, path: str | Path) -> None:
    """Write a ``.waypoints`` file."""
    Path(path).write_text(dumps(mission), encoding="utf-8")
