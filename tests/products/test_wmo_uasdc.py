"""The WMO UAS-DC export, checked against the campaign's rules and the simulator's truth.

The campaign's converter (``uas2bufr.py`` of synoptic/wmo-uasdc) is not on PyPI, so it is not
run here; what it needs from a file is encoded as assertions instead:

- the file name passes its check ``UASDC_<3 digits>_<1-5 alphanumerics>_<14 digits>Z.nc``
  and has a fourth ``_`` field;
- it reads the variables by name (``time``, ``lat``, ``lon``, ``altitude``,
  ``air_temperature``, ``relative_humidity``, ``humidity_mixing_ratio``, ``air_pressure``,
  ``dew_point_temperature``) and the attribute ``platform_name``;
- it cuts the origin of time out of the ``units`` text by position (the third word, date and
  time joined by ``T``) and adds every time value to it as seconds, so the values must be
  seconds and none may be missing;
- the templates' global attributes: ``Conventions``, ``wmo__cf_profile``, ``featureType``,
  ``platform_name``, ``flight_id``, ``site_terrain_elevation_height``, ``processing_level``;
  temperature in K, pressure in Pa, humidity mixing ratio in kg/kg, relative humidity in %.

The flight is the pm-profile mission with a barometer (``PRESS``, hPa, the standard atmosphere
at the vehicle's altitude) added to its payload; TEMP, RH and PRESS report at their own times.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import cf_units
import netCDF4
import numpy as np
import pytest
import xarray as xr

from dronesense.cli.main import main
from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.flight.rows import SampleRow
from dronesense.products.wmo_uasdc import describe, to_wmo_uasdc, write_wmo_uasdc
from dronesense.samples.dataset import to_dataset
from dronesense.samples.files import load_dataset
from tests.support.paths import MISSIONS, ROOT

OPERATOR, AIRFRAME = "007", "AB123"
BAROMETER = '\n[[sensor]]\nname = "PRESS"\nid = "bmp-p"\nquantity = "pressure"\n' \
    'rate_hz = 1.0\nnoise = 0.02\n'


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """pm-profile flown with TEMP, RH and PRESS; its samples, truth and UAS-DC file."""
    tmp = tmp_path_factory.mktemp("uasdc")
    field = tmp / "pm-profile-baro.toml"
    field.write_text((MISSIONS / "pm-profile.toml").read_text() + BAROMETER)
    tlog, truth = tmp / "flight.tlog", tmp / "truth.csv"
    subprocess.run([sys.executable, "-m", "firmware_sim", "--mission",
                    str(MISSIONS / "pm-profile.plan"), "--field", str(field), "--speedup", "0",
                    "--seed", "3", "--connect", "none", "--quiet", "--tlog", str(tlog),
                    "--truth", str(truth)], check=True, cwd=ROOT, timeout=120)
    samples = load_dataset(tlog)
    path = write_wmo_uasdc(samples, tmp / "uasdc", operator=OPERATOR, airframe=AIRFRAME,
                           environ={})
    with truth.open() as fh:
        rows = list(csv.DictReader(fh))
    by_name = {}
    for r in rows:
        by_name.setdefault(r["name"], []).append(r)
    return {"tlog": tlog, "samples": samples, "path": path, "truth": by_name, "tmp": tmp}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _converter_times(nc) -> list[datetime]:
    """The times as the converter computes them: the origin cut out of the units text by
    position, each value added as seconds."""
    units = nc["time"].units
    words = units.split(" ")
    assert len(words) == 3 and words[0] == "seconds" and words[1] == "since", units
    date, _, clock = words[2].partition("T")
    year, month, day = date.split("-")
    hour, minute, second = clock.split(":")
    origin = datetime(int(year), int(month), int(day[:2]), int(hour), int(minute),
                      int(second[:2]), tzinfo=UTC)
    values = nc["time"][:]
    assert not np.ma.is_masked(values)
    return [origin + timedelta(seconds=float(s)) for s in values]


def _truth_series(rows, scale=1.0, offset=0.0):
    t = np.array([_utc(r["time_utc"]).timestamp() for r in rows])
    v = np.array([float(r["reported_value"]) * scale + offset for r in rows])
    return t, v


# ---------------------------------------------------------------------------------------------
# the campaign's rules


def _expected_temp(flight) -> list[dict]:
    """The TEMP readings that make records: those with PRESS and RH readings before and after
    them (1 s apart in this flight, inside the 2 s window)."""
    truth = flight["truth"]
    lo = max(_utc(truth[n][0]["time_utc"]) for n in ("PRESS", "RH"))
    hi = min(_utc(truth[n][-1]["time_utc"]) for n in ("PRESS", "RH"))
    return [r for r in truth["TEMP"] if lo <= _utc(r["time_utc"]) <= hi]


def test_file_name_passes_the_converter_check(flight):
    name = flight["path"].name
    first = _utc(_expected_temp(flight)[0]["time_utc"])
    assert name == f"UASDC_{OPERATOR}_{AIRFRAME}_{first:%Y%m%d%H%M%S}Z.nc"
    assert re.match(r"^UASDC_\d{3}_[a-zA-Z0-9]{1,5}_\d{8}\d{6}Z\.nc$", name)
    parts = name.split("_")
    assert parts[1] == OPERATOR and parts[2] == AIRFRAME and len(parts) >= 4


def test_no_value_is_missing(flight):
    """The converter (ecCodes 2.50) encodes a variable that holds any NaN as zeros: every
    variable it reads is complete; left-out readings are counted in ``comment``."""
    with netCDF4.Dataset(flight["path"]) as nc:
        for name in ("time", "lat", "lon", "altitude", "air_temperature", "air_pressure",
                     "relative_humidity", "humidity_mixing_ratio", "dew_point_temperature"):
            values = nc[name][:]
            assert not np.ma.is_masked(values) and np.isfinite(values).all(), name
        left_out = len(flight["truth"]["TEMP"]) - len(_expected_temp(flight))
        assert left_out > 0
        assert nc.comment.startswith(f"{left_out} of {len(flight['truth']['TEMP'])} air "
                                     "temperature readings with a position left out")


def test_variables_units_and_attributes_of_the_templates(flight):
    with netCDF4.Dataset(flight["path"]) as nc:
        assert nc.data_model == "NETCDF4"
        n = len(nc["time"])
        for name, units in [("lat", "degrees_north"), ("lon", "degrees_east"),
                            ("altitude", "m"), ("air_temperature", "K"),
                            ("air_pressure", "Pa"), ("relative_humidity", "%"),
                            ("humidity_mixing_ratio", "kg/kg"), ("dew_point_temperature", "K")]:
            var = nc[name]
            assert var.dimensions == ("obs",) and len(var) == n, name
            assert cf_units.Unit(var.units) == cf_units.Unit(units), (name, var.units)
            assert var.standard_name == name if name not in ("lat", "lon") else True
        for coordinate in ("time", "lat", "lon", "altitude"):
            assert not np.ma.is_masked(nc[coordinate][:]), coordinate
        attrs = {k: nc.getncattr(k) for k in nc.ncattrs()}
    assert attrs["Conventions"] == "CF-1.8, WMO-CF-1.0"
    assert attrs["wmo__cf_profile"] == "FM 303-2024"
    assert attrs["featureType"] == "trajectory"
    assert attrs["platform_name"].replace("-", "") == AIRFRAME
    assert attrs["flight_id"] == flight["path"].name[len("UASDC_007_"):-len(".nc")]
    assert attrs["processing_level"] in ("a1", "b1", "c1")
    assert attrs["site_terrain_elevation_height"] == "108m"  # the site's ground, AMSL
    assert attrs["time_coverage_start"] == "2025-06-14T08:00:01Z"


def test_times_decode_to_the_flights_utc(flight):
    temp = _expected_temp(flight)
    with netCDF4.Dataset(flight["path"]) as nc:
        times = _converter_times(nc)
        cf_times = netCDF4.num2date(nc["time"][:], nc["time"].units,
                                    only_use_cftime_datetimes=False,
                                    only_use_python_datetimes=True)
    assert len(times) == len(temp)
    for got, want, cf in zip(times, temp, cf_times, strict=True):
        assert abs((got - _utc(want["time_utc"])).total_seconds()) < 0.002
        assert abs((cf.replace(tzinfo=UTC) - got).total_seconds()) < 1e-5
    assert times == sorted(times)
    decoded = xr.open_dataset(flight["path"])
    assert decoded["time"].dtype.kind == "M"
    assert str(decoded["time"].values[0])[:19] == temp[0]["time_utc"][:19]


def test_values_are_the_samples_unit_converted(flight):
    samples = flight["samples"]
    wmo = xr.open_dataset(flight["path"], decode_times=False)
    t = wmo["time"].values

    def readings(key):
        var = samples[key]
        ok = np.isfinite(var.values) & ~np.isnat(samples["time"].values)
        ts = samples["time"].values[ok].astype("datetime64[us]").astype(np.int64) / 1e6
        return ts, var.values[ok]

    ts, temp = readings("temperature")
    index = np.searchsorted(ts, t)
    np.testing.assert_allclose(ts[index], t, rtol=0, atol=1e-6)  # each record is a reading
    np.testing.assert_allclose(wmo["air_temperature"].values, temp[index] + 273.15, rtol=0,
                               atol=1e-9)
    for key, name, scale in (("pressure", "air_pressure", 100.0),
                             ("humidity", "relative_humidity", 1.0)):
        ts, v = readings(key)
        np.testing.assert_allclose(wmo[name].values, np.interp(t, ts, v * scale), rtol=1e-9)


def test_values_match_the_simulators_truth(flight):
    """Temperature is the TEMP reading itself; pressure the barometer's, interpolated, and the
    standard atmosphere at the record's altitude; the humidity variables agree with an
    independent formula (Bolton 1980)."""
    wmo = xr.open_dataset(flight["path"], decode_times=False)
    t = wmo["time"].values
    _, temp = _truth_series(_expected_temp(flight), offset=273.15)
    np.testing.assert_allclose(wmo["air_temperature"].values, temp, rtol=0, atol=1e-6)
    tp, press = _truth_series(flight["truth"]["PRESS"], scale=100.0)
    p = wmo["air_pressure"].values
    np.testing.assert_allclose(p, np.interp(t, tp, press), rtol=0, atol=0.5)
    isa = 101325.0 * (1 - 0.0065 * wmo["altitude"].values / 288.15) ** 5.25588
    assert np.max(np.abs(p - isa)) < 20.0  # Pa: noise 2 Pa, 1 m of altitude is 12 Pa
    assert 97000 < p.min() < p.max() < 100100
    rh = wmo["relative_humidity"].values
    tc = wmo["air_temperature"].values - 273.15
    e = rh / 100 * 6.112 * np.exp(17.67 * tc / (tc + 243.5))
    bolton = 0.622 * e / (p / 100 - e)
    got = wmo["humidity_mixing_ratio"].values
    np.testing.assert_allclose(got, bolton, rtol=0.01)
    assert 0.004 < got.min() < got.max() < 0.01  # 9 degC air at 55-78 % RH
    dew = wmo["dew_point_temperature"].values
    x = np.log(e / 6.112)
    np.testing.assert_allclose(dew, 243.5 * x / (17.67 - x) + 273.15, atol=0.1)
    assert (dew < wmo["air_temperature"].values).all()


def test_file_is_cf_1_8(flight, monkeypatch):
    """The CF version the campaign declares; the checker's packaged standard-name table is
    used (it would download the table the file names otherwise)."""
    from compliance_checker.cf import util as cf_util
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    def offline(*_args):
        raise OSError("offline test: the packaged table is used")

    monkeypatch.setattr(cf_util, "download_cf_standard_name_table", offline)
    CheckSuite.load_all_available_checkers()
    out = flight["tmp"] / "cf.json"
    _, errors = ComplianceChecker.run_checker(
        str(flight["path"]), ["cf:1.8"], 0, "normal", output_filename=str(out),
        output_format="json")
    assert not errors
    report = json.loads(out.read_text())["cf:1.8"]
    failures = [m for level in ("high_priorities", "medium_priorities")
                for item in report.get(level, []) if item["value"][0] < item["value"][1]
                for m in item["msgs"]]
    assert not failures, failures


def test_a_samples_file_gives_the_same_records(flight, tmp_path):
    """Samples written to netCDF and read back (decoded or not) export the same records."""
    nc = tmp_path / "samples.nc"
    assert main(["export", str(flight["tlog"]), "--out", str(nc)]) == 0
    direct = xr.open_dataset(flight["path"], decode_times=False)
    for decode in (True, False):
        with xr.open_dataset(nc, decode_times=decode) as samples:
            wmo = to_wmo_uasdc(samples, operator=OPERATOR, airframe=AIRFRAME)
        np.testing.assert_allclose(wmo["time"].values, direct["time"].values, rtol=0,
                                   atol=1e-6)
        for name in ("air_temperature", "air_pressure", "relative_humidity", "altitude"):
            np.testing.assert_allclose(wmo[name].values, direct[name].values, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# inputs and parameters


def _row(ms: int, quantity: str, value: float, units: str, sysid: int = 1) -> SampleRow:
    utc = f"2025-06-14T08:00:{ms // 1000:02d}.{ms % 1000:03d}000Z"
    return SampleRow(utc, float(ms), 0, sysid, 45.0, 9.0, 150.0, 42.0, quantity, quantity,
                     value, units, 0.1, 0, "sync")


def test_missing_quantities_are_named_in_one_line(flight):
    with pytest.raises(InputError) as err:
        to_wmo_uasdc(flight["samples"].drop_vars("pressure"), operator=OPERATOR,
                     airframe=AIRFRAME)
    message = str(err.value)
    assert "\n" not in message and "no pressure among the samples" in message
    only_pm = to_dataset([_row(1000, "pm2p5", 5.0, "ug m-3")])
    with pytest.raises(InputError, match="no temperature and no pressure and no humidity"):
        to_wmo_uasdc(only_pm, operator=OPERATOR, airframe=AIRFRAME)


def test_parameters_are_named():
    samples = to_dataset([_row(1000, "temperature", 10.0, "degC"),
                          _row(1000, "pressure", 990.0, "hPa"),
                          _row(1000, "humidity", 80.0, "percent")])
    for kw, parameter in [({"operator": "7"}, "operator"), ({"operator": None}, "operator"),
                          ({"airframe": "AB-12"}, "airframe"), ({"airframe": "ABCDEF"}, "airframe"),
                          ({"processing_level": "raw"}, "processing_level"),
                          ({"max_interval_s": -1.0}, "max_interval_s")]:
        args = {"operator": OPERATOR, "airframe": AIRFRAME, **kw}
        with pytest.raises(ParameterError) as err:
            to_wmo_uasdc(samples, **args)
        assert err.value.parameter == parameter
    wmo = to_wmo_uasdc(samples, operator=7, airframe="x1", flight_id="JBCC_1500m_VP",
                       processing_level="b1")
    assert wmo.attrs["flight_id"] == "JBCC_1500m_VP" and wmo.attrs["processing_level"] == "b1"
    assert float(wmo["air_pressure"][0]) == 99000.0


def test_interpolation_window_and_units():
    """Pressure readings 3 s apart are not interpolated with a 2 s window, and are with 4 s;
    any UDUNITS spelling converts (K, Pa, fraction of 1)."""
    rows = [_row(2000, "temperature", 283.15, "K"), _row(500, "pressure", 99000.0, "Pa"),
            _row(3500, "pressure", 99300.0, "Pa"), _row(2000, "humidity", 0.5, "1")]
    samples = to_dataset(rows)
    for key, units in (("temperature", "K"), ("pressure", "Pa"), ("humidity", "1")):
        samples[key].attrs["units"] = units
    with pytest.raises(NoUsableDataError, match="at most 2 s apart"):
        to_wmo_uasdc(samples, operator=1, airframe="A")
    wmo = to_wmo_uasdc(samples, operator=1, airframe="A", max_interval_s=4)
    assert float(wmo["air_pressure"][0]) == pytest.approx(99150.0)
    assert float(wmo["air_temperature"][0]) == pytest.approx(283.15)
    assert float(wmo["relative_humidity"][0]) == pytest.approx(50.0)


def test_unusable_samples():
    two = to_dataset([_row(1000, "temperature", 10.0, "degC", sysid=1),
                      _row(1000, "pressure", 990.0, "hPa", sysid=2),
                      _row(1000, "humidity", 80.0, "percent", sysid=2)])
    with pytest.raises(InputError, match="2 vehicles"):
        to_wmo_uasdc(two, operator=OPERATOR, airframe=AIRFRAME)
    unpaired = SampleRow("2025-06-14T08:00:01.000000Z", 1000.0, 0, 1, None, None, None, None,
                         "temperature", "TEMP", 10.0, "degC", 5.0, 2, "sync")
    no_position = to_dataset([unpaired, _row(1000, "pressure", 990.0, "hPa"),
                              _row(1000, "humidity", 80.0, "percent")])
    with pytest.raises(NoUsableDataError, match="position"):
        to_wmo_uasdc(no_position, operator=OPERATOR, airframe=AIRFRAME)
    bad_units = to_dataset([_row(1000, "temperature", 10.0, "degC"),
                            _row(1000, "pressure", 990.0, "hPa"),
                            _row(1000, "humidity", 80.0, "percent")])
    bad_units["pressure"].attrs["units"] = "ug m-3"
    with pytest.raises(InputError, match="pressure in 'ug m-3' cannot be converted to Pa"):
        to_wmo_uasdc(bad_units, operator=OPERATOR, airframe=AIRFRAME)


# ---------------------------------------------------------------------------------------------
# the command


def test_cli_writes_the_same_file(flight, tmp_path, capsys):
    out = tmp_path / "uasdc"
    assert main(["export", str(flight["tlog"]), "--profile", "wmo-uasdc", "--out", str(out),
                 "--operator", OPERATOR, "--airframe", AIRFRAME]) == 0
    text = capsys.readouterr().out
    (path,) = out.iterdir()
    assert path.name == flight["path"].name
    assert f"wrote {path}: {describe(path)}" in text
    assert "243 records, 2025-06-14T08:00:01Z to 08:04:03Z, 108 to 228 m AMSL; 2 of 245 " \
        "air temperature readings with a position left out" in text
    a = xr.open_dataset(path, decode_times=False)
    b = xr.open_dataset(flight["path"], decode_times=False)
    for name in ("time", "air_temperature", "air_pressure", "relative_humidity"):
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_cli_names_the_options(flight, tmp_path, capsys):
    args = ["export", str(flight["tlog"]), "--profile", "wmo-uasdc", "--out", str(tmp_path)]
    assert main([*args, "--airframe", AIRFRAME]) == 2
    assert "error: --operator: the 3-digit operator ID" in capsys.readouterr().err
    assert main([*args, "--operator", OPERATOR, "--airframe", "AB-12"]) == 2
    assert "error: --airframe:" in capsys.readouterr().err
    assert main([*args, "--operator", OPERATOR, "--airframe", AIRFRAME,
                 "-q", "temperature", "-q", "humidity"]) == 2
    assert "error: no pressure among the samples" in capsys.readouterr().err
    assert main([*args, "--operator", OPERATOR, "--airframe", AIRFRAME,
                 "--max-interval", "-1"]) == 2
    err = capsys.readouterr().err
    assert "error: --max-interval:" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_simulated_barometer_is_the_standard_atmosphere():
    """The simulator's truth behind PRESS: ICAO standard atmosphere at the altitude AMSL."""
    from firmware_sim.errors import SimError
    from firmware_sim.world import Field

    site = {"ground_alt_amsl": 108.0, "lat": 45.4, "lon": 9.2}
    field = Field.from_dict({"site": site, "sensor": [{"name": "PRESS", "quantity": "pressure"}]})
    assert field.quantities == ["pressure"] and field.units["pressure"] == "hPa"
    alt = np.array([0.0, 108.0, 1000.0, 2000.0])
    got = field.evaluate("pressure", 45.4, 9.2, alt)
    np.testing.assert_allclose(got[2:], [898.75, 794.95], atol=0.01)  # ICAO table
    assert got[0] == got[1]  # below the ground: the ground's pressure
    pa = Field.from_dict({"site": site, "quantities": {"pressure": {"units": "Pa"}}})
    assert float(pa.evaluate("pressure", 45.4, 9.2, 1000.0)) == pytest.approx(89874.6, abs=1)
    fixed = Field.from_dict({"site": site,
                             "quantities": {"pressure": {"units": "hPa", "background": 990.0}}})
    assert float(fixed.evaluate("pressure", 45.4, 9.2, 500.0)) == 990.0  # as declared
    with pytest.raises(SimError, match="standard atmosphere"):
        Field.from_dict({"site": site, "quantities": {"pressure": {"units": "psi"}}})


