"""Journal round trip, CF trajectory Dataset, reading samples back from every format."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.errors import DronesenseError, InputError
from dronesense.flight.rows import COLUMNS, SampleRow
from dronesense.products.exports import write_samples
from dronesense.samples.dataset import from_dataset, to_dataset
from dronesense.samples.files import load_dataset, read_rows
from dronesense.samples.journal import JournalWriter, read_journal

ROWS = [
    SampleRow("2024-05-01T10:00:00.100000Z", 100.0, 0, 1, 52.1, 5.1, 40.25, 30.0, "ch4", "CH4",
              1.93, "1e-6", 0.1, 0, "sync"),
    SampleRow("2024-05-01T10:00:00.200000Z", 200.5, 0, 1, None, None, None, None, "pm2p5",
              "PM2.5", 8.0, "ug m-3", 2.5, 1, "sync"),
    SampleRow(None, 300.0, 1, 2, None, None, None, None, "batt", "BATT,\"x", 11.8, "", None, 2,
              ""),
]


def test_journal_roundtrip_and_torn_line(tmp_path):
    path = tmp_path / "samples.csv"
    with JournalWriter(path) as j:
        j.write(ROWS)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert read_journal(path) == ROWS
    with open(path, "a") as fh:
        fh.write("2024-05-01T10:00:00.3")  # crash mid-line
    assert read_journal(tmp_path) == ROWS
    (tmp_path / "bad.csv").write_text("a,b\n")
    with pytest.raises(InputError):
        read_journal(tmp_path / "bad.csv")


def test_dataset_is_cf_trajectory(tmp_path):
    ds = to_dataset(ROWS)
    assert ds.sizes["obs"] == 3
    assert ds.attrs["featureType"] == "trajectory"
    assert ds["ch4"].attrs["standard_name"] == "mole_fraction_of_methane_in_air"
    assert ds["ch4"].attrs["ancillary_variables"] == "flag position_gap"
    assert np.isnan(ds["ch4"].values[1:]).all()
    assert ds["batt"].attrs["units"] == ""
    assert ds["flag"].attrs["flag_meanings"].split()[1] == "position_gap"
    assert np.isnat(ds.time.values[2])
    path = write_samples(ROWS, tmp_path / "s.nc")
    import xarray as xr

    with xr.open_dataset(path) as back:
        assert back["pm2p5"].values[1] == 8.0
        assert str(back.time.values[0]).startswith("2024-05-01T10:00:00.1")
    with pytest.raises(InputError):
        write_samples(ROWS, tmp_path / "s.txt")


def test_dataset_keeps_wire_name_and_time_source():
    ds = to_dataset(ROWS)
    assert ds["name"].values.tolist() == ["CH4", "PM2.5", 'BATT,"x']
    assert ds["time_source"].values.tolist() == ["sync", "sync", ""]
    assert ds["name"].attrs["long_name"] and ds["time_source"].attrs["long_name"]
    assert "ancillary_variables" not in ds["name"].attrs  # not taken for a quantity
    assert from_dataset(ds) == ROWS


@pytest.mark.parametrize("suffix", [".nc", ".parquet", ".csv"])
def test_rows_round_trip_through_every_samples_format(tmp_path, suffix):
    path = write_samples(ROWS, tmp_path / f"s{suffix}", history="test")
    assert read_rows(path) == ROWS
    assert from_dataset(load_dataset(path)) == ROWS


def test_netcdf_without_name_variables_reads_back_the_quantity_key(tmp_path):
    path = tmp_path / "old.nc"
    to_dataset(ROWS).drop_vars(["name", "time_source"]).to_netcdf(path)
    back = read_rows(path)
    assert [r.name for r in back] == ["ch4", "pm2p5", "batt"]
    assert {r.time_source for r in back} == {""}
    assert [r._replace(name="", time_source="") for r in back] == [
        r._replace(name="", time_source="") for r in ROWS]


def test_load_dataset_inputs_and_errors(tmp_path):
    with JournalWriter(tmp_path / "samples.csv") as j:
        j.write(ROWS)
    ds = load_dataset(tmp_path)
    assert ds.sizes["obs"] == 3 and ds.attrs["source"] == str(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        load_dataset(tmp_path / "missing.nc")
    (tmp_path / "x.tlog").write_bytes(b"")  # a log is paired: this one holds nothing
    with pytest.raises(DronesenseError, match="no positions, readings or clock messages"):
        load_dataset(tmp_path / "x.tlog")
    (tmp_path / "x.txt").write_text("not a log\n")
    with pytest.raises(InputError, match="unknown log type"):
        load_dataset(tmp_path / "x.txt")
    (tmp_path / "bad.nc").write_text("not netcdf")
    with pytest.raises(InputError, match="cannot read samples"):
        load_dataset(tmp_path / "bad.nc")
    empty = tmp_path / "e"
    empty.mkdir()
    JournalWriter(empty / "samples.csv").close()
    with pytest.raises(InputError, match="holds no samples"):
        load_dataset(empty)


def test_load_dataset_pairs_a_log_and_keeps_the_summary(tmp_path):
    import dronesense.accessors  # noqa: F401  (Dataset.dronesense)
    from dronesense.datasets import sample_flight
    from dronesense.samples.files import read_sample_rows

    log = sample_flight()
    ds = load_dataset(log)
    rows, summary = read_sample_rows([log])
    assert from_dataset(ds) == rows  # the same rows as the pairing gives
    assert ds.attrs["source"] == str(log)
    assert ds.attrs["pairing_summary"].splitlines() == summary.lines()
    only = load_dataset([log], quantities=["ch4"])
    assert list(only.dronesense.quantities) == ["ch4"]
    assert int(only["ch4"].count()) == summary.samples["ch4"]
    path = write_samples(rows[:50], tmp_path / "s.nc")
    both = load_dataset([path, log], quantities=["ch4"])
    assert both.attrs["source"] == f"{path}, {log}"
    assert int(both["ch4"].count()) == summary.samples["ch4"] + sum(
        r.quantity == "ch4" for r in rows[:50])


def test_as_paths_misuse():
    from dronesense.samples.files import as_paths

    with pytest.raises(TypeError):
        as_paths(3)
    with pytest.raises(TypeError):
        as_paths([b"a.tlog"])
    with pytest.raises(ValueError):
        as_paths([])
