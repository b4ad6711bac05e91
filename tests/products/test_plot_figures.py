"""Figures for reports: levels from the grid, a colour bar per panel, overlays, date and place,
units on every number, the origin on the axes, compass ends on curtains."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dronesense.geo import LocalFrame
from dronesense.gridding.grid import grid_samples
from dronesense.gridding.spec import GridSpec
from dronesense.products.plot import (
    compass,
    place,
    plot_profile,
    plot_section,
    plot_slices,
    plot_slices_vs_truth,
)
from tests.support.grids import ORIGIN, flight, samples_dataset, truth_grid


@pytest.fixture(scope="module")
def grid():
    coords, values, _, _ = flight(layers=(10, 20, 30), extent=(-100, 100, -60, 60), step=3.0)
    samples = samples_dataset(coords, values)
    ds = grid_samples(samples, "ch4", GridSpec((20, 20, 10), ORIGIN))
    ds.attrs["cross_validation_rmse"] = 0.05
    ds.attrs["time_coverage_start"] = "2025-06-14T08:00:00Z"
    return ds, samples


def _colorbars(fig):
    return [a for a in fig.axes if a.get_label() == "<colorbar>"]


def test_slices_panels_bars_overlays_titles(grid):
    ds, samples = grid
    source = LocalFrame(*ORIGIN[:2]).inverse(-150.0, 0.0)[:2]
    fig = plot_slices(ds, track=samples, source=(float(source[0]), float(source[1])))
    panels = [a for a in fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
    assert len(_colorbars(fig)) == len(panels) >= 3           # a colour bar per panel
    levels = ds["ch4"].notnull().any(("y", "x"))
    wanted = [f"height {z:g} m" for z in ds.z.values[levels.values]]
    assert [a.get_title().split(" (")[0] for a in panels] == wanted  # the grid's own z
    origin = f"of {place(ORIGIN[0], ORIGIN[1])}"
    assert panels[0].get_xlabel() == f"m east {origin}"
    assert panels[0].get_ylabel() == f"m north {origin}"
    title = fig._suptitle.get_text()
    assert "2025-06-14" in title and f"near {place(ORIGIN[0], ORIGIN[1])}" in title
    assert "CV RMSE 0.05 ppm" in title
    labels = {line.get_label() for a in panels for line in a.get_lines()}
    assert {"track", "source"} <= labels
    x, y = panels[0].get_lines()[-1].get_data()                # the source, in grid metres
    assert x[0] == pytest.approx(-150.0, abs=0.01) and y[0] == pytest.approx(0.0, abs=0.01)


def test_truth_comparison_has_a_bar_on_every_panel(grid):
    ds, _ = grid
    spec = GridSpec.from_attrs(ds.attrs)
    truth = xr.DataArray(truth_grid(spec), coords={"z": ds.z, "y": ds.y, "x": ds.x},
                         dims=("z", "y", "x"), attrs={"units": "1e-6"})
    fig = plot_slices_vs_truth(ds, truth)
    rows = len([a for a in fig.axes if a.get_title().startswith("grid, z")])
    assert len(_colorbars(fig)) == 3 * rows
    assert "CV RMSE 0.05 ppm" in fig._suptitle.get_text()


@pytest.mark.parametrize("bearing, ends", [(90.0, ("W", "E")), (0.0, ("S", "N")),
                                           (225.0, ("NE", "SW"))])
def test_curtain_ends_by_compass(grid, bearing, ends):
    ds, _ = grid
    frame = LocalFrame(*ORIGIN[:2])
    b = np.radians(bearing)
    lat, lon, _ = frame.inverse(np.array([-60 * np.sin(b), 60 * np.sin(b)]),
                                np.array([-40 * np.cos(b), 40 * np.cos(b)]))
    fig = plot_section(ds, (lat[0], lon[0]), (lat[1], lon[1]))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == list(ends)
    assert f"from its {ends[0]} end" in ax.get_xlabel()
    assert "CV RMSE 0.05 ppm" in ax.get_title()


def test_profile_title_has_units_and_date(grid):
    ds, _ = grid
    title = plot_profile(ds).axes[0].get_title()
    assert "CV RMSE 0.05 ppm" in title and "2025-06-14" in title


def test_titles_give_the_grid_error_the_grid_reports(grid):
    """A grid with ``estimated_grid_rmse`` shows it in its titles, and how it was made (a
    grid written before the model was the default has the CV figure there and no method:
    tagged CV); the cross-validation RMSE is shown only by grids with neither."""
    ds, _ = grid
    ds = ds.copy()
    ds.attrs.update(estimated_grid_rmse=0.012,
                    estimated_grid_rmse_method="estimation variance under the fitted variogram")
    title = plot_profile(ds).axes[0].get_title()
    assert "grid error 0.012 ppm (variogram)" in title and "CV RMSE" not in title
    ds.attrs["estimated_grid_rmse_method"] = "cross-validation, sample noise removed"
    assert "grid error 0.012 ppm (CV)" in plot_profile(ds).axes[0].get_title()
    del ds.attrs["estimated_grid_rmse_method"]
    assert "grid error 0.012 ppm (CV)" in plot_profile(ds).axes[0].get_title()


def test_compass_and_place():
    assert [compass(b) for b in (0, 20, 46, 135, 180, 269, 316)] == \
        ["N", "N", "NE", "SE", "S", "W", "NW"]
    assert place(-33.5, 151.25) == "33.5000 S 151.2500 E"