# ---------------------------------------------------------------------------------------------
# several vehicles and boots in one samples file: one file per flight


def _moved(rows, *, sysid=None, boot=None, hours=0):
    """The rows as another vehicle (or boot) flying the same flight ``hours`` later."""
    out = []
    for r in rows:
        utc = r.time_utc
        if utc is not None and hours:
            t = np.datetime64(utc.rstrip("Z"), "us") + np.timedelta64(hours * 3600, "s")
            utc = f"{t}Z"
        out.append(r._replace(time_utc=utc, sysid=r.sysid if sysid is None else sysid,
                              boot=r.boot if boot is None else boot))
    return out


def test_one_file_per_vehicle(flight, tmp_path):
    from dronesense.products.wmo_uasdc_flights import write_wmo_uasdc_flights
    from dronesense.samples.dataset import from_dataset

    rows = from_dataset(flight["samples"])
    both = to_dataset(rows + _moved(rows, sysid=2, hours=1))
    done = write_wmo_uasdc_flights(both, tmp_path, operator=OPERATOR,
                                   airframe={1: AIRFRAME, 2: "CD456"}, environ={})
    assert done.skipped == []
    first, second = done.paths
    assert first.name == flight["path"].name
    assert second.name == flight["path"].name.replace(AIRFRAME, "CD456").replace(
        "20250614080001Z", "20250614090001Z")
    with (xr.open_dataset(flight["path"], decode_times=False) as alone,
          xr.open_dataset(first, decode_times=False) as a,
          xr.open_dataset(second, decode_times=False) as b):
        assert b.attrs["platform_name"] == "CD456" and a.attrs["platform_name"] == AIRFRAME
        for name in ("air_temperature", "air_pressure", "relative_humidity", "altitude"):
            np.testing.assert_array_equal(a[name].values, alone[name].values)
            np.testing.assert_array_equal(b[name].values, alone[name].values)
        np.testing.assert_allclose(b["time"].values, alone["time"].values + 3600, atol=1e-6)


