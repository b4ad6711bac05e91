"""Figures of grids: horizontal slices, vertical profiles, curtain sections, grid vs truth.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, no
display needed: the Agg canvas renders them), returned to the caller and written to ``path``
when one is given.

Examples
--------
>>> import numpy as np
>>> from dronesense.grid import GridSpec, grid_dataset
>>> spec = GridSpec((10, 10, 10), (52.0, 5.0, 0.0), region=(0, 100, 0, 50, 0, 30))
>>> ds = grid_dataset(spec, {"ch4": (np.ones(spec.shape), {"units": "1e-6"})})
>>> fig = plot_slices(ds)
>>> len(fig.axes) >= 3
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from dronesense.sections import curtain, data_variable, horizontal_slices, vertical_profile

__all__ = ["plot_profile", "plot_section", "plot_slices", "plot_slices_vs_truth"]


def _label(da: xr.DataArray) -> str:
    name = da.attrs.get("long_name", da.name or "")
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def _limits(*arrays) -> tuple[float, float]:
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(vals, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(lo) + 0.5)


def plot_slices(ds: xr.Dataset, name: str | None = None, levels: Sequence[float] | None = None,
                path: str | Path | None = None, cmap: str = "viridis") -> Figure:
    """One map per level of the estimate (x east, y north, metres from the origin)."""
    da = horizontal_slices(ds, name, levels)
    n = da.sizes["z"]
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.6 * cols + 0.8, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    vmin, vmax = _limits(da.values)
    mesh = None
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.set_visible(False)
            continue
        level = da.isel(z=k)
        mesh = ax.pcolormesh(da.x, da.y, level, vmin=vmin, vmax=vmax, cmap=cmap,
                             shading="nearest")
        ax.set_title(f"z = {float(level.z):g} m")
        ax.set_aspect("equal")
        ax.set_xlabel("east [m]")
        ax.set_ylabel("north [m]")
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label=_label(da), shrink=0.8)
    fig.suptitle(ds.attrs.get("made_by", "")[:90], fontsize=8)
    return _save(fig, path)


def plot_profile(ds: xr.Dataset, name: str | None = None,
                 path: str | Path | None = None) -> Figure:
    """Vertical profile: per-level mean, median and min-max / ±std envelopes."""
    prof = vertical_profile(ds, name)
    var = prof.attrs["variable"]
    fig = Figure(figsize=(4.5, 5.5), layout="constrained")
    ax = fig.subplots()
    z = prof.z.values
    ax.fill_betweenx(z, prof["min"], prof["max"], color="0.85", label="min-max")
    ax.fill_betweenx(z, prof["mean"] - prof["std"], prof["mean"] + prof["std"], color="0.65",
                     label="mean ± std")
    ax.plot(prof["mean"], z, "k-o", ms=3, label="mean")
    ax.plot(prof["median"], z, "b--", label="median")
    if "sample_weighted_mean" in prof:
        ax.plot(prof["sample_weighted_mean"], z, "r:", label="sample-weighted mean")
    ax.set_xlabel(_label(ds[var]))
    ax.set_ylabel(_label(ds.z) or "z [m]")
    ax.legend(fontsize=8)
    ax.set_title(f"vertical profile of {var}")
    return _save(fig, path)


def plot_section(ds: xr.Dataset, start: tuple[float, float], end: tuple[float, float],
                 name: str | None = None, path: str | Path | None = None,
                 cmap: str = "viridis") -> Figure:
    """Curtain along the line ``start`` -> ``end`` (``(lat, lon)`` each)."""
    sec = curtain(ds, start, end, name)
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    vmin, vmax = _limits(sec.values)
    mesh = ax.pcolormesh(sec.distance, sec.z, sec, vmin=vmin, vmax=vmax, cmap=cmap,
                         shading="nearest")
    fig.colorbar(mesh, ax=ax, label=_label(sec))
    ax.set_xlabel("distance along section [m]")
    ax.set_ylabel("z [m]")
    ax.set_title(f"section {start[0]:.5f},{start[1]:.5f} → {end[0]:.5f},{end[1]:.5f}",
                 fontsize=9)
    return _save(fig, path)


def plot_slices_vs_truth(grid: xr.Dataset | xr.DataArray, truth: xr.DataArray,
                         path: str | Path | None = None, name: str | None = None,
                         levels: Sequence[float] | None = None,
                         cmap: str = "viridis") -> Figure:
    """Horizontal slices per altitude layer of a gridded quantity beside the true field.

    Parameters
    ----------
    grid
        Grid Dataset (its estimate variable is used) or the estimate DataArray, dims
        ``(z, y, x)``.
    truth
        The true field on the same grid (same ``z``, ``y``, ``x``).
    path
        PNG to write.
    levels
        Levels to show (default: every level where the grid has an estimate).

    Returns
    -------
    matplotlib.figure.Figure
        Rows = levels; columns = grid, truth, grid - truth; grid and truth share a colour
        scale. Each row's title carries the correlation over voxels with an estimate.
    """
    if isinstance(grid, xr.Dataset):
        est = grid[data_variable(grid, name)]
    else:
        est = grid
    if levels is None:
        keep = est.notnull().any(("y", "x"))
        levels = est.z.values[keep.values] if bool(keep.any()) else est.z.values
    est = est.sel(z=list(levels), method="nearest")
    tru = truth.sel(z=est.z.values, method="nearest")
    n = est.sizes["z"]
    fig = Figure(figsize=(11.5, 3.0 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, 3, squeeze=False)
    vmin, vmax = _limits(est.values, tru.values)
    diff = est.values - tru.values
    dlim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    for k in range(n):
        e, t = est.isel(z=k), tru.isel(z=k)
        ok = np.isfinite(e.values) & np.isfinite(t.values)
        r = (np.corrcoef(e.values[ok], t.values[ok])[0, 1]
             if ok.sum() > 2 and np.std(e.values[ok]) > 0 and np.std(t.values[ok]) > 0
             else np.nan)
        m1 = axes[k, 0].pcolormesh(est.x, est.y, e, vmin=vmin, vmax=vmax, cmap=cmap,
                                   shading="nearest")
        axes[k, 1].pcolormesh(tru.x, tru.y, t, vmin=vmin, vmax=vmax, cmap=cmap,
                              shading="nearest")
        m3 = axes[k, 2].pcolormesh(est.x, est.y, diff[k], vmin=-dlim, vmax=dlim,
                                   cmap="RdBu_r", shading="nearest")
        z = float(e.z)
        axes[k, 0].set_title(f"grid, z = {z:g} m (r = {r:.2f})", fontsize=9)
        axes[k, 1].set_title(f"truth, z = {z:g} m", fontsize=9)
        axes[k, 2].set_title("grid - truth", fontsize=9)
        for ax in axes[k]:
            ax.set_aspect("equal")
            ax.set_ylabel("north [m]", fontsize=8)
        if k == n - 1:
            for ax in axes[k]:
                ax.set_xlabel("east [m]", fontsize=8)
        fig.colorbar(m1, ax=axes[k, :2], label=_label(est), shrink=0.9)
        fig.colorbar(m3, ax=axes[k, 2], shrink=0.9)
    return _save(fig, path)
