"""Altitude from air pressure: the barometric formula of the ICAO standard atmosphere.

Instrument files often have a pressure but no altitude. In the troposphere of the standard
atmosphere (ICAO Doc 7488; sea-level temperature 288.15 K, lapse rate 0.0065 K/m) the height
of pressure ``p`` above the level where the pressure is ``p_ref`` is

    h = T0 / L * (1 - (p / p_ref) ** (R L / (g M)))

with R L / (g M) = 0.190263. With ``p_ref`` the sea-level pressure (QNH) this is the altitude
above mean sea level; with the pressure at take-off it is the height above take-off.

Examples
--------
>>> round(float(pressure_altitude(1013.25 * (1 - 0.0065 * 100 / 288.15) ** 5.25588, 1013.25)), 2)
100.0
>>> float(pressure_altitude(1000.0, 1000.0))
0.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["ISA_EXPONENT", "ISA_LAPSE_RATE", "ISA_T0", "pressure_altitude"]

#: Sea-level temperature of the standard atmosphere (K).
ISA_T0 = 288.15
#: Temperature lapse rate of the standard troposphere (K/m).
ISA_LAPSE_RATE = 0.0065
#: R L / (g M) with R = 8.31446 J/(mol K), g = 9.80665 m/s2, M = 0.0289644 kg/mol.
ISA_EXPONENT = 0.190263


def pressure_altitude(pressure, reference):
    """Height (m) above the level of pressure ``reference`` of air at ``pressure`` (both in
    the same units, e.g. hPa); NaN where a pressure is not positive."""
    p = np.asarray(pressure, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(p > 0, p / float(reference), np.nan)
        return ISA_T0 / ISA_LAPSE_RATE * (1.0 - ratio ** ISA_EXPONENT)
