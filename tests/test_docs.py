"""The walk-through of ``docs/api.md`` runs as written and prints what it shows.

Its ```` ```python ```` blocks run in order in one namespace, in a fresh directory; a block
followed directly by a ```` ```text ```` block must print exactly that text.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.support.docs import python_blocks, run_walk_through
from tests.support.paths import ROOT

DOC = ROOT / "docs" / "api.md"


def test_blocks_are_found():
    text = "a\n```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\n"
    assert python_blocks(text) == [("print(1)\n", "1\n", 2), ("x = 2\n", None, 9)]


@pytest.mark.parametrize("name", ["gridding.md"])
def test_guide_snippets_run(name, tmp_path, monkeypatch):
    """The Python snippets of the user guides run as written, in order."""
    monkeypatch.chdir(tmp_path)
    run_walk_through(ROOT / "docs" / name)


def test_api_walk_through_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_walk_through(DOC, min_blocks=8)
    for name in ("ch4-slices.png", "ch4-curtain.png", "samples.kmz", "ch4.nc"):
        assert os.path.getsize(tmp_path / name) > 0, name


@pytest.mark.parametrize("name", ["api.md", "conventions.md", "architecture.md"])
def test_docs_name_only_modules_that_exist(name):
    """Every ``dronesense.x.y`` a document names is importable (modules go stale first)."""
    import importlib

    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    for dotted in sorted(set(re.findall(r"(?<![\w.])dronesense(?:\.[a-z_]+)+", text))):
        parts = dotted.split(".")
        for k in range(len(parts), 0, -1):  # longest importable prefix, rest are attributes
            try:
                obj = importlib.import_module(".".join(parts[:k]))
            except ModuleNotFoundError:
                continue
            for attr in parts[k:]:
                obj = getattr(obj, attr)
            break
