"""Connection strings compared as addresses: is a second ground station's link the vehicle
link itself? (``listen --forward`` on the vehicle's own port is refused.)"""

from __future__ import annotations

__all__ = ["same_endpoint"]


_NETWORK = ("udpin", "udpout", "udp", "udpbcast", "tcp", "tcpin")
_ANY = ("", "0.0.0.0", "localhost", "::", "::1")


def _endpoint(conn: str) -> tuple[str, int] | None:
    """``(host, port)`` of a network connection string (``None`` for a serial device)."""
    scheme, _, rest = conn.partition(":")
    host, _, port = rest.rpartition(":")
    if scheme.lower() not in _NETWORK or not port.isdigit():
        return None
    host = host.strip("[]").lower()
    return ("127.0.0.1" if host in _ANY else host), int(port)


def same_endpoint(conn: str, forward: str) -> bool:
    """Whether ``forward`` names the address of the vehicle link ``conn`` (same port, and the
    same host, any local address counting as 127.0.0.1).

    Examples
    --------
    >>> same_endpoint("udpin:0.0.0.0:14550", "udpout:localhost:14550")
    True
    >>> same_endpoint("udpin:127.0.0.1:14550", "udpout:127.0.0.1:14551")
    False
    """
    a, b = _endpoint(conn), _endpoint(forward)
    return a is not None and b is not None and a[1] != 0 and a == b
