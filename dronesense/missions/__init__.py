"""Sampling missions: patterns, file formats, safety checks and the MAVLink mission protocol.

One job per module:

- :mod:`~dronesense.missions.items` -- the :class:`Mission` / :class:`MissionItem` model
- :mod:`~dronesense.missions.patterns` -- box survey, vertical profile, curtain, stack orbit;
  duration and path-length estimates
- :mod:`~dronesense.missions.plan` -- QGroundControl ``.plan`` read/write
- :mod:`~dronesense.missions.waypoints` -- Mission Planner ``QGC WPL 110`` read/write
- :mod:`~dronesense.missions.quicklook` -- KML and GeoJSON of the planned path
- :mod:`~dronesense.missions.checks` -- safety checks before writing or uploading
- :mod:`~dronesense.missions.protocol` -- upload/download over any pymavlink connection
- :mod:`~dronesense.missions.files` -- read/write any of the formats by file suffix

Examples
--------
>>> from dronesense.missions import Home, patterns
>>> m = patterns.vertical_profile(Home(51.0, 7.0, 40.0), levels=[10, 20, 30])
>>> m.items[0].name
'NAV_TAKEOFF'
"""

from dronesense.missions.items import Home, Mission, MissionItem

__all__ = ["Home", "Mission", "MissionItem"]
