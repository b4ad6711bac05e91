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

__all__ = ["combined", "direction_uncertainty", "effective_passes", "ground_uncertainty",
           "jackknife_spread", "lowest_by_trend", "small_sample_factor",
           "uncertainty_budget"]


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

#: The same for the lowest or the top pass, refilled from its one neighbour: ``1 + 1 = 2``.
EDGE_INFLATION = 2.0


def jackknife_spread(estimates: Sequence[float],
                     inflation: Sequence[float] | None = None) -> float:
    """Delete-one jackknife standard error of the estimates made leaving out each pass,
    each squared deviation divided by the variance inflation of its refill
    (:data:`JACKKNIFE_INFLATION` for a pass between two others, :data:`EDGE_INFLATION` for
    the lowest and the top; default all :data:`JACKKNIFE_INFLATION`).

    Examples
    --------
    >>> round(jackknife_spread([9.8, 10.0, 10.2]), 4)
    0.1886
    >>> round(jackknife_spread([9.8, 10.0, 10.2], [2.0, 1.5, 2.0]), 4)
    0.1633
    """
    jk = np.asarray(estimates, dtype=float)
    f = (np.full(jk.size, JACKKNIFE_INFLATION) if inflation is None
         else np.asarray(inflation, dtype=float))
    var = (jk.size - 1) / jk.size * np.sum((jk - jk.mean()) ** 2 / f)
    return float(math.sqrt(var))


def lowest_by_trend(jackknife: Sequence[float], inflation: Sequence[float] | None,
                    emission: float, heights: np.ndarray, line_flux: np.ndarray,
                    extent: np.ndarray, thickness: np.ndarray,
                    lowest: int) -> tuple[list[float], list[float] | None]:
    """The jackknife with the lowest pass's replicate refilled by the trend of the two
    levels above it instead of by the next pass alone.

    Left out, the lowest pass is refilled from its one neighbour: where the flux per metre
    of height falls or grows steadily with height (a box's walls, whose plume hugs the
    ground) that change of profile, not the pass's own error, makes the replicate. Refilled
    by the straight line through the next two levels (``g = (z2 - z1) / (z3 - z2)``), the
    replicate moves by what the lowest pass departs from that line,
    ``k h1 (F1 - F_trend)`` with ``k`` the emission per unit of ``Σ F h``; its variance
    inflation is ``1 + (1 + g)² + g²``.

    ``heights``, ``line_flux`` (the integral along the pass), ``extent`` (m of the curtain
    the pass covers) and ``thickness`` (m of height it stands for) are per pass, lowest first
    (:func:`~dronesense.products.flux.wall.pass_lines`); passes less than 1.5 m apart in
    height make one level, their flux per metre of extent pooled (a loop cut into two legs).
    ``lowest`` is the lowest pass's position in ``jackknife``. A lowest level of several
    passes (each refilled from the others), a trend carried further down than it was drawn
    over (``g`` outside 0.5-2) or a wall with no flux leave the jackknife as it is.

    Examples
    --------
    >>> z = np.array([3.0, 9.0, 15.0, 21.0]); h = np.array([6.0, 6.0, 6.0, 9.0])
    >>> jk, f = lowest_by_trend([8.0, 9.5, 10.1, 10.0], [2.0, 1.5, 1.5, 2.0], 10.0, z,
    ...                         np.array([1.0, 0.6, 0.2, 0.1]), np.full(4, 100.0), h, 0)
    >>> [round(v, 3) for v in jk], f
    ([10.0, 9.5, 10.1, 10.0], [6.0, 1.5, 1.5, 2.0])
    """
    jk = [float(v) for v in jackknife]
    z = np.asarray(heights, dtype=float)
    fl = np.asarray(line_flux, dtype=float)
    ext = np.asarray(extent, dtype=float)
    th = np.asarray(thickness, dtype=float)
    per_unit = float(np.sum(fl * th))
    if len(jk) < 3 or z.size < 3 or per_unit == 0 or not math.isfinite(emission):
        return jk, inflation
    levels: list[list[int]] = []
    for i in range(z.size):
        if levels and z[i] - z[levels[-1][0]] < LEVEL_GAP:
            levels[-1].append(i)
        else:
            levels.append([i])
    if len(levels) < 3 or len(levels[0]) > 1 or ext[0] <= 0:
        return jk, inflation
    lz = [float(np.average(z[lv], weights=np.maximum(ext[lv], 1e-9))) for lv in levels[1:3]]
    dens = [float(np.sum(fl[lv]) / max(float(np.sum(ext[lv])), 1e-9)) for lv in levels[1:3]]
    g = (lz[0] - z[0]) / (lz[1] - lz[0])
    if not (0.5 <= g <= 2.0 and all(math.isfinite(d) for d in dens)):
        return jk, inflation
    trend = (dens[0] + (dens[0] - dens[1]) * g) * ext[0]
    f = list(inflation) if inflation is not None else [JACKKNIFE_INFLATION] * len(jk)
    jk[lowest] = float(emission - emission / per_unit * th[0] * (fl[0] - trend))
    f[lowest] = float(1.0 + (1.0 + g) ** 2 + g ** 2)
    return jk, f


