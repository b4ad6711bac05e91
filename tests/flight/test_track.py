"""The pairing engine's track keeps a bounded horizon: a long live session's memory stays
flat, and every reading within the horizon pairs exactly as with the whole track."""

from __future__ import annotations

from dronesense.events import Fix, Reading, TimeSync
from dronesense.flight.pairing import TRACK_HORIZON_S, Pairer
from dronesense.flight.track import Track


def _session(hours: float, rate_hz: float = 5.0):
    """A vehicle circling for ``hours``, a CH4 reading between every two fixes and a clock
    sync every second (vehicle time ms)."""
    n = int(hours * 3600 * rate_hz)
    step = 1000.0 / rate_hz
    for k in range(n):
        t = k * step
        if k % int(rate_hz) == 0:
            yield TimeSync(1, t, 1_714_557_600_000_000 + int(t * 1000))
        yield Fix(1, t, 52.0 + (k % 500) * 1e-6, 5.0 + (k % 700) * 1e-6, 40.0, 30.0)
        yield Reading(1, t + step / 2, "CH4", 1.9 + (k % 13) * 0.01)


def test_track_stays_within_two_horizons_over_two_hours():
    bounded, whole = Pairer(), Pairer(track_horizon_s=None)
    longest = 0
    rows_b, rows_w = [], []
    for ev in _session(2.0):
        rows_b += bounded.push(ev)
        rows_w += whole.push(ev)
        longest = max(longest, len(bounded.states[1].track))
    rows_b += bounded.finish()
    rows_w += whole.finish()
    assert rows_b == rows_w  # nothing paired needed an older fix
    track = bounded.states[1].track
    assert track.trimmed > 0 and len(whole.states[1].track) == 36_000
    assert longest <= 2 * TRACK_HORIZON_S * 5 + 1024 + 1


def test_trimmed_track_keeps_the_fix_before_the_horizon():
    track = Track(horizon_s=1.0)
    for k in range(3000):
        track.append(Fix(1, 10.0 * k, 0.0, 0.0, 0.0, 0.0))
    times = track.arrays()[0]
    assert times[-1] == 29_990.0 and times[0] <= 29_990.0 - 1000.0
    assert track.trimmed + len(track) == 3000
