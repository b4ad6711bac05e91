"""Lag estimation end to end: firmware_sim with a known response lag or clock offset.

The simulated CH4 sensor reports the air of ``time_offset_s`` seconds ago through a
first-order response of time constant ``lag_s``; its mean delay is their sum, which is what
``--lag ch4=auto`` must recover (within 0.5 s, as the issue asks).
"""

from __future__ import annotations

import pytest

from dronesense.flight.postflight import pair_logs
from tests.support.postflight import run_sim, sensor_field

CASES = {  # name: (lag_s = first-order response time, time_offset_s = clock offset)
    "response 1 s": (1.0, 0.0),
    "response 2 s": (2.0, 0.0),
    "offset 2 s": (0.0, 2.0),
    "offset -1 s": (0.0, -1.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_lag_recovered_from_the_sim(case, tmp_path):
    lag_s, offset_s = CASES[case]
    field = sensor_field(tmp_path, "CH4", lag_s=lag_s, time_offset_s=offset_s)
    sim = run_sim(tmp_path, field=field, seed=11)
    _, summary = pair_logs([sim["tlog"]], auto={"ch4"})
    lag, unc, how = summary.lags["ch4"]
    assert "centroid" in how
    assert abs(lag - (lag_s + offset_s)) < 0.5, (lag, unc)
    assert unc < 0.5
    assert abs(lag - (lag_s + offset_s)) < 4 * unc + 0.1
