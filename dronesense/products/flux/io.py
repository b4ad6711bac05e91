"""Flux results as CF netCDF and as a curtain figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dronesense.errors import InputError
from dronesense.products.flux.result import FluxResult


def write_flux(result: FluxResult, path: str | Path) -> Path:
    """Write the product: ``.nc`` (CF netCDF of the grids) or ``.json`` (summary + grids).

    Examples
    --------
    >>> write_flux(res, "flux.nc")      # doctest: +SKIP
    PosixPath('flux.nc')
    """
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
    enc = {name: {"zlib": True, "complevel": 4} for name, v in result.grid.data_vars.items()
           if v.ndim > 0}
    try:
        result.grid.to_netcdf(path, encoding=enc)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot write: {err}", path=path) from None
    return path


def plot_flux(result: FluxResult, path: str | Path | None = None):
    """Figure of the curtain: enhancement and flux density over ``(s, z)``.

    Examples
    --------
    >>> fig = plot_flux(res, "curtain.png")      # doctest: +SKIP
    """
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
