"""Flux results as CF netCDF (or JSON) and as a curtain figure.

A result of one curtain is one CF-1.11 / ACDD-1.3 Dataset, dims ``(s, z)``, in the root of
the file. A flight with several curtains (:class:`~dronesense.products.flux.curtains.FlightFlux`)
or a box flight (:class:`~dronesense.products.flux.box.BoxFlux`) keeps the combined figure
(or the net flux out of the box) in the root group's global attributes and each curtain or
wall as a netCDF-4 group of its own, ``curtain_0``, ``curtain_1``, ... (0 = first flown, as
``--curtain N``) or ``wall_0`` ... ``wall_3``, each the same CF Dataset as a single curtain
(``xr.open_dataset(path, group="curtain_1")``, ``xr.open_datatree(path)``); the root's
``flux_groups`` attribute lists them.

Examples
--------
A small curtain 80 m downwind of a CH4 source, six passes from 5 to 30 m:

>>> import tempfile
>>> import xarray as xr
>>> from dronesense.geo import LocalFrame
>>> from dronesense.products.flux.estimate import estimate_flux
>>> north = np.tile(np.linspace(-60.0, 60.0, 61), 6)
>>> height = np.repeat(np.arange(5.0, 35.0, 5.0), 61)
>>> ch4 = 1.9 + 1.5 * np.exp(-0.5 * (north / 12.0) ** 2 - 0.5 * ((height - 15.0) / 6.0) ** 2)
>>> lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 80.0), north)
>>> samples = xr.Dataset({"ch4": ("obs", ch4, {"units": "1e-6"}), "lat": ("obs", lat),
...                       "lon": ("obs", lon), "height": ("obs", height)})
>>> res = estimate_flux(samples, "ch4", wind=(3.0, 270.0), jackknife=False)
>>> tmp = tempfile.TemporaryDirectory()
>>> out = Path(tmp.name)
>>> write_flux(res, out / "flux.nc").name, write_flux(res, out / "flux.json").name
('flux.nc', 'flux.json')
>>> with xr.open_dataset(out / "flux.nc") as nc:
...     bool(nc.attrs["emission_rate"] == res.emission), nc["flux_density"].dims
(True, ('s', 'z'))
>>> flux_parts(res)  # one curtain: no groups
[]
>>> fig = plot_flux(res, out / "curtain.png")
>>> (out / "curtain.png").stat().st_size > 1000
True
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.geoformats import json_safe
from dronesense.gridding.dataset import product_attributes, time_variables
from dronesense.products.flux.result import NO_FILL, FluxResult

__all__ = ["flux_datasets", "flux_parts", "plot_flux", "write_flux"]

#: Attributes CF 2.7.2 allows in the root group only.
_ROOT_ONLY = ("Conventions", "external_variables")


def flux_parts(result: FluxResult) -> list[tuple[str, FluxResult]]:
    """The curtains of a multi-curtain result (``curtain_<k>``, ``k`` = 0 for the first
    flown) or the walls of a box (``wall_<k>``, in the order of ``result.walls``), each with
    its group name; ``[]`` for a result of one curtain."""
    curtains = getattr(result, "curtains", None) or []
    if curtains:
        return [(f"curtain_{k}", r) for k, r in enumerate(curtains)]
    walls = getattr(result, "walls", None) or []
    return [(f"wall_{k}", w) for k, w in enumerate(walls)]


def flux_datasets(result: FluxResult) -> dict[str, xr.Dataset]:
    """The product as Datasets by group path: ``{"/": ...}`` for one curtain
    (:meth:`FluxResult.to_dataset`); for several curtains or a box, ``"/"`` holds only the
    global attributes (the combined figure, coverage of every part, ``flux_groups``) and
    ``"/curtain_<k>"`` / ``"/wall_<k>"`` each part's curtain Dataset (``Conventions`` in the
    root only, CF 2.7.2). ``xr.DataTree.from_dict(flux_datasets(res))`` is the file as
    :func:`xarray.open_datatree` reads it."""
    parts = flux_parts(result)
    if not parts:
        return {"/": result.to_dataset()}
    out = {"/": xr.Dataset(attrs=_root_attributes(result, parts))}
    for name, part in parts:
        g = part.to_dataset()
        g = g.assign_attrs(flux_part=name)
        for key in _ROOT_ONLY:
            g.attrs.pop(key, None)
        out[f"/{name}"] = g
    return out


def _root_attributes(result: FluxResult, parts: list[tuple[str, FluxResult]]) -> dict:
    """Global attributes of a multi-part product: the combined figure and the coverage of
    every part."""
    from dronesense.quantities import QUANTITIES

    grids = [p.grid for _, p in parts]
    first = grids[0].attrs
    q = QUANTITIES.get(result.quantity)
    long = q.long_name if q else result.quantity
    walls = parts[0][0].startswith("wall")
    n = len(parts)
    what = (f"the {n} walls of a box flown around an area source" if walls
            else f"{n} curtains flown downwind of a source")
    figure = ("net emission out of the box" if walls else "combined emission of the valid "
              "curtains (inverse-variance mean)")
    value = (f"{result.emission:.4g} g/s with a standard uncertainty of "
             f"{result.uncertainty:.2g} g/s" if math.isfinite(result.emission)
             else "not given (no curtain valid on its own; see notes)")
    times = np.concatenate([g["time_bounds"].values.ravel() for g in grids
                            if "time_bounds" in g] or [np.array([], "M8[ns]")])
    attrs = product_attributes(
        title=f"dronesense mass-balance emission estimate of {long} from {what}",
        summary=(f"Emission rate of {long} from {what} by an unmanned aircraft; {figure}: "
                 f"{value}. Each {'wall' if walls else 'curtain'} is a group of this file "
                 f"({', '.join(name for name, _ in parts)}) with its own estimate and grid."),
        keywords=[k.strip() for k in str(first.get("keywords", "")).split(",")],
        history=str(first.get("history", "")),
        lat=np.concatenate([g["lat"].values for g in grids]),
        lon=np.concatenate([g["lon"].values for g in grids]),
        vertical=np.concatenate([g["z"].values for g in grids]),
        vertical_crs=str(first.get("geospatial_bounds_vertical_crs", "height above home")),
        times=times if times.size else None)
    attrs.update({
        "quantity": result.quantity,
        "emission_rate": result.emission,
        "emission_rate_uncertainty": result.uncertainty,
        "emission_rate_units": "g s-1",
        "emission_rate_kg_h": result.emission_kg_h,
        "extrapolated_fraction": result.extrapolated_fraction,
        "notes": "; ".join(result.notes),
        "flux_summary": json.dumps(json_safe(dict(result.info)), default=float),
        "flux_groups": " ".join(name for name, _ in parts),
    })
    for k, val in result.components.items():
        attrs[f"uncertainty_{k}"] = val
    return attrs


def _encoding(g: xr.Dataset) -> dict[str, dict]:
    enc: dict[str, dict] = {name: {"zlib": True, "complevel": 4}
                            for name, v in g.data_vars.items() if v.ndim > 1}
    time_encoding = time_variables(g["time_bounds"].values)[1] if "time_bounds" in g else {}
    for name in NO_FILL:
        if name in g.variables:
            enc.setdefault(name, {})["_FillValue"] = None
            if name.startswith("time"):
                enc[name].update(time_encoding)
    return enc


def _grid_doc(result: FluxResult) -> dict:
    g = result.grid
    return {
        "s": g["s"].values.tolist(), "z": g["z"].values.tolist(),
        "units": {"s": "m", "z": "m", "enhancement": result.info["units"],
                  "flux_density": "g m-2 s-1"},
        "enhancement": g[f"{result.quantity}_enhancement"].values.tolist(),
        "flux_density": g["flux_density"].values.tolist(),
        "cell_kind": g["cell_kind"].values.tolist(),
    }


def write_flux(result: FluxResult, path: str | Path) -> Path:
    """Write the product: ``.nc`` (CF-1.11 / ACDD-1.3 netCDF-4: one curtain in the root,
    dims ``(s, z)``; several curtains or a box's walls as groups, the combined figure in the
    root: :func:`flux_datasets`; coordinates and bounds without ``_FillValue``) or ``.json``
    (summary + grids, ``grid`` of each curtain or wall in its entry of ``curtains`` /
    ``walls``; NaN as ``null``); returns the path (examples: the module's)."""
    path = Path(path)
    parts = flux_parts(result)
    if path.suffix.lower() == ".json":
        doc = result.to_dict()
        doc["history"] = (parts[0][1] if parts else result).grid.attrs.get("history", "")
        if parts:
            key = "walls" if parts[0][0].startswith("wall") else "curtains"
            for entry, (name, part) in zip(doc[key], parts, strict=True):
                entry["group"] = name
                entry["grid"] = _grid_doc(part)
        else:
            doc["grid"] = _grid_doc(result)
        text = json.dumps(json_safe(doc), indent=1, default=float, allow_nan=False)
        try:
            path.write_text(text + "\n")
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
        return path
    try:
        for k, (group, g) in enumerate(flux_datasets(result).items()):
            g.to_netcdf(path, mode="w" if k == 0 else "a", format="NETCDF4",
                        group=None if group == "/" else group.lstrip("/"),
                        encoding=_encoding(g))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot write: {err}", path=path) from None
    return path


def plot_flux(result: FluxResult, path: str | Path | None = None):
    """Figure of the curtain: enhancement and flux density over ``(s, z)``, one column per
    curtain or wall when there are several, saved to ``path`` if given; returns the
    matplotlib figure (examples: the module's)."""
    from matplotlib.figure import Figure

    parts = flux_parts(result) or [("", result)]
    n = len(parts)
    fig = Figure(figsize=(9 if n == 1 else 4.6 * n, 7), constrained_layout=True)
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    for col, (name, part) in enumerate(parts):
        g = part.grid
        se = np.append(g["s_bounds"].values[:, 0], g["s_bounds"].values[-1, 1])
        ze = np.append(g["z_bounds"].values[:, 0], g["z_bounds"].values[-1, 1])
        units = part.info["display_units"]
        panels = [(f"{part.quantity}_enhancement", f"enhancement [{units}]", "viridis"),
                  ("flux_density", "flux density [g m-2 s-1]", "magma")]
        for ax, (var, label, cmap) in zip(axes[:, col], panels, strict=True):
            mesh = ax.pcolormesh(se, ze, g[var].values, cmap=cmap, shading="flat")
            fig.colorbar(mesh, ax=ax, label=label)
            ax.axhline(part.info["lowest_pass_m"], color="w", lw=0.8, ls="--")
            if col == 0:
                ax.set_ylabel("height above ground [m]")
        axes[-1, col].set_xlabel("distance along the curtain [m]")
        figure = (f"{part.quantity}: {part.emission:.3g} ± {part.uncertainty:.2g} g/s "
                  f"({part.emission_kg_h:.3g} kg/h)")
        share = f"{100 * part.extrapolated_fraction:.0f}% below the dashed line extrapolated"
        head = f"{figure}; {share}"
        if name:
            side = part.info.get("wall")
            head = f"{name.replace('_', ' ')}{f' ({side})' if side else ''}\n{figure}\n{share}"
        axes[0, col].set_title(head, fontsize=10 if n > 1 else None)
    if n > 1:
        box = parts[0][0].startswith("wall")
        what = "net out of the box" if box else "combined"
        fig.suptitle(f"{result.quantity} {what}: {result.emission:.3g} ± "
                     f"{result.uncertainty:.2g} g/s" if math.isfinite(result.emission)
                     else f"{result.quantity}: no combined figure (see each curtain's notes)")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
