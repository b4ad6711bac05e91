"""Figures of grids: horizontal slices, vertical profiles, curtain sections, grid vs truth.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, no
display needed: the Agg canvas renders them), returned to the caller and written to ``path``
when one is given.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.dataset import grid_dataset
>>> spec = GridSpec((10, 10, 10), (52.0, 5.0, 0.0), region=(0, 100, 0, 50, 0, 30))
>>> ds = grid_dataset(spec, {"ch4": (np.ones(spec.shape), {"units": "1e-6"})})
>>> fig = plot_slices(ds)
>>> len(fig.axes) >= 3
True
>>> import os, tempfile
>>> fig = plot_slices(ds, os.path.join(tempfile.mkdtemp(), "slices.png"), levels=[15])
>>> [ax.get_title() for ax in fig.axes[:1]]
['height 15 m (50 voxels)']
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from dronesense.errors import ParameterError
from dronesense.geo import LocalFrame
from dronesense.gridding.reportederror import reported_error, short_method
from dronesense.products.sections import curtain, data_variable, horizontal_slices, vertical_profile
from dronesense.quantities import display_units

__all__ = ["compass", "place", "plot_profile", "plot_section", "plot_slices",
           "plot_slices_vs_truth"]


def _key(da: xr.DataArray) -> str | None:
    """Quantity key of an estimate or derived variable (``ch4`` for ``ch4_std``)."""
    name = str(da.name or "")
    return name.split("_")[0] if name else None


def _units(da: xr.DataArray) -> str:
    """Display units of a variable (``ppm`` for CF ``1e-6``); the file keeps CF units."""
    return display_units(da.attrs.get("units"), _key(da))


def _label(da: xr.DataArray) -> str:
    name = da.attrs.get("long_name", da.name or "")
    units = _units(da)
    return f"{name} [{units}]" if units else str(name)


def _zlabel(z: xr.DataArray) -> str:
    """Axis label of the vertical coordinate: what it is measured from, in metres."""
    name = z.attrs.get("long_name", "z")
    return f"{name} [{z.attrs.get('units', 'm')}]"


def _level(z: xr.DataArray, value: float) -> str:
    """Short level title: ``height 15 m`` / ``altitude 120 m``."""
    word = {"altitude": "altitude"}.get(z.attrs.get("standard_name", ""), "height")
    if "ground" in z.attrs.get("long_name", ""):
        word = "height AGL"
    return f"{word} {value:g} m"


def _method(ds: xr.Dataset, units: str = "") -> str:
    """Method name and the grid's reported error (``estimated_grid_rmse``; a grid without
    it: the cross-validation RMSE), with units, for titles."""
    made_by = str(ds.attrs.get("made_by", ""))
    name = made_by.split("(")[0] or "grid"
    unit = f" {units}" if units else ""
    error, how = reported_error(ds.attrs)
    rmse = ds.attrs.get("cross_validation_rmse")
    if error is not None:
        name += f", grid error {error:.3g}{unit} ({short_method(how)})"
    elif rmse is not None and np.isfinite(rmse):
        name += f", CV RMSE {float(rmse):.3g}{unit}"
    return name


def _frame(ds: xr.Dataset) -> LocalFrame | None:
    """The grid's local frame (its ``grid_mapping``, else the grid spec's origin)."""
    if "crs" in ds.variables:
        try:
            return LocalFrame.from_cf(ds["crs"].attrs)
        except Exception:  # not a dronesense frame: fall back to the spec
            pass
    try:
        origin = json.loads(ds.attrs.get("dronesense_grid_spec", "{}")).get("origin")
    except ValueError:
        origin = None
    return None if not origin else LocalFrame(origin[0], origin[1])


def place(lat: float, lon: float) -> str:
    """``50.9341 N 6.9531 E``: a point as people read it.

    >>> place(50.93412, -6.95312)
    '50.9341 N 6.9531 W'
    """
    return (f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'} "
            f"{abs(lon):.4f} {'E' if lon >= 0 else 'W'}")


def _origin(ds: xr.Dataset) -> str:
    """What the axes' zero is: ``of 50.9341 N 6.9531 E`` (else ``of the grid origin``)."""
    frame = _frame(ds)
    return "of the grid origin" if frame is None else f"of {place(frame.lat, frame.lon)}"


