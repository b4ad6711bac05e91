"""The sensor lags a live capture takes: seconds per quantity, checked before anything opens.

Examples
--------
>>> check_lags({"ch4": "2.5"})
{'ch4': 2.5}
"""

from __future__ import annotations

from collections.abc import Mapping

from dronesense.errors import ParameterError

__all__ = ["check_lags"]


def check_lags(lags: Mapping[str, float] | None) -> dict[str, float]:
    """Live lags: seconds per quantity (``"auto"`` needs the whole flight: pair afterwards)."""
    out: dict[str, float] = {}
    for key, value in (lags or {}).items():
        try:
            sec = float(value)
        except (TypeError, ValueError):
            raise ParameterError("lags", f"{key}={value!r}: a live lag must be a number of "
                                 "seconds (estimate it after the flight)") from None
        if sec != sec or sec in (float("inf"), float("-inf")):
            raise ParameterError("lags", f"{key}={value!r}: not a finite number of seconds")
        out[str(key)] = sec
    return out

