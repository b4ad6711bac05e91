"""Real instrument files read as they come, with only the example maps of ``docs/maps``.

Checked against the files' own facts (read here with the standard ``csv`` module): row
counts, time spans, the sensor-glitch rows the data README names, a pressure altitude
computed by hand from the ICAO standard atmosphere.
"""

from __future__ import annotations

import csv
import statistics
from datetime import UTC, datetime

import numpy as np
import pytest

import dronesense as ds
from dronesense.flight.postflight import pair_logs
from dronesense.flight.rows import Flag
from dronesense.gridding.reportederror import MODEL_ESTIMATE
from dronesense.sources.csvtrack import load_csv_map
from tests.support.paths import MAPS, REAL_FLIGHTS

RAVEN = REAL_FLIGHTS / "little-raven-vulcano-flight1.txt"
NMT = REAL_FLIGHTS / "nmt-20230419-flight0-merge.csv"


def _raw(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def raven():
    rows, summary = pair_logs([RAVEN], csv_map=MAPS / "little-raven-vulcano.toml")
    return _raw(RAVEN), rows, summary


def _by_index(raw, rows, quantity):
    """Samples of one quantity by the file's own ``index`` column (rows are one second apart
    or more, so the time identifies the row)."""
    day = datetime(2022, 4, 11, tzinfo=UTC)
    at = {}
    for r in raw:
        h, m, s = map(int, r["time"].split(":"))
        at[(day.replace(hour=h, minute=m, second=s)).strftime("%Y-%m-%dT%H:%M:%S")] = \
            int(r["index"])
    return {at[s.time_utc[:19]]: s for s in rows if s.quantity == quantity}


def test_raven_rows_time_span_and_pairing(raven):
    raw, rows, summary = raven
    assert len(raw) == 534
    first, last = raw[0]["time"], raw[-1]["time"]
    assert (first, last) == ("18:17:33", "18:35:45")
    co2 = [r for r in rows if r.quantity == "co2"]
    assert len(co2) == 534 and all(r.flag == Flag.PAIRED for r in co2)
    assert co2[0].time_utc == "2022-04-11T18:17:33.000000Z"
    assert co2[-1].time_utc == "2022-04-11T18:35:45.000000Z"
    so2 = [r for r in rows if r.quantity == "so2"]
    assert so2[1].value == pytest.approx(float(raw[1]["SO2 / ppm"]) * 1000.0)  # ppm -> ppb
    assert any("2022-04-11" in w for w in summary.warnings)


def test_raven_glitches_flagged_not_dropped(raven):
    """The README's glitches: pressure below 0 and above 1200 hPa, temperatures near
    184 degC (and one of 102 degC). Each such value is kept and flagged; no other is."""
    raw, rows, _ = raven
    p_bad = {int(r["index"]) for r in raw if not 300 <= float(r["pressure / hPa"]) <= 1100}
    t_bad = {int(r["index"]) for r in raw if float(r["temperature / C"]) > 60}
    assert p_bad == {139, 162, 186, 230, 233, 245, 249, 254, 311, 345, 414, 415, 424, 499}
    assert t_bad == {139, 179, 259, 311, 345, 499}
    for quantity, column, bad in (("pressure", "pressure / hPa", p_bad),
                                  ("temperature", "temperature / C", t_bad)):
        samples = _by_index(raw, rows, quantity)
        assert len(samples) == 534
        flagged = {i for i, s in samples.items() if s.flag == Flag.OUT_OF_RANGE}
        assert flagged == bad
        assert all(samples[i].lat is not None for i in bad)  # position kept
        assert all(samples[i].value == pytest.approx(float(raw[i][column])) for i in bad)
        assert all(s.flag == Flag.PAIRED for i, s in samples.items() if i not in bad)


def test_raven_altitude_from_pressure_by_hand(raven):
    raw, rows, _ = raven
    p = [float(r["pressure / hPa"]) for r in raw]
    p0 = statistics.median([x for x in p if 300 <= x <= 1100][:5])  # take-off pressure
    samples = _by_index(raw, rows, "co2")
    for i in (100, 200, 259, 300, 450):  # 259: a temperature glitch, the pressure is good
        by_hand = 288.15 / 0.0065 * (1.0 - (p[i] / p0) ** 0.190263)
        assert samples[i].height == pytest.approx(by_hand, abs=1e-6)
    top = max(range(len(p)), key=lambda i: samples[i].height)
    assert 300 < samples[top].height < 340 and p[top] == min(x for x in p if x > 300)
    # a glitch row: the altitude between the neighbouring rows
    assert samples[162].height == pytest.approx((samples[161].height + samples[163].height)
                                                / 2, rel=1e-9)


def test_raven_gridded_without_the_glitches():
    samples = ds.read_samples(RAVEN, csv_map=MAPS / "little-raven-vulcano.toml")
    assert samples.sizes["obs"] == 5 * 534
    grid = ds.grid(samples, "temperature", spacing=(50, 20))
    values = grid["temperature"].values
    assert np.isfinite(values).sum() > 20
    assert np.nanmax(values) < 30  # the 184 degC glitches are left out
    so2 = ds.grid(samples, "so2", spacing=(50, 20))
    assert so2["so2"].attrs["units"] == "1e-9" and np.nanmax(so2["so2"].values) > 1000
    # each reports the model's error, of the order of the independent cross-validation's
    # (temperature 1.18 vs 1.34 degC, so2 2768 vs 4178 ppb), not inflated by a background
    for g in (grid, so2):
        model, cv = g.attrs["estimated_grid_rmse"], g.attrs["cross_validation_grid_rmse"]
        assert g.attrs["estimated_grid_rmse_method"] == MODEL_ESTIMATE
        assert cv / 3 < model < 3 * cv


def test_nmt_merge_file_with_its_map():
    raw = _raw(NMT)
    rows, summary = pair_logs([NMT], csv_map=load_csv_map(MAPS / "nmt-merge.toml"))
    assert len(raw) == 7303
    ch4_cells = [r for r in raw if r["CH4"].strip()]
    ch4 = [r for r in rows if r.quantity == "ch4"]
    assert len(ch4) == len(ch4_cells) == 1418
    assert all(r.flag == Flag.PAIRED for r in ch4)
    assert ch4[0].value == pytest.approx(float(ch4_cells[0]["CH4"]))
    temps = [r for r in rows if r.quantity == "temperature"]
    assert temps[0].time_utc == raw[0]["Timestamp"].replace(" ", "T") + "Z"
    assert temps[-1].time_utc == raw[-1]["Timestamp"].replace(" ", "T") + "Z"
    take_off = statistics.median(float(r["Alt"]) for r in raw[:5])
    assert temps[100].height == pytest.approx(float(raw[100]["Alt"]) - take_off)
    assert not any("max gap" in w for w in summary.warnings)  # 5 Hz: the usual 1 s
