"""The worked examples of docs/programs.md run as written and print what they show."""

from __future__ import annotations

import os

from tests.support.docs import run_walk_through
from tests.support.paths import MISSIONS, ROOT


def test_programs_walk_through(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink(MISSIONS, tmp_path / "missions")  # run from the repository's top folder
    run_walk_through(ROOT / "docs" / "programs.md", min_blocks=4)
    assert (tmp_path / "profile.nc").stat().st_size > 0
