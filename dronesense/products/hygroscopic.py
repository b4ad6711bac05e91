"""Humidity check of optical particle readings, and their hygroscopic-growth correction.

Optical particle counters (PMS5003, SPS30, SDS011, OPC-N3) size particles by the light they
scatter. In humid air the particles take up water and grow, so the counters over-read the dry
mass that regulatory monitors (heated inlets, gravimetry) report. This module flags the
particle readings taken above a relative humidity and can correct them with the
single-parameter kappa-Koehler growth of the particles:

    PM_dry = PM / C,   C = 1 + (kappa / rho_p) / (1 / a_w - 1),   a_w = RH / 100

- ``kappa``: hygroscopicity parameter of the aerosol (Petters, M. D. and Kreidenweis, S. M.,
  2007: A single parameter representation of hygroscopic growth and cloud condensation nucleus
  activity, Atmos. Chem. Phys. 7, 1961-1971). Default 0.4, the value Crilley et al. (2018) found
  for urban aerosol with optical counters (0.38-0.41).
- ``rho_p``: dry particle density relative to water (g cm-3), default 1.65 (Crilley, L. R. et
  al., 2018: Evaluation of a low-cost optical particle counter (Alphasense OPC-N2) for ambient
  air monitoring, Atmos. Meas. Tech. 11, 709-720, eq. 4).
- ``a_w``: water activity, taken as the relative humidity over 100 (Koehler curvature term
  neglected); capped at :data:`MAX_RH` % where the correction diverges.

Examples
--------
>>> round(float(growth_factor(80.0)), 3)          # PM reads 97 % high at 80 % RH
1.97
>>> round(float(growth_factor(50.0, kappa=0.2)), 3)
1.121
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dronesense.errors import ParameterError
from dronesense.products.sample_series import converted, interpolate_in_time

__all__ = ["MAX_RH", "PARTICLE_KEYS", "HumidityCheck", "growth_factor", "humidity_check"]

#: quantities measured by optical particle counters
PARTICLE_KEYS = ("pm1", "pm2p5", "pm4", "pm10")
#: relative humidity (%) the correction is capped at
MAX_RH = 95.0
#: longest time (s) between two humidity readings interpolated to a particle reading
MAX_RH_INTERVAL_S = 10.0


def growth_factor(relative_humidity, kappa: float = 0.4, particle_density: float = 1.65):
    """Mass growth factor C of a particle reading at a relative humidity (%): the reading
    over the dry mass (see the module docstring). NaN where the humidity is unknown."""
    aw = np.clip(np.asarray(relative_humidity, float), 0.0, MAX_RH) / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 + (kappa / particle_density) / (1.0 / aw - 1.0)


@dataclass
class HumidityCheck:
    """What :func:`humidity_check` found: per particle quantity the readings taken above the
    limit (``fraction``: bool per reading), corrected values and a text for the product."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    fraction: dict[str, np.ndarray] = field(default_factory=dict)
    corrected: set[str] = field(default_factory=set)
    comment: str = "none"


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ParameterError(name, f"must be a positive number, got {value!r}")


def humidity_check(samples, values: dict[str, np.ndarray], times: np.ndarray, *,
                   rh_limit: float = 80.0, correct: bool = False, kappa: float = 0.4,
                   particle_density: float = 1.65) -> HumidityCheck:
    """Flag (and optionally correct) the particle readings of ``values`` by the humidity of
    the samples at their times.

    ``values`` are the readings per quantity key (one per observation, NaN elsewhere) and
    ``times`` the samples' times (``datetime64[ns]``). Humidity (``humidity``, %) is
    interpolated in time to each particle reading (at most :data:`MAX_RH_INTERVAL_S` between
    two humidity readings); a reading whose humidity is unknown is neither flagged nor
    corrected. Returns an empty check when the samples have no humidity.
    """
    if not (isinstance(rh_limit, int | float) and 0 < rh_limit <= 100):
        raise ParameterError("rh_limit", f"must be a relative humidity in (0, 100] %, got "
                             f"{rh_limit!r}")
    _check_positive("kappa", kappa)
    _check_positive("particle_density", particle_density)
    out = HumidityCheck()
    keys = [k for k in PARTICLE_KEYS if k in values]
    if not keys or "humidity" not in samples.data_vars:
        return out
    rh = converted(samples["humidity"], samples["humidity"].attrs.get("units", "percent"),
                   "humidity")
    t = times.astype("datetime64[ns]").astype(np.int64)
    ok = np.isfinite(rh) & ~np.isnat(times)
    order = np.argsort(t[ok], kind="stable")
    t_rh, v_rh = t[ok][order], rh[ok][order]
    for k in keys:
        v = values[k]
        rh_at = np.full(v.shape, np.nan)
        has = np.isfinite(v) & ~np.isnat(times)
        rh_at[has] = interpolate_in_time(t[has], t_rh, v_rh,
                                         max_interval_ns=int(MAX_RH_INTERVAL_S * 1e9))
        humid = np.isfinite(rh_at) & (rh_at > rh_limit)
        out.fraction[k] = np.where(np.isfinite(v), humid, False)
        if correct:
            c = growth_factor(rh_at, kappa, particle_density)
            out.values[k] = np.where(np.isfinite(c), v / c, v)
            out.corrected.add(k)
    if correct:
        out.comment = (f"hygroscopic growth removed by kappa-Koehler (Petters and Kreidenweis "
                       f"2007; Crilley et al. 2018): kappa = {kappa:g}, dry particle density "
                       f"{particle_density:g} g cm-3, relative humidity capped at {MAX_RH:g} %")
    return out
