"""Earth-frame wind from an anemometer carried by the drone (a sonic in the body frame).

A sonic on a multicopter measures the velocity of the air relative to itself, along its own
axes. To get the wind over the ground the vector is turned from the body frame to the earth
frame by the vehicle's attitude and the vehicle's own velocity is added back:

.. math::

    \\mathbf{w}_{NED} = R(\\psi, \\theta, \\phi)\\, \\mathbf{a}_{FRD} + \\mathbf{v}_{NED}

**Conventions** (documented here once and tested against hand-computed cases):

- The sonic reports the velocity the air moves *towards*, relative to the sensor, one
  component per sonic axis; ``axes`` says which body direction each of its ``u``, ``v``,
  ``w`` axes points to (``forward``, ``back``, ``right``, ``left``, ``down``, ``up``), giving
  the body vector :math:`\\mathbf{a}` in FRD (forward, right, down).
- Attitude in degrees: ``roll`` :math:`\\phi` positive right side down, ``pitch``
  :math:`\\theta` positive nose up, ``yaw`` :math:`\\psi` the heading clockwise from north;
  :math:`R = R_z(\\psi) R_y(\\theta) R_x(\\phi)` (aerospace z-y-x order, body to NED).
- Vehicle velocity north, east, down (m/s) in NED (``vd`` positive downwards).
- The result: the wind towards east ``u`` and north ``v`` (m/s) and the direction it comes
  from, as a :class:`dronesense.sources.wind.WindSeries` measured at the vehicle (its height
  NaN: each sample's own height).

**Uncertainty** is propagated to first order through the same equation (a numerical Jacobian
of ``u``, ``v`` against all nine inputs, each with its standard deviation: the sonic's
components ``sonic_error`` m/s, the attitude ``attitude_error`` degrees, heading
``heading_error`` degrees, the velocity ``velocity_error`` m/s), then expressed along the wind
(speed error) and across it (direction error).

Examples
--------
Facing east, level, hovering: air moving 3 m/s forward past the sonic is a 3 m/s wind
blowing east (from 270°):

>>> w = earth_wind(np.array([0.0]), np.array([3.0]), np.array([0.0]), np.array([0.0]),
...                roll=np.array([0.0]), pitch=np.array([0.0]), yaw=np.array([90.0]),
...                vn=np.array([0.0]), ve=np.array([0.0]), vd=np.array([0.0]),
...                axes=("forward", "right", "down"))
>>> [round(float(a), 6) + 0.0 for a in (w.u[0], w.v[0], w.from_deg[0])]
[3.0, 0.0, 270.0]

Flying north at 4 m/s through still air, the sonic sees 4 m/s of air coming head-on:

>>> w = earth_wind(np.array([0.0]), np.array([-4.0]), np.array([0.0]), np.array([0.0]),
...                roll=np.array([0.0]), pitch=np.array([0.0]), yaw=np.array([0.0]),
...                vn=np.array([4.0]), ve=np.array([0.0]), vd=np.array([0.0]),
...                axes=("forward", "right", "down"))
>>> [round(float(a), 6) + 0.0 for a in (w.u[0], w.v[0])]
[0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from dronesense.errors import ParameterError
from dronesense.sources.wind import WindSeries

__all__ = ["AXES", "body_to_ned", "earth_wind"]

#: Body directions a sonic axis may point to, as FRD unit vectors.
AXES: dict[str, tuple[float, float, float]] = {
    "forward": (1.0, 0.0, 0.0), "back": (-1.0, 0.0, 0.0),
    "right": (0.0, 1.0, 0.0), "left": (0.0, -1.0, 0.0),
    "down": (0.0, 0.0, 1.0), "up": (0.0, 0.0, -1.0),
}


def _axes_matrix(axes) -> np.ndarray:
    """3x3: sonic (u, v, w) -> body FRD."""
    try:
        cols = [AXES[str(a).strip().lower()] for a in axes]
    except KeyError:
        cols = []
    m = np.array(cols, dtype=float).T if len(cols) == 3 else np.zeros((3, 3))
    if len(cols) != 3 or abs(abs(np.linalg.det(m)) - 1.0) > 1e-9:
        raise ParameterError("axes", "expected three different body directions for the "
                             "sonic's u, v, w axes, each one of forward, back, right, left, "
                             f"down, up (e.g. ['right', 'forward', 'up']), got {list(axes)!r}")
    return m


def body_to_ned(roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray,
                a: np.ndarray) -> np.ndarray:
    """Rotate FRD body vectors ``a`` (shape ``(3, n)``) to NED by roll, pitch, yaw (degrees;
    z-y-x order).

    Examples
    --------
    >>> v = body_to_ned(np.array([0.0]), np.array([90.0]), np.array([0.0]),
    ...                 np.array([[1.0], [0.0], [0.0]]))        # nose straight up
    >>> np.round(v[:, 0], 6).tolist()
    [0.0, 0.0, -1.0]
    >>> v = body_to_ned(np.array([30.0]), np.array([0.0]), np.array([0.0]),
    ...                 np.array([[0.0], [1.0], [0.0]]))        # right wing 30° down
    >>> np.round(v[:, 0], 6).tolist()
    [0.0, 0.866025, 0.5]
    """
    r, p, y = (np.radians(np.asarray(v, float)) for v in (roll, pitch, yaw))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    f, ri, d = a
    n = cy * cp * f + (cy * sp * sr - sy * cr) * ri + (cy * sp * cr + sy * sr) * d
    e = sy * cp * f + (sy * sp * sr + cy * cr) * ri + (sy * sp * cr - cy * sr) * d
    dn = -sp * f + cp * sr * ri + cp * cr * d
    return np.vstack([n, e, dn])


def _wind(p: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north wind from the stacked inputs ``p`` (9, n)."""
    body = m @ p[0:3]
    ned = body_to_ned(p[3], p[4], p[5], body)
    return ned[1] + p[7], ned[0] + p[6]


