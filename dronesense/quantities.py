"""Known quantities: names on the wire, units, CF standard names.

A sensor payload reports readings under short names (``PM2.5``, ``CH4``, ``pm25``...). The
:class:`NameTable` maps such names to a :class:`Quantity`, which carries the units (UDUNITS
strings, as CF requires), the CF standard name where one exists, and a human label.
A user mapping file (TOML) extends or overrides the defaults. Units are read and converted
through UDUNITS-2 (cf-units); :data:`PLAUSIBLE_RANGES` says which values can be air.

Size: the vocabulary every stage shares (quantities, wire names, units, plausible ranges);
the units functions are the part to move to a module of their own when it grows further.

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

import functools
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from dronesense.errors import InputError, ParameterError, read_text

__all__ = ["NUMBER_UNITS", "PLAUSIBLE_RANGES", "QUANTITIES", "NameTable", "Quantity",
           "convert_units", "display_units", "file_units", "get_quantity", "is_mole_fraction",
           "is_temperature", "parse_units", "plausible_range", "text_units", "units_factor",
           "units_transform"]


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
        """CF attributes for a variable holding this quantity (a temperature also gets CF
        1.11's ``units_metadata``: its values are on the scale, not differences).

        >>> QUANTITIES["temperature"].attrs()["units_metadata"]
        'temperature: on_scale'
        """
        out = {"long_name": self.long_name, "units": self.units}
        if self.standard_name:
            out["standard_name"] = self.standard_name
        if is_temperature(self.units):
            out["units_metadata"] = "temperature: on_scale"
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

            [names]            # wire name = quantity key, or {quantity=..., units=..., scale=...}
            MYCH4 = "ch4"
            NO2PPM = { quantity = "no2", units = "ppm" }    # ppm on the wire -> ppb
            NO2X = { quantity = "no2", scale = 1000.0 }     # the same by a factor

            [quantities.nh3]   # a quantity dronesense does not know
            long_name = "ammonia mole fraction"
            units = "nmol mol-1"                            # any UDUNITS-2 spelling
            standard_name = "mole_fraction_of_ammonia_in_air"

        Units are read by UDUNITS-2 (cf-units): any valid spelling is accepted (``ppb``,
        ``1e-9``, ``nmol mol-1``; ``ug m-3``, ``ug/m3``). ``ppm``, ``ppb``, ``ppt`` and
        number-only spellings are stored as ``1e-6``, ``1e-9``, ``1e-12``
        (:func:`file_units`). A name's ``units`` are those of the values on the wire: they
        are converted to the quantity's units (times ``scale``, if also given).
        ``display_units`` defaults to the usual name of the units (``ppb``).

        Examples
        --------
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "names.toml")
        >>> with open(path, "w") as fh:
        ...     _ = fh.write('[names]\\nNO2PPM = { quantity = "no2", units = "umol/mol" }\\n'
        ...                  '[quantities.nh3]\\nunits = "nmol mol-1"\\n')
        >>> table = NameTable.from_file(path)
        >>> table.convert("NO2PPM", 0.05)[1], table.quantities["nh3"].display_units
        (50.0, 'ppb')
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
            units = _checked_units(spec["units"], f"quantity {key!r}", path)
            fields = {
                "long_name": spec.get("long_name", base.long_name if base else key),
                "units": units,
                "display_units": spec.get("display_units", display_units(units) or units),
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
            if isinstance(spec, dict) and "units" in spec:
                wire_units = _checked_units(spec["units"], f"name {wire!r}", path)
                try:
                    scale *= units_factor(wire_units, table.quantities[key].units)
                except ValueError as err:
                    raise InputError(f"name {wire!r}: {err}", path=path) from None
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

    def resolve(self, name: str, available: Iterable[str] = (), strict: bool = True) -> str:
        """The quantity key meant by ``name``: a key, a wire name or an alias in any case
        (``CH4``, ``methane``, ``PM2.5``, ``pm25``), or one of the ``available`` keys. An
        unknown name raises ``ParameterError("quantity", ...)`` with "did you mean"; with
        ``strict=False`` a name close to none is returned as it is.

        >>> t = NameTable.default()
        >>> [t.resolve(n) for n in ("CH4", "methane", "pm25", "PM2.5")], t.resolve("x", strict=0)
        (['ch4', 'ch4', 'pm2p5', 'pm2p5'], 'x')
        >>> t.resolve("metane")
        Traceback (most recent call last):
        dronesense.errors.ParameterError: quantity: unknown quantity 'metane'; did you mean ch4?
        """
        import difflib

        keys = {k.lower(): k for k in (*self.quantities, *map(str, available))}
        norm = normalise_name(name)
        hit = keys.get(name.lower()) or (self.names.get(norm) or (None,))[0] or keys.get(norm)
        if hit:
            return hit
        choices = {**{n: k for n, (k, _) in self.names.items()}, **keys}
        close = list(dict.fromkeys(choices[c] for c in difflib.get_close_matches(
            norm, list(choices), n=5, cutoff=0.6)))
        if not close and not strict:
            return name
        hint = (f"; did you mean {' or '.join(close[:3])}?" if close
                else f" (known: {', '.join(sorted(keys.values()))})")
        raise ParameterError("quantity", f"unknown quantity {name!r}{hint}")

    def convert(self, name: str, value: float) -> tuple[Quantity, float] | None:
        """Quantity and value in its units for a reading, or ``None`` for unknown names."""
        hit = self.names.get(normalise_name(name))
        if hit is None:
            return None
        key, scale = hit
        return self.quantities[key], value * scale


def _checked_units(units, what: str, path: Path) -> str:
    """Units from a mapping file in their CF spelling, or an :class:`InputError`."""
    if not isinstance(units, str) or parse_units(units) is None:
        raise InputError(f"{what}: units {units!r} are not valid UDUNITS-2 units "
                         "(e.g. 'ug m-3', 'ppb', 'umol mol-1', 'degC')", path=path)
    return file_units(units)


def display_units(units: str | None, key: str | None = None) -> str:
    """Units as people read them (``ppm``, ``ppb``, ``ug/m3``) for any valid UDUNITS spelling.

    Figures and printed summaries use these; files keep the CF units. Only relabels: the
    numbers are the same in both (``1e-6`` of a mole fraction is one ``ppm``). Mole
    fractions and mass concentrations are recognised in any spelling through UDUNITS-2
    (``umol mol-1`` and ``1e-06`` are ``ppm``); other units are shown as they are.

    >>> display_units("1e-6", "ch4"), display_units("1e-9"), display_units("ug m-3")
    ('ppm', 'ppb', 'ug/m3')
    >>> display_units("umol mol-1"), display_units("1e-06"), display_units("mg/m3")
    ('ppm', 'ppm', 'mg/m3')
    """
    if not units:
        return ""
    q = QUANTITIES.get(key or "")
    if q is not None and q.units == units:
        return q.display_units
    text = units.strip()
    if text in _DISPLAY_UNITS:
        return _DISPLAY_UNITS[text]
    unit = parse_units(text)
    if unit is None:
        return units
    for names, reference in ((_MOLE_FRACTION_NAMES, "1"), (_MASS_CONC_NAMES, "kg m-3")):
        if unit.is_convertible(reference):
            factor = float(unit.convert(1.0, reference))
            for value, name in names:
                if math.isclose(factor, value, rel_tol=1e-9):
                    return name
    return units


_DISPLAY_UNITS = {
    "1e-6": "ppm", "1e-9": "ppb", "1e-12": "ppt", "ppm": "ppm", "ppb": "ppb",
    "ug m-3": "ug/m3", "ug/m3": "ug/m3", "mg m-3": "mg/m3", "ng m-3": "ng/m3",
    "percent": "%", "degC": "degC", "m": "m", "1": "",
}
#: Dimensionless factors (to a plain fraction) and their usual names.
_MOLE_FRACTION_NAMES = ((1e-6, "ppm"), (1e-9, "ppb"), (1e-12, "ppt"), (1e-2, "%"))
#: Mass concentrations (factor to kg m-3) and their usual names.
_MASS_CONC_NAMES = ((1e-9, "ug/m3"), (1e-6, "mg/m3"), (1e-12, "ng/m3"), (1e-3, "g/m3"),
                    (1.0, "kg/m3"))


# ---------------------------------------------------------------------------------------------
# units through UDUNITS-2 (cf-units)


def parse_units(units: str | None):
    """The :class:`cf_units.Unit` of a UDUNITS-2 string, or ``None`` if it is not one.

    Any spelling UDUNITS-2 knows is accepted: ``ug m-3``, ``ug/m3``, ``µg/m³``, ``1e-6``,
    ``ppm``, ``umol mol-1``, ``umol/mol``.

    Examples
    --------
    >>> parse_units("umol mol-1") == parse_units("ppm") == parse_units("1e-06")
    True
    >>> parse_units("furlongs per fortnight of gas") is None
    True
    """
    if units is None or not str(units).strip():
        return None
    return _parse(str(units).strip())


@functools.lru_cache(maxsize=256)
def _parse(text: str):
    from cf_units import Unit

    try:
        unit = Unit(text)
    except ValueError:
        return None
    return None if unit.is_unknown() or unit.is_no_unit() else unit


def units_factor(from_units: str, to_units: str) -> float:
    """The factor that turns a value in ``from_units`` into ``to_units`` (both UDUNITS-2).

    Raises
    ------
    ValueError
        If either is not a UDUNITS-2 unit, or they are not convertible by a factor (different
        dimensions, or an offset such as ``degC`` to ``K``).

    Examples
    --------
    >>> units_factor("ppm", "1e-9"), units_factor("mg m-3", "ug m-3")
    (1000.0, 1000.0)
    """
    factor, offset = units_transform(from_units, to_units)
    if offset != 0.0:
        raise ValueError(f"units {from_units!r} differ from {to_units!r} by an offset, not a "
                         "factor")
    return factor


def is_mole_fraction(units: str | None) -> bool:
    """Whether UDUNITS-2 units are dimensionless (a mole fraction such as ``ppm``, ``1e-9``,
    ``umol mol-1``).

    >>> is_mole_fraction("umol mol-1"), is_mole_fraction("1e-06"), is_mole_fraction("ug m-3")
    (True, True, False)
    """
    unit = parse_units(units)
    return unit is not None and unit.is_dimensionless()


def is_temperature(units: str | None) -> bool:
    """Whether UDUNITS-2 units are a temperature (``degC``, ``K``, ``degF``).

    >>> is_temperature("degC"), is_temperature("hPa")
    (True, False)
    """
    unit = parse_units(units)
    return unit is not None and unit.is_convertible("K")


#: The number-only CF spellings of mole fractions and the names people read instead: a
#: spreadsheet or pandas takes ``1e-6`` for a number. Text files (the CSV journal, KML,
#: GeoJSON) write the name and read it back as the CF spelling (:func:`text_units`,
#: :func:`file_units`).
NUMBER_UNITS = {"1e-6": "ppm", "1e-9": "ppb", "1e-12": "ppt"}
_NAMED_UNITS = {v: k for k, v in NUMBER_UNITS.items()}


def text_units(units: str) -> str:
    """The spelling of CF units in text files people open: ``ppm`` for ``1e-6`` (a number to a
    spreadsheet), every other spelling as it is. :func:`file_units` undoes it.

    >>> text_units("1e-6"), text_units("1e-9"), text_units("ug m-3"), text_units("")
    ('ppm', 'ppb', 'ug m-3', '')
    """
    return NUMBER_UNITS.get(units, units)


def file_units(units: str) -> str:
    """The CF spelling of units read from a text file or given by a user: ``ppm``, ``ppb``,
    ``ppt`` and number-only spellings of them (``1e-06``) become ``1e-6``, ``1e-9``,
    ``1e-12``; everything else stays as it is.

    >>> file_units("ppm"), file_units("1e-06"), file_units("1.0e-9"), file_units("ug m-3")
    ('1e-6', '1e-6', '1e-9', 'ug m-3')
    >>> all(file_units(text_units(u)) == u for u in ("1e-6", "1e-9", "ug m-3", "degC", ""))
    True
    """
    text = units.strip()
    if text in _NAMED_UNITS:
        return _NAMED_UNITS[text]
    try:
        number = float(text)
    except ValueError:
        return units
    for canonical in NUMBER_UNITS:
        if math.isclose(number, float(canonical), rel_tol=1e-12):
            return canonical
    return units


def units_transform(from_units: str, to_units: str) -> tuple[float, float]:
    """``(factor, offset)``: ``value * factor + offset`` turns ``from_units`` into ``to_units``
    (UDUNITS-2; ``ValueError`` if they do not convert). An offset only between scales:

    >>> units_transform("K", "degC"), units_transform("ppb", "1e-6")
    ((1.0, -273.15), (0.001, 0.0))
    """
    a, b = parse_units(from_units), parse_units(to_units)
    if a is None or b is None:
        raise ValueError(f"{from_units if a is None else to_units!r} is not a valid UDUNITS unit")
    if not a.is_convertible(b):
        raise ValueError(f"units {from_units!r} cannot be converted to {to_units!r}")
    offset = float(a.convert(0.0, b))
    factor = float(a.convert(1.0, b)) - offset
    return float(f"{factor:.15g}"), float(f"{offset:.15g}")  # 1000, not 999.9999999999999


def convert_units(values, from_units: str, to_units: str):
    """``values`` (number or array) from ``from_units`` to ``to_units``, offsets included."""
    factor, offset = units_transform(from_units, to_units)
    return values * factor + offset


#: ``(low, high, units)``: beyond, a value is a glitch, kept but flagged (flight.plausible).
#: Gas bounds allow sensor noise around zero and plumes near vents and leaks.
PLAUSIBLE_RANGES: dict[str, tuple[float, float, str]] = {
    "pressure": (300.0, 1100.0, "hPa"), "temperature": (-90.0, 60.0, "degC"),
    "humidity": (0.0, 100.0, "percent"),
    **dict.fromkeys(("ch4", "co2"), (0.0, 1e5, "1e-6")),
    **dict.fromkeys(("no2", "o3", "so2", "co", "voc"), (-1000.0, 1e6, "1e-9")),
    **dict.fromkeys(("pm1", "pm2p5", "pm10"), (0.0, 2e4, "ug m-3")),
}


def plausible_range(key: str, units: str, ranges: dict | None = None) -> tuple | None:
    """Plausible ``(low, high)`` of a quantity in ``units`` (``None``: no range in ``ranges``,
    default :data:`PLAUSIBLE_RANGES`, or units that do not convert).

    >>> plausible_range("temperature", "K"), plausible_range("nh3", "1e-9")
    ((183.15, 333.15), None)
    """
    entry = (PLAUSIBLE_RANGES if ranges is None else ranges).get(key, (0, 0, None))
    try:
        factor, offset = units_transform(entry[2], units)
    except (TypeError, ValueError):  # no entry, no units, units that do not convert
        return None
    a, b = entry[0] * factor + offset, entry[1] * factor + offset
    return (float(f"{min(a, b):.12g}"), float(f"{max(a, b):.12g}"))
