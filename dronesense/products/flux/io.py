"""Flux results as CF netCDF (or JSON) and as a curtain figure.

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
>>> fig = plot_flux(res, out / "curtain.png")
>>> (out / "curtain.png").stat().st_size > 1000
True
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.gridding.dataset import time_variables
from dronesense.products.flux.result import NO_FILL, FluxResult


def write_flux(result: FluxResult, path: str | Path) -> Path:
    """Write the product: ``.nc`` (CF-1.11 / ACDD-1.3 netCDF of the curtain, dims ``(s, z)``,
    :meth:`FluxResult.to_dataset`; coordinates and bounds without ``_FillValue``) or ``.json``
    (summary + grids); returns the path (examples: the module's)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        g = result.grid
        doc = result.to_dict()
        doc["history"] = g.attrs.get("history", "")
        doc["grid"] = {
            "s": g["s"].values.tolist(), "z": g["z"].values.tolist(),
            "units": {"s": "m", "z": "m", "enhancement": result.info["units"],
                      "flux_density": "g m-2 s-1"},
            "enhancement": g[f"{result.quantity}_enhancement"].values.tolist(),
            "flux_density": g["flux_density"].values.tolist(),
            "cell_kind": g["cell_kind"].values.tolist(),
        }
        path.write_text(json.dumps(doc, indent=1, default=float) + "\n")
        return path
    g = result.to_dataset()
    enc: dict[str, dict] = {name: {"zlib": True, "complevel": 4}
                            for name, v in g.data_vars.items() if v.ndim > 1}
    time_encoding = time_variables(g["time_bounds"].values)[1] if "time_bounds" in g else {}
    for name in NO_FILL:
        if name in g.variables:
            enc.setdefault(name, {})["_FillValue"] = None
            if name.startswith("time"):
                enc[name].update(time_encoding)
    try:
        g.to_netcdf(path, encoding=enc)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot write: {err}", path=path) from None
    return path


def plot_flux(result: FluxResult, path: str | Path | None = None):
    """Figure of the curtain: enhancement and flux density over ``(s, z)``, saved to ``path``
    if given; returns the matplotlib figure (examples: the module's)."""
    from matplotlib.figure import Figure

    g = result.grid
    fig = Figure(figsize=(9, 7), constrained_layout=True)
    axes = fig.subplots(2, 1, sharex=True)
    se = np.append(g["s_bounds"].values[:, 0], g["s_bounds"].values[-1, 1])
    ze = np.append(g["z_bounds"].values[:, 0], g["z_bounds"].values[-1, 1])
    units = result.info["display_units"]
    panels = [(f"{result.quantity}_enhancement", f"enhancement [{units}]", "viridis"),
              ("flux_density", "flux density [g m-2 s-1]", "magma")]
    for ax, (name, label, cmap) in zip(axes, panels, strict=True):
        mesh = ax.pcolormesh(se, ze, g[name].values, cmap=cmap, shading="flat")
        fig.colorbar(mesh, ax=ax, label=label)
        ax.axhline(result.info["lowest_pass_m"], color="w", lw=0.8, ls="--")
        ax.set_ylabel("height above ground [m]")
    axes[-1].set_xlabel("distance along the curtain [m]")
    axes[0].set_title(
        f"{result.quantity}: {result.emission:.3g} ± {result.uncertainty:.2g} g/s "
        f"({result.emission_kg_h:.3g} kg/h); {100 * result.extrapolated_fraction:.0f}% "
        "below the dashed line extrapolated")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
