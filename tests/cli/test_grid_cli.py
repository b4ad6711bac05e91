"""``dronesense grid`` on session directories, journals and samples netCDF."""

import json

import numpy as np
import pytest
import xarray as xr

from dronesense.cli.main import main
from dronesense.gridding.spec import GridSpec
from tests.support.grids import ORIGIN, flight, samples_dataset


def _rows(ds):
    from dronesense.flight.rows import SampleRow

    rows = []
    for i in range(ds.sizes["obs"]):
        for key in ("ch4", "pm2p5"):
            if key in ds and np.isfinite(ds[key].values[i]):
                t = np.datetime_as_string(ds.time.values[i], unit="us") + "Z"
                rows.append(SampleRow(
                    t, 1000.0 + 100 * i, 0, 1, float(ds.lat[i]), float(ds.lon[i]),
                    float(ds.altitude[i]), float(ds.height[i]), key, key.upper(),
                    float(ds[key][i]), "1e-6" if key == "ch4" else "ug m-3", 0.1, 0, "sync"))
    return rows


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from dronesense.samples.journal import JournalWriter

    coords, values, _, _ = flight(layers=(10, 20), extent=(-60, 60, -40, 40), step=2.0)
    ds = samples_dataset(coords, values, other=("pm2p5", values * 3))
    d = tmp_path_factory.mktemp("session")
    with JournalWriter(d / "samples.csv") as journal:
        journal.write(_rows(ds))
    ds.to_netcdf(d / "samples.nc")
    return d


def test_grid_session_dir_default_out(session, capsys):
    assert main(["grid", str(session), "--quantity", "ch4", "--spacing", "20,20,10"]) == 0
    out = capsys.readouterr().out
    assert "ch4 samples ->" in out and "wrote" in out
    assert " ppm" in out and "1e-6" not in out  # display units on screen
    ds = xr.open_dataset(session / "grid_ch4.nc")
    assert ds["ch4"].dims == ("z", "y", "x")
    assert ds.sizes["z"] == 2
    assert ds.attrs["made_by"].startswith("BlockReduce(")
    home = GridSpec.from_attrs(ds.attrs).origin
    assert home[2] == pytest.approx(ORIGIN[2])
    ds.close()


def test_grid_csv_and_nc_agree(session, tmp_path):
    a, b = tmp_path / "a.nc", tmp_path / "b.zarr"
    common = ["--quantity", "pm2p5", "--spacing", "20,10", "--origin", "52,5,10",
              "--no-error-model"]
    assert main(["grid", str(session / "samples.csv"), *common, "--out", str(a)]) == 0
    assert main(["grid", str(session / "samples.nc"), *common, "--out", str(b)]) == 0
    ga, gb = xr.open_dataset(a), xr.open_zarr(b)
    np.testing.assert_allclose(ga["pm2p5"], gb["pm2p5"], rtol=1e-12)
    assert ga["pm2p5"].attrs["units"] == "ug m-3"
    ga.close()


