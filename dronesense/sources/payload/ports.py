"""Which serial payloads to read: their format, device, baud and wire-name prefix.

A live capture reads each serial sensor on its own port (:class:`PayloadPort`).
:func:`plan_ports` turns what the user asked for (``FORMAT:DEVICE[:BAUD]`` texts, prefixes)
into ports with unique prefixes; :func:`receive_rate` reads the receive clock's rate setting
and :func:`check_port` tells early whether a port can be opened at all.

Examples
--------
>>> ports = plan_ports(["pms5003:/dev/a", "pms5003:/dev/b:9600"])
>>> [(p.fmt, p.device, p.baud, p.prefix) for p in ports]
[('pms5003', '/dev/a', 9600, 'pms5003'), ('pms5003', '/dev/b', 9600, 'pms5003_2')]
>>> plan_ports(["sds011:/dev/a"], payload_prefixes=[""])[0].prefix
''
>>> receive_rate("auto"), receive_rate(1)
(None, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from dronesense.errors import InputError, ParameterError
from dronesense.sources.payload import DECODERS, parse_payload_spec

__all__ = ["PayloadPort", "check_port", "plan_ports", "receive_rate"]


@dataclass(frozen=True, slots=True)
class PayloadPort:
    """One serial sensor on its own port.

    Attributes
    ----------
    fmt
        ``pms5003``, ``sds011`` or ``sps30``.
    device
        Serial device path.
    baud
        Line speed; ``None`` for the sensor's own (9600, 9600, 115200).
    prefix
        Wire-name prefix of its readings (``pms5003`` gives ``pms5003.PM2.5``); ``""`` for
        plain names; ``None`` to let :func:`plan_ports` choose (the format, numbered when
        a format repeats).
    spec
        How the user named it (``pms5003:/dev/ttyUSB1``); it labels the payload in
        ``payload.csv``, ``session.json`` and the operator view. Default ``FORMAT:DEVICE``.
    """

    fmt: str
    device: str
    baud: int | None = None
    prefix: str | None = None
    spec: str = ""

    @property
    def source(self) -> str:
        """The label of this payload's readings (:attr:`spec`, or ``FORMAT:DEVICE``)."""
        return self.spec or f"{self.fmt}:{self.device}"

    @property
    def wire_prefix(self) -> str:
        """The prefix of the file names and readings of this payload (its format when it has
        no prefix)."""
        return self.prefix or self.fmt


def plan_ports(payloads: Iterable[str | PayloadPort],
               payload_prefixes: Sequence[str] | None = None) -> list[PayloadPort]:
    """Ports with their baud and a unique prefix each.

    Parameters
    ----------
    payloads
        ``FORMAT:DEVICE[:BAUD]`` texts or :class:`PayloadPort` objects.
    payload_prefixes
        Prefix of the i-th payload's readings (overrides the port's own); payloads beyond
        them get their port's prefix or their format, numbered when it repeats
        (``pms5003``, ``pms5003_2``).

    Raises
    ------
    ParameterError
        For ``payloads`` (a text that is no payload) or ``payload_prefixes`` (more prefixes
        than payloads, a prefix with a dot, comma or space, two payloads with one prefix).
    """
    ports = []
    for item in payloads:
        if isinstance(item, PayloadPort):
            fmt = item.fmt.strip().lower()
            if fmt not in DECODERS:
                raise ParameterError("payloads", f"unknown payload format {item.fmt!r} "
                                     f"(known: {', '.join(DECODERS)})")
            ports.append(replace(item, fmt=fmt, baud=item.baud or DECODERS[fmt].baud))
            continue
        try:
            fmt, device, baud = parse_payload_spec(str(item))
        except ParameterError as err:
            raise ParameterError("payloads", err.detail) from None
        ports.append(PayloadPort(fmt, device, baud, None, str(item)))
    prefixes = list(payload_prefixes or [])
    if len(prefixes) > len(ports):
        raise ParameterError("payload_prefixes",
                             f"{len(prefixes)} prefixes for {len(ports)} payloads")
    seen: dict[str, int] = {}
    out = []
    for k, port in enumerate(ports):
        prefix = prefixes[k].strip() if k < len(prefixes) else port.prefix
        if prefix is None:
            seen[port.fmt] = seen.get(port.fmt, 0) + 1
            n = seen[port.fmt]
            prefix = port.fmt if n == 1 else f"{port.fmt}_{n}"
        elif any(c in prefix for c in ". ,"):
            raise ParameterError("payload_prefixes", f"{prefix!r}: no dots, commas or spaces")
        out.append(replace(port, prefix=prefix))
    used = [p.prefix for p in out if p.prefix]
    if len(set(used)) != len(used):
        raise ParameterError("payload_prefixes", "two payloads with the same prefix")
    return out


def receive_rate(payload_rate: float | str) -> float | None:
    """The receive clock's rate setting: vehicle clock seconds per ground second, a positive
    number, or ``"auto"`` (returned as ``None``: estimate it).

    Raises
    ------
    ParameterError
        For ``payload_rate``, if it is neither.
    """
    if isinstance(payload_rate, str) and payload_rate.strip().lower() == "auto":
        return None
    try:
        rate = float(payload_rate)
    except (TypeError, ValueError):
        rate = -1.0
    if not rate > 0 or rate == float("inf"):
        raise ParameterError("payload_rate",
                             f"expected a positive number or 'auto', got {payload_rate!r}")
    return rate


def check_port(device: str, baud: int) -> None:
    """Fail early if a serial port cannot be opened (it is closed again at once).

    Raises
    ------
    InputError
        Naming the device, with the system's reason.
    """
    import serial

    try:
        serial.Serial(device, baud, timeout=0).close()
    except (serial.SerialException, OSError, ValueError) as err:
        raise InputError(f"cannot open serial payload port ({err})", path=device) from None
