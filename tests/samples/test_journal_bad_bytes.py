"""``read_journal`` on a file that is not UTF-8 text: one InputError naming the file."""

from __future__ import annotations

import pytest

from dronesense.errors import InputError
from dronesense.samples.journal import COLUMNS, read_journal


def test_non_utf8_journal_is_one_input_error(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_bytes(",".join(COLUMNS).encode() + b"\n\xff\xfe\x00garbage\n")
    with pytest.raises(InputError, match="not UTF-8") as err:
        read_journal(path)
    assert "samples.csv" in str(err.value) and "\n" not in str(err.value)
    assert read_journal.__doc__ and "UTF-8" in read_journal.__doc__