def _when_where(ds: xr.Dataset) -> str:
    """Date (UTC) and place of a grid for titles: ``2025-06-14, near 50.9934 N 6.9877 E``."""
    parts = []
    start = ds.attrs.get("time_coverage_start")
    if start:
        parts.append(str(start)[:10])
    elif "time" in ds.coords and ds["time"].size and ds["time"].dtype.kind == "M":
        parts.append(str(np.datetime_as_string(ds["time"].values.ravel()[0], unit="D")))
    frame = _frame(ds)
    if frame is not None:
        parts.append(f"near {place(frame.lat, frame.lon)}")
    return ", ".join(parts)


_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def compass(bearing_deg: float) -> str:
    """Eight-point compass name of a bearing (degrees clockwise from north).

    >>> compass(0.0), compass(100.0), compass(225.0), compass(350.0)
    ('N', 'E', 'SW', 'N')
    """
    return _COMPASS[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]


def _overlay(ax, ds: xr.Dataset, track, source) -> None:
    """Flight track (a samples Dataset or ``(lat, lon)`` arrays) and source on a map axis."""
    frame = _frame(ds)
    if frame is None:
        return
    if track is not None:
        if isinstance(track, xr.Dataset):
            lat, lon = track["lat"].values, track["lon"].values
        else:
            lat, lon = track
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            x, y, _ = frame.forward(lat[ok], lon[ok])
            ax.plot(x, y, "-", lw=0.6, color="0.25", alpha=0.6, label="track")
    if source is not None:
        x, y, _ = frame.forward(source[0], source[1])
        ax.plot(float(x), float(y), "^", ms=8, color="red", mec="white", label="source")


def _masked_style(ax) -> None:
    """Masked voxels (no data support) show as light grey hatching, not as a colour."""
    ax.set_facecolor("0.92")
    ax.patch.set_hatch("////")
    ax.patch.set_edgecolor("0.75")


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        if not isinstance(path, str | Path):
            raise TypeError(f"path must be a file name, not {type(path).__name__}")
        kinds = fig.canvas.get_supported_filetypes()
        if Path(path).suffix.lower().lstrip(".") not in kinds:
            raise ParameterError("path", f"must be an image file ending in .png, .pdf or .svg"
                                 f" (a variable goes in name=), got {str(path)!r}")
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