def test_one_file_per_boot_and_what_is_left_out(flight, tmp_path):
    from dronesense.products.wmo_uasdc_flights import write_wmo_uasdc_flights
    from dronesense.samples.dataset import from_dataset

    rows = from_dataset(flight["samples"])
    gas_only = [r for r in _moved(rows, sysid=3, hours=2) if r.quantity != "temperature"]
    samples = to_dataset(rows + _moved(rows, boot=1, hours=1) + gas_only)
    done = write_wmo_uasdc_flights(samples, tmp_path, operator=OPERATOR,
                                   airframe={1: AIRFRAME, 3: "GAS1"}, environ={})
    assert [p.name for p in done.paths] == [f"UASDC_{OPERATOR}_{AIRFRAME}_20250614{hh}0001Z.nc"
                                            for hh in ("08", "09")]
    (skipped,) = done.skipped
    assert skipped.startswith("sysid 3, boot 0: no temperature reading has both a position")


def test_several_flights_need_their_ids(flight, tmp_path):
    from dronesense.products.wmo_uasdc_flights import parse_airframes, write_wmo_uasdc_flights
    from dronesense.samples.dataset import from_dataset

    rows = from_dataset(flight["samples"])
    two = to_dataset(rows + _moved(rows, sysid=2, hours=1))
    with pytest.raises(ParameterError, match=r"airframe: the samples hold 2 vehicles.*1=ID1,2=ID2"):
        write_wmo_uasdc_flights(two, tmp_path, operator=OPERATOR, airframe=AIRFRAME)
    with pytest.raises(ParameterError, match="airframe: no airframe ID for sysid 2"):
        write_wmo_uasdc_flights(two, tmp_path, operator=OPERATOR, airframe={1: AIRFRAME})
    with pytest.raises(ParameterError, match="flight_id: one flight_id for 2 flights"):
        write_wmo_uasdc_flights(two, tmp_path, operator=OPERATOR,
                                airframe=parse_airframes("1=AB123,2=CD456"), flight_id="x")
    same_time = to_dataset(rows + _moved(rows, sysid=2))
    with pytest.raises(InputError, match="sysid 1, boot 0 and sysid 2, boot 0 would both be"):
        write_wmo_uasdc_flights(same_time, tmp_path / "x", operator=OPERATOR,
                                airframe={1: AIRFRAME, 2: AIRFRAME})
    assert not (tmp_path / "x").exists()  # nothing written
    with pytest.raises(ParameterError, match="airframe: give one ID, or SYSID=ID"):
        parse_airframes("1=AB123,x=CD456")


