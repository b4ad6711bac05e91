"""The scripted vehicle and port helper the link tests rely on."""

import socket

from tests.support.link import ScriptedVehicle
from tests.support.paths import free_port


def test_scripted_vehicle_sends_in_time_order():
    v = ScriptedVehicle(duration_s=1.0)
    pk = v.packets()
    times = [t for t, _ in pk]
    assert times == sorted(times)
    assert len(v.readings) == 7


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
