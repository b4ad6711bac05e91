"""Every curtain in the flux product: the real NMT flight (three curtains) and a box flight
written to netCDF-4 groups and JSON, read back by xarray, netCDF-C (``ncdump``), the IOOS
compliance-checker, the figure and the report; each group's numbers are the in-memory
estimate's."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import dronesense as ds
from dronesense.geo import LocalFrame
from dronesense.products.flux.box import estimate_box_flux
from dronesense.products.flux.estimate import estimate_flux
from dronesense.products.flux.io import flux_datasets, flux_parts, plot_flux, write_flux
from dronesense.sources.windfile import read_wind_csv
from tests.gridding.test_cf_outputs import compliance_failures
from tests.products.test_flux_cf import WITHOUT_STANDARD_NAME
from tests.products.test_flux_real import MERGE, SONIC_MAP, TRACK_MAP

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated"),
    pytest.mark.filterwarnings("ignore:Passing the dataset to every single check"),
    pytest.mark.filterwarnings("ignore:Problem fetching standard name table"),
]
needs_nmt = pytest.mark.skipif(not MERGE.exists(), reason="real-flight data not beside the clone")

#: What compliance-checker 6.1 says of every file with two or more groups, whatever they
#: hold: its CF 2.7.1 check compares each group's own ``time`` dimension with the first
#: group's as Python objects (never the same; CF 2.7.1 is about references out of a group,
#: and the groups make none). Its ACDD extent checks look for lat/lon/height/time variables
#: in the root group only, and a multi-part file has them in its groups.
CHECKER_ON_GROUPS = {("cf:1.11", "§2.7.1. Scope"),
                     ("acdd:1.3", "geospatial_lat_extents_match"),
                     ("acdd:1.3", "geospatial_lon_extents_match"),
                     ("acdd:1.3", "geospatial_vertical_extents_match"),
                     ("acdd:1.3", "time_coverage_extents_match")}


@pytest.fixture(scope="module")
def nmt(tmp_path_factory):
    if not MERGE.exists():
        pytest.skip("real-flight data not beside the clone")
    tmp = tmp_path_factory.mktemp("nmt")
    cmap = tmp / "nmt.toml"
    cmap.write_text(TRACK_MAP)
    samples = ds.read_samples(MERGE, csv_map=cmap)
    res = estimate_flux(samples, "ch4", wind=read_wind_csv(MERGE, SONIC_MAP), spacing=(5.0, 1.0))
    return res, write_flux(res, tmp / "flux.nc")


def _box_samples() -> xr.Dataset:
    """Closed loops 160 m square at 4-40 m, a CH4 plume leaving through the east wall in a
    3 m/s west wind, background 1.9 ppm everywhere else."""
    half, step = 80.0, 4.0
    side = np.arange(-half, half, step)
    xs, ys, zs = [], [], []
    for z in np.arange(4.0, 41.0, 6.0):
        xs += [side, np.full(side.size, half), -side, np.full(side.size, -half)]
        ys += [np.full(side.size, -half), side, np.full(side.size, half), -side]
        zs.append(np.full(4 * side.size, z))
    x, y, z = np.concatenate(xs), np.concatenate(ys), np.concatenate(zs)
    plume = np.where(x > half - 1, 1.5 * np.exp(-0.5 * (y / 15.0) ** 2
                                                - 0.5 * ((z - 12.0) / 6.0) ** 2), 0.0)
    lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(x + 200.0, y)
    t = np.datetime64("2025-06-14T08:00:00", "ns") + np.arange(x.size) * np.timedelta64(1, "s")
    return xr.Dataset({"ch4": ("obs", 1.9 + plume, {"units": "1e-6"}), "lat": ("obs", lat),
                       "lon": ("obs", lon), "height": ("obs", z),
                       "time_boot_ms": ("obs", 1000.0 * np.arange(x.size))},
                      coords={"time": ("obs", t)})


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    res = estimate_box_flux(_box_samples(), "ch4", wind=(3.0, 270.0), spacing=(5.0, 2.0))
    return res, write_flux(res, tmp_path_factory.mktemp("box") / "box.nc")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)


def _check_group(g: xr.Dataset, part) -> None:
    """A group holds its part's estimate and a grid that integrates back to it."""
    for attr, value in (("emission_rate", part.emission),
                        ("emission_rate_uncertainty", part.uncertainty),
                        ("extrapolated_fraction", part.extrapolated_fraction)):
        assert _same(float(g.attrs[attr]), value), attr
    for k, v in part.components.items():
        assert _same(float(g.attrs[f"uncertainty_{k}"]), v), k
    assert json.loads(g.attrs["flux_summary"])["passes"] == part.info["passes"]
    assert g["flux_density"].dims == ("s", "z") and "Conventions" not in g.attrs
    np.testing.assert_array_equal(g["flux_density"].values, part.grid["flux_density"].values.T)
    area = np.outer(np.diff(g["s_bounds"].values, axis=1)[:, 0],
                    np.diff(g["z_bounds"].values, axis=1)[:, 0])
    assert float(np.nansum(g["flux_density"].values * area)) == pytest.approx(part.emission,
                                                                               abs=1e-9)


