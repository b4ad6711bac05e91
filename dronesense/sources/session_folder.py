"""The session folder: its file names, defined once, and the settings it records.

A session folder is what ``dronesense listen`` writes and what every reader accepts in place of
a log:

``flight.tlog``
    every MAVLink packet received, byte for byte, each preceded by its 8-byte big-endian UNIX
    microsecond receive time (the standard tlog layout);
``rejected.bin``
    received bytes that were not MAVLink packets, as records of 8-byte big-endian UNIX µs +
    4-byte big-endian length + bytes (created on first use);
``samples.csv``
    the samples journal (:mod:`dronesense.samples.journal`);
``payload.csv``
    with serial payloads only: every serial reading as it was pushed to the pairing engine
    (:mod:`dronesense.sources.payload.journal`);
``session.json``
    what was recorded: times, vehicles, counts, loss, versions, pairing settings;
``sampling_events.csv``
    the live sampling-events journal (:class:`~dronesense.sources.sampling_events.SamplingJournal`):
    one line per sample taken (a canister opened, a bag filled).

Examples
--------
>>> folder = SessionFolder.of("flights/today/flight.tlog")
>>> folder.path.as_posix(), folder.samples.name, folder.meta.name
('flights/today', 'samples.csv', 'session.json')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dronesense.quantities import NameTable

#: File names inside a session folder.
TLOG = "flight.tlog"
SAMPLES = "samples.csv"
PAYLOAD = "payload.csv"
META = "session.json"
REJECTED = "rejected.bin"
SAMPLING_EVENTS = "sampling_events.csv"


@dataclass(frozen=True)
class SessionFolder:
    """The files of one session folder (they need not exist)."""

    path: Path

    @classmethod
    def of(cls, path: str | Path) -> SessionFolder:
        """The session folder of ``path``: the folder itself, or the folder holding a file."""
        path = Path(path)
        return cls(path if path.is_dir() or not path.suffix else path.parent)

    @property
    def tlog(self) -> Path:
        """The raw MAVLink record."""
        return self.path / TLOG

    @property
    def samples(self) -> Path:
        """The samples journal."""
        return self.path / SAMPLES

    @property
    def payload(self) -> Path:
        """The serial payload readings journal."""
        return self.path / PAYLOAD

    @property
    def meta(self) -> Path:
        """The session summary (``session.json``)."""
        return self.path / META

    @property
    def rejected(self) -> Path:
        """Bytes that were not MAVLink packets."""
        return self.path / REJECTED

    @property
    def sampling_events(self) -> Path:
        """The live sampling-events journal."""
        return self.path / SAMPLING_EVENTS

    def is_session(self) -> bool:
        """Whether the folder holds a recorded session (its ``flight.tlog``)."""
        return self.tlog.is_file()

    def settings(self) -> dict:
        """Pairing settings recorded in ``session.json`` (see :func:`session_settings`)."""
        return session_settings(self.path)


def session_settings(path: str | Path) -> dict:
    """Pairing settings recorded in a session's ``session.json`` (empty if none).

    ``path`` is the session folder or a file inside it (its ``flight.tlog``).
    """
    meta = SessionFolder.of(path).meta
    try:
        doc = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    out: dict = {}
    if doc.get("names_file") and Path(doc["names_file"]).exists():
        out["names"] = NameTable.from_file(doc["names_file"])
    if "max_gap_s" in doc:
        out["max_gap_s"] = float(doc["max_gap_s"])
    if doc.get("lags_s"):
        out["lags"] = {k: float(v) for k, v in doc["lags_s"].items()}
    if doc.get("payload_sensors"):
        out["sensors"] = [str(s) for s in doc["payload_sensors"]]
    return out
