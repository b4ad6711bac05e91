"""Wind from the logs and files of a flight: the autopilot's MAVLink ``WIND`` reports
(:func:`read_wind_reports`) and wind time series (:class:`WindSeries`), read from a file through a
map by :func:`dronesense.sources.windfile.read_wind_csv` (a mast or ground sonic, a
drone-borne sonic, or a track CSV's own wind columns).

ArduPilot sends its EKF wind estimate as ``WIND`` (speed, direction it comes from); the
simulator sends the true wind at the vehicle. :func:`read_wind_reports` puts each report at
the height above home of the vehicle's latest ``GLOBAL_POSITION_INT`` (``relative_alt``), read
with :func:`dronesense.sources.tlogscan.scan_tlog`; given a PX4 ULog it returns the wind PX4's
estimator logged (:func:`dronesense.sources.ulog.read_ulog_wind`), the same
:class:`~dronesense.sources.wind_reports.WindReports`. Fitting a profile to the reports is a
product's job (:func:`dronesense.products.flux.wind.wind_from_reports`).

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> def record(us, msg):
...     return us.to_bytes(8, "big") + bytes(msg.pack(mav))
>>> data = (record(10**15, mavlink.MAVLink_wind_message(240.0, 3.0, 0.0))
...         + record(10**15 + 10**6, mavlink.MAVLink_global_position_int_message(
...             1000, 509934000, 69877000, 62000, 20000, 0, 0, 0, 0))
...         + record(10**15 + 2 * 10**6, mavlink.MAVLink_wind_message(250.0, 3.5, 0.0)))
>>> rep = read_wind_reports(data)
>>> rep.height.tolist(), rep.speed.tolist(), rep.direction.tolist(), rep.time.tolist()
([nan, 20.0], [3.0, 3.5], [240.0, 250.0], [1000000000.0, 1000000002.0])
>>> len(rep), rep.name
(2, '')
>>> read_wind_reports(record(10**15, mavlink.MAVLink_heartbeat_message(2, 3, 0, 0, 4, 3))) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dronesense.sources.kinds import ULOG_MAGIC
from dronesense.sources.tlogscan import scan_tlog
from dronesense.sources.wind_reports import WindReports

__all__ = ["DIRECTION_ERROR", "WindReports", "WindSeries", "measured_speed_error",
           "read_wind_reports", "reports_as_series"]

#: One-sigma direction error of a measured wind record, degrees (unless a file says).
DIRECTION_ERROR = 5.0


def measured_speed_error(speed: np.ndarray) -> np.ndarray:
    """One-sigma speed error of measured wind records (m/s) unless a file says: 0.1 m/s plus
    5 % of the speed (calibration)."""
    return 0.1 + 0.05 * np.asarray(speed, dtype=float)


def read_wind_reports(path: str | Path | bytes) -> WindReports | None:
    """The wind reports of a flight log with the vehicle's height: the ``WIND`` messages of a
    ``.tlog`` (a path or its bytes), or the estimator wind of a PX4 ULog (a ``.ulg`` path, or
    a file that starts like one), read by :func:`dronesense.sources.ulog.read_ulog_wind`.

    Returns ``None`` when the log holds no ``WIND`` message (no ``wind`` topic).

    Raises
    ------
    InputError
        The file cannot be read.
    """
    if _is_ulog(path):
        from dronesense.sources.ulog import read_ulog_wind

        return read_ulog_wind(path)
    scan = scan_tlog(path, types=("WIND", "GLOBAL_POSITION_INT"))
    wind = scan.messages.get("WIND")
    if not wind or wind["speed"].size == 0:
        return None
    gpi = scan.messages["GLOBAL_POSITION_INT"]
    k = np.searchsorted(scan.order["GLOBAL_POSITION_INT"], scan.order["WIND"]) - 1
    ok = k >= 0
    height = np.full(k.size, np.nan)
    height[ok] = gpi["relative_alt"][k[ok]] / 1000.0
    boot_ms = np.full(k.size, np.nan)
    boot_ms[ok] = gpi["time_boot_ms"][k[ok]]
    name = Path(path).name if isinstance(path, str | Path) else ""
    return WindReports(
        time=np.asarray(wind["_recv_us"], dtype=float) / 1e6,
        height=height,
        speed=np.asarray(wind["speed"], dtype=float),
        direction=np.asarray(wind["direction"], dtype=float),
        name=name,
        boot_ms=boot_ms,
    )


def _is_ulog(path: str | Path | bytes) -> bool:
    """A path to a PX4 ULog: a ``.ulg`` name or the ULog magic bytes at its start."""
    if not isinstance(path, str | Path):
        return False
    path = Path(path)
    if path.suffix.lower() == ".ulg":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(len(ULOG_MAGIC)) == ULOG_MAGIC
    except OSError:  # the tlog reader names the problem
        return False


@dataclass(frozen=True)
class WindSeries:
    """A wind time series (what :mod:`dronesense.products.flux.wind_series` consumes).

    Attributes
    ----------
    time
        UTC of each record, s since 1970.
    u, v
        Wind towards east and north, m/s.
    height
        Measurement height above ground, m, per record (NaN: on the vehicle, at each
        sample's own height).
    speed_error, direction_error
        One-sigma uncertainty of each record's speed (m/s) and direction (degrees).
    source
        What it is, for the report.
    """

    time: np.ndarray
    u: np.ndarray
    v: np.ndarray
    height: np.ndarray
    speed_error: np.ndarray
    direction_error: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return int(self.u.size)

    @property
    def speed(self) -> np.ndarray:
        """Horizontal speed, m/s."""
        return np.hypot(self.u, self.v)

    @property
    def from_deg(self) -> np.ndarray:
        """Direction the wind comes from, degrees clockwise from north."""
        return np.degrees(np.arctan2(-self.u, -self.v)) % 360.0


def reports_as_series(reports: WindReports, *, min_height: float = 2.0) -> WindSeries | None:
    """An autopilot's wind reports (with their times) as a wind series at the vehicle
    (``height`` NaN: each sample takes the wind of its own time at its own height), with the
    errors of any measured series (:func:`measured_speed_error`, :data:`DIRECTION_ERROR`).
    Reports below ``min_height`` (on the ground) or without a time are dropped; ``None``
    with fewer than 3 left.

    Examples
    --------
    >>> rep = WindReports(time=np.array([0.0, 1.0, 2.0, 3.0]),
    ...                   height=np.array([0.0, 10.0, 10.0, 10.0]),
    ...                   speed=np.array([1.0, 3.0, 3.0, 4.0]),
    ...                   direction=np.array([0.0, 270.0, 270.0, 180.0]), name="f.tlog")
    >>> s = reports_as_series(rep)
    >>> (s.u.round(3) + 0.0).tolist(), (s.v.round(3) + 0.0).tolist(), s.source
    ([3.0, 3.0, 0.0], [0.0, 0.0, 4.0], '3 WIND messages in f.tlog, per sample')
    """
    t = np.asarray(reports.time, dtype=float)
    z = np.asarray(reports.height, dtype=float)
    speed = np.asarray(reports.speed, dtype=float)
    direction = np.asarray(reports.direction, dtype=float)
    use = np.isfinite(t) & np.isfinite(z) & (z >= min_height) & np.isfinite(speed)
    use &= np.isfinite(direction)
    if use.sum() < 3:
        return None
    a = np.radians(direction[use])
    sp = speed[use]
    where = f" in {reports.name}" if reports.name else ""
    return WindSeries(t[use], -sp * np.sin(a), -sp * np.cos(a), np.full(sp.size, np.nan),
                      measured_speed_error(sp), np.full(sp.size, DIRECTION_ERROR),
                      f"{int(use.sum())} WIND messages{where}, per sample")
