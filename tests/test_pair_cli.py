"""The ``dronesense pair`` command."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr
from postflight_helpers import BIN, needs_bin, run_sim

from dronesense.cli import main


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return run_sim(tmp_path_factory.mktemp("cli"), "garbage=0.005", seed=5)


@pytest.mark.parametrize("suffix", [".nc", ".csv", ".parquet"])
def test_pair_writes_each_format(sim, tmp_path, capsys, suffix):
    out = tmp_path / f"samples{suffix}"
    rc = main(["pair", str(sim["tlog"]), "--out", str(out), "--quantity", "ch4",
               "--lag", "ch4=1.0", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "ch4:" in text and "skipped" in text and "lag ch4: 1.00 s" in text
    if suffix == ".nc":
        ds = xr.open_dataset(out)
        assert ds.attrs["featureType"] == "trajectory"
        assert ds["ch4"].attrs["units"] == "1e-6"
        assert "flag_meanings" in ds["flag"].attrs
        assert "dronesense pair" in ds.attrs["history"]
        n = ds.sizes["obs"]
    elif suffix == ".csv":
        n = len(pd.read_csv(out))
    else:
        n = len(pd.read_parquet(out))
    assert n > 1000


def test_nothing_usable_exits_non_zero_with_a_reason(tmp_path, capsys):
    junk = tmp_path / "junk.tlog"
    junk.write_bytes(bytes(range(256)) * 10)
    rc = main(["pair", str(junk), "--out", str(tmp_path / "s.nc"), "--quiet"])
    assert rc == 2
    assert "nothing usable" in capsys.readouterr().err


@needs_bin
def test_pair_dataflash_without_readings_says_why(tmp_path, capsys):
    rc = main(["pair", str(BIN), "--out", str(tmp_path / "s.csv"), "--quiet"])
    assert rc == 2
    assert "no sensor readings" in capsys.readouterr().err


@needs_bin
def test_pair_dataflash_custom_record(tmp_path, capsys):
    records = tmp_path / "records.toml"
    records.write_text('[records.BARO]\nPress = "pressure"\n')
    out = tmp_path / "s.csv"
    rc = main(["pair", str(BIN), "--records", str(records), "--out", str(out), "--quiet"])
    assert rc == 0
    df = pd.read_csv(out)
    assert set(df["quantity"]) == {"pressure"} and (df["flag"] == 0).any()
