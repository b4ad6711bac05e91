"""One curtain: its samples, passes, enhancement grid and flux through the cells.

:func:`estimate_wall` is the estimate of :func:`dronesense.products.flux.estimate.estimate_flux`
for one curtain whose plane and samples are already chosen. The flux through a cell is the
interpolated product of each sample's enhancement and its own wind normal to the curtain
(a wind series) or the enhancement times the profile's normal wind at the cell's height.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError
from dronesense.geo import LocalFrame
from dronesense.gridding.methods.base import BaseGridder
from dronesense.products.flux.air import AirConversion, concentration_conversion
from dronesense.products.flux.background import Background, estimate_background, noise_level
from dronesense.products.flux.budget import (
    EDGE_INFLATION,
    JACKKNIFE_INFLATION,
    combined,
    effective_passes,
    ground_uncertainty,
    lowest_by_trend,
    small_sample_factor,
    uncertainty_budget,
)
from dronesense.products.flux.interpolation import (
    CurtainGrid,
    CurtainInterpolation,
    curtain_grid,
    make_gridder,
)
from dronesense.products.flux.notes import QualityFacts, quality_notes
from dronesense.products.flux.plane import CurtainPlane, Passes
from dronesense.products.flux.result import CurtainCells, FluxResult, curtain_dataset
from dronesense.products.flux.wind import WindProfile
from dronesense.products.flux.wind_series import SampleWind
from dronesense.quantities import display_units

__all__ = ["Flux", "Wall", "WallOptions", "estimate_wall"]


#: Pass-to-pass scatter (relative 1σ of the jackknife) above which a note says the passes
#: disagree: beyond the ~10 % a smooth plume a few passes thick gives by interpolation alone.
PASS_SCATTER = 0.15


@dataclass(frozen=True)
class Wall:
    """The samples on one curtain: along-curtain position, height, value, time (s), their
    index in the samples, the extent along the curtain and the passes."""

    s: np.ndarray
    z: np.ndarray
    v: np.ndarray
    t: np.ndarray
    index: np.ndarray
    s_range: tuple[float, float]
    passes: Passes
    dz: float

    @property
    def width(self) -> float:
        """Extent along the curtain, m."""
        return self.s_range[1] - self.s_range[0]

    @property
    def levels(self) -> tuple[float, float, float]:
        """Lowest pass, top pass and top of the curtain grid, m."""
        return self.passes.levels(self.dz)


@dataclass(frozen=True)
class WallOptions:
    """The choices of an estimate that do not change from curtain to curtain."""

    quantity: str
    units: str
    kind: str
    background: float | None
    background_error: float
    background_method: str
    edge_fraction: float
    percentile: float
    method: str | BaseGridder
    spacing: tuple[float, float]
    ground: str
    molar_mass: float | None
    jackknife: bool
    history: str


@dataclass(frozen=True)
class Flux:
    """The enhancement grid and the flux through the cells.

    ``normal_wind``: the wind normal to the curtain on each level; ``weight``: flux (g/s) per
    unit of enhancement in each cell; ``unit_total``: flux per unit over the whole wall (the
    effect of a background error).
    """

    enhancement: np.ndarray
    normal_wind: np.ndarray
    weight: np.ndarray
    density: np.ndarray
    emission: float
    extrapolated: float
    unit_total: float

    @property
    def extrapolated_fraction(self) -> float:
        """Share of the emission carried below the lowest pass."""
        return self.extrapolated / self.emission if self.emission > 0 else 0.0

    @property
    def peak(self) -> float:
        """Largest enhancement on the grid."""
        return float(np.nanmax(self.enhancement)) if self.enhancement.size else 0.0


def below_share(grid: CurtainGrid, z_low: float) -> np.ndarray:
    """Per level: the part of the cell's height that lies below ``z_low`` (0-1)."""
    lo, hi = grid.z_edges[:-1], grid.z_edges[1:]
    return np.clip((z_low - lo) / (hi - lo), 0.0, 1.0)


def _flux(enh: np.ndarray, flux_grid: np.ndarray, unit_grid: np.ndarray, grid: CurtainGrid,
          conversion: np.ndarray, z_low: float) -> Flux:
    """Flux from the grid of enhancement x normal wind (``flux_grid``) and of the normal wind
    alone (``unit_grid``)."""
    area = grid.area
    density = flux_grid * conversion[:, None]
    weight = unit_grid * conversion[:, None] * area
    emission = float(np.sum(density * area))
    share = below_share(grid, z_low)
    extrap = float(np.sum(density * area * share[:, None]))
    unit_total = float(np.sum(weight)) if grid.ground == "constant" else float(
        np.sum(weight * (1.0 - share)[:, None]))
    with np.errstate(invalid="ignore", divide="ignore"):
        level_wind = np.nanmean(unit_grid, axis=1)
    return Flux(enh, level_wind, weight, density, emission, extrap, unit_total)


