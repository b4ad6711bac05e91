"""``dronesense export`` and ``dronesense pair --out x.geojson|x.kml`` on a simulated flight."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from dronesense.cli.main import main
from dronesense.flight.rows import Flag
from dronesense.samples.journal import read_journal
from tests.support.postflight import PLAN, ROOT

NS = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """plume-box flown with a 10 s GPS outage, paired once to a samples journal."""
    tmp = tmp_path_factory.mktemp("export")
    tlog = tmp / "f.tlog"
    subprocess.run([sys.executable, "-m", "firmware_sim", "--mission", str(PLAN),
                    "--connect", "none", "--speedup", "0", "--quiet", "--tlog", str(tlog),
                    "--fault", "gpsloss=100:110"], check=True, cwd=ROOT, timeout=120)
    csv = tmp / "samples.csv"
    assert main(["pair", str(tlog), "--out", str(csv), "--quiet"]) == 0
    rows = read_journal(csv)
    assert any(r.flag != Flag.PAIRED for r in rows)  # the outage left unpaired readings
    return {"tlog": tlog, "csv": csv, "rows": rows}


def _paired(rows, quantity=None):
    return [r for r in rows if r.flag == Flag.PAIRED and quantity in (None, r.quantity)]


def test_export_tlog_to_geojson_matches_pair(flight, tmp_path, capsys):
    out = tmp_path / "ch4.geojson"
    assert main(["export", str(flight["tlog"]), "--out", str(out), "-q", "ch4",
                 "--tracks"]) == 0
    text = capsys.readouterr().out
    unpaired = [r for r in flight["rows"] if r.quantity == "ch4" and r.flag != Flag.PAIRED]
    assert f"{len(unpaired)} unpaired sample(s) have no position and are not drawn" in text
    doc = json.loads(out.read_text())
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    want = _paired(flight["rows"], "ch4")
    assert len(points) == len(want)
    for f, r in zip(points, want, strict=True):
        lon, lat, alt = f["geometry"]["coordinates"]
        assert (lon, lat) == pytest.approx((r.lon, r.lat), abs=1e-7)  # RFC 7946: lon first
        assert alt == pytest.approx(r.alt_amsl, abs=0.005)  # centimetres
        assert f["properties"]["time_utc"] == r.time_utc
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == 2  # the GPS outage splits the track


def test_pair_writes_kml_through_the_same_writer(flight, tmp_path):
    out = tmp_path / "p.kml"
    assert main(["pair", str(flight["tlog"]), "--out", str(out), "--quiet"]) == 0
    root = ET.parse(out).getroot()
    marks = root.findall(".//k:Placemark[k:Point]", NS)
    want = _paired(flight["rows"])
    assert len(marks) == len(want)
    # one container per quantity: the one with most samples first (and the only one visible),
    # then the others in the order they arrived
    counts = Counter(r.quantity for r in want)
    order = list(dict.fromkeys(r.quantity for r in want))
    first = max(order, key=counts.__getitem__)
    order = [first] + [q for q in order if q != first]
    want = sorted(want, key=lambda r: order.index(r.quantity))
    for m, r in zip(marks, want, strict=True):
        lon, lat, alt = map(float, m.findtext(".//k:coordinates", namespaces=NS).split(","))
        assert (lon, lat) == pytest.approx((r.lon, r.lat), abs=1e-7)
        assert alt == pytest.approx(r.alt_amsl, abs=0.005)
        value = m.findtext(".//k:SchemaData/k:SimpleData[@name='value']", namespaces=NS)
        assert float(value) == r.value
    visible = [d.findtext("k:name", namespaces=NS)
               for d in root.findall("k:Document/k:Document", NS)
               if d.findtext("k:visibility", namespaces=NS) == "1"]
    assert visible == [f"{first} (ppm)"] and first == "ch4"  # the gas, not what came first
    assert root.findall(".//gx:Track", NS)


def test_export_session_dir_and_netcdf(flight, tmp_path, capsys):
    session = tmp_path / "session"
    session.mkdir()
    shutil.copy(flight["csv"], session / "samples.csv")
    nc = tmp_path / "s.nc"
    assert main(["export", str(session), "--out", str(nc)]) == 0
    assert "logs:" not in capsys.readouterr().out  # the journal, not a re-pairing
    out = tmp_path / "s.geojson"
    assert main(["export", str(nc), "--out", str(out), "-q", "pm2p5"]) == 0
    coords = [f["geometry"]["coordinates"] for f in json.loads(out.read_text())["features"]]
    want = _paired(flight["rows"], "pm2p5")
    assert coords == [[round(r.lon, 7), round(r.lat, 7), round(r.alt_amsl, 2)] for r in want]
    assert main(["export", str(nc), "--out", str(tmp_path / "p.csv"), "--paired-only"]) == 0
    assert "left out" in capsys.readouterr().out
    assert len(read_journal(tmp_path / "p.csv")) == len(_paired(flight["rows"]))


def test_export_unknown_quantity_is_a_one_line_error(flight, tmp_path, capsys):
    rc = main(["export", str(flight["csv"]), "--out", str(tmp_path / "x.kml"), "-q", "no2"])
    assert rc == 2
    assert "no samples of no2" in capsys.readouterr().err


def test_export_csv_units_are_text_and_kmz_carries_its_icon(flight, tmp_path):
    import zipfile

    import pandas as pd

    out = tmp_path / "ch4.csv"
    assert main(["export", str(flight["tlog"]), "--out", str(out), "-q", "ch4"]) == 0
    units = pd.read_csv(out)["units"]
    assert not pd.api.types.is_numeric_dtype(units) and set(units) == {"ppm"}
    assert read_journal(out) == [r for r in flight["rows"] if r.quantity == "ch4"]
    kmz = tmp_path / "f.kmz"
    assert main(["export", str(flight["csv"]), "--out", str(kmz)]) == 0
    with zipfile.ZipFile(kmz) as zf:
        assert "files/dot.png" in zf.namelist()
        assert "<href>files/dot.png</href>" in zf.read("doc.kml").decode()
