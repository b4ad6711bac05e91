"""The top-level API and ``dronesense flux`` on a PX4 ULog: the wind comes from the ULog the
samples came from (its ``wind`` topic) as from a tlog's ``WIND`` messages, checked against
the same simulated flight's tlog and the simulator's true emission."""

from __future__ import annotations

import subprocess
import sys

import pytest

import dronesense as ds
from dronesense.datasets import DATA, SAMPLE_PLAN
from dronesense.datasets.make_sample import SEED, STREAM_INTERVALS_MS
from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """The packaged sample flight flown again, written as tlog and ULog (same run)."""
    out = tmp_path_factory.mktemp("ulogflux")
    streams = [f"--stream={name}={ms}" for name, ms in STREAM_INTERVALS_MS.items()]
    subprocess.run([sys.executable, "-m", "firmware_sim", "--mission", str(DATA / SAMPLE_PLAN),
                    "--connect", "none", "--speedup", "0", "--seed", str(SEED), "--quiet",
                    "--tlog", str(out / "c.tlog"), "--ulog", str(out / "c.ulg"), *streams],
                   check=True, cwd=ROOT, timeout=120)
    return out


def test_flux_of_a_ulog_takes_its_wind(flight):
    from_ulog = ds.read_samples(flight / "c.ulg", lags={"ch4": "auto"})
    from_tlog = ds.read_samples(flight / "c.tlog", lags={"ch4": "auto"})
    assert from_ulog.attrs["source"] == str(flight / "c.ulg")
    a = ds.estimate_flux(from_ulog, "ch4")  # no wind given: the ULog's
    b = ds.estimate_flux(from_tlog, "ch4")
    assert "c.ulg" in a.info["wind"] and "c.tlog" in b.info["wind"]
    assert a.emission == pytest.approx(b.emission, rel=1e-6)
    truth = ds.datasets.sample_emission("ch4")
    assert abs(a.emission - truth) < 2 * a.uncertainty


def test_cli_flux_of_a_ulog_takes_its_wind(flight, tmp_path, capsys):
    from dronesense.cli.main import main

    out = tmp_path / "flux.nc"
    assert main(["flux", str(flight / "c.ulg"), "-q", "ch4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "WIND messages in c.ulg" in text and out.is_file()
