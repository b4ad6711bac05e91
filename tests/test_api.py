"""The public API (``import dronesense as ds``) on the packaged sample flight, against the
simulator's truth: read, grid, plot, flux, export, live capture, and how it fails."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import dronesense as ds
from dronesense.datasets import sample_emission, sample_flight, sample_mission, sample_truth
from dronesense.errors import DronesenseError, InputError, ParameterError
from tests.support.paths import ROOT, sim_cmd

SOURCE = (50.9934, 6.9877)  # the simulated stack
SPACING = (10, 10, 5)


@pytest.fixture(scope="module")
def samples():
    return ds.read_samples(sample_flight(), lags={"ch4": "auto"})


@pytest.fixture(scope="module")
def grid(samples):
    return ds.grid(samples, "ch4", spacing=SPACING, method="auto")


def _corr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


# ---------------------------------------------------------------------------------------------
# the package surface


def test_import_is_light_and_names_are_lazy():
    code = ("import sys, dronesense as ds; heavy = [m for m in ('xarray', 'numpy', "
            "'dronesense.gridding', 'dronesense.api', 'matplotlib') if m in sys.modules]; "
            "print(heavy); print(ds.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split("\n")
    assert out[0] == "[]" and out[1] == ds.__version__


def test_every_public_name_resolves():
    for name in ds.__all__:
        assert getattr(ds, name) is not None, name
        assert name in dir(ds)
    assert issubclass(ds.ParameterError, ds.DronesenseError)
    assert ds.grid is __import__("dronesense.gridding.grid", fromlist=["grid"]).grid
    with pytest.raises(AttributeError):
        ds.no_such_name  # noqa: B018


def test_sample_flight_regenerates_byte_for_byte(tmp_path):
    from dronesense.datasets.make_sample import make_sample_flight

    out = make_sample_flight(tmp_path / "flight.tlog")
    assert out.read_bytes() == sample_flight().read_bytes()
    assert sample_flight().stat().st_size < 400_000
    assert sample_mission().with_suffix(".toml").is_file()


# ---------------------------------------------------------------------------------------------
# read -> grid -> plot -> flux -> export


def test_read_samples_matches_the_truth(samples):
    assert samples.attrs["featureType"] == "trajectory"
    assert sorted(samples.dronesense.quantities) == ["ch4", "humidity", "pm2p5", "temperature"]
    ch4 = samples["ch4"].values
    assert np.isfinite(ch4).sum() > 1100
    assert np.nanmin(ch4) > 1.9 and np.nanmax(ch4) < 5.0  # background 1.95 ppm plus the plume
    summary = samples.attrs["pairing_summary"]
    assert "lag ch4:" in summary and "estimated" in summary
    # the sensor's 1 s lag is estimated, so each reading sits where it was taken
    truth = sample_truth(samples, "ch4")
    assert truth.dims == ("obs",) and _corr(ch4, truth) > 0.99
    # every input form gives the same samples
    assert ds.read_samples([sample_flight()], lags={"ch4": "auto"}).equals(samples)


def test_read_samples_of_samples_files(samples, tmp_path):
    nc = samples.dronesense.to_file(tmp_path / "s.nc")
    back = ds.read_samples(nc)
    assert back.attrs["pairing_summary"] == samples.attrs["pairing_summary"]
    xr.testing.assert_equal(back["ch4"], samples["ch4"])
    csv_path = samples.dronesense.to_file(tmp_path / "s.csv")
    only = ds.read_samples(csv_path, quantities="ch4")
    assert only.dronesense.quantities == ["ch4"]
    np.testing.assert_array_equal(only["ch4"].values,
                                  samples["ch4"].values[np.isfinite(samples["ch4"].values)])


def test_grid_function_and_accessor(samples, grid):
    assert grid["ch4"].dims == ("z", "y", "x")
    assert grid.attrs["made_by"] and "cross_validation_candidates" in grid.attrs
    # every positioned sample within the grid's vertical extent (the levels sit on the flown
    # layers; the take-off climb below the lowest layer's cell is left out) lands in one voxel
    z = grid["z_bounds"].values if "z_bounds" in grid else None
    have = np.isfinite(samples["ch4"].values) & np.isfinite(samples["lat"].values)
    h = samples["height"].values[have]
    inside = (h >= z.min()) & (h < z.max()) if z is not None else np.ones(h.size, bool)
    assert int(grid["number_of_observations"].sum()) == int(inside.sum())
    assert inside.sum() > 0.95 * have.sum()
    est = grid["ch4"].values
    assert np.isfinite(est).sum() > 500
    assert _corr(est, sample_truth(grid, "ch4")) > 0.95
    via = samples.dronesense.grid("ch4", spacing=SPACING, method="auto")
    for name in grid.variables:
        xr.testing.assert_identical(via[name], grid[name])
    assert via.attrs["made_by"] == grid.attrs["made_by"]
    assert grid.dronesense.quantities == ["ch4"]


def test_plots_from_functions_and_accessor(grid, tmp_path):
    fig = ds.plot_slices(grid)
    assert isinstance(fig, Figure) and len(fig.axes) > 1
    out = tmp_path / "slices.png"
    assert isinstance(ds.plot_slices(grid, out, levels=[20, 40]), Figure)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert isinstance(grid.dronesense.plot_slices(), Figure)
    assert isinstance(grid.dronesense.plot_profile(tmp_path / "p.svg"), Figure)
    ends = (50.99322, 6.99033), (50.99493, 6.98877)  # the curtain line
    fig = grid.dronesense.plot_section(*ends, tmp_path / "c.png")
    assert (tmp_path / "c.png").is_file() and isinstance(fig, Figure)


def test_flux_function_and_accessor(samples):
    flux = ds.estimate_flux(samples, "ch4", source=SOURCE)  # wind from the log's WIND
    assert abs(flux.emission - sample_emission("ch4")) < 2 * flux.uncertainty
    assert abs(flux.emission - 5.0) < 1.0
    assert "WIND" in "\n".join(flux.lines())
    out = flux.to_dataset()
    assert isinstance(out, xr.Dataset) and "flux_density" in out
    same = samples.dronesense.estimate_flux("ch4", source=SOURCE)
    assert same.emission == flux.emission
    given = ds.estimate_flux(samples, "ch4", wind="3@240", source=SOURCE)
    assert abs(given.emission - 5.0) < 1.0


def test_exports_from_the_accessor(samples, grid, tmp_path):
    import json

    path = samples.dronesense.to_file(tmp_path / "s.geojson", paired_only=True)
    doc = json.loads(path.read_text())
    n = sum(1 for f in doc["features"] if f["geometry"]["type"] == "Point")
    paired = int(((samples["flag"] == 0) & samples["lat"].notnull()).sum())
    assert n == paired
    g = grid.dronesense.to_file(tmp_path / "g.nc")
    xr.testing.assert_allclose(ds.open_grid(g)["ch4"], grid["ch4"])


# ---------------------------------------------------------------------------------------------
# live capture


def test_listener_records_a_simulated_flight(tmp_path):
    out = tmp_path / "today"
    truth_csv = tmp_path / "truth.csv"
    with ds.Listener("udpin:127.0.0.1:0", out=out) as live:
        port = live.link.address[1]
        sim = subprocess.Popen(sim_cmd("--mission", sample_mission(), "--connect",
                                       f"udpout:127.0.0.1:{port}", "--speedup", "20",
                                       "--max-time", "40", "--seed", "3", "--truth", truth_csv,
                                       "--quiet"))
        try:
            rows = list(live.samples(timeout=3.0))
        finally:
            sim.wait(timeout=60)
    assert live.summary["stop_reason"] == "timeout"
    with open(truth_csv, newline="") as fh:
        reported = {(r["name"], np.float32(r["reported_value"])) for r in csv.DictReader(fh)}
    assert len(rows) > 100  # every sample is a reading the simulator sent
    assert all((r.name, np.float32(r.value)) in reported for r in rows)
    recorded = ds.read_samples(out)
    assert int(sum(recorded[q].count() for q in recorded.dronesense.quantities)) == len(rows)


# ---------------------------------------------------------------------------------------------
# errors


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and text
    return text


def test_bad_input_is_one_line_dronesense_error(tmp_path, samples):
    with pytest.raises(DronesenseError) as info:
        ds.read_samples(tmp_path / "missing.tlog")
    assert "no such file" in _one_line(info.value)
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(InputError) as info:
        ds.read_samples(tmp_path / "notes.txt")
    assert "unknown log type" in _one_line(info.value)
    with pytest.raises(DronesenseError) as info:
        ds.read_samples(sample_flight(), quantities=["no2"])
    assert "no sensor readings of no2" in _one_line(info.value)
    with pytest.raises(ParameterError) as info:
        ds.read_samples(sample_flight(), max_gap_s=-1)
    assert info.value.parameter == "max_gap_s" and isinstance(info.value, ValueError)
    _one_line(info.value)
    with pytest.raises(ParameterError) as info:
        ds.read_samples(sample_flight(), lags={"ch4": "soon"})
    assert info.value.parameter == "lags"
    with pytest.raises(InputError) as info:
        ds.read_samples(sample_flight(), names=tmp_path / "names.toml")
    assert "names.toml" in _one_line(info.value)
    # flux without a wind, from samples whose source holds no WIND: says what to give
    bare = samples.copy()
    bare.attrs["source"] = str(tmp_path / "gone.tlog")
    with pytest.raises(ParameterError) as info:
        ds.estimate_flux(bare, "ch4", source=SOURCE)
    assert info.value.parameter == "wind" and "SPEED@FROM_DEG" in _one_line(info.value)


def test_misuse_is_type_or_value_error(samples, grid, tmp_path):
    with pytest.raises(TypeError):
        ds.read_samples(42)
    with pytest.raises(ValueError):
        ds.read_samples([])
    with pytest.raises(TypeError):
        ds.read_samples(sample_flight(), max_gap_s="1")
    with pytest.raises(TypeError, match="samples Dataset"):
        grid.dronesense.grid("ch4", spacing=SPACING)
    with pytest.raises(TypeError, match="grid Dataset"):
        samples.dronesense.plot_slices()
    with pytest.raises(ValueError, match="path"):
        ds.plot_slices(grid, "ch4")  # a variable goes in name=
    with pytest.raises(TypeError):
        sample_truth([1, 2, 3])
