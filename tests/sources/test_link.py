"""Links: connection strings, UDP receive with a large buffer, TCP, forwarding."""

from __future__ import annotations

import socket
import time

import pytest

from dronesense.errors import InputError
from dronesense.sources.forward import Forwarder
from dronesense.sources.link import Link, parse_connection
from tests.support.paths import free_port


def test_parse_connection():
    assert parse_connection("udp:0.0.0.0:14550").kind == "udpin"
    assert parse_connection("tcp:localhost:5760").port == 5760
    ep = parse_connection("/dev/ttyUSB0,921600")
    assert (ep.kind, ep.device, ep.baud) == ("serial", "/dev/ttyUSB0", 921600)
    with pytest.raises(InputError):
        parse_connection("bogus")
    with pytest.raises(InputError):
        parse_connection("udpin:host")


def test_udp_receives_datagrams_with_times_and_peer():
    port = free_port()
    link = Link(f"udpin:127.0.0.1:{port}")
    assert link.rcvbuf >= 200_000
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for k in range(100):
        s.sendto(bytes([k]) * 10, ("127.0.0.1", port))
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 100 and time.monotonic() < deadline:
        got += link.recv(0.1)
    assert [c.data[0] for c in got] == list(range(100))
    assert all(c.datagram for c in got)
    assert got[0].peer == ("127.0.0.1", s.getsockname()[1])
    assert got[0].recv_us <= got[-1].recv_us
    assert link.send(b"reply")  # goes back to the last sender
    s.settimeout(2)
    assert s.recv(100) == b"reply"
    s.close()
    link.close()


def test_tcp_client_reconnects_and_forwarder(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    link = Link(f"tcp:127.0.0.1:{port}")
    conn, _ = srv.accept()
    conn.sendall(b"abc")
    data = b""
    deadline = time.monotonic() + 5
    while len(data) < 3 and time.monotonic() < deadline:
        data += b"".join(c.data for c in link.recv(0.1))
    assert data == b"abc"
    conn.close()
    while link.connected and time.monotonic() < deadline:
        link.recv(0.1)
    assert not link.connected and link.reconnects == 1
    link.close()
    srv.close()
    fport = free_port()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", fport))
    sink.settimeout(2)
    fwd = Forwarder(f"udpout:127.0.0.1:{fport}")
    assert fwd.send(b"\xfe\x01")
    assert sink.recv(10) == b"\xfe\x01"
    sink.close()
    fwd.close()
    with pytest.raises(InputError):
        Forwarder("/dev/ttyUSB9")
