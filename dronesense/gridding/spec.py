"""Grid definitions: :class:`GridSpec` (spacing, origin, region, vertical reference) and
:func:`make_spec`, which builds one from a few parameters and the samples (the home point as
default origin), or adjusts a saved one.

Examples
--------
>>> spec = make_spec(spacing=(20, 10), origin=(52.0, 5.0, 3.0),
...                  region=(-100, 100, -50, 50, 0, 40))
>>> spec.spacing, spec.shape
((20.0, 20.0, 10.0), (4, 5, 10))
>>> make_spec(spec=spec, spacing=10).shape
(4, 10, 20)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.gridding.levels import fit_levels
from dronesense.gridding.stores import open_store

#: Statistics :func:`block_statistics` knows.
STATISTICS = ("mean", "median", "count", "std", "min", "max", "sum")

#: Vertical references: key -> (standard_name, long_name of z).
VERTICAL_REFERENCES = {
    "height": ("height", "height above home (take-off point)"),
    "amsl": ("altitude", "altitude above mean sea level"),
    "agl": ("height", "height above ground (terrain height given)"),
}

SPEC_ATTR = "dronesense_grid_spec"

#: How :meth:`GridSpec.fit` places the vertical levels: centred on the flown layers, or on
#: multiples of the vertical spacing.
LEVELS = ("layers", "regular")

#: Samples below this height above home (or ground) are the vehicle on the ground: never a
#: layer.
GROUND_HEIGHT = 1.0

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
        (:meth:`fit`), which snaps faces so voxel centres fall on multiples of the spacing
        (vertically: see ``levels``). East/north/top are moved out so every extent is a
        whole number of voxels.
    vertical
        ``"height"`` (above home, from the samples' ``height``), ``"amsl"`` (altitude above
        mean sea level) or ``"agl"`` (above ground: altitude minus ``terrain``).
    terrain
        Ground altitude AMSL in metres, required with ``vertical="agl"``.
    levels
        How :meth:`fit` places the vertical levels: ``"layers"`` (default) centres them on
        the layers flown (:func:`dronesense.gridding.levels.fit_levels`: a layer at 20, 35
        and 50 m gives levels at 20, 35 and 50 m with a 15 m spacing, no level split by a
        layer, no near-empty take-off level), falling back to ``"regular"`` for a flight
        without layers; ``"regular"``: centres on multiples of the spacing.

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
    levels: str = "layers"
    _frame: LocalFrame | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        try:
            spacing = tuple(float(s) for s in self.spacing)
            origin = tuple(float(o) for o in self.origin)
        except (TypeError, ValueError):
            raise TypeError("spacing and origin must be three numbers each") from None
        if len(spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing):
            raise ParameterError("spacing", f"must be three positive numbers (metres), "
                                 f"got {self.spacing}")
        if len(origin) != 3 or not all(math.isfinite(o) for o in origin):
            raise ParameterError("origin", f"must be lat, lon, alt, got {self.origin}")
        if self.vertical not in VERTICAL_REFERENCES:
            known = ", ".join(VERTICAL_REFERENCES)
            raise ParameterError("vertical", f"reference {self.vertical!r} unknown "
                                 f"(known: {known})")
        if self.levels not in LEVELS:
            raise ParameterError("levels", f"{self.levels!r} unknown (known: "
                                 f"{', '.join(LEVELS)})")
        terrain = None if self.terrain is None else float(self.terrain)
        if self.vertical == "agl" and terrain is None:
            raise ParameterError("terrain", "the vertical reference 'agl' needs a terrain "
                                 "height (ground altitude AMSL in metres)")
        if terrain is not None and not math.isfinite(terrain):
            raise ParameterError("terrain", f"must be a finite altitude, got {terrain}")
        region = self.region
        if region is not None:
            try:
                w, e, s, n, b, t = (float(r) for r in region)
            except (TypeError, ValueError):
                raise ParameterError(
                    "region", f"must be west, east, south, north, bottom, top; got {region}"
                ) from None
            if not (e > w and n > s and t > b):
                raise ParameterError("region", f"{region} is empty (need west < east, "
                                     "south < north, bottom < top)")
            dx, dy, dz = spacing
            nx, ny, nz = (max(1, math.ceil((hi - lo) / d - 1e-9))
                          for lo, hi, d in ((w, e, dx), (s, n, dy), (b, t, dz)))
            if nx * ny * nz > MAX_VOXELS:
                raise ParameterError(
                    "spacing", f"grid of {nx} x {ny} x {nz} voxels is too large "
                    f"(more than {MAX_VOXELS:.0e}): spacing "
                    f"{','.join(f'{d:g}' for d in spacing)} m is too fine for region "
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
            raise ParameterError("region", "the grid spec has no region yet: give one or fit "
                                 "the spec to the data (GridSpec.fit)")
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
        """A copy whose region covers the points, voxel centres on multiples of the spacing;
        vertically, with ``levels="layers"``, centred on the flown layers and without edge
        levels that only the climbs reach (those samples then lie outside the region).

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
        if self.levels == "layers":
            ground = GROUND_HEIGHT if self.vertical in ("height", "agl") else None
            fitted = fit_levels(z, self.spacing[2], ground=ground)
            if fitted is not None:
                bounds[4:] = fitted
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
                levels=d.get("levels", "layers"),
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
                with open_store(path) as ds:
                    return cls.from_attrs(ds.attrs)
            return cls.from_json(path.read_text())
        except OSError as err:
            raise InputError(f"cannot read grid spec: {err}", path=path) from None
        except InputError as err:
            raise InputError(err.message, path=path) from None

    @classmethod
    def from_attrs(cls, attrs: dict) -> GridSpec:
        """The spec stored in a grid Dataset's attributes."""
        if SPEC_ATTR not in attrs:
            raise InputError("no dronesense grid spec in the attributes")
        return cls.from_json(attrs[SPEC_ATTR])


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


