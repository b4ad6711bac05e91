"""Live MAVLink links: receive raw bytes from UDP, TCP or a serial radio, send bytes back.

The listener reads the socket or serial port itself (instead of through pymavlink's
``mavutil``) so that it sees every byte that arrives, with its receive time, before any
decoding: that is what makes the raw record lossless. Connection strings follow pymavlink:

=====================  ==================================================================
``udpin:HOST:PORT``    bind and listen (``udp:`` is the same); where vehicles send to
``udpout:HOST:PORT``   send to HOST:PORT and listen for the replies
``tcp:HOST:PORT``      TCP client (reconnects when the server goes away)
``tcpin:HOST:PORT``    TCP server, one client at a time
``/dev/ttyUSB0``       serial device (telemetry radio), with ``baud``
=====================  ==================================================================

Network listeners bind where they are told; the ``dronesense listen`` default is
``udpin:127.0.0.1:14550`` (this machine only). Use ``udpin:0.0.0.0:14550`` to hear vehicles
and routers on other machines. The link to a second ground station is
:class:`~dronesense.sources.forward.Forwarder`.

Examples
--------
>>> parse_connection("udpin:127.0.0.1:14550")
Endpoint(kind='udpin', host='127.0.0.1', port=14550, device='', baud=57600)
>>> parse_connection("/dev/ttyUSB0", baud=921600).kind
'serial'
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import time
from dataclasses import dataclass

from dronesense.errors import InputError, ParameterError

__all__ = ["RETRY_S", "Chunk", "Endpoint", "Link", "now_us", "parse_connection"]

#: Receive buffer asked for on UDP sockets (the kernel may cap it at net.core.rmem_max).
UDP_RCVBUF = 8 * 1024 * 1024
#: Seconds between attempts to reopen a stream link that went down.
RETRY_S = 1.0


@dataclass(frozen=True)
class Endpoint:
    """A parsed connection string."""

    kind: str  # udpin, udpout, tcp, tcpin, serial
    host: str = ""
    port: int = 0
    device: str = ""
    baud: int = 57600


@dataclass(slots=True)
class Chunk:
    """Bytes received in one read, with their receive time.

    ``datagram`` is True when the bytes are one whole UDP datagram (a frame cannot continue
    into the next one); ``peer`` identifies the sender (address for UDP, connection number for
    TCP, device for serial) so that byte streams from different senders are never mixed.
    """

    data: bytes
    recv_us: int
    peer: object
    datagram: bool


def parse_connection(conn: str, baud: int = 57600) -> Endpoint:
    """Parse a pymavlink-style connection string.

    Raises
    ------
    ParameterError
        For ``conn``, if it is neither ``KIND:HOST:PORT`` with a known kind nor a device path.
    """
    for prefix in ("udpin", "udpout", "udpbcast", "udp", "tcpin", "tcp"):
        if conn.startswith(prefix + ":"):
            rest = conn[len(prefix) + 1 :]
            host, sep, port = rest.rpartition(":")
            if not sep or not port.isdigit():
                raise ParameterError("conn", f"expected {prefix}:HOST:PORT, got {conn!r}")
            kind = {"udp": "udpin", "udpbcast": "udpout"}.get(prefix, prefix)
            return Endpoint(kind, host or "127.0.0.1", int(port), baud=baud)
    if conn.startswith(("/", "COM")) or os.path.exists(conn):
        device, _, b = conn.partition(",")
        return Endpoint("serial", device=device, baud=int(b) if b.isdigit() else baud)
    raise ParameterError("conn", f"not a connection string: {conn!r} "
                         "(try udpin:127.0.0.1:14550)")


def now_us() -> int:
    """The ground clock now, UNIX microseconds (the receive time of a :class:`Chunk`)."""
    return time.time_ns() // 1000


class Link:
    """A live link that yields raw byte chunks and can send bytes back.

    Parameters
    ----------
    conn
        Connection string (see module docs).
    baud
        Serial speed for device paths.

    Attributes
    ----------
    rcvbuf
        UDP receive buffer the kernel granted (bytes), 0 for other links.
    connected
        False while a TCP or serial link is down and being retried.
    """

    def __init__(self, conn: str, baud: int = 57600):
        self.conn = conn
        self.endpoint = parse_connection(conn, baud)
        self.rcvbuf = 0
        self.connected = False
        self.reconnects = 0
        self._sock: socket.socket | None = None
        self._server: socket.socket | None = None
        self._serial = None
        self._peer = None  # where replies go (UDP) / connection number (TCP)
        self._conn_no = 0
        self._next_try = 0.0
        self._open()

    # -- opening ----------------------------------------------------------------------------
    def _open(self) -> None:
        ep = self.endpoint
        try:
            if ep.kind in ("udpin", "udpout"):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
                self.rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                if ep.kind == "udpin":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((ep.host, ep.port))
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                    self._peer = (ep.host, ep.port)
                sock.setblocking(False)
                self._sock = sock
                self.connected = True
            elif ep.kind == "tcpin":
                srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                srv.bind((ep.host, ep.port))
                srv.listen(1)
                srv.setblocking(False)
                self._server = srv
            elif ep.kind == "tcp":
                self._try_connect()
            else:
                self._try_serial()
        except OSError as err:
            raise InputError(f"cannot open link: {err.strerror or err}", path=self.conn) from None

    def _try_connect(self) -> None:
        ep = self.endpoint
        self._next_try = time.monotonic() + RETRY_S
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=1.0)
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._conn_no += 1
        self.connected = True

    def _try_serial(self) -> None:
        import serial  # pyserial

        self._next_try = time.monotonic() + RETRY_S
        try:
            self._serial = serial.Serial(self.endpoint.device, self.endpoint.baud, timeout=0)
        except (OSError, serial.SerialException):
            if self._conn_no == 0 and not os.path.exists(self.endpoint.device):
                raise InputError("no such serial device", path=self.endpoint.device) from None
            return
        self._conn_no += 1
        self.connected = True

    def _drop(self) -> None:
        """The stream link went down: close it and retry later."""
        self.connected = False
        self.reconnects += 1
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
            self._serial = None
        self._next_try = time.monotonic() + RETRY_S

    @property
    def address(self) -> tuple[str, int] | None:
        """The local (host, port) a network link is bound to (the port the system chose for
        port 0); ``None`` for a serial link or a TCP client."""
        sock = self._server if self._server is not None else self._sock
        if sock is None or self.endpoint.kind in ("serial", "tcp"):
            return None
        try:
            return sock.getsockname()[:2]
        except OSError:
            return None

    # -- receiving --------------------------------------------------------------------------
    def fileno_list(self) -> list:
        """Objects to wait on with :func:`select.select`."""
        if self._sock is not None:
            return [self._sock]
        if self._serial is not None:
            return [self._serial.fileno()]
        if self._server is not None:
            return [self._server]
        return []

    def recv(self, timeout: float = 0.2, max_chunks: int = 512, also=()) -> list[Chunk]:
        """Wait up to ``timeout`` s for data; return every chunk that is ready.

        ``also`` are more objects to wait on (a :class:`Forwarder`'s sockets): the wait ends
        when any of them is readable too, so the caller can serve them without delay.
        """
        kind = self.endpoint.kind
        if not self.connected and kind in ("tcp", "serial") and time.monotonic() >= self._next_try:
            self._try_connect() if kind == "tcp" else self._try_serial()
        waitables = self.fileno_list()
        if not waitables:
            if also:
                with contextlib.suppress(OSError, ValueError):
                    select.select(list(also), [], [], timeout)
            else:
                time.sleep(timeout)
            return []
        try:
            ready, _, _ = select.select(waitables + list(also), [], [], timeout)
        except (OSError, ValueError):
            if also:  # which one failed? check the link alone
                try:
                    select.select(waitables, [], [], 0)
                except (OSError, ValueError):
                    self._drop()
                return []
            self._drop()
            return []
        if not any(r in waitables for r in ready):
            return []
        if kind in ("udpin", "udpout"):
            return self._recv_udp(max_chunks)
        if kind == "tcpin" and self._sock is None:
            self._accept()
            return []
        if kind == "serial":
            return self._recv_serial()
        return self._recv_tcp()

    def _recv_udp(self, max_chunks: int) -> list[Chunk]:
        out = []
        sock = self._sock
        for _ in range(max_chunks):
            try:
                data, addr = sock.recvfrom(65535)
            except BlockingIOError:
                break
            except OSError as err:  # e.g. ECONNREFUSED from an ICMP for a reply we sent
                if err.errno in (errno.ECONNREFUSED, errno.ECONNRESET):
                    continue
                raise
            out.append(Chunk(data, now_us(), addr, True))
            if self.endpoint.kind == "udpin":
                self._peer = addr
        return out

    def _accept(self) -> None:
        try:
            sock, _ = self._server.accept()
        except OSError:
            return
        sock.setblocking(False)
        self._sock = sock
        self._conn_no += 1
        self.connected = True

    def _recv_tcp(self) -> list[Chunk]:
        try:
            data = self._sock.recv(1 << 16)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            self._drop()
            if self.endpoint.kind == "tcpin":
                self.connected = False
            return []
        return [Chunk(data, now_us(), self._conn_no, False)]

    def _recv_serial(self) -> list[Chunk]:
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except Exception:
            self._drop()
            return []
        return [Chunk(data, now_us(), self._conn_no, False)] if data else []

    # -- sending ----------------------------------------------------------------------------
    def send(self, data: bytes, to=None) -> bool:
        """Send bytes to the vehicle side; False if nowhere to send.

        On UDP the bytes go to ``to`` (a list of sender addresses, from
        :attr:`Chunk.peer`) or, by default, to the last sender; other links ignore ``to``.
        """
        try:
            if self.endpoint.kind in ("udpin", "udpout"):
                peers = to or ([] if self._peer is None else [self._peer])
                if not peers or self._sock is None:
                    return False
                for peer in peers:
                    self._sock.sendto(data, peer)
            elif self._sock is not None:
                self._sock.sendall(data)
            elif self._serial is not None:
                self._serial.write(data)
            else:
                return False
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Close sockets and ports."""
        for s in (self._sock, self._server):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
        self._sock = self._server = self._serial = None
        self.connected = False
