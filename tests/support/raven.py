"""The real little-RAVEN flight (Vulcano 2022) for tests: its file, its example map, the
raw rows read with the ``csv`` module, and counts taken from them."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from tests.support.paths import MAPS, REAL_FLIGHTS

RAVEN = REAL_FLIGHTS / "little-raven-vulcano-flight1.txt"
MAP = MAPS / "little-raven-vulcano.toml"
needs_raven = pytest.mark.skipif(not RAVEN.exists(), reason="real-flight data not beside "
                                                            "the clone")


def raw_rows() -> list[dict[str, str]]:
    """The file's rows as the ``csv`` module reads them."""
    with open(RAVEN, newline="") as fh:
        return list(csv.DictReader(fh))


def outside(raw, column: str, lo: float, hi: float) -> int:
    """How many raw rows have ``column`` outside ``[lo, hi]``."""
    return sum(not lo <= float(r[column]) <= hi for r in raw)


def flag_counts(rows) -> Counter:
    """(quantity, flag) -> number of paired rows."""
    return Counter((r.quantity, int(r.flag)) for r in rows)
