"""Plausible ranges the user sets: ``using_ranges`` in Python, ``pair --range`` and a map's
``[ranges]`` table, on the real little-RAVEN file (Vulcano 2022) paired through its example
map. The flags are checked against the file's own values (read here with the ``csv``
module): a tighter range flags exactly the rows whose raw value lies outside it."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter

import pytest

from dronesense.errors import ParameterError
from dronesense.flight.plausible import (
    CheckedPairer,
    active_ranges,
    check_ranges,
    parse_range,
    using_ranges,
)
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.quantities import PLAUSIBLE_RANGES
from dronesense.sources.csvmap import map_ranges
from tests.support.raven import MAP, RAVEN, flag_counts, needs_raven, outside, raw_rows


@pytest.fixture(scope="module")
def raw():
    return raw_rows()


@needs_raven
def test_tighter_ranges_flag_exactly_the_raw_valuesoutside(raw):
    default, _ = pair_logs([RAVEN], csv_map=MAP)
    with using_ranges({"co2": (400.0, 600.0), "temperature": (285.15, 298.15, "K")}):
        rows, _ = pair_logs([RAVEN], csv_map=MAP)
    before, after = flag_counts(default), flag_counts(rows)
    want_co2 = outside(raw, "CO2 / ppm", 400.0, 600.0)
    want_t = outside(raw, "temperature / C", 12.0, 25.0)     # 285.15-298.15 K
    assert (want_co2, want_t) == (224, 186)
    assert after[("co2", Flag.OUT_OF_RANGE)] == want_co2 > before[("co2", Flag.OUT_OF_RANGE)]
    assert after[("temperature", Flag.OUT_OF_RANGE)] == want_t
    assert before[("temperature", Flag.OUT_OF_RANGE)] == 6        # the glitches only
    # the other quantities keep their default ranges, and nothing is dropped
    assert after[("pressure", Flag.OUT_OF_RANGE)] == before[("pressure", Flag.OUT_OF_RANGE)] == 14
    assert len(rows) == len(default) == 5 * 534
    flagged = [r for r in rows if r.quantity == "co2" and r.flag == Flag.OUT_OF_RANGE]
    assert all(not 400.0 <= r.value <= 600.0 and r.lat is not None for r in flagged)


@needs_raven
def test_map_ranges_and_the_range_option(raw, tmp_path):
    cmap = tmp_path / "raven.toml"
    cmap.write_text(MAP.read_text() + '\n[ranges]\nco2 = [400, 600, "ppm"]\n'
                    'so2 = { low = 0, high = 0.6, units = "ppm" }\n')
    assert map_ranges(cmap) == {"co2": (400, 600, "ppm"), "so2": (0, 0.6, "ppm")}

    def pair(*extra):
        out = tmp_path / "s.csv"
        run = subprocess.run([sys.executable, "-m", "dronesense", "pair", str(RAVEN),
                              "--csv-map", str(cmap), "--out", str(out), *extra],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        with open(out, newline="") as fh:
            return Counter((r["quantity"], int(r["flag"])) for r in csv.DictReader(fh))

    got = pair()
    assert got[("co2", Flag.OUT_OF_RANGE)] == outside(raw, "CO2 / ppm", 400, 600)
    assert got[("so2", Flag.OUT_OF_RANGE)] == outside(raw, "SO2 / ppm", 0, 0.6) > 0
    # --range replaces the map's entry of its quantity (co2, here in ppb), not the others
    got = pair("--range", "co2=450000:550000:ppb", "--range", "humidity=0:30")
    assert got[("co2", Flag.OUT_OF_RANGE)] == outside(raw, "CO2 / ppm", 450, 550)
    assert got[("so2", Flag.OUT_OF_RANGE)] == outside(raw, "SO2 / ppm", 0, 0.6)
    assert got[("humidity", Flag.OUT_OF_RANGE)] == outside(raw, "humidity / %", 0, 30) > 0


@pytest.mark.parametrize(("text", "message"), [
    ("ch4=100:0", "--range: ch4: the low end 100 is not below the high end 0"),
    ("ch4=0:nan", "--range: ch4: expected finite numbers"),
    ("ch4=0:10:bananas", "--range: ch4: 'bananas' are not units UDUNITS-2 knows"),
    ("ch4=0:10:degC", "--range: ch4: 'degC' do not convert to the units of ch4 (ppm)"),
    ("ch4=a:b", "--range: ch4: expected numbers LOW:HIGH"),
    ("ch4", "--range: expected QUANTITY=LOW:HIGH"),
    ("nh4x=0:10", "--range: nh4x: dronesense does not know 'nh4x': give its units"),
])
def test_bad_ranges_are_one_line_parameter_errors(text, message):
    with pytest.raises(ParameterError) as err:
        parse_range(text)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_bad_range_on_the_command_line_and_in_a_map(tmp_path):
    cmap = tmp_path / "bad.toml"
    cmap.write_text(MAP.read_text() + "\n[ranges]\nco2 = [600, 400]\n")
    for extra in (["--range", "co2=600:400"], ["--csv-map", str(cmap)]):
        run = subprocess.run([sys.executable, "-m", "dronesense", "pair", str(RAVEN),
                              "--out", str(tmp_path / "s.csv"), *extra],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode != 0 and "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "co2: the low end 600 is not below the high end 400" in lines[0]
    assert not (tmp_path / "s.csv").exists()
    cmap.write_text("[ranges]\nco2 = 400\n")
    from dronesense.errors import InputError

    with pytest.raises(InputError, match=r"\[ranges\] co2: expected \[low, high\]"):
        map_ranges(cmap)


def test_ranges_replace_the_defaults_per_quantity_only_inside_the_block():
    assert active_ranges() is None and CheckedPairer().ranges is None
    with using_ranges({"ch4": (1.5, 3.0, "ppm")}) as outer:
        assert outer["ch4"] == (1.5, 3.0, "1e-6")
        assert outer["co2"] == PLAUSIBLE_RANGES["co2"]
        with using_ranges({"co2": (350, 2000)}) as inner:      # nested blocks add up
            assert inner["ch4"] == (1.5, 3.0, "1e-6") and inner["co2"] == (350.0, 2000.0, "1e-6")
        assert active_ranges()["co2"] == PLAUSIBLE_RANGES["co2"]
    assert active_ranges() is None
    assert check_ranges({"pm2p5": [0, 0.5, "mg m-3"]}) == {"pm2p5": (0.0, 0.5, "mg m-3")}
