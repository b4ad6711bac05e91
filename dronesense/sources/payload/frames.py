"""Incremental decoding of serial sensor frames: feed bytes, get frames, report bad input.

Every serial air-quality sensor dronesense reads (:mod:`~dronesense.sources.payload.pms5003`,
:mod:`~dronesense.sources.payload.sds011`, :mod:`~dronesense.sources.payload.sps30`) sends fixed
frames that start with a sync byte and end with a checksum. :class:`FrameDecoder` holds what
the formats
share: a byte buffer that survives frame boundaries falling anywhere between two reads, the
search for the next sync byte, and the bookkeeping of bad input. A sensor module only says
how to judge a frame that starts at a sync byte (:meth:`FrameDecoder._try`).

Resynchronisation: a candidate frame that fails (bad checksum, bad length, unknown command,
bad end byte) is reported and the search goes on **one byte after its first byte**, never
after its claimed end, so a valid frame that begins inside a damaged one (a cut-off frame
followed by a whole one) is still found. Bytes outside any frame are counted and reported as
``garbage`` runs; every report carries the stream offset of its first byte (bytes since the
decoder was created), so it can be found in a raw recording of the line.

Examples
--------
>>> from dronesense.sources.payload.sds011 import SDS011Decoder
>>> dec = SDS011Decoder()
>>> good = bytes.fromhex("aac0d4043a0aa1601dab")   # PM2.5 123.6, PM10 261.8
>>> frames = dec.feed(b"\\x00\\x01" + good[:4])       # garbage, then half a frame
>>> frames, dec.pending
([], 4)
>>> f, = dec.feed(good[4:])
>>> f.offset, f.values
(2, {'PM2.5': 123.6, 'PM10': 261.8})
>>> dec.problems
[BadFrame(offset=0, length=2, reason='garbage')]
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

__all__ = ["BadFrame", "Frame", "FrameDecoder", "Reject", "Stamped"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One good frame.

    Attributes
    ----------
    offset
        Stream offset of its first byte.
    length
        Its length on the wire, bytes (with escapes, for SHDLC).
    kind
        ``"data"`` for a measurement; other kinds (command replies, empty reads) carry no
        values.
    values
        Wire name -> value in the sensor's units (``PM2.5`` in µg/m³, ...).
    info
        Other fields of the frame (device id, command, ...).
    """

    offset: int
    length: int
    kind: str
    values: dict[str, float] = field(default_factory=dict)
    info: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stamped:
    """A decoded frame and the ground time (UNIX µs) the sensor began sending it."""

    recv_us: int
    frame: Frame


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A report of bad input: where it starts, how long it is, why it was rejected.

    ``reason`` is one of ``garbage`` (bytes outside any frame), ``bad checksum``,
    ``bad length``, ``bad end byte``, ``bad escape``, ``unknown command``,
    ``device error`` (a well-formed SHDLC reply with a non-zero state) or ``truncated``
    (a frame cut off at the end of the stream). For a rejected frame ``length`` is its
    claimed length (the bytes are searched again for a frame start, see the module docs).
    """

    offset: int
    length: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    """What :meth:`FrameDecoder._try` returns for a bad candidate.

    ``consume`` skips the whole candidate (it was well-formed, e.g. a device error reply);
    otherwise the search resumes one byte after its start.
    """

    reason: str
    length: int
    consume: bool = False


class FrameDecoder:
    """Base of the incremental frame decoders.

    Subclasses set :attr:`sensor`, :attr:`baud`, :attr:`sync` and :attr:`max_frame` and
    implement :meth:`_try`.

    Parameters
    ----------
    keep_problems
        How many :class:`BadFrame` reports :attr:`problems` keeps (the oldest are dropped;
        :attr:`bad` keeps counting).

    Attributes
    ----------
    frames
        Good frames decoded, by kind.
    bad
        :class:`BadFrame` reports made, by reason.
    skipped
        Bytes that were in no good frame.
    """

    sensor = ""
    #: nominal line speed of the sensor, baud
    baud = 9600
    #: first byte of every frame
    sync = 0x00
    #: longest frame on the wire, bytes
    max_frame = 0
    #: seconds between frames when the sensor runs on its own
    period_s = 1.0

    def __init__(self, keep_problems: int = 1000):
        self._buf = bytearray()
        self._base = 0  # stream offset of self._buf[0]
        self._reported_until = 0  # stream offset up to which bytes are in a report
        self._garbage: list[int] | None = None  # [offset, length] of the open garbage run
        self._problems: deque[BadFrame] = deque(maxlen=keep_problems)
        self.frames: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()
        self.skipped = 0

    # -- public API -------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """Bytes fed so far."""
        return self._base + len(self._buf)

    @property
    def pending(self) -> int:
        """Bytes buffered: the start of a frame that is not complete yet."""
        return len(self._buf)

    @property
    def problems(self) -> list[BadFrame]:
        """The latest reports of bad input, oldest first."""
        return list(self._problems)

    def feed(self, data: bytes, final: bool = False) -> list[Frame]:
        """Decode what ``data`` completes; keep an incomplete frame for the next call.

        Parameters
        ----------
        data
            The bytes read, in stream order.
        final
            The stream ends here: a frame still incomplete is reported as ``truncated``.

        Returns
        -------
        list of Frame
            Good frames completed by these bytes, in stream order.
        """
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0
        n = len(buf)
        sync = self.sync
        while pos < n:
            start = buf.find(sync, pos)
            if start < 0:
                self._skip(pos, n - pos)
                pos = n
                break
            if start > pos:
                self._skip(pos, start - pos)
                pos = start
            res = self._try(buf, pos)
            if res is None:  # need more bytes
                break
            if isinstance(res, Frame):
                self._close_garbage()
                frame = Frame(self._base + pos, res.length, res.kind, res.values, res.info)
                out.append(frame)
                self.frames[frame.kind] += 1
                pos += res.length
            elif res.reason:
                self._report(self._base + pos, res.length, res.reason)
                step = res.length if res.consume else 1
                self.skipped += step
                pos += step
            else:  # a sync byte that starts nothing
                self._skip(pos, 1)
                pos += 1
        if final and pos < n:
            self._close_garbage()
            self._report(self._base + pos, n - pos, "truncated")
            self.skipped += n - pos
            pos = n
        if final:
            self._close_garbage()
        del buf[:pos]
        self._base += pos
        return out

    def stats(self) -> dict:
        """Counts for a summary: frames by kind, bad reports by reason, skipped bytes."""
        return {"sensor": self.sensor, "bytes": self.offset, "frames": dict(self.frames),
                "bad": dict(self.bad), "skipped_bytes": self.skipped}

    # -- for subclasses ---------------------------------------------------------------------
    def _try(self, buf: bytearray, pos: int) -> Frame | Reject | None:
        """Judge the candidate frame starting at ``buf[pos]`` (a sync byte).

        Returns a :class:`Frame` (its ``offset`` is filled in by the caller), a
        :class:`Reject` (``reason`` empty: the sync byte starts nothing, count it as
        garbage), or ``None`` when more bytes are needed to decide.
        """
        raise NotImplementedError

    # -- internals --------------------------------------------------------------------------
    def _skip(self, pos: int, length: int) -> None:
        """Bytes ``buf[pos:pos+length]`` are in no frame."""
        self.skipped += length
        start = self._base + pos
        end = start + length
        start = max(start, self._reported_until)  # already inside a rejected frame
        if start >= end:
            return
        g = self._garbage
        if g is not None and g[0] + g[1] == start:
            g[1] += end - start
        else:
            self._close_garbage()
            self._garbage = [start, end - start]

    def _close_garbage(self) -> None:
        g = self._garbage
        if g is not None:
            self._garbage = None
            self._add(BadFrame(g[0], g[1], "garbage"))

    def _report(self, offset: int, length: int, reason: str) -> None:
        self._close_garbage()
        self._add(BadFrame(offset, length, reason))
        self._reported_until = max(self._reported_until, offset + length)

    def _add(self, problem: BadFrame) -> None:
        self._problems.append(problem)
        self.bad[problem.reason] += 1
