"""`dronesense view`: one offline HTML report, opened from disk in a real headless browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dronesense.errors import InputError
from dronesense.products.report import build_report, product_kind
from tests.support.browser import console_errors, screenshot, start_browser, wait_for
from tests.support.sim import plume_box_log

BIN = Path(sys.executable).with_name("dronesense")


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """A simulated flight with 15 s of GPS loss, its samples, a grid and a flux file."""
    import dronesense as ds
    from dronesense.geo import LocalFrame
    from dronesense.gridding.dataset import write_grid
    from dronesense.products.flux.estimate import estimate_flux
    from dronesense.products.flux.io import write_flux

    tmp = tmp_path_factory.mktemp("flight")
    tlog = plume_box_log(tmp / "flight.tlog", seed=1, max_time=100, gps_loss=(40, 55))
    samples = ds.read_samples(tlog)
    write_grid(ds.grid(samples, "ch4", method="idw", spacing=(20, 20, 5)), tmp / "grid.nc")
    north = np.tile(np.linspace(-60.0, 60.0, 31), 6)
    height = np.repeat(np.arange(5.0, 35.0, 5.0), 31)
    ch4 = 1.9 + 1.5 * np.exp(-0.5 * (north / 12.0) ** 2 - 0.5 * ((height - 15.0) / 6.0) ** 2)
    lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 80.0), north)
    curtain = xr.Dataset({"ch4": ("obs", ch4, {"units": "1e-6"}), "lat": ("obs", lat),
                          "lon": ("obs", lon), "height": ("obs", height)})
    write_flux(estimate_flux(curtain, "ch4", wind=(3.0, 270.0), jackknife=False),
               tmp / "flux.nc")
    return tmp, samples


def test_kinds_and_content(flight):
    tmp, samples = flight
    grid, flux = xr.open_dataset(tmp / "grid.nc"), xr.open_dataset(tmp / "flux.nc")
    assert [product_kind(d) for d in (samples, grid, flux)] == ["samples", "grid", "flux"]
    doc = build_report([("flight.tlog", samples), ("grid.nc", grid), ("flux.nc", flux)])
    assert doc["date"] == "2025-06-14" and doc["title"].startswith("Flight report, 2025-06-14")
    f = doc["fluxes"][0]
    assert f["emission"] == flux.attrs["emission_rate"]
    assert set(f["components"]) >= {"background", "wind_speed", "wind_direction"}
    assert doc["grids"][0]["z"] == grid["z"].values.tolist()
    # the grid's reported error (by default the variogram model's) and how it was made
    assert doc["grids"][0]["grid_error"] == pytest.approx(grid.attrs["estimated_grid_rmse"])
    assert doc["grids"][0]["grid_error_method"] == grid.attrs["estimated_grid_rmse_method"]
    hist = [p.get("history", "") for p in doc["provenance"]]
    assert "dronesense grid quantity=ch4" in hist[1]
    with pytest.raises(InputError, match="not a dronesense"):
        product_kind(xr.Dataset({"a": ("q", [1.0])}))


def test_report_opens_offline_in_a_browser(flight, tmp_path):
    tmp, samples = flight
    out = tmp_path / "report.html"
    run = subprocess.run([str(BIN), "view", str(tmp / "flight.tlog"), str(tmp / "grid.nc"),
                          str(tmp / "flux.nc"), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    driver = start_browser(tmp_path / "profile")
    try:
        driver.get(out.as_uri())
        wait_for(lambda: driver.execute_script("return document.body.dataset.ready"),
                 what="report drawn", driver=driver)
        # track points: the positioned, paired samples; latest CH4: the samples' last
        flag = samples["flag"].values
        paired = (flag == 0) & np.isfinite(samples["lat"].values)
        sec = driver.find_element("css selector", "section[id^=samples]")
        assert int(sec.get_attribute("data-count")) == int(paired.sum())
        ch4 = samples["ch4"].values[paired]
        readout = sec.find_element("css selector", ".readout")
        assert readout.get_attribute("data-quantity") == "ch4"
        assert float(readout.get_attribute("data-value")) == ch4[np.isfinite(ch4)][-1]
        notes = [li.text for li in sec.find_elements("css selector", "li.warning")]
        assert any(n.startswith("GPS loss") for n in notes), notes
        assert int((flag == 4).sum()) > 0
        # the slider moves the time; slices, profile and curtains are drawn
        driver.execute_script(
            "const s = document.querySelector('input.time'); s.value = 10;"
            "s.dispatchEvent(new Event('input'))")
        assert len(sec.find_elements("css selector", ".track circle")) <= 11
        assert driver.find_elements("css selector", "svg.slice rect")
        assert driver.find_elements("css selector", "svg.profile polyline")
        ends = [t.text for t in driver.find_elements("css selector", "svg.curtain text.end")]
        fends = [t.text for t in driver.find_elements("css selector", "svg.fluxcurtain text.end")]
        with xr.open_dataset(tmp / "flux.nc") as f:   # the curtain runs along a meridian
            north_first = bool(f["lat"].values[0] > f["lat"].values[-1])
        assert fends == (["N", "S"] if north_first else ["S", "N"])
        assert ends == ["W", "E"]
        assert "±" in driver.find_element("css selector", "p.big").text
        assert "dronesense grid quantity=ch4" in driver.find_element("id", "provenance").text
        driver.execute_script(
            "const s = document.querySelector('input.time'); s.value = s.max;"
            "s.dispatchEvent(new Event('input'))")
        screenshot(driver, tmp_path / "report.png")
        grid_text = driver.find_element("css selector", "section[id^=grid]").text
        assert "expected grid error" in grid_text and "variogram" in grid_text
        for part in ("grid", "flux"):
            sec = driver.find_element("css selector", f"section[id^={part}]")
            driver.execute_script("arguments[0].scrollIntoView()", sec)
            screenshot(sec, tmp_path / f"report-{part}.png")
        assert console_errors(driver) == []
    finally:
        driver.quit()


def test_view_errors_are_one_line(tmp_path, capsys):
    from dronesense.cli.main import main

    assert main(["view", str(tmp_path / "none.nc"), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err
    xr.Dataset({"a": ("q", [1.0])}).to_netcdf(tmp_path / "other.nc")
    assert main(["view", str(tmp_path / "other.nc"), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other.nc" in err and "not a dronesense" in err
    assert not (tmp_path / "r.html").exists()
