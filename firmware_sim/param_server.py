"""The vehicle's parameters and the MAVLink parameter protocol (an ArduCopter look-alike).

A small, real-looking ArduCopter parameter set; PARAM_REQUEST_LIST, PARAM_REQUEST_READ and
PARAM_SET are answered with PARAM_VALUE. Setting WPNAV_SPEED, WPNAV_SPEED_UP/DN, WPNAV_ACCEL,
WPNAV_RADIUS or RTL_ALT changes the vehicle's kinematics.

:class:`ParamServer` is a mixin of :class:`firmware_sim.autopilot.Autopilot`: it uses the
autopilot's ``emit``, ``vehicle``, ``params`` and ``param_names``.

Examples
--------
>>> from firmware_sim.plan import Mission
>>> params = default_params(1, Vehicle(Mission(home=(51.0, 7.0, 40.0), items=[])))
>>> params["SYSID_THISMAV"][0], params["WPNAV_SPEED"][0]
(1, 1000.0)
"""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from .vehicle import Vehicle

M = mavlink2

__all__ = ["ParamServer", "default_params"]


def default_params(sysid: int, vehicle: Vehicle) -> dict[str, tuple[float, int]]:
    """A small, real-looking ArduCopter parameter set: name -> (value, MAV_PARAM_TYPE)."""
    c = vehicle.config
    i32, f32 = M.MAV_PARAM_TYPE_INT32, M.MAV_PARAM_TYPE_REAL32
    return {
        "SYSID_THISMAV": (sysid, i32), "SYSID_MYGCS": (255, i32),
        "FRAME_CLASS": (1, i32), "FRAME_TYPE": (1, i32),
        "WPNAV_SPEED": (c.cruise_speed * 100, f32), "WPNAV_SPEED_UP": (c.climb_rate * 100, f32),
        "WPNAV_SPEED_DN": (c.descent_rate * 100, f32), "WPNAV_ACCEL": (c.accel * 100, f32),
        "WPNAV_RADIUS": (c.acceptance_radius * 100, f32), "LAND_SPEED": (c.land_speed * 100, i32),
        "LAND_SPEED_HIGH": (c.descent_rate * 100, i32), "RTL_ALT": (c.rtl_alt * 100, i32),
        "ARMING_CHECK": (1, i32), "BATT_MONITOR": (4, i32), "BATT_CAPACITY": (5200, i32),
        "GPS_TYPE": (1, i32), "FS_GCS_ENABLE": (0, i32), "SCR_ENABLE": (1, i32),
        "SR0_EXT_STAT": (1, i32), "SR0_POSITION": (10, i32), "SR0_EXTRA1": (10, i32),
        "SR0_EXTRA2": (4, i32), "SR0_EXTRA3": (1, i32), "MIS_TOTAL": (0, i32),
    }


class ParamServer:
    """Answers the parameter protocol from a ground station (mixin of the autopilot)."""

    def _send_param(self, name: str, t_ms: int) -> None:
        value, ptype = self.params[name]
        self.emit(M.MAVLink_param_value_message(name.encode(), float(value), ptype,
                                                len(self.param_names),
                                                self.param_names.index(name)), t_ms)

    def _on_param_request_list(self, msg, t_ms: int) -> None:
        for name in self.param_names:
            self._send_param(name, t_ms)

    def _on_param_request_read(self, msg, t_ms: int) -> None:
        pid = msg.param_id
        pid = pid.decode(errors="replace") if isinstance(pid, bytes) else pid
        pid = pid.rstrip("\x00")
        if msg.param_index >= 0 and msg.param_index < len(self.param_names):
            self._send_param(self.param_names[msg.param_index], t_ms)
        elif pid in self.params:
            self._send_param(pid, t_ms)

    def _on_param_set(self, msg, t_ms: int) -> None:
        pid = msg.param_id
        pid = (pid.decode(errors="replace") if isinstance(pid, bytes) else pid).rstrip("\x00")
        if pid not in self.params or not math.isfinite(msg.param_value):
            return
        self.params[pid] = (msg.param_value, self.params[pid][1])
        c = self.vehicle.config
        v = msg.param_value
        if pid == "WPNAV_SPEED" and v > 0:
            c.cruise_speed = v / 100
            self.vehicle.speed = c.cruise_speed
        elif pid == "WPNAV_SPEED_UP" and v > 0:
            c.climb_rate = v / 100
        elif pid == "WPNAV_SPEED_DN" and v > 0:
            c.descent_rate = v / 100
        elif pid == "WPNAV_ACCEL" and v > 0:
            c.accel = v / 100
        elif pid == "WPNAV_RADIUS" and v > 0:
            c.acceptance_radius = v / 100
        elif pid == "RTL_ALT" and v >= 0:
            c.rtl_alt = v / 100
        self._send_param(pid, t_ms)
