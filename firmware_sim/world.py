"""Concentration fields the simulated sensors sample: Gaussian plumes, layered profiles.

A field file (TOML) describes the site, the wind, the quantities with their backgrounds,
any number of components that add to a quantity (``[[plume]]``, ``[[area]]``, ``[[layer]]``,
``[[gradient]]``) and the sensors of the payload (``[[sensor]]``, read by
:mod:`firmware_sim.payload`); ``[wind]`` may add gusts (:mod:`firmware_sim.gusts`).

Air pressure follows the ICAO standard atmosphere at the sampled altitude above mean sea level
(:class:`StandardAtmosphere`, in ``hPa`` or ``Pa``) when the quantity ``pressure`` has no
component and no ``background`` of its own; a ``[[sensor]]`` with ``quantity = "pressure"``
needs no ``[quantities.pressure]`` table (it is then added in ``hPa``).

Examples
--------
>>> field = Field.from_dict({
...     "site": {"ground_alt_amsl": 40.0, "lat": 51.0, "lon": 7.0},
...     "wind": {"speed": 3.0, "from_deg": 270.0},
...     "quantities": {"ch4": {"units": "ppm", "background": 1.9}},
...     "plume": [{"quantity": "ch4", "lat": 51.0, "lon": 7.0, "stack_height": 10.0,
...                "emission": 5.0, "stability": "C"}]})
>>> east = 7.0 + 300 / (111320 * 0.629)   # ~300 m downwind of the stack
>>> float(field.evaluate("ch4", 51.0, east, 50.0)) > 1.9
True
>>> float(field.evaluate("ch4", 51.0, 6.99, 50.0))   # upwind: background only
1.9
>>> baro = Field.from_dict({"site": {"ground_alt_amsl": 40.0, "lat": 51.0, "lon": 7.0},
...                         "sensor": [{"name": "PRESS", "quantity": "pressure"}]})
>>> baro.units["pressure"], round(float(baro.evaluate("pressure", 51.0, 7.0, 1000.0)), 2)
('hPa', 898.75)
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SimError

#: metres per degree of latitude (spherical, fine over a few km)
M_PER_DEG = 111_319.49

#: molar masses (g/mol) for gases given in mole fractions
MOLAR_MASS = {"ch4": 16.04, "co2": 44.01, "no2": 46.01, "o3": 48.00, "so2": 64.07,
              "co": 28.01, "nh3": 17.03, "h2s": 34.08}
#: molar volume of air (L/mol) at 25 degC, 1013.25 hPa
MOLAR_VOLUME = 24.45

#: ICAO standard atmosphere (troposphere): sea-level pressure (hPa) and temperature (K), lapse
#: rate (K/m) and the exponent g M / (R L)
ISA_P0_HPA = 1013.25
ISA_T0_K = 288.15
ISA_LAPSE_K_PER_M = 0.0065
ISA_EXPONENT = 5.25588
#: pressure units the standard atmosphere can be given in, and their factor from hPa
PRESSURE_SCALE = {"hPa": 1.0, "mbar": 1.0, "Pa": 100.0}

#: default units per quantity key (display units as sensors report them)
DEFAULT_UNITS = {"pm1": "ug/m3", "pm2p5": "ug/m3", "pm10": "ug/m3", "ch4": "ppm",
                 "co2": "ppm", "no2": "ppb", "o3": "ppb", "so2": "ppb", "co": "ppb",
                 "temperature": "degC", "humidity": "%", "pressure": "hPa"}

# Briggs (1973) open-country sigma formulas: (ay, az, bz, cz) with
# sigma_y = ay x (1 + 1e-4 x)^-0.5 and sigma_z = az x (1 + bz x)^cz.
BRIGGS_RURAL = {
    "A": (0.22, 0.20, 0.0, 1.0),
    "B": (0.16, 0.12, 0.0, 1.0),
    "C": (0.11, 0.08, 0.0002, -0.5),
    "D": (0.08, 0.06, 0.0015, -0.5),
    "E": (0.06, 0.03, 0.0003, -1.0),
    "F": (0.04, 0.016, 0.0003, -1.0),
}
#: wind-profile power-law exponents per stability class (rural)
WIND_EXPONENT = {"A": 0.07, "B": 0.07, "C": 0.10, "D": 0.15, "E": 0.35, "F": 0.55}


def _get(table: dict, key: str, where: str, default: Any = ..., kind: type = float) -> Any:
    if key not in table:
        if default is ...:
            raise SimError(f"{where}: missing key {key!r}")
        return default
    value = table[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SimError(f"{where}: {key} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SimError(f"{where}: {key} must be finite")
        return value
    if not isinstance(value, kind):
        raise SimError(f"{where}: {key} must be a {kind.__name__}, got {value!r}")
    return value


@dataclass(frozen=True)
class Frame:
    """Flat-earth local frame (east/north metres) around an origin."""

    lat0: float
    lon0: float

    def to_en(self, lat, lon):
        """(east, north) metres of ``lat``/``lon`` (floats or arrays)."""
        k = M_PER_DEG * math.cos(math.radians(self.lat0))
        return (lon - self.lon0) * k, (lat - self.lat0) * M_PER_DEG

    def to_latlon(self, east, north):
        """(lat, lon) degrees of ``east``/``north`` metres."""
        k = M_PER_DEG * math.cos(math.radians(self.lat0))
        return self.lat0 + north / M_PER_DEG, self.lon0 + east / k


@dataclass(frozen=True)
class Wind:
    """Horizontal wind: speed (m/s) at a reference height and the direction it comes from.

    Examples
    --------
    >>> w = Wind(speed=4.0, from_deg=270.0)
    >>> [round(v, 6) for v in w.downwind_unit]   # from the west -> blows east
    [1.0, 0.0]
    """

    speed: float
    from_deg: float
    reference_height: float = 10.0
    exponent: float = 0.15

    @property
    def downwind_unit(self) -> tuple[float, float]:
        """Unit vector (east, north) the air moves towards."""
        r = math.radians(self.from_deg)
        return -math.sin(r), -math.cos(r)

    def speed_at(self, height: float) -> float:
        """Power-law wind speed at ``height`` metres above ground (>= 1 m)."""
        h = max(height, 1.0)
        return self.speed * (h / self.reference_height) ** self.exponent


class Component:
    """Part of a quantity's field; subclasses add a contribution.

    ``value(east, north, z)`` takes metres in the site frame (``z`` above ground) as floats
    or numpy arrays, and ``xp`` is :mod:`math` or :mod:`numpy`.
    """

    quantity: str

    def value(self, east, north, z, xp):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Plume(Component):
    """Gaussian plume from a point source with ground reflection.

    C = Q / (2 pi u sy sz) exp(-y^2 / 2 sy^2) [exp(-(z-H)^2 / 2 sz^2) + exp(-(z+H)^2 / 2 sz^2)]
    downwind of the stack (zero upwind), converted to the quantity's units.
    """

    quantity: str
    east: float
    north: float
    stack_height: float
    emission: float
    stability: str
    wind: Wind
    scale: float  # g/m3 -> quantity units

    def set_wind(self, wind: Wind) -> None:
        """Follow the wind of the moment (gusts turn and stretch the plume as a whole)."""
        self.wind = wind
        self.__post_init__()

    def __post_init__(self) -> None:
        self.ue, self.un = self.wind.downwind_unit
        self.u = max(self.wind.speed_at(self.stack_height), 0.5)
        self.ay, self.az, self.bz, self.cz = BRIGGS_RURAL[self.stability]
        self.k = self.emission * self.scale / (2 * math.pi * self.u)

    def value(self, east, north, z, xp):
        dx = east - self.east
        dy = north - self.north
        x = dx * self.ue + dy * self.un
        y = -dx * self.un + dy * self.ue
        if xp is math:
            if x <= 0.5:
                return 0.0
        else:
            x = np.maximum(x, 0.5)
        sy = self.ay * x * (1 + 1e-4 * x) ** -0.5
        sz = self.az * x * (1 + self.bz * x) ** self.cz
        h = self.stack_height
        c = (self.k / (sy * sz)) * xp.exp(-0.5 * (y / sy) ** 2) * (
            xp.exp(-0.5 * ((z - h) / sz) ** 2) + xp.exp(-0.5 * ((z + h) / sz) ** 2))
        if xp is not math:
            c = np.where((east - self.east) * self.ue + (north - self.north) * self.un > 0.5,
                         c, 0.0)
        return c


@dataclass
class Layer(Component):
    """Well-mixed layer: ``below`` under the mixing height, ``above`` over it.

    The step is smoothed over ``thickness`` metres with a logistic (tanh) profile.
    """

    quantity: str
    mixing_height: float
    below: float
    above: float
    thickness: float = 10.0

    def value(self, east, north, z, xp):
        s = 0.5 * (1 + xp.tanh((z - self.mixing_height) / max(self.thickness / 2, 1e-6)))
        return self.below + (self.above - self.below) * s


@dataclass
class Gradient(Component):
    """Linear vertical profile ``surface + per_metre * z`` (e.g. temperature lapse)."""

    quantity: str
    surface: float
    per_metre: float

    def value(self, east, north, z, xp):
        return self.surface + self.per_metre * z


def standard_pressure(alt_amsl):
    """ICAO standard-atmosphere pressure (hPa) at ``alt_amsl`` metres above mean sea level.

    Examples
    --------
    >>> float(standard_pressure(0.0)), round(float(standard_pressure(1000.0)), 2)
    (1013.25, 898.75)
    """
    return ISA_P0_HPA * (1.0 - ISA_LAPSE_K_PER_M * alt_amsl / ISA_T0_K) ** ISA_EXPONENT


@dataclass
class StandardAtmosphere(Component):
    """Air pressure of the ICAO standard atmosphere at the sampled altitude.

    ``z`` is metres above the site's ground, whose altitude above mean sea level is
    ``ground_alt_amsl``; ``scale`` converts hPa to the quantity's units (100 for Pa).
    """

    quantity: str
    ground_alt_amsl: float
    scale: float = 1.0

    def value(self, east, north, z, xp):
        return self.scale * standard_pressure(self.ground_alt_amsl + z)


@dataclass
class Field:
    """The concentration field of a site: background plus components per quantity.

    Use :func:`load_field` to read one from TOML, then :meth:`evaluate`.
    """

    ground_alt_amsl: float
    frame: Frame
    wind: Wind
    units: dict[str, str]
    background: dict[str, float]
    components: dict[str, list[Component]]
    sensors: list[dict] = field(default_factory=list)
    source: str = "<field>"
    gusts: Any = None  #: :class:`firmware_sim.gusts.Gusts` of the ``[wind]`` table, or None

    def start_gusts(self, seed: int) -> None:
        """Seed the gusts (no-op without any) and put the plumes in the mean wind."""
        self._base, self._t = getattr(self, "_base", self.wind), 0.0
        if self.gusts is not None and self.gusts.active:
            self.gusts.start(seed)
            self._apply()

    def advance(self, t: float) -> None:
        """Move the gusts on to ``t`` seconds (plumes follow)."""
        if self.gusts is not None and self.gusts.active:
            while self._t + 0.5 <= t:
                self.gusts.step(0.5)
                self._t += 0.5
            self._apply()

    def _apply(self) -> None:
        b, g = self._base, self.gusts
        self.wind = Wind(b.speed * g.factor, (b.from_deg + g.offset) % 360.0,
                         b.reference_height, b.exponent)
        for c in (c for comps in self.components.values() for c in comps):
            if isinstance(c, Plume):
                c.set_wind(self.wind)

    @property
    def quantities(self) -> list[str]:
        """Quantity keys this field defines, e.g. ``["ch4", "pm2p5"]``."""
        return list(self.units)

    def _check(self, quantity: str) -> None:
        if quantity not in self.units:
            raise KeyError(f"{self.source}: no quantity {quantity!r} "
                           f"(have {', '.join(self.quantities)})")

    def evaluate(self, quantity: str, lat, lon, alt_amsl) -> np.ndarray:
        """True value of ``quantity`` at positions (vectorised over numpy arrays).

        Parameters
        ----------
        quantity : str
            A key of :attr:`quantities`.
        lat, lon : array_like
            Degrees (WGS84).
        alt_amsl : array_like
            Metres above mean sea level.

        Returns
        -------
        numpy.ndarray
            Values in ``self.units[quantity]``, broadcast shape of the inputs.
        """
        self._check(quantity)
        lat, lon, alt = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float),
                                            np.asarray(alt_amsl, float))
        east, north = self.frame.to_en(lat, lon)
        z = np.maximum(alt - self.ground_alt_amsl, 0.0)
        out = np.full(lat.shape, self.background[quantity], dtype=float)
        for comp in self.components[quantity]:
            out = out + comp.value(east, north, z, np)
        return out

    def value_en(self, quantity: str, east: float, north: float, z: float) -> float:
        """Fast scalar evaluation in site-frame metres (``z`` above ground)."""
        v = self.background[quantity]
        z = max(z, 0.0)
        for comp in self.components[quantity]:
            v += comp.value(east, north, z, math)
        return float(v)

    def wind_at(self, height: float) -> tuple[float, float]:
        """(speed m/s, direction the wind comes from in degrees) at ``height`` m."""
        return self.wind.speed_at(height), self.wind.from_deg % 360.0

    @classmethod
    def from_dict(cls, doc: dict, source: str = "<field>") -> Field:
        """Build a field from a parsed TOML document (see ``docs/firmware-sim.md``)."""
        if not isinstance(doc, dict):
            raise SimError(f"{source}: not a table")
        site = _get(doc, "site", source, kind=dict)
        ground = _get(site, "ground_alt_amsl", f"{source}: [site]")
        if not -1000.0 <= ground <= 9000.0:
            raise SimError(f"{source}: [site] ground_alt_amsl {ground:g} m is out of range "
                           "(-1000 to 9000 m)")
        lat0 = _get(site, "lat", f"{source}: [site]", default=None)
        lon0 = _get(site, "lon", f"{source}: [site]", default=None)
        wind_t = _get(doc, "wind", source, default={}, kind=dict)
        stability_default = str(_get(wind_t, "stability", f"{source}: [wind]", "D", str))
        if stability_default.upper() not in BRIGGS_RURAL:
            raise SimError(f"{source}: [wind] stability must be one of A-F")
        wind = Wind(
            speed=_get(wind_t, "speed", f"{source}: [wind]", 3.0),
            from_deg=_get(wind_t, "from_deg", f"{source}: [wind]", 270.0),
            reference_height=_get(wind_t, "reference_height", f"{source}: [wind]", 10.0),
            exponent=_get(wind_t, "exponent", f"{source}: [wind]",
                          WIND_EXPONENT[stability_default.upper()]),
        )
        if wind.speed < 0 or wind.reference_height <= 0:
            raise SimError(f"{source}: [wind] speed must be >= 0, reference_height > 0")
        qtab = dict(_get(doc, "quantities", source, default={}, kind=dict))
        sensor_list = doc.get("sensor", [])
        if "pressure" not in qtab and isinstance(sensor_list, list) and any(
                isinstance(t, dict) and t.get("quantity") == "pressure" for t in sensor_list):
            qtab["pressure"] = {"units": "hPa"}  # a barometer in the payload: standard air
        units: dict[str, str] = {}
        background: dict[str, float] = {}
        molar: dict[str, float | None] = {}
        for key, q in qtab.items():
            where = f"{source}: [quantities.{key}]"
            if not isinstance(q, dict):
                raise SimError(f"{where}: must be a table")
            units[key] = str(_get(q, "units", where, DEFAULT_UNITS.get(key, "1"), str))
            background[key] = _get(q, "background", where, 0.0)
            molar[key] = _get(q, "molar_mass", where, MOLAR_MASS.get(key))
        if not units:
            raise SimError(f"{source}: [quantities] defines no quantity")
        if lat0 is None or lon0 is None:
            plumes = doc.get("plume") or []
            if plumes and isinstance(plumes[0], dict):
                lat0 = lat0 if lat0 is not None else plumes[0].get("lat")
                lon0 = lon0 if lon0 is not None else plumes[0].get("lon")
        frame = Frame(float(lat0 or 0.0), float(lon0 or 0.0))
        components: dict[str, list[Component]] = {k: [] for k in units}

        def section(name: str) -> list[dict]:
            value = doc.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise SimError(f"{source}: [[{name}]] must be an array of tables")
            return value

        def quantity_of(t: dict, where: str) -> str:
            q = _get(t, "quantity", where, kind=str)
            if q not in units:
                raise SimError(f"{where}: quantity {q!r} is not in [quantities]")
            return q

        from .gusts import area_plume_tables, gusts_of
        from .stack import plume_tables  # [[stack]]: one plume per gas at known ratios

        for i, t in enumerate(section("plume") + plume_tables(section("stack"), source)
                              + area_plume_tables(section("area"), source)):
            where = f"{source}: plume {i + 1}"
            q = quantity_of(t, where)
            stab = str(_get(t, "stability", where, stability_default, str)).upper()
            if stab not in BRIGGS_RURAL:
                raise SimError(f"{where}: stability must be one of A-F, got {stab!r}")
            e, n = frame.to_en(_get(t, "lat", where), _get(t, "lon", where))
            emission = _get(t, "emission", where)
            height = _get(t, "stack_height", where)
            if emission < 0 or height < 0:
                raise SimError(f"{where}: emission and stack_height must be >= 0")
            unit = units[q]
            if unit in ("ug/m3", "ug m-3"):
                scale = 1e6
            elif unit in ("mg/m3", "mg m-3"):
                scale = 1e3
            elif unit in ("g/m3", "g m-3"):
                scale = 1.0
            elif unit in ("ppm", "ppb", "1e-6", "1e-9"):
                if not molar[q]:
                    raise SimError(f"{where}: quantity {q!r} in {unit} needs a molar_mass")
                per = 1e6 if unit in ("ppm", "1e-6") else 1e9
                # mole fraction = (C g/m3 / M g/mol) * (Vm L/mol / 1000 L/m3)
                scale = per * MOLAR_VOLUME / 1000.0 / molar[q]
            else:
                raise SimError(f"{where}: cannot put a plume in units {unit!r}")
            components[q].append(Plume(q, float(e), float(n), height, emission, stab, wind,
                                       scale))
        for i, t in enumerate(section("layer")):
            where = f"{source}: layer {i + 1}"
            q = quantity_of(t, where)
            components[q].append(Layer(q, _get(t, "mixing_height", where),
                                       _get(t, "below", where), _get(t, "above", where),
                                       _get(t, "thickness", where, 10.0)))
        for i, t in enumerate(section("gradient")):
            where = f"{source}: gradient {i + 1}"
            q = quantity_of(t, where)
            components[q].append(Gradient(q, _get(t, "surface", where),
                                          _get(t, "per_metre", where)))
        q = qtab.get("pressure")
        if isinstance(q, dict) and "background" not in q and not components["pressure"]:
            if units["pressure"] not in PRESSURE_SCALE:
                raise SimError(f"{source}: [quantities.pressure]: the standard atmosphere is "
                               f"given in {', '.join(PRESSURE_SCALE)}, not {units['pressure']!r}")
            components["pressure"].append(StandardAtmosphere(
                "pressure", ground, PRESSURE_SCALE[units["pressure"]]))
        sensors = section("sensor")
        for extra in doc:
            if extra not in ("site", "wind", "quantities", "plume", "layer", "gradient",
                             "sensor", "stack", "area"):
                raise SimError(f"{source}: unknown section [{extra}]")
        return cls(ground, frame, wind, units, background, components, sensors, source,
                   gusts_of(wind_t, f"{source}: [wind]"))


def load_field(path: str | Path) -> Field:
    """Read a field TOML file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Field

    Raises
    ------
    SimError
        One line naming the file and the problem.

    Examples
    --------
    >>> f = load_field("missions/plume-box.toml")  # doctest: +SKIP
    >>> f.quantities  # doctest: +SKIP
    ['ch4', 'pm2p5', 'temperature', 'humidity']
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise SimError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SimError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise SimError(f"{path}: not UTF-8 text (byte {exc.start}); a field file must be "
                       "UTF-8 TOML") from None
    return Field.from_dict(doc, str(path))
