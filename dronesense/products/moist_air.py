"""Humidity of moist air: vapour pressure, mixing ratio and dew point from relative humidity.

The formulas are those of the WMO Guide to Instruments and Methods of Observation (WMO-No. 8,
Volume I, Annex 4.B): saturation vapour pressure over water
``e_w(t) = 6.112 exp(17.62 t / (243.12 + t))`` hPa (t in degC), the enhancement factor of moist
air ``f(p) = 1.0016 + 3.15e-6 p - 0.074 / p`` (p in hPa), relative humidity with respect to
water ``U = 100 e' / (f(p) e_w(t))`` and the mixing ratio ``r = 0.62198 e' / (p - e')``.
Arrays broadcast; NaN in gives NaN out.

Examples
--------
>>> round(float(saturation_vapour_pressure(20.0)), 2)      # hPa (tables: 23.39)
23.33
>>> round(1000 * float(mixing_ratio(20.0, 50.0, 1013.25)), 2)  # g/kg (tables: 7.3)
7.28
>>> round(float(dew_point(20.0, 50.0)), 1)                 # degC
9.3
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPSILON", "dew_point", "enhancement_factor", "mixing_ratio",
           "saturation_vapour_pressure", "vapour_pressure"]

#: ratio of the molar masses of water and dry air (WMO-No. 8)
EPSILON = 0.62198
_A, _B, _E0 = 17.62, 243.12, 6.112


def saturation_vapour_pressure(temperature_degc):
    """Saturation vapour pressure of pure water vapour over water, hPa.

    Examples
    --------
    >>> float(saturation_vapour_pressure(0.0))
    6.112
    """
    t = np.asarray(temperature_degc, dtype=float)
    return _E0 * np.exp(_A * t / (_B + t))


def enhancement_factor(pressure_hpa):
    """The factor by which moist air holds more water vapour than pure vapour would.

    Examples
    --------
    >>> round(float(enhancement_factor(1000.0)), 5)
    1.00468
    """
    p = np.asarray(pressure_hpa, dtype=float)
    return 1.0016 + 3.15e-6 * p - 0.074 / p


def vapour_pressure(temperature_degc, relative_humidity_percent, pressure_hpa):
    """Vapour pressure of moist air (hPa) from its relative humidity with respect to water.

    Examples
    --------
    >>> round(float(vapour_pressure(20.0, 100.0, 1013.25)), 2)
    23.44
    """
    u = np.asarray(relative_humidity_percent, dtype=float)
    return u / 100.0 * enhancement_factor(pressure_hpa) * saturation_vapour_pressure(
        temperature_degc)


def mixing_ratio(temperature_degc, relative_humidity_percent, pressure_hpa):
    """Humidity mixing ratio, kg of water vapour per kg of dry air.

    Examples
    --------
    >>> round(float(mixing_ratio(0.0, 100.0, 1000.0)), 5)
    0.00384
    """
    e = vapour_pressure(temperature_degc, relative_humidity_percent, pressure_hpa)
    return EPSILON * e / (np.asarray(pressure_hpa, dtype=float) - e)


def dew_point(temperature_degc, relative_humidity_percent):
    """Dew-point temperature (degC): where ``e_w`` equals the air's vapour pressure (the
    enhancement factor cancels out). Non-positive humidity gives NaN.

    Examples
    --------
    >>> round(float(dew_point(10.0, 100.0)), 6)
    10.0
    """
    u = np.asarray(relative_humidity_percent, dtype=float)
    t = np.asarray(temperature_degc, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(np.where(u > 0, u, np.nan) / 100.0) + _A * t / (_B + t)
    return _B * x / (_A - x)
