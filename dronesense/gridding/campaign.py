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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.coordinates import quantity_for, sample_coordinates
from dronesense.gridding.dataset import grid_dataset, statistic_variables
from dronesense.gridding.spec import GridSpec, default_origin, make_spec

__all__ = ["PartialSums", "campaign", "campaign_extent", "campaign_grid", "campaign_grid_dask",
           "campaign_spec", "flight_partial", "tree_reduce", "typical_value"]

T = TypeVar("T")
_NAT = np.iinfo(np.int64).min


@dataclass
class PartialSums:
    """Per-voxel sums of one or more flights on one grid (flat arrays of ``spec.size``).

    ``a + b`` combines two partials (associative and commutative up to floating-point
    rounding of the sums; count, min and max are exact).
    """

    spec: GridSpec
    count: np.ndarray
    total: np.ndarray
    sumsq: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    shift: float = 0.0
    n_samples: int = 0
    time_min: int = _NAT  # ns since epoch, NaT if unknown
    time_max: int = _NAT
    inputs: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, spec: GridSpec, shift: float = 0.0) -> PartialSums:
        """No data yet."""
        n = spec.size
        return cls(spec, np.zeros(n, np.int64), np.zeros(n), np.zeros(n), np.full(n, np.nan),
                   np.full(n, np.nan), shift)

    @classmethod
    def from_samples(cls, spec: GridSpec, coordinates: Sequence[ArrayLike], values: ArrayLike,
                     *, shift: float = 0.0, times: ArrayLike | None = None,
                     name: str = "") -> PartialSums:
        """Partial sums of one flight's samples (``values - shift`` are summed)."""
        v = np.asarray(values, dtype=float) - shift
        s = block_statistics(spec, coordinates, v, ["count", "sum", "std", "min", "max"])
        count = s["count"].ravel().astype(np.int64)
        total = s["sum"].ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, 0.0)
        sumsq = np.where(count > 0, count * (np.nan_to_num(s["std"].ravel()) ** 2 + mean**2),
                         0.0)
        out = cls(spec, count, total, sumsq, s["min"].ravel() + shift,
                  s["max"].ravel() + shift, shift, int(count.sum()))
        if times is not None:
            t = np.asarray(times, dtype="datetime64[ns]")
            t = t[~np.isnat(t)]
            if t.size:
                out.time_min = int(t.min().astype(np.int64))
                out.time_max = int(t.max().astype(np.int64))
        out.inputs = [name] if name else []
        return out

    def __add__(self, other: PartialSums) -> PartialSums:
        if other.spec != self.spec:
            raise InputError("cannot add partial sums of different grid specs")
        if other.shift != self.shift:
            raise InputError("cannot add partial sums with different shifts")
        times_min = [t for t in (self.time_min, other.time_min) if t != _NAT]
        times_max = [t for t in (self.time_max, other.time_max) if t != _NAT]
        return PartialSums(
            self.spec,
            self.count + other.count,
            self.total + other.total,
            self.sumsq + other.sumsq,
            np.fmin(self.vmin, other.vmin),
            np.fmax(self.vmax, other.vmax),
            self.shift,
            self.n_samples + other.n_samples,
            min(times_min) if times_min else _NAT,
            max(times_max) if times_max else _NAT,
            self.inputs + other.inputs,
        )

    def statistics(self) -> dict[str, np.ndarray]:
        """count, mean, std (population), min, max per voxel, shaped ``spec.shape``."""
        shape = self.spec.shape
        c = self.count
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(c > 0, self.total / c, np.nan)
            var = np.where(c > 0, self.sumsq / c - mean**2, np.nan)
        return {
            "mean": (mean + self.shift).reshape(shape),
            "count": c.reshape(shape),
            "std": np.sqrt(np.maximum(var, 0.0)).reshape(shape),
            "min": self.vmin.reshape(shape),
            "max": self.vmax.reshape(shape),
        }

    def times(self) -> np.ndarray | None:
        """``[start, end]`` as datetime64, or ``None``."""
        if self.time_min == _NAT:
            return None
        return np.array([self.time_min, self.time_max], dtype="datetime64[ns]")


