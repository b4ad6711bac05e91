"""The pieces of a flux estimate that need no flight: wind profiles, air, parameter ranges,
and a whole estimate on a synthetic curtain through a known Gaussian plume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.products.flux.air import air_molar_density, standard_atmosphere
from dronesense.products.flux.estimate import estimate_flux
from dronesense.products.flux.wind import WindProfile, as_wind, parse_wind, wind_from_reports
from dronesense.sources.wind import WindReports


def test_parse_wind_and_profile():
    w = parse_wind("3@240", exponent=0.07)
    assert (w.speed, w.from_deg, w.speed_error, w.direction_error) == (3.0, 240.0,
                                                                        pytest.approx(0.3), 10.0)
    assert float(w.speed_at(10.0)) == pytest.approx(3.0)
    assert float(w.speed_at(40.0)) == pytest.approx(3.0 * 4 ** 0.07)
    w = parse_wind("4.5±0.4@90+-5")
    assert (w.speed_error, w.direction_error) == (0.4, 5.0)
    assert w.downwind == pytest.approx((-1.0, 0.0), abs=1e-12)
    for bad in ("3", "fast@240", "3@", "-2@240"):
        with pytest.raises(InputError):
            parse_wind(bad)


def test_as_wind_takes_a_profile_text_or_pair():
    w = WindProfile(3.0, 240.0, exponent=0.1)
    assert as_wind(w) is w
    assert as_wind("3.2±0.3@240±10") == WindProfile(3.2, 240.0, speed_error=0.3,
                                                     direction_error=10.0)
    assert as_wind((3, 600)) == WindProfile(3.0, 240.0)
    assert as_wind([2.0, 90.0], reference_height=20.0, exponent=0.2).speed_at(20.0) == 2.0
    for bad in ("3 m/s", (3.0,), ("a", "b"), (-1.0, 240.0), 3.0, None):
        with pytest.raises(ParameterError) as err:
            as_wind(bad)
        assert err.value.parameter == "wind"
    with pytest.raises(ParameterError) as err:
        as_wind("3@240", exponent=1.5)
    assert err.value.parameter == "exponent"


def test_wind_from_reports_fits_the_power_law():
    # reports of a 0.12 power law (4 m/s at 10 m) from 200°, with some on the ground
    z = np.array([0.0, 1.0, 5.0, 10.0, 20.0, 40.0, 60.0, np.nan])
    speed = 4.0 * (np.where(z > 0, z, 1.0) / 10.0) ** 0.12
    rep = WindReports(time=np.arange(z.size, dtype=float), height=z, speed=speed,
                      direction=np.full(z.size, 200.0), name="f.tlog")
    w = wind_from_reports(rep, source=rep.name)
    assert (w.speed, w.from_deg, w.exponent) == (pytest.approx(4.0), pytest.approx(200.0),
                                                 pytest.approx(0.12))
    # an exact power law in a steady wind: only the systematic shares (5 %, 3°) are left
    assert w.speed_error == pytest.approx(0.2) and w.direction_error == pytest.approx(3.0)
    assert w.source == "5 WIND messages in f.tlog"
    fixed = wind_from_reports(rep, exponent=0.0, reference_height=20.0)
    assert fixed.exponent == 0.0 and fixed.source == "5 WIND messages"
    assert fixed.speed == pytest.approx(math.exp(np.mean(np.log(speed[2:7]))))
    # heights within a factor 2: no exponent fitted; fewer than 3 usable reports: no wind
    assert wind_from_reports(rep, min_height=30.0) is None
    narrow = WindReports(rep.time[3:6], np.array([10.0, 12.0, 15.0]), speed[3:6],
                         rep.direction[3:6])
    assert wind_from_reports(narrow).exponent == 0.0


def test_air_density():
    p, t = standard_atmosphere(np.array([0.0, 1000.0]))
    assert p[0] == 101325.0 and t[0] == 288.15
    assert p[1] == pytest.approx(89874.6, rel=1e-4)
    # 1 mol of ideal gas at 25 °C, 1 atm: 24.45 L
    assert float(air_molar_density(101325.0, 298.15)) == pytest.approx(1000 / 24.465, rel=1e-3)


def test_wind_profile_validation():
    with pytest.raises(InputError):
        WindProfile(3.0, 240.0, exponent=1.5)
    assert math.isclose(WindProfile(2.0, 0.0).speed_error, 0.2)


@pytest.mark.parametrize("option, value, message", [
    ("max_offset", 0.0, "max_offset"),
    ("max_offset", -1.0, "max_offset"),
    ("edge_fraction", 0.7, "edge_fraction"),
    ("edge_fraction", -1.0, "edge_fraction"),
    ("percentile", 200.0, "percentile"),
    ("molar_mass", 0.0, "molar_mass"),
    ("molar_mass", float("nan"), "molar_mass"),
])
def test_options_out_of_range_are_one_clear_error(option, value, message):
    # before: a traceback (max_offset <= 0), a flux of exactly 0 or negative (molar mass) or
    # overlapping "ends" of the curtain (edge fraction above one half)
    from tests.support.grids import flight, samples_dataset

    coords, values, _, _ = flight(layers=(20.0, 30.0), step=5.0)
    samples = samples_dataset(coords, values)
    with pytest.raises(InputError, match=message) as err:
        estimate_flux(samples, "ch4", wind=parse_wind("3@240"), **{option: value})
    assert isinstance(err.value, ParameterError) and err.value.parameter == option
    assert "--" not in str(err.value)


def test_ppm_to_grams_per_cubic_metre_by_hand():
    # 2 ppm of CH4 at 1013.25 hPa and 15 degC, from first principles: molar mass from IUPAC
    # atomic weights (C 12.011, H 1.008), molar density of an ideal gas n = p / (R T) with the
    # CODATA gas constant; 1 ppm = 1e-6 mol/mol
    from dronesense.products.flux.air import mass_factor

    molar_mass = 12.011 + 4 * 1.008                     # g/mol
    n_air = 101325.0 / (8.314462618 * (15.0 + 273.15))  # mol/m3, about 42.29
    expected = 2.0 * 1e-6 * n_air * molar_mass          # g/m3, about 6.8e-4
    kind, factor = mass_factor("1e-6", "ch4", None)
    assert kind == "mole_fraction"
    assert 2.0 * factor * air_molar_density(101325.0, 288.15) == pytest.approx(expected, rel=1e-4)
    # ppb is 1e-9 mol/mol; a mass concentration in ug m-3 is used as it is (1e-6 g per ug)
    assert mass_factor("1e-9", "ch4", None)[1] == pytest.approx(factor / 1000)
    assert mass_factor("ug m-3", "pm2p5", None) == ("mass_concentration", 1e-6)
    with pytest.raises(ParameterError, match=r"^molar_mass: unknown for xyz"):
        mass_factor("1e-9", "xyz", None)


def _gaussian_curtain(q_peak=2.0, sigma_s=15.0, sigma_z=6.0, centre_z=20.0):
    """A north-south curtain 100 m east of home, passes every 4 m from 4 to 40 m, through a
    Gaussian CH4 cross-section (ppm above a 1.9 ppm background); and its exact integral."""
    s = np.linspace(-80.0, 80.0, 161)
    passes = [(z, s if k % 2 == 0 else s[::-1]) for k, z in enumerate(range(4, 41, 4))]
    north = np.concatenate([p for _, p in passes])
    height = np.concatenate([np.full(p.size, float(z)) for z, p in passes])
    ppm = 1.9 + q_peak * np.exp(-0.5 * (north / sigma_s) ** 2
                                - 0.5 * ((height - centre_z) / sigma_z) ** 2)
    lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 100.0), north)
    ds = xr.Dataset({
        "ch4": ("obs", ppm, {"units": "1e-6"}), "lat": ("obs", lat), "lon": ("obs", lon),
        "height": ("obs", height), "temperature": ("obs", np.full(north.size, 15.0)),
        "pressure": ("obs", np.full(north.size, 1013.25)),
        "time_boot_ms": ("obs", 1000.0 * np.arange(north.size))})
    n_air = 101325.0 / (8.314462618 * 288.15)
    integral = q_peak * 1e-6 * n_air * 16.043 * 2 * math.pi * sigma_s * sigma_z  # g/m per m/s
    return ds, integral


@pytest.mark.parametrize("wind", [(3.0, 270.0), (3.0, 300.0), (5.0, 90.0)])
def test_synthetic_gaussian_curtain(wind):
    # the emission is the cross-section integral times the wind normal to the curtain (the
    # curtain runs north-south: the normal component of a wind from 300° is cos 30°)
    ds, integral = _gaussian_curtain()
    res = estimate_flux(ds, "ch4", wind=wind, spacing=(4.0, 2.0))
    normal = wind[0] * abs(math.cos(math.radians(wind[1] - 270.0)))
    assert res.emission == pytest.approx(integral * normal, rel=0.02)
    assert res.info["passes"] == 10 and res.info["background"] == pytest.approx(1.9, abs=1e-3)
    assert "samples' temperature (15.0 °C)" in res.info["air"]
    assert res.info["wind_angle_deg"] == pytest.approx(abs(wind[1] - 270.0) % 180, abs=0.5)
    assert res.notes == []
    # a given line along the flown curtain gives the same emission as the fitted one
    frame = LocalFrame(52.0, 5.0, 0.0)
    ends = [tuple(float(v) for v in frame.inverse(100.0, n)[:2]) for n in (-80.0, 80.0)]
    lined = estimate_flux(ds, "ch4", wind=wind, spacing=(4.0, 2.0), line=tuple(ends),
                          jackknife=False)
    assert lined.emission == pytest.approx(res.emission, rel=1e-3)
