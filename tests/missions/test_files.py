"""QGC .plan and Mission Planner .waypoints round trips, quick looks, CLI file commands."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dronesense.cli.main import main
from dronesense.cli.mission import EXAMPLE_NAMES, examples
from dronesense.errors import InputError
from dronesense.missions import files, patterns, plan, quicklook, waypoints
from dronesense.missions.items import Home, Mission, MissionItem

ROOT = Path(__file__).resolve().parents[2]
HOME = Home(50.9934, 6.9877, 42.0)


def _missions() -> list[Mission]:
    box = patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60), layers=[20, 40],
                              spacing=30, wind_from=240, acceptance=3)
    orbit = patterns.stack_orbit(HOME, (50.995, 6.989), heights=[30], radii=[20, 40],
                                 frame="amsl")
    odd = Mission(HOME, [MissionItem.takeoff(HOME, 10),
                         MissionItem.from_params(16, 3, [0, 2.5, 0, None, 50.9941234, 6.98, 12.34]),
                         MissionItem.from_params(19, 10, [8, 0, 0, None, 50.994, 6.98, 15]),
                         MissionItem(177, 2, (2, 1, 0, 0), autocontinue=False),
                         MissionItem.return_to_launch()])
    return [box, orbit, odd, *examples().values()]


@pytest.mark.parametrize("mission", _missions(), ids=["box", "orbit", "odd", *EXAMPLE_NAMES])
@pytest.mark.parametrize("fmt", [plan, waypoints], ids=["plan", "waypoints"])
def test_round_trip_unchanged(tmp_path, mission, fmt):
    path = tmp_path / ("m.plan" if fmt is plan else "m.waypoints")
    fmt.write(mission, path)
    back = fmt.read(path)
    assert back.items == mission.items and back.home == mission.home
    text = path.read_text()
    assert fmt.dumps(back) == text  # write(read(file)) is byte-identical


def test_plan_is_valid_qgc_json():
    doc = json.loads(plan.dumps(_missions()[2]))
    assert (doc["fileType"], doc["version"], doc["mission"]["version"]) == ("Plan", 1, 2)
    assert {"geoFence", "rallyPoints", "groundStation"} <= set(doc)
    m = doc["mission"]
    assert m["plannedHomePosition"] == [50.9934, 6.9877, 42]
    assert {"firmwareType", "vehicleType", "cruiseSpeed", "hoverSpeed"} <= set(m)
    wp = m["items"][1]
    assert wp["type"] == "SimpleItem" and wp["doJumpId"] == 2
    assert wp["params"] == [0, 2.5, 0, None, 50.9941234, 6.98, 12.34]  # NaN -> null
    assert (wp["Altitude"], wp["AltitudeMode"], wp["AMSLAltAboveTerrain"]) == (12.34, 1, None)
    assert m["items"][2]["AltitudeMode"] == 4  # terrain frame
    assert "Altitude" not in m["items"][3]  # DO_JUMP has no altitude
    assert m["items"][3]["autoContinue"] is False


def test_waypoints_row_zero_is_home():
    text = waypoints.dumps(_missions()[2])
    rows = [r.split("\t") for r in text.splitlines()[1:]]
    assert text.startswith("QGC WPL 110\n")
    assert rows[0][:4] == ["0", "1", "0", "16"] and rows[0][8:11] == [
        "50.99340000", "6.98770000", "42.000000"]
    assert rows[2][7] == "NaN"
    assert len(rows) == len(_missions()[2].items) + 1


def test_plan_keeps_geofence_and_flattens_complex_items():
    doc = json.loads(plan.dumps(_missions()[0]))
    doc["geoFence"]["circles"] = [{"circle": {"center": [50.99, 6.98], "radius": 300},
                                   "inclusion": True, "version": 1}]
    survey = {"type": "ComplexItem", "complexItemType": "survey",
              "TransectStyleComplexItem": {"Items": doc["mission"]["items"][2:4]}}
    doc["mission"]["items"] = [doc["mission"]["items"][0], survey]
    m = plan.loads(json.dumps(doc))
    assert len(m.items) == 3
    assert json.loads(plan.dumps(m))["geoFence"]["circles"][0]["circle"]["radius"] == 300
    doc["mission"]["items"] = [{"type": "ComplexItem", "complexItemType": "CorridorScan"}]
    with pytest.raises(InputError, match="'CorridorScan' has no stored waypoints"):
        plan.loads(json.dumps(doc), "x.plan")


@pytest.mark.parametrize(("text", "match"), [
    ("{", "not valid JSON"),
    ('{"fileType": "Mission"}', 'fileType must be "Plan"'),
    ('{"fileType": "Plan", "version": 1, "mission": {"version": 2, "items": []}}',
     "plannedHomePosition"),
    ('{"fileType": "Plan", "version": 1, "mission": {"version": 2, "plannedHomePosition": '
     '[1, 2, 3], "items": [{"type": "SimpleItem", "command": 16, "params": [1]}]}}',
     "item 1: params must be a list of 7"),
])
def test_plan_errors_are_one_line(text, match):
    with pytest.raises(InputError, match=match) as err:
        plan.loads(text, "bad.plan")
    assert str(err.value).startswith("bad.plan: ") and "\n" not in str(err.value)


def test_waypoints_errors():
    with pytest.raises(InputError, match="first line"):
        waypoints.loads("hello\n", "w.txt")
    with pytest.raises(InputError, match="line 3: expected 12 columns"):
        waypoints.loads("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t1\t2\t3\t1\n1\t0\n", "w.txt")
    with pytest.raises(InputError, match="sequence number 5, expected 1"):
        waypoints.loads("QGC WPL 110\n0 1 0 16 0 0 0 0 1 2 3 1\n5 0 3 16 0 0 0 0 1 2 3 1\n")


def test_quicklook_kml_and_geojson(tmp_path):
    m = _missions()[0]
    files.write(m, tmp_path / "m.kml")
    files.write(m, tmp_path / "m.geojson")
    kml = (tmp_path / "m.kml").read_text()
    assert kml.count("<Placemark>") == len(quicklook.path_points(m)) + 1
    doc = json.loads((tmp_path / "m.geojson").read_text())
    line = doc["features"][0]["geometry"]["coordinates"]
    assert line[0] == [HOME.lon, HOME.lat, HOME.alt] and line[-1] == line[0]
    assert max(c[2] for c in line) == pytest.approx(HOME.alt + 40)
    with pytest.raises(InputError, match=r"cannot read missions from \.kml"):
        files.read(tmp_path / "m.kml")


def test_cli_pattern_convert_check(tmp_path, capsys):
    out = tmp_path / "box.plan"
    assert main(["mission", "box", "--home", "50.9934,6.9877,42", "--centre", "50.996,6.992",
                 "--size", "150x60", "--layers", "20:40:10", "--spacing", "20",
                 "--wind-from", "240", "--out", str(out), "--out",
                 str(tmp_path / "box.kml")]) == 0
    printed = capsys.readouterr().out
    assert "estimated duration" in printed and "path length" in printed
    assert main(["mission", "convert", str(out), str(tmp_path / "box.waypoints")]) == 0
    converted, original = waypoints.read(tmp_path / "box.waypoints"), plan.read(out)
    assert (converted.home, converted.items) == (original.home, original.items)
    assert main(["mission", "check", str(out), "--endurance", "1"]) == 2
    err = capsys.readouterr().err
    assert "exceeds the endurance of 1 min 00 s" in err and err.count("\n") == 1
    # nothing is written when a check fails
    bad = tmp_path / "high.plan"
    assert main(["mission", "profile", "--home", "50.9934,6.9877", "--levels", "50,150",
                 "--out", str(bad)]) == 2
    assert not bad.exists()
    assert "150 m above home exceeds the maximum of 120 m" in capsys.readouterr().err
    for args in (["curtain", "--source", "50.994,6.988", "--wind-from", "240", "--distance",
                  "200", "--width", "150", "--heights", "10:50:10"],
                 ["orbit", "--centre", "50.995,6.989", "--heights", "30,45", "--radii",
                  "20,40"]):
        target = tmp_path / f"{args[0]}.waypoints"
        assert main(["mission", *args, "--home", "50.9934,6.9877,42", "--out",
                     str(target)]) == 0
        assert waypoints.read(target).items


def test_examples_match_missions_dir(tmp_path):
    """The checked-in example plans are what ``dronesense mission examples`` writes."""
    assert main(["mission", "examples", "--out", str(tmp_path)]) == 0
    for name in EXAMPLE_NAMES:
        made = tmp_path / f"{name}.plan"
        checked_in = ROOT / "missions" / f"{name}.plan"
        assert made.read_text() == checked_in.read_text(), (
            f"missions/{name}.plan is stale: run `dronesense mission examples --out missions`")


def test_example_intent():
    """Plume box: 8-12 min, lines across the wind, 3 layers; profile: 10..120 m with holds."""
    ex = examples()
    box, profile = ex["plume-box"], ex["pm-profile"]
    assert 8 * 60 <= patterns.estimate(box).duration <= 12 * 60
    assert sorted({i.alt for i in box.items if i.command == 16}) == [20, 35, 50]
    levels = [i.alt for i in profile.items if i.command == 16]
    assert levels == list(range(10, 130, 10))
    assert all(i.params[0] == 8 for i in profile.items if i.command == 16)
    assert math.isclose(profile.home.alt, 108)


@pytest.mark.parametrize(("args", "option"), [
    (["profile", "--levels", "10,nan"], "--levels"),
    (["profile", "--levels", "10", "--speed", "inf"], "--speed"),
    (["profile", "--levels", "10", "--hold", "nan"], "--hold"),
    (["box", "--centre", "50.996,6.992", "--size", "150xnan", "--layers", "20", "--spacing",
      "20", "--heading", "0"], "--size"),
    (["box", "--centre", "50.996,6.992", "--size", "150x60", "--layers", "20", "--spacing",
      "nan", "--heading", "0"], "--spacing"),
    (["curtain", "--source", "50.994,6.988", "--wind-from", "240", "--distance", "200",
      "--width", "150", "--heights", "10:inf:10"], "--heights"),
    (["orbit", "--centre", "50.995,6.989", "--heights", "30", "--radii", "20,-4"], "--radii"),
    (["orbit", "--centre", "50.995,6.989", "--heights", "30", "--radii", "20",
      "--max-height", "nan"], "--max-height"),
])
def test_cli_names_the_option_of_a_bad_value(tmp_path, capsys, args, option):
    out = tmp_path / "m.plan"
    assert main(["mission", *args, "--home", "50.9934,6.9877,42", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"dronesense mission: error: {option}: "), err
    assert not out.exists()
