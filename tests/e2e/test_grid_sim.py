"""`dronesense grid --method auto` on a real simulator session, checked against its true field."""

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.demo import true_field_on_grid
from dronesense.cli.main import main
from tests.support.grids import PLUME_BOX, sim_flight


@pytest.fixture(scope="module")
def auto_grid(tmp_path_factory):
    d = tmp_path_factory.mktemp("grid_sim")
    samples = sim_flight(d, seed=5)
    out = d / "auto.nc"
    assert main(["grid", str(samples), "-q", "ch4", "--spacing", "30,30,15", "--method", "auto",
                 "--out", str(out)]) == 0
    return xr.open_dataset(out).load()


def test_auto_grid_matches_the_true_field(auto_grid):
    from firmware_sim import load_field

    ds = auto_grid
    truth = true_field_on_grid(ds, load_field(PLUME_BOX.with_suffix(".toml")), "ch4").values
    est = ds["ch4"].values
    filled = np.isfinite(est)
    data = ds["number_of_observations"].values > 0
    assert filled.sum() > 1.5 * data.sum()  # the method fills between flight lines
    r_all = np.corrcoef(est[filled], truth[filled])[0, 1]
    r_data = np.corrcoef(est[data], truth[data])[0, 1]
    assert r_data > 0.9
    assert r_all > 0.85
    rmse = float(np.sqrt(np.mean((est[filled] - truth[filled]) ** 2)))
    # the blocked CV score is an honest guide to the error against truth
    assert 0.3 < ds.attrs["cross_validation_rmse"] / rmse < 3
    assert "cross_validation_candidates" in ds.attrs
    # the error the grid reports by default, from the variogram model, is within a factor
    # 1.5 of the true one (1.01 on this flight)
    assert ds.attrs["estimated_grid_rmse_method"] == "estimation variance under the fitted " \
        "variogram"
    assert 1 / 1.5 < ds.attrs["estimated_grid_rmse"] / rmse < 1.5


def test_auto_grid_levels_sit_on_the_flown_layers(auto_grid):
    ds = auto_grid
    # plume-box flies layers at 20, 35, 50 m: one level each, none for the take-off climb
    np.testing.assert_allclose(ds["z"].values, [20.0, 35.0, 50.0])
    levels = np.isfinite(ds["ch4"]).sum(("y", "x")).values
    counts = (ds["number_of_observations"] > 0).sum(("y", "x")).values
    assert (levels > 100).all() and (counts > 20).all()


def test_plots_of_a_sim_grid_use_display_units(auto_grid, tmp_path):
    from dronesense.products.plot import plot_profile, plot_slices

    fig = plot_slices(auto_grid, path=tmp_path / "s.png")
    labels = [ax.get_ylabel() for ax in fig.axes] + [fig._suptitle.get_text()]
    assert any("[ppm]" in t for t in labels) and not any("1e-6" in t for t in labels)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert any(t.startswith("height 35 m") for t in titles) or any(
        t.startswith("height 30 m") for t in titles)
    fig = plot_profile(auto_grid)
    assert "[ppm]" in fig.axes[0].get_xlabel()
    assert "height above home" in fig.axes[0].get_ylabel()
