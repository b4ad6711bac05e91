"""Samples files read with numpy's time and text decoding give what xarray's decoders give:
the same values, attributes and encodings; what numpy does not decode falls back to xarray."""

import numpy as np
import pytest
import xarray as xr

from dronesense.datasets import sample_flight
from dronesense.samples.cfdecode import decode_strings, decode_times
from dronesense.samples.files import load_dataset


def _same_encoding(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in set(a) - {"source"}:
        x, y = a[key], b[key]
        assert (isinstance(x, float) and np.isnan(x) and np.isnan(y)) or np.array_equal(
            np.asarray(x), np.asarray(y)), key


def _as_xarray_reads(path):
    with xr.open_dataset(path) as ds:
        return ds.load()


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfdecode") / "samples.nc"
    load_dataset(sample_flight(), lags={"ch4": "auto"}).to_netcdf(path)
    return path


def test_samples_file_reads_as_xarray_reads_it(samples_file):
    with xr.open_dataset(samples_file, decode_times=False, concat_characters=False) as raw:
        raw = raw.load()
    assert decode_times(decode_strings(raw)) is not None  # numpy decodes this file
    ours = load_dataset(samples_file)
    theirs = _as_xarray_reads(samples_file)
    xr.testing.assert_identical(ours, theirs)
    for name, var in ours.variables.items():
        assert var.dtype == theirs[name].dtype, name
        _same_encoding(var.encoding, theirs[name].encoding)
    assert ours["time"].dtype == np.dtype("M8[ns]") and ours["name"].dtype == object


@pytest.mark.parametrize("change", ["fractional", "calendar", "latin-1"])
def test_what_numpy_does_not_decode_is_left_to_xarray(samples_file, tmp_path, change):
    with xr.open_dataset(samples_file, decode_times=False, concat_characters=False) as raw:
        raw = raw.load()
    if change == "fractional":
        raw["time"] = raw["time"] + 0.5
        assert decode_times(raw) is None
    elif change == "calendar":
        raw["time"].attrs["calendar"] = "noleap"
        assert decode_times(raw) is None
    else:
        raw["name"].attrs["_Encoding"] = "latin-1"
        assert decode_strings(raw) is None
    path = tmp_path / "other.nc"
    raw.to_netcdf(path)
    xr.testing.assert_identical(load_dataset(path), _as_xarray_reads(path))
