"""CSV tracks as instruments write them: altitude from pressure, height from altitude, any
extension with a map, kelvin, slow tracks that must pair, implausible values flagged."""

from __future__ import annotations

import math

import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.events import Fix, Reading
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.sources.csvtrack import CsvMap, load_csv_map, read_csv_track
from dronesense.sources.logs import events_of, load_events

T0 = 1714557600


def _standard_pressure(h: float, p0: float = 1013.25) -> float:
    """ICAO standard atmosphere: the pressure ``h`` metres above the level of ``p0``."""
    return p0 * (1.0 - 0.0065 * h / 288.15) ** 5.25588


def _write(tmp_path, name: str, header: str, rows: list[str]):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_altitude_from_pressure_relative_to_take_off(tmp_path):
    heights = [0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 120.0]
    rows = [f"{T0 + 2 * i},52.0,{5 + i * 1e-4},{_standard_pressure(h, 1005.0):.4f},12.0"
            for i, h in enumerate(heights)]
    path = _write(tmp_path, "baro.csv", "t,lat,lon,p,temp", rows)
    cmap = CsvMap(time="t", values={"p": ("pressure", 1.0), "temp": ("temperature", 1.0)})
    track = read_csv_track(path, cmap)
    fixes = [e for _, e in track.events if isinstance(e, Fix)]
    assert [f.alt_amsl for f in fixes] == pytest.approx(heights, abs=0.05)
    assert [f.height for f in fixes] == pytest.approx(heights, abs=0.05)
    assert any("relative to the take-off pressure 1005.00 hPa" in n for n in track.notes)
    # with the day's sea-level pressure and the ground altitude: above sea level
    cmap.reference_pressure, cmap.ground_altitude = 1013.25, 70.0
    fixes = [e for _, e in read_csv_track(path, cmap).events if isinstance(e, Fix)]
    p_last = float(rows[-1].split(",")[3])
    expected = 288.15 / 0.0065 * (1 - (p_last / 1013.25) ** 0.190263)
    assert fixes[-1].alt_amsl == pytest.approx(expected, abs=0.01)
    assert fixes[-1].height == pytest.approx(expected - 70.0, abs=0.01)


def test_pressure_key_with_units_and_no_altitude_source(tmp_path):
    rows = [f"{T0 + i},52.0,5.0,{_standard_pressure(10.0 * i) * 100:.1f}" for i in range(6)]
    path = _write(tmp_path, "pa.csv", "t,lat,lon,P_Pa", rows)
    track = read_csv_track(path, CsvMap(time="t", pressure="P_Pa", pressure_units="Pa"))
    fixes = [e for _, e in track.events if isinstance(e, Fix)]
    assert fixes[-1].height == pytest.approx(50.0 - 20.0, abs=0.1)  # take-off: median of 5
    with pytest.raises(InputError, match=r"no altitude.*pressure"):
        read_csv_track(path, CsvMap(time="t"))


def test_glitched_pressure_leaves_the_altitude_to_its_neighbours(tmp_path):
    ps = [1000.0] * 5 + [990.0, -158.67, 980.0, 1267.6, 970.0]
    rows = [f"{T0 + i},52.0,5.0,{p}" for i, p in enumerate(ps)]
    path = _write(tmp_path, "g.csv", "t,lat,lon,p", rows)
    track = read_csv_track(path, CsvMap(time="t", values={"p": ("pressure", 1.0)}))
    fixes = {e.time_boot_ms: e for _, e in track.events if isinstance(e, Fix)}
    assert len(fixes) == 10
    between = (fixes[5000.0].height + fixes[7000.0].height) / 2
    assert fixes[6000.0].height == pytest.approx(between)
    assert any("2 row(s) with a position but no altitude (lines 8, 10)" in n
               for n in track.notes)
    assert any("p: 2 value(s) outside the plausible range 300 to 1100 hPa (lines 8, 10)" in n
               for n in track.notes)


def test_height_from_altitude_or_ground_altitude(tmp_path):
    """The issue: a CSV without a height column paired 100 % and flux then said 'no paired
    samples with a position'. The height above take-off now comes from the altitude."""
    rows = [f"{T0 + i},52.0,5.0,{100.0 + 3 * max(0, i - 4)},1.9" for i in range(10)]
    path = _write(tmp_path, "h.csv", "t,lat,lon,alt,ch4", rows)
    cmap = CsvMap(time="t", alt="alt", values={"ch4": ("ch4", 1.0)})
    rows, _ = pair_logs([path], csv_map=cmap)
    assert [r.height for r in rows] == pytest.approx([0.0] * 5 + [3.0, 6.0, 9.0, 12.0, 15.0])
    cmap.ground_altitude = 98.0
    fixes = [e for _, e in read_csv_track(path, cmap).events if isinstance(e, Fix)]
    assert fixes[0].height == pytest.approx(2.0)


