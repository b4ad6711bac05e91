"""EXTENDED_SYS_STATE: the landed state MAVSDK (and QGroundControl) read, as ArduCopter sends it.

MAVSDK derives ``telemetry.in_air()`` / ``landed_state()`` only from EXTENDED_SYS_STATE and
asks for it with SET_MESSAGE_INTERVAL (its Action plugin does so on connect). The simulator
keeps it off until asked, like the other on-request messages, so default streams and message
counts stay as they were. Fast: the autopilot is driven directly, no sockets.
"""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from firmware_sim.autopilot import Autopilot
from firmware_sim.faults import FaultLog, FaultSpecs
from firmware_sim.plan import Mission, MissionItem
from firmware_sim.vehicle import Vehicle

M = mavlink2
GCS = M.MAVLink(None, srcSystem=245, srcComponent=190)
SHORT = Mission(home=(51.0, 7.0, 40.0), items=[
    MissionItem(22, 3, (0, 0, 0, 0, 0, 0, 10.0)),
    MissionItem(16, 3, (0, 2, 0, 0, 51.0003, 7.0, 10.0)),
    MissionItem(21, 3, (0, 0, 0, 0, 0, 0, 0)),
])


def make():
    sent: list = []
    parser = M.MAVLink(None)

    def send(t, data, meta):
        sent.extend(parser.parse_buffer(data) or [])

    v = Vehicle(SHORT)
    ap = Autopilot(v, SHORT, 1, send, FaultSpecs(), FaultLog(None), 0, wait_for_start=True)
    return v, ap, sent


def command(ap, cmd, *params, t_ms=0):
    p = [*params, 0, 0, 0, 0, 0, 0, 0][:7]
    msg = M.MAVLink_command_long_message(1, 1, cmd, 0, *p)
    msg.pack(GCS)  # sets the source ids, as if it came over the link
    ap.handle(msg, t_ms)


def of_type(sent, kind):
    return [m for m in sent if m.get_type() == kind]


def fly(v, ap, until_s=400.0, dt=0.05):
    t = 0.0
    while t < until_s and not v.finished:
        v.step(dt)
        t += dt
        ap.telemetry(round(t * 1000))


def test_off_by_default():
    _, ap, sent = make()
    for t_ms in range(0, 5000, 50):
        ap.telemetry(t_ms)
    assert of_type(sent, "HEARTBEAT")
    assert not of_type(sent, "EXTENDED_SYS_STATE")


def test_set_message_interval_streams_landed_state_through_a_flight():
    v, ap, sent = make()
    command(ap, M.MAV_CMD_SET_MESSAGE_INTERVAL, 245, 200_000)  # 5 Hz, as MAVSDK would
    acks = of_type(sent, "COMMAND_ACK")
    assert acks[-1].command == M.MAV_CMD_SET_MESSAGE_INTERVAL
    assert acks[-1].result == M.MAV_RESULT_ACCEPTED
    for t_ms in range(0, 1001, 50):
        ap.telemetry(t_ms)
    on_ground = of_type(sent, "EXTENDED_SYS_STATE")
    assert len(on_ground) == 5  # at 200, 400, ..., 1000 ms
    assert {m.landed_state for m in on_ground} == {M.MAV_LANDED_STATE_ON_GROUND}
    assert {m.vtol_state for m in on_ground} == {M.MAV_VTOL_STATE_UNDEFINED}

    command(ap, M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    command(ap, M.MAV_CMD_MISSION_START)
    fly(v, ap)
    assert v.finished
    states = [m.landed_state for m in of_type(sent, "EXTENDED_SYS_STATE")]
    order = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert order == [M.MAV_LANDED_STATE_ON_GROUND, M.MAV_LANDED_STATE_TAKEOFF,
                     M.MAV_LANDED_STATE_IN_AIR, M.MAV_LANDED_STATE_LANDING,
                     M.MAV_LANDED_STATE_ON_GROUND]


def test_get_interval_request_message_and_stop():
    _, ap, sent = make()
    command(ap, M.MAV_CMD_GET_MESSAGE_INTERVAL, 245)
    assert of_type(sent, "MESSAGE_INTERVAL")[-1].interval_us == -1  # off
    command(ap, M.MAV_CMD_REQUEST_MESSAGE, 245)
    assert len(of_type(sent, "EXTENDED_SYS_STATE")) == 1
    assert of_type(sent, "COMMAND_ACK")[-1].result == M.MAV_RESULT_ACCEPTED
    command(ap, M.MAV_CMD_SET_MESSAGE_INTERVAL, 245, 1_000_000)
    command(ap, M.MAV_CMD_GET_MESSAGE_INTERVAL, 245)
    assert of_type(sent, "MESSAGE_INTERVAL")[-1].interval_us == 1_000_000
    command(ap, M.MAV_CMD_SET_MESSAGE_INTERVAL, 245, -1)  # stop
    before = len(of_type(sent, "EXTENDED_SYS_STATE"))
    for t_ms in range(0, 5000, 50):
        ap.telemetry(t_ms)
    assert len(of_type(sent, "EXTENDED_SYS_STATE")) == before
