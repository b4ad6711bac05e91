"""Air: molar masses, the standard atmosphere and the molar density that turn mole fractions
into mass concentrations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.quantities import display_units, is_mole_fraction, units_factor

__all__ = ["MOLAR_MASS", "R_GAS", "AirConversion", "air_molar_density", "concentration_conversion",
           "mass_factor", "quantity_units", "standard_atmosphere"]

#: Universal gas constant, J mol-1 K-1.
R_GAS = 8.314462618

#: Molar masses (g/mol) of the gases dronesense knows by key.
MOLAR_MASS: dict[str, float] = {
    "ch4": 16.043, "co2": 44.009, "no2": 46.0055, "o3": 47.997, "so2": 64.066,
    "co": 28.010, "nh3": 17.031, "h2s": 34.08, "n2o": 44.013,
}

# ----------------------------------------------------------------------------------------
# Air and wind
# ----------------------------------------------------------------------------------------
def standard_atmosphere(altitude: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICAO standard atmosphere (troposphere): pressure (Pa) and temperature (K).

    Examples
    --------
    >>> p, t = standard_atmosphere(0.0)
    >>> float(p), float(t)
    (101325.0, 288.15)
    >>> round(float(standard_atmosphere(1000.0)[0]))
    89875
    """
    h = np.asarray(altitude, dtype=float)
    t = 288.15 - 0.0065 * h
    p = 101325.0 * (t / 288.15) ** 5.25588
    return p, t


def air_molar_density(pressure_pa: float | np.ndarray,
                      temperature_k: float | np.ndarray) -> np.ndarray:
    """Molar density of air, mol m-3, from the ideal gas law ``p / (R T)``.

    Examples
    --------
    >>> round(float(air_molar_density(101325.0, 298.15)), 2)   # 1 / 24.45 L
    40.87
    """
    return np.asarray(pressure_pa, dtype=float) / (R_GAS * np.asarray(temperature_k, float))


def mass_factor(units: str, key: str, molar_mass: float | None):
    """(kind, factor): mass conc g m-3 = value * factor (* molar density for mole fractions).

    Units are read by UDUNITS-2 (cf-units), so any valid spelling works: a dimensionless
    unit is a mole fraction (``1e-6``, ``1e-06``, ``ppm``, ``umol mol-1``), a unit of mass per
    volume a mass concentration (``ug m-3``, ``ug/m3``, ``mg m-3``).

    Examples
    --------
    >>> mass_factor("1e-6", "ch4", None)
    ('mole_fraction', 1.6043e-05)
    >>> mass_factor("umol mol-1", "ch4", None) == mass_factor("1e-06", "ch4", None)
    True
    >>> mass_factor("ug/m3", "pm2p5", None)
    ('mass_concentration', 1e-06)
    >>> try:
    ...     mass_factor("1e-9", "xyz", None)
    ... except ParameterError as err:
    ...     print(err)
    molar_mass: unknown for xyz (a mole fraction): give it in g/mol
    """
    u = (units or "").strip()
    if is_mole_fraction(u):
        mm = molar_mass if molar_mass is not None else MOLAR_MASS.get(key)
        if mm is None:
            raise ParameterError("molar_mass",
                                 f"unknown for {key} (a mole fraction): give it in g/mol")
        return "mole_fraction", float(f"{units_factor(u, '1') * float(mm):.15g}")
    try:
        return "mass_concentration", units_factor(u, "g m-3")
    except ValueError:
        pass
    raise InputError(f"{key}: units {units!r} are neither a mole fraction nor a mass "
                     "concentration: cannot make a flux of them")


def quantity_units(samples: xr.Dataset, key: str) -> str:
    """Units of a quantity in the samples (its attribute, else the quantity table's)."""
    units = samples[key].attrs.get("units")
    if units:
        return str(units)
    from dronesense.quantities import QUANTITIES

    q = QUANTITIES.get(key)
    return q.units if q else ""


@dataclass(frozen=True)
class AirConversion:
    """Per level: mass concentration (g m-3) per unit of the quantity, the molar density of
    air (mol m-3; NaN for a mass concentration), and a line saying where it came from."""

    factor: np.ndarray
    air_molar_density: np.ndarray
    description: str


def _median_near(samples: xr.Dataset, key: str, near: np.ndarray) -> float | None:
    """Median of a quantity over the samples of the ``near`` mask (at least 3 of them)."""
    if key not in samples:
        return None
    v = np.asarray(samples[key].values, dtype=float)
    ok = np.isfinite(v) & near
    return float(np.median(v[ok])) if ok.sum() >= 3 else None


def concentration_conversion(samples: xr.Dataset, key: str, units: str, *,
                             molar_mass: float | None, near: np.ndarray, altitude: float,
                             heights: np.ndarray) -> AirConversion:
    """How values of ``key`` become mass concentrations at ``heights`` m above ``altitude``.

    Mole fractions: molar mass times the molar density of air, from the median
    ``temperature`` (°C) and ``pressure`` (hPa) of the samples ``near`` the curtain when they
    hold them, else the standard atmosphere. Mass concentrations: their unit factor.

    Examples
    --------
    >>> ds = xr.Dataset({"ch4": ("obs", [2.0] * 3, {"units": "1e-6"})})
    >>> air = concentration_conversion(ds, "ch4", "1e-6", molar_mass=None,
    ...                                near=np.ones(3, bool), altitude=0.0,
    ...                                heights=np.array([0.0]))
    >>> round(float(air.factor[0]) * 1e6, 2), round(float(air.air_molar_density[0]), 2)
    (678.5, 42.29)
    >>> air.description
    'molar density of air 42.29 mol/m3 from the standard-atmosphere temperature and the \
standard-atmosphere pressure at 0 m AMSL'
    """
    kind, factor = mass_factor(units, key, molar_mass)
    if kind != "mole_fraction":
        return AirConversion(np.full_like(heights, factor), np.full_like(heights, np.nan),
                             f"mass concentration in {display_units(units, key)}: no conversion")
    p_isa, t_isa = standard_atmosphere(altitude + heights)
    t_meas = _median_near(samples, "temperature", near)
    p_meas = _median_near(samples, "pressure", near)
    temp_k = (t_meas + 273.15) * np.ones_like(heights) if t_meas is not None else t_isa
    pres = (p_meas * 100.0) * np.ones_like(heights) if p_meas is not None else p_isa
    n_air = air_molar_density(pres, temp_k)
    text = ("molar density of air "
            f"{float(np.mean(n_air)):.2f} mol/m3 from "
            + (f"the samples' temperature ({t_meas:.1f} °C)" if t_meas is not None
               else "the standard-atmosphere temperature")
            + " and "
            + (f"the samples' pressure ({p_meas:.1f} hPa)" if p_meas is not None
               else f"the standard-atmosphere pressure at {altitude + heights.mean():.0f} m AMSL"))
    return AirConversion(factor * n_air, n_air, text)
