"""The Python walk-through of ``docs/listening.md`` runs as written and prints what it shows.

Its ```` ```python ```` blocks run in order in one namespace, in a fresh directory that has the
repository's ``missions``; a block followed directly by a ```` ```text ```` block must print
exactly that text.
"""

from __future__ import annotations

import pytest

from tests.support.docs import run_walk_through
from tests.support.paths import MISSIONS, ROOT

DOC = ROOT / "docs" / "listening.md"


@pytest.mark.slow
def test_listening_walk_through_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "missions").symlink_to(MISSIONS)
    run_walk_through(DOC, min_blocks=4)
    assert (tmp_path / "flights" / "scripted" / "flight.tlog").stat().st_size > 0
