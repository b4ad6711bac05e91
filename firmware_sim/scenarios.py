"""Flights that look like real logs: gusty fields, sensor rates, a mast and a sonic file.

Tests and benchmarks of flux estimates fly the same kind of flight: a field with gusty,
veering wind, the sensor and the position stream at the same rate, slow climbs between
passes, GPS noise, and the simulator's 10 m mast file and drone-borne sonic written beside
the tlog. This module makes those fields and runs those flights, so every caller flies them
the same way.

Examples
--------
>>> text = '[wind]\\nstability = "B"\\n[[sensor]]\\nname = "CH4"\\nrate_hz = 2.0\\n'
>>> print(set_sensor(gusty(text, veer_deg=8.0), "CH4", rate_hz=1.0))
[wind]
stability = "B"
gust = 0.2
veer_deg = 8.0
[[sensor]]
name = "CH4"
rate_hz = 1.0
<BLANKLINE>
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import SimError

__all__ = ["AREA_SOURCE_FIELD", "fly_like_a_log", "gusty", "set_sensor"]

#: A 40 m square area source (2 g/s CH4 from 25 points at 2 m) in a 3 m/s wind from 240°,
#: class B, sampled by a CH4 sensor at 2 Hz; add gusts with :func:`gusty`.
AREA_SOURCE_FIELD = """
[site]
ground_alt_amsl = 42.0
lat = 50.9934
lon = 6.9877

[wind]
speed = 3.0
from_deg = 240.0
stability = "B"

[quantities.ch4]
units = "ppm"
background = 1.95
molar_mass = 16.04

[[area]]
quantity = "ch4"
lat = 50.9934
lon = 6.9877
size = 40.0
emission = 2.0
height = 2.0

[[sensor]]
name = "CH4"
quantity = "ch4"
rate_hz = 2.0
noise = 0.01
"""


def gusty(text: str, *, gust: float = 0.2, veer_deg: float = 15.0,
          gust_time: float | None = None) -> str:
    """A field's TOML text with gusts added to its ``[wind]`` table.

    The gust keys go after the table's ``stability`` line (which must be there): ``gust``
    (relative speed spread), ``veer_deg`` (direction spread) and, when given, ``gust_time``
    (correlation time, s).

    Raises
    ------
    SimError
        The text has no ``stability`` line to put the gusts after.
    """
    match = re.search(r'^stability = "[A-F]"', text, flags=re.M)
    if match is None:
        raise SimError("field text: no stability line in [wind] to add gusts to")
    lines = f"\ngust = {gust}\nveer_deg = {veer_deg}"
    if gust_time is not None:
        lines += f"\ngust_time = {gust_time}"
    return text[:match.end()] + lines + text[match.end():]


def set_sensor(text: str, name: str, **values: float) -> str:
    """A field's TOML text with the given keys of sensor ``name`` set (``rate_hz=1.0``).

    Only keys the sensor's table already has are changed.

    Raises
    ------
    SimError
        The sensor or one of the keys is not in the text.
    """
    for key, value in values.items():
        pattern = rf'(name = "{re.escape(name)}"[^\[]*?{re.escape(key)} = )[0-9.]+'
        text, n = re.subn(pattern, rf"\g<1>{value}", text, count=1, flags=re.S)
        if n == 0:
            raise SimError(f"field text: sensor {name!r} has no {key}")
    return text


def fly_like_a_log(plan: str | Path, field: str | Path, stem: str | Path, *, seed: int,
                   rate_hz: float, **config) -> dict[str, Path]:
    """Fly ``plan`` through ``field`` like a real log, as fast as possible; its files.

    Positions (GLOBAL_POSITION_INT) and the sonic come at ``rate_hz``, climbs between
    passes at 0.5 m/s, GPS noise 0.5 m; ``config`` adds or overrides
    :class:`~firmware_sim.SimConfig` fields.

    Returns
    -------
    dict
        ``{"tlog": ..., "mast": ..., "sonic": ...}``: the paths ``<stem>.tlog``, the 10 m
        mast wind file ``<stem>.mast`` and the sonic file ``<stem>.sonic``.
    """
    from .sim import SimConfig, Simulation

    out = {k: Path(f"{stem}.{k}") for k in ("tlog", "mast", "sonic")}
    settings = dict(mission=str(plan), field=str(field), connect=None, speedup=0, seed=seed,
                    tlog=str(out["tlog"]), quiet=True, gps_noise=0.5,
                    wind_file=str(out["mast"]), sonic_file=str(out["sonic"]),
                    sonic_hz=rate_hz, climb_rate=0.5,
                    stream_intervals={"GLOBAL_POSITION_INT": round(1000 / rate_hz)})
    settings.update(config)
    Simulation(SimConfig(**settings)).run()
    return out
