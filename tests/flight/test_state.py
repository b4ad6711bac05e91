"""Track, Clock and reboot detection."""

from __future__ import annotations

from dronesense.events import Fix, Status, TimeSync
from dronesense.flight.state import Clock, FlightState, Track


def test_track_grows_and_drops_out_of_order():
    track = Track(capacity=2)
    for t in [0, 100, 200, 150, 300, 300]:
        track.append(Fix(1, float(t), 1.0, 2.0, 3.0, 4.0))
    t, ok, pos = track.arrays()
    assert t.tolist() == [0, 100, 200, 300] and track.dropped == 2
    assert pos.shape == (4, 4) and ok.all()


def test_clock_per_boot_and_implausible_syncs_ignored():
    t0 = 1_714_557_600_000_000
    clock = Clock()
    assert clock.to_unix_us(0, 10.0) is None
    clock.update(0, TimeSync(1, 1000.0, 2_000_000))  # 1970: implausible, ignored
    assert not clock.known(0) and clock.report(0)["syncs_ignored"] == 1
    clock.update(0, TimeSync(1, 1000.0, t0))
    assert clock.to_unix_us(0, 1500.0) == t0 + 500_000
    assert not clock.known(1) and clock.to_unix_us(1, 1500.0) is None


def test_reboot_starts_new_segment_and_flown_logic():
    st = FlightState(1)
    st.observe_status(Status(1, True, 4, 2, 3))
    st.observe_time(60_000.0)
    st.observe_fix(Fix(1, 60_000.0, 1, 1, 50, 20))
    assert st.has_flown
    assert not st.observe_time(58_000.0)  # 2 s back: jitter
    assert st.observe_time(100.0)
    assert st.boot == 1 and st.reboots == 1
