"""The scanner's two walks (numba kernels, vectorised numpy) give the identical scan, and a
small file is scanned without loading numba."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

import dronesense
from dronesense.sources.tlogrecords import NUMBA
from dronesense.sources.tlogscan import scan_tlog
from tests.sources.scans import damage, same_scan

CURTAIN = Path(dronesense.__file__).parent / "datasets" / "data" / "plume-curtain.tlog"

pytestmark = pytest.mark.skipif(NUMBA is None, reason="numba not installed")


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_compiled_equals_numpy_on_a_flight(seed):
    data = bytearray(CURTAIN.read_bytes())
    if seed is not None:  # bit errors, inserted junk and a cut record
        rng = random.Random(seed)
        damage(data, rng, 40, 10, 60)
        data = data[:len(data) - rng.randrange(1, 30)]
    same_scan(scan_tlog(bytes(data), compiled=True), scan_tlog(bytes(data), compiled=False))


def test_small_file_does_not_load_numba():
    code = ("import sys; from dronesense.sources.tlogscan import scan_tlog; "
            f"s = scan_tlog({str(CURTAIN)!r}); print(s.records, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(scan_tlog(CURTAIN, compiled=True).records), "False"]
