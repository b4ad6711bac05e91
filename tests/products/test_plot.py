"""Figures: files are written and look like images; the CLI handles bad input."""

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.main import main
from dronesense.gridding.dataset import write_grid
from dronesense.gridding.grid import grid_samples
from dronesense.gridding.spec import GridSpec
from dronesense.products.plot import plot_profile, plot_section, plot_slices, plot_slices_vs_truth
from tests.support.grids import ORIGIN, flight, samples_dataset, truth_grid

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    coords, values, _, _ = flight(layers=(10, 20, 30), extent=(-100, 100, -60, 60), step=3.0)
    ds = grid_samples(samples_dataset(coords, values), "ch4", GridSpec((20, 20, 10), ORIGIN))
    path = tmp_path_factory.mktemp("plot") / "grid.nc"
    write_grid(ds, path)
    return path, ds


def test_slices_vs_truth(grid_file, tmp_path):
    _, ds = grid_file
    spec = GridSpec.from_attrs(ds.attrs)
    truth = xr.DataArray(truth_grid(spec), coords={"z": ds.z, "y": ds.y, "x": ds.x},
                         dims=("z", "y", "x"), attrs={"units": "1e-6"})
    fig = plot_slices_vs_truth(ds, truth, tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").read_bytes()[:8] == PNG
    assert len([a for a in fig.axes if a.get_title().startswith("grid, z")]) == 3
    r = [float(a.get_title().split("r = ")[1].rstrip(")")) for a in fig.axes
         if "r = " in a.get_title()]
    assert min(r) > 0.9


def test_functions_write_pngs(grid_file, tmp_path):
    _, ds = grid_file
    plot_slices(ds, path=tmp_path / "s.png")
    plot_profile(ds, path=tmp_path / "p.png")
    lat = ds.lat.values
    lon = ds.lon.values
    plot_section(ds, (lat[3, 0], lon[3, 0]), (lat[3, -1], lon[3, -1]), path=tmp_path / "c.png")
    for name in ("s", "p", "c"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("kind", ["slices", "profile", "section"])
def test_cli(grid_file, tmp_path, kind, capsys):
    path, ds = grid_file
    line = f"{ds.lat.values[0, 0]},{ds.lon.values[0, 0]}:{ds.lat.values[-1, -1]}," \
           f"{ds.lon.values[-1, -1]}"
    out = tmp_path / f"{kind}.png"
    argv = ["plot", str(path), "--kind", kind, "--out", str(out)]
    if kind == "section":
        argv += ["--line", line]
    assert main(argv) == 0
    assert out.read_bytes()[:8] == PNG
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--kind", "section"], "--line"),
    (["--kind", "section", "--line", "52,5"], "LAT1,LON1:LAT2,LON2"),
    (["--out", "x.txt"], ".png"),
])
def test_cli_errors(grid_file, extra, message, capsys):
    path, _ = grid_file
    assert main(["plot", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_missing_grid(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "none.nc")]) == 2
    assert np.char.count(capsys.readouterr().err, "\n") == 1


def test_path_second_options_by_keyword(grid_file, tmp_path):
    """``plot_slices(grid)`` and ``plot_slices(grid, "x.png")``; the rest by keyword."""
    from matplotlib.figure import Figure

    from dronesense.errors import ParameterError

    _, ds = grid_file
    assert isinstance(plot_slices(ds), Figure)
    fig = plot_slices(ds, tmp_path / "s.svg", name="ch4", levels=[20])
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
    assert next(a.get_title() for a in fig.axes if a.get_title()).startswith("height 20 m")
    assert isinstance(plot_profile(ds, str(tmp_path / "p.png"), name="ch4"), Figure)
    with pytest.raises(ParameterError, match="path") as info:
        plot_slices(ds, "ch4")  # the variable goes in name=
    assert info.value.parameter == "path"
    with pytest.raises(TypeError):
        plot_slices(ds, None, "ch4")
