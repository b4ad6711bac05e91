"""Air: molar masses, the standard atmosphere and the molar density that turn mole fractions
into mass concentrations."""

from __future__ import annotations

import numpy as np
import xarray as xr

from dronesense.errors import InputError

#: Universal gas constant, J mol-1 K-1.
R_GAS = 8.314462618

#: Molar masses (g/mol) of the gases dronesense knows by key.
MOLAR_MASS: dict[str, float] = {
    "ch4": 16.043, "co2": 44.009, "no2": 46.0055, "o3": 47.997, "so2": 64.066,
    "co": 28.010, "nh3": 17.031, "h2s": 34.08, "n2o": 44.013,
}

#: Mole-fraction units (CF) -> factor to a plain mole fraction.
_MOLE_FRACTION = {"1e-6": 1e-6, "ppm": 1e-6, "1e-9": 1e-9, "ppb": 1e-9, "1e-12": 1e-12,
                  "ppt": 1e-12, "1": 1.0, "mol mol-1": 1.0}
#: Mass-concentration units -> factor to g m-3.
_MASS_CONC = {"ug m-3": 1e-6, "ug/m3": 1e-6, "mg m-3": 1e-3, "mg/m3": 1e-3,
              "ng m-3": 1e-9, "ng/m3": 1e-9, "g m-3": 1.0, "g/m3": 1.0,
              "kg m-3": 1e3}


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
    """(kind, factor): mass conc g m-3 = value * factor (* molar density for mole fractions)."""
    u = (units or "").strip()
    if u in _MOLE_FRACTION:
        mm = molar_mass if molar_mass is not None else MOLAR_MASS.get(key)
        if mm is None:
            raise InputError(f"{key}: molar mass unknown for a mole fraction: give --molar-mass")
        return "mole_fraction", _MOLE_FRACTION[u] * float(mm)
    if u in _MASS_CONC:
        return "mass_concentration", _MASS_CONC[u]
    raise InputError(f"{key}: units {units!r} are neither a mole fraction nor a mass "
                     "concentration: cannot make a flux of them")


def quantity_units(samples: xr.Dataset, key: str) -> str:
    units = samples[key].attrs.get("units")
    if units:
        return str(units)
    from dronesense.quantities import QUANTITIES

    q = QUANTITIES.get(key)
    return q.units if q else ""
