"""Does a replay give exactly the live journal? The listener's promise, checked.

:func:`compare_journal` compares sample rows (usually those of
:func:`dronesense.flight.pipeline.replay`) with the ``samples.csv`` journal the listener wrote,
field by field as the journal writes them. :func:`replay_session` replays a session as the
listener paired it, with the signing key it used (only validly signed packets paired, the
others left out exactly as live), and :func:`check_replay` does both.

Examples
--------
>>> import tempfile
>>> from dronesense.flight.pipeline import replay
>>> from dronesense.live.recorder import Recorder
>>> out = tempfile.mkdtemp()
>>> _ = Recorder(out).close()
>>> check = compare_journal(replay(out), out)
>>> check.identical, check.journal_rows
(True, 0)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dronesense.flight.columns import SampleColumns
from dronesense.flight.pipeline import Pipeline, replay_columns
from dronesense.flight.rows import SampleRow
from dronesense.quantities import NameTable
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import iter_packets
from dronesense.sources.payload.journal import merge_indexed
from dronesense.sources.payload.journal import read_journal as read_payload_journal
from dronesense.sources.session_folder import SessionFolder, session_settings
from dronesense.sources.signing import Verifier

__all__ = ["JournalComparison", "check_replay", "compare_journal", "replay_session"]


@dataclass(frozen=True, slots=True)
class JournalComparison:
    """How rows compare with a session's journal.

    Attributes
    ----------
    journal
        The ``samples.csv`` compared with.
    journal_rows, rows
        Number of rows in the journal and given.
    first_difference
        Index (from 0) of the first row that differs, or where the shorter one ends;
        ``None`` when they are identical.
    """

    journal: Path
    journal_rows: int
    rows: int
    first_difference: int | None

    @property
    def identical(self) -> bool:
        """Whether every row equals the journal's."""
        return self.first_difference is None


def compare_journal(rows: Iterable[SampleRow], source: str | Path) -> JournalComparison | None:
    """Compare ``rows`` with the journal of a session (its folder or its ``flight.tlog``).

    Returns ``None`` when the session has no journal.
    """
    journal = SessionFolder.of(source).samples
    if not journal.exists():
        return None
    live = [format_row(r) for r in read_journal(journal)]
    again = [format_row(r) for r in rows]
    first = None
    if live != again:
        first = next((k for k, (a, b) in enumerate(zip(live, again, strict=False)) if a != b),
                     min(len(live), len(again)))
    return JournalComparison(journal, len(live), len(again), first)


def replay_session(source: str | Path, *, key: bytes | None = None,
                   names: NameTable | None = None, max_gap_s: float | None = None,
                   lags: dict[str, float] | None = None) -> SampleColumns | list[SampleRow]:
    """The rows of a session folder or ``.tlog`` as the live listener paired them.

    Without ``key`` this is :func:`~dronesense.flight.pipeline.replay_columns`. With the
    MAVLink 2 signing key of a signed session, every packet of the tlog is verified in file
    order (a fresh :class:`~dronesense.sources.signing.Verifier`: the session is checked on
    its own) and only the validly signed ones are paired: unsigned, forged and replayed
    packets are left out as the listener left them out. Settings not given come from
    ``session.json``.
    """
    if key is None:
        return replay_columns(source, names=names, max_gap_s=max_gap_s, lags=lags)
    settings = session_settings(source)
    pipe = Pipeline(names if names is not None else settings.get("names"),
                    max_gap_s if max_gap_s is not None else settings.get("max_gap_s", 1.0),
                    lags if lags is not None else settings.get("lags"),
                    sensors=settings.get("sensors", ()))
    payload = SessionFolder.of(source).payload
    readings = read_payload_journal(payload) if payload.exists() else []
    verdict = Verifier(key, state=None).verdict
    valid = ((k, p) for k, p in enumerate(iter_packets(source)) if verdict(p.raw) == "valid")
    rows: list[SampleRow] = []
    for kind, item in merge_indexed(valid, readings):
        if kind == "packet":
            rows.extend(pipe.push_message(item.msg, item.recv_us))
        else:
            rows.extend(pipe.push_event(*item))
    rows.extend(pipe.finish())
    return rows


def check_replay(source: str | Path, *, key: bytes | None = None
                 ) -> JournalComparison | None:
    """Replay a session with the settings it recorded (and its signing ``key``, if it was
    recorded with one) and compare with its journal (:func:`compare_journal`)."""
    rows = replay_session(source, key=key)
    if isinstance(rows, SampleColumns):
        rows = rows.rows()
    return compare_journal(rows, source)
