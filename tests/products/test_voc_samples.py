"""Laboratory results joined back to where and when each sample was taken, and exported with
the flight's exporters (netCDF, CSV journal, KML), from a real telemetry log with sampling
events (tests/sources/test_sampling_events.py builds the same kind of log)."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
import xarray as xr
from pymavlink.dialects.v20 import ardupilotmega as mav2

from dronesense.cli.main import main
from dronesense.errors import InputError
from dronesense.products.voc_samples import join_lab_results, voc_rows, write_voc_samples
from dronesense.programs import voc_samples
from dronesense.sources.lab_results import read_lab_results
from tests.support.programs import STACK_FIELD, STACK_PLAN, T0, fly, insert_messages, read_track

LAB = """sample_id,benzene [ppbv],toluene [ug/m3],"m,p-xylene [ppb]"
1,1.25,3.4,0.30
C-02,0.80,<0.1,ND
X-99,2.00,5.0,0.10
"""


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voc")
    plain = fly(tmp, "stack", STACK_PLAN, STACK_FIELD, seed=3, track=True)
    events = [(T0 + 90.02, mav2.MAVLink_named_value_int_message(90_000, b"CANISTER", 1), False),
              (T0 + 150.0, mav2.MAVLink_command_long_message(1, 1, 183, 0, 9, 1900, 0, 0, 0, 0,
                                                             0), True)]
    tlog = insert_messages(plain, tmp / "voc.tlog", events)
    lab = tmp / "lab.csv"
    lab.write_text(LAB)
    return tlog, lab, read_track(tmp / "stack-track.csv")


def test_lab_results_reader(flight):
    lab = read_lab_results(flight[1])
    assert lab["sample_id"].values.tolist() == ["1", "C-02", "X-99"]
    assert lab["benzene"].attrs["units"] == "ppb" and lab["toluene"].attrs["units"] == "ug/m3"
    assert lab["m_p_xylene"].attrs["below_detection"] == 1
    assert np.isnan(float(lab["toluene"][1]))


def test_long_layout_and_errors(tmp_path):
    long = "sample_id,compound,concentration,units\nA,Benzene,1.5,ppbv\nA,Toluene,2,ppb\n"
    lab = read_lab_results(io.StringIO(long))
    assert float(lab["benzene"][0]) == 1.5 and float(lab["toluene"][0]) == 2.0
    with pytest.raises(InputError, match="are not units"):
        read_lab_results(io.StringIO("sample_id,benzene [bananas]\nA,1\n"))
    with pytest.raises(InputError, match="no sample id column"):
        read_lab_results(io.StringIO("x,benzene [ppb]\nA,1\n"))


def test_joined_where_and_when_nothing_lost(flight):
    tlog, lab, track = flight
    joined = voc_samples(tlog, lab, ids=["C-02"])
    assert joined["sample_id"].values.tolist() == ["1", "C-02", "X-99"]
    assert joined["matched"].values.tolist() == [0, 0, 2]
    for i, t_ms in enumerate((90_000, 150_000)):
        assert float(joined["lat"][i]) == pytest.approx(
            np.interp(t_ms, track["time_boot_ms"], track["lat"]), abs=2e-6)
        assert float(joined["height"][i]) == pytest.approx(
            np.interp(t_ms, track["time_boot_ms"], track["height"]), abs=0.3)
    assert np.isnan(float(joined["lat"][2]))  # the lab's extra sample: kept, no position
    assert float(joined["benzene"][0]) == 1.25 and float(joined["benzene"][2]) == 2.0
    assert joined.attrs["featureType"] == "point"


def test_exported_with_the_flight_exporters(flight, tmp_path):
    joined = voc_samples(flight[0], flight[1], ids=["C-02"])
    rows = voc_rows(joined)
    assert len(rows) == 3 + 1 + 3  # results with a value: 3 + 1 + 3
    for suffix in ("nc", "csv", "kml", "kmz"):
        write_voc_samples(joined, tmp_path / f"v.{suffix}")
    nc = xr.open_dataset(tmp_path / "v.nc")
    assert nc["benzene"].attrs["units"] == "ppb" and nc.attrs["featureType"] == "point"
    with open(tmp_path / "v.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    benz = [r for r in table if r["quantity"] == "benzene"]
    assert [r["name"] for r in benz] == ["1", "C-02", "X-99"]
    assert benz[0]["units"] == "ppb" and benz[2]["lat"] == "" and benz[2]["flag"] == "2"
    kml = (tmp_path / "v.kml").read_text()
    assert "benzene" in kml and "<Placemark" in kml
    assert kml.count("<Placemark") >= 4  # the located results (the unlocated one is not drawn)
    assert "doc.kml" in zipfile.ZipFile(tmp_path / "v.kmz").namelist()
    with pytest.raises(InputError, match="more than once"):
        join_lab_results(joined.isel(sample=[0, 0]), read_lab_results(flight[1]))


def test_voc_command(flight, tmp_path, capsys):
    out = tmp_path / "v.csv"
    assert main(["voc", str(flight[0]), "--lab", str(flight[1]), "--ids", "C-02",
                 "-o", str(out), "-o", str(tmp_path / "v.kml")]) == 0
    text = capsys.readouterr().out
    assert "C-02: 2025-06-14T08:02:30Z" in text and "benzene 0.8 ppb" in text
    assert "without a sampling event (kept, no position): X-99" in text
    assert out.stat().st_size > 0
