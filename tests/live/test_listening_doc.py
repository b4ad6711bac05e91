"""The Python walk-through of ``docs/listening.md`` runs as written and prints what it shows.

Its ```` ```python ```` blocks run in order in one namespace, in a fresh directory that has the
repository's ``missions``; a block followed directly by a ```` ```text ```` block must print
exactly that text.
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from tests.support.paths import MISSIONS, ROOT

DOC = ROOT / "docs" / "listening.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def python_blocks(text: str) -> list[tuple[str, str | None, int]]:
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


@pytest.mark.slow
def test_listening_walk_through_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "missions").symlink_to(MISSIONS)
    namespace: dict = {"__name__": "__main__"}
    found = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 4
    for code, expected, line in found:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, f"{DOC.name}:{line}", "exec"), namespace)
        if expected is not None:
            assert buf.getvalue().rstrip() == expected.rstrip(), f"{DOC.name} line {line}"
    assert (tmp_path / "flights" / "scripted" / "flight.tlog").stat().st_size > 0
