"""Forecasting features: one row per profile flight, aligned to station hours, folds by day.

Four simulated profile flights on three days through mixing layers of known depth, and an
AirKorea-layout station file for their hours.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dronesense.api import read_samples
from dronesense.cli.main import main
from dronesense.errors import InputError, ParameterError
from dronesense.products.features import day_folds, profile_features, write_features
from dronesense.programs import campaign_features
from tests.support.programs import PROFILE_PLAN, fly, profile_field

#: (start UTC, mixing height, the station's PM2.5 of that hour)
FLIGHTS = [("2025-06-14T08:10:00Z", 45.0, 21.0), ("2025-06-14T14:10:00Z", 85.0, 24.0),
           ("2025-06-15T08:10:00Z", 65.0, 30.0), ("2025-06-16T09:10:00Z", 45.0, 18.0)]


def _kst_hour_ending(start: str) -> str:
    t = np.datetime64(start.rstrip("Z"), "h") + np.timedelta64(10, "h")  # +9 h, hour ending
    return str(t).replace("T", " ") + ":00"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    tlogs = []
    for i, (start, mlh, _) in enumerate(FLIGHTS):
        tlogs.append(fly(tmp, f"f{i}", PROFILE_PLAN, profile_field(tmp, mlh), seed=i + 1,
                         start_utc=start))
    lines = ["stationCode,dataTime,lat,lon,pm10Value,pm25Value"]
    lines += [f"111,{_kst_hour_ending(s)},45.4400,9.2200,40,{pm}" for s, _, pm in FLIGHTS]
    stations = tmp / "stations.csv"
    stations.write_text("\n".join(lines) + "\n")
    return tlogs[::-1], stations  # given out of order: the table is in time order


def test_one_row_per_flight_aligned_to_station_hours(campaign):
    tlogs, stations = campaign
    feats = campaign_features([read_samples(t) for t in tlogs], stations=stations, n_folds=3,
                              quantities=["pm2p5"])
    assert feats.sizes["flight"] == 4
    assert [str(t)[:13] for t in feats["station_hour"].values] == \
        ["2025-06-14T08", "2025-06-14T14", "2025-06-15T08", "2025-06-16T09"]
    assert feats["pm2p5_station"].values.tolist() == [f[2] for f in FLIGHTS]
    assert feats["fold"].values.tolist() == [0, 0, 1, 2]  # both flights of the 14th in one
    truth = np.array([f[1] for f in FLIGHTS])
    mlh = feats["mixing_layer_height"].values
    assert (np.abs(mlh - truth) < 2 * feats["mixing_layer_height_uncertainty"].values).all()
    z = np.arange(0.0, 121.0, 10.0)  # the bins' centres
    for i, (_, height, _) in enumerate(FLIGHTS):
        field = 28 - 11 * (1 + np.tanh((z - height) / 6.0))  # the field's layer, PM2.5
        below, above = z < mlh[i], z > mlh[i]
        assert float(feats["pm2p5_below_mixing_layer"][i]) == pytest.approx(
            field[below].mean(), abs=1.0)
        assert float(feats["pm2p5_above_mixing_layer"][i]) == pytest.approx(
            field[above].mean(), abs=1.0)
    assert (feats["pm2p5_gradient"].values < 0).all()
    assert feats["pm2p5_gradient"].attrs["units"] == "(ug m-3) m-1"
    np.testing.assert_allclose(feats["pm2p5_lowest"].values, 28.0, atol=1.0)


def test_day_folds_never_split_a_day():
    t = np.array(["2025-06-14T08", "2025-06-14T23", "2025-06-15T00", "2025-06-20T01"],
                 "M8[ns]")
    assert day_folds(t, 5).tolist() == [0, 0, 1, 2]
    with pytest.raises(ParameterError):
        day_folds(t, 1)
    with pytest.raises(InputError):
        profile_features([])


def test_campaign_features_command_netcdf_and_zarr(campaign, tmp_path, capsys):
    tlogs, stations = campaign
    for suffix in ("nc", "zarr"):
        out = tmp_path / f"features.{suffix}"
        assert main(["campaign", *map(str, tlogs[:2]), "-q", "pm2p5", "--features",
                     "--stations", str(stations), "--folds", "2", "-o", str(out)]) == 0
        text = capsys.readouterr().out
        assert "2 flights on 2 days, 2 folds by day" in text
        back = xr.open_zarr(out) if suffix == "zarr" else xr.open_dataset(out)
        assert back.sizes["flight"] == 2 and "pm2p5_station" in back
        assert back["flight_id"].values.astype(str)[0].startswith("sysid1_boot0@2025-06-15")


def test_write_features_refuses_other_suffixes(campaign, tmp_path):
    feats = profile_features([xr.Dataset({"pm2p5_column_mean": 1.0, "pm2p5": ("z", [1.0])},
                                         coords={"z": [5.0], "time": np.datetime64(
                                             "2025-06-14T08", "ns"), "profile_id": "p"})])
    with pytest.raises(InputError, match=r"\.nc or \.zarr"):
        write_features(feats, tmp_path / "f.csv")
