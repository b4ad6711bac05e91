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
from collections import Counter
from dataclasses import dataclass

from dronesense.errors import InputError, ParameterError
from dronesense.sources.datagrams import (
    SO_TIMESTAMPNS,
    header_sysid,
    kernel_stamp_us,
    packet_ok,
    target_system,
)

__all__ = ["LINGER_BELOW", "RETRY_S", "Chunk", "Endpoint", "Link", "bind_exclusive",
           "header_sysid", "now_us", "parse_connection"]

#: Receive buffer asked for on UDP sockets (the kernel may cap it at net.core.rmem_max).
UDP_RCVBUF = 8 * 1024 * 1024
#: Seconds between attempts to reopen a stream link that went down.
RETRY_S = 1.0
#: :meth:`Link.recv` lingers (its ``linger``) only after a read that gave fewer chunks than
#: this: a stream slower than that many datagrams per linger time.
LINGER_BELOW = 32

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
            if int(port) > 65535:
                raise ParameterError("conn", f"port {port} in {conn!r}: must be 0..65535")
            return Endpoint(kind, host or "127.0.0.1", int(port), baud=baud)
    if conn.startswith(("/", "COM")) or os.path.exists(conn):
        device, _, b = conn.partition(",")
        return Endpoint("serial", device=device, baud=int(b) if b.isdigit() else baud)
    raise ParameterError("conn", f"not a connection string: {conn!r} "
                         "(try udpin:127.0.0.1:14550)")