def test_kelvin_is_converted_with_its_offset(tmp_path):
    """The issue: a temperature in kelvin was taken as degC ('288.7 degC')."""
    path = _write(tmp_path, "k.csv", "t,lat,lon,alt,T_K",
                  [f"{T0},52.0,5.0,40,288.7", f"{T0 + 1},52.0,5.0,40,290.15"])
    cfg = tmp_path / "map.toml"
    cfg.write_text('[csv]\ntime = "t"\nalt = "alt"\n'
                   '[csv.values]\nT_K = { name = "temperature", units = "K" }\n')
    cmap = load_csv_map(cfg)
    assert cmap.values["T_K"] == ("temperature", 1.0, -273.15)
    readings = [e for _, e in read_csv_track(path, cmap).events if isinstance(e, Reading)]
    assert [r.value for r in readings] == pytest.approx([15.55, 17.0])


def test_any_extension_with_a_map(tmp_path):
    """The issue: a .txt file was refused even with a map."""
    path = _write(tmp_path, "flight 1.txt", "time,lat,lon,alt,CO2",
                  [f"2024-05-01T10:00:0{i}Z,52.0,5.0,40,{420 + i}" for i in range(3)])
    with pytest.raises(InputError, match="column map"):
        load_events(path)
    with pytest.raises(ParameterError, match="column mapping"):
        load_events(path.rename(path.with_suffix(".csv")))
    path = path.with_suffix(".csv").rename(tmp_path / "flight 1.dat")
    log = load_events(path, csv_map=CsvMap(values={"CO2": ("co2", 1.0)}))
    assert log.kind == "csv" and len(events_of(log, Reading)) == 3


def test_a_half_hertz_track_pairs_by_default(tmp_path):
    """The issue: --max-gap 1 s gave '0 paired (0.0 %)' on a 0.5 Hz file."""
    rows = [f"{T0 + 2 * i},52.0,{5 + i * 1e-5},40,{400 + i}" for i in range(30)]
    path = _write(tmp_path, "slow.csv", "t,lat,lon,alt,co2", rows)
    cmap = CsvMap(time="t", alt="alt", values={"co2": ("co2", 1.0)})
    for gap in (None, 1.0):
        rows_, summary = pair_logs([path], csv_map=cmap, max_gap_s=gap)
        assert all(r.flag == Flag.PAIRED for r in rows_) and len(rows_) == 30
        assert any("5.0 s" in w and "2.00 s" in w for w in summary.warnings)
    rows_, summary = pair_logs([path], csv_map=cmap, max_gap_s=3.0)  # a sensible choice kept
    assert len(rows_) == 30 and not any("max gap" in w for w in summary.warnings)


def test_out_of_range_values_are_flagged_and_kept(tmp_path):
    values = [12.0, 184.4, 13.0, -95.0, 14.0]
    rows = [f"{T0 + i},52.0,5.0,40,{v}" for i, v in enumerate(values)]
    path = _write(tmp_path, "r.csv", "t,lat,lon,alt,TEMP", rows)
    out, summary = pair_logs([path], csv_map=CsvMap(time="t", alt="alt",
                                                    values={"TEMP": ("TEMP", 1.0)}))
    assert [r.value for r in out] == values
    assert [r.flag for r in out] == [0, Flag.OUT_OF_RANGE, 0, Flag.OUT_OF_RANGE, 0]
    assert all(r.lat is not None and not math.isnan(r.lat) for r in out)
    notes = [w for w in summary.warnings if "plausible range" in w]
    assert len(notes) == 1 and "TEMP: 2 value(s)" in notes[0] and "lines 3, 5" in notes[0]


def test_missing_time_column_error_lists_the_file_columns(tmp_path):
    path = _write(tmp_path, "x.csv", "Zeit,lat,lon,alt", ["1,2,3,4"])
    with pytest.raises(InputError, match=r"'time' not in the file.*it has: Zeit, lat"):
        read_csv_track(path, CsvMap())