def estimate_wall(samples: xr.Dataset, wall: Wall, plane: CurtainPlane, frame: LocalFrame,
                  origin: tuple[float, float, float], near: np.ndarray, wind: WindProfile,
                  sample_wind: SampleWind | None, opts: WallOptions,
                  extra: dict[str, Any]) -> FluxResult:
    """The emission through one curtain (see :mod:`dronesense.products.flux.estimate`)."""
    bg = estimate_background(wall.v, wall.s, wall.passes.ids, wall.s_range,
                             value=opts.background, error=opts.background_error,
                             method=opts.background_method, edge_fraction=opts.edge_fraction,
                             percentile=opts.percentile)
    z_low, _, z_ceiling = wall.levels
    grid = curtain_grid(wall.s_range, z_low=z_low, z_ceiling=z_ceiling, spacing=opts.spacing,
                        origin=origin, ground=opts.ground)
    gridder = make_gridder(opts.method)
    enh_s = wall.v - bg.value
    if sample_wind is not None:
        un = sample_wind.normal(plane.normal)[wall.index]
    else:
        un = plane.normal_speed(wind.speed_at(wall.z))
    fill = CurtainInterpolation(gridder, grid, wall.s, wall.z, enh_s * un)
    enh = CurtainInterpolation(gridder, grid, wall.s, wall.z, enh_s)()
    unit = CurtainInterpolation(gridder, grid, wall.s, wall.z, un)()
    if grid.ground == "zero":
        unit[grid.below, :] = 0.0
    air = concentration_conversion(samples, opts.quantity, opts.units,
                                   molar_mass=opts.molar_mass, near=near, altitude=origin[2],
                                   heights=grid.z_c)
    flux = _flux(enh, fill(), unit, grid, air.factor, z_low)
    n_tr = int(wall.passes.transects.sum())
    zs, line = pass_lines(wall, enh_s * un)
    thickness = pass_thickness(zs, z_ceiling, opts.ground)
    n_eff = effective_passes(line * thickness)
    jack, inflation = (_jackknife(fill, wall, air.factor, grid) if opts.jackknife
                       else ([], None))
    if len(jack) >= 3:
        jack, inflation = lowest_by_trend(jack, inflation, flux.emission, zs, line,
                                          pass_extents(wall), thickness, _lowest(wall))
    components = uncertainty_budget(flux.emission, background_error=bg.error,
                                    unit_total=flux.unit_total, wind=wind,
                                    cos_theta=plane.cos_theta, jackknife=jack,
                                    jackknife_inflation=inflation)
    if len(jack) >= 3:
        components["interpolation"] *= small_sample_factor(n_eff)
    components["ground_extrapolation"] = ground_uncertainty(
        flux.extrapolated, zs, line if opts.ground == "constant" else None)
    unc = combined(components)
    shown = display_units(opts.units, opts.quantity)
    noise = noise_level(wall.v)
    notes = quality_notes(QualityFacts(
        plane.cos_theta, flux.peak, noise, bg.error, flux.emission, unc, shown, flux.enhancement,
        flux.extrapolated_fraction, z_low, extra.get("source_distance_m")))
    scatter = components.get("interpolation", 0.0) / abs(flux.emission) if flux.emission else 0
    if scatter > PASS_SCATTER and flux.emission > 2 * unc:
        notes.append(f"the passes disagree: leaving each out in turn moves the emission by "
                     f"±{100 * scatter:.0f}% (the plume moved or changed strength between or "
                     "during the passes, meander and gusts, or is thin for the pass spacing); "
                     "this flight alone is not good to ±10%: repeat the curtain or fly more "
                     "passes")
    if opts.jackknife and len(jack) >= 3 and n_eff < 3:
        notes.append(f"the flux is carried by about {n_eff:.1f} of the {n_tr} passes: the "
                     "interpolation uncertainty from so few is widened (Student t); fly more "
                     "passes through the plume")
    if opts.jackknife and len(jack) < 3:
        notes.append(f"interpolation uncertainty not estimable from {n_tr} pass"
                     f"{'es' if n_tr != 1 else ''} (the pass jackknife needs at least 3): "
                     "the uncertainty lacks that part")
        components.pop("interpolation", None)
    info = _info(opts, shown, bg, flux.peak, noise, air, wind, plane,
                 _describe(gridder, opts.method), frame, wall, len(jack),
                 {"effective_passes": round(n_eff, 2), **extra})
    lat_s, lon_s, _ = frame.inverse(plane.centre[0] + grid.s_c * plane.along[0],
                                    plane.centre[1] + grid.s_c * plane.along[1])
    cells = CurtainCells(grid.s_c, grid.z_c, grid.s_edges, grid.z_edges, lat_s, lon_s,
                         flux.enhancement, flux.density, air.factor, flux.normal_wind,
                         air.air_molar_density, grid.below, grid.count(wall.s, wall.z))
    part = samples.isel(obs=np.sort(wall.index)) if "obs" in samples.dims else samples
    dataset = curtain_dataset(
        opts.quantity, opts.units, opts.kind, cells, frame=frame, samples=part,
        emission=flux.emission, uncertainty=unc, components=components,
        extrapolated_fraction=flux.extrapolated_fraction, info=info, notes=notes,
        history=opts.history)
    return FluxResult(opts.quantity, flux.emission, unc, components,
                      flux.extrapolated_fraction, dataset, notes, info)