def tree_reduce(items: Iterable[T], combine: Callable[[T, T], T]) -> T:
    """Reduce in a binary tree fixed by the input order alone (streaming, O(log n) held).

    Pairs are combined as a binary counter does: two results of the same height merge as soon
    as both exist; at the end the leftovers merge from the right. The same sequence always
    gives the same tree, so floating-point sums are reproducible.
    """
    stack: list[tuple[int, T]] = []
    for item in items:
        height, value = 0, item
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            value = combine(left, value)
            height += 1
        stack.append((height, value))
    if not stack:
        raise NoUsableDataError("no flights to reduce")
    _, value = stack.pop()
    while stack:
        _, left = stack.pop()
        value = combine(left, value)
    return value


def _add(a: PartialSums, b: PartialSums) -> PartialSums:
    return a + b


def flight_partial(source: str | Path | xr.Dataset, quantity: str, spec_json: str,
                   shift: float = 0.0) -> PartialSums:
    """Partial sums of one flight (a path or a samples Dataset) on the spec given as JSON.

    Module-level and picklable, so dask workers in other processes can run it. A flight
    without usable samples of the quantity gives empty sums.
    """
    from dronesense.samples.files import load_dataset

    spec = GridSpec.from_json(spec_json)
    samples = source if isinstance(source, xr.Dataset) else load_dataset(source)
    name = str(source) if not isinstance(source, xr.Dataset) else samples.attrs.get(
        "source", "dataset")
    if quantity not in samples:
        out = PartialSums.empty(spec, shift)
        out.inputs = [name]
        return out
    coords, values, times = sample_coordinates(samples, quantity, spec)
    return PartialSums.from_samples(spec, coords, values, shift=shift, times=times, name=name)


def _finish(total: PartialSums, quantity: str, how: str, command: str | None = None) -> xr.Dataset:
    spec = total.spec
    if total.n_samples == 0:
        raise NoUsableDataError(f"no {quantity} samples inside the grid in any flight")
    stats = total.statistics()
    qty = quantity_for(xr.Dataset(), quantity)
    made_by = f"CampaignReduce(statistics=('mean', 'count', 'std', 'min', 'max'), " \
              f"shift={total.shift!r})"
    names = total.inputs
    params = (f"quantity={quantity} spacing={','.join(f'{s:g}' for s in spec.spacing)} "
              f"vertical={spec.vertical} method={made_by}")
    # every input is listed: the product must say exactly which flights made it
    history = f"{command or 'dronesense campaign'} ({how}, {len(names)} flights: " \
              f"{' '.join(names)}) {params}"
    ds = grid_dataset(
        spec, statistic_variables(stats, qty, spec), made_by=made_by,
        history=history, times=total.times(), title=f"dronesense campaign grid of {qty.long_name}",
        summary=_summary(spec, qty.long_name, len(names), total.n_samples),
        extra_attrs={"number_of_flights": len(names), "number_of_samples": total.n_samples,
                     "campaign_inputs": "\n".join(names)},
    )
    return ds


def _summary(spec: GridSpec, long_name: str, flights: int, samples: int) -> str:
    nz, ny, nx = spec.shape
    lat, lon, _ = spec.origin
    return (f"Block statistics (mean, standard deviation, minimum, maximum, count) of "
            f"{long_name} from {samples} readings of {flights} unmanned-aircraft flights, on "
            f"one {nx} x {ny} x {nz} grid of "
            f"{' m x '.join(f'{d:g}' for d in spec.spacing)} m voxels around {lat:.6f}, "
            f"{lon:.6f} (metres east, north and up, {spec.vertical} reference).")


