"""Samples files are a CF discrete-sampling-geometry trajectory that the checkers accept.

The file of the packaged sample flight goes through the IOOS compliance-checker (CF 1.8,
CF 1.11, ACDD 1.3) and is read with netCDF-C (netCDF4-python): trajectories per vehicle and
boot, character arrays instead of variable-length strings, times as doubles that keep every
microsecond.
"""

from __future__ import annotations

import json

import netCDF4
import numpy as np
import pytest

from dronesense.flight.rows import SampleRow
from dronesense.metadata import CREATOR_VARIABLES
from dronesense.products.exports import write_samples
from dronesense.samples.dataset import from_dataset, to_dataset
from dronesense.samples.files import read_rows, read_sample_rows

#: Who made the file: the user gives these through the environment (dronesense.metadata).
CREATOR = {
    "DRONESENSE_CREATOR_NAME": "Air Lab", "DRONESENSE_CREATOR_EMAIL": "air@example.org",
    "DRONESENSE_CREATOR_URL": "https://example.org", "DRONESENSE_INSTITUTION": "Example Univ.",
    "DRONESENSE_PROJECT": "plume test", "DRONESENSE_LICENSE": "CC-BY-4.0",
    "DRONESENSE_PUBLISHER_NAME": "Air Lab", "DRONESENSE_PUBLISHER_EMAIL": "air@example.org",
    "DRONESENSE_PUBLISHER_URL": "https://example.org",
    "DRONESENSE_ACKNOWLEDGEMENT": "test flight",
}
@pytest.fixture(scope="module")
def flight_rows():
    from dronesense.datasets import sample_flight

    rows, _ = read_sample_rows([sample_flight()])
    return rows


@pytest.fixture(scope="module")
def flight_nc(flight_rows, tmp_path_factory):
    path = tmp_path_factory.mktemp("cf") / "samples.nc"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREATOR.items():
            mp.setenv(name, value)
        write_samples(flight_rows, path, history="test", source="sample flight")
    return path


def _check(path, checker: str, tmp_path) -> list[tuple[int, str, list[str]]]:
    """The failed high (3) and medium (2) priority results of an IOOS compliance-checker run."""
    from compliance_checker.cf import cf_base
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    out = tmp_path / f"{checker.replace(':', '_')}.json"
    CheckSuite.load_all_available_checkers()
    # the checker would download the standard-name table the file names: use its packaged one
    original = cf_base.CFBaseCheck._find_cf_standard_name_table
    cf_base.CFBaseCheck._find_cf_standard_name_table = lambda self, ds: False
    try:
        ComplianceChecker.run_checker(str(path), [checker], 0, "normal",
                                      output_filename=str(out), output_format="json")
    finally:
        cf_base.CFBaseCheck._find_cf_standard_name_table = original
    report = json.loads(out.read_text())[checker]
    failed = []
    for weight, key in ((3, "high_priorities"), (2, "medium_priorities")):
        for result in report[key]:
            scored, possible = result["value"]
            if scored < possible:
                failed.append((weight, result["name"], result["msgs"]))
    return failed


def test_cf_1_11_has_no_high_or_medium_failures(flight_nc, tmp_path):
    assert _check(flight_nc, "cf:1.11", tmp_path) == []


def test_cf_1_8_only_notes_the_declared_version(flight_nc, tmp_path):
    # the file declares CF-1.11; checked against 1.8 the only remark is that it says so
    failed = _check(flight_nc, "cf:1.8", tmp_path)
    assert failed == [(2, "§2.6 Attributes",
                       ['§2.6.1 Conventions global attribute does not contain "CF-1.8"'])]


def test_acdd_1_3_has_no_high_or_medium_failures(flight_nc, tmp_path):
    assert _check(flight_nc, "acdd:1.3", tmp_path) == []


def test_cfchecks_finds_nothing_but_the_newer_declared_version(flight_nc, tmp_path):
    """The CF community's checker (cfchecker 4.1 knows CF up to 1.8) on the samples file:
    the trajectory, character arrays and double time raise no error or warning."""
    from tests.support.checkers import NEWER_CF_VERSION, cfchecks_messages

    found = cfchecks_messages(flight_nc, tmp_path)
    assert found == {"FATAL": [], "ERROR": [NEWER_CF_VERSION], "WARN": []}


def test_acdd_without_creator_settings_says_how_to_set_them(flight_rows, tmp_path, monkeypatch):
    for name in CREATOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = write_samples(flight_rows[:300], tmp_path / "anon.nc")
    assert _check(path, "acdd:1.3", tmp_path) == []
    with netCDF4.Dataset(path) as nc:
        assert "DRONESENSE_CREATOR_NAME" in nc.creator_name


