"""The error a grid reports: ``estimated_grid_rmse`` and how it was made.

A grid made by :func:`~dronesense.gridding.grid.grid` reports the model-based estimate
(:data:`MODEL_ESTIMATE`) where it can be made, else the cross-validation's figure; its
``estimated_grid_rmse_method`` says which. Grids written before the model was the default
carry the cross-validation figure and no method: :func:`reported_error` says so for every
reader (CLI, figures, report).

Examples
--------
>>> reported_error({"estimated_grid_rmse": 0.02, "estimated_grid_rmse_method": MODEL_ESTIMATE})
(0.02, 'estimation variance under the fitted variogram')
>>> reported_error({"estimated_grid_rmse": 0.05})          # written before the model
(0.05, 'cross-validation')
>>> reported_error({}), short_method(MODEL_ESTIMATE), short_method("cross-validation")
((None, None), 'variogram', 'CV')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MODEL_ESTIMATE", "reported_error", "short_method"]

#: ``estimated_grid_rmse_method`` of a grid whose reported error is the model-based estimate.
MODEL_ESTIMATE = "estimation variance under the fitted variogram"


def reported_error(attrs: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The grid's reported error and how it was made, from its (or its variable's)
    attributes; ``(None, None)`` where it reports none (or a non-finite figure)."""
    error = attrs.get("estimated_grid_rmse")
    if error is None or not math.isfinite(float(error)):
        return None, None
    return float(error), str(attrs.get("estimated_grid_rmse_method", "cross-validation"))


def short_method(how: str) -> str:
    """``"variogram"`` for the model-based estimate, ``"CV"`` for cross-validation."""
    return "variogram" if how == MODEL_ESTIMATE else "CV"
