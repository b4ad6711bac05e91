"""The batch path (tlog scanned as arrays -> event columns -> Pipeline.run_arrays) against the
streaming path (pymavlink packets -> MessageAdapter -> Pipeline.run), row for row and flag for
flag, on simulator logs with faults (duplicates, reordering, clock step, jitter, drift, GPS
loss, garbage, corruption, a reboot, two vehicles on one link)."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.flight.columns import SampleColumns
from dronesense.flight.pipeline import Pipeline, replay
from dronesense.flight.postflight import pair_logs
from dronesense.samples.dataset import to_dataset
from dronesense.samples.journal import format_columns, format_row
from dronesense.sources.framing import RawMessage, iter_packets
from dronesense.sources.messages import MessageAdapter, float32_decimal
from dronesense.sources.tlogevents import event_columns, float32_decimals
from dronesense.sources.tlogscan import scan_tlog
from tests.support.sim import curtain_log, merged_log

FAULTS = ("dup=0.02,reorder=0.01,clockjump=60:2,systime_jitter=30,clockdrift=80,"
          "gpsloss=100:104,garbage=0.01,corrupt=0.005")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    faulty = curtain_log(d / "faulty.tlog", "--seed", "3", "--fault", FAULTS)
    reboot = curtain_log(d / "reboot.tlog", "--seed", "4", "--sysid", "2", "--fault",
                  "reboot=120,dup=0.01")
    both = merged_log(d / "both.tlog", faulty, reboot)  # two vehicles on one link
    second = curtain_log(d / "second.tlog", "--seed", "5", "--sysid", "2", "--fault",
                         "dup=0.01,reorder=0.01")
    pair = merged_log(d / "pair.tlog", faulty, second)  # two vehicles, no reboot: as arrays
    return {"faulty": faulty, "reboot": reboot, "both": both, "pair": pair}


def _adapter_events(path):
    adapter = MessageAdapter()
    out = []
    for p in iter_packets(path):
        if type(p.msg) is RawMessage:
            continue
        out.extend((ev, p.recv_us) for ev in adapter.events(p.msg))
    return out, adapter


@pytest.mark.parametrize("name", ["faulty", "reboot", "both"])
def test_event_columns_are_the_adapter_events(logs, name):
    cols = event_columns(scan_tlog(logs[name]))
    truth, adapter = _adapter_events(logs[name])
    assert cols.events() == truth
    assert cols.duplicates == adapter.duplicates > 0  # copies dropped by the same rule


@pytest.mark.parametrize("name", ["faulty", "reboot", "both", "pair"])
@pytest.mark.parametrize("lags", [None, {"ch4": 0.9, "temperature": 2.5}])
def test_run_arrays_gives_the_streaming_rows(logs, name, lags):
    truth, _ = _adapter_events(logs[name])
    expected = Pipeline(lags=lags).run(truth)
    pipe = Pipeline(lags=lags)
    cols = pipe.run_arrays(event_columns(scan_tlog(logs[name])))
    assert cols.rows() == expected  # every field of every row, flags and UTC included
    ref = Pipeline(lags=lags)
    ref.run(truth)
    assert pipe.pairer.counts == ref.pairer.counts
    assert pipe.pairer.latest == ref.pairer.latest
    for sysid, st in ref.pairer.states.items():
        mine = pipe.pairer.states[sysid]
        assert (mine.boot, mine.reboots, mine.has_flown, mine.status) == (
            st.boot, st.reboots, st.has_flown, st.status)
        assert mine.clock.reports() == st.clock.reports()
        assert len(mine.track) == len(st.track)


def test_faulty_log_takes_the_array_path(logs):
    from dronesense.flight.batch import pair_columns
    from dronesense.flight.pairing import Pairer

    c = event_columns(scan_tlog(logs["faulty"]))
    cols = pair_columns(Pairer(), c.fixes, c.readings, c.syncs, c.statuses, c.names)
    assert cols is not None and set(np.unique(cols.flag).tolist()) >= {0, 4}
    c = event_columns(scan_tlog(logs["pair"]))  # two vehicles, no reboot: as arrays too
    cols = pair_columns(Pairer(), c.fixes, c.readings, c.syncs, c.statuses, c.names)
    assert cols is not None and set(np.unique(cols.sysid).tolist()) == {1, 2}
    c = event_columns(scan_tlog(logs["reboot"]))  # a reboot: event by event
    assert pair_columns(Pairer(), c.fixes, c.readings, c.syncs, c.statuses, c.names) is None


def test_replay_and_pair_logs_agree_with_packets(logs):
    path = logs["faulty"]
    expected = Pipeline().run_packets(iter_packets(path))
    assert replay(path) == expected
    rows, summary = pair_logs([path], max_gap_s=1.0)
    cols, _ = pair_logs([path], max_gap_s=1.0, as_columns=True)
    assert isinstance(cols, SampleColumns) and cols.rows() == rows
    assert sum(summary.samples.values()) == len(rows)


def test_writers_from_columns_match_rows(logs):
    rows = replay(logs["both"])
    cols = SampleColumns.from_rows(rows)
    assert cols.rows() == rows
    text = format_columns(cols)
    assert [list(r) for r in zip(*text, strict=True)] == [format_row(r) for r in rows]
    a = to_dataset(rows, history="h", source="s")
    b = to_dataset(cols, history="h", source="s")
    for ds in (a, b):  # a fresh uuid and creation time per Dataset
        ds.attrs.pop("id", None)
        ds.attrs.pop("date_created", None)
    assert a.identical(b)


def test_float32_decimals_match_the_scalar_rule():
    rng = np.random.default_rng(7)
    n = 200_000
    values = np.concatenate([
        rng.standard_normal(n).astype(np.float32)
        * np.float32(10) ** rng.integers(-9, 10, n).astype(np.float32),
        (np.arange(50_000) / 1000).astype(np.float32),
        (np.arange(-5000, 5000) / 8).astype(np.float32),
        np.frombuffer(rng.bytes(4 * 50_000), dtype=np.float32),
        np.array([0.0, -0.0, 1e-45, 3.4028235e38, np.inf, -np.inf, 1.9, 0.1], np.float32),
    ])
    got = float32_decimals(values)
    want = np.array([float32_decimal(v) for v in values.astype(float).tolist()])
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    assert same.all(), values[~same][:5]


@pytest.mark.parametrize("name", ["faulty", "reboot", "both"])
def test_a_log_paired_in_slices_gives_the_same_samples(logs, name):
    """Garbage, corrupt packets, copies, a reboot, two vehicles: read in 16 KB slices (records
    cut by the slice edges), the events, rows and summary are those of the whole file."""
    from dronesense.sources.tlogchunks import tlog_event_columns

    whole = event_columns(scan_tlog(logs[name]))
    sliced = tlog_event_columns(logs[name], chunk_bytes=16_384)
    assert sliced.events() == whole.events() and sliced.duplicates == whole.duplicates > 0
    rows, summary = pair_logs([logs[name]], max_gap_s=1.0)
    cols, chunked = pair_logs([logs[name]], max_gap_s=1.0, as_columns=True, chunk_bytes=16_384)
    assert cols.rows() == rows
    assert chunked.lines() == summary.lines()


def test_readings_interpolated_in_blocks_give_the_same_rows(logs, monkeypatch):
    from dronesense.flight import batch

    cols = event_columns(scan_tlog(logs["faulty"]))
    whole = Pipeline(lags={"ch4": 0.9}).run_arrays(cols)
    monkeypatch.setattr(batch, "BLOCK", 97)  # blocks that cut the readings anywhere
    assert len(whole) > 10 * 97
    assert Pipeline(lags={"ch4": 0.9}).run_arrays(cols).rows() == whole.rows()
