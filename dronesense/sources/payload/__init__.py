"""Sensor payloads: serial air-quality sensors read on the ground station's side.

Many payloads do not go through the autopilot: a particle sensor sits on its own
USB-serial adapter (behind a second radio, or on a companion computer). This package decodes
their frames and gives their readings vehicle times so that they pair with positions like
NAMED_VALUE_FLOAT readings (see ``docs/payload.md``).

=============  ========  ================  ==========================================
format         baud      frame             module
=============  ========  ================  ==========================================
``pms5003``    9600      32 bytes, 42 4D   :mod:`dronesense.sources.payload.pms5003`
``sds011``     9600      10 bytes, AA C0   :mod:`dronesense.sources.payload.sds011`
``sps30``      115200    SHDLC, 7E .. 7E   :mod:`dronesense.sources.payload.sps30`
=============  ========  ================  ==========================================

Examples
--------
>>> dec = make_decoder("pms5003")
>>> dec.baud, dec.sensor
(9600, 'pms5003')
>>> parse_payload_spec("sds011:/dev/ttyUSB1")
('sds011', '/dev/ttyUSB1', 9600)
>>> parse_payload_spec("sps30:/dev/ttyACM0:57600")
('sps30', '/dev/ttyACM0', 57600)
"""

from __future__ import annotations

from dronesense.errors import ParameterError
from dronesense.sources.payload.frames import BadFrame, Frame, FrameDecoder
from dronesense.sources.payload.pms5003 import PMS5003Decoder
from dronesense.sources.payload.sds011 import SDS011Decoder
from dronesense.sources.payload.sps30 import SPS30Decoder

__all__ = ["DECODERS", "BadFrame", "Frame", "FrameDecoder", "PMS5003Decoder",
           "SDS011Decoder", "SPS30Decoder", "make_decoder", "parse_payload_spec"]

#: format name -> decoder class
DECODERS: dict[str, type[FrameDecoder]] = {
    "pms5003": PMS5003Decoder,
    "sds011": SDS011Decoder,
    "sps30": SPS30Decoder,
}


def make_decoder(fmt: str) -> FrameDecoder:
    """A new decoder for a format name (``pms5003``, ``sds011``, ``sps30``).

    Raises
    ------
    ParameterError
        For ``fmt``, if the format is not known.
    """
    cls = DECODERS.get(fmt.lower())
    if cls is None:
        raise ParameterError("fmt", f"unknown payload format {fmt!r} "
                             f"(known: {', '.join(DECODERS)})")
    return cls()


def parse_payload_spec(spec: str) -> tuple[str, str, int]:
    """``FORMAT:DEVICE[:BAUD]`` -> (format, device, baud); baud defaults to the sensor's.

    Raises
    ------
    ParameterError
        For ``spec``, if the format is unknown, the device is missing or the baud is not a
        number.
    """
    fmt, sep, rest = spec.partition(":")
    fmt = fmt.strip().lower()
    if not sep or not rest:
        raise ParameterError("spec", f"expected FORMAT:DEVICE[:BAUD], got {spec!r}")
    cls = DECODERS.get(fmt)
    if cls is None:
        raise ParameterError("spec", f"unknown payload format {fmt!r} "
                             f"(known: {', '.join(DECODERS)})")
    device, sep, baud = rest.rpartition(":")
    if not sep or not baud.isdigit():  # no baud given (or a device name with a colon)
        return fmt, rest, cls.baud
    if not device:
        raise ParameterError("spec", f"expected FORMAT:DEVICE[:BAUD], got {spec!r}")
    return fmt, device, int(baud)
