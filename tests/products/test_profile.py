"""The vertical profile product against the simulator's known column.

The field of missions/pm-profile.toml holds the particles in a mixing layer (PM2.5 28 ug/m3
below, 6 above, a 12 m deep tanh step), a temperature rising 0.004 K/m (a weak inversion over
the whole column) and humidity 78 % in the layer, 55 % above. The profile flight climbs to
120 m and back; the layer top is moved to 45 m and 85 m here so that the estimate cannot
hit the truth by the bins' layout. Measured (seeds 1-3, 10 m bins centred on the mission's
levels): 44.9-45.0 ± 2.9 m for 45 m, 64.8-65.0 ± 2.9 m for 65 m, 85.0-85.2 ± 2.9 m for
85 m; inversion 0.447-0.467 K (truth 0.44-0.48 K between its base and top bins).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import Geod

from dronesense.api import read_samples
from dronesense.cli.main import main
from dronesense.errors import InputError, ParameterError
from dronesense.products.hygroscopic import growth_factor
from dronesense.products.profile import vertical_profile
from dronesense.products.profile_station import compare_with_station, plot_station_comparison
from dronesense.sources.stations import read_stations
from tests.support.programs import PROFILE_PLAN, fly, profile_field

HEIGHTS = (45.0, 85.0)


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("profile")
    out = {}
    for h in HEIGHTS:
        tlog = fly(tmp, f"profile-{h:g}", PROFILE_PLAN, profile_field(tmp, h))
        out[h] = (tlog, read_samples(tlog))
    return out


@pytest.mark.parametrize("truth", HEIGHTS)
def test_mixing_layer_height_within_its_uncertainty(flights, truth):
    prof = vertical_profile(flights[truth][1])
    mlh = float(prof["mixing_layer_height"])
    sigma = float(prof["mixing_layer_height_uncertainty"])
    assert 0 < sigma < 6.0
    assert abs(mlh - truth) < 2 * sigma, (mlh, sigma)
    assert prof.attrs["mixing_layer_quantity"] == "pm2p5"


def test_bins_column_mean_and_inversion_against_the_field(flights):
    from firmware_sim.world import load_field

    prof = vertical_profile(flights[45.0][1])
    z = prof["z"].values
    field = load_field(profile_field(flights[45.0][0].parent, 45.0))
    truth = field.evaluate("pm2p5", 45.4363, 9.2125, 108.0 + z)
    got = prof["pm2p5"].values
    far = np.abs(z - 45.0) > 15  # away from the step, where the lag smears nothing
    np.testing.assert_allclose(got[far], truth[far], atol=1.0)
    assert (prof["pm2p5_count"].values > 5).all()
    assert float(prof["pm2p5_column_mean"]) == pytest.approx(np.mean(truth), abs=1.0)
    # the temperature rises 0.004 K/m over the whole column: from the lowest bins to the top
    base, top = float(prof["inversion_base"]), float(prof["inversion_top"])
    assert base <= 10.0 and top == z[-1] == 120.0
    assert float(prof["inversion_strength"]) == pytest.approx(0.004 * (top - base), abs=0.03)
    assert prof["inversion_strength"].attrs["units"] == "K"


def test_humidity_flag_and_hygroscopic_correction(flights):
    samples = flights[45.0][1]
    z = vertical_profile(samples)["z"].values
    plain = vertical_profile(samples, rh_limit=70.0)
    frac = plain["pm2p5_humid_fraction"].values
    assert (frac[z < 30] > 0.9).all() and (frac[z > 60] == 0).all()  # RH 78 % / 55 %
    assert (vertical_profile(samples, rh_limit=80.0)["pm2p5_humid_fraction"].values < 0.1).all()
    corr = vertical_profile(samples, hygroscopic=True, kappa=0.4, particle_density=1.65)
    low = (z >= 10) & (z < 30)  # in flight (the ground bin starts before the first RH)
    expected = plain["pm2p5"].values[low] / growth_factor(78.0, 0.4, 1.65)
    np.testing.assert_allclose(corr["pm2p5"].values[low], expected, rtol=0.03)
    assert "kappa = 0.4" in corr["pm2p5"].attrs["comment"]
    assert float(corr["humidity_column_mean"]) == float(plain["humidity_column_mean"])


def test_cf_profile_round_trip(flights, tmp_path):
    prof = vertical_profile(flights[45.0][1])
    assert prof.attrs["featureType"] == "profile"
    assert prof["z"].attrs["positive"] == "up" and prof["z"].attrs["axis"] == "Z"
    assert prof["profile_id"].attrs["cf_role"] == "profile_id"
    assert prof["mixing_layer_height"].attrs["standard_name"] == \
        "atmosphere_boundary_layer_thickness"
    prof.to_netcdf(tmp_path / "p.nc")
    back = xr.open_dataset(tmp_path / "p.nc")
    assert float(back["mixing_layer_height"]) == float(prof["mixing_layer_height"])
    assert back["pm2p5"].attrs["units"] == "ug m-3"


def test_bad_parameters_name_the_parameter(flights):
    samples = flights[45.0][1]
    for kw, name in (({"bin_height": 0}, "bin_height"), ({"rh_limit": 150}, "rh_limit"),
                     ({"kappa": -1}, "kappa"), ({"mlh_quantity": "ch4"}, "mlh_quantity")):
        with pytest.raises(ParameterError) as err:
            vertical_profile(samples, **kw)
        assert err.value.parameter == name
    with pytest.raises(InputError, match="no ch4"):
        vertical_profile(samples, quantities=["ch4"])


def _airkorea(tmp, value: float) -> str:
    """AirKorea open-API layout: the flight (08:00-08:04 UTC) is in the hour ending 18:00
    Korean time; a farther station and other hours hold other values."""
    path = tmp / "airkorea.csv"
    path.write_text(
        "stationCode,stationName,dataTime,lat,lon,pm10Value,pm25Value,no2Value\n"
        f"111,near,2025-06-14 17:00,45.4400,9.2200,30,11,0.020\n"
        f"111,near,2025-06-14 18:00,45.4400,9.2200,35,{value},0.021\n"
        f"111,near,2025-06-14 19:00,45.4400,9.2200,36,13,0.022\n"
        f"222,far,2025-06-14 18:00,45.5000,9.3000,80,60,-\n", encoding="utf-8")
    return str(path)


def test_lowest_levels_against_the_nearest_station_at_the_same_hour(flights, tmp_path):
    prof = vertical_profile(flights[45.0][1])
    stations = read_stations(_airkorea(tmp_path, 25.0))
    cmp = compare_with_station(prof, stations, lowest=20.0)
    assert str(cmp["station_id"].values) == "111"
    geodesic = Geod(ellps="WGS84").inv(9.2125, 45.4363, 9.22, 45.44)[2]
    assert float(cmp["station_distance"]) == pytest.approx(geodesic, rel=0.005)
    assert str(cmp["station_time"].values)[:16] == "2025-06-14T08:00"
    lowest = float(cmp["pm2p5_lowest"])
    assert lowest == pytest.approx(28.0, abs=0.7)  # the field below the layer
    assert float(cmp["pm2p5_station"]) == 25.0
    assert float(cmp["pm2p5_station_difference"]) == pytest.approx(lowest - 25.0)
    assert float(cmp["pm2p5_station_ratio"]) == pytest.approx(lowest / 25.0)
    assert float(cmp["pm10_station"]) == 35.0
    ax = plot_station_comparison(cmp, "pm2p5")
    ax.figure.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0
    with pytest.raises(InputError, match="farther than"):
        compare_with_station(prof, stations, max_distance=100.0)


def test_profile_command(flights, tmp_path, capsys):
    tlog = flights[45.0][0]
    out, fig = tmp_path / "p.nc", tmp_path / "p.png"
    assert main(["profile", str(tlog), "--stations", _airkorea(tmp_path, 25.0), "--rh-limit",
                 "70", "-o", str(out), "--plot", str(fig)]) == 0
    text = capsys.readouterr().out
    assert "mixing-layer height: 4" in text and "vs station 25" in text
    assert xr.open_dataset(out).attrs["featureType"] == "profile" and fig.stat().st_size
    assert main(["profile", str(tlog), "--rh-limit", "150"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--rh-limit" in err
