"""What real field days add to the simulator's tidy world: gusty wind that changes direction,
area sources, and the anemometers that measure the wind (a mast file, a sonic on the drone).

**Gusts** (``[wind]`` keys ``gust``, ``veer_deg``, ``gust_time``): the wind speed is
multiplied by ``1 + a(t)`` and its direction turned by ``b(t)`` degrees, ``a`` and ``b``
seeded Ornstein-Uhlenbeck processes with standard deviations ``gust`` (relative) and
``veer_deg`` and correlation time ``gust_time`` seconds. Each plume follows the wind of the
moment as a whole (quasi-steady: the flux of a plume through any wall it crosses stays its
emission).

**Area sources** (``[[area]]``: ``quantity``, ``lat``, ``lon`` of the centre, ``size`` m of a
square side, ``emission`` g/s, ``height`` of release m (1), ``points`` per side (5),
``stability``): ``points``² ground plumes sharing the emission, e.g. a landfill cell or a
wastewater basin.

**Anemometers**: :class:`MastWriter` writes the wind at ``height`` m every second as a CSV
(``time_utc,speed,from_deg`` at the mast); :class:`SonicWriter` writes what a sonic on the
drone measures at the sensor rate, in the body frame (``sonic_u`` to the right,
``sonic_v`` forward, ``sonic_w`` up; the air velocity relative to the vehicle), with the
attitude (``roll``, ``pitch``, ``yaw`` degrees) and the vehicle velocity (``vn``, ``ve``,
``vd`` m/s) a reader needs to turn it back to the earth frame.

Examples
--------
>>> g = Gusts(gust=0.2, veer_deg=15.0, time_scale=20.0)
>>> g.start(seed=1)
>>> for _ in range(2000):
...     g.step(0.1)
>>> 0.2 < g.factor < 3.0 and -90.0 < g.offset < 90.0
True
>>> [round(t["emission"], 3) for t in area_plume_tables(
...     [{"quantity": "ch4", "lat": 51.0, "lon": 7.0, "size": 40.0, "emission": 2.0,
...       "points": 2}], "f.toml")]
[0.5, 0.5, 0.5, 0.5]
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from typing import IO

from .errors import SimError

__all__ = ["Gusts", "MastWriter", "SonicWriter", "area_plume_tables", "body_from_ned"]

M_PER_DEG = 111_319.49


@dataclass
class Gusts:
    """Seeded gusts and direction changes (see the module docstring)."""

    gust: float = 0.0
    veer_deg: float = 0.0
    time_scale: float = 20.0

    def start(self, seed: int) -> None:
        """Restart the processes from their stationary distribution, seeded."""
        self._rng = random.Random(seed * 104_729 + 11)
        self.a = self.gust * self._rng.gauss(0.0, 1.0)
        self.b = self.veer_deg * self._rng.gauss(0.0, 1.0)

    @property
    def active(self) -> bool:
        return self.gust > 0 or self.veer_deg > 0

    def step(self, dt: float) -> None:
        """Advance both processes by ``dt`` seconds."""
        r = math.exp(-dt / self.time_scale)
        s = math.sqrt(1.0 - r * r)
        g = self._rng.gauss
        self.a = r * self.a + self.gust * s * g(0.0, 1.0)
        self.b = r * self.b + self.veer_deg * s * g(0.0, 1.0)

    @property
    def factor(self) -> float:
        """Speed factor of the moment (at least 0.2)."""
        return max(0.2, 1.0 + self.a)

    @property
    def offset(self) -> float:
        """Direction offset of the moment, degrees."""
        return self.b


def gusts_of(table: dict, where: str) -> Gusts:
    """The :class:`Gusts` of a ``[wind]`` table."""
    vals = {}
    for key, default in (("gust", 0.0), ("veer_deg", 0.0), ("gust_time", 20.0)):
        v = table.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise SimError(f"{where}: {key} must be a number >= 0, got {v!r}")
        vals[key] = float(v)
    if vals["gust_time"] <= 0:
        raise SimError(f"{where}: gust_time must be > 0")
    return Gusts(vals["gust"], vals["veer_deg"], vals["gust_time"])


def area_plume_tables(areas: list[dict], source: str) -> list[dict]:
    """``[[plume]]`` tables of the point sources standing for each ``[[area]]``."""
    out = []
    for i, t in enumerate(areas):
        where = f"{source}: area {i + 1}"
        try:
            lat, lon = float(t["lat"]), float(t["lon"])
            size, emission = float(t["size"]), float(t["emission"])
            q = str(t["quantity"])
        except (KeyError, TypeError, ValueError):
            raise SimError(f"{where}: needs quantity, lat, lon, size (m) and emission "
                           "(g/s)") from None
        known = {"quantity", "lat", "lon", "size", "emission", "height", "points", "stability"}
        extra = set(t) - known
        if extra:
            raise SimError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        n = int(t.get("points", 5))
        if n < 1 or size <= 0 or emission < 0:
            raise SimError(f"{where}: points >= 1, size > 0 and emission >= 0 needed")
        k = M_PER_DEG * math.cos(math.radians(lat))
        step = size / n
        for a in range(n):
            for b in range(n):
                de = -size / 2 + (a + 0.5) * step
                dn = -size / 2 + (b + 0.5) * step
                p = {"quantity": q, "lat": lat + dn / M_PER_DEG, "lon": lon + de / k,
                     "stack_height": float(t.get("height", 1.0)), "emission": emission / n / n}
                if "stability" in t:
                    p["stability"] = t["stability"]
                out.append(p)
    return out


def body_from_ned(roll: float, pitch: float, yaw: float,
                  n: float, e: float, d: float) -> tuple[float, float, float]:
    """An NED vector in the body frame (forward, right, down); angles in radians, z-y-x.

    Examples
    --------
    >>> [round(v, 6) + 0.0 for v in body_from_ned(0.0, 0.0, math.pi / 2, 0.0, 1.0, 0.0)]
    [1.0, 0.0, 0.0]
    """
    cr, sr, cp, sp = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    f = cy * cp * n + sy * cp * e - sp * d
    r = (cy * sp * sr - sy * cr) * n + (sy * sp * sr + cy * cr) * e + cp * sr * d
    dn = (cy * sp * cr + sy * sr) * n + (sy * sp * cr - cy * sr) * e + cp * cr * d
    return f, r, dn


class MastWriter:
    """The wind at a mast of ``height`` m, one CSV row a second."""

    def __init__(self, fh: IO, height: float = 10.0):
        self.w = csv.writer(fh, lineterminator="\n")
        self.w.writerow(["time_utc", "speed", "from_deg"])
        self.height = height
        self.next_ms = 0

    def step(self, t_ms: int, utc: str, wind_at) -> None:
        if t_ms >= self.next_ms:
            speed, frm = wind_at(self.height)
            self.w.writerow([utc, f"{speed:.3f}", f"{frm:.2f}"])
            self.next_ms = t_ms - t_ms % 1000 + 1000


class SonicWriter:
    """What a sonic on the drone measures (body frame, relative air velocity), with noise."""

    def __init__(self, fh: IO, rate_hz: float = 5.0, noise: float = 0.1, seed: int = 0):
        self.w = csv.writer(fh, lineterminator="\n")
        self.w.writerow(["time_utc", "sonic_u", "sonic_v", "sonic_w", "roll", "pitch", "yaw",
                         "vn", "ve", "vd"])
        self.period = max(1, round(1000 / rate_hz))
        self.noise = noise
        self.rng = random.Random(seed * 6007 + 5)
        self.next_ms = 0

    def step(self, t_ms: int, utc: str, vehicle, wind_at) -> None:
        if t_ms < self.next_ms or vehicle.landed:
            return
        self.next_ms = t_ms - t_ms % self.period + self.period
        speed, frm = wind_at(vehicle.u)
        a = math.radians(frm)
        we, wn = -speed * math.sin(a), -speed * math.cos(a)
        roll, pitch = vehicle.attitude()
        yaw = vehicle.yaw
        rel = (wn - vehicle.vn, we - vehicle.ve, vehicle.vu)  # NED: down = -up of the vehicle
        f, r, d = body_from_ned(roll, pitch, yaw, *rel)
        g = self.rng.gauss
        s = self.noise
        self.w.writerow([utc, f"{r + s * g(0, 1):.3f}", f"{f + s * g(0, 1):.3f}",
                         f"{-d + s * g(0, 1):.3f}", f"{math.degrees(roll):.3f}",
                         f"{math.degrees(pitch):.3f}", f"{math.degrees(yaw) % 360:.3f}",
                         f"{vehicle.vn:.3f}", f"{vehicle.ve:.3f}", f"{-vehicle.vu:.3f}"])
