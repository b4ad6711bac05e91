"""The enhancement on the curtain's ``(s, z)`` cells: the grid, the gridder, the ground rule.

The grid runs from the ground (``z = 0``, home) to the top of the curtain and over the width
of the curtain; cells below the lowest pass take the values interpolated at the lowest pass
(``ground="constant"``) or zero (``ground="zero"``).

Examples
--------
>>> import numpy as np
>>> grid = curtain_grid((-20.0, 20.0), z_low=5.0, z_ceiling=12.5, spacing=(10.0, 2.5),
...                     origin=(52.0, 5.0, 10.0))
>>> grid.s_c.tolist(), grid.z_c.tolist(), grid.below.tolist()
([-15.0, -5.0, 5.0, 15.0], [1.25, 3.75, 6.25, 8.75, 11.25], [True, True, False, False, False])
>>> s = np.tile(np.linspace(-20.0, 20.0, 21), 2)
>>> z = np.repeat([5.0, 10.0], 21)
>>> fill = CurtainInterpolation(make_gridder("idw"), grid, s, z, 0.5 * z)
>>> out = fill()
>>> out.shape, bool((out[0] == out[1]).all()), round(float(out[-1].mean()), 1)   # 0.5 z
((5, 4), True, 4.8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dronesense.errors import ParameterError
from dronesense.gridding.methods import make_method
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.spec import GridSpec

__all__ = ["CurtainGrid", "CurtainInterpolation", "curtain_grid", "make_gridder"]


@dataclass(frozen=True)
class CurtainGrid:
    """Cells of the curtain: edges, centres and widths along ``s`` and in ``z``.

    ``below`` marks the levels under the lowest pass; ``S``, ``Z`` are where each cell is
    interpolated (``Z`` is the lowest pass under it with the constant ground rule); ``spec``
    the :class:`~dronesense.gridding.spec.GridSpec` a gridder is fitted with.
    """

    s_edges: np.ndarray
    z_edges: np.ndarray
    below: np.ndarray
    S: np.ndarray
    Z: np.ndarray
    spec: GridSpec
    ground: str = "constant"

    @property
    def s_c(self) -> np.ndarray:
        """Cell centres along the curtain."""
        return 0.5 * (self.s_edges[:-1] + self.s_edges[1:])

    @property
    def z_c(self) -> np.ndarray:
        """Cell centres in height."""
        return 0.5 * (self.z_edges[:-1] + self.z_edges[1:])

    @property
    def area(self) -> np.ndarray:
        """Cell areas ``(z, s)``, m2."""
        return np.outer(np.diff(self.z_edges), np.diff(self.s_edges))

    def count(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Number of samples in each cell ``(z, s)``."""
        return np.histogram2d(z, s, bins=(self.z_edges, self.s_edges))[0].astype(np.int32)


def curtain_grid(s_range: tuple[float, float], *, z_low: float, z_ceiling: float,
                 spacing: tuple[float, float], origin: tuple[float, float, float],
                 ground: str = "constant") -> CurtainGrid:
    """Cells of ``spacing`` ``(ds, dz)`` over ``s_range`` and from 0 to ``z_ceiling``; the
    last column ends at the end of ``s_range``."""
    s_lo, s_hi = s_range
    ds, dz = spacing
    ns = max(1, math.ceil((s_hi - s_lo) / ds - 1e-9))
    s_edges = s_lo + ds * np.arange(ns + 1)
    s_edges[-1] = s_hi
    nz = max(1, math.ceil(z_ceiling / dz - 1e-9))
    z_edges = np.linspace(0.0, z_ceiling, nz + 1)
    z_c = 0.5 * (z_edges[:-1] + z_edges[1:])
    below = z_c < z_low
    zq = z_c if ground == "zero" else np.where(below, z_low, z_c)
    S, Z = np.meshgrid(0.5 * (s_edges[:-1] + s_edges[1:]), zq)
    spec = GridSpec((ds, 2.0, dz), origin, region=(s_lo, s_lo + ns * ds, -1.0, 1.0, 0.0, nz * dz))
    return CurtainGrid(s_edges, z_edges, below, S, Z, spec, ground)


def make_gridder(method: str | BaseGridder) -> BaseGridder:
    """The gridder of a method name (``idw``: ``IDW(k=8, anisotropy=1)``, ``kriging``,
    ``block``) or the gridder given."""
    if isinstance(method, BaseGridder):
        return method
    if method == "idw":
        return make_method("idw", k=8, anisotropy=1.0)
    if method == "kriging":
        return make_method("kriging", anisotropy=1.0)
    if method == "block":
        return make_method("block")
    raise ParameterError("method", f"must be idw, kriging or block (or a gridder), not {method!r}")


@dataclass
class CurtainInterpolation:
    """Interpolates values at ``(s, z)`` onto a :class:`CurtainGrid` with a gridder; calling
    it with a mask of the samples to use gives the ``(z, s)`` grid."""

    gridder: BaseGridder
    grid: CurtainGrid
    s: np.ndarray
    z: np.ndarray
    values: np.ndarray

    def __call__(self, sel: np.ndarray | None = None) -> np.ndarray:
        if sel is None:
            sel = np.ones(self.s.size, dtype=bool)
        g = self.grid
        m = self.gridder.clone() if hasattr(self.gridder, "clone") else self.gridder
        m.fit((self.s[sel], np.zeros(int(sel.sum())), self.z[sel]), self.values[sel],
              spec=g.spec)
        out = m.predict((g.S.ravel(), np.zeros(g.S.size), g.Z.ravel())).reshape(g.S.shape)
        if np.isnan(out).any():
            _fill_empty(out, g.S, g.Z)
        if g.ground == "zero":
            out[g.below, :] = 0.0
        return out


def _fill_empty(out: np.ndarray, S: np.ndarray, Z: np.ndarray) -> None:
    """Block means leave empty cells: fill them by IDW of the filled cells, in place."""
    good = np.isfinite(out)
    fill = IDW(k=4, anisotropy=1.0).fit((S[good], np.zeros(good.sum()), Z[good]), out[good])
    out[~good] = fill.predict((S[~good], np.zeros((~good).sum()), Z[~good]))
