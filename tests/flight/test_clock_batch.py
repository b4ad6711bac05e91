"""`Clock.update_many` (runs of syncs fitted at once, `dronesense.flight.clockfit`) against
`Clock.update` one sync at a time: the same versions, pieces, steps and figures to the last bit,
on synthetic syncs with jitter, drift, steps, outliers, implausible UTC and a vehicle time going
back, and on the clock syncs of a simulated log with a clock step, jitter and drift."""

from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest

from dronesense.events import TimeSync
from dronesense.flight import clock as model
from dronesense.flight.clock import WINDOW_SYNCS, Clock
from dronesense.flight.clockfit import DEFAULT_LIMITS, FitLimits, window_starts
from dronesense.sources.tlogevents import event_columns
from dronesense.sources.tlogscan import scan_tlog
from tests.support.paths import MISSIONS, ROOT, sim_cmd

T0 = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z


def sequential(times, unix, pre=()):
    """The versions of :meth:`Clock.update_many`, built with :meth:`Clock.update`."""
    clock = Clock()
    for b, u in pre:
        clock.update(0, TimeSync(1, b, u))
    n = len(times)
    ready, pieces, params = np.zeros(n + 1, bool), np.zeros(n + 1, np.int64), np.zeros((n + 1, 4))
    for k in range(n + 1):
        if k:
            clock.update(0, TimeSync(1, float(times[k - 1]), int(unix[k - 1])))
        ready[k] = clock.ready(0)
        pieces[k], params[k] = clock.model(0)
    return clock, ready, pieces, params


def batched(times, unix, pre=()):
    clock = Clock()
    for b, u in pre:
        clock.update(0, TimeSync(1, b, u))
    return (clock, *clock.update_many(0, times, unix))


def assert_same(times, unix, pre=()):
    seq, bat = sequential(times, unix, pre), batched(times, unix, pre)
    for name, x, y in zip(("ready", "pieces", "params"), seq[1:], bat[1:], strict=True):
        assert np.array_equal(x, y), name
    assert seq[0].reports() == bat[0].reports()
    assert seq[0].offset_us(0) == bat[0].offset_us(0)
    t = np.linspace(min(times), max(times), 501)
    got = [bat[0].to_unix_us(0, float(v)) for v in t]
    assert [seq[0].to_unix_us(0, float(v)) for v in t] == got
    return bat[0].report(0)


def synthetic(seed: int, n: int, period_ms: float):
    """Syncs with jitter (±30 ms), drift (80 ppm), two steps, outliers, zeros, a time back."""
    rng = random.Random(seed)
    times, unix, step = [], [], 0
    for k in range(n):
        b = float(int(period_ms * k + rng.uniform(0, 0.3 * period_ms)))
        if k == n // 3:
            step += 2_000_000
        if k == n // 2:
            step -= 700_000
        u = int(T0 + b * 1000 * (1 + 80e-6) + step + rng.uniform(-30_000, 30_000))
        r = rng.random()
        if r < 0.003:
            u += 5_000_000  # an outlier
        elif r < 0.005:
            u = 0  # implausible: ignored
        elif r < 0.006:
            b -= 50_000  # a vehicle time going back
        times.append(b)
        unix.append(u)
    return times, unix


@pytest.mark.parametrize(("seed", "n", "period_ms"), [(1, 3000, 1000.0), (2, 5000, 100.0),
                                                       (3, 2500, 250.0), (4, 1500, 1000.0)])
def test_update_many_is_update_one_by_one(seed, n, period_ms):
    times, unix = synthetic(seed, n, period_ms)
    pre = [(times[0] - 5000.0, unix[0] - 5_000_000)] if seed % 2 else ()
    rep = assert_same(times, unix, pre)
    assert len(rep["steps"]) == 2 and rep["syncs_rejected"] > 0 and rep["syncs_ignored"] > 0
    assert rep["drift_ppm"] == pytest.approx(80, abs=20)


def test_update_many_in_parts_and_edge_cases():
    times, unix = synthetic(5, 2000, 500.0)
    seq = sequential(times, unix)[0]
    clock = Clock()
    for part in np.array_split(np.arange(len(times)), 7):
        clock.update_many(0, np.asarray(times)[part], np.asarray(unix)[part])
    assert clock.reports() == seq.reports()
    assert_same([1000.0], [T0])  # one sync
    assert_same([1000.0, 2000.0], [0, 1])  # nothing plausible
    assert_same([1000.0 * k for k in range(50)], [T0 + 1_000_000 * k for k in range(50)])
    ready, pieces, _ = Clock().update_many(0, [], [])
    assert ready.tolist() == [False] and pieces.tolist() == [0]


def test_default_limits_are_the_clock_model_constants():
    assert DEFAULT_LIMITS == FitLimits(model.WINDOW_SYNCS, model.WINDOW_S, model.MIN_RATE_SPAN_S,
                                       model.MIN_RATE_SYNCS, model.MAX_DRIFT_PPM,
                                       model.STEP_THRESHOLD_MS)


def test_window_starts_follow_the_sliding_window():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.uniform(0, 2000, 3000))
    x[::97] = x[::97].round(-3)
    lo = window_starts(x, 1)
    first = 0
    for i in range(1, x.size):  # the sliding rule, one sync at a time
        while first < i and (i - first + 1 > WINDOW_SYNCS or x[i] - x[first] > 600_000.0):
            first += 1
        assert lo[i - 1] == first


@pytest.fixture(scope="module")
def simulated_syncs(tmp_path_factory):
    path = tmp_path_factory.mktemp("clock") / "steps.tlog"
    subprocess.run(sim_cmd("--mission", MISSIONS / "plume-curtain.plan", "--speedup", "0",
                           "--connect", "none", "--quiet", "--tlog", path, "--seed", "7",
                           "--fault", "clockjump=60:2,systime_jitter=30,clockdrift=80,dup=0.01"),
                   check=True, cwd=ROOT)
    syncs = event_columns(scan_tlog(path)).syncs
    return syncs["time_boot_ms"].tolist(), syncs["unix_us"].tolist()


def test_simulated_log_with_step_jitter_and_drift(simulated_syncs):
    times, unix = simulated_syncs
    rep = assert_same(times, unix)
    assert len(rep["steps"]) == 1 and abs(rep["steps"][0]["size_s"] - 2) < 0.1
    assert rep["drift_ppm"] == pytest.approx(80, abs=20)
