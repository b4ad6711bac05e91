"""Flux science on a real flight: the NMT methane release of 2023-04-19 (Dooley et al., AMT
17:5091, 2024), checked against the authors' own processed 1 Hz file (their curtain groups,
transects, background ``CH4_sub`` and earth-frame ``cross_wind``): published reference
values, read from their file, never outputs of this code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dronesense as ds
from dronesense.geo import LocalFrame
from dronesense.products.flux.estimate import estimate_flux
from dronesense.sources.windfile import read_wind_csv
from tests.support.paths import REAL_FLIGHTS

MERGE = REAL_FLIGHTS / "nmt-20230419-flight0-merge.csv"
AUTHORS = REAL_FLIGHTS / "nmt-20230419-flight0-authors-1hz.csv"

pytestmark = pytest.mark.skipif(not MERGE.exists(), reason="real-flight data not beside the clone")

TRACK_MAP = """
[csv]
time = "Timestamp"
time_format = "iso"
lat = "Lat"
lon = "Lon"
alt = "Alt"
[csv.values]
CH4 = { name = "ch4", units = "ppm" }
T = "temperature"
P = "pressure"
"""

#: The TriSonica on the M600: u to the right, v forward, w up; DJI attitude and NED velocity.
SONIC_MAP = {"time": "Timestamp", "time_format": "iso", "sonic_u": "Um", "sonic_v": "Vm",
             "sonic_w": "Wm", "roll": "Roll", "pitch": "Pitch", "yaw": "Yaw", "vn": "Vx",
             "ve": "Vy", "vd": "Vz", "axes": ["right", "forward", "up"]}


@pytest.fixture(scope="module")
def nmt(tmp_path_factory):
    cmap = tmp_path_factory.mktemp("nmt") / "nmt.toml"
    cmap.write_text(TRACK_MAP)
    samples = ds.read_samples(MERGE, csv_map=cmap)
    wind = read_wind_csv(MERGE, SONIC_MAP)
    authors = pd.read_csv(AUTHORS)
    authors["utc"] = (pd.to_datetime(authors["Timestamp"]).values.astype("datetime64[ns]")
                      .astype("int64") / 1e9)
    # the source: the authors' offsets (x north, y east) of their first sample
    first = authors.iloc[0]
    lat, lon, _ = LocalFrame(first.Lat, first.Lon, 0.0).inverse(
        np.array([-first.y_src_dist]), np.array([-first.x_src_dist]))
    source = (float(lat[0]), float(lon[0]))
    return samples, wind, authors, source


def _group(authors: pd.DataFrame, g: int) -> pd.DataFrame:
    return authors[authors["group"] == g]


def test_onboard_sonic_wind_matches_the_authors_cross_wind(nmt):
    _, wind, authors, _ = nmt
    u = np.interp(authors["utc"], wind.time, wind.u)
    v = np.interp(authors["utc"], wind.time, wind.v)
    # the authors' curtain normal (Nx north, Ny east) and their cross-curtain wind
    ours = u * authors["Ny"].values + v * authors["Nx"].values
    on = (authors["group"] >= 0).values
    assert np.corrcoef(ours[on], authors["cross_wind"].values[on])[0, 1] > 0.95
    for g in range(3):
        m = (authors["group"] == g).values
        assert ours[m].mean() == pytest.approx(authors["cross_wind"].values[m].mean(), abs=0.15)
    # the propagated uncertainty is of the size of the authors' own
    assert 0.05 < float(np.median(wind.speed_error)) < 2 * authors["cross_wind_err"].median()


def test_three_curtains_with_their_passes_distances_and_backgrounds(nmt):
    samples, wind, authors, source = nmt
    res = estimate_flux(samples, "ch4", wind=wind, source=source, spacing=(5.0, 1.0))
    assert len(res.curtains) == 3
    for g, cur in enumerate(res.curtains):
        a = _group(authors, g)
        info = cur.info
        # the authors' curtain lies in ours, at the same distance from the source
        t0 = np.datetime64(info["time_start"].rstrip("Z"))
        t1 = np.datetime64(info["time_end"].rstrip("Z"))
        at = pd.to_datetime(a["Timestamp"]).values
        assert np.mean((at >= t0) & (at <= t1)) > 0.9
        assert info["source_distance_m"] == pytest.approx(a["x_src_dist"].mean(), abs=6.0)
        assert info["wind_angle_deg"] < 20
        assert np.isfinite(cur.emission) and cur.uncertainty > 0
        assert "interpolation" in cur.components and "ground_extrapolation" in cur.components
        if g < 2:
            assert info["background"] == pytest.approx(a["CH4_sub"].mean(), abs=0.02)
    at_90 = res.curtains[1].info
    assert at_90["passes"] == _group(authors, 1)["transect_num"].nunique() == 5
    top = _group(authors, 1)["z_dist"].max()
    assert at_90["top_pass_m"] == pytest.approx(top, abs=0.6)      # 7.8 m flown
    assert at_90["lowest_pass_m"] < 2.0
    # the extrapolated share comes from the lowest pass, not whole cells
    assert res.curtains[1].extrapolated_fraction < 0.5


def test_window_and_curtain_selection(nmt):
    samples, wind, authors, source = nmt
    a = _group(authors, 2)
    window = (a["Timestamp"].min(), a["Timestamp"].max())
    res = estimate_flux(samples, "ch4", wind=wind, source=source, spacing=(5.0, 1.0),
                        window=window)
    assert not hasattr(res, "curtains") or not res.curtains
    assert res.info["passes"] == a["transect_num"].nunique() == 3
    assert res.info["background"] == pytest.approx(a["CH4_sub"].mean(), abs=0.02)
    one = estimate_flux(samples, "ch4", wind=wind, source=source, spacing=(5.0, 1.0),
                        curtain=1)
    assert one.info["curtain"] == 1 and one.info["passes"] == 5


def test_command_line_with_the_sonic_wind_file_and_a_window(tmp_path):
    import re
    import subprocess
    import sys

    track_map = tmp_path / "track.toml"
    track_map.write_text(TRACK_MAP)
    wind_map = tmp_path / "wind.toml"
    wind_map.write_text("[wind]\n" + "\n".join(
        f"{k} = {v!r}".replace("'", '"') for k, v in SONIC_MAP.items()) + "\n")
    authors = pd.read_csv(AUTHORS)
    a = authors[authors["group"] == 1]
    start = a["Timestamp"].min().replace(" ", "T") + "Z"
    end = a["Timestamp"].max().replace(" ", "T") + "Z"
    cmd = [sys.executable, "-m", "dronesense", "flux", str(MERGE), "--csv-map", str(track_map),
           "-q", "ch4", "--wind", str(MERGE), "--wind-map", str(wind_map), "--spacing", "5,1",
           "--window", f"{start}/{end}", "--out", str(tmp_path / "flux.json")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "wind: time series, sonic in nmt-20230419-flight0-merge.csv" in run.stdout
    assert re.search(r"5 passes at 1\.5-7\.\d m", run.stdout), run.stdout
