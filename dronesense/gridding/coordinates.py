"""Samples in grid coordinates: the usable samples of a quantity, their (x, y, z) and tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import InputError, NoUsableDataError
from dronesense.gridding.spec import GridSpec
from dronesense.quantities import Quantity, display_units, get_quantity


def _usable(samples: xr.Dataset, quantity: str, spec: GridSpec):
    """Local coordinates, values and obs indices of the usable samples of one quantity."""
    if quantity not in samples:
        have = [k for k, v in samples.data_vars.items() if v.dtype.kind == "f"
                and k not in ("height", "position_gap")]
        raise InputError(
            f"no {quantity!r} in the samples (quantities there: {', '.join(have) or 'none'})"
        )
    v = np.asarray(samples[quantity].values, dtype=float)
    ok = np.isfinite(v)
    if "flag" in samples:
        ok &= np.asarray(samples["flag"].values) == 0
    lat = np.asarray(samples["lat"].values, dtype=float)[ok]
    lon = np.asarray(samples["lon"].values, dtype=float)[ok]
    alt = np.asarray(samples["altitude"].values, float)[ok] if "altitude" in samples else None
    height = np.asarray(samples["height"].values, float)[ok] if "height" in samples else None
    x, y, _ = spec.frame.forward(lat, lon)
    z = spec.vertical_coordinate(alt, height)
    good = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    index = np.flatnonzero(ok)[good]
    return (x[good], y[good], z[good]), v[index], index


def sample_coordinates(
    samples: xr.Dataset, quantity: str, spec: GridSpec
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """Local ``(x, y, z)``, values and times of the usable samples of one quantity.

    Usable: paired (``flag == 0`` where there is a flag), finite value and position.
    """
    coords, values, index = _usable(samples, quantity, spec)
    times = (np.asarray(samples["time"].values)[index] if "time" in samples.coords
             or "time" in samples else np.array([], dtype="datetime64[ns]"))
    return coords, values, times


def sample_tracks(samples: xr.Dataset, quantity: str,
                  spec: GridSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """Track key and sort time of each usable sample (same order as :func:`sample_coordinates`).

    One track is one vehicle (``sysid``) in one boot (``boot``): the samples of a track
    follow one flight path, so blocked cross-validation cuts its blocks along each track
    separately even when several vehicles are interleaved in one samples set. The second
    array orders the samples within a track (vehicle time ``time_boot_ms``, else UTC
    ``time``; ``None`` when neither is there: dataset order).
    """
    _, _, index = _usable(samples, quantity, spec)
    return _tracks(samples, index)


def _tracks(samples: xr.Dataset, index: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    key = np.zeros(index.size, dtype=np.int64)
    for name, scale in (("sysid", 1 << 20), ("boot", 1)):
        if name in samples:
            vals = np.asarray(samples[name].values)[index]
            vals = np.where(np.isfinite(vals.astype(float)), vals, -1).astype(np.int64)
            key += vals * scale
    order = None
    for name in ("time_boot_ms", "time"):
        if name in samples.variables:
            t = np.asarray(samples[name].values)[index]
            if t.dtype.kind == "M":
                ok = ~np.isnat(t)
                t = t.astype("datetime64[ns]").astype(np.int64).astype(float)
            else:
                t = t.astype(float)
                ok = np.isfinite(t)
            if ok.all():
                order = t
                break
    return key, order


def usable_samples(samples: xr.Dataset, quantity: str, spec: GridSpec):
    """``(spec, coords, values, times)`` of the usable samples of one quantity.

    The spec's region is fitted to the samples when it has none; a quantity without
    positioned samples, or a region that misses them all, is one clear error.
    """
    coords, values, times = sample_coordinates(samples, quantity, spec)
    if values.size == 0:
        raise NoUsableDataError(f"no paired {quantity} samples with a position")
    if spec.region is None:
        spec = spec.fit(*coords)
    check_inside(spec, coords, quantity)
    return spec, coords, values, times


def usable_tracks(samples: xr.Dataset, quantity: str, spec: GridSpec):
    """:func:`usable_samples` and :func:`sample_tracks` in one pass over the samples:
    ``(spec, coords, values, times, tracks, order)``."""
    coords, values, index = _usable(samples, quantity, spec)
    if values.size == 0:
        raise NoUsableDataError(f"no paired {quantity} samples with a position")
    times = (np.asarray(samples["time"].values)[index] if "time" in samples.coords
             or "time" in samples else np.array([], dtype="datetime64[ns]"))
    if spec.region is None:
        spec = spec.fit(*coords)
    check_inside(spec, coords, quantity)
    return (spec, coords, values, times, *_tracks(samples, index))


def check_inside(spec: GridSpec, coordinates: Sequence[ArrayLike], quantity: str) -> int:
    """Number of samples inside the grid region; refuses a region that misses them all.

    Parameters
    ----------
    spec
        The grid, with a region.
    coordinates
        ``(x, y, z)`` of the usable samples in the spec's frame.
    quantity
        Quantity key, for the message.

    Returns
    -------
    int
        How many of the samples lie inside the region.

    Raises
    ------
    NoUsableDataError
        None of the samples lies inside (an all-empty grid would be written otherwise).
    """
    inside = int((spec.locate(*coordinates) >= 0).sum())
    if inside == 0:
        x, y, z = (np.asarray(c, dtype=float) for c in coordinates)
        extent = ",".join(f"{v:.0f}" for c in (x, y, z) for v in (c.min(), c.max()))
        region = ",".join(f"{r:g}" for r in spec.region)
        raise NoUsableDataError(
            f"none of the {x.size} {quantity} samples lies inside the grid region {region} "
            f"(the samples span {extent} in W,E,S,N,BOTTOM,TOP local metres, "
            f"vertical {spec.vertical})")
    return inside


def quantity_for(samples: xr.Dataset, key: str) -> Quantity:
    """The :class:`~dronesense.quantities.Quantity` of ``key``, with the samples' units.

    A key the quantity table does not know is described by its variable's attributes.

    Examples
    --------
    >>> quantity_for(xr.Dataset(), "ch4").units
    '1e-6'
    """
    var = samples.get(key)
    try:
        q = get_quantity(key)
    except InputError:
        if var is None:
            raise
        attrs = var.attrs
        q = Quantity(key, attrs.get("long_name", key), attrs.get("units", "1"),
                     attrs.get("units", "1"), attrs.get("standard_name"))
    if var is not None and var.attrs.get("units") and var.attrs["units"] != q.units:
        q = replace(q, units=var.attrs["units"],
                    display_units=display_units(var.attrs["units"], key))
    return q
