"""Does a replay give exactly the live journal? The listener's promise, checked.

:func:`compare_journal` compares sample rows (usually those of
:func:`dronesense.flight.pipeline.replay`) with the ``samples.csv`` journal the listener wrote,
field by field as the journal writes them; :func:`check_replay` replays a session with the
settings (and the signing key) it was recorded with and compares.

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

from dronesense.flight.pipeline import replay
from dronesense.flight.rows import SampleRow
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.session_folder import SessionFolder

__all__ = ["JournalComparison", "check_replay", "compare_journal"]


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


def check_replay(source: str | Path, *, key: bytes | None = None
                 ) -> JournalComparison | None:
    """Replay a session with the settings it recorded (and its signing ``key``, if it was
    recorded with one) and compare with its journal (:func:`compare_journal`)."""
    return compare_journal(replay(source, key=key), source)
