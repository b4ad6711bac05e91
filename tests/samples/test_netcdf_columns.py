"""The direct netCDF writer of sample columns gives the file xarray writes from the Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import dronesense
from dronesense.flight.columns import SampleColumns
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import SampleRow
from dronesense.samples.dataset import from_dataset, to_dataset
from dronesense.samples.netcdf import write_columns_netcdf

CURTAIN = Path(dronesense.__file__).parent / "datasets" / "data" / "plume-curtain.tlog"

ROWS = [  # two vehicles, a reboot, a reading without UTC, an unmapped and a non-ASCII name
    SampleRow("2024-05-01T10:00:00.100000Z", 100.0, 0, 1, 52.1, 5.1, 40.25, 30.0, "ch4", "CH4",
              1.93, "1e-6", 0.1, 0, "sync"),
    SampleRow("2024-05-01T10:00:00.200000Z", 200.5, 0, 1, None, None, None, None, "pm2p5",
              "PM2.5", 8.0, "ug m-3", 2.5, 1, "sync"),
    SampleRow(None, 300.0, 1, 2, None, None, None, None, "batt", "BATT,\"x", 11.8, "", None, 2,
              ""),
    SampleRow("2024-05-01T10:00:07.000001Z", 50.0, 1, 1, 52.2, 5.2, 41.0, 31.0, "t\u00e9",
              "T\u00c9", 21.5, "degC", 0.0, 0, "receive"),
]


def _both(cols, tmp_path):
    fast, slow = tmp_path / "fast.nc", tmp_path / "slow.nc"
    write_columns_netcdf(cols, fast, history="h", source="s")
    to_dataset(cols, history="h", source="s").to_netcdf(slow)
    a, b = xr.load_dataset(fast), xr.load_dataset(slow)
    for ds in (a, b):
        for key in ("id", "date_created", "date_modified"):
            ds.attrs.pop(key)
    return a, b


def _same_encoding(a, b):
    for name in b.variables:
        for key in ("dtype", "units", "calendar", "_FillValue", "char_dim_name"):
            assert str(a[name].encoding.get(key)) == str(b[name].encoding.get(key)), (name, key)


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], ROWS[1:3]], ids=["mixed", "one", "nat"])
def test_same_file_as_xarray(rows, tmp_path):
    cols = SampleColumns.from_rows(rows)
    a, b = _both(cols, tmp_path)
    assert a.identical(b)
    assert list(a.variables) == list(b.variables)
    _same_encoding(a, b)
    assert from_dataset(a) == from_dataset(b)


def test_paired_flight_same_as_xarray(tmp_path):
    cols, _ = pair_logs([CURTAIN], as_columns=True)
    assert len(cols) > 1000
    a, b = _both(cols, tmp_path)
    assert a.identical(b)
    _same_encoding(a, b)
    # the values are the pairing's, untouched
    assert np.array_equal(a["time_boot_ms"].values, cols.time_boot_ms)


def test_no_time_known(tmp_path):
    # xarray 2026.9 cannot encode an all-NaT time variable; the direct writer can
    path = write_columns_netcdf(SampleColumns.from_rows(ROWS[2:3]), tmp_path / "nat.nc")
    ds = xr.load_dataset(path)
    assert np.isnat(ds["time"].values).all()
    assert from_dataset(ds) == ROWS[2:3]


def test_empty_and_unwritable(tmp_path):
    path = write_columns_netcdf(SampleColumns.empty(), tmp_path / "e.nc")
    assert xr.load_dataset(path).attrs["comment"] == "no samples"
    from dronesense.errors import InputError

    with pytest.raises(InputError):
        write_columns_netcdf(SampleColumns.from_rows(ROWS), tmp_path / "missing" / "x.nc")
