"""Read and write missions in any supported format, chosen by the file suffix.

=============  ======  =====  =====================================================
suffix         read    write  format
=============  ======  =====  =====================================================
``.plan``      yes     yes    QGroundControl plan (:mod:`.plan`)
``.waypoints`` yes     yes    Mission Planner QGC WPL 110 (:mod:`.waypoints`)
``.txt``       yes     yes    same as ``.waypoints``
``.kml``       no      yes    quick look (:mod:`.quicklook`)
``.geojson``   no      yes    quick look (:mod:`.quicklook`)
=============  ======  =====  =====================================================

Examples
--------
>>> suffix_of("survey.PLAN")
'.plan'
"""

from __future__ import annotations

from pathlib import Path

from dronesense.errors import InputError
from dronesense.missions import plan, quicklook, waypoints
from dronesense.missions.items import Mission

__all__ = ["READABLE", "WRITABLE", "read", "write"]

READABLE = (".plan", ".waypoints", ".txt")
WRITABLE = (".plan", ".waypoints", ".txt", ".kml", ".geojson", ".json")


def suffix_of(path: str | Path) -> str:
    """Lower-case suffix of ``path``."""
    return Path(path).suffix.lower()


def read(path: str | Path) -> Mission:
    """Read a ``.plan`` or ``.waypoints`` file."""
    suffix = suffix_of(path)
    if suffix == ".plan":
        return plan.read(path)
    if suffix in (".waypoints", ".txt"):
        return waypoints.read(path)
    raise InputError(f"cannot read missions from {suffix or 'files without a suffix'} "
                     f"(use {', '.join(READABLE)})", path=path)


def write(mission: Mission, path: str | Path) -> None:
    """Write a mission in the format its suffix names."""
    suffix = suffix_of(path)
    if suffix == ".plan":
        plan.write(mission, path)
    elif suffix in (".waypoints", ".txt"):
        waypoints.write(mission, path)
    elif suffix in (".kml", ".geojson", ".json"):
        quicklook.write(mission, path)
    else:
        raise InputError(f"cannot write missions as {suffix or 'files without a suffix'} "
                         f"(use {', '.join(WRITABLE)})", path=path)
