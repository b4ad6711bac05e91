"""Recording a session: raw tlog, rejected bytes, samples journal and ``session.json``.

A session directory holds

``flight.tlog``
    every MAVLink packet received, byte for byte, each preceded by its 8-byte big-endian UNIX
    microsecond receive time (the standard tlog layout);
``rejected.bin``
    the received bytes that were not MAVLink packets (garbage, frames failing their CRC, cut
    off frames), as records of 8-byte big-endian UNIX µs + 4-byte big-endian length + bytes.
    Together with ``flight.tlog`` it holds every byte that arrived. Created on first use;
``samples.csv``
    the samples journal (:mod:`dronesense.samples.dataset`);
``session.json``
    what was recorded: times, vehicles, counts, loss, versions, command line;
``payload.csv``
    with serial payloads only: every serial reading as it was pushed to the pairing engine,
    with the number of MAVLink packets processed before it
    (:mod:`dronesense.sources.payload.journal`), so that replay interleaves them exactly as live.

:class:`Recorder` is the live path (raw chunks in, files out).

Crash ordering: the packets of a chunk go to ``flight.tlog`` before anything is made of them;
sample rows are held by the recorder and written to the journal only right after the tlog is
flushed (every :data:`FLUSH_INTERVAL_S`, or :data:`JOURNAL_BATCH` rows), and
``sampling_events.csv``, which writes each event as it is placed, is preceded by a flush of
the tlog whenever a message could place one. So neither journal ever holds a line whose
packets are not in the tlog. After a crash (even ``kill -9``) the replay of the tlog gives
the journal's rows first; at most :data:`FLUSH_INTERVAL_S` of data is lost from the end.

Speed: one-packet datagrams (what vehicles send) are checked and selectively decoded by
:class:`~dronesense.sources.framing.Framer` (its
:class:`~dronesense.sources.packetdecode.LiveDecoder`): only the types the pairing, the sampling
events and the view read become message objects; the others are CRC-checked and recorded.

Signing: with a ``verify`` function (a MAVLink 2 signature check returning a
:class:`~dronesense.sources.framing.Packet` ``signing`` verdict for a packet's bytes), only
packets whose verdict is ``None`` (no key) or ``"valid"`` are paired and forwarded; every
packet still goes to ``flight.tlog``, and the others are counted by verdict
(``signing`` in ``session.json``). :func:`replay` runs a recorded
tlog through the very same :class:`~dronesense.flight.pipeline.Pipeline`, so it gives exactly
the journal's rows.

Examples
--------
>>> import tempfile
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> from dronesense.sources.link import Chunk
>>> from dronesense.flight.pipeline import replay
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> raw = bytes(mavlink.MAVLink_named_value_float_message(1000, b"CH4", 1.9).pack(mav))
>>> out = tempfile.mkdtemp()
>>> rec = Recorder(out)
>>> rec.feed(Chunk(raw + b"zz", 1_714_557_600_000_000, ("127.0.0.1", 5000), True))
>>> summary = rec.close()
>>> summary["packets"], summary["bad_bytes"], summary["samples"]["total"]
(1, 2, 1)
>>> [r.flag for r in replay(out)]     # no position ever came: flagged, still recorded
[2]
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError
from dronesense.flight.pairing import Pairer
from dronesense.flight.pipeline import Pipeline
from dronesense.flight.rows import SampleRow
from dronesense.live.motion import Motion
from dronesense.live.stats import LinkStats, UplinkStats
from dronesense.live.summary import forward_summary, payload_summary, session_summary
from dronesense.quantities import NameTable
from dronesense.samples.journal import JournalWriter
from dronesense.sources.framing import Framer, RawMessage
from dronesense.sources.link import Chunk
from dronesense.sources.messages import MessageAdapter
from dronesense.sources.payload.journal import ReadingJournal
from dronesense.sources.sampling_events import MESSAGE_TYPES, SamplingJournal
from dronesense.sources.session_folder import SessionFolder

__all__ = ["FLUSH_INTERVAL_S", "JOURNAL_BATCH", "Recorder"]

#: Files are flushed at least this often (seconds): a crash loses at most this much.
FLUSH_INTERVAL_S = 0.5
#: Sample rows held at most before the files are flushed (tlog first) and they are written.
JOURNAL_BATCH = 4096
_REJECT_HEADER = struct.Struct(">QI")
_TS = struct.Struct(">Q")
_ID_OF = {cls.msgname: msgid for msgid, cls in mavlink.mavlink_map.items()}
_SAMPLING = frozenset(MESSAGE_TYPES)  # what the sampling-events journal reads
# what the recorder itself does with a message type, besides recording and pairing it
_VALUE, _MOTION, _EVENTS = 1, 2, 4
_ACTIONS: dict[str, int] = dict.fromkeys(_SAMPLING, _EVENTS)
for _t in ("NAMED_VALUE_FLOAT", "NAMED_VALUE_INT"):
    _ACTIONS[_t] = _ACTIONS.get(_t, 0) | _VALUE
for _t in ("GLOBAL_POSITION_INT", "EXTENDED_SYS_STATE"):
    _ACTIONS[_t] = _ACTIONS.get(_t, 0) | _MOTION
#: sampling-event types that place no event when pushed (they only note a pending one), but
#: a GLOBAL_POSITION_INT while events are pending: before any other, the tlog is flushed
_QUIET = _SAMPLING - {"CAMERA_FEEDBACK"}


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Recorder:
    """Live recording into a session directory.

    Feed it raw :class:`~dronesense.sources.link.Chunk` objects; it frames them, writes the tlog and
    rejected bytes, pairs, appends the journal, forwards good packets and keeps statistics.
    Call :meth:`maybe_flush` often (cheap) and :meth:`close` at the end.

    Parameters
    ----------
    out_dir
        Session directory (created; existing session files are refused).
    names, max_gap_s, lags
        Pairing settings.
    forward
        An object with ``send(bytes)`` (a :class:`~dronesense.sources.link.Forwarder`) or None.
        What it hears back goes to :meth:`feed_uplink`.
    control
        The vehicle link (an object with ``send(bytes, to)``, a
        :class:`~dronesense.sources.link.Link`) when the forwarded ground station may command the
        vehicle (``--forward-control``); None (default) makes it a monitor: what it sends is
        counted and dropped.
    meta
        Extra fields for ``session.json`` (command line, connection, ...).
    clock
        Receive clock for serial payloads (see :class:`~dronesense.flight.pipeline.Pipeline`);
        readings come in through :meth:`feed_readings`.
    sensors
        Serial sensor prefixes whose ``SENSOR.NAME`` readings the name table should know
        (kept in ``session.json`` as ``payload_sensors`` for replay).
    on_rows
        Called with every list of sample rows as soon as they are paired (the
        :class:`~dronesense.live.listener.Listener` hands them to its caller this way); they
        reach ``samples.csv`` at the next flush, after ``flight.tlog``.
    verify
        ``verify(raw) -> verdict``: the signing verdict of a packet (``None``, ``"valid"``,
        ``"unsigned"``, ``"invalid"``, ``"replayed"``); None (default) means no key is set.
    """

    def __init__(self, out_dir: str | Path, *, names: NameTable | None = None,
                 max_gap_s: float = 1.0, lags: dict[str, float] | None = None,
                 forward=None, meta: dict | None = None, clock=None,
                 sensors: Iterable[str] = (), control=None,
                 on_rows: Callable[[list[SampleRow]], None] | None = None,
                 verify: Callable[[bytes], str | None] | None = None):
        self.dir = Path(out_dir)
        self.folder = SessionFolder(self.dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError("exists and is not a folder; choose a session folder",
                             path=self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)  # flights/<session>, parents made
        except OSError as err:  # /proc, no permission, a file on the way
            raise InputError(f"cannot create the session folder: {err.strerror or err}",
                             path=self.dir) from None
        if self.folder.tlog.exists():
            raise InputError("already holds a session (flight.tlog exists); choose a new "
                             "directory", path=self.dir)
        self.meta = dict(meta or {})
        self.meta.setdefault("max_gap_s", max_gap_s)
        self.meta.setdefault("lags_s", lags or {})
        sensors = list(dict.fromkeys(sensors))
        if sensors:
            self.meta.setdefault("payload_sensors", sensors)
        self.start_utc = _utc_now()
        self.end_utc: str | None = None
        self.stats = LinkStats()
        self.pipeline = Pipeline(names, max_gap_s, lags, clock=clock, sensors=sensors)
        self.clock = clock
        #: serial payloads for the summary and the view: source -> {"payload", "readings",
        #: "prefix", "error"} (see :meth:`add_payload`)
        self.payloads: dict[str, dict] = {}
        self._payload_journal: ReadingJournal | None = None
        self.forward = forward
        self.control = control
        self.uplink = None if forward is None else UplinkStats(control is not None)
        self._uplink_framers: dict[object, Framer] = {}
        #: packets written to flight.tlog, both directions (payload.csv counts in these)
        self.tlog_packets = 0
        #: rows are held until the files are flushed, tlog first (:meth:`maybe_flush`)
        self.journal = JournalWriter(self.folder.samples, hold=True)
        self._tlog = open(self.folder.tlog, "wb", buffering=1 << 20)
        self._rejected = None
        self._framers: dict[object, Framer] = {}
        # message ids the pairing reads: only these are decoded, the rest only CRC-checked
        self._decode_ids = frozenset(_ID_OF[t] for t in (*MessageAdapter.TYPES, *_SAMPLING))
        self.sampling = SamplingJournal(self.folder.sampling_events)
        self._last_flush = time.monotonic()
        self.flags: Counter[int] = Counter()
        self.on_rows = on_rows
        self.verify = verify
        #: what tells a landed vehicle (:class:`~dronesense.live.motion.Motion`)
        self.motion = Motion()
        self.latest: dict[tuple[int, str], tuple[float, str, str]] = {}
        self.write_summary()

    @property
    def pairer(self) -> Pairer:
        """The pairing engine (flight states per vehicle live here)."""
        return self.pipeline.pairer

    def feed(self, chunk: Chunk) -> None:
        """Record and process one chunk of received bytes."""
        framer = self._framers.get(chunk.peer)
        if framer is None:
            framer = self._framers[chunk.peer] = Framer(decode_ids=self._decode_ids)
        res = framer.feed(chunk.data, final=chunk.datagram)
        if res.bad:
            self._reject(chunk.recv_us, bytes(res.bad))
            self.stats.crc_errors += res.crc_errors
            self.stats.unknown_ids += res.unknown_ids
        msgs = res.messages
        if not msgs:
            return
        stamp = _TS.pack(chunk.recv_us)
        if len(msgs) == 1:  # the usual case: one good packet in one datagram
            raw = msgs[0]._msgbuf
            raws: list | tuple = (raw if type(raw) is bytes else bytes(raw),)
            record = stamp + raws[0]
        else:
            raws = [bytes(m._msgbuf) for m in msgs]
            record = b"".join([stamp + r for r in raws])
        # the raw record first: whatever is made of these packets is written after them
        self._tlog.write(record)
        self.tlog_packets += len(msgs)
        recv_us = chunk.recv_us
        stats_packet = self.stats.packet
        process = self.pipeline.push_message
        verify = self.verify
        rows = None
        sent = None if verify is None else []
        for msg, raw in zip(msgs, raws, strict=True):
            t = msg._type
            stats_packet(msg, raw)
            if verify is not None:
                verdict = verify(raw)
                if verdict is not None and verdict != "valid":
                    self.stats.signing[verdict] += 1
                    continue  # in the raw record only: never paired nor forwarded
                self.stats.signing[verdict or "none"] += 1
                sent.append(raw)
            act = _ACTIONS.get(t)
            if act:
                if act & _VALUE:
                    self._note_value(msg)
                if act & _MOTION:
                    self.motion.note(msg, raw)
                if act & _EVENTS:
                    self._sample(msg, t, recv_us)
            if type(msg) is not RawMessage:
                got = process(msg, recv_us)
                if got:
                    rows = got if rows is None else rows + got
        if self.forward is not None:
            if sent is None:
                self.forward.send(raws[0] if len(raws) == 1 else b"".join(raws))
            elif sent:
                self.forward.send(b"".join(sent))
        self.stats.mark(len(msgs))
        if rows:
            self._write_rows(rows)

    def _sample(self, msg, t: str, recv_us: int) -> None:
        """Push a message into the sampling-events journal, which writes (and flushes) each
        event as it is placed: the tlog is flushed first whenever the message could place
        one, so that the events never get ahead of the packets they come from."""
        sampling = self.sampling
        if t not in _QUIET or (t == "GLOBAL_POSITION_INT" and sampling.stream.pending):
            self._tlog.flush()
        sampling.push(msg, recv_us / 1e6)

    def feed_uplink(self, chunk: Chunk) -> None:
        """Bytes the forwarded ground station sent: relay them to the vehicle, or drop them.

        Only whole valid MAVLink packets are relayed, byte for byte, and only with a
        ``control`` link, which routes them (a :class:`~dronesense.sources.link.Link` sends
        a command to the address its target system is bound to); each relayed packet is
        written to the tlog and run through the pairing engine exactly like a received one
        (a ground station's own messages give no samples), so that replay sees the same
        sequence. Everything else is counted.
        """
        up = self.uplink
        if up is None:
            up = self.uplink = UplinkStats(self.control is not None)
        framer = self._uplink_framers.get(chunk.peer)
        if framer is None:
            framer = self._uplink_framers[chunk.peer] = Framer()
        res = framer.feed(chunk.data, final=chunk.datagram)
        if res.bad:
            up.bad_bytes += len(res.bad)
            up.crc_errors += res.crc_errors
        rows: list[SampleRow] = []
        for msg in res.messages:
            up.packets += 1
            up.by_type[msg._type] += 1
            if self.control is None:
                up.not_relayed += 1
                continue
            raw = msg._msgbuf
            if type(raw) is not bytes:
                raw = bytes(raw)
            if not self.control.send(raw):
                up.undeliverable += 1
                continue
            up.relayed += 1
            up.relayed_bytes += len(raw)
            self._tlog.write(_TS.pack(chunk.recv_us) + raw)
            self.tlog_packets += 1
            if msg._type in _SAMPLING:
                self._sample(msg, msg._type, chunk.recv_us)
            rows.extend(self.pipeline.push_message(msg, chunk.recv_us))
        if rows:
            self._write_rows(rows)

    def add_payload(self, source: str, payload, readings, prefix: str | None = None) -> None:
        """Register a serial payload (a ``SerialPayload`` and its ``PayloadReadings``) so that
        its state appears in ``session.json`` and the operator view."""
        self.payloads[source] = {"payload": payload, "readings": readings, "prefix": prefix,
                                 "errors": 0, "last_error": None}

    def payload_error(self, source: str, err: BaseException) -> None:
        """Note an error while reading a payload (the listener carries on)."""
        entry = self.payloads.setdefault(source, {"payload": None, "readings": None,
                                                  "prefix": None, "errors": 0,
                                                  "last_error": None})
        entry["errors"] += 1
        entry["last_error"] = f"{type(err).__name__}: {err}"

    def feed_readings(self, items: Iterable, source: str = "") -> None:
        """Pair serial readings: ``(Reading, recv_us)`` pairs already in vehicle time.

        Each is written to ``payload.csv`` with the number of MAVLink packets processed so
        far (so that :func:`replay` interleaves it exactly there), then pushed into the same
        pairing engine as the MAVLink readings; completed rows go to the samples journal.
        """
        rows: list[SampleRow] = []
        push = self.pipeline.push_event
        for reading, recv_us in items:
            j = self._payload_journal
            if j is None:
                j = self._payload_journal = ReadingJournal(self.folder.payload)
            j.write(self.tlog_packets, reading, recv_us, source)
            self.latest[(reading.sysid, reading.name)] = self._payload_value(reading)
            got = push(reading, recv_us)
            if got:
                rows.extend(got)
        if rows:
            self._write_rows(rows)

    def _payload_value(self, reading) -> tuple[float, str, str]:
        _, scale, units = self.pairer.lookup(reading.name)
        return reading.value * scale, units, reading.name

    def on_ground(self, sysid: int) -> bool:
        """Whether a vehicle is on the ground now: disarmed, or its EXTENDED_SYS_STATE says
        ON_GROUND, or it is below 0.5 m above home and not moving (< 0.3 m/s)."""
        return self.motion.on_ground(sysid, self.pairer.states)

    def landed(self) -> bool:
        """Whether some vehicle has flown and every vehicle that has flown is on the ground
        (:meth:`on_ground`): what ``--until-landed`` waits for. A lost disarmed HEARTBEAT
        no longer keeps it waiting when EXTENDED_SYS_STATE or the position says landed."""
        return self.motion.landed(self.pairer.states)

    def _note_value(self, msg) -> None:
        key, scale, units = self.pairer.lookup(msg.name)
        self.latest[(msg._header.srcSystem, key)] = (msg.value * scale, units, msg.name)

    def _write_rows(self, rows: Iterable[SampleRow]) -> None:
        """Append rows to the journal (held there until the next flush, which hands the tlog
        to the OS first), count their flags and hand them to ``on_rows``."""
        rows = list(rows)
        if not rows:
            return
        self.journal.write(rows)
        flags = self.flags
        for r in rows:
            flags[r.flag] += 1
        if self.on_rows is not None:
            self.on_rows(rows)
        if self.journal.held >= JOURNAL_BATCH:
            self._flush_ordered()

    def _reject(self, recv_us: int, data: bytes) -> None:
        self.stats.bad_bytes += len(data)
        if self._rejected is None:
            self._rejected = open(self.folder.rejected, "ab")
        self._rejected.write(_REJECT_HEADER.pack(recv_us, len(data)) + data)

    def maybe_flush(self, force: bool = False) -> None:
        """Flush files if :data:`FLUSH_INTERVAL_S` has passed (or ``force``)."""
        now = time.monotonic()
        if force or now - self._last_flush >= FLUSH_INTERVAL_S:
            self._flush_ordered()
            if self._payload_journal is not None:
                self._payload_journal.flush()
            if self._rejected is not None:
                self._rejected.flush()
            self._last_flush = now

    def _flush_ordered(self) -> None:
        """Hand the tlog, then the journal (its held rows) to the OS: the journal never gets
        ahead."""
        self._tlog.flush()
        self.journal.flush()

    def close(self, reason: str = "stopped") -> dict:
        """Flush pending pairing, close files, write ``session.json``; return its content."""
        for peer, framer in self._framers.items():
            if framer.pending:  # a stream cut mid-frame: keep the bytes as rejected
                res = framer.feed(b"", final=True)
                if res.bad:
                    self._reject(time.time_ns() // 1000, bytes(res.bad))
                del peer
        for framer in self._uplink_framers.values():
            if framer.pending and self.uplink is not None:
                self.uplink.bad_bytes += len(framer.feed(b"", final=True).bad)
        self._write_rows(self.pipeline.finish())
        self.end_utc = _utc_now()
        self.meta["stop_reason"] = reason
        self._tlog.close()  # first: the journal never gets ahead of the tlog
        self.journal.close()
        self.sampling.close()
        if self._payload_journal is not None:
            self._payload_journal.close()
        if self._rejected is not None:
            self._rejected.close()
        return self.write_summary()

    def summary(self) -> dict:
        """The ``session.json`` content as it stands."""
        return session_summary(self)

    def forward_summary(self) -> dict:
        """The forwarded ground station: packets sent to it, and what it sent back."""
        return forward_summary(self)

    def payload_summary(self) -> dict:
        """Per serial payload: port and decoder counts, readings, clock (for ``session.json``).
        """
        return payload_summary(self)

    def write_summary(self) -> dict:
        """Write ``session.json`` atomically; return its content."""
        doc = self.summary()
        tmp = self.folder.meta.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, self.folder.meta)
        return doc

