"""Implausible values are flagged out_of_range and kept, on every path; slow tracks get a
maximum gap that fits their rate."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.events import Fix, Reading, TimeSync
from dronesense.flight.boots import split_boots
from dronesense.flight.columns import SampleColumns
from dronesense.flight.maxgap import fix_interval_s, track_max_gap
from dronesense.flight.pipeline import Pipeline
from dronesense.flight.plausible import CheckedPairer, flag_columns, flag_rows
from dronesense.flight.rows import FLAG_MEANINGS, Flag
from dronesense.quantities import NameTable
from dronesense.samples.dataset import to_dataset


def _events(readings, fix_step_ms=1000.0, n_fix=6):
    out = [(TimeSync(1, 0.0, 1_714_557_600_000_000), None)]
    out += [(Fix(1, k * fix_step_ms, 52.0, 5.0 + k * 1e-5, 40.0, 10.0), None)
            for k in range(n_fix)]
    out += [(Reading(1, t, name, v), None) for t, name, v in readings]
    out.sort(key=lambda e: e[0].time_boot_ms)
    return out


READINGS = [(100.0, "TEMP", 184.4), (200.0, "TEMP", 18.0), (300.0, "PRESS", -158.67),
            (400.0, "PRESS", 1012.0), (500.0, "RH", 100.0), (600.0, "CH4", -0.5),
            (700.0, "NH3", 1e9), (800.0, "SO2", -560.0)]


def test_pipeline_flags_out_of_range_and_keeps_value_and_position():
    rows = Pipeline().run(_events(READINGS))
    got = [(r.quantity, r.value, r.flag) for r in rows]
    assert got == [("temperature", 184.4, 6), ("temperature", 18.0, 0),
                   ("pressure", -158.67, 6), ("pressure", 1012.0, 0), ("humidity", 100.0, 0),
                   ("ch4", -0.5, 6), ("nh3", 1e9, 0), ("so2", -560.0, 0)]
    assert all(r.lat is not None and r.position_gap == 1.0 for r in rows)


def test_unpaired_rows_keep_their_pairing_flag():
    pairer = CheckedPairer()
    rows = [r for e, _ in _events([(9000.0, "TEMP", 184.4)]) for r in pairer.push(e)]
    rows += pairer.finish()
    assert [r.flag for r in rows] == [Flag.AFTER_TRACK] and pairer.out_of_range == 0


def test_ranges_follow_the_units_of_a_names_table(tmp_path):
    cfg = tmp_path / "names.toml"
    cfg.write_text('[quantities.temperature]\nunits = "K"\n')
    rows = Pipeline(NameTable.from_file(cfg)).run(
        _events([(100.0, "TEMP", 291.0), (200.0, "TEMP", 18.0)]))
    assert [(r.units, r.flag) for r in rows] == [("K", 0), ("K", 6)]  # 18 K is no air


def test_columns_are_flagged_like_rows():
    rows = Pipeline().run(_events(READINGS))
    plain = [r._replace(flag=0) for r in rows]
    cols = SampleColumns.from_rows(plain)
    assert flag_columns(cols) == 2 + 1
    assert cols.flag.tolist() == [r.flag for r in rows]
    again = list(plain)
    assert flag_rows(again) == 3 and again == rows


def test_custom_ranges_table():
    pairer = CheckedPairer(ranges={"temperature": (-5.0, 5.0, "degC")})
    rows = [r for e, _ in _events(READINGS[:2]) for r in pairer.push(e)]
    assert [r.flag for r in rows] == [6, 6]


def test_flag_meanings_in_the_dataset():
    ds = to_dataset(Pipeline().run(_events(READINGS)))
    assert FLAG_MEANINGS[Flag.OUT_OF_RANGE] == "out_of_range"
    assert ds["flag"].attrs["flag_meanings"].split()[6] == "out_of_range"
    assert np.asarray(ds["flag"].attrs["flag_values"]).tolist() == list(range(7))


@pytest.mark.parametrize("step_ms,given,expected", [
    (100.0, None, 1.0), (100.0, 1.0, 1.0), (100.0, 0.5, 0.5),  # a 10 Hz log as before
    (1000.0, 1.0, 2.5), (1000.0, None, 2.5), (2000.0, 1.0, 5.0), (2000.0, 4.0, 4.0)])
def test_max_gap_fits_the_track_rate(step_ms, given, expected):
    boots = split_boots(_events([], step_ms, 20), NameTable.default())
    assert fix_interval_s(boots) == pytest.approx(step_ms / 1000.0)
    gap, note = track_max_gap(boots, given)
    assert gap == pytest.approx(expected)
    assert (note is None) == (gap == (given if given is not None else 1.0))
    if given is not None:  # an autopilot log keeps the gap given (as the live listener did)
        assert track_max_gap(boots, given, raise_short=False) == (given, None)
