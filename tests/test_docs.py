"""The walk-through of ``docs/api.md`` runs as written and prints what it shows.

Its ```` ```python ```` blocks run in order in one namespace, in a fresh directory; a block
followed directly by a ```` ```text ```` block must print exactly that text.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import pytest

from tests.support.paths import ROOT

DOC = ROOT / "docs" / "api.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str | None, int]]:
    """``(code, expected output or None, line)`` of each python block of a Markdown text."""
    found = [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1, m.start(), m.end())
             for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, line, _, end) in enumerate(found):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(found):
            nlang, nbody, _, nstart, _ = found[i + 1]
            if nlang == "text" and not text[end:nstart].strip():
                expected = nbody
        out.append((body, expected, line))
    return out


def test_blocks_are_found():
    text = "a\n```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\n"
    assert blocks(text) == [("print(1)\n", "1\n", 2), ("x = 2\n", None, 9)]


def test_api_walk_through_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    found = blocks(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 8
    for code, expected, line in found:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, f"{DOC.name}:{line}", "exec"), namespace)
        if expected is not None:
            assert buf.getvalue().rstrip() == expected.rstrip(), f"{DOC.name} line {line}"
    for name in ("ch4-slices.png", "ch4-curtain.png", "samples.kmz", "ch4.nc"):
        assert os.path.getsize(tmp_path / name) > 0, name


@pytest.mark.parametrize("name", ["api.md", "conventions.md"])
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