def test_grid_spec_reuse_and_options(session, tmp_path):
    spec = GridSpec((10, 10, 5), ORIGIN, region=(-80, 80, -50, 50, 0, 50), vertical="agl",
                    terrain=12.0)
    spec.save(tmp_path / "spec.json")
    out = tmp_path / "g.nc"
    assert main(["grid", str(session), "-q", "ch4", "--grid-spec", str(tmp_path / "spec.json"),
                 "--statistic", "median", "--out", str(out),
                 "--save-spec", str(tmp_path / "used.json")]) == 0
    ds = xr.open_dataset(out)
    assert GridSpec.from_attrs(ds.attrs) == spec
    assert ds["ch4"].attrs["cell_methods"].startswith("x: y: z: median")
    assert json.loads((tmp_path / "used.json").read_text())["vertical"] == "agl"
    # heights 10/20 above a home at 10 m AMSL are 8/18 m above ground at 12 m
    z_with_data = ds.z.values[(ds["number_of_observations"] > 0).any(("y", "x")).values]
    assert z_with_data.tolist() == [7.5, 17.5]
    ds.close()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--quantity", "ch4"], "--spacing"),
        (["--quantity", "no2", "--spacing", "5"], "no 'no2'"),
        (["--quantity", "ch4", "--spacing", "5,x"], "--spacing"),
        (["--quantity", "ch4", "--spacing", "5", "--vertical", "agl"], "terrain"),
        (["--quantity", "ch4", "--spacing", "5", "--out", "g.txt"], ".nc or .zarr"),
        (["--quantity", "ch4", "--spacing", "0"], "positive"),
        (["--quantity", "ch4", "--spacing=-5,-5,2"], "positive"),
        # a typo in the spacing must not try to allocate petabytes
        (["--quantity", "ch4", "--spacing", "1e-3"], "too large"),
        # a region far from the flight would be written as an all-empty grid
        (["--quantity", "ch4", "--spacing", "10", "--region=5000,6000,5000,6000,0,50"],
         "none of the"),
        (["--quantity", "ch4", "--spacing", "10", "--method", "auto",
          "--region=5000,6000,5000,6000,0,50"], "none of the"),
    ],
)
def test_bad_input_is_one_line(session, capsys, argv, message):
    assert main(["grid", str(session), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and err.startswith("dronesense grid: error:")


def test_missing_or_foreign_input(tmp_path, capsys):
    assert main(["grid", str(tmp_path / "nope"), "-q", "ch4", "--spacing", "5"]) == 2
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert main(["grid", str(tmp_path / "x.csv"), "-q", "ch4", "--spacing", "5"]) == 2
    xr.Dataset({"a": ("t", [1.0])}).to_netcdf(tmp_path / "x.nc")
    assert main(["grid", str(tmp_path / "x.nc"), "-q", "ch4", "--spacing", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3


def _true_rmse(path):
    """RMSE of a written grid against the plume at its voxel centres (the truth)."""
    from tests.support.grids import plume

    with xr.open_dataset(path) as ds:
        est = ds["ch4"].values
        spec = GridSpec.from_attrs(ds.attrs)
    x, y, z = spec.centres()
    lat, lon, _ = spec.frame.inverse(x, y)  # the grid's frame -> the flight's own
    fx, fy = GridSpec((1, 1, 1), ORIGIN).frame.forward(lat, lon)[:2]
    ok = np.isfinite(est)
    return float(np.sqrt(np.mean((est[ok] - plume(fx[ok], fy[ok], z[ok])) ** 2)))


def test_grid_reports_the_model_error_by_default(session, tmp_path, capsys):
    """Without an option the grid's reported error is the variogram-based expected RMSE; on
    this known plume it is within a factor of 2 of the grid's true RMSE (the voxel centres
    against the field; 0.76 of it, the cross-validation's figure 6.6). The summary's first
    error line says what it is and how it was made."""
    from dronesense.gridding.grid import MODEL_ESTIMATE

    out = tmp_path / "idw.nc"
    assert main(["grid", str(session / "samples.nc"), "-q", "ch4", "--spacing", "20,20,10",
                 "--method", "idw", "--cv", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    with xr.open_dataset(out) as ds:
        a = dict(ds.attrs)
        assert ds["ch4"].attrs["estimated_grid_rmse"] == a["estimated_grid_rmse"]
    assert a["estimated_grid_rmse"] == a["model_grid_rmse"]
    assert a["estimated_grid_rmse_method"] == MODEL_ESTIMATE
    assert "variogram" in a["model_grid_rmse_method"]
    true = _true_rmse(out)
    assert true / 2 < a["estimated_grid_rmse"] < 2 * true
    # the cross-validation's figure, kept beside it, is farther off on this flight
    assert abs(np.log(a["cross_validation_grid_rmse"] / true)) > abs(
        np.log(a["estimated_grid_rmse"] / true))
    first = next(i for i, line in enumerate(lines) if "grid error" in line)
    assert lines[first] == (f"estimated grid error {a['estimated_grid_rmse']:.4g} ppm "
                            f"({MODEL_ESTIMATE})")
    assert lines[first + 1].startswith("blocked cross-validation: RMSE")
    assert f"grid error by cross-validation {a['cross_validation_grid_rmse']:.4g} ppm" in (
        lines[first + 2])


def test_no_error_model_reports_the_cv_figure_and_says_so(session, tmp_path, capsys):
    out = tmp_path / "idw.nc"
    assert main(["grid", str(session / "samples.nc"), "-q", "ch4", "--spacing", "20,20,10",
                 "--method", "idw", "--cv", "--no-error-model", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    with xr.open_dataset(out) as ds:
        a = dict(ds.attrs)
    assert "model_grid_rmse" not in a and "model_grid_rmse_method" not in a
    assert a["estimated_grid_rmse"] == a["cross_validation_grid_rmse"]
    assert a["estimated_grid_rmse_method"] == "cross-validation, sample noise removed"
    assert (f"estimated grid error {a['estimated_grid_rmse']:.4g} ppm (cross-validation, "
            f"sample noise removed)\n") in text
    # neither: no error figure, no error line
    assert main(["grid", str(session / "samples.nc"), "-q", "ch4", "--spacing", "20,20,10",
                 "--method", "idw", "--no-error-model", "--out", str(out)]) == 0
    assert "grid error" not in capsys.readouterr().out
    with xr.open_dataset(out) as ds:
        assert "estimated_grid_rmse" not in ds.attrs


def test_error_model_not_estimable_keeps_the_grid(session, tmp_path, capsys):
    """Where no variogram can be fitted (a block median is not linear in the samples; a
    region of one voxel has no pairs), the grid is still written, reports the
    cross-validation's figure where there is one, and says why."""
    for extra, why in ((["--statistic", "median", "--cv"], "median"),
                       (["--region", "0,10,0,10,5,15"], "variogram")):
        out = tmp_path / "g.nc"
        assert main(["grid", str(session / "samples.nc"), "-q", "ch4", "--spacing", "10,10,10",
                     "--method", "block", "--error-model", *extra, "--out", str(out)]) == 0
        text = capsys.readouterr().out
        assert "variogram model not estimable" in text and why in text
        with xr.open_dataset(out) as ds:
            assert "model_grid_rmse" not in ds.attrs
            assert why in ds.attrs["model_grid_rmse_method"]
            if "--cv" in extra:
                assert ds.attrs["estimated_grid_rmse"] == ds.attrs["cross_validation_grid_rmse"]
                assert ds.attrs["estimated_grid_rmse_method"].startswith("cross-validation")
                assert "estimated grid error " in text
            else:
                assert "estimated_grid_rmse" not in ds.attrs
                assert "estimated grid error: none" in text