def pass_lines(wall: Wall, flux_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per transect, lowest first: its median height (m) and the integral of
    ``flux_values`` along the curtain (quantity units x m/s x m)."""
    tids, zs = _transect_heights(wall)
    line = []
    for r in tids:
        k = np.flatnonzero(wall.passes.ids == r)
        order = np.argsort(wall.s[k])
        line.append(float(np.trapezoid(flux_values[k][order], wall.s[k][order])))
    order = np.argsort(zs, kind="stable")
    return zs[order], np.array(line, dtype=float)[order]


def pass_extents(wall: Wall) -> np.ndarray:
    """Per transect, in the order of :func:`pass_lines`: the length (m) of curtain it
    covers."""
    tids, zs = _transect_heights(wall)
    ext = np.array([np.ptp(wall.s[wall.passes.ids == r]) for r in tids], dtype=float)
    return ext[np.argsort(zs, kind="stable")]


def pass_thickness(zs: np.ndarray, z_ceiling: float, ground: str) -> np.ndarray:
    """The height each transect (at sorted heights ``zs``) stands for: halfway to its
    neighbours, the lowest down to the ground under the ``constant`` rule, the top up to
    ``z_ceiling``."""
    if zs.size == 0:
        return np.zeros(0)
    mid = (zs[1:] + zs[:-1]) / 2
    bottom = 0.0 if ground == "constant" else float(zs[0])
    edges = np.concatenate([[bottom], mid, [max(z_ceiling, float(zs[-1]))]])
    return np.clip(np.diff(edges), 0.0, None)


def _jackknife(fill: CurtainInterpolation, wall: Wall, conversion: np.ndarray,
               grid: CurtainGrid) -> tuple[list[float], list[float] | None]:
    """Emissions with each transect left out in turn (none with fewer than 3 transects),
    and the variance inflation of each refill (the lowest and top pass have one
    neighbour)."""
    passes = wall.passes
    tids, z = _transect_heights(wall)
    if tids.size < 3:
        return [], None
    w = conversion[:, None] * grid.area
    edge = (z == z.min()) | (z == z.max())
    inflation = np.where(edge, EDGE_INFLATION, JACKKNIFE_INFLATION).tolist()
    return [float(np.sum(fill(passes.ids != r) * w)) for r in tids], inflation


def _lowest(wall: Wall) -> int:
    """Position, among the transects in order of their id, of the lowest one."""
    return int(np.argmin(_transect_heights(wall)[1]))


def _transect_heights(wall: Wall) -> tuple[np.ndarray, np.ndarray]:
    """The transects' pass ids, in order, and each one's median height (m)."""
    tids = np.flatnonzero(wall.passes.transects)
    z = np.array([np.median(wall.z[wall.passes.ids == r]) for r in tids], dtype=float)
    return tids, z


def _describe(gridder: BaseGridder, method: str | BaseGridder) -> str:
    text = repr(gridder)
    return text + " (empty cells by IDW)" if isinstance(method, str) and method == "block" else text


def _info(opts: WallOptions, shown_units: str, bg: Background, peak: float, noise: float,
          air: AirConversion, wind: WindProfile, plane: CurtainPlane, method: str,
          frame: LocalFrame, wall: Wall, n_jack: int, extra: dict[str, Any]) -> dict[str, Any]:
    """Everything printed and stored besides the emission and its budget."""
    clat, clon, _ = frame.inverse(*plane.centre)
    z_low, z_top, z_ceiling = wall.levels
    return {
        "units": opts.units, "display_units": shown_units,
        "background": bg.value, "background_error": bg.error, "background_method": bg.how,
        "peak_enhancement": peak, "noise": noise, "air": air.description,
        "wind": wind.describe(), "wind_speed": wind.speed, "wind_from_deg": wind.from_deg,
        "wind_exponent": wind.exponent, "wind_reference_height": wind.reference_height,
        "wind_angle_deg": plane.theta,
        "method": method, "spacing": list(opts.spacing),
        "ground": ("constant from the lowest pass" if opts.ground == "constant"
                   else "zero (lower bound)"),
        "centre_lat": float(clat), "centre_lon": float(clon), "azimuth_deg": plane.azimuth_deg,
        "width_m": wall.width, "top_m": z_ceiling,
        "passes": int(wall.passes.transects.sum()),
        "pass_heights_m": [float(h) for h in wall.passes.heights],
        "lowest_pass_m": z_low, "top_pass_m": z_top,
        "samples": int(wall.s.size), "jackknife_passes": n_jack,
        **extra,
    }


def check_enough(n: int, quantity: str, max_offset: float) -> None:
    """Too few samples near the curtain plane for an estimate."""
    if n < 20:
        raise NoUsableDataError(f"only {n} {quantity} samples within {max_offset:g} m of the "
                                "curtain plane")
