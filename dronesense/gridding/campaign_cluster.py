"""A campaign on a dask.distributed cluster: flights read and reduced on the workers.

Flights are cut into batches of a power-of-two size, aligned on the input order; one task
reads a batch, reduces its flights in the tree :func:`~dronesense.gridding.partials.
tree_reduce` uses and returns a :class:`~dronesense.gridding.partials.CompactPartial` (only
the voxels the batch touched). Aligned power-of-two batches are exactly the subtrees of the
single-process tree, and the batch partials are added on the workers in the rest of that
tree, so the cluster gives the single-process grid bit for bit, whatever the batch size, the
number of workers and the order in which they finish.

When the grid's region is still to be fitted to the flights, each flight is read once: the
workers keep each batch's samples, send back only its extent, and grid the kept samples once
the driver has fitted the region.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.gridding.partials import (
    CompactPartial,
    FlightSamples,
    check_campaign,
    flight_samples,
    partial_dataset,
    tree_reduce,
)
from dronesense.gridding.spec import GridSpec

__all__ = ["campaign_grid_dask", "flights_per_task"]

Source = str | Path | xr.Dataset

#: Most flights one task reads.
MAX_FLIGHTS_PER_TASK = 64


def flights_per_task(flights: int, workers: int) -> int:
    """Batch size: a power of two giving each worker about four tasks (at most
    :data:`MAX_FLIGHTS_PER_TASK` flights each), so the per-task overhead stays small and the
    work is still shared evenly.

    Examples
    --------
    >>> flights_per_task(100, 2), flights_per_task(100, 1), flights_per_task(5, 2)
    (8, 16, 1)
    """
    target = max(1, flights // (4 * max(1, workers)))
    return min(1 << (target.bit_length() - 1), MAX_FLIGHTS_PER_TASK)


def _read_batch(sources: Sequence[Source], quantity: str, spec_json: str) -> list[FlightSamples]:
    spec = GridSpec.from_json(spec_json)
    return [flight_samples(s, quantity, spec) for s in sources]


def _batch_bounds(batch: list[FlightSamples]) -> tuple[np.ndarray, np.ndarray] | None:
    found = [b for b in (f.bounds() for f in batch) if b is not None]
    if not found:
        return None
    return (np.min([lo for lo, _ in found], axis=0), np.max([hi for _, hi in found], axis=0))


def _batch_partial(batch: list[FlightSamples], spec_json: str, shift: float) -> CompactPartial:
    spec = GridSpec.from_json(spec_json)
    total = tree_reduce((f.partial(spec, shift) for f in batch), _add)
    return CompactPartial.of(total)


def _read_batch_partial(sources: Sequence[Source], quantity: str, spec_json: str,
                        shift: float) -> CompactPartial:
    return _batch_partial(_read_batch(sources, quantity, spec_json), spec_json, shift)


def _add(a, b):
    return a + b


def campaign_grid_dask(sources: Sequence[Source], quantity: str, spec: GridSpec, *,
                       client: Any = None, shift: float = 0.0, command: str | None = None,
                       batch: int | None = None) -> xr.Dataset:
    """As :func:`~dronesense.gridding.campaign.campaign_grid`, on a dask.distributed cluster.

    Parameters
    ----------
    sources
        Session directories, samples files (paths the workers can read) or samples Datasets.
    quantity
        Quantity key.
    spec
        The shared grid. Without a region, the region is fitted to all flights on the
        workers (as :func:`~dronesense.gridding.campaign.campaign_extent` does), each flight
        read once.
    client
        A ``distributed.Client``; default the current client.
    shift
        Subtracted from the values before summing squares.
    command
        The command line, for ``history``.
    batch
        Flights per task, a power of two; default :func:`flights_per_task`.

    Returns
    -------
    xarray.Dataset
        The grid :func:`~dronesense.gridding.campaign.campaign_grid` gives, bit for bit.
    """
    try:
        from distributed import default_client
    except ImportError:
        raise InputError("campaign on a cluster needs dask.distributed "
                         "(pip install 'dronesense[campaign]')") from None
    check_campaign(spec, shift, region=False)
    sources = list(sources)
    client = client or default_client()
    if batch is None:
        batch = flights_per_task(len(sources), sum(client.nthreads().values()))
    if batch < 1 or batch & (batch - 1):
        raise ParameterError("batch", f"must be a power of two (1, 2, 4...), got {batch}")
    batches = [sources[i:i + batch] for i in range(0, len(sources), batch)]
    if spec.region is None:
        frame = spec.to_json()
        held = [client.submit(_read_batch, b, quantity, frame, pure=False) for b in batches]
        extents = [e for e in client.gather(
            [client.submit(_batch_bounds, h, pure=False) for h in held]) if e is not None]
        if not extents:
            raise NoUsableDataError(f"no paired {quantity} samples with a position in any "
                                    "flight")
        lo = np.min([e[0] for e in extents], axis=0)
        hi = np.max([e[1] for e in extents], axis=0)
        spec = spec.fit(*zip(lo, hi, strict=True))
        text = spec.to_json()
        leaves = [client.submit(_batch_partial, h, text, shift, pure=False) for h in held]
        del held
    else:
        text = spec.to_json()
        leaves = [client.submit(_read_batch_partial, b, quantity, text, shift, pure=False)
                  for b in batches]
    total = tree_reduce(leaves, lambda a, b: client.submit(_add, a, b, pure=False))
    return partial_dataset(total.result().expand(spec), quantity, "dask", command)