def _extend(values, vmin: float, vmax: float) -> str:
    """Colour bar arrows for values clipped by the 1-99 % colour scale."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = bool(v.size and v.min() < vmin)
    hi = bool(v.size and v.max() > vmax)
    return {(False, False): "neither", (True, False): "min", (False, True): "max",
            (True, True): "both"}[(lo, hi)]


def plot_slices(ds: xr.Dataset, path: str | Path | None = None, *, name: str | None = None,
                levels: Sequence[float] | None = None, cmap: str = "viridis",
                track=None, source: tuple[float, float] | None = None) -> Figure:
    """One map per level of the estimate (x east, y north, metres from the origin).

    Each panel is titled by its level (the grid's own ``z`` values: the flown layers when
    the grid was made on them) and has its own colour bar (one scale for all panels).
    Voxels without an estimate (no data support) are grey-hatched; voxels holding samples
    are marked with dots, so measured and interpolated voxels can be told apart. The colour
    scale spans the 1-99 % range of the values (arrows on the bar when values lie outside).
    The axes say where their origin is; the title gives the date and place.

    Parameters
    ----------
    ds
        A grid Dataset (dims ``(z, y, x)``).
    path
        Image file to write (``.png``, ``.pdf``, ``.svg``); none by default.
    name
        Variable to draw (default: the estimate).
    levels
        Levels (m) to show, nearest taken (default: every level with an estimate).
    cmap
        Matplotlib colour map.
    track
        The flight track drawn on every panel: a samples Dataset or ``(lat, lon)`` arrays.
    source
        ``(lat, lon)`` of a source, marked with a red triangle.

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = horizontal_slices(ds, name, levels)
    n = da.sizes["z"]
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.4 * cols + 0.4, 3.5 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    vmin, vmax = _limits(da.values)
    origin = _origin(ds)
    count = (ds["number_of_observations"].sel(z=da.z)
             if "number_of_observations" in ds else None)
    mesh = None
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.set_visible(False)
            continue
        level = da.isel(z=k)
        _masked_style(ax)
        mesh = ax.pcolormesh(da.x, da.y, level, vmin=vmin, vmax=vmax, cmap=cmap,
                             shading="nearest")
        if count is not None:
            jj, ii = np.nonzero(count.isel(z=k).values > 0)
            ax.plot(da.x.values[ii], da.y.values[jj], ".", ms=2, color="k", alpha=0.5)
        _overlay(ax, ds, track, source)
        filled = int(np.isfinite(level.values).sum())
        ax.set_title(f"{_level(da.z, float(level.z))} ({filled} voxels)", fontsize=9)
        ax.set_aspect("equal")
        if k // cols == rows - 1 or k + cols >= n:
            ax.set_xlabel(f"m east {origin}", fontsize=8)
        if k % cols == 0:
            ax.set_ylabel(f"m north {origin}", fontsize=8)
        fig.colorbar(mesh, ax=ax, label=f"[{_units(da)}]", shrink=0.85,
                     extend=_extend(da.values, vmin, vmax))
    note = "dots: voxels with samples; " if count is not None else ""
    if track is not None or source is not None:
        note += "line: flight track; " if track is not None else ""
        note += "red triangle: source; " if source is not None else ""
    when = _when_where(ds)
    fig.suptitle(f"{da.attrs.get('long_name', da.name)} [{_units(da)}] by "
                 f"{_method(ds, _units(da))}" + (f"; {when}" if when else "") +
                 f"\n{note}hatched: no estimate (no data support)", fontsize=9)
    return _save(fig, path)


def plot_profile(ds: xr.Dataset, path: str | Path | None = None, *,
                 name: str | None = None) -> Figure:
    """Vertical profile: per-level mean, median and min-max / ±std envelopes.

    ``path`` (an image file to write) and ``name`` (the variable, default the estimate) as
    in :func:`plot_slices`; returns the :class:`~matplotlib.figure.Figure`.
    """
    prof = vertical_profile(ds, name)
    var = prof.attrs["variable"]
    fig = Figure(figsize=(5.0, 5.8), layout="constrained")
    ax = fig.subplots()
    keep = prof["voxels"].values > 0
    prof = prof.isel(z=np.flatnonzero(keep)) if keep.any() else prof
    z = prof.z.values
    ax.fill_betweenx(z, prof["min"], prof["max"], color="0.85", label="min-max")
    ax.fill_betweenx(z, prof["mean"] - prof["std"], prof["mean"] + prof["std"], color="0.65",
                     label="mean ± std")
    ax.plot(prof["mean"], z, "k-o", ms=3, label="mean")
    ax.plot(prof["median"], z, "b--", label="median")
    if "sample_weighted_mean" in prof:
        ax.plot(prof["sample_weighted_mean"], z, "r:", label="sample-weighted mean")
    ax.set_xlabel(_label(ds[var]))
    ax.set_ylabel(_zlabel(ds.z))
    ax.legend(fontsize=8)
    when = _when_where(ds)
    ax.set_title(f"vertical profile of {ds[var].attrs.get('long_name', var)} "
                 f"[{_units(ds[var])}]\nover voxels with an estimate, by "
                 f"{_method(ds, _units(ds[var]))}" + (f"\n{when}" if when else ""),
                 fontsize=9)
    return _save(fig, path)


