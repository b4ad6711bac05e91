"""The pairing engine: rules, flags, clock, reboots, vehicles, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dronesense.events import Fix, Reading, Status, TimeSync
from dronesense.flight.pairing import Pairer, interpolate_positions
from dronesense.flight.rows import Flag

T0 = 1_714_557_600_000_000


def fix(t, sysid=1, ok=True, lat=None):
    return Fix(sysid, float(t), 52.0 + t * 1e-6 if lat is None else lat, 5.0, 40.0 + t / 1000,
               30.0, ok)


def run(events, **kw):
    p = Pairer(**kw)
    rows = []
    for ev in events:
        rows += p.push(ev, recv_us=T0 + 123)
    return rows + p.finish()


def test_reading_waits_for_later_fix_then_interpolates():
    p = Pairer()
    p.push(TimeSync(1, 0.0, T0))
    p.push(fix(1000))
    assert p.push(Reading(1, 1400.0, "PM2.5", 7.0)) == []
    assert p.pending == 1
    (row,) = p.push(fix(1500))
    assert row.flag == Flag.PAIRED
    assert row.lat == pytest.approx(52.0 + 1400e-6)
    assert row.alt_amsl == pytest.approx(41.4)
    assert row.position_gap == pytest.approx(0.5)
    assert row.quantity == "pm2p5" and row.units == "ug m-3"
    assert row.time_utc == "2024-05-01T10:00:01.400000Z" and row.time_source == "sync"


def test_flags_gap_before_after_nofix():
    events = [TimeSync(1, 0.0, T0), Reading(1, 500.0, "CH4", 1.0), fix(1000), fix(1100),
              Reading(1, 1050.0, "CH4", 2.0), fix(3000), Reading(1, 2000.0, "CH4", 3.0),
              fix(3100, ok=False), Reading(1, 3050.0, "CH4", 4.0), fix(3200),
              Reading(1, 5000.0, "CH4", 5.0)]
    rows = run(events)
    flags = {r.value: r.flag for r in rows}
    assert flags == {1.0: Flag.BEFORE_TRACK, 2.0: Flag.PAIRED, 3.0: Flag.GAP,
                     4.0: Flag.NO_FIX, 5.0: Flag.AFTER_TRACK}
    for r in rows:
        assert (r.lat is None) == (r.flag != Flag.PAIRED)
    gaps = {r.value: r.position_gap for r in rows}
    assert gaps[1.0] == pytest.approx(0.5) and gaps[3.0] == pytest.approx(1.9)
    assert gaps[5.0] == pytest.approx(1.8)


def test_never_pairs_across_reboot():
    events = [TimeSync(1, 0.0, T0), fix(100_000), Reading(1, 100_050.0, "CO", 1.0),
              fix(500), TimeSync(1, 500.0, T0 + 200_000_000), fix(600),
              Reading(1, 550.0, "CO", 2.0), fix(700)]
    rows = run(events)
    by = {r.value: r for r in rows}
    assert by[1.0].flag == Flag.REBOOT and by[1.0].boot == 0
    assert by[2.0].flag == Flag.PAIRED and by[2.0].boot == 1
    assert by[2.0].time_utc == "2024-05-01T10:03:20.050000Z"


def test_lag_is_subtracted_before_pairing():
    events = [TimeSync(1, 0.0, T0), fix(1000), fix(1100), fix(1200),
              Reading(1, 1200.0, "CH4", 1.0)]
    (row,) = run(events, lags={"ch4": 0.15})
    assert row.time_boot_ms == pytest.approx(1050.0)
    assert row.lat == pytest.approx(52.0 + 1050e-6)
    assert row.time_utc == "2024-05-01T10:00:01.050000Z"


def test_rows_held_until_clock_then_receive_time_fallback():
    p = Pairer()
    p.push(fix(1000))
    p.push(Reading(1, 1000.0, "CH4", 1.0), recv_us=T0 + 5)
    assert p.pending == 1  # resolved but no UTC yet
    rows = p.push(TimeSync(1, 2000.0, T0 + 2_000_000))
    assert [r.time_utc for r in rows] == ["2024-05-01T10:00:01.000000Z"]
    q = Pairer()
    q.push(fix(1000))
    q.push(Reading(1, 1000.0, "CH4", 1.0), recv_us=T0 + 5)
    (row,) = q.finish()
    assert row.time_source == "receive" and row.time_utc == "2024-05-01T10:00:00.000005Z"


def test_unknown_names_are_kept():
    (row,) = run([TimeSync(1, 0.0, T0), fix(0), Reading(1, 0.0, "BATT_V", 11.8)])
    assert (row.quantity, row.name, row.units, row.value) == ("batt_v", "BATT_V", "", 11.8)


def test_vehicles_never_mix():
    events = [TimeSync(1, 0.0, T0), TimeSync(2, 0.0, T0), fix(0, 1, lat=10.0),
              fix(0, 2, lat=20.0), Reading(1, 50.0, "CH4", 1.0), Reading(2, 50.0, "CH4", 2.0),
              fix(100, 2, lat=20.0), fix(100, 1, lat=10.0), Status(1, True, 4, 2, 3)]
    rows = run(events)
    assert {(r.sysid, r.lat) for r in rows} == {(1, 10.0), (2, 20.0)}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fix", "bad", "read"]), st.integers(0, 400)),
                min_size=1, max_size=60))
def test_incremental_equals_vectorised(script):
    """Whatever the order, each row equals the bulk function applied to the final track."""
    events, t = [TimeSync(1, 0.0, T0)], 0
    for kind, dt in script:
        t += dt
        if kind == "read":
            events.append(Reading(1, float(t - dt // 2), "CH4", float(t)))
        else:
            events.append(fix(t, ok=kind == "fix"))
    p = Pairer(max_gap_s=0.3)
    rows = []
    for ev in events:
        rows += p.push(ev)
    rows += p.finish()
    track = p.states[1].track
    ft, ok, pos = track.arrays()
    for r in rows:
        want_pos, _, flag = interpolate_positions(ft, ok, pos, np.array([r.time_boot_ms]), 0.3)
        assert r.flag == flag[0]
        if r.flag == Flag.PAIRED:
            assert r.lat == want_pos[0, 0]
    assert len(rows) == sum(isinstance(e, Reading) for e in events)
    # and the engine is deterministic
    assert run(events, max_gap_s=0.3) == run(events, max_gap_s=0.3)


def test_interpolate_positions_empty_track():
    _, gap, flag = interpolate_positions(np.zeros(0), np.zeros(0, bool), np.zeros((0, 4)),
                                           np.array([1.0, 2.0]))
    assert flag.tolist() == [Flag.BEFORE_TRACK] * 2 and np.isnan(gap).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e6, allow_nan=False), st.booleans(),
                          st.floats(-90, 90, allow_nan=False),
                          st.floats(-1e4, 1e4, allow_nan=False)), max_size=30),
       st.lists(st.floats(-2e3, 1.1e6, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from([0.0, 0.3, 1.0, 1e9]))
def test_scalar_path_is_bit_identical_to_numpy(fixes, times, max_gap):
    """The live engine's pure-Python interpolation gives exactly the numpy floats."""
    from dronesense.flight.pairing import interpolate_one

    fixes = sorted({f[0]: f for f in fixes}.values())
    ft = [f[0] for f in fixes]
    ok = [f[1] for f in fixes]
    pos = [(f[2], f[2] / 3.0, f[3], f[3] * 0.1) for f in fixes]
    want_pos, want_gap, want_flag = interpolate_positions(
        np.array(ft, dtype=float), np.array(ok, dtype=bool),
        np.array(pos, dtype=float).reshape(len(pos), 4), np.array(times), max_gap)
    for j, t in enumerate(times):
        p, g, f = interpolate_one(ft, ok, pos, t, max_gap)
        assert f == want_flag[j]
        assert (g != g and want_gap[j] != want_gap[j]) or g == want_gap[j]
        if f == Flag.PAIRED:
            assert p == tuple(want_pos[j].tolist())  # exact equality, not approx
        else:
            assert p is None and np.isnan(want_pos[j]).all()


