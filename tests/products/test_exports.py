"""Sample exports: GeoJSON and KML structure, every format through write_samples, reading back."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime

import pandas as pd
import pytest
import xarray as xr

from dronesense import geoformats
from dronesense.errors import InputError, ParameterError
from dronesense.flight.rows import Flag, SampleRow
from dronesense.products import exports as export
from dronesense.samples.dataset import from_dataset
from dronesense.samples.files import read_sample_rows
from dronesense.samples.journal import read_journal

NS = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}


def _rows() -> list[SampleRow]:
    """Two quantities along a line; lat and lon far apart so a swap cannot go unseen."""
    rows = []
    for i in range(40):
        t = 1000 + 500 * i
        if i >= 30:
            t += 20_000  # a 20 s pause: the track breaks there
        lat, lon = 50.99 + 1e-5 * i, 6.98 + 2e-5 * i
        utc = f"2025-06-14T08:00:{t // 1000 % 60:02d}.{t % 1000:03d}000Z" if t < 60_000 else (
            f"2025-06-14T08:01:{t // 1000 - 60:02d}.{t % 1000:03d}000Z")
        rows.append(SampleRow(utc, float(t), 0, 1, lat, lon, 42.0 + i, float(i), "ch4", "CH4",
                              1.9 + 0.1 * math.sin(i), "1e-6", 0.1, Flag.PAIRED, "sync"))
        rows.append(SampleRow(utc, float(t + 3), 0, 1, lat, lon, 42.0 + i, float(i), "pm2p5",
                              "PM2.5", 5.0 + i, "ug m-3", 0.1, Flag.PAIRED, "sync"))
    # unpaired: no position
    rows.append(SampleRow(None, 10.0, 0, 1, None, None, None, None, "ch4", "CH4", 2.5, "1e-6",
                          None, Flag.BEFORE_TRACK, ""))
    rows.append(SampleRow("2025-06-14T08:02:00.000000Z", 200_000.0, 0, 1, None, None, None,
                          None, "ch4", "CH4", 2.6, "1e-6", 3.0, Flag.GAP, "sync"))
    return rows


def _luminance(kml_colour: str) -> float:
    bb, gg, rr = (int(kml_colour[k:k + 2], 16) for k in (2, 4, 6))
    return 0.2126 * rr + 0.7152 * gg + 0.0722 * bb


def test_geojson_points_are_lon_lat_alt_of_the_paired_samples():
    rows = _rows()
    doc = json.loads(export.dumps_geojson(export.to_geojson(rows)))
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # RFC 7946 dropped it
    paired = [r for r in rows if r.flag == Flag.PAIRED]
    feats = doc["features"]
    assert len(feats) == len(paired)
    assert doc["dronesense"]["unpaired_not_drawn"] == 2
    for f, r in zip(feats, paired, strict=True):
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat, alt = f["geometry"]["coordinates"]
        assert lon == pytest.approx(r.lon, abs=1e-7) and lat == pytest.approx(r.lat, abs=1e-7)
        assert alt == pytest.approx(r.alt_amsl)
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        p = f["properties"]
        assert {"time_utc", "quantity", "value", "units", "height", "flag"} <= set(p)
        assert (p["time_utc"], p["quantity"], p["value"], p["height"],
                p["flag"]) == (r.time_utc, r.quantity, r.value, r.height, 0)
        assert p["units"] == {"1e-6": "ppm", "ug m-3": "ug m-3"}[r.units]  # text, not a number
    assert doc["dronesense"]["vertical_reference"] == "msl"
    assert "mean sea level" in doc["dronesense"]["altitude"]


def test_geojson_tracks_one_line_per_piece_and_no_nan():
    rows = _rows()
    rows.append(rows[0]._replace(value=float("nan")))
    doc = export.to_geojson(rows, tracks=True)
    text = export.dumps_geojson(doc)
    assert "NaN" not in text
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    assert [f["properties"]["kind"] for f in lines] == ["track", "track"]  # broken at the pause
    first = lines[0]["geometry"]["coordinates"]
    assert first[0] == [rows[0].lon, rows[0].lat, rows[0].alt_amsl]
    assert len(first) == 2 * 30  # both quantities' sampling times, in time order
    assert json.loads(text)["features"][-1]["properties"]["value"] is None


def test_kml_placemarks_match_samples_colours_rise_times_iso():
    rows = _rows()
    root = ET.fromstring(export.to_kml(rows))
    doc = root.find("k:Document", NS)
    styles = {s.get("id"): s.findtext("k:IconStyle/k:color", namespaces=NS)
              for s in doc.findall("k:Style", NS)}
    containers = [f for f in doc if f.tag in (f"{{{NS['k']}}}Folder", f"{{{NS['k']}}}Document")]
    folders = {f.findtext("k:name", namespaces=NS): f for f in containers}
    assert set(folders) == {"track", "ch4 (ppm)", "pm2p5 (ug/m3)"}
    points = doc.findall(".//k:Placemark[k:Point]", NS)
    paired = [r for r in rows if r.flag == Flag.PAIRED]
    assert len(points) == len(paired)
    for quantity, folder in (("ch4", folders["ch4 (ppm)"]), ("pm2p5", folders["pm2p5 (ug/m3)"])):
        qrows = [r for r in paired if r.quantity == quantity]
        marks = folder.findall("k:Placemark", NS)
        assert len(marks) == len(qrows)
        assert "<table>" in folder.findtext("k:description", namespaces=NS)  # the legend
        by_value = []
        for m, r in zip(marks, qrows, strict=True):
            pt = m.find("k:Point", NS)
            assert pt.findtext("k:altitudeMode", namespaces=NS) == "absolute"
            lon, lat, alt = map(float, pt.findtext("k:coordinates", namespaces=NS).split(","))
            assert (lon, lat, alt) == pytest.approx((r.lon, r.lat, r.alt_amsl), abs=1e-7)
            when = m.findtext("k:TimeStamp/k:when", namespaces=NS)
            t = datetime.fromisoformat(when.replace("Z", "+00:00"))
            assert t.tzinfo is not None
            assert t == datetime.fromisoformat(r.time_utc.replace("Z", "+00:00"))
            value = float(m.findtext(
                "k:ExtendedData/k:SchemaData/k:SimpleData[@name='value']", namespaces=NS))
            assert value == r.value
            style = m.findtext("k:styleUrl", namespaces=NS).lstrip("#")
            by_value.append((value, _luminance(styles[style]), style))
        by_value.sort()
        lum = [b[1] for b in by_value]
        assert lum == sorted(lum)
        assert by_value[0][2] == "v0" and by_value[-1][2] == f"v{len(geoformats.KML_COLOURS) - 1}"
    tracks = doc.findall(".//gx:Track", NS)
    assert len(tracks) == 2
    for tr in tracks:
        assert tr.findtext("k:altitudeMode", namespaces=NS) == "absolute"
        assert len(tr.findall("k:when", NS)) == len(tr.findall("gx:coord", NS)) > 1
    assert "2 unpaired not drawn" in doc.findtext("k:description", namespaces=NS)


def test_colour_scale_is_monotonic():
    scale = geoformats.ColourScale(1.0, 3.0)
    bins = [scale.bin(1.0 + 0.01 * k) for k in range(201)]
    assert bins == sorted(bins) and bins[0] == 0 and bins[-1] == len(geoformats.KML_COLOURS) - 1
    lum = [_luminance("ff" + c[4:6] + c[2:4] + c[0:2]) for c in geoformats.KML_COLOURS]
    assert lum == sorted(lum)
    assert scale.bin(float("nan")) is None and geoformats.ColourScale(2.0, 2.0).bin(2.0) == 0


@pytest.mark.parametrize("suffix", [".nc", ".csv", ".parquet", ".geojson", ".kml", ".kmz"])
def test_write_every_format_and_read_back(tmp_path, suffix):
    rows = _rows()
    out = export.write_samples(rows, tmp_path / f"s{suffix}", history="test")
    paired = [r for r in rows if r.flag == Flag.PAIRED]
    if suffix == ".geojson":
        assert len(json.loads(out.read_text())["features"]) == len(paired)
    elif suffix == ".kml":
        assert len(ET.parse(out).getroot().findall(".//k:Point", NS)) == len(paired)
    elif suffix == ".kmz":
        with zipfile.ZipFile(out) as zf:
            root = ET.fromstring(zf.read("doc.kml"))
        assert len(root.findall(".//k:Point", NS)) == len(paired)
    else:
        back, summary = read_sample_rows([out])
        assert summary is None
        assert len(back) == len(rows)  # unpaired rows kept
        key = sorted((r.time_boot_ms, r.quantity, r.value, r.lat, r.lon, r.flag) for r in back)
        assert key == sorted((r.time_boot_ms, r.quantity, r.value, r.lat, r.lon, r.flag)
                             for r in rows)


def test_paired_only_and_quantity_filter(tmp_path):
    rows = _rows()
    out = export.write_samples(rows, tmp_path / "s.csv", paired_only=True)
    assert all(r.flag == Flag.PAIRED for r in read_journal(out))
    back, _ = read_sample_rows([tmp_path / "s.csv"], quantities=["pm2p5"])
    assert {r.quantity for r in back} == {"pm2p5"}
    with pytest.raises(InputError, match=r"no samples of no2 \(present: ch4, pm2p5\)"):
        read_sample_rows([tmp_path / "s.csv"], quantities=["no2"])
    with pytest.raises(InputError, match="output must end in"):
        export.write_samples(rows, tmp_path / "s.txt")


@pytest.mark.parametrize("suffix", [".nc", ".csv", ".parquet"])
def test_rows_written_and_read_back_are_equal(tmp_path, suffix):
    """rows -> file -> rows: every column, wire name and time source included."""
    rows = _rows()
    out = export.write_samples(rows, tmp_path / f"s{suffix}")
    back, _ = read_sample_rows([out])
    assert back == rows
    if suffix == ".nc":
        with xr.open_dataset(out) as ds:
            assert from_dataset(ds.load()) == rows


def test_parquet_time_column_is_utc(tmp_path):
    rows = _rows()
    pq = pd.read_parquet(export.write_samples(rows, tmp_path / "s.parquet"))
    assert pq["time"].dt.tz is not None


def _containers(doc):
    return [f for f in doc if f.tag in (f"{{{NS['k']}}}Folder", f"{{{NS['k']}}}Document")]


def test_kml_data_are_typed_by_a_schema():
    rows = _rows()
    doc = ET.fromstring(export.to_kml(rows)).find("k:Document", NS)
    for container in _containers(doc):
        marks = container.findall("k:Placemark[k:Point]", NS)
        if not marks:
            continue  # the track
        schema = container.find("k:Schema", NS)
        types = {f.get("name"): f.get("type") for f in schema.findall("k:SimpleField", NS)}
        assert types["value"] == types["height_m"] == types["altitude_m"] == "double"
        assert types["sysid"] == types["boot"] == "int" and types["units"] == "string"
        for m in marks:
            data = m.find("k:ExtendedData/k:SchemaData", NS)
            assert data.get("schemaUrl") == f"#{schema.get('id')}"
            fields = {d.get("name"): d.text for d in data.findall("k:SimpleData", NS)}
            assert set(fields) <= set(types)
            float(fields["value"]), int(fields["sysid"])  # numbers as numbers
            assert fields["units"] in ("ppm", "ug/m3")


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_gdal_reads_kml_values_as_numbers(tmp_path, suffix):
    """QGIS reads KML through GDAL's LIBKML driver: ogrinfo shows the field types it gets."""
    import shutil
    import subprocess

    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("GDAL's ogrinfo is not installed")
    formats = subprocess.run([ogrinfo, "--formats"], capture_output=True, text=True).stdout
    if "LIBKML" not in formats:
        pytest.skip("GDAL without the LIBKML driver")
    out = export.write_samples(_rows(), tmp_path / f"s{suffix}")
    info = subprocess.run([ogrinfo, "-ro", "-al", "-so", str(out)], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    layers = info.split("Layer name: ")[1:]
    assert [layer.splitlines()[0] for layer in layers] == ["ch4 (ppm)", "pm2p5 (ug/m3)", "track"]
    for layer in layers[:2]:
        assert "value: Real" in layer and "height_m: Real" in layer
        assert "sysid: Integer" in layer and "units: String" in layer


def test_kml_target_quantity_first_and_visible():
    rows = _rows()
    rows += [r._replace(quantity="humidity", name="RH", units="percent", value=50.0)
             for r in rows[:6] if r.flag == Flag.PAIRED]

    def order(**kw):
        doc = ET.fromstring(export.to_kml(rows, **kw)).find("k:Document", NS)
        return [(c.findtext("k:name", namespaces=NS).split()[0],
                 c.findtext("k:visibility", namespaces=NS)) for c in _containers(doc)]

    # humidity arrived among the first; the quantity with most samples opens (a tie: the first)
    assert order()[:3] == [("ch4", "1"), ("pm2p5", "0"), ("humidity", "0")]
    assert order(target="pm2p5")[:2] == [("pm2p5", "1"), ("ch4", "0")]
    assert export.target_quantity(rows) == "ch4"
    with pytest.raises(ParameterError, match=r"^target: no paired samples of 'no2'") as err:
        export.to_kml(rows, target="no2")
    assert err.value.parameter == "target"


def test_kmz_carries_its_icon_and_nothing_is_fetched(tmp_path):
    import struct

    out = export.write_samples(_rows(), tmp_path / "s.kmz", target="pm2p5")
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        text = zf.read("doc.kml").decode()
        png = zf.read(export.KMZ_ICON)
    assert names[0] == "doc.kml" and export.KMZ_ICON in names
    root = ET.fromstring(text)
    hrefs = {h.text for h in root.iter(f"{{{NS['k']}}}href")}
    assert hrefs == {export.KMZ_ICON}  # every icon is inside the archive
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (32, 32)
    plain = export.to_kml(_rows())
    assert "<href>" not in plain  # a plain KML uses Google Earth's built-in icon
    for doc_text in (text, plain):  # no address to fetch, only the namespaces
        assert doc_text.count("http") == 2


def test_geojson_height_references(monkeypatch):
    rows = _rows()
    with pytest.raises(ParameterError, match=r"^height: must be one of msl, ellipsoid"):
        export.to_geojson(rows, height="agl")
    msl = export.to_geojson(rows, tracks=True)
    if geoformats.geoid_transformer() is None:
        pytest.skip("no EGM96 geoid grid on this machine")
    ell = export.to_geojson(rows, tracks=True, height="ellipsoid")
    assert ell["dronesense"]["vertical_reference"] == "ellipsoid"
    assert "WGS84 ellipsoid" in ell["dronesense"]["altitude"]
    for a, b in zip(msl["features"], ell["features"], strict=True):
        ca, cb = a["geometry"]["coordinates"], b["geometry"]["coordinates"]
        if a["geometry"]["type"] == "LineString":
            ca, cb = ca[0], cb[0]
        assert ca[:2] == cb[:2]
        # the EGM96 geoid lies 46.9 m above the WGS84 ellipsoid near Cologne (50.99 N, 6.98 E)
        assert cb[2] - ca[2] == pytest.approx(46.9, abs=0.15)
        assert b["properties"].get("alt_amsl", ca[2]) == pytest.approx(ca[2], abs=0.005)
    # the geoid undulation at 0 N 0 E is +17.16 m
    zero = [rows[0]._replace(lat=0.0, lon=0.0, alt_amsl=0.0)]
    assert export.to_geojson(zero, height="ellipsoid")["features"][0]["geometry"][
        "coordinates"][2] == pytest.approx(17.16, abs=0.05)


def test_geojson_ellipsoid_without_a_geoid_grid_says_what_to_install(monkeypatch):
    monkeypatch.setattr(geoformats, "geoid_transformer", lambda: None)
    with pytest.raises(ParameterError, match=r"^height: 'ellipsoid' needs a geoid grid: "
                                             r"install the EGM96 geoid grid") as err:
        export.to_geojson(_rows(), height="ellipsoid")
    assert "\n" not in str(err.value) and "--" not in str(err.value)


def test_parquet_without_pyarrow_is_one_line(tmp_path, monkeypatch):
    """A runtime install without the parquet extra: a one-line error saying what to install,
    and no file left behind."""
    import sys

    rows = _rows()
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(InputError, match=r"Parquet needs pyarrow: pip install") as err:
        export.write_samples(rows, tmp_path / "s.parquet")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "s.parquet").exists()
