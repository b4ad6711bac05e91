"""Live capture as a library object: a MAVLink link in, a recorded session and samples out.

:class:`Listener` holds the receive loop of ``dronesense listen``: it reads the vehicle link
(:class:`~dronesense.sources.link.Link`), optionally serves a second ground station
(:class:`~dronesense.sources.forward.Forwarder`) and serial payloads, and feeds everything to
a :class:`~dronesense.live.recorder.Recorder`, which writes the session folder and pairs the
readings. A program iterates the samples as they are paired; the command line runs the
blocking loop with an operator view.

It is passive: nothing is sent to the vehicle unless ``request_streams`` asks for the
position and time streams (:mod:`dronesense.live.streams`), or ``forward_control`` lets the
forwarded ground station command it. Ports are bound exclusively, the forwarded ground
station is locked, vehicles' identities are bound to their addresses, and with a ``key``
only MAVLink 2 packets signed with it are paired (``docs/security.md``).

Examples
--------
A capture on a local UDP port that a vehicle (here a few packets sent from this process)
talks to; the samples come out as they are paired and the session folder holds them too:

>>> import socket, tempfile
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
>>> packets = [mavlink.MAVLink_global_position_int_message(t, 520000000, 50000000, 10000,
...                                                        0, 0, 0, 0, 0) for t in (0, 100)]
>>> packets.insert(1, mavlink.MAVLink_named_value_float_message(50, b"CH4", 1.9))
>>> out = tempfile.mkdtemp() + "/session"
>>> with Listener("udpin:127.0.0.1:0", out=out) as live:
...     port = live.link.address[1]
...     with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as vehicle:
...         for m in packets:
...             _ = vehicle.sendto(bytes(m.pack(mav)), ("127.0.0.1", port))
...     samples = list(live.samples(timeout=1.0))
>>> [(s.name, s.value, s.lat, s.flag) for s in samples]
[('CH4', 1.9, 52.0, 0)]
>>> live.summary["packets"], live.summary["samples"]["total"], live.summary["stop_reason"]
(3, 1, 'timeout')
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from dronesense.errors import InputError, ParameterError
from dronesense.flight.rows import SampleRow
from dronesense.live.endpoints import same_endpoint
from dronesense.live.lags import check_lags
from dronesense.live.recorder import Recorder
from dronesense.live.streams import StreamRequester
from dronesense.quantities import NameTable
from dronesense.sources.forward import Forwarder
from dronesense.sources.framing import Framer
from dronesense.sources.link import Chunk, Link
from dronesense.sources.payload.clock import ReceiveClock
from dronesense.sources.payload.ports import PayloadPort, check_port, plan_ports, receive_rate
from dronesense.sources.payload.readings import PayloadReadings
from dronesense.sources.payload.serial_source import SerialPayload
from dronesense.sources.session_folder import SessionFolder
from dronesense.sources.signing import Signer, Verifier

__all__ = ["DEFAULT_CONN", "LANDED_GRACE_S", "LINGER_S", "SUMMARY_INTERVAL_S", "Listener",
           "StreamRequester"]

DEFAULT_CONN = "udpin:127.0.0.1:14550"
#: Seconds between re-writes of session.json while recording.
SUMMARY_INTERVAL_S = 5.0
#: Seconds ``until_landed`` keeps recording after the disarm.
LANDED_GRACE_S = 2.0
#: Seconds one wait for the link lasts in the loop (the longest a stop waits to be seen).
TICK_S = 0.1
#: Seconds a UDP link lingers to read a steady stream many datagrams per wake-up
#: (:meth:`~dronesense.sources.link.Link.recv` ``linger``; receive times stay the kernel's).
LINGER_S = 0.01


class Listener:
    """Record a live MAVLink link into a session folder and pair readings as they arrive.

    Everything is opened when the listener is made (and closed again if anything fails);
    :meth:`samples` or :meth:`run` drive the receive loop; :meth:`close` (or leaving the
    ``with`` block) finishes the pairing, closes the files and writes ``session.json``.

    Parameters
    ----------
    conn
        Vehicle link: ``udpin:HOST:PORT``, ``udpout:``, ``tcp:``, ``tcpin:`` or a serial device
        (:mod:`dronesense.sources.link`). Binds exactly where it says (``udpin:0.0.0.0:14550``
        to hear other machines; port 0 takes a free port, see ``link.port``).
    out
        Session folder; created, and refused if it already holds a session.
    names
        Name table (wire names -> quantities), or the path of a mapping file (recorded in
        ``session.json`` so that replay finds it); default the built-in table.
    max_gap_s
        Longest time between two fixes that still gives an interpolated position.
    lags
        Sensor lag in seconds per quantity (or wire name), subtracted from reading times.
    forward
        Connection of a second ground station that gets every received packet
        (:class:`~dronesense.sources.forward.Forwarder`), or ``None``.
    forward_control
        Relay what that ground station sends (whole valid packets) to the vehicle; without it
        the station only watches (what it sends is counted and dropped).
    payloads
        Serial payloads to read: ``FORMAT:DEVICE[:BAUD]`` texts or
        :class:`~dronesense.sources.payload.ports.PayloadPort` objects.
    payload_prefixes
        Wire-name prefixes of the payloads' readings, in order (see
        :func:`~dronesense.sources.payload.ports.plan_ports`).
    payload_sysid
        Vehicle carrying the payloads; default the first vehicle heard.
    payload_rate
        Vehicle clock seconds per ground second for the receive clock: 1 for a real vehicle,
        ``"auto"`` to estimate it (a simulator faster than real time).
    payload_latency_s
        Seconds subtracted from a serial frame's receive time; default the time the line
        took to carry it.
    request_streams
        Ask vehicles that send no positions for the streams pairing needs (the only thing the
        listener itself ever sends).
    baud
        Serial speed of a serial ``conn``.
    gcs
        With ``forward``: the only ground station heard (``HOST:PORT``, or ``HOST`` for a
        TCP client); default the first one, then locked (see
        :class:`~dronesense.sources.forward.Forwarder`).
    key
        MAVLink 2 signing key (32 bytes, :func:`~dronesense.sources.signing.load_key`).
        Every packet still goes to ``flight.tlog``, but only validly signed ones are paired;
        unsigned, badly signed and replayed ones are counted (``session.json``
        ``"security"``); what the listener sends is signed, and only validly signed packets
        of the forwarded ground station are relayed. The key is never written anywhere.
    signing_state
        Where the key's timestamps are kept between runs (replays are refused after a
        restart): a file path, ``"default"``
        (:func:`~dronesense.sources.signing.state_path`) or ``None`` (this run only).
    meta
        Extra fields for ``session.json`` (``command_line``, ...).

    Raises
    ------
    InputError
        The session folder is taken, a link or payload port cannot be opened, the name
        mapping cannot be read.
    ParameterError
        A parameter value is unusable (a connection string, a payload, a prefix, a rate).
    ValueError
        ``forward_control`` without ``forward``.

    Attributes
    ----------
    link, forwarder, recorder
        The vehicle link, the ground-station link (or ``None``) and the recorder.
    stop_reason
        Why the capture stopped (``None`` while it runs).
    linger_s
        Seconds a UDP link with kernel receive times waits, once data is there, to read a
        steady stream in batches (:data:`LINGER_S`; ``0``: each datagram as soon as it is in).
    """

    def __init__(self, conn: str = DEFAULT_CONN, *, out: str | Path,
                 names: NameTable | str | Path | None = None, max_gap_s: float = 1.0,
                 lags: Mapping[str, float] | None = None, forward: str | None = None,
                 forward_control: bool = False,
                 payloads: Iterable[str | PayloadPort] = (),
                 payload_prefixes: Sequence[str] | None = None,
                 payload_sysid: int | None = None, payload_rate: float | str = 1.0,
                 payload_latency_s: float | None = None, request_streams: bool = False,
                 baud: int = 57600, gcs: str | None = None, key: bytes | None = None,
                 signing_state: str | Path | None = "default", meta: Mapping | None = None):
        if forward_control and not forward:
            raise ValueError("forward_control needs a forward connection")
        if gcs is not None and not forward:
            raise ParameterError("gcs", "names the ground station of a forward connection; "
                                 "give forward too")
        if forward and same_endpoint(conn, forward):
            raise ParameterError("forward", f"{forward} is the vehicle link's own address "
                                 f"({conn}): the packets would go back to the vehicle; "
                                 "give the ground station's address")
        names_file = None
        if names is not None and not isinstance(names, NameTable):
            names_file = str(Path(names).resolve())
            names = NameTable.from_file(names)
        lags = check_lags(lags)
        ports = plan_ports(payloads, payload_prefixes)
        rate = receive_rate(payload_rate)
        folder = SessionFolder(Path(out))
        if folder.tlog.exists():  # before opening anything (the Recorder checks too)
            raise InputError("already holds a session (flight.tlog exists); choose a new "
                             "directory", path=out)
        for port in ports:
            check_port(port.device, port.baud)
        self.out = Path(out)
        self.stop_reason: str | None = None
        self._final: dict | None = None  # session.json once closed
        self._rows: deque[SampleRow] | None = None
        self._payloads: list[tuple[str, SerialPayload, PayloadReadings]] = []
        self.forwarder: Forwarder | None = None
        self.recorder: Recorder | None = None
        self.verifier = self.signer = None
        if key is not None:
            self.verifier = Verifier(key, state=signing_state)
            self.signer = Signer(key, link_id=0, state=self.verifier.state)
        self._uplink_framers: dict = {}
        self.uplink_refused = 0
        self.link = Link(conn, baud=baud)
        try:
            if forward:
                try:
                    self.forwarder = Forwarder(forward, gcs=gcs)
                except ParameterError as err:
                    name = "gcs" if err.parameter == "gcs" else "forward"
                    raise ParameterError(name, err.detail) from None
            doc = dict(meta or {})
            doc.update({"connection": conn, "forward_control": bool(forward_control)})
            #: updated in place before every write of session.json
            self.security: dict = {"signing": None, "spoofed": {}, "warnings": []}
            doc["security"] = self.security
            doc.setdefault("names_file", names_file)
            doc["udp_rcvbuf"] = self.link.rcvbuf
            clock = None
            if ports:
                clock = ReceiveClock(rate=rate)
                doc["payload_settings"] = {
                    "sysid": payload_sysid, "clock_rate": rate, "latency_s": payload_latency_s,
                    "window_s": clock.window_ms / 1000.0, "bucket_s": clock.bucket_ms / 1000.0,
                }
            signing = {} if self.verifier is None else {"verify": self.verifier.verdict}
            self.recorder = Recorder(
                self.out, names=names, max_gap_s=max_gap_s, lags=lags, forward=self.forwarder,
                meta=doc, clock=clock, sensors=[p.prefix for p in ports if p.prefix],
                control=self.link if forward_control else None, on_rows=self._collect,
                **signing)
            for port in ports:
                self._open_payload(port, clock, payload_sysid, payload_latency_s)
        except BaseException:
            self._close_ports("error")
            raise
        self.requester = StreamRequester(self.link, self.signer) if request_streams else None
        #: callables given every received chunk after the recorder (the operator views'
        #: :class:`~dronesense.live.web.watch.VehicleWatch`, a ``LiveWeb``); must not raise
        self.observers: list[Callable] = []
        self._next_summary = time.monotonic() + SUMMARY_INTERVAL_S
        #: seconds the link lingers (:data:`LINGER_S`; 0: each datagram as soon as it is in)
        self.linger_s = LINGER_S

    def _open_payload(self, port: PayloadPort, clock: ReceiveClock, sysid: int | None,
                      latency_s: float | None) -> None:
        rec = self.recorder
        sp = SerialPayload(port.device, port.fmt, port.baud, latency_s=latency_s,
                           record=rec.dir / f"payload-{port.wire_prefix}.bin")
        try:
            conv = PayloadReadings(clock, port.fmt, sysid=sysid, prefix=port.prefix or None)
        except BaseException:
            sp.close()
            raise
        self._payloads.append((port.source, sp, conv))
        rec.add_payload(port.source, sp, conv, port.prefix)

    # -- the loop ---------------------------------------------------------------------------
    def poll(self, timeout: float = TICK_S) -> None:
        """One turn of the receive loop: wait up to ``timeout`` s for the links, record what
        came (vehicle, ground station, serial payloads), flush files when due, ask for streams
        if asked to, rewrite ``session.json`` every :data:`SUMMARY_INTERVAL_S`."""
        rec = self._recorder()
        fwd = self.forwarder
        also = [] if fwd is None else fwd.fileno_list()
        for chunk in self.link.recv(timeout, also=also, linger=self.linger_s):
            rec.feed(chunk)
            for observe in self.observers:
                observe(chunk)
        if fwd is not None:
            self._poll_forward()
        if self._payloads:
            self._poll_payloads()
        rec.maybe_flush()
        if self.requester is not None:
            self.requester.poll(rec)
        now = time.monotonic()
        if now >= self._next_summary:
            self._update_security()
            rec.write_summary()
            self._next_summary = now + SUMMARY_INTERVAL_S

    def samples(self, timeout: float | None = None) -> Iterator[SampleRow]:
        """The sample rows as they are paired (and written to ``samples.csv``).

        The iteration runs the receive loop. It ends when the capture ends: :meth:`stop` was
        called (from the loop body, another thread or a signal handler), or no new sample
        came for ``timeout`` seconds (``None``: wait for ever). The listener is then closed,
        and the rows completed by closing (readings still waiting for a position) come last,
        so that the rows iterated are exactly the journal's.
        """
        if self.recorder is None or self._final is not None:
            return
        self._rows = rows = deque()
        last = time.monotonic()
        try:
            while self.stop_reason is None:
                self.poll()
                now = time.monotonic()
                if rows:
                    last = now
                while rows:
                    yield rows.popleft()
                if timeout is not None and now - last >= timeout and self.stop_reason is None:
                    self.stop_reason = "timeout"
            self._finish()
            self.close()
            while rows:
                yield rows.popleft()
        finally:
            self._rows = None

    def run(self, duration: float | None = None, until_landed: bool = False,
            on_status: Callable[[Listener], None] | None = None) -> dict:
        """Record until stopped, then close; returns the ``session.json`` content.

        Stops on :meth:`stop`, after ``duration`` seconds, when ``until_landed`` and every
        vehicle that has flown is on the ground (:meth:`landed`; :data:`LANDED_GRACE_S`
        later, for the readings
        still on their way), or on Ctrl-C (``stop_reason`` ``"interrupted"``).
        ``on_status(listener)`` is called after every turn of the loop (an operator view).
        """
        deadline = None if duration is None else time.monotonic() + duration
        landed_at = None
        try:
            while self.stop_reason is None:
                self.poll()
                if on_status is not None:
                    on_status(self)
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    self.stop_reason = "duration"
                elif until_landed and self.landed():
                    landed_at = landed_at or now
                    if now - landed_at >= LANDED_GRACE_S:
                        self.stop_reason = "landed"
                else:
                    landed_at = None
            self._finish()
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        return self.close()

    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to stop (safe from a signal handler or another thread): it records
        what already arrived, then ends."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def landed(self) -> bool:
        """Whether some vehicle has flown and every vehicle that has flown is on the ground:
        disarmed, or EXTENDED_SYS_STATE says so, or low and still
        (:meth:`~dronesense.live.recorder.Recorder.landed`): a lost disarmed HEARTBEAT does
        not keep ``until_landed`` waiting."""
        return self._recorder().landed()

    def close(self, reason: str | None = None) -> dict:
        """Finish the pairing, close files and links, write ``session.json``; returns it.

        ``reason`` (else :attr:`stop_reason`, else ``"stopped"``) is recorded as
        ``stop_reason``. Closing again returns the same document.
        """
        if self._final is not None:
            return self._final
        self.stop_reason = self.stop_reason or reason or "stopped"
        return self._close_ports(self.stop_reason)

    @property
    def summary(self) -> dict:
        """The ``session.json`` content: final after :meth:`close`, as it stands before."""
        if self._final is not None:
            return self._final
        return self._recorder().summary()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is KeyboardInterrupt:
            self.stop("interrupted")
        elif exc_type is not None:
            self.stop("error")
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _recorder(self) -> Recorder:
        if self.recorder is None or self._final is not None:
            raise ValueError("the listener is closed")
        return self.recorder

    def _collect(self, rows: list[SampleRow]) -> None:
        if self._rows is not None:
            self._rows.extend(rows)

    def _poll_forward(self) -> None:
        """Serve the ground station: what it sent goes to the recorder (relayed to the
        vehicle only with control). Never raises: the recording comes first."""
        try:
            chunks = self.forwarder.poll()
        except Exception:  # a broken ground-station link must never stop the recording
            return
        for chunk in chunks:
            if self.verifier is not None:
                chunk = self._verified_uplink(chunk)
            self.recorder.feed_uplink(chunk)

    def _verified_uplink(self, chunk: Chunk) -> Chunk:
        """With a key: only the validly signed packets of what the ground station sent (the
        rest is counted in ``uplink_refused``; the recorder counts bad bytes)."""
        framer = self._uplink_framers.get(chunk.peer)
        if framer is None:
            framer = self._uplink_framers[chunk.peer] = Framer()
        res = framer.feed(chunk.data, final=chunk.datagram)
        keep = bytearray(res.bad)
        for msg in res.messages:
            raw = bytes(msg.get_msgbuf())
            if self.verifier.verdict(raw) == "valid":
                keep += raw
            else:
                self.uplink_refused += 1
        return Chunk(bytes(keep), chunk.recv_us, chunk.peer, True)

    def _update_security(self) -> None:
        """The link's identity warnings and the signing counts, for ``session.json``."""
        sec = self.security
        sec["spoofed"] = {str(k): n for k, n in sorted(self.link.spoofed.items())}
        warnings = list(self.link.warnings)
        if self.forwarder is not None:
            warnings += self.forwarder.warnings
            sec["forward_gcs"] = None if self.forwarder.gcs is None else \
                ":".join(str(x) for x in self.forwarder.gcs if x is not None)
            sec["forward_foreign"] = self.forwarder.foreign + self.forwarder.refused
        if self.verifier is not None:
            sec["signing"] = self.verifier.summary()
            sec["signing"]["uplink_refused"] = self.uplink_refused
            line = self.verifier.warning()
            if line:
                warnings.append(line)
        sec["warnings"] = warnings

    def warnings(self) -> list[str]:
        """Security warnings so far: spoofed system ids, foreign ground stations, packets
        refused by signing (also in ``session.json`` under ``"security"``)."""
        if self.recorder is not None and self._final is None:
            self._update_security()
        return list(self.security["warnings"])

    def _poll_payloads(self) -> None:
        """Pair what the serial payloads sent since the last call; never raises."""
        rec = self.recorder
        for source, sp, conv in self._payloads:
            try:
                rec.feed_readings(conv.push(sp.poll()), source=source)
            except Exception as err:  # a payload must never stop the MAVLink recording
                rec.payload_error(source, err)

    def _finish(self, limit_s: float = 1.0) -> None:
        """Record what already arrived before the stop (at most ``limit_s`` s of work)."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            chunks = self.link.recv(0.0)
            if not chunks:
                break
            for chunk in chunks:
                self.recorder.feed(chunk)
        if self._payloads:
            self._poll_payloads()

    def _close_ports(self, reason: str) -> dict:
        for _, sp, _ in self._payloads:
            sp.close()
        self._payloads = []
        doc: dict = {}
        try:
            if self.recorder is not None:
                if hasattr(self, "security"):
                    self._update_security()
                doc = self.recorder.close(reason)
        finally:
            self.link.close()
            if self.forwarder is not None:
                self.forwarder.close()
            if self.verifier is not None:
                self.verifier.save()
        self._final = doc
        return doc

