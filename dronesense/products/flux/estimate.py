"""Mass-balance emission estimate from a downwind curtain flight.

A *curtain* (``dronesense mission curtain``) is a vertical wall of crosswind transects flown
downwind of a source. Everything the source emits is carried through that wall by the wind,
so the emission rate is the surface integral of the flux density over the wall:

.. math::

    Q = \\int_0^{z_{top}} \\int_{s_0}^{s_1} (C(s, z) - C_b)\\, u_\\perp(z)\\, ds\\, dz

with :math:`C - C_b` the enhancement above background as a mass concentration and
:math:`u_\\perp` the wind component normal to the wall. This is the standard
mass-balance ("curtain", "flux plane") method of aircraft and UAV methane quantification
(White et al. 1976; Cambaliza et al. 2014; Nathan et al. 2015; Allen et al. 2019;
Morales et al. 2022). :func:`estimate_flux` does it in steps:

1. **Plane.** Samples are put in the local frame of the home point
   (:class:`dronesense.geo.LocalFrame`); the curtain line is given (``line=``) or fitted to
   the horizontal positions (principal axis, refitted without samples more than
   ``max_offset`` m off the line, so transit legs do not count). ``s`` is the distance
   along the line from its centre, ``z`` the height above home (taken as the ground).
2. **Passes.** Runs of consecutive samples at one height are passes (transects).
3. **Background.** A given value, or the median of the samples on the outer
   ``edge_fraction`` of the curtain at both ends (``edges``, default; uncertainty: half the
   left/right difference and the standard error), or a low ``percentile``.
4. **Interpolation.** The enhancement is interpolated onto an ``(s, z)`` grid by a
   :mod:`dronesense.gridding.methods.base` method (IDW by default, or kriging / block means), from
   the ground to half a level spacing above the top pass. Cells below the lowest pass are
   **extrapolated**: constant from the lowest pass (``ground="constant"``, the usual rule)
   or zero (``ground="zero"``, a lower bound); the flux fraction from these cells is reported.
5. **Concentration.** Mole fractions (``1e-6``, ``1e-9``) become mass concentrations with
   the molar density of air ``p / (R T)``: temperature and pressure from the samples where
   they hold them, otherwise the ICAO standard atmosphere at the curtain's altitude.
   Mass concentrations (``ug m-3``) are used as they are.
6. **Wind.** A :class:`~dronesense.products.flux.wind.WindProfile`: speed at a reference
   height, direction, power-law exponent; its component normal to the curtain. From the user
   (a profile, ``"3.2±0.3@240±10"`` text or a ``(speed, from_deg)`` pair:
   :func:`~dronesense.products.flux.wind.as_wind`), or fitted to the autopilot's MAVLink
   ``WIND`` messages (:func:`dronesense.sources.wind.read_wind_reports`, then
   :func:`~dronesense.products.flux.wind.wind_from_reports`: exponent fitted).
7. **Uncertainty.** Background (± its uncertainty), wind speed and direction (± their
   uncertainties), interpolation (delete-one-pass jackknife), added in quadrature.

Each step is a module of :mod:`dronesense.products.flux`: ``inputs``, ``plane``,
``background``, ``interpolation``, ``air``, ``wind``, ``budget``, ``notes``; this module runs
them in turn (:func:`estimate_flux`).

References
----------
White, W. H. et al. (1976). Formation and transport of secondary air pollutants: ozone and
aerosols in the St. Louis urban plume. Science 194, 187-189.
Cambaliza, M. O. L. et al. (2014). Assessment of uncertainties of an aircraft-based mass
balance approach for quantifying urban greenhouse gas emissions. Atmos. Chem. Phys. 14,
9029-9050.
Nathan, B. J. et al. (2015). Near-field characterization of methane emission variability
from a compressor station using a model aircraft. Environ. Sci. Technol. 49, 7896-7903.
Allen, G. et al. (2019). The development and trial of an unmanned aerial system for the
measurement of methane flux from landfill and greenhouse gas emission hotspots. Waste
Management 87, 883-892.
Morales, R. et al. (2022). Controlled-release experiment to investigate uncertainties in
UAV-based emission quantification for methane point sources. Atmos. Meas. Tech. 15,
2177-2198.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError
from dronesense.geo import LocalFrame
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.spec import default_origin
from dronesense.products.flux.air import (
    AirConversion,
    concentration_conversion,
    mass_factor,
    quantity_units,
)
from dronesense.products.flux.background import Background, estimate_background, noise_level
from dronesense.products.flux.budget import combined, uncertainty_budget
from dronesense.products.flux.inputs import UsableSamples, check_parameters, usable_samples
from dronesense.products.flux.interpolation import (
    CurtainGrid,
    CurtainInterpolation,
    curtain_grid,
    make_gridder,
)
from dronesense.products.flux.notes import QualityFacts, quality_notes
from dronesense.products.flux.plane import (
    CurtainPlane,
    Passes,
    find_passes,
    fit_line,
    given_line,
    orient,
)
from dronesense.products.flux.result import CurtainCells, FluxResult, curtain_dataset
from dronesense.products.flux.wind import WindProfile, as_wind
from dronesense.quantities import display_units

__all__ = ["estimate_flux"]


def estimate_flux(
    samples: xr.Dataset,
    quantity: str,
    *,
    wind: WindProfile | str | tuple[float, float],
    background: float | None = None,
    background_error: float = 0.0,
    background_method: str = "edges",
    edge_fraction: float = 0.1,
    percentile: float = 5.0,
    method: str | BaseGridder = "idw",
    spacing: tuple[float, float] = (5.0, 2.5),
    ground: str = "constant",
    source: tuple[float, float] | None = None,
    line: tuple[tuple[float, float], tuple[float, float]] | None = None,
    max_offset: float = 20.0,
    molar_mass: float | None = None,
    jackknife: bool = True,
    history: str = "",
) -> FluxResult:
    """Emission rate (g/s) of a source from the samples of a downwind curtain flight.

    Parameters
    ----------
    samples
        Paired samples (the Dataset of :func:`dronesense.samples.dataset.to_dataset`, a file read
        by :func:`dronesense.samples.files.load_dataset`).
    quantity
        Quantity key: a mole fraction (``ch4``, ``co2``, ...) or a mass concentration
        (``pm2p5``...).
    wind
        The wind: a :class:`~dronesense.products.flux.wind.WindProfile` (e.g. from
        :func:`~dronesense.products.flux.wind.wind_from_reports`), text
        ``SPEED[±ERR]@FROM_DEG[±ERR]`` or a ``(speed, from_deg)`` pair at 10 m, uniform with
        height (:func:`~dronesense.products.flux.wind.as_wind`).
    background
        Background in the quantity's units; ``None`` estimates it (``background_method``).
    background_error
        Uncertainty of a given background.
    background_method
        ``edges`` (median of the outer ``edge_fraction`` of the curtain at both ends) or
        ``percentile`` (the ``percentile``-th percentile of all curtain samples; biased low
        by about 1.6 noise deviations for the 5th).
    method
        Interpolation of the enhancement in ``(s, z)``: ``idw`` (default; ``IDW(k=8,
        anisotropy=1)``), ``kriging``, ``block`` (cell means, empty cells filled by IDW),
        or a :class:`dronesense.gridding.methods.base.BaseGridder`.
    spacing
        ``(ds, dz)`` cell size in metres.
    ground
        Rule below the lowest pass: ``constant`` (the lowest pass's values down to the
        ground) or ``zero``.
    source
        ``(lat, lon)`` of the source: checks that the curtain is downwind of it.
    line
        ``((lat1, lon1), (lat2, lon2))``: the curtain line; default fitted to the samples.
    max_offset
        Samples farther than this (m) from the curtain plane are not used.
    molar_mass
        g/mol for a mole fraction dronesense has no molar mass for.
    jackknife
        Estimate the interpolation uncertainty by leaving out each pass in turn.
    history
        Command line or call, stored in the product.

    Returns
    -------
    FluxResult

    Raises
    ------
    ParameterError
        A parameter out of its range, named (``max_offset``, ``edge_fraction``, ``wind``...).
    InputError
        No samples of the quantity, unusable units.
    NoUsableDataError
        Too few samples on the curtain, or at its ends for a background.

    Examples
    --------
    A curtain 100 m east of home, across a wind of 3 m/s from the west: ten passes from 4 to
    40 m, 1 m apart along 160 m, through a Gaussian plume of PM2.5 (100 ug/m3 at its centre,
    20 m up, σ 15 m across and 6 m in height) on a background of 10 ug/m3. The emission is
    the plume's cross-section integral times the wind: 100e-6 g/m3 · 2π · 15 · 6 m2 · 3 m/s.

    >>> import math
    >>> s = np.linspace(-80.0, 80.0, 161)
    >>> passes = [(z, s if k % 2 == 0 else s[::-1]) for k, z in enumerate(range(4, 41, 4))]
    >>> north = np.concatenate([p for _, p in passes])
    >>> height = np.concatenate([np.full(p.size, float(z)) for z, p in passes])
    >>> pm = 10.0 + 100.0 * np.exp(-0.5 * (north / 15.0) ** 2 - 0.5 * ((height - 20.0) / 6.0) ** 2)
    >>> lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 100.0), north)
    >>> samples = xr.Dataset({
    ...     "pm2p5": ("obs", pm, {"units": "ug m-3"}), "lat": ("obs", lat),
    ...     "lon": ("obs", lon), "height": ("obs", height),
    ...     "time_boot_ms": ("obs", 1000.0 * np.arange(north.size))})
    >>> res = estimate_flux(samples, "pm2p5", wind="3@270", spacing=(4.0, 2.0))
    >>> true = 100e-6 * 2 * math.pi * 15.0 * 6.0 * 3.0
    >>> round(true, 3), round(res.emission, 3), abs(res.emission - true) < 0.02 * true
    (0.17, 0.17, True)
    >>> res.lines()[0]
    'emission pm2p5: 0.17 g/s ± 0.026 g/s (0.613 kg/h ± 0.095 kg/h)'
    >>> res.info["passes"], round(res.info["background"], 3), res.notes
    (10, 10.0, [])
    """
    use = usable_samples(samples, quantity)
    units = quantity_units(samples, quantity)
    kind, _ = mass_factor(units, quantity, molar_mass)  # units checked before parameters
    spacing = check_parameters(max_offset=max_offset, edge_fraction=edge_fraction,
                               percentile=percentile, molar_mass=molar_mass, ground=ground,
                               spacing=spacing)
    wind = as_wind(wind)
    origin = default_origin(samples)
    frame = LocalFrame(*origin)
    plane, on, wall = _curtain(frame, use, wind, line, max_offset, quantity, spacing[1])
    bg = estimate_background(wall.v, wall.s, wall.passes.ids, wall.s_range, value=background,
                             error=background_error, method=background_method,
                             edge_fraction=edge_fraction, percentile=percentile)
    grid = curtain_grid(wall.s_range, z_low=wall.levels[0], z_ceiling=wall.levels[2],
                        spacing=spacing, origin=origin, ground=ground)
    gridder = make_gridder(method)
    interpolate = CurtainInterpolation(gridder, grid, wall.s, wall.z, wall.v - bg.value)
    air = concentration_conversion(samples, quantity, units, molar_mass=molar_mass, near=on,
                                   altitude=origin[2], heights=grid.z_c)
    flux = _Flux.of(interpolate(), grid, air.factor, plane.normal_speed(wind.speed_at(grid.z_c)))
    jack = _jackknife(interpolate, wall.passes, flux.weight) if jackknife else []
    components = uncertainty_budget(flux.emission, background_error=bg.error,
                                    unit_total=flux.unit_total, wind=wind,
                                    cos_theta=plane.cos_theta, jackknife=jack)
    unc = combined(components)
    source_at = _source_position(frame, plane, source)
    shown_units = display_units(units, quantity)
    noise = noise_level(wall.v)
    notes = quality_notes(QualityFacts(
        plane.cos_theta, flux.peak, noise, bg.error, flux.emission, unc,
        shown_units, flux.enhancement, flux.extrapolated_fraction, wall.levels[0],
        None if source_at is None else source_at["source_distance_m"]))
    info = _info(units, shown_units, bg, flux.peak, noise, air, wind, plane,
                 _describe(gridder, method), spacing, ground, frame, wall, len(jack),
                 source_at or {})
    lat_s, lon_s, _ = frame.inverse(plane.centre[0] + grid.s_c * plane.along[0],
                                    plane.centre[1] + grid.s_c * plane.along[1])
    cells = CurtainCells(grid.s_c, grid.z_c, grid.s_edges, grid.z_edges, lat_s, lon_s,
                         flux.enhancement, flux.density, air.factor, flux.normal_wind,
                         air.air_molar_density, grid.below, grid.count(wall.s, wall.z))
    dataset = curtain_dataset(
        quantity, units, kind, cells, frame=frame, samples=samples, emission=flux.emission,
        uncertainty=unc, components=components,
        extrapolated_fraction=flux.extrapolated_fraction, info=info, notes=notes,
        history=history)
    return FluxResult(quantity, flux.emission, unc, components, flux.extrapolated_fraction,
                      dataset, notes, info)


def _curtain(frame: LocalFrame, use: UsableSamples, wind: WindProfile, line, max_offset: float,
             quantity: str, dz: float) -> tuple[CurtainPlane, np.ndarray, _Wall]:
    """The plane, the mask of the samples near it, and the usable samples on it."""
    x_all, y_all, _ = frame.forward(use.lat, use.lon)
    plane = _plane(frame, x_all[use.ok], y_all[use.ok], use.time[use.ok], wind, line,
                   max_offset, quantity)
    s_all, d_all = plane.project(x_all, y_all)
    on = plane.near(s_all, d_all, max_offset)
    return plane, on, _Wall.of(use, on, s_all, plane, quantity, max_offset, dz)


@dataclass(frozen=True)
class _Flux:
    """The enhancement grid and the flux through the cells.

    ``normal_wind`` is the wind normal to the curtain on each level, ``weight`` the flux
    (g/s) per unit of enhancement in each cell: conversion times normal wind times area.
    """

    enhancement: np.ndarray
    normal_wind: np.ndarray
    weight: np.ndarray
    density: np.ndarray
    emission: float
    extrapolated_fraction: float
    unit_total: float

    @classmethod
    def of(cls, enhancement: np.ndarray, grid: CurtainGrid, conversion: np.ndarray,
           normal_wind: np.ndarray) -> _Flux:
        rate = conversion * normal_wind
        weight = rate[:, None] * grid.area
        emission = float(np.sum(enhancement * weight))
        density = enhancement * rate[:, None]
        extrap = float(np.sum(density[grid.below] * grid.area[grid.below]))
        unit_total = float(np.sum(weight)) if grid.ground == "constant" else float(
            np.sum(weight[~grid.below]))
        return cls(enhancement, normal_wind, weight, density, emission,
                   extrap / emission if emission > 0 else 0.0, unit_total)

    @property
    def peak(self) -> float:
        """Largest enhancement on the grid."""
        return float(np.nanmax(self.enhancement)) if self.enhancement.size else 0.0


def _plane(frame: LocalFrame, x: np.ndarray, y: np.ndarray, t: np.ndarray, wind: WindProfile,
           line, max_offset: float, quantity: str) -> CurtainPlane:
    """The curtain plane: through the given line, or fitted to the usable samples' path."""
    if line is not None:
        centre, along, length = given_line(frame, line)
        return orient(centre, along, wind.downwind, length / 2)
    if x.size < 10:
        raise NoUsableDataError(f"only {x.size} {quantity} samples: too few for a curtain")
    centre, along = fit_line(x, y, t, max_offset)
    return orient(centre, along, wind.downwind)


