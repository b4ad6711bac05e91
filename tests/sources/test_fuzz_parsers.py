"""Property-based fuzzing of every parser: whatever the bytes, only the project's own errors
(:class:`~dronesense.errors.DronesenseError`, firmware-sim's ``SimError``) may escape.

Each parser gets hypothesis-drawn mutations of a valid file of its format and plain random
bytes; the examples are bounded (about a minute for the module). ``benchmarks/fuzz_parsers.py``
runs the same targets much longer.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sources.fuzz_targets import ALLOWED, TARGETS, mutate

_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow,
                                            HealthCheck.function_scoped_fixture])
_SEEDS: dict[str, bytes] = {}


def _seed(name: str) -> bytes:
    if name not in _SEEDS:
        _SEEDS[name] = TARGETS[name][1]()
    return _SEEDS[name]


def _run(name: str, data: bytes) -> None:
    try:
        TARGETS[name][0](data)
    except ALLOWED:
        pass


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_valid_seed_parses(name):
    TARGETS[name][0](_seed(name))


@pytest.mark.parametrize("name", sorted(TARGETS))
@_SETTINGS
@given(mutation=st.integers(0, 2**32 - 1))
def test_mutated_input_raises_only_project_errors(name, mutation):
    _run(name, mutate(_seed(name), random.Random(mutation)))


@pytest.mark.parametrize("name", sorted(TARGETS))
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_project_errors(name, data):
    _run(name, data)