def plot_section(ds: xr.Dataset, start: tuple[float, float], end: tuple[float, float],
                 path: str | Path | None = None, *, name: str | None = None,
                 cmap: str = "viridis") -> Figure:
    """Curtain along the line ``start`` -> ``end`` (``(lat, lon)`` each).

    ``path``, ``name`` and ``cmap`` as in :func:`plot_slices`; returns the
    :class:`~matplotlib.figure.Figure`.
    """
    sec = curtain(ds, start, end, name)
    sec.name = data_variable(ds, name)
    fig = Figure(figsize=(8, 4.0), layout="constrained")
    ax = fig.subplots()
    _masked_style(ax)
    vmin, vmax = _limits(sec.values)
    mesh = ax.pcolormesh(sec.distance, sec.z, sec, vmin=vmin, vmax=vmax, cmap=cmap,
                         shading="nearest")
    fig.colorbar(mesh, ax=ax, label=_label(sec), extend=_extend(sec.values, vmin, vmax))
    bearing = _bearing(start, end)
    left, right = compass(bearing + 180.0), compass(bearing)
    ax.set_xlabel(f"distance along the section from its {left} end "
                  f"({place(*start)}) [m]")
    ax.set_ylabel(_zlabel(ds.z))
    for x, text, ha in ((0.0, left, "left"), (1.0, right, "right")):
        ax.text(x, 1.01, text, transform=ax.transAxes, ha=ha, va="bottom",
                fontsize=11, fontweight="bold")
    when = _when_where(ds)
    ax.set_title(f"{sec.attrs.get('long_name', sec.name)} [{_units(sec)}] by "
                 f"{_method(ds, _units(sec))}" + (f"; {when}" if when else "") +
                 f"\nsection {left} {place(*start)} → {right} {place(*end)} "
                 f"(bearing {bearing:.0f}°); hatched: no estimate", fontsize=9, pad=16)
    return _save(fig, path)


def _bearing(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Initial bearing (degrees from north) of the line ``start`` -> ``end``."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*start, *end))
    dlon = lon2 - lon1
    y = math.sin(dlon) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360.0


def plot_slices_vs_truth(grid: xr.Dataset | xr.DataArray, truth: xr.DataArray,
                         path: str | Path | None = None, *, name: str | None = None,
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
    src = grid if isinstance(grid, xr.Dataset) else xr.Dataset()
    origin = _origin(src)
    fig = Figure(figsize=(13.0, 3.0 * n + 0.9), layout="constrained")
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
        rtext = f"r = {r:.2f}" if np.isfinite(r) else f"r n/a, {int(ok.sum())} voxels"
        axes[k, 0].set_title(f"grid, z = {z:g} m ({rtext})", fontsize=9)
        axes[k, 1].set_title(f"truth, z = {z:g} m", fontsize=9)
        axes[k, 2].set_title(f"grid - truth, z = {z:g} m", fontsize=9)
        for ax in axes[k]:
            ax.set_aspect("equal")
            ax.set_ylabel(f"m north {origin}", fontsize=8)
        for ax in (axes[k, 0], axes[k, 2]):
            _masked_style(ax)
        if k == n - 1:
            for ax in axes[k]:
                ax.set_xlabel(f"m east {origin}", fontsize=8)
        ext = _extend(np.concatenate([est.values.ravel(), tru.values.ravel()]), vmin, vmax)
        fig.colorbar(m1, ax=axes[k, 0], label=f"[{_units(est)}]", shrink=0.9, extend=ext)
        fig.colorbar(m1, ax=axes[k, 1], label=f"[{_units(est)}]", shrink=0.9, extend=ext)
        fig.colorbar(m3, ax=axes[k, 2], shrink=0.9, label=f"grid - truth [{_units(est)}]")
    fig.suptitle(f"{est.attrs.get('long_name', est.name)} [{_units(est)}]: "
                 f"{_method(src, _units(est)) if src.attrs else 'grid'} vs true field; "
                 f"{_zlabel(est.z)}; hatched: no estimate", fontsize=9)
    return _save(fig, path)