@dataclass(frozen=True)
class _Wall:
    """The samples on the curtain: along-curtain position, height, value, time; the extent
    along the curtain and the passes."""

    s: np.ndarray
    z: np.ndarray
    v: np.ndarray
    t: np.ndarray
    s_range: tuple[float, float]
    passes: Passes
    dz: float

    @classmethod
    def of(cls, use: UsableSamples, on: np.ndarray, s_all: np.ndarray, plane: CurtainPlane,
           quantity: str, max_offset: float, dz: float) -> _Wall:
        sel = use.ok & on
        if sel.sum() < 20:
            raise NoUsableDataError(f"only {int(sel.sum())} {quantity} samples within "
                                    f"{max_offset:g} m of the curtain plane")
        s, z, v, t = s_all[sel], use.height[sel], use.values[sel], use.time[sel]
        half = plane.half_length
        s_range = (float(s.min()), float(s.max())) if half is None else (-half, half)
        return cls(s, z, v, t, s_range, find_passes(t, z, s, s_range[1] - s_range[0]), dz)

    @property
    def width(self) -> float:
        """Extent along the curtain, m."""
        return self.s_range[1] - self.s_range[0]

    @property
    def levels(self) -> tuple[float, float, float]:
        """Lowest pass, top pass and top of the curtain grid, m."""
        return self.passes.levels(self.dz)


