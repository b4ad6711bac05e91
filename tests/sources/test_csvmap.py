"""The mapped-table reader: comment lines, delimiters, times from several columns, times of
day with a date, time zones, units with offsets, and one clear message per problem."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
import pytest

from dronesense.errors import InputError
from dronesense.sources.csvmap import Column, TableMap, load_map_file, read_table


def _unix_ms(*args) -> float:
    return datetime(*args, tzinfo=UTC).timestamp() * 1000.0


def test_comment_lines_title_and_whitespace_columns_keep_file_line_numbers(tmp_path):
    path = tmp_path / "memo.dat"
    path.write_text("MEMO2 export v3\n"            # 1: title, skipped by skiprows
                    "#MEMO2 project ruhr\n"        # 2: comment
                    "# units: ppb\n"               # 3
                    "time   ch4     co2\n"         # 4: header
                    "1714557600  1950.5  420.1\n"  # 5
                    "\n"                            # 6: blank
                    "# calibration\n"              # 7
                    "1714557601  1951.0  NA\n")    # 8
    tmap = TableMap(comment="#", skiprows=1,
                    columns={"ch4": Column("ch4", "ppb"), "co2": Column("co2", "ppm")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_table(path, tmap)
    assert table.lines.tolist() == [5, 8]
    assert table.time_ms.tolist() == [1714557600e3, 1714557601e3]  # auto: UNIX seconds
    assert table.get("ch4", "ppm").tolist() == pytest.approx([1.9505, 1.951])
    assert np.isnan(table.values["co2"][1]) and table.missing == 1


def test_comment_lines_without_comment_key_name_the_cause_once(tmp_path):
    """The issue's MEMO2 file: '#' lines at the top gave ~750 pandas warnings and a list of
    the comment's words as columns; now one error that says what to set."""
    path = tmp_path / "memo.csv"
    rows = "".join(f"2024-05-01T10:00:{i:02d}Z,{i},1.9\n" for i in range(50))
    path.write_text("#MEMO2 project ruhr, campaign 4\n#operator: x\ntime,n,ch4\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas warning gets out
        with pytest.raises(InputError) as err:
            read_table(path, TableMap(columns={"ch4": Column("ch4")}))
    text = str(err.value)
    assert "'time'" in text and 'comment = "#"' in text and text.count("\n") == 0
    table = read_table(path, TableMap(comment="#", columns={"ch4": Column("ch4")}))
    assert len(table) == 50 and table.lines[0] == 4


def test_absent_column_suggests_the_closest_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Timestamp,CH4_ppm\n2024-05-01T10:00:00Z,1.9\n")
    with pytest.raises(InputError, match="did you mean 'CH4_ppm'"):
        read_table(path, TableMap(time="Timestamp", columns={"ch4": Column("CH4 ppm")}))


@pytest.mark.parametrize("sep,decimal", [(";", ","), ("\t", "."), ("|", ".")])
def test_separator_is_sniffed(tmp_path, sep, decimal):
    path = tmp_path / "t.txt"
    v = f"2{decimal}5"
    path.write_text(sep.join(["time", "a", "b"]) + "\n"
                    + sep.join(["2024-05-01T10:00:00Z", v, "3"]) + "\n")
    table = read_table(path, TableMap(decimal=decimal, columns={"a": Column("a"),
                                                                 "b": Column("b")}))
    assert table.values["a"].tolist() == [2.5] and table.values["b"].tolist() == [3.0]


def test_date_and_time_columns_joined_with_a_time_zone(tmp_path):
    path = tmp_path / "met.csv"
    path.write_text("Date_UTC,Time_UTC,v\n2023-04-19,07:10:05.5,1\n2023-04-19,23:59:59,2\n")
    tmap = TableMap(time=("Date_UTC", "Time_UTC"), columns={"v": Column("v")})
    assert read_table(path, tmap).time_ms.tolist() == [
        _unix_ms(2023, 4, 19, 7, 10, 5, 500000), _unix_ms(2023, 4, 19, 23, 59, 59)]
    for zone in ("+02:00", "Europe/Berlin"):  # CEST in April: two hours ahead of UTC
        tmap.timezone = zone
        assert read_table(path, tmap).time_ms[0] == _unix_ms(2023, 4, 19, 5, 10, 5, 500000)


def test_strptime_format_over_two_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("d,t,v\n19.04.2023,07:10:05,1\n")
    tmap = TableMap(time=("d", "t"), time_format="%d.%m.%Y %H:%M:%S",
                    columns={"v": Column("v")})
    assert read_table(path, tmap).time_ms.tolist() == [_unix_ms(2023, 4, 19, 7, 10, 5)]


def test_time_of_day_needs_a_date_and_passes_midnight(tmp_path):
    """The issue: a time-only column was accepted and every time became NaT, shown only as
    '0 syncs used'. Now it is an error saying what to add, and with a date it reads."""
    path = tmp_path / "night.txt"
    path.write_text("time,v\n23:59:58,1\n23:59:59,2\n00:00:01,3\n")
    with pytest.raises(InputError, match=r'times of day without a date.*date = "YYYY-MM-DD"'):
        read_table(path, TableMap(columns={"v": Column("v")}))
    table = read_table(path, TableMap(date="2022-04-11", columns={"v": Column("v")}))
    assert table.time_ms.tolist() == [_unix_ms(2022, 4, 11, 23, 59, 58),
                                      _unix_ms(2022, 4, 11, 23, 59, 59),
                                      _unix_ms(2022, 4, 12, 0, 0, 1)]
    assert any("midnight" in n for n in table.notes)
    strp = read_table(path, TableMap(date="2022-04-11", time_format="%H:%M:%S",
                                     columns={"v": Column("v")}))
    assert strp.time_ms.tolist() == table.time_ms.tolist()


def test_units_scale_and_offset(tmp_path):
    """The issue: only a scale, so kelvin was taken for degC. Units convert with their
    offset; a scale and an offset apply to the file's numbers first."""
    path = tmp_path / "t.csv"
    path.write_text("time,T,Tc,P\n2024-05-01T10:00:00Z,288.7,1000,101325\n")
    tmap = TableMap(columns={"t": Column("T", "K"), "tc": Column("Tc", "degC", 0.01, 5.0),
                             "p": Column("P", "Pa")})
    table = read_table(path, tmap)
    assert table.get("t", "degC")[0] == pytest.approx(15.55)
    assert table.get("tc", "degC")[0] == pytest.approx(15.0)
    assert table.get("p", "hPa")[0] == pytest.approx(1013.25)
    with pytest.raises(InputError, match="cannot be converted"):
        table.get("p", "K")


def test_more_fields_than_the_header_reported_once(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,v\n" + "".join(
        f"2024-05-01T10:00:{i:02d}Z,{i}" + (",extra" if i % 2 else "") + "\n"
        for i in range(40)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_table(path, TableMap(columns={"v": Column("v")}))
    assert len(table) == 20 and table.values["v"].tolist() == list(range(0, 40, 2))
    assert table.skipped_lines == list(range(3, 42, 2))
    assert len(table.notes) == 1 and "20 line(s) with more fields" in table.notes[0]
    assert table.lines.tolist() == list(range(2, 42, 2))


def test_automatic_unix_units_and_bad_times(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t,v\n1714557600123,1\nbroken,2\n1714557601123,3\n")
    table = read_table(path, TableMap(time="t", columns={"v": Column("v")}))
    assert table.time_ms[0] == 1714557600123.0 and table.bad_lines == [3]
    assert table.time.astype("datetime64[ms]")[0] == np.datetime64("2024-05-01T10:00:00.123")
    path.write_text("t,v\n12.5,1\n13.0,2\n")
    with pytest.raises(InputError, match="too small for UNIX time"):
        read_table(path, TableMap(time="t", columns={"v": Column("v")}))


def test_map_from_toml_checks_its_keys(tmp_path):
    cfg = tmp_path / "wind.toml"
    cfg.write_text('[wind]\ncomment = "#"\ntime = ["Date", "Time"]\ndate = "2024-05-01"\n'
                   'speed = { column = "WS", units = "knot" }\ndirection = "WD"\n')
    doc = load_map_file(cfg)["wind"]
    tmap = TableMap.from_dict(doc, {"speed": "m s-1", "direction": "degree", "u": "m s-1"})
    assert tmap.time == ("Date", "Time") and tmap.comment == "#"
    assert tmap.columns["speed"] == Column("WS", "knot")
    assert tmap.columns["direction"] == Column("WD", "degree") and "u" not in tmap.columns
    for bad, match in (({"skiprows": -1}, "skiprows"), ({"date": "11.04.2022"}, "YYYY-MM-DD"),
                       ({"timezone": "Mars/Olympus"}, "not a time zone"),
                       ({"speed": {"column": "WS", "units": "parsecs of gas"}}, "UDUNITS"),
                       ({"speed": {"col": "WS"}}, "expected a column header")):
        with pytest.raises(InputError, match=match):
            TableMap.from_dict(bad, ["speed"], path=cfg)
    cfg.write_text("[wind\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_map_file(cfg)


def test_docs_page_lists_every_key_and_shows_the_shipped_maps():
    from dataclasses import fields

    from dronesense.sources.csvmap import TABLE_KEYS
    from dronesense.sources.csvtrack import CsvMap, load_csv_map
    from tests.support.paths import MAPS, ROOT

    doc = (ROOT / "docs" / "csv-map.md").read_text(encoding="utf-8")
    for key in {f.name for f in fields(CsvMap)} - {"values"} | set(TABLE_KEYS) | {"preset"}:
        assert f"`{key}`" in doc, key
    maps = sorted(MAPS.glob("*.toml"))
    assert len(maps) == 2
    for path in maps:
        load_csv_map(path)
        assert path.read_text() in doc, path.name