def campaign_extent(sources: Iterable[str | Path | xr.Dataset], quantity: str,
                    spec: GridSpec, pad: int = 0) -> GridSpec:
    """``spec`` with a region covering the usable samples of every flight (streaming).

    One flight is read at a time; only its bounds are kept. Flights without the quantity are
    skipped.
    """
    from dronesense.samples.files import load_dataset

    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for src in sources:
        samples = src if isinstance(src, xr.Dataset) else load_dataset(src)
        if quantity not in samples:
            continue
        coords, _, _ = sample_coordinates(samples, quantity, spec)
        if coords[0].size == 0:
            continue
        for i, c in enumerate(coords):
            lo[i] = min(lo[i], float(c.min()))
            hi[i] = max(hi[i], float(c.max()))
    if not np.isfinite(lo).all():
        raise NoUsableDataError(f"no paired {quantity} samples with a position in any flight")
    return spec.fit(*zip(lo, hi, strict=True), pad=pad)


def _check_campaign(spec: GridSpec, shift: float) -> None:
    if spec.region is None:
        raise InputError("a campaign grid needs a spec with a region (the same for all flights)")
    if not np.isfinite(shift):
        raise ParameterError("shift", f"must be a finite number (a typical value of the "
                             f"quantity), got {shift}")


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
    _check_campaign(spec, shift)
    text = spec.to_json()
    partials = (flight_partial(s, quantity, text, shift) for s in sources)
    return _finish(tree_reduce(partials, _add), quantity, "streaming", command)


def campaign_grid_dask(sources: Sequence[str | Path | xr.Dataset], quantity: str,
                       spec: GridSpec, *, client: Any = None,
                       shift: float = 0.0, command: str | None = None) -> xr.Dataset:
    """As :func:`campaign_grid`, with one task per flight on a dask.distributed cluster.

    Flights are reduced on the workers in the same tree as :func:`tree_reduce`, so the result
    equals :func:`campaign_grid` exactly. ``client`` defaults to the current client.
    """
    try:
        from distributed import default_client
    except ImportError:
        raise InputError("campaign on a cluster needs dask.distributed "
                         "(pip install 'dronesense[campaign]')") from None
    _check_campaign(spec, shift)
    client = client or default_client()
    text = spec.to_json()
    futures = [client.submit(flight_partial, s, quantity, text, shift, pure=False)
               for s in sources]
    total = tree_reduce(futures, lambda a, b: client.submit(_add, a, b, pure=False))
    return _finish(total.result(), quantity, "dask", command)


Source = str | Path | xr.Dataset


def _load(source: Source) -> xr.Dataset:
    from dronesense.samples.files import load_dataset

    return source if isinstance(source, xr.Dataset) else load_dataset(source)


def campaign_spec(sources: Sequence[Source], quantity: str, *,
                  spec: GridSpec | str | Path | None = None,
                  spacing: float | Sequence[float] | None = None,
                  origin: Sequence[float] | None = None,
                  region: Sequence[float] | None = None, vertical: str | None = None,
                  terrain: float | None = None) -> GridSpec:
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

    Returns
    -------
    GridSpec
        The definition; a missing region is fitted to every flight's samples
        (:func:`campaign_extent`, one streaming pass).
    """
    if spec is None:
        if spacing is None:
            raise ParameterError("spec", "give the grid definition the flights share "
                                 "(or a spacing to define one)")
        if origin is None:
            origin = default_origin(_load(sources[0]))
    spec = make_spec(spec=spec, spacing=spacing, origin=origin, region=region,
                     vertical=vertical, terrain=terrain)
    if spec.region is None:
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
        (``tcp://host:8786``) whose workers see the input paths (:func:`campaign_grid_dask`).
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
    spec = campaign_spec(sources, quantity, spec=spec, spacing=spacing, origin=origin,
                         region=region, vertical=vertical, terrain=terrain)
    shift = typical_value(sources, quantity) if shift is None else float(shift)
    if dask is None:
        return campaign_grid(sources, quantity, spec, shift=shift, command=command)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("a campaign on a dask cluster needs dask.distributed "
                         "(pip install 'dronesense[campaign]')") from None
    if dask == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1,
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
