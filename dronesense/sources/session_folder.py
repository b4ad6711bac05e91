"""The session folder: its file names, defined once, and the settings it records.
"""

from __future__ import annotations

import json
from pathlib import Path

from dronesense.quantities import NameTable


def session_settings(path: str | Path) -> dict:
    """Pairing settings recorded in a session's ``session.json`` (empty if none)."""
    path = Path(path)
    meta = path / "session.json" if path.is_dir() else path.with_name("session.json")
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