@needs_nmt
def test_every_nmt_curtain_is_a_group_with_its_estimate(nmt):
    res, path = nmt
    assert [name for name, _ in flux_parts(res)] == ["curtain_0", "curtain_1", "curtain_2"]
    with xr.open_dataset(path) as root:
        # the root: the combined figure (none on this flight), no grid of one curtain
        assert not root.data_vars and root.attrs["flux_groups"] == "curtain_0 curtain_1 curtain_2"
        assert root.attrs["Conventions"].startswith("CF-1.11")
        assert _same(float(root.attrs["emission_rate"]), res.emission)
        assert root.attrs["notes"] == "; ".join(res.notes)
        # the coverage is that of all three curtains
        starts = [c.info["time_start"] for c in res.curtains]
        assert root.attrs["time_coverage_start"][:19] == min(starts)[:19]
    for k, cur in enumerate(res.curtains):
        with xr.open_dataset(path, group=f"curtain_{k}") as g:
            _check_group(g, cur)
            assert g.attrs["flux_part"] == f"curtain_{k}"
            assert json.loads(g.attrs["flux_summary"])["curtain"] == k
    tree = xr.open_datatree(path)
    assert sorted(tree.children) == ["curtain_0", "curtain_1", "curtain_2"]
    assert tree["curtain_1"].to_dataset().sizes["z"] == res.curtains[1].grid.sizes["z"]
    tree.close()
    assert res.curtains[1].info["passes"] == 5


@needs_nmt
def test_nmt_json_and_figure_hold_every_curtain(nmt, tmp_path):
    res, _ = nmt
    doc = json.loads(write_flux(res, tmp_path / "flux.json").read_text())
    assert doc["emission_g_s"] is None and "grid" not in doc         # NaN is JSON null
    for k, (entry, cur) in enumerate(zip(doc["curtains"], res.curtains, strict=True)):
        assert entry["group"] == f"curtain_{k}" and entry["emission_g_s"] == cur.emission
        assert np.array_equal(np.array(entry["grid"]["flux_density"], float),
                              cur.grid["flux_density"].values, equal_nan=True)
    fig = plot_flux(res, tmp_path / "curtains.png")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 6                                            # 2 rows x 3 curtains
    assert "curtain 1" in panels[1].get_title() and (tmp_path / "curtains.png").stat().st_size


def test_box_walls_are_groups_with_their_estimates(box, tmp_path):
    res, path = box
    assert len(res.walls) == 4
    with xr.open_dataset(path) as root:
        assert root.attrs["emission_rate"] == pytest.approx(res.emission)
        assert root.attrs["emission_rate"] == pytest.approx(sum(w.emission for w in res.walls))
        assert root.attrs["flux_groups"] == "wall_0 wall_1 wall_2 wall_3"
        assert "box" in root.attrs["title"]
    for k, wall in enumerate(res.walls):
        with xr.open_dataset(path, group=f"wall_{k}") as g:
            _check_group(g, wall)
            assert json.loads(g.attrs["flux_summary"])["wall"] == wall.info["wall"]
    doc = json.loads(write_flux(res, tmp_path / "box.json").read_text())
    assert [w["group"] for w in doc["walls"]] == ["wall_0", "wall_1", "wall_2", "wall_3"]
    # in memory, the same tree
    tree = xr.DataTree.from_dict(flux_datasets(res))
    assert sorted(tree.children) == ["wall_0", "wall_1", "wall_2", "wall_3"]