def test_cli_one_file_per_vehicle_with_their_airframes(flight, tmp_path, capsys):
    """``export --profile wmo-uasdc --airframe 1=ID,2=ID``: one file per vehicle and boot,
    what is left out in a note; one airframe for two vehicles is an option error."""
    import dronesense.accessors  # noqa: F401  (the .dronesense accessor)
    from dronesense.samples.dataset import from_dataset

    rows = from_dataset(flight["samples"])
    gas_only = [r for r in _moved(rows, sysid=3, hours=2) if r.quantity != "temperature"]
    src = tmp_path / "three.nc"
    to_dataset(rows + _moved(rows, sysid=2, hours=1) + gas_only).dronesense.to_file(src)
    out = tmp_path / "uasdc"
    args = ["export", str(src), "--profile", "wmo-uasdc", "--out", str(out),
            "--operator", OPERATOR]
    assert main([*args, "--airframe", f"1={AIRFRAME},2=CD456,3=GAS1"]) == 0
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == [flight["path"].name, f"UASDC_{OPERATOR}_CD456_20250614090001Z.nc"]
    for name in names:
        assert f"wrote {out / name}: {describe(out / name)}" in text
    assert "note: left out sysid 3, boot 0: no temperature reading" in text
    assert main([*args, "--airframe", AIRFRAME]) == 2
    err = capsys.readouterr().err.strip()
    assert "error: --airframe: the samples hold 3 vehicles" in err
    assert len(err.splitlines()) == 1
    assert main([*args, "--airframe", "1=AB123,x=CD"]) == 2
    assert "error: --airframe: give one ID, or SYSID=ID" in capsys.readouterr().err