def as_spacing(spacing: float | Sequence[float]) -> tuple[float, float, float]:
    """``(dx, dy, dz)`` from one size for all three, ``(dxy, dz)`` or ``(dx, dy, dz)`` (m).

    Examples
    --------
    >>> as_spacing(10), as_spacing((20, 5))
    ((10.0, 10.0, 10.0), (20.0, 20.0, 5.0))
    """
    if isinstance(spacing, str):
        raise TypeError("spacing must be numbers, not text (parse option text first)")
    try:
        vals = (float(spacing),) * 3 if np.ndim(spacing) == 0 else tuple(
            float(v) for v in spacing)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"spacing must be one, two or three numbers, got {spacing!r}") from None
    if len(vals) == 2:
        vals = (vals[0], vals[0], vals[1])
    if len(vals) != 3:
        raise ParameterError("spacing", f"must be one, two or three sizes in metres, "
                             f"got {len(vals)}")
    return vals  # type: ignore[return-value]


def make_spec(
    samples: xr.Dataset | None = None,
    *,
    spec: GridSpec | str | Path | None = None,
    spacing: float | Sequence[float] | None = None,
    region: Sequence[float] | None = None,
    origin: Sequence[float] | None = None,
    vertical: str | None = None,
    terrain: float | None = None,
    levels: str | None = None,
) -> GridSpec:
    """A grid definition from parameters, or a given one with some parts replaced.

    Parameters
    ----------
    samples
        The samples to grid: the default origin is their home point
        (:func:`default_origin`). Only needed without ``spec`` and ``origin``.
    spec
        A definition to start from: a :class:`GridSpec`, or the path of a JSON spec or of an
        earlier grid (:meth:`GridSpec.load`). The other parameters, where given, replace its
        parts.
    spacing
        Voxel size in metres: one number, ``(dxy, dz)`` or ``(dx, dy, dz)``. Required
        without ``spec``.
    region
        ``(west, east, south, north, bottom, top)`` in local metres; default none (the
        gridding fits it to the data).
    origin
        ``(lat, lon, alt)`` of the local frame; default the samples' home point.
    vertical
        ``"height"`` (default), ``"amsl"`` or ``"agl"`` (with ``terrain``).
    terrain
        Ground altitude AMSL (m) for ``vertical="agl"``.
    levels
        ``"layers"`` (default: levels centred on the flown layers) or ``"regular"``
        (centres on multiples of the vertical spacing); see :class:`GridSpec`.

    Returns
    -------
    GridSpec
        The definition, without a region unless one was given.

    Raises
    ------
    ParameterError
        No spacing (and no spec), or a part the grid cannot use.

    Examples
    --------
    >>> spec = make_spec(spacing=5, origin=(52.0, 5.0, 0.0), vertical="agl", terrain=12.0)
    >>> spec.spacing, spec.vertical, spec.region is None
    ((5.0, 5.0, 5.0), 'agl', True)
    >>> make_spec(spec=spec, vertical="amsl").vertical
    'amsl'
    """
    if spec is not None:
        if not isinstance(spec, GridSpec):
            spec = GridSpec.load(spec)
        changes: dict[str, Any] = {}
        if spacing is not None:
            changes["spacing"] = as_spacing(spacing)
        if region is not None:
            changes["region"] = tuple(region)
        if origin is not None:
            changes["origin"] = tuple(origin)
        if vertical is not None:
            changes["vertical"] = vertical
        if terrain is not None:
            changes["terrain"] = terrain
        if levels is not None:
            changes["levels"] = levels
        return replace(spec, **changes) if changes else spec
    if spacing is None:
        raise ParameterError("spacing", "give the voxel size DX,DY,DZ in metres "
                             "(or a grid spec to reuse)")
    if origin is None:
        if samples is None:
            raise ValueError("make_spec needs the samples (for the home point) or an origin")
        origin = default_origin(samples)
    return GridSpec(as_spacing(spacing), tuple(origin),
                    None if region is None else tuple(region), vertical or "height", terrain,
                    levels or "layers")
