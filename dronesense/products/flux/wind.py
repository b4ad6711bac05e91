"""Wind for flux estimates: a power-law profile from the user or fitted to the autopilot's
wind reports.

Examples
--------
>>> as_wind("3.2±0.3@240").describe()
'3.20 ± 0.30 m/s at 10 m from 240° ± 10°, uniform with height (user)'
>>> as_wind((3.0, 240.0)) == WindProfile(3.0, 240.0)
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dronesense.errors import ParameterError

__all__ = ["CALIBRATION", "DIRECTION_CALIBRATION_DEG", "WindProfile",
           "WindSamples", "as_wind", "effective_count", "parse_wind",
           "wind_from_reports"]


@dataclass(frozen=True)
class WindProfile:
    """Horizontal wind with a power-law profile ``u(z) = speed (z / reference_height)^exponent``.

    Parameters
    ----------
    speed
        m/s at ``reference_height``.
    from_deg
        Direction the wind comes from, degrees clockwise from north (meteorological).
    reference_height
        m above ground.
    exponent
        Power-law exponent (0: the same speed at every height; about 0.07-0.15 by day over
        open country, 0.2-0.4 over towns or in stable air).
    speed_error
        Uncertainty of ``speed`` (m/s, one standard deviation).
    direction_error
        Uncertainty of ``from_deg`` (degrees).
    source
        Where it came from (``user``, ``WIND messages in f.tlog``).

    Examples
    --------
    >>> w = WindProfile(3.0, 240.0, exponent=0.07)
    >>> round(float(w.speed_at(40.0)), 3)
    3.306
    >>> [round(float(v), 3) for v in w.downwind]   # blows towards 60 degrees
    [0.866, 0.5]
    """

    speed: float
    from_deg: float
    reference_height: float = 10.0
    exponent: float = 0.0
    speed_error: float | None = None
    direction_error: float = 10.0
    source: str = "user"

    def __post_init__(self):
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ParameterError("speed", f"must be a positive number of m/s, got {self.speed}")
        if not math.isfinite(self.from_deg):
            raise ParameterError("from_deg", f"must be a number of degrees, got {self.from_deg}")
        if not (self.reference_height > 0):
            raise ParameterError("reference_height", "must be a height above 0 m, got "
                                 f"{self.reference_height}")
        if not (0 <= self.exponent < 1):
            raise ParameterError("exponent", "the power-law exponent must be at least 0 and "
                                 f"below 1, got {self.exponent}")
        if self.speed_error is None:
            object.__setattr__(self, "speed_error", 0.1 * self.speed)

    def speed_at(self, z: float | np.ndarray) -> np.ndarray:
        """Speed (m/s) at height ``z`` m above ground (heights below 1 m count as 1 m)."""
        z = np.maximum(np.asarray(z, dtype=float), 1.0)
        return self.speed * (z / self.reference_height) ** self.exponent

    @property
    def downwind(self) -> tuple[float, float]:
        """Unit vector (east, north) the wind blows towards."""
        a = math.radians(self.from_deg + 180.0)
        return (math.sin(a), math.cos(a))

    def describe(self) -> str:
        """One line: speed, direction, profile, uncertainties, source."""
        prof = (f", power law exponent {self.exponent:.2f}" if self.exponent else
                ", uniform with height")
        return (f"{self.speed:.2f} ± {self.speed_error:.2f} m/s at {self.reference_height:g} m "
                f"from {self.from_deg % 360:.0f}° ± {self.direction_error:.0f}°{prof} "
                f"({self.source})")


def parse_wind(text: str, *, reference_height: float = 10.0,
               exponent: float = 0.0) -> WindProfile:
    """``SPEED[±ERR]@FROM_DEG[±ERR]`` (``+-`` also accepted) -> :class:`WindProfile`.

    Examples
    --------
    >>> w = parse_wind("3.5@240")
    >>> w.speed, w.from_deg, round(w.speed_error, 2), w.direction_error
    (3.5, 240.0, 0.35, 10.0)
    >>> w = parse_wind("4+-0.5@270+-5")
    >>> w.speed_error, w.direction_error
    (0.5, 5.0)
    """
    num = r"([-+]?\d+(?:\.\d*)?|\.\d+)"
    pm = r"(?:(?:±|\+-|\+/-)" + num + r")?"
    m = re.fullmatch(r"\s*" + num + pm + r"\s*@\s*" + num + pm + r"\s*", text or "")
    if not m:
        raise ParameterError("wind", f"expected SPEED@FROM_DEG (e.g. 3.2@240), got {text!r}")
    speed, s_err, frm, d_err = m.groups()
    try:
        return WindProfile(
            float(speed), float(frm) % 360.0, reference_height=reference_height,
            exponent=exponent, speed_error=None if s_err is None else float(s_err),
            direction_error=10.0 if d_err is None else float(d_err))
    except ParameterError as err:
        if err.parameter in ("speed", "from_deg"):
            raise ParameterError("wind", f"{err.detail} ({text!r})") from None
        raise


def as_wind(value: WindProfile | str | tuple[float, float], *, reference_height: float = 10.0,
            exponent: float = 0.0) -> WindProfile:
    """The wind of ``estimate_flux(..., wind=value)``: a :class:`WindProfile` as it is, text
    ``SPEED[±ERR]@FROM_DEG[±ERR]`` (:func:`parse_wind`) or a ``(speed, from_deg)`` pair (at
    ``reference_height``, with ``exponent``; default uncertainties).

    Examples
    --------
    >>> w = as_wind("3.5±0.2@240±5")
    >>> w.speed, w.speed_error, w.from_deg, w.direction_error
    (3.5, 0.2, 240.0, 5.0)
    >>> as_wind((4, -90), exponent=0.1)
    WindProfile(speed=4.0, from_deg=270.0, reference_height=10.0, exponent=0.1, \
speed_error=0.4, direction_error=10.0, source='user')
    >>> as_wind(None)
    Traceback (most recent call last):
    ...
    dronesense.errors.ParameterError: wind: expected a WindProfile, SPEED@FROM_DEG text or a \
