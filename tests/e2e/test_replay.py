"""`dronesense replay` on a recorded tlog: the same rows as the live path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import xarray as xr

from dronesense.flight.pipeline import replay
from dronesense.live.recorder import Recorder
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.link import Chunk
from tests.support.link import ScriptedVehicle

BIN = Path(sys.executable).with_name("dronesense")


def record(tmp_path, **kw) -> Path:
    out = tmp_path / "s"
    rec = Recorder(out, **kw)
    packets = ScriptedVehicle(duration_s=3.0).packets()
    for k, (_, raw) in enumerate(packets):
        rec.feed(Chunk(raw, 1_714_557_600_000_000 + k, ("127.0.0.1", 1), True))
    rec.close()
    return out


def test_replay_equals_journal_with_lags(tmp_path):
    out = record(tmp_path, lags={"ch4": 0.25}, max_gap_s=0.5)
    rows = read_journal(out)
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in rows]
    assert [format_row(r) for r in replay(out / "flight.tlog", lags={"ch4": 0.25},
                                          max_gap_s=0.5)] == [format_row(r) for r in rows]


def test_replay_cli_writes_netcdf_and_detects_difference(tmp_path):
    out = record(tmp_path)
    nc = tmp_path / "samples.nc"
    res = subprocess.run([str(BIN), "replay", str(out), "--out", str(nc)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    with xr.open_dataset(nc) as ds:
        assert ds.attrs["featureType"] == "trajectory"
        assert ds.sizes["obs"] == len(read_journal(out))
    res = subprocess.run([str(BIN), "replay", str(out)], capture_output=True, text=True)
    assert res.returncode == 0 and "identical" in res.stdout
    res = subprocess.run([str(BIN), "replay", str(out), "--lag", "ch4=1"], capture_output=True,
                         text=True)
    assert res.returncode == 1 and "differs" in res.stderr
    res = subprocess.run([str(BIN), "replay", str(tmp_path / "nope")], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "no such file" in res.stderr
