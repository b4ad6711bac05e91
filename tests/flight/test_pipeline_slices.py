"""`replay` of a tlog larger than one slice takes its event columns from the sliced reader
(`tlogchunks.tlog_event_columns`): the same samples as the whole-file scan, on a simulated
log with faults."""

from __future__ import annotations

import subprocess

import numpy as np

from dronesense.flight.pipeline import replay_columns
from dronesense.sources import tlogchunks
from tests.support.paths import MISSIONS, ROOT, sim_cmd


def test_replay_of_a_big_tlog_reads_it_in_slices(tmp_path, monkeypatch):
    path = tmp_path / "f.tlog"
    subprocess.run(sim_cmd("--mission", MISSIONS / "plume-curtain.plan", "--speedup", "0",
                           "--connect", "none", "--quiet", "--tlog", path, "--seed", "8",
                           "--fault", "dup=0.02,reorder=0.01,clockjump=60:2,garbage=0.01"),
                   check=True, cwd=ROOT)
    whole = replay_columns(path)
    calls = []
    sliced_columns = tlogchunks.tlog_event_columns

    def sliced(p):
        calls.append(p)
        return sliced_columns(p, chunk_bytes=4096)  # many slices: records straddle edges

    monkeypatch.setattr(tlogchunks, "CHUNK_BYTES", 1024)  # the file counts as big
    monkeypatch.setattr(tlogchunks, "tlog_event_columns", sliced)
    got = replay_columns(path)
    assert calls == [path]
    assert len(got) == len(whole) > 100
    for a, b in zip(got.rows(), whole.rows(), strict=True):
        assert a == b or (a._replace(value=0) == b._replace(value=0)
                          and np.isnan(a.value) and np.isnan(b.value))
