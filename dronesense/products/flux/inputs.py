"""What a flux estimate takes in: the usable samples of a quantity and parameters in range.

Examples
--------
>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset({"ch4": ("obs", [1.9, np.nan, 2.1]), "lat": ("obs", [52.0] * 3),
...                  "lon": ("obs", [5.0] * 3), "height": ("obs", [10.0, 10.0, 20.0])})
>>> use = usable_samples(ds, "ch4")
>>> use.ok.tolist(), use.time.tolist()
([True, False, True], [0.0, 1.0, 2.0])
>>> usable_samples(ds, "co2")
Traceback (most recent call last):
...
dronesense.errors.InputError: no 'co2' samples (quantities there: ch4, lat, lon)
>>> check_parameters(max_offset=-1.0)
Traceback (most recent call last):
...
dronesense.errors.ParameterError: max_offset: must be a positive distance in metres, got -1.0
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError, ParameterError

__all__ = ["UsableSamples", "check_parameters", "usable_samples"]


class UsableSamples(NamedTuple):
    """The samples of one quantity, as arrays over every sample of the Dataset.

    ``ok`` marks the usable ones: a finite value, unflagged, with a position and a height.
    """

    ok: np.ndarray
    values: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    height: np.ndarray
    time: np.ndarray
    """Seconds (``time_boot_ms`` / 1000, else the sample index)."""


def _floats(samples: xr.Dataset, key: str) -> np.ndarray:
    return np.asarray(samples[key].values, dtype=float)


def usable_samples(samples: xr.Dataset, quantity: str) -> UsableSamples:
    """The samples of ``quantity`` a flux can be made of.

    Raises
    ------
    InputError
        No such quantity (the message lists the quantities there), or no height above home.
    NoUsableDataError
        No sample of the quantity has a position.
    """
    if quantity not in samples:
        have = [k for k, v in samples.data_vars.items() if v.dtype.kind == "f"
                and k not in ("height", "position_gap", "time_boot_ms")]
        raise InputError(f"no {quantity!r} samples (quantities there: {', '.join(have) or 'none'})")
    values = _floats(samples, quantity)
    ok = np.isfinite(values)
    if "flag" in samples:
        ok &= np.asarray(samples["flag"].values) == 0
    lat, lon = _floats(samples, "lat"), _floats(samples, "lon")
    ok &= np.isfinite(lat) & np.isfinite(lon)
    if "height" not in samples:
        raise InputError("samples have no height above home")
    height = _floats(samples, "height")
    ok &= np.isfinite(height)
    if not ok.any():
        raise NoUsableDataError(f"no paired {quantity!r} samples with a position")
    if "time_boot_ms" in samples:
        time = _floats(samples, "time_boot_ms") / 1000.0
    else:
        time = np.arange(values.size, dtype=float)
    return UsableSamples(ok, values, lat, lon, height, time)


def check_parameters(*, max_offset: float = 20.0, edge_fraction: float = 0.1,
                     percentile: float = 5.0, molar_mass: float | None = None,
                     ground: str = "constant",
                     spacing: tuple[float, float] = (5.0, 2.5)) -> tuple[float, float]:
    """A :class:`~dronesense.errors.ParameterError` naming the first parameter of
    :func:`~dronesense.products.flux.estimate.estimate_flux` outside its meaningful range
    (NaN included); returns the spacing as two floats."""
    if ground not in ("constant", "zero"):
        raise ParameterError("ground", "must be 'constant' or 'zero' (the ground rule below the "
                             f"lowest pass), got {ground!r}")
    ds, dz = (float(v) for v in spacing)
    if not (ds > 0 and dz > 0):
        raise ParameterError("spacing", f"must be two positive numbers of metres, got {spacing}")
    if not (max_offset > 0 and math.isfinite(max_offset)):
        raise ParameterError("max_offset",
                             f"must be a positive distance in metres, got {max_offset}")
    if not 0 < edge_fraction < 0.5:
        raise ParameterError("edge_fraction", "must be between 0 and 0.5 (the outer part of "
                             f"the curtain at each end), got {edge_fraction}")
    if not 0 <= percentile <= 100:
        raise ParameterError("percentile", f"must be between 0 and 100, got {percentile}")
    if molar_mass is not None and not (molar_mass > 0 and math.isfinite(molar_mass)):
        raise ParameterError("molar_mass", f"must be a positive number of g/mol, got {molar_mass}")
    return ds, dz
