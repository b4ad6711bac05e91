"""Per-voxel partial sums of flights on one grid, and their fixed-order reduction.

A flight (a samples Dataset or file) becomes :class:`PartialSums` on a shared
:class:`~dronesense.gridding.spec.GridSpec`: per-voxel count, sum, sum of squares, min and
max, plus time coverage. Partials add associatively; :func:`tree_reduce` adds them in a
binary tree fixed by the input order alone, so any way of computing the leaves (one process,
a cluster, batches of flights) gives the same floating-point sums. :class:`CompactPartial`
holds only the voxels a flight touched: what cluster tasks ship. :func:`partial_dataset`
turns the total into the CF block-statistics grid.

Examples
--------
>>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
>>> a = PartialSums.from_samples(spec, ([0.5], [0.5], [0.5]), [1.0])
>>> b = PartialSums.from_samples(spec, ([0.5, 1.5], [0.5] * 2, [0.5] * 2), [3.0, 5.0])
>>> stats = (a + b).statistics()
>>> stats["mean"].ravel().tolist(), stats["count"].ravel().tolist()
([2.0, 5.0], [2, 1])
>>> c = (CompactPartial.of(a) + CompactPartial.of(b)).expand(spec)
>>> c.statistics()["mean"].ravel().tolist()
[2.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.coordinates import quantity_for, sample_coordinates
from dronesense.gridding.dataset import grid_dataset, statistic_variables
from dronesense.gridding.spec import GridSpec

__all__ = ["NAT", "CompactPartial", "FlightSamples", "PartialSums", "check_campaign",
           "flight_partial", "flight_samples", "partial_dataset", "tree_reduce"]

T = TypeVar("T")
#: "no time" in the ns-since-epoch time fields.
NAT = np.iinfo(np.int64).min


def _time_range(a_min: int, a_max: int, b_min: int, b_max: int) -> tuple[int, int]:
    lows = [t for t in (a_min, b_min) if t != NAT]
    highs = [t for t in (a_max, b_max) if t != NAT]
    return (min(lows) if lows else NAT), (max(highs) if highs else NAT)


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
    time_min: int = NAT  # ns since epoch, NaT if unknown
    time_max: int = NAT
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
        times_min = [t for t in (self.time_min, other.time_min) if t != NAT]
        times_max = [t for t in (self.time_max, other.time_max) if t != NAT]
        return PartialSums(
            self.spec,
            self.count + other.count,
            self.total + other.total,
            self.sumsq + other.sumsq,
            np.fmin(self.vmin, other.vmin),
            np.fmax(self.vmax, other.vmax),
            self.shift,
            self.n_samples + other.n_samples,
            min(times_min) if times_min else NAT,
            max(times_max) if times_max else NAT,
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
        if self.time_min == NAT:
            return None
        return np.array([self.time_min, self.time_max], dtype="datetime64[ns]")


@dataclass
class CompactPartial:
    """:class:`PartialSums` of the touched voxels only (``index`` into the flat grid,
    ascending): what a cluster task returns for its flights.

    ``a + b`` gives exactly (bit for bit) the compact form of the dense sum, and
    :meth:`expand` the dense partial: a voxel one side lacks adds as the dense zero (count,
    sums) or NaN (min, max) would.
    """

    size: int
    spec_json: str
    index: np.ndarray
    count: np.ndarray
    total: np.ndarray
    sumsq: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    shift: float = 0.0
    n_samples: int = 0
    time_min: int = NAT
    time_max: int = NAT
    inputs: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, partial: PartialSums) -> CompactPartial:
        """The touched voxels of a dense partial."""
        index = np.flatnonzero(partial.count > 0)
        count = partial.count[index]
        dtype = np.int32 if count.size == 0 or count.max() < np.iinfo(np.int32).max else None
        return cls(partial.spec.size, partial.spec.to_json(), index,
                   count.astype(dtype or np.int64), partial.total[index],
                   partial.sumsq[index], partial.vmin[index], partial.vmax[index],
                   partial.shift, partial.n_samples, partial.time_min, partial.time_max,
                   list(partial.inputs))

    def __add__(self, other: CompactPartial) -> CompactPartial:
        if other.spec_json != self.spec_json:
            raise InputError("cannot add partial sums of different grid specs")
        if other.shift != self.shift:
            raise InputError("cannot add partial sums with different shifts")
        index = np.union1d(self.index, other.index)
        a = np.searchsorted(index, self.index)
        b = np.searchsorted(index, other.index)
        count = np.zeros(index.size, np.int64)
        count[a] = self.count
        count[b] += other.count
        out = []
        for left, right in ((self.total, other.total), (self.sumsq, other.sumsq)):
            arr = np.zeros(index.size)
            arr[a] = left
            arr[b] += right  # left + right where both hold the voxel, as the dense sum
            out.append(arr)
        lo = np.full(index.size, np.nan)
        hi = np.full(index.size, np.nan)
        lo[a], hi[a] = self.vmin, self.vmax
        lo[b] = np.fmin(lo[b], other.vmin)
        hi[b] = np.fmax(hi[b], other.vmax)
        small = count.size == 0 or count.max() < np.iinfo(np.int32).max
        tmin, tmax = _time_range(self.time_min, self.time_max, other.time_min, other.time_max)
        return CompactPartial(self.size, self.spec_json, index,
                              count.astype(np.int32) if small else count, out[0], out[1],
                              lo, hi, self.shift, self.n_samples + other.n_samples, tmin,
                              tmax, self.inputs + other.inputs)

    def expand(self, spec: GridSpec) -> PartialSums:
        """The dense :class:`PartialSums` on ``spec`` (the grid the partial was made on)."""
        if spec.size != self.size or spec.to_json() != self.spec_json:
            raise InputError("cannot expand partial sums onto a different grid spec")
        full = PartialSums.empty(spec, self.shift)
        full.count[self.index] = self.count
        full.total[self.index] = self.total
        full.sumsq[self.index] = self.sumsq
        full.vmin[self.index] = self.vmin
        full.vmax[self.index] = self.vmax
        full.n_samples = self.n_samples
        full.time_min, full.time_max = self.time_min, self.time_max
        full.inputs = list(self.inputs)
        return full


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


@dataclass
class FlightSamples:
    """The usable samples of one flight in the local frame of a grid: what a partial is
    made from (:meth:`partial`), and the extent a campaign's region is fitted to."""

    name: str
    coordinates: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    values: np.ndarray | None
    times: np.ndarray | None

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(low, high)`` of ``(x, y, z)``, or ``None`` without samples."""
        if self.coordinates is None or self.coordinates[0].size == 0:
            return None
        return (np.array([float(c.min()) for c in self.coordinates]),
                np.array([float(c.max()) for c in self.coordinates]))

    def partial(self, spec: GridSpec, shift: float = 0.0) -> PartialSums:
        """Partial sums on ``spec`` (same origin and vertical reference as the samples')."""
        if self.values is None:
            out = PartialSums.empty(spec, shift)
            out.inputs = [self.name]
            return out
        return PartialSums.from_samples(spec, self.coordinates, self.values, shift=shift,
                                        times=self.times, name=self.name)


def flight_samples(source: str | Path | xr.Dataset, quantity: str,
                   spec: GridSpec) -> FlightSamples:
    """Read one flight (a path or a samples Dataset) and keep its usable samples of the
    quantity in the frame of ``spec`` (its region is not needed); none when the flight
    lacks the quantity."""
    from dronesense.samples.files import load_dataset

    samples = source if isinstance(source, xr.Dataset) else load_dataset(source)
    name = str(source) if not isinstance(source, xr.Dataset) else samples.attrs.get(
        "source", "dataset")
    if quantity not in samples:
        return FlightSamples(name, None, None, None)
    coords, values, times = sample_coordinates(samples, quantity, spec)
    return FlightSamples(name, coords, values, times)


def flight_partial(source: str | Path | xr.Dataset, quantity: str, spec_json: str,
                   shift: float = 0.0) -> PartialSums:
    """Partial sums of one flight (a path or a samples Dataset) on the spec given as JSON.

    Module-level and picklable, so dask workers in other processes can run it. A flight
    without usable samples of the quantity gives empty sums.
    """
    spec = GridSpec.from_json(spec_json)
    return flight_samples(source, quantity, spec).partial(spec, shift)


def check_campaign(spec: GridSpec, shift: float, *, region: bool = True) -> None:
    """Refuse a spec without a region (unless ``region=False``) or a non-finite shift."""
    if region and spec.region is None:
        raise InputError("a campaign grid needs a spec with a region (the same for all flights)")
    if not np.isfinite(shift):
        raise ParameterError("shift", f"must be a finite number (a typical value of the "
                             f"quantity), got {shift}")


def partial_dataset(total: PartialSums, quantity: str, how: str,
                    command: str | None = None) -> xr.Dataset:
    """The CF block-statistics grid of the summed partials of a campaign's flights; ``how``
    (``streaming``, ``dask``) and ``command`` go to ``history``, every input is listed."""
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
