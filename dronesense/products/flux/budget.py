"""The uncertainty budget of a flux estimate: background, wind speed, wind direction and
interpolation, added in quadrature.

Examples
--------
>>> import numpy as np
>>> from dronesense.products.flux.wind import WindProfile
>>> parts = uncertainty_budget(10.0, background_error=0.01, unit_total=50.0,
...                            wind=WindProfile(3.0, 240.0), cos_theta=1.0,
...                            jackknife=[9.8, 10.0, 10.2])
>>> {k: round(v, 3) for k, v in parts.items()}
{'background': 0.5, 'wind_speed': 1.0, 'wind_direction': 0.152, 'interpolation': 0.189}
>>> round(combined(parts), 3)
1.144
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dronesense.products.flux.wind import WindProfile

__all__ = ["combined", "direction_uncertainty", "jackknife_spread", "uncertainty_budget"]


def direction_uncertainty(emission: float, cos_theta: float, direction_error: float) -> float:
    """Change of the emission (g/s) with ``|cos θ|`` over θ ± ``direction_error`` degrees."""
    theta = math.radians(math.degrees(math.acos(min(1.0, abs(cos_theta)))))
    dtheta = math.radians(direction_error)
    cos_hi = abs(math.cos(theta - dtheta))
    cos_lo = abs(math.cos(min(theta + dtheta, math.pi / 2)))
    c0 = max(abs(cos_theta), 1e-9)
    return abs(emission) * max(abs(cos_hi - c0), abs(c0 - cos_lo)) / c0


#: Variance inflation of a delete-one-pass jackknife on an interpolated wall: a pass left out
#: is filled from its two neighbours, so with independent pass errors each leave-one-out
#: difference carries ``1 + 2 (1/2)^2 = 1.5`` times a pass's error variance.
JACKKNIFE_INFLATION = 1.5


def jackknife_spread(estimates: Sequence[float]) -> float:
    """Delete-one jackknife standard error of the estimates made leaving out each pass,
    corrected for the refilling of the left-out pass by its neighbours
    (:data:`JACKKNIFE_INFLATION`)."""
    jk = np.asarray(estimates, dtype=float)
    var = (jk.size - 1) / jk.size * np.sum((jk - jk.mean()) ** 2)
    return float(math.sqrt(var / JACKKNIFE_INFLATION))


def uncertainty_budget(emission: float, *, background_error: float, unit_total: float,
                       wind: WindProfile, cos_theta: float,
                       jackknife: Sequence[float] = ()) -> dict[str, float]:
    """Uncertainty parts (g/s) of ``emission``.

    Parameters
    ----------
    emission
        The estimate, g/s.
    background_error
        Uncertainty of the background (quantity units).
    unit_total
        g/s per unit of enhancement over the whole wall (interpolation is linear in the
        values, so a background error moves the emission by exactly this much per unit).
    wind
        The wind, with its speed and direction uncertainties.
    cos_theta
        Cosine of the angle between the wind and the curtain normal.
    jackknife
        Emissions with each pass left out in turn (fewer than 3: no interpolation part).
    """
    return {
        "background": abs(background_error) * unit_total,
        "wind_speed": abs(emission) * wind.speed_error / wind.speed,
        "wind_direction": direction_uncertainty(emission, cos_theta, wind.direction_error),
        "interpolation": jackknife_spread(jackknife) if len(jackknife) >= 3 else 0.0,
    }


def combined(components: dict[str, float]) -> float:
    """The parts added in quadrature."""
    return math.sqrt(sum(c * c for c in components.values()))