#: Passes closer than this in height (m) are one level of the curtain.
LEVEL_GAP = 1.5


def effective_passes(pass_flux: Sequence[float]) -> float:
    """How many passes carry the flux: ``(Σ|F|)² / Σ F²`` of the flux each pass stands for.

    Equal passes count fully; a plume carried by one low pass of twelve counts about one.

    Examples
    --------
    >>> effective_passes([1.0, 1.0, 1.0, 1.0]), round(effective_passes([10.0, 1.0, 0.0]), 2)
    (4.0, 1.2)
    """
    f = np.abs(np.asarray(pass_flux, dtype=float))
    f = f[np.isfinite(f)]
    total = float(np.sum(f * f))
    return float(np.sum(f)) ** 2 / total if total > 0 else 0.0


def small_sample_factor(n_effective: float) -> float:
    """Widening of a jackknife standard error estimated from ``n_effective`` passes so that
    it holds the truth as often as a 1σ interval should: the Student t quantile of
    ``n_effective - 1`` degrees of freedom (at least 1) at 84.13 % over the normal one.

    A jackknife from a handful of passes is itself uncertain: from two passes the spread
    is as likely to be far too small as right (Tukey's jackknife is t-distributed with
    ``n - 1`` degrees of freedom; with passes of unequal weight the effective number, as
    Welch-Satterthwaite does for unequal variances).

    Examples
    --------
    >>> [round(small_sample_factor(n), 2) for n in (2, 3, 6, 12, 100)]
    [1.84, 1.32, 1.11, 1.05, 1.01]
    """
    from scipy import stats

    df = max(float(n_effective) - 1.0, 1.0)
    return float(stats.t.ppf(ONE_SIGMA, df) / stats.norm.ppf(ONE_SIGMA))


def ground_uncertainty(extrapolated: float, heights: np.ndarray | None = None,
                       line_flux: np.ndarray | None = None) -> float:
    """Uncertainty (g/s) of the flux ``extrapolated`` below the lowest pass by the constant
    rule: uniform between that rule and the trend of the two lowest passes carried down to
    the ground (clipped at zero), ``|E − E_trend| / (2√3)``.

    A plume that reaches the ground (its flux per metre of height not growing from the
    lowest pass to the next) leaves little doubt below the lowest pass; one whose flux grows
    upwards (an elevated plume) may have little below it, and its trend says how little.
    Without the passes' ``heights`` and along-curtain integrals ``line_flux`` (lowest first),
    or with a trend that cannot be drawn, the range is zero to the rule:
    ``|E| / (2√3)``.

    Examples
    --------
    >>> round(ground_uncertainty(1.0), 3)                       # no passes: zero to the rule
    0.289
    >>> z = np.array([5.0, 10.0, 15.0])
    >>> round(ground_uncertainty(1.0, z, np.array([1.0, 1.0, 0.8])), 3)  # on the ground
    0.0
    >>> round(ground_uncertainty(1.0, z, np.array([1.0, 2.0, 3.0])), 3)  # elevated: to 0 at 0 m
    0.144
    """
    e = abs(float(extrapolated))
    if heights is None or line_flux is None or len(heights) < 2:
        return e / (2 * math.sqrt(3))
    z1, z2 = float(heights[0]), float(heights[1])
    f1, f2 = float(line_flux[0]), float(line_flux[1])
    if not (z2 - z1 > 0.5 and z1 > 0 and f1 > 0 and math.isfinite(f2)):
        return e / (2 * math.sqrt(3))
    z = np.linspace(0.0, z1, 41)
    trend = np.maximum(f1 + (f1 - f2) * (z1 - z) / (z2 - z1), 0.0)
    ratio = float(np.mean(trend)) / f1
    return e * abs(1.0 - ratio) / (2 * math.sqrt(3))


#: Probability below +1σ of a normal distribution.
ONE_SIGMA = 0.8413447460685429


def uncertainty_budget(emission: float, *, background_error: float, unit_total: float,
                       wind: WindProfile, cos_theta: float,
                       jackknife: Sequence[float] = (),
                       jackknife_inflation: Sequence[float] | None = None) -> dict[str, float]:
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
    jackknife_inflation
        Per left-out pass, the variance inflation of its refill (:func:`jackknife_spread`).
    """
    return {
        "background": abs(background_error) * unit_total,
        "wind_speed": abs(emission) * wind.speed_error / wind.speed,
        "wind_direction": direction_uncertainty(emission, cos_theta, wind.direction_error),
        "interpolation": (jackknife_spread(jackknife, jackknife_inflation)
                          if len(jackknife) >= 3 else 0.0),
    }


def combined(components: dict[str, float]) -> float:
    """The parts added in quadrature."""
    return math.sqrt(sum(c * c for c in components.values()))
