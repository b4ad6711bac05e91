"""The one pipeline driver: packets or events -> pairing -> sample rows, for live, replay and
post-flight alike."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dronesense.events import Fix, TimeSync
from dronesense.flight.pairing import Pairer
from dronesense.flight.rows import SampleRow
from dronesense.quantities import NameTable
from dronesense.sources.framing import Packet, RawMessage, iter_packets
from dronesense.sources.messages import MessageAdapter
from dronesense.sources.payload.journal import merge, read_journal
from dronesense.sources.session_folder import SessionFolder, session_settings


class Processor:
    """Packets -> events -> pairing: the part live and replay share exactly.

    Parameters
    ----------
    names, max_gap_s, lags
        Passed to :class:`~dronesense.flight.pairing.Pairer`.
    clock
        A :class:`~dronesense.sources.payload.serial_source.ReceiveClock` to feed with the
        (receive time, vehicle time) of every autopilot position and SYSTEM_TIME, for serial
        payloads; ``None`` when there are none (replay reads their mapped times back from
        ``payload.csv`` instead).
    sensors
        Serial sensor prefixes (``pms5003``): their ``SENSOR.NAME`` readings map to the same
        quantities as ``NAME`` (:meth:`~dronesense.quantities.NameTable.add_sensor`).
    """

    def __init__(self, names: NameTable | None = None, max_gap_s: float = 1.0,
                 lags: dict[str, float] | None = None, clock=None,
                 sensors: Iterable[str] = ()):
        sensors = list(sensors)
        if sensors:
            names = (names if names is not None else NameTable.default()).copy()
            for s in sensors:
                names.add_sensor(s)
        self.adapter = MessageAdapter()
        self.pairer = Pairer(names, max_gap_s=max_gap_s, lags=lags)
        self.clock = clock
        self.readings = 0

    def process(self, msg, recv_us: int) -> list[SampleRow]:
        """Feed one decoded message received at ``recv_us``; return completed rows."""
        if type(msg) is RawMessage:  # a type the adapter does not read
            return []
        events = self.adapter.events(msg)
        if not events:
            return []
        rows: list[SampleRow] = []
        clock = self.clock
        for ev in events:
            if clock is not None and (type(ev) is Fix or type(ev) is TimeSync):
                clock.observe(ev.sysid, recv_us, ev.time_boot_ms)
            rows.extend(self.pairer.push(ev, recv_us))
        return rows

    def finish(self) -> list[SampleRow]:
        """End of data (see :meth:`Pairer.finish`)."""
        return self.pairer.finish()




def replay_packets(packets: Iterable[Packet], *, names: NameTable | None = None,
                   max_gap_s: float = 1.0, lags: dict[str, float] | None = None,
                   readings: list | None = None, sensors: Iterable[str] = (),
                   ) -> list[SampleRow]:
    """Sample rows of a packet stream, through the same :class:`Processor` as live.

    ``readings`` are the rows of a ``payload.csv``
    (:func:`~dronesense.sources.payload.journal.read_journal`): serial readings pushed between the
    packets exactly where the live listener pushed them; ``sensors`` their prefixes.
    """
    proc = Processor(names, max_gap_s, lags, sensors=sensors)
    rows: list[SampleRow] = []
    if not readings:
        for p in packets:
            rows.extend(proc.process(p.msg, p.recv_us))
    else:
        push = proc.pairer.push
        for kind, item in merge(packets, readings):
            if kind == "packet":
                rows.extend(proc.process(item.msg, item.recv_us))
            else:
                reading, recv_us = item
                rows.extend(push(reading, recv_us))
    rows.extend(proc.finish())
    return rows


def replay(path: str | Path, *, names: NameTable | None = None, max_gap_s: float | None = None,
           lags: dict[str, float] | None = None) -> list[SampleRow]:
    """Sample rows of a session directory or ``.tlog``, exactly as the live listener made them.

    Settings not given are taken from the session's ``session.json`` when there is one, so a
    plain ``replay(session_dir)`` reproduces the journal (a custom name table must be passed
    again if its file named in ``session.json`` has moved). Serial payload readings are
    taken from ``payload.csv`` beside the tlog, when there is one.
    """
    settings = session_settings(path)
    if max_gap_s is None:
        max_gap_s = settings.get("max_gap_s", 1.0)
    if lags is None:
        lags = settings.get("lags")
    if names is None:
        names = settings.get("names")
    packets = iter_packets(path)
    journal = SessionFolder.of(path).payload
    readings = read_journal(journal) if journal.exists() else None
    return replay_packets(packets, names=names, max_gap_s=max_gap_s, lags=lags,
                          readings=readings, sensors=settings.get("sensors", ()))