def test_late_stamped_payload_readings_are_no_reboot():
    """A payload stamping readings 5 s late must not split the flight into boots."""
    events = [TimeSync(1, 0.0, T0)]
    for k in range(200):
        t = 100.0 * k
        events.append(fix(t))
        if t >= 5000 and k % 3 == 0:
            events.append(Reading(1, t - 5000.0, "PM2.5", float(k)))
    rows = run(events)
    assert len(rows) == sum(isinstance(e, Reading) for e in events)
    assert {r.boot for r in rows} == {0}
    assert all(r.flag == Flag.PAIRED for r in rows)
    for r in rows:
        assert r.lat == pytest.approx(52.0 + r.time_boot_ms * 1e-6, abs=1e-12)
    p = Pairer()
    for ev in events:
        p.push(ev)
    assert p.states[1].reboots == 0
    # readings stamped in the future do not fake a reboot later either
    q = Pairer()
    for ev in [fix(1000), Reading(1, 60_000.0, "CO", 1.0), fix(1100), fix(1200)]:
        q.push(ev)
    assert q.states[1].reboots == 0 and q.states[1].boot == 0


def test_reading_first_after_a_reboot_joins_the_new_boot():
    """After a real reboot the first reading may come before any position of the new boot."""
    events = [TimeSync(1, 0.0, T0), fix(99_900), fix(100_000), Reading(1, 100_050.0, "CO", 1.0),
              Reading(1, 300.0, "CO", 2.0),  # new boot: held until the autopilot tells
              fix(200), TimeSync(1, 250.0, T0 + 500_000_000), fix(400)]
    rows = run(events)
    by = {r.value: r for r in rows}
    assert by[1.0].flag == Flag.REBOOT and by[1.0].boot == 0
    assert by[2.0].boot == 1 and by[2.0].flag == Flag.PAIRED
    assert by[2.0].lat == pytest.approx(52.0 + 300e-6)
