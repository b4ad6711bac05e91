"""The MAVLink mission protocol, ground-station side, over any pymavlink connection.

Upload::

    GCS  MISSION_COUNT(n)        ->
         <- MISSION_REQUEST_INT(0)  (or legacy MISSION_REQUEST)
    GCS  MISSION_ITEM_INT(0)     ->
         ...
         <- MISSION_ACK(MAV_MISSION_ACCEPTED)

Download::

    GCS  MISSION_REQUEST_LIST    ->
         <- MISSION_COUNT(n)
    GCS  MISSION_REQUEST_INT(i)  ->   for i in 0..n-1
         <- MISSION_ITEM_INT(i)       (legacy MISSION_ITEM accepted too)
    GCS  MISSION_ACK(ACCEPTED)   ->

When a reply does not come within ``timeout`` seconds the last message is sent again, up to
``retries`` times; then :class:`MissionTimeout` says which step stalled. If only the final
MISSION_ACK is missing (lost on the radio, and a vehicle that does not repeat it), the client
downloads the mission and accepts the upload if it matches. A MISSION_ACK with
any other result than ACCEPTED raises :class:`MissionRejected` with the MAV_MISSION_RESULT
name and meaning.

Home: an ArduPilot vehicle (``MAV_AUTOPILOT_ARDUPILOTMEGA`` in its heartbeat, and
``firmware_sim``) stores home as item 0. With ``home_item=None`` (the default) the client
decides from the heartbeat: it then sends ``Mission.home`` as item 0 on upload (the vehicle
keeps its own home) and turns item 0 into ``Mission.home`` on download. PX4 and other
autopilots get ``Mission.items`` only.

Items travel as MISSION_ITEM_INT with frames 0/3/10 (as QGroundControl sends them); frames
5/6/11 (the ``_INT`` variants some vehicles send back) are read as 0/3/10. Latitude and
longitude travel in 1e-7 degrees, params and altitude as float32: the downloaded values are
the shortest decimals that survive float32, so a mission with coordinates rounded to 1e-7°
(as :mod:`~dronesense.missions.patterns` makes them) comes back equal.

Examples
--------
>>> from pymavlink import mavutil  # doctest: +SKIP
>>> conn = mavutil.mavlink_connection("udpin:127.0.0.1:14550", source_system=255)
>>> client = MissionClient(conn).connect()  # doctest: +SKIP
>>> client.upload(mission)  # doctest: +SKIP
>>> client.download().items == mission.items  # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pymavlink import mavutil

from dronesense.errors import DronesenseError
from dronesense.missions.items import (
    GLOBAL_FRAMES,
    MISSION_START,
    Home,
    Mission,
    MissionItem,
    float32,
)

__all__ = ["MissionClient", "MissionError", "MissionRejected", "MissionTimeout",
           "TransferStats", "result_name"]

_M = mavutil.mavlink
MAV_MISSION_TYPE_MISSION = 0
#: the _INT frames some vehicles report, and the plain frames they mean
_FRAME_FROM_INT = {5: 0, 6: 3, 11: 10}


class MissionError(DronesenseError):
    """The mission protocol failed."""


class MissionTimeout(MissionError):
    """The vehicle stopped answering."""


class MissionRejected(MissionError):
    """The vehicle answered with a MISSION_ACK that is not ACCEPTED."""

    def __init__(self, message: str, *, result: int, path: object | None = None):
        self.result = result
        super().__init__(message, path=path)


def result_name(result: int) -> str:
    """``MAV_MISSION_RESULT`` name and meaning of a MISSION_ACK type.

    Examples
    --------
    >>> result_name(3)
    'MAV_MISSION_UNSUPPORTED (Command is not supported.)'
    """
    entry = _M.enums["MAV_MISSION_RESULT"].get(result)
    if entry is None:
        return f"unknown MAV_MISSION_RESULT {result}"
    return f"{entry.name} ({entry.description})" if entry.description else entry.name


@dataclass
class TransferStats:
    """What the last upload or download took: ``items`` sent or received, wall ``seconds``,
    how many messages had to be sent again (``resends``), and whether a lost final
    MISSION_ACK was replaced by downloading and comparing the mission (``verified``)."""

    items: int = 0
    seconds: float = 0.0
    resends: int = 0
    verified: bool = False


class MissionClient:
    """Upload, download, clear and start missions on one vehicle.

    Parameters
    ----------
    conn
        A pymavlink connection (``mavutil.mavlink_connection(...)``).
    target_system, target_component
        The vehicle; found from its heartbeat by :meth:`connect` when None.
    timeout
        Seconds to wait for each reply before sending again.
    retries
        How many times to send a message again before giving up.
    home_item
        True if the vehicle stores home as item 0 (ArduPilot); None: decide from the
        heartbeat's autopilot type in :meth:`connect` (True if not connected).
    where
        Name of the connection for error messages.
    """

    def __init__(self, conn, *, target_system: int | None = None, target_component: int = 1,
                 timeout: float = 1.0, retries: int = 5, home_item: bool | None = None,
                 where: str | None = None):
        self.conn = conn
        self.target_system = target_system
        self.target_component = target_component
        self.timeout = timeout
        self.retries = retries
        self.home_item = home_item
        self.where = where
        self.stats = TransferStats()
        self._last_heartbeat = 0.0

    # ---------------------------------------------------------------- plumbing
    def _heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_heartbeat >= 1.0:
            self.conn.mav.heartbeat_send(_M.MAV_TYPE_GCS, _M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
            self._last_heartbeat = now

    def _error(self, cls: type[MissionError], message: str, **kw) -> MissionError:
        return cls(message, path=self.where, **kw)

    def connect(self, timeout: float = 10.0) -> MissionClient:
        """Wait for a vehicle heartbeat (sending our own each second); returns ``self``.

        Raises
        ------
        MissionTimeout
            If no vehicle is heard within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._heartbeat()
            msg = self.conn.recv_match(type="HEARTBEAT", blocking=True, timeout=0.2)
            if msg is None or msg.type == _M.MAV_TYPE_GCS:
                continue
            if self.target_system is not None and msg.get_srcSystem() != self.target_system:
                continue
            self.target_system = msg.get_srcSystem()
            self.target_component = msg.get_srcComponent()
            if self.home_item is None:
                self.home_item = msg.autopilot == _M.MAV_AUTOPILOT_ARDUPILOTMEGA
            return self
        raise self._error(MissionTimeout, f"no vehicle heartbeat within {timeout:g} s"
                          + self._signing_note())

    def _signing_note(self) -> str:
        """Why nothing was heard, when MAVLink 2 signing refused what came."""
        signing = getattr(getattr(self.conn, "mav", None), "signing", None)
        if signing is None:
            return ""
        if signing.secret_key is None:
            return " (it may sign its packets: give the key)" if signing.sig_count else ""
        if signing.badsig_count:
            return (f" ({signing.badsig_count} packets signed with another key, or replayed, "
                    "were refused)")
        if not signing.goodsig_count:
            return " (nothing signed with the key was heard; unsigned packets are refused)"
        return ""

    def _ours(self, msg) -> bool:
        if self.target_system is not None and msg.get_srcSystem() != self.target_system:
            return False
        target = getattr(msg, "target_system", 0)
        if target not in (0, self.conn.source_system):
            return False
        return getattr(msg, "mission_type", MAV_MISSION_TYPE_MISSION) == MAV_MISSION_TYPE_MISSION

    def _recv(self, types: list[str], timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._heartbeat()
            msg = self.conn.recv_match(type=types, blocking=True, timeout=min(left, 0.25))
            if msg is not None and self._ours(msg):
                return msg

    def _target(self) -> tuple[int, int]:
        if self.target_system is None:
            self.connect()
        return int(self.target_system), self.target_component  # type: ignore[arg-type]

    def _reject(self, ack, doing: str) -> MissionError:
        return self._error(MissionRejected, f"vehicle rejected the mission {doing}: "
                           f"{result_name(ack.type)}", result=ack.type)

    # ---------------------------------------------------------------- upload
    def _send_item(self, seq: int, item: MissionItem) -> None:
        ts, tc = self._target()
        if item.frame in GLOBAL_FRAMES:
            x, y = round(item.lat * 1e7), round(item.lon * 1e7)
        else:
            x, y = round(item.lat), round(item.lon)
        p = item.params
        self.conn.mav.mission_item_int_send(
            ts, tc, seq, item.frame, item.command, 0, int(item.autocontinue),
            p[0], p[1], p[2], p[3], x, y, item.alt, MAV_MISSION_TYPE_MISSION)

    def upload(self, mission: Mission,
               progress: Callable[[int, int], None] | None = None) -> TransferStats:
        """Upload ``mission``; returns :class:`TransferStats`.

        Raises
        ------
        MissionRejected
            The vehicle answered with an error MISSION_ACK.
        MissionTimeout
            The vehicle stopped answering.
        """
        ts, tc = self._target()
        home_item = True if self.home_item is None else self.home_item
        items = mission.wire_items() if home_item else list(mission.items)
        count = len(items)
        t0 = time.monotonic()
        stats = TransferStats(items=count)
        self.conn.mav.mission_count_send(ts, tc, count, MAV_MISSION_TYPE_MISSION)
        last: int | None = None  # the last item sent
        tries = 0
        while True:
            msg = self._recv(["MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"],
                             self.timeout)
            if msg is None:
                tries += 1
                if tries > self.retries and last == count - 1 and self._verify(mission):
                    stats.verified = True
                    break
                if tries > self.retries:
                    step = ("MISSION_COUNT" if last is None
                            else f"item {last} of {count}" if last < count - 1
                            else "the last item (no MISSION_ACK)")
                    raise self._error(MissionTimeout, f"mission upload stalled after {step}: "
                                      f"no answer in {self.retries + 1} tries of "
                                      f"{self.timeout:g} s")
                stats.resends += 1
                if last is None:
                    self.conn.mav.mission_count_send(ts, tc, count, MAV_MISSION_TYPE_MISSION)
                else:
                    self._send_item(last, items[last])
                continue
            if msg.get_type() == "MISSION_ACK":
                if msg.type != _M.MAV_MISSION_ACCEPTED:
                    raise self._reject(msg, "upload")
                if last == count - 1 or count == 0:
                    break
                continue  # a stale ACK from an earlier transfer
            seq = msg.seq
            if not 0 <= seq < count:
                raise self._error(MissionError, f"vehicle asked for item {seq} of a "
                                  f"{count}-item mission")
            self._send_item(seq, items[seq])
            last = seq
            tries = 0
            if progress is not None:
                progress(seq + 1, count)
        stats.seconds = time.monotonic() - t0
        self.stats = stats
        return stats

    def _verify(self, mission: Mission) -> bool:
        """After a lost final MISSION_ACK: download and compare (the vehicle may have stored
        the mission and not repeat its ACK)."""
        try:
            back = self.download()
        except MissionError:
            return False
        return back.items == mission.as_float32().items

    # ---------------------------------------------------------------- download
    def _item_from(self, msg) -> MissionItem:
        frame = _FRAME_FROM_INT.get(msg.frame, msg.frame)
        if msg.get_type() == "MISSION_ITEM_INT" and frame in GLOBAL_FRAMES:
            lat, lon = round(msg.x / 1e7, 7), round(msg.y / 1e7, 7)
        elif frame in GLOBAL_FRAMES:
            lat, lon = round(float(msg.x), 7), round(float(msg.y), 7)
        else:
            lat, lon = float32(msg.x), float32(msg.y)
        return MissionItem(msg.command, frame,
                           tuple(float32(p) for p in (msg.param1, msg.param2, msg.param3,
                                                      msg.param4)),
                           lat, lon, float32(msg.z), bool(msg.autocontinue))

    def download(self, progress: Callable[[int, int], None] | None = None) -> Mission:
        """Download the vehicle's mission.

        Returns
        -------
        Mission
            With the vehicle's home (item 0) as ``home`` on ArduPilot-like vehicles; otherwise
            home is (0, 0, 0) and every item is in ``items``.
        """
        ts, tc = self._target()
        t0 = time.monotonic()
        stats = TransferStats()
        count = None
        for attempt in range(self.retries + 1):
            if attempt:
                stats.resends += 1
            self.conn.mav.mission_request_list_send(ts, tc, MAV_MISSION_TYPE_MISSION)
            msg = self._recv(["MISSION_COUNT", "MISSION_ACK"], self.timeout)
            if msg is None:
                continue
            if msg.get_type() == "MISSION_ACK":
                if msg.type != _M.MAV_MISSION_ACCEPTED:
                    raise self._reject(msg, "download")
                continue
            count = msg.count
            break
        if count is None:
            raise self._error(MissionTimeout, "mission download: no MISSION_COUNT after "
                              f"{self.retries + 1} tries of {self.timeout:g} s")
        items: list[MissionItem] = []
        for seq in range(count):
            got = None
            for attempt in range(self.retries + 1):
                if attempt:
                    stats.resends += 1
                self.conn.mav.mission_request_int_send(ts, tc, seq, MAV_MISSION_TYPE_MISSION)
                deadline = time.monotonic() + self.timeout
                while got is None and time.monotonic() < deadline:
                    msg = self._recv(["MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK"],
                                     deadline - time.monotonic())
                    if msg is None:
                        break
                    if msg.get_type() == "MISSION_ACK":
                        if msg.type != _M.MAV_MISSION_ACCEPTED:
                            raise self._reject(msg, f"download at item {seq}")
                    elif msg.seq == seq:
                        got = self._item_from(msg)
                if got is not None:
                    break
            if got is None:
                raise self._error(MissionTimeout, f"mission download stalled at item {seq} of "
                                  f"{count}: no answer in {self.retries + 1} tries of "
                                  f"{self.timeout:g} s")
            items.append(got)
            if progress is not None:
                progress(seq + 1, count)
        self.conn.mav.mission_ack_send(ts, tc, _M.MAV_MISSION_ACCEPTED, MAV_MISSION_TYPE_MISSION)
        stats.items = count
        stats.seconds = time.monotonic() - t0
        self.stats = stats
        home_item = True if self.home_item is None else self.home_item
        if home_item and items:
            return Mission.from_wire_items(items)
        return Mission(Home(0.0, 0.0, 0.0), items)

    # ---------------------------------------------------------------- commands
    def clear(self) -> None:
        """Delete the vehicle's mission (MISSION_CLEAR_ALL)."""
        ts, tc = self._target()
        for _ in range(self.retries + 1):
            self.conn.mav.mission_clear_all_send(ts, tc, MAV_MISSION_TYPE_MISSION)
            msg = self._recv(["MISSION_ACK"], self.timeout)
            if msg is None:
                continue
            if msg.type != _M.MAV_MISSION_ACCEPTED:
                raise self._reject(msg, "clear")
            return
        raise self._error(MissionTimeout, "no MISSION_ACK to MISSION_CLEAR_ALL")

    def start(self, first: int = 0, last: int = 0) -> None:
        """Send MAV_CMD_MISSION_START and wait for an accepting COMMAND_ACK.

        Raises
        ------
        MissionRejected
            If the vehicle refuses (e.g. not armable, no mission).
        """
        ts, tc = self._target()
        for confirmation in range(self.retries + 1):
            self.conn.mav.command_long_send(ts, tc, MISSION_START, confirmation,
                                            first, last, 0, 0, 0, 0, 0)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                msg = self._recv(["COMMAND_ACK"], deadline - time.monotonic())
                if msg is None or msg.command != MISSION_START:
                    continue
                if msg.result == _M.MAV_RESULT_ACCEPTED:
                    return
                entry = _M.enums["MAV_RESULT"].get(msg.result)
                name = entry.name if entry is not None else str(msg.result)
                raise self._error(MissionRejected, f"vehicle refused MAV_CMD_MISSION_START: "
                                  f"{name}", result=msg.result)
        raise self._error(MissionTimeout, "no COMMAND_ACK to MAV_CMD_MISSION_START")
