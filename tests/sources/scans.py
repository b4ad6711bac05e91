"""Helpers of the tlog scanner tests: damage a log the same way, compare two scans exactly."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

import numpy as np

from dronesense.sources.tlogscan import TlogScan


def damage(data: bytearray, rng: random.Random, flips: int, inserts: int, longest: int,
           start: int = 0) -> bytearray:
    """Change ``flips`` random bytes of ``data`` and insert ``inserts`` runs of 1 to
    ``longest - 1`` random bytes, all at or after ``start``, in place; returns ``data``."""
    for _ in range(flips):
        data[rng.randrange(start, len(data))] = rng.randrange(256)
    for _ in range(inserts):
        i = rng.randrange(start, len(data))
        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, longest)))
    return data


def same_scan(a: TlogScan, b: TlogScan,
              fields: Mapping[str, Iterable[str]] | None = None) -> None:
    """Two scans hold the same records, regions, counts and columns (dtypes and values); with
    ``fields``, ``a`` holds only those of ``b``'s columns (and the ``_`` ones)."""
    assert (a.records, a.skipped, a.counts, a.size) == (b.records, b.skipped, b.counts, b.size)
    assert list(a.counts) == list(b.counts)
    assert a.messages.keys() == b.messages.keys()
    for name, cols in b.messages.items():
        assert np.array_equal(a.order[name], b.order[name]), name
        keep = [f for f in cols if fields is None or f.startswith("_")
                or f in fields.get(name, cols)]
        assert list(a.messages[name]) == keep, name
        for f in keep:
            assert a.messages[name][f].dtype == cols[f].dtype, (name, f)
            assert np.array_equal(a.messages[name][f], cols[f]), (name, f)