(speed, from_deg) pair, got None
    """
    if isinstance(value, WindProfile):
        return value
    if isinstance(value, str):
        return parse_wind(value, reference_height=reference_height, exponent=exponent)
    if isinstance(value, tuple | list) and len(value) == 2:
        try:
            speed, frm = (float(v) for v in value)
        except (TypeError, ValueError):
            pass
        else:
            try:
                return WindProfile(speed, frm % 360.0 if math.isfinite(frm) else frm,
                                   reference_height=reference_height, exponent=exponent)
            except ParameterError as err:
                if err.parameter in ("speed", "from_deg"):
                    raise ParameterError("wind", f"{err.detail} ({value!r})") from None
                raise
    raise ParameterError("wind", "expected a WindProfile, SPEED@FROM_DEG text or a "
                         f"(speed, from_deg) pair, got {value!r}")


#: Systematic share of a wind's speed that no amount of averaging removes (calibration of an
#: anemometer, bias of an autopilot's wind estimate), one sigma; the same for every source.
CALIBRATION = 0.05

#: Systematic direction uncertainty of a wind (alignment of a vane or sonic, heading of the
#: vehicle), degrees.
DIRECTION_CALIBRATION_DEG = 3.0


def effective_count(values: np.ndarray) -> float:
    """Number of independent values in a series ordered in time, from its autocorrelation.

    ``n / (1 + 2 Σ (1 - k/n) ρ_k)``, the sum over the lags ``k`` before the autocorrelation
    ``ρ_k`` first drops to zero or below (Bayley & Hammersley 1946; Bretherton et al. 1999):
    the variance of the mean of ``n`` correlated values is that of ``n_eff`` independent ones.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(effective_count(rng.normal(size=400)) / 400, 1)      # white noise
    1.0
    >>> x = np.convolve(rng.normal(size=2000), np.ones(20) / 20, "valid")   # 20-sample runs
    >>> 40 < effective_count(x) < 160
    True
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return float(max(n, 1))
    x = x - x.mean()
    var = float(np.dot(x, x))
    if var <= 0:
        return float(n)
    acf = np.correlate(x, x, mode="full")[n - 1:] / var
    below = np.flatnonzero(acf[1:] <= 0)
    m = int(below[0]) if below.size else n - 1
    k = np.arange(1, m + 1)
    tau = 1.0 + 2.0 * float(np.sum((1.0 - k / n) * acf[1:m + 1]))
    return float(min(n, max(1.0, n / tau)))


class WindSamples(Protocol):
    """What :func:`wind_from_reports` reads: wind reports at heights, as numpy arrays
    (:class:`dronesense.sources.wind.WindReports` is one)."""

    height: np.ndarray
    speed: np.ndarray
    direction: np.ndarray