def earth_wind(time: np.ndarray, sonic_u: np.ndarray, sonic_v: np.ndarray,
               sonic_w: np.ndarray, *, roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray,
               vn: np.ndarray, ve: np.ndarray, vd: np.ndarray | None = None,
               axes=("forward", "right", "down"), sonic_error: float = 0.1,
               attitude_error: float = 1.0, heading_error: float = 3.0,
               velocity_error: float = 0.1, source: str = "onboard sonic") -> WindSeries:
    """The earth-frame wind of a body-frame sonic (see the module docstring).

    Parameters
    ----------
    time
        UTC, s since 1970.
    sonic_u, sonic_v, sonic_w
        The sonic's components, m/s (air moving towards the positive axis).
    roll, pitch, yaw
        Attitude, degrees.
    vn, ve, vd
        Vehicle velocity, m/s, north, east, down (``vd`` default 0).
    axes
        Body direction of the sonic's ``u``, ``v``, ``w`` axes.
    sonic_error, attitude_error, heading_error, velocity_error
        One-sigma uncertainties (m/s, degrees, degrees, m/s).
    source
        A name for the report.

    Returns
    -------
    WindSeries
        Rows where any input is missing are left out.
    """
    m = _axes_matrix(axes)
    arrays = [np.asarray(v, float) for v in (sonic_u, sonic_v, sonic_w, roll, pitch, yaw, vn,
                                                ve, np.zeros_like(np.asarray(vn, float))
                                                if vd is None else vd)]
    p = np.vstack(arrays)
    t = np.asarray(time, float)
    ok = np.isfinite(p).all(axis=0) & np.isfinite(t)
    p, t = p[:, ok], t[ok]
    u, v = _wind(p, m)
    sig = np.array([sonic_error] * 3 + [attitude_error] * 2 + [heading_error]
                   + [velocity_error] * 3)
    cuu = np.zeros(u.size)
    cvv = np.zeros(u.size)
    cuv = np.zeros(u.size)
    for k in range(9):
        h = 1e-3 * max(sig[k], 1e-6)
        q = p.copy()
        q[k] += h
        uk, vk = _wind(q, m)
        du, dv = (uk - u) / h * sig[k], (vk - v) / h * sig[k]
        cuu += du * du
        cvv += dv * dv
        cuv += du * dv
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        eu, ev = np.where(speed > 0, u / speed, 1.0), np.where(speed > 0, v / speed, 0.0)
    along = np.sqrt(np.maximum(eu * eu * cuu + 2 * eu * ev * cuv + ev * ev * cvv, 0.0))
    across = np.sqrt(np.maximum(ev * ev * cuu - 2 * eu * ev * cuv + eu * eu * cvv, 0.0))
    dir_err = np.degrees(np.arctan2(across, np.maximum(speed, 1e-9)))
    return WindSeries(t, u, v, np.full(u.size, np.nan), along, np.minimum(dir_err, 180.0),
                      source=f"{source}: body-frame sonic turned to the earth frame by the "
                      f"attitude, vehicle velocity added ({u.size} records)")

