"""What the operator must know beyond the pairing: battery, mission, ages, peaks, warnings.

:class:`VehicleWatch` sees every received chunk (the listener's ``observers`` hook) and keeps
the vehicle state the pairing does not read (SYS_STATUS / BATTERY_STATUS battery, MISSION_CURRENT
progress, GPS_RAW_INT fix type); it also notes when each latest value last changed (its age)
and the peak of every quantity. :func:`warnings` lists everything that needs attention, for
the terminal view and the web page alike, and :func:`no_data_hint` says what to check when
nothing arrives.

Examples
--------
>>> no_data_hint("udpin:127.0.0.1:14550", 12.0)[:46]
'nothing received on udpin:127.0.0.1:14550 for '
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.sources.framing import Framer

__all__ = ["HINT_AFTER_S", "LOSS_WARN", "STALE_S", "VehicleWatch", "no_data_hint", "warnings"]

#: Seconds with nothing received before the view shows what to check.
HINT_AFTER_S = 5.0
#: Seconds after which a latest value is stale.
STALE_S = 5.0
#: Link loss fraction above which a warning is shown.
LOSS_WARN = 0.05

_WATCHED = frozenset({mavlink.MAVLINK_MSG_ID_SYS_STATUS, mavlink.MAVLINK_MSG_ID_BATTERY_STATUS,
                      mavlink.MAVLINK_MSG_ID_MISSION_CURRENT, mavlink.MAVLINK_MSG_ID_GPS_RAW_INT,
                      mavlink.MAVLINK_MSG_ID_NAMED_VALUE_FLOAT,
                      mavlink.MAVLINK_MSG_ID_NAMED_VALUE_INT})
_TYPES = frozenset({"SYS_STATUS", "BATTERY_STATUS", "MISSION_CURRENT", "GPS_RAW_INT",
                    "NAMED_VALUE_FLOAT", "NAMED_VALUE_INT"})


class VehicleWatch:
    """Battery, mission progress and GNSS fix type per vehicle, value ages and peaks.

    Call it with every received :class:`~dronesense.sources.link.Chunk` (it frames the bytes
    itself and decodes only the message types it reads: every reading counts for the peaks
    and ages), and :meth:`note_values` with the recorder's ``latest`` values at each turn of
    the loop (readings of serial payloads). ``lookup`` maps a wire name to ``(quantity key,
    scale, units)`` as the pairing does (``recorder.pairer.lookup``).
    """

    def __init__(self, lookup: Callable[[str], tuple] | None = None) -> None:
        self.lookup = lookup
        self._framers: dict[object, Framer] = {}
        #: sysid -> {"remaining": %, "voltage": V, "current": A}
        self.battery: dict[int, dict] = {}
        #: sysid -> {"seq": n, "total": n or None}
        self.mission: dict[int, dict] = {}
        #: sysid -> GPS_RAW_INT fix_type
        self.fix_type: dict[int, int] = {}
        #: (sysid, quantity) -> monotonic time the value last changed
        self.changed: dict[tuple[int, str], float] = {}
        #: (sysid, quantity) -> peak value
        self.peak: dict[tuple[int, str], float] = {}
        self._seen: dict[tuple[int, str], tuple] = {}
        self.started = time.monotonic()

    def __call__(self, chunk) -> None:
        """Read the watched messages of one received chunk (never raises)."""
        framer = self._framers.get(chunk.peer)
        if framer is None:
            framer = self._framers[chunk.peer] = Framer(
                decode_ids=_WATCHED, mav=mavlink.MAVLink(None))
        try:
            msgs = framer.feed(chunk.data, final=chunk.datagram).messages
        except Exception:  # the watch only informs; the recording never depends on it
            return
        for msg in msgs:
            t = msg._type
            if t in _TYPES:
                self._take(msg._header.srcSystem, t, msg)

    def _take(self, sysid: int, t: str, msg) -> None:
        if t.startswith("NAMED_VALUE"):
            name = msg.name
            key, scale = (self.lookup(name)[:2] if self.lookup is not None
                          else (name.strip("\x00").lower(), 1.0))
            self._reading((sysid, key), msg.value * scale)
        elif t == "SYS_STATUS":
            bat = self.battery.setdefault(sysid, {})
            if msg.battery_remaining >= 0:
                bat["remaining"] = float(msg.battery_remaining)
            if msg.voltage_battery not in (0, 65535):
                bat["voltage"] = msg.voltage_battery / 1000.0
            if msg.current_battery >= 0:
                bat["current"] = msg.current_battery / 100.0
        elif t == "BATTERY_STATUS":
            if msg.battery_remaining >= 0:
                self.battery.setdefault(sysid, {})["remaining"] = float(msg.battery_remaining)
        elif t == "MISSION_CURRENT":
            total = getattr(msg, "total", 0)
            self.mission[sysid] = {"seq": int(msg.seq),
                                   "total": int(total) if total not in (0, 65535) else None}
        elif t == "GPS_RAW_INT":
            self.fix_type[sysid] = int(msg.fix_type)

    def _reading(self, key: tuple[int, str], value: float, now: float | None = None) -> None:
        self.changed[key] = time.monotonic() if now is None else now
        if value == value and (key not in self.peak or value > self.peak[key]):
            self.peak[key] = value

    def note_values(self, latest: dict, now: float | None = None) -> None:
        """Note which latest values changed (their age starts again) and the peaks."""
        now = time.monotonic() if now is None else now
        for key, entry in latest.items():
            if self._seen.get(key) is not entry:
                self._seen[key] = entry
                self._reading(key, entry[0], now)

    def age(self, key: tuple[int, str], now: float | None = None) -> float | None:
        """Seconds since the value of ``key`` last changed."""
        t = self.changed.get(key)
        return None if t is None else (time.monotonic() if now is None else now) - t


def no_data_hint(where: str, silent_s: float) -> str:
    """What to check when nothing has arrived for ``silent_s`` seconds."""
    return (f"nothing received on {where} for {silent_s:.0f} s: check the port (the vehicle "
            "or its radio/telemetry forwarder may send to another port or address), that the "
            "vehicle sends to this machine (udpin:0.0.0.0:PORT to hear other machines), and "
            "that no firewall drops UDP on this port")


def warnings(snap: dict) -> list[str]:
    """Everything in a snapshot that needs the operator's attention, one line each."""
    out = list(snap.get("pairing_warnings", ()))
    if snap.get("hint"):
        out.append(snap["hint"])
    if snap.get("loss", 0.0) > LOSS_WARN:
        out.append(f"link loss {snap['loss']:.1%} (more than {LOSS_WARN:.0%} of the packets "
                   "lost)")
    for v in snap.get("vehicles", ()):
        sid = v["sysid"]
        if v.get("fix_ok") is False:
            out.append(f"GPS loss: vehicle {sid} has no GNSS fix; its readings are kept but "
                       "not placed")
        if v.get("boot", 0) > 0:
            out.append(f"reboot: vehicle {sid} rebooted (now boot {v['boot']})")
        bat = v.get("battery") or {}
        if bat.get("remaining") is not None and bat["remaining"] < 20:
            out.append(f"battery: vehicle {sid} at {bat['remaining']:.0f} %")
    nofix = snap.get("flags", {}).get(4, 0)
    if nofix:
        out.append(f"GPS loss: {nofix} reading(s) without GPS fix (flag 4)")
    stale = [f"{q['quantity']} ({q['age_s']:.0f} s)" for q in snap.get("values", ())
             if q.get("age_s") is not None and q["age_s"] > STALE_S]
    if stale:
        out.append("stale data: no new value for " + ", ".join(stale))
    for p in snap.get("payloads", ()):
        if p.get("connected") is False:
            out.append(f"payload down: {p['source']}" + (f" ({p['error']})" if p.get("error")
                                                           else ""))
    for key, value in (snap.get("signing") or {}).items():
        if isinstance(value, int | float) and value and any(
                w in key for w in ("fail", "bad", "reject", "unsigned", "invalid")):
            out.append(f"signing: {key.replace('_', ' ')} {value}")
    return out