def test_acdd_coverage_is_that_of_the_samples(flight_nc, flight_rows):
    paired = [r for r in flight_rows if r.lat is not None]
    times = sorted(r.time_utc for r in flight_rows if r.time_utc)
    with netCDF4.Dataset(flight_nc) as nc:
        a = {k: nc.getncattr(k) for k in nc.ncattrs()}
    assert a["featureType"] == "trajectory" and a["Conventions"] == "CF-1.11, ACDD-1.3"
    assert a["summary"] and "methane" in a["keywords"] and a["title"]
    assert a["geospatial_lat_min"] == pytest.approx(min(r.lat for r in paired), abs=1e-7)
    assert a["geospatial_lon_max"] == pytest.approx(max(r.lon for r in paired), abs=1e-7)
    assert a["geospatial_vertical_max"] == pytest.approx(max(r.alt_amsl for r in paired),
                                                         abs=1e-3)
    assert a["time_coverage_start"] == times[0][:19] + "Z"
    assert a["time_coverage_end"] == times[-1][:19] + "Z"
    assert a["creator_name"] == "Air Lab" and a["history"] == "test"


def test_one_trajectory_per_vehicle_and_boot_as_an_indexed_ragged_array(tmp_path):
    rows = []
    for k in range(30):  # two vehicles interleaved, the first reboots half way
        sysid = 1 + k % 2
        boot = 1 if sysid == 1 and k >= 16 else 0
        rows.append(SampleRow(f"2024-05-01T10:00:{k:02d}.250000Z", 1000.0 * k, boot, sysid,
                              52.0 + k * 1e-5, 5.0, 40.0, 10.0, "ch4", "CH4", 1.9 + k / 100,
                              "1e-6", 0.1, 0, "sync"))
    path = write_samples(rows, tmp_path / "two.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.dimensions["trajectory"].size == 3 and nc.dimensions["obs"].size == 30
        tid = nc["trajectory_id"]
        assert tid.cf_role == "trajectory_id" and tid.dimensions[0] == "trajectory"
        tid.set_auto_chartostring(True)
        ids = [str(s) for s in tid[:]]
        assert ids == ["sysid1_boot0", "sysid1_boot1", "sysid2_boot0"]
        index = nc["trajectory_index"]
        assert index.instance_dimension == "trajectory" and index.dimensions == ("obs",)
        got = [ids[i] for i in index[:].tolist()]
        assert got == [f"sysid{r.sysid}_boot{r.boot}" for r in rows]  # observation order kept
        assert "cf_role" not in nc["sysid"].ncattrs()  # not on the observation dimension
    assert read_rows(path) == rows


def test_no_variable_length_strings_and_time_as_double(flight_nc):
    with netCDF4.Dataset(flight_nc) as nc:
        for name, var in nc.variables.items():
            assert var.dtype is not str, f"{name} is a variable-length string"
            assert var.dtype != np.int64, f"{name} is a 64-bit integer"
        for name in ("name", "time_source", "trajectory_id"):
            assert nc[name].dtype == np.dtype("S1") and len(nc[name].dimensions) == 2
        time = nc["time"]
        assert time.dtype == np.float64 and time.calendar == "standard"
        assert time.units.startswith("microseconds since ")
        first = netCDF4.num2date(time[0], time.units, time.calendar)
        assert 0 <= float(time[:].min()) < 1e6  # the reference is the first whole second
        assert np.array_equal(time[:], np.round(time[:]))  # whole microseconds
        assert first.year == 2025  # a reference near the data, not 1970


def test_times_round_trip_to_the_microsecond(tmp_path):
    rng = np.random.default_rng(7)
    start = np.datetime64("2025-06-14T08:00:00", "us").astype(np.int64)
    offsets = np.sort(rng.integers(0, 3 * 86400 * 10**6, 500))  # three days of microseconds
    from dronesense.flight.rows import format_utc

    rows = [SampleRow(format_utc(int(start + o)), float(k), 0, 1, 52.0, 5.0, 40.0, 10.0, "ch4",
                      "CH4", 2.0, "1e-6", 0.1, 0, "sync") for k, o in enumerate(offsets)]
    rows.append(rows[0]._replace(time_utc=None, time_source=""))  # unknown time: NaT
    path = tmp_path / "t.nc"
    to_dataset(rows).to_netcdf(path)
    assert read_rows(path) == rows
    import xarray as xr

    with xr.open_dataset(path) as ds:
        assert from_dataset(ds.load()) == rows


def test_accessor_writes_the_same_cf_file(tmp_path, flight_rows):
    import xarray as xr

    import dronesense.accessors  # noqa: F401  (Dataset.dronesense)

    ds = to_dataset(flight_rows[:200])
    path = ds.dronesense.to_file(tmp_path / "a.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc["time"].dtype == np.float64 and nc["name"].dtype == np.dtype("S1")
    with xr.open_dataset(path) as back:
        assert from_dataset(back.load()) == flight_rows[:200]
        # written again from what was read: still the CF layout
        back.load().to_netcdf(tmp_path / "b.nc")
    with netCDF4.Dataset(tmp_path / "b.nc") as nc:
        assert nc["time"].dtype == np.float64 and nc["name"].dtype == np.dtype("S1")
