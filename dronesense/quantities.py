"""Known quantities: names on the wire, units, CF standard names.

A sensor payload reports readings under short names (``PM2.5``, ``CH4``, ``pm25``...). The
:class:`NameTable` maps such names to a :class:`Quantity`, which carries the units (UDUNITS
strings, as CF requires), the CF standard name where one exists, and a human label.
A user mapping file (TOML) extends or overrides the defaults.

Examples
--------
>>> table = NameTable.default()
>>> q = table.lookup("PM2.5")
>>> q.key, q.units, q.standard_name
('pm2p5', 'ug m-3', 'mass_concentration_of_pm2p5_ambient_aerosol_particles_in_air')
>>> table.lookup("ch4").display_units
'ppm'
>>> table.lookup("BATT") is None
True
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from dronesense.errors import InputError, read_text

__all__ = ["QUANTITIES", "NameTable", "Quantity", "display_units", "get_quantity"]


@dataclass(frozen=True)
class Quantity:
    """A measured quantity and its metadata.

    Parameters
    ----------
    key
        Short identifier used as variable name (``pm2p5``, ``ch4``).
    long_name
        Human-readable name.
    units
        UDUNITS units string written to files (``ug m-3``, ``1e-6``).
    display_units
        Units as operators read them (``ug/m3``, ``ppm``).
    standard_name
        CF standard name, or ``None`` where CF has none.
    """

    key: str
    long_name: str
    units: str
    display_units: str
    standard_name: str | None = None

    def attrs(self) -> dict[str, str]:
        """CF attributes for a variable holding this quantity."""
        out = {"long_name": self.long_name, "units": self.units}
        if self.standard_name:
            out["standard_name"] = self.standard_name
        return out


def _q(key, long_name, units, display, std=None) -> Quantity:
    return Quantity(key, long_name, units, display, std)


_AEROSOL = "mass_concentration_of_{}_ambient_aerosol_particles_in_air"

#: Quantities dronesense knows by default, by key.
QUANTITIES: dict[str, Quantity] = {
    q.key: q
    for q in [
        _q("pm1", "PM1 mass concentration", "ug m-3", "ug/m3", _AEROSOL.format("pm1")),
        _q("pm2p5", "PM2.5 mass concentration", "ug m-3", "ug/m3", _AEROSOL.format("pm2p5")),
        _q("pm10", "PM10 mass concentration", "ug m-3", "ug/m3", _AEROSOL.format("pm10")),
        _q("ch4", "methane mole fraction", "1e-6", "ppm", "mole_fraction_of_methane_in_air"),
        _q("co2", "carbon dioxide mole fraction", "1e-6", "ppm",
           "mole_fraction_of_carbon_dioxide_in_air"),
        _q("no2", "nitrogen dioxide mole fraction", "1e-9", "ppb",
           "mole_fraction_of_nitrogen_dioxide_in_air"),
        _q("o3", "ozone mole fraction", "1e-9", "ppb", "mole_fraction_of_ozone_in_air"),
        _q("so2", "sulfur dioxide mole fraction", "1e-9", "ppb",
           "mole_fraction_of_sulfur_dioxide_in_air"),
        _q("co", "carbon monoxide mole fraction", "1e-9", "ppb",
           "mole_fraction_of_carbon_monoxide_in_air"),
        _q("voc", "total volatile organic compounds", "1e-9", "ppb"),
        _q("temperature", "air temperature", "degC", "degC", "air_temperature"),
        _q("humidity", "relative humidity", "percent", "%", "relative_humidity"),
        _q("pressure", "air pressure", "hPa", "hPa", "air_pressure"),
    ]
}

# Names seen on the wire for each quantity, compared after normalisation (see normalise_name).
_DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "pm1": ("pm1", "pm10_1", "pm1p0", "pm1_0", "pm01"),
    "pm2p5": ("pm25", "pm2p5", "pm2_5", "pm025"),
    "pm10": ("pm10", "pm10p0", "pm10_0"),
    "ch4": ("ch4", "methane"),
    "co2": ("co2",),
    "no2": ("no2",),
    "o3": ("o3", "ozone"),
    "so2": ("so2",),
    "co": ("co",),
    "voc": ("voc", "tvoc"),
    "temperature": ("temp", "temperature", "t", "airtemp", "tmp"),
    "humidity": ("hum", "humidity", "rh", "relhum"),
    "pressure": ("press", "pressure", "pres", "baro"),
}


def normalise_name(name: str) -> str:
    """Lower-case, drop NULs and separators: ``PM2.5`` and ``pm_2.5`` -> ``pm25``."""
    name = name.replace("\x00", "").strip().lower()
    name = name.replace(".", "").replace("-", "").replace(" ", "")
    return re.sub(r"_+", "_", name)


def get_quantity(key: str) -> Quantity:
    """The default :class:`Quantity` with this key.

    Raises
    ------
    InputError
        If no quantity has that key.
    """
    try:
        return QUANTITIES[key]
    except KeyError:
        known = ", ".join(sorted(QUANTITIES))
        raise InputError(f"unknown quantity {key!r} (known: {known})") from None


@dataclass
class NameTable:
    """Maps names on the wire to quantities, with an optional scale factor per name.

    Parameters
    ----------
    names
        Normalised wire name -> (quantity key, scale factor applied to the value).
    quantities
        Quantity key -> :class:`Quantity`.
    """

    names: dict[str, tuple[str, float]] = field(default_factory=dict)
    quantities: dict[str, Quantity] = field(default_factory=lambda: dict(QUANTITIES))

    @classmethod
    def default(cls) -> NameTable:
        """The built-in table."""
        table = cls()
        for key, aliases in _DEFAULT_NAMES.items():
            for alias in aliases:
                table.names[normalise_name(alias)] = (key, 1.0)
        return table

    @classmethod
    def from_file(cls, path: str | Path) -> NameTable:
        """The default table extended by a user mapping file.

        The file is TOML::

            [names]            # wire name = quantity key, or {quantity=..., scale=...}
            MYCH4 = "ch4"
            NO2PPM = { quantity = "no2", scale = 1000.0 }   # ppm on the wire -> ppb

            [quantities.nh3]   # a quantity dronesense does not know
            long_name = "ammonia mole fraction"
            units = "1e-9"
            display_units = "ppb"
            standard_name = "mole_fraction_of_ammonia_in_air"
        """
        path = Path(path)
        try:
            doc = tomllib.loads(read_text(path, "name mapping"))
        except tomllib.TOMLDecodeError as err:
            raise InputError(f"not valid TOML: {err}", path=path) from None
        table = cls.default()
        for key, spec in doc.get("quantities", {}).items():
            if not isinstance(spec, dict) or "units" not in spec:
                raise InputError(f"quantity {key!r} needs at least 'units'", path=path)
            base = table.quantities.get(key)
            fields = {
                "long_name": spec.get("long_name", base.long_name if base else key),
                "units": spec["units"],
                "display_units": spec.get("display_units", spec["units"]),
                "standard_name": spec.get("standard_name", base.standard_name if base else None),
            }
            table.quantities[key] = (
                replace(base, **fields) if base else Quantity(key=key, **fields)
            )
        for wire, spec in doc.get("names", {}).items():
            if isinstance(spec, str):
                key, scale = spec, 1.0
            elif isinstance(spec, dict) and "quantity" in spec:
                key, scale = spec["quantity"], float(spec.get("scale", 1.0))
            else:
                raise InputError(f"name {wire!r}: expected a quantity key or a table", path=path)
            if key not in table.quantities:
                raise InputError(f"name {wire!r} maps to unknown quantity {key!r}", path=path)
            table.names[normalise_name(wire)] = (key, scale)
        return table

    def add_sensor(self, sensor: str) -> None:
        """Also know every name in the ``SENSOR.NAME`` form, e.g. ``pms5003.PM2.5``.

        Readings of a sensor read on its own line carry the sensor as a prefix, so that
        they stay apart from the same quantity reported by the autopilot (``PM2.5``) while
        still mapping to the same quantity and scale. Names already in the table win.

        Examples
        --------
        >>> table = NameTable.default()
        >>> table.lookup("pms5003.PM2.5") is None
        True
        >>> table.add_sensor("pms5003")
        >>> table.lookup("pms5003.PM2.5").key, table.lookup("PMS5003.pm10").key
        ('pm2p5', 'pm10')
        >>> table.lookup("PM2.5").key                      # plain names unchanged
        'pm2p5'
        """
        prefix = normalise_name(sensor)
        if not prefix:
            return
        for alias, hit in list(self.names.items()):
            self.names.setdefault(prefix + alias, hit)

    def copy(self) -> NameTable:
        """An independent copy (names and quantities dicts copied)."""
        return NameTable(dict(self.names), dict(self.quantities))

    def lookup(self, name: str) -> Quantity | None:
        """The quantity reported under ``name``, or ``None`` if the name is not known."""
        hit = self.names.get(normalise_name(name))
        return None if hit is None else self.quantities[hit[0]]

    def convert(self, name: str, value: float) -> tuple[Quantity, float] | None:
        """Quantity and value in its units for a reading, or ``None`` for unknown names."""
        hit = self.names.get(normalise_name(name))
        if hit is None:
            return None
        key, scale = hit
        return self.quantities[key], value * scale


def display_units(units: str | None, key: str | None = None) -> str:
    """Units as people read them (``ppm``, ``ppb``, ``ug/m3``) for CF ``units``.

    Figures and printed summaries use these; files keep the CF units. Only relabels: the
    numbers are the same in both (``1e-6`` of a mole fraction is one ``ppm``).

    >>> display_units("1e-6", "ch4"), display_units("1e-9"), display_units("ug m-3")
    ('ppm', 'ppb', 'ug/m3')
    """
    if not units:
        return ""
    q = QUANTITIES.get(key or "")
    if q is not None and q.units == units:
        return q.display_units
    return _DISPLAY_UNITS.get(units.strip(), units)


_DISPLAY_UNITS = {
    "1e-6": "ppm", "1e-9": "ppb", "1e-12": "ppt", "ppm": "ppm", "ppb": "ppb",
    "ug m-3": "ug/m3", "ug/m3": "ug/m3", "mg m-3": "mg/m3", "ng m-3": "ng/m3",
    "percent": "%", "degC": "degC", "m": "m", "1": "",
}
