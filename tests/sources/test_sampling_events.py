"""Sampling events read back from a real telemetry log, placed against the simulator's track.

A stack-passes flight (firmware_sim, horizontal transects) gets sampling events of every
kind inserted into its tlog by receive time, packed by pymavlink as the payload or the ground
station would send them; where each was taken is checked against the simulator's true track.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav2

from dronesense.errors import InputError, NoUsableDataError
from dronesense.sources.sampling_events import read_sampling_events
from tests.support.programs import STACK_FIELD, STACK_PLAN, T0, fly, insert_messages, read_track

SAMPLE_MS = 60_000
SERVO_S, CAMERA_S, MISSION_S, RELAY_S = 120.0, 180.0, 200.0, 240.0


def _true(track, t_ms: float) -> tuple[float, ...]:
    return tuple(float(np.interp(t_ms, track["time_boot_ms"], track[k]))
                 for k in ("lat", "lon", "alt_amsl", "height"))


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """(tlog with events, the plain tlog, the true track)."""
    tmp = tmp_path_factory.mktemp("events")
    plain = fly(tmp, "stack", STACK_PLAN, STACK_FIELD, seed=2, track=True)
    track = read_track(tmp / "stack-track.csv")
    lat, lon, alt, height = _true(track, CAMERA_S * 1000)
    events = [
        (T0 + SAMPLE_MS / 1000 + 0.04,
         mav2.MAVLink_named_value_int_message(SAMPLE_MS, b"SAMPLE", 1), False),
        (T0 + SERVO_S, mav2.MAVLink_command_long_message(1, 1, 183, 0, 9, 1900, 0, 0, 0, 0, 0),
         True),
        (T0 + SERVO_S + 1, mav2.MAVLink_command_long_message(1, 1, 183, 0, 9, 1100, 0, 0, 0, 0,
                                                             0), True),  # closes: no event
        (T0 + CAMERA_S + 0.02, mav2.MAVLink_camera_feedback_message(
            round((T0 + CAMERA_S) * 1e6), 1, 0, 3, round(lat * 1e7), round(lon * 1e7),
            alt, height, 0, 0, 0, 0, 0), False),
        (T0 + 5.0, mav2.MAVLink_mission_item_int_message(
            1, 1, 20, 0, 183, 0, 1, 10, 1950, 0, 0, 0, 0, 0), True),
        (T0 + MISSION_S, mav2.MAVLink_mission_current_message(20, 21, 0, 0), False),
        (T0 + RELAY_S, mav2.MAVLink_command_long_message(1, 1, 181, 0, 0, 1, 0, 0, 0, 0, 0),
         True),
    ]
    tlog = insert_messages(plain, tmp / "with-events.tlog", events)
    return tlog, plain, track


def test_every_kind_of_event_where_and_when(logged):
    tlog, _, track = logged
    ev = read_sampling_events(tlog, ids=["C-02", "C-04", "C-05"])
    assert ev.attrs["featureType"] == "point"
    assert ev["sample_id"].values.tolist() == ["1", "C-02", "3", "C-04", "C-05"]
    assert ev["event"].values.tolist() == ["sample", "servo", "camera_feedback",
                                           "mission_servo", "relay"]
    boot_ms = [SAMPLE_MS, SERVO_S * 1000, CAMERA_S * 1000, MISSION_S * 1000, RELAY_S * 1000]
    np.testing.assert_allclose(ev["time_boot_ms"].values, boot_ms, atol=1.0)
    utc = (ev["time"].values - np.datetime64("2025-06-14T08:00:00", "ns")) / np.timedelta64(
        1, "ms")
    np.testing.assert_allclose(utc, boot_ms, atol=1.0)
    for i, t_ms in enumerate(boot_ms):
        lat, lon, alt, height = _true(track, t_ms)
        assert float(ev["lat"][i]) == pytest.approx(lat, abs=2e-6)  # ~0.2 m
        assert float(ev["lon"][i]) == pytest.approx(lon, abs=2e-6)
        assert float(ev["altitude"][i]) == pytest.approx(alt, abs=0.3)
        assert float(ev["height"][i]) == pytest.approx(height, abs=0.3)
    assert ev["height"].values.max() > 25  # samples taken in flight, on the transects


def test_default_ids_and_options(logged):
    ev = read_sampling_events(logged[0], servo_pwm=2000)  # the servo commands no longer fire
    assert ev["sample_id"].values.tolist() == ["1", "3", "relay-1"]
    only = read_sampling_events(logged[0], names=["CANISTER"], servo_pwm=2000)
    assert "1" not in only["sample_id"].values.tolist()


def test_no_events_and_bad_input(logged, tmp_path):
    with pytest.raises(NoUsableDataError, match="no sampling event"):
        read_sampling_events(logged[1])
    with pytest.raises(InputError, match="no such telemetry log"):
        read_sampling_events(tmp_path / "missing.tlog")
    with pytest.raises(InputError, match="4 sample ids for 3 events"):
        read_sampling_events(logged[0], ids=["a", "b", "c", "d"])


def test_live_journal_equals_the_post_flight_reader(logged, tmp_path):
    """Messages pushed one by one as they arrive (as a recorder would) give the events the
    post-flight reader gives."""
    import csv

    from pymavlink import mavutil

    from dronesense.sources.sampling_events import SamplingJournal

    journal = SamplingJournal(tmp_path / "sampling_events.csv")
    conn = mavutil.mavlink_connection(str(logged[0]))
    while (msg := conn.recv_match()) is not None:
        journal.push(msg, msg._timestamp)
    conn.close()
    journal.close()
    with open(tmp_path / "sampling_events.csv", newline="") as fh:
        live = list(csv.DictReader(fh))
    post = read_sampling_events(logged[0])
    assert [r["sample_id"] for r in live] == post["sample_id"].values.tolist()
    np.testing.assert_allclose([float(r["lat"]) for r in live], post["lat"].values, atol=1e-8)
    np.testing.assert_allclose([float(r["height"]) for r in live], post["height"].values,
                               atol=1e-3)
    assert [r["time_utc"][:23] for r in live] == [str(t)[:23] for t in post["time"].values]
