"""The rows of a small CSV file a user gives: a path or an open text file.

Readers of tables that are read whole (stack readings, lab results) start the same way: the
name to give in errors, the text without a byte-order mark, the rows that are not blank, and
a one-line error when there is no header and row.

Examples
--------
>>> import io
>>> f = io.StringIO("id,value\\n\\nA,1\\n")
>>> read_rows(f, "lab results")
('<lab results>', [['id', 'value'], ['A', '1']])
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from dronesense.errors import InputError, read_text

__all__ = ["read_rows"]


def read_rows(path_or_file, what: str, unnamed: str | None = None
              ) -> tuple[str, list[list[str]]]:
    """``(where, rows)``: the file's name for errors and its rows that are not blank.

    Parameters
    ----------
    path_or_file
        A path or an open text file (named by its ``name``).
    what
        What the file holds, for errors (``"stack readings"``).
    unnamed
        The name of an open file without one (default ``<what>``).

    Raises
    ------
    InputError
        The file cannot be read, or it has no header and at least one row
        (``no stack readings``).
    """
    where = str(path_or_file) if isinstance(path_or_file, str | Path) else \
        str(getattr(path_or_file, "name", unnamed or f"<{what}>"))
    text = path_or_file.read() if hasattr(path_or_file, "read") else read_text(path_or_file,
                                                                                what)
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip()
                                                                             for c in r)]
    if len(rows) < 2:
        raise InputError(f"no {what}", path=where)
    return where, rows
