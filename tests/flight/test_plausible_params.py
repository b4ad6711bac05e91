"""Plausible ranges as a parameter: ``ranges=`` of ``read_samples``, ``pair_logs``,
``Pipeline`` and ``CheckedPairer``, a CSV map's ``[ranges]`` (``CsvMap.ranges``) and
``--range`` on ``export``, ``grid`` and ``flux``. On the real little-RAVEN file (Vulcano 2022)
the flags are checked against the file's own values (read with the ``csv`` module): the API
parameter, the map's table and the command line flag exactly the rows outside the range."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter

import pytest

import dronesense
from dronesense.datasets import sample_flight
from dronesense.errors import InputError
from dronesense.flight.pipeline import Pipeline
from dronesense.flight.plausible import CheckedPairer, block_ranges, using_ranges
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.quantities import PLAUSIBLE_RANGES
from dronesense.sources.csvtrack import load_csv_map
from tests.support.raven import MAP, RAVEN, flag_counts, needs_raven, outside, raw_rows

#: co2 400-600 ppm, temperature 12-25 degC (as kelvin): the same ranges three ways
RANGES = {"co2": (400, 600), "temperature": (285.15, 298.15, "K")}
TABLE = ('\n[ranges]\nco2 = [400, 600, "ppm"]\n'
         'temperature = { low = 12, high = 25, units = "degC" }\n')
OPTIONS = ["--range", "co2=400:600", "--range", "temperature=285.15:298.15:K"]


@pytest.fixture(scope="module")
def raw():
    return raw_rows()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dronesense", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@needs_raven
def test_api_parameter_map_table_and_command_line_flag_the_same_rows(raw, tmp_path):
    want = {"co2": outside(raw, "CO2 / ppm", 400, 600),
            "temperature": outside(raw, "temperature / C", 12, 25),
            "pressure": 14}                                   # its default range only
    assert (want["co2"], want["temperature"]) == (224, 186)
    # the parameter of read_samples
    ds = dronesense.read_samples(RAVEN, csv_map=MAP, ranges=RANGES)
    api = {q: int(((ds["name"] == q) & (ds["flag"] == Flag.OUT_OF_RANGE)).sum()) for q in want}
    assert api == want
    # the map's [ranges], applied whenever the map is used (a path or a loaded CsvMap)
    cmap = tmp_path / "raven.toml"
    cmap.write_text(MAP.read_text() + TABLE)
    assert load_csv_map(cmap).ranges == {"co2": (400.0, 600.0, "1e-6"),
                                         "temperature": (12.0, 25.0, "degC")}
    for given in (cmap, load_csv_map(cmap)):
        rows, summary = pair_logs([RAVEN], csv_map=given)
        assert {q: flag_counts(rows)[(q, Flag.OUT_OF_RANGE)] for q in want} == want
    # the notes quote the ranges in force, not the defaults
    assert any("CO2 / ppm: 224 value(s) outside the plausible range 400 to 600 ppm" in w
               for w in summary.warnings)
    assert not any("outside the plausible range -90 to 60 degC" in w for w in summary.warnings)
    # export --range (the log paired first), the map without a table
    out = tmp_path / "s.csv"
    run = _cli("export", RAVEN, "--csv-map", MAP, *OPTIONS, "--out", out)
    assert run.returncode == 0, run.stderr
    assert "outside the plausible range 12 to 25 degC" in run.stdout
    with open(out, newline="") as fh:
        cli = Counter((r["quantity"], int(r["flag"])) for r in csv.DictReader(fh))
    assert {q: cli[(q, Flag.OUT_OF_RANGE)] for q in want} == want
    assert sum(cli.values()) == ds.sizes["obs"] == 5 * 534     # nothing dropped


@needs_raven
def test_explicit_ranges_beat_the_block_and_the_map(raw, tmp_path):
    narrow = outside(raw, "CO2 / ppm", 450, 550)
    assert narrow > outside(raw, "CO2 / ppm", 400, 600)
    with using_ranges({"co2": (400, 600)}):
        assert block_ranges() == {"co2": (400.0, 600.0, "1e-6")}
        rows, _ = pair_logs([RAVEN], csv_map=MAP, ranges={"co2": (450, 550)})
        assert CheckedPairer(ranges={"co2": (450, 550)}).ranges["co2"] == (450.0, 550.0, "1e-6")
        assert Pipeline(ranges={"co2": (1, 2)}).pairer.ranges["co2"] == (1.0, 2.0, "1e-6")
        assert Pipeline().pairer.ranges["co2"] == (400.0, 600.0, "1e-6")     # the block's
    assert flag_counts(rows)[("co2", Flag.OUT_OF_RANGE)] == narrow
    assert flag_counts(rows)[("temperature", Flag.OUT_OF_RANGE)] == 6   # default: glitches only
    assert Pipeline(ranges={"co2": (1, 2)}).pairer.ranges["pressure"] == PLAUSIBLE_RANGES[
        "pressure"]
    # the parameter replaces the map's entry of its quantity only
    cmap = tmp_path / "raven.toml"
    cmap.write_text(MAP.read_text() + TABLE)
    rows, _ = pair_logs([RAVEN], csv_map=cmap, ranges={"co2": (450000, 550000, "ppb")})
    assert flag_counts(rows)[("co2", Flag.OUT_OF_RANGE)] == narrow
    assert flag_counts(rows)[("temperature", Flag.OUT_OF_RANGE)] == outside(
        raw, "temperature / C", 12, 25)


def test_bad_ranges_in_a_map_and_as_a_parameter(tmp_path):
    cmap = tmp_path / "bad.toml"
    cmap.write_text(MAP.read_text() + "\n[ranges]\nco2 = [600, 400]\n")
    with pytest.raises(InputError, match=r"\[ranges\]: co2: the low end 600 is not below"):
        load_csv_map(cmap)
    cmap.write_text('[csv]\ntime = "t"\n[csv.ranges]\nco2 = [0, 1]\n')
    with pytest.raises(InputError, match=r"top-level \[ranges\]"):
        load_csv_map(cmap)
    with pytest.raises(dronesense.errors.ParameterError, match="ranges: ch4: expected"):
        dronesense.read_samples(sample_flight(), ranges={"ch4": 3})


def test_grid_range_pairs_the_log_with_it(tmp_path):
    """``grid LOG --range``: the grid holds the samples inside the range, exactly those the
    API flags 0; a samples file given with --range is refused in one line."""
    samples = dronesense.read_samples(sample_flight(), quantities=["ch4"],
                                      ranges={"ch4": (0, 2.5)})
    kept = int((samples["flag"] == Flag.PAIRED).sum())
    assert 0 < int((samples["flag"] == Flag.OUT_OF_RANGE).sum()) < kept
    run = _cli("grid", sample_flight(), "-q", "ch4", "--spacing", "20,20,10",
               "--range", "ch4=0:2.5", "--out", tmp_path / "g.nc")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{kept} ch4 samples ->")
    journal = tmp_path / "s.csv"
    run = _cli("pair", sample_flight(), "-q", "ch4", "--out", journal)
    assert run.returncode == 0, run.stderr
    for command in ("grid", "flux"):
        run = _cli(command, journal, "-q", "ch4", "--range", "ch4=0:2.5")
        lines = run.stderr.strip().splitlines()
        assert run.returncode != 0 and len(lines) == 1, run.stderr
        assert "--range" in lines[0] and "holds samples paired before" in lines[0]


def test_ranges_for_samples_paired_before_are_refused_by_the_loader(tmp_path):
    """Ranges are applied while pairing: ``load_dataset`` refuses them for a samples file
    (a ``ParameterError`` naming ``ranges``) instead of ignoring them, and reads the same
    file without them."""
    from dronesense.errors import ParameterError
    from dronesense.samples.files import load_dataset

    journal = tmp_path / "s.csv"
    assert _cli("pair", sample_flight(), "-q", "ch4", "--out", journal).returncode == 0
    with pytest.raises(ParameterError, match="holds samples paired before") as err:
        load_dataset(journal, ranges={"ch4": (0, 2.5)})
    assert err.value.parameter == "ranges"
    assert load_dataset(journal).sizes["obs"] > 0