def wind_from_reports(reports: WindSamples, *, reference_height: float = 10.0,
                      min_height: float = 2.0, exponent: float | None = None,
                      source: str = "") -> WindProfile | None:
    """A power-law :class:`WindProfile` fitted to an autopilot's wind reports.

    The reports (:func:`dronesense.sources.wind.read_wind_reports`: MAVLink ``WIND``
    messages, each at the height of the vehicle's latest position) below ``min_height`` (on
    the ground) are ignored. The direction is the vector mean; the speed at
    ``reference_height`` and the power-law exponent are fitted to ``log u`` against ``log z``
    when the heights span at least a factor of 2 (exponent clipped to 0-0.6), else the
    exponent is 0 (or ``exponent`` when given).

    Uncertainties are those of the mean wind over the flight, from the reports' own spread:
    the standard deviation of the speeds about the profile (of the directions about their
    mean) divided by the square root of the number of independent reports
    (:func:`effective_count`, from the autocorrelation of the time-ordered reports: gusts
    that last 20 s make 1 Hz reports far from independent; reports without times count as
    one), combined with a systematic :data:`CALIBRATION` share of the speed and
    :data:`DIRECTION_CALIBRATION_DEG`, the same as for a measured wind series. The scatter of
    the wind from pass to pass is not part of it: each pass's concentrations carry it, and
    the pass jackknife of the flux estimate measures it. An estimator bias the reports
    cannot show (an EKF without drag or airspeed fusion) is not in these figures: give the
    wind with its error (``--wind 3.2±0.6@240±15``) if it is known to be worse.

    Parameters
    ----------
    reports
        Heights (m above ground), speeds (m/s) and directions (degrees, from).
    reference_height
        Height (m) of the returned speed.
    min_height
        Reports below this height are not used.
    exponent
        Fixed power-law exponent; ``None`` fits it.
    source
        Where the reports came from (a file name), for :meth:`WindProfile.describe`.

    Returns
    -------
    WindProfile or None
        ``None`` when fewer than 3 reports are usable.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> z = np.array([5.0, 10.0, 20.0, 40.0])
    >>> rep = SimpleNamespace(height=z, speed=3.0 * (z / 10.0) ** 0.1,
    ...                       direction=np.full(4, 240.0))
    >>> w = wind_from_reports(rep, source="f.tlog")
    >>> round(w.speed, 3), round(w.from_deg, 1), round(w.exponent, 3)
    (3.0, 240.0, 0.1)
    >>> w.describe()
    '3.00 ± 0.15 m/s at 10 m from 240° ± 3°, power law exponent 0.10 (4 WIND messages in f.tlog)'
    >>> wind_from_reports(rep, min_height=30.0) is None
    True
    """
    z = np.asarray(reports.height, dtype=float)
    speed = np.asarray(reports.speed, dtype=float)
    direction = np.asarray(reports.direction, dtype=float)
    use = np.isfinite(z) & (z >= min_height) & np.isfinite(speed) & (speed > 0.05)
    use &= np.isfinite(direction)
    if use.sum() < 3:
        return None
    z, speed, direction = z[use], speed[use], direction[use]
    a = np.radians(direction)
    ve, vn = np.mean(speed * np.sin(a)), np.mean(speed * np.cos(a))
    from_deg = math.degrees(math.atan2(ve, vn)) % 360.0
    resultant = math.hypot(np.mean(np.sin(a)), np.mean(np.cos(a)))
    dir_sd = math.degrees(math.sqrt(max(-2.0 * math.log(max(resultant, 1e-12)), 0.0)))
    lz = np.log(z / reference_height)
    if exponent is None:
        exponent = 0.0
        if z.max() >= 2.0 * z.min() and np.ptp(lz) > 0:
            p, _ = np.polyfit(lz, np.log(speed), 1)
            exponent = float(np.clip(p, 0.0, 0.6))
    u_ref = float(np.exp(np.mean(np.log(speed) - exponent * lz)))
    resid = speed - u_ref * np.exp(exponent * lz)
    times = getattr(reports, "time", None)
    n_s = n_d = 1.0
    if times is not None and np.isfinite(np.asarray(times, float)[use]).sum() > 2:
        order = np.argsort(np.asarray(times, float)[use], kind="stable")
        n_s = effective_count(resid[order])
        turn = (direction - from_deg + 180.0) % 360.0 - 180.0
        n_d = effective_count(turn[order])
    speed_err = math.hypot(CALIBRATION * u_ref, float(np.std(resid)) / math.sqrt(n_s))
    dir_err = math.hypot(DIRECTION_CALIBRATION_DEG, dir_sd / math.sqrt(n_d))
    where = f" in {source}" if source else ""
    return WindProfile(u_ref, from_deg, reference_height=reference_height,
                       exponent=float(exponent), speed_error=speed_err,
                       direction_error=dir_err,
                       source=f"{int(use.sum())} WIND messages{where}")

