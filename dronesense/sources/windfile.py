"""Wind time series from delimited text files through a ``[wind]`` map.

The map uses the conventions of the CSV track map (:mod:`dronesense.sources.csvmap`) and
names the wind as components, as speed and direction, or as a sonic on the drone (turned to
the earth frame by :func:`dronesense.sources.onboard_wind.earth_wind`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.sources.onboard_wind import earth_wind
from dronesense.sources.wind import DIRECTION_ERROR, WindSeries, measured_speed_error

__all__ = ["WIND_MAP_KEYS", "load_wind_map", "read_wind_csv"]


#: Keys of a ``[wind]`` map besides the table keys of :class:`~dronesense.sources.csvmap.TableMap`.
WIND_MAP_KEYS = {
    "u": "m s-1", "v": "m s-1", "speed": "m s-1", "direction": "degree",
    "sonic_u": "m s-1", "sonic_v": "m s-1", "sonic_w": "m s-1",
    "roll": "degree", "pitch": "degree", "yaw": "degree",
    "vn": "m s-1", "ve": "m s-1", "vd": "m s-1",
}
_NUMBERS = {"height": 10.0, "speed_error": None, "direction_error": DIRECTION_ERROR,
            "sonic_error": 0.1,
            "attitude_error": 1.0, "heading_error": 3.0, "velocity_error": 0.1}


def load_wind_map(path: str | Path) -> dict:
    """The ``[wind]`` table of a TOML map file (see :func:`read_wind_csv`)."""
    from dronesense.sources.csvmap import load_map_file

    doc = load_map_file(path, "wind map")
    spec = doc.get("wind")
    if not isinstance(spec, dict):
        raise InputError("no [wind] table: the map must say which columns hold the wind "
                         "(see docs/flux.md)", path=path)
    return spec


def read_wind_csv(path: str | Path, wind_map: dict | str | Path) -> WindSeries:
    """A wind time series from a delimited text file through a ``[wind]`` map.

    The map uses the keys of the CSV map (:mod:`dronesense.sources.csvmap`: ``time``,
    ``time_format``, ``comment``, ``separator``, units by name...) and says where the wind
    is, in one of three ways:

    - ``u`` and ``v``: components towards east and north;
    - ``speed`` and ``direction``: speed and the direction it comes from (degrees);
    - ``sonic_u``, ``sonic_v``, ``sonic_w`` with ``roll``, ``pitch``, ``yaw`` and ``vn``,
      ``ve`` (``vd``): a sonic on the drone, turned to the earth frame
      (:func:`dronesense.sources.onboard_wind.earth_wind`, ``axes`` the body direction of
      the sonic's axes, e.g. ``["right", "forward", "up"]``).

    Each column is a header or ``{column = "WS", units = "knot"}`` (m/s and degrees by
    default). Numbers: ``height`` (m above ground of a fixed anemometer, 10), ``speed_error``
    (m/s, default 0.1 m/s + 5 %), ``direction_error`` (degrees, 5); for a sonic on the drone
    ``sonic_error``, ``attitude_error``, ``heading_error``, ``velocity_error``. A track CSV's
    own wind columns are read the same way, with a map naming them.

    Raises
    ------
    InputError
        The map or file cannot be used (the message says which key or column).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "mast.csv")
    >>> _ = open(path, "w").write("time,ws,wd\\n2024-05-01T10:00:00Z,10,270\\n"
    ...                           "2024-05-01T10:00:10Z,5.0,180\\n")
    >>> w = read_wind_csv(path, {"time": "time", "speed": {"column": "ws", "units": "knot"},
    ...                          "direction": "wd", "height": 3.0})
    >>> (np.round(w.u, 3) + 0.0).tolist(), np.round(w.v, 3).tolist(), w.height.tolist()
    ([5.144, 0.0], [0.0, 2.572], [3.0, 3.0])
    """
    from dronesense.sources.csvmap import TableMap, read_table

    spec = load_wind_map(wind_map) if isinstance(wind_map, str | Path) else dict(wind_map)
    where = Path(wind_map) if isinstance(wind_map, str | Path) else None
    tmap = TableMap.from_dict(spec, columns=WIND_MAP_KEYS, path=where)
    have = set(tmap.columns)
    modes = [m for m in (("u", "v"), ("speed", "direction"),
                         ("sonic_u", "sonic_v", "sonic_w", "roll", "pitch", "yaw", "vn", "ve"))
             if set(m) <= have]
    if not modes:
        raise InputError("the [wind] map names no wind: give u and v, speed and direction, or "
                         "sonic_u, sonic_v, sonic_w with roll, pitch, yaw, vn, ve",
                         path=where or path)
    nums = {}
    for key, default in _NUMBERS.items():
        value = spec.get(key, default)
        if value is not None and not (isinstance(value, int | float)
                                      and not isinstance(value, bool) and value >= 0):
            raise InputError(f"{key}: expected a number >= 0, got {value!r}", path=where or path)
        nums[key] = value
    table = read_table(path, tmap)
    if not table.utc:
        raise InputError("wind times must be UTC (not boot_ms / boot_s)", path=path)
    t = table.time_ms / 1000.0
    name = Path(path).name
    mode = modes[0]
    if mode[0] == "sonic_u":
        g = {k: table.get(k, WIND_MAP_KEYS[k]) for k in WIND_MAP_KEYS
             if k in table.values and k.startswith(("sonic", "roll", "pitch", "yaw", "v"))}
        return earth_wind(t, g["sonic_u"], g["sonic_v"], g["sonic_w"], roll=g["roll"],
                          pitch=g["pitch"], yaw=g["yaw"], vn=g["vn"], ve=g["ve"],
                          vd=g.get("vd"), axes=tuple(spec.get("axes", ("forward", "right",
                                                                        "down"))),
                          sonic_error=nums["sonic_error"], attitude_error=nums["attitude_error"],
                          heading_error=nums["heading_error"],
                          velocity_error=nums["velocity_error"], source=f"sonic in {name}")
    if mode[0] == "u":
        u, v = table.get("u", "m s-1"), table.get("v", "m s-1")
    else:
        speed, frm = table.get("speed", "m s-1"), np.radians(table.get("direction", "degree"))
        u, v = -speed * np.sin(frm), -speed * np.cos(frm)
    ok = np.isfinite(t) & np.isfinite(u) & np.isfinite(v)
    if ok.sum() < 2:
        raise InputError(f"fewer than 2 wind records with a time ({int(ok.sum())})", path=path)
    t, u, v = t[ok], u[ok], v[ok]
    speed = np.hypot(u, v)
    s_err = (np.full(u.size, float(nums["speed_error"])) if nums["speed_error"] is not None
             else measured_speed_error(speed))
    n = u.size
    return WindSeries(t, u, v, np.full(n, float(nums["height"])), s_err,
                      np.full(n, float(nums["direction_error"])),
                      source=f"{n} wind records in {name} at {nums['height']:g} m")
