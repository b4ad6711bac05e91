"""firmware-sim refuses impossible values in its input files with one line (exit status 1),
before flying: an altitude of -1e308 (home, a mission item, the field's ground), a sensor
clock offset of 2^31 s, a field file that is not UTF-8."""

from __future__ import annotations

import json
import shutil

import pytest

from firmware_sim.cli import main
from firmware_sim.errors import SimError
from firmware_sim.world import load_field
from tests.support.paths import MISSIONS


@pytest.fixture
def mission(tmp_path):
    plan = tmp_path / "m.plan"
    shutil.copy(MISSIONS / "pm-profile.plan", plan)
    shutil.copy(MISSIONS / "pm-profile.toml", tmp_path / "m.toml")
    return plan


def _edit_plan(plan, change) -> None:
    doc = json.loads(plan.read_text())
    change(doc["mission"])
    plan.write_text(json.dumps(doc))


def _edit_field(plan, old: str, new: str) -> None:
    toml = plan.with_suffix(".toml")
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))


def _refused(plan, capsys, *words: str) -> None:
    code = main(["--mission", str(plan), "--connect", "none", "--tlog",
                 str(plan.with_suffix(".tlog")), "--speedup", "0", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("firmware-sim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    assert not plan.with_suffix(".tlog").exists()


def test_home_altitude_minus_1e308(mission, capsys):
    _edit_plan(mission, lambda m: m["plannedHomePosition"].__setitem__(2, -1e308))
    _refused(mission, capsys, "plannedHomePosition", "-1e+308")


def test_mission_item_altitude_minus_1e308(mission, capsys):
    _edit_plan(mission, lambda m: m["items"][0]["params"].__setitem__(6, -1e308))
    _refused(mission, capsys, "item 1", "altitude", "-1e+308")


def test_field_ground_altitude_minus_1e308(mission, capsys):
    _edit_field(mission, "ground_alt_amsl = 108.0", "ground_alt_amsl = -1e308")
    _refused(mission, capsys, "ground_alt_amsl", "-1e+308")


def test_sensor_time_offset_2_to_the_31(mission, capsys):
    _edit_field(mission, 'name = "PM1"\n', f'name = "PM1"\ntime_offset_s = {2**31}\n')
    _refused(mission, capsys, "PM1", "time_offset_s", "2.14748e+09")


def test_field_file_not_utf8(tmp_path, capsys, mission):
    field = mission.with_suffix(".toml")
    field.write_bytes(b"\xff\xfe[site]\nground_alt_amsl = 1\n")
    with pytest.raises(SimError, match="not UTF-8"):
        load_field(field)
    _refused(mission, capsys, "UTF-8")
