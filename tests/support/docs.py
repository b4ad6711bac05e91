"""Run the Python walk-through of a Markdown page as a reader would, checking what it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def python_blocks(text: str) -> list[tuple[str, str | None, int]]:
    """``(code, expected output or None, line)`` of each python block of a Markdown text.

    A python block followed directly by a ``text`` block expects that text as its output.
    """
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


def run_walk_through(doc: Path, *, min_blocks: int = 1) -> dict:
    """Run the python blocks of ``doc`` in order in one namespace (in the current directory);
    each block followed by a ``text`` block must print exactly that text. Returns the
    namespace."""
    namespace: dict = {"__name__": "__main__"}
    found = python_blocks(doc.read_text(encoding="utf-8"))
    assert len(found) >= min_blocks, f"{doc.name}: {len(found)} python blocks"
    for code, expected, line in found:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, f"{doc.name}:{line}", "exec"), namespace)
        if expected is not None:
            assert buf.getvalue().rstrip() == expected.rstrip(), f"{doc.name} line {line}"
    return namespace
