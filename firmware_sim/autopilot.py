"""The MAVLink 2 endpoint of the simulated vehicle (an ArduCopter look-alike).

Sends telemetry streams at realistic rates, answers what ground stations ask on connect
(stream rates, parameters, commands, the mission protocol in both directions) and
tolerates everything else.

Default streams (Hz): HEARTBEAT 1, SYS_STATUS 1, SYSTEM_TIME 1, GLOBAL_POSITION_INT 10,
GPS_RAW_INT 5, ATTITUDE 10, VFR_HUD 4, WIND 1, MISSION_CURRENT 1; NAMED_VALUE_FLOAT at each
sensor's own rate. EXTENDED_SYS_STATE (landed state) is off until a ground station asks for it
(SET_MESSAGE_INTERVAL or REQUEST_MESSAGE), as MAVSDK does for its in-air/landed state.

This module encodes, schedules the streams and answers commands; the mission protocol
(:mod:`firmware_sim.mission_server`) and the parameter protocol
(:mod:`firmware_sim.param_server`) are mixins of :class:`Autopilot`.

Examples
--------
>>> STREAM_GROUPS[6]
('GLOBAL_POSITION_INT',)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from . import plan as P
from .faults import FaultLog, FaultSpecs
from .link import setup_signing
from .mission_server import MissionServer
from .param_server import ParamServer, default_params
from .plan import Mission
from .vehicle import MODE_NAMES, MODES, Vehicle

M = mavlink2

#: default stream intervals in ms
DEFAULT_INTERVALS = {
    "HEARTBEAT": 1000, "SYS_STATUS": 1000, "SYSTEM_TIME": 1000, "GLOBAL_POSITION_INT": 100,
    "GPS_RAW_INT": 200, "ATTITUDE": 100, "VFR_HUD": 250, "WIND": 1000, "MISSION_CURRENT": 1000,
    "EXTENDED_SYS_STATE": 0,  # off; on request (ArduCopter answers it, MAVSDK asks at 1 Hz)
}
#: REQUEST_DATA_STREAM stream ids -> messages (ArduPilot grouping)
STREAM_GROUPS = {
    2: ("SYS_STATUS", "GPS_RAW_INT", "MISSION_CURRENT"),
    6: ("GLOBAL_POSITION_INT",),
    10: ("ATTITUDE",),
    11: ("VFR_HUD",),
    12: ("SYSTEM_TIME", "WIND"),
}
STREAM_GROUPS[0] = tuple(n for g in STREAM_GROUPS.values() for n in g)
MSG_IDS = {
    "HEARTBEAT": 0, "SYS_STATUS": 1, "SYSTEM_TIME": 2, "GPS_RAW_INT": 24, "ATTITUDE": 30,
    "GLOBAL_POSITION_INT": 33, "MISSION_CURRENT": 42, "VFR_HUD": 74, "WIND": 168,
    "EXTENDED_SYS_STATE": 245,
}
ID_NAMES = {v: k for k, v in MSG_IDS.items()}

SENSORS = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x400 | 0x800 | 0x1000 | 0x8000 | 0x200000
MAV_TYPE_QUADROTOR = 2
MAV_AUTOPILOT_ARDUPILOTMEGA = 3
CAPABILITIES = (M.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | M.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
                | M.MAV_PROTOCOL_CAPABILITY_MISSION_INT | M.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | M.MAV_PROTOCOL_CAPABILITY_SET_ATTITUDE_TARGET
                | M.MAV_PROTOCOL_CAPABILITY_MAVLINK2)


class Autopilot(MissionServer, ParamServer):
    """Encoder, telemetry scheduler and message handler of the simulated vehicle.

    Parameters
    ----------
    vehicle : Vehicle
    mission : Mission
        The stored mission (home + items); replaced by uploads.
    sysid : int
    send : callable
        ``send(t, data, meta)``: hands an encoded packet sent at sim time ``t`` (s) to the
        link (faults, transport, tlog). ``meta = (msg_name, seq, time_boot_ms)``.
    faults : FaultSpecs
    log : FaultLog
    start_us : int
        True UTC of sim time 0, UNIX microseconds.
    wait_for_start : bool
        Stay on the ground until a ground station starts the mission.
    intervals : dict, optional
        Stream intervals in ms (0 = off) replacing :data:`DEFAULT_INTERVALS` for the
        messages named (``--stream NAME=MS``).
    key : bytes, optional
        MAVLink 2 signing key: everything sent is signed, and the parser set up with
        :meth:`setup_parser` refuses unsigned, badly signed and replayed packets (commands,
        mission and parameter traffic included), counted in ``counts["REFUSED_SIGNING"]``.
    """

    def __init__(self, vehicle: Vehicle, mission: Mission, sysid: int,
                 send: Callable[[float, bytes, tuple], None], faults: FaultSpecs,
                 log: FaultLog, start_us: int, wait_for_start: bool = False,
                 intervals: dict[str, int] | None = None, key: bytes | None = None):
        self.vehicle = vehicle
        self.mission = mission
        self.sysid = sysid
        self.send = send
        self.faults = faults
        self.log = log
        self.start_us = start_us
        self.wait_for_start = wait_for_start
        self.mav = M.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self.key = key
        if key is not None:
            setup_signing(self.mav, key)
        self.boot_origin_ms = 0
        self.silent_until_ms = -1
        self.intervals = dict(DEFAULT_INTERVALS)
        self.intervals.update(intervals or {})
        self.next_due = {name: 0 for name in self.intervals}
        self.params = default_params(sysid, vehicle)
        self.params["MIS_TOTAL"] = (mission.count_with_home, M.MAV_PARAM_TYPE_INT32)
        self.param_names = list(self.params)
        self.pending_reboots = list(faults.reboots)
        self.gps_was_lost = False
        self.upload: dict | None = None
        self.last_upload: dict | None = None
        self.now_ms = 0
        self.start_requested = False
        self.counts: dict[str, int] = {}
        self.battery_mah = 0.0
        # clock faults: the vehicle clock runs 1 / _rate as fast as the true (sim) time
        self._rate = 1.0 + faults.clockdrift * 1e-6
        self._jumps_logged = 0
        # its own stream, seeded from the vehicle's (not drawing from it: flights unchanged)
        self._time_rng = random.Random(repr(vehicle._rng.getstate()[1][:4]) + str(sysid))
        if faults.clockdrift:
            log.write("clockdrift", 0.0, time_boot_ms=0, ppm=faults.clockdrift)
        if faults.systime_jitter:
            log.write("systime_jitter", 0.0, time_boot_ms=0, ms=faults.systime_jitter)

    # ------------------------------------------------------------------ encoding
    def boot_ms(self, t_ms: int | float) -> int:
        """Vehicle time_boot_ms at sim time ``t_ms`` (slowed by a ``clockdrift`` fault)."""
        if self._rate != 1.0:
            return max(0, int((t_ms - self.boot_origin_ms) / self._rate))
        return max(0, int(t_ms - self.boot_origin_ms))

    def emit(self, msg, t_ms: int, boot_ms: int | None = None) -> None:
        """Encode ``msg`` and send it at sim time ``t_ms`` (dropped while rebooting)."""
        if t_ms < self.silent_until_ms:
            return
        mav = self.mav
        seq = mav.seq
        data = msg.pack(mav)
        mav.seq = (seq + 1) & 255
        name = msg._type
        self.counts[name] = self.counts.get(name, 0) + 1
        self.send(t_ms / 1000.0, data, (name, seq, self.boot_ms(t_ms) if boot_ms is None
                                         else boot_ms))

    def check_reboot(self, t_ms: int) -> None:
        """Fire a scheduled reboot fault at or before ``t_ms``."""
        while self.pending_reboots and self.pending_reboots[0] * 1000 <= t_ms:
            at = self.pending_reboots.pop(0)
            before = self.boot_ms(t_ms)
            self.boot_origin_ms = t_ms
            self.silent_until_ms = t_ms + 500
            self.mav.seq = 0
            for name in self.next_due:
                self.next_due[name] = self.silent_until_ms
            self.log.write("reboot", at, time_boot_ms=before, new_time_boot_ms=0,
                           silent_s=0.5)

    # ------------------------------------------------------------------ telemetry
    def _heartbeat(self):
        v = self.vehicle
        base = M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | M.MAV_MODE_FLAG_STABILIZE_ENABLED
        if v.mode in ("AUTO", "GUIDED", "RTL", "LAND", "LOITER", "BRAKE"):
            base |= M.MAV_MODE_FLAG_GUIDED_ENABLED
        if v.mode == "AUTO":
            base |= M.MAV_MODE_FLAG_AUTO_ENABLED
        if v.armed:
            base |= M.MAV_MODE_FLAG_SAFETY_ARMED
        status = M.MAV_STATE_ACTIVE if v.armed else M.MAV_STATE_STANDBY
        return M.MAVLink_heartbeat_message(MAV_TYPE_QUADROTOR, MAV_AUTOPILOT_ARDUPILOTMEGA,
                                           base, MODES[v.mode], status, 3)

    def _position(self, t_ms: int, lost: bool):
        v = self.vehicle
        ne, nn, nu = v.noisy_offset()
        lat, lon = v.latlon(v.e + ne, v.n + nn)
        hdg = int(math.degrees(v.yaw) * 100) % 36000
        if lost:
            lat = lon = 0.0
        return M.MAVLink_global_position_int_message(
            self.boot_ms(t_ms), round(lat * 1e7), round(lon * 1e7),
            round((v.alt_amsl + nu) * 1000), round((v.u + nu) * 1000),
            round(v.vn * 100), round(v.ve * 100), round(-v.vu * 100), hdg)

    def _gps_raw(self, t_ms: int, lost: bool):
        v = self.vehicle
        ne, nn, nu = v.noisy_offset()
        lat, lon = v.latlon(v.e + ne, v.n + nn)
        cog = int(math.degrees(math.atan2(v.ve, v.vn)) * 100) % 36000
        if lost:
            return M.MAVLink_gps_raw_int_message(self.boot_ms(t_ms) * 1000, 1, 0, 0, 0,
                                                 9999, 9999, 0, 65535, 3)
        return M.MAVLink_gps_raw_int_message(
            self.boot_ms(t_ms) * 1000, 3, round(lat * 1e7), round(lon * 1e7),
            round((v.alt_amsl + nu) * 1000), 80, 120, int(v.groundspeed * 100), cog, 14)

    def _attitude(self, t_ms: int):
        v = self.vehicle
        roll, pitch = v.attitude()
        return M.MAVLink_attitude_message(self.boot_ms(t_ms), roll, pitch, v.yaw, 0.0, 0.0,
                                          v.yaw_rate)

    def _wind_vector(self) -> tuple[float, float, float]:
        speed, frm = self.wind_at(self.vehicle.u)
        r = math.radians(frm)
        return speed, -speed * math.sin(r), -speed * math.cos(r)

    def _vfr_hud(self):
        v = self.vehicle
        _, we, wn = self._wind_vector()
        air = math.hypot(v.ve - we, v.vn - wn) if v.armed and not v.landed else 0.0
        throttle = 0 if not v.armed else (20 if v.landed else int(45 + 5 * v.vu))
        hdg = int(math.degrees(v.yaw)) % 360
        return M.MAVLink_vfr_hud_message(air, v.groundspeed, hdg, max(0, min(100, throttle)),
                                         v.alt_amsl, v.vu)

    def _sys_status(self):
        v = self.vehicle
        current = (0.3 if not v.armed else 18.0 + 2.0 * abs(v.vu) + 0.3 * v.groundspeed)
        self.battery_mah += current * 1000.0 / 3600.0 * (self.intervals["SYS_STATUS"] / 1000)
        remaining = max(0, int(100 - 100 * self.battery_mah / 5200.0))
        volts = 14.8 + 2.0 * remaining / 100.0 - (0.4 if v.armed else 0.0)
        health = SENSORS if not self.faults.gps_lost(self.vehicle.t) else SENSORS & ~0x20
        return M.MAVLink_sys_status_message(SENSORS, SENSORS, health, 250 if v.armed else 100,
                                            int(volts * 1000), int(current * 100), remaining,
                                            0, 0, 0, 0, 0, 0)

    def _system_time(self, t_ms: int):
        f = self.faults
        unix = self.start_us + t_ms * 1000 + round(f.clock * 1e6)
        boot = self.boot_ms(t_ms)
        if f.clockjumps:
            step = f.clock_jump_s(t_ms / 1000.0)
            while self._jumps_logged < len(f.clockjumps) and \
                    f.clockjumps[self._jumps_logged][0] * 1000 <= t_ms:
                at, size = f.clockjumps[self._jumps_logged]
                self._jumps_logged += 1
                self.log.write("clockjump", t_ms / 1000.0, time_boot_ms=boot, seconds=size,
                               at=at)
            unix += round(step * 1e6)
        if f.systime_jitter:
            unix += round(self._time_rng.uniform(-1.0, 1.0) * f.systime_jitter * 1000.0)
        return M.MAVLink_system_time_message(unix, boot)

    def _wind(self):
        speed, frm = self.wind_at(self.vehicle.u)
        return M.MAVLink_wind_message(frm, speed, 0.0)

    def mission_current(self):
        """MISSION_CURRENT: the item being flown (seq counts home as 0) and the total."""
        v = self.vehicle
        seq = v.current + 1 if v.items else 0
        total = len(v.items) + 1
        return M.MAVLink_mission_current_message(seq, total)

    def _extended_sys_state(self):
        # as GCS_MAVLINK_Copter::landed_state(): on the ground, landing, taking off, in the air
        v = self.vehicle
        if v.landed:
            state = M.MAV_LANDED_STATE_ON_GROUND
        elif (v.mode == "LAND" or getattr(v, "_rtl_phase", "") == "land"
              or getattr(v, "_item_state", "") == "landing"):
            state = M.MAV_LANDED_STATE_LANDING
        elif (v.mode == "AUTO" and 0 <= v.current < len(v.items)
              and v.items[v.current].command == P.NAV_TAKEOFF):
            state = M.MAV_LANDED_STATE_TAKEOFF
        else:
            state = M.MAV_LANDED_STATE_IN_AIR
        return M.MAVLink_extended_sys_state_message(M.MAV_VTOL_STATE_UNDEFINED, state)

    wind_at: Callable[[float], tuple[float, float]] = staticmethod(lambda h: (0.0, 0.0))

    def telemetry(self, t_ms: int) -> None:
        """Send every stream due at ``t_ms``."""
        self.now_ms = t_ms
        if self.pending_reboots:
            self.check_reboot(t_ms)
        if t_ms < self.silent_until_ms:
            return
        lost = self.faults.gps_lost(t_ms / 1000.0) if self.faults.gpsloss else False
        if lost != self.gps_was_lost:
            self.log.write("gpsloss" if lost else "gpsloss_end", t_ms / 1000.0,
                           time_boot_ms=self.boot_ms(t_ms))
            self.gps_was_lost = lost
        due = self.next_due
        iv = self.intervals
        for name, nxt in due.items():
            if nxt > t_ms:
                continue
            interval = iv[name]
            if interval <= 0:
                due[name] = 1 << 62
                continue
            nxt += interval
            due[name] = nxt if nxt > t_ms else t_ms + interval
            if name == "GLOBAL_POSITION_INT":
                msg = self._position(t_ms, lost)
                if self.on_position is not None:
                    self.on_position(t_ms)
            elif name == "ATTITUDE":
                msg = self._attitude(t_ms)
            elif name == "GPS_RAW_INT":
                msg = self._gps_raw(t_ms, lost)
            elif name == "VFR_HUD":
                msg = self._vfr_hud()
            elif name == "HEARTBEAT":
                msg = self._heartbeat()
            elif name == "SYS_STATUS":
                msg = self._sys_status()
            elif name == "SYSTEM_TIME":
                msg = self._system_time(t_ms)
            elif name == "WIND":
                msg = self._wind()
            elif name == "EXTENDED_SYS_STATE":
                msg = self._extended_sys_state()
            else:
                msg = self.mission_current()
            self.emit(msg, t_ms)
        if self.vehicle.events:
            for kind, seq in self.vehicle.events:
                if kind == "reached":
                    self.emit(M.MAVLink_mission_item_reached_message(seq), t_ms)
                else:
                    self.emit(self.mission_current(), t_ms)
            self.vehicle.events.clear()
        if self.upload is not None:
            self._upload_timeout(t_ms)

    on_position: Callable[[int], None] | None = None

    def named_float(self, name: str, value: float, boot_ms: int, t_ms: int) -> None:
        """Send one NAMED_VALUE_FLOAT stamped ``boot_ms`` at sim time ``t_ms``."""
        self.emit(M.MAVLink_named_value_float_message(boot_ms, name.encode(), value), t_ms,
                  boot_ms)

    # ------------------------------------------------------------------ handling
    def _for_me(self, msg) -> bool:
        ts = getattr(msg, "target_system", 0)
        return ts in (0, self.sysid)

    def setup_parser(self, parser) -> None:
        """With a key: make ``parser`` (the pymavlink decoder of what the ground sends)
        refuse every packet not validly signed with it."""
        if self.key is not None:
            setup_signing(parser, self.key)
            parser.signing.sign_outgoing = False

    def handle(self, msg, t_ms: int) -> None:
        """React to one message from a ground station (unknown ones are ignored)."""
        self.now_ms = t_ms
        if t_ms < self.silent_until_ms:
            return
        kind = msg.get_type()
        if kind == "BAD_DATA":
            if self.key is not None and "signature" in str(getattr(msg, "reason", "")):
                self.counts["REFUSED_SIGNING"] = self.counts.get("REFUSED_SIGNING", 0) + 1
            return
        if not self._for_me(msg):
            return
        handler = getattr(self, "_on_" + kind.lower(), None)
        if handler is not None:
            handler(msg, t_ms)

    def _set_interval(self, name: str, interval_ms: int, t_ms: int) -> None:
        if name in self.intervals:
            self.intervals[name] = interval_ms
            self.next_due[name] = t_ms + max(interval_ms, 1) if interval_ms > 0 else 1 << 62

    def _on_request_data_stream(self, msg, t_ms: int) -> None:
        names = STREAM_GROUPS.get(msg.req_stream_id, ())
        rate = msg.req_message_rate if msg.start_stop else 0
        for name in names:
            self._set_interval(name, round(1000 / rate) if rate > 0 else 0, t_ms)

    def _ack(self, command: int, result: int, t_ms: int, requester=None) -> None:
        # like ArduPilot, address the ACK to the component that sent the command
        src = (requester.get_srcSystem(), requester.get_srcComponent()) if requester else (0, 0)
        self.emit(M.MAVLink_command_ack_message(command, result, 0, 0, *src), t_ms)

    def _on_set_mode(self, msg, t_ms: int) -> None:
        mode = MODE_NAMES.get(msg.custom_mode)
        if mode is not None:
            self._change_mode(mode)

    def _change_mode(self, mode: str) -> bool:
        v = self.vehicle
        if mode == "AUTO" and v.landed and v.armed:
            self.start_requested = True
            return v.start_mission(0)
        ok = v.set_mode(mode)
        return ok

    def _on_command_long(self, msg, t_ms: int) -> None:
        self._command(msg.command, [msg.param1, msg.param2, msg.param3, msg.param4,
                                    msg.param5, msg.param6, msg.param7], t_ms, msg)

    def _on_command_int(self, msg, t_ms: int) -> None:
        self._command(msg.command, [msg.param1, msg.param2, msg.param3, msg.param4,
                                    msg.x, msg.y, msg.z], t_ms, msg)

    def _command(self, cmd: int, p: list[float], t_ms: int, requester=None) -> None:
        v = self.vehicle
        ok, bad, unsup = M.MAV_RESULT_ACCEPTED, M.MAV_RESULT_DENIED, M.MAV_RESULT_UNSUPPORTED
        result = unsup
        if cmd == M.MAV_CMD_COMPONENT_ARM_DISARM:
            if p[0] >= 0.5:
                result = ok if v.arm() else bad
                if v.armed and v.mode == "AUTO" and v.landed:
                    self.start_requested = True
                    v.start_mission(0)
            else:
                result = ok if v.disarm() or p[1] == 21196 else bad
                if p[1] == 21196:
                    v.armed = False
        elif cmd == M.MAV_CMD_MISSION_START:
            self.start_requested = True
            first = max(int(p[0]) - 1, 0)
            result = ok if v.start_mission(first) else bad
        elif cmd == M.MAV_CMD_DO_SET_MODE:
            mode = MODE_NAMES.get(int(p[1]))
            result = ok if mode is not None and self._change_mode(mode) else bad
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            result = ok if v.set_mode("RTL") else bad
        elif cmd == M.MAV_CMD_NAV_LAND:
            result = ok if v.set_mode("LAND") else bad
        elif cmd == M.MAV_CMD_SET_MESSAGE_INTERVAL:
            name = ID_NAMES.get(int(p[0]))
            if name is not None:
                us = p[1]
                interval = DEFAULT_INTERVALS[name] if us == 0 else (0 if us < 0
                                                                     else int(us / 1000))
                self._set_interval(name, interval, t_ms)
                result = ok
            else:
                result = bad
        elif cmd == M.MAV_CMD_GET_MESSAGE_INTERVAL:
            name = ID_NAMES.get(int(p[0]))
            if name is not None:
                self.emit(M.MAVLink_message_interval_message(
                    int(p[0]), self.intervals[name] * 1000 if self.intervals[name] else -1),
                    t_ms)
                result = ok
        elif cmd in (M.MAV_CMD_REQUEST_MESSAGE, M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES):
            msgid = int(p[0]) if cmd == M.MAV_CMD_REQUEST_MESSAGE else 148
            result = ok if self._send_requested(msgid, t_ms) else bad
        elif cmd == M.MAV_CMD_REQUEST_PROTOCOL_VERSION:
            result = unsup
        self._ack(cmd, result, t_ms, requester)

    def _send_requested(self, msgid: int, t_ms: int) -> bool:
        if msgid == 148:
            self.emit(M.MAVLink_autopilot_version_message(
                CAPABILITIES, (4 << 24) | (5 << 16) | (7 << 8) | 255, 0, 0, 0, [0] * 8, [0] * 8,
                [0] * 8, 0x1209, 0x5741, self.sysid), t_ms)
            return True
        if msgid == 242:  # HOME_POSITION
            h = self.mission.home
            self.emit(M.MAVLink_home_position_message(
                int(h[0] * 1e7), int(h[1] * 1e7), int(h[2] * 1000), 0, 0, 0, [1, 0, 0, 0],
                0, 0, 0), t_ms)
            return True
        name = ID_NAMES.get(msgid)
        if name is None:
            return False
        saved = self.next_due[name]
        self.next_due[name] = t_ms
        interval = self.intervals[name]
        self.intervals[name] = max(interval, 1)
        self.telemetry(t_ms)
        self.intervals[name] = interval
        self.next_due[name] = saved
        return True


def mode_number(name: str) -> int:
    """ArduCopter custom mode number of ``name``."""
    return MODES[name]


__all__ = ["DEFAULT_INTERVALS", "STREAM_GROUPS", "Autopilot", "FaultLog", "mode_number"]
