"""Units through UDUNITS-2 (cf-units): any valid spelling is read, people read the usual names.

Truth: 1 ppm = 1e-6 mol/mol = 1 umol/mol, 1 ug m-3 = 1e-9 kg m-3 (SI prefixes); the mass
balance of a Gaussian plume cross-section integrates in closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.flight.rows import SampleRow
from dronesense.geo import LocalFrame
from dronesense.products.exports import write_samples
from dronesense.products.flux.air import mass_factor
from dronesense.quantities import (
    NameTable,
    display_units,
    file_units,
    is_mole_fraction,
    parse_units,
    text_units,
    units_factor,
)
from dronesense.samples.journal import JournalWriter, read_journal

PPM = ("1e-6", "1e-06", "ppm", "umol mol-1", "umol/mol", "micromol mol-1", "ppmv")
UG_M3 = ("ug m-3", "ug/m3", "ug m**-3", "µg/m³", "ug.m-3", "1e-9 kg m-3")


@pytest.mark.parametrize("spelling", PPM)
def test_every_spelling_of_ppm_is_one_unit(spelling):
    assert parse_units(spelling) is not None, spelling
    assert units_factor(spelling, "1") == pytest.approx(1e-6, rel=1e-12)
    assert is_mole_fraction(spelling)
    assert display_units(spelling) == "ppm"


@pytest.mark.parametrize("spelling", UG_M3)
def test_every_spelling_of_ug_per_cubic_metre_is_one_unit(spelling):
    assert units_factor(spelling, "kg m-3") == pytest.approx(1e-9, rel=1e-12)
    assert not is_mole_fraction(spelling)
    assert display_units(spelling) == "ug/m3"


def test_conversions_and_what_is_not_a_unit():
    assert units_factor("ppm", "1e-9") == 1000.0
    assert units_factor("mg m-3", "ug m-3") == 1000.0
    assert units_factor("hPa", "Pa") == 100.0
    for bad in ("", "furlongs of gas", "ppm ppm ppm +"):
        assert parse_units(bad) is None
    with pytest.raises(ValueError, match="cannot be converted"):
        units_factor("ppm", "ug m-3")
    with pytest.raises(ValueError, match="offset"):
        units_factor("degC", "K")  # not a factor: 0 degC is 273.15 K
    assert display_units("degC") == "degC" and display_units("m s-1") == "m s-1"


def test_text_units_are_not_numbers_and_read_back_exactly():
    for units in ("1e-6", "1e-9", "1e-12", "ug m-3", "degC", "percent", "hPa", ""):
        text = text_units(units)
        with pytest.raises(ValueError):
            float(text or "x")  # a spreadsheet keeps it as text
        assert file_units(text) == units
    assert file_units("1e-06") == "1e-6" and file_units("1.0E-9") == "1e-9"


@pytest.mark.parametrize("spelling", PPM)
def test_flux_accepts_every_spelling_of_a_mole_fraction(spelling):
    assert mass_factor(spelling, "ch4", None) == pytest.approx(mass_factor("1e-6", "ch4", None))


@pytest.mark.parametrize("spelling", UG_M3)
def test_flux_accepts_every_spelling_of_a_mass_concentration(spelling):
    kind, factor = mass_factor(spelling, "pm2p5", None)
    assert kind == "mass_concentration" and factor == pytest.approx(1e-6, rel=1e-12)


def test_flux_still_refuses_what_is_neither():
    with pytest.raises(InputError, match="neither a mole fraction nor a mass concentration"):
        mass_factor("m s-1", "wind", None)
    with pytest.raises(InputError, match="neither"):
        mass_factor("not a unit", "x", None)


def _curtain(units: str, scale: float) -> tuple[xr.Dataset, float]:
    """A Gaussian CH4 cross-section on a north-south curtain, values in ``units`` (``scale``
    of them make one ppm), and the emission it implies for 3 m/s from the west (g/s)."""
    s = np.linspace(-80.0, 80.0, 161)
    north = np.concatenate([s] * 10)
    height = np.repeat(np.arange(4.0, 41.0, 4.0), s.size)
    ppm = 1.9 + 2.0 * np.exp(-0.5 * (north / 15.0) ** 2 - 0.5 * ((height - 20.0) / 6.0) ** 2)
    lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 100.0), north)
    ds = xr.Dataset({
        "ch4": ("obs", ppm * scale, {"units": units}), "lat": ("obs", lat),
        "lon": ("obs", lon), "height": ("obs", height),
        "temperature": ("obs", np.full(north.size, 15.0)),
        "pressure": ("obs", np.full(north.size, 1013.25)),
        "time_boot_ms": ("obs", 1000.0 * np.arange(north.size))})
    n_air = 101325.0 / (8.314462618 * 288.15)
    return ds, 3.0 * 2.0 * 1e-6 * n_air * 16.043 * 2 * math.pi * 15.0 * 6.0


@pytest.mark.parametrize(("units", "scale"), [("1e-6", 1.0), ("umol mol-1", 1.0),
                                              ("1e-06", 1.0), ("nmol/mol", 1000.0)])
def test_estimate_flux_is_the_same_in_every_spelling(units, scale):
    from dronesense.products.flux.estimate import estimate_flux

    ds, truth = _curtain(units, scale)
    res = estimate_flux(ds, "ch4", wind=(3.0, 270.0), spacing=(4.0, 2.0), jackknife=False)
    assert res.emission == pytest.approx(truth, rel=0.02)


def test_name_table_reads_any_spelling(tmp_path):
    path = tmp_path / "names.toml"
    path.write_text('[names]\nNO2PPM = { quantity = "no2", units = "umol/mol" }\n'
                    'CH4PPB = { quantity = "ch4", units = "ppb" }\n'
                    'PMMG = { quantity = "pm2p5", units = "mg/m3" }\n'
                    '[quantities.nh3]\nlong_name = "ammonia mole fraction"\n'
                    'units = "nmol mol-1"\n'
                    '[quantities.co2]\nunits = "ppm"\n')
    table = NameTable.from_file(path)
    assert table.convert("NO2PPM", 0.05)[1] == pytest.approx(50.0)      # ppm -> ppb
    assert table.convert("CH4PPB", 1900.0)[1] == pytest.approx(1.9)     # ppb -> ppm
    assert table.convert("PMMG", 0.012)[1] == pytest.approx(12.0)       # mg/m3 -> ug m-3
    assert table.quantities["nh3"].units == "nmol mol-1"
    assert table.quantities["nh3"].display_units == "ppb"
    assert table.quantities["co2"].units == "1e-6"  # CF spelling in files
    for text, message in (('[quantities.x]\nunits = "gallons of air"\n', "not valid UDUNITS"),
                          ('[names]\nA = { quantity = "ch4", units = "ug m-3" }\n',
                           "cannot be converted")):
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            NameTable.from_file(path)


def test_csv_units_column_is_text_and_reads_back(tmp_path):
    rows = [SampleRow("2024-05-01T10:00:00.100000Z", 100.0, 0, 1, 52.1, 5.1, 40.0, 30.0,
                      "ch4", "CH4", 1.93, "1e-6", 0.1, 0, "sync"),
            SampleRow("2024-05-01T10:00:00.200000Z", 200.0, 0, 1, 52.1, 5.1, 40.0, 30.0,
                      "no2", "NO2", 12.0, "1e-9", 0.1, 0, "sync"),
            SampleRow("2024-05-01T10:00:00.300000Z", 300.0, 0, 1, 52.1, 5.1, 40.0, 30.0,
                      "pm2p5", "PM2.5", 8.0, "ug m-3", 0.1, 0, "sync")]
    out = write_samples(rows, tmp_path / "export.csv")
    df = pd.read_csv(out)
    assert not pd.api.types.is_numeric_dtype(df["units"])
    assert df["units"].tolist() == ["ppm", "ppb", "ug m-3"]
    only_ch4 = pd.read_csv(write_samples(rows[:1], tmp_path / "ch4.csv"))
    assert only_ch4["units"].tolist() == ["ppm"]  # "1e-6" alone would be read as a number
    assert read_journal(out) == rows
    with JournalWriter(tmp_path / "samples.csv") as journal:  # the live journal: the same
        journal.write(rows)
    assert (tmp_path / "samples.csv").read_text() == out.read_text()


def test_quantity_attributes_stay_valid_udunits():
    from dronesense.quantities import QUANTITIES

    for q in QUANTITIES.values():
        assert parse_units(q.units) is not None, q.key
    assert QUANTITIES["temperature"].attrs()["units_metadata"] == "temperature: on_scale"
    assert "units_metadata" not in QUANTITIES["ch4"].attrs()
    with pytest.raises(ParameterError):
        mass_factor("1e-9", "xyz", None)
