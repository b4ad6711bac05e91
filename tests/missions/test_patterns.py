"""Sampling patterns, duration estimates and safety checks (no network)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronesense.errors import InputError
from dronesense.geo import LocalFrame
from dronesense.missions import checks, patterns
from dronesense.missions.items import (
    DO_CHANGE_SPEED,
    FRAME_GLOBAL,
    FRAME_GLOBAL_TERRAIN_ALT,
    NAV_RETURN_TO_LAUNCH,
    NAV_TAKEOFF,
    NAV_WAYPOINT,
    Home,
    Mission,
    MissionItem,
)

HOME = Home(50.9934, 6.9877, 42.0)


def _enu(mission: Mission) -> np.ndarray:
    frame = LocalFrame(HOME.lat, HOME.lon, 0.0)
    pts = []
    for item in mission.items:
        if item.command == NAV_WAYPOINT:
            e, n, _ = frame.forward(item.lat, item.lon, 0.0)
            pts.append((float(e), float(n), item.height(mission.home)))
    return np.array(pts)


def _bearing(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360


def test_box_lines_run_across_the_wind_with_spacing_layers_and_margin():
    wind_from = 240.0
    poly = patterns.rectangle(50.996, 6.992, 200, 100, heading=330)
    m = patterns.box_survey(HOME, poly, layers=[20, 35, 50], spacing=25, wind_from=wind_from,
                            margin=10, speed=7)
    assert m.items[0].command == NAV_TAKEOFF and m.items[0].alt == 20
    assert m.items[1].command == DO_CHANGE_SPEED and m.items[1].params[1] == 7
    assert m.items[-1].command == NAV_RETURN_TO_LAUNCH
    pts = _enu(m)
    assert len(pts) == 5 * 2 * 3  # 5 lines of two ends, three layers
    assert sorted(set(pts[:, 2])) == [20, 35, 50]
    first = pts[:10]
    for k in range(0, 10, 2):  # each line: along 330° or 150°, 200 + 2*10 m long
        assert _bearing(first[k], first[k + 1]) == pytest.approx(330 if k % 4 == 0 else 150,
                                                                 abs=0.01)
        assert np.hypot(*(first[k + 1] - first[k])[:2]) == pytest.approx(220, abs=0.05)
    for k in range(1, 9, 2):  # steps between lines: the line spacing
        assert np.hypot(*(first[k + 1] - first[k])[:2]) == pytest.approx(25, abs=0.05)
    # the climb to the next layer happens in place
    assert np.allclose(pts[9, :2], pts[10, :2]) and pts[10, 2] == 35


def test_box_in_polygon_clips_lines_and_needs_a_heading():
    poly = [(50.995, 6.990), (50.997, 6.990), (50.997, 6.993)]  # a triangle
    m = patterns.box_survey(HOME, poly, layers=[30], spacing=20, heading=90, margin=0)
    pts = _enu(m)
    lengths = np.hypot(*(pts[1::2] - pts[0::2])[:, :2].T)
    assert lengths.max() > 3 * lengths.min()  # lines get shorter towards the apex
    with pytest.raises(InputError, match="heading or a wind direction"):
        patterns.box_survey(HOME, poly, layers=[30], spacing=20)


def test_profile_holds_and_descends():
    m = patterns.vertical_profile(HOME, [10, 20, 30], hold=4, descend=True, end="land")
    wps = [i for i in m.items if i.command == NAV_WAYPOINT]
    assert [w.alt for w in wps] == [10, 20, 30, 20, 10]
    assert {w.params[0] for w in wps} == {4.0}
    assert m.items[-1].name == "NAV_LAND"


def test_curtain_is_a_crosswind_wall_at_distance():
    source = (50.994, 6.990)
    m = patterns.curtain(HOME, source, wind_from=270, distance=200, width=120,
                         min_height=10, max_height=40, vertical_spacing=10, margin=5)
    frame = LocalFrame(*source, 0.0)
    ends = [frame.forward(i.lat, i.lon, 0.0) for i in m.items if i.command == NAV_WAYPOINT]
    east = np.array([float(e) for e, _, _ in ends])
    north = np.array([float(n) for _, n, _ in ends])
    assert np.allclose(east, 200, atol=0.05)  # wind from the west: curtain to the east
    assert sorted(np.round(np.abs(north), 2).tolist()) == [65.0] * 8
    assert sorted({i.alt for i in m.items if i.command == NAV_WAYPOINT}) == [10, 20, 30, 40]


def test_orbit_rings_have_their_radius_and_chord():
    centre = (50.995, 6.989)
    m = patterns.stack_orbit(HOME, centre, heights=[30, 45], radii=[25, 50], max_chord=12)
    frame = LocalFrame(*centre, 0.0)
    radii = sorted({round(math.hypot(*map(float, frame.forward(i.lat, i.lon, 0.0)[:2])), 1)
                    for i in m.items if i.command == NAV_WAYPOINT})
    assert radii == [25.0, 50.0]
    assert checks.check(m, checks.Limits(min_spacing=5.0)) == []


def test_frames_amsl_and_terrain():
    amsl = patterns.vertical_profile(HOME, [10], frame="amsl")
    assert amsl.items[2].frame == FRAME_GLOBAL and amsl.items[2].alt == 52.0
    terrain = patterns.vertical_profile(HOME, [10], frame="terrain")
    assert terrain.items[2].frame == FRAME_GLOBAL_TERRAIN_ALT and terrain.items[2].alt == 10
    assert patterns.estimate(amsl) == patterns.estimate(terrain)


def test_estimate_follows_speed_holds_and_landing():
    m = patterns.vertical_profile(HOME, [10, 20], hold=10, end=None)
    assert patterns.estimate(m).duration == pytest.approx(20 / 2.5 + 20)
    line = Mission(HOME, [MissionItem.takeoff(HOME, 10), MissionItem.change_speed(10),
                          MissionItem.waypoint(50.9934 + 1000 / 111_250, 6.9877, 10)])
    e = patterns.estimate(line)
    assert e.path_length == pytest.approx(1010, abs=2)
    assert e.duration == pytest.approx(4 + 1000 / 10 + 10 / 2.5, abs=0.5)


@pytest.mark.parametrize(("limits", "expected"), [
    (checks.Limits(max_height=30), "exceeds the maximum of 30 m"),
    (checks.Limits(max_distance=50), "m from home exceeds the maximum of 50 m"),
    (checks.Limits(min_spacing=30), "less than the minimum spacing of 30 m"),
    (checks.Limits(endurance=60), "exceeds the endurance of 1 min 00 s"),
])
def test_checks_name_the_problem(limits, expected):
    m = patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 100, 50), layers=[40],
                            spacing=25, heading=0)
    with pytest.raises(checks.MissionCheckError, match=expected):
        checks.ensure_safe(m, limits)


def test_checks_target_commands_and_frames():
    m = Mission(HOME, [MissionItem.takeoff(HOME, 10),
                       MissionItem.waypoint(50.994, 6.988, 20, frame=FRAME_GLOBAL_TERRAIN_ALT),
                       MissionItem(31337, 2)])
    problems = checks.check(m, checks.Limits(target="px4"))
    assert problems == ["item 2 (NAV_WAYPOINT): frame 10 is not supported by px4",
                        "item 3 (31337): command 31337 is not supported by px4"]
    assert checks.check(m, checks.Limits(target=None)) == []
    with pytest.raises(InputError, match="unknown target"):
        checks.check(m, checks.Limits(target="inav"))


NAN, INF = float("nan"), float("inf")
SOURCE = (50.995, 6.989)


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda: patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60), layers=[20],
                                 spacing=NAN, heading=0), "spacing"),
    (lambda: patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60),
                                 layers=[20, INF], spacing=20, heading=0), "layers"),
    (lambda: patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60), layers=[20],
                                 spacing=20, heading=NAN), "heading"),
    (lambda: patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60), layers=[20],
                                 spacing=20, wind_from=INF), "wind_from"),
    (lambda: patterns.box_survey(HOME, patterns.rectangle(50.996, 6.992, 150, 60), layers=[20],
                                 spacing=20, heading=0, margin=NAN), "margin"),
    (lambda: patterns.box_survey(HOME, [(50.99, 6.98), (NAN, 6.99), (50.991, 6.99)],
                                 layers=[20], spacing=20, heading=0), "polygon"),
    (lambda: patterns.box_survey(HOME, [(50.99, 6.98), (50.991, 6.99)], layers=[20],
                                 spacing=20, heading=0), "polygon"),
    (lambda: patterns.rectangle(50.996, 6.992, INF, 60), "length"),
    (lambda: patterns.rectangle(50.996, NAN, 150, 60), "lon"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], hold=NAN), "hold"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], hold=-1), "hold"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], point=(INF, 6.98)), "point"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], speed=INF), "speed"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], speed=0), "speed"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], acceptance=NAN), "acceptance"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], frame="agl"), "frame"),
    (lambda: patterns.vertical_profile(HOME, [10, 20], end="loiter"), "end"),
    (lambda: patterns.vertical_profile(HOME, []), "levels"),
    (lambda: patterns.vertical_profile(Home(NAN, 6.98, 42.0), [10]), "home"),
    (lambda: patterns.vertical_profile(Home(50.99, 6.98, INF), [10]), "home"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=NAN, distance=200, width=150,
                              min_height=10, max_height=50, vertical_spacing=10), "wind_from"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=INF, width=150,
                              min_height=10, max_height=50, vertical_spacing=10), "distance"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=200, width=NAN,
                              min_height=10, max_height=50, vertical_spacing=10), "width"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=200, width=150,
                              min_height=10, max_height=NAN, vertical_spacing=10), "max_height"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=200, width=150,
                              min_height=10, max_height=5, vertical_spacing=10), "max_height"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=200, width=150,
                              min_height=0, max_height=50, vertical_spacing=10), "min_height"),
    (lambda: patterns.curtain(HOME, SOURCE, wind_from=240, distance=200, width=150,
                              min_height=10, max_height=50, vertical_spacing=INF),
     "vertical_spacing"),
    (lambda: patterns.curtain(HOME, (NAN, 6.98), wind_from=240, distance=200, width=150,
                              min_height=10, max_height=50, vertical_spacing=10), "source"),
    (lambda: patterns.stack_orbit(HOME, SOURCE, heights=[30], radii=[20, NAN]), "radii"),
    (lambda: patterns.stack_orbit(HOME, SOURCE, heights=[30], radii=[]), "radii"),
    (lambda: patterns.stack_orbit(HOME, SOURCE, heights=[NAN], radii=[20]), "heights"),
    (lambda: patterns.stack_orbit(HOME, SOURCE, heights=[30], radii=[20], max_chord=INF),
     "max_chord"),
    (lambda: patterns.stack_orbit(HOME, (50.99, INF), heights=[30], radii=[20]), "centre"),
    (lambda: patterns.estimate(patterns.vertical_profile(HOME, [10]), climb_rate=NAN),
     "climb_rate"),
    (lambda: checks.Limits(max_height=NAN), "max_height"),
    (lambda: checks.Limits(endurance=-60), "endurance"),
    (lambda: checks.check(Mission(HOME, []), checks.Limits(target="inav")), "target"),
])
def test_unusable_parameters_are_refused_by_name(call, parameter):
    """NaN, infinite and out-of-range values raise a one-line ParameterError naming the
    parameter (a ValueError for programs), never a flag of the command line."""
    from dronesense.errors import ParameterError

    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.parameter == parameter
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith(f"{parameter}: ") and "\n" not in str(err.value)
    assert "--" not in str(err.value)
