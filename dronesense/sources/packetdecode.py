"""Selective decoding of one-packet datagrams: build message objects only for what is read.

A live link brings mostly datagrams that hold exactly one MAVLink packet. The
:class:`~dronesense.sources.framing.Framer` hands such a datagram to its :class:`LiveDecoder`
checks such a packet itself (length, and the CRC with its type's ``CRC_EXTRA``, exactly the
checks of pymavlink's ``decode``) and builds a pymavlink message object only for the message
ids it is asked to decode, with the type's own constructor and field order, so the object is
the one pymavlink's ``decode`` gives (same fields, same values, same header). Every other
known type becomes a checked :class:`~dronesense.sources.framing.RawMessage` (its bytes go to
the tlog, nothing is decoded). Anything else (several packets in one datagram, garbage, a bad
CRC, an id no shipped dialect defines, a byte stream, a type with array fields) goes to the
Framer's general scan, which does the resync and counting.

Examples
--------
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=3, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1000, b"CH4", 1.9).pack(mav))
>>> dec = LiveDecoder({mavlink.MAVLINK_MSG_ID_NAMED_VALUE_FLOAT})
>>> msg = dec.datagram(raw)
>>> msg.get_type(), msg.name, msg.get_srcSystem(), msg.to_dict() == mavlink.MAVLink(
...     None).decode(bytearray(raw)).to_dict()
('NAMED_VALUE_FLOAT', 'CH4', 3, True)
>>> dec.datagram(raw[:-1] + b"x") is None      # bad CRC: left to the Framer
True
"""

from __future__ import annotations

from collections.abc import Iterable

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["LiveDecoder", "RawMessage", "mcrf4xx"]

try:  # the C CRC pymavlink itself uses when it is installed
    from fastcrc.crc16 import mcrf4xx
except ImportError:  # pragma: no cover - then every packet is decoded by pymavlink
    mcrf4xx = None


class RawMessage:
    """A checked but undecoded MAVLink packet of a known type.

    :class:`Framer` returns these instead of pymavlink messages for the types its caller
    does not read (``decode_ids``): the packet passed exactly the checks pymavlink's
    ``decode`` makes (length and CRC with the type's CRC_EXTRA; signatures are not checked
    there either), so it is accepted or rejected just the same, without building the
    message object. ``_type``, ``_msgbuf``, ``_header`` and the usual ``get_*`` methods
    work; decode the bytes with pymavlink to read the fields.
    """

    __slots__ = ("_msgbuf", "_msgid", "_type")

    def __init__(self, msgbuf: bytes, msg_type: str, msgid: int):
        self._msgbuf = msgbuf
        self._type = msg_type
        self._msgid = msgid

    @property
    def _header(self):
        b = self._msgbuf
        if b[0] == 0xFD:  # MAVLink 2
            return mavlink.MAVLink_header(self._msgid, b[2], b[3], b[1], b[4], b[5], b[6])
        return mavlink.MAVLink_header(self._msgid, 0, 0, b[1], b[2], b[3], b[4])

    def get_type(self) -> str:
        """The message type name, e.g. ``ATTITUDE``."""
        return self._type

    def get_msgbuf(self) -> bytes:
        """The packet bytes."""
        return self._msgbuf

    def get_msgId(self) -> int:
        """The message id."""
        return self._msgid

    def get_srcSystem(self) -> int:
        """The sender's system id."""
        return self._header.srcSystem

    def get_srcComponent(self) -> int:
        """The sender's component id."""
        return self._header.srcComponent

    def get_seq(self) -> int:
        """The packet sequence number."""
        return self._header.seq

    def decode(self) -> mavlink.MAVLink_message:
        """The full pymavlink message."""
        return mavlink.MAVLink(None).decode(bytearray(self._msgbuf))

    def __repr__(self) -> str:
        return f"RawMessage({self._type}, {len(self._msgbuf)} bytes)"


_Header = mavlink.MAVLink_header


def _plan(cls) -> tuple | None:
    """How to decode one message class: (class, unpack, field order, payload size,
    CRC_EXTRA byte); ``None`` for a class with array fields (left to pymavlink)."""
    if sum(cls.lengths) != len(cls.lengths):
        return None
    return (cls, cls.unpacker.unpack, tuple(cls.orders), cls.unpacker.size,
            bytes((cls.crc_extra,)))


class LiveDecoder:
    """Check one-packet datagrams and decode only the wanted message ids.

    Parameters
    ----------
    decode_ids
        Message ids to build pymavlink message objects for; every other id of the
        ``ardupilotmega`` dialect is only checked (:class:`RawMessage`).
    """

    def __init__(self, decode_ids: Iterable[int]):
        wanted = frozenset(decode_ids)
        #: msgid -> (name, CRC_EXTRA byte) of the types only checked (the Framer's too)
        self.light: dict[int, tuple[str, bytes]] = {}
        #: msgid -> decoding plan of the wanted types
        self._full: dict[int, tuple] = {}
        for msgid, cls in mavlink.mavlink_map.items():
            if msgid not in wanted:
                self.light[msgid] = (cls.msgname, bytes((cls.crc_extra,)))
                continue
            plan = _plan(cls)
            if plan is not None:
                self._full[msgid] = plan
        self.enabled = mcrf4xx is not None

    def datagram(self, data: bytes):
        """The message of a datagram that is exactly one good packet of a known type, else
        ``None`` (then the :class:`~dronesense.sources.framing.Framer` must see it)."""
        n = len(data)
        if n < 8 or not self.enabled or mavlink.MAVLINK_IGNORE_CRC:
            return None
        magic = data[0]
        if magic == 0xFD:
            if n < 12:
                return None
            flags = data[2]
            if flags & ~1:
                return None
            end = n - (15 if flags else 2)
            if data[1] + 10 != end:
                return None
            msgid = data[7] | data[8] << 8 | data[9] << 16
            start = 10
        elif magic == 0xFE:
            end = n - 2
            if data[1] + 6 != end:
                return None
            msgid = data[5]
            start = 6
        else:
            return None
        light = self.light.get(msgid)
        if light is not None:
            if mcrf4xx(data[1:end] + light[1]) != data[end] | data[end + 1] << 8:
                return None
            return RawMessage(data, light[0], msgid)
        plan = self._full.get(msgid)
        if plan is None:
            return None
        crc = data[end] | data[end + 1] << 8
        if mcrf4xx(data[1:end] + plan[4]) != crc:
            return None
        payload = data[start:end]
        size = plan[3]
        if len(payload) < size:  # MAVLink 2 trims trailing zeros
            payload += bytes(size - len(payload))
        elif len(payload) > size:
            payload = payload[:size]
        fields = plan[1](payload)
        args = [fields[i] for i in plan[2]]
        for i, value in enumerate(args):
            if type(value) is bytes:
                args[i] = value.rstrip(b"\x00")
        msg = plan[0](*args)
        msg._signed = False  # as pymavlink's decode without a key
        msg._msgbuf = data
        msg._payload = data[6:end]
        msg._crc = crc
        if magic == 0xFD:
            msg._header = _Header(msgid, flags, data[3], data[1], data[4], data[5], data[6])
        else:
            msg._header = _Header(msgid, 0, 0, data[1], data[2], data[3], data[4])
        return msg
