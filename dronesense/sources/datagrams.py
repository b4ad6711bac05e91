"""What one received datagram says before any decoding: the system id of its sender, whether
it is a whole valid MAVLink packet, which system it is for, and the kernel's receive time.

:class:`~dronesense.sources.link.Link` binds vehicles' identities and routes commands with
these, and stamps datagrams with the kernel's time where the system gives it.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=42, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_command_long_message(7, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0)
...             .pack(mav))
>>> header_sysid(raw), packet_ok(raw), packet_ok(raw[:-1]), target_system(raw)
(42, True, False, 7)
"""

from __future__ import annotations

import platform
import socket
import struct
import sys

__all__ = ["SO_TIMESTAMPNS", "header_sysid", "kernel_stamp_us", "packet_ok", "target_system"]

#: The socket option that stamps each datagram with the kernel's receive time (exact whenever
#: the datagram is read). Python names none: Linux's generic value (x86, Arm, RISC-V, POWER),
#: checked on use (no stamp in a datagram: the link reads without one); None elsewhere.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", None) or (
    35 if sys.platform == "linux" and platform.machine().startswith(
        ("x86_64", "i686", "aarch64", "arm", "riscv", "ppc")) else None)
_TIMESPEC = {16: struct.Struct("=qq"), 8: struct.Struct("=ii")}


def header_sysid(data: bytes | bytearray) -> int | None:
    """The system id in the header of the packet ``data`` starts with, if it starts with one.

    Examples
    --------
    >>> header_sysid(bytes([0xFD, 9, 0, 0, 7, 42, 1, 0, 0, 0])), header_sysid(b"xx")
    (42, None)
    """
    if len(data) >= 10 and data[0] == 0xFD:
        return data[5]
    if len(data) >= 8 and data[0] == 0xFE:
        return data[3]
    return None


def packet_ok(data: bytes) -> bool:
    """Whether ``data`` starts with a whole MAVLink packet of a known type and good CRC."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    n = (data[1] + 12 + (13 if data[2] & 1 else 0)) if data[0] == 0xFD else data[1] + 8
    try:
        msg = mavlink.MAVLink(None).decode(bytearray(data[:n]))
    except Exception:  # a bad CRC, a cut frame, ...: pymavlink raises several kinds
        return False
    return not msg.get_type().startswith(("UNKNOWN", "BAD_DATA"))


def target_system(data: bytes) -> int:
    """The ``target_system`` of the first packet in ``data`` (0 if none or undecodable)."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    try:
        msgs = mavlink.MAVLink(None).parse_buffer(bytearray(data)) or []
    except Exception:  # pymavlink raises several kinds on bad bytes
        return 0
    return int(getattr(msgs[0], "target_system", 0) or 0) if msgs else 0


def kernel_stamp_us(anc: list) -> int | None:
    """UNIX microseconds of a datagram's kernel receive time (``SO_TIMESTAMPNS`` ancillary
    data), ``None`` if there is none."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            fmt = _TIMESPEC.get(len(data))
            if fmt is not None:
                sec, nsec = fmt.unpack(data)
                return sec * 1_000_000 + nsec // 1000
    return None
