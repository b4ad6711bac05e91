"""End to end: ``dronesense demo`` flies firmware-sim, records live, grids, compares with truth."""

import csv
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.demo import SimulatorTruth, run_demo, true_field_on_grid
from dronesense.cli.main import main
from dronesense.errors import InputError

MISSIONS = Path(__file__).resolve().parents[2] / "missions"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, mission=MISSIONS / "plume-box.plan", speedup=100.0, seed=3)


def test_grid_mean_matches_true_field(demo):
    _, figures = demo
    assert figures["voxels_with_data"] > 50
    assert figures["grid_truth_correlation"] > 0.9


def test_every_reading_sent_is_a_paired_sample(demo):
    out, figures = demo
    with open(out / "truth.csv") as f:
        truth = list(csv.DictReader(f))
    assert figures["samples"] == len(truth)
    assert figures["paired_fraction"] > 0.99


def test_products_are_written_and_readable(demo):
    out, _ = demo
    for name in ("session/flight.tlog", "session/samples.csv", "session/session.json",
                 "slices.png", "summary.json"):
        assert (out / name).stat().st_size > 0
    with xr.open_dataset(out / "grid.nc") as grid:
        assert grid["ch4"].attrs["standard_name"] == "mole_fraction_of_methane_in_air"
        assert grid["number_of_observations"].sum() > 0


def test_true_field_on_grid_uses_grid_altitudes(demo, plume_box):
    from firmware_sim import load_field

    out, _ = demo
    with xr.open_dataset(out / "grid.nc") as grid:
        field = load_field(plume_box.with_suffix(".toml"))
        truth = true_field_on_grid(grid, field, "ch4")
        assert truth.shape == grid["ch4"].shape
        # far upwind of the stack the field is background
        assert np.nanmin(truth.values) == pytest.approx(1.95, abs=0.01)


def test_demo_asks_the_simulator_program_for_the_truth(demo, plume_box):
    """The demo's truth comes from ``firmware-sim --truth-at`` and is the field exactly."""
    from firmware_sim import load_field

    out, _ = demo
    with xr.open_dataset(out / "grid.nc") as grid:
        asked = true_field_on_grid(grid, SimulatorTruth(plume_box), "ch4")
        direct = true_field_on_grid(grid, load_field(plume_box.with_suffix(".toml")), "ch4")
        assert np.array_equal(asked.values, direct.values)
        with pytest.raises(InputError, match="no quantity 'no2'"):
            true_field_on_grid(grid.rename({"ch4": "no2"}), SimulatorTruth(plume_box), "no2")


def test_demo_code_runs_the_simulator_as_a_program():
    import ast

    import dronesense.cli.demo as demo_module

    tree = ast.parse(Path(demo_module.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.split(".")[0] == "firmware_sim" for m in imported)


def test_demo_command_reports_missing_mission(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path), "--mission", str(tmp_path / "nope.plan")])
    assert code == 2
    assert "mission not found" in capsys.readouterr().err


def test_grid_levels_are_the_flown_layers(demo):
    """The demo grid's levels sit on the survey altitudes of the mission, not on take-off."""
    import json

    out, _ = demo
    plan = json.loads((MISSIONS / "plume-box.plan").read_text())
    layers = sorted({item["params"][6] for item in plan["mission"]["items"]
                     if item.get("command") == 16})
    with xr.open_dataset(out / "grid.nc") as grid:
        assert grid["z"].values.tolist() == pytest.approx(layers)
