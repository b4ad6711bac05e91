"""`split_boots_columns` (a tlog's event columns split at once) against `split_boots` (the
events one by one): the same tracks, readings and counts on simulated logs with duplicates,
reordered packets and GPS loss, one vehicle or two on one link; one vehicle's segments share
the log's columns (read-only views), not copies."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.flight.boots import split_boots, split_boots_columns, track_stats
from dronesense.quantities import NameTable
from dronesense.sources.logs import load_events
from tests.support.sim import curtain_log, merged_log


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("boots")
    one = curtain_log(d / "one.tlog", "--seed", "5", "--fault",
               "dup=0.02,reorder=0.01,gpsloss=100:104,systime_jitter=30")
    other = curtain_log(d / "other.tlog", "--seed", "6", "--sysid", "2", "--fault", "dup=0.01")
    both = merged_log(d / "both.tlog", one, other)  # two vehicles on one link
    return {"one": one, "both": both}


@pytest.mark.parametrize("name", ["one", "both"])
def test_columns_split_like_the_events(logs, name):
    names = NameTable.default()
    log = load_events(logs[name])
    got = split_boots_columns(log.columns, names)
    want = split_boots(list(log.events), names)
    assert got is not None and list(got.segments) == list(want.segments)
    assert (got.out_of_order, got.no_fix) == (want.out_of_order, want.no_fix)
    assert want.no_fix > 0
    for key, seg in want.segments.items():
        mine = got.segments[key]
        for a, b in zip(mine.track.arrays(), seg.track.arrays(), strict=True):
            assert np.array_equal(a, b)
        assert mine.track.dropped == seg.track.dropped
        assert sorted(mine.readings) == sorted(seg.readings)
        for q, (t, v) in seg.readings.items():
            assert np.array_equal(mine.readings[q][0], t)
            assert np.array_equal(mine.readings[q][1], v)
    assert track_stats(got, 0.5) == track_stats(want, 0.5)
    if name == "both":
        assert len(got.segments) == 2


def test_one_vehicle_shares_the_columns(logs):
    log = load_events(logs["one"])
    cols = log.columns
    seg = split_boots_columns(cols, NameTable.default()).segments[(1, 0)]
    track_t, track_ok, _ = seg.track.arrays()
    assert not seg.track.dropped
    assert np.shares_memory(track_t, cols.fixes["time_boot_ms"])
    assert np.shares_memory(track_ok, cols.fixes["ok"])
    assert not track_t.flags.writeable  # views of the log are read-only
