"""The clock model (`dronesense.flight.state.Clock`): fit, drift, steps, outliers, holding rows."""

from __future__ import annotations

import random

import pytest

from dronesense.events import Fix, Reading, TimeSync
from dronesense.flight.pairing import Pairer
from dronesense.flight.state import Clock

T0 = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z


def feed(clock: Clock, syncs, boot: int = 0) -> None:
    for b, u in syncs:
        clock.update(boot, TimeSync(1, float(b), int(u)))


def test_exact_syncs_give_exact_utc():
    clock = Clock()
    feed(clock, [(1000 * k, T0 + 1_000_000 * k) for k in range(100)])
    assert clock.to_unix_us(0, 12_345.0) == T0 + 12_345_000
    rep = clock.report(0)
    assert rep["drift_ppm"] == 0 and rep["jitter_ms"] == 0 and rep["syncs_used"] == 100


def test_jitter_averaged_out_and_drift_estimated():
    rng = random.Random(1)
    clock = Clock()
    errs = []
    for k in range(600):
        b = 1000.0 * k
        true = T0 + b * 1000.0 * (1 + 150e-6)
        feed(clock, [(b, true + rng.uniform(-10_000, 10_000))])  # ±10 ms jitter
        if k > 60:
            errs.append(abs(clock.to_unix_us(0, b + 500.0) - (true + 500_000 * (1 + 150e-6))))
    rep = clock.report(0)
    assert rep["drift_ppm"] == pytest.approx(150, abs=10)
    assert 4 < rep["jitter_ms"] < 7  # uniform ±10 ms: RMS 5.8 ms
    errs.sort()
    assert errs[int(0.95 * len(errs))] < 3_000  # µs: well below one sync's ±10 ms


def test_outlier_rejected_and_rows_held_meanwhile():
    clock = Clock()
    feed(clock, [(1000 * k, T0 + 1_000_000 * k) for k in range(10)])
    feed(clock, [(10_000, T0 + 10_000_000 + 3_000_000)])  # 3 s off, once
    assert not clock.ready(0)
    feed(clock, [(11_000, T0 + 11_000_000)])
    assert clock.ready(0)
    rep = clock.report(0)
    assert (rep["syncs_used"], rep["syncs_rejected"], rep["steps"]) == (11, 1, [])
    assert clock.to_unix_us(0, 10_000.0) == T0 + 10_000_000


def test_step_confirmed_by_consistent_candidates():
    clock = Clock()
    feed(clock, [(1000 * k, T0 + 1_000_000 * k) for k in range(60)])
    feed(clock, [(1000 * k, T0 + 1_000_000 * k + 2_000_000) for k in range(60, 63)])
    (step,) = clock.steps(0)
    assert step.time_boot_ms == 60_000 and step.size_ms == pytest.approx(2000.0)
    # before the step the old piece, from it on the new one
    assert clock.to_unix_us(0, 59_500.0) == T0 + 59_500_000
    assert clock.to_unix_us(0, 61_500.0) == T0 + 63_500_000
    rep = clock.report(0)
    assert rep["steps"] == [{"time_boot_ms": 60_000.0, "utc": "2024-05-01T10:01:02.000000Z",
                             "size_s": 2.0}]
    assert rep["syncs_rejected"] == 0


def test_inconsistent_candidates_are_outliers():
    clock = Clock()
    feed(clock, [(1000 * k, T0 + 1_000_000 * k) for k in range(10)])
    feed(clock, [(10_000, T0 + 15_000_000), (11_000, T0 + 5_000_000),
                 (12_000, T0 + 12_000_000)])
    assert clock.steps(0) == [] and clock.report(0)["syncs_rejected"] == 2


def test_implausible_syncs_ignored():
    clock = Clock()
    feed(clock, [(0, 0), (1000, 1_000_000), (2000, 946_684_800_000_000)])  # 1970, 2000
    assert not clock.known(0) and clock.report(0)["syncs_ignored"] == 3
    feed(clock, [(3000, T0)])
    assert clock.known(0) and clock.to_unix_us(0, 4000.0) == T0 + 1_000_000


def test_pairer_holds_rows_through_a_candidate_and_follows_a_step():
    p = Pairer()
    rows = []
    for k in range(40):
        t = 1000.0 * k
        rows += p.push(TimeSync(1, t, T0 + (t * 1000 if k < 30 else t * 1000 + 2_000_000)))
        rows += p.push(Fix(1, t, 52.0, 5.0, 40.0, 30.0))
        rows += p.push(Reading(1, t + 500.0, "CO", k))
        rows += p.push(Fix(1, t + 500.0, 52.0, 5.0, 40.0, 30.0))
    rows += p.finish()
    by = {r.value: r for r in rows}
    assert len(by) == 40
    assert by[29.0].time_utc == "2024-05-01T10:00:29.500000Z"
    assert by[30.0].time_utc == "2024-05-01T10:00:32.500000Z"  # after the step: new UTC
    assert by[31.0].time_utc == "2024-05-01T10:00:33.500000Z"
    assert p.states[1].clock.report(0)["steps"][0]["time_boot_ms"] == 30_000.0


def test_candidate_at_end_of_boot_is_rejected_and_rows_released():
    p = Pairer()
    rows = []
    for k in range(5):
        rows += p.push(TimeSync(1, 1000.0 * k, T0 + 1_000_000 * k))
        rows += p.push(Fix(1, 1000.0 * k, 52.0, 5.0, 40.0, 30.0))
    rows += p.push(TimeSync(1, 5000.0, T0 + 9_000_000))  # candidate
    rows += p.push(Reading(1, 4500.0, "CO", 1.0))
    rows += p.push(Fix(1, 5000.0, 52.0, 5.0, 40.0, 30.0))
    assert rows == [] and p.pending == 1
    rows += p.push(Fix(1, 100.0, 52.0, 5.0, 40.0, 30.0))  # reboot: the candidate was void
    (row,) = rows
    assert row.time_utc == "2024-05-01T10:00:04.500000Z" and row.time_source == "sync"
    assert p.states[1].clock.report(0)["syncs_rejected"] == 1
