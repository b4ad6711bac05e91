"""Hourly ground-station files in the layouts AirKorea and the EEA publish."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dronesense.errors import InputError
from dronesense.products.profile_station import to_units
from dronesense.sources.stations import read_stations

# AirKorea's final confirmed data (Korean headers): hour ending in Korean time, 24 for the
# hour ending at midnight, gases in ppm, '-' missing; no positions in the file.
AIRKOREA = """지역,망,측정소코드,측정소명,측정일시,SO2,CO,O3,NO2,PM10,PM25,주소
서울 중구,도시대기,111121,중구,2025061401,0.002,0.4,0.031,0.018,41,22,덕수궁길 15
서울 중구,도시대기,111121,중구,2025061324,0.003,0.5,0.020,0.025,45,-,덕수궁길 15
서울 종로구,도시대기,111123,종로구,2025061401,0.002,0.3,0.035,0.015,38,19,종로 35
"""
POSITIONS = "station_id,lat,lon\n111121,37.5641,126.9751\n111123,37.5720,127.0050\n"

# EEA E1a/E2a CSV: one row per sampling point, pollutant and hour, local time with offset.
EEA = """Countrycode,Namespace,AirQualityNetwork,AirQualityStation,AirQualityStationEoICode,\
SamplingPoint,SamplingProcess,Sample,AirPollutant,AirPollutantCode,AveragingTime,\
Concentration,UnitOfMeasurement,DatetimeBegin,DatetimeEnd,Validity,Verification
IT,IT.ISPRA.AQD,NET.IT1,STA.IT1234A,IT1234A,SPO.1,SPP.1,SAM.1,PM2.5,\
http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001,hour,27.5,µg/m3,\
2025-06-14 10:00:00 +02:00,2025-06-14 11:00:00 +02:00,1,1
IT,IT.ISPRA.AQD,NET.IT1,STA.IT1234A,IT1234A,SPO.2,SPP.2,SAM.2,NO2,\
http://dd.eionet.europa.eu/vocabulary/aq/pollutant/8,hour,40.0,µg/m3,\
2025-06-14 10:00:00 +02:00,2025-06-14 11:00:00 +02:00,1,1
IT,IT.ISPRA.AQD,NET.IT1,STA.IT1234A,IT1234A,SPO.2,SPP.2,SAM.2,NO2,\
http://dd.eionet.europa.eu/vocabulary/aq/pollutant/8,hour,999,µg/m3,\
2025-06-14 11:00:00 +02:00,2025-06-14 12:00:00 +02:00,-1,1
"""


def test_airkorea_korean_headers_hour_ending_kst(tmp_path):
    (tmp_path / "pos.csv").write_text(POSITIONS)
    st = read_stations(io.StringIO(AIRKOREA), positions=tmp_path / "pos.csv")
    assert st.attrs["featureType"] == "timeSeries" and st.attrs["layout"].startswith("wide")
    assert st["station_id"].values.tolist() == ["111121", "111123"]
    # 2025061324 KST (hour ending at midnight) = 14:00-15:00 UTC on the 13th
    assert [str(t)[:16] for t in st["time"].values] == ["2025-06-13T14:00", "2025-06-13T15:00"]
    assert float(st["pm2p5"][0, 1]) == 22.0 and np.isnan(float(st["pm2p5"][0, 0]))
    assert st["no2"].attrs["units"] == "ppm" and st["pm10"].attrs["units"] == "ug m-3"
    assert st["pm2p5"].attrs["standard_name"].startswith("mass_concentration_of_pm2p5")
    assert float(st["lat"][1]) == 37.5720
    assert str(st["time_bounds"].values[0, 1])[:16] == "2025-06-13T15:00"


def test_eea_long_layout_with_offsets_validity_and_units():
    st = read_stations(io.StringIO(EEA), positions={"STA.IT1234A": (45.46, 9.19)})
    assert st.attrs["layout"] == "EEA long"
    assert [str(t)[:16] for t in st["time"].values] == ["2025-06-14T08:00"]  # start, UTC
    assert float(st["pm2p5"][0, 0]) == 27.5 and float(st["no2"][0, 0]) == 40.0  # invalid out
    assert st["no2"].attrs["units"] == "ug/m3"
    # 40 ug/m3 NO2 at 293.15 K and 1013.25 hPa is 20.9 ppb
    assert to_units(st["no2"].values[0], "ug/m3", "1e-9", "no2")[0] == pytest.approx(20.91,
                                                                                      abs=0.01)


def test_column_map_for_other_layouts():
    text = "site,when,latitude,longitude,PM2.5 (ug/m3)\nA,2025-06-14T08:00+00:00,1,2,5\n"
    st = read_stations(io.StringIO(text), columns={"station": "site", "time": "when",
                                                   "PM2.5 (ug/m3)": "pm2p5"},
                       hour_ending=False)
    assert float(st["pm2p5"][0, 0]) == 5.0 and str(st["time"].values[0])[:13] == "2025-06-14T08"


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n", "no station id or time column"),
    ("stationCode,dataTime,pm10Value\n1,2025-06-14 09:00,3\n", "no position for station 1"),
    ("stationCode,dataTime,lat,lon,pm10Value\n1,yesterday,1,2,3\n", "cannot read the time"),
    ("stationCode,dataTime,lat,lon\n1,2025-06-14 09:00,1,2\n", "no pollutant columns"),
])
def test_bad_files_one_line(text, message):
    with pytest.raises(InputError, match=message) as err:
        read_stations(io.StringIO(text))
    assert "\n" not in str(err.value)
