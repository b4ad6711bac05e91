"""Many flights onto one grid: per-flight partial sums, reduced associatively.

Each flight (session directory, samples ``.csv`` or ``.nc``, or a samples Dataset) is
reduced on the shared :class:`~dronesense.gridding.spec.GridSpec` to :class:`PartialSums` —
per-voxel count, sum, sum of squares, min and max, plus time coverage — and partials are added up.
Only one flight is in memory at a time (:func:`campaign_grid`), or the flights are spread
over a dask.distributed cluster (:func:`campaign_grid_dask`).

Both paths add the partials in the same fixed binary tree over the input order
(:func:`tree_reduce`), so the cluster result is bit-for-bit the single-process result,
whatever the number of workers and the order in which they finish.

:func:`campaign` does all of it from parameters: the shared grid definition
(:func:`campaign_spec`), the shift (:func:`typical_value`) and the reduction, streaming or on
a cluster.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec, default_origin, make_spec
>>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
>>> a = PartialSums.from_samples(spec, ([0.5], [0.5], [0.5]), [1.0])
>>> b = PartialSums.from_samples(spec, ([0.5, 1.5], [0.5] * 2, [0.5] * 2), [3.0, 5.0])
>>> stats = (a + b).statistics()
>>> stats["mean"].ravel().tolist(), stats["count"].ravel().tolist()
([2.0, 5.0], [2, 1])
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.gridding.campaign_cluster import campaign_grid_dask
from dronesense.gridding.partials import (
    PartialSums,
    check_campaign,
    flight_partial,
    flight_samples,
    partial_dataset,
    tree_reduce,
)
from dronesense.gridding.spec import GridSpec, default_origin, make_spec

__all__ = ["PartialSums", "campaign", "campaign_extent", "campaign_grid", "campaign_grid_dask",
           "campaign_spec", "flight_partial", "tree_reduce", "typical_value"]


def campaign_extent(sources: Iterable[str | Path | xr.Dataset], quantity: str,
                    spec: GridSpec, pad: int = 0) -> GridSpec:
    """``spec`` with a region covering the usable samples of every flight (streaming).

    One flight is read at a time; only its bounds are kept. Flights without the quantity are
    skipped.
    """
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for src in sources:
        bounds = flight_samples(src, quantity, spec).bounds()
        if bounds is not None:
            lo = np.minimum(lo, bounds[0])
            hi = np.maximum(hi, bounds[1])
    if not np.isfinite(lo).all():
        raise NoUsableDataError(f"no paired {quantity} samples with a position in any flight")
    return spec.fit(*zip(lo, hi, strict=True), pad=pad)


def campaign_grid(sources: Iterable[str | Path | xr.Dataset], quantity: str, spec: GridSpec,
                  *, shift: float = 0.0, command: str | None = None) -> xr.Dataset:
    """Grid many flights onto one spec, streaming one flight at a time.

    Parameters
    ----------
    sources
        Session directories, samples ``.csv``/``.nc`` files or samples Datasets.
    quantity
        Quantity key.
    spec
        The shared grid; it must have a region.
    shift
        Subtracted from the values before summing squares (a typical value of the quantity
        keeps the variance precise).
    command
        The command line, for ``history`` (every input is listed there too).
    """
    check_campaign(spec, shift)
    text = spec.to_json()
    partials = (flight_partial(s, quantity, text, shift) for s in sources)
    return partial_dataset(tree_reduce(partials, operator.add), quantity, "streaming", command)


Source = str | Path | xr.Dataset


def _load(source: Source) -> xr.Dataset:
    from dronesense.samples.files import load_dataset

    return source if isinstance(source, xr.Dataset) else load_dataset(source)


def campaign_spec(sources: Sequence[Source], quantity: str, *,
                  spec: GridSpec | str | Path | None = None,
                  spacing: float | Sequence[float] | None = None,
                  origin: Sequence[float] | None = None,
                  region: Sequence[float] | None = None, vertical: str | None = None,
                  terrain: float | None = None, extent: bool = True) -> GridSpec:
    """The grid definition shared by all flights, with a region.

    Parameters
    ----------
    sources
        The flights (paths or samples Datasets).
    quantity
        Quantity key.
    spec
        The shared definition (a :class:`GridSpec` or the path of a saved spec or grid); the
        other parameters, where given, replace its parts. Without it, ``spacing`` defines
        the grid.
    spacing, origin, region, vertical, terrain
        As :func:`~dronesense.gridding.spec.make_spec`; the default origin is the home point
        of the first flight.
    extent
        Fit a missing region to every flight's samples (:func:`campaign_extent`, one
        streaming pass); ``False`` leaves it missing (a cluster fits it on its workers).

    Returns
    -------
    GridSpec
        The definition.
    """
    if spec is None:
        if spacing is None:
            raise ParameterError("spec", "give the grid definition the flights share "
                                 "(or a spacing to define one)")
        if origin is None:
            origin = default_origin(_load(sources[0]))
    spec = make_spec(spec=spec, spacing=spacing, origin=origin, region=region,
                     vertical=vertical, terrain=terrain)
    if spec.region is None and extent:
        spec = campaign_extent(sources, quantity, spec)
    return spec


def typical_value(sources: Iterable[Source], quantity: str) -> float:
    """Median of the quantity in the first flight that has it, to 4 significant digits (0
    when none has it): the default ``shift`` of a campaign."""
    for src in sources:
        samples = _load(src)
        if quantity in samples:
            v = np.asarray(samples[quantity].values, dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                return float(f"{np.median(v):.4g}")
    return 0.0


def campaign(sources: Sequence[Source], quantity: str, *,
             spec: GridSpec | str | Path | None = None,
             spacing: float | Sequence[float] | None = None,
             origin: Sequence[float] | None = None, region: Sequence[float] | None = None,
             vertical: str | None = None, terrain: float | None = None,
             shift: float | None = None, dask: str | None = None, workers: int | None = None,
             command: str | None = None) -> xr.Dataset:
    """Grid many flights onto one grid definition: the campaign product in one call.

    Parameters
    ----------
    sources
        Session directories, samples ``.csv``/``.nc`` files or samples Datasets.
    quantity
        Quantity key.
    spec, spacing, origin, region, vertical, terrain
        The shared grid (:func:`campaign_spec`).
    shift
        Subtracted before summing squares; default :func:`typical_value`.
    dask
        ``None``: stream one flight at a time (:func:`campaign_grid`); ``"local"``: a
        dask LocalCluster of ``workers`` processes on this machine; or a scheduler address
        (``tcp://host:8786``) whose workers see the input paths (:func:`campaign_grid_dask`:
        the workers read every flight once, fit a missing region and reduce in batches).
    command
        The command line, for ``history``.

    Returns
    -------
    xarray.Dataset
        The CF block-statistics grid, every input listed in ``history`` and
        ``campaign_inputs``.
    """
    sources = list(sources)
    if not sources:
        raise NoUsableDataError("no flights to grid")
    for src in sources:
        if not isinstance(src, xr.Dataset) and not Path(src).exists():
            raise InputError("no such file or directory", path=src)
    # the first flight gives the default origin and shift: read it once for both
    read = list(sources)
    if (spec is None and origin is None) or shift is None:
        read[0] = _load(read[0])
    spec = campaign_spec(read if dask is None else read[:1], quantity, spec=spec,
                         spacing=spacing, origin=origin, region=region, vertical=vertical,
                         terrain=terrain, extent=dask is None)
    shift = typical_value(read, quantity) if shift is None else float(shift)
    del read
    if dask is None:
        return campaign_grid(sources, quantity, spec, shift=shift, command=command)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("a campaign on a dask cluster needs dask.distributed "
                         "(pip install 'dronesense[campaign]')") from None
    if dask == "local":
        import dask as dask_config

        # the workers' statistical profiler samples every thread's stack each 10 ms: on busy
        # cores it costs more than the reading it watches (a third of the time per flight)
        with dask_config.config.set({"distributed.worker.profile.enabled": False}), \
                LocalCluster(n_workers=workers, threads_per_worker=1,
                             dashboard_address=None) as cluster, Client(cluster) as client:
            return campaign_grid_dask(sources, quantity, spec, client=client, shift=shift,
                                      command=command)
    try:
        client = Client(dask, timeout="20s")
    except OSError as err:
        raise ParameterError("dask", f"cannot reach scheduler {dask}: {err}") from None
    with client:
        return campaign_grid_dask(sources, quantity, spec, client=client, shift=shift,
                                  command=command)