def _jackknife(interpolate: CurtainInterpolation, passes: Passes,
               weight: np.ndarray) -> list[float]:
    """Emissions with each transect left out in turn (none with fewer than 3 transects)."""
    tids = np.flatnonzero(passes.transects)
    if tids.size < 3:
        return []
    return [float(np.sum(interpolate(passes.ids != r) * weight)) for r in tids]


def _source_position(frame: LocalFrame, plane: CurtainPlane,
                     source: tuple[float, float] | None) -> dict[str, float] | None:
    """How far (m) the source lies upwind of the curtain and along it from its centre."""
    if source is None:
        return None
    sx, sy, _ = frame.forward(*source)
    ss, sd = plane.project(float(sx), float(sy))
    return {"source_distance_m": float(-sd), "source_offset_m": float(ss)}


def _describe(gridder: BaseGridder, method: str | BaseGridder) -> str:
    text = repr(gridder)
    return text + " (empty cells by IDW)" if isinstance(method, str) and method == "block" else text


def _info(units: str, shown_units: str, bg: Background, peak: float, noise: float,
          air: AirConversion, wind: WindProfile, plane: CurtainPlane, method: str,
          spacing: tuple[float, float], ground: str, frame: LocalFrame, wall: _Wall,
          n_jack: int, source_at: dict[str, float]) -> dict[str, Any]:
    """Everything printed and stored besides the emission and its budget."""
    clat, clon, _ = frame.inverse(*plane.centre)
    z_low, z_top, z_ceiling = wall.levels
    return {
        "units": units, "display_units": shown_units,
        "background": bg.value, "background_error": bg.error, "background_method": bg.how,
        "peak_enhancement": peak, "noise": noise, "air": air.description,
        "wind": wind.describe(), "wind_speed": wind.speed, "wind_from_deg": wind.from_deg,
        "wind_exponent": wind.exponent, "wind_reference_height": wind.reference_height,
        "wind_angle_deg": plane.theta,
        "method": method, "spacing": list(spacing),
        "ground": ("constant from the lowest pass" if ground == "constant"
                   else "zero (lower bound)"),
        "centre_lat": float(clat), "centre_lon": float(clon), "azimuth_deg": plane.azimuth_deg,
        "width_m": wall.width, "top_m": z_ceiling,
        "passes": int(wall.passes.transects.sum()),
        "lowest_pass_m": z_low, "top_pass_m": z_top,
        "samples": int(wall.s.size), "jackknife_passes": n_jack,
        **source_at,
    }
