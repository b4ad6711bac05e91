"""Field texts of firmware_sim.scenarios read back by the simulator's own field reader."""

from __future__ import annotations

import pytest

from firmware_sim import SimError, load_field
from firmware_sim.scenarios import AREA_SOURCE_FIELD, gusty, set_sensor
from tests.support.paths import MISSIONS


def _field(tmp_path, text):
    path = tmp_path / "field.toml"
    path.write_text(text)
    return load_field(path)


def test_gusts_and_sensor_keys_reach_the_field(tmp_path):
    text = (MISSIONS / "plume-curtain.toml").read_text()
    field = _field(tmp_path, set_sensor(gusty(text, veer_deg=8.0, gust_time=30.0), "CH4",
                                        rate_hz=5.0, lag_s=0.0))
    g = field.gusts
    assert (g.gust, g.veer_deg, g.time_scale) == (0.2, 8.0, 30.0)
    ch4 = next(s for s in field.sensors if s["name"] == "CH4")
    assert (ch4["rate_hz"], ch4["lag_s"]) == (5.0, 0.0)
    pm = next(s for s in field.sensors if s["name"] == "PM2.5")   # the others keep theirs
    assert (pm["rate_hz"], pm["lag_s"]) == (1.0, 0.5)


def test_area_source_field_without_and_with_gusts(tmp_path):
    assert not _field(tmp_path, AREA_SOURCE_FIELD).gusts.active
    g = _field(tmp_path, gusty(AREA_SOURCE_FIELD, veer_deg=0.0)).gusts
    assert (g.gust, g.veer_deg, g.time_scale) == (0.2, 0.0, 20.0)


def test_missing_places_are_one_line_errors():
    with pytest.raises(SimError, match="no stability line"):
        gusty("[wind]\nspeed = 3.0\n")
    with pytest.raises(SimError, match="sensor 'NO2' has no rate_hz"):
        set_sensor(AREA_SOURCE_FIELD, "NO2", rate_hz=1.0)