def bind_exclusive(sock: socket.socket, addr: tuple[str, int], conn: str) -> None:
    """Bind ``sock`` to ``addr`` so that no other socket can share the port.

    UDP sockets get no ``SO_REUSEADDR`` (with it, any local program could bind the same port
    and take the datagrams); TCP servers get it on POSIX only (it lets a restarted server
    rebind a port in TIME_WAIT, never two servers on one port); ``SO_EXCLUSIVEADDRUSE`` is
    set where it exists (Windows).

    Raises
    ------
    InputError
        ``CONN: port in use ...`` when another socket already holds the address.
    """
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # pragma: no cover - Windows
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    elif sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as err:
        sock.close()
        if err.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise InputError(f"port in use: another program already has {addr[0]}:{addr[1]} "
                             "(choose another port or stop it)", path=conn) from None
        raise


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
    kernel_stamps
        UDP: the receive time of each datagram is the kernel's (``SO_TIMESTAMPNS``, Linux),
        not the time it was read.
    connected
        False while a TCP or serial link is down and being retried.
    identities
        UDP only: the address each system id first spoke from (with a whole valid packet).
        Its identity stays bound there: commands for that system go to that address only,
        and the same system id from another address is counted in ``spoofed`` and warned
        about (never a reason to send anything there).
    spoofed
        Datagrams that claimed a bound system id from another address, per system id.
    warnings
        What the operator should know about the link (the first few of each kind).
    """

    #: Warnings kept per kind (the counts go on).
    MAX_WARNINGS = 20

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
        self._last_read = 0  # chunks the last read gave (see ``linger``)
        self.kernel_stamps = False
        self.identities: dict[int, tuple[str, int]] = {}
        self.spoofed: Counter[int] = Counter()
        self.warnings: list[str] = []
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
                    bind_exclusive(sock, (ep.host, ep.port), self.conn)
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                    self._peer = (ep.host, ep.port)
                sock.setblocking(False)
                if SO_TIMESTAMPNS is not None and hasattr(sock, "recvmsg"):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                        self.kernel_stamps = True
                self._sock = sock
                self.connected = True
            elif ep.kind == "tcpin":
                srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                bind_exclusive(srv, (ep.host, ep.port), self.conn)
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

    def recv(self, timeout: float = 0.2, max_chunks: int = 512, also=(),
             linger: float = 0.0) -> list[Chunk]:
        """Wait up to ``timeout`` s for data; return every chunk that is ready.

        ``also`` are more objects to wait on (a :class:`Forwarder`'s sockets): the wait ends
        when any of them is readable too, so the caller can serve them without delay.

        ``linger`` (seconds) batches wake-ups on UDP links whose datagrams carry the kernel's
        receive time (:attr:`kernel_stamps`, Linux): when the last read gave fewer than
        :data:`LINGER_BELOW` chunks (a slow, steady stream), the link waits that much longer
        once data is there, so that one read takes many datagrams instead of one. Nothing is
        lost by it (the kernel buffer holds them: :attr:`rcvbuf`), receive times stay those
        of arrival, and a busy stream fills each read anyway and never lingers; data reaches
        the caller at most ``linger`` later. Other links ignore it.
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
        if kind == "tcpin" and self._sock is None:
            self._accept()
            return []
        if kind in ("udpin", "udpout"):
            if linger > 0.0 and self._last_read < LINGER_BELOW and self.kernel_stamps:
                time.sleep(linger)
            out = self._recv_udp(max_chunks)
            self._last_read = len(out)
            return out
        if kind == "serial":
            return self._recv_serial()
        return self._recv_tcp()

    def _recv_udp(self, max_chunks: int) -> list[Chunk]:
        """Every datagram that is ready (at most ``max_chunks``), each with its receive time:
        the kernel's where it gives one, else the time it is read."""
        out = []
        sock = self._sock
        stamped = self.kernel_stamps
        identities = self.identities
        for _ in range(max_chunks):
            try:
                if stamped:
                    data, anc, _, addr = sock.recvmsg(65535, 64)
                    recv_us = kernel_stamp_us(anc)
                    if recv_us is None:  # no kernel time after all: read times, no linger
                        recv_us = now_us()
                        stamped = self.kernel_stamps = False
                else:
                    data, addr = sock.recvfrom(65535)
                    recv_us = now_us()
            except BlockingIOError:
                break
            except OSError as err:  # e.g. ECONNREFUSED from an ICMP for a reply we sent
                if err.errno in (errno.ECONNREFUSED, errno.ECONNRESET):
                    continue
                raise
            out.append(Chunk(data, recv_us, addr, True))
            if self._peer is None:  # udpin: the first sender, until a system binds
                self._peer = addr
            # the usual case first: a packet of a system already bound to this address
            n = len(data)
            if n >= 10 and data[0] == 0xFD:
                if identities.get(data[5]) == addr:
                    continue
            elif n >= 8 and data[0] == 0xFE and identities.get(data[3]) == addr:
                continue
            self._check_identity(data, addr)
        return out

    def _check_identity(self, data: bytes, addr) -> None:
        """Bind a system id to the address it first spoke from; note any other address."""
        sysid = header_sysid(data)
        if sysid is None:
            return
        bound = self.identities.get(sysid)
        if bound is None:
            if packet_ok(data):
                self.identities[sysid] = addr
            return
        if bound != addr and packet_ok(data):
            self.spoofed[sysid] += 1
            if self.spoofed[sysid] == 1 or len(self.warnings) < self.MAX_WARNINGS:
                self.warnings.append(
                    f"system {sysid} spoke from {addr[0]}:{addr[1]}, but it is bound to "
                    f"{bound[0]}:{bound[1]}: ignored for routing (spoofed or restarted)")
                del self.warnings[:-self.MAX_WARNINGS]

    def _route(self, data: bytes, to) -> list:
        """UDP addresses ``data`` goes to: the bound address of its target system, else every
        bound vehicle; ``to`` (the caller's choice) only among bound addresses."""
        if not self.identities:
            return list(to) if to else ([] if self._peer is None else [self._peer])
        bound = list(dict.fromkeys(self.identities.values()))
        target = target_system(data)
        if target and target in self.identities:
            return [self.identities[target]]
        allowed = [p for p in (to or ()) if p in bound]
        return allowed or bound

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

        On ``udpin`` the bytes go to the address bound to their target system (see
        :attr:`identities`), else to those of ``to`` (sender addresses, from
        :attr:`Chunk.peer`) that are bound, else to every bound address (before any system
        spoke: ``to``, or the first sender). ``udpout`` sends to its address; other links
        ignore ``to``.
        """
        try:
            if self.endpoint.kind == "udpout":
                peers = [self._peer]
            elif self.endpoint.kind == "udpin":
                peers = self._route(data, to)
            if self.endpoint.kind in ("udpin", "udpout"):
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
