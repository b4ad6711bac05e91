"""The link to a second ground station: it hears the vehicle's packets, and may answer.

``dronesense listen --forward`` re-sends every received packet through a :class:`Forwarder`;
what the station sends back comes out of :meth:`Forwarder.poll` for the caller to count or
relay.

Examples
--------
>>> fwd = Forwarder("udpout:127.0.0.1:9")
>>> fwd.endpoint.kind, fwd.connected
('udpout', True)
>>> fwd.close()
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import time

from dronesense.errors import InputError, ParameterError
from dronesense.sources.link import RETRY_S, Chunk, bind_exclusive, now_us, parse_connection

__all__ = ["Forwarder"]


class Forwarder:
    """The link to a second ground station: sends it the vehicle's packets, hears its own.

    ==========================  ===========================================================
    ``udpout:HOST:PORT``        send to HOST:PORT (QGroundControl listens on 14550); what
                                comes back *from that address only* is heard
    ``udpin:HOST:PORT``         bind HOST:PORT and wait: the ground station sends first,
                                packets then go to its last sending address
    ``tcp:HOST:PORT``           connect to a TCP server (reconnects every second)
    ``tcpin:HOST:PORT``         be a TCP server the ground station connects to (one at a
                                time; QGroundControl's TCP link, port 5760)
    ==========================  ===========================================================

    Neither sending nor receiving ever blocks the listener: connecting is non-blocking, and
    TCP output waits in a bounded buffer; a ground station that is gone, unreachable or too
    slow loses whole packets (counted in ``dropped``), the recording does not.

    What the ground station sends comes out of :meth:`poll` as raw :class:`Chunk` objects;
    the caller decides what to do with them (``dronesense listen`` relays them to the vehicle
    only with ``--forward-control``).

    Only one ground station is heard: ``gcs`` names it (``HOST:PORT``, or ``HOST`` for a TCP
    client whose port changes); without it, the first one (the first UDP sender on
    ``udpin``, the first TCP client's host on ``tcpin``) is locked in. A ``udpout`` station
    is the address it names. Everything from other senders is dropped, counted in
    ``foreign`` (``refused`` for TCP clients) and warned about (:attr:`warnings`). Server
    ports are bound exclusively (:func:`~dronesense.sources.link.bind_exclusive`).

    Examples
    --------
    >>> fwd = Forwarder("udpout:127.0.0.1:9")
    >>> fwd.send(b"\\xfe\\x00"), fwd.sent
    (True, 1)
    >>> fwd.poll()
    []
    >>> fwd.close()
    """

    #: Bytes of TCP output kept for a slow peer before packets are dropped.
    MAX_BUFFER = 1 << 20
    KINDS = ("udpout", "udpin", "tcp", "tcpin")

    def __init__(self, conn: str, gcs: str | None = None):
        self.conn = conn
        self.endpoint = ep = parse_connection(conn)
        if ep.kind not in self.KINDS:
            raise ParameterError("conn", "a ground-station link is udpout:HOST:PORT, "
                                 f"udpin:HOST:PORT, tcp:HOST:PORT or tcpin:HOST:PORT, got {conn!r}")
        #: the ground station heard: (host, port or None); None until the first one speaks
        self.gcs = _parse_gcs(gcs) if gcs else None
        self.gcs_named = gcs is not None
        self.warnings: list[str] = []
        self.sent = 0
        self.dropped = 0
        #: datagrams from other addresses than the ground station's (ignored, udpout only)
        self.foreign = 0
        #: TCP clients refused because one was already connected (tcpin only)
        self.refused = 0
        self.connections = 0
        self.last_rx_mono: float | None = None
        self._sock: socket.socket | None = None
        self._server: socket.socket | None = None
        self._connecting = False
        self._out = bytearray()
        self._peer = None
        self._next_try = 0.0
        try:
            info = socket.getaddrinfo(ep.host, ep.port, socket.AF_INET)
            self._addr = info[0][4][:2]
            if ep.kind in ("udpout", "udpin"):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                if ep.kind == "udpin":
                    bind_exclusive(sock, self._addr, conn)
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                    if self._addr[0].startswith("127."):  # replies from this machine only
                        sock.bind(("127.0.0.1", 0))
                    self._peer = self._addr
                    self.gcs = (self._addr[0], self._addr[1])  # the address named
                sock.setblocking(False)
                self._sock = sock
            elif ep.kind == "tcpin":
                srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                bind_exclusive(srv, self._addr, conn)
                srv.listen(1)
                srv.setblocking(False)
                self._server = srv
        except OSError as err:
            raise InputError(f"cannot open forward link: {err.strerror or err}",
                             path=conn) from None

    # -- state ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """A TCP ground station is connected, or a UDP one has a known address."""
        if self.endpoint.kind in ("tcp", "tcpin"):
            return self._sock is not None and not self._connecting
        return self._peer is not None

    def fileno_list(self) -> list:
        """Sockets to wait on (for :meth:`Link.recv`'s ``also``)."""
        out = []
        if self._sock is not None and not self._connecting:
            out.append(self._sock)
        if self._server is not None:
            out.append(self._server)
        return out

    def _close_stream(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._connecting = False
        self._out.clear()  # a partial packet must not start the next connection
        self._next_try = time.monotonic() + RETRY_S

    def _service(self) -> None:
        """Connect, accept, finish a pending connect, flush TCP output: never blocks."""
        kind = self.endpoint.kind
        if kind == "tcp" and self._sock is None and time.monotonic() >= self._next_try:
            self._next_try = time.monotonic() + RETRY_S
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            err = sock.connect_ex(self._addr)
            if err in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                self._sock, self._connecting = sock, err != 0
                if not self._connecting:
                    self.connections += 1
            else:
                sock.close()
        if self._connecting:
            try:
                _, w, _ = select.select([], [self._sock], [], 0)
            except (OSError, ValueError):
                w = []
                self._close_stream()
            if w:
                if self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self._close_stream()
                else:
                    self._connecting = False
                    self.connections += 1
        if self._server is not None:
            while True:
                try:
                    client, addr = self._server.accept()
                except OSError:
                    break
                if self._sock is not None:  # one ground station at a time
                    self.refused += 1
                    client.close()
                    continue
                if not self._admit(addr, tcp=True):
                    self.refused += 1
                    client.close()
                    continue
                client.setblocking(False)
                with contextlib.suppress(OSError):
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sock = client
                self.connections += 1
        self._flush()

    def _flush(self) -> None:
        if self._out and self._sock is not None and not self._connecting:
            try:
                n = self._sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._close_stream()
                return
            del self._out[:n]

    # -- to the ground station --------------------------------------------------------------
    def send(self, data: bytes) -> bool:
        """Send one packet (or several concatenated); False if it was dropped."""
        kind = self.endpoint.kind
        if kind in ("udpout", "udpin"):
            if self._peer is None or self._sock is None:
                self.dropped += 1
                return False
            try:
                self._sock.sendto(data, self._peer)
            except OSError:  # unreachable, buffer full, ...: lose it, never wait
                self.dropped += 1
                return False
            self.sent += 1
            return True
        if self._sock is None or self._connecting:
            self._service()
        if self._sock is None or self._connecting or \
                len(self._out) + len(data) > self.MAX_BUFFER:
            self.dropped += 1
            return False
        self._out += data
        self._flush()
        self.sent += 1
        return True

    # -- from the ground station ------------------------------------------------------------
    def poll(self, max_chunks: int = 256) -> list[Chunk]:
        """What the ground station sent since the last call (never waits)."""
        kind = self.endpoint.kind
        out: list[Chunk] = []
        if kind in ("tcp", "tcpin"):
            self._service()
            sock = self._sock
            if sock is None or self._connecting:
                return out
            for _ in range(max_chunks):
                try:
                    data = sock.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    data = b""
                if not data:  # the ground station went away
                    self._close_stream()
                    break
                out.append(Chunk(data, now_us(), ("gcs", self.connections), False))
        elif self._sock is not None:
            for _ in range(max_chunks):
                try:
                    data, addr = self._sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as err:  # ICMP errors for datagrams we sent: not data
                    if err.errno in (errno.ECONNREFUSED, errno.ECONNRESET,
                                     errno.EHOSTUNREACH, errno.ENETUNREACH):
                        continue
                    break
                if kind == "udpout" and addr[:2] != tuple(self._addr):
                    self.foreign += 1
                    continue
                if kind == "udpin" and not self._admit(addr[:2], tcp=False):
                    self.foreign += 1
                    continue
                self._peer = addr
                out.append(Chunk(data, now_us(), ("gcs", addr), True))
        if out:
            self.last_rx_mono = time.monotonic()
        return out

    def _admit(self, addr, tcp: bool) -> bool:
        """Whether ``addr`` is the ground station (locking in the first one if none named)."""
        host, port = addr[0], addr[1]
        if self.gcs is None:
            self.gcs = (host, None if tcp else port)
            return True
        ghost, gport = self.gcs
        if host == ghost and (gport is None or tcp or port == gport):
            return True
        if len(self.warnings) < 20:
            self.warnings.append(
                f"forward: ignored {'a connection' if tcp else 'packets'} from {host}:{port}; "
                f"the ground station is {ghost}" + (f":{gport}" if gport is not None else ""))
        return False

    def close(self) -> None:
        """Close the sockets."""
        for s in (self._sock, self._server):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        self._sock = self._server = None


def _parse_gcs(text: str) -> tuple[str, int | None]:
    """``HOST:PORT`` or ``HOST`` -> (IPv4 address, port or None).

    Examples
    --------
    >>> _parse_gcs("127.0.0.1:14551"), _parse_gcs("localhost")
    (('127.0.0.1', 14551), ('127.0.0.1', None))
    """
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, ""
    if port and (not port.isdigit() or not 0 < int(port) <= 65535):
        raise ParameterError("gcs", f"expected HOST:PORT or HOST, got {text!r}")
    try:
        addr = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
    except (OSError, UnicodeError):
        raise ParameterError("gcs", f"cannot resolve {host!r}") from None
    return addr, int(port) if port else None
