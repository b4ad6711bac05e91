"""CSV tracks: separators, missing markers, presets, and a round trip against a tlog."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from dronesense.errors import InputError, NoUsableDataError
from dronesense.events import Fix, Reading, TimeSync
from dronesense.flight.postflight import pair_logs
from dronesense.sources.csvtrack import CsvMap, load_csv_map, read_csv_track
from dronesense.sources.logs import load_events
from tests.support.postflight import run_sim


def test_semicolon_decimal_comma_and_missing_markers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("zeit;breite;laenge;hoehe;pm\n"
                    "2024-05-01T10:00:00Z;52,0;5,0;40;12,5\n"
                    "2024-05-01T10:00:01Z;52,0;5,001;40;-999,99\n"
                    "kaputt;52,0;5,002;40;3\n"
                    "2024-05-01T10:00:02Z;-999,99;-999,99;40;7\n")
    cfg = tmp_path / "map.toml"
    cfg.write_text('[csv]\ntime = "zeit"\ntime_format = "iso"\nlat = "breite"\n'
                   'lon = "laenge"\nalt = "hoehe"\ndecimal = ","\n'
                   '[csv.values]\npm = { name = "PM2.5", scale = 2.0 }\n')
    track = read_csv_track(path, load_csv_map(cfg))
    kinds = [type(e).__name__ for _, e in track.events]
    assert kinds == ["TimeSync", "Fix", "Reading", "Fix", "Reading"]
    sync = track.events[0][1]
    assert sync.time_unix_usec == 1_714_557_600_000_000
    reading = track.events[2][1]
    assert reading.value == 25.0 and reading.name == "PM2.5"
    assert track.bad_times == 1 and track.bad_lines == [4]
    assert track.missing == 2  # one value, one position (lat/lon counted once)
    assert track.events[-1][1].time_boot_ms == 2000.0


def test_dji_airdata_preset(tmp_path):
    path = tmp_path / "dji.csv"
    path.write_text(
        "time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet),"
        "altitude_above_seaLevel(feet),CO2\n"
        "0,2024-05-01 10:00:00,52.0,5.0,100,200,420\n"
        "500,2024-05-01 10:00:00,52.0,5.0001,100,200,421\n"
        "1000,2024-05-01 10:00:01,52.0,5.0002,100,200,NA\n")
    cfg = tmp_path / "map.toml"
    cfg.write_text('[csv]\npreset = "dji-airdata"\n[csv.values]\nCO2 = "co2"\n')
    track = read_csv_track(path, load_csv_map(cfg))
    fixes = [e for _, e in track.events if isinstance(e, Fix)]
    assert [f.time_boot_ms for f in fixes] == [0.0, 500.0, 1000.0]
    assert fixes[0].alt_amsl == pytest.approx(60.96) and fixes[0].height == pytest.approx(30.48)
    assert len([e for _, e in track.events if isinstance(e, Reading)]) == 2


def test_missing_column_and_no_usable_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,lat,lon,alt\nx,1,2,3\n")
    with pytest.raises(InputError, match="'pm'"):
        read_csv_track(path, CsvMap(values={"pm": ("pm2p5", 1.0)}))
    with pytest.raises(NoUsableDataError, match="readable time"):
        read_csv_track(path, CsvMap())


def test_csv_round_trips_to_the_same_samples_as_the_tlog(tmp_path):
    sim = run_sim(tmp_path, seed=3)
    log = load_events(sim["tlog"])
    names = sorted({e.name for e, _ in log.events if isinstance(e, Reading)})
    path = tmp_path / "track.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["t_ms", "utc", "lat", "lon", "alt", "rel", *names])
        for ev, _ in log.events:
            row = [repr(getattr(ev, "time_boot_ms", math.nan))] + [""] * (5 + len(names))
            if isinstance(ev, TimeSync):
                row[1] = repr(ev.time_unix_usec / 1e6)
            elif isinstance(ev, Fix):
                row[2:6] = [repr(ev.lat), repr(ev.lon), repr(ev.alt_amsl), repr(ev.height)]
            elif isinstance(ev, Reading):
                row[6 + names.index(ev.name)] = repr(ev.value)
            else:
                continue
            w.writerow(row)
    cmap = CsvMap(time="t_ms", time_format="boot_ms", utc="utc", lat="lat", lon="lon",
                  alt="alt", height="rel", values={n: (n, 1.0) for n in names})
    from_tlog, _ = pair_logs([sim["tlog"]])
    from_csv, _ = pair_logs([path], csv_map=cmap)
    assert len(from_csv) == len(from_tlog) > 1000

    def key(r):
        return (r.time_boot_ms, r.boot, r.lat, r.lon, r.alt_amsl, r.height, r.quantity,
                r.value, r.flag)

    assert [key(r) for r in from_csv] == [key(r) for r in from_tlog]
    t1 = np.array([np.datetime64(r.time_utc[:-1]) for r in from_csv])
    t2 = np.array([np.datetime64(r.time_utc[:-1]) for r in from_tlog])
    assert np.abs((t1 - t2) / np.timedelta64(1, "us")).max() <= 1


def test_value_units_convert_through_cf_units(tmp_path):
    """A value column's ``units`` (any UDUNITS-2 spelling) converts to the quantity's units."""
    from dronesense.sources.csvtrack import load_csv_map

    m = tmp_path / "map.toml"
    m.write_text('[csv]\ntime = "t"\nlat = "lat"\nlon = "lon"\nalt = "alt"\n'
                 '[csv.values]\n"CH4 [ppb]" = { name = "ch4", units = "ppb" }\n'
                 '"NO2" = { name = "no2", units = "umol mol-1" }\n')
    values = load_csv_map(m).values
    assert values["CH4 [ppb]"] == ("ch4", pytest.approx(1e-3))
    assert values["NO2"][1] == pytest.approx(1e3)
    m.write_text('[csv]\ntime = "t"\nlat = "lat"\nlon = "lon"\n'
                 '[csv.values]\n"CH4" = { name = "ch4", units = "degC" }\n')
    with pytest.raises(InputError, match="value column 'CH4'"):
        load_csv_map(m)
