"""Gridding a samples Dataset: one call from samples to a CF grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import xarray as xr

from dronesense.errors import InputError
from dronesense.gridding.coordinates import quantity_for, sample_tracks, usable_samples
from dronesense.gridding.spec import GridSpec, default_origin


def grid_samples(
    samples: xr.Dataset,
    quantity: str,
    spec: GridSpec | None = None,
    *,
    spacing: Sequence[float] | None = None,
    method: Any = None,
    statistics: Iterable[str] = ("mean", "count", "std", "min", "max"),
    inputs: Sequence[str] = (),
    cross_validate: bool = False,
) -> xr.Dataset:
    """Grid one quantity of a samples Dataset.

    Parameters
    ----------
    samples
        The samples Dataset (``obs`` dimension, see ``docs/architecture.md``).
    quantity
        Quantity key (``ch4``, ``pm2p5``...).
    spec
        Grid definition. Without a region, the region is fitted to the data; without a spec,
        ``spacing`` is required and the origin is the home point guessed from the samples.
    method
        ``None`` or ``"block"`` for block statistics, or a gridder object from
        :mod:`dronesense.gridding.methods.base` (its ``repr`` goes to ``made_by``).
    statistics
        Block statistics to include (block method).
    inputs
        Names of the input files, for ``history``.
    cross_validate
        Store blocked cross-validation RMSE and bias in the attributes.

    Returns
    -------
    xarray.Dataset
        CF grid; the estimate variable is named after the quantity.
    """
    from dronesense.gridding import methods as interpolate

    qty = quantity_for(samples, quantity)
    if spec is None:
        if spacing is None:
            raise InputError("need a grid spec or a spacing")
        spec = GridSpec(tuple(spacing), default_origin(samples))
    spec, coords, values, times = usable_samples(samples, quantity, spec)
    if method is None or method == "block":
        method = interpolate.BlockReduce()
    if isinstance(method, str):
        method = interpolate.make_method(method)
    if isinstance(method, interpolate.BlockReduce):
        method = interpolate.BlockReduce(
            statistic=method.statistic,
            statistics=tuple(dict.fromkeys([method.statistic, *statistics])),
        )
    method = method.fit(coords, values, spec=spec)
    params = f"quantity={quantity} spacing={','.join(f'{s:g}' for s in spec.spacing)} " \
        f"vertical={spec.vertical} method={method!r}"
    history = f"dronesense grid {' '.join(map(str, inputs))} {params}".replace("  ", " ")
    ds = method.grid(spec, quantity=qty, history=history, times=times)
    ds.attrs["number_of_samples"] = int(values.size)
    if cross_validate:
        from dronesense.gridding.validation import cross_validate as _cv

        tracks, order = sample_tracks(samples, quantity, spec)
        _cv(method, coords, values, spec=spec, tracks=tracks, order=order).store(ds, qty.key)
    return ds