def test_ncdump_reads_the_groups(box):
    if shutil.which("ncdump") is None:
        pytest.skip("ncdump (netCDF-C) not installed")
    _, path = box
    run = subprocess.run(["ncdump", "-h", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for k in range(4):
        assert f"group: wall_{k} {{" in run.stdout
    assert ":emission_rate = " in run.stdout and ":flux_groups = " in run.stdout


def test_compliance_checker_on_the_file_and_on_each_group(box, tmp_path):
    _, path = box
    failures = compliance_failures(path)
    found = {(checker, name) for checker, fails in failures.items() for _, name, _ in fails}
    assert found <= CHECKER_ON_GROUPS, found - CHECKER_ON_GROUPS
    # each group, with the root's Conventions it inherits, passes as a one-curtain file does
    with xr.open_dataset(path) as root:
        conventions = root.attrs["Conventions"]
    for k in (1, 3):
        one = tmp_path / f"wall_{k}.nc"
        with xr.open_dataset(path, group=f"wall_{k}", decode_cf=False) as g:
            enc = {v: {"_FillValue": None} for v in g.variables
                   if "_FillValue" not in g[v].attrs}               # the bytes as they are
            g.assign_attrs(Conventions=conventions).to_netcdf(one, encoding=enc)
        fails = compliance_failures(one)
        assert fails["cf:1.11"] == []
        missing = {name.split('"')[1] for _, name, _ in fails["acdd:1.3"]}
        assert all(msgs == ["standard_name"] for _, _, msgs in fails["acdd:1.3"])
        assert missing == WITHOUT_STANDARD_NAME


def test_report_shows_every_wall(box, tmp_path):
    from dronesense.cli.view import open_product
    from dronesense.products.report import build_report

    res, path = box
    doc = build_report([("box.nc", open_product(path))])
    labels = [f["label"] for f in doc["fluxes"]]
    assert labels == ["box.nc", "box.nc, wall 0", "box.nc, wall 1", "box.nc, wall 2",
                      "box.nc, wall 3"]
    assert doc["fluxes"][0]["emission"] == pytest.approx(res.emission)
    for f, wall in zip(doc["fluxes"][1:], res.walls, strict=True):
        assert f["emission"] == pytest.approx(wall.emission)
        assert f["curtain"]["flux_density"]["shape"] == list(wall.grid["flux_density"].shape)
    run = subprocess.run([sys.executable, "-m", "dronesense", "view", str(path), "--out",
                          str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@needs_nmt
def test_command_line_writes_every_curtain(nmt, tmp_path):
    res, _ = nmt
    track_map = tmp_path / "track.toml"
    track_map.write_text(TRACK_MAP)
    wind_map = tmp_path / "wind.toml"
    wind_map.write_text("[wind]\n" + "\n".join(
        f"{k} = {v!r}".replace("'", '"') for k, v in SONIC_MAP.items()) + "\n")
    out, fig = tmp_path / "flux.nc", tmp_path / "curtains.png"
    run = subprocess.run([sys.executable, "-m", "dronesense", "flux", str(MERGE), "--csv-map",
                          str(track_map), "-q", "ch4", "--wind", str(MERGE), "--wind-map",
                          str(wind_map), "--spacing", "5,1", "--out", str(out), "--plot",
                          str(fig)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"wrote {out}" in run.stdout and fig.stat().st_size > 10_000
    for k, cur in enumerate(res.curtains):
        with xr.open_dataset(out, group=f"curtain_{k}") as g:
            assert g.attrs["emission_rate"] == pytest.approx(cur.emission, rel=1e-9)
