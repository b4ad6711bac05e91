"""Grid definitions, fast 3D block statistics and CF-complete grid Datasets.

A :class:`GridSpec` says where the voxels are: spacing, region, origin of the local frame and
the vertical reference. It serialises to JSON and to a Dataset attribute, so one definition is
reused across flights. :func:`block_statistics` reduces samples per voxel in one compiled
pass (numba, with a numpy fallback). :func:`grid_dataset` wraps arrays into a CF-1.11 /
ACDD-1.3 Dataset with dims ``(z, y, x)``, a ``crs`` grid mapping, 2-D lat/lon auxiliary
coordinates and provenance. :func:`grid_samples` does all of it from a samples Dataset.

Examples
--------
>>> spec = GridSpec(spacing=(10, 10, 5), origin=(52.0, 5.0, 3.0),
...                 region=(-50, 50, -50, 50, 0, 30))
>>> spec.shape
(6, 10, 10)
>>> import numpy as np
>>> stats = block_statistics(spec, ([1.0, 2.0], [1.0, 1.0], [1.0, 1.0]), [4.0, 6.0])
>>> float(stats["mean"][0, 5, 5]), int(stats["count"][0, 5, 5])
(5.0, 2)
>>> GridSpec.from_json(spec.to_json()) == spec
True
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense import __version__
from dronesense.errors import InputError, NoUsableDataError
from dronesense.geo import LocalFrame
from dronesense.quantities import Quantity, display_units, get_quantity

__all__ = [
    "STATISTICS",
    "VERTICAL_REFERENCES",
    "GridSpec",
    "block_statistics",
    "check_inside",
    "display_units",
    "grid_dataset",
    "grid_samples",
    "open_grid",
    "sample_coordinates",
    "sample_tracks",
    "write_grid",
]

#: Statistics :func:`block_statistics` knows.
STATISTICS = ("mean", "median", "count", "std", "min", "max", "sum")

#: Vertical references: key -> (standard_name, long_name of z).
VERTICAL_REFERENCES = {
    "height": ("height", "height above home (take-off point)"),
    "amsl": ("altitude", "altitude above mean sea level"),
    "agl": ("height", "height above ground (terrain height given)"),
}

_SPEC_ATTR = "dronesense_grid_spec"

#: Largest grid :class:`GridSpec` accepts (voxels): each float variable of a grid this size
#: takes 800 MB, so anything larger is a spacing typed wrong, not a grid to compute.
MAX_VOXELS = 100_000_000


@dataclass(frozen=True)
class GridSpec:
    """Where the voxels of a grid are.

    Parameters
    ----------
    spacing
        ``(dx, dy, dz)`` voxel size in metres.
    origin
        ``(lat, lon, alt)`` of the local frame: degrees and metres AMSL (normally the home
        point). ``x``/``y`` are metres east/north of it.
    region
        ``(west, east, south, north, bottom, top)``: the outer faces of the grid, metres in
        the local frame and in the vertical reference. ``None`` until fitted to data
        (:meth:`fit`), which snaps faces so voxel centres fall on multiples of the spacing.
        East/north/top are moved out so every extent is a whole number of voxels.
    vertical
        ``"height"`` (above home, from the samples' ``height``), ``"amsl"`` (altitude above
        mean sea level) or ``"agl"`` (above ground: altitude minus ``terrain``).
    terrain
        Ground altitude AMSL in metres, required with ``vertical="agl"``.

    Examples
    --------
    >>> spec = GridSpec((20, 20, 10), (52.0, 5.0, 0.0)).fit([-35, 41], [0, 99], [9, 31])
    >>> spec.region
    (-50.0, 50.0, -10.0, 110.0, 5.0, 35.0)
    >>> spec.x[:2], spec.z
    (array([-40., -20.]), array([10., 20., 30.]))
    """

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    region: tuple[float, float, float, float, float, float] | None = None
    vertical: str = "height"
    terrain: float | None = None
    _frame: LocalFrame | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        try:
            spacing = tuple(float(s) for s in self.spacing)
            origin = tuple(float(o) for o in self.origin)
        except (TypeError, ValueError):
            raise InputError("spacing and origin must be three numbers each") from None
        if len(spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing):
            raise InputError(f"spacing must be three positive numbers, got {self.spacing}")
        if len(origin) != 3:
            raise InputError(f"origin must be lat,lon,alt, got {self.origin}")
        if self.vertical not in VERTICAL_REFERENCES:
            known = ", ".join(VERTICAL_REFERENCES)
            raise InputError(f"vertical reference {self.vertical!r} unknown (known: {known})")
        terrain = None if self.terrain is None else float(self.terrain)
        if self.vertical == "agl" and terrain is None:
            raise InputError("vertical reference 'agl' needs a terrain height (--terrain)")
        region = self.region
        if region is not None:
            try:
                w, e, s, n, b, t = (float(r) for r in region)
            except (TypeError, ValueError):
                raise InputError(
                    f"region must be west,east,south,north,bottom,top; got {region}"
                ) from None
            if not (e > w and n > s and t > b):
                raise InputError(f"region {region} is empty (need west<east, south<north, ...)")
            dx, dy, dz = spacing
            nx, ny, nz = (max(1, math.ceil((hi - lo) / d - 1e-9))
                          for lo, hi, d in ((w, e, dx), (s, n, dy), (b, t, dz)))
            if nx * ny * nz > MAX_VOXELS:
                raise InputError(
                    f"grid of {nx} x {ny} x {nz} voxels is too large (more than {MAX_VOXELS:.0e}):"
                    f" spacing {','.join(f'{d:g}' for d in spacing)} m is too fine for region "
                    f"{','.join(f'{r:g}' for r in (w, e, s, n, b, t))}")
            region = (w, w + nx * dx, s, s + ny * dy, b, b + nz * dz)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "region", region)
        object.__setattr__(self, "terrain", terrain)
        object.__setattr__(self, "_frame", LocalFrame(*origin))

    # -- geometry -------------------------------------------------------------------------
    @property
    def frame(self) -> LocalFrame:
        """The local east/north/up frame around :attr:`origin`."""
        return self._frame

    def _need_region(self):
        if self.region is None:
            raise InputError("grid spec has no region yet: give --region or fit it to data")
        return self.region

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nz, ny, nx)``."""
        w, e, s, n, b, t = self._need_region()
        dx, dy, dz = self.spacing
        return (round((t - b) / dz), round((n - s) / dy), round((e - w) / dx))

    @property
    def size(self) -> int:
        """Number of voxels."""
        nz, ny, nx = self.shape
        return nz * ny * nx

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel faces ``(x_edges, y_edges, z_edges)``, as ``binned_statistic_dd`` takes."""
        w, _, s, _, b, _ = self._need_region()
        nz, ny, nx = self.shape
        dx, dy, dz = self.spacing
        return (w + dx * np.arange(nx + 1), s + dy * np.arange(ny + 1),
                b + dz * np.arange(nz + 1))

    @property
    def x(self) -> np.ndarray:
        """Voxel centres east of the origin (m)."""
        return self.edges()[0][:-1] + self.spacing[0] / 2

    @property
    def y(self) -> np.ndarray:
        """Voxel centres north of the origin (m)."""
        return self.edges()[1][:-1] + self.spacing[1] / 2

    @property
    def z(self) -> np.ndarray:
        """Voxel centres in the vertical reference (m)."""
        return self.edges()[2][:-1] + self.spacing[2] / 2

    def centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel centre coordinates ``(x, y, z)`` as 3-D arrays of :attr:`shape`."""
        z, y, x = np.meshgrid(self.z, self.y, self.x, indexing="ij")
        return x, y, z

    def fit(self, x: ArrayLike, y: ArrayLike, z: ArrayLike, pad: int = 0) -> GridSpec:
        """A copy whose region covers the points, voxel centres on multiples of the spacing.

        Parameters
        ----------
        x, y, z
            Local coordinates of the data (m).
        pad
            Extra voxels added on each horizontal side.
        """
        bounds = []
        for values, d, p in zip((x, y, z), self.spacing, (pad, pad, 0), strict=True):
            values = np.asarray(values, dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                raise NoUsableDataError("no positioned samples to size the grid on")
            lo = (math.floor(values.min() / d + 0.5) - 0.5 - p) * d
            hi = (math.floor(values.max() / d + 0.5) + 0.5 + p) * d
            bounds += [lo, hi]
        return replace(self, region=tuple(bounds))

    def locate(self, x: ArrayLike, y: ArrayLike, z: ArrayLike) -> np.ndarray:
        """Flat voxel index (C order over ``(z, y, x)``) of each point, -1 outside."""
        x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
        idx = np.zeros(np.broadcast(x, y, z).shape, dtype=np.int64)
        inside = np.ones(idx.shape, dtype=bool)
        stride = 1
        for values, lo, d, n in zip(
            (x, y, z), self.region[::2], self.spacing, self.shape[::-1], strict=True
        ):
            f = (values - lo) / d
            inside &= (f >= 0) & (f <= n)
            i = np.clip(np.floor(np.where(np.isfinite(f), f, 0)), 0, n - 1).astype(np.int64)
            idx += i * stride
            stride *= n
        return np.where(inside, idx, -1)

    # -- vertical reference -----------------------------------------------------------------
    def vertical_coordinate(
        self, altitude: ArrayLike | None = None, height: ArrayLike | None = None
    ) -> np.ndarray:
        """Samples' ``z`` in this spec's vertical reference.

        ``height`` (above home) is used directly for ``"height"``; where it is missing,
        ``altitude - origin altitude`` stands in.
        """
        alt = None if altitude is None else np.asarray(altitude, dtype=float)
        if self.vertical == "height":
            if height is not None:
                h = np.asarray(height, dtype=float)
                if alt is not None:
                    h = np.where(np.isfinite(h), h, alt - self.origin[2])
                return h
            if alt is None:
                raise InputError("samples have neither height nor altitude")
            return alt - self.origin[2]
        if alt is None:
            raise InputError(f"vertical reference {self.vertical!r} needs altitude (AMSL)")
        if self.vertical == "amsl":
            return alt
        return alt - self.terrain

    def altitude_of(self, z: ArrayLike) -> np.ndarray:
        """Altitude AMSL of vertical coordinate values ``z``."""
        z = np.asarray(z, dtype=float)
        if self.vertical == "height":
            return z + self.origin[2]
        if self.vertical == "amsl":
            return z
        return z + self.terrain

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        out = asdict(self)
        out.pop("_frame", None)
        for key in ("spacing", "origin", "region"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridSpec:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                spacing=tuple(d["spacing"]),
                origin=tuple(d["origin"]),
                region=None if d.get("region") is None else tuple(d["region"]),
                vertical=d.get("vertical", "height"),
                terrain=d.get("terrain"),
            )
        except (KeyError, TypeError) as err:
            raise InputError(f"not a grid spec: {err}") from None

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> GridSpec:
        """Inverse of :meth:`to_json`."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise InputError(f"grid spec is not JSON: {err}") from None

    def save(self, path: str | Path) -> None:
        """Write the spec as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> GridSpec:
        """Read a spec from a JSON file, or from the attributes of a grid netCDF/Zarr."""
        path = Path(path)
        try:
            if path.suffix in (".nc", ".zarr") or path.is_dir():
                with _open(path) as ds:
                    return cls.from_attrs(ds.attrs)
            return cls.from_json(path.read_text())
        except OSError as err:
            raise InputError(f"cannot read grid spec: {err}", path=path) from None
        except InputError as err:
            raise InputError(err.message, path=path) from None

    @classmethod
    def from_attrs(cls, attrs: dict) -> GridSpec:
        """The spec stored in a grid Dataset's attributes."""
        if _SPEC_ATTR not in attrs:
            raise InputError("no dronesense grid spec in the attributes")
        return cls.from_json(attrs[_SPEC_ATTR])


# ----------------------------------------------------------------------------------------
# block statistics
# ----------------------------------------------------------------------------------------

try:  # pragma: no cover - exercised when numba is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None

if _numba is not None:

    @_numba.njit(inline="always")
    def _voxel_index(x, y, z, lo, d, nx, ny, nz):  # pragma: no cover
        fx = (x - lo[0]) / d[0]
        fy = (y - lo[1]) / d[1]
        fz = (z - lo[2]) / d[2]
        # comparisons are False for NaN, so NaN positions fall out here
        if not (fx >= 0 and fx <= nx and fy >= 0 and fy <= ny and fz >= 0 and fz <= nz):
            return -1
        return (min(int(fz), nz - 1) * ny + min(int(fy), ny - 1)) * nx + min(int(fx), nx - 1)

    @_numba.njit(cache=True, nogil=True)
    def _bin_kernel(x, y, z, v, lo, d, n, minmax, count, total, vmin, vmax):  # pragma: no cover
        nx, ny, nz = n[0], n[1], n[2]
        for i in range(v.shape[0]):
            val = v[i]
            if val != val:
                continue
            k = _voxel_index(x[i], y[i], z[i], lo, d, nx, ny, nz)
            if k < 0:
                continue
            if minmax:
                if count[k] == 0:
                    vmin[k] = val
                    vmax[k] = val
                else:
                    if val < vmin[k]:
                        vmin[k] = val
                    if val > vmax[k]:
                        vmax[k] = val
            count[k] += 1
            total[k] += val

    @_numba.njit(cache=True, nogil=True)
    def _m2_kernel(x, y, z, v, lo, d, n, mean, m2):  # pragma: no cover
        nx, ny, nz = n[0], n[1], n[2]
        for i in range(v.shape[0]):
            val = v[i]
            if val != val:
                continue
            k = _voxel_index(x[i], y[i], z[i], lo, d, nx, ny, nz)
            if k >= 0:
                r = val - mean[k]
                m2[k] += r * r


def _one_pass(spec: GridSpec, x, y, z, v, need_m2: bool, need_minmax: bool = True):
    """count, sum, min, max (and sum of squared deviations from the mean) per voxel."""
    size = spec.size
    count = np.zeros(size, dtype=np.int64)
    total = np.zeros(size)
    vmin = np.full(size, np.nan)
    vmax = np.full(size, np.nan)
    m2 = None
    if _numba is not None:
        lo = np.array(spec.region[::2], dtype=float)
        d = np.array(spec.spacing, dtype=float)
        n = np.array(spec.shape[::-1], dtype=np.int64)
        _bin_kernel(x, y, z, v, lo, d, n, need_minmax, count, total, vmin, vmax)
        if need_m2:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            m2 = np.zeros(size)
            _m2_kernel(x, y, z, v, lo, d, n, mean, m2)
        return count, total, vmin, vmax, m2
    # numpy fallback: one ravel index, bincount, sort for min/max
    idx, vals = _indexed(spec, x, y, z, v)
    count = np.bincount(idx, minlength=size)
    total = np.bincount(idx, weights=vals, minlength=size)
    if idx.size and need_minmax:
        order = np.argsort(idx, kind="stable")
        sidx, svals = idx[order], vals[order]
        starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
        vmin[sidx[starts]] = np.minimum.reduceat(svals, starts)
        vmax[sidx[starts]] = np.maximum.reduceat(svals, starts)
    if need_m2:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        m2 = np.bincount(idx, weights=(vals - mean[idx]) ** 2, minlength=size)
    return count, total, vmin, vmax, m2


def _indexed(spec: GridSpec, x, y, z, v) -> tuple[np.ndarray, np.ndarray]:
    """Flat voxel index and value of the samples inside the grid with a finite value."""
    index = spec.locate(x, y, z)
    ok = (index >= 0) & np.isfinite(v)
    return index[ok], v[ok]


def _median(spec: GridSpec, x, y, z, v, count: np.ndarray) -> np.ndarray:
    idx, vals = _indexed(spec, x, y, z, v)
    order = np.lexsort((vals, idx))
    svals = vals[order]
    starts = np.concatenate(([0], np.cumsum(count)[:-1]))
    out = np.full(count.shape, np.nan)
    has = count > 0
    lo = starts[has] + (count[has] - 1) // 2
    hi = starts[has] + count[has] // 2
    out[has] = 0.5 * (svals[lo] + svals[hi])
    return out


def block_statistics(
    spec: GridSpec,
    coordinates: Sequence[ArrayLike],
    values: ArrayLike,
    statistics: Iterable[str] = ("mean", "count", "std", "min", "max"),
) -> dict[str, np.ndarray]:
    """Statistics of the samples in each voxel.

    One compiled pass over the samples (numba; a bincount/sort numpy path without it).
    Samples outside the region or with NaN value or position are skipped. A sample on the
    outermost face (east, north, top) counts in the last voxel, as in
    :func:`scipy.stats.binned_statistic_dd`.

    Parameters
    ----------
    spec
        The grid (with a region).
    coordinates
        ``(x, y, z)``: local east, north (m) and vertical coordinate in ``spec.vertical``.
    values
        One value per sample.
    statistics
        Any of ``mean``, ``median``, ``count``, ``std`` (population, ddof=0), ``min``,
        ``max``, ``sum``.

    Returns
    -------
    dict
        Statistic name -> array of ``spec.shape``: NaN where a voxel has no sample
        (``count`` is 0 there, ``sum`` 0).

    Examples
    --------
    >>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
    >>> out = block_statistics(spec, ([0.5, 0.5, 1.5], [0.5] * 3, [0.5] * 3), [1, 3, 7],
    ...                        ["mean", "std", "count"])
    >>> out["mean"].ravel().tolist(), out["std"].ravel().tolist(), out["count"].ravel().tolist()
    ([2.0, 7.0], [1.0, 0.0], [2, 1])
    """
    statistics = list(dict.fromkeys(statistics))
    unknown = set(statistics) - set(STATISTICS)
    if unknown:
        raise InputError(f"unknown statistic(s) {sorted(unknown)} (known: {', '.join(STATISTICS)})")
    x, y, z = (np.ascontiguousarray(c, dtype=float).ravel() for c in coordinates)
    v = np.ascontiguousarray(values, dtype=float).ravel()
    if not (x.shape == y.shape == z.shape == v.shape):
        raise InputError("coordinates and values differ in length")
    count, total, vmin, vmax, m2 = _one_pass(
        spec, x, y, z, v, "std" in statistics, bool({"min", "max"} & set(statistics)))
    empty = count == 0
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in statistics:
            if name == "count":
                arr = count
            elif name == "sum":
                arr = total
            elif name == "mean":
                arr = np.where(empty, np.nan, total / count)
            elif name == "std":
                arr = np.where(empty, np.nan, np.sqrt(m2 / count))
            elif name == "min":
                arr = vmin
            elif name == "max":
                arr = vmax
            else:  # median
                arr = _median(spec, x, y, z, v, count)
            out[name] = arr.reshape(spec.shape)
    return out


# ----------------------------------------------------------------------------------------
# samples -> local coordinates
# ----------------------------------------------------------------------------------------


def default_origin(samples: xr.Dataset) -> tuple[float, float, float]:
    """Home point guessed from samples: first paired position, altitude minus height."""
    lat = np.asarray(samples["lat"].values, dtype=float)
    lon = np.asarray(samples["lon"].values, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if "flag" in samples:
        ok &= np.asarray(samples["flag"].values) == 0
    if not ok.any():
        raise NoUsableDataError("no paired samples with a position")
    i = int(np.flatnonzero(ok)[0])
    alt0 = 0.0
    if "altitude" in samples and "height" in samples:
        diff = np.asarray(samples["altitude"].values, float) - np.asarray(
            samples["height"].values, float
        )
        diff = diff[ok & np.isfinite(diff)]
        if diff.size:
            alt0 = float(np.median(diff))
    elif "altitude" in samples:
        alt0 = float(np.asarray(samples["altitude"].values, float)[i])
    return (float(lat[i]), float(lon[i]), alt0)


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




# ----------------------------------------------------------------------------------------
# CF Dataset
# ----------------------------------------------------------------------------------------


def _isotime(t) -> str:
    return np.datetime_as_string(np.datetime64(t, "us"), unit="us") + "Z"


def grid_dataset(
    spec: GridSpec,
    variables: dict[str, tuple[np.ndarray, dict[str, Any]]],
    *,
    title: str = "dronesense 3D grid",
    made_by: str = "",
    history: str = "",
    times: ArrayLike | None = None,
    extra_attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap voxel arrays into a CF-1.11 / ACDD-1.3 Dataset with dims ``(z, y, x)``.

    Every variable gets ``grid_mapping = "crs"`` and the lat/lon auxiliary coordinates; the
    Dataset carries the grid spec (``dronesense_grid_spec``), ``made_by``, ``history`` and
    ACDD time and space coverage.

    Parameters
    ----------
    spec
        The grid.
    variables
        Name -> (array of ``spec.shape``, attributes).
    made_by
        ``repr`` of the method object that made the values.
    history
        One line prepended to the ``history`` attribute (a UTC stamp is added).
    times
        Sample times, for ``time_coverage_start``/``end``.
    """
    standard, long = VERTICAL_REFERENCES[spec.vertical]
    x, y, z = spec.x, spec.y, spec.z
    xx, yy = np.meshgrid(x, y)
    lat, lon, _ = spec.frame.inverse(xx, yy)
    coords = {
        "z": ("z", z, {"standard_name": standard, "long_name": long, "units": "m",
                       "positive": "up", "axis": "Z"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y",
                       "long_name": "distance north of the origin"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X",
                       "long_name": "distance east of the origin"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north",
                                  "long_name": "latitude"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east",
                                  "long_name": "longitude"}),
    }
    data_vars: dict[str, Any] = {"crs": ((), np.int32(0), spec.frame.cf_attrs())}
    for name, (arr, attrs) in variables.items():
        arr = np.asarray(arr)
        if arr.shape != spec.shape:
            raise ValueError(f"{name}: shape {arr.shape} is not the grid's {spec.shape}")
        data_vars[name] = (("z", "y", "x"), arr, {**attrs, "grid_mapping": "crs"})
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    zz = spec.z
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.11, ACDD-1.3",
        "title": title,
        "institution": "",
        "source": f"dronesense {__version__}",
        "dronesense_version": __version__,
        "date_created": now,
        "geospatial_lat_min": float(np.nanmin(lat)),
        "geospatial_lat_max": float(np.nanmax(lat)),
        "geospatial_lon_min": float(np.nanmin(lon)),
        "geospatial_lon_max": float(np.nanmax(lon)),
        "geospatial_vertical_min": float(zz[0] - spec.spacing[2] / 2),
        "geospatial_vertical_max": float(zz[-1] + spec.spacing[2] / 2),
        "geospatial_vertical_units": "m",
        "geospatial_vertical_positive": "up",
        "vertical_reference": spec.vertical,
        _SPEC_ATTR: spec.to_json(),
        "made_by": made_by,
        "history": f"{now}: {history}" if history else now,
    }
    attrs.pop("institution")
    if times is not None:
        t = np.asarray(times, dtype="datetime64[ns]")
        t = t[~np.isnat(t)]
        if t.size:
            attrs["time_coverage_start"] = _isotime(t.min())
            attrs["time_coverage_end"] = _isotime(t.max())
    if extra_attrs:
        attrs.update(extra_attrs)
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def statistic_variables(
    stats: dict[str, np.ndarray], quantity: Quantity, spec: GridSpec, primary: str = "mean"
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """CF variables for block statistics: the primary estimate named after the quantity,
    the others as ``<key>_<statistic>``, the count as ``number_of_observations``."""
    q = quantity.key
    base = quantity.attrs()
    cm = {"mean": "mean", "median": "median", "std": "standard_deviation",
          "min": "minimum", "max": "maximum", "sum": "sum"}
    dims = "x: y: z:"
    out: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    ancillary = []
    for name, arr in stats.items():
        if name == "count":
            continue
        attrs = dict(base)
        attrs["cell_methods"] = f"{dims} {cm[name]} (comment: voxel {_voxel(spec)})"
        if name == primary:
            key = q
        else:
            key = f"{q}_{name}"
            attrs["long_name"] = f"{quantity.long_name} ({cm[name].replace('_', ' ')} in voxel)"
            # the standard name stays on the estimate only, so it names one variable
            attrs.pop("standard_name", None)
            ancillary.append(key)
        out[key] = (arr, attrs)
    if "count" in stats:
        out["number_of_observations"] = (
            stats["count"].astype(np.int32),
            {"standard_name": "number_of_observations", "units": "1",
             "long_name": f"number of {quantity.key} samples in voxel"},
        )
        ancillary.append("number_of_observations")
    if q in out and ancillary:
        out[q][1]["ancillary_variables"] = " ".join(ancillary)
    return out


def _voxel(spec: GridSpec) -> str:
    return "{:g} m x {:g} m x {:g} m".format(*spec.spacing)


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
        :mod:`dronesense.interpolate` (its ``repr`` goes to ``made_by``).
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
    from dronesense import interpolate

    qty = _quantity_for(samples, quantity)
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
        from dronesense.validation import cross_validate as _cv

        tracks, order = sample_tracks(samples, quantity, spec)
        _cv(method, coords, values, spec=spec, tracks=tracks, order=order).store(ds, qty.key)
    return ds


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


def _quantity_for(samples: xr.Dataset, key: str) -> Quantity:
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
        q = replace(q, units=var.attrs["units"], display_units=var.attrs["units"])
    return q


# ----------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------


def write_grid(ds: xr.Dataset, path: str | Path, complevel: int = 4) -> Path:
    """Write a grid to netCDF-4 (zlib-compressed) or, for a ``.zarr`` path, to Zarr."""
    path = Path(path)
    if path.suffix == ".zarr":
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata")
                ds.to_zarr(path, mode="w")
        except ImportError:
            raise InputError("writing Zarr needs the 'zarr' package "
                             "(pip install 'dronesense[campaign]')") from None
        return path
    encoding = {
        name: {"zlib": True, "complevel": complevel}
        for name, var in ds.variables.items() if var.ndim >= 2
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(path, encoding=encoding, engine="netcdf4")
    return path


def _open(path: Path) -> xr.Dataset:
    if path.suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists()):
        return xr.open_zarr(path, consolidated=None)
    return xr.open_dataset(path)


def open_grid(path: str | Path) -> xr.Dataset:
    """Read a grid written by :func:`write_grid` (loaded into memory)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    try:
        with _open(path) as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read grid: {err}", path=path) from None
