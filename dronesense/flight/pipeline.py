"""The one pipeline driver: messages or events -> pairing -> sample rows, for live, replay and
post-flight alike.

A :class:`Pipeline` owns one :class:`~dronesense.sources.messages.MessageAdapter` (decoded
MAVLink messages -> flight events) and one :class:`~dronesense.flight.pairing.Pairer` (events
-> sample rows). Every path feeds it the same way:

* the live listener (:class:`~dronesense.live.recorder.Recorder`) pushes each decoded message
  as it arrives (:meth:`Pipeline.push_message`) and each serial payload reading
  (:meth:`Pipeline.push_event`);
* :func:`replay` and :func:`replay_packets` push the packets of a recorded tlog, with the
  payload readings of its ``payload.csv`` where the listener pushed them
  (:meth:`Pipeline.run_packets`);
* post-flight pairing (:func:`dronesense.flight.postflight.pair_logs`) pushes the events of any
  log (:meth:`Pipeline.run`), or hands a scanned tlog's event columns over at once
  (:meth:`Pipeline.run_arrays`: the same rules on arrays, the same rows).

So the same messages give the same rows whichever path they came by.

Examples
--------
>>> from dronesense.events import Fix, Reading, TimeSync
>>> pipe = Pipeline()
>>> events = [(TimeSync(1, 0.0, 1_714_557_600_000_000), None),
...           (Fix(1, 0.0, 52.0, 5.0, 40.0, 30.0), None),
...           (Reading(1, 500.0, "CH4", 1.9), None),
...           (Fix(1, 1000.0, 52.0, 5.001, 40.0, 30.0), None)]
>>> [(r.quantity, round(r.lon, 4), r.time_utc) for r in pipe.run(events)]
[('ch4', 5.0005, '2024-05-01T10:00:00.500000Z')]
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from dronesense.events import Event, Fix, TimeSync
from dronesense.flight.columns import SampleColumns
from dronesense.flight.plausible import CheckedPairer, flag_columns
from dronesense.flight.rows import SampleRow
from dronesense.quantities import NameTable
from dronesense.sources.framing import Packet, RawMessage, iter_packets
from dronesense.sources.messages import MessageAdapter
from dronesense.sources.payload.journal import merge_indexed, read_journal
from dronesense.sources.session_folder import SessionFolder, session_settings

__all__ = ["Pipeline", "replay", "replay_columns", "replay_packets"]

#: ``progress(description, done, total)``
Progress = Callable[[str, float, float], None]


class Pipeline:
    """Messages or events -> pairing -> sample rows: the driver live, replay and post-flight
    share exactly.

    Parameters
    ----------
    names, max_gap_s, lags
        Passed to :class:`~dronesense.flight.pairing.Pairer` (``lags``: declared seconds per
        quantity key).
    clock
        A :class:`~dronesense.sources.payload.clock.ReceiveClock` to feed with the
        (receive time, vehicle time) of every autopilot position and SYSTEM_TIME, for serial
        payloads; ``None`` when there are none (replay reads their mapped times back from
        ``payload.csv`` instead).
    sensors
        Serial sensor prefixes (``pms5003``): their ``SENSOR.NAME`` readings map to the same
        quantities as ``NAME`` (:meth:`~dronesense.quantities.NameTable.add_sensor`).
    ranges
        Plausible ranges replacing the defaults quantity by quantity (``{"ch4": (0, 100)}``,
        :func:`~dronesense.flight.plausible.check_ranges`); ``None``: those of the enclosing
        :func:`~dronesense.flight.plausible.using_ranges` block, else the defaults.

    Attributes
    ----------
    adapter
        The message -> events translation.
    pairer
        The pairing engine (its ``states`` and counts are the flight so far).
    """

    def __init__(self, names: NameTable | None = None, max_gap_s: float = 1.0,
                 lags: dict[str, float] | None = None, clock=None,
                 sensors: Iterable[str] = (), ranges: Mapping | None = None):
        sensors = list(sensors)
        if sensors:
            names = (names if names is not None else NameTable.default()).copy()
            for s in sensors:
                names.add_sensor(s)
        self.adapter = MessageAdapter()
        # implausible values flagged OUT_OF_RANGE, kept (dronesense.flight.plausible)
        self.pairer = CheckedPairer(names, max_gap_s=max_gap_s, lags=lags, ranges=ranges)
        self.clock = clock

    def push_message(self, msg, recv_us: int | None) -> list[SampleRow]:
        """Feed one decoded MAVLink message received at ``recv_us``; return completed rows."""
        if type(msg) is RawMessage:  # a type the adapter does not read
            return []
        events = self.adapter.events(msg)
        if not events:
            return []
        rows: list[SampleRow] = []
        for ev in events:
            rows.extend(self.push_event(ev, recv_us))
        return rows

    def push_event(self, event: Event, recv_us: int | None) -> list[SampleRow]:
        """Feed one flight event (a reading of a serial payload, an event of a log) received
        at ``recv_us`` (UNIX µs, ``None`` if unknown); return completed rows."""
        clock = self.clock
        if clock is not None and (type(event) is Fix or type(event) is TimeSync):
            clock.observe(event.sysid, recv_us, event.time_boot_ms)
        return self.pairer.push(event, recv_us)

    def finish(self) -> list[SampleRow]:
        """End of data: the rows still held (see :meth:`Pairer.finish`)."""
        return self.pairer.finish()

    def run(self, events: Iterable[tuple[Event, int | None]], progress: Progress | None = None,
            label: str = "pair") -> list[SampleRow]:
        """Every row of a whole log's ``(event, receive time)`` pairs, ending the data.

        ``progress(label, done, total)`` is called about a hundred times when ``events`` has
        a length.
        """
        total = len(events) if progress is not None and hasattr(events, "__len__") else 0
        step = max(1, total // 100)
        rows: list[SampleRow] = []
        push = self.pairer.push if self.clock is None else self.push_event
        for i, (ev, recv) in enumerate(events):
            got = push(ev, recv)
            if got:
                rows.extend(got)
            if total and i % step == 0:
                progress(label, i, total)
        rows.extend(self.finish())
        if progress is not None:
            progress(label, total, total)
        return rows

    def run_arrays(self, columns, *, release: bool = False) -> SampleColumns:
        """Every row of a whole log's event columns
        (:class:`~dronesense.sources.tlogevents.EventColumns`), ending the data, as
        :class:`~dronesense.flight.columns.SampleColumns`.

        The same rows, in the same order, as :meth:`run` over ``columns.events()``: the rules
        are applied to the arrays at once (:func:`~dronesense.flight.batch.pair_columns`), or,
        for a log with a reboot or a reading stamped before the reboot threshold, the events
        are pushed one by one. Needs a fresh pipeline without a receive clock. With
        ``release``, the columns' positions and readings are let go as they are paired (the
        columns are then no longer usable): less memory for a big log.
        """
        from dronesense.flight.batch import pair_columns

        if self.clock is None and not self.pairer.states:
            cols = pair_columns(self.pairer, columns.fixes, columns.readings, columns.syncs,
                                columns.statuses, columns.names, release=release)
            if cols is not None:
                # the pairer's own ranges and count, as CheckedPairer on the streaming path
                self.pairer.out_of_range += flag_columns(cols, self.pairer.ranges)
                return cols
        return SampleColumns.from_rows(self.run(columns.events()))

    def run_packets(self, packets: Iterable[Packet], readings: list | None = None
                    ) -> list[SampleRow]:
        """Every row of a packet stream, ending the data.

        ``readings`` are the rows of a ``payload.csv``
        (:func:`~dronesense.sources.payload.journal.read_journal`): serial readings pushed
        between the packets exactly where the live listener pushed them.
        """
        if not readings:
            rows: list[SampleRow] = []
            for p in packets:
                rows.extend(self.push_message(p.msg, p.recv_us))
            rows.extend(self.finish())
            return rows
        return self.run_indexed(enumerate(packets), readings)

    def run_indexed(self, items: Iterable[tuple[int, Packet]], readings: list | None = None
                    ) -> list[SampleRow]:
        """:meth:`run_packets` for ``(index in the record, packet)`` pairs that need not be
        every packet of the record (a signed session's validly signed ones): the payload
        readings stay after the packet they followed live."""
        rows: list[SampleRow] = []
        for kind, item in merge_indexed(items, readings or []):
            if kind == "packet":
                rows.extend(self.push_message(item.msg, item.recv_us))
            else:
                rows.extend(self.push_event(*item))
        rows.extend(self.finish())
        return rows


def replay_packets(packets: Iterable[Packet], *, names: NameTable | None = None,
                   max_gap_s: float = 1.0, lags: dict[str, float] | None = None,
                   readings: list | None = None, sensors: Iterable[str] = (),
                   ) -> list[SampleRow]:
    """Sample rows of a packet stream, through the same :class:`Pipeline` as live.

    ``readings`` are the rows of a ``payload.csv``
    (:func:`~dronesense.sources.payload.journal.read_journal`): serial readings pushed between
    the packets exactly where the live listener pushed them; ``sensors`` their prefixes.
    """
    return Pipeline(names, max_gap_s, lags, sensors=sensors).run_packets(packets, readings)


def replay(path: str | Path, *, names: NameTable | None = None, max_gap_s: float | None = None,
           lags: dict[str, float] | None = None, key: bytes | None = None) -> list[SampleRow]:
    """Sample rows of a session directory or ``.tlog``, exactly as the live listener made them.

    Settings not given are taken from the session's ``session.json`` when there is one, so a
    plain ``replay(session_dir)`` reproduces the journal (a custom name table must be passed
    again if its file named in ``session.json`` has moved). Serial payload readings are
    taken from ``payload.csv`` beside the tlog, when there is one; a tlog without them is
    scanned as arrays and paired by :meth:`Pipeline.run_arrays` (the same rows). With the
    MAVLink 2 signing ``key`` of a signed session, every packet is verified in file order (a
    fresh :class:`~dronesense.sources.signing.Verifier`: the session is checked on its own)
    and only the validly signed ones are paired, as the listener left the others out.
    """
    out = replay_columns(path, names=names, max_gap_s=max_gap_s, lags=lags, key=key)
    return out.rows() if isinstance(out, SampleColumns) else out


def replay_columns(path: str | Path, *, names: NameTable | None = None,
                   max_gap_s: float | None = None, lags: dict[str, float] | None = None,
                   key: bytes | None = None) -> SampleColumns | list[SampleRow]:
    """:func:`replay` as :class:`~dronesense.flight.columns.SampleColumns` when the tlog could
    be paired as arrays (no serial payload readings), else the rows."""
    settings = session_settings(path)
    if max_gap_s is None:
        max_gap_s = settings.get("max_gap_s", 1.0)
    if lags is None:
        lags = settings.get("lags")
    if names is None:
        names = settings.get("names")
    journal = SessionFolder.of(path).payload
    readings = read_journal(journal) if journal.exists() else None
    pipe = Pipeline(names, max_gap_s, lags, sensors=settings.get("sensors", ()))
    if readings is None and key is None:  # scanned as arrays: the same packets, the same rows
        cols = _tlog_columns(path)
        if cols is not None:
            out = pipe.run_arrays(cols, release=True)  # cols are let go as paired
            del pipe, cols
            gc.collect()  # the engine's cycles would hold a big log's track until collected
            return out
    items = enumerate(iter_packets(path))
    if key is not None:
        from dronesense.sources.signing import Verifier

        verdict = Verifier(key, state=None).verdict
        items = ((k, p) for k, p in items if verdict(p.raw) == "valid")
    return pipe.run_indexed(items, readings)


def _tlog_columns(path: str | Path):
    """The event columns of a tlog or a session's ``flight.tlog`` (``None`` for anything
    else, or a log the adapter must read message by message)."""
    from dronesense.sources.kinds import detect_kind
    from dronesense.sources.tlogchunks import CHUNK_BYTES, tlog_event_columns
    from dronesense.sources.tlogevents import event_columns
    from dronesense.sources.tlogscan import scan_tlog

    path = Path(path)
    if not path.exists():
        return None
    kind = detect_kind(path)
    if kind not in ("tlog", "session"):
        return None
    tlog = SessionFolder(path).tlog if kind == "session" else path
    if not tlog.exists():
        return None
    if tlog.stat().st_size > CHUNK_BYTES:  # a big tlog: in slices, the same columns
        return tlog_event_columns(tlog)
    return event_columns(scan_tlog(tlog))
