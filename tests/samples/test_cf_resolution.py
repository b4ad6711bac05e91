"""ACDD ``time_coverage_resolution`` of samples: the median step between distinct sampling
times, in order or not, with repeated times and NaT, against a reference built from the set of
times."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest

from dronesense.quantities import NameTable
from dronesense.samples.cf import samples_attributes


def resolution(times: np.ndarray) -> str | None:
    n = times.size
    attrs = samples_attributes(keys=["ch4"], names=NameTable.default(), times=times,
                               lat=np.full(n, 52.0), lon=np.full(n, 5.0),
                               altitude=np.full(n, 40.0), trajectory_count=1, history="h",
                               source="s")
    return attrs.get("time_coverage_resolution")


def reference(times: np.ndarray) -> str | None:
    distinct = sorted({int(v) for v in times.astype("datetime64[us]").astype(np.int64)
                       if v != np.iinfo(np.int64).min})
    if len(distinct) < 2:
        return None
    steps = [b - a for a, b in itertools.pairwise(distinct)]
    return f"PT{statistics.median(steps) / 1e6:.6g}S"


@pytest.mark.parametrize("seed", range(12))
def test_resolution_is_the_median_step_of_distinct_times(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    t = np.sort(rng.integers(0, 60_000_000, n)) + 1_714_557_600_000_000
    if seed % 3 == 0:
        t[1:n // 2] = t[0]  # repeated times (several readings at one time)
    times = t.astype("datetime64[us]")
    if seed % 4 == 1:
        times = times[rng.permutation(n)]  # two vehicles: not in order
    if seed % 2:
        times[rng.integers(0, n)] = np.datetime64("NaT")
    assert resolution(times) == reference(times)


def test_resolution_of_regular_samples_and_degenerate_times():
    t0 = np.datetime64("2024-05-01T10:00:00", "us")
    regular = t0 + np.repeat(np.arange(1000), 3) * np.timedelta64(200, "ms")
    assert resolution(regular) == "PT0.2S"
    assert resolution(np.array([t0, t0, t0])) is None
    assert resolution(np.array(["NaT", "NaT"], "datetime64[us]")) is None
    assert resolution(np.array(["2024-05-01T10:00:00", "2024-05-01T10:00:02"],
                               "datetime64[s]")) == "PT2S"
